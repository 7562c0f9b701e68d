"""Finite-width NTK fluctuations: the experiments, the analysis, the figures and the CLI.

The default tests take well under 30 s on two shared cores; the acceptance-size checks
(widths 64 … 2048, depths 1 and 3) are ``slow``.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import ntkjam  # noqa: F401  (float64)
import ntkjam.cli.fluctuations  # noqa: F401  (registers the command until cli/__init__ does)
from ntkjam.analysis.fluctuations import (
    analyze_fluctuations,
    ensemble_laws,
    fluctuation_points,
    hanin_nica,
    width_fits,
)
from ntkjam.analysis.power_law import exponent_verdict, power_law_fit
from ntkjam.cli import app
from ntkjam.data import sphere
from ntkjam.experiments.fluctuations import (
    FluctuationParams,
    check_sizes,
    fluctuation_spec,
    kernel_fluctuations,
    network_seed,
    ntk_diagonal_moments,
    spectral_norm,
)
from ntkjam.kernels.analytic import ntk as analytic_ntk
from ntkjam.networks import empirical_ntk, init_params, mlp

runner = CliRunner()


def _rows(task, grid: list[dict], seeds, **fixed) -> pd.DataFrame:
    """The table a sweep would store: params and measurements of each task, one row each."""
    rows = []
    for point in grid:
        for seed in seeds:
            params = {**fixed, **point}
            out = task(params, seed)
            out.pop("arrays", None)
            rows.append({**FluctuationParams.defaults(), **params, **out, "seed": seed})
    return pd.DataFrame(rows)


# ------------------------------------------------------------------ conventions
@pytest.mark.parametrize("kw", [dict(), dict(sigma_b=0.5, bias=True),
                                dict(activation="erf", sigma_w=1.3)],
                         ids=["relu", "relu-bias", "erf"])
def test_mean_over_seeds_is_the_analytic_kernel(kw):
    """One hidden layer: K_n is a mean of n iid per-neuron kernels whose expectation is
    K_∞ exactly, so the seed average must agree with K_∞ entry by entry (z-test)."""
    X = sphere(6, 5, seed=1)
    net = mlp(5, 64, depth=1, **kw)
    Ks = np.array([empirical_ntk(net, init_params(net, network_seed(3, s)), X)
                   for s in range(300)])
    K_inf = analytic_ntk(X, depth=1, **{k: v for k, v in kw.items() if k != "bias"})
    iu = np.triu_indices(6)
    z = (Ks.mean(0) - K_inf)[iu] / (Ks.std(0, ddof=1)[iu] / math.sqrt(len(Ks)))
    assert np.max(np.abs(z)) < 4.5, z
    # and the spread is the finite-width one, not a convention mismatch of O(1)
    rel = np.mean([np.linalg.norm(K - K_inf) / np.linalg.norm(K_inf) for K in Ks])
    assert 0.05 < rel < 0.6, rel


def test_same_seed_same_numbers_and_seeds_differ():
    p = {"width": 32, "n": 12, "depth": 2, "n_ens": 3}
    a, b = kernel_fluctuations(p, 7), kernel_fluctuations(p, 7)
    for k in a:
        if k == "arrays":
            for name in a[k]:
                np.testing.assert_array_equal(a[k][name], b[k][name])
        else:
            assert a[k] == b[k], k
    assert kernel_fluctuations(p, 8)["rel_frobenius"] != a["rel_frobenius"]
    assert network_seed(7, 0) != network_seed(7, 1) != network_seed(8, 1)


def test_measurements_are_what_they_say():
    p = {"width": 48, "n": 80, "depth": 1, "n_ens": 2}
    out = kernel_fluctuations(p, 0)
    X = sphere(80, 10, seed=0)
    K_inf = analytic_ntk(X, depth=1)
    net = mlp(10, 48, depth=1)
    Ks = [empirical_ntk(net, init_params(net, network_seed(0, s)), X) for s in range(2)]
    E = [K - K_inf for K in Ks]
    rel_f = np.mean([np.linalg.norm(e) / np.linalg.norm(K_inf) for e in E])
    ops = [np.max(np.abs(np.linalg.eigvalsh(e))) for e in E]
    assert out["rel_frobenius"] == pytest.approx(rel_f, rel=1e-12)
    assert out["abs_operator"] == pytest.approx(np.mean(ops), rel=1e-9)  # Lanczos
    assert out["rel_operator"] == pytest.approx(
        np.mean(ops) / np.max(np.linalg.eigvalsh(K_inf)), rel=1e-9)
    assert out["arrays"]["ensemble_rel_frobenius"][-1] == pytest.approx(
        np.linalg.norm((Ks[0] + Ks[1]) / 2 - K_inf) / np.linalg.norm(K_inf), rel=1e-12)
    bias = np.sum(E[0] * E[1]) / np.linalg.norm(K_inf) ** 2
    assert out["bias_sq"] == pytest.approx(bias, rel=1e-12)
    A = np.random.default_rng(0).standard_normal((100, 100))
    assert spectral_norm(A + A.T) == pytest.approx(np.abs(np.linalg.eigvalsh(A + A.T)).max())


# ------------------------------------------------------------------ laws
def test_width_exponent_is_minus_one_half_at_small_sizes():
    df = _rows(kernel_fluctuations, [{"width": w} for w in (64, 128, 256, 512)], range(6),
               depth=1, n=20, n_ens=4)
    fits = {f.quantity: f for f in width_fits(fluctuation_points(df))}
    f = fits["rel_frobenius"]
    assert f.ci_low <= -0.5 <= f.ci_high, f
    assert abs(f.exponent + 0.5) < 0.1, f
    assert f.verdict == "consistent with n^-1/2"


def test_hanin_nica_depth_one_is_exact():
    """Depth 1, ReLU, no bias: K(x,x) = (σ_w² q/n) Σ_j θ(u_j)(u_j² + a_j²), so
    E[K²]/E[K]² = 1 + 3/n exactly (E θ(u)(u² + a²)² = 4)."""
    rows = [{**ntk_diagonal_moments({"width": 12, "depth": L, "n": 4, "n_nets": 300}, s),
             "depth": L, "width": 12, "n_nets": 300} for L in (1, 2, 3) for s in range(4)]
    h = hanin_nica(pd.DataFrame(rows))
    y, e = h.log_ratio[0], h.log_ratio_err[0]
    assert abs(y - math.log(1 + 3 / 12)) < 4 * e, (y, e)
    assert abs(h.mean_offset[0]) < 0.05  # E K(x,x) = K_∞(x,x)


def test_hanin_nica_log_ratio_is_linear_in_beta():
    """log E[K²]/E[K]² = c(L) β at fixed depth (β = L/n through the widths), c near 3."""
    rows = []
    for depth in (1, 2, 4):
        for width in (16, 32):
            for s in range(3):
                out = ntk_diagonal_moments({"width": width, "depth": depth, "n": 8,
                                            "n_nets": 48}, s)
                rows.append({**out, "depth": depth, "width": width, "n_nets": 48})
    h = hanin_nica(pd.DataFrame(rows))
    assert h.verdict == "linear in β", h
    assert list(h.fit_depths) == [1, 2, 4]
    assert np.all((h.depth_rates > 2.3) & (h.depth_rates < 4.5)), h.depth_rates
    assert h.ci_low > 0 and h.rate_verdict in ("below 5", "undetermined")
    assert abs(h.intercept) < 0.05


def test_ensemble_random_part_falls_like_inverse_sqrt_size(tmp_path):
    from ntkjam import sweep

    spec = fluctuation_spec(depths=[1], widths=[32, 64, 128], n=[16], seeds=6, n_ens=12,
                            output=str(tmp_path / "ens"))
    sweep.run(spec, workers=1)
    df = sweep.load(tmp_path / "ens")
    laws = ensemble_laws(df, tmp_path / "ens")
    assert len(laws) == 3
    for e in laws:
        f = e.random_fit
        assert f.ci_low <= -0.5 <= f.ci_high and abs(f.exponent + 0.5) < 0.15, f
        # one hidden layer has no bias: the estimate is consistent with 0
        assert abs(e.bias_sq) < 4 * e.bias_sq_err + 1e-12, e
        assert e.distance[-1] < e.distance[0]


# ------------------------------------------------------------------ fits, verdicts
def test_power_law_fit_and_verdicts():
    x = np.array([1.0, 2.0, 4.0, 8.0])
    y = 3.0 * x**-0.5
    f = power_law_fit(x, y, 0.01 * y, hypotheses={"n^-1/2": -0.5})
    assert f.exponent == pytest.approx(-0.5) and f.amplitude == pytest.approx(3.0)
    assert f.verdict == "consistent with n^-1/2"
    assert exponent_verdict(-0.3, -0.2, {"P^-1/4": -0.25, "P^-1/2": -0.5}) == \
        "consistent with P^-1/4"
    assert exponent_verdict(-0.6, -0.2, {"P^-1/4": -0.25, "P^-1/2": -0.5}) == "undetermined"
    assert exponent_verdict(-0.9, -0.8, {"P^-1/4": -0.25, "P^-1/2": -0.5}).startswith(
        "excludes")
    assert exponent_verdict(-1.5, 0.5, {"n^-1/2": -0.5}) == "undetermined"  # too wide
    noisy = power_law_fit(x, y * np.array([1, 1.3, 0.8, 1.2]), 0.001 * y)
    assert noisy.p_value < 0.01 and noisy.note.startswith("warning")
    with pytest.raises(ValueError, match="at least 3 sizes"):
        power_law_fit(x[:2], y[:2], y[:2])


# ------------------------------------------------------------------ bad input
@pytest.mark.parametrize("params, match", [
    ({"width": 8, "n": 1}, "n must be >= 2"),
    ({"width": 8, "n": 4, "depth": 0}, "depth must be >= 1"),
    ({"width": 0, "n": 4}, "width must be >= 1"),
    ({"n": 4}, "'width' is required"),
    ({"width": 8, "n": 4, "activation": "sigmoid"}, "activation must be one of"),
    ({"width": 8, "n": 4, "parameterization": "standard"}, "unknown parameter"),
])
def test_bad_params_are_one_line_errors(params, match):
    with pytest.raises(ValueError, match=match):
        kernel_fluctuations(params, 0)


def test_check_sizes():
    assert check_sizes([1, 2, 5], "widths") == [1, 2, 5]
    with pytest.raises(ValueError, match="widths must be strictly increasing"):
        check_sizes([64, 32, 128], "widths")
    with pytest.raises(ValueError, match="at least 3"):
        check_sizes([64, 128], "widths")


_TINY = ["--depths", "1", "--widths", "16,24,32", "--n", "6", "--seeds", "3", "--n-ens", "2",
         "--hn-depths", "1,2,3", "--hn-widths", "16", "--hn-n", "4", "--n-nets", "4", "-q"]


@pytest.mark.parametrize("args, match", [
    (["--widths", "64,32,128"], "--widths must be strictly increasing"),
    (["--widths", "64,128"], "--widths must list at least 3"),
    (["--widths", "64,x,128"], "--widths must be integers"),
    (["--seeds", "2"], "--seeds must be >= 3"),
    (["--n", "1"], "--n must be >= 2"),
    (["--n", "10,20"], "--n must give one N or at least 3"),
    (["--hn-depths", "1,2"], "--hn-depths must list at least 3"),
    (["--depths", "0"], "--depths must be >= 1"),
    (["--n-ens", "0"], "--n-ens must be >= 1"),
])
def test_cli_bad_input_is_one_line_exit_2_nothing_written(tmp_path, args, match):
    out = tmp_path / "run"
    res = runner.invoke(app, ["fluctuations", *_TINY, *args, "-o", str(out)])
    assert res.exit_code == 2, res.output
    lines = [ln for ln in res.output.splitlines() if ln.strip()]
    assert len(lines) == 1 and match in lines[0], res.output
    assert not out.exists()


def test_cli_runs_resumes_and_writes_everything(tmp_path):
    from ntkjam import sweep

    out = tmp_path / "fl"
    res = runner.invoke(app, ["fluctuations", *_TINY, "-o", str(out)])
    assert res.exit_code == 0, res.output
    assert "exponent γ in the width" in res.output and "Hanin–Nica" in res.output
    data = json.loads((out / "analysis.json").read_text())
    assert len(data["width_fits"]) == 4 and data["hanin_nica"]["rate"] is not None
    names = {p.name for p in (out / "figures").iterdir()}
    for stem in ("width_scaling", "n_scaling", "hanin_nica", "ensembles"):
        assert {f"{stem}.png", f"{stem}.pdf"} <= names
    first = sweep.load(out / "kernels")
    again = runner.invoke(app, ["fluctuations", *_TINY, "-o", str(out)])
    assert again.exit_code == 0, again.output
    assert "ran 0 in" in again.output and "18 already stored" in again.output
    pd.testing.assert_frame_equal(first, sweep.load(out / "kernels"))
    other = runner.invoke(app, ["fluctuations", *_TINY, "--d", "5", "-o", str(out)])
    assert other.exit_code == 2 and "holds a kernel-fluctuation sweep with d=10" in \
        other.output
    analysis = analyze_fluctuations(out / "kernels", out / "diagonal")
    assert analysis.n_done == 18 and analysis.hanin_nica is not None
    with pytest.raises(ValueError, match="is not a kernel_fluctuations run directory"):
        analyze_fluctuations(out / "diagonal")


# ------------------------------------------------------------------ acceptance (slow)
@pytest.mark.slow
@pytest.mark.parametrize("depth", [1, 3])
def test_acceptance_width_exponent_64_to_2048(depth):
    """Issue 13: ‖K_n(0) − K_∞‖_F/‖K_∞‖_F ∝ n^γ with γ = −0.50 ± 0.05, widths 64 … 2048."""
    widths = (64, 128, 256, 512, 1024, 2048)
    df = _rows(kernel_fluctuations, [{"width": w} for w in widths], range(12), depth=depth,
               n=50, n_ens=4)
    f = next(f for f in width_fits(fluctuation_points(df)) if f.quantity == "rel_frobenius")
    assert abs(f.exponent + 0.5) <= 0.05, f


@pytest.mark.slow
def test_deep_ensemble_mean_approaches_the_analytic_kernel():
    """Depth 3: E K_n − K_∞ = O(1/n) is below the noise at width 128 — the mean of 40
    networks is as far from K_∞ as the random part alone predicts (no floor), and the
    bias estimate is small."""
    out = [kernel_fluctuations({"width": 128, "n": 10, "d": 5, "depth": 3, "n_ens": 40}, s)
           for s in range(10)]
    D = np.array([o["arrays"]["ensemble_rel_frobenius"] for o in out])
    rms = np.sqrt((D**2).mean(axis=0))
    assert 0.75 < rms[-1] * math.sqrt(40) / rms[0] < 1.3, rms
    assert np.mean([o["bias_sq"] for o in out]) < 3e-3
