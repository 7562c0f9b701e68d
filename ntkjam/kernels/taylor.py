"""Truncated Taylor features of the Gaussian kernel: an exact finite-rank feature map.

``taylor_features(X, k)`` has one column per multi-index α with |α| ≤ k,
``e^{−‖x‖²/2ℓ²} (x/ℓ)^α / √(α!)``, so that its Gram is exactly
:func:`taylor_kernel` (the Gaussian kernel's Taylor series cut at degree k).  On the
sphere the monomials are dependent and the rank is :func:`taylor_rank_on_sphere`, below
:func:`taylor_feature_count`.  Re-exported by :mod:`ntkjam.kernels.features`.
"""

from __future__ import annotations

from math import comb

import numpy as np

from ntkjam._validate import (
    as_inputs,
    as_int,
    as_real,
    check_finite_result,
)

__all__ = [
    "MAX_TAYLOR_ENTRIES",
    "taylor_exponents",
    "taylor_feature_count",
    "taylor_features",
    "taylor_kernel",
    "taylor_rank_on_sphere",
]

#: Largest ``N × (number of Taylor features)`` that :func:`taylor_features` builds
#: (2**27 float64 entries = 1 GiB); beyond it the call raises ``ValueError``.
MAX_TAYLOR_ENTRIES = 2**27


def _check_taylor_dims(d: int, degree: int) -> tuple[int, int]:
    return as_int("d", d, minimum=1), as_int("degree", degree, minimum=0)


def taylor_feature_count(d: int, degree: int) -> int:
    """Number of Taylor features: monomials of degree ≤ k in d variables, C(d + k, k).

    Examples
    --------
    >>> from ntkjam.kernels.features import taylor_feature_count
    >>> taylor_feature_count(3, 2), taylor_feature_count(10, 0)     # C(5, 2), 1
    (10, 1)
    """
    d, degree = _check_taylor_dims(d, degree)
    return comb(d + degree, degree)


def _harmonic_dimension(d: int, k: int) -> int:
    """N(d, k): dimension of the degree-k spherical harmonics on S^{d-1}."""
    if k == 0:
        return 1
    return (2 * k + d - 2) * comb(k + d - 3, k - 1) // k


def taylor_rank_on_sphere(d: int, degree: int) -> int:
    """Rank of the Taylor features of points spread over a sphere in R^d (d ≥ 2).

    On a sphere every feature is a monomial of degree ≤ k times one constant
    ``exp(−r²/2ℓ²)``: the rank is the dimension of the polynomials of degree ≤ k on the
    sphere, ``Σ_{j≤k} N(d, j) = C(d+k−1, k) + C(d+k−2, k−1)`` (N(d, j) the number of
    degree-j spherical harmonics), reached by N ≥ that many generic points.

    Examples
    --------
    >>> from ntkjam.data import sphere
    >>> from ntkjam.kernels.features import taylor_features, taylor_rank_on_sphere
    >>> from ntkjam.linalg import numerical_rank
    >>> J = taylor_features(sphere(40, 3, seed=0), 2)        # on S²: 1 + 3 + 5 of 10 monomials
    >>> taylor_rank_on_sphere(3, 2), numerical_rank(J, rtol=1e-10)
    (9, 9)
    """
    d, degree = _check_taylor_dims(d, degree)
    if d < 2:
        raise ValueError(f"d must be >= 2 for the sphere S^(d-1), got {d}")
    return sum(_harmonic_dimension(d, j) for j in range(degree + 1))


