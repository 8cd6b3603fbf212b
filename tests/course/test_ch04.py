"""Chapter 4's presentation layer: readable figures of the data they are given, an explorer within its frame
budget whose verdicts are true, and checkers that accept every right form, diagnose every known slip without
giving the answer away, and answer junk with a message instead of an exception."""

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
from gfteach.course import ch04  # noqa: E402
from gfteach.course.explorers import MAX_FRAMES  # noqa: E402
from gfteach.linear import balanced_init, end_to_end, layers_from_theta, theta_from_layers, whitened_objective  # noqa: E402
from gfteach.linear_flow import end_to_end_flow, polar, scalar_flow, start_at_angle  # noqa: E402

f64 = torch.float64
PHI = torch.tensor([0.4, -0.9, 0.6], dtype=f64)


@pytest.fixture(autouse=True)
def _close_figures_one_thread():
    with gt.threads(1):
        yield
    plt.close("all")


def lines_by_label(ax):
    return {line.get_label(): line for line in ax.get_lines()}


# -- figures ------------------------------------------------------------------------------------------


def test_balance_figure_plots_the_drifts_it_is_given():
    times = torch.linspace(0, 1, 5, dtype=f64)
    gf_drift = torch.tensor([0.0, 1e-11, 2e-11, 2e-11, 3e-11], dtype=f64)
    runs = {0.1: (times, torch.tensor([0, 0.01, 0.02, 0.03, 0.03], dtype=f64)), 0.05: (times[:3], torch.ones(3))}
    fig = ch04.balance_figure(times, gf_drift, runs)
    assert_readable(fig)
    left, right = fig.axes
    gf_line = lines_by_label(left)["gradient flow"]
    assert np.allclose(gf_line.get_xdata(), times) and np.allclose(gf_line.get_ydata()[1:], gf_drift[1:])
    assert gf_line.get_ydata()[0] > 0  # an exact 0 stays visible on the log axis
    gd = lines_by_label(right)
    assert set(gd) == {r"GD, $\eta = 0.1$", r"GD, $\eta = 0.05$"}
    assert np.allclose(gd[r"GD, $\eta = 0.1$"].get_ydata()[1:], [0.01, 0.02, 0.03, 0.03])


def test_depth_figure_plots_the_gap_and_one_loss_curve_per_depth():
    times = torch.linspace(0, 2, 3, dtype=f64)
    gap = torch.tensor([0.0, 1e-11, 3e-11], dtype=f64)
    curves = {1: torch.tensor([1.0, 0.1, 0.01]), 3: torch.tensor([1.0, 0.5, 0.2])}
    fig = ch04.depth_figure(times, gap, curves)
    assert_readable(fig)
    left, right = fig.axes
    assert np.allclose(lines_by_label(left)["largest entry gap"].get_ydata()[1:], gap[1:])
    lines = lines_by_label(right)
    assert np.allclose(lines["depth 3"].get_ydata(), curves[3]) and "depth 1 (plain GF)" in lines


def test_polar_figure_plots_radius_and_angle_of_each_run():
    runs = {d: scalar_flow(PHI, d, start_at_angle(PHI, 120.0, 0.01), 1e3, rtol=1e-8) for d in (2, 3)}
    fig = ch04.polar_figure(runs, PHI, 120.0)
    assert_readable(fig)
    ax_rho, ax_angle = fig.axes
    for d, sol in runs.items():
        rho, angle = polar(sol.y, PHI)
        assert np.allclose(lines_by_label(ax_rho)[f"depth {d}"].get_ydata(), rho[1:])
        assert np.allclose(lines_by_label(ax_angle)[f"depth {d}"].get_ydata(), angle[1:])
    assert lines_by_label(ax_rho)[r"$\|\Phi\|$"].get_ydata()[0] == pytest.approx(float(PHI.norm()))


def test_polar_explorer_fits_the_budget_and_its_titles_tell_the_truth():
    ex = ch04.polar_explorer(PHI)
    frames = math.prod(len(c.values) for c in ex.controls)
    assert frames <= MAX_FRAMES
    depth, angle = ex.controls
    fig = ch04.polar_explorer_figure(PHI, 3, 120.0)
    assert_readable(fig)
    assert "reached" in fig.get_suptitle()
    stuck = ch04.polar_explorer_figure(PHI, 4, 180.0)
    assert "not at" in stuck.get_suptitle()  # the exceptional ray: never reaches Phi
    assert ex.png((depth.values.index(3), angle.values.index(170)))[:8] == b"\x89PNG\r\n\x1a\n"


def test_time_to_target_is_the_first_recorded_time_near_phi():
    sol = scalar_flow(PHI, 2, start_at_angle(PHI, 30.0, 0.01), 1e3)
    t = ch04.time_to_target(sol, PHI)
    assert t == float(sol.t[-1])  # the run stops at the first such time
    assert ch04.time_to_target(scalar_flow(PHI, 3, start_at_angle(PHI, 180.0, 0.01), 10.0), PHI) == math.inf


