"""The exercise checkers' contract, and the pieces every checker is built from.

A checker takes a student's answer and prints one line of feedback, ``✓ ...`` or ``✗ ...``:

* **every correct form passes**: Python, NumPy, torch and SymPy scalars, 0-d and one-element arrays,
  values rounded to the precision the text uses (:func:`agrees`);
* **every wrong one fails**, boundaries included, with a *diagnosis of the slip* (too large, the wrong
  sign, a missing factor, the ratio instead of its logarithm) — never the expected value itself, on any
  try: a student learns what to fix, not what to type;
* **junk gets a clear message** (a string, ``None``, NaN, a list of the wrong length or shape, complex
  entries): it never raises, and the work it costs is bounded.

It returns a :class:`Feedback`, true exactly when the answer is right, so instructors' hidden checks
can ``assert`` it; it displays nothing as a cell's last value (the line is already printed, and no
stray ``True``/``False`` follows it).

The *problem parameters* (what the chapter passes besides the answer: a matrix, a step, a run) are the
instructor's side: junk there is a ``TypeError``/``ValueError`` naming the parameter, never a ``✗``
(:func:`parameters`, :func:`array_parameter`).
"""

from __future__ import annotations

import functools
import math
import numbers
from collections.abc import Collection, Mapping, Sequence

import numpy as np
import torch

from .._checks import real, show, state

__all__ = [
    "Feedback", "AnswerError", "verdict", "as_number", "as_array", "as_vector", "as_polynomial", "agrees",
    "diagnose", "attempt", "exp", "parameters", "array_parameter", "checker",
]  # fmt: skip


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
    if torch.is_tensor(value):
        try:
            value = value.detach().cpu().resolve_conj()
            value = (value.double() if value.dtype == torch.bfloat16 else value).numpy()
        except (RuntimeError, TypeError, NotImplementedError) as error:  # meta, sparse, quantized tensors
            raise AnswerError(f"{what} should be numbers, got {show(value)}") from error
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


def _real(value, what: str) -> float:
    """``value`` as a float (possibly NaN or inf), or :class:`AnswerError`."""
    value = _plain(value, what)
    if isinstance(value, np.ndarray):
        if value.size != 1:
            raise AnswerError(f"{what} should be one number, got an array of shape {value.shape}")
        value = _plain(value.reshape(()).item(), what)
    if isinstance(value, (list, tuple)):
        if len(value) != 1:
            raise AnswerError(f"{what} should be one number, got a {type(value).__name__} of length {len(value)}")
        return _real(value[0], what)
    if isinstance(value, bool) or value is None or isinstance(value, (str, bytes)):
        raise AnswerError(f"{what} should be a number, got {value!r}")
    if isinstance(value, complex):
        if value.imag != 0:
            raise AnswerError(f"{what} should be a real number, got {value}")
        value = value.real
    if not isinstance(value, numbers.Real):
        raise AnswerError(f"{what} should be a number, got a {type(value).__name__}")
    try:
        return float(value)
    except OverflowError as error:
        raise AnswerError(f"{what} should be a finite number, got one too large for a float") from error


def as_number(value, what: str = "the answer") -> float:
    """``value`` as a finite float, or :class:`AnswerError` with a message that says what was wrong."""
    x = _real(value, what)
    if not math.isfinite(x):
        raise AnswerError(f"{what} should be a finite number, got {x}")
    return x


def _entries(value, what: str) -> tuple[tuple, list]:
    """The shape of a (nested) list, tuple or array, and its entries in order (not yet read as numbers)."""
    value = _plain(value, what)
    if not isinstance(value, (np.ndarray, Sequence)) and hasattr(value, "__array__"):
        value = np.asarray(value)
    if isinstance(value, np.ndarray):
        return value.shape, list(value.reshape(-1))
    if isinstance(value, Sequence) and not isinstance(value, (str, bytes)):
        parts = [_entries(v, what) for v in value]
        if len({shape for shape, _ in parts}) > 1:
            raise AnswerError(f"{what} is ragged: its rows have different lengths")
        return (len(value), *(parts[0][0] if parts else ())), [e for _, flat in parts for e in flat]
    return (), [value]


