"""BLAS threads for small dense solves: one, whatever the environment sets.

The exact solvers factor and solve matrices of a few hundred to a few thousand rows,
thousands of times per sweep.  OpenBLAS threads make them slower, not faster, at these
sizes: on the 2-core development machine, with two threads, the exact minimum of an
instance at N = 400, P = 200 took 47 ms instead of 5 ms, and at N = 2000, P = 1000
2.1 s instead of 1.0 s (idle; docs/jamming.md).  :func:`one_blas_thread` runs a block
with the BLAS libraries on one thread and restores the caller's counts after, through
threadpoolctl's cached controller (~10 µs a block).  Blocks nest.  As threadpoolctl
does for OpenBLAS's process-wide pool, only one Python thread at a time controls the
count: a block entered from another thread while one controls it changes nothing.
"""

from __future__ import annotations

from typing import Any

from threadpoolctl import get_cached_controller

__all__ = ["blas_threads", "one_blas_thread"]


def blas_threads() -> int:
    """The largest thread count of the loaded BLAS libraries now.

    Returns
    -------
    int
        0 when no BLAS library is loaded.

    Examples
    --------
    >>> from ntkjam.core.threads import blas_threads, one_blas_thread
    >>> with one_blas_thread():
    ...     print(blas_threads())
    1
    """
    libs = get_cached_controller().select(user_api="blas").info()
    return max((lib["num_threads"] for lib in libs), default=0)


def one_blas_thread() -> Any:
    """A context in which the BLAS libraries use one thread; the counts are restored after.

    Returns
    -------
    context manager
        threadpoolctl's limiter; the limit holds from the call to the end of the
        ``with`` block.

    Examples
    --------
    >>> from threadpoolctl import threadpool_limits
    >>> from ntkjam.core.threads import blas_threads, one_blas_thread
    >>> with threadpool_limits(limits=2, user_api="blas"):
    ...     with one_blas_thread():
    ...         inside = blas_threads()
    ...     after = blas_threads()
    >>> inside, after
    (1, 2)
    """
    return get_cached_controller().limit(limits=1, user_api="blas")
