"""Numerical truths behind Chapter 2 (gfteach.tracking): GD tracks GF within the derived bound."""

import math

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from gfteach import as_objective, gd_time_grid, gradient_descent, gradient_flow, odeint
from gfteach.tracking import (
    LANDSCAPES,
    bound_step,
    check_bound_step,
    check_scalar_gap,
    classic_euler_bound,
    explorer_fallback_figure,
    explorer_figure,
    get_landscape,
    scalar_gap,
    scalar_gap_estimate,
    step_for_accuracy,
    step_scaling,
    track,
)

matplotlib.use("Agg")
f64 = torch.float64


@pytest.fixture(scope="module")
def runs():
    return {name: track(name, 0.1, samples=30) for name in LANDSCAPES}


def test_landscapes_have_the_advertised_curvature():
    quad, saddle, wells = (get_landscape(n) for n in ("quadratic", "saddle", "two-well"))
    x = torch.tensor([0.3, -0.7], dtype=f64)
    H = torch.autograd.functional.hessian(quad.f, x)
    assert torch.allclose(H, torch.diag(torch.tensor([1.0, 4.0], dtype=f64)))
    H = torch.autograd.functional.hessian(saddle.f, x)
    assert torch.allclose(H, torch.diag(torch.tensor([1.0, -1.0], dtype=f64)))
    for minimum in (torch.tensor([1.0, 0.5], dtype=f64), torch.tensor([-1.0, -0.5], dtype=f64)):
        assert float(wells.f(minimum)) == 0.0
        assert float(torch.linalg.eigvalsh(torch.autograd.functional.hessian(wells.f, minimum))[0]) > 0
    at_origin = torch.autograd.functional.hessian(wells.f, torch.zeros(2, dtype=f64))
    assert float(torch.linalg.eigvalsh(at_origin)[0]) < 0  # non-convex strip
    grid = torch.randn(5, 7, 2, dtype=f64)  # batched evaluation for contour plots
    assert wells.f(grid).shape == (5, 7)
    with pytest.raises(ValueError, match="unknown landscape"):
        get_landscape("rosenbrock")


def test_gd_is_euler_bit_for_bit_on_every_landscape():
    for landscape in LANDSCAPES.values():
        gd = gradient_descent(landscape.f, landscape.start, 0.07, 20)
        obj = as_objective(landscape.f)
        euler = odeint(lambda t, y, obj=obj: -obj.grad(y), landscape.start, gd_time_grid(0.07, 20), "euler", step=0.07)
        assert torch.equal(gd.thetas, euler.y)


def test_bound_holds_on_every_landscape_and_the_quadratic_gf_is_the_closed_form(runs):
    for run in runs.values():
        assert run.bound.holds
        assert (run.bound.bound <= run.bound.closed_form * (1 + 1e-12)).all()
    quad = runs["quadratic"]
    exact = torch.stack([torch.exp(-quad.times), torch.exp(-4 * quad.times)], 1) * quad.landscape.start
    assert torch.allclose(quad.gf.thetas, exact, rtol=1e-8, atol=1e-12)
    assert quad.bound.beta == 4.0 and math.isclose(quad.bound.gamma, math.hypot(1.5, 4.0))
    assert float(quad.curvature.negative_integral[-1]) == 0.0  # convex: no amplification


def test_bound_is_tight_on_the_saddle_and_matches_its_closed_form(runs):
    saddle = runs["saddle"]
    ratio = (saddle.bound.bound / saddle.bound.distance)[1:]
    assert 1.0 <= float(ratio.min()) < 1.1 and float(ratio.max()) < 15
    # m = -1 constant: sum_{j<k} e^{(k-j-1) eta} = (e^{k eta} - 1) / (e^eta - 1)
    eta, k = saddle.eta, saddle.gd.iterations.to(f64)
    b = saddle.bound
    expected = eta**2 * b.beta * b.gamma / 2 * torch.expm1(k * eta) / math.expm1(eta)
    assert torch.allclose(b.bound, expected, rtol=1e-9)


def test_classic_bound_dominates_and_explodes(runs):
    quad = runs["quadratic"]
    classic = classic_euler_bound(quad.times, quad.eta, quad.bound.beta, quad.bound.gamma)
    assert (classic >= quad.distance - 1e-15).all()
    assert float(classic[-1]) == pytest.approx(quad.bound.gamma * 0.1 / 2 * math.expm1(20.0))


def test_distance_is_first_order_in_the_step():
    for name in LANDSCAPES:
        d, slope = step_scaling(name, [0.04, 0.02, 0.01, 0.005], 2.0)
        assert abs(slope - 1) < 0.03, (name, slope)
        assert (np.diff(d) < 0).all()
    with pytest.raises(ValueError, match="multiple"):
        step_scaling("quadratic", [0.3], 1.0)


