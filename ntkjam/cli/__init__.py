"""The ``ntkjam`` command line: one Typer app, one sub-module per command.

Each sub-module defines its command(s) and registers them on :data:`app` in
:func:`_register`; errors from validation reach the user as a one-line message
and exit status 2 (no traceback).  So do Click's own usage errors (a value that is
not an integer, an unknown option): :class:`OneLineErrors` prints them as
``error: Invalid value for '--seeds': 'x' is not a valid integer (see 'ntkjam
phase-diagram --help')`` instead of a usage box.
"""

from __future__ import annotations

from ntkjam.cli._app import app

__all__ = ["app"]


def _register() -> None:
    # Each command module registers its command(s) on ``app`` when imported.
    from ntkjam.cli import (  # noqa: F401
        flow,
        fluctuations,
        generalization,
        kernel,
        kernel_drift,
        phase_diagram,
        report,
        spectrum,
        sphere,
        sweep,
        train,
    )


_register()
