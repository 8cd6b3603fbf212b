"""Consistent, colour-blind-safe figures for the course.

One palette (Okabe & Ito's eight colours, distinguishable under the common colour-vision
deficiencies) is used everywhere; each method also has its own line style and marker, so figures
still read in greyscale. Every helper returns a :class:`matplotlib.figure.Figure` with a title,
labelled axes and a legend; a chapter cell ends with ``plt.show()``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np
import torch
from cycler import cycler
from matplotlib.lines import Line2D

from .analysis import stability_region
from .butcher import get_method

__all__ = [
    "OKABE_ITO",
    "METHOD_STYLE",
    "STYLE",
    "use_style",
    "method_label",
    "solutions_plot",
    "order_plot",
    "stability_region_figure",
    "stability_axes",
    "path_axes",
    "path_plot",
    "work_precision_plot",
    "step_size_figure",
    "gd_norms_plot",
]

#: Okabe & Ito (2008), "Color Universal Design": safe for protanopia, deuteranopia and tritanopia.
OKABE_ITO = {
    "black": "#000000",
    "orange": "#E69F00",
    "sky blue": "#56B4E9",
    "bluish green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "reddish purple": "#CC79A7",
}

#: colour, line style and marker of each method (the exact solution is always solid black).
METHOD_STYLE = {
    "euler": {"color": OKABE_ITO["vermillion"], "linestyle": "-", "marker": "o"},
    "heun": {"color": OKABE_ITO["orange"], "linestyle": "--", "marker": "s"},
    "midpoint": {"color": OKABE_ITO["reddish purple"], "linestyle": "-.", "marker": "^"},
    "rk4": {"color": OKABE_ITO["blue"], "linestyle": ":", "marker": "D"},
    "bs23": {"color": OKABE_ITO["sky blue"], "linestyle": (0, (5, 1)), "marker": "v"},
    "dopri5": {"color": OKABE_ITO["bluish green"], "linestyle": (0, (3, 1, 1, 1, 1, 1)), "marker": "P"},
    "exact": {"color": OKABE_ITO["black"], "linestyle": "-", "marker": ""},
}

_LABELS = {
    "euler": "Euler",
    "heun": "Heun",
    "midpoint": "midpoint",
    "rk4": "RK4",
    "bs23": "BS 3(2)",
    "dopri5": "DOPRI5",
}

#: rcParams of every figure: modest size, dpi 100 (stored notebook outputs stay small), light grid.
STYLE = {
    "figure.dpi": 100,
    "savefig.dpi": 100,
    "figure.figsize": (7.0, 4.0),
    "figure.constrained_layout.use": True,
    "figure.facecolor": "white",
    "axes.prop_cycle": cycler(
        color=[
            OKABE_ITO[k]
            for k in ("blue", "vermillion", "bluish green", "orange", "reddish purple", "sky blue", "black", "yellow")
        ]
    ),
    "axes.grid": True,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.titlesize": 11,
    "axes.labelsize": 10,
    "grid.alpha": 0.35,
    "grid.linewidth": 0.6,
    "font.size": 10,
    "legend.fontsize": 8.5,
    "legend.frameon": False,
    "lines.linewidth": 1.6,
    "lines.markersize": 4.5,
    "image.cmap": "cividis",
}


def use_style() -> None:
    """Apply :data:`STYLE` to matplotlib's global rcParams (chapters call this once in their setup)."""
    mpl.rcParams.update(STYLE)


def method_label(method) -> str:
    """Display name of a method: ``'rk4'`` → ``'RK4'``."""
    name = get_method(method).name
    return _LABELS.get(name, name)


def _style(method: str, **overrides) -> dict:
    return {**METHOD_STYLE.get(method, {"color": OKABE_ITO["black"], "linestyle": "-", "marker": "."}), **overrides}


def solutions_plot(
    exact: tuple[Sequence[float], Sequence[float]],
    runs: Mapping[str, tuple[torch.Tensor, torch.Tensor]],
    *,
    title: str,
    xlabel: str = "time $t$",
    ylabel: str = "$y(t)$",
) -> plt.Figure:
    """Scalar solutions against time: the exact curve ``(t, y)`` and numerical runs ``label -> (t, y)``
    (each run in its own colour, line style and marker; the first component of ``y`` is plotted)."""
    use_style()
    fig, ax = plt.subplots(figsize=(7.0, 3.6))
    ax.plot(*exact, label="exact", **_style("exact"))
    colors = [OKABE_ITO[k] for k in ("vermillion", "blue", "bluish green", "orange")]
    for i, (label, (t, y)) in enumerate(runs.items()):
        y = torch.as_tensor(y).reshape(len(t), -1)[:, 0].numpy()
        ax.plot(
            torch.as_tensor(t).numpy(),
            y,
            label=label,
            color=colors[i % 4],
            linestyle=["--", ":", "-.", "-"][i % 4],
            marker="osD^"[i % 4],
            markersize=3.5,
        )
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel)
    ax.legend(loc="upper right")
    return fig


