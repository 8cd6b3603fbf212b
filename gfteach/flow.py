r"""Gradient flow, gradient descent, and the distance between them.

*Gradient flow* (GF) is the ODE :math:`\theta'(t) = -\nabla f(\theta(t))`, :math:`\theta(0) = \theta_0`;
:func:`gradient_flow` solves it with :func:`gfteach.ode.odeint` (adaptive Dormand–Prince by default),
so its error is controlled by ``rtol``/``atol`` rather than by a step size.

*Gradient descent* (GD) with step :math:`\eta`,

.. math:: \theta_{k+1} = \theta_k - \eta\,\nabla f(\theta_k),

is the explicit Euler method for GF on the grid :math:`t_k = k\eta`. :func:`gradient_descent`
performs exactly the floating-point operations of ``torch.optim.SGD(lr=eta)``, so both produce the
same bits. :func:`distance` compares iterate :math:`k` with the flow at time :math:`k\eta`.

A run whose loss or parameters stop being finite has *diverged*: it stops there and returns a
:class:`Trajectory` flagged ``diverged=True`` saying where (with a :class:`DivergenceWarning`), or
raises :class:`DivergenceError` with ``on_divergence="raise"``. It never returns silent NaNs.
"""

from __future__ import annotations

import contextlib
import warnings
from dataclasses import dataclass

import torch

from ._checks import allocation, choice, flag, integer, real, show, times
from .objective import as_objective
from .ode import IntegrationError, odeint

__all__ = [
    "Trajectory",
    "gradient_flow",
    "gradient_descent",
    "distance",
    "gd_time_grid",
    "DivergenceError",
    "DivergenceWarning",
]


_UNDEFINED = "f is not differentiable there, e.g. sqrt or abs at 0, or a NaN gradient from torch.where"


class DivergenceWarning(RuntimeWarning):
    """A run diverged; the returned trajectory stops where it did."""


class DivergenceError(RuntimeError):
    """A run diverged and ``on_divergence="raise"`` was asked; ``trajectory`` holds the finite part."""

    def __init__(self, message: str, trajectory: Trajectory):
        super().__init__(message)
        self.trajectory = trajectory


@dataclass
class Trajectory:
    r"""A recorded optimization path: :math:`\theta(t_i)` and :math:`f(\theta(t_i))` at times :math:`t_i`.

    ``kind`` is ``"gf"`` (gradient flow) or ``"gd"`` (gradient descent, then ``step`` is :math:`\eta`,
    ``iterations`` the recorded indices :math:`k` and ``times`` is :math:`k\eta`). ``n_grad`` counts the
    gradient evaluations the run cost. If the run diverged, ``diverged_at`` is the time (and, for GD,
    ``diverged_step`` the iterate) where the loss or the parameters first stopped being finite.
    For GD, ``iterate_losses[k]`` is the loss at *every* iterate :math:`k` (recorded or not; it costs
    nothing, the loss comes with the gradient), so loss curves need no ``record_every=1``. ``times``, ``thetas``
    and ``losses`` must be finite (a diverged run keeps its finite part) and ``times`` strictly increasing.
    """

    times: torch.Tensor
    thetas: torch.Tensor
    losses: torch.Tensor
    kind: str
    n_grad: int
    step: float | None = None
    iterations: torch.Tensor | None = None
    method: str | None = None
    diverged: bool = False
    diverged_at: float | None = None
    diverged_step: int | None = None
    message: str = ""
    iterate_losses: torch.Tensor | None = None

    def __post_init__(self):
        choice("kind", self.kind, ("gf", "gd"))
        for name, dim in (("times", 1), ("thetas", 2), ("losses", 1)):
            value = getattr(self, name)
            if not torch.is_tensor(value) or value.dim() != dim:
                raise TypeError(f"Trajectory {name} must be a {dim}-D tensor, got {show(value)}")
        n = len(self.times)
        if len(self.thetas) != n or len(self.losses) != n:
            raise ValueError(
                f"Trajectory needs one parameter vector and one loss per time: {n} times, "
                f"{len(self.thetas)} thetas, {len(self.losses)} losses"
            )
        for name in ("times", "thetas", "losses"):
            if not torch.isfinite(getattr(self, name)).all():
                raise ValueError(f"Trajectory {name} must be finite (a diverged run keeps its finite part): NaN or inf")
        down = (self.times[1:] <= self.times[:-1]).nonzero()
        if len(down):
            i, t = int(down[0]) + 1, self.times.tolist()
            raise ValueError(f"Trajectory times must be strictly increasing, got times[{i}] = {t[i]:.6g} after "
                             f"times[{i - 1}] = {t[i - 1]:.6g}")  # fmt: skip

    def __len__(self) -> int:
        return len(self.times)

    @property
    def theta_final(self) -> torch.Tensor:
        """The last recorded parameters."""
        return self.thetas[-1]


