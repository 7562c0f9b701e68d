"""Spawned helper processes: a standard-library pool, and stopping it at once.

Both the sweep engine (:mod:`ntkjam.sweep.local_pool`) and the figures
(:mod:`ntkjam.figures.helper`) run work beside the command's own process in a
:class:`concurrent.futures.ProcessPoolExecutor` of *spawned* processes: fresh
interpreters that inherit no threads (JAX's, BLAS's, a thread pool's), which a forked
copy of this process would.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor

__all__ = ["spawn_pool", "stop_pool"]


def spawn_pool(workers: int, initializer: Callable[[], None] | None = None
               ) -> ProcessPoolExecutor:
    """A pool of up to ``workers`` spawned processes (each started when first needed).

    Parameters
    ----------
    workers : int
        Most processes, >= 1.
    initializer : callable, optional
        Run in each process as it starts (module-level, so that it pickles).

    Returns
    -------
    concurrent.futures.ProcessPoolExecutor

    Examples
    --------
    >>> from ntkjam.core.processes import spawn_pool
    >>> pool = spawn_pool(1)
    >>> pool.submit(pow, 2, 10).result()
    1024
    >>> pool.shutdown()
    """
    return ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"),
                               initializer=initializer)


def stop_pool(pool: ProcessPoolExecutor) -> None:
    """Stop the pool's processes now, whatever they run, and drop what is queued.

    For an error or Ctrl-C in this process, or a pool whose work is done (its
    processes would otherwise take 0.1–0.2 s each to tear their interpreter down).

    Examples
    --------
    >>> from ntkjam.core.processes import spawn_pool, stop_pool
    >>> pool = spawn_pool(1)
    >>> _ = pool.submit(sum, [1, 2])
    >>> stop_pool(pool)
    """
    # ProcessPoolExecutor has no public way to end running calls before Python 3.14.
    processes = list((getattr(pool, "_processes", None) or {}).values())
    for process in processes:
        process.terminate()
    pool.shutdown(wait=False, cancel_futures=True)
    # Reaped here, a few ms after SIGTERM: their CPU time then counts as this process's
    # children's now (os.times), not in whatever this process does next.
    for process in processes:
        process.join(timeout=1.0)
