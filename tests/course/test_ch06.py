"""Chapter 6's presentation layer: readable figures that plot the data they are given, tables that show the
paper's headline number, an explorer within the frame budget, and checkers that accept every right form,
diagnose every known slip without giving the answer away, and survive junk."""

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
from gfteach import data, nets, paper  # noqa: E402
from gfteach.course import ch06  # noqa: E402
from gfteach.course.explorers import MAX_FRAMES  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def labelled(ax):
    return {line.get_label(): line for line in ax.get_lines()}


# -- fixtures: the chapter's computation, on tiny problems --------------------------------------------------


def _results(name, size, n, plan):
    X, y = data.digits_subset(n, size=size)
    model = nets.paper_network(name, size=size)
    obj = gt.Objective(model, X, y, "cross_entropy")
    theta0, mask = obj.theta0(), nets.weight_mask(model)
    with gt.threads(1):
        run = {r: gt.gradient_descent(obj, theta0, plan.eta0 / r, r * plan.steps, r * plan.record_every)
               for r in (1, *plan.ratios)}  # fmt: skip
    base = run[1]
    return (
        obj,
        run,
        {
            "eta0": base.step,
            "iterations": base.iterations,
            "losses": {r: run[r].iterate_losses[::r] for r in run},
            "travelled": paper.weight_distance(base, theta0, mask),
            "distances": {r: paper.weight_distance(base, run[r], mask) for r in run if r > 1},
            "loss_gap": max(float(paper.loss_gap(base, run[r]).max()) for r in run if r > 1),
            "sharpness": 71.75,
        },
    )


@pytest.fixture(scope="module")
def chapter():
    """fc_linear on 32 8×8 digits with its flow, curvature and bound; conv_off_the_shelf at 16×16, 3 steps."""
    obj, run, linear = _results("fc_linear", 8, 32, paper.RunPlan(0.005, 20, (2, 4), 5))
    _, _, conv = _results("conv_off_the_shelf", 16, 12, paper.RunPlan(0.005, 3, (2,), 1))
    with gt.threads(1):
        flow = gt.gradient_flow(obj, run[1].thetas[0], run[1].times, rtol=1e-10, atol=1e-12)
        curvature = gt.curvature_along(obj, flow, tol=1e-6)
        bound = gt.approximation_bound(obj, run[1], flow, curvature=curvature, every=4)
        hg = torch.stack([obj.hvp(t, obj.grad(t)).norm() for t in run[1].thetas])
    return {"obj": obj, "run": run, "flow": flow, "curvature": curvature, "bound": bound, "hg": hg,
            "results": {"fc_linear": linear, "conv_off_the_shelf": conv}}  # fmt: skip


# -- tables -------------------------------------------------------------------------------------------------


def test_plans_table_lists_every_network_and_the_total_cost():
    setting = paper.get_setting("default")
    md = ch06.plans_table(setting)._repr_markdown_()
    rows = [[c.strip() for c in line.split("|")[1:-1]] for line in md.splitlines()[2:]]
    assert [r[0] for r in rows] == [ch06.NETWORK_LABELS[n] for n in setting.plans] + ["all four"]
    assert [int(r[-1]) for r in rows] == [p.n_grad for p in setting.plans.values()] + [setting.n_grad]


def test_results_table_shows_the_relative_distance_the_paper_reports(chapter):
    results = chapter["results"]
    md = ch06.results_table(results)._repr_markdown_()
    header = [c.strip() for c in md.splitlines()[0].split("|")[1:-1]]
    assert header[-1] == "relative (%)" and "loss gap (%)" in header
    for line, res in zip(md.splitlines()[2:], results.values()):
        cells = [c.strip() for c in line.split("|")[1:-1]]
        r = max(res["distances"])
        expected = 100 * float(res["distances"][r][-1] / res["travelled"][-1])
        assert float(cells[-1]) == pytest.approx(expected, rel=5e-4)  # 4 significant digits
        assert cells[6] == f"η₀/{r}"


# -- figures ------------------------------------------------------------------------------------------------


