"""Inputs and labels: seeded, float64, with train/test splits that do not interact.

Inputs ``X`` have shape ``(N, d)`` (N = number of points); labels ``y`` have shape
``(N,)`` with values in {-1.0, +1.0}.

Input distributions
-------------------
* :func:`sphere` — uniform on the sphere of radius ``radius`` in R^d (the unit sphere
  S^{d-1} by default).  ``radius="sqrt_d"`` gives norm √d: the NTK-parameterization
  kernels of :mod:`ntkjam.kernels.analytic` see inputs through ``q0 = ‖x‖²/d``, so
  norm √d gives ``q0 = 1`` (unit-variance pre-activations), while norm 1 gives
  ``q0 = 1/d``.
* :func:`gaussian` — standard Gaussian N(0, I_d); ``‖x‖²/d → 1`` for large d.
* :func:`digits` — the 1797 scikit-learn 8×8 digit images (shipped with
  scikit-learn, no download), flattened to d = 64, centred by the mean image of the
  whole set, each row rescaled to norm ``radius`` (1 by default, ``"sqrt_d"`` → 8),
  exactly as for :func:`sphere`.

Labels
------
* :func:`random_labels` — iid ±1 with probability ½ each.
* :func:`teacher_labels` — linear teacher ``sign(β·x)``, β ~ N(0, I_d) from a seed,
  or a given β.
* :func:`callable_labels` — ``sign(fn(X))`` for any callable teacher.
* :func:`parity_labels` — digit parity: even digits (0, 2, 4, 6, 8) → +1, odd → −1.

``sign`` maps 0 to +1 everywhere (a probability-zero event for continuous inputs).

Splits
------
:func:`load_dataset` draws the training and the test set from separate random
streams derived from one ``seed`` (or an explicit ``test_seed``): the test set never
changes when ``n_train`` changes, and training sets for the same seed are nested
(the first ``n`` points of a larger draw are the smaller draw).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ntkjam._validate import (
    as_choice,
    as_float_array,
    as_inputs,
    as_int,
    as_labels,
    as_real,
    as_seed,
)

__all__ = [
    "DATASETS",
    "DIGITS_DIM",
    "DIGITS_SIZE",
    "LABELS",
    "Dataset",
    "callable_labels",
    "digits",
    "digits_with_classes",
    "gaussian",
    "load_dataset",
    "parity_labels",
    "random_labels",
    "resolve_radius",
    "sphere",
    "teacher_direction",
    "teacher_labels",
]

#: Names accepted by :func:`load_dataset`.
DATASETS = ("sphere", "gaussian", "digits")
#: Label rules accepted by name by :func:`load_dataset` (a callable is also accepted).
LABELS = ("random", "teacher", "parity")
#: Input dimension of the digits set (8×8 images).
DIGITS_DIM = 64
#: Number of images in the scikit-learn digits set.
DIGITS_SIZE = 1797

# Independent random streams of load_dataset, derived from its seed.
_TRAIN_INPUTS, _TEST_INPUTS, _TEACHER, _TRAIN_LABELS, _TEST_LABELS = range(5)


def _child_seed(seed: int, stream: int) -> int:
    """A seed for stream ``stream`` of ``seed``, statistically independent of the others."""
    return int(np.random.SeedSequence([seed, stream]).generate_state(1, np.uint64)[0])


def _sign(values: np.ndarray) -> np.ndarray:
    """±1.0 with sign(0) = +1."""
    return np.where(values >= 0, 1.0, -1.0)


def _readonly(arr: np.ndarray) -> np.ndarray:
    arr.flags.writeable = False
    return arr


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
    """
    n = as_int("n", n, minimum=1)
    d = as_int("d", d, minimum=1)
    seed = as_seed("seed", seed)
    return np.random.default_rng(seed).standard_normal((n, d))


