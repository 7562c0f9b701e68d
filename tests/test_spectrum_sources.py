"""Sources of ``ntkjam spectrum`` beyond random features: truncated (Taylor) kernels, the
empirical NTK, the analytic NTK; the SLQ route; Funk–Hecke Gram predictions."""

import math

import numpy as np
import pytest
from typer.testing import CliRunner

from ntkjam import sweep
from ntkjam.cli import app
from ntkjam.data import sphere
from ntkjam.experiments.spectrum import (
    funk_hecke_gram_prediction,
    network_width,
    spectral_distance,
    spectrum_task,
    taylor_degree,
)
from ntkjam.figures.spectrum import plot_spectra
from ntkjam.kernels.analytic import ntk, polynomial
from ntkjam.kernels.features import taylor_feature_count, taylor_rank_on_sphere
from ntkjam.spectrum.compare import Panel, ks_two_sample
from ntkjam.spectrum.funk_hecke import funk_hecke, kernel_on_sphere
from ntkjam.spectrum.measured import gram_eigenvalues
from ntkjam.spectrum.slq import default_strip_rows, dense_operator, kernel_operator, slq

runner = CliRunner()


def test_sizes_of_networks_and_taylor_degrees():
    # P(h) = d h + (L - 1) h² + h.
    assert network_width(600, 5, 1) == 100
    assert network_width(1, 5, 1) == 1
    h = network_width(3 * 20 + 20 * 20 + 20, 3, 2)
    assert h == 20
    # Ranks on S^4: 1, 6, 20, 50, 105, ...
    assert [taylor_degree(p, 5) for p in (1, 5, 20, 40, 50, 100)] == [0, 1, 2, 3, 3, 4]


def test_truncated_features_have_exactly_the_sphere_rank():
    # d = 5, P = 50 -> degree 3, rank C(7,3) + C(6,2) = 35 + 15 = 50 of C(8,3) = 56 columns.
    out = spectrum_task({"source": "truncated", "phi": 3.0, "fixed": "p", "size": 50}, 0)
    assert out["truncation_degree"] == 3
    assert out["p"] == taylor_rank_on_sphere(5, 3) == 50
    assert out["n_columns"] == taylor_feature_count(5, 3) == 56
    assert out["n"] == 150
    assert out["n_zero"] == 100  # exactly N − P, though J has 56 columns
    assert out["gap"] > 1e6  # the count does not hinge on the tolerance
    assert out["predicted_atom"] == pytest.approx(2 / 3)
    below = spectrum_task({"source": "truncated", "phi": 0.5, "fixed": "p", "degree": 3}, 1)
    assert below["n"] == 25 and below["n_zero"] == 0


def test_truncated_spectrum_approaches_funk_hecke_as_phi_grows():
    runs = {phi: spectrum_task({"source": "truncated", "phi": phi, "fixed": "p", "size": 50}, 0)
            for phi in (2.0, 32.0)}
    assert runs[32.0]["ks"] < 0.03
    assert runs[32.0]["spectral_distance"] < 0.5 * runs[2.0]["spectral_distance"]
    pred = runs[32.0]["arrays"]["predicted_eigenvalues"]
    assert np.count_nonzero(pred) == 50


def test_funk_hecke_gram_prediction_finite_rank_and_vanishing_odd_modes():
    d, n = 3, 40
    # Polynomial kernel of degree 2 on S²: 1 + 3 + 5 = 9 nonzero modes, the rest exact zeros.
    kappa = kernel_on_sphere(polynomial, d, degree=2)
    pred = funk_hecke_gram_prediction(kappa, d, n, k_max=6)
    assert np.count_nonzero(pred) == 9 and pred.shape == (n,)
    # ReLU NTK: odd μ_k (k >= 3) vanish; the prediction skips them and still fills n.
    kappa = kernel_on_sphere(ntk, d, radius=math.sqrt(d))
    pred = funk_hecke_gram_prediction(kappa, d, 200)
    assert np.all(pred > 0)
    fh = funk_hecke(kappa, d, 40)
    expected = np.sort(np.repeat(200 * fh.mu[[0, 1, 2, 4, 6]], [1, 3, 5, 9, 13]))[::-1]
    assert np.allclose(pred[::-1][:31], expected, rtol=1e-10)


def test_analytic_ntk_gram_approaches_funk_hecke():
    d = 3
    kappa = kernel_on_sphere(ntk, d, radius=math.sqrt(d))
    dist = {}
    for n in (100, 800):
        pred = funk_hecke_gram_prediction(kappa, d, n)
        dist[n] = np.mean([
            spectral_distance(gram_eigenvalues(ntk(sphere(n, d, seed=s, radius="sqrt_d"))), pred)
            for s in (0, 1)
        ])
    # δ₂ ~ N^{-1/2}: a factor 8 in N gives about 1/2.8.
    assert dist[800] < 0.5 * dist[100]
    assert dist[800] < 0.07


def test_empirical_ntk_approaches_analytic_with_width():
    base = {"source": "empirical", "fixed": "n", "size": 120, "d": 3}
    narrow = spectrum_task({**base, "phi": 1.0}, 0)
    wide = spectrum_task({**base, "phi": 0.005}, 0)
    assert wide["width"] > 50 * narrow["width"]
    assert wide["spectral_distance"] < 0.25 * narrow["spectral_distance"]
    assert wide["spectral_distance"] < 0.02
    # Above the rank: N − (P − width) zero modes for a one-hidden-layer ReLU net, exactly.
    over = spectrum_task({**base, "phi": 3.0}, 0)
    assert over["n_zero"] == over["n"] - over["expected_rank"]
    assert over["expected_rank"] == over["p"] - over["width"]


