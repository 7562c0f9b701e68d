"""Tests of ntkjam.analysis (synthetic tables with known answers) and ntkjam.figures."""

from __future__ import annotations

import ast
import importlib
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import matplotlib.image
import numpy as np
import pandas as pd
import pytest
from scipy.special import ndtr

from ntkjam import analysis
from ntkjam.analysis import (
    Crossing,
    ObservableCurve,
    SatCurve,
    cover_chi2,
    crossings,
    finite_size_scaling,
    fit_crossing,
    isostatic_verdict,
    model_probability,
    power_law_tail,
    sat_curves,
)
from ntkjam.theory import cover_probability


def _synthetic_table(P_list, phis, n_seeds, phi_c, width_of, seed=0):
    """Bernoulli outcomes P(SAT) = Φ((φ_c − φ)/w(P)), in the phase-diagram table layout."""
    rng = np.random.default_rng(seed)
    rows = []
    for P in P_list:
        w = width_of(P)
        for phi in phis:
            n = round(phi * P)
            p = float(ndtr((phi_c - n / P) / w))
            for s in range(n_seeds):
                rows.append({"P": P, "phi": phi, "seed": s, "n": n, "n_params": P,
                             "sat": bool(rng.random() < p), "rank": P,
                             "cover": cover_probability(n, P), "status": "done"})
    return pd.DataFrame(rows)


# ------------------------------------------------------------------------ crossing fit
@pytest.mark.parametrize("model", ["erf", "logistic"])
def test_fit_crossing_recovers_the_model(model):
    rng = np.random.default_rng(1)
    phi = np.repeat(np.linspace(1.5, 2.5, 21), 400)
    p = model_probability(phi, 2.03, 0.12, model)
    sat = rng.random(phi.size) < p
    c, w = fit_crossing(phi, sat, model=model)
    # 8400 Bernoulli draws: the standard errors are ~0.003 (φ_c) and ~0.004 (w).
    assert abs(c - 2.03) < 0.015
    assert abs(w - 0.12) < 0.02


def test_fit_crossing_on_exact_probabilities_is_exact():
    phi = np.linspace(1.0, 3.0, 41)
    p = model_probability(phi, 1.9, 0.2, "erf")
    c, w = analysis.fit_counts(phi, p * 1000, np.full(phi.size, 1000.0), "erf")
    assert c == pytest.approx(1.9, abs=1e-7)
    assert w == pytest.approx(0.2, rel=1e-6)


def test_fit_crossing_separated_and_constant_samples():
    phi = np.array([1.0, 1.0, 1.5, 1.5, 2.0, 2.0, 2.5, 2.5])
    sat = phi < 1.8  # every SAT below every UNSAT: no finite maximum
    c, w = fit_crossing(phi, sat)
    assert c == pytest.approx(1.75)
    assert w < 1e-3
    c, w = fit_crossing(phi, np.ones(phi.size, dtype=bool))
    assert math.isnan(c) and math.isnan(w)


def test_fit_crossing_bad_input():
    with pytest.raises(ValueError, match="same length"):
        fit_crossing([1.0, 2.0], [True])
    with pytest.raises(ValueError, match="model"):
        fit_crossing([1.0, 2.0], [True, False], model="probit")


# ------------------------------------------------------------------ P(SAT), bootstrap
def test_sat_curves_counts_and_errors():
    df = _synthetic_table([20], [1.0, 2.0, 3.0], 10, 2.0, lambda P: 0.2)
    (curve,) = sat_curves(df)
    assert curve.P == 20 and list(curve.n) == [20, 40, 60]
    assert list(curve.n_total) == [10, 10, 10]
    p = curve.n_sat / 10
    np.testing.assert_allclose(curve.err, np.sqrt(p * (1 - p) / 10))
    assert np.all(curve.lo <= p + 1e-12) and np.all(curve.hi >= p - 1e-12)
    np.testing.assert_allclose(curve.cover, [cover_probability(n, 20) for n in (20, 40, 60)])


def test_crossings_bootstrap_interval_covers_the_truth():
    phis = list(np.round(np.linspace(1.5, 2.5, 21), 12))
    df = _synthetic_table([40, 160], phis, 60, 2.0, lambda P: 1.0 / math.sqrt(P), seed=3)
    cs = crossings(df, n_boot=100, seed=0)
    assert [c.P for c in cs] == [40, 160]
    for c in cs:
        # 95 % interval, widened by 2 bootstrap standard errors: cannot fail by chance
        # with this fixed seed, and would if the interval were centred elsewhere.
        assert c.ci_low - 2 * c.stderr < 2.0 < c.ci_high + 2 * c.stderr
        assert c.ci_low <= c.phi_c <= c.ci_high
        assert c.width == pytest.approx(1 / math.sqrt(c.P), rel=0.35)
        # Cover's exact curve crosses ½ at N = 2P; the erf fit to it sits within 1 %.
        assert c.phi_c_cover == pytest.approx(2.0, abs=0.02)
    assert cs[1].width < cs[0].width