def order_plot(
    steps: Mapping[str, Sequence[float]],
    errors: Mapping[str, Sequence[float]],
    slopes: Mapping[str, float] | None = None,
    *,
    title: str = "Global error against step size",
    xlabel: str = "step size $h$",
    ylabel: str = "global error at $t = T$",
) -> plt.Figure:
    """Log–log error against step for several methods; the legend gives each measured slope (order)."""
    use_style()
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for method, h in steps.items():
        label = method_label(method)
        if slopes is not None and method in slopes:
            label += f" (slope {slopes[method]:.3g})"
        ax.loglog(h, errors[method], label=label, **_style(method))
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel)
    ax.legend(loc="lower right")
    return fig


def stability_axes(ax, methods: Sequence[str], re=(-4.0, 1.0), im=(-3.5, 3.5), n: int = 401, fill: bool = True):
    """Draw the stability regions :math:`|R(z)| \\le 1` of ``methods`` on ``ax`` (filled lightly, outlined)."""
    x, y = np.linspace(*re, n), np.linspace(*im, n)
    handles = []
    for m in methods:
        name = get_method(m).name
        style = _style(name)
        amp = stability_region(name, x, y)
        if fill:
            ax.contourf(x, y, amp, levels=[0.0, 1.0], colors=[style["color"]], alpha=0.12)
        ax.contour(x, y, amp, levels=[1.0], colors=[style["color"]], linestyles=[style["linestyle"]], linewidths=1.8)
        limit = get_method(name).stability_limit
        handles.append(
            Line2D(
                [],
                [],
                color=style["color"],
                linestyle=style["linestyle"],
                label=f"{method_label(name)} (real limit {limit:.4g})",
            )
        )
    ax.axhline(0, color="0.4", lw=0.7)
    ax.axvline(0, color="0.4", lw=0.7)
    ax.set_aspect("equal")
    ax.set(xlim=re, ylim=im, xlabel=r"Re $z$  ($z = h\lambda$)", ylabel=r"Im $z$")
    return handles


def stability_region_figure(methods: Sequence[str] = ("euler", "heun", "rk4", "dopri5"), **kwargs) -> plt.Figure:
    """Stability regions :math:`\\{z : |R(z)| \\le 1\\}` of several methods in the complex plane."""
    use_style()
    kwargs = {"re": (-4.0, 1.5), "im": (-4.0, 4.0), **kwargs}
    fig, ax = plt.subplots(figsize=(6.0, 6.3))
    handles = stability_axes(ax, methods, **kwargs)
    ax.set_title(r"Stability regions $|R(z)| \leq 1$ in the complex plane")
    fig.legend(handles=handles, loc="outside lower center", ncols=2)
    return fig


def path_axes(ax, A, paths: Mapping[str, torch.Tensor], exact: torch.Tensor | None = None, *, lim: float = 2.0):
    """Draw iterates in the plane over the level sets of :math:`f(\\theta) = \\frac12\\theta^\\top A\\theta`.

    ``paths`` maps a method name (for its style) or a label to an ``(n, 2)`` tensor of iterates.
    """
    A = torch.as_tensor(A, dtype=torch.float64).numpy()
    g = np.linspace(-lim, lim, 201)
    X, Y = np.meshgrid(g, g)
    F = 0.5 * (A[0, 0] * X**2 + 2 * A[0, 1] * X * Y + A[1, 1] * Y**2)
    ax.contour(X, Y, F, levels=np.geomspace(0.02, 50, 9), colors="0.75", linewidths=0.7)
    if exact is not None:
        e = torch.as_tensor(exact).numpy()
        ax.plot(e[:, 0], e[:, 1], label="exact flow", **_style("exact"))
    for key, p in paths.items():
        p = torch.as_tensor(p).numpy()
        name = key if key in METHOD_STYLE else ""
        label = method_label(key) if name else key
        ax.plot(p[:, 0], p[:, 1], label=label, **_style(name, markersize=3.5, linewidth=1.1))
    ax.plot([0], [0], marker="*", color=OKABE_ITO["black"], markersize=9, linestyle="", label="minimum")
    ax.set(xlim=(-lim, lim), ylim=(-lim, lim), xlabel=r"$\theta_1$", ylabel=r"$\theta_2$")
    ax.set_aspect("equal")


