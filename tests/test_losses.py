"""Tests for ntkjam.losses: values, derivatives (against JAX autodiff), kink conventions."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import ntkjam  # noqa: F401  (enables float64 in JAX)
from ntkjam.losses import LOSS_NAMES, Loss, get_loss, margins, n_errors, n_unsatisfied


def _points(seed=0, n=50):
    rng = np.random.default_rng(seed)
    y = np.where(rng.random(n) < 0.5, -1.0, 1.0)
    f = 3.0 * rng.standard_normal(n)
    return f, y


@pytest.mark.parametrize("name", LOSS_NAMES)
@pytest.mark.parametrize("margin", [1.0, 0.0, -0.7])
def test_grad_and_hessian_match_autodiff(name, margin):
    loss = get_loss(name, margin=margin, beta=3.0)
    f, y = _points(1)
    # stay away from the kink, where autodiff picks an arbitrary one-sided value
    f = np.where(np.abs(margin - y * f) < 1e-3, f + 0.01, f)
    fj, yj = jnp.asarray(f), jnp.asarray(y)
    g_auto = jax.grad(lambda z: jnp.sum(loss.value(z, yj)))(fj)
    h_auto = jax.vmap(jax.grad(jax.grad(lambda z, t: loss.value(z, t))))(fj, yj)
    np.testing.assert_allclose(loss.grad(f, y), np.asarray(g_auto), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(loss.hessian(f, y), np.asarray(h_auto), rtol=1e-10, atol=1e-13)


def test_reference_values():
    y = np.array([1.0, -1.0, 1.0])
    f = np.array([0.25, 0.5, 2.0])  # Δ = 1 - y f = 0.75, 1.5, -1
    np.testing.assert_allclose(get_loss("hinge").value(f, y), [0.75, 1.5, 0.0])
    np.testing.assert_allclose(get_loss("quadratic_hinge").value(f, y),
                               [0.5 * 0.75**2, 0.5 * 1.5**2, 0.0])
    np.testing.assert_allclose(get_loss("mse").value(f, y), 0.5 * (f - y) ** 2)
    np.testing.assert_allclose(get_loss("logistic", margin=0.0).value(f, y),
                               np.log1p(np.exp(-y * f)), rtol=1e-14)
    np.testing.assert_allclose(get_loss("sigmoid", beta=2.0).value(f, y),
                               1 / (1 + np.exp(-2.0 * np.array([0.75, 1.5, -1.0]))))
    np.testing.assert_allclose(get_loss("quadratic_hinge").grad(f, y), [-0.75, 1.5, 0.0])
    np.testing.assert_allclose(get_loss("quadratic_hinge").hessian(f, y), [1.0, 1.0, 0.0])


def test_soft_hinge_limits():
    f, y = _points(2)
    np.testing.assert_allclose(get_loss("soft_hinge", beta=1.0).value(f, y),
                               get_loss("logistic").value(f, y), rtol=1e-14)
    beta = 200.0
    gap = get_loss("soft_hinge", beta=beta).value(f, y) - get_loss("hinge").value(f, y)
    assert np.all(gap >= -1e-14) and np.all(gap <= np.log(2) / beta + 1e-14)


def test_kink_conventions():
    y = np.array([1.0, -1.0])
    f = np.array([1.0, -1.0])  # Δ = 0 exactly
    hinge, qh = get_loss("hinge"), get_loss("quadratic_hinge")
    np.testing.assert_array_equal(hinge.grad(f, y), [0.0, 0.0])
    np.testing.assert_array_equal(hinge.hessian(f, y), [0.0, 0.0])
    np.testing.assert_array_equal(qh.grad(f, y), [0.0, 0.0])
    np.testing.assert_array_equal(qh.hessian(f, y), [0.0, 0.0])
    lo, hi = qh.hessian_bounds(f, y)
    np.testing.assert_array_equal(lo, [0.0, 0.0])
    np.testing.assert_array_equal(hi, [1.0, 1.0])
    lo, hi = qh.hessian_bounds(f + np.array([0.1, 0.0]), y, tol=1e-12)
    np.testing.assert_array_equal(hi, [0.0, 1.0])
    # just past the kink the gradient of the hinge is -y
    np.testing.assert_array_equal(hinge.grad(f - 1e-9 * y, y), -y)


def test_extreme_margins_are_finite():
    f = np.array([-1e4, 1e4, 0.0])
    y = np.ones(3)
    for name in LOSS_NAMES:
        loss = get_loss(name, beta=50.0)
        for out in (loss.value(f, y), loss.grad(f, y), loss.hessian(f, y)):
            assert np.all(np.isfinite(out)), name
    np.testing.assert_allclose(get_loss("logistic").value(f, y)[0], 1e4 + 1.0)


def test_numpy_in_numpy_out_and_jit():
    f, y = _points(3)
    loss = get_loss("quadratic_hinge", margin=0.5)
    assert isinstance(loss.value(f, y), np.ndarray)
    jitted = jax.jit(lambda z: loss.mean(z, jnp.asarray(y)))
    np.testing.assert_allclose(float(jitted(jnp.asarray(f))), np.mean(loss.value(f, y)))
    static = jax.jit(lambda ls, z: ls.grad(z, jnp.asarray(y)), static_argnums=0)
    np.testing.assert_allclose(np.asarray(static(loss, jnp.asarray(f))), loss.grad(f, y))
    assert hash(loss) == hash(get_loss("quadratic_hinge", margin=0.5))


def test_convexity_flags_and_sigmoid_curvature():
    assert all(get_loss(n).convex for n in LOSS_NAMES if n != "sigmoid")
    assert not get_loss("sigmoid").convex
    sig = get_loss("sigmoid", margin=0.0, beta=2.0)
    y = np.ones(2)
    h = sig.hessian(np.array([-1.0, 1.0]), y)  # Δ = +1 (concave side), -1 (convex side)
    assert h[0] < 0 < h[1]
    assert get_loss("hinge").kinked and not get_loss("logistic").kinked


def test_margins_counts():
    y = np.array([1.0, 1.0, -1.0, -1.0, 1.0])
    f = np.array([2.0, 1.0 - 1e-12, 0.0, -3.0, 0.5])
    np.testing.assert_allclose(margins(f, y, 1.0), [-1.0, 1e-12, 1.0, -2.0, 0.5], atol=1e-15)
    assert n_unsatisfied(f, y, 1.0, 0.0) == 3
    assert n_unsatisfied(f, y, 1.0, 1e-9) == 2
    assert n_unsatisfied(f, y, -1.0, 0.0) == 0
    assert n_errors(f, y) == 1  # f = 0 counts as an error
    assert int(n_unsatisfied(jnp.asarray(f), jnp.asarray(y), 1.0, 0.0)) == 3


def test_bad_input():
    with pytest.raises(ValueError, match="loss must be one of"):
        get_loss("cross_entropy")
    with pytest.raises(ValueError, match="beta must be > 0"):
        get_loss("soft_hinge", beta=0.0)
    with pytest.raises(TypeError, match="margin must be a real number"):
        get_loss("hinge", margin="1")
    with pytest.raises(ValueError, match="must contain only -1 and \\+1"):
        get_loss("hinge").check_labels(np.array([1.0, 0.5]))
    with pytest.raises(ValueError, match="length 3"):
        get_loss("mse").check_labels(np.array([1.0, 0.5]), n=3)
    np.testing.assert_array_equal(get_loss("mse").check_labels([0.3, -2.0]), [0.3, -2.0])
    with pytest.raises(ValueError):
        Loss("nope")
    assert get_loss(get_loss("hinge")) == get_loss("hinge")
