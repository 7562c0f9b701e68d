"""Deprecated spellings of renamed CLI options, accepted for one release.

A renamed option keeps its old spelling as a second, hidden option (not in
``--help``, not a glossary name: ``docs/glossary.md``, "Retired names")::

    P: Annotated[int, typer.Option("--P", help=...)] = 100,
    p_old: Annotated[int | None, old_spelling("--p", "--P")] = None,
    ...
    P = renamed(ctx, "P", P, p_old, "--P", "--p")

Using the old spelling prints one warning line on stderr and takes its value; giving
both spellings with different values is refused (one error line naming both).
"""

from __future__ import annotations

from typing import Any

import typer

from ntkjam.cli._common import err_console

__all__ = ["old_spelling", "renamed"]


def old_spelling(old: str, new: str) -> Any:
    """The hidden option ``old``: the deprecated spelling of ``new`` (default ``None``)."""
    return typer.Option(old, hidden=True, help=f"Deprecated spelling of {new}.")


def renamed(ctx: typer.Context, name: str, value: Any, old_value: Any, new: str,
            old: str) -> Any:
    """The value of the option ``new`` (parameter ``name``), given as ``new`` or as ``old``.

    Raises
    ------
    ValueError
        Both spellings given, with different values.
    """
    if old_value is None:
        return value
    source = ctx.get_parameter_source(name)
    given = source is not None and source.name != "DEFAULT"
    if given and value != old_value:
        raise ValueError(f"{new} and its deprecated spelling {old} were both given, with "
                         f"different values ({value} vs {old_value}): give {new} only")
    err_console.print(f"[yellow]warning:[/] {old} is deprecated: use {new} (same meaning)",
                      highlight=False)
    return old_value
