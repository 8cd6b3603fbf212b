"""Checkers for the exercises: each prints a specific ✓ or ✗ message and returns ``True``/``False``.

A checker says *why* an answer is wrong where it can (too large, too small, by how much, which
coefficient), so a student can correct it without reading the solution.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from .analysis import largest_stable_step
from .butcher import Tableau, get_method

__all__ = [
    "check_order",
    "check_stability_limit",
    "check_stability_polynomial",
    "check_stable_step",
    "report",
    "finite_number",
]


def report(ok: bool, message: str) -> bool:
    """Print a checker's verdict, ``✓ message`` or ``✗ message``, and return ``ok`` (every checker ends here)."""
    print(("✓ " if ok else "✗ ") + message)
    return ok


def finite_number(value) -> float | None:
    """``value`` as a finite float, or ``None`` when a student's answer is not a number at all."""
    try:
        x = float(value)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None


def check_order(method: str | Tableau, value, tol: float = 0.2) -> bool:
    """Is ``value`` (e.g. a measured log–log slope) within ``tol`` of the method's order?"""
    tab = get_method(method)
    x = finite_number(value)
    if x is None:
        return report(False, f"expected a finite number for the order of {tab.name}, got {value!r}")
    p = tab.order
    if abs(x - p) <= tol:
        return report(True, f"{x:.4g} is within {tol:g} of the order of {tab.name}, p = {p}.")
    hint = (
        "too low: are the largest steps outside the asymptotic regime? Try smaller steps."
        if x < p
        else "too high: are the smallest errors at the rounding floor? Try larger steps."
    )
    return report(False, f"{x:.4g} is {abs(x - p):.3g} away from the order of {tab.name}, p = {p}.\n  {hint}")


def check_stability_limit(method: str | Tableau, value, tol: float = 1e-3) -> bool:
    """Is ``value`` the real stability limit of the method (the largest :math:`x` with
    :math:`|R(-u)| \\le 1` on :math:`[0, x]`), within relative tolerance ``tol``?"""
    tab = get_method(method)
    x = finite_number(value)
    if x is None:
        return report(False, f"expected a finite number, got {value!r}")
    limit = tab.stability_limit
    rel = (x - limit) / limit
    if abs(rel) <= tol:
        return report(True, f"{x:.6g} is the real stability limit of {tab.name}: stable iff h·|λ| ≤ {limit:.6g}.")
    R = tab.stability_polynomial()
    detail = f"|R(-{x:.4g})| = {abs(R(-x)):.4g}"
    where = "too large: the method is already unstable there" if rel > 0 else "too small: it is still stable beyond"
    return report(False, f"{x:.6g} is {where}\n  ({detail}; off by {100 * abs(rel):.3g}%).")


def check_stability_polynomial(method: str | Tableau, coefficients: Sequence[float], tol: float = 1e-12) -> bool:
    """Are ``coefficients`` :math:`[c_0, c_1, \\dots]` those of the method's :math:`R(z) = \\sum_k c_k z^k`?"""
    tab = get_method(method)
    want = tab.stability_polynomial().coef
    try:
        got = np.asarray(coefficients, dtype=float).reshape(-1)
    except (TypeError, ValueError):
        return report(False, f"expected a list of numbers [c0, c1, ...], got {coefficients!r}")
    n = max(len(got), len(want))
    got_p, want_p = np.pad(got, (0, n - len(got))), np.pad(want, (0, n - len(want)))
    wrong = [k for k in range(n) if abs(got_p[k] - want_p[k]) > tol * max(1.0, abs(want_p[k]))]
    if not wrong:
        return report(True, f"R(z) of {tab.name}: coefficients {np.round(want, 6).tolist()}.")
    k = wrong[0]
    return report(
        False,
        f"the coefficient of z^{k} should be {want_p[k]:.6g}, not {got_p[k]:.6g}"
        + (f" ({len(wrong)} coefficients differ)" if len(wrong) > 1 else "")
        + ".",
    )


def check_stable_step(A, eta, tol: float = 0.05) -> bool:
    r"""Is ``eta`` the largest stable gradient-descent step for :math:`f(\theta) = \tfrac12\theta^\top A\theta`?

    Accepted: :math:`(1 - \text{tol})\,\eta^* \le \eta < \eta^* = 2/\lambda_{\max}(A)`. Otherwise the
    message says whether GD diverges (too big) or converges more slowly than it could (too small),
    and by how much.
    """
    x = finite_number(eta)
    if x is None or x <= 0:
        return report(False, f"expected a positive step size, got {eta!r}")
    limit = largest_stable_step(A)
    lam_max = 2.0 / limit
    factor = abs(1 - x * lam_max)  # how GD scales the top eigen-component each step
    if x >= limit:
        if math.isclose(x, limit, rel_tol=1e-12):
            return report(
                False,
                f"η = {x:.6g} sits exactly on the boundary 2/λ_max:\n  the top component flips sign "
                "every step but never shrinks. Take a step slightly below.",
            )
        return report(
            False,
            f"too big by {100 * (x / limit - 1):.3g}%: gradient descent diverges.\n  Along the top "
            f"eigenvector each step multiplies by |1 - ηλ_max| = {factor:.4g} > 1.",
        )
    if x < (1 - tol) * limit:
        return report(
            False,
            f"stable, but too small: steps up to {100 * (limit / x - 1):.3g}% larger\n  are still stable "
            f"(λ_max = {lam_max:.6g}).",
        )
    return report(
        True, f"η = {x:.6g} is stable and within {100 * (1 - x / limit):.2g}% of the limit\n  2/λ_max = {limit:.6g}."
    )