def _taylor_plan(d: int, degree: int) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """For each degree j = 1..k: (parent column, new variable, α!) of every monomial.

    A degree-j monomial is a sorted tuple of variable indices l₁ ≤ ... ≤ l_j; it is
    its parent (the first j − 1 indices, a degree-(j−1) monomial) times x_{l_j} with
    l_j ≥ the parent's last index.  Columns are ordered degree by degree, then
    lexicographically (the order of ``itertools.combinations_with_replacement``).
    """
    last = np.zeros(1, dtype=np.int64)  # degree 0: the empty monomial
    run = np.zeros(1, dtype=np.int64)  # multiplicity of the last index
    fact = np.ones(1, dtype=np.float64)  # α! = Π_l α_l!
    plan = []
    for _ in range(degree):
        counts = d - last
        parent = np.repeat(np.arange(last.size), counts)
        starts = np.cumsum(counts) - counts
        new = last[parent] + (np.arange(parent.size) - starts[parent])
        run = np.where(new == last[parent], run[parent] + 1, 1)
        fact = fact[parent] * run
        last = new
        plan.append((parent, new, fact))
    return plan


def taylor_exponents(d: int, degree: int) -> np.ndarray:
    """Multi-indices α (|α| ≤ k) of the Taylor features, in column order.

    Returns
    -------
    numpy.ndarray, shape (C(d + k, k), d), int64
        Row q is the exponent vector of column q of :func:`taylor_features`.

    Examples
    --------
    >>> from ntkjam.kernels.features import taylor_exponents
    >>> taylor_exponents(2, 2).tolist()
    [[0, 0], [1, 0], [0, 1], [2, 0], [1, 1], [0, 2]]
    """
    d, degree = _check_taylor_dims(d, degree)
    blocks = [np.zeros((1, d), dtype=np.int64)]
    for parent, new, _ in _taylor_plan(d, degree):
        alpha = blocks[-1][parent].copy()
        alpha[np.arange(new.size), new] += 1
        blocks.append(alpha)
    return np.vstack(blocks)


def taylor_features(X: object, degree: int, *, lengthscale: float = 1.0) -> np.ndarray:
    """Explicit features of the Gaussian kernel's Taylor series truncated at degree k.

    With ``exp(−‖x−x'‖²/2ℓ²) = e^{−‖x‖²/2ℓ²} e^{−‖x'‖²/2ℓ²} exp(x·x'/ℓ²)`` and the
    multinomial expansion ``(x·x')^j / j! = Σ_{|α|=j} x^α x'^α / α!``, the feature
    of multi-index α (all |α| ≤ k, see :func:`taylor_exponents`) is

        J[i, α] = e^{−‖x_i‖²/2ℓ²} (x_i/ℓ)^α / √(α!),

    so that exactly (to rounding; :func:`taylor_kernel`)

        J Jᵀ = e^{−‖x‖²/2ℓ²} e^{−‖x'‖²/2ℓ²} Σ_{j=0}^{k} (x·x'/ℓ²)^j / j!.

    **Feature count versus rank.**  There are ``C(d + k, k)`` features
    (:func:`taylor_feature_count`), the rank of ``J`` for generic points in R^d.  On a
    sphere ‖x‖ = r, ``x^β ‖x‖² = r² x^β`` gives one linear relation per monomial of
    degree ≤ k − 2: the rank is ``C(d+k−1, k) + C(d+k−2, k−1)``
    (:func:`taylor_rank_on_sphere`), e.g. 25 of 35 features for d = 3, k = 4 on S².

    Parameters
    ----------
    X : array_like, shape (N, d)
        Inputs (not modified).
    degree : int
        Truncation degree k ≥ 0.
    lengthscale : float
        ℓ > 0.

    Returns
    -------
    numpy.ndarray, shape (N, C(d + k, k)), float64

    Raises
    ------
    ValueError
        If ``N · C(d + k, k)`` exceeds :data:`MAX_TAYLOR_ENTRIES`.

    Examples
    --------
    >>> import numpy as np
    >>> from ntkjam.kernels.features import taylor_features, taylor_kernel
    >>> X = np.random.default_rng(0).standard_normal((4, 2)); J = taylor_features(X, 3)
    >>> J.shape, np.allclose(J @ J.T, taylor_kernel(X, degree=3))      # C(2 + 3, 3) = 10
    ((4, 10), True)
    """
    X = as_inputs("X", X)
    degree = as_int("degree", degree, minimum=0)
    lengthscale = as_real("lengthscale", lengthscale, positive=True)
    N, d = X.shape
    count = comb(d + degree, degree)
    if N * count > MAX_TAYLOR_ENTRIES:
        raise ValueError(
            f"taylor_features would build N x C(d+k, k) = {N} x {count} entries, more than "
            f"MAX_TAYLOR_ENTRIES = {MAX_TAYLOR_ENTRIES}; lower degree (got {degree}) or d"
        )
    plan = _taylor_plan(d, degree)
    # Raw monomials degree by degree (each column is a parent column times one x_l),
    # then the 1/√(α!) weights and the Gaussian envelope.
    with np.errstate(over="ignore", invalid="ignore"):
        Xs = X / lengthscale
        blocks = [np.ones((N, 1))]
        for parent, new, _ in plan:
            blocks.append(blocks[-1][:, parent] * Xs[:, new])
        weights = np.concatenate([np.ones(1)] + [1.0 / np.sqrt(fact) for _, _, fact in plan])
        J = np.hstack(blocks)
        J *= weights
        J *= np.exp(-0.5 * np.einsum("ij,ij->i", Xs, Xs))[:, None]
    return check_finite_result(
        "taylor_features", J,
        f"degree={degree}, lengthscale={lengthscale:g} and max |x| = "
        f"{float(np.max(np.abs(X))):.3g}: the monomials (x/ℓ)^α overflow before the "
        "Gaussian envelope damps them; rescale X and lengthscale together",
    )


