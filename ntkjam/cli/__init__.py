"""The ``ntkjam`` command line: one Typer app, one sub-module per command.

Each sub-module defines its command(s) and registers them on :data:`app` in
:func:`_register`; errors from validation reach the user as a one-line message
and exit status 2 (no traceback).
"""

from __future__ import annotations

import typer

app = typer.Typer(
    name="ntkjam",
    help="Jamming of neural networks in function space, through the neural tangent kernel.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _main() -> None:
    """Jamming of neural networks in function space, through the neural tangent kernel.

    Conventions: N = training points, P = parameters (features), φ = N/P.
    """


def _register() -> None:
    # Imported here so that `ntkjam --help` stays fast and each command module
    # can import heavy dependencies lazily.
    from ntkjam.cli import flow, kernel, phase_diagram, spectrum, sweep, train  # noqa: F401


_register()
