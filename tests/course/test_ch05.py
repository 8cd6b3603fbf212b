"""Chapter 5's presentation layer: readable figures of the data they are given, an explorer within its frame
budget whose titles tell the truth, and checkers that accept every right form (every allowed step, not only
the largest), reject every wrong one at the exact boundary, diagnose slips without the answer, and answer
junk with a message."""

import math

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import sympy  # noqa: E402
import torch  # noqa: E402
from readability import assert_readable  # noqa: E402

import gfteach as gt  # noqa: E402
from gfteach.course import ch05  # noqa: E402
from gfteach.course.explorers import MAX_FRAMES  # noqa: E402
from gfteach.curvature import CurvatureAlong  # noqa: E402
from gfteach.linear import balanced_init, net_dims, theta_from_layers, whitened_objective  # noqa: E402

f64 = torch.float64
PHI = torch.tensor([[0.42, -0.03, 0.67]], dtype=f64)


@pytest.fixture(autouse=True)
def _close_figures_one_thread():
    with gt.threads(1):
        yield
    plt.close("all")


def lines_by_label(ax):
    return {line.get_label(): line for line in ax.get_lines()}


def synthetic_curvature(times, lam_min, lam_max=None):
    times, lam_min = torch.as_tensor(times, dtype=f64), torch.as_tensor(lam_min, dtype=f64)
    lam_max = torch.ones_like(lam_min) if lam_max is None else torch.as_tensor(lam_max, dtype=f64)
    return CurvatureAlong(times, lam_min, lam_max, gt.cumulative_trapezoid(times, lam_min.clamp(max=0)), 0)


# -- figures ------------------------------------------------------------------------------------------


def test_curvature_figure_plots_lambda_min_and_its_integral_per_depth():
    t = torch.arange(4, dtype=f64)
    curvatures = {2: synthetic_curvature(t, [-0.8, -0.2, 0.0, 0.0]), 3: synthetic_curvature(t, [-0.4, -0.4, 0.1, 0])}
    fig = ch05.curvature_figure(curvatures)
    assert_readable(fig)
    left, right = fig.axes
    assert np.allclose(lines_by_label(left)["depth 3"].get_ydata(), [-0.4, -0.4, 0.1, 0])
    assert np.allclose(lines_by_label(right)["depth 2"].get_ydata(), curvatures[2].negative_integral)


@pytest.fixture(scope="module")
def tracked():
    dims = net_dims(2, 3, 3, 1)
    obj = whitened_objective(PHI, dims)
    theta0 = theta_from_layers(balanced_init(dims, 0.05, torch.Generator().manual_seed(0)))
    eta, steps = 0.05, 40
    gd = gt.gradient_descent(obj, theta0, eta, steps, record_every=4)
    gf = gt.gradient_flow(obj, theta0, gt.gd_time_grid(eta, steps, 4), rtol=1e-10, atol=1e-12)
    return gd, gf, gt.approximation_bound(obj, gd, gf)


def test_bound_figure_plots_the_distance_the_bound_and_both_losses(tracked):
    gd, gf, bound = tracked
    fig = ch05.bound_figure(bound, 0.1, gd, gf)
    assert_readable(fig)
    left, right = fig.axes
    lines = lines_by_label(left)
    assert np.allclose(lines["measured distance"].get_ydata(), bound.distance[1:])
    assert np.allclose(lines["bound (sum)"].get_ydata(), bound.bound[1:])
    assert np.allclose(lines["bound (closed form)"].get_ydata(), bound.closed_form[1:])
    assert lines[r"target $\varepsilon = 0.1$"].get_ydata()[0] == 0.1
    losses = lines_by_label(right)
    assert np.allclose(losses["gradient flow"].get_ydata(), gf.losses)
    assert np.allclose(losses["gradient descent"].get_ydata(), gd.losses)
    assert f"{gd.step:.4g}" in fig.get_suptitle()


