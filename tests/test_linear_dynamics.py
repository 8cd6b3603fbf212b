"""gfteach.linear_dynamics: the experiments of Chapters 4 and 5 check mathematical facts, not just run."""

import math

import matplotlib
import pytest
import torch

from gfteach import gradient_flow
from gfteach.data import whitened_regression
from gfteach.linear import (
    balanced_init,
    end_to_end,
    end_to_end_flow,
    layers_from_theta,
    scalar_end_to_end_velocity,
    theta_from_layers,
    unbalancedness,
)
from gfteach.linear_dynamics import (
    balance_drift,
    blind_step,
    check_decay_exponent,
    check_theorem_step,
    curvature_over_depths,
    decay_exponent,
    depth_loss_curves,
    gd_accumulated_drift,
    gd_step_balance_error,
    gd_vs_gf,
    guarantee_run,
    layer_gradients,
    layers_vs_end_to_end,
    net_dims,
    polar,
    polar_rates,
    polar_run,
    regression_loss,
    start_at_angle,
    theorem_step,
    whitened_objective,
)

matplotlib.use("Agg")
f64 = torch.float64


def problem(d_out=2, seed=0):
    g = torch.Generator().manual_seed(seed)
    X, Y, Phi = whitened_regression(40, 3, d_out, g)
    return g, X, Y, Phi


def test_whitened_objective_is_the_data_loss_and_its_gradient_is_the_closed_form():
    g, X, Y, Phi = problem()
    dims = [3, 4, 4, 2]
    obj = whitened_objective(Phi, dims)
    theta = torch.randn(obj.n_params, generator=g, dtype=f64)
    layers = layers_from_theta(theta, dims)
    assert float(obj.value(theta)) == pytest.approx(float(regression_loss(end_to_end(layers), X, Y)), abs=1e-12)
    auto = layers_from_theta(obj.grad(theta), dims)
    for a, c in zip(auto, layer_gradients(layers, Phi)):
        assert torch.allclose(a, c, atol=1e-12)
    with pytest.raises(ValueError, match="Phi must have shape"):
        whitened_objective(Phi, [2, 4, 2])


def test_balancedness_is_conserved_by_gradient_flow_to_the_solver_tolerance():
    g, _, _, Phi = problem()
    dims = [3, 4, 4, 2]
    layers = [0.6 * torch.randn(b, a, generator=g, dtype=f64) for a, b in zip(dims[:-1], dims[1:])]
    rtol = 1e-10
    gf = gradient_flow(
        whitened_objective(Phi, dims),
        theta_from_layers(layers),
        torch.linspace(0, 5, 11, dtype=f64),
        rtol=rtol,
        atol=1e-12,
    )
    drift = balance_drift(gf.thetas, dims)
    assert float(drift.max()) <= 10 * rtol * max(1.0, unbalancedness(layers))
    assert float(gf.losses[-1]) < 0.1 * float(gf.losses[0])  # the layers did move


def test_gd_changes_balancedness_by_exactly_eta_squared_terms_and_accumulates_at_order_eta():
    g, _, _, Phi = problem()
    dims = [3, 4, 4, 2]
    theta = theta_from_layers([0.6 * torch.randn(b, a, generator=g, dtype=f64) for a, b in zip(dims[:-1], dims[1:])])
    error, size = gd_step_balance_error(Phi, dims, theta, 0.1)
    assert error < 1e-12 and size > 1e-3
    one = [gd_accumulated_drift(Phi, dims, theta, eta, 1)[0] for eta in (0.02, 0.01)]
    assert one[0] / one[1] == pytest.approx(4.0, rel=1e-9)
    actual, summed = gd_accumulated_drift(Phi, dims, theta, 0.02, 200)
    assert abs(actual - summed) < 1e-12  # the telescoped per-step formula is the whole drift
    horizon = [gd_accumulated_drift(Phi, dims, theta, eta, round(4 / eta))[0] for eta in (0.02, 0.01)]
    assert 1.6 < horizon[0] / horizon[1] < 2.6  # O(eta) over a fixed time


@pytest.mark.parametrize("dims", [[3, 3, 2], [3, 4, 4, 2], [3, 3, 3, 3, 1]])
def test_layer_flow_product_matches_the_end_to_end_ode(dims):
    g, _, _, Phi = problem(d_out=dims[-1], seed=len(dims))
    layers = balanced_init(dims, 0.5, g)
    out = layers_vs_end_to_end(Phi, dims, layers, torch.linspace(0, 4, 5, dtype=f64))
    assert float(out["gap"].max()) < 1e-6
    assert float(out["losses"][-1]) < float(out["losses"][0])


def test_depth_one_end_to_end_flow_is_plain_gradient_flow():
    _, _, _, Phi = problem()
    W0 = 0.1 * torch.ones(2, 3, dtype=f64)
    t = torch.linspace(0, 2, 5, dtype=f64)
    loss = depth_loss_curves(Phi, W0, [1], t)[1]
    exact = 0.5 * ((W0 - Phi) ** 2).sum() * torch.exp(-2 * t)  # W - Phi decays like e^{-t}
    assert torch.allclose(loss, exact, rtol=1e-7)


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
    phi = torch.tensor([0.3, -1.0, 0.5], dtype=f64)
    for angle in (0.0, 45.0, 170.0, 180.0):
        rho, ang = polar(start_at_angle(phi, angle, 0.2), phi)
        assert float(rho[0]) == pytest.approx(0.2)
        assert float(ang[0]) == pytest.approx(angle, abs=1e-6)
    assert torch.equal(start_at_angle(phi, 180.0, 1.0), -phi / phi.norm())


