"""``python -m ntkjam`` and the ``ntkjam`` command: the command line, imported on call.

The ``ntkjam`` script imports only this module at its top.  Dask starts its worker
processes with ``spawn``, which runs the parent's main script again in each of them
(as ``__mp_main__``); a script that imported :mod:`ntkjam.cli`, every command and with
them JAX, cost each worker 2 s of CPU before its first task.
"""

from __future__ import annotations


def main() -> object:
    """Run the ``ntkjam`` command line (:data:`ntkjam.cli.app`) on ``sys.argv``."""
    from ntkjam.cli import app

    return app()


if __name__ == "__main__":
    main()
