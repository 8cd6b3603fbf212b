"""Numerical truths about gfteach.flow: GD is SGD bit for bit, GF is the matrix exponential."""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.linalg import expm
from torch import nn

from gfteach.flow import (
    DivergenceError,
    DivergenceWarning,
    distance,
    gd_time_grid,
    gradient_descent,
    gradient_flow,
)
from gfteach.objective import Objective

f64 = torch.float64


def small_mlp_objective(act=nn.Tanh, seed=0):
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(4, 8), act(), nn.Linear(8, 6), act(), nn.Linear(6, 2)).to(f64)
    X = torch.randn(40, 4, dtype=f64)
    Y = torch.randn(40, 2, dtype=f64)
    return Objective(model, X, Y), model, X, Y


def quadratic(A):
    return lambda t: 0.5 * t @ A @ t


def random_matrix(rng, n, definite):
    Q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    eig = rng.uniform(0.1, 2.0, n) if definite else rng.uniform(-1.0, 2.0, n)
    return torch.as_tensor(Q @ np.diag(eig) @ Q.T, dtype=f64)


@pytest.mark.parametrize("act", [nn.Tanh, nn.ReLU])
def test_gradient_descent_equals_torch_sgd_bit_for_bit(act):
    obj, model, X, Y = small_mlp_objective(act)
    theta0 = obj.theta0()
    run = gradient_descent(obj, theta0, step=0.05, steps=30)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
    for k in range(30):
        assert torch.equal(obj.theta0(), run.thetas[k]), f"iterate {k} differs"
        optimizer.zero_grad()
        loss = F.mse_loss(model(X), Y)
        assert torch.equal(loss.detach(), run.losses[k])
        loss.backward()
        optimizer.step()
    assert torch.equal(obj.theta0(), run.thetas[-1])
    assert run.n_grad == 30 and run.kind == "gd" and not run.diverged


def test_recording_every_r_steps_keeps_the_last_iterate():
    obj, *_ = small_mlp_objective()
    full = gradient_descent(obj, obj.theta0(), 0.1, 10)
    sparse = gradient_descent(obj, obj.theta0(), 0.1, 10, record_every=4)
    assert sparse.iterations.tolist() == [0, 4, 8, 10]
    assert torch.equal(sparse.thetas, full.thetas[[0, 4, 8, 10]])
    assert torch.equal(sparse.times, gd_time_grid(0.1, 10, 4))
    assert torch.equal(sparse.theta_final, full.theta_final)


@settings(max_examples=20, deadline=None)
@given(n=st.integers(1, 5), seed=st.integers(0, 10_000), k=st.integers(0, 60), fraction=st.floats(0.05, 0.95))
def test_gd_on_quadratic_is_the_matrix_power(n, seed, k, fraction):
    rng = np.random.default_rng(seed)
    A = random_matrix(rng, n, definite=True)
    eta = fraction * 2 / float(torch.linalg.eigvalsh(A)[-1])
    theta0 = torch.as_tensor(rng.standard_normal(n), dtype=f64)
    run = gradient_descent(quadratic(A), theta0, eta, k)
    exact = np.linalg.matrix_power(np.eye(n) - eta * A.numpy(), k) @ theta0.numpy()
    assert np.linalg.norm(run.theta_final.numpy() - exact) <= 1e-12 * np.linalg.norm(theta0.numpy())


@settings(max_examples=12, deadline=None)
@given(n=st.integers(1, 4), seed=st.integers(0, 10_000), definite=st.booleans())
def test_gf_on_quadratic_is_the_matrix_exponential(n, seed, definite):
    rng = np.random.default_rng(seed)
    A = random_matrix(rng, n, definite)
    theta0 = torch.as_tensor(rng.standard_normal(n), dtype=f64)
    times = np.array([0.0, 0.3, 1.0, 2.0])
    run = gradient_flow(quadratic(A), theta0, times, rtol=1e-12, atol=1e-14)
    for t, theta in zip(times, run.thetas):
        exact = expm(-A.numpy() * t) @ theta0.numpy()
        assert np.linalg.norm(theta.numpy() - exact) <= 1e-9 * max(1.0, np.linalg.norm(exact))
    assert run.kind == "gf" and run.n_grad > 0
    torch.testing.assert_close(run.losses, torch.stack([0.5 * th @ A @ th for th in run.thetas]))


def test_gf_on_a_network_counts_its_gradients_and_decreases_the_loss():
    obj, *_ = small_mlp_objective()
    run = gradient_flow(obj, obj.theta0(), [0.0, 1.0, 2.0, 4.0], rtol=1e-8)
    assert (run.losses[1:] < run.losses[:-1]).all()
    assert run.n_grad > 6 and run.method == "dopri5"


