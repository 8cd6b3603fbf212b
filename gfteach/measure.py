r"""Small measurement helpers: log–log slopes and integrals of sampled curves.

* :func:`loglog_slope` fits :math:`\log y \approx p \log x + c` by least squares and returns :math:`p`:
  the order of a method (errors against steps), the exponent of a power law (curvature against scale),
  the rate of a polynomial decay.
* :func:`cumulative_trapezoid` and :func:`integral_at` integrate a curve known at sample times (the
  piecewise-linear interpolant), e.g. :math:`\int_0^t \min(\lambda_{\min}(s), 0)\,ds` along a flow.

Inputs may be Python sequences, NumPy arrays or torch tensors; results are float64 torch tensors
(:func:`loglog_slope` returns a float).
"""

from __future__ import annotations

import torch

from ._checks import real, vector
from ._checks import times as sample_times  # the argument is called times here

__all__ = ["loglog_slope", "cumulative_trapezoid", "integral_at"]

_F64 = torch.float64


def _vector(values, name: str) -> torch.Tensor:
    return vector(name, values, what="a 1-D sequence of real numbers")


def loglog_slope(x, y) -> float:
    r"""Least-squares slope :math:`p` of :math:`\log y \approx p\log x + c`.

    ``x`` and ``y`` are 1-D, of the same length (at least 2), positive and finite, and ``x`` is not
    constant. For a method of order :math:`p` in its asymptotic regime, with ``x`` the steps and ``y``
    the errors, this estimates :math:`p`.
    """
    xs, ys = _vector(x, "x"), _vector(y, "y")
    if xs.shape != ys.shape or xs.numel() < 2:
        raise ValueError(f"x and y must have the same length, at least 2; got {xs.numel()} and {ys.numel()}")
    for name, v in (("x", xs), ("y", ys)):
        if not (torch.isfinite(v).all() and (v > 0).all()):
            raise ValueError(f"{name} must be positive and finite (a zero has no logarithm), got {v.tolist()}")
    lx, ly = xs.log(), ys.log()
    dx = lx - lx.mean()
    spread = float((dx**2).sum())
    if spread == 0.0:
        raise ValueError("x must not be constant: a slope needs at least two different x values")
    return float((dx * (ly - ly.mean())).sum() / spread)


def _curve(times, values) -> tuple[torch.Tensor, torch.Tensor]:
    t, v = sample_times("times", times), _vector(values, "values")
    if t.shape != v.shape:
        raise ValueError(f"times and values must have the same length, got {t.numel()} and {v.numel()}")
    if not torch.isfinite(v).all():
        raise ValueError(f"values must be finite, got {v.tolist()}")
    return t, v


def cumulative_trapezoid(times, values) -> torch.Tensor:
    r""":math:`\int_{t_0}^{t_i} v(s)\,ds` at every sample time :math:`t_i` (trapezoid rule; 0 at :math:`t_0`).

    Exact for the piecewise-linear interpolant of the samples.
    """
    t, v = _curve(times, values)
    pieces = (t[1:] - t[:-1]) * (v[1:] + v[:-1]) / 2
    return torch.cat([torch.zeros(1, dtype=_F64), torch.cumsum(pieces, 0)])


def integral_at(times, values, at) -> torch.Tensor:
    r""":math:`\int_{t_0}^{a} v(s)\,ds` of the piecewise-linear interpolant, at every :math:`a` in ``at``.

    Beyond the last sample the curve is continued by its last value (and before the first by the
    first); ``at`` may be a number or a 1-D sequence.
    """
    t, v = _curve(times, values)
    scalar = not isinstance(at, (list, tuple)) and getattr(at, "ndim", 0) == 0
    a = torch.tensor([real("at", at)], dtype=_F64) if scalar else _vector(at, "at")
    if not torch.isfinite(a).all():
        raise ValueError(f"at must be finite, got {a.tolist()}")
    if t.numel() == 1:
        out = v[0] * (a - t[0])
    else:
        cumulative = cumulative_trapezoid(t, v)
        i = (torch.searchsorted(t, a, right=True) - 1).clamp(0, len(t) - 2)
        dt = a - t[i]
        slope = (v[i + 1] - v[i]) / (t[i + 1] - t[i])
        inside = cumulative[i] + v[i] * dt + slope * dt**2 / 2
        beyond = cumulative[-1] + v[-1] * (a - t[-1])
        before = v[0] * (a - t[0])
        out = torch.where(a > t[-1], beyond, torch.where(a < t[0], before, inside))
    return out[0] if scalar else out
