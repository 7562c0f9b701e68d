"""Declarative, resumable sweeps: a TOML spec → tasks → a run directory of results.

Quick reference (see ``docs/sweeps.md``)::

    from ntkjam import sweep

    spec = sweep.load_spec("kernel.toml")     # validated; bad fields named in the error
    summary = sweep.run(spec, workers=2)      # runs only what is not stored yet
    df = sweep.load(summary.directory)        # pandas DataFrame, one row per task
    arrays = sweep.load_arrays(summary.directory, df.hash[0])

Command line: ``ntkjam sweep run SPEC.toml``, ``ntkjam sweep status DIR``,
``ntkjam sweep export DIR --format csv|parquet|netcdf``.
"""

from ntkjam.sweep.integrity import StoreCorrupt
from ntkjam.sweep.registry import load_spec, register, resolve
from ntkjam.sweep.results import (
    EXPORT_FORMATS,
    SweepStatus,
    export,
    load,
    load_arrays,
    stored_spec,
    summarize,
    to_dataset,
)
from ntkjam.sweep.run import ARRAYS_KEY, RunSummary, execute_task, git_revision, run
from ntkjam.sweep.spec import (
    SpecError,
    SweepSpec,
    Task,
    canonical_json,
    derive_seed,
    expand,
    parse_spec,
    read_spec,
    task_key,
)
from ntkjam.sweep.store import RunDirectoryBusy

__all__ = [
    "ARRAYS_KEY",
    "EXPORT_FORMATS",
    "RunDirectoryBusy",
    "StoreCorrupt",
    "RunSummary",
    "SpecError",
    "SweepSpec",
    "SweepStatus",
    "Task",
    "canonical_json",
    "derive_seed",
    "execute_task",
    "expand",
    "export",
    "git_revision",
    "load",
    "load_arrays",
    "load_spec",
    "read_spec",
    "parse_spec",
    "register",
    "resolve",
    "run",
    "stored_spec",
    "summarize",
    "task_key",
    "to_dataset",
]
