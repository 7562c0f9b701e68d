"""Measured spectra, Marchenko–Pastur, Silverstein and the distances between them."""

import numpy as np
import pytest
from scipy.integrate import quad

from ntkjam.data import sphere
from ntkjam.kernels.analytic import nngp
from ntkjam.kernels.features import random_relu_features
from ntkjam.spectrum.compare import (
    compare,
    ks_distance,
    ks_two_sample,
    snap_zeros,
    wasserstein_distance,
)
from ntkjam.spectrum.measured import (
    expected_zero_fraction,
    feature_eigenvalues,
    gram_eigenvalues,
    spectrum_report,
)
from ntkjam.spectrum.random_matrix import (
    mp_atom,
    mp_density,
    mp_edges,
    mp_law,
    silverstein_law,
    silverstein_stieltjes,
)


def gaussian_features(n, p, seed):
    return np.random.default_rng(seed).standard_normal((n, p))


# ------------------------------------------------------------------ measured


@pytest.mark.parametrize("n,p", [(40, 90), (90, 40)])
def test_feature_eigenvalues_match_dense_gram(n, p):
    J = gaussian_features(n, p, 0)
    lam = feature_eigenvalues(J, scale=1.0 / p)
    dense = gram_eigenvalues(J @ J.T / p)
    assert lam.shape == (n,)
    np.testing.assert_allclose(lam, dense, atol=1e-12 * dense.max())
    if n > p:
        assert np.all(lam[: n - p] == 0.0)


def test_dense_route_counts_exactly_n_minus_p_zero_modes():
    n, p = 300, 150
    J = gaussian_features(n, p, 1)
    report = spectrum_report(gram_eigenvalues(J @ J.T), phi=n / p)
    assert report.n_zero == n - p
    assert report.rank == p
    assert report.zero_fraction == pytest.approx(report.expected_zero_fraction)
    assert report.gap > 1e8  # the zero modes are rounding, far below the bulk


def test_effective_ranks_of_simple_spectra():
    flat = spectrum_report(np.ones(50))
    assert flat.participation_ratio == pytest.approx(50.0)
    assert flat.entropy_rank == pytest.approx(50.0)
    spiked = spectrum_report(np.r_[np.zeros(10), 1.0, np.full(9, 1e-3)])
    assert spiked.n_zero == 10
    assert spiked.smallest_nonzero == pytest.approx(1e-3)
    assert spiked.condition_number == pytest.approx(1e3)
    assert 1.0 < spiked.participation_ratio < 1.1
    assert expected_zero_fraction(0.5) == 0.0
    assert expected_zero_fraction(4.0) == 0.75


# ------------------------------------------------------------------------ MP


@pytest.mark.parametrize("phi", [0.3, 1.0, 2.5])
def test_mp_density_mass_and_moments(phi):
    a, b = mp_edges(phi, 2.0)
    mass, _ = quad(lambda x: mp_density(x, phi, 2.0), a, b, limit=200)
    assert mass == pytest.approx(min(1.0, 1.0 / phi), rel=1e-6)
    law = mp_law(phi, 2.0)
    assert law.atom == pytest.approx(mp_atom(phi))
    assert law.cdf(b) == pytest.approx(1.0)
    assert law.cdf(-1e-9) == 0.0
    assert law.mass_error < 1e-8
    # E[(1/N) tr J Jᵀ/P] = σ²  for entries of variance σ².
    assert law.mean() == pytest.approx(2.0, rel=1e-5)


@pytest.mark.parametrize("phi", [0.5, 2.0])
def test_gaussian_features_follow_mp_small(phi):
    n = 400
    p = int(n / phi)
    lam = feature_eigenvalues(gaussian_features(n, p, 3), scale=1.0 / p)
    result = compare(lam, mp_law(phi))
    assert result.ks < 0.02
    assert result.wasserstein < 0.05
    assert result.measured_zero_fraction == pytest.approx(mp_atom(phi))


@pytest.mark.slow
@pytest.mark.parametrize("phi", [0.5, 2.0])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_acceptance_gaussian_features_mp_n2000(phi, seed):
    n = 2000
    p = int(n / phi)
    J = gaussian_features(n, p, seed)
    lam = feature_eigenvalues(J, scale=1.0 / p)
    assert ks_distance(lam, mp_law(phi)) < 0.01
    if phi >= 1.5:
        # The dense N×N route must find exactly N − P zero modes too.
        report = spectrum_report(gram_eigenvalues(J @ J.T / p), phi=phi)
        assert report.n_zero == n - p


# --------------------------------------------------------------- Silverstein


