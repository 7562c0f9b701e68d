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

import contextlib
import functools
import logging
import math
import os
import re
import socket
import subprocess
import time
import traceback
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ntkjam._validate import as_int
from ntkjam.sweep.registry import resolve
from ntkjam.sweep.spec import NAME_RE, RESERVED_NAMES, SweepSpec, Task, expand, load_spec
from ntkjam.sweep.store import DirectoryLock, Store, TaskRecord

__all__ = ["ARRAYS_KEY", "RunSummary", "clean_result", "execute_task", "git_revision", "run"]

#: Key of a task's result dict under which named arrays are returned.
ARRAYS_KEY = "arrays"

_ARRAY_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]*\Z")


@dataclass(frozen=True)
class RunSummary:
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
    """
    from ntkjam import __version__

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


# ---------------------------------------------------------------------------------------
# executors

Outcome = dict[str, Any]
OnResult = Callable[[Task, Outcome], None]


def _run_local(tasks: list[Task], on_result: OnResult) -> None:
    for task in tasks:
        on_result(task, execute_task(task.experiment, task.params, task.task_seed))


def _worker_failure(exc: BaseException) -> Outcome:
    """Outcome for a task whose worker died or that Dask could not run."""
    text = "".join(traceback.format_exception(exc))
    return {
        "status": "failed",
        "measurements": {},
        "arrays": {},
        "error": f"the Dask worker running this task failed (not the experiment itself):\n{text}",
        "wall_time": float("nan"),
        "host": "",
        "version": "",
    }


def _run_dask(
    tasks: list[Task], on_result: OnResult, client: Any, window: Callable[[], int]
) -> None:
    from distributed import as_completed

    queue = iter(tasks)
    in_flight: dict[str, Task] = {}
    futures = as_completed()

    def top_up() -> None:
        while len(in_flight) < window():
            task = next(queue, None)
            if task is None:
                return
            fut = client.submit(
                execute_task, task.experiment, task.params, task.task_seed,
                key=f"ntkjam-{task.key}", retries=0,
            )
            in_flight[fut.key] = task
            futures.add(fut)

    top_up()
    try:
        for fut in futures:
            task = in_flight.pop(fut.key)
            try:
                outcome = fut.result()
            except Exception as exc:  # KilledWorker, CommClosedError, ...
                outcome = _worker_failure(exc)
            fut.release()
            on_result(task, outcome)
            top_up()
    finally:
        pending = list(futures.futures)
        if pending:
            client.cancel(pending)


@contextlib.contextmanager
def _dask_client(
    workers: int, scheduler: str | None, dashboard: bool, say: Callable[[str], None]
) -> Iterator[Any]:
    from distributed import Client, LocalCluster

    if scheduler is not None:
        try:
            client = Client(scheduler, timeout="30s")
        except (OSError, TimeoutError) as exc:
            raise ValueError(
                f"cannot connect to the Dask scheduler at {scheduler!r}: {exc}"
            ) from None
        say(f"connected to Dask scheduler {scheduler} ({_n_workers(client)} workers now)")
        try:
            yield client
        finally:
            client.close()
        return
    address = None
    if dashboard:
        import importlib.util

        if importlib.util.find_spec("bokeh") is None:
            say("dashboard not started: it needs the 'bokeh' package (pip install bokeh)")
        else:
            address = "127.0.0.1:8787"
    # Without the dashboard, the scheduler and the workers would still serve HTTP
    # (health and metrics routes; ``dashboard_address=None`` means port 8787 for the
    # scheduler and a random port for each worker): a cluster without HTTP servers.
    cls = LocalCluster if address is not None else _quiet_classes()["_NoHTTPLocalCluster"]
    cluster = cls(
        n_workers=workers,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=address,
        silence_logs=logging.ERROR,
    )
    try:
        client = Client(cluster)
        try:
            if address is not None:
                say(f"Dask dashboard: {client.dashboard_link}")
            yield client
        finally:
            client.close()
    finally:
        cluster.close()


def _no_http_server(self: Any, routes: Any, dashboard_address: Any, default_port: int = 0,
                    ssl_options: Any = None) -> None:
    """``ServerNode.start_http_server`` that builds the routing table but listens nowhere."""
    from distributed.http.routing import RoutingApplication

    self.http_application = RoutingApplication(routes)


@functools.cache
def _quiet_classes() -> dict[str, type]:
    """Dask scheduler, worker and local cluster that start no HTTP server (built lazily).

    The worker class is pickled by reference into each worker process: it is reached
    there as ``ntkjam.sweep.run._NoHTTPWorker`` through this module's ``__getattr__``.
    """
    from distributed import LocalCluster, Scheduler, Worker

    def make(name: str, base: type, attrs: dict[str, Any]) -> type:
        return type(name, (base,), {"__module__": __name__, "__qualname__": name, **attrs})

    scheduler = make("_NoHTTPScheduler", Scheduler, {"start_http_server": _no_http_server})
    worker = make("_NoHTTPWorker", Worker, {"start_http_server": _no_http_server})

    async def _start(self: Any) -> None:
        if self.scheduler_spec is not None:
            self.scheduler_spec = {**self.scheduler_spec, "cls": scheduler}
        for spec in (self.new_spec, *self.worker_spec.values()):
            spec["options"] = {**spec["options"], "worker_class": worker}
        await LocalCluster._start(self)

    cluster = make("_NoHTTPLocalCluster", LocalCluster, {"_start": _start})
    return {c.__name__: c for c in (scheduler, worker, cluster)}


def __getattr__(name: str) -> Any:
    if name in ("_NoHTTPScheduler", "_NoHTTPWorker", "_NoHTTPLocalCluster"):
        return _quiet_classes()[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


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
    spec_text = None
    if isinstance(spec, (str, Path)):
        path, spec = Path(spec), load_spec(spec)
        spec_text = path.read_text(encoding="utf-8")
    if not isinstance(spec, SweepSpec):
        raise TypeError(f"spec must be a SweepSpec or a path to a TOML file, got {type(spec)}")
    if scheduler is not None and not isinstance(scheduler, str):
        raise TypeError(f"scheduler must be an address string, got {scheduler!r}")
    workers = _default_workers() if workers is None else as_int("workers", workers, minimum=1)
    if max_in_flight is not None:
        max_in_flight = as_int("max_in_flight", max_in_flight, minimum=1)
    resolve(spec.experiment)  # an unknown experiment fails here, before anything is written

    directory = spec.output_dir(output)
    _check_output_directory(directory)
    directory.mkdir(parents=True, exist_ok=True)
    tasks = expand(spec)
    git_rev = git_revision()
    counts = {"done": 0, "failed": 0}
    with DirectoryLock(directory), Store(directory) as store:
        store.bind(spec)
        removed = store.remove_stray_temporaries()  # the lock guarantees no other writer
        if spec_text is not None:
            _write_text_atomic(directory / "spec.toml", spec_text)
        stored = store.statuses()
        damaged = {key for key, _, _ in store.damaged()}
        todo = [
            t for t in tasks
            if t.key not in stored or t.key in damaged
            or (retry_failed and stored[t.key] == "failed")
        ]
        skipped = len(tasks) - len(todo)
        # damaged rows of earlier versions of the spec: rebuilt from their stored row
        keys = {t.key for t in tasks}
        todo += [_task_of_row(r, spec.axes) for r in store.stored_rows()
                 if r["hash"] in damaged and r["hash"] not in keys]
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
                with _dask_client(n, scheduler, dashboard, bar.say) as client:
                    _run_dask(todo, on_result, client, _Window(client, max_in_flight))
            else:
                _run_local(todo, on_result)
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


def _n_workers(client: Any) -> int:
    """Current number of workers of the cluster (0 if it cannot be asked)."""
    try:
        try:  # recent distributed: cluster totals without the per-worker details
            info = client.scheduler_info(n_workers=0)
        except TypeError:
            info = client.scheduler_info()
        return int(info.get("n_workers", len(info.get("workers", ()))))
    except Exception:  # the count only sizes the submission window
        return 0


class _Window:
    """How many tasks to keep submitted: fixed, or twice the workers (re-read each second)."""

    def __init__(self, client: Any, fixed: int | None):
        self._client, self._fixed = client, fixed
        self._value, self._checked = 2, -math.inf

    def __call__(self) -> int:
        if self._fixed is not None:
            return self._fixed
        now = time.monotonic()
        if now - self._checked > 1.0:
            self._value = 2 * max(_n_workers(self._client), 1)
            self._checked = now
        return self._value
