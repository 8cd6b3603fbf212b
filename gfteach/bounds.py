r"""The bounds of the course's theorems, each formula written once.

**Tracking (Chapter 2).** With :math:`\beta \ge \|\nabla^2 f\|`, :math:`\gamma \ge \|\nabla f\|` near the
trajectory and :math:`m(t) \le \lambda_{\min}(\nabla^2 f)` around :math:`\theta(t)`, one GD step differs
from the exact flow over time :math:`\eta` by at most :math:`\eta^2\beta\gamma/2`, the flow propagates that
error by at most :math:`e^{-\int m}`, and summing ("Lady Windermere's fan"),

.. math::

    \|\theta_k - \theta(k\eta)\| \le \frac{\eta^2\beta\gamma}{2} \sum_{j<k}
    e^{-\int_{(j+1)\eta}^{k\eta} m} \le \frac{\beta\gamma}{2}\, t\,\eta\, e^{-I(t)},
    \qquad t = k\eta,\ I(t) = \int_0^t \min(m, 0) \le 0.

:func:`tracking_bound` is the closed form, :func:`step_from_bound` solves it for :math:`\eta`,
:func:`approximation_bound` evaluates both forms on recorded runs. The classic, curvature-blind Euler
bound is :func:`classic_euler_bound` (:func:`classic_euler_step` solves it for :math:`\eta`).

**The hilltop (Chapter 2).** On :math:`f = \frac\lambda2\theta^2`: :func:`scalar_gap` (exact),
:func:`scalar_gap_estimate` (first order, for :math:`\lambda = -m < 0`), :func:`step_for_accuracy`.

**Curvature of deep linear networks (Chapter 3).** For :math:`f = \varphi(W_N\cdots W_1)`, :math:`\varphi`
convex: :func:`hessian_lower_bound` and its balanced scalar-output corollary :func:`balanced_scalar_bound`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from ._checks import integer, real, show, vector
from .curvature import CurvatureAlong, curvature_along
from .flow import Trajectory, distance
from .measure import integral_at
from .objective import as_objective

__all__ = [
    "tracking_bound",
    "step_from_bound",
    "classic_euler_bound",
    "classic_euler_step",
    "ApproximationBound",
    "approximation_bound",
    "scalar_gap",
    "scalar_gap_estimate",
    "step_for_accuracy",
    "hessian_lower_bound",
    "balanced_scalar_bound",
]

_F64 = torch.float64


def _times(t) -> torch.Tensor:
    """A time ``t >= 0`` (a number: a 0-d tensor) or a 1-D sequence of them."""
    if not isinstance(t, (list, tuple)) and getattr(t, "ndim", 0) == 0:
        return torch.tensor(real("t", t, nonnegative=True), dtype=_F64)
    out = vector("t", t, what="a time >= 0 or a 1-D sequence of them")
    if not torch.isfinite(out).all() or (out < 0).any():
        raise ValueError(f"t must hold finite times >= 0, got {out.tolist()}")
    return out


def _exp(x: float, exp=math.exp) -> float:
    """``exp(x)`` (or ``expm1``), ``inf`` past the float range instead of an ``OverflowError``."""
    try:
        return exp(x)
    except OverflowError:
        return math.inf


def _negative_like(value, times: torch.Tensor) -> torch.Tensor:
    """``negative_integral``: a number, or one per time (the shape of ``t``); finite and ``<= 0``."""
    if not isinstance(value, (list, tuple)) and getattr(value, "ndim", 0) == 0:
        neg = torch.tensor(real("negative_integral", value), dtype=_F64)
    else:
        neg = vector("negative_integral", value, what="a number or one number per time in t")
        if neg.shape != times.shape:
            raise ValueError(
                f"negative_integral must be a number or have the shape of t {tuple(times.shape)} "
                f"(one value per time), got shape {tuple(neg.shape)}"
            )
    if not torch.isfinite(neg).all() or (neg > 0).any():
        raise ValueError(
            "negative_integral must be finite and <= 0 (it is the integral of min(m, 0)), got "
            f"{neg.tolist() if neg.dim() else float(neg)}"
        )
    return neg


def tracking_bound(t, eta, beta, gamma, negative_integral=0.0) -> torch.Tensor:
    r"""The closed form :math:`\frac{\beta\gamma}{2}\,t\,\eta\,e^{-I}` of the tracking bound
    (``negative_integral`` is :math:`I = \int_0^t\min(m, 0) \le 0`; a tensor of them for a tensor ``t``)."""
    eta, beta, gamma = (
        real("eta", eta, positive=True),
        real("beta", beta, nonnegative=True),
        real("gamma", gamma, nonnegative=True),
    )
    times = _times(t)
    neg = _negative_like(negative_integral, times)
    return beta * gamma / 2 * times * eta * torch.exp(-neg)


def step_from_bound(beta, gamma, t, target, negative_integral=0.0) -> float:
    r"""Largest :math:`\eta` with :math:`\frac{\beta\gamma}{2}\,t\,\eta\,e^{-I} \le` ``target``:
    :math:`\eta^* = 2\,\text{target}\,e^{I}/(\beta\gamma t)`. For convex :math:`f` (:math:`I = 0`) this
    is :math:`O(1/t)`; a negative curvature integral makes it exponentially small. An :math:`\eta^*` below the
    float range (0.0 is no step) raises ``ValueError``; one above it is ``inf``."""
    beta, gamma = real("beta", beta, positive=True), real("gamma", gamma, positive=True)
    t, target = real("t", t, positive=True), real("target", target, positive=True)
    negative = float(_negative_like(negative_integral, torch.zeros((), dtype=_F64)))
    denominator = beta * gamma * t
    eta = 2 * target * math.exp(negative) / denominator if denominator > 0 else math.inf
    if not 0 < eta < math.inf:  # an intermediate left the float range: the same formula in logs
        eta = _exp(math.log(2 * target) + negative - math.log(beta) - math.log(gamma) - math.log(t))
    return _positive(eta, f"negative_integral = {negative:.6g}, beta = {beta:.6g}, gamma = {gamma:.6g}, t = {t:.6g}")


def classic_euler_bound(t, eta, beta, gamma) -> torch.Tensor:
    r"""The classic Euler bound :math:`\frac{Mh}{2L}(e^{Lt} - 1)` for GF with :math:`h = \eta`,
    :math:`L = \beta` and :math:`M = \beta\gamma \ge \|\theta''\| = \|\nabla^2 f\,\nabla f\|`:
    :math:`\frac{\gamma\eta}{2}(e^{\beta t} - 1)`, exponential in :math:`t` whatever the sign of the curvature."""
    eta, beta = real("eta", eta, positive=True), real("beta", beta, nonnegative=True)
    gamma = real("gamma", gamma, nonnegative=True)
    return gamma * eta / 2 * torch.expm1(beta * _times(t))


def classic_euler_step(beta, gamma, t, target) -> float:
    r"""Largest :math:`\eta` with :math:`\frac{\gamma\eta}{2}(e^{\beta t} - 1) \le` ``target``: as
    :func:`step_from_bound`, a ``ValueError`` below the float range, ``inf`` above it."""
    beta, gamma = real("beta", beta, positive=True), real("gamma", gamma, positive=True)
    t, target = real("t", t, positive=True), real("target", target, positive=True)
    x = beta * t
    denominator = gamma * _exp(x, math.expm1)
    eta = 2 * target / denominator if denominator > 0 else math.inf
    if not 0 < eta < math.inf and x > 0:  # in logs, with log(e^x - 1) = x + log(1 - e^-x)
        eta = _exp(math.log(2 * target) - math.log(gamma) - x - math.log(-math.expm1(-x)))
    return _positive(eta, f"t = {t:.6g}, beta = {beta:.6g}, gamma = {gamma:.6g}")


def _positive(eta: float, inputs: str) -> float:
    """A largest step ``eta``; one that underflowed to 0.0 is no step: a ``ValueError`` naming the inputs."""
    if eta > 0:
        return eta
    raise ValueError(
        f"no positive step meets the accuracy target: the largest step underflows to 0.0 ({inputs}); "
        "ask for a shorter t or a larger target"
    )


@dataclass
class ApproximationBound:
    r"""The tracking bound at the recorded GD iterates, and the truth.

    ``bound`` is the summed form, ``closed_form`` the simpler (larger) one, ``distance`` the measured
    gap; ``beta``, ``gamma`` the estimates used; ``holds`` whether ``distance <= bound`` everywhere.
    """

    times: torch.Tensor
    distance: torch.Tensor
    bound: torch.Tensor
    closed_form: torch.Tensor
    beta: float
    gamma: float
    holds: bool


def approximation_bound(
    obj,
    gd: Trajectory,
    gf: Trajectory,
    *,
    curvature: CurvatureAlong | None = None,
    every: int = 1,
    safety: float = 1.0,
    tol: float = 1e-8,
) -> ApproximationBound:
    r"""Evaluate the tracking bound (both forms, see the module) on a GD run and its GF reference.

    **The constants are estimated, not proven:** :math:`\beta` is the largest :math:`|\lambda|` of the
    Hessian met at the sampled points of *both* runs, :math:`\gamma` the largest gradient norm at the
    recorded points of both runs, both times ``safety``; :math:`m` is :math:`\lambda_{\min}` along the GF
    run only (``curvature``, or computed at every ``every``-th point), linearly interpolated. The
    theorem needs them over a whole neighbourhood (the "fan" of flows from the GD iterates), so the
    value returned is an estimate of the bound; ``safety > 1`` makes it more conservative.
    ``gf`` must be recorded at the GD times (see :func:`gfteach.flow.gd_time_grid`).
    """
    obj = as_objective(obj)
    if not (isinstance(gd, Trajectory) and isinstance(gf, Trajectory)):
        raise TypeError(f"gd and gf must be Trajectory objects, got {show(gd)} and {show(gf)}")
    if gd.kind != "gd" or gf.kind != "gf":
        raise ValueError(
            "approximation_bound needs a gradient-descent Trajectory and a gradient-flow Trajectory, in that order"
        )
    if curvature is not None and not isinstance(curvature, CurvatureAlong):
        raise TypeError(f"curvature must be a CurvatureAlong (from curvature_along) or None, got {show(curvature)}")
    tol = real("tol", tol, positive=True)
    safety = real("safety", safety)
    if safety < 1.0:
        raise ValueError(f"safety must be a number >= 1, got {safety!r}")
    every = integer("every", every, minimum=1)
    gap = distance(gd, gf)
    curvature = curvature or curvature_along(obj, gf, every, tol=tol)
    along_gd = curvature_along(obj, gd, every, tol=tol)
    beta = safety * float(torch.cat([curvature.sharpness, along_gd.sharpness]).max())
    gamma = safety * max(float(obj._value_and_grad(theta)[1].norm()) for theta in (*gd.thetas, *gf.thetas))
    eta, last = gd.step, int(gd.iterations[-1])
    grid = torch.arange(last + 1, dtype=_F64) * eta
    M = integral_at(curvature.times, curvature.lambda_min, grid)  # M_j = int_0^{j eta} m
    # sum_{j<k} exp(M_{j+1} - M_k) = exp(logsumexp(M_1..M_k) - M_k), and 0 for k = 0
    log_sums = torch.cat([torch.tensor([-math.inf], dtype=_F64), torch.logcumsumexp(M[1:], 0)])
    ks = gd.iterations
    bound = eta**2 * beta * gamma / 2 * torch.exp(log_sums[ks] - M[ks])
    negative = integral_at(curvature.times, curvature.lambda_min.clamp(max=0.0), gd.times)
    closed = tracking_bound(gd.times, eta, beta, gamma, negative)
    holds = bool((gap <= bound * (1 + 1e-9) + 1e-15).all())
    return ApproximationBound(gd.times, gap, bound, closed, beta, gamma, holds)


# -- the hilltop and the bowl: f = (lam / 2) theta^2 ------------------------------------------------------


def scalar_gap(lam, theta0, eta, t) -> float:
    r"""Exact :math:`|\theta(t) - \theta_{t/\eta}|` on :math:`f(\theta) = \frac\lambda2\theta^2`.

    GF gives :math:`\theta_0 e^{-\lambda t}`, GD gives :math:`\theta_0(1 - \eta\lambda)^{t/\eta}` (for
    :math:`t/\eta` not an integer, the natural interpolation). Needs :math:`1 - \eta\lambda > 0`.
    With :math:`\lambda = -m` this is the hilltop :math:`f = -\frac m2\theta^2`.
    """
    lam, theta0 = real("lam", lam), real("theta0", theta0)
    eta, t = real("eta", eta, positive=True), real("t", t, nonnegative=True)
    if 1 - eta * lam <= 0:
        raise ValueError(f"need 1 - eta * lam > 0 (GD must not overshoot), got eta = {eta}, lam = {lam}")
    gf = _exp(-lam * t)
    gd = _exp(t / eta * math.log1p(-eta * lam))
    if math.isinf(gf) or math.isinf(gd):  # both runs grow past the float range: so does their gap
        return math.inf if theta0 else 0.0
    return abs(theta0) * abs(gf - gd)


def scalar_gap_estimate(m, theta0, eta, t) -> float:
    r"""First-order gap on the hilltop :math:`f = -\frac m2\theta^2`: :math:`\theta_0 e^{mt}\,\eta m^2 t/2`
    (``inf`` past the float range).

    From :math:`(1 + \eta m)^{t/\eta} = \exp\big(mt - \eta m^2 t/2 + \eta^2 m^3 t/3 - \dots\big)`; the
    estimate exceeds the exact gap by the relative amount :math:`\approx \eta m(2/3 + mt/4)`.
    """
    m, theta0 = real("m", m), real("theta0", theta0)
    eta, t = real("eta", eta, positive=True), real("t", t, nonnegative=True)
    if not (theta0 and m and t):
        return 0.0
    try:
        gap = abs(theta0) * _exp(m * t) * eta * m**2 * t / 2
    except OverflowError:  # m**2
        gap = math.nan
    if math.isfinite(gap) and gap > 0:
        return gap
    # an intermediate left the float range (inf * 0 is NaN): the same product in logs; inf past the range
    return _exp(math.log(abs(theta0)) + m * t + math.log(eta) + 2 * math.log(abs(m)) + math.log(t) - math.log(2))


def step_for_accuracy(lam, theta0, t, eps) -> float:
    r"""The largest :math:`\eta` with :func:`scalar_gap` :math:`\le` ``eps`` at time ``t`` (bisection).

    The gap increases with :math:`\eta`. For :math:`\lambda > 0` the search stops at :math:`\eta = 1/\lambda`
    (beyond it GD oscillates), returned if the gap stays below ``eps`` up to there; for
    :math:`\lambda \le 0`, ``inf`` means every step keeps the gap below ``eps``.
    """
    lam, theta0 = real("lam", lam), real("theta0", theta0)
    t, eps = real("t", t, nonnegative=True), real("eps", eps, positive=True)
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


# -- curvature of deep linear networks --------------------------------------------------------------------


def hessian_lower_bound(layers: Sequence[torch.Tensor], grad_phi: torch.Tensor) -> float:
    r"""The book's bound :math:`\lambda_{\min}(\nabla^2 f) \ge -(N-1)\,\|\nabla\varphi\|_F\,\max_{i<j}
    \prod_{k\notin\{i,j\}}\|W_k\|_2` for :math:`f = \varphi(W_N\cdots W_1)`, :math:`\varphi` convex
    (``grad_phi`` is :math:`\nabla\varphi` at the end-to-end matrix; an empty product is 1; 0 for :math:`N = 1`)."""
    if isinstance(layers, (torch.Tensor, str)) or not isinstance(layers, Sequence):
        raise TypeError(f"layers must be a sequence of 2-D tensors W_1, ..., W_N, got {show(layers)}")
    for k, W in enumerate(layers):
        if not torch.is_tensor(W) or W.dim() != 2 or not W.is_floating_point():
            raise TypeError(f"layers[{k}] must be a 2-D floating-point tensor, got {show(W)}")
        if not torch.isfinite(W).all():
            raise ValueError(f"layers[{k}] must be finite")
        if k and W.shape[1] != layers[k - 1].shape[0]:
            raise ValueError(
                f"layers[{k}] of shape {tuple(W.shape)} cannot follow layers[{k - 1}] of shape "
                f"{tuple(layers[k - 1].shape)} in the product W_N...W_1"
            )
    if len(layers) == 0:
        raise ValueError("layers must hold at least one matrix W_1")
    if not torch.is_tensor(grad_phi) or grad_phi.dim() != 2:
        raise TypeError(f"grad_phi must be a 2-D tensor (the gradient of phi at W_N...W_1), got {show(grad_phi)}")
    end = (layers[-1].shape[0], layers[0].shape[1])
    if tuple(grad_phi.shape) != end or not torch.isfinite(grad_phi).all():
        raise ValueError(f"grad_phi must be finite with the shape {end} of W_N...W_1, got {show(grad_phi)}")
    N = len(layers)
    if N < 2:
        return 0.0
    norms = [float(torch.linalg.matrix_norm(W, ord=2)) for W in layers]
    best = max(math.prod(norms[k] for k in range(N) if k not in (i, j)) for i in range(N) for j in range(i + 1, N))
    return -(N - 1) * float(torch.linalg.matrix_norm(grad_phi)) * best


def balanced_scalar_bound(grad_phi_norm, grad_f_norm, depth) -> float:
    r"""The balanced scalar-output corollary
    :math:`\lambda_{\min} \ge -(N-1)\|\nabla\varphi\|^{1/(N-1)}\|\nabla f\|^{(N-2)/(N-1)}` (0 for :math:`N < 2`)."""
    a = real("grad_phi_norm", grad_phi_norm, nonnegative=True)
    b = real("grad_f_norm", grad_f_norm, nonnegative=True)
    N = integer("depth", depth, minimum=1)
    if N < 2:
        return 0.0
    return -(N - 1) * a ** (1 / (N - 1)) * b ** ((N - 2) / (N - 1))
