"""Argument validation shared by the whole package: type first, then value; every message names the
argument, says what was expected and shows what was given.

Accepted numbers are Python ``int``/``float``, NumPy scalars and 0-d (or one-element) torch tensors;
``bool`` is rejected where a number is meant.
"""

from __future__ import annotations

import math
import numbers

import numpy as np
import torch

__all__ = ["real", "integer"]


def _scalar(name: str, value, what: str):
    if isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be {what}, got the bool {value!r}")
    if torch.is_tensor(value):
        if value.numel() != 1 or value.is_complex() or value.dtype == torch.bool:
            raise TypeError(f"{name} must be {what}, got a tensor of shape {tuple(value.shape)}, dtype {value.dtype}")
        return value.item()
    if isinstance(value, np.ndarray) and value.shape == ():
        return value.item()
    if not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be {what}, got {type(value).__name__} {value!r}")
    return value


def real(name: str, value, *, positive: bool = False, nonnegative: bool = False, finite: bool = True) -> float:
    """``value`` as a float, or a ``TypeError``/``ValueError`` that names ``name``."""
    what = "a positive number" if positive else "a non-negative number" if nonnegative else "a real number"
    x = float(_scalar(name, value, what))
    if finite and not math.isfinite(x):
        raise ValueError(f"{name} must be finite ({what}), got {x!r}")
    if math.isnan(x):
        raise ValueError(f"{name} must be {what}, got nan")
    if positive and not x > 0:
        raise ValueError(f"{name} must be {what}, got {x!r}")
    if nonnegative and not x >= 0:
        raise ValueError(f"{name} must be {what}, got {x!r}")
    return x


def integer(name: str, value, *, minimum: int | None = None) -> int:
    """``value`` as an int (Python, NumPy or 0-d torch integer), or an error that names ``name``."""
    what = "an integer" if minimum is None else f"an integer >= {minimum}"
    x = _scalar(name, value, what)
    if isinstance(x, float) or not isinstance(x, numbers.Integral):
        raise TypeError(f"{name} must be {what}, got {type(value).__name__} {value!r}")
    x = int(x)
    if minimum is not None and x < minimum:
        raise ValueError(f"{name} must be {what}, got {x}")
    return x
