"""ntkjam.kernels.features: Monte-Carlo laws, exact Taylor features, ranks, bad input."""

from __future__ import annotations

import itertools
from math import comb, factorial

import numpy as np
import pytest

from ntkjam import data
from ntkjam.kernels import analytic
from ntkjam.kernels import features as F
from ntkjam.kernels.activations import Activation
from ntkjam.linalg import numerical_rank, rank_report

# ----------------------------------------------------------- independent references


def _first_layer(X, sigma_w, sigma_b):
    return sigma_w**2 * (X @ X.T) / X.shape[1] + sigma_b**2


def _relu_nngp(X, sigma_w, sigma_b):
    """σ_w² E[relu(u) relu(v)] + σ_b² from the arc-cosine formula (Cho & Saul)."""
    S = _first_layer(X, sigma_w, sigma_b)
    a = np.sqrt(np.diag(S))
    theta = np.arccos(np.clip(S / np.outer(a, a), -1.0, 1.0))
    E = np.outer(a, a) / (2 * np.pi) * (np.sin(theta) + (np.pi - theta) * np.cos(theta))
    return sigma_w**2 * E + sigma_b**2


def _erf_nngp(X, sigma_w, sigma_b):
    """σ_w² E[erf(u) erf(v)] + σ_b² (Williams 1997)."""
    S = _first_layer(X, sigma_w, sigma_b)
    s = 1.0 + 2.0 * np.diag(S)
    return sigma_w**2 * (2 / np.pi) * np.arcsin(2 * S / np.sqrt(np.outer(s, s))) + sigma_b**2


def _identity_nngp(X, sigma_w, sigma_b):
    return sigma_w**2 * _first_layer(X, sigma_w, sigma_b) + sigma_b**2


def _rbf(X, ell):
    D2 = np.sum((X[:, None, :] - X[None, :, :]) ** 2, axis=-1)
    return np.exp(-D2 / (2 * ell**2))


X_MC = data.sphere(16, 5, seed=0, radius="sqrt_d")


def test_references_agree_with_analytic_module():
    # The test's own closed forms and ntkjam.kernels.analytic cross-check each other.
    for ref, act, sw, sb in [
        (_relu_nngp, "relu", 2**0.5, 0.0),
        (_relu_nngp, "relu", 1.1, 0.4),
        (_erf_nngp, "erf", 1.3, 0.2),
        (_identity_nngp, "identity", 0.9, 0.3),
    ]:
        K = analytic.nngp(X_MC, depth=1, activation=act, sigma_w=sw, sigma_b=sb)
        np.testing.assert_allclose(K, ref(X_MC, sw, sb), rtol=1e-7, atol=1e-12)
    np.testing.assert_allclose(analytic.rbf(X_MC, lengthscale=1.5), _rbf(X_MC, 1.5), rtol=1e-13)


# ------------------------------------------------------------- Monte-Carlo convergence

PS = (64, 256, 1024, 4096)
SEEDS = range(8)

MC_CASES = {
    "relu": (
        lambda P, s: F.random_relu_features(X_MC, P, seed=s),
        _relu_nngp(X_MC, 2**0.5, 0.0),
    ),
    "relu-bias": (
        lambda P, s: F.random_relu_features(
            X_MC, P, seed=s, sigma_w=1.1, sigma_b=0.4, readout_bias=True
        ),
        _relu_nngp(X_MC, 1.1, 0.4),
    ),
    "erf": (
        lambda P, s: F.random_features(X_MC, P, activation="erf", seed=s, sigma_w=1.3, sigma_b=0.2),
        _erf_nngp(X_MC, 1.3, 0.2) - 0.2**2,
    ),
    "identity": (
        lambda P, s: F.random_features(
            X_MC, P, activation="identity", seed=s, sigma_w=0.9, sigma_b=0.3, readout_bias=True
        ),
        _identity_nngp(X_MC, 0.9, 0.3),
    ),
    "tanh": (
        lambda P, s: F.random_features(X_MC, P, activation="tanh", seed=s, sigma_w=1.2),
        analytic.nngp(X_MC, depth=1, activation="tanh", sigma_w=1.2),
    ),
    "gelu-bias": (
        lambda P, s: F.random_features(
            X_MC, P, activation="gelu", seed=s, sigma_b=0.5, readout_bias=True
        ),
        analytic.nngp(X_MC, depth=1, activation="gelu", sigma_b=0.5),
    ),
    "fourier": (
        lambda P, s: F.random_fourier_features(X_MC, P, lengthscale=1.5, seed=s),
        _rbf(X_MC, 1.5),
    ),
}


