"""Tests of ntkjam.problem: validation, features from kernels, Gram products, margins."""

from __future__ import annotations

import numpy as np
import pytest

from ntkjam.problem import Problem, from_features, from_kernel


def _instance(N=12, P=5, seed=0):
    rng = np.random.default_rng(seed)
    J = rng.standard_normal((N, P))
    y = rng.choice([-1.0, 1.0], N)
    f0 = 0.3 * rng.standard_normal(N)
    return J, y, f0


def test_from_features_basic_quantities():
    J, y, f0 = _instance()
    pr = from_features(J, y, f0=f0, margin=0.7)
    assert (pr.n_points, pr.n_features, pr.rank) == (12, 5, 5)
    assert pr.phi == pytest.approx(12 / 5)
    w = np.arange(5.0)
    f = f0 + J @ w
    np.testing.assert_allclose(pr.outputs(w), f, rtol=1e-14)
    np.testing.assert_allclose(pr.margins(w), y * f, rtol=1e-14)
    np.testing.assert_allclose(pr.deltas(w), 0.7 - y * f, rtol=1e-14, atol=1e-14)
    np.testing.assert_allclose(pr.offsets, 0.7 - y * f0, rtol=1e-14)
    expected = 0.5 * np.mean(np.maximum(0.7 - y * f, 0.0) ** 2)
    assert pr.loss(w) == pytest.approx(expected, rel=1e-14)
    np.testing.assert_allclose(pr.gram(), J @ J.T, rtol=1e-13)


def test_default_offset_is_zero_and_margin_one():
    J, y, _ = _instance()
    pr = Problem(y=y, J=J)
    assert pr.margin == 1.0
    np.testing.assert_array_equal(pr.f0, np.zeros(12))


def test_gram_matvec_matches_dense_product():
    J, y, _ = _instance(N=9, P=30)
    pr = from_features(J, y)
    v = np.random.default_rng(3).standard_normal((9, 2))
    np.testing.assert_allclose(pr.gram_matvec(v), J @ J.T @ v, rtol=1e-12)
    np.testing.assert_allclose(pr.gram_matvec(v[:, 0]), J @ J.T @ v[:, 0], rtol=1e-12)
    with pytest.raises(ValueError, match="v must have 9 rows"):
        pr.gram_matvec(np.ones(4))


def test_kernel_only_problem_factorises_the_kernel():
    rng = np.random.default_rng(1)
    B = rng.standard_normal((10, 4))
    K = B @ B.T  # rank 4
    y = rng.choice([-1.0, 1.0], 10)
    pr = from_kernel(K, y)
    F = pr.features()
    assert F.shape == (10, 4)
    assert pr.n_features == 4 and pr.rank == 4
    np.testing.assert_allclose(F @ F.T, K, atol=1e-12)
    np.testing.assert_allclose(pr.gram_matvec(np.ones(10)), K @ np.ones(10), rtol=1e-12)
    U, s, V = pr.reduced_svd()
    np.testing.assert_allclose(U * s @ V.T, F, atol=1e-12)
    assert np.all(np.diff(s) <= 0)


def test_orthonormal_basis_spans_range_of_rank_deficient_features():
    rng = np.random.default_rng(2)
    J = rng.standard_normal((15, 3)) @ rng.standard_normal((3, 8))  # rank 3, P > r
    y = rng.choice([-1.0, 1.0], 15)
    pr = from_features(J, y)
    assert pr.rank == 3
    U = pr.orthonormal_basis()
    assert U.shape == (15, 3)
    np.testing.assert_allclose(U.T @ U, np.eye(3), atol=1e-13)
    # every column of J lies in span(U)
    np.testing.assert_allclose(U @ (U.T @ J), J, atol=1e-12)
    U2, s, V = pr.reduced_svd()
    np.testing.assert_allclose(U2 * s @ V.T, J, atol=1e-12)


def test_both_j_and_k_must_agree():
    J, y, _ = _instance()
    Problem(y=y, J=J, K=J @ J.T)  # consistent: accepted
    with pytest.raises(ValueError, match="K must equal J"):
        Problem(y=y, J=J, K=J @ J.T + np.eye(12))


def test_inputs_are_copied_and_read_only():
    J, y, f0 = _instance()
    pr = from_features(J, y, f0=f0)
    J[0, 0] = 1e6
    y[0] = -y[0]
    assert pr.J[0, 0] != 1e6 and pr.y[0] != y[0]
    with pytest.raises(ValueError):
        pr.J[0, 0] = 1.0
    with pytest.raises(ValueError):
        pr.f0[0] = 1.0


@pytest.mark.parametrize("margin", [np.nan, np.inf, -np.inf])
def test_margin_must_be_finite(margin):
    J, y, _ = _instance()
    with pytest.raises(ValueError, match="margin must be finite"):
        from_features(J, y, margin=margin)


def test_margin_must_be_a_number():
    J, y, _ = _instance()
    with pytest.raises(TypeError, match="margin must be a real number"):
        from_features(J, y, margin="1")


@pytest.mark.parametrize("bad", [[1.0, 0.0, -1.0], [1.0, 2.0, -1.0], [0.5, 1.0, 1.0]])
def test_labels_must_be_plus_minus_one(bad):
    J = np.ones((3, 2))
    with pytest.raises(ValueError, match="y must contain only -1 and \\+1"):
        from_features(J, bad)


def test_shape_mismatches_are_named():
    J, y, f0 = _instance()
    with pytest.raises(ValueError, match="J must have one row per label"):
        from_features(J[:-1], y)
    with pytest.raises(ValueError, match="f0 must have length 12"):
        from_features(J, y, f0=f0[:-2])
    with pytest.raises(ValueError, match="K must have shape \\(12, 12\\)"):
        from_kernel(np.eye(5), y)
    with pytest.raises(ValueError, match="J must have 2 dimension"):
        from_features(np.ones(12), y)
    with pytest.raises(ValueError, match="w must have length P = 5"):
        from_features(J, y).outputs(np.ones(4))


def test_missing_or_bad_sources():
    _, y, _ = _instance()
    with pytest.raises(ValueError, match="give features J"):
        Problem(y=y)
    with pytest.raises(ValueError, match="K must be symmetric"):
        from_kernel(np.triu(np.ones((12, 12))), y)
    with pytest.raises(ValueError, match="K must be positive semi-definite"):
        from_kernel(-np.eye(12), y).features()
    bad = np.ones((12, 3))
    bad[2, 1] = np.nan
    with pytest.raises(ValueError, match="J must be finite"):
        from_features(bad, y)
    with pytest.raises(ValueError, match="at least one label"):
        from_features(np.ones((0, 2)), np.ones(0))
    with pytest.raises(ValueError, match="at least one column"):
        from_features(np.ones((12, 0)), y)
