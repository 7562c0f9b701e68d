"""Where a sweep's tasks run: in this process, or on a Dask cluster (local or remote).

The local Dask cluster has one thread per worker process and serves no HTTP at all
unless the dashboard is asked for (then it is bound to 127.0.0.1).  At most the
window's worth of tasks is handed to Dask at a time, so an interrupted run loses at
most the tasks in flight.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import math
import time
import traceback
from collections.abc import Callable, Iterator
from typing import Any

from ntkjam.sweep.execute import execute_task
from ntkjam.sweep.spec import Task

__all__ = [
    "OnResult",
    "Outcome",
    "Window",
    "dask_client",
    "n_workers",
    "run_dask",
    "run_local",
    "worker_failure",
]


Outcome = dict[str, Any]
OnResult = Callable[[Task, Outcome], None]


def run_local(tasks: list[Task], on_result: OnResult) -> None:
    for task in tasks:
        on_result(task, execute_task(task.experiment, task.params, task.task_seed))


def worker_failure(exc: BaseException) -> Outcome:
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


def run_dask(
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
                outcome = worker_failure(exc)
            fut.release()
            on_result(task, outcome)
            top_up()
    finally:
        pending = list(futures.futures)
        if pending:
            client.cancel(pending)


@contextlib.contextmanager
def dask_client(
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
        say(f"connected to Dask scheduler {scheduler} ({n_workers(client)} workers now)")
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
    there as ``ntkjam.sweep.executors._NoHTTPWorker`` through this module's ``__getattr__``.
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


def n_workers(client: Any) -> int:
    """Current number of workers of the cluster (0 if it cannot be asked)."""
    try:
        try:  # recent distributed: cluster totals without the per-worker details
            info = client.scheduler_info(n_workers=0)
        except TypeError:
            info = client.scheduler_info()
        return int(info.get("n_workers", len(info.get("workers", ()))))
    except Exception:  # the count only sizes the submission window
        return 0


class Window:
    """How many tasks to keep submitted: fixed, or twice the workers (re-read each second)."""

    def __init__(self, client: Any, fixed: int | None):
        self._client, self._fixed = client, fixed
        self._value, self._checked = 2, -math.inf

    def __call__(self) -> int:
        if self._fixed is not None:
            return self._fixed
        now = time.monotonic()
        if now - self._checked > 1.0:
            self._value = 2 * max(n_workers(self._client), 1)
            self._checked = now
        return self._value
