"""gfteach.homogeneous: networks with homogeneous activations on digits, and their curvature.

Oracles: the module networks of ``gfteach.nets`` through ``Objective``, ``gfteach.linear.product_objective``,
dense Hessians diagonalized by ``torch.linalg.eigvalsh``, closed forms (the label-input covariance, aligned
rank-one chains, a scalar chain), and the homogeneity scaling laws.
"""

import math

import pytest
import torch

import gfteach as gt
from gfteach import homogeneous as hg
from gfteach.linear import (
    balanced_init,
    end_to_end,
    layers_from_theta,
    product_objective,
    theta_from_layers,
    unbalancedness,
    whitened_loss,
)
from gfteach.nets import mlp, near_zero_init_

f64 = torch.float64


def dense_lambda_min(obj, theta):
    return float(torch.linalg.eigvalsh(obj.hessian(theta))[0])


@pytest.fixture(scope="module")
def digits():
    return hg._digits(40)


# -- the objectives ------------------------------------------------------------------------------------


@pytest.mark.parametrize("activation", ["linear", "relu", "leaky_relu"])
def test_mlp_objective_equals_the_module_objective(activation, digits):
    X, y = digits
    dims = [64, 4, 4, 10]
    obj = hg.MLPObjective(dims, activation, X, y)
    net = near_zero_init_(mlp(dims, activation), 0.3, torch.Generator().manual_seed(1))
    ref = gt.Objective(net, X, y, "cross_entropy")
    theta = ref.theta0()
    assert torch.equal(hg.near_zero_point(dims, 0.3, seed=1), theta)  # same draws, same layout
    assert float(obj.value(theta)) == pytest.approx(float(ref.value(theta)), rel=1e-13)
    assert torch.allclose(obj.grad(theta), ref.grad(theta), rtol=1e-11, atol=1e-14)
    v = torch.randn(theta.numel(), generator=torch.Generator().manual_seed(2), dtype=f64)
    assert torch.allclose(obj.hvp(theta, v), ref.hvp(theta, v), rtol=1e-10, atol=1e-13)
    assert obj.sizes == [256, 16, 40] and obj.n_params == 312


def test_digits_objective_builds_the_chapter_network():
    obj, theta0 = hg.digits_objective("relu", depth=3, width=5, n=30, scale=0.05, seed=4)
    assert obj.dims == [64, 5, 5, 10] and obj.activation == "relu"
    assert torch.equal(theta0, hg.near_zero_point([64, 5, 5, 10], 0.05, seed=4))
    assert theta0.std().item() == pytest.approx(0.05, rel=0.15)  # N(0, scale^2) weights


def test_mlp_objective_rejects_bad_arguments(digits):
    X, y = digits
    with pytest.raises(ValueError, match="activation"):
        hg.MLPObjective([64, 10], "tanh", X, y)
    with pytest.raises(ValueError, match="features per sample"):
        hg.MLPObjective([63, 10], "relu", X, y)


def test_a_linear_network_is_a_loss_of_its_end_to_end_matrix(digits):
    X, y = digits
    dims = [64, 3, 4, 10]
    theta = hg.near_zero_point(dims, 0.4, seed=3)
    mlp_f = hg.MLPObjective(dims, "linear", X, y)
    product_f = product_objective(dims, hg.linear_cross_entropy(X, y))
    assert float(product_f.value(theta)) == pytest.approx(float(mlp_f.value(theta)), rel=1e-13)
    assert torch.allclose(product_f.grad(theta), mlp_f.grad(theta), rtol=1e-11, atol=1e-15)


def test_loss_gradient_at_zero_is_the_label_input_covariance(digits):
    X, y = digits
    G0 = hg.loss_gradient(hg.linear_cross_entropy(X, y), torch.zeros(10, 64, dtype=f64))
    Y = torch.nn.functional.one_hot(y, 10).to(f64)
    assert torch.allclose(G0, (0.1 - Y).T @ X.reshape(40, -1) / 40, atol=1e-15)


# -- curvature -----------------------------------------------------------------------------------------


def test_depth_two_origin_is_a_strict_saddle_with_lambda_min_minus_sigma_max(digits):
    X, y = digits
    L = hg.linear_cross_entropy(X, y)
    f = product_objective([64, 3, 10], L)
    eig = torch.linalg.eigvalsh(f.hessian(torch.zeros(f.n_params, dtype=f64)))
    sigma = torch.linalg.svdvals(hg.loss_gradient(L, torch.zeros(10, 64, dtype=f64)))
    assert float(eig[0]) == pytest.approx(-float(sigma[0]), rel=1e-10)
    assert float(eig[-1]) == pytest.approx(float(sigma[0]), rel=1e-10)


def test_scaled_curvature_matches_dense_eigenvalues():
    obj, theta = hg.digits_objective("relu", 2, width=3, n=30, scale=0.3)
    low, high = hg.scaled_curvature(obj, theta, [1.0, 3.0])
    for c, lo, hi in zip((1.0, 3.0), low, high):
        eig = torch.linalg.eigvalsh(obj.hessian(c * theta))
        assert float(lo) == pytest.approx(float(eig[0]), rel=1e-6) and float(hi) == pytest.approx(
            float(eig[-1]), rel=1e-6
        )


