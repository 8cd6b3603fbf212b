r"""Chapter 7: where gradient descent leaves gradient flow (edge of stability, modified flows).

Gradient descent (GD) with step :math:`\eta` is Euler's method on gradient flow (GF). On a quadratic
with top Hessian eigenvalue :math:`\lambda_{\max}`, Euler is stable iff :math:`\eta\lambda_{\max} < 2`.
On a network the *sharpness* :math:`S(\theta) = \lambda_{\max}(\nabla^2 f(\theta))` changes along the
run: under GF it typically grows ("progressive sharpening"), and under GD it rises to :math:`2/\eta`
and then hovers there, the *edge of stability* (Cohen et al., ICLR 2021). From the crossing on,
GD no longer follows GF.

The *implicit-gradient-regularization* (IGR) flow of Barrett & Dherin (ICLR 2021),

.. math::

    \theta' = -\nabla\big(f + \tfrac{\eta}{4}\|\nabla f\|^2\big)
            = -\big(\nabla f + \tfrac{\eta}{2}\nabla^2 f\,\nabla f\big),

matches one GD step to second order in :math:`\eta` (local error :math:`O(\eta^3)` instead of
:math:`O(\eta^2)` for GF), so it tracks GD more closely than GF while GD is stable.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np
import torch

from .curvature import extreme_eigenvalues
from .data import digits_subset
from .exercises import finite_number, report
from .flow import Trajectory, distance, gd_time_grid, gradient_descent, gradient_flow
from .objective import Objective
from .ode import odeint
from .plotting import OKABE_ITO, use_style
from .widgets import explorer

__all__ = [
    "EoSRun",
    "eos_problem",
    "eos_run",
    "igr_velocity",
    "igr_flow",
    "modified_flow_comparison",
    "eos_figure",
    "modified_flow_figure",
    "explorer_figure",
    "explorer_fallback_figure",
    "eos_explorer",
    "check_edge_sharpness",
    "check_igr_factor",
]


def eos_problem(n: int = 100, width: int = 16, scale: float = 0.6, seed: int = 0) -> tuple[Objective, torch.Tensor]:
    r"""The chapter's network: a tanh MLP :math:`16 \to` ``width`` :math:`\to 10` without biases (416
    parameters), fitting one-hot labels of ``n`` digits (8×8 images average-pooled to 4×4) with the mean
    squared error. PyTorch's default initialization is multiplied by ``scale`` so that the initial
    sharpness is small (about 1.1 for the defaults) and progressive sharpening has room to show.

    Returns the :class:`~gfteach.objective.Objective` and the initial flat parameters.
    """
    X, y = digits_subset(n=n, size=8, classes=10)
    X = torch.nn.functional.avg_pool2d(X, 2).reshape(n, -1)
    Y = torch.nn.functional.one_hot(y, 10).to(torch.float64)
    gen = torch.random.fork_rng()
    with gen:
        torch.manual_seed(seed)
        net = torch.nn.Sequential(
            torch.nn.Linear(X.shape[1], width, bias=False), torch.nn.Tanh(), torch.nn.Linear(width, 10, bias=False)
        ).to(torch.float64)
    with torch.no_grad():
        for p in net.parameters():
            p.mul_(scale)
    obj = Objective(net, X, Y)
    return obj, obj.theta0()


@dataclass
class EoSRun:
    """One GD run with its sharpness and its distance to the gradient flow from the same start.

    ``sharp_steps`` are the iterates :math:`k` at which the sharpness was measured, ``sharpness`` the
    values :math:`\\lambda_{\\max}(\\nabla^2 f(\\theta_k))`, ``dist`` the distance
    :math:`\\|\\theta_k - \\theta_{GF}(k\\eta)\\|` at every iterate.
    """

    eta: float
    gd: Trajectory
    gf: Trajectory
    sharp_steps: np.ndarray
    sharpness: np.ndarray
    dist: np.ndarray

    @property
    def threshold(self) -> float:
        r"""The stability threshold :math:`2/\eta`."""
        return 2.0 / self.eta

    @property
    def crossing(self) -> int | None:
        """The first iterate at which the measured sharpness reached :math:`2/\\eta` (``None``: never)."""
        hit = np.nonzero(self.sharpness >= self.threshold)[0]
        return int(self.sharp_steps[hit[0]]) if len(hit) else None

    def late_sharpness(self, fraction: float = 0.4) -> float:
        """Median sharpness over the last ``fraction`` of the run (what GD hovers at)."""
        m = max(1, int(round(fraction * len(self.sharpness))))
        return float(np.median(self.sharpness[-m:]))


def eos_run(obj, theta0: torch.Tensor, eta: float, steps: int = 400, every: int = 5, rtol: float = 1e-6) -> EoSRun:
    r"""Run GD with step ``eta`` for ``steps`` steps, measure the sharpness every ``every`` iterates by
    Lanczos (each call warm-started from the previous top eigenvector, so a few Hessian-vector products
    suffice), and solve GF from the same start at the times :math:`k\eta` (DOPRI5, tolerance ``rtol``)."""
    gd = gradient_descent(obj, theta0, eta, steps)
    ks = np.arange(0, len(gd.thetas), every)
    vals, v = [], None
    for k in ks:
        e = extreme_eigenvalues(obj, gd.thetas[k], which="max", v0=v, tol=1e-4)
        v = e.vector_max
        vals.append(float(e.lambda_max))
    gf = gradient_flow(obj, theta0, gd_time_grid(eta, steps), rtol=rtol, atol=1e-8)
    d = distance(gd, gf).numpy()
    return EoSRun(float(eta), gd, gf, ks, np.array(vals), d)


def igr_velocity(obj, theta: torch.Tensor, eta: float) -> torch.Tensor:
    r"""The IGR flow's velocity :math:`-(\nabla f + \tfrac{\eta}{2}\nabla^2 f\,\nabla f)`, which is
    :math:`-\nabla\big(f + \tfrac\eta4\|\nabla f\|^2\big)` because
    :math:`\nabla\tfrac12\|\nabla f\|^2 = \nabla^2 f\,\nabla f`. One gradient and one Hessian-vector product."""
    g = obj.grad(theta)
    return -(g + 0.5 * eta * obj.hvp(theta, g))


def igr_flow(obj, theta0: torch.Tensor, eta: float, t_eval, rtol: float = 1e-8, atol: float = 1e-10) -> torch.Tensor:
    r"""Solve the IGR flow for step ``eta`` from ``theta0`` (DOPRI5); return :math:`\theta(t)` at ``t_eval``."""
    sol = odeint(lambda t, y: igr_velocity(obj, y, eta), theta0, t_eval, "dopri5", rtol=rtol, atol=atol)
    return sol.y


def modified_flow_comparison(obj, theta0: torch.Tensor, etas: Sequence[float], t_end: float = 8.0) -> dict:
    r"""For each step :math:`\eta`, the largest distance over :math:`[0, t_{\rm end}]` between GD and
    (a) GF, (b) the IGR flow for that :math:`\eta`, both sampled at the GD times :math:`k\eta`.

    Returns ``{"eta": [...], "gf": [...], "igr": [...]}`` (lists of floats)."""
    out = {"eta": [], "gf": [], "igr": []}
    for eta in etas:
        steps = int(round(t_end / eta))
        gd = gradient_descent(obj, theta0, eta, steps)
        times = gd_time_grid(eta, steps)
        gf = gradient_flow(obj, theta0, times)
        igr = igr_flow(obj, theta0, eta, times)
        out["eta"].append(float(eta))
        out["gf"].append(float(distance(gd, gf).max()))
        out["igr"].append(float((gd.thetas - igr).norm(dim=1).max()))
    return out


def _eos_axes(axes, run: EoSRun, legend: bool = True) -> None:
    ax1, ax2, ax3 = axes
    ax1.plot(run.sharp_steps, run.sharpness, color=OKABE_ITO["blue"], label=r"sharpness $\lambda_{\max}$")
    ax1.axhline(run.threshold, color=OKABE_ITO["vermillion"], linestyle="--", label=r"$2/\eta$")
    ax1.set(xlabel="iteration $k$", ylabel="sharpness", title=f"Sharpness, $\\eta = {run.eta:g}$")
    k = np.arange(len(run.gd.losses))
    ax2.semilogy(k, run.gd.losses.numpy(), color=OKABE_ITO["blue"], label="GD")
    ax2.semilogy(k, run.gf.losses.numpy(), color=OKABE_ITO["black"], linestyle=":", label=r"GF at $t = k\eta$")
    ax2.set(xlabel="iteration $k$", ylabel="training loss", title="Loss")
    ax3.plot(k, run.dist, color=OKABE_ITO["bluish green"], label=r"$\|\theta_k - \theta_{GF}(k\eta)\|$")
    ax3.set(xlabel="iteration $k$", ylabel="distance", title="Distance of GD from GF")
    if run.crossing is not None:
        for ax in axes:
            ax.axvline(run.crossing, color="gray", linewidth=0.8, label=r"first $\lambda_{\max} \geq 2/\eta$")
    if legend:
        for ax in axes:
            ax.legend(fontsize=8)


def eos_figure(run: EoSRun) -> plt.Figure:
    """Three panels: sharpness against :math:`2/\\eta`, GD and GF losses, and the GD–GF distance."""
    use_style()
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.9))
    _eos_axes(axes, run)
    fig.suptitle(f"Full-batch GD on a tanh network, step $\\eta = {run.eta:g}$")
    return fig


def modified_flow_figure(comp: dict) -> plt.Figure:
    """Largest distance to GD against :math:`\\eta`, of gradient flow and of the IGR modified flow (log–log)."""
    use_style()
    fig, ax = plt.subplots(figsize=(6, 4.2))
    ax.loglog(comp["eta"], comp["gf"], "o-", color=OKABE_ITO["vermillion"], label="gradient flow")
    ax.loglog(
        comp["eta"],
        comp["igr"],
        "s--",
        color=OKABE_ITO["blue"],
        label=r"IGR flow $-\nabla(f + \frac{\eta}{4}\|\nabla f\|^2)$",
    )
    ax.set(
        xlabel=r"step size $\eta$", ylabel=r"$\max_k \|\theta_k - \theta(k\eta)\|$", title="Which flow does GD follow?"
    )
    ax.legend()
    return fig


def explorer_figure(runs: dict, eta: float) -> plt.Figure:
    """The explorer's view for one precomputed step size: :func:`eos_figure` of ``runs[eta]``."""
    return eos_figure(runs[eta])


