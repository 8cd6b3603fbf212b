"""gfteach.paper: the paper's scales, its two distances (checked against NumPy), and the experiment's logic on
tiny problems: GD with eta0/r recorded every r*c iterates meets GD with eta0 at the same times, and the
distance between them is (1 - 1/r) times the distance of eta0 from the true flow (Euler's expansion)."""

from dataclasses import replace

import numpy as np
import pytest
import torch

import gfteach as gt
from gfteach import data, nets, paper

f64 = torch.float64


@pytest.fixture(scope="module")
def tiny():
    """fc_linear on 32 digits of 8×8 (smooth: a linear network), GD with eta0 and eta0/r, r = 2, 4, 8."""
    X, y = data.digits_subset(32, size=8)
    model = nets.paper_network("fc_linear", size=8)
    obj = gt.Objective(model, X, y, "cross_entropy")
    theta0 = obj.theta0()
    plan = paper.RunPlan(eta0=0.01, steps=20, ratios=(2, 4, 8), record_every=5)
    with gt.threads(1):
        runs = {r: gt.gradient_descent(obj, theta0, plan.eta0 / r, r * plan.steps, r * plan.record_every)
                for r in (1, *plan.ratios)}  # fmt: skip
    return obj, theta0, plan, runs, nets.weight_mask(model)


def test_runs_recorded_every_r_c_iterates_meet_at_the_same_times_and_cost_the_plans_gradients(tiny):
    obj, theta0, plan, runs, mask = tiny
    for r, run in runs.items():
        assert torch.allclose(run.times, runs[1].times, rtol=1e-12, atol=0)
        assert run.iterations.tolist() == [r * k for k in (0, 5, 10, 15, 20)]
    assert sum(run.n_grad for run in runs.values()) == plan.n_grad == 20 * (1 + 2 + 4 + 8)


def test_weight_distance_is_the_norm_over_the_masked_entries(tiny):
    _, theta0, _, runs, _ = tiny
    mask = torch.rand(theta0.numel(), generator=torch.Generator().manual_seed(0)) < 0.3
    a, b = runs[1].thetas.numpy(), runs[2].thetas.numpy()
    expected = np.linalg.norm((a - b)[:, mask.numpy()], axis=1)
    assert np.allclose(paper.weight_distance(runs[1], runs[2], mask).numpy(), expected, rtol=1e-12)
    travelled = np.linalg.norm((a - theta0.numpy())[:, mask.numpy()], axis=1)
    assert np.allclose(paper.weight_distance(runs[1], theta0, mask).numpy(), travelled, rtol=1e-12)
    assert float(paper.weight_distance(theta0, theta0, mask)) == 0.0


def test_weight_distance_refuses_runs_recorded_at_different_times(tiny):
    obj, theta0, _, runs, mask = tiny
    other = gt.gradient_descent(obj, theta0, 0.005, 40, record_every=5)  # eta0/2 recorded every 5, not every 10
    with pytest.raises(ValueError, match="same times"):
        paper.weight_distance(runs[1], other, mask)
    with pytest.raises(ValueError, match="one length"):
        paper.weight_distance(runs[1], runs[2], mask[:-1])
    with pytest.raises(ValueError, match="as many rows"):
        paper.weight_distance(runs[1].thetas, runs[2].thetas[:-1], mask)


def test_loss_gap_compares_the_losses_at_the_same_times(tiny):
    obj, _, _, runs, _ = tiny
    gap = paper.loss_gap(runs[1], runs[4])
    assert gap.shape == (21,) and float(gap[0]) == 0.0
    for k in (5, 20):  # an independent evaluation of the loss at the matching iterates
        f0 = float(obj.value(runs[1].thetas[runs[1].iterations.tolist().index(k)]))
        fr = float(obj.value(runs[4].thetas[runs[4].iterations.tolist().index(4 * k)]))
        assert float(gap[k]) == pytest.approx(abs(fr - f0) / f0, rel=1e-10)
    with pytest.raises(ValueError, match="must be an integer"):
        paper.loss_gap(runs[1], replace(runs[4], step=runs[4].step * 1.5))
    with pytest.raises(ValueError, match="as many steps"):
        paper.loss_gap(runs[1], replace(runs[4], iterate_losses=runs[4].iterate_losses[:-4]))


