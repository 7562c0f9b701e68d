"""Benchmark: analytic depth-3 NTK Gram (ReLU or erf), d = 10, float64, N = 1000 … 8000.

For each N, in a fresh subprocess (so that its peak memory is its own), times
``ntkjam.kernels.ntk`` (best of ``--repeats``, after a warm-up call at the same N that
compiles everything) and reads the peak resident memory (``VmHWM``, reset after the
warm-up through ``/proc/self/clear_refs``) against the resident size before, and reports:

* seconds (wall, and this process's CPU time: on a shared machine the steadier of the
  two), the peak memory added by the call against the ``N × N`` output (8 N² bytes),
  and the largest error on the diagonal against its closed form (ReLU, σ_w² = 2:
  ``NTK(x, x) = 2 q₀ (L+1)``);
* the *limit* of the brief of issue 15, measured on this machine in the same run: per
  entry and layer one ``arctan2`` (the fastest of NumPy's, XLA's and ntkjam's
  polynomial one) and ``--passes`` passes of 8 bytes at the bandwidth of a large NumPy
  copy, over the full ``N²`` Gram: ``N² L (t_atan2 + passes · 8 B / bandwidth)``;
* with ``--peer-python PATH`` (a Python with neural-tangents 0.6.5, see
  docs/kernels.md), neural-tangents' jitted ``kernel_fn`` on the same inputs, in its own
  subprocess, with its time, memory and the ratio;
* with ``--old-tree DIR`` (a source tree of an earlier ntkjam, e.g. ``git archive``
  of a commit, unpacked), that version timed the same way.

Threads: ``--threads 1`` (the default) runs every process on one thread
(``XLA_FLAGS=--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1`` and
``OMP_NUM_THREADS=1``, for ntkjam and neural-tangents alike); ``--threads 0`` leaves
the libraries' defaults (all cores).

Run: ``.venv/bin/python benchmarks/bench_kernels.py [--n 1000 2000 4000 8000]
[--activation relu] [--peer-python /tmp/ntenv/bin/python]``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import time

from _device import add_device_option, use_device
from _renamed import old_spelling

DEPTH = 3
D_IN = 10

#: The worker run in each subprocess: ``argv = [which, n, activation, repeats, depth, d,
#: threads]``.  It is
#: plain code (no ntkjam import for neural-tangents), so any Python can run it.
WORKER = r'''
import json, sys, time
import numpy as np

def status(key):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024.0
    return float("nan")

which, n, activation, repeats, depth, d = sys.argv[1], int(sys.argv[2]), sys.argv[3], \
    int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
X = np.random.default_rng(0).standard_normal((n, d))
if which == "ntkjam":
    import ntkjam
    import ntkjam.kernels.analytic as analytic
    from ntkjam.kernels import ntk
    if hasattr(analytic, "_threads") and sys.argv[7] == "1":
        analytic._threads = lambda: 1  # an earlier version's own thread pool
    run = lambda X: ntk(X, depth=depth, activation=activation)
else:
    import jax
    jax.config.update("jax_enable_x64", True)
    from neural_tangents import stax
    act = {"relu": stax.Relu, "erf": stax.Erf}[activation]
    layers = [stax.Dense(512, W_std=2 ** 0.5, parameterization="ntk"), act()] * depth
    _, _, kernel_fn = stax.serial(*layers, stax.Dense(1, W_std=2 ** 0.5,
                                                      parameterization="ntk"))
    compiled = jax.jit(lambda X: kernel_fn(X, X, "ntk")).lower(X).compile()  # per N
    run = lambda X: np.asarray(compiled(X))
K = run(X)  # warm-up: every compilation of this N
q0 = np.sum(X * X, axis=1) / d
diag = float("nan")
if activation == "relu":  # σ_w² = 2, σ_b = 0: NTK(x, x) = 2 q₀ (L + 1)
    diag = float(np.max(np.abs(np.diag(K) / (2.0 * q0 * (depth + 1)) - 1.0)))
del K
with open("/proc/self/clear_refs", "w") as f:
    f.write("5")  # reset the peak (VmHWM) to the current resident size
base = status("VmRSS")
best = cpu = float("inf")
for _ in range(repeats):
    start, start_cpu = time.perf_counter(), time.process_time()
    K = run(X)
    best = min(best, time.perf_counter() - start)
    cpu = min(cpu, time.process_time() - start_cpu)
    del K  # one Gram alive at a time
where = sys.modules["ntkjam" if which == "ntkjam" else "neural_tangents"].__file__
print(json.dumps({"seconds": best, "cpu": cpu, "peak_mib": status("VmHWM"), "base_mib": base,
                  "diag_err": diag, "module": where}))
'''


def thread_env(threads: int, pythonpath: str | None = None) -> dict[str, str]:
    env = dict(os.environ)
    if threads == 1:
        env["XLA_FLAGS"] = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
        for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
            env[var] = "1"
    if pythonpath is not None:
        env["PYTHONPATH"] = pythonpath
    return env


def run_worker(python: str, which: str, n: int, args, pythonpath: str | None = None):
    cmd = [python, "-c", WORKER, which, str(n), args.activation, str(args.repeats),
           str(DEPTH), str(D_IN), str(args.threads)]
    # ``python -c`` puts the working directory first on sys.path: run an old tree from it
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=pythonpath,
                          env=thread_env(args.threads, pythonpath), check=False)
    if done.returncode != 0:
        print(f"  {which} N={n} failed:\n{done.stderr[-2000:]}", file=sys.stderr)
        return None
    return json.loads(done.stdout.strip().splitlines()[-1])


def measure_limit(threads: int) -> dict[str, float]:
    """Bandwidth of a large NumPy copy and arctan2 throughput, in this process."""
    os.environ.update({k: v for k, v in thread_env(threads).items()
                       if k in ("XLA_FLAGS", "OMP_NUM_THREADS")})
    import jax
    import numpy as np

    import ntkjam  # noqa: F401  (x64)
    from ntkjam.kernels.elementary import arctan2

    def best(fn, repeats=7):  # CPU time of this process: steadier on a shared machine
        jax.block_until_ready(fn())
        out = math.inf
        for _ in range(repeats):
            start = time.process_time()
            jax.block_until_ready(fn())
            out = min(out, time.process_time() - start)
        return out

    rng = np.random.default_rng(0)
    big = rng.standard_normal(2**25)  # 256 MiB
    dst = np.empty_like(big)
    copy = best(lambda: np.copyto(dst, big))
    m = 2**20
    y, x = rng.standard_normal(m), rng.standard_normal(m)
    yj, xj = jax.numpy.asarray(y), jax.numpy.asarray(x)
    xla, ours = jax.jit(jax.numpy.arctan2), jax.jit(arctan2)
    return {
        "bandwidth": 2 * big.nbytes / copy,  # read + write
        "atan2_numpy": best(lambda: np.arctan2(y, x)) / m,
        "atan2_xla": best(lambda: xla(yj, xj)) / m,
        "atan2_ntkjam": best(lambda: ours(yj, xj)) / m,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, nargs="+", default=[1000, 2000, 4000, 8000],
                        help="numbers of points N")
    old_spelling(parser, "--sizes", "--n", type=int, nargs="+")
    parser.add_argument("--activation", choices=["relu", "erf"], default="relu")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, choices=[0, 1], default=1,
                        help="1: one thread everywhere; 0: the libraries' defaults")
    parser.add_argument("--passes", type=float, default=4.0,
                        help="memory passes per entry and layer in the limit")
    parser.add_argument("--peer-python", help="a Python with neural-tangents 0.6.5")
    parser.add_argument("--old-tree", help="source tree of an earlier ntkjam to time too")
    add_device_option(parser)
    args = parser.parse_args()
    print(use_device(args.device))
    lim = measure_limit(args.threads)
    atan2 = min(lim["atan2_numpy"], lim["atan2_xla"], lim["atan2_ntkjam"])
    per_entry_layer = atan2 + args.passes * 8 / lim["bandwidth"]
    print(f"depth-{DEPTH} {args.activation} NTK, d = {D_IN}, float64, best of {args.repeats}, "
          f"threads: {'1' if args.threads == 1 else 'default'}")
    print(f"machine: copy bandwidth {lim['bandwidth'] / 1e9:.1f} GB/s; arctan2 ns/entry: "
          f"NumPy {lim['atan2_numpy'] * 1e9:.1f}, XLA {lim['atan2_xla'] * 1e9:.1f}, "
          f"ntkjam {lim['atan2_ntkjam'] * 1e9:.1f}; limit = N² L ({atan2 * 1e9:.1f} ns + "
          f"{args.passes:g} × 8 B / bandwidth) = {per_entry_layer * 1e9:.2f} ns per entry-layer")
    print(f"{'N':>6} {'who':>8} {'wall s':>8} {'cpu s':>7} {'limit s':>8} {'cpu/lim':>7} "
          f"{'peak MiB':>8} {'+MiB':>6} {'/Gram':>6} {'diag err':>8} {'wall ×':>7} {'cpu ×':>6}")
    for n in args.n:
        limit = n * n * DEPTH * per_entry_layer
        gram_mib = 8 * n * n / 2**20
        rows = [("ntkjam", run_worker(sys.executable, "ntkjam", n, args))]
        if args.old_tree:
            rows.append(("old", run_worker(sys.executable, "ntkjam", n, args, args.old_tree)))
        if args.peer_python:
            rows.append(("nt 0.6.5", run_worker(args.peer_python, "nt", n, args)))
        ours = rows[0][1]
        if args.old_tree and rows[1][1] is not None:
            assert rows[1][1]["module"].startswith(os.path.abspath(args.old_tree)), rows[1][1]
        for who, r in rows:
            if r is None:
                continue
            added = r["peak_mib"] - r["base_mib"]
            wall = cpu = ""
            if ours is not None:
                wall = f"{r['seconds'] / ours['seconds']:.2f}"
                cpu = f"{r['cpu'] / ours['cpu']:.2f}"
            print(f"{n:>6} {who:>8} {r['seconds']:>8.3f} {r['cpu']:>7.3f} {limit:>8.3f} "
                  f"{r['cpu'] / limit:>7.2f} {r['peak_mib']:>8.0f} {added:>6.0f} "
                  f"{added / gram_mib:>6.2f} {r['diag_err']:>8.1e} {wall:>7} {cpu:>6}")


if __name__ == "__main__":
    main()
