r"""Experiments of Chapters 4 and 5: gradient flow and gradient descent over deep linear networks.

The model is :math:`x \mapsto W_N \cdots W_1 x` with the whitened regression loss
:math:`f(\theta) = L(W) = \tfrac12\|W - \Phi\|_F^2`, :math:`W = W_N\cdots W_1` (the ℓ2 loss over data
with :math:`\tfrac1n XX^\top = I`, up to a constant). With :math:`E = W - \Phi`, the gradient of layer
:math:`j` is

.. math:: G_j = \partial f/\partial W_j = (W_N\cdots W_{j+1})^\top\, E\, (W_{j-1}\cdots W_1)^\top .

Facts made measurable here (science.md §3):

* **Balancedness.** :math:`D_j = W_{j+1}^\top W_{j+1} - W_jW_j^\top` is constant under gradient flow
  (:math:`W_{j+1}^\top G_{j+1} = W_{j+1}^\top A_{j+1}^\top E B_{j+1}^\top = G_j W_j^\top`, and the two
  terms of :math:`\dot D_j` cancel), and one gradient-descent step changes it by exactly
  :math:`\eta^2 (G_{j+1}^\top G_{j+1} - G_jG_j^\top)`.
* **End-to-end dynamics** from a balanced start: :math:`\dot W = -\sum_j (WW^\top)^{(j-1)/N}\nabla L
  (W^\top W)^{(N-j)/N}` (:mod:`gfteach.linear`); with scalar output, in polar coordinates
  :math:`\rho = \|w\|`, :math:`\hat w = w/\rho`,

  .. math:: \dot\rho = N\rho^{2-2/N}\langle \Phi - w, \hat w\rangle, \qquad
            \dot{\hat w} = \rho^{1-2/N}(I - \hat w\hat w^\top)\Phi,

  so :math:`c = \langle\hat w, \hat\Phi\rangle` obeys :math:`\dot c = \rho^{1-2/N}\|\Phi\|(1 - c^2) \ge 0`.
* **From flow to descent.** The derived bound :math:`\|\theta_k - \theta(k\eta)\| \le \tfrac{\beta\gamma}2
  T\eta\, e^{-I}`, :math:`I = \int_0^T \min(\lambda_{\min}, 0) \le 0`, gives the step
  :math:`\eta = 2\varepsilon e^{I}/(\beta\gamma T)` for accuracy :math:`\varepsilon` up to time :math:`T`; the
  curvature-blind Euler bound :math:`\tfrac{M\eta}{2\beta}(e^{\beta T} - 1)` with :math:`M \le \beta\gamma`
  demands :math:`\eta = 2\varepsilon/(\gamma(e^{\beta T} - 1))`.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np
import torch

from .bounds import ApproximationBound, approximation_bound
from .curvature import CurvatureAlong, curvature_along
from .exercises import report
from .flow import DivergenceWarning, Trajectory, gd_time_grid, gradient_descent, gradient_flow
from .linear import (
    balance_gaps,
    balanced_init,
    end_to_end,
    end_to_end_flow,
    layers_from_theta,
    theta_from_layers,
    whitened_loss,
)
from .objective import FunctionObjective
from .plotting import OKABE_ITO, use_style
from .widgets import explorer

__all__ = [
    "net_dims",
    "whitened_objective",
    "regression_loss",
    "layer_gradients",
    "balance_drift",
    "gd_step_balance_error",
    "gd_accumulated_drift",
    "layers_vs_end_to_end",
    "depth_loss_curves",
    "polar",
    "polar_rates",
    "start_at_angle",
    "PolarRun",
    "polar_run",
    "decay_exponent",
    "DepthCurvature",
    "curvature_over_depths",
    "theorem_step",
    "blind_step",
    "Guarantee",
    "guarantee_run",
    "gd_vs_gf",
    "balance_figure",
    "depth_figure",
    "polar_figure",
    "polar_explorer_figure",
    "polar_fallback_figure",
    "polar_explorer",
    "curvature_figure",
    "bound_figure",
    "descent_explorer_figure",
    "descent_fallback_figure",
    "descent_explorer",
    "check_decay_exponent",
    "check_theorem_step",
]

f64 = torch.float64
DEPTH_COLORS = [OKABE_ITO[k] for k in ("blue", "vermillion", "bluish green", "orange", "reddish purple", "sky blue")]


# -- the model ---------------------------------------------------------------------------------------


def net_dims(depth: int, d_in: int, width: int, d_out: int = 1) -> list[int]:
    """Layer sizes ``[d_in, width, ..., width, d_out]`` of a depth-``depth`` linear network."""
    if not (isinstance(depth, int) and depth >= 1):
        raise ValueError(f"depth must be a positive integer, got {depth!r}")
    return [d_in] + [width] * (depth - 1) + [d_out]


def whitened_objective(Phi: torch.Tensor, dims: Sequence[int]) -> FunctionObjective:
    r""":math:`f(\theta) = \tfrac12\|W_N\cdots W_1 - \Phi\|_F^2` on the flat layer vector (shapes ``dims``)."""
    Phi = torch.as_tensor(Phi, dtype=f64)
    dims = list(dims)
    if tuple(Phi.shape) != (dims[-1], dims[0]):
        raise ValueError(f"Phi must have shape ({dims[-1]}, {dims[0]}) for dims {dims}, got {tuple(Phi.shape)}")
    n = sum(a * b for a, b in zip(dims[:-1], dims[1:]))
    return FunctionObjective(lambda theta: whitened_loss(end_to_end(layers_from_theta(theta, dims)), Phi), n)


def regression_loss(W: torch.Tensor, X: torch.Tensor, Y: torch.Tensor) -> torch.Tensor:
    r""":math:`\tfrac1{2n}\|WX - Y\|_F^2` (samples are columns); equals :math:`\tfrac12\|W - \Phi\|_F^2` +
    const when :math:`\tfrac1n XX^\top = I` and :math:`\Phi = \tfrac1n YX^\top`."""
    return ((W @ X - Y) ** 2).sum() / (2 * X.shape[1])


def layer_gradients(layers: Sequence[torch.Tensor], Phi: torch.Tensor) -> list[torch.Tensor]:
    r"""Closed form :math:`G_j = (W_N\cdots W_{j+1})^\top (W - \Phi) (W_{j-1}\cdots W_1)^\top`."""
    E = end_to_end(layers) - Phi
    grads = []
    for j in range(len(layers)):
        left = end_to_end(layers[j + 1 :]) if j + 1 < len(layers) else torch.eye(E.shape[0], dtype=f64)
        right = end_to_end(layers[:j]) if j > 0 else torch.eye(E.shape[1], dtype=f64)
        grads.append(left.T @ E @ right.T)
    return grads


# -- balancedness ------------------------------------------------------------------------------------


def balance_drift(thetas: torch.Tensor, dims: Sequence[int]) -> torch.Tensor:
    r""":math:`\max_j \|D_j(t_i) - D_j(t_0)\|_F` at every recorded point (rows of ``thetas``)."""
    start = balance_gaps(layers_from_theta(thetas[0], dims))
    out = []
    for theta in thetas:
        gaps = balance_gaps(layers_from_theta(theta, dims))
        out.append(max((float(torch.linalg.matrix_norm(a - b)) for a, b in zip(gaps, start)), default=0.0))
    return torch.tensor(out, dtype=f64)


def gd_step_balance_error(
    Phi: torch.Tensor, dims: Sequence[int], theta: torch.Tensor, step: float
) -> tuple[float, float]:
    r"""One GD step from ``theta``: the largest absolute entry of (actual change of :math:`D_j`) minus
    :math:`\eta^2(G_{j+1}^\top G_{j+1} - G_jG_j^\top)`, and the largest absolute entry of that prediction."""
    layers = layers_from_theta(theta, dims)
    grads = layer_gradients(layers, Phi)
    after = [w - step * g for w, g in zip(layers, grads)]
    predicted = [step**2 * d for d in balance_gaps(grads)]
    errors = [float((a - b - p).abs().max()) for a, b, p in zip(balance_gaps(after), balance_gaps(layers), predicted)]
    return max(errors), max(float(p.abs().max()) for p in predicted)


def gd_accumulated_drift(
    Phi: torch.Tensor, dims: Sequence[int], theta0: torch.Tensor, step: float, steps: int
) -> tuple[float, float]:
    r"""Run GD (closed-form gradients) and return (:math:`\max_j\|D_j(k) - D_j(0)\|_F` after ``steps``,
    the same for the telescoped sum :math:`\eta^2\sum_k (G_{j+1}^\top G_{j+1} - G_jG_j^\top)(\theta_k)`)."""
    layers = [w.clone() for w in layers_from_theta(theta0, dims)]
    start = balance_gaps(layers)
    total = [torch.zeros_like(d) for d in start]
    for _ in range(steps):
        grads = layer_gradients(layers, Phi)
        total = [s + step**2 * d for s, d in zip(total, balance_gaps(grads))]
        layers = [w - step * g for w, g in zip(layers, grads)]
    actual = max(float(torch.linalg.matrix_norm(a - b)) for a, b in zip(balance_gaps(layers), start))
    predicted = max(float(torch.linalg.matrix_norm(s)) for s in total)
    return actual, predicted


# -- end-to-end dynamics -----------------------------------------------------------------------------


def layers_vs_end_to_end(
    Phi: torch.Tensor, dims: Sequence[int], layers0: Sequence[torch.Tensor], t, rtol: float = 1e-10
) -> dict:
    """Gradient flow over the layers (``gradient_flow``) and the end-to-end ODE from the product.

    Returns ``times``, ``product`` (the layer flow's :math:`W_N\\cdots W_1`), ``end_to_end`` (the ODE's
    :math:`W`), ``gap`` (their largest entry-wise difference at each time) and the ``losses``.
    """
    obj = whitened_objective(Phi, dims)
    gf = gradient_flow(obj, theta_from_layers(layers0), t, rtol=rtol, atol=rtol * 1e-2)
    products = torch.stack([end_to_end(layers_from_theta(th, dims)) for th in gf.thetas])
    e2e = end_to_end_flow(end_to_end(layers0), lambda W: W - Phi, len(dims) - 1, gf.times, rtol=rtol, atol=rtol * 1e-2)
    gap = (products - e2e.y).flatten(1).abs().max(dim=1).values
    return {"times": gf.times, "product": products, "end_to_end": e2e.y, "gap": gap, "losses": gf.losses}


def depth_loss_curves(Phi: torch.Tensor, W0: torch.Tensor, depths: Sequence[int], t) -> dict[int, torch.Tensor]:
    r"""Loss :math:`\tfrac12\|W(t) - \Phi\|^2` of the end-to-end flow from the same :math:`W(0)` for each depth
    (depth 1 is plain gradient flow on :math:`W`)."""
    out = {}
    for depth in depths:
        sol = end_to_end_flow(W0, lambda W: W - Phi, depth, t, rtol=1e-9, atol=1e-12)
        out[depth] = torch.stack([whitened_loss(W, Phi) for W in sol.y])
    return out


# -- scalar output: radial and angular dynamics ------------------------------------------------------


def polar(w: torch.Tensor, phi: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    r""":math:`\rho = \|w\|` and the angle (degrees) between :math:`w` and :math:`\Phi`, row-wise for 2-D ``w``."""
    w2 = w.reshape(-1, phi.numel())
    rho = torch.linalg.vector_norm(w2, dim=1)
    cos = (w2 @ phi.reshape(-1)) / (rho * phi.norm())
    return rho, torch.rad2deg(torch.arccos(cos.clamp(-1.0, 1.0)))


def polar_rates(w: torch.Tensor, phi: torch.Tensor, depth: int) -> tuple[torch.Tensor, torch.Tensor]:
    r""":math:`\dot\rho = N\rho^{2-2/N}\langle\Phi - w, \hat w\rangle` and
    :math:`\dot{\hat w} = \rho^{1-2/N}(I - \hat w\hat w^\top)\Phi` (the book's derived formulas)."""
    rho = w.norm()
    w_hat = w / rho
    rho_dot = depth * rho ** (2 - 2 / depth) * torch.dot(phi - w, w_hat)
    w_hat_dot = rho ** (1 - 2 / depth) * (phi - torch.dot(w_hat, phi) * w_hat)
    return rho_dot, w_hat_dot


def start_at_angle(phi: torch.Tensor, angle_deg: float, rho0: float) -> torch.Tensor:
    r""":math:`w_0 = \rho_0(\cos\alpha\,\hat\Phi + \sin\alpha\, e)` with :math:`e \perp \Phi` a fixed unit vector."""
    phi_hat = phi / phi.norm()
    basis = torch.eye(phi.numel(), dtype=f64)
    e = basis[int(phi_hat.abs().argmin())]
    e = e - torch.dot(e, phi_hat) * phi_hat
    e = e / e.norm()
    if angle_deg == 180:  # exactly antipodal (math.sin(math.pi) is 1.2e-16, not 0)
        return -rho0 * phi_hat
    a = math.radians(angle_deg)
    return rho0 * (math.cos(a) * phi_hat + math.sin(a) * e)


@dataclass
class PolarRun:
    """A scalar-output end-to-end flow: ``times``, ``w`` (rows), ``rho``, ``angle`` (degrees), and
    ``converged`` (angle < 0.1° and :math:`|\\rho - \\|\\Phi\\|| < 10^{-3}\\|\\Phi\\|` at the end)."""

    times: torch.Tensor
    w: torch.Tensor
    rho: torch.Tensor
    angle: torch.Tensor
    converged: bool


def polar_run(phi: torch.Tensor, depth: int, w0: torch.Tensor, t_max: float = 1e5, n_times: int = 200) -> PolarRun:
    r"""Integrate the scalar end-to-end flow :math:`\dot w = -\|w\|^{2-2/N}(\nabla L + (N-1)\hat w\hat w^\top
    \nabla L)`, :math:`\nabla L = w - \Phi`, from ``w0`` until it has converged (angle below 0.1° and
    :math:`|\rho - \|\Phi\|| < 10^{-3}\|\Phi\|`) or until ``t_max``; sample it at ``n_times`` log-spaced times.

    Uses SciPy's LSODA with a terminal event (the right-hand side of
    :func:`gfteach.linear.scalar_end_to_end_velocity`, in NumPy): the radius may shrink to :math:`10^{-11}`
    and the escape may take :math:`10^5` time units, while near :math:`\Phi` the flow is fast, so a
    stiffness-switching method that stops at convergence is far cheaper than a fixed long horizon.
    """
    from scipy.integrate import solve_ivp

    target = phi.detach().numpy().astype(float)
    norm, p = float(np.linalg.norm(target)), 2 - 2 / depth

    def velocity(_, w):
        rho = np.linalg.norm(w)
        if rho == 0.0:
            return np.zeros_like(w)
        w_hat, grad = w / rho, w - target
        return -(rho**p) * (grad + (depth - 1) * np.dot(w_hat, grad) * w_hat)

    def done(_, w):
        rho = np.linalg.norm(w)
        cos = np.dot(w, target) / (rho * norm) if rho > 0 else -1.0
        return (1 - cos) / (1 - math.cos(math.radians(0.1))) + ((rho - norm) / (1e-3 * norm)) ** 2 - 1.0

    done.terminal, done.direction = True, -1
    w0_np = w0.detach().numpy().astype(float)
    scale = float(np.linalg.norm(w0_np))
    sol = solve_ivp(
        velocity, (0.0, t_max), w0_np, method="LSODA", events=done, dense_output=True, rtol=1e-10, atol=1e-30 * scale
    )
    t_end = float(sol.t[-1])
    times = np.concatenate([[0.0], np.logspace(math.log10(min(1e-3, t_end / 10)), math.log10(t_end), n_times - 1)])
    W = torch.as_tensor(sol.sol(times).T.copy(), dtype=f64)
    W[0] = w0
    rho, angle = polar(W, phi)
    return PolarRun(torch.as_tensor(times, dtype=f64), W, rho, angle, bool(sol.status == 1))


def decay_exponent(times: torch.Tensor, rho: torch.Tensor, t_from: float, t_to: float) -> float:
    r"""Least-squares slope of :math:`\log\rho` against :math:`\log t` over :math:`[t_{from}, t_{to}]`
    (:math:`-N/(N-2)` where :math:`\rho` shrinks polynomially)."""
    keep = (times >= t_from) & (times <= t_to)
    x, y = torch.log(times[keep]).numpy(), torch.log(rho[keep]).numpy()
    return float(np.polyfit(x, y, 1)[0])


# -- chapter 5: curvature over depths, the step the theorem allows ------------------------------------


@dataclass
class DepthCurvature:
    """Gradient flow of one depth and the curvature along it; ``beta``/``gamma`` are the largest
    :math:`\\|\\nabla^2 f\\|` and :math:`\\|\\nabla f\\|` met along the flow."""

    depth: int
    dims: list
    gf: Trajectory
    curvature: CurvatureAlong
    beta: float
    gamma: float

    @property
    def integral(self) -> float:
        r""":math:`\int_0^T \min(\lambda_{\min}, 0)\,dt` (trapezoid rule on the samples)."""
        return float(self.curvature.negative_integral[-1])


def curvature_over_depths(
    Phi: torch.Tensor, depths: Sequence[int], width: int, scale: float, T: float, n_times: int = 31, seed: int = 0
) -> dict[int, DepthCurvature]:
    """For each depth: a balanced near-zero start (end-to-end entries of size ``scale``), gradient flow up
    to ``T``, and :math:`\\lambda_{\\min}, \\lambda_{\\max}` at ``n_times`` points (dense Hessians)."""
    out = {}
    for depth in depths:
        dims = net_dims(depth, Phi.shape[1], width, Phi.shape[0])
        obj = whitened_objective(Phi, dims)
        theta0 = theta_from_layers(balanced_init(dims, scale, torch.Generator().manual_seed(seed)))
        gf = gradient_flow(obj, theta0, torch.linspace(0, T, n_times, dtype=f64), rtol=1e-9, atol=1e-12)
        curv = curvature_along(obj, gf, dense=True)
        gamma = max(float(obj.grad(th).norm()) for th in gf.thetas)
        out[depth] = DepthCurvature(depth, dims, gf, curv, float(curv.sharpness.max()), gamma)
    return out


def theorem_step(eps: float, beta: float, gamma: float, T: float, integral: float) -> float:
    r"""The step the derived bound allows: :math:`\tfrac{\beta\gamma}{2}T\eta e^{-I} \le \varepsilon` iff
    :math:`\eta \le 2\varepsilon e^{I}/(\beta\gamma T)`, with :math:`I = \int_0^T\min(\lambda_{\min},0) \le 0`."""
    return 2 * eps * math.exp(min(integral, 0.0)) / (beta * gamma * T)


def blind_step(eps: float, beta: float, gamma: float, T: float) -> float:
    r"""The step the curvature-blind Euler bound demands: :math:`\tfrac{M\eta}{2\beta}(e^{\beta T} - 1) \le
    \varepsilon` with :math:`M = \beta\gamma`, i.e. :math:`\eta \le 2\varepsilon/(\gamma(e^{\beta T} - 1))`."""
    return 2 * eps / (gamma * math.expm1(beta * T))


@dataclass
class Guarantee:
    """The chapter-5 pipeline: pilot flow → step → GD and GF on the GD grid → the bound evaluated."""

    depth: int
    eps: float
    T: float
    beta: float
    gamma: float
    integral: float
    step: float
    blind: float
    steps: int
    gd: Trajectory
    gf: Trajectory
    bound: ApproximationBound
    final_loss: float


def guarantee_run(
    Phi: torch.Tensor,
    depth: int,
    width: int,
    scale: float,
    T: float,
    eps: float,
    safety: float = 2.0,
    extra_steps: int | None = 0,
    record_every: int = 100,
    seed: int = 0,
) -> Guarantee:
    r"""Derive the theorem's step for accuracy ``eps`` up to ``T`` and run GD with it.

    1. Pilot gradient flow to ``T``; :math:`I`, :math:`\beta`, :math:`\gamma` measured along it, and
       :math:`\beta, \gamma` multiplied by ``safety`` (the theorem needs them on a neighbourhood).
    2. :math:`\eta` = :func:`theorem_step`; GD for :math:`\lceil T/\eta\rceil` steps, GF on the same grid,
       :func:`gfteach.curvature.approximation_bound` on the pair (it re-estimates :math:`\beta,\gamma` on both runs).
    3. ``extra_steps`` more GD steps with the same :math:`\eta` (``None``: as many again); ``final_loss`` is
       the loss after them.
    """
    pilot = curvature_over_depths(Phi, [depth], width, scale, T, seed=seed)[depth]
    beta, gamma = safety * pilot.beta, safety * pilot.gamma
    step = theorem_step(eps, beta, gamma, T, pilot.integral)
    blind = blind_step(eps, beta, gamma, T)
    steps = math.ceil(T / step)
    obj = whitened_objective(Phi, pilot.dims)
    theta0 = pilot.gf.thetas[0]
    gd = gradient_descent(obj, theta0, step, steps, record_every=record_every)
    gf = gradient_flow(obj, theta0, gd_time_grid(step, steps, record_every), rtol=1e-10, atol=1e-13)
    bound = approximation_bound(obj, gd, gf, curvature=pilot.curvature, every=max(1, len(gd.times) // 25))
    final = gd.losses[-1]
    extra_steps = steps if extra_steps is None else extra_steps
    if extra_steps:
        final = gradient_descent(obj, gd.thetas[-1], step, extra_steps, record_every=extra_steps).losses[-1]
    return Guarantee(depth, eps, T, beta, gamma, pilot.integral, step, blind, steps, gd, gf, bound, float(final))


def gd_vs_gf(
    Phi: torch.Tensor, depth: int, width: int, scale: float, step: float, T: float, record_every: int = 1, seed: int = 0
) -> dict:
    """GD with ``step`` and GF on its grid from the same balanced start: ``times``, ``gd_loss``,
    ``gf_loss``, ``distance`` (NaN after a divergence), ``diverged``."""
    dims = net_dims(depth, Phi.shape[1], width, Phi.shape[0])
    obj = whitened_objective(Phi, dims)
    theta0 = theta_from_layers(balanced_init(dims, scale, torch.Generator().manual_seed(seed)))
    steps = max(1, round(T / step))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DivergenceWarning)
        gd = gradient_descent(obj, theta0, step, steps, record_every=record_every)
    times = gd_time_grid(step, steps, record_every)
    gf = gradient_flow(obj, theta0, times, rtol=1e-9, atol=1e-12)
    n = len(gd.times)
    dist = torch.full((len(times),), float("nan"), dtype=f64)
    dist[:n] = torch.linalg.vector_norm(gd.thetas - gf.thetas[:n], dim=1)
    gd_loss = torch.full((len(times),), float("nan"), dtype=f64)
    gd_loss[:n] = gd.losses
    return {"times": times, "gd_loss": gd_loss, "gf_loss": gf.losses, "distance": dist, "diverged": gd.diverged}


# -- figures -----------------------------------------------------------------------------------------


def balance_figure(gf_times, gf_drift, gd_runs: dict) -> plt.Figure:
    """Left: balancedness drift along gradient flow (flat at solver tolerance). Right: the drift of GD
    runs ``{step: (times, drift)}`` over the same horizon."""
    use_style()
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9.5, 3.8))
    ax1.semilogy(gf_times, np.maximum(np.asarray(gf_drift), 1e-17), color=OKABE_ITO["black"], label="gradient flow")
    ax1.set(xlabel="time $t$", ylabel=r"$\max_j\|D_j(t) - D_j(0)\|_F$", title="Gradient flow: conserved")
    ax1.legend()
    for color, (step, (times, drift)) in zip(DEPTH_COLORS, gd_runs.items()):
        ax2.semilogy(times, np.maximum(np.asarray(drift), 1e-17), color=color, label=rf"GD, $\eta = {step:g}$")
    ax2.set(xlabel=r"time $t = k\eta$", ylabel=r"$\max_j\|D_j(k) - D_j(0)\|_F$", title="Gradient descent: drifts")
    ax2.legend()
    fig.suptitle(r"Balancedness $D_j = W_{j+1}^\top W_{j+1} - W_jW_j^\top$ from an unbalanced start")
    return fig


