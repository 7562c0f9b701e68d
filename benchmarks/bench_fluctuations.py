"""Benchmark: one finite-width fluctuation sample, against a Jacobian peer and the FLOP limit.

Setup of issue 13: a ReLU MLP of width 2048 and depth 3 (NTK parameterization, no
biases, P = 8.41 M) on N = 1000 points of the unit sphere in d = 10, float64.  One
*fluctuation sample* is what :func:`ntkjam.experiments.fluctuations.kernel_fluctuations`
does per network: draw the parameters, the structured empirical NTK K_n (never the
Jacobian), and the distances of K_n to the (cached) analytic K_∞ — Frobenius, operator
norm by Lanczos, diagonal.  The analytic K_∞ is computed once per (N, architecture) and
shared by every seed; its time is reported apart.

Beside it, in the same run:

* **peer** — the textbook empirical NTK ``J Jᵀ`` with ``J = jax.jacrev`` of the network
  output in the parameters (a dense (N, P) Jacobian), at a smaller ``--peer-n`` (its
  Jacobian at N = 1000 would take 67 GB); the structured kernel is timed at the same N
  for the ratio, and the peer's time at N = 1000 is extrapolated: its O(N P) Jacobian
  from the measured time, its 2 N² P product at the measured GEMM rate (a lower bound).
* **physical limit** — the FLOPs of the sample (forward and backward passes 4 N P, the
  Grams ``2 N² Σ_l (n_l + n_{l+1})`` on the blocks on and above the diagonal) divided by
  the float64 GEMM rate measured here on a matmul of the same shape
  (N × 2048) @ (2048 × 2048), the best of many calls before and after the samples.

Timings: the first call (JIT compilation included) is reported separately; then the best
of ``--repeat``.  On a shared machine compare the ratios measured in the same run, not
absolute numbers across runs.  The script prints measurements and never asserts timings.

Usage: ``python benchmarks/bench_fluctuations.py [--quick] [--repeat 3] [--peer-n 16]``.
"""

from __future__ import annotations

import argparse
import time

import jax
import jax.numpy as jnp
import numpy as np
from _device import add_device_option, use_device

import ntkjam  # noqa: F401  (float64)
from ntkjam.data import sphere
from ntkjam.experiments.fluctuations import kernel_fluctuations, network_seed, spectral_norm
from ntkjam.kernels import analytic
from ntkjam.networks import apply, empirical_ntk, init_params, mlp, param_count
from ntkjam.networks.mlp import apply_fn


def best_of(fn, repeat: int) -> tuple[float, float, object]:
    """(first-call time, best of ``repeat`` further calls, last result)."""
    t0 = time.perf_counter()
    out = fn()
    first = time.perf_counter() - t0
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return first, min(times) if times else first, out


def sample_parts(net, X, K_inf, seed: int) -> dict[str, float]:
    """One fluctuation sample, timed part by part (init, kernel, distances)."""
    t0 = time.perf_counter()
    params = init_params(net, network_seed(seed, 0))
    jax.block_until_ready(params)
    t1 = time.perf_counter()
    K = empirical_ntk(net, params, X)
    t2 = time.perf_counter()
    E = K - K_inf
    _ = (np.linalg.norm(E), spectral_norm(E), np.linalg.norm(np.diag(E)))
    t3 = time.perf_counter()
    return {"init": t1 - t0, "kernel": t2 - t1, "norms": t3 - t2, "total": t3 - t0}


def jacobian_peer(net, X):
    """The peer: a function params -> (time of J, time of J Jᵀ, K), dense J by
    ``jax.jacrev`` (compiled once) then J Jᵀ."""
    jac = jax.jit(jax.jacrev(lambda p: apply_fn(net, p, X)))
    return lambda params: jacobian_ntk(jac, params, X)


def jacobian_ntk(jac, params, X) -> tuple[float, float, np.ndarray]:
    t0 = time.perf_counter()
    tree = jax.block_until_ready(jac(params))
    t1 = time.perf_counter()
    J = jnp.concatenate([leaf.reshape(X.shape[0], -1)
                         for leaf in jax.tree_util.tree_leaves(tree)], axis=1)
    K = np.asarray(jax.block_until_ready(J @ J.T))
    return t1 - t0, time.perf_counter() - t1, K


