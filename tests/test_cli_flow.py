"""Tests for the `ntkjam flow` command."""

from types import SimpleNamespace

import numpy as np
import pytest
from typer.testing import CliRunner

import ntkjam  # noqa: F401
from ntkjam.cli import app
from ntkjam.data import load_dataset
from ntkjam.dynamics import StoppingRules, gradient_flow
from ntkjam.kernels.features import random_features

runner = CliRunner()


def test_flow_features_writes_trajectory_and_figure(tmp_path):
    out = tmp_path / "run"
    result = runner.invoke(app, ["flow", "--n", "60", "--n-test", "20", "--features", "relu",
                                 "--P", "20", "--seed", "3", "--output", str(out)])
    assert result.exit_code == 0, result.output
    assert "converged" in result.output
    z = np.load(out / "trajectory.npz", allow_pickle=False)
    assert str(z["status"]) == "converged"
    assert z["outputs"].shape == (z["times"].size, 60)
    assert z["test_outputs"].shape == (z["times"].size, 20)
    assert (out / "flow.png").stat().st_size > 10_000
    assert (out / "flow.pdf").stat().st_size > 1000
    # the same run through the library gives the same final outputs
    ds = load_dataset("sphere", n_train=60, n_test=20, d=10, seed=3)
    J = random_features(np.vstack([ds.X_train, ds.X_test]), 20, activation="relu", seed=3)
    ref = gradient_flow(np.zeros(60), ds.y_train, "quadratic_hinge", features=J[:60],
                        stopping=StoppingRules())
    np.testing.assert_allclose(z["final_outputs"], ref.final_outputs, atol=1e-12)


def test_flow_kernel_gd(tmp_path):
    out = tmp_path / "gd"
    result = runner.invoke(app, ["flow", "--n", "30", "--kernel", "ntk", "--method", "gd",
                                 "--loss", "mse", "--lr", "0.5", "--steps", "200",
                                 "--batch-size", "10", "--output", str(out)])
    assert result.exit_code == 0, result.output
    z = np.load(out / "trajectory.npz", allow_pickle=False)
    assert int(z["n_steps"]) <= 200 and z["loss"][-1] < z["loss"][0]


def test_flow_bad_input_exits_2(tmp_path):
    for args in (["--loss", "cross_entropy"], ["--lr", "0"], ["--features", "sigmoid"],
                 ["--method", "sgd"], ["--n", "0"]):
        result = runner.invoke(app, ["flow", "--n", "10", *args, "--output", str(tmp_path / "x")])
        assert result.exit_code == 2, (args, result.output)
        assert "error" in result.output


def test_flow_help():
    result = runner.invoke(app, ["flow", "--help"])
    assert result.exit_code == 0
    assert "trajectory" in result.output and "--features" in result.output


def test_flow_figure_puts_the_count_on_a_linear_axis():
    from ntkjam.figures.flow import plot_flow

    result = SimpleNamespace(times=np.array([0.0, 0.1, 1.0, 10.0]),
                             loss=np.array([1.0, 0.5, 1e-3, 0.0]), n_unsat=np.array([5, 3, 1, 0]),
                             kgrad_norm=np.array([1.0, 0.1, 1e-4, 0.0]), unsat_tol=1e-9,
                             loss_name="quadratic_hinge", status="sat")
    axes = plot_flow(result)
    assert [ax.get_yscale() for ax in axes] == ["log", "linear", "log"]
    assert axes[1].get_xscale() == "log"  # time, t > 0 only
    np.testing.assert_array_equal(axes[1].lines[0].get_ydata(), [3, 1, 0])
    np.testing.assert_array_equal(axes[0].lines[0].get_ydata(), [0.5, 1e-3])  # > 0 only


def test_flow_old_name_warns(tmp_path, monkeypatch):
    import ntkjam.cli.flow as flow_cli
    import ntkjam.figures.flow as flow_figures

    calls = []
    monkeypatch.setattr(flow_figures, "save_flow_figure",
                        lambda *a, **k: calls.append((a, k)) or [])
    with pytest.warns(DeprecationWarning, match="plot_trajectory is deprecated"):
        flow_cli.plot_trajectory("result", tmp_path / "flow.png", title="t")
    assert calls == [(("result", tmp_path / "flow.png"), {"title": "t"})]
