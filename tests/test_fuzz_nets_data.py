"""A corpus of bad inputs for the networks, the data and the paper's measurements (issue 15's families
``nets`` and ``data``, and ``paper``): each must give a clear error that names the argument (type errors
before value errors, never a crash deep inside torch or NumPy), or a correct result."""

import gzip
import time
import warnings

import numpy as np
import pytest
import torch
from torch import nn

import gfteach as gt
from gfteach import data, homogeneous, nets, paper

f64 = torch.float64


def _small():
    return nets.mlp([3, 2])


def _run(step=0.1, steps=2, every=1):
    return gt.gradient_descent(lambda th: (th**2).sum(), torch.ones(3, dtype=f64), step, steps, every)


# (id, call, exception type, a regular expression the message must match: it names the argument)
BAD = [
    # -- nets.mlp / deep_linear
    ("mlp-widths-none", lambda: nets.mlp(None), TypeError, "widths"),
    ("mlp-widths-str", lambda: nets.mlp("784,10"), TypeError, "widths"),
    ("mlp-widths-int", lambda: nets.mlp(5), TypeError, "widths"),
    ("mlp-widths-short", lambda: nets.mlp([3]), ValueError, "widths"),
    ("mlp-widths-zero", lambda: nets.mlp([3, 0]), ValueError, r"widths\[1\]"),
    ("mlp-widths-float", lambda: nets.mlp([3, 2.5]), TypeError, r"widths\[1\]"),
    ("mlp-widths-bool", lambda: nets.mlp([3, True]), TypeError, r"widths\[1\]"),
    ("mlp-widths-negative", lambda: nets.mlp([-3, 2]), ValueError, r"widths\[0\]"),
    ("mlp-activation-none", lambda: nets.mlp([3, 2], None), TypeError, "activation"),
    ("mlp-activation-unknown", lambda: nets.mlp([3, 2], "tanh"), ValueError, "activation"),
    ("mlp-bias-str", lambda: nets.mlp([3, 2], bias="yes"), TypeError, "bias"),
    ("deep-depth-zero", lambda: nets.deep_linear(0, 2, 2), ValueError, "depth"),
    ("deep-depth-float", lambda: nets.deep_linear(2.0, 2, 2), TypeError, "depth"),
    ("deep-din-str", lambda: nets.deep_linear(2, "3", 2), TypeError, "d_in"),
    ("deep-dout-zero", lambda: nets.deep_linear(2, 3, 0), ValueError, "d_out"),
    ("deep-width-neg", lambda: nets.deep_linear(2, 3, 2, width=-1), ValueError, "width"),
    # -- nets.paper_network
    ("paper-name-unknown", lambda: nets.paper_network("lenet"), ValueError, "name"),
    ("paper-name-none", lambda: nets.paper_network(None), TypeError, "name"),
    ("paper-generator-none", lambda: nets.paper_network("fc_linear", None), TypeError, "generator"),
    ("paper-generator-float", lambda: nets.paper_network("fc_linear", 1.5), TypeError, "generator"),
    ("paper-generator-str", lambda: nets.paper_network("fc_linear", "1"), TypeError, "generator"),
    ("paper-generator-bool", lambda: nets.paper_network("fc_linear", True), TypeError, "generator"),
    ("paper-generator-negative", lambda: nets.paper_network("fc_linear", -1), ValueError, "generator"),
    ("paper-size-zero", lambda: nets.paper_network("fc_linear", size=0), ValueError, "size"),
    ("paper-size-float", lambda: nets.paper_network("fc_linear", size=28.0), TypeError, "size"),
    ("paper-size-small-conv", lambda: nets.paper_network("conv_adapted", size=8), ValueError, "size"),
    ("paper-init-unknown", lambda: nets.paper_network("fc_linear", init="he"), ValueError, "init"),
    ("paper-init-none", lambda: nets.paper_network("fc_linear", init=None), TypeError, "init"),
    ("paper-scale-missing", lambda: nets.paper_network("fc_linear", init="near_zero"), ValueError, "scale"),
    ("paper-scale-unwanted", lambda: nets.paper_network("fc_linear", scale=0.1), ValueError, "scale"),
    ("paper-scale-negative", lambda: nets.paper_network("fc_linear", init="near_zero", scale=-1), ValueError, "scale"),
    (
        "paper-scale-nan",
        lambda: nets.paper_network("fc_linear", init="near_zero", scale=float("nan")),
        ValueError,
        "scale",
    ),  # fmt: skip
    ("paper-scale-str", lambda: nets.paper_network("fc_linear", init="near_zero", scale="0.1"), TypeError, "scale"),
    # -- initializers and masks
    ("xavier-generator-none", lambda: nets.xavier_init_(_small(), None), TypeError, "generator"),
    ("paper-init-generator-none", lambda: nets.paper_init_(_small(), None), TypeError, "generator"),
    ("near-generator-none", lambda: nets.near_zero_init_(_small(), 0.1, None), TypeError, "generator"),
    ("near-scale-zero", lambda: nets.near_zero_init_(_small(), 0.0, 0), ValueError, "scale"),
    ("near-scale-inf", lambda: nets.near_zero_init_(_small(), float("inf"), 0), ValueError, "scale"),
    ("near-scale-bool", lambda: nets.near_zero_init_(_small(), True, 0), TypeError, "scale"),
    ("xavier-model-none", lambda: nets.xavier_init_(None, 0), TypeError, "model"),
    ("xavier-model-tensor", lambda: nets.xavier_init_(torch.ones(3), 0), TypeError, "model"),
    ("xavier-no-layers", lambda: nets.xavier_init_(nn.ReLU(), 0), ValueError, "model"),
    ("mask-model-str", lambda: nets.weight_mask("net"), TypeError, "model"),
    ("mask-no-parameters", lambda: nets.weight_mask(nn.ReLU()), ValueError, "model"),
    ("generator-tensor-float", lambda: nets.as_generator(torch.tensor(1.5)), TypeError, "generator"),
    # -- data.digits_subset
    ("digits-n-zero", lambda: data.digits_subset(0), ValueError, "n"),
    ("digits-n-huge", lambda: data.digits_subset(10**6), ValueError, "n"),
    ("digits-n-float", lambda: data.digits_subset(10.0), TypeError, "n"),
    ("digits-n-str", lambda: data.digits_subset("10"), TypeError, "n"),
    ("digits-n-none", lambda: data.digits_subset(None), TypeError, "n"),
    ("digits-n-bool", lambda: data.digits_subset(True), TypeError, "n"),
    ("digits-size-small", lambda: data.digits_subset(10, size=7), ValueError, "size"),
    ("digits-size-float", lambda: data.digits_subset(10, size=28.5), TypeError, "size"),
    ("digits-classes-one", lambda: data.digits_subset(10, classes=1), ValueError, "classes"),
    ("digits-classes-eleven", lambda: data.digits_subset(10, classes=11), ValueError, "classes"),
    ("digits-classes-none", lambda: data.digits_subset(10, classes=None), TypeError, "classes"),
    # -- data.whitened_regression
    ("whitened-generator-none", lambda: data.whitened_regression(10, 3, 2, None), TypeError, "generator"),
    ("whitened-generator-str", lambda: data.whitened_regression(10, 3, 2, "seed"), TypeError, "generator"),
    ("whitened-n-below-din", lambda: data.whitened_regression(2, 3, 1, 0), ValueError, "n >= d_in"),
    ("whitened-n-float", lambda: data.whitened_regression(10.0, 3, 1, 0), TypeError, "n"),
    ("whitened-din-zero", lambda: data.whitened_regression(10, 0, 1, 0), ValueError, "d_in"),
    ("whitened-dout-none", lambda: data.whitened_regression(10, 3, None, 0), TypeError, "d_out"),
    ("whitened-noise-negative", lambda: data.whitened_regression(10, 3, 1, 0, noise=-0.1), ValueError, "noise"),
    ("whitened-noise-nan", lambda: data.whitened_regression(10, 3, 1, 0, noise=float("nan")), ValueError, "noise"),
    ("whitened-noise-str", lambda: data.whitened_regression(10, 3, 1, 0, noise="0.1"), TypeError, "noise"),
    # -- data.read_idx / mnist_subset
    ("idx-path-none", lambda: data.read_idx(None), TypeError, "path"),
    ("idx-path-int", lambda: data.read_idx(3), TypeError, "path"),
    ("idx-missing", lambda: data.read_idx("/nonexistent/gfteach.idx"), FileNotFoundError, "IDX file not found"),
    ("mnist-root-none", lambda: data.mnist_subset(None), TypeError, "root"),
    ("mnist-indices-empty", lambda: data.mnist_subset("/nonexistent", indices=[]), ValueError, "indices"),
    ("mnist-indices-none", lambda: data.mnist_subset("/nonexistent", indices=None), TypeError, "indices"),
    ("mnist-indices-str", lambda: data.mnist_subset("/nonexistent", indices="0,50"), TypeError, "indices"),
    (
        "mnist-indices-negative",
        lambda: data.mnist_subset("/nonexistent", indices=[0, -1]),
        ValueError,
        r"indices\[1\]",
    ),  # fmt: skip
    ("mnist-indices-float", lambda: data.mnist_subset("/nonexistent", indices=[0.5]), TypeError, r"indices\[0\]"),
    (
        "mnist-indices-2d",
        lambda: data.mnist_subset("/nonexistent", indices=np.zeros((2, 2), int)),
        TypeError,
        "indices",
    ),  # fmt: skip
    (
        "mnist-download-str",
        lambda: data.mnist_subset("/nonexistent", indices=[0], download="yes"),
        TypeError,
        "download",
    ),  # fmt: skip
    (
        "mnist-checksums-list",
        lambda: data.mnist_subset("/nonexistent", indices=[0], checksums=["x"]),
        TypeError,
        "checksums",
    ),  # fmt: skip
    (
        "mnist-missing-offline",
        lambda: data.mnist_subset("/nonexistent", indices=[0]),
        FileNotFoundError,
        "download=True",
    ),  # fmt: skip
    # -- paper
    ("plan-eta-negative", lambda: paper.RunPlan(-1e-3, 5, (2,), 1), ValueError, "eta0"),
    ("plan-eta-str", lambda: paper.RunPlan("1e-3", 5, (2,), 1), TypeError, "eta0"),
    ("plan-steps-float", lambda: paper.RunPlan(1e-3, 5.0, (2,), 1), TypeError, "steps"),
    ("plan-ratios-empty", lambda: paper.RunPlan(1e-3, 5, (), 1), ValueError, "ratios"),
    ("plan-ratios-none", lambda: paper.RunPlan(1e-3, 5, None, 1), TypeError, "ratios"),
    ("plan-ratios-float", lambda: paper.RunPlan(1e-3, 5, (2.5,), 1), TypeError, r"ratios\[0\]"),
    ("plan-record-zero", lambda: paper.RunPlan(1e-3, 5, (2,), 0), ValueError, "record_every"),
    ("setting-name", lambda: paper.get_setting("huge"), ValueError, "name"),
    ("setting-name-none", lambda: paper.get_setting(None), TypeError, "name"),
    ("setting-n", lambda: paper.get_setting("default", n=0), ValueError, "n"),
    (
        "setting-plans-key",
        lambda: paper.get_setting("default", plans={"vgg": paper.RunPlan(1e-3, 1, (2,), 1)}),
        ValueError,
        "plans",
    ),  # fmt: skip
    (
        "setting-plans-value",
        lambda: paper.get_setting("default", plans={"fc_linear": (1e-3, 1)}),
        TypeError,
        "plans",
    ),  # fmt: skip
    ("setting-device", lambda: paper.get_setting("default", device="abacus"), ValueError, "device"),
    ("setting-progress", lambda: paper.get_setting("default", progress="yes"), TypeError, "progress"),
    ("device-none", lambda: paper.pick_device(None), TypeError, "device"),
    (
        "distance-a-list",
        lambda: paper.weight_distance([1.0, 2.0], torch.ones(2, dtype=f64), torch.ones(2, dtype=bool)),
        TypeError,
        "a must be",
    ),  # fmt: skip
    (
        "distance-b-int",
        lambda: paper.weight_distance(
            torch.ones(2, dtype=f64), torch.ones(2, dtype=torch.int64), torch.ones(2, dtype=bool)
        ),
        TypeError,
        "b must be",
    ),  # fmt: skip
    (
        "distance-mask-float",
        lambda: paper.weight_distance(torch.ones(2, dtype=f64), torch.ones(2, dtype=f64), torch.ones(2)),
        TypeError,
        "mask",
    ),  # fmt: skip
    (
        "distance-mask-length",
        lambda: paper.weight_distance(torch.ones(2, dtype=f64), torch.ones(2, dtype=f64), torch.ones(3, dtype=bool)),
        ValueError,
        "mask",
    ),  # fmt: skip
    (
        "distance-3d",
        lambda: paper.weight_distance(
            torch.ones(1, 1, 2, dtype=f64), torch.ones(2, dtype=f64), torch.ones(2, dtype=bool)
        ),
        TypeError,
        "a must be",
    ),  # fmt: skip
    (
        "distance-times",
        lambda: paper.weight_distance(_run(0.1, 2), _run(0.05, 4), torch.ones(3, dtype=bool)),
        ValueError,
        "same times",
    ),  # fmt: skip
    ("gap-base-tensor", lambda: paper.loss_gap(torch.ones(3), _run()), TypeError, "base"),
    (
        "gap-other-flow",
        lambda: paper.loss_gap(
            _run(), gt.gradient_flow(lambda th: (th**2).sum(), torch.ones(3, dtype=f64), [0.0, 0.1])
        ),
        TypeError,
        "other",
    ),  # fmt: skip
    ("gap-ratio", lambda: paper.loss_gap(_run(0.1, 2), _run(0.04, 5)), ValueError, "integer"),
    ("gap-length", lambda: paper.loss_gap(_run(0.1, 2), _run(0.05, 3)), ValueError, "as many steps"),
]