def _digits_all(radius: float | str) -> tuple[np.ndarray, np.ndarray]:
    """All 1797 digit images, centred by the mean image, rows scaled to ``radius``."""
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
    """
    n = _check_digits_n(n, DIGITS_SIZE)
    seed = as_seed("seed", seed)
    X, classes = _digits_all(radius)
    order = np.random.default_rng(seed).permutation(DIGITS_SIZE)[:n]
    return X[order], classes[order]


def digits(*, n: int | None = None, seed: int, radius: float | str = 1.0) -> np.ndarray:
    """A seeded random subset of the scikit-learn 8×8 digits, centred and normalised.

    See :func:`digits_with_classes` (same arguments) for the normalisation; this
    returns only the inputs, shape ``(n, 64)``.
    """
    return digits_with_classes(n=n, seed=seed, radius=radius)[0]


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
    return _sign(X @ b)


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
    return _sign(scores)


def parity_labels(classes: object) -> np.ndarray:
    """Digit parity: even digits (0, 2, 4, 6, 8) → +1, odd digits → −1.

    Parameters
    ----------
    classes : array_like of int, shape (N,)
        Digits 0–9.

    Returns
    -------
    numpy.ndarray, shape (N,), float64 in {-1, +1}
    """
    c = as_float_array("classes", classes, ndim=1)
    bad = (c != np.round(c)) | (c < 0) | (c > 9)
    if np.any(bad):
        raise ValueError(f"classes must be digits 0-9, got value {float(c[np.argmax(bad)]):g}")
    return np.where(c % 2 == 0, 1.0, -1.0)


@dataclass(frozen=True, eq=False)
class Dataset:
    """A train/test split with ±1 labels.  The arrays are read-only.

    Attributes
    ----------
    X_train : numpy.ndarray, shape (n_train, d)
    y_train : numpy.ndarray, shape (n_train,), values in {-1, +1}
    X_test : numpy.ndarray, shape (n_test, d)   (``(0, d)`` when ``n_test = 0``)
    y_test : numpy.ndarray, shape (n_test,)
    name : str
        ``"sphere"``, ``"gaussian"`` or ``"digits"``.
    labels : str
        ``"random"``, ``"teacher"``, ``"parity"`` or ``"callable"``.
    seed : int
        Seed of the training set (and of the teacher).
    test_seed : int
        Seed of the test set.
    radius : float or None
        Norm of the inputs (``None`` for Gaussian inputs).
    beta : numpy.ndarray or None, shape (d,)
        The linear teacher's direction when ``labels == "teacher"``.
    """

    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    name: str
    labels: str
    seed: int
    test_seed: int
    radius: float | None = None
    beta: np.ndarray | None = None

    def __post_init__(self) -> None:
        # Private read-only copies: the dataclass is frozen, so are its arrays.
        X_train = as_inputs("X_train", np.array(self.X_train, dtype=np.float64))
        d = X_train.shape[1]
        y_train = as_labels("y_train", np.array(self.y_train, dtype=np.float64), n=X_train.shape[0])
        X_test = as_float_array("X_test", self.X_test, ndim=2, copy=True)
        if X_test.shape[1] != d:
            raise ValueError(
                f"X_test must have d = {d} columns (like X_train), got shape {X_test.shape}"
            )
        y_test = as_float_array("y_test", self.y_test, ndim=1, copy=True)
        if X_test.shape[0] or y_test.shape[0]:
            as_labels("y_test", y_test, n=X_test.shape[0])
        arrays = {"X_train": X_train, "y_train": y_train, "X_test": X_test, "y_test": y_test}
        if self.beta is not None:
            arrays["beta"] = as_float_array("beta", self.beta, ndim=1, copy=True)
        for field, value in arrays.items():
            object.__setattr__(self, field, _readonly(value))

    @property
    def n_train(self) -> int:
        """Number of training points N."""
        return self.X_train.shape[0]

    @property
    def n_test(self) -> int:
        """Number of test points."""
        return self.X_test.shape[0]

    @property
    def d(self) -> int:
        """Input dimension."""
        return self.X_train.shape[1]


def _label_rule(labels: object, name: str) -> str:
    if callable(labels):
        return "callable"
    rule = as_choice("labels", labels, LABELS)
    if rule == "parity" and name != "digits":
        raise ValueError(
            f"labels='parity' needs the digits data set (digit parity), got name={name!r}"
        )
    return rule


def load_dataset(
    name: str,
    *,
    n_train: int,
    n_test: int = 0,
    d: int | None = None,
    labels: str | Callable[[np.ndarray], object] = "random",
    seed: int = 0,
    test_seed: int | None = None,
    radius: float | str | None = None,
    beta: object | None = None,
) -> Dataset:
    """Inputs and ±1 labels for training and testing, from independent random streams.

    Parameters
    ----------
    name : {"sphere", "gaussian", "digits"}
    n_train : int
        Number of training points N ≥ 1.
    n_test : int
        Number of test points ≥ 0.
    d : int, optional
        Input dimension: required for ``"sphere"`` (d ≥ 2) and ``"gaussian"``
        (d ≥ 1); for ``"digits"`` it must be omitted or 64.
    labels : {"random", "teacher", "parity"} or callable
        ``"random"``: iid ±1.  ``"teacher"``: ``sign(β·x)`` with β ~ N(0, I_d) drawn
        from ``seed`` (or the given ``beta``), the same β for train and test.
        ``"parity"`` (digits only): even → +1, odd → −1.  A callable ``fn``:
        ``sign(fn(X))`` (see :func:`callable_labels`).
    seed : int
        Seed of the training set and of the teacher.
    test_seed : int, optional
        Seed of the test set; by default a stream derived from ``seed``.  The test
        set depends only on ``(name, d, n_test, test seed, labels)``, never on
        ``n_train``.  For the digits, the test images are drawn first and the
        training images from the remaining ones, so the two never overlap.
    radius : float or "sqrt_d", optional
        Norm of the inputs for ``"sphere"`` and ``"digits"`` (default 1); not
        allowed for ``"gaussian"``.
    beta : array_like, shape (d,), optional
        Teacher direction for ``labels="teacher"``.

    Returns
    -------
    Dataset
    """
    name = as_choice("name", name, DATASETS)
    n_train = as_int("n_train", n_train, minimum=1)
    n_test = as_int("n_test", n_test, minimum=0)
    seed = as_seed("seed", seed)
    test_seed = (
        _child_seed(seed, _TEST_INPUTS) if test_seed is None else as_seed("test_seed", test_seed)
    )
    rule = _label_rule(labels, name)
    if beta is not None and rule != "teacher":
        raise ValueError(f"beta is only used with labels='teacher', got labels={labels!r}")

    train_seed = _child_seed(seed, _TRAIN_INPUTS)
    classes_train = classes_test = None
    if name == "digits":
        if d is not None and as_int("d", d) != DIGITS_DIM:
            raise ValueError(f"d must be {DIGITS_DIM} (or omitted) for digits, got {d}")
        d = DIGITS_DIM
        r = 1.0 if radius is None else radius
        if n_train + n_test > DIGITS_SIZE:
            raise ValueError(
                f"n_train + n_test must be <= {DIGITS_SIZE} (digit images available), "
                f"got {n_train} + {n_test} = {n_train + n_test}"
            )
        X_all, classes_all = _digits_all(r)
        test_idx = np.random.default_rng(test_seed).permutation(DIGITS_SIZE)[:n_test]
        rest = np.setdiff1d(np.arange(DIGITS_SIZE), test_idx)
        train_idx = rest[np.random.default_rng(train_seed).permutation(rest.size)[:n_train]]
        X_train, X_test = X_all[train_idx], X_all[test_idx]
        classes_train, classes_test = classes_all[train_idx], classes_all[test_idx]
        radius_value: float | None = resolve_radius(r, d)
    else:
        if d is None:
            raise ValueError(f"d (the input dimension) is required for name={name!r}")
        if name == "sphere":
            r = 1.0 if radius is None else radius
            X_train = sphere(n_train, d, seed=train_seed, radius=r)
            X_test = sphere(n_test, d, seed=test_seed, radius=r) if n_test else np.zeros((0, d))
            radius_value = resolve_radius(r, d)
        else:
            if radius is not None:
                raise ValueError(
                    f"radius is not defined for Gaussian inputs (use name='sphere'), "
                    f"got radius={radius!r}"
                )
            X_train = gaussian(n_train, d, seed=train_seed)
            X_test = gaussian(n_test, d, seed=test_seed) if n_test else np.zeros((0, d))
            radius_value = None

    teacher = None
    if rule == "random":
        y_train = random_labels(n_train, seed=_child_seed(seed, _TRAIN_LABELS))
        y_test = (
            random_labels(n_test, seed=_child_seed(test_seed, _TEST_LABELS))
            if n_test
            else np.zeros(0)
        )
    elif rule == "teacher":
        if beta is None:
            teacher = teacher_direction(d, seed=_child_seed(seed, _TEACHER))
        else:
            teacher = as_float_array("beta", beta, ndim=1, copy=True)
        y_train = teacher_labels(X_train, beta=teacher)
        y_test = teacher_labels(X_test, beta=teacher) if n_test else np.zeros(0)
    elif rule == "parity":
        y_train = parity_labels(classes_train)
        y_test = parity_labels(classes_test) if n_test else np.zeros(0)
    else:
        y_train = callable_labels(X_train, labels)
        y_test = callable_labels(X_test, labels) if n_test else np.zeros(0)

    return Dataset(
        X_train=X_train,
        y_train=y_train,
        X_test=X_test,
        y_test=y_test,
        name=name,
        labels=rule,
        seed=seed,
        test_seed=test_seed,
        radius=radius_value,
        beta=teacher,
    )
