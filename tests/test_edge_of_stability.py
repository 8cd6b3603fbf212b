"""Tests for gfteach.edge_of_stability (Chapter 7)."""

import math

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import torch

from gfteach import FunctionObjective, gradient_descent, gradient_flow
from gfteach.edge_of_stability import (
    EoSRun,
    check_edge_sharpness,
    check_igr_factor,
    eos_figure,
    eos_problem,
    eos_run,
    explorer_fallback_figure,
    igr_flow,
    igr_velocity,
    modified_flow_comparison,
    modified_flow_figure,
)


def T(x):
    return torch.tensor(x, dtype=torch.float64)


def quad(A):
    A = torch.as_tensor(A, dtype=torch.float64)
    return FunctionObjective(lambda th: 0.5 * th @ A @ th, A.shape[0])


def test_problem_is_deterministic_and_sized():
    obj1, th1 = eos_problem()
    obj2, th2 = eos_problem()
    assert th1.numel() == 16 * 16 + 16 * 10
    assert torch.equal(th1, th2)
    assert torch.equal(obj1.grad(th1), obj2.grad(th2))


def test_igr_velocity_is_gradient_of_penalized_loss():
    # central differences of h = f + (eta/4)|grad f|^2 along random directions match -<velocity, u>
    obj, th = eos_problem(n=20)
    eta = 0.3

    def h(t):
        g = obj.grad(t)
        return float(obj.value(t)) + eta / 4 * float(g @ g)

    v = igr_velocity(obj, th, eta)
    gen = torch.Generator().manual_seed(1)
    for _ in range(3):
        u = torch.randn(th.shape, generator=gen, dtype=th.dtype)
        eps = 1e-5
        fd = (h(th + eps * u) - h(th - eps * u)) / (2 * eps)
        assert math.isclose(fd, -float(v @ u), rel_tol=1e-5, abs_tol=1e-9)


def test_igr_flow_on_quadratic_is_exponential_with_modified_rate():
    lam, eta = 2.0, 0.3
    obj = quad([[lam]])
    t = torch.linspace(0, 1, 5, dtype=torch.float64)
    y = igr_flow(obj, T([1.0]), eta, t)
    rate = lam * (1 + eta * lam / 2)
    assert torch.allclose(y[:, 0], torch.exp(-rate * t), rtol=1e-6)


def test_igr_local_error_is_third_order_gf_second_order():
    # non-quadratic 2-D loss; one GD step vs each flow over time eta
    obj = FunctionObjective(lambda th: torch.log(torch.cosh(th[0])) + 0.5 * th[1] ** 2 * (1 + th[0] ** 2), 2)
    th0 = T([0.8, -0.6])
    errs_gf, errs_igr = [], []
    etas = [0.04, 0.02, 0.01]
    for eta in etas:
        gd = gradient_descent(obj, th0, eta, 1).thetas[-1]
        gf = gradient_flow(obj, th0, T([0.0, eta]), rtol=1e-12, atol=1e-14).thetas[-1]
        igr = igr_flow(obj, th0, eta, T([0.0, eta]), rtol=1e-12, atol=1e-14)[-1]
        errs_gf.append(float((gd - gf).norm()))
        errs_igr.append(float((gd - igr).norm()))
    p_gf = np.polyfit(np.log(etas), np.log(errs_gf), 1)[0]
    p_igr = np.polyfit(np.log(etas), np.log(errs_igr), 1)[0]
    assert abs(p_gf - 2) < 0.15 and abs(p_igr - 3) < 0.15, (p_gf, p_igr)


def test_modified_flow_comparison_on_quadratic():
    obj = quad(torch.diag(T([1.0, 3.0])))
    comp = modified_flow_comparison(obj, T([1.0, 1.0]), (0.05, 0.1), t_end=2.0)
    assert comp["eta"] == [0.05, 0.1]
    assert all(i < g for i, g in zip(comp["igr"], comp["gf"]))
    # GD is exact (1 - eta*l)^k; check the GF value against the closed form
    eta, k = 0.1, np.arange(21)
    gd = np.stack([(1 - eta * lam) ** k for lam in (1.0, 3.0)], 1)
    gf = np.stack([np.exp(-lam * eta * k) for lam in (1.0, 3.0)], 1)
    assert math.isclose(comp["gf"][1], np.linalg.norm(gd - gf, axis=1).max(), rel_tol=1e-5)


def test_eos_run_properties_on_quadratic():
    # sharpness of a quadratic is constant, the crossing logic must follow 2/eta
    A = torch.diag(T([1.0, 4.0]))
    obj = quad(A)
    run = eos_run(obj, T([1.0, 1e-3]), 0.55, steps=20, every=5)
    assert isinstance(run, EoSRun)
    assert np.allclose(run.sharpness, 4.0, rtol=1e-6)
    assert run.crossing == 0  # 4 >= 2/0.55
    assert math.isclose(run.threshold, 2 / 0.55)
    assert math.isclose(run.late_sharpness(), 4.0, rel_tol=1e-6)
    # eta*lambda = 2.2 > 2: the sharp component grows like 1.2^k while the flow decays
    assert run.dist[0] == 0 and run.dist[-1] > 1e-3 * 1.2**20 * 0.9
    stable = eos_run(obj, T([1.0, 1.0]), 0.45, steps=10, every=5)
    assert stable.crossing is None  # 4 < 2/0.45


def test_checkers(capsys):
    assert check_edge_sharpness(1.0, 2.1)
    assert not check_edge_sharpness(1.0, 2.5)
    assert "too high" in capsys.readouterr().out
    assert not check_edge_sharpness(1.0, 1.5)
    assert "too low" in capsys.readouterr().out
    assert not check_edge_sharpness(1.0, "x")
    assert check_igr_factor(2.0, 0.3, 2.6)
    assert not check_igr_factor(2.0, 0.3, 2.0)
    assert "plain gradient flow" in capsys.readouterr().out
    assert not check_igr_factor(2.0, 0.3, 3.0)


def test_edge_of_stability_on_the_chapter_network():
    obj, th0 = eos_problem()
    run = eos_run(obj, th0, 1.0, steps=400)
    c = run.crossing
    assert c is not None and 50 < c < 200
    assert abs(run.late_sharpness() - 2.0) / 2.0 < 0.1
    assert run.dist[:c].max() < 0.1 and run.dist[-1] > 4 * run.dist[:c].max()


def test_figures():
    A = torch.diag(T([1.0, 4.0]))
    obj = quad(A)
    runs = {eta: eos_run(obj, T([1.0, 1e-3]), eta, steps=10, every=5) for eta in (0.1, 0.55)}
    for fig in (eos_figure(runs[0.55]), explorer_fallback_figure(runs)):
        assert fig.axes and all(ax.get_xlabel() for ax in fig.axes)
        plt.close(fig)
    fig = modified_flow_figure({"eta": [0.1, 0.2], "gf": [1e-2, 2e-2], "igr": [1e-3, 4e-3]})
    assert fig.axes[0].get_legend() is not None
    plt.close(fig)
