"""Chapter 1, numerical methods for ODEs: method styles, tableaux as tables, figures, the explorer, checkers.

The numerics live in :mod:`gfteach.rk_analysis`, :mod:`gfteach.butcher` and :mod:`gfteach.ode`; this module
only shows them. Every figure is at most :data:`~gfteach.course.style.MAX_WIDTH` wide.
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Mapping, Sequence
from fractions import Fraction

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.lines import Line2D

from .. import rk_analysis
from ..butcher import METHODS, Tableau, get_method
from ..measure import loglog_slope
from .checkers import agrees, array_parameter, as_number, as_polynomial, as_vector, checker, parameters, verdict
from .explorers import choice, explorer, slider
from .style import MAX_WIDTH, OKABE_ITO, figsize, table, use_style

__all__ = [
    "METHOD_STYLE", "method_label", "tableau_table", "format_polynomial",
    "solutions_figure", "order_figure", "step_size_figure", "work_precision_figure",
    "stability_region_figure", "gd_norms_figure", "EXPLORER_A", "EXPLORER_THETA0", "EXPLORER_STEPS",
    "explorer_figure", "ode_explorer", "EVALUATIONS", "check_stability_polynomial", "check_stability_limit",
    "check_order", "check_step_threshold", "check_stable_step", "check_time_per_gradient",
]  # fmt: skip

_O = OKABE_ITO
#: colour, line style and marker of each method, so figures also read in greyscale (``exact``: solid black).
METHOD_STYLE = {
    name: {"color": _O[color], "linestyle": ls, "marker": marker}
    for name, color, ls, marker in [("euler", "vermillion", "-", "o"), ("heun", "orange", "--", "s"),
        ("midpoint", "reddish purple", "-.", "^"), ("rk4", "blue", ":", "D"), ("bs23", "sky blue", (0, (5, 1)), "v"),
        ("dopri5", "bluish green", (0, (3, 1, 1, 1, 1, 1)), "P"), ("exact", "black", "-", "")]
}  # fmt: skip
_LABELS = {"euler": "Euler", "heun": "Heun", "rk4": "RK4", "bs23": "BS 3(2)", "dopri5": "DOPRI5"}
_LOOKS = [
    {"color": _O[c], "linestyle": ls, "marker": m, "markersize": 3.5}
    for c, ls, m in zip(("vermillion", "blue", "bluish green", "orange"), ("--", ":", "-", "-."), "osPD")
]
#: evaluations of F per step (DOPRI5: 7 stages, the last reused as the next step's first)
EVALUATIONS = {"euler": 1, "heun": 2, "midpoint": 2, "rk4": 4, "bs23": 3, "dopri5": 6}


def method_label(method) -> str:
    """Display name of a method: ``'rk4'`` → ``'RK4'``."""
    return _LABELS.get(get_method(method).name, get_method(method).name)


def _style(name: str, **overrides) -> dict:
    return {**METHOD_STYLE.get(name, {"color": _O["black"], "linestyle": "-", "marker": "."}), **overrides}


def _frac(x: float, limit: int = 1_000_000) -> str:
    return "0" if x == 0 else str(Fraction(float(x)).limit_denominator(limit))


def tableau_table(method: str | Tableau):
    """The Butcher tableau as a table: row i holds c_i and a_i1 ... a_is, the last row the weights b_j
    (and, for embedded pairs, the error weights e_j); coefficients as fractions."""
    tab = get_method(method)
    n = tab.stages + (tab.error is not None)
    rows = [[f"stage {i + 1}", _frac(tab.c[i]), *(_frac(tab.A[i, j]) if j < i else "" for j in range(n))]
            for i in range(tab.stages)]  # fmt: skip
    rows.append(["weights b", "", *(_frac(v) for v in tab.b), *[""] * (n - tab.stages)])
    if tab.error is not None:
        rows.append(["error weights e", "", *(_frac(v) for v in tab.error)])
    return table(rows, ["", "c", *(f"column {j + 1}" for j in range(n))], align="l" + "r" * (n + 1))


def format_polynomial(poly: np.polynomial.Polynomial, var: str = "z") -> str:
    """A polynomial with (nearly) rational coefficients as text: ``1 + z + z^2/2``."""
    terms = []
    for k, c in enumerate(poly.coef):
        q = Fraction(float(c)).limit_denominator(10_000)
        num = str(abs(q.numerator)) if k == 0 or abs(q.numerator) != 1 else ""
        power = "" if k == 0 else (var if k == 1 else f"{var}^{k}")
        if q:
            terms.append(" - " if q < 0 else " + ")
            terms.append(num + power + ("" if q.denominator == 1 else f"/{q.denominator}"))
    return ("-" if terms[0] == " - " else "") + "".join(terms[1:]) if terms else "0"


def _figure(height: float = 4.2, width: float = 6.4):
    use_style()
    return plt.subplots(figsize=figsize(1, height, width=width))


def _finish(fig, ax, title: str, xlabel: str, ylabel: str, loc: str = "best") -> plt.Figure:
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel)
    ax.legend(loc=loc)
    return fig


def solutions_figure(exact, runs: Mapping[str, tuple], *, title: str) -> plt.Figure:
    """The exact scalar solution ``exact = (t, y)`` and numerical runs ``label -> (t, y)`` against time."""
    fig, ax = _figure(3.4, MAX_WIDTH)
    ax.plot(*(np.asarray(v) for v in exact), label="exact", **_style("exact"))
    for (label, (t, y)), look in zip(runs.items(), _LOOKS * 3):
        ax.plot(np.asarray(t), torch.as_tensor(y).reshape(len(t), -1)[:, 0].numpy(), label=label, **look)
    return _finish(fig, ax, title, "time $t$", "$y(t)$", "upper center")


def order_figure(steps: Mapping, errors: Mapping, slopes: Mapping | None = None, *, title: str) -> plt.Figure:
    """Log–log error against step, one line per method; the legend gives each measured slope (order)."""
    fig, ax = _figure()
    for method, h in steps.items():
        label = method_label(method) + (f" (slope {slopes[method]:.3g})" if slopes and method in slopes else "")
        ax.loglog(h, errors[method], label=label, **_style(get_method(method).name))
    return _finish(fig, ax, title, "step size $h$", "global error at $t = T$", "lower right")


def step_size_figure(orbit, starts, step_times, step_sizes, *, title: str) -> plt.Figure:
    """Top: a planar orbit (rows ``(x, y, ...)``) with the start of every accepted step marked.
    Bottom: the accepted step sizes against time (log scale)."""
    use_style()
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=figsize(2, 2.9), height_ratios=[1.1, 1])
    o, p, color = torch.as_tensor(orbit).numpy(), torch.as_tensor(starts).numpy(), METHOD_STYLE["dopri5"]["color"]
    ax1.plot(o[:, 0], o[:, 1], label="exact orbit", **_style("exact", linewidth=1.0))
    ax1.plot(p[:, 0], p[:, 1], "o", markersize=3.5, color=color, label="start of an accepted step")
    ax1.plot([0], [0], "*", markersize=11, color=_O["orange"], label="sun")
    ax1.set_aspect("equal")
    _finish(fig, ax1, "Where the steps fall", "$x$", "$y$", "upper left")
    ax1.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0))
    ax2.semilogy(step_times, step_sizes, drawstyle="steps-post", color=color, label="accepted step size $h$")
    fig.suptitle(title)
    return _finish(fig, ax2, "Step size along the solution", "time $t$", "step size $h$", "lower center")


def work_precision_figure(runs: Mapping[str, Mapping], *, title: str, ylabel: str = "error") -> plt.Figure:
    """Error against function evaluations (log–log), one line per run (dicts from ``work_precision``)."""
    fig, ax = _figure()
    for (label, run), look in zip(runs.items(), _LOOKS[1:] * 2):
        ax.loglog(run["nfev"], run["error"], label=label, **look)
    return _finish(fig, ax, title, "evaluations of $F$", ylabel, "lower left")


def gd_norms_figure(norms: Mapping[str, Sequence[float]], *, title: str) -> plt.Figure:
    r"""Norm of gradient-descent iterates :math:`\|\theta_k\|` on a log scale, one line per label."""
    fig, ax = _figure(3.8)
    for (label, v), name in zip(norms.items(), ["dopri5", "euler"] * 4):
        ax.semilogy(np.asarray(v), label=label, **_style(name, marker=""))
    return _finish(fig, ax, title, "iteration $k$", r"$\|\theta_k\|$", "upper left")


@functools.lru_cache(maxsize=32)
def _region(name: str, re: tuple, im: tuple, n: int):
    x, y = np.linspace(*re, n), np.linspace(*im, n)
    return x, y, rk_analysis.stability_region(name, x, y)


def _stability_axes(ax, methods, re=(-4.0, 1.5), im=(-4.0, 4.0), n: int = 301) -> list:
    handles = []
    for m in methods:
        name = get_method(m).name
        style, (x, y, amp) = _style(name), _region(name, tuple(re), tuple(im), n)
        ax.contourf(x, y, amp, levels=[0.0, 1.0], colors=[style["color"]], alpha=0.12)
        ax.contour(x, y, amp, levels=[1.0], colors=[style["color"]], linestyles=[style["linestyle"]], linewidths=1.8)
        label = f"{method_label(name)} (real limit {get_method(name).stability_limit:.4g})"
        handles.append(Line2D([], [], color=style["color"], linestyle=style["linestyle"], label=label))
    ax.axhline(0, color="0.4", lw=0.7), ax.axvline(0, color="0.4", lw=0.7)
    ax.set_aspect("equal")
    ax.set(xlim=re, ylim=im, xlabel=r"Re $z$  ($z = h\lambda$)", ylabel=r"Im $z$")
    return handles


def stability_region_figure(methods: Sequence[str] = ("euler", "heun", "rk4", "dopri5")) -> plt.Figure:
    """Stability regions :math:`\\{z : |R(z)| \\le 1\\}` of several methods in the complex plane."""
    use_style()
    fig, ax = plt.subplots(figsize=figsize(1, 6.0, width=5.8))
    handles = _stability_axes(ax, methods)
    ax.set_title(r"Stability regions $|R(z)| \leq 1$ in the complex plane")
    fig.legend(handles=handles, loc="outside lower center", ncols=2)
    return fig


# -- the explorer: a method and a step on a quadratic -------------------------------------------------------

_Q = torch.tensor([[math.sqrt(3) / 2, -0.5], [0.5, math.sqrt(3) / 2]], dtype=torch.float64)  # 30 degrees
EXPLORER_A = _Q @ torch.diag(torch.tensor([1.0, 10.0], dtype=torch.float64)) @ _Q.T  #: eigenvalues 1 and 10
EXPLORER_THETA0 = torch.tensor([-1.6, 1.2], dtype=torch.float64)
#: the explorer's steps: each method's real limit (0.2, 0.2785, 0.3307 for lambda_max = 10) has steps on both sides
EXPLORER_STEPS = (0.05, 0.1, 0.15, 0.19, 0.21, 0.25, 0.27, 0.29, 0.32, 0.34)
_T = 3.0


@functools.lru_cache(maxsize=1)
def _level_sets():
    A, (X, Y) = EXPLORER_A.numpy(), np.meshgrid(np.linspace(-2.0, 2.0, 161), np.linspace(-2.0, 2.0, 161))
    exact = rk_analysis.quadratic_ivp(EXPLORER_A, EXPLORER_THETA0, _T)
    flow = torch.stack([exact.solution(float(s)) for s in np.linspace(0, _T, 150)]).numpy()
    return X, Y, 0.5 * (A[0, 0] * X**2 + 2 * A[0, 1] * X * Y + A[1, 1] * Y**2), flow


def explorer_figure(method: str = "euler", step: float = 0.1) -> plt.Figure:
    r"""The explorer's view for one (method, step) on :data:`EXPLORER_A`: left, the iterates against the
    exact flow :math:`e^{-At}\theta_0`; right, the stability region with the points :math:`z_i = -h\lambda_i(A)`
    (the run is stable exactly when both lie inside)."""
    use_style()
    name = get_method(method).name
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=figsize(1, 4.1))
    X, Y, F, flow = _level_sets()
    ax1.contour(X, Y, F, levels=np.geomspace(0.02, 50, 9), colors="0.75", linewidths=0.7)
    ax1.plot(flow[:, 0], flow[:, 1], label="exact flow", **_style("exact"))
    _, path = rk_analysis.quadratic_path(EXPLORER_A, EXPLORER_THETA0, name, step, _T)
    ax1.plot(*path.numpy().T, label=f"{method_label(name)} iterates", **_style(name, markersize=3.5, linewidth=1.1))
    ax1.set(xlim=(-2, 2), ylim=(-2, 2), xlabel=r"$\theta_1$", ylabel=r"$\theta_2$")
    ax1.set_aspect("equal")
    limit, ratio = get_method(name).stability_limit, 10 * step
    title = f"{method_label(name)}, $h = {step:g}$: {'stable' if ratio < limit else 'unstable'}"
    ax1.set_title(f"{title}\n$h\\lambda_{{\\max}} = {ratio:.3g}$ (limit {limit:.4g})")
    handles = _stability_axes(ax2, [name], re=(-4.5, 0.8), im=(-3.0, 3.0), n=241)
    ax2.plot(-step * np.array([1.0, 10.0]), [0, 0], "X", markersize=9, color="black", label=r"$z_i = -h\lambda_i(A)$")
    ax2.set_title("Stability region, eigenvalues $\\times\\,(-h)$")
    fig.legend(handles=[*ax1.get_lines(), handles[0], ax2.get_lines()[-1]], loc="outside lower center", ncols=2)
    fig.suptitle(r"Gradient flow $\theta' = -A\theta$, eigenvalues of $A$: 1 and 10")
    return fig


def ode_explorer(method: str = "euler", step: float = 0.1):
    """Pick a method and a step (40 frames); see the iterates and the stability picture."""
    methods = {method_label(m): m for m in ("euler", "heun", "rk4", "dopri5")}
    return explorer(explorer_figure, choice("method", "method", methods, value=method),
                    slider("step", "step h", EXPLORER_STEPS, value=step),
                    alt="Iterates of a Runge-Kutta method on a 2-D quadratic next to its stability region")  # fmt: skip


# -- checkers ------------------------------------------------------------------------------------------------


def _trim(c: np.ndarray) -> np.ndarray:  # without trailing zeros
    return c[: max(np.nonzero(np.abs(c) > 1e-12)[0], default=0) + 1]


def _same(got: np.ndarray, want: np.ndarray) -> bool:
    got, want = _trim(got), _trim(want)
    return len(got) == len(want) and all(agrees(g, w, digits=4) for g, w in zip(got, want))


@checker
def check_stability_polynomial(method, coefficients):
    """Is ``coefficients`` the method's :math:`R(z)`? Lists in either order (``[c0, c1, ...]`` or highest
    power first), ``np.poly1d``, ``np.polynomial.Polynomial`` and SymPy polynomials in one variable."""
    tab = get_method(method)
    want, label = tab.stability_polynomial().coef, method_label(tab)
    got, known = as_polynomial(coefficients)
    if _same(got, want) or (not known and _same(got[::-1], want)):
        return verdict(True, f"R(z) = {format_polynomial(np.polynomial.Polynomial(want))} for {label}.")
    for other in METHODS.values():
        if other.name != tab.name and _same(got, other.stability_polynomial().coef):
            return verdict(False, f"that is R(z) of {method_label(other)}, not of {label}.")
    got = _trim(got)
    if len(got) - 1 > tab.stages:
        return verdict(False, f"degree too high: each of the {tab.stages} stages adds at most one factor z.")
    if len(got) < len(want):
        return verdict(False, "a term is missing: the highest power of z is too low.")
    wrong = [k for k in range(len(want)) if not agrees(got[k], want[k], digits=4)]
    words = ", ".join(f"z^{k} too {'large' if got[k] > want[k] else 'small'}" for k in wrong)
    return verdict(False, f"wrong coefficient(s), read as [c0, c1, ...]: {words}. Apply one step to y' = λy.")


@checker
def check_stability_limit(method, value):
    r"""Is ``value`` the real stability limit, the largest :math:`x` with :math:`|R(-u)| \le 1` on :math:`[0, x]`?"""
    tab = get_method(method)
    x, limit = as_number(value, "the stability limit"), tab.stability_limit
    if agrees(x, limit, digits=4):
        return verdict(True, f"{method_label(tab)} is stable on y' = λy, λ < 0, iff h|λ| ≤ {x:.4g}.")
    if x <= 0:
        return verdict(False, "the limit is a positive number x (a bound on h|λ|); R is evaluated at z = -u, u ≥ 0.")
    amp = abs(tab.stability_polynomial()(-x))
    if x > limit:
        where = f"|R(-{x:.4g})| = {amp:.4g} > 1" if amp > 1 else "|R(-u)| exceeds 1 somewhere in [0, x]"
        return verdict(False, f"too large: {where}, so such a step grows the solution.")
    return verdict(False, "too small: |R(-u)| ≤ 1 still holds a bit beyond it. Solve |R(-u)| = 1 for u > 0.")


_MAX_STEPS = 4096  #: the most steps check_order reruns a method for (each of its 7 methods, at 2 steps)


@checker
def check_order(method, steps, errors, slope, ivp=None):
    """Is ``slope`` the order of ``method`` measured from the student's own ``(steps, errors)``?

    The errors must be the method's global errors at ``t = 10`` on ``y' = y cos t`` (or on ``ivp``) at
    those steps, and ``slope`` a log–log slope of that data (least squares over some of the points).
    """
    tab, label = get_method(method), method_label(method)
    h, e = as_vector(steps, "steps"), as_vector(errors, "errors")
    if h.size != e.size or h.size < 2 or (h <= 0).any() or (e <= 0).any():
        return verdict(False, "steps and errors must be positive lists of the same length, at least 2.")
    s = as_number(slope, "the slope")
    ivp = ivp or rk_analysis.exp_sin_ivp(10.0)
    check = np.argsort(-h)[:2]  # the two largest steps: the cheapest runs
    if h.size > 12:  # bound the checker's own work: it fits the slope over subsets of the points
        return verdict(False, "give at most 12 steps: the checker fits the slope over every subset of them.")
    if ivp.t_end / h[check[1]] > _MAX_STEPS:  # and reruns the methods at the two largest steps
        return verdict(False, f"steps below {ivp.t_end / _MAX_STEPS:.3g} need over {_MAX_STEPS} steps to reach t = "
                       f"{ivp.t_end:g}: too many for the checker to rerun; use larger steps.")  # fmt: skip
    try:
        reference = rk_analysis.global_errors(ivp, tab, h[check])
    except ValueError:
        return verdict(False, f"each step must divide t = {ivp.t_end:g} (try halvings, 2**-k).")
    if not np.allclose(e[check], reference, rtol=1e-6):
        for other in METHODS.values():
            if other.name != tab.name and np.allclose(e[check], rk_analysis.global_errors(ivp, other, h[check]), 1e-6):
                return verdict(False, f"these are the errors of {method_label(other)}, not of {label}.")
        return verdict(False, f"these are not {label}'s global errors |y_N - y(T)| at T = {ivp.t_end:g} at your steps.")
    subsets = [list(c) for r in range(2, min(h.size, 8) + 1) for c in itertools.combinations(range(h.size), r)]
    fits = [loglog_slope(h[c], e[c]) for c in subsets if np.ptp(np.log(h[c])) > 0]
    if not any(agrees(s, f, digits=4) for f in fits):
        ratios = e[np.argsort(-h)][:-1] / e[np.argsort(-h)][1:]
        if any(agrees(s, r, digits=3) for r in ratios) or agrees(s, float(np.mean(ratios)), digits=3):
            why = "that is a ratio of successive errors: the order is its log over the log of the step ratio"
        elif any(agrees(s, f * math.log(2), digits=3) for f in fits):
            why = "that is the natural log of an error ratio; divide by log 2 (the steps were halved)"
        elif any(agrees(s, -f, digits=3) for f in fits):
            why = "wrong sign: the error falls as the step falls, so the slope of log error against log h is positive"
        elif any(agrees(s, 1 / f, digits=3) for f in fits if f):
            why = "upside down: fit log(error) against log(h), not log(h) against log(error)"
        else:
            literal = " (a number typed in?)" if float(s).is_integer() else ""
            why = f"it is not a slope of your data{literal}; compute it with gt.loglog_slope(steps, errors)"
        return verdict(False, f"{s:.4g}: {why}.")
    if abs(s - tab.order) <= 0.2:
        return verdict(True, f"slope {s:.4g} measured on {label}'s errors: {label} has order {tab.order}.")
    hint = "are the largest steps outside the asymptotic regime?" if s < tab.order else "rounding floor?"
    return verdict(False, f"slope {s:.4g} is measured right but far from a whole order: {hint} Try other steps.")


@checker
def check_step_threshold(A, eta_max):
    """Is ``eta_max`` the threshold 2/λ_max(A) below which GD converges on f = θᵀAθ/2 (to 4 digits)?"""
    A = array_parameter("A", A)
    x, limit = as_number(eta_max, "eta_max"), rk_analysis.largest_stable_step(A)
    if agrees(x, limit, digits=4):
        return verdict(True, f"GD converges for every 0 < η < {x:.4g} (at the threshold it oscillates forever).")
    a = A.numpy()
    lam = np.linalg.eigvalsh(a)
    slips = [(1 / lam[-1], "the factor 2 is missing: |1 - ηλ| < 1 means 0 < ηλ < 2"),
             (lam[-1] / 2, "upside down: solve ηλ_max < 2 for η"),
             (2 / np.abs(a).sum(1).max(), "that is a safe bound from a matrix norm, not the threshold itself"),
             *((2 / v, "that uses another eigenvalue; the largest one sets it") for v in lam[:-1] if v)]  # fmt: skip
    for value, why in slips:
        if agrees(x, value, digits=3):
            return verdict(False, why + ".")
    return verdict(False, "too large: GD diverges there." if x > limit else "too small: GD converges beyond it.")


@checker
def check_stable_step(A, eta, within: float = 0.05):
    """Is ``eta`` a step at which GD converges on f = θᵀAθ/2, within ``within`` (5%) below the threshold?
    The threshold itself does not converge, nor does a threshold rounded up."""
    A, (within,) = array_parameter("A", A), parameters(within=within, positive=["within"])
    if within >= 1:
        raise ValueError(f"within must be a fraction below 1 (0.05 for 5%), got {within!r}")
    x, limit = as_number(eta, "eta"), rk_analysis.largest_stable_step(A)
    factor = abs(1 - x * 2 / limit)  # |1 - eta * lambda_max|: the top component's factor per step
    if x <= 0:
        return verdict(False, "a step size is a positive number.")
    if math.isclose(x, limit, rel_tol=1e-12):
        return verdict(False, "on the boundary: |1 - ηλ_max| = 1, the top component flips sign forever. Go below.")
    if x > limit:
        rounded = " (a threshold rounded up?)" if x < limit * (1 + 1e-3) else ""
        return verdict(False, f"GD diverges{rounded}: each step multiplies the top component by {factor:.6g} > 1.")
    if x < (1 - within) * limit:
        return verdict(False, f"GD converges, but not within {within:.0%} of the threshold: a larger step still does.")
    return verdict(True, f"GD converges: each step multiplies the top component by {factor:.4g} < 1.")


@checker
def check_time_per_gradient(time_per_gradient: Mapping, fewest: str):
    """Flow time a stable step covers per gradient (real limit over evaluations per step) for Euler, Heun,
    RK4 and DOPRI5 (a dict by method name), and the name of the method that needs the fewest gradients."""
    if not isinstance(time_per_gradient, Mapping):
        return verdict(False, "time_per_gradient should be a dict {method name: flow time per gradient}.")
    given, problems = {str(k).lower(): v for k, v in time_per_gradient.items()}, []
    for m in ("euler", "heun", "rk4", "dopri5"):
        x, limit, n = as_number(given.get(m), f"the value for {m!r}"), METHODS[m].stability_limit, EVALUATIONS[m]
        slips = {"": limit / n, "7 stages, but the last is reused as the next first": limit / 7,
                 "divide the limit by the evaluations per step": limit, "upside down": n / limit}  # fmt: skip
        why = next(
            (w for w, value in slips.items() if agrees(x, value, digits=3)), "not its limit over its evaluations"
        )
        problems += [f"{method_label(m)}: {why}"] if why else []
    if problems:
        return verdict(False, "; ".join(problems) + ".")
    if str(fewest).lower() != "euler":
        return verdict(False, "the values are right; the fewest gradients means the most flow time per gradient.")
    return verdict(True, "Euler covers the most flow time per gradient.")
