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
    """Physical memory of this machine in bytes (16 GiB when it cannot be read).

    Returns
    -------
    int
        Page size times the number of physical pages.

    Examples
    --------
    >>> from ntkjam.core.limits import memory_bytes
    >>> memory_bytes() > 2**20
    True
    """
    try:
        return int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_PHYS_PAGES"))
    except (AttributeError, OSError, ValueError):
        return _FALLBACK


def format_bytes(n: float) -> str:
    """``3.2 GiB``-style size (``1.2e+25 B`` beyond PiB).

    Parameters
    ----------
    n : float
        A size in bytes.

    Returns
    -------
    str
        Three significant digits and the largest binary unit not above ``n``.

    Examples
    --------
    >>> from ntkjam.core.limits import format_bytes
    >>> format_bytes(512), format_bytes(3 * 2**30), format_bytes(1536)
    ('512 B', '3 GiB', '1.5 KiB')
    """
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

    Examples
    --------
    >>> from ntkjam.core.limits import check_memory
    >>> check_memory(8 * 100**2, "N = 100 points", "use fewer points")   # fits: no error
    >>> try:
    ...     check_memory(2.0**80, "P = 10**12 features", "lower P")
    ... except ValueError as exc:
    ...     print(str(exc)[:30], "...", str(exc).endswith("lower P"))
    P = 10**12 features needs abou ... True
    """
    limit = memory_bytes()
    if nbytes > limit:
        raise ValueError(
            f"{what} needs about {format_bytes(nbytes)} of memory per task, more than this "
            f"machine's {format_bytes(limit)}; {hint}"
        )