@pytest.mark.parametrize(("call", "error", "names"), [c[1:] for c in BAD], ids=[c[0] for c in BAD])
def test_bad_input_gets_a_clear_error_naming_the_argument(call, error, names):
    start = time.perf_counter()
    with pytest.raises(error, match=names):
        call()
    assert time.perf_counter() - start < 10


def test_type_errors_come_before_value_errors():
    with pytest.raises(TypeError, match="size"):  # a str size is a type error even though it is also "too small"
        nets.paper_network("conv_adapted", size="4")
    with pytest.raises(TypeError, match="n"):
        data.whitened_regression("2", 3, 1, 0)  # not "n >= d_in"


def test_corrupt_files_give_value_errors_naming_the_file(tmp_path):
    body = gzip.compress(bytes([0, 0, 8, 1, 0, 0, 0, 50]) + bytes(50))
    cases = {
        "flipped.gz": body[:12] + bytes(b ^ 0x5A for b in body[12:30]) + body[30:],  # zlib.error inside
        "truncated.gz": body[:-6],  # EOFError inside
        "header.gz": b"\x1f\x8b" + b"junk" * 5,  # BadGzipFile inside
        "magic.idx": b"\x01\x02\x03\x04",
        "short.idx": b"\x00\x00",
        "empty.idx": b"",
    }
    for name, raw in cases.items():
        (tmp_path / name).write_bytes(raw)
        with pytest.raises(ValueError, match=name):
            data.read_idx(tmp_path / name)


