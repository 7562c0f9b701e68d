"""Running the report's sweeps: every study's specs through the sweep engine, timed.

Each study's tasks are stored in its own run directory as they finish
(:func:`ntkjam.sweep.run`), so an interrupted report resumes and a second run of the
same profile computes nothing.  One BLAS thread per task (the instances are small).
The wall and CPU time of each study are measured here (CPU: this process and its
finished children, as :func:`os.times` reports them).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

from ntkjam.core.reprs import SummaryRepr

__all__ = ["StudyRun", "run_studies"]


@dataclass(frozen=True, repr=False)
class StudyRun(SummaryRepr):
    """What running one study did.

    Attributes
    ----------
    name : str
        The study (:data:`ntkjam.report.profiles.STUDIES`).
    total, skipped, ran, failed : int
        Tasks in its specs, already stored, run now, failed (stored as failed).
    wall_time, cpu_time : float
        Seconds of this call (wall clock; user + system CPU of this process and its
        children).
    directories : tuple of str
        Its run directories.

    Examples
    --------
    >>> from ntkjam.report.running import StudyRun
    >>> run = StudyRun("fixed_points", total=8, skipped=6, ran=2, failed=0, wall_time=1.5,
    ...                cpu_time=1.2, directories=("out/runs/fixed_points",))
    >>> run.skipped + run.ran == run.total, run.failed
    (True, 0)
    """

    name: str
    total: int
    skipped: int
    ran: int
    failed: int
    wall_time: float
    cpu_time: float
    directories: tuple


def _cpu() -> float:
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def run_studies(specs: dict[str, tuple], *, workers: int = 1, progress: bool = False,
                echo=None) -> list[StudyRun]:
    """Run (or resume) every study's specs, in order.

    Parameters
    ----------
    specs : dict[str, tuple of SweepSpec]
        From :func:`ntkjam.report.profiles.report_specs`.
    workers : int
        Local processes (1: in this process), as for ``ntkjam sweep run``.
    progress : bool
        The sweep engine's progress bar.
    echo : callable, optional
        ``echo(line)`` after each study (what ran and how long it took).

    Returns
    -------
    list of StudyRun
        One per study, in the order of ``specs``.

    Examples
    --------
    A toy study of two tasks (an experiment of your own, by import path); the second
    call finds both stored and runs nothing:

    >>> import sys, tempfile
    >>> from pathlib import Path
    >>> from ntkjam import sweep
    >>> from ntkjam.report.running import run_studies
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     sys.path.insert(0, tmp)
    ...     _ = Path(tmp, "report_doc_tasks.py").write_text(
    ...         "def double(params, seed):\\n    return {'y': 2 * params['x']}\\n")
    ...     spec = sweep.parse_spec({"experiment": "report_doc_tasks:double",
    ...                              "grid": {"x": [1, 2]}, "seeds": [0],
    ...                              "output": tmp + "/runs/toy"})
    ...     runs = run_studies({"toy": (spec,)}) + run_studies({"toy": (spec,)})
    ...     ys = sorted(sweep.load(tmp + "/runs/toy")["y"])
    ...     sys.path.remove(tmp)
    >>> [(r.name, r.total, r.ran, r.skipped, r.failed) for r in runs], ys
    ([('toy', 2, 2, 0, 0), ('toy', 2, 0, 2, 0)], [2, 4])
    """

    from threadpoolctl import threadpool_limits

    from ntkjam import sweep

    out = []
    for name, study in specs.items():
        t0, c0 = time.perf_counter(), _cpu()
        with threadpool_limits(limits=1):
            summaries = [sweep.run(spec, workers=workers, progress=progress) for spec in study]
        run = StudyRun(
            name=name, total=sum(s.total for s in summaries),
            skipped=sum(s.skipped for s in summaries),
            ran=sum(s.done + s.failed for s in summaries),
            failed=sum(s.failed_total for s in summaries),
            wall_time=time.perf_counter() - t0, cpu_time=_cpu() - c0,
            directories=tuple(str(s.directory) for s in summaries))
        out.append(run)
        if echo is not None:
            echo(f"{name}: {run.total} tasks, {run.skipped} stored, ran {run.ran} in "
                 f"{run.wall_time:.1f} s (CPU {run.cpu_time:.1f} s)")
    return out
