r"""Curvature: extreme Hessian eigenvalues and their course along a trajectory.

**Lanczos.** From a unit vector :math:`q_1`, the Lanczos recurrence builds an orthonormal basis
:math:`Q_m = [q_1,\dots,q_m]` of the Krylov space :math:`\mathrm{span}\{q_1, Hq_1, \dots, H^{m-1}q_1\}`
in which :math:`H = \nabla^2 f(\theta)` is tridiagonal:

.. math:: H Q_m = Q_m T_m + \beta_m q_{m+1} e_m^\top, \qquad
          T_m = \mathrm{tridiag}(\beta_{j-1}, \alpha_j, \beta_j).

Each step costs one Hessian-vector product. The eigenvalues :math:`\vartheta_i` of :math:`T_m`
(*Ritz values*) approximate those of :math:`H`, the extreme ones first; with
:math:`T_m s_i = \vartheta_i s_i`, the Ritz vector :math:`y_i = Q_m s_i` has residual
:math:`\|H y_i - \vartheta_i y_i\| = \beta_m |e_m^\top s_i|`, and some eigenvalue of :math:`H` lies
within that distance of :math:`\vartheta_i`. By Cauchy interlacing
:math:`\lambda_{\min} \le \vartheta_{\min}` and :math:`\vartheta_{\max} \le \lambda_{\max}`, so both ends
come from one run. In floating point the :math:`q_j` lose orthogonality; here every new vector is
re-orthogonalized against all previous ones (twice, "full reorthogonalization"), which keeps the
recurrence as in exact arithmetic at :math:`O(mn)` extra work per step. The run stops when the
residual of each requested extreme Ritz value is at most ``tol`` :math:`\cdot \max|\vartheta|`.

A small residual only proves that *some* eigenvalue is near :math:`\vartheta`, not that it is the
extreme one: a start vector without components along the extreme eigenvectors (an eigenvector itself,
say) would certify a wrong answer. So the start always carries a random component (a given ``v0`` is
mixed with one of relative size ``START_NOISE``), and when the Krylov space becomes invariant
(:math:`\beta_j \approx 0`, "breakdown") before the whole space is spanned, the recurrence continues from a
fresh random vector orthogonal to it; only a breakdown from there counts as exact.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import torch
from scipy.linalg import eigh_tridiagonal

from ._checks import allocation, choice, flag, integer, real, show
from .measure import cumulative_trapezoid
from .objective import as_objective

__all__ = [
    "ExtremeEigenvalues",
    "ConvergenceError",
    "extreme_eigenvalues",
    "CurvatureAlong",
    "curvature_along",
    "DENSE_LIMIT",
]

#: Up to this many parameters, :func:`extreme_eigenvalues` diagonalizes the dense Hessian by default.
DENSE_LIMIT = 64
#: Relative size of the random component mixed into a given start vector ``v0``.
START_NOISE = 1e-2
#: Lanczos steps taken before a small residual may stop the run (a cluster at an end needs a few to resolve).
MIN_STEPS = 3


class ConvergenceError(RuntimeError):
    """Lanczos did not meet its tolerance within ``max_iter`` steps; ``result`` holds its last estimate."""

    def __init__(self, message: str, result: ExtremeEigenvalues):
        super().__init__(message)
        self.result = result


@dataclass
class ExtremeEigenvalues:
    r"""The smallest and largest eigenvalues of :math:`\nabla^2 f(\theta)`, and how they were found.

    ``residuals`` are the Ritz residual norms (``(0, 0)`` for the dense path), ``n_hvp`` the number
    of Hessian-vector products, ``vector_min``/``vector_max`` unit eigenvector estimates.
    """

    lambda_min: float
    lambda_max: float
    residuals: tuple[float, float]
    n_hvp: int
    converged: bool
    method: str
    iterations: int = 0
    vector_min: torch.Tensor | None = None
    vector_max: torch.Tensor | None = None


def extreme_eigenvalues(
    obj,
    theta: torch.Tensor,
    *,
    which: str = "both",
    tol: float = 1e-10,
    max_iter: int | None = None,
    v0: torch.Tensor | None = None,
    seed: int = 0,
    dense: bool | None = None,
    on_failure: str = "raise",
) -> ExtremeEigenvalues:
    r""":math:`\lambda_{\min}` and :math:`\lambda_{\max}` of :math:`\nabla^2 f(\theta)`.

    :param obj: an :class:`~gfteach.objective.Objective` or a callable :math:`f(\theta)`.
    :param which: ``"both"``, ``"min"`` or ``"max"``: the end(s) whose convergence stops the run (both
        values are always returned; an end not asked for may be less accurate).
    :param tol: stop when each asked-for Ritz residual is :math:`\le` ``tol`` :math:`\cdot\max|\vartheta|`
        (after at least ``MIN_STEPS`` steps): each Ritz value is then within that of *an* eigenvalue, and
        of the extreme one when it is separated from the rest; a cluster within the residual of an end can
        still hide the extreme eigenvalue (use ``dense=True`` to be sure on small models).
    :param max_iter: at most this many Lanczos steps (default :math:`\min(n, 1000)`; :math:`n` steps is exact).
    :param v0: starting vector (default: standard normal drawn with ``seed``).
    :param seed: seed of the default starting vector.
    :param dense: ``True`` diagonalizes the dense Hessian, ``False`` forces Lanczos; ``None`` picks dense
        for :math:`n \le` :data:`DENSE_LIMIT`.
    :param on_failure: ``"raise"`` (:class:`ConvergenceError`) or ``"warn"`` (return ``converged=False``).
    """
    obj = as_objective(obj)
    theta = obj.check_vector(theta)
    n = theta.numel()
    choice("which", which, ("both", "min", "max"))
    choice("on_failure", on_failure, ("raise", "warn"))
    tol = real("tol", tol, positive=True)
    seed = integer("seed", seed, minimum=0)
    dense = flag("dense", dense, allow_none=True)
    if n == 0:
        raise ValueError("theta must have at least one entry: an empty Hessian has no eigenvalues")
    max_iter = min(n, 1000) if max_iter is None else integer("max_iter", max_iter, minimum=1)
    generator = torch.Generator().manual_seed(seed)
    start = _start_vector(v0, theta, generator)  # validated on both paths
    if dense or (dense is None and n <= DENSE_LIMIT):
        allocation("theta", n * n, f"a dense {n} x {n} Hessian with dense=True (dense=False runs Lanczos instead)")
        return _dense(obj, theta)
    result = _lanczos(obj.hvp_operator(theta), start, which, tol, min(max_iter, n), generator)
    if not result.converged:
        message = (
            f"Lanczos did not converge in {result.iterations} steps: Ritz residuals "
            f"{result.residuals[0]:.3g} (min), {result.residuals[1]:.3g} (max) > tol * scale; "
            "raise max_iter or tol, or use dense=True for small models"
        )
        if on_failure == "raise":
            raise ConvergenceError(message, result)
        warnings.warn(message, RuntimeWarning, stacklevel=2)
    return result


def _dense(obj, theta: torch.Tensor) -> ExtremeEigenvalues:
    before = obj.n_hvp
    H = obj.hessian(theta)
    if not torch.isfinite(H).all():
        raise ValueError(_NOT_FINITE)
    values, vectors = torch.linalg.eigh(H)
    return ExtremeEigenvalues(
        lambda_min=float(values[0]),
        lambda_max=float(values[-1]),
        residuals=(0.0, 0.0),
        n_hvp=obj.n_hvp - before,
        converged=True,
        method="dense",
        vector_min=vectors[:, 0],
        vector_max=vectors[:, -1],
    )


_NOT_FINITE = (
    "the Hessian of the objective at theta is not finite (NaN or inf): f is not twice differentiable there "
    "(e.g. sqrt or abs at 0); evaluate the curvature at another point"
)


def _start_vector(v0, theta: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    noise = torch.randn(theta.numel(), generator=generator, dtype=theta.dtype).to(theta.device)
    if v0 is None:
        return noise
    if not isinstance(v0, torch.Tensor) or v0.is_complex():
        raise TypeError(f"v0 must be a real torch.Tensor shaped like theta {tuple(theta.shape)}, got {show(v0)}")
    if v0.shape != theta.shape or not torch.isfinite(v0).all():
        raise ValueError(f"v0 must be a finite tensor shaped like theta {tuple(theta.shape)}, got {show(v0)}")
    v0 = v0.detach().to(theta.dtype)
    norm = float(torch.linalg.vector_norm(v0))
    if norm == 0.0:
        raise ValueError("v0 must be non-zero")
    return v0 / norm + START_NOISE * noise / torch.linalg.vector_norm(noise)


def _extreme_ritz(alpha: list[float], beta: list[float]) -> tuple[np.ndarray, np.ndarray]:
    """Smallest and largest eigenpairs of the tridiagonal :math:`T_m` (values, vectors as columns)."""
    m = len(alpha)
    if m == 1:
        return np.array([alpha[0], alpha[0]]), np.ones((1, 2))
    d, e = np.asarray(alpha), np.asarray(beta[: m - 1])
    low, s_low = eigh_tridiagonal(d, e, select="i", select_range=(0, 0))
    high, s_high = eigh_tridiagonal(d, e, select="i", select_range=(m - 1, m - 1))
    return np.concatenate([low, high]), np.hstack([s_low, s_high])


def _lanczos(hvp, start, which: str, tol: float, max_iter: int, generator: torch.Generator) -> ExtremeEigenvalues:
    """Lanczos with full reorthogonalization; stops on the Ritz residuals of the extreme values.

    After a breakdown the recurrence restarts once in the orthogonal complement (a new block of
    :math:`T`); the run then stops on the new block's own residuals, and each end is the more extreme of
    the two blocks' (the first block's values are exact eigenvalues)."""
    n = start.numel()
    # rows q_1, q_2, ...; grows as needed
    basis = torch.empty(min(max_iter + 1, 64), n, dtype=start.dtype, device=start.device)
    basis[0] = start / torch.linalg.vector_norm(start)
    alpha: list[float] = []
    beta: list[float] = []
    asked = {"both": [0, 1], "min": [0], "max": [1]}[which]
    first, offset = None, 0  # the invariant first block's (values, Ritz vectors) after a breakdown
    for j in range(max_iter):
        Q = basis[: j + 1]
        w = hvp(Q[j])
        if not torch.isfinite(w).all():
            raise ValueError(_NOT_FINITE)
        alpha.append(float(Q[j] @ w))
        for _ in range(2):  # classical Gram-Schmidt, twice: orthogonal to working precision
            w = w - Q.T @ (Q @ w)
        beta.append(float(torch.linalg.vector_norm(w)))
        values, vectors = _extreme_ritz(alpha[offset:], beta[offset:])
        scale = max(abs(values[0]), abs(values[1]), *([] if first is None else np.abs(first[0])))
        residuals = beta[j] * np.abs(vectors[-1])
        breakdown = beta[j] <= 1e-14 * max(scale, np.finfo(float).tiny)  # span(Q) is invariant
        exact = breakdown or j + 1 == n
        # a small residual on the first step(s) can certify an inner eigenvalue of an unresolved cluster
        done = exact or (j + 1 >= MIN_STEPS and all(residuals[i] <= tol * scale for i in asked))
        ritz = Q[offset:].T @ torch.as_tensor(vectors, dtype=Q.dtype, device=Q.device)
        if breakdown and first is None and j + 1 < min(n, max_iter):
            w = torch.randn(n, generator=generator, dtype=start.dtype).to(start.device)
            for _ in range(2):
                w = w - Q.T @ (Q @ w)
            if float(torch.linalg.vector_norm(w)) > 1e-8:
                first, offset, beta[j] = (values, ritz), j + 1, 0.0
                basis = _store(basis, j + 1, w / torch.linalg.vector_norm(w))
                continue
        if done or j + 1 == max_iter:
            res = [0.0, 0.0] if exact else [float(r) for r in residuals]
            pairs = [[float(values[i]), ritz[:, i], res[i]] for i in (0, 1)]
            if first is not None:  # the more extreme of the two blocks at each end
                if first[0][0] < pairs[0][0]:
                    pairs[0] = [float(first[0][0]), first[1][:, 0], 0.0]
                if first[0][1] > pairs[1][0]:
                    pairs[1] = [float(first[0][1]), first[1][:, 1], 0.0]
            return ExtremeEigenvalues(
                lambda_min=pairs[0][0],
                lambda_max=pairs[1][0],
                residuals=(pairs[0][2], pairs[1][2]),
                n_hvp=j + 1,
                converged=bool(done),
                method="lanczos",
                iterations=j + 1,
                vector_min=pairs[0][1],
                vector_max=pairs[1][1],
            )
        basis = _store(basis, j + 1, w / beta[j])
    raise AssertionError("unreachable")  # pragma: no cover


def _store(basis: torch.Tensor, row: int, q: torch.Tensor) -> torch.Tensor:
    if row == len(basis):
        basis = torch.cat([basis, torch.empty_like(basis)])
    basis[row] = q
    return basis


# -- along a trajectory ------------------------------------------------------------------------------


@dataclass
class CurvatureAlong:
    r""":math:`\lambda_{\min}` and :math:`\lambda_{\max}` of the Hessian at sampled times of a trajectory.

    ``negative_integral[i]`` is :math:`\int_{t_0}^{t_i} \min(\lambda_{\min}(s), 0)\,ds` by the trapezoid
    rule on the samples (:math:`\le 0`); ``n_hvp`` counts Hessian-vector products.
    """

    times: torch.Tensor
    lambda_min: torch.Tensor
    lambda_max: torch.Tensor
    negative_integral: torch.Tensor
    n_hvp: int

    @property
    def sharpness(self) -> torch.Tensor:
        r""":math:`\max(|\lambda_{\min}|, |\lambda_{\max}|) = \|\nabla^2 f\|_2` at each sample."""
        return torch.maximum(self.lambda_min.abs(), self.lambda_max.abs())


def curvature_along(
    obj,
    trajectory,
    every: int = 1,
    *,
    tol: float = 1e-8,
    warm_start: bool = True,
    dense: bool | None = None,
    max_iter: int | None = None,
    seed: int = 0,
) -> CurvatureAlong:
    """Extreme Hessian eigenvalues at every ``every``-th recorded point of ``trajectory`` (and the last).

    With ``warm_start``, each Lanczos run starts from the previous point's two extreme eigenvectors
    plus an equal share of a random vector (so no direction is missed), which saves steps when the
    curvature changes slowly along the path. ``tol``, ``dense``, ``max_iter``: as in
    :func:`extreme_eigenvalues`.
    """
    obj = as_objective(obj)
    every = integer("every", every, minimum=1)
    warm_start, seed = flag("warm_start", warm_start), integer("seed", seed, minimum=0)
    thetas, times = getattr(trajectory, "thetas", None), getattr(trajectory, "times", None)
    if not (torch.is_tensor(thetas) and torch.is_tensor(times)):
        raise TypeError(f"trajectory must be a Trajectory (with tensors times and thetas), got {show(trajectory)}")
    if times.dim() != 1 or thetas.dim() != 2 or len(times) != len(thetas) or len(times) == 0:
        raise ValueError(
            f"trajectory must hold n >= 1 times (n,) and parameter vectors (n, d), got times of shape "
            f"{tuple(times.shape)} and thetas of shape {tuple(thetas.shape)}"
        )
    last = len(trajectory.times) - 1
    picks = list(range(0, last + 1, every))
    picks += [] if picks[-1] == last else [last]
    generator = torch.Generator().manual_seed(seed)
    lows, highs, n_hvp, v0 = [], [], 0, None
    for i in picks:
        result = extreme_eigenvalues(
            obj, trajectory.thetas[i], tol=tol, v0=v0, seed=seed + i, dense=dense, max_iter=max_iter
        )
        lows.append(result.lambda_min)
        highs.append(result.lambda_max)
        n_hvp += result.n_hvp
        if warm_start and result.method == "lanczos":
            v0 = _warm_start(result, generator)
    times = trajectory.times[picks].to(torch.float64)
    lambda_min = torch.tensor(lows, dtype=torch.float64)
    negative = cumulative_trapezoid(times, lambda_min.clamp(max=0.0))
    return CurvatureAlong(times, lambda_min, torch.tensor(highs, dtype=torch.float64), negative, n_hvp)


def _warm_start(result: ExtremeEigenvalues, generator: torch.Generator) -> torch.Tensor:
    pair = result.vector_min / result.vector_min.norm() + result.vector_max / result.vector_max.norm()
    noise = torch.randn(pair.numel(), generator=generator, dtype=pair.dtype).to(pair.device)
    return pair / pair.norm() + noise / noise.norm()
