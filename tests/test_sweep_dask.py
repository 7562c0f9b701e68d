"""The sweep engine on Dask: the same table as in-process, on a local or an existing cluster.

Few and small: starting a cluster costs seconds.
"""

from __future__ import annotations

import dask
import numpy as np
import pandas as pd
import pytest
from sweep_testing import comparable, subprocess_env, write_spec

from ntkjam import sweep

distributed = pytest.importorskip("distributed")


@pytest.fixture
def worker_env(monkeypatch):
    """Dask worker processes inherit the environment: let them import the test tasks."""
    for key, value in subprocess_env().items():
        monkeypatch.setenv(key, value)


def _same_arrays(dir_a, dir_b, keys):
    for key in keys:
        a, b = sweep.load_arrays(dir_a, key), sweep.load_arrays(dir_b, key)
        assert a.keys() == b.keys()
        for name in a:
            np.testing.assert_array_equal(a[name], b[name])


def test_one_and_two_workers_give_identical_tables(tmp_path, worker_env):
    spec = write_spec(tmp_path / "s.toml", n=25, seeds="[0, 1]", fail_at=4)
    local = sweep.run(spec, workers=1, output=tmp_path / "one")
    # cluster="always": 50 tiny tasks would otherwise run in-process (a cluster would not pay)
    dask_run = sweep.run(spec, workers=2, cluster="always", output=tmp_path / "two")
    assert dask_run.execution.startswith("2 Dask workers, chunks of up to ")
    assert (local.total, local.done, local.failed) == (50, 48, 2)
    assert (dask_run.total, dask_run.done, dask_run.failed) == (50, 48, 2)
    a, b = sweep.load(local.directory), sweep.load(dask_run.directory)
    pd.testing.assert_frame_equal(comparable(a), comparable(b))
    _same_arrays(local.directory, dask_run.directory, a.hash)
    # the failure's traceback travelled back from the worker
    assert b[b.status == "failed"].error.str.contains("deliberate failure at x=4").all()


def test_existing_scheduler_and_a_worker_that_dies(tmp_path, worker_env):
    spec = write_spec(tmp_path / "s.toml", n=6, experiment="sweep_tasks:dies",
                      extra="die_at = 2")
    # KilledWorker at the first death instead of retrying the task on other workers
    with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
        with distributed.LocalCluster(
            n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None,
            host="127.0.0.1",
        ) as cluster:
            summary = sweep.run(spec, scheduler=cluster.scheduler_address, max_in_flight=1)
    assert (summary.done, summary.failed) == (5, 1)
    df = sweep.load(summary.directory)
    dead = df[df.status == "failed"]
    assert dead.x.tolist() == [2]
    assert "the Dask worker running this task failed" in dead.error.iloc[0]
    done = df[df.status == "done"]
    assert done.x.tolist() == [0, 1, 3, 4, 5] and (done.x2 == done.x**2).all()
    for _, row in done.iterrows():
        assert row.noise == np.random.default_rng(row.task_seed).normal()


def test_local_workers_keep_glibc_trimming_and_run_no_profiler(monkeypatch):
    """The local cluster's workers: no MALLOC_TRIM_THRESHOLD_=65536 from Dask, no
    statistical profiler; a value the user sets in the environment still arrives."""
    import os

    from ntkjam.sweep.local_cluster import dask_client

    def probe():
        import os

        import dask

        return (os.environ.get("MALLOC_TRIM_THRESHOLD_"), os.environ.get("OMP_NUM_THREADS"),
                dask.config.get("distributed.worker.profile.enabled"))

    monkeypatch.delenv("MALLOC_TRIM_THRESHOLD_", raising=False)
    assert dask.config.get("distributed.nanny.pre-spawn-environ")["MALLOC_TRIM_THRESHOLD_"]
    with dask_client(1, None, False, say=lambda line: None) as client:
        assert list(client.run(probe).values()) == [(None, "1", False)]
    assert "MALLOC_TRIM_THRESHOLD_" not in os.environ  # nothing left in this process
    assert dask.config.get("distributed.worker.profile.enabled")  # Dask's own, restored
    monkeypatch.setenv("MALLOC_TRIM_THRESHOLD_", "1048576")
    with dask_client(1, None, False, say=lambda line: None) as client:
        assert list(client.run(probe).values()) == [("1048576", "1", False)]


def test_a_jax_study_on_a_worker_computes_in_float64_as_in_process(tmp_path):
    """A worker imports JAX only in its first task (lazy registry): still in float64,
    and its rows and arrays equal those computed in this process."""
    spec = tmp_path / "k.toml"
    spec.write_text('experiment = "kernel_summary"\nseeds = [0, 1]\n[params]\nd = 3\n'
                    "[grid]\nn = [5, 9]\n", encoding="utf-8")
    local = sweep.run(spec, workers=1, output=tmp_path / "one")
    remote = sweep.run(spec, workers=2, cluster="always", output=tmp_path / "two")
    assert remote.execution.startswith("2 Dask workers")
    a, b = sweep.load(local.directory), sweep.load(remote.directory)
    assert (a.status == "done").all() and len(a) == 4
    pd.testing.assert_frame_equal(comparable(a), comparable(b))
    _same_arrays(local.directory, remote.directory, a.hash)
    eig = sweep.load_arrays(remote.directory, b.hash.iloc[0])["eigenvalues"]
    assert eig.dtype == np.float64