def test_crossings_rejects_tables_of_other_experiments():
    with pytest.raises(ValueError, match="not a phase_diagram sweep"):
        crossings(pd.DataFrame({"n": [1], "trace": [2.0]}))
    df = _synthetic_table([10], [1.0], 2, 2.0, lambda P: 0.1)
    df["status"] = "failed"
    with pytest.raises(ValueError, match="no finished"):
        sat_curves(df)


# ------------------------------------------------------------------ finite-size scaling
def _crossing(P, phi_c, width, se=0.01, we=0.005):
    return Crossing(P=P, n_params=P, rank=P, phi_c=phi_c, width=width, ci_low=phi_c - 2 * se,
                    ci_high=phi_c + 2 * se, stderr=se, width_err=we, phi_c_rank=phi_c,
                    phi_c_cover=math.nan, width_cover=math.nan, n_boot=100, n_seeds=10)


def test_finite_size_scaling_recovers_exact_laws():
    Ps = [50, 100, 200, 400]
    cs = [_crossing(P, 2.0 + 0.7 * P**-0.5, 1.3 * P**-0.5, we=0.01 * P**-0.5) for P in Ps]
    fit = finite_size_scaling(cs)
    assert fit.inv_nu == pytest.approx(0.5, abs=1e-9)
    assert fit.nu == pytest.approx(2.0, abs=1e-8)
    assert fit.b == pytest.approx(1.3, rel=1e-9)
    assert fit.phi_c_inf == pytest.approx(2.0, abs=1e-9)
    assert fit.a == pytest.approx(0.7, abs=1e-8)
    assert fit.dof == 2 and fit.chi2 == pytest.approx(0.0, abs=1e-12)
    assert fit.phi_c_inf_err > 0


def test_finite_size_scaling_edge_cases():
    with pytest.raises(ValueError, match="two or more"):
        finite_size_scaling([_crossing(50, 2.0, 0.1)])
    two = finite_size_scaling([_crossing(50, 2.0, 0.2), _crossing(200, 2.02, 0.1)])
    assert two.a == 0.0 and "two sizes" in two.note
    assert two.phi_c_inf == pytest.approx(2.01)  # equal errors: the plain mean
    flat = finite_size_scaling([_crossing(50, 2.0, 0.1), _crossing(100, 2.0, 0.12),
                                _crossing(200, 2.0, 0.15)])
    assert "do not shrink" in flat.note


# ---------------------------------------------------------------------------- Cover χ²
def _curve(k, n, cover):
    k, n = np.asarray(k), np.asarray(n)
    p = k / n
    return SatCurve(P=10, n_params=10, rank=10, phi=np.arange(k.size, dtype=float), n=k,
                    n_total=n, n_sat=k, p_sat=p, err=p, lo=p, hi=p, cover=np.asarray(cover))


def test_cover_chi2_law():
    ok = cover_chi2(_curve([50, 25, 0], [100, 100, 100], [0.5, 0.25, 0.0]))
    assert ok.chi2 == pytest.approx(0.0) and ok.dof == 2 and ok.p_value == pytest.approx(1.0)
    bad = cover_chi2(_curve([90, 60], [100, 100], [0.5, 0.25]))
    assert bad.chi2 == pytest.approx(40**2 / 25 + 35**2 / 18.75)
    assert bad.p_value < 1e-20
    with pytest.raises(ValueError, match="no test"):
        cover_chi2(_curve([10], [10], [1.0]))


# ------------------------------------------------------------------------- UNSAT side
def _obs(phi, y, sem):
    phi = np.asarray(phi, dtype=float)
    return ObservableCurve(name="loss", P=100, phi=phi, mean=np.asarray(y),
                           sem=np.asarray(sem), mean_unsat=np.asarray(y),
                           sem_unsat=np.asarray(sem), n_unsat=np.full(phi.size, 40))


def test_isostatic_verdict():
    # The interval value ∓ 1.96 err decides (more cases: tests/test_criticality.py).
    assert isostatic_verdict(1.02, 0.05) == "isostatic"
    assert isostatic_verdict(1.04, 0.001) == "hyperstatic"  # resolved above 1
    assert isostatic_verdict(1.5, 0.05) == "hyperstatic"
    assert isostatic_verdict(0.5, 0.05) == "undetermined"  # N_Δ ≥ rank + 1 when UNSAT
    assert isostatic_verdict(math.nan, 0.05) == "undetermined"


# ----------------------------------------------------------------------- tail fits
def test_power_law_tail_recovers_theta():
    rng = np.random.default_rng(4)
    theta = 1.0
    x = rng.random(20000) ** (1 / (1 + theta))  # density ∝ x^θ on (0, 1)
    t = power_law_tail(x, name="forces")
    assert t.supported and t.decades > 1
    assert abs(t.theta - theta) < 4 * t.theta_err
    assert t.theta_err == pytest.approx((1 + t.theta) / math.sqrt(t.n_tail))


def test_power_law_tail_not_supported():
    narrow = 1.0 + np.random.default_rng(5).random(5000) * 0.5  # within 0.2 decades
    t = power_law_tail(narrow)
    assert not t.supported and "decade" in t.note
    few = power_law_tail([0.1, 0.2, 0.3])
    assert not few.supported and "too few" in few.note


