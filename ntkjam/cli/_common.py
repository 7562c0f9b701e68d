"""Helpers shared by CLI commands: turning validation errors into exit status 2."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TypeVar

import typer
from rich.console import Console

F = TypeVar("F", bound=Callable[..., object])

# soft_wrap: a message stays one line even when stderr is not a terminal.
err_console = Console(stderr=True, soft_wrap=True)


def friendly_errors(func: F) -> F:
    """Print ``ValueError``/``TypeError`` as one red line and exit with status 2."""

    @functools.wraps(func)
    def wrapper(*args: object, **kwargs: object) -> object:
        try:
            return func(*args, **kwargs)
        except (ValueError, TypeError) as exc:
            err_console.print(f"[bold red]error:[/] {exc}", highlight=False)
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
