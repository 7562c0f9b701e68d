"""Where a sweep's tasks run: in this process, or on a Dask cluster (local or remote).

Dask is handed *chunks* of tasks, one call per chunk
(:func:`ntkjam.sweep.execute.execute_chunk`), of about 0.5 s of measured task time
each (:class:`ntkjam.sweep.plan.ChunkSizer`: single tasks at first, growing as times
come back, shrinking near the end so that the workers finish together).  A chunk whose
worker died is split and its tasks run again one at a time, so a task that kills its
worker fails only itself.  The parent stores each task's row as before.

The local Dask cluster (:mod:`ntkjam.sweep.local_cluster`) has one thread per worker
process and serves no HTTP at all unless the dashboard is asked for (then it is bound
to 127.0.0.1).  At most the
window's worth of chunks is handed to Dask at a time, so an interrupted run loses at
most the chunks in flight.  (This process sharing the queue with helper processes
is :mod:`ntkjam.sweep.local_pool`.)
"""

from __future__ import annotations

import math
import time
import traceback
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from ntkjam.sweep.execute import execute_chunk, execute_task
from ntkjam.sweep.local_cluster import dask_client, n_workers
from ntkjam.sweep.plan import SAMPLE_COUNT, SAMPLE_SECONDS, ChunkSizer, Timings
from ntkjam.sweep.spec import Task

__all__ = [
    "OnResult",
    "Outcome",
    "Window",
    "dask_client",
    "n_workers",
    "run_dask",
    "run_local",
    "run_sample",
    "worker_failure",
]


Outcome = dict[str, Any]
OnResult = Callable[[Task, Outcome], None]


def run_local(tasks: Iterable[Task], on_result: OnResult) -> None:
    """Run ``tasks`` in this process, one after the other, handing each outcome on.

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
    >>> from ntkjam.sweep.executors import run_local
    >>> got = {}
    >>> run_local(sweep.expand(spec), lambda task, out: got.update({task.key: out}))
    >>> len(got), sorted(o["measurements"]["x2"] for o in got.values())
    (6, [1, 1, 4, 4, 9, 9])
    """
    for task in tasks:
        on_result(task, execute_task(task.experiment, task.params, task.task_seed))


def _sample_order(tasks: Sequence[Task], stride: int):
    """``(index, repeat)`` of the sample's tasks: every ``stride``-th, each followed by the
    next task when that is another seed of the same grid point (``repeat`` True): the
    second pays none of the point's warm-up (compilations for a new shape)."""
    last = -1  # the latest index handed out
    for j in range(0, len(tasks), stride):
        if j <= last:  # run already, as the repeat of j - 1
            continue
        yield j, False
        last = j
        if j + 1 < len(tasks) and tasks[j + 1].point == tasks[j].point:
            yield j + 1, True
            last = j + 1


