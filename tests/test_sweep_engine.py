"""The sweep engine in-process: store, failures, resume, lock, load and export."""

from __future__ import annotations

import json
import sqlite3

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from sweep_testing import count_lines, write_spec

from ntkjam import __version__, sweep
from ntkjam.sweep.store import DirectoryLock, RunDirectoryBusy


@pytest.fixture
def counter(tmp_path, monkeypatch):
    path = tmp_path / "executions.txt"
    monkeypatch.setenv("NTKJAM_SWEEP_COUNTER", str(path))
    return path


def test_run_stores_one_row_per_task_with_provenance(tmp_path, counter):
    spec = write_spec(tmp_path / "s.toml", n=6, seeds="[0, 1]")
    summary = sweep.run(spec)
    assert (summary.total, summary.skipped, summary.done, summary.failed) == (12, 0, 12, 0)
    assert summary.directory == (tmp_path / "run").resolve()
    df = sweep.load(summary.directory)
    assert len(df) == 12 and set(df.status) == {"done"}
    assert list(df.columns[:3]) == ["x", "seed", "sleep"]  # axes, seed, fixed parameters
    assert df.x.tolist() == [0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5]  # sorted by axes then seed
    assert (df.x2 == df.x**2).all()
    assert (df.label == [f"x={x}" for x in df.x]).all()
    assert df.even.tolist() == [x % 2 == 0 for x in df.x]
    assert (df.version == __version__).all() and df.host.str.len().min() > 0
    assert df.finished_at.str.endswith("+00:00").all()
    assert (df.wall_time >= 0).all()
    # the experiment received the derived seed: its noise is reproducible from the table.
    # The seed follows the scheme-1 key of the params as given (see sweep.spec.expand);
    # this import-path experiment has no resolver, so those are the stored params.
    stored = {r["hash"]: r for r in sweep.store.read_rows(summary.directory)}
    for _, row in df.iterrows():
        given = stored[row.hash]["params"]
        seed_key = sweep.task_key(row.experiment, given, int(row.seed), scheme=1)
        assert row.task_seed == sweep.derive_seed(seed_key)
        assert row.noise == np.random.default_rng(row.task_seed).normal()
    # arrays went to .npz files beside the table, never pickled
    arrays = sweep.load_arrays(summary.directory, df.hash[3])
    assert set(arrays) == {"draw", "grid"}
    np.testing.assert_array_equal(arrays["grid"], np.arange(4) * df.x[3])
    rng = np.random.default_rng(df.task_seed[3])
    rng.normal()
    np.testing.assert_array_equal(arrays["draw"], rng.normal(size=3))
    assert (df.arrays == "draw,grid").all()
    assert (summary.directory / "spec.toml").read_text() == spec.read_text()
    assert len(count_lines(counter)) == 12


def test_sql_table_has_a_column_per_parameter_and_measurement(tmp_path):
    summary = sweep.run(write_spec(tmp_path / "s.toml", n=3))
    db = sqlite3.connect(summary.directory / "sweep.sqlite")
    try:
        # WAL while the sweep runs; a finished run is one self-contained file
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
        rows = db.execute("SELECT x, sleep, x2, noise, label, status, params FROM tasks "
                          "ORDER BY x").fetchall()
    finally:
        db.close()
    assert [r[0] for r in rows] == [0, 1, 2]
    assert [r[2] for r in rows] == [0, 1, 4]
    assert json.loads(rows[2][6]) == {"sleep": 0.0, "x": 2}


def test_failing_task_is_recorded_and_the_rest_finish(tmp_path, counter):
    spec = write_spec(tmp_path / "s.toml", n=8, fail_at=3)
    summary = sweep.run(spec)
    assert (summary.done, summary.failed, summary.failed_total) == (7, 1, 1)
    df = sweep.load(summary.directory)
    failed = df[df.status == "failed"]
    assert failed.x.tolist() == [3]
    error = failed.error.iloc[0]
    assert "Traceback (most recent call last)" in error
    assert "RuntimeError: deliberate failure at x=3" in error
    assert "sweep_tasks.py" in error
    assert np.isnan(failed.x2.iloc[0]) and failed.arrays.iloc[0] == ""
    assert df[df.status == "done"].error.isna().all()
    assert len(sweep.load(summary.directory, status="done")) == 7
    # a plain rerun skips the failure, --retry-failed runs it (and only it) again
    again = sweep.run(spec)
    assert (again.skipped, again.done, again.failed, again.failed_total) == (8, 0, 0, 1)
    assert len(count_lines(counter)) == 8
    retry = sweep.run(spec, retry_failed=True)
    assert (retry.skipped, retry.failed) == (7, 1)
    assert count_lines(counter)[-1] == "3 " + str(failed.task_seed.iloc[0])


