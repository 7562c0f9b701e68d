"""Benchmark: analytic depth-3 ReLU NTK Gram, N = 1000, 2000, 4000, d = 10, float64.

Prints seconds and N²/second for ``ntkjam.kernels.ntk`` and, as the baseline measured
in the same run, a textbook implementation of the same recursion (full N×N arrays,
``arccos`` of the clipped correlation, both halves of the symmetric Gram), with the
speed-up and the baseline's error on the diagonal (the textbook form loses half the
digits there; ntkjam is exact to rounding).

Run: ``.venv/bin/python benchmarks/bench_kernels.py [--n 1000 2000 4000]`` (the values of N).
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np
from _renamed import old_spelling

from ntkjam.kernels import ntk

DEPTH = 3
D_IN = 10


def textbook_relu_ntk(X: np.ndarray, depth: int) -> np.ndarray:
    """The usual arccos recursion, σ_w² = 2, σ_b = 0, computed on the full matrix."""
    d = X.shape[1]
    sigma = 2.0 * (X @ X.T) / d
    theta_ntk = sigma.copy()
    for _ in range(depth):
        diag = np.sqrt(np.diag(sigma))
        norm = np.outer(diag, diag)
        cos = np.clip(sigma / norm, -1.0, 1.0)
        angle = np.arccos(cos)
        sigma_dot = 2.0 * (np.pi - angle) / (2.0 * np.pi)
        sigma = 2.0 * norm / (2.0 * np.pi) * (np.sin(angle) + (np.pi - angle) * cos)
        theta_ntk = sigma + sigma_dot * theta_ntk
    return theta_ntk


def best_of(fn, repeats: int) -> tuple[float, np.ndarray]:
    best, out = math.inf, None
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - start)
    return best, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, nargs="+", default=[1000, 2000, 4000],
                        help="numbers of points N")
    old_spelling(parser, "--sizes", "--n", type=int, nargs="+")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    ntk(rng.standard_normal((8, D_IN)), depth=DEPTH)  # warm-up (imports, thread pool)
    print(f"depth-{DEPTH} ReLU NTK, d = {D_IN}, float64 (best of {args.repeats})")
    header = (
        f"{'N':>6} {'ntkjam s':>9} {'N²/s':>10} {'textbook s':>11} {'speed-up':>9} "
        f"{'diag err ntkjam':>16} {'diag err textbook':>18}"
    )
    print(header)
    for n in args.n:
        X = rng.standard_normal((n, D_IN))
        q0 = np.sum(X * X, axis=1) / D_IN
        exact_diag = 2.0 * q0 * (DEPTH + 1)
        t_ours, K = best_of(lambda X=X: ntk(X, depth=DEPTH), args.repeats)
        t_base, K_base = best_of(lambda X=X: textbook_relu_ntk(X, DEPTH), args.repeats)
        err_ours = np.max(np.abs(np.diag(K) / exact_diag - 1.0))
        err_base = np.max(np.abs(np.diag(K_base) / exact_diag - 1.0))
        print(
            f"{n:>6} {t_ours:>9.3f} {n * n / t_ours:>10.3g} {t_base:>11.3f} "
            f"{t_base / t_ours:>8.1f}x {err_ours:>16.2e} {err_base:>18.2e}"
        )


if __name__ == "__main__":
    main()