# ------------------------------------------------------------- end to end on a store
@pytest.fixture(scope="module")
def small_run(tmp_path_factory):
    from threadpoolctl import threadpool_limits

    from ntkjam import sweep
    from ntkjam.experiments.phase_diagram import phase_diagram_spec

    out = tmp_path_factory.mktemp("pd") / "run"
    spec = phase_diagram_spec(P=[12, 24], phi_min=1.5, phi_max=2.5, phi_num=6, seeds=8,
                              output=str(out), lp_fraction=0.1)
    with threadpool_limits(1):
        summary = sweep.run(spec, workers=1)
    assert summary.done == 2 * 6 * 8 and summary.failed == 0
    return out


def test_analyze_and_plots_on_a_store(small_run, tmp_path):
    from ntkjam.figures import cover_curve, save_figures

    a = analysis.analyze(small_run, n_boot=30)
    assert a.n_done == 96 and a.n_failed == 0 and a.cover_applies
    assert [c.P for c in a.sat] == [12, 24]
    assert all(np.isfinite(c.phi_c) for c in a.crossings)
    assert a.fss is not None and a.fss.P == (12, 24)
    assert a.n_lp_disagree == 0
    # Fixed seeds: the same table every time; Cover's law holds at small P too.
    assert [t.P for t in a.cover_tests] == [12, 24]
    assert all(t.p_value > 0.01 for t in a.cover_tests)
    d = a.to_dict()
    text = json.dumps(d)  # JSON-ready: no NaN, no arrays
    assert "NaN" not in text and d["settings"]["source"] == "relu_features"
    paths = [p for p in save_figures(a, tmp_path / "figs") if p.suffix == ".png"]
    assert [p.name for p in paths] == ["sat_probability.png", "unsat_observables.png",
                                       "crossings.png"]
    for p in paths:
        assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    img = matplotlib.image.imread(paths[0])  # a few inches at 120 dpi, not blank
    assert 400 <= img.shape[0] <= 1200 and 500 <= img.shape[1] <= 1600
    assert np.unique(img.reshape(-1, img.shape[-1]), axis=0).shape[0] > 20
    phi, p = cover_curve(24, 24, 1.0, 3.0)
    assert phi[0] == 1.0 and phi[-1] == 3.0
    assert p[list(phi).index(2.0)] == pytest.approx(0.5)


def test_settings_are_read_from_the_store_not_from_todays_defaults(small_run, monkeypatch):
    """The rows of small_run record no margin: the label is the analysis' own constant."""
    from ntkjam.experiments import phase_diagram as experiment

    monkeypatch.setitem(experiment.DEFAULTS, "margin", 7.0)
    a = analysis.analyze(small_run, n_boot=2, distributions=False)
    assert a.settings["margin"] == 1.0


def test_settings_fall_back_from_rows_to_spec_to_constant():
    from ntkjam.analysis.tables import recorded_settings

    df = pd.DataFrame({"margin": [0.5, 0.5], "labels": [None, None], "d": [3, 4]})
    spec = {"labels": "teacher", "d": 9, "offset": "gaussian"}
    const = {"margin": 1.0, "labels": "random", "d": 10, "offset": "zero", "source": "x"}
    s = recorded_settings(df, spec, ("margin", "labels", "d", "offset", "source"), const)
    assert s == {"margin": 0.5, "labels": "teacher", "d": "3,4", "offset": "gaussian",
                 "source": "x"}


def _ntkjam_imports(package: str) -> set[str]:
    """Every ntkjam module imported (module- or function-level) by the modules of package."""
    root = Path(importlib.import_module(package).__file__).parent
    out = set()
    for path in root.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.level == 0:
                out.add(node.module or "")
            elif isinstance(node, ast.Import):
                out.update(a.name for a in node.names)
    return {m for m in out if m.startswith("ntkjam")}


def test_analysis_reads_only_the_store_and_figures_only_the_analysis():
    assert not {m for m in _ntkjam_imports("ntkjam.analysis")
                if m.startswith(("ntkjam.experiments", "ntkjam.figures", "ntkjam.cli"))}
    # the figures draw analysis results; spectrum's panels and core's deprecation helper
    # are the only other pieces they use
    assert {m.split(".")[1] for m in _ntkjam_imports("ntkjam.figures")} <= {
        "analysis", "figures", "core", "spectrum"}


def test_figures_change_nothing_global():
    code = ("import sys, matplotlib, ntkjam.figures; "
            "assert 'matplotlib.pyplot' not in sys.modules, 'pyplot imported'; "
            "assert matplotlib.rcParams['backend'] == 'svg', matplotlib.rcParams['backend']")
    env = {**os.environ, "MPLBACKEND": "svg"}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr


def test_plots_is_a_deprecated_alias_of_figures():
    import ntkjam.figures as figures

    sys.modules.pop("ntkjam.plots", None)
    with pytest.warns(DeprecationWarning, match="ntkjam.figures"):
        plots = importlib.import_module("ntkjam.plots")
    assert plots.__all__ == figures.__all__
    assert all(getattr(plots, n) is getattr(figures, n) for n in figures.__all__)