def path_plot(
    A, paths: Mapping[str, torch.Tensor], exact: torch.Tensor | None = None, *, title: str = "", lim: float = 2.0
) -> plt.Figure:
    """Iterates of one or more methods on a 2-D quadratic, with the exact gradient-flow path."""
    use_style()
    fig, ax = plt.subplots(figsize=(5.0, 5.0))
    path_axes(ax, A, paths, exact, lim=lim)
    ax.set_title(title or "Paths on a quadratic")
    ax.legend(loc="lower left")
    return fig


def work_precision_plot(
    runs: Mapping[str, Mapping[str, np.ndarray]],
    *,
    title: str = "Accuracy per work",
    xlabel: str = "function evaluations",
    ylabel: str = "error at $t = T$",
) -> plt.Figure:
    """Error against function evaluations; ``runs`` maps a label to :func:`gfteach.analysis.work_precision`
    output. Each run gets its own colour, line style and marker."""
    use_style()
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    styles = [
        {"color": OKABE_ITO["blue"], "linestyle": ":", "marker": "D"},
        {"color": OKABE_ITO["orange"], "linestyle": "--", "marker": "s"},
        {"color": OKABE_ITO["bluish green"], "linestyle": "-", "marker": "P"},
        {"color": OKABE_ITO["vermillion"], "linestyle": "-.", "marker": "o"},
    ]
    for i, (label, run) in enumerate(runs.items()):
        ax.loglog(run["nfev"], run["error"], label=label, **styles[i % len(styles)])
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel)
    ax.legend(loc="lower left")
    return fig


def step_size_figure(
    orbit: torch.Tensor,
    step_points: torch.Tensor,
    step_times: Sequence[float],
    step_sizes: Sequence[float],
    *,
    title: str = "Steps chosen by DOPRI5",
) -> plt.Figure:
    """Left: a planar trajectory (``orbit``, rows ``(x, y, ...)``) with the start of every accepted step
    marked. Right: the accepted step sizes against time (log scale)."""
    use_style()
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9.0, 4.2), gridspec_kw={"width_ratios": [1.15, 1]})
    o, p = torch.as_tensor(orbit).numpy(), torch.as_tensor(step_points).numpy()
    ax1.plot(o[:, 0], o[:, 1], label="exact orbit", **_style("exact", linewidth=1.0))
    ax1.plot(
        p[:, 0],
        p[:, 1],
        linestyle="",
        marker="o",
        markersize=3.5,
        color=METHOD_STYLE["dopri5"]["color"],
        label="start of an accepted step",
    )
    ax1.plot([0], [0], marker="*", markersize=11, linestyle="", color=OKABE_ITO["orange"], label="sun")
    ax1.set_aspect("equal")
    ax1.xaxis.set_major_locator(mpl.ticker.MaxNLocator(5))
    ax1.set(title="Where the steps fall", xlabel="$x$", ylabel="$y$")
    ax1.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), ncols=3)
    ax2.semilogy(
        step_times,
        step_sizes,
        drawstyle="steps-post",
        label="accepted step size $h$",
        color=METHOD_STYLE["dopri5"]["color"],
    )
    ax2.set(title="Step size along the solution", xlabel="time $t$", ylabel="step size $h$")
    ax2.legend(loc="lower center")
    fig.suptitle(title)
    return fig


def gd_norms_plot(
    norms: Mapping[str, Sequence[float]], *, title: str, xlabel: str = "iteration $k$", ylabel: str = r"$\|\theta_k\|$"
) -> plt.Figure:
    """Norm of gradient-descent iterates on a log scale, one line per label."""
    use_style()
    fig, ax = plt.subplots(figsize=(6.4, 3.8))
    styles = [_style("dopri5", marker=""), _style("euler", marker="")]
    for i, (label, v) in enumerate(norms.items()):
        ax.semilogy(np.asarray(v), label=label, **styles[i % 2])
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel)
    ax.legend(loc="upper left")
    return fig
