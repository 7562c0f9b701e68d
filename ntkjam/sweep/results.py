"""Reading a run directory: a tidy DataFrame, arrays, status, exports.

Everything here only reads the store (it can run while a sweep is writing, and on a
read-only directory).  A missing or damaged array file is an error
(:class:`~ntkjam.sweep.integrity.StoreCorrupt`), never an empty result.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ntkjam.core.reprs import SummaryRepr
from ntkjam.sweep.integrity import corrupt_error, verify_rows
from ntkjam.sweep.registry import expand_spec
from ntkjam.sweep.spec import SweepSpec, canonical_json, parse_spec
from ntkjam.sweep.store import key_scheme, read_arrays, read_meta, read_rows

if TYPE_CHECKING:
    import pandas as pd
    import xarray as xr

__all__ = [
    "EXPORT_FORMATS",
    "SweepStatus",
    "export",
    "load",
    "load_arrays",
    "stored_spec",
    "summarize",
    "to_dataset",
]

#: Formats accepted by :func:`export`, with their file suffixes.
EXPORT_FORMATS = {"csv": ".csv", "parquet": ".parquet", "netcdf": ".nc"}

_META_COLUMNS = (
    "status",
    "error",
    "wall_time",
    "task_seed",
    "hash",
    "experiment",
    "version",
    "git_rev",
    "host",
    "finished_at",
    "arrays",
)


def _cell(value: Any) -> Any:
    """Scalars as they are; lists and tables as canonical JSON text (one value per cell)."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return canonical_json(value)


def stored_spec(directory: str | Path) -> SweepSpec | None:
    """The last spec run into ``directory`` (None for a directory with no run yet).

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
    >>> directory = sweep.run(spec).directory
    >>> sweep.stored_spec(directory) == spec  # the spec last run there
    True
    """
    meta = read_meta(directory)
    if "spec" not in meta:
        return None
    return parse_spec(json.loads(meta["spec"]), source=f"stored in {str(directory)!r}")


def load(directory: str | Path, *, status: str | None = None) -> pd.DataFrame:
    """The results of a sweep as a tidy table: one row per stored task.

    Parameters
    ----------
    directory : path
        A run directory.
    status : {"done", "failed"}, optional
        Keep only the rows with this status.

    Returns
    -------
    pandas.DataFrame
        Columns: the grid axes, ``seed``, the fixed parameters, the measurements, then
        ``status, error, wall_time, task_seed, hash, experiment, version, git_rev, host,
        finished_at, arrays`` (comma-separated array names; read them with
        :func:`load_arrays`).  Rows sorted by the axes (in spec order) then ``seed``, so
        the table does not depend on the order in which tasks finished.  List- or
        table-valued parameters appear as canonical JSON text.

    Raises
    ------
    StoreCorrupt
        A ``done`` row lists arrays whose file is missing or has another size than
        recorded when it was written (a quick check; :func:`load_arrays` and
        :func:`summarize` compare checksums).  Resuming the sweep recomputes them.
    ValueError
        ``directory`` is not a readable run directory.

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
    >>> directory = sweep.run(spec).directory
    >>> df = sweep.load(directory)
    >>> df[["x", "seed", "x2", "status"]].values.tolist()[:3]
    [[1, 0, 1, 'done'], [1, 1, 1, 'done'], [2, 0, 4, 'done']]
    >>> len(df), bool((df.x2 == df.x ** 2).all())
    (6, True)
    """
    return _table(directory, status)[0]


def _table(
    directory: str | Path, status: str | None
) -> tuple[pd.DataFrame, list[str], list[str], list[str]]:
    """(table, axes, fixed parameter names, measurement names) of :func:`load`."""
    import pandas as pd

    if status not in (None, "done", "failed"):
        raise ValueError(f"status must be 'done', 'failed' or None, got {status!r}")
    meta = read_meta(directory)
    axes: list[str] = json.loads(meta.get("axes", "[]"))
    rows = read_rows(directory)
    problems = verify_rows(directory, rows, full=False)
    if problems:
        raise corrupt_error(directory, problems)
    if status is not None:
        rows = [r for r in rows if r["status"] == status]
    fixed: list[str] = sorted({k for r in rows for k in r["params"] if k not in axes})
    measured: list[str] = []
    seen: set[str] = set()
    for r in rows:
        for k in r["measurements"]:
            if k not in seen:
                seen.add(k)
                measured.append(k)
    columns = [*axes, "seed", *fixed, *measured, *_META_COLUMNS]
    records = []
    for r in rows:
        rec: dict[str, Any] = {k: _cell(r["params"].get(k)) for k in (*axes, *fixed)}
        rec["seed"] = r["seed"]
        rec.update(r["measurements"])
        for k in _META_COLUMNS:
            rec[k] = r[k]
        rec["arrays"] = ",".join(r["arrays"])
        records.append(rec)
    df = pd.DataFrame.from_records(records, columns=columns)
    for c in df.columns:
        if df[c].dtype == object:  # one missing-value marker: None (as Parquet reads back)
            df[c] = df[c].where(df[c].notna(), None)
    if len(df):
        df = df.sort_values([*axes, "seed"], kind="stable").reset_index(drop=True)
    return df, axes, fixed, measured


