"""Chapter 6, the paper's experiment: its tables, figures, explorer and exercise checkers.

The numerics are :mod:`gfteach.paper` (settings, weight distances, loss gaps), :mod:`gfteach.nets` and
:mod:`gfteach.flow`; the chapter computes everything in visible cells and hands plain dictionaries of
measured tensors to the functions here, which only lay them out.

A chapter's ``results[name]`` (one per network) holds ``eta0``, ``iterations`` (the recorded :math:`k`),
``losses`` (``{r: loss at every eta0-step}``, ``r = 1`` for :math:`\\eta_0` itself), ``travelled``,
``distances`` (``{r: distance to eta0/r at the recorded k}``), ``loss_gap`` and ``sharpness``.
"""

from __future__ import annotations

import hashlib
import math
import weakref
from collections.abc import Mapping

import matplotlib.pyplot as plt
import numpy as np
import torch

import gfteach as gt
from gfteach import paper

from .._checks import show, state
from .checkers import AnswerError, as_number, as_vector, checker, verdict
from .explorers import choice, explorer
from .style import MAX_WIDTH, OKABE_ITO, table, use_style

__all__ = [
    "NETWORK_LABELS", "LARGE_STEPS", "plans_table", "results_table", "reproduction_figure", "explorer_figure",
    "distance_explorer", "flow_figure", "curvature_figure", "bound_figure", "init_figure", "check_richardson",
    "check_break_even", "check_large_steps", "large_step_distances",
]  # fmt: skip

NETWORK_LABELS = {
    "fc_linear": "fully connected, linear",
    "fc_relu": "fully connected, ReLU",
    "conv_adapted": "convolutional, adapted",
    "conv_off_the_shelf": "convolutional, off-the-shelf",
}
#: the steps of the exercise "Leaving the regime" (fully connected linear network, 50 steps each)
LARGE_STEPS = (0.005, 0.01, 0.02, 0.03)
#: colour and line style of each step-size ratio r (r = 1 is eta0 itself)
_RATIO_STYLE = {
    1: {"color": OKABE_ITO["black"], "linestyle": "-"},
    2: {"color": OKABE_ITO["vermillion"], "linestyle": "--"},
    5: {"color": OKABE_ITO["blue"], "linestyle": "-."},
    10: {"color": OKABE_ITO["bluish green"], "linestyle": ":"},
    20: {"color": OKABE_ITO["orange"], "linestyle": (0, (5, 1))},
}


def _style(r: int) -> dict:
    return _RATIO_STYLE.get(r, {"color": OKABE_ITO["reddish purple"], "linestyle": (0, (3, 1, 1, 1))})


def _eta(r: int) -> str:
    return r"$\eta_0$" if r == 1 else rf"$\eta_0/{r}$"


def _label(name: str) -> str:
    return NETWORK_LABELS.get(name, name)


# -- tables -----------------------------------------------------------------------------------------------


def plans_table(setting: paper.Setting):
    """One row per network of ``setting``: the step, the number of steps, the ratios and the gradients used."""
    rows = [
        [_label(name), p.eta0, p.steps, ", ".join(map(str, p.ratios)), p.n_grad] for name, p in setting.plans.items()
    ]
    rows.append(["all four", "", "", "", setting.n_grad])
    return table(rows, ["network", "η₀", "K", "r", "gradients"], align="lrrlr")


def results_table(results: dict):
    r"""Per network: :math:`\eta_0\lambda_{\max}(\theta_0)`, the loss at the start and the end, the distance
    travelled, the largest loss gap, and the distance to the smallest step, absolute and relative."""
    rows = []
    for name, res in results.items():
        r = max(res["distances"])
        end = float(res["distances"][r][-1])
        loss, travelled = res["losses"][1], float(res["travelled"][-1])
        rows.append([_label(name), res["eta0"] * res["sharpness"], float(loss[0]), float(loss[-1]), travelled,
                     100 * res["loss_gap"], f"η₀/{r}", end, 100 * end / travelled])  # fmt: skip
    headers = ["network", "η₀λ_max(θ₀)", "loss, start", "loss, end", "travelled", "loss gap (%)", "smallest step",
               "distance to it", "relative (%)"]  # fmt: skip
    return table(rows, headers)


