"""Tests for ntkjam.dynamics: closed forms, the reachable set, convex minima, GD -> flow."""

import dataclasses

import numpy as np
import pytest
import scipy.optimize

import ntkjam  # noqa: F401
from ntkjam.dynamics import (
    Controller,
    KernelPath,
    StoppingRules,
    gradient_descent,
    gradient_flow,
    mse_exact,
    resolve_source,
)

NEVER = dict(sat=False, grad_tol=0.0)


def _problem(n=30, p=10, n_test=7, seed=0):
    rng = np.random.default_rng(seed)
    J = rng.standard_normal((n + n_test, p)) / np.sqrt(p)
    y = np.where(rng.random(n) < 0.5, -1.0, 1.0)
    f0 = 0.2 * rng.standard_normal(n + n_test)
    return J[:n], J[n:], y, f0[:n], f0[n:]


def _closed_form_mse(K, f0, y, t, lr=1.0):
    lam, U = np.linalg.eigh(K)
    n = f0.size
    return y + U @ (np.exp(-lr * lam * t / n) * (U.T @ (f0 - y)))


@pytest.mark.parametrize("source", ["kernel", "features"])
def test_mse_flow_matches_closed_form(source):
    J, Jt, y, f0, f0t = _problem(n=40, p=60)  # full rank K
    K = J @ J.T
    times = np.array([0.0, 0.3, 2.0, 7.5, 40.0, 300.0])
    kw = dict(kernel=K) if source == "kernel" else dict(features=J)
    res = gradient_flow(f0, y, "mse", lr=0.7, times=times,
                        stopping=StoppingRules(max_time=300.0, **NEVER), **kw)
    assert res.status == "budget"
    np.testing.assert_allclose(res.times, times)
    for t, f in zip(times, res.outputs, strict=True):
        np.testing.assert_allclose(f, _closed_form_mse(K, f0, y, t, lr=0.7), atol=1e-8, rtol=0)
    exact = mse_exact(f0, y, times, lr=0.7, **kw)
    np.testing.assert_allclose(exact.outputs, res.outputs, atol=1e-8, rtol=0)
    np.testing.assert_allclose(exact.loss, res.loss, atol=1e-10, rtol=0)


def test_mse_test_predictions_kernel_and_features_agree():
    J, Jt, y, f0, f0t = _problem(n=30, p=12)
    K, Kt = J @ J.T, Jt @ J.T
    times = np.array([0.0, 1.0, 10.0, 100.0])
    a = mse_exact(f0, y, times, kernel=K, test_kernel=Kt, f0_test=f0t)
    b = mse_exact(f0, y, times, features=J, test_features=Jt, f0_test=f0t)
    np.testing.assert_allclose(a.test_outputs, b.test_outputs, atol=1e-9)
    # reference: the linear model f = f0 + J w trained by its own closed form
    w_inf = np.linalg.lstsq(J, y - f0, rcond=None)[0]
    late = mse_exact(f0, y, [1e7], features=J, test_features=Jt, f0_test=f0t)
    np.testing.assert_allclose(late.test_outputs[0], f0t + Jt @ w_inf, atol=1e-8)
    for kw in (dict(kernel=K, test_kernel=Kt), dict(features=J, test_features=Jt),
               dict(features=J, test_kernel=Kt)):
        res = gradient_flow(f0, y, "mse", times=times, f0_test=f0t,
                            stopping=StoppingRules(max_time=100.0, **NEVER), **kw)
        np.testing.assert_allclose(res.test_outputs, a.test_outputs, atol=1e-8)


@pytest.mark.parametrize("loss", ["quadratic_hinge", "logistic", "sigmoid"])
def test_test_outputs_through_cross_kernel_match_features(loss):
    # The cross-kernel route integrates the dual variable a (f = f0 + K a) with the
    # φ₂ formula; the feature route uses f_test = f0_test + J_test w directly.
    J, Jt, y, f0, f0t = _problem(n=30, p=10, seed=9)
    kw = dict(stopping=StoppingRules(sat=False, grad_tol=1e-9, max_time=1e4), f0_test=f0t)
    a = gradient_flow(f0, y, loss, features=J, test_features=Jt, **kw)
    b = gradient_flow(f0, y, loss, features=J, test_kernel=Jt @ J.T, **kw)
    np.testing.assert_array_equal(a.times, b.times)
    np.testing.assert_allclose(b.test_outputs, a.test_outputs, atol=1e-10)