def as_array(value, what: str = "the answer", shape: tuple = (None,)) -> np.ndarray:
    """``value`` (nested list, tuple, array, tensor) as a finite float array of ``shape`` (``None``: any
    length along that axis); a wrong shape is an :class:`AnswerError`, never flattened or broadcast."""
    want = f"an array of shape {shape}".replace("None", "n")
    if len(shape) == 1:
        want = "a flat list of numbers" + (f" ({shape[0]} entries)" if shape[0] is not None else "")
    if value is None or isinstance(value, (str, bytes, bool, Mapping, set)) or isinstance(value, numbers.Number):
        raise AnswerError(f"{what} should be {want}, got {value!r}")
    got, entries = _entries(value, what)
    if got == ():
        raise AnswerError(f"{what} should be {want}, got {show(value)}")
    if len(got) != len(shape):
        raise AnswerError(f"{what} should be {want}, got shape {got}")
    if any(n is not None and n != m for n, m in zip(shape, got)):
        size = f"have {shape[0]} entries" if len(shape) == 1 else f"have shape {shape}"
        raise AnswerError(f"{what} should {size}, got {got[0] if len(shape) == 1 else got}")
    array = np.array([_real(e, what) for e in entries], dtype=float).reshape(got)
    if not np.isfinite(array).all():
        raise AnswerError(f"{what} contains NaN or inf: it should hold finite numbers only")
    return array


def as_vector(value, what: str = "the answer", length: int | None = None) -> np.ndarray:
    """``value`` (list, tuple, 1-D array or tensor) as a 1-D finite float array, optionally of ``length``."""
    return as_array(value, what, (length,))


def as_polynomial(value, what: str = "the coefficients") -> tuple[np.ndarray, bool]:
    """Ascending coefficients of a polynomial answer, and whether their order is known: ``np.poly1d``,
    ``np.polynomial.Polynomial`` and SymPy polynomials in one variable know it; a bare list does not."""
    if isinstance(value, np.polynomial.Polynomial):
        return as_vector(value.coef, what), True
    if isinstance(value, np.poly1d):
        return as_vector(value.c[::-1], what), True
    if type(value).__module__.startswith("sympy"):
        poly = value if hasattr(value, "all_coeffs") else getattr(value, "as_poly", lambda: None)()
        if poly is None or len(poly.gens) != 1:
            raise AnswerError("R should be a polynomial in one variable z")
        return as_vector(poly.all_coeffs()[::-1], what), True
    return as_vector(value, f"{what} [c0, c1, ...]"), False


def agrees(x, target, digits: int = 4, rtol: float = 0.0) -> bool:
    """Whether ``x`` is ``target`` to ``digits`` significant digits (so the text's rounded value passes)
    or within the relative tolerance ``rtol``. Both must be finite real numbers (a ``TypeError`` or
    ``ValueError`` names ``x`` or ``target`` otherwise: compare a value that may overflow with :func:`diagnose`)."""
    x, target = real("x", x), real("target", target)
    if target == 0:
        return abs(x) <= max(rtol, 10.0 ** (-digits))
    half_unit = 0.5 * 10.0 ** (math.floor(math.log10(abs(target))) - digits + 1)
    return abs(x - target) <= half_unit * (1 + 1e-9) or abs(x - target) <= rtol * abs(target)


def diagnose(x: float, slips, **tolerance) -> str | None:
    """The reason of the first slip ``(value, reason)`` whose value ``x`` :func:`agrees` with, or ``None``.
    A value that is not finite (it overflowed on an extreme instance) matches nothing."""
    return next((why for value, why in slips if math.isfinite(value) and agrees(x, value, **tolerance)), None)


def attempt(fn, *args) -> float:
    """``fn(*args)`` as a slip's value, or NaN (skipped by :func:`diagnose`) where it leaves the float range:
    an ``OverflowError``, or the ``ValueError`` of :mod:`gfteach.bounds` for a step that underflows to 0."""
    try:
        return fn(*args)
    except (OverflowError, ValueError):
        return math.nan


def exp(x: float) -> float:
    """``math.exp(x)``, ``inf`` past the float range instead of an ``OverflowError``."""
    return math.exp(x) if x < 709.7 else math.inf


def parameters(positive: Collection[str] = (), **values) -> list[float]:
    """Problem parameters ``name=value`` as finite floats, those named in ``positive`` above 0; a
    ``TypeError``/``ValueError`` naming the first that is not (the instructor's side: never a ``✗``)."""
    positive = {positive} if isinstance(positive, str) else set(positive)
    return [real(name, value, positive=name in positive) for name, value in values.items()]


def array_parameter(name: str, value) -> torch.Tensor:
    """A problem parameter that is an array (tensor, NumPy array, nested list of real numbers) as a finite
    float64 tensor; a ``TypeError``/``ValueError`` naming ``name`` otherwise."""
    what = "an array of real numbers (tensor, NumPy array or nested list)"
    if torch.is_tensor(value):
        if value.dtype == torch.bool or value.is_complex():
            raise TypeError(f"{name} must be {what}, got {show(value)}")
        return state(name, value.to(torch.float64))
    try:
        array = np.asarray(value)
    except (TypeError, ValueError) as error:  # ragged nesting
        raise TypeError(f"{name} must be {what}, got {show(value)} ({error})") from None
    if array.dtype.kind not in "iuf":
        raise TypeError(f"{name} must be {what}, got {show(value)}")
    return state(name, torch.from_numpy(array.astype(np.float64)))


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
