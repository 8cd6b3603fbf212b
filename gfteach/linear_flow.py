r"""The end-to-end dynamics of balanced deep linear networks, and the scalar-output flow in polar form.

* **End-to-end dynamics** (Arora, Cohen & Hazan 2018). From a balanced start the product
  :math:`W = W_N\cdots W_1` of gradient flow obeys

  .. math:: \dot W = -\sum_{j=1}^{N} (WW^\top)^{\frac{j-1}{N}}\, \nabla L(W)\, (W^\top W)^{\frac{N-j}{N}}

  (:func:`end_to_end_velocity`, integrated by :func:`end_to_end_flow` with :func:`gfteach.ode.odeint`).
  For a row vector :math:`w` (scalar output): :math:`\dot w = -\|w\|^{2-2/N}\big(\nabla L(w) + (N-1)
  \langle\hat w, \nabla L(w)\rangle\hat w\big)`, :math:`\hat w = w/\|w\|` (:func:`scalar_end_to_end_velocity`).
* **Polar form** for :math:`L(w) = \tfrac12\|w - \Phi\|^2`, :math:`\rho = \|w\|`:

  .. math:: \dot\rho = N\rho^{2-2/N}\langle \Phi - w, \hat w\rangle, \qquad
            \dot{\hat w} = \rho^{1-2/N}(I - \hat w\hat w^\top)\Phi

  (:func:`polar_rates`). :func:`scalar_flow` integrates it in the variables :math:`(\log\rho, \hat w)`,
  in which a radius shrinking to :math:`10^{-16}` is as accurate as one of order 1, at log-spaced output
  times, stopping at the first output time at which :math:`w` has reached :math:`\Phi`
  (:func:`near_target`): no event location, only :func:`~gfteach.ode.odeint` to given times.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch

from ._checks import allocation, integer, real
from .linear import _tensor
from .ode import ODESolution, odeint

__all__ = [
    "psd_power",
    "end_to_end_velocity",
    "scalar_end_to_end_velocity",
    "end_to_end_flow",
    "polar",
    "polar_rates",
    "start_at_angle",
    "near_target",
    "scalar_flow",
]

_F64 = torch.float64


def _clip_roundoff(values: torch.Tensor, n: int) -> torch.Tensor:
    """Zero the values below ``n·eps·max``: they are round-off, and a fractional power would inflate them
    (``(1e-16)**(1/3)`` is ``5e-6``)."""
    cutoff = n * torch.finfo(values.dtype).eps * values.abs().max()
    return torch.where(values > cutoff, values, torch.zeros_like(values))


def psd_power(M: torch.Tensor, p: float) -> torch.Tensor:
    r""":math:`M^p` for a symmetric positive semi-definite :math:`M` and :math:`p \ge 0`, by eigendecomposition.

    Eigenvalues at round-off level (below :math:`n\,\epsilon\,\lambda_{\max}`, including slightly negative
    ones) are set to 0 before the power, and :math:`M^0 = I` (the convention the end-to-end formula needs).
    A non-symmetric :math:`M`, or a negative eigenvalue, beyond round-off (``100 n eps max|M|``) raises.
    """
    M = _tensor("M", M, 2)
    p = real("p", p, nonnegative=True)
    if M.shape[0] != M.shape[1]:
        raise ValueError(f"M must be square, got shape {tuple(M.shape)}")
    if p == 0:
        return torch.eye(M.shape[0], dtype=M.dtype, device=M.device)
    if M.numel() == 0:
        return M.clone()
    slack = 100 * M.shape[0] * torch.finfo(M.dtype).eps * float(M.abs().max())
    asym = float((M - M.T).abs().max())
    if asym > slack:
        raise ValueError(f"M must be symmetric (positive semi-definite), but max |M - M^T| = {asym:.3g}")
    evals, evecs = torch.linalg.eigh((M + M.T) / 2)
    if float(evals[0]) < -slack:
        raise ValueError(f"M must be positive semi-definite, but its smallest eigenvalue is {float(evals[0]):.6g}")
    return (evecs * _clip_roundoff(evals, M.shape[0]) ** p) @ evecs.T


def _pair(W, grad, depth, dim: int):
    W, grad = _tensor("W" if dim == 2 else "w", W, dim), _tensor("grad", grad, dim)
    if W.shape != grad.shape:
        raise ValueError(f"grad must have the shape of W {tuple(W.shape)}, got {tuple(grad.shape)}")
    return W, grad, integer("depth", depth, minimum=1)


def end_to_end_velocity(W: torch.Tensor, grad: torch.Tensor, depth: int) -> torch.Tensor:
    r""":math:`-\sum_{j=1}^{N} (WW^\top)^{(j-1)/N}\, \nabla L(W)\, (W^\top W)^{(N-j)/N}` with :math:`N` = ``depth``.

    The powers come from one SVD :math:`W = USV^\top`: :math:`(WW^\top)^p = US^{2p}U^\top` and
    :math:`(W^\top W)^p = VS^{2p}V^\top` for :math:`p > 0`. Working with singular values (accurate to
    :math:`\epsilon\|W\|`) rather than eigenvalues of the Gram matrices (accurate to :math:`\epsilon\|W\|^2`)
    keeps fractional powers of rank-deficient :math:`W` accurate.
    """
    W, grad, depth = _pair(W, grad, depth, 2)
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
    :math:`-\|w\|^{2-2/N}\big(\nabla L + (N-1)\langle \hat w, \nabla L\rangle \hat w\big)` (0 at :math:`w = 0`)."""
    w, grad, depth = _pair(w, grad, depth, 1)
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
    r"""Integrate the end-to-end ODE from :math:`W(0) = W_0` (matrix, or 1-D for scalar output) with DOPRI5.

    ``loss_grad(W)`` is :math:`\nabla L(W)` (for :math:`L = \tfrac12\|W - \Phi\|_F^2`: ``lambda W: W - Phi``).
    """
    W0 = _tensor("W0", W0)
    if W0.dim() not in (1, 2):
        raise ValueError(f"W0 must be a matrix or (scalar output) a 1-D row, got shape {tuple(W0.shape)}")
    if not callable(loss_grad):
        raise TypeError(f"loss_grad must be callable (W -> the gradient of L at W), got {type(loss_grad).__name__}")
    depth = integer("depth", depth, minimum=1)
    velocity = scalar_end_to_end_velocity if W0.dim() == 1 else end_to_end_velocity
    return odeint(lambda _, W: velocity(W, loss_grad(W), depth), W0, t, "dopri5", rtol=rtol, atol=atol)


