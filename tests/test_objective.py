"""Numerical truths about gfteach.objective: values, gradients, HVPs and Hessians of f(theta)."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from gfteach.hessian import reverse_over_reverse
from gfteach.objective import FunctionObjective, Objective, as_objective

f64 = torch.float64


def mlp(sizes, act=nn.Tanh, seed=0):
    torch.manual_seed(seed)
    layers = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers += [nn.Linear(a, b)] + ([act()] if i < len(sizes) - 2 else [])
    return nn.Sequential(*layers).to(f64)


def regression(n_samples=23, sizes=(3, 6, 5, 2), act=nn.Tanh, seed=0, **kw):
    model = mlp(sizes, act, seed)
    g = torch.Generator().manual_seed(seed + 100)
    X = torch.randn(n_samples, sizes[0], generator=g, dtype=f64)
    Y = torch.randn(n_samples, sizes[-1], generator=g, dtype=f64)
    return Objective(model, X, Y, "mse", **kw), model, X, Y


def test_value_and_grad_match_the_module_under_autograd():
    obj, model, X, Y = regression()
    loss = F.mse_loss(model(X), Y)
    loss.backward()
    value, grad = obj.value_and_grad(obj.theta0())
    assert torch.equal(value, loss.detach())
    assert torch.equal(grad, torch.cat([p.grad.reshape(-1) for p in model.parameters()]))
    assert obj.n_params == sum(p.numel() for p in model.parameters()) == grad.numel()


@pytest.mark.parametrize("chunk_size", [1, 7, 23, 100])
def test_everything_is_chunk_size_invariant(chunk_size):
    whole, *_ = regression()
    chunked, *_ = regression(chunk_size=chunk_size)
    theta = whole.theta0() + 0.1
    v = torch.randn(whole.n_params, generator=torch.Generator().manual_seed(1), dtype=f64)
    close = dict(rtol=1e-12, atol=1e-14)
    torch.testing.assert_close(chunked.value(theta), whole.value(theta), **close)
    torch.testing.assert_close(chunked.grad(theta), whole.grad(theta), **close)
    torch.testing.assert_close(chunked.hvp(theta, v), whole.hvp(theta, v), **close)
    torch.testing.assert_close(chunked.hvp_operator(theta)(v), whole.hvp(theta, v), **close)
    torch.testing.assert_close(chunked.hessian(theta), whole.hessian(theta), **close)


def test_cross_entropy_is_chunk_size_invariant():
    model = mlp((4, 8, 3), nn.ReLU)
    X = torch.randn(31, 4, dtype=f64)
    labels = torch.randint(0, 3, (31,))
    whole = Objective(model, X, labels, "cross_entropy")
    chunked = Objective(model, X, labels, "cross_entropy", chunk_size=5)
    theta = whole.theta0()
    torch.testing.assert_close(chunked.value(theta), F.cross_entropy(model(X), labels).detach(), rtol=1e-13, atol=0)
    torch.testing.assert_close(chunked.hessian(theta), whole.hessian(theta), rtol=1e-12, atol=1e-14)


def test_hvp_matches_central_finite_differences_of_the_gradient():
    obj, *_ = regression(act=nn.Tanh)
    theta = obj.theta0()
    v = torch.randn(obj.n_params, generator=torch.Generator().manual_seed(2), dtype=f64)
    h = 1e-5
    fd = (obj.grad(theta + h * v) - obj.grad(theta - h * v)) / (2 * h)
    hv = obj.hvp(theta, v)
    assert float((hv - fd).norm() / hv.norm()) < 1e-8


def test_hvp_operator_reuses_one_gradient_graph():
    obj, *_ = regression()
    theta = obj.theta0()
    op = obj.hvp_operator(theta)
    grads_after_build = obj.n_grad
    vs = torch.randn(5, obj.n_params, dtype=f64)
    for v in vs:
        torch.testing.assert_close(op(v), obj.hvp(theta, v), rtol=1e-13, atol=1e-15)
    assert obj.n_grad == grads_after_build + 5  # only the five fresh hvp() calls built graphs
    assert obj.n_hvp == 10
    torch.testing.assert_close(op.gradient, obj.grad(theta), rtol=1e-14, atol=0)


@pytest.mark.parametrize("act", [nn.Tanh, nn.ReLU])
def test_dense_hessian_matches_torch_func_hessian(act):
    obj, model, X, Y = regression(act=act, sizes=(4, 7, 6, 3))
    theta = obj.theta0()

    def f(t):
        return F.mse_loss(torch.func.functional_call(model, obj.unflatten(t), (X,)), Y)

    H = obj.hessian(theta)
    assert float((H - torch.func.hessian(f)(theta)).abs().max()) <= 1e-12
    assert torch.equal(H, H.T)
    v = torch.randn(obj.n_params, dtype=f64)
    torch.testing.assert_close(H @ v, obj.hvp(theta, v), rtol=1e-11, atol=1e-13)


def test_reverse_over_reverse_fallback_agrees():
    obj, *_ = regression()
    theta = obj.theta0()
    H = reverse_over_reverse(obj._graph_gradient, theta, block=8)
    torch.testing.assert_close((H + H.T) / 2, obj.hessian(theta), rtol=1e-12, atol=1e-14)


def test_plain_callable_rosenbrock():
    obj = as_objective(lambda t: (1 - t[0]) ** 2 + 100 * (t[1] - t[0] ** 2) ** 2)
    x = torch.tensor([-0.5, 0.7], dtype=f64)
    a, b = -0.5, 0.7
    grad = torch.tensor([-2 * (1 - a) - 400 * a * (b - a * a), 200 * (b - a * a)], dtype=f64)
    hess = torch.tensor([[2 - 400 * (b - 3 * a * a), -400 * a], [-400 * a, 200]], dtype=f64)
    torch.testing.assert_close(obj.grad(x), grad, rtol=1e-14, atol=0)
    torch.testing.assert_close(obj.hessian(x), hess, rtol=1e-14, atol=0)
    torch.testing.assert_close(
        obj.hvp(x, torch.tensor([1.0, 2.0], dtype=f64)), hess @ torch.tensor([1.0, 2.0], dtype=f64)
    )
    assert as_objective(obj) is obj


def test_function_without_dependence_has_zero_derivatives():
    obj = as_objective(lambda t: t.sum() * 0 + 3.0, n_params=3)
    x = torch.ones(3, dtype=f64)
    assert float(obj.value(x)) == 3.0
    assert torch.equal(obj.hessian(x), torch.zeros(3, 3, dtype=f64))
    assert torch.equal(obj.hvp(x, x), torch.zeros(3, dtype=f64))
    assert torch.equal(obj.hvp_operator(x)(x), torch.zeros(3, dtype=f64))


@settings(max_examples=25, deadline=None)
@given(n=st.integers(1, 6), seed=st.integers(0, 10_000))
def test_random_quadratics_have_exact_derivatives(n, seed):
    rng = np.random.default_rng(seed)
    A = torch.as_tensor(rng.standard_normal((n, n)), dtype=f64)
    A = (A + A.T) / 2
    b = torch.as_tensor(rng.standard_normal(n), dtype=f64)
    obj = as_objective(lambda t: 0.5 * t @ A @ t + b @ t, n_params=n)
    x, v = (torch.as_tensor(rng.standard_normal(n), dtype=f64) for _ in range(2))
    torch.testing.assert_close(obj.grad(x), A @ x + b, rtol=1e-13, atol=1e-13)
    torch.testing.assert_close(obj.hvp(x, v), A @ v, rtol=1e-13, atol=1e-13)
    torch.testing.assert_close(obj.hessian(x), A, rtol=1e-13, atol=1e-13)


def test_flatten_unflatten_load_round_trip():
    obj, model, X, _ = regression()
    theta = obj.theta0()
    params = obj.unflatten(theta)
    assert list(params) == [name for name, _ in model.named_parameters()]
    assert torch.equal(obj.flatten(params), theta)
    assert torch.equal(obj.flatten(list(params.values())), theta)
    new = theta + 1.0
    obj.load(new)
    assert torch.equal(obj.theta0(), new)
    with pytest.raises(ValueError, match="shapes"):
        obj.flatten([torch.zeros(2)])


def test_counters_count_the_work():
    obj, *_ = regression()
    theta = obj.theta0()
    obj.value(theta)
    obj.grad(theta)
    obj.value_and_grad(theta)
    obj.hvp(theta, theta)
    assert (obj.n_value, obj.n_grad, obj.n_hvp) == (1, 3, 1)
    obj.hessian(theta)
    assert obj.n_hvp == 1 + obj.n_params
    obj.reset_counters()
    assert (obj.n_value, obj.n_grad, obj.n_hvp) == (0, 0, 0)


@pytest.mark.parametrize(
    "bad, error, match",
    [
        ([0.0, 1.0], TypeError, "theta must be a torch.Tensor"),
        (
            torch.zeros(2, 3, dtype=f64),
            ValueError,
            r"theta must be a flat 1-D parameter vector of length \d+, got shape",
        ),
        (torch.zeros(5, dtype=f64), ValueError, r"theta must have length n_params = \d+, got 5"),
        ("float32", TypeError, "theta must have dtype torch.float64"),
        ("nan", ValueError, "theta must be finite"),
    ],
)
def test_bad_theta_is_rejected_with_a_clear_message(bad, error, match):
    obj, *_ = regression()
    if bad == "float32":
        bad = obj.theta0().float()
    elif bad == "nan":
        bad = obj.theta0()
        bad[3] = float("nan")
    for method in (obj.value, obj.grad, obj.hessian, obj.hvp_operator):
        with pytest.raises(error, match=match):
            method(bad)


def test_bad_hvp_direction_names_v():
    obj, *_ = regression()
    with pytest.raises(ValueError, match="v must have length"):
        obj.hvp(obj.theta0(), torch.ones(2, dtype=f64))


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(model="not a module"), TypeError, "model must be a torch.nn.Module"),
        (dict(targets=torch.zeros(4, 2, dtype=f64)), ValueError, "same number of samples"),
        (dict(loss="hinge"), ValueError, "loss must be one of"),
        (dict(chunk_size=0), ValueError, "chunk_size must be an integer >= 1"),
    ],
)
def test_bad_construction_is_rejected(kwargs, error, match):
    _, model, X, Y = regression()
    args = dict(model=model, inputs=X, targets=Y) | kwargs
    with pytest.raises(error, match=match):
        Objective(**args)


def test_mixed_parameter_dtypes_are_rejected():
    model = nn.Sequential(nn.Linear(3, 2).double(), nn.Linear(2, 1).float())
    with pytest.raises(TypeError, match="one floating dtype"):
        Objective(model, torch.zeros(4, 3, dtype=f64), torch.zeros(4, 1, dtype=f64))


def test_function_objective_checks_its_callable_and_output():
    with pytest.raises(TypeError, match="f must be callable"):
        FunctionObjective(3)
    obj = as_objective(lambda t: t)  # not a scalar
    with pytest.raises(ValueError, match=r"f\(theta\) \(<lambda>\) must return a scalar .* shape \(2,\)"):
        obj.value(torch.ones(2, dtype=f64))
