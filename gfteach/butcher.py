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

from ._checks import integer

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
        :math:`x = (t - t_n)/h`, :math:`y(t) \\approx y_n + h\\sum_i k_i \\sum_m P_{im} x^{m+1}`
        (default for an embedded pair: cubic Hermite interpolation, exact for cubic solutions).

    Construction checks the coefficients (shapes, finite, ``A`` strictly lower triangular) and the
    conditions a method of the declared order must meet: consistency (the rows of ``A`` sum to ``c``,
    ``b`` sums to 1) and Butcher's order conditions up to order :math:`\\min(p, 4)`; an error names the
    first condition that fails.
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
        if not isinstance(self.name, str) or not self.name:
            raise TypeError(f"Tableau name must be a non-empty str, got {self.name!r}")
        b = _coefficients(self.name, "b", self.b, 1)
        s = len(b)
        if s < 1:
            raise ValueError(f"Tableau {self.name!r}: b must hold at least one weight, got none")
        A = _coefficients(self.name, "A", self.A, 2, (s, s))
        c = _coefficients(self.name, "c", self.c, 1, (s,))
        order = _positive_int(self.name, "order", self.order)
        if np.any(np.triu(A) != 0):
            i, j = (int(k[0]) for k in np.nonzero(np.triu(A)))
            raise ValueError(
                f"Tableau {self.name!r}: A must be strictly lower triangular (an explicit method), but "
                f"A[{i}][{j}] = {A[i, j]:.6g} is on or above the diagonal; odeint has no implicit methods"
            )
        error, error_order, dense = self.error, self.error_order, self.dense
        if error is not None:
            error = _coefficients(self.name, "error", error, 1, (s + 1,))
            error_order = _positive_int(self.name, "error_order", error_order)
            if abs(error.sum()) > _TOL:
                raise ValueError(
                    f"Tableau {self.name!r}: the error weights must sum to 0 (the difference of two consistent "
                    f"methods), got {error.sum():.6g}"
                )
            if dense is None:  # cubic Hermite interpolation through y_n, y_n+1 and their slopes (FSAL)
                dense = np.zeros((s + 1, 3))
                dense[:s] = np.outer(b, [0.0, 3.0, -2.0])
                dense[0] += [1.0, -2.0, 1.0]
                dense[s] += [0.0, -1.0, 1.0]
        elif error_order is not None or dense is not None:
            raise ValueError(f"Tableau {self.name!r}: error_order and dense need error weights (error=...)")
        if dense is not None:
            dense = _coefficients(self.name, "dense", dense, 2)
            if dense.shape[0] != s + 1 or dense.shape[1] < 1:
                raise ValueError(
                    f"Tableau {self.name!r}: dense must have shape ({s + 1}, d) (one row per stage and the "
                    f"FSAL stage), got {dense.shape}"
                )
            if np.abs(dense.sum(1) - np.append(b, 0.0)).max() > _TOL:
                raise ValueError(
                    f"Tableau {self.name!r}: the rows of dense must sum to (b, 0), so that x = 1 gives y_n+1"
                )
        for array in (A, b, c, error, dense):
            if array is not None:
                array.flags.writeable = False  # a frozen tableau: no assignment can corrupt METHODS
        for field, value in (("A", A), ("b", b), ("c", c), ("order", order), ("error", error)):
            object.__setattr__(self, field, value)
        object.__setattr__(self, "error_order", error_order)
        object.__setattr__(self, "dense", dense)
        _check_order_conditions(self)

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
    def stiffness_weights(self) -> tuple[np.ndarray, np.ndarray] | None:
        r"""Weights :math:`u` on :math:`(k_1, \dots, k_{s+1})` and :math:`v = R^\top u` such that
        :math:`\|\sum u_i k_i\| / \|\sum v_i k_i\| \approx h|\lambda|` (Hairer & Wanner's stiffness test).

        The points of a step are :math:`Y = y_n + hRK` (:math:`y_n`, the stages, :math:`y_{n+1}`) with
        :math:`k_i = F(Y_i)`; :math:`u` combines points so that constant and linear drift cancel
        (:math:`\sum u_i = \sum u_i c_i = 0`): the pair taken at the same time :math:`t + h` when there is one
        (dopri5: Hairer's choice), else the second difference of the last three points (bs23). ``None``
        without an embedded pair or such points."""
        if not self.adaptive:
            return None
        s = self.stages
        R = np.zeros((s + 1, s + 1))
        R[1:s, :s], R[s, :s] = self.A[1:], self.b
        c = np.append(self.c, 1.0)
        u = np.zeros(s + 1)
        same = [i for i in range(1, s) if c[i] == 1.0]
        if same:
            u[same[-1]], u[s] = -1.0, 1.0
        elif s >= 2 and len(set(c[-3:])) == 3:
            u[-3:] = np.linalg.svd(np.vstack([np.ones(3), c[-3:]]))[2][-1]
        else:
            return None
        return u, R.T @ u

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


