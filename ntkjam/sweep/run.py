"""Running a sweep: the missing tasks, in-process or on Dask, stored as they finish.

The parent process expands the spec, skips every task whose key is already stored
(``done``, and ``failed`` unless ``retry_failed``), and runs the rest:

* ``workers=1`` — in this process, one after the other;
* ``workers=k > 1`` — on a Dask ``LocalCluster`` of k worker processes with one thread
  each; its scheduler and workers serve no HTTP at all unless the dashboard is asked
  for (then bound to 127.0.0.1);
* ``scheduler="tcp://host:8786"`` — on an existing Dask cluster (e.g. one started by
  dask-jobqueue on SLURM/PBS).

Workers only compute and return results; the parent is the only writer of the store
and commits each row as soon as its task finishes.  At most ``2 × workers`` tasks are
handed to Dask at a time, so an interrupted run loses at most the tasks in flight.

Before running, a resume deletes the temporary files a killed run left, and verifies
every stored array file against the checksum recorded when it was written: the tasks
whose file is missing or fails its checksum run again (and only those).
"""

from __future__ import annotations

import functools
import os
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ntkjam._validate import as_int
from ntkjam.core.reprs import SummaryRepr
from ntkjam.sweep.execute import ARRAYS_KEY, clean_result, execute_task
from ntkjam.sweep.executors import Outcome, Window, dask_client, run_dask, run_local
from ntkjam.sweep.registry import check_spec, expand_spec, load_spec, resolve
from ntkjam.sweep.spec import SweepSpec, Task
from ntkjam.sweep.store import DirectoryLock, Store, TaskRecord, key_scheme

__all__ = ["ARRAYS_KEY", "RunSummary", "clean_result", "execute_task", "git_revision", "run"]



@dataclass(frozen=True, repr=False)
class RunSummary(SummaryRepr):
    """What a call to :func:`run` did.

    Attributes
    ----------
    directory : Path
        The run directory.
    total : int
        Tasks in the spec.
    skipped : int
        Tasks already stored, not run again.
    done, failed : int
        Tasks run by this call that succeeded / failed.
    failed_total : int
        Rows with status ``failed`` in the store after the run (of this spec's tasks).
    wall_time : float
        Seconds for the whole call (cluster start-up included).
    repaired : int
        Stored tasks run again because their array file was missing or failed its
        checksum (counted in ``done``/``failed``, not in ``skipped``).
    temporaries_removed : int
        Temporary files left by a killed run, deleted before running.
    """

    directory: Path
    total: int
    skipped: int
    done: int
    failed: int
    failed_total: int
    wall_time: float
    repaired: int = 0
    temporaries_removed: int = 0


# ---------------------------------------------------------------------------------------
# worker side







# ---------------------------------------------------------------------------------------
# provenance


@functools.cache
def git_revision() -> str | None:
    """Git revision of the ntkjam checkout in use (``-dirty`` if modified), or None.

    None when ntkjam is not run from a git checkout (e.g. installed from a wheel) or
    git is unavailable.
    """
    root = Path(__file__).resolve().parents[2]
    if not (root / ".git").exists():
        return None
    try:
        rev = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"],
            capture_output=True, text=True, timeout=10, check=False,
        )
        if rev.returncode != 0:
            return None
        # --no-optional-locks: a read-only query that never rewrites the index
        status = subprocess.run(
            ["git", "--no-optional-locks", "-C", str(root), "status", "--porcelain",
             "--untracked-files=no"],
            capture_output=True, text=True, timeout=10, check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    dirty = status.returncode != 0 or bool(status.stdout.strip())
    return rev.stdout.strip() + ("-dirty" if dirty else "")


# ---------------------------------------------------------------------------------------
# the driver


def _default_workers() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - macOS
        return os.cpu_count() or 1


def _write_text_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


class _Progress:
    """Rich progress bar on stderr: done/total, failures, elapsed, ETA."""

    def __init__(self, enabled: bool, total: int, completed: int, label: str):
        self._bar = None
        if not enabled:
            return
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self._bar = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("[red]{task.fields[failed]} failed"),
            TextColumn("elapsed"),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=Console(stderr=True),
            transient=False,
        )
        self._task = self._bar.add_task(label, total=total, completed=completed, failed=0)

    def __enter__(self) -> _Progress:
        if self._bar is not None:
            self._bar.start()
        return self

    def advance(self, failed: int) -> None:
        if self._bar is not None:
            self._bar.update(self._task, advance=1, failed=failed)

    def say(self, text: str) -> None:
        if self._bar is not None:
            self._bar.console.print(text, highlight=False)

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.stop()


