"""The ``ntkjam`` script imports a light module: spawned workers run it again."""

from __future__ import annotations

import ast
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from fresh_interpreter import fresh

ROOT = Path(__file__).resolve().parents[1]


def test_the_script_entry_point_is_the_light_main_module():
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert scripts["project"]["scripts"] == {"ntkjam": "ntkjam.__main__:main"}


def test_importing_the_entry_module_imports_neither_the_commands_nor_jax():
    # What a Dask worker started with ``spawn`` runs again: the script's top lines.
    code = ("import sys\nfrom ntkjam.__main__ import main\n"
            "print(sorted(m for m in ('jax', 'ntkjam.cli', 'typer', 'scipy') "
            "if m in sys.modules))")
    assert fresh(code) == "[]"


def test_python_dash_m_runs_the_command_line():
    done = subprocess.run([sys.executable, "-m", "ntkjam", "--version"], capture_output=True,
                          text=True)
    assert done.returncode == 0 and done.stdout.startswith("ntkjam ")
    bad = subprocess.run([sys.executable, "-m", "ntkjam", "phase-diagram", "--seeds", "x"],
                         capture_output=True, text=True)
    assert bad.returncode == 2 and "--seeds" in bad.stderr


def _registered(app) -> set[str]:
    import typer

    return set(typer.main.get_command(app).commands)


def test_the_command_table_names_every_command_of_the_full_app():
    from ntkjam.cli import COMMANDS, app

    assert set(COMMANDS) == _registered(app)


def test_loading_one_command_registers_it_and_what_its_module_imports_only():
    # A fresh process per module: the app is one object, commands accumulate on it.
    # (kernel_drift borrows a parser of fluctuations, sphere one of phase_diagram.)
    from ntkjam.cli import COMMANDS

    for module in sorted(set(COMMANDS.values())):
        name = next(k for k, v in COMMANDS.items() if v == module)
        code = ("import sys, typer\nfrom ntkjam.cli import COMMANDS, load\n"
                f"got = sorted(typer.main.get_command(load({name!r})).commands)\n"
                "print(got)\nprint(sorted(k for k, v in COMMANDS.items() "
                "if 'ntkjam.cli.' + v in sys.modules))")
        got, imported = fresh(code).split("\n")[:2]
        assert got == imported, module
        modules = {COMMANDS[k] for k in ast.literal_eval(got)}
        assert name in got and len(modules) <= 2, (module, got)


def test_the_main_job_starts_without_jax_or_the_other_commands():
    code = ("import sys\nfrom ntkjam.cli import load\nload('phase-diagram')\n"
            "print(sorted(m for m in ('jax', 'matplotlib', 'ntkjam.cli.spectrum', "
            "'ntkjam.cli.sweep') if m in sys.modules))")
    assert fresh(code) == "[]"


def test_the_whole_command_line_loads_without_jax():
    # `ntkjam --help` loads every command; their options' choices and defaults must not
    # need JAX (1.3 s of the 2.8 s such a call took before).
    code = ("import sys\nfrom ntkjam.cli import app\n"
            "print(sorted(m for m in ('jax',) if m in sys.modules))")
    assert fresh(code) == "[]"


@pytest.mark.parametrize("args, expected", [
    ([], None), (["--help"], None), (["--version"], None),
    (["phase-diagram", "--P", "50"], "phase-diagram"),
    (["--device", "cpu", "spectrum"], "spectrum"), (["--device=cpu", "flow"], "flow"),
    (["sweep", "status", "runs/x"], "sweep"),
])
def test_the_command_is_read_past_the_top_level_options(args, expected):
    from ntkjam.__main__ import command_name

    assert command_name(args) == expected


def test_help_and_unknown_commands_still_see_every_command():
    listing = subprocess.run([sys.executable, "-m", "ntkjam", "--help"], capture_output=True,
                             text=True, check=True).stdout
    from ntkjam.cli import COMMANDS

    assert all(name in listing for name in COMMANDS)
    bad = subprocess.run([sys.executable, "-m", "ntkjam", "phase-diagrm"], capture_output=True,
                         text=True)
    assert bad.returncode == 2 and "No such command 'phase-diagrm'" in bad.stderr


def test_the_docstring_examples_of_the_entry_modules_run():
    import doctest

    import ntkjam.__main__
    import ntkjam.cli

    for module in (ntkjam.__main__, ntkjam.cli):
        failed, tried = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
        assert tried and not failed, module.__name__


def test_the_version_is_printed_without_importing_any_command():
    code = ("import atexit, sys\nsys.argv = ['ntkjam', '--version']\n"
            "atexit.register(lambda: print(any(m.startswith('ntkjam.cli.') and m != "
            "'ntkjam.cli._app' and m.rsplit('.', 1)[1] in sys.modules['ntkjam.cli'].COMMANDS"
            ".values() for m in sys.modules)))\n"
            "from ntkjam.__main__ import main\nmain()")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    words = done.stdout.split()  # "ntkjam <version>", then whether a command was imported
    assert done.returncode == 0 and words[0] == "ntkjam" and words[-1] == "False", words
