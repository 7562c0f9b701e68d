"""Where the tasks of a sweep run: in this process, a sample then workers, or on Dask.

:func:`ntkjam.sweep.run` hands the tasks still to run to :func:`run_tasks`, which places
them as the options of the run say (:class:`Placement`):

* ``workers=1`` — in this process, one after the other;
* ``workers=k > 1`` (``cluster="auto"``) — in this process first, on a sample of the
  tasks spread over the sweep; from its times (:func:`ntkjam.sweep.plan.plan_local`)
  either the rest runs in this process too (the estimated saving of k workers is below
  what k − 1 more processes cost to start and stop), or k − 1 helper processes are
  started in the background and share the rest with this process, which keeps running
  tasks while they start (:mod:`ntkjam.sweep.local_pool`: a pool of the standard
  library, not Dask, whose scheduler would cost this process more CPU than it saves);
* ``cluster="always"`` (or the dashboard asked for) — a Dask ``LocalCluster`` of k
  worker processes runs every task (this process only stores);
* ``scheduler="tcp://host:8786"`` — on an existing Dask cluster (e.g. one started by
  dask-jobqueue on SLURM/PBS).

Workers are handed chunks of tasks of about 0.5 s of work each
(:class:`ntkjam.sweep.plan.ChunkSizer`).  Every process running tasks next to others
uses one BLAS thread (this one and the helpers through ``threadpoolctl``, Dask's
workers through ``OMP_NUM_THREADS=1`` and the like).  Workers only compute and return
results; the parent is the only writer of the store and commits each row as soon as
its task's result is back.  At most two chunks per worker are handed out at a time, so
an interrupted run loses at most the chunks in flight.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

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
from ntkjam.sweep.local_pool import run_shared
from ntkjam.sweep.plan import ChunkSizer, plan_local
from ntkjam.sweep.progress import ProgressBar
from ntkjam.sweep.spec import Task

__all__ = ["Commit", "Placement", "default_workers", "run_tasks"]

#: ``commit(task, outcome, written=None)``: store the row of a finished task.
Commit = Callable[..., None]


def default_workers() -> int:
    """The cores this process may use (its CPU affinity), the default of ``workers``.

    Examples
    --------
    >>> from ntkjam.sweep.placement import default_workers
    >>> default_workers() >= 1
    True
    """
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - macOS
        return os.cpu_count() or 1


@dataclass(frozen=True)
class Placement:
    """How to run: the options of :func:`ntkjam.sweep.run` that choose where tasks go.

    Attributes
    ----------
    workers : int
        Processes to run on (1: this one only).
    scheduler : str or None
        Address of an existing Dask scheduler.
    dashboard : bool
        Start the Dask dashboard of a local cluster.
    max_in_flight : int or None
        Most tasks handed to Dask at once (None: two chunks per worker).
    cluster : {"auto", "always"}
        Start a local cluster when the sampled work says it pays, or always.
    chunk_size : int or None
        Tasks per Dask call (None: sized from measured times).

    Examples
    --------
    >>> from ntkjam.sweep.placement import Placement
    >>> how = Placement(workers=2, scheduler=None, dashboard=False, max_in_flight=None,
    ...                 cluster="auto", chunk_size=None)
    >>> how.workers, how.cluster
    (2, 'auto')
    """

    workers: int
    scheduler: str | None
    dashboard: bool
    max_in_flight: int | None
    cluster: str
    chunk_size: int | None


def run_tasks(todo: list[Task], commit: Commit, bar: ProgressBar, how: Placement,
              directory: Path) -> str:
    """Run ``todo`` as ``how`` says; what was done, in words.

    The text is :attr:`ntkjam.sweep.run.RunSummary.execution`.  With one worker each row
    is committed before the next task starts; otherwise the array files are written
    ahead of their rows on a few threads (:class:`ntkjam.sweep.integrity.AheadWriter`).

    Parameters
    ----------
    todo : list of Task
        The tasks to run.
    commit : Commit
        Called as ``commit(task, outcome, written)`` for each finished task, in this
        process (``written``: the array file already written ahead, or absent).
    bar : ProgressBar
        Shows where the tasks run.
    how : Placement
        Where to run them.
    directory : Path
        The run directory (where array files are written ahead).

    Returns
    -------
    str
        Where the tasks ran and why (e.g. ``"in-process (--workers 1)"``).

    Examples
    --------
    >>> import sys, tempfile
    >>> from pathlib import Path
    >>> from ntkjam import sweep
    >>> tmp = tempfile.mkdtemp(); sys.path.insert(0, tmp)  # a module of your own experiments
    >>> _ = Path(tmp, "doc_tasks.py").write_text(
    ...     "def square(params, seed):\\n"
    ...     "    return {'x2': params['x'] ** 2}\\n")
    >>> spec = sweep.parse_spec({"experiment": "doc_tasks:square", "grid": {"x": [1, 2, 3]},
    ...                          "output": tmp + "/run"})
    >>> from ntkjam.sweep.placement import Placement, run_tasks
    >>> from ntkjam.sweep.progress import ProgressBar
    >>> how = Placement(1, None, False, None, "auto", None)
    >>> got = []
    >>> bar = ProgressBar(False, total=3, completed=0, label="demo")
    >>> run_tasks(sweep.expand(spec), lambda task, out, written=None: got.append(out), bar,
    ...           how, Path(tmp))
    'in-process (--workers 1)'
    >>> sorted(o["measurements"]["x2"] for o in got), run_tasks([], None, bar, how, Path(tmp))
    ([1, 4, 9], 'nothing to run')
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

        if how.scheduler is not None or how.cluster == "always" or how.dashboard:
            return _on_dask(todo, on_result, bar, how)
        return _auto(todo, on_result, bar, how, ahead.drain)


def _chunks_text(chunks: ChunkSizer) -> str:
    return f"chunks of up to {chunks.largest} task{'s' * (chunks.largest > 1)}"


def _on_dask(todo: list[Task], on_result: OnResult, bar: ProgressBar, how: Placement) -> str:
    """Every task on Dask: an existing scheduler, or a local cluster of ``how.workers``."""
    n = min(how.workers, len(todo))
    where = (f"Dask scheduler {how.scheduler}" if how.scheduler is not None
             else f"{n} Dask worker{'s' * (n > 1)}")
    chunks = ChunkSizer(how.chunk_size, on_change=lambda k: bar.show(f"{where}, chunks of {k}"))
    bar.show(where)
    with dask_client(n, how.scheduler, how.dashboard, bar.say) as client:
        run_dask(todo, on_result, client, Window(client, how.max_in_flight), chunks)
    return f"{where}, {_chunks_text(chunks)}"


def _auto(todo: list[Task], on_result: OnResult, bar: ProgressBar, how: Placement,
          drain: Callable[[], None]) -> str:
    """A sample in-process, then the rest in-process or shared with new worker processes."""
    bar.show("in-process (timing a sample)")
    rest, timings = run_sample(todo, on_result, flush=drain)
    points = len({json.dumps(t.point, sort_keys=True, default=str) for t in rest})
    plan = plan_local(timings, len(rest), how.workers, default_workers(), points=points,
                      imports_jax="jax" in sys.modules)
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

    # This process runs tasks beside the helpers: one BLAS thread, as each of them.
    with threadpool_limits(limits=1):
        run_shared(rest, on_result, plan.workers, chunks, max_in_flight=how.max_in_flight)
    return f"{plan.text}, {_chunks_text(chunks)}"
