"""This process and helper processes sharing a sweep's queue (``workers=k``, ``cluster="auto"``).

When the timed sample says that k − 1 more processes pay for themselves
(:func:`ntkjam.sweep.plan.plan_local`), they are started as a pool of the standard
library (:class:`concurrent.futures.ProcessPoolExecutor`, *spawned*: fresh
interpreters that inherit no threads), handed chunks of tasks
(:func:`ntkjam.sweep.execute.execute_chunk`, sized by
:class:`ntkjam.sweep.plan.ChunkSizer`), while this process runs the next task itself
whenever no chunk has come back.  This process stores every row.

Why not a local Dask cluster: its scheduler, nannies and event loops live partly in
this process, which also runs tasks and stores every row.  On the main job (2 cores)
the cluster cost this process 0.3 s of CPU to start plus its event loops, and the
worker's first chunk came 1.3 s after it was asked for (a helper's: 0.26 s); the
sweep took 13.1 s on Dask, 11.6 s on the pool (``docs/sweeps.md``, session 10).  Dask
stays for what it is for: an existing cluster (``scheduler=``), ``cluster="always"``
and its dashboard.

A helper that dies (a task that kills its process) breaks the pool: the chunks in
flight are then run again one task at a time, with nothing else in flight, on a new
pool, so a task that kills its process fails only itself.  On an error or Ctrl-C
the helpers are stopped at once (they ignore Ctrl-C themselves, so that only this
process decides what happens to the tasks in flight).
"""

from __future__ import annotations

import math
import signal
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from ntkjam.core.processes import spawn_pool, stop_pool
from ntkjam.sweep.execute import execute_chunk, execute_task
from ntkjam.sweep.executors import OnResult, worker_failure
from ntkjam.sweep.plan import ChunkSizer
from ntkjam.sweep.spec import Task

__all__ = ["helper_pool", "run_shared"]

_limits: Any = None  # the helper's BLAS limit, kept for the life of the process


def _start_helper() -> None:
    """In each helper: ignore Ctrl-C (the parent stops it) and use one BLAS thread."""
    global _limits
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    from threadpoolctl import threadpool_limits

    _limits = threadpool_limits(limits=1)


def helper_pool(workers: int) -> ProcessPoolExecutor:
    """A pool of ``workers`` spawned helper processes (one BLAS thread, deaf to Ctrl-C).

    The processes start as chunks are submitted; each imports what its tasks need
    (about 0.5 s of CPU, on its own core).

    Parameters
    ----------
    workers : int
        Helper processes, >= 1.

    Returns
    -------
    concurrent.futures.ProcessPoolExecutor

    Examples
    --------
    >>> from ntkjam.sweep.local_pool import helper_pool
    >>> pool = helper_pool(1)
    >>> pool.submit(sum, [1, 2, 3]).result()
    6
    >>> pool.shutdown()
    """
    return spawn_pool(workers, initializer=_start_helper)


def _take_chunk(queue: deque[Task], size: int, cap: int) -> list[Task]:
    """The first ``size`` tasks of ``queue``, and the rest of the last one's grid point
    when that is no more than ``size`` more tasks (and ``cap`` allows): the seeds of a
    point share its warm-up (compilations, caches), which a second process would pay
    again.

    Examples
    --------
    >>> from collections import deque
    >>> from ntkjam import sweep
    >>> from ntkjam.sweep.local_pool import _take_chunk
    >>> spec = sweep.parse_spec({"experiment": "kernel_summary", "grid": {"n": [4, 8]},
    ...                          "seeds": {"count": 3}})
    >>> queue = deque(sweep.expand(spec))  # n = 4 (3 seeds), then n = 8 (3 seeds)
    >>> [(t.point["n"], t.seed) for t in _take_chunk(queue, 2, 100)]
    [(4, 0), (4, 1), (4, 2)]
    >>> [(t.point["n"], t.seed) for t in _take_chunk(queue, 1, 100)]  # 2 more: > 1
    [(8, 0)]
    """
    batch = [queue.popleft() for _ in range(min(size, len(queue)))]
    extra = 0
    while extra <= size and extra < len(queue) and queue[extra].point == batch[-1].point:
        extra += 1
    if 0 < extra <= size and len(batch) + extra <= cap:
        batch += [queue.popleft() for _ in range(extra)]
    return batch


