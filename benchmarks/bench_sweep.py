"""Benchmark of the sweep engine: parallel speed-up and per-task overhead.

1. Throughput of CPU-bound tasks of ~1 s (a pure-Python loop: no BLAS threads, no GIL
   release) run in-process (``workers=1``) and on a 2-worker Dask cluster.  The
   speed-up is measured on a cluster started beforehand (``scheduler=ADDRESS``) so that
   it compares execution, and again end to end (cluster start-up included).  The worker
   utilisation (time inside tasks / (2 x wall time)) does not depend on how busy the
   machine is; 2 x utilisation is the speed-up the engine gives on free cores.
   Target: speed-up >= 1.8 on 2 free cores.
2. The engine's own overhead per task for tiny tasks: wall time of the sweep minus the
   time spent inside the experiment, divided by the number of tasks, in-process
   (without and with a small array per task) and on Dask.  Target: < 20 ms per task.

Run: ``PYTHONPATH=. python benchmarks/bench_sweep.py [--tasks 16] [--seconds 1.0]
[--tiny 300]``.  Prints measurements only; asserts nothing.  Timings on a shared
machine are noisy: the speed-up is bounded by the cores actually free.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
MODULE = "bench_sweep"


def busy(params: dict, seed: int) -> dict:
    """CPU-bound pure-Python loop of ``iterations`` steps."""
    acc = 0
    for i in range(int(params["iterations"])):
        acc = (acc + i * i) % 1000003
    return {"acc": acc}


def noop(params: dict, seed: int) -> dict:
    """The cheapest task: one scalar."""
    return {"value": seed % 7}


def tiny_with_array(params: dict, seed: int) -> dict:
    """A tiny task returning a 100-element array (exercises the .npz writer)."""
    return {"value": seed % 7, "arrays": {"v": np.full(100, float(seed % 7))}}


def _calibrate(seconds: float) -> int:
    """Iterations of :func:`busy` that take about ``seconds`` on this machine now."""
    n = 200_000
    while True:
        start = time.perf_counter()
        busy({"iterations": n}, 0)
        elapsed = time.perf_counter() - start
        if elapsed > 0.2:
            return int(n * seconds / elapsed)
        n *= 2


def _spec(experiment: str, n_tasks: int, output: Path, params: dict):
    from ntkjam.sweep import parse_spec

    return parse_spec(
        {
            "experiment": f"{MODULE}:{experiment}",
            "params": params,
            "grid": {"i": list(range(n_tasks))},
            "output": str(output),
        }
    )


def _timed_run(spec, **kwargs) -> tuple[float, float]:
    """(wall seconds of the sweep, seconds spent inside the experiment)."""
    from ntkjam.sweep import load, run

    start = time.perf_counter()
    summary = run(spec, **kwargs)
    wall = time.perf_counter() - start
    df = load(summary.directory)
    if summary.done != len(df):
        raise RuntimeError(f"benchmark tasks failed: {summary}")
    return wall, float(df.wall_time.sum())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=16, help="CPU-bound tasks (default 16)")
    parser.add_argument("--seconds", type=float, default=1.0, help="seconds per task (1.0)")
    parser.add_argument("--tiny", type=int, default=300, help="tiny tasks (default 300)")
    args = parser.parse_args()

    # Dask workers import this module by name.
    os.environ["PYTHONPATH"] = os.pathsep.join(
        [str(HERE), str(HERE.parent), os.environ.get("PYTHONPATH", "")]
    )
    sys.path[:0] = [str(HERE), str(HERE.parent)]
    from distributed import LocalCluster

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    load1 = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"bench_sweep: {cores} usable cores, 1-min load average {load1:.2f} before start")
    iterations = _calibrate(args.seconds)

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        params = {"iterations": iterations}
        # -- 1. speed-up ------------------------------------------------------------
        t1, inside1 = _timed_run(_spec("busy", args.tasks, root / "busy1", params), workers=1)
        with LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
            host="127.0.0.1",
        ) as cluster:
            # warm the workers (imports) on a throwaway sweep
            _timed_run(_spec("noop", 4, root / "warm", {}), scheduler=cluster.scheduler_address)
            t2, inside2 = _timed_run(
                _spec("busy", args.tasks, root / "busy2", params),
                scheduler=cluster.scheduler_address,
            )
            # -- 2b. tiny tasks through Dask -------------------------------------------
            td, inside_d = _timed_run(
                _spec("noop", args.tiny, root / "tiny_dask", {}),
                scheduler=cluster.scheduler_address,
            )
        t2e, _ = _timed_run(_spec("busy", args.tasks, root / "busy2e", params), workers=2)

        # -- 2. tiny tasks in-process -------------------------------------------------
        tl, inside_l = _timed_run(_spec("noop", args.tiny, root / "tiny", {}), workers=1)
        ta, inside_a = _timed_run(
            _spec("tiny_with_array", args.tiny, root / "tiny_arr", {}), workers=1
        )

    per_task = inside1 / args.tasks
    print(f"\n1. {args.tasks} CPU-bound tasks of {per_task:.2f} s each (measured in-process)")
    print(f"   1 worker (in-process)            : {t1:7.2f} s")
    print(f"   2 workers (cluster already up)   : {t2:7.2f} s   speed-up {t1 / t2:.2f}  "
          f"(target >= 1.8)")
    print(f"   2 workers (end to end, start-up) : {t2e:7.2f} s   speed-up {t1 / t2e:.2f}")
    print(f"   mean task time 1 worker {inside1 / args.tasks:.2f} s, 2 workers "
          f"{inside2 / args.tasks:.2f} s (slower tasks = cores not free)")
    # Busy fraction of the two workers: independent of how fast the shared cores were,
    # it bounds what the engine delivers on free cores (speed-up <= 2 x utilisation).
    print(f"   worker utilisation (sum of task times / (2 x wall)) : {inside2 / (2 * t2):.2f}"
          f"   -> speed-up on free cores ~ {2 * inside2 / (2 * t2):.2f}")
    print(f"\n2. engine overhead per tiny task ({args.tiny} tasks; target < 20 ms)")
    print(f"   in-process, scalar result        : {1e3 * (tl - inside_l) / args.tiny:7.2f} ms")
    print(f"   in-process, 100-float array      : {1e3 * (ta - inside_a) / args.tiny:7.2f} ms")
    print(f"   Dask, 2 workers (cluster up)     : {1e3 * (td - inside_d) / args.tiny:7.2f} ms")
    load2 = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"\n1-min load average after: {load2:.2f} (other processes share these cores)")


if __name__ == "__main__":
    main()
