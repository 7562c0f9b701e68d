"""``ntkjam train``: writes a loadable trajectory and a figure; bad input exits with status 2."""

from __future__ import annotations

import numpy as np
from typer.testing import CliRunner

from ntkjam.cli import app
from ntkjam.networks import load_trajectory

runner = CliRunner()


def test_train_writes_trajectory_and_figure(tmp_path):
    out = tmp_path / "run"
    result = runner.invoke(
        app,
        ["train", "--n", "20", "--n-test", "4", "--d", "20", "--widths", "64",
         "--lr", "1.0", "--max-steps", "2000", "--output", str(out)],
    )
    assert result.exit_code == 0, result.output
    assert "status: sat" in result.output
    traj, meta = load_trajectory(out / "trajectory.npz")
    assert meta["status"] == "sat"
    assert meta["config"]["widths"] == [64] and meta["config"]["n_train"] == 20
    assert traj.n_unsat[-1] == 0
    assert traj.f_test.shape[1] == 4
    assert traj.kernels.shape[0] == traj.time.size  # K_t at every record
    assert np.all(np.isfinite(traj.kernel_change))
    png = (out / "trajectory.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000


def test_train_help_lists_the_main_options():
    result = runner.invoke(app, ["train", "--help"])
    assert result.exit_code == 0
    for option in ("--widths", "--alpha", "--loss", "--optimizer", "--output"):
        assert option in result.output


def test_train_bad_input_exits_2_with_one_line(tmp_path):
    cases = [
        (["--widths", "64,0"], "widths[1] must be >= 1"),
        (["--widths", "a,b"], "widths must be comma-separated integers"),
        (["--alpha", "0"], "alpha must be > 0"),
        (["--optimizer", "sgd"], "Invalid value for '--optimizer'"),
        (["--activation", "swish"], "Invalid value for '--activation'"),
        (["--parameterization", "mup"], "Invalid value for '--parameterization'"),
    ]
    for args, message in cases:
        result = runner.invoke(app, ["train", "--n", "5", "--output", str(tmp_path / "x"),
                                     *args])
        assert result.exit_code == 2, (args, result.output)
        assert message in result.output, (args, result.output)
        assert "Traceback" not in result.output
