"""gfteach.linear: the deep-linear objective against data and autograd, balanced starts, and balancedness
under gradient flow (conserved) and gradient descent (exact per step, O(eta) over a fixed time)."""

import pytest
import torch

import gfteach as gt
from gfteach.data import whitened_regression
from gfteach.linear import (
    balance_drift,
    balance_gaps,
    balanced_init,
    deficiency_margin,
    end_to_end,
    gd_balance_change,
    layer_gradients,
    layers_from_theta,
    net_dims,
    product_objective,
    regression_loss,
    theta_from_layers,
    unbalancedness,
    whitened_loss,
    whitened_objective,
)
from gfteach.nets import deep_linear

f64 = torch.float64
CASES = [(2, [3, 4, 2]), (3, [3, 5, 4, 2]), (4, [2, 3, 3, 3, 2]), (5, [3, 4, 4, 4, 4, 1]), (3, [4, 4, 4, 1])]


@pytest.fixture(autouse=True)
def _one_thread():
    with gt.threads(1):
        yield


def random_layers(dims, g, scale=1.0):
    return [scale * torch.randn(b, a, generator=g, dtype=f64) for a, b in zip(dims[:-1], dims[1:])]


@pytest.mark.parametrize("depth, dims", CASES)
def test_balanced_init_is_balanced_and_has_the_requested_product(depth, dims):
    g = torch.Generator().manual_seed(depth)
    W0 = torch.randn(dims[-1], dims[0], generator=g, dtype=f64)
    layers = balanced_init(dims, 1.0, g, end_to_end_matrix=W0)
    assert [tuple(w.shape) for w in layers] == [(b, a) for a, b in zip(dims[:-1], dims[1:])]
    assert unbalancedness(layers) < 1e-12
    assert torch.allclose(end_to_end(layers), W0, atol=1e-12)
    random = balanced_init(dims, 0.1, g)
    assert unbalancedness(random) < 1e-12
    # every layer carries the same singular values Sigma^(1/N) of the product
    s = torch.linalg.svdvals(end_to_end(random))
    for w in random:
        assert torch.allclose(torch.linalg.svdvals(w)[: len(s)], s ** (1 / depth), atol=1e-12)


def test_balanced_init_without_a_generator_is_reproducible_and_leaves_global_randomness_alone():
    torch.manual_seed(123)
    before = torch.random.get_rng_state()
    a, b = balanced_init([3, 4, 2], 0.5), balanced_init([3, 4, 2], 0.5)
    assert torch.equal(torch.random.get_rng_state(), before)
    assert all(torch.equal(x, y) for x, y in zip(a, b))
    seeded = balanced_init([3, 4, 2], 0.5, torch.Generator().manual_seed(0))
    assert all(torch.equal(x, y) for x, y in zip(a, seeded))  # the documented default: seed 0


def test_theta_order_is_the_deep_linear_networks_parameter_order():
    torch.manual_seed(0)
    net = deep_linear(3, 4, 2, width=5).double()
    dims = [4, 5, 5, 2]
    theta = torch.cat([p.detach().reshape(-1) for p in net.parameters()])
    x = torch.randn(7, 4, dtype=f64)
    assert torch.allclose(net(x), x @ end_to_end(layers_from_theta(theta, dims)).T, atol=1e-12)
    assert torch.equal(theta_from_layers(layers_from_theta(theta, dims)), theta)
    assert net_dims(3, 4, 5, 2) == dims


def test_whitened_objective_is_the_data_loss_on_whitened_data():
    g = torch.Generator().manual_seed(1)
    X, Y, Phi = whitened_regression(40, 3, 2, g)
    dims = [3, 4, 4, 2]
    obj = whitened_objective(Phi, dims)
    for _ in range(3):
        theta = torch.randn(obj.n_params, generator=g, dtype=f64)
        W = end_to_end(layers_from_theta(theta, dims))
        assert float(obj.value(theta)) == pytest.approx(float(regression_loss(W, X, Y)), abs=1e-12)
        assert float(obj.value(theta)) == pytest.approx(float(whitened_loss(W, Phi)), abs=1e-13)


@pytest.mark.parametrize("depth, dims", CASES)
def test_layer_gradients_closed_form_matches_autograd_for_a_non_quadratic_loss(depth, dims):
    g = torch.Generator().manual_seed(30 + depth)
    C = torch.randn(dims[-1], dims[0], generator=g, dtype=f64)

    def phi(W):  # convex, not quadratic: log-sum-exp of the entries tilted by C
        return torch.logsumexp((W * C).reshape(-1), 0) + (W**4).sum() / 4

    obj = product_objective(dims, phi)
    layers = random_layers(dims, g, 0.7)
    theta = theta_from_layers(layers)
    W = end_to_end(layers).detach().requires_grad_(True)
    grad_phi = torch.autograd.grad(phi(W), W)[0]
    auto = layers_from_theta(obj.grad(theta), dims)
    for a, c in zip(auto, layer_gradients(layers, grad_phi)):
        assert torch.allclose(a, c, atol=1e-11)


