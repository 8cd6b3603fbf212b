"""Chapter 2's presentation layer: readable figures of the runs they are given, an explorer over landscapes
and steps, and checkers that accept every right form and diagnose the known slips without the answer."""

import math
import re

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import sympy  # noqa: E402
import torch  # noqa: E402
from readability import assert_readable  # noqa: E402

import gfteach as gt  # noqa: E402
from gfteach.course import ch02  # noqa: E402
from gfteach.course.checkers import agrees  # noqa: E402
from gfteach.course.explorers import MAX_FRAMES  # noqa: E402
from gfteach.landscapes import LANDSCAPES  # noqa: E402

f64 = torch.float64


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def line(fig, label, ax=None):
    axes = fig.axes if ax is None else [ax]
    return next(ln for a in axes for ln in a.get_lines() if ln.get_label() == label)


def leaks(out, value, digits=3):
    """Whether a number in the message is ``value`` (to ``digits`` significant digits)."""
    return any(agrees(float(x), value, digits) for x in re.findall(r"-?\d+(?:\.\d+)?(?:e[-+]?\d+)?", out))


@pytest.fixture(scope="module")
def runs():
    out = {}
    for name, land in LANDSCAPES.items():
        steps = math.ceil(land.t_end / 0.2)
        gd = gt.gradient_descent(land.f, land.start, 0.2, steps)
        gf = gt.gradient_flow(land.f, land.start, gt.gd_time_grid(0.2, steps), rtol=1e-10, atol=1e-12)
        curvature = gt.curvature_along(land.f, gf)
        out[name] = (gd, gf, curvature, gt.approximation_bound(land.f, gd, gf, curvature=curvature))
    return out


# -- figures -------------------------------------------------------------------------------------------------


def test_paths_figure_draws_each_run_over_its_landscape(runs):
    gds, gfs = {n: r[0] for n, r in runs.items()}, {n: r[1] for n, r in runs.items()}
    fig = ch02.paths_figure(gds, gfs)
    assert_readable(fig)
    visible = [ax for ax in fig.axes if ax.get_visible()]
    assert len(visible) == 3
    for ax, name in zip(visible, gds):
        assert ax.get_title().startswith(ch02.LABELS[name].split("$")[0])
        np.testing.assert_array_equal(line(fig, "GD iterates", ax).get_xydata(), gds[name].thetas.numpy())
        np.testing.assert_array_equal(line(fig, "gradient flow", ax).get_xydata(), gfs[name].thetas.numpy())


def test_bound_figure_has_one_row_per_landscape_with_its_distance_bound_and_curvature(runs):
    bounds = {n: r[3] for n, r in runs.items()}
    curvatures = {n: r[2] for n, r in runs.items()}
    fig = ch02.bound_figure(bounds, curvatures)
    assert_readable(fig)
    assert len(fig.axes) == 6 and fig.axes[0].get_position().y0 > fig.axes[2].get_position().y0
    for i, name in enumerate(bounds):
        left, right = fig.axes[2 * i], fig.axes[2 * i + 1]
        measured = line(fig, r"measured $\|\theta_k - \theta(k\eta)\|$", left)
        np.testing.assert_array_equal(measured.get_ydata(), bounds[name].distance[1:].numpy())
        np.testing.assert_array_equal(line(fig, "bound (sum)", left).get_ydata(), bounds[name].bound[1:].numpy())
        lmin = line(fig, r"$\lambda_{\min}(\nabla^2 f)$ along GF", right)
        np.testing.assert_array_equal(lmin.get_ydata(), curvatures[name].lambda_min.numpy())


def test_classic_and_scaling_figures_plot_their_data(runs):
    b = runs["quadratic"][3]
    classic = gt.classic_euler_bound(b.times, 0.2, b.beta, b.gamma)
    fig = ch02.classic_figure(b, classic, title="quadratic")
    assert_readable(fig)
    np.testing.assert_array_equal(line(fig, r"classic: $\frac{\gamma\eta}{2}(e^{\beta t} - 1)$").get_ydata(),
                                  classic[1:].numpy())  # fmt: skip
    etas, d = [0.04, 0.02], {"quadratic": [0.008, 0.004], "saddle": [0.016, 0.008]}
    fig = ch02.step_scaling_figure(etas, d, {"quadratic": 1.0, "saddle": 1.0}, 2.0)
    assert_readable(fig)
    np.testing.assert_array_equal(line(fig, "saddle (slope 1.000)").get_ydata(), [0.016, 0.008])


