"""Chapter 1's presentation layer: readable figures of the data they are given, an explorer whose verdicts
are true, tableaux shown exactly, and checkers that accept every right form and diagnose every known slip
without giving the answer away."""

import math
import re
import time
from fractions import Fraction

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import sympy  # noqa: E402
import torch  # noqa: E402
from readability import PALETTE, assert_readable  # noqa: E402

import gfteach as gt  # noqa: E402
from gfteach import rk_analysis  # noqa: E402
from gfteach.course import ch01  # noqa: E402
from gfteach.course.checkers import agrees  # noqa: E402
from gfteach.course.explorers import MAX_FRAMES  # noqa: E402

f64 = torch.float64


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def lines_by_label(fig):
    return {line.get_label(): line for ax in fig.axes for line in ax.get_lines()}


# -- styles and text ---------------------------------------------------------------------------------------


def test_method_styles_are_distinct_and_from_the_palette():
    methods = [m for m in ch01.METHOD_STYLE if m != "exact"]
    assert set(methods) == set(gt.METHODS)
    for key in ("color", "linestyle", "marker"):
        values = [str(ch01.METHOD_STYLE[m][key]) for m in methods]
        assert len(set(values)) == len(values), f"two methods share a {key}"
    assert all(s["color"].lower() in PALETTE for s in ch01.METHOD_STYLE.values())
    assert ch01.method_label("rk4") == "RK4" and ch01.method_label(gt.METHODS["dopri5"]) == "DOPRI5"


@pytest.mark.parametrize("method", ["heun", "rk4", "dopri5"])
def test_tableau_table_shows_the_coefficients_exactly(method):
    tab = gt.METHODS[method]
    rows = [line.split("|")[1:-1] for line in ch01.tableau_table(method)._repr_markdown_().splitlines()[2:]]
    cells = [[c.strip() for c in row] for row in rows]
    value = lambda s: float(Fraction(s)) if s else 0.0  # noqa: E731
    for i in range(tab.stages):
        assert value(cells[i][1]) == pytest.approx(tab.c[i], abs=1e-15)
        assert [value(s) for s in cells[i][2 : 2 + tab.stages]] == pytest.approx(list(tab.A[i]), abs=1e-15)
    assert [value(s) for s in cells[tab.stages][2 : 2 + tab.stages]] == pytest.approx(list(tab.b), abs=1e-15)
    assert (len(cells) == tab.stages + 2) == (tab.error is not None)


def test_format_polynomial():
    assert ch01.format_polynomial(gt.METHODS["rk4"].stability_polynomial()) == "1 + z + z^2/2 + z^3/6 + z^4/24"
    assert ch01.format_polynomial(gt.METHODS["dopri5"].stability_polynomial()).endswith("z^5/120 + z^6/600")
    assert ch01.format_polynomial(np.polynomial.Polynomial([-1.0, 0.0, -0.75])) == "-1 - 3z^2/4"
    assert ch01.format_polynomial(np.polynomial.Polynomial([0.0, -1.0, 2 / 3])) == "-z + 2z^2/3"
    assert ch01.format_polynomial(np.polynomial.Polynomial([0.0])) == "0"


# -- figures -------------------------------------------------------------------------------------------------


def test_solutions_figure_plots_the_runs_it_is_given():
    t = torch.linspace(0, 1, 5, dtype=f64)
    y = torch.stack([t**2, t], 1)
    fig = ch01.solutions_figure((t.numpy(), np.exp(t.numpy())), {"Euler, h = 0.25": (t, y)}, title="s")
    assert_readable(fig)
    line = lines_by_label(fig)["Euler, h = 0.25"]
    np.testing.assert_array_equal(line.get_xdata(), t.numpy())
    np.testing.assert_array_equal(line.get_ydata(), (t**2).numpy())  # the first component


def test_order_figure_plots_errors_against_steps_with_slopes_in_the_legend():
    h = np.array([0.1, 0.05, 0.025])
    errors = {"euler": 2 * h, "rk4": h**4}
    fig = ch01.order_figure({"euler": h, "rk4": h}, errors, {"euler": 1.0, "rk4": 4.0}, title="orders")
    assert_readable(fig)
    lines = lines_by_label(fig)
    assert set(lines) == {"Euler (slope 1)", "RK4 (slope 4)"}
    np.testing.assert_array_equal(lines["RK4 (slope 4)"].get_ydata(), h**4)
    assert fig.axes[0].get_xscale() == fig.axes[0].get_yscale() == "log"


