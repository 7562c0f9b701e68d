"""MLP construction, parameterizations, parameter counts and input validation."""

from __future__ import annotations

import math

import jax.numpy as jnp
import numpy as np
import pytest

import ntkjam  # noqa: F401  (enables float64)
from ntkjam.networks import (
    MLP,
    apply,
    degrees_of_freedom,
    empirical_ntk,
    flatten_params,
    init_params,
    jacobian,
    mlp,
    param_count,
)
from ntkjam.networks.mlp import layer_multipliers


def _inputs(n, d, seed=0):
    return np.random.default_rng(seed).standard_normal((n, d))


def test_param_count_matches_layer_shapes_and_flattened_params():
    net = mlp(7, [5, 3], bias=True, sigma_b=0.1)
    expected = (7 * 5 + 5) + (5 * 3 + 3) + (3 * 1 + 1)
    assert param_count(net) == expected
    params = init_params(net, 0)
    assert flatten_params(params).size == expected
    assert [tuple(W.shape) for W, _ in params] == [(7, 5), (5, 3), (3, 1)]
    net_nb = mlp(7, [5, 3])
    assert param_count(net_nb) == 7 * 5 + 5 * 3 + 3
    assert all(b is None for _, b in init_params(net_nb, 0))


def test_widths_int_with_depth_and_sequence_forms_agree():
    assert mlp(3, 4, depth=3).widths == (4, 4, 4)
    assert mlp(3, [4, 4, 4]).widths == (4, 4, 4)
    assert mlp(3, 4).widths == (4,)
    assert mlp(3, []).depth == 0


def test_init_is_bit_reproducible_and_seed_dependent():
    net = mlp(4, [6, 6], bias=True, sigma_b=0.3)
    a, b, c = init_params(net, 5), init_params(net, 5), init_params(net, 6)
    assert np.array_equal(flatten_params(a), flatten_params(b))
    assert not np.array_equal(flatten_params(a), flatten_params(c))


def test_ntk_parameterization_entries_are_standard_normal():
    net = mlp(50, [400], bias=True, sigma_b=0.5)
    theta = flatten_params(init_params(net, 1))
    # Five standard errors: 1/√P for the mean, 1/√(2P) for the standard deviation.
    assert abs(theta.mean()) < 5 / math.sqrt(theta.size)
    assert abs(theta.std() - 1.0) < 5 / math.sqrt(2 * theta.size)


def test_standard_and_ntk_parameterizations_compute_the_same_function():
    # Rescaling NTK parameters to standard ones (W·σ_w/√n, b·σ_b) leaves f unchanged.
    kw = dict(activation="tanh", sigma_w=1.7, sigma_b=0.4, bias=True)
    ntk_net = mlp(5, [8, 6], **kw)
    std_net = mlp(5, [8, 6], parameterization="standard", **kw)
    params = init_params(ntk_net, 3)
    std_params = [
        (W * ntk_net.sigma_w / math.sqrt(n), b * ntk_net.sigma_b)
        for (W, b), n in zip(params, ntk_net.fan_ins, strict=True)
    ]
    X = _inputs(9, 5)
    np.testing.assert_allclose(apply(std_net, std_params, X), apply(ntk_net, params, X), rtol=1e-13)
    # ... and the same seed draws the same function in both parameterizations.
    np.testing.assert_allclose(
        apply(std_net, init_params(std_net, 3), X), apply(ntk_net, params, X), rtol=1e-13
    )
    # but not the same NTK: the gradients differ by the multipliers.
    assert not np.allclose(
        empirical_ntk(std_net, std_params, X), empirical_ntk(ntk_net, params, X)
    )


def test_layer_multipliers():
    net = mlp(4, [9], sigma_w=2.0, sigma_b=0.5, bias=True)
    assert layer_multipliers(net) == [(1.0, 0.5), (2.0 / 3.0, 0.5)]
    std = mlp(4, [9], parameterization="standard")
    assert layer_multipliers(std) == [(1.0, 1.0), (1.0, 1.0)]


def test_depth_zero_empirical_ntk_is_the_linear_kernel_exactly():
    # With no hidden layer, K = σ_w² X Xᵀ / d + σ_b² at any width and any seed.
    net = mlp(6, [], sigma_w=1.3, sigma_b=0.7, bias=True)
    X = _inputs(10, 6)
    K = empirical_ntk(net, init_params(net, 0), X)
    np.testing.assert_allclose(K, 1.3**2 * X @ X.T / 6 + 0.7**2, rtol=1e-13)