def run(
    spec: SweepSpec | str | Path,
    *,
    workers: int | None = 1,
    scheduler: str | None = None,
    retry_failed: bool = False,
    output: str | Path | None = None,
    progress: bool = False,
    dashboard: bool = False,
    max_in_flight: int | None = None,
) -> RunSummary:
    """Run the tasks of ``spec`` that are not stored yet.

    Parameters
    ----------
    spec : SweepSpec or path
        A validated spec, or the path of a TOML spec file (copied into the run
        directory as ``spec.toml``).
    workers : int or None
        1: run in this process.  k > 1: a Dask ``LocalCluster`` of k processes (one
        thread each).  None: as many workers as usable cores.  Ignored with ``scheduler``.
    scheduler : str, optional
        Address of an existing Dask scheduler (``tcp://host:port``) to run on instead.
    retry_failed : bool
        Run again the tasks stored as ``failed``.
    output : path, optional
        Run directory, overriding the spec's ``output``.
    progress : bool
        Show a Rich progress bar on stderr.
    dashboard : bool
        Start the Dask dashboard of a local cluster, bound to 127.0.0.1:8787.
    max_in_flight : int, optional
        Most tasks handed to Dask at once (default: twice the current number of
        workers).  Raise it for an adaptive cluster, which grows only when it sees
        queued tasks.  Tasks in flight when the run is killed run again on resume.

    Returns
    -------
    RunSummary

    Raises
    ------
    SpecError, ValueError
        Bad spec, unknown experiment, run directory holding another sweep, a run
        directory that is a file or lies under one, unreachable scheduler.
    StoreCorrupt
        ``sweep.sqlite`` is empty or not a database (a ``ValueError``): nothing runs.
    OSError
        Disk full, read-only or failing storage, naming the file; the rows stored
        before are kept and the run resumes once the cause is fixed.
    RunDirectoryBusy
        Another process is running a sweep in the same directory.
    KeyboardInterrupt
        Re-raised after the finished tasks are stored and the cluster is shut down.
    """
    started = time.perf_counter()
    spec, spec_text = _checked_spec(spec)
    if scheduler is not None and not isinstance(scheduler, str):
        raise TypeError(f"scheduler must be an address string, got {scheduler!r}")
    workers = _default_workers() if workers is None else as_int("workers", workers, minimum=1)
    if max_in_flight is not None:
        max_in_flight = as_int("max_in_flight", max_in_flight, minimum=1)
    resolve(spec.experiment)  # an unknown experiment fails here, before anything is written
    if spec_text is None:
        check_spec(spec)  # a spec object: its params are checked as a file's would be

    directory = spec.output_dir(output)
    _check_output_directory(directory)
    directory.mkdir(parents=True, exist_ok=True)
    git_rev = git_revision()
    counts = {"done": 0, "failed": 0}
    with DirectoryLock(directory), Store(directory) as store:
        store.bind(spec)
        tasks = expand_spec(spec, scheme=key_scheme(store.meta()))
        removed = store.remove_stray_temporaries()  # the lock guarantees no other writer
        if spec_text is not None:
            _write_text_atomic(directory / "spec.toml", spec_text)
        stored = store.statuses()
        damaged = {key for key, _, _ in store.damaged()}
        todo, skipped = _tasks_to_run(store, tasks, spec, stored, damaged, retry_failed)
        use_dask = bool(todo) and (scheduler is not None or workers > 1)
        label = f"{spec.experiment} → {directory.name}"
        with _Progress(progress, len(tasks), skipped, label) as bar:
            failed_before = 0 if retry_failed else sum(
                1 for t in tasks if stored.get(t.key) == "failed"
            )

            def on_result(task: Task, outcome: Outcome) -> None:
                store.write(
                    TaskRecord(
                        task=task,
                        status=outcome["status"],
                        measurements=outcome["measurements"],
                        arrays=outcome["arrays"],
                        error=outcome["error"],
                        wall_time=outcome["wall_time"],
                        version=outcome["version"],
                        host=outcome["host"],
                        git_rev=git_rev,
                    )
                )
                counts[outcome["status"]] += 1
                bar.advance(failed_before + counts["failed"])

            if use_dask:
                n = min(workers, len(todo))
                with dask_client(n, scheduler, dashboard, bar.say) as client:
                    run_dask(todo, on_result, client, Window(client, max_in_flight))
            else:
                run_local(todo, on_result)
        final = store.statuses()
    failed_total = sum(1 for t in tasks if final.get(t.key) == "failed")
    return RunSummary(
        directory=directory,
        total=len(tasks),
        skipped=skipped,
        done=counts["done"],
        failed=counts["failed"],
        failed_total=failed_total,
        wall_time=time.perf_counter() - started,
        repaired=len(damaged),
        temporaries_removed=len(removed),
    )