def sample_flops(net, N: int, block: int = 256) -> float:
    """FLOPs of one structured kernel: passes 4 N P, Grams on the upper blocks."""
    nb = -(-N // block)
    upper = nb * (nb + 1) / 2 / nb**2
    grams = sum(2.0 * N * N * (a + b) for a, b in zip(net.fan_ins, net.fan_outs, strict=True))
    return 4.0 * N * param_count(net) + upper * grams


def gemm_rate(N: int, width: int, repeat: int) -> float:
    """Measured float64 GEMM rate (FLOP/s) of an (N, width) @ (width, width) product: the
    best of several calls (on a shared machine the best is the least disturbed)."""
    A = jnp.asarray(np.random.default_rng(0).standard_normal((N, width)))
    B = jnp.asarray(np.random.default_rng(1).standard_normal((width, width)))
    mm = jax.jit(lambda a, b: a @ b)
    _, best, _ = best_of(lambda: jax.block_until_ready(mm(A, B)), max(3 * repeat, 8))
    return 2.0 * N * width * width / best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="width 512, N = 300, peer N = 8: a smoke run in seconds")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--peer-n", type=int, default=16,
                        help="points of the Jacobian peer (its J is peer_n x P floats)")
    add_device_option(parser)
    args = parser.parse_args()
    print(use_device(args.device))
    width, N, d, depth = (512, 300, 10, 3) if args.quick else (2048, 1000, 10, 3)
    n_peer = 8 if args.quick else args.peer_n

    net = mlp(d, width, depth=depth)
    P = param_count(net)
    X = sphere(N, d, seed=0)
    print(f"ntkjam fluctuation-sample benchmark — ReLU MLP depth {depth}, width {width}, "
          f"d = {d}, P = {P:,}, N = {N}, float64; {jax.device_count()} "
          f"{jax.default_backend()} device(s)")

    rate_before = gemm_rate(N, width, args.repeat)
    t_inf, _, K_inf = best_of(lambda: analytic.ntk(X, depth=depth), 0)
    print(f"analytic K_∞ (once per N and architecture, shared by all seeds): {t_inf:.3f} s")

    first = sample_parts(net, X, K_inf, 0)
    parts = [sample_parts(net, X, K_inf, s) for s in range(1, args.repeat + 1)]
    best = min(parts, key=lambda p: p["total"])
    print(f"fluctuation sample, first call (JIT included): {first['total']:.3f} s")
    print(f"fluctuation sample, best of {args.repeat}: {best['total']:.3f} s = init "
          f"{best['init']:.3f} + structured kernel {best['kernel']:.3f} + distances "
          f"{best['norms']:.3f}")
    task = {"width": width, "n": N, "depth": depth, "d": d}
    t0 = time.perf_counter()
    kernel_fluctuations(task, 1)
    t1 = time.perf_counter()
    kernel_fluctuations(task, 2)
    print(f"the registered task kernel_fluctuations (one network): {t1 - t0:.3f} s with K_∞, "
          f"{time.perf_counter() - t1:.3f} s with K_∞ cached (every further seed)")

    flops = sample_flops(net, N)
    rate = max(gemm_rate(N, width, args.repeat), rate_before)
    limit = flops / rate
    print(f"physical limit: {flops:.3g} FLOP / {rate / 1e9:.1f} GFLOP/s (GEMM measured here) "
          f"= {limit:.3f} s; the structured kernel runs at {flops / best['kernel'] / 1e9:.1f} "
          f"GFLOP/s, {best['kernel'] / limit:.2f}x the limit")

    Xp = X[:n_peer]
    params = init_params(net, network_seed(0, 0))
    apply(net, params, Xp)
    _, t_struct, K_struct = best_of(lambda: empirical_ntk(net, params, Xp), args.repeat)
    peer = jacobian_peer(net, Xp)
    peer(params)  # compile
    t_jac, t_prod, K_peer = min((peer(params) for _ in range(args.repeat)),
                                key=lambda r: r[0] + r[1])
    err = np.linalg.norm(K_peer - K_struct) / np.linalg.norm(K_peer)
    print(f"peer jax.jacrev J Jᵀ at N = {n_peer}: J {t_jac:.3f} s + J Jᵀ {t_prod:.3f} s = "
          f"{t_jac + t_prod:.3f} s (J alone {8 * n_peer * P / 2**20:.0f} MiB); structured "
          f"{t_struct:.4f} s: {(t_jac + t_prod) / t_struct:.0f}x faster (relative difference "
          f"{err:.1e})")
    t_peer = t_jac * N / n_peer + 2.0 * N * N * P / rate
    print(f"peer extrapolated to N = {N} (J ∝ N as measured, J Jᵀ at the GEMM rate: a lower "
          f"bound): {t_peer:.1f} s and "
          f"{8 * N * P / 2**30:.0f} GiB for J; structured sample {best['kernel']:.3f} s: "
          f"{t_peer / best['kernel']:.0f}x")


if __name__ == "__main__":
    main()