def depth_figure(times, gap, curves: dict[int, torch.Tensor]) -> plt.Figure:
    """Left: the gap between the layer flow's product and the end-to-end ODE. Right: loss of the
    end-to-end flow from the same :math:`W(0)` for several depths."""
    use_style()
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9.5, 3.8))
    ax1.semilogy(times, np.maximum(np.asarray(gap), 1e-17), color=OKABE_ITO["blue"], marker="o", label="max entry gap")
    ax1.set(xlabel="time $t$", ylabel=r"$\max|W_N\cdots W_1 - W_{\mathrm{e2e}}|$", title="Layers vs end-to-end ODE")
    ax1.legend()
    for color, (depth, loss) in zip(DEPTH_COLORS, curves.items()):
        name = "depth 1 (plain GF on $W$)" if depth == 1 else f"depth {depth}"
        ax2.semilogy(times, loss, color=color, label=name)
    ax2.set(xlabel="time $t$", ylabel=r"$L(W) = \frac{1}{2}\|W - \Phi\|_F^2$", title="Same $W(0)$, different depths")
    ax2.legend()
    fig.suptitle("Depth changes the end-to-end dynamics, width does not enter")
    return fig


def _polar_axes(ax_rho, ax_ang, runs: dict, label_fmt: str) -> None:
    for color, (key, run) in zip(DEPTH_COLORS, runs.items()):
        t = run.times[1:]
        ax_rho.loglog(t, run.rho[1:], color=color, label=label_fmt.format(key))
        ax_ang.semilogx(t, run.angle[1:], color=color, label=label_fmt.format(key))
    ax_rho.set(xlabel="time $t$", ylabel=r"$\rho = \|w\|$")
    ax_ang.set(xlabel="time $t$", ylabel=r"angle between $w$ and $\Phi$ (degrees)", ylim=(-5, 185))


