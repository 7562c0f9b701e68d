"""The structured pullback of the training loop against ``jax.vjp``, and its laws.

:func:`ntkjam.networks.backprop.output_and_pullback` replaces autodiff in the compiled
loop for speed only, so it must give autodiff's gradient for every architecture the
package builds: activations, depths 0–3, with and without biases, both
parameterizations, with ``Xᵀ`` given or not.  Its other properties: linear in the
cotangent, blind to the order of the samples (rows of X with their cotangents), and the
backward signals are those of the structured empirical NTK.
"""

from __future__ import annotations

import jax
import numpy as np
import pytest

import ntkjam  # noqa: F401  (float64)
from ntkjam.losses import get_loss
from ntkjam.networks import init_params, mlp
from ntkjam.networks.backprop import output_and_pullback, signals
from ntkjam.networks.empirical_ntk import backward_signals, empirical_ntk
from ntkjam.networks.loop import objective
from ntkjam.networks.mlp import apply_fn, forward

ACTIVATIONS = ("relu", "erf", "tanh", "gelu", "softplus", "identity")


def _data(n=7, d=4, seed=1):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, d)), rng.standard_normal(n)


def _max_rel(a_tree, b_tree):
    pairs = zip(jax.tree_util.tree_leaves(a_tree), jax.tree_util.tree_leaves(b_tree),
                strict=True)
    return max(float(np.max(np.abs(np.asarray(a) - np.asarray(b)))
                     / max(float(np.max(np.abs(np.asarray(b)))), 1e-300)) for a, b in pairs)


@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("widths", [[], [6], [5, 3], [4, 6, 3]])
@pytest.mark.parametrize("bias,parameterization", [(False, "ntk"), (True, "ntk"),
                                                    (True, "standard")])
def test_pullback_is_the_vjp(activation, widths, bias, parameterization):
    net = mlp(4, widths, activation=activation, bias=bias,
              sigma_b=0.3 if bias else 0.0, parameterization=parameterization)
    params = init_params(net, seed=2)
    X, r = _data()
    f, pullback = output_and_pullback(net, params, X)
    f_ad, vjp = jax.vjp(lambda p: apply_fn(net, p, X), params)
    (g_ad,) = vjp(r)
    g = pullback(r)
    assert jax.tree_util.tree_structure(g) == jax.tree_util.tree_structure(params)
    np.testing.assert_allclose(f, f_ad, rtol=1e-13, atol=1e-14)
    assert _max_rel(g, g_ad) < 1e-12
    # Xᵀ given by the caller (as the loop does) changes nothing.
    _, pullback_t = output_and_pullback(net, params, X, np.asarray(X).T)
    assert _max_rel(pullback_t(r), g) == 0.0


def test_pullback_is_linear_in_the_cotangent():
    net = mlp(4, [6, 5], activation="erf", bias=True, sigma_b=0.2)
    params = init_params(net, seed=0)
    X, r1 = _data(seed=3)
    _, r2 = _data(seed=4)
    _, pullback = output_and_pullback(net, params, X)
    both = pullback(2.0 * r1 - 0.5 * r2)
    apart = jax.tree_util.tree_map(lambda a, b: 2.0 * a - 0.5 * b, pullback(r1), pullback(r2))
    assert _max_rel(both, apart) < 1e-13


def test_pullback_ignores_the_order_of_the_samples():
    net = mlp(4, [8], bias=True, sigma_b=0.1)
    params = init_params(net, seed=5)
    X, r = _data(n=11, seed=6)
    perm = np.random.default_rng(7).permutation(11)
    f, pullback = output_and_pullback(net, params, X)
    f_p, pullback_p = output_and_pullback(net, params, X[perm])
    np.testing.assert_allclose(f_p, np.asarray(f)[perm], rtol=1e-14, atol=1e-15)
    assert _max_rel(pullback_p(r[perm]), pullback(r)) < 1e-13


