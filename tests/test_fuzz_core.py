"""A corpus of bad inputs for the core numerics (issue 15's families ``ode`` and ``Tableau``,
``objectives``, ``flow`` (GD, GF, Trajectory, distance), ``curvature``, and ``measure``/``bounds``).

Every bad input must give, within a time limit, a clear error: a ``TypeError`` for the wrong kind of
thing, a ``ValueError`` (or the documented ``IntegrationError``/``DivergenceWarning``) for a bad value,
with a message that names the argument. Every degenerate but valid input must give the correct result.
The corpus has three parts: hand-written cases (``BAD``, ``GOOD``), a systematic sweep of junk values
over every numeric, choice and time argument (``SWEEP``), and the regression tests of the issue's worst
cases (items 1-7). Each call runs in a thread with a deadline, so a hang fails instead of blocking.
"""

from __future__ import annotations

import math
import re
import threading
import time
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from gfteach import bounds, hessian, landscapes, measure
from gfteach.butcher import METHODS, Tableau
from gfteach.curvature import curvature_along, extreme_eigenvalues
from gfteach.flow import (
    DivergenceError,
    DivergenceWarning,
    Trajectory,
    distance,
    gd_time_grid,
    gradient_descent,
    gradient_flow,
)
from gfteach.objective import FunctionObjective, Objective, as_objective
from gfteach.ode import IntegrationError, StiffnessError, odeint

f64 = torch.float64
LIMIT = 10.0  # seconds per call: generous on a loaded machine; a hang used to mean minutes or forever


def timed(call, limit: float = LIMIT):
    """Run ``call()`` in a daemon thread; return ``(value, error, seconds)``; fail if it outlives ``limit``."""
    box: dict = {}

    def target():
        start = time.perf_counter()
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                box["value"] = call()
            box["warnings"] = caught
        except BaseException as error:  # noqa: BLE001 - reported to the test
            box["error"] = error
        box["seconds"] = time.perf_counter() - start

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(limit)
    if thread.is_alive():
        pytest.fail(f"the call did not return within {limit} s (a hang)")
    return box.get("value"), box.get("error"), box["seconds"], box.get("warnings", [])


def quad(*diagonal):
    d = torch.tensor(diagonal, dtype=f64)
    return lambda th: 0.5 * (d * th * th).sum()


def small_net(outputs=1):
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, outputs)).to(f64)


class TupleNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.layer = nn.Linear(3, 1).double()

    def forward(self, x):
        return self.layer(x), None


X, Y1 = torch.randn(8, 3, dtype=f64), torch.randn(8, 1, dtype=f64)
ONES2 = torch.ones(2, dtype=f64)
GD = gradient_descent(quad(1.0, 2.0), ONES2, 0.1, 4)
GF = gradient_flow(quad(1.0, 2.0), ONES2, gd_time_grid(0.1, 4))
ODE_ARGS = dict(fun=lambda t, y: -y, y0=ONES2, t=[0.0, 1.0])


def ode(**kw):
    return odeint(**(ODE_ARGS | kw))


def tableau(**kw):
    base = dict(name="heun2", A=[[0, 0], [1, 0]], b=[0.5, 0.5], c=[0, 1], order=2)
    return Tableau(**(base | kw))


