"""Running a sweep: the missing tasks, in-process or on Dask, stored as they finish.

The parent process expands the spec, skips every task whose key is already stored
(``done``, and ``failed`` unless ``retry_failed``), and runs the rest:

* ``workers=1`` — in this process, one after the other;
* ``workers=k > 1`` (``cluster="auto"``) — in this process first, on a sample of the
  tasks spread over the sweep; from its times (:func:`plan_local`) either the rest
  runs in this process too (the estimated saving of k workers is below what a local
  cluster costs to start and close), or k − 1 worker processes are started in the
  background and share the rest with this process, which keeps running tasks while
  they start;
* ``cluster="always"`` — a Dask ``LocalCluster`` of k worker processes runs every task
  (this process only stores);
* ``scheduler="tcp://host:8786"`` — on an existing Dask cluster (e.g. one started by
  dask-jobqueue on SLURM/PBS).

Dask is handed chunks of tasks of about 0.1 s of work each
(:class:`ntkjam.sweep.executors.ChunkSizer`).  Every process running tasks next to
others uses one BLAS thread (this one through ``threadpoolctl``, Dask's workers
through ``OMP_NUM_THREADS=1`` and the like).  Workers only compute and return results;
the parent is the only writer of the store and commits each row as soon as its task's
result is back.  At most two chunks per worker are handed to Dask at a time, so an
interrupted run loses at most the chunks in flight.

Before running, a resume deletes the temporary files a killed run left, and verifies
every stored array file against the checksum recorded when it was written: the tasks
whose file is missing or fails its checksum run again (and only those).
"""

from __future__ import annotations

import functools
import os
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ntkjam._validate import as_choice, as_int
from ntkjam.core.reprs import SummaryRepr
from ntkjam.sweep.execute import ARRAYS_KEY, clean_result, execute_task
from ntkjam.sweep.executors import (
    OnResult,
    Outcome,
    Window,
    dask_client,
    run_dask,
    run_local,
    run_sample,
)
from ntkjam.sweep.integrity import AheadWriter
from ntkjam.sweep.plan import ChunkSizer, plan_local, tasks_to_run
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
    """Rich progress bar on stderr: done/total, failures, elapsed, ETA, where tasks run."""

    def __init__(self, enabled: bool, total: int, completed: int, label: str):
        self._bar = None
        self.where = ""
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
        from rich.table import Column

        def keep(width: int) -> Column:  # never shortened: a narrow line cuts the others
            return Column(min_width=width, no_wrap=True)

        def cut() -> Column:
            return Column(ratio=1, no_wrap=True, overflow="ellipsis")

        self._bar = Progress(
            TextColumn("[bold]{task.description}", table_column=cut()),
            BarColumn(bar_width=None, table_column=Column(ratio=1)),
            MofNCompleteColumn(table_column=keep(2 * len(str(total)) + 1)),
            TextColumn("[red]{task.fields[failed]} failed", table_column=keep(8)),
            TextColumn("elapsed", table_column=keep(7)),
            TimeElapsedColumn(table_column=keep(7)),
            TextColumn("ETA", table_column=keep(3)),
            TimeRemainingColumn(table_column=keep(7)),
            TextColumn("{task.fields[where]}", table_column=cut()),
            console=Console(stderr=True),
            transient=False,
        )
        self._task = self._bar.add_task(label, total=total, completed=completed, failed=0,
                                        where="")

    def __enter__(self) -> _Progress:
        if self._bar is not None:
            self._bar.start()
        return self

    def advance(self, failed: int) -> None:
        if self._bar is not None:
            self._bar.update(self._task, advance=1, failed=failed)

    def show(self, where: str) -> None:
        """Where the tasks run now (``in-process``, ``1 + 1 workers, chunks of 40``)."""
        self.where = where
        if self._bar is not None:
            self._bar.update(self._task, where=where)

    def say(self, text: str) -> None:
        if self._bar is not None:
            self._bar.console.print(text, highlight=False)

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.stop()


@dataclass(frozen=True)
class _How:
    """How to run: the options of :func:`run` that choose where tasks go."""

    workers: int
    scheduler: str | None
    dashboard: bool
    max_in_flight: int | None
    cluster: str
    chunk_size: int | None


