"""gfteach.nets: the paper's four networks (checked against an independent functional forward pass of the
authors' layers), its initialization (checked against the distributions it names), homogeneity,
reproducibility without global randomness, weight masks."""

import math

import pytest
import torch
import torch.nn.functional as F
from scipy import stats
from torch import nn

from gfteach import nets
from gfteach.nets import deep_linear, mlp, near_zero_init_, paper_init_, paper_network, weight_mask, xavier_init_

f64 = torch.float64


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


def test_the_papers_four_networks_have_the_authors_layers():
    assert nets.PAPER_NETWORKS == ("fc_linear", "fc_relu", "conv_adapted", "conv_off_the_shelf")
    assert layer_signature(paper_network("fc_linear")) == [
        ("dense", 784, 50, False), ("dense", 50, 50, False), ("dense", 50, 10, False)
    ]  # fmt: skip
    assert layer_signature(paper_network("fc_relu")) == [
        ("dense", 784, 50, False), "ReLU", ("dense", 50, 50, False), "ReLU", ("dense", 50, 10, False)
    ]  # fmt: skip
    assert layer_signature(paper_network("conv_adapted")) == [
        ("conv", 1, 6, (5, 5), (2, 2), (2, 2), False), "ReLU",
        ("conv", 6, 16, (5, 5), (2, 2), (0, 0), False), "ReLU",
        ("dense", 400, 120, False), "ReLU", ("dense", 120, 84, False), "ReLU", ("dense", 84, 10, False),
    ]  # fmt: skip
    assert layer_signature(paper_network("conv_off_the_shelf")) == [
        ("conv", 1, 6, (5, 5), (1, 1), (2, 2), True), "ReLU", "MaxPool2d",
        ("conv", 6, 16, (5, 5), (1, 1), (0, 0), True), "ReLU", "MaxPool2d",
        ("dense", 400, 120, True), "ReLU", ("dense", 120, 84, True), "ReLU", ("dense", 84, 10, True),
    ]  # fmt: skip


def _authors_forward(name, model, x):
    """The authors' forward pass (ZeroPad2d(2) then unpadded convolutions), written with torch.nn.functional
    on the weights of ``model``: an independent check of the architecture."""
    w = [p for p in model.parameters()]
    if name.startswith("fc"):
        h = x.flatten(1)
        for i, W in enumerate(w):
            h = h @ W.T
            if name == "fc_relu" and i < len(w) - 1:
                h = F.relu(h)
        return h
    h = F.pad(x, (2, 2, 2, 2))
    if name == "conv_adapted":
        h = F.relu(F.conv2d(h, w[0], stride=2))
        h = F.relu(F.conv2d(h, w[1], stride=2)).flatten(1)
        dense = [(w[2], None), (w[3], None), (w[4], None)]
    else:
        h = F.max_pool2d(F.relu(F.conv2d(h, w[0], w[1])), 2)
        h = F.max_pool2d(F.relu(F.conv2d(h, w[2], w[3])), 2).flatten(1)
        dense = [(w[4], w[5]), (w[6], w[7]), (w[8], w[9])]
    for i, (W, b) in enumerate(dense):
        h = F.linear(h, W, b)
        h = F.relu(h) if i < 2 else h
    return h


@pytest.mark.parametrize("name", nets.PAPER_NETWORKS)
def test_each_network_computes_the_authors_forward_pass(name):
    model = paper_network(name, 3)
    x = torch.randn(4, 1, 28, 28, generator=torch.Generator().manual_seed(0), dtype=f64)
    out = model(x)
    assert out.shape == (4, 10) and out.dtype == f64
    assert torch.allclose(out, _authors_forward(name, model, x), rtol=1e-12, atol=1e-12)


def _uniform_ks(values, bound):
    """Kolmogorov–Smirnov p-value of ``values`` against U(-bound, bound)."""
    return stats.kstest(values.detach().flatten().numpy(), stats.uniform(-bound, 2 * bound).cdf).pvalue


def test_paper_init_is_xavier_on_dense_weights_and_pytorch_default_elsewhere():
    model = paper_network("conv_off_the_shelf", 0)
    for layer in (m for m in model.modules() if isinstance(m, (nn.Linear, nn.Conv2d))):
        fan_in = layer.weight[0].numel()
        default = 1 / math.sqrt(fan_in)
        if isinstance(layer, nn.Linear):
            xavier = math.sqrt(6 / (layer.in_features + layer.out_features))
            assert float(layer.weight.detach().abs().max()) <= xavier
            assert _uniform_ks(layer.weight, xavier) > 1e-3
        else:  # PyTorch's default: kaiming_uniform_(a=sqrt(5)) = U(-1/sqrt(fan_in), 1/sqrt(fan_in))
            assert float(layer.weight.detach().abs().max()) <= default
            assert _uniform_ks(layer.weight, default) > 1e-3
        assert (
            float(layer.bias.detach().abs().max()) <= default and float(layer.bias.detach().abs().max()) > 0.5 * default
        )
    # the first convolution is not Xavier: its default range (0.2) exceeds Xavier's (0.185), and it is used
    assert float(model[0].weight.detach().abs().max()) > math.sqrt(6 / (25 + 150))