# -- numeric types users actually pass: accepted, with the right result --------------------------------------


def test_numpy_and_torch_integers_and_seeds_are_accepted():
    a = nets.paper_network("fc_linear", np.int64(3), size=np.int64(8))
    b = nets.paper_network("fc_linear", torch.tensor(3), size=8)
    c = nets.paper_network("fc_linear", 3, size=8)
    assert all(torch.equal(p, q) and torch.equal(p, r) for p, q, r in zip(a.parameters(), b.parameters(),
                                                                          c.parameters()))  # fmt: skip
    assert nets.mlp((np.int64(4), 3))[1].in_features == 4
    X, _ = data.digits_subset(np.int32(3), size=np.int64(10), classes=np.int64(3))
    assert X.shape == (3, 1, 10, 10)
    small = nets.near_zero_init_(nets.mlp([50, 40]), np.float32(0.5), 0)
    assert float(small[1].weight.detach().std()) == pytest.approx(0.5, rel=0.05)
    plan = paper.RunPlan(np.float32(0.01), torch.tensor(4), np.array([2, 5]), np.int8(2))
    assert (plan.steps, plan.ratios, plan.record_every) == (4, (2, 5), 2) and isinstance(plan.eta0, float)


def test_degenerate_but_valid_sizes_give_correct_results():
    net = nets.paper_network("conv_adapted", size=9)  # the smallest image it accepts
    assert net(torch.zeros(1, 1, 9, 9, dtype=f64)).shape == (1, 10)
    X, Y, Phi = data.whitened_regression(1, 1, 1, 0)  # one sample whitens one dimension
    assert torch.allclose(X @ X.T, torch.ones(1, 1, dtype=f64))
    assert torch.allclose(Phi, Y @ X.T)
    assert nets.deep_linear(1, 2, 3)[1].weight.shape == (3, 2)
    one = torch.ones(3, dtype=f64)
    assert float(paper.weight_distance(one, one, torch.zeros(3, dtype=bool))) == 0.0  # nothing selected: 0


