"""Chapter 3, *Curvature along the flow*: its figures, its explorer, its exercise checkers and constants.

The numerics live in :mod:`gfteach.homogeneous` (networks on digits, curvature at scaled and random
points, the bound's test instances) and in the core (:func:`gfteach.gradient_flow`,
:func:`gfteach.curvature_along`, :func:`gfteach.hessian_lower_bound`); this module only draws them
and gives feedback.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch

from gfteach import homogeneous
from gfteach.bounds import hessian_lower_bound
from gfteach.curvature import curvature_along, extreme_eigenvalues
from gfteach.flow import gradient_flow
from gfteach.linear import product_objective, theta_from_layers, whitened_loss
from gfteach.measure import loglog_slope
from gfteach.utils import threads

from .checkers import AnswerError, agrees, as_number, checker, verdict
from .explorers import choice, explorer, slider
from .style import OKABE_ITO, figsize, use_style

__all__ = [
    "ACTIVATION_LABELS",
    "label",
    "T_END",
    "rk4_step",
    "explorer_run",
    "scaling_figure",
    "origin_figure",
    "bound_figure",
    "flow_figure",
    "amplification_figure",
    "explorer_figure",
    "curvature_explorer",
    "EXERCISE_LAYERS",
    "EXERCISE_GRADIENT",
    "check_gradient_exponent",
    "check_saddle_hessian",
    "check_bound_value",
    "check_exact_lambda_min",
]

ACTIVATION_LABELS = {"linear": "linear", "relu": "ReLU", "leaky_relu": "leaky ReLU"}
_DEPTH_STYLE = {2: (OKABE_ITO["blue"], "o"), 3: (OKABE_ITO["vermillion"], "s"), 4: (OKABE_ITO["bluish green"], "D"),
                5: (OKABE_ITO["orange"], "^")}  # fmt: skip
_FLOW, _RANDOM, _LIPSCHITZ = OKABE_ITO["blue"], OKABE_ITO["vermillion"], OKABE_ITO["orange"]

#: the chapter's time horizon for gradient flow
T_END = 35.0


def label(activation: str, depth: int) -> str:
    """``"ReLU, depth 3"``."""
    return f"{ACTIVATION_LABELS[activation]}, depth {depth}"


def rk4_step(depth: int) -> float:
    """The fixed RK4 step of the chapter's flows: 0.07, halved from depth 4 on (sharper landscapes)."""
    return 0.07 if depth <= 3 else 0.035


# -- figures -------------------------------------------------------------------------------------------


def scaling_figure(factors: Sequence[float], sweeps: Mapping[str, tuple]) -> plt.Figure:
    r""":math:`-\lambda_{\min}` (solid) and :math:`\lambda_{\max}` (dotted) of :math:`\nabla^2 f(c\,\theta_0)`
    against :math:`c`, log–log, one pair per network (``label -> (lambda_min, lambda_max)``)."""
    use_style()
    fig, ax = plt.subplots(figsize=figsize(1, 3.8))
    colors = [OKABE_ITO["vermillion"], OKABE_ITO["blue"], OKABE_ITO["bluish green"]]
    for (name, (low, high)), color, marker in zip(sweeps.items(), colors, "osD"):
        ax.loglog(factors, -np.asarray(low), color=color, marker=marker, label=rf"$-\lambda_{{\min}}$, {name}")
        ax.loglog(
            factors, np.asarray(high), color=color, marker=marker, linestyle=":", label=rf"$\lambda_{{\max}}$, {name}"
        )
    ax.set(xlabel=r"scale factor $c$ (every weight multiplied by $c$)", ylabel="eigenvalue magnitude",
           title=r"Far from the origin, $\lambda_{\min}(\nabla^2 f(c\,\theta_0))$ falls without bound")  # fmt: skip
    ax.legend(loc="upper left", ncols=2)
    return fig


