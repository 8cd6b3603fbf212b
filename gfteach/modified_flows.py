r"""Where gradient descent leaves gradient flow: sharpness, the edge of stability, and modified flows.

**Sharpness and the edge of stability.** Gradient descent (GD) with step :math:`\eta` is Euler's method on
gradient flow (GF); on a quadratic it is stable iff :math:`\eta\lambda_{\max} < 2`. Along a run on a network
the *sharpness* :math:`S(\theta) = \lambda_{\max}(\nabla^2 f(\theta))` changes: it typically rises
("progressive sharpening") until it reaches :math:`2/\eta`, then hovers there, the *edge of stability*
(Cohen et al., ICLR 2021). Measure it with :func:`gfteach.curvature_along` on a GD run;
:func:`edge_crossing` and :func:`hover_sharpness` read the crossing and the level it hovers at.

**Modified flows** are velocities :math:`\theta' = F(\theta)` fed to :func:`gfteach.odeint`, like gradient
flow itself; :func:`modified_flow` integrates one and returns a :class:`~gfteach.flow.Trajectory`. Time is
the course's :math:`t = k\eta`, so iterate :math:`k` of GD meets the flow at :math:`t = k\eta` (use
:func:`gfteach.gd_time_grid` and :func:`gfteach.distance`).

* The *implicit-gradient-regularization* (IGR) flow (Barrett & Dherin, ICLR 2021)

  .. math::

      \theta' = -\nabla\big(f + \tfrac{\eta}{4}\|\nabla f\|^2\big)
              = -\big(\nabla f + \tfrac{\eta}{2}\nabla^2 f\,\nabla f\big)

  matches one GD step to second order (local error :math:`O(\eta^3)`, against :math:`O(\eta^2)` for GF).

* The *central flow* (Cohen, Damian, Talwalkar, Kolter & Lee, ICLR 2025) models GD's time-averaged path at
  the edge of stability. With one eigenvalue at the edge and time counted in steps it reads
  :math:`\frac{d\theta}{dk} = -\eta\big[\nabla f + \tfrac12\sigma^2\nabla S\big]`; in the course's time
  :math:`t = k\eta` the factor :math:`\eta` goes: :math:`\theta' = -\big[\nabla f + \tfrac12\sigma^2\nabla S\big]`,
  where

  .. math::

      \sigma^2 = \max\Big(0,\ \frac{2\langle -\nabla f, \nabla S\rangle}{\|\nabla S\|^2}\Big)
      \quad\text{if } S(\theta) \ge 2/\eta, \qquad \sigma^2 = 0 \quad\text{otherwise}.

  :math:`\sigma^2` is the modelled variance of GD's oscillation along the top eigenvector :math:`u`, so it is
  never negative: off the edge, or where gradient flow itself would lower :math:`S`, the flow is gradient
  flow. On the edge the choice gives :math:`\tfrac{d}{dt}S = \langle\nabla S, \theta'\rangle = 0`: the flow
  slides along :math:`S = 2/\eta`. For a simple top eigenvalue,
  :math:`\nabla S = \nabla_\theta\,(u^\top\nabla^2 f(\theta)\,u) = D^3 f(\theta)[u, u, \cdot\,]`, computed
  by :func:`sharpness_gradient`.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from ._checks import integer, real
from .curvature import CurvatureAlong, extreme_eigenvalues
from .data import digits_subset
from .flow import Trajectory, gd_time_grid
from .objective import FunctionObjective, Objective, as_objective
from .ode import odeint

__all__ = [
    "eos_problem",
    "edge_crossing",
    "hover_sharpness",
    "igr_velocity",
    "sharpness_gradient",
    "CentralVelocity",
    "central_velocity",
    "modified_flow",
    "igr_flow",
    "central_flow",
    "saxe_objective",
    "saxe_mode",
]

Velocity = Callable[[float, torch.Tensor], torch.Tensor]


def eos_problem(n: int = 100, width: int = 16, scale: float = 0.6, seed: int = 0) -> tuple[Objective, torch.Tensor]:
    r"""The chapter's network: a tanh MLP :math:`16 \to` ``width`` :math:`\to 10` without biases
    (:math:`26\cdot` ``width`` parameters, 416 for the default) fitting the one-hot labels of the first ``n``
    digits of :func:`gfteach.data.digits_subset` (8×8 images average-pooled to 4×4) with the mean squared
    error. PyTorch's default initialization (seeded with ``seed``) is multiplied by ``scale``, so that the
    initial sharpness is small (about 1.1 for the defaults) and progressive sharpening has room to show.

    Returns the :class:`~gfteach.objective.Objective` and the initial flat parameters :math:`\theta_0`.
    """
    n, width, seed = integer("n", n, minimum=1), integer("width", width, minimum=1), integer("seed", seed, minimum=0)
    scale = real("scale", scale, positive=True)
    X, y = digits_subset(n=n, size=8, classes=10)
    X = torch.nn.functional.avg_pool2d(X, 2).reshape(n, -1)
    Y = torch.nn.functional.one_hot(y, 10).to(torch.float64)
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        net = torch.nn.Sequential(
            torch.nn.Linear(X.shape[1], width, bias=False), torch.nn.Tanh(), torch.nn.Linear(width, 10, bias=False)
        ).to(torch.float64)
    with torch.no_grad():
        for p in net.parameters():
            p.mul_(scale)
    obj = Objective(net, X, Y)
    return obj, obj.theta0()


def edge_crossing(curvature: CurvatureAlong, step: float) -> int | None:
    r"""The first GD iterate :math:`k` at which the measured sharpness reached :math:`2/\eta` (``None``: never).

    ``curvature`` is :func:`gfteach.curvature_along` of a GD run with step ``step``; its times are :math:`k\eta`."""
    step = real("step", step, positive=True)
    hit = torch.nonzero(curvature.lambda_max >= 2.0 / step)
    return None if len(hit) == 0 else int(round(float(curvature.times[hit[0, 0]]) / step))


def hover_sharpness(curvature: CurvatureAlong, fraction: float = 0.4) -> float:
    """The median of the measured sharpness over the last ``fraction`` of the samples: the level GD hovers at
    once it has reached the edge (the median ignores the overshoot right after the crossing)."""
    fraction = real("fraction", fraction, positive=True)
    if fraction > 1:
        raise ValueError(f"fraction must be in (0, 1], got {fraction!r}")
    values = curvature.lambda_max.numpy()
    m = max(1, int(round(fraction * len(values))))
    return float(np.median(values[-m:]))


def igr_velocity(obj, step: float) -> Velocity:
    r"""The IGR flow's velocity :math:`F(\theta) = -(\nabla f + \tfrac{\eta}{2}\nabla^2 f\,\nabla f)` for
    :math:`\eta =` ``step``, i.e. :math:`-\nabla(f + \tfrac\eta4\|\nabla f\|^2)` since
    :math:`\nabla\tfrac12\|\nabla f\|^2 = \nabla^2 f\,\nabla f`. One gradient graph and one
    Hessian-vector product per evaluation. Returns ``F(t, theta)`` for :func:`gfteach.odeint`."""
    obj, step = as_objective(obj), real("step", step, positive=True)

    def velocity(t: float, theta: torch.Tensor) -> torch.Tensor:
        hvp = obj.hvp_operator(theta)
        g = hvp.gradient
        return -(g + 0.5 * step * hvp(g))

    return velocity


def sharpness_gradient(obj, theta: torch.Tensor, u: torch.Tensor, eps: float = 1e-4) -> torch.Tensor:
    r""":math:`\nabla S = D^3 f(\theta)[u, u, \cdot\,]` for the unit top eigenvector ``u``.

    Since :math:`D^3 f` is symmetric, :math:`D^3 f[u, u, \cdot\,] = \frac{d}{d\epsilon}\nabla^2 f(\theta +
    \epsilon u)\,u\,\big|_{\epsilon = 0}`, computed by the central difference of two Hessian-vector products,
    :math:`\big(\nabla^2 f(\theta + \epsilon u)u - \nabla^2 f(\theta - \epsilon u)u\big)/(2\epsilon)` (error
    :math:`O(\epsilon^2)`; ``u`` is normalized first)."""
    obj, eps = as_objective(obj), real("eps", eps, positive=True)
    u = u / torch.linalg.vector_norm(u)
    return (obj.hvp(theta + eps * u, u) - obj.hvp(theta - eps * u, u)) / (2 * eps)


class CentralVelocity:
    r"""The central flow's velocity for step :math:`\eta` (see the module), callable as ``F(t, theta)``.

    Each evaluation finds the top eigenpair :math:`(S, u)` by Lanczos (:func:`gfteach.extreme_eigenvalues`,
    warm-started from the previous :math:`u`, tolerance ``tol``); on the edge (:math:`S \ge 2/\eta`) it adds
    :math:`\tfrac12\sigma^2\nabla S` with :math:`\sigma^2 \ge 0`. ``evaluations`` and ``on_edge`` count the
    evaluations and those on the edge; ``last_sigma2`` is the latest :math:`\sigma^2`.
    """

    def __init__(self, obj, step: float, *, tol: float = 1e-6, eps: float = 1e-4):
        self.obj, self.step = as_objective(obj), real("step", step, positive=True)
        self.tol, self.eps = real("tol", tol, positive=True), real("eps", eps, positive=True)
        self.threshold = 2.0 / self.step
        self.evaluations = self.on_edge = 0
        self.last_sigma2 = 0.0
        self._u = None

    def sigma2(self, g: torch.Tensor, grad_s: torch.Tensor) -> float:
        r""":math:`\max(0,\ 2\langle -g, \nabla S\rangle/\|\nabla S\|^2)`, the oscillation's variance
        (never negative; 0 where :math:`\nabla S = 0`)."""
        norm2 = float(grad_s @ grad_s)
        return 0.0 if norm2 == 0.0 else max(0.0, 2.0 * float(-(g @ grad_s)) / norm2)

    def __call__(self, t: float, theta: torch.Tensor) -> torch.Tensor:
        self.evaluations += 1
        g = self.obj.grad(theta)
        top = extreme_eigenvalues(self.obj, theta, which="max", v0=self._u, tol=self.tol)
        self._u = top.vector_max
        if top.lambda_max < self.threshold:
            self.last_sigma2 = 0.0
            return -g
        self.on_edge += 1
        grad_s = sharpness_gradient(self.obj, theta, top.vector_max, self.eps)
        self.last_sigma2 = self.sigma2(g, grad_s)
        return -(g + 0.5 * self.last_sigma2 * grad_s)


def central_velocity(obj, step: float, *, tol: float = 1e-6, eps: float = 1e-4) -> CentralVelocity:
    r"""The central flow's velocity for step ``step`` (a :class:`CentralVelocity`), for :func:`gfteach.odeint`."""
    return CentralVelocity(obj, step, tol=tol, eps=eps)


