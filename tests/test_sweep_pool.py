"""This process and helper processes sharing a sweep's queue (:mod:`ntkjam.sweep.local_pool`).

* every task runs once, and its outcome is the one it has in-process, whoever ran it;
* both this process and a helper run tasks;
* a helper killed by a task fails only that task (its chunk runs again one task at a
  time on a new pool), and the helper's failure is named as such;
* an error or Ctrl-C in this process stops the helpers at once, whatever they run;
* ``sweep.run(workers=2)`` on tasks that pay for a helper stores what ``workers=1`` does.
"""

from __future__ import annotations

import os
import sqlite3
import time

import numpy as np
import pytest
from sweep_testing import subprocess_env

from ntkjam import sweep
from ntkjam.sweep import local_pool
from ntkjam.sweep.plan import ChunkSizer


@pytest.fixture
def helper_env(monkeypatch):
    """Spawned helpers inherit the environment: let them import the test tasks."""
    for key, value in subprocess_env().items():
        monkeypatch.setenv(key, value)


def _tasks(tmp_path, experiment, n, **params):
    spec = sweep.parse_spec({"experiment": experiment, "params": params,
                             "grid": {"x": list(range(n))}, "output": str(tmp_path / "run")})
    return sweep.expand(spec)


def test_this_process_and_a_helper_share_the_queue_with_the_same_outcomes(tmp_path, helper_env):
    tasks = _tasks(tmp_path, "sweep_tasks:pid_task", 60, sleep=0.01)
    outcomes = {}

    def keep(task, outcome):
        assert task.key not in outcomes
        outcomes[task.key] = outcome

    children = sum(os.times()[2:4])
    local_pool.run_shared(tasks, keep, 1, ChunkSizer(fixed=4))
    # the helper is reaped before the call returns: its CPU (at least its imports of
    # NumPy and ntkjam.sweep) is this process's children's already
    assert sum(os.times()[2:4]) - children > 0.1
    assert set(outcomes) == {t.key for t in tasks}
    pids = {o["measurements"]["pid"] for o in outcomes.values()}
    assert os.getpid() in pids and len(pids) == 2  # this process and the helper
    # the helper's chunks come from the front, this process's tasks from the back
    pid_of = {t.point["x"]: outcomes[t.key]["measurements"]["pid"] for t in tasks}
    assert pid_of[0] != os.getpid() and pid_of[59] == os.getpid()
    for task in tasks:  # each outcome is the task's, whoever ran it
        alone = sweep.execute_task(task.experiment, task.params, task.task_seed)
        got = outcomes[task.key]
        assert got["status"] == "done"
        assert got["measurements"]["noise"] == alone["measurements"]["noise"]
        assert np.array_equal(got["arrays"]["draw"], alone["arrays"]["draw"])


def test_a_helper_killed_by_a_task_fails_only_that_task(tmp_path, helper_env):
    # x = 1 lies in the first chunk, which is handed to the helper before this process
    # takes any task: only helpers ever run it (first in its chunk, then alone).
    tasks = _tasks(tmp_path, "sweep_tasks:dies", 12, die_at=1)
    pools, outcomes = [], {}

    def start(workers):
        pools.append(local_pool.helper_pool(workers))
        return pools[-1]

    local_pool.run_shared(tasks, lambda t, o: outcomes.update({t.params["x"]: o}), 1,
                          ChunkSizer(fixed=3), start=start)
    assert sorted(outcomes) == list(range(12))
    failed = {x for x, o in outcomes.items() if o["status"] == "failed"}
    assert failed == {1}
    assert outcomes[1]["error"].startswith("the helper process running this task failed")
    assert all(outcomes[x]["measurements"]["x2"] == x * x for x in outcomes if x != 1)
    assert len(pools) >= 2  # a new pool after each death


def test_ctrl_c_stops_the_helpers_at_once(tmp_path, helper_env):
    # Two chunks of 4 tasks of 1 s go to the helper (4 s each); this process's first
    # task ends after 1 s and Ctrl-C comes then: the helper must not be waited for.
    tasks = _tasks(tmp_path, "sweep_tasks:pid_task", 12, sleep=1.0)
    helpers = []

    pools = []

    def interrupt(task, outcome):
        helpers.extend((pools[0]._processes or {}).values())  # running now
        raise KeyboardInterrupt

    def start(workers):
        pools.append(local_pool.helper_pool(workers))
        return pools[-1]

    started = time.perf_counter()
    with pytest.raises(KeyboardInterrupt):
        local_pool.run_shared(tasks, interrupt, 1, ChunkSizer(fixed=4), start=start)
    assert time.perf_counter() - started < 3.0  # not waiting for the 4 s chunk
    pids = [p.pid for p in helpers]
    deadline = time.monotonic() + 1.0  # the chunk has 2 s left: killed, not finished
    while any(map(_running, pids)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert pids and not any(map(_running, pids))


def _running(pid):
    """Whether ``pid`` runs, by the OS's word (``Process.is_alive`` can stay True when
    the pool's own thread reaped the process first)."""
    psutil = pytest.importorskip("psutil")
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def test_two_workers_store_what_one_stores(tmp_path, helper_env, monkeypatch):
    """End to end through ``sweep.run``, with the plan told that a helper pays."""
    from ntkjam.sweep import placement
    from ntkjam.sweep.plan import Plan

    monkeypatch.setattr(placement, "plan_local",
                        lambda *a, **k: Plan(1, "this process + 1 worker process (test)"))
    spec = sweep.parse_spec({"experiment": "sweep_tasks:work", "grid": {"x": list(range(40))},
                             "seeds": [0, 1], "output": str(tmp_path / "one")})
    one = sweep.run(spec)
    two = sweep.run(spec, workers=2, output=tmp_path / "two", chunk_size=5)
    assert two.execution.startswith("this process + 1 worker process (test), chunks of up to 5")
    assert (two.done, two.failed) == (80, 0)

    def rows(directory):
        db = sqlite3.connect(directory / "sweep.sqlite")
        try:
            return sorted(db.execute(
                "SELECT hash, task_seed, status, measurements, arrays FROM tasks").fetchall())
        finally:
            db.close()

    assert rows(one.directory) == rows(two.directory)
    for key in sweep.load(one.directory).hash:
        a, b = sweep.load_arrays(one.directory, key), sweep.load_arrays(two.directory, key)
        assert a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)
