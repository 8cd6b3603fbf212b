"""The deep-linear family under bad input: every case ends, within a time limit, in a clear error that names
the offending argument (TypeError for the wrong kind of thing, ValueError for a bad value), or in a correct
result. Never a hang, a crash deep inside torch, or a silent wrong answer."""

import math
import signal
from contextlib import contextmanager

import numpy as np
import pytest
import torch

from gfteach import linear, linear_flow
from gfteach.linear import (
    balance_drift,
    balance_gaps,
    balanced_init,
    deficiency_margin,
    end_to_end,
    gd_balance_change,
    layer_gradients,
    layers_from_theta,
    net_dims,
    product_objective,
    regression_loss,
    theta_from_layers,
    unbalancedness,
    whitened_loss,
    whitened_objective,
)
from gfteach.linear_flow import (
    end_to_end_flow,
    end_to_end_velocity,
    near_target,
    polar,
    polar_rates,
    psd_power,
    scalar_end_to_end_velocity,
    scalar_flow,
    start_at_angle,
)

f64 = torch.float64
LIMIT_S = 20  # generous on a shared 2-core machine; a hang would run forever
NAN, INF = float("nan"), float("inf")
L2 = [torch.ones(4, 3, dtype=f64), torch.ones(2, 4, dtype=f64)]  # good layers for dims [3, 4, 2]
PHI2 = torch.ones(2, 3, dtype=f64)
PHI = torch.tensor([0.4, -0.9, 0.6], dtype=f64)
G = torch.Generator().manual_seed(0)


@contextmanager
def time_limit(seconds):
    def fail(*_):
        raise TimeoutError(f"took longer than {seconds} s")

    old = signal.signal(signal.SIGALRM, fail)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


