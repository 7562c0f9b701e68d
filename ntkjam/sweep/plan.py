"""How a sweep's work is shared out: chunk sizes, and whether helper processes pay.

* :class:`ChunkSizer` — how many tasks to hand a worker per call, so that a call holds
  about :data:`CHUNK_SECONDS` of measured task time (a Dask call costs milliseconds
  of scheduling, more than many a task).
* :func:`plan_local` — from the times of a sample run in this process
  (:class:`Timings`), whether worker processes started beside it would save more
  than they cost to start and stop (:data:`START_CPU_SECONDS`,
  :data:`WORKER_START_CPU_SECONDS`, :data:`CLOSE_SECONDS`, measured here).

* :func:`tasks_to_run` — the tasks of a spec that a run has to do (missing, damaged,
  failed when retried).

Nothing here runs a task: :mod:`ntkjam.sweep.executors` does.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ntkjam.sweep.spec import SweepSpec, Task
from ntkjam.sweep.store import Store

__all__ = [
    "CHUNK_SECONDS",
    "CLOSE_SECONDS",
    "JAX_IMPORT_CPU_SECONDS",
    "MAX_CHUNK",
    "SAMPLE_COUNT",
    "SAMPLE_SECONDS",
    "START_CPU_SECONDS",
    "WORKER_START_CPU_SECONDS",
    "ChunkSizer",
    "Plan",
    "Timings",
    "plan_local",
    "tasks_to_run",
]

#: Task time a worker call should hold at least (seconds), once task times are known:
#: each call costs both processes milliseconds of CPU in Dask's event loops (on the main
#: job, 0.5 s chunks spent 1.5 s less CPU there than 0.1 s chunks).
CHUNK_SECONDS = 0.5
#: The most tasks in one chunk.
MAX_CHUNK = 1000
#: The in-process sample stops after this many timed tasks, or this many seconds.
SAMPLE_COUNT = 32
SAMPLE_SECONDS = 0.3
#: What helper processes (:mod:`ntkjam.sweep.local_pool`) cost, measured on 2 cores
#: (Python 3.11): this process spends about this much CPU spawning them (5 ms
#: measured) …
START_CPU_SECONDS = 0.02
#: … each helper about this much while it starts: the interpreter, ``ntkjam.sweep``
#: and NumPy (0.33 s measured; what its first task imports beyond that is the
#: experiment's warm-up, measured on the sample's first task) …
WORKER_START_CPU_SECONDS = 0.5
#: … and stopping them takes about this long (0.04 s measured idle, 0.1 s once they
#: have imported SciPy and JAX).
CLOSE_SECONDS = 0.1
#: What a helper spends importing JAX when the tasks need it (1.25 s measured by
#: ``python -X importtime -c "import jax"`` on 2 cores, jax 0.10.2, and the rest of
#: ``ntkjam``'s JAX modules), which this process paid before its sample.  Counted
#: whenever JAX is loaded here after the sample (by the tasks, or by earlier work of
#: this process: then the estimate errs on the side of staying in-process).
JAX_IMPORT_CPU_SECONDS = 1.5


@dataclass(frozen=True)
class Timings:
    """Times measured on tasks run in this process (the first task left out).

    Attributes
    ----------
    tasks : int
        Tasks timed.
    inside : float
        Seconds spent inside the experiment, summed over them.
    total : float
        Seconds per task and its storing (the whole loop), summed over them.
    first : float
        Seconds inside the experiment of the first task, which paid for its imports
        and caches (as each new worker process will).
    cpu : float or None
        CPU seconds of this process (all its threads) over the timed tasks, when
        measured: above ``total`` when the tasks already use more than one core (XLA's
        threads), which helper processes would compete for.
    repeats : int
        Of the timed tasks, those run right after another seed of their grid point.
    repeat_inside : float
        Their seconds inside the experiment: a task without its point's warm-up.

    Examples
    --------
    >>> from ntkjam.sweep.plan import Timings, plan_local
    >>> sample = Timings(tasks=4, inside=0.004, total=0.008, first=0.01)  # 2 ms per task
    >>> plan_local(sample, remaining=100, workers=4, cores=4).workers  # not worth helpers
    0
    """

    tasks: int
    inside: float
    total: float
    first: float = 0.0
    cpu: float | None = None
    repeats: int = 0
    repeat_inside: float = 0.0


class ChunkSizer:
    """How many tasks to hand a worker per call: about :data:`CHUNK_SECONDS` of work.

    The time per task is the mean of the last 256 measured task times (in-process or
    from returned chunks); before any is known a chunk is one task.  Near the end the
    chunks shrink to a fair share (the tasks left over twice the executors), so that
    no worker is left with a long last chunk while the others idle.

    Parameters
    ----------
    fixed : int, optional
        Always this many tasks per chunk (fewer at the very end).
    target : float
        Seconds of task time per call.
    on_change : callable, optional
        Called with the new size whenever the size handed out changes.

    Examples
    --------
    >>> from ntkjam.sweep.plan import ChunkSizer
    >>> sizer = ChunkSizer(target=0.1)
    >>> sizer.size(remaining=1000, executors=2)  # nothing measured yet: one task
    1
    >>> sizer.observe([{"wall_time": 0.001}] * 10)  # 1 ms per task
    >>> sizer.size(remaining=1000, executors=2), sizer.size(remaining=20, executors=2)
    (100, 5)
    """

    def __init__(self, fixed: int | None = None, target: float = CHUNK_SECONDS,
                 on_change: Callable[[int], None] | None = None):
        self._fixed, self._target, self._on_change = fixed, target, on_change
        self._times: deque[float] = deque(maxlen=256)
        self.last = 0
        self.largest = 0

    def observe(self, outcomes: Iterable[Mapping[str, Any]]) -> None:
        """Record the task times of finished outcomes (failed workers' NaN left out).

        Parameters
        ----------
        outcomes : iterable of mapping
            Each with a ``"wall_time"`` in seconds.

        Examples
        --------
        >>> sizer = ChunkSizer()
        >>> sizer.observe([{"wall_time": 0.5}, {"wall_time": float("nan")}])
        >>> sizer.per_task()
        0.5
        """
        self._times.extend(o["wall_time"] for o in outcomes if math.isfinite(o["wall_time"]))

    def per_task(self) -> float | None:
        """Mean seconds per task of the recent measurements (None before any).

        Examples
        --------
        >>> sizer = ChunkSizer()
        >>> print(sizer.per_task())
        None
        >>> sizer.observe([{"wall_time": 1.0}, {"wall_time": 2.0}])
        >>> sizer.per_task()
        1.5
        """
        return sum(self._times) / len(self._times) if self._times else None

    def size(self, remaining: int, executors: int) -> int:
        """Tasks for the next chunk, with ``remaining`` tasks left for ``executors``.

        Parameters
        ----------
        remaining : int
            Tasks not yet handed out.
        executors : int
            Processes taking chunks.

        Returns
        -------
        int
            Between 1 and ``remaining`` (1 when nothing is left).

        Examples
        --------
        >>> sizer = ChunkSizer(target=1.0)
        >>> sizer.observe([{"wall_time": 0.1}])  # 10 tasks make a second
        >>> sizer.size(1000, 4), sizer.size(24, 4), sizer.size(3, 4)
        (10, 3, 1)
        >>> ChunkSizer(fixed=8).size(5, 1)
        5
        """
        per_task = self.per_task()
        if self._fixed is not None:
            want = self._fixed
        elif per_task is None:
            want = 1
        else:
            fair = math.ceil(remaining / (2 * max(executors, 1)))
            want = min(math.ceil(self._target / max(per_task, 1e-7) - 1e-9), fair, MAX_CHUNK)
        size = max(1, min(want, remaining))
        if size != self.last and self._on_change is not None:
            self._on_change(size)
        self.last, self.largest = size, max(self.largest, size)
        return size


@dataclass(frozen=True)
class Plan:
    """Where the rest of a sweep runs, decided from an in-process sample.

    Attributes
    ----------
    workers : int
        Worker processes to start beside this process (0: the rest runs in-process).
    text : str
        The choice and its reason, as shown on the progress line and in the summary.

    Examples
    --------
    >>> from ntkjam.sweep.plan import Plan, Timings, plan_local
    >>> plan = plan_local(Timings(tasks=4, inside=40.0, total=40.1), 100, 4, 4)  # 10 s tasks
    >>> isinstance(plan, Plan), plan.workers, plan.text.startswith("this process + 3 worker")
    (True, 3, True)
    """

    workers: int
    text: str


def plan_local(timings: Timings, remaining: int, workers: int, cores: int, *,
               points: int | None = None, imports_jax: bool = False) -> Plan:
    """Whether ``workers - 1`` worker processes beside this one would pay for themselves.

    The sample gives the seconds per task in this process, ``t`` inside the experiment
    and ``s`` storing it, and ``c``, the cores it kept busy (CPU time over wall time,
    ≥ 1).  Alone, the ``remaining`` tasks take ``n (t + s)``; shared by ``k =
    min(workers, cores)`` processes about ``n max((t + s) / k, (t + s) c / cores, s)``
    (this process stores every row; tasks that already use ``c`` cores leave fewer for
    the others).  The helpers cost :data:`CLOSE_SECONDS` plus the
    CPU spent starting them (:data:`START_CPU_SECONDS`, and for each worker
    :data:`WORKER_START_CPU_SECONDS` and the experiment's warm-up, what the first task
    took beyond the others) spread over the ``k`` cores; the workers start only when
    the saving exceeds that cost.

    Parameters
    ----------
    timings : Timings
        Of the sample (:func:`ntkjam.sweep.executors.run_sample`).
    remaining : int
        Tasks left after the sample.
    workers : int
        Processes asked for (this one included).
    cores : int
        Usable cores.
    points : int, optional
        Grid points among the ``remaining`` tasks.  With it, and repeats in the sample,
        each point's warm-up is counted once, not once per seed.
    imports_jax : bool
        Whether the tasks use JAX, which each helper then imports
        (:data:`JAX_IMPORT_CPU_SECONDS`).

    Returns
    -------
    Plan

    Examples
    --------
    Tiny tasks stay in this process; long ones get ``workers - 1`` helpers, capped by the
    usable cores:

    >>> from ntkjam.sweep.plan import Timings, plan_local
    >>> plan_local(Timings(tasks=4, inside=0.004, total=0.008), 100, 4, 4).workers
    0
    >>> long = Timings(tasks=4, inside=40.0, total=40.1)
    >>> plan_local(long, 100, 4, 4).workers, plan_local(long, 100, 4, 1).workers
    (3, 0)

    Tasks that keep both cores of a 2-core machine busy on their own (XLA's threads)
    gain nothing from a second process:

    >>> threaded = Timings(tasks=4, inside=4.0, total=4.0, cpu=8.0)
    >>> plan_local(threaded, 100, 2, 2).text  # doctest: +NORMALIZE_WHITESPACE
    'in-process (est. 100.0 s of work left: 2 processes would save ~0.0 s, their
    start-up costs ~0.4 s)'
    """
    if remaining == 0:
        return Plan(0, "in-process (every task ran in the sample)")
    if timings.tasks == 0:
        return Plan(0, "in-process (too few tasks to share)")
    per_task = timings.total / timings.tasks
    storing = max(per_task - timings.inside / timings.tasks, 0.0)
    alone = remaining * per_task
    cold = timings.inside / timings.tasks
    if points is not None and 0 < timings.repeats < timings.tasks:
        # Tasks of the same point after its first pay no warm-up: a sample of mostly
        # first seeds would count each point's compilations once per seed.
        cold = (timings.inside - timings.repeat_inside) / (timings.tasks - timings.repeats)
        warm = timings.repeat_inside / timings.repeats
        alone = remaining * (warm + storing) + min(points, remaining) * max(cold - warm, 0.0)
    k = min(workers, cores, remaining + 1)
    extra = min(workers - 1, remaining)
    # Cores in use while this process alone runs a task; k processes cannot share
    # more than the usable cores.
    busy = max(1.0, timings.cpu / timings.total) if timings.cpu and timings.total > 0 else 1.0
    shared = max(alone / max(k, 1), alone * busy / cores, remaining * storing)
    warm_up = (WORKER_START_CPU_SECONDS + JAX_IMPORT_CPU_SECONDS * imports_jax
               + max(timings.first - cold, 0))
    cost = CLOSE_SECONDS + (START_CPU_SECONDS + warm_up * extra) / max(k, 1)
    if k > 1 and alone - shared > cost:
        return Plan(extra, f"this process + {extra} worker process{'es' * (extra > 1)} "
                           f"(est. {alone:.1f} s of work left, ~{shared:.1f} s shared, "
                           f"start-up ~{cost:.1f} s)")
    why = (f"{cores} usable core{'s' * (cores > 1)}" if k < 2 else
           f"{k} processes would save ~{max(alone - shared, 0):.1f} s, their start-up "
           f"costs ~{cost:.1f} s")
    return Plan(0, f"in-process (est. {alone:.1f} s of work left: {why})")


def tasks_to_run(
    store: Store,
    tasks: list[Task],
    spec: SweepSpec,
    stored: Mapping[str, str],
    damaged: set[str],
    retry_failed: bool,
) -> tuple[list[Task], int]:
    """``(tasks to run, number of the spec's tasks skipped)``: what a run has to do.

    A task runs when it is not stored, its row is damaged, or (``retry_failed``) it is
    stored as failed; damaged rows of earlier versions of the spec (keys the spec no
    longer expands to) are rebuilt from their stored row and run after the others.

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
    >>> from ntkjam.sweep.plan import tasks_to_run
    >>> from ntkjam.sweep.store import Store
    >>> _ = sweep.run(sweep.parse_spec({"experiment": "doc_tasks:square", "grid": {"x": [1]},
    ...                                 "seeds": [0, 1], "output": tmp + "/run"}))
    >>> with Store(tmp + "/run") as store:
    ...     todo, skipped = tasks_to_run(store, sweep.expand(spec), spec, store.statuses(),
    ...                                  set(), retry_failed=False)
    >>> len(todo), skipped  # x = 1 is stored for both seeds
    (4, 2)
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