def test_hilltop_figure_shows_the_closed_form_gap_and_the_needed_step():
    fig = ch02.hilltop_figure(1.0, 1.0, etas=(0.1, 0.05), t_end=2.0, eps=0.01)
    assert_readable(fig)
    top, bottom = fig.axes
    measured = line(fig, r"measured, $\eta = 0.1$", top)
    k = np.arange(1, 21)
    np.testing.assert_allclose(measured.get_ydata(), np.exp(0.1 * k) - 1.1**k, rtol=1e-9)  # theta0 e^t - (1+eta)^k
    hill = line(fig, r"$f = -\frac{1}{2}\theta^2$", bottom)
    t = hill.get_xdata()
    np.testing.assert_allclose(hill.get_ydata()[::13], [gt.step_for_accuracy(-1.0, 1.0, s, 0.01) for s in t[::13]])


@pytest.mark.parametrize("name, eta", [("two-well", 0.1), ("saddle", 0.3), ("quadratic", 0.55)])
def test_explorer_frames_are_readable_and_say_whether_the_bound_holds(name, eta):
    fig = ch02.explorer_figure(name, eta)
    assert_readable(fig)
    assert "holds" in fig.axes[2].get_title()
    assert f"{eta:g}" in fig.get_suptitle()


def test_tracking_explorer_fits_the_frame_budget_and_straddles_the_stability_limit():
    ex = ch02.tracking_explorer()
    landscape, eta = ex.controls
    assert len(landscape.values) * len(eta.values) <= MAX_FRAMES and set(landscape.values) == set(LANDSCAPES)
    assert min(eta.values) < 0.5 < max(eta.values)  # the quadratic's limit 2 / lambda_max = 0.5
    assert ex.draw is ch02.explorer_figure


# -- checkers ------------------------------------------------------------------------------------------------


def verdict_of(capsys, feedback):
    out = capsys.readouterr().out
    assert out.startswith("✓" if feedback else "✗") and out.count("\n") == 1
    return bool(feedback), out


GAP = 0.05 * math.exp(3.0) - 0.05 * 1.1**30
GAP_ARGS = (1.0, 0.05, 0.1, 3.0)


@pytest.mark.parametrize("answer", [GAP, 0.1318, np.float32(GAP), torch.tensor(GAP), [GAP], np.array([GAP]),
                                    0.05 * sympy.exp(3) - 0.05 * sympy.Rational(11, 10) ** 30])  # fmt: skip
def test_scalar_gap_accepts_every_form(answer, capsys):
    ok, out = verdict_of(capsys, ch02.check_scalar_gap(*GAP_ARGS, answer))
    assert ok, out


@pytest.mark.parametrize(
    "answer, diagnosis",
    [(gt.scalar_gap_estimate(1.0, 0.05, 0.1, 3.0), "first-order estimate"), (-GAP, "not negative"),
     (0.05 * math.exp(3.0), "the flow's value"), (0.05 * 1.1**30, "GD's value"),
     (GAP / (0.05 * math.exp(3.0)), "relative"), (0.05 * math.exp(3.0) - 0.05 * 0.9**30, "climbs the hilltop"),
     (abs(0.05 * math.exp(-3.0) - 0.05 * 1.1**30), "the flow grows"),
     (0.05 * math.exp(3.0) - 0.05 * 1.1**29, "off by one"),
     (1.0, "too large"), (0.01, "too small"), ("0.13", "a number"), (None, "a number"), (math.nan, "finite")],
)  # fmt: skip
def test_scalar_gap_diagnoses_slips_without_the_answer(answer, diagnosis, capsys):
    ok, out = verdict_of(capsys, ch02.check_scalar_gap(*GAP_ARGS, answer))
    assert not ok and diagnosis in out and not leaks(out, GAP), out


BETA, GAMMA = 4.0, math.hypot(1.5, 4.0)
STEP = gt.step_from_bound(BETA, GAMMA, 5.0, 0.01)


@pytest.mark.parametrize("answer", [STEP, 2.341e-4, 0.99 * STEP, 2.34e-4, np.float64(STEP), torch.tensor(STEP),
                                    sympy.Float(STEP)])  # fmt: skip
def test_bound_step_accepts_the_largest_step_rounded_or_a_little_below(answer, capsys):
    ok, out = verdict_of(capsys, ch02.check_bound_step(BETA, GAMMA, 5.0, 0.01, answer))
    assert ok, out


@pytest.mark.parametrize(
    "answer, diagnosis",
    [(STEP / 2, "factor 1/2 of βγ/2 is lost"), (2 * STEP, "used twice"), (5 * STEP, "time t is missing"),
     (gt.classic_euler_step(BETA, GAMMA, 5.0, 0.01), "classic bound"), (1e-3, "too big"), (1e-4, "too small"),
     (0.0, "positive"), (-1e-4, "positive"), ("small", "a number"), (math.inf, "finite")],
)  # fmt: skip
def test_bound_step_diagnoses_slips_without_the_answer(answer, diagnosis, capsys):
    ok, out = verdict_of(capsys, ch02.check_bound_step(BETA, GAMMA, 5.0, 0.01, answer))
    assert not ok and diagnosis in out and not leaks(out, STEP), out