@pytest.mark.parametrize("loss", ["quadratic_hinge", "logistic", "sigmoid", "mse"])
def test_flow_never_leaves_reachable_set(loss):
    J, _, y, f0, _ = _problem(n=40, p=8, seed=3)
    K = J @ J.T  # rank 8 < 40, given as a dense kernel
    res = gradient_flow(f0, y, loss, kernel=K,
                        stopping=StoppingRules(sat=False, grad_tol=1e-9, max_time=1e5))
    U = np.linalg.svd(J, full_matrices=False)[0]
    drift = res.outputs - f0
    off = drift - (drift @ U) @ U.T
    assert np.abs(off).max() < 1e-10
    assert np.abs(drift).max() > 0.1  # it did move


def _scipy_quadratic_hinge_min(J, f0, y, margin):
    """Independent solve: L(w) = (1/N) Σ ½ max(0, κ - y(f0 + J w))² in the P-dim variable w."""
    n = y.size

    def fun(w):
        d = np.maximum(margin - y * (f0 + J @ w), 0.0)
        return 0.5 * np.mean(d**2), -(J.T @ (y * d)) / n

    res = scipy.optimize.minimize(fun, np.zeros(J.shape[1]), jac=True, method="L-BFGS-B",
                                  options=dict(ftol=1e-16, gtol=1e-14, maxiter=50_000))
    return res.fun


@pytest.mark.parametrize("seed", [0, 1])
def test_quadratic_hinge_minimum_matches_scipy(seed):
    J, _, y, f0, _ = _problem(n=60, p=20, seed=seed)  # φ = 3: UNSAT
    ref = _scipy_quadratic_hinge_min(J, f0, y, 1.0)
    res = gradient_flow(f0, y, "quadratic_hinge", features=J, record_outputs=False,
                        stopping=StoppingRules(grad_tol=1e-12))
    assert res.status == "converged"
    assert ref > 1e-3
    assert abs(res.loss[-1] - ref) <= 1e-8 * ref


def test_quadratic_hinge_sat_stops_sat():
    J, _, y, f0, _ = _problem(n=20, p=60, seed=2)  # P > N: SAT
    res = gradient_flow(f0, y, "quadratic_hinge", features=J)
    assert res.status == "sat", res.message
    assert res.n_unsat[-1] == 0 and np.all(1.0 - y * res.final_outputs <= 1e-9)
    assert res.loss[-1] < 1e-17


def test_hinge_flow_crosses_kinks_exactly_without_sliding():
    # Orthonormal features: K = I, the points decouple and each margin decreases at
    # speed η/N until it reaches its kink, where it stops.
    rng = np.random.default_rng(4)
    n = 8
    J = np.linalg.qr(rng.standard_normal((3 * n, n)))[0][:, :n].T  # (n, 3n), J Jᵀ = I
    y = np.where(rng.random(n) < 0.5, -1.0, 1.0)
    f0 = 0.3 * rng.standard_normal(n)
    res = gradient_flow(f0, y, "hinge", features=J, times=[0.0])
    assert res.status == "sat", res.message
    # exact arrival time of the last margin: Δ_i(0) / (η/N), one event per violated point
    assert res.final_time == pytest.approx(np.max(1.0 - y * f0) * n, rel=1e-12)
    assert res.n_steps == np.count_nonzero(1.0 - y * f0 > 0)


def _lp_hinge_min(J, f0, y, margin):
    """Independent solve: min (1/N) Σ s_i, s_i ≥ κ − y_i(f0_i + J_i w), s ≥ 0 (HiGHS)."""
    n, p = J.shape
    c = np.concatenate([np.zeros(p), np.ones(n) / n])
    A = np.hstack([-(y[:, None] * J), -np.eye(n)])
    res = scipy.optimize.linprog(c, A_ub=A, b_ub=-(margin - y * f0), method="highs",
                                 bounds=[(None, None)] * p + [(0, None)] * n)
    assert res.status == 0
    return res.fun


@pytest.mark.parametrize("seed", [0, 1])
def test_hinge_flow_slides_along_kinks_to_the_lp_minimum(seed):
    J, _, y, f0, _ = _problem(n=60, p=20, seed=seed)  # UNSAT: points slide along kinks
    ref = _lp_hinge_min(J, f0, y, 1.0)
    res = gradient_flow(f0, y, "hinge", features=J, record_outputs=False,
                        stopping=StoppingRules(grad_tol=1e-12, max_steps=10_000))
    assert res.status == "converged", res.message
    assert abs(res.loss[-1] - ref) <= 1e-10 * ref


