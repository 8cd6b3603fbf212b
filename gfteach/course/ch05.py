r"""Chapter 5, from flow to descent: its figures, its explorer and its checkers.

The numerics are :mod:`gfteach.linear` (the deep-linear objective, balanced starts), :mod:`gfteach.flow`
(gradient descent and flow), :mod:`gfteach.curvature` and :mod:`gfteach.bounds` (the step the tracking
bound allows, :func:`~gfteach.bounds.step_from_bound`, and the curvature-blind Euler step,
:func:`~gfteach.bounds.classic_euler_step`); this module draws them and gives feedback on the exercises.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch

from .._checks import show, state
from ..bounds import classic_euler_step, step_from_bound
from ..curvature import CurvatureAlong
from ..flow import DivergenceWarning, distance, gd_time_grid, gradient_descent, gradient_flow
from ..linear import balanced_init, net_dims, theta_from_layers, whitened_objective
from ..measure import integral_at
from .checkers import AnswerError, agrees, as_number, as_vector, attempt, checker, diagnose, exp, parameters, verdict
from .explorers import explorer, slider
from .style import CYCLE, OKABE_ITO, figsize, use_style

__all__ = [
    "HORIZON",
    "WIDTH",
    "curvature_figure",
    "bound_figure",
    "descent_runs",
    "descent_figure",
    "descent_explorer",
    "check_theorem_step",
    "check_origin_curvature",
    "check_horizon_steps",
]

#: the explorer's time horizon and the hidden width of the chapter's networks.
HORIZON, WIDTH = 30.0, 3


def curvature_figure(curvatures: Mapping) -> plt.Figure:
    r"""Left: :math:`\lambda_{\min}` along gradient flow, one curve per depth (``{depth: CurvatureAlong}``).
    Right: the running integral :math:`\int_0^t \min(\lambda_{\min}, 0)`."""
    use_style()
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=figsize(1, 3.4))
    for color, (depth, c) in zip(CYCLE, curvatures.items()):
        ax1.plot(c.times, c.lambda_min, color=color, label=f"depth {depth}")
        ax2.plot(c.times, c.negative_integral, color=color, label=f"depth {depth}")
    ax1.axhline(0.0, color=OKABE_ITO["black"], linewidth=0.8)
    ax1.set(xlabel="time $t$", ylabel=r"$\lambda_{\min}(\nabla^2 f(\theta(t)))$", title="Smallest Hessian eigenvalue")
    ax2.set(
        xlabel="time $t$",
        ylabel=r"$I(t) = \int_0^t \min(\lambda_{\min}, 0)\,ds$",
        title="Its negative part, integrated",
    )
    ax2.legend()
    fig.suptitle("Curvature along gradient flow from balanced near-zero starts")
    return fig


def bound_figure(bound, eps: float, gd, gf) -> plt.Figure:
    """Left: the measured GD–GF distance, the bound (summed and closed forms) and the target ``eps``.
    Right: the losses of the two runs."""
    use_style()
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=figsize(1, 3.6))
    t = bound.times[1:]
    ax1.loglog(t, bound.distance[1:], color=OKABE_ITO["blue"], label="measured distance")
    ax1.loglog(t, bound.bound[1:], color=OKABE_ITO["vermillion"], linestyle="--", label="bound (sum)")
    ax1.loglog(t, bound.closed_form[1:], color=OKABE_ITO["orange"], linestyle=":", label="bound (closed form)")
    ax1.axhline(eps, color=OKABE_ITO["black"], linestyle="-.", linewidth=1, label=rf"target $\varepsilon = {eps:g}$")
    ax1.set(xlabel=r"time $t = k\eta$", ylabel=r"$\|\theta_k - \theta(k\eta)\|$", title="Distance and bound")
    ax1.set_ylim(top=1.0)
    ax1.legend(loc="upper left", ncols=2, fontsize=8)
    ax2.semilogy(gf.times, gf.losses, color=OKABE_ITO["black"], label="gradient flow")
    every = max(1, len(gd.times) // 40)
    ax2.semilogy(gd.times, gd.losses, color=OKABE_ITO["vermillion"], linestyle="", marker="o", markersize=5,
                 markerfacecolor="none", markevery=every, label="gradient descent")  # fmt: skip
    ax2.set(xlabel="time $t$", ylabel="loss $f$", title="The losses")
    ax2.legend()
    fig.suptitle(rf"Gradient descent with the theorem's step $\eta = {gd.step:.4g}$")
    return fig


# -- the explorer ------------------------------------------------------------------------------------

_FLOWS: dict = {}


def descent_runs(Phi: torch.Tensor, depth: int, scale: float, step: float, seed: int = 0):
    r"""Gradient descent with ``step`` and gradient flow from one balanced start of size ``scale``, up to
    :data:`HORIZON`: ``(gd, gf)``. The flow is recorded every 0.1 time units (``step`` must be a multiple
    of 0.1) and cached per (``Phi``, depth, scale, seed); a diverging descent stops where it diverged."""
    key = (tuple(Phi.reshape(-1).tolist()), depth, scale, seed)
    dims = net_dims(depth, Phi.shape[1], WIDTH, Phi.shape[0])
    obj = whitened_objective(Phi, dims)
    theta0 = theta_from_layers(balanced_init(dims, scale, torch.Generator().manual_seed(seed)))
    if key not in _FLOWS:
        _FLOWS[key] = gradient_flow(obj, theta0, gd_time_grid(0.1, round(HORIZON / 0.1)), rtol=1e-9, atol=1e-12)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DivergenceWarning)
        gd = gradient_descent(obj, theta0, step, round(HORIZON / step))
    return gd, _FLOWS[key]


def _fate(run) -> str:
    final = float(run.losses[-1])
    return "diverged" if run.diverged else "converges" if final < 1e-9 else f"stalls at {final:.2g}"


def descent_figure(Phi: torch.Tensor, depth: int, scale: float, step: float) -> plt.Figure:
    """One explorer frame: the losses of GF and GD and the distance between them, up to :data:`HORIZON`."""
    use_style()
    gd, gf = descent_runs(Phi, depth, scale, step)
    fig, ax = plt.subplots(figsize=figsize(1, 3.6))
    ax.semilogy(gf.times, gf.losses, color=OKABE_ITO["black"], label="GF loss")
    ax.semilogy(gd.iterations * gd.step, gd.iterate_losses[gd.iterations], color=OKABE_ITO["vermillion"],
                linestyle="--", label="GD loss")  # fmt: skip
    ax.semilogy(gd.times, np.maximum(distance(gd, gf).numpy(), 1e-17), color=OKABE_ITO["blue"], linestyle=":",
                label="GD–GF distance")  # fmt: skip
    ax.set(xlabel="time $t$", ylabel="loss, distance", ylim=(1e-12, 1e2), xlim=(0, HORIZON))
    ax.set_title(rf"Depth {depth}, scale {scale:g}, $\eta = {step:g}$: GF {_fate(gf)}, GD {_fate(gd)}")
    ax.legend(loc="lower left")
    return fig


def descent_explorer(Phi: torch.Tensor, depths=(2, 3, 5), scales=(0.001, 0.05), steps=(0.1, 0.5, 1.0, 1.5)):
    """Depth × initial scale × step → the explorer frame (24 frames; flows cached per depth and scale)."""
    return explorer(
        lambda depth, scale, step: descent_figure(Phi, depth, scale, step),
        slider("depth", "depth N", list(depths), value=3),
        slider("scale", "initial scale", list(scales), value=0.05),
        slider("step", "step η", list(steps), value=0.1),
        alt="Semi-log plot over time 0 to 30 of the gradient-flow loss (black), the gradient-descent loss (dashed) "
        "and the distance between them (dotted) for a deep linear network with scalar output",
    )


# -- checkers ----------------------------------------------------------------------------------------


@checker
def check_theorem_step(eta, eps, beta, gamma, T, integral) -> bool:
    r"""Is ``eta`` *a* step the tracking bound allows: :math:`0 < \eta` and
    :math:`\tfrac{\beta\gamma}{2}T\eta\,e^{-I} \le \varepsilon`? Every allowed step passes, the largest one
    included (also rounded to float32: a relative slack of 2^-23 absorbs that rounding, nothing more); every
    larger one fails, with a diagnosis."""
    eps, beta, gamma, T = parameters(eps=eps, beta=beta, gamma=gamma, T=T, positive=["eps", "beta", "gamma", "T"])
    (integral,) = parameters(integral=integral)
    if integral > 0:
        raise ValueError(f"integral must be <= 0 (I = ∫ min(λ_min, 0) dt), got {integral!r}")
    x = as_number(eta, "the step eta")
    if x <= 0:
        return verdict(False, f"a step size must be positive, got eta = {x:.4g}")
    if not (largest := attempt(step_from_bound, beta, gamma, T, eps, integral)) > 0:  # below the float range
        raise ValueError(f"integral = {integral:g} leaves no float step: the largest allowed one underflows to 0 "
                         f"(eps = {eps:g}, T = {T:g}); choose a larger integral or eps, or a smaller T")  # fmt: skip
    if x <= largest * (1 + 2.0**-23):
        if x >= largest * (1 - 1e-3):
            return verdict(True, f"eta = {x:.4g} is the largest step the bound allows: there it equals eps.")
        return verdict(True, f"eta = {x:.4g} is allowed: the bound stays below eps up to T. "
                       "(A larger step would be allowed too.)")  # fmt: skip
    e_I, e_minus_I = math.exp(integral), exp(-integral)
    slips = {
        "you used exp(-I) where exp(I) belongs: negative curvature must make the step smaller, not larger":
            2 * eps * e_minus_I / (beta * gamma * T),
        "the curvature factor exp(I) is missing: the bound's amplification exp(-I) must be paid for":
            2 * eps / (beta * gamma * T),
        "the horizon T is missing: the bound grows like T times eta": 2 * eps * e_I / (beta * gamma),
        "beta is missing: the local error of one step is eta^2 * beta * gamma / 2": 2 * eps * e_I / (gamma * T),
        "gamma is missing: the local error of one step is eta^2 * beta * gamma / 2": 2 * eps * e_I / (beta * T),
    }  # fmt: skip
    if why := diagnose(x, [(value, why) for why, value in slips.items()], digits=3):
        return verdict(False, f"eta = {x:.4g} is too large: {why}.")
    if x <= largest * 1.01:
        return verdict(False, f"eta = {x:.4g} is just above the largest allowed step: round down, not up.")
    return verdict(False, f"eta = {x:.4g} is too large: with it (beta*gamma/2)*T*eta*exp(-I) exceeds eps. "
                   "Solve the bound for eta.")  # fmt: skip


def _by_depth(values, depths: Sequence[int], what: str) -> np.ndarray:
    if isinstance(values, Mapping):
        missing = [d for d in depths if d not in values]
        if missing:
            raise AnswerError(f"{what} should have an entry for each depth {list(depths)}; missing {missing}")
        return np.array([as_number(values[d], f"{what}[{d}]") for d in depths])
    return as_vector(values, what, len(depths))


@checker
def check_origin_curvature(lams, Phi: torch.Tensor, depths: Sequence[int] = (2, 3, 4)) -> bool:
    r"""Are ``lams`` the smallest Hessian eigenvalues at :math:`\theta = 0` for ``depths`` (a list in that
    order, or a dict by depth)? Depth 2: :math:`-\|\Phi\|`; depth :math:`\ge 3`: 0 (to 4 digits, 1e-8)."""
    Phi = state("Phi", Phi)
    if Phi.dim() not in (1, 2):
        raise ValueError(f"Phi must be a vector or a matrix, got shape {tuple(Phi.shape)}")
    got = _by_depth(lams, depths, "lams")
    norm = float(torch.linalg.matrix_norm(Phi.reshape(1, -1) if Phi.dim() == 1 else Phi, ord=2))
    want = np.array([-norm if d == 2 else 0.0 for d in depths])
    ok = [agrees(g, w, digits=4) if w != 0 else abs(g) <= 1e-8 for g, w in zip(got, want)]
    if all(ok):
        return verdict(True, "a strict saddle at depth 2; at depth >= 3 the Hessian at the origin vanishes.")
    problems = []
    for d, g, w, good in zip(depths, got, want, ok):
        if good:
            continue
        if w == 0:
            problems.append(f"depth {d}: the loss near 0 differs from its value at 0 by terms of degree N >= 3, "
                            "so the Hessian there is zero")  # fmt: skip
        elif agrees(g, -w, digits=3):
            problems.append(f"depth {d}: wrong sign; the origin is a saddle, so lambda_min < 0 (not lambda_max)")
        elif agrees(g, -(norm**2), digits=3):
            problems.append(f"depth {d}: the quadratic term -<Phi, W_2 W_1> is linear in Phi, not quadratic")
        elif agrees(g, w / 2, digits=3) or agrees(g, 2 * w, digits=3):
            problems.append(f"depth {d}: a factor 2 is off; normalize the direction (W_1, W_2) to unit length")
        elif abs(g) <= 1e-8:
            problems.append(f"depth {d}: not zero at depth 2; the term -<Phi, W_2 W_1> is quadratic in the weights")
        else:
            problems.append(f"depth {d}: not lambda_min of the Hessian at theta = 0")
    return verdict(False, "; ".join(problems) + ".")


@checker
def check_horizon_steps(theorem_steps, blind_steps, curvature, beta, gamma, eps=0.1, horizons=(5, 10, 20, 30)):
    r"""Are ``theorem_steps`` (:func:`~gfteach.bounds.step_from_bound` with :math:`I(T)` from ``curvature``)
    and ``blind_steps`` (:func:`~gfteach.bounds.classic_euler_step`) right for every horizon, to 3 digits?"""
    if not isinstance(curvature, CurvatureAlong):
        raise TypeError(f"curvature must be a CurvatureAlong (from gt.curvature_along), got {show(curvature)}")
    beta, gamma, eps = parameters(beta=beta, gamma=gamma, eps=eps, positive=["beta", "gamma", "eps"])
    theorem, blind = as_vector(theorem_steps, "theorem_steps"), as_vector(blind_steps, "blind_steps")
    for name, v in (("theorem_steps", theorem), ("blind_steps", blind)):
        if v.size != len(horizons):
            raise AnswerError(f"{name} should have one step per horizon T = {list(horizons)}, got {v.size}")
        if (v <= 0).any():
            raise AnswerError(f"{name} should hold positive step sizes")
    negative = curvature.lambda_min.clamp(max=0.0)
    I = [float(integral_at(curvature.times, negative, T)) for T in horizons]  # noqa: E741 (the book's I(T))
    want_theorem = [step_from_bound(beta, gamma, T, eps, i) for T, i in zip(horizons, I)]
    want_blind = [classic_euler_step(beta, gamma, T, eps) for T in horizons]

    def same(xs, ys):
        return all(math.isfinite(y) and agrees(x, y, digits=3) for x, y in zip(xs, ys))

    good_theorem, good_blind = same(theorem, want_theorem), same(blind, want_blind)
    if good_theorem and good_blind:
        return verdict(
            True, "the theorem's step falls like 1/T once I(T) has settled; the blind one like exp(-beta*T)."
        )
    if same(theorem, want_blind) and same(blind, want_theorem):
        return verdict(False, "the two lists are swapped: theorem_steps first, blind_steps second")
    problems = []
    if not good_theorem:
        if same(theorem, [attempt(step_from_bound, beta, gamma, T, eps, I[-1]) for T in horizons]):
            problems.append("theorem_steps: use I(T) at each horizon T, not the integral up to the last one")
        elif same(theorem, [2 * eps * exp(-i) / (beta * gamma * T) for T, i in zip(horizons, I)]):
            problems.append("theorem_steps: exp(I) belongs in the step, not exp(-I)")
        elif same(theorem, [step_from_bound(beta, gamma, T, eps) for T in horizons]):
            problems.append("theorem_steps: the curvature factor exp(I(T)) is missing")
        else:
            problems.append("theorem_steps: solve (beta*gamma/2)*T*eta*exp(-I(T)) = eps for eta at each T")
    if not good_blind:
        problems.append("blind_steps: solve (gamma*eta/2)*(exp(beta*T) - 1) = eps for eta at each T")
    return verdict(False, "; ".join(problems) + ".")
