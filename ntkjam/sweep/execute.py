"""One task, executed: the experiment called on its params and seed, its result checked.

This is what a worker (this process or a Dask worker) runs; it returns an outcome dict
and never raises for a failing experiment (the traceback is the outcome).  A Dask
worker is handed a *chunk* of tasks per call (:func:`execute_chunk`), run one after
the other exactly as in-process, so a failing task fails only itself.
"""

from __future__ import annotations

import re
import socket
import time
import traceback
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ntkjam.sweep.registry import resolve
from ntkjam.sweep.spec import NAME_RE, RESERVED_NAMES

__all__ = ["ARRAYS_KEY", "clean_result", "execute_chunk", "execute_task"]

#: Key of a task's result dict under which named arrays are returned.
ARRAYS_KEY = "arrays"

_ARRAY_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]*\Z")


def _scalar(name: str, value: Any) -> Any:
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value[()]
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise TypeError(
        f"measurement {name!r} must be a scalar (number, string, boolean or None), got "
        f"{type(value).__name__}; return arrays under the key {ARRAYS_KEY!r}"
    )


def clean_result(result: object, params: Mapping[str, Any]) -> tuple[dict, dict]:
    """Check a task's return value and split it into measurements and arrays.

    Parameters
    ----------
    result : dict
        ``{name: scalar, ..., "arrays": {name: array_like}}`` (``"arrays"`` optional).
    params : mapping
        The task's parameters; measurement names may not repeat them.

    Returns
    -------
    measurements : dict[str, scalar]
        Plain Python scalars (NumPy scalars unwrapped).
    arrays : dict[str, numpy.ndarray]
        Numeric or boolean arrays.

    Raises
    ------
    TypeError, ValueError
        Naming the offending entry.

    Examples
    --------
    >>> import numpy as np
    >>> from ntkjam.sweep.execute import clean_result
    >>> m, a = clean_result({"loss": np.float64(0.5), "arrays": {"w": [1.0, 2.0]}}, {"n": 4})
    >>> m, type(m["loss"]).__name__, a["w"].shape
    ({'loss': 0.5}, 'float', (2,))
    >>> try:
    ...     clean_result({"n": 5}, {"n": 4})  # a measurement may not shadow a parameter
    ... except (TypeError, ValueError):
    ...     print("refused")
    refused
    """
    if not isinstance(result, Mapping):
        raise TypeError(f"an experiment must return a dict of measurements, got {type(result)}")
    measurements: dict[str, Any] = {}
    arrays: dict[str, np.ndarray] = {}
    taken = {p.lower(): p for p in params}  # SQLite column names ignore case
    for name, value in result.items():
        if name == ARRAYS_KEY:
            if not isinstance(value, Mapping):
                raise TypeError(f"{ARRAYS_KEY!r} must be a dict of named arrays, got {type(value)}")
            for aname, arr in value.items():
                if not isinstance(aname, str) or not _ARRAY_NAME.match(aname):
                    raise ValueError(
                        f"array name {aname!r} is not allowed: use letters, digits, '_', '.', '-'"
                    )
                a = np.asarray(arr)
                if a.dtype.kind not in "biufc":
                    raise TypeError(
                        f"array {aname!r} must be numeric or boolean, got dtype {a.dtype}"
                    )
                arrays[aname] = a
            continue
        if not isinstance(name, str) or not NAME_RE.match(name):
            raise ValueError(
                f"measurement name {name!r} is not allowed: use letters, digits and '_', "
                "not starting with a digit"
            )
        if name.lower() in RESERVED_NAMES:
            raise ValueError(
                f"measurement name {name!r} is reserved for the store (names ignore case); "
                f"reserved: {', '.join(sorted(RESERVED_NAMES))}"
            )
        if name.lower() in taken:
            what = "parameter" if taken[name.lower()] in params else "measurement"
            raise ValueError(
                f"measurement {name!r} has the name of the {what} {taken[name.lower()]!r} "
                "(names ignore case); rename the measurement"
            )
        taken[name.lower()] = name
        measurements[name] = _scalar(name, value)
    return measurements, arrays


