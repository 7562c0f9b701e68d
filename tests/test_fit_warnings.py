"""Fits the data do not support are reported with a warning, never as results (issue 14).

Each warning on small synthetic data with a known answer: a crossing narrower than half
the φ grid step, a χ² rejecting Cover's curve, a limit outside the physical range, and
the finite-size-scaling fit's own χ²/dof.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pandas as pd
from scipy.special import ndtr

from ntkjam.analysis.approach import fit_approach
from ntkjam.analysis.criticality import ObservableCurve
from ntkjam.analysis.onset import describe_onset, onset_limit, rs_comparison
from ntkjam.analysis.phase_diagram import fit_warnings
from ntkjam.analysis.sat import SatCurve, cover_chi2, crossings, grid_step
from ntkjam.analysis.scaling import finite_size_scaling
from ntkjam.cli._summary import fss_line


def _table(P, phis, n_seeds, phi_c, width, seed=0):
    """Bernoulli outcomes P(SAT) = Φ((φ_c − φ)/w) in the phase-diagram layout."""
    rng = np.random.default_rng(seed)
    rows = []
    for phi in phis:
        n = round(phi * P)
        p = float(ndtr((phi_c - n / P) / width))
        rows += [{"P": P, "phi": phi, "seed": s, "n": n, "n_params": P, "rank": P,
                  "sat": bool(rng.random() < p), "status": "done"} for s in range(n_seeds)]
    return pd.DataFrame(rows)


def test_grid_step_is_the_spacing_that_brackets_the_crossing():
    phi = np.array([1.0, 1.5, 1.9, 2.0, 3.0])
    assert grid_step(phi, 1.95) == np.float64(2.0) - np.float64(1.9)
    assert grid_step(phi, 2.5) == 1.0
    assert math.isnan(grid_step(phi, 0.5)) and math.isnan(grid_step(phi, math.nan))


def test_a_crossing_narrower_than_the_grid_step_is_flagged_and_not_used_for_nu():
    # A step of width 0.01 on a grid of step 0.2: the data cannot see its slope.
    coarse = pd.concat([_table(P, np.linspace(1.0, 3.0, 11), 25, 2.05, 0.01, seed=P)
                        for P in (50, 100)])
    cross = crossings(coarse, n_boot=20)
    assert all(not c.resolved and abs(c.grid_step - 0.2) < 1e-9 for c in cross)
    fss = finite_size_scaling(cross)
    assert not fss.supported and "narrower than half the φ grid step" in fss.warnings[0]
    kinds = [w.kind for w in fit_warnings(cross, fss, [], [])]
    assert kinds.count("grid_step") == 2 and "fss" in kinds
    # The same transition, wide (w = 0.3) on the same grid: resolved, no warning.
    wide = pd.concat([_table(P, np.linspace(1.0, 3.0, 11), 25, 2.05, 0.3, seed=P)
                      for P in (50, 100)])
    assert all(c.resolved for c in crossings(wide, n_boot=20))


def _sat_curve(k, n, cover, P=100):
    k, n = np.asarray(k), np.asarray(n)
    phi = np.linspace(1.8, 2.2, k.size)
    p = k / n
    return SatCurve(P=P, n_params=P, rank=P, phi=phi, n=np.round(phi * P).astype(int),
                    n_total=n, n_sat=k, p_sat=p, err=np.sqrt(p * (1 - p) / n), lo=p, hi=p,
                    cover=np.asarray(cover, dtype=float))


def test_a_chi2_rejecting_cover_is_a_warning_with_the_dead_inputs():
    cover = np.array([0.9, 0.7, 0.5, 0.3, 0.1])
    n = np.full(5, 100)
    agree = cover_chi2(_sat_curve(np.round(cover * 100), n, cover))
    assert agree.p_value > 0.5 and fit_warnings([], None, [agree], []) == []
    # Every point 30 % below Cover's curve: χ² ≫ dof.
    off = cover_chi2(_sat_curve(np.round((cover - 0.3).clip(0) * 100), n, cover))
    assert off.p_value < 1e-6
    (w,) = fit_warnings([], None, [off], [], dead={100: 0})
    assert w.kind == "cover_chi2" and w.P == 100
    assert "not Cover's curve" in w.message and "0 dead input(s) at this P cannot" in w.message


def _curve(name, phi, y, sem, P):
    phi = np.asarray(phi, dtype=float)
    sem = np.full(phi.shape, float(sem))
    return ObservableCurve(name=name, P=P, phi=phi, mean=y, sem=sem, mean_unsat=y,
                           sem_unsat=sem, n_unsat=np.full(phi.shape, 30))


def test_a_limit_below_the_physical_range_is_no_result():
    phi = np.linspace(2.1, 3.0, 19)
    rng = np.random.default_rng(3)
    fits = []
    for P in (100, 200):
        # A loss that extrapolates to −0.02 at φ_c⁺, its interval reaching above 0.
        y = -0.02 + 0.3 * np.sqrt(phi - 2.0) + 0.01 * rng.standard_normal(phi.size)
        fits.append(fit_approach(_curve("loss", phi, y, 0.01, P), 2.0, 0.0, window=0.05,
                                 exponent=0.5, physical_min=0.0, n_boot=50, seed=P))
    o = onset_limit(fits, kind="loss")
    assert o.value < 0 and not o.supported and o.verdict == "undetermined"
    (w,) = fit_warnings([], None, [], [o])
    assert w.kind == "physical_range" and "below the physical minimum 0" in w.message
    no_theory = rs_comparison({"source": "taylor_features"})
    assert "unsupported fit, not a result" in describe_onset(o, no_theory)
    # One size below 0 inside a physical combined limit: that size is marked, not a result.
    neg = min(fits, key=lambda f: f.limit)
    mixed = onset_limit([neg, fit_approach(_curve("loss", phi, 0.2 + 0.3 * np.sqrt(
        phi - 2.0), 0.01, 400), 2.0, 0.0, window=0.05, exponent=0.5, n_boot=50)], kind="loss")
    text = describe_onset(mixed, no_theory)
    assert neg.limit < 0 < mixed.value and mixed.supported
    assert "(below 0: not a result)" in text
    # The same data lifted by 0.1: a positive limit is a result.
    lifted = [fit_approach(_curve("loss", f.phi, f.y + 0.1, 0.01, f.P), 2.0, 0.0,
                           window=0.05, exponent=0.5, physical_min=0.0, n_boot=50)
              for f in fits]
    assert onset_limit(lifted, kind="loss").supported


class _Analysis:
    """The two fields :func:`fss_line` reads."""

    def __init__(self, fss):
        self.fss, self.fss_cover = fss, None


def test_the_scaling_fit_reports_its_own_chi2_and_is_rejected_when_it_fails():
    base = crossings(pd.concat([_table(P, np.linspace(1.7, 2.3, 25), 60, 2.0,
                                       1.4 / math.sqrt(P), seed=P) for P in (50, 100, 200)]),
                     n_boot=30)
    fss = finite_size_scaling(base)
    assert fss.dof == 1 and fss.width_dof == 1
    assert 0 <= fss.p_value <= 1 and 0 <= fss.width_p_value <= 1
    line = fss_line(_Analysis(fss))
    assert "χ²/dof: crossings" in line and "widths" in line
    # Crossings that zig-zag far beyond their errors: the law φ_c(∞) + a P^(-1/ν) fails.
    zig = [replace(c, phi_c=2.0 + (0.1 if i % 2 else -0.1), stderr=0.001)
           for i, c in enumerate(base)]
    bad = finite_size_scaling(zig)
    assert bad.p_value < 0.01 and not bad.supported
    assert any("crossing law" in w for w in bad.warnings)
    assert "unsupported fit, not a result" in fss_line(_Analysis(bad))
