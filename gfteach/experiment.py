r"""The experiment of Elkabetz & Cohen (2021), reproduced; then the true gradient flow next to it.

**The paper's experiment.** For each of four networks, from one Xavier initialization
:math:`\theta_0` (seed 1), run full-batch gradient descent (GD) on the mean cross-entropy

* with a step :math:`\eta_0` for :math:`K` steps, iterates :math:`\theta_{\eta_0}(k)`;
* with the smaller steps :math:`\eta_0/r`, :math:`r \in \{2, 5, 10, 20\}`, for :math:`rK` steps,
  iterates :math:`\theta_{\eta_0/r}(j)`.

Iterate :math:`k` of the first run and iterate :math:`rk` of the second sit at the same time
:math:`t = k\eta_0` of the gradient flow (GF) :math:`\theta' = -\nabla f(\theta)`, which both approximate
(GD is Euler's method). The paper plots the training loss of every run against :math:`t`, the
distance travelled :math:`\|\theta_{\eta_0}(k) - \theta_0\|` and the distance to the smaller steps
:math:`\|\theta_{\eta_0}(k) - \theta_{\eta_0/r}(rk)\|`, both over the *weights* only (biases
excluded, :func:`gfteach.nets.weight_mask`). :func:`compare_step_sizes` computes exactly these.

**Why the distances shrink like** :math:`1 - 1/r`. Euler's global error has an expansion
:math:`\theta_\eta(t/\eta) = \theta(t) + \eta\,e(t) + O(\eta^2)` with :math:`e` independent of
:math:`\eta`, so :math:`\theta_{\eta_0}(k) - \theta_{\eta_0/r}(rk) = \eta_0(1 - 1/r)\,e(t) + O(\eta_0^2)`:
the distance to the step :math:`\eta_0/r` tends, as :math:`r \to \infty`, to the distance
:math:`\eta_0\|e(t)\|` from the true flow, and already at :math:`r = 2` it is half of it
(Richardson's observation: :math:`2\theta_{\eta_0/2} - \theta_{\eta_0}` is a second-order
approximation of the flow). :func:`flow_study` computes the true flow with an adaptive
Dormand–Prince solver instead, and measures the slope of :math:`\|\theta_\eta(t/\eta) - \theta(t)\|`
against :math:`\eta` (1 for Euler), the cost of the flow, the curvature along it and the book's
approximation bound.

**Settings.** ``"default"`` runs on a laptop CPU in seconds (digits data, small :math:`K`, fewer
:math:`r` for the expensive convolutional networks); ``"full"`` is the paper's scale (:math:`K = 10^4`,
all :math:`r`, 1,000 images) and runs on a GPU when there is one. See :data:`SETTINGS`.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import matplotlib.pyplot as plt
import numpy as np
import torch

from . import nets
from .bounds import ApproximationBound, approximation_bound
from .curvature import CurvatureAlong, curvature_along, extreme_eigenvalues
from .data import digits_subset, mnist_subset
from .exercises import finite_number, report
from .flow import Trajectory, gd_time_grid, gradient_flow
from .objective import Objective
from .plotting import OKABE_ITO, use_style
from .widgets import show_figure

__all__ = [
    "NETWORKS",
    "NETWORK_LABELS",
    "RunPlan",
    "Setting",
    "SETTINGS",
    "get_setting",
    "pick_device",
    "load_data",
    "build_network",
    "make_objective",
    "DescentRun",
    "descend",
    "as_trajectory",
    "StepSizeComparison",
    "compare_step_sizes",
    "reproduce",
    "FlowStudy",
    "flow_study",
    "fit_slope",
    "InitComparison",
    "compare_inits",
    "format_plans",
    "format_results",
    "reproduction_figure",
    "relative_distance_figure",
    "flow_convergence_figure",
    "curvature_figure",
    "bound_figure",
    "init_figure",
    "explorer_figure",
    "experiment_explorer",
    "check_richardson",
    "check_break_even",
]

#: the paper's four networks, in the order of its figure
NETWORKS = ("fc_linear", "fc_relu", "conv_adapted", "conv_off_the_shelf")
NETWORK_LABELS = {
    "fc_linear": "fully connected, linear",
    "fc_relu": "fully connected, ReLU",
    "conv_adapted": "convolutional, adapted",
    "conv_off_the_shelf": "convolutional, off-the-shelf",
}
_F64 = torch.float64


# -- settings -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RunPlan:
    r"""One network's runs: GD with ``eta0`` for ``steps`` :math:`= K` steps, and with ``eta0 / r`` for
    ``r * steps`` steps for each ``r`` in ``ratios``; parameters recorded every ``record_every``
    :math:`\eta_0`-steps (the loss at every step). Costs :math:`K(1 + \sum r)` gradients."""

    eta0: float
    steps: int
    ratios: tuple[int, ...]
    record_every: int

    @property
    def n_grad(self) -> int:
        """Gradient evaluations of all runs together."""
        return self.steps * (1 + sum(self.ratios))


@dataclass(frozen=True)
class Setting:
    """An experiment's scale: data (``source``, ``n`` images at ``size``×``size``), one :class:`RunPlan`
    per network, the initialization seed, and the device (``"auto"``: a GPU when there is one)."""

    name: str
    n: int
    plans: dict[str, RunPlan]
    size: int = 28
    seed: int = 1
    device: str = "auto"
    source: str = "digits"


#: ``default`` (a laptop CPU, seconds): 128 digits; the paper's :math:`\eta_0 = 10^{-3}` for the fully connected
#: linear network and larger :math:`\eta_0` for the flatter others (:math:`\eta_0\lambda_{\max}(\theta_0) \le 0.27`
#: for all four); :math:`K = 50` for the fully connected networks (:math:`r` up to 20 and 10), :math:`K = 16` and
#: 8 with :math:`r \in \{2, 5\}` for the convolutional ones, whose gradients cost 10 to 30 times more in
#: float64 on a CPU. ``full``: the paper's scale (1,000 images, :math:`\eta_0 = 10^{-3}`, :math:`K = 10^4`,
#: all :math:`r`; about :math:`1.5 \times 10^6` gradients in all: use a GPU).
SETTINGS: dict[str, Setting] = {
    "default": Setting(
        "default",
        n=128,
        plans={
            "fc_linear": RunPlan(1e-3, 50, (2, 5, 10, 20), 10),
            "fc_relu": RunPlan(2e-3, 50, (2, 5, 10), 10),
            "conv_adapted": RunPlan(5e-3, 16, (2, 5), 4),
            "conv_off_the_shelf": RunPlan(5e-3, 8, (2, 5), 4),
        },
    ),
    "full": Setting(
        "full",
        n=1000,
        plans={name: RunPlan(1e-3, 10_000, (2, 5, 10, 20), 100) for name in NETWORKS},
    ),
}


def get_setting(setting: str | Setting = "default", **changes) -> Setting:
    """A :class:`Setting` by name (or as given), with fields replaced by ``changes``."""
    if isinstance(setting, str):
        if setting not in SETTINGS:
            raise ValueError(f"setting must be one of {sorted(SETTINGS)}, got {setting!r}")
        setting = SETTINGS[setting]
    return replace(setting, **changes) if changes else setting


def pick_device(device: str | torch.device = "auto") -> torch.device:
    """``"auto"``: the first CUDA GPU if there is one, else the CPU; otherwise ``torch.device(device)``."""
    if str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


# -- data, networks, objectives -------------------------------------------------------------------


def load_data(source: str = "digits", n: int = 128, size: int = 28, root: str | None = None):
    """Training images ``(X, y)``: ``"digits"`` (scikit-learn's, upsampled to ``size``; offline) or
    ``"mnist"`` (the first ``n`` of the paper's indices 0, 50, 100, …; downloads once, needs internet)."""
    if source == "digits":
        return digits_subset(n, size=size)
    if source == "mnist":
        kwargs = {} if root is None else {"root": root}
        return mnist_subset(indices=range(0, 50 * n, 50), download=True, **kwargs)
    raise ValueError(f"source must be 'digits' or 'mnist', got {source!r}")


def build_network(name: str, *, seed: int = 1, init: str = "xavier", scale: float = 1e-2, size: int = 28):
    """One of :data:`NETWORKS` for ``size``×``size`` images, initialized from ``torch.Generator`` seed ``seed``:
    ``init="xavier"`` (the paper's) or ``"near_zero"`` (i.i.d. :math:`\\mathcal N(0, \\text{scale}^2)`)."""
    if name not in NETWORKS:
        raise ValueError(f"network must be one of {NETWORKS}, got {name!r}")
    model = getattr(nets, name)(
        **({"in_features": size * size} if name.startswith("fc") else {"in_shape": (1, size, size)})
    )
    generator = torch.Generator().manual_seed(seed)
    if init == "xavier":
        return nets.xavier_init_(model, generator)
    if init == "near_zero":
        return nets.near_zero_init_(model, scale, generator)
    raise ValueError(f"init must be 'xavier' or 'near_zero', got {init!r}")


def make_objective(model, X, y, device: str | torch.device = "cpu") -> Objective:
    """Mean cross-entropy of ``model`` on ``(X, y)`` as an :class:`~gfteach.objective.Objective`, on ``device``."""
    device = pick_device(device)
    return Objective(model.to(device), X.to(device), y.to(device), "cross_entropy")


# -- gradient descent with a progress bar ---------------------------------------------------------


@dataclass
class DescentRun:
    """GD iterates recorded at ``iterations`` (``thetas``, one row each), the loss at *every* iterate
    (``losses[j]`` at iterate ``j``), the step and the gradient evaluations used."""

    step: float
    iterations: torch.Tensor
    thetas: torch.Tensor
    losses: torch.Tensor
    n_grad: int


def _progress(total: int, desc: str, enabled: bool | None):
    """A tqdm bar (``tqdm.auto``; ``enabled=None`` lets tqdm switch itself off when the output is no
    terminal or notebook), or a no-op when ``enabled`` is ``False``."""
    if enabled is False:
        return contextlib.nullcontext(None)
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, disable=None, leave=False, mininterval=0.5)


def descend(obj, theta0: torch.Tensor, step: float, steps: int, record_every: int = 1, *, progress=False, desc="GD"):
    r""":math:`\theta_{j+1} = \theta_j - \eta\nabla f(\theta_j)`, ``steps`` times: the operations of
    :func:`gfteach.flow.gradient_descent` (hence of ``torch.optim.SGD``), bit for bit, with a progress bar.

    Records :math:`\theta_j` for :math:`j = 0, r, 2r, \dots` (``r = record_every``) and the last iterate,
    and :math:`f(\theta_j)` for every :math:`j`. Raises ``FloatingPointError`` if the run diverges.
    """
    if not (isinstance(steps, int) and steps >= 0 and isinstance(record_every, int) and record_every >= 1):
        raise ValueError(f"need integers steps >= 0 and record_every >= 1, got {steps!r}, {record_every!r}")
    if not (math.isfinite(step) and step > 0):
        raise ValueError(f"step must be a positive finite number, got {step!r}")
    theta = theta0.detach().clone()
    before = obj.n_grad
    ks, thetas, losses = [], [], []
    with _progress(steps, desc, progress) as bar:
        for j in range(steps + 1):
            if j % record_every == 0 or j == steps:
                if not torch.isfinite(theta).all():
                    raise FloatingPointError(f"{desc}: the parameters became non-finite by iterate {j}")
                ks.append(j)
                thetas.append(theta)
            if j == steps:
                losses.append(obj._value(theta))
                break
            value, grad = obj._value_and_grad(theta)
            losses.append(value)
            theta = theta.add(grad, alpha=-step)
            if bar is not None:
                bar.update(1)
    losses = torch.stack(losses).cpu()
    if not torch.isfinite(losses).all():
        raise FloatingPointError(f"{desc}: the loss became non-finite (step {step:.4g} too large?)")
    return DescentRun(step, torch.tensor(ks), torch.stack(thetas), losses, obj.n_grad - before)


def as_trajectory(run: DescentRun) -> Trajectory:
    """The recorded iterates of a :class:`DescentRun` as a GD :class:`~gfteach.flow.Trajectory` (on the CPU)."""
    return Trajectory(
        times=run.iterations.to(_F64) * run.step,
        thetas=run.thetas.cpu(),
        losses=run.losses[run.iterations],
        kind="gd",
        n_grad=run.n_grad,
        step=run.step,
        iterations=run.iterations,
        method="euler",
    )


# -- the paper's comparison -----------------------------------------------------------------------


@dataclass
class StepSizeComparison:
    r"""GD with :math:`\eta_0` against GD with :math:`\eta_0/r` for one network, as in the paper.

    ``times`` are :math:`t = k\eta_0` at the recorded :math:`k` (``iterations``); ``losses[r]`` the loss of
    the run with step :math:`\eta_0/r` at every :math:`\eta_0`-step (``r = 1`` is :math:`\eta_0` itself);
    ``travelled`` is :math:`\|\theta_{\eta_0}(k) - \theta_0\|` and ``distances[r]`` is
    :math:`\|\theta_{\eta_0}(k) - \theta_{\eta_0/r}(rk)\|`, both over the weights. ``finals[r]``
    are the last iterates, ``iterates[r]`` (if kept) the recorded ones at the same times, ``mask``
    the weights among the parameters, ``base`` the :math:`\eta_0` run and ``lambda_max0`` (if asked
    for) :math:`\lambda_{\max}(\nabla^2 f(\theta_0))`, so that :math:`\eta_0\lambda_{\max}` measures the step.
    """

    network: str
    eta0: float
    steps: int
    ratios: tuple[int, ...]
    iterations: torch.Tensor
    times: torch.Tensor
    losses: dict[int, torch.Tensor]
    travelled: torch.Tensor
    distances: dict[int, torch.Tensor]
    n_grad: dict[int, int]
    finals: dict[int, torch.Tensor]
    mask: torch.Tensor
    theta0: torch.Tensor
    iterates: dict[int, torch.Tensor] = field(default_factory=dict)
    base: DescentRun | None = None
    lambda_max0: float | None = None

    def relative(self, r: int) -> torch.Tensor:
        """Distance to the step :math:`\\eta_0/r` over the distance travelled (0 at :math:`t = 0`)."""
        return self.distances[r] / self.travelled.clamp(min=torch.finfo(_F64).tiny)

    def max_relative(self) -> float:
        """The largest distance to a smaller step relative to the distance travelled, after the first record."""
        return max(float(self.relative(r)[1:].max()) for r in self.ratios)

    def loss_gap(self) -> float:
        r""":math:`\max_{r,k} |f_{\eta_0/r} - f_{\eta_0}| / f_{\eta_0}` over all :math:`\eta_0`-steps."""
        base = self.losses[1]
        return max(float(((self.losses[r] - base).abs() / base).max()) for r in self.ratios)


def compare_step_sizes(
    obj,
    theta0: torch.Tensor,
    plan: RunPlan,
    mask: torch.Tensor,
    *,
    network: str = "",
    keep_iterates: bool = True,
    progress=False,
) -> StepSizeComparison:
    """Run the paper's comparison of :class:`RunPlan` ``plan`` from ``theta0`` (see :class:`StepSizeComparison`).

    ``keep_iterates``: keep every run's recorded iterates (on the CPU), for :func:`flow_study`.
    """
    theta0 = theta0.detach()
    mask = mask.to(theta0.device)
    base = descend(obj, theta0, plan.eta0, plan.steps, plan.record_every, progress=progress, desc=f"{network} eta0")
    weights = base.thetas[:, mask]
    travelled = torch.linalg.vector_norm(weights - theta0[mask], dim=1).cpu()
    losses, distances, n_grad = {1: base.losses}, {}, {1: base.n_grad}
    finals = {1: base.thetas[-1].cpu()}
    iterates = {1: base.thetas.cpu()} if keep_iterates else {}
    for r in plan.ratios:
        run = descend(
            obj,
            theta0,
            plan.eta0 / r,
            r * plan.steps,
            r * plan.record_every,
            progress=progress,
            desc=f"{network} eta0/{r}",
        )
        losses[r] = run.losses[::r]
        distances[r] = torch.linalg.vector_norm(weights - run.thetas[:, mask], dim=1).cpu()
        n_grad[r] = run.n_grad
        finals[r] = run.thetas[-1].cpu()
        if keep_iterates:
            iterates[r] = run.thetas.cpu()
    return StepSizeComparison(
        network=network,
        eta0=plan.eta0,
        steps=plan.steps,
        ratios=tuple(plan.ratios),
        iterations=base.iterations,
        times=base.iterations.to(_F64) * plan.eta0,
        losses=losses,
        travelled=travelled,
        distances=distances,
        n_grad=n_grad,
        finals=finals,
        mask=mask.cpu(),
        theta0=theta0.cpu(),
        iterates=iterates,
        base=base,
    )


@contextlib.contextmanager
def _threads(n: int | None):
    """Temporarily ``torch.set_num_threads(n)`` (``None``: leave alone)."""
    if n is None:
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def reproduce(
    setting: str | Setting = "default",
    networks: Sequence[str] | None = None,
    *,
    progress: bool | None = None,
    threads: int | None = None,
    keep_iterates: bool | None = None,
    sharpness: bool = False,
) -> dict[str, StepSizeComparison]:
    r"""The paper's experiment at ``setting`` for ``networks`` (default: all four), one comparison each.

    ``progress``: ``None`` shows tqdm bars for the ``full`` setting only (and tqdm hides them when the
    output is no terminal or notebook). ``threads``: CPU threads to use meanwhile (``None``: unchanged).
    ``keep_iterates``: keep every run's recorded iterates (``None``: except in the ``full`` setting).
    ``sharpness``: also compute :math:`\lambda_{\max}` at :math:`\theta_0` (Lanczos, relative tolerance 1e-2).
    """
    setting = get_setting(setting)
    device = pick_device(setting.device)
    X, y = load_data(setting.source, setting.n, setting.size)
    progress = (setting.name == "full") if progress is None else progress
    keep_iterates = (setting.name != "full") if keep_iterates is None else keep_iterates
    results = {}
    with _threads(threads):
        for name in networks or NETWORKS:
            model = build_network(name, seed=setting.seed, size=setting.size)
            mask = nets.weight_mask(model)
            obj = make_objective(model, X, y, device)
            theta0 = obj.theta0()
            plan = setting.plans[name]
            results[name] = compare_step_sizes(
                obj, theta0, plan, mask, network=name, keep_iterates=keep_iterates, progress=progress
            )
            if sharpness:
                top = extreme_eigenvalues(obj, theta0, which="max", tol=1e-2, max_iter=100, on_failure="warn")
                results[name].lambda_max0 = top.lambda_max
    return results


# -- beyond the paper: the true gradient flow ------------------------------------------------------


def fit_slope(x, y) -> float:
    """Least-squares slope of :math:`\\log y` against :math:`\\log x` (the order of a method, say)."""
    x, y = np.log(np.asarray(x, dtype=float)), np.log(np.asarray(y, dtype=float))
    if len(x) < 2 or not (np.isfinite(x).all() and np.isfinite(y).all()):
        raise ValueError("need at least two positive, finite points")
    return float(np.polyfit(x, y, 1)[0])


@dataclass
class FlowStudy:
    r"""The true gradient flow next to the paper's small-step proxies, for one network.

    * ``gf``: the flow, solved by DOPRI5 to ``rtol``, recorded at :math:`t = k\eta_0` up to ``horizon``
      (``n_grad`` = its gradient evaluations); ``proxy_n_grad``: what GD with :math:`\eta_0/r_{\max}`
      needs for the same time, :math:`r_{\max}\,\text{horizon}/\eta_0` (one gradient per step).
    * ``etas``, ``gaps``: the steps :math:`\eta_0/r` (:math:`r = 1` first) and
      :math:`\|\theta_\eta(K\eta_0/\eta) - \theta(K\eta_0)\|` at the end of the paper's runs; ``slope``
      their log–log slope (Euler: 1). ``gap_curves[r]``: the same distance at every recorded time.
    * ``flow_error``: the flow's own error at :math:`K\eta_0`, against a run with ``check_rtol``.
    * ``curvature``: :math:`\lambda_{\min}`, :math:`\lambda_{\max}` along the flow;
      ``bound``: the book's approximation bound for GD with :math:`\eta_0` (see
      :func:`gfteach.curvature.approximation_bound`).
    """

    network: str
    eta0: float
    horizon: float
    rtol: float
    gf: Trajectory
    n_grad: int
    proxy_ratio: int
    proxy_n_grad: int
    etas: np.ndarray
    gaps: np.ndarray
    slope: float
    gap_curves: dict[int, torch.Tensor]
    flow_error: float
    curvature: CurvatureAlong
    bound: ApproximationBound

    @property
    def cost_ratio(self) -> float:
        """Gradient evaluations of the flow over those of the :math:`\\eta_0/r_{\\max}` proxy, same horizon."""
        return self.n_grad / self.proxy_n_grad


def _slice(trajectory: Trajectory, count: int) -> Trajectory:
    return replace(
        trajectory, times=trajectory.times[:count], thetas=trajectory.thetas[:count], losses=trajectory.losses[:count]
    )


def flow_study(
    obj,
    comparison: StepSizeComparison,
    *,
    horizon_factor: int = 10,
    rtol: float = 1e-7,
    atol: float = 1e-9,
    check_rtol: float = 1e-10,
    curvature_points: int = 11,
    tol: float = 1e-6,
) -> FlowStudy:
    r"""Solve the gradient flow from ``comparison.theta0`` and measure it against the paper's GD runs.

    The flow is followed to ``horizon_factor`` times the paper's horizon :math:`K\eta_0`, recorded at the
    comparison's times and beyond on the same grid. ``comparison`` must hold its iterates
    (``compare_step_sizes(..., keep_iterates=True)``) for the distance curves. Curvature is computed by
    Lanczos (to relative tolerance ``tol``) at ``curvature_points`` evenly spaced records of the flow.
    """
    c = comparison
    if not c.iterates:
        raise ValueError("the comparison must keep its iterates: compare_step_sizes(..., keep_iterates=True)")
    every = int(c.iterations[1] - c.iterations[0]) if len(c.iterations) > 1 else 1
    long_steps = c.steps * horizon_factor
    grid = gd_time_grid(c.eta0, long_steps, every)
    theta0 = c.theta0
    before = obj.n_grad
    gf = gradient_flow(obj, theta0, grid, rtol=rtol, atol=atol, on_divergence="raise")
    n_grad = obj.n_grad - before
    short = _slice(gf, len(c.times))
    check = gradient_flow(obj, theta0, c.times, rtol=check_rtol, atol=check_rtol * 1e-2, on_divergence="raise")
    flow_error = float(torch.linalg.vector_norm(short.thetas[-1] - check.thetas[-1]))
    ratios = (1, *c.ratios)
    gap_curves = {r: torch.linalg.vector_norm(c.iterates[r] - short.thetas, dim=1) for r in ratios}
    etas = np.array([c.eta0 / r for r in ratios])
    gaps = np.array([float(gap_curves[r][-1]) for r in ratios])
    stride = max(1, (len(gf.times) - 1) // max(1, curvature_points - 1))
    curvature = curvature_along(obj, gf, stride, tol=tol)
    gd = as_trajectory(c.base)
    bound = approximation_bound(obj, gd, short, curvature=curvature, every=max(1, len(gd.times) - 1), tol=tol)
    r_max = max(c.ratios)
    return FlowStudy(
        network=c.network,
        eta0=c.eta0,
        horizon=float(grid[-1]),
        rtol=rtol,
        gf=gf,
        n_grad=n_grad,
        proxy_ratio=r_max,
        proxy_n_grad=r_max * long_steps,
        etas=etas,
        gaps=gaps,
        slope=fit_slope(etas, gaps),
        gap_curves=gap_curves,
        flow_error=flow_error,
        curvature=curvature,
        bound=bound,
    )


# -- the theory's regime: near-zero initialization ------------------------------------------------


@dataclass
class InitComparison:
    r"""Gradient flows of one network from two initializations, with the curvature along each.

    ``flows[label]`` and ``curvature[label]`` for ``label`` in ``labels`` (the paper's Xavier init and
    the theory's near-zero init of scale ``scale``).
    """

    network: str
    scale: float
    labels: tuple[str, ...]
    flows: dict[str, Trajectory]
    curvature: dict[str, CurvatureAlong]

    def summary(self, label: str) -> dict[str, float]:
        r"""Loss at the start and end, :math:`\min_t\lambda_{\min}`, :math:`\max_t\lambda_{\max}`, the final
        :math:`\int_0^T\min(\lambda_{\min}, 0)` and the flow time :math:`T`."""
        flow, curv = self.flows[label], self.curvature[label]
        return {
            "loss_start": float(flow.losses[0]),
            "loss_end": float(flow.losses[-1]),
            "lambda_min": float(curv.lambda_min.min()),
            "lambda_max": float(curv.lambda_max.max()),
            "negative_integral": float(curv.negative_integral[-1]),
            "horizon": float(flow.times[-1]),
        }


def compare_inits(
    X,
    y,
    network: str = "fc_linear",
    *,
    xavier: FlowStudy | None = None,
    scale: float = 0.05,
    horizon: float = 2.0,
    points: int = 11,
    rtol: float = 1e-7,
    tol: float = 1e-6,
    seed: int = 1,
) -> InitComparison:
    r"""Gradient flow and curvature from Xavier init (reused from ``xavier`` if given) and from the
    near-zero init :math:`\mathcal N(0, \text{scale}^2)` (followed to time ``horizon``, curvature at
    ``points`` evenly spaced times)."""
    flows, curvature = {}, {}
    labels = ("Xavier (the paper)", f"near zero, scale {scale:g} (the theory)")
    for label, init in zip(labels, ("xavier", "near_zero")):
        if init == "xavier" and xavier is not None:
            flows[label], curvature[label] = xavier.gf, xavier.curvature
            continue
        model = build_network(network, seed=seed, init=init, scale=scale, size=int(round(math.sqrt(X[0].numel()))))
        obj = make_objective(model, X, y)
        grid = torch.linspace(0.0, horizon, points, dtype=_F64)
        flows[label] = gradient_flow(obj, obj.theta0(), grid, rtol=rtol, atol=rtol * 1e-2, on_divergence="raise")
        curvature[label] = curvature_along(obj, flows[label], tol=tol)
    return InitComparison(network, scale, labels, flows, curvature)


# -- printed summaries ----------------------------------------------------------------------------


def format_plans(setting: Setting) -> str:
    """One line per network: the step, the number of steps and the ratios of a setting, and its cost."""
    size = f"{setting.size}x{setting.size}"
    lines = [f"setting {setting.name!r}: {setting.n} images ({setting.source}, {size}), seed {setting.seed}"]
    lines.append(f"{'network':<30}{'eta0':>8}{'K':>7}  {'r':<15}{'gradients':>10}")
    for name, plan in setting.plans.items():
        ratios = ", ".join(map(str, plan.ratios))
        lines.append(f"{NETWORK_LABELS[name]:<30}{plan.eta0:>8.4g}{plan.steps:>7}  {ratios:<15}{plan.n_grad:>10}")
    return "\n".join(lines)


def format_results(results: dict[str, StepSizeComparison]) -> str:
    """One line per network: :math:`\\eta_0\\lambda_{\\max}(\\theta_0)`, the loss, the distance travelled, the
    largest loss gap and the distance to the smallest step (absolute and relative), 4 significant digits."""
    lines = [
        f"{'network':<30}{'eta0*lmax':>10}{'loss start':>11}{'loss end':>9}{'travelled':>10}"
        f"{'loss gap':>9}{'to eta0/r_max':>14}{'relative':>9}"
    ]
    for name, c in results.items():
        r = max(c.ratios)
        sharp = f"{c.eta0 * c.lambda_max0:.4g}" if c.lambda_max0 is not None else "-"
        lines.append(
            f"{NETWORK_LABELS.get(name, name):<30}{sharp:>10}"
            f"{float(c.losses[1][0]):>11.4g}{float(c.losses[1][-1]):>9.4g}"
            f"{float(c.travelled[-1]):>10.4g}{100 * c.loss_gap():>8.2g}%{float(c.distances[r][-1]):>14.4g}"
            f"{100 * float(c.relative(r)[-1]):>8.3g}%"
        )
    return "\n".join(lines)


# -- figures --------------------------------------------------------------------------------------

#: colour and line style of each step-size ratio r (r = 1 is eta_0 itself)
RATIO_STYLE = {
    1: {"color": OKABE_ITO["black"], "linestyle": "-"},
    2: {"color": OKABE_ITO["vermillion"], "linestyle": "--"},
    5: {"color": OKABE_ITO["blue"], "linestyle": "-."},
    10: {"color": OKABE_ITO["bluish green"], "linestyle": ":"},
    20: {"color": OKABE_ITO["orange"], "linestyle": (0, (5, 1))},
}


def _ratio_style(r: int) -> dict:
    return RATIO_STYLE.get(r, {"color": OKABE_ITO["reddish purple"], "linestyle": (0, (3, 1, 1, 1))})


def _eta_label(r: int) -> str:
    return r"$\eta_0$" if r == 1 else rf"$\eta_0/{r}$"


def _loss_axes(ax, c: StepSizeComparison, ratios: Sequence[int]) -> None:
    k = np.arange(len(c.losses[1]))
    for r in (1, *ratios):
        ax.plot(
            k, c.losses[r].numpy(), label=f"GD, {_eta_label(r)}", linewidth=1.8 if r == 1 else 1.4, **_ratio_style(r)
        )
    ax.set(xlabel=r"iteration $k$ of $\eta_0$  (time $k\eta_0$)", ylabel="training loss")


def _distance_axes(ax, c: StepSizeComparison, ratios: Sequence[int]) -> None:
    k = c.iterations.numpy()[1:]
    ax.semilogy(k, c.travelled.numpy()[1:], label=r"$\|\theta_{\eta_0}(k) - \theta_0\|$", **_ratio_style(1))
    for r in ratios:
        ax.semilogy(
            k, c.distances[r].numpy()[1:], marker="o", markersize=3, label=rf"to {_eta_label(r)}", **_ratio_style(r)
        )
    ax.set(xlabel=r"iteration $k$ of $\eta_0$", ylabel="distance (weights)")


def _legend_below(fig, axes) -> None:
    handles, labels = [], []
    for ax in np.ravel(axes):
        for h, lab in zip(*ax.get_legend_handles_labels()):
            if lab not in labels:
                handles.append(h)
                labels.append(lab)
    fig.legend(handles, labels, loc="outside lower center", ncols=min(len(labels), 6))


def reproduction_figure(results: dict[str, StepSizeComparison]) -> plt.Figure:
    """The paper's figure: per network, the training loss of every step size (top) and the distance
    travelled next to the distances to the smaller steps (bottom, log scale)."""
    use_style()
    n = len(results)
    fig, axes = plt.subplots(2, n, figsize=(3.3 * n, 6.2), squeeze=False)
    for j, (name, c) in enumerate(results.items()):
        _loss_axes(axes[0, j], c, c.ratios)
        axes[0, j].set_title(
            f"{NETWORK_LABELS.get(name, name)}\n" + rf"$\eta_0 = {c.eta0:g}$, $K = {c.steps}$", fontsize=9.5
        )
        _distance_axes(axes[1, j], c, c.ratios)
        if j:
            axes[0, j].set_ylabel("")
            axes[1, j].set_ylabel("")
    _legend_below(fig, axes)
    fig.suptitle(r"GD with $\eta_0$ for $K$ steps against GD with $\eta_0/r$ for $rK$ steps, from the same weights")
    return fig


def relative_distance_figure(results: dict[str, StepSizeComparison], limit: float = 0.05) -> plt.Figure:
    r"""Small multiples: :math:`\|\theta_{\eta_0}(k) - \theta_{\eta_0/r}(rk)\| / \|\theta_{\eta_0}(k) - \theta_0\|`
    for every network and ratio, with the 5% line."""
    use_style()
    n = len(results)
    fig, axes = plt.subplots(1, n, figsize=(3.3 * n, 3.4), squeeze=False, sharey=True)
    for ax, (name, c) in zip(axes[0], results.items()):
        k = c.iterations.numpy()[1:]
        for r in c.ratios:
            ax.plot(
                k,
                100 * c.relative(r).numpy()[1:],
                marker="o",
                markersize=3,
                label=rf"to {_eta_label(r)}",
                **_ratio_style(r),
            )
        ax.axhline(100 * limit, color="0.4", linewidth=1.0, linestyle="--", label=f"{100 * limit:g}%")
        ax.set(title=NETWORK_LABELS.get(name, name), xlabel=r"iteration $k$ of $\eta_0$", ylim=(0, 100 * limit * 1.15))
    axes[0, 0].set_ylabel("distance / distance travelled (%)")
    _legend_below(fig, axes)
    fig.suptitle("Distance to the smaller steps, relative to the distance travelled")
    return fig


def flow_convergence_figure(study: FlowStudy) -> plt.Figure:
    r"""Left: :math:`\|\theta_\eta(t/\eta) - \theta(t)\|` against :math:`t` for every step; right: the final
    distance against :math:`\eta` on log–log axes, with the fitted slope."""
    use_style()
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9.0, 3.9))
    t = study.gf.times[: len(next(iter(study.gap_curves.values())))].numpy()
    for r, gap in study.gap_curves.items():
        ax1.semilogy(t[1:], gap.numpy()[1:], marker="o", markersize=3, label=f"GD, {_eta_label(r)}", **_ratio_style(r))
    ax1.set(
        title="Distance from the true gradient flow",
        xlabel=r"time $t = k\eta_0$",
        ylabel=r"$\|\theta_\eta(t/\eta) - \theta(t)\|$",
    )
    ax1.legend(loc="lower right", ncols=2)
    ax2.loglog(study.etas, study.gaps, "o", color=OKABE_ITO["vermillion"], label="measured at the last time")
    fit = np.polyfit(np.log(study.etas), np.log(study.gaps), 1)
    grid = np.geomspace(study.etas.min(), study.etas.max(), 20)
    ax2.loglog(
        grid,
        np.exp(np.polyval(fit, np.log(grid))),
        color=OKABE_ITO["black"],
        linewidth=1.0,
        label=f"fit, slope {study.slope:.3f}",
    )
    ax2.set(title="Euler's first order, on a network", xlabel=r"step size $\eta$", ylabel="distance at the last time")
    ax2.legend(loc="lower right")
    fig.suptitle(
        f"{NETWORK_LABELS.get(study.network, study.network)}: GD converges to the gradient flow as the step shrinks"
    )
    return fig