# -- check_norm_gaps ----------------------------------------------------------------------------------

DIMS = [3, 4, 4, 2]


def right_gaps(theta):
    ls = layers_from_theta(theta, DIMS)
    return torch.stack([ls[j + 1].norm() ** 2 - ls[j].norm() ** 2 for j in range(len(ls) - 1)])


@pytest.mark.parametrize(
    "answer",
    [
        right_gaps,
        lambda th: [float(v) for v in right_gaps(th)],
        lambda th: right_gaps(th).numpy(),
        lambda th: tuple(right_gaps(th).tolist()),
        lambda th: -right_gaps(th),  # the negative is conserved too
        lambda th: (
            np.array([(w**2).sum().item() for w in layers_from_theta(th, DIMS)][1:])
            - np.array([(w**2).sum().item() for w in layers_from_theta(th, DIMS)][:-1])
        ),
    ],
)
def test_norm_gaps_accepts_every_right_form(answer, capsys):
    assert ch04.check_norm_gaps(answer, DIMS)
    assert capsys.readouterr().out.startswith("✓")


def _norms(th, f):
    return np.array([f(w) for w in layers_from_theta(th, DIMS)])


@pytest.mark.parametrize(
    "slip, diagnosis",
    [
        (lambda th: np.diff(_norms(th, lambda w: float(w.norm()))), "squared"),
        (lambda th: np.diff(_norms(th, lambda w: float(torch.linalg.matrix_norm(w, ord=2)) ** 2)), "spectral"),
        (
            lambda th: _norms(th, lambda w: float(w.norm()) ** 2)[1:] + _norms(th, lambda w: float(w.norm()) ** 2)[:-1],
            "difference",
        ),  # fmt: skip
        (lambda th: torch.zeros(2, dtype=f64), "not tr(D_j)"),
        (lambda th: right_gaps(th)[:1], "2 entries"),
        (lambda th: 1 / 0, "ZeroDivisionError"),
        (lambda th: None, "list of numbers"),
        (lambda th: [float("nan")] * 2, "finite"),
    ],
)
def test_norm_gaps_diagnoses_slips(slip, diagnosis, capsys):
    assert not ch04.check_norm_gaps(slip, DIMS)
    out = capsys.readouterr().out
    assert out.startswith("✗") and diagnosis in out, out


@pytest.mark.parametrize("junk", [None, "norm", 3.0, [1.0, 2.0], torch.ones(2)])
def test_norm_gaps_rejects_non_functions_with_a_message(junk, capsys):
    assert not ch04.check_norm_gaps(junk, DIMS)
    assert "function" in capsys.readouterr().out


# -- check_decay_exponent -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "answer",
    [
        5 / 3,
        1.667,
        1.662,
        np.float64(5 / 3),
        np.float32(5 / 3),
        torch.tensor(5 / 3),
        torch.tensor([5 / 3]),
        np.array(5 / 3),
        np.array([5 / 3]),
        sympy.Rational(5, 3),
        sympy.Integer(5) / 3,
        [5 / 3],
    ],  # fmt: skip
)
def test_decay_exponent_accepts_every_right_form(answer, capsys):
    assert ch04.check_decay_exponent(5, answer)
    assert capsys.readouterr().out.startswith("✓")


@pytest.mark.parametrize(
    "value, diagnosis",
    [
        (-5 / 3, "slope"),
        (1.6, "power p"),
        (0.6, "q = 1 - 2/N"),
        (1 / 1.6, "1/p"),
        (3.0, "solve"),
        (1.8, "solve"),
        (5 / 3 * 1.03, "solve"),
    ],  # fmt: skip
)
def test_decay_exponent_diagnoses_slips_without_the_answer(value, diagnosis, capsys):
    assert not ch04.check_decay_exponent(5, value)
    out = capsys.readouterr().out
    assert out.startswith("✗") and diagnosis in out, out
    shown = out.replace(f"{value:.4g}", "")  # the student's own number may be echoed, nothing else
    assert "1.667" not in shown and "5/3" not in shown and "N/(N-2)" not in shown


@pytest.mark.parametrize("junk", [None, "5/3", float("nan"), float("inf"), True, [1.0, 2.0], {}, sympy.Symbol("a")])
def test_decay_exponent_answers_junk_with_a_message(junk, capsys):
    assert not ch04.check_decay_exponent(5, junk)
    assert capsys.readouterr().out.startswith("✗")


def test_decay_exponent_needs_depth_three():
    assert not ch04.check_decay_exponent(2, 1.0)
    assert ch04.check_decay_exponent(3, 3.0) and ch04.check_decay_exponent(6, 1.5)


# -- check_width_products ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def width_problem():
    g = torch.Generator().manual_seed(7)
    Phi = torch.randn(2, 3, generator=g, dtype=f64)
    W_start = end_to_end(balanced_init([3, 4, 4, 2], 0.3, g))

    def product(widths, start=None, t=5.0):
        start = start or balanced_init(widths, generator=g, end_to_end_matrix=W_start)
        run = gt.gradient_flow(whitened_objective(Phi, widths), theta_from_layers(start), [0.0, t], rtol=1e-8)
        return end_to_end(layers_from_theta(run.thetas[-1], widths))

    return Phi, W_start, product


