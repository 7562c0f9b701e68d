"""Weight-space training: statuses, stopping rules, α and time conventions, consistency."""

from __future__ import annotations

import numpy as np
import pytest

import ntkjam  # noqa: F401  (enables float64)
from ntkjam.data import load_dataset
from ntkjam.networks import (
    GD,
    Adam,
    Budget,
    GradientFlow,
    SATReached,
    UNSATConverged,
    check_function_space,
    empirical_ntk,
    init_params,
    load_trajectory,
    mlp,
    save_trajectory,
    train,
)
from ntkjam.networks.training import LossHistory


@pytest.fixture(scope="module")
def easy():
    """N = 20 points in d = 20: a wide net fits random labels quickly."""
    ds = load_dataset("sphere", n_train=20, n_test=5, d=20, seed=0, radius="sqrt_d")
    net = mlp(20, [128])
    return ds, net, init_params(net, 0)


def test_gd_reaches_sat_and_records_a_consistent_trajectory(easy):
    ds, net, params = easy
    res = train(net, params, ds.X_train, ds.y_train, X_test=ds.X_test, optimizer=GD(1.0),
                stop=(SATReached(), Budget(max_steps=2000)), kernel_times="records")
    assert res.status == "sat", res.message
    traj = res.trajectory
    assert traj.n_unsat[-1] == 0 and traj.n_unsat[0] == 20
    margins = ds.y_train * traj.f_train[-1]
    assert np.all(margins >= 1.0 - 1e-9)
    # Time = lr · steps for GD; records are increasing and log-spaced.
    assert res.time == pytest.approx(res.steps * 1.0)
    assert np.all(np.diff(traj.time) > 0) and traj.time[0] == 0.0
    ratios = traj.time[2:-1] / traj.time[1:-2]
    assert np.all(ratios > 1.0) and np.median(ratios) == pytest.approx(10 ** 0.1, rel=0.05)
    # Centered: F = 0 at t = 0; K_0 is the empirical NTK at θ₀.
    np.testing.assert_array_equal(traj.f_train[0], 0.0)
    np.testing.assert_allclose(traj.kernels[0], empirical_ntk(net, params, ds.X_train))
    assert traj.kernels.shape == (traj.time.size, 20, 20)
    assert traj.kernel_change[0] == 0.0 and traj.kernel_change[-1] > 0
    assert traj.f_test.shape == (traj.time.size, 5)
    assert traj.weight_change[0] == 0.0 and traj.weight_change[-1] > 0.0
    # The recorded final outputs are those of the returned parameters.
    from ntkjam.networks import apply

    f_final = apply(net, res.params, ds.X_train) - apply(net, params, ds.X_train)
    np.testing.assert_allclose(traj.f_train[-1], f_final, atol=1e-12)


def test_same_inputs_give_bit_identical_runs(easy):
    ds, net, params = easy
    runs = [train(net, params, ds.X_train, ds.y_train, optimizer=GD(1.0),
                  stop=(Budget(max_steps=50),)) for _ in range(2)]
    np.testing.assert_array_equal(runs[0].trajectory.f_train, runs[1].trajectory.f_train)
    assert runs[0].status == "budget" and runs[0].steps == 50
    assert "budget exhausted" in runs[0].message


def test_unsat_status_for_a_network_too_small_for_its_data():
    ds = load_dataset("sphere", n_train=40, d=3, seed=1)
    net = mlp(3, [1])
    res = train(net, init_params(net, 0), ds.X_train, ds.y_train, optimizer=GD(1.0),
                stop=(SATReached(), UNSATConverged(window=200, rtol=1e-6), Budget(20_000)))
    assert res.status == "unsat", res.message
    assert res.trajectory.loss[-1] > 0.05 and res.trajectory.n_unsat[-1] > 5


def test_nan_status_on_divergence(easy):
    ds, net, params = easy
    res = train(net, params, ds.X_train, ds.y_train, loss="mse", optimizer=GD(1e3),
                stop=(Budget(max_steps=500),))
    assert res.status == "nan"
    assert "non-finite" in res.message


def test_adam_reaches_sat(easy):
    ds, net, params = easy
    res = train(net, params, ds.X_train, ds.y_train, optimizer=Adam(lr=0.01),
                stop=(SATReached(), Budget(max_steps=3000)))
    assert res.status == "sat", res.message


