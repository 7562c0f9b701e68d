"""Finite-P feature maps: features ``J`` of shape (N, P) whose Gram ``J Jᵀ`` estimates a kernel.

Notation: N = number of points (rows of ``X``, shape (N, d)), P = number of
features (columns of ``J``), φ = N/P.

Random maps (Monte-Carlo: ``J Jᵀ`` is an unbiased estimate whose entries have
standard deviation ∝ P^{-1/2}; the same ``seed`` gives bit-identical ``J``; the
first P' columns of a P-feature map are, up to the overall factor √(P'/P), the
P'-feature map, so features are nested in P):

* :func:`random_features` — one hidden layer in NTK parameterization; ``J Jᵀ`` tends
  to the depth-1 ``nngp`` of :mod:`ntkjam.kernels.analytic` (minus σ_b², or exactly
  it with ``readout_bias=True``).
* :func:`random_relu_features` — the same for ReLU (the arc-cosine kernel at σ_b = 0).
* :func:`random_fourier_features` — Rahimi & Recht (2007), ``J Jᵀ → exp(−‖x − x'‖²/(2ℓ²))``.

Deterministic maps: :func:`taylor_features` (the Gaussian kernel's Taylor series to
degree k as weighted monomials, ``J Jᵀ`` = :func:`taylor_kernel` exactly) and
:func:`gram_features` (``J = U Λ^{1/2}`` of a PSD Gram, rank = number of columns).
The rank of any ``J`` is :func:`ntkjam.linalg.numerical_rank`.

Every map checks its output once: features beyond float64 raise
:class:`~ntkjam._validate.NumericalRangeError` naming the parameters, never NaN or inf.
"""

from __future__ import annotations

from math import comb

import numpy as np

from ntkjam._validate import (
    as_float_array,
    as_inputs,
    as_int,
    as_real,
    as_seed,
    check_finite_result,
)
from ntkjam.kernels.activations import Activation, get_activation
from ntkjam.linalg import psd_features

__all__ = [
    "gram_features",
    "random_features",
    "random_fourier_features",
    "random_relu_features",
    "taylor_exponents",
    "taylor_feature_count",
    "taylor_features",
    "taylor_kernel",
    "taylor_rank_on_sphere",
]

#: Largest ``N × (number of Taylor features)`` that :func:`taylor_features` builds
#: (2**27 float64 entries = 1 GiB); beyond it the call raises ``ValueError``.
MAX_TAYLOR_ENTRIES = 2**27


def _streams(seed: int, count: int) -> list[np.random.Generator]:
    """Independent generators, one per random ingredient, so each is nested in P."""
    return [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(count)]


def _hidden_preactivations(
    X: np.ndarray, P: int, seed: int, sigma_w: float, sigma_b: float
) -> np.ndarray:
    """``σ_w W x/√d + σ_b b`` for all points and P hidden units: shape (N, P)."""
    rng_w, rng_b = _streams(seed, 2)
    # Rows of W are drawn one unit after the other, so the first P' units do not
    # depend on P (nested features).
    W = rng_w.standard_normal((P, X.shape[1]))
    b = rng_b.standard_normal(P)
    with np.errstate(over="ignore", invalid="ignore"):  # checked by _finish
        Z = X @ W.T
        Z *= sigma_w / np.sqrt(X.shape[1])
        if sigma_b:
            Z += sigma_b * b
    return Z


def _check_random_args(X, P, seed, sigma_w, sigma_b):
    X = as_inputs("X", X)
    P = as_int("P", P, minimum=1)
    seed = as_seed("seed", seed)
    sigma_w = as_real("sigma_w", sigma_w, positive=True)
    sigma_b = as_real("sigma_b", sigma_b, nonnegative=True)
    return X, P, seed, sigma_w, sigma_b


def _finish(
    features: np.ndarray, P: int, sigma_w: float, sigma_b: float, readout_bias: bool,
    what: str = "random_features", X: np.ndarray | None = None,
) -> np.ndarray:
    with np.errstate(over="ignore", invalid="ignore"):
        features *= sigma_w / np.sqrt(P)
    scale = "" if X is None else f" and max |x| = {float(np.max(np.abs(X))):.3g}"
    check_finite_result(
        what, features,
        f"sigma_w={sigma_w:g}, sigma_b={sigma_b:g}{scale} give features beyond float64; "
        "rescale X or sigma_w",
    )
    if readout_bias:
        features = np.hstack([features, np.full((features.shape[0], 1), sigma_b)])
    return features