# (id, call, exception type(s), regular expression the message must match: it names the argument)
BAD = [
    # -- odeint: callables and their outputs
    ("ode-fun-none", lambda: ode(fun=None), TypeError, "fun must be callable"),
    ("ode-fun-scalar-broadcast", lambda: ode(fun=lambda t, y: torch.tensor(-1.0, dtype=f64)), ValueError,
     r"fun\(t0, y0\) must return .*shape \(2,\).*returned shape \(\)"),
    ("ode-fun-transposed", lambda: ode(fun=lambda t, y: -y.T, y0=torch.ones(2, 3, dtype=f64)), ValueError,
     r"fun\(t0, y0\).*returned shape \(3, 2\)"),
    ("ode-fun-float32", lambda: ode(fun=lambda t, y: -y.float()), TypeError, r"fun\(t0, y0\).*dtype torch.float32"),
    ("ode-fun-numpy", lambda: ode(fun=lambda t, y: -y.numpy()), TypeError, r"fun\(t0, y0\).*an array"),
    ("ode-fun-list", lambda: ode(fun=lambda t, y: [0.0, 0.0]), TypeError, r"fun\(t0, y0\).*list"),
    ("ode-fun-none-return", lambda: ode(fun=lambda t, y: None), TypeError, r"fun\(t0, y0\).*NoneType"),
    ("ode-fun-nan-start", lambda: ode(fun=lambda t, y: y * math.nan), IntegrationError, r"fun\(t0, y0\).*non-finite"),
    ("ode-fun-inf-start", lambda: ode(fun=lambda t, y: y / 0), IntegrationError, r"fun\(t0, y0\).*non-finite"),
    ("ode-fun-nan-later", lambda: ode(fun=lambda t, y: -y if t < 0.5 else y * math.nan), IntegrationError,
     "fun returned non-finite values"),
    ("ode-fun-nan-later-fixed", lambda: ode(fun=lambda t, y: -y if t < 0.5 else y * math.nan, method="rk4",
     step=0.1), IntegrationError, "fun returned non-finite values"),
    # -- odeint: y0
    ("ode-y0-list", lambda: ode(y0=[1.0, 2.0]), TypeError, "y0 must be a torch.Tensor"),
    ("ode-y0-numpy", lambda: ode(y0=np.ones(2)), TypeError, "y0 must be a torch.Tensor"),
    ("ode-y0-int", lambda: ode(y0=torch.ones(2, dtype=torch.int64)), TypeError, "y0 must have a floating dtype"),
    ("ode-y0-bool", lambda: ode(y0=torch.ones(2, dtype=torch.bool)), TypeError, "y0 must have a floating dtype"),
    ("ode-y0-complex", lambda: ode(y0=torch.ones(2, dtype=torch.complex128)), TypeError, "y0 must have a floating"),
    ("ode-y0-nan", lambda: ode(y0=torch.tensor([1.0, math.nan], dtype=f64)), ValueError, "y0 must be finite"),
    ("ode-y0-inf", lambda: ode(y0=torch.tensor([math.inf, 1.0], dtype=f64)), ValueError, "y0 must be finite"),
    # -- odeint: t
    ("ode-t-str", lambda: ode(t="01"), TypeError, "t must be a non-empty 1-D sequence of times"),
    ("ode-t-none", lambda: ode(t=None), TypeError, "t must be"),
    ("ode-t-ragged", lambda: ode(t=[0, [1, 2]]), TypeError, "t must be"),
    ("ode-t-strings", lambda: ode(t=["0", "1"]), TypeError, "t must be"),
    ("ode-t-bools", lambda: ode(t=[False, True]), TypeError, "t must be .*bool"),
    ("ode-t-complex", lambda: ode(t=[0j, 1j]), TypeError, "t must be"),
    ("ode-t-2d", lambda: ode(t=[[0.0, 1.0]]), ValueError, r"t must be .*shape \(1, 2\)"),
    ("ode-t-empty", lambda: ode(t=[]), ValueError, "t must be a non-empty"),
    ("ode-t-decreasing", lambda: ode(t=[0.0, 1.0, 0.5]), ValueError, r"t must be strictly increasing.*t\[2\]"),
    ("ode-t-repeat", lambda: ode(t=[0.0, 1.0, 1.0]), ValueError, "t must be strictly increasing"),
    ("ode-t-nan", lambda: ode(t=[0.0, math.nan]), ValueError, r"t must contain only finite times.*t\[1\]"),
    ("ode-t-inf", lambda: ode(t=[0.0, math.inf]), ValueError, "t must contain only finite times"),
    ("ode-t-dict", lambda: ode(t={0: 1}), TypeError, "t must be"),
    # -- odeint: method, step, tolerances, budget
    ("ode-method-int", lambda: ode(method=3), TypeError, "method must be one of"),
    ("ode-method-none", lambda: ode(method=None), TypeError, "method must be one of"),
    ("ode-method-unknown", lambda: ode(method="rk45"), ValueError, "method must be one of"),
    ("ode-method-not-adaptive", lambda: ode(method="rk4"), ValueError, "method 'rk4' has no embedded error"),
    ("ode-step-str", lambda: ode(method="euler", step="0.1"), TypeError, "step must be a positive number"),
    ("ode-step-bool", lambda: ode(method="euler", step=True), TypeError, "step must be a positive number.*bool"),
    ("ode-step-zero", lambda: ode(method="euler", step=0.0), ValueError, "step must be a positive number"),
    ("ode-step-nan", lambda: ode(method="euler", step=math.nan), ValueError, "step must be finite"),
    ("ode-step-vector", lambda: ode(method="euler", step=torch.ones(2)), TypeError, "step must be"),
    ("ode-step-off-grid", lambda: ode(method="euler", step=0.3), ValueError, r"t\[1\] = 1 is not on the fixed-step"),
    ("ode-step-over-budget", lambda: ode(method="euler", step=1e-3, max_steps=10), ValueError,
     "needs 1000 steps, more than max_steps = 10"),
    ("ode-step-tiny", lambda: ode(method="euler", step=1e-300), ValueError, "step = 1e-300 needs 1e\\+300 steps"),
    ("ode-t-generator", lambda: ode(t=(x for x in [0.0, 1.0])), TypeError, "t must be"),
    ("ode-t-huge", lambda: ode(t=[0.0, 1e300]), StiffnessError, "stiff.*max_steps"),
    ("ode-t-resolution", lambda: ode(t=[1e20, 1e20 + 1e5]), IntegrationError, "at the resolution of t"),
    ("ode-rtol-str", lambda: ode(rtol="1e-6"), TypeError, "rtol must be a positive number, got str"),
    ("ode-rtol-none", lambda: ode(rtol=None), TypeError, "rtol must be a positive number, got NoneType"),
    ("ode-atol-none", lambda: ode(atol=None), TypeError, "atol must be a positive number"),
    ("ode-rtol-zero", lambda: ode(rtol=0.0), ValueError, "rtol must be a positive number"),
    ("ode-rtol-tiny", lambda: ode(rtol=1e-300, atol=1e-300), ValueError, "rtol = 1e-300 is below the resolution"),
    ("ode-atol-negative", lambda: ode(atol=-1.0), ValueError, "atol must be a positive number"),
    ("ode-first-step-str", lambda: ode(first_step="0.1"), TypeError, "first_step must be a positive number"),
    ("ode-first-step-zero", lambda: ode(first_step=0.0), ValueError, "first_step must be a positive number"),
    ("ode-max-steps-float", lambda: ode(max_steps=10.0), TypeError, "max_steps must be an integer >= 1"),
    ("ode-max-steps-zero", lambda: ode(max_steps=0), ValueError, "max_steps must be an integer >= 1"),
    ("ode-max-steps-reached", lambda: ode(t=[0.0, 100.0], max_steps=5), IntegrationError, "max_steps = 5 reached"),
    ("ode-float16-adaptive", lambda: ode(y0=torch.ones(2, dtype=torch.float16)), ValueError,
     "rtol = 1e-06 is below the resolution of y0's dtype torch.float16"),
    ("ode-blow-up-adaptive", lambda: ode(fun=lambda t, y: y**2, y0=torch.ones(1, dtype=f64), t=[0.0, 2.0]),
     IntegrationError, "step size became too small"),
    ("ode-blow-up-fixed", lambda: ode(fun=lambda t, y: y**2, y0=torch.ones(1, dtype=f64), t=[0.0, 2.0],
     method="euler", step=0.01), IntegrationError, "non-finite"),
    ("ode-stiff", lambda: ode(fun=lambda t, y: -torch.tensor([1e6, 1.0], dtype=f64) * y, t=[0.0, 1000.0]),
     StiffnessError, r"stiff.*h < 3.31/\|lambda\| ~ 3.3\de-06"),
    ("ode-stiff-bs23", lambda: ode(fun=lambda t, y: -torch.tensor([1e6, 1.0], dtype=f64) * y, t=[0.0, 1000.0],
     method="bs23"), StiffnessError, "stiff.*implicit"),
    # -- Tableau
    ("tab-b-sum", lambda: tableau(b=[0.5, 0.4]), ValueError, r"not consistent \(order 0\).*sum\(b\) = 1"),
    ("tab-rows-c", lambda: tableau(c=[0, 0.5]), ValueError, "rows of A must sum to c.*row 1"),
    ("tab-implicit", lambda: tableau(A=[[0.5, 0], [0.5, 0]], c=[0.5, 0.5]), ValueError,
     r"strictly lower triangular.*A\[0\]\[0\]"),
    ("tab-order-too-high", lambda: tableau(order=3), ValueError, "order <= 2"),
    ("tab-order-false", lambda: tableau(b=[1.0, 0.0]), ValueError, r"declares order 2.*b\.c = 1/2"),
    ("tab-order-bool", lambda: tableau(order=True), TypeError, "order must be an integer >= 1"),
    ("tab-order-float", lambda: tableau(order=2.0), TypeError, "order must be an integer >= 1"),
    ("tab-ragged", lambda: tableau(A=[[0], [1, 0]]), TypeError, "A must be a matrix of real numbers"),
    ("tab-A-size", lambda: tableau(A=[[0, 0, 0], [1, 0, 0]]), ValueError, r"A must be a matrix of shape \(2, 2\)"),
    ("tab-c-size", lambda: tableau(c=[0, 1, 1]), ValueError, r"c must be a vector of shape \(2,\)"),
    ("tab-b-empty", lambda: tableau(A=np.zeros((0, 0)), b=[], c=[]), ValueError, "b must hold at least one weight"),
    ("tab-b-str", lambda: tableau(b="ab"), TypeError, "b must be a vector of real numbers"),
    ("tab-nan", lambda: tableau(b=[math.nan, 0.5]), ValueError, "b must be finite"),
    ("tab-name", lambda: tableau(name=None), TypeError, "name must be a non-empty str"),
    ("tab-error-size", lambda: tableau(error=[0.1, -0.1], error_order=1), ValueError,
     r"error must be a vector of shape \(3,\)"),
    ("tab-error-sum", lambda: tableau(error=[0.1, 0.1, 0.1], error_order=1), ValueError, "error weights must sum to 0"),
    ("tab-error-order-missing", lambda: tableau(error=[0.5, -0.5, 0.0]), TypeError, "error_order must be an int"),
    ("tab-dense-alone", lambda: tableau(dense=[[1.0]]), ValueError, "error_order and dense need error weights"),
    ("tab-dense-shape", lambda: tableau(error=[0.5, -0.5, 0.0], error_order=1, dense=[[1.0], [1.0]]), ValueError,
     r"dense must have shape \(3, d\)"),
    # -- objectives
    ("obj-f-none", lambda: as_objective(None), TypeError, "the objective must be an Objective or a callable"),
    ("obj-f-int", lambda: FunctionObjective(3), TypeError, "f must be callable"),
    ("obj-n-params-float", lambda: FunctionObjective(lambda t: t.sum(), 2.0), TypeError, "n_params must be an int"),
    ("obj-n-params-zero", lambda: FunctionObjective(lambda t: t.sum(), 0), ValueError, "n_params must be an int"),
    ("obj-dtype-int", lambda: FunctionObjective(lambda t: t.sum(), dtype=torch.int64), TypeError,
     "dtype must be a floating torch.dtype"),
    ("obj-numpy-value", lambda: as_objective(lambda t: torch.tensor(float(t.detach().numpy() @ t.detach().numpy())))
     .grad(ONES2), ValueError, r"f\(theta\) \(<lambda>\) is not connected to theta's autograd graph"),
    ("obj-item-value", lambda: as_objective(lambda t: torch.tensor((t**2).sum().item())).grad(ONES2), ValueError,
     "not connected to theta's autograd graph"),
    ("obj-constant", lambda: as_objective(lambda t: torch.tensor(1.0, dtype=f64)).grad(ONES2), ValueError,
     "not connected"),
    ("obj-other-leaf", lambda: as_objective(lambda t: (torch.ones(2, dtype=f64, requires_grad=True) ** 2).sum())
     .grad(ONES2), ValueError, "does not use theta"),
    ("obj-hessian-detached", lambda: as_objective(lambda t: torch.tensor(1.0, dtype=f64)).hessian(torch.ones(80,
     dtype=f64)), ValueError, "not connected"),
    ("obj-matrix-value", lambda: as_objective(lambda t: torch.outer(t, t)).value(ONES2), ValueError,
     r"must return a scalar .*shape \(2, 2\)"),
    ("obj-vector-value", lambda: as_objective(lambda t: t**2).grad(ONES2), ValueError, r"shape \(2,\)"),
    ("obj-float-value", lambda: as_objective(lambda t: 3.0).value(ONES2), TypeError, "must return a scalar torch"),
    ("obj-int-value", lambda: as_objective(lambda t: (t > 0).sum()).value(ONES2), TypeError, "real floating-point"),
    ("obj-theta-list", lambda: as_objective(quad(1.0, 1.0)).grad([1.0, 1.0]), TypeError, "theta must be a torch"),
    ("obj-theta-f32", lambda: as_objective(quad(1.0, 1.0)).grad(torch.ones(2)), TypeError, "theta must have dtype"),
    ("obj-theta-2d", lambda: as_objective(quad(1.0, 1.0)).grad(torch.ones(1, 2, dtype=f64)), ValueError,
     "theta must be a flat 1-D"),
    ("obj-theta-nan", lambda: as_objective(quad(1.0, 1.0)).grad(torch.tensor([math.nan, 1.0], dtype=f64)),
     ValueError, "theta must be finite"),
    ("obj-theta-length", lambda: as_objective(quad(1.0, 1.0), 2).grad(torch.ones(3, dtype=f64)), ValueError,
     "theta must have length n_params = 2"),
    ("obj-v-length", lambda: as_objective(quad(1.0, 1.0), 2).hvp(ONES2, torch.ones(3, dtype=f64)), ValueError,
     "v must have length"),
    ("obj-block-zero", lambda: as_objective(quad(1.0, 1.0)).hessian(ONES2, block=0), ValueError, "block must be"),
    ("net-model-str", lambda: Objective("net", X, Y1), TypeError, "model must be a torch.nn.Module"),
    ("net-no-params", lambda: Objective(nn.ReLU(), X, Y1), ValueError, "model has no parameters"),
    ("net-inputs-list", lambda: Objective(small_net(), X.tolist(), Y1), TypeError, "inputs must be a torch.Tensor"),
    ("net-targets-none", lambda: Objective(small_net(), X, None), TypeError, "targets must be a torch.Tensor"),
    ("net-inputs-float32", lambda: Objective(small_net(), X.float(), Y1), TypeError,
     "inputs must have the parameters' dtype torch.float64"),
    ("net-inputs-nan", lambda: Objective(small_net(), X * math.nan, Y1), ValueError, "inputs must be real and finite"),
    ("net-targets-inf", lambda: Objective(small_net(), X, Y1 / 0), ValueError, "targets must be real and finite"),
    ("net-samples", lambda: Objective(small_net(), X, Y1[:5]), ValueError, "same number of samples, got 8 and 5"),
    ("net-empty", lambda: Objective(small_net(), X[:0], Y1[:0]), ValueError, "inputs must hold at least one sample"),
    ("net-scalar-inputs", lambda: Objective(small_net(), torch.tensor(1.0, dtype=f64), Y1), ValueError,
     "inputs must hold at least one sample"),
    ("net-loss-unknown", lambda: Objective(small_net(), X, Y1, "hinge"), ValueError, "loss must be one of"),
    ("net-loss-int", lambda: Objective(small_net(), X, Y1, 3), TypeError, "loss must be a name or a callable"),
    ("net-chunk-zero", lambda: Objective(small_net(), X, Y1, chunk_size=0), ValueError, "chunk_size must be"),
    ("net-chunk-float", lambda: Objective(small_net(), X, Y1, chunk_size=2.5), TypeError, "chunk_size must be"),
    ("net-mse-broadcast", lambda: Objective(small_net(), X, Y1[:, 0]).value(Objective(small_net(), X, Y1).theta0()),
     ValueError, r"targets must have the shape of the model's outputs for the 'mse' loss.*\(8, 1\).*\(8,\)"),
    ("net-mse-broadcast-grad", lambda: Objective(small_net(2), X, Y1).grad(Objective(small_net(2), X,
     Y1.repeat(1, 2)).theta0()), ValueError, "targets must have the shape of the model's outputs"),
    ("net-ce-float-labels", lambda: Objective(small_net(3), X, Y1[:, 0], "cross_entropy").grad(
        Objective(small_net(3), X, torch.zeros(8, dtype=torch.int64), "cross_entropy").theta0()), ValueError,
     "targets for 'cross_entropy' given as class probabilities must have shape"),
    ("net-ce-int32", lambda: Objective(small_net(3), X, torch.zeros(8, dtype=torch.int32), "cross_entropy").grad(
        Objective(small_net(3), X, torch.zeros(8, dtype=torch.int64), "cross_entropy").theta0()), ValueError,
     "targets for 'cross_entropy' must be int64 class indices"),
    ("net-ce-out-of-range", lambda: Objective(small_net(3), X, torch.arange(8), "cross_entropy").grad(
        Objective(small_net(3), X, torch.zeros(8, dtype=torch.int64), "cross_entropy").theta0()), ValueError,
     r"class indices in \[0, 3\).*from 0 to 7"),
    ("net-loss-not-reduced", lambda: Objective(small_net(), X, Y1, lambda o, y: (o - y) ** 2).grad(
        Objective(small_net(), X, Y1).theta0()), ValueError, r"loss\(outputs, targets\).*must return a scalar"),
    ("net-model-tuple", lambda: Objective(TupleNet(), X, Y1).grad(Objective(TupleNet(), X, Y1).theta0()), TypeError,
     "model\\(inputs\\) must return a tensor of outputs, got tuple"),
    ("net-inputs-features", lambda: Objective(nn.Linear(4, 1).double(), X, Y1).value(torch.zeros(5, dtype=f64)),
     ValueError, r"model\(inputs\) failed on inputs of shape \(8, 3\)"),
    ("net-flatten-shapes", lambda: Objective(small_net(), X, Y1).flatten([torch.ones(2)]), ValueError,
     "tensors must be tensors of shapes"),
    ("net-flatten-missing", lambda: Objective(small_net(), X, Y1).flatten({}), ValueError, "got \\[.NoneType None"),
    # -- gradient descent
    ("gd-obj-none", lambda: gradient_descent(None, ONES2, 0.1, 3), TypeError, "objective must be"),
    ("gd-theta-list", lambda: gradient_descent(quad(1.0, 1.0), [1.0, 1.0], 0.1, 3), TypeError, "theta0 must be"),
    ("gd-step-none", lambda: gradient_descent(quad(1.0, 1.0), ONES2, None, 3), TypeError, "step must be"),
    ("gd-steps-float", lambda: gradient_descent(quad(1.0, 1.0), ONES2, 0.1, 3.5), TypeError, "steps must be"),
    ("gd-steps-str", lambda: gradient_descent(quad(1.0, 1.0), ONES2, 0.1, "3"), TypeError, "steps must be"),
    ("gd-progress-str", lambda: gradient_descent(quad(1.0, 1.0), ONES2, 0.1, 3, progress="yes"), TypeError,
     "progress must be True, False or None"),
    ("gd-desc-int", lambda: gradient_descent(quad(1.0, 1.0), ONES2, 0.1, 3, desc=3), TypeError, "desc must be a str"),
    ("gd-mode", lambda: gradient_descent(quad(1.0, 1.0), ONES2, 0.1, 3, on_divergence=None), TypeError,
     "on_divergence must be one of"),
    ("gd-nan-loss", lambda: gradient_descent(lambda t: (t * math.nan).sum(), ONES2, 0.1, 3), ValueError,
     "the loss at theta0 is not finite"),
    ("gd-diverges-raise", lambda: gradient_descent(quad(4.0), torch.ones(1, dtype=f64), 1.0, 5000,
     on_divergence="raise"), DivergenceError, "diverged.*stability limit 2/lambda_max"),
    ("gd-nan-gradient-raise", lambda: gradient_descent(lambda t: t.abs().sqrt().sum(), torch.tensor([0.0, 1.0],
     dtype=f64), 0.1, 3, on_divergence="raise"), DivergenceError, "the gradient at iterate 0 was not finite"),
    # -- gradient flow
    ("gf-t-str", lambda: gradient_flow(quad(1.0, 1.0), ONES2, "0 1"), TypeError, "t_eval must be"),
    ("gf-t-none", lambda: gradient_flow(quad(1.0, 1.0), ONES2, None), TypeError, "t_eval must be"),
    ("gf-t-decreasing", lambda: gradient_flow(quad(1.0, 1.0), ONES2, [1.0, 0.0]), ValueError,
     "t_eval must be strictly increasing"),
    ("gf-t-nan", lambda: gradient_flow(quad(1.0, 1.0), ONES2, [0.0, math.nan]), ValueError, "t_eval must contain"),
    ("gf-method", lambda: gradient_flow(quad(1.0, 1.0), ONES2, [0, 1], method="leapfrog"), ValueError, "method"),
    ("gf-rtol-str", lambda: gradient_flow(quad(1.0, 1.0), ONES2, [0, 1], rtol="1e-8"), TypeError, "rtol must be"),
    ("gf-max-steps", lambda: gradient_flow(quad(1.0, 1.0), ONES2, [0, 100], max_steps=3), IntegrationError,
     "max_steps = 3 reached"),
    ("gf-max-steps-str", lambda: gradient_flow(quad(1.0, 1.0), ONES2, [0, 1], max_steps="3"), TypeError,
     "max_steps must be"),
    ("gf-nan-loss", lambda: gradient_flow(lambda t: (t * math.nan).sum(), ONES2, [0, 1]), ValueError,
     "the loss at theta0 is not finite"),
    ("gf-stiff", lambda: gradient_flow(quad(1e6, 1.0), ONES2, [0.0, 1000.0]), StiffnessError,
     r"stiff.*Hessian eigenvalue.*h < 3.31/\|lambda\| ~ 3.3\de-06.*implicit"),
    ("gf-nan-gradient-raise", lambda: gradient_flow(lambda t: t.abs().sqrt().sum(), torch.tensor([0.0, 1.0],
     dtype=f64), [0, 1], on_divergence="raise"), DivergenceError, "the gradient at theta0 is not finite"),
    ("gf-off-grid", lambda: gradient_flow(quad(1.0, 1.0), ONES2, [0.0, 0.25], method="euler", step=0.1),
     ValueError, "not on the fixed-step grid"),
    # -- Trajectory and distance
    ("traj-kind", lambda: Trajectory(GD.times, GD.thetas, GD.losses, "sgd", 0), ValueError, "kind must be one of"),
    ("traj-lengths", lambda: Trajectory(GD.times, GD.thetas[:2], GD.losses, "gd", 0), ValueError,
     "one parameter vector and one loss per time"),
    ("traj-thetas-1d", lambda: Trajectory(GD.times, GD.thetas[:, 0], GD.losses, "gd", 0), TypeError,
     "thetas must be a 2-D tensor"),
    ("traj-times-list", lambda: Trajectory(GD.times.tolist(), GD.thetas, GD.losses, "gd", 0), TypeError,
     "times must be a 1-D tensor"),
    ("dist-dims", lambda: distance(GD, gradient_descent(quad(1.0, 1.0, 1.0), torch.ones(3, dtype=f64), 0.1, 4)),
     ValueError, "same number of parameters, got 2 and 3"),
    ("dist-rtol-nan", lambda: distance(GD, GF, rtol=math.nan), ValueError, "rtol must be finite"),
    ("dist-rtol-str", lambda: distance(GD, GF, rtol="1e-9"), TypeError, "rtol must be"),
    ("dist-not-trajectory", lambda: distance(GD, GF.thetas), TypeError, "b must be a Trajectory"),
    ("dist-off-grid", lambda: distance(GD, gradient_flow(quad(1.0, 2.0), ONES2, [0.0, 0.33])), ValueError,
     "not among the second's times"),
    ("grid-step-bool", lambda: gd_time_grid(True, 3), TypeError, "step must be"),
    ("grid-steps-negative", lambda: gd_time_grid(0.1, -1), ValueError, "steps must be an integer >= 0"),
    # -- curvature
    ("eig-which", lambda: extreme_eigenvalues(quad(1.0, 1.0), ONES2, which="middle"), ValueError, "which must be"),
    ("eig-which-int", lambda: extreme_eigenvalues(quad(1.0, 1.0), ONES2, which=1), TypeError, "which must be"),
    ("eig-failure", lambda: extreme_eigenvalues(quad(1.0, 1.0), ONES2, on_failure="ignore"), ValueError,
     "on_failure must be"),
    ("eig-tol-str", lambda: extreme_eigenvalues(quad(1.0, 1.0), ONES2, tol="1e-8"), TypeError, "tol must be"),
    ("eig-dense-str", lambda: extreme_eigenvalues(quad(1.0, 1.0), ONES2, dense="no"), TypeError, "dense must be"),
    ("eig-seed-float", lambda: extreme_eigenvalues(quad(1.0, 1.0), ONES2, seed=1.5), TypeError, "seed must be"),
    ("eig-max-iter-float", lambda: extreme_eigenvalues(quad(1.0, 1.0), ONES2, max_iter=2.0, dense=False), TypeError,
     "max_iter must be"),
    ("eig-v0-list", lambda: extreme_eigenvalues(quad(1.0, 1.0), ONES2, v0=[1.0, 0.0], dense=False), TypeError,
     "v0 must be a real torch.Tensor"),
    ("eig-v0-nan", lambda: extreme_eigenvalues(quad(1.0, 1.0), ONES2, v0=torch.tensor([math.nan, 0.0]), dense=False),
     ValueError, "v0 must be a finite tensor"),
    ("eig-v0-zero", lambda: extreme_eigenvalues(quad(1.0, 1.0), ONES2, v0=torch.zeros(2), dense=False), ValueError,
     "v0 must be non-zero"),
    ("eig-empty", lambda: extreme_eigenvalues(lambda t: t.sum(), torch.ones(0, dtype=f64)), ValueError,
     "theta must have at least one entry"),
    ("eig-nan-hessian-dense", lambda: extreme_eigenvalues(lambda t: t.abs().sqrt().sum(), torch.zeros(3, dtype=f64)),
     ValueError, "the Hessian of the objective at theta is not finite"),
    ("eig-nan-hessian-lanczos", lambda: extreme_eigenvalues(lambda t: t.abs().sqrt().sum(), torch.zeros(80,
     dtype=f64)), ValueError, "the Hessian of the objective at theta is not finite"),
    ("along-not-trajectory", lambda: curvature_along(quad(1.0, 2.0), GD.thetas), TypeError,
     "trajectory must be a Trajectory"),
    ("along-every", lambda: curvature_along(quad(1.0, 2.0), GD, every=0), ValueError, "every must be"),
    ("along-every-float", lambda: curvature_along(quad(1.0, 2.0), GD, every=1.0), TypeError, "every must be"),
    ("along-warm-str", lambda: curvature_along(quad(1.0, 2.0), GD, warm_start="yes"), TypeError, "warm_start must"),
    # -- measure
    ("slope-str", lambda: measure.loglog_slope("123", [1, 2, 3]), TypeError, "x must be a 1-D sequence"),
    ("slope-none", lambda: measure.loglog_slope([1, 2], None), TypeError, "y must be a 1-D sequence"),
    ("slope-bools", lambda: measure.loglog_slope([True, False], [1, 2]), TypeError, "x must be .*bool"),
    ("slope-zero", lambda: measure.loglog_slope([1, 2], [0, 1]), ValueError, "y must be positive and finite"),
    ("slope-lengths", lambda: measure.loglog_slope([1, 2, 3], [1, 2]), ValueError, "same length"),
    ("slope-constant", lambda: measure.loglog_slope([2, 2], [1, 2]), ValueError, "x must not be constant"),
    ("slope-2d", lambda: measure.loglog_slope([[1, 2]], [[1, 2]]), ValueError, "x must be .*shape"),
    ("trapz-decreasing", lambda: measure.cumulative_trapezoid([0, 2, 1], [1, 1, 1]), ValueError,
     "times must be strictly increasing"),
    ("trapz-lengths", lambda: measure.cumulative_trapezoid([0, 1], [1, 1, 1]), ValueError, "same length"),
    ("trapz-empty", lambda: measure.cumulative_trapezoid([], []), ValueError, "times must be a non-empty"),
    ("trapz-values-nan", lambda: measure.cumulative_trapezoid([0, 1], [1, math.nan]), ValueError, "values must be"),
    ("trapz-complex", lambda: measure.cumulative_trapezoid([0, 1], torch.ones(2, dtype=torch.complex64)), TypeError,
     "values must be"),
    ("integral-at-str", lambda: measure.integral_at([0, 1], [1, 1], "1"), TypeError, "at must be a real number"),
    ("integral-at-nan", lambda: measure.integral_at([0, 1], [1, 1], [0.5, math.nan]), ValueError, "at must be finite"),
    ("integral-at-none", lambda: measure.integral_at([0, 1], [1, 1], None), TypeError, "at must be"),
    # -- bounds
    ("tb-shapes", lambda: bounds.tracking_bound(torch.ones(5), 0.1, 1, 1, -torch.ones(3)), ValueError,
     r"negative_integral must be a number or have the shape of t \(5,\)"),
    ("tb-positive-integral", lambda: bounds.tracking_bound(1.0, 0.1, 1, 1, 0.5), ValueError,
     "negative_integral must be finite and <= 0"),
    ("tb-t-str", lambda: bounds.tracking_bound("1", 0.1, 1, 1), TypeError, "t must be"),
    ("tb-t-negative", lambda: bounds.tracking_bound([-1.0, 1.0], 0.1, 1, 1), ValueError, "t must hold finite times"),
    ("tb-eta-zero", lambda: bounds.tracking_bound(1.0, 0.0, 1, 1), ValueError, "eta must be a positive number"),
    ("tb-beta-bool", lambda: bounds.tracking_bound(1.0, 0.1, True, 1), TypeError, "beta must be"),
    ("sfb-integral-list", lambda: bounds.step_from_bound(1, 1, 1, 1, [0.0]), ValueError, "negative_integral"),
    ("ceb-t-none", lambda: bounds.classic_euler_bound(None, 0.1, 1, 1), TypeError, "t must be"),
    ("ab-swapped", lambda: bounds.approximation_bound(quad(1.0, 2.0), GF, GD), ValueError, "in that order"),
    ("ab-not-trajectory", lambda: bounds.approximation_bound(quad(1.0, 2.0), GD.thetas, GF), TypeError,
     "gd and gf must be Trajectory"),
    ("ab-curvature", lambda: bounds.approximation_bound(quad(1.0, 2.0), GD, GF, curvature=1), TypeError,
     "curvature must be a CurvatureAlong"),
    ("ab-safety", lambda: bounds.approximation_bound(quad(1.0, 2.0), GD, GF, safety=0.5), ValueError,
     "safety must be a number >= 1"),
    ("hlb-chain", lambda: bounds.hessian_lower_bound([torch.ones(2, 3), torch.ones(3, 3)], torch.ones(3, 3)),
     ValueError, r"layers\[1\] of shape \(3, 3\) cannot follow"),
    ("hlb-grad-shape", lambda: bounds.hessian_lower_bound([torch.ones(2, 3)], torch.ones(3, 3)), ValueError,
     r"grad_phi must be finite with the shape \(2, 3\)"),
    ("hlb-layers-tensor", lambda: bounds.hessian_lower_bound(torch.ones(2, 2), torch.ones(2, 2)), TypeError,
     "layers must be a sequence"),
    ("hlb-layer-1d", lambda: bounds.hessian_lower_bound([torch.ones(2)], torch.ones(2, 2)), TypeError,
     r"layers\[0\] must be a 2-D"),
    ("hlb-empty", lambda: bounds.hessian_lower_bound([], torch.ones(2, 2)), ValueError, "at least one matrix"),
    ("gap-overshoot", lambda: bounds.scalar_gap(10.0, 1.0, 0.5, 1.0), ValueError, "need 1 - eta \\* lam > 0"),
    ("gap-eta-str", lambda: bounds.scalar_gap(1.0, 1.0, "0.1", 1.0), TypeError, "eta must be"),
    ("sfa-eps-zero", lambda: bounds.step_for_accuracy(1.0, 1.0, 1.0, 0.0), ValueError, "eps must be"),
    ("bsb-depth-float", lambda: bounds.balanced_scalar_bound(1.0, 1.0, 2.5), TypeError, "depth must be"),
]  # fmt: skip