def test_hinge_flow_coupled_sat():
    J, _, y, f0, _ = _problem(n=10, p=40, seed=4)
    res = gradient_flow(f0, y, "hinge", features=J)
    assert res.status == "sat", res.message
    assert res.loss[-1] <= 1e-12 and res.n_steps < 200


def _fit_order(etas, errs):
    return np.polyfit(np.log(etas), np.log(errs), 1)[0]


def test_gradient_descent_converges_to_flow_first_order():
    J, _, y, f0, _ = _problem(n=30, p=15, seed=5)
    T = 20.0
    flow = gradient_flow(f0, y, "logistic", features=J, times=[T], controller=Controller(rtol=1e-9),
                         stopping=StoppingRules(max_time=T, **NEVER))
    etas = np.array([0.4, 0.2, 0.1, 0.05])
    errs = []
    for eta in etas:
        # GD with rate η after k = T/η steps approximates the flow with rate 1 at time T
        gd = gradient_descent(f0, y, "logistic", features=J, lr=eta, n_steps=int(round(T / eta)),
                              stopping=StoppingRules(**NEVER))
        errs.append(np.linalg.norm(gd.final_outputs - flow.final_outputs))
    order = _fit_order(etas, np.array(errs))
    assert 0.9 < order < 1.1, (order, errs)


def test_minibatch_descent_approaches_flow():
    J, _, y, f0, _ = _problem(n=24, p=12, seed=6)
    T = 10.0
    flow = gradient_flow(f0, y, "mse", features=J, times=[T],
                         stopping=StoppingRules(max_time=T, **NEVER))
    etas = np.array([0.2, 0.1, 0.05, 0.025])
    errs = [np.linalg.norm(gradient_descent(f0, y, "mse", features=J, lr=e, batch_size=6,
                                            n_steps=int(round(T / e)), seed=1,
                                            stopping=StoppingRules(**NEVER)).final_outputs
                           - flow.final_outputs) for e in etas]
    assert _fit_order(etas, np.array(errs)) > 0.8, errs


def test_minibatch_is_deterministic_and_seeded():
    J, Jt, y, f0, f0t = _problem()
    kw = dict(features=J, lr=0.5, n_steps=40, batch_size=7, test_features=Jt, f0_test=f0t)
    a = gradient_descent(f0, y, "quadratic_hinge", seed=3, **kw)
    b = gradient_descent(f0, y, "quadratic_hinge", seed=3, **kw)
    c = gradient_descent(f0, y, "quadratic_hinge", seed=4, **kw)
    np.testing.assert_array_equal(a.outputs, b.outputs)
    np.testing.assert_array_equal(a.test_outputs, b.test_outputs)
    assert not np.array_equal(a.final_outputs, c.final_outputs)
    # kernel columns and features give the same descent
    d = gradient_descent(f0, y, "quadratic_hinge", seed=3, kernel=J @ J.T, lr=0.5, n_steps=40,
                         batch_size=7, test_kernel=Jt @ J.T, f0_test=f0t)
    np.testing.assert_allclose(d.outputs, a.outputs, atol=1e-12)
    np.testing.assert_allclose(d.test_outputs, a.test_outputs, atol=1e-12)


def test_full_batch_descent_test_outputs_follow_linear_model():
    J, Jt, y, f0, f0t = _problem(seed=7)
    gd = gradient_descent(f0, y, "mse", features=J, lr=0.3, n_steps=50, test_features=Jt,
                          f0_test=f0t, stopping=StoppingRules(**NEVER))
    w = np.zeros(J.shape[1])
    for _ in range(50):
        w -= 0.3 * J.T @ ((f0 + J @ w - y) / y.size)
    np.testing.assert_allclose(gd.final_outputs, f0 + J @ w, atol=1e-12)
    np.testing.assert_allclose(gd.final_test_outputs, f0t + Jt @ w, atol=1e-12)
    assert gd.n_steps == 50 and gd.status == "budget"


