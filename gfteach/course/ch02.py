r"""Chapter 2, gradient descent is Euler's method: figures, the explorer and the checkers.

The landscapes are :mod:`gfteach.landscapes`; the runs, distances, curvature and bounds come from
:func:`gfteach.gradient_descent`, :func:`gfteach.gradient_flow`, :func:`gfteach.curvature_along` and
:mod:`gfteach.bounds`. Figures take what the chapter computed; only the explorer and the hilltop figure
run their own (small) experiments, through the same functions.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch

from .. import bounds
from ..curvature import curvature_along
from ..flow import gd_time_grid, gradient_descent, gradient_flow
from ..landscapes import LANDSCAPES, get_landscape
from ..objective import as_objective
from .checkers import agrees, as_number, attempt, checker, diagnose, exp, parameters, verdict
from .explorers import choice, explorer, slider
from .style import OKABE_ITO, figsize, use_style

__all__ = [
    "COLORS", "LABELS", "WINDOWS", "paths_figure", "bound_figure", "classic_figure", "step_scaling_figure",
    "hilltop_figure", "explorer_figure", "tracking_explorer", "EXPLORER_STEPS", "check_scalar_gap",
    "check_bound_step", "check_gap_peak",
]  # fmt: skip

_O = OKABE_ITO
COLORS = {"gf": _O["black"], "gd": _O["vermillion"], "bound": _O["blue"], "closed": _O["sky blue"],
          "classic": _O["reddish purple"], "lmin": _O["bluish green"], "lmax": _O["orange"]}  # fmt: skip
#: each landscape's formula, for titles
LABELS = {
    "quadratic": r"quadratic $\frac{1}{2}(\theta_1^2 + 4\theta_2^2)$",
    "saddle": r"saddle $\frac{1}{2}(\theta_1^2 - \theta_2^2)$",
    "two-well": r"two wells $\frac{1}{4}(\theta_1^2 - 1)^2 + (\theta_2 - \frac{\theta_1}{2})^2$",
}
#: each landscape's plotting window (theta_1 range, theta_2 range)
WINDOWS = {"quadratic": ((-0.4, 1.8), (-0.6, 1.3)), "saddle": ((-0.4, 1.8), (-0.3, 1.5)),
           "two-well": ((-0.5, 1.5), (-0.3, 1.4))}  # fmt: skip


def _contours(ax, name: str) -> None:
    (x0, x1), (y0, y1) = WINDOWS[name]
    X, Y = np.meshgrid(np.linspace(x0, x1, 161), np.linspace(y0, y1, 161))
    F = get_landscape(name).f(torch.as_tensor(np.stack([X, Y], -1))).numpy()
    ax.contour(X, Y, F, levels=np.quantile(F, np.linspace(0.02, 0.98, 14)), colors="0.78", linewidths=0.7)
    ax.set(xlim=(x0, x1), ylim=(y0, y1), xlabel=r"$\theta_1$", ylabel=r"$\theta_2$")
    ax.set_aspect("equal")


def _paths_axes(ax, name: str, gd, gf) -> None:
    _contours(ax, name)
    g, d = gf.thetas.numpy(), gd.thetas.numpy()
    ax.plot(g[:, 0], g[:, 1], color=COLORS["gf"], label="gradient flow")
    ax.plot(d[:, 0], d[:, 1], color=COLORS["gd"], marker="o", markersize=2.8, linewidth=0.8, linestyle="--",
            label="GD iterates", markevery=max(1, len(d) // 60))  # fmt: skip
    ax.plot(*d[0], marker="s", color="black", linestyle="", markersize=6, label=r"start $\theta_0$")


def _bound_axes(ax, bound, closed: bool = True) -> None:
    t = bound.times.numpy()[1:]
    ax.semilogy(t, bound.distance[1:].numpy(), color=COLORS["gd"], label=r"measured $\|\theta_k - \theta(k\eta)\|$")
    ax.semilogy(t, bound.bound[1:].numpy(), color=COLORS["bound"], linestyle="--", label="bound (sum)")
    if closed:
        ax.semilogy(
            t, bound.closed_form[1:].numpy(), color=COLORS["closed"], linestyle=":", label="bound (closed form)"
        )
    ax.set(xlabel=r"time $t = k\eta$", ylabel="distance")


def _curvature_axes(ax, curvature) -> None:
    t = curvature.times.numpy()
    ax.plot(t, curvature.lambda_min.numpy(), color=COLORS["lmin"], label=r"$\lambda_{\min}(\nabla^2 f)$ along GF")
    ax.plot(t, curvature.lambda_max.numpy(), color=COLORS["lmax"], linestyle="--", label=r"$\lambda_{\max}$")
    ax.axhline(0.0, color="black", linewidth=0.8)
    ax.set(xlabel="time $t$", ylabel="Hessian eigenvalue")


def paths_figure(gds: Mapping, gfs: Mapping) -> plt.Figure:
    """GD iterates and the GF path over the level sets, one panel per landscape (``name -> Trajectory``)."""
    use_style()
    fig, axes = plt.subplots(2, 2, figsize=figsize(2, 3.0))
    for ax, name in zip(axes.flat, gds):
        _paths_axes(ax, name, gds[name], gfs[name])
        ax.set_title(f"{LABELS[name]}\n$\\eta = {gds[name].step:g}$, $t \\leq {float(gds[name].times[-1]):.3g}$")
    axes.flat[-1].set_visible(False)
    fig.legend(*axes.flat[0].get_legend_handles_labels(), loc="center", bbox_to_anchor=(0.75, 0.25))
    fig.suptitle("Gradient descent and gradient flow on three landscapes")
    return fig


def bound_figure(bounds_by_name: Mapping, curvatures: Mapping) -> plt.Figure:
    """One row per landscape: left, the measured distance and the bound; right, the extreme Hessian
    eigenvalues along GF (``name -> ApproximationBound`` and ``name -> CurvatureAlong``)."""
    use_style()
    fig, axes = plt.subplots(len(bounds_by_name), 2, figsize=figsize(len(bounds_by_name), 2.5), squeeze=False)
    for (left, right), name in zip(axes, bounds_by_name):
        _bound_axes(left, bounds_by_name[name])
        _curvature_axes(right, curvatures[name])
        left.set_title(f"{name}: distance and bound")
        right.set_title(f"{name}: curvature along the flow")
    handles = [h for ax in axes[0] for h in ax.get_legend_handles_labels()[0]]
    fig.legend(handles=handles, loc="outside lower center", ncols=3)
    fig.suptitle("Distance between GD and GF, the bound, and the curvature along the flow")
    return fig


def classic_figure(bound, classic, *, title: str) -> plt.Figure:
    """On one run: measured distance, the book's bound (both forms) and the classic Euler bound ``classic``."""
    use_style()
    fig, ax = plt.subplots(figsize=figsize(1, 3.9, width=6.4))
    _bound_axes(ax, bound)
    t = bound.times.numpy()[1:]
    ax.semilogy(t, np.asarray(classic)[1:], color=COLORS["classic"], linestyle="-.",
                label=r"classic: $\frac{\gamma\eta}{2}(e^{\beta t} - 1)$")  # fmt: skip
    ax.set_title(title)
    ax.legend(loc="center right")
    return fig


