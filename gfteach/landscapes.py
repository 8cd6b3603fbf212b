r"""Chapter 2's test landscapes: three functions of :math:`\theta = (\theta_1, \theta_2)`, each with a
starting point and a time horizon.

* :func:`quadratic` :math:`\tfrac12(\theta_1^2 + 4\theta_2^2)`: Hessian :math:`\mathrm{diag}(1, 4)`
  everywhere, convex, :math:`\lambda_{\min} = 1`.
* :func:`saddle` :math:`\tfrac12(\theta_1^2 - \theta_2^2)`: Hessian :math:`\mathrm{diag}(1, -1)`
  everywhere; along :math:`\theta_2` it is the hilltop :math:`-\tfrac12\theta_2^2`.
* :func:`two_well` :math:`\tfrac14(\theta_1^2 - 1)^2 + (\theta_2 - \tfrac12\theta_1)^2`: minima at
  :math:`\pm(1, \tfrac12)`; its Hessian
  :math:`\begin{pmatrix} 3\theta_1^2 - 1 + \tfrac12 & -1 \\ -1 & 2 \end{pmatrix}` has a negative
  eigenvalue exactly where :math:`3\theta_1^2 - \tfrac12 < \tfrac12`, i.e. in the strip
  :math:`|\theta_1| < 1/\sqrt3 \approx 0.577`, and is positive definite outside it.

Each function accepts a real tensor of shape ``(..., 2)`` (so it can be evaluated on a grid; any other shape is
an error, not silently truncated) and returns shape ``(...)``. :data:`LANDSCAPES` holds them with their starts
and horizons as :class:`Landscape`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from ._checks import function, real, show, vector

__all__ = ["quadratic", "saddle", "two_well", "Landscape", "LANDSCAPES", "get_landscape"]


def _plane(theta) -> torch.Tensor:
    """``theta`` if it is a real tensor of points of the plane, shape ``(..., 2)`` (O(1): hot loops call it)."""
    if not torch.is_tensor(theta) or theta.dtype == torch.bool or theta.is_complex():
        raise TypeError(f"theta must be a real tensor of shape (..., 2) (points of the plane), got {show(theta)}")
    if theta.shape[-1:] != (2,):
        raise ValueError(f"theta must have shape (..., 2) (points (theta_1, theta_2)), got shape {tuple(theta.shape)}")
    return theta


def quadratic(theta: torch.Tensor) -> torch.Tensor:
    r""":math:`\tfrac12(\theta_1^2 + 4\theta_2^2)`: eigenvalues 1 and 4 everywhere."""
    theta = _plane(theta)
    return 0.5 * (theta[..., 0] ** 2 + 4.0 * theta[..., 1] ** 2)


def saddle(theta: torch.Tensor) -> torch.Tensor:
    r""":math:`\tfrac12(\theta_1^2 - \theta_2^2)`: eigenvalues 1 and -1 everywhere."""
    theta = _plane(theta)
    return 0.5 * (theta[..., 0] ** 2 - theta[..., 1] ** 2)


def two_well(theta: torch.Tensor) -> torch.Tensor:
    r""":math:`\tfrac14(\theta_1^2 - 1)^2 + (\theta_2 - \tfrac12\theta_1)^2`: minima at :math:`\pm(1, \tfrac12)`,
    negative curvature in the strip :math:`|\theta_1| < 1/\sqrt3`."""
    x, y = _plane(theta)[..., 0], theta[..., 1]
    return (x**2 - 1) ** 2 / 4 + (y - x / 2) ** 2


@dataclass(frozen=True)
class Landscape:
    """A 2-D objective ``f`` with its starting point ``theta0`` and time horizon ``t_end``."""

    name: str
    f: Callable[[torch.Tensor], torch.Tensor]
    theta0: tuple[float, float]
    t_end: float

    def __post_init__(self):
        if not isinstance(self.name, str):
            raise TypeError(f"name must be a str, got {show(self.name)}")
        function("f", self.f)
        start = vector("theta0", self.theta0, what="a point (theta_1, theta_2) of two finite numbers")
        if start.shape != (2,) or not torch.isfinite(start).all():
            raise ValueError(f"theta0 must be a point (theta_1, theta_2) of two finite numbers, got {self.theta0!r}")
        object.__setattr__(self, "theta0", tuple(start.tolist()))  # frozen dataclass
        object.__setattr__(self, "t_end", real("t_end", self.t_end, positive=True))

    @property
    def start(self) -> torch.Tensor:
        """``theta0`` as a float64 tensor."""
        return torch.tensor(self.theta0, dtype=torch.float64)


#: The three landscapes: the saddle starts close to (not on) its stable direction, so the flow first
#: approaches the saddle point and then escapes along theta_2; the two-well function starts inside
#: its non-convex strip and slides into the right-hand well.
LANDSCAPES: dict[str, Landscape] = {
    "quadratic": Landscape("quadratic", quadratic, (1.5, 1.0), 5.0),
    "saddle": Landscape("saddle", saddle, (1.5, 0.05), 3.0),
    "two-well": Landscape("two-well", two_well, (0.05, 1.2), 8.0),
}


def get_landscape(landscape: str | Landscape) -> Landscape:
    """Look a landscape up by name (or pass one through); unknown names raise ``ValueError``."""
    if isinstance(landscape, Landscape):
        return landscape
    if not isinstance(landscape, str) or landscape not in LANDSCAPES:
        raise ValueError(f"unknown landscape {landscape!r}; choose from {sorted(LANDSCAPES)}")
    return LANDSCAPES[landscape]
