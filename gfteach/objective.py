r"""An objective :math:`f(\theta)` of one flat parameter vector, with its derivatives.

Every tool of the course works on a flat float64 vector :math:`\theta \in \mathbb R^n`. An :class:`Objective`
turns a network, a data set :math:`\{(x_i, y_i)\}_{i=1}^N` and a loss into

.. math::

    f(\theta) = \frac1N \sum_{i=1}^N \ell\big(h_\theta(x_i), y_i\big),

evaluated through :func:`torch.func.functional_call`, so the module's own parameters are never touched. The
full batch may be processed in chunks :math:`C_1, \dots, C_J` of at most ``chunk_size`` samples: with a loss
that averages over its chunk, :math:`f = \sum_c \frac{|C_c|}{N}\,\ell_{C_c}`, independent of the chunk size.

Derivatives come from reverse-mode autograd:

* :math:`\nabla f(\theta)` by one backward pass;
* :math:`\nabla^2 f(\theta)\,v = \nabla_\theta \langle \nabla f(\theta), v\rangle` by *double backward*: the
  gradient is computed with its graph kept, then differentiated once more; the graph can be reused for many
  products at the same :math:`\theta` (:meth:`~gfteach.objective.Objective.hvp_operator`), one backward each;
* the dense Hessian column by column, :math:`\nabla^2 f\, e_j` as the forward-mode derivative of
  :math:`\nabla f` in direction :math:`e_j`, vectorized over the identity (:mod:`gfteach.hessian`).

:func:`as_objective` gives a plain callable :math:`f(\theta)` (a toy 2-D landscape, say) the same interface.
Counters (``n_value``, ``n_grad``, ``n_hvp``) record the work done.

What the user's code returns is checked at every evaluation: the loss (or ``f(theta)``) must be a real
scalar tensor *connected to* :math:`\theta`'s autograd graph (a value computed through NumPy, ``.item()`` or
``torch.tensor(...)`` would have a silently zero gradient; fully checked at the first gradient, then by
``requires_grad``), and, at the first evaluation, the model's outputs must match the targets' shape for ``"mse"``
(no broadcasting) and the class labels for ``"cross_entropy"``. The public ``value``/``grad``/``value_and_grad``
raise a ``ValueError`` where :math:`f` or :math:`\nabla f` is not finite; the flows use unchecked versions and
report divergence themselves.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import torch
import torch.nn.functional as F
from torch.func import functional_call

from ._calls import accepts, disconnected, finite, scalar
from ._checks import data, function, integer, model_outputs, name_of, named_or_callable, show
from .hessian import HESSIAN_BLOCK, SMALL_HESSIAN, blocked_hessian, dense_hessian, grad_or_zero, hessian_rows

__all__ = ["Objective", "FunctionObjective", "as_objective", "LOSSES", "HESSIAN_BLOCK", "SMALL_HESSIAN"]

#: Losses by name; each averages over the samples it is given (PyTorch's default reduction).
LOSSES: dict[str, Callable] = {"mse": F.mse_loss, "cross_entropy": F.cross_entropy}


class _Differentiable:
    r"""Derivatives of :math:`f = \sum_c f_c` from the terms :math:`f_c` yielded by ``_terms``."""

    dtype: torch.dtype = torch.float64
    n_params: int | None = None
    #: how error messages name the user's code that computes a term
    source: str = "the objective"

    def __init__(self):
        self.reset_counters()
        self._verified = False

    def reset_counters(self):
        """Set the counters ``n_value``, ``n_grad`` and ``n_hvp`` back to zero."""
        self.n_value = self.n_grad = self.n_hvp = 0

    def _terms(self, theta: torch.Tensor) -> Iterator[torch.Tensor]:  # pragma: no cover - abstract
        raise NotImplementedError

    def check_vector(self, theta, name: str = "theta", like: torch.Tensor | None = None) -> torch.Tensor:
        """Return ``theta`` detached after checking it is a finite 1-D tensor of the right dtype and length
        (``n_params``, or that of ``like``)."""
        n = self.n_params if like is None else like.numel()
        expected = "a flat 1-D parameter vector" + (f" of length {n}" if n else "")
        if not isinstance(theta, torch.Tensor):
            raise TypeError(f"{name} must be a torch.Tensor ({expected}), got {show(theta)}")
        if theta.dtype != self.dtype:
            raise TypeError(f"{name} must have dtype {self.dtype} (the objective's), got {theta.dtype}")
        if theta.dim() != 1:
            raise ValueError(f"{name} must be {expected}, got shape {tuple(theta.shape)}")
        if n is not None and theta.numel() != n:
            raise ValueError(
                f"{name} must have length {'n_params' if like is None else 'len(theta)'} = {n}, got {theta.numel()}"
            )
        if not torch.isfinite(theta).all():
            raise ValueError(f"{name} must be finite; it contains NaN or inf")
        return theta.detach()

    def _term(self, value) -> torch.Tensor:
        """A term as a 0-d tensor, its type and shape checked at every call (O(1))."""
        return scalar(self.source, value)

    def _grad(self, term: torch.Tensor, x: torch.Tensor, **kw) -> torch.Tensor:
        r""":math:`\nabla_x` term; it must require grad at every call (and reach ``x``: checked once)."""
        if self._verified and term.requires_grad:
            return grad_or_zero(term, x, **kw)
        g = torch.autograd.grad(term, x, allow_unused=True, **kw)[0] if term.requires_grad else None
        if g is None:
            raise disconnected(self.source)
        self._verified = True
        return torch.zeros_like(x) if g._is_zerotensor() else g

    @torch.enable_grad()  # derivatives are right inside a caller's torch.no_grad() too
    def _verify_at(self, x: torch.Tensor):
        """Run the first-call checks at ``x`` (not counted) unless they have passed already."""
        if not self._verified:
            x = x.detach().requires_grad_(True)
            self._grad(next(iter(self._terms(x))), x)

    # -- values and gradients -------------------------------------------------------------------
    def value(self, theta: torch.Tensor) -> torch.Tensor:
        r""":math:`f(\theta)` as a 0-dim tensor (a ``ValueError`` if it is not finite)."""
        value = self._value(self.check_vector(theta))
        finite(self.source, value)
        return value

    def grad(self, theta: torch.Tensor) -> torch.Tensor:
        r""":math:`\nabla f(\theta)`, one backward pass per chunk (a ``ValueError`` if it is not finite)."""
        return self.value_and_grad(theta)[1]

    def value_and_grad(self, theta: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        r""":math:`(f(\theta), \nabla f(\theta))` from one forward and one backward pass per chunk (both finite,
        else a ``ValueError``)."""
        value, grad = self._value_and_grad(self.check_vector(theta))
        finite(self.source, value, grad)
        return value, grad

    def _value(self, theta: torch.Tensor) -> torch.Tensor:
        self.n_value += 1
        with torch.no_grad():
            return sum(self._terms(theta)).detach()

    @torch.enable_grad()
    def _value_and_grad(self, theta: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Unchecked: flows call this on stage points that may be non-finite."""
        self.n_grad += 1
        x = theta.detach().requires_grad_(True)
        value, grad = torch.zeros((), dtype=theta.dtype, device=theta.device), torch.zeros_like(theta)
        for term in self._terms(x):
            value += term.detach()
            grad += self._grad(term, x)
        return value, grad

    # -- second derivatives ---------------------------------------------------------------------
    @torch.enable_grad()
    def hvp(self, theta: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        r""":math:`\nabla^2 f(\theta)\,v` by double backward, chunk by chunk (one gradient graph at a time)."""
        x = self.check_vector(theta).requires_grad_(True)
        v = self.check_vector(v, "v", like=x)
        self.n_grad += 1
        self.n_hvp += 1
        out = torch.zeros_like(x)
        for term in self._terms(x):
            g = self._grad(term, x, create_graph=True)
            out += grad_or_zero(g, x, v)
        return out

    def hvp_operator(self, theta: torch.Tensor) -> Callable[[torch.Tensor], torch.Tensor]:
        r"""Return :math:`v \mapsto \nabla^2 f(\theta)\,v` at a fixed :math:`\theta`.

        The gradient graph is built once (one forward and one backward pass with ``create_graph``)
        and kept, so each product then costs a single backward pass. It holds the graph of the whole
        batch in memory. The returned callable also carries the gradient as ``.gradient``.
        """
        x = self.check_vector(theta).requires_grad_(True)
        g = self._graph_gradient(x)

        @torch.enable_grad()
        def product(v: torch.Tensor) -> torch.Tensor:
            if not (isinstance(v, torch.Tensor) and v.shape == x.shape and v.dtype == x.dtype):
                self.check_vector(v, "v", like=x)  # raises, naming v
            self.n_hvp += 1
            return grad_or_zero(g, x, v, retain_graph=True)

        product.gradient = g.detach()
        return product

    @torch.enable_grad()
    def hessian(self, theta: torch.Tensor, block: int = HESSIAN_BLOCK) -> torch.Tensor:
        r"""Dense :math:`\nabla^2 f(\theta)` (``n x n``), for small models; see :mod:`gfteach.hessian`."""
        x = self.check_vector(theta)
        block = integer("block", block, minimum=1)
        self._verify_at(x)
        self.n_hvp += x.numel()
        H, vectorized = dense_hessian(self._forward_over_reverse, self._graph_gradient, x, block)
        self.n_grad += vectorized
        return H

    def _forward_over_reverse(self, x: torch.Tensor, block: int) -> torch.Tensor:
        return hessian_rows(self._total, x, x.numel(), block)

    def _total(self, theta: torch.Tensor) -> torch.Tensor:
        return sum(self._terms(theta))

    @torch.enable_grad()
    def _graph_gradient(self, x: torch.Tensor) -> torch.Tensor:
        r""":math:`\nabla f` with its graph (``create_graph=True``), summed over the chunks."""
        self.n_grad += 1
        terms = [self._grad(term, x, create_graph=True) for term in self._terms(x)]
        return terms[0] if len(terms) == 1 else torch.stack(terms).sum(0)


class Objective(_Differentiable):
    r"""Mean training loss of ``model`` on ``(inputs, targets)`` as a function of a flat :math:`\theta`.

    :param model: a :class:`torch.nn.Module`; its parameters (in ``named_parameters()`` order) define the
        layout of :math:`\theta`. All must share one floating dtype (float64 recommended).
    :param inputs: tensor of :math:`N` finite samples (first dimension :math:`N`; a floating dtype must be
        the parameters').
    :param targets: tensor of their :math:`N` targets: shaped like the model's outputs for ``"mse"``,
        class indices (int64) or class probabilities for ``"cross_entropy"``.
    :param loss: ``"mse"``, ``"cross_entropy"`` or a callable ``loss(outputs, targets)`` that *averages*
        over the samples it is given (so chunked evaluation is exact) and returns a scalar.
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
            raise TypeError(f"model must be a torch.nn.Module, got {show(model)}")
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
        self.inputs, self.targets = data(inputs, targets, named[0][1])
        self.n_samples = self.inputs.shape[0]
        self.loss = named_or_callable("loss", loss, LOSSES)
        self.loss_name = loss if isinstance(loss, str) else None
        self.source = f"the loss {loss!r}" if isinstance(loss, str) else f"loss(outputs, targets) ({name_of(loss)})"
        self.chunk_size = None if chunk_size is None else integer("chunk_size", chunk_size, minimum=1)
        self._outputs_checked = False

    def theta0(self) -> torch.Tensor:
        """The module's current parameters as a flat vector (a copy)."""
        return self.flatten(dict(self.model.named_parameters()))

    def flatten(self, tensors) -> torch.Tensor:
        """Concatenate tensors shaped like the parameters (a dict by name, or a sequence in order)."""
        expected = [tuple(s) for s in self.shapes]
        if not isinstance(tensors, (dict, list, tuple)):
            raise TypeError(
                f"tensors must be a dict by name or a list of tensors shaped {expected}, got {show(tensors)}"
            )
        items = [tensors.get(name) for name in self.names] if isinstance(tensors, dict) else list(tensors)
        if [tuple(t.shape) if isinstance(t, torch.Tensor) else None for t in items] != expected:
            got = [show(t) for t in items]
            raise ValueError(f"tensors must be tensors of shapes {expected} (by name or in order), got {got}")
        return torch.cat([t.detach().reshape(-1).to(self.dtype) for t in items])

    def unflatten(self, theta: torch.Tensor) -> dict[str, torch.Tensor]:
        """Views of ``theta`` shaped like the parameters, by name (differentiable)."""
        self.check_vector(theta)  # raises on junk; the views below are of theta itself
        return self._split(theta)

    def _split(self, theta: torch.Tensor) -> dict[str, torch.Tensor]:
        chunks = theta.split(self.numels)
        return {name: c.view(shape) for name, c, shape in zip(self.names, chunks, self.shapes)}

    def load(self, theta: torch.Tensor) -> torch.nn.Module:
        """Copy ``theta`` into the module's parameters (in place) and return the module."""
        theta = self.check_vector(theta)
        with torch.no_grad():
            for p, value in zip(self.model.parameters(), self._split(theta).values()):
                p.copy_(value)
        return self.model

    def _terms(self, theta: torch.Tensor) -> Iterator[torch.Tensor]:
        return self._terms_of(self._split(theta))

    def _terms_of(self, params: dict[str, torch.Tensor]) -> Iterator[torch.Tensor]:
        N, size = self.n_samples, self.chunk_size
        size = N if size is None else min(size, N)
        for start in range(0, N, size):
            x, y = self.inputs[start : start + size], self.targets[start : start + size]
            if self._outputs_checked:
                outputs = functional_call(self.model, params, (x,))
            else:
                outputs = self._first_outputs(params, x, y)
            term = self._term(self.loss(outputs, y))
            yield term if size == N else term * (x.shape[0] / N)

    def _first_outputs(self, params, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        try:
            outputs = functional_call(self.model, params, (x,))
        except RuntimeError as error:
            raise ValueError(f"model(inputs) failed on inputs of shape {tuple(x.shape)}: {error}") from error
        if not isinstance(outputs, torch.Tensor):
            raise TypeError(f"model(inputs) must return a tensor of outputs, got {show(outputs)}")
        model_outputs(self.loss_name, outputs, y)
        self._outputs_checked = True
        return outputs

    def _forward_over_reverse(self, x: torch.Tensor, block: int) -> torch.Tensor:
        """Dense Hessian block row by block row, exploiting symmetry (:func:`gfteach.hessian.blocked_hessian`)."""
        return blocked_hessian(lambda p: sum(self._terms_of(p)), self.names, self.shapes, self.numels, x, block)


class FunctionObjective(_Differentiable):
    """A plain callable ``f(theta) -> scalar tensor`` with the :class:`Objective` interface.

    ``f`` must compute its value from ``theta`` with torch operations (checked at the first gradient)."""

    def __init__(
        self, f: Callable[[torch.Tensor], torch.Tensor], n_params: int | None = None, dtype: torch.dtype = torch.float64
    ):
        super().__init__()
        accepts("f", function("f", f), "f(theta) of the parameter vector", torch.zeros(0))
        if n_params is not None:
            n_params = integer("n_params", n_params, minimum=1)
        if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
            raise TypeError(f"dtype must be a floating torch.dtype (torch.float64 recommended), got {show(dtype)}")
        self.f, self.n_params, self.dtype = f, n_params, dtype
        self.source = f"f(theta) ({name_of(f)})"

    def _terms(self, theta: torch.Tensor) -> Iterator[torch.Tensor]:
        yield self._term(self.f(theta))


def as_objective(f, n_params: int | None = None, dtype: torch.dtype = torch.float64) -> _Differentiable:
    """Return ``f`` if it is already an objective, else wrap the callable ``f(theta)`` in :class:`FunctionObjective`."""
    if isinstance(f, _Differentiable):
        return f
    if not callable(f):
        raise TypeError(f"the objective must be an Objective or a callable f(theta), got {show(f)}")
    return FunctionObjective(f, n_params, dtype)
