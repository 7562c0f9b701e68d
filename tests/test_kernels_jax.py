"""The analytic kernels in JAX: equal to the previous implementation, traceable, blocked.

``tests/data/kernels_reference.npz`` holds Grams of the NumPy implementation this one
replaced (ntkjam at commit f3e0378): ReLU and erf (closed form and quadrature),
identity, tanh and gelu, depth 0–3, σ_b = 0 and 0.4, symmetric and cross calls, on
inputs with a near-duplicate, a near-antipode, an exact duplicate, a collinear pair
and a tiny norm.  A slow textbook recursion in extended precision, written here
independently of the package's closed forms, checks both on well-separated inputs.
"""

import math
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import ntkjam  # noqa: F401  (x64)
from ntkjam.kernels import expectations as ex
from ntkjam.kernels import kernel_vector_product, nngp, nngp_and_ntk, ntk, strips
from ntkjam.kernels.elementary import arctan2
from ntkjam.spectrum.slq import kernel_operator

REFERENCE = Path(__file__).parent / "data" / "kernels_reference.npz"


def _separated(n=8, d=6, seed=3):
    """Points with no nearly (anti)collinear pair: the textbook arccos is accurate there."""
    rng = np.random.default_rng(seed)
    while True:
        X = rng.standard_normal((n, d))
        U = X / np.linalg.norm(X, axis=1, keepdims=True)
        cos = U @ U.T
        if np.max(np.abs(cos - np.eye(n))) < 0.9:
            return X


def _textbook(X1, X2, depth, activation, sigma_w, sigma_b):
    """The NNGP/NTK recursion with arccos/arcsin in long double (independent reference)."""
    L = np.longdouble
    X1, X2 = X1.astype(L), X2.astype(L)
    d = X1.shape[1]
    sw2, sb2 = L(sigma_w) ** 2, L(sigma_b) ** 2
    a = sw2 * np.sum(X1 * X1, axis=1)[:, None] / d + sb2
    b = sw2 * np.sum(X2 * X2, axis=1)[None, :] / d + sb2
    c = sw2 * (X1 @ X2.T) / d + sb2
    theta = c
    pi = L(np.pi)
    for _ in range(depth):
        if activation == "relu":
            cos = np.clip(c / np.sqrt(a * b), -1, 1)
            ang = np.arccos(cos)
            e = np.sqrt(a * b) / (2 * pi) * (np.sin(ang) + (pi - ang) * cos)
            edot = (pi - ang) / (2 * pi)
            a, b = sw2 * a / 2 + sb2, sw2 * b / 2 + sb2
        else:  # erf
            e = 2 / pi * np.arcsin(2 * c / np.sqrt((1 + 2 * a) * (1 + 2 * b)))
            edot = 4 / pi / np.sqrt((1 + 2 * a) * (1 + 2 * b) - 4 * c * c)
            a = sw2 * 2 / pi * np.arcsin(2 * a / (1 + 2 * a)) + sb2
            b = sw2 * 2 / pi * np.arcsin(2 * b / (1 + 2 * b)) + sb2
        c = sw2 * e + sb2
        theta = c + sw2 * edot * theta
    return c.astype(float), theta.astype(float)


# ------------------------------------------------------------------ accuracy


def test_equal_to_the_previous_implementation():
    ref = np.load(REFERENCE)
    X, Y = ref["X"], ref["Y"]
    for i, case in enumerate(ref["cases"]):
        act, method, depth, sw, sb, sym = str(case).split("|")
        got = nngp_and_ntk(X, None if sym == "1" else Y, depth=int(depth), activation=act,
                           sigma_w=float(sw), sigma_b=float(sb), method=method)
        for new, name in zip(got, ("nngp", "ntk"), strict=True):
            old = ref[f"c{i}_{name}"]
            scale = np.max(np.abs(old))
            assert np.max(np.abs(new - old)) <= 1e-12 * scale, (case, name)
            big = np.abs(old) > 1e-3 * scale
            assert np.max(np.abs(new - old)[big] / np.abs(old[big])) <= 1e-12, (case, name)