def step_scaling_figure(etas: Sequence[float], distances: Mapping, slopes: Mapping, t: float) -> plt.Figure:
    """Log–log distance at time ``t`` against the step, one line per landscape (legend: fitted slope)."""
    use_style()
    fig, ax = plt.subplots(figsize=figsize(1, 3.9, width=6.0))
    etas = np.asarray(etas, dtype=float)
    for (name, d), marker, color in zip(distances.items(), "osD", (_O["blue"], _O["vermillion"], _O["bluish green"])):
        ax.loglog(etas, d, marker=marker, color=color, label=f"{name} (slope {slopes[name]:.3f})")
    guide = np.asarray(distances[next(iter(distances))])
    ax.loglog(etas, guide[-1] * etas / etas[-1] / 3, color=_O["black"], linestyle=":", label=r"$\propto \eta$")
    ax.set(xlabel=r"step $\eta$", ylabel=rf"$\|\theta_k - \theta(t)\|$ at $t = {t:g}$")
    ax.set_title("The distance between GD and GF is proportional to the step")
    ax.legend(loc="upper left")
    return fig


def hilltop_figure(mu: float, theta0: float, etas: Sequence[float], t_end: float, eps: float) -> plt.Figure:
    r"""Top: the gap on the hilltop :math:`f = -\frac\mu2\theta^2`, measured (GD against :math:`\theta_0e^{\mu t}`)
    and its first-order estimate. Bottom: the largest step keeping the gap below ``eps`` up to time t, for
    the hilltop and the bowl :math:`+\frac\mu2\theta^2`."""
    use_style()
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=figsize(2, 3.0))
    start = torch.tensor([theta0], dtype=torch.float64)
    for eta, color in zip(etas, (COLORS["gd"], COLORS["bound"])):
        gd = gradient_descent(lambda th: -mu / 2 * (th**2).sum(), start, eta, round(t_end / eta))
        t = gd.times.numpy()[1:]
        ax1.semilogy(t, np.abs(theta0 * np.exp(mu * t) - gd.thetas[1:, 0].numpy()), color=color,
                     label=f"measured, $\\eta = {eta:g}$")  # fmt: skip
        ax1.semilogy(t, [bounds.scalar_gap_estimate(mu, theta0, eta, s) for s in t], color=color, linestyle=":",
                     linewidth=2.2, label=f"estimate, $\\eta = {eta:g}$")  # fmt: skip
    name = rf"\frac{{{mu:g}}}{{2}}\theta^2"
    ax1.set(xlabel=r"time $t = k\eta$", ylabel=r"$|\theta(t) - \theta_k|$", title=rf"the gap on $f = -{name}$")
    ax1.legend(loc="lower right", ncols=2)
    ts = np.linspace(0.5, t_end + 4, 40)
    for lam, ls, color in ((-mu, "-", COLORS["gd"]), (mu, "--", COLORS["lmin"])):
        ax2.semilogy(ts, [bounds.step_for_accuracy(lam, theta0, s, eps) for s in ts], color=color, linestyle=ls,
                     label=rf"$f = {'-' if lam < 0 else '+'}{name}$")  # fmt: skip
    ax2.semilogy(ts, 2 * eps * np.exp(-mu * ts) / (theta0 * mu**2 * ts), color=COLORS["gd"], linestyle=":",
                 linewidth=2.2, label=r"$2\varepsilon e^{-\mu t}/(\theta_0 \mu^2 t)$")  # fmt: skip
    ax2.set(xlabel="time horizon $t$", ylabel=r"largest $\eta$", title=rf"step needed for a gap $\leq {eps:g}$")
    ax2.legend(loc="lower left")
    return fig


