"""Running a sweep: the missing tasks, in-process or on Dask, stored as they finish.

The parent process expands the spec, skips every task whose key is already stored
(``done``, and ``failed`` unless ``retry_failed``), and runs the rest where the options
say — in this process, in this process beside worker processes when a timed sample
says they pay, or on Dask (:mod:`ntkjam.sweep.placement`).  Workers only compute and
return results; the parent is the only writer of the store and commits each row as
soon as its task's result is back.

Before running, a resume deletes the temporary files a killed run left, and verifies
every stored array file against the checksum recorded when it was written: the tasks
whose file is missing or fails its checksum run again (and only those).
"""

from __future__ import annotations

import functools
import os
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from ntkjam._validate import as_choice, as_int
from ntkjam.core.reprs import SummaryRepr
from ntkjam.sweep.execute import ARRAYS_KEY, clean_result, execute_task
from ntkjam.sweep.executors import Outcome
from ntkjam.sweep.placement import Commit, Placement, default_workers, run_tasks
from ntkjam.sweep.plan import tasks_to_run
from ntkjam.sweep.progress import ProgressBar
from ntkjam.sweep.registry import check_spec, expand_spec, load_spec, resolve
from ntkjam.sweep.spec import SweepSpec, Task
from ntkjam.sweep.store import DirectoryLock, Store, TaskRecord, key_scheme

__all__ = [
    "ARRAYS_KEY",
    "CLUSTERS",
    "RunSummary",
    "clean_result",
    "execute_task",
    "git_revision",
    "run",
]

#: ``cluster`` values: start a local cluster when it pays (``auto``), or for every run
#: with ``workers > 1`` (``always``).
CLUSTERS = ("auto", "always")


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
    execution : str
        Where the tasks ran and why (e.g. ``"in-process (est. 0.4 s of work left: …)"``,
        ``"this process + 1 worker process (…), chunks of up to 40 tasks"``).

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
    >>> again = sweep.run(spec)  # resume: everything is already stored
    >>> again.total, again.skipped, again.done, again.execution
    (6, 6, 0, 'nothing to run')
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
    execution: str = ""


# ---------------------------------------------------------------------------------------
# provenance


@functools.cache
def git_revision() -> str | None:
    """Git revision of the ntkjam checkout in use (``-dirty`` if modified), or None.

    None when ntkjam is not run from a git checkout (e.g. installed from a wheel) or
    git is unavailable.

    Examples
    --------
    >>> from ntkjam.sweep import git_revision
    >>> rev = git_revision()
    >>> isinstance(rev, str) and rev == git_revision()
    True
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


def _write_text_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _writer(store: Store, git_rev: str | None, counts: dict[str, int], bar: ProgressBar,
            failed_before: int) -> Commit:
    """``commit(task, outcome, written=None)``: store the row, count it, advance the bar."""

    def commit(task: Task, outcome: Outcome, written: tuple[str, int] | None = None) -> None:
        record = TaskRecord(
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
        store.write(record, written)
        counts[outcome["status"]] += 1
        bar.advance(failed_before + counts["failed"])

    return commit


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
    cluster: str = "auto",
    chunk_size: int | None = None,
) -> RunSummary:
    """Run the tasks of ``spec`` that are not stored yet.

    Parameters
    ----------
    spec : SweepSpec or path
        A validated spec, or the path of a TOML spec file (copied into the run
        directory as ``spec.toml``).
    workers : int or None
        1: run in this process.  k > 1: up to k processes (see ``cluster``).  None: as
        many as usable cores.  Ignored with ``scheduler``.
    scheduler : str, optional
        Address of an existing Dask scheduler (``tcp://host:port``) to run on instead.
    retry_failed : bool
        Run again the tasks stored as ``failed``.
    output : path, optional
        Run directory, overriding the spec's ``output``.
    progress : bool
        Show a Rich progress bar on stderr (with where the tasks run).
    dashboard : bool
        Start the Dask dashboard of a local cluster, bound to 127.0.0.1:8787.
    max_in_flight : int, optional
        Most tasks handed to Dask at once (default: two chunks per worker).  Raise it
        for an adaptive cluster, which grows only when it sees queued tasks.  Tasks in
        flight when the run is killed run again on resume.
    cluster : {"auto", "always"}
        With ``workers = k > 1``: ``"auto"`` runs a sample of the tasks in this process
        and starts k − 1 worker processes beside it only when the estimated saving
        exceeds the cluster's start-up cost (:func:`ntkjam.sweep.plan.plan_local`);
        ``"always"`` runs every task on a local cluster of k workers.
    chunk_size : int, optional
        Tasks per Dask call.  Default: as many as take about 0.5 s, from measured times.

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
    >>> summary = sweep.run(spec)  # in this process (workers=1)
    >>> summary.total, summary.done, summary.failed, summary.skipped
    (6, 6, 0, 0)
    >>> sweep.run(spec).skipped  # a second run reuses what is stored
    6
    """
    started = time.perf_counter()
    spec, spec_text = _checked_spec(spec)
    how = _checked_how(workers, scheduler, dashboard, max_in_flight, cluster, chunk_size)
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
        todo, skipped = tasks_to_run(store, tasks, spec, stored, damaged, retry_failed)
        label = f"{spec.experiment} → {directory.name}"
        with ProgressBar(progress, len(tasks), skipped, label) as bar:
            failed_before = 0 if retry_failed else sum(
                1 for t in tasks if stored.get(t.key) == "failed"
            )
            commit = _writer(store, git_rev, counts, bar, failed_before)
            execution = run_tasks(todo, commit, bar, how, store.directory)
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
        execution=execution,
    )


def _checked_how(workers: int | None, scheduler: str | None, dashboard: bool,
                 max_in_flight: int | None, cluster: str, chunk_size: int | None) -> Placement:
    """The execution options of :func:`run`, checked (``ValueError``/``TypeError``)."""
    if scheduler is not None and not isinstance(scheduler, str):
        raise TypeError(f"scheduler must be an address string, got {scheduler!r}")
    workers = default_workers() if workers is None else as_int("workers", workers, minimum=1)
    if max_in_flight is not None:
        max_in_flight = as_int("max_in_flight", max_in_flight, minimum=1)
    if chunk_size is not None:
        chunk_size = as_int("chunk_size", chunk_size, minimum=1)
    cluster = as_choice("cluster", cluster, CLUSTERS)
    return Placement(workers, scheduler, bool(dashboard), max_in_flight, cluster, chunk_size)


def _checked_spec(spec: SweepSpec | str | Path) -> tuple[SweepSpec, str | None]:
    """``(spec, text of its TOML file)``: a path is loaded (text None for a spec object)."""
    spec_text = None
    if isinstance(spec, (str, Path)):
        path, spec = Path(spec), load_spec(spec)
        spec_text = path.read_text(encoding="utf-8")
    if not isinstance(spec, SweepSpec):
        raise TypeError(f"spec must be a SweepSpec or a path to a TOML file, got {type(spec)}")
    return spec, spec_text


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
