"""Validation of CLI options shared by several commands, done before any work starts.

Each check raises ``ValueError`` naming the option (``--workers``, ``--n-boot``, …), the
value and what is allowed; :func:`ntkjam.cli._common.friendly_errors` turns it into
one red line and exit status 2.  Commands call these before they create a run or
output directory, so a refused run leaves nothing behind.

Limits: ``--n-boot`` in [2, :data:`ntkjam.analysis.MAX_N_BOOT`]; ``--workers`` in
[1, :func:`max_workers`] (4 × the usable cores: more local processes only
oversubscribe the machine); an output directory must be creatable (not a file,
not under a file, in a writable directory).
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

__all__ = ["check_analysis", "check_output_dir", "check_workers", "max_workers", "usable_cores"]


def usable_cores() -> int:
    """Cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def max_workers() -> int:
    """The most local worker processes a command accepts: 4 × the usable cores."""
    return 4 * usable_cores()


def check_workers(workers: int, option: str = "--workers") -> int:
    """``1 ≤ workers ≤ max_workers()``."""
    if workers < 1:
        raise ValueError(f"{option} must be >= 1 (1 runs in this process), got {workers}")
    limit = max_workers()
    if workers > limit:
        raise ValueError(
            f"{option} must be <= {limit} (4 x the {usable_cores()} usable cores), got {workers}"
        )
    return workers


def check_analysis(model: str, n_boot: int) -> tuple[str, int]:
    """The crossing model (``--model``) and the bootstrap size (``--n-boot``)."""
    from ntkjam.analysis import MAX_N_BOOT, MODELS

    if model not in MODELS:
        raise ValueError(f"--model must be one of {', '.join(MODELS)}, got {model!r}")
    if not 2 <= n_boot <= MAX_N_BOOT:
        raise ValueError(
            f"--n-boot must be between 2 and {MAX_N_BOOT} (bootstrap samples per curve), "
            f"got {n_boot}"
        )
    return model, n_boot


def check_output_dir(path: Path, option: str = "--output") -> Path:
    """Refuse an output directory that cannot be a directory or cannot be created.

    Nothing is left behind.  Refused: an existing path that is not a directory
    (a file, ``/dev/null``) or not writable, a path under a file, a path whose
    nearest existing ancestor is not writable, or one that ``mkdir`` refuses
    (tried, then removed again: the super-user passes every permission check, and
    some file systems refuse only at ``mkdir``).
    """
    path = Path(path).expanduser()
    if path.exists():
        if not path.is_dir():
            raise ValueError(f"{option} '{path}' exists and is not a directory")
        if not os.access(path, os.W_OK | os.X_OK):
            raise ValueError(f"{option} '{path}' is not writable")
        return path
    missing = [path.absolute()]
    while not missing[-1].parent.exists() and missing[-1].parent != missing[-1]:
        missing.append(missing[-1].parent)
    parent = missing[-1].parent
    if not parent.is_dir():
        raise ValueError(f"{option} '{path}' cannot be created: '{parent}' is not a directory")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise ValueError(f"{option} '{path}' cannot be created: '{parent}' is not writable")
    # The super-user passes os.access everywhere, and some file systems (sysfs, procfs,
    # read-only mounts seen as writable) refuse only at mkdir: try it, then undo it.
    created = []
    try:
        for d in reversed(missing):
            d.mkdir()
            created.append(d)
    except OSError as exc:
        raise ValueError(
            f"{option} '{path}' cannot be created: {exc.strerror or exc} ('{exc.filename}')"
        ) from None
    finally:
        for d in reversed(created):
            with contextlib.suppress(OSError):
                d.rmdir()
    return path