def test_moving_kernel_checkpoints_and_callable():
    J, Jt, y, f0, f0t = _problem(n=20, p=30, seed=8)
    K = J @ J.T
    T = 3.0
    # K_t = (1 + t) K: the MSE solution has the time change s = t + t²/2
    res = gradient_flow(f0, y, "mse", kernel=lambda t: (1.0 + t) * K, times=[T],
                        controller=Controller(rtol=1e-3),
                        stopping=StoppingRules(max_time=T, **NEVER))
    ref = _closed_form_mse(K, f0, y, T + T**2 / 2)
    np.testing.assert_allclose(res.final_outputs, ref, atol=1e-6)
    path = KernelPath(times=[0.0, 10.0], kernels=[K, K], test_kernels=[Jt @ J.T] * 2)
    moving = gradient_flow(f0, y, "mse", kernel=path, times=[T], f0_test=f0t,
                           controller=Controller(rtol=1e-3),
                           stopping=StoppingRules(max_time=T, **NEVER))
    fixed = mse_exact(f0, y, [T], kernel=K, test_kernel=Jt @ J.T, f0_test=f0t)
    np.testing.assert_allclose(moving.final_outputs, fixed.outputs[0], atol=1e-6)
    np.testing.assert_allclose(moving.final_test_outputs, fixed.test_outputs[0], atol=1e-6)
    np.testing.assert_allclose(path.at(5.0), K)
    gd = gradient_descent(f0, y, "mse", kernel=path, lr=0.5, n_steps=5, f0_test=f0t)
    gd_fixed = gradient_descent(f0, y, "mse", kernel=K, lr=0.5, n_steps=5,
                                test_kernel=Jt @ J.T, f0_test=f0t)
    np.testing.assert_allclose(gd.test_outputs, gd_fixed.test_outputs, atol=1e-12)


def test_kernel_path_interpolates_linearly():
    A, B = np.eye(2), 3 * np.eye(2)
    path = KernelPath(times=[1.0, 3.0], kernels=[A, B])
    np.testing.assert_allclose(path.at(2.0), 2 * np.eye(2))
    np.testing.assert_allclose(path.at(0.0), A)
    np.testing.assert_allclose(path.at(9.0), B)
    with pytest.raises(ValueError, match="strictly increasing"):
        KernelPath(times=[1.0, 1.0], kernels=[A, B])


def test_recording_and_result_fields():
    J, _, y, f0, _ = _problem()
    res = gradient_flow(f0, y, "quadratic_hinge", features=J)
    assert res.times[0] == 0.0 and np.all(np.diff(res.times) > 0)
    ratios = res.times[2:-1] / res.times[1:-2]
    np.testing.assert_allclose(ratios, 10 ** 0.1, rtol=1e-9)  # log-spaced, 10 per decade
    assert res.times[-1] == res.final_time
    assert res.outputs.shape == (res.times.size, y.size)
    # This instance is UNSAT: the flow converges to a stationary point of positive loss.
    assert res.status == "converged" and res.verdict == "UNSAT" and res.n_unsat[-1] > 0
    assert res.kgrad_norm[-1] <= 1e-10 and res.loss[-1] > 0.1 and "converged" in res.message
    np.testing.assert_allclose(res.kgrad_norm[0], np.linalg.norm(
        J @ (J.T @ (-y * np.maximum(1 - y * f0, 0) / y.size))))
    with pytest.raises(dataclasses.FrozenInstanceError):
        res.status = "x"
    with pytest.raises(ValueError):
        res.loss[0] = 1.0
    assert set(res.as_arrays()) >= {"times", "loss", "n_unsat", "kgrad_norm", "status"}
    short = gradient_flow(f0, y, "logistic", features=J, stopping=StoppingRules(max_steps=3))
    assert short.status == "budget" and short.n_steps == 3 and "max_steps" in short.message


def test_stopping_rules_build_the_core_rule_objects():
    """The dynamics stop through the rule objects of ntkjam.core.stopping (one mechanism)."""
    from ntkjam.core.stopping import Budget, Converged, SATReached, TrainState
    from ntkjam.losses import get_loss

    rules = StoppingRules(grad_tol=1e-8, max_time=5.0, max_steps=7)
    budget = Budget(7, 5.0, time_rtol=1e-14)
    assert rules.build(get_loss("quadratic_hinge")) == (SATReached(), Converged(1e-8), budget)
    assert rules.build(get_loss("mse")) == (Converged(1e-8), budget)
    assert StoppingRules(sat=True).build(get_loss("mse"))[0] == SATReached()
    # The flows' clock lands on max_time up to rounding; the training loop's exactly.
    assert budget.time_spent(5.0 * (1 - 1e-15)) and not Budget(7, 5.0).time_spent(4.9999999)
    state = TrainState(step=3, time=1.0, loss=0.1, n_unsat=2, grad_norm=1e-9)
    assert Converged(1e-8).check(state).startswith("converged")
    assert Converged(1e-10).check(state) is None
    assert Converged().check(TrainState(step=3, time=1.0, loss=0.1, n_unsat=2)) is None
    with pytest.raises(ValueError, match="time_rtol"):
        Budget(time_rtol=1.0)
    with pytest.raises(ValueError, match="grow must be >= 1"):
        Controller(grow=0.5)
    with pytest.raises(ValueError, match="shrink must be in"):
        Controller(shrink=1.0)


