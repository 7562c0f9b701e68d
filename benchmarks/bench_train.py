"""Cost per step of ``ntkjam.networks.train``: the compiled loop against the host loop.

Both loops take the same gradient-descent steps (tested in
``tests/test_networks_training.py``); the host loop (``compiled=False``) is the Python
loop of one jitted step at a time that ``train`` used before the loops were unified.
Measured in the same run, on one-hidden-layer ReLU networks, f64, quadratic hinge,
budget-only stopping (the rules are still evaluated every step), records at
10 per decade.  The compilation is paid once by a warm-up run and not counted.

Run:  ``python benchmarks/bench_train.py [--threads 1] [--steps 20000]``
"""

from __future__ import annotations

import argparse
import os
import time


def _parse_args() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=1, help="CPU threads (XLA and BLAS)")
    ap.add_argument("--steps", type=int, default=20_000, help="steps of the compiled loop")
    ap.add_argument("--host-steps", type=int, default=1_000, help="steps of the host loop")
    args = ap.parse_args()
    return args


ARGS = _parse_args()
# Thread counts must be fixed before JAX starts.
os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen="
                      f"{'true' if ARGS.threads > 1 else 'false'} "
                      f"intra_op_parallelism_threads={ARGS.threads}")
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(var, str(ARGS.threads))

import jax  # noqa: E402

import ntkjam  # noqa: E402, F401  (float64)
from ntkjam.data import random_labels, sphere  # noqa: E402
from ntkjam.networks import GD, Budget, init_params, mlp, train  # noqa: E402

#: (label, d, width, N): the trained diagram's size, and P ≈ 10⁴ parameters.
CASES = [
    ("trained-diagram size: d=5, width 12 (P=72), N=100", 5, 12, 100),
    ("d=10, width 1000 (P=1.1e4), N=100", 10, 1000, 100),
    ("d=10, width 1000 (P=1.1e4), N=1000", 10, 1000, 1000),
]


def _per_step(net, params, X, y, steps: int, compiled: bool) -> float:
    kw = dict(optimizer=GD(0.1), stop=(Budget(max_steps=steps),), compiled=compiled,
              kernel_times=[], records_per_decade=10)
    train(net, params, X, y, **kw)  # warm-up: compiles (the rules are static arguments)
    start = time.perf_counter()
    res = train(net, params, X, y, **kw)
    seconds = time.perf_counter() - start
    assert res.steps == steps
    return 1e6 * seconds / steps


def main() -> None:
    dev = jax.devices()[0]
    print(f"device: {dev.platform} ({dev.device_kind}); threads: {ARGS.threads}; "
          f"jax {jax.__version__}")
    print(f"{'case':<55} {'compiled µs/step':>17} {'host µs/step':>13} {'ratio':>7}")
    for label, d, width, n in CASES:
        net = mlp(d, [width])
        params = init_params(net, 0)
        X, y = sphere(n, d, seed=1), random_labels(n, seed=2)
        fast = _per_step(net, params, X, y, ARGS.steps, True)
        slow = _per_step(net, params, X, y, ARGS.host_steps, False)
        # A floor: forward + backward ≈ 3 passes of 2·N·P flops.
        flops = 6.0 * n * (d + 1) * width
        print(f"{label:<55} {fast:17.2f} {slow:13.1f} {slow / fast:7.1f}   "
              f"(6NP = {flops:.2g} flop/step)")


if __name__ == "__main__":
    main()