def gd_time_grid(step: float, steps: int, record_every: int = 1) -> torch.Tensor:
    r"""The times :math:`k\eta` at which :func:`gradient_descent` records iterates.

    Pass it as ``t_eval`` to :func:`gradient_flow` so that :func:`distance` can match the two runs.
    """
    step = _check_step(step)
    steps, record_every = _recorded(steps, record_every)
    ks = torch.arange(0, steps + 1, record_every)
    ks = ks if ks[-1] == steps else torch.cat([ks, torch.tensor([steps])])
    return ks.to(torch.float64) * step


def _recorded(steps, record_every, per_record: int = 1, per_step: int = 0) -> tuple[int, int]:
    """``steps`` and ``record_every`` checked; recording ``per_record`` numbers at each recorded iterate and
    ``per_step`` at every iterate is refused beyond the package's allocation limit, before allocating."""
    steps, record_every = integer("steps", steps, minimum=0), integer("record_every", record_every, minimum=1)
    records = steps // record_every + 1 + (steps % record_every != 0)
    what = f"{records} recorded iterates (record_every = {record_every}) of {per_record} entries"
    allocation("steps", records * per_record + (steps + 1) * per_step, what + f" and {steps + 1} losses" * per_step)
    return steps, record_every


def _check_step(step) -> float:
    return real("step", step, positive=True)


def _check_mode(on_divergence: str) -> str:
    return choice("on_divergence", on_divergence, ("warn", "raise"))


def _finish(trajectory: Trajectory, on_divergence: str) -> Trajectory:
    if trajectory.diverged:
        if on_divergence == "raise":
            raise DivergenceError(trajectory.message, trajectory)
        warnings.warn(trajectory.message, DivergenceWarning, stacklevel=3)
    return trajectory


def _progress(total: int, desc: str, enabled: bool | None):
    """A tqdm bar (``tqdm.auto``; ``enabled=None`` lets tqdm switch itself off where the output is no
    terminal or notebook), or a no-op when ``enabled`` is ``False``."""
    if enabled is False:
        return contextlib.nullcontext(None)
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, disable=None, leave=False, mininterval=0.5)