# -- the explorer: a landscape and a step ----------------------------------------------------------------------

#: the explorer's steps (the quadratic's stability limit 2/lambda_max = 0.5 lies between the last two)
EXPLORER_STEPS = (0.05, 0.1, 0.2, 0.3, 0.45, 0.55)


@functools.lru_cache(maxsize=32)
def _run(name: str, eta: float):
    land = get_landscape(name)
    obj, steps = as_objective(land.f), max(1, math.ceil(land.t_end / eta - 1e-9))
    gd = gradient_descent(obj, land.start, eta, steps)
    gf = gradient_flow(obj, land.start, gd_time_grid(eta, steps), rtol=1e-10, atol=1e-12)
    curvature = curvature_along(obj, gf)
    return gd, gf, curvature, bounds.approximation_bound(obj, gd, gf, curvature=curvature)


def explorer_figure(landscape: str = "two-well", eta: float = 0.1) -> plt.Figure:
    """The explorer's view for one (landscape, step): paths, curvature along GF, distance and bound."""
    use_style()
    gd, gf, curvature, bound = _run(landscape, float(eta))
    fig, axes = plt.subplot_mosaic([["paths", "curvature"], ["bound", "bound"]], figsize=figsize(2, 2.9))
    _paths_axes(axes["paths"], landscape, gd, gf)
    axes["paths"].legend(loc="lower left", fontsize=8)
    axes["paths"].set_title("paths")
    _curvature_axes(axes["curvature"], curvature)
    axes["curvature"].legend(loc="best", fontsize=8)
    axes["curvature"].set_title("curvature along the flow")
    _bound_axes(axes["bound"], bound)
    axes["bound"].legend(loc="lower right", fontsize=8)
    axes["bound"].set_title(f"distance and bound (the bound {'holds' if bound.holds else 'FAILS'})")
    fig.suptitle(f"{LABELS[landscape]}, $\\eta = {eta:g}$")
    return fig


