r"""Deep linear networks :math:`W = W_N \cdots W_1`: layers, objectives, balancedness.

Layers are a list ``[W_1, ..., W_N]`` with :math:`W_j \in \mathbb R^{d_j \times d_{j-1}}` (``dims`` is
``[d_0, ..., d_N]``), the order and shapes of the weights of :func:`gfteach.nets.deep_linear`, so
:func:`layers_from_theta` turns that network's flat parameter vector :math:`\theta` into layers.

* **The objective.** :func:`product_objective` is :math:`f(\theta) = \varphi(W_N\cdots W_1)`; over
  whitened data (:math:`\tfrac1n XX^\top = I`) the ℓ2 loss is :math:`L(W) = \tfrac12\|W - \Phi\|_F^2` up
  to a constant (:func:`whitened_objective`). With :math:`A_j = W_N\cdots W_{j+1}`,
  :math:`B_j = W_{j-1}\cdots W_1`, the layer gradients are
  :math:`G_j = \partial f/\partial W_j = A_j^\top\,\nabla\varphi(W)\,B_j^\top` (:func:`layer_gradients`).
* **Balancedness.** Under gradient flow each :math:`D_j = W_{j+1}^\top W_{j+1} - W_j W_j^\top` is
  constant; one gradient-descent step changes it by exactly :math:`\eta^2 (G_{j+1}^\top G_{j+1} - G_j G_j^\top)`
  (:func:`gd_balance_change`).
* **Deficiency margin** (Arora, Cohen, Golowich & Hu 2019) for :math:`L(W) = \tfrac12\|W - \Phi\|_F^2`:
  :math:`c = \sigma_{\min}(\Phi) - \|W - \Phi\|_F`. Every rank-deficient matrix is at distance
  :math:`\ge \sigma_{\min}(\Phi)` from :math:`\Phi`, so :math:`c > 0` means the loss is below that of
  every rank-deficient solution.

The end-to-end dynamics of balanced layers are in :mod:`gfteach.linear_flow`. Every public function
checks its arguments (type first, then value) and names the argument in its error.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch

from ._checks import integer, name_of, real
from .objective import FunctionObjective

__all__ = [
    "net_dims",
    "layers_from_theta",
    "theta_from_layers",
    "end_to_end",
    "balance_gaps",
    "unbalancedness",
    "balance_drift",
    "balanced_init",
    "product_objective",
    "whitened_loss",
    "whitened_objective",
    "regression_loss",
    "layer_gradients",
    "gd_balance_change",
    "deficiency_margin",
]

Layers = Sequence[torch.Tensor]
_F64 = torch.float64


# -- argument checks ----------------------------------------------------------------------------------


def _tensor(name: str, value, dim: int | None = None) -> torch.Tensor:
    if not isinstance(value, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(value).__name__}")
    if not value.is_floating_point():
        raise TypeError(f"{name} must have a floating dtype (float64 recommended), got {value.dtype}")
    if dim is not None and value.dim() != dim:
        raise ValueError(f"{name} must be {dim}-D, got shape {tuple(value.shape)}")
    if not torch.isfinite(value).all():
        raise ValueError(f"{name} must be finite; it contains NaN or inf")
    return value


def _dims(dims) -> list[int]:
    if isinstance(dims, (str, bytes, torch.Tensor)) or not isinstance(dims, Sequence):
        raise TypeError(f"dims must be a list of positive integers [d_0, ..., d_N], got {type(dims).__name__}")
    out = [integer(f"dims[{j}]", d, minimum=1) for j, d in enumerate(dims)]
    if len(out) < 2:
        raise ValueError(f"dims must list at least two sizes [d_0, ..., d_N], got {list(dims)!r}")
    return out


def _layers(layers, name: str = "layers") -> list[torch.Tensor]:
    if isinstance(layers, (str, bytes, torch.Tensor)) or not isinstance(layers, Sequence):
        raise TypeError(f"{name} must be a list of 2-D tensors [W_1, ..., W_N], got {type(layers).__name__}")
    if len(layers) < 1:
        raise ValueError(f"{name} must hold at least one layer")
    out = [_tensor(f"{name}[{j}]", w, 2) for j, w in enumerate(layers)]
    for j in range(len(out) - 1):
        if out[j + 1].shape[1] != out[j].shape[0]:
            raise ValueError(
                f"{name}[{j + 1}] has {out[j + 1].shape[1]} columns but {name}[{j}] has {out[j].shape[0]} rows: "
                "consecutive layers must chain (W_{j+1} W_j)"
            )
    return out


# -- structure ----------------------------------------------------------------------------------------


def net_dims(depth: int, d_in: int, width: int, d_out: int = 1) -> list[int]:
    """Layer sizes ``[d_in, width, ..., width, d_out]`` of a depth-``depth`` linear network."""
    depth = integer("depth", depth, minimum=1)
    d_in, width, d_out = (
        integer("d_in", d_in, minimum=1),
        integer("width", width, minimum=1),
        integer("d_out", d_out, minimum=1),
    )
    return [d_in] + [width] * (depth - 1) + [d_out]


def layers_from_theta(theta: torch.Tensor, dims: Sequence[int]) -> list[torch.Tensor]:
    """Split a flat vector into layers of shapes ``(dims[j+1], dims[j])`` (views, in order)."""
    dims = _dims(dims)
    if not isinstance(theta, torch.Tensor):
        raise TypeError(f"theta must be a torch.Tensor, got {type(theta).__name__}")
    shapes = [(d_out, d_in) for d_in, d_out in zip(dims[:-1], dims[1:])]
    sizes = [a * b for a, b in shapes]
    if theta.dim() != 1 or theta.numel() != sum(sizes):
        raise ValueError(
            f"theta must be a 1-D vector of {sum(sizes)} entries for dims {dims}, got shape {tuple(theta.shape)}"
        )
    return [chunk.view(shape) for chunk, shape in zip(torch.split(theta, sizes), shapes)]


def theta_from_layers(layers: Layers) -> torch.Tensor:
    """Concatenate layers into the flat parameter vector (inverse of :func:`layers_from_theta`)."""
    return torch.cat([w.reshape(-1) for w in _layers(layers)])


def end_to_end(layers: Layers) -> torch.Tensor:
    """The end-to-end matrix :math:`W_N \\cdots W_1`."""
    layers = _layers(layers)
    W = layers[0]
    for layer in layers[1:]:
        W = layer @ W
    return W


# -- balancedness -------------------------------------------------------------------------------------


def balance_gaps(layers: Layers) -> list[torch.Tensor]:
    r""":math:`D_j = W_{j+1}^\top W_{j+1} - W_j W_j^\top` for :math:`j = 1, \dots, N-1`."""
    layers = _layers(layers)
    return [b.T @ b - a @ a.T for a, b in zip(layers[:-1], layers[1:])]


def unbalancedness(layers: Layers) -> float:
    r""":math:`\max_j \|D_j\|_F` (0 for a single layer)."""
    return max((float(torch.linalg.matrix_norm(g)) for g in balance_gaps(layers)), default=0.0)


def balance_drift(thetas: torch.Tensor, dims: Sequence[int]) -> torch.Tensor:
    r""":math:`\max_j \|D_j(t_i) - D_j(t_0)\|_F` at every row :math:`\theta(t_i)` of ``thetas`` (a recorded run)."""
    thetas = _tensor("thetas", thetas, 2)
    if len(thetas) == 0:
        raise ValueError("thetas must hold at least one row (a recorded parameter vector), got none")
    start = balance_gaps(layers_from_theta(thetas[0], dims))
    out = []
    for theta in thetas:
        gaps = balance_gaps(layers_from_theta(theta, dims))
        out.append(max((float(torch.linalg.matrix_norm(a - b)) for a, b in zip(gaps, start)), default=0.0))
    return torch.tensor(out, dtype=_F64)


def _random_orthogonal(n: int, generator: torch.Generator) -> torch.Tensor:
    Q, R = torch.linalg.qr(torch.randn(n, n, generator=generator, dtype=_F64))
    return Q * torch.sign(torch.diagonal(R))  # Haar-distributed


def balanced_init(
    dims: Sequence[int],
    scale: float = 1.0,
    generator: torch.Generator | None = None,
    end_to_end_matrix: torch.Tensor | None = None,
) -> list[torch.Tensor]:
    r"""A perfectly balanced initialization whose end-to-end matrix is a random :math:`W_0` of size ``scale``.

    :math:`W_0` has i.i.d. :math:`\mathcal N(0, \text{scale}^2)` entries (or is ``end_to_end_matrix``, and
    then ``scale`` is ignored). With its SVD :math:`U\Sigma V^\top` (rank :math:`r \le \min(d_0, d_N)`), the
    layers are :math:`W_1 = Q_1 [\Sigma^{1/N}V^\top; 0]`,
    :math:`W_j = Q_j\,\mathrm{diag}(\Sigma^{1/N}, 0)\,Q_{j-1}^\top`,
    :math:`W_N = [U\Sigma^{1/N}, 0]\,Q_{N-1}^\top`, with random orthogonal :math:`Q_j` in the hidden spaces.
    Then :math:`W_N\cdots W_1 = W_0` and every :math:`W_{j+1}^\top W_{j+1} = W_jW_j^\top`. Needs hidden
    widths :math:`\ge \min(d_0, d_N)`.

    **Reproducible by default:** ``generator=None`` means ``torch.Generator().manual_seed(0)`` (a fixed
    seed, never the global random state), so two calls without a generator return the same layers.
    """
    dims = _dims(dims)
    if generator is None:
        generator = torch.Generator().manual_seed(0)
    elif not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be a torch.Generator or None, got {type(generator).__name__}")
    N = len(dims) - 1
    r = min(dims[0], dims[-1])
    if min(dims[1:-1], default=r) < r:
        raise ValueError(f"dims: hidden widths must be >= min(d_0, d_N) = {r} for a balanced split, got {dims}")
    if end_to_end_matrix is None:
        scale = real("scale", scale, positive=True)
        end_to_end_matrix = scale * torch.randn(dims[-1], dims[0], generator=generator, dtype=_F64)
    else:
        end_to_end_matrix = _tensor("end_to_end_matrix", end_to_end_matrix, 2).to(_F64)
        if tuple(end_to_end_matrix.shape) != (dims[-1], dims[0]):
            raise ValueError(
                f"end_to_end_matrix must have shape ({dims[-1]}, {dims[0]}) for dims {dims}, "
                f"got {tuple(end_to_end_matrix.shape)}"
            )
    U, S, Vh = torch.linalg.svd(end_to_end_matrix, full_matrices=False)
    root = torch.diag(S ** (1.0 / N))
    Q = [torch.eye(dims[0], dtype=_F64)]
    Q += [_random_orthogonal(d, generator) for d in dims[1:-1]]
    Q += [torch.eye(dims[-1], dtype=_F64)]
    layers = []
    for j in range(N):
        core = torch.zeros(dims[j + 1], dims[j], dtype=_F64)
        left = root @ Vh if j == 0 else root
        if j == N - 1:
            left = U @ left
        core[: left.shape[0], : left.shape[1]] = left
        layers.append(Q[j + 1] @ core @ Q[j].T)
    return layers


def gd_balance_change(grads: Layers, step: float) -> list[torch.Tensor]:
    r"""The exact change of each :math:`D_j` in one GD step :math:`W_j \mapsto W_j - \eta G_j`:
    :math:`\eta^2 (G_{j+1}^\top G_{j+1} - G_j G_j^\top)` (the first-order terms cancel). ``grads`` are the
    layer gradients :math:`G_1, \dots, G_N`; ``step`` is :math:`\eta`."""
    step = real("step", step, positive=True)
    return [step**2 * g for g in balance_gaps(_layers(grads, "grads"))]


# -- objectives ---------------------------------------------------------------------------------------


def product_objective(dims: Sequence[int], phi: Callable[[torch.Tensor], torch.Tensor]) -> FunctionObjective:
    r"""The deep-linear objective :math:`f(\theta) = \varphi(W_N\cdots W_1)` over the flat vector of layers.

    ``theta`` is split by :func:`layers_from_theta` (shapes ``(dims[j+1], dims[j])``, in order), so it is
    the parameter vector of :func:`gfteach.nets.deep_linear` with the same ``dims``. ``phi`` maps a
    ``(dims[-1], dims[0])`` matrix to a scalar tensor, with differentiable torch operations.
    """
    dims = _dims(dims)
    if not callable(phi):
        raise TypeError(f"phi must be callable (a (d_N, d_0) matrix -> scalar tensor), got {type(phi).__name__}")
    n = sum(a * b for a, b in zip(dims[:-1], dims[1:]))
    objective = FunctionObjective(lambda theta: phi(end_to_end(layers_from_theta(theta, dims))), n_params=n)
    objective.source = f"phi(W_N...W_1) ({name_of(phi)})"  # errors name the user's phi, not the wrapper
    return objective


def whitened_loss(W: torch.Tensor, Phi: torch.Tensor) -> torch.Tensor:
    r""":math:`L(W) = \tfrac12\|W - \Phi\|_F^2`, the ℓ2 loss over whitened data up to a constant."""
    W, Phi = _tensor("W", W), _tensor("Phi", Phi)
    if W.shape != Phi.shape:
        raise ValueError(f"W and Phi must have the same shape, got {tuple(W.shape)} and {tuple(Phi.shape)}")
    return 0.5 * ((W - Phi) ** 2).sum()


def whitened_objective(Phi: torch.Tensor, dims: Sequence[int]) -> FunctionObjective:
    r""":math:`f(\theta) = \tfrac12\|W_N\cdots W_1 - \Phi\|_F^2`: :func:`product_objective` of
    :func:`whitened_loss`."""
    Phi, dims = _tensor("Phi", Phi, 2).to(_F64), _dims(dims)
    if tuple(Phi.shape) != (dims[-1], dims[0]):
        raise ValueError(f"Phi must have shape ({dims[-1]}, {dims[0]}) for dims {dims}, got {tuple(Phi.shape)}")
    return product_objective(dims, lambda W: whitened_loss(W, Phi))


def regression_loss(W: torch.Tensor, X: torch.Tensor, Y: torch.Tensor) -> torch.Tensor:
    r""":math:`\tfrac1{2n}\|WX - Y\|_F^2` (samples are the ``n`` columns); equals :math:`\tfrac12\|W - \Phi\|_F^2`
    + const when :math:`\tfrac1n XX^\top = I` and :math:`\Phi = \tfrac1n YX^\top`."""
    W, X, Y = _tensor("W", W, 2), _tensor("X", X, 2), _tensor("Y", Y, 2)
    if W.shape[1] != X.shape[0] or Y.shape != (W.shape[0], X.shape[1]):
        raise ValueError(
            f"shapes do not match: W {tuple(W.shape)}, X {tuple(X.shape)} (d_0 x n), Y {tuple(Y.shape)} (d_N x n)"
        )
    if X.shape[1] == 0:
        raise ValueError("X must hold at least one sample (a column); got n = 0: a mean over no samples is undefined")
    return ((W @ X - Y) ** 2).sum() / (2 * X.shape[1])


def layer_gradients(layers: Layers, grad_phi: torch.Tensor) -> list[torch.Tensor]:
    r"""Closed form :math:`G_j = (W_N\cdots W_{j+1})^\top\,\nabla\varphi\,(W_{j-1}\cdots W_1)^\top`, with
    ``grad_phi`` :math:`= \nabla\varphi(W_N\cdots W_1)` (for :func:`whitened_loss`: :math:`W - \Phi`)."""
    layers = _layers(layers)
    grad_phi = _tensor("grad_phi", grad_phi, 2)
    shape = (layers[-1].shape[0], layers[0].shape[1])
    if tuple(grad_phi.shape) != shape:
        raise ValueError(f"grad_phi must have the shape {shape} of W_N...W_1, got {tuple(grad_phi.shape)}")
    grads = []
    for j in range(len(layers)):
        left = end_to_end(layers[j + 1 :]) if j + 1 < len(layers) else torch.eye(shape[0], dtype=grad_phi.dtype)
        right = end_to_end(layers[:j]) if j > 0 else torch.eye(shape[1], dtype=grad_phi.dtype)
        grads.append(left.T @ grad_phi @ right.T)
    return grads


def deficiency_margin(W: torch.Tensor, Phi: torch.Tensor) -> float:
    r""":math:`\sigma_{\min}(\Phi) - \|W - \Phi\|_F`; positive means a deficiency margin of that size
    (a 1-D ``W``/``Phi`` is a row vector: scalar output)."""
    W, Phi = _tensor("W", W), _tensor("Phi", Phi)
    if Phi.dim() not in (1, 2) or Phi.numel() == 0:
        raise ValueError(f"Phi must be a non-empty vector or matrix, got shape {tuple(Phi.shape)}")
    Phi2 = Phi.reshape(1, -1) if Phi.dim() == 1 else Phi
    if W.numel() != Phi2.numel() or W.dim() > 2 or (W.dim() == 2 and W.shape != Phi2.shape):
        raise ValueError(f"W must have the shape of Phi {tuple(Phi.shape)}, got {tuple(W.shape)}")
    W2 = W.reshape(Phi2.shape)
    return float(torch.linalg.svdvals(Phi2)[-1] - torch.linalg.matrix_norm(W2 - Phi2))
