"""Chapter 3's course module: figures readable at column width that plot the data they are given, the
explorer's grid, and checkers tested against a catalogue of right answers, known slips and junk."""

import math
import re
from fractions import Fraction

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import sympy  # noqa: E402
import torch  # noqa: E402
from readability import assert_readable  # noqa: E402

import gfteach as gt  # noqa: E402
from gfteach.course import ch03  # noqa: E402
from gfteach.course.explorers import MAX_FRAMES, Explorer  # noqa: E402
from gfteach.homogeneous import BoundCase  # noqa: E402
from gfteach.linear import end_to_end, product_objective, theta_from_layers, whitened_loss  # noqa: E402
from gfteach.nets import mlp, near_zero_init_  # noqa: E402

f64 = torch.float64


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def lines_by_label(ax):
    return {line.get_label(): line for line in ax.get_lines()}


# -- figures -------------------------------------------------------------------------------------------


def test_scaling_figure_plots_minus_lambda_min_and_lambda_max():
    factors = [1, 2, 4]
    sweeps = {"ReLU, depth 3": (torch.tensor([-0.4, -0.7, -1.7]), torch.tensor([0.4, 1.2, 14.0]))}
    fig = ch03.scaling_figure(factors, sweeps)
    assert_readable(fig, all_lines=True)
    lines = lines_by_label(fig.axes[0])
    np.testing.assert_allclose(lines[r"$-\lambda_{\min}$, ReLU, depth 3"].get_ydata(), [0.4, 0.7, 1.7])
    np.testing.assert_allclose(lines[r"$\lambda_{\max}$, ReLU, depth 3"].get_ydata(), [0.4, 1.2, 14.0])
    assert fig.axes[0].get_xscale() == fig.axes[0].get_yscale() == "log"


def test_origin_figure_reports_the_fitted_slopes():
    scales = [1e-3, 2e-3, 4e-3]
    near = {2: [0.9, 0.9, 0.9], 3: [1e-2, 2e-2, 4e-2], 4: [1e-4, 4e-4, 16e-4]}
    fig = ch03.origin_figure(scales, near)
    assert_readable(fig, all_lines=True)
    texts = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert texts == [
        "depth 2: slope 0.000 (theory 0)",
        "depth 3: slope 1.000 (theory 1)",
        "depth 4: slope 2.000 (theory 2)",
    ]
    np.testing.assert_allclose(fig.axes[0].get_lines()[2].get_ydata(), near[4])


def test_bound_figure_plots_the_ratios_in_two_rows():
    cases = [
        BoundCase(2, "random", -1.0, -2.0),
        BoundCase(3, "near-tight", -0.99, -1.0),
        BoundCase(3, "random", 1.0, 0.0),
    ]
    balanced = [BoundCase(2, "balanced", -1.0, -1.0), BoundCase(4, "balanced", -0.3, -1.0)]
    fig = ch03.bound_figure(cases, balanced)
    assert_readable(fig, all_lines=True)
    top, bottom = fig.axes
    assert top.get_position().y0 > bottom.get_position().y1  # rows, not columns
    points = {line.get_label(): np.asarray(line.get_ydata()).tolist() for line in top.get_lines()}
    assert points["random instances"] == [0.5]  # the instance with bound 0 has no ratio and is left out
    assert points["near-tight instances"] == pytest.approx([0.99])
    assert lines_by_label(bottom)["balanced, scalar output"].get_ydata().tolist() == [1.0, 0.3]


class _Curv:
    def __init__(self, times, low, high=None):
        self.times, self.lambda_min = torch.tensor(times, dtype=f64), torch.tensor(low, dtype=f64)
        self.lambda_max = torch.tensor(high if high is not None else [1.0] * len(times), dtype=f64)
        self.negative_integral = gt.cumulative_trapezoid(self.times, self.lambda_min.clamp(max=0))


def test_flow_figure_puts_activations_in_rows_and_depths_in_columns():
    t = [0.0, 1.0, 2.0]
    keys = [(a, d) for d in (2, 3) for a in ("linear", "relu", "leaky_relu")]
    curvature = {k: _Curv(t, [-1.0, -0.1 * i, -0.01]) for i, k in enumerate(keys)}
    random_min = {k: torch.tensor([[-1.0, -1.2], [-2.0, -2.4], [-3.0, -3.6]]) for k in keys}
    fig = ch03.flow_figure(curvature, random_min)
    assert_readable(fig, all_lines=True)
    rows = {round(ax.get_position().y0, 3) for ax in fig.axes}
    columns = {round(ax.get_position().x0, 3) for ax in fig.axes}
    assert len(rows) == 3 and len(columns) == 2  # activations in rows, depths in columns
    axes = {ax.get_title(): ax for ax in fig.axes}
    assert set(axes) == {ch03.label(*k) for k in keys}
    ax = axes["ReLU, depth 3"]
    lines = lines_by_label(ax)
    np.testing.assert_allclose(lines["along the gradient flow"].get_ydata(), curvature["relu", 3].lambda_min)
    np.testing.assert_allclose(lines["random points, same layer norms"].get_ydata(), [-1.1, -2.2, -3.3])
    assert ax.get_yscale() == "symlog"