def curvature_figure(study: FlowStudy) -> plt.Figure:
    r""":math:`\lambda_{\max}` and :math:`\lambda_{\min}` of the Hessian along the flow, and
    :math:`\int_0^t \min(\lambda_{\min}, 0)`."""
    use_style()
    cu = study.curvature
    t = cu.times.numpy()
    fig, axes = plt.subplots(1, 3, figsize=(10.5, 3.5))
    axes[0].plot(
        t, cu.lambda_max.numpy(), marker="o", markersize=3.5, color=OKABE_ITO["orange"], label=r"$\lambda_{\max}$"
    )
    axes[0].axhline(2 / study.eta0, color="0.4", linestyle="--", linewidth=1.0, label=r"$2/\eta_0$")
    axes[0].set(
        title="largest eigenvalue", xlabel="time $t$", ylabel=r"$\lambda_{\max}(\nabla^2 f(\theta(t)))$", yscale="log"
    )
    axes[1].plot(
        t, cu.lambda_min.numpy(), marker="o", markersize=3.5, color=OKABE_ITO["bluish green"], label=r"$\lambda_{\min}$"
    )
    axes[1].axhline(0, color="0.4", linewidth=0.8)
    axes[1].set(title="smallest eigenvalue", xlabel="time $t$", ylabel=r"$\lambda_{\min}(\nabla^2 f(\theta(t)))$")
    axes[2].plot(
        t,
        cu.negative_integral.numpy(),
        marker="o",
        markersize=3.5,
        color=OKABE_ITO["blue"],
        label=r"$\int_0^t \min(\lambda_{\min}, 0)$",
    )
    axes[2].set(
        title="accumulated negative curvature", xlabel="time $t$", ylabel=r"$\int_0^t \min(\lambda_{\min}(s), 0)\,ds$"
    )
    for ax in axes:
        ax.legend(loc="best")
    fig.suptitle(f"Curvature along the gradient flow ({NETWORK_LABELS.get(study.network, study.network)}, Xavier init)")
    return fig