def execute_task(experiment: str, params: Mapping[str, Any], seed: int) -> dict[str, Any]:
    """Run one task and report its outcome; a failing task is reported, never raised.

    This is what Dask workers execute.  The experiment is resolved by name in the
    worker (see :func:`ntkjam.sweep.registry.resolve`).

    Returns
    -------
    dict
        ``status`` ('done' | 'failed'), ``measurements``, ``arrays``, ``error``
        (traceback text or None), ``wall_time``, ``host``, ``version``.

    Examples
    --------
    >>> import sys, tempfile
    >>> from pathlib import Path
    >>> from ntkjam import sweep
    >>> tmp = tempfile.mkdtemp(); sys.path.insert(0, tmp)  # a module of your own experiments
    >>> _ = Path(tmp, "doc_tasks.py").write_text(
    ...     "import numpy as np\\n"
    ...     "def square(params, seed):\\n"
    ...     "    noise = np.random.default_rng(seed).standard_normal(3)\\n"
    ...     "    return {'x2': params['x'] ** 2, 'arrays': {'noise': noise}}\\n")
    >>> spec = sweep.parse_spec({"experiment": "doc_tasks:square", "grid": {"x": [1, 2, 3]},
    ...                          "seeds": [0, 1], "output": tmp + "/run"})
    >>> out = sweep.execute_task("doc_tasks:square", {"x": 3}, 0)
    >>> out["status"], out["measurements"], out["arrays"]["noise"].shape
    ('done', {'x2': 9}, (3,))
    >>> bad = sweep.execute_task("doc_tasks:square", {}, 0)  # raises KeyError inside
    >>> bad["status"], "KeyError" in bad["error"]
    ('failed', True)
    """
    from ntkjam._version import __version__

    start = time.perf_counter()
    try:
        func = resolve(experiment)
        result = func(dict(params), seed)
        wall = time.perf_counter() - start
        measurements, arrays = clean_result(result, params)
        status, error = "done", None
    except Exception:
        wall = time.perf_counter() - start
        measurements, arrays = {}, {}
        status, error = "failed", traceback.format_exc()
    return {
        "status": status,
        "measurements": measurements,
        "arrays": arrays,
        "error": error,
        "wall_time": wall,
        "host": socket.gethostname(),
        "version": __version__,
    }


def execute_chunk(items: Sequence[tuple[str, Mapping[str, Any], int]]) -> list[dict[str, Any]]:
    """Run a chunk of tasks one after the other; the outcome of each, in order.

    This is what a Dask worker is handed: one call per chunk instead of one per task
    (a call costs milliseconds of scheduling, a tiny task less).  Each task runs
    exactly as :func:`execute_task` runs it in-process (same function, params and
    seed), so a chunk's outcomes do not depend on how the tasks were grouped, and a
    task that raises fails only itself.

    Parameters
    ----------
    items : sequence of (experiment, params, seed)
        The tasks of the chunk.

    Returns
    -------
    list of dict
        One outcome per item (see :func:`execute_task`).

    Examples
    --------
    >>> import sys, tempfile
    >>> from pathlib import Path
    >>> from ntkjam import sweep
    >>> tmp = tempfile.mkdtemp(); sys.path.insert(0, tmp)  # a module of your own experiments
    >>> _ = Path(tmp, "doc_tasks.py").write_text(
    ...     "import numpy as np\\n"
    ...     "def square(params, seed):\\n"
    ...     "    noise = np.random.default_rng(seed).standard_normal(3)\\n"
    ...     "    return {'x2': params['x'] ** 2, 'arrays': {'noise': noise}}\\n")
    >>> spec = sweep.parse_spec({"experiment": "doc_tasks:square", "grid": {"x": [1, 2, 3]},
    ...                          "seeds": [0, 1], "output": tmp + "/run"})
    >>> from ntkjam.sweep.execute import execute_chunk
    >>> outs = execute_chunk([("doc_tasks:square", {"x": x}, 0) for x in (1, 2, 3)])
    >>> [o["measurements"]["x2"] for o in outs]
    [1, 4, 9]
    """
    return [execute_task(experiment, params, seed) for experiment, params, seed in items]