def test_step_size_and_work_precision_and_norm_figures_plot_their_data():
    ivp = rk_analysis.kepler_ivp(0.5)
    orbit = torch.stack([ivp.solution(s) for s in np.linspace(0, ivp.t_end, 50)])
    fig = ch01.step_size_figure(orbit, orbit[:10], [0.0, 0.5, 1.0], [0.5, 0.4, 0.3], title="steps")
    assert_readable(fig)
    assert len(fig.axes) == 2 and fig.axes[0].get_position().y0 > fig.axes[1].get_position().y0  # in rows
    np.testing.assert_array_equal(lines_by_label(fig)["accepted step size $h$"].get_ydata(), [0.5, 0.4, 0.3])
    run = rk_analysis.work_precision(ivp, "rk4", steps=[ivp.t_end / 50, ivp.t_end / 100])
    fig = ch01.work_precision_figure({"RK4, fixed step": run}, title="work")
    assert_readable(fig)
    np.testing.assert_array_equal(lines_by_label(fig)["RK4, fixed step"].get_xdata(), run["nfev"])
    fig = ch01.gd_norms_figure({"a": [1.0, 0.5], "b": [1.0, 2.0]}, title="GD")
    assert_readable(fig)
    np.testing.assert_array_equal(lines_by_label(fig)["b"].get_ydata(), [1.0, 2.0])


def test_stability_region_figure_outlines_each_region():
    fig = ch01.stability_region_figure(["euler", "rk4"])
    assert_readable(fig)
    assert [t.get_text() for t in fig.legends[0].get_texts()] == ["Euler (real limit 2)", "RK4 (real limit 2.785)"]
    outlines = [c for c in fig.axes[0].collections if not getattr(c, "filled", True)]
    pts = np.concatenate(outlines[0].allsegs[0])  # Euler's outline is the circle |z + 1| = 1
    np.testing.assert_allclose(np.hypot(pts[:, 0] + 1, pts[:, 1]), 1.0, atol=0.02)


# -- the explorer --------------------------------------------------------------------------------------------


def test_explorer_matrix_has_eigenvalues_1_and_10():
    np.testing.assert_allclose(torch.linalg.eigvalsh(ch01.EXPLORER_A).numpy(), [1.0, 10.0], rtol=1e-12)


@pytest.mark.parametrize(
    "method, step, stable",
    [("euler", 0.19, True), ("euler", 0.21, False), ("rk4", 0.27, True), ("rk4", 0.29, False),
     ("dopri5", 0.32, True), ("dopri5", 0.34, False)],
)  # fmt: skip
def test_explorer_verdict_is_true(method, step, stable):
    fig = ch01.explorer_figure(method, step)
    assert_readable(fig)
    assert fig.axes[0].get_title().split("\n")[0].endswith(": stable" if stable else ": unstable")
    _, path = rk_analysis.quadratic_path(ch01.EXPLORER_A, ch01.EXPLORER_THETA0, method, step, 60.0)
    assert (float(path[-1].norm()) < 1e-3) if stable else (float(path[-1].norm()) > 10)
    xs = sorted(fig.axes[1].get_lines()[-1].get_xdata())  # the marked points -h*lambda_i: -10h and -h
    np.testing.assert_allclose(xs, [-10 * step, -step], rtol=1e-12)


def test_ode_explorer_covers_each_limit_within_the_frame_budget():
    ex = ch01.ode_explorer()
    method, step = ex.controls
    assert len(method.values) * len(step.values) <= MAX_FRAMES
    assert set(method.values) == {"euler", "heun", "rk4", "dopri5"} and ex.draw is ch01.explorer_figure
    for m in method.values:  # a step on each side of every method's limit h * 10 = real limit
        limit = gt.METHODS[m].stability_limit / 10
        assert any(h < limit for h in step.values) and any(h > limit for h in step.values)


# -- checkers ------------------------------------------------------------------------------------------------


def leaks(out, value, digits=3):
    """Whether a number in the message is ``value`` (to ``digits`` significant digits)."""
    return any(agrees(float(x), value, digits) for x in re.findall(r"-?\d+(?:\.\d+)?(?:e[-+]?\d+)?", out))


def verdict_of(capsys, feedback):
    out = capsys.readouterr().out
    assert out.startswith("✓" if feedback else "✗") and out.count("\n") == 1
    return bool(feedback), out