def test_descent_explorer_fits_the_budget_and_its_frames_tell_the_truth():
    ex = ch05.descent_explorer(PHI)
    assert math.prod(len(c.values) for c in ex.controls) <= MAX_FRAMES
    fig = ch05.descent_figure(PHI, 2, 0.05, 0.5)
    assert_readable(fig)
    gd, gf = ch05.descent_runs(PHI, 2, 0.05, 0.5)
    assert "GF converges, GD converges" in fig.axes[0].get_title()
    lines = lines_by_label(fig.axes[0])
    assert np.allclose(lines["GD–GF distance"].get_ydata(), np.maximum(gt.distance(gd, gf).numpy(), 1e-17))
    # depth 2 at a balanced minimum: lambda_max = 2 ||Phi||, so eta = 1.5 > 2 / lambda_max cannot converge
    assert 1.5 > 2 / (2 * float(PHI.norm()))
    assert "GD converges" not in ch05.descent_figure(PHI, 2, 0.05, 1.5).axes[0].get_title()


def test_descent_runs_share_one_flow_and_start():
    gd1, gf1 = ch05.descent_runs(PHI, 3, 0.05, 0.5)
    gd2, gf2 = ch05.descent_runs(PHI, 3, 0.05, 1.0)
    assert gf1 is gf2 and torch.equal(gd1.thetas[0], gd2.thetas[0]) and torch.equal(gd1.thetas[0], gf1.thetas[0])
    assert float(gd1.times[-1]) == pytest.approx(ch05.HORIZON)


# -- check_theorem_step -------------------------------------------------------------------------------

PROBLEM = dict(eps=0.05, beta=2, gamma=0.4, T=10, integral=-2.5)
LARGEST = 2 * 0.05 * math.exp(-2.5) / (2 * 0.4 * 10)


@pytest.mark.parametrize(
    "answer",
    [
        LARGEST,
        0.1 * math.exp(-2.5) / 8,
        0.001026,
        1e-3,
        1e-10,
        LARGEST / 2,
        np.float64(LARGEST),
        np.float32(LARGEST),
        torch.tensor(LARGEST),
        torch.tensor([LARGEST]),
        torch.tensor(LARGEST, dtype=torch.float32),
        np.array(LARGEST),
        np.array([LARGEST]),
        sympy.Rational(1, 1000),
        2 * sympy.Rational(5, 100) * sympy.exp(sympy.Rational(-5, 2)) / 8,
        [1e-4],
    ],  # fmt: skip
)
def test_theorem_step_accepts_every_allowed_step(answer, capsys):
    assert ch05.check_theorem_step(answer, **PROBLEM)
    assert capsys.readouterr().out.startswith("✓")


def test_theorem_step_boundary_is_exact(capsys):
    assert ch05.check_theorem_step(LARGEST, **PROBLEM)  # the bound equals eps there: allowed
    assert not ch05.check_theorem_step(LARGEST * (1 + 1e-5), **PROBLEM)  # 0.0010261 > largest: not allowed
    assert not ch05.check_theorem_step(0.0010261, **PROBLEM)
    out = capsys.readouterr().out
    assert out.count("round down") == 2


@pytest.mark.parametrize(
    "value, diagnosis",
    [
        (2 * 0.05 * math.exp(2.5) / 8, "exp(-I)"),
        (2 * 0.05 / 8, "exp(I) is missing"),
        (2 * 0.05 * math.exp(-2.5) / 0.8, "horizon T"),
        (2 * 0.05 * math.exp(-2.5) / 4, "beta is missing"),
        (LARGEST * 1.019, "too large"),
        (0.5, "too large"),
    ],
)
def test_theorem_step_diagnoses_too_large_steps_without_the_answer(value, diagnosis, capsys):
    assert not ch05.check_theorem_step(value, **PROBLEM)
    out = capsys.readouterr().out
    assert out.startswith("✗") and diagnosis in out, out
    assert f"{LARGEST:.4g}" not in out and f"{LARGEST:.3g}" not in out


@pytest.mark.parametrize(
    "junk, message",
    [
        (float("nan"), "finite"),
        (float("inf"), "finite"),
        (0.0, "positive"),
        (-1e-3, "positive"),
        ("0.001", "number"),
        (None, "number"),
        (True, "number"),
        ([1e-3, 2e-3], "one number"),
        (sympy.Symbol("eta"), "symbols"),
    ],  # fmt: skip
)
def test_theorem_step_names_junk_as_junk(junk, message, capsys):
    assert not ch05.check_theorem_step(junk, **PROBLEM)
    out = capsys.readouterr().out
    assert out.startswith("✗") and message in out and "too small" not in out, out


# -- check_origin_curvature ---------------------------------------------------------------------------

