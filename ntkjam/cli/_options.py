"""CLI options shared by several commands: their declarations and their validation.

Declarations: the ``Annotated`` aliases below (:data:`Data`, :data:`Workers`, …) are
the options that several commands declare alike (same flags, type and help); a
command writes ``data: Data = "sphere"`` and keeps only its own default.

Validation, done before any work starts: each check raises ``ValueError`` naming the
option (``--workers``, ``--n-boot``, …), the value and what is allowed;
:func:`ntkjam.cli._common.friendly_errors` turns it into one red line and exit
status 2.  Commands call these before they create a run or output directory, so a
refused run leaves nothing behind.

Limits: ``--n-boot`` in [2, :data:`ntkjam.analysis.MAX_N_BOOT`]; ``--workers`` in
[1, :func:`max_workers`] (4 × the usable cores: more local processes only
oversubscribe the machine); an output directory must be creatable (not a file,
not under a file, in a writable directory).
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Annotated, Literal

import typer

from ntkjam.cli._choices import DATASETS, LOSSES
from ntkjam.cli._renamed import old_spelling

__all__ = [
    "Data", "InputDim", "Loss", "Model", "OldOut", "PhiMax", "PhiMin", "PhiNum", "Quiet",
    "RunDir", "SphereDim", "TrainPoints", "Workers",
    "check_analysis", "check_output_dir", "check_workers", "input_dim", "max_workers",
    "usable_cores",
]

# ------------------------------------------------------------------ shared declarations
#: ``--data``: the data set (flow, kernel, train).
Data = Annotated[
    Literal[DATASETS],
    typer.Option(help="Data set: sphere (uniform on S^(d-1)), gaussian or digits."),
]
#: ``--n``: the number of training points (flow, train).
TrainPoints = Annotated[int, typer.Option(help="Number of training points N.")]
#: ``--d``: the input dimension, unset for the data set's own (:func:`input_dim`).
InputDim = Annotated[
    int | None, typer.Option(help="Input dimension (default 10; digits are always 64).")
]
#: ``--loss``: the per-sample loss (flow, train).
Loss = Annotated[Literal[LOSSES], typer.Option(help="Loss.")]
#: ``--out``: the hidden, deprecated spelling of ``--output`` (flow, kernel, train).
OldOut = Annotated[Path | None, old_spelling("--out", "--output")]
#: ``--workers``: local worker processes of a sweep (phase diagrams, spectrum).
Workers = Annotated[
    int, typer.Option("--workers", "-w",
                      help="1: in this process. k > 1: this process and k − 1 local helper "
                      "processes, started only when the sampled work pays for them.")
]
#: ``--output``: the run directory of a phase diagram.
RunDir = Annotated[
    Path, typer.Option("--output", "-o", help="Run directory (store, figures, analysis).")
]
#: ``--phi-min``, ``--phi-max``, ``--phi-num``: the φ grid of a phase diagram.
PhiMin = Annotated[float, typer.Option(help="Smallest φ = N/P (> 0).")]
PhiMax = Annotated[float, typer.Option(help="Largest φ.")]
PhiNum = Annotated[int, typer.Option(help="Number of φ values (linspace).")]
#: ``--d`` of a phase diagram: inputs on the sphere.
SphereDim = Annotated[int, typer.Option(help="Input dimension (inputs on the sphere S^(d-1)).")]
#: ``--model``: the crossing model of the analysis.
Model = Annotated[str, typer.Option(help="Crossing model fitted to P(SAT): erf or logistic.")]
#: ``--quiet``: no progress bar.
Quiet = Annotated[bool, typer.Option("--quiet", "-q", metavar="", help="No progress bar.")]


def input_dim(data: str, d: int | None) -> int | None:
    """The ``--d`` to load ``data`` with: 10 when unset, unset for digits (always 64)."""
    if d is None and data != "digits":
        return 10
    return d


# ------------------------------------------------------------------ validation


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


def check_run_directory(directory: Path, experiment: str, params: dict, what: str, *,
                        grid: object = None) -> None:
    """Refuse a run directory that holds another experiment or other fixed settings.

    ``what`` names the study with its article ("a phase diagram"); ``grid``, if given,
    is the spec's grid axes, which must then be the stored ones too.  A directory that
    is not yet a run, or holds no spec, passes.
    """
    from ntkjam.sweep import stored_spec
    from ntkjam.sweep.store import is_run_directory

    if not is_run_directory(directory):
        return
    old = stored_spec(directory)
    if old is None:
        return
    if old.experiment != experiment:
        raise ValueError(f"run directory '{directory}' holds a {old.experiment!r} sweep, not "
                         f"{what}; choose another --output")
    params = dict(params)
    diff = sorted(k for k in set(old.params) | set(params)
                  if old.params.get(k) != params.get(k))
    if diff:
        k = diff[0]
        setting = f"{k}={old.params.get(k)!r}, not {params.get(k)!r}"
    elif grid is not None and set(old.grid) != set(grid):
        setting = f"the grid over {', '.join(old.grid)}"
    else:
        return
    raise ValueError(f"run directory '{directory}' holds {what} with {setting}; use another "
                     "--output (the grid and seeds may change between runs, the fixed "
                     "settings may not)")


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
