r"""How closely gradient descent tracks gradient flow: landscapes, experiments, figures, checkers.

Gradient descent (GD) with step :math:`\eta` is the explicit Euler method for gradient flow (GF)
:math:`\theta' = -\nabla f(\theta)`, with iterate :math:`k` compared to the flow at :math:`t = k\eta`.
This module runs both on small 2-D landscapes (:data:`LANDSCAPES`) and measures

* the distance :math:`\|\theta_k - \theta(k\eta)\|`;
* the smallest and largest Hessian eigenvalues along the flow;
* the book's approximation bound (Lady Windermere's fan, :func:`gfteach.curvature.approximation_bound`),

.. math::

    \|\theta_k - \theta(k\eta)\| \le \frac{\eta^2\beta\gamma}{2}\sum_{j<k}
    e^{-\int_{(j+1)\eta}^{k\eta} m} \le \frac{\beta\gamma}{2}\,k\eta\,\eta\,
    e^{-\int_0^{k\eta}\min(m, 0)},

* and the classic Euler bound :math:`\frac{\gamma\eta}{2}(e^{\beta t} - 1)` (:func:`classic_euler_bound`),
  which sees only the size of the curvature, not its sign.

It also holds the exactly solvable one-dimensional example :math:`f(\theta) = \frac\lambda2\theta^2`
(:func:`scalar_gap`); with :math:`\lambda = -m < 0` it is the book's negative example, where GD
tracks GF only for exponentially small steps (:func:`step_for_accuracy`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np
import torch

from .analysis import convergence_order
from .bounds import ApproximationBound, approximation_bound
from .curvature import CurvatureAlong, curvature_along
from .exercises import finite_number, report
from .flow import Trajectory, gradient_descent, gradient_flow
from .objective import as_objective
from .plotting import OKABE_ITO, use_style
from .widgets import explorer

__all__ = [
    "Landscape",
    "LANDSCAPES",
    "get_landscape",
    "TrackingRun",
    "track",
    "step_scaling",
    "classic_euler_bound",
    "scalar_gap",
    "scalar_gap_estimate",
    "step_for_accuracy",
    "bound_step",
    "paths_figure",
    "bound_figure",
    "classic_figure",
    "step_scaling_figure",
    "negative_example_figure",
    "explorer_figure",
    "fallback_runs",
    "explorer_fallback_figure",
    "tracking_explorer",
    "check_scalar_gap",
    "check_bound_step",
]

_f64 = torch.float64
#: tolerances of the reference gradient flow (DOPRI5): far below every GD-GF distance measured here
_RTOL, _ATOL = 1e-10, 1e-12
_CLASSIC = r"classic: $\frac{\gamma\eta}{2}(e^{\beta t} - 1)$"
COLORS = {
    "gf": OKABE_ITO["black"],
    "gd": OKABE_ITO["vermillion"],
    "bound": OKABE_ITO["blue"],
    "closed": OKABE_ITO["sky blue"],
    "classic": OKABE_ITO["reddish purple"],
    "lmin": OKABE_ITO["bluish green"],
    "lmax": OKABE_ITO["orange"],
}


# -- landscapes -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Landscape:
    """A 2-D objective with a starting point, a time horizon and a plotting window.

    ``f`` accepts ``(..., 2)`` tensors (so it can be evaluated on a grid) and returns ``(...)``.
    """

    name: str
    label: str
    f: Callable[[torch.Tensor], torch.Tensor]
    theta0: tuple[float, float]
    t_end: float
    xlim: tuple[float, float]
    ylim: tuple[float, float]

    @property
    def start(self) -> torch.Tensor:
        return torch.tensor(self.theta0, dtype=_f64)


def _quadratic(th):  # eigenvalues 1 and 4: convex, lambda_min = 1 everywhere
    return 0.5 * (th[..., 0] ** 2 + 4.0 * th[..., 1] ** 2)


def _saddle(th):  # eigenvalues 1 and -1 everywhere: the unstable direction is theta_2
    return 0.5 * (th[..., 0] ** 2 - th[..., 1] ** 2)


def _two_well(th):  # minima at (±1, ±1/2); lambda_min < 0 in the strip |theta_1| < ~0.66
    x, y = th[..., 0], th[..., 1]
    return (x**2 - 1) ** 2 / 4 + (y - x / 2) ** 2


#: The chapter's three landscapes: convex, a saddle, and a non-convex two-well function.
LANDSCAPES: dict[str, Landscape] = {
    "quadratic": Landscape(
        "quadratic", r"convex quadratic $\frac{1}{2}(\theta_1^2 + 4\theta_2^2)$", _quadratic, (1.5, 1.0), 5.0,
        (-0.4, 1.8), (-0.6, 1.3),
    ),
    "saddle": Landscape(
        "saddle", r"saddle $\frac{1}{2}(\theta_1^2 - \theta_2^2)$", _saddle, (1.5, 0.05), 3.0, (-0.4, 1.8), (-0.3, 1.5)
    ),
    "two-well": Landscape(
        "two-well", r"two wells $\frac{1}{4}(\theta_1^2 - 1)^2 + (\theta_2 - \frac{\theta_1}{2})^2$", _two_well,
        (0.05, 1.2), 8.0, (-0.5, 1.5), (-0.3, 1.4),
    ),
}  # fmt: skip


def get_landscape(landscape: str | Landscape) -> Landscape:
    """Look a landscape up by name (or return it)."""
    if isinstance(landscape, Landscape):
        return landscape
    if landscape not in LANDSCAPES:
        raise ValueError(f"unknown landscape {landscape!r}; choose from {sorted(LANDSCAPES)}")
    return LANDSCAPES[landscape]


# -- experiments ------------------------------------------------------------------------------------


@dataclass
class TrackingRun:
    """GD with step ``eta`` and GF at the matching times on one landscape, with curvature and bound."""

    landscape: Landscape
    eta: float
    gd: Trajectory
    gf: Trajectory
    curvature: CurvatureAlong
    bound: ApproximationBound

    @property
    def times(self) -> torch.Tensor:
        return self.gd.times

    @property
    def distance(self) -> torch.Tensor:
        return self.bound.distance


def _steps(t_end: float, eta: float) -> int:
    return max(1, math.ceil(t_end / eta - 1e-9))


def _runs(landscape: Landscape, eta: float, t_end: float | None):
    t_end = landscape.t_end if t_end is None else t_end
    steps = _steps(t_end, eta)
    obj = as_objective(landscape.f)
    gd = gradient_descent(obj, landscape.start, eta, steps)
    gf = gradient_flow(obj, landscape.start, gd.times, rtol=_RTOL, atol=_ATOL)
    return obj, gd, gf


def track(landscape: str | Landscape, eta: float, t_end: float | None = None, *, samples: int = 30) -> TrackingRun:
    r"""Run GD (step ``eta``) and GF (DOPRI5, rtol :math:`10^{-10}`) up to ``t_end`` and evaluate the bound.

    The GD run covers :math:`\lceil t_\text{end}/\eta\rceil` steps. Hessian eigenvalues are computed at
    about ``samples`` points of each run (for :math:`m(t) = \lambda_{\min}` along GF and the estimate of
    :math:`\beta`); see :func:`gfteach.curvature.approximation_bound` for how :math:`\beta`, :math:`\gamma`
    are estimated.
    """
    landscape = get_landscape(landscape)
    obj, gd, gf = _runs(landscape, eta, t_end)
    every = max(1, len(gd.times) // samples)
    curvature = curvature_along(obj, gf, every)
    bound = approximation_bound(obj, gd, gf, curvature=curvature, every=every)
    return TrackingRun(landscape, float(eta), gd, gf, curvature, bound)


def step_scaling(landscape: str | Landscape, etas: Sequence[float], t: float) -> tuple[np.ndarray, float]:
    r"""Distances :math:`\|\theta_k - \theta(t)\|`, :math:`k = t/\eta`, for each step in ``etas``, and the
    fitted log–log slope (≈ 1, because GD is Euler's method, of order 1). ``t`` must be a multiple of each step."""
    landscape = get_landscape(landscape)
    obj = as_objective(landscape.f)
    gf = gradient_flow(obj, landscape.start, [0.0, t], rtol=_RTOL, atol=_ATOL)
    d = []
    for eta in etas:
        k = round(t / eta)
        if abs(k * eta - t) > 1e-9 * max(1.0, t):
            raise ValueError(f"t = {t} is not a multiple of eta = {eta}")
        gd = gradient_descent(obj, landscape.start, eta, k, record_every=k)
        d.append(float((gd.thetas[-1] - gf.thetas[-1]).norm()))
    d = np.array(d)
    return d, convergence_order(etas, d)


def classic_euler_bound(times, eta: float, beta: float, gamma: float) -> torch.Tensor:
    r"""The classic Euler bound :math:`\frac{Mh}{2L}(e^{Lt} - 1)` for GF, with :math:`h = \eta`, :math:`L = \beta`.

    :math:`\nabla f` is :math:`\beta`-Lipschitz and :math:`\|\theta''\| = \|\nabla^2 f\,\nabla f\| \le
    \beta\gamma = M`, so the bound is :math:`\frac{\gamma\eta}{2}(e^{\beta t} - 1)`: exponential in
    :math:`t` whatever the sign of the curvature.
    """
    t = torch.as_tensor(times, dtype=_f64)
    return gamma * eta / 2 * torch.expm1(beta * t)


# -- the one-dimensional example f = (lam / 2) theta^2 ----------------------------------------------


def scalar_gap(lam: float, theta0: float, eta: float, t: float) -> float:
    r"""Exact :math:`|\theta(t) - \theta_{t/\eta}|` on :math:`f(\theta) = \frac\lambda2\theta^2`.

    GF gives :math:`\theta_0 e^{-\lambda t}`, GD gives :math:`\theta_0(1 - \eta\lambda)^{t/\eta}` (for
    :math:`t/\eta` not an integer, this is the natural interpolation). Needs :math:`1 - \eta\lambda > 0`.
    With :math:`\lambda = -m` this is the negative example :math:`f = -\frac m2\theta^2`.
    """
    if 1 - eta * lam <= 0:
        raise ValueError(f"need 1 - eta * lam > 0, got eta = {eta}, lam = {lam}")
    gf = math.exp(-lam * t)
    gd = math.exp(t / eta * math.log1p(-eta * lam))
    return abs(theta0) * abs(gf - gd)


def scalar_gap_estimate(m: float, theta0: float, eta: float, t: float) -> float:
    r"""First-order gap of the negative example :math:`f = -\frac m2\theta^2`:
    :math:`\theta_0 e^{mt}\,\eta m^2 t/2`.

    From :math:`(1 + \eta m)^{t/\eta} = \exp\big(mt - \eta m^2 t/2 + \eta^2 m^3 t/3 - \dots\big)`; the
    estimate exceeds the exact gap by the relative amount :math:`\approx \eta m(2/3 + mt/4)`.
    """
    return abs(theta0) * math.exp(m * t) * eta * m**2 * t / 2


def step_for_accuracy(lam: float, theta0: float, t: float, eps: float) -> float:
    r"""The largest :math:`\eta` with :func:`scalar_gap` :math:`\le` ``eps`` at time ``t`` (bisection).

    The gap increases with :math:`\eta` (because :math:`(1 - \eta\lambda)^{1/\eta}` decreases). For
    :math:`\lambda > 0` the search stops at :math:`\eta = 1/\lambda` (beyond it GD oscillates), which is
    returned if the gap stays below ``eps`` up to there; for :math:`\lambda < 0` the search is unbounded
    above, and ``inf`` means every step keeps the gap below ``eps`` (it tends to :math:`\theta_0(e^{mt} - 1)` as
    :math:`\eta \to \infty`).
    """
    hi = 1.0 / lam if lam > 0 else 1.0
    gap = (lambda eta: scalar_gap(lam, theta0, eta, t)) if lam != 0 else (lambda eta: 0.0)
    if lam > 0 and gap(hi * (1 - 1e-12)) <= eps:
        return hi
    if lam <= 0:
        while gap(hi) <= eps:
            if hi > 1e12:
                return math.inf
            hi *= 2
    lo = 0.0
    for _ in range(200):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if gap(mid) <= eps else (lo, mid)
        if hi - lo <= 1e-13 * hi:
            break
    return lo


def bound_step(beta: float, gamma: float, t: float, target: float, negative_integral: float = 0.0) -> float:
    r"""Largest :math:`\eta` with :math:`\frac{\beta\gamma}{2}\,t\,\eta\,e^{-N} \le` ``target``,
    where :math:`N = \int_0^t \min(m, 0) \le 0` (``negative_integral``): :math:`\eta^* = 2\,\text{target}\,
    e^{N}/(\beta\gamma t)`. For convex :math:`f` (:math:`N = 0`) this is :math:`O(1/t)`."""
    if negative_integral > 0:
        raise ValueError("negative_integral is the integral of min(m, 0): it must be <= 0")
    return 2 * target * math.exp(negative_integral) / (beta * gamma * t)


# -- figures ---------------------------------------------------------------------------------------


def _contours(ax, landscape: Landscape) -> None:
    x = np.linspace(*landscape.xlim, 161)
    y = np.linspace(*landscape.ylim, 161)
    X, Y = np.meshgrid(x, y)
    F = landscape.f(torch.as_tensor(np.stack([X, Y], -1))).numpy()
    ax.contour(X, Y, F, levels=np.quantile(F, np.linspace(0.02, 0.98, 14)), colors="0.78", linewidths=0.7)


def _paths_axes(ax, run: TrackingRun, gd_label: str = "GD iterates") -> None:
    _contours(ax, run.landscape)
    gf, gd = run.gf.thetas.numpy(), run.gd.thetas.numpy()
    ax.plot(gf[:, 0], gf[:, 1], color=COLORS["gf"], label="gradient flow")
    ax.plot(
        gd[:, 0], gd[:, 1], color=COLORS["gd"], marker="o", markersize=2.8, linewidth=0.8, linestyle="--",
        label=gd_label, markevery=max(1, len(gd) // 60),
    )  # fmt: skip
    ax.plot(*gd[0], marker="s", color="black", linestyle="", markersize=6, label=r"start $\theta_0$")
    ax.set(xlim=run.landscape.xlim, ylim=run.landscape.ylim, xlabel=r"$\theta_1$", ylabel=r"$\theta_2$")
    ax.set_aspect("equal")


def _bound_axes(ax, run: TrackingRun, closed: bool = True) -> None:
    t, b = run.times.numpy(), run.bound
    ax.semilogy(t[1:], b.distance[1:].numpy(), color=COLORS["gd"], label=r"measured $\|\theta_k - \theta(k\eta)\|$")
    ax.semilogy(t[1:], b.bound[1:].numpy(), color=COLORS["bound"], linestyle="--", label="bound (sum)")
    if closed:
        ax.semilogy(
            t[1:], b.closed_form[1:].numpy(), color=COLORS["closed"], linestyle=":", label="bound (closed form)"
        )
    ax.set(xlabel=r"time $t = k\eta$", ylabel="distance")


def _curvature_axes(ax, run: TrackingRun) -> None:
    c = run.curvature
    ax.plot(c.times.numpy(), c.lambda_min.numpy(), color=COLORS["lmin"], label=r"$\lambda_{\min}(\nabla^2 f)$ along GF")
    ax.plot(c.times.numpy(), c.lambda_max.numpy(), color=COLORS["lmax"], linestyle="--", label=r"$\lambda_{\max}$")
    ax.axhline(0.0, color="black", linewidth=0.8)
    ax.set(xlabel="time $t$", ylabel="Hessian eigenvalue")


def paths_figure(runs: Sequence[TrackingRun]) -> plt.Figure:
    """GD iterates and the GF path over the level sets, one panel per run."""
    use_style()
    fig, axes = plt.subplots(1, len(runs), figsize=(3.5 * len(runs), 3.9), squeeze=False)
    for ax, run in zip(axes.flat, runs):
        _paths_axes(ax, run)
        ax.set_title(f"{run.landscape.label}\n$\\eta = {run.eta:g}$, $t \\leq {run.times[-1]:.3g}$", fontsize=9.5)
    handles, labels = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=3)
    fig.suptitle("Gradient descent and gradient flow on three landscapes")
    return fig


def bound_figure(runs: Sequence[TrackingRun]) -> plt.Figure:
    """Top row: measured distance and the bound; bottom row: extreme Hessian eigenvalues along GF."""
    use_style()
    fig, axes = plt.subplots(2, len(runs), figsize=(3.6 * len(runs), 6.2), squeeze=False)
    for j, run in enumerate(runs):
        _bound_axes(axes[0, j], run)
        axes[0, j].set_title(f"{run.landscape.name}, $\\eta = {run.eta:g}$")
        _curvature_axes(axes[1, j], run)
    handles, labels = [], []
    for ax in axes[:, 0]:
        for h, lab in zip(*ax.get_legend_handles_labels()):
            handles.append(h)
            labels.append(lab)
    fig.legend(handles, labels, loc="outside lower center", ncols=5)
    fig.suptitle("Distance between GD and GF, the bound, and the curvature along the flow")
    return fig


def classic_figure(run: TrackingRun) -> plt.Figure:
    """On one run: measured distance, the book's bound and the classic Euler bound (log scale)."""
    use_style()
    fig, ax = plt.subplots(figsize=(6.4, 3.9))
    _bound_axes(ax, run)
    t = run.times[1:]
    classic = classic_euler_bound(t, run.eta, run.bound.beta, run.bound.gamma)
    ax.semilogy(
        t.numpy(),
        classic.numpy(),
        color=COLORS["classic"],
        linestyle="-.",
        label=r"classic: $\frac{\gamma\eta}{2}(e^{\beta t} - 1)$",
    )
    ax.set_title(f"{run.landscape.label}, $\\eta = {run.eta:g}$: the classic bound against the book's")
    ax.legend(loc="center right")
    return fig


def step_scaling_figure(etas: Sequence[float], distances: dict[str, np.ndarray], t: float) -> plt.Figure:
    """Log–log plot of the distance at time ``t`` against the step, one line per landscape, with slope 1."""
    use_style()
    fig, ax = plt.subplots(figsize=(6.0, 3.9))
    etas = np.asarray(etas, dtype=float)
    for (name, d), marker in zip(distances.items(), "osD^"):
        slope = convergence_order(etas, d)
        ax.loglog(etas, d, marker=marker, label=f"{name} (slope {slope:.3f})")
    guide = distances[next(iter(distances))]
    ax.loglog(etas, guide[-1] * etas / etas[-1] / 3, color="0.5", linestyle=":", label=r"$\propto \eta$")
    ax.set(xlabel=r"step $\eta$", ylabel=rf"$\|\theta_k - \theta(t)\|$ at $t = {t:g}$")
    ax.set_title("The distance between GD and GF is proportional to the step")
    ax.legend(loc="upper left")
    return fig


def negative_example_figure(
    m: float = 1.0, theta0: float = 1.0, etas: Sequence[float] = (0.1, 0.01), t_end: float = 6.0, eps: float = 0.01
) -> plt.Figure:
    r"""Left: the gap on :math:`f = -\frac m2\theta^2`, measured (GD iterates) and estimated. Right: the
    largest step that keeps the gap below ``eps`` up to time :math:`t`, for :math:`\lambda = -m` and
    :math:`\lambda = +m`."""
    use_style()
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9.6, 3.9))
    f = lambda th: -m / 2 * (th**2).sum()  # noqa: E731
    for eta, color in zip(etas, (COLORS["gd"], COLORS["bound"])):
        gd = gradient_descent(f, torch.tensor([theta0], dtype=_f64), eta, _steps(t_end, eta))
        t = gd.times.numpy()[1:]
        gap = np.abs(theta0 * np.exp(m * t) - gd.thetas[1:, 0].numpy())
        est = [scalar_gap_estimate(m, theta0, eta, s) for s in t]
        ax1.semilogy(t, gap, color=color, label=f"measured, $\\eta = {eta:g}$")
        ax1.semilogy(t, est, color=color, linestyle=":", linewidth=2.2, label=r"$\theta_0 e^{mt}\eta m^2 t/2$")
    ax1.set(
        xlabel=r"time $t = k\eta$",
        ylabel=r"$|\theta(t) - \theta_k|$",
        title=rf"$f = -\frac{{{m:g}}}{{2}}\theta^2$: the gap",
    )
    ax1.legend(loc="lower right")
    ts = np.linspace(0.5, t_end + 4, 40)
    neg = [step_for_accuracy(-m, theta0, s, eps) for s in ts]
    pos = [step_for_accuracy(m, theta0, s, eps) for s in ts]
    ax2.semilogy(ts, neg, color=COLORS["gd"], label=rf"$f = -\frac{{{m:g}}}{{2}}\theta^2$ (exact)")
    ax2.semilogy(ts, [2 * eps * math.exp(-m * s) / (theta0 * m**2 * s) for s in ts], color=COLORS["gd"], linestyle=":",
                 linewidth=2.2, label=r"$2\varepsilon e^{-mt}/(\theta_0 m^2 t)$")  # fmt: skip
    ax2.semilogy(ts, pos, color=COLORS["lmin"], linestyle="--", label=rf"$f = +\frac{{{m:g}}}{{2}}\theta^2$ (exact)")
    ax2.set(xlabel="time horizon $t$", ylabel=r"largest $\eta$", title=rf"step needed for a gap $\leq {eps:g}$")
    ax2.legend(loc="lower left")
    return fig


