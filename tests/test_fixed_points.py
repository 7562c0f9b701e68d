"""Tests for ntkjam.fixed_points on hand-built 2- and 3-point examples and flow endpoints."""

import numpy as np
import pytest

import ntkjam  # noqa: F401
from ntkjam.dynamics import StoppingRules, gradient_flow
from ntkjam.fixed_points import analyze, linearised_rates, range_kernel_split
from ntkjam.losses import get_loss

ONES = np.ones((2, 2))  # rank 1: both points see the same feature


def test_two_points_mse_fixed_point_not_minimum():
    # Same input, opposite labels: ∇L = (f − y)/2 = (−½, ½) ⟂ range(K) = span(1, 1).
    rep = analyze(ONES, [0.0, 0.0], [1.0, -1.0], "mse", f0=[0.3, 0.3])
    assert rep.kind == "fixed_point_not_minimum" and rep.is_fixed_point and not rep.is_minimum
    assert rep.rank == 1
    assert rep.grad_norm == pytest.approx(np.sqrt(0.5))
    assert rep.grad_kernel_norm == pytest.approx(np.sqrt(0.5))
    assert rep.grad_range_norm == pytest.approx(0.0, abs=1e-15)
    assert rep.distance_to_reachable == pytest.approx(0.0, abs=1e-15)
    # S = η Jᵀ H J with J = (1, 1)ᵀ, H = I/2: one rate η, stable
    np.testing.assert_allclose(rep.rates, [1.0])
    assert (rep.n_stable, rep.n_marginal, rep.n_unstable) == (1, 0, 0)
    assert rep.stability == "stable" and rep.smallest_nonzero_rate == pytest.approx(1.0)
    off = analyze(ONES, [0.0, 0.0], [1.0, -1.0], "mse", f0=[0.3, 0.0])
    assert off.distance_to_reachable == pytest.approx(0.3 / np.sqrt(2))


def test_two_points_minimum_and_non_fixed_point():
    y = np.array([1.0, -1.0])
    rep = analyze(np.eye(2), y, y, "mse", lr=2.0)
    assert rep.kind == "minimum" and rep.stability == "stable"
    np.testing.assert_allclose(rep.rates, [1.0, 1.0])  # η K H = 2 · I/2
    rep = analyze(np.eye(2), [0.0, 0.0], y, "mse")
    assert rep.kind == "not_fixed_point" and rep.stability == "not_a_fixed_point"
    assert rep.kgrad_norm == pytest.approx(np.sqrt(0.5))


def test_two_points_sigmoid_unstable_fixed_point():
    # Non-convex loss, conflicting points: along range(K) the loss
    # L(s) = ½[σ(β(κ − s)) + σ(β(κ + s))] has a maximum at s = 0 for κ > 0.
    loss = get_loss("sigmoid", margin=0.5, beta=4.0)
    rep = analyze(ONES, [0.0, 0.0], [1.0, -1.0], loss)
    assert rep.kind == "fixed_point_not_minimum"
    assert rep.stability == "unstable" and rep.n_unstable == 1 and not rep.lyapunov_stable
    s = 1.0 / (1.0 + np.exp(-4.0 * 0.5))
    expected = 2 * 16.0 * s * (1 - s) * (1 - 2 * s) / 2  # Jᵀ diag(ℓ''/N) J, J = (1, 1)
    np.testing.assert_allclose(rep.rates, [expected], rtol=1e-12)
    # the flow started next to it runs away
    res = gradient_flow([1e-6, 1e-6], [1.0, -1.0], loss, kernel=ONES,
                        stopping=StoppingRules(max_time=200.0, grad_tol=0.0))
    assert abs(res.final_outputs[0]) > 1.0


