r"""Solving initial value problems :math:`y' = F(t, y),\ y(t_0) = y_0` over torch tensors.

One entry point, :func:`odeint`, for every method in :data:`gfteach.butcher.METHODS`:

* **fixed step** (``step=h``): :math:`y_{n+1} = y_n + h\sum_i b_i k_i` on the grid
  :math:`t_n = t_0 + nh`; the requested times must lie on that grid. With ``method="euler"`` and
  :math:`F = -\nabla f` this is *exactly* gradient descent with learning rate :math:`h`
  (the same floating-point operations as ``torch.optim.SGD``).
* **adaptive** (``step=None``, embedded pairs only): the textbook controller of Hairer, Nørsett &
  Wanner (*Solving ODEs I*, §II.4). A step is accepted when the scaled error estimate
  :math:`\mathrm{err} = \mathrm{rms}\big(h\sum_i e_i k_i / (\mathrm{atol} + \mathrm{rtol}\max(|y_n|, |y_{n+1}|))\big)
  \le 1`, and the next step is :math:`h \cdot \min(10, \max(0.2, 0.9\,\mathrm{err}^{-1/(q+1)}))`
  with :math:`q` the embedded order. Output at the requested times comes from the method's dense
  output, so asking for many times costs no extra function evaluations.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import torch

from .butcher import Tableau, get_method

__all__ = ["odeint", "ODESolution", "IntegrationError"]

SAFETY, MIN_FACTOR, MAX_FACTOR = 0.9, 0.2, 10.0


class IntegrationError(RuntimeError):
    """The solver could not continue: the solution became non-finite, or steps became too small.

    ``t`` is the time reached and ``solution`` the output computed up to then (an
    :class:`ODESolution` holding the requested times ``<= t``).
    """

    def __init__(self, message: str, t: float, solution: ODESolution):
        super().__init__(message)
        self.t = t
        self.solution = solution


@dataclass
class ODESolution:
    """Output of :func:`odeint`.

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


def _as_times(t) -> torch.Tensor:
    if isinstance(t, torch.Tensor):
        t = t.detach().cpu()
    times = torch.as_tensor(t, dtype=torch.float64).reshape(-1)
    if times.numel() < 1 or not torch.isfinite(times).all():
        raise ValueError(f"t must be a non-empty sequence of finite times, got {t!r}")
    if times.numel() > 1 and not (times[1:] > times[:-1]).all():
        raise ValueError("t must be strictly increasing (t[0] is the initial time)")
    return times


def _check_y0(y0) -> torch.Tensor:
    if not isinstance(y0, torch.Tensor):
        raise TypeError(f"y0 must be a torch.Tensor, got {type(y0).__name__}")
    if not y0.is_floating_point():
        raise TypeError(f"y0 must have a floating dtype (float64 recommended), got {y0.dtype}")
    if not torch.isfinite(y0).all():
        raise ValueError("y0 must be finite; it contains NaN or inf")
    return y0.detach()


