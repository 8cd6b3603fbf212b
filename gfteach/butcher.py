r"""Explicit Runge–Kutta methods as data: Butcher tableaux.

An explicit :math:`s`-stage Runge–Kutta method for :math:`y' = F(t, y)` takes one step of size
:math:`h` from :math:`(t_n, y_n)` by

.. math::

    k_i = F\Big(t_n + c_i h,\; y_n + h \sum_{j<i} a_{ij} k_j\Big), \qquad
    y_{n+1} = y_n + h \sum_i b_i k_i .

The method *is* its coefficients :math:`(A, b, c)`; everything else (order, stability region,
error estimate, dense output) is derived from them or declared beside them. Embedded pairs also
carry ``error`` weights :math:`e` so that :math:`h\sum_i e_i k_i` estimates the local error, where the
last stage :math:`k_{s+1} = F(t_{n+1}, y_{n+1})` is the first stage of the next step (FSAL).

Applied to the test equation :math:`y' = \lambda y`, one step multiplies :math:`y` by the
*stability polynomial* :math:`R(z) = 1 + \sum_{k\ge1} z^k\, b^\top A^{k-1}\mathbf 1`,
:math:`z = h\lambda`. The *real stability limit* is the largest :math:`x` with
:math:`|R(-u)| \le 1` for all :math:`u\in[0, x]`: a step :math:`h < x/|\lambda|` is stable.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

__all__ = ["Tableau", "METHODS", "get_method"]


@dataclass(frozen=True)
class Tableau:
    """Coefficients of an explicit Runge–Kutta method (and optionally its embedded estimator).

    :ivar name: registry name, e.g. ``"rk4"``.
    :ivar A: the Runge–Kutta matrix, strictly lower triangular, shape ``(s, s)``.
    :ivar b: the weights of the stages in the step, length ``s``.
    :ivar c: the nodes: stage :math:`i` is evaluated at time :math:`t_n + c_i h`.
    :ivar order: the order :math:`p` of the propagated solution (global error :math:`O(h^p)`).
    :ivar error: weights :math:`e` of length ``s + 1`` for the local error estimate, or ``None``.
    :ivar error_order: order of the embedded (lower-order) solution; the step controller uses it.
    :ivar dense: matrix :math:`P` of shape ``(s + 1, d)``: inside a step, with
        :math:`x = (t - t_n)/h`, :math:`y(t) \\approx y_n + h\\sum_i k_i \\sum_m P_{im} x^{m+1}`.
    """

    name: str
    A: np.ndarray
    b: np.ndarray
    c: np.ndarray
    order: int
    error: np.ndarray | None = None
    error_order: int | None = None
    dense: np.ndarray | None = None

    def __post_init__(self):
        for field in ("A", "b", "c", "error", "dense"):
            value = getattr(self, field)
            if value is not None:
                object.__setattr__(self, field, np.asarray(value, dtype=np.float64))

    @property
    def stages(self) -> int:
        return len(self.b)

    @property
    def adaptive(self) -> bool:
        """Whether the method has an embedded error estimate (so it can choose its own steps)."""
        return self.error is not None

    def stability_polynomial(self) -> np.polynomial.Polynomial:
        r""":math:`R(z) = 1 + \sum_{k=1}^{s} z^k\, b^\top A^{k-1} \mathbf 1` (exact for explicit methods)."""
        coef, v = [1.0], np.ones(self.stages)
        for _ in range(self.stages):
            coef.append(float(self.b @ v))
            v = self.A @ v
        return np.polynomial.Polynomial(coef)

    @cached_property
    def stability_limit(self) -> float:
        r"""Largest :math:`x>0` such that :math:`|R(-u)|\le 1` on :math:`[0, x]` (in units of :math:`1/|\lambda|`)."""
        r = self.stability_polynomial()
        q = r(np.polynomial.Polynomial([0.0, -1.0]))  # u -> R(-u)
        candidates = []
        for target in (1.0, -1.0):
            for root in (q - target).roots():
                if abs(root.imag) < 1e-9 and root.real > 1e-12:
                    candidates.append(root.real)
        for x in sorted(candidates):
            if abs(q(x * (1 + 1e-9) + 1e-12)) > 1.0:
                return float(x)
        return float("inf")


EULER = Tableau("euler", [[0.0]], [1.0], [0.0], 1)
HEUN = Tableau("heun", [[0, 0], [1, 0]], [1 / 2, 1 / 2], [0, 1], 2)
MIDPOINT = Tableau("midpoint", [[0, 0], [1 / 2, 0]], [0, 1], [0, 1 / 2], 2)
RK4 = Tableau(
    "rk4",
    [[0, 0, 0, 0], [1 / 2, 0, 0, 0], [0, 1 / 2, 0, 0], [0, 0, 1, 0]],
    [1 / 6, 1 / 3, 1 / 3, 1 / 6],
    [0, 1 / 2, 1 / 2, 1],
    4,
)
# Bogacki & Shampine (1989), the 3(2) pair of SciPy's RK23, with its cubic Hermite dense output.
BS23 = Tableau(
    "bs23",
    [[0, 0, 0], [1 / 2, 0, 0], [0, 3 / 4, 0]],
    [2 / 9, 1 / 3, 4 / 9],
    [0, 1 / 2, 3 / 4],
    3,
    error=[5 / 72, -1 / 12, -1 / 9, 1 / 8],
    error_order=2,
    dense=[[1, -4 / 3, 5 / 9], [0, 1, -2 / 3], [0, 4 / 3, -8 / 9], [0, -1, 1]],
)
# Dormand & Prince (1980), the 5(4) pair of SciPy's RK45, with Shampine's (1986) quartic dense output.
DOPRI5 = Tableau(
    "dopri5",
    [
        [0, 0, 0, 0, 0, 0],
        [1 / 5, 0, 0, 0, 0, 0],
        [3 / 40, 9 / 40, 0, 0, 0, 0],
        [44 / 45, -56 / 15, 32 / 9, 0, 0, 0],
        [19372 / 6561, -25360 / 2187, 64448 / 6561, -212 / 729, 0, 0],
        [9017 / 3168, -355 / 33, 46732 / 5247, 49 / 176, -5103 / 18656, 0],
    ],
    [35 / 384, 0, 500 / 1113, 125 / 192, -2187 / 6784, 11 / 84],
    [0, 1 / 5, 3 / 10, 4 / 5, 8 / 9, 1],
    5,
    error=[-71 / 57600, 0, 71 / 16695, -71 / 1920, 17253 / 339200, -22 / 525, 1 / 40],
    error_order=4,
    dense=[
        [1, -8048581381 / 2820520608, 8663915743 / 2820520608, -12715105075 / 11282082432],
        [0, 0, 0, 0],
        [0, 131558114200 / 32700410799, -68118460800 / 10900136933, 87487479700 / 32700410799],
        [0, -1754552775 / 470086768, 14199869525 / 1410260304, -10690763975 / 1880347072],
        [0, 127303824393 / 49829197408, -318862633887 / 49829197408, 701980252875 / 199316789632],
        [0, -282668133 / 205662961, 2019193451 / 616988883, -1453857185 / 822651844],
        [0, 40617522 / 29380423, -110615467 / 29380423, 69997945 / 29380423],
    ],
)

#: Every method by name: ``euler``, ``heun``, ``midpoint``, ``rk4``, ``bs23`` and ``dopri5``.
METHODS: dict[str, Tableau] = {m.name: m for m in (EULER, HEUN, MIDPOINT, RK4, BS23, DOPRI5)}


def get_method(method: str | Tableau) -> Tableau:
    """Look a method up by name (or pass a :class:`Tableau` through); unknown names raise ``ValueError``."""
    if isinstance(method, Tableau):
        return method
    if not isinstance(method, str) or method.lower() not in METHODS:
        raise ValueError(f"method must be one of {sorted(METHODS)} or a Tableau, got {method!r}")
    return METHODS[method.lower()]