def test_width_products_accepts_the_two_flows(width_problem, capsys):
    Phi, W_start, product = width_problem
    right = [product([3, 4, 4, 2]), product([3, 6, 6, 2])]
    assert ch04.check_width_products(right, W_start, Phi)
    assert ch04.check_width_products(tuple(p.numpy() for p in right), W_start, Phi)
    ref = end_to_end_flow(W_start, lambda W: W - Phi, 3, [0.0, 5.0]).y[-1]
    assert ch04.check_width_products([ref, ref], W_start, Phi)  # the end-to-end ODE itself is right too
    assert capsys.readouterr().out.count("✓") == 3


def test_width_products_diagnoses_slips(width_problem, capsys):
    Phi, W_start, product = width_problem
    right = product([3, 4, 4, 2])
    unbalanced = [
        0.3 * torch.ones(4, 3, dtype=f64),
        0.3 * torch.ones(4, 4, dtype=f64),
        0.3 * torch.ones(2, 4, dtype=f64),
    ]
    cases = [
        ([W_start, W_start], "still W_start"),
        ([product([3, 4, 4, 2], t=2.0), product([3, 6, 6, 2], t=2.0)], "agree with each other"),
        ([right, product([3, 4, 4, 2], start=unbalanced)], "the second does not follow"),
        ([right], "two matrices"),
        ([right, right.T], "shape"),
        ([right, "W"], "matrix"),
        ("products", "two matrices"),
        ([right, torch.full((2, 3), float("nan"), dtype=f64)], "NaN"),
    ]
    for answer, diagnosis in cases:
        assert not ch04.check_width_products(answer, W_start, Phi)
        out = capsys.readouterr().out
        assert out.startswith("✗") and diagnosis in out, (diagnosis, out)


# -- issue 15: integer depths of every kind, junk parameters named, junk products never pass -----------------


@pytest.mark.parametrize("depth", [np.int64(4), np.int32(4), torch.tensor(4), 4])
def test_decay_exponent_reads_numpy_and_torch_integers(depth, capsys):
    assert ch04.check_decay_exponent(depth, 2.0)  # audit 84: np.int64(4) was told "only at depth N >= 3"
    assert capsys.readouterr().out.startswith("✓")


@pytest.mark.parametrize(
    "call, error, name",
    [
        (lambda: ch04.check_decay_exponent("3", 3.0), TypeError, "depth"),
        (lambda: ch04.check_decay_exponent(3.0, 3.0), TypeError, "depth"),
        (lambda: ch04.check_decay_exponent(True, 3.0), TypeError, "depth"),
        (lambda: ch04.check_norm_gaps(right_gaps, None), TypeError, "dims"),  # audit 82
        (lambda: ch04.check_norm_gaps(right_gaps, ["a", 2]), TypeError, r"dims\[0\]"),  # audit 83
        (lambda: ch04.check_norm_gaps(right_gaps, "3442"), TypeError, "dims"),
        (lambda: ch04.check_norm_gaps(right_gaps, [3, 0, 2]), ValueError, r"dims\[1\]"),
        (lambda: ch04.check_norm_gaps(right_gaps, [2]), ValueError, "dims"),
    ],
)
def test_junk_problem_parameters_are_named_errors(call, error, name):
    with pytest.raises(error, match=rf"^{name} must"):
        call()


def test_norm_gaps_reads_integer_widths_of_every_kind(capsys):
    assert ch04.check_norm_gaps(right_gaps, (3, np.int64(4), torch.tensor(4), 2))


def test_width_products_never_pass_complex_or_text_matrices(width_problem, capsys):
    Phi, W_start, _ = width_problem
    ref = end_to_end_flow(W_start, lambda W: W - Phi, 3, [0.0, 5.0]).y[-1]
    for junk, message in [
        (ref.to(torch.complex128) + 1j, "real number"),  # audit 85: the imaginary part was dropped
        (ref.numpy().astype(str), "should be a number"),  # audit 86: the strings were parsed
        (ref.bool(), "should be a number"),
        (ref.reshape(1, -1), "shape"),
    ]:
        assert not ch04.check_width_products([junk, ref], W_start, Phi)
        out = capsys.readouterr().out
        assert out.startswith("✗") and message in out, out
    assert ch04.check_width_products([ref.to(torch.complex128), ref.float()], W_start, Phi)  # zero imaginary part
    for name, args in (
        ("W_start", (None, Phi)),
        ("Phi", (W_start, Phi.tolist())),
        ("W_start", (W_start * np.nan, Phi)),
    ):
        with pytest.raises((TypeError, ValueError), match=f"^{name} must"):
            ch04.check_width_products([ref, ref], *args)