@pytest.mark.parametrize("activation", ["relu", "erf"])
@pytest.mark.parametrize("depth", [1, 2, 3])
@pytest.mark.parametrize(("sigma_w", "sigma_b"), [(math.sqrt(2.0), 0.0), (1.3, 0.4)])
def test_against_an_independent_textbook_recursion(activation, depth, sigma_w, sigma_b):
    X = _separated()
    Y = _separated(5, seed=4)
    for X2 in (None, Y):
        want = _textbook(X, X if X2 is None else X2, depth, activation, sigma_w, sigma_b)
        got = nngp_and_ntk(X, X2, depth=depth, activation=activation, sigma_w=sigma_w,
                           sigma_b=sigma_b)
        # (the textbook arccos loses digits on the diagonal: checked in closed form below)
        off = ~np.eye(*got[0].shape, dtype=bool) if X2 is None else np.ones(got[0].shape, bool)
        for g, w in zip(got, want, strict=True):
            # entries far below the Gram's scale carry its rounding, ε·max|K|, absolutely
            np.testing.assert_allclose(g[off], w[off], rtol=1e-12, atol=1e-15 * np.max(w))


@pytest.mark.parametrize("depth", [1, 2, 3, 5])
@pytest.mark.parametrize("sigma_b", [0.0, 0.4])
def test_relu_diagonal_is_exact(depth, sigma_b):
    # The arc-cosine recursion at angle 0: NNGP = 2q₀ + (L+1)σ_b², NTK = 2q₀(L+1) +
    # σ_b²(L+1)(L+2)/2 for σ_w² = 2; rounding only (a few ulp), also at N = 600.
    X = np.random.default_rng(5).standard_normal((600, 7))
    q0 = np.sum(X * X, axis=1) / 7
    K0, K = nngp_and_ntk(X, depth=depth, sigma_b=sigma_b)
    L = depth
    np.testing.assert_allclose(np.diag(K0), 2 * q0 + (L + 1) * sigma_b**2, rtol=4e-15)
    np.testing.assert_allclose(np.diag(K), 2 * q0 * (L + 1) + sigma_b**2 * (L + 1) * (L + 2) / 2,
                               rtol=4e-15)


def test_arctan2_within_two_ulp_and_exact_derivative():
    rng = np.random.default_rng(0)
    n = 200_000
    y = rng.standard_normal(n) * 10.0 ** rng.uniform(-30, 30, n)
    x = rng.standard_normal(n) * 10.0 ** rng.uniform(-30, 30, n)
    y[:1000] = x[:1000] * (1 + 1e-9 * rng.standard_normal(1000))
    ref = np.arctan2(y.astype(np.longdouble), x.astype(np.longdouble)).astype(float)
    got = np.asarray(jax.jit(arctan2)(y, x))
    assert np.all(np.abs(got - ref) <= 2 * np.spacing(np.abs(ref)))
    dy, dx = jax.grad(arctan2, argnums=(0, 1))(0.3, -0.7)
    np.testing.assert_allclose([dy, dx], [-0.7 / 0.58, -0.3 / 0.58], rtol=1e-15)


# ------------------------------------------------------------------ structure


def test_numpy_in_numpy_out_symmetric_across_blocks():
    X = np.random.default_rng(6).standard_normal((700, 5))  # 3 × 3 blocks, ragged
    K0, K = nngp_and_ntk(X, depth=2, sigma_b=0.2)
    for k in (K0, K):
        assert type(k) is np.ndarray and k.dtype == np.float64 and k.flags.writeable
        assert np.array_equal(k, k.T)


@pytest.mark.parametrize("activation", ["relu", "erf"])
def test_block_size_does_not_change_the_result(activation):
    X = np.random.default_rng(7).standard_normal((12, 5))
    X[3] = X[2] + 1e-8  # a near-duplicate (recomputed exactly, whatever the blocks)
    spec = strips.KernelSpec(activation, ex.DEFAULT_QUADRATURE, 3, 1.7, 0.1)
    n = np.einsum("ij,ij->i", X, X) / X.shape[1]
    full = strips.gram(spec, X, None, n, None, (0, 1), edge=12)
    for edge in (1, 7):
        for got, want in zip(strips.gram(spec, X, None, n, None, (0, 1), edge=edge), full,
                             strict=True):
            assert np.max(np.abs(got - want)) <= 1e-15 * np.max(np.abs(want))
    cross = strips.gram(spec, X[:5], X, n[:5], n, (1,), edge=7)[0]
    assert np.max(np.abs(cross - full[1][:5])) <= 1e-15 * np.max(np.abs(full[1]))


