"""Helpers shared by CLI commands: turning validation and file-system errors into exit 2."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import TypeVar

import typer
from rich.console import Console
from rich.markup import escape

F = TypeVar("F", bound=Callable[..., object])

# soft_wrap: a message stays one line even when stderr is not a terminal.
err_console = Console(stderr=True, soft_wrap=True)


def os_error_message(exc: OSError) -> str:
    """One line for a file-system error, naming the path: ``'path': reason``."""
    reason = exc.strerror or str(exc)
    if exc.filename is None:
        return reason
    target = f"'{exc.filename}'" + (f" -> '{exc.filename2}'" if exc.filename2 else "")
    return f"{target}: {reason}"


def friendly_errors(func: F) -> F:
    """Print ``ValueError``/``TypeError``/``OSError`` as one red line and exit with status 2.

    The message is printed on one line (newlines in it are folded), so that a
    refusal is always a single line on stderr.
    """

    @functools.wraps(func)
    def wrapper(*args: object, **kwargs: object) -> object:
        try:
            return func(*args, **kwargs)
        except (ValueError, TypeError) as exc:
            message = str(exc)
        except OSError as exc:
            message = os_error_message(exc)
        message = " ".join(message.split())
        err_console.print(f"[bold red]error:[/] {escape(message)}", highlight=False)
        raise typer.Exit(code=2) from None

    return wrapper  # type: ignore[return-value]


def parse_radius(value: str | None) -> float | str | None:
    """The ``--radius`` option: a positive number, ``sqrt_d``, or unset (``None``)."""
    if value is None or value == "sqrt_d":
        return value
    try:
        return float(value)
    except ValueError:
        raise ValueError(f"radius must be a positive number or 'sqrt_d', got {value!r}") from None


def keyword_defaults(func: Callable) -> dict[str, object]:
    """The defaults of ``func``'s parameters: the CLI shows a spec builder's own defaults."""
    return {name: p.default for name, p in inspect.signature(func).parameters.items()
            if p.default is not inspect.Parameter.empty}


def comma_list(values: object) -> str:
    """``(50, 100, 200)`` → ``"50,100,200"``: a list default as its option's text."""
    return ",".join(f"{v:g}" if isinstance(v, float) else str(v) for v in values)


def run_sweeps(specs: list, workers: int, quiet: bool) -> list:
    """Run each spec through the sweep engine, one BLAS thread per task; the summaries.

    A run directory in use by another process is a one-line error (exit status 2);
    Ctrl-C keeps what is stored and says how to resume (exit status 130).
    """
    from threadpoolctl import threadpool_limits

    from ntkjam import sweep
    from ntkjam.sweep.store import RunDirectoryBusy

    try:
        with threadpool_limits(limits=1):  # small dense solves: one BLAS thread each
            return [sweep.run(spec, workers=workers, progress=not quiet) for spec in specs]
    except RunDirectoryBusy as exc:
        err_console.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False)
        raise typer.Exit(code=2) from None
    except KeyboardInterrupt:
        err_console.print("interrupted: finished tasks are stored; run the same command "
                          "again to resume", highlight=False)
        raise typer.Exit(code=130) from None