def modified_flow(
    obj,
    theta0: torch.Tensor,
    velocity: Velocity,
    t_eval,
    method: str = "dopri5",
    *,
    step: float | None = None,
    rtol: float = 1e-8,
    atol: float = 1e-10,
) -> Trajectory:
    r"""Integrate :math:`\theta' = F(\theta)` (``velocity``) from ``theta0`` with :func:`gfteach.odeint` and
    record it at the times ``t_eval`` (e.g. :func:`gfteach.gd_time_grid`), with the loss :math:`f` at each.

    ``method``/``step``/``rtol``/``atol`` go to :func:`~gfteach.odeint`. The result is a flow, so its ``kind`` is
    ``"gf"`` (a continuous-time path, compared with GD by :func:`gfteach.distance`); ``n_grad`` counts the
    velocity evaluations.
    """
    obj = as_objective(obj)
    theta0 = obj.check_vector(theta0, "theta0")
    if not callable(velocity):
        raise TypeError(f"velocity must be a function F(t, theta), got {type(velocity).__name__}")
    solution = odeint(velocity, theta0, t_eval, method, step=step, rtol=rtol, atol=atol)
    losses = torch.stack([obj.value(theta) for theta in solution.y])
    return Trajectory(solution.t, solution.y, losses, kind="gf", n_grad=solution.nfev, method=solution.method)