def bound_figure(study: FlowStudy) -> plt.Figure:
    """The measured distance of GD with :math:`\\eta_0` from the flow next to the approximation bound."""
    use_style()
    b = study.bound
    t = b.times.numpy()[1:]
    fig, ax = plt.subplots(figsize=(6.4, 3.9))
    ax.semilogy(
        t,
        b.closed_form.numpy()[1:],
        color=OKABE_ITO["sky blue"],
        linestyle="--",
        marker="s",
        markersize=3,
        label=r"closed form $\frac{\beta\gamma}{2}t\eta e^{-\int_0^t \min(m,0)}$",
    )
    ax.semilogy(t, b.bound.numpy()[1:], color=OKABE_ITO["blue"], marker="D", markersize=3, label="bound (summed form)")
    ax.semilogy(
        t,
        b.distance.numpy()[1:],
        color=OKABE_ITO["vermillion"],
        marker="o",
        markersize=3,
        label=r"measured $\|\theta_k - \theta(k\eta_0)\|$",
    )
    ax.set(
        title=rf"The approximation bound on the real trajectory ($\eta_0 = {study.eta0:g}$)",
        xlabel=r"time $t = k\eta_0$",
        ylabel="distance",
    )
    ax.legend(loc="center right")
    return fig


def init_figure(comparison: InitComparison) -> plt.Figure:
    r""":math:`\lambda_{\min}` and :math:`\int_0^t\min(\lambda_{\min},0)` against the loss reached, per init."""
    use_style()
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9.0, 3.8))
    colors = [OKABE_ITO["vermillion"], OKABE_ITO["blue"]]
    for color, label in zip(colors, comparison.labels):
        flow, cu = comparison.flows[label], comparison.curvature[label]
        index = torch.searchsorted(flow.times, cu.times).clamp(max=len(flow.times) - 1)
        loss = flow.losses[index].numpy()
        ax1.plot(loss, cu.lambda_min.numpy(), marker="o", markersize=3.5, color=color, label=label)
        ax2.plot(loss, cu.negative_integral.numpy(), marker="o", markersize=3.5, color=color, label=label)
    for ax in (ax1, ax2):
        ax.invert_xaxis()
        ax.set_xlabel("training loss along the flow (decreasing →)")
    ax1.axhline(0, color="0.4", linewidth=0.8)
    ax1.set(title="smallest Hessian eigenvalue", ylabel=r"$\lambda_{\min}$")
    ax2.set(title="accumulated negative curvature", ylabel=r"$\int_0^t \min(\lambda_{\min}, 0)\,ds$")
    ax1.legend(loc="lower right")
    fig.suptitle(f"{NETWORK_LABELS.get(comparison.network, comparison.network)}: the paper's init and the theory's")
    return fig


