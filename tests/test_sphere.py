"""The quadratic-hinge minimum on the sphere and the jamming point by margin compression."""

from __future__ import annotations

import numpy as np
import pytest

from ntkjam.core.status import Status
from ntkjam.jamming import compress_margin, minimize_on_sphere
from ntkjam.problem import Problem
from ntkjam.theory.replica import rs_unsat_spherical


def gaussian_problem(N: int, P: int, margin: float, seed: int) -> Problem:
    rng = np.random.default_rng(seed)
    J = rng.standard_normal((N, P)) / np.sqrt(P)
    y = rng.choice([-1.0, 1.0], N)
    return Problem(y=y, J=J, margin=margin)


def _kappa_rs(phi: float) -> float:
    """κ with α_RS(κ) = φ on the sphere (the RS upper bound on jamming, κ < 0)."""
    from scipy.optimize import brentq

    return brentq(lambda k: rs_unsat_spherical(phi, k, allow_negative_margin=True).phi_c - phi,
                  -2.0, 0.0)


def test_constraint_loss_and_readonly():
    p = gaussian_problem(300, 100, 0.5, 0)
    res = minimize_on_sphere(p, norm=37.0)
    assert res.status == Status.UNSAT
    assert abs(float(res.w @ res.w) - 37.0) <= 1e-12 * 37.0
    assert res.loss == p.loss(res.w)
    np.testing.assert_array_equal(res.deltas, p.deltas(res.w))
    assert res.n_unsat == res.forces.size == int(np.sum(res.deltas > res.tol))
    assert res.isostaticity == res.n_unsat / res.rank
    assert not res.w.flags.writeable and not res.deltas.flags.writeable
    with pytest.raises(AttributeError):
        res.loss = 0.0  # frozen
    assert "SphereMinimum(status='unsat'" in repr(res)


def test_default_norm_is_P_and_gradient_below_threshold():
    p = gaussian_problem(400, 100, 0.0, 1)
    res = minimize_on_sphere(p)
    assert res.status == Status.UNSAT
    assert abs(float(res.w @ res.w) - 100.0) <= 1e-12 * 100.0
    assert "Riemannian gradient" in res.message
    assert res.grad_norm <= res.grad_threshold
    # Stationarity: g = λ w at the minimum, with g from the problem itself.
    g = -(p.features().T @ (p.y * np.maximum(res.deltas, 0))) / p.n_points
    assert np.linalg.norm(g - res.multiplier * res.w) <= res.grad_threshold


def test_convex_case_matches_rs_theory():
    """κ ≥ 0: the RS theory of the spherical problem is exact; P = 200, 4 seeds."""
    phi, kappa, P = 3.0, 0.5, 200
    losses = [minimize_on_sphere(gaussian_problem(int(phi * P), P, kappa, s)).loss
              for s in range(4)]
    rs = rs_unsat_spherical(phi, kappa).loss_per_sample
    assert abs(np.mean(losses) / rs - 1) < 0.10


def test_sat_below_capacity():
    # α_c(0) = 2: φ = 1 is well inside the SAT phase.
    res = minimize_on_sphere(gaussian_problem(100, 100, 0.0, 2))
    assert res.status == Status.SAT
    assert res.n_unsat == 0 and res.loss <= 0.5 * res.tol**2  # SAT at the tolerance
    assert abs(float(res.w @ res.w) - 100.0) <= 1e-12 * 100.0


def test_seed_reproducible_and_w0():
    p = gaussian_problem(300, 100, 0.5, 3)
    a, b = minimize_on_sphere(p, seed=5), minimize_on_sphere(p, seed=5)
    np.testing.assert_array_equal(a.w, b.w)
    c = minimize_on_sphere(p, w0=2.0 * a.w)  # rescaled onto the sphere, already stationary
    assert c.iterations <= 5
    assert abs(c.loss - a.loss) <= 1e-12 * a.loss