def run_sample(
    tasks: Sequence[Task], on_result: OnResult, *, count: int = SAMPLE_COUNT,
    seconds: float = SAMPLE_SECONDS, flush: Callable[[], None] | None = None,
) -> tuple[list[Task], Timings]:
    """Run a sample of ``tasks`` spread over the list, in this process; what is left.

    Every ``len(tasks) // (count + 1)``-th task runs, and after it the next task when
    that is another seed of the same grid point (stored through ``on_result``: sampled
    tasks are done, not wasted), until ``count`` tasks or ``seconds`` have been timed;
    the second of such a pair measures a task without its point's warm-up.  The first
    task is not timed: it pays for the imports and caches of the experiment.  ``flush``
    (timed too) finishes the storing that ``on_result`` left to other threads.

    Returns
    -------
    rest : list of Task
        The tasks not run, in their order.
    timings : Timings

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
    >>> from ntkjam.sweep.executors import run_sample
    >>> tasks, got = sweep.expand(spec), []
    >>> left, timings = run_sample(tasks, lambda task, out: got.append(task), count=2)
    >>> len(got) + len(left) == len(tasks), timings.tasks <= 2, {t.key for t in got} & {
    ...     t.key for t in left}
    (True, True, set())
    """
    stride = max(1, len(tasks) // (count + 1))
    ran: set[int] = set()
    n, inside, total, first, cpu_start = 0, 0.0, 0.0, 0.0, 0.0
    repeats, repeat_inside = 0, 0.0
    for i, repeat in _sample_order(tasks, stride):
        task, start = tasks[i], time.perf_counter()
        outcome = execute_task(task.experiment, task.params, task.task_seed)
        on_result(task, outcome)
        ran.add(i)
        if len(ran) == 1:
            first = outcome["wall_time"]
            cpu_start = time.process_time()
            continue
        n, inside = n + 1, inside + outcome["wall_time"]
        if repeat:
            repeats, repeat_inside = repeats + 1, repeat_inside + outcome["wall_time"]
        total += time.perf_counter() - start
        if n >= count or total >= seconds:
            break
    if flush is not None:
        start = time.perf_counter()
        flush()
        total += time.perf_counter() - start
    # Every thread of this process: XLA's and the array writers' count against the cores.
    cpu = time.process_time() - cpu_start if n else 0.0
    return ([t for i, t in enumerate(tasks) if i not in ran],
            Timings(n, inside, total, first, cpu, repeats, repeat_inside))


def worker_failure(exc: BaseException, worker: str = "Dask worker") -> Outcome:
    """Outcome for a task whose worker died or that Dask could not run.

    ``worker`` names what ran it (``"Dask worker"``, ``"helper process"``).

    Examples
    --------
    >>> from ntkjam.sweep.executors import worker_failure
    >>> out = worker_failure(RuntimeError("worker killed"))
    >>> out["status"], "not the experiment itself" in out["error"], out["measurements"]
    ('failed', True, {})
    >>> worker_failure(RuntimeError("killed"), "helper process")["error"].split(" (")[0]
    'the helper process running this task failed'
    """
    text = "".join(traceback.format_exception(exc))
    return {
        "status": "failed",
        "measurements": {},
        "arrays": {},
        "error": f"the {worker} running this task failed (not the experiment itself):\n{text}",
        "wall_time": float("nan"),
        "host": "",
        "version": "",
    }


class Window:
    """How much to keep submitted: chunks and tasks in flight.

    Default: two chunks per worker (the count re-read each second), any number of
    tasks.  With ``fixed``: at most that many tasks, in at most that many chunks (so an
    adaptive cluster sees that many queued tasks at the start, while chunks are single
    tasks).

    Examples
    --------
    >>> import distributed
    >>> cluster = distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
    ...                                    dashboard_address=None)  # in this process
    >>> from ntkjam.sweep.executors import Window
    >>> with distributed.Client(cluster) as client:
    ...     free, fixed = Window(client, None), Window(client, 5)
    ...     print(free.chunks(), free.tasks(), fixed.chunks(), fixed.tasks())
    2 inf 5 5
    >>> cluster.close()
    """

    def __init__(self, client: Any, fixed: int | None):
        self._client, self._fixed = client, fixed
        self._workers, self._checked = 0, -math.inf

    def workers(self) -> int:
        """The cluster's workers now (re-read at most once a second).

        Returns
        -------
        int
            0 when the cluster cannot be asked.

        Examples
        --------
        >>> class Client:  # stands in for a distributed.Client with 3 workers
        ...     def scheduler_info(self, n_workers=0): return {"n_workers": 3}
        >>> Window(Client(), None).workers(), Window(None, None).workers()
        (3, 0)
        """
        now = time.monotonic()
        if now - self._checked > 1.0:
            self._workers = n_workers(self._client)
            self._checked = now
        return self._workers

    def chunks(self, minimum: int = 1) -> int:
        """Most chunks in flight, counting at least ``minimum`` workers.

        Parameters
        ----------
        minimum : int
            Workers to count even while the cluster reports fewer.

        Returns
        -------
        int
            Two per worker, or ``fixed``; 0 with no worker counted.

        Examples
        --------
        >>> class Client:  # stands in for a distributed.Client with 3 workers
        ...     def scheduler_info(self, n_workers=0): return {"n_workers": 3}
        >>> Window(Client(), None).chunks(), Window(Client(), 5).chunks()
        (6, 5)
        >>> Window(None, None).chunks(), Window(None, None).chunks(minimum=0)
        (2, 0)
        """
        workers = max(self.workers(), minimum)
        if workers == 0:
            return 0
        return 2 * workers if self._fixed is None else self._fixed

    def tasks(self) -> float:
        """Most tasks in flight.

        Returns
        -------
        float
            ``fixed``, or ``inf`` without it.

        Examples
        --------
        >>> Window(None, None).tasks(), Window(None, 5).tasks()
        (inf, 5)
        """
        return math.inf if self._fixed is None else self._fixed


def run_dask(
    tasks: Sequence[Task], on_result: OnResult, client: Any, window: Window,
    chunks: ChunkSizer,
) -> None:
    """Run ``tasks`` in chunks on a Dask cluster.

    Finished chunks are handed on task by task, in the chunk's order.  A chunk
    that Dask could not run (its worker died) is split: its tasks run again one at a
    time with nothing else submitted, on workers only, and one that fails so is stored
    as a worker failure.

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
    >>> import distributed
    >>> cluster = distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
    ...                                    dashboard_address=None)  # in this process
    >>> from ntkjam.sweep.executors import Window, run_dask
    >>> from ntkjam.sweep.plan import ChunkSizer
    >>> got = {}
    >>> with distributed.Client(cluster) as client:
    ...     run_dask(sweep.expand(spec), lambda task, out: got.update({task.key: out}), client,
    ...              Window(client, None), ChunkSizer())
    >>> cluster.close()
    >>> sorted(o["measurements"]["x2"] for o in got.values())
    [1, 1, 4, 4, 9, 9]
    """
    from distributed import as_completed

    queue: deque[Task] = deque(tasks)
    alone: deque[Task] = deque()  # the tasks of a failed chunk, one per call
    in_flight: dict[str, list[Task]] = {}
    futures = as_completed()

    def submit(batch: list[Task]) -> None:
        items = [(t.experiment, t.params, t.task_seed) for t in batch]
        fut = client.submit(execute_chunk, items, key=f"ntkjam-{len(batch)}-{batch[0].key}",
                            retries=0)
        in_flight[fut.key] = batch
        futures.add(fut)

    def top_up() -> None:
        if alone:  # one at a time, nothing beside it: a worker's death is its own doing
            if not in_flight and window.chunks(1):
                submit([alone.popleft()])
            return
        while queue and len(in_flight) < window.chunks(1):
            room = window.tasks() - sum(map(len, in_flight.values()))
            if room < 1:
                return
            size = min(chunks.size(len(queue), window.workers()), int(min(room, 2**31)))
            submit([queue.popleft() for _ in range(size)])

    def collect(fut: Any) -> None:
        batch = in_flight.pop(fut.key)
        try:
            outcomes, error = fut.result(), None
        except Exception as exc:  # KilledWorker, CommClosedError, ...
            outcomes, error = None, exc
        fut.release()
        if error is not None and len(batch) > 1:
            alone.extend(batch)
            return
        if error is not None:
            outcomes = [worker_failure(error)]
        else:
            chunks.observe(outcomes)
        for task, outcome in zip(batch, outcomes, strict=True):
            on_result(task, outcome)

    top_up()
    try:
        while queue or alone or in_flight:  # top_up leaves a chunk in flight while any is left
            collect(next(futures))
            top_up()
    finally:
        pending = list(futures.futures)
        if pending:
            client.cancel(pending)
