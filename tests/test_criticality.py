"""The UNSAT side at φ_c⁺: approach fits, verdicts, the RS comparison, the summary."""

from __future__ import annotations

import json
import math
import time

import numpy as np
import pytest
from typer.testing import CliRunner

from ntkjam.analysis import (
    RS_EXPONENT,
    ObservableCurve,
    describe_exponent,
    describe_onset,
    fit_approach,
    isostatic_verdict,
    jump_verdict,
    onset_limit,
    rs_comparison,
)
from ntkjam.cli import app
from ntkjam.theory import rs_unsat_free_norm

runner = CliRunner()
RS_SETTINGS = {"source": "relu_features", "labels": "random", "offset": "zero", "margin": 1.0}


def _curve(name, phi, y, sem, n_unsat=25, P=200):
    phi = np.asarray(phi, dtype=float)
    y, sem = np.asarray(y, dtype=float), np.broadcast_to(np.asarray(sem, float), phi.shape)
    n = np.broadcast_to(np.asarray(n_unsat), phi.shape).astype(int)
    return ObservableCurve(name=name, P=P, phi=phi, mean=y, sem=sem.copy(), mean_unsat=y,
                           sem_unsat=sem.copy(), n_unsat=n.copy())


def _rs_table(name, rel_noise, seed, phi_c=2.0, phi=None):
    """UNSAT means drawn around the RS curve (errors ∝ the value), with their sems."""
    phi = np.linspace(2.0, 3.0, 41)[1:] if phi is None else phi
    rs = rs_unsat_free_norm(phi - phi_c + 2.0, 1.0)
    truth = rs.loss_per_sample if name == "loss" else rs.unsat_per_rank
    sem = rel_noise * truth
    y = truth + sem * np.random.default_rng(seed).standard_normal(phi.size)
    return _curve(name, phi, y, sem)


# ------------------------------------------------------------------ the approach law
@pytest.mark.parametrize(("name", "truth", "floor"), [("loss", 1 / (2 * math.pi), 0.0),
                                                      ("isostaticity", 1.0, 1.0)])
def test_fit_recovers_the_rs_limit_within_its_interval(name, truth, floor):
    for seed in range(3):
        c = _rs_table(name, 0.01, seed)
        f = fit_approach(c, 2.0, 0.005, window=0.05, exponent=RS_EXPONENT,
                         physical_min=floor, seed=seed)
        assert f.supported, f.warnings
        assert f.limit_low <= truth <= f.limit_high, (seed, f.limit, f.limit_low, f.limit_high)
        assert f.p_value > 0.01 and f.dof == f.phi.size - 3
        assert abs(f.limit - truth) < 4 * f.limit_err
        assert f.curve_y[0] == pytest.approx(f.limit)  # the law starts at φ_c with y_c


def test_free_exponent_recovers_one_half_within_its_interval():
    for seed in range(3):
        c = _rs_table("isostaticity", 0.003, seed)
        f = fit_approach(c, 2.0, 0.0, window=0.02, exponent=None, physical_min=1.0, seed=seed)
        assert f.supported and f.exponent_determined, f.warnings
        assert f.exponent_low <= RS_EXPONENT <= f.exponent_high, (f.exponent, f.exponent_low)
        # The second-order law leaves a truncation bias of ≈ +0.02 on the RS curve, seen
        # at this (unrealistically small) noise; real tables have errors ~10× larger.
        assert abs(f.limit - 1.0) < 0.04


def test_an_exact_law_gives_its_exponent_whatever_the_rounding():
    """``1 + 0.9 δ^{1/2}`` is fitted exactly at a = ½ and, through the δ^{2a} term, at
    a = ¼: the choice between the two must not be left to the machine's rounding.
    Perturbations of the data at the rounding level (what another BLAS kernel does)
    never change the exponent, nor the limit beyond rounding."""
    phi = np.linspace(2.1, 3.0, 10)
    y = 1 + 0.9 * np.sqrt(phi - 2)
    rng = np.random.default_rng(0)
    for trial in range(20):
        yt = y * (1 + 4e-16 * rng.standard_normal(y.size)) if trial else y
        f = fit_approach(_curve("isostaticity", phi, yt, 0.01, n_unsat=20, P=100), 2.0,
                         window=0.05, n_boot=20)
        assert f.exponent == 0.5, (trial, f.exponent)
        assert abs(f.limit - 1.0) < 1e-9 and abs(f.amplitude - 0.9) < 1e-9