def test_reproduction_figure_is_readable_and_plots_the_runs(chapter):
    results = chapter["results"]
    fig = ch06.reproduction_figure(results)
    assert_readable(fig)
    assert len(fig.axes) == 2 * len(results)
    for row, res in enumerate(results.values()):
        loss_ax, dist_ax = fig.axes[2 * row], fig.axes[2 * row + 1]
        assert np.allclose(labelled(loss_ax)["GD, $\\eta_0$"].get_ydata(), res["losses"][1].numpy())
        lines = labelled(dist_ax)
        assert np.allclose(lines[r"travelled, $\|\theta_{\eta_0}(k) - \theta_0\|$"].get_ydata(), res["travelled"][1:])
        for r, d in res["distances"].items():
            assert np.allclose(lines[f"to GD with $\\eta_0/{r}$"].get_ydata(), d[1:].numpy())
        assert dist_ax.get_yscale() == "log"


@pytest.mark.parametrize("view", ["distances", "relative", "rescaled"])
def test_explorer_frames_show_the_view_asked_for(chapter, view):
    res = chapter["results"]["fc_linear"]
    fig = ch06.explorer_figure(chapter["results"], "fc_linear", view)
    assert_readable(fig)
    lines = labelled(fig.axes[0])
    for r, d in res["distances"].items():
        y = d[1:].numpy()
        expected = {"distances": y, "relative": 100 * y / res["travelled"][1:].numpy(), "rescaled": y / (1 - 1 / r)}
        assert np.allclose(lines[f"to GD with $\\eta_0/{r}$"].get_ydata(), expected[view])
    with pytest.raises(ValueError, match="view must be one of"):
        ch06.explorer_figure(chapter["results"], "fc_linear", "sideways")
    with pytest.raises(ValueError, match="network must be one of"):
        ch06.explorer_figure(chapter["results"], "resnet", view)


def test_distance_explorer_stays_within_the_frame_budget_and_draws(chapter):
    ex = ch06.distance_explorer(chapter["results"])
    assert math.prod(len(c.values) for c in ex.controls) <= MAX_FRAMES
    assert [c.name for c in ex.controls] == ["network", "view"]
    assert ex.values(ex.initial) == {"network": "fc_linear", "view": "rescaled"}
    assert ex.png((1, 0))[:8] == b"\x89PNG\r\n\x1a\n"


def test_flow_figure_plots_the_distances_and_a_slope_one_line(chapter):
    run, flow = chapter["run"], chapter["flow"]
    to_flow = {r: gt.distance(run[r], flow) for r in run}
    etas = [run[r].step for r in run]
    fig = ch06.flow_figure(run[1].times, to_flow, etas)
    assert_readable(fig)
    left, right = fig.axes
    for r, d in to_flow.items():
        label = "GD, $\\eta_0$" if r == 1 else f"GD, $\\eta_0/{r}$"
        assert np.allclose(labelled(left)[label].get_ydata(), d[1:].numpy())
    measured = labelled(right)["measured at the last time"]
    assert np.allclose(measured.get_xdata(), etas) and np.allclose(
        measured.get_ydata(), [d[-1] for d in to_flow.values()]
    )
    guide = labelled(right)["slope 1 (Euler's order)"]
    assert gt.loglog_slope(guide.get_xdata(), guide.get_ydata()) == pytest.approx(1.0)


def test_curvature_figure_plots_both_eigenvalues_and_both_integrals(chapter):
    cu = chapter["curvature"]
    coarse_t = cu.times[::2]
    coarse = gt.cumulative_trapezoid(coarse_t, cu.lambda_min[::2].clamp(max=0))
    fig = ch06.curvature_figure(cu, coarse_t, coarse, 0.005)
    assert_readable(fig)
    lines = {k: v for ax in fig.axes for k, v in labelled(ax).items()}
    assert np.allclose(lines["$\\lambda_{\\max}$"].get_ydata(), cu.lambda_max.numpy())
    assert np.allclose(lines["$\\lambda_{\\min}$"].get_ydata(), cu.lambda_min.numpy())
    assert np.allclose(lines["$2/\\eta_0$"].get_ydata(), 400.0)
    dense = next(v for k, v in lines.items() if k.startswith("trapezoid rule on all"))
    assert np.allclose(dense.get_ydata(), cu.negative_integral.numpy())
    assert np.allclose(lines[f"on {len(coarse)} evenly spaced samples"].get_ydata(), coarse.numpy())


