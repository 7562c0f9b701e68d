"""Funk–Hecke eigenvalues of dot-product kernels on the sphere."""

import math

import numpy as np
import pytest
from scipy.special import eval_gegenbauer, eval_legendre

from ntkjam.data import sphere
from ntkjam.kernels import analytic
from ntkjam.spectrum.funk_hecke import (
    funk_hecke,
    harmonic_multiplicity,
    kernel_on_sphere,
    legendre_table,
    sphere_area_ratio,
    truncation_error,
)
from ntkjam.spectrum.measured import gram_eigenvalues


def relu_ntk_1layer(t, d=3):
    """Closed form of the bias-free one-hidden-layer ReLU NTK (σ_w² = 2) on the unit sphere."""
    t = np.clip(t, -1.0, 1.0)
    theta = np.arccos(t)
    return (2.0 / d) * (np.sin(theta) + 2.0 * (np.pi - theta) * t) / np.pi


@pytest.fixture(scope="module")
def relu3():
    return funk_hecke(relu_ntk_1layer, 3, 400)


def test_multiplicities():
    assert [harmonic_multiplicity(3, k) for k in range(5)] == [1, 3, 5, 7, 9]
    assert [harmonic_multiplicity(2, k) for k in range(4)] == [1, 2, 2, 2]
    # Σ_{k<=K} N(d, k) = dim of polynomials of degree <= K restricted to the sphere.
    d, K = 6, 7
    total = sum(harmonic_multiplicity(d, k) for k in range(K + 1))
    assert total == math.comb(K + d - 1, d - 1) + math.comb(K + d - 2, d - 1)


def test_legendre_table_matches_scipy():
    t = np.linspace(-1, 1, 17)
    np.testing.assert_allclose(legendre_table(12, t, 3), [eval_legendre(k, t) for k in range(13)],
                               atol=1e-13)
    d, alpha = 7, 2.5
    expect = [eval_gegenbauer(k, alpha, t) / eval_gegenbauer(k, alpha, 1.0) for k in range(10)]
    np.testing.assert_allclose(legendre_table(9, t, d), expect, atol=1e-13)
    assert sphere_area_ratio(3) == pytest.approx(0.5)  # |S¹| / |S²| = 2π / 4π


def test_kernel_on_sphere_reproduces_analytic_ntk():
    kappa = kernel_on_sphere(analytic.ntk, 3)
    t = np.linspace(-1, 1, 41)
    np.testing.assert_allclose(kappa(t), relu_ntk_1layer(t), atol=1e-12)


def test_acceptance_relu_ntk_d3(relu3):
    mu = relu3.mu
    odd = mu[3:41:2]
    assert np.max(np.abs(odd)) < 1e-12 * mu[0]
    assert np.all(mu[0::2] > 0)
    assert mu[1] > 0
    slope = relu3.decay_exponent(10, 40, parity="even")
    assert -3.1 <= slope <= -2.9
    e40 = truncation_error(relu_ntk_1layer, relu3, 40)
    e400 = truncation_error(relu_ntk_1layer, relu3, 400)
    assert e40 < 1e-2
    assert e400 < 1e-3
    assert np.log10(e40 / e400) == pytest.approx(1.0, abs=0.1)  # error ~ 1/K


def test_relu_ntk_low_coefficients_closed_form(relu3):
    # μ_0 = (1/2)∫κ dt and μ_1 = (1/2)∫κ t dt, by adaptive quadrature of the closed form.
    from scipy.integrate import quad

    mu0 = 0.5 * quad(relu_ntk_1layer, -1, 1)[0]
    mu1 = 0.5 * quad(lambda t: relu_ntk_1layer(t) * t, -1, 1)[0]
    assert relu3.mu[0] == pytest.approx(mu0, rel=1e-12)
    assert relu3.mu[1] == pytest.approx(mu1, rel=1e-12)


def test_deeper_ntk_is_psd_and_converges():
    kappa = kernel_on_sphere(analytic.ntk, 5, depth=3)
    fh = funk_hecke(kappa, 5, 60)
    assert np.all(fh.mu > -1e-14 * fh.mu[0])
    assert truncation_error(kappa, fh, 60) < 2e-2
    more = funk_hecke(kappa, 5, 60, n_nodes=800)
    np.testing.assert_allclose(fh.mu, more.mu, atol=1e-14 * fh.mu[0])


@pytest.mark.parametrize("d,p", [(3, 3), (5, 4), (10, 2)])
def test_polynomial_kernel_is_finite_and_resums_exactly(d, p):
    kappa = kernel_on_sphere(analytic.polynomial, d, degree=p, coef0=1.0)
    fh = funk_hecke(kappa, d, p + 6)
    assert np.max(np.abs(fh.mu[p + 1 :])) < 1e-13 * fh.mu[0]
    assert np.all(fh.mu[: p + 1] > 0)
    assert truncation_error(kappa, fh, p) < 1e-12


def test_rbf_on_sphere_and_gram_prediction():
    d, n = 3, 800
    kappa = kernel_on_sphere(analytic.rbf, d, lengthscale=1.0)
    fh = funk_hecke(kappa, d, 40)
    assert truncation_error(kappa, fh, 40) < 1e-12
    predicted = fh.gram_spectrum(n)
    X = sphere(n, d, seed=0)
    measured = gram_eigenvalues(analytic.rbf(X, lengthscale=1.0))
    # Top eigenvalues: the k = 0 mode, then the 3-fold k = 1 block.
    np.testing.assert_allclose(measured[-1], predicted[-1], rtol=0.03)
    np.testing.assert_allclose(measured[-4:-1], predicted[-4:-1], rtol=0.1)
    assert predicted.size == n
    assert predicted.sum() == pytest.approx(n * kappa(np.array([1.0]))[0], rel=1e-6)


def test_bad_input():
    with pytest.raises(ValueError, match="d must be >= 2"):
        funk_hecke(relu_ntk_1layer, 1, 10)
    with pytest.raises(ValueError, match="d must be >= 2"):
        kernel_on_sphere(analytic.ntk, 1)
    with pytest.raises(TypeError, match="profile must be callable"):
        funk_hecke(3.0, 3, 10)
    with pytest.raises(ValueError, match="one value per cosine"):
        funk_hecke(lambda t: np.ones(3), 3, 10)
    fh = funk_hecke(relu_ntk_1layer, 3, 10)
    with pytest.raises(ValueError, match="n must be <="):
        fh.gram_spectrum(10_000)
    with pytest.raises(ValueError, match="parity"):
        fh.decay_exponent(2, 8, parity="both")