def origin_figure(scales: Sequence[float], near: Mapping[int, Sequence[float]]) -> plt.Figure:
    r"""Log–log :math:`|\lambda_{\min}(\nabla^2 f(c\hat\theta))|` against :math:`c`, one curve per depth, with
    the fitted slope (:func:`gfteach.loglog_slope`) and the theory's :math:`N - 2` in the legend."""
    use_style()
    fig, ax = plt.subplots(figsize=figsize(1, 3.6))
    for depth, values in near.items():
        color, marker = _DEPTH_STYLE[depth]
        ax.loglog(scales, np.asarray(values), color=color, marker=marker,
                  label=f"depth {depth}: slope {loglog_slope(scales, values):.3f} (theory {depth - 2})")  # fmt: skip
    ax.set(xlabel=r"distance $c$ of $\theta = c\,\hat\theta$ from the origin",
           ylabel=r"$|\lambda_{\min}(\nabla^2 f(\theta))|$",
           title=r"Near the origin the negative curvature vanishes like $c^{N-2}$")  # fmt: skip
    ax.legend(loc="lower right")
    return fig


def bound_figure(cases: Sequence, balanced: Sequence) -> plt.Figure:
    r"""Two rows: :math:`\lambda_{\min}/\text{bound}` against depth for the theorem (random and near-tight
    instances) and for the balanced corollary. A ratio :math:`\le 1` means the bound holds."""
    use_style()
    fig, axes = plt.subplots(2, 1, figsize=figsize(2, 2.9), sharex=True)
    styles = {
        "random": dict(color=OKABE_ITO["blue"], marker="o", label="random instances"),
        "near-tight": dict(color=OKABE_ITO["vermillion"], marker="D", label="near-tight instances"),
        "balanced": dict(color=OKABE_ITO["bluish green"], marker="s", label="balanced, scalar output"),
    }
    offsets = {"random": -0.08, "near-tight": 0.08, "balanced": 0.0}
    titles = ("The theorem on random and near-tight instances", "The balanced scalar-output corollary")
    for ax, group, title in zip(axes, (cases, balanced), titles):
        for kind, style in styles.items():
            points = [(c.depth + offsets[kind], c.ratio) for c in group if c.kind == kind and c.bound < 0]
            if points:
                ax.plot(*np.array(points).T, linestyle="", alpha=0.8, **style)
        ax.axhline(1.0, color=OKABE_ITO["black"], linewidth=1.0, label="ratio 1: bound attained")
        ax.set(title=title, ylabel=r"$\lambda_{\min}\,/\,\mathrm{bound}$", ylim=(0, 1.1))
        ax.legend(loc="lower left", ncols=2)
    axes[1].set(xlabel="depth $N$", xticks=sorted({c.depth for c in [*cases, *balanced]}))
    return fig


def _curvature_axes(ax, times, flow_min, random_min) -> None:
    t, rand = np.asarray(times), np.asarray(random_min)
    ax.fill_between(t, rand.min(axis=1), rand.max(axis=1), color=_RANDOM, alpha=0.2, linewidth=0)
    ax.plot(t, rand.mean(axis=1), color=_RANDOM, linestyle="--", marker="s", label="random points, same layer norms")
    ax.plot(t, np.asarray(flow_min), color=_FLOW, marker="o", label="along the gradient flow")
    ax.axhline(0.0, color=OKABE_ITO["black"], linewidth=0.8)
    ax.set_yscale("symlog", linthresh=0.1)