# -- figures ----------------------------------------------------------------------------------------------


def _loss_axes(ax, res: dict) -> None:
    for r, loss in res["losses"].items():
        ax.plot(np.arange(len(loss)), np.asarray(loss), label=f"GD, {_eta(r)}", linewidth=1.8 if r == 1 else 1.3,
                **_style(r))  # fmt: skip
    ax.set(xlabel=r"step $k$ of $\eta_0$ (time $k\eta_0$)", ylabel="training loss")


def _distance_axes(ax, res: dict, view: str = "distances") -> None:
    k = np.asarray(res["iterations"])[1:]
    travelled = np.asarray(res["travelled"])[1:]
    if view == "distances":
        ax.semilogy(k, travelled, label=r"travelled, $\|\theta_{\eta_0}(k) - \theta_0\|$", **_style(1))
    for r, d in res["distances"].items():
        y = np.asarray(d)[1:]
        y = {"distances": y, "relative": 100 * y / travelled, "rescaled": y / (1 - 1 / r)}[view]
        ax.plot(k, y, marker="o", markersize=3, label=f"to GD with {_eta(r)}", **_style(r))
    ylabel = {"distances": "distance (weights)", "relative": "distance / travelled (%)",
              "rescaled": r"distance / $(1 - 1/r)$"}[view]  # fmt: skip
    ax.set(xlabel=r"step $k$ of $\eta_0$", ylabel=ylabel)
    if view != "distances":
        ax.set_ylim(bottom=0)


def reproduction_figure(results: dict) -> plt.Figure:
    """The paper's figure, one row per network: the training loss of every step size (left) and the
    distance travelled next to the distances to the smaller steps (right, log scale)."""
    use_style()
    n = len(results)
    fig, axes = plt.subplots(n, 2, figsize=(MAX_WIDTH, 2.35 * n + 0.9), squeeze=False)
    for row, (name, res) in zip(axes, results.items()):
        _loss_axes(row[0], res)
        _distance_axes(row[1], res)
        row[0].set_title(f"{_label(name)}: loss", loc="left")
        row[1].set_title(rf"$\eta_0 = {res['eta0']:g}$, $K = {len(res['losses'][1]) - 1}$: distances", loc="left")
    labels = {}
    for ax in axes.ravel():
        for h, lab in zip(*ax.get_legend_handles_labels()):
            labels.setdefault(lab, h)
    fig.legend(list(labels.values()), list(labels), loc="outside lower center", ncols=3)
    fig.suptitle(r"GD with $\eta_0$ for $K$ steps against GD with $\eta_0/r$ for $rK$ steps, from the same weights")
    return fig


_VIEWS = {"distances (log scale)": "distances", "relative to the distance travelled": "relative",
          "rescaled by 1/(1 − 1/r)": "rescaled"}  # fmt: skip


def explorer_figure(results: dict, network: str, view: str = "rescaled") -> plt.Figure:
    """One network's distances to the smaller steps: as measured (log scale, with the distance travelled),
    relative to the distance travelled, or rescaled by :math:`1/(1 - 1/r)` (Euler's expansion predicts
    that the rescaled curves coincide: each is then the distance to the flow)."""
    if network not in results:
        raise ValueError(f"network must be one of {list(results)}, got {network!r}")
    if view not in _VIEWS.values():
        raise ValueError(f"view must be one of {list(_VIEWS.values())}, got {view!r}")
    use_style()
    fig, ax = plt.subplots(figsize=(MAX_WIDTH, 3.3))
    res = results[network]
    _distance_axes(ax, res, view)
    if view == "distances":
        ax.set_yscale("log")
    ax.legend(loc="best", ncols=2)
    ax.set_title(rf"{_label(network)}, $\eta_0 = {res['eta0']:g}$: {[k for k, v in _VIEWS.items() if v == view][0]}")
    return fig