# -- audit of issue 15 (second round) ------------------------------------------------------------------


def test_audit_huge_seed_and_empty_layer_named():
    with pytest.raises(ValueError, match="generator must be a seed below 2\\*\\*64"):
        nets.paper_network("fc_linear", 2**70)
    assert nets.as_generator(2**64 - 1).initial_seed() == 2**64 - 1
    with pytest.warns(UserWarning):  # torch's own warning when it builds the empty layer
        layer = nn.Linear(0, 3).double()
    with pytest.raises(ValueError, match="fan-in or fan-out is 0"):
        nets.paper_init_(layer, 1)


# -- audit of issue 15 (third round): homogeneous networks, huge sizes, NaN and zero losses ----------------

_X10 = torch.randn(10, 3, generator=torch.Generator().manual_seed(0), dtype=f64)
_LABELS = torch.zeros(10, dtype=torch.long)
_Q3 = gt.FunctionObjective(lambda th: 0.5 * (th**2).sum(), n_params=3)
_ROW = torch.tensor([[1.0, 2.0, 3.0]], dtype=f64)


def _empty_layer(d_in, d_out):
    with warnings.catch_warnings():  # torch warns that initializing an empty layer is a no-op
        warnings.simplefilter("ignore", UserWarning)
        return nn.Linear(d_in, d_out).double()


