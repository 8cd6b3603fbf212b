"""Numerical truths about gfteach.curvature: Lanczos against eigvalsh, the GD-GF bound holds."""

import warnings

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from gfteach.bounds import approximation_bound
from gfteach.curvature import ConvergenceError, curvature_along, extreme_eigenvalues
from gfteach.flow import gd_time_grid, gradient_descent, gradient_flow
from gfteach.objective import Objective, as_objective

f64 = torch.float64


def network(seed, act, noise=None, n_samples=40, sizes=(5, 12, 12, 2)):
    """A small MLP (254 parameters); targets random, or the network's own outputs plus ``noise``."""
    torch.manual_seed(seed)
    layers = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers += [nn.Linear(a, b)] + ([act()] if i < len(sizes) - 2 else [])
    model = nn.Sequential(*layers).to(f64)
    X = torch.randn(n_samples, sizes[0], dtype=f64)
    with torch.no_grad():
        Y = (
            torch.randn(n_samples, sizes[-1], dtype=f64)
            if noise is None
            else model(X) + noise * torch.randn_like(model(X))
        )
    return Objective(model, X, Y)


def dense_spectrum(obj, theta):
    return np.linalg.eigvalsh(obj.hessian(theta).numpy())


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("act", [nn.Tanh, nn.ReLU])
def test_lanczos_matches_eigvalsh_on_random_networks(seed, act):
    obj = network(seed, act)
    theta = obj.theta0()
    eig = dense_spectrum(obj, theta)
    result = extreme_eigenvalues(obj, theta, dense=False)
    assert result.method == "lanczos" and result.converged
    assert abs(result.lambda_min - eig[0]) <= 1e-8 * abs(eig[0])
    assert abs(result.lambda_max - eig[-1]) <= 1e-8 * abs(eig[-1])
    assert result.n_hvp == result.iterations < obj.n_params / 2


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("act", [nn.Tanh, nn.ReLU])
def test_smallest_eigenvalue_inside_a_cluster_near_zero(seed, act):
    # targets = the network's own outputs + tiny noise: at this initialization the Hessian is its
    # Gauss-Newton part (rank <= 48 of 254) plus a small indefinite residual term, so most
    # eigenvalues cluster near 0 and lambda_min is a small negative number inside that cluster.
    obj = network(seed, act, noise=1e-3, n_samples=24)
    theta = obj.theta0()
    eig = dense_spectrum(obj, theta)
    in_cluster = np.abs(eig) <= 2 * abs(eig[0])
    assert eig[0] < 0 and abs(eig[0]) < 1e-3 * eig[-1] and in_cluster.sum() >= 0.8 * len(eig)
    result = extreme_eigenvalues(obj, theta, dense=False)
    assert abs(result.lambda_min - eig[0]) <= 1e-8 * abs(eig[0])
    assert abs(result.lambda_max - eig[-1]) <= 1e-8 * abs(eig[-1])


def test_ritz_vectors_are_eigenvectors():
    obj = network(3, nn.Tanh)
    theta = obj.theta0()
    result = extreme_eigenvalues(obj, theta, dense=False)
    H = obj.hessian(theta)
    for value, vector in ((result.lambda_min, result.vector_min), (result.lambda_max, result.vector_max)):
        assert float(vector.norm()) == pytest.approx(1.0, abs=1e-12)
        residual = float((H @ vector - value * vector).norm())
        assert residual <= 1e-9 * abs(result.lambda_max)


def test_asking_for_one_end_costs_fewer_products():
    obj = network(0, nn.Tanh)
    theta = obj.theta0()
    both = extreme_eigenvalues(obj, theta, dense=False)
    top = extreme_eigenvalues(obj, theta, which="max", dense=False)
    assert top.n_hvp < both.n_hvp
    assert abs(top.lambda_max - both.lambda_max) <= 1e-10 * abs(both.lambda_max)