def test_silverstein_identity_population_is_mp():
    phi = 0.7
    x = np.linspace(0.05, 3.0, 200)
    law = silverstein_law(np.ones(20), phi, grid=x)
    np.testing.assert_allclose(law.density, mp_density(x, phi), atol=1e-7)


def test_silverstein_moments_two_point_population():
    tau = np.r_[np.full(15, 0.5), np.full(5, 3.0)]
    phi = 0.4
    law = silverstein_law(tau, phi)
    assert law.mass_error < 1e-3
    first = np.trapezoid(law.x * law.density, law.x)
    second = np.trapezoid(law.x**2 * law.density, law.x)
    # (1/N) E tr K = mean τ,  (1/N) E tr K² = mean τ² + φ (mean τ)².
    assert first == pytest.approx(tau.mean(), rel=2e-3)
    assert second == pytest.approx(np.mean(tau**2) + phi * tau.mean() ** 2, rel=5e-3)


def test_silverstein_atom_and_stieltjes_in_upper_half_plane():
    tau = np.r_[np.zeros(5), np.ones(15)]
    assert silverstein_law(tau, 0.5, n_grid=200).atom == pytest.approx(0.25)
    assert silverstein_law(tau, 2.0, n_grid=200).atom == pytest.approx(0.5)
    m = silverstein_stieltjes(np.array([1.0 + 0.1j, 2.0 + 1e-6j]), np.ones(4), 0.5)
    assert np.all(m.imag > 0)


def _relu_spectra(d, phi, n=1000):
    X = sphere(n, d, seed=1, radius="sqrt_d")
    tau = gram_eigenvalues(nngp(X))  # E_w[J Jᵀ]: the exact arc-cosine Gram
    p = int(round(n / phi))
    lam = feature_eigenvalues(random_relu_features(X, p, seed=2))
    other = feature_eigenvalues(random_relu_features(X, p, seed=3))
    return tau, lam, other


@pytest.mark.slow
@pytest.mark.parametrize("phi", [0.5, 1.0, 2.0])
def test_acceptance_relu_features_silverstein_d200(phi):
    tau, lam, other = _relu_spectra(200, phi)
    law = silverstein_law(tau, phi)
    assert law.mass_error < 1e-2
    assert ks_distance(lam, law) < 0.015
    assert ks_two_sample(lam, other) < 0.015


@pytest.mark.slow
@pytest.mark.parametrize("phi", [0.5, 2.0])
def test_acceptance_relu_features_silverstein_fails_at_d3(phi):
    tau, lam, other = _relu_spectra(3, phi)
    law = silverstein_law(tau, phi)
    assert law.mass_error < 1e-2
    noise = ks_two_sample(lam, other)
    assert ks_distance(lam, law) > 4 * noise


# ------------------------------------------------------------------ distances


def test_ks_exact_for_quantiles_and_atom():
    law = mp_law(2.0)
    n = 1000
    u = (np.arange(n) + 0.5) / n
    # Quantiles of the law: the atom's share then the continuous quantiles.
    cont_u = (u[u > law.atom] - law.atom)
    xs = np.interp(cont_u, law.cumulative, law.x)
    lam = np.r_[np.zeros(np.count_nonzero(u <= law.atom)), xs]
    assert ks_distance(lam, law) <= 1.0 / n + 1e-6
    assert wasserstein_distance(lam, law) < 5e-3
    # Zero modes smeared by rounding are still counted as the atom.
    noisy = lam + np.where(lam == 0, 1e-15, 0.0)
    assert ks_distance(noisy, law) <= 1.0 / n + 1e-6
    # Missing the atom entirely is a KS error of its mass.
    assert ks_distance(xs, law) >= law.atom - 1e-9


def test_two_sample_and_snapping():
    a = np.array([0.0, 1e-18, 1.0, 2.0])
    assert ks_two_sample(a, a) == 0.0
    assert ks_two_sample(a, a + 10.0) == 1.0
    assert np.count_nonzero(snap_zeros(a) == 0) == 2


# ------------------------------------------------------------------ bad input


def test_bad_input_messages():
    with pytest.raises(ValueError, match="symmetric"):
        gram_eigenvalues(np.array([[1.0, 2.0], [0.0, 1.0]]))
    with pytest.raises(ValueError, match="phi must be > 0"):
        mp_law(0.0)
    with pytest.raises(ValueError, match="phi must be > 0"):
        silverstein_law(np.ones(3), -1.0)
    with pytest.raises(ValueError, match="non-negative"):
        silverstein_law(np.array([1.0, -0.5]), 1.0)
    with pytest.raises(ValueError, match="positive semi-definite"):
        spectrum_report(np.array([-1.0, 1.0]))
    with pytest.raises(TypeError, match="phi must be a real number"):
        mp_edges("2")