def tracking_explorer(landscape: str = "two-well", eta: float = 0.1):
    """Pick a landscape and a step (18 frames); see paths, curvature, distance and bound."""
    return explorer(explorer_figure, choice("landscape", "landscape", list(LANDSCAPES), value=landscape),
                    slider("eta", "step η", EXPLORER_STEPS, value=eta),
                    alt="Gradient descent and gradient flow on a 2-D landscape, with the curvature along the flow "
                        "and the measured distance against the bound")  # fmt: skip


# -- checkers ------------------------------------------------------------------------------------------------


def _power(base: float, k: int) -> float:
    try:
        return base**k
    except OverflowError:  # an extreme instance: this slip is skipped (not finite)
        return math.inf


@checker
def check_scalar_gap(mu, theta0, eta, t, gap):
    r"""Is ``gap`` the exact :math:`|\theta(t) - \theta_{t/\eta}|` on the hilltop :math:`f = -\frac\mu2\theta^2`?"""
    mu, theta0, eta, t = parameters(mu=mu, theta0=theta0, eta=eta, t=t, positive=["mu", "eta"])
    exact, x = bounds.scalar_gap(-mu, theta0, eta, t), as_number(gap, "the gap")
    if math.isfinite(exact) and agrees(x, exact, digits=4, rtol=1e-6):
        return verdict(True, f"the gap is {x:.4g}: GD falls behind the flow, which grows like e^(μt).")
    k, gf, gd = round(t / eta), theta0 * exp(mu * t), theta0 * _power(1 + eta * mu, round(t / eta))
    slips = [
        (-exact, "a distance is not negative: take |θ(t) - θ_k|"),
        (bounds.scalar_gap_estimate(mu, theta0, eta, t), "that is the first-order estimate θ0·e^(μt)·ημ²t/2"),
        (gf, "that is the flow's value θ(t) alone; the gap is a difference"),
        (gd, "that is GD's value θ_k alone; the gap is a difference"),
        (exact / gf if gf else math.nan, "that is the gap relative to θ(t); the question asks for the absolute gap"),
        (gf - theta0 * _power(1 - eta * mu, k), "GD climbs the hilltop: θ_{k+1} = θ_k - η·f'(θ_k) = (1 + ημ)θ_k"),
        (abs(theta0 * math.exp(-mu * t) - gd), "the flow grows on a hilltop: θ' = +μθ"),
        (gf - theta0 * _power(1 + eta * mu, k - 1), "off by one step: t/η steps reach time t"),
        (gf - theta0 * _power(1 + eta * mu, k + 1), "off by one step: t/η steps reach time t"),
    ]
    if why := diagnose(x, slips, digits=4):
        return verdict(False, why + ".")
    side = "large" if x > exact else "small"
    return verdict(False, f"too {side}. GF: θ0·e^(μt); GD after t/η steps: θ0·(1 + ημ)^(t/η).")


