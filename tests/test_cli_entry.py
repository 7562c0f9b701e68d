"""The ``ntkjam`` script imports a light module: spawned workers run it again."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_script_entry_point_is_the_light_main_module():
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert scripts["project"]["scripts"] == {"ntkjam": "ntkjam.__main__:main"}


def test_importing_the_entry_module_imports_neither_the_commands_nor_jax():
    # What a Dask worker started with ``spawn`` runs again: the script's top lines.
    code = ("import sys\nfrom ntkjam.__main__ import main\n"
            "print(sorted(m for m in ('jax', 'ntkjam.cli', 'typer', 'scipy') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "[]"


def test_python_dash_m_runs_the_command_line():
    done = subprocess.run([sys.executable, "-m", "ntkjam", "--version"], capture_output=True,
                          text=True)
    assert done.returncode == 0 and done.stdout.startswith("ntkjam ")
    bad = subprocess.run([sys.executable, "-m", "ntkjam", "phase-diagram", "--seeds", "x"],
                         capture_output=True, text=True)
    assert bad.returncode == 2 and "--seeds" in bad.stderr
