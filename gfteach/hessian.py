r"""The dense Hessian :math:`\nabla^2 f(\theta)` of an objective, for small models.

Column :math:`j` is :math:`\nabla^2 f\, e_j`, the forward-mode derivative of :math:`\nabla f` in
direction :math:`e_j` ("forward over reverse", the scheme of :func:`torch.func.hessian`), for
``block`` columns at once with :func:`torch.func.vmap`. For a network the parameters are grouped by
module, :math:`\theta = (\theta_1, \dots, \theta_G)` in ``named_parameters()`` order, and block row
:math:`g` is :math:`\nabla^2_{\theta_g,\,\theta_{\ge g}} f`: the Hessian of
:math:`\theta_{\ge g} \mapsto f(\theta_{<g}, \theta_{\ge g})` with the earlier groups held *constant*,
so (in a feed-forward network) their forward tangents and their share of the backward pass are never
computed; the blocks below the diagonal are the transposes. On the MLPs of
``python -m benchmarks.curvature`` this takes about half the time of :func:`torch.func.hessian`.

Tiny problems (:math:`n \le` :data:`SMALL_HESSIAN`), and callables :mod:`torch.func` cannot transform,
use batched double backward on one reused gradient graph instead (rows
:math:`\nabla_\theta\langle\nabla f, e_i\rangle`; less fixed cost). The result is symmetrized,
:math:`(H + H^\top)/2`, which changes it only at rounding level.

These functions serve :meth:`gfteach.objective.Objective.hessian`; they take the objective's pieces
(its summed loss, its gradient graph, its parameter layout) and never import the objective module.
"""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Callable, Sequence

import torch

from ._checks import allocation, function, integer, show

__all__ = ["HESSIAN_BLOCK", "SMALL_HESSIAN", "dense_hessian", "hessian_rows", "parameter_groups"]

#: Largest number of Hessian columns built in one vectorized pass (bounds the memory).
HESSIAN_BLOCK = 1024
#: Up to this many parameters the dense Hessian uses double backward (less fixed overhead than vmap).
SMALL_HESSIAN = 64


def dense_hessian(fast: Callable, graph_gradient: Callable, x: torch.Tensor, block: int) -> tuple[torch.Tensor, bool]:
    r"""The symmetrized dense Hessian at ``x``, and whether the vectorized path ``fast(x, block)`` made it.

    ``graph_gradient(x)`` returns :math:`\nabla f(x)` with its graph (``x`` requiring grad), for the
    double-backward path taken for small ``x`` or when :mod:`torch.func` cannot transform ``f``.
    """
    n = x.numel()
    allocation("theta", n * n, f"a dense {n} x {n} Hessian (theta has {n} entries)")
    H, vectorized = None, False
    if n > SMALL_HESSIAN:
        try:
            H, vectorized = fast(x, block), True
        except (RuntimeError, NotImplementedError):
            pass
    if H is None:
        H = reverse_over_reverse(graph_gradient, x, block)
    return (H + H.T) / 2, vectorized


def reverse_over_reverse(graph_gradient: Callable, x: torch.Tensor, block: int) -> torch.Tensor:
    r"""Rows :math:`\nabla_\theta\langle\nabla f, e_i\rangle` by batched backward on one gradient graph."""
    x = x.detach().requires_grad_(True)
    g = graph_gradient(x)
    n = x.numel()
    H = torch.zeros(n, n, dtype=x.dtype, device=x.device)
    if g.requires_grad:
        eye = torch.eye(n, dtype=x.dtype, device=x.device)
        for start in range(0, n, block):
            rows = eye[start : start + block]
            H[start : start + block] = torch.autograd.grad(g, x, rows, retain_graph=True, is_grads_batched=True)[0]
    return H