def polar_figure(runs: dict[int, PolarRun], angle0: float) -> plt.Figure:
    """:math:`\\rho(t)` (log–log) and the angle to :math:`\\Phi` for several depths from one start."""
    use_style()
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9.5, 3.8))
    _polar_axes(ax1, ax2, runs, "depth {}")
    ax1.set_title(r"Radius: shrinks, then grows to $\|\Phi\|$")
    ax2.set_title("Direction: rotates toward $\\Phi$")
    ax1.legend()
    fig.suptitle(rf"Scalar output, start at {angle0:g}$^\circ$ from $\Phi$")
    return fig


def polar_explorer_figure(phi: torch.Tensor, depth: int = 3, angle: float = 150.0, rho0: float = 0.01) -> plt.Figure:
    """The Chapter-4 explorer view: :math:`\\rho(t)` and the angle for one (depth, initial angle)."""
    use_style()
    run = polar_run(phi, depth, start_at_angle(phi, angle, rho0))
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9.5, 3.6))
    _polar_axes(ax1, ax2, {depth: run}, "depth {}")
    ax1.axhline(float(phi.norm()), color="grey", linestyle=":", label=r"$\|\Phi\|$")
    ax1.legend()
    verdict = "converged to $\\Phi$" if run.converged else "not converged yet"
    fig.suptitle(rf"Depth {depth}, start at {angle:g}$^\circ$ from $\Phi$, $\rho_0 = {rho0:g}$: {verdict}")
    return fig


