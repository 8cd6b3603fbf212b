"""Checks of the user's callables beyond the argument checks of :mod:`gfteach._checks`: that a callable
accepts the arguments the package passes it, that it leaves its tensor argument unmodified (the solvers reuse
that tensor), and what an objective ``f(theta)`` returns: a real floating-point scalar, connected to theta's
autograd graph, and finite where the public value and gradient are asked for.

Every check but :func:`finite` (one sum over the gradient) costs O(1), so it may run at every call.
"""

from __future__ import annotations

import inspect
import math

import torch

from ._checks import name_of, show

__all__ = ["accepts", "in_place", "scalar", "disconnected", "finite"]


def accepts(name: str, f, form: str, *args):
    """``f``; a ``TypeError`` naming ``name`` now if ``f`` cannot be called with ``args`` (as ``form`` says,
    e.g. ``"fun(t, y)"``), rather than a TypeError from deep inside the package. A callable without an
    inspectable signature (some builtins) passes: its first call will tell."""
    try:
        signature = inspect.signature(f)
    except (TypeError, ValueError):
        return f
    try:
        signature.bind(*args)
    except TypeError:
        raise TypeError(f"{name} must be a function {form}, got {name_of(f)}{signature}") from None
    return f


def in_place(name: str, argument: str, where: str, example: str) -> ValueError:
    """The error for a callable ``name`` that modified its tensor ``argument`` in place (``where``: when)."""
    return ValueError(
        f"{name} must not modify its argument {argument} in place (it did {where}): the caller reuses "
        f"{argument}, so the result would be silently wrong; return a new tensor, e.g. {example}"
    )


def scalar(source: str, value) -> torch.Tensor:
    """``value`` as a 0-d tensor if it is a real floating-point scalar (0-d or one-element) tensor; an error
    naming ``source`` (the user's code, e.g. ``"f(theta) (<lambda>)"``) otherwise."""
    if not isinstance(value, torch.Tensor):
        raise TypeError(f"{source} must return a scalar torch.Tensor, but returned {show(value)}")
    if value.numel() != 1:
        raise ValueError(
            f"{source} must return a scalar (0-d or one-element) tensor, but returned shape "
            f"{tuple(value.shape)}: reduce it to one number (a loss averages over samples and outputs)"
        )
    if not value.is_floating_point():
        raise TypeError(f"{source} must return a real floating-point scalar, but returned {value.dtype}")
    return value.reshape(())


def disconnected(source: str) -> ValueError:
    """The error for a value that is not connected to theta's autograd graph (its gradient would be 0)."""
    return ValueError(
        f"{source} is not connected to theta's autograd graph, so its gradient would silently be 0: "
        "it was computed outside torch autograd (through NumPy, .item(), .detach() or torch.tensor(...)) "
        "or does not use theta. Compute it from theta with torch operations (a constant objective: "
        "0 * theta.sum())"
    )


def finite(source: str, value: torch.Tensor, grad: torch.Tensor | None = None) -> None:
    """A ``ValueError`` naming ``source`` if ``value`` (or ``grad``) is not finite at a finite theta."""
    if not math.isfinite(value.item()):
        raise ValueError(
            f"{source} returned the non-finite value {value.item()} at a finite theta: f is undefined there "
            "(e.g. log or division by 0, an overflow, or NaN in the formula)"
        )
    # one reduction (NaN and inf propagate into the sum); only a sum that overflows needs the exact test
    if grad is not None and not math.isfinite(float(grad.sum())) and not bool(torch.isfinite(grad).all()):
        bad = int((~torch.isfinite(grad)).sum())
        raise ValueError(
            f"the gradient of {source} is not finite at theta ({bad} of its {grad.numel()} entries are NaN or "
            "inf): f is not differentiable there (e.g. sqrt or abs at 0, or a NaN from torch.where)"
        )