def test_curvature_near_the_origin_scales_like_s_to_the_n_minus_2():
    scales = [1e-3, 4e-3]
    for depth in (2, 3, 4):
        obj, direction = hg.digits_objective("linear", depth, width=3, n=30, scale=1.0)
        low, _ = hg.scaled_curvature(obj, direction, scales)
        assert gt.loglog_slope(scales, low.abs()) == pytest.approx(depth - 2, abs=0.02), depth


def test_far_out_the_curvature_of_a_relu_network_becomes_more_negative():
    obj, theta = hg.digits_objective("relu", 3, width=4, n=30, scale=0.1)
    low, high = hg.scaled_curvature(obj, theta, [1, 4, 16])
    assert low[0] > low[1] > low[2] and low[2] < 10 * low[0]  # unbounded below, as the chapter says
    assert torch.all(high > 0)


def test_the_network_hessian_scales_like_c_to_the_n_minus_2():
    # h_theta summed over outputs and samples is a homogeneous function of degree N in theta (off the kinks)
    x = torch.randn(6, 5, generator=torch.Generator().manual_seed(0), dtype=f64)
    net = near_zero_init_(mlp([5, 4, 4, 3], "leaky_relu"), 0.8, torch.Generator().manual_seed(1))
    obj = gt.Objective(net, x, torch.zeros(6, 3, dtype=f64), lambda out, _: out.sum())
    theta = obj.theta0()
    H1, H3 = obj.hessian(theta), obj.hessian(3.0 * theta)
    assert torch.allclose(H3, 3.0 * H1, rtol=1e-10, atol=1e-12)  # c^(N-2) = 3 at depth 3
    assert torch.allclose(obj.grad(3.0 * theta), 9.0 * obj.grad(theta), rtol=1e-10)  # c^(N-1) = 9


def test_same_layer_norms_keeps_every_layer_norm_and_changes_the_direction():
    theta = hg.near_zero_point([6, 4, 3], 0.7, seed=0)
    sizes = [24, 12]
    g = torch.Generator().manual_seed(5)
    points = [hg.same_layer_norms(theta, sizes, g) for _ in range(3)]
    for p in points:
        for a, b in zip(p.split(sizes), theta.split(sizes)):
            assert float(a.norm()) == pytest.approx(float(b.norm()), rel=1e-12)
        assert float((p - theta).norm()) > 0.1 * float(theta.norm())
    assert not torch.equal(points[0], points[1])
    with pytest.raises(ValueError, match="sizes"):
        hg.same_layer_norms(theta, [24, 11], g)


def test_random_curvature_is_non_negative_for_a_convex_loss_and_negative_for_a_deep_one():
    # one layer: cross-entropy of a linear model is convex, so every random point has lambda_min >= 0
    obj, theta = hg.digits_objective("linear", 1, n=30, scale=1.0)
    values = hg.random_curvature(obj, torch.stack([theta, 2 * theta]), draws=3, seed=0, tol=1e-8)
    assert values.shape == (2, 3) and torch.all(values > -1e-9)
    obj, theta = hg.digits_objective("linear", 2, width=4, n=30, scale=1.0)
    assert torch.all(hg.random_curvature(obj, theta[None], draws=2) < -0.1)


def test_heavy_functions_run_on_one_thread_and_restore_the_setting(monkeypatch):
    seen, real = [], hg.extreme_eigenvalues

    def spy(*args, **kwargs):
        seen.append(torch.get_num_threads())
        return real(*args, **kwargs)

    monkeypatch.setattr(hg, "extreme_eigenvalues", spy)
    obj, theta = hg.digits_objective("linear", 2, width=2, n=20)
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        hg.scaled_curvature(obj, theta, [1.0])
        hg.random_curvature(obj, theta[None], draws=1)
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)
    assert seen == [1, 1]


def test_along_the_flow_the_curvature_ends_near_zero_unlike_random_points():
    # the chapter's experiment at test scale: linear depth 2 from near zero, fixed-step RK4
    obj, theta0 = hg.digits_objective("linear", 2, width=4, n=40, scale=0.08)
    with gt.threads(1):
        flow = gt.gradient_flow(obj, theta0, torch.linspace(0, 14, 5), "rk4", step=0.07)
        curv = gt.curvature_along(obj, flow, tol=1e-6)
    rand = hg.random_curvature(obj, flow.thetas, draws=1, seed=1)
    assert flow.losses[-1] < 0.2 * flow.losses[0]
    assert torch.all(curv.lambda_max * 0.07 < 2.785)  # RK4 inside its stability limit
    assert abs(float(curv.lambda_min[-1])) < 0.1 * abs(float(rand[-1, 0]))
    assert abs(float(curv.lambda_min[0] - rand[0, 0])) < 0.5 * abs(float(curv.lambda_min[0]))  # alike at t = 0


