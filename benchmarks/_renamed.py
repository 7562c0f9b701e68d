"""Deprecated spellings of renamed benchmark options, accepted for one release.

The benchmarks' options use the words of ``docs/glossary.md`` (``--P`` for the number
of features, ``--n`` for the number of points, ``--rtol`` for a relative tolerance).
A renamed option keeps its old spelling as a hidden argparse option (not in
``--help``) that takes its value and prints one warning line on stderr::

    parser.add_argument("--P", type=int, default=1000)
    old_spelling(parser, "--p", "--P", type=int)
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

__all__ = ["old_spelling"]


class _Deprecated(argparse.Action):
    """Store the value under the new option's name, with a warning naming the new option."""

    def __init__(self, option_strings: list[str], dest: str, new: str, **kwargs: Any) -> None:
        self.new = new
        super().__init__(option_strings, dest, **kwargs)

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: Any, option_string: str | None = None) -> None:
        print(f"warning: {option_string} is deprecated: use {self.new} (same meaning)",
              file=sys.stderr)
        setattr(namespace, self.dest, values)


def old_spelling(parser: argparse.ArgumentParser, old: str, new: str, **kwargs: Any) -> None:
    """Add ``old``, hidden, as the deprecated spelling of the option ``new``.

    ``kwargs`` (``type``, ``nargs``) are those of ``new``; the value lands where
    ``new``'s would (``args.P`` for ``--P``: argparse's name, without an explicit
    ``dest``).
    """
    dest = new.lstrip("-").replace("-", "_")
    parser.add_argument(old, dest=dest, action=_Deprecated, new=new, help=argparse.SUPPRESS,
                        default=argparse.SUPPRESS, **kwargs)
