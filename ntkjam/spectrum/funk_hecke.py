"""Funk–Hecke eigenvalues of dot-product kernels on the sphere S^{d-1}.

A kernel ``K(x, x') = κ(x·x')`` on the unit sphere is diagonalised by spherical
harmonics: degree k has multiplicity ``N(d, k) = (2k+d-2)/k · C(k+d-3, k-1)`` and
eigenvalue (for the *uniform probability* measure on the sphere)

    μ_k = (|S^{d-2}| / |S^{d-1}|) ∫_{-1}^{1} κ(t) P_k(t) (1 - t²)^{(d-3)/2} dt,

with ``P_k`` the Legendre polynomial of dimension d normalised to ``P_k(1) = 1``
(Gegenbauer ``C_k^{(d-2)/2}`` rescaled).  Then ``κ(t) = Σ_k μ_k N(d, k) P_k(t)``
(the resummation check), and the Gram matrix of N uniform points has eigenvalues
close to ``N μ_k``, each repeated ``N(d, k)`` times.

The integral is computed in ``θ = arccos t`` by Gauss–Legendre quadrature:
``∫_0^π κ(cos θ) P_k(cos θ) sin^{d-2} θ dθ``.  ReLU-type kernels are not smooth in
``t`` at ``t = ±1`` (``sin θ = √(1-t²)``) but are analytic in θ, so the quadrature
converges exponentially and odd coefficients that vanish are resolved to rounding.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.special import gammaln, roots_legendre

from ntkjam._validate import as_float_array, as_int, as_real
from ntkjam.core.deprecation import renamed_keywords
from ntkjam.core.reprs import SummaryRepr


def _check_d(d: object) -> int:
    d = as_int("d", d)
    if d < 2:
        raise ValueError(f"d must be >= 2 (the sphere S^(d-1) in R^d), got {d}")
    return d


def harmonic_multiplicity(d: int, k: int) -> int:
    """``N(d, k)``: the number of independent spherical harmonics of degree k in R^d.

    Examples
    --------
    >>> from ntkjam.spectrum import harmonic_multiplicity
    >>> [harmonic_multiplicity(3, k) for k in range(4)]  # 2k + 1 on the 2-sphere
    [1, 3, 5, 7]
    """
    d = _check_d(d)
    k = as_int("k", k, minimum=0)
    if k == 0:
        return 1
    return (2 * k + d - 2) * math.comb(k + d - 3, k - 1) // k


def legendre_table(k_max: int, t: object, d: int) -> np.ndarray:
    """Legendre polynomials of dimension d, ``P_k(t)`` for ``k = 0..k_max``.

    Normalised to ``P_k(1) = 1``; three-term recurrence
    ``(k+d-2) P_{k+1} = (2k+d-2) t P_k - k P_{k-1}`` (Legendre for d = 3,
    Chebyshev for d = 2), stable for ``|t| <= 1``.

    Returns
    -------
    numpy.ndarray, shape (k_max + 1, len(t))
    """
    d = _check_d(d)
    k_max = as_int("k_max", k_max, minimum=0)
    t = as_float_array("t", t, ndim=1)
    P = np.empty((k_max + 1, t.size))
    P[0] = 1.0
    if k_max >= 1:
        P[1] = t
    for k in range(1, k_max):
        P[k + 1] = ((2 * k + d - 2) * t * P[k] - k * P[k - 1]) / (k + d - 2)
    return P


def sphere_area_ratio(d: int) -> float:
    """``|S^{d-2}| / |S^{d-1}| = Γ(d/2) / (√π Γ((d-1)/2))``."""
    d = _check_d(d)
    return float(np.exp(gammaln(d / 2) - gammaln((d - 1) / 2)) / np.sqrt(np.pi))


def kernel_on_sphere(
    kernel_fn: Callable[..., object], d: int, *, radius: float = 1.0, **kwargs: object
) -> Callable[[np.ndarray], np.ndarray]:
    """Turn an X-based kernel into its profile ``κ(t)`` on the sphere of ``radius``.

    ``κ(t) = kernel_fn(r e₁, r (t e₁ + √(1-t²) e₂))`` in R^d: two points whose
    cosine is t.  Works for any rotation-invariant kernel, e.g.
    ``kernel_on_sphere(ntkjam.kernels.analytic.ntk, 3, depth=2)``.

    Parameters
    ----------
    kernel_fn : callable
        ``kernel_fn(X1, X2, **kwargs) -> (N1, N2)``.
    d : int
        Input dimension (>= 2).
    radius : float
        Radius of the sphere the inputs live on.
    **kwargs
        Passed to ``kernel_fn``.

    Returns
    -------
    callable
        ``profile(t)``: the kernel's function κ of the cosine, for a 1-D array of
        cosines in [-1, 1].

    Examples
    --------
    The linear kernel x·x' on the sphere of radius 2 has the profile κ(t) = 4 t:

    >>> import numpy as np
    >>> from ntkjam.spectrum import kernel_on_sphere
    >>> profile = kernel_on_sphere(lambda X1, X2: X1 @ X2.T, 3, radius=2.0)
    >>> profile(np.array([-1.0, 0.0, 0.5])).tolist()
    [-4.0, 0.0, 2.0]
    """
    if not callable(kernel_fn):
        raise TypeError(f"kernel_fn must be callable, got {kernel_fn!r}")
    d = _check_d(d)
    radius = as_real("radius", radius, positive=True)

    def profile(t: np.ndarray) -> np.ndarray:
        t = np.clip(np.asarray(t, dtype=np.float64).ravel(), -1.0, 1.0)
        X1 = np.zeros((1, d))
        X1[0, 0] = radius
        X2 = np.zeros((t.size, d))
        X2[:, 0] = radius * t
        X2[:, 1] = radius * np.sqrt(1.0 - t**2)
        return np.asarray(kernel_fn(X1, X2, **kwargs), dtype=np.float64)[0]

    return profile


def _eval_profile(profile: Callable, t: np.ndarray) -> np.ndarray:
    values = np.asarray(profile(t), dtype=np.float64)
    if values.shape != t.shape:
        raise ValueError(
            f"profile must return one value per cosine (shape {t.shape}), got shape {values.shape}"
        )
    if not np.all(np.isfinite(values)):
        raise ValueError("profile must return finite values on [-1, 1], got NaN or inf")
    return values


@dataclass(frozen=True, repr=False)
class FunkHecke(SummaryRepr):
    """Funk–Hecke decomposition of a dot-product kernel on S^{d-1}.

    Attributes
    ----------
    d : int
        Ambient dimension.
    mu : numpy.ndarray, shape (k_max + 1,)
        Eigenvalues μ_k for the uniform probability measure on the sphere.
    multiplicity : numpy.ndarray of float, shape (k_max + 1,)
        ``N(d, k)`` (float so that large d does not overflow integer arithmetic).
    n_nodes : int
        Quadrature nodes used.

    Examples
    --------
    >>> import numpy as np
    >>> from ntkjam.spectrum import funk_hecke
    >>> fh = funk_hecke(np.exp, 3, 6)
    >>> fh.mu.shape, fh.multiplicity.tolist()[:3], bool(np.all(fh.mu > 0))  # exp is PD on S²
    ((7,), [1.0, 3.0, 5.0], True)
    >>> t = np.array([-1.0, 0.3, 1.0])
    >>> bool(np.allclose(fh.resum(t, 6), np.exp(t), atol=1e-5))
    True
    """

    d: int
    mu: np.ndarray
    multiplicity: np.ndarray
    n_nodes: int

    @property
    def k_max(self) -> int:
        """Highest degree computed (``mu.size - 1``).

        Examples
        --------
        >>> from ntkjam.spectrum import funk_hecke
        >>> funk_hecke(lambda t: t, 3, 5).k_max
        5
        """
        return self.mu.size - 1

    def resum(self, t: object, K: int | None = None) -> np.ndarray:
        """``Σ_{k<=K} μ_k N(d,k) P_k(t)``: the kernel rebuilt from its coefficients.

        Parameters
        ----------
        t : array_like, shape (M,)
            Cosines in [-1, 1].
        K : int, optional
            Highest degree summed (default :attr:`k_max`).

        Returns
        -------
        numpy.ndarray, shape (M,)

        Examples
        --------
        κ(t) = t has the single coefficient μ₁ = 1/3 on S², which rebuilds it exactly:

        >>> from ntkjam.spectrum import funk_hecke
        >>> funk_hecke(lambda t: t, 3, 2).resum([1.0, -0.5]).round(12).tolist()
        [1.0, -0.5]
        """
        K = self.k_max if K is None else as_int("K", K, minimum=0)
        if K > self.k_max:
            raise ValueError(f"K must be <= k_max = {self.k_max}, got {K}")
        t = as_float_array("t", t, ndim=1)
        P = legendre_table(K, t, self.d)
        return (self.mu[: K + 1] * self.multiplicity[: K + 1]) @ P

    def gram_spectrum(self, n: int) -> np.ndarray:
        """Predicted eigenvalues of the Gram matrix of ``n`` uniform points, ascending.

        The ``n`` largest of ``n μ_k`` counted ``N(d, k)`` times.  Raises
        ``ValueError`` when the computed degrees hold fewer than ``n`` modes.

        Returns
        -------
        numpy.ndarray, shape (n,)

        Examples
        --------
        κ(t) = t on S²: the 3 degree-1 harmonics, each with ``n μ₁ = n/3``:

        >>> from ntkjam.spectrum import funk_hecke
        >>> funk_hecke(lambda t: t, 3, 2).gram_spectrum(3).round(12).tolist()
        [1.0, 1.0, 1.0]
        """
        n = as_int("n", n, minimum=1)
        total = float(self.multiplicity.sum())
        if total < n:
            raise ValueError(
                f"n must be <= the {int(total)} modes of degrees 0..{self.k_max}; "
                "compute more degrees (k_max) for this many points"
            )
        order = np.argsort(-self.mu, kind="stable")
        counts = self.multiplicity[order].astype(np.int64)
        values = np.repeat(n * self.mu[order], counts)[:n]
        return np.sort(values)

    def decay_exponent(
        self, k_min: int, k_max: int, *, parity: str = "all", rtol: float = 1e-12
    ) -> float:
        """Slope of ``log μ_k`` against ``log k`` over ``k_min <= k <= k_max``.

        Parameters
        ----------
        k_min, k_max : int
            Range of degrees (``1 <= k_min < k_max <= self.k_max``).
        parity : {"all", "even", "odd"}
            Which degrees to fit (ReLU kernels: odd μ_k vanish for k >= 3).
        rtol : float
            Coefficients ``<= rtol μ₀`` are treated as zero and skipped.

        Returns
        -------
        float
            The fitted exponent (e.g. ≈ -d for the ReLU NTK on S^{d-1}).

        Examples
        --------
        The arc-cosine kernel of order 0, ``1 - arccos(t)/π``, has odd coefficients
        falling like ``k^-d`` on S^{d-1} (its even ones vanish for k ≥ 2):

        >>> import numpy as np
        >>> from ntkjam.spectrum import funk_hecke
        >>> fh = funk_hecke(lambda t: 1 - np.arccos(t) / np.pi, 3, 41)
        >>> round(fh.decay_exponent(11, 41, parity="odd"), 1)
        -2.9
        """
        k_min = as_int("k_min", k_min, minimum=1)
        k_max = as_int("k_max", k_max, minimum=k_min + 1)
        if k_max > self.k_max:
            raise ValueError(f"k_max must be <= {self.k_max}, got {k_max}")
        if parity not in ("all", "even", "odd"):
            raise ValueError(f"parity must be one of ['all', 'even', 'odd'], got {parity!r}")
        k = np.arange(k_min, k_max + 1)
        if parity != "all":
            k = k[k % 2 == (0 if parity == "even" else 1)]
        mu = self.mu[k]
        keep = mu > rtol * abs(self.mu[0])
        if np.count_nonzero(keep) < 2:
            raise ValueError(
                f"fewer than two nonzero coefficients among degrees {k_min}..{k_max} "
                f"({parity}) to fit"
            )
        slope, _ = np.polyfit(np.log(k[keep]), np.log(mu[keep]), 1)
        return float(slope)


@renamed_keywords(kappa="profile")
def funk_hecke(
    profile: Callable[[np.ndarray], object],
    d: int,
    k_max: int,
    *,
    n_nodes: int | None = None,
) -> FunkHecke:
    """Funk–Hecke eigenvalues μ_k, k = 0..k_max, of the dot-product kernel κ on S^{d-1}.

    Parameters
    ----------
    profile : callable
        The kernel's profile κ: ``profile(t) -> values`` for a 1-D array of cosines in
        [-1, 1].  Use :func:`kernel_on_sphere` to get it from an X-based kernel.  The
        old keyword ``kappa=`` is accepted for one release (``DeprecationWarning``).
    d : int
        Ambient dimension (>= 2).
    k_max : int
        Highest degree.
    n_nodes : int, optional
        Gauss–Legendre nodes in θ (default ``2 k_max + 200``).

    Returns
    -------
    FunkHecke

    Examples
    --------
    κ(t) = t is the degree-1 Legendre polynomial: only μ₁ = 1/N(3, 1) = 1/3 is non-zero.

    >>> import numpy as np
    >>> from ntkjam.spectrum import funk_hecke
    >>> bool(np.allclose(funk_hecke(lambda t: t, 3, 3).mu, [0, 1 / 3, 0, 0], atol=1e-12))
    True
    """
    if not callable(profile):
        raise TypeError(
            f"profile must be callable (a function of the cosine t), got {profile!r}")
    d = _check_d(d)
    k_max = as_int("k_max", k_max, minimum=0)
    n_nodes = 2 * k_max + 200 if n_nodes is None else as_int("n_nodes", n_nodes, minimum=2)
    s, w = roots_legendre(n_nodes)
    theta = 0.5 * np.pi * (s + 1.0)
    w = 0.5 * np.pi * w
    t = np.cos(theta)
    weight = w * np.sin(theta) ** (d - 2) * _eval_profile(profile, t)
    mu = sphere_area_ratio(d) * (legendre_table(k_max, t, d) @ weight)
    mult = np.array([float(harmonic_multiplicity(d, k)) for k in range(k_max + 1)])
    return FunkHecke(d=d, mu=mu, multiplicity=mult, n_nodes=n_nodes)


@renamed_keywords(kappa="profile")
def truncation_error(
    profile: Callable[[np.ndarray], object],
    result: FunkHecke,
    K: int,
    *,
    n_points: int = 2001,
    relative: bool = True,
) -> float:
    """``sup_t |κ(t) - Σ_{k<=K} μ_k N(d,k) P_k(t)|`` on a grid of [-1, 1] (t = ±1 included).

    ``profile`` is the kernel's function κ of the cosine t (as for :func:`funk_hecke`;
    the old keyword ``kappa=`` is accepted for one release).  With ``relative`` the
    error is divided by ``sup_t |κ(t)|``.

    Examples
    --------
    >>> import numpy as np
    >>> from ntkjam.spectrum import funk_hecke, truncation_error
    >>> fh = funk_hecke(np.exp, 3, 8)
    >>> truncation_error(np.exp, fh, 2) > 1e-3 > 1e-6 > truncation_error(np.exp, fh, 8)
    True
    """
    if not callable(profile):
        raise TypeError(f"profile must be callable, got {profile!r}")
    n_points = as_int("n_points", n_points, minimum=2)
    t = np.cos(np.linspace(0.0, np.pi, n_points))
    exact = _eval_profile(profile, t)
    err = float(np.max(np.abs(exact - result.resum(t, K))))
    return err / float(np.max(np.abs(exact))) if relative else err