def test_retry_failed_replaces_the_row_when_the_task_now_succeeds(tmp_path, monkeypatch):
    import sweep_tasks

    spec = write_spec(tmp_path / "s.toml", n=4, fail_at=2)
    sweep.run(spec)
    original = sweep_tasks.work

    def fixed(params, seed):
        return original({**params, "fail_at": None}, seed)

    monkeypatch.setattr(sweep_tasks, "work", fixed)
    monkeypatch.setattr(sweep.registry, "_resolved", {})
    summary = sweep.run(spec, retry_failed=True)
    assert (summary.done, summary.failed, summary.failed_total) == (1, 0, 0)
    df = sweep.load(summary.directory)
    assert len(df) == 4 and set(df.status) == {"done"}
    assert df.set_index("x").x2[2] == 4 and df.error.isna().all()


@pytest.mark.parametrize(
    ("experiment", "needle"),
    [
        ("sweep_tasks:returns_object_array", "array 'bad' must be numeric or boolean"),
        ("sweep_tasks:returns_list_measurement", "measurement 'values' must be a scalar"),
        ("sweep_tasks:echoes_param", "measurement 'x' has the name of the parameter 'x'"),
    ],
)
def test_results_the_store_cannot_hold_are_failures_not_pickles(tmp_path, experiment, needle):
    summary = sweep.run(write_spec(tmp_path / "s.toml", n=2, experiment=experiment))
    df = sweep.load(summary.directory)
    assert set(df.status) == {"failed"}
    assert all(needle in e for e in df.error)
    assert not any((summary.directory / "arrays").iterdir())


def test_unknown_experiment_fails_before_anything_is_written(tmp_path):
    spec = write_spec(tmp_path / "s.toml", experiment="sweep_tasks:nope")
    with pytest.raises(ValueError, match="has no 'nope'"):
        sweep.run(spec)
    spec = write_spec(tmp_path / "s.toml", experiment="no_such_module_xyz:f")
    with pytest.raises(ValueError, match="cannot import module 'no_such_module_xyz'"):
        sweep.run(spec)
    spec = write_spec(tmp_path / "s.toml", experiment="not_registered_anywhere")
    with pytest.raises(ValueError, match="is not registered; registered: .*kernel_summary"):
        sweep.run(spec)
    assert not (tmp_path / "run").exists()


def test_resume_recomputes_nothing_and_extending_the_grid_reuses_rows(tmp_path, counter):
    spec = write_spec(tmp_path / "s.toml", n=5)
    first = sweep.run(spec)
    table = sweep.load(first.directory)
    second = sweep.run(spec)
    assert (second.skipped, second.done) == (5, 0)
    pd.testing.assert_frame_equal(sweep.load(first.directory), table)
    write_spec(tmp_path / "s.toml", n=8)
    third = sweep.run(spec)
    assert (third.total, third.skipped, third.done) == (8, 5, 3)
    lines = count_lines(counter)
    assert sorted(int(line.split()[0]) for line in lines) == list(range(8))  # each x once


def test_directory_holding_another_sweep_is_refused(tmp_path):
    sweep.run(write_spec(tmp_path / "s.toml", n=2))
    other = write_spec(tmp_path / "t.toml", n=2, experiment="sweep_tasks:echoes_param")
    with pytest.raises(ValueError, match="holds experiment 'sweep_tasks:work'"):
        sweep.run(other)
    spec = sweep.parse_spec(
        {"experiment": "sweep_tasks:work", "output": "run", "grid": {"y": [1]}},
        base_dir=tmp_path,
    )
    with pytest.raises(ValueError, match=r"axes \['x'\], not \['y'\]"):
        sweep.run(spec)


