"""Numerical truths about gfteach.rk_analysis: exact solutions, measured orders, stability regions, the GD threshold."""

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import gfteach as gt
from gfteach.rk_analysis import (
    exp_sin_ivp,
    global_errors,
    kepler_ivp,
    largest_stable_step,
    order_conditions,
    quadratic_ivp,
    quadratic_path,
    stability_region,
    work_precision,
)

f64 = torch.float64


def _residual(ivp, t, eps=1e-6):
    """|y'(t) - F(t, y(t))| for the claimed exact solution, by central differences."""
    dy = (ivp.solution(t + eps) - ivp.solution(t - eps)) / (2 * eps)
    return float((dy - ivp.fun(t, ivp.solution(t))).abs().max())


@pytest.mark.parametrize(
    "ivp", [exp_sin_ivp(), kepler_ivp(0.9), kepler_ivp(0.0), quadratic_ivp([[2.0, 1.0], [1.0, 3.0]], [1.0, -1.0])]
)
def test_exact_solutions_solve_their_odes(ivp):
    assert torch.allclose(ivp.solution(0.0), ivp.y0, atol=1e-15)
    for t in (0.3, 1.7, 3.1, 5.9):
        assert _residual(ivp, t) < 1e-7


def test_kepler_is_periodic_and_conserves_energy():
    ivp = kepler_ivp(0.7, orbits=2)
    assert ivp.t_end == pytest.approx(4 * math.pi)
    assert torch.allclose(ivp.solution(2 * math.pi), ivp.y0, atol=1e-12)

    def energy(y):
        return 0.5 * float(y[2:] @ y[2:]) - 1 / float(y[:2].norm())

    for t in (0.5, 2.0, 4.0):
        assert energy(ivp.solution(t)) == pytest.approx(-0.5, abs=1e-12)  # semi-major axis 1
    with pytest.raises(ValueError, match="eccentricity"):
        kepler_ivp(1.0)
    with pytest.raises(ValueError, match="orbits"):
        kepler_ivp(0.5, orbits=0)


def test_quadratic_ivp_matches_matrix_exponential():
    from scipy.linalg import expm

    A = np.array([[3.0, 1.0, 0.0], [1.0, 2.0, 0.5], [0.0, 0.5, 1.0]])
    theta0 = np.array([1.0, -2.0, 0.5])
    ivp = quadratic_ivp(A, theta0)
    np.testing.assert_allclose(ivp.solution(0.7).numpy(), expm(-0.7 * A) @ theta0, rtol=1e-12, atol=1e-14)
    with pytest.raises(ValueError, match="symmetric"):
        quadratic_ivp([[1.0, 2.0], [0.0, 1.0]], [1.0, 1.0])
    with pytest.raises(ValueError, match="square"):
        quadratic_ivp([[1.0, 2.0]], [1.0, 1.0])


@pytest.mark.parametrize(
    "method, steps",
    [("euler", range(4, 9)), ("heun", range(4, 9)), ("midpoint", range(4, 9)), ("rk4", range(4, 9)),
     ("dopri5", range(2, 7))],
)  # fmt: skip
def test_measured_orders(method, steps):
    h = [2.0**-k for k in steps]
    p = gt.loglog_slope(h, global_errors(exp_sin_ivp(), method, h))
    assert abs(p - gt.METHODS[method].order) < 0.1


def test_global_errors_are_the_errors_of_the_integrator_at_the_end():
    ivp = exp_sin_ivp(2.0)
    y = gt.odeint(ivp.fun, ivp.y0, torch.arange(5, dtype=f64) * 0.5, "rk4", step=0.5).y[-1]
    assert global_errors(ivp, "rk4", [0.5])[0] == pytest.approx(abs(float(y[0]) - math.exp(math.sin(2.0))), rel=1e-12)
    with pytest.raises(ValueError, match="does not divide"):
        global_errors(exp_sin_ivp(10.0), "euler", [0.3])


def test_work_precision_counts_and_accuracy():
    ivp = kepler_ivp(0.5)
    fixed = work_precision(ivp, "rk4", steps=[ivp.t_end / 400, ivp.t_end / 800])
    assert fixed["nfev"].tolist() == [1600, 3200] and fixed["nrejected"].tolist() == [0, 0]
    assert fixed["error"][0] / fixed["error"][1] == pytest.approx(16, rel=0.15)  # order 4: halving h gives /16
    adaptive = work_precision(ivp, "dopri5", rtols=[1e-5, 1e-8])
    assert adaptive["nfev"][1] > adaptive["nfev"][0] and adaptive["error"][1] < adaptive["error"][0]
    # nfev of an adaptive DOPRI5 run: 6 per step attempt (FSAL) + 2 for the first stage and initial step guess
    assert all(n == 6 * (s + r) + 2 for n, s, r in zip(adaptive["nfev"], adaptive["nsteps"], adaptive["nrejected"]))
    with pytest.raises(ValueError, match="exactly one"):
        work_precision(ivp, "rk4")