def test_distance_matches_gd_iterate_k_with_gf_time_k_eta():
    A = torch.diag(torch.tensor([1.0, 0.2], dtype=f64))
    theta0 = torch.tensor([1.0, 1.0], dtype=f64)
    eta, steps = 0.1, 20
    gd = gradient_descent(quadratic(A), theta0, eta, steps, record_every=5)
    gf = gradient_flow(quadratic(A), theta0, gd_time_grid(eta, steps), rtol=1e-12, atol=1e-14)
    d = distance(gd, gf)
    k = gd.iterations.numpy()[:, None]
    lam = np.array([1.0, 0.2])
    exact = np.linalg.norm((1 - eta * lam) ** k - np.exp(-lam * k * eta), axis=1)
    np.testing.assert_allclose(d.numpy(), exact, rtol=1e-8, atol=1e-14)
    off_grid = gradient_flow(quadratic(A), theta0, [0.0, 0.33, 2.0])
    with pytest.raises(ValueError, match="not among the second's times"):
        distance(gd, off_grid)


def test_gd_divergence_is_flagged_at_the_right_step():
    lam, eta = 2.0, 1.5  # |1 - eta*lam| = 2: theta_k = (-2)^k, the loss lam*theta^2/2 overflows first
    f = lambda t: 0.5 * lam * (t**2).sum()
    theta, k = 1.0, 0
    while math.isfinite(0.5 * lam * theta * theta):
        theta, k = theta - eta * lam * theta, k + 1
    with pytest.warns(DivergenceWarning, match=f"iterate k = {k} "):
        run = gradient_descent(f, torch.ones(1, dtype=f64), eta, 2000)
    assert run.diverged and run.diverged_step == k and run.diverged_at == k * eta
    assert int(run.iterations[-1]) == k - 1 and torch.isfinite(run.thetas).all() and torch.isfinite(run.losses).all()
    with pytest.raises(DivergenceError, match="gradient descent diverged") as info:
        gradient_descent(f, torch.ones(1, dtype=f64), eta, 2000, on_divergence="raise")
    assert info.value.trajectory.diverged_step == k


def test_gf_blow_up_is_flagged_with_its_time():
    # theta' = 4 theta^3 from theta0 = 1 blows up at t* = 1/8
    f = lambda t: -(t**4).sum()
    with pytest.warns(DivergenceWarning, match="gradient flow diverged"):
        run = gradient_flow(f, torch.ones(1, dtype=f64), [0.0, 0.05, 0.1, 0.2, 0.3])
    assert run.diverged and abs(run.diverged_at - 0.125) < 1e-3
    assert len(run) == 3 and torch.isfinite(run.thetas).all()


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(step=0.0), ValueError, "step must be a positive number, got 0.0"),
        (dict(step=-0.1), ValueError, "step must be a positive number, got -0.1"),
        (dict(step=float("nan")), ValueError, "step must be finite"),
        (dict(step=True), TypeError, "step must be a positive number, got the bool True"),
        (dict(step="0.1"), TypeError, "step must be a positive number, got str '0.1'"),
        (dict(steps=-1), ValueError, "steps must be an integer >= 0, got -1"),
        (dict(steps=2.0), TypeError, "steps must be an integer >= 0, got float 2.0"),
        (dict(record_every=0), ValueError, "record_every must be an integer >= 1"),
        (dict(theta0=torch.tensor([float("inf"), 0.0], dtype=f64)), ValueError, "theta0 must be finite"),
        (dict(theta0=torch.zeros(2, dtype=torch.float32)), TypeError, "theta0 must have dtype torch.float64"),
        (dict(theta0=torch.zeros(1, 2, dtype=f64)), ValueError, "theta0 must be a flat 1-D"),
        (dict(on_divergence="ignore"), ValueError, "on_divergence must be"),
    ],
)
def test_gd_bad_inputs_raise_clear_errors(kwargs, error, match):
    args = dict(obj=lambda t: (t**2).sum(), theta0=torch.ones(2, dtype=f64), step=0.1, steps=3) | kwargs
    with pytest.raises(error, match=match):
        gradient_descent(**args)


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(t_eval=[0.0, 2.0, 1.0]), ValueError, "t_eval must be strictly increasing"),
        (dict(t_eval=[0.0, 1.0, 1.0]), ValueError, "t_eval must be strictly increasing"),
        (dict(t_eval=[0.0, float("nan")]), ValueError, "t_eval must contain only finite times"),
        (dict(t_eval=[]), ValueError, "t_eval must be a non-empty 1-D"),
        (dict(theta0=torch.tensor([float("nan"), 0.0], dtype=f64)), ValueError, "theta0 must be finite"),
        (dict(theta0=[1.0, 2.0]), TypeError, "theta0 must be a torch.Tensor"),
        (dict(method="leapfrog"), ValueError, "method must be one of"),
    ],
)
def test_gf_bad_inputs_raise_clear_errors(kwargs, error, match):
    args = dict(obj=lambda t: (t**2).sum(), theta0=torch.ones(2, dtype=f64), t_eval=[0.0, 1.0]) | kwargs
    with pytest.raises(error, match=match):
        gradient_flow(**args)


def test_fixed_step_euler_flow_is_gradient_descent():
    obj, *_ = small_mlp_objective()
    gd = gradient_descent(obj, obj.theta0(), 0.1, 12, record_every=3)
    gf = gradient_flow(obj, obj.theta0(), gd.times, method="euler", step=0.1)
    assert torch.equal(gf.thetas, gd.thetas)
    assert float(distance(gd, gf).max()) == 0.0