def test_gradient_flow_matches_small_step_gradient_descent(easy):
    ds, net, params = easy
    T = 3.0
    flow = train(net, params, ds.X_train, ds.y_train, optimizer=GradientFlow(dt=0.01),
                 stop=(Budget(max_steps=10_000, max_time=T),))
    gd = train(net, params, ds.X_train, ds.y_train, optimizer=GD(lr=0.001),
               stop=(Budget(max_steps=10_000, max_time=T),))
    assert flow.time == pytest.approx(T, rel=0.1)
    assert gd.time == pytest.approx(T, rel=1e-9)
    # Compare at the flow's final time by interpolating the GD record grid.
    f_gd = np.array([np.interp(flow.time, gd.trajectory.time, gd.trajectory.f_train[:, i])
                     for i in range(20)])
    f_flow = flow.trajectory.f_train[-1]
    assert np.linalg.norm(f_flow - f_gd) < 0.02 * np.linalg.norm(f_gd)
    assert flow.accepted < gd.steps  # the adaptive step grew


def test_large_alpha_is_lazy_and_has_the_same_function_space_time(easy):
    ds, net, params = easy
    out = {}
    for alpha in (1.0, 10.0, 100.0):
        res = train(net, params, ds.X_train, ds.y_train, alpha=alpha, loss="mse",
                    optimizer=GD(0.5), stop=(Budget(max_steps=40),), kernel_times=())
        out[alpha] = res.trajectory
    # The kernel moves like 1/α; the outputs at equal time converge as α grows.
    k = {a: t.kernel_change[-1] for a, t in out.items()}
    assert k[10.0] < 0.2 * k[1.0] and k[100.0] < 0.2 * k[10.0]
    w = {a: t.weight_change[-1] for a, t in out.items()}
    assert w[100.0] == pytest.approx(w[10.0] / 10, rel=0.1)
    d_small = np.linalg.norm(out[1.0].f_train[-1] - out[100.0].f_train[-1])
    d_large = np.linalg.norm(out[10.0].f_train[-1] - out[100.0].f_train[-1])
    assert d_large < 0.2 * d_small
    assert np.linalg.norm(out[100.0].f_train[-1]) > 0.5  # it did move


def test_function_space_consistency_error_is_first_order_in_eta():
    ds = load_dataset("sphere", n_train=30, d=5, seed=0, radius="sqrt_d")
    net = mlp(5, [50, 50], activation="erf", sigma_w=1.5)
    params = init_params(net, 1)
    etas = np.array([0.05, 0.1, 0.2])
    errors = np.array([
        check_function_space(net, params, ds.X_train, ds.y_train, lr=eta, n_steps=3).mean
        for eta in etas
    ])
    slope = np.polyfit(np.log(etas), np.log(errors), 1)[0]
    assert 0.9 <= slope <= 1.1, (slope, errors)
    assert errors[0] < 1e-2
    # With the hinge-type loss and a ReLU net the error is still small for small η.
    relu = mlp(5, [200])
    check = check_function_space(relu, init_params(relu, 0), ds.X_train, ds.y_train, lr=0.01,
                                 loss="quadratic_hinge", n_steps=2)
    assert check.relative_error.max() < 1e-2


def test_save_and_load_roundtrip(easy, tmp_path):
    ds, net, params = easy
    res = train(net, params, ds.X_train, ds.y_train, optimizer=GD(1.0),
                stop=(SATReached(), Budget(max_steps=2000)))
    path = save_trajectory(res, tmp_path / "run.npz")
    traj, meta = load_trajectory(path)
    np.testing.assert_array_equal(traj.f_train, res.trajectory.f_train)
    np.testing.assert_array_equal(traj.kernels, res.trajectory.kernels)
    assert meta["status"] == "sat" and meta["config"]["widths"] == [128]


def test_stopping_rules_and_history():
    hist = LossHistory(keep_steps=3, keep_time=0.0)
    for i in range(500):
        hist.append(float(i), 1.0 / (i + 1))
    assert hist.steps_back(3) == pytest.approx(1 / 497)
    assert hist.at_or_before(496.5) == pytest.approx(1 / 497)
    assert hist.at_or_before(-1.0) is None
    assert len(hist) < 100  # trimmed
    from ntkjam.networks.training import TrainState

    flat = LossHistory(keep_steps=10, keep_time=5.0)
    for i in range(20):
        flat.append(0.1 * i, 0.3)
    state = TrainState(step=20, time=1.9, loss=0.3, n_unsat=4, history=flat)
    assert UNSATConverged(window=10).check(state).startswith("UNSAT")
    assert UNSATConverged(window=30).check(state) is None
    assert UNSATConverged(time_window=1.0).check(state).startswith("UNSAT")
    assert SATReached().check(state) is None
    assert Budget(max_steps=20).check(state).startswith("budget")
    assert Budget(max_steps=100, max_time=1.5).check(state).startswith("budget")