@pytest.mark.parametrize("case", sorted(MC_CASES))
def test_monte_carlo_error_shrinks_like_inverse_sqrt_P(case):
    """Relative Frobenius error of J Jᵀ, RMS over seeds, fitted as C·P^slope."""
    features, K = MC_CASES[case]
    rms = []
    for P in PS:
        errors = []
        for s in SEEDS:
            J = features(P, s)
            errors.append(np.linalg.norm(J @ J.T - K) / np.linalg.norm(K))
        rms.append(np.sqrt(np.mean(np.square(errors))))
    slope = np.polyfit(np.log(PS), np.log(rms), 1)[0]
    assert abs(slope + 0.5) < 0.15, (slope, rms)
    # An unbiased estimator keeps shrinking: no plateau at the largest P.
    assert rms[-1] < 0.05, rms


# ---------------------------------------------------------------- seeds, shapes, inputs

RANDOM_MAPS = {
    "relu": lambda X, P, s: F.random_relu_features(X, P, seed=s, sigma_b=0.3),
    "tanh": lambda X, P, s: F.random_features(X, P, activation="tanh", seed=s, sigma_b=0.3),
    "fourier": lambda X, P, s: F.random_fourier_features(X, P, lengthscale=0.8, seed=s),
}


@pytest.mark.parametrize("name", sorted(RANDOM_MAPS))
def test_seeded_nested_and_inputs_untouched(name):
    feature_map = RANDOM_MAPS[name]
    X = data.gaussian(7, 4, seed=1)
    X.flags.writeable = False  # any in-place write to the input would raise
    before = X.copy()
    J = feature_map(X, 50, 3)
    assert J.shape == (7, 50) and J.dtype == np.float64
    assert np.array_equal(J, feature_map(X, 50, 3))
    assert not np.allclose(J, feature_map(X, 50, 4))
    # Features are nested in P: the first 20 columns are the 20-feature map up to √(20/50).
    np.testing.assert_allclose(J[:, :20] * np.sqrt(50 / 20), feature_map(X, 20, 3), rtol=1e-13)
    np.testing.assert_array_equal(X, before)


def test_relu_map_equals_generic_map_and_activation_object():
    X = data.gaussian(6, 3, seed=2)
    J = F.random_relu_features(X, 40, seed=5, sigma_w=1.7, sigma_b=0.2)
    np.testing.assert_allclose(
        J,
        F.random_features(X, 40, activation="relu", seed=5, sigma_w=1.7, sigma_b=0.2),
        rtol=1e-15,
    )
    square = Activation("square", lambda z: z**2, lambda z: 2 * z)
    Jsq = F.random_features(X, 40, activation=square, seed=5, sigma_w=1.7, sigma_b=0.2)
    Z = np.maximum(J, 0) * np.sqrt(40) / 1.7  # recover the pre-activations where positive
    pos = J > 0
    np.testing.assert_allclose(Jsq[pos], 1.7 * Z[pos] ** 2 / np.sqrt(40), rtol=1e-12)


def test_readout_bias_column_and_relu_diagonal():
    X = data.sphere(5, 4, seed=0)
    J = F.random_relu_features(X, 30, seed=0, sigma_b=0.7, readout_bias=True)
    assert J.shape == (5, 31)
    np.testing.assert_array_equal(J[:, -1], 0.7)
    # Default σ_w² = 2, σ_b = 0: diagonal limit 2‖x‖²/d; check it at large P.
    Jbig = F.random_relu_features(X, 200_000, seed=1)
    np.testing.assert_allclose(np.sum(Jbig**2, axis=1), 2 / 4, rtol=0.02)


# ------------------------------------------------------------------------------ Taylor


def _taylor_series_reference(X1, X2, k, ell):
    t = X1 @ X2.T / ell**2
    series = sum(t**j / factorial(j) for j in range(k + 1))
    g1 = np.exp(-np.sum(X1**2, axis=1) / (2 * ell**2))
    g2 = np.exp(-np.sum(X2**2, axis=1) / (2 * ell**2))
    return g1[:, None] * series * g2[None, :]