def test_non_convergence_raises_or_warns():
    obj = network(0, nn.Tanh)
    theta = obj.theta0()
    with pytest.raises(ConvergenceError, match="did not converge in 3 steps") as info:
        extreme_eigenvalues(obj, theta, max_iter=3, dense=False)
    assert not info.value.result.converged and info.value.result.n_hvp == 3
    with pytest.warns(RuntimeWarning, match="did not converge"):
        result = extreme_eigenvalues(obj, theta, max_iter=3, dense=False, on_failure="warn")
    assert not result.converged


@settings(max_examples=25, deadline=None)
@given(n=st.integers(2, 24), seed=st.integers(0, 10_000))
def test_lanczos_on_random_quadratics(n, seed):
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((n, n))
    A = (A + A.T) / 2
    At = torch.as_tensor(A, dtype=f64)
    eig = np.linalg.eigvalsh(A)
    scale = np.abs(eig).max()
    result = extreme_eigenvalues(lambda t: 0.5 * t @ At @ t, torch.zeros(n, dtype=f64), dense=False)
    assert abs(result.lambda_min - eig[0]) <= 1e-9 * scale
    assert abs(result.lambda_max - eig[-1]) <= 1e-9 * scale


def test_dense_path_for_small_problems_and_zero_hessian():
    f = as_objective(lambda t: (t[0] ** 2 - 1) ** 2 + 3 * t[1] ** 2)
    result = extreme_eigenvalues(f, torch.tensor([0.0, 0.0], dtype=f64))
    assert result.method == "dense" and (result.lambda_min, result.lambda_max) == (-4.0, 6.0)
    flat = extreme_eigenvalues(lambda t: t.sum(), torch.ones(80, dtype=f64), dense=False)
    assert (flat.lambda_min, flat.lambda_max, flat.converged) == (0.0, 0.0, True)


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(which="middle"), ValueError, "which must be"),
        (dict(tol=0.0), ValueError, "tol must be a positive"),
        (dict(max_iter=0, dense=False), ValueError, "max_iter must be an integer >= 1"),
        (dict(v0=torch.zeros(3, dtype=f64), dense=False), ValueError, "v0 must be non-zero"),
        (dict(v0=torch.ones(4, dtype=f64), dense=False), ValueError, "v0 must be a finite tensor shaped like theta"),
        (dict(theta=torch.ones(3, dtype=torch.float32)), TypeError, "theta must have dtype"),
    ],
)
def test_bad_inputs_raise_clear_errors(kwargs, error, match):
    args = dict(obj=lambda t: (t**2).sum(), theta=torch.ones(3, dtype=f64)) | kwargs
    with pytest.raises(error, match=match):
        extreme_eigenvalues(**args)


def test_curvature_along_a_saddle_is_constant_and_integrates():
    S = torch.diag(torch.tensor([1.0, -0.5], dtype=f64))
    f = lambda t: 0.5 * t @ S @ t
    gf = gradient_flow(f, torch.tensor([1.0, 0.01], dtype=f64), [0.0, 0.5, 1.0, 2.0])
    c = curvature_along(f, gf)
    assert torch.equal(c.lambda_min, torch.full((4,), -0.5, dtype=f64))
    assert torch.equal(c.lambda_max, torch.full((4,), 1.0, dtype=f64))
    torch.testing.assert_close(c.negative_integral, -0.5 * c.times)
    sparse = curvature_along(f, gf, every=2)
    assert sparse.times.tolist() == [0.0, 1.0, 2.0]


def test_curvature_along_a_network_run_matches_dense_and_warm_start_agrees():
    obj = network(0, nn.Tanh)
    gd = gradient_descent(obj, obj.theta0(), 0.1, 20, record_every=5)
    cold = curvature_along(obj, gd, warm_start=False, dense=False)
    warm = curvature_along(obj, gd, warm_start=True, dense=False)
    exact = np.array([dense_spectrum(obj, theta)[[0, -1]] for theta in gd.thetas])
    for c in (cold, warm):
        np.testing.assert_allclose(c.lambda_min.numpy(), exact[:, 0], rtol=1e-7)
        np.testing.assert_allclose(c.lambda_max.numpy(), exact[:, 1], rtol=1e-7)
    negative = np.minimum(exact[:, 0], 0)
    trapezoid = np.concatenate([[0], np.cumsum(np.diff(gd.times.numpy()) * (negative[1:] + negative[:-1]) / 2)])
    np.testing.assert_allclose(cold.negative_integral.numpy(), trapezoid, rtol=1e-7)