def test_amplification_figure_plots_log10_of_the_factors():
    exponents = {("linear", 2): (5.0, 100.0, 90.0), ("relu", 3): (10.0, 40.0, 470.0)}
    fig = ch03.amplification_figure(exponents)
    assert_readable(fig, all_lines=True)
    heights = [p.get_height() for p in fig.axes[0].patches]
    np.testing.assert_allclose(heights, np.array([5, 10, 100, 40, 90, 470]) / math.log(10))
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == ["linear\ndepth 2", "ReLU\ndepth 3"]


def test_explorer_grid_and_its_figure(monkeypatch):
    t = torch.tensor([0.0, 1.0, 2.0], dtype=f64)

    class Flow:
        times, losses = t, torch.tensor([2.3, 1.0, 0.1], dtype=f64)

    calls = []

    def fake_run(activation, depth, scale):
        calls.append((activation, depth, scale))
        return Flow(), _Curv(t.tolist(), [-1.0, -0.5, -0.1]), torch.tensor([[-1.0, -1.0], [-2.0, -3.0], [-4.0, -4.0]])

    monkeypatch.setattr(ch03, "explorer_run", fake_run)
    ex = ch03.curvature_explorer()
    assert isinstance(ex, Explorer) and len(ex.controls) == 2
    assert math.prod(len(c.values) for c in ex.controls) == 9 <= MAX_FRAMES
    assert ex.values(ex.initial) == {"depth": 3, "scale": 0.08}
    fig = ex.draw(depth=4, scale=0.3)
    assert calls == [("relu", 4, 0.3)]
    assert_readable(fig, all_lines=True)
    top, bottom = fig.axes
    np.testing.assert_allclose(lines_by_label(top)["along the gradient flow"].get_ydata(), [-1.0, -0.5, -0.1])
    np.testing.assert_allclose(lines_by_label(bottom)["training loss"].get_ydata(), [2.3, 1.0, 0.1])
    integral = lines_by_label(bottom)[r"$-\int_0^t \min(\lambda_{\min}, 0)\,ds$ along the flow"].get_ydata()
    np.testing.assert_allclose(integral, [0.0, 0.75, 1.05])
    assert "ReLU, depth 4" in fig._suptitle.get_text()


# -- checkers: the catalogue ---------------------------------------------------------------------------


def run(check, *args, capsys, **kwargs):
    feedback = check(*args, **kwargs)
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and out[0] in "✓✗"
    return bool(feedback), out


def no_value(text, value, echo=None):
    """``value`` (the expected answer) is not printed in ``text`` as a number (once the student's own
    answer ``echo``, which a diagnosis may repeat, is taken out)."""
    if echo is not None:
        text = text.replace(echo, "")
    return not re.search(rf"(?<![\d.]){re.escape(value)}(?![\d])", text)


def test_the_gradient_exponent_is_measured_n_minus_1_on_real_networks():
    # the checker's truth, k = N - 1, against a measurement on bias-free ReLU networks
    for depth in (2, 3, 5):
        g = torch.Generator().manual_seed(depth)
        net = near_zero_init_(mlp([4] + [5] * (depth - 1) + [1], "relu"), 0.7, g)
        x = torch.randn(3, 4, generator=g, dtype=f64)
        obj = gt.Objective(net, x, torch.zeros(3, 1, dtype=f64), lambda out, _: out.sum())
        theta = obj.theta0()
        k = math.log(float(obj.grad(3 * theta).norm() / obj.grad(theta).norm())) / math.log(3)
        assert k == pytest.approx(depth - 1, abs=1e-9)


N_SYMBOL = sympy.Symbol("N")
RIGHT_EXPONENTS = [(3, 2), (3, 2.0), (3, np.int64(2)), (3, np.float32(2)), (3, np.array(2.0)), (3, np.array([2])),
                   (3, torch.tensor(2)), (3, sympy.Integer(2)), (3, N_SYMBOL - 1), (5, N_SYMBOL - 1), (5, 4),
                   (1, 0), (3, Fraction(2, 1)), (np.int64(4), 3), (torch.tensor(4), 3.0), (3, 1.99999)]  # fmt: skip


