r"""Networks the course studies: deep fully connected networks with homogeneous activations, deep
linear networks, and the four architectures of Elkabetz & Cohen (2021), with their initializations.

An activation :math:`\sigma` is *positively homogeneous* when :math:`\sigma(cz) = c\,\sigma(z)` for
:math:`c > 0`: linear, ReLU and leaky ReLU are. A bias-free network built from them is then
homogeneous in each layer's weights, which is what makes its loss landscape "roughly convex" along
gradient flow from near zero (Chapter 3).

**The paper's networks.** :func:`paper_network` is the one builder of the four networks of the
paper's experiment (``name`` in :data:`PAPER_NETWORKS`), read off the authors' code:

* ``fc_linear``, ``fc_relu``: fully connected :math:`d^2 \to 50 \to 50 \to 10` (linear or ReLU), no biases;
* ``conv_adapted``: pad 2, conv 1→6 5×5 stride 2, ReLU, conv 6→16 5×5 stride 2, ReLU, dense
  400→120→84→10 with ReLU, no biases anywhere (homogeneous: no pooling);
* ``conv_off_the_shelf``: LeNet-5 style, pad 2, conv 1→6 5×5, ReLU, max-pool 2, conv 6→16 5×5, ReLU,
  max-pool 2, dense 400→120→84→10 with ReLU, biases everywhere.

(400 for :math:`d = 28`; computed from ``size`` otherwise.) **The paper's initialization**
(:func:`paper_init_`) is Xavier-uniform on the *dense* weights only; the convolution weights and all
biases keep PyTorch's default, :math:`U(-1/\sqrt{\text{fan-in}}, 1/\sqrt{\text{fan-in}})`. The theory's
regime is :func:`near_zero_init_`.

**Reproducible by construction.** Every initializer takes a ``generator``: a ``torch.Generator`` or an
integer seed. ``None`` is an error (never the global random state). :func:`paper_network` builds its
layers without drawing from the global random state at all, then initializes every parameter from the
generator. All networks are float64.
"""

from __future__ import annotations

import math
import numbers

import torch
from torch import nn

from ._checks import allocation, choice, flag, integer, positive_integers, real, show

__all__ = [
    "ACTIVATIONS",
    "PAPER_NETWORKS",
    "INITS",
    "mlp",
    "deep_linear",
    "paper_network",
    "paper_init_",
    "xavier_init_",
    "near_zero_init_",
    "weight_mask",
    "as_generator",
]

ACTIVATIONS = {
    "linear": nn.Identity,
    "relu": nn.ReLU,
    "leaky_relu": lambda: nn.LeakyReLU(0.1),
}
#: the paper's four networks, in the order of its figure
PAPER_NETWORKS = ("fc_linear", "fc_relu", "conv_adapted", "conv_off_the_shelf")
#: initializations :func:`paper_network` knows
INITS = ("paper", "xavier", "near_zero")


def as_generator(generator, name: str = "generator") -> torch.Generator:
    """``generator`` itself, or a new ``torch.Generator`` seeded with the integer ``generator``.

    ``None`` (or anything else) is a ``TypeError`` naming the argument: results must reproduce, so the
    global random state is never used silently.
    """
    if isinstance(generator, torch.Generator):
        return generator
    if generator is None or isinstance(generator, bool) or not isinstance(generator, (numbers.Integral, torch.Tensor)):
        raise TypeError(
            f"{name} must be a torch.Generator or an integer seed (so that results reproduce), got {show(generator)}"
        )
    seed = integer(name, generator, minimum=0)
    if seed >= 2**64:
        raise ValueError(f"{name} must be a seed below 2**64 (torch seeds are 64-bit), got {seed}")
    return torch.Generator().manual_seed(seed)


def _module(model) -> nn.Module:
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {show(model)}")
    return model


def _activation(name) -> nn.Module:
    return ACTIVATIONS[choice("activation", name, sorted(ACTIVATIONS))]()