def two_dimensional_landscapes():
    convex = torch.tensor([[2.0, 0.6], [0.6, 0.5]], dtype=f64)
    saddle = torch.diag(torch.tensor([1.0, -0.8], dtype=f64))
    return {
        "convex quadratic": (lambda t: 0.5 * t @ convex @ t, [1.0, -1.0], 0.2, 40),
        "saddle": (lambda t: 0.5 * t @ saddle @ t, [1.0, 0.05], 0.1, 40),
        "double well": (lambda t: (t[0] ** 2 - 1) ** 2 / 4 + t[1] ** 2 / 2 + 0.3 * torch.sin(2 * t[0]) * t[1],
                        [0.05, 0.5], 0.05, 100),
        "nonconvex bowl": (lambda t: torch.cos(t[0]) * torch.cos(t[1]) + 0.1 * (t @ t), [0.3, -0.2], 0.1, 60),
    }  # fmt: skip


@pytest.mark.parametrize("name", list(two_dimensional_landscapes()))
def test_the_derived_bound_holds_on_two_dimensional_landscapes(name):
    f, start, eta, steps = two_dimensional_landscapes()[name]
    theta0 = torch.tensor(start, dtype=f64)
    gd = gradient_descent(f, theta0, eta, steps)
    gf = gradient_flow(f, theta0, gd_time_grid(eta, steps), rtol=1e-12, atol=1e-14)
    b = approximation_bound(f, gd, gf)
    assert b.holds and (b.distance <= b.bound * (1 + 1e-9)).all()
    assert (b.bound <= b.closed_form * (1 + 1e-12)).all()
    assert b.distance[-1] > 0 and b.bound[0] == 0


def test_the_derived_bound_holds_on_a_small_network():
    obj = network(1, nn.Tanh, n_samples=30)
    theta0 = obj.theta0()
    eta, steps = 0.1, 30
    gd = gradient_descent(obj, theta0, eta, steps, record_every=3)
    gf = gradient_flow(obj, theta0, gd_time_grid(eta, steps, 3), rtol=1e-10, atol=1e-12)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        b = approximation_bound(obj, gd, gf)
    assert b.holds and (b.distance[1:] > 0).all()
    assert (b.bound <= b.closed_form * (1 + 1e-12)).all()
    assert b.beta > 0 and b.gamma > 0


def test_bound_on_a_quadratic_is_tight_after_one_step():
    # one GD step on 1/2 lam theta^2 errs by |1 - eta lam - exp(-eta lam)| theta0 ~ (eta lam)^2 theta0 / 2
    lam, eta = 1.0, 0.01
    f = lambda t: 0.5 * lam * (t**2).sum()
    theta0 = torch.ones(1, dtype=f64)
    gd = gradient_descent(f, theta0, eta, 1)
    gf = gradient_flow(f, theta0, gd_time_grid(eta, 1), rtol=1e-13, atol=1e-15)
    b = approximation_bound(f, gd, gf)
    assert b.holds and float(b.distance[1] / b.bound[1]) > 0.99


def test_bound_rejects_swapped_runs_and_bad_safety():
    f = lambda t: 0.5 * (t**2).sum()
    gd = gradient_descent(f, torch.ones(1, dtype=f64), 0.1, 3)
    gf = gradient_flow(f, torch.ones(1, dtype=f64), gd_time_grid(0.1, 3))
    with pytest.raises(ValueError, match="in that order"):
        approximation_bound(f, gf, gd)
    with pytest.raises(ValueError, match="safety must be"):
        approximation_bound(f, gd, gf, safety=0.5)
    assert approximation_bound(f, gd, gf, safety=2.0).beta == 2.0