@pytest.mark.parametrize("depth, exponent", RIGHT_EXPONENTS, ids=repr)
def test_gradient_exponent_accepts_every_right_form(depth, exponent, capsys):
    ok, out = run(ch03.check_gradient_exponent, depth, exponent, capsys=capsys)
    assert ok, out


@pytest.mark.parametrize(
    "exponent, diagnosis",
    [(5, "exponent of the output"), (3, "exponent of the Hessian"), (-4, "sign"), (1, "other layers"),
     (6, "does not add"), (4.5, "whole number"), (N_SYMBOL, "exponent of the output"), (7, "chain rule"),
     (3.999, "not a whole number")],
)  # fmt: skip
def test_gradient_exponent_diagnoses_slips_without_the_answer(exponent, diagnosis, capsys):
    ok, out = run(ch03.check_gradient_exponent, 5, exponent, capsys=capsys)
    assert not ok and diagnosis in out, out
    shown = f"k = {float(exponent.subs(N_SYMBOL, 5) if isinstance(exponent, sympy.Expr) else exponent):g}"
    assert no_value(out, "4", echo=shown), out  # depth 5: the answer 4 is never shown


@pytest.mark.parametrize("depth, exponent", [(3, float("nan")), (3, math.inf), (3, "two"), (3, None), (3, True),
                                             (3, [2, 2]), (3, sympy.Symbol("k")), (0, 2), (2.5, 2), ("3", 2),
                                             (None, 2), (True, 0)])  # fmt: skip
def test_gradient_exponent_turns_junk_into_a_cross(depth, exponent, capsys):
    ok, out = run(ch03.check_gradient_exponent, depth, exponent, capsys=capsys)
    assert not ok and out.startswith("✗")


def test_the_saddle_hessians_are_the_true_hessians_at_the_origin():
    H2 = torch.func.hessian(lambda t: 0.5 * (t[0] * t[1] - 1) ** 2)(torch.zeros(2, dtype=f64))
    H3 = torch.func.hessian(lambda t: 0.5 * (t[0] * t[1] * t[2] - 1) ** 2)(torch.zeros(3, dtype=f64))
    assert torch.equal(H2, torch.tensor([[0.0, -1.0], [-1.0, 0.0]], dtype=f64)) and not H3.any()
    assert ch03.check_saddle_hessian(H2) and ch03.check_saddle_hessian(H3, depth=3)


RIGHT_SADDLES = [[[0, -1], [-1, 0]], ((0.0, -1.0), (-1.0, 0.0)), np.array([[0, -1], [-1, 0]]),
                 torch.tensor([[0.0, -1.0], [-1.0, 0.0]]), sympy.Matrix([[0, -1], [-1, 0]]),
                 np.array([[0, -1], [-1, 0]], dtype=np.float32),
                 [[np.float32(0), sympy.Integer(-1)], [-1, 1e-12]]]  # fmt: skip


@pytest.mark.parametrize("H", RIGHT_SADDLES, ids=range(len(RIGHT_SADDLES)))
def test_saddle_hessian_accepts_every_right_form(H, capsys):
    ok, out = run(ch03.check_saddle_hessian, H, capsys=capsys)
    assert ok, out


@pytest.mark.parametrize(
    "H, depth, diagnosis",
    [([[0, 1], [1, 0]], 2, "sign"), ([[0, -2], [-2, 0]], 2, "factor 1/2"), ([[0, -1], [0, 0]], 2, "symmetric"),
     ([[1, -1], [-1, 1]], 2, "diagonal"), ([[0, 0.5], [0.5, 0]], 2, "mixed derivative is off"),
     ([[0, 0], [0, 0]], 2, "mixed derivative is off"),
     ([[0, -1, -1], [-1, 0, -1], [-1, -1, 0]], 3, "factor of a weight"), (np.eye(3), 3, "diagonal")],
)  # fmt: skip
def test_saddle_hessian_diagnoses_slips(H, depth, diagnosis, capsys):
    ok, out = run(ch03.check_saddle_hessian, H, depth=depth, capsys=capsys)
    assert not ok and diagnosis in out, out
    assert "[[0" not in out and "-1" not in out  # the matrix is never shown


JUNK_SADDLES = [("x", 2), (None, 2), (3.0, 2), ([0, -1, -1, 0], 2), ([[0, -1], [-1, math.nan]], 2),
                ([[0, -1], [-1, "a"]], 2), (np.zeros((2, 2)), 3), ([[0, -1], [-1, 0]], 4), (True, 2)]  # fmt: skip