def load_arrays(directory: str | Path, key: str) -> dict[str, Any]:
    """The named arrays task ``key`` (the ``hash`` column) returned; ``{}`` if none.

    Raises
    ------
    StoreCorrupt
        The array file is missing or fails the SHA-256 recorded when it was written
        (stores from before checksums: is not a readable .npz of the listed arrays).
    ValueError
        ``key`` is not the key of a stored task.

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
    >>> directory = sweep.run(spec).directory
    >>> df = sweep.load(directory)
    >>> {name: a.shape for name, a in sweep.load_arrays(directory, df.hash[0]).items()}
    {'noise': (3,)}
    """
    return read_arrays(directory, key)


@dataclass(frozen=True, repr=False)
class SweepStatus(SummaryRepr):
    """Progress of a run directory against its last spec.

    Attributes
    ----------
    directory : Path
    experiment : str
    total : int
        Tasks of the last spec.
    done, failed, missing : int
        Those tasks stored as done, stored as failed, not stored.
    extra : int
        Stored rows that are not tasks of the last spec (from an earlier version of it).
    coverage : dict[str, list[tuple[value, int, int, int]]]
        Per axis, per value: (value, done, failed, total).
    failures : list[tuple[str, dict, int, str]]
        Up to 10 failed tasks: (key, grid point, seed, last line of the error).
    damaged : list[tuple[str, Path, str]]
        Every ``done`` row whose array file is missing or fails its checksum:
        (key, file, problem).  Resuming the sweep recomputes exactly these.

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
    >>> directory = sweep.run(spec).directory
    >>> status = sweep.summarize(directory)
    >>> status.total, status.done, status.failed, status.missing, status.damaged
    (6, 6, 0, 0, [])
    """

    directory: Path
    experiment: str
    total: int
    done: int
    failed: int
    missing: int
    extra: int
    coverage: dict[str, list[tuple[Any, int, int, int]]]
    failures: list[tuple[str, dict[str, Any], int, str]]
    damaged: list[tuple[str, Path, str]] = field(default_factory=list)


def _last_line(text: str | None) -> str:
    lines = [ln for ln in (text or "").strip().splitlines() if ln.strip()]
    return lines[-1].strip() if lines else ""


def summarize(directory: str | Path) -> SweepStatus:
    """Counts by status, per-axis coverage and damaged array files (see :class:`SweepStatus`).

    Reads every array file once to compare its SHA-256 with the recorded one.

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
    >>> _ = sweep.run(sweep.parse_spec({"experiment": "doc_tasks:square",
    ...                                 "grid": {"x": [1]}, "output": tmp + "/run"}))
    >>> status = sweep.summarize(tmp + "/run")  # against the last spec: x = 1 only
    >>> status.total, status.done
    (1, 1)
    >>> _ = sweep.run(spec)  # the larger spec: 6 tasks, 1 of them stored
    >>> sweep.summarize(tmp + "/run").done
    6
    """
    spec = stored_spec(directory)
    if spec is None:
        raise ValueError(f"{str(directory)!r} holds no sweep yet (no spec was run into it)")
    rows = {r["hash"]: r for r in read_rows(directory)}
    tasks = expand_spec(spec, scheme=key_scheme(read_meta(directory)))
    keys = {t.key for t in tasks}
    coverage: dict[str, dict[str, list]] = {a: {} for a in spec.axes}
    counts = {"done": 0, "failed": 0, "missing": 0}
    failures = []
    for t in tasks:
        state = rows[t.key]["status"] if t.key in rows else "missing"
        counts[state] += 1
        if state == "failed" and len(failures) < 10:
            failures.append((t.key, t.point, t.seed, _last_line(rows[t.key]["error"])))
        for a in spec.axes:
            entry = coverage[a].setdefault(canonical_json(t.point[a]), [t.point[a], 0, 0, 0])
            entry[1] += state == "done"
            entry[2] += state == "failed"
            entry[3] += 1
    return SweepStatus(
        directory=Path(directory),
        experiment=spec.experiment,
        total=len(tasks),
        done=counts["done"],
        failed=counts["failed"],
        missing=counts["missing"],
        extra=sum(1 for k in rows if k not in keys),
        coverage={a: [tuple(v) for v in d.values()] for a, d in coverage.items()},
        failures=failures,
        damaged=verify_rows(directory, rows.values(), full=True),
    )


