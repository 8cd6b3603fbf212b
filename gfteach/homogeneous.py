r"""Networks with positively homogeneous activations: their loss on digits and its curvature.

**Homogeneity.** A bias-free network :math:`h_\theta(x) = W_N\sigma(W_{N-1}\cdots\sigma(W_1x))` whose
activation satisfies :math:`\sigma(cz) = c\,\sigma(z)` for :math:`c > 0` (linear, ReLU, leaky ReLU)
satisfies :math:`h_{c\theta}(x) = c^N h_\theta(x)`; its gradient in :math:`\theta` scales like
:math:`c^{N-1}` and its Hessian like :math:`c^{N-2}` (off the kinks of the ReLU).

**What this module computes** (Chapter 3 shows each computation in its cells):

* :class:`MLPObjective` / :func:`digits_objective`: the mean cross-entropy of such a network on real
  8×8 digits, with a near-zero initial point :math:`\theta_0 \sim \mathcal N(0, \text{scale}^2 I)`;
* :func:`scaled_curvature`: :math:`\lambda_{\min}`, :math:`\lambda_{\max}` of :math:`\nabla^2 f(c\,\theta)` for
  several factors :math:`c` (far out, and near the origin, where homogeneity predicts
  :math:`|\lambda_{\min}| \propto c^{N-2}` for deep linear networks);
* :func:`same_layer_norms` / :func:`random_curvature`: random points whose every layer has the norm of
  the corresponding layer of a given point, and :math:`\lambda_{\min}` there — what the layer sizes alone
  allow, to compare with the curvature along gradient flow;
* :func:`linear_cross_entropy` / :func:`loss_gradient`: the convex loss :math:`L(W)` of a *linear*
  network as a function of its end-to-end matrix, :math:`f(\theta) = L(W_N\cdots W_1)` (with
  :func:`gfteach.linear.product_objective`; the bounds module calls it :math:`\varphi`), and
  :math:`\nabla L`. At depth 2 the origin is a strict saddle with
  :math:`\lambda_{\min}(\nabla^2 f(0)) = -\sigma_{\max}(\nabla L(0))`;
* :func:`bound_cases` / :func:`balanced_cases`: deep linear instances on which the book's lower bound
  (:func:`gfteach.bounds.hessian_lower_bound`) and its balanced corollary
  (:func:`gfteach.bounds.balanced_scalar_bound`) are compared with the exact :math:`\lambda_{\min}`.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch

from ._checks import allocation, choice, class_indices, function, integer, positive_integers, real, show, state, vector
from .bounds import balanced_scalar_bound, hessian_lower_bound
from .curvature import extreme_eigenvalues
from .data import digits_subset
from .linear import balanced_init, end_to_end, product_objective, theta_from_layers, whitened_loss
from .nets import ACTIVATIONS, as_generator, mlp, near_zero_init_
from .objective import FunctionObjective, as_objective
from .utils import threads

__all__ = [
    "MLPObjective",
    "digits_objective",
    "near_zero_point",
    "scaled_curvature",
    "same_layer_norms",
    "random_curvature",
    "linear_cross_entropy",
    "loss_gradient",
    "BoundCase",
    "bound_cases",
    "balanced_cases",
]

_F64 = torch.float64


def _layer_sizes(dims: list[int]) -> list[int]:
    """Entries of each layer ``W_j`` (``dims[j] × dims[j-1]``), refused above the package's allocation limit."""
    sizes = [a * b for a, b in zip(dims[:-1], dims[1:])]
    allocation("dims", sum(sizes), f"a network of {sum(sizes)} weights")
    return sizes


def _samples(X) -> torch.Tensor:
    """``X`` with one sample per row (images flattened), float64 and finite."""
    if not torch.is_tensor(X) or X.dtype == torch.bool or X.is_complex():
        raise TypeError(f"X must be a real tensor with the samples along dimension 0, got {show(X)}")
    if X.dim() < 1 or len(X) < 1:
        raise ValueError(f"X must hold at least one sample along dimension 0, got shape {tuple(X.shape)}")
    return state("X", X.reshape(len(X), -1).to(_F64))


def _labels(y, n: int, classes: int | None) -> torch.Tensor:
    """``y`` as int64 class indices, one per sample (of ``n``), in ``[0, classes)`` when ``classes`` is given."""
    if not torch.is_tensor(y) or y.dtype == torch.bool or y.is_floating_point() or y.is_complex():
        raise TypeError(f"y must be a tensor of integer class indices (int64), one per sample, got {show(y)}")
    if tuple(y.shape) != (n,):
        raise ValueError(f"y must hold one label per sample of X, shape ({n},), got shape {tuple(y.shape)}")
    return class_indices("y", y, classes).long()


