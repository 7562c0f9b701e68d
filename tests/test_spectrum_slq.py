"""Stochastic Lanczos quadrature: products only, probes as a block, robust zero modes."""

import numpy as np
import pytest

from ntkjam.data import sphere
from ntkjam.kernels import analytic
from ntkjam.kernels.features import random_relu_features
from ntkjam.spectrum.compare import ks_distance, snap_zeros
from ntkjam.spectrum.measured import feature_eigenvalues, gram_eigenvalues
from ntkjam.spectrum.slq import (
    GramOperator,
    dense_operator,
    feature_operator,
    jax_kernel_operator,
    kernel_operator,
    slq,
)


def test_kernel_operator_equals_dense_product():
    X = sphere(57, 4, seed=0)
    V = np.random.default_rng(1).standard_normal((57, 3))
    K = analytic.ntk(X, depth=2)
    for block in (7, 57, 100):
        op = kernel_operator(analytic.ntk, X, block_size=block, depth=2)
        np.testing.assert_allclose(op.matmat(V), K @ V, atol=1e-12 * np.abs(K).max())


def test_feature_operator_never_needs_the_gram():
    J = np.random.default_rng(0).standard_normal((30, 5))
    V = np.random.default_rng(1).standard_normal((30, 2))
    np.testing.assert_allclose(feature_operator(J, scale=0.2).matmat(V), 0.2 * J @ J.T @ V)


def test_quadrature_is_exact_for_low_degree_polynomials():
    # Block Gauss quadrature with m steps integrates degree <= 2m - 1 exactly: the
    # estimate of (1/N) tr K^j equals the Hutchinson average over the same probes.
    rng = np.random.default_rng(0)
    J = rng.standard_normal((200, 120))
    K = J @ J.T / 120
    n_probes, seed = 4, 3
    result = slq(K, n_probes=n_probes, n_steps=6, seed=seed)
    V = np.random.default_rng(seed).choice([-1.0, 1.0], size=(200, n_probes)) / np.sqrt(200)
    for j in (1, 2, 5):
        hutch = np.trace(V.T @ np.linalg.matrix_power(K, j) @ V) / n_probes
        assert result.trace(lambda x, j=j: x**j) == pytest.approx(hutch, rel=1e-9)
    assert result.weights.sum() == pytest.approx(1.0, abs=1e-12)
    assert result.trace(np.ones_like) == pytest.approx(1.0, abs=1e-12)


def test_exhausted_krylov_space_gives_exact_nodes():
    lam = np.r_[np.zeros(5), np.arange(1.0, 16.0)]
    Q = np.linalg.qr(np.random.default_rng(0).standard_normal((20, 20)))[0]
    K = Q @ np.diag(lam) @ Q.T
    K = 0.5 * (K + K.T)
    result = slq(K, n_probes=4, n_steps=5, seed=0)
    nodes = np.sort(result.nodes[~result.is_zero])
    np.testing.assert_allclose(nodes, np.arange(1.0, 16.0), atol=1e-9)
    assert np.count_nonzero(result.is_zero) == 5


@pytest.mark.parametrize("phi", [0.5, 1.0, 2.0])
def test_atom_detection_gaussian_features_small(phi):
    n = 500
    p = int(n / phi)
    J = np.random.default_rng(2).standard_normal((n, p))
    lam = feature_eigenvalues(J, scale=1.0 / p)
    result = slq(feature_operator(J, scale=1.0 / p), n_probes=10, n_steps=30, seed=1)
    true_atom = max(0.0, 1.0 - 1.0 / phi)
    if true_atom == 0.0:
        # At φ = 1 the bulk reaches 0: small Ritz values must not be taken for an atom.
        assert result.atom == 0.0
    else:
        assert abs(result.atom - true_atom) < 0.03
        assert abs(result.atom - true_atom) < 5 * result.atom_stderr + 1e-3
    # Hutchinson noise of the CDF: std ≈ sqrt(2 F (1 - F) / (b N)) ≈ 0.01 here.
    assert ks_distance(lam, result) < 0.06