def distance_explorer(results: dict):
    """The explorer: pick a network and a view of its distances to the smaller steps."""
    return explorer(
        lambda network, view: explorer_figure(results, network, view),
        choice("network", "network", {_label(n): n for n in results}),
        choice("view", "view", _VIEWS, value="rescaled"),
        alt="Distances from GD with eta0 to GD with each smaller step eta0/r against the step k, for one network",
    )


def flow_figure(times, to_flow: dict, etas) -> plt.Figure:
    r"""Left: :math:`\|\theta_\eta(t/\eta) - \theta(t)\|` against :math:`t` for every step (``to_flow[r]``, at
    ``times``); right: the distance at the last time against :math:`\eta` on log–log axes, with slope 1."""
    use_style()
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(MAX_WIDTH, 3.3))
    t = np.asarray(times)
    for r, gap in to_flow.items():
        ax1.semilogy(t[1:], np.asarray(gap)[1:], marker="o", markersize=3, label=f"GD, {_eta(r)}", **_style(r))
    ax1.set(
        title="distance from the true flow",
        xlabel=r"time $t = k\eta_0$",
        ylabel=r"$\|\theta_\eta(t/\eta) - \theta(t)\|$",
    )
    ax1.set_ylim(top=ax1.get_ylim()[1] * 8)  # room for the legend above the curves
    ax1.legend(loc="upper center", ncols=3, fontsize=8)
    etas, last = np.asarray(etas, dtype=float), np.array([float(g[-1]) for g in to_flow.values()])
    ax2.loglog(etas, last, "o", color=OKABE_ITO["vermillion"], label="measured at the last time")
    line = last[0] * etas / etas[0]
    ax2.loglog(etas, line, color=OKABE_ITO["black"], linewidth=1.0, label="slope 1 (Euler's order)")
    ax2.set(title="first order in the step", xlabel=r"step $\eta$", ylabel="distance at the last time")
    ax2.legend(loc="lower right")
    return fig


def curvature_figure(curvature, coarse_times, coarse, eta0: float) -> plt.Figure:
    r"""Top: :math:`\lambda_{\max}` and :math:`\lambda_{\min}` along the flow; bottom: :math:`\int_0^t
    \min(\lambda_{\min}, 0)` from all samples and from the evenly spaced ``coarse_times`` alone (``coarse``)."""
    use_style()
    fig, axes = plt.subplot_mosaic([["max", "min"], ["int", "int"]], figsize=(MAX_WIDTH, 5.6))
    t = np.asarray(curvature.times)
    axes["max"].plot(t, np.asarray(curvature.lambda_max), marker="o", markersize=3, color=OKABE_ITO["orange"],
                     label=r"$\lambda_{\max}$")  # fmt: skip
    axes["max"].axhline(2 / eta0, color=OKABE_ITO["black"], linestyle="--", linewidth=1.0, label=r"$2/\eta_0$")
    axes["max"].set(title="largest eigenvalue", xlabel="time $t$", ylabel=r"$\lambda_{\max}$", yscale="log")
    axes["min"].plot(t, np.asarray(curvature.lambda_min), marker="o", markersize=3, color=OKABE_ITO["bluish green"],
                     label=r"$\lambda_{\min}$")  # fmt: skip
    axes["min"].axhline(0, color=OKABE_ITO["black"], linewidth=0.8)
    axes["min"].set(title="smallest eigenvalue", xlabel="time $t$", ylabel=r"$\lambda_{\min}$")
    axes["int"].plot(t, np.asarray(curvature.negative_integral), marker="o", markersize=3, color=OKABE_ITO["blue"],
                     label=f"trapezoid rule on all {len(t)} samples (dense near 0)")  # fmt: skip
    axes["int"].plot(np.asarray(coarse_times), np.asarray(coarse), marker="s", markersize=4, linestyle="--",
                     color=OKABE_ITO["vermillion"], label=f"on {len(coarse)} evenly spaced samples")  # fmt: skip
    axes["int"].set(title="accumulated negative curvature", xlabel="time $t$",
                    ylabel=r"$\int_0^t \min(\lambda_{\min}(s), 0)\,ds$")  # fmt: skip
    for ax in axes.values():
        ax.legend(loc="best")
    return fig