def odeint(
    fun: Callable[[float, torch.Tensor], torch.Tensor],
    y0: torch.Tensor,
    t: Sequence[float] | torch.Tensor,
    method: str | Tableau = "dopri5",
    *,
    step: float | None = None,
    rtol: float = 1e-6,
    atol: float = 1e-9,
    first_step: float | None = None,
    max_steps: int = 1_000_000,
) -> ODESolution:
    """Solve :math:`y' = F(t, y)` from ``y(t[0]) = y0`` and return the solution at every time in ``t``.

    :param fun: ``F(t, y)`` with ``t`` a Python float and ``y`` shaped like ``y0``; returns the same shape.
    :param y0: initial state, a floating-point tensor of any shape.
    :param t: strictly increasing output times; ``t[0]`` is the initial time.
    :param method: a name from :data:`gfteach.butcher.METHODS` (``euler``, ``heun``, ``midpoint``,
        ``rk4``, ``bs23``, ``dopri5``) or a :class:`~gfteach.butcher.Tableau`.
    :param step: fixed step size :math:`h > 0`; ``None`` selects adaptive stepping (embedded pairs only).
    :param rtol: relative tolerance of the adaptive controller (> 0).
    :param atol: absolute tolerance of the adaptive controller (> 0).
    :param first_step: initial step of the adaptive controller (default: Hairer's automatic choice).
    :param max_steps: give up (``IntegrationError``) after this many steps.
    """
    tab = get_method(method)
    y0 = _check_y0(y0)
    times = _as_times(t)
    if not (isinstance(max_steps, int) and max_steps > 0):
        raise ValueError(f"max_steps must be a positive integer, got {max_steps!r}")
    shape = y0.shape

    def rhs(tt: float, y: torch.Tensor) -> torch.Tensor:
        return fun(tt, y.view(shape)).reshape(-1)

    if y0.dim() == 1:
        rhs = fun  # noqa: F811  (the common case needs no reshaping: views cost microseconds per call)

    run = _Run(rhs, y0.reshape(-1).clone(), times, tab, max_steps, shape)
    if step is not None:
        if not (isinstance(step, (int, float)) and math.isfinite(step) and step > 0):
            raise ValueError(f"step must be a positive finite number, got {step!r}")
        run.fixed(float(step))
    else:
        if not tab.adaptive:
            raise ValueError(
                f"method {tab.name!r} has no embedded error estimate, so it cannot choose its own steps: "
                "pass step=h, or use an adaptive method ('bs23', 'dopri5')"
            )
        for name, tol in (("rtol", rtol), ("atol", atol)):
            if not (math.isfinite(tol) and tol > 0):
                raise ValueError(f"{name} must be a positive finite number, got {tol!r}")
        if first_step is not None and not (math.isfinite(first_step) and first_step > 0):
            raise ValueError(f"first_step must be a positive finite number, got {first_step!r}")
        run.adaptive(rtol, atol, first_step)
    return run.solution()


def _rms(x: torch.Tensor) -> float:
    return float(torch.linalg.vector_norm(x)) / math.sqrt(x.numel())