def test_budget_status():
    res = minimize_on_sphere(gaussian_problem(400, 100, 0.0, 4), max_iter=1)
    assert res.status == Status.BUDGET and res.iterations == 1


@pytest.mark.parametrize("norm", [0.0, -1.0, float("nan"), float("inf")])
def test_bad_norm(norm):
    with pytest.raises(ValueError, match="norm"):
        minimize_on_sphere(gaussian_problem(20, 10, 0.0, 0), norm=norm)


def test_bad_inputs():
    p = gaussian_problem(20, 10, 0.0, 0)
    with pytest.raises(ValueError, match="margin"):
        Problem(y=p.y, J=p.J, margin=float("nan"))
    with pytest.raises(ValueError, match="grad_tol"):
        minimize_on_sphere(p, grad_tol=0.0)
    with pytest.raises(ValueError, match="w0"):
        minimize_on_sphere(p, w0=np.zeros(10))
    with pytest.raises(ValueError, match="w0"):
        minimize_on_sphere(p, w0=np.ones(3))
    with pytest.raises(ValueError, match="kappas"):
        compress_margin(p, kappas=[0.0, 0.1])
    with pytest.raises(ValueError, match="kappa_tol"):
        compress_margin(p, kappas=[0.0, -0.1], kappa_tol=-1.0)


def test_compression_jams_isostatic():
    """κ < 0, φ = 4, P = 100: the last UNSAT minimum above κ_J is isostatic.

    Measured (seeds 0–9): N_Δ/rank = 1.00 for every seed; κ_J ∈ [−0.435, −0.381].
    """
    p = gaussian_problem(400, 100, 0.0, 0)
    c = compress_margin(p, kappas=np.arange(0.0, -1.5, -0.05), kappa_tol=1e-4)
    assert c.status == "jammed"
    assert c.kappa_sat < c.kappa_j < c.kappa_unsat and c.kappa_unsat - c.kappa_sat <= 1e-4
    assert -0.5 < c.kappa_j < -0.35
    assert c.unsat.status == Status.UNSAT and c.unsat.loss < 1e-8
    assert abs(c.isostaticity - 1) <= 0.02  # measured 1.00 (N_Δ = 100 = rank)
    # Near the RS bound κ_RS(φ = 4) ≈ −0.405 (α_RS(κ) = 4); at P = 100 κ_J fluctuates by
    # ±0.02 around it, so the bound is not asserted per instance.
    assert abs(c.kappa_j - _kappa_rs(4.0)) < 0.06
    # Second order: the Riemannian Hessian Π(A_SᵀA_S/N − λI)Π is PSD at the returned point.
    u = c.unsat
    A = (p.y[:, None] * p.features())[u.deltas > 0]
    w = u.w
    Pi = np.eye(w.size) - np.outer(w, w) / (w @ w)
    H = Pi @ (A.T @ A / p.n_points - u.multiplier * np.eye(w.size)) @ Pi
    assert np.linalg.eigvalsh(0.5 * (H + H.T))[0] > -1e-12


def test_compression_edge_cases():
    p = gaussian_problem(100, 100, 0.0, 0)
    assert compress_margin(p, kappas=[0.0, -0.1]).status == "sat"  # φ = 1 < α_c(0)
    q = gaussian_problem(400, 100, 0.0, 0)
    c = compress_margin(q, kappas=[0.5, 0.2])
    assert c.status == "unsat" and c.unsat is not None and np.isnan(c.kappa_j)
    assert [h[1] for h in c.history] == ["unsat", "unsat"]


@pytest.mark.slow
def test_compression_isostatic_many_seeds():
    iso = []
    for s in range(10):
        c = compress_margin(gaussian_problem(400, 100, 0.0, s),
                            kappas=np.arange(0.0, -1.5, -0.05), kappa_tol=1e-4)
        assert c.status == "jammed"
        iso.append(c.isostaticity)
    assert max(abs(i - 1) for i in iso) <= 0.02