@pytest.mark.parametrize(("activation", "n"), [("relu", 700), ("erf", 300), ("tanh", 20)])
def test_kernel_vector_product_equals_the_dense_product(activation, n):
    rng = np.random.default_rng(8)
    X = rng.standard_normal((n, 4))
    X[5] = X[1] * (1 + 1e-9)  # nearly collinear pairs, in and across blocks
    X[-1] = X[0] + 1e-9
    V = rng.standard_normal((n, 3))
    for kernel, dense in (("ntk", ntk), ("nngp", nngp)):
        K = dense(X, depth=2, activation=activation, sigma_b=0.3)
        got = kernel_vector_product(X, V, kernel=kernel, depth=2, activation=activation,
                                    sigma_b=0.3)
        assert np.max(np.abs(got - K @ V)) <= 1e-12 * np.max(np.abs(K @ V))
        one = kernel_vector_product(X, V[:, 0], kernel=kernel, depth=2,
                                    activation=activation, sigma_b=0.3)
        assert one.shape == (n,)
        assert np.max(np.abs(one - got[:, 0])) <= 1e-14 * np.max(np.abs(got))
    small = strips.gram_vector_product(
        strips.KernelSpec("relu", ex.DEFAULT_QUADRATURE, 2, 2.0, 0.0), X[:50],
        np.einsum("ij,ij->i", X[:50], X[:50]) / 4, V[:50], 1, edge=7)
    np.testing.assert_allclose(small, ntk(X[:50], depth=2) @ V[:50], rtol=1e-12, atol=1e-12)


def test_slq_kernel_operator_uses_the_blocked_product():
    X = np.random.default_rng(9).standard_normal((300, 3))
    V = np.random.default_rng(10).standard_normal((300, 2))
    op = kernel_operator(ntk, X, depth=2, sigma_b=0.1)
    K = ntk(X, depth=2, sigma_b=0.1)
    assert np.max(np.abs(op.matmat(V) - K @ V)) <= 1e-12 * np.max(np.abs(K @ V))


# ------------------------------------------------------------------ tracing


def _fd(f, x, h):
    return (f(x + h) - f(x - h)) / (2 * h)


@pytest.mark.parametrize("activation", ["relu", "erf"])
def test_grad_matches_finite_differences(activation):
    X = _separated(6, 4, seed=11)
    opts = dict(depth=3, activation=activation)

    def loss(X, sigma_w=1.3, sigma_b=0.4):
        return ntk(X, sigma_w=sigma_w, sigma_b=sigma_b, **opts).sum() + ntk(
            X, X[:3] * 1.1, sigma_w=sigma_w, sigma_b=sigma_b, **opts).sum()

    gX, gw, gb = jax.grad(loss, argnums=(0, 1, 2))(jnp.asarray(X), 1.3, 0.4)
    for i, j in [(0, 0), (2, 3), (5, 1)]:
        E = np.zeros_like(X)
        E[i, j] = 1.0
        fd = _fd(lambda t, E=E: float(loss(X + t * E)), 0.0, 1e-5)
        assert abs(float(gX[i, j]) - fd) <= 1e-6 * max(1.0, abs(fd)), (i, j)
    assert abs(float(gw) - _fd(lambda s: float(loss(X, sigma_w=s)), 1.3, 1e-5)) <= 1e-6 * abs(gw)
    assert abs(float(gb) - _fd(lambda s: float(loss(X, sigma_b=s)), 0.4, 1e-5)) <= 1e-6 * abs(gb)


def test_traced_calls_equal_the_numpy_path():
    X = np.random.default_rng(12).standard_normal((40, 5))
    X[7] = X[3] + 1e-9
    for activation in ("relu", "erf", "tanh"):
        want = nngp_and_ntk(X, depth=2, activation=activation, sigma_b=0.2)
        got = jax.jit(lambda X, a=activation: nngp_and_ntk(X, depth=2, activation=a,
                                                          sigma_b=0.2))(X)
        for g, w in zip(got, want, strict=True):
            assert isinstance(g, jax.Array)
            assert np.max(np.abs(np.asarray(g) - w)) <= 1e-13 * np.max(np.abs(w))
        assert np.array_equal(np.asarray(got[1]), np.asarray(got[1]).T)
    cross = jax.jit(lambda X: ntk(X[:9], X, depth=3))(X)
    np.testing.assert_allclose(cross, ntk(X[:9], X, depth=3), rtol=1e-13, atol=1e-14)
    batched = jax.vmap(lambda X: ntk(X, depth=1))(jnp.stack([X[:6], X[6:12]]))
    np.testing.assert_allclose(batched[1], ntk(X[6:12], depth=1), rtol=1e-13)


def test_traced_calls_check_shapes():
    with pytest.raises(ValueError, match="X2 must have input dimension d = 5"):
        jax.jit(lambda X: ntk(X, X[:, :3]))(np.ones((4, 5)))
    with pytest.raises(ValueError, match="X1 must have 2 dimension"):
        jax.jit(lambda X: ntk(X))(np.ones(4))
    with pytest.raises(ValueError, match="depth must be >= 0"):
        jax.jit(lambda X: ntk(X, depth=-1))(np.ones((4, 5)))
