"""Chapter 2's landscapes and the numerical facts the chapter builds on them: closed-form Hessians, GD is
Euler bit for bit, the distance to the flow is first order in the step, and the bound holds where it must."""

import math

import numpy as np
import pytest
import torch

import gfteach as gt
from gfteach.landscapes import LANDSCAPES, get_landscape, quadratic, saddle, two_well

f64 = torch.float64


def _hessian(f, theta):
    return torch.autograd.functional.hessian(f, torch.as_tensor(theta, dtype=f64))


def _runs(name, eta, rtol=1e-10):
    land = LANDSCAPES[name]
    steps = round(land.t_end / eta)
    gd = gt.gradient_descent(land.f, land.start, eta, steps)
    gf = gt.gradient_flow(land.f, land.start, gt.gd_time_grid(eta, steps), rtol=rtol, atol=rtol / 100)
    return gd, gf


@pytest.mark.parametrize("theta", [(0.3, -0.7), (-1.2, 0.4), (0.0, 0.0), (2.0, 3.0)])
def test_hessians_are_the_closed_forms(theta):
    assert torch.allclose(_hessian(quadratic, theta), torch.diag(torch.tensor([1.0, 4.0], dtype=f64)))
    assert torch.allclose(_hessian(saddle, theta), torch.diag(torch.tensor([1.0, -1.0], dtype=f64)))
    x = theta[0]
    expected = torch.tensor([[3 * x**2 - 0.5, -1.0], [-1.0, 2.0]], dtype=f64)
    assert torch.allclose(_hessian(two_well, theta), expected, atol=1e-12)


def test_two_well_is_non_convex_exactly_in_its_strip_and_has_two_minima():
    edge = 1 / math.sqrt(3)
    for x, negative in [(0.0, True), (edge - 1e-3, True), (edge + 1e-3, False), (-edge - 1e-3, False), (1.0, False)]:
        lam_min = float(torch.linalg.eigvalsh(_hessian(two_well, (x, 0.3)))[0])
        assert (lam_min < 0) == negative, (x, lam_min)
    for minimum in ([1.0, 0.5], [-1.0, -0.5]):
        theta = torch.tensor(minimum, dtype=f64, requires_grad=True)
        (grad,) = torch.autograd.grad(two_well(theta), theta)
        assert float(two_well(theta.detach())) == 0.0 and float(grad.norm()) == 0.0


def test_landscapes_evaluate_on_grids_and_are_looked_up_by_name():
    grid = torch.randn(5, 7, 2, dtype=f64)
    for land in LANDSCAPES.values():
        assert land.f(grid).shape == (5, 7)
        assert torch.equal(land.f(grid)[2, 3], land.f(grid[2, 3]))
        assert get_landscape(land.name) is land and get_landscape(land) is land
    with pytest.raises(ValueError, match="unknown landscape"):
        get_landscape("rosenbrock")


def test_gradient_descent_is_euler_bit_for_bit_on_every_landscape():
    for land in LANDSCAPES.values():
        obj = gt.as_objective(land.f)
        gd = gt.gradient_descent(obj, land.start, 0.07, 20)
        euler = gt.odeint(lambda t, y, obj=obj: -obj.grad(y), land.start, gt.gd_time_grid(0.07, 20), "euler", step=0.07)
        assert torch.equal(gd.thetas, euler.y)


def test_on_the_quadratic_gd_and_gf_are_their_closed_forms_and_the_classic_bound_explodes():
    gd, gf = _runs("quadratic", 0.1)
    k, t = gd.iterations.to(f64), gd.times
    start = LANDSCAPES["quadratic"].start
    assert torch.allclose(gd.thetas, torch.stack([0.9**k, 0.6**k], 1) * start, rtol=1e-12)
    assert torch.allclose(gf.thetas, torch.stack([torch.exp(-t), torch.exp(-4 * t)], 1) * start, rtol=1e-8)
    gap = gt.distance(gd, gf)
    beta, gamma = 4.0, math.hypot(1.5, 4.0)  # the exact constants: |grad f| is largest at the start
    classic = gt.classic_euler_bound(t, 0.1, beta, gamma)
    assert (classic[1:] >= gap[1:]).all() and float(classic[-1] / gap[-1]) > 1e10
    assert (gt.tracking_bound(t, 0.1, beta, gamma)[1:] >= gap[1:]).all()  # convex: the closed form holds


def test_the_bound_holds_on_every_landscape_and_is_tight_on_the_saddle():
    for name in LANDSCAPES:
        gd, gf = _runs(name, 0.1)
        b = gt.approximation_bound(LANDSCAPES[name].f, gd, gf)
        assert b.holds and (b.bound <= b.closed_form * (1 + 1e-12)).all()
        if name == "saddle":  # m = -1: sum_{j<k} e^{(k-j-1) eta} = (e^{k eta} - 1) / (e^eta - 1)
            expected = 0.1**2 * b.beta * b.gamma / 2 * torch.expm1(gd.times) / math.expm1(0.1)
            assert torch.allclose(b.bound, expected, rtol=1e-9)
            assert float((b.bound / b.distance)[1:].min()) < 1.1  # tight where the errors are fresh


def test_the_saddle_theta2_gap_is_the_hilltop_gap():
    gd, gf = _runs("saddle", 0.1)
    assert abs(float(gd.thetas[-1, 1] - gf.thetas[-1, 1])) == pytest.approx(
        gt.scalar_gap(-1.0, 0.05, 0.1, 3.0), rel=1e-7
    )


@pytest.mark.parametrize("name", list(LANDSCAPES))
def test_the_distance_to_the_flow_is_first_order_in_the_step(name):
    land, etas, t = LANDSCAPES[name], [0.04, 0.02, 0.01, 0.005], 2.0
    end = gt.gradient_flow(land.f, land.start, [0.0, t], rtol=1e-10, atol=1e-12).theta_final
    d = [float((gt.gradient_descent(land.f, land.start, e, round(t / e)).theta_final - end).norm()) for e in etas]
    assert abs(gt.loglog_slope(etas, d) - 1) < 0.03 and (np.diff(d) < 0).all()


def test_the_reference_flow_is_far_more_accurate_than_the_distances():
    land, times = LANDSCAPES["two-well"], gt.gd_time_grid(0.1, 40)
    fine = gt.gradient_flow(land.f, land.start, times, rtol=1e-12, atol=1e-14)
    ref = gt.gradient_flow(land.f, land.start, times, rtol=1e-10, atol=1e-12)
    assert float((fine.thetas - ref.thetas).norm(dim=1).max()) < 1e-8