def test_second_process_on_the_same_directory_is_refused(tmp_path):
    spec = write_spec(tmp_path / "s.toml", n=2)
    directory = tmp_path / "run"
    directory.mkdir()
    with DirectoryLock(directory):
        with pytest.raises(RunDirectoryBusy, match=r"in use by another sweep \(pid \d+ on "):
            sweep.run(spec)
    assert sweep.run(spec).done == 2  # released


def test_status_counts_and_coverage(tmp_path):
    spec = write_spec(tmp_path / "s.toml", n=4, seeds="[0, 1]", fail_at=1)
    sweep.run(spec)
    write_spec(tmp_path / "s.toml", n=5, seeds="[0, 1]", fail_at=1)
    spec_obj = sweep.load_spec(spec)
    status = sweep.summarize(spec_obj.output_dir())
    # the stored spec is still the 4-point one until the new one runs
    assert (status.total, status.done, status.failed, status.missing) == (8, 6, 2, 0)
    stored = sweep.stored_spec(status.directory)
    assert stored.grid["x"] == (0, 1, 2, 3)
    sweep.run(spec)
    status = sweep.summarize(spec_obj.output_dir())
    assert (status.total, status.done, status.failed, status.missing) == (10, 8, 2, 0)
    assert status.coverage["x"] == [(0, 2, 0, 2), (1, 0, 2, 2), (2, 2, 0, 2), (3, 2, 0, 2),
                                    (4, 2, 0, 2)]
    assert [f[1] for f in status.failures] == [{"x": 1}, {"x": 1}]
    assert status.failures[0][3] == "RuntimeError: deliberate failure at x=1"


def test_export_round_trips(tmp_path):
    spec = write_spec(tmp_path / "s.toml", n=5, seeds="[0, 1, 2]", fail_at=2,
                      extra='widths = [3, 4]\ntag = "a"')
    summary = sweep.run(spec)
    directory = summary.directory
    df = sweep.load(directory)
    assert df.widths.iloc[0] == "[3,4]"  # list parameters as canonical JSON text

    csv = pd.read_csv(sweep.export(directory, "csv"))
    assert list(csv.columns) == list(df.columns)

    def blanks_as_none(frame):  # CSV cannot tell an empty string from a missing value
        obj = frame.astype(object)
        return obj.where(frame.notna() & (obj != ""), None)

    pd.testing.assert_frame_equal(blanks_as_none(csv), blanks_as_none(df), check_dtype=False)

    parquet = pd.read_parquet(sweep.export(directory, "parquet", tmp_path / "r.parquet"))
    pd.testing.assert_frame_equal(parquet, df, check_dtype=False)

    path = sweep.export(directory, "netcdf")
    assert path == directory / "results.nc"
    with xr.open_dataset(path) as ds:
        ds.load()
    assert ds.noise.dims == ("x", "seed")
    assert ds.x.values.tolist() == [0, 1, 3, 4] and ds.seed.values.tolist() == [0, 1, 2]
    params = {"sleep": 0.0, "fail_at": 2, "widths": [3, 4], "tag": "a"}
    assert json.loads(ds.attrs["params"]) == params
    assert ds.attrs["experiment"] == "sweep_tasks:work"
    done = df[df.status == "done"]
    for _, row in done.iterrows():
        cell = ds.sel(x=row.x, seed=row.seed)
        assert float(cell.noise) == row.noise
        assert int(cell.x2) == row.x2
        assert bool(cell.even) == row.even and str(cell.label.values) == row.label
        assert int(cell.task_seed) == row.task_seed

    with pytest.raises(ValueError, match="format must be one of"):
        sweep.export(directory, "xlsx")
    with pytest.raises(ValueError, match="not a sweep run directory"):
        sweep.load(tmp_path / "nowhere")


def test_netcdf_refuses_a_store_mixing_fixed_parameter_values(tmp_path):
    spec = write_spec(tmp_path / "s.toml", n=2)
    sweep.run(spec)
    write_spec(tmp_path / "s.toml", n=2, sleep=0.001)
    sweep.run(spec)
    assert len(sweep.load(tmp_path / "run")) == 4
    assert sweep.summarize(tmp_path / "run").extra == 2
    with pytest.raises(ValueError, match="fixed parameter 'sleep' takes several values"):
        sweep.export(tmp_path / "run", "netcdf")