def test_bound_figure_plots_bound_truth_and_the_local_errors(chapter):
    bound, hg = chapter["bound"], chapter["hg"]
    bg = bound.beta * bound.gamma
    fig = ch06.bound_figure(bound, hg, bg)
    assert_readable(fig)
    left, right = fig.axes
    assert np.allclose(labelled(left)["measured distance"].get_ydata(), bound.distance[1:].numpy())
    assert np.allclose(labelled(left)["bound, summed"].get_ydata(), bound.bound[1:].numpy())
    assert np.allclose(labelled(left)["bound, closed form"].get_ydata(), bound.closed_form[1:].numpy())
    ratio = next(v for k, v in labelled(right).items() if "beta\\gamma)$" in k and k.startswith("$\\|"))
    assert np.allclose(ratio.get_ydata(), hg.numpy() / bg)


def test_init_figure_plots_curvature_against_the_loss_reached(chapter):
    flow, cu = chapter["flow"], chapter["curvature"]
    fig = ch06.init_figure({"a": flow}, {"a": cu})
    assert_readable(fig)
    left, right = fig.axes
    line = labelled(left)["a"]
    assert np.allclose(line.get_xdata(), flow.losses.numpy()) and np.allclose(line.get_ydata(), cu.lambda_min)
    assert np.allclose(labelled(right)["a"].get_ydata(), cu.negative_integral.numpy())
    assert left.xaxis_inverted()


# -- checkers -----------------------------------------------------------------------------------------------

JUNK = ["x", None, float("nan"), float("inf"), True, [1.0, 2.0], {}, object(), np.array([]), sympy.Symbol("x")]


def verdict_of(check, answer, capsys, *args):
    ok = check(answer, *args)
    out = capsys.readouterr().out
    assert out.startswith("✓" if ok else "✗"), out
    return bool(ok), out


@pytest.mark.parametrize("answer", [3.307 / 6, 0.5511, 0.551, np.float64(0.55114), torch.tensor(0.5511),
                                    [0.5511], np.array([0.5511]), sympy.Rational(3307, 6000),
                                    gt.get_method("dopri5").stability_limit / 6])  # fmt: skip
def test_check_break_even_accepts_every_right_form(answer, capsys):
    assert verdict_of(ch06.check_break_even, answer, capsys)[0]


@pytest.mark.parametrize(
    ("answer", "diagnosis"),
    [
        (3.307, "stability limit itself"),
        (3.307 / 7, "FSAL"),
        (2.0, "GD's own stability limit"),
        (6 / 3.307, "upside down"),
        (20 * 3.307 / 6, "factor 1/20"),
        (3.307 / 120, "both sides"),
        (0.55, "three significant digits"),
        (0.3, "too small"),
        (5.0, "too large"),
        (-0.5, "positive"),
    ],
)
def test_check_break_even_diagnoses_each_slip_without_the_answer(answer, diagnosis, capsys):
    ok, out = verdict_of(ch06.check_break_even, answer, capsys)
    assert not ok and diagnosis in out
    assert not re.search(r"0\.55\d", out)


@pytest.mark.parametrize("junk", JUNK)
def test_check_break_even_survives_junk(junk, capsys):
    ok, out = verdict_of(ch06.check_break_even, junk, capsys)
    assert not ok


def test_check_richardson_accepts_right_forms_and_diagnoses_slips(chapter, capsys):
    run, flow = chapter["run"], chapter["flow"]
    truth = float(gt.distance(run[1], flow)[-1])
    half = float(gt.distance(run[1], run[2])[-1])
    quarter = float(gt.distance(run[1], run[4])[-1])
    for right in (2 * half, np.float64(2 * half), torch.tensor(2 * half), [2 * half], truth, float(f"{2 * half:.4g}")):
        assert verdict_of(ch06.check_richardson, right, capsys, run, flow)[0]
    for slip, diagnosis in [
        (half, "distance to GD with eta0/2 itself"),
        (half / 2, "divided where"),
        (quarter, "smaller step"),
        (0.7 * truth, "too small"),
        (1.5 * truth, "too large"),
        (-truth, "positive"),
        (0.0, "positive"),
    ]:
        ok, out = verdict_of(ch06.check_richardson, slip, capsys, run, flow)
        assert not ok and diagnosis in out, (slip, out)
        assert f"{truth:.3g}" not in out and f"{2 * half:.3g}" not in out
    for junk in JUNK:
        assert not verdict_of(ch06.check_richardson, junk, capsys, run, flow)[0]