def polar_fallback_figure(
    phi: torch.Tensor, depths: Sequence[int] = (2, 3, 4), angles: Sequence[float] = (30, 120, 170, 179), rho0=0.01
) -> plt.Figure:
    """Small multiples: one column per depth; top row :math:`\\rho(t)`, bottom row the angle, one curve per
    initial angle."""
    use_style()
    fig, axes = plt.subplots(2, len(depths), figsize=(3.3 * len(depths), 6.2), squeeze=False)
    for col, depth in enumerate(depths):
        runs = {a: polar_run(phi, depth, start_at_angle(phi, a, rho0)) for a in angles}
        _polar_axes(axes[0, col], axes[1, col], runs, "{}$^\\circ$")
        axes[0, col].set_title(f"depth {depth}")
    handles, labels = axes[1, 0].get_legend_handles_labels()
    fig.legend(handles, [f"start at {lab}" for lab in labels], loc="outside lower center", ncols=len(labels))
    fig.suptitle(rf"Scalar output from $\rho_0 = {rho0:g}$: radius (top) and angle to $\Phi$ (bottom)")
    return fig


def polar_explorer(phi: torch.Tensor):
    """ipywidgets explorer: depth × initial angle → :math:`\\rho(t)`, angle(t) (see ``ode_explorer``)."""
    import ipywidgets as W

    depth = W.IntSlider(value=3, min=2, max=6, description="depth N", continuous_update=False)
    angle = W.FloatSlider(value=150.0, min=0.0, max=179.0, step=1.0, description="angle (°)", continuous_update=False)
    return explorer([depth, angle], lambda d, a: polar_explorer_figure(phi, d, a))