# -- explorer ----------------------------------------------------------------------------------------


def explorer_figure(landscape: str | Landscape = "two-well", eta: float = 0.1) -> plt.Figure:
    """The explorer's view for one (landscape, step): paths, distance and bound, curvature along GF."""
    use_style()
    run = track(landscape, eta)
    fig, (ax1, ax2, ax3) = plt.subplots(1, 3, figsize=(12.0, 3.9))
    _paths_axes(ax1, run)
    ax1.legend(loc="lower left", fontsize=7.5)
    ax1.set_title("paths")
    _bound_axes(ax2, run)
    ax2.legend(loc="lower right", fontsize=7.5)
    holds = "holds" if run.bound.holds else "FAILS"
    ax2.set_title(f"distance and bound ({holds})")
    _curvature_axes(ax3, run)
    ax3.legend(loc="best", fontsize=7.5)
    ax3.set_title("curvature along the flow")
    fig.suptitle(f"{run.landscape.label}, $\\eta = {eta:.3g}$")
    return fig


def fallback_runs(
    names: Sequence[str] = ("quadratic", "saddle", "two-well"), etas: Sequence[float] = (0.05, 0.2, 0.55)
) -> dict[tuple[str, float], TrackingRun]:
    """The runs behind :func:`explorer_fallback_figure`: :func:`track` for every (landscape, step) pair."""
    return {(name, eta): track(name, eta, samples=15) for name in names for eta in etas}