def flow_figure(curvature: Mapping[tuple, object], random_min: Mapping[tuple, torch.Tensor]) -> plt.Figure:
    r"""Small multiples, one row per activation and one column per depth: :math:`\lambda_{\min}` along the
    flow (``curvature[(activation, depth)]``, a :class:`~gfteach.curvature.CurvatureAlong`) against random
    points of the same layer norms (``random_min[...]``, mean and range over draws); symmetric-log axis."""
    use_style()
    activations = list(dict.fromkeys(a for a, _ in curvature))
    depths = sorted({d for _, d in curvature})
    fig, axes = plt.subplots(len(activations), len(depths), figsize=figsize(len(activations), 2.3),
                             sharex=True, sharey=True, squeeze=False)  # fmt: skip
    for (activation, depth), curv in curvature.items():
        ax = axes[activations.index(activation), depths.index(depth)]
        _curvature_axes(ax, curv.times, curv.lambda_min, random_min[activation, depth])
        ax.set_title(label(activation, depth))
    for ax in axes[-1]:
        ax.set_xlabel("time $t$")
    for ax in axes[:, 0]:
        ax.set_ylabel(r"$\lambda_{\min}(\nabla^2 f)$")
    fig.legend(*axes[0, 0].get_legend_handles_labels(), loc="outside lower center", ncols=2)
    fig.suptitle(r"Smallest Hessian eigenvalue: along the flow, and at random points of the same layer norms")
    return fig


def amplification_figure(exponents: Mapping[tuple, Sequence[float]]) -> plt.Figure:
    r""":math:`\log_{10}` of three amplification factors per network, from ``(activation, depth) ->
    (flow, random, lipschitz)`` exponents: :math:`-\int\min(\lambda_{\min},0)` along the flow, the same at
    random points of the same layer norms, and :math:`\int\lambda_{\max}`."""
    use_style()
    fig, ax = plt.subplots(figsize=figsize(1, 4.0))
    x = np.arange(len(exponents))
    values = np.array(list(exponents.values())) / math.log(10)
    bars = [(r"along the flow: $e^{-\int\min(\lambda_{\min},0)}$", _FLOW, ""),
            ("random points, same layer norms", _RANDOM, "//"),
            (r"Lipschitz: $e^{\int\lambda_{\max}}$", _LIPSCHITZ, "..")]  # fmt: skip
    for i, (name, color, hatch) in enumerate(bars):
        ax.bar(x + (i - 1) * 0.27, values[:, i], width=0.27, color=color, hatch=hatch, edgecolor="white", label=name)
    for xi, v in zip(x, values[:, 0]):  # the flow's bars are short: print their height
        ax.annotate(f"{v:.2g}", (xi - 0.27, v), textcoords="offset points", xytext=(0, 2), ha="center", fontsize=8,
                    color=_FLOW)  # fmt: skip
    ax.set_xticks(x, [label(a, d).replace(", ", "\n") for a, d in exponents], fontsize=8.5)
    ax.set(xlabel="network", ylabel=r"$\log_{10}$ of the amplification factor",
           title=f"How much can errors be amplified up to $t = {T_END:g}$?")  # fmt: skip
    ax.legend(loc="upper left")
    return fig


# -- the explorer --------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=32)
def explorer_run(activation: str, depth: int, scale: float):
    """The chapter's experiment for one setting (cached): ``(flow, curvature, random_min)`` from
    :func:`gfteach.gradient_flow` (fixed-step RK4), :func:`gfteach.curvature_along` and
    :func:`gfteach.homogeneous.random_curvature` (two draws), at 11 times up to :data:`T_END`."""
    obj, theta0 = homogeneous.digits_objective(activation, depth, scale=scale)
    with threads(1):
        flow = gradient_flow(obj, theta0, torch.linspace(0.0, T_END, 11), "rk4", step=rk4_step(depth))
        curv = curvature_along(obj, flow, tol=1e-6)
        random_min = homogeneous.random_curvature(obj, flow.thetas, draws=2, seed=1001)
    return flow, curv, random_min