def test_bound_step_respects_the_negative_curvature_integral(capsys):
    step = gt.step_from_bound(BETA, GAMMA, 5.0, 0.01, -1.0)
    assert verdict_of(capsys, ch02.check_bound_step(BETA, GAMMA, 5.0, 0.01, step, negative_integral=-1.0))[0]
    ok, out = verdict_of(capsys, ch02.check_bound_step(BETA, GAMMA, 5.0, 0.01, STEP, negative_integral=-1.0))
    assert not ok and "too big" in out


TS = np.linspace(0.01, 20.0, 2000)
PEAK = max(gt.scalar_gap(1.0, 1.0, 0.01, s) for s in TS)
BOUND = 0.01 / (2 * math.e * 0.99)


COARSE = max(gt.scalar_gap(1.0, 1.0, 0.01, s) for s in np.linspace(0.5, 2, 50))  # a coarser grid: a bit below


RIGHT_PEAKS = [(PEAK, BOUND), (0.001847, 0.001858), (np.float64(PEAK), torch.tensor(BOUND)), (COARSE, BOUND)]


@pytest.mark.parametrize("largest, bound", RIGHT_PEAKS)
def test_gap_peak_accepts_a_measured_peak_and_the_proved_bound(largest, bound, capsys):
    ok, out = verdict_of(capsys, ch02.check_gap_peak(1.0, 1.0, 0.01, largest, bound))
    assert ok, out


@pytest.mark.parametrize(
    "largest, bound, diagnosis",
    [(PEAK, 0.01 / (2 * math.e), "below the measured peak"),
     (gt.scalar_gap(1.0, 1.0, 0.01, 20.0), BOUND, "end of your grid"), (0.9 * PEAK, BOUND, "not the largest"),
     (1.1 * PEAK, BOUND, "not the largest"), (PEAK, 1.0, "not the bound the proof"),
     ("peak", BOUND, "a number"), (PEAK, None, "a number")],
)  # fmt: skip
def test_gap_peak_diagnoses_slips_without_the_answer(largest, bound, diagnosis, capsys):
    ok, out = verdict_of(capsys, ch02.check_gap_peak(1.0, 1.0, 0.01, largest, bound))
    assert not ok and diagnosis in out and not leaks(out, PEAK) and not leaks(out, BOUND), out


# -- issue 15: junk problem parameters are named errors; extreme instances give feedback, not OverflowError ---


@pytest.mark.parametrize(
    "call, error, name",
    [
        (lambda: ch02.check_scalar_gap(None, 1.0, 0.1, 2.0, 0.5), TypeError, "mu"),  # audit 78
        (lambda: ch02.check_scalar_gap("1", 1.0, 0.1, 2.0, 0.5), TypeError, "mu"),
        (lambda: ch02.check_scalar_gap(0.0, 1.0, 0.1, 2.0, 0.5), ValueError, "mu"),
        (lambda: ch02.check_scalar_gap(1.0, None, 0.1, 2.0, 0.5), TypeError, "theta0"),
        (lambda: ch02.check_scalar_gap(1.0, 1.0, float("nan"), 2.0, 0.5), ValueError, "eta"),
        (lambda: ch02.check_gap_peak(0.0, 1.0, 0.1, 0.01, 0.02), ValueError, "lam"),  # audit 80: ZeroDivisionError
        (lambda: ch02.check_gap_peak(-1.0, 1.0, 0.1, 0.01, 0.02), ValueError, "lam"),  # audit 81: named t
        (lambda: ch02.check_gap_peak(None, 1.0, 0.1, 0.01, 0.02), TypeError, "lam"),
        (lambda: ch02.check_gap_peak(1.0, 1.0, -0.1, 0.01, 0.02), ValueError, "eta"),
    ],
)
def test_junk_problem_parameters_are_named_errors(call, error, name):
    with pytest.raises(error, match=rf"^{name} must"):
        call()


def test_extreme_instances_give_feedback_instead_of_raising(capsys):
    # audit 79: at mu*t = 800 the gap (about 1e347) overflows a float, and so did the slips (OverflowError)
    ok, out = verdict_of(capsys, ch02.check_scalar_gap(1.0, 1.0, 0.1, 800.0, 1e300))
    assert not ok and "too small" in out
    # the classic bound's step underflows at t = 400 (a slip, skipped); the theorem's step is an ordinary number
    step = gt.step_from_bound(2.0, 3.0, 400.0, 0.1)
    assert verdict_of(capsys, ch02.check_bound_step(2.0, 3.0, 400.0, 0.1, step))[0]
    assert not verdict_of(capsys, ch02.check_bound_step(2.0, 3.0, 400.0, 0.1, 3 * step))[0]


def test_scalar_gap_reads_numpy_and_torch_parameters(capsys):
    args = (np.float64(1.0), torch.tensor(0.05), np.float32(0.1), 3)
    assert verdict_of(capsys, ch02.check_scalar_gap(*args, GAP))[0]