def test_analytic_task_refuses_fixed_n():
    with pytest.raises(ValueError, match="fixed must be 'p' for source 'analytic'"):
        spectrum_task({"source": "analytic", "phi": 1.0, "fixed": "n", "size": 10}, 0)


def test_slq_quantiles_reproduce_the_estimate():
    lam = np.r_[np.zeros(150), np.linspace(1.0, 2.0, 150)]
    Q = np.linalg.qr(np.random.default_rng(0).standard_normal((300, 300)))[0]
    est = slq(dense_operator((Q * lam) @ Q.T), n_probes=10, n_steps=25, seed=0)
    q = est.quantiles(300)
    assert np.all(np.diff(q) >= 0)
    assert np.count_nonzero(q == 0.0) == pytest.approx(300 * est.atom, abs=1)
    assert ks_two_sample(q, lam) < 0.05


def test_slq_route_of_the_task_matches_the_dense_route():
    base = {"source": "gaussian", "phi": 2.0, "fixed": "p", "size": 300}
    dense = spectrum_task(base, 0)
    est = spectrum_task({**base, "slq_probes": 10, "slq_steps": 30}, 0)
    assert est["method"] == "slq" and dense["method"] == "dense"
    assert ks_two_sample(est["arrays"]["eigenvalues"], dense["arrays"]["eigenvalues"]) < 0.03
    assert abs(est["slq_atom"] - 0.5) < 0.03
    assert est["ks"] < 0.03
    emp = spectrum_task({"source": "empirical", "phi": 0.5, "fixed": "n", "size": 100, "d": 3,
                         "slq_probes": 5, "slq_steps": 20}, 0)
    assert emp["prediction"] == "Funk–Hecke NTK" and emp["arrays"]["eigenvalues"].shape == (100,)
    # Features: the NNGP population is itself an SLQ estimate (weighted nodes).
    feat = spectrum_task({"source": "features", "phi": 2.0, "fixed": "n", "size": 300, "d": 30,
                          "slq_probes": 10, "slq_steps": 20}, 0)
    assert feat["predicted_atom"] == 0.5 and feat["ks"] < 0.06


def test_default_strip_rows_and_product():
    assert default_strip_rows(100) == 100
    assert default_strip_rows(50000) == 256
    assert default_strip_rows(20000) == 768
    assert default_strip_rows(600) == 600
    X = sphere(700, 4, seed=0, radius="sqrt_d")
    V = np.random.default_rng(1).standard_normal((700, 3))
    op = kernel_operator(ntk, X)  # one strip of 700 rows
    assert np.allclose(op.matmat(V), ntk(X) @ V, rtol=1e-12, atol=1e-10)
    small = kernel_operator(ntk, X, block_size=256)  # strips of 256, 256 and 188 rows
    assert np.allclose(small.matmat(V), ntk(X) @ V, rtol=1e-12, atol=1e-10)


def test_plot_spectra_draws_discrete_predictions():
    lam = np.r_[np.zeros(10), np.geomspace(0.1, 10.0, 90)]
    pred = np.r_[np.zeros(10), np.repeat([0.2, 1.0, 5.0], 30)]
    fig = plot_spectra([Panel("φ = 2", lam, predicted=(("Funk–Hecke", pred),))], logx=True)
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert any(label.startswith("Funk–Hecke (zero modes 0.100)") for label in labels)


def test_cli_new_sources(tmp_path):
    run = tmp_path / "trunc"
    fig = tmp_path / "trunc.png"
    result = runner.invoke(app, ["spectrum", "--source", "truncated", "--phi", "2,8",
                                 "--size", "20", "--output", str(run), "--figure", str(fig),
                                 "--logx"])
    assert result.exit_code == 0, result.output
    assert "δ₂" in result.output and fig.stat().st_size > 1000
    df = sweep.load(run, status="done")
    row = df[df.phi == 8.0].iloc[0]
    arrays = sweep.load_arrays(run, row.hash)
    assert row.p == 20 and row.n_zero == row.n - 20  # 21 columns, rank 20
    assert np.count_nonzero(arrays["predicted_eigenvalues"]) == 20
    assert arrays["predicted_eigenvalues"].shape == arrays["eigenvalues"].shape
    result = runner.invoke(app, ["spectrum", "--source", "empirical", "--phi", "1", "--fixed",
                                 "n", "--size", "40", "--d", "3", "--slq", "4,8",
                                 "--output", str(tmp_path / "emp")])
    assert result.exit_code == 0, result.output
    assert "SLQ" in result.output
    result = runner.invoke(app, ["spectrum", "--source", "analytic", "--phi", "1", "--size",
                                 "60", "--d", "3", "--output", str(tmp_path / "ana")])
    assert result.exit_code == 0, result.output
    assert "∞" in result.output


def test_cli_new_options_bad_input(tmp_path):
    for bad in (["--slq", "10"], ["--slq", "0,5"], ["--slq", "a,b"],
                ["--source", "analytic", "--fixed", "n"], ["--depth", "0"], ["--d", "1"]):
        result = runner.invoke(app, ["spectrum", *bad, "--output", str(tmp_path / "r")])
        assert result.exit_code == 2, (bad, result.output)
        assert "error" in result.output


@pytest.mark.slow
def test_slq_of_the_analytic_ntk_matches_dense_at_n_3000():
    base = {"source": "analytic", "phi": 1.0, "fixed": "p", "size": 3000, "d": 3}
    dense = spectrum_task(base, 0)
    est = spectrum_task({**base, "slq_probes": 10, "slq_steps": 80}, 0)
    assert ks_two_sample(est["arrays"]["eigenvalues"], dense["arrays"]["eigenvalues"]) < 0.04
    assert abs(est["ks"] - dense["ks"]) < 0.03
    assert est["spectral_distance"] is None and dense["spectral_distance"] < 0.05