class MLPObjective(FunctionObjective):
    r"""Mean cross-entropy of the bias-free network ``gfteach.nets.mlp(dims, activation)`` on ``(X, y)``.

    Written out as matrix products on the flat :math:`\theta` (layers :math:`W_j` of shape
    ``(dims[j], dims[j-1])`` in order, the parameter layout of ``mlp``), so it equals
    ``Objective(mlp(dims, activation), X, y, "cross_entropy")`` while skipping the module machinery,
    which dominates the cost of networks this small. ``X``: the samples along dimension 0 (flattened),
    ``y``: their integer class labels in ``[0, dims[-1])``. ``sizes`` lists the layer sizes.
    """

    def __init__(self, dims: Sequence[int], activation: str, X: torch.Tensor, y: torch.Tensor):
        self.dims = positive_integers("dims", dims, at_least=2)
        self.activation = choice("activation", activation, sorted(ACTIVATIONS))
        self.sizes = _layer_sizes(self.dims)
        X = _samples(X)
        if X.shape[1] != self.dims[0]:
            raise ValueError(f"X must have dims[0] = {self.dims[0]} features per sample, got {X.shape[1]}")
        y = _labels(y, len(X), self.dims[-1])
        shapes = [(b, a) for a, b in zip(self.dims[:-1], self.dims[1:])]
        act = ACTIVATIONS[activation]()  # the same activations (and leaky slope) as gfteach.nets

        def loss(theta: torch.Tensor) -> torch.Tensor:
            h = X
            for i, (W, shape) in enumerate(zip(theta.split(self.sizes), shapes)):
                h = (h if i == 0 else act(h)) @ W.view(shape).T
            return torch.nn.functional.cross_entropy(h, y)

        super().__init__(loss, n_params=sum(self.sizes))


def near_zero_point(dims: Sequence[int], scale: float, seed: int = 1) -> torch.Tensor:
    r""":math:`\theta_0` with i.i.d. :math:`\mathcal N(0, \text{scale}^2)` weights, drawn by
    :func:`gfteach.nets.near_zero_init_` on ``mlp(dims)`` with a generator seeded with ``seed`` (an integer
    or a ``torch.Generator``; ``None`` is an error, so that results reproduce)."""
    dims = positive_integers("dims", dims, at_least=2)
    _layer_sizes(dims)
    net = near_zero_init_(mlp(dims, "linear"), scale, as_generator(seed, "seed"))
    return torch.cat([p.detach().reshape(-1) for p in net.parameters()])


@functools.lru_cache(maxsize=4)
def _digits(n: int) -> tuple[torch.Tensor, torch.Tensor]:
    return digits_subset(n)


def digits_objective(
    activation: str = "relu", depth: int = 3, width: int = 6, n: int = 100, scale: float = 0.08, seed: int = 1
) -> tuple[MLPObjective, torch.Tensor]:
    r"""The chapter's network: ``64 → width → … → width → 10`` (``depth`` layers) on the first ``n`` digits,
    and its near-zero :math:`\theta_0` (:func:`near_zero_point`)."""
    depth, width = integer("depth", depth, minimum=1), integer("width", width, minimum=1)
    weights = 640 if depth == 1 else 74 * width + (depth - 2) * width * width
    allocation("depth and width", weights, f"a network of {weights} weights")
    X, y = _digits(integer("n", n, minimum=1))
    dims = [64] + [width] * (depth - 1) + [10]
    return MLPObjective(dims, activation, X, y), near_zero_point(dims, scale, seed)


@threads(1)
def scaled_curvature(obj, theta: torch.Tensor, factors: Sequence[float], tol: float = 1e-8):
    r""":math:`\lambda_{\min}` and :math:`\lambda_{\max}` of :math:`\nabla^2 f(c\,\theta)` for each factor
    :math:`c` in ``factors``, as two float64 tensors (Lanczos to relative residual ``tol``)."""
    obj = as_objective(obj)
    theta = obj.check_vector(theta)
    factors = [real(f"factors[{i}]", c) for i, c in enumerate(vector("factors", factors).tolist())]
    pairs = [extreme_eigenvalues(obj, c * theta, tol=tol) for c in factors]
    return (
        torch.tensor([e.lambda_min for e in pairs], dtype=_F64),
        torch.tensor([e.lambda_max for e in pairs], dtype=_F64),
    )


