"""``ntkjam spectrum``: φ sweep through the sweep engine, table, stored arrays, figure."""

import numpy as np
from typer.testing import CliRunner

from ntkjam import sweep
from ntkjam.cli import app
from ntkjam.experiments.spectrum import sizes, spectrum_task
from ntkjam.figures.spectrum import Panel, plot_spectra
from ntkjam.spectrum.random_matrix import mp_law

runner = CliRunner()


def test_sizes_and_task_closed_forms():
    assert sizes(2.0, "p", 100) == (200, 100)
    assert sizes(0.5, "n", 100) == (100, 200)
    out = spectrum_task({"source": "gaussian", "phi": 2.0, "fixed": "p", "size": 150}, 0)
    assert out["n_zero"] == 150
    assert out["expected_zero_fraction"] == 0.5
    assert out["ks"] < 0.05
    assert out["arrays"]["eigenvalues"].shape == (300,)


def test_features_task_uses_silverstein():
    params = {"source": "features", "phi": 1.0, "fixed": "n", "size": 150, "d": 30}
    out = spectrum_task(params, 3)
    assert out["predicted_atom"] == 0.0
    assert out["mass_error"] < 1e-2
    assert out["ks"] < 0.05


def test_cli_runs_a_sweep_and_writes_a_figure(tmp_path):
    run_dir = tmp_path / "run"
    fig = tmp_path / "spec.png"
    args = ["spectrum", "--phi", "0.5,2", "--size", "120", "--output", str(run_dir),
            "--figure", str(fig), "--seeds", "2"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "1 − 1/φ" in result.output
    df = sweep.load(run_dir, status="done")
    assert len(df) == 4
    assert sorted(df.phi.unique()) == [0.5, 2.0]
    row = df[df.phi == 2.0].iloc[0]
    eig = sweep.load_arrays(run_dir, row.hash)["eigenvalues"]
    assert np.count_nonzero(eig == 0.0) == 120
    assert fig.stat().st_size > 1000 and fig.with_suffix(".pdf").stat().st_size > 1000
    # Resume: nothing new to run, same table.
    again = runner.invoke(app, args)
    assert again.exit_code == 0


def test_cli_bad_input_exits_2(tmp_path):
    for bad in (["--phi", "0,1"], ["--phi", "a"], ["--source", "nope"], ["--fixed", "q"],
                ["--figure", str(tmp_path / "f.jpg")]):
        result = runner.invoke(app, ["spectrum", *bad, "--output", str(tmp_path / "r")])
        assert result.exit_code == 2
        assert "error" in result.output
    assert not (tmp_path / "r").exists()  # refused before any work
    assert "figure must be a path ending in .png or .pdf" in " ".join(result.output.split())


def test_plot_spectra_logx():
    lam = np.r_[np.zeros(50), np.random.default_rng(0).uniform(0.2, 5.0, 50)]
    fig = plot_spectra([Panel("φ = 2", lam, (("MP", mp_law(2.0)),))] * 3, logx=True, ncols=2)
    assert len([ax for ax in fig.axes if ax.get_visible()]) == 3
    assert fig.axes[0].get_xscale() == "log"


def test_plot_spectra_moved_to_the_figures_stage():
    """The old name in ntkjam.spectrum.compare warns and draws the same figure."""
    import importlib
    import warnings

    compare = importlib.import_module("ntkjam.spectrum.compare")  # not the function compare

    lam = np.r_[np.zeros(10), np.linspace(0.5, 2.0, 30)]
    panels = [Panel("φ = 2", lam, (("MP", mp_law(2.0)),))]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        old = compare.plot_spectra(panels, logx=True)
    assert any(issubclass(w.category, DeprecationWarning) and "ntkjam.figures.spectrum"
               in str(w.message) for w in caught)
    new = plot_spectra(panels, logx=True)
    assert old.axes[0].get_xscale() == new.axes[0].get_xscale() == "log"
    np.testing.assert_array_equal(old.axes[0].patches[0].get_path().vertices,
                                  new.axes[0].patches[0].get_path().vertices)