@pytest.mark.parametrize("case, call, error, match", BAD, ids=[b[0] for b in BAD])
def test_bad_input_gives_a_clear_error(case, call, error, match):
    value, raised, seconds, _ = timed(call)
    assert raised is not None, f"{case}: no error; returned {value!r}"
    assert isinstance(raised, error), f"{case}: {type(raised).__name__}: {raised}"
    assert re.search(match, str(raised)), f"{case}: unclear message: {raised}"
    assert seconds < 5.0, f"{case}: took {seconds:.1f} s (refused only after allocating?)"


def _single_time_ode():
    sol = odeint(lambda t, y: -y, ONES2, [0.5])
    return sol.t.tolist() == [0.5] and torch.equal(sol.y, ONES2[None]) and sol.nfev == 0


def _empty_state_ode():
    sol = odeint(lambda t, y: -y, torch.ones(0, 3, dtype=f64), [0.0, 1.0, 2.0])
    return sol.y.shape == (3, 0, 3)


def _hermite_dense_output():
    # a user pair without dense weights gets cubic Hermite output: exact for a cubic solution y = t^3
    bs = METHODS["bs23"]
    tab = Tableau("bs23-hermite", bs.A, bs.b, bs.c, 3, error=bs.error, error_order=2)
    sol = odeint(lambda t, y: 3 * t**2 * torch.ones_like(y), torch.zeros(1, dtype=f64), [0.0, 0.3, 0.7, 1.0], tab)
    return torch.allclose(sol.y[:, 0], torch.tensor([0.0, 0.027, 0.343, 1.0], dtype=f64), atol=1e-12)


