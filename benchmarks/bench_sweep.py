"""Benchmark of the sweep engine: never slower than in-process, faster when it pays.

1. **Tiny tasks** (the acceptance check): 2000 tasks of microseconds through
   ``ntkjam sweep run`` with ``-w 1`` and ``-w 2`` (each a fresh process, end to end),
   once with a scalar result and once with a 100-float array.  With ``-w 2`` the engine
   times a sample in-process and, the saving being below the helper processes'
   start-up cost, runs the rest in-process too.  Target: ``-w 2`` no slower than ``-w 1``.
2. **The main job**: ``ntkjam phase-diagram`` with its default grid (3075 tasks, then
   the analysis and the figures) with ``--workers 1`` and ``--workers 2``.
   Target: ``--workers 2`` >= 1.6x faster on an idle 2-core machine.
3. **CPU-bound tasks of ~1 s** (a pure-Python loop: no BLAS threads, no GIL release)
   in-process and on 2 workers: on a cluster started beforehand (``scheduler=``, to
   compare execution) and end to end (``workers=2``: this process and one worker
   process).  The worker utilisation (time inside tasks / (2 x wall)) does not depend
   on how busy the machine is.  Target: speed-up >= 1.8 on 2 free cores.
4. **Engine overhead per tiny task**: wall time minus the time inside the experiment,
   per task, in-process and on a Dask cluster already up (chunks of tasks).

Run: ``PYTHONPATH=. python benchmarks/bench_sweep.py [--parts tiny,main,busy,overhead]
[--tiny 2000] [--tasks 16] [--seconds 1.0] [--repeats 3]``.  Prints measurements only; asserts
nothing.  Timings on a shared machine are noisy: the speed-up is bounded by the cores
actually free (the 1-minute load average is printed before and after).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from _device import add_device_option, use_device

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


def _cli(args: list[str], cwd: Path) -> tuple[float, str]:
    """(wall seconds, stdout) of one ``ntkjam`` command in a fresh process."""
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", "import sys; from ntkjam.cli import app; sys.argv[0] = 'ntkjam'; "
         "app()", *args], cwd=cwd, capture_output=True, text=True, check=False,
    )
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"ntkjam {' '.join(args)} failed:\n{done.stderr}")
    return wall, done.stdout


def _last_line(stdout: str) -> str:
    lines = stdout.strip().splitlines()
    return lines[-1] if lines else ""


def _load() -> float:
    return os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")


def bench_tiny(root: Path, n: int, repeats: int = 1) -> None:
    """Part 1: ``n`` tiny tasks through ``ntkjam sweep run -w 1`` and ``-w 2``.

    The runs alternate (1, 2, 1, 2, ...) ``repeats`` times; medians are compared."""
    import statistics

    print(f"\n1. {n} tiny tasks through `ntkjam sweep run` (end to end, fresh processes)")
    for experiment in ("noop", "tiny_with_array"):
        spec = root / f"{experiment}.toml"
        spec.write_text(f'experiment = "{MODULE}:{experiment}"\n[grid]\n'
                        f"i = {{start = 0, stop = {n - 1}, num = {n}}}\n", encoding="utf-8")
        walls: dict[int, list[float]] = {1: [], 2: []}
        for r in range(repeats):
            for w in (1, 2):
                wall, out = _cli(["sweep", "run", str(spec), "-w", str(w), "-q",
                                   "-o", str(root / f"{experiment}_w{w}_{r}")], root)
                walls[w].append(wall)
                print(f"   {experiment:16s} -w {w}: {wall:6.2f} s   "
                      f"({_last_line(out).split(': ', 2)[-1]})")
        t1, t2 = statistics.median(walls[1]), statistics.median(walls[2])
        print(f"   {experiment:16s} medians -w 1 {t1:.2f} s, -w 2 {t2:.2f} s: -w 1 / -w 2 = "
              f"{t1 / t2:.2f}  (target >= 1: -w 2 no slower; spread of -w 1: "
              f"{min(walls[1]):.2f}-{max(walls[1]):.2f} s)")


def _sweep_seconds(stdout: str) -> float:
    """The sweep's own wall time from the run line (``ran 3075 in 26.1 s``)."""
    import re

    found = re.search(r"ran \d+ in ([\d.]+) s", stdout)
    return float(found.group(1)) if found else float("nan")