def random_features(
    X: object,
    P: int,
    *,
    activation: str | Activation = "relu",
    seed: int,
    sigma_w: float = 2**0.5,
    sigma_b: float = 0.0,
    readout_bias: bool = False,
) -> np.ndarray:
    """Random features of one hidden layer with any activation (NTK parameterization).

    ``J[i, p] = σ_w φ(z_p(x_i)) / √P`` with ``z_p(x) = σ_w w_p·x/√d + σ_b b_p``,
    ``w_p ~ N(0, I_d)``, ``b_p ~ N(0, 1)`` independent.  These are the readout
    features of the network ``f(x) = σ_w/√P Σ_p v_p φ(z_p(x)) + σ_b v_0``, so
    ``E[J Jᵀ] = σ_w² E_{w,b}[φ(z(x)) φ(z(x'))] = nngp(X, depth=1, activation, sigma_w,
    sigma_b) − σ_b²``, the NNGP kernel of :mod:`ntkjam.kernels.analytic` without the
    readout bias's constant ``σ_b²`` (zero for the default ``σ_b = 0``).  With
    ``readout_bias=True`` a constant column ``σ_b`` is appended (shape (N, P + 1)) and
    ``E[J Jᵀ]`` is that NNGP exactly.  Each entry of ``J Jᵀ`` has an error O(P^{-1/2}).

    Parameters
    ----------
    X : array_like, shape (N, d)
        Inputs (not modified).
    P : int
        Number of random features (hidden units), P ≥ 1.
    activation : str or Activation
        A built-in name (see :mod:`ntkjam.kernels.activations`) or an
        :class:`~ntkjam.kernels.activations.Activation`.
    seed : int
        Non-negative seed; same seed ⇒ bit-identical ``J``.
    sigma_w : float
        Weight standard deviation σ_w > 0 (hidden and readout layer).
    sigma_b : float
        Hidden bias standard deviation σ_b ≥ 0.
    readout_bias : bool
        Append the readout bias's constant feature σ_b.

    Returns
    -------
    numpy.ndarray, shape (N, P) (or (N, P + 1) with ``readout_bias``), float64

    Examples
    --------
    >>> import numpy as np
    >>> from ntkjam.kernels import nngp
    >>> from ntkjam.kernels.features import random_features
    >>> X = np.array([[1.0, 1.0], [1.0, -1.0]]); J = random_features(X, 4000, seed=0)
    >>> J.shape, bool(np.abs(J @ J.T - nngp(X, depth=1)).max() < 0.2)      # O(P^(-1/2))
    ((2, 4000), True)
    """
    X, P, seed, sigma_w, sigma_b = _check_random_args(X, P, seed, sigma_w, sigma_b)
    act = get_activation(activation)
    Z = _hidden_preactivations(X, P, seed, sigma_w, sigma_b)
    features = np.array(act.fn(Z), dtype=np.float64)
    if features.shape != Z.shape:
        raise ValueError(
            f"activation {act.name!r} must be elementwise: fn(Z) returned shape "
            f"{features.shape} for input shape {Z.shape}"
        )
    if not np.all(np.isfinite(features)):
        if not np.all(np.isfinite(Z)):
            check_finite_result(
                "random_features", Z,
                f"the pre-activations (sigma_w={sigma_w:g}, sigma_b={sigma_b:g}, max |x| = "
                f"{float(np.max(np.abs(X))):.3g}) exceed float64; rescale X or sigma_w",
            )
        raise ValueError(f"activation {act.name!r} returned non-finite values")
    return _finish(features, P, sigma_w, sigma_b, readout_bias, "random_features", X)


def random_relu_features(
    X: object,
    P: int,
    *,
    seed: int,
    sigma_w: float = 2**0.5,
    sigma_b: float = 0.0,
    readout_bias: bool = False,
) -> np.ndarray:
    """Random ReLU features: :func:`random_features` with ``activation="relu"``.

    ``J[i, p] = σ_w max(0, σ_w w_p·x_i/√d + σ_b b_p) / √P``.  With σ_b = 0, ``E[J Jᵀ] =
    σ_w⁴ ‖x‖‖x'‖ (sin θ + (π − θ) cos θ)/(2π d)`` (θ the angle between x and x'), the
    first-order arc-cosine kernel of Cho & Saul (2009) times ``σ_w⁴/(2d)``, which is
    ``nngp(X, depth=1, activation="relu", sigma_w=σ_w)`` (diagonal ``2‖x‖²/d`` at the
    default σ_w² = 2); with σ_b > 0 that NNGP minus σ_b² (see :func:`random_features`).
    Same arguments, shapes and seeding as :func:`random_features`.

    Examples
    --------
    >>> import numpy as np
    >>> from ntkjam.kernels.features import random_features, random_relu_features
    >>> X = np.eye(3)
    >>> np.array_equal(random_relu_features(X, 50, seed=3), random_features(X, 50, seed=3))
    True
    """
    X, P, seed, sigma_w, sigma_b = _check_random_args(X, P, seed, sigma_w, sigma_b)
    Z = _hidden_preactivations(X, P, seed, sigma_w, sigma_b)
    np.maximum(Z, 0.0, out=Z)
    return _finish(Z, P, sigma_w, sigma_b, readout_bias, "random_relu_features", X)


