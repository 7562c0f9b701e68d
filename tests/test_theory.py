"""Tests of ntkjam.theory: exact counts, reference values, limits, independent estimates."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
import scipy.integrate
import scipy.stats

from ntkjam.jamming import minimize_quadratic_hinge
from ntkjam.problem import from_features
from ntkjam.theory import (
    candes_sur_phi_c,
    candes_sur_threshold,
    cover_log_probability,
    cover_probability,
    cover_probability_offset,
    gardner_capacity,
)

# ------------------------------------------------------------------------------ Cover


def exact_cover(n, r):
    return Fraction(sum(math.comb(n - 1, k) for k in range(min(r, n))), 2 ** (n - 1))


@pytest.mark.parametrize("r", [1, 2, 3, 7, 50, 1000, 123457])
def test_cover_is_exactly_half_at_n_equals_2r(r):
    assert cover_probability(2 * r, r) == pytest.approx(0.5, abs=2e-15)


def test_cover_matches_exact_rational_counts():
    for n in range(1, 41):
        for r in range(0, n + 3):
            assert cover_probability(n, r) == pytest.approx(float(exact_cover(n, r)), rel=1e-13,
                                                            abs=1e-300)


def test_cover_log_probability_deep_tail_matches_big_integers():
    n = 3000
    for r in (1, 10, 200, 1400, 1500, 1600, 2999):
        count = sum(math.comb(n - 1, k) for k in range(r))
        p = Fraction(count, 2 ** (n - 1))
        if p > Fraction(1, 2):  # log1p of the exactly computed complement
            exact = math.log1p(-float(1 - p))
        elif p > Fraction(1, 10**300):  # float(Fraction) is correctly rounded
            exact = math.log(float(p))
        else:  # math.log of big integers: absolute error ~1e-13 on values ~-2000
            exact = math.log(count) - (n - 1) * math.log(2)
        assert cover_log_probability(n, r) == pytest.approx(exact, rel=1e-12, abs=1e-13)


def test_cover_is_stable_at_a_million_points():
    n = 10**6
    logs = [cover_log_probability(n, r) for r in (1, 1000, 100_000, 499_000, 500_000)]
    assert all(np.isfinite(logs)) and np.all(np.diff(logs) > 0)
    assert logs[0] == pytest.approx(-(n - 1) * math.log(2), rel=1e-14)
    assert cover_probability(n, n // 2) == pytest.approx(0.5, abs=1e-14)
    # symmetry C(n-1, k) = C(n-1, n-1-k): P(n, r) + P(n, n - r) = 1
    for r in (498_500, 499_700, 500_001):
        assert cover_probability(n, r) + cover_probability(n, n - r) == pytest.approx(1, abs=1e-14)
    # the transition width is ~ n^(-1/2): at r = n/2 ± √n/2 it is Φ(∓1)
    assert cover_probability(n, n // 2 - 500) == pytest.approx(scipy.stats.norm.cdf(-1), abs=2e-3)


def test_cover_edges_affine_and_arrays():
    assert cover_probability(5, 0) == 0.0
    assert cover_probability(5, 5) == 1.0 and cover_probability(5, 9) == 1.0
    assert cover_probability(1, 1) == 1.0
    assert cover_probability(10, 4, affine=True) == cover_probability(10, 5)
    n = np.array([10, 20, 30])
    out = cover_probability(n, np.array([5, 10, 15]))
    np.testing.assert_allclose(out, [0.5, 0.5, 0.5], atol=1e-15)
    grid = cover_probability(np.array([[8], [16]]), np.array([2, 4]))
    assert grid.shape == (2, 2)
    assert grid[1, 0] == pytest.approx(float(exact_cover(16, 2)), rel=1e-13)


def test_cover_offset_is_between_homogeneous_and_affine():
    for n, r in ((24, 12), (50, 20)):
        lo, hi = cover_probability(n, r), cover_probability(n, r, affine=True)
        assert lo < cover_probability_offset(n, r) < hi
        assert cover_probability_offset(n, r) == pytest.approx((lo + hi) / 2)


def test_cover_offset_law_from_the_solver():
    """With a fixed generic offset and κ → 0⁺, P(SAT) = ½[Cover(N, r) + Cover(N, r+1)]."""
    N, r, seeds = 24, 12, 600
    sat = 0
    for s in range(seeds):
        rng = np.random.default_rng(s)
        pr = from_features(rng.standard_normal((N, r)), rng.choice([-1.0, 1.0], N),
                           f0=rng.standard_normal(N), margin=1e-6)
        sat += minimize_quadratic_hinge(pr).verdict == "sat"
    p = cover_probability_offset(N, r)
    sd = math.sqrt(seeds * p * (1 - p))
    assert abs(sat - seeds * p) < 4 * sd
    # and clearly neither the homogeneous (½) nor the affine (≈ 0.66) value
    assert abs(sat - seeds * cover_probability(N, r)) > 2.5 * sd
    assert abs(sat - seeds * cover_probability(N, r, affine=True)) > 2.5 * sd


def test_cover_bad_inputs():
    with pytest.raises(ValueError, match="n must be >= 1"):
        cover_probability(0, 1)
    with pytest.raises(ValueError, match="r must be >= 0"):
        cover_probability(4, -1)
    with pytest.raises(TypeError, match="n must be an integer"):
        cover_probability(4.5, 2)
    with pytest.raises(ValueError, match="n must be >= 1"):
        cover_probability(np.array([0, 3]), 2)


# ---------------------------------------------------------------------------- Gardner


def test_gardner_reference_values():
    assert gardner_capacity(0.0) == pytest.approx(2.0, abs=1e-15)
    for k in (0.0, 0.3, 1.0, 2.5):
        integral, _ = scipy.integrate.quad(
            lambda t, k=k: scipy.stats.norm.pdf(t) * (t + k) ** 2, -k, np.inf, epsabs=1e-14
        )
        assert gardner_capacity(k) == pytest.approx(1 / integral, rel=1e-10)
    np.testing.assert_allclose(gardner_capacity([0.0, 1.0]), [2.0, gardner_capacity(1.0)])
    # decreasing, and (1 + κ²) α_c(κ) → 1 (Φ(κ) → 1, φ(κ) → 0)
    ks = np.linspace(0, 5, 51)
    assert np.all(np.diff(gardner_capacity(ks)) < 0)
    assert (1 + 30.0**2) * gardner_capacity(30.0) == pytest.approx(1.0, rel=1e-12)


@pytest.mark.parametrize("bad", [-0.1, np.nan, np.inf])
def test_gardner_bad_inputs(bad):
    with pytest.raises(ValueError, match="margin must be"):
        gardner_capacity(bad)


# ------------------------------------------------------------------------ Candès–Sur


def monte_carlo_h(gamma, n=2_000_000, seed=0):
    """Independent estimate: sample (V, Y, Z) and minimise the empirical mean over t."""
    rng = np.random.default_rng(seed)
    V = rng.standard_normal(n)
    Y = np.where(rng.random(n) < 1 / (1 + np.exp(-gamma * V)), 1.0, -1.0)
    Z = rng.standard_normal(n)
    YV = Y * V

    def emp(t):
        return np.mean(np.maximum(Z - t * YV, 0.0) ** 2)

    res = scipy.optimize.minimize_scalar(emp, bounds=(-1, 20), method="bounded",
                                         options={"xatol": 1e-6})
    return res.fun


def test_candes_sur_at_zero_is_cover():
    assert candes_sur_threshold(0.0) == 0.5
    assert candes_sur_phi_c(0.0) == 2.0
    assert candes_sur_threshold(1e-4) == pytest.approx(0.5, abs=1e-6)


@pytest.mark.parametrize("gamma", [1.0, 3.0])
def test_candes_sur_matches_monte_carlo(gamma):
    assert candes_sur_threshold(gamma) == pytest.approx(monte_carlo_h(gamma), abs=2e-3)


def test_candes_sur_is_decreasing_to_zero():
    gammas = [0.0, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 64.0]
    h = [candes_sur_threshold(g) for g in gammas]
    assert np.all(np.diff(h) < 0) and 0 < h[-1] < 0.05
    assert candes_sur_phi_c(2.0) == pytest.approx(1 / h[4])


@pytest.mark.parametrize("bad", [-1.0, np.nan])
def test_candes_sur_bad_inputs(bad):
    with pytest.raises(ValueError, match="gamma must be"):
        candes_sur_threshold(bad)


@pytest.mark.slow
def test_candes_sur_threshold_from_simulated_separability():
    """Gaussian covariates, logistic teacher γ = 2: separable iff p/n > h(γ), n = 800."""
    gamma, n, seeds = 2.0, 800, 8
    h = candes_sur_threshold(gamma)
    for offset, expected in ((-0.06, "unsat"), (0.06, "sat")):
        p = int(round((h + offset) * n))
        verdicts = []
        for s in range(seeds):
            rng = np.random.default_rng(s)
            X = rng.standard_normal((n, p))
            beta = rng.standard_normal(p)
            beta *= gamma / np.linalg.norm(beta)
            y = np.where(rng.random(n) < 1 / (1 + np.exp(-X @ beta)), 1.0, -1.0)
            verdicts.append(minimize_quadratic_hinge(from_features(X, y)).verdict)
        assert verdicts.count(expected) >= seeds - 1, (offset, verdicts)