def bound_figure(bound, hg, beta_gamma: float) -> plt.Figure:
    r"""Left: the measured distance of GD from the flow and the approximation bound (both forms); right:
    :math:`\|\nabla^2 f\,\nabla f\|/(\beta\gamma)` at every iterate (``hg``), the size of the local errors."""
    use_style()
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(MAX_WIDTH, 3.4))
    t = np.asarray(bound.times)[1:]
    ax1.semilogy(t, np.asarray(bound.closed_form)[1:], color=OKABE_ITO["sky blue"], linestyle="--", marker="s",
                 markersize=3, label="bound, closed form")  # fmt: skip
    ax1.semilogy(
        t, np.asarray(bound.bound)[1:], color=OKABE_ITO["blue"], marker="D", markersize=3, label="bound, summed"
    )
    ax1.semilogy(t, np.asarray(bound.distance)[1:], color=OKABE_ITO["vermillion"], marker="o", markersize=3,
                 label="measured distance")  # fmt: skip
    ax1.set(title="bound and truth", xlabel=r"time $t = k\eta_0$", ylabel=r"$\|\theta_k - \theta(k\eta_0)\|$")
    ax1.legend(loc="center right", fontsize=8)
    ratio = np.asarray(hg) / beta_gamma
    ax2.semilogy(np.arange(len(ratio)), ratio, marker="o", markersize=2.5, color=OKABE_ITO["bluish green"],
                 label=r"$\|\nabla^2 f(\theta_k)\nabla f(\theta_k)\| / (\beta\gamma)$")  # fmt: skip
    ax2.axhline(
        1.0, color=OKABE_ITO["black"], linestyle="--", linewidth=1.0, label=r"$\beta\gamma$ (what the bound assumes)"
    )
    ax2.set(title="size of the local errors", xlabel="step $k$", ylabel="relative to βγ", ylim=(ratio.min() / 2, 2))
    ax2.legend(loc="lower left", fontsize=8)
    return fig


def init_figure(flows: dict, curvatures: dict) -> plt.Figure:
    r""":math:`\lambda_{\min}` and :math:`\int_0^t\min(\lambda_{\min}, 0)` against the loss reached, one curve per
    initialization (``flows[label]`` and ``curvatures[label]`` sampled at the same times)."""
    use_style()
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(MAX_WIDTH, 3.4))
    for color, (label, flow) in zip((OKABE_ITO["vermillion"], OKABE_ITO["blue"]), flows.items()):
        cu = curvatures[label]
        loss = np.asarray(flow.losses)[np.searchsorted(np.asarray(flow.times), np.asarray(cu.times))]
        ax1.plot(loss, np.asarray(cu.lambda_min), marker="o", markersize=3, color=color, label=label)
        ax2.plot(loss, np.asarray(cu.negative_integral), marker="o", markersize=3, color=color, label=label)
    for ax in (ax1, ax2):
        ax.invert_xaxis()
        ax.set_xlabel("training loss along the flow (falls →)")
    ax1.axhline(0, color=OKABE_ITO["black"], linewidth=0.8)
    ax1.set(title="smallest eigenvalue", ylabel=r"$\lambda_{\min}$")
    ax2.set(title="accumulated negative curvature", ylabel=r"$\int_0^t \min(\lambda_{\min}, 0)\,ds$")
    ax1.legend(loc="lower right", fontsize=8)
    return fig


# -- exercise checkers ------------------------------------------------------------------------------------


