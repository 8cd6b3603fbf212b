"""Argument validation shared by the whole package: type first, then value; every message names the
argument, says what was expected and shows what was given.

Accepted numbers are Python ``int``/``float``, NumPy scalars and 0-d (or one-element) torch tensors;
``bool`` is rejected where a number is meant. Sequences of numbers (times, samples) may be Python
sequences, NumPy arrays or torch tensors; strings, ``None``, ragged nesting, booleans and complex
numbers are rejected before any arithmetic.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence

import numpy as np
import torch

__all__ = [
    "real", "integer", "choice", "flag", "function", "named_or_callable", "name_of", "vector", "times", "state",
    "returned", "show", "data", "model_outputs", "class_indices", "positive_integers", "allocation", "MAX_ENTRIES",
]  # fmt: skip

#: the most entries a tensor the package makes for you may have (8 GB in float64): a larger request is
#: refused before allocating, naming the argument that asked for it, rather than failing in the allocator.
MAX_ENTRIES = 10**9


def show(value, limit: int = 60) -> str:
    """A short description of ``value`` for an error message: its type, and its repr when short."""
    if torch.is_tensor(value):
        return f"a tensor of shape {tuple(value.shape)} and dtype {value.dtype}"
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape} and dtype {value.dtype}"
    text = repr(value)
    text = text if len(text) <= limit else text[: limit - 3] + "..."
    return f"{type(value).__name__} {text}"


def _scalar(name: str, value, what: str):
    if isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be {what}, got the bool {value!r}")
    if torch.is_tensor(value):
        if value.numel() != 1 or value.is_complex() or value.dtype == torch.bool:
            raise TypeError(f"{name} must be {what}, got {show(value)}")
        return value.item()
    if isinstance(value, np.ndarray) and value.size == 1 and value.dtype.kind in "iuf":
        return value.item()
    if not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be {what}, got {show(value)}")
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


def allocation(name: str, entries: int, what: str) -> int:
    """``entries`` if at most :data:`MAX_ENTRIES`; otherwise a ``ValueError`` naming ``name``, the
    argument whose value asked for ``what`` (for example "a 100000 x 100000 Hessian")."""
    if entries > MAX_ENTRIES:
        raise ValueError(
            f"{name} asks for {what}: {entries:.3g} entries ({8 * entries / 2**30:.3g} GiB in float64), more than "
            f"the {MAX_ENTRIES:.0e} this package allocates; choose a smaller {name}"
        )
    return entries


def integer(name: str, value, *, minimum: int | None = None) -> int:
    """``value`` as an int (Python, NumPy or 0-d torch integer), or an error that names ``name``."""
    what = "an integer" if minimum is None else f"an integer >= {minimum}"
    x = _scalar(name, value, what)
    if isinstance(x, float) or not isinstance(x, numbers.Integral):
        raise TypeError(f"{name} must be {what}, got {show(value)}")
    x = int(x)
    if minimum is not None and x < minimum:
        raise ValueError(f"{name} must be {what}, got {x}")
    return x


def positive_integers(name: str, values, *, at_least: int = 1) -> list[int]:
    """``values`` (a list, tuple, range, 1-D array or tensor) as at least ``at_least`` integers >= 1 (layer
    widths, sizes, depths); an error naming ``name`` (or the entry ``name[i]``) otherwise."""
    values = values.tolist() if hasattr(values, "tolist") else values
    if isinstance(values, (str, bytes)) or not isinstance(values, Sequence):
        raise TypeError(f"{name} must be a list of at least {at_least} positive integer(s), got {show(values)}")
    if len(values) < at_least:
        raise ValueError(f"{name} must list at least {at_least} positive integer(s), got {list(values)!r}")
    return [integer(f"{name}[{i}]", v, minimum=1) for i, v in enumerate(values)]


def choice(name: str, value, options: Sequence[str]) -> str:
    """``value`` if it is one of the strings ``options``; a ``TypeError``/``ValueError`` naming ``name`` otherwise."""
    listed = ", ".join(repr(o) for o in options)
    if not isinstance(value, str):
        raise TypeError(f"{name} must be one of {listed}, got {show(value)}")
    if value not in options:
        raise ValueError(f"{name} must be one of {listed}, got {value!r}")
    return value


def flag(name: str, value, *, allow_none: bool = False) -> bool | None:
    """``value`` if it is a ``bool`` (or ``None`` when allowed); a ``TypeError`` naming ``name`` otherwise."""
    if value is None and allow_none:
        return None
    if not isinstance(value, (bool, np.bool_)):
        what = "True, False or None" if allow_none else "True or False"
        raise TypeError(f"{name} must be {what}, got {show(value)}")
    return bool(value)


def function(name: str, value):
    """``value`` if it is callable; a ``TypeError`` naming ``name`` otherwise."""
    if not callable(value):
        raise TypeError(f"{name} must be callable, got {show(value)}")
    return value


def named_or_callable(name: str, value, table: dict):
    """``table[value]`` for a known name, or ``value`` itself if it is callable (e.g. a loss)."""
    if isinstance(value, str):
        if value not in table:
            raise ValueError(f"{name} must be one of {sorted(table)} or a callable, got {value!r}")
        return table[value]
    if not callable(value):
        raise TypeError(f"{name} must be a name or a callable, got {show(value)}")
    return value


def name_of(f) -> str:
    """How messages name a user callable: its ``__name__`` (``<lambda>`` for a lambda), else its type."""
    return getattr(f, "__name__", None) or type(f).__name__


def vector(name: str, values, *, what: str = "a 1-D sequence of real numbers") -> torch.Tensor:
    """``values`` as a 1-D float64 CPU tensor: type first (no str, None, bool, complex or ragged nesting)."""
    if values is None or isinstance(values, (str, bytes, dict, set)):
        raise TypeError(f"{name} must be {what}, got {show(values)}")
    if torch.is_tensor(values):
        if values.dtype == torch.bool or values.is_complex():
            raise TypeError(f"{name} must be {what}, got {show(values)}")
        out = values.detach().to("cpu", torch.float64)
    else:
        if isinstance(values, Sequence) and any(isinstance(v, (bool, np.bool_)) for v in values):
            raise TypeError(f"{name} must be {what}, got a sequence holding a bool: {show(values)}")
        try:
            array = np.asarray(values)
        except (TypeError, ValueError) as error:  # ragged nesting (NumPy >= 1.24)
            raise TypeError(f"{name} must be {what}, got {show(values)} ({error})") from None
        if array.dtype.kind not in "iuf":
            raise TypeError(f"{name} must be {what}, got {show(values)} (dtype {array.dtype})")
        out = torch.from_numpy(array.astype(np.float64))
    if out.dim() != 1:
        raise ValueError(f"{name} must be {what}, got shape {tuple(out.shape)}")
    return out


def times(name: str, values) -> torch.Tensor:
    """Strictly increasing finite times as a non-empty 1-D float64 CPU tensor (``values[0]`` is the start)."""
    out = vector(name, values, what="a non-empty 1-D sequence of times")
    if out.numel() < 1:
        raise ValueError(f"{name} must be a non-empty 1-D sequence of times, got an empty one")
    bad = (~torch.isfinite(out)).nonzero()
    if len(bad):
        i = int(bad[0])
        raise ValueError(f"{name} must contain only finite times, got {name}[{i}] = {float(out[i])!r}")
    down = (out[1:] <= out[:-1]).nonzero()
    if len(down):
        i = int(down[0]) + 1
        raise ValueError(
            f"{name} must be strictly increasing (sorted, without repeats; {name}[0] is the start), "
            f"got {name}[{i}] = {float(out[i]):.6g} after {name}[{i - 1}] = {float(out[i - 1]):.6g}"
        )
    return out


def state(name: str, value) -> torch.Tensor:
    """A finite real floating-point tensor (detached), or an error naming ``name``."""
    if not torch.is_tensor(value):
        raise TypeError(f"{name} must be a torch.Tensor, got {show(value)}")
    if value.is_meta:
        raise ValueError(f"{name} must hold values, got a tensor on the meta device (shape only)")
    if not value.is_floating_point():
        raise TypeError(f"{name} must have a floating dtype (real; float64 recommended), got {value.dtype}")
    if not torch.isfinite(value).all():
        raise ValueError(f"{name} must be finite; it contains {_nonfinite(value)}")
    return value.detach()


def _nonfinite(value: torch.Tensor) -> str:
    n_nan, n_inf = int(torch.isnan(value).sum()), int(torch.isinf(value).sum())
    parts = [f"{n} {kind}" for n, kind in ((n_nan, "NaN"), (n_inf, "inf")) if n]
    return " and ".join(parts) + f" among its {value.numel()} entries"


def returned(name: str, value, like: torch.Tensor, *, finite: bool = True) -> torch.Tensor:
    """Check what a user callable returned: a tensor with the shape, dtype and device of ``like``
    (no broadcasting), finite unless ``finite=False``. ``name`` is the call, e.g. ``"fun(t0, y0)"``."""
    expected = f"a tensor of shape {tuple(like.shape)} and dtype {like.dtype} (shaped like its input)"
    if not torch.is_tensor(value):
        raise TypeError(f"{name} must return {expected}, but returned {show(value)}")
    if value.shape != like.shape:
        raise ValueError(f"{name} must return {expected}, but returned shape {tuple(value.shape)}; it is not broadcast")
    if value.dtype != like.dtype:
        raise TypeError(f"{name} must return {expected}, but returned dtype {value.dtype}")
    if value.device != like.device:
        raise ValueError(f"{name} must return a tensor on {like.device}, but returned one on {value.device}")
    if finite and not torch.isfinite(value).all():
        raise ValueError(f"{name} returned non-finite values: {_nonfinite(value)}")
    return value


def data(inputs, targets, parameter: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """A data set for a model whose parameters are like ``parameter``: tensors, samples along dimension 0
    (as many inputs as targets), real and finite, on the model's device, floating inputs in its dtype."""
    for name, t in (("inputs", inputs), ("targets", targets)):
        if not isinstance(t, torch.Tensor):
            raise TypeError(f"{name} must be a torch.Tensor with the samples along dimension 0, got {show(t)}")
        if t.dim() < 1 or t.shape[0] < 1:
            raise ValueError(f"{name} must hold at least one sample along dimension 0, got shape {tuple(t.shape)}")
        if t.is_complex() or (t.is_floating_point() and not torch.isfinite(t).all()):
            raise ValueError(f"{name} must be real and finite; got {show(t)} with NaN, inf or complex entries")
        if t.device != parameter.device:
            raise ValueError(f"{name} must be on the model's device {parameter.device}, got {t.device}")
    if inputs.shape[0] != targets.shape[0]:
        raise ValueError(
            f"inputs and targets must have the same number of samples, got {inputs.shape[0]} and {targets.shape[0]}"
        )
    if inputs.is_floating_point() and inputs.dtype != parameter.dtype:
        raise TypeError(
            f"inputs must have the parameters' dtype {parameter.dtype}, got {inputs.dtype}: "
            f"convert with inputs.to({parameter.dtype})"
        )
    return inputs, targets


