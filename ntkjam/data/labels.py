"""Labels y (N,) of ±1: random, a linear teacher, any callable rule, digits parity."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ntkjam._validate import (
    as_float_array,
    as_inputs,
    as_int,
    as_seed,
)

__all__ = [
    "callable_labels",
    "parity_labels",
    "random_labels",
    "sign",
    "teacher_direction",
    "teacher_labels",
]


def sign(values: np.ndarray) -> np.ndarray:
    """±1.0 with sign(0) = +1.

    Parameters
    ----------
    values : numpy.ndarray
        Real values, any shape.

    Returns
    -------
    numpy.ndarray
        Same shape, float64 in {-1, +1}.

    Examples
    --------
    >>> import numpy as np
    >>> from ntkjam.data.labels import sign
    >>> sign(np.array([-0.5, 0.0, 3.0])).tolist()
    [-1.0, 1.0, 1.0]
    """
    return np.where(values >= 0, 1.0, -1.0)


def random_labels(n: int, *, seed: int) -> np.ndarray:
    """Independent labels ±1, each with probability ½.

    Parameters
    ----------
    n : int
        Number of labels N ≥ 1.
    seed : int
        Non-negative seed; the first ``n`` labels do not depend on a larger ``n``.

    Returns
    -------
    numpy.ndarray, shape (n,), float64 in {-1, +1}

    Examples
    --------
    >>> import numpy as np
    >>> from ntkjam.data import random_labels
    >>> y = random_labels(1000, seed=0)
    >>> y.shape, sorted(set(y.tolist())), abs(float(y.mean())) < 0.1
    ((1000,), [-1.0, 1.0], True)
    >>> np.array_equal(random_labels(10, seed=0), y[:10])
    True
    """
    n = as_int("n", n, minimum=1)
    seed = as_seed("seed", seed)
    bits = np.random.default_rng(seed).integers(0, 2, size=n)
    return 2.0 * bits - 1.0


def teacher_direction(d: int, *, seed: int) -> np.ndarray:
    """The linear teacher β ~ N(0, I_d) of :func:`teacher_labels` for ``seed``.

    Returns
    -------
    numpy.ndarray, shape (d,), float64

    Parameters
    ----------
    d : int
        Input dimension, ≥ 1.
    seed : int
        Non-negative seed.

    Examples
    --------
    >>> import numpy as np
    >>> from ntkjam.data import teacher_direction, teacher_labels
    >>> X = np.random.default_rng(0).standard_normal((5, 3))
    >>> beta = teacher_direction(3, seed=7)
    >>> beta.shape, np.array_equal(teacher_labels(X, seed=7), teacher_labels(X, beta=beta))
    ((3,), True)
    """
    d = as_int("d", d, minimum=1)
    seed = as_seed("seed", seed)
    return np.random.default_rng(seed).standard_normal(d)


def teacher_labels(X: object, *, seed: int | None = None, beta: object | None = None) -> np.ndarray:
    """Labels of a linear teacher, ``y = sign(X β)`` (sign(0) = +1).

    Parameters
    ----------
    X : array_like, shape (N, d)
    seed : int, optional
        Draw β ~ N(0, I_d) with this seed (see :func:`teacher_direction`).
    beta : array_like, shape (d,), optional
        The teacher direction itself.  Give exactly one of ``seed`` and ``beta``.

    Returns
    -------
    numpy.ndarray, shape (N,), float64 in {-1, +1}

    Examples
    --------
    >>> import numpy as np
    >>> from ntkjam.data import teacher_labels
    >>> X = np.array([[1.0, 0.0], [-2.0, 1.0], [0.0, 0.0]])
    >>> teacher_labels(X, beta=[1.0, 0.5]).tolist()          # sign(x·β), sign(0) = +1
    [1.0, -1.0, 1.0]
    """
    X = as_inputs("X", X)
    if (seed is None) == (beta is None):
        raise ValueError(
            f"teacher_labels needs exactly one of seed and beta, got seed={seed!r} "
            f"and beta={'None' if beta is None else 'an array'}"
        )
    if beta is None:
        b = teacher_direction(X.shape[1], seed=seed)
    else:
        b = as_float_array("beta", beta, ndim=1)
        if b.shape[0] != X.shape[1]:
            raise ValueError(
                f"beta must have length d = {X.shape[1]} (the input dimension), got {b.shape[0]}"
            )
        if not np.any(b):
            raise ValueError("beta must be nonzero, got the zero vector")
    return sign(X @ b)


def callable_labels(X: object, fn: Callable[[np.ndarray], object]) -> np.ndarray:
    """Labels of any teacher: ``y = sign(fn(X))`` (sign(0) = +1).

    Parameters
    ----------
    X : array_like, shape (N, d)
    fn : callable
        ``fn(X) -> (N,)`` real scores, vectorised over the rows of ``X``; it
        receives a copy, so it cannot alter the caller's ``X``.

    Returns
    -------
    numpy.ndarray, shape (N,), float64 in {-1, +1}

    Examples
    --------
    >>> import numpy as np
    >>> from ntkjam.data import callable_labels
    >>> X = np.array([[0.5, 0.0], [2.0, 0.0], [0.0, 1.0]])
    >>> callable_labels(X, lambda X: (X**2).sum(axis=1) - 1.0).tolist()   # outside the unit circle
    [-1.0, 1.0, 1.0]
    """
    X = as_inputs("X", X)
    if not callable(fn):
        raise TypeError(f"fn must be callable (X -> scores of shape (N,)), got {fn!r}")
    scores = as_float_array("fn(X)", fn(X.copy()), ndim=1)
    if scores.shape[0] != X.shape[0]:
        raise ValueError(
            f"fn(X) must return one score per point, shape ({X.shape[0]},), "
            f"got shape {scores.shape}"
        )
    return sign(scores)


def parity_labels(classes: object) -> np.ndarray:
    """Digit parity: even digits (0, 2, 4, 6, 8) → +1, odd digits → −1.

    Parameters
    ----------
    classes : array_like of int, shape (N,)
        Digits 0–9.

    Returns
    -------
    numpy.ndarray, shape (N,), float64 in {-1, +1}

    Examples
    --------
    >>> from ntkjam.data import parity_labels
    >>> parity_labels([0, 1, 2, 7, 8]).tolist()
    [1.0, -1.0, 1.0, -1.0, 1.0]
    """
    c = as_float_array("classes", classes, ndim=1)
    bad = (c != np.round(c)) | (c < 0) | (c > 9)
    if np.any(bad):
        raise ValueError(f"classes must be digits 0-9, got value {float(c[np.argmax(bad)]):g}")
    return np.where(c % 2 == 0, 1.0, -1.0)