def bench_main(root: Path, repeats: int) -> None:
    """Part 2: ``ntkjam phase-diagram`` (default grid) with ``--workers 1`` and ``2``.

    Runs alternate (1, 2, 1, 2, ...) and the medians are compared.  Each run's sweep
    time is read from its summary; the rest (start-up, expansion, analysis, figures)
    runs in one process whatever ``--workers``, so even a sweep twice as fast bounds
    the speed-up at ``T1 / (rest + sweep1 / 2)`` (Amdahl), printed beside it.
    """
    import statistics

    print("\n2. the main job: `ntkjam phase-diagram` (default grid, analysis and figures)")
    walls: dict[int, list[float]] = {1: [], 2: []}
    sweeps: dict[int, list[float]] = {1: [], 2: []}
    for r in range(repeats):
        for w in (1, 2):
            wall, out = _cli(["phase-diagram", "--workers", str(w),
                              "--output", str(root / f"phase_w{w}_{r}")], root)
            walls[w].append(wall)
            sweeps[w].append(_sweep_seconds(out))
            print(f"   --workers {w}: {walls[w][-1]:6.2f} s, of which the sweep "
                  f"{sweeps[w][-1]:6.2f} s  (load average now {_load():.2f})")
    t1, t2 = statistics.median(walls[1]), statistics.median(walls[2])
    s1 = statistics.median(sweeps[1])
    rest = t1 - s1
    print(f"   medians: --workers 1 {t1:.2f} s (sweep {s1:.2f} s, the rest {rest:.2f} s), "
          f"--workers 2 {t2:.2f} s (sweep {statistics.median(sweeps[2]):.2f} s)")
    print(f"   --workers 1 / --workers 2 = {t1 / t2:.2f}  (target >= 1.6 on an idle 2-core "
          f"machine; a sweep exactly 2x faster would give {t1 / (rest + s1 / 2):.2f})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parts", default="tiny,main,busy,overhead",
                        help="comma-separated parts to run (default: all four)")
    parser.add_argument("--tiny", type=int, default=2000, help="tiny tasks (default 2000)")
    parser.add_argument("--repeats", type=int, default=1,
                        help="alternating runs per worker count, tiny and main (median)")
    parser.add_argument("--tasks", type=int, default=16, help="CPU-bound tasks (default 16)")
    parser.add_argument("--seconds", type=float, default=1.0, help="seconds per task (1.0)")
    add_device_option(parser)
    args = parser.parse_args()
    print(use_device(args.device))
    parts = set(args.parts.split(","))

    # Dask workers and the `ntkjam` subprocesses import this module by name.
    os.environ["PYTHONPATH"] = os.pathsep.join(
        [str(HERE), str(HERE.parent), os.environ.get("PYTHONPATH", "")]
    )
    sys.path[:0] = [str(HERE), str(HERE.parent)]
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(f"bench_sweep: {cores} usable cores, 1-min load average {_load():.2f} before start")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        if "tiny" in parts:
            bench_tiny(root, args.tiny, args.repeats)
        if "main" in parts:
            bench_main(root, args.repeats)
        if parts & {"busy", "overhead"}:
            bench_engine(root, args, parts)
    print(f"\n1-min load average after: {_load():.2f} (other processes share these cores)")


def bench_engine(root: Path, args: argparse.Namespace, parts: set[str]) -> None:
    """Parts 3 and 4: CPU-bound speed-up, and the engine's overhead per tiny task."""
    from distributed import LocalCluster

    iterations = _calibrate(args.seconds)
    params = {"iterations": iterations}
    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
        host="127.0.0.1",
    ) as cluster:
        address = cluster.scheduler_address
        _timed_run(_spec("noop", 4, root / "warm", {}), scheduler=address)  # imports
        if "busy" in parts:
            t2, inside2 = _timed_run(_spec("busy", args.tasks, root / "busy2", params),
                                     scheduler=address)
        if "overhead" in parts:
            td, inside_d = _timed_run(_spec("noop", args.tiny, root / "tiny_dask", {}),
                                      scheduler=address)
    if "busy" in parts:
        t1, inside1 = _timed_run(_spec("busy", args.tasks, root / "busy1", params), workers=1)
        t2e, _ = _timed_run(_spec("busy", args.tasks, root / "busy2e", params), workers=2)
        per_task = inside1 / args.tasks
        print(f"\n3. {args.tasks} CPU-bound tasks of {per_task:.2f} s each (measured in-process)")
        print(f"   1 worker (in-process)            : {t1:7.2f} s")
        print(f"   2 workers (cluster already up)   : {t2:7.2f} s   speed-up {t1 / t2:.2f}  "
              "(target >= 1.8)")
        print(f"   2 workers (end to end, start-up) : {t2e:7.2f} s   speed-up {t1 / t2e:.2f}")
        print(f"   worker utilisation (sum of task times / (2 x wall)) : "
              f"{inside2 / (2 * t2):.2f}   -> speed-up on free cores ~ {inside2 / t2:.2f}")
    if "overhead" in parts:
        tl, inside_l = _timed_run(_spec("noop", args.tiny, root / "tiny", {}), workers=1)
        ta, inside_a = _timed_run(_spec("tiny_with_array", args.tiny, root / "tiny_arr", {}),
                                  workers=1)
        print(f"\n4. engine overhead per tiny task ({args.tiny} tasks)")
        print(f"   in-process, scalar result        : {1e3 * (tl - inside_l) / args.tiny:7.2f} ms")
        print(f"   in-process, 100-float array      : {1e3 * (ta - inside_a) / args.tiny:7.2f} ms")
        print(f"   Dask, 2 workers (cluster up)     : {1e3 * (td - inside_d) / args.tiny:7.2f} ms")


if __name__ == "__main__":
    main()