def test_the_distance_to_eta0_over_r_is_one_minus_one_over_r_of_the_distance_to_the_flow(tiny):
    """Euler's expansion on a real (tiny) network, against a flow solved to a tight tolerance: the distance
    to eta0/r is (1 - 1/r) of the distance to the flow up to a correction O(eta0 / r) (from the next term
    of the expansion), which shrinks with eta0."""
    obj, theta0, plan, runs, mask = tiny
    with gt.threads(1):
        flow = gt.gradient_flow(obj, theta0, runs[1].times, rtol=1e-11, atol=1e-13)
        halved = {r: gt.gradient_descent(obj, theta0, plan.eta0 / 2 / r, 2 * r * plan.steps, 2 * r * plan.record_every)
                  for r in (1, *plan.ratios)}  # fmt: skip

    def deviations(runs):
        to_flow = float(gt.distance(runs[1], flow)[-1])
        return np.array([float(paper.weight_distance(runs[1], runs[r], mask)[-1]) / to_flow / (1 - 1 / r) - 1
                         for r in plan.ratios])  # fmt: skip

    # the expansion to second order: ratio / (1 - 1/r) - 1 = c * eta0 / r + O(eta0^2)
    big, small = deviations(runs), deviations(halved)
    r = np.array(plan.ratios)
    assert np.all(np.abs(big * r / (big[0] * r[0]) - 1) < 0.2)  # proportional to 1/r
    assert np.all((1.6 < big / small) & (big / small < 3.0)), big / small  # about halves with eta0
    finals = [float(gt.distance(runs[r], flow)[-1]) for r in runs]
    assert gt.loglog_slope([runs[r].step for r in runs], finals) == pytest.approx(1.0, abs=0.05)


def test_biases_are_excluded_from_the_distances():
    X, y = data.digits_subset(12, size=16)
    model = nets.paper_network("conv_off_the_shelf", size=16)
    obj = gt.Objective(model, X, y, "cross_entropy")
    with gt.threads(1):
        run = gt.gradient_descent(obj, obj.theta0(), 0.05, 2)
    mask = nets.weight_mask(model)
    weights = paper.weight_distance(run, run.thetas[0], mask)
    everything = paper.weight_distance(run, run.thetas[0], torch.ones_like(mask))
    biases = paper.weight_distance(run, run.thetas[0], ~mask)
    assert torch.allclose(everything**2, weights**2 + biases**2, rtol=1e-10)
    assert float(biases[-1]) > 0.05 * float(everything[-1])  # the biases do move: excluding them matters


@pytest.mark.parametrize("name", nets.PAPER_NETWORKS)
def test_every_network_tracks_its_half_step_at_a_tiny_size(name):
    """The paper's observation in miniature: after 3 small steps, GD with eta0/2 is within 5% (relative)."""
    X, y = data.digits_subset(12, size=16)
    model = nets.paper_network(name, size=16)
    obj = gt.Objective(model, X, y, "cross_entropy")
    theta0, mask = obj.theta0(), nets.weight_mask(model)
    with gt.threads(1):
        a = gt.gradient_descent(obj, theta0, 1e-3, 3)
        b = gt.gradient_descent(obj, theta0, 5e-4, 6, record_every=2)
    relative = paper.weight_distance(a, b, mask)[1:] / paper.weight_distance(a, theta0, mask)[1:]
    assert float(relative.max()) < 0.05 and float(paper.loss_gap(a, b).max()) < 1e-3


def test_settings_full_is_the_papers_scale_and_default_is_small():
    full = paper.get_setting("full")
    assert (full.n, full.size, full.seed, full.device) == (1000, 28, 1, "auto")
    assert set(full.plans) == set(nets.PAPER_NETWORKS)
    for plan in full.plans.values():
        assert (plan.eta0, plan.steps, plan.ratios) == (1e-3, 10_000, (2, 5, 10, 20))
    assert full.n_grad == 4 * 10_000 * 38
    default = paper.get_setting("default")
    assert default.n_grad < 5000 and default.n == 128 and default.device == "cpu"
    assert paper.get_setting("default", n=64).n == 64
    with pytest.raises(ValueError, match="name must be one of"):
        paper.get_setting("huge")
    with pytest.raises(TypeError, match="n must be an integer"):
        paper.get_setting("default", n="many")


def test_run_plans_validate_their_fields():
    assert paper.RunPlan(np.float64(1e-3), np.int64(5), [2, 5], 1).ratios == (2, 5)
    for kwargs, match in [
        ({"eta0": 0.0}, "eta0 must be a positive"),
        ({"steps": 0}, "steps must be an integer >= 1"),
        ({"ratios": (1,)}, r"ratios\[0\] must be an integer >= 2"),
        ({"ratios": (2, 2)}, "distinct"),
        ({"ratios": "25"}, "ratios must be a sequence"),
        ({"record_every": 1.5}, "record_every must be an integer"),
    ]:
        fields = {"eta0": 1e-3, "steps": 5, "ratios": (2,), "record_every": 1, **kwargs}
        with pytest.raises((TypeError, ValueError), match=match):
            paper.RunPlan(**fields)


def test_pick_device():
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert paper.pick_device("auto").type == expected
    assert paper.pick_device("cpu").type == "cpu" and paper.pick_device(torch.device("cpu")).type == "cpu"
    with pytest.raises(ValueError, match="device must be"):
        paper.pick_device("abacus")
    with pytest.raises(TypeError, match="device must be"):
        paper.pick_device(0.5)