def test_euler_stability_region_is_the_unit_disc_at_minus_one():
    x, y = np.linspace(-3, 1, 161), np.linspace(-2, 2, 161)
    amp = stability_region("euler", x, y)
    X, Y = np.meshgrid(x, y)
    np.testing.assert_allclose(amp, np.hypot(X + 1, Y), rtol=1e-12, atol=1e-15)  # |R(z)| = |1 + z|


def test_stability_regions_match_known_boundary_points():
    for m in ("euler", "heun", "rk4", "dopri5"):  # |R(-x)| = 1 at the real limit, > 1 just beyond
        x = gt.METHODS[m].stability_limit
        assert stability_region(m, [-x], [0.0])[0, 0] == pytest.approx(1.0, abs=1e-9)
        assert stability_region(m, [-x * 1.01], [0.0])[0, 0] > 1
    # RK4 contains the imaginary axis up to 2*sqrt(2) (|R(iy)| = 1 exactly there), Euler only touches it at 0
    assert stability_region("rk4", [0.0], [2.8])[0, 0] <= 1 < stability_region("rk4", [0.0], [2.9])[0, 0]
    assert stability_region("rk4", [0.0], [2 * math.sqrt(2)])[0, 0] == pytest.approx(1.0, abs=1e-12)
    assert stability_region("euler", [0.0], [0.1])[0, 0] > 1


@settings(max_examples=30, deadline=None)
@given(st.floats(-4, 1), st.floats(-3, 3), st.sampled_from(["euler", "heun", "rk4", "dopri5"]))
def test_stability_region_is_the_one_step_growth_factor(x, y, method):
    # one step of the integrator on y' = lam*y with h = 1 multiplies y by R(lam)
    A = torch.tensor([[x, -y], [y, x]], dtype=f64)  # lam = x + iy acting on C = R^2
    y1 = gt.odeint(lambda t, u: A @ u, torch.tensor([1.0, 0.0], dtype=f64), [0.0, 1.0], method, step=1.0).y[-1]
    assert float(y1.norm()) == pytest.approx(stability_region(method, [x], [y])[0, 0], rel=1e-10, abs=1e-12)


def test_order_conditions_decide_the_measured_order():
    def satisfied(m):
        return [abs(v - float(r)) < 1e-12 for _, _, v, r in order_conditions(m)]

    assert all(satisfied("rk4")) and all(satisfied("dopri5"))
    assert satisfied("heun") == satisfied("midpoint") == [True, True] + [False] * 6
    assert satisfied("euler")[:2] == [True, False]
    assert [p for p, *_ in order_conditions("rk4")] == [1, 2, 3, 3, 4, 4, 4, 4]  # 1, 1, 2, 4 trees per order


def test_quadratic_path_is_the_fixed_step_run_and_stops_at_blowup():
    A = torch.diag(torch.tensor([1.0, 10.0], dtype=f64))
    t, path = quadratic_path(A, [1.0, 1.0], "euler", 0.1, 3.0)
    assert len(t) == 31 and torch.allclose(t, torch.arange(31, dtype=f64) * 0.1)
    exact = torch.stack([0.9 ** torch.arange(31.0), 0.0 ** torch.arange(31.0)], 1)  # (1 - h lam)^n, lam = 1, 10
    assert torch.allclose(path, exact.to(f64), atol=1e-14)
    t, path = quadratic_path(A, [1.0, 1.0], "euler", 0.5, 100.0, blowup=1e3)  # |1 - 5| = 4 per step
    assert float(path[-1].norm()) > 1e3 * math.sqrt(2) >= float(path[-2].norm())
    with pytest.raises(ValueError, match="step"):
        quadratic_path(A, [1.0, 1.0], "euler", -0.1, 1.0)


def test_largest_stable_step_is_two_over_the_closed_form_lambda_max():
    A = torch.tensor([[4.0, 1.0], [1.0, 2.0]], dtype=f64)  # eigenvalues 3 +- sqrt(2)
    assert largest_stable_step(A) == pytest.approx(2 / (3 + math.sqrt(2)), rel=1e-14)
    with pytest.raises(ValueError, match="positive eigenvalue"):
        largest_stable_step(-torch.eye(2, dtype=f64))


@pytest.mark.parametrize("factor, converges", [(0.99, True), (1.01, False)])
def test_gradient_descent_converges_exactly_below_the_threshold(factor, converges):
    A = torch.tensor([[4.0, 1.0], [1.0, 2.0]], dtype=f64)
    eta = factor * largest_stable_step(A)
    run = gt.gradient_descent(lambda th: 0.5 * th @ A @ th, torch.tensor([1.0, 1.0], dtype=f64), eta, 2000)
    final = float(run.thetas[-1].norm())
    assert (final < 1e-6) if converges else (final > 1e6)