# (id, call, expected error type, a word the message must contain: the argument's name)
ERRORS = [
    # net_dims
    ("net_dims-depth-0", lambda: net_dims(0, 3, 3), ValueError, "depth"),
    ("net_dims-depth-str", lambda: net_dims("3", 3, 3), TypeError, "depth"),
    ("net_dims-depth-bool", lambda: net_dims(True, 3, 3), TypeError, "depth"),
    ("net_dims-depth-float", lambda: net_dims(2.5, 3, 3), TypeError, "depth"),
    ("net_dims-width-none", lambda: net_dims(3, 3, None), TypeError, "width"),
    ("net_dims-d_in-neg", lambda: net_dims(3, -1, 3), ValueError, "d_in"),
    ("net_dims-d_out-zero", lambda: net_dims(3, 3, 3, 0), ValueError, "d_out"),
    # layers_from_theta / theta_from_layers / end_to_end
    ("split-theta-list", lambda: layers_from_theta([1.0] * 20, [3, 4, 2]), TypeError, "theta"),
    ("split-theta-wrong-size", lambda: layers_from_theta(torch.zeros(5, dtype=f64), [3, 4, 2]), ValueError, "theta"),
    ("split-theta-2d", lambda: layers_from_theta(torch.zeros(4, 5, dtype=f64), [3, 4, 2]), ValueError, "theta"),
    ("split-dims-str", lambda: layers_from_theta(torch.zeros(20, dtype=f64), "342"), TypeError, "dims"),
    ("split-dims-one", lambda: layers_from_theta(torch.zeros(3, dtype=f64), [3]), ValueError, "dims"),
    ("split-dims-zero", lambda: layers_from_theta(torch.zeros(0, dtype=f64), [3, 0]), ValueError, "dims[1]"),
    ("split-dims-float", lambda: layers_from_theta(torch.zeros(20, dtype=f64), [3, 4.0, 2]), TypeError, "dims[1]"),
    ("split-dims-none", lambda: layers_from_theta(torch.zeros(20, dtype=f64), None), TypeError, "dims"),
    (
        "split-dims-tensor",
        lambda: layers_from_theta(torch.zeros(20, dtype=f64), torch.tensor([3, 4, 2])),
        TypeError,
        "dims",
    ),  # fmt: skip
    ("join-tensor", lambda: theta_from_layers(torch.ones(3, 3, dtype=f64)), TypeError, "layers"),
    ("join-empty", lambda: theta_from_layers([]), ValueError, "layers"),
    ("join-1d", lambda: theta_from_layers([torch.ones(3, dtype=f64)]), ValueError, "layers[0]"),
    (
        "e2e-ragged",
        lambda: end_to_end([torch.ones(4, 3, dtype=f64), torch.ones(2, 5, dtype=f64)]),
        ValueError,
        "layers[1]",
    ),  # fmt: skip
    ("e2e-nan", lambda: end_to_end([torch.full((2, 2), NAN, dtype=f64)]), ValueError, "layers[0]"),
    ("e2e-int", lambda: end_to_end([torch.ones(2, 2, dtype=torch.int64)]), TypeError, "layers[0]"),
    ("e2e-numpy", lambda: end_to_end([np.ones((2, 2))]), TypeError, "layers[0]"),
    ("e2e-none", lambda: end_to_end(None), TypeError, "layers"),
    # balancedness
    ("gaps-str", lambda: balance_gaps("layers"), TypeError, "layers"),
    (
        "unbalancedness-ragged",
        lambda: unbalancedness([torch.ones(4, 3, dtype=f64), torch.ones(2, 3, dtype=f64)]),
        ValueError,
        "layers[1]",
    ),  # fmt: skip
    ("drift-1d", lambda: balance_drift(torch.zeros(20, dtype=f64), [3, 4, 2]), ValueError, "thetas"),
    ("drift-wrong-width", lambda: balance_drift(torch.zeros(3, 19, dtype=f64), [3, 4, 2]), ValueError, "theta"),
    ("drift-nan", lambda: balance_drift(torch.full((2, 20), NAN, dtype=f64), [3, 4, 2]), ValueError, "thetas"),
    ("change-step-nan", lambda: gd_balance_change(L2, NAN), ValueError, "step"),
    ("change-step-zero", lambda: gd_balance_change(L2, 0.0), ValueError, "step"),
    ("change-step-str", lambda: gd_balance_change(L2, "0.1"), TypeError, "step"),
    ("change-step-bool", lambda: gd_balance_change(L2, True), TypeError, "step"),
    ("change-grads-tensor", lambda: gd_balance_change(torch.ones(3, 3, dtype=f64), 0.1), TypeError, "grads"),
    # balanced_init
    ("init-scale-zero", lambda: balanced_init([3, 4, 2], 0.0, G), ValueError, "scale"),
    ("init-scale-neg", lambda: balanced_init([3, 4, 2], -1.0, G), ValueError, "scale"),
    ("init-scale-nan", lambda: balanced_init([3, 4, 2], NAN, G), ValueError, "scale"),
    ("init-scale-inf", lambda: balanced_init([3, 4, 2], INF, G), ValueError, "scale"),
    ("init-scale-str", lambda: balanced_init([3, 4, 2], "1", G), TypeError, "scale"),
    ("init-scale-none", lambda: balanced_init([3, 4, 2], None, G), TypeError, "scale"),
    ("init-generator-int", lambda: balanced_init([3, 4, 2], 1.0, 0), TypeError, "generator"),
    ("init-narrow", lambda: balanced_init([4, 2, 4], 1.0, G), ValueError, "dims"),
    ("init-dims-bool", lambda: balanced_init([3, True, 2], 1.0, G), TypeError, "dims[1]"),
    (
        "init-e2e-shape",
        lambda: balanced_init([3, 4, 2], 1.0, G, end_to_end_matrix=torch.ones(3, 2, dtype=f64)),
        ValueError,
        "end_to_end_matrix",
    ),  # fmt: skip
    (
        "init-e2e-nan",
        lambda: balanced_init([3, 4, 2], 1.0, G, end_to_end_matrix=torch.full((2, 3), NAN, dtype=f64)),
        ValueError,
        "end_to_end_matrix",
    ),  # fmt: skip
    (
        "init-e2e-list",
        lambda: balanced_init([3, 4, 2], 1.0, G, end_to_end_matrix=[[1.0] * 3] * 2),
        TypeError,
        "end_to_end_matrix",
    ),  # fmt: skip
    # objectives and losses
    ("product-phi-none", lambda: product_objective([3, 4, 2], None), TypeError, "phi"),
    ("product-dims-empty", lambda: product_objective([], lambda W: W.sum()), ValueError, "dims"),
    (
        "product-phi-matrix",
        lambda: product_objective([3, 4, 2], lambda W: W).value(torch.ones(20, dtype=f64)),
        (TypeError, ValueError),
        "phi(W_N...W_1)",
    ),  # fmt: skip
    ("whitened-phi-shape", lambda: whitened_objective(torch.ones(3, 2, dtype=f64), [3, 4, 2]), ValueError, "Phi"),
    ("whitened-phi-1d", lambda: whitened_objective(torch.ones(3, dtype=f64), [3, 4, 1]), ValueError, "Phi"),
    ("whitened-phi-nan", lambda: whitened_objective(torch.full((2, 3), NAN, dtype=f64), [3, 4, 2]), ValueError, "Phi"),
    ("whitened-phi-list", lambda: whitened_objective([[1.0] * 3] * 2, [3, 4, 2]), TypeError, "Phi"),
    ("whitened-dims-str", lambda: whitened_objective(PHI2, "3,4,2"), TypeError, "dims"),
    (
        "loss-shapes",
        lambda: whitened_loss(torch.ones(2, 3, dtype=f64), torch.ones(3, 2, dtype=f64)),
        ValueError,
        "Phi",
    ),  # fmt: skip
    ("loss-int", lambda: whitened_loss(torch.ones(2, 3, dtype=torch.int64), PHI2), TypeError, "W"),
    (
        "regression-shapes",
        lambda: regression_loss(PHI2, torch.ones(3, 5, dtype=f64), torch.ones(2, 4, dtype=f64)),
        ValueError,
        "Y",
    ),  # fmt: skip
    (
        "regression-1d",
        lambda: regression_loss(PHI2, torch.ones(3, dtype=f64), torch.ones(2, 1, dtype=f64)),
        ValueError,
        "X",
    ),  # fmt: skip
    ("layer-grads-shape", lambda: layer_gradients(L2, torch.ones(3, 2, dtype=f64)), ValueError, "grad_phi"),
    ("layer-grads-none", lambda: layer_gradients(L2, None), TypeError, "grad_phi"),
    ("margin-shape", lambda: deficiency_margin(torch.ones(3, 2, dtype=f64), PHI2), ValueError, "W"),
    (
        "margin-empty",
        lambda: deficiency_margin(torch.ones(0, dtype=f64), torch.ones(0, dtype=f64)),
        ValueError,
        "Phi",
    ),  # fmt: skip
    ("margin-nan", lambda: deficiency_margin(torch.full((2, 3), NAN, dtype=f64), PHI2), ValueError, "W"),
    # linear_flow
    ("psd-nonsquare", lambda: psd_power(torch.ones(2, 3, dtype=f64), 0.5), ValueError, "M"),
    ("psd-p-neg", lambda: psd_power(torch.eye(2, dtype=f64), -0.5), ValueError, "p"),
    ("psd-p-nan", lambda: psd_power(torch.eye(2, dtype=f64), NAN), ValueError, "p"),
    ("psd-p-str", lambda: psd_power(torch.eye(2, dtype=f64), "half"), TypeError, "p"),
    ("velocity-depth-0", lambda: end_to_end_velocity(PHI2, PHI2, 0), ValueError, "depth"),
    ("velocity-depth-float", lambda: end_to_end_velocity(PHI2, PHI2, 2.0), TypeError, "depth"),
    ("velocity-grad-shape", lambda: end_to_end_velocity(PHI2, torch.ones(3, 2, dtype=f64), 2), ValueError, "grad"),
    ("velocity-1d", lambda: end_to_end_velocity(PHI, PHI, 2), ValueError, "W"),
    ("scalar-velocity-2d", lambda: scalar_end_to_end_velocity(PHI2, PHI2, 2), ValueError, "w"),
    ("scalar-velocity-nan", lambda: scalar_end_to_end_velocity(PHI * NAN, PHI, 2), ValueError, "w"),
    ("flow-depth-0", lambda: end_to_end_flow(PHI2, lambda W: W, 0, [0, 1]), ValueError, "depth"),
    ("flow-depth-str", lambda: end_to_end_flow(PHI2, lambda W: W, "2", [0, 1]), TypeError, "depth"),
    ("flow-grad-not-callable", lambda: end_to_end_flow(PHI2, "grad", 2, [0, 1]), TypeError, "loss_grad"),
    (
        "flow-w0-3d",
        lambda: end_to_end_flow(torch.ones(1, 2, 3, dtype=f64), lambda W: W, 2, [0, 1]),
        ValueError,
        "W0",
    ),  # fmt: skip
    ("flow-w0-list", lambda: end_to_end_flow([1.0, 2.0], lambda W: W, 2, [0, 1]), TypeError, "W0"),
    ("flow-times-decreasing", lambda: end_to_end_flow(PHI2, lambda W: W, 2, [1, 0]), ValueError, "t"),
    ("polar-shape", lambda: polar(torch.ones(4, dtype=f64), PHI), ValueError, "w"),
    ("polar-phi-zero", lambda: polar(PHI, torch.zeros(3, dtype=f64)), ValueError, "phi"),
    ("rates-w-zero", lambda: polar_rates(torch.zeros(3, dtype=f64), PHI, 3), ValueError, "w"),
    ("rates-depth-bool", lambda: polar_rates(PHI, PHI, True), TypeError, "depth"),
    ("rates-phi-2d", lambda: polar_rates(PHI, PHI2, 3), ValueError, "phi"),
    ("angle-out-of-range", lambda: start_at_angle(PHI, 200.0, 0.1), ValueError, "angle_deg"),
    ("angle-nan", lambda: start_at_angle(PHI, NAN, 0.1), ValueError, "angle_deg"),
    ("angle-rho0-zero", lambda: start_at_angle(PHI, 30.0, 0.0), ValueError, "rho0"),
    ("angle-one-entry", lambda: start_at_angle(torch.ones(1, dtype=f64), 30.0, 0.1), ValueError, "angle"),
    ("near-rtol-neg", lambda: near_target(PHI, PHI, rtol=-1.0), ValueError, "rtol"),
    ("scalar-flow-w0-zero", lambda: scalar_flow(PHI, 3, torch.zeros(3, dtype=f64), 10.0), ValueError, "w0"),
    ("scalar-flow-w0-shape", lambda: scalar_flow(PHI, 3, torch.ones(2, dtype=f64), 10.0), ValueError, "w0"),
    ("scalar-flow-t-max-inf", lambda: scalar_flow(PHI, 3, PHI, INF), ValueError, "t_max"),
    ("scalar-flow-t-order", lambda: scalar_flow(PHI, 3, PHI, 1e-4), ValueError, "t_first"),
    ("scalar-flow-per-decade", lambda: scalar_flow(PHI, 3, PHI, 10.0, per_decade=0), ValueError, "per_decade"),
    ("scalar-flow-rtol-str", lambda: scalar_flow(PHI, 3, PHI, 10.0, rtol="1e-8"), TypeError, "rtol"),
    ("scalar-flow-stop-int", lambda: scalar_flow(PHI, 3, PHI, 10.0, stop_at_target=1), TypeError, "stop_at_target"),
    # audit 2, item 64: refused before allocating 4e9 output times (it used to fail in the allocator)
    ("scalar-flow-per-decade-huge", lambda: scalar_flow(PHI, 3, PHI, 10.0, per_decade=10**9), ValueError,
     "per_decade asks for"),
]  # fmt: skip