# -- the bound's test instances ------------------------------------------------------------------------


def test_bound_cases_hold_and_near_tight_ones_approach_ratio_one():
    cases = hg.bound_cases(seed=1, depths=(2, 3, 4), per_depth=3)
    assert [c.depth for c in cases] == [2] * 5 + [3] * 5 + [4] * 5
    for c in cases:
        assert c.lambda_min >= c.bound - 1e-9 * (1 + abs(c.bound)), c
    tight = [c for c in cases if c.kind == "near-tight"]
    assert max(c.ratio for c in tight) > 0.99
    for big, small in zip(tight[::2], tight[1::2]):  # a = 0.5, then a = 0.2: tighter as a -> 0 (exact at N = 2)
        assert small.ratio > big.ratio if big.depth > 2 else small.ratio == pytest.approx(big.ratio, abs=1e-12)


@pytest.mark.parametrize("N", [2, 3, 4])
def test_the_near_tight_quadratic_form_has_the_closed_form(N):
    # W_j = a u_j u_{j-1}^T, L = 1/2 |W - u_N u_0^T|^2, Delta_j = u_j u_{j-1}^T / sqrt(N)
    g = torch.Generator().manual_seed(N)
    dims = [2] + [3] * (N - 1) + [2]
    units = [hg._unit(d, g) for d in dims]
    a = 0.3
    layers = [a * torch.outer(units[k + 1], units[k]) for k in range(N)]
    f = product_objective(dims, lambda W: whitened_loss(W, torch.outer(units[-1], units[0])))
    delta = theta_from_layers([torch.outer(units[k + 1], units[k]) / math.sqrt(N) for k in range(N)])
    form = float(delta @ f.hessian(theta_from_layers(layers)) @ delta)
    assert form == pytest.approx(N * a ** (2 * N - 2) - (N - 1) * a ** (N - 2) * (1 - a**N), rel=1e-10)
    grad_L = end_to_end(layers) - torch.outer(units[-1], units[0])
    assert gt.hessian_lower_bound(layers, grad_L) == pytest.approx(-(N - 1) * a ** (N - 2) * (1 - a**N), rel=1e-10)


def test_the_constant_n_minus_1_is_attained_on_a_scalar_chain():
    # f = g * w_1 ... w_N with all w = a: Hessian g a^{N-2} (J - I), lambda_min = (N-1) g a^{N-2} for g < 0
    for N in (2, 3, 4, 5):
        a, g = 0.7, -1.3
        obj = product_objective([1] * (N + 1), lambda W, g=g: g * W.sum())
        layers = [torch.full((1, 1), a, dtype=f64)] * N
        bound = gt.hessian_lower_bound(layers, torch.full((1, 1), g, dtype=f64))
        assert bound == pytest.approx((N - 1) * g * a ** (N - 2), rel=1e-12)
        assert dense_lambda_min(obj, theta_from_layers(layers)) == pytest.approx(bound, rel=1e-10)


def test_balanced_cases_hold_and_are_exact_at_depth_2():
    cases = hg.balanced_cases(seed=2, per_depth=2)
    assert {c.kind for c in cases} == {"balanced"} and [c.depth for c in cases] == [2, 2, 3, 3, 4, 4, 5, 5]
    for c in cases:
        assert c.lambda_min >= c.bound - 1e-9 * (1 + abs(c.bound)), c
        if c.depth == 2:
            assert c.ratio == pytest.approx(1.0, abs=1e-9)
        else:
            assert c.ratio < 1.0


def test_the_corollary_is_below_the_theorem_on_balanced_layers():
    # on balanced rank-one layers ||grad f|| >= a^{N-1} ||grad L||, so the corollary is the weaker bound
    g = torch.Generator().manual_seed(4)
    dims = [3, 4, 4, 1]
    layers = balanced_init(dims, 0.8, g)
    assert unbalancedness(layers) < 1e-12
    Phi = torch.randn(1, 3, generator=g, dtype=f64)
    obj = product_objective(dims, lambda W: whitened_loss(W, Phi))
    theta = theta_from_layers(layers)
    grad_L = end_to_end(layers) - Phi
    assert torch.allclose(hg.loss_gradient(lambda W: whitened_loss(W, Phi), end_to_end(layers)), grad_L)
    a = float(torch.linalg.matrix_norm(layers[0], 2))
    assert float(obj.grad(theta).norm()) >= a**2 * float(grad_L.norm()) * (1 - 1e-12)
    corollary = gt.balanced_scalar_bound(float(grad_L.norm()), float(obj.grad(theta).norm()), 3)
    theorem = gt.hessian_lower_bound(layers_from_theta(theta, dims), grad_L)
    assert dense_lambda_min(obj, theta) >= theorem - 1e-12 and corollary <= theorem + 1e-12


def test_bound_case_ratio():
    assert hg.BoundCase(3, "random", -1.0, -4.0).ratio == 0.25
    assert math.isnan(hg.BoundCase(3, "random", 0.5, 0.0).ratio)
