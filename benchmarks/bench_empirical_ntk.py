"""Benchmark: structured empirical NTK vs Jacobian contraction, time and peak memory.

Setup of the issue: a ReLU MLP of width 512 and depth 3 (NTK parameterization,
no biases) on d = 10 Gaussian inputs, float64.

* N = 1000: structured path and Jacobian-contraction path in the same run
  (baseline = Jacobian path), and their agreement;
* N = 4000: structured path only (the Jacobian would need 8·N·P bytes = 17 GB);
* N = 4000 at width 2048 (P ≈ 8.4 M, a 270 GB Jacobian): structured path only.

Targets (issue 4): structured ≥ 10× faster than the Jacobian path and < 0.35 s at
N = 1000; N = 4000 at width 2048 in under a minute on 2 cores.

Timings: the first call (JIT compilation included) is reported separately; then
the best of ``--repeats`` calls.  Memory: ``tracemalloc`` does not see XLA's
buffers (they are allocated by C++ outside Python's allocator), so the peak is
the resident-set size (RSS) sampled every 5 ms by a background thread during the
call, minus the RSS just before it.  It includes XLA's temporaries and the
returned (N, N) matrix, and it is a lower bound (a peak shorter than 5 ms can be
missed).  Timings on a shared machine are noisy: compare the ratios measured in
the same run, not absolute numbers across runs.

Peers and limit, in the same run: with ``--peer-python PY`` (a side environment with
neural-tangents 0.6.5, recipe in docs/kernels.md) the same network is timed through
``neural_tangents.empirical_ntk_fn`` with structured derivatives, in a subprocess, at
the same sizes and thread count, and the ratio printed.  The FLOP limit beside each
structured time is ``4 N² Σ_l n_l`` flops (per layer, the Gram of the activations and
the Gram of the backpropagated factors, N × N × n_l multiply-adds each) at the float64
GEMM rate measured at the start of the run with the same threads.

Usage: ``python benchmarks/bench_empirical_ntk.py [--quick] [--skip-jacobian]
[--peer-python PY]``.
The script prints measurements and never asserts timings.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import threading
import time

import numpy as np
import psutil
from _device import add_device_option, use_device
from _renamed import old_spelling

import ntkjam  # noqa: F401  (float64)
from ntkjam.networks import empirical_ntk, init_params, mlp, param_count
from ntkjam.networks.empirical_ntk import DEFAULT_MEMORY_BUDGET

MiB = 2.0**20

#: The peer, run by ``--peer-python``: argv = [N, d, width, depth, repeats]; prints JSON.
PEER = r'''
import json, sys, time
import jax
jax.config.update("jax_enable_x64", True)
import numpy as np
import neural_tangents as nt
from neural_tangents import stax
n, d, width, depth, repeats = (int(v) for v in sys.argv[1:6])
layers = []
for _ in range(depth):
    layers += [stax.Dense(width, W_std=2.0 ** 0.5, b_std=None, parameterization="ntk"),
               stax.Relu()]
layers += [stax.Dense(1, W_std=1.0, b_std=None, parameterization="ntk")]
init_fn, apply_fn, _ = stax.serial(*layers)
X = np.random.default_rng(0).standard_normal((n, d))
_, params = init_fn(jax.random.PRNGKey(0), X.shape)
fn = jax.jit(nt.empirical_ntk_fn(
    apply_fn, trace_axes=(), vmap_axes=0,
    implementation=nt.NtkImplementation.STRUCTURED_DERIVATIVES))
t0 = time.perf_counter(); fn(X, None, params).block_until_ready(); first = time.perf_counter() - t0
best = float("inf")
for _ in range(repeats):
    t0 = time.perf_counter(); fn(X, None, params).block_until_ready()
    best = min(best, time.perf_counter() - t0)
print(json.dumps({"first": first, "best": best, "version": nt.__version__,
                  "jax": jax.__version__}))
'''


def gemm_rate() -> float:
    """Measured float64 GEMM rate (flop/s) with the threads this process uses."""
    a = np.random.default_rng(1).standard_normal((2000, 2000))
    a @ a
    best = min(_timed(lambda: a @ a) for _ in range(5))
    return 2 * 2000**3 / best


def _timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def flop_limit(n: int, width: int, depth: int, rate: float) -> float:
    """Seconds for ``4 N² Σ_l n_l`` flops at ``rate`` (the structured path's floor: two
    N × N × n_l Gram products per layer, 2 flops per multiply-add)."""
    return 4 * n**2 * width * depth / rate


def peer(python: str, n: int, d: int, width: int, depth: int, repeats: int) -> dict | None:
    """Time neural-tangents' structured empirical NTK in ``python``; None when it fails."""
    done = subprocess.run([python, "-c", PEER, str(n), str(d), str(width), str(depth),
                           str(repeats)], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        print(f"  peer N={n} width {width} failed: {done.stderr.strip()[-500:]}")
        return None
    return json.loads(done.stdout.strip().splitlines()[-1])


class PeakRSS:
    """Context manager sampling this process's RSS; ``.peak_delta`` in bytes."""

    def __init__(self, interval: float = 0.005) -> None:
        self.interval = interval
        self._proc = psutil.Process(os.getpid())

    def __enter__(self) -> PeakRSS:
        self.start = self._proc.memory_info().rss
        self.peak = self.start
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self._proc.memory_info().rss)
            time.sleep(self.interval)

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._proc.memory_info().rss)
        self.peak_delta = self.peak - self.start


