"""gfteach.linear: balancedness, the end-to-end ODE against the layer-wise flow, the exact GD drift."""

import numpy as np
import pytest
import torch
from scipy.linalg import fractional_matrix_power

from gfteach import odeint
from gfteach.linear import (
    balanced_init,
    deficiency_margin,
    end_to_end,
    end_to_end_flow,
    end_to_end_velocity,
    gd_balance_change,
    layers_from_theta,
    psd_power,
    scalar_end_to_end_velocity,
    theta_from_layers,
    unbalancedness,
    whitened_loss,
)

f64 = torch.float64
CASES = [(2, [3, 4, 2]), (3, [3, 5, 4, 2]), (4, [2, 3, 3, 3, 2]), (5, [3, 4, 4, 4, 4, 1]), (3, [4, 4, 4, 1])]


@pytest.mark.parametrize("depth, dims", CASES)
def test_balanced_init_is_balanced_and_has_the_requested_product(depth, dims):
    g = torch.Generator().manual_seed(depth)
    W0 = torch.randn(dims[-1], dims[0], generator=g, dtype=f64)
    layers = balanced_init(dims, 1.0, g, end_to_end_matrix=W0)
    assert len(layers) == depth
    assert [tuple(w.shape) for w in layers] == [(b, a) for a, b in zip(dims[:-1], dims[1:])]
    assert unbalancedness(layers) < 1e-12
    assert torch.allclose(end_to_end(layers), W0, atol=1e-12)
    random = balanced_init(dims, 0.1, g)
    assert unbalancedness(random) < 1e-12


def layerwise_gradient(dims, Phi):
    def minus_grad(t, theta):
        with torch.enable_grad():
            theta = theta.detach().requires_grad_(True)
            loss = whitened_loss(end_to_end(layers_from_theta(theta, dims)), Phi)
            return -torch.autograd.grad(loss, theta)[0]

    return minus_grad


@pytest.mark.parametrize("depth, dims", CASES)
def test_end_to_end_ode_matches_the_product_of_the_layerwise_flow(depth, dims):
    g = torch.Generator().manual_seed(10 + depth)
    Phi = torch.randn(dims[-1], dims[0], generator=g, dtype=f64)
    layers = balanced_init(dims, 0.5, g)
    t = torch.linspace(0, 3, 7, dtype=f64)
    layer_flow = odeint(layerwise_gradient(dims, Phi), theta_from_layers(layers), t, rtol=1e-11, atol=1e-13)
    W0 = end_to_end(layers)
    scalar = dims[-1] == 1
    e2e = end_to_end_flow(W0[0] if scalar else W0, lambda W: W - Phi[0] if scalar else W - Phi, depth, t)
    for i in range(len(t)):
        product = end_to_end(layers_from_theta(layer_flow.y[i], dims))
        assert torch.allclose(product.reshape(e2e.y[i].shape), e2e.y[i], atol=1e-6), f"t={float(t[i])}"
    # and it learned something: the loss fell
    assert whitened_loss(e2e.y[-1], Phi[0] if scalar else Phi) < 0.5 * whitened_loss(W0, Phi)


def test_scalar_form_is_the_matrix_form_for_one_row():
    g = torch.Generator().manual_seed(3)
    w, grad = torch.randn(5, generator=g, dtype=f64), torch.randn(5, generator=g, dtype=f64)
    for depth in (1, 2, 3, 6):
        matrix = end_to_end_velocity(w[None, :], grad[None, :], depth)[0]
        assert torch.allclose(scalar_end_to_end_velocity(w, grad, depth), matrix, atol=1e-12)
    assert torch.equal(scalar_end_to_end_velocity(torch.zeros(5, dtype=f64), grad, 3), torch.zeros(5, dtype=f64))


@pytest.mark.parametrize("depth, dims", CASES)
def test_one_gd_step_changes_balancedness_by_exactly_eta_squared_terms(depth, dims):
    g = torch.Generator().manual_seed(20 + depth)
    Phi = torch.randn(dims[-1], dims[0], generator=g, dtype=f64)
    theta = theta_from_layers([torch.randn(b, a, generator=g, dtype=f64) for a, b in zip(dims[:-1], dims[1:])])
    grad = -layerwise_gradient(dims, Phi)(0.0, theta)
    eta = 0.07
    before = layers_from_theta(theta, dims)
    after = layers_from_theta(theta - eta * grad, dims)
    predicted = gd_balance_change(layers_from_theta(grad, dims), eta)
    for j in range(depth - 1):
        gap_after = after[j + 1].T @ after[j + 1] - after[j] @ after[j].T
        gap_before = before[j + 1].T @ before[j + 1] - before[j] @ before[j].T
        size = max(after[j + 1].norm() ** 2, after[j].norm() ** 2, 1.0)  # round-off scale of the Gram matrices
        assert (gap_after - gap_before - predicted[j]).abs().max() <= 1e-12 * size
        assert predicted[j].abs().max() > 1e-6  # the drift is real, and second order


def test_psd_power_matches_scipy_and_handles_singular_matrices():
    g = torch.Generator().manual_seed(4)
    A = torch.randn(4, 4, generator=g, dtype=f64)
    M = A @ A.T + 0.1 * torch.eye(4, dtype=f64)
    for p in (0.25, 0.5, 2 / 3, 1.0):
        ref = np.real(fractional_matrix_power(M.numpy(), p))
        assert np.allclose(psd_power(M, p).numpy(), ref, atol=1e-10)
    half = psd_power(M, 0.5)
    assert torch.allclose(half @ half, M, atol=1e-12)
    singular = A[:, :2] @ A[:, :2].T  # rank 2
    assert torch.allclose(psd_power(singular, 0.5) @ psd_power(singular, 0.5), singular, atol=1e-10)
    assert torch.equal(psd_power(singular, 0), torch.eye(4, dtype=f64))


def test_deficiency_margin_is_zero_at_the_nearest_rank_deficient_matrix():
    g = torch.Generator().manual_seed(5)
    Phi = torch.randn(3, 3, generator=g, dtype=f64)
    U, S, Vh = torch.linalg.svd(Phi)
    nearest_deficient = U[:, :2] @ torch.diag(S[:2]) @ Vh[:2]
    assert deficiency_margin(nearest_deficient, Phi) == pytest.approx(0.0, abs=1e-12)
    assert deficiency_margin(Phi, Phi) == pytest.approx(float(S[-1]))
    assert deficiency_margin(torch.zeros(3, 3, dtype=f64), Phi) < 0


def test_bad_arguments_are_named():
    g = torch.Generator()
    with pytest.raises(ValueError, match="hidden widths must be >= min"):
        balanced_init([4, 2, 4], 1.0, g)
    with pytest.raises(ValueError, match="scale must be a positive"):
        balanced_init([2, 2, 2], 0.0, g)
    with pytest.raises(ValueError, match="theta must be a 1-D vector of 12"):
        layers_from_theta(torch.zeros(5, dtype=f64), [2, 2, 2, 2])
    with pytest.raises(ValueError, match="depth must be a positive integer"):
        end_to_end_flow(torch.ones(2, 2, dtype=f64), lambda W: W, 0, [0, 1])