def test_the_error_of_phi_c_is_propagated():
    c = _rs_table("isostaticity", 0.01, 0)
    exact = fit_approach(c, 2.0, 0.0, window=0.05, exponent=0.5)
    loose = fit_approach(c, 2.0, 0.02, window=0.05, exponent=0.5)
    assert loose.limit == exact.limit  # the central fit uses φ_c itself
    assert loose.limit_err > 1.5 * exact.limit_err


def test_only_one_point_above_phi_c_is_undetermined():
    phi = np.linspace(1.5, 2.1, 13)  # one point (2.1) beyond φ_c + window
    c = _curve("isostaticity", phi, np.full(phi.size, 1.3), 0.05,
               n_unsat=np.where(phi > 2.0, 25, 2))
    f = fit_approach(c, 2.0, 0.01, window=0.08, exponent=0.5, physical_min=1.0)
    assert not f.supported and f.phi.size == 1 and "points" in f.warnings[0]
    o = onset_limit([f], kind="isostaticity", theory_value=1.0, theory_exponent=0.5)
    assert o.basis == "none" and o.verdict == "undetermined" and not np.isfinite(o.value)
    text = describe_onset(o, rs_comparison(RS_SETTINGS))
    assert "not measured" in text and "RS theory 1 (isostatic)" in text
    for word in ("hyperstatic", "hypostatic", "isostatic ("):
        assert word not in text.split("—")[0]


def test_a_bad_law_or_an_impossible_limit_is_not_supported():
    phi = np.linspace(2.05, 3.0, 20)
    saw = 1.5 + 0.3 * np.where(np.arange(phi.size) % 2 == 0, 1.0, -1.0)  # not the law
    f = fit_approach(_curve("isostaticity", phi, saw, 0.01), 2.0, window=0.04, exponent=0.5)
    assert not f.supported and "χ²" in f.warnings[0]
    low = fit_approach(_curve("isostaticity", phi, 0.5 + 0.2 * (phi - 2), 0.005), 2.0,
                       window=0.04, exponent=0.5, physical_min=1.0)
    assert not low.supported and "physical minimum" in low.warnings[-1]


def test_onset_combines_sizes_that_agree_and_not_those_that_disagree():
    fits = [fit_approach(_rs_table("loss", 0.01, s), 2.0, 0.005, window=0.05, exponent=0.5,
                         physical_min=0.0, seed=s) for s in range(3)]
    fits = [f.__class__(**{**f.__dict__, "P": P}) for f, P in zip(fits, (50, 100, 200),
                                                                   strict=True)]
    o = onset_limit(fits, kind="loss", theory_value=1 / (2 * math.pi))
    assert o.basis == "combined" and o.P == (50, 100, 200) and o.p_value > 0.01
    assert o.err < min(o.limit_errs) and o.verdict == "jump"
    assert o.ci_low <= 1 / (2 * math.pi) <= o.ci_high
    shifted = [fits[0], fits[1], fits[2].__class__(**{**fits[2].__dict__, "limit": 0.5})]
    d = onset_limit(shifted, kind="loss")
    assert d.basis == "largest P" and d.value == 0.5 and "disagree" in " ".join(d.notes)