class _Run:
    """State of one integration: the current point, the stage buffer, and the outputs so far."""

    def __init__(self, rhs, y, times, tab: Tableau, max_steps: int, shape: torch.Size):
        self.rhs, self.y, self.times, self.tab, self.max_steps, self.shape = rhs, y, times, tab, max_steps, shape
        self.c = [float(ci) for ci in tab.c]
        self.t = float(times[0])
        dt = {"dtype": y.dtype, "device": y.device}
        self.A = torch.as_tensor(tab.A, **dt)
        self.b = torch.as_tensor(tab.b, **dt)
        self.e = None if tab.error is None else torch.as_tensor(tab.error, **dt)
        self.P = None if tab.dense is None else torch.as_tensor(tab.dense, **dt)
        self.K = torch.empty(tab.stages + 1, y.numel(), **dt)
        # views made once: slicing inside the step loop costs more than the arithmetic
        self.K_rows = list(self.K)
        self.K_upto = [self.K[:i].T for i in range(tab.stages + 2)]
        self.A_rows = [self.A[i, :i] for i in range(tab.stages)]
        self.out = [y.clone()]
        self.nfev = self.nsteps = self.nrejected = 0
        self.step_times: list[float] = []
        self.step_sizes: list[float] = []

    def f(self, t: float, y: torch.Tensor) -> torch.Tensor:
        self.nfev += 1
        return self.rhs(t, y)

    def stages(self, h: float) -> torch.Tensor:
        """Fill ``K[1:s]`` given ``K[0] = F(t, y)``; return :math:`y + h\\sum_i b_i k_i`."""
        rows, upto, A, c, t, y, s = self.K_rows, self.K_upto, self.A_rows, self.c, self.t, self.y, self.tab.stages
        for i in range(1, s):
            rows[i].copy_(self.f(t + c[i] * h, y.add(torch.mv(upto[i], A[i]), alpha=h)))
        # y.add(., alpha=h) is the very operation torch.optim.SGD applies, so Euler on -grad == GD.
        return y.add(torch.mv(upto[s], self.b), alpha=h)

    def fail(self, why: str):
        raise IntegrationError(f"{why} at t = {self.t:.6g} (step {self.nsteps})", self.t, self.solution())

    def fixed(self, h: float):
        t0, times = self.t, self.times
        n_at = torch.round((times - t0) / h).to(torch.int64).tolist()
        for i, (n, tt) in enumerate(zip(n_at, times.tolist())):
            if abs(t0 + n * h - tt) > 1e-9 * max(1.0, abs(tt), abs(h)):
                raise ValueError(
                    f"t[{i}] = {tt:.6g} is not on the fixed-step grid t[0] + n*step (step = {h:.6g}); "
                    "choose output times that are multiples of step from t[0], or use an adaptive method"
                )
        if n_at[-1] > self.max_steps:
            raise ValueError(f"step = {h:.6g} needs {n_at[-1]} steps, more than max_steps = {self.max_steps}")
        wanted = iter(n_at[1:])
        target = next(wanted, None)
        for n in range(1, n_at[-1] + 1):
            self.K_rows[0].copy_(self.f(self.t, self.y))
            y_new = self.stages(h)
            if not math.isfinite(float(y_new.sum())):  # one reduction: NaN and inf propagate into the sum
                self.fail("the solution became non-finite (the step may be beyond the stability limit)")
            self.y, self.t = y_new, t0 + n * h
            self.nsteps += 1
            while target == n:
                self.out.append(self.y.clone())
                target = next(wanted, None)

    def initial_step(self, rtol: float, atol: float, f0: torch.Tensor) -> float:
        """Hairer, Nørsett & Wanner I, §II.4: a step whose Euler error is about 1% of the scale."""
        scale = atol + rtol * self.y.abs()
        d0, d1 = _rms(self.y / scale), _rms(f0 / scale)
        h0 = 1e-6 if d0 < 1e-5 or d1 < 1e-5 else 0.01 * d0 / d1
        h0 = min(h0, float(self.times[-1]) - self.t)
        f1 = self.f(self.t + h0, self.y + h0 * f0)
        d2 = _rms((f1 - f0) / scale) / h0
        q = self.tab.error_order
        h1 = max(1e-6, h0 * 1e-3) if max(d1, d2) <= 1e-15 else (0.01 / max(d1, d2)) ** (1 / (q + 1))
        return min(100 * h0, h1)

    def adaptive(self, rtol: float, atol: float, first_step: float | None):
        K, s, t_end, rows, e = self.K, self.tab.stages, float(self.times[-1]), self.K_rows, self.e
        rows[0].copy_(self.f(self.t, self.y))
        h = first_step if first_step is not None else self.initial_step(rtol, atol, rows[0])
        exponent = -1.0 / (self.tab.error_order + 1)
        next_out, out_times = 1, self.times.tolist()
        while self.t < t_end:
            if self.nsteps >= self.max_steps:
                self.fail(f"max_steps = {self.max_steps} reached")
            rejected = False
            while True:
                if h < 10 * (math.nextafter(self.t, math.inf) - self.t):
                    self.fail("the step size became too small (the solution may be blowing up)")
                h = min(h, t_end - self.t)
                y_new = self.stages(h)
                rows[s].copy_(self.f(self.t + h, y_new))
                scale = torch.maximum(self.y.abs(), y_new.abs()).mul_(rtol).add_(atol)
                err = h * _rms(torch.mv(K.T, e).div_(scale))
                if err <= 1.0:
                    break
                factor = MIN_FACTOR if not math.isfinite(err) else max(MIN_FACTOR, SAFETY * err**exponent)
                h *= factor
                rejected = True
                self.nrejected += 1
            t_new = self.t + h
            # dense output for every requested time in (t, t_new]
            hits = []
            while next_out < len(out_times) and out_times[next_out] <= t_new:
                hits.append(out_times[next_out])
                next_out += 1
            if hits:
                x = (torch.tensor(hits, dtype=y_new.dtype, device=y_new.device) - self.t) / h
                powers = x[:, None] ** torch.arange(1, self.P.shape[1] + 1, device=x.device)
                Q = K.T @ self.P  # (n, d)
                self.out.extend(self.y + h * (powers @ Q.T))
                if hits[-1] == t_new:
                    self.out[-1] = y_new.clone()
            self.step_times.append(self.t)
            self.step_sizes.append(h)
            self.nsteps += 1
            self.y, self.t = y_new, t_new
            rows[0].copy_(rows[s])  # first same as last
            factor = MAX_FACTOR if err == 0 else min(MAX_FACTOR, SAFETY * err**exponent)
            h *= min(1.0, factor) if rejected else factor

    def solution(self) -> ODESolution:
        return ODESolution(
            t=self.times[: len(self.out)].clone(),
            y=torch.stack(self.out).reshape(len(self.out), *self.shape),
            method=self.tab.name,
            nfev=self.nfev,
            nsteps=self.nsteps,
            nrejected=self.nrejected,
            step_times=self.step_times,
            step_sizes=self.step_sizes,
        )
