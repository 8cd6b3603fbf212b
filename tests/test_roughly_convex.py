"""gfteach.roughly_convex: the deep-linear Hessian bound, homogeneity scaling, the flow experiment, checkers."""

import math

import numpy as np
import pytest
import torch

from gfteach import Objective, extreme_eigenvalues
from gfteach.linear import balanced_init, end_to_end
from gfteach.nets import mlp, near_zero_init_
from gfteach.roughly_convex import (
    EXERCISE_GRADIENT,
    EXERCISE_LAYERS,
    _digits,
    balanced_cases,
    balanced_scalar_bound,
    bound_cases,
    check_bound_value,
    check_gradient_exponent,
    check_saddle_hessian,
    curvature_near_origin,
    digits_objective,
    fit_exponent,
    flow_curvature,
    hessian_lower_bound,
    layers_objective,
    origin_saddle,
    quadratic_phi,
)

f64 = torch.float64


def dense_lambda_min(obj, theta):
    return float(torch.linalg.eigvalsh(obj.hessian(theta))[0])


@pytest.mark.parametrize("depth", [2, 3, 4, 5])
def test_the_bound_holds_on_random_instances_of_every_depth(depth):
    g = torch.Generator().manual_seed(10 + depth)
    for _ in range(5):
        dims = torch.randint(1, 4, (depth + 1,), generator=g).tolist()
        layers = [torch.randn(b, a, generator=g, dtype=f64) for a, b in zip(dims, dims[1:])]
        Phi = 3 * torch.randn(dims[-1], dims[0], generator=g, dtype=f64)
        obj = layers_objective(dims, quadratic_phi(Phi))
        theta = torch.cat([W.reshape(-1) for W in layers])
        bound = hessian_lower_bound(layers, end_to_end(layers) - Phi)  # grad of 1/2|W - Phi|^2
        assert dense_lambda_min(obj, theta) >= bound - 1e-9 * (1 + abs(bound))


def test_the_constant_n_minus_1_is_attained_on_a_scalar_chain():
    # f = g * w_1 ... w_N with g < 0 and all w = a: Hessian g a^{N-2} (J - I), lambda_min = (N-1) g a^{N-2}
    for N in (2, 3, 4, 5):
        a, g = 0.7, -1.3
        obj = layers_objective([1] * (N + 1), lambda W, g=g: g * W.sum())
        theta = torch.full((N,), a, dtype=f64)
        layers = [torch.full((1, 1), a, dtype=f64)] * N
        bound = hessian_lower_bound(layers, torch.full((1, 1), g, dtype=f64))
        assert bound == pytest.approx((N - 1) * g * a ** (N - 2), rel=1e-12)
        assert dense_lambda_min(obj, theta) == pytest.approx(bound, rel=1e-10)


def test_a_smaller_constant_would_fail():
    # so the bound's (N - 1) is not a typo for something smaller: some near-tight case needs it
    cases = [c for c in bound_cases(seed=3, depths=(3, 4), per_depth=1) if c.kind == "near-tight"]
    assert max(c.ratio for c in cases) > 0.99
    for c in cases:
        if c.ratio > 0.99:  # with N - 1.5 in place of N - 1 the bound would fail here
            assert c.lambda_min < (c.depth - 1.5) / (c.depth - 1) * c.bound


def test_bound_cases_hold_and_include_near_tight_ones():
    cases = bound_cases(seed=1, per_depth=3)
    for c in cases:
        assert c.lambda_min >= c.bound - 1e-9 * (1 + abs(c.bound))
    assert max(c.ratio for c in cases if c.kind == "near-tight") > 0.99


def test_balanced_corollary_holds_and_is_exact_at_depth_2():
    for c in balanced_cases(seed=2, per_depth=2):
        assert c.lambda_min >= c.bound - 1e-9 * (1 + abs(c.bound))
        if c.depth == 2:
            assert c.ratio == pytest.approx(1.0, abs=1e-9)


def test_balanced_corollary_formula_matches_the_general_bound_on_balanced_layers():
    # on balanced rank-one layers: ||grad f|| >= a^{N-1} ||G||, so the corollary is below the theorem
    g = torch.Generator().manual_seed(4)
    dims = [3, 4, 4, 1]
    layers = balanced_init(dims, 0.8, g)
    Phi = torch.randn(1, 3, generator=g, dtype=f64)
    obj = layers_objective(dims, quadratic_phi(Phi))
    theta = torch.cat([W.reshape(-1) for W in layers])
    G = end_to_end(layers) - Phi
    a = float(torch.linalg.matrix_norm(layers[0], 2))
    assert all(float(torch.linalg.matrix_norm(W, 2)) == pytest.approx(a, rel=1e-10) for W in layers)
    assert float(obj.grad(theta).norm()) >= a**2 * float(G.norm()) * (1 - 1e-12)
    corollary = balanced_scalar_bound(float(G.norm()), float(obj.grad(theta).norm()), 3)
    assert corollary <= hessian_lower_bound(layers, G) + 1e-12