def class_indices(name: str, labels: torch.Tensor, classes: int | None, why: str = "") -> torch.Tensor:
    """``labels`` (an integer tensor) if every entry is a class index in ``[0, classes)`` (``None``: only
    ``>= 0``); a ``ValueError`` naming ``name``, with the range found, otherwise."""
    if len(labels) and (int(labels.min()) < 0 or (classes is not None and int(labels.max()) >= classes)):
        raise ValueError(
            f"{name} must be class indices in [0, {classes if classes is not None else 'classes'}){why}, "
            f"got values from {int(labels.min())} to {int(labels.max())}"
        )
    return labels


def model_outputs(loss: str | None, outputs: torch.Tensor, targets: torch.Tensor):
    """A model's outputs against its targets for the named losses: ``"mse"`` needs equal shapes (no
    broadcasting), ``"cross_entropy"`` int64 class indices in range or probabilities shaped like the outputs."""
    out, tgt = tuple(outputs.shape), tuple(targets.shape)
    if loss == "mse" and out != tgt:
        raise ValueError(
            f"targets must have the shape of the model's outputs for the 'mse' loss (no broadcasting): outputs "
            f"{out}, targets {tgt} (first {len(outputs)} samples); reshape the targets, e.g. targets.reshape(-1, "
            f"{', '.join(map(str, out[1:]))})"
        )
    if loss == "cross_entropy" and not targets.is_floating_point():
        classes = out[1] if len(out) > 1 else out[0]
        if targets.dtype != torch.int64 or len(tgt) != len(out) - 1:
            raise ValueError(
                f"targets for 'cross_entropy' must be int64 class indices of shape {out[:1] + out[2:]} (or class "
                f"probabilities shaped like the outputs {out}), got {show(targets)}"
            )
        class_indices("targets for 'cross_entropy'", targets, classes, f" (the model has {classes} outputs)")
    if loss == "cross_entropy" and targets.is_floating_point() and out != tgt:
        raise ValueError(f"targets for 'cross_entropy' given as class probabilities must have shape {out}, got {tgt}")