z = sympy.Symbol("z")
HEUN_RIGHT = [[1, 1, 0.5], (1.0, 1.0, 0.5), [0.5, 1, 1], np.array([1, 1, 0.5]), torch.tensor([1.0, 1.0, 0.5]),
              [1, 1, 0.5, 0], np.poly1d([0.5, 1, 1]), np.polynomial.Polynomial([1, 1, 0.5]), 1 + z + z**2 / 2,
              sympy.Poly(z**2 / 2 + z + 1, z), [1, 1, sympy.Rational(1, 2)], [1, 1, 0.5000]]  # fmt: skip


@pytest.mark.parametrize("answer", HEUN_RIGHT, ids=repr)
def test_stability_polynomial_accepts_every_form(answer, capsys):
    ok, out = verdict_of(capsys, ch01.check_stability_polynomial("heun", answer))
    assert ok, out


@pytest.mark.parametrize(
    "answer, diagnosis",
    [([1, 1, 1], "z^2 too large"), ([1, 1], "of Euler"), ([1, 1, 0.5, 1 / 6], "of BS 3(2)"),
     ([1, -1, 0.5], "z^1 too small"), ([1, 1, 0.5, 0.2], "degree too high"), ([1], "a term is missing"),
     (np.poly1d([1, 1, 0.5]), "z^0 too small"), ("one plus z", "list of numbers"), (None, "list of numbers"),
     ([1, float("nan")], "finite"), (z**2 + sympy.Symbol("w"), "one variable")],
)  # fmt: skip
def test_stability_polynomial_diagnoses_slips_without_the_answer(answer, diagnosis, capsys):
    ok, out = verdict_of(capsys, ch01.check_stability_polynomial("heun", answer))
    assert not ok and diagnosis in out and "1/2" not in out and not leaks(out, 0.5), out


@pytest.mark.parametrize("answer", [2, 2.0, np.float32(2), torch.tensor(2.0), sympy.Integer(2), [2.0], 2.00004])
def test_stability_limit_accepts_every_form(answer, capsys):
    assert verdict_of(capsys, ch01.check_stability_limit("heun", answer))[0]


@pytest.mark.parametrize(
    "method, answer, diagnosis",
    [("heun", 2.5, "too large"), ("heun", 1.0, "too small"), ("heun", -2.0, "positive"), ("rk4", 2.9, "> 1"),
     ("dopri5", 3.0, "too small"), ("heun", "two", "a number"), ("heun", math.inf, "finite")],
)  # fmt: skip
def test_stability_limit_diagnoses_slips(method, answer, diagnosis, capsys):
    ok, out = verdict_of(capsys, ch01.check_stability_limit(method, answer))
    assert not ok and diagnosis in out and not leaks(out, gt.METHODS[method].stability_limit), out


@pytest.fixture(scope="module")
def midpoint_data():
    ivp = rk_analysis.exp_sin_ivp(10.0)
    h = [2.0**-k for k in range(4, 9)]
    return h, rk_analysis.global_errors(ivp, "midpoint", h), rk_analysis.global_errors(ivp, "heun", h)


def test_order_accepts_a_slope_measured_on_the_right_data(midpoint_data, capsys):
    h, e, _ = midpoint_data
    slope = gt.loglog_slope(h, e)
    answers = [(h, e, slope), (np.array(h), torch.tensor(e), torch.tensor(slope)), (h, e, round(slope, 3)),
               (h[2:], e[2:], gt.loglog_slope(h[2:], e[2:])),  # fewer points: still a measurement
               (h, e, math.log2(e[-2] / e[-1]))]  # a two-point slope  # fmt: skip
    for steps, errors, s in answers:
        ok, out = verdict_of(capsys, ch01.check_order("midpoint", steps, errors, s))
        assert ok, out


