"""Dense linear algebra shared by the solvers: ranks, PSD factors, Gram products.

Dense eigenproblems on the CPU go through NumPy/SciPy LAPACK (JAX's CPU
``eigh`` is several times slower and always computes eigenvectors).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.linalg

from ntkjam._validate import as_float_array, as_real, as_square_symmetric
from ntkjam.core.reprs import SummaryRepr


def default_rank_tolerance(shape: tuple[int, int], largest: float) -> float:
    """The default absolute cutoff for singular values: ``max(shape) * eps * largest``.

    This is the convention of ``numpy.linalg.matrix_rank`` (and of LAPACK's rank-
    revealing routines): singular values below the rounding error of the largest
    one, accumulated over ``max(shape)`` operations, are zero.

    Parameters
    ----------
    shape : tuple of int
        ``(N, P)``, the shape of the matrix.
    largest : float
        Its largest singular value.

    Returns
    -------
    float
        The absolute cutoff.

    Examples
    --------
    >>> import numpy as np
    >>> from ntkjam.linalg import default_rank_tolerance
    >>> bool(default_rank_tolerance((10, 4), 2.0) == 10 * np.finfo(float).eps * 2.0)
    True
    """
    return max(shape) * np.finfo(np.float64).eps * largest


def rank_cutoff(
    shape: tuple[int, int], largest: float, *, rtol: float | None = None,
    atol: float | None = None,
) -> float:
    """The one rank rule: the absolute cutoff below which a singular value is zero.

    ``atol`` if given, else ``rtol · largest``, else :func:`default_rank_tolerance`
    (``max(shape) · eps · largest``).  Used for singular values of J and, with the
    eigenvalues of K, for its factor.

    Parameters
    ----------
    shape : tuple of int
        ``(N, P)``, the shape of the matrix.
    largest : float
        Its largest singular value (or eigenvalue, for a PSD matrix).
    rtol, atol : float, optional
        Relative or absolute cutoff; ``atol`` wins when both are given.

    Returns
    -------
    float
        The absolute cutoff.

    Examples
    --------
    >>> from ntkjam.linalg import default_rank_tolerance, rank_cutoff
    >>> rank_cutoff((3, 3), 4.0, rtol=0.25), rank_cutoff((3, 3), 4.0, rtol=0.25, atol=0.5)
    (1.0, 0.5)
    >>> bool(rank_cutoff((3, 3), 4.0) == default_rank_tolerance((3, 3), 4.0))
    True
    """
    if atol is not None:
        return as_real("atol", atol, nonnegative=True)
    if rtol is not None:
        return as_real("rtol", rtol, nonnegative=True) * largest
    return default_rank_tolerance(shape, largest)


@dataclass(frozen=True, repr=False)
class RankReport(SummaryRepr):
    """Numerical rank of a matrix and how clearly it is determined.

    Attributes
    ----------
    rank : int
        Number of singular values above ``tolerance``.
    tolerance : float
        Absolute cutoff used.
    singular_values : numpy.ndarray, shape (min(N, P),)
        All singular values, descending.
    gap : float
        ``s[rank-1] / s[rank]``, the ratio across the cutoff (``inf`` when the
        matrix has full rank or rank 0).  A small gap (say < 1e3) means the rank
        depends on the tolerance: near φ = 1 the smallest nonzero singular value
        of a random matrix closes like ``1 - sqrt(φ)``.

    Examples
    --------
    >>> import numpy as np
    >>> from ntkjam.linalg import rank_report
    >>> r = rank_report(np.diag([1.0, 1e-3, 0.0]))
    >>> r.rank, r.singular_values.shape, bool(r.gap > 1e10)     # zero across the cutoff
    (2, (3,), True)
    """

    rank: int
    tolerance: float
    singular_values: np.ndarray
    gap: float


def rank_report(
    A: object, *, rtol: float | None = None, atol: float | None = None
) -> RankReport:
    """Numerical rank of ``A`` with the singular-value gap across the cutoff.

    Parameters
    ----------
    A : array_like, shape (N, P)
    rtol : float, optional
        Relative cutoff: singular values ``<= rtol * s_max`` count as zero.
        Default: ``max(N, P) * eps`` (see :func:`default_rank_tolerance`).
    atol : float, optional
        Absolute cutoff; overrides ``rtol`` if given.

    Returns
    -------
    RankReport

    Examples
    --------
    A rank-2 product of a (5, 2) and a (2, 4) matrix:

    >>> import numpy as np
    >>> from ntkjam.linalg import rank_report
    >>> rng = np.random.default_rng(0)
    >>> r = rank_report(rng.standard_normal((5, 2)) @ rng.standard_normal((2, 4)), rtol=1e-10)
    >>> r.rank, r.singular_values.shape, r.gap > 1e10
    (2, (4,), True)
    """
    A = as_float_array("A", A, ndim=2)
    s = scipy.linalg.svdvals(A, check_finite=False) if A.size else np.zeros(0)
    largest = float(s[0]) if s.size else 0.0
    tol = rank_cutoff(A.shape, largest, rtol=rtol, atol=atol)
    rank = int(np.count_nonzero(s > tol))
    if 0 < rank < s.size:
        gap = float(s[rank - 1] / s[rank]) if s[rank] > 0 else np.inf
    else:
        gap = np.inf
    return RankReport(rank=rank, tolerance=float(tol), singular_values=s, gap=gap)


def numerical_rank(A: object, *, rtol: float | None = None, atol: float | None = None) -> int:
    """Numerical rank of ``A``: the number of singular values above the tolerance.

    See :func:`rank_report` for the tolerance convention and the gap diagnostic.

    Parameters
    ----------
    A : array_like, shape (N, P)
    rtol, atol : float, optional
        As in :func:`rank_report`.

    Returns
    -------
    int

    Examples
    --------
    >>> import numpy as np
    >>> from ntkjam.linalg import numerical_rank
    >>> numerical_rank(np.ones((4, 3)), rtol=1e-10), numerical_rank(np.eye(3))
    (1, 3)
    >>> numerical_rank(np.diag([1, 1e-3]), rtol=1e-2)
    1
    """
    return rank_report(A, rtol=rtol, atol=atol).rank


def live_rows(A: object) -> np.ndarray:
    """Rows of ``A`` that are not identically zero, shape (N,) of bool.

    A zero row of features ``J`` (or of a PSD Gram ``K``) is an input the model cannot
    move at all, e.g. a dead input of a ReLU network.  The test is exact (``!= 0``):
    such rows are recognised before any factorisation, never after rounding.

    Parameters
    ----------
    A : array_like, shape (N, P)

    Returns
    -------
    numpy.ndarray of bool, shape (N,)

    Examples
    --------
    >>> import numpy as np
    >>> from ntkjam.linalg import live_rows
    >>> live_rows(np.array([[0.0, 0.0], [1e-300, 0.0], [1.0, 2.0]])).tolist()
    [False, True, True]
    """
    A = np.asarray(A)
    if A.ndim != 2:
        raise ValueError(f"A must be a 2-d array, got shape {A.shape}")
    return np.any(A != 0, axis=1)


def psd_features(
    K: object, *, rtol: float | None = None, atol: float | None = None
) -> np.ndarray:
    """Features ``J = U Λ^{1/2}`` of a positive semi-definite Gram matrix.

    Only the eigenpairs above the tolerance are kept, so ``J`` has shape
    ``(N, r)`` with ``r`` the numerical rank and ``J Jᵀ`` equals ``K`` up to the
    discarded eigenvalues.

    Parameters
    ----------
    K : array_like, shape (N, N)
        Symmetric positive semi-definite.
    rtol, atol : float, optional
        Eigenvalues ``<= rtol * λ_max`` (or ``<= atol``) are dropped.  Default
        ``rtol = N * eps``.  An eigenvalue below ``-tolerance`` means ``K`` is not
        PSD and raises ``ValueError``.

    Returns
    -------
    numpy.ndarray, shape (N, r)
        Rows of ``K`` that are exactly zero give exactly zero rows.

    Examples
    --------
    A rank-2 Gram matrix of 4 points gives 2 features that reproduce it:

    >>> import numpy as np
    >>> from ntkjam.linalg import psd_features
    >>> F = np.array([[1.0, 0.0], [0.0, 2.0], [1.0, 1.0], [0.0, 0.0]])
    >>> J = psd_features(F @ F.T, rtol=1e-10)
    >>> J.shape, np.allclose(J @ J.T, F @ F.T), bool(np.all(J[3] == 0))
    ((4, 2), True, True)
    """
    K = as_square_symmetric("K", K)
    # Exactly zero rows (dead inputs) are kept out of the eigenproblem: an eigenvector
    # solver would give them rounding-noise components, which a solver working in these
    # coordinates could then "fit" with huge weights.  Their feature rows are exact zeros.
    live = live_rows(K)
    if live.all():
        lam, U = scipy.linalg.eigh(K, check_finite=False)
    else:
        lam, U_live = scipy.linalg.eigh(K[np.ix_(live, live)], check_finite=False)
        U = np.zeros((K.shape[0], U_live.shape[1]))
        U[live] = U_live
    largest = float(max(abs(lam[-1]), abs(lam[0]))) if lam.size else 0.0
    tol = rank_cutoff(K.shape, largest, rtol=rtol, atol=atol)
    if lam.size and lam[0] < -max(tol, 1e-12 * largest):
        raise ValueError(
            f"K must be positive semi-definite, got smallest eigenvalue {lam[0]:.3g} "
            f"(largest {largest:.3g})"
        )
    keep = lam > tol
    return U[:, keep] * np.sqrt(lam[keep])
