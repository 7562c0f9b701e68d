"""Per-sample gradients of an :class:`~ntkjam.networks.MLP`: its Jacobian and NTK products.

The two oracles behind :func:`ntkjam.networks.empirical_ntk` (which re-exports
:func:`jacobian` and :func:`ntk_vector_product` under their old import path):

``jacobian``
    Per-sample gradients (``vmap`` of ``grad``), ``J[i, p] = ∂f(x_i)/∂θ_p`` of shape
    ``(N, P)``, computed in chunks of rows within a memory budget.  The NTK from it
    (:func:`jacobian_kernel`) contracts the chunks leaf by leaf, so that at most two
    chunks of Jacobian rows (``chunk × P`` floats each) are alive: O(N1 N2 P).
``ntk_vector_product``
    ``K v = J (Jᵀ v)`` by a ``vjp`` followed by a ``jvp``, without forming K or J; the
    building block of matrix-free solvers.  Applied to blocks of unit vectors it gives
    the whole kernel (:func:`ntk_vp_kernel`).

Range: every result is checked once (:func:`finite_result`): gradients that overflow
float64 raise :class:`~ntkjam._validate.NumericalRangeError` (a ``ValueError``) naming
``params`` and ``X`` instead of returning inf or NaN.
"""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from ntkjam._validate import as_float_array, as_inputs, as_int, check_finite_result
from ntkjam.networks.mlp import MLP, Params, apply_fn, check_inputs, param_count

#: Default memory allowed for Jacobian rows / parameter-sized blocks (bytes).
DEFAULT_MEMORY_BUDGET = 512 * 2**20


# ---------------------------------------------------------------------------
# Jacobian


def _per_sample_grads(net: MLP, params: Params, X: jax.Array) -> Params:
    def single(x):
        return jax.grad(lambda p: apply_fn(net, p, x[None, :])[0])(params)

    return jax.vmap(single)(X)


def _flat_rows(tree) -> jax.Array:
    leaves = jax.tree_util.tree_leaves(tree)
    return jnp.concatenate([leaf.reshape(leaf.shape[0], -1) for leaf in leaves], axis=1)


@partial(jax.jit, static_argnums=0)
def _jacobian_rows(net: MLP, params: Params, X: jax.Array) -> jax.Array:
    return _flat_rows(_per_sample_grads(net, params, X))


@partial(jax.jit, static_argnums=0)
def _jac_tree(net: MLP, params: Params, X: jax.Array):
    return _per_sample_grads(net, params, X)


@jax.jit
def _contract(Ja, Jb) -> jax.Array:
    leaves_a = jax.tree_util.tree_leaves(Ja)
    leaves_b = jax.tree_util.tree_leaves(Jb)
    K = 0.0
    for la, lb in zip(leaves_a, leaves_b, strict=True):
        K = K + la.reshape(la.shape[0], -1) @ lb.reshape(lb.shape[0], -1).T
    return K


def _chunks(n: int, size: int) -> list[tuple[int, int]]:
    return [(start, min(start + size, n)) for start in range(0, n, size)]


def _padded(X: np.ndarray, start: int, stop: int, size: int) -> jax.Array:
    # Pad the last chunk to the common size so the jitted function compiles once.
    block = X[start:stop]
    if stop - start < size:
        block = np.concatenate([block, np.zeros((size - (stop - start), X.shape[1]))])
    return jnp.asarray(block)


