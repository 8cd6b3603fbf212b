"""Chapter 7's course module: readable figures that plot the data passed in, the explorer, and the
checkers (right answers in every form, the known slips with their diagnosis, junk)."""

import math
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
from gfteach import modified_flows as mf  # noqa: E402
from gfteach.course import ch07  # noqa: E402
from gfteach.course.explorers import Explorer  # noqa: E402

f64 = torch.float64


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def line(ax, label_part):
    found = [ln for ln in ax.get_lines() if label_part in ln.get_label()]
    assert found, f"no line labelled {label_part!r}"
    return found[0]


@pytest.fixture(scope="module")
def runs():
    """A quadratic where the sharpness 4 is past 2/eta = 3.6: GD leaves GF from the start."""
    obj = gt.FunctionObjective(lambda th: 0.5 * (th[0] ** 2 + 4 * th[1] ** 2) + 0.1 * th[0] ** 4, 2)
    theta0, eta, steps = torch.tensor([1.0, 1e-3], dtype=f64), 0.55, 20
    gd = gt.gradient_descent(obj, theta0, eta, steps)
    gf = gt.gradient_flow(obj, theta0, gt.gd_time_grid(eta, steps))
    return obj, eta, gd, gf, gt.curvature_along(obj, gd, every=5), gt.curvature_along(obj, gf, every=5)


def test_eos_figure_plots_the_runs(runs):
    obj, eta, gd, gf, curvature, curvature_gf = runs
    fig = ch07.eos_figure(gd, gf, curvature, eta, curvature_gf)
    assert_readable(fig, own_title_and_legend=True, palette_exempt=[r"S \geq"])
    top, middle, bottom = fig.axes
    np.testing.assert_allclose(line(top, "gradient descent").get_ydata(), curvature.lambda_max)
    np.testing.assert_allclose(line(top, "gradient descent").get_xdata(), [0, 5, 10, 15, 20])
    np.testing.assert_allclose(line(top, "gradient flow").get_ydata(), curvature_gf.lambda_max)
    np.testing.assert_allclose(line(top, r"2/\eta").get_ydata(), [2 / eta, 2 / eta])
    np.testing.assert_allclose(line(middle, "gradient descent").get_ydata(), gd.iterate_losses)
    np.testing.assert_allclose(line(bottom, "theta").get_ydata(), gt.distance(gd, gf))
    assert middle.get_yscale() == "log"
    # the crossing marker sits at the first measured S >= 2/eta (here: from the start)
    assert line(top, "S \\geq").get_xdata()[0] == mf.edge_crossing(curvature, eta) == 0


def test_eos_figure_without_flow_sharpness(runs):
    obj, eta, gd, gf, curvature, _ = runs
    fig = ch07.eos_figure(gd, gf, curvature, 0.2)  # 2/eta = 10 never reached: no crossing line
    assert_readable(fig, own_title_and_legend=True)
    assert not [ln for ln in fig.axes[0].get_lines() if "gradient flow" in ln.get_label()]
    assert not [ln for ln in fig.axes[0].get_lines() if "S \\geq" in ln.get_label()]


def test_igr_figure_plots_the_gaps_and_their_slopes():
    etas, gf, igr = [0.1, 0.2, 0.4], [1e-3, 2e-3, 4e-3], [1e-4, 4e-4, 1.6e-3]
    fig = ch07.igr_figure(etas, gf, igr)
    assert_readable(fig, own_title_and_legend=True)
    ax = fig.axes[0]
    assert ax.get_xscale() == ax.get_yscale() == "log"
    np.testing.assert_allclose(line(ax, "gradient flow").get_ydata(), gf)
    np.testing.assert_allclose(line(ax, "IGR").get_ydata(), igr)
    assert "slope 1.00" in line(ax, "gradient flow").get_label() and "slope 2.00" in line(ax, "IGR").get_label()