def test_order_rejects_literals_wrong_methods_and_the_ratio_slip(midpoint_data, capsys):
    h, e, heun = midpoint_data
    slope = gt.loglog_slope(h, e)
    cases = [
        ((h, e, 2), "not a slope of your data (a number typed in?)"),
        ((h, heun, gt.loglog_slope(h, heun)), "errors of Heun"),
        ((h, 2 * e, slope), "not midpoint's global errors"),
        ((h, e, e[0] / e[1]), "ratio of successive errors"),
        ((h, e, float(np.mean(e[:-1] / e[1:]))), "ratio of successive errors"),
        ((h, e, math.log(e[0] / e[1])), "natural log"),
        ((h, e, -slope), "wrong sign"),
        ((h, e, 1 / slope), "upside down"),
        (([0.3, 0.2], [1e-3, 5e-4], 1.7), "must divide"),
        ((h, e[:3], slope), "same length"),
        ((h, e, "two"), "a number"),
        (("h", e, slope), "list of numbers"),
    ]
    for args, diagnosis in cases:
        ok, out = verdict_of(capsys, ch01.check_order("midpoint", *args))
        assert not ok and diagnosis in out and "order 2" not in out and not leaks(out, slope), (args, out)


def test_order_names_a_slope_outside_the_asymptotic_regime(capsys):
    ivp = rk_analysis.exp_sin_ivp(10.0)
    h = [5.0, 2.5, 2.0]  # far too large for Euler's asymptotic regime
    e = rk_analysis.global_errors(ivp, "euler", h)
    ok, out = verdict_of(capsys, ch01.check_order("euler", h, e, gt.loglog_slope(h, e)))
    assert not ok and "measured right" in out


A3 = torch.tensor([[2.0, 1.0, 0.0], [1.0, 2.0, 1.0], [0.0, 1.0, 2.0]], dtype=f64)
STAR = 2 - math.sqrt(2)


@pytest.mark.parametrize("answer", [STAR, 2 / (2 + math.sqrt(2)), 0.5858, np.float64(STAR), torch.tensor(STAR),
                                    2 - sympy.sqrt(2), [0.58579]])  # fmt: skip
def test_threshold_accepts_the_exact_and_the_rounded_value(answer, capsys):
    assert verdict_of(capsys, ch01.check_step_threshold(A3, answer))[0]


@pytest.mark.parametrize(
    "answer, diagnosis",
    [(1 / (2 + math.sqrt(2)), "factor 2 is missing"), ((2 + math.sqrt(2)) / 2, "upside down"),
     (2 / (2 - math.sqrt(2)), "another eigenvalue"), (1.0, "another eigenvalue"), (0.5, "matrix norm"),
     (0.7, "too large"), (0.3, "too small"), (0.586, "too large"), ("big", "a number"), (None, "a number")],
)  # fmt: skip
def test_threshold_diagnoses_slips_without_the_answer(answer, diagnosis, capsys):
    ok, out = verdict_of(capsys, ch01.check_step_threshold(A3, answer))
    assert not ok and diagnosis in out and not leaks(out, STAR) and not leaks(out, 2 + math.sqrt(2)), out


@pytest.mark.parametrize("answer", [0.99 * STAR, 0.96 * STAR, 0.58, np.float32(0.58), torch.tensor(0.99 * STAR)])
def test_stable_step_accepts_steps_just_below_the_threshold(answer, capsys):
    assert verdict_of(capsys, ch01.check_stable_step(A3, answer))[0]


@pytest.mark.parametrize(
    "answer, diagnosis",
    [(STAR, "on the boundary"), (0.5858, "rounded up"), (1.01 * STAR, "diverges"), (0.94 * STAR, "within 5%"),
     (0.0, "positive"), (-0.1, "positive"), (float("nan"), "finite"), ("big", "a number"), (True, "a number")],
)  # fmt: skip
def test_stable_step_rejects_the_boundary_and_diagnoses_slips(answer, diagnosis, capsys):
    ok, out = verdict_of(capsys, ch01.check_stable_step(A3, answer))
    assert not ok and diagnosis in out and not leaks(out, STAR) and not leaks(out, 2 + math.sqrt(2)), out


def test_stable_step_growth_factor_is_true():
    # the checker's claim "converges" is checked against gradient descent itself
    for eta, converges in [(0.99 * STAR, True), (1.001 * STAR, False)]:
        run = gt.gradient_descent(lambda th: 0.5 * th @ A3 @ th, torch.tensor([1.0, 1.0, 1.0], dtype=f64), eta, 3000)
        assert (float(run.thetas[-1].norm()) < 1e-3) == converges


PER_GRADIENT = {m: gt.METHODS[m].stability_limit / n for m, n in {"euler": 1, "heun": 2, "rk4": 4, "dopri5": 6}.items()}