def test_scalar_gap_matches_gd_iterates_and_the_first_order_estimate():
    m, theta0, t = 1.5, 0.2, 2.0
    for eta in (0.1, 0.02):
        k = round(t / eta)
        gd = gradient_descent(lambda th: -m / 2 * (th**2).sum(), torch.tensor([theta0], dtype=f64), eta, k)
        gf = theta0 * math.exp(m * t)
        assert scalar_gap(-m, theta0, eta, t) == pytest.approx(gf - float(gd.thetas[-1, 0]), rel=1e-10)
    for eta in (1e-2, 1e-3, 1e-4):
        rel = scalar_gap(-m, theta0, eta, t) / scalar_gap_estimate(m, theta0, eta, t) - 1
        assert rel == pytest.approx(-eta * m * (2 / 3 + m * t / 4), rel=0.05)  # next-order terms
    with pytest.raises(ValueError):
        scalar_gap(2.0, 1.0, 0.6, 1.0)


@settings(max_examples=40, deadline=None)
@given(
    lam=st.floats(-2.0, 2.0).filter(lambda x: abs(x) > 0.05),
    t=st.floats(0.5, 6.0),
    eps=st.floats(1e-4, 1e-1),
)
def test_step_for_accuracy_is_the_largest_step_meeting_eps(lam, t, eps):
    eta = step_for_accuracy(lam, 1.0, t, eps)
    assert eta > 0
    if math.isinf(eta):  # a shallow hilltop: the gap stays below eps for every step
        assert lam < 0 and math.expm1(-lam * t) <= eps and scalar_gap(lam, 1.0, 1e6, t) <= eps
        return
    if lam > 0 and eta == 1.0 / lam:
        assert scalar_gap(lam, 1.0, eta * (1 - 1e-9), t) <= eps
        return
    assert scalar_gap(lam, 1.0, eta, t) <= eps * (1 + 1e-9)
    assert scalar_gap(lam, 1.0, eta * 1.001, t) > eps


def test_negative_example_needs_exponentially_small_steps():
    etas = [step_for_accuracy(-1.0, 1.0, t, 0.01) for t in (4.0, 8.0, 12.0)]
    rates = [math.log(etas[i] / etas[i + 1]) / 4 for i in range(2)]
    for rate, t0 in zip(rates, (4.0, 8.0)):
        assert rate == pytest.approx(1 + math.log((t0 + 4) / t0) / 4, rel=0.02)  # e^{-t}/t
    assert min(step_for_accuracy(1.0, 1.0, t, 0.01) for t in np.linspace(0.5, 12, 24)) > 0.05


def test_bound_step_and_its_checker(capsys):
    eta = bound_step(4.0, 5.0, 2.0, 0.1)
    assert 4.0 * 5.0 / 2 * 2.0 * eta == pytest.approx(0.1)
    assert bound_step(4.0, 5.0, 2.0, 0.1, negative_integral=-1.0) == pytest.approx(eta / math.e)
    with pytest.raises(ValueError):
        bound_step(4.0, 5.0, 2.0, 0.1, negative_integral=0.5)
    assert check_bound_step(4.0, 5.0, 2.0, 0.1, eta)
    assert not check_bound_step(4.0, 5.0, 2.0, 0.1, 2 * eta)
    assert "too big" in capsys.readouterr().out
    assert not check_bound_step(4.0, 5.0, 2.0, 0.1, eta / 3)
    assert "3 times larger" in capsys.readouterr().out
    assert not check_bound_step(4.0, 5.0, 2.0, 0.1, "abc")


def test_scalar_gap_checker_names_common_slips(capsys):
    args = (1.0, 0.05, 0.1, 3.0)
    assert check_scalar_gap(*args, scalar_gap(-1.0, 0.05, 0.1, 3.0))
    assert not check_scalar_gap(*args, scalar_gap_estimate(1.0, 0.05, 0.1, 3.0))
    assert "first-order estimate" in capsys.readouterr().out
    assert not check_scalar_gap(*args, 0.05 * math.exp(3.0))
    assert "one of the two values" in capsys.readouterr().out
    assert not check_scalar_gap(*args, 1.0)
    assert "too large" in capsys.readouterr().out
    assert not check_scalar_gap(*args, float("nan"))


def test_unstable_step_diverges_but_the_bound_still_holds():
    run = track("quadratic", 0.55, samples=20)
    assert run.bound.holds
    assert float(run.distance[-1]) > 3 * float(run.landscape.start.norm())


def test_figures_render():
    fig = explorer_figure("saddle", 0.2)
    assert len(fig.axes) == 3 and all(ax.get_title() for ax in fig.axes)
    runs = {(n, e): track(n, e, samples=10) for n in ("quadratic", "saddle") for e in (0.2, 0.4)}
    fig = explorer_fallback_figure(runs)
    assert len(fig.axes) == 4
    plt.close("all")


def test_gradient_flow_reference_is_far_more_accurate_than_the_distances():
    landscape = LANDSCAPES["two-well"]
    times = gd_time_grid(0.1, 40)
    fine = gradient_flow(landscape.f, landscape.start, times, rtol=1e-12, atol=1e-14)
    ref = gradient_flow(landscape.f, landscape.start, times, rtol=1e-10, atol=1e-12)
    assert float((fine.thetas - ref.thetas).norm(dim=1).max()) < 1e-8