def test_features_are_not_turned_into_a_gram_matrix_when_p_is_small():
    J = np.ones((50, 3))
    assert resolve_source(None, J, 50, need_factor=True).K is None
    assert resolve_source(None, np.ones((5, 30)), 5, need_factor=True).K is not None


def test_bad_input():
    J, _, y, f0, _ = _problem()
    K = J @ J.T
    with pytest.raises(ValueError, match="square"):
        gradient_flow(f0, y, "mse", kernel=K[:, :-1])
    asym = K.copy()
    asym[0, 1] += 1.0
    with pytest.raises(ValueError, match="symmetric"):
        gradient_flow(f0, y, "mse", kernel=asym)
    bad = K.copy()
    bad[2, 2] = np.nan
    with pytest.raises(ValueError, match="finite"):
        gradient_flow(f0, y, "mse", kernel=bad)
    with pytest.raises(ValueError, match=r"\(31, 31\)|to match f0"):
        gradient_flow(np.zeros(31), np.ones(31), "mse", kernel=K)
    with pytest.raises(ValueError, match="y must have length"):
        gradient_flow(f0, y[:-1], "mse", kernel=K)
    with pytest.raises(ValueError, match="lr must be > 0"):
        gradient_flow(f0, y, "mse", kernel=K, lr=0.0)
    with pytest.raises(ValueError, match="lr must be > 0"):
        gradient_descent(f0, y, "mse", kernel=K, lr=-1.0, n_steps=3)
    with pytest.raises(ValueError, match="only -1 and \\+1"):
        gradient_flow(f0, 0.5 * y, "hinge", kernel=K)
    with pytest.raises(ValueError, match="only -1 and \\+1"):
        gradient_descent(f0, 0.5 * y, "quadratic_hinge", features=J, lr=0.1, n_steps=2)
    with pytest.raises(ValueError, match="exactly one"):
        gradient_flow(f0, y, "mse", kernel=K, features=J)
    with pytest.raises(ValueError, match="exactly one"):
        gradient_flow(f0, y, "mse")
    with pytest.raises(ValueError, match="one row per training point"):
        gradient_flow(f0, y, "mse", features=J[:-1])
    with pytest.raises(ValueError, match="f0_test"):
        gradient_flow(f0, y, "mse", kernel=K, test_kernel=np.ones((3, y.size)))
    with pytest.raises(ValueError, match="test_kernel must have shape"):
        gradient_flow(f0, y, "mse", kernel=K, test_kernel=np.ones((3, 4)), f0_test=np.zeros(3))
    with pytest.raises(ValueError, match="batch_size must be <="):
        gradient_descent(f0, y, "mse", kernel=K, lr=0.1, n_steps=2, batch_size=1000)
    with pytest.raises(ValueError, match="times must be >= 0"):
        mse_exact(f0, y, [-1.0], kernel=K)
    with pytest.raises(ValueError, match="positive semi-definite"):
        gradient_flow(f0, y, "mse", kernel=-K)
    with pytest.raises(ValueError, match="rtol must be > 0"):
        Controller(rtol=0.0)


@pytest.mark.slow
def test_large_quadratic_hinge_and_hinge_minima_match_independent_solvers():
    J, _, y, f0, _ = _problem(n=600, p=300, seed=11)  # φ = 2, near Cover's transition
    ref = _scipy_quadratic_hinge_min(J, f0, y, 1.0)
    res = gradient_flow(f0, y, "quadratic_hinge", features=J, record_outputs=False,
                        stopping=StoppingRules(sat=False, grad_tol=1e-12))
    assert res.status == "converged"
    assert abs(res.loss[-1] - ref) <= 1e-8 * max(ref, 1e-300) or (ref < 1e-12 and
                                                                  res.loss[-1] < 1e-12)
    J, _, y, f0, _ = _problem(n=300, p=100, seed=12)
    ref = _lp_hinge_min(J, f0, y, 1.0)
    res = gradient_flow(f0, y, "hinge", features=J, record_outputs=False,
                        stopping=StoppingRules(grad_tol=1e-12, max_steps=100_000))
    assert res.status == "converged" and abs(res.loss[-1] - ref) <= 1e-9 * ref
