"""Chunked execution, and in-process unless helpers pay: same results, whoever runs them.

* the property: one spec run in-process, on a local cluster, and on an existing cluster
  with chunks of several sizes (fixed and adaptive) stores identical rows (measurements,
  task seeds, failures) and identical array files (SHA-256);
* a chunk whose worker dies fails only the task that killed it;
* the choice between in-process and helpers (:func:`ntkjam.sweep.plan.plan_local`),
  the chunk sizes (:class:`ntkjam.sweep.plan.ChunkSizer`) and the array files written
  ahead of their rows (:class:`ntkjam.sweep.integrity.AheadWriter`).
"""

from __future__ import annotations

import os
import sqlite3
import sys
from pathlib import Path

import dask
import numpy as np
import pandas as pd
import pytest
from sweep_testing import comparable, subprocess_env, write_spec

from ntkjam import sweep
from ntkjam.sweep import integrity
from ntkjam.sweep.plan import CHUNK_SECONDS, MAX_CHUNK, ChunkSizer, Plan, Timings, plan_local

distributed = pytest.importorskip("distributed")


@pytest.fixture
def worker_env(monkeypatch):
    """Dask worker processes inherit the environment: let them import the test tasks."""
    for key, value in subprocess_env().items():
        monkeypatch.setenv(key, value)


@pytest.fixture(scope="module")
def cluster():
    """One 2-worker local cluster for the module (starting one costs seconds)."""
    saved = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = subprocess_env()["PYTHONPATH"]
    try:
        with distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
            host="127.0.0.1",
        ) as local:
            yield local
    finally:
        if saved is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = saved


def _stored(directory):
    """Every row's stored columns but those that depend on when and where, and the checksums."""
    db = sqlite3.connect(directory / "sweep.sqlite")
    try:
        rows = {r[0]: r[1:] for r in db.execute(
            "SELECT hash, seed, task_seed, status, params, measurements, arrays, error "
            "FROM tasks")}
        files = dict(db.execute("SELECT hash, sha256 FROM array_files"))
    finally:
        db.close()
    return rows, files


# ---------------------------------------------------------------------------------------
# the property: results do not depend on the workers or the chunking

