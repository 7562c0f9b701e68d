"""A sweep killed mid-run (SIGKILL, Ctrl-C) resumes to the table of an uninterrupted run."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import pandas as pd
from sweep_testing import PYTHON, comparable, count_lines, subprocess_env, write_spec

from ntkjam import sweep

N_TASKS = 30

RUN_API = "import sys; from ntkjam.sweep import run; run(sys.argv[1], workers=1)"
RUN_CLI = "import sys; from ntkjam.cli import app; sys.argv[0] = 'ntkjam'; app()"


def _stored_rows(directory: Path) -> int:
    db_path = directory / "sweep.sqlite"
    if not db_path.exists():
        return 0
    try:
        db = sqlite3.connect(f"{db_path.as_uri()}?mode=ro", uri=True, timeout=1.0)
        try:
            return db.execute("SELECT count(*) FROM tasks").fetchone()[0]
        finally:
            db.close()
    except sqlite3.OperationalError:  # schema not created yet
        return 0


def _start_and_stop(args: list[str], directory: Path, env: dict, sig: int, after: int):
    """Start a sweep in a subprocess, send ``sig`` once ``after`` rows are stored."""
    # A test run started in the background (``make test &``) ignores SIGINT, and the
    # child would inherit that: it restores Python's own handler first, as in a terminal
    # (in the child's code, not a preexec_fn, which would fork a process running JAX).
    code = "import signal; signal.signal(signal.SIGINT, signal.default_int_handler)\n"
    proc = subprocess.Popen(
        [PYTHON, "-c", code + args[0], *args[1:]], env=env, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 120
    try:
        while _stored_rows(directory) < after:
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the sweep subprocess made no progress"
            time.sleep(0.01)
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return proc.returncode, out.decode(), err.decode()


def test_sigkill_then_resume_gives_the_uninterrupted_table_without_recomputation(
    tmp_path, monkeypatch
):
    counter = tmp_path / "executions.txt"
    env = subprocess_env(counter)
    spec = write_spec(tmp_path / "s.toml", n=N_TASKS, sleep=0.04, fail_at=7)
    directory = tmp_path / "run"

    code, _, _ = _start_and_stop([RUN_API, str(spec)], directory, env, signal.SIGKILL, after=8)
    assert code == -signal.SIGKILL
    stored_after_kill = sweep.load(directory)
    n_stored = len(stored_after_kill)
    started_before_kill = count_lines(counter)
    assert 8 <= n_stored < N_TASKS, "kill must land mid-run"
    # In-process execution runs one task at a time, so at most one task was started
    # and not stored: the one in flight when the process died.
    in_flight = len(started_before_kill) - n_stored
    assert in_flight in (0, 1)
    status = sweep.summarize(directory)
    assert status.done + status.failed == n_stored and status.missing == N_TASKS - n_stored

    # Resume (in this process; the kill released the directory lock).
    monkeypatch.setenv("NTKJAM_SWEEP_COUNTER", str(counter))
    summary = sweep.run(spec)
    monkeypatch.delenv("NTKJAM_SWEEP_COUNTER")
    assert (summary.skipped, summary.done + summary.failed) == (n_stored, N_TASKS - n_stored)
    executed_on_resume = count_lines(counter)[len(started_before_kill):]
    # nothing that was stored ran again; every missing task ran exactly once
    stored_x = set(stored_after_kill.x)
    resumed_x = [int(line.split()[0]) for line in executed_on_resume]
    assert not stored_x & set(resumed_x)
    assert sorted(resumed_x) == sorted(set(range(N_TASKS)) - stored_x)
    # over both runs: each task executed once, plus at most the one in flight at the kill
    assert len(count_lines(counter)) == N_TASKS + in_flight

    resumed = sweep.load(directory)
    # rows stored before the kill are untouched by the resume
    before = comparable(stored_after_kill).set_index("hash")
    pd.testing.assert_frame_equal(comparable(resumed).set_index("hash").loc[before.index], before)

    reference_spec = write_spec(tmp_path / "ref.toml", n=N_TASKS, sleep=0.04, fail_at=7,
                                output="reference")
    reference = sweep.load(sweep.run(reference_spec).directory)
    pd.testing.assert_frame_equal(comparable(resumed), comparable(reference))
    for key in reference.hash:
        a = sweep.load_arrays(directory, key)
        b = sweep.load_arrays(tmp_path / "reference", key)
        assert a.keys() == b.keys()
        for name in a:
            assert (a[name] == b[name]).all()
    assert not list((directory / "arrays").glob(".*.tmp"))  # no half-written array files


def test_ctrl_c_stores_finished_tasks_and_exits_130(tmp_path):
    counter = tmp_path / "executions.txt"
    env = subprocess_env(counter)
    spec = write_spec(tmp_path / "s.toml", n=N_TASKS, sleep=0.04)
    directory = tmp_path / "run"
    args = [RUN_CLI, "sweep", "run", str(spec), "--workers", "1", "--quiet"]
    code, _, err = _start_and_stop(args, directory, env, signal.SIGINT, after=5)
    assert code == 130, err
    assert "interrupted" in err and "run the same command again" in err
    n_stored = len(sweep.load(directory))
    assert 5 <= n_stored < N_TASKS
    # Ctrl-C lands inside a task (sleeping) or between tasks: at most one task lost
    assert len(count_lines(counter)) - n_stored in (0, 1)
    summary = sweep.run(spec)
    assert summary.skipped == n_stored and summary.total == N_TASKS
    assert len(sweep.load(directory, status="done")) == N_TASKS


def test_sigkill_of_a_chunked_dask_run_loses_only_chunks_in_flight(tmp_path):
    """Killed while chunks are out on Dask: complete rows only, and the resume completes it."""
    counter = tmp_path / "executions.txt"
    env = subprocess_env(counter)
    n_tasks = 40
    spec = write_spec(tmp_path / "s.toml", n=n_tasks, sleep=0.05, fail_at=7)
    directory = tmp_path / "run"
    args = [RUN_CLI, "sweep", "run", str(spec), "-w", "2", "--cluster", "always",
            "--chunk-size", "3", "--quiet"]
    code, _, _ = _start_and_stop(args, directory, env, signal.SIGKILL, after=8)
    assert code == -signal.SIGKILL
    stored_after_kill = sweep.load(directory)  # every stored row has its array files
    n_stored = len(stored_after_kill)
    assert 8 <= n_stored < n_tasks, "kill must land mid-run"
    assert not sweep.summarize(directory).damaged
    time.sleep(1.0)  # let the orphaned workers notice and stop
    started_before_resume = len(count_lines(counter))
    # lost at the kill: the chunks in flight (two of 3 per worker) and the few results
    # back but still waiting for their array file (milliseconds each)
    assert started_before_resume - n_stored <= 2 * 2 * 3 + 6

    rows_before = _rows(directory)
    summary = sweep.run(spec)
    assert (summary.skipped, summary.done + summary.failed) == (n_stored, n_tasks - n_stored)
    resumed = sweep.load(directory)
    after = _rows(directory)
    assert {key: after[key] for key in rows_before} == rows_before  # untouched by the resume
    reference = sweep.load(sweep.run(write_spec(tmp_path / "ref.toml", n=n_tasks, sleep=0.05,
                                                fail_at=7, output="reference")).directory)
    pd.testing.assert_frame_equal(comparable(resumed), comparable(reference))
    assert not list((directory / "arrays").glob(".*.tmp"))


def _rows(directory: Path) -> dict:
    """Every stored row but its time and place, by key."""
    keep = ("status", "task_seed", "params", "measurements", "arrays", "error", "file")
    return {r["hash"]: tuple(r[k] for k in keep) for r in sweep.store.read_rows(directory)}
