"""Analytic infinite-width kernels: closed forms, quadrature agreement, properties, errors."""

import math

import numpy as np
import pytest

from ntkjam.kernels import (
    Activation,
    Quadrature,
    get_activation,
    nngp,
    nngp_and_ntk,
    ntk,
    polynomial,
    rbf,
)


def _points(n=9, d=6, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    # Stress the near-diagonal: a near-duplicate and a near-antipode.
    X[3] = X[2] + 1e-7 * rng.standard_normal(d)
    X[4] = -X[1] + 1e-7 * rng.standard_normal(d)
    return X


@pytest.mark.parametrize("depth", [0, 1, 2, 3, 7])
@pytest.mark.parametrize("sigma_b", [0.0, 0.1, 0.7])
def test_relu_diagonal_closed_form(depth, sigma_b):
    X = _points()
    q0 = np.sum(X * X, axis=1) / X.shape[1]
    K_nngp, K_ntk = nngp_and_ntk(X, depth=depth, sigma_w=math.sqrt(2.0), sigma_b=sigma_b)
    L = depth
    want_nngp = 2 * q0 + (L + 1) * sigma_b**2
    want_ntk = 2 * q0 * (L + 1) + sigma_b**2 * (L + 1) * (L + 2) / 2
    assert np.max(np.abs(np.diag(K_nngp) / want_nngp - 1)) < 1e-12
    assert np.max(np.abs(np.diag(K_ntk) / want_ntk - 1)) < 1e-12


def test_relu_one_layer_closed_form_off_diagonal():
    # One hidden layer, no bias, σ_w² = 2, unit-norm inputs of d = 1 scale:
    # Θ = 2 x·x'/d · (π − θ)/(2π) · ... built by hand from the arc-cosine formulas.
    rng = np.random.default_rng(3)
    d = 5
    X = rng.standard_normal((6, d))
    K0, K = nngp_and_ntk(X, depth=1, sigma_w=math.sqrt(2.0), sigma_b=0.0)
    n = np.linalg.norm(X, axis=1)
    cos = np.clip((X @ X.T) / np.outer(n, n), -1, 1)
    theta = np.arccos(cos)
    sig1 = 2 * (X @ X.T) / d
    root = 2 * np.outer(n, n) / d
    want_nngp = 2 * root / (2 * np.pi) * (np.sin(theta) + (np.pi - theta) * cos)
    want_ntk = want_nngp + 2 * (np.pi - theta) / (2 * np.pi) * sig1
    off = ~np.eye(6, dtype=bool)
    assert np.allclose(K0[off], want_nngp[off], rtol=1e-12, atol=1e-14)
    assert np.allclose(K[off], want_ntk[off], rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("activation", ["relu", "erf", "identity"])
@pytest.mark.parametrize(("sigma_w", "sigma_b"), [(1.0, 0.0), (1.3, 0.2), (math.sqrt(2), 0.5)])
def test_closed_form_matches_quadrature(activation, sigma_w, sigma_b):
    X = _points(n=7)
    K0, K = nngp_and_ntk(X, depth=3, activation=activation, sigma_w=sigma_w, sigma_b=sigma_b)
    Q0, Q = nngp_and_ntk(
        X, depth=3, activation=activation, sigma_w=sigma_w, sigma_b=sigma_b, method="quadrature"
    )
    assert np.max(np.abs(Q - K)) <= 1e-10 * np.max(np.abs(K))
    assert np.max(np.abs(Q0 - K0)) <= 1e-10 * np.max(np.abs(K0))


def test_quadrature_converges_for_smooth_activation():
    X = _points(n=5)
    coarse = ntk(X, depth=2, activation="tanh", quadrature=Quadrature(n_angle=8, n_radial=32))
    fine = ntk(X, depth=2, activation="tanh", quadrature=Quadrature(n_angle=24, n_radial=64))
    default = ntk(X, depth=2, activation="tanh")
    assert np.max(np.abs(default - fine)) < 1e-10 * np.max(fine)
    assert np.max(np.abs(coarse - fine)) > np.max(np.abs(default - fine))


def test_user_activation_equals_builtin():
    X = _points(n=5)
    tanh = get_activation("tanh")
    mine = Activation("my_tanh", tanh.fn, tanh.derivative)
    assert np.allclose(ntk(X, depth=2, activation=mine), ntk(X, depth=2, activation="tanh"),
                       rtol=0, atol=1e-14)


def test_identity_network_is_linear_kernel():
    # With φ = identity every layer is linear: Σ^{l+1} = σ_w² Σ^l + σ_b².
    X = _points()
    d = X.shape[1]
    sw2, sb2 = 1.7, 0.3
    lin = sw2 * (X @ X.T) / d + sb2
    sig2 = sw2 * lin + sb2
    want_ntk = sig2 + sw2 * lin
    got = ntk(X, depth=1, activation="identity", sigma_w=math.sqrt(sw2), sigma_b=math.sqrt(sb2))
    assert np.allclose(got, want_ntk, rtol=1e-13, atol=1e-15)


def test_depth_zero_is_linear_model():
    X = _points()
    d = X.shape[1]
    K0, K = nngp_and_ntk(X, depth=0, sigma_w=0.9, sigma_b=0.4)
    want = 0.81 * X @ X.T / d + 0.16
    assert np.allclose(K, want, rtol=1e-14, atol=1e-15)
    assert np.array_equal(K0, K)


@pytest.mark.parametrize("activation", ["relu", "erf", "gelu"])
def test_symmetry_and_psd(activation):
    X = np.random.default_rng(1).standard_normal((40, 4))
    K = ntk(X, depth=2, activation=activation, sigma_b=0.1)
    assert np.array_equal(K, K.T)
    assert np.linalg.eigvalsh(K).min() > -1e-12 * np.linalg.eigvalsh(K).max()


def test_cross_kernel_consistent_with_symmetric_call():
    rng = np.random.default_rng(2)
    X = rng.standard_normal((700, 5))  # several blocks, a ragged last one
    full = ntk(X, depth=3, sigma_b=0.2)
    cross = ntk(X[:300], X, depth=3, sigma_b=0.2)
    assert np.allclose(cross, full[:300], rtol=1e-13, atol=1e-15)


def test_duplicate_points_are_exact_off_the_diagonal():
    rng = np.random.default_rng(4)
    x = rng.standard_normal((1, 8))
    X = np.vstack([x, x, rng.standard_normal((3, 8))])
    K0, K = nngp_and_ntk(X, depth=4, sigma_b=0.3)
    assert K[0, 1] == K[0, 0] == K[1, 1]
    assert K0[0, 1] == K0[0, 0]


def test_inputs_not_mutated_and_results_deterministic():
    X = _points()
    copy = X.copy()
    a = ntk(X, depth=2)
    b = ntk(X, depth=2)
    assert np.array_equal(X, copy)
    assert np.array_equal(a, b)


def test_rbf_and_polynomial():
    X = _points()
    d2 = ((X[:, None, :] - X[None, :, :]) ** 2).sum(-1)
    assert np.allclose(rbf(X, lengthscale=1.5), np.exp(-d2 / (2 * 1.5**2)), rtol=1e-12)
    assert np.all(np.diag(rbf(X)) == 1.0)
    P = polynomial(X, degree=3, coef0=0.5, scale=0.2)
    assert np.allclose(P, (0.2 * X @ X.T + 0.5) ** 3, rtol=1e-13)
    Y = X[:4] + 1.0
    assert np.allclose(polynomial(X, Y, degree=2), (X @ Y.T + 1.0) ** 2, rtol=1e-13)


@pytest.mark.parametrize("activation", ["relu", "tanh"])
def test_single_kernels_equal_the_pair(activation):
    X = _points(n=6)
    both = nngp_and_ntk(X, X[:4], depth=2, activation=activation)
    assert np.array_equal(nngp(X, X[:4], depth=2, activation=activation), both[0])
    assert np.array_equal(ntk(X, X[:4], depth=2, activation=activation), both[1])
    assert np.array_equal(ntk(X, depth=2, activation=activation), nngp_and_ntk(
        X, depth=2, activation=activation)[1])


@pytest.mark.parametrize(
    ("kwargs", "exc", "fragment"),
    [
        ({"depth": -1}, ValueError, "depth must be >= 0"),
        ({"depth": 1.5}, TypeError, "depth must be an integer"),
        ({"sigma_w": 0.0}, ValueError, "sigma_w must be > 0"),
        ({"sigma_b": -0.1}, ValueError, "sigma_b must be >= 0"),
        ({"activation": "swish"}, ValueError, "activation must be one of"),
        ({"activation": 3}, TypeError, "activation must be one of"),
        ({"method": "exact"}, ValueError, "method must be one of"),
        ({"activation": "tanh", "method": "closed_form"}, ValueError, "closed_form"),
    ],
)
def test_bad_hyperparameters(kwargs, exc, fragment):
    with pytest.raises(exc, match=fragment):
        ntk(np.ones((2, 3)), **kwargs)


def test_bad_inputs():
    with pytest.raises(ValueError, match="X1 must have 2 dimension"):
        ntk(np.ones(3))
    with pytest.raises(ValueError, match="X1 must be finite"):
        ntk(np.array([[1.0, np.nan]]))
    with pytest.raises(ValueError, match="X2 must have input dimension d = 2"):
        ntk(np.ones((2, 2)), np.ones((2, 3)))
    with pytest.raises(ValueError, match="N >= 1"):
        ntk(np.ones((0, 3)))
    with pytest.raises(ValueError, match="lengthscale must be > 0"):
        rbf(np.ones((2, 2)), lengthscale=0)
    with pytest.raises(ValueError, match="degree must be >= 0"):
        polynomial(np.ones((2, 2)), degree=-2)


def test_against_neural_tangents_reference_values():
    """Reference Grams from neural-tangents 0.6.5 (stax, float64), generated once offline.

    Cases: ReLU depth 3 (σ_w = √2, no bias), ReLU depth 2 (σ_w = 1.3, σ_b = 0.4),
    erf depth 3 (1.2, 0.3), erf depth 1 (0.9, no bias), on two independent input sets.
    """
    from pathlib import Path

    ref = np.load(Path(__file__).parent / "data" / "neural_tangents_reference.npz")
    for i in range(4):
        depth, sigma_w, sigma_b = ref[f"case{i}_params"]
        activation = str(ref[f"case{i}_activation"])
        K0, K = nngp_and_ntk(
            ref["X1"], ref["X2"], depth=int(depth), activation=activation,
            sigma_w=float(sigma_w), sigma_b=float(sigma_b),
        )
        for ours, theirs in ((K0, ref[f"case{i}_nngp"]), (K, ref[f"case{i}_ntk"])):
            assert np.max(np.abs(ours - theirs)) <= 1e-7 * np.max(np.abs(theirs))