def test_central_figure_plots_the_distances(runs):
    obj, eta, gd, gf, curvature, _ = runs
    cf = mf.central_flow(obj, gd.thetas[5], eta, 20, start=5, substeps=4)
    curvature_cf = gt.curvature_along(obj, cf, every=5)
    fig = ch07.central_figure(gd, gf, cf, curvature, curvature_cf, eta)
    assert_readable(fig, own_title_and_legend=True)
    top, bottom = fig.axes
    np.testing.assert_allclose(line(top, "central").get_ydata(), curvature_cf.lambda_max)
    np.testing.assert_allclose(line(bottom, "central").get_xdata(), np.arange(5, 21))
    np.testing.assert_allclose(line(bottom, "central").get_ydata(), gt.distance(cf, gd))
    np.testing.assert_allclose(line(bottom, "gradient flow").get_ydata(), gt.distance(gd, gf))


def test_saxe_figure_plots_the_mode_strength():
    s, u0 = 1.0, 1e-2
    mode, start = mf.saxe_objective(s), torch.full((2,), math.sqrt(u0), dtype=f64)
    runs = {eta: gt.gradient_descent(mode, start, eta, round(4 / eta)) for eta in (0.2, 1.1)}
    fig = ch07.saxe_figure(s, u0, runs)
    assert_readable(fig, own_title_and_legend=True)
    ax = fig.axes[0]
    exact = line(ax, "exact")
    np.testing.assert_allclose(exact.get_ydata(), mf.saxe_mode(exact.get_xdata(), s, u0))
    np.testing.assert_allclose(line(ax, "0.2").get_ydata(), runs[0.2].thetas.prod(dim=1))
    np.testing.assert_allclose(line(ax, "1.1").get_xdata(), runs[1.1].times)


def test_step_explorer_draws_each_precomputed_run(runs):
    obj, eta, gd, gf, curvature, _ = runs
    table = {0.3: (gd, gf, curvature), eta: (gd, gf, curvature)}
    view = ch07.step_explorer(table)
    assert isinstance(view, Explorer) and len(view.controls) == 1
    assert list(view.controls[0].values) == [0.3, eta]
    fig = view.draw(**view.values((1,)))
    assert_readable(fig, own_title_and_legend=True, palette_exempt=[r"S \geq"])
    assert f"{eta:g}" in fig.axes[0].get_title()
    np.testing.assert_allclose(line(fig.axes[0], r"2/\eta").get_ydata(), [2 / eta, 2 / eta])
    assert view.png((0,)).startswith(b"\x89PNG")


# -- checkers -----------------------------------------------------------------------------------------------

SHARP = np.array([1.118, 1.2, 1.35, 1.9, 1.6, 1.45, 1.5, 1.47, 1.49, 1.48, 1.46, 1.5])  # a run at eta = 1.5
HOVER = float(np.median(SHARP[-5:]))  # 1.48


def forms(x):
    """The same number as Python, NumPy, torch, SymPy, one-element array and list."""
    return [x, np.float64(x), np.float32(x), np.array(x), np.array([x]), torch.tensor(x), torch.tensor([x]),
            sympy.Float(x), [x]]  # fmt: skip


def check(capsys, fn, *args):
    ok = fn(*args)
    return bool(ok), capsys.readouterr().out


@pytest.mark.parametrize("value", forms(HOVER) + [round(HOVER, 2), 1.42, 1.53, float(np.mean(SHARP[-5:]))], ids=repr)
def test_edge_sharpness_right(capsys, value):
    ok, out = check(capsys, ch07.check_edge_sharpness, value, SHARP, 1.5)
    assert ok and out.startswith("✓") and "above 2/η" in out


