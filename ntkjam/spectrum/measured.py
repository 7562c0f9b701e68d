"""Measured spectra: eigenvalues of a Gram matrix and the observables read from them.

Dense eigenproblems go through NumPy/SciPy LAPACK.  For features ``J`` of shape
``(N, P)`` the spectrum of ``J Jᵀ`` is taken from the smaller of the two Grams
(``J Jᵀ`` or ``Jᵀ J``) and padded with exact zeros, so ``N - P`` zero modes appear
exactly when ``N > P``.

Zero modes are counted with an explicit tolerance and reported together with the
*gap* across the cutoff (the ratio of the smallest eigenvalue kept to the largest one
discarded): near φ = 1 the smallest nonzero eigenvalue of a random Gram closes like
``(1 - sqrt(φ))²`` and a fixed cutoff can misclassify it; a small gap says so.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.linalg

from ntkjam._validate import as_float_array, as_real, as_square_symmetric
from ntkjam.core.reprs import SummaryRepr


def gram_eigenvalues(K: object) -> np.ndarray:
    """All eigenvalues of a symmetric matrix, ascending.

    Parameters
    ----------
    K : array_like, shape (N, N)
        Symmetric (to a relative 1e-10 of its largest entry).

    Returns
    -------
    numpy.ndarray, shape (N,)

    Examples
    --------
    >>> import numpy as np
    >>> from ntkjam.spectrum import gram_eigenvalues
    >>> gram_eigenvalues(np.array([[2.0, 1.0], [1.0, 2.0]])).round(12).tolist()
    [1.0, 3.0]
    """
    K = as_square_symmetric("K", K)
    if K.shape[0] == 0:
        return np.zeros(0)
    return scipy.linalg.eigvalsh(K, check_finite=False)


def feature_eigenvalues(J: object, *, scale: float = 1.0) -> np.ndarray:
    """Eigenvalues of ``scale · J Jᵀ`` from the smaller Gram, ascending, length N.

    Parameters
    ----------
    J : array_like, shape (N, P)
        Feature matrix.
    scale : float
        Positive factor (``1/P`` gives the sample-covariance normalisation of
        Marchenko–Pastur).

    Returns
    -------
    numpy.ndarray, shape (N,)
        When ``N > P`` the first ``N - P`` entries are exact zeros (the kernel of
        ``Jᵀ``); the remaining ones are the eigenvalues of ``scale · Jᵀ J``.

    Examples
    --------
    N = 6 points, P = 3 features: N − P = 3 exact zeros, the rest equal to the Gram's.

    >>> import numpy as np
    >>> from ntkjam.spectrum import feature_eigenvalues, gram_eigenvalues
    >>> J = np.random.default_rng(0).standard_normal((6, 3))
    >>> lam = feature_eigenvalues(J)
    >>> lam.shape, int(np.sum(lam == 0)), bool(np.allclose(lam, gram_eigenvalues(J @ J.T)))
    ((6,), 3, True)
    """
    J = as_float_array("J", J, ndim=2)
    scale = as_real("scale", scale, positive=True)
    n, p = J.shape
    if n == 0 or p == 0:
        return np.zeros(n)
    if n <= p:
        lam = scipy.linalg.eigvalsh(J @ J.T, check_finite=False)
    else:
        small = scipy.linalg.eigvalsh(J.T @ J, check_finite=False)
        lam = np.concatenate([np.zeros(n - p), small])
    return np.sort(scale * lam)


def expected_zero_fraction(phi: float) -> float:
    """Fraction of zero modes of ``J Jᵀ`` for generic ``J`` at φ = N/P: ``max(0, 1 - 1/φ)``."""
    phi = as_real("phi", phi, positive=True)
    return max(0.0, 1.0 - 1.0 / phi)


def default_zero_tolerance(n: int, largest: float) -> float:
    """Absolute cutoff below which an eigenvalue of an ``n × n`` Gram counts as zero.

    ``n · eps · λ_max``: the rounding error of a dense symmetric eigensolver, the
    convention of :func:`ntkjam.linalg.default_rank_tolerance`.
    """
    return n * np.finfo(np.float64).eps * largest


@dataclass(frozen=True, repr=False)
class SpectrumReport(SummaryRepr):
    """Observables of a PSD spectrum.

    Attributes
    ----------
    eigenvalues : numpy.ndarray, shape (N,)
        Ascending.
    tolerance : float
        Absolute cutoff: ``|λ| <= tolerance`` is a zero mode.
    n_zero : int
        Number of zero modes.
    zero_fraction : float
        ``n_zero / N``.
    expected_zero_fraction : float or None
        ``max(0, 1 - 1/φ)`` when φ was given.
    smallest_nonzero : float
        Smallest eigenvalue above the cutoff (``nan`` if there is none).
    largest : float
        Largest eigenvalue.
    gap : float
        ``smallest_nonzero / |largest zero mode|``: how clearly the zero modes are
        separated (``inf`` without zero modes or when they are exact zeros).  Below ~1e3 the count
        depends on the tolerance.
    participation_ratio : float
        ``(Σλ)² / Σλ²`` over the nonzero modes: an effective number of modes.
    entropy_rank : float
        ``exp(-Σ p log p)`` with ``p = λ / Σλ``: the effective rank of Roy & Vetterli.
    condition_number : float
        ``largest / smallest_nonzero`` (nan if there is no nonzero mode).

    Examples
    --------
    >>> import numpy as np
    >>> from ntkjam.spectrum import spectrum_report
    >>> rep = spectrum_report([0.0, 0.0, 1.0, 2.0], phi=2.0)
    >>> rep.n_zero, rep.rank, rep.zero_fraction, rep.expected_zero_fraction, rep.largest
    (2, 2, 0.5, 0.5, 2.0)
    """

    eigenvalues: np.ndarray
    tolerance: float
    n_zero: int
    zero_fraction: float
    expected_zero_fraction: float | None
    smallest_nonzero: float
    largest: float
    gap: float
    participation_ratio: float
    entropy_rank: float
    condition_number: float

    @property
    def n(self) -> int:
        """Number of eigenvalues N.

        Examples
        --------
        >>> from ntkjam.spectrum import spectrum_report
        >>> spectrum_report([0.0, 1.0, 2.0]).n
        3
        """
        return int(self.eigenvalues.size)

    @property
    def rank(self) -> int:
        """Number of nonzero modes, ``n - n_zero``.

        Examples
        --------
        >>> from ntkjam.spectrum import spectrum_report
        >>> spectrum_report([0.0, 0.0, 1.0, 2.0]).rank
        2
        """
        return self.n - self.n_zero


def spectrum_report(
    eigenvalues: object,
    *,
    phi: float | None = None,
    rtol: float | None = None,
    atol: float | None = None,
) -> SpectrumReport:
    """Zero modes, smallest nonzero eigenvalue, gap and effective ranks of a spectrum.

    Parameters
    ----------
    eigenvalues : array_like, shape (N,)
        Eigenvalues of a positive semi-definite matrix (any order).  Slightly
        negative values within the tolerance are rounding; a value below
        ``-tolerance`` raises ``ValueError``.
    phi : float, optional
        φ = N/P, to report the expected zero fraction ``max(0, 1 - 1/φ)``.
    rtol : float, optional
        Relative cutoff (times ``λ_max``).  Default ``N · eps``.
    atol : float, optional
        Absolute cutoff; overrides ``rtol``.

    Returns
    -------
    SpectrumReport

    Examples
    --------
    At φ = N/P = 2 half of the modes of J Jᵀ are zero, as Marchenko–Pastur predicts:

    >>> import numpy as np
    >>> from ntkjam.spectrum import feature_eigenvalues, spectrum_report
    >>> J = np.random.default_rng(0).standard_normal((6, 3))
    >>> rep = spectrum_report(feature_eigenvalues(J), phi=2.0)
    >>> rep.n_zero, rep.zero_fraction == rep.expected_zero_fraction, rep.gap
    (3, True, inf)
    """
    lam = np.sort(as_float_array("eigenvalues", eigenvalues, ndim=1))
    n = lam.size
    if n == 0:
        raise ValueError("eigenvalues must contain at least one value, got an empty array")
    expected = expected_zero_fraction(phi) if phi is not None else None
    largest = float(max(lam[-1], 0.0))
    if atol is not None:
        tol = as_real("atol", atol, nonnegative=True)
    elif rtol is not None:
        tol = as_real("rtol", rtol, nonnegative=True) * largest
    else:
        tol = default_zero_tolerance(n, largest)
    if lam[0] < -max(tol, 1e-12 * largest):
        raise ValueError(
            f"eigenvalues must be those of a positive semi-definite matrix, got "
            f"{lam[0]:.3g} (largest {largest:.3g}, tolerance {tol:.3g})"
        )
    zero = np.abs(lam) <= tol
    n_zero = int(np.count_nonzero(zero))
    nonzero = lam[~zero]
    if nonzero.size:
        smallest = float(nonzero[0])
        total = float(nonzero.sum())
        pr = total**2 / float(np.sum(nonzero**2))
        p = nonzero / total
        entropy_rank = float(np.exp(-np.sum(p * np.log(p))))
        cond = largest / smallest
    else:
        smallest = pr = entropy_rank = cond = float("nan")
    if n_zero and nonzero.size:
        biggest_zero = float(np.max(np.abs(lam[zero])))
        gap = smallest / biggest_zero if biggest_zero > 0 else float("inf")
    else:
        gap = float("inf")
    return SpectrumReport(
        eigenvalues=lam,
        tolerance=float(tol),
        n_zero=n_zero,
        zero_fraction=n_zero / n,
        expected_zero_fraction=expected,
        smallest_nonzero=smallest,
        largest=largest,
        gap=gap,
        participation_ratio=float(pr),
        entropy_rank=entropy_rank,
        condition_number=float(cond),
    )
