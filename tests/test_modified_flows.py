"""Tests for gfteach.modified_flows: the modified flows against closed forms and orders, the central flow's
invariants, the sharpness readings, and Saxe's sigmoid against the integrated flow."""

import math

import numpy as np
import pytest
import torch

import gfteach as gt
from gfteach import modified_flows as mf

f64 = torch.float64


def T(x):
    return torch.tensor(x, dtype=f64)


def quad(A):
    A = torch.as_tensor(A, dtype=f64)
    return gt.FunctionObjective(lambda th: 0.5 * th @ A @ th, A.shape[0])


# a non-quadratic 2-D loss with a simple top eigenvalue near the points used
def bumpy(th):
    return torch.log(torch.cosh(th[0])) + 0.5 * th[1] ** 2 * (1 + th[0] ** 2) + 0.1 * th[0] ** 3 * th[1]


BUMPY = gt.FunctionObjective(bumpy, 2)


def test_problem_is_deterministic_and_sized():
    obj1, th1 = mf.eos_problem(n=30)
    obj2, th2 = mf.eos_problem(n=30)
    assert th1.numel() == 16 * 16 + 16 * 10 == obj1.n_params
    assert torch.equal(th1, th2) and torch.equal(obj1.grad(th1), obj2.grad(th2))
    # the scale multiplies the initialization
    _, th_big = mf.eos_problem(n=30, scale=1.2)
    assert torch.allclose(th_big, 2 * th1)
    with pytest.raises(ValueError, match="scale"):
        mf.eos_problem(scale=0)


def test_igr_velocity_is_minus_gradient_of_penalized_loss():
    # central differences of h = f + (eta/4)|grad f|^2 along random directions match -<F, u>
    obj, th = mf.eos_problem(n=20)
    eta = 0.3
    F = mf.igr_velocity(obj, eta)(0.0, th)

    def h(t):
        g = obj.grad(t)
        return float(obj.value(t)) + eta / 4 * float(g @ g)

    gen = torch.Generator().manual_seed(1)
    for _ in range(3):
        u = torch.randn(th.shape, generator=gen, dtype=f64)
        eps = 1e-5
        fd = (h(th + eps * u) - h(th - eps * u)) / (2 * eps)
        assert math.isclose(fd, -float(F @ u), rel_tol=1e-5, abs_tol=1e-9)


def test_igr_flow_on_quadratic_is_exponential_with_modified_rate():
    lam, eta = 2.0, 0.3
    t = torch.linspace(0, 1, 5, dtype=f64)
    flow = mf.igr_flow(quad([[lam]]), T([1.0]), eta, t)
    assert flow.kind == "gf" and flow.method == "dopri5" and flow.n_grad > 0
    assert torch.allclose(flow.thetas[:, 0], torch.exp(-lam * (1 + eta * lam / 2) * t), rtol=1e-7)
    assert torch.allclose(flow.losses, 0.5 * lam * flow.thetas[:, 0] ** 2)


def test_igr_local_error_is_third_order_gf_second_order():
    th0 = T([0.8, -0.6])
    errs_gf, errs_igr, etas = [], [], [0.04, 0.02, 0.01]
    for eta in etas:
        gd = gt.gradient_descent(BUMPY, th0, eta, 1).thetas[-1]
        gf = gt.gradient_flow(BUMPY, th0, T([0.0, eta]), rtol=1e-12, atol=1e-14).thetas[-1]
        igr = mf.igr_flow(BUMPY, th0, eta, T([0.0, eta]), rtol=1e-12, atol=1e-14).thetas[-1]
        errs_gf.append(float((gd - gf).norm()))
        errs_igr.append(float((gd - igr).norm()))
    assert abs(gt.loglog_slope(etas, errs_gf) - 2) < 0.15
    assert abs(gt.loglog_slope(etas, errs_igr) - 3) < 0.15


def test_igr_global_error_is_second_order_on_a_quadratic():
    # GD on diag(1, 3) is (1 - eta l)^k exactly; the IGR flow's distance to it is O(eta^2), GF's O(eta)
    A = torch.diag(T([1.0, 3.0]))
    gaps_gf, gaps_igr, etas = [], [], [0.02, 0.01, 0.005]
    for eta in etas:
        n = round(1 / eta)
        gd, grid = gt.gradient_descent(quad(A), T([1.0, 1.0]), eta, n), gt.gd_time_grid(eta, n)
        gaps_igr.append(float(gt.distance(gd, mf.igr_flow(quad(A), T([1.0, 1.0]), eta, grid)).max()))
        k = np.arange(n + 1)
        exact_gf = np.stack([np.exp(-lam * eta * k) for lam in (1.0, 3.0)], 1)
        gaps_gf.append(float(np.linalg.norm(gd.thetas.numpy() - exact_gf, axis=1).max()))
    assert abs(gt.loglog_slope(etas, gaps_gf) - 1) < 0.05
    assert abs(gt.loglog_slope(etas, gaps_igr) - 2) < 0.05


