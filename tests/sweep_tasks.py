"""Test-only experiments for the sweep engine (imported as ``sweep_tasks:<name>``).

``work`` counts its executions across processes: when ``NTKJAM_SWEEP_COUNTER`` names a
file, each call appends one line ``x seed`` to it with a single O_APPEND write (atomic
for short writes, so concurrent workers never interleave lines).
"""

from __future__ import annotations

import os
import time

import numpy as np

COUNTER_ENV = "NTKJAM_SWEEP_COUNTER"


def _count(params: dict, seed: int) -> None:
    path = os.environ.get(COUNTER_ENV)
    if path:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, f"{params['x']!r} {seed}\n".encode())
        finally:
            os.close(fd)


def work(params: dict, seed: int) -> dict:
    """``x``: a number; ``sleep``: seconds to wait; ``fail_at``: the ``x`` that raises."""
    _count(params, seed)
    time.sleep(params.get("sleep", 0.0))
    if params.get("fail_at") is not None and params["x"] == params["fail_at"]:
        raise RuntimeError(f"deliberate failure at x={params['x']}")
    rng = np.random.default_rng(seed)
    noise = float(rng.normal())
    x = params["x"]
    out = {"x2": x**2, "noise": noise, "label": f"x={x}", "even": x % 2 == 0}
    if params.get("with_arrays", True):
        out["arrays"] = {"draw": rng.normal(size=3), "grid": np.arange(4) * params["x"]}
    return out


def returns_object_array(params: dict, seed: int) -> dict:
    """Returns an array of Python objects, which the store must refuse (never pickled)."""
    return {"ok": 1, "arrays": {"bad": np.array([{"a": 1}], dtype=object)}}


def returns_list_measurement(params: dict, seed: int) -> dict:
    """A list is not a scalar measurement."""
    return {"values": [1, 2, 3]}


def echoes_param(params: dict, seed: int) -> dict:
    """A measurement named like a parameter."""
    return {"x": params["x"]}


def dies(params: dict, seed: int) -> dict:
    """Kills its own process when ``x == die_at`` (a crashed Dask worker), else like ``work``."""
    if params["x"] == params.get("die_at"):
        os._exit(3)
    return work(params, seed)


def case_varies(params: dict, seed: int) -> dict:
    """Measurement names that differ only in case between tasks, and a huge integer."""
    name = "Loss" if params["x"] % 2 == 0 else "loss"
    return {name: float(params["x"]), "big": 2**70 + params["x"]}


def blas_threads(params: dict, seed: int) -> dict:
    """The BLAS threads the task runs with (the largest over the loaded BLAS libraries)."""
    from ntkjam.core.threads import blas_threads as current

    return {"threads": current()}


def pid_task(params: dict, seed: int) -> dict:
    """Which process ran it (the pid), after ``sleep`` seconds; with an array."""
    time.sleep(params.get("sleep", 0.0))
    rng = np.random.default_rng(seed)
    return {"pid": os.getpid(), "noise": float(rng.normal()),
            "arrays": {"draw": rng.normal(size=2)}}
