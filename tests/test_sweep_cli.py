"""``ntkjam sweep run|status|export|experiments`` and the built-in ``kernel_summary``."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from sweep_testing import write_spec
from typer.testing import CliRunner

from ntkjam import sweep
from ntkjam.cli import app
from ntkjam.sweep.store import DirectoryLock

runner = CliRunner()


def invoke(*args: str):
    return runner.invoke(app, ["sweep", *map(str, args)])


def one_line(text: str) -> str:
    return " ".join(text.split())


def test_help_texts():
    for args in ([], ["run"], ["status"], ["export"], ["experiments"]):
        result = invoke(*args, "--help")
        assert result.exit_code == 0, result.output
    assert "--retry-failed" in invoke("run", "--help").output
    assert "--scheduler" in invoke("run", "--help").output


def test_run_status_export_cycle(tmp_path):
    spec = write_spec(tmp_path / "s.toml", n=4, seeds="[0, 1]", fail_at=2)
    dry = invoke("run", spec, "--dry-run")
    assert dry.exit_code == 0
    assert "8 tasks (x: 4 × 2 seeds)" in one_line(dry.output) and "8 to run" in dry.output
    assert not (tmp_path / "run").exists()

    result = invoke("run", spec, "--workers", "1", "--quiet")
    assert result.exit_code == 1  # some tasks failed
    out = one_line(result.output)
    assert "8 tasks, 0 already stored, ran 8 (6 done, 2 failed)" in out
    assert "--retry-failed" in out

    again = invoke("run", spec, "-w", "1", "-q")
    assert again.exit_code == 1 and "8 already stored, ran 0" in one_line(again.output)

    status = invoke("status", tmp_path / "run")
    assert status.exit_code == 0
    text = one_line(status.output)
    assert "8 tasks — 6 done, 2 failed, 0 missing" in text
    assert "coverage along x" in text and "deliberate failure at x=2" in text

    for fmt, suffix in (("csv", ".csv"), ("parquet", ".parquet"), ("netcdf", ".nc")):
        exported = invoke("export", tmp_path / "run", "--format", fmt)
        assert exported.exit_code == 0, exported.output
        assert exported.output.strip().endswith("results" + suffix)
    target = tmp_path / "table.csv"
    assert invoke("export", tmp_path / "run", "-f", "csv", "-o", target).exit_code == 0
    assert len(pd.read_csv(target)) == 8


def test_all_done_exits_zero_and_output_override(tmp_path):
    spec = write_spec(tmp_path / "s.toml", n=3)
    result = invoke("run", spec, "-w", "1", "-q", "-o", tmp_path / "elsewhere")
    assert result.exit_code == 0, result.output
    assert len(sweep.load(tmp_path / "elsewhere")) == 3


def test_bad_input_is_one_line_and_exit_2(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('experiment = "sweep_tasks:work"\n[grid]\nx = {start = 0, stop = 1, num = 0}\n')
    result = invoke("run", bad)
    assert result.exit_code == 2
    assert "grid.x.num must be an integer >= 1, got 0" in one_line(result.output)
    assert "Traceback" not in result.output
    assert invoke("status", tmp_path / "nothing").exit_code == 2
    assert invoke("export", tmp_path, "-f", "xlsx").exit_code == 2


def test_busy_directory_is_refused(tmp_path):
    spec = write_spec(tmp_path / "s.toml", n=2)
    (tmp_path / "run").mkdir()
    with DirectoryLock(tmp_path / "run"):
        result = invoke("run", spec, "-w", "1", "-q")
    assert result.exit_code == 2
    assert "is in use by another sweep" in one_line(result.output)


def test_experiments_lists_the_builtin():
    result = invoke("experiments")
    assert result.exit_code == 0
    assert "kernel_summary" in result.output and "Spectrum summary" in result.output


def test_kernel_summary_sweep_matches_closed_forms(tmp_path):
    from ntkjam.data import sphere
    from ntkjam.kernels import analytic
    from ntkjam.linalg import rank_report

    spec = tmp_path / "k.toml"
    spec.write_text(
        'experiment = "kernel_summary"\noutput = "k"\nseeds = [0, 1]\n'
        "[params]\nd = 4\n[grid]\nn = [6, 12]\ndepth = [0, 1, 2]\n"
    )
    result = invoke("run", spec, "-w", "1", "-q")
    assert result.exit_code == 0, result.output
    df = sweep.load(tmp_path / "k")
    assert len(df) == 12 and set(df.status) == {"done"}
    for _, row in df.iterrows():
        # ReLU, sigma_w^2 = 2, sigma_b = 0, unit sphere: Theta(x, x) = (L + 1) * 2 / d
        assert row.trace == pytest.approx(row.n * (row.depth + 1) * 2 / 4, rel=1e-12)
        lam = sweep.load_arrays(tmp_path / "k", row.hash)["eigenvalues"]
        assert lam.shape == (row.n,) and np.all(np.diff(lam) <= 0)
        assert lam.sum() == pytest.approx(row.trace, rel=1e-10)
        assert (row.lambda_max, row.lambda_min) == (lam[0], lam[-1])
        if row.depth == 0:  # linear kernel 2 x.x'/d: rank min(n, d)
            assert row["rank"] == min(row.n, 4)
        # same rank and gap as the SVD-based rank_report of the kernel itself
        X = sphere(row.n, 4, seed=row.task_seed)
        report = rank_report(analytic.ntk(X, depth=row.depth))
        assert row["rank"] == report.rank
        if report.gap > 1e10:  # a gap down to rounding level: its size is rounding noise
            assert row.rank_gap > 1e10
        else:
            assert row.rank_gap == pytest.approx(report.gap, rel=1e-6)
        if row.lambda_min > 0:
            assert row.condition_number == pytest.approx(lam[0] / lam[-1], rel=1e-12)
        else:
            assert math.isinf(row.condition_number)
    # the ReLU NTK of distinct points on the sphere is strictly positive definite
    deep = df[df.depth >= 1]
    assert (deep["rank"] == deep.n).all() and (deep.lambda_min > 0).all()


def test_kernel_summary_rejects_unknown_parameters():
    from ntkjam.experiments.kernel_summary import kernel_summary

    with pytest.raises(ValueError, match="unknown parameter 'width'; allowed: n, d"):
        kernel_summary({"n": 3, "d": 2, "width": 5}, 0)
    with pytest.raises(ValueError, match="parameter 'n' is required"):
        kernel_summary({"d": 2}, 0)