def _gd(theta0, step, steps):
    return gt.gradient_descent(lambda th: (th**2).sum(), torch.tensor(theta0, dtype=f64), step, steps)


AUDIT = [  # (audit item, call, exception type, the argument the message must name)
    (26, lambda: nets.mlp([10**6, 10**6]), ValueError, "widths asks for"),
    (27, lambda: nets.paper_network("fc_linear", 1, size=10**5), ValueError, "size asks for"),
    (27, lambda: nets.paper_network("conv_adapted", 1, size=10**5), ValueError, "size asks for"),
    (28, lambda: nets.xavier_init_(_empty_layer(0, 3), 1), ValueError, "model has a layer"),
    (28, lambda: nets.near_zero_init_(_empty_layer(3, 0), 0.1, 1), ValueError, "model has a layer"),
    (29, lambda: homogeneous.MLPObjective(None, "relu", _X10, _LABELS), TypeError, "dims"),
    (30, lambda: homogeneous.MLPObjective(["a", 2], "relu", _X10, _LABELS), TypeError, r"dims\[0\]"),
    (31, lambda: homogeneous.MLPObjective([3, 2.7, 2], "relu", _X10, _LABELS), TypeError, r"dims\[1\]"),
    (32, lambda: homogeneous.MLPObjective([3, True, 2], "relu", _X10, _LABELS), TypeError, r"dims\[1\]"),
    (29, lambda: homogeneous.MLPObjective([3], "relu", _X10, _LABELS), ValueError, "dims"),
    (29, lambda: homogeneous.MLPObjective([3, 2], None, _X10, _LABELS), TypeError, "activation"),
    (29, lambda: homogeneous.MLPObjective([10**5, 10**5, 2], "relu", _X10, _LABELS), ValueError, "dims asks for"),
    (33, lambda: homogeneous.MLPObjective([3, 4, 2], "relu", None, _LABELS), TypeError, "X must"),
    (34, lambda: homogeneous.MLPObjective([3, 4, 2], "relu", _X10 * float("nan"), _LABELS), ValueError, "X must"),
    (34, lambda: homogeneous.MLPObjective([4, 2], "relu", _X10, _LABELS), ValueError, "X must have dims"),
    (35, lambda: homogeneous.MLPObjective([3, 4, 2], "relu", _X10, torch.full((10,), 5)), ValueError, "y must"),
    (35, lambda: homogeneous.MLPObjective([3, 4, 2], "relu", _X10, torch.full((10,), -1)), ValueError, "y must"),
    (35, lambda: homogeneous.MLPObjective([3, 4, 2], "relu", _X10, _LABELS[:9]), ValueError, "y must"),
    (36, lambda: homogeneous.MLPObjective([3, 4, 2], "relu", _X10, torch.zeros(10, dtype=f64)), TypeError, "y must"),
    (36, lambda: homogeneous.MLPObjective([3, 4, 2], "relu", _X10, [0] * 10), TypeError, "y must"),
    (37, lambda: homogeneous.digits_objective(depth=0), ValueError, "depth"),
    (38, lambda: homogeneous.digits_objective(depth=-3), ValueError, "depth"),
    (39, lambda: homogeneous.digits_objective(depth="3"), TypeError, "depth"),
    (40, lambda: homogeneous.digits_objective(width=0), ValueError, "width"),
    (40, lambda: homogeneous.digits_objective(width=2.5), TypeError, "width"),
    (40, lambda: homogeneous.digits_objective(depth=10**9), ValueError, "depth and width"),
    (40, lambda: homogeneous.digits_objective(n=[3]), TypeError, "n must"),
    (41, lambda: homogeneous.digits_objective(seed=None), TypeError, "seed"),
    (42, lambda: homogeneous.near_zero_point(None, 0.1), TypeError, "dims"),
    (42, lambda: homogeneous.near_zero_point("3,2", 0.1), TypeError, "dims"),
    (43, lambda: homogeneous.near_zero_point([3, 2], 0.1, seed=None), TypeError, "seed"),
    (44, lambda: homogeneous.random_curvature(_Q3, _ROW, [1, 2], seed=None), TypeError, "seed"),
    (45, lambda: homogeneous.bound_cases(seed=None, depths=(2,), per_depth=1), TypeError, "seed"),
    (46, lambda: homogeneous.scaled_curvature(_Q3, _ROW[0], None), TypeError, "factors"),
    (47, lambda: homogeneous.scaled_curvature(_Q3, _ROW[0], ["a"]), TypeError, "factors"),
    (47, lambda: homogeneous.scaled_curvature(_Q3, _ROW[0], [1.0, float("inf")]), ValueError, r"factors\[1\]"),
    (47, lambda: homogeneous.scaled_curvature(_Q3, None, [1.0]), TypeError, "theta"),
    (48, lambda: homogeneous.same_layer_norms(_ROW[0], [1, 2], None), TypeError, "generator"),
    (49, lambda: homogeneous.same_layer_norms(None, [1, 2], 0), TypeError, "theta"),
    (49, lambda: homogeneous.same_layer_norms(_ROW, [1, 2], 0), ValueError, "theta"),
    (50, lambda: homogeneous.same_layer_norms(_ROW[0], [-1, 4], 0), ValueError, r"sizes\[0\]"),
    (50, lambda: homogeneous.same_layer_norms(_ROW[0], None, 0), TypeError, "sizes"),
    (51, lambda: homogeneous.random_curvature(_Q3, _ROW), TypeError, "sizes is required"),
    (52, lambda: homogeneous.random_curvature(_Q3, _ROW, [1, 2], draws=-1), ValueError, "draws"),
    (52, lambda: homogeneous.random_curvature(_Q3, _ROW[0], [1, 2]), ValueError, "thetas"),
    (53, lambda: homogeneous.random_curvature(_Q3, _ROW, [1, 2], draws="2"), TypeError, "draws"),
    (54, lambda: homogeneous.loss_gradient(5, torch.eye(2, dtype=f64)), TypeError, "L must"),
    (55, lambda: homogeneous.loss_gradient(lambda W: W, torch.eye(2, dtype=f64)), TypeError, "L must"),
    (55, lambda: homogeneous.loss_gradient(lambda W: 1.0, torch.eye(2, dtype=f64)), TypeError, "L must"),
    (55, lambda: homogeneous.loss_gradient(lambda W: torch.tensor(1.0), torch.eye(2, dtype=f64)), ValueError, "L must"),
    (55, lambda: homogeneous.loss_gradient(lambda W: W.sum() / 0, torch.eye(2, dtype=f64)), ValueError, "L must"),
    (56, lambda: homogeneous.loss_gradient(lambda W: W.sum(), None), TypeError, "W must"),
    (57, lambda: homogeneous.linear_cross_entropy(None, _LABELS[:3]), TypeError, "X must"),
    (57, lambda: homogeneous.linear_cross_entropy(_X10, _LABELS[:3]), ValueError, "y must"),
    (58, lambda: homogeneous.bound_cases(depths=(0,)), ValueError, r"depths\[0\]"),
    (59, lambda: homogeneous.bound_cases(depths=None), TypeError, "depths"),
    (60, lambda: homogeneous.bound_cases(per_depth=-1, depths=(2,)), ValueError, "per_depth"),
    (61, lambda: homogeneous.balanced_cases(depths=(2.5,)), TypeError, r"depths\[0\]"),
    (61, lambda: homogeneous.balanced_cases(per_depth="4"), TypeError, "per_depth"),
    (
        62,
        lambda: paper.weight_distance(
            torch.full((2, 3), float("nan"), dtype=f64), torch.ones(2, 3, dtype=f64), torch.ones(3, dtype=torch.bool)
        ),
        ValueError,
        "a must be finite",
    ),  # fmt: skip
    (
        62,
        lambda: paper.weight_distance(
            torch.ones(3, dtype=f64), torch.full((3,), float("inf"), dtype=f64), torch.ones(3, dtype=torch.bool)
        ),
        ValueError,
        "b must be finite",
    ),  # fmt: skip
    (63, lambda: paper.loss_gap(_gd([0.0, 0.0], 0.1, 4), _gd([0.0, 1e-3], 0.05, 8)), ValueError, "base's loss is 0"),
    (65, lambda: data.digits_subset(1, size=10**5), ValueError, "size asks for"),
    (66, lambda: data.whitened_regression(10**6, 10**4, 1, 0), ValueError, "n asks for"),
    (66, lambda: data.whitened_regression(2, 1, 10**9, 0), ValueError, "d_out asks for"),
]


