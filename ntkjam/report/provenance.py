"""Where a report comes from: versions, git revision, command line, machine.

Recorded in both documents so that a reader can rerun exactly the same study.
"""

from __future__ import annotations

import os
import platform
import sys
from datetime import UTC, datetime

__all__ = ["provenance"]


def _version(module: str) -> str:
    try:
        from importlib.metadata import version

        return version(module)
    except Exception:  # noqa: BLE001 - a missing distribution is just "unknown"
        return "unknown"


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def provenance(command_line: str, *, profile: str, workers: int) -> dict[str, str]:
    """The facts a report records about its own making.

    Parameters
    ----------
    command_line : str
        The command as typed (``ntkjam report --quick ...``).
    profile : str
    workers : int

    Returns
    -------
    dict[str, str]
        ``ntkjam``, ``git revision`` ("unknown" outside a git checkout), ``command line``,
        ``profile``, ``workers``, ``CPU count`` (usable / present), ``platform``,
        ``Python``, ``JAX``, ``NumPy``, ``generated`` (UTC).

    Examples
    --------
    >>> from ntkjam.report.provenance import provenance
    >>> facts = provenance("ntkjam report --smoke", profile="smoke", workers=2)
    >>> list(facts)  # doctest: +NORMALIZE_WHITESPACE
    ['ntkjam', 'git revision', 'command line', 'profile', 'workers', 'CPU count',
     'platform', 'Python', 'JAX', 'NumPy', 'generated']
    >>> facts["command line"], facts["workers"], facts["generated"].endswith(" UTC")
    ('ntkjam report --smoke', '2', True)
    """

    from ntkjam._version import __version__
    from ntkjam.sweep import git_revision

    return {
        "ntkjam": __version__,
        "git revision": git_revision() or "unknown",
        "command line": command_line,
        "profile": profile,
        "workers": str(workers),
        "CPU count": f"{_cores()} usable of {os.cpu_count()}",
        "platform": platform.platform(),
        "Python": sys.version.split()[0],
        "JAX": _version("jax"),
        "NumPy": _version("numpy"),
        "generated": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }
