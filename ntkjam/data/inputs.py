"""Inputs X (N, d): uniform on the sphere, Gaussian, or the scikit-learn digits images."""

from __future__ import annotations

import numpy as np

from ntkjam._validate import (
    as_choice,
    as_int,
    as_real,
    as_seed,
)

__all__ = [
    "DIGITS_DIM",
    "DIGITS_SIZE",
    "digits",
    "digits_all",
    "digits_with_classes",
    "gaussian",
    "resolve_radius",
    "sphere",
]


#: Input dimension of the digits set (8×8 images).
DIGITS_DIM = 64


#: Number of images in the scikit-learn digits set.
DIGITS_SIZE = 1797


def resolve_radius(radius: float | str, d: int) -> float:
    """The norm the inputs are scaled to: a positive number, or ``"sqrt_d"`` for √d.

    Parameters
    ----------
    radius : float or {"sqrt_d"}
    d : int
        Input dimension.

    Returns
    -------
    float

    Examples
    --------
    >>> from ntkjam.data import resolve_radius
    >>> resolve_radius("sqrt_d", 16), resolve_radius(2, 16)
    (4.0, 2.0)
    """
    if isinstance(radius, str):
        as_choice("radius", radius, ("sqrt_d",))
        return float(np.sqrt(d))
    return as_real("radius", radius, positive=True)


def sphere(n: int, d: int, *, seed: int, radius: float | str = 1.0) -> np.ndarray:
    """Points uniform on the sphere of radius ``radius`` in R^d.

    Parameters
    ----------
    n : int
        Number of points N ≥ 1.
    d : int
        Ambient dimension d ≥ 2 (the sphere S^{d-1}).
    seed : int
        Non-negative seed; the first ``n`` rows do not depend on a larger ``n``.
    radius : float or "sqrt_d"
        Norm of every point: 1 (default) or ``"sqrt_d"`` for √d, which makes
        ``q0 = ‖x‖²/d = 1`` in the NTK-parameterization kernels.

    Returns
    -------
    numpy.ndarray, shape (n, d), float64

    Examples
    --------
    >>> import numpy as np
    >>> from ntkjam.data import sphere
    >>> X = sphere(5, 4, seed=0, radius="sqrt_d")
    >>> X.shape, np.allclose(np.linalg.norm(X, axis=1), 2.0)
    ((5, 4), True)
    >>> np.array_equal(sphere(8, 4, seed=0, radius="sqrt_d")[:5], X)      # nested in n
    True
    """
    n = as_int("n", n, minimum=1)
    d = as_int("d", d, minimum=2)
    seed = as_seed("seed", seed)
    r = resolve_radius(radius, d)
    Z = np.random.default_rng(seed).standard_normal((n, d))
    # A standard Gaussian vector has zero norm with probability zero; the
    # direction of an isotropic Gaussian is uniform on the sphere.
    return Z * (r / np.linalg.norm(Z, axis=1, keepdims=True))


def gaussian(n: int, d: int, *, seed: int) -> np.ndarray:
    """Standard Gaussian inputs, x ~ N(0, I_d), so that ``‖x‖²/d ≈ 1``.

    Parameters
    ----------
    n : int
        Number of points N ≥ 1.
    d : int
        Dimension d ≥ 1.
    seed : int
        Non-negative seed; the first ``n`` rows do not depend on a larger ``n``.

    Returns
    -------
    numpy.ndarray, shape (n, d), float64

    Examples
    --------
    >>> import numpy as np
    >>> from ntkjam.data import gaussian
    >>> X = gaussian(3, 2000, seed=1)
    >>> X.shape, np.allclose((X**2).mean(axis=1), 1.0, atol=0.1)
    ((3, 2000), True)
    """
    n = as_int("n", n, minimum=1)
    d = as_int("d", d, minimum=1)
    seed = as_seed("seed", seed)
    return np.random.default_rng(seed).standard_normal((n, d))


def digits_all(radius: float | str) -> tuple[np.ndarray, np.ndarray]:
    """All 1797 digit images, centred by the mean image, rows scaled to ``radius``.

    Parameters
    ----------
    radius : float or "sqrt_d"
        Norm of every centred image (``"sqrt_d"`` = 8).

    Returns
    -------
    X : numpy.ndarray, shape (1797, 64), float64
    classes : numpy.ndarray, shape (1797,), int64

    Examples
    --------
    >>> import numpy as np
    >>> from ntkjam.data.inputs import digits_all
    >>> X, classes = digits_all(1.0)
    >>> X.shape, classes.shape, np.allclose(np.linalg.norm(X, axis=1), 1.0)
    ((1797, 64), (1797,), True)
    """
    from sklearn.datasets import load_digits

    bunch = load_digits()
    X = np.asarray(bunch.data, dtype=np.float64)
    classes = np.asarray(bunch.target, dtype=np.int64)
    X = X - X.mean(axis=0)
    norms = np.linalg.norm(X, axis=1, keepdims=True)
    # No image equals the mean image, but guard against a future data change.
    if np.any(norms == 0):
        raise ValueError("digits: an image equals the mean image and cannot be normalised")
    return X * (resolve_radius(radius, DIGITS_DIM) / norms), classes


def _check_digits_n(n: int | None, available: int, name: str = "n") -> int:
    if n is None:
        return available
    n = as_int(name, n, minimum=1)
    if n > available:
        raise ValueError(f"{name} must be <= {available} (images available), got {n}")
    return n


def digits_with_classes(
    *, n: int | None = None, seed: int, radius: float | str = 1.0
) -> tuple[np.ndarray, np.ndarray]:
    """A seeded random subset of the digits with their classes 0–9.

    Parameters
    ----------
    n : int, optional
        Number of images, 1 ≤ n ≤ 1797; default all of them (in a seeded order).
    seed : int
        Seed of the random order; the first ``n`` images do not depend on a larger ``n``.
    radius : float or "sqrt_d"
        Norm of every (centred) image: 1 (default) or ``"sqrt_d"`` (= 8).

    Returns
    -------
    X : numpy.ndarray, shape (n, 64), float64
        Flattened images minus the mean image of all 1797, scaled to norm ``radius``.
    classes : numpy.ndarray, shape (n,), int64
        The digit shown, 0–9.

    Examples
    --------
    >>> import numpy as np
    >>> from ntkjam.data import digits_with_classes
    >>> X, classes = digits_with_classes(n=10, seed=0, radius="sqrt_d")
    >>> X.shape, classes.dtype.name, np.allclose(np.linalg.norm(X, axis=1), 8.0)
    ((10, 64), 'int64', True)
    >>> bool(np.all((0 <= classes) & (classes <= 9)))
    True
    """
    n = _check_digits_n(n, DIGITS_SIZE)
    seed = as_seed("seed", seed)
    X, classes = digits_all(radius)
    order = np.random.default_rng(seed).permutation(DIGITS_SIZE)[:n]
    return X[order], classes[order]


def digits(*, n: int | None = None, seed: int, radius: float | str = 1.0) -> np.ndarray:
    """A seeded random subset of the scikit-learn 8×8 digits, centred and normalised.

    See :func:`digits_with_classes` (same arguments) for the normalisation; this
    returns only the inputs, shape ``(n, 64)``.

    Examples
    --------
    >>> import numpy as np
    >>> from ntkjam.data import digits, digits_with_classes
    >>> X = digits(n=6, seed=2)
    >>> X.shape, np.array_equal(X, digits_with_classes(n=6, seed=2)[0])
    ((6, 64), True)
    """
    return digits_with_classes(n=n, seed=seed, radius=radius)[0]