def curvature_figure(results: dict[int, DepthCurvature]) -> plt.Figure:
    """Left: :math:`\\lambda_{\\min}` along gradient flow per depth.

    Right: :math:`\\int_0^t\\min(\\lambda_{\\min},0)`."""
    use_style()
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9.5, 3.8))
    for color, (depth, r) in zip(DEPTH_COLORS, results.items()):
        ax1.plot(r.curvature.times, r.curvature.lambda_min, color=color, label=f"depth {depth}")
        ax2.plot(r.curvature.times, r.curvature.negative_integral, color=color, label=f"depth {depth}")
    ax1.axhline(0.0, color="grey", linewidth=0.8)
    ax1.set(xlabel="time $t$", ylabel=r"$\lambda_{\min}(\nabla^2 f(\theta(t)))$", title="Smallest Hessian eigenvalue")
    ax2.set(xlabel="time $t$", ylabel=r"$\int_0^t \min(\lambda_{\min}, 0)\,ds$", title="Its negative part, integrated")
    ax2.legend()
    fig.suptitle("Curvature along gradient flow from a balanced near-zero start")
    return fig


def bound_figure(g: Guarantee) -> plt.Figure:
    """GD–GF distance against the derived bound (summed and closed forms) and the target accuracy."""
    use_style()
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9.5, 3.8))
    b = g.bound
    t = b.times[1:]
    ax1.loglog(t, b.distance[1:], color=OKABE_ITO["blue"], label=r"measured $\|\theta_k - \theta(k\eta)\|$")
    ax1.loglog(t, b.bound[1:], color=OKABE_ITO["vermillion"], linestyle="--", label="derived bound (sum)")
    ax1.loglog(t, b.closed_form[1:], color=OKABE_ITO["orange"], linestyle=":", label="derived bound (closed form)")
    ax1.axhline(g.eps, color="grey", linestyle="-.", label=rf"target $\varepsilon = {g.eps:g}$")
    ax1.set(xlabel=r"time $t = k\eta$", ylabel="distance", title=rf"GD with the theorem's step $\eta = {g.step:.3g}$")
    ax1.legend(fontsize=7.5, loc="center left")
    ax2.semilogy(g.gf.times, g.gf.losses, color=OKABE_ITO["black"], label="gradient flow")
    ax2.semilogy(
        g.gd.times,
        g.gd.losses,
        color=OKABE_ITO["vermillion"],
        linestyle="",
        marker="o",
        markersize=3,
        label="gradient descent",
    )
    ax2.set(xlabel="time $t$", ylabel="loss $f$", title="The losses coincide")
    ax2.legend()
    fig.suptitle(f"From flow to descent: depth {g.depth}, up to $T = {g.T:g}$")
    return fig