@pytest.mark.parametrize(
    "value, why",
    [
        (2 / 1.5, "threshold 2/η itself"),
        (round(2 / 1.5, 4), "threshold 2/η itself"),
        (1.9, "overshoot"),  # the maximum
        (1.118, "at the start"),
        (1.6, "too high"),  # 20% above
        (1.1, "too low"),  # 17.5% below
        (2 / 1.5 * 1.15 + 1e-3, "too high"),  # just past the 15% boundary
    ],
)
def test_edge_sharpness_slips(capsys, value, why):
    ok, out = check(capsys, ch07.check_edge_sharpness, value, SHARP, 1.5)
    assert not ok and out.startswith("✗") and why in out
    assert "1.48" not in out  # never the measured answer


RIGHT_RATE = 2.0 * (1 + 0.3 * 2.0 / 2)  # 2.6


@pytest.mark.parametrize("value", forms(RIGHT_RATE) + [sympy.Rational(13, 5), Fraction(13, 5), 2.6000], ids=repr)
def test_igr_factor_right(capsys, value):
    ok, out = check(capsys, ch07.check_igr_factor, 2.0, 0.3, value)
    assert ok and out.startswith("✓")


@pytest.mark.parametrize(
    "value, why",
    [
        (2.0, "plain gradient flow"),
        (-2.6, "rate is positive"),
        (2.0 * (1 + 0.3 * 2.0 / 4), "factor 2"),
        (2.0 * (1 + 0.3 * 2.0), "not η·f'(θ)·f''(θ)"),
        (0.3 * 4.0 / 2, "correction alone"),
        (2.0 * (1 - 0.3), "adds to the rate"),
        (2.7, "not the rate"),
        (2.6 + 1e-3, "not the rate"),  # close but wrong at the text's precision
    ],
)
def test_igr_factor_slips(capsys, value, why):
    ok, out = check(capsys, ch07.check_igr_factor, 2.0, 0.3, value)
    assert not ok and why in out and "2.6" not in out


BETA, ETA = 2.898, 1.0


@pytest.mark.parametrize("value", forms(BETA * ETA / 4) + [0.7245, round(BETA / 4, 4)], ids=repr)
def test_bound_ratio_right(capsys, value):
    ok, out = check(capsys, ch07.check_bound_ratio, value, BETA, ETA)
    assert ok and out.startswith("✓")


@pytest.mark.parametrize(
    "value, why",
    [
        (0.5, "βη = 2 exactly"),
        (BETA / 2, "trivial bound is 2γkη"),
        (BETA, "both have γ and kη"),
        (4 / BETA, "upside down"),
        (0.8, "not the ratio"),
        (BETA / 4 + 1e-3, "not the ratio"),
    ],
)
def test_bound_ratio_slips(capsys, value, why):
    ok, out = check(capsys, ch07.check_bound_ratio, value, BETA, ETA)
    assert not ok and why in out and "0.72" not in out


@pytest.mark.parametrize("value", forms(1.0) + [1, sympy.Integer(1), Fraction(2, 2), 2 / (2 * 1.0)], ids=repr)
def test_saxe_threshold_right(capsys, value):
    ok, out = check(capsys, ch07.check_saxe_threshold, 1.0, value)
    assert ok and out.startswith("✓")


def test_saxe_threshold_other_strength(capsys):
    assert check(capsys, ch07.check_saxe_threshold, 2.0, 0.5)[0]
    ok, out = check(capsys, ch07.check_saxe_threshold, 2.0, 1.0)  # 2/s: sharpness taken as s
    assert not ok and "2s, not s" in out


@pytest.mark.parametrize(
    "value, why",
    [
        (2.0, "2s, not s"),
        (0.5, "changes sign"),
        (0.0, "positive number"),
        (-1.0, "positive number"),
        (1.0 + 1e-3, "too large"),  # just past the threshold
        (0.9, "too small"),  # a stable step, but not the threshold
    ],
)
def test_saxe_threshold_slips(capsys, value, why):
    ok, out = check(capsys, ch07.check_saxe_threshold, 1.0, value)
    assert not ok and why in out and "η* = 1" not in out