# -- scalar output: radius and direction ----------------------------------------------------------------


def _phi(phi) -> torch.Tensor:
    phi = _tensor("phi", phi, 1)
    if not phi.norm() > 0:
        raise ValueError("phi must be a non-zero vector (the target)")
    return phi


def polar(w: torch.Tensor, phi: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    r""":math:`\rho = \|w\|` and the angle (degrees) between :math:`w` and :math:`\Phi`, row-wise for 2-D ``w``."""
    phi, w = _phi(phi), _tensor("w", w)
    if w.dim() not in (1, 2) or w.shape[-1] != phi.numel():
        raise ValueError(f"w must be a vector or rows of {phi.numel()} entries (like phi), got {tuple(w.shape)}")
    w2 = w.reshape(-1, phi.numel())
    rho = torch.linalg.vector_norm(w2, dim=1)
    if not (rho > 0).all():
        raise ValueError(
            f"w must be non-zero (the angle of 0 is undefined): row {int((rho > 0).logical_not().nonzero()[0])} is 0"
        )
    cos = (w2 @ phi) / (rho * phi.norm())
    return rho, torch.rad2deg(torch.arccos(cos.clamp(-1.0, 1.0)))


def polar_rates(w: torch.Tensor, phi: torch.Tensor, depth: int) -> tuple[torch.Tensor, torch.Tensor]:
    r""":math:`\dot\rho = N\rho^{2-2/N}\langle\Phi - w, \hat w\rangle` and
    :math:`\dot{\hat w} = \rho^{1-2/N}(I - \hat w\hat w^\top)\Phi` at a non-zero ``w``."""
    phi, w, depth = _phi(phi), _tensor("w", w, 1), integer("depth", depth, minimum=1)
    if w.shape != phi.shape:
        raise ValueError(f"w must have the shape of phi {tuple(phi.shape)}, got {tuple(w.shape)}")
    if not w.norm() > 0:
        raise ValueError("w must be non-zero (the direction of 0 is undefined)")
    return _polar_rates(w, phi, depth)


def _polar_rates(w: torch.Tensor, phi: torch.Tensor, depth: int) -> tuple[torch.Tensor, torch.Tensor]:
    rho = w.norm()
    w_hat = w / rho
    rho_dot = depth * rho ** (2 - 2 / depth) * torch.dot(phi - w, w_hat)
    w_hat_dot = rho ** (1 - 2 / depth) * (phi - torch.dot(w_hat, phi) * w_hat)
    return rho_dot, w_hat_dot


def start_at_angle(phi: torch.Tensor, angle_deg: float, rho0: float) -> torch.Tensor:
    r""":math:`w_0 = \rho_0(\cos\alpha\,\hat\Phi + \sin\alpha\, e)`, :math:`e \perp \Phi` a fixed unit vector
    (:math:`0 \le \alpha \le 180°`; at exactly 180° the start is :math:`-\rho_0\hat\Phi`)."""
    phi = _phi(phi)
    angle = real("angle_deg", angle_deg)
    if not 0 <= angle <= 180:
        raise ValueError(f"angle_deg must be between 0 and 180 degrees, got {angle!r}")
    rho0 = real("rho0", rho0, positive=True)
    phi_hat = phi / phi.norm()
    if angle == 180:  # exactly antipodal (math.sin(math.pi) is 1.2e-16, not 0)
        return -rho0 * phi_hat
    if phi.numel() < 2:
        if angle != 0:
            raise ValueError("with a 1-D target (one entry) only the angles 0 and 180 exist")
        return rho0 * phi_hat
    e = torch.eye(phi.numel(), dtype=phi.dtype)[int(phi_hat.abs().argmin())]
    e = e - torch.dot(e, phi_hat) * phi_hat
    e = e / e.norm()
    a = math.radians(angle)
    return rho0 * (math.cos(a) * phi_hat + math.sin(a) * e)


def near_target(w: torch.Tensor, phi: torch.Tensor, angle: float = 0.1, rtol: float = 1e-3) -> bool:
    r"""Whether :math:`w` has reached :math:`\Phi`: angle below ``angle`` degrees and
    :math:`|\rho - \|\Phi\|| \le` ``rtol`` :math:`\|\Phi\|`."""
    angle, rtol = real("angle", angle, positive=True), real("rtol", rtol, positive=True)
    w = _tensor("w", w)
    if w.dim() in (1, 2) and w.numel() and not w.reshape(-1, w.shape[-1])[-1].norm() > 0:
        return False  # at 0: no direction, not at a non-zero target
    rho, ang = polar(w, phi)
    return bool(ang[-1] < angle and (rho[-1] - phi.norm()).abs() <= rtol * phi.norm())


def scalar_flow(
    phi: torch.Tensor,
    depth: int,
    w0: torch.Tensor,
    t_max: float,
    *,
    t_first: float = 1e-3,
    per_decade: int = 20,
    stop_at_target: bool = True,
    rtol: float = 1e-10,
) -> ODESolution:
    r"""The scalar end-to-end flow from ``w0`` for :math:`L = \tfrac12\|w - \Phi\|^2`, recorded at
    :math:`t = 0` and ``per_decade`` log-spaced times per decade from ``t_first`` up to ``t_max``.

    Integrates :func:`polar_rates` in :math:`(\log\rho, \hat w)` with adaptive DOPRI5 (``rtol``, and the
    same absolute tolerance: :math:`\log\rho` and :math:`\hat w` are of order 1), one output interval per
    :func:`~gfteach.ode.odeint` call. The radius may shrink to :math:`10^{-16}` and the escape take
    :math:`10^5` time units, while near :math:`\Phi` the flow is stiff (explicit steps stay near
    :math:`1/(N\|\Phi\|^{2-2/N})`), so integrating on past the target would cost most of the run. With
    ``stop_at_target`` the output times are also spaced by at most 5 of the solver's latest steps (the
    time scale of the dynamics), and the run stops at the first one that is :func:`near_target`: the
    returned times end there.
    ``y`` holds :math:`w(t_i)` as rows.
    """
    phi, depth = _phi(phi), integer("depth", depth, minimum=1)
    w0 = _tensor("w0", w0, 1)
    if w0.shape != phi.shape or not w0.norm() > 0:
        raise ValueError(f"w0 must be a non-zero vector shaped like phi {tuple(phi.shape)}, got {tuple(w0.shape)}")
    t_max, t_first = real("t_max", t_max, positive=True), real("t_first", t_first, positive=True)
    if not t_first < t_max:
        raise ValueError(f"t_first must be smaller than t_max, got t_first = {t_first!r}, t_max = {t_max!r}")
    per_decade, rtol = integer("per_decade", per_decade, minimum=1), real("rtol", rtol, positive=True)
    if not isinstance(stop_at_target, bool):
        raise TypeError(f"stop_at_target must be True or False, got {stop_at_target!r}")

    def velocity(_, z):
        rho_dot, w_hat_dot = _polar_rates(torch.exp(z[0]) * z[1:], phi, depth)
        return torch.cat([(rho_dot / torch.exp(z[0])).reshape(1), w_hat_dot])

    n = max(1, math.ceil(per_decade * math.log10(t_max / t_first)))
    allocation("per_decade", (n + 2) * (w0.numel() + 2), f"{n + 1} output times of {w0.numel()} entries")
    log_times = torch.logspace(math.log10(t_first), math.log10(t_max), n + 1, dtype=_F64).tolist()
    z = torch.cat([torch.log(w0.norm()).reshape(1), w0 / w0.norm()]).to(_F64)
    t_now, times, states, counts, first_step, i = 0.0, [0.0], [z], [0, 0, 0], None, 0
    while i < len(log_times):
        t_next = log_times[i]
        if stop_at_target and first_step is not None:  # check at least every 5 solver steps
            t_next = min(t_next, t_now + 5 * first_step)
        sol = odeint(velocity, z, [t_now, t_next], "dopri5", rtol=rtol, atol=rtol, first_step=first_step)
        counts = [counts[0] + sol.nfev, counts[1] + sol.nsteps, counts[2] + sol.nrejected]
        z, t_now, first_step = sol.y[-1], t_next, max(sol.step_sizes[-2:])
        times.append(t_now)
        states.append(z)
        i += t_next == log_times[i]
        if stop_at_target and near_target(torch.exp(z[0]) * z[1:], phi):
            break
    Z = torch.stack(states)
    return ODESolution(torch.tensor(times, dtype=_F64), torch.exp(Z[:, :1]) * Z[:, 1:], "dopri5", *counts)