def gradient_descent(
    obj,
    theta0: torch.Tensor,
    step: float,
    steps: int,
    record_every: int = 1,
    *,
    on_divergence: str = "warn",
    progress: bool | None = False,
    desc: str = "gradient descent",
) -> Trajectory:
    r"""Run :math:`\theta_{k+1} = \theta_k - \eta\nabla f(\theta_k)` for ``steps`` steps from ``theta0``.

    Records iterates :math:`k = 0, r, 2r, \dots` (``r = record_every``) and always the last one, and the
    loss at every iterate (``iterate_losses``). The update is ``theta.add(grad, alpha=-step)``, the
    operation of ``torch.optim.SGD``, so the iterates equal SGD's bit for bit. ``obj`` is an
    :class:`~gfteach.objective.Objective` or a callable :math:`f(\theta)`. Costs ``steps`` gradient
    evaluations. ``progress=True`` shows a progress bar (``None``: only where tqdm can draw one).
    """
    obj = as_objective(obj)
    step = _check_step(step)
    _check_mode(on_divergence)
    flag("progress", progress, allow_none=True)
    if not isinstance(desc, str):
        raise TypeError(f"desc must be a str (the progress bar's label), got {show(desc)}")
    theta = obj.check_vector(theta0, "theta0").clone()
    steps, every = _recorded(steps, record_every, theta.numel(), 1)
    grads_before = obj.n_grad
    ks, thetas, losses = [], [], []
    failure = grad = None
    with _progress(steps, desc, progress) as bar:
        for k in range(steps + 1):
            if not torch.isfinite(theta).all():
                failure = (k, "the parameters became non-finite")
                if grad is not None and not torch.isfinite(grad).all():
                    failure = (k, f"the gradient at iterate {k - 1} was not finite ({_UNDEFINED})")
                break
            if k == steps:
                value = obj._value(theta)
            else:
                value, grad = obj._value_and_grad(theta)
            if not torch.isfinite(value):
                failure = (k, "the loss became non-finite")
                break
            losses.append(value)
            if k % every == 0 or k == steps:
                ks.append(k)
                thetas.append(theta)
            if k < steps:
                theta = theta.add(grad, alpha=-step)
                if bar is not None:
                    bar.update(1)
    if not losses:
        raise ValueError("the loss at theta0 is not finite")
    trajectory = _gd_trajectory(ks, thetas, losses, step, obj.n_grad - grads_before)
    if failure is not None:
        k, why = failure
        trajectory.diverged, trajectory.diverged_step, trajectory.diverged_at = True, k, k * step
        trajectory.message = f"gradient descent diverged: {why} at iterate k = {k} (t = k*step = {k * step:.6g})"
        if "gradient" not in why:
            trajectory.message += f"; step = {step:.6g} may exceed the stability limit 2/lambda_max"
    return _finish(trajectory, on_divergence)


def _gd_trajectory(ks, thetas, losses, step, n_grad) -> Trajectory:
    iterations = torch.tensor(ks, dtype=torch.int64)
    all_losses = torch.stack(losses)
    return Trajectory(
        times=iterations.to(torch.float64) * step,
        thetas=torch.stack(thetas),
        losses=all_losses[iterations.to(all_losses.device)],
        kind="gd",
        n_grad=n_grad,
        step=step,
        iterations=iterations,
        method="euler",
        iterate_losses=all_losses,
    )


