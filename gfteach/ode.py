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

The run cannot hang: NaN/inf in the derivative or the step-size logic ends it with
:class:`~gfteach.solution.IntegrationError` (saying where and why), so does the step budget ``max_steps``; and a *stiff*
problem (the step pinned at the stability limit :math:`h|\lambda| \approx` the method's real stability
limit, detected as Hairer & Wanner do) ends at once with :class:`~gfteach.solution.StiffnessError` when the
stability-limited steps it still needs exceed that budget; a *collapsed* step (a kink, jump or singularity of
``F``: the accepted step stays below ``COLLAPSE`` times the largest one so far, for ``COLLAPSE_COUNT`` steps
in a row, at a pace that cannot reach the last time within the budget) ends it at once with reason
``"nonsmooth"``. What ``F`` returns is checked at every call (shape, dtype, device; detached); so is that ``F``
leaves its argument unmodified (the tensor's version counter, O(1); at the first call, also its values).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch

from ._calls import accepts, in_place
from ._checks import function, integer, real, returned, state, times
from .butcher import Tableau, get_method
from .solution import IntegrationError, ODESolution, StiffnessError

__all__ = ["odeint", "ODESolution", "IntegrationError", "StiffnessError"]

SAFETY, MIN_FACTOR, MAX_FACTOR = 0.9, 0.2, 10.0
#: Stiffness test of Hairer & Wanner (dopri5.f): a step is *stability-limited* when the estimate of
#: :math:`h|\lambda|` exceeds this fraction of the method's real stability limit; after ``STIFF_COUNT`` such
#: steps (with fewer than ``NONSTIFF_RESET`` others in a row) the problem counts as stiff.
STIFF_FRACTION, STIFF_COUNT, NONSTIFF_RESET = 0.9, 15, 6
COLLAPSE, COLLAPSE_COUNT = 1e-4, 200
_NEW = "-y rather than y.neg_() or y.mul_(-1)"


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

    :param fun: ``F(t, y)`` with ``t`` a Python float and ``y`` shaped like ``y0``; returns a new tensor of
        the same shape and dtype (checked at every call: no broadcasting; finite at the first call; ``y`` is
        not modified in place). The result is detached: odeint does not differentiate through the solve.
    :param y0: initial state, a finite floating-point tensor of any shape (an empty one gives an empty solution).
    :param t: strictly increasing output times; ``t[0]`` is the initial time (``t = [t0]`` returns ``y0``).
    :param method: a name from :data:`gfteach.butcher.METHODS` (``euler``, ``heun``, ``midpoint``,
        ``rk4``, ``bs23``, ``dopri5``) or a :class:`~gfteach.butcher.Tableau`.
    :param step: fixed step size :math:`h > 0`; ``None`` selects adaptive stepping (embedded pairs only).
    :param rtol: relative tolerance of the adaptive controller (at least the machine epsilon of ``y0``'s dtype).
    :param atol: absolute tolerance of the adaptive controller (> 0).
    :param first_step: initial step of the adaptive controller (default: Hairer's automatic choice; not with ``step``).
    :param max_steps: the step budget. Beyond it, or as soon as a stiff problem is seen to need more
        stability-limited steps than are left, :class:`~gfteach.solution.IntegrationError`
        (:class:`~gfteach.solution.StiffnessError`).
    """
    accepts("fun", function("fun", fun), "fun(t, y) of the time t and the state y", 0.0, y0)
    y0 = state("y0", y0)
    grid = times("t", t)
    tab = get_method(method)
    max_steps = integer("max_steps", max_steps, minimum=1)
    rtol, atol = real("rtol", rtol, positive=True), real("atol", atol, positive=True)
    first_step = None if first_step is None else real("first_step", first_step, positive=True)
    if step is not None:
        step = real("step", step, positive=True)
        if first_step is not None:
            raise ValueError("first_step sets the adaptive controller's first step: pass step or first_step, not both")
    else:
        if not tab.adaptive:
            raise ValueError(
                f"method {tab.name!r} has no embedded error estimate, so it cannot choose its own steps: "
                "pass step=h, or use an adaptive method ('bs23', 'dopri5')"
            )
        eps = torch.finfo(y0.dtype).eps
        if rtol < eps:
            raise ValueError(
                f"rtol = {rtol:.3g} is below the resolution of y0's dtype {y0.dtype} (machine epsilon {eps:.3g}), "
                f"so no step can meet it: use a larger rtol (e.g. {100 * eps:.3g}) or a float64 state"
            )
    shape, t0 = y0.shape, float(grid[0])
    if grid.numel() == 1 or y0.numel() == 0:  # nothing to integrate: y(t) = y0 at every requested time
        out = y0.clone().expand(grid.numel(), *shape).clone()
        return ODESolution(t=grid.clone(), y=out, method=tab.name)
    probe = y0.clone()
    f0 = returned("fun(t0, y0)", fun(t0, probe), y0, finite=False)
    if probe._version or not torch.equal(probe, y0):
        raise in_place("fun", "y", f"at t0 = {t0:.6g}", _NEW)
    run = _Run(_checked(fun, y0), y0.reshape(-1).clone(), grid, tab, max_steps, shape)
    run.nfev = 1  # the call above
    if not torch.isfinite(f0).all():
        run.fail("fun(t0, y0) returned non-finite values at the (finite) initial state: the derivative is "
                 "undefined there (e.g. sqrt or log at 0, or a NaN gradient)", "nonfinite")  # fmt: skip
    f0 = f0.detach().reshape(-1)
    if step is not None:
        run.fixed(step, f0)
    else:
        run.adaptive(rtol, atol, first_step, f0)
    return run.solution()


def _checked(fun, y0: torch.Tensor):
    """``fun`` on flat states, its result checked at every call (a few attribute comparisons) and detached;
    an in-place change of ``y`` (which bumps its version counter) is an error."""
    shape, dtype, device, flat = y0.shape, y0.dtype, y0.device, len(y0.shape) != 1

    def rhs(tt: float, y: torch.Tensor) -> torch.Tensor:
        version = y._version
        value = fun(tt, y.view(shape) if flat else y)
        if y._version != version:
            raise in_place("fun", "y", f"at t = {tt:.6g}", _NEW)
        if not (torch.is_tensor(value) and value.shape == shape and value.dtype == dtype and value.device == device):
            returned(f"fun(t, y) at t = {tt:.6g}", value, y0, finite=False)
        if value.requires_grad:
            value = value.detach()
        return value.reshape(-1) if flat else value

    return rhs


def _rms(x: torch.Tensor) -> float:
    return float(torch.linalg.vector_norm(x)) / math.sqrt(x.numel())


class _Run:
    """State of one integration: the current point, the stage buffer, and the outputs so far."""

    def __init__(self, rhs, y, times, tab: Tableau, max_steps: int, shape: torch.Size):
        self.rhs, self.y, self.times, self.tab, self.max_steps, self.shape = rhs, y, times, tab, max_steps, shape
        self.c = [float(ci) for ci in tab.c]
        self.t = float(times[0])
        dt = {"dtype": y.dtype, "device": y.device}
        self.A = torch.tensor(tab.A, **dt)
        self.b = torch.tensor(tab.b, **dt)
        self.e = None if tab.error is None else torch.tensor(tab.error, **dt)
        self.P = None if tab.dense is None else torch.tensor(tab.dense, **dt)
        self.K = torch.empty(tab.stages + 1, y.numel(), **dt)
        # views made once: slicing inside the step loop costs more than the arithmetic
        self.K_rows = list(self.K)
        self.K_upto = [self.K[:i].T for i in range(tab.stages + 2)]
        self.A_rows = [self.A[i, :i] for i in range(tab.stages)]
        self.out = [y.clone()]
        self.nfev = self.nsteps = self.nrejected = 0
        self.step_times: list[float] = []
        self.step_sizes: list[float] = []
        weights = tab.stiffness_weights or (None, None)
        self.stiff_u, self.stiff_v = (None if w is None else torch.tensor(w, **dt) for w in weights)
        self.noise = 1e3 * torch.finfo(y.dtype).eps * (0.0 if weights[0] is None else float(abs(weights[0]).sum()))
        self.n_stiff = self.n_nonstiff = 0
        self.lam = self.h_max = 0.0
        self.n_collapsed, self.size0 = 0, max(1.0, float(y.abs().max()))

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

    def fail(self, why: str, reason: str):
        message = f"{why} at t = {self.t:.6g} (step {self.nsteps})"
        raise IntegrationError(message, self.t, self.solution(), reason)

    def nonfinite(self, stages: int) -> str:
        """Why a step produced NaN/inf: ``fun`` itself at a finite, moderate state, or an overflow."""
        size = float(self.y.abs().max())
        if not torch.isfinite(self.K[:stages]).all() and size < 1e100:
            return (f"fun returned non-finite values near a finite state (max |y| = {size:.3g}): the derivative "
                    "is undefined there (e.g. sqrt or log at 0, or a NaN gradient)")  # fmt: skip
        return "the solution became non-finite (the step may be beyond the stability limit)"

    def fixed(self, h: float, f0: torch.Tensor):
        t0, times = self.t, self.times
        needed = float((times[-1] - t0) / h)
        if needed > self.max_steps + 0.5:
            raise ValueError(f"step = {h:.6g} needs {needed:.6g} steps, more than max_steps = {self.max_steps}")
        n_at = torch.round((times - t0) / h).to(torch.int64).tolist()
        for i, (n, tt) in enumerate(zip(n_at, times.tolist())):
            if abs(t0 + n * h - tt) > 1e-9 * max(1.0, abs(tt), abs(h)):
                raise ValueError(
                    f"t[{i}] = {tt:.6g} is not on the fixed-step grid t[0] + n*step (step = {h:.6g}); "
                    "choose output times that are multiples of step from t[0], or use an adaptive method"
                )
        wanted = iter(n_at[1:])
        target = next(wanted, None)
        for n in range(1, n_at[-1] + 1):
            self.K_rows[0].copy_(f0 if n == 1 else self.f(self.t, self.y))
            y_new = self.stages(h)
            if not math.isfinite(float(y_new.sum())):  # one reduction: NaN and inf propagate into the sum
                self.fail(self.nonfinite(self.tab.stages), "nonfinite")
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
        if not math.isfinite(d2):  # F is not finite a step away: start small, the controller adapts
            return h0
        q = self.tab.error_order
        h1 = max(1e-6, h0 * 1e-3) if max(d1, d2) <= 1e-15 else (0.01 / max(d1, d2)) ** (1 / (q + 1))
        return min(100 * h0, h1)

    def adaptive(self, rtol: float, atol: float, first_step: float | None, f0: torch.Tensor):
        K, s, t_end, rows, e = self.K, self.tab.stages, float(self.times[-1]), self.K_rows, self.e
        rows[0].copy_(f0)
        h = first_step if first_step is not None else self.initial_step(rtol, atol, rows[0])
        exponent = -1.0 / (self.tab.error_order + 1)
        next_out, out_times = 1, self.times.tolist()
        while self.t < t_end:
            if self.nsteps >= self.max_steps:
                self.fail(
                    f"max_steps = {self.max_steps} reached before t = {t_end:.6g}{self.stiff_note()}", "max_steps"
                )
            rejected, finite = False, True
            while True:
                if not h >= 10 * (math.nextafter(self.t, math.inf) - self.t):  # also catches a NaN step
                    why = f"h = {h:.3g}, at the resolution of t; the solution may be blowing up" if finite else ""
                    self.fail(f"the step size became too small: {why or self.nonfinite(s + 1)}",
                              "step_too_small" if finite else "nonfinite")  # fmt: skip
                h = min(h, t_end - self.t)
                y_new = self.stages(h)
                rows[s].copy_(self.f(self.t + h, y_new))
                scale = torch.maximum(self.y.abs(), y_new.abs()).mul_(rtol).add_(atol)
                err = h * _rms(torch.mv(K.T, e).div_(scale))
                if err <= 1.0:
                    break
                finite = math.isfinite(err)
                h *= MIN_FACTOR if not finite else max(MIN_FACTOR, SAFETY * err**exponent)
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
            self.stiffness(h, t_end)
            self.collapse(h, t_end)
            rows[0].copy_(rows[s])  # first same as last
            factor = MAX_FACTOR if err == 0 else min(MAX_FACTOR, SAFETY * err**exponent)
            h *= min(1.0, factor) if rejected else factor

    def stiffness(self, h: float, t_end: float):
        r"""Hairer & Wanner's test (*Solving ODEs II*, §IV.2): :math:`h|\lambda|` estimated from the step's
        stages (:attr:`~gfteach.butcher.Tableau.stiffness_weights`); stop when stiffness makes the budget hopeless."""
        limit = self.tab.stability_limit
        if self.stiff_u is None or not math.isfinite(limit):
            return
        num, den = (float(torch.linalg.vector_norm(torch.mv(self.K.T, w))) for w in (self.stiff_u, self.stiff_v))
        if not (den > 0.0 and num > self.noise * float(torch.linalg.vector_norm(self.K_rows[0]))):
            return  # rounding, not stiffness
        rho = num / den
        if not rho > STIFF_FRACTION * limit:
            self.n_nonstiff += 1
            if self.n_nonstiff >= NONSTIFF_RESET:
                self.n_stiff = 0
            return
        self.n_stiff, self.n_nonstiff, self.lam = self.n_stiff + 1, 0, rho / h
        stable = limit / self.lam
        needed = (t_end - self.t) / stable
        if self.n_stiff >= STIFF_COUNT and self.nsteps + needed > self.max_steps:
            message = (
                f"the problem is stiff at t = {self.t:.6g}: the step is limited by stability, not accuracy. "
                f"The Jacobian has an eigenvalue of size |lambda| ~ {self.lam:.3g} (for a gradient flow, a Hessian "
                f"eigenvalue), so {self.tab.name} is stable only for steps h < {limit:.3g}/|lambda| ~ {stable:.3g}, "
                f"and reaching t = {t_end:.6g} would take about {needed:.3g} more steps, beyond "
                f"max_steps = {self.max_steps}. Use an implicit (stiff) method, a smaller final time, or a "
                "larger max_steps"
            )
            raise StiffnessError(message, self.t, self.solution(), self.lam, stable, needed)

    def collapse(self, h: float, t_end: float):
        """End a run whose accepted step has collapsed (a kink, jump or singularity of F) at a hopeless pace."""
        self.h_max = max(self.h_max, h)
        hopeless = h < COLLAPSE * self.h_max and t_end - self.t > h * (self.max_steps - self.nsteps)
        self.n_collapsed = self.n_collapsed + 1 if hopeless else 0
        if self.n_collapsed >= COLLAPSE_COUNT and float(self.y.abs().max()) < 1e3 * self.size0:  # not a blow-up
            self.fail(
                f"the step size collapsed from {self.h_max:.3g} to {h:.3g} for {self.n_collapsed} steps in a row, "
                f"so reaching t = {t_end:.6g} would take more than max_steps = {self.max_steps}: the right-hand "
                "side is not smooth (a kink or jump, e.g. abs, sign or ReLU at 0) or is singular (an infinite "
                "derivative) near here",
                "nonsmooth",
            )

    def stiff_note(self) -> str:
        stable = self.tab.stability_limit / self.lam if self.n_stiff else 0.0
        return f"; the problem looks stiff (|lambda| ~ {self.lam:.3g}, stable steps h < {stable:.3g})" if stable else ""

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
