"""Numerical truths about gfteach.bounds: each bound holds against an independent computation, and each
inverse (a step from a bound) gives back its target."""

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from gfteach.bounds import (
    balanced_scalar_bound,
    classic_euler_bound,
    classic_euler_step,
    hessian_lower_bound,
    scalar_gap,
    scalar_gap_estimate,
    step_for_accuracy,
    step_from_bound,
    tracking_bound,
)
from gfteach.curvature import extreme_eigenvalues
from gfteach.flow import distance, gd_time_grid, gradient_descent, gradient_flow

f64 = torch.float64
positive = st.floats(1e-3, 1e2)


@settings(max_examples=5, deadline=None)
@given(seed=st.integers(0, 10_000), fraction=st.floats(0.05, 0.9))
def test_tracking_bound_holds_on_convex_quadratics(seed, fraction):
    # f = 1/2 theta^T A theta, A > 0: m >= 0 so I = 0; beta = lambda_max, gamma = |grad f(theta0)| (the
    # gradient norm decreases along both runs when eta < 1/lambda_max)
    rng = np.random.default_rng(seed)
    Q, _ = np.linalg.qr(rng.standard_normal((3, 3)))
    eig = rng.uniform(0.2, 2.0, 3)
    A = torch.as_tensor(Q @ np.diag(eig) @ Q.T, dtype=f64)
    f = lambda t: 0.5 * t @ A @ t
    theta0 = torch.as_tensor(rng.standard_normal(3), dtype=f64)
    eta, steps = fraction / eig.max(), 30
    gd = gradient_descent(f, theta0, eta, steps)
    gf = gradient_flow(f, theta0, gd_time_grid(eta, steps), rtol=1e-12, atol=1e-14)
    bound = tracking_bound(gd.times, eta, eig.max(), float((A @ theta0).norm()))
    assert (distance(gd, gf) <= bound * (1 + 1e-9) + 1e-15).all()


@settings(max_examples=40, deadline=None)
@given(beta=positive, gamma=positive, t=positive, target=positive, neg=st.floats(-20, 0))
def test_steps_from_bounds_give_back_their_targets(beta, gamma, t, target, neg):
    eta = step_from_bound(beta, gamma, t, target, neg)
    assert float(tracking_bound(t, eta, beta, gamma, neg)) == pytest.approx(target, rel=1e-12)
    if beta * t < 700:  # e^{beta t} representable
        eta = classic_euler_step(beta, gamma, t, target)
        assert float(classic_euler_bound(t, eta, beta, gamma)) == pytest.approx(target, rel=1e-10)


@settings(max_examples=40, deadline=None)
@given(beta=positive, gamma=positive, t=st.floats(1e-3, 50), eta=positive)
def test_the_classic_bound_is_never_below_the_convex_tracking_bound(beta, gamma, t, eta):
    # (gamma eta / 2)(e^{beta t} - 1) >= (beta gamma / 2) t eta since e^x - 1 >= x
    assert float(classic_euler_bound(t, eta, beta, gamma)) >= float(tracking_bound(t, eta, beta, gamma)) * (1 - 1e-12)


def test_tracking_bound_takes_one_curvature_integral_per_time():
    t = torch.tensor([0.0, 1.0, 2.0], dtype=f64)
    neg = torch.tensor([0.0, -0.5, -1.0], dtype=f64)
    out = tracking_bound(t, 0.1, 2.0, 3.0, neg)
    torch.testing.assert_close(out, 0.3 * t * torch.exp(-neg))  # beta gamma / 2 * eta = 0.3
    with pytest.raises(ValueError, match=r"negative_integral must be a number or have the shape of t \(3,\)"):
        tracking_bound(t, 0.1, 2.0, 3.0, neg[:2])


@pytest.mark.parametrize("lam, eta, t", [(1.0, 0.1, 3.0), (-0.5, 0.05, 4.0), (2.0, 0.2, 1.0), (-2.0, 0.01, 2.0)])
def test_scalar_gap_is_the_gap_of_the_runs(lam, eta, t):
    f = lambda th: 0.5 * lam * (th**2).sum()
    steps = round(t / eta)
    gd = gradient_descent(f, torch.full((1,), 0.7, dtype=f64), eta, steps)
    exact = 0.7 * math.exp(-lam * steps * eta)  # the flow in closed form
    assert scalar_gap(lam, 0.7, eta, steps * eta) == pytest.approx(abs(float(gd.theta_final[0]) - exact), rel=1e-10)


@pytest.mark.parametrize("m, eta, t", [(1.0, 1e-3, 2.0), (0.5, 1e-4, 5.0), (2.0, 1e-4, 1.0)])
def test_the_hilltop_estimate_has_the_announced_relative_error(m, eta, t):
    exact, estimate = scalar_gap(-m, 1.0, eta, t), scalar_gap_estimate(m, 1.0, eta, t)
    announced = eta * m * (2 / 3 + m * t / 4)
    assert (estimate - exact) / exact == pytest.approx(announced, rel=0.05)


@pytest.mark.parametrize("lam", [1.0, 0.0, -1.0])
def test_step_for_accuracy_is_the_largest_step_within_eps(lam):
    t, eps = 2.0, 1e-3
    eta = step_for_accuracy(lam, 1.0, t, eps)
    gap = (lambda e: scalar_gap(lam, 1.0, e, t)) if lam else (lambda e: 0.0)
    if lam == 0:
        assert eta == math.inf
        return
    assert gap(eta) <= eps < gap(eta * (1 + 1e-6))


def _deep_linear(seed, dims):
    g = torch.Generator().manual_seed(seed)
    sizes = [(b, a) for a, b in zip(dims[:-1], dims[1:])]
    layers = [torch.randn(*s, generator=g, dtype=f64) * 0.7 for s in sizes]
    target = torch.randn(dims[-1], dims[0], generator=g, dtype=f64)
    return layers, target, sizes


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("dims", [[3, 2, 2], [2, 3, 3, 2], [2, 2, 2, 2, 1]])
def test_the_deep_linear_curvature_bound_holds(seed, dims):
    layers, target, sizes = _deep_linear(seed, dims)

    def f(theta):
        W, offset = None, 0
        for r, c in sizes:
            Wk = theta[offset : offset + r * c].view(r, c)
            W, offset = (Wk if W is None else Wk @ W), offset + r * c
        return 0.5 * ((W - target) ** 2).sum()

    theta = torch.cat([W.reshape(-1) for W in layers])
    end = layers[0]
    for W in layers[1:]:
        end = W @ end
    lam_min = extreme_eigenvalues(f, theta, dense=True).lambda_min
    bound = hessian_lower_bound(layers, end - target)
    assert bound <= 0 and lam_min >= bound - 1e-10 * abs(bound)


def test_balanced_scalar_bound_agrees_with_the_general_bound_at_depth_two():
    # N = 2: both are -|grad phi| (the product over an empty set of layers is 1)
    layers = [torch.randn(2, 3, dtype=f64), torch.randn(1, 2, dtype=f64)]
    grad_phi = torch.tensor([[0.3, -0.4, 1.2]], dtype=f64)
    assert hessian_lower_bound(layers, grad_phi) == pytest.approx(balanced_scalar_bound(1.3, 5.0, 2))
    assert balanced_scalar_bound(1.3, 5.0, 1) == 0.0