NORM = float(PHI.norm())


@pytest.mark.parametrize(
    "answer",
    [
        [-NORM, 0.0, 0.0],
        (-NORM, 1e-17, -3e-18),
        np.array([-NORM, 0, 0]),
        torch.tensor([-NORM, 0.0, 0.0]),
        {2: -NORM, 3: 0.0, 4: 0.0},
        [round(-NORM, 4), 0, 0],
        [sympy.Float(-NORM), sympy.Integer(0), 0],
    ],  # fmt: skip
)
def test_origin_curvature_accepts_every_right_form(answer, capsys):
    assert ch05.check_origin_curvature(answer, PHI)
    assert capsys.readouterr().out.startswith("✓")


def test_origin_curvature_agrees_with_the_dense_hessian():
    lams = []
    for depth in (2, 3, 4):
        obj = whitened_objective(PHI, net_dims(depth, 3, 3, 1))
        lams.append(float(np.linalg.eigvalsh(obj.hessian(torch.zeros(obj.n_params, dtype=f64)).numpy())[0]))
    assert ch05.check_origin_curvature(lams, PHI)


@pytest.mark.parametrize(
    "answer, diagnosis",
    [
        ([NORM, 0, 0], "wrong sign"),
        ([-(NORM**2), 0, 0], "linear in Phi"),
        ([-NORM / 2, 0, 0], "factor 2"),
        ([-2 * NORM, 0, 0], "factor 2"),
        ([-NORM, -NORM, -NORM], "degree N >= 3"),
        ([0, 0, 0], "quadratic in the weights"),
        ([-0.5, 0, 0.1], "not lambda_min"),
    ],
)
def test_origin_curvature_diagnoses_slips_without_the_answer(answer, diagnosis, capsys):
    assert not ch05.check_origin_curvature(answer, PHI)
    out = capsys.readouterr().out
    assert out.startswith("✗") and diagnosis in out, out
    assert f"{NORM:.4g}" not in out


@pytest.mark.parametrize("junk", [None, "lams", [1.0, 2.0], [float("nan"), 0, 0], {2: -0.5}, 0.5, [None, 0, 0]])
def test_origin_curvature_answers_junk_with_a_message(junk, capsys):
    assert not ch05.check_origin_curvature(junk, PHI)
    assert capsys.readouterr().out.startswith("✗")


# -- check_horizon_steps ------------------------------------------------------------------------------

CURV = synthetic_curvature(torch.arange(31, dtype=f64), [-0.5 * math.exp(-t / 3) for t in range(31)])
BETA, GAMMA, HORIZONS = 2.2, 0.35, (5, 10, 20, 30)
I_T = [float(CURV.negative_integral[T]) for T in HORIZONS]
THEOREM = [2 * 0.1 * math.exp(i) / (BETA * GAMMA * T) for T, i in zip(HORIZONS, I_T)]
BLIND = [2 * 0.1 / (GAMMA * math.expm1(BETA * T)) for T in HORIZONS]


@pytest.mark.parametrize(
    "theorem, blind",
    [
        (THEOREM, BLIND),
        (np.array(THEOREM), np.array(BLIND)),
        (torch.tensor(THEOREM), torch.tensor(BLIND)),
        (tuple(THEOREM), [float(f"{b:.4g}") for b in BLIND]),
        ([float(f"{a:.4g}") for a in THEOREM], BLIND),
        (THEOREM, [2 * 0.1 / (GAMMA * math.exp(BETA * T)) for T in HORIZONS]),
    ],  # fmt: skip
)
def test_horizon_steps_accepts_every_right_form(theorem, blind, capsys):
    assert ch05.check_horizon_steps(theorem, blind, CURV, BETA, GAMMA)
    assert capsys.readouterr().out.startswith("✓")


