r"""Deep linear networks :math:`W = W_N \cdots W_1` and their gradient dynamics.

Layers are a list ``[W_1, ..., W_N]`` with :math:`W_j \in \mathbb R^{d_j \times d_{j-1}}`, the order
and shapes of the weights of :func:`gfteach.nets.deep_linear`, so :func:`layers_from_theta` turns that
network's flat parameter vector into layers.

Facts this module makes computable (science.md §3):

* **Balancedness.** Under gradient flow each :math:`W_{j+1}^\top W_{j+1} - W_j W_j^\top` is constant;
  one gradient-descent step changes it by exactly :math:`\eta^2 (G_{j+1}^\top G_{j+1} - G_j G_j^\top)`,
  :math:`G_j = \partial f / \partial W_j`.
* **End-to-end dynamics** (Arora, Cohen & Hazan 2018). From a balanced start,
  :math:`\dot W = -\sum_{j=1}^{N} (WW^\top)^{\frac{j-1}{N}}\, \nabla L(W)\, (W^\top W)^{\frac{N-j}{N}}`,
  and for a row vector :math:`w`: :math:`\dot w = -\|w\|^{2-2/N}\big(\nabla L(w) + (N-1)\,
  \hat w^\top\hat w\,\nabla L(w)\big)` with :math:`\hat w = w/\|w\|` (gradients as row vectors).
* **Deficiency margin** (Arora, Cohen, Golowich & Hu 2019) for the whitened loss
  :math:`L(W) = \tfrac12\|W - \Phi\|_F^2`: :math:`c = \sigma_{\min}(\Phi) - \|W - \Phi\|_F`. Every
  rank-deficient matrix is at distance :math:`\ge \sigma_{\min}(\Phi)` from :math:`\Phi`, so
  :math:`c > 0` means the loss is below that of every rank-deficient solution.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch

from .ode import ODESolution, odeint

__all__ = [
    "end_to_end",
    "unbalancedness",
    "balanced_init",
    "layers_from_theta",
    "theta_from_layers",
    "psd_power",
    "end_to_end_velocity",
    "end_to_end_flow",
    "scalar_end_to_end_velocity",
    "gd_balance_change",
    "whitened_loss",
    "deficiency_margin",
]

Layers = Sequence[torch.Tensor]


def end_to_end(layers: Layers) -> torch.Tensor:
    """The end-to-end matrix :math:`W_N \\cdots W_1`."""
    W = layers[0]
    for layer in layers[1:]:
        W = layer @ W
    return W


def balance_gaps(layers: Layers) -> list[torch.Tensor]:
    r""":math:`W_{j+1}^\top W_{j+1} - W_j W_j^\top` for :math:`j = 1, \dots, N-1`."""
    return [b.T @ b - a @ a.T for a, b in zip(layers[:-1], layers[1:])]


def unbalancedness(layers: Layers) -> float:
    r""":math:`\max_j \|W_{j+1}^\top W_{j+1} - W_j W_j^\top\|_F` (0 for a single layer)."""
    return max((float(torch.linalg.matrix_norm(g)) for g in balance_gaps(layers)), default=0.0)


def layers_from_theta(theta: torch.Tensor, dims: Sequence[int]) -> list[torch.Tensor]:
    """Split a flat vector into layers of shapes ``(dims[j+1], dims[j])`` (views, in order)."""
    shapes = [(d_out, d_in) for d_in, d_out in zip(dims[:-1], dims[1:])]
    sizes = [a * b for a, b in shapes]
    if theta.dim() != 1 or theta.numel() != sum(sizes):
        raise ValueError(f"theta must be a 1-D vector of {sum(sizes)} entries for dims {list(dims)}")
    return [chunk.view(shape) for chunk, shape in zip(torch.split(theta, sizes), shapes)]


def theta_from_layers(layers: Layers) -> torch.Tensor:
    """Concatenate layers into the flat parameter vector (inverse of :func:`layers_from_theta`)."""
    return torch.cat([w.reshape(-1) for w in layers])


def _random_orthogonal(n: int, generator: torch.Generator) -> torch.Tensor:
    Q, R = torch.linalg.qr(torch.randn(n, n, generator=generator, dtype=torch.float64))
    return Q * torch.sign(torch.diagonal(R))  # Haar-distributed


def balanced_init(
    dims: Sequence[int], scale: float, generator: torch.Generator, end_to_end_matrix: torch.Tensor | None = None
) -> list[torch.Tensor]:
    r"""A perfectly balanced initialization whose end-to-end matrix is a random :math:`W_0` of size ``scale``.

    :math:`W_0` has i.i.d. :math:`\mathcal N(0, \text{scale}^2)` entries (or is ``end_to_end_matrix``).
    With its SVD :math:`U\Sigma V^\top` (rank :math:`r = \min(d_0, d_N)`), the layers are
    :math:`W_1 = Q_1 [\Sigma^{1/N}V^\top; 0]`, :math:`W_j = Q_j\,\mathrm{diag}(\Sigma^{1/N}, 0)\,Q_{j-1}^\top`,
    :math:`W_N = [U\Sigma^{1/N}, 0]\,Q_{N-1}^\top`, with random orthogonal :math:`Q_j` in the hidden spaces.
    Then :math:`W_N\cdots W_1 = W_0` and every :math:`W_{j+1}^\top W_{j+1} = W_jW_j^\top`. Needs hidden
    widths :math:`\ge r`.
    """
    dims = list(dims)
    N = len(dims) - 1
    if N < 1 or any(not isinstance(d, int) or d < 1 for d in dims):
        raise ValueError(f"dims must list at least two positive integers, got {dims!r}")
    r = min(dims[0], dims[-1])
    if min(dims[1:-1], default=r) < r:
        raise ValueError(f"hidden widths must be >= min(d_0, d_N) = {r} for a balanced split, got dims {dims}")
    if end_to_end_matrix is None:
        if not (math.isfinite(scale) and scale > 0):
            raise ValueError(f"scale must be a positive finite number, got {scale!r}")
        end_to_end_matrix = scale * torch.randn(dims[-1], dims[0], generator=generator, dtype=torch.float64)
    U, S, Vh = torch.linalg.svd(end_to_end_matrix, full_matrices=False)
    root = torch.diag(S ** (1.0 / N))
    Q = [torch.eye(dims[0], dtype=torch.float64)]
    Q += [_random_orthogonal(d, generator) for d in dims[1:-1]]
    Q += [torch.eye(dims[-1], dtype=torch.float64)]
    layers = []
    for j in range(N):
        core = torch.zeros(dims[j + 1], dims[j], dtype=torch.float64)
        left = root @ Vh if j == 0 else root
        if j == N - 1:
            left = U @ left
        core[: left.shape[0], : left.shape[1]] = left
        layers.append(Q[j + 1] @ core @ Q[j].T)
    return layers


def _clip_roundoff(values: torch.Tensor, n: int) -> torch.Tensor:
    """Zero the values below ``n·eps·max``: they are round-off, and a fractional power would inflate them
    (``(1e-16)**(1/3)`` is ``5e-6``)."""
    cutoff = n * torch.finfo(values.dtype).eps * values.abs().max()
    return torch.where(values > cutoff, values, torch.zeros_like(values))


def psd_power(M: torch.Tensor, p: float) -> torch.Tensor:
    r""":math:`M^p` for a symmetric positive semi-definite :math:`M` and :math:`p \ge 0`, by eigendecomposition.

    Eigenvalues at round-off level (below :math:`n\,\epsilon\,\lambda_{\max}`, including slightly negative
    ones) are set to 0 before the power, and :math:`M^0 = I` (the convention the end-to-end formula needs).
    """
    if p == 0:
        return torch.eye(M.shape[0], dtype=M.dtype, device=M.device)
    evals, evecs = torch.linalg.eigh((M + M.T) / 2)
    return (evecs * _clip_roundoff(evals, M.shape[0]) ** p) @ evecs.T


def end_to_end_velocity(W: torch.Tensor, grad: torch.Tensor, depth: int) -> torch.Tensor:
    r""":math:`-\sum_{j=1}^{N} (WW^\top)^{(j-1)/N}\, \nabla L(W)\, (W^\top W)^{(N-j)/N}` with :math:`N` = ``depth``.

    The powers come from one SVD :math:`W = USV^\top`: :math:`(WW^\top)^p = US^{2p}U^\top` and
    :math:`(W^\top W)^p = VS^{2p}V^\top` for :math:`p > 0`. Working with singular values (accurate to
    :math:`\epsilon\|W\|`) rather than eigenvalues of the Gram matrices (accurate to :math:`\epsilon\|W\|^2`)
    keeps fractional powers of rank-deficient :math:`W` accurate.
    """
    U, S, Vh = torch.linalg.svd(W, full_matrices=False)
    S = _clip_roundoff(S, max(W.shape))
    eye_out, eye_in = torch.eye(W.shape[0], dtype=W.dtype), torch.eye(W.shape[1], dtype=W.dtype)

    def left(p):
        return eye_out if p == 0 else (U * S ** (2 * p)) @ U.T

    def right(p):
        return eye_in if p == 0 else (Vh.T * S ** (2 * p)) @ Vh

    return -sum(left((j - 1) / depth) @ grad @ right((depth - j) / depth) for j in range(1, depth + 1))


def scalar_end_to_end_velocity(w: torch.Tensor, grad: torch.Tensor, depth: int) -> torch.Tensor:
    r"""Scalar-output form for a 1-D ``w``:
    :math:`-\|w\|^{2-2/N}\big(\nabla L + (N-1)\langle \hat w, \nabla L\rangle \hat w\big)`."""
    norm = torch.linalg.vector_norm(w)
    if norm == 0:
        return torch.zeros_like(w)
    w_hat = w / norm
    return -(norm ** (2 - 2 / depth)) * (grad + (depth - 1) * torch.dot(w_hat, grad) * w_hat)


def end_to_end_flow(
    W0: torch.Tensor,
    loss_grad: Callable[[torch.Tensor], torch.Tensor],
    depth: int,
    t: Sequence[float] | torch.Tensor,
    rtol: float = 1e-10,
    atol: float = 1e-12,
) -> ODESolution:
    r"""Integrate the end-to-end ODE from :math:`W(0) = W_0` (matrix, or 1-D for scalar output) with DOPRI5."""
    if not isinstance(depth, int) or depth < 1:
        raise ValueError(f"depth must be a positive integer, got {depth!r}")
    velocity = scalar_end_to_end_velocity if W0.dim() == 1 else end_to_end_velocity
    return odeint(lambda _, W: velocity(W, loss_grad(W), depth), W0, t, "dopri5", rtol=rtol, atol=atol)


def gd_balance_change(grads: Layers, step: float) -> list[torch.Tensor]:
    r"""The exact change of each :math:`W_{j+1}^\top W_{j+1} - W_jW_j^\top` in one GD step:
    :math:`\eta^2 (G_{j+1}^\top G_{j+1} - G_j G_j^\top)` (the first-order terms cancel)."""
    return [step**2 * g for g in balance_gaps(grads)]


def whitened_loss(W: torch.Tensor, Phi: torch.Tensor) -> torch.Tensor:
    r""":math:`L(W) = \tfrac12\|W - \Phi\|_F^2`, the ℓ2 loss over whitened data up to a constant."""
    return 0.5 * ((W - Phi) ** 2).sum()


def deficiency_margin(W: torch.Tensor, Phi: torch.Tensor) -> float:
    r""":math:`\sigma_{\min}(\Phi) - \|W - \Phi\|_F`; positive means a deficiency margin of that size."""
    Phi2 = Phi.reshape(1, -1) if Phi.dim() == 1 else Phi
    W2 = W.reshape(Phi2.shape)
    return float(torch.linalg.svdvals(Phi2)[-1] - torch.linalg.matrix_norm(W2 - Phi2))