def test_depth_two_origin_is_a_strict_saddle_with_lambda_min_minus_sigma_max():
    r = origin_saddle(width=3, n=40)
    assert r["lambda_min"] == pytest.approx(-r["sigma_max"], rel=1e-8)
    assert r["lambda_max"] == pytest.approx(r["sigma_max"], rel=1e-8)


def test_curvature_near_the_origin_scales_like_s_to_the_n_minus_2():
    scales = [1e-3, 4e-3]
    values = curvature_near_origin((2, 3, 4), scales, width=3, n=40)
    for N, v in values.items():
        assert fit_exponent(scales, v) == pytest.approx(N - 2, abs=0.02)
    assert fit_exponent([1, 2, 4], [3, 12, 48]) == pytest.approx(2.0)


@pytest.mark.parametrize("activation", ["linear", "relu", "leaky_relu"])
def test_digits_objective_equals_the_module_objective(activation):
    obj, theta = digits_objective(activation, 3, width=4, n=30, scale=0.3)
    X, y = _digits(30)
    net = near_zero_init_(mlp([64, 4, 4, 10], activation), 0.3, torch.Generator().manual_seed(1))
    ref = Objective(net, X, y, "cross_entropy")
    assert torch.equal(ref.theta0(), theta)
    assert float(obj.value(theta)) == pytest.approx(float(ref.value(theta)), rel=1e-13)
    assert torch.allclose(obj.grad(theta), ref.grad(theta), rtol=1e-11, atol=1e-14)


def test_scaling_weights_up_makes_lambda_min_more_negative():
    obj, theta = digits_objective("relu", 3, width=4, n=30, scale=0.1)
    lows = [extreme_eigenvalues(obj, c * theta, tol=1e-8).lambda_min for c in (1, 4, 16)]
    assert lows[0] > lows[1] > lows[2] and lows[2] < 10 * lows[0]


def test_flow_curvature_is_near_zero_at_the_end_and_much_smaller_than_at_random_points():
    r = flow_curvature("linear", 2, 0.08, t_end=14.0, samples=5, n_random=1, width=4, n=40)
    assert r.losses[-1] < 0.2 * r.losses[0]
    assert np.all(r.lambda_max * r.step < 2.785)
    assert abs(r.lambda_min[-1]) < 0.1 * abs(r.random_lambda_min[-1].mean())
    assert r.negative_integral[0] == 0 and np.all(np.diff(r.negative_integral) <= 0)
    # trapezoid rule on the samples
    dt = r.times[1] - r.times[0]
    lam = np.minimum(r.lambda_min, 0)
    assert r.negative_integral[-1] == pytest.approx(dt * (lam.sum() - (lam[0] + lam[-1]) / 2))
    assert flow_curvature("linear", 2, 0.08, t_end=14.0, samples=5, n_random=1, width=4, n=40) is r  # cached
    assert torch.get_num_threads() >= 1


def test_single_thread_wrapper_restores_the_thread_count():
    before = torch.get_num_threads()
    origin_saddle(width=2, n=20)
    assert torch.get_num_threads() == before


def test_checkers_accept_right_answers_and_explain_slips(capsys):
    assert check_gradient_exponent(4, 3)
    assert not check_gradient_exponent(4, 4)
    assert "exponent of the output" in capsys.readouterr().out
    assert not check_gradient_exponent(4, 2)
    assert "Hessian" in capsys.readouterr().out
    assert not check_gradient_exponent(3, "two")
    assert check_saddle_hessian([[0, -1], [-1, 0]])
    assert not check_saddle_hessian([[0, 1], [1, 0]])
    assert "sign" in capsys.readouterr().out
    assert not check_saddle_hessian([[1, -1], [-1, 1]])
    assert not check_saddle_hessian([[0, -1], [0, 0]])
    assert "symmetric" in capsys.readouterr().out
    right = hessian_lower_bound(EXERCISE_LAYERS, EXERCISE_GRADIENT)
    assert right == pytest.approx(-20.0)
    assert check_bound_value(right)
    capsys.readouterr()
    for wrong, word in ((-10, "N - 1"), (-12, "minimum"), (20, "positive"), (-16, "spectral norm of ∇φ")):
        assert not check_bound_value(wrong)
        assert word in capsys.readouterr().out, wrong
    frobenius = -2 * 5 * math.sqrt(5)
    assert not check_bound_value(frobenius)
    assert "Frobenius norms of the layers" in capsys.readouterr().out