@pytest.mark.parametrize(("call", "error", "names"), [c[1:] for c in AUDIT], ids=[f"item{c[0]}" for c in AUDIT])
def test_audit_bad_input_gets_a_clear_error(call, error, names):
    test_bad_input_gets_a_clear_error_naming_the_argument(call, error, names)


def test_audit_loss_gap_is_zero_where_both_losses_are_zero():
    a, b = _gd([0.0, 0.0], 0.1, 4), _gd([0.0, 0.0], 0.05, 8)  # both runs sit at the minimum, loss 0
    assert torch.equal(paper.loss_gap(a, b), torch.zeros(5, dtype=f64))
    a, b = _gd([1.0, 0.0], 0.1, 4), _gd([1.0, 0.0], 0.05, 8)  # positive losses: the plain relative gap
    f0, fr = 0.8 ** (2 * np.arange(5)), 0.9 ** (4 * np.arange(5))  # closed forms of GD on th**2
    assert np.allclose(paper.loss_gap(a, b).numpy(), np.abs(fr - f0) / f0, rtol=1e-12)


def test_audit_valid_inputs_still_accepted():
    # labels of any integer dtype, images flattened, dims from NumPy or a tensor, a Generator or seed
    X, y = data.digits_subset(12)
    ref = homogeneous.MLPObjective([64, 3, 10], "relu", X, y)
    alt = homogeneous.MLPObjective(np.array([64, 3, 10]), "relu", X.reshape(12, 64).float(), y.int())
    theta = homogeneous.near_zero_point(torch.tensor([64, 3, 10]), 0.1, torch.Generator().manual_seed(1))
    assert torch.equal(theta, homogeneous.near_zero_point([64, 3, 10], 0.1, seed=1))
    assert float(alt.value(theta)) == pytest.approx(float(ref.value(theta)), rel=1e-6)
    assert homogeneous.digits_objective(depth=1, n=5)[0].dims == [64, 10]
    assert homogeneous.bound_cases(depths=[1], per_depth=0)[0].depth == 1  # depth 1 and no random instances
    low, high = homogeneous.scaled_curvature(_Q3, _ROW[0], torch.tensor([1.0, 2.0]))
    assert torch.allclose(low, torch.ones(2, dtype=f64)) and torch.allclose(high, torch.ones(2, dtype=f64))
    grad = homogeneous.loss_gradient(lambda W: (W**2).sum().reshape(1), torch.eye(2))  # a one-element loss
    assert torch.equal(grad, 2 * torch.eye(2, dtype=f64))
    assert homogeneous.random_curvature(_Q3, _ROW, np.array([1, 2]), draws=1).shape == (1, 1)
    point = homogeneous.same_layer_norms(_ROW[0], (1, 2), 3)  # layer norms kept, from an integer seed
    assert float(point[0].abs()) == pytest.approx(1.0) and float(point[1:].norm()) == pytest.approx(13**0.5)