@pytest.mark.parametrize("H, depth", JUNK_SADDLES, ids=range(len(JUNK_SADDLES)))
def test_saddle_hessian_turns_junk_into_a_cross(H, depth, capsys):
    ok, out = run(ch03.check_saddle_hessian, H, depth=depth, capsys=capsys)
    assert not ok


def test_the_exercise_bound_is_minus_20_and_holds():
    layers = list(ch03.EXERCISE_LAYERS)
    assert gt.hessian_lower_bound(layers, ch03.EXERCISE_GRADIENT) == pytest.approx(-20.0, rel=1e-12)
    Phi = end_to_end(layers) - ch03.EXERCISE_GRADIENT
    H = torch.func.hessian(lambda t: whitened_loss(t[8:].view(2, 2) @ t[4:8].view(2, 2) @ t[:4].view(2, 2), Phi))(
        theta_from_layers(layers)
    )
    exact = float(np.linalg.eigvalsh(H.numpy())[0])  # an oracle independent of gfteach's Hessian code
    assert -20 < exact < 0
    assert ch03.check_exact_lambda_min(exact) and ch03.check_exact_lambda_min(round(exact, 3))
    assert float(end_to_end(layers)[0, 0]) == pytest.approx(1.2)  # the diagonal layers of the text


@pytest.mark.parametrize("value", [-20, -20.0, np.float64(-20), np.array([-20.0]), torch.tensor(-20.0),
                                   sympy.Integer(-20), Fraction(-40, 2), -20.0004, [-20]])  # fmt: skip
def test_bound_value_accepts_every_right_form(value, capsys):
    ok, out = run(ch03.check_bound_value, value, capsys=capsys)
    assert ok, out


@pytest.mark.parametrize(
    "value, diagnosis",
    [(20, "sign"), (-10, "N - 1 is missing"), (-30, "not N"), (-12, "not the minimum"), (-47, "not the sum"),
     (-16, "Frobenius norm, not the spectral"), (-2 * 5 * math.sqrt(5), "spectral norms ‖W_k‖₂, not Frobenius"),
     (-36, "leaves out the two layers"), (-19, "not the bound"), (-20.01, "not the bound")],
)  # fmt: skip
def test_bound_value_diagnoses_slips_without_the_answer(value, diagnosis, capsys):
    ok, out = run(ch03.check_bound_value, value, capsys=capsys)
    assert not ok and diagnosis in out, out
    assert no_value(out, "20", echo=f"{value:.4g}"), out


@pytest.mark.parametrize("value", ["-20", None, math.nan, -math.inf, True, [1, 2], np.zeros(2), object()])
def test_bound_value_turns_junk_into_a_cross(value, capsys):
    ok, out = run(ch03.check_bound_value, value, capsys=capsys)
    assert not ok


def test_exact_lambda_min_diagnoses_slips_without_the_answer(capsys):
    low, high = ch03._exercise_spectrum()
    for value, diagnosis in ((-20, "bound itself"), (high, "largest eigenvalue"), (-low, "sign"), (1.0, "Hessian of L"),
                             (-5.0, "not λ_min"), (round(low, 2), "not λ_min")):  # fmt: skip
        ok, out = run(ch03.check_exact_lambda_min, value, capsys=capsys)
        assert not ok and diagnosis in out, out
        assert no_value(out, f"{low:.4g}"[1:], echo=f"{value:.4g}") and no_value(
            out, f"{low:.3g}"[1:], echo=f"{value:.4g}"
        )
    for junk in ("x", None, math.nan, [low, low]):
        assert not run(ch03.check_exact_lambda_min, junk, capsys=capsys)[0]
    for right in (low, np.float32(low), torch.tensor([low]), round(low, 4)):
        assert run(ch03.check_exact_lambda_min, right, capsys=capsys)[0]


def test_exercise_spectrum_matches_product_objective():
    low, high = ch03._exercise_spectrum()
    W = end_to_end(list(ch03.EXERCISE_LAYERS))
    f = product_objective([2, 2, 2, 2], lambda V: whitened_loss(V, W - ch03.EXERCISE_GRADIENT))
    eig = torch.linalg.eigvalsh(f.hessian(theta_from_layers(ch03.EXERCISE_LAYERS)))
    assert (low, high) == pytest.approx((float(eig[0]), float(eig[-1])), rel=1e-12)


def test_labels_and_steps():
    assert ch03.label("leaky_relu", 3) == "leaky ReLU, depth 3"
    assert ch03.rk4_step(3) == 0.07 and ch03.rk4_step(4) == 0.035
