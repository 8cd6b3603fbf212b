"""Tests of gfteach.experiment: the paper's experiment, the true flow next to it, figures and checkers.

The numerical tests use tiny problems (8×8 or 16×16 digits, a few dozen images) so they run in seconds.
"""

from dataclasses import replace

import matplotlib
import numpy as np
import pytest
import torch

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from gfteach import experiment as E  # noqa: E402
from gfteach import gradient_descent, gradient_flow  # noqa: E402
from gfteach.nets import weight_mask  # noqa: E402


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """These problems are tiny: one thread avoids oversubscription when the CPU is shared."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def tiny():
    """fc_linear on 32 digits of 8×8, and the paper's comparison with r = 2, 4, 8 (smooth: linear net)."""
    X, y = E.load_data("digits", 32, size=8)
    model = E.build_network("fc_linear", size=8)
    obj = E.make_objective(model, X, y)
    plan = E.RunPlan(eta0=0.01, steps=20, ratios=(2, 4, 8), record_every=5)
    comparison = E.compare_step_sizes(obj, obj.theta0(), plan, weight_mask(model), network="fc_linear")
    return X, y, model, obj, comparison


@pytest.fixture(scope="module")
def tight(tiny):
    """The true flow at the comparison's times, to a tight tolerance."""
    _, _, _, obj, c = tiny
    return gradient_flow(obj, c.theta0, c.times, rtol=1e-11, atol=1e-13)


@pytest.fixture(scope="module")
def study(tiny):
    _, _, _, obj, c = tiny
    return E.flow_study(obj, c, horizon_factor=2, curvature_points=3)


def test_descend_is_gradient_descent_bit_for_bit(tiny):
    _, _, _, obj, _ = tiny
    theta0 = obj.theta0()
    ours = E.descend(obj, theta0, 0.05, 7, record_every=3)
    theirs = gradient_descent(obj, theta0, 0.05, 7, record_every=3)
    assert ours.iterations.tolist() == theirs.iterations.tolist() == [0, 3, 6, 7]
    assert torch.equal(ours.thetas, theirs.thetas)
    assert torch.equal(ours.losses[ours.iterations], theirs.losses)
    assert ours.n_grad == 7 and len(ours.losses) == 8
    trajectory = E.as_trajectory(ours)
    assert trajectory.kind == "gd" and torch.allclose(trajectory.times, torch.tensor([0.0, 0.15, 0.3, 0.35]).double())


def test_descend_rejects_bad_input_and_reports_divergence(tiny):
    _, _, _, obj, _ = tiny
    theta0 = obj.theta0()
    with pytest.raises(ValueError):
        E.descend(obj, theta0, -1.0, 3)
    with pytest.raises(ValueError):
        E.descend(obj, theta0, 0.1, 3, record_every=0)
    with pytest.raises(FloatingPointError):
        E.descend(obj, theta0, 1e6, 30)


def test_comparison_matches_independent_runs(tiny):
    _, _, model, obj, c = tiny
    theta0 = obj.theta0()
    base = gradient_descent(obj, theta0, c.eta0, c.steps, record_every=5)
    half = gradient_descent(obj, theta0, c.eta0 / 2, 2 * c.steps, record_every=10)
    mask = weight_mask(model)
    assert torch.equal(c.iterations, base.iterations)
    assert torch.allclose(c.times, base.times)
    assert torch.allclose(c.travelled, (base.thetas[:, mask] - theta0[mask]).norm(dim=1))
    assert torch.allclose(c.distances[2], (base.thetas[:, mask] - half.thetas[:, mask]).norm(dim=1))
    assert torch.equal(c.losses[2][::5], half.losses)  # eta0/2 losses at every eta0-step
    assert c.n_grad == {1: 20, 2: 40, 4: 80, 8: 160}
    assert c.max_relative() < 0.05 and c.loss_gap() < 0.03


def test_distances_to_smaller_steps_are_one_minus_one_over_r_of_the_distance_to_the_flow(tiny, tight):
    _, _, _, _, c = tiny
    to_flow = float((c.finals[1] - tight.thetas[-1]).norm())
    for r in c.ratios:
        assert float(c.distances[r][-1]) / to_flow == pytest.approx(1 - 1 / r, rel=0.05)


def test_flow_study_slope_cost_bound_and_flow_accuracy(tiny, tight, study):
    _, _, _, obj, c = tiny
    assert abs(study.slope - 1) < 0.1
    assert np.all(np.diff(study.gaps) < 0)
    assert study.flow_error < 1e-3 * study.gaps.min()
    # the gaps are the distances to an independent, tighter flow
    assert study.gaps[0] == pytest.approx(float((c.finals[1] - tight.thetas[-1]).norm()), rel=1e-3)
    assert study.proxy_n_grad == 8 * 2 * c.steps and study.n_grad > 0
    assert study.cost_ratio == study.n_grad / study.proxy_n_grad
    assert study.horizon == pytest.approx(2 * c.steps * c.eta0)
    assert study.bound.holds and bool((study.bound.distance <= study.bound.bound).all())
    assert len(study.curvature.times) >= 3
    assert bool((study.curvature.lambda_min <= study.curvature.lambda_max).all())
    # a comparison without iterates cannot be studied
    with pytest.raises(ValueError):
        E.flow_study(obj, replace(c, iterates={}))