def test_sharpness_gradient_matches_the_derivative_of_lambda_max():
    # dense oracle: central differences of the top eigenvalue of the dense Hessian
    th = T([0.4, 0.9])
    top = torch.linalg.eigh(BUMPY.hessian(th))
    u = top.eigenvectors[:, -1]
    grad_s = mf.sharpness_gradient(BUMPY, th, 3.0 * u)  # any length: u is normalized
    for i in range(2):
        e = torch.zeros(2, dtype=f64)
        e[i] = 1e-5
        up, down = (torch.linalg.eigvalsh(BUMPY.hessian(th + s * e))[-1] for s in (1, -1))
        assert math.isclose(float(grad_s[i]), float(up - down) / 2e-5, rel_tol=1e-6, abs_tol=1e-8)


def test_sharpness_gradient_of_a_cubic_is_exact():
    # f = a theta1^3 / 6 + theta2^2 / 2: H = diag(a theta1, 1), at theta1 large the top is e1 and grad S = (a, 0)
    a = 2.5
    obj = gt.FunctionObjective(lambda th: a * th[0] ** 3 / 6 + 0.5 * th[1] ** 2, 2)
    grad_s = mf.sharpness_gradient(obj, T([2.0, 0.3]), T([1.0, 0.0]))
    assert torch.allclose(grad_s, T([a, 0.0]), atol=1e-8)


def test_central_velocity_is_gradient_flow_below_the_edge_and_holds_the_sharpness_on_it():
    th = T([0.4, 0.9])
    S = float(torch.linalg.eigvalsh(BUMPY.hessian(th))[-1])
    g = BUMPY.grad(th)
    below = mf.central_velocity(BUMPY, 2.0 / S * 0.9)  # threshold 2/eta above S
    assert torch.equal(below(0.0, th), -g) and below.on_edge == 0 and below.last_sigma2 == 0
    on = mf.central_velocity(BUMPY, 2.0 / S * 1.01, tol=1e-10)  # S above the threshold: on the edge
    F = on(0.0, th)
    u = torch.linalg.eigh(BUMPY.hessian(th)).eigenvectors[:, -1]
    grad_s = mf.sharpness_gradient(BUMPY, th, u)
    assert on.on_edge == 1 and on.evaluations == 1
    if float(-g @ grad_s) > 0:  # gradient flow would sharpen: the projection removes it, dS/dt = 0
        assert on.last_sigma2 > 0
        assert abs(float(grad_s @ F)) < 1e-8 * float(grad_s.norm() * F.norm())
    else:  # gradient flow would flatten: sigma^2 clamps at 0 and the flow is gradient flow
        assert on.last_sigma2 == 0 and torch.allclose(F, -g)


def test_sigma2_is_clamped_at_zero():
    v = mf.central_velocity(BUMPY, 1.0)
    grad_s = T([1.0, 0.0])
    assert v.sigma2(T([-1.0, 0.0]), grad_s) == pytest.approx(2.0)  # -g along grad S: sharpening, 2<-g, gS>/|gS|^2
    assert v.sigma2(T([1.0, 0.0]), grad_s) == 0.0  # would be -2: clamped
    assert v.sigma2(T([1.0, 0.0]), T([0.0, 0.0])) == 0.0  # no gradient of the sharpness: nothing to hold


