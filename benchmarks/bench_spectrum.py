"""Benchmark: spectral densities without the N × N Gram.

1. Features: block SLQ of ``J Jᵀ`` from ``J (Jᵀ V)`` at N = 20000, P = 10000 (10 probes,
   80 steps), against the exact route (eigenvalues of the P × P Gram ``Jᵀ J``), which
   is run at a smaller size by default (``--exact-large`` runs it at full size).
   The issue's target is < 60 s for the SLQ on 2 cores.
2. Analytic NTK, matrix-free: ``K V`` with ``K = ntkjam.kernels.analytic.ntk`` evaluated
   in row strips ``X[i:i+B]`` against ``X[i:]`` by
   :func:`ntkjam.spectrum.slq.kernel_operator` (upper triangle, each strip used twice)
   at N = 50000, where the Gram alone would need 20 GB.  It reports the cost per kernel
   entry against the strip height B, the time of one product, then runs as many
   Lanczos steps (at most ``--steps``; ``--ntk-steps`` fixes them) as fit in
   ``--ntk-budget`` seconds, with ``--ntk-probes`` probes per block, and reports
   the time per step, the projection to 80 steps and the peak memory; a small-N run
   checks the accuracy against the dense spectrum.

Times are wall-clock and depend on the load of the machine; ratios are measured in
the same run.  Nothing is asserted.

Usage: ``python benchmarks/bench_spectrum.py [--n 20000 --P 10000 --ntk-n 50000
--ntk-budget 600 --exact-large] [--part features|ntk]``
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import time

import numpy as np
from _device import add_device_option, use_device
from _renamed import old_spelling

import ntkjam  # noqa: F401  (float64 in JAX)
from ntkjam.data import sphere
from ntkjam.kernels import analytic
from ntkjam.spectrum.compare import ks_distance
from ntkjam.spectrum.measured import feature_eigenvalues, gram_eigenvalues
from ntkjam.spectrum.slq import default_strip_rows, feature_operator, kernel_operator, slq


def peak_rss_gb() -> float:
    """Peak resident memory of this process so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def timed(fn, *args, **kwargs):
    """Run ``fn``; return its output and the wall-clock seconds (CPU seconds logged)."""
    start, cpu = time.perf_counter(), time.process_time()
    out = fn(*args, **kwargs)
    wall = time.perf_counter() - start
    used = time.process_time() - cpu
    # On a shared machine wall time overstates the cost; CPU time / cores bounds the
    # wall time on an idle machine with that many cores.
    print(f"    [{getattr(fn, '__name__', 'call')}: wall {wall:.1f} s, CPU {used:.1f} s "
          f"(= {used / 2:.1f} s on 2 idle cores)]")
    return out, wall


def bench_features(n: int, p: int, probes: int, steps: int, exact_n: int, exact_p: int) -> None:
    print(f"== features: Gaussian J ({n} x {p}), block SLQ b={probes}, m={steps}")
    J = np.random.default_rng(0).standard_normal((n, p)) / np.sqrt(p)
    result, t_slq = timed(slq, feature_operator(J), n_probes=probes, n_steps=steps, seed=0)
    print(f"  SLQ             {t_slq:8.1f} s   atom {result.atom:.4f} "
          f"(exact {max(0.0, 1 - p / n):.4f})   peak RSS {peak_rss_gb():.2f} GB")
    if (exact_n, exact_p) == (n, p):
        exact, t_exact = timed(feature_eigenvalues, J)
        small, t_small = result, t_slq
    else:
        J_small = J[:exact_n, :exact_p] * np.sqrt(p / exact_p)
        exact, t_exact = timed(feature_eigenvalues, J_small)
        small, t_small = timed(
            slq, feature_operator(J_small), n_probes=probes, n_steps=steps, seed=0
        )
    print(f"  at N={exact_n}, P={exact_p}: exact (P x P Gram) {t_exact:.1f} s, "
          f"SLQ {t_small:.1f} s, KS(SLQ, exact) = {ks_distance(exact, small):.4f}")
    if (exact_n, exact_p) == (n, p):
        print(f"  ratio exact / SLQ at full size: {t_exact / t_slq:.2f}")
    else:
        # Exact route scales like N P² + P³, SLQ like N P b m: extrapolate both.
        scale_exact = (n * p**2 + p**3) / (exact_n * exact_p**2 + exact_p**3)
        print(f"  exact route extrapolated to N={n}, P={p}: ~{t_exact * scale_exact:.0f} s "
              f"(ratio to SLQ ~{t_exact * scale_exact / t_slq:.1f}); --exact-large measures it")


def strip_cost(X: np.ndarray, rows: int) -> tuple[float, float]:
    """ns per entry (wall, CPU) of ``analytic.ntk(X[:rows], X)``: one strip at full N."""
    start, cpu = time.perf_counter(), time.process_time()
    K = analytic.ntk(X[:rows], X)
    wall, used = time.perf_counter() - start, time.process_time() - cpu
    return wall / K.size * 1e9, used / K.size * 1e9


