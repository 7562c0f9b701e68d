"""The compiled training loop: every step against a plain-Python loop of the same update.

``ntkjam.networks.train`` runs the steps between two records inside one
``lax.while_loop`` (:mod:`ntkjam.networks.loop`).  Here each recorded iterate of that
loop is compared with a reference written out in the test: a Python ``for`` loop of the
optimizer's own pure ``init``/``update`` pair on ``jax.grad`` of the loss (not the loop's
pullback of ``ntkjam.losses``), one step at a time.  Every step is recorded
(``records_per_decade`` high enough that consecutive steps are on the record grid).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import ntkjam  # noqa: F401  (float64)
from ntkjam.data import random_labels, sphere
from ntkjam.networks import (
    GD,
    Adam,
    Budget,
    SATReached,
    UNSATConverged,
    adam,
    apply_updates,
    empirical_ntk,
    gd,
    init_params,
    mlp,
    momentum,
    train,
)
from ntkjam.networks import loop as loop_module
from ntkjam.networks.mlp import apply_fn
from ntkjam.networks.optimizers import tracked_step

K_STEPS = 30
ALPHA = 3.0


@pytest.fixture(scope="module")
def small():
    """N = 12 points on S^4, one hidden ReLU layer of width 8 (P = 48), ±1 labels."""
    net = mlp(5, [8])
    return net, init_params(net, 0), sphere(12, 5, seed=3), random_labels(12, seed=4)


def _reference(net, params, X, y, opt, steps):
    """The outputs F_k = α (f_{θ_k} − f_{θ_0}) of ``steps`` steps, one Python step each."""
    X, y = jnp.asarray(X), jnp.asarray(y)
    f0 = apply_fn(net, params, X)

    def outputs(p):
        return ALPHA * (apply_fn(net, p, X) - f0)

    def objective(p):  # the quadratic hinge written out, κ = 1
        return jnp.mean(0.5 * jnp.maximum(0.0, 1.0 - y * outputs(p)) ** 2) / ALPHA**2

    grad = jax.jit(jax.grad(objective))
    update = jax.jit(opt.update)
    state, p, F = opt.init(params), params, [outputs(params)]
    for _ in range(steps):
        u, state = update(grad(p), state, p)
        p = apply_updates(p, u)
        F.append(outputs(p))
    return np.array(F), p


def _tracked(net, params, X):
    evals, evecs = np.linalg.eigh(empirical_ntk(net, params, X))
    return tracked_step(0.8, net, X, evecs[:, -1], float(evals[-1]))


OPTIMIZERS = {
    "gd": lambda *a: gd(0.7),
    "momentum": lambda *a: momentum(0.3, 0.9),
    "adam": lambda *a: adam(0.02),
    "tracked-gd": lambda net, params, X: gd(_tracked(net, params, X)),
}


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_every_compiled_step_is_the_reference_step(small, name):
    net, params, X, y = small
    opt = OPTIMIZERS[name](net, params, X)
    res = train(net, params, X, y, alpha=ALPHA, optimizer=opt, stop=(Budget(K_STEPS),),
                records_per_decade=10_000, kernel_times=[], compiled=True)
    traj = res.trajectory
    np.testing.assert_array_equal(traj.step, np.arange(K_STEPS + 1))  # every step recorded
    F_ref, p_ref = _reference(net, params, X, y, opt, K_STEPS)
    scale = np.max(np.abs(F_ref), axis=1, keepdims=True)
    scale[0] = 1.0  # F_0 = 0 exactly (centered)
    rel = np.max(np.abs(traj.f_train - F_ref) / scale)
    assert rel < 1e-12, rel
    for (W, _), (W_ref, _) in zip(res.params, p_ref, strict=True):
        np.testing.assert_allclose(W, W_ref, rtol=1e-12, atol=1e-14)
    if opt.fixed_lr is not None:  # a constant step: t = lr · steps exactly
        np.testing.assert_array_equal(traj.time, opt.fixed_lr * np.arange(K_STEPS + 1))
    else:  # the tracked step: t = Σ lr_k, each within the stability limit's fraction
        dt = np.diff(traj.time)
        assert np.all(dt > 0) and dt[0] == pytest.approx(opt.first_lr, rel=1e-12)


@pytest.mark.parametrize(("opt", "status"), [(GD(0.9), "unsat"), (Adam(0.05), "sat")])
def test_compiled_and_host_loops_stop_at_the_same_step_with_the_same_words(small, opt,
                                                                           status):
    """UNSAT on a ring of 6 steps (device) and a loss history (host), or SAT: same step."""
    net, params, X, y = small
    stop = (SATReached(), UNSATConverged(window=6, rtol=0.1), Budget(max_steps=100))
    a, b = (train(net, params, X, y, alpha=ALPHA, optimizer=opt, stop=stop,
                  records_per_decade=10_000, kernel_times=[], compiled=c)
            for c in (True, False))
    assert (a.status, a.message, a.steps, a.time) == (b.status, b.message, b.steps, b.time)
    assert a.status == status and a.steps < 100
    np.testing.assert_allclose(a.trajectory.f_train, b.trajectory.f_train, rtol=0,
                               atol=1e-12 * np.max(np.abs(b.trajectory.f_train)))
    if status == "unsat":  # the rule holds at the last step and at no step before
        L = a.trajectory.loss / ALPHA**2
        fired = [(L[k - 6] - L[k] <= 0.1 * L[k]) for k in range(6, a.steps + 1)]
        assert fired[-1] and not any(fired[:-1])
    else:  # SAT at the first step with N_Δ = 0
        n_unsat = a.trajectory.n_unsat
        assert n_unsat[-1] == 0 and np.all(n_unsat[:-1] > 0)


def test_one_compilation_serves_other_data_steps_and_scales(small):
    """Same shapes, other learning rate, α, labels and inputs: no new compilation."""
    net, params, X, y = small
    kw = dict(stop=(SATReached(), UNSATConverged(window=50), Budget(max_steps=60)),
              kernel_times=[], compiled=True)
    train(net, params, X, y, optimizer=GD(0.5), **kw)
    sizes = loop_module._advance._cache_size(), loop_module._start._cache_size()
    for lr, alpha, seed in [(0.2, 1.0, 5), (0.9, 10.0, 6)]:
        X2, y2 = sphere(12, 5, seed=seed), random_labels(12, seed=seed + 1)
        res = train(net, init_params(net, seed), X2, y2, alpha=alpha, optimizer=GD(lr), **kw)
        assert res.time == pytest.approx(lr * res.steps)
    assert (loop_module._advance._cache_size(), loop_module._start._cache_size()) == sizes
