r"""Chapter 4, gradient flow over deep linear networks: its figures, its explorer and its checkers.

The numerics live in :mod:`gfteach.linear` (layers, objectives, balancedness) and
:mod:`gfteach.linear_flow` (the end-to-end dynamics, the scalar flow in polar form); this module only
draws them and gives feedback on the exercises.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch

from .._checks import integer, positive_integers, state
from ..linear import layers_from_theta
from ..linear_flow import end_to_end_flow, near_target, polar, scalar_flow, start_at_angle
from .checkers import AnswerError, as_array, as_number, as_vector, checker, verdict
from .explorers import explorer, slider
from .style import CYCLE, OKABE_ITO, figsize, use_style

__all__ = [
    "RHO0",
    "T_MAX",
    "balance_figure",
    "depth_figure",
    "polar_figure",
    "polar_explorer",
    "polar_explorer_figure",
    "time_to_target",
    "check_norm_gaps",
    "check_decay_exponent",
    "check_width_products",
]

#: the initial radius of the scalar-output runs, and how long they may run.
RHO0, T_MAX = 0.01, 1e5


def _floor(values, floor: float = 1e-17) -> np.ndarray:
    """Values for a log axis: exact zeros (e.g. at t = 0) drawn at ``floor`` instead of vanishing."""
    return np.maximum(np.asarray(values, dtype=float), floor)


def balance_figure(gf_times, gf_drift, gd_runs: Mapping) -> plt.Figure:
    """Left: the balancedness drift along gradient flow. Right: the drift of gradient-descent runs
    ``{step: (times, drift)}`` over the same horizon."""
    use_style()
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=figsize(1, 3.4), sharey=True)
    ax1.semilogy(gf_times, _floor(gf_drift), color=OKABE_ITO["black"], label="gradient flow")
    ax1.set(xlabel="time $t$", ylabel=r"$\max_j\|D_j(t) - D_j(0)\|_F$", title="Gradient flow: conserved")
    ax1.legend()
    for color, (step, (times, drift)) in zip(CYCLE, gd_runs.items()):
        ax2.semilogy(times, _floor(drift), color=color, label=rf"GD, $\eta = {step:g}$")
    ax2.set(xlabel=r"time $t = k\eta$", title="Gradient descent: drifts")
    ax2.legend()
    fig.suptitle(r"Balancedness $D_j = W_{j+1}^\top W_{j+1} - W_jW_j^\top$, unbalanced start")
    return fig


def depth_figure(times, gap, curves: Mapping) -> plt.Figure:
    """Left: the gap between the layers' product and the end-to-end ODE. Right: the loss of the
    end-to-end flow from one :math:`W(0)` for several depths, ``{depth: losses}``."""
    use_style()
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=figsize(1, 3.4))
    ax1.semilogy(times, _floor(gap), color=OKABE_ITO["blue"], marker="o", label="largest entry gap")
    ax1.set(xlabel="time $t$", ylabel=r"$\max|W_N\cdots W_1 - W_{\mathrm{ODE}}|$", title="Layers vs end-to-end ODE")
    ax1.legend()
    for color, (depth, loss) in zip(CYCLE, curves.items()):
        ax2.semilogy(times, _floor(loss), color=color, label=f"depth {depth}" + (" (plain GF)" if depth == 1 else ""))
    ax2.set(xlabel="time $t$", ylabel=r"$\frac{1}{2}\|W - \Phi\|_F^2$", title="Same $W(0)$, four depths")
    ax2.legend()
    fig.suptitle("Width does not enter the end-to-end dynamics; depth does")
    return fig


def _polar_axes(ax_rho, ax_ang, runs: Mapping, phi: torch.Tensor, label: str) -> None:
    for color, (key, sol) in zip(CYCLE, runs.items()):
        rho, angle = polar(sol.y, phi)
        ax_rho.loglog(sol.t[1:], rho[1:], color=color, label=label.format(key))
        ax_ang.semilogx(sol.t[1:], angle[1:], color=color, label=label.format(key))
    ax_rho.axhline(float(phi.norm()), color=OKABE_ITO["black"], linestyle=":", linewidth=1, label=r"$\|\Phi\|$")
    ax_rho.set(xlabel="time $t$", ylabel=r"radius $\rho = \|w\|$", title=r"Radius: shrinks, then grows to $\|\Phi\|$")
    ax_ang.set(xlabel="time $t$", ylabel=r"angle between $w$ and $\Phi$ (°)", ylim=(-5, 185))
    ax_ang.set_title(r"Direction: turns toward $\Phi$")
    ax_ang.set_yticks([0, 45, 90, 135, 180])


def polar_figure(runs: Mapping, phi: torch.Tensor, angle0: float) -> plt.Figure:
    r"""The radius (log–log) and the angle to :math:`\Phi` of scalar flows ``{depth: ODESolution}``."""
    use_style()
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=figsize(1, 3.4))
    _polar_axes(ax1, ax2, runs, phi, "depth {}")
    ax1.legend()
    fig.suptitle(rf"Scalar output, start at {angle0:g}° from $\Phi$, $\rho_0 = {RHO0:g}$")
    return fig


def time_to_target(sol, phi: torch.Tensor) -> float:
    r"""The first recorded time at which :math:`w` is :func:`~gfteach.linear_flow.near_target` (``inf`` if never)."""
    return next((float(t) for t, w in zip(sol.t, sol.y) if near_target(w, phi)), math.inf)


def polar_explorer_figure(phi: torch.Tensor, depth: int, angle: float, sol=None) -> plt.Figure:
    """The explorer's view for one (depth, initial angle): radius and angle over time."""
    use_style()
    sol = sol if sol is not None else scalar_flow(phi, depth, start_at_angle(phi, angle, RHO0), T_MAX, rtol=1e-8)
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=figsize(1, 3.4))
    _polar_axes(ax1, ax2, {depth: sol}, phi, "depth {}")
    ax1.set_xlim(1e-3, T_MAX)
    ax2.set_xlim(1e-3, T_MAX)
    ax1.set_ylim(1e-17, 10)
    ax1.legend(loc="lower left")
    reached = time_to_target(sol, phi)
    verdict_text = (
        f"reached $\\Phi$ at $t \\approx$ {reached:.3g}" if math.isfinite(reached) else "not at $\\Phi$ by $t = 10^5$"
    )
    fig.suptitle(rf"Depth {depth}, start at {angle:g}° from $\Phi$: {verdict_text}")
    return fig


