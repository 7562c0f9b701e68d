"""The local Dask cluster of a sweep, or a client of an existing one.

:func:`dask_client` gives a client: of the scheduler at an address, or of a local
cluster of worker processes (one thread each) that serves no HTTP unless the dashboard
is asked for, with Dask's worker settings less two costs (:func:`local_worker_config`).
"""

from __future__ import annotations

import contextlib
import functools
import logging
from collections.abc import Callable, Iterator
from typing import Any

__all__ = ["dask_client", "local_worker_config", "n_workers"]


@contextlib.contextmanager
def dask_client(
    workers: int, scheduler: str | None, dashboard: bool, say: Callable[[str], None],
) -> Iterator[Any]:
    """A Dask client: of the scheduler at ``scheduler``, or of a local cluster (closed after).

    Parameters
    ----------
    workers : int
        Worker processes of the local cluster (one thread each).
    scheduler : str or None
        Address of an existing scheduler; ``workers`` is then ignored.
    dashboard : bool
        Serve the local cluster's dashboard on 127.0.0.1:8787 (needs bokeh).
    say : callable
        Prints a line (the dashboard's address, what was connected to).

    Examples
    --------
    >>> import distributed
    >>> cluster = distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
    ...                                    dashboard_address=None)  # in this process
    >>> from ntkjam.sweep.local_cluster import dask_client, n_workers
    >>> with dask_client(1, cluster.scheduler_address, False, say=lambda line: None) as client:
    ...     print(n_workers(client))
    1
    >>> cluster.close()
    """
    import dask
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
    with dask.config.set(local_worker_config(profile=address is not None)):
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


def local_worker_config(*, profile: bool) -> dict[str, Any]:
    """The Dask settings of the local workers: Dask's defaults, less two costs.

    * ``MALLOC_TRIM_THRESHOLD_`` is not set to Dask's 65536: trimming the heap at every
      64 KiB freed made the kernel page memory back in for each task (3.2 s of system
      time over the main job's 1400 worker tasks, 0.9 s with glibc's own threshold).
      A value in the environment still reaches the workers.
    * The statistical profiler (a stack sample of the task thread every 10 ms, for the
      dashboard's profile page) runs only with the dashboard.

    Parameters
    ----------
    profile : bool
        Keep the profiler (a dashboard is served).

    Returns
    -------
    dict
        For :func:`dask.config.set`.

    Examples
    --------
    >>> from ntkjam.sweep.local_cluster import local_worker_config
    >>> config = local_worker_config(profile=False)
    >>> "MALLOC_TRIM_THRESHOLD_" in config["distributed.nanny.pre-spawn-environ"]
    False
    >>> config["distributed.worker.profile.enabled"]
    False
    """
    import dask
    import distributed  # noqa: F401  (its defaults enter dask.config on import)

    environ = dict(dask.config.get("distributed.nanny.pre-spawn-environ", {}))
    environ.pop("MALLOC_TRIM_THRESHOLD_", None)
    return {"distributed.nanny.pre-spawn-environ": environ,
            "distributed.worker.profile.enabled": bool(profile)}


def _no_http_server(self: Any, routes: Any, dashboard_address: Any, default_port: int = 0,
                    ssl_options: Any = None) -> None:
    """``ServerNode.start_http_server`` that builds the routing table but listens nowhere."""
    from distributed.http.routing import RoutingApplication

    self.http_application = RoutingApplication(routes)


@functools.cache
def _quiet_classes() -> dict[str, type]:
    """Dask scheduler, worker and local cluster that start no HTTP server (built lazily).

    The worker class is pickled by reference into each worker process: it is reached
    there as ``ntkjam.sweep.local_cluster._NoHTTPWorker`` through this module's ``__getattr__``.
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
    """Current number of workers of the cluster (0 if it cannot be asked).

    Examples
    --------
    >>> import distributed
    >>> cluster = distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
    ...                                    dashboard_address=None)  # in this process
    >>> from ntkjam.sweep.local_cluster import n_workers
    >>> with distributed.Client(cluster) as client:
    ...     print(n_workers(client))
    1
    >>> cluster.close()
    """
    try:
        try:  # recent distributed: cluster totals without the per-worker details
            info = client.scheduler_info(n_workers=0)
        except TypeError:
            info = client.scheduler_info()
        return int(info.get("n_workers", len(info.get("workers", ()))))
    except Exception:  # the count only sizes the submission window
        return 0