@pytest.mark.parametrize("call, error, name", [c[1:] for c in ERRORS], ids=[c[0] for c in ERRORS])
def test_bad_input_gets_a_clear_error_naming_the_argument(call, error, name):
    with time_limit(LIMIT_S), pytest.raises(error) as info:
        call()
    assert name in str(info.value), f"the message does not name {name!r}: {info.value}"


# valid but unusual input: a correct result (each checked against an independent fact)
def _numpy_ints_are_accepted():
    assert net_dims(np.int64(3), np.int32(2), 4) == [2, 4, 4, 1]
    layers = layers_from_theta(torch.arange(20, dtype=f64), [np.int64(3), 4, 2])
    assert [tuple(w.shape) for w in layers] == [(4, 3), (2, 4)]


def _zero_tensor_scale_is_accepted():
    a = balanced_init([3, 4, 2], torch.tensor(0.5), torch.Generator().manual_seed(1))
    b = balanced_init([3, 4, 2], np.float32(0.5), torch.Generator().manual_seed(1))
    assert all(torch.equal(x, y) for x, y in zip(a, b))


def _one_layer_network():
    layers = balanced_init([3, 2], 1.0, torch.Generator().manual_seed(2))
    assert unbalancedness(layers) == 0.0 and balance_gaps(layers) == []
    obj = whitened_objective(PHI2, [3, 2])
    theta = torch.zeros(6, dtype=f64)
    assert torch.allclose(obj.grad(theta), -PHI2.reshape(-1))  # depth 1: grad = W - Phi