def explorer_figure(activation: str = "relu", depth: int = 3, scale: float = 0.08) -> plt.Figure:
    r"""Top: :math:`\lambda_{\min}` along the flow against random points; bottom: the training loss and the
    accumulated negative curvature :math:`-\int_0^t\min(\lambda_{\min},0)\,ds` along the flow."""
    use_style()
    flow, curv, random_min = explorer_run(activation, depth, scale)
    fig, (top, bottom) = plt.subplots(2, 1, figsize=figsize(2, 2.6), sharex=True)
    _curvature_axes(top, curv.times, curv.lambda_min, random_min)
    top.set(ylabel=r"$\lambda_{\min}(\nabla^2 f)$", title="Smallest Hessian eigenvalue")
    top.legend(loc="lower left")
    bottom.plot(flow.times, flow.losses, color=OKABE_ITO["black"], marker="o", label="training loss")
    bottom.plot(curv.times, -curv.negative_integral, color=_FLOW, marker="s", linestyle="--",
                label=r"$-\int_0^t \min(\lambda_{\min}, 0)\,ds$ along the flow")  # fmt: skip
    bottom.set(xlabel="time $t$", ylabel="value", title="Loss and accumulated negative curvature")
    bottom.legend(loc="upper left")
    fig.suptitle(f"Gradient flow on digits: {label(activation, depth)}, init scale {scale:g}")
    return fig


def curvature_explorer(activation: str = "relu", depths: Sequence[int] = (2, 3, 4),
                       scales: Sequence[float] = (0.02, 0.08, 0.3)):  # fmt: skip
    """Depth × initialization scale → :func:`explorer_figure` for one activation (9 frames by default)."""
    return explorer(
        functools.partial(explorer_figure, activation),
        choice("depth", "depth", list(depths), value=3),
        slider("scale", "init scale", list(scales), value=0.08),
        alt=f"Smallest Hessian eigenvalue along gradient flow on digits for a {ACTIVATION_LABELS[activation]} network, "
        "against random points of the same layer norms (top), and the training loss with the accumulated negative "
        "curvature (bottom)",
    )


# -- exercises -----------------------------------------------------------------------------------------

#: the bound exercise's instance: depth 3, diagonal 2×2 layers, and the gradient ∇L(W) at their product W.
EXERCISE_LAYERS = (
    torch.tensor([[1.2, 0.0], [0.0, 0.5]], dtype=torch.float64),
    torch.tensor([[2.0, 0.0], [0.0, 1.0]], dtype=torch.float64),
    torch.tensor([[0.5, 0.0], [0.0, 1.5]], dtype=torch.float64),
)
EXERCISE_GRADIENT = torch.tensor([[0.0, 3.0], [4.0, 0.0]], dtype=torch.float64)


def _exponent(value, depth: int) -> float:
    """A number, or a SymPy expression in the depth ``N`` (substituted)."""
    if type(value).__module__.startswith("sympy") and getattr(value, "free_symbols", None):
        value = value.subs({s: depth for s in value.free_symbols if s.name == "N"})
    return as_number(value, "the exponent k")


@checker
def check_gradient_exponent(depth, exponent):
    r"""Is ``exponent`` the :math:`k` with :math:`\nabla_\theta h_{c\theta}(x) = c^k\,\nabla_\theta h_\theta(x)` for a
    bias-free network of ``depth`` layers with a positively homogeneous activation? (A number, or a SymPy
    expression in ``N``.)"""
    d = as_number(depth, "the depth N")
    if d != int(d) or d < 1:
        raise AnswerError(f"the depth N should be a whole number of layers (at least 1), got {depth!r}")
    N = int(d)
    k = _exponent(exponent, N)
    if agrees(k, N - 1):
        return verdict(True, f"k = N - 1 = {N - 1}: each layer contributes a factor c, and differentiating "
                             "with respect to one layer removes exactly one of them.")  # fmt: skip
    slips = {
        N: "that is the exponent of the output h itself; the gradient has one derivative in it.",
        N - 2: "that is the exponent of the Hessian (two derivatives); the gradient has one.",
        -(N - 1): "check the sign: scaling the weights up makes the gradient larger, not smaller.",
        1: "h is linear in each single layer, but the gradient with respect to W_j still contains the "
        "other layers, each multiplied by c.",
        N
        + 1: "differentiating removes a factor of c (chain rule on the left of h_{cθ} = c^N h_θ); it does not add one.",
    }
    for wrong, why in slips.items():
        if wrong != N - 1 and agrees(k, wrong):
            return verdict(False, f"k = {k:g} at depth {N}: {why}")
    if abs(k - round(k)) > 1e-6:
        return verdict(False, f"k = {k:g} is not a whole number: every layer contributes a whole factor c.")
    return verdict(False, f"k = {k:g} at depth {N}: differentiate h_{{cθ}}(x) = c^N h_θ(x) with respect to θ "
                          "(the chain rule gives a factor c on the left).")  # fmt: skip