RNG = np.random.default_rng(20261201)
CHUNK_SIZES = [1, 2, 3, 7, None, *sorted({int(k) for k in RNG.integers(4, 40, size=3)})]


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The spec run in-process (``workers=1``): 60 tasks, arrays, two failures."""
    root = tmp_path_factory.mktemp("reference")
    spec = write_spec(root / "s.toml", n=30, seeds="[0, 1]", fail_at=4)
    summary = sweep.run(spec, workers=1, output=root / "one")
    assert (summary.done, summary.failed) == (58, 2)
    return spec, summary.directory


@pytest.mark.parametrize("chunk_size", CHUNK_SIZES)
def test_chunk_sizes_give_the_same_store(tmp_path, cluster, worker_env, reference, chunk_size):
    spec, one = reference
    summary = sweep.run(spec, scheduler=cluster.scheduler_address, chunk_size=chunk_size,
                        output=tmp_path / "dask")
    assert (summary.done, summary.failed) == (58, 2)
    assert summary.execution.startswith(f"Dask scheduler {cluster.scheduler_address}")
    assert _stored(summary.directory) == _stored(one)
    a, b = sweep.load(one), sweep.load(summary.directory)
    pd.testing.assert_frame_equal(comparable(a), comparable(b))
    for key in a.hash[a.status == "done"]:
        x, y = sweep.load_arrays(one, key), sweep.load_arrays(summary.directory, key)
        assert x.keys() == y.keys() and all(np.array_equal(x[k], y[k]) for k in x)


@pytest.mark.parametrize(("workers", "cluster_mode"), [(2, "auto"), (2, "always")])
def test_workers_and_cluster_modes_give_the_same_store(tmp_path, worker_env, reference,
                                                       workers, cluster_mode):
    spec, one = reference
    summary = sweep.run(spec, workers=workers, cluster=cluster_mode, output=tmp_path / "w")
    assert _stored(summary.directory) == _stored(one)
    if cluster_mode == "auto":  # 60 tasks of microseconds: a cluster would not pay
        assert summary.execution.startswith("in-process (est. ")
    else:
        assert summary.execution.startswith("2 Dask workers, chunks of up to ")


def test_a_chunk_whose_worker_dies_fails_only_the_task_that_killed_it(tmp_path, worker_env):
    spec = write_spec(tmp_path / "s.toml", n=9, experiment="sweep_tasks:dies",
                      extra="die_at = 4")
    with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
        with distributed.LocalCluster(
            n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None,
            host="127.0.0.1",
        ) as local:
            summary = sweep.run(spec, scheduler=local.scheduler_address, chunk_size=3)
    assert (summary.done, summary.failed) == (8, 1)
    df = sweep.load(summary.directory)
    dead = df[df.status == "failed"]
    assert dead.x.tolist() == [4]
    assert "the Dask worker running this task failed" in dead.error.iloc[0]
    assert (df[df.status == "done"].x2 == df[df.status == "done"].x ** 2).all()


# ---------------------------------------------------------------------------------------
# in-process unless a cluster pays


def test_tiny_tasks_with_two_workers_run_in_process_without_a_cluster(tmp_path, monkeypatch,
                                                                      capsys):
    def no_cluster(*args, **kwargs):
        raise AssertionError("a cluster was started for tiny tasks")

    monkeypatch.setattr(sys.modules["ntkjam.sweep.placement"], "dask_client", no_cluster)
    monkeypatch.setattr(sys.modules["ntkjam.sweep.placement"], "run_shared", no_cluster)
    spec = write_spec(tmp_path / "s.toml", n=200, extra="with_arrays = false")
    summary = sweep.run(spec, workers=2, progress=True)
    assert summary.done == 200
    assert summary.execution.startswith("in-process (est. ")
    assert "would save" in summary.execution and "start-up costs" in summary.execution
    err = " ".join(capsys.readouterr().err.split())
    assert "in-process (est. " in err and "200/200" in err and "ETA" in err


def test_plan_local_weighs_the_saving_against_the_start_up():
    # 200 tasks of 1 ms (+ 0.1 ms storing): ~0.2 s alone, a helper cannot pay
    small = plan_local(Timings(32, 0.032, 0.0352), 200, 2, 2)
    assert small == Plan(0, small.text) and small.text.startswith("in-process (est. 0.2 s")
    # 3000 tasks of 6 ms: ~18 s alone, ~9 s shared by 2 processes: one worker beside this one
    big = plan_local(Timings(32, 0.192, 0.2), 3000, 2, 2)
    assert big.workers == 1 and big.text.startswith("this process + 1 worker process")
    assert plan_local(Timings(32, 0.192, 0.2), 3000, 4, 2).workers == 3  # as many as asked
    # a first task that took 30 s (imports, compilation): each worker would pay it too
    assert plan_local(Timings(32, 0.192, 0.2, first=30.0), 3000, 2, 2).workers == 0
    # one usable core: nothing to share; storing-bound tasks: nothing to gain
    assert plan_local(Timings(32, 0.192, 0.2), 3000, 2, 1).text.endswith(": 1 usable core)")
    assert plan_local(Timings(32, 0.0, 0.2), 3000, 2, 2).workers == 0
    assert plan_local(Timings(0, 0.0, 0.0), 0, 2, 2).text.startswith("in-process (every task")


def test_plan_local_counts_a_grid_points_warm_up_once_and_the_cores_in_use():
    """A sample of first seeds (a JAX compilation each, 0.4 s) with one repeat of 10 ms:
    the 51 tasks left on 17 points cost ~17 × 0.39 + 51 × 0.01 ≈ 7.2 s alone, not
    51 × 0.33 s, and a helper that must import JAX does not pay on two cores."""
    sample = Timings(tasks=6, inside=5 * 0.4 + 0.01, total=2.02, first=0.5, repeats=1,
                     repeat_inside=0.01)
    per_seed = plan_local(sample, 51, 2, 2)
    assert per_seed.workers == 1 and "est. 17.2 s of work left" in per_seed.text
    once = plan_local(sample, 51, 2, 2, points=17)
    assert "est. 7.2 s of work left" in once.text
    assert plan_local(sample, 51, 2, 2, points=17).workers == 1
    assert plan_local(sample, 51, 2, 2, points=17, imports_jax=True).workers == 1
    # tasks that keep 1.8 cores busy alone: 2 processes save 10 % of 7.2 s at most,
    # less than a helper's start-up with JAX
    busy = Timings(**{**sample.__dict__, "cpu": 1.8 * sample.total})
    assert plan_local(busy, 51, 2, 2, points=17, imports_jax=True).workers == 0
    # without repeats in the sample, points change nothing
    plain = Timings(32, 0.192, 0.2)
    assert plan_local(plain, 3000, 2, 2, points=10).text == plan_local(plain, 3000, 2, 2).text


def test_the_sample_times_a_second_seed_of_its_points_and_runs_no_task_twice(tmp_path):
    from ntkjam.sweep.executors import run_sample

    spec = write_spec(tmp_path / "s.toml", n=12, seeds="[0, 1, 2]",
                      extra="with_arrays = false")
    tasks = sweep.expand(sweep.load_spec(spec))
    assert len(tasks) > len({str(t.point) for t in tasks})  # several seeds per point
    seen = []
    rest, timings = run_sample(tasks, lambda task, out: seen.append(task.key), count=8,
                               seconds=60.0)
    assert len(seen) == len(set(seen)) and len(seen) + len(rest) == len(tasks)
    assert not set(seen) & {t.key for t in rest}
    assert timings.tasks == 8 and 1 <= timings.repeats < timings.tasks
    assert 0 < timings.repeat_inside <= timings.inside and timings.cpu > 0


def test_chunk_sizer_starts_at_one_and_grows_to_the_target():
    sizes = []
    chunks = ChunkSizer(target=0.1, on_change=sizes.append)
    assert chunks.size(1000, 2) == 1  # nothing measured yet
    chunks.observe([{"wall_time": 0.0025}] * 10 + [{"wall_time": float("nan")}])
    assert chunks.per_task() == pytest.approx(0.0025)
    assert chunks.size(1000, 2) == 40  # 0.1 s / 2.5 ms
    assert chunks.size(60, 2) == 15  # near the end: a fair share, the tasks left / (2 × 2)
    assert chunks.size(1, 2) == 1
    assert sizes == [1, 40, 15, 1] and chunks.largest == 40
    chunks.observe([{"wall_time": 0.0}] * 256)
    assert chunks.size(10**6, 2) == MAX_CHUNK
    assert ChunkSizer(fixed=7).size(1000, 2) == 7 and ChunkSizer(fixed=7).size(3, 2) == 3
    default = ChunkSizer()  # CHUNK_SECONDS of measured work per call
    default.observe([{"wall_time": 0.0025}] * 10)
    assert default.size(10**5, 2) == round(CHUNK_SECONDS / 0.0025)


def test_bad_execution_options_are_refused(tmp_path):
    spec = write_spec(tmp_path / "s.toml", n=2)
    with pytest.raises(ValueError, match="cluster"):
        sweep.run(spec, workers=2, cluster="sometimes")
    with pytest.raises(ValueError, match="chunk_size must be >= 1"):
        sweep.run(spec, workers=2, chunk_size=0)


# ---------------------------------------------------------------------------------------
# array files written ahead of their rows


def test_ahead_writer_commits_in_order_once_each_file_is_written(tmp_path):
    (tmp_path / "arrays").mkdir()
    committed = []

    def commit(item, written):
        path = tmp_path / "arrays" / f"{item}.npz"
        if written is None:
            assert not path.exists()
        else:  # the file is complete under its name before its row is committed
            assert integrity.file_digest(path) == written
        committed.append(item)

    with integrity.AheadWriter(tmp_path, commit, threads=3, depth=4) as ahead:
        for i in range(20):
            ahead.put(f"k{i}", {"a": np.full(1000, i)} if i % 3 else {}, f"k{i}")
    assert committed == [f"k{i}" for i in range(20)]


def test_ahead_writer_stores_what_is_put_on_ctrl_c_and_stops_at_a_write_error(
        tmp_path, monkeypatch):
    (tmp_path / "arrays").mkdir()
    committed = []
    with pytest.raises(KeyboardInterrupt):
        with integrity.AheadWriter(tmp_path, lambda item, w: committed.append(item)) as ahead:
            for i in range(5):
                ahead.put(f"k{i}", {"a": np.zeros(3)}, i)
            raise KeyboardInterrupt
    assert committed == [0, 1, 2, 3, 4]

    real = integrity.atomic_savez

    def full(path, arrays):
        if path.name == "k2.npz":
            raise OSError(28, "cannot write array file: No space left on device", str(path))
        return real(path, arrays)

    monkeypatch.setattr(integrity, "atomic_savez", full)
    committed.clear()
    with pytest.raises(OSError, match="No space left on device"):
        with integrity.AheadWriter(tmp_path, lambda item, w: committed.append(item)) as ahead:
            for i in range(5):
                ahead.put(f"k{i}", {"a": np.zeros(3)}, i)
            ahead.drain()
    assert committed == [0, 1, 3, 4]  # every row whose file was written, not the failed one
    assert not list((tmp_path / "arrays").glob(".*.tmp"))


def test_the_command_line_says_where_tasks_ran_and_checks_its_options(tmp_path):
    from typer.testing import CliRunner

    from ntkjam.cli import app

    runner = CliRunner()
    spec = write_spec(tmp_path / "s.toml", n=40)
    result = runner.invoke(app, ["sweep", "run", str(spec), "-w", "2", "-q"])
    assert result.exit_code == 0, result.output
    out = " ".join(result.output.split())
    assert "ran 40 (40 done, 0 failed)" in out and ": in-process (est. " in out
    for option, value, needle in (("--cluster", "never", "--cluster must be 'auto' or"),
                                  ("--chunk-size", "0", "--chunk-size must be >= 1, got 0"),
                                  ("--blas-threads", "-1", "--blas-threads must be >= 0")):
        bad = runner.invoke(app, ["sweep", "run", str(spec), "-w", "2", option, value])
        assert bad.exit_code == 2 and needle in bad.output and "Traceback" not in bad.output


def test_tasks_run_with_one_blas_thread_unless_told_otherwise(tmp_path, monkeypatch):
    """``ntkjam sweep run`` runs its tasks with one BLAS thread by default (the small
    dense solves of a sweep run many times slower with threads fighting over the cores),
    with ``--blas-threads k`` with k, and with 0 as the environment sets; the threads of
    the calling process are restored afterwards."""
    from threadpoolctl import threadpool_info, threadpool_limits
    from typer.testing import CliRunner

    from ntkjam.cli import app

    monkeypatch.syspath_prepend(str(Path(__file__).parent))
    runner = CliRunner()

    def threads_seen(option: list[str], name: str) -> int:
        spec = write_spec(tmp_path / f"{name}.toml", n=1, output=str(tmp_path / name),
                          experiment="sweep_tasks:blas_threads")
        result = runner.invoke(app, ["sweep", "run", str(spec), "-w", "1", "-q", *option])
        assert result.exit_code == 0, result.output
        (value,) = pd.read_sql("SELECT threads FROM tasks",
                               sqlite3.connect(tmp_path / name / "sweep.sqlite"))["threads"]
        return int(value)

    def blas() -> list[int]:
        return [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]

    with threadpool_limits(limits=2, user_api="blas"):
        before = blas()
        assert threads_seen([], "default") == 1
        assert threads_seen(["--blas-threads", "2"], "two") == 2
        assert threads_seen(["--blas-threads", "0"], "environment") == max(before)
        assert blas() == before