def polar_explorer(phi: torch.Tensor, depths: Sequence[int] = (2, 3, 4, 5), angles=(30, 120, 150, 170, 179, 180)):
    """Depth × initial angle → the radius and the angle of the scalar flow (runs cached, ≤ 60 frames)."""
    cache: dict = {}

    def draw(depth, angle):
        if (depth, angle) not in cache:
            cache[depth, angle] = scalar_flow(phi, depth, start_at_angle(phi, angle, RHO0), T_MAX, rtol=1e-8)
        return polar_explorer_figure(phi, depth, angle, cache[depth, angle])

    return explorer(
        draw,
        slider("depth", "depth N", list(depths), value=3),
        slider("angle", "initial angle (°)", list(angles), value=170),
        alt="Two log-time panels for a scalar-output deep linear network started at radius 0.01: left, the "
        "radius of w over time with the norm of Phi dotted; right, the angle between w and Phi",
    )


# -- checkers ----------------------------------------------------------------------------------------


def _random_thetas(dims: list[int], count: int = 3) -> list[torch.Tensor]:
    g = torch.Generator().manual_seed(2024)
    n = sum(a * b for a, b in zip(dims[:-1], dims[1:]))
    return [torch.randn(n, generator=g, dtype=torch.float64) for _ in range(count)]


def _student_values(fn, theta: torch.Tensor, length: int) -> np.ndarray:
    try:
        out = fn(theta.clone())
    except Exception as error:  # the student's code: report, never raise
        raise AnswerError(f"calling norm_gaps(theta) raised {type(error).__name__}: {error}") from error
    return as_vector(out, "norm_gaps(theta)", length)


@checker
def check_norm_gaps(norm_gaps, dims) -> bool:
    r"""Is ``norm_gaps(theta)`` the vector of traces :math:`\operatorname{tr} D_j` (``N - 1`` numbers)?
    A function of the flat parameter vector; its negative (also conserved) passes too."""
    dims = positive_integers("dims", dims, at_least=2)  # the layer widths [d0, d1, ..., dN]
    if not callable(norm_gaps):
        raise AnswerError(f"norm_gaps should be a function of theta, got {type(norm_gaps).__name__}")
    for theta in _random_thetas(dims):
        layers = layers_from_theta(theta, dims)
        got = _student_values(norm_gaps, theta, len(dims) - 2)
        fro = np.array([float(w.norm() ** 2) for w in layers])
        want = fro[1:] - fro[:-1]
        if np.allclose(got, want, rtol=1e-9, atol=1e-12) or np.allclose(got, -want, rtol=1e-9, atol=1e-12):
            continue
        plain = np.array([float(w.norm()) for w in layers])
        spectral = np.array([float(torch.linalg.matrix_norm(w, ord=2)) ** 2 for w in layers])
        if np.allclose(np.abs(got), np.abs(plain[1:] - plain[:-1]), rtol=1e-6):
            why = "the norms must be squared: tr(WᵀW) = tr(WWᵀ) = ||W||_F²"
        elif np.allclose(np.abs(got), np.abs(spectral[1:] - spectral[:-1]), rtol=1e-6):
            why = "that is the spectral norm; the trace of WᵀW is the squared Frobenius norm (sum of squares)"
        elif np.allclose(got, fro[1:] + fro[:-1], rtol=1e-6):
            why = "D_j is a difference, so its trace is a difference of the two squared norms, not a sum"
        else:
            why = "at a random point this is not tr(D_j), D_j = W_{j+1}ᵀW_{j+1} - W_jW_jᵀ, for j = 1, ..., N-1"
        return verdict(False, why)
    return verdict(True, "the differences of consecutive squared Frobenius norms are conserved: layers grow together.")