def test_paper_init_matches_pytorchs_own_default_distribution():
    """Large layers: our conv weights and biases against PyTorch's own default initializer, two-sample KS."""
    ours = paper_init_(nn.Sequential(nn.Conv2d(16, 32, 5)).double(), 0)[0]
    torch.manual_seed(0)
    theirs = nn.Conv2d(16, 32, 5).double()
    for a, b in ((ours.weight, theirs.weight), (ours.bias, theirs.bias)):
        assert stats.ks_2samp(a.detach().flatten().numpy(), b.detach().flatten().numpy()).pvalue > 1e-3


def test_paper_network_is_reproducible_and_leaves_the_global_random_state_alone():
    state = torch.random.get_rng_state()
    a = paper_network("conv_off_the_shelf", 5)
    assert torch.equal(state, torch.random.get_rng_state())
    b = paper_network("conv_off_the_shelf", torch.Generator().manual_seed(5))
    c = paper_network("conv_off_the_shelf", 6)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
    assert not torch.equal(next(a.parameters()), next(c.parameters()))
    # every parameter was set by the initializer (the layers were built on the meta device, no garbage)
    assert all(torch.isfinite(p).all() and float(p.detach().abs().max()) < 1 for p in a.parameters())
    assert paper_network("fc_linear")[1].weight.equal(paper_network("fc_linear", 1)[1].weight)  # default seed 1


def test_other_inits_and_sizes():
    near = paper_network("fc_relu", 0, size=8, init="near_zero", scale=1e-3)
    assert near[1].weight.std().item() == pytest.approx(1e-3, rel=0.05)
    xavier = paper_network("conv_off_the_shelf", 0, init="xavier")
    assert all(float(m.bias.detach().abs().max()) == 0 for m in xavier.modules() if isinstance(m, nn.Conv2d))
    assert paper_network("conv_adapted", size=16)(torch.zeros(2, 1, 16, 16, dtype=f64)).shape == (2, 10)
    with pytest.raises(ValueError, match="size must be at least 12"):
        paper_network("conv_off_the_shelf", size=11)
    with pytest.raises(ValueError, match="scale is required"):
        paper_network("fc_linear", init="near_zero")
    with pytest.raises(ValueError, match="scale is required"):
        paper_network("fc_linear", scale=0.1)


@pytest.mark.parametrize("activation", ["linear", "relu", "leaky_relu"])
def test_bias_free_networks_are_positively_homogeneous_in_each_layer(activation):
    g = torch.Generator().manual_seed(0)
    net = xavier_init_(mlp([6, 5, 4, 3], activation), g)
    x = torch.randn(7, 6, generator=g, dtype=f64)
    y = net(x)
    with torch.no_grad():
        net[3].weight.mul_(2.5)  # scale one layer by c > 0: the output scales by c
    assert torch.allclose(net(x), 2.5 * y, rtol=1e-12)


def test_deep_linear_is_the_product_of_its_layers():
    g = torch.Generator().manual_seed(1)
    net = near_zero_init_(deep_linear(4, 3, 2, width=5), 0.5, g)
    W = torch.eye(3, dtype=f64)
    for layer in [m for m in net if isinstance(m, nn.Linear)]:
        W = layer.weight @ W
    x = torch.randn(10, 3, generator=g, dtype=f64)
    assert torch.allclose(net(x), x @ W.T, rtol=1e-12)
    assert len([m for m in net if isinstance(m, nn.Linear)]) == 4
    assert [m.out_features for m in net if isinstance(m, nn.Linear)] == [5, 5, 5, 2]


def test_initializers_have_the_right_scale_and_are_reproducible():
    net = xavier_init_(mlp([400, 300, 10], "relu"), torch.Generator().manual_seed(0))
    w = net[1].weight
    bound = math.sqrt(6 / (400 + 300))
    assert w.abs().max() <= bound and w.abs().max() > 0.99 * bound
    assert w.var().item() == pytest.approx(bound**2 / 3, rel=0.02)
    again = xavier_init_(mlp([400, 300, 10], "relu"), 0)  # an integer seed is the same as a seeded generator
    assert torch.equal(w, again[1].weight)
    small = near_zero_init_(mlp([400, 300, 10], "relu", bias=True), 1e-3, 0)
    assert small[1].weight.std().item() == pytest.approx(1e-3, rel=0.02)
    assert float(small[1].bias.detach().abs().max()) == 0.0


@pytest.mark.parametrize("init", [xavier_init_, paper_init_, lambda m, g: near_zero_init_(m, 0.1, g)])
def test_initializers_refuse_to_use_global_randomness(init):
    with pytest.raises(TypeError, match="generator must be a torch.Generator or an integer seed"):
        init(mlp([3, 2]), None)


def test_weight_mask_excludes_biases():
    net = paper_network("conv_off_the_shelf")
    mask = weight_mask(net)
    n_bias = sum(p.numel() for name, p in net.named_parameters() if name.endswith("bias"))
    assert mask.numel() == sum(p.numel() for p in net.parameters())
    assert (~mask).sum().item() == n_bias == 6 + 16 + 120 + 84 + 10
    assert weight_mask(paper_network("fc_linear")).all()


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="activation must be one of"):
        mlp([2, 3], "tanh_ish")
    with pytest.raises(ValueError, match="widths must list"):
        mlp([3])
    with pytest.raises(ValueError, match="depth must be an integer >= 1"):
        deep_linear(0, 2, 2)
    with pytest.raises(ValueError, match="name must be one of"):
        paper_network("resnet")