@pytest.mark.parametrize("d, k, ell", [(1, 6, 1.0), (3, 4, 0.7), (5, 3, 1.3), (8, 2, 2.0)])
def test_taylor_features_reproduce_truncated_series(d, k, ell):
    X = data.gaussian(30, d, seed=d) * 0.6
    X.flags.writeable = False  # any in-place write to the input would raise
    J = F.taylor_features(X, k, lengthscale=ell)
    assert J.shape == (30, comb(d + k, k)) == (30, F.taylor_feature_count(d, k))
    K_ref = _taylor_series_reference(X, X, k, ell)
    np.testing.assert_allclose(J @ J.T, K_ref, rtol=1e-12, atol=1e-12 * np.abs(K_ref).max())
    np.testing.assert_allclose(F.taylor_kernel(X, degree=k, lengthscale=ell), K_ref, rtol=1e-12)
    Y = data.gaussian(4, d, seed=99)
    np.testing.assert_allclose(
        F.taylor_kernel(X, Y, degree=k, lengthscale=ell),
        _taylor_series_reference(X, Y, k, ell),
        rtol=1e-12,
    )


def test_taylor_features_columns_are_weighted_monomials():
    d, k, ell = 3, 3, 0.9
    X = data.gaussian(5, d, seed=4)
    alpha = F.taylor_exponents(d, k)
    expected_alpha = [
        np.bincount(np.array(c, dtype=int), minlength=d)
        for j in range(k + 1)
        for c in itertools.combinations_with_replacement(range(d), j)
    ]
    np.testing.assert_array_equal(alpha, expected_alpha)
    weights = np.array([np.prod([factorial(a) for a in row]) for row in alpha]) ** -0.5
    envelope = np.exp(-np.sum(X**2, axis=1) / (2 * ell**2))
    expected = envelope[:, None] * np.prod((X / ell)[:, None, :] ** alpha[None], axis=2) * weights
    np.testing.assert_allclose(F.taylor_features(X, k, lengthscale=ell), expected, rtol=1e-13)


def test_taylor_kernel_tends_to_gaussian_kernel():
    X = data.sphere(20, 4, seed=3)
    errors = [
        np.abs(F.taylor_kernel(X, degree=k, lengthscale=1.2) - _rbf(X, 1.2)).max()
        for k in (1, 3, 6, 12)
    ]
    assert all(b < a for a, b in itertools.pairwise(errors))
    assert errors[-1] < 1e-12


@pytest.mark.parametrize("d, k", [(2, 5), (3, 4), (4, 3), (6, 2), (3, 1), (5, 0)])
def test_taylor_rank_on_sphere(d, k):
    expected = comb(d + k - 1, k) + (comb(d + k - 2, k - 1) if k >= 1 else 0)
    assert F.taylor_rank_on_sphere(d, k) == expected
    # Σ_{j≤k} N(d, j) with N(d, j) = dim of degree-j harmonic polynomials.
    harmonics = sum(
        comb(d + j - 1, j) - (comb(d + j - 3, j - 2) if j >= 2 else 0) for j in range(k + 1)
    )
    assert F.taylor_rank_on_sphere(d, k) == harmonics
    count = F.taylor_feature_count(d, k)
    assert count - expected == (comb(d + k - 2, k - 2) if k >= 2 else 0)
    n = 3 * count
    for radius in (1.0, 1.7):
        J = F.taylor_features(data.sphere(n, d, seed=k, radius=radius), k, lengthscale=1.0)
        report = rank_report(J, rtol=1e-9)
        assert report.rank == expected
        assert report.gap > 1e5 or report.rank == min(J.shape)
    # Generic (Gaussian) points: every monomial is independent, rank = count.
    assert numerical_rank(F.taylor_features(data.gaussian(n, d, seed=k), k), rtol=1e-11) == count


# ------------------------------------------------------------------------ Gram features


def test_gram_features_factor_psd_matrices():
    A = data.gaussian(30, 7, seed=0)
    K = A @ A.T
    J = F.gram_features(K)
    assert J.shape == (30, 7)
    np.testing.assert_allclose(J @ J.T, K, atol=1e-12 * np.abs(K).max())
    # A smooth kernel: eigenvalues decay fast, the tolerance decides the rank.
    Kr = analytic.rbf(data.sphere(40, 3, seed=1), lengthscale=3.0)
    Jr = F.gram_features(Kr, rtol=1e-10)
    lam_max = np.linalg.eigvalsh(Kr)[-1]
    assert Jr.shape[1] == numerical_rank(Kr, rtol=1e-10) < 40
    assert np.linalg.norm(Jr @ Jr.T - Kr, 2) <= 1e-10 * lam_max * (1 + 1e-6) + 1e-13
    assert F.gram_features(Kr, atol=1e-10 * lam_max).shape == Jr.shape
    before = Kr.copy()
    Kr.flags.writeable = False
    F.gram_features(Kr)
    np.testing.assert_array_equal(Kr, before)


# ---------------------------------------------------------------------------- bad input