def explorer_figure(results: dict[str, StepSizeComparison], network: str, r: int) -> plt.Figure:
    """The explorer's view: loss of :math:`\\eta_0` and :math:`\\eta_0/r` (left) and the distances (right)."""
    use_style()
    c = results[network]
    if r not in c.ratios:
        raise ValueError(f"r must be one of {c.ratios} for {network}, got {r!r}")
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9.0, 3.6))
    _loss_axes(ax1, c, (r,))
    ax1.set_title("training loss")
    ax1.legend(loc="upper right")
    _distance_axes(ax2, c, (r,))
    ratio = 100 * float(c.relative(r)[-1])
    ax2.set_title(f"distances (last: {ratio:.2g}% of the distance travelled)")
    ax2.legend(loc="lower right")
    fig.suptitle(rf"{NETWORK_LABELS.get(network, network)}: $\eta_0 = {c.eta0:g}$ against $\eta_0/{r}$")
    return fig


def experiment_explorer(results: dict[str, StepSizeComparison]):
    """An ipywidgets explorer over the precomputed runs: pick a network and a ratio :math:`r`.

    Returns a ``VBox``; the figure is placed with ``Output.append_display_data`` (no output capture),
    so headless execution stays deterministic.
    """
    import ipywidgets as W

    names = list(results)
    network_box = W.Dropdown(
        options=[(NETWORK_LABELS.get(n, n), n) for n in names], value=names[0], description="network"
    )
    ratio_box = W.Dropdown(options=list(results[names[0]].ratios), value=results[names[0]].ratios[-1], description="r")
    out = W.Output()

    def redraw(*_):
        show_figure(out, explorer_figure(results, network_box.value, ratio_box.value))

    def network_changed(change):
        ratios = list(results[change["new"]].ratios)
        with ratio_box.hold_trait_notifications():
            ratio_box.options = ratios
            ratio_box.value = ratios[-1]
        redraw()

    network_box.observe(network_changed, names="value")
    ratio_box.observe(redraw, names="value")
    redraw()
    return W.VBox([W.HBox([network_box, ratio_box]), out])