@pytest.mark.parametrize(
    "theorem, blind, diagnosis",
    [
        (BLIND, THEOREM, "swapped"),
        ([2 * 0.1 * math.exp(I_T[-1]) / (BETA * GAMMA * T) for T in HORIZONS], BLIND, "at each horizon"),
        ([2 * 0.1 * math.exp(-i) / (BETA * GAMMA * T) for T, i in zip(HORIZONS, I_T)], BLIND, "not exp(-I)"),
        ([2 * 0.1 / (BETA * GAMMA * T) for T in HORIZONS], BLIND, "exp(I(T)) is missing"),
        ([t * 1.1 for t in THEOREM], BLIND, "solve (beta*gamma/2)"),
        (THEOREM, [2 * 0.1 / (GAMMA * BETA * T) for T in HORIZONS], "blind_steps"),
    ],
)
def test_horizon_steps_diagnoses_slips(theorem, blind, diagnosis, capsys):
    assert not ch05.check_horizon_steps(theorem, blind, CURV, BETA, GAMMA)
    out = capsys.readouterr().out
    assert out.startswith("✗") and diagnosis in out, out
    assert all(f"{v:.4g}" not in out for v in THEOREM + BLIND)


@pytest.mark.parametrize(
    "theorem, blind",
    [
        (THEOREM[:3], BLIND),
        (THEOREM, None),
        ("steps", BLIND),
        ([-t for t in THEOREM], BLIND),
        (THEOREM, [float("nan")] * 4),
    ],  # fmt: skip
)
def test_horizon_steps_answers_junk_with_a_message(theorem, blind, capsys):
    assert not ch05.check_horizon_steps(theorem, blind, CURV, BETA, GAMMA)
    assert capsys.readouterr().out.startswith("✗")


# -- issue 15: extreme instances give feedback, junk parameters are named errors, no answer is flattened ------


def test_theorem_step_gives_feedback_where_its_slips_overflow(capsys):
    # I = -710: the largest step 3e-311 is a float, exp(-I) is not (math.exp raised OverflowError)
    problem = dict(eps=0.1, beta=2.0, gamma=3.0, T=5.0, integral=-710.0)
    assert not ch05.check_theorem_step(0.001, **problem)
    assert "too large" in capsys.readouterr().out
    assert ch05.check_theorem_step(1e-312, **problem)


def test_theorem_step_without_a_float_answer_is_a_named_error():
    # audit 87: at I = -1000 the largest step (about 1e-436) is below the float range: no answer can pass
    with pytest.raises(ValueError, match="^integral = -1000 leaves no float step"):
        ch05.check_theorem_step(0.001, 0.1, 2.0, 3.0, 5.0, -1000.0)


@pytest.mark.parametrize(
    "call, error, name",
    [
        (lambda: ch05.check_theorem_step(1e-3, **{**PROBLEM, "integral": None}), TypeError, "integral"),
        (lambda: ch05.check_theorem_step(1e-3, **{**PROBLEM, "integral": 0.3}), ValueError, "integral"),
        (lambda: ch05.check_theorem_step(1e-3, **{**PROBLEM, "eps": "0.05"}), TypeError, "eps"),
        (lambda: ch05.check_theorem_step(1e-3, **{**PROBLEM, "T": 0}), ValueError, "T"),
        (lambda: ch05.check_origin_curvature([-NORM, 0, 0], None), TypeError, "Phi"),  # audit 90
        (lambda: ch05.check_origin_curvature([-NORM, 0, 0], PHI.tolist()), TypeError, "Phi"),  # audit 91
        (lambda: ch05.check_origin_curvature([-NORM, 0, 0], PHI.reshape(1, 1, 3)), ValueError, "Phi"),
        (lambda: ch05.check_horizon_steps(THEOREM, BLIND, None, BETA, GAMMA), TypeError, "curvature"),  # audit 92
        (lambda: ch05.check_horizon_steps(THEOREM, BLIND, CURV, None, GAMMA), TypeError, "beta"),
        (lambda: ch05.check_horizon_steps(THEOREM, BLIND, CURV, BETA, GAMMA, eps=-0.1), ValueError, "eps"),
    ],
)
def test_junk_problem_parameters_are_named_errors(call, error, name):
    with pytest.raises(error, match=rf"^{name} must"):
        call()


@pytest.mark.parametrize(
    "junk", [[[-NORM, 0.0, 0.0]], np.array([[-NORM], [0.0], [0.0]]), torch.tensor([[-NORM, 0, 0]])]
)
def test_origin_curvature_never_flattens_a_wrongly_shaped_answer(junk, capsys):
    assert not ch05.check_origin_curvature(junk, PHI)  # audit 88, 89: these were flattened and passed
    out = capsys.readouterr().out
    assert out.startswith("✗") and "shape" in out and "3 entries" in out, out