def _rows_per_chunk(P: int, memory_budget: int, n: int) -> int:
    return int(max(1, min(n, memory_budget // (8 * P))))


def jacobian_kernel(
    net: MLP, params: Params, X1: np.ndarray, X2: np.ndarray | None, memory_budget: int
) -> np.ndarray:
    """``J(X1) J(X2)ᵀ``, shape (N1, N2), by chunks of Jacobian rows (checked inputs).

    ``X2 = None`` means ``X1``; then only blocks on and above the diagonal are computed
    and the result is exactly symmetric.
    """
    sym = X2 is None
    X2 = X1 if sym else X2
    P = param_count(net)
    # Two chunks of Jacobian rows are alive at a time.
    size = _rows_per_chunk(P, memory_budget // 2, max(X1.shape[0], X2.shape[0]))
    K = np.empty((X1.shape[0], X2.shape[0]))
    c1, c2 = _chunks(X1.shape[0], size), _chunks(X2.shape[0], size)
    for a, (s1, e1) in enumerate(c1):
        Ja = _jac_tree(net, params, _padded(X1, s1, e1, size))
        for b, (s2, e2) in enumerate(c2):
            if sym and b < a:
                continue
            Jb = Ja if sym and a == b else _jac_tree(net, params, _padded(X2, s2, e2, size))
            block = np.asarray(_contract(Ja, Jb))[: e1 - s1, : e2 - s2]
            K[s1:e1, s2:e2] = block
            if sym and b > a:
                K[s2:e2, s1:e1] = block.T
    if sym:
        K = 0.5 * (K + K.T)
    return K


def jacobian(
    net: MLP, params: Params, X: object, *, memory_budget: int | None = None
) -> np.ndarray:
    """The Jacobian ``J[i, p] = ∂f(x_i)/∂θ_p``.

    Parameters
    ----------
    net : MLP
    params : list of (W, b)
    X : array_like, shape (N, d)
    memory_budget : int, optional
        Bytes of Jacobian rows computed at once (default 512 MiB); the result
        itself takes ``8 N P`` bytes.

    Returns
    -------
    numpy.ndarray, shape (N, P)
        Columns in the order of :func:`ntkjam.networks.mlp.flatten_params`.

    Examples
    --------
    A bias-free ReLU network of depth L is homogeneous of degree L + 1 in θ, so Euler's
    theorem gives ``J θ = (L + 1) f``:

    >>> import numpy as np
    >>> from ntkjam.networks import apply, flatten_params, init_params, mlp
    >>> from ntkjam.networks.tangents import jacobian
    >>> net, X = mlp(3, 4), np.random.default_rng(1).standard_normal((20, 3))
    >>> params = init_params(net, seed=0)
    >>> J = jacobian(net, params, X)
    >>> J.shape, bool(np.allclose(J @ flatten_params(params), 2 * apply(net, params, X)))
    ((20, 16), True)
    """
    X = check_inputs(net, params, X)
    budget = memory_budget_bytes(memory_budget)
    P = param_count(net)
    size = _rows_per_chunk(P, budget, X.shape[0])
    J = np.empty((X.shape[0], P))
    for start, stop in _chunks(X.shape[0], size):
        J[start:stop] = np.asarray(_jacobian_rows(net, params, _padded(X, start, stop, size)))[
            : stop - start
        ]
    return finite_result("jacobian", J, params, X)


# ---------------------------------------------------------------------------
# NTK-vector products


@partial(jax.jit, static_argnums=0)
def _ntk_vp(net: MLP, params: Params, X1: jax.Array, X2: jax.Array, V: jax.Array) -> jax.Array:
    _, pullback = jax.vjp(lambda p: apply_fn(net, p, X2), params)

    def one(v):
        (g,) = pullback(v)
        return jax.jvp(lambda p: apply_fn(net, p, X1), (params,), (g,))[1]

    return jax.vmap(one, in_axes=1, out_axes=1)(V)


def ntk_vector_product(
    net: MLP, params: Params, X1: object, V: object, X2: object = None
) -> np.ndarray:
    """``K(X1, X2) V`` without forming K or the Jacobian: ``J1 (J2ᵀ V)``.

    Parameters
    ----------
    net : MLP
    params : list of (W, b)
    X1 : array_like, shape (N1, d)
    V : array_like, shape (N2,) or (N2, k)
    X2 : array_like, shape (N2, d), optional
        Defaults to ``X1``.

    Returns
    -------
    numpy.ndarray, shape (N1,) or (N1, k)
        Cost O(k) forward-and-backward passes over N1 + N2 points; memory
        O(k P) for the intermediate parameter-space vectors.

    Examples
    --------
    >>> import numpy as np
    >>> from ntkjam.networks import empirical_ntk, init_params, mlp
    >>> from ntkjam.networks.tangents import ntk_vector_product
    >>> net, X = mlp(3, 4), np.random.default_rng(1).standard_normal((20, 3))
    >>> params, v = init_params(net, seed=0), np.arange(20.0)
    >>> Kv = ntk_vector_product(net, params, X, v)
    >>> Kv.shape, bool(np.allclose(Kv, empirical_ntk(net, params, X) @ v))
    ((20,), True)
    """
    X1 = check_inputs(net, params, X1, "X1")
    X2 = X1 if X2 is None else as_inputs("X2", X2, dim=net.input_dim)
    V = as_float_array("V", V, ndim=(1, 2))
    if V.shape[0] != X2.shape[0]:
        raise ValueError(
            f"V must have {X2.shape[0]} rows (one per point of X2), got shape {V.shape}"
        )
    vector = V.ndim == 1
    V2 = V[:, None] if vector else V
    out = np.asarray(_ntk_vp(net, params, jnp.asarray(X1), jnp.asarray(X2), jnp.asarray(V2)))
    out = finite_result("ntk_vector_product", out, params, X1, X2)
    return out[:, 0] if vector else out


def ntk_vp_kernel(
    net: MLP, params: Params, X1: np.ndarray, X2: np.ndarray | None, memory_budget: int
) -> np.ndarray:
    """``K(X1, X2)``, shape (N1, N2), as NTK-vector products with blocks of unit vectors."""
    sym = X2 is None
    X2 = X1 if sym else X2
    n2 = X2.shape[0]
    size = _rows_per_chunk(param_count(net), memory_budget, n2)
    K = np.empty((X1.shape[0], n2))
    x1, x2 = jnp.asarray(X1), jnp.asarray(X2)
    for start, stop in _chunks(n2, size):
        E = np.zeros((n2, size))
        E[np.arange(start, stop), np.arange(stop - start)] = 1.0
        K[:, start:stop] = np.asarray(_ntk_vp(net, params, x1, x2, jnp.asarray(E)))[
            :, : stop - start
        ]
    if sym:
        K = 0.5 * (K + K.T)
    return K


# ---------------------------------------------------------------------------
# shared checks


def finite_result(what: str, result: np.ndarray, params: Params, *Xs: np.ndarray) -> np.ndarray:
    """``result`` if finite, else a :class:`NumericalRangeError` naming params and X."""
    if np.isfinite(result).all():
        return result
    theta = max(float(np.max(np.abs(np.asarray(leaf)), initial=0.0))
                for leaf in jax.tree_util.tree_leaves(params))
    x = max(float(np.max(np.abs(X), initial=0.0)) for X in Xs)
    return check_finite_result(
        what, result,
        f"the network's gradients at params (max |θ| = {theta:.3g}) on inputs with max |x| = "
        f"{x:.3g} do not fit in float64; rescale params or X",
    )


def memory_budget_bytes(memory_budget: int | None) -> int:
    """The ``memory_budget`` argument in bytes (≥ 8): the default when None."""
    if memory_budget is None:
        return DEFAULT_MEMORY_BUDGET
    return as_int("memory_budget", memory_budget, minimum=8)


__all__ = ["DEFAULT_MEMORY_BUDGET", "jacobian", "ntk_vector_product"]