def test_forward_matches_a_handwritten_two_layer_relu_net():
    net = mlp(3, [4], sigma_w=1.5, sigma_b=0.2, bias=True)
    (W0, b0), (W1, b1) = init_params(net, 2)
    X = _inputs(5, 3)
    h = np.maximum(1.5 * X @ np.asarray(W0) / math.sqrt(3) + 0.2 * np.asarray(b0), 0.0)
    f = 1.5 * h @ np.asarray(W1) / 2.0 + 0.2 * np.asarray(b1)
    np.testing.assert_allclose(apply(net, init_params(net, 2), X), f[:, 0], rtol=1e-13)


def test_degrees_of_freedom_conventions():
    net = mlp(5, [7, 3])
    P = param_count(net)
    assert degrees_of_freedom(net, "weights") == P
    assert degrees_of_freedom(net, "weights_minus_neurons") == P - 10
    params = init_params(net, 0)
    X = _inputs(3 * P, 5)
    rank = degrees_of_freedom(net, "jacobian_rank", params=params, X=X)
    assert rank == np.linalg.matrix_rank(jacobian(net, params, X))
    assert rank <= P - 10
    with pytest.raises(ValueError, match="needs params and X"):
        degrees_of_freedom(net, "jacobian_rank")


# ---------------------------------------------------------------------------
# bad input


def test_bad_architecture_is_rejected_with_clear_messages():
    with pytest.raises(ValueError, match=r"widths\[1\] must be >= 1, got 0"):
        mlp(3, [4, 0])
    with pytest.raises(ValueError, match="input_dim must be >= 1"):
        mlp(0, [4])
    with pytest.raises(ValueError, match="activation must be one of"):
        mlp(3, [4], activation="swishy")
    with pytest.raises(ValueError, match="parameterization must be one of"):
        mlp(3, [4], parameterization="mup")
    with pytest.raises(ValueError, match="sigma_w must be > 0"):
        mlp(3, [4], sigma_w=0.0)
    with pytest.raises(ValueError, match="sigma_b must be > 0 when bias=True"):
        mlp(3, [4], bias=True)
    with pytest.raises(ValueError, match="sigma_b must be 0 when bias=False"):
        mlp(3, [4], sigma_b=0.1)
    with pytest.raises(ValueError, match="depth must equal len"):
        mlp(3, [4, 4], depth=3)
    with pytest.raises(TypeError, match="widths must be"):
        mlp(3, "wide")
    with pytest.raises(TypeError, match="activation must be an Activation"):
        MLP(3, (4,), "relu")


def test_bad_convention_and_inputs_are_rejected():
    net = mlp(3, [4])
    params = init_params(net, 0)
    with pytest.raises(ValueError, match="convention must be one of"):
        degrees_of_freedom(net, "neurons")
    with pytest.raises(ValueError, match="input dimension d = 3"):
        apply(net, params, np.zeros((5, 4)))
    with pytest.raises(ValueError, match="input dimension d = 3"):
        empirical_ntk(net, params, np.zeros((5, 3)), np.zeros((2, 4)))
    with pytest.raises(ValueError, match="must have 2 dimension"):
        apply(net, params, np.zeros(3))
    with pytest.raises(ValueError, match="must be finite"):
        apply(net, params, np.full((2, 3), np.nan))
    with pytest.raises(ValueError, match=r"params\[0\] W must have shape \(3, 4\)"):
        apply(net, init_params(mlp(5, [4]), 0), np.zeros((2, 3)))
    with pytest.raises(ValueError, match="params must be a list of 2"):
        apply(net, params[:1], np.zeros((2, 3)))
    with pytest.raises(TypeError, match="net must be an ntkjam.networks.MLP"):
        param_count("mlp")
    with pytest.raises(ValueError, match="seed must be >= 0"):
        init_params(net, -1)


def test_apply_accepts_jax_arrays():
    net = mlp(3, [4])
    params = init_params(net, 0)
    X = _inputs(4, 3)
    np.testing.assert_array_equal(apply(net, params, jnp.asarray(X)), apply(net, params, X))