JUNK = ["1.5", None, True, float("nan"), math.inf, [1.0, 2.0], np.zeros(3), {"a": 1}, sympy.Symbol("x"), complex(1, 1)]


@pytest.mark.parametrize("value", JUNK, ids=repr)
def test_every_checker_answers_junk_without_raising(capsys, value):
    for fn, args in (
        (ch07.check_edge_sharpness, (value, SHARP, 1.5)),
        (ch07.check_igr_factor, (2.0, 0.3, value)),
        (ch07.check_bound_ratio, (value, BETA, ETA)),
        (ch07.check_saxe_threshold, (1.0, value)),
    ):
        ok, out = check(capsys, fn, *args)
        assert not ok and out.startswith("✗") and "should be" in out


# -- issue 15: junk problem parameters are named errors; extreme instances never raise ------------------------


@pytest.mark.parametrize("eta", [0, 0.0, -0.1, None, "1.5", float("nan")])
def test_edge_sharpness_answers_a_junk_step_with_a_message(capsys, eta):
    ok, out = check(capsys, ch07.check_edge_sharpness, HOVER, SHARP, eta)  # audit 97: eta = 0 divided by zero
    assert not ok and out.startswith("✗") and "eta" in out


@pytest.mark.parametrize(
    "fn, args, error, name",
    [
        (ch07.check_igr_factor, (None, 0.1, 2.2), TypeError, "lam"),  # audit 98
        (ch07.check_igr_factor, (float("nan"), 0.1, 2.2), ValueError, "lam"),  # audit 99
        (ch07.check_igr_factor, ("2", "0.1", 2.2), TypeError, "lam"),  # audit 100: a silent ✓
        (ch07.check_igr_factor, (2.0, "0.1", 2.2), TypeError, "eta"),
        (ch07.check_igr_factor, (2.0, 0.0, 2.0), ValueError, "eta"),
        (ch07.check_bound_ratio, (1.0, "a", 0.1), TypeError, "beta"),  # audit 101
        (ch07.check_bound_ratio, (1.0, float("inf"), 0.1), ValueError, "beta"),  # audit 102
        (ch07.check_bound_ratio, (1.0, 2.9, None), TypeError, "eta"),
        (ch07.check_saxe_threshold, (0, 0.5), ValueError, "strength"),  # audit 103: ZeroDivisionError
        (ch07.check_saxe_threshold, (None, 0.5), TypeError, "strength"),  # audit 104
        (ch07.check_saxe_threshold, (True, 0.5), TypeError, "strength"),
    ],
)
def test_junk_problem_parameters_are_named_errors(fn, args, error, name):
    with pytest.raises(error, match=rf"^{name} must"):
        fn(*args)


@pytest.mark.parametrize(
    "fn, args",
    [
        (ch07.check_igr_factor, (1e200, 1.0, 2.0)),  # the rate overflows to inf: nothing agrees with it
        (ch07.check_bound_ratio, (1.0, 1e-200, 1e-200)),  # the ratio underflows to 0: its inverse is skipped
        (ch07.check_saxe_threshold, (1e-320, 0.5)),  # 1/s overflows
        (ch07.check_saxe_threshold, (1e200, 0.5)),  # s**2 overflowed (OverflowError)
    ],
)
def test_extreme_instances_give_feedback_instead_of_raising(capsys, fn, args):
    ok, out = check(capsys, fn, *args)
    assert not ok and out.startswith("✗")


def test_parameters_may_be_numpy_or_torch_scalars(capsys):
    assert check(capsys, ch07.check_igr_factor, np.float64(2.0), torch.tensor(0.3), RIGHT_RATE)[0]
    assert check(capsys, ch07.check_bound_ratio, BETA * ETA / 4, torch.tensor(BETA, dtype=torch.float64), ETA)[0]
    assert check(capsys, ch07.check_saxe_threshold, np.int64(2), 0.5)[0]