def _gf_single_time():
    run = gradient_flow(quad(1.0, 2.0), ONES2, gd_time_grid(0.25, 0))
    return len(run) == 1 and torch.equal(run.thetas[0], ONES2) and float(run.losses[0]) == 1.5


def _zero_step_gd():
    run = gradient_descent(quad(1.0, 2.0), ONES2, 0.1, 0)
    return len(run) == 1 and run.iterate_losses.tolist() == [1.5]


def _empty_theta_runs():
    f = lambda t: (t**2).sum()
    gd, gf = gradient_descent(f, torch.ones(0, dtype=f64), 0.1, 3), gradient_flow(f, torch.ones(0, dtype=f64), [0, 1])
    return gd.thetas.shape == (4, 0) and gf.thetas.shape == (2, 0) and float(distance(gd, gd).sum()) == 0


def _numeric_types_are_accepted():
    runs = [
        gradient_descent(quad(1.0, 2.0), ONES2, s, n)
        for s, n in [
            (0.25, 4),
            (np.float64(0.25), np.int64(4)),
            (torch.tensor(0.25), torch.tensor(4)),
            (np.float32(0.25), 4),
        ]
    ]
    return all(torch.equal(r.thetas, runs[0].thetas) for r in runs)  # 0.25 is exact in float32 too  # fmt: skip


def _stiff_within_budget_runs():
    sol = odeint(lambda t, y: -torch.tensor([1e3, 1.0], dtype=f64) * y, ONES2, [0.0, 1.0])  # ~300 stable steps
    return abs(float(sol.y[-1, 1]) - math.exp(-1)) < 1e-6 and abs(float(sol.y[-1, 0])) < 1e-6