def _checked_spec(spec: SweepSpec | str | Path) -> tuple[SweepSpec, str | None]:
    """``(spec, text of its TOML file)``: a path is loaded (text None for a spec object)."""
    spec_text = None
    if isinstance(spec, (str, Path)):
        path, spec = Path(spec), load_spec(spec)
        spec_text = path.read_text(encoding="utf-8")
    if not isinstance(spec, SweepSpec):
        raise TypeError(f"spec must be a SweepSpec or a path to a TOML file, got {type(spec)}")
    return spec, spec_text


def _tasks_to_run(
    store: Store,
    tasks: list[Task],
    spec: SweepSpec,
    stored: Mapping[str, str],
    damaged: set[str],
    retry_failed: bool,
) -> tuple[list[Task], int]:
    """``(tasks to run, number of the spec's tasks skipped)``.

    A task runs when it is not stored, its row is damaged, or (``retry_failed``) it is
    stored as failed; damaged rows of earlier versions of the spec (keys the spec no
    longer expands to) are rebuilt from their stored row and run after the others.
    """
    todo = [
        t for t in tasks
        if t.key not in stored or t.key in damaged
        or (retry_failed and stored[t.key] == "failed")
    ]
    skipped = len(tasks) - len(todo)
    keys = {t.key for t in tasks}
    todo += [_task_of_row(r, spec.axes) for r in store.stored_rows()
             if r["hash"] in damaged and r["hash"] not in keys]
    return todo, skipped


def _task_of_row(row: Mapping[str, Any], axes: tuple[str, ...] | list[str]) -> Task:
    """The task a stored row is the result of (its key is the stored one)."""
    params = row["params"]
    return Task(
        experiment=row["experiment"],
        params=params,
        point={a: params[a] for a in axes if a in params},
        seed=row["seed"],
        key=row["hash"],
        task_seed=row["task_seed"],
    )


def _check_output_directory(directory: Path) -> None:
    """Refuse a run directory that is a file, or lies under one, naming the path."""
    if directory.exists() and not directory.is_dir():
        raise ValueError(f"run directory {str(directory)!r} exists and is not a directory")
    for parent in directory.parents:
        if parent.exists():
            if not parent.is_dir():
                raise ValueError(
                    f"run directory {str(directory)!r} cannot be created: {str(parent)!r} "
                    "is a file, not a directory"
                )
            break
