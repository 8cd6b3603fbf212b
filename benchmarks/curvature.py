"""Curvature tools side by side: HVP cost, Lanczos against ARPACK, dense Hessian against torch.func.

Run ``python -m benchmarks.curvature`` (or ``--quick``). Two small MLPs (tanh, ReLU) are trained by
a few hundred GD steps on synthetic teacher data made here; at the point reached:

* ``hvp``: one Hessian-vector product on the reused gradient graph (what Lanczos does per step),
  one product that builds its own graph, and one plain gradient, for scale;
* ``lambda_max`` / ``lambda_min``: :func:`gfteach.extreme_eigenvalues` against SciPy's ``eigsh``
  (ARPACK) on the same HVP operator, counting products; ``eigsh`` runs at its default tolerance
  (machine precision) and at the accuracy the task asks for;
* ``dense_hessian``: :meth:`Objective.hessian` against :func:`torch.func.hessian`.

Eigenvalue errors are relative to an in-run oracle: ``numpy.linalg.eigvalsh`` of the dense Hessian
when it is computed, otherwise ``eigsh`` with a large subspace at machine precision.
Seconds are the best of several repeats, the methods of a task interleaved. The JSON object of
design.md §5 is the last line on stdout; a summary of the ratios goes to stderr.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F
from scipy.sparse.linalg import LinearOperator, eigsh
from torch import nn

from gfteach.curvature import extreme_eigenvalues
from gfteach.flow import gradient_descent
from gfteach.objective import Objective

NETWORKS = {"small": ((8, 16, 16, 1), nn.Tanh), "large": ((16, 48, 40, 4), nn.ReLU)}
TOL_MAX, TOL_MIN, TARGET_MIN = 1e-10, 1e-8, 1e-6


def mlp(sizes, act, seed):
    torch.manual_seed(seed)
    layers = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers += [nn.Linear(a, b)] + ([act()] if i < len(sizes) - 2 else [])
    return nn.Sequential(*layers).to(torch.float64)


def trained_problem(sizes, act, n_samples, gd_steps, step):
    """A student MLP after ``gd_steps`` of GD on targets from a random tanh teacher plus noise."""
    generator = torch.Generator().manual_seed(1)
    X = torch.randn(n_samples, sizes[0], generator=generator, dtype=torch.float64)
    with torch.no_grad():
        Y = mlp(sizes, nn.Tanh, seed=2)(X) + 0.1 * torch.randn(n_samples, sizes[-1], generator=generator,
                                                                 dtype=torch.float64)  # fmt: skip
    obj = Objective(mlp(sizes, act, seed=3), X, Y)
    run = gradient_descent(obj, obj.theta0(), step, gd_steps, record_every=gd_steps)
    return obj, run.theta_final


def side_by_side(methods: dict, repeats: int) -> tuple[dict, dict]:
    """Best wall-clock seconds of each callable (interleaved in every repeat) and its last output."""
    best, output = {name: float("inf") for name in methods}, {}
    for _ in range(repeats):
        for name, fn in methods.items():
            start = time.perf_counter()
            output[name] = fn()
            best[name] = min(best[name], time.perf_counter() - start)
    return best, output


def row(task, params, method, count, error, seconds):
    return {"task": task, "setting": f"params={params}", "method": method, "count": int(count),
            "error": float(f"{error:.3g}"), "seconds": float(f"{seconds:.3g}")}  # fmt: skip


def hvp_task(obj, theta, H, repeats, number=20):
    n = obj.n_params
    v = torch.randn(n, generator=torch.Generator().manual_seed(4), dtype=torch.float64)
    product = obj.hvp_operator(theta)
    exact = H @ v if H is not None else _func_hvp(obj, theta, v)
    grad_exact = _module_gradient(obj, theta)
    methods = {
        "gfteach-hvp": lambda: [product(v) for _ in range(number)],
        "gfteach-hvp-fresh": lambda: [obj.hvp(theta, v) for _ in range(number)],
        "gradient": lambda: [obj.grad(theta) for _ in range(number)],
    }
    seconds, _ = side_by_side(methods, repeats)
    errors = {
        "gfteach-hvp": _relative(product(v), exact),
        "gfteach-hvp-fresh": _relative(obj.hvp(theta, v), exact),
        "gradient": _relative(obj.grad(theta), grad_exact),
    }
    return [row("hvp", n, m, 1, errors[m], seconds[m] / number) for m in methods]


def _relative(x, y) -> float:
    return float((x - y).norm() / y.norm())


def _func_hvp(obj, theta, v):
    return torch.func.jvp(torch.func.jacrev(obj._total), (theta,), (v,))[1]


def _module_gradient(obj, theta):
    obj.load(theta)
    obj.model.zero_grad()
    F.mse_loss(obj.model(obj.inputs), obj.targets).backward()
    return torch.cat([p.grad.reshape(-1) for p in obj.model.parameters()])


def counted_eigsh(obj, theta, which, tol, ncv=None):
    """ARPACK on the gfteach HVP operator; returns (eigenvalue, number of products)."""
    product, calls = obj.hvp_operator(theta), [0]

    def matvec(x):
        calls[0] += 1
        return product(torch.from_numpy(np.ascontiguousarray(x, dtype=np.float64).reshape(-1))).numpy()

    n = obj.n_params
    op = LinearOperator((n, n), matvec=matvec, dtype=np.float64)
    v0 = np.random.default_rng(5).standard_normal(n)
    value = eigsh(op, k=1, which=which, tol=tol, v0=v0, ncv=ncv, return_eigenvectors=False)[0]
    return float(value), calls[0]


def eigenvalue_tasks(obj, theta, oracle, repeats):
    n, rows = obj.n_params, []
    for task, end, which, tol, target in (("lambda_max", "max", "LA", TOL_MAX, TOL_MAX),
                                          ("lambda_min", "min", "SA", TOL_MIN, TARGET_MIN)):  # fmt: skip
        exact = oracle[1] if end == "max" else oracle[0]
        methods = {
            "gfteach-lanczos": lambda end=end, tol=tol: _lanczos(obj, theta, end, tol),
            f"eigsh-{which}": lambda which=which: counted_eigsh(obj, theta, which, 0.0),
            f"eigsh-{which}-tol{target:.0e}": lambda which=which, t=target: counted_eigsh(obj, theta, which, t),
        }
        seconds, output = side_by_side(methods, repeats)
        for method, (value, count) in output.items():
            rows.append(row(task, n, method, count, abs(value - exact) / abs(exact), seconds[method]))
    return rows


def _lanczos(obj, theta, end, tol):
    result = extreme_eigenvalues(obj, theta, which=end, tol=tol, dense=False)
    return (result.lambda_max if end == "max" else result.lambda_min), result.n_hvp


def dense_task(obj, theta, repeats):
    def f(t):
        return F.mse_loss(torch.func.functional_call(obj.model, obj.unflatten(t), (obj.inputs,)), obj.targets)

    methods = {
        "gfteach-hessian": lambda: obj.hessian(theta),
        "torch.func-hessian": lambda: torch.func.hessian(f)(theta),
    }
    seconds, out = side_by_side(methods, repeats)
    error = float((out["gfteach-hessian"] - out["torch.func-hessian"]).abs().max())
    n = obj.n_params
    rows = [row("dense_hessian", n, m, n, error if m.startswith("gfteach") else 0.0, seconds[m]) for m in methods]
    return rows, out["torch.func-hessian"]  # the oracle for the other tasks: an independent implementation


def run(quick: bool) -> dict:
    n_samples, gd_steps, step = (256, 100, 0.05) if quick else (512, 300, 0.05)
    repeats = 3 if quick else 5
    problem = {"samples": n_samples, "gd_steps": gd_steps, "step": step, "torch": torch.__version__,
               "threads": torch.get_num_threads(), "networks": {}}  # fmt: skip
    results = []
    for name, (sizes, act) in NETWORKS.items():
        obj, theta = trained_problem(sizes, act, n_samples, gd_steps, step)
        problem["networks"][name] = {"params": obj.n_params, "sizes": list(sizes), "activation": act.__name__}
        H = None
        if name == "small" or not quick:
            dense_rows, H = dense_task(obj, theta, repeats if name == "small" else 2)  # H from torch.func
            oracle = np.linalg.eigvalsh(H.numpy())[[0, -1]]
        else:
            oracle = [counted_eigsh(obj, theta, w, 0.0, ncv=80)[0] for w in ("SA", "LA")]
            dense_rows = []
        results += hvp_task(obj, theta, H, repeats)
        results += eigenvalue_tasks(obj, theta, oracle, repeats)
        results += dense_rows
    return {"benchmark": "curvature", "problem": problem, "results": results}


def summary(report: dict) -> str:
    lines, rows = [], report["results"]
    by = {(r["task"], r["setting"], r["method"]): r for r in rows}
    for setting in sorted({r["setting"] for r in rows}, key=lambda s: int(s.split("=")[1])):

        def get(task, method, setting=setting):
            return by.get((task, setting, method))

        lines.append(f"{setting}:")
        hvp, fresh, grad = get("hvp", "gfteach-hvp"), get("hvp", "gfteach-hvp-fresh"), get("hvp", "gradient")
        lines.append(f"  hvp / gradient seconds: {hvp['seconds'] / grad['seconds']:.2f} (target <= 1.6); "
                     f"fresh hvp / gradient: {fresh['seconds'] / grad['seconds']:.2f}")  # fmt: skip
        for task, which, limit, ratio in (("lambda_max", "LA", TOL_MAX, 1.0), ("lambda_min", "SA", TARGET_MIN, 0.2)):
            ours, peer = get(task, "gfteach-lanczos"), get(task, "eigsh-" + which)
            matched = get(task, f"eigsh-{which}-tol{limit:.0e}")
            lines.append(f"  {task}: rel. error {ours['error']:.1e} (target <= {limit:.0e}); HVPs {ours['count']} vs "
                         f"eigsh {peer['count']} (default tol) = {ours['count'] / peer['count']:.2f}, vs "
                         f"{matched['count']} (tol {limit:.0e}) = {ours['count'] / matched['count']:.2f} "
                         f"(target <= {ratio})")  # fmt: skip
        ours, peer = get("dense_hessian", "gfteach-hessian"), get("dense_hessian", "torch.func-hessian")
        if ours:
            lines.append(f"  dense_hessian seconds ratio: {ours['seconds'] / peer['seconds']:.2f} (target <= 1.0); "
                         f"max |dH| = {ours['error']:.1e} (target <= 1e-12)")  # fmt: skip
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="fewer samples and repeats; no dense Hessian of the large MLP"
    )
    parser.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (default: left alone)")
    args = parser.parse_args(argv)
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    report = run(args.quick)
    print(summary(report), file=sys.stderr)
    print(json.dumps(report))


if __name__ == "__main__":
    main()
