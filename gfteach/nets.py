r"""Networks the course studies: deep fully connected networks with homogeneous activations, deep
linear networks, and the four architectures of Elkabetz & Cohen (2021).

An activation :math:`\sigma` is *positively homogeneous* when :math:`\sigma(cz) = c\,\sigma(z)` for
:math:`c > 0`: linear, ReLU and leaky ReLU are. A bias-free network built from them is then
homogeneous in each layer's weights, which is what makes its loss landscape "roughly convex" along
gradient flow from near zero (Chapter 3).

All constructors return ordinary ``torch.nn.Module`` objects in float64; use them through
:class:`gfteach.objective.Objective`. Initializers take a ``torch.Generator`` so runs reproduce.
"""

from __future__ import annotations

import math

import torch
from torch import nn

__all__ = [
    "ACTIVATIONS",
    "mlp",
    "deep_linear",
    "fc_linear",
    "fc_relu",
    "conv_adapted",
    "conv_off_the_shelf",
    "xavier_init_",
    "near_zero_init_",
    "weight_mask",
]

ACTIVATIONS = {
    "linear": nn.Identity,
    "relu": nn.ReLU,
    "leaky_relu": lambda: nn.LeakyReLU(0.1),
}


def _activation(name: str) -> nn.Module:
    if name not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {sorted(ACTIVATIONS)}, got {name!r}")
    return ACTIVATIONS[name]()


def mlp(widths: list[int], activation: str = "relu", bias: bool = False) -> nn.Sequential:
    r"""Fully connected network :math:`x \mapsto W_N\sigma(\cdots\sigma(W_1 x))` with layer sizes ``widths``.

    ``widths = [d_0, d_1, ..., d_N]`` gives :math:`N` layers; the activation is applied between layers,
    never after the last. Inputs of any shape are flattened (so image batches work unchanged).
    """
    if len(widths) < 2 or any(not isinstance(w, int) or w < 1 for w in widths):
        raise ValueError(f"widths must list at least two positive integers, got {widths!r}")
    _activation(activation)  # validate the name even for a single layer
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
    if not isinstance(depth, int) or depth < 1:
        raise ValueError(f"depth must be a positive integer, got {depth!r}")
    width = width or max(d_in, d_out)
    return mlp([d_in] + [width] * (depth - 1) + [d_out], activation="linear", bias=False)


def fc_linear(in_features: int = 784, hidden: int = 50, classes: int = 10) -> nn.Sequential:
    """The paper's network (a): fully connected ``in -> 50 -> 50 -> 10``, linear, no biases."""
    return mlp([in_features, hidden, hidden, classes], activation="linear")


def fc_relu(in_features: int = 784, hidden: int = 50, classes: int = 10) -> nn.Sequential:
    """The paper's network (b): fully connected ``in -> 50 -> 50 -> 10`` with ReLU, no biases."""
    return mlp([in_features, hidden, hidden, classes], activation="relu")


def _flat_size(features: nn.Module, in_shape: tuple[int, int, int]) -> int:
    with torch.no_grad():
        return int(features(torch.zeros(1, *in_shape, dtype=torch.float64)).numel())


def conv_adapted(in_shape: tuple[int, int, int] = (1, 28, 28), classes: int = 10) -> nn.Sequential:
    """The paper's network (c), "convolutional, adapted": homogeneous (ReLU, no pooling, no biases).

    pad 2, conv 1→6 5×5 stride 2, ReLU, conv 6→16 5×5 stride 2, ReLU, then dense 400→120→84→10 with
    ReLU (400 for 28×28 inputs; computed from ``in_shape`` otherwise).
    """
    features = nn.Sequential(
        nn.Conv2d(in_shape[0], 6, 5, stride=2, padding=2, bias=False),
        nn.ReLU(),
        nn.Conv2d(6, 16, 5, stride=2, bias=False),
        nn.ReLU(),
        nn.Flatten(),
    ).double()
    n = _flat_size(features, in_shape)
    head = [nn.Linear(n, 120, bias=False), nn.ReLU(), nn.Linear(120, 84, bias=False), nn.ReLU()]
    return nn.Sequential(*features, *head, nn.Linear(84, classes, bias=False)).double()


def conv_off_the_shelf(in_shape: tuple[int, int, int] = (1, 28, 28), classes: int = 10) -> nn.Sequential:
    """The paper's network (d), "convolutional, off-the-shelf": LeNet-5 style, max-pooling and biases.

    conv 1→6 5×5 pad 2, ReLU, max-pool 2, conv 6→16 5×5, ReLU, max-pool 2, dense 400→120→84→10.
    """
    features = nn.Sequential(
        nn.Conv2d(in_shape[0], 6, 5, padding=2),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
    ).double()
    n = _flat_size(features, in_shape)
    head = [nn.Linear(n, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, classes)]
    return nn.Sequential(*features, *head).double()


def _weighted_layers(model: nn.Module):
    return [m for m in model.modules() if isinstance(m, (nn.Linear, nn.Conv2d))]


def xavier_init_(model: nn.Module, generator: torch.Generator) -> nn.Module:
    r"""Xavier-uniform weights, :math:`U(-a, a)` with :math:`a = \sqrt{6/(\text{fan-in} + \text{fan-out})}`
    (the paper's initialization); biases zero. In place; returns ``model``."""
    for layer in _weighted_layers(model):
        nn.init.xavier_uniform_(layer.weight, generator=generator)
        if layer.bias is not None:
            nn.init.zeros_(layer.bias)
    return model


def near_zero_init_(model: nn.Module, scale: float, generator: torch.Generator) -> nn.Module:
    r"""Every weight i.i.d. :math:`\mathcal N(0, \text{scale}^2)` and biases zero: the theory's regime
    of initialization near the origin. In place; returns ``model``."""
    if not (math.isfinite(scale) and scale > 0):
        raise ValueError(f"scale must be a positive finite number, got {scale!r}")
    with torch.no_grad():
        for layer in _weighted_layers(model):
            layer.weight.copy_(torch.randn(layer.weight.shape, generator=generator, dtype=torch.float64) * scale)
            if layer.bias is not None:
                layer.bias.zero_()
    return model


def weight_mask(model: nn.Module) -> torch.Tensor:
    """Boolean mask over the flat parameter vector (order of ``model.parameters()``): ``True`` for weights,
    ``False`` for biases. The paper measures distances over weights only."""
    parts = [torch.full((p.numel(),), not name.endswith("bias")) for name, p in model.named_parameters()]
    return torch.cat(parts)