def _mse_shapes_that_match():
    obj = Objective(small_net(), X, Y1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no broadcasting warning from torch
        value = obj.value(obj.theta0())
    return torch.equal(value, F.mse_loss(small_net()(X), Y1).detach())


def _cross_entropy_probabilities():
    probs = torch.softmax(torch.randn(8, 3, dtype=f64), 1)
    obj = Objective(small_net(3), X, probs, "cross_entropy")
    return torch.allclose(obj.value(obj.theta0()), F.cross_entropy(small_net(3)(X), probs))


def _zero_hessian_lanczos():
    r = extreme_eigenvalues(lambda x: x.abs().sum(), torch.ones(100, dtype=f64))
    return (r.lambda_min, r.lambda_max, r.converged) == (0.0, 0.0, True)


def _scalar_identity_hessian():
    r = extreme_eigenvalues(quad(*[3.0] * 100), torch.zeros(100, dtype=f64))
    return abs(r.lambda_min - 3) < 1e-12 and abs(r.lambda_max - 3) < 1e-12 and r.converged and r.n_hvp <= 3


def _one_parameter_lanczos():
    r = extreme_eigenvalues(quad(-2.0), torch.zeros(1, dtype=f64), dense=False)
    return abs(r.lambda_min + 2) < 1e-12 and abs(r.lambda_max + 2) < 1e-12


def _curvature_along_one_point():
    c = curvature_along(quad(1.0, -2.0), gradient_flow(quad(1.0, -2.0), ONES2, [0.0]))
    return c.lambda_min.tolist() == [-2.0] and c.negative_integral.tolist() == [0.0]


GOOD = [
    ("ode-single-time", _single_time_ode),
    ("ode-empty-state", _empty_state_ode),
    ("ode-hermite-dense-output", _hermite_dense_output),
    ("ode-float16-fixed-step", lambda: abs(float(ode(y0=torch.ones(2, dtype=torch.float16), method="rk4",
                                                      step=0.1).y[-1, 0]) - math.exp(-1)) < 2e-3),
    ("ode-stiff-within-budget", _stiff_within_budget_runs),
    ("ode-step-numpy", lambda: torch.equal(ode(method="euler", step=np.float64(0.5)).y,
                                           ode(method="euler", step=0.5).y)),
    ("ode-tiny-atol", lambda: abs(float(ode(atol=1e-300).y[-1, 0]) - math.exp(-1)) < 1e-5),
    ("ode-zero-derivative", lambda: torch.equal(ode(fun=lambda t, y: 0 * y).y[-1], ONES2)),
    ("ode-scalar-state", lambda: abs(float(ode(y0=torch.tensor(1.0, dtype=f64)).y[-1]) - math.exp(-1)) < 1e-6),
    ("ode-t-range", lambda: ode(t=range(3)).y.shape == (3, 2)),
    ("ode-t-float32-tensor", lambda: ode(t=torch.tensor([0.0, 1.0])).t.dtype == f64),
    ("ode-method-uppercase", lambda: torch.equal(ode(method="DOPRI5").y, ode().y)),
    ("gf-single-time", _gf_single_time),
    ("gd-zero-steps", _zero_step_gd),
    ("flows-empty-theta", _empty_theta_runs),
    ("gd-numeric-types", _numeric_types_are_accepted),
    ("grid-numpy-ints", lambda: gd_time_grid(0.5, np.int64(2)).tolist() == [0.0, 0.5, 1.0]),
    ("mse-matching-shapes", _mse_shapes_that_match),
    ("ce-probabilities", _cross_entropy_probabilities),
    ("obj-constant-written-in-torch", lambda: torch.equal(as_objective(lambda t: 0 * t.sum() + 1).grad(ONES2),
                                                          torch.zeros(2, dtype=f64))),
    ("obj-one-element-value", lambda: float(as_objective(lambda t: (t**2).sum().reshape(1, 1)).value(ONES2)) == 2.0),
    ("eig-zero-hessian-lanczos", _zero_hessian_lanczos),
    ("eig-identity-hessian", _scalar_identity_hessian),
    ("eig-one-parameter", _one_parameter_lanczos),
    ("along-one-point", _curvature_along_one_point),
    ("slope-numpy-tensor-mix", lambda: measure.loglog_slope(np.array([1.0, 2.0]), torch.tensor([3.0, 12.0])) == 2.0),
    ("integral-at-tensor-scalar", lambda: measure.integral_at([0, 1], [2, 2], torch.tensor(0.5)).shape == ()),
    ("integral-at-empty", lambda: measure.integral_at([0, 1], [1, 1], []).shape == (0,)),
    ("gap-overflows-to-inf", lambda: bounds.scalar_gap(-1000.0, 1.0, 0.1, 1.0) == math.inf),
    ("gap-estimate-overflows-to-inf", lambda: bounds.scalar_gap_estimate(1000.0, 1.0, 0.1, 1.0) == math.inf),
    ("gap-estimate-intermediate-overflow", lambda: bounds.scalar_gap_estimate(1e200, 1.0, 1e-10, 1e-300)
     == pytest.approx(1e-10 * 1e200 * (1e200 * 1e-300) / 2, rel=1e-12)),  # m**2 alone overflows
    ("classic-step-beyond-the-float-range", lambda: bounds.classic_euler_step(1e-200, 1e-200, 1e-200, 0.1) == math.inf),
    ("eig-converged-is-a-bool", lambda: extreme_eigenvalues(quad(*[2.0] * 80), torch.ones(80, dtype=f64),
                                                            max_iter=1).converged is True),
    ("tb-numpy-scalars", lambda: float(bounds.tracking_bound(np.float32(2.0), np.float64(0.5), 1, 1)) == 0.5),
]  # fmt: skip


@pytest.mark.parametrize("case, call", GOOD, ids=[g[0] for g in GOOD])
def test_degenerate_but_valid_input_gives_the_correct_result(case, call):
    value, raised, seconds, _ = timed(call)
    assert raised is None, f"{case}: {type(raised).__name__}: {raised}"
    assert value is True, f"{case}: wrong result"


# -- a sweep of junk over every argument of the public functions -------------------------------------
JUNK = {
    "positive": [None, "0.1", True, math.nan, math.inf, -1.0, 0.0, [0.1], 1 + 1j, object(), torch.ones(2),
                 np.array([0.1, 0.2])],
    "nonnegative": [None, "1", True, math.nan, -math.inf, -1.0, object(), [1.0]],
    "count": [None, "3", True, 2.5, 0, -1, math.nan, [3], torch.tensor(2.5), np.float64(3.0)],
    "index": [None, "3", True, 2.5, -1, [3]],
    "choice": [None, 3, "nope", True],
    "flag": ["yes", 1, 0.0, [True]],
    "times": [None, "01", [0, "a"], [[0, 1]], [0, [1, 2]], [1, 0], [0, math.nan], [], [False, True], [0j, 1j],
              object(), {0: 1}],
    "state": [None, [1.0, 1.0], np.ones(2), "12", torch.ones(2, dtype=torch.int64), torch.ones(2, dtype=torch.bool),
              torch.ones(2, dtype=torch.complex128), torch.tensor([math.nan, 1.0], dtype=f64)],
    "theta": [None, [1.0, 1.0], np.ones(2), torch.ones(2, dtype=torch.int64), torch.tensor([math.nan, 1.0],
              dtype=f64), torch.ones(3, dtype=f64), torch.ones(1, 2, dtype=f64), torch.ones(2, dtype=torch.float32)],
    "callable": [None, 3, "f", [1.0]],
    "inputs": [None, X.tolist(), X.numpy(), X.float(), X * math.nan, X[:5], X[:0], torch.tensor(1.0, dtype=f64),
               X.to(torch.complex128)],
    "targets": [None, Y1.tolist(), Y1.numpy(), Y1 / 0, Y1[:5], Y1[:0]],
    "v0": [[1.0, 1.0], np.ones(2), "v", torch.tensor([math.nan, 1.0]), torch.ones(3), torch.zeros(2),
           torch.ones(2, dtype=torch.complex64)],
}  # fmt: skip
QUAD2 = as_objective(quad(1.0, 1.0), 2)  # knows its number of parameters

# (function name, call with keyword arguments, valid base arguments, {argument: kind})
SIGNATURES = [
    ("odeint", lambda **k: odeint(**k), dict(fun=lambda t, y: -y, y0=ONES2, t=[0.0, 1.0]),
     {"fun": "callable", "y0": "state", "t": "times", "rtol": "positive", "atol": "positive", "first_step": "positive?",
      "max_steps": "count", "method": "choice"}),
    ("odeint-fixed", lambda **k: odeint(**k), dict(fun=lambda t, y: -y, y0=ONES2, t=[0.0, 1.0], method="euler",
     step=0.5), {"step": "positive?"}),
    ("Objective", lambda **k: Objective(**k), dict(model=small_net(), inputs=X, targets=Y1),
     {"inputs": "inputs", "targets": "targets", "loss": "choice", "chunk_size": "count?"}),
    ("FunctionObjective", lambda **k: FunctionObjective(**k), dict(f=quad(1.0, 1.0)),
     {"f": "callable", "n_params": "count?"}),
    ("Objective.grad", lambda **k: QUAD2.grad(**k), dict(theta=ONES2), {"theta": "theta"}),
    ("Objective.hvp", lambda **k: QUAD2.hvp(**k), dict(theta=ONES2, v=ONES2), {"theta": "theta", "v": "theta"}),
    ("Objective.hessian", lambda **k: QUAD2.hessian(**k), dict(theta=ONES2), {"theta": "theta", "block": "count"}),
    ("gradient_descent", lambda **k: gradient_descent(**k), dict(obj=QUAD2, theta0=ONES2, step=0.1, steps=3),
     {"theta0": "theta", "step": "positive", "steps": "index", "record_every": "count", "on_divergence": "choice",
      "progress": "flag?"}),
    ("gradient_flow", lambda **k: gradient_flow(**k), dict(obj=QUAD2, theta0=ONES2, t_eval=[0.0, 1.0]),
     {"theta0": "theta", "t_eval": "times", "rtol": "positive", "atol": "positive", "method": "choice",
      "on_divergence": "choice", "max_steps": "count", "step": "positive?"}),
    ("gd_time_grid", lambda **k: gd_time_grid(**k), dict(step=0.1, steps=3),
     {"step": "positive", "steps": "index", "record_every": "count"}),
    ("extreme_eigenvalues", lambda **k: extreme_eigenvalues(**k), dict(obj=QUAD2, theta=ONES2, dense=False),
     {"theta": "theta", "tol": "positive", "max_iter": "count?", "seed": "index", "which": "choice",
      "on_failure": "choice", "dense": "flag?", "v0": "v0"}),
    ("curvature_along", lambda **k: curvature_along(**k), dict(obj=quad(1.0, 2.0), trajectory=GD),
     {"every": "count", "warm_start": "flag", "seed": "index", "tol": "positive"}),
    ("distance", lambda **k: distance(**k), dict(a=GD, b=GF), {"rtol": "nonnegative"}),
    ("tracking_bound", lambda **k: bounds.tracking_bound(**k), dict(t=1.0, eta=0.1, beta=1.0, gamma=1.0),
     {"eta": "positive", "beta": "nonnegative", "gamma": "nonnegative", "negative_integral": "nonnegative"}),
    ("step_from_bound", lambda **k: bounds.step_from_bound(**k), dict(beta=1.0, gamma=1.0, t=1.0, target=0.1),
     {"beta": "positive", "gamma": "positive", "t": "positive", "target": "positive"}),
    ("classic_euler_step", lambda **k: bounds.classic_euler_step(**k), dict(beta=1.0, gamma=1.0, t=1.0, target=0.1),
     {"beta": "positive", "gamma": "positive", "t": "positive", "target": "positive"}),
    ("scalar_gap", lambda **k: bounds.scalar_gap(**k), dict(lam=1.0, theta0=1.0, eta=0.1, t=1.0),
     {"eta": "positive", "t": "nonnegative"}),
    ("step_for_accuracy", lambda **k: bounds.step_for_accuracy(**k), dict(lam=1.0, theta0=1.0, t=1.0, eps=0.1),
     {"t": "nonnegative", "eps": "positive"}),
    ("balanced_scalar_bound", lambda **k: bounds.balanced_scalar_bound(**k),
     dict(grad_phi_norm=1.0, grad_f_norm=1.0, depth=3),
     {"grad_phi_norm": "nonnegative", "grad_f_norm": "nonnegative", "depth": "count"}),
    ("integral_at", lambda **k: measure.integral_at(**k), dict(times=[0.0, 1.0], values=[1.0, 1.0], at=0.5),
     {"times": "times"}),
]  # fmt: skip
# "negative_integral" must be <= 0: its junk is the nonnegative kind's junk minus the valid -1 and -inf->invalid
VALID_SPECIAL = {("tracking_bound", "negative_integral"): [-1.0]}


def _sweep():
    for fname, call, base, args in SIGNATURES:
        for arg, kind in args.items():
            optional = kind.endswith("?")
            for k, junk in enumerate(JUNK[kind.rstrip("?")]):
                if (optional and junk is None) or junk in VALID_SPECIAL.get((fname, arg), []):
                    continue
                yield pytest.param(fname, call, base, arg, junk, id=f"{fname}-{arg}-{k}")


SWEEP = list(_sweep())


@pytest.mark.parametrize("fname, call, base, arg, junk", SWEEP)
def test_junk_in_any_argument_gives_an_error_naming_it(fname, call, base, arg, junk):
    value, raised, seconds, _ = timed(lambda: call(**(base | {arg: junk})))
    assert raised is not None, f"{fname}({arg}={junk!r}) returned {value!r}"
    assert isinstance(raised, (TypeError, ValueError)), f"{type(raised).__name__}: {raised}"
    assert re.search(rf"\b{arg}\b", str(raised)), f"the message does not name {arg}: {raised}"


@settings(max_examples=40, deadline=None)
@given(
    junk=st.one_of(
        st.text(max_size=5),
        st.none(),
        st.booleans(),
        st.complex_numbers(allow_nan=False),
        st.lists(st.floats()),
        st.floats().filter(lambda x: not (x > 0 and math.isfinite(x))),
    )
)
def test_any_junk_tolerance_is_rejected_by_name(junk):
    for name in ("rtol", "atol"):
        with pytest.raises((TypeError, ValueError), match=name):
            odeint(lambda t, y: -y, ONES2, [0.0, 1.0], **{name: junk})


@settings(max_examples=40, deadline=None)
@given(method=st.sampled_from(["heun", "midpoint", "rk4", "bs23", "dopri5"]), i=st.integers(0, 6),
       delta=st.floats(1e-6, 0.5) | st.floats(-0.5, -1e-6))  # fmt: skip
def test_a_perturbed_weight_breaks_a_named_condition(method, i, delta):
    tab = METHODS[method]
    b = tab.b.copy()
    b[i % len(b)] += delta
    with pytest.raises(ValueError, match=r"not consistent \(order 0\): it fails the order-1 condition sum\(b\) = 1"):
        Tableau("perturbed", tab.A, b, tab.c, tab.order)


# -- the worst cases (items 1-7), each a regression test ------------------------------------
def test_item1_nan_and_tolerance_cases_end_quickly():
    for call, error, match in [
        (lambda: odeint(lambda t, y: y * math.nan, torch.ones(2, dtype=f64), [0, 1]), IntegrationError, "fun"),
        (lambda: odeint(lambda t, y: -y, torch.ones(2, dtype=torch.float16), [0, 1]), ValueError, "rtol"),
        (
            lambda: odeint(lambda t, y: -y, torch.ones(2, dtype=f64), [0, 1], rtol=1e-300, atol=1e-300),
            ValueError,
            "rtol",
        ),
    ]:
        _, raised, seconds, _ = timed(call, 5.0)
        assert isinstance(raised, error) and match in str(raised) and seconds < 5.0
    run, raised, seconds, caught = timed(
        lambda: gradient_flow(lambda th: th.abs().sqrt().sum(), torch.tensor([0.0, 1.0], dtype=f64), [0, 1]), 5.0
    )
    assert raised is None and run.diverged and run.diverged_at == 0.0 and len(run) == 1
    assert "the gradient at theta0 is not finite" in run.message
    assert any(issubclass(w.category, DivergenceWarning) for w in caught)


def test_item2_a_stiff_flow_ends_within_seconds_naming_the_stable_step():
    _, raised, seconds, _ = timed(lambda: gradient_flow(quad(1e6, 1.0), ONES2, [0, 1000.0]), 20.0)
    assert isinstance(raised, StiffnessError) and seconds < 20.0
    assert raised.lam == pytest.approx(1e6, rel=0.05)
    assert raised.stable_step == pytest.approx(METHODS["dopri5"].stability_limit / 1e6, rel=0.05)
    assert "implicit" in str(raised) and "smaller final time" in str(raised)
    assert raised.solution.t[0] == 0.0 and torch.isfinite(raised.solution.y).all()
    # the budget is settable through gradient_flow: a small one ends it at once
    _, raised, seconds, _ = timed(lambda: gradient_flow(quad(1e3, 1.0), ONES2, [0, 100.0], max_steps=50), 10.0)
    assert isinstance(raised, IntegrationError) and "max_steps = 50" in str(raised)


def test_item3_lanczos_does_not_certify_a_wrong_answer():
    e2 = torch.tensor([0.0, 1.0], dtype=f64)
    r = extreme_eigenvalues(quad(1.0, -1.0), torch.zeros(2, dtype=f64), dense=False, v0=e2)
    assert (r.lambda_min, r.lambda_max) == pytest.approx((-1.0, 1.0), abs=1e-12) and r.converged
    d = torch.linspace(-1.0, 10.0, 100, dtype=f64)
    f = quad(*d.tolist())
    top = extreme_eigenvalues(f, torch.zeros(100, dtype=f64))
    for v0 in (top.vector_max, top.vector_min, torch.eye(100, dtype=f64)[40]):  # (nearly) eigenvectors
        r = extreme_eigenvalues(f, torch.zeros(100, dtype=f64), v0=v0)
        assert (r.lambda_min, r.lambda_max) == pytest.approx((-1.0, 10.0), abs=1e-7) and r.converged
    r = extreme_eigenvalues(lambda x: x.abs().sum(), torch.ones(100, dtype=f64))
    assert (r.lambda_min, r.lambda_max, r.converged) == (0.0, 0.0, True)


def test_item4_what_callables_return_is_checked():
    with pytest.raises(ValueError, match=r"fun\(t0, y0\) must return .*no|not broadcast"):
        odeint(lambda t, y: torch.tensor(-1.0, dtype=f64), torch.tensor([1.0, 2.0], dtype=f64), [0, 1])
    numpy_f = lambda th: torch.tensor(th.detach().numpy() @ np.array([1.0, 2.0]))
    for run in (lambda: gradient_descent(numpy_f, ONES2, 0.1, 3), lambda: extreme_eigenvalues(numpy_f, ONES2)):
        with pytest.raises(ValueError, match="not connected to theta's autograd graph"):
            run()
    with pytest.raises(ValueError, match="must return a scalar"):
        gradient_descent(lambda th: torch.outer(th, th), ONES2, 0.1, 3)


def test_item5_degenerate_sizes_give_the_initial_state():
    assert torch.equal(odeint(lambda t, y: -y, ONES2, [0.0]).y, ONES2[None])
    assert torch.equal(gradient_flow(quad(1.0, 2.0), ONES2, gd_time_grid(0.25, 0)).thetas, ONES2[None])
    assert odeint(lambda t, y: -y, torch.ones(0, dtype=f64), [0.0, 1.0]).y.shape == (2, 0)


def test_item6_types_are_checked_before_arithmetic():
    for value in ("1e-6", None):
        with pytest.raises(TypeError, match="rtol must be a positive number"):
            odeint(lambda t, y: -y, ONES2, [0, 1], rtol=value)
    with pytest.raises(TypeError, match="t must be"):
        odeint(lambda t, y: -y, ONES2, ["0", "1"])
    with pytest.raises(TypeError, match="step must be a positive number, got the bool True"):
        gradient_descent(quad(1.0, 2.0), ONES2, True, 3)
    run = gradient_descent(quad(1.0, 2.0), ONES2, np.float32(0.5), torch.tensor(2))
    assert run.step == 0.5 and int(run.iterations[-1]) == 2


def test_item7_structured_inputs_are_validated():
    with pytest.raises(ValueError, match=r"sum\(b\) = 1"):
        Tableau("bad", [[0, 0], [1, 0]], [0.5, 0.6], [0, 1], 1)
    with pytest.raises(ValueError, match="rows of A must sum to c"):
        Tableau("bad", [[0, 0], [1, 0]], [0.5, 0.5], [0, 0.5], 1)
    with pytest.raises(ValueError, match="strictly lower triangular"):
        Tableau("implicit", [[0.5]], [1.0], [0.5], 1)
    with pytest.raises(TypeError, match="A must be a matrix"):
        Tableau("ragged", [[0], [1, 0]], [0.5, 0.5], [0, 1], 1)
    with pytest.raises(ValueError, match="same number of parameters"):
        distance(GD, gradient_descent(quad(1.0), torch.ones(1, dtype=f64), 0.1, 4))
    with pytest.raises(ValueError, match="rtol must be finite"):
        distance(GD, GF, rtol=math.nan)
    with pytest.raises(ValueError, match="targets must have the shape of the model's outputs"):
        obj = Objective(small_net(), X, Y1[:, 0])
        obj.value(obj.theta0())


# -- audit of issue 15 (second round): hangs on non-smooth flows, per-call checks, frozen tableaus --------

_F = torch.float64


@pytest.mark.parametrize(
    "run",
    [
        lambda: odeint(lambda t, y: -torch.sign(y), torch.tensor([1.0, 2.0], dtype=_F), [0, 3]),
        lambda: odeint(
            lambda t, y: -torch.sign(y - 0.5) / (2 * (y - 0.5).abs().sqrt()), torch.ones(1, dtype=_F), [0, 1]
        ),
    ],
)
def test_audit_nonsmooth_rhs_stops_at_once_naming_the_time(run):
    start = time.perf_counter()
    with pytest.raises(IntegrationError, match="not smooth") as info:
        run()
    assert time.perf_counter() - start < 10 and info.value.reason == "nonsmooth"
    assert 0.47 < info.value.t < 1.01  # the kink at t = 1 (sign) or the singular point t = 0.4714 (sqrt)


@pytest.mark.parametrize(
    "f, theta0, t_kink",
    [
        (lambda th: th.abs().sum(), torch.tensor([1.0, 2.0], dtype=_F), 1.0),
        (lambda th: (th - 0.5).abs().sqrt().sum(), torch.ones(1, dtype=_F), (4 / 3) * 0.5**1.5),
    ],
)
def test_audit_gradient_flow_reaching_a_kink_reports_where(f, theta0, t_kink):

    with pytest.raises(IntegrationError, match="gradient flow stopped at t") as info:
        gradient_flow(f, theta0, [0, 3])
    assert info.value.t == pytest.approx(t_kink, abs=1e-3)


def test_audit_smooth_blow_up_is_still_a_blow_up_not_a_kink():
    with pytest.raises(IntegrationError) as info:
        odeint(lambda t, y: y**2, torch.ones(1, dtype=_F), [0.0, 2.0])
    assert info.value.reason == "step_too_small"


@pytest.mark.parametrize("kwargs", [{}, {"method": "euler", "step": 0.25}])
@pytest.mark.parametrize("late", [lambda y: y[:1], lambda y: y.long(), lambda y: None])
def test_audit_fun_is_checked_at_every_call(kwargs, late):
    y0 = torch.tensor([1.0, 2.0], dtype=_F)
    method = kwargs.pop("method", "dopri5")
    with pytest.raises((TypeError, ValueError), match=r"fun\(t, y\) at t = "):
        odeint(lambda t, y: -y if t < 0.5 else late(-y), y0, [0, 1], method, **kwargs)


@pytest.mark.parametrize("bad", [{"rtol": "x"}, {"atol": None}, {"first_step": -1}, {"first_step": 0.1}])
def test_audit_fixed_step_validates_every_argument(bad):
    with pytest.raises((TypeError, ValueError), match=next(iter(bad))):
        odeint(lambda t, y: -y, torch.ones(2, dtype=_F), [0, 1], step=0.5, **bad)


def test_audit_fun_output_requiring_grad_is_detached_and_meta_y0_refused():
    net = nn.Linear(2, 2).double()
    y0 = torch.tensor([1.0, 2.0], dtype=_F)
    sol = odeint(lambda t, y: net(y), y0, [0, 1])
    ref = odeint(lambda t, y: net(y).detach(), y0, [0, 1])
    assert not sol.y.requires_grad and torch.allclose(sol.y, ref.y)
    with pytest.raises(ValueError, match="y0.*meta"):
        odeint(lambda t, y: -y, torch.ones(2, dtype=_F, device="meta"), [0, 1])


@pytest.mark.parametrize("name", sorted(METHODS))
def test_audit_butcher_arrays_are_read_only(name):
    tab = METHODS[name]
    for array in (tab.A, tab.b, tab.c, tab.error, tab.dense):
        if array is not None:
            with pytest.raises(ValueError, match="read-only"):
                array.reshape(-1)[0] = 0.9
    assert tab.b.sum() == pytest.approx(1.0)


def test_audit_lanczos_resolves_a_cluster_at_the_top():
    d = torch.tensor([1.0] * 99 + [1.0 + 1e-9], dtype=_F)
    r = extreme_eigenvalues(lambda th: 0.5 * (d * th * th).sum(), torch.zeros(100, dtype=_F), dense=False)
    assert r.converged and abs(r.lambda_max - (1 + 1e-9)) < 1e-12 and abs(r.lambda_min - 1) < 1e-12


@pytest.mark.parametrize("bad", [{"max_iter": "5"}, {"max_iter": -3}, {"v0": "junk"}])
def test_audit_extreme_eigenvalues_validates_on_the_dense_path(bad):
    with pytest.raises((TypeError, ValueError), match=next(iter(bad))):
        extreme_eigenvalues(lambda th: 0.5 * (th * th).sum(), torch.ones(2, dtype=_F), **bad)


def test_audit_objective_vectors_named():

    obj = Objective(nn.Linear(2, 1).double(), torch.ones(3, 2, dtype=_F), torch.ones(3, 1, dtype=_F))
    theta = torch.ones(3, dtype=_F)
    hvp = obj.hvp_operator(theta)
    for v in (torch.ones(2, dtype=_F), None):
        with pytest.raises((TypeError, ValueError), match="v must"):
            hvp(v)
    for junk in (None, 5):
        with pytest.raises(TypeError, match="tensors must"):
            obj.flatten(junk)
    for junk in (torch.zeros(4, dtype=_F), None):
        with pytest.raises((TypeError, ValueError), match="theta must"):
            obj.unflatten(junk)
    assert torch.equal(obj.flatten(obj.unflatten(torch.arange(3.0, dtype=_F))), torch.arange(3.0, dtype=_F))


def test_audit_distance_needs_increasing_times():

    def traj(times, thetas):
        thetas = torch.tensor(thetas, dtype=_F)
        return Trajectory(torch.tensor(times, dtype=_F), thetas, thetas.sum(1), "gf", 0)

    with pytest.raises(ValueError, match=r"Trajectory times must be strictly increasing.*times\[1\] = 0"):
        traj([1.0, 0.0], [[5.0, 0.0], [0.0, 0.0]])  # refused at construction (audit 2, item 22)
    mutated = traj([0.0, 1.0], [[5.0, 0.0], [0.0, 0.0]])
    mutated.times = torch.tensor([1.0, 0.0], dtype=_F)  # a dataclass may still be changed afterwards
    with pytest.raises(ValueError, match=r"b\.times must be strictly increasing"):
        distance(traj([0.0, 1.0], [[0.0, 0.0], [1.0, 0.0]]), mutated)


# -- the second independent audit (issue 15): items 1-25, 64 (test_fuzz_linear.py) and 67-69 ------------------


def _later(good, bad):
    """An objective that behaves (``good``) at the first gradient, at theta[0] > 0, and not (``bad``) after."""
    obj = as_objective(lambda th: good(th) if th[0] > 0 else bad(th))
    obj.grad(torch.tensor([1.0, 2.0], dtype=_F))
    return obj


_T12 = torch.tensor([-1.0, 2.0], dtype=_F)
_T3 = torch.tensor([1.0, 2.0, 3.0], dtype=_F)
_SQ = lambda th: (th**2).sum()  # noqa: E731

_TR = torch.tensor([0.0, 1.0], dtype=f64)
_Z22, _Z2 = torch.zeros(2, 2, dtype=f64), torch.zeros(2, dtype=f64)
_NAN22 = torch.full((2, 2), math.nan, dtype=f64)
_LS = landscapes.Landscape
_LQ = landscapes.quadratic

AUDIT2 = [
    # odeint: fun's signature (1) and a fun that changes its argument in place (2, 3: silently wrong before)
    ("1-fun-one-argument", lambda: odeint(lambda y: -y, ONES2, [0.0, 1.0]), TypeError,
     r"fun must be a function fun\(t, y\).*<lambda>\(y\)"),
    ("2-fun-neg_-fixed", lambda: odeint(lambda t, y: y.neg_(), ONES2, [0.0, 1.0], "euler", step=0.1), ValueError,
     "fun must not modify its argument y in place"),
    ("3-fun-mul_-adaptive", lambda: odeint(lambda t, y: y.mul_(-1), ONES2, [0.0, 1.0]), ValueError,
     "fun must not modify its argument y"),
    ("3-fun-in-place-later", lambda: odeint(lambda t, y: y.mul_(-1) if t > 0.3 else -y, ONES2, [0.0, 1.0]),
     ValueError, r"fun must not modify .* at t = 0\.[3-9]"),
    ("3-fun-in-place-via-data", lambda: odeint(lambda t, y: (y.data.mul_(-1), -y.clone())[1], ONES2, [0.0, 1.0]),
     ValueError, r"fun must not modify .* at t0 = 0"),
    ("3-fun-in-place-2d", lambda: odeint(lambda t, y: y.add_(0.0), torch.ones(2, 2, dtype=f64), [0.0, 1.0], "rk4",
                                         step=0.5), ValueError, "fun must not modify"),
    # the objective's value and gradient must be finite (4, 5)
    ("4-value-nan", lambda: as_objective(lambda th: _SQ(th) * math.nan).value(ONES2), ValueError,
     r"f\(theta\).*non-finite value nan"),
    ("4-value-and-grad-inf", lambda: as_objective(lambda th: th.sum() / 0).value_and_grad(ONES2), ValueError,
     r"f\(theta\).*non-finite"),
    ("5-grad-sqrt-at-0", lambda: as_objective(lambda th: th.abs().sqrt().sum()).grad(_TR), ValueError,
     r"gradient of f\(theta\) \(<lambda>\) is not finite at theta \(1 of its 2"),
    # what f returns is checked at every call, not only the first (6-9)
    ("6-float-later", lambda: _later(lambda th: th.sum(), lambda th: 1.0).value(_T12), TypeError,
     r"f\(theta\).*must return a scalar torch.Tensor"),
    ("7-vector-later", lambda: _later(_SQ, lambda th: th**2).grad(_T12), ValueError,
     r"f\(theta\).*must return a scalar .*shape \(2,\)"),
    ("8-detached-later", lambda: _later(_SQ, lambda th: _SQ(th).detach()).grad(_T12), ValueError,
     r"f\(theta\).*not connected"),
    ("8-detached-later-hvp", lambda: _later(_SQ, lambda th: _SQ(th).detach()).hvp(_T12, ONES2), ValueError,
     "not connected"),
    ("9-int-later", lambda: _later(_SQ, lambda th: _SQ(th).to(torch.int64)).value(_T12), TypeError,
     r"f\(theta\).*floating-point"),
    # Hessian-vector products: v of theta's length (10, 11); hessian_rows, parameter_groups (12-14)
    ("10-hvp-v-short", lambda: as_objective(_SQ).hvp(_T3, ONES2), ValueError,
     r"v must have length len\(theta\) = 3, got 2"),
    ("11-hvp-operator-v-short", lambda: as_objective(_SQ).hvp_operator(_T3)(torch.ones(1, dtype=f64)), ValueError,
     r"v must have length len\(theta\) = 3, got 1"),
    ("12-rows-negative", lambda: hessian.hessian_rows(_SQ, ONES2, -1, 4), ValueError,
     "rows must be an integer >= 0, got -1"),
    ("12-rows-too-many", lambda: hessian.hessian_rows(_SQ, ONES2, 3, 4), ValueError,
     r"rows must be at most len\(x\) = 2"),
    ("12-rows-float", lambda: hessian.hessian_rows(_SQ, ONES2, 1.5, 4), TypeError, "rows must be an integer"),
    ("12-x-list", lambda: hessian.hessian_rows(_SQ, [1.0, 2.0], 1, 4), TypeError, "x must be a 1-D"),
    ("13-block-zero", lambda: hessian.hessian_rows(_SQ, ONES2, 2, 0), ValueError, "block must be an integer >= 1"),
    ("14-groups-lengths", lambda: hessian.parameter_groups(["a.w", "b.w"], [1]), ValueError, "names and numels must"),
    ("14-groups-name-int", lambda: hessian.parameter_groups(["a.w", 3], [1, 2]), TypeError, r"names\[1\] must be"),
    ("14-groups-numel-negative", lambda: hessian.parameter_groups(["a.w"], [-1]), ValueError, r"numels\[0\] must"),
    ("14-groups-str", lambda: hessian.parameter_groups("a.w", [1]), TypeError, "names must be a sequence"),
    # the test landscapes refuse what is not a tensor of points of the plane (15-19), Landscape its fields (20)
    ("15-quadratic-one-coordinate", lambda: _LQ(torch.ones(1, dtype=f64)), ValueError,
     r"theta must have shape \(\.\.\., 2\)"),
    ("16-quadratic-three-coordinates", lambda: _LQ(_T3), ValueError, r"theta must have shape .*got shape \(3,\)"),
    ("16-saddle-grid-of-triples", lambda: landscapes.saddle(torch.zeros(4, 3, dtype=f64)), ValueError,
     "theta must have shape"),
    ("17-two-well-list", lambda: landscapes.two_well([1.0, 2.0]), TypeError, "theta must be a real tensor"),
    ("18-saddle-none", lambda: landscapes.saddle(None), TypeError, "theta must be a real tensor"),
    ("18-quadratic-bool", lambda: _LQ(torch.ones(2, dtype=torch.bool)), TypeError, "theta must be a real tensor"),
    ("19-flow-three-coordinates", lambda: gradient_flow(_LQ, _T3, [0.0, 1.0]), ValueError,
     r"theta must have shape \(\.\.\., 2\)"),
    ("20-landscape-f-none", lambda: _LS("x", None, (1.0, 2.0), 1.0), TypeError, "f must be callable"),
    ("20-landscape-t-end-negative", lambda: _LS("x", _LQ, (1.0, 2.0), -1.0), ValueError, "t_end must be"),
    ("20-landscape-theta0-triple", lambda: _LS("x", _LQ, (1.0, 2.0, 3.0), 1.0), ValueError, "theta0 must be"),
    ("20-landscape-theta0-nan", lambda: _LS("x", _LQ, (1.0, math.nan), 1.0), ValueError, "theta0 must be"),
    ("20-landscape-theta0-str", lambda: _LS("x", _LQ, "ab", 1.0), TypeError, "theta0 must be"),
    ("20-landscape-name-int", lambda: _LS(3, _LQ, (1.0, 2.0), 1.0), TypeError, "name must be a str"),
    # sizes refused by name before allocating (21, 24, 25), Trajectory's fields (22, 23)
    ("21-gd-steps-huge", lambda: gradient_descent(quad(1.0, 4.0), ONES2, 0.1, 10**9), ValueError, "steps asks for"),
    ("21-gd-records-times-dim", lambda: gradient_descent(quad(*[1.0] * 1000), torch.ones(1000, dtype=f64), 0.1,
                                                         2 * 10**6),
     ValueError, r"steps asks for 2000001 recorded iterates .* of 1000 entries"),
    ("22-trajectory-decreasing", lambda: Trajectory(_TR.flip(0), _Z22, _Z2, "gf", 0), ValueError,
     r"times must be strictly increasing, got times\[1\] = 0 after times\[0\] = 1"),
    ("22-trajectory-repeated", lambda: Trajectory(_Z2, _Z22, _Z2, "gf", 0), ValueError,
     "times must be strictly increasing"),
    ("23-trajectory-nan-thetas", lambda: Trajectory(_TR, _NAN22, _Z2, "gf", 0), ValueError, "thetas must be finite"),
    ("23-trajectory-inf-losses", lambda: Trajectory(_TR, _Z22, _TR / 0, "gf", 0), ValueError, "losses must be finite"),
    ("23-trajectory-nan-times", lambda: Trajectory(_TR * math.nan, _Z22, _Z2, "gf", 0), ValueError,
     "times must be finite"),
    ("24-time-grid-steps-huge", lambda: gd_time_grid(0.1, 10**9), ValueError, "steps asks for"),
    ("25-dense-hessian-huge", lambda: extreme_eigenvalues(as_objective(_SQ), torch.ones(10**5, dtype=f64), dense=True),
     ValueError, "theta asks for a dense 100000 x 100000 Hessian with dense=True"),
    ("25-objective-hessian-huge", lambda: as_objective(_SQ).hessian(torch.ones(10**5, dtype=f64)), ValueError,
     "theta asks for a dense 100000 x 100000 Hessian"),
    # a largest step that underflows to 0.0 is no step (67, 68)
    ("67-step-from-bound-underflow", lambda: bounds.step_from_bound(1, 1, 1, 0.1, -1000.0), ValueError,
     r"no positive step .* underflows to 0\.0 \(negative_integral = -1000"),
    ("67-step-from-bound-huge-constants", lambda: bounds.step_from_bound(1e200, 1e200, 1, 0.1), ValueError,
     "underflows"),
    ("68-classic-step-underflow", lambda: bounds.classic_euler_step(1, 1, 1000, 0.1), ValueError,
     r"underflows to 0\.0 \(t = 1000"),
    ("68-classic-step-underflow-beta", lambda: bounds.classic_euler_step(1000.0, 1.0, 1.0, 0.1), ValueError,
     r"beta = 1000"),
]  # fmt: skip


@pytest.mark.parametrize("case, call, error, match", AUDIT2, ids=[b[0] for b in AUDIT2])
def test_audit2_bad_input_gives_a_clear_error(case, call, error, match):
    test_bad_input_gives_a_clear_error(case, call, error, match)


def test_audit2_valid_input_is_unchanged():
    # odeint: a fun that only reads y (and one that turns on requires_grad, as gradient code does) still runs
    def grad_fun(t, y):
        x = y.detach().requires_grad_(True)  # shares y's version counter: requires_grad_ is no modification
        return -torch.autograd.grad(0.5 * (x**2).sum(), x)[0]

    for fun in (lambda t, y: -y, grad_fun):
        sol = odeint(fun, ONES2, [0.0, 1.0], rtol=1e-10, atol=1e-12)
        assert torch.allclose(sol.y[-1], ONES2 * math.exp(-1), rtol=1e-8)
    sol = odeint(lambda t, y: -y, ONES2, [0.0, 1.0], "euler", step=0.1)
    assert torch.allclose(sol.y[-1], ONES2 * 0.9**10, rtol=1e-12)
    # the landscapes: grids of points and the chapter's values
    assert landscapes.quadratic(torch.zeros(5, 4, 2, dtype=f64)).shape == (5, 4)
    assert float(landscapes.two_well(torch.tensor([1.0, 0.5], dtype=f64))) == 0.0
    start = landscapes.Landscape("q", landscapes.quadratic, (1, 2), 3)
    assert start.theta0 == (1.0, 2.0) and start.t_end == 3.0 and start.start.tolist() == [1.0, 2.0]
    assert landscapes.get_landscape("two-well").start.tolist() == [0.05, 1.2]
    # GD records the same iterates as before; the time grid is k * step exactly
    run = gradient_descent(quad(1.0, 4.0), ONES2, 0.1, 10, record_every=4)
    assert run.iterations.tolist() == [0, 4, 8, 10] and len(run.iterate_losses) == 11
    assert torch.equal(gd_time_grid(0.1, 10, 4), torch.tensor([0, 4, 8, 10], dtype=f64) * 0.1)
    assert torch.equal(gd_time_grid(0.25, 8, 4), torch.tensor([0.0, 1.0, 2.0], dtype=f64))
    # hessian_rows against the known Hessian 2 I; no rows is an empty block
    x = torch.tensor([1.0, 2.0, 3.0], dtype=f64)
    assert torch.equal(hessian.hessian_rows(_SQ, x, 2, 1), 2 * torch.eye(2, 3, dtype=f64))
    assert hessian.hessian_rows(_SQ, x, 0, 4).shape == (0, 3)
    assert hessian.parameter_groups(["a.w", "a.b", "b.w"], [4, 2, 4]) == [(0, 2), (2, 3)]
    # a gradient flow / descent that meets a non-finite gradient still reports divergence (not the new error)
    with pytest.raises(DivergenceError, match="gradient at iterate 0 was not finite"):
        gradient_descent(lambda th: th.abs().sqrt().sum(), torch.tensor([0.0, 1.0], dtype=f64), 0.1, 10,
                         on_divergence="raise")  # fmt: skip
    # the largest steps of the bounds: finite where representable, inf above the float range
    assert bounds.step_from_bound(2, 0.4, 10, 0.05, -2.5) == 2 * 0.05 * math.exp(-2.5) / (2 * 0.4 * 10)
    assert bounds.step_from_bound(1e-200, 1e-200, 1e-10, 1.0) == math.inf
    assert bounds.classic_euler_step(1.0, 1.0, 800.0, 1e300) == pytest.approx(2e300 * math.exp(-800), rel=1e-12)