def same_layer_norms(theta: torch.Tensor, sizes: Sequence[int], generator: torch.Generator) -> torch.Tensor:
    r"""A random point whose layer :math:`j` (the ``sizes[j]`` entries after the previous layers) has the
    Frobenius norm of layer :math:`j` of ``theta``, in a uniformly random direction, drawn from
    ``generator`` (a ``torch.Generator`` or an integer seed; ``None`` is an error, so that results reproduce)."""
    theta, sizes = state("theta", theta), positive_integers("sizes", sizes, at_least=1)
    generator = as_generator(generator)
    if theta.dim() != 1:
        raise ValueError(f"theta must be a flat 1-D parameter vector, got shape {tuple(theta.shape)}")
    if sum(sizes) != theta.numel():
        raise ValueError(f"sizes must add up to theta's {theta.numel()} entries, got {sizes}")
    z = torch.randn(theta.numel(), generator=generator, dtype=_F64)
    return torch.cat([a / a.norm() * b.norm() for a, b in zip(z.split(sizes), theta.split(sizes))])


@threads(1)
def random_curvature(
    obj, thetas: torch.Tensor, sizes: Sequence[int] | None = None, draws: int = 2, seed: int = 0, tol: float = 1e-6
) -> torch.Tensor:
    r""":math:`\lambda_{\min}` at ``draws`` random points with the layer norms of each row of ``thetas``:
    a tensor of shape ``(len(thetas), draws)``, drawn from a generator seeded with ``seed``. ``sizes`` (the
    entries of each layer) defaults to ``obj.sizes`` (:class:`MLPObjective`)."""
    if sizes is None and getattr(obj, "sizes", None) is None:
        raise TypeError(
            f"sizes is required: obj ({type(obj).__name__}) has no .sizes (an MLPObjective has); pass sizes, "
            "the number of entries of each layer"
        )
    sizes = positive_integers("sizes", obj.sizes if sizes is None else sizes, at_least=1)
    draws, g = integer("draws", draws, minimum=1), as_generator(seed, "seed")
    thetas = state("thetas", thetas)
    if thetas.dim() != 2:
        raise ValueError(f"thetas must be a 2-D tensor, one parameter vector per row, got shape {tuple(thetas.shape)}")
    rows = [
        [extreme_eigenvalues(obj, same_layer_norms(theta, sizes, g), tol=tol).lambda_min for _ in range(draws)]
        for theta in thetas
    ]
    return torch.tensor(rows, dtype=_F64).reshape(len(thetas), draws)


# -- deep linear networks: f = L(W_N ... W_1) --------------------------------------------------------


def linear_cross_entropy(X: torch.Tensor, y: torch.Tensor) -> Callable[[torch.Tensor], torch.Tensor]:
    r""":math:`L(W)` = mean cross-entropy of the logits :math:`Wx_i` (samples are the rows of ``X``,
    flattened): convex in :math:`W`, and the loss of a linear network is :math:`L(W_N\cdots W_1)`."""
    Xf = _samples(X)
    y = _labels(y, len(Xf), None)
    return lambda W: torch.nn.functional.cross_entropy(Xf @ W.T, y)


def loss_gradient(L: Callable[[torch.Tensor], torch.Tensor], W: torch.Tensor) -> torch.Tensor:
    r""":math:`\nabla L(W)` by autograd (``L`` maps a matrix to a scalar tensor, with torch operations)."""
    L, W = function("L", L), state("W", W).to(_F64).requires_grad_(True)
    value = L(W)
    if not torch.is_tensor(value) or value.numel() != 1 or not value.is_floating_point():
        raise TypeError(f"L must map W to a real scalar tensor (the loss), but L(W) returned {show(value)}")
    if not torch.isfinite(value).all():
        raise ValueError(f"L must return a finite loss, but L(W) returned {float(value.detach())!r}")
    grad = torch.autograd.grad(value, W, allow_unused=True)[0] if value.requires_grad else None
    if grad is None:
        raise ValueError("L must compute L(W) from W with torch operations (autograd), but L(W) does not depend on W")
    return grad


@dataclass
class BoundCase:
    """One deep linear instance: its depth, ``kind`` (``random``, ``near-tight``, ``balanced``), the exact
    :math:`\\lambda_{\\min}` (dense Hessian) and a lower bound on it."""

    depth: int
    kind: str
    lambda_min: float
    bound: float

    @property
    def ratio(self) -> float:
        """:math:`\\lambda_{\\min}/\\text{bound}`: at most 1 when the (negative) bound holds; NaN if bound ≥ 0."""
        return self.lambda_min / self.bound if self.bound < 0 else float("nan")


def _exact_lambda_min(obj, layers) -> float:
    return extreme_eigenvalues(obj, theta_from_layers(layers), dense=True).lambda_min