@checker
def check_richardson(estimate, runs: dict, flow):
    r"""Is ``estimate`` the distance of GD with :math:`\eta_0` from the gradient flow at the last time,
    predicted from the runs with :math:`\eta_0` and :math:`\eta_0/2` alone (``runs[1]``, ``runs[2]``; ``flow``
    is the flow the chapter computed, the reference)? Within 3%: the prediction's own error is :math:`O(\eta_0)`."""
    if not isinstance(runs, Mapping) or not all(isinstance(v, gt.Trajectory) for v in runs.values()):
        raise TypeError(f"runs must be a dict {{r: the GD Trajectory with step eta0/r}}, got {show(runs)}")
    if {1, 2} - set(runs):
        raise ValueError(f"runs must hold r = 1 and r = 2 (the steps eta0 and eta0/2), got the keys {list(runs)}")
    if not isinstance(flow, gt.Trajectory):
        raise TypeError(f"flow must be the gradient flow's Trajectory (gt.gradient_flow), got {show(flow)}")
    x = as_number(estimate, "estimate")
    truth = float(gt.distance(runs[1], flow)[-1])
    if abs(x - truth) <= 0.03 * truth:
        return verdict(True, "Euler's error is proportional to the step, so eta0/2 is half way to the flow.")
    if x <= 0:
        return verdict(False, "a distance is positive: take the norm of the difference of the two runs' last iterates.")
    half = float(gt.distance(runs[1], runs[2])[-1])
    others = {r: float(gt.distance(runs[1], runs[r])[-1]) for r in runs if r not in (1, 2)}
    if abs(x - half) <= 0.02 * half:
        hint = "that is the distance to GD with eta0/2 itself: how far is eta0/2 from the flow, by the expansion?"
    elif abs(x - half / 2) <= 0.02 * half:
        hint = "you divided where the expansion says to multiply: eta0/2 is closer to the flow than eta0 is."
    elif any(abs(x - d) <= 0.02 * d for d in others.values()):
        hint = "that is the distance to a smaller step than eta0/2: use only eta0 and eta0/2, and correct for 1 - 1/r."
    elif x < truth:
        hint = "too small: which fraction of the way from eta0 to the flow does the step eta0/2 go?"
    else:
        hint = "too large: the distance to eta0/r is (1 - 1/r) times the distance to the flow; r = 2 here."
    return verdict(False, hint)


@checker
def check_break_even(value):
    r"""Is ``value`` the largest :math:`\eta_0\lambda_{\max}` at which DOPRI5, limited by stability alone, needs
    at most 1/20 of the gradients of GD with :math:`\eta_0/20` (to three significant digits or better)?"""
    x = as_number(value, "value")
    limit = gt.get_method("dopri5").stability_limit
    want = limit / 6
    if abs(x - want) <= 0.5e-3 * (1 + 1e-9):  # 0.551 and finer pass
        return verdict(True, "a DOPRI5 step costs 6 gradients and may be at most limit/lambda_max long.")
    if abs(x - want) <= 0.01:
        return verdict(False, "close: give at least three significant digits.")
    slips = [
        (limit, "that is DOPRI5's stability limit itself; each of its steps costs several gradients."),
        (limit / 7, "DOPRI5 has 7 stages, but the last one is the next step's first (FSAL): a step costs 6."),
        (2.0, "2 is GD's own stability limit; compare gradients per unit of flow time instead."),
        (6 / limit, "upside down: write both costs per unit of flow time and solve for eta0 * lambda_max."),
        (20 * limit / 6, "you compared the costs without the factor 1/20 the question asks for."),
        (limit / 120, "the 1/20 appears on both sides: GD with eta0/20 already costs 20/eta0 per unit of time."),
    ]
    for slip, hint in slips:
        if abs(x - slip) <= 0.01 * slip:
            return verdict(False, hint)
    if x <= 0:
        return verdict(False, "eta0 * lambda_max is positive.")
    hint = "too small" if x < want else "too large"
    return verdict(False, f"{hint}: count gradients per unit of flow time for DOPRI5 and for GD with eta0/20.")