def test_one_task_sweep_without_axes(tmp_path):
    spec = sweep.parse_spec(
        {"experiment": "sweep_tasks:work", "params": {"x": 3}, "output": "solo"},
        base_dir=tmp_path,
    )
    summary = sweep.run(spec)
    df = sweep.load(summary.directory)
    assert len(df) == 1 and df.x2[0] == 9
    with xr.open_dataset(sweep.export(summary.directory, "netcdf")) as ds:
        assert dict(ds.sizes) == {"seed": 1}


def test_measurement_names_differing_in_case_and_huge_integers(tmp_path):
    summary = sweep.run(write_spec(tmp_path / "s.toml", n=4, experiment="sweep_tasks:case_varies"))
    df = sweep.load(summary.directory)
    assert set(df.status) == {"done"}
    assert df.Loss.tolist()[::2] == [0.0, 2.0] and df.loss.tolist()[1::2] == [1.0, 3.0]
    assert df.big.tolist() == [2**70 + x for x in range(4)]  # exact, from the JSON column
    db = sqlite3.connect(summary.directory / "sweep.sqlite")
    try:
        assert db.execute("SELECT big FROM tasks WHERE x = 1").fetchone()[0] == str(2**70 + 1)
    finally:
        db.close()


def test_clean_result_unwraps_numpy_and_names_bad_entries():
    from ntkjam.sweep.run import clean_result

    values = {"a": np.float64(1.5), "b": np.int32(2), "c": np.bool_(True), "d": np.array(3.0),
              "e": None, "arrays": {"v": [1, 2], "m.2": np.eye(2)}}
    measurements, arrays = clean_result(values, {"x": 1})
    assert measurements == {"a": 1.5, "b": 2, "c": True, "d": 3.0, "e": None}
    assert [type(measurements[k]) for k in "abcd"] == [float, int, bool, float]
    assert arrays["v"].dtype.kind == "i" and arrays["m.2"].shape == (2, 2)
    with pytest.raises(ValueError, match="'A' has the name of the measurement 'a'"):
        clean_result({"a": 1, "A": 2}, {})
    with pytest.raises(TypeError, match="must return a dict"):
        clean_result([1, 2], {})
    with pytest.raises(ValueError, match="array name 'a/b' is not allowed"):
        clean_result({"arrays": {"a/b": [1]}}, {})
    with pytest.raises(ValueError, match="measurement name '1x' is not allowed"):
        clean_result({"1x": 1}, {})
    with pytest.raises(TypeError, match="measurement 'z' must be a scalar"):
        clean_result({"z": 1j}, {})


def test_bad_arguments_and_a_corrupt_database(tmp_path):
    spec = write_spec(tmp_path / "s.toml", n=2)
    with pytest.raises(ValueError, match="workers must be >= 1, got 0"):
        sweep.run(spec, workers=0)
    with pytest.raises(TypeError, match="spec must be a SweepSpec or a path"):
        sweep.run({"experiment": "sweep_tasks:work"})
    with pytest.raises(sweep.SpecError, match="cannot read spec file"):
        sweep.run(tmp_path / "missing.toml")
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "sweep.sqlite").write_text("not a database")
    with pytest.raises(ValueError, match="not a usable sweep database"):
        sweep.run(spec)
    with pytest.raises(ValueError, match="not a readable sweep database"):
        sweep.load(tmp_path / "run")


def test_progress_bar_and_provenance(tmp_path, capsys):
    import re

    summary = sweep.run(write_spec(tmp_path / "s.toml", n=4, fail_at=1), progress=True)
    err = " ".join(capsys.readouterr().err.split())
    assert "4/4" in err and "1 failed" in err and "ETA" in err
    rev = sweep.git_revision()
    assert rev is None or re.fullmatch(r"[0-9a-f]{40}(-dirty)?", rev)
    df = sweep.load(summary.directory)
    assert (df.git_rev.fillna("") == (rev or "")).all()