# ------------------------------------------------------------------------ verdicts
def test_isostatic_verdict_follows_the_interval():
    assert isostatic_verdict(1.02, 0.05) == "isostatic"  # 0.92–1.12 contains 1
    assert isostatic_verdict(1.09, 0.05) == "isostatic"  # 0.992–1.188
    assert isostatic_verdict(1.11, 0.05) == "hyperstatic"  # 1.012–1.208: all above 1
    assert isostatic_verdict(1.5, 0.05) == "hyperstatic"
    assert isostatic_verdict(1.04, 0.001) == "hyperstatic"  # a sharp value above 1
    assert isostatic_verdict(1.2, 0.15) == "undetermined"  # contains 1, too wide
    assert isostatic_verdict(0.5, 0.05) == "undetermined"  # impossible for the lazy problem
    assert isostatic_verdict(0.5, 0.05, hypostatic_possible=True) == "hypostatic"
    assert isostatic_verdict(0.35, 0.32) == "undetermined"  # the old demo's "hypostatic"
    assert isostatic_verdict(math.nan, 0.05) == "undetermined"
    assert isostatic_verdict(1.0, math.nan) == "undetermined"


def test_jump_verdict_follows_the_interval():
    assert jump_verdict(0.16, 0.02, scale=0.3) == "jump"
    assert jump_verdict(0.005, 0.01, scale=0.3) == "continuous"  # −0.015–0.025
    assert jump_verdict(0.103, 0.065, scale=0.3) == "undetermined"  # the old "continuous"
    assert jump_verdict(-0.2, 0.01, scale=0.3) == "undetermined"  # negative loss
    assert jump_verdict(math.nan, 0.01, scale=0.3) == "undetermined"


# --------------------------------------------------------------------- RS theory
def test_rs_comparison_applies_only_to_its_settings():
    th = rs_comparison(RS_SETTINGS, phi_max=3.0)
    assert th.applies and th.phi_c == 2.0 and th.exponent == 0.5
    assert th.loss_onset == pytest.approx(1 / (2 * math.pi))
    assert th.isostaticity_onset == 1.0
    i = np.argmin(abs(th.phi - 2.05))
    assert th.phi[i] == pytest.approx(2.05, abs=0.01)
    assert np.all(np.diff(th.unsat_per_rank) > 0) and th.phi.max() == pytest.approx(3.0)
    assert rs_comparison({**RS_SETTINGS, "margin": 2.0}).loss_onset == pytest.approx(
        4 / (2 * math.pi))
    for change, word in (({"labels": "teacher"}, "labels"), ({"offset": "gaussian"}, "offset"),
                         ({"source": "ntk_jacobian"}, "source"), ({"margin": 0.0}, "margin"),
                         ({"source": "fourier_features"}, "source")):
        th = rs_comparison({**RS_SETTINGS, **change})
        assert not th.applies and th.note.startswith("no exact theory") and word in th.note
    assert "rank" in rs_comparison(RS_SETTINGS, full_rank=False).note


def test_describe_without_theory_makes_no_comparison():
    c = _rs_table("loss", 0.01, 0)
    f = fit_approach(c, 2.0, 0.005, window=0.05, exponent=None, physical_min=0.0)
    o = onset_limit([f], kind="loss")
    th = rs_comparison({**RS_SETTINGS, "labels": "teacher"})
    text = describe_onset(o, th) + describe_exponent(o, th)
    assert "no exact theory for these settings" in text and "RS theory" not in text


# ----------------------------------------------------------------- the main job
def test_summary_on_a_small_grid_never_claims_hypostatic(tmp_path):
    out = tmp_path / "run"
    t0 = time.perf_counter()
    res = runner.invoke(app, ["phase-diagram", "--P", "50,100", "--phi-num", "21", "--seeds",
                              "10", "-q", "-o", str(out)], env={"COLUMNS": "200"})
    assert res.exit_code == 0, res.output
    assert time.perf_counter() - t0 < 60
    text = res.output
    assert "hypostatic" not in text
    assert "fit of the approach" in text and "as P → ∞" not in text
    assert "RS theory κ²/(2π) = 0.159" in text and "RS theory 1 (isostatic)" in text
    line = next(x for x in text.splitlines() if x.strip().startswith("N_Δ/rank at φ_c⁺"))
    verdict = line.split("):")[-1].split("—")[0]
    assert "hyperstatic" not in verdict or "above 1" in verdict
    data = json.loads((out / "analysis.json").read_text())
    assert data["theory"]["applies"] is True
    assert data["isostaticity_onset"]["theory_value"] == 1.0
    assert [f["P"] for f in data["isostaticity_onset"]["free_fits"]] == [50, 100]
