"""gfteach.linear_flow: the end-to-end ODE against the layer-wise flow, the scalar form against the matrix
form, and the polar scalar flow against independent oracles (the Cartesian flow, an exact quadrature)."""

import math

import numpy as np
import pytest
import torch
from scipy.integrate import quad
from scipy.linalg import fractional_matrix_power

import gfteach as gt
from gfteach.linear import balanced_init, end_to_end, layers_from_theta, theta_from_layers, whitened_objective
from gfteach.linear_flow import (
    end_to_end_flow,
    end_to_end_velocity,
    near_target,
    polar,
    polar_rates,
    psd_power,
    scalar_end_to_end_velocity,
    scalar_flow,
    start_at_angle,
)

f64 = torch.float64
CASES = [(2, [3, 4, 2]), (3, [3, 5, 4, 2]), (4, [2, 3, 3, 3, 2]), (5, [3, 4, 4, 4, 4, 1]), (3, [4, 4, 4, 1])]
PHI = torch.tensor([0.4, -0.9, 0.6], dtype=f64)


@pytest.fixture(autouse=True)
def _one_thread():
    with gt.threads(1):
        yield


@pytest.mark.parametrize("depth, dims", CASES)
def test_end_to_end_ode_matches_the_product_of_the_layerwise_flow(depth, dims):
    g = torch.Generator().manual_seed(10 + depth)
    Phi = torch.randn(dims[-1], dims[0], generator=g, dtype=f64)
    layers = balanced_init(dims, 0.5, g)
    t = torch.linspace(0, 3, 7, dtype=f64)
    layer_flow = gt.gradient_flow(whitened_objective(Phi, dims), theta_from_layers(layers), t, rtol=1e-11, atol=1e-13)
    W0 = end_to_end(layers)
    scalar = dims[-1] == 1
    e2e = end_to_end_flow(W0[0] if scalar else W0, lambda W: W - (Phi[0] if scalar else Phi), depth, t)
    for i in range(len(t)):
        product = end_to_end(layers_from_theta(layer_flow.thetas[i], dims))
        assert torch.allclose(product.reshape(e2e.y[i].shape), e2e.y[i], atol=1e-8), f"t={float(t[i])}"
    assert float(layer_flow.losses[-1]) < 0.5 * float(layer_flow.losses[0])  # and it learned something


def test_depth_one_end_to_end_flow_is_plain_gradient_flow():
    Phi = torch.tensor([[1.0, -2.0, 0.5], [0.3, 0.0, 1.0]], dtype=f64)
    W0 = 0.1 * torch.ones(2, 3, dtype=f64)
    t = torch.linspace(0, 2, 5, dtype=f64)
    sol = end_to_end_flow(W0, lambda W: W - Phi, 1, t)
    exact = Phi + (W0 - Phi) * torch.exp(-t)[:, None, None]  # W - Phi decays like e^{-t}
    assert torch.allclose(sol.y, exact, atol=1e-9)


def test_scalar_form_is_the_matrix_form_for_one_row():
    g = torch.Generator().manual_seed(3)
    w, grad = torch.randn(5, generator=g, dtype=f64), torch.randn(5, generator=g, dtype=f64)
    for depth in (1, 2, 3, 6):
        matrix = end_to_end_velocity(w[None, :], grad[None, :], depth)[0]
        assert torch.allclose(scalar_end_to_end_velocity(w, grad, depth), matrix, atol=1e-12)
    assert torch.equal(scalar_end_to_end_velocity(torch.zeros(5, dtype=f64), grad, 3), torch.zeros(5, dtype=f64))


def test_end_to_end_velocity_matches_fractional_powers_from_scipy():
    g = torch.Generator().manual_seed(6)
    W, grad = torch.randn(3, 4, generator=g, dtype=f64), torch.randn(3, 4, generator=g, dtype=f64)
    N = 3
    left = lambda p: fractional_matrix_power((W @ W.T).numpy(), p).real  # noqa: E731
    right = lambda p: fractional_matrix_power((W.T @ W).numpy(), p).real if p else np.eye(4)  # noqa: E731
    ref = -sum(left((j - 1) / N) @ grad.numpy() @ right((N - j) / N) for j in range(1, N + 1))
    assert np.allclose(end_to_end_velocity(W, grad, N).numpy(), ref, atol=1e-10)


def test_psd_power_matches_scipy_and_handles_singular_matrices():
    g = torch.Generator().manual_seed(4)
    A = torch.randn(4, 4, generator=g, dtype=f64)
    M = A @ A.T + 0.1 * torch.eye(4, dtype=f64)
    for p in (0.25, 0.5, 2 / 3, 1.0):
        ref = np.real(fractional_matrix_power(M.numpy(), p))
        assert np.allclose(psd_power(M, p).numpy(), ref, atol=1e-10)
    singular = A[:, :2] @ A[:, :2].T  # rank 2
    assert torch.allclose(psd_power(singular, 0.5) @ psd_power(singular, 0.5), singular, atol=1e-10)
    assert torch.equal(psd_power(singular, 0), torch.eye(4, dtype=f64))


