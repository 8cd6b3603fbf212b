"""Numerical truths about gfteach.ode: orders, stability limits, agreement with SciPy, exact GD."""

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.integrate import solve_ivp
from scipy.linalg import expm

from gfteach import METHODS, IntegrationError, odeint

f64 = torch.float64


def logistic(t, y):
    return y * (1 - y)


def logistic_exact(t):
    return 1 / (1 + 9 * math.exp(-t))


def measured_order(method, steps=(1 / 8, 1 / 16, 1 / 32, 1 / 64), T=2.0):
    """Slope of log(global error at T) against log(step) on the logistic equation."""
    y0 = torch.tensor([0.1], dtype=f64)
    errors = [abs(float(odeint(logistic, y0, [0, T], method, step=h).y[-1, 0]) - logistic_exact(T)) for h in steps]
    return np.polyfit(np.log(steps), np.log(errors), 1)[0]


@pytest.mark.parametrize(
    "method, order", [("euler", 1), ("heun", 2), ("midpoint", 2), ("rk4", 4), ("bs23", 3), ("dopri5", 5)]
)
def test_measured_order_matches_declared(method, order):
    assert METHODS[method].order == order
    assert abs(measured_order(method) - order) < 0.2


def test_order_on_non_autonomous_system():
    # y' = -2 t y  has y = exp(-t^2); checks that stage times c_i h are used
    def f(t, y):
        return -2 * t * y

    steps = [0.05, 0.025, 0.0125]
    for method, order in [("heun", 2), ("rk4", 4), ("dopri5", 5)]:
        y0 = torch.ones(1, dtype=f64)
        errs = [abs(float(odeint(f, y0, [0, 1.0], method, step=h).y[-1, 0]) - math.exp(-1)) for h in steps]
        assert abs(np.polyfit(np.log(steps), np.log(errs), 1)[0] - order) < 0.25


@pytest.mark.parametrize("method, limit", [("euler", 2.0), ("heun", 2.0), ("rk4", 2.785), ("dopri5", 3.307)])
def test_stability_limits(method, limit):
    tab = METHODS[method]
    assert tab.stability_limit == pytest.approx(limit, abs=1e-3)
    # and the integrator obeys it on y' = lam y: decays just inside, grows just outside
    lam = -4.0
    y0 = torch.ones(1, dtype=f64)
    for factor, decays in [(0.98, True), (1.02, False)]:
        h = factor * tab.stability_limit / abs(lam)
        y = odeint(lambda t, y: lam * y, y0, [0, 400 * h], method, step=h).y[-1, 0]
        assert (abs(float(y)) < 1.0) == decays


def test_stability_polynomial_is_truncated_exponential_for_rk4():
    coef = METHODS["rk4"].stability_polynomial().coef
    assert np.allclose(coef, [1 / math.factorial(k) for k in range(5)])


def lotka_volterra(t, y):
    return torch.stack([1.5 * y[0] - y[0] * y[1], -3.0 * y[1] + y[0] * y[1]])


@pytest.mark.parametrize("rtol", [1e-4, 1e-7, 1e-10])
def test_adaptive_agrees_with_scipy_dop853(rtol):
    y0 = torch.tensor([2.0, 1.0], dtype=f64)
    t = np.linspace(0, 10, 41)
    sol = odeint(lotka_volterra, y0, t, "dopri5", rtol=rtol, atol=rtol * 1e-3)
    fun = lambda t, y: lotka_volterra(t, torch.from_numpy(y)).numpy()
    ref = solve_ivp(fun, (0, 10), y0.numpy(), "DOP853", t_eval=t, rtol=1e-12, atol=1e-14).y.T
    rel = np.abs(sol.y.numpy() - ref).max() / np.abs(ref).max()
    assert rel < 20 * rtol
    # same controller as SciPy's RK45: the same work, to within 5%
    rk45 = solve_ivp(fun, (0, 10), y0.numpy(), "RK45", t_eval=t, rtol=rtol, atol=rtol * 1e-3)
    assert abs(sol.nfev - rk45.nfev) <= 0.05 * rk45.nfev


def test_dense_output_costs_nothing_and_is_accurate():
    y0 = torch.tensor([2.0, 1.0], dtype=f64)
    coarse = odeint(lotka_volterra, y0, [0, 5.0], rtol=1e-9, atol=1e-12)
    fine = odeint(lotka_volterra, y0, np.linspace(0, 5, 501), rtol=1e-9, atol=1e-12)
    assert coarse.nfev == fine.nfev
    assert torch.equal(coarse.y[-1], fine.y[-1])
    fun = lambda t, y: lotka_volterra(t, torch.from_numpy(y)).numpy()
    ref = solve_ivp(fun, (0, 5), y0.numpy(), "DOP853", t_eval=fine.t.numpy(), rtol=1e-13, atol=1e-15).y.T
    assert np.abs(fine.y.numpy() - ref).max() < 1e-7


