"""Resource limits checked before a task runs: its memory must fit in this machine.

An experiment's ``check_params`` estimates the float64 arrays one task holds at once
(data, features, kernel or Gram matrix) and refuses parameters whose estimate exceeds
the physical memory, with the estimate in the message — instead of a task that dies
with ``MemoryError`` (or takes the machine down) after the run directory was made.
"""

from __future__ import annotations

import os

__all__ = ["check_memory", "format_bytes", "memory_bytes"]

_FALLBACK = 16 * 2**30


def memory_bytes() -> int:
    """Physical memory of this machine in bytes (16 GiB when it cannot be read)."""
    try:
        return int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_PHYS_PAGES"))
    except (AttributeError, OSError, ValueError):
        return _FALLBACK


def format_bytes(n: float) -> str:
    """``3.2 GiB``-style size (``1.2e+25 B`` beyond PiB)."""
    for unit, size in (("PiB", 2**50), ("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20),
                       ("KiB", 2**10)):
        if n >= size:
            return f"{n / size:.3g} {unit}" if n < 1024 * 2**50 else f"{n:.2g} B"
    return f"{int(n)} B"


def check_memory(nbytes: float, what: str, hint: str) -> None:
    """Refuse ``nbytes`` of estimated memory above this machine's physical memory.

    Parameters
    ----------
    nbytes : float
        Estimated peak memory of one task.
    what : str
        The parameters that set it, e.g. ``"P = 10**12 features with phi = 3 (N = ...)"``.
    hint : str
        What to change.

    Raises
    ------
    ValueError
    """
    limit = memory_bytes()
    if nbytes > limit:
        raise ValueError(
            f"{what} needs about {format_bytes(nbytes)} of memory per task, more than this "
            f"machine's {format_bytes(limit)}; {hint}"
        )
