r"""An objective :math:`f(\theta)` of one flat parameter vector, with its derivatives.

Every tool of the course works on a flat float64 vector :math:`\theta \in \mathbb R^n`. An
:class:`Objective` turns a network, a data set :math:`\{(x_i, y_i)\}_{i=1}^N` and a loss into

.. math::

    f(\theta) = \frac1N \sum_{i=1}^N \ell\big(h_\theta(x_i), y_i\big),

evaluated through :func:`torch.func.functional_call`, so the module's own parameters are never
touched. The full batch may be processed in chunks :math:`C_1, \dots, C_J` of at most
``chunk_size`` samples: with a loss that averages over its chunk,
:math:`f = \sum_c \frac{|C_c|}{N}\,\ell_{C_c}`, which does not depend on the chunk size.

Derivatives come from reverse-mode autograd:

* :math:`\nabla f(\theta)` by one backward pass;
* :math:`\nabla^2 f(\theta)\,v = \nabla_\theta \langle \nabla f(\theta), v\rangle` by *double
  backward*: the gradient is computed with its graph kept, then differentiated once more. The graph
  can be reused for many products at the same :math:`\theta` (:meth:`~gfteach.objective.Objective.hvp_operator`), so
  each product costs one backward pass through the gradient's graph;
* the dense Hessian column by column, :math:`\nabla^2 f\, e_j` as the forward-mode derivative of
  :math:`\nabla f` in direction :math:`e_j`, vectorized over the identity. For a network, the
  columns of one layer's parameters are only differentiated against that layer and the later ones
  (earlier layers held fixed); the blocks below the diagonal then follow from symmetry.

:func:`as_objective` gives a plain callable :math:`f(\theta)` (a toy 2-D landscape, say) the same
interface. Counters (``n_value``, ``n_grad``, ``n_hvp``) record the work done.
"""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Callable, Iterator

import torch
import torch.nn.functional as F
from torch.func import functional_call

__all__ = ["Objective", "FunctionObjective", "as_objective", "LOSSES"]

#: Losses by name; each averages over the samples it is given (PyTorch's default reduction).
LOSSES: dict[str, Callable] = {"mse": F.mse_loss, "cross_entropy": F.cross_entropy}

#: Largest number of Hessian columns built in one vectorized pass (bounds the memory).
HESSIAN_BLOCK = 1024
#: Up to this many parameters the dense Hessian uses double backward (less fixed overhead than vmap).
SMALL_HESSIAN = 64