def measure(fn, repeat: int) -> dict:
    """First-call time, best-of-``repeat`` time and RSS peak of the best-timed calls."""
    t0 = time.perf_counter()
    with PeakRSS() as mem_first:
        result = fn()
    first = time.perf_counter() - t0
    times, peaks = [], []
    for _ in range(repeat):
        with PeakRSS() as mem:
            t0 = time.perf_counter()
            result = fn()
            times.append(time.perf_counter() - t0)
        peaks.append(mem.peak_delta)
    return {
        "first": first,
        "best": min(times) if times else first,
        "peak": max(peaks) if peaks else mem_first.peak_delta,
        "result": result,
    }


def row(label: str, N: int, P: int, m: dict, limit: float | None = None) -> None:
    print(
        f"{label:<28} N={N:>5}  P={P:>9,}  first={m['first']:8.3f} s  "
        f"best={m['best']:8.3f} s  peak RSS +{m['peak'] / MiB:8.1f} MiB"
        + ("" if limit is None else f"  (FLOP limit {limit:.3f} s: {m['best'] / limit:.2f}x)")
    )


def compare(args, n: int, d: int, width: int, depth: int, mine: dict) -> None:
    """The peer's time at the same size, and the ratio (> 1: ntkjam is faster)."""
    if args.peer_python is None:
        return
    other = peer(args.peer_python, n, d, width, depth, max(1, args.repeats))
    if other is not None:
        print(f"  neural-tangents {other['version']} (jax {other['jax']}) structured: "
              f"first={other['first']:.3f} s  best={other['best']:.3f} s  -> ntkjam "
              f"{other['best'] / mine['best']:.2f}x faster")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="smaller sizes (N = 300/1000, widths 256/512) for a smoke run")
    parser.add_argument("--skip-jacobian", action="store_true",
                        help="skip the (slow) Jacobian-contraction baseline")
    parser.add_argument("--peer-python", default=None,
                        help="python of a side environment with neural-tangents 0.6.5")
    parser.add_argument("--repeats", type=int, default=3)
    old_spelling(parser, "--repeat", "--repeats", type=int)
    add_device_option(parser)
    args = parser.parse_args()
    print(use_device(args.device))

    n_small, n_large = (300, 1000) if args.quick else (1000, 4000)
    width, wide = (256, 512) if args.quick else (512, 2048)
    d, depth = 10, 3
    rng = np.random.default_rng(0)
    X_small, X_large = rng.standard_normal((n_small, d)), rng.standard_normal((n_large, d))
    print(f"ntkjam empirical NTK benchmark — ReLU MLP depth {depth}, d = {d}, float64, "
          f"{psutil.cpu_count()} CPU(s), XLA_FLAGS={os.environ.get('XLA_FLAGS', '')!r}; "
          "timings are noisy on a shared machine")
    rate = gemm_rate()
    print(f"float64 GEMM rate here: {rate / 1e9:.1f} GFLOP/s (sets the FLOP limits)")

    net = mlp(d, width, depth=depth)
    params = init_params(net, 0)
    P = param_count(net)

    m_struct = measure(lambda: empirical_ntk(net, params, X_small), args.repeats)
    row(f"structured   width {width}", n_small, P, m_struct,
        flop_limit(n_small, width, depth, rate))
    compare(args, n_small, d, width, depth, m_struct)

    if not args.skip_jacobian:
        # Warm up the chunk-shaped compilation on one chunk, so that "best" is compute only.
        rows = max(1, DEFAULT_MEMORY_BUDGET // 2 // (8 * P))
        empirical_ntk(net, params, X_small[:rows], method="jacobian")
        m_jac = measure(lambda: empirical_ntk(net, params, X_small, method="jacobian"), 0)
        row(f"jacobian     width {width}", n_small, P, m_jac)
        err = np.linalg.norm(m_jac["result"] - m_struct["result"]) / np.linalg.norm(
            m_jac["result"]
        )
        print(f"  speed-up structured vs Jacobian at N = {n_small}: "
              f"{m_jac['best'] / m_struct['best']:.1f}x   (relative difference {err:.1e})")
        print(f"  a full Jacobian would take {8 * n_small * P / 2**30:.2f} GiB; the chunked "
              f"path holds 2 chunks of {rows} rows ({2 * rows * P * 8 / MiB:.0f} MiB)")

    m_large = measure(lambda: empirical_ntk(net, params, X_large), args.repeats)
    row(f"structured   width {width}", n_large, P, m_large,
        flop_limit(n_large, width, depth, rate))
    compare(args, n_large, d, width, depth, m_large)
    print(f"  N ratio {n_large // n_small}x -> time ratio "
          f"{m_large['best'] / m_struct['best']:.1f}x (N² scaling predicts "
          f"{(n_large / n_small) ** 2:.0f}x)")

    net_w = mlp(d, wide, depth=depth)
    params_w = init_params(net_w, 0)
    P_w = param_count(net_w)
    m_wide = measure(lambda: empirical_ntk(net_w, params_w, X_large), max(1, args.repeats - 2))
    row(f"structured   width {wide}", n_large, P_w, m_wide,
        flop_limit(n_large, wide, depth, rate))
    compare(args, n_large, d, wide, depth, m_wide)
    print(f"  its Jacobian would take {8 * n_large * P_w / 2**30:,.0f} GiB; the output K "
          f"alone is {8 * n_large**2 / MiB:.0f} MiB")

    print("\nsummary")
    print(f"  structured N={n_small} width {width}: {m_struct['best']:.3f} s (target < 0.35 s)")
    if not args.skip_jacobian:
        print(f"  speed-up vs Jacobian contraction: {m_jac['best'] / m_struct['best']:.1f}x "
              "(target >= 10x)")
    print(f"  structured N={n_large} width {wide}: {m_wide['best']:.2f} s, first call "
          f"{m_wide['first']:.2f} s (target < 60 s)")


if __name__ == "__main__":
    main()