def test_polar_rates_are_the_projections_of_the_scalar_velocity():
    g = torch.Generator().manual_seed(3)
    phi, w = torch.randn(4, generator=g, dtype=f64), torch.randn(4, generator=g, dtype=f64)
    for depth in (2, 3, 6):
        v = scalar_end_to_end_velocity(w, w - phi, depth)
        rho_dot, w_hat_dot = polar_rates(w, phi, depth)
        w_hat = w / w.norm()
        assert float(rho_dot) == pytest.approx(float(w_hat @ v), abs=1e-12)
        assert torch.allclose(w_hat_dot, (v - (w_hat @ v) * w_hat) / w.norm(), atol=1e-12)


def test_start_at_angle_and_polar_are_inverse():
    for angle in (0.0, 45.0, 170.0, 179.9, 180.0):
        rho, ang = polar(start_at_angle(PHI, angle, 0.2), PHI)
        assert float(rho[0]) == pytest.approx(0.2)
        assert float(ang[0]) == pytest.approx(angle, abs=1e-6)
    assert torch.equal(start_at_angle(PHI, 180.0, 1.0), -PHI / PHI.norm())


def test_scalar_flow_matches_the_cartesian_end_to_end_flow_and_stops_at_the_target():
    w0 = start_at_angle(PHI, 150.0, 0.05)
    sol = scalar_flow(PHI, 3, w0, 1e4)
    early = sol.t <= 20
    ref = end_to_end_flow(w0, lambda w: w - PHI, 3, sol.t[early], rtol=1e-11, atol=1e-14)
    assert torch.allclose(sol.y[early], ref.y, atol=1e-8)
    rho, angle = polar(sol.y, PHI)
    assert bool((angle[1:] <= angle[:-1] + 1e-9).all())  # c' >= 0: the direction only turns toward Phi
    assert near_target(sol.y[-1], PHI) and not near_target(sol.y[-2], PHI)  # stops at the first time there
    assert float(sol.t[-1]) < 1e3


def test_antipodal_radius_follows_the_exact_one_dimensional_solution():
    """From -rho0 Phi_hat the direction never moves and rho' = -N rho^p (||Phi|| + rho); the time to reach
    a radius r is t(r) = int_r^rho0 ds / (N s^p (||Phi|| + s)), an independent oracle (quadrature)."""
    norm, rho0 = float(PHI.norm()), 0.01
    for depth in (3, 4):
        p = 2 - 2 / depth
        sol = scalar_flow(PHI, depth, start_at_angle(PHI, 180.0, rho0), 1e5)
        assert not near_target(sol.y[-1], PHI) and float(sol.t[-1]) == pytest.approx(1e5)
        rho, angle = polar(sol.y, PHI)
        assert float(angle.min()) > 180 - 1e-5  # stays on the ray (arccos near -1 resolves ~1e-6 degrees)
        for i in range(5, len(sol.t), 17):
            u = math.log(float(rho[i]))  # t = int_u^log(rho0) dv / (N e^{(p-1) v} (||Phi|| + e^v))
            rate = lambda v, N=depth, p=p: 1 / (N * math.exp((p - 1) * v) * (norm + math.exp(v)))  # noqa: E731
            t_exact = quad(rate, u, math.log(rho0), epsabs=0, epsrel=1e-12, limit=200)[0]
            assert t_exact == pytest.approx(float(sol.t[i]), rel=1e-6)
        late = sol.t >= 1e3  # the local slope there is within rho0^-q/(q N ||Phi|| 1e3) < 0.5% of -N/(N-2)
        assert gt.loglog_slope(sol.t[late], rho[late]) == pytest.approx(-depth / (depth - 2), rel=0.01)


def test_scalar_flow_stays_cheap_when_the_escape_is_late():
    # the stiff rest near Phi must not be integrated for long: a depth-4 escape at t ~ 6e4 costs few steps
    sol = scalar_flow(PHI, 4, start_at_angle(PHI, 179.0, 0.01), 1e5, rtol=1e-8)
    assert near_target(sol.y[-1], PHI) and float(sol.t[-1]) > 1e4
    assert sol.nfev < 10_000, sol.nfev


def test_near_target_thresholds():
    assert near_target(PHI.clone(), PHI)
    assert not near_target(1.01 * PHI, PHI)  # 1% off in radius
    assert near_target(1.0005 * PHI, PHI)
    assert not near_target(start_at_angle(PHI, 0.2, float(PHI.norm())), PHI)  # 0.2 degrees off