def test_bad_training_input(easy):
    ds, net, params = easy
    X, y = ds.X_train, ds.y_train
    with pytest.raises(ValueError, match="alpha must be > 0"):
        train(net, params, X, y, alpha=0.0)
    with pytest.raises(ValueError, match="alpha must be > 0"):
        check_function_space(net, params, X, y, lr=0.1, alpha=-1.0)
    with pytest.raises(ValueError, match="must include a Budget"):
        train(net, params, X, y, stop=(SATReached(),))
    with pytest.raises(ValueError, match="loss must be one of"):
        train(net, params, X, y, loss="cross_entropy")
    with pytest.raises(ValueError, match="input dimension d = 20"):
        train(net, params, X[:, :5], y)
    with pytest.raises(ValueError, match="y must have length 20"):
        train(net, params, X, y[:5])
    with pytest.raises(ValueError, match="y must contain only -1 and \\+1"):
        train(net, params, X, 0.5 * y)
    with pytest.raises(ValueError, match="lr must be > 0"):
        GD(lr=0.0)
    with pytest.raises(ValueError, match="shrink must be in"):
        GradientFlow(shrink=1.5)
    with pytest.raises(TypeError, match="optimizer must be"):
        train(net, params, X, y, optimizer="sgd")
    with pytest.raises(ValueError, match="kernel_times must be"):
        train(net, params, X, y, kernel_times="always")


def test_flow_budget_spent_on_rejected_steps(easy):
    ds, net, params = easy
    # A huge first step is rejected (and halved) until the iteration budget runs out.
    res = train(net, params, ds.X_train, ds.y_train, optimizer=GradientFlow(dt=1e6),
                stop=(Budget(max_steps=5),))
    assert res.status == "budget" and res.accepted == 0 and res.time == 0.0
    assert res.trajectory.time.tolist() == [0.0]
    assert res.trajectory.kernel_time.tolist() == [0.0]
    more = train(net, params, ds.X_train, ds.y_train, optimizer=GradientFlow(dt=1e6),
                 stop=(Budget(max_steps=60),))
    assert more.accepted > 0 and np.all(np.diff(more.trajectory.time) > 0)
    assert more.trajectory.kernel_time[-1] == more.time


@pytest.mark.parametrize("loss", ["hinge", "logistic", "mse"])
def test_other_losses_reach_sat(easy, loss):
    ds, net, params = easy
    res = train(net, params, ds.X_train, ds.y_train, loss=loss, optimizer=GD(1.0),
                stop=(SATReached(), Budget(max_steps=3000)))
    assert res.status == "sat", res.message
    assert np.all(ds.y_train * res.trajectory.f_train[-1] >= 1.0 - 1e-9)
    if loss == "hinge":
        assert res.trajectory.loss[-1] == 0.0  # the linear hinge reaches SAT in finite time


# ------------------------------------------------------------ one loop, pure optimizers
def test_gd_steps_match_a_hand_written_reference(easy):
    """k steps of ``train`` with GD — compiled and host loops — are θ ← θ − lr ∇_θ L with
    L written out here and differentiated by jax.grad (independent of ntkjam.losses)."""
    import jax
    import jax.numpy as jnp

    from ntkjam.networks import flatten_params
    from ntkjam.networks.mlp import apply_fn

    ds, net, params = easy
    X, y = jnp.asarray(ds.X_train), jnp.asarray(ds.y_train)
    alpha, lr, k = 2.0, 0.7, 25
    f0 = apply_fn(net, params, X)

    def objective(p):
        F = alpha * (apply_fn(net, p, X) - f0)
        return jnp.mean(0.5 * jnp.maximum(0.0, 1.0 - y * F) ** 2) / alpha**2

    grad = jax.jit(jax.grad(objective))
    p = params
    for _ in range(k):
        p = jax.tree_util.tree_map(lambda a, g: a - lr * g, p, grad(p))
    for compiled in (True, False):
        res = train(net, params, ds.X_train, ds.y_train, alpha=alpha, optimizer=GD(lr),
                    stop=(Budget(max_steps=k),), compiled=compiled)
        assert res.steps == k and res.status == "budget" and res.time == k * lr
        np.testing.assert_allclose(flatten_params(res.params), flatten_params(p), rtol=0,
                                   atol=1e-12)


