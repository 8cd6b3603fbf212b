r"""The experiment of Elkabetz & Cohen (2021): its scales, and the two distances it measures.

**The experiment** (read off the authors' code). For each of the four networks of
:func:`gfteach.nets.paper_network`, from one initialization :math:`\theta_0` (seed 1), run full-batch
gradient descent (:func:`gfteach.flow.gradient_descent`) on the mean cross-entropy

* with a step :math:`\eta_0` for :math:`K` steps, iterates :math:`\theta_{\eta_0}(k)`;
* with the smaller steps :math:`\eta_0/r`, :math:`r \in \{2, 5, 10, 20\}`, for :math:`rK` steps.

Iterate :math:`k` of the first run and iterate :math:`rk` of a second sit at the same time
:math:`t = k\eta_0` of the gradient flow, which both approximate (GD is Euler's method). Recording the
run with step :math:`\eta_0/r` every :math:`r\,c` iterates when the :math:`\eta_0` run is recorded every
:math:`c` puts both at the same times. The paper then plots, over the *weights* only (biases excluded,
:func:`gfteach.nets.weight_mask`), the distance travelled :math:`\|\theta_{\eta_0}(k) - \theta_0\|` and
the distance between the runs :math:`\|\theta_{\eta_0}(k) - \theta_{\eta_0/r}(rk)\|`
(:func:`weight_distance`), and the training losses (:func:`loss_gap` compares them).

**Scales** (:data:`SETTINGS`). ``"default"`` is what the book runs on a CPU in seconds: 128 digits
(scikit-learn's, upsampled to 28×28), :math:`K = 50` steps for the fully connected networks and 16 and 8
for the convolutional ones (whose float64 gradients cost 10 to 30 times more on a CPU), larger
:math:`\eta_0` for the flatter networks. ``"full"`` is the paper's scale: 1,000 images,
:math:`\eta_0 = 10^{-3}`, :math:`K = 10^4`, all four :math:`r` for every network, about
:math:`1.5 \times 10^6` gradients of the full batch in all: a GPU's work (digits stand in for MNIST, so it
runs offline; :func:`gfteach.data.mnist_subset` reads the paper's images from local files).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import torch

from ._checks import choice, flag, integer, real, show, state
from .flow import Trajectory
from .nets import PAPER_NETWORKS

__all__ = ["RunPlan", "Setting", "SETTINGS", "get_setting", "pick_device", "weight_distance", "loss_gap"]


def pick_device(device="auto") -> torch.device:
    """``"auto"``: the first CUDA GPU if there is one, else the CPU; otherwise ``torch.device(device)``."""
    if isinstance(device, torch.device):
        return device
    if not isinstance(device, str):
        raise TypeError(f"device must be a str or torch.device, got {show(device)}")
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        return torch.device(device)
    except RuntimeError as error:
        raise ValueError(f"device must be 'auto' or a torch device name, got {device!r}") from error


@dataclass(frozen=True)
class RunPlan:
    r"""One network's runs: GD with ``eta0`` for ``steps`` :math:`= K` steps, and with ``eta0 / r`` for
    ``r * steps`` steps for each ``r`` in ``ratios``, the :math:`\eta_0` run recorded every ``record_every``
    iterates (the run with :math:`\eta_0/r` every ``r * record_every``). Costs :math:`K(1 + \sum r)` gradients."""

    eta0: float
    steps: int
    ratios: tuple[int, ...]
    record_every: int

    def __post_init__(self):
        object.__setattr__(self, "eta0", real("eta0", self.eta0, positive=True))
        object.__setattr__(self, "steps", integer("steps", self.steps, minimum=1))
        object.__setattr__(self, "record_every", integer("record_every", self.record_every, minimum=1))
        if isinstance(self.ratios, (str, bytes)) or not hasattr(self.ratios, "__iter__"):
            raise TypeError(f"ratios must be a sequence of integers >= 2, got {show(self.ratios)}")
        ratios = tuple(integer(f"ratios[{i}]", r, minimum=2) for i, r in enumerate(self.ratios))
        if not ratios or len(set(ratios)) != len(ratios):
            raise ValueError(f"ratios must be distinct integers >= 2, at least one; got {self.ratios!r}")
        object.__setattr__(self, "ratios", ratios)

    @property
    def n_grad(self) -> int:
        """Gradient evaluations of all runs together."""
        return self.steps * (1 + sum(self.ratios))


@dataclass(frozen=True)
class Setting:
    """An experiment's scale: ``n`` images at ``size``×``size`` (digits), one :class:`RunPlan` per network,
    the initialization ``seed``, the ``device`` (``"auto"``: a GPU when there is one) and whether the runs
    show progress bars."""

    name: str
    n: int
    plans: dict[str, RunPlan] = field(hash=False)
    size: int = 28
    seed: int = 1
    device: str = "cpu"
    progress: bool = False

    def __post_init__(self):
        if not isinstance(self.name, str):
            raise TypeError(f"name must be a str, got {show(self.name)}")
        for key, minimum in (("n", 1), ("size", 8), ("seed", 0)):
            object.__setattr__(self, key, integer(key, getattr(self, key), minimum=minimum))
        if not isinstance(self.plans, dict) or not self.plans:
            raise TypeError(f"plans must be a non-empty dict network name -> RunPlan, got {show(self.plans)}")
        for name, plan in self.plans.items():
            choice("a key of plans", name, PAPER_NETWORKS)
            if not isinstance(plan, RunPlan):
                raise TypeError(f"plans[{name!r}] must be a RunPlan, got {show(plan)}")
        pick_device(self.device)  # validates the name
        object.__setattr__(self, "progress", flag("progress", self.progress))

    @property
    def n_grad(self) -> int:
        """Gradient evaluations of every run of every network."""
        return sum(plan.n_grad for plan in self.plans.values())


#: ``default``: the book's scale (a CPU, seconds); ``full``: the paper's (a GPU, hours). See the module.
SETTINGS: dict[str, Setting] = {
    "default": Setting(
        "default",
        n=128,
        plans={
            "fc_linear": RunPlan(1e-3, 50, (2, 5, 10, 20), 5),
            "fc_relu": RunPlan(2e-3, 50, (2, 5, 10, 20), 5),
            "conv_adapted": RunPlan(5e-3, 16, (2, 5), 2),
            "conv_off_the_shelf": RunPlan(5e-3, 8, (2, 5), 2),
        },
    ),
    "full": Setting(
        "full",
        n=1000,
        plans={name: RunPlan(1e-3, 10_000, (2, 5, 10, 20), 100) for name in PAPER_NETWORKS},
        device="auto",
        progress=True,
    ),
}


def get_setting(name: str = "default", **changes) -> Setting:
    """The setting ``name`` of :data:`SETTINGS`, with fields replaced by ``changes`` (e.g. ``n=64``)."""
    choice("name", name, sorted(SETTINGS))
    return replace(SETTINGS[name], **changes) if changes else SETTINGS[name]


def _rows(name: str, value) -> tuple[torch.Tensor, torch.Tensor | None]:
    """The parameter rows of ``value`` (a Trajectory, a 2-D tensor of rows or one 1-D vector; finite) and its times."""
    if isinstance(value, Trajectory):
        return state(name, value.thetas), value.times
    if not torch.is_tensor(value) or value.dim() not in (1, 2) or not value.is_floating_point():
        raise TypeError(f"{name} must be a Trajectory or a 1-D/2-D float tensor of parameters, got {show(value)}")
    return state(name, value), None


def weight_distance(a, b, mask: torch.Tensor) -> torch.Tensor:
    r""":math:`\|a_i - b_i\|` over the entries where ``mask`` is true (the weights), row by row, on the CPU.

    ``a`` and ``b`` are :class:`~gfteach.flow.Trajectory` objects recorded at the same times (checked),
    2-D tensors of parameter rows, or one parameter vector (compared with every row of the other):
    ``weight_distance(run, run.thetas[0], mask)`` is the distance travelled from the start.
    """
    (A, ta), (B, tb) = _rows("a", a), _rows("b", b)
    if not torch.is_tensor(mask) or mask.dtype != torch.bool or mask.dim() != 1:
        raise TypeError(f"mask must be a 1-D bool tensor (nets.weight_mask(model)), got {show(mask)}")
    if (
        ta is not None
        and tb is not None
        and (ta.shape != tb.shape or not torch.allclose(ta, tb, rtol=1e-9, atol=1e-12))
    ):
        raise ValueError(
            "a and b must be recorded at the same times: record the run with step eta0/r every r * c iterates "
            "when the run with eta0 is recorded every c"
        )
    if A.shape[-1] != mask.numel() or B.shape[-1] != mask.numel():
        raise ValueError(f"a, b and mask must have one length, got {A.shape[-1]}, {B.shape[-1]} and {mask.numel()}")
    if A.dim() == B.dim() == 2 and len(A) != len(B):
        raise ValueError(f"a and b must have as many rows, got {len(A)} and {len(B)}")
    mask = mask.to(A.device)
    return torch.linalg.vector_norm(A[..., mask] - B.to(A.device)[..., mask], dim=-1).cpu()


def loss_gap(base: Trajectory, other: Trajectory) -> torch.Tensor:
    r""":math:`|f(\theta_{\eta_0/r}(rk)) - f(\theta_{\eta_0}(k))| / f(\theta_{\eta_0}(k))` at every step
    :math:`k` of ``base`` (GD with :math:`\eta_0`), from ``other`` (GD with :math:`\eta_0/r`, :math:`r` an
    integer, over the same time). Where both losses are 0 the gap is 0; where only ``base``'s is, the
    relative gap is undefined: a ``ValueError``."""
    for name, run in (("base", base), ("other", other)):
        if not isinstance(run, Trajectory) or run.kind != "gd" or run.iterate_losses is None:
            raise TypeError(f"{name} must be a gradient-descent Trajectory (gfteach.gradient_descent), got {show(run)}")
    r = round(base.step / other.step)
    if r < 1 or abs(base.step / other.step - r) > 1e-9 * r:
        raise ValueError(f"base.step / other.step must be an integer r >= 1, got {base.step / other.step!r}")
    f0, fr = base.iterate_losses.cpu(), other.iterate_losses.cpu()[::r]
    if len(fr) != len(f0):
        raise ValueError(f"other must run r = {r} times as many steps as base, to the same time")
    for name, losses in (("base", f0), ("other", fr)):
        state(f"{name}.iterate_losses", losses)
    gap, zero = (fr - f0).abs(), f0 == 0
    if bool((zero & (gap > 0)).any()):
        k = int((zero & (gap > 0)).nonzero()[0])
        raise ValueError(
            f"base's loss is 0 at step {k} where other's is {float(fr[k]):.6g}: the gap relative to base's loss is "
            "undefined there; compare the losses base.iterate_losses and other.iterate_losses directly"
        )
    return torch.where(zero, torch.zeros_like(gap), gap / f0.abs())