def igr_flow(obj, theta0: torch.Tensor, step: float, t_eval, **options) -> Trajectory:
    r"""The IGR flow for GD step ``step`` from ``theta0`` (:func:`igr_velocity` fed to :func:`modified_flow`)."""
    return modified_flow(obj, theta0, igr_velocity(obj, step), t_eval, **options)


def central_flow(
    obj, theta0: torch.Tensor, step: float, steps: int, *, start: int = 0, substeps: int = 1, tol: float = 1e-4
) -> Trajectory:
    r"""The central flow for GD step ``step`` from ``theta0`` at iterate ``start`` (time ``start`` :math:`\cdot\,\eta`)
    to iterate ``steps``, recorded at the GD times :math:`k\eta` in between.

    Before the edge the central flow *is* gradient flow, so it may be started where gradient flow nears the
    edge (``theta0`` = GF at that time). Integrated by RK4 with ``substeps`` steps of :math:`\eta/`\ ``substeps``
    per GD step: the velocity switches on the edge, which adaptive error control handles poorly, and on the edge
    the flow's sharpness stays at :math:`2/\eta`, where RK4 with step :math:`\eta` is stable
    (:math:`2 < 2.785`). ``tol`` is the Lanczos tolerance of each evaluation.
    """
    step, steps = real("step", step, positive=True), integer("steps", steps, minimum=1)
    start, substeps = integer("start", start, minimum=0), integer("substeps", substeps, minimum=1)
    if start >= steps:
        raise ValueError(f"start must be below steps, got start = {start}, steps = {steps}")
    velocity = central_velocity(obj, step, tol=tol)
    times = gd_time_grid(step, steps)[start:]
    return modified_flow(obj, theta0, velocity, times, "rk4", step=step / substeps)


