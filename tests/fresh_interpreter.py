"""Run code in a new Python interpreter: what a fresh process (a spawned worker, the
``ntkjam`` script) imports and prints, untouched by the modules this test session loaded."""

from __future__ import annotations

import subprocess
import sys


def fresh(code: str) -> str:
    """The standard output of ``code`` run by ``python -c``, stripped (a failure raises)."""
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True).stdout.strip()