@checker
def check_decay_exponent(depth, value) -> bool:
    r"""Is ``value`` the exponent :math:`a` of :math:`\rho(t) \sim t^{-a}` from the antipodal start at
    depth ``depth`` :math:`\ge 3`? Within 2% (a measured slope passes; the slips below do not)."""
    depth = integer("depth", depth)
    if depth < 3:
        return verdict(False, "the shrinking is a power law only at depth N >= 3 (at N = 2 it is exponential)")
    x = as_number(value, "the exponent a")
    want = depth / (depth - 2)
    if abs(x - want) <= 0.02 * want:
        return verdict(True, f"a = {x:.4g}: the radius shrinks like a power of t, never exponentially.")
    p, q = 2 - 2 / depth, 1 - 2 / depth
    if x < 0:
        why = "give the exponent a > 0 of rho ~ t^(-a): the slope of log rho against log t is -a"
    elif abs(x - p) <= 0.01 * p:
        why = "that is the power p = 2 - 2/N of rho in the ODE, not the decay exponent: solve the ODE"
    elif abs(x - q) <= 0.01 * q:
        why = "that is q = 1 - 2/N; rho^(-q) grows linearly in t, so the exponent of rho is related to q, not q itself"
    elif abs(x - 1 / p) <= 0.01 / p:
        why = "that is 1/p; with rho' = -C rho^p it is rho^(1-p) that changes linearly in t"
    else:
        why = "solve rho' = -C rho^p (p = 2 - 2/N): d/dt rho^(1-p) is constant; or fit only late times"
    return verdict(False, f"a = {x:.4g} is not the decay exponent at depth {depth}: {why}.")


@checker
def check_width_products(products, W_start: torch.Tensor, Phi: torch.Tensor, depth: int = 3, t: float = 5.0) -> bool:
    r"""Are ``products`` (two matrices) the end-to-end matrices at time ``t`` of two balanced layer flows
    of depth ``depth`` from ``W_start``? They must agree with the end-to-end ODE from ``W_start`` (to 1e-5)."""
    W_start, Phi, mats = state("W_start", W_start), state("Phi", Phi), []
    if isinstance(products, (str, bytes)) or not isinstance(products, Sequence) or len(products) != 2:
        raise AnswerError("products should be a list of two matrices: W_N...W_1 at t = 5 for each width")
    for name, p in zip(("first", "second"), products):
        if not isinstance(p, (torch.Tensor, np.ndarray)):
            raise AnswerError(f"the {name} product should be a matrix (tensor or array), got {type(p).__name__}")
        mats.append(as_array(p, f"the {name} product", tuple(Phi.shape)))
    ref = end_to_end_flow(W_start, lambda W: W - Phi, depth, [0.0, t]).y[-1].numpy()
    start, tol = W_start.numpy(), 1e-5 * max(1.0, float(np.abs(ref).max()))
    ok = [float(np.abs(m - ref).max()) <= tol for m in mats]
    if all(ok):
        return verdict(True, "both products follow the end-to-end ODE from W_start: the hidden width does not enter.")
    if any(np.abs(m - start).max() <= tol for m in mats):
        return verdict(False, "a product is still W_start: run gradient flow on the layers up to t = 5 first")
    if float(np.abs(mats[0] - mats[1]).max()) <= tol:
        return verdict(False, "the two agree with each other but not with the flow from W_start at t = 5: "
                       "start both from balanced_init(..., end_to_end_matrix=W_start) and stop at t = 5")  # fmt: skip
    bad = " and ".join(n for n, good in zip(("the first", "the second"), ok) if not good)
    return verdict(False, f"{bad} does not follow the flow from W_start: is it balanced, built with "
                   "end_to_end_matrix=W_start, and recorded at t = 5?")  # fmt: skip