def large_step_distances(objective, theta0, steps=LARGE_STEPS, k: int = 50) -> dict[str, list[float]]:
    """The reference of :func:`check_large_steps`, and the slips it recognizes: for each step, the distance
    from GD with it to GD with half of it after ``k`` steps relative to the distance travelled (``end``),
    its largest value over the run (``max``), the plain distance (``absolute``) and the relative distance
    with the runs compared at the same *iterate* rather than the same time (``misaligned``)."""
    out = {"end": [], "max": [], "absolute": [], "misaligned": []}
    for eta0 in steps:
        with gt.threads(1):  # a small float64 problem: one thread is fastest, above all on a shared CPU
            a = gt.gradient_descent(objective, theta0, eta0, k, record_every=1)
            b = gt.gradient_descent(objective, theta0, eta0 / 2, 2 * k, record_every=1)
        mask = torch.ones(theta0.numel(), dtype=torch.bool)
        travelled = paper.weight_distance(a, theta0, mask)
        d = paper.weight_distance(a.thetas, b.thetas[::2], mask)
        out["end"].append(float(d[-1] / travelled[-1]))
        out["max"].append(float((d[1:] / travelled[1:]).max()))
        out["absolute"].append(float(d[-1]))
        out["misaligned"].append(float(paper.weight_distance(a.thetas, b.thetas[: k + 1], mask)[-1] / travelled[-1]))
    return out


_REFERENCES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # objective -> {theta0 digest: reference}


def _reference(objective, theta0) -> dict[str, np.ndarray]:
    """:func:`large_step_distances`, computed once per objective and starting point."""
    digest = hashlib.sha1(theta0.detach().cpu().numpy().tobytes()).hexdigest()
    cache = _REFERENCES.setdefault(objective, {})
    if digest not in cache:
        cache[digest] = {key: np.array(v) for key, v in large_step_distances(objective, theta0).items()}
    return cache[digest]


def _answers(relative) -> np.ndarray:
    if isinstance(relative, dict):
        keys = {float(as_number(key, "a step (key)")): value for key, value in relative.items()}
        missing = [s for s in LARGE_STEPS if not any(math.isclose(s, key) for key in keys)]
        if missing or len(keys) != len(LARGE_STEPS):
            raise AnswerError(f"relative should have one entry per step {LARGE_STEPS}, keyed by the step")
        return np.array([as_number(keys[next(k for k in keys if math.isclose(s, k))], f"relative[{s}]")
                         for s in LARGE_STEPS])  # fmt: skip
    return as_vector(relative, "relative", length=len(LARGE_STEPS))


@checker
def check_large_steps(relative, objective, theta0):
    r"""Is ``relative`` (a dict step → value, or a list in the order of :data:`LARGE_STEPS`) the distance
    between GD with :math:`\eta_0` and GD with :math:`\eta_0/2` after 50 steps of :math:`\eta_0`, over the
    distance GD with :math:`\eta_0` travelled, for each :math:`\eta_0` (to 2%)? The reference runs on
    ``objective`` from ``theta0``."""
    gt.as_objective(objective)  # an Objective or a callable f(theta), or a TypeError naming the objective
    theta0 = state("theta0", theta0)
    x = _answers(relative)
    ref = _reference(objective, theta0)
    if np.all(np.abs(x - ref["end"]) <= 0.02 * ref["end"]):
        return verdict(True, "the larger the step, the further GD strays from GD with half of it.")
    slips = {
        "max": "that is the largest value over the run; the question asks after the 50 steps.",
        "absolute": "divide by the distance GD with eta0 travelled from theta0.",
        "misaligned": "compare the runs at the same time k * eta0: iterate 2k of GD with eta0/2, not iterate k.",
    }
    for key, hint in slips.items():
        if np.all(np.abs(x - ref[key]) <= 0.02 * np.abs(ref[key])):
            return verdict(False, hint)
    if np.all(np.abs(x / 100 - ref["end"]) <= 0.02 * ref["end"]):
        return verdict(False, "a fraction, please, not a percentage.")
    wrong = [s for s, xi, want in zip(LARGE_STEPS, x, ref["end"]) if abs(xi - want) > 0.02 * want]
    return verdict(False, f"the values for eta0 = {', '.join(map(str, wrong))} are off by more than 2%.")
