"""ntkjam.data: distributions, normalisations, labels, splits and bad input."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import load_digits

from ntkjam import data
from ntkjam.data import load_dataset

# ----------------------------------------------------------------------------- inputs


@pytest.mark.parametrize("d", [2, 3, 10])
def test_sphere_norms_and_isotropy(d):
    X = data.sphere(20000, d, seed=3)
    assert X.shape == (20000, d) and X.dtype == np.float64
    np.testing.assert_allclose(np.linalg.norm(X, axis=1), 1.0, rtol=1e-14)
    # Uniform on S^{d-1}: mean 0 and covariance I/d.  Entries of the empirical
    # second-moment matrix have standard deviation <= 1/sqrt(N) (|x_k x_l| <= 1).
    tol = 5 / np.sqrt(X.shape[0])
    np.testing.assert_allclose(X.mean(axis=0), 0.0, atol=tol)
    np.testing.assert_allclose(X.T @ X / X.shape[0], np.eye(d) / d, atol=tol)


def test_sphere_radius_sqrt_d_gives_unit_q0():
    d = 7
    X = data.sphere(50, d, seed=0, radius="sqrt_d")
    np.testing.assert_allclose(np.sum(X**2, axis=1) / d, 1.0, rtol=1e-14)
    X3 = data.sphere(50, d, seed=0, radius=3.0)
    np.testing.assert_allclose(X3, 3.0 * data.sphere(50, d, seed=0), rtol=1e-15)


def test_sphere_uniform_angle_in_2d():
    # On the circle the angle is uniform: its histogram over 8 bins is flat.
    X = data.sphere(40000, 2, seed=11)
    counts, _ = np.histogram(np.arctan2(X[:, 1], X[:, 0]), bins=8, range=(-np.pi, np.pi))
    expected = X.shape[0] / 8
    assert np.all(np.abs(counts - expected) < 5 * np.sqrt(expected))


def test_gaussian_moments():
    X = data.gaussian(20000, 4, seed=5)
    assert X.shape == (20000, 4)
    np.testing.assert_allclose(X.mean(axis=0), 0.0, atol=5 / np.sqrt(20000))
    np.testing.assert_allclose(np.cov(X.T), np.eye(4), atol=5 * np.sqrt(2 / 20000))


def test_draws_are_seeded_and_nested():
    for draw in (
        lambda n, s: data.sphere(n, 5, seed=s),
        lambda n, s: data.gaussian(n, 5, seed=s),
        lambda n, s: data.digits(n=n, seed=s),
        lambda n, s: data.random_labels(n, seed=s),
    ):
        a, b = draw(30, 4), draw(30, 4)
        assert np.array_equal(a, b)
        assert not np.array_equal(a, draw(30, 5))
        assert np.array_equal(draw(10, 4), a[:10])


def _reference_digits(norm):
    bunch = load_digits()
    X = bunch.data - bunch.data.mean(axis=0)
    return X / np.linalg.norm(X, axis=1, keepdims=True) * norm, bunch.target


@pytest.mark.parametrize("radius, norm", [(1.0, 1.0), ("sqrt_d", 8.0)])
def test_digits_centred_and_normalised(radius, norm):
    X, classes = data.digits_with_classes(seed=2, radius=radius)
    assert X.shape == (1797, 64) and classes.shape == (1797,)
    np.testing.assert_allclose(np.linalg.norm(X, axis=1), norm, rtol=1e-14)
    ref_X, ref_c = _reference_digits(norm)
    # Same images, in a seeded order: match them by sorting on content.
    order, ref_order = np.lexsort(X.T), np.lexsort(ref_X.T)
    np.testing.assert_allclose(X[order], ref_X[ref_order], rtol=1e-13, atol=1e-15)
    assert np.array_equal(classes[order], ref_c[ref_order])
    sub = data.digits(n=100, seed=2, radius=radius)
    np.testing.assert_array_equal(sub, X[:100])


# ----------------------------------------------------------------------------- labels


def test_random_labels_values_and_balance():
    y = data.random_labels(10000, seed=1)
    assert y.dtype == np.float64 and set(np.unique(y)) == {-1.0, 1.0}
    assert abs(y.mean()) < 5 / np.sqrt(10000)


def test_teacher_labels_from_seed_and_beta():
    X = data.gaussian(500, 6, seed=0)
    X.flags.writeable = False  # any in-place write to the input would raise
    beta = data.teacher_direction(6, seed=9)
    y = data.teacher_labels(X, seed=9)
    np.testing.assert_array_equal(y, np.where(X @ beta >= 0, 1.0, -1.0))
    np.testing.assert_array_equal(data.teacher_labels(X, beta=beta), y)
    np.testing.assert_array_equal(data.teacher_labels(X, beta=2.5 * beta), y)
    assert 0.3 < np.mean(y > 0) < 0.7
    np.testing.assert_array_equal(data.teacher_labels(X, beta=-beta), -y)


def test_callable_and_parity_labels():
    X = data.gaussian(200, 3, seed=1)
    y = data.callable_labels(X, lambda Z: Z[:, 0] * Z[:, 1])
    np.testing.assert_array_equal(y, np.sign(X[:, 0] * X[:, 1]))
    assert np.array_equal(data.callable_labels(np.zeros((2, 3)), lambda Z: Z[:, 0]), [1.0, 1.0])
    np.testing.assert_array_equal(
        data.parity_labels([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]), [1, -1, 1, -1, 1, -1, 1, -1, 1, -1]
    )


def test_callable_cannot_mutate_inputs():
    X = data.gaussian(5, 3, seed=1)
    before = X.copy()

    def vandal(Z):
        Z[:] = 0.0
        return np.ones(Z.shape[0])

    data.callable_labels(X, vandal)
    np.testing.assert_array_equal(X, before)


# ----------------------------------------------------------------------------- splits


SPLIT_CASES = [
    (name, d, labels)
    for name, d in [("sphere", 5), ("gaussian", 5), ("digits", None)]
    for labels in ["random", "teacher", "callable"] + (["parity"] if name == "digits" else [])
]


@pytest.mark.parametrize("name, d, labels", SPLIT_CASES)
def test_test_set_independent_of_n_train(name, d, labels):
    rule = (lambda Z: Z[:, 0] - Z[:, 1]) if labels == "callable" else labels
    small = load_dataset(name, n_train=20, n_test=30, d=d, labels=rule, seed=7)
    large = load_dataset(name, n_train=200, n_test=30, d=d, labels=rule, seed=7)
    np.testing.assert_array_equal(small.X_test, large.X_test)
    np.testing.assert_array_equal(small.y_test, large.y_test)
    if name != "digits":  # digits draw training images among those not in the test set
        np.testing.assert_array_equal(small.X_train, large.X_train[:20])
    assert small.labels == labels
    for ds in (small, large):
        assert set(np.unique(ds.y_train)) <= {-1.0, 1.0}
        assert ds.X_train.shape == (ds.n_train, ds.d) and ds.y_test.shape == (30,)
    other = load_dataset(name, n_train=20, n_test=30, d=d, labels=rule, seed=8)
    assert not np.array_equal(small.X_test, other.X_test)


def test_explicit_test_seed_and_empty_test_set():
    a = load_dataset("sphere", n_train=10, n_test=5, d=3, seed=1, test_seed=42)
    b = load_dataset("sphere", n_train=10, n_test=5, d=3, seed=2, test_seed=42)
    np.testing.assert_array_equal(a.X_test, b.X_test)
    np.testing.assert_array_equal(a.X_test, data.sphere(5, 3, seed=42))
    assert not np.array_equal(a.X_train, b.X_train)
    empty = load_dataset("gaussian", n_train=4, d=3)
    assert empty.X_test.shape == (0, 3) and empty.y_test.shape == (0,) and empty.n_test == 0


def test_digits_split_is_disjoint_and_parity_correct():
    ds = load_dataset("digits", n_train=800, n_test=997, labels="parity", seed=0)
    both = np.vstack([ds.X_train, ds.X_test])
    assert np.unique(both, axis=0).shape[0] == np.unique(_reference_digits(1.0)[0], axis=0).shape[0]
    ref_X, ref_c = _reference_digits(1.0)
    # Parity labels agree with the digit of each image (looked up by content).
    lookup = {row.tobytes(): c for row, c in zip(np.round(ref_X, 12), ref_c, strict=True)}
    digits_train = np.array([lookup[r.tobytes()] for r in np.round(ds.X_train, 12)])
    np.testing.assert_array_equal(ds.y_train, np.where(digits_train % 2 == 0, 1.0, -1.0))
    assert ds.radius == 1.0 and ds.d == 64


def test_teacher_split_uses_one_direction():
    ds = load_dataset("gaussian", n_train=100, n_test=100, d=8, labels="teacher", seed=3)
    assert ds.beta.shape == (8,)
    np.testing.assert_array_equal(ds.y_train, data.teacher_labels(ds.X_train, beta=ds.beta))
    np.testing.assert_array_equal(ds.y_test, data.teacher_labels(ds.X_test, beta=ds.beta))
    beta = np.arange(1.0, 9.0)
    given = load_dataset("gaussian", n_train=10, d=8, labels="teacher", beta=beta)
    np.testing.assert_array_equal(given.y_train, data.teacher_labels(given.X_train, beta=beta))


def test_dataset_is_frozen_and_read_only():
    ds = load_dataset("sphere", n_train=5, n_test=2, d=3, radius="sqrt_d")
    assert ds.radius == pytest.approx(np.sqrt(3))
    with pytest.raises(ValueError, match="read-only"):
        ds.X_train[0, 0] = 1.0
    with pytest.raises(AttributeError):
        ds.seed = 3
    X = np.ones((2, 3))
    own = data.Dataset(X, np.ones(2), np.zeros((0, 3)), np.zeros(0), "sphere", "random", 0, 1)
    X[0, 0] = 5.0  # the caller's array stays writeable and the dataset keeps its copy
    assert own.X_train[0, 0] == 1.0


# ---------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "call, exc, match",
    [
        (lambda: data.sphere(0, 3, seed=0), ValueError, "n must be >= 1, got 0"),
        (lambda: data.sphere(5, 1, seed=0), ValueError, "d must be >= 2, got 1"),
        (lambda: data.sphere(5, 3, seed=-1), ValueError, "seed must be >= 0"),
        (lambda: data.sphere(5, 3, seed=0, radius=0.0), ValueError, "radius must be > 0"),
        (lambda: data.sphere(5, 3, seed=0, radius="unit"), ValueError, "radius must be one of"),
        (lambda: data.sphere(2.5, 3, seed=0), TypeError, "n must be an integer"),
        (lambda: data.gaussian(5, 0, seed=0), ValueError, "d must be >= 1"),
        (lambda: data.digits(n=0, seed=0), ValueError, "n must be >= 1"),
        (lambda: data.digits(n=1798, seed=0), ValueError, "n must be <= 1797"),
        (lambda: data.random_labels(0, seed=0), ValueError, "n must be >= 1"),
        (lambda: data.teacher_labels(np.ones((3, 2))), ValueError, "exactly one of seed"),
        (lambda: data.teacher_labels(np.ones((3, 2)), beta=[1.0]), ValueError, "length d = 2"),
        (lambda: data.teacher_labels(np.ones((3, 2)), beta=[0, 0]), ValueError, "nonzero"),
        (lambda: data.teacher_labels([[np.nan, 1.0]], seed=0), ValueError, "X must be finite"),
        (lambda: data.teacher_labels(np.ones(3), seed=0), ValueError, "X must have 2 dim"),
        (lambda: data.callable_labels([[np.inf, 0]], np.sum), ValueError, "X must be finite"),
        (lambda: data.callable_labels(np.ones((3, 2)), "sum"), TypeError, "fn must be callable"),
        (
            lambda: data.callable_labels(np.ones((3, 2)), lambda Z: Z),
            ValueError,
            "fn\\(X\\) must have 1 dim",
        ),
        (
            lambda: data.callable_labels(np.ones((3, 2)), lambda Z: Z[:2, 0]),
            ValueError,
            "one score per point",
        ),
        (
            lambda: data.callable_labels(np.ones((3, 2)), lambda Z: Z[:, 0] * np.nan),
            ValueError,
            "must be finite",
        ),
        (lambda: data.parity_labels([1, 10]), ValueError, "digits 0-9, got value 10"),
        (lambda: load_dataset("mnist", n_train=5), ValueError, "name must be one of"),
        (lambda: load_dataset("sphere", n_train=0, d=3), ValueError, "n_train must be >= 1"),
        (lambda: load_dataset("sphere", n_train=5, d=1), ValueError, "d must be >= 2"),
        (lambda: load_dataset("sphere", n_train=5), ValueError, "d \\(the input dimension"),
        (lambda: load_dataset("sphere", n_train=5, n_test=-1, d=3), ValueError, "n_test"),
        (lambda: load_dataset("sphere", n_train=5, d=3, labels="iid"), ValueError, "labels"),
        (lambda: load_dataset("sphere", n_train=5, d=3, labels="parity"), ValueError, "digits"),
        (lambda: load_dataset("gaussian", n_train=5, d=3, radius=1.0), ValueError, "radius"),
        (lambda: load_dataset("digits", n_train=5, d=10), ValueError, "d must be 64"),
        (
            lambda: load_dataset("digits", n_train=1000, n_test=900),
            ValueError,
            "n_train \\+ n_test must be <= 1797",
        ),
        (lambda: load_dataset("sphere", n_train=5, d=3, beta=[1, 2, 3]), ValueError, "beta"),
        (
            lambda: data.Dataset(np.ones((2, 2)), [1, 0], np.zeros((0, 2)), [], "x", "x", 0, 0),
            ValueError,
            "y_train must contain only -1 and \\+1, got value",
        ),
    ],
)
def test_bad_input(call, exc, match):
    with pytest.raises(exc, match=match):
        call()
