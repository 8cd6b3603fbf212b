"""Adaptive ODE solvers on a real gradient flow, side by side in one run.

Problem: the gradient flow θ' = −∇f(θ) of a small tanh MLP (least squares on synthetic data),
integrated to t = 100 and compared at 21 output times with a SciPy DOP853 (rtol = 1e-12) oracle.
Peers: SciPy's RK45 and DOP853 (bridged through NumPy), torchdiffeq's dopri5. All solvers call the
same gradient function; `count` is the number of gradient evaluations.

    python -m benchmarks.ode_solvers [--quick]

prints a human summary on stderr and one JSON object (design.md §5) as the last line of stdout.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np
import torch
from scipy.integrate import solve_ivp

from gfteach import odeint


def mlp_gradient_flow(hidden=16, inputs=10, outputs=3, samples=64, seed=0):
    """Return (−∇f as a torch RHS, θ0) for f(θ) = ½·mean‖tanh(X W1ᵀ + b1) W2ᵀ + b2 − Y‖²."""
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(samples, inputs, generator=g, dtype=torch.float64)
    Y = torch.sin(X @ torch.randn(inputs, outputs, generator=g, dtype=torch.float64))
    shapes = [(hidden, inputs), (hidden,), (outputs, hidden), (outputs,)]
    sizes = [int(np.prod(s)) for s in shapes]
    theta0 = torch.cat(
        [torch.randn(n, generator=g, dtype=torch.float64) / np.sqrt(s[-1]) for n, s in zip(sizes, shapes)]
    )

    def loss(theta):
        W1, b1, W2, b2 = (p.view(s) for p, s in zip(torch.split(theta, sizes), shapes))
        return 0.5 * ((torch.tanh(X @ W1.T + b1) @ W2.T + b2 - Y) ** 2).sum(1).mean()

    def minus_grad(t, theta):
        with torch.enable_grad():
            theta = theta.detach().requires_grad_(True)
            return -torch.autograd.grad(loss(theta), theta)[0]

    return minus_grad, theta0


def best_time(fn, repeats):
    best, out = float("inf"), None
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - start)
    return best, out


def solvers(rhs, theta0, t_eval, rtol, atol):
    """name -> callable returning (θ at t_eval as an array [T, n], number of RHS evaluations)."""
    np_rhs = lambda t, y: rhs(t, torch.from_numpy(y)).numpy()
    t_span = (float(t_eval[0]), float(t_eval[-1]))

    def gfteach_dopri5():
        sol = odeint(rhs, theta0, t_eval, "dopri5", rtol=rtol, atol=atol)
        return sol.y.numpy(), sol.nfev

    def scipy(method):
        def run():
            sol = solve_ivp(np_rhs, t_span, theta0.numpy(), method, t_eval=t_eval, rtol=rtol, atol=atol)
            return sol.y.T, sol.nfev

        return run

    def torchdiffeq_dopri5():
        import torchdiffeq

        calls = [0]

        def counted(t, y):
            calls[0] += 1
            return rhs(t, y)

        y = torchdiffeq.odeint(counted, theta0, torch.from_numpy(t_eval), rtol=rtol, atol=atol, method="dopri5")
        return y.numpy(), calls[0]

    return {
        "gfteach-dopri5": gfteach_dopri5,
        "scipy-RK45": scipy("RK45"),
        "scipy-DOP853": scipy("DOP853"),
        "torchdiffeq-dopri5": torchdiffeq_dopri5,
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="shorter horizon, fewer repeats")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)  # the problem is small; threads only add noise
    t_end, repeats = (20.0, 2) if args.quick else (100.0, 5)
    rhs, theta0 = mlp_gradient_flow()
    t_eval = np.linspace(0.0, t_end, 21)
    np_rhs = lambda t, y: rhs(t, torch.from_numpy(y)).numpy()
    oracle = solve_ivp(np_rhs, (0, t_end), theta0.numpy(), "DOP853", t_eval=t_eval, rtol=1e-12, atol=1e-14).y.T
    scale = np.abs(oracle).max()
    results = []
    for rtol in (1e-6, 1e-9):
        for method, fn in solvers(rhs, theta0, t_eval, rtol, rtol * 1e-3).items():
            seconds, (y, count) = best_time(fn, repeats)
            error = float(np.abs(y - oracle).max() / scale)
            row = dict(task="gradient_flow", setting=f"rtol={rtol:.0e}", method=method, count=int(count))
            results.append(dict(row, error=error, seconds=round(seconds, 5)))
    for setting in sorted({r["setting"] for r in results}):
        rows = {r["method"]: r for r in results if r["setting"] == setting}
        ours, rk45, tde = rows["gfteach-dopri5"], rows["scipy-RK45"], rows["torchdiffeq-dopri5"]
        print(
            f"{setting}: nfev {ours['count']} vs RK45 {rk45['count']} ({ours['count'] / rk45['count']:.3f}x); "
            f"error {ours['error']:.2e} vs RK45 {rk45['error']:.2e} ({ours['error'] / rk45['error']:.2f}x); "
            f"time vs RK45 {ours['seconds'] / rk45['seconds']:.2f}x, "
            f"vs torchdiffeq {ours['seconds'] / tde['seconds']:.2f}x",
            file=sys.stderr,
        )
    problem = {"params": int(theta0.numel()), "t_end": t_end, "outputs": len(t_eval), "error": "max-abs / max|θ|"}
    print(json.dumps({"benchmark": "ode_solvers", "problem": problem, "results": results}))


if __name__ == "__main__":
    main()