def explorer_fallback_figure(runs: dict[tuple[str, float], TrackingRun] | None = None) -> plt.Figure:
    """Small multiples of the explorer's middle panel: rows are landscapes, columns step sizes.

    ``runs`` maps (landscape name, step) to a run, as :func:`fallback_runs` makes them (its default).
    """
    use_style()
    runs = fallback_runs() if runs is None else runs
    names = list(dict.fromkeys(name for name, _ in runs))
    etas = list(dict.fromkeys(eta for _, eta in runs))
    fig, axes = plt.subplots(
        len(names), len(etas), figsize=(3.3 * len(etas), 2.6 * len(names) + 0.6), squeeze=False, sharey="row"
    )
    for i, name in enumerate(names):
        for j, eta in enumerate(etas):
            ax = axes[i, j]
            _bound_axes(ax, runs[name, eta], closed=False)
            ax.set_title(f"{name}, $\\eta = {eta:g}$", fontsize=9.5)
            if i < len(names) - 1:
                ax.set_xlabel("")
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=2)
    fig.suptitle("Distance between GD and GF and the book's bound, by landscape and step size")
    return fig


def tracking_explorer(landscape: str = "two-well", eta: float = 0.1):
    """An ipywidgets explorer: pick a landscape and a step; see paths, distance, bound and curvature.

    Like :func:`gfteach.widgets.ode_explorer`, it places the figure with ``append_display_data`` so that
    headless execution (nbconvert, nbval) stays deterministic.
    """
    import ipywidgets as W

    box = W.Dropdown(options=list(LANDSCAPES), value=landscape, description="landscape")
    slider = W.FloatLogSlider(
        value=eta, base=10, min=-2, max=math.log10(0.6), step=0.05, description="step η",
        readout_format=".3f", continuous_update=False,
    )  # fmt: skip
    return explorer([box, slider], explorer_figure)


