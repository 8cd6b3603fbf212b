r"""Measurements a numerical analyst makes: test problems with exact solutions, convergence orders,
work–precision data, stability regions, and the stability of gradient descent on a quadratic.

Everything here is a thin layer over :func:`gfteach.ode.odeint` and :class:`gfteach.butcher.Tableau`,
so a chapter can state a numerical claim in one line and check it in the next.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
import torch

from .butcher import Tableau, get_method
from .ode import IntegrationError, odeint

__all__ = [
    "IVP",
    "exp_sin_ivp",
    "kepler_ivp",
    "quadratic_ivp",
    "global_errors",
    "convergence_order",
    "work_precision",
    "stability_region",
    "format_tableau",
    "order_conditions",
    "format_polynomial",
    "quadratic_path",
    "largest_stable_step",
    "gd_quadratic",
]

f64 = torch.float64


@dataclass(frozen=True)
class IVP:
    """An initial value problem :math:`y' = F(t, y),\\ y(0) = y_0` on :math:`[0, T]` with a known solution.

    ``solution(t)`` returns the exact :math:`y(t)` (a tensor shaped like ``y0``) for a float ``t``.
    """

    name: str
    fun: Callable[[float, torch.Tensor], torch.Tensor]
    y0: torch.Tensor
    t_end: float
    solution: Callable[[float], torch.Tensor]


def exp_sin_ivp(t_end: float = 10.0) -> IVP:
    r""":math:`y' = y\cos t,\ y(0) = 1`, whose solution is :math:`y(t) = e^{\sin t}`."""
    return IVP(
        "y' = y cos t",
        lambda t, y: y * math.cos(t),
        torch.ones(1, dtype=f64),
        float(t_end),
        lambda t: torch.tensor([math.exp(math.sin(t))], dtype=f64),
    )


def kepler_ivp(eccentricity: float = 0.9, orbits: int = 1) -> IVP:
    r"""A planet (or comet) around a sun: :math:`q'' = -q/\|q\|^3` in the plane, state :math:`y = (q, q')`.

    It starts at perihelion :math:`q = (1 - e, 0)` with speed :math:`\sqrt{(1+e)/(1-e)}`, so the orbit is
    an ellipse of semi-major axis 1 and eccentricity :math:`e`, with period :math:`2\pi`. The exact solution
    comes from Kepler's equation :math:`E - e\sin E = t` (solved by Newton's method). Near perihelion the
    body moves :math:`(1+e)/(1-e)` times faster than at aphelion: a fast and a slow phase.
    """
    e = float(eccentricity)
    if not 0.0 <= e < 1.0:
        raise ValueError(f"eccentricity must lie in [0, 1), got {eccentricity!r}")
    if not (isinstance(orbits, int) and orbits >= 1):
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
        return torch.tensor([math.cos(E) - e, b * math.sin(E), -math.sin(E) / d, b * math.cos(E) / d], dtype=f64)

    return IVP(f"Kepler orbit, e = {e:g}", fun, solution(0.0), 2 * math.pi * orbits, solution)


def _symmetric(A) -> torch.Tensor:
    A = torch.as_tensor(A, dtype=f64)
    if A.ndim != 2 or A.shape[0] != A.shape[1]:
        raise ValueError(f"A must be a square matrix, got shape {tuple(A.shape)}")
    if not torch.isfinite(A).all() or not torch.allclose(A, A.T, rtol=1e-12, atol=1e-12):
        raise ValueError("A must be a finite symmetric matrix")
    return A


def quadratic_ivp(A, theta0, t_end: float = 3.0) -> IVP:
    r"""Gradient flow on :math:`f(\theta) = \tfrac12\theta^\top A\theta`: :math:`\theta' = -A\theta`,
    solved exactly by :math:`\theta(t) = e^{-At}\theta_0 = Q e^{-\Lambda t} Q^\top\theta_0`."""
    A = _symmetric(A)
    theta0 = torch.as_tensor(theta0, dtype=f64).clone()
    lam, Q = torch.linalg.eigh(A)
    coords = Q.T @ theta0
    return IVP(
        "gradient flow on a quadratic",
        lambda t, y: -(A @ y),
        theta0,
        float(t_end),
        lambda t: Q @ (torch.exp(-lam * t) * coords),
    )


def _grid(t_end: float, h: float) -> torch.Tensor:
    n = round(t_end / h)
    if n < 1 or abs(n * h - t_end) > 1e-9 * max(1.0, t_end):
        raise ValueError(f"step {h!r} does not divide t_end = {t_end!r} into a whole number of steps")
    return torch.tensor([0.0, t_end], dtype=f64), n


def global_errors(ivp: IVP, method: str | Tableau, steps: Sequence[float]) -> np.ndarray:
    """Max-norm error at ``ivp.t_end`` of the fixed-step ``method`` for each step size in ``steps``.

    Each step must divide ``t_end`` (so the last step lands exactly on it).
    """
    exact = ivp.solution(ivp.t_end)
    errors = []
    for h in steps:
        times, _ = _grid(ivp.t_end, float(h))
        y = odeint(ivp.fun, ivp.y0, times, method, step=float(h)).y[-1]
        errors.append(float((y - exact).abs().max()))
    return np.array(errors)


def convergence_order(steps: Sequence[float], errors: Sequence[float]) -> float:
    r"""Least-squares slope :math:`p` of :math:`\log(\text{error}) \approx p\log h + c`.

    For a method of order :math:`p` in its asymptotic regime (errors well above rounding), this
    estimates :math:`p`.
    """
    h, err = np.asarray(steps, dtype=float), np.asarray(errors, dtype=float)
    if h.shape != err.shape or h.ndim != 1 or h.size < 2:
        raise ValueError("steps and errors must be 1-D sequences of the same length (at least 2)")
    if not (np.all(np.isfinite(h)) and np.all(np.isfinite(err)) and np.all(h > 0) and np.all(err > 0)):
        raise ValueError("steps and errors must be positive and finite (a zero error has no logarithm)")
    if np.ptp(np.log(h)) == 0:
        raise ValueError("steps must not all be equal")
    return float(np.polyfit(np.log(h), np.log(err), 1)[0])


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
            times, _ = _grid(ivp.t_end, value)
            sol = odeint(ivp.fun, ivp.y0, times, method, step=value)
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
    # Horner's rule in complex arithmetic (numpy's Polynomial evaluates complex input exactly this way)
    value = np.zeros_like(z)
    for c in R.coef[::-1]:
        value = value * z + c
    return np.abs(value)


def format_tableau(method: str | Tableau, max_denominator: int = 1_000_000) -> str:
    """The Butcher tableau as text, with coefficients shown as fractions.

    The layout is the usual one::

        c | A
        --+----
          | b
    """
    tab = get_method(method)

    def frac(x: float) -> str:
        if x == 0:
            return "0"
        return str(Fraction(x).limit_denominator(max_denominator))

    s = tab.stages
    rows = [[frac(tab.c[i])] + [frac(tab.A[i, j]) for j in range(i)] for i in range(s)]
    rows.append([""] + [frac(v) for v in tab.b])
    if tab.error is not None:
        rows.append(["err"] + [frac(v) for v in tab.error])
    ncol = max(len(r) - 1 for r in rows)
    widths = [max(len(r[0]) for r in rows)]
    widths += [max((len(r[j]) for r in rows if len(r) > j), default=1) for j in range(1, ncol + 1)]
    lines = []
    for r in rows:
        cells = " ".join(v.rjust(widths[j + 1]) for j, v in enumerate(r[1:])).rstrip()
        lines.append(f"{r[0].rjust(widths[0])} | {cells}".rstrip())
    rule = "-" * (widths[0] + 1) + "+" + "-" * (max(len(line) for line in lines) - widths[0] - 2)
    lines.insert(s, rule)
    return "\n".join(lines)


def format_polynomial(poly: np.polynomial.Polynomial, var: str = "z", max_denominator: int = 10_000) -> str:
    """A polynomial with (nearly) rational coefficients as text: ``1 + z + z^2/2``."""
    terms = []
    for k, c in enumerate(poly.coef):
        q = Fraction(float(c)).limit_denominator(max_denominator)
        if q == 0:
            continue
        sign = "-" if q < 0 else "+"
        q = abs(q)
        power = "" if k == 0 else (var if k == 1 else f"{var}^{k}")
        if k == 0:
            body = str(q)
        else:
            num = "" if q.numerator == 1 else str(q.numerator)
            body = f"{num}{power}" + ("" if q.denominator == 1 else f"/{q.denominator}")
        terms.append((sign, body))
    if not terms:
        return "0"
    text = ("-" if terms[0][0] == "-" else "") + terms[0][1]
    return text + "".join(f" {sign} {body}" for sign, body in terms[1:])


def order_conditions(method: str | Tableau) -> list[tuple[str, float, Fraction]]:
    r"""The eight Butcher order conditions for order :math:`\le 4`, evaluated on a tableau.

    Returns ``(condition, value, required)`` triples; a method has order :math:`\ge p` (for every
    smooth :math:`F`) iff all conditions of order :math:`\le p` hold (Hairer, Nørsett & Wanner I, §II.2).
    """
    tab = get_method(method)
    A, b, c = tab.A, tab.b, tab.c
    rows = [
        (1, "sum_i b_i", b.sum(), Fraction(1)),
        (2, "sum_i b_i c_i", b @ c, Fraction(1, 2)),
        (3, "sum_i b_i c_i^2", b @ c**2, Fraction(1, 3)),
        (3, "sum_ij b_i a_ij c_j", b @ A @ c, Fraction(1, 6)),
        (4, "sum_i b_i c_i^3", b @ c**3, Fraction(1, 4)),
        (4, "sum_ij b_i c_i a_ij c_j", b @ (c * (A @ c)), Fraction(1, 8)),
        (4, "sum_ij b_i a_ij c_j^2", b @ A @ c**2, Fraction(1, 12)),
        (4, "sum_ijk b_i a_ij a_jk c_k", b @ A @ A @ c, Fraction(1, 24)),
    ]
    return [(f"order {p}: {text}", float(value), req) for p, text, value, req in rows]


def quadratic_path(A, theta0, method: str | Tableau, step: float, t_end: float, blowup: float = 1e6):
    r"""Fixed-step ``method`` on the gradient flow :math:`\theta' = -A\theta` from ``theta0`` up to ``t_end``.

    Returns ``(t, theta)`` with ``theta[n]`` the iterate at ``t[n] = n * step`` for every step that fits
    in ``[0, t_end]``. A run beyond the stability limit grows geometrically; it is cut off once
    :math:`\|\theta\|` exceeds ``blowup`` times :math:`\|\theta_0\|` (so plots stay readable).
    """
    A = _symmetric(A)
    theta0 = torch.as_tensor(theta0, dtype=f64)
    n = int(math.floor(t_end / step + 1e-9))
    if not (step > 0 and n >= 1):
        raise ValueError(f"step must be positive and at most t_end, got step={step!r}, t_end={t_end!r}")
    times = torch.arange(n + 1, dtype=f64) * step
    try:
        sol = odeint(lambda t, y: -(A @ y), theta0, times, method, step=float(step))
    except IntegrationError as err:  # overflow: keep what was computed
        sol = err.solution
    limit = blowup * float(torch.linalg.vector_norm(theta0))
    big = torch.nonzero(torch.linalg.vector_norm(sol.y, dim=1) > limit).flatten()
    keep = int(big[0]) + 1 if len(big) else len(sol.t)
    return sol.t[:keep], sol.y[:keep]


def largest_stable_step(A) -> float:
    r"""The gradient-descent step threshold :math:`2/\lambda_{\max}(A)` for :math:`f = \tfrac12\theta^\top A\theta`.

    GD converges from every start iff :math:`0 < \eta < 2/\lambda_{\max}` (for positive definite ``A``).
    """
    lam_max = float(torch.linalg.eigvalsh(_symmetric(A))[-1])
    if lam_max <= 0:
        raise ValueError("A must have a positive eigenvalue (otherwise no step size makes GD converge)")
    return 2.0 / lam_max


def gd_quadratic(A, theta0, eta: float, steps: int) -> torch.Tensor:
    r"""Gradient descent on :math:`f(\theta) = \tfrac12\theta^\top A\theta` with ``torch.optim.SGD``.

    Returns the iterates :math:`\theta_0, \dots, \theta_{\text{steps}}` as rows. The gradient
    :math:`A\theta` is formed as ``A @ theta``: the same operation the gradient flow ``-(A @ y)`` uses,
    so explicit Euler on the flow reproduces these iterates bit for bit.
    """
    A = _symmetric(A)
    if not (isinstance(steps, int) and steps >= 0):
        raise ValueError(f"steps must be a non-negative integer, got {steps!r}")
    if not (math.isfinite(eta) and eta > 0):
        raise ValueError(f"eta must be a positive finite number, got {eta!r}")
    theta = torch.nn.Parameter(torch.as_tensor(theta0, dtype=f64).clone())
    opt = torch.optim.SGD([theta], lr=eta)
    out = [theta.detach().clone()]
    for _ in range(steps):
        theta.grad = A @ theta.detach()
        opt.step()
        out.append(theta.detach().clone())
    return torch.stack(out)