def _square(value, n: int, what: str) -> np.ndarray:
    """``value`` (nested lists, array, tensor, SymPy matrix) as a finite ``n``×``n`` float array."""
    if hasattr(value, "detach") and hasattr(value, "cpu"):
        value = value.detach().cpu().numpy()
    if value is None or isinstance(value, (str, bytes, bool)) or np.isscalar(value):
        raise AnswerError(f"{what} should be a {n}×{n} matrix (a list of {n} rows), got {value!r}")
    try:
        rows = np.asarray(value.tolist() if hasattr(value, "tolist") else value, dtype=object)
    except (TypeError, ValueError) as error:
        raise AnswerError(f"{what} should be a {n}×{n} matrix (a list of {n} rows), got {value!r}") from error
    if rows.shape != (n, n):
        raise AnswerError(f"{what} should be a {n}×{n} matrix (a list of {n} rows), got shape {rows.shape}")
    return np.array([[as_number(v, f"every entry of {what}") for v in row] for row in rows])


@checker
def check_saddle_hessian(H, depth: int = 2):
    r"""Is ``H`` the Hessian at the origin of :math:`f = \tfrac12(a_1\cdots a_N - 1)^2` (``depth`` :math:`N` = 2:
    :math:`f(a, b) = \tfrac12(ab - 1)^2`; 3: :math:`\tfrac12(a_1a_2a_3 - 1)^2`)?"""
    if depth not in (2, 3):
        raise AnswerError(f"this exercise has depth 2 or 3, got {depth!r}")
    got = _square(H, depth, "the Hessian")
    want = np.array([[0.0, -1.0], [-1.0, 0.0]]) if depth == 2 else np.zeros((3, 3))
    if np.allclose(got, want, atol=1e-9):
        what = "eigenvalues ±1: a strict saddle" if depth == 2 else "the zero matrix: the origin is flat"
        return verdict(True, f"the Hessian at the origin is right ({what}).")
    if not np.allclose(got, got.T):
        return verdict(False, "a Hessian of a smooth function is symmetric: the mixed derivatives must be equal.")
    if not np.allclose(np.diag(got), np.diag(want)):
        return verdict(False, "check the diagonal: compute each ∂²f/∂a_i² and evaluate it at the origin.")
    off = got[~np.eye(depth, dtype=bool)]
    if depth == 3:
        return verdict(False, "at depth 3 every mixed second derivative of (a₁a₂a₃ - 1)²/2 still contains a factor "
                              "of a weight: evaluate it at the origin.")  # fmt: skip
    if np.allclose(off, 1.0):
        return verdict(False, "check the sign of the mixed derivative: at the origin ab - 1 is negative.")
    if np.allclose(off, -2.0):
        return verdict(False, "the mixed derivative is twice too large: did you drop the factor 1/2 in f?")
    return verdict(False, "the mixed derivative is off: differentiate ∂f/∂b = a(ab - 1) with respect to a, "
                          "then set a = b = 0.")  # fmt: skip


def _pair_products(norms: Sequence[float]) -> list[float]:
    N = len(norms)
    return [math.prod(norms[k] for k in range(N) if k not in (i, j)) for i in range(N) for j in range(i + 1, N)]


