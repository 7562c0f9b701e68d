"""Classical kernels, for comparison with the NTK: Gaussian (RBF) and polynomial.

Both are exact at extreme arguments (the RBF depends only on X/ℓ) or raise
:class:`ntkjam._validate.NumericalRangeError` naming the parameters that overflow.
"""

from __future__ import annotations

import math

import numpy as np

from ntkjam._validate import (
    as_input_pair,
    as_int,
    as_real,
    check_finite_result,
)

__all__ = ["polynomial", "rbf"]


def _squared_distances(X1, X2):
    """``‖x − x'‖²`` for all pairs; exact zeros on the diagonal of a symmetric call."""
    X2_ = X1 if X2 is None else X2
    n1 = np.einsum("ij,ij->i", X1, X1)
    n2 = n1 if X2 is None else np.einsum("ij,ij->i", X2_, X2_)
    d2 = np.maximum(n1[:, None] + n2[None, :] - 2.0 * (X1 @ X2_.T), 0.0)
    if X2 is None:
        np.fill_diagonal(d2, 0.0)
        d2 = 0.5 * (d2 + d2.T)
    return d2


def rbf(X1, X2=None, *, lengthscale: float = 1.0) -> np.ndarray:
    """Gaussian (RBF) kernel ``exp(−‖x − x'‖² / (2ℓ²))``.

    Parameters
    ----------
    X1 : array_like, shape (N1, d)
    X2 : array_like, shape (N2, d), optional
    lengthscale : float
        ℓ > 0.

    Returns
    -------
    numpy.ndarray, shape (N1, N2)

    Notes
    -----
    Exact at every scale: the kernel depends only on ``X/ℓ``, so inputs whose
    squared distances overflow float64 are rescaled by their largest entry first,
    and a lengthscale whose square underflows is divided out in two steps
    (distinct points then get exactly 0, identical ones 1).  The result is always
    finite.

    Examples
    --------
    >>> import numpy as np
    >>> from ntkjam.kernels import rbf
    >>> X = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 2.0]])
    >>> K = rbf(X, lengthscale=1.0)
    >>> K.shape, np.allclose(np.diag(K), 1.0), bool(np.isclose(K[0, 1], np.exp(-0.5)))
    ((3, 3), True, True)
    >>> rbf(X, X[:1]).shape
    (3, 1)
    """
    ell = lengthscale = as_real("lengthscale", lengthscale, positive=True)
    X1, X2 = as_input_pair(X1, X2)
    with np.errstate(over="ignore", invalid="ignore"):
        d2 = _squared_distances(X1, X2)
    if not np.isfinite(d2).all():
        # ‖x‖² overflowed: rbf(X, ℓ) = rbf(X/s, ℓ/s).
        s = float(np.max(np.abs(X1)))
        if X2 is not None:
            s = max(s, float(np.max(np.abs(X2))))
        d2 = _squared_distances(X1 / s, None if X2 is None else X2 / s)
        ell = ell / s
    denom = 2.0 * ell * ell
    if denom >= np.finfo(np.float64).tiny:
        K = np.exp(-d2 / denom)
    else:  # ℓ² underflows: divide twice (huge quotients give exp(−inf) = 0)
        with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
            z = (d2 / ell) / ell
        z[d2 == 0.0] = 0.0  # identical points, whatever ℓ
        K = np.exp(-0.5 * z)
    return check_finite_result(
        "rbf", K, f"lengthscale={lengthscale:g}; rescale X and lengthscale together"
    )


def polynomial(
    X1, X2=None, *, degree: int, coef0: float = 1.0, scale: float = 1.0
) -> np.ndarray:
    """Polynomial dot-product kernel ``(scale · x·x' + coef0)^degree``.

    The same convention as scikit-learn's ``polynomial_kernel`` with
    ``gamma = scale`` (no division by d).

    Parameters
    ----------
    X1 : array_like, shape (N1, d)
    X2 : array_like, shape (N2, d), optional
    degree : int
        p ≥ 0.
    coef0 : float
        Constant term ≥ 0 (keeps the kernel positive semi-definite).
    scale : float
        Multiplier of the inner product, > 0.

    Returns
    -------
    numpy.ndarray, shape (N1, N2)

    Raises
    ------
    NumericalRangeError
        (a ``ValueError``) if entries exceed float64 (e.g. a high ``degree`` with
        ``|scale · x·x' + coef0| > 1``): never inf or NaN.  An inner product that
        overflows while ``scale · x·x'`` does not is computed as
        ``(√scale X1)(√scale X2)ᵀ`` instead.

    Examples
    --------
    >>> import numpy as np
    >>> from ntkjam.kernels import polynomial
    >>> X = np.array([[1.0, 2.0], [0.0, 1.0]])
    >>> polynomial(X, degree=2, coef0=1.0).tolist()      # (x·x' + 1)²
    [[36.0, 9.0], [9.0, 4.0]]
    """
    degree = as_int("degree", degree, minimum=0)
    coef0 = as_real("coef0", coef0, nonnegative=True)
    scale = as_real("scale", scale, positive=True)
    X1, X2 = as_input_pair(X1, X2)
    X2_ = X1 if X2 is None else X2

    def gram(base_of):
        with np.errstate(over="ignore", invalid="ignore"):
            K = base_of() ** degree
            if X2 is None:
                K = 0.5 * (K + K.T)
        return K

    K = gram(lambda: scale * (X1 @ X2_.T) + coef0)
    if not np.isfinite(K).all():
        root = math.sqrt(scale)
        K = gram(lambda: (root * X1) @ (root * X2_).T + coef0)
    if not np.isfinite(K).all():
        with np.errstate(over="ignore"):
            top = float(np.max(np.abs((root * X1) @ (root * X2_).T)))
        check_finite_result(
            "polynomial", K,
            f"degree={degree}, scale={scale:g}, coef0={coef0:g} and max |scale x·x'| = "
            f"{top:.3g} give (scale x·x' + coef0)^degree beyond float64; lower degree or "
            "rescale X (or scale)",
        )
    return K