def _descent_panel(ax, r: dict, title: str) -> None:
    ax.semilogy(r["times"], r["gf_loss"], color=OKABE_ITO["black"], label="GF loss")
    ax.semilogy(r["times"], r["gd_loss"], color=OKABE_ITO["vermillion"], linestyle="--", label="GD loss")
    ax.semilogy(r["times"], r["distance"], color=OKABE_ITO["blue"], linestyle=":", label="GD–GF distance")
    ax.set(xlabel="time $t$", title=title + (" (diverged)" if r["diverged"] else ""))
    ax.set_ylim(1e-12, 1e2)


def descent_explorer_figure(
    phi: torch.Tensor, depth: int = 3, scale: float = 0.05, step: float = 0.1, T: float = 30.0, width: int = 3
) -> plt.Figure:
    """The Chapter-5 explorer view for one (depth, init scale, step)."""
    use_style()
    r = gd_vs_gf(phi, depth, width, scale, step, T, record_every=max(1, round(0.25 / step)))
    fig, ax = plt.subplots(figsize=(6.5, 3.8))
    _descent_panel(ax, r, rf"depth {depth}, init scale {scale:g}, $\eta = {step:g}$")
    ax.set_ylabel("loss / distance")
    ax.legend()
    return fig


def descent_fallback_figure(
    phi: torch.Tensor, cases: Sequence[tuple[int, float, float]], T: float = 30.0, width: int = 3, ncols: int = 3
) -> plt.Figure:
    """Small multiples of the explorer over (depth, init scale, step) triples."""
    use_style()
    nrows = -(-len(cases) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(3.3 * ncols, 3.0 * nrows + 0.6), squeeze=False)
    for ax, (depth, scale, step) in zip(axes.flat, cases):
        r = gd_vs_gf(phi, depth, width, scale, step, T, record_every=max(1, round(0.25 / step)))
        _descent_panel(ax, r, rf"$N = {depth}$, scale {scale:g}, $\eta = {step:g}$")
    for ax in axes.flat[len(cases) :]:
        ax.set_visible(False)
    for ax in axes[:, 0]:
        ax.set_ylabel("loss / distance")
    handles, labels = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=3)
    fig.suptitle("Gradient descent against gradient flow over deep linear networks")
    return fig


