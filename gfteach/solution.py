"""What an integration returns: the solution, or an error that says where and why the solver stopped.

Kept apart from :mod:`gfteach.ode` (the integrator) so that the results read on their own;
:mod:`gfteach.ode` re-exports every name.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

__all__ = ["ODESolution", "IntegrationError", "StiffnessError"]


class IntegrationError(RuntimeError):
    """The solver could not continue: the solution or the derivative became non-finite, the steps became
    too small, or the step budget ran out.

    ``t`` is the time reached, ``solution`` the output computed up to then (an :class:`ODESolution`
    holding the requested times ``<= t``) and ``reason`` one of ``"nonfinite"``, ``"step_too_small"``,
    ``"nonsmooth"``, ``"max_steps"`` or ``"stiff"``.
    """

    def __init__(self, message: str, t: float, solution: ODESolution, reason: str = ""):
        super().__init__(message)
        self.t, self.solution, self.reason = t, solution, reason


class StiffnessError(IntegrationError):
    r"""The problem is stiff: the step is limited by stability, not accuracy, and the steps still needed
    exceed the budget. ``lam`` estimates :math:`|\lambda|` (the Jacobian's stiff eigenvalue), ``stable_step``
    the largest stable step and ``steps_needed`` the steps left to reach the last time."""

    def __init__(self, message, t, solution, lam: float, stable_step: float, steps_needed: float):
        super().__init__(message, t, solution, "stiff")
        self.lam, self.stable_step, self.steps_needed = lam, stable_step, steps_needed


@dataclass
class ODESolution:
    """Output of :func:`~gfteach.ode.odeint`.

    ``y[i]`` approximates :math:`y(t_i)`; ``nfev`` counts evaluations of ``F``; ``nsteps`` accepted
    and ``nrejected`` rejected steps; ``step_times``/``step_sizes`` list the accepted steps
    (their start times and sizes), which shows how an adaptive method chose its steps.
    """

    t: torch.Tensor
    y: torch.Tensor
    method: str
    nfev: int = 0
    nsteps: int = 0
    nrejected: int = 0
    step_times: list[float] = field(default_factory=list)
    step_sizes: list[float] = field(default_factory=list)
