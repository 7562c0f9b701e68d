"""Tests of ntkjam.jamming: certificates re-checked by hand, Newton vs LP, Cover's law."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.optimize
import scipy.stats

import ntkjam.jamming as jam
from ntkjam.data import sphere
from ntkjam.jamming import (
    check_farkas_certificate,
    check_sat_certificate,
    exact_line_search,
    lp_certificate,
    minimize_quadratic_hinge,
)
from ntkjam.kernels.features import random_relu_features
from ntkjam.problem import Problem, from_features, from_kernel
from ntkjam.theory import cover_probability

# ----------------------------------------------------------------- independent checks


def recheck_sat(J, y, f0, kappa, w, atol=1e-8):
    """A SAT certificate: every constraint y_i (f0_i + J_i·w) ≥ κ holds (to atol)."""
    assert w is not None and w.shape == (J.shape[1],)
    assert np.all(y * (f0 + J @ w) >= kappa - atol)


def recheck_farkas(J, y, f0, kappa, lam, rtol=1e-8):
    """A Farkas vector: λ ≥ 0, Σ λ_i y_i J_i = 0, Σ λ_i (κ − y_i f0_i) > 0."""
    assert lam is not None and lam.shape == y.shape
    assert np.all(lam >= 0) and lam.sum() > 0
    lam = lam / lam.sum()
    assert np.linalg.norm(J.T @ (y * lam)) <= rtol * np.linalg.norm(J)
    value = float(lam @ (kappa - y * f0))
    assert value > 1e-6
    # The contradiction it encodes: for any w, Σ λ_i Δ_i(w) = value − (Jᵀ(yλ))·w > 0,
    # so some constraint is violated.  Try a few w's.
    rng = np.random.default_rng(0)
    for _ in range(5):
        w = rng.standard_normal(J.shape[1]) * 10
        delta = kappa - y * (f0 + J @ w)
        assert lam @ delta > 0 and delta.max() > 0


def agree_and_recheck(J, y, f0=None, kappa=1.0, **kw):
    """Solve by Newton and by LP; both verdicts verified and equal."""
    f0 = np.zeros(len(y)) if f0 is None else f0
    pr = from_features(J, y, f0=f0, margin=kappa, **kw)
    newton = minimize_quadratic_hinge(pr)
    lp = lp_certificate(pr)
    assert newton.converged
    assert newton.verdict in ("sat", "unsat") and lp.verdict == newton.verdict
    assert newton.kkt_residual < 1e-12
    if lp.verdict == "sat":
        recheck_sat(J, y, f0, kappa, lp.w)
        recheck_sat(J, y, f0, kappa, newton.w)
        assert newton.loss < 1e-20 and newton.n_unsat == 0
    else:
        recheck_farkas(J, y, f0, kappa, lp.farkas)
        recheck_farkas(J, y, f0, kappa, newton.farkas)
        assert newton.loss > 1e-12 and newton.n_unsat > 0
    return pr, newton, lp


def gaussian_instance(N, P, seed, offset=0.0):
    rng = np.random.default_rng(seed)
    J = rng.standard_normal((N, P))
    y = rng.choice([-1.0, 1.0], N)
    f0 = offset * rng.standard_normal(N)
    return J, y, f0


# ------------------------------------------------------------------ Newton vs LP


@pytest.mark.parametrize("N", [10, 22, 28, 30, 32, 38, 60])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_newton_and_lp_agree_around_cover_transition(N, seed):
    J, y, _ = gaussian_instance(N, 15, seed)
    agree_and_recheck(J, y)


@pytest.mark.parametrize("N", [12, 25, 40])
@pytest.mark.parametrize("seed", [3, 4])
def test_newton_and_lp_agree_with_offset_and_margin(N, seed):
    J, y, f0 = gaussian_instance(N, 10, seed, offset=0.8)
    agree_and_recheck(J, y, f0, kappa=0.5)


def test_both_verdicts_occur_in_the_agreement_grid():
    verdicts = {
        minimize_quadratic_hinge(from_features(*gaussian_instance(N, 15, s)[:2])).verdict
        for N in (22, 38)
        for s in range(3)
    }
    assert verdicts == {"sat", "unsat"}


@pytest.mark.parametrize("seed", range(4))
def test_rank_deficient_features(seed):
    rng = np.random.default_rng(seed)
    r, N, P = 6, 18, 10
    J = rng.standard_normal((N, r)) @ rng.standard_normal((r, P))
    y = rng.choice([-1.0, 1.0], N)
    pr, newton, _ = agree_and_recheck(J, y)
    assert pr.rank == r
    assert newton.rank == r
    assert newton.coordinates == "basis"  # detected and switched
    assert newton.isostaticity == pytest.approx(newton.n_unsat / r)


@pytest.mark.parametrize("seed", range(4))
def test_more_features_than_points(seed):
    rng = np.random.default_rng(seed)
    N, P, r = 16, 40, 7  # P > N, rank 7: φ in units of rank is 16/7
    J = rng.standard_normal((N, r)) @ rng.standard_normal((r, P))
    y = rng.choice([-1.0, 1.0], N)
    f0 = 0.5 * rng.standard_normal(N)
    _, newton, lp = agree_and_recheck(J, y, f0)
    assert newton.coordinates == "basis" and lp.coordinates == "basis"


def test_full_row_rank_is_always_sat():
    J, y, f0 = gaussian_instance(20, 45, 5, offset=1.0)
    _, newton, _ = agree_and_recheck(J, y, f0)
    assert newton.verdict == "sat"


def test_duplicated_point_with_opposite_labels_is_unsat():
    J, y, _ = gaussian_instance(8, 10, 6)
    J[1] = J[0]
    y[1] = -y[0]
    _, newton, lp = agree_and_recheck(J, y)
    assert lp.verdict == "unsat"
    # the contradiction lives on the pair: λ supported on points 0 and 1
    np.testing.assert_allclose(lp.farkas[[0, 1]], [0.5, 0.5], atol=1e-9)


def test_kernel_problem_agrees_with_feature_problem():
    J, y, f0 = gaussian_instance(30, 12, 7, offset=0.5)
    a = minimize_quadratic_hinge(from_features(J, y, f0=f0))
    b = minimize_quadratic_hinge(from_kernel(J @ J.T, y, f0=f0))
    assert a.verdict == b.verdict == "unsat"
    assert b.loss == pytest.approx(a.loss, rel=1e-9)
    np.testing.assert_allclose(b.outputs, a.outputs, atol=1e-8)
    lp = lp_certificate(from_kernel(J @ J.T, y, f0=f0))
    assert lp.verdict == "unsat"
    recheck_farkas(J, y, f0, 1.0, lp.farkas)


# ---------------------------------------------------------------- the minimum itself


def test_minimum_matches_lbfgs_and_is_stationary():
    J, y, f0 = gaussian_instance(50, 20, 8, offset=0.3)
    pr = from_features(J, y, f0=f0)
    res = minimize_quadratic_hinge(pr)
    assert res.verdict == "unsat"

    def fun(w):
        d = np.maximum(1.0 - y * (f0 + J @ w), 0.0)
        return 0.5 * d @ d / len(y), -(J.T @ (y * d)) / len(y)

    ref = scipy.optimize.minimize(fun, np.zeros(20), jac=True, method="L-BFGS-B",
                                  options={"ftol": 1e-15, "gtol": 1e-12, "maxiter": 10000})
    assert res.loss <= ref.fun + 1e-13
    assert res.loss == pytest.approx(ref.fun, rel=1e-6)
    assert np.linalg.norm(fun(res.w)[1]) < 1e-12
    # convexity: random perturbations never go lower
    rng = np.random.default_rng(0)
    for _ in range(20):
        assert pr.loss(res.w + 1e-3 * rng.standard_normal(20)) >= res.loss


def test_observables_partition_the_points():
    J, y, f0 = gaussian_instance(70, 25, 9, offset=0.2)
    pr = from_features(J, y, f0=f0)
    res = minimize_quadratic_hinge(pr)
    N = 70
    assert res.n_unsat + len(res.contacts) + len(res.gaps) == N
    assert len(res.forces) == res.n_unsat
    assert np.all(res.forces > res.tol) and np.all(res.gaps > res.tol)
    np.testing.assert_allclose(res.outputs, f0 + J @ res.w, atol=1e-10)
    np.testing.assert_allclose(res.deltas, 1.0 - y * res.outputs, atol=1e-10)
    assert res.loss == pytest.approx(0.5 * np.sum(res.forces**2) / N, rel=1e-9)
    assert res.rank == pr.rank == 25  # Newton's Cholesky shortcut agrees with the SVD
    assert res.isostaticity == pytest.approx(res.n_unsat / 25)
    # the Farkas vector is the normalised residual vector
    np.testing.assert_allclose(res.farkas, np.maximum(res.deltas, 0) / res.forces.sum(),
                               atol=1e-14)
    # N_Δ exceeds the rank at a positive minimum of the quadratic hinge
    assert res.n_unsat > res.rank


def test_trivial_problems():
    J, y, _ = gaussian_instance(20, 5, 10)
    # κ = 0 with no offset: w = 0 already meets every margin
    for solver in (minimize_quadratic_hinge, lp_certificate):
        out = solver(from_features(J, y, margin=0.0))
        assert out.verdict == "sat"
    res = minimize_quadratic_hinge(from_features(J, y, margin=-1.0))
    assert res.verdict == "sat" and res.iterations == 0
    np.testing.assert_array_equal(res.w, np.zeros(5))


def test_exact_line_search_matches_brute_force():
    rng = np.random.default_rng(11)
    for _ in range(30):
        delta = rng.standard_normal(40)
        q = rng.standard_normal(40)
        # make it a descent direction
        if np.dot(q[delta > 0], delta[delta > 0]) <= 0:
            q = -q

        def phi(t, delta=delta, q=q):
            return 0.5 * np.sum(np.maximum(delta - t * q, 0.0) ** 2)

        t = exact_line_search(delta, q)
        grid = np.linspace(0, 5 * max(t, 1e-3), 20001)[:, None]
        on_grid = 0.5 * np.sum(np.maximum(delta - grid * q, 0.0) ** 2, axis=1)
        assert phi(t) <= on_grid.min() + 1e-12
        ref = scipy.optimize.minimize_scalar(phi, bounds=(0, 10 * max(t, 1.0)), method="bounded",
                                             options={"xatol": 1e-12})
        assert t == pytest.approx(ref.x, abs=1e-6)


def test_exact_line_search_no_descent_gives_zero():
    assert exact_line_search(np.array([1.0, -1.0]), np.array([-1.0, 0.0])) == 0.0


# ------------------------------------------------------------- certificate checking


def test_certificate_checks_reject_bad_certificates():
    J, y, _ = gaussian_instance(40, 10, 12)
    pr = from_features(J, y)
    lp = lp_certificate(pr)
    assert lp.verdict == "unsat"
    good = check_farkas_certificate(pr, lp.farkas)
    assert good.ok and good.radius > 1e6
    assert not check_farkas_certificate(pr, -lp.farkas).ok
    assert not check_farkas_certificate(pr, np.zeros(40)).ok
    assert not check_farkas_certificate(pr, np.ones(40)).ok  # not in the null space
    assert not check_sat_certificate(pr, np.zeros(10)).ok
    with pytest.raises(ValueError, match="lam must have length N = 40"):
        check_farkas_certificate(pr, np.ones(3))
    J2, y2, _ = gaussian_instance(8, 10, 13)
    sat = lp_certificate(from_features(J2, y2))
    assert sat.verdict == "sat" and sat.check.min_gap >= -1e-9
    assert not check_sat_certificate(from_features(J2, y2, margin=1e9), sat.w).ok


def _fake_status4(real, fail_calls):
    calls = {"n": 0}

    def fake(*args, **kwargs):
        calls["n"] += 1
        res = real(*args, **kwargs)
        if calls["n"] <= fail_calls:
            res.status = 4
            res.message = "model status unknown (simulated)"
        return res

    return fake


def test_lp_status_4_is_never_a_verdict_and_is_retried(monkeypatch):
    J, y, _ = gaussian_instance(40, 10, 14)
    monkeypatch.setattr(jam.lp, "linprog", _fake_status4(jam.lp.linprog, fail_calls=2))
    lp = lp_certificate(from_features(J, y))
    assert lp.attempts[0].startswith("highs-ds on features: status 4")
    assert lp.attempts[1].startswith("highs-ipm on features: status 4")
    assert lp.coordinates == "basis"  # the SVD retry gave the verdict
    assert lp.verdict == "unsat"
    recheck_farkas(J, y, np.zeros(40), 1.0, lp.farkas)


def test_lp_unknown_when_every_attempt_fails(monkeypatch):
    J, y, _ = gaussian_instance(40, 10, 14)
    monkeypatch.setattr(jam.lp, "linprog", _fake_status4(jam.lp.linprog, fail_calls=99))
    lp = lp_certificate(from_features(J, y))
    assert lp.verdict == "unknown" and lp.w is None and lp.farkas is None
    assert len(lp.attempts) == 4 and not lp.check.ok


def test_bad_solver_arguments():
    J, y, _ = gaussian_instance(10, 4, 15)
    pr = from_features(J, y)
    with pytest.raises(ValueError, match="coordinates must be"):
        minimize_quadratic_hinge(pr, coordinates="dual")
    with pytest.raises(ValueError, match="tol must be >= 0"):
        lp_certificate(pr, tol=-1.0)
    with pytest.raises(ValueError, match="kkt_tol must be > 0"):
        minimize_quadratic_hinge(pr, kkt_tol=0.0)
    with pytest.raises(ValueError, match="max_iter must be >= 1"):
        minimize_quadratic_hinge(pr, max_iter=0)
    with pytest.raises(ValueError, match="method must be"):
        jam.sat_unsat(pr, method="magic")


def test_sat_unsat_methods_agree():
    for N in (10, 40):
        pr = from_features(*gaussian_instance(N, 10, 16)[:2])
        verdicts = {jam.sat_unsat(pr, method=m) for m in ("auto", "newton", "lp")}
        assert len(verdicts) == 1 and verdicts != {"unknown"}


# --------------------------------------------------------------------- Cover's law


def relu_instance(N, P, seed, d=10):
    X = sphere(N, d, seed=seed)
    J = random_relu_features(X, P, seed=seed + 10_000)
    y = np.random.default_rng(seed + 20_000).choice([-1.0, 1.0], N)
    return Problem(y=y, J=J)


def test_relu_features_sat_probability_is_consistent_with_cover():
    P, seeds = 20, 40
    for phi in (1.5, 2.0, 2.5):
        N = int(round(phi * P))
        sat, expected = 0, 0.0
        for s in range(seeds):
            pr = relu_instance(N, P, 1000 * N + s)
            sat += minimize_quadratic_hinge(pr).verdict == "sat"
            expected += cover_probability(N, pr.rank)
        sd = np.sqrt(expected * (1 - expected / seeds))
        assert abs(sat - expected) <= 4 * sd + 1, (phi, sat, expected)


def test_newton_and_lp_agree_on_relu_features():
    for N in (30, 40, 50):
        pr = relu_instance(N, 20, N)
        a = minimize_quadratic_hinge(pr)
        b = lp_certificate(pr)
        assert a.verdict == b.verdict != "unknown"


@pytest.mark.slow
def test_cover_chi_square_relu_features_P100():
    """χ² over φ at P = 100 with 150 seeds per point: P(SAT) follows Cover's curve."""
    P, seeds = 100, 150
    phis = (1.6, 1.8, 1.9, 2.0, 2.1, 2.2, 2.4)
    chi2, rows = 0.0, []
    for phi in phis:
        N = int(round(phi * P))
        k, p_sum, var = 0, 0.0, 0.0
        for s in range(seeds):
            pr = relu_instance(N, P, 7919 * N + s)
            res = minimize_quadratic_hinge(pr)
            assert res.verdict in ("sat", "unsat") and res.converged
            p = cover_probability(N, pr.rank)
            k += res.verdict == "sat"
            p_sum += p
            var += p * (1 - p)
        chi2 += (k - p_sum) ** 2 / var
        rows.append((phi, k / seeds, p_sum / seeds))
    pvalue = scipy.stats.chi2.sf(chi2, df=len(phis))
    assert pvalue > 1e-3, rows