def test_three_points_quadratic_hinge_unsat_fixed_point():
    # x3 = x1 + x2 with labels (+, +, −): f3 = f1 + f2 makes the constraints incompatible;
    # by symmetry the minimum over range(K) is f = 0 with all three margins Δ = 1.
    J = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    K = J @ J.T
    y = np.array([1.0, 1.0, -1.0])
    rep = analyze(K, np.zeros(3), y, "quadratic_hinge")
    assert rep.kind == "fixed_point_not_minimum" and rep.rank == 2
    np.testing.assert_allclose(rep.gradient, np.array([-1.0, -1.0, 1.0]) / 3)
    np.testing.assert_allclose(rep.rates, [1 / 3, 1.0])  # eig of [[2, 1], [1, 2]]/3
    assert rep.stability == "stable"
    # and the flow from elsewhere in the reachable set ends there
    res = gradient_flow(J @ np.array([0.4, -0.7]), y, "quadratic_hinge", features=J,
                        stopping=StoppingRules(grad_tol=1e-13))
    np.testing.assert_allclose(res.final_outputs, 0.0, atol=1e-11)
    assert analyze(K, res.final_outputs, y, "quadratic_hinge", tol=1e-12).is_fixed_point


def test_three_points_on_the_kink_active_set():
    y = np.array([1.0, -1.0, 1.0])
    f = np.array([1.0, -1.0, 2.0])  # Δ = 0, 0, −1
    rep = analyze(np.eye(3), f, y, "quadratic_hinge")
    assert rep.kind == "minimum"
    np.testing.assert_array_equal(rep.active_set, [0, 1])
    np.testing.assert_allclose(rep.rates, [0.0, 0.0, 0.0])
    np.testing.assert_allclose(rep.rates_upper, [0.0, 1 / 3, 1 / 3], atol=1e-15)
    assert rep.stability == "marginal" and rep.lyapunov_stable


def test_two_points_hinge_subgradient_on_kink():
    # Δ = (0, 2): point 1 on its kink, point 2 violated.  With ℓ'_1 = −c y_1, c = 1,
    # K∇L = (1,1)(−c + 1)/2 = 0: a fixed point, but the minimal-norm subgradient ≠ 0.
    rep = analyze(ONES, [1.0, 1.0], [1.0, -1.0], "hinge")
    assert rep.kind == "fixed_point_not_minimum"
    np.testing.assert_array_equal(rep.active_set, [0])
    np.testing.assert_allclose(rep.gradient, [-0.5, 0.5], atol=1e-12)
    assert rep.grad_norm == pytest.approx(0.5)
    assert rep.stability == "marginal" and rep.lyapunov_stable  # piecewise-linear: rates 0
    moved = analyze(ONES, [1.5, 1.5], [1.0, -1.0], "hinge")
    assert moved.kind == "not_fixed_point"


def test_flow_endpoint_for_p_less_than_n_is_stable_non_minimum():
    rng = np.random.default_rng(0)
    J = rng.standard_normal((30, 6))
    y = np.where(rng.random(30) < 0.5, -1.0, 1.0)
    for loss in ("mse", "quadratic_hinge", "logistic", "hinge"):
        res = gradient_flow(np.zeros(30), y, loss, features=J,
                            stopping=StoppingRules(sat=False, grad_tol=1e-12))
        rep = analyze(J @ J.T, res.final_outputs, y, loss, f0=np.zeros(30))
        assert rep.kind == "fixed_point_not_minimum", loss
        assert rep.n_unstable == 0 and rep.rank == 6 and rep.grad_norm > 1e-3
        assert rep.distance_to_reachable < 1e-10


def test_helpers_and_bad_input():
    vr, vk = range_kernel_split(ONES, [1.0, 0.0])
    np.testing.assert_allclose(vr, [0.5, 0.5])
    np.testing.assert_allclose(vk, [0.5, -0.5])
    np.testing.assert_allclose(linearised_rates(ONES, [0.5, 0.5], lr=3.0), [3.0])
    with pytest.raises(ValueError, match="symmetric"):
        analyze(np.array([[1.0, 2.0], [0.0, 1.0]]), [0.0, 0.0], [1.0, 1.0], "mse")
    with pytest.raises(ValueError, match="f must have length 2"):
        analyze(ONES, [0.0, 0.0, 0.0], [1.0, 1.0], "mse")
    with pytest.raises(ValueError, match="only -1 and \\+1"):
        analyze(ONES, [0.0, 0.0], [1.0, 0.0], "quadratic_hinge")
    with pytest.raises(ValueError, match="lr must be > 0"):
        analyze(ONES, [0.0, 0.0], [1.0, 1.0], "mse", lr=0.0)