@checker
def check_bound_step(beta, gamma, t, target, eta, negative_integral=0.0):
    r"""Is ``eta`` the largest step with :math:`\frac{\beta\gamma}{2}t\eta e^{-I} \le` ``target``
    (:func:`gfteach.bounds.step_from_bound`), to the 4 digits the chapter prints, or within 2% below it?"""
    x = as_number(eta, "the step")
    if x <= 0:
        return verdict(False, "a step size is a positive number.")
    best = bounds.step_from_bound(beta, gamma, t, target, negative_integral)
    value = float(bounds.tracking_bound(t, x, beta, gamma, negative_integral))
    if agrees(x, best, digits=4) or 0.98 * best <= x <= best:
        return verdict(True, f"η = {x:.4g} keeps the closed-form bound at {value:.4g} ≤ {target:g}.")
    slips = [
        (best / 2, "the factor 1/2 of βγ/2 is lost: the bound is (βγ/2)·t·η"),
        (2 * best, "the factor 1/2 is used twice: the bound is (βγ/2)·t·η"),
        (best * t, "the time t is missing: the bound grows linearly in t"),
        (
            attempt(bounds.classic_euler_step, beta, gamma, t, target),
            "that is the classic bound's step, not the theorem's",
        ),
    ]
    if why := diagnose(x, slips, digits=3):
        return verdict(False, why + ".")
    if x > best:
        return verdict(False, f"too big: at this step the closed-form bound exceeds {target:g}.")
    return verdict(False, f"too small: a larger step still keeps the closed-form bound below {target:g}.")


@checker
def check_gap_peak(lam, theta0, eta, largest_gap, bound):
    r"""The bowl :math:`f = \frac\lambda2\theta^2`: ``largest_gap`` is the largest gap over :math:`t` (measured
    on a grid, so up to 0.1% below the true peak) and ``bound`` the proof's all-time bound
    :math:`\theta_0\eta\lambda/(2e(1 - \eta\lambda))`, which must lie above the peak."""
    lam, theta0, eta = parameters(lam=lam, theta0=theta0, eta=eta, positive=["lam", "eta"])
    g, b = as_number(largest_gap, "largest_gap"), as_number(bound, "bound")
    gap = functools.partial(bounds.scalar_gap, lam, theta0, eta)
    lo, hi = 0.0, 5 / lam  # the gap is unimodal in t, with its peak near 1/lam: ternary search
    for _ in range(100):
        left, right = lo + (hi - lo) / 3, hi - (hi - lo) / 3
        lo, hi = (left, hi) if gap(left) < gap(right) else (lo, right)
    peak = gap((lo + hi) / 2)
    formula = theta0 * eta * lam / (2 * math.e * (1 - eta * lam))
    problems = []
    if not (0.999 * peak <= g <= peak * (1 + 1e-6)):
        why = "far below the peak: the gap at the end of your grid?" if g < 0.5 * peak else "not the largest over t"
        problems.append(f"largest_gap: {why} (take the maximum over a fine grid of t)")
    if b < peak:
        problems.append("bound: it lies below the measured peak, so it is not a bound for all t; "
                        "keep the factor 1/(1 - ηλ) from log(1 - x) ≥ -x - x²/(2(1 - x))")  # fmt: skip
    elif not agrees(b, formula, digits=3):
        problems.append("bound: above the peak, but not the bound the proof gives (evaluate it at λ, θ0, η)")
    if problems:
        return verdict(False, "; ".join(problems) + ".")
    return verdict(True, f"the gap peaks at {g:.4g}, below the all-time bound {b:.4g}, and then decays.")