# -- exercise checkers ----------------------------------------------------------------------------


def check_richardson(comparison: StepSizeComparison, study: FlowStudy, estimate, rtol: float = 0.05) -> bool:
    r"""Is ``estimate`` the distance of GD with :math:`\eta_0` from the true flow at the last time,
    predicted from the :math:`\eta_0` and :math:`\eta_0/2` runs alone (within ``rtol`` of the measured one)?"""
    x = finite_number(estimate)
    truth = float(study.gaps[0])
    if x is None or x <= 0:
        return report(False, f"expected a positive distance, got {estimate!r}")
    if abs(x - truth) <= rtol * truth:
        return report(True, f"{x:.4g}: the flow is in fact {truth:.4g} away (off by {100 * abs(x / truth - 1):.2g}%).")
    d2 = float(comparison.distances[2][-1]) if 2 in comparison.distances else float("nan")
    if math.isclose(x, d2, rel_tol=0.02):
        hint = "that is the distance to eta0/2 itself; eta0/2 is only half way to the flow (1 - 1/r)."
    elif x < truth:
        hint = "too small: how much of the way from eta0 to the flow does the step eta0/2 go?"
    else:
        hint = "too large: the error of Euler's method is proportional to the step."
    return report(False, f"{x:.4g} is {100 * abs(x / truth - 1):.3g}% off the measured {truth:.4g}.\n  {hint}")