def _execute(todo: list[Task], commit: _Commit, bar: _Progress, how: _How,
             directory: Path) -> str:
    """Run ``todo`` as ``how`` says; what was done, in words (:attr:`RunSummary.execution`).

    With one worker each row is committed before the next task starts; otherwise the
    array files are written ahead of their rows on a few threads
    (:class:`ntkjam.sweep.integrity.AheadWriter`).
    """
    if not todo:
        return "nothing to run"
    if how.scheduler is None and how.workers == 1:
        bar.show("in-process")
        run_local(todo, commit)
        return "in-process (--workers 1)"
    with AheadWriter(directory, lambda item, written: commit(*item, written)) as ahead:

        def on_result(task: Task, outcome: Outcome) -> None:
            ahead.put(task.key, outcome["arrays"], (task, outcome))

        if how.scheduler is not None or how.cluster == "always":
            return _on_dask(todo, on_result, bar, how)
        return _auto(todo, on_result, bar, how, ahead.drain)


def _chunks_text(chunks: ChunkSizer) -> str:
    return f"chunks of up to {chunks.largest} task{'s' * (chunks.largest > 1)}"


def _on_dask(todo: list[Task], on_result: OnResult, bar: _Progress, how: _How) -> str:
    """Every task on Dask: an existing scheduler, or a local cluster of ``how.workers``."""
    n = min(how.workers, len(todo))
    where = (f"Dask scheduler {how.scheduler}" if how.scheduler is not None
             else f"{n} Dask worker{'s' * (n > 1)}")
    chunks = ChunkSizer(how.chunk_size, on_change=lambda k: bar.show(f"{where}, chunks of {k}"))
    bar.show(where)
    with dask_client(n, how.scheduler, how.dashboard, bar.say) as client:
        run_dask(todo, on_result, client, Window(client, how.max_in_flight), chunks)
    return f"{where}, {_chunks_text(chunks)}"


def _auto(todo: list[Task], on_result: OnResult, bar: _Progress, how: _How,
          drain: Callable[[], None]) -> str:
    """A sample in-process, then the rest in-process or shared with new worker processes."""
    bar.show("in-process (timing a sample)")
    rest, timings = run_sample(todo, on_result, flush=drain)
    plan = plan_local(timings, len(rest), how.workers, _default_workers())
    bar.say(plan.text)
    if not plan.workers:
        bar.show("in-process")
        run_local(rest, on_result)
        return plan.text
    where = f"1 + {plan.workers} worker{'s' * (plan.workers > 1)}"
    chunks = ChunkSizer(how.chunk_size, on_change=lambda k: bar.show(f"{where}, chunks of {k}"))
    chunks.observe([{"wall_time": timings.inside / timings.tasks}] * timings.tasks)
    bar.show(f"{where} (starting)")
    from threadpoolctl import threadpool_limits

    # This process runs tasks beside the workers: one BLAS thread, as each of them.
    with (threadpool_limits(limits=1),
          dask_client(plan.workers, None, how.dashboard, bar.say, wait=False) as client):
        run_dask(rest, on_result, client, Window(client, how.max_in_flight), chunks,
                 local=True)
    return f"{plan.text}, {_chunks_text(chunks)}"


_Commit = Callable[..., None]


def _writer(store: Store, git_rev: str | None, counts: dict[str, int], bar: _Progress,
            failed_before: int) -> _Commit:
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
        exceeds the cluster's start-up cost (:func:`plan_local`); ``"always"`` runs
        every task on a local cluster of k workers.
    chunk_size : int, optional
        Tasks per Dask call.  Default: as many as take about 0.1 s, from measured times.

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
        with _Progress(progress, len(tasks), skipped, label) as bar:
            failed_before = 0 if retry_failed else sum(
                1 for t in tasks if stored.get(t.key) == "failed"
            )
            commit = _writer(store, git_rev, counts, bar, failed_before)
            execution = _execute(todo, commit, bar, how, store.directory)
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
                 max_in_flight: int | None, cluster: str, chunk_size: int | None) -> _How:
    """The execution options of :func:`run`, checked (``ValueError``/``TypeError``)."""
    if scheduler is not None and not isinstance(scheduler, str):
        raise TypeError(f"scheduler must be an address string, got {scheduler!r}")
    workers = _default_workers() if workers is None else as_int("workers", workers, minimum=1)
    if max_in_flight is not None:
        max_in_flight = as_int("max_in_flight", max_in_flight, minimum=1)
    if chunk_size is not None:
        chunk_size = as_int("chunk_size", chunk_size, minimum=1)
    cluster = as_choice("cluster", cluster, CLUSTERS)
    return _How(workers, scheduler, bool(dashboard), max_in_flight, cluster, chunk_size)


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