def gradient_flow(
    obj,
    theta0: torch.Tensor,
    t_eval,
    method: str = "dopri5",
    rtol: float = 1e-8,
    atol: float = 1e-10,
    step: float | None = None,
    *,
    on_divergence: str = "warn",
    max_steps: int = 100_000,
) -> Trajectory:
    r"""Solve :math:`\theta' = -\nabla f(\theta)` from ``theta0`` and record it at the times ``t_eval``.

    ``t_eval`` is strictly increasing and ``t_eval[0]`` is the initial time (use
    :func:`gd_time_grid` to compare with a GD run; a single time returns ``theta0``).
    ``method``/``rtol``/``atol``/``step``/``max_steps`` are passed to :func:`gfteach.ode.odeint`
    (``step=None``: adaptive). ``n_grad`` of the result counts the gradient evaluations, i.e. the ODE
    right-hand-side evaluations. A flow that blows up, or whose gradient stops being finite, has
    diverged (see the module); one that needs more than ``max_steps`` steps raises
    :class:`~gfteach.solution.IntegrationError`, a stiff one (Hessian eigenvalues so large that the explicit
    method's steps are limited by stability) :class:`~gfteach.solution.StiffnessError` naming the stable step.
    """
    obj = as_objective(obj)
    theta0 = obj.check_vector(theta0, "theta0")
    grid = times("t_eval", t_eval)
    _check_mode(on_divergence)
    max_steps = integer("max_steps", max_steps, minimum=1)
    loss0 = obj._value(theta0)
    if not torch.isfinite(loss0):
        raise ValueError("the loss at theta0 is not finite")
    grads_before = obj.n_grad

    def velocity(t: float, theta: torch.Tensor) -> torch.Tensor:
        return -obj._value_and_grad(theta)[1]

    failure = None
    try:
        solution = odeint(velocity, theta0, grid, method, step=step, rtol=rtol, atol=atol, max_steps=max_steps)
    except IntegrationError as error:
        if error.reason == "nonsmooth":
            raise IntegrationError(
                f"gradient flow stopped at t = {error.t:.6g}: the gradient of f is not smooth or is singular "
                "along the path (f is not differentiable there, e.g. abs, ReLU or sqrt at 0: the flow reaches a "
                f"kink, and -grad f flips sign across it), so the steps collapsed ({error})",
                error.t,
                error.solution,
                "nonsmooth",
            ) from None
        if error.reason not in ("nonfinite", "step_too_small"):
            raise  # the step budget, stiffness: not a divergence
        why = str(error).replace("fun returned", "the gradient was")
        if error.reason == "nonfinite" and error.solution.nsteps == 0:
            why = f"the gradient at theta0 is not finite ({_UNDEFINED})"
        solution, failure = error.solution, (error.t, why)
    losses = torch.stack([loss0, *(obj._value(theta) for theta in solution.y[1:])])
    bad = (~torch.isfinite(losses)).nonzero()
    if len(bad):
        first = int(bad[0])
        failure = failure or (float(solution.t[first]), "the loss became non-finite")
        solution.t, solution.y, losses = solution.t[:first], solution.y[:first], losses[:first]
    trajectory = Trajectory(
        times=solution.t,
        thetas=solution.y,
        losses=losses,
        kind="gf",
        n_grad=obj.n_grad - grads_before,
        method=solution.method,
    )
    if failure is not None:
        trajectory.diverged, trajectory.diverged_at = True, failure[0]
        trajectory.message = f"gradient flow diverged at t = {failure[0]:.6g}: {failure[1]}"
    return _finish(trajectory, on_divergence)


def distance(a: Trajectory, b: Trajectory, rtol: float = 1e-9) -> torch.Tensor:
    r""":math:`\|\theta_a(t) - \theta_b(t)\|_2` at every recorded time :math:`t` of ``a``.

    Typically ``a`` is a GD run and ``b`` a GF run, so iterate :math:`k` meets time :math:`k\eta`.
    Every time of ``a`` must be among ``b``'s (to within ``rtol * max(1, |t|)``); otherwise this
    raises, naming the first missing time: build ``b`` with ``t_eval=gd_time_grid(...)``.
    """
    for name, run in (("a", a), ("b", b)):
        if not isinstance(run, Trajectory):
            raise TypeError(f"{name} must be a Trajectory, got {show(run)}")
        if len(run) == 0:
            raise ValueError(f"{name} must hold at least one recorded point, got an empty trajectory")
        if len(run) > 1 and not bool((run.times[1:] > run.times[:-1]).all()):
            raise ValueError(f"{name}.times must be strictly increasing (a recorded run), got {show(run.times)}")
    rtol = real("rtol", rtol, nonnegative=True)
    if a.thetas.shape[1:] != b.thetas.shape[1:]:
        raise ValueError(
            f"a and b must have the same number of parameters, got {a.thetas.shape[1]} and {b.thetas.shape[1]}"
        )
    index = torch.searchsorted(b.times, a.times).clamp(max=len(b.times) - 1)
    below = (index - 1).clamp(min=0)
    nearest = torch.where((b.times[below] - a.times).abs() < (b.times[index] - a.times).abs(), below, index)
    mismatch = (b.times[nearest] - a.times).abs() > rtol * a.times.abs().clamp(min=1.0)
    if mismatch.any():
        t = float(a.times[mismatch.nonzero()[0]])
        raise ValueError(
            f"time t = {t:.6g} of the first trajectory is not among the second's times; "
            "record the second at the same times (e.g. gradient_flow(..., t_eval=gd_time_grid(step, steps)))"
        )
    return torch.linalg.vector_norm(a.thetas - b.thetas[nearest].to(a.thetas), dim=1)