def explorer_fallback_figure(runs: dict) -> plt.Figure:
    """Small multiples: one row (sharpness, loss, distance to GF) per precomputed step size."""
    use_style()
    etas = sorted(runs)
    fig, axes = plt.subplots(len(etas), 3, figsize=(13, 3.2 * len(etas) + 0.6), squeeze=False)
    for row, eta in zip(axes, etas):
        _eos_axes(row, runs[eta], legend=eta == etas[0])
    fig.suptitle("Edge of stability at three step sizes: sharpness, loss and distance from gradient flow")
    return fig


def eos_explorer(runs: dict):
    """An ipywidgets explorer over the precomputed ``runs`` (step size → :class:`EoSRun`)."""
    import ipywidgets as W

    box = W.Dropdown(options=[(f"{e:g}", e) for e in sorted(runs)], value=sorted(runs)[0], description="step η")
    return explorer([box], lambda eta: explorer_figure(runs, eta))


def check_edge_sharpness(eta, value, tol: float = 0.15) -> bool:
    r"""Is ``value`` (the sharpness GD hovers at) within ``tol`` (relative) of :math:`2/\eta`?"""
    x, e = finite_number(value), finite_number(eta)
    if x is None or e is None or e <= 0:
        return report(False, f"expected a positive step and a finite sharpness, got {eta!r} and {value!r}")
    target = 2.0 / e
    rel = (x - target) / target
    if abs(rel) <= tol:
        return report(
            True, f"{x:.4g} is within {100 * tol:g}% of 2/eta = {target:.4g}: GD sits at the edge of stability."
        )
    hint = (
        "too low: has the run reached the edge yet? Run longer, or use only the last part of the run."
        if rel < 0
        else "too high: use the median over the last part of the run, not the maximum (the overshoot)."
    )
    return report(False, f"{x:.4g} is {100 * abs(rel):.3g}% away from 2/eta = {target:.4g}.\n  {hint}")


def check_igr_factor(lam, eta, value, tol: float = 1e-10) -> bool:
    r"""Is ``value`` the IGR flow's rate on :math:`f = \tfrac12\lambda\theta^2`, i.e.
    :math:`\theta' = -\lambda(1 + \eta\lambda/2)\theta`, so ``value`` :math:`= \lambda(1 + \eta\lambda/2)`?"""
    x = finite_number(value)
    want = lam * (1 + eta * lam / 2)
    if x is None:
        return report(False, f"expected a finite number, got {value!r}")
    if abs(x - want) <= tol * max(1.0, abs(want)):
        return report(True, f"{x:.4g} = lambda (1 + eta lambda / 2): the modified flow decays faster than GF.")
    if abs(x - lam) <= tol * max(1.0, abs(lam)):
        return report(False, f"{x:.4g} is the rate of plain gradient flow; add the Hessian-times-gradient term.")
    return report(False, f"{x:.4g} is not right: the gradient of (eta/4) f'(theta)^2 is (eta/2) f''(theta) f'(theta).")
