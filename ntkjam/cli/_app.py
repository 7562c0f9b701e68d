"""The Typer app and its one-line error handling (the commands register on it).

Kept apart from :mod:`ntkjam.cli` so that command modules import the app from here
and the package only imports the commands: no import cycle.
"""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer
import typer.core

try:  # typer >= 0.2x vendors Click as typer._click; earlier versions use Click itself
    from typer._click import echo as _echo
    from typer._click import exceptions as _click_exceptions
except ImportError:  # pragma: no cover - depends on the typer version
    from click import echo as _echo
    from click import exceptions as _click_exceptions


class OneLineErrors(typer.core.TyperGroup):
    """The top-level group: Click usage errors as one red line on stderr, exit status 2."""

    def main(self, *args: Any, standalone_mode: bool = True, **kwargs: Any) -> Any:
        if not standalone_mode:
            return super().main(*args, standalone_mode=False, **kwargs)
        try:
            rv = super().main(*args, standalone_mode=False, **kwargs)
        except _click_exceptions.UsageError as exc:
            if type(exc).__name__ != "NoArgsIsHelpError":  # that one printed the help
                from rich.markup import escape

                from ntkjam.cli._common import err_console

                ctx = getattr(exc, "ctx", None)
                hint = f" (see '{ctx.command_path} --help')" if ctx is not None else ""
                text = " ".join(exc.format_message().split())
                err_console.print(f"[bold red]error:[/] {escape(text)}{escape(hint)}",
                                  highlight=False)
            sys.exit(exc.exit_code)
        except _click_exceptions.ClickException as exc:
            exc.show()
            sys.exit(exc.exit_code)
        except typer.Abort:
            _echo("Aborted!", err=True)
            sys.exit(1)
        sys.exit(rv if isinstance(rv, int) else 0)


app = typer.Typer(
    name="ntkjam",
    cls=OneLineErrors,
    help="Jamming of neural networks in function space, through the neural tangent kernel.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _device(value: str) -> str:
    from ntkjam.core.device import DEVICES, select_device

    if value not in DEVICES:
        raise typer.BadParameter(f"{value!r}: must be one of {', '.join(DEVICES)}")
    if value != "auto":
        try:
            select_device(value)
        except ValueError as exc:
            raise typer.BadParameter(str(exc).removeprefix(f"device = {value!r}: ")) from exc
    return value


def _version(value: bool) -> None:
    if value:
        from ntkjam._version import __version__

        typer.echo(f"ntkjam {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True,
                     help="Print the version and exit."),
    ] = False,
    device: Annotated[
        str,
        typer.Option("--device", callback=_device, metavar="auto|cpu|gpu",
                     help="Where JAX computes (auto: a GPU when JAX sees one, else the CPU); "
                          "give it before the command: ntkjam --device gpu spectrum ..."),
    ] = "auto",
) -> None:
    """Jamming of neural networks in function space, through the neural tangent kernel.

    Conventions: N = training points, P = parameters (features), φ = N/P.
    """