def run_shared(
    tasks: Sequence[Task], on_result: OnResult, workers: int, chunks: ChunkSizer, *,
    max_in_flight: int | None = None,
    start: Callable[[int], ProcessPoolExecutor] = helper_pool,
) -> None:
    """Run ``tasks`` in this process and on ``workers`` helper processes, sharing one queue.

    Two chunks per helper are kept submitted (at most ``max_in_flight`` tasks, if
    given), cut from the front of the queue and ending with a grid point's last seed
    where that at most doubles them; this process runs the *last* task of the queue
    whenever no chunk is back.  So each grid point's seeds run in one process (but at
    the one point where the two ends meet, and where a point has more seeds than a
    chunk twice over), and its warm-up — a JAX compilation for each new shape, which
    can be most of a sweep's time — is paid once, as in a run in this process alone.
    Finished chunks are handed on task by task, in the chunk's order.  A chunk lost
    with a helper that died runs again one task at a time, nothing else in flight, on
    a new pool; a task lost so is handed on as a worker failure
    (:func:`ntkjam.sweep.executors.worker_failure`).

    Parameters
    ----------
    tasks : sequence of Task
    on_result : callable
        ``on_result(task, outcome)``, called in this process.
    workers : int
        Helper processes, >= 1.
    chunks : ChunkSizer
        Sizes the chunks from the task times seen so far.
    max_in_flight : int, optional
        Most tasks submitted at once.
    start : callable
        ``start(workers)`` returns a new pool (:func:`helper_pool`).

    Examples
    --------
    >>> import sys, tempfile
    >>> from pathlib import Path
    >>> from ntkjam import sweep
    >>> tmp = tempfile.mkdtemp(); sys.path.insert(0, tmp)  # a module of your own experiments
    >>> _ = Path(tmp, "doc_shared_tasks.py").write_text(
    ...     "def square(params, seed):\\n"
    ...     "    return {'x2': params['x'] ** 2}\\n")
    >>> spec = sweep.parse_spec({"experiment": "doc_shared_tasks:square",
    ...                          "grid": {"x": [1, 2, 3, 4]}, "output": tmp + "/run"})
    >>> from ntkjam.sweep.local_pool import run_shared
    >>> from ntkjam.sweep.plan import ChunkSizer
    >>> got = {}
    >>> run_shared(sweep.expand(spec), lambda task, out: got.update({task.key: out}), 1,
    ...            ChunkSizer(fixed=2))
    >>> sorted(o["measurements"]["x2"] for o in got.values())
    [1, 4, 9, 16]
    """
    queue: deque[Task] = deque(tasks)
    alone: deque[Task] = deque()  # the tasks of a lost chunk, one per call
    in_flight: dict[Future, tuple[list[Task], bool]] = {}  # chunk, whether sent alone
    cap = math.inf if max_in_flight is None else max_in_flight
    pool, broken = start(workers), False

    def submit(batch: list[Task], single: bool) -> bool:
        nonlocal broken
        items = [(t.experiment, t.params, t.task_seed) for t in batch]
        try:
            in_flight[pool.submit(execute_chunk, items)] = (batch, single)
        except BrokenProcessPool:  # broken before its futures say so: not run, put back
            (alone if single else queue).extendleft(reversed(batch))
            broken = True
        return not broken

    def top_up() -> None:
        nonlocal pool, broken
        if broken:
            if in_flight:  # the rest of the lost chunks are still to be collected
                return
            stop_pool(pool)
            pool, broken = start(workers), False
        if alone:  # one at a time, nothing beside it: a helper's death is its own doing
            if not in_flight:
                submit([alone.popleft()], True)
            return
        while queue and len(in_flight) < 2 * workers:
            room = cap - sum(len(batch) for batch, _ in in_flight.values())
            if room < 1:
                return
            size = min(chunks.size(len(queue), workers + 1), int(min(room, 2**31)))
            if not submit(_take_chunk(queue, size, int(min(room, 2**31))), False):
                return

    def collect(fut: Future) -> None:
        nonlocal broken
        batch, single = in_flight.pop(fut)
        try:
            outcomes = fut.result()
        except BrokenProcessPool as exc:  # a helper died: every chunk in flight is lost
            broken = True
            if single:
                on_result(batch[0], worker_failure(exc, "helper process"))
            else:
                alone.extend(batch)
            return
        chunks.observe(outcomes)
        for task, outcome in zip(batch, outcomes, strict=True):
            on_result(task, outcome)

    try:
        top_up()
        while queue or alone or in_flight:
            ready = next((f for f in in_flight if f.done()), None)
            if ready is not None:
                collect(ready)
            elif queue:
                task = queue.pop()  # from the far end: see _take_chunk
                outcome = execute_task(task.experiment, task.params, task.task_seed)
                chunks.observe([outcome])
                on_result(task, outcome)
            else:
                wait(list(in_flight), return_when=FIRST_COMPLETED)
            top_up()
    except BaseException:
        stop_pool(pool)  # whatever the helpers run
        raise
    stop_pool(pool)  # nothing left to run: no need to wait for their interpreters' teardown