def hessian_rows(f: Callable, x: torch.Tensor, rows: int, block: int) -> torch.Tensor:
    r"""The first ``rows`` rows of :math:`\nabla^2 f(x)` (``0 <= rows <= len(x)``), as ``jvp`` of ``jacrev(f)``
    vmapped over :math:`e_j`, ``block`` (>= 1) at a time."""
    function("f", f)
    if not (torch.is_tensor(x) and x.dim() == 1 and x.is_floating_point()):
        raise TypeError(f"x must be a 1-D floating-point tensor (the flat parameters), got {show(x)}")
    rows, block = integer("rows", rows, minimum=0), integer("block", block, minimum=1)
    if rows > x.numel():
        raise ValueError(f"rows must be at most len(x) = {x.numel()}, got {rows}")
    allocation("rows", rows * x.numel(), f"{rows} Hessian rows of {x.numel()} entries")
    if rows == 0:
        return x.new_zeros(0, x.numel())
    gradient = torch.func.jacrev(f)

    def column(direction: torch.Tensor) -> torch.Tensor:
        return torch.func.jvp(gradient, (x,), (direction,))[1]

    directions = torch.eye(rows, x.numel(), dtype=x.dtype, device=x.device)
    with warnings.catch_warnings():  # torch's first jvp registers decompositions with deprecated jit.script
        warnings.filterwarnings("ignore", message=".*torch.jit.script.* is deprecated", category=DeprecationWarning)
        return torch.func.vmap(column, chunk_size=min(block, rows))(directions)


def blocked_hessian(
    loss_of: Callable[[dict[str, torch.Tensor]], torch.Tensor],
    names: Sequence[str],
    shapes: Sequence[torch.Size],
    numels: Sequence[int],
    x: torch.Tensor,
    block: int,
) -> torch.Tensor:
    """Dense Hessian of ``loss_of(parameters by name)`` at the flat ``x``, block row by block row
    (see the module), exploiting symmetry."""
    H = torch.empty(x.numel(), x.numel(), dtype=x.dtype, device=x.device)
    offsets = [0, *itertools.accumulate(numels)]
    params = {name: c.view(shape) for name, c, shape in zip(names, x.split(list(numels)), shapes)}
    for first, last in parameter_groups(names, numels):
        start, stop = offsets[first], offsets[last]
        held = {name: params[name] for name in names[:first]}
        tail_names, tail_shapes, tail_numels = names[first:], shapes[first:], list(numels[first:])

        def tail_loss(tail: torch.Tensor, held=held, names=tail_names, shapes=tail_shapes, numels=tail_numels):
            views = (c.view(shape) for c, shape in zip(tail.split(numels), shapes))
            return loss_of(held | dict(zip(names, views)))

        rows = hessian_rows(tail_loss, x[start:], stop - start, block)
        H[start:stop, start:] = rows
        H[stop:, start:stop] = rows[:, stop - start :].T
    return H


def parameter_groups(names: Sequence[str], numels: Sequence[int]) -> list[tuple[int, int]]:
    """Index ranges ``[first, last)`` of consecutive parameters of one module; groups smaller than
    :math:`n/8` join the previous one (a separate pass would cost more than it saves). ``names`` and
    ``numels`` (sizes >= 0) are parallel sequences, one entry per parameter."""
    for arg, values in (("names", names), ("numels", numels)):
        if isinstance(values, (str, bytes)) or not isinstance(values, Sequence):
            raise TypeError(f"{arg} must be a sequence (one entry per parameter), got {show(values)}")
    if len(names) != len(numels):
        raise ValueError(
            f"names and numels must have one entry per parameter, got {len(names)} names and {len(numels)} numels"
        )
    for i, (name, size) in enumerate(zip(names, numels)):
        if not isinstance(name, str):
            raise TypeError(f"names[{i}] must be a parameter name (a str), got {show(name)}")
        integer(f"numels[{i}]", size, minimum=0)
    n_params = sum(numels)
    groups: list[list[int]] = []
    for i, name in enumerate(names):
        if groups and names[groups[-1][0]].rpartition(".")[0] == name.rpartition(".")[0]:
            groups[-1].append(i)
        else:
            groups.append([i])
    merged: list[list[int]] = []
    for group in groups:
        if merged and sum(numels[i] for i in group) < n_params / 8:
            merged[-1].extend(group)
        else:
            merged.append(group)
    return [(group[0], group[-1] + 1) for group in merged]


def grad_or_zero(out: torch.Tensor, x: torch.Tensor, v: torch.Tensor | None = None, **kw) -> torch.Tensor:
    """``autograd.grad(out, x, v)``, or zeros when ``out`` does not depend on ``x`` (never a ZeroTensor)."""
    if not out.requires_grad:
        return torch.zeros_like(x)
    (g,) = torch.autograd.grad(out, x, v, allow_unused=True, **kw)
    return torch.zeros_like(x) if g is None or g._is_zerotensor() else g