def test_initial_value_and_shape_are_kept():
    y0 = torch.arange(6, dtype=f64).reshape(2, 3)
    sol = odeint(lambda t, y: -y, y0, [0.0, 0.5, 1.0])
    assert sol.y.shape == (3, 2, 3)
    assert torch.equal(sol.y[0], y0)
    assert torch.allclose(sol.y[-1], y0 * math.exp(-1), rtol=1e-6)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), n=st.integers(1, 5))
def test_linear_systems_match_matrix_exponential(seed, n):
    g = np.random.default_rng(seed)
    M = g.normal(size=(n, n))
    A = -(M @ M.T) / n - 0.1 * np.eye(n) + 0.5 * (M - M.T)  # stable, non-normal
    y0 = g.normal(size=n)
    At = torch.from_numpy(A)
    sol = odeint(lambda t, y: At @ y, torch.from_numpy(y0), [0.0, 1.0, 2.0], rtol=1e-10, atol=1e-12)
    for i, t in enumerate([0.0, 1.0, 2.0]):
        exact = expm(A * t) @ y0
        assert np.allclose(sol.y[i].numpy(), exact, rtol=1e-7, atol=1e-9)


def test_euler_on_negative_gradient_is_sgd_bit_for_bit():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(5, 7), torch.nn.Tanh(), torch.nn.Linear(7, 2)).double()
    X, Y = torch.randn(20, 5, dtype=f64), torch.randn(20, 2, dtype=f64)
    names = [n for n, _ in model.named_parameters()]
    shapes = [p.shape for p in model.parameters()]
    theta0 = torch.cat([p.detach().reshape(-1) for p in model.parameters()])

    def loss_of(theta):
        chunks = torch.split(theta, [s.numel() for s in shapes])
        params = {n: c.view(s) for n, c, s in zip(names, chunks, shapes)}
        return torch.nn.functional.mse_loss(torch.func.functional_call(model, params, (X,)), Y)

    def minus_grad(t, theta):
        theta = theta.detach().requires_grad_(True)
        return -torch.autograd.grad(loss_of(theta), theta)[0]

    lr, steps = 0.05, 60
    sol = odeint(minus_grad, theta0, torch.arange(steps + 1, dtype=f64) * lr, "euler", step=lr)
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    for k in range(steps):
        opt.zero_grad()
        torch.nn.functional.mse_loss(model(X), Y).backward()
        opt.step()
        if k in (0, steps // 2, steps - 1):
            theta_k = torch.cat([p.detach().reshape(-1) for p in model.parameters()])
            assert torch.equal(sol.y[k + 1], theta_k), f"differs from SGD at step {k + 1}"
    assert sol.nfev == steps


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(y0=torch.tensor([float("nan")])), "y0 must be finite"),
        (dict(y0=[1.0]), "y0 must be a torch.Tensor"),
        (dict(y0=torch.tensor([1])), "y0 must have a floating dtype"),
        (dict(t=[0.0, 1.0, 0.5]), "t must be strictly increasing"),
        (dict(t=[]), "t must be a non-empty"),
        (dict(step=0.0, method="euler"), "step must be a positive"),
        (dict(step=-0.1, method="euler"), "step must be a positive"),
        (dict(rtol=0.0), "rtol must be a positive"),
        (dict(atol=-1.0), "atol must be a positive"),
        (dict(method="rk5"), "method must be one of"),
        (dict(method="rk4"), "method 'rk4' has no embedded error estimate"),
        (dict(method="euler", step=0.3), r"t\[1\] = 1 is not on the fixed-step grid"),
    ],
)
def test_bad_input_names_the_argument(kwargs, match):
    args = dict(fun=lambda t, y: -y, y0=torch.ones(1, dtype=f64), t=[0.0, 1.0])
    args.update(kwargs)
    with pytest.raises((ValueError, TypeError), match=match):
        odeint(**args)


def test_fixed_step_blow_up_is_reported_with_its_time():
    with pytest.raises(IntegrationError, match="non-finite") as info:
        odeint(lambda t, y: y**2, torch.ones(1, dtype=f64), [0.0, 2.0], "euler", step=0.01)
    assert 1.0 < info.value.t < 2.0
    assert torch.isfinite(info.value.solution.y).all()


def test_adaptive_blow_up_stops_at_the_singularity():
    # y' = y^2, y(0) = 1 has y = 1/(1 - t): it blows up at t = 1
    with pytest.raises(IntegrationError, match="too small") as info:
        odeint(lambda t, y: y**2, torch.ones(1, dtype=f64), [0.0, 0.5, 2.0], rtol=1e-8, atol=1e-10)
    assert info.value.t == pytest.approx(1.0, abs=1e-3)
    assert info.value.solution.y[1, 0] == pytest.approx(2.0, rel=1e-6)