# -- checkers ----------------------------------------------------------------------------------------


def check_scalar_gap(m: float, theta0: float, eta: float, t: float, value, rtol: float = 1e-3) -> bool:
    r"""Is ``value`` the exact gap :math:`|\theta(t) - \theta_{t/\eta}|` on :math:`f = -\frac m2\theta^2`?

    Recognizes the first-order estimate :math:`\theta_0 e^{mt}\eta m^2t/2` and the two values themselves
    as common slips, and says so.
    """
    x = finite_number(value)
    if x is None:
        return report(False, f"expected a finite number, got {value!r}")
    exact = scalar_gap(-m, theta0, eta, t)
    if abs(x - exact) <= rtol * exact:
        return report(True, f"{x:.6g} is the exact gap: GF {theta0 * math.exp(m * t):.6g} against GD "
                          f"{theta0 * (1 + eta * m) ** (t / eta):.6g}.")  # fmt: skip
    estimate = scalar_gap_estimate(m, theta0, eta, t)
    gf, gd = abs(theta0) * math.exp(m * t), abs(theta0) * (1 + eta * m) ** (t / eta)
    if abs(x - estimate) <= rtol * estimate:
        off = 100 * abs(x / exact - 1)
        hint = f"that is the first-order estimate θ0·e^(mt)·ηm²t/2; the exact gap differs by {off:.2g}%"
    elif abs(x - gf) <= rtol * gf or abs(x - gd) <= rtol * gd:
        hint = "that is one of the two values; the gap is their difference"
    else:
        hint = f"it is too {'large' if x > exact else 'small'} by {100 * abs(x / exact - 1):.3g}%"
    return report(False, f"{x:.6g} is not the gap: {hint}.\n  GF: θ0·e^(mt); GD after t/η steps: θ0·(1 + ηm)^(t/η).")


def check_bound_step(beta: float, gamma: float, t: float, target: float, eta, negative_integral: float = 0.0,
                     tol: float = 0.02) -> bool:  # fmt: skip
    r"""Is ``eta`` the largest step for which :math:`\frac{\beta\gamma}{2}t\eta e^{-N} \le` ``target``?

    Accepted within relative ``tol`` below :func:`bound_step`; the message says how far off a wrong answer is.
    """
    x = finite_number(eta)
    if x is None or x <= 0:
        return report(False, f"expected a positive step size, got {eta!r}")
    best = bound_step(beta, gamma, t, target, negative_integral)
    value = beta * gamma / 2 * t * x * math.exp(-negative_integral)
    if x > best * (1 + 1e-9):
        return report(False, f"too big: with η = {x:.4g} the bound is {value:.4g} > {target:g}\n"
                           f"  (it is linear in η, so divide η by {x / best:.4g}).")  # fmt: skip
    if x < (1 - tol) * best:
        return report(False, f"the bound is {value:.4g} < {target:g}: a step {best / x:.4g} times larger still keeps "
                           "it below the target.")  # fmt: skip
    return report(True, f"η = {x:.4g} keeps the bound at {value:.4g} ≤ {target:g} (largest: η* = {best:.4g}).")
