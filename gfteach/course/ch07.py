r"""Chapter 7, where gradient descent leaves gradient flow: figures, the explorer and the checkers.

The runs, the sharpness, the modified flows and Saxe's mode come from :func:`gfteach.gradient_descent`,
:func:`gfteach.gradient_flow`, :func:`gfteach.curvature_along` and :mod:`gfteach.modified_flows`; the figures
take what the chapter computed.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np

from ..flow import distance
from ..measure import loglog_slope
from ..modified_flows import edge_crossing, saxe_mode
from .checkers import AnswerError, agrees, as_number, as_vector, checker, diagnose, parameters, verdict
from .explorers import choice, explorer
from .style import OKABE_ITO, figsize, use_style

__all__ = [
    "COLORS",
    "eos_figure",
    "igr_figure",
    "central_figure",
    "saxe_figure",
    "step_explorer",
    "check_edge_sharpness",
    "check_igr_factor",
    "check_bound_ratio",
    "check_saxe_threshold",
]

_O = OKABE_ITO
COLORS = {"gd": _O["blue"], "gf": _O["black"], "edge": _O["vermillion"], "gap": _O["bluish green"],
          "igr": _O["orange"], "central": _O["reddish purple"], "cross": "0.45"}  # fmt: skip


def _edge(ax, eta: float) -> None:
    ax.axhline(2.0 / eta, color=COLORS["edge"], linestyle="--", linewidth=1.2, label=r"$2/\eta$")


def _crossing(axes, k) -> None:
    if k is not None:
        for ax in axes:
            ax.axvline(k, color=COLORS["cross"], linewidth=0.9, label=r"first $S \geq 2/\eta$")


def eos_figure(gd, gf, curvature, eta: float, curvature_gf=None) -> plt.Figure:
    r"""Three rows against the iteration :math:`k`: the sharpness of GD (and of GF at :math:`t = k\eta`, if
    ``curvature_gf`` is given) against :math:`2/\eta`; the losses of GD and GF; the distance between them."""
    use_style()
    fig, (ax1, ax2, ax3) = plt.subplots(3, 1, figsize=figsize(3, 2.45), sharex=True)
    ax1.plot(curvature.times / eta, curvature.lambda_max, color=COLORS["gd"], label="gradient descent")
    if curvature_gf is not None:
        ax1.plot(curvature_gf.times / eta, curvature_gf.lambda_max, color=COLORS["gf"], linestyle=":",
                 label=r"gradient flow at $t = k\eta$")  # fmt: skip
    _edge(ax1, eta)
    ax1.set(ylabel=r"sharpness $S = \lambda_{\max}$", title=f"Sharpness along the run, $\\eta = {eta:g}$")
    k = np.arange(len(gd.iterate_losses))
    ax2.semilogy(k, gd.iterate_losses, color=COLORS["gd"], label="gradient descent")
    ax2.semilogy(gf.times / eta, gf.losses, color=COLORS["gf"], linestyle=":", label=r"gradient flow at $t = k\eta$")
    ax2.set(ylabel="training loss", title="Loss")
    ax3.plot(gd.iterations, distance(gd, gf), color=COLORS["gap"], label=r"$\|\theta_k - \theta(k\eta)\|$")
    ax3.set(xlabel="iteration $k$", ylabel="distance", title="Distance of gradient descent from gradient flow")
    _crossing((ax1, ax2, ax3), edge_crossing(curvature, eta))
    for ax in (ax1, ax2, ax3):
        ax.legend(loc="best", fontsize=8)
    return fig


def igr_figure(etas: Sequence[float], gf_gaps: Sequence[float], igr_gaps: Sequence[float]) -> plt.Figure:
    """Largest distance to GD against the step size, of gradient flow and of the IGR flow (log–log), with the
    fitted slopes in the legend."""
    use_style()
    fig, ax = plt.subplots(figsize=figsize(1, 3.8))
    igr = r"IGR flow $-\nabla(f + \frac{\eta}{4}\|\nabla f\|^2)$"
    for gaps, key, marker, name in ((gf_gaps, "gf", "o-", "gradient flow"), (igr_gaps, "igr", "s--", igr)):
        ax.loglog(etas, gaps, marker, color=COLORS[key], label=f"{name} (slope {loglog_slope(etas, gaps):.2f})")
    ax.set(xlabel=r"step size $\eta$", ylabel=r"$\max_k \|\theta_k - \theta(k\eta)\|$",
           title="Which flow does gradient descent follow?")  # fmt: skip
    ax.legend()
    return fig


def central_figure(gd, gf, cf, curvature, curvature_cf, eta: float) -> plt.Figure:
    r"""Two rows against :math:`k`: the sharpness of GD and of the central flow ``cf`` against :math:`2/\eta`;
    the distance to GD of gradient flow and of the central flow."""
    use_style()
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=figsize(2, 2.8), sharex=True)
    ax1.plot(curvature.times / eta, curvature.lambda_max, color=COLORS["gd"], label="gradient descent")
    ax1.plot(curvature_cf.times / eta, curvature_cf.lambda_max, color=COLORS["central"], label="central flow")
    _edge(ax1, eta)
    ax1.set(ylabel=r"sharpness $S$", title=f"Sharpness, $\\eta = {eta:g}$")
    ax2.plot(gd.iterations, distance(gd, gf), color=COLORS["gf"], linestyle=":", label="gradient flow")
    ax2.plot(cf.times / eta, distance(cf, gd), color=COLORS["central"], label="central flow")
    ax2.set(xlabel="iteration $k$", ylabel=r"distance to $\theta_k$", title="Distance to gradient descent")
    for ax in (ax1, ax2):
        ax.legend(loc="best", fontsize=8)
    return fig


def saxe_figure(strength: float, u0: float, runs: Mapping[float, object]) -> plt.Figure:
    r"""The mode strength :math:`u = ab` of GD runs on :func:`~gfteach.modified_flows.saxe_objective`
    (``runs``: step → trajectory) at :math:`t = k\eta`, against the exact gradient flow (Saxe's sigmoid)."""
    use_style()
    fig, ax = plt.subplots(figsize=figsize(1, 3.8))
    t_end = max(float(run.times[-1]) for run in runs.values())
    t = np.linspace(0, t_end, 400)
    ax.plot(t, saxe_mode(t, strength, u0), color=COLORS["gf"], linewidth=2.4, label="gradient flow (exact)")
    colors = [_O["blue"], _O["orange"], _O["reddish purple"], _O["bluish green"]]
    for (eta, run), color in zip(sorted(runs.items()), colors):
        u = run.thetas[:, 0] * run.thetas[:, 1]
        ax.plot(
            run.times, u, "o-", color=color, markersize=2.5, linewidth=0.9, label=f"GD, $\\eta s = {eta * strength:g}$"
        )
    ax.axhline(strength, color="0.6", linewidth=0.8)
    ax.set(xlabel=r"time $t = k\eta$", ylabel=r"mode strength $u = ab$",
           title=f"One mode of a two-layer linear network, $s = {strength:g}$, $u_0 = {u0:g}$")  # fmt: skip
    ax.legend(loc="lower right")
    return fig


def step_explorer(runs: Mapping[float, tuple]):
    r"""An explorer over the precomputed ``runs`` (step :math:`\eta` → ``(gd, gf, curvature)``): the
    :func:`eos_figure` of each."""
    steps = sorted(runs)

    def draw(eta: float) -> plt.Figure:
        return eos_figure(*runs[eta], eta=eta)

    return explorer(draw, choice("eta", "step η", {f"{e:g}": e for e in steps}, value=steps[len(steps) // 2]),
                    alt="Sharpness against 2/eta, losses, and distance between gradient descent and gradient flow "
                        "over 400 iterations of a small tanh network")  # fmt: skip


# -- checkers ------------------------------------------------------------------------------------------------


@checker
def check_edge_sharpness(hover, sharpness, eta):
    r"""Is ``hover`` the level at which GD's ``sharpness`` (the measured :math:`\lambda_{\max}` along a run with
    step ``eta``) hovers once at the edge: within 15% of :math:`2/\eta`, and measured rather than typed in?"""
    x = as_number(hover, "hover")
    values = as_vector(sharpness, "sharpness")
    if values.size == 0:
        raise AnswerError("sharpness should hold the measured values along the run, got none")
    if (step := as_number(eta, "eta")) <= 0:
        raise AnswerError(f"eta should be the run's step size, a positive number, got {step:g}")
    threshold = 2.0 / step
    if agrees(x, threshold):
        return verdict(False, "that is the threshold 2/η itself; the question asks what the run measured.")
    slips = [
        (values.max(), "that is the largest value, the overshoot right after the crossing: summarize the late phase"),
        (values[0], "that is the sharpness at the start, before gradient descent reached the edge"),
    ]
    if why := diagnose(x, slips):
        return verdict(False, why + ".")
    rel = x / threshold - 1
    if abs(rel) <= 0.15:
        where = "above" if rel > 0 else "below"
        return verdict(True, f"{x:.4g} is {100 * abs(rel):.3g}% {where} 2/η: gradient descent hovers at the edge.")
    if rel > 0:
        return verdict(False, "too high for the late phase: does your summary include the overshoot after the "
                              "crossing? Use the last part of the run, and a median.")  # fmt: skip
    return verdict(False, "too low: does your summary include the sharpening phase before the crossing? "
                          "Use the last part of the run.")  # fmt: skip


@checker
def check_igr_factor(lam, eta, rate):
    r"""Is ``rate`` the :math:`r` of the IGR flow :math:`\theta' = -r\theta` on :math:`f = \tfrac12\lambda\theta^2`,
    :math:`r = \lambda(1 + \eta\lambda/2)`?"""
    lam, eta = parameters(lam=lam, eta=eta, positive=["eta"])
    x, right = as_number(rate, "rate"), lam * (1 + eta * lam / 2)
    if math.isfinite(right) and agrees(x, right, rtol=1e-9):
        return verdict(True, f"r = {x:.4g} > λ: the modified flow decays faster than gradient flow, as GD does.")
    slips = [
        (lam, "that is the rate of plain gradient flow: add the gradient of the penalty (η/4)·f'(θ)²"),
        (-right, "θ' = -rθ with r > 0: the flow decays, so the rate is positive"),
        (lam * (1 + eta * lam / 4), "the gradient of (η/4)·f'(θ)² is (η/2)·f'(θ)·f''(θ): the square gives a factor 2"),
        (lam * (1 + eta * lam), "the gradient of (η/4)·f'(θ)² is (η/2)·f'(θ)·f''(θ), not η·f'(θ)·f''(θ)"),
        (eta * lam * lam / 2, "that is the correction alone; the flow still has the gradient term λθ"),
        (lam * (1 - eta * lam / 2), "the penalty is added to f, so its gradient adds to the rate"),
    ]  # fmt: skip
    if why := diagnose(x, slips, rtol=1e-9):
        return verdict(False, why + ".")
    return verdict(False, "not the rate: write f'(θ) = λθ and f''(θ) = λ, differentiate f + (η/4)·f'(θ)², "
                          "and factor out θ.")  # fmt: skip


@checker
def check_bound_ratio(ratio, beta, eta):
    r"""Is ``ratio`` the lower bound :math:`\beta\eta/4` on the approximation bound divided by the trivial bound
    :math:`2\gamma k\eta` (for :math:`I = 0`, with the run's :math:`\beta` and :math:`\eta`)?"""
    beta, eta = parameters(beta=beta, eta=eta, positive=["beta", "eta"])
    x, right = as_number(ratio, "ratio"), beta * eta / 4
    if math.isfinite(right) and agrees(x, right, rtol=1e-9):
        return verdict(True, f"βη/4 = {x:.4g} ≥ 1/2: at the edge the bound never drops below half the trivial one.")
    slips = [
        (0.5, "that is the value at βη = 2 exactly; use the β measured on the run"),
        (2 * right, "the trivial bound is 2γkη: each of the two runs moves at speed at most γ"),
        (4 * right, "divide the bound (βγ/2)·kη·η by the trivial bound 2γkη: both have γ and kη"),
        (
            1 / right if right else math.inf,
            "that is the ratio upside down: the approximation bound over the trivial bound",
        ),
    ]
    if why := diagnose(x, slips, rtol=1e-9):
        return verdict(False, why + ".")
    return verdict(False, "not the ratio: divide (βγ/2)·kη·η (with e^(-I) = 1) by 2γkη and simplify.")


@checker
def check_saxe_threshold(strength, threshold):
    r"""Is ``threshold`` the step :math:`\eta^* = 1/s` below which GD converges to the balanced minimum of
    :math:`\tfrac12(s - ab)^2` (its sharpness is :math:`2s`, so :math:`\eta < 2/(2s)`)?"""
    (s,) = parameters(strength=strength, positive=["strength"])
    x, right = as_number(threshold, "threshold"), 1 / s
    if x <= 0:
        return verdict(False, "a step size is a positive number.")
    if math.isfinite(right) and agrees(x, right, rtol=1e-9):
        return verdict(True, f"η* = {x:.4g} = 2/(2s): the balanced minimum has sharpness 2s.")
    slips = [
        (2 / s, "the Hessian at a = b = √s is [[s, s], [s, s]]: its largest eigenvalue is 2s, not s"),
        (1 / (2 * s), "that is where 1 - ηλ changes sign (η = 1/λ); stability needs |1 - ηλ| < 1, i.e. η < 2/λ"),
        (s, "that is upside down: the threshold is 2 divided by the sharpness"),
        (2 / s / s, "the sharpness of the balanced minimum is a² + b² = 2s"),
    ]
    if why := diagnose(x, slips, rtol=1e-9):
        return verdict(False, why + ".")
    return verdict(False, f"too {'large' if x > right else 'small'}: compute the Hessian of ½(s - ab)² at "
                          "a = b = √s, and use η < 2/λ_max.")  # fmt: skip