def test_matrix_free_analytic_ntk_against_dense():
    X = sphere(400, 5, seed=0)
    K = analytic.ntk(X, depth=2)
    exact = gram_eigenvalues(K)
    result = slq(kernel_operator(analytic.ntk, X, depth=2), n_probes=10, n_steps=20, seed=0)
    assert result.atom == 0.0
    # Hutchinson noise of the CDF: std ≈ sqrt(2 F (1 - F) / (b N)) ≈ 0.011 here.
    assert ks_distance(exact, result) < 0.06


def _relu_features(n, phi, seed):
    X = sphere(n, 200, seed=seed, radius="sqrt_d")
    return random_relu_features(X, int(n / phi), seed=seed + 1)


@pytest.mark.slow
@pytest.mark.parametrize(
    "source,phi", [("gaussian", 2.0), ("relu", 0.5), ("relu", 2.0)]
)
def test_acceptance_slq_n4000(source, phi):
    n = 4000
    p = int(n / phi)
    if source == "gaussian":
        J = np.random.default_rng(0).standard_normal((n, p)) / np.sqrt(p)
    else:
        J = _relu_features(n, phi, 1)
    lam = feature_eigenvalues(J)
    result = slq(feature_operator(J), n_probes=10, n_steps=80, seed=0)
    assert ks_distance(lam, result) < 0.02
    true_atom = float(np.mean(snap_zeros(lam) == 0.0))
    assert true_atom == pytest.approx(max(0.0, 1 - 1 / phi))
    if true_atom == 0.0:
        assert result.atom == 0.0
    else:
        assert abs(result.atom - true_atom) < 0.01


def test_bad_input():
    with pytest.raises(ValueError, match="symmetric"):
        slq(np.array([[1.0, 2.0], [0.0, 1.0]]))
    with pytest.raises(ValueError, match="n_probes must be <="):
        slq(np.eye(3), n_probes=5)
    with pytest.raises(ValueError, match="matmat must return shape"):
        slq(GramOperator(n=10, matmat=lambda V: V[:5]), n_probes=2, n_steps=2)
    with pytest.raises(TypeError, match="kernel_fn must be callable"):
        kernel_operator("ntk", np.ones((3, 2)))
    with pytest.raises(ValueError, match="scale must be > 0"):
        feature_operator(np.ones((3, 2)), scale=-1.0)
    assert dense_operator(np.eye(4)).n == 4


def test_jax_kernel_operator_matches_dense():
    import jax.numpy as jnp

    def rbf(X1, X2):
        sq = jnp.sum(X1**2, 1)[:, None] + jnp.sum(X2**2, 1)[None, :] - 2 * X1 @ X2.T
        return jnp.exp(-0.5 * sq)

    X = sphere(45, 3, seed=2)
    V = np.random.default_rng(0).standard_normal((45, 4))
    op = jax_kernel_operator(rbf, X, block_size=8)
    np.testing.assert_allclose(op.matmat(V), analytic.rbf(X) @ V, atol=1e-12)


@pytest.mark.parametrize(("shape", "b", "m"), [((8, 2), 4, 2), ((30, 5), 8, 3), ((40, 3), 6, 6)])
def test_a_block_wider_than_the_rank_keeps_the_rayleigh_ritz_bounds(shape, b, m):
    """Deflated blocks (b > rank K) get random replacement directions; T must stay the
    projection QᵀKQ, so every node lies in [0, λ_max] (a PSD operator) up to rounding."""
    J = np.random.default_rng(0).standard_normal(shape)
    top = np.linalg.eigvalsh(J.T @ J).max()
    r = slq(feature_operator(J), n_probes=b, n_steps=m, seed=1)
    assert r.nodes.min() >= -1e-12 * top
    assert r.nodes.max() <= top * (1 + 1e-12)
    assert r.norm == pytest.approx(top, rel=1e-10)  # the Krylov space holds range(K)
    assert r.weights.sum() == pytest.approx(1.0, abs=1e-12)