def mlp(widths, activation: str = "relu", bias: bool = False) -> nn.Sequential:
    r"""Fully connected network :math:`x \mapsto W_N\sigma(\cdots\sigma(W_1 x))` with layer sizes ``widths``.

    ``widths = [d_0, d_1, ..., d_N]`` gives :math:`N` layers; the activation is applied between layers,
    never after the last. Inputs of any shape are flattened (so image batches work unchanged). The
    layers carry PyTorch's default initialization (drawn from the global random state): initialize
    them with :func:`near_zero_init_`, :func:`xavier_init_` or :func:`paper_init_` and a generator.
    """
    widths = positive_integers("widths", widths, at_least=2)
    _activation(activation)  # validate the name even for a single layer
    bias = flag("bias", bias)
    entries = sum(a * b + (b if bias else 0) for a, b in zip(widths[:-1], widths[1:]))
    allocation("widths", entries, f"a network of {entries} parameters")
    layers: list[nn.Module] = [nn.Flatten()]
    for i, (d_in, d_out) in enumerate(zip(widths[:-1], widths[1:])):
        if i > 0:
            layers.append(_activation(activation))
        layers.append(nn.Linear(d_in, d_out, bias=bias))
    return nn.Sequential(*layers).double()


def deep_linear(depth: int, d_in: int, d_out: int, width: int | None = None) -> nn.Sequential:
    r"""Deep linear network :math:`x \mapsto W_N \cdots W_1 x` of ``depth`` :math:`N` bias-free layers.

    Hidden layers have ``width`` units (default :math:`\max(d_{in}, d_{out})`, the smallest width for
    which the theory of Arora et al. (2019) applies).
    """
    depth = integer("depth", depth, minimum=1)
    d_in, d_out = integer("d_in", d_in, minimum=1), integer("d_out", d_out, minimum=1)
    width = max(d_in, d_out) if width is None else integer("width", width, minimum=1)
    return mlp([d_in] + [width] * (depth - 1) + [d_out], activation="linear", bias=False)


# -- the paper's four networks ---------------------------------------------------------------------


def _features(name: str) -> list[nn.Module]:
    if name == "conv_adapted":
        return [nn.Conv2d(1, 6, 5, stride=2, padding=2, bias=False), nn.ReLU(),
                nn.Conv2d(6, 16, 5, stride=2, bias=False), nn.ReLU(), nn.Flatten()]  # fmt: skip
    return [nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten()]  # fmt: skip


def _architecture(name: str, size: int) -> nn.Sequential:
    """The layers of network ``name`` for ``size``×``size`` images (parameters not initialized)."""
    if name in ("fc_linear", "fc_relu"):
        act = "linear" if name == "fc_linear" else "relu"
        layers = [nn.Flatten(), nn.Linear(size * size, 50, bias=False), _activation(act),
                  nn.Linear(50, 50, bias=False), _activation(act), nn.Linear(50, 10, bias=False)]  # fmt: skip
        return nn.Sequential(*layers)
    features = _features(name)
    try:
        flat = nn.Sequential(*features)(torch.zeros(1, 1, size, size, device="meta")).shape[1]
    except RuntimeError:
        smallest = 9 if name == "conv_adapted" else 12
        raise ValueError(
            f"size must be at least {smallest} for {name} (its convolutions shrink the image), got {size}"
        ) from None
    bias = name == "conv_off_the_shelf"
    head = [nn.Linear(flat, 120, bias=bias), nn.ReLU(), nn.Linear(120, 84, bias=bias), nn.ReLU(),
            nn.Linear(84, 10, bias=bias)]  # fmt: skip
    return nn.Sequential(*features, *head)


def paper_network(name: str, generator=1, *, size: int = 28, init: str = "paper", scale=None) -> nn.Sequential:
    r"""Network ``name`` of the paper (see the module and :data:`PAPER_NETWORKS`) for ``size``×``size``
    single-channel images and 10 classes, float64, initialized from ``generator`` (a ``torch.Generator``
    or an integer seed; default 1, the paper's seed).

    ``init``: ``"paper"`` (:func:`paper_init_`, the paper's), ``"xavier"`` (:func:`xavier_init_`) or
    ``"near_zero"`` (:func:`near_zero_init_` with standard deviation ``scale``, which it requires).
    The layers are built on PyTorch's ``meta`` device, so building draws nothing from the global random
    state, and every parameter is then set by the initializer.
    """
    name = choice("name", name, PAPER_NETWORKS)
    size = integer("size", size, minimum=1)
    init = choice("init", init, INITS)
    if (init == "near_zero") != (scale is not None):
        raise ValueError(f"scale is required with init='near_zero' and only then; got init={init!r}, scale={scale!r}")
    generator = as_generator(generator)
    with torch.device("meta"):
        model = _architecture(name, size)
    entries = sum(p.numel() for p in model.parameters())
    allocation("size", entries, f"a {name} network of {entries} parameters for {size}×{size} images")
    model = model.to_empty(device="cpu").double()
    if init == "paper":
        return paper_init_(model, generator)
    if init == "xavier":
        return xavier_init_(model, generator)
    return near_zero_init_(model, scale, generator)