def random_fourier_features(
    X: object, P: int, *, lengthscale: float = 1.0, seed: int
) -> np.ndarray:
    """Random Fourier features of the Gaussian kernel (Rahimi & Recht 2007).

    ``J[i, p] = √(2/P) cos(ω_p·x_i/ℓ + b_p)`` with ``ω_p ~ N(0, I_d)`` (the Fourier
    transform of the kernel) and ``b_p ~ U[0, 2π)``, so that ``E[J Jᵀ](x, x') =
    exp(−‖x − x'‖² / (2ℓ²))``, the kernel ``rbf(X, lengthscale=ℓ)``; the diagonal of
    ``J Jᵀ`` fluctuates too (it is 1 only on average), with error O(P^{-1/2}).

    Parameters
    ----------
    X : array_like, shape (N, d)
    P : int
        Number of features, P ≥ 1.
    lengthscale : float
        ℓ > 0.
    seed : int
        Non-negative seed; same seed ⇒ bit-identical ``J``.

    Returns
    -------
    numpy.ndarray, shape (N, P), float64

    Examples
    --------
    >>> import numpy as np
    >>> from ntkjam.kernels import rbf
    >>> from ntkjam.kernels.features import random_fourier_features
    >>> X = np.array([[0.0, 0.0], [1.0, 0.0]]); J = random_fourier_features(X, 40000, seed=0)
    >>> J.shape, bool(np.abs(J @ J.T - rbf(X)).max() < 0.05)
    ((2, 40000), True)
    """
    X = as_inputs("X", X)
    P = as_int("P", P, minimum=1)
    lengthscale = as_real("lengthscale", lengthscale, positive=True)
    seed = as_seed("seed", seed)
    rng_w, rng_b = _streams(seed, 2)
    Omega = rng_w.standard_normal((P, X.shape[1]))
    b = rng_b.uniform(0.0, 2.0 * np.pi, size=P)
    with np.errstate(over="ignore", invalid="ignore"):
        Z = X @ Omega.T
        Z /= lengthscale
        Z += b
        np.cos(Z, out=Z)
    Z *= np.sqrt(2.0 / P)
    return check_finite_result(
        "random_fourier_features", Z,
        f"lengthscale={lengthscale:g} and max |x| = {float(np.max(np.abs(X))):.3g} give "
        "phases ω·x/ℓ beyond float64; rescale X and lengthscale together",
    )


# --------------------------------------------------------------------------- Taylor


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


def gram_features(K: object, *, rtol: float | None = None, atol: float | None = None) -> np.ndarray:
    """Features ``J = U Λ^{1/2}`` of a symmetric PSD Gram matrix, ``J Jᵀ ≈ K``.

    Eigenvalues ``<= rtol · λ_max`` (or ``<= atol``) are dropped: r is the numerical
    rank of ``K`` and ``‖J Jᵀ − K‖₂`` at most the tolerance.  Default ``rtol = N · eps``
    (as ``numpy.linalg.matrix_rank``); a larger ``rtol`` (say 1e-10) drops the rounding
    noise of a smooth kernel.  An eigenvalue below minus the tolerance raises
    ``ValueError`` (K not PSD).  Wraps :func:`ntkjam.linalg.psd_features`.

    Parameters
    ----------
    K : array_like, shape (N, N)
    rtol, atol : float, optional

    Returns
    -------
    numpy.ndarray, shape (N, r), float64

    Examples
    --------
    >>> import numpy as np
    >>> from ntkjam.kernels.features import gram_features
    >>> F = np.array([[1.0, 0.0], [0.0, 2.0], [1.0, 1.0]])
    >>> J = gram_features(F @ F.T, rtol=1e-10); J.shape, np.allclose(J @ J.T, F @ F.T)
    ((3, 2), True)
    """
    K = as_float_array("K", K, ndim=2)
    return psd_features(K, rtol=rtol, atol=atol)
