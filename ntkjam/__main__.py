"""``python -m ntkjam`` and the ``ntkjam`` command: the command line, imported on call.

The ``ntkjam`` script imports only this module at its top.  Dask starts its worker
processes with ``spawn``, which runs the parent's main script again in each of them
(as ``__mp_main__``); a script that imported :mod:`ntkjam.cli`, every command and with
them JAX, cost each worker 2 s of CPU before its first task.  On call, only the
command named on the command line is imported (:func:`ntkjam.cli.load`); ``--help``,
no command or a name that is not one imports them all, so that the listing and the
errors name every command.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

#: Options of ``ntkjam`` itself (before the command) that take a value.
_VALUED = ("--device",)


def command_name(args: Sequence[str]) -> str | None:
    """The command that ``args`` (``sys.argv[1:]``) name, or None when there is none.

    Examples
    --------
    >>> command_name(["--device", "cpu", "spectrum", "--N", "10"])
    'spectrum'
    >>> command_name(["--version"]) is None, command_name(["--device=cpu", "flow"])
    (True, 'flow')
    """
    skip = False
    for arg in args:
        if skip:
            skip = False
        elif arg in _VALUED:
            skip = True
        elif not arg.startswith("-"):
            return arg
    return None


def main() -> object:
    """Run the ``ntkjam`` command line on ``sys.argv``, with only its command imported."""
    args = sys.argv[1:]
    name = command_name(args)
    if name is None and "--version" in args:  # answered by the app itself, no command
        from ntkjam.cli._app import app

        return app()
    from ntkjam.cli import load

    return load(name)()


if __name__ == "__main__":
    main()