@pytest.mark.parametrize("seed", range(3))
def test_dead_inputs_in_an_ill_conditioned_basis(seed):
    """Zero feature rows (dead inputs) can never be fitted; in an SVD basis their rows are
    rounding noise ~eps·s_max/s_min, which the Newton step must not try to fit."""
    rng = np.random.default_rng(seed)
    N, P, r = 55, 60, 50
    B = rng.standard_normal((N, r)) * np.logspace(0, -3, r)
    J = B @ np.linalg.qr(rng.standard_normal((P, r)))[0].T
    J[[3, 17, 30, 41]] = 0.0
    y = rng.choice([-1.0, 1.0], N)
    pr, newton, lp = agree_and_recheck(J, y)
    assert lp.verdict == "unsat"  # a dead point with κ > 0 is violated whatever w is
    np.testing.assert_allclose(newton.deltas[[3, 17, 30, 41]], 1.0, atol=1e-9)
    assert np.linalg.norm(newton.w) < 1e6


def test_renamed_fields_and_keyword_still_work_with_a_warning():
    """n_delta → n_unsat, parameterisation → coordinates: old names kept for one release."""
    J, y, f0 = gaussian_instance(30, 10, 0)
    pr = from_features(J, y)
    with pytest.warns(DeprecationWarning, match="coordinates="):
        res = minimize_quadratic_hinge(pr, parameterisation="basis")
    assert res.coordinates == "basis"
    with pytest.warns(DeprecationWarning, match="n_unsat"):
        assert res.n_delta == res.n_unsat
    with pytest.warns(DeprecationWarning, match="coordinates"):
        assert lp_certificate(pr).parameterisation in ("features", "basis")
    with pytest.raises(ValueError, match="not both"):
        minimize_quadratic_hinge(pr, coordinates="features", parameterisation="basis")
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        _ = res.nope