def descent_explorer(phi: torch.Tensor, T: float = 30.0):
    """ipywidgets explorer: depth × init scale × step → losses and GD–GF distance."""
    import ipywidgets as W

    depth = W.IntSlider(value=3, min=2, max=5, description="depth N", continuous_update=False)
    scale = W.FloatLogSlider(
        value=0.05, base=10, min=-3, max=0, step=0.25, description="init scale", continuous_update=False
    )
    step = W.FloatLogSlider(
        value=0.1, base=10, min=-2, max=0.3, step=0.1, description="step η", continuous_update=False
    )
    return explorer([depth, scale, step], lambda d, s, e: descent_explorer_figure(phi, d, s, e, T))


# -- checkers ----------------------------------------------------------------------------------------


def check_decay_exponent(depth: int, value, tol: float = 0.03) -> bool:
    r"""Is ``value`` the exponent :math:`a` of :math:`\rho(t) \sim t^{-a}` while a depth-``depth`` scalar
    flow pointing away from :math:`\Phi` shrinks? (:math:`a = N/(N-2)`; within relative ``tol``.)"""
    try:
        x = float(value)
    except (TypeError, ValueError):
        return report(False, f"expected a number, got {value!r}")
    if not isinstance(depth, int) or depth < 3:
        return report(False, "the shrinking is polynomial only for depth N >= 3 (at N = 2 it is exponential)")
    want = depth / (depth - 2)
    if x < 0:
        return report(False, f"give the exponent a > 0 of rho ~ t^(-a) (the slope is -a); got {x:.4g}")
    if abs(x - want) <= tol * want:
        return report(True, f"{x:.4g} matches N/(N-2) = {want:.4g}: rho ~ t^(-{want:.4g}) at depth {depth}.")
    hint = ""
    if abs(x - 1 / (1 - 2 / depth)) > 1e-9 and abs(x - (2 - 2 / depth)) < 0.05:
        hint = "\n  That is the power p = 2 - 2/N in the ODE; the decay exponent is 1/(p - 1)."
    elif abs(x - (depth - 2) / depth) < 0.05:
        hint = "\n  That is p - 1 = 1 - 2/N; the decay exponent is its reciprocal."
    else:
        hint = "\n  Solve rho' = -c rho^p with p = 2 - 2/N: rho^(1-p) grows linearly in t."
    return report(False, f"{x:.4g} is off: the exponent at depth {depth} is N/(N-2) = {want:.4g}.{hint}")