def check_break_even(value, rtol: float = 0.02) -> bool:
    r"""Is ``value`` the largest :math:`\eta_0\lambda_{\max}` at which a stability-limited DOPRI5 (6 gradients per
    step of at most :math:`3.307/\lambda_{\max}`) needs at most 1/20 of the gradients of GD with :math:`\eta_0/20`?"""
    from .butcher import get_method

    limit = get_method("dopri5").stability_limit
    want = limit / 6
    x = finite_number(value)
    if x is None or x <= 0:
        return report(False, f"expected a positive number, got {value!r}")
    if abs(x - want) <= rtol * want:
        return report(
            True, f"{x:.4g}: DOPRI5 covers {limit:.4g}/λ_max per 6 gradients; GD/20 covers η0/20 per gradient."
        )
    if math.isclose(x, limit, rel_tol=0.05):
        hint = "that is DOPRI5's stability limit; each of its steps costs 6 gradients (7 stages, first same as last)."
    elif math.isclose(x, limit / 7, rel_tol=0.05):
        hint = "close: the 7th stage is the next step's 1st (first same as last), so a step costs 6 gradients."
    elif math.isclose(x, 2.0, rel_tol=0.05):
        hint = "2 is GD's own stability limit; compare gradients per unit of flow time instead."
    else:
        hint = "count gradients per unit of flow time: 6 λ_max / limit for DOPRI5, 20 / η0 for the proxy."
    return report(False, f"{x:.4g} is {100 * abs(x / want - 1):.3g}% off.\n  {hint}")
