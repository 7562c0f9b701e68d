"""A data set by name (:func:`load_dataset`): train/test inputs and labels from one seed."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

import ntkjam.data.labels as rules
from ntkjam._validate import (
    as_choice,
    as_float_array,
    as_inputs,
    as_int,
    as_labels,
    as_seed,
)
from ntkjam.core.reprs import SummaryRepr
from ntkjam.data.inputs import DIGITS_DIM, DIGITS_SIZE, digits_all, gaussian, resolve_radius, sphere

__all__ = [
    "DATASETS",
    "Dataset",
    "LABELS",
    "load_dataset",
]


#: Names accepted by :func:`load_dataset`.
DATASETS = ("sphere", "gaussian", "digits")


#: Label rules accepted by name by :func:`load_dataset` (a callable is also accepted).
LABELS = ("random", "teacher", "parity")


# Independent random streams of load_dataset, derived from its seed.
_TRAIN_INPUTS, _TEST_INPUTS, _TEACHER, _TRAIN_LABELS, _TEST_LABELS = range(5)


def _child_seed(seed: int, stream: int) -> int:
    """A seed for stream ``stream`` of ``seed``, statistically independent of the others."""
    return int(np.random.SeedSequence([seed, stream]).generate_state(1, np.uint64)[0])


def _readonly(arr: np.ndarray) -> np.ndarray:
    arr.flags.writeable = False
    return arr


@dataclass(frozen=True, eq=False, repr=False)
class Dataset(SummaryRepr):
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

    Examples
    --------
    >>> import numpy as np
    >>> from ntkjam.data import Dataset
    >>> ds = Dataset(X_train=np.ones((3, 2)), y_train=[1, -1, 1], X_test=np.zeros((0, 2)),
    ...              y_test=np.zeros(0), name="gaussian", labels="random", seed=0, test_seed=1)
    >>> ds.n_train, ds.n_test, ds.d, ds.X_train.flags.writeable
    (3, 0, 2, False)
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
        """Number of training points N (rows of ``X_train``).

        Examples
        --------
        >>> from ntkjam.data import load_dataset
        >>> load_dataset("sphere", n_train=5, d=3).n_train
        5
        """
        return self.X_train.shape[0]

    @property
    def n_test(self) -> int:
        """Number of test points (rows of ``X_test``; 0 without a test set).

        Examples
        --------
        >>> from ntkjam.data import load_dataset
        >>> [load_dataset("sphere", n_train=5, n_test=m, d=3).n_test for m in (4, 0)]
        [4, 0]
        """
        return self.X_test.shape[0]

    @property
    def d(self) -> int:
        """Input dimension d (columns of ``X_train`` and ``X_test``).

        Examples
        --------
        >>> from ntkjam.data import load_dataset
        >>> ds = load_dataset("sphere", n_train=5, n_test=2, d=3)
        >>> ds.d, ds.X_train.shape, ds.X_test.shape
        (3, (5, 3), (2, 3))
        """
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

    Examples
    --------
    The test set does not change with ``n_train``, and training sets are nested:

    >>> import numpy as np
    >>> from ntkjam.data import load_dataset
    >>> small = load_dataset("sphere", n_train=5, n_test=4, d=3, labels="teacher", seed=0)
    >>> large = load_dataset("sphere", n_train=9, n_test=4, d=3, labels="teacher", seed=0)
    >>> small.X_train.shape, small.y_test.shape, small.beta.shape
    ((5, 3), (4,), (3,))
    >>> np.array_equal(small.X_test, large.X_test), np.array_equal(small.X_train, large.X_train[:5])
    (True, True)
    >>> sorted(set(load_dataset("gaussian", n_train=50, d=2).y_train.tolist()))
    [-1.0, 1.0]
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

    X_train, X_test, classes_train, classes_test, d, radius_value = _inputs(
        name, n_train, n_test, d, radius, _child_seed(seed, _TRAIN_INPUTS), test_seed
    )
    y_train, y_test, teacher = _labels(
        rule, labels, X_train, X_test, classes_train, classes_test, seed, test_seed, beta
    )

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


def _digit_inputs(n_train, n_test, d, radius, train_seed, test_seed):
    """Disjoint train and test digits: the test images first, the training ones from the rest."""
    if d is not None and as_int("d", d) != DIGITS_DIM:
        raise ValueError(f"d must be {DIGITS_DIM} (or omitted) for digits, got {d}")
    r = 1.0 if radius is None else radius
    if n_train + n_test > DIGITS_SIZE:
        raise ValueError(
            f"n_train + n_test must be <= {DIGITS_SIZE} (digit images available), "
            f"got {n_train} + {n_test} = {n_train + n_test}"
        )
    X_all, classes_all = digits_all(r)
    test_idx = np.random.default_rng(test_seed).permutation(DIGITS_SIZE)[:n_test]
    rest = np.setdiff1d(np.arange(DIGITS_SIZE), test_idx)
    train_idx = rest[np.random.default_rng(train_seed).permutation(rest.size)[:n_train]]
    return (X_all[train_idx], X_all[test_idx], classes_all[train_idx], classes_all[test_idx],
            DIGITS_DIM, resolve_radius(r, DIGITS_DIM))


def _inputs(name, n_train, n_test, d, radius, train_seed, test_seed):
    """The inputs of :func:`load_dataset` from their two streams.

    Returns
    -------
    X_train : numpy.ndarray, shape (n_train, d)
    X_test : numpy.ndarray, shape (n_test, d)
    classes_train, classes_test : numpy.ndarray of int or None, shape (n_train,), (n_test,)
        The digits shown (``None`` for the other data sets).
    d : int
    radius : float or None
    """
    if name == "digits":
        return _digit_inputs(n_train, n_test, d, radius, train_seed, test_seed)
    if d is None:
        raise ValueError(f"d (the input dimension) is required for name={name!r}")
    if name == "sphere":
        r = 1.0 if radius is None else radius
        X_train = sphere(n_train, d, seed=train_seed, radius=r)
        X_test = sphere(n_test, d, seed=test_seed, radius=r) if n_test else np.zeros((0, d))
        return X_train, X_test, None, None, d, resolve_radius(r, d)
    if radius is not None:
        raise ValueError(
            f"radius is not defined for Gaussian inputs (use name='sphere'), "
            f"got radius={radius!r}"
        )
    X_train = gaussian(n_train, d, seed=train_seed)
    X_test = gaussian(n_test, d, seed=test_seed) if n_test else np.zeros((0, d))
    return X_train, X_test, None, None, d, None


def _labels(rule, labels, X_train, X_test, classes_train, classes_test, seed, test_seed, beta):
    """The labels of :func:`load_dataset`: ``(y_train (n_train,), y_test (n_test,), β or None)``."""
    n_train, n_test = X_train.shape[0], X_test.shape[0]
    teacher = None
    if rule == "random":
        y_train = rules.random_labels(n_train, seed=_child_seed(seed, _TRAIN_LABELS))
        y_test = (
            rules.random_labels(n_test, seed=_child_seed(test_seed, _TEST_LABELS))
            if n_test
            else np.zeros(0)
        )
    elif rule == "teacher":
        if beta is None:
            teacher = rules.teacher_direction(X_train.shape[1],
                                              seed=_child_seed(seed, _TEACHER))
        else:
            teacher = as_float_array("beta", beta, ndim=1, copy=True)
        y_train = rules.teacher_labels(X_train, beta=teacher)
        y_test = rules.teacher_labels(X_test, beta=teacher) if n_test else np.zeros(0)
    elif rule == "parity":
        y_train = rules.parity_labels(classes_train)
        y_test = rules.parity_labels(classes_test) if n_test else np.zeros(0)
    else:
        y_train = rules.callable_labels(X_train, labels)
        y_test = rules.callable_labels(X_test, labels) if n_test else np.zeros(0)
    return y_train, y_test, teacher
