"""The exercise checkers' contract, and the pieces every checker is built from.

A checker takes a student's answer and prints one line of feedback, ``✓ ...`` or ``✗ ...``:

* **every correct form passes**: Python, NumPy, torch and SymPy scalars, 0-d and one-element arrays,
  values rounded to the precision the text uses (:func:`agrees`);
* **every wrong one fails**, boundaries included, with a *diagnosis of the slip* (too large, the wrong
  sign, a missing factor, the ratio instead of its logarithm) — never the expected value itself, on any
  try: a student learns what to fix, not what to type;
* **junk gets a clear message** (a string, ``None``, NaN, a list of the wrong length): it never raises.

It returns a :class:`Feedback`, true exactly when the answer is right, so instructors' hidden checks
can ``assert`` it; it displays nothing as a cell's last value (the line is already printed, and no
stray ``True``/``False`` follows it).
"""

from __future__ import annotations

import functools
import math
import numbers

import numpy as np

__all__ = ["Feedback", "AnswerError", "verdict", "as_number", "as_vector", "agrees", "checker"]


class Feedback:
    """A checker's verdict: ``bool(feedback)`` is whether the answer is right; ``message`` says why."""

    def __init__(self, ok: bool, message: str):
        self.ok, self.message = bool(ok), message

    def __bool__(self) -> bool:
        return self.ok

    def __repr__(self) -> str:
        return ("✓ " if self.ok else "✗ ") + self.message

    def _ipython_display_(self) -> None:  # already printed by verdict(): show nothing more
        return None


class AnswerError(ValueError):
    """An answer that is not of the expected kind; its message is addressed to the student."""


def verdict(ok: bool, message: str) -> Feedback:
    """Print ``✓ message`` or ``✗ message`` and return the :class:`Feedback` (every checker ends here)."""
    feedback = Feedback(ok, message)
    print(repr(feedback))
    return feedback


def _plain(value, what: str):
    """Unwrap torch tensors, NumPy arrays and scalars, and SymPy numbers into Python objects."""
    if hasattr(value, "detach") and hasattr(value, "cpu"):  # torch tensor, without importing torch
        value = value.detach().cpu().numpy()
    if isinstance(value, np.ndarray):
        return value
    if isinstance(value, np.generic):
        return value.item()
    if type(value).__module__.startswith("sympy"):
        try:
            return complex(value) if not getattr(value, "is_real", True) else float(value)
        except TypeError as error:
            raise AnswerError(
                f"{what} should be a number, got a SymPy expression with free symbols: {value}"
            ) from error
    return value


def as_number(value, what: str = "the answer") -> float:
    """``value`` as a finite float, or :class:`AnswerError` with a message that says what was wrong."""
    value = _plain(value, what)
    if isinstance(value, np.ndarray):
        if value.size != 1:
            raise AnswerError(f"{what} should be one number, got an array of shape {value.shape}")
        value = value.reshape(()).item()
    if isinstance(value, (list, tuple)):
        if len(value) != 1:
            raise AnswerError(f"{what} should be one number, got a {type(value).__name__} of length {len(value)}")
        return as_number(value[0], what)
    if isinstance(value, bool) or value is None or isinstance(value, (str, bytes)):
        raise AnswerError(f"{what} should be a number, got {value!r}")
    if isinstance(value, complex):
        if value.imag != 0:
            raise AnswerError(f"{what} should be a real number, got {value}")
        value = value.real
    if not isinstance(value, numbers.Real):
        raise AnswerError(f"{what} should be a number, got a {type(value).__name__}")
    try:
        x = float(value)
    except OverflowError as error:
        raise AnswerError(f"{what} should be a finite number, got one too large for a float") from error
    if not math.isfinite(x):
        raise AnswerError(f"{what} should be a finite number, got {x}")
    return x


def as_vector(value, what: str = "the answer", length: int | None = None) -> np.ndarray:
    """``value`` (list, tuple, array, tensor) as a 1-D finite float array, optionally of ``length``."""
    value = _plain(value, what)
    if value is None or isinstance(value, (str, bytes, bool)) or isinstance(value, numbers.Number):
        raise AnswerError(f"{what} should be a list of numbers, got {value!r}")
    try:
        array = np.array([as_number(v, what) for v in np.asarray(value, dtype=object).reshape(-1)], dtype=float)
    except TypeError as error:
        raise AnswerError(f"{what} should be a list of numbers, got {value!r}") from error
    if length is not None and array.size != length:
        raise AnswerError(f"{what} should have {length} entries, got {array.size}")
    return array


def agrees(x: float, target: float, digits: int = 4, rtol: float = 0.0) -> bool:
    """Whether ``x`` is ``target`` to ``digits`` significant digits (so the text's rounded value passes)
    or within the relative tolerance ``rtol``."""
    if target == 0:
        return abs(x) <= max(rtol, 10.0 ** (-digits))
    half_unit = 0.5 * 10.0 ** (math.floor(math.log10(abs(target))) - digits + 1)
    return abs(x - target) <= half_unit * (1 + 1e-9) or abs(x - target) <= rtol * abs(target)


def checker(fn):
    """Decorate a checker so junk answers (an :class:`AnswerError` raised while reading them) give a
    ``✗`` line instead of an exception."""

    @functools.wraps(fn)
    def wrapped(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except AnswerError as error:
            return verdict(False, str(error))

    return wrapped
