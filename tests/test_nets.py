"""gfteach.nets: the paper's layer structure, homogeneity, initializers, weight masks."""

import math

import pytest
import torch
from torch import nn

from gfteach.nets import (
    conv_adapted,
    conv_off_the_shelf,
    deep_linear,
    fc_linear,
    fc_relu,
    mlp,
    near_zero_init_,
    weight_mask,
    xavier_init_,
)


def layer_signature(model):
    out = []
    for m in model.modules():
        if isinstance(m, nn.Linear):
            out.append(("dense", m.in_features, m.out_features, m.bias is not None))
        elif isinstance(m, nn.Conv2d):
            out.append(("conv", m.in_channels, m.out_channels, m.kernel_size, m.stride, m.padding, m.bias is not None))
        elif isinstance(m, (nn.ReLU, nn.MaxPool2d, nn.LeakyReLU)):
            out.append(type(m).__name__)
    return out


def test_the_papers_four_networks_have_the_papers_layers():
    assert layer_signature(fc_linear()) == [
        ("dense", 784, 50, False),
        ("dense", 50, 50, False),
        ("dense", 50, 10, False),
    ]
    assert layer_signature(fc_relu()) == [
        ("dense", 784, 50, False), "ReLU", ("dense", 50, 50, False), "ReLU", ("dense", 50, 10, False)
    ]  # fmt: skip
    assert layer_signature(conv_adapted()) == [
        ("conv", 1, 6, (5, 5), (2, 2), (2, 2), False), "ReLU",
        ("conv", 6, 16, (5, 5), (2, 2), (0, 0), False), "ReLU",
        ("dense", 400, 120, False), "ReLU", ("dense", 120, 84, False), "ReLU", ("dense", 84, 10, False),
    ]  # fmt: skip
    assert layer_signature(conv_off_the_shelf()) == [
        ("conv", 1, 6, (5, 5), (1, 1), (2, 2), True), "ReLU", "MaxPool2d",
        ("conv", 6, 16, (5, 5), (1, 1), (0, 0), True), "ReLU", "MaxPool2d",
        ("dense", 400, 120, True), "ReLU", ("dense", 120, 84, True), "ReLU", ("dense", 84, 10, True),
    ]  # fmt: skip
    for net in (fc_linear(), fc_relu(), conv_adapted(), conv_off_the_shelf()):
        assert net(torch.zeros(2, 1, 28, 28, dtype=torch.float64)).shape == (2, 10)


@pytest.mark.parametrize("activation", ["linear", "relu", "leaky_relu"])
def test_bias_free_networks_are_positively_homogeneous_in_each_layer(activation):
    g = torch.Generator().manual_seed(0)
    net = xavier_init_(mlp([6, 5, 4, 3], activation), g)
    x = torch.randn(7, 6, generator=g, dtype=torch.float64)
    y = net(x)
    with torch.no_grad():
        net[3].weight.mul_(2.5)  # scale one layer by c > 0: the output scales by c
    assert torch.allclose(net(x), 2.5 * y, rtol=1e-12)


def test_deep_linear_is_the_product_of_its_layers():
    g = torch.Generator().manual_seed(1)
    net = near_zero_init_(deep_linear(4, 3, 2, width=5), 0.5, g)
    W = torch.eye(3, dtype=torch.float64)
    for layer in [m for m in net if isinstance(m, nn.Linear)]:
        W = layer.weight @ W
    x = torch.randn(10, 3, generator=g, dtype=torch.float64)
    assert torch.allclose(net(x), x @ W.T, rtol=1e-12)
    assert len([m for m in net if isinstance(m, nn.Linear)]) == 4


def test_initializers_have_the_right_scale_and_are_reproducible():
    net = xavier_init_(mlp([400, 300, 10], "relu"), torch.Generator().manual_seed(0))
    w = net[1].weight
    bound = math.sqrt(6 / (400 + 300))
    assert w.abs().max() <= bound and w.abs().max() > 0.99 * bound
    assert w.var().item() == pytest.approx(bound**2 / 3, rel=0.02)
    again = xavier_init_(mlp([400, 300, 10], "relu"), torch.Generator().manual_seed(0))
    assert torch.equal(w, again[1].weight)
    small = near_zero_init_(mlp([400, 300, 10], "relu"), 1e-3, torch.Generator().manual_seed(0))
    assert small[1].weight.std().item() == pytest.approx(1e-3, rel=0.02)
    with pytest.raises(ValueError, match="scale must be a positive"):
        near_zero_init_(net, -1.0, torch.Generator())


def test_weight_mask_excludes_biases():
    net = conv_off_the_shelf()
    mask = weight_mask(net)
    n_bias = sum(p.numel() for name, p in net.named_parameters() if name.endswith("bias"))
    assert mask.numel() == sum(p.numel() for p in net.parameters())
    assert (~mask).sum().item() == n_bias == 6 + 16 + 120 + 84 + 10


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="activation must be one of"):
        mlp([2, 3], "tanh_ish")
    with pytest.raises(ValueError, match="widths must list"):
        mlp([3])
    with pytest.raises(ValueError, match="depth must be a positive integer"):
        deep_linear(0, 2, 2)