class _Differentiable:
    r"""Derivatives of :math:`f = \sum_c f_c` from the terms :math:`f_c` yielded by ``_terms``."""

    dtype: torch.dtype = torch.float64
    n_params: int | None = None

    def __init__(self):
        self.reset_counters()

    def reset_counters(self):
        """Set the counters ``n_value``, ``n_grad`` and ``n_hvp`` back to zero."""
        self.n_value = self.n_grad = self.n_hvp = 0

    def _terms(self, theta: torch.Tensor) -> Iterator[torch.Tensor]:  # pragma: no cover - abstract
        raise NotImplementedError

    def check_vector(self, theta, name: str = "theta") -> torch.Tensor:
        """Return ``theta`` detached after checking it is a finite 1-D tensor of the right dtype and length."""
        expected = "a flat 1-D parameter vector" + (f" of length {self.n_params}" if self.n_params else "")
        if not isinstance(theta, torch.Tensor):
            raise TypeError(f"{name} must be a torch.Tensor ({expected}), got {type(theta).__name__}")
        if theta.dim() != 1:
            raise ValueError(f"{name} must be {expected}, got shape {tuple(theta.shape)}")
        if theta.dtype != self.dtype:
            raise TypeError(f"{name} must have dtype {self.dtype} (the objective's), got {theta.dtype}")
        if self.n_params is not None and theta.numel() != self.n_params:
            raise ValueError(f"{name} must have length n_params = {self.n_params}, got {theta.numel()}")
        if not torch.isfinite(theta).all():
            raise ValueError(f"{name} must be finite; it contains NaN or inf")
        return theta.detach()

    # -- values and gradients -------------------------------------------------------------------
    def value(self, theta: torch.Tensor) -> torch.Tensor:
        r""":math:`f(\theta)` as a 0-dim tensor."""
        return self._value(self.check_vector(theta))

    def grad(self, theta: torch.Tensor) -> torch.Tensor:
        r""":math:`\nabla f(\theta)`, one backward pass per chunk."""
        return self._value_and_grad(self.check_vector(theta))[1]

    def value_and_grad(self, theta: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        r""":math:`(f(\theta), \nabla f(\theta))` from one forward and one backward pass per chunk."""
        return self._value_and_grad(self.check_vector(theta))

    def _value(self, theta: torch.Tensor) -> torch.Tensor:
        self.n_value += 1
        with torch.no_grad():
            return sum(self._terms(theta)).detach()

    def _value_and_grad(self, theta: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Unchecked: flows call this on stage points that may be non-finite."""
        self.n_grad += 1
        x = theta.detach().requires_grad_(True)
        value, grad = torch.zeros((), dtype=theta.dtype, device=theta.device), torch.zeros_like(theta)
        for term in self._terms(x):
            value += term.detach()
            grad += _grad_or_zero(term, x)
        return value, grad

    # -- second derivatives ---------------------------------------------------------------------
    def hvp(self, theta: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        r""":math:`\nabla^2 f(\theta)\,v` by double backward, chunk by chunk (one gradient graph at a time)."""
        x = self.check_vector(theta).requires_grad_(True)
        v = self.check_vector(v, "v")
        self.n_grad += 1
        self.n_hvp += 1
        out = torch.zeros_like(x)
        for term in self._terms(x):
            g = _grad_or_zero(term, x, create_graph=True)
            out += _grad_or_zero(g, x, v)
        return out

    def hvp_operator(self, theta: torch.Tensor) -> Callable[[torch.Tensor], torch.Tensor]:
        r"""Return :math:`v \mapsto \nabla^2 f(\theta)\,v` at a fixed :math:`\theta`.

        The gradient graph is built once (one forward and one backward pass with ``create_graph``)
        and kept, so each product then costs a single backward pass. It holds the graph of the whole
        batch in memory. The returned callable also carries the gradient as ``.gradient``.
        """
        x = self.check_vector(theta).requires_grad_(True)
        g = self._graph_gradient(x)

        def product(v: torch.Tensor) -> torch.Tensor:
            self.n_hvp += 1
            if not g.requires_grad:
                return torch.zeros_like(x)
            return torch.autograd.grad(g, x, v, retain_graph=True)[0]

        product.gradient = g.detach()
        return product

    def hessian(self, theta: torch.Tensor, block: int = HESSIAN_BLOCK) -> torch.Tensor:
        r"""Dense :math:`\nabla^2 f(\theta)` (``n x n``), for small models.

        Column :math:`j` is :math:`\nabla^2 f\, e_j`, the forward-mode derivative of :math:`\nabla f` in
        direction :math:`e_j` ("forward over reverse", the scheme of :func:`torch.func.hessian`), for
        ``block`` columns at once with :func:`torch.func.vmap`. Tiny problems
        (:math:`n \le` ``SMALL_HESSIAN``), and callables :mod:`torch.func` cannot transform, use
        batched double backward on one reused gradient graph instead (less fixed cost). The result is
        symmetrized, :math:`(H + H^\top)/2`, which changes it only at rounding level.
        """
        x = self.check_vector(theta)
        self.n_hvp += x.numel()
        H = None
        if x.numel() > SMALL_HESSIAN:
            try:
                H = self._forward_over_reverse(x, block)
                self.n_grad += 1
            except (RuntimeError, NotImplementedError):
                pass
        if H is None:
            H = self._reverse_over_reverse(x, block)
        return (H + H.T) / 2

    def _forward_over_reverse(self, x: torch.Tensor, block: int) -> torch.Tensor:
        return _hessian_rows(self._total, x, x.numel(), block)

    def _total(self, theta: torch.Tensor) -> torch.Tensor:
        return sum(self._terms(theta))

    def _reverse_over_reverse(self, x: torch.Tensor, block: int) -> torch.Tensor:
        r"""Rows :math:`\nabla_\theta\langle\nabla f, e_i\rangle` by batched backward on one gradient graph."""
        x = x.detach().requires_grad_(True)
        g = self._graph_gradient(x)
        n = x.numel()
        H = torch.zeros(n, n, dtype=x.dtype, device=x.device)
        if g.requires_grad:
            eye = torch.eye(n, dtype=x.dtype, device=x.device)
            for start in range(0, n, block):
                rows = eye[start : start + block]
                H[start : start + block] = torch.autograd.grad(g, x, rows, retain_graph=True, is_grads_batched=True)[0]
        return H

    def _graph_gradient(self, x: torch.Tensor) -> torch.Tensor:
        r""":math:`\nabla f` with its graph (``create_graph=True``), summed over the chunks."""
        self.n_grad += 1
        terms = [_grad_or_zero(term, x, create_graph=True) for term in self._terms(x)]
        return terms[0] if len(terms) == 1 else torch.stack(terms).sum(0)


def _hessian_rows(f: Callable, x: torch.Tensor, rows: int, block: int) -> torch.Tensor:
    r"""The first ``rows`` rows of :math:`\nabla^2 f(x)`, as ``jvp`` of ``jacrev(f)`` vmapped over :math:`e_j`."""
    gradient = torch.func.jacrev(f)

    def column(direction: torch.Tensor) -> torch.Tensor:
        return torch.func.jvp(gradient, (x,), (direction,))[1]

    directions = torch.eye(rows, x.numel(), dtype=x.dtype, device=x.device)
    with warnings.catch_warnings():  # torch's first jvp registers decompositions with deprecated jit.script
        warnings.filterwarnings("ignore", message=".*torch.jit.script.* is deprecated", category=DeprecationWarning)
        return torch.func.vmap(column, chunk_size=min(block, rows))(directions)


def _grad_or_zero(out: torch.Tensor, x: torch.Tensor, v: torch.Tensor | None = None, **kw) -> torch.Tensor:
    """``autograd.grad(out, x, v)``, or zeros when ``out`` does not depend on ``x``."""
    if not out.requires_grad:
        return torch.zeros_like(x)
    (g,) = torch.autograd.grad(out, x, v, allow_unused=True, **kw)
    return torch.zeros_like(x) if g is None else g


class Objective(_Differentiable):
    r"""Mean training loss of ``model`` on ``(inputs, targets)`` as a function of a flat :math:`\theta`.

    :param model: a :class:`torch.nn.Module`; its parameters (in ``named_parameters()`` order) define the
        layout of :math:`\theta`. All must share one floating dtype (float64 recommended).
    :param inputs: tensor of :math:`N` samples (first dimension :math:`N`).
    :param targets: tensor of their :math:`N` targets.
    :param loss: ``"mse"``, ``"cross_entropy"`` or a callable ``loss(outputs, targets)`` that *averages*
        over the samples it is given (so chunked evaluation is exact).
    :param chunk_size: process at most this many samples at a time (``None``: the whole batch at once).
    """

    def __init__(
        self,
        model: torch.nn.Module,
        inputs: torch.Tensor,
        targets: torch.Tensor,
        loss="mse",
        *,
        chunk_size: int | None = None,
    ):
        super().__init__()
        if not isinstance(model, torch.nn.Module):
            raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
        self.model = model
        named = list(model.named_parameters())
        if not named:
            raise ValueError("model has no parameters")
        dtypes = {p.dtype for _, p in named}
        if len(dtypes) != 1 or not named[0][1].is_floating_point():
            raise TypeError(f"all parameters must share one floating dtype, got {sorted(map(str, dtypes))}")
        self.dtype = dtypes.pop()
        self.names = [name for name, _ in named]
        self.shapes = [p.shape for _, p in named]
        self.numels = [p.numel() for _, p in named]
        self.n_params = sum(self.numels)
        self.inputs, self.targets = _check_data(inputs, targets)
        self.n_samples = self.inputs.shape[0]
        self.loss = _check_loss(loss)
        if chunk_size is not None and not (isinstance(chunk_size, int) and chunk_size > 0):
            raise ValueError(f"chunk_size must be a positive integer or None, got {chunk_size!r}")
        self.chunk_size = chunk_size

    def theta0(self) -> torch.Tensor:
        """The module's current parameters as a flat vector (a copy)."""
        return self.flatten(dict(self.model.named_parameters()))

    def flatten(self, tensors) -> torch.Tensor:
        """Concatenate tensors shaped like the parameters (a dict by name, or a sequence in order)."""
        items = [tensors[name] for name in self.names] if isinstance(tensors, dict) else list(tensors)
        if [tuple(t.shape) for t in items] != [tuple(s) for s in self.shapes]:
            raise ValueError(f"expected tensors of shapes {[tuple(s) for s in self.shapes]}")
        return torch.cat([t.detach().reshape(-1).to(self.dtype) for t in items])

    def unflatten(self, theta: torch.Tensor) -> dict[str, torch.Tensor]:
        """Views of ``theta`` shaped like the parameters, by name (differentiable)."""
        chunks = theta.split(self.numels)
        return {name: c.view(shape) for name, c, shape in zip(self.names, chunks, self.shapes)}

    def load(self, theta: torch.Tensor) -> torch.nn.Module:
        """Copy ``theta`` into the module's parameters (in place) and return the module."""
        theta = self.check_vector(theta)
        with torch.no_grad():
            for p, value in zip(self.model.parameters(), self.unflatten(theta).values()):
                p.copy_(value)
        return self.model

    def _terms(self, theta: torch.Tensor) -> Iterator[torch.Tensor]:
        return self._terms_of(self.unflatten(theta))

    def _terms_of(self, params: dict[str, torch.Tensor]) -> Iterator[torch.Tensor]:
        N, size = self.n_samples, self.chunk_size
        if size is None or size >= N:
            yield self.loss(functional_call(self.model, params, (self.inputs,)), self.targets)
            return
        for start in range(0, N, size):
            x, y = self.inputs[start : start + size], self.targets[start : start + size]
            yield self.loss(functional_call(self.model, params, (x,)), y) * (x.shape[0] / N)

    def _forward_over_reverse(self, x: torch.Tensor, block: int) -> torch.Tensor:
        r"""Dense Hessian block row by block row, exploiting symmetry.

        With the parameters grouped by module, :math:`\theta = (\theta_1, \dots, \theta_G)` in
        ``named_parameters()`` order, block row :math:`g` is :math:`\nabla^2_{\theta_g,\,\theta_{\ge g}} f`:
        the Hessian of :math:`\theta_{\ge g} \mapsto f(\theta_{<g}, \theta_{\ge g})` with the earlier groups
        held *constant*, so (in a feed-forward network) their forward tangents and their share of the
        backward pass are never computed. The blocks below the diagonal are the transposes. On the MLPs
        of ``python -m benchmarks.curvature`` this takes about half the time of :func:`torch.func.hessian`.
        """
        H = torch.empty(x.numel(), x.numel(), dtype=x.dtype, device=x.device)
        offsets = [0, *itertools.accumulate(self.numels)]
        params = self.unflatten(x)
        for first, last in self._groups():
            start, stop = offsets[first], offsets[last]
            held = {name: params[name] for name in self.names[:first]}
            names, shapes, numels = self.names[first:], self.shapes[first:], self.numels[first:]

            def tail_loss(tail: torch.Tensor, held=held, names=names, shapes=shapes, numels=numels):
                views = (c.view(shape) for c, shape in zip(tail.split(numels), shapes))
                return sum(self._terms_of(held | dict(zip(names, views))))

            rows = _hessian_rows(tail_loss, x[start:], stop - start, block)
            H[start:stop, start:] = rows
            H[stop:, start:stop] = rows[:, stop - start :].T
        return H

    def _groups(self) -> list[tuple[int, int]]:
        """Index ranges ``[first, last)`` of consecutive parameters of one module; groups smaller than
        :math:`n/8` join the previous one (a separate pass would cost more than it saves)."""
        groups: list[list[int]] = []
        for i, name in enumerate(self.names):
            if groups and self.names[groups[-1][0]].rpartition(".")[0] == name.rpartition(".")[0]:
                groups[-1].append(i)
            else:
                groups.append([i])
        merged: list[list[int]] = []
        for group in groups:
            if merged and sum(self.numels[i] for i in group) < self.n_params / 8:
                merged[-1].extend(group)
            else:
                merged.append(group)
        return [(group[0], group[-1] + 1) for group in merged]


class FunctionObjective(_Differentiable):
    """A plain callable ``f(theta) -> scalar tensor`` with the :class:`Objective` interface."""

    def __init__(
        self, f: Callable[[torch.Tensor], torch.Tensor], n_params: int | None = None, dtype: torch.dtype = torch.float64
    ):
        super().__init__()
        if not callable(f):
            raise TypeError(f"f must be callable, got {type(f).__name__}")
        if n_params is not None and not (isinstance(n_params, int) and n_params > 0):
            raise ValueError(f"n_params must be a positive integer or None, got {n_params!r}")
        self.f, self.n_params, self.dtype = f, n_params, dtype

    def _terms(self, theta: torch.Tensor) -> Iterator[torch.Tensor]:
        value = self.f(theta)
        if not isinstance(value, torch.Tensor) or value.numel() != 1:
            raise TypeError("f(theta) must return a scalar torch.Tensor")
        yield value.reshape(())


def as_objective(f, n_params: int | None = None, dtype: torch.dtype = torch.float64) -> _Differentiable:
    """Return ``f`` if it is already an objective, else wrap the callable ``f(theta)`` in :class:`FunctionObjective`."""
    if isinstance(f, _Differentiable):
        return f
    return FunctionObjective(f, n_params, dtype)


def _check_data(inputs, targets) -> tuple[torch.Tensor, torch.Tensor]:
    for name, t in (("inputs", inputs), ("targets", targets)):
        if not isinstance(t, torch.Tensor) or t.dim() < 1 or t.shape[0] < 1:
            raise ValueError(f"{name} must be a tensor with at least one sample along dimension 0")
    if inputs.shape[0] != targets.shape[0]:
        raise ValueError(
            f"inputs and targets must have the same number of samples, got {inputs.shape[0]} and {targets.shape[0]}"
        )
    return inputs, targets


def _check_loss(loss) -> Callable:
    if isinstance(loss, str):
        if loss not in LOSSES:
            raise ValueError(f"loss must be one of {sorted(LOSSES)} or a callable, got {loss!r}")
        return LOSSES[loss]
    if not callable(loss):
        raise TypeError(f"loss must be a name or a callable, got {type(loss).__name__}")
    return loss