def check_theorem_step(
    eta, eps: float, beta: float, gamma: float, T: float, integral: float, tol: float = 0.02
) -> bool:
    r"""Is ``eta`` the largest step the derived bound allows, :math:`2\varepsilon e^{I}/(\beta\gamma T)`?"""
    try:
        x = float(eta)
    except (TypeError, ValueError):
        return report(False, f"expected a step size, got {eta!r}")
    want = theorem_step(eps, beta, gamma, T, integral)
    if abs(x / want - 1) <= tol:
        return report(True, f"eta = {x:.4g}: the bound (beta*gamma/2)*T*eta*exp(-I) equals eps = {eps:g} there.")
    candidates = {
        "you used exp(-I) instead of exp(I): a negative integral must make the step smaller": 2
        * eps
        * math.exp(-integral)
        / (beta * gamma * T),
        "a factor 2 is missing: the local error is eta^2*beta*gamma/2": eps * math.exp(integral) / (beta * gamma * T),
        "you dropped the curvature factor exp(I)": 2 * eps / (beta * gamma * T),
    }
    for why, value in candidates.items():
        if abs(x / value - 1) <= tol:
            return report(False, f"eta = {x:.4g} is not it: {why}.")
    bound = beta * gamma / 2 * T * x * math.exp(-integral)
    side = "too large: the bound exceeds" if bound > eps else "too small: the bound is well below"
    return report(False, f"eta = {x:.4g} is {side} eps (bound = {bound:.4g}, eps = {eps:g}).")