@pytest.fixture(scope="module")
def large(chapter):
    obj = chapter["obj"]
    theta0 = chapter["run"][1].thetas[0]
    return obj, theta0, ch06.large_step_distances(obj, theta0)


def test_check_large_steps_accepts_right_forms(large, capsys):
    obj, theta0, ref = large
    end = ref["end"]
    forms = [
        dict(zip(ch06.LARGE_STEPS, end)),
        list(end),
        np.array(end),
        torch.tensor(end),
        {np.float64(s): np.float64(v) for s, v in zip(ch06.LARGE_STEPS, end)},
        {s: float(f"{v:.3g}") for s, v in zip(ch06.LARGE_STEPS, end)},
    ]
    for right in forms:
        assert verdict_of(ch06.check_large_steps, right, capsys, obj, theta0)[0]


def test_check_large_steps_diagnoses_slips_without_the_answer(large, capsys):
    obj, theta0, ref = large
    end = np.array(ref["end"])
    cases = [
        (ref["max"], "largest value over the run"),
        (ref["absolute"], "divide by the distance"),
        (ref["misaligned"], "same time"),
        (100 * end, "a fraction"),
        (np.where(np.arange(4) == 2, 2 * end, end), "eta0 = 0.02 are off"),
    ]
    for slip, diagnosis in cases:
        ok, out = verdict_of(ch06.check_large_steps, list(slip), capsys, obj, theta0)
        assert not ok and diagnosis in out, out
        assert not any(f"{v:.3g}" in out for v in end)


@pytest.mark.parametrize(
    "junk",
    [*JUNK, [0.1, 0.2, 0.3], {0.005: 0.1, 0.01: 0.1, 0.02: 0.1}, {0.005: 0.1, 0.01: 0.1, 0.02: 0.1, 0.04: 0.1},
     {0.005: "a", 0.01: 0.1, 0.02: 0.1, 0.03: 0.1}, [float("nan")] * 4],
)  # fmt: skip
def test_check_large_steps_survives_junk(large, junk, capsys):
    obj, theta0, _ = large
    assert not verdict_of(ch06.check_large_steps, junk, capsys, obj, theta0)[0]


# -- issue 15: junk problem parameters are named errors -------------------------------------------------------


@pytest.fixture(scope="module")
def small_runs():
    quad = gt.as_objective(lambda th: 0.5 * (th**2 * torch.tensor([1.0, 3.0], dtype=torch.float64)).sum())
    start = torch.tensor([1.0, 1.0], dtype=torch.float64)
    runs = {1: gt.gradient_descent(quad, start, 0.1, 20), 2: gt.gradient_descent(quad, start, 0.05, 40, record_every=2)}
    return quad, start, runs, gt.gradient_flow(quad, start, gt.gd_time_grid(0.1, 20))


@pytest.mark.parametrize(
    "args, error, name",
    [
        (lambda q, s, runs, flow: (0.01, {}, flow), ValueError, "runs"),  # audit 93: KeyError 1
        (lambda q, s, runs, flow: (0.01, None, flow), TypeError, "runs"),
        (lambda q, s, runs, flow: (0.01, {1: runs[1], 2: "run"}, flow), TypeError, "runs"),
        (lambda q, s, runs, flow: (0.01, runs, None), TypeError, "flow"),  # audit 94: named b
    ],
)
def test_richardson_names_junk_problem_parameters(small_runs, args, error, name):
    with pytest.raises(error, match=rf"^{name} must"):
        ch06.check_richardson(*args(*small_runs))


def test_richardson_still_accepts_the_right_estimate(small_runs, capsys):
    _, _, runs, flow = small_runs
    assert verdict_of(ch06.check_richardson, 2 * float(gt.distance(runs[1], runs[2])[-1]), capsys, runs, flow)[0]


def test_large_steps_names_junk_problem_parameters(small_runs):
    quad, start, _, _ = small_runs
    with pytest.raises(TypeError, match="objective"):  # audit 95: "cannot create weak reference"
        ch06.check_large_steps([0.1] * 4, None, start)
    for junk, error in [(None, TypeError), ([1.0, 1.0], TypeError), (torch.tensor([1.0, float("nan")]), ValueError)]:
        with pytest.raises(error, match="^theta0 must"):  # audit 96: AttributeError on None
            ch06.check_large_steps([0.1] * 4, quad, junk)