def taylor_kernel(
    X1: object, X2: object | None = None, *, degree: int, lengthscale: float = 1.0
) -> np.ndarray:
    """The truncated Taylor series of the Gaussian kernel that :func:`taylor_features` factor.

    ``K(x, x') = e^{−‖x‖²/2ℓ²} e^{−‖x'‖²/2ℓ²} Σ_{j=0}^{k} (x·x'/ℓ²)^j / j!``; as
    k → ∞ it tends to ``exp(−‖x − x'‖²/2ℓ²)``.

    Parameters
    ----------
    X1 : array_like, shape (N1, d)
    X2 : array_like, shape (N2, d), optional
        Default ``X1``.
    degree : int
        k ≥ 0.
    lengthscale : float
        ℓ > 0.

    Returns
    -------
    numpy.ndarray, shape (N1, N2)

    Examples
    --------
    >>> import numpy as np
    >>> from ntkjam.kernels import rbf
    >>> from ntkjam.kernels.features import taylor_kernel
    >>> X = np.array([[0.0, 0.0], [0.5, 0.0], [0.0, 0.3]])
    >>> taylor_kernel(X, degree=2).shape, np.allclose(taylor_kernel(X, degree=12), rbf(X))
    ((3, 3), True)
    """
    X1 = as_inputs("X1", X1)
    X2 = X1 if X2 is None else as_inputs("X2", X2, dim=X1.shape[1])
    degree = as_int("degree", degree, minimum=0)
    lengthscale = as_real("lengthscale", lengthscale, positive=True)
    ell2 = lengthscale**2
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        t = (X1 @ X2.T) / ell2
        # Horner: Σ_{j≤k} t^j/j! = 1 + t(1 + t/2 (1 + t/3 (...))).
        series = np.ones_like(t)
        for j in range(degree, 0, -1):
            series = 1.0 + series * t / j
        n1 = np.exp(-0.5 * np.einsum("ij,ij->i", X1, X1) / ell2)
        n2 = np.exp(-0.5 * np.einsum("ij,ij->i", X2, X2) / ell2)
        K = n1[:, None] * series * n2[None, :]
    return check_finite_result(
        "taylor_kernel", K,
        f"degree={degree}, lengthscale={lengthscale:g} and max |x| = "
        f"{float(max(np.max(np.abs(X1)), np.max(np.abs(X2)))):.3g}: (x·x'/ℓ²)^k overflows "
        "before the Gaussian envelope damps it; rescale X and lengthscale together",
    )


# ------------------------------------------------------------------------ any Gram