def bench_ntk(
    n: int, d: int, probes: int, budget: float, check_n: int, max_steps: int = 80,
    steps: int | None = None,
) -> None:
    """The matrix-free NTK part; ``steps`` fixes the Lanczos steps (else: fit ``budget``)."""
    print(f"== analytic ReLU NTK (ntkjam.kernels.analytic.ntk), matrix-free, N={n}, d={d}: "
          f"Gram would need {n * n * 8 / 1e9:.0f} GB")
    Xc = sphere(check_n, d, seed=1, radius="sqrt_d")
    dense = gram_eigenvalues(analytic.ntk(Xc))
    check_steps = 40 if steps is None else steps  # with fixed steps: the same b and m
    res_small, t_small = timed(
        slq, kernel_operator(analytic.ntk, Xc), n_probes=probes, n_steps=check_steps, seed=0
    )
    print(f"  accuracy at N={check_n} (b={probes}, m={check_steps}): KS(SLQ, dense) = "
          f"{ks_distance(dense, res_small):.4f} in {t_small:.1f} s")
    X = sphere(n, d, seed=0, radius="sqrt_d")
    default = default_strip_rows(n)
    op = kernel_operator(analytic.ntk, X)
    V = np.random.default_rng(0).standard_normal((n, probes))
    rss_before = peak_rss_gb()
    _, t_prod = timed(op.matmat, V)
    entries = n * (n + default) / 2  # upper block triangle, diagonal strips included
    print(f"  one block product K V (N={n}, b={probes}, B={default}): {t_prod:.1f} s, "
          f"{t_prod / entries * 1e9:.1f} ns per kernel entry evaluated, "
          f"peak RSS {peak_rss_gb():.2f} GB (before the product: {rss_before:.2f} GB)")
    if steps is None:
        steps = max(1, min(max_steps, int((budget - t_prod) // t_prod)))
    result, t_run = timed(slq, op, n_probes=probes, n_steps=steps, seed=0)
    print(f"  SLQ with m={steps} steps: {t_run:.1f} s ({t_run / steps:.1f} s/step), "
          f"nodes {result.nodes.size}, atom {result.atom:.3f}, peak RSS {peak_rss_gb():.2f} GB")
    print(f"  projected 80-step density: ~{80 * t_run / steps / 60:.0f} min on this machine, "
          f"Lanczos basis {80 * probes * n * 8 / 1e9:.2f} GB")
    # Last, so that the taller strips do not inflate the peak memory reported above.
    print(f"  cost per kernel entry of one strip analytic.ntk(X[:B], X) (default B = {default};"
          " the old default was 2**23 // N):")
    for rows in sorted({2**23 // n, 128, 256, 512, 1024, default}):
        wall, cpu = strip_cost(X, rows)
        print(f"    B = {rows:5d}: {wall:6.1f} ns/entry wall, {cpu:6.1f} ns/entry CPU")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=20000)
    parser.add_argument("--P", type=int, default=10000)
    old_spelling(parser, "--p", "--P", type=int)
    parser.add_argument("--probes", type=int, default=10)
    parser.add_argument("--steps", type=int, default=80)
    parser.add_argument("--exact-large", action="store_true",
                        help="run the exact P x P route at full size (slow)")
    parser.add_argument("--ntk-n", type=int, default=50000)
    parser.add_argument("--ntk-d", type=int, default=10)
    parser.add_argument("--ntk-budget", type=float, default=600.0,
                        help="seconds for the N = 50000 Lanczos run (steps chosen to fit)")
    parser.add_argument("--ntk-probes", type=int, default=10,
                        help="block size b of the NTK part (one kernel pass per step serves "
                             "all b probes)")
    parser.add_argument("--ntk-steps", type=int, default=None,
                        help="Lanczos steps of the NTK part (default: as many as fit "
                             "--ntk-budget, at most --steps); the accuracy check uses them too")
    parser.add_argument("--part", choices=["all", "features", "ntk"], default="all",
                        help="'all' runs each part in its own process (separate peak memory)")
    add_device_option(parser)
    args = parser.parse_args()
    print(use_device(args.device))
    if args.part == "all":
        rest = [a for a in sys.argv[1:] if not a.startswith("--part")]
        for part in ("features", "ntk"):
            subprocess.run([sys.executable, __file__, "--part", part, *rest], check=True)
        return
    if args.part == "features":
        exact_n, exact_p = (args.n, args.P) if args.exact_large else (args.n // 4, args.P // 4)
        bench_features(args.n, args.P, args.probes, args.steps, exact_n, exact_p)
    else:
        bench_ntk(
            args.ntk_n, args.ntk_d, args.ntk_probes, args.ntk_budget, check_n=3000,
            max_steps=args.steps, steps=args.ntk_steps,
        )


if __name__ == "__main__":
    main()