def _rank_deficient_end_to_end_matrix():
    W0 = torch.outer(torch.tensor([1.0, 2.0], dtype=f64), torch.tensor([1.0, 0.0, -1.0], dtype=f64))  # rank 1
    layers = balanced_init([3, 4, 4, 2], 1.0, torch.Generator().manual_seed(3), end_to_end_matrix=W0)
    assert torch.allclose(end_to_end(layers), W0, atol=1e-12) and unbalancedness(layers) < 1e-12


def _zero_end_to_end_matrix_velocity():
    assert torch.equal(end_to_end_velocity(torch.zeros(2, 3, dtype=f64), PHI2, 3), torch.zeros(2, 3, dtype=f64))


def _float32_layers_keep_their_dtype():
    layers = [torch.ones(4, 3), torch.ones(2, 4)]
    assert end_to_end(layers).dtype == torch.float32 and theta_from_layers(layers).dtype == torch.float32


def _antipodal_depth_two_escapes_by_round_off():
    sol = scalar_flow(PHI, 2, start_at_angle(PHI, 180.0, 0.01), 1e5, rtol=1e-8)
    assert near_target(sol.y[-1], PHI) and float(sol.t[-1]) < 1e3


def _start_at_angle_accepts_numpy_and_tensor_scalars():
    a = start_at_angle(PHI, np.float64(60.0), torch.tensor(0.5))
    assert float(polar(a, PHI)[1][0]) == pytest.approx(60.0) and float(a.norm()) == pytest.approx(0.5)


