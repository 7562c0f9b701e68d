"""Cost per step of ``ntkjam.networks.train``: the compiled loop, the host loop, the limit.

Per case (one-hidden-layer ReLU network, f64, quadratic hinge, GD, budget-only stopping —
the rules are still evaluated every step —, records at 10 per decade):

* ``compiled`` — ``train(..., compiled=True)``: the steps between records in one
  ``lax.while_loop`` (:mod:`ntkjam.networks.loop`); median over ``--repeats`` runs after
  a warm-up, so compilation is not counted; ``compile`` is the warm-up's extra time;
* ``host`` — ``compiled=False``: the Python loop of one jitted step at a time that
  ``train`` used before the loops were unified (the same steps, tested);
* ``fori`` — a hand-written ``lax.fori_loop`` of ``θ ← θ − lr ∇L`` (``jax.grad``, no
  rules, no records): what JAX itself takes for the arithmetic of a step;
* ``limit`` — flops per step (4·N·P: two matmul passes forward and backward through the
  first layer and the readout) divided by the measured rate of a 1000³ f64 matmul on the
  same device and threads: the physical floor.

Times per step are the CPU time of this process (all its threads), which a shared
machine's other jobs barely change; the compiled loop's wall time is printed beside it.
The cost of a ``train`` call without its steps (a one-step run: records, K_0 and K_T,
checks) is subtracted from both loops.

Run:  ``python benchmarks/bench_train.py [--threads 1] [--steps 20000] [--device cpu]``
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

from _device import add_device_option, use_device


def _parse_args() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=1, help="CPU threads (XLA and BLAS)")
    ap.add_argument("--steps", type=int, default=20_000,
                    help="steps of the compiled loop at N <= 100 (a tenth above)")
    ap.add_argument("--host-steps", type=int, default=1_000, help="steps of the host loop")
    ap.add_argument("--repeats", type=int, default=3, help="timed runs per loop (median)")
    add_device_option(ap)
    return ap.parse_args()


ARGS = _parse_args()
# Thread counts must be fixed before JAX starts.
os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen="
                      f"{'true' if ARGS.threads > 1 else 'false'} "
                      f"intra_op_parallelism_threads={ARGS.threads}")
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(var, str(ARGS.threads))
DEVICE_LINE = use_device(ARGS.device)

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402

import ntkjam  # noqa: E402, F401  (float64)
from ntkjam.data import random_labels, sphere  # noqa: E402
from ntkjam.losses import get_loss  # noqa: E402
from ntkjam.networks import GD, Budget, init_params, mlp, train  # noqa: E402
from ntkjam.networks.mlp import apply_fn  # noqa: E402

#: (label, d, width, N): the trained diagram's size, and P ≈ 10⁴ parameters.
CASES = [
    ("d=5, width 12 (P=72), N=100", 5, 12, 100),
    ("d=10, width 1000 (P=1.1e4), N=10", 10, 1000, 10),
    ("d=10, width 1000 (P=1.1e4), N=100", 10, 1000, 100),
    ("d=10, width 1000 (P=1.1e4), N=1000", 10, 1000, 1000),
]
LR = 0.1


def _timed(fn, repeats: int) -> tuple[float, float, float]:
    """(first call's wall time, median wall time, median CPU time of ``repeats`` more
    calls), in seconds.  The CPU time of this process (all its threads) is what a step
    costs; on a shared machine the wall time also counts the other processes' turns."""
    start = time.perf_counter()
    fn()
    first = time.perf_counter() - start
    wall, cpu = [], []
    for _ in range(repeats):
        start, start_cpu = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return first, statistics.median(wall), statistics.median(cpu)


def _train(net, params, X, y, steps: int, compiled: bool):
    kw = dict(optimizer=GD(LR), stop=(Budget(max_steps=steps),), compiled=compiled,
              kernel_times=[], records_per_decade=10)

    def run():
        res = train(net, params, X, y, **kw)
        assert res.steps == steps
    return run


def _fori(net, params, X, y, steps: int):
    """θ ← θ − lr ∇L by ``jax.grad`` in one ``fori_loop``: the arithmetic alone."""
    loss = get_loss("quadratic_hinge", margin=1.0)
    Xj, yj = jnp.asarray(X), jnp.asarray(y)
    f_ref = apply_fn(net, params, Xj)

    def objective(p):
        return jnp.mean(loss.value(apply_fn(net, p, Xj) - f_ref, yj))

    @jax.jit
    def many(p):
        def body(_, q):
            g = jax.grad(objective)(q)
            return jax.tree_util.tree_map(lambda a, b: a - LR * b, q, g)
        return jax.lax.fori_loop(0, steps, body, p)

    return lambda: jax.block_until_ready(many(params))


def matmul_rate() -> float:
    """f64 GFLOP/s of a 1000 × 1000 matmul on the device (median of 5 after a warm-up)."""
    a = jax.random.normal(jax.random.PRNGKey(0), (1000, 1000), dtype=jnp.float64)
    mm = jax.jit(lambda m: m @ m)
    _, _, seconds = _timed(lambda: jax.block_until_ready(mm(a)), 5)
    return 2e9 / seconds / 1e9


def main() -> None:
    dev = jax.devices()[0]
    print(f"{DEVICE_LINE}; threads: {ARGS.threads}; jax {jax.__version__}; "
          f"load average {os.getloadavg()[0]:.1f}")
    rate = matmul_rate()
    print(f"f64 matmul 1000^3: {rate:.1f} GFLOP/s of CPU time ({dev.platform}); "
          "µs/step below are CPU time (wall time of the compiled loop beside it)")
    print(f"{'case':<36} {'compiled':>9} {'(wall)':>8} {'compile':>8} {'host':>8} "
          f"{'fori':>8} {'limit':>8} {'host/':>6} {'comp/':>6}")
    print(f"{'':<36} {'µs/step':>9} {'':>8} {'s':>8} {'µs/step':>8} {'µs/step':>8} "
          f"{'µs/step':>8} {'comp':>6} {'limit':>6}")
    for label, d, width, n in CASES:
        net = mlp(d, [width])
        params = init_params(net, 0)
        X, y = sphere(n, d, seed=1), random_labels(n, seed=2)
        steps = ARGS.steps if n <= 100 else max(ARGS.steps // 10, 1)
        first, wall, fast = _timed(_train(net, params, X, y, steps, True), ARGS.repeats)
        # The cost of a call without its steps (records, K_0 and K_T, checks), subtracted.
        _, wall1, fast1 = _timed(_train(net, params, X, y, 1, True), ARGS.repeats)
        *_, slow = _timed(_train(net, params, X, y, ARGS.host_steps, False), ARGS.repeats)
        *_, raw = _timed(_fori(net, params, X, y, steps), ARGS.repeats)
        per = 1e6 / steps
        limit = 1e6 * 4.0 * n * (d + 1) * width / (rate * 1e9)
        fast_us = 1e6 * (fast - fast1) / (steps - 1)
        slow_us = 1e6 * (slow - fast1) / ARGS.host_steps
        print(f"{label:<36} {fast_us:9.2f} {1e6 * (wall - wall1) / (steps - 1):8.2f} "
              f"{first - wall:8.2f} "
              f"{slow_us:8.1f} {raw * per:8.2f} {limit:8.2f} {slow_us / fast_us:6.1f} "
              f"{fast_us / limit:6.1f}")


if __name__ == "__main__":
    main()
