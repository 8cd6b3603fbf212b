r"""Chapter 3: curvature along the flow, or why deep networks are "roughly convex" where it matters.

**Homogeneity.** A bias-free network with positively homogeneous activations (linear, ReLU, leaky
ReLU: :math:`\sigma(cz) = c\,\sigma(z)` for :math:`c > 0`) satisfies
:math:`h_{(c_1W_1,\dots,c_NW_N)}(x) = c_1\cdots c_N\,h_{(W_1,\dots,W_N)}(x)`. Scaling every layer by
:math:`c` scales the output by :math:`c^N`, its gradient by :math:`c^{N-1}` and its Hessian by
:math:`c^{N-2}`.

**The book's bound** ([derived]). For :math:`f(\theta) = \varphi(W_N\cdots W_1)` with :math:`\varphi`
convex and twice differentiable, and :math:`G = \nabla\varphi(W_N\cdots W_1)`,

.. math::

    \lambda_{\min}\big(\nabla^2 f(\theta)\big) \ge -(N-1)\,\|G\|_F\,
    \max_{i<j}\prod_{k\notin\{i,j\}}\|W_k\|_2 .

Proof sketch (the chapter gives it in full): along a direction :math:`\Delta = (\Delta_1,\dots,\Delta_N)`,
:math:`\Delta^\top\nabla^2 f\,\Delta = \langle\nabla^2\varphi\,D[\Delta], D[\Delta]\rangle +
2\sum_{i<j}\langle G, W_N\cdots\Delta_j\cdots\Delta_i\cdots W_1\rangle`; the first term is
:math:`\ge 0`, each cross term is at least :math:`-\|G\|_F\prod_{k\notin\{i,j\}}\|W_k\|_2\,
\|\Delta_i\|_F\|\Delta_j\|_F`, and :math:`\sum_{i<j}a_ia_j \le \tfrac{N-1}{2}\sum_i a_i^2`.

With exact balancedness and scalar output every layer is rank one with the same norm :math:`a`, so
:math:`\|\nabla f\| \ge a^{N-1}\|G\|` and the bound becomes
:math:`\lambda_{\min} \ge -(N-1)\|G\|^{1/(N-1)}\|\nabla f\|^{(N-2)/(N-1)}`.

**The experiment.** Gradient flow from near zero on real digits, for linear, ReLU and leaky-ReLU
networks, with :math:`\lambda_{\min}` along the flow compared with :math:`\lambda_{\min}` at random
points having the same norm in every layer (:func:`flow_curvature`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache, wraps

import matplotlib.pyplot as plt
import numpy as np
import torch

from .curvature import curvature_along, extreme_eigenvalues
from .data import digits_subset
from .exercises import report
from .flow import gradient_flow
from .linear import balanced_init, end_to_end, layers_from_theta
from .nets import mlp, near_zero_init_
from .objective import FunctionObjective, Objective
from .plotting import OKABE_ITO, use_style
from .widgets import explorer

__all__ = [
    "ACTIVATION_LABELS",
    "DigitsObjective",
    "digits_objective",
    "scaled_curvature",
    "layers_objective",
    "quadratic_phi",
    "hessian_lower_bound",
    "balanced_scalar_bound",
    "BoundCase",
    "bound_cases",
    "balanced_cases",
    "origin_saddle",
    "curvature_near_origin",
    "fit_exponent",
    "FlowCurvature",
    "flow_curvature",
    "scaling_figure",
    "origin_figure",
    "bound_figure",
    "flow_figure",
    "amplification_figure",
    "explorer_figure",
    "explorer_fallback_figure",
    "curvature_explorer",
    "EXERCISE_LAYERS",
    "EXERCISE_GRADIENT",
    "check_gradient_exponent",
    "check_saddle_hessian",
    "check_bound_value",
]

f64 = torch.float64
ACTIVATION_LABELS = {"linear": "linear", "relu": "ReLU", "leaky_relu": "leaky ReLU"}


def _single_thread(fn):
    """Run ``fn`` with one intra-op thread, restoring the previous count afterwards.

    The networks here are tiny (a few hundred weights): splitting their matrix products across threads
    costs more than it saves, and on a busy machine far more (measured: 10x slower with 2 threads while
    other processes compete for the cores). The global setting is left as it was.
    """

    @wraps(fn)
    def wrapper(*args, **kwargs):
        before = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            return fn(*args, **kwargs)
        finally:
            torch.set_num_threads(before)

    return wrapper


# -- networks on real digits ---------------------------------------------------------------------------


@lru_cache(maxsize=4)
def _digits(n: int) -> tuple[torch.Tensor, torch.Tensor]:
    return digits_subset(n)


_ACTS = {
    "linear": lambda z: z,
    "relu": torch.relu,
    "leaky_relu": lambda z: torch.nn.functional.leaky_relu(z, 0.1),  # the slope of gfteach.nets
}


class DigitsObjective(FunctionObjective):
    r"""Mean cross-entropy of the bias-free network ``mlp(dims, activation)`` on ``(X, y)``, written out
    as matrix products on the flat :math:`\theta` (the same layout as ``Objective(mlp(...))``, which it
    equals; it skips the module machinery, which dominates the cost of such small networks).
    ``numels`` lists the layer sizes."""

    def __init__(self, dims: Sequence[int], activation: str, X: torch.Tensor, y: torch.Tensor):
        self.dims, self.activation = list(dims), activation
        self.numels = [a * b for a, b in zip(self.dims[:-1], self.dims[1:])]
        act, shapes = _ACTS[activation], [(b, a) for a, b in zip(self.dims[:-1], self.dims[1:])]
        X = X.reshape(X.shape[0], -1)

        def loss(theta: torch.Tensor) -> torch.Tensor:
            h = X
            for i, (W, shape) in enumerate(zip(theta.split(self.numels), shapes)):
                h = (h if i == 0 else act(h)) @ W.view(shape).T
            return torch.nn.functional.cross_entropy(h, y)

        super().__init__(loss, n_params=sum(self.numels))


def digits_objective(
    activation: str = "relu", depth: int = 3, width: int = 6, n: int = 100, scale: float = 0.08, seed: int = 1
) -> tuple[DigitsObjective, torch.Tensor]:
    r"""Mean cross-entropy of a bias-free ``64 → width → … → 10`` network on ``n`` real 8×8 digits.

    Returns the objective (:class:`DigitsObjective`) and :math:`\theta_0` with i.i.d.
    :math:`\mathcal N(0, \text{scale}^2)` weights, drawn by :func:`gfteach.nets.near_zero_init_` on
    ``mlp(dims, activation)`` with a generator seeded with ``seed``.
    """
    X, y = _digits(n)
    dims = [64] + [width] * (depth - 1) + [10]
    net = near_zero_init_(mlp(dims, activation), scale, torch.Generator().manual_seed(seed))
    theta0 = torch.cat([p.detach().reshape(-1) for p in net.parameters()])
    return DigitsObjective(dims, activation, X, y), theta0


@_single_thread
def scaled_curvature(obj, theta: torch.Tensor, factors: Sequence[float], tol: float = 1e-8) -> dict[str, np.ndarray]:
    r""":math:`\lambda_{\min}` and :math:`\lambda_{\max}` of :math:`\nabla^2 f(c\,\theta)` for each factor :math:`c`."""
    lows, highs = [], []
    for c in factors:
        e = extreme_eigenvalues(obj, c * theta, tol=tol)
        lows.append(e.lambda_min)
        highs.append(e.lambda_max)
    return {"factors": np.asarray(factors, float), "lambda_min": np.array(lows), "lambda_max": np.array(highs)}


# -- deep linear networks: the bound -------------------------------------------------------------------


def layers_objective(dims: Sequence[int], phi: Callable[[torch.Tensor], torch.Tensor]) -> FunctionObjective:
    r""":math:`f(\theta) = \varphi(W_N\cdots W_1)` on the flat vector of layers of shapes ``(dims[j+1], dims[j])``."""
    dims = list(dims)
    n = sum(a * b for a, b in zip(dims[:-1], dims[1:]))
    return FunctionObjective(lambda theta: phi(end_to_end(layers_from_theta(theta, dims))), n_params=n)


def quadratic_phi(Phi: torch.Tensor) -> Callable[[torch.Tensor], torch.Tensor]:
    r""":math:`\varphi(W) = \tfrac12\|W - \Phi\|_F^2` (convex; :math:`\nabla\varphi(W) = W - \Phi`)."""
    return lambda W: 0.5 * ((W - Phi) ** 2).sum()


def _cross_entropy_phi(X: torch.Tensor, y: torch.Tensor) -> Callable[[torch.Tensor], torch.Tensor]:
    """:math:`W \\mapsto` mean cross-entropy of the logits :math:`WX` (columns of ``X`` are samples): convex in W."""
    return lambda W: torch.nn.functional.cross_entropy((W @ X).T, y)


def _grad_phi(phi, W: torch.Tensor) -> torch.Tensor:
    W = W.detach().requires_grad_(True)
    return torch.autograd.grad(phi(W), W)[0]


def hessian_lower_bound(layers: Sequence[torch.Tensor], grad_phi: torch.Tensor) -> float:
    r"""The book's bound :math:`-(N-1)\,\|\nabla\varphi\|_F\,\max_{i<j}\prod_{k\notin\{i,j\}}\|W_k\|_2`
    (an empty product is 1; for :math:`N = 1` the bound is 0)."""
    N = len(layers)
    if N < 2:
        return 0.0
    norms = [float(torch.linalg.matrix_norm(W, ord=2)) for W in layers]
    best = max(math.prod(norms[k] for k in range(N) if k not in (i, j)) for i in range(N) for j in range(i + 1, N))
    return -(N - 1) * float(torch.linalg.matrix_norm(grad_phi)) * best


def balanced_scalar_bound(grad_phi_norm: float, grad_f_norm: float, depth: int) -> float:
    r"""The balanced scalar-output corollary :math:`-(N-1)\|\nabla\varphi\|^{1/(N-1)}\|\nabla f\|^{(N-2)/(N-1)}`."""
    N = depth
    if N < 2:
        return 0.0
    return -(N - 1) * grad_phi_norm ** (1 / (N - 1)) * grad_f_norm ** ((N - 2) / (N - 1))


@dataclass
class BoundCase:
    """One instance: the exact :math:`\\lambda_{\\min}` (dense Hessian) against a lower bound."""

    depth: int
    kind: str  # "random", "near-tight" or "balanced"
    lambda_min: float
    bound: float

    @property
    def ratio(self) -> float:
        """:math:`\\lambda_{\\min}/\\text{bound}`: at most 1 when the bound holds (and both are negative)."""
        return self.lambda_min / self.bound if self.bound < 0 else float("nan")


def _lambda_min(obj, theta: torch.Tensor) -> float:
    return float(torch.linalg.eigvalsh(obj.hessian(theta))[0])


@_single_thread
def bound_cases(seed: int = 0, depths: Sequence[int] = (2, 3, 4, 5), per_depth: int = 6) -> list[BoundCase]:
    r"""Random deep linear instances (random shapes and scales; quadratic or cross-entropy :math:`\varphi`)
    and near-tight ones, each with the exact :math:`\lambda_{\min}` and :func:`hessian_lower_bound`.

    *Near-tight*: an aligned rank-one chain :math:`W_k = a\,u_ku_{k-1}^\top` with
    :math:`\varphi = \tfrac12\|W - bu_Nu_0^\top\|^2`, :math:`b > a^N`. In the direction
    :math:`\Delta_k = u_ku_{k-1}^\top/\sqrt N` the quadratic form is
    :math:`Na^{2N-2} - (N-1)a^{N-2}(b - a^N)`, while the bound is :math:`-(N-1)a^{N-2}(b - a^N)`: the
    ratio tends to 1 as :math:`a \to 0`.
    """
    g = torch.Generator().manual_seed(seed)
    cases = []
    for N in depths:
        for r in range(per_depth):
            dims = torch.randint(1, 4, (N + 1,), generator=g).tolist()
            scale = 0.3 + 1.2 * float(torch.rand((), generator=g, dtype=f64))
            layers = [scale * torch.randn(b, a, generator=g, dtype=f64) / math.sqrt(a) for a, b in zip(dims, dims[1:])]
            if r % 2 == 0:
                phi = quadratic_phi(torch.randn(dims[-1], dims[0], generator=g, dtype=f64))
            else:
                X = torch.randn(dims[0], 7, generator=g, dtype=f64)
                y = torch.randint(0, dims[-1], (7,), generator=g)
                phi = _cross_entropy_phi(X, y)
            cases.append(_case(N, "random", dims, layers, phi))
        for a in (0.5, 0.2):
            dims = [2] + [3] * (N - 1) + [2]
            units = [torch.linalg.qr(torch.randn(d, d, generator=g, dtype=f64))[0][:, 0] for d in dims]
            layers = [a * torch.outer(units[k + 1], units[k]) for k in range(N)]
            phi = quadratic_phi(torch.outer(units[-1], units[0]))
            cases.append(_case(N, "near-tight", dims, layers, phi))
    return cases


def _case(N: int, kind: str, dims, layers, phi) -> BoundCase:
    obj = layers_objective(dims, phi)
    theta = torch.cat([W.reshape(-1) for W in layers])
    return BoundCase(N, kind, _lambda_min(obj, theta), hessian_lower_bound(layers, _grad_phi(phi, end_to_end(layers))))


@_single_thread
def balanced_cases(seed: int = 0, depths: Sequence[int] = (2, 3, 4, 5), per_depth: int = 4) -> list[BoundCase]:
    r"""Exactly balanced scalar-output instances (:func:`gfteach.linear.balanced_init`) with the corollary
    :func:`balanced_scalar_bound` and the exact :math:`\lambda_{\min}`."""
    g = torch.Generator().manual_seed(seed)
    cases = []
    for N in depths:
        for _ in range(per_depth):
            d = int(torch.randint(2, 4, (), generator=g))
            dims = [d] + [d + 1] * (N - 1) + [1]
            layers = balanced_init(dims, 0.2 + float(torch.rand((), generator=g, dtype=f64)), g)
            phi = quadratic_phi(2 * torch.randn(1, d, generator=g, dtype=f64))
            obj = layers_objective(dims, phi)
            theta = torch.cat([W.reshape(-1) for W in layers])
            G = _grad_phi(phi, end_to_end(layers))
            bound = balanced_scalar_bound(float(G.norm()), float(obj.grad(theta).norm()), N)
            cases.append(BoundCase(N, "balanced", _lambda_min(obj, theta), bound))
    return cases


# -- near the origin -----------------------------------------------------------------------------------


@_single_thread
def origin_saddle(width: int = 6, n: int = 100) -> dict[str, float]:
    r"""Depth 2 at the origin: :math:`\lambda_{\min}(\nabla^2 f(0))` against :math:`-\sigma_{\max}(G_0)`.

    For :math:`f = \varphi(W_2W_1)` the Hessian at 0 is the pure cross term
    :math:`2\langle G_0, \Delta_2\Delta_1\rangle`, :math:`G_0 = \nabla\varphi(0)`, whose eigenvalues are
    :math:`\pm\sigma_i(G_0)`. For the mean cross-entropy on digits,
    :math:`G_0 = \tfrac1n(\tfrac1{10}\mathbf 1 - Y)^\top X`: the (centred) label–input cross-covariance.
    """
    obj, theta = digits_objective("linear", 2, width, n)
    X, y = _digits(n)
    Xf = X.reshape(n, -1)
    P = torch.full((n, 10), 0.1, dtype=f64) - torch.nn.functional.one_hot(y, 10).to(f64)
    G0 = P.T @ Xf / n
    e = extreme_eigenvalues(obj, torch.zeros_like(theta), tol=1e-10)
    return {"lambda_min": e.lambda_min, "lambda_max": e.lambda_max, "sigma_max": float(torch.linalg.matrix_norm(G0, 2))}


@_single_thread
def curvature_near_origin(
    depths: Sequence[int] = (2, 3, 4), scales: Sequence[float] = (1e-3, 2e-3, 4e-3, 8e-3), width: int = 6, n: int = 100
) -> dict[int, np.ndarray]:
    r""":math:`|\lambda_{\min}(\nabla^2 f(s\hat\theta))|` of deep *linear* networks on digits, for a fixed random
    :math:`\hat\theta` (i.i.d. :math:`\mathcal N(0,1)` weights) and each scale :math:`s`. Homogeneity predicts
    :math:`\propto s^{N-2}`."""
    out = {}
    for N in depths:
        obj, theta = digits_objective("linear", N, width, n, scale=1.0)
        out[N] = np.array([abs(extreme_eigenvalues(obj, s * theta, tol=1e-8).lambda_min) for s in scales])
    return out


def fit_exponent(x: Sequence[float], y: Sequence[float]) -> float:
    """Least-squares slope of :math:`\\log y` against :math:`\\log x`."""
    return float(np.polyfit(np.log(np.asarray(x, float)), np.log(np.asarray(y, float)), 1)[0])


# -- along the flow ------------------------------------------------------------------------------------


@dataclass
class FlowCurvature:
    r"""Curvature along a gradient flow, and at random points with the same layer norms.

    ``lambda_min``/``lambda_max`` along the flow at ``times``; ``random_lambda_min`` has one column per
    random draw; the ``*_integral`` fields are :math:`\int_0^t \min(\lambda_{\min}, 0)` (trapezoid rule),
    for the flow and for the mean over the random points; ``lambda_max_integral`` is :math:`\int_0^t
    \lambda_{\max}` (what the classical Lipschitz bound exponentiates).
    """

    activation: str
    depth: int
    scale: float
    step: float
    times: np.ndarray
    losses: np.ndarray
    norms: np.ndarray
    lambda_min: np.ndarray
    lambda_max: np.ndarray
    random_lambda_min: np.ndarray
    negative_integral: np.ndarray
    random_negative_integral: np.ndarray
    lambda_max_integral: np.ndarray

    @property
    def label(self) -> str:
        return f"{ACTIVATION_LABELS[self.activation]}, depth {self.depth}"


def _trapezoid(times: np.ndarray, values: np.ndarray) -> np.ndarray:
    return np.concatenate([[0.0], np.cumsum(np.diff(times) * (values[1:] + values[:-1]) / 2)])


def _same_layer_norms(obj, theta: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """A random point whose every layer has the Frobenius norm of the corresponding layer of ``theta``."""
    z = torch.randn(theta.numel(), generator=generator, dtype=f64)
    return torch.cat([a / a.norm() * b.norm() for a, b in zip(z.split(obj.numels), theta.split(obj.numels))])


@lru_cache(maxsize=64)
@_single_thread
def flow_curvature(
    activation: str = "relu",
    depth: int = 3,
    scale: float = 0.08,
    t_end: float = 35.0,
    samples: int = 11,
    n_random: int = 2,
    step: float | None = None,
    width: int = 6,
    n: int = 100,
    seed: int = 1,
) -> FlowCurvature:
    r"""Gradient flow from :math:`\theta_0 \sim \mathcal N(0, \text{scale}^2 I)` on digits (RK4 with a fixed
    ``step``, default 0.07, or 0.035 from depth 4 on, whose sharpness grows larger; the chapter asserts
    the run stays inside RK4's stability limit :math:`2.785/\lambda_{\max}`), with :math:`\lambda_{\min}`,
    :math:`\lambda_{\max}` at ``samples`` equally spaced times, and :math:`\lambda_{\min}` at ``n_random``
    random points with the same layer norms at each of those times. Cached: same arguments, same object.
    """
    obj, theta0 = digits_objective(activation, depth, width, n, scale, seed)
    times = torch.linspace(0.0, t_end, samples, dtype=f64)
    step = step or (0.07 if depth <= 3 else 0.035)
    gf = gradient_flow(obj, theta0, times, "rk4", step=step)
    curv = curvature_along(obj, gf, tol=1e-6)
    g = torch.Generator().manual_seed(seed + 1000)
    rand = np.array(
        [
            [extreme_eigenvalues(obj, _same_layer_norms(obj, th, g), tol=1e-6).lambda_min for _ in range(n_random)]
            for th in gf.thetas
        ]
    )
    t = gf.times.numpy()
    lam_min, lam_max = curv.lambda_min.numpy(), curv.lambda_max.numpy()
    return FlowCurvature(
        activation,
        depth,
        scale,
        step,
        t,
        gf.losses.numpy(),
        gf.thetas.norm(dim=1).numpy(),
        lam_min,
        lam_max,
        rand,
        _trapezoid(t, np.minimum(lam_min, 0.0)),
        _trapezoid(t, np.minimum(rand.mean(axis=1), 0.0)),
        _trapezoid(t, lam_max),
    )


# -- figures -------------------------------------------------------------------------------------------

_DEPTH_COLORS = {2: OKABE_ITO["blue"], 3: OKABE_ITO["vermillion"], 4: OKABE_ITO["bluish green"], 5: OKABE_ITO["orange"]}
_DEPTH_MARKERS = {2: "o", 3: "s", 4: "D", 5: "^"}


def scaling_figure(curves: dict[str, dict[str, np.ndarray]]) -> plt.Figure:
    r""":math:`-\lambda_{\min}` and :math:`\lambda_{\max}` of :math:`\nabla^2 f(c\,\theta_0)` against the factor
    :math:`c`, one pair of curves per network (``label -> scaled_curvature(...)``), log–log axes."""
    use_style()
    fig, ax = plt.subplots(figsize=(7.0, 3.8))
    colors = [OKABE_ITO["vermillion"], OKABE_ITO["blue"], OKABE_ITO["bluish green"]]
    for (label, r), color, marker in zip(curves.items(), colors, "osD"):
        ax.loglog(r["factors"], -r["lambda_min"], color=color, marker=marker, label=rf"$-\lambda_{{\min}}$, {label}")
        ax.loglog(r["factors"], r["lambda_max"], color=color, marker=marker, linestyle=":", alpha=0.7,
                  label=rf"$\lambda_{{\max}}$, {label}")  # fmt: skip
    ax.set(xlabel=r"scale factor $c$ (all weights multiplied by $c$)", ylabel="eigenvalue magnitude",
           title=r"Scaling the weights up: $\lambda_{\min}(\nabla^2 f(c\,\theta_0))$ falls without bound")  # fmt: skip
    ax.legend(loc="upper left", ncols=2)
    return fig


def origin_figure(scales: Sequence[float], values: dict[int, np.ndarray]) -> plt.Figure:
    r"""Log–log :math:`|\lambda_{\min}(s\hat\theta)|` against :math:`s` per depth, with the fitted slopes."""
    use_style()
    fig, ax = plt.subplots(figsize=(6.5, 3.8))
    for N, v in values.items():
        slope = fit_exponent(scales, v)
        ax.loglog(scales, v, color=_DEPTH_COLORS[N], marker=_DEPTH_MARKERS[N],
                  label=f"depth {N}: slope {slope:.3f} (theory {N - 2})")  # fmt: skip
    ax.set(xlabel=r"distance scale $s$ of $\theta = s\hat\theta$ from the origin",
           ylabel=r"$|\lambda_{\min}(\nabla^2 f(\theta))|$",
           title=r"Near the origin the negative curvature vanishes like $s^{N-2}$")  # fmt: skip
    ax.legend(loc="lower right")
    return fig


def bound_figure(cases: Sequence[BoundCase], balanced: Sequence[BoundCase]) -> plt.Figure:
    r"""Left: :math:`\lambda_{\min}/\text{bound}` for the general bound (random and near-tight instances);
    right: the same for the balanced scalar-output corollary. A ratio :math:`\le 1` means the bound holds."""
    use_style()
    fig, axes = plt.subplots(1, 2, figsize=(9.0, 3.6), sharey=True)
    styles = {
        "random": dict(color=OKABE_ITO["blue"], marker="o", label="random instances"),
        "near-tight": dict(color=OKABE_ITO["vermillion"], marker="D", label="near-tight instances"),
        "balanced": dict(color=OKABE_ITO["bluish green"], marker="s", label="balanced, scalar output"),
    }
    for ax, group, title in (
        (axes[0], cases, r"General bound: $-(N-1)\|\nabla\varphi\|_F\max_{i<j}\prod_{k\neq i,j}\|W_k\|_2$"),
        (axes[1], balanced, r"Balanced corollary: $-(N-1)\|\nabla\varphi\|^{1/(N-1)}\|\nabla f\|^{(N-2)/(N-1)}$"),
    ):
        for kind in ("random", "near-tight", "balanced"):
            pts = [(c.depth, c.ratio) for c in group if c.kind == kind and c.bound < 0]
            if pts:
                d, r = np.array(pts).T
                offset = {"random": -0.08, "near-tight": 0.08, "balanced": 0.0}[kind]
                ax.plot(d + offset, r, linestyle="", alpha=0.8, **styles[kind])
        ax.axhline(1.0, color="black", linewidth=1.0, label="ratio 1: bound attained")
        ax.set(xlabel="depth $N$", title=title, xticks=[2, 3, 4, 5], ylim=(0, 1.1))
        ax.title.set_fontsize(9)
        ax.legend(loc="lower left")
    axes[0].set_ylabel(r"$\lambda_{\min}(\nabla^2 f)\,/\,\mathrm{bound}$")
    fig.suptitle("The lower bound holds on every instance (ratio ≤ 1) and is nearly attained on some")
    return fig


def _flow_axes(ax, r: FlowCurvature) -> None:
    rand = r.random_lambda_min
    ax.fill_between(r.times, rand.min(axis=1), rand.max(axis=1), color=OKABE_ITO["vermillion"], alpha=0.2,
                    linewidth=0)  # fmt: skip
    ax.plot(r.times, rand.mean(axis=1), color=OKABE_ITO["vermillion"], linestyle="--", marker="s",
            label="random points, same layer norms")  # fmt: skip
    ax.plot(r.times, r.lambda_min, color=OKABE_ITO["blue"], marker="o", label="along the gradient flow")
    ax.axhline(0.0, color="black", linewidth=0.8)
    ax.set_yscale("symlog", linthresh=0.1)
    ax.set_title(f"{r.label}, init scale {r.scale:g}\nfinal loss {r.losses[-1]:.3g}", fontsize=9.5)


def flow_figure(results: Sequence[FlowCurvature], ncols: int = 3, title: str | None = None) -> plt.Figure:
    r"""Small multiples: :math:`\lambda_{\min}` along the flow against random points with the same layer
    norms (mean and range over the draws), symmetric-log y axis (linear within :math:`\pm 0.1`)."""
    use_style()
    nrows = -(-len(results) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(3.3 * ncols, 2.9 * nrows + 0.6), squeeze=False, sharey=True)
    for ax, r in zip(axes.flat, results):
        _flow_axes(ax, r)
    for ax in axes.flat[len(results) :]:
        ax.set_visible(False)
    for ax in axes[-1]:
        ax.set_xlabel("time $t$")
    for ax in axes[:, 0]:
        ax.set_ylabel(r"$\lambda_{\min}(\nabla^2 f)$")
    handles, labels = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=2)
    fig.suptitle(title or r"Smallest Hessian eigenvalue along the flow and at random points of the same norm")
    return fig


def amplification_figure(results: Sequence[FlowCurvature]) -> plt.Figure:
    r""":math:`\log_{10}` of the error amplification factors at the end of each run:
    :math:`e^{-\int\min(\lambda_{\min},0)}` along the flow, the same at random points of the same layer
    norms, and the classical Lipschitz factor :math:`e^{\int\lambda_{\max}}`."""
    use_style()
    fig, ax = plt.subplots(figsize=(8.0, 3.8))
    x = np.arange(len(results))
    ln10 = math.log(10)
    bars = [
        ("along the flow: $e^{-\\int \\min(\\lambda_{\\min},0)}$", [-r.negative_integral[-1] / ln10 for r in results],
         OKABE_ITO["blue"], ""),
        ("random points, same layer norms", [-r.random_negative_integral[-1] / ln10 for r in results],
         OKABE_ITO["vermillion"], "//"),
        ("Lipschitz: $e^{\\int \\lambda_{\\max}}$", [r.lambda_max_integral[-1] / ln10 for r in results],
         OKABE_ITO["orange"], ".."),
    ]  # fmt: skip
    for i, (label, values, color, hatch) in enumerate(bars):
        ax.bar(x + (i - 1) * 0.27, values, width=0.27, color=color, hatch=hatch, edgecolor="white", label=label)
    for xi, v in zip(x, bars[0][1]):  # the flow's bars are short: print their height
        ax.annotate(f"{v:.2g}", (xi - 0.27, v), textcoords="offset points", xytext=(0, 2), ha="center", fontsize=8,
                    color=OKABE_ITO["blue"])  # fmt: skip
    ax.set_xticks(x, [r.label.replace(", ", "\n") for r in results], fontsize=8.5)
    ax.set(ylabel=r"$\log_{10}$ of the amplification factor",
           title=f"How much can errors be amplified up to $t = {results[0].times[-1]:g}$?")  # fmt: skip
    ax.legend(loc="upper left")
    return fig


def explorer_figure(activation: str = "relu", depth: int = 3, scale: float = 0.08) -> plt.Figure:
    r"""The explorer's view: left, :math:`\lambda_{\min}` along the flow against random points; right, the
    training loss and :math:`\int_0^t\min(\lambda_{\min},0)` along the flow."""
    use_style()
    r = flow_curvature(activation, depth, scale)
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9.5, 3.8))
    _flow_axes(ax1, r)
    ax1.legend(loc="upper left")
    ax1.set(xlabel="time $t$", ylabel=r"$\lambda_{\min}(\nabla^2 f)$")
    ax2.plot(r.times, r.losses, color=OKABE_ITO["black"], marker="o", label="training loss")
    ax2.plot(r.times, -r.negative_integral, color=OKABE_ITO["blue"], marker="s", linestyle="--",
             label=r"$-\int_0^t \min(\lambda_{\min}, 0)\,ds$ along the flow")  # fmt: skip
    ax2.set(xlabel="time $t$", ylabel="value", title="Loss and accumulated negative curvature")
    ax2.legend(loc="upper left")
    fig.suptitle(f"Gradient flow on digits: {r.label}, init scale {scale:g}")
    return fig


def explorer_fallback_figure(cases: Sequence[tuple[str, int, float]]) -> plt.Figure:
    """Small multiples of the explorer's left panel over representative (activation, depth, scale)."""
    results = [flow_curvature(a, d, s) for a, d, s in cases]
    return flow_figure(results, ncols=3, title="Curvature along the flow for several depths and init scales")


def curvature_explorer(
    activations: Sequence[str] = ("linear", "relu", "leaky_relu"),
    depths: Sequence[int] = (2, 3, 4),
    scales: Sequence[float] = (0.02, 0.08, 0.3),
    value: tuple[str, int, float] = ("relu", 3, 0.08),
):
    """An ipywidgets explorer: activation × depth × init scale → :func:`explorer_figure`.

    Runs are cached (:func:`flow_curvature`), so revisiting a setting is instant; a new one takes a few
    seconds. The figure goes into the ``Output`` widget with ``append_display_data`` (no output capture),
    so executing the cell headlessly stays deterministic.
    """
    import ipywidgets as W

    act = W.Dropdown(options=[(ACTIVATION_LABELS[a], a) for a in activations], value=value[0], description="activation")
    dep = W.Dropdown(options=list(depths), value=value[1], description="depth")
    sca = W.SelectionSlider(options=list(scales), value=value[2], description="init scale", continuous_update=False)
    return explorer([act, dep, sca], explorer_figure)


# -- exercise checkers ---------------------------------------------------------------------------------

#: the exercise's instance: depth 3, layers 2×2, and the gradient of φ at their product.
EXERCISE_LAYERS = [
    torch.tensor([[1.2, 0.0], [0.0, 0.5]], dtype=f64),
    torch.tensor([[2.0, 0.0], [0.0, 1.0]], dtype=f64),
    torch.tensor([[0.5, 0.0], [0.0, 1.5]], dtype=f64),
]
EXERCISE_GRADIENT = torch.tensor([[0.0, 3.0], [4.0, 0.0]], dtype=f64)


def check_gradient_exponent(depth: int, exponent, tol: float = 1e-9) -> bool:
    r"""Is ``exponent`` the :math:`k` in :math:`\nabla_\theta h_{c\theta}(x) = c^k\,\nabla_\theta h_\theta(x)`
    for a bias-free ReLU network of ``depth`` layers? Checked numerically on a random network."""
    try:
        k = float(exponent)
    except (TypeError, ValueError):
        return report(False, f"expected a number (a formula in the depth N), got {exponent!r}")
    g = torch.Generator().manual_seed(0)
    net = mlp([4] + [5] * (depth - 1) + [1], "relu")
    near_zero_init_(net, 0.7, g)
    x = torch.randn(1, 4, generator=g, dtype=f64)
    obj = Objective(net, x, torch.zeros(1, 1, dtype=f64), lambda out, _: out.sum())
    theta = obj.theta0()
    c = 3.0
    measured = math.log(float(obj.grad(c * theta).norm() / obj.grad(theta).norm())) / math.log(c)
    if abs(k - measured) <= tol + 1e-6:
        return report(
            True, f"k = {k:g} = N - 1 for depth N = {depth}: measured c^k with c = 3 gives k = {measured:.6g}."
        )
    hint = {
        depth: "that is the exponent of the output h itself; each derivative removes one factor of c.",
        depth - 2: "that is the exponent of the Hessian; the gradient has one derivative, not two.",
    }.get(round(k), "write h as a product over the N layers and differentiate with respect to one of them.")
    return report(False, f"k = {k:g} does not match the measured exponent {measured:.6g} at depth {depth}:\n  {hint}")


def check_saddle_hessian(H) -> bool:
    r"""Is ``H`` the Hessian of :math:`f(a,b) = (ab - 1)^2/2` at the origin,
    :math:`\begin{pmatrix}0&-1\\-1&0\end{pmatrix}`?"""
    want = np.array([[0.0, -1.0], [-1.0, 0.0]])
    try:
        got = np.asarray(H, dtype=float).reshape(2, 2)
    except (TypeError, ValueError):
        return report(False, f"expected a 2×2 matrix [[f_aa, f_ab], [f_ba, f_bb]], got {H!r}")
    if np.allclose(got, want, atol=1e-9):
        return report(True, "H = [[0, -1], [-1, 0]]: eigenvalues ±1, so the origin is a strict saddle (λ_min = -1).")
    if not np.allclose(got, got.T):
        return report(False, "a Hessian of a smooth function is symmetric: f_ab must equal f_ba.")
    if not np.allclose(np.diag(got), 0):
        return report(False, "the diagonal f_aa = b², f_bb = a² vanishes at the origin.")
    if np.isclose(got[0, 1], 1.0):
        return report(False, "sign of f_ab: f_ab = 2ab - 1, which is -1 at the origin (λ_min is still -1).")
    return report(False, f"f_ab = ∂²f/∂a∂b = 2ab - 1; at the origin it is -1, not {got[0, 1]:.4g}.")


def check_bound_value(
    value, layers: Sequence[torch.Tensor] | None = None, grad_phi: torch.Tensor | None = None
) -> bool:
    r"""Is ``value`` the book's bound :func:`hessian_lower_bound` for the exercise instance (or the given one)?

    Recognizes the usual slips: Frobenius instead of spectral layer norms, spectral instead of Frobenius
    norm of :math:`\nabla\varphi`, a forgotten factor :math:`N-1`, the wrong sign, the minimum instead of
    the maximum over pairs.
    """
    layers = EXERCISE_LAYERS if layers is None else list(layers)
    G = EXERCISE_GRADIENT if grad_phi is None else grad_phi
    try:
        x = float(value)
    except (TypeError, ValueError):
        return report(False, f"expected a number, got {value!r}")
    right = hessian_lower_bound(layers, G)
    N = len(layers)
    spec = [float(torch.linalg.matrix_norm(W, 2)) for W in layers]
    frob = [float(torch.linalg.matrix_norm(W)) for W in layers]
    pairs = [(i, j) for i in range(N) for j in range(i + 1, N)]
    gF, g2 = float(torch.linalg.matrix_norm(G)), float(torch.linalg.matrix_norm(G, 2))

    def prods(norms):
        return [math.prod(norms[k] for k in range(N) if k not in p) for p in pairs]

    slips = {
        "Frobenius norms of the layers (the bound uses spectral norms ‖W_k‖₂)": -(N - 1) * gF * max(prods(frob)),
        "the spectral norm of ∇φ (the bound uses its Frobenius norm)": -(N - 1) * g2 * max(prods(spec)),
        f"no factor N - 1 = {N - 1}": -gF * max(prods(spec)),
        "the minimum over pairs i < j (the bound needs the maximum)": -(N - 1) * gF * min(prods(spec)),
        "a positive number (a lower bound on λ_min here is negative)": -right,
    }
    if math.isclose(x, right, rel_tol=1e-6, abs_tol=1e-12):
        return report(True, f"bound = {right:.6g}: λ_min(∇²f) ≥ {right:.6g} on this instance.")
    for slip, wrong in slips.items():
        if math.isclose(x, wrong, rel_tol=1e-6):
            return report(False, f"{x:.6g} comes from {slip}.")
    return report(False, f"{x:.6g} is not the bound; recompute -(N - 1)·‖∇φ‖_F·max over pairs of the other norms.")