def test_central_flow_slides_along_the_edge():
    # f = log cosh(x) + y^2 (1 + x^2)/2 + ...: GF from here sharpens along y; the central flow must keep S fixed
    obj = gt.FunctionObjective(lambda th: 0.5 * th[1] ** 2 * (1 + th[0] ** 2) + 0.5 * (th[0] - 2) ** 2 / 10, 2)
    th0 = T([0.5, 0.05])
    S0 = float(torch.linalg.eigvalsh(obj.hessian(th0))[-1])
    eta = 2.0 / (0.999 * S0)  # S0 just above 2/eta: on the edge from the first evaluation
    flow = mf.central_flow(obj, th0, eta, 12, substeps=2, tol=1e-10)
    sharp = torch.stack([torch.linalg.eigvalsh(obj.hessian(t))[-1] for t in flow.thetas])
    gf = gt.gradient_flow(obj, th0, flow.times)
    sharp_gf = torch.stack([torch.linalg.eigvalsh(obj.hessian(t))[-1] for t in gf.thetas])
    assert float(sharp_gf[-1]) > 1.3 * S0  # gradient flow sharpens ...
    assert float((sharp / S0 - 1).abs().max()) < 1e-3  # ... the central flow holds S = 2/eta (RK4 error)
    assert float(flow.losses[-1]) < float(flow.losses[0])  # and still descends
    assert flow.method == "rk4" and torch.allclose(flow.times, gt.gd_time_grid(eta, 12))


def test_central_flow_starts_at_a_given_iterate():
    obj = quad(torch.diag(T([1.0, 0.5])))
    flow = mf.central_flow(obj, T([1.0, 1.0]), 0.5, 10, start=4, substeps=4)  # S = 1 < 2/eta = 4: GF
    assert torch.allclose(flow.times, gt.gd_time_grid(0.5, 10)[4:])
    exact = torch.stack([torch.exp(-(flow.times - 2.0)), torch.exp(-0.5 * (flow.times - 2.0))], 1)
    assert torch.allclose(flow.thetas, exact, rtol=1e-4)  # RK4 with step eta/4
    with pytest.raises(ValueError, match="start"):
        mf.central_flow(obj, T([1.0, 1.0]), 0.5, 4, start=4)


def test_edge_crossing_and_hover_on_a_quadratic():
    obj = quad(torch.diag(T([1.0, 4.0])))
    gd = gt.gradient_descent(obj, T([1.0, 1e-3]), 0.55, 20)
    curvature = gt.curvature_along(obj, gd, every=5)
    assert mf.edge_crossing(curvature, 0.55) == 0  # 4 >= 2/0.55 from the start
    assert mf.edge_crossing(curvature, 0.45) is None  # 4 < 2/0.45
    assert mf.edge_crossing(curvature, 0.5) == 0  # the boundary S = 2/eta counts as reached
    assert mf.hover_sharpness(curvature) == pytest.approx(4.0)
    with pytest.raises(ValueError, match="fraction"):
        mf.hover_sharpness(curvature, 1.5)


def test_edge_crossing_reads_the_first_sample_at_or_above_the_threshold():
    # a hand-made CurvatureAlong with times k * eta, k = 0, 5, 10, ...
    eta = 0.5
    lam = T([1.0, 2.0, 3.9, 4.2, 3.8, 4.1])
    curvature = gt.CurvatureAlong(torch.arange(6, dtype=f64) * 5 * eta, -lam, lam, torch.zeros(6, dtype=f64), 0)
    assert mf.edge_crossing(curvature, eta) == 15
    assert mf.hover_sharpness(curvature, 0.5) == pytest.approx(float(np.median([4.2, 3.8, 4.1])))


def test_saxe_mode_is_the_flow_of_the_balanced_mode():
    s, u0 = 1.5, 1e-3
    obj = mf.saxe_objective(s)
    t = torch.linspace(0, 6, 13, dtype=f64)
    gf = gt.gradient_flow(obj, torch.full((2,), math.sqrt(u0), dtype=f64), t, rtol=1e-11, atol=1e-13)
    assert torch.allclose(gf.thetas.prod(dim=1), mf.saxe_mode(t, s, u0), rtol=1e-8, atol=1e-10)
    assert float(mf.saxe_mode(0.0, s, u0)) == pytest.approx(u0)
    assert float(mf.saxe_mode(100.0, s, u0)) == pytest.approx(s)


def test_saxe_balanced_minimum_has_sharpness_two_s_and_gd_threshold_one_over_s():
    s = 2.0
    obj = mf.saxe_objective(s)
    H = obj.hessian(torch.full((2,), math.sqrt(s), dtype=f64))
    assert torch.allclose(torch.linalg.eigvalsh(H), T([0.0, 2 * s]), atol=1e-12)
    start = torch.full((2,), math.sqrt(s) * 1.01, dtype=f64)
    stable = gt.gradient_descent(obj, start, 0.95 / s, 300).thetas[-1]
    unstable = gt.gradient_descent(obj, start, 1.05 / s, 300).thetas[-1]
    assert abs(float(stable.prod()) - s) < 1e-8
    assert abs(float(unstable.prod()) - s) > 1e-2