def to_dataset(directory: str | Path) -> xr.Dataset:
    """The ``done`` rows as an xarray Dataset with one dimension per grid axis plus ``seed``.

    Data variables: the measurements, ``wall_time`` and ``task_seed``; grid points or
    seeds that have no result are NaN.  Attributes: ``experiment``, ``description``,
    ``params`` (the fixed parameters, canonical JSON) and ``ntkjam_version``.

    Raises
    ------
    ValueError
        If a fixed parameter takes several values among the stored rows (the store
        then holds several sweeps that one grid cannot represent).

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
    >>> directory = sweep.run(spec).directory
    >>> ds = sweep.to_dataset(directory)
    >>> dict(ds.sizes), ds["x2"].sel(x=3).values.tolist()
    ({'x': 3, 'seed': 2}, [9, 9])
    """
    import xarray as xr

    df, axes, fixed, measured = _table(directory, "done")
    rows = [r for r in read_rows(directory) if r["status"] == "done"]
    meta = read_meta(directory)
    spec = stored_spec(directory)
    dims = [*axes, "seed"]
    for c in fixed:
        values = df[c].unique()
        if len(values) > 1:
            raise ValueError(
                f"fixed parameter {c!r} takes several values in {str(directory)!r} "
                f"({', '.join(map(repr, values[:5]))}); export csv or parquet instead"
            )
    if df.duplicated(dims).any():  # only possible if axis values were edited in type
        raise ValueError(f"{str(directory)!r} has several rows per grid point and seed")
    data_columns = [*measured, "wall_time", "task_seed"]
    if len(df):
        ds = xr.Dataset.from_dataframe(df.set_index(dims)[data_columns])
    else:
        ds = xr.Dataset(coords={d: [] for d in dims})
    params = {k: v for k, v in rows[0]["params"].items() if k not in axes} if rows else {}
    ds.attrs.update(
        experiment=meta.get("experiment", ""),
        description=spec.description if spec is not None else "",
        params=canonical_json(params),
        ntkjam_version=",".join(sorted(df["version"].dropna().unique())) if len(df) else "",
    )
    return ds


def _write_netcdf(ds: xr.Dataset, path: Path) -> None:
    """NetCDF-4 through h5netcdf when h5py is installed, else NetCDF-3 through SciPy.

    NetCDF-3 has no 64-bit integers: integer variables outside the int32 range are
    written as float64 (exact up to 2**53) with an attribute saying so.
    """
    import importlib.util

    import numpy as np

    if importlib.util.find_spec("h5py") is not None:
        ds.to_netcdf(path, engine="h5netcdf")
        return
    ds = ds.copy()
    info = np.iinfo(np.int32)
    for name, var in ds.variables.items():
        if var.dtype.kind in "iu" and var.size and (var.min() < info.min or var.max() > info.max):
            ds[name] = var.astype(np.float64)
            ds[name].attrs["ntkjam_note"] = "int64 stored as float64 (NetCDF-3)"
    ds.to_netcdf(path, engine="scipy")


def export(
    directory: str | Path, fmt: str = "csv", path: str | Path | None = None
) -> Path:
    """Write the results of a run directory as csv, parquet or netcdf.

    Parameters
    ----------
    directory : path
        A run directory.
    fmt : {"csv", "parquet", "netcdf"}
        csv and parquet: the table of :func:`load` (all rows).  netcdf: the Dataset of
        :func:`to_dataset` (``done`` rows on the grid): NetCDF-4 with h5netcdf when h5py
        is installed, otherwise NetCDF-3 with SciPy.
    path : path, optional
        Output file (default ``DIRECTORY/results.<csv|parquet|nc>``).  Written to a
        temporary name first, then renamed.  Must be a regular file (or not exist yet)
        in an existing directory.

    Returns
    -------
    Path
        The file written.

    Raises
    ------
    ValueError
        Bad format, or ``path`` is a directory, a device (``/dev/null``) or lies in a
        directory that does not exist.
    OSError
        The file cannot be written (disk full, read-only), naming it.

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
    >>> directory = sweep.run(spec).directory
    >>> path = sweep.export(directory, "csv")
    >>> path.suffix, path.read_text().count("\\n")  # a header and 6 rows
    ('.csv', 7)
    """
    if fmt not in EXPORT_FORMATS:
        raise ValueError(f"format must be one of {sorted(EXPORT_FORMATS)}, got {fmt!r}")
    target = Path(path) if path is not None else Path(directory) / f"results{EXPORT_FORMATS[fmt]}"
    _check_export_target(target)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        if fmt == "csv":
            load(directory).to_csv(tmp, index=False)
        elif fmt == "parquet":
            load(directory).to_parquet(tmp, index=False)
        else:
            _write_netcdf(to_dataset(directory), tmp)
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            tmp.unlink()
    return target


def _check_export_target(target: Path) -> None:
    """Refuse an export path that is not (or cannot become) a regular file, naming it."""
    if target.is_dir():
        raise ValueError(f"export path {str(target)!r} is a directory; name a file")
    if target.exists() and not target.is_file():
        # renaming over it would replace the device (e.g. /dev/null) with a file
        raise ValueError(f"export path {str(target)!r} is not a regular file")
    parent = target.parent
    if not parent.exists():
        raise ValueError(
            f"cannot export to {str(target)!r}: directory {str(parent)!r} does not exist"
        )
    if not parent.is_dir():
        raise ValueError(f"cannot export to {str(target)!r}: {str(parent)!r} is not a directory")
