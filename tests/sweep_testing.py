"""Helpers shared by the sweep tests (test-only)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pandas as pd

TESTS_DIR = Path(__file__).resolve().parent
REPO_DIR = TESTS_DIR.parent

#: Columns that legitimately differ between two runs of the same tasks.
VOLATILE = ["wall_time", "host", "finished_at"]


def write_spec(
    path: Path,
    *,
    n: int = 10,
    seeds: str = "[0]",
    output: str = "run",
    sleep: float = 0.0,
    fail_at: int | None = None,
    experiment: str = "sweep_tasks:work",
    extra: str = "",
) -> Path:
    """A spec over ``x = 0..n-1`` for the test experiment ``work``."""
    lines = [
        f'experiment = "{experiment}"',
        f'output = "{output}"',
        f"seeds = {seeds}",
        "[params]",
        f"sleep = {float(sleep)!r}",
    ]
    if fail_at is not None:
        lines.append(f"fail_at = {fail_at}")
    axis = f"x = {{start = 0, stop = {n - 1}, num = {n}}}" if n > 1 else "x = [0]"
    lines += [extra, "[grid]", axis]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def comparable(df: pd.DataFrame) -> pd.DataFrame:
    """The table without the columns that depend on when and where tasks ran."""
    return df.drop(columns=VOLATILE)


def subprocess_env(counter: Path | None = None) -> dict[str, str]:
    """Environment for child processes (subprocesses, Dask workers) that import the tests."""
    env = dict(os.environ)
    paths = [str(REPO_DIR), str(TESTS_DIR)]
    if env.get("PYTHONPATH"):
        paths.append(env["PYTHONPATH"])
    env["PYTHONPATH"] = os.pathsep.join(paths)
    if counter is not None:
        env["NTKJAM_SWEEP_COUNTER"] = str(counter)
    return env


def count_lines(path: Path) -> list[str]:
    """Lines of an execution-counter file ([] if it does not exist)."""
    return path.read_text().splitlines() if path.exists() else []


PYTHON = sys.executable