# -- a flow solved exactly: one mode of a two-layer linear network (Saxe, McClelland & Ganguli, 2014) --------


def saxe_objective(strength: float) -> FunctionObjective:
    r""":math:`f(a, b) = \tfrac12(s - ab)^2` of :math:`\theta = (a, b)`: one mode of a two-layer linear network
    on whitened inputs, with target strength :math:`s` (``strength``) and learned strength :math:`u = ab`.

    Its minima are the hyperbola :math:`ab = s`; there :math:`\nabla^2 f = \begin{pmatrix} b^2 & s\\ s &
    a^2\end{pmatrix}` has eigenvalues :math:`0` and :math:`a^2 + b^2 \ge 2s`, so the flattest minimum is the
    balanced one, :math:`a = b = \sqrt s`, with sharpness :math:`2s`."""
    s = real("strength", strength, positive=True)
    return FunctionObjective(lambda theta: 0.5 * (s - theta[0] * theta[1]) ** 2, 2)


def saxe_mode(t, strength: float, u0: float) -> torch.Tensor:
    r"""The exact gradient flow of the mode strength from a balanced start :math:`a = b = \sqrt{u_0}`:
    :math:`u' = 2u(s - u)`, so

    .. math:: u(t) = \frac{s}{1 + (s/u_0 - 1)\,e^{-2st}},

    a sigmoid: a plateau of length about :math:`\ln(s/u_0)/(2s)`, then a fast rise to :math:`s`."""
    s, u0 = real("strength", strength, positive=True), real("u0", u0, positive=True)
    t = torch.as_tensor(t, dtype=torch.float64)
    return s / (1 + (s / u0 - 1) * torch.exp(-2 * s * t))