def test_time_per_gradient_accepts_exact_and_rounded_values(capsys):
    rounded = {"Euler": 2, "Heun": 1.0, "RK4": 0.6963, "DOPRI5": np.float64(0.5511)}
    for answer in (PER_GRADIENT, rounded, {k: torch.tensor(v) for k, v in PER_GRADIENT.items()}):
        ok, out = verdict_of(capsys, ch01.check_time_per_gradient(answer, "euler"))
        assert ok, out


@pytest.mark.parametrize(
    "change, fewest, diagnosis",
    [({"dopri5": gt.METHODS["dopri5"].stability_limit / 7}, "euler", "reused"),
     ({"heun": 2.0}, "euler", "divide the limit"), ({"rk4": 4 / gt.METHODS["rk4"].stability_limit}, "euler", "upside"),
     ({"rk4": 0.9}, "euler", "not its limit"), ({}, "rk4", "most flow time"), ({"heun": None}, "euler", "a number")],
)  # fmt: skip
def test_time_per_gradient_diagnoses_slips(change, fewest, diagnosis, capsys):
    ok, out = verdict_of(capsys, ch01.check_time_per_gradient({**PER_GRADIENT, **change}, fewest))
    assert not ok and diagnosis in out and not any(leaks(out, v) for v in PER_GRADIENT.values() if v < 1), out
    ok, out = verdict_of(capsys, ch01.check_time_per_gradient([2, 1, 0.7, 0.55], "euler"))
    assert not ok and "dict" in out


# -- issue 15: bounded work on junk answers, named errors for junk problem parameters -----------------------


@pytest.mark.parametrize(
    "steps, errors, diagnosis",
    [
        ([2e-5, 1e-5], [1e-3, 2e-3], "too many for the checker to rerun"),  # audit 74: 179 s before
        ([1e-7, 2e-7], [1e-3, 2e-3], "too many for the checker to rerun"),
        ([2.0**-k for k in range(1, 14)], [1e-3] * 13, "at most 12 steps"),  # 13 points: millions of subsets
    ],
)
def test_order_bounds_the_work_it_does_on_a_student_answer(steps, errors, diagnosis, capsys):
    start = time.perf_counter()
    ok, out = verdict_of(capsys, ch01.check_order("rk4", steps, errors, 4))
    assert not ok and diagnosis in out and time.perf_counter() - start < 2.0, out


def test_order_survives_a_flat_subset_of_the_errors(capsys):
    ivp, h = rk_analysis.exp_sin_ivp(10.0), [0.1, 0.05, 0.025]
    e = [*rk_analysis.global_errors(ivp, "rk4", h[:2]), 0.0]
    e[2] = e[0]  # the subset {0.1, 0.025} has slope 0: its upside-down slip 1/0 is skipped, not raised
    ok, out = verdict_of(capsys, ch01.check_order("rk4", h, e, 3.7))
    assert not ok and "not a slope of your data" in out


@pytest.mark.parametrize(
    "call, error, name",
    [
        (lambda: ch01.check_step_threshold(None, 0.5), TypeError, "A"),  # audit 75
        (lambda: ch01.check_step_threshold("A3", 0.5), TypeError, "A"),
        (lambda: ch01.check_step_threshold([[1.0, float("nan")], [0.0, 1.0]], 0.5), ValueError, "A"),
        (lambda: ch01.check_stable_step(None, 0.49), TypeError, "A"),
        (lambda: ch01.check_stable_step(A3, 0.49, within="5%"), TypeError, "within"),  # audit 76
        (lambda: ch01.check_stable_step(A3, 0.01, within=1.5), ValueError, "within"),  # audit 77: a silent ✓
        (lambda: ch01.check_stable_step(A3, 0.01, within=0), ValueError, "within"),
        (lambda: ch01.check_stable_step(A3, 0.01, within=True), TypeError, "within"),
    ],
)
def test_junk_problem_parameters_are_named_errors(call, error, name):
    with pytest.raises(error, match=rf"^{name} must"):
        call()


def test_threshold_and_stable_step_read_every_form_of_the_matrix(capsys):
    for A in (A3.numpy(), A3.tolist(), A3.float()):
        assert ch01.check_step_threshold(A, STAR) and ch01.check_stable_step(A, 0.99 * STAR)
        assert ch01.check_stable_step(A, 0.9 * STAR, within=np.float32(0.2))
    singular = torch.diag(torch.tensor([0.0, 4.0], dtype=f64))  # a zero eigenvalue: its slip 2/0 is skipped
    assert ch01.check_step_threshold(singular, 0.5) and not ch01.check_step_threshold(singular, 0.3)