# -- initializers ------------------------------------------------------------------------------------


def _weighted_layers(model: nn.Module) -> list[nn.Module]:
    """The dense and convolutional layers of ``model``: at least one, none of them empty."""
    layers = [m for m in _module(model).modules() if isinstance(m, (nn.Linear, nn.Conv2d))]
    if not layers:
        raise ValueError("model has no nn.Linear or nn.Conv2d layer to initialize")
    for layer in layers:
        if layer.weight.numel() == 0:
            raise ValueError(
                f"model has a layer {layer} with an empty weight of shape {tuple(layer.weight.shape)}: its fan-in or "
                "fan-out is 0, so there is nothing to initialize (remove the layer or give it at least one unit)"
            )
    return layers


def _default_bound(layer: nn.Module) -> float:
    """PyTorch's default range for ``layer``'s bias (and, for Conv2d, its weight): 1/sqrt(fan-in)."""
    fan_in = layer.weight[0].numel()
    return 1 / math.sqrt(fan_in)


def paper_init_(model: nn.Module, generator) -> nn.Module:
    r"""The paper's initialization, in place: dense weights Xavier-uniform,
    :math:`U(-a, a)` with :math:`a = \sqrt{6/(\text{fan-in} + \text{fan-out})}`; convolution weights and
    all biases PyTorch's default, :math:`U(-1/\sqrt{\text{fan-in}}, 1/\sqrt{\text{fan-in}})` (what
    ``kaiming_uniform_(a=sqrt(5))`` draws). All drawn from ``generator``. Returns ``model``."""
    generator = as_generator(generator)
    with torch.no_grad():
        for layer in _weighted_layers(model):
            bound = _default_bound(layer)
            if isinstance(layer, nn.Linear):
                nn.init.xavier_uniform_(layer.weight, generator=generator)
            else:
                layer.weight.uniform_(-bound, bound, generator=generator)
            if layer.bias is not None:
                layer.bias.uniform_(-bound, bound, generator=generator)
    return model


def xavier_init_(model: nn.Module, generator) -> nn.Module:
    r"""Xavier-uniform weights in every dense and convolutional layer, biases zero. In place; returns
    ``model``. (The paper's own initialization is :func:`paper_init_`.)"""
    generator = as_generator(generator)
    with torch.no_grad():
        for layer in _weighted_layers(model):
            nn.init.xavier_uniform_(layer.weight, generator=generator)
            if layer.bias is not None:
                layer.bias.zero_()
    return model


def near_zero_init_(model: nn.Module, scale, generator) -> nn.Module:
    r"""Every weight i.i.d. :math:`\mathcal N(0, \text{scale}^2)` and biases zero: the theory's regime
    of initialization near the origin (for a genuinely small start, take ``scale`` well below Xavier's
    :math:`\sqrt{2/(\text{fan-in} + \text{fan-out})}` in every layer). In place; returns ``model``."""
    layers = _weighted_layers(model)
    scale = real("scale", scale, positive=True)
    generator = as_generator(generator)
    with torch.no_grad():
        for layer in layers:
            noise = torch.randn(layer.weight.shape, generator=generator, dtype=torch.float64)
            layer.weight.copy_(noise * scale)
            if layer.bias is not None:
                layer.bias.zero_()
    return model


def weight_mask(model: nn.Module) -> torch.Tensor:
    """Boolean mask over the flat parameter vector (order of ``model.parameters()``): ``True`` for weights,
    ``False`` for biases. The paper measures distances over weights only."""
    parts = [torch.full((p.numel(),), not name.endswith("bias")) for name, p in _module(model).named_parameters()]
    if not parts:
        raise ValueError("model has no parameters")
    return torch.cat(parts)