@checker
def check_bound_value(value):
    r"""Is ``value`` the right-hand side of the chapter's theorem on the exercise instance
    (``EXERCISE_LAYERS``, ``EXERCISE_GRADIENT``)? Recognizes the usual slips without showing the value."""
    x = as_number(value, "the bound")
    layers, G = list(EXERCISE_LAYERS), EXERCISE_GRADIENT
    right = hessian_lower_bound(layers, G)
    if agrees(x, right):
        return verdict(True, f"bound = {x:.4g}: on this instance λ_min(∇²f) ≥ {x:.4g}.")
    N, spec = len(layers), [float(torch.linalg.matrix_norm(W, 2)) for W in layers]
    frob = max(_pair_products([float(torch.linalg.matrix_norm(W)) for W in layers]))
    g, g2 = float(torch.linalg.matrix_norm(G)), float(torch.linalg.matrix_norm(G, 2))
    pairs = _pair_products(spec)
    slips = [
        (-right, "a lower bound on λ_min here is negative: check the sign."),
        (-g * max(pairs), "the factor N - 1 is missing."),
        (-N * g * max(pairs), "the factor is N - 1, not N."),
        (-(N - 1) * g * min(pairs), "the bound takes the maximum over pairs i < j, not the minimum."),
        (-(N - 1) * g * sum(pairs), "the bound takes the maximum over pairs i < j, not the sum."),
        (-(N - 1) * g2 * max(pairs), "‖∇L(W)‖ in the bound is the Frobenius norm, not the spectral norm."),
        (-(N - 1) * g * frob, "the layers enter through their spectral norms ‖W_k‖₂, not Frobenius norms."),
        (-(N - 1) * g * math.prod(spec), "each product leaves out the two layers i and j of the pair."),
    ]
    for wrong, why in slips:
        if agrees(x, wrong):
            return verdict(False, f"{x:.4g}: {why}")
    return verdict(False, f"{x:.4g} is not the bound: recompute -(N - 1)·‖∇L(W)‖_F·max over pairs i < j of the "
                          "product of the other layers' spectral norms.")  # fmt: skip


@functools.lru_cache(maxsize=1)
def _exercise_spectrum() -> tuple[float, float]:
    """Exact λ_min and λ_max of ∇²f on the exercise instance (dense Hessian)."""
    W = EXERCISE_LAYERS[2] @ EXERCISE_LAYERS[1] @ EXERCISE_LAYERS[0]
    loss = functools.partial(whitened_loss, Phi=W - EXERCISE_GRADIENT)
    result = extreme_eigenvalues(product_objective([2, 2, 2, 2], loss), theta_from_layers(EXERCISE_LAYERS), dense=True)
    return result.lambda_min, result.lambda_max


@checker
def check_exact_lambda_min(value):
    r"""Is ``value`` the exact :math:`\lambda_{\min}(\nabla^2 f)` on the exercise instance, with
    :math:`L(V) = \tfrac12\|V - \Phi\|_F^2` and :math:`\Phi = W - \nabla L(W)`, :math:`W = W_3W_2W_1`?"""
    x = as_number(value, "lambda_min")
    low, high = _exercise_spectrum()
    if agrees(x, low):
        return verdict(True, f"λ_min = {x:.4g}: compare it with the bound of the first part.")
    if agrees(x, hessian_lower_bound(list(EXERCISE_LAYERS), EXERCISE_GRADIENT)):
        return verdict(False, "that is the bound itself; the exact value comes from the Hessian of f at θ.")
    if agrees(x, high):
        return verdict(False, "that is the largest eigenvalue; the question asks for the smallest.")
    if agrees(x, -low):
        return verdict(False, "check the sign: the smallest eigenvalue here is negative.")
    if agrees(x, 1.0):
        return verdict(False, "that is an eigenvalue of the Hessian of L; the question is about f(θ) = L(W_3W_2W_1).")
    return verdict(False, f"{x:.4g} is not λ_min of ∇²f at θ = (W_1, W_2, W_3): build f with "
                          "gfteach.linear.product_objective and use gt.extreme_eigenvalues.")  # fmt: skip