@pytest.mark.parametrize("depth, dims", CASES)
def test_one_gd_step_changes_balancedness_by_exactly_eta_squared_terms(depth, dims):
    g = torch.Generator().manual_seed(20 + depth)
    Phi = torch.randn(dims[-1], dims[0], generator=g, dtype=f64)
    obj = whitened_objective(Phi, dims)
    theta = theta_from_layers(random_layers(dims, g))
    eta = 0.07
    grads = layers_from_theta(obj.grad(theta), dims)
    before = balance_gaps(layers_from_theta(theta, dims))
    after = balance_gaps(layers_from_theta(theta - eta * obj.grad(theta), dims))
    size = max(1.0, *(float(w.norm()) ** 2 for w in layers_from_theta(theta, dims)))  # round-off scale
    for b, a, p in zip(before, after, gd_balance_change(grads, eta)):
        assert (a - b - p).abs().max() <= 1e-12 * size
        assert p.abs().max() > 1e-6  # the change is real, and second order


def test_balancedness_is_conserved_by_gradient_flow_to_the_solver_tolerance():
    g = torch.Generator().manual_seed(2)
    _, _, Phi = whitened_regression(40, 3, 2, g)
    dims = [3, 4, 4, 2]
    layers = random_layers(dims, g, 0.6)
    obj = whitened_objective(Phi, dims)
    gf = gt.gradient_flow(obj, theta_from_layers(layers), torch.linspace(0, 5, 11, dtype=f64), rtol=1e-10, atol=1e-12)
    drift = balance_drift(gf.thetas, dims)
    assert float(drift.max()) <= 100 * 1e-10 * max(1.0, unbalancedness(layers))
    assert float(gf.losses[-1]) < 0.1 * float(gf.losses[0])  # the layers did move
    # and gradient descent over the same time does not conserve it
    gd = gt.gradient_descent(obj, theta_from_layers(layers), 0.05, 100)
    assert float(balance_drift(gd.thetas, dims)[-1]) > 1e6 * float(drift.max())


def test_gd_drift_over_a_fixed_time_is_eta_times_the_flows_integral_plus_o_eta_squared():
    """D_j(T/eta) - D_j(0) = eta^2 sum_i g_j(theta_i) with g_j = G_{j+1}^T G_{j+1} - G_j G_j^T, so the drift
    divided by eta tends to C_j = int_0^T g_j(theta(s)) ds along gradient flow, with an O(eta) error.
    C_j is computed independently, from a dense gradient-flow run and the trapezoid rule."""
    g = torch.Generator().manual_seed(3)
    _, _, Phi = whitened_regression(40, 3, 2, g)
    dims, T = [3, 4, 4, 2], 2.0
    obj = whitened_objective(Phi, dims)
    theta0 = theta_from_layers(random_layers(dims, g, 0.6))

    def g_j(theta):
        layers = layers_from_theta(theta, dims)
        return torch.stack(balance_gaps(layer_gradients(layers, end_to_end(layers) - Phi)))

    times = torch.linspace(0, T, 4001, dtype=f64)
    gf = gt.gradient_flow(obj, theta0, times, rtol=1e-11, atol=1e-13)
    values = torch.stack([g_j(th) for th in gf.thetas])  # (times, N-1, d, d)
    flat = values.reshape(len(times), -1)
    C = torch.stack([gt.integral_at(times, flat[:, i], T) for i in range(flat.shape[1])]).reshape(values[0].shape)
    errors = []
    for eta in (0.02, 0.01, 0.005):
        gd = gt.gradient_descent(obj, theta0, eta, round(T / eta), record_every=round(T / eta))
        drift = torch.stack(balance_gaps(layers_from_theta(gd.thetas[-1], dims))) - torch.stack(
            balance_gaps(layers_from_theta(theta0, dims))
        )
        errors.append(float((drift / eta - C).abs().max() / C.abs().max()))
    assert errors[-1] < 0.05  # drift / eta -> C
    # e = a eta + b eta^2: the local slopes fall toward 1, and Richardson estimates of a agree
    s1, s2 = (gt.loglog_slope(pair, errors[i : i + 2]) for i, pair in enumerate([[0.02, 0.01], [0.01, 0.005]]))
    assert s1 > s2 and abs(s2 - 1) < 0.15, (s1, s2)
    a1, a2 = 2 * errors[1] / 0.01 - errors[0] / 0.02, 2 * errors[2] / 0.005 - errors[1] / 0.01
    assert a2 == pytest.approx(a1, rel=0.1)


def test_deficiency_margin_is_zero_at_the_nearest_rank_deficient_matrix():
    g = torch.Generator().manual_seed(5)
    Phi = torch.randn(3, 3, generator=g, dtype=f64)
    U, S, Vh = torch.linalg.svd(Phi)
    nearest_deficient = U[:, :2] @ torch.diag(S[:2]) @ Vh[:2]
    assert deficiency_margin(nearest_deficient, Phi) == pytest.approx(0.0, abs=1e-12)
    assert deficiency_margin(Phi, Phi) == pytest.approx(float(S[-1]))
    assert deficiency_margin(torch.zeros(3, 3, dtype=f64), Phi) < 0
    row = torch.tensor([3.0, 4.0], dtype=f64)  # scalar output: s_min = ||Phi|| = 5
    assert deficiency_margin(torch.tensor([3.0, 1.0], dtype=f64), row) == pytest.approx(5.0 - 3.0)
