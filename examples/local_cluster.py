"""Run a sweep on a Dask cluster through ``--scheduler`` — here a LocalCluster you start.

The sweep engine can start local worker processes itself (``--workers k``); to run on a
cluster you manage (a ``LocalCluster`` on a workstation, or dask-jobqueue's
``SLURMCluster`` on a batch system: see ``docs/sweeps.md``) you give it the scheduler's
address.  This script starts a two-worker ``LocalCluster`` (one thread per worker,
bound to 127.0.0.1), runs a spec of the built-in ``kernel_summary`` experiment on it
(the analytic NTK of points on the sphere: trace, extreme eigenvalues, rank) with
``ntkjam.sweep.run(spec, scheduler=address)`` — what ``ntkjam sweep run SPEC
--scheduler ADDRESS`` does — then runs the same spec in this process into a second
directory and checks that the two stores hold identical measurements (results do not
depend on where a task ran).

Run: ``python examples/local_cluster.py [--output DIR]`` (default
``runs/example_local_cluster`` under the current directory, holding ``cluster/`` and
``local/``).  Needs only ntkjam's own dependencies (``distributed``).
Notation: N = points (``n`` in the spec), d = input dimension.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import numpy as np

from ntkjam import sweep

MEASUREMENTS = ["trace", "lambda_max", "lambda_min", "condition_number", "rank"]


def make_spec(output: Path, seeds: int):
    """A 3 × 2 grid (N × depth) of kernel summaries, ``seeds`` replicas each."""
    return sweep.parse_spec({
        "experiment": "kernel_summary",
        "description": "example: analytic NTK conditioning on the sphere",
        "output": str(output),
        "seeds": {"count": seeds, "start": 0},
        "params": {"d": 5, "activation": "relu"},
        "grid": {"n": [20, 40, 80], "depth": [1, 3]},
    }, source="examples/local_cluster.py")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=Path("runs/example_local_cluster"))
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2, help="worker processes to start")
    args = parser.parse_args(argv)
    from distributed import LocalCluster

    with LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True,
                      host="127.0.0.1", dashboard_address=None,
                      silence_logs=logging.ERROR) as cluster:
        address = cluster.scheduler_address
        print(f"LocalCluster: {args.workers} workers, scheduler {address}")
        on_cluster = sweep.run(make_spec(args.output / "cluster", args.seeds),
                               scheduler=address)
    print(f"on the cluster: {on_cluster.done} tasks done, {on_cluster.failed} failed "
          f"({on_cluster.execution})")
    local = sweep.run(make_spec(args.output / "local", args.seeds), workers=1)
    print(f"in this process: {local.done} tasks done, {local.failed} failed")

    a = sweep.load(args.output / "cluster").sort_values(["n", "depth", "seed"])
    b = sweep.load(args.output / "local").sort_values(["n", "depth", "seed"])
    same = (list(a.hash) == list(b.hash)
            and all(np.array_equal(a[m].to_numpy(), b[m].to_numpy()) for m in MEASUREMENTS))
    print(f"identical task keys and measurements in both stores: {same}")
    means = a.groupby(["n", "depth"])["condition_number"].mean().unstack()
    print("\nmean condition number of the analytic NTK (rows N, columns depth):")
    print(means.to_string(float_format=lambda v: f"{v:.3g}"))
    if not same:
        raise SystemExit("the cluster and in-process results differ")


if __name__ == "__main__":
    main()