def test_fit_slope():
    x = np.array([1e-3, 1e-2, 1e-1])
    assert E.fit_slope(x, 3 * x**2) == pytest.approx(2.0)
    with pytest.raises(ValueError):
        E.fit_slope([1.0], [1.0])


def test_settings_full_is_the_papers_scale_and_default_is_small():
    full = E.get_setting("full")
    assert full.n == 1000 and full.size == 28 and full.seed == 1 and full.device == "auto"
    for name in E.NETWORKS:
        plan = full.plans[name]
        assert (plan.eta0, plan.steps, plan.ratios) == (1e-3, 10_000, (2, 5, 10, 20))
        assert plan.n_grad == 10_000 * 38
    default = E.get_setting("default")
    assert sum(p.n_grad for p in default.plans.values()) < 5000
    assert E.get_setting("default", source="mnist").source == "mnist"
    with pytest.raises(ValueError):
        E.get_setting("huge")


def test_full_setting_runs_at_a_tiny_size():
    """The ``full`` code path (device choice, progress bars, no kept iterates), shrunk so it cannot rot."""
    full = E.get_setting("full")
    plans = {name: replace(plan, steps=2, record_every=1) for name, plan in full.plans.items()}
    setting = E.get_setting(full, n=12, size=16, plans=plans)
    results = E.reproduce(setting)
    assert list(results) == list(E.NETWORKS)
    for c in results.values():
        assert c.ratios == (2, 5, 10, 20) and c.iterates == {}
        assert sum(c.n_grad.values()) == 2 * 38
        assert all(torch.isfinite(d).all() for d in c.distances.values())
        assert c.max_relative() < 0.05
    assert not results["conv_off_the_shelf"].mask.all()  # it has biases, excluded from distances


def test_pick_device():
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert E.pick_device("auto").type == expected
    assert E.pick_device("cpu").type == "cpu"


def test_load_data_and_the_mnist_switch(monkeypatch):
    X, y = E.load_data("digits", 10)
    assert X.shape == (10, 1, 28, 28) and y.shape == (10,)
    calls = {}

    def fake(indices, download, **kwargs):
        calls.update(indices=list(indices), download=download, **kwargs)
        return "mnist"

    monkeypatch.setattr(E, "mnist_subset", fake)
    assert E.load_data("mnist", 4) == "mnist"
    assert calls == {"indices": [0, 50, 100, 150], "download": True}
    with pytest.raises(ValueError):
        E.load_data("cifar")


def test_build_network_inits():
    xavier = E.build_network("fc_relu", size=8)
    near = E.build_network("fc_relu", size=8, init="near_zero", scale=1e-3)
    assert (
        float(next(near.parameters()).detach().abs().max())
        < 1e-2
        < float(next(xavier.parameters()).detach().abs().max())
    )
    same = E.build_network("fc_relu", size=8)
    assert all(torch.equal(a, b) for a, b in zip(xavier.parameters(), same.parameters()))
    with pytest.raises(ValueError):
        E.build_network("resnet")
    with pytest.raises(ValueError):
        E.build_network("fc_relu", init="orthogonal")


def test_compare_inits_near_zero_is_flatter():
    X, y = E.load_data("digits", 32, size=8)
    inits = E.compare_inits(X, y, scale=0.05, horizon=0.5, points=3)
    xavier, near = (inits.summary(label) for label in inits.labels)
    assert near["lambda_max"] < xavier["lambda_max"]
    assert near["loss_end"] < near["loss_start"] and xavier["loss_end"] < xavier["loss_start"]
    assert near["negative_integral"] <= 0 and xavier["negative_integral"] <= 0


def test_figures_and_explorer(tiny, study):
    _, _, _, obj, c = tiny
    results = {"fc_linear": c}
    for fig in (
        E.reproduction_figure(results),
        E.relative_distance_figure(results),
        E.flow_convergence_figure(study),
        E.curvature_figure(study),
        E.bound_figure(study),
        E.explorer_figure(results, "fc_linear", 4),
    ):
        assert isinstance(fig, plt.Figure) and fig.axes
        assert all(ax.get_xlabel() for ax in fig.axes if ax.get_visible())
    with pytest.raises(ValueError):
        E.explorer_figure(results, "fc_linear", 3)
    pytest.importorskip("ipywidgets")
    box = E.experiment_explorer(results)
    controls, out = box.children
    controls.children[1].value = 2  # redraw on change
    assert len(out.outputs) == 1
    assert "fc_linear" in E.format_results(results).replace("fully connected, linear", "fc_linear")
    assert "gradients" in E.format_plans(E.get_setting("default"))


def test_check_break_even(capsys):
    assert E.check_break_even(3.307 / 6)
    assert not E.check_break_even(3.307)
    assert "6 gradients" in capsys.readouterr().out
    assert not E.check_break_even(2.0)
    assert "stability limit" in capsys.readouterr().out
    assert not E.check_break_even("x")


def test_check_richardson(tiny, capsys):
    _, _, _, obj, c = tiny

    class Study:  # only the measured distance to the flow is used
        gaps = np.array([2.0 * float(c.distances[2][-1]) * 1.01])

    assert E.check_richardson(c, Study, 2 * float(c.distances[2][-1]))
    assert not E.check_richardson(c, Study, float(c.distances[2][-1]))
    assert "half way" in capsys.readouterr().out
    assert not E.check_richardson(c, Study, -1)