GOOD_X = np.ones((3, 2))
INFINITE = Activation("inf", lambda z: np.full_like(z, np.inf), np.sign)


@pytest.mark.parametrize(
    "call, exc, match",
    [
        (lambda: F.random_relu_features(GOOD_X, 0, seed=0), ValueError, "P must be >= 1, got 0"),
        (lambda: F.random_relu_features(GOOD_X, 2.0, seed=0), TypeError, "P must be an integer"),
        (lambda: F.random_relu_features(GOOD_X, 5, seed=-2), ValueError, "seed must be >= 0"),
        (
            lambda: F.random_relu_features(GOOD_X, 5, seed=0, sigma_w=0.0),
            ValueError,
            "sigma_w must be > 0, got 0.0",
        ),
        (
            lambda: F.random_features(GOOD_X, 5, seed=0, sigma_b=-1.0),
            ValueError,
            "sigma_b must be >= 0, got -1.0",
        ),
        (
            lambda: F.random_features(GOOD_X, 5, activation="swish", seed=0),
            ValueError,
            "activation must be one of",
        ),
        (lambda: F.random_features(GOOD_X, 5, activation=3, seed=0), TypeError, "activation"),
        (
            lambda: F.random_features(
                GOOD_X, 5, seed=0, activation=Activation("sum", np.sum, np.sign)
            ),
            ValueError,
            "must be elementwise",
        ),
        (
            lambda: F.random_features(GOOD_X, 5, seed=0, activation=INFINITE),
            ValueError,
            "non-finite",
        ),
        (lambda: F.random_relu_features(np.ones(3), 5, seed=0), ValueError, "X must have 2 dim"),
        (lambda: F.random_relu_features([[np.nan, 1]], 5, seed=0), ValueError, "X must be finite"),
        (lambda: F.random_relu_features(np.ones((0, 2)), 5, seed=0), ValueError, "N >= 1"),
        (lambda: F.random_relu_features("abc", 5, seed=0), TypeError, "X must be a real array"),
        (
            lambda: F.random_fourier_features(GOOD_X, 5, lengthscale=0.0, seed=0),
            ValueError,
            "lengthscale must be > 0",
        ),
        (lambda: F.random_fourier_features(GOOD_X, -1, seed=0), ValueError, "P must be >= 1"),
        (lambda: F.taylor_features(GOOD_X, -1), ValueError, "degree must be >= 0, got -1"),
        (lambda: F.taylor_features(GOOD_X, 2, lengthscale=-1.0), ValueError, "lengthscale"),
        (lambda: F.taylor_features(np.ones((10, 500)), 4), ValueError, "MAX_TAYLOR_ENTRIES"),
        (lambda: F.taylor_kernel(GOOD_X, np.ones((2, 3)), degree=2), ValueError, "dimension d"),
        (lambda: F.taylor_rank_on_sphere(1, 3), ValueError, "d must be >= 2"),
        (lambda: F.taylor_feature_count(3, -1), ValueError, "degree must be >= 0"),
        (lambda: F.gram_features(np.ones((2, 3))), ValueError, "K must be square"),
        (lambda: F.gram_features([[1.0, 2.0], [0.0, 1.0]]), ValueError, "symmetric"),
        (lambda: F.gram_features([[1.0, 2.0], [2.0, 1.0]]), ValueError, "semi-definite"),
        (lambda: F.gram_features([[1.0, np.inf], [np.inf, 1.0]]), ValueError, "finite"),
    ],
)
def test_bad_input(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


@pytest.mark.slow
@pytest.mark.parametrize("activation", ["relu", "erf", "tanh", "gelu", "softplus", "identity"])
def test_every_builtin_activation_converges_to_its_nngp(activation):
    """Gaussian inputs, biases, P up to 16384 and 16 seeds: a tighter slope window."""
    X = data.gaussian(24, 6, seed=1)
    K = analytic.nngp(X, depth=1, activation=activation, sigma_w=1.2, sigma_b=0.3)
    Ps = (256, 1024, 4096, 16384)
    rms = []
    for P in Ps:
        errors = []
        for s in range(16):
            J = F.random_features(
                X, P, activation=activation, seed=s, sigma_w=1.2, sigma_b=0.3, readout_bias=True
            )
            errors.append(np.linalg.norm(J @ J.T - K) / np.linalg.norm(K))
        rms.append(np.sqrt(np.mean(np.square(errors))))
    slope = np.polyfit(np.log(Ps), np.log(rms), 1)[0]
    assert abs(slope + 0.5) < 0.1, (slope, rms)
