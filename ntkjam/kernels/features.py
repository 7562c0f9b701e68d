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

Deterministic maps: :func:`taylor_features` (in :mod:`ntkjam.kernels.taylor`, re-exported
here: the Gaussian kernel's Taylor series to degree k as weighted monomials,
``J Jᵀ`` = :func:`taylor_kernel` exactly) and
:func:`gram_features` (``J = U Λ^{1/2}`` of a PSD Gram, rank = number of columns).
The rank of any ``J`` is :func:`ntkjam.linalg.numerical_rank`.

Every map checks its output once: features beyond float64 raise
:class:`~ntkjam._validate.NumericalRangeError` naming the parameters, never NaN or inf.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ntkjam._validate import (
    as_float_array,
    as_inputs,
    as_int,
    as_real,
    as_seed,
    check_finite_result,
)
from ntkjam.kernels.taylor import (  # noqa: F401  (the Taylor features live in kernels.taylor)
    MAX_TAYLOR_ENTRIES,
    taylor_exponents,
    taylor_feature_count,
    taylor_features,
    taylor_kernel,
    taylor_rank_on_sphere,
)
from ntkjam.linalg import psd_features

if TYPE_CHECKING:  # JAX is imported only for a feature map that needs an activation
    from ntkjam.kernels.activations import Activation

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
    from ntkjam.kernels.activations import get_activation

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
