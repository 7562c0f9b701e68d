"""Write ``docs/cli.md``, the command-line reference, from every command's ``--help``.

The page holds, for ``ntkjam`` and each of its commands and sub-commands (in the order
``ntkjam --help`` lists them), the text that ``--help`` prints, in Click's plain layout
at a fixed width of 100 columns (no terminal colours or boxes), so the page is the same on
every machine.  Hidden options (the deprecated spellings of renamed options) are left
out, as in ``--help``.

Usage::

    python scripts/cli_reference.py            # rewrite docs/cli.md
    python scripts/cli_reference.py --check    # exit 1 if docs/cli.md is out of date

``tests/test_docs_build.py`` runs the check.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import typer.main

ROOT = Path(__file__).resolve().parents[1]
CLI_MD = ROOT / "docs" / "cli.md"
WIDTH = 100

HEADER = """# Command-line reference

Generated from the commands' `--help` by `python scripts/cli_reference.py` (do not edit by
hand; `tests/test_docs_build.py` fails when this page is out of date). Every command
checks its options before any work: a bad value prints one line naming the option, the
value and what is allowed, and exits with status 2 (see [Bad input](bad_input.md)).
Options shared by several commands mean the same thing everywhere (see the
[glossary](glossary.md)); the physics behind each command is in the user guide.
"""


def _plain_help(command, ctx) -> str:
    """``command``'s ``--help`` text in Click's plain layout, ``WIDTH`` columns wide."""
    had = getattr(command, "rich_markup_mode", None)
    if hasattr(command, "rich_markup_mode"):
        command.rich_markup_mode = None  # Typer: Click's formatter instead of Rich boxes
    try:
        formatter = ctx.make_formatter()
        command.format_help(ctx, formatter)
        text = formatter.getvalue()
    finally:
        if hasattr(command, "rich_markup_mode"):
            command.rich_markup_mode = had
    return "\n".join(line.rstrip() for line in text.strip("\n").splitlines())


def _context(command, name: str, parent=None):
    """A help context for ``command`` (Click's, or the copy of Click that Typer vendors)."""
    return command.context_class(command, info_name=name, parent=parent,
                                 terminal_width=WIDTH, max_content_width=WIDTH)


def _walk(command, ctx):
    """(path, command, context) for ``command`` and every visible sub-command, depth first."""
    yield ctx.command_path, command, ctx
    if hasattr(command, "list_commands"):  # a group
        for name in command.list_commands(ctx):
            sub = command.get_command(ctx, name)
            if sub is None or getattr(sub, "hidden", False):
                continue
            yield from _walk(sub, _context(sub, name, ctx))


def _anchor(path: str) -> str:
    """The id that the toc extension gives the heading ``path`` (e.g. ``ntkjam-sweep-run``)."""
    return "-".join(path.lower().split())


def render() -> str:
    """The text of ``docs/cli.md``.

    Returns
    -------
    str
        Markdown: a header, a table of the commands (first line of each help), then one
        section per command with its ``--help`` text in a code block.
    """
    from ntkjam.cli import app

    group = typer.main.get_command(app)
    entries = list(_walk(group, _context(group, "ntkjam")))
    lines = [HEADER, "| command | what it does |", "|---|---|"]
    for path, command, _ in entries[1:]:
        summary = (command.help or "").strip().split("\n\n")[0].replace("\n", " ")
        summary = summary.replace("|", "\\|").replace("<", "&lt;")
        lines.append(f"| [`{path}`](#{_anchor(path)}) | {summary} |")
    lines.append("")
    for path, command, ctx in entries:
        lines += [f"## {path}", "", "```text", _plain_help(command, ctx), "```", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Write ``docs/cli.md`` (or, with ``--check``, compare it); returns the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true",
                        help="do not write; exit 1 if docs/cli.md differs from --help")
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        current = CLI_MD.read_text(encoding="utf-8") if CLI_MD.exists() else ""
        if current != text:
            print(f"{CLI_MD} is out of date: run python scripts/cli_reference.py",
                  file=sys.stderr)
            return 1
        return 0
    CLI_MD.write_text(text, encoding="utf-8")
    print(f"wrote {CLI_MD}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