def test_signals_are_the_structured_ntk_factors():
    """The Gram of the weighted pullbacks is the empirical NTK: Σ_p ∂f_i ∂f_j."""
    net = mlp(3, [5, 4], activation="tanh", bias=True, sigma_b=0.4)
    params = init_params(net, seed=1)
    X, _ = _data(n=5, d=3, seed=2)
    _, preacts = forward(net, params, X)
    for ours, theirs in zip(signals(net, params, preacts), backward_signals(net, params, X)[1],
                            strict=True):
        np.testing.assert_array_equal(ours, theirs)
    _, pullback = output_and_pullback(net, params, X)
    rows = []
    for i in range(5):
        leaves = jax.tree_util.tree_leaves(pullback(np.eye(5)[i]))
        rows.append(np.concatenate([np.ravel(a) for a in leaves]))
    J = np.stack(rows)
    np.testing.assert_allclose(J @ J.T, empirical_ntk(net, params, X), rtol=1e-12)


def test_relu_kink_takes_the_activations_derivative():
    """A pre-activation exactly at the kink contributes φ'(0) = 0 (``Activation.derivative``);
    autodiff of max(z, 0) splits the tie and gives ½ of the signal."""
    net = mlp(2, [3], bias=True, sigma_b=0.5)
    (W1, b1), readout = init_params(net, seed=0)
    W1, b1 = W1.at[:, 0].set(np.array([0.0, 1.0])), b1.at[0].set(0.0)
    params = [(W1, b1), readout]
    X = np.array([[1.0, 0.0]])  # z_0 = c_w (1·0 + 0·1) + c_b·0 = 0 exactly
    _, pullback = output_and_pullback(net, params, X)
    (gW1, gb1), _ = pullback(np.ones(1))
    assert gW1[0, 0] == 0.0 and gb1[0] == 0.0
    (gW1_ad, _), _ = jax.vjp(lambda p: apply_fn(net, p, X), params)[1](np.ones(1))[0]
    assert gW1_ad[0, 0] != 0.0
    assert np.all(np.asarray(gW1[0, 1:]) != 0.0)  # the other units are away from the kink


def test_objective_gradient_is_the_gradient_of_its_loss():
    """The loop's ∇_θ L (pullback of ℓ'(F)/(N α²)) against jax.grad of L itself."""
    net = mlp(4, [7], activation="erf")
    params = init_params(net, seed=3)
    X, _ = _data(n=9, seed=8)
    y = np.sign(np.random.default_rng(9).standard_normal(9))
    f_ref = np.asarray(apply_fn(net, params, X)) * 0.5
    loss = get_loss("quadratic_hinge", margin=1.0)
    alpha = 2.5
    L, F, g = objective(net, loss, alpha, X, y, f_ref)(params)

    def L_of(p):
        return (loss.value(alpha * (apply_fn(net, p, X) - f_ref), y).mean()) / alpha**2

    np.testing.assert_allclose(L, L_of(params), rtol=1e-14)
    assert _max_rel(g, jax.grad(L_of)(params)) < 1e-12


def test_tracked_step_power_iteration_is_K_v():
    """The tracked step size's power iteration (Jᵀv by the structured pullback, then a jvp)
    gives K v of the empirical NTK, and λ̂ = |K v| on a unit v."""
    from ntkjam.networks.optimizers import tracked_step

    net = mlp(4, [9, 6], activation="erf")
    params = init_params(net, seed=4)
    X, _ = _data(n=8, seed=10)
    v = np.random.default_rng(11).standard_normal(8)
    v /= np.linalg.norm(v)
    step = tracked_step(0.7, net, X, v, 1.0)
    lr, (v_next, _, _) = jax.jit(step.next)(params, step.state)
    Kv = empirical_ntk(net, params, X) @ v
    np.testing.assert_allclose(float(lr), 0.7 * 8 / np.linalg.norm(Kv), rtol=1e-12)
    np.testing.assert_allclose(v_next, Kv / np.linalg.norm(Kv), rtol=1e-11, atol=1e-14)
