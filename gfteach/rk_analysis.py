r"""The numerical analysis of Runge–Kutta methods: test problems with exact solutions, measured global
errors, work–precision data, stability regions, order conditions, and the stability of a fixed-step
method (gradient descent among them) on a quadratic.

* **Test problems** (:class:`IVP`): :func:`exp_sin_ivp` (:math:`y' = y\cos t`, :math:`y = e^{\sin t}`),
  :func:`kepler_ivp` (an eccentric orbit, exact by Kepler's equation) and :func:`quadratic_ivp`
  (gradient flow :math:`\theta' = -A\theta`, :math:`\theta(t) = e^{-At}\theta_0`).
* **Order.** A method of order :math:`p` has global error :math:`e(h) \approx Ch^p`, so the slope of
  :math:`\log e` against :math:`\log h` (:func:`gfteach.measure.loglog_slope` of :func:`global_errors`)
  measures :math:`p`. :func:`order_conditions` evaluates Butcher's conditions for :math:`p \le 4`.
* **Stability.** On :math:`y' = \lambda y` one step multiplies :math:`y` by :math:`R(h\lambda)`;
  :func:`stability_region` tabulates :math:`|R(z)|`. On :math:`f = \frac12\theta^\top A\theta`, gradient
  descent (Euler) converges iff :math:`0 < \eta < 2/\lambda_{\max}(A)` (:func:`largest_stable_step`);
  :func:`quadratic_path` runs any fixed-step method there.

Everything is a thin layer over :func:`gfteach.ode.odeint` and :class:`gfteach.butcher.Tableau`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
import torch

from ._checks import real
from .butcher import Tableau, get_method
from .ode import IntegrationError, odeint

__all__ = [
    "IVP",
    "exp_sin_ivp",
    "kepler_ivp",
    "quadratic_ivp",
    "global_errors",
    "work_precision",
    "stability_region",
    "order_conditions",
    "quadratic_path",
    "largest_stable_step",
]

_F64 = torch.float64


@dataclass(frozen=True)
class IVP:
    r"""An initial value problem :math:`y' = F(t, y),\ y(0) = y_0` on :math:`[0, T]` with a known solution.

    ``solution(t)`` returns the exact :math:`y(t)` (a tensor shaped like ``y0``) for a float ``t``.
    """

    name: str
    fun: Callable[[float, torch.Tensor], torch.Tensor]
    y0: torch.Tensor
    t_end: float
    solution: Callable[[float], torch.Tensor]


def exp_sin_ivp(t_end: float = 10.0) -> IVP:
    r""":math:`y' = y\cos t,\ y(0) = 1` on :math:`[0, T]`, whose solution is :math:`y(t) = e^{\sin t}`."""
    t_end = real("t_end", t_end, positive=True)
    return IVP(
        "y' = y cos t",
        lambda t, y: y * math.cos(t),
        torch.ones(1, dtype=_F64),
        t_end,
        lambda t: torch.tensor([math.exp(math.sin(t))], dtype=_F64),
    )


def kepler_ivp(eccentricity: float = 0.9, orbits: int = 1) -> IVP:
    r"""A comet around a sun: :math:`q'' = -q/\|q\|^3` in the plane, state :math:`y = (q, q')`.

    It starts at perihelion :math:`q = (1 - e, 0)` with speed :math:`\sqrt{(1+e)/(1-e)}`, so the orbit is
    an ellipse of semi-major axis 1 and eccentricity :math:`e`, with period :math:`2\pi`. The exact solution
    comes from Kepler's equation :math:`E - e\sin E = t` (solved by Newton's method). Near perihelion the
    body moves :math:`(1+e)/(1-e)` times faster than at aphelion: a fast and a slow phase.
    """
    e = float(eccentricity)
    if not 0.0 <= e < 1.0:
        raise ValueError(f"eccentricity must lie in [0, 1), got {eccentricity!r}")
    if isinstance(orbits, bool) or not (isinstance(orbits, int) and orbits >= 1):
        raise ValueError(f"orbits must be a positive integer, got {orbits!r}")
    b = math.sqrt(1.0 - e * e)

    def fun(t, y):
        q = y[:2]
        return torch.cat([y[2:], -q / (q @ q) ** 1.5])

    def solution(t):
        M = math.fmod(float(t), 2 * math.pi)
        E = M if e < 0.8 else math.pi
        for _ in range(100):
            dE = (E - e * math.sin(E) - M) / (1 - e * math.cos(E))
            E -= dE
            if abs(dE) < 1e-16:
                break
        d = 1 - e * math.cos(E)
        return torch.tensor([math.cos(E) - e, b * math.sin(E), -math.sin(E) / d, b * math.cos(E) / d], dtype=_F64)

    return IVP(f"Kepler orbit, e = {e:g}", fun, solution(0.0), 2 * math.pi * orbits, solution)


def _symmetric(A) -> torch.Tensor:
    A = torch.as_tensor(A, dtype=_F64)
    if A.ndim != 2 or A.shape[0] != A.shape[1]:
        raise ValueError(f"A must be a square matrix, got shape {tuple(A.shape)}")
    if not torch.isfinite(A).all() or not torch.allclose(A, A.T, rtol=1e-12, atol=1e-12):
        raise ValueError("A must be a finite symmetric matrix")
    return A


def quadratic_ivp(A, theta0, t_end: float = 3.0) -> IVP:
    r"""Gradient flow on :math:`f(\theta) = \tfrac12\theta^\top A\theta`: :math:`\theta' = -A\theta`,
    solved exactly by :math:`\theta(t) = e^{-At}\theta_0 = Q e^{-\Lambda t} Q^\top\theta_0`."""
    A = _symmetric(A)
    theta0 = torch.as_tensor(theta0, dtype=_F64).clone()
    lam, Q = torch.linalg.eigh(A)
    coords = Q.T @ theta0
    return IVP(
        "gradient flow on a quadratic",
        lambda t, y: -(A @ y),
        theta0,
        real("t_end", t_end, positive=True),
        lambda t: Q @ (torch.exp(-lam * t) * coords),
    )


def _grid(t_end: float, h: float) -> torch.Tensor:
    h = real("step", h, positive=True)
    n = round(t_end / h)
    if n < 1 or abs(n * h - t_end) > 1e-9 * max(1.0, t_end):
        raise ValueError(f"step {h!r} does not divide t_end = {t_end!r} into a whole number of steps")
    return torch.tensor([0.0, t_end], dtype=_F64)


def global_errors(ivp: IVP, method: str | Tableau, steps: Sequence[float]) -> np.ndarray:
    """Max-norm error at ``ivp.t_end`` of the fixed-step ``method``, for each step size in ``steps``.

    Each step must divide ``t_end`` (so the last step lands exactly on it).
    """
    exact = ivp.solution(ivp.t_end)
    errors = []
    for h in steps:
        y = odeint(ivp.fun, ivp.y0, _grid(ivp.t_end, h), method, step=float(h)).y[-1]
        errors.append(float((y - exact).abs().max()))
    return np.array(errors)


def work_precision(
    ivp: IVP,
    method: str | Tableau,
    *,
    steps: Sequence[float] | None = None,
    rtols: Sequence[float] | None = None,
) -> dict[str, np.ndarray]:
    """Cost and accuracy of one method over a range of settings.

    Give ``steps`` (fixed step sizes) or ``rtols`` (adaptive, with ``atol = rtol``). Returns a dict
    with arrays ``setting``, ``nfev`` (function evaluations), ``nsteps``, ``nrejected`` and ``error``
    (max-norm error at ``t_end``).
    """
    if (steps is None) == (rtols is None):
        raise ValueError("give exactly one of steps (fixed step) or rtols (adaptive)")
    exact = ivp.solution(ivp.t_end)
    rows = []
    for value in steps if steps is not None else rtols:
        value = float(value)
        if steps is not None:
            sol = odeint(ivp.fun, ivp.y0, _grid(ivp.t_end, value), method, step=value)
        else:
            sol = odeint(ivp.fun, ivp.y0, [0.0, ivp.t_end], method, rtol=value, atol=value)
        rows.append((value, sol.nfev, sol.nsteps, sol.nrejected, float((sol.y[-1] - exact).abs().max())))
    cols = list(zip(*rows))
    return {
        "setting": np.array(cols[0]),
        "nfev": np.array(cols[1], dtype=int),
        "nsteps": np.array(cols[2], dtype=int),
        "nrejected": np.array(cols[3], dtype=int),
        "error": np.array(cols[4]),
    }


def stability_region(method: str | Tableau, re: Sequence[float], im: Sequence[float]) -> np.ndarray:
    r""":math:`|R(z)|` on the grid :math:`z = x + iy`, ``x`` in ``re``, ``y`` in ``im``; shape ``(len(im), len(re))``.

    The method is stable for :math:`y' = \lambda y` with step :math:`h` where :math:`|R(h\lambda)| \le 1`.
    """
    R = get_method(method).stability_polynomial()
    x, y = np.meshgrid(np.asarray(re, dtype=float), np.asarray(im, dtype=float))
    z = x + 1j * y
    value = np.zeros_like(z)
    for c in R.coef[::-1]:  # Horner's rule in complex arithmetic
        value = value * z + c
    return np.abs(value)


def order_conditions(method: str | Tableau) -> list[tuple[int, str, float, Fraction]]:
    r"""The eight Butcher order conditions for order :math:`\le 4`, evaluated on a tableau.

    Returns ``(order, condition, value, required)``; a method has order :math:`\ge p` (for every smooth
    :math:`F`) iff all conditions of order :math:`\le p` hold (Hairer, Nørsett & Wanner I, §II.2).
    """
    tab = get_method(method)
    A, b, c = tab.A, tab.b, tab.c
    rows = [
        (1, "Σ b_i", b.sum(), Fraction(1)),
        (2, "Σ b_i c_i", b @ c, Fraction(1, 2)),
        (3, "Σ b_i c_i²", b @ c**2, Fraction(1, 3)),
        (3, "Σ b_i a_ij c_j", b @ A @ c, Fraction(1, 6)),
        (4, "Σ b_i c_i³", b @ c**3, Fraction(1, 4)),
        (4, "Σ b_i c_i a_ij c_j", b @ (c * (A @ c)), Fraction(1, 8)),
        (4, "Σ b_i a_ij c_j²", b @ A @ c**2, Fraction(1, 12)),
        (4, "Σ b_i a_ij a_jk c_k", b @ A @ A @ c, Fraction(1, 24)),
    ]
    return [(p, text, float(value), req) for p, text, value, req in rows]


def quadratic_path(A, theta0, method: str | Tableau, step: float, t_end: float, blowup: float = 1e6):
    r"""Fixed-step ``method`` on the gradient flow :math:`\theta' = -A\theta` from ``theta0`` up to ``t_end``.

    Returns ``(t, theta)`` with ``theta[n]`` the iterate at ``t[n] = n * step`` for every step that fits
    in ``[0, t_end]``. A run beyond the stability limit grows geometrically; it is cut off once
    :math:`\|\theta\|` exceeds ``blowup`` times :math:`\|\theta_0\|` (so plots stay readable).
    """
    A = _symmetric(A)
    theta0 = torch.as_tensor(theta0, dtype=_F64)
    step, t_end = real("step", step, positive=True), real("t_end", t_end, positive=True)
    n = int(math.floor(t_end / step + 1e-9))
    if n < 1:
        raise ValueError(f"step must be at most t_end, got step={step!r}, t_end={t_end!r}")
    times = torch.arange(n + 1, dtype=_F64) * step
    try:
        sol = odeint(lambda t, y: -(A @ y), theta0, times, method, step=step)
    except IntegrationError as err:  # overflow: keep what was computed
        sol = err.solution
    limit = blowup * float(torch.linalg.vector_norm(theta0))
    big = torch.nonzero(torch.linalg.vector_norm(sol.y, dim=1) > limit).flatten()
    keep = int(big[0]) + 1 if len(big) else len(sol.t)
    return sol.t[:keep], sol.y[:keep]


def largest_stable_step(A) -> float:
    r"""The gradient-descent step threshold :math:`2/\lambda_{\max}(A)` for :math:`f = \tfrac12\theta^\top A\theta`.

    GD converges from every start iff :math:`0 < \eta < 2/\lambda_{\max}` (for positive definite ``A``);
    at :math:`\eta = 2/\lambda_{\max}` the top component flips sign every step and never shrinks.
    """
    lam_max = float(torch.linalg.eigvalsh(_symmetric(A))[-1])
    if lam_max <= 0:
        raise ValueError("A must have a positive eigenvalue (otherwise no step size makes GD converge)")
    return 2.0 / lam_max