_TOL = 1e-10


def _coefficients(name: str, field: str, value, ndim: int, shape: tuple | None = None) -> np.ndarray:
    what = "a vector" if ndim == 1 else "a matrix"
    try:
        array = np.array(value, dtype=np.float64)  # a copy: frozen below, the caller's array untouched
    except (TypeError, ValueError) as error:
        raise TypeError(f"Tableau {name!r}: {field} must be {what} of real numbers, got {value!r} ({error})") from None
    if array.ndim != ndim or (shape is not None and array.shape != shape):
        expected = f"shape {shape}" if shape is not None else f"{ndim} dimension(s)"
        raise ValueError(f"Tableau {name!r}: {field} must be {what} of {expected}, got shape {array.shape}")
    if not np.isfinite(array).all():
        raise ValueError(f"Tableau {name!r}: {field} must be finite, got {value!r}")
    return array


def _positive_int(name: str, field: str, value) -> int:
    return integer(f"Tableau {name!r}: {field}", value, minimum=1)


def _conditions(A, b, c):
    """The order conditions of explicit Runge-Kutta methods up to order 4 (Butcher): (order, text, value, exact)."""
    yield 1, "sum(b) = 1", b.sum(), 1.0
    yield 2, "b.c = 1/2", b @ c, 1 / 2
    yield 3, "b.c^2 = 1/3", b @ c**2, 1 / 3
    yield 3, "b.Ac = 1/6", b @ A @ c, 1 / 6
    yield 4, "b.c^3 = 1/4", b @ c**3, 1 / 4
    yield 4, "b.(c*Ac) = 1/8", b @ (c * (A @ c)), 1 / 8
    yield 4, "b.Ac^2 = 1/12", b @ A @ c**2, 1 / 12
    yield 4, "b.A^2c = 1/24", b @ A @ A @ c, 1 / 24


def _check_order_conditions(tab: Tableau):
    """Consistency (rows of A sum to c, b sums to 1) and the order conditions up to min(order, 4)."""
    rows = tab.A.sum(1)
    if np.abs(rows - tab.c).max() > _TOL:
        i = int(np.argmax(np.abs(rows - tab.c)))
        raise ValueError(
            f"Tableau {tab.name!r} is not consistent: the rows of A must sum to c (stage i is taken at "
            f"t + c_i h), but row {i} sums to {rows[i]:.6g} and c[{i}] = {tab.c[i]:.6g}"
        )
    if tab.order > tab.stages:
        raise ValueError(f"Tableau {tab.name!r}: an explicit method with {tab.stages} stages has order <= "
                         f"{tab.stages}, but order = {tab.order} is declared")  # fmt: skip
    for p, text, value, exact in _conditions(tab.A, tab.b, tab.c):
        if p <= tab.order and abs(value - exact) > _TOL:
            what = "is not consistent (order 0)" if p == 1 else f"declares order {tab.order}"
            raise ValueError(
                f"Tableau {tab.name!r} {what}: it fails the order-{p} condition {text} (it is {value:.10g})"
            )


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
    if not isinstance(method, str):
        raise TypeError(f"method must be one of {sorted(METHODS)} or a Tableau, got {type(method).__name__} {method!r}")
    if method.lower() not in METHODS:
        raise ValueError(f"method must be one of {sorted(METHODS)} or a Tableau, got {method!r}")
    return METHODS[method.lower()]