def _module_exports_exist():
    for module in (linear, linear_flow):
        for name in module.__all__:
            assert callable(getattr(module, name)), name


VALID = [
    _numpy_ints_are_accepted,
    _zero_tensor_scale_is_accepted,
    _one_layer_network,
    _rank_deficient_end_to_end_matrix,
    _zero_end_to_end_matrix_velocity,
    _float32_layers_keep_their_dtype,
    _antipodal_depth_two_escapes_by_round_off,
    _start_at_angle_accepts_numpy_and_tensor_scalars,
    _module_exports_exist,
]


@pytest.mark.parametrize("case", VALID, ids=[c.__name__.strip("_") for c in VALID])
def test_valid_unusual_input_gets_a_correct_result_in_time(case):
    with time_limit(LIMIT_S):
        case()


def test_the_corpus_covers_every_public_function():
    named = " ".join(c[0] for c in ERRORS)
    short = {"layers_from_theta": "split", "theta_from_layers": "join", "end_to_end": "e2e", "balance_gaps": "gaps",
             "unbalancedness": "unbalancedness", "balance_drift": "drift", "gd_balance_change": "change",
             "balanced_init": "init", "product_objective": "product", "whitened_loss": "loss-",
             "whitened_objective": "whitened", "regression_loss": "regression", "layer_gradients": "layer-grads",
             "deficiency_margin": "margin", "net_dims": "net_dims", "psd_power": "psd",
             "end_to_end_velocity": "velocity", "scalar_end_to_end_velocity": "scalar-velocity",
             "end_to_end_flow": "flow-", "polar": "polar", "polar_rates": "rates", "start_at_angle": "angle",
             "near_target": "near", "scalar_flow": "scalar-flow"}  # fmt: skip
    assert set(short) == set(linear.__all__) | set(linear_flow.__all__)
    assert all(word in named for word in short.values()), [f for f, w in short.items() if w not in named]
    assert math.isfinite(LIMIT_S)


# -- audit of issue 15 (second round) ------------------------------------------------------------------

_F = torch.float64


def test_audit_psd_power_refuses_non_psd_and_non_symmetric():
    with pytest.raises(ValueError, match="positive semi-definite.*-1"):
        linear_flow.psd_power(-torch.eye(2, dtype=_F), 0.5)
    with pytest.raises(ValueError, match="symmetric"):
        linear_flow.psd_power(torch.tensor([[1.0, 2.0], [0.0, 1.0]], dtype=_F), 0.5)
    assert linear_flow.psd_power(torch.zeros(0, 0, dtype=_F), 0.5).shape == (0, 0)
    M = torch.tensor([[4.0, 0.0], [0.0, 9.0]], dtype=_F)
    assert torch.allclose(linear_flow.psd_power(M, 0.5), torch.diag(torch.tensor([2.0, 3.0], dtype=_F)))


def test_audit_polar_of_zero_raises():
    with pytest.raises(ValueError, match="w must be non-zero"):
        linear_flow.polar(torch.zeros(2, dtype=_F), torch.tensor([1.0, 0.0], dtype=_F))


def test_audit_linear_empty_inputs_and_phi_named():
    with pytest.raises(ValueError, match="X must hold at least one sample"):
        linear.regression_loss(torch.ones(1, 2, dtype=_F), torch.ones(2, 0, dtype=_F), torch.ones(1, 0, dtype=_F))
    with pytest.raises(ValueError, match="thetas must hold at least one row"):
        linear.balance_drift(torch.zeros(0, 4, dtype=_F), [2, 2])

    def my_phi(W):
        return W

    with pytest.raises(ValueError, match=r"phi\(W_N...W_1\) \(my_phi\)"):
        linear.product_objective([2, 2], my_phi).value(torch.zeros(4, dtype=_F))