@pytest.mark.parametrize("opt", [GD(0.8), Adam(1e-2)])
def test_compiled_and_host_loops_take_the_same_steps(easy, opt):
    ds, net, params = easy
    stop = (SATReached(), UNSATConverged(window=20, rtol=1e-3), Budget(max_steps=120))
    runs = [train(net, params, ds.X_train, ds.y_train, X_test=ds.X_test, optimizer=opt,
                  stop=stop, compiled=c) for c in (True, False)]
    a, b = runs
    assert (a.status, a.message, a.steps, a.time) == (b.status, b.message, b.steps, b.time)
    np.testing.assert_array_equal(a.trajectory.time, b.trajectory.time)
    np.testing.assert_allclose(a.trajectory.f_train, b.trajectory.f_train, rtol=0, atol=1e-12)
    np.testing.assert_allclose(a.trajectory.kernels, b.trajectory.kernels, rtol=0, atol=1e-12)


def test_pure_optimizers_are_jittable_pairs_with_explicit_state():
    import jax
    import jax.numpy as jnp

    from ntkjam.networks import adam, apply_updates, gd, momentum

    params = [(jnp.ones((2, 3)), None), (jnp.arange(3.0), jnp.zeros(3))]
    grads = jax.tree_util.tree_map(lambda x: 0.5 * jnp.ones_like(x), params)
    for opt in (gd(0.1), momentum(0.1, 0.9), adam(0.1)):
        state = opt.init(params)
        step = jax.jit(opt.update)
        u1, s1 = step(grads, state, params)
        u2, _ = step(grads, state, params)  # pure: same input, same output
        np.testing.assert_array_equal(u1[0][0], u2[0][0])
        new = apply_updates(params, u1)
        assert new[0][1] is None and float(opt.lr(s1)) == pytest.approx(0.1)
    # β = 0 is gradient descent; momentum accumulates with explicit state.
    u_gd, _ = gd(0.1).update(grads, gd(0.1).init(params), params)
    hb = momentum(0.1, 0.0)
    u_hb, _ = hb.update(grads, hb.init(params), params)
    np.testing.assert_array_equal(u_gd[1][0], u_hb[1][0])
    hb = momentum(0.1, 0.5)
    s = hb.init(params)
    u, s = hb.update(grads, s, params)
    u, s = hb.update(grads, s, params)
    np.testing.assert_allclose(u[1][0], -0.1 * 0.5 * (1 + 0.5))
    # One compilation serves every learning rate: update compares by value.
    assert gd(0.1) == gd(0.3) and gd(0.1) != momentum(0.1, 0.5)
    with pytest.raises(ValueError, match="beta must be in"):
        momentum(0.1, 1.0)


def test_unsat_rule_best_loss_and_old_status_spelling():
    from ntkjam.core.status import Status, as_status
    from ntkjam.networks.training import STATUSES, TrainState

    hist = LossHistory(keep_steps=2, keep_time=0.0)
    for L in (1.0, 0.9, 0.5, 0.9):  # an oscillating loss whose best still decreases
        hist.append(0.0, L)
    state = TrainState(step=3, time=3.0, loss=0.9, n_unsat=1, history=hist)
    assert UNSATConverged(window=2, rtol=1e-3).check(state).startswith("UNSAT")  # 0.9 → 0.9
    assert UNSATConverged(window=2, rtol=1e-3, best=True).check(state) is None  # 0.9 → 0.5
    hist.append(0.0, 0.7)
    hist.append(0.0, 0.6)  # best 0.5 two steps ago and now
    state = TrainState(step=5, time=5.0, loss=0.6, n_unsat=1, history=hist)
    assert UNSATConverged(window=2, rtol=1e-3, best=True).check(state).startswith("UNSAT: best")
    assert as_status("max_steps") is Status.BUDGET and Budget().status == "budget"
    assert set(STATUSES) == {"sat", "unsat", "budget", "nan"}
