"""The ``ntkjam`` command line: one Typer app, one sub-module per command.

Each sub-module defines its command(s) and registers them on the app when imported;
errors from validation reach the user as a one-line message and exit status 2 (no
traceback).  So do Click's own usage errors (a value that is not an integer, an
unknown option): :class:`~ntkjam.cli._app.OneLineErrors` prints them as ``error:
Invalid value for '--seeds': 'x' is not a valid integer (see 'ntkjam phase-diagram
--help')`` instead of a usage box.

``ntkjam.cli.app`` is the whole command line, every command registered.  The
``ntkjam`` script (:mod:`ntkjam.__main__`) registers only the command it is given
(:func:`load`): the modules of the others import JAX, SciPy's statistics and
matplotlib, a second of start-up that ``ntkjam phase-diagram`` or ``ntkjam sweep
status`` does not need.
"""

from __future__ import annotations

from typing import Any

__all__ = ["COMMANDS", "app", "load"]

#: Each top-level command (or command group) → the sub-module that registers it.
COMMANDS: dict[str, str] = {
    "flow": "flow",
    "fluctuations": "fluctuations",
    "generalization": "generalization",
    "jamming-sphere": "sphere",
    "kernel": "kernel",
    "kernel-drift": "kernel_drift",
    "phase-diagram": "phase_diagram",
    "report": "report",
    "spectrum": "spectrum",
    "sweep": "sweep",
    "train": "train",
    "trained-diagram": "phase_diagram",
}


def load(command: str | None = None) -> Any:
    """The Typer app with ``command`` registered, or every command.

    Parameters
    ----------
    command : str or None
        A key of :data:`COMMANDS`; None (or a name that is not one) registers all.

    Returns
    -------
    typer.Typer
        The app (one object: a later call registers more commands on it).

    Examples
    --------
    >>> import typer
    >>> from ntkjam.cli import load
    >>> "phase-diagram" in typer.main.get_command(load("phase-diagram")).commands
    True
    """
    from importlib import import_module

    from ntkjam.cli._app import app

    names = [COMMANDS[command]] if command in COMMANDS else sorted(set(COMMANDS.values()))
    for name in names:
        import_module(f"ntkjam.cli.{name}")  # registers its command(s) on ``app``
    return app


def __getattr__(name: str) -> Any:
    if name == "app":
        return load()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