def test_polar_run_matches_the_torch_end_to_end_flow_and_converges():
    phi = torch.tensor([0.4, -0.9, 0.6], dtype=f64)
    w0 = start_at_angle(phi, 150.0, 0.05)
    run = polar_run(phi, 3, w0)
    assert run.converged
    assert bool((run.angle[1:] <= run.angle[:-1] + 1e-6).all())  # c' >= 0
    t = run.times[run.times <= 20][::20]
    ref = end_to_end_flow(w0, lambda w: w - phi, 3, t, rtol=1e-10, atol=1e-14)
    picked = run.w[run.times <= 20][::20]
    assert torch.allclose(picked, ref.y, atol=1e-6)


@pytest.mark.parametrize("depth", [3, 4])
def test_antipodal_start_shrinks_polynomially_with_exponent_n_over_n_minus_2(depth):
    phi = torch.tensor([0.4, -0.9, 0.6], dtype=f64)
    run = polar_run(phi, depth, start_at_angle(phi, 180.0, 0.01), t_max=1e5)
    assert not run.converged and float(run.rho[-1]) < 1e-8
    t_c = 0.01 ** (2 / depth - 1) / ((depth - 2) * float(phi.norm()))
    slope = decay_exponent(run.times, run.rho, 30 * t_c, 1e5)
    assert slope == pytest.approx(-depth / (depth - 2), rel=0.05)


def test_curvature_integral_is_bounded_and_settles():
    _, _, _, Phi = problem(d_out=1)
    results = curvature_over_depths(Phi, [2, 3], width=3, scale=0.05, T=20.0, n_times=21)
    for r in results.values():
        assert -4.0 < r.integral <= 0.0
        assert abs(r.integral - float(r.curvature.negative_integral[10])) < 0.05
        assert float(r.gf.losses[-1]) < 1e-8
    # depth 2 starts near the strict saddle at the origin: lambda_min ~ -||Phi||
    assert float(results[2].curvature.lambda_min[0]) == pytest.approx(-float(Phi.norm()), abs=0.15)


def test_step_formulas():
    eta = theorem_step(0.1, 2.0, 0.5, 10.0, -1.0)
    assert eta == pytest.approx(2 * 0.1 * math.exp(-1.0) / (2.0 * 0.5 * 10.0))
    assert 2.0 * 0.5 / 2 * 10.0 * eta * math.exp(1.0) == pytest.approx(0.1)  # the bound equals eps there
    assert theorem_step(0.1, 2.0, 0.5, 10.0, 0.5) == theorem_step(0.1, 2.0, 0.5, 10.0, 0.0)  # I > 0 is clipped
    blind = blind_step(0.1, 2.0, 0.5, 10.0)
    assert (2.0 * 0.5) * blind / (2 * 2.0) * math.expm1(2.0 * 10.0) == pytest.approx(0.1)  # M eta/(2 beta)(e^bT - 1)
    assert eta / blind > 1e6


def test_guarantee_run_tracks_the_flow_within_eps_and_converges():
    _, _, _, Phi = problem(d_out=1)
    g = guarantee_run(Phi, 2, 3, 0.05, T=5.0, eps=0.2, record_every=50, extra_steps=None)
    assert g.bound.holds
    assert float(g.bound.distance.max()) <= g.eps
    assert g.step / g.blind > 1e3
    assert g.final_loss < float(g.gd.losses[-1]) < float(g.gd.losses[0])


def test_gd_vs_gf_reports_a_stalling_large_step():
    _, _, _, Phi = problem(d_out=1, seed=0)
    small = gd_vs_gf(Phi, 2, 3, 0.05, 0.1, 20.0, record_every=5)
    assert float(small["gd_loss"][-1]) < 1e-10
    sharp = 2 * float(Phi.norm())  # lambda_max at the minimum for depth 2, scalar output, balanced
    big = gd_vs_gf(Phi, 2, 3, 0.05, 2.2 / sharp, 20.0, record_every=5)
    assert not float(big["gd_loss"][-1]) < 1e-6


def test_checkers_accept_the_right_answers_and_explain_wrong_ones(capsys):
    assert check_decay_exponent(4, 2.0)
    assert not check_decay_exponent(4, 0.5)
    assert "reciprocal" in capsys.readouterr().out
    assert not check_decay_exponent(2, 1.0)
    eta = theorem_step(0.05, 2.0, 0.4, 10.0, -2.5)
    assert check_theorem_step(eta, 0.05, 2.0, 0.4, 10.0, -2.5)
    assert not check_theorem_step(eta * math.exp(5.0), 0.05, 2.0, 0.4, 10.0, -2.5)
    assert "exp(-I)" in capsys.readouterr().out
    assert not check_theorem_step("x", 0.05, 2.0, 0.4, 10.0, -2.5)


def test_net_dims():
    assert net_dims(3, 4, 5) == [4, 5, 5, 1]
    with pytest.raises(ValueError):
        net_dims(0, 2, 2)
