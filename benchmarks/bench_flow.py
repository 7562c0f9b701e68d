"""Benchmark: adaptive function-space gradient flow vs fixed-step explicit Euler.

Quadratic hinge (κ = 1), N = 2000 training points, P = 1000 Gaussian random
features J (N×P, entries N(0, 1/P)), random ±1 labels, f₀ = 0, η = 1: φ = N/P = 2,
Cover's transition.  Both integrators run until ‖K∇L‖₂ < 1e-10 (∇L = ℓ'(f)/N) and
the wall-clock times are printed with their ratio.  The baseline is explicit Euler
in the coordinates w of the reachable set, w ← w − h η Jᵀ ∇L, at the largest step
that is stable whatever the active set, h = 1.9 / (η λ_max(K)/N).

Both runs use ``--blas-threads`` BLAS threads (default 1).  Timings are wall-clock on
whatever machine runs this (noisy on a shared CPU); nothing is asserted.  The outcome
depends on the instance (how slow the final relaxation is), so three seeds run by
default.  Usage: ``python benchmarks/bench_flow.py [--n 2000 --P 1000 --seeds 0 1 2]``.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import scipy.sparse.linalg
from _device import add_device_option, use_device
from _renamed import old_spelling
from threadpoolctl import threadpool_limits

from ntkjam.dynamics import Controller, StoppingRules, gradient_flow
from ntkjam.losses import get_loss


def euler_baseline(J, f0, y, loss, *, lr, h, grad_tol, max_steps):
    """Fixed-step explicit Euler in w-space; returns (steps, ‖K∇L‖, loss, reached)."""
    n = f0.size
    w = np.zeros(J.shape[1])
    for step in range(1, max_steps + 1):
        f = f0 + J @ w
        gw = lr * (J.T @ (loss.grad(f, y) / n))
        kg = np.linalg.norm(J @ gw) / lr
        if kg < grad_tol:
            return step - 1, kg, float(np.mean(loss.value(f, y))), True
        w -= h * gw
    f = f0 + J @ w
    kg = np.linalg.norm(J @ (J.T @ (loss.grad(f, y) / n)))
    return max_steps, kg, float(np.mean(loss.value(f, y))), False


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--P", type=int, default=1000)
    old_spelling(parser, "--p", "--P", type=int)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--grad-tol", type=float, default=1e-10)
    parser.add_argument("--euler-max-steps", type=int, default=400_000)
    parser.add_argument("--blas-threads", type=int, default=1,
                        help="BLAS threads for both runs (default 1: on a loaded, shared CPU "
                             "multi-threaded LAPACK can be 10-100x slower)")
    parser.add_argument("--rtol", type=float, default=None,
                        help="controller rtol (default: the library default)")
    add_device_option(parser)
    args = parser.parse_args()
    print(use_device(args.device))
    rows = []
    with threadpool_limits(limits=args.blas_threads):
        for seed in args.seeds:
            rows.append(run(args, seed))
    print("\nseed  adaptive [s] (steps)   Euler [s] (steps)   Euler/adaptive")
    for seed, ta, na, te, ne, reached in rows:
        flag = "" if reached else "  (Euler did not finish: lower bound)"
        print(f"{seed:4d}  {ta:10.2f} ({na:6d})  {te:10.2f} ({ne:7d})  {te / ta:10.1f}x{flag}")
    total_a = sum(r[1] for r in rows)
    total_e = sum(r[3] for r in rows)
    print(f"total {total_a:10.2f}           {total_e:10.2f}            {total_e / total_a:10.1f}x")


def run(args: argparse.Namespace, seed: int) -> tuple:

    rng = np.random.default_rng(seed)
    J = rng.standard_normal((args.n, args.P)) / np.sqrt(args.P)
    y = np.where(rng.random(args.n) < 0.5, -1.0, 1.0)
    f0 = np.zeros(args.n)
    loss = get_loss("quadratic_hinge", margin=1.0)
    lr = 1.0
    print(f"quadratic hinge, N = {args.n}, P = {args.P} (φ = {args.n / args.P:g}), "
          f"target ‖K∇L‖ < {args.grad_tol:g}, seed {seed}")

    t0 = time.perf_counter()
    ctrl = Controller() if args.rtol is None else Controller(rtol=args.rtol)
    res = gradient_flow(f0, y, loss, features=J, lr=lr, record_outputs=False, controller=ctrl,
                        stopping=StoppingRules(sat=False, grad_tol=args.grad_tol))
    t_adaptive = time.perf_counter() - t0
    print(f"adaptive flow : {t_adaptive:8.2f} s  {res.n_steps} steps, {res.n_rejected} rejected, "
          f"{res.n_refreshes} Hessian eigendecompositions; {res.message}")

    lam_max = scipy.sparse.linalg.svds(J, k=1, return_singular_vectors=False)[0] ** 2
    h = 1.9 / (lr * lam_max / args.n)
    t0 = time.perf_counter()
    steps, kg, lval, reached = euler_baseline(J, f0, y, loss, lr=lr, h=h,
                                              grad_tol=args.grad_tol,
                                              max_steps=args.euler_max_steps)
    t_euler = time.perf_counter() - t0
    what = "reached" if reached else f"NOT reached (budget of {steps} steps)"
    print(f"Euler baseline: {t_euler:8.2f} s  {steps} steps of h = {h:.4g}, flow time "
          f"{steps * h:.6g}; target {what}: ‖K∇L‖ = {kg:.3e}, loss = {lval:.6e}")
    print(f"loss difference |L_adaptive − L_euler| = {abs(res.loss[-1] - lval):.3e}")
    bound = "" if reached else " (lower bound: the baseline did not finish)"
    print(f"speed-up (Euler time / adaptive time) = {t_euler / t_adaptive:.1f}x{bound}")
    return seed, t_adaptive, res.n_steps, t_euler, steps, reached


if __name__ == "__main__":
    main()