def _case(kind: str, dims, layers, loss) -> BoundCase:
    obj = product_objective(dims, loss)
    bound = hessian_lower_bound(layers, loss_gradient(loss, end_to_end(layers)))
    return BoundCase(len(layers), kind, _exact_lambda_min(obj, layers), bound)


def _instances(seed, depths, per_depth) -> tuple[torch.Generator, list[int], int]:
    """The checked arguments of :func:`bound_cases` and :func:`balanced_cases`."""
    g = as_generator(seed, "seed")
    return g, positive_integers("depths", depths, at_least=1), integer("per_depth", per_depth, minimum=0)


def _unit(d: int, g: torch.Generator) -> torch.Tensor:
    v = torch.randn(d, generator=g, dtype=_F64)
    return v / v.norm()


@threads(1)
def bound_cases(seed: int = 0, depths: Sequence[int] = (2, 3, 4, 5), per_depth: int = 6) -> list[BoundCase]:
    r"""Deep linear instances with the exact :math:`\lambda_{\min}` and :func:`~gfteach.bounds.hessian_lower_bound`.

    Per depth: ``per_depth`` *random* instances (random shapes ≤ 3, layers of random scale, and
    alternately :math:`L = \tfrac12\|W - \Phi\|_F^2` or a cross-entropy), then two *near-tight* ones:
    an aligned rank-one chain :math:`W_j = a\,u_ju_{j-1}^\top` (:math:`a = 0.5, 0.2`) with
    :math:`L = \tfrac12\|W - u_Nu_0^\top\|_F^2`. In the direction :math:`\Delta_j = u_ju_{j-1}^\top/\sqrt N`
    the quadratic form is :math:`Na^{2N-2} - (N-1)a^{N-2}(1 - a^N)` while the bound is
    :math:`-(N-1)a^{N-2}(1 - a^N)`: their ratio tends to 1 as :math:`a \to 0`.
    """
    g, depths, per_depth = _instances(seed, depths, per_depth)
    cases = []
    for N in depths:
        for r in range(per_depth):
            dims = torch.randint(1, 4, (N + 1,), generator=g).tolist()
            scale = 0.3 + 1.2 * float(torch.rand((), generator=g, dtype=_F64))
            layers = [scale * torch.randn(b, a, generator=g, dtype=_F64) / math.sqrt(a) for a, b in zip(dims, dims[1:])]
            if r % 2 == 0:
                Phi = torch.randn(dims[-1], dims[0], generator=g, dtype=_F64)
                loss = functools.partial(whitened_loss, Phi=Phi)
            else:
                X = torch.randn(7, dims[0], generator=g, dtype=_F64)
                loss = linear_cross_entropy(X, torch.randint(0, dims[-1], (7,), generator=g))
            cases.append(_case("random", dims, layers, loss))
        for a in (0.5, 0.2):
            dims = [2] + [3] * (N - 1) + [2]
            units = [_unit(d, g) for d in dims]
            layers = [a * torch.outer(units[k + 1], units[k]) for k in range(N)]
            loss = functools.partial(whitened_loss, Phi=torch.outer(units[-1], units[0]))
            cases.append(_case("near-tight", dims, layers, loss))
    return cases


@threads(1)
def balanced_cases(seed: int = 0, depths: Sequence[int] = (2, 3, 4, 5), per_depth: int = 4) -> list[BoundCase]:
    r"""Exactly balanced scalar-output instances (:func:`gfteach.linear.balanced_init`, :math:`L =
    \tfrac12\|W - \Phi\|^2`) with the exact :math:`\lambda_{\min}` and the corollary
    :func:`~gfteach.bounds.balanced_scalar_bound`."""
    g, depths, per_depth = _instances(seed, depths, per_depth)
    cases = []
    for N in depths:
        for _ in range(per_depth):
            d = int(torch.randint(2, 4, (), generator=g))
            dims = [d] + [d + 1] * (N - 1) + [1]
            layers = balanced_init(dims, 0.2 + float(torch.rand((), generator=g, dtype=_F64)), g)
            loss = functools.partial(whitened_loss, Phi=2 * torch.randn(1, d, generator=g, dtype=_F64))
            obj = product_objective(dims, loss)
            grad_L = loss_gradient(loss, end_to_end(layers))
            grad_f = obj.grad(theta_from_layers(layers))
            bound = balanced_scalar_bound(float(grad_L.norm()), float(grad_f.norm()), N)
            cases.append(BoundCase(N, "balanced", _exact_lambda_min(obj, layers), bound))
    return cases
