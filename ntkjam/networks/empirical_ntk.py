"""Empirical (finite-width) neural tangent kernel of an :class:`~ntkjam.networks.MLP`.

``K(x, x') = Σ_p ∂_p f(x) ∂_p f(x') = (J Jᵀ)(x, x')``.  Three implementations:

``"structured"`` (default)
    Never forms the Jacobian.  With ``z^{l+1} = c_w h^l W^l + c_b b^l`` and the
    backward signal ``δ^{l+1} = ∂f/∂z^{l+1}``, the gradient of layer l is
    ``c_w h^l ⊗ δ^{l+1}`` (weights) and ``c_b δ^{l+1}`` (biases), so ::

        K = Σ_l  (Δ^{l+1} Δ'^{l+1ᵀ}) ⊙ (c_w² H^l H'^{lᵀ} + c_b²)

    a sum of Hadamard products of (N1, N2) Grams: cost O(N1 N2 Σ_l n_l) plus two
    passes over the network, instead of O(N1 N2 P) for the contraction.  When
    ``X2`` is omitted only the blocks on and above the diagonal are computed.
``"jacobian"``
    Per-sample gradients (``vmap`` of ``grad``) contracted leaf by leaf,
    chunked over samples so that at most two chunks of Jacobian rows
    (``chunk × P`` floats each) are alive.  A test oracle: it costs O(N1 N2 P).
``"ntk_vp"``
    NTK-vector products ``K v = J (Jᵀ v)`` by a ``vjp`` followed by a ``jvp``,
    applied to blocks of unit vectors.  The building block of matrix-free
    solvers (:func:`ntk_vector_product`); also a test oracle.

All three agree to ~1e-14 relative in float64 (tests assert 1e-10).

Range: parameters must be finite (checked on entry, the error names
``params[l]``), and every result is checked once: gradients that overflow
float64 raise :class:`~ntkjam._validate.NumericalRangeError` (a ``ValueError``)
naming ``params`` and ``X`` instead of returning inf or NaN.
"""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from ntkjam._validate import (
    as_choice,
    as_float_array,
    as_inputs,
    as_int,
    check_finite_result,
)
from ntkjam.networks.mlp import (
    MLP,
    Params,
    apply_fn,
    check_inputs,
    forward,
    layer_multipliers,
    param_count,
)

METHODS = ("structured", "jacobian", "ntk_vp")

#: Default memory allowed for Jacobian rows / parameter-sized blocks (bytes).
DEFAULT_MEMORY_BUDGET = 512 * 2**20

#: Row-block size of the structured kernel (blocks of the output are computed
#: one at a time; with X2 omitted only blocks on and above the diagonal).
_BLOCK = 256


# ---------------------------------------------------------------------------
# structured


def backward_signals(net: MLP, params: Params, X: jax.Array) -> tuple[list, list]:
    """Layer inputs and backward signals, the two factors of the structured NTK.

    Parameters
    ----------
    net : MLP
    params : list of (W, b)
    X : array, shape (N, d)

    Returns
    -------
    inputs : list of L+1 arrays
        ``h^l``, shape ``(N, n_l)``, the input of layer l (``h⁰ = X``).
    signals : list of L+1 arrays
        ``δ^{l+1} = ∂f/∂z^{l+1}``, shape ``(N, n_{l+1})``, the backward signal at
        the output of layer l; the last one (readout) is ``ones((N, 1))``.
    """
    inputs, preacts = forward(net, params, X)
    mult = layer_multipliers(net)
    dphi = net.activation.derivative
    delta = jnp.ones_like(preacts[-1])
    signals = [delta]
    for layer in range(net.depth, 0, -1):
        W = params[layer][0]
        cw = mult[layer][0]
        delta = cw * (delta @ W.T) * dphi(preacts[layer - 1])
        signals.append(delta)
    return inputs, signals[::-1]


def _kernel_block(net: MLP, ins1, sig1, ins2, sig2) -> jax.Array:
    """``Σ_l (Δ1 Δ2ᵀ) ⊙ (c_w² H1 H2ᵀ + c_b²)`` for one pair of row blocks."""
    mult = layer_multipliers(net)
    cw, cb = mult[-1]
    K = (cw**2) * (ins1[-1] @ ins2[-1].T)
    if net.bias:
        K = K + cb**2
    for layer in range(net.depth):
        cw, cb = mult[layer]
        act = (cw**2) * (ins1[layer] @ ins2[layer].T)
        if net.bias:
            act = act + cb**2
        K = K + (sig1[layer] @ sig2[layer].T) * act
    return K


def _pad_rows(X: np.ndarray, block: int) -> jax.Array:
    n = X.shape[0]
    n_pad = -(-n // block) * block
    if n_pad > n:
        X = np.concatenate([X, np.zeros((n_pad - n, X.shape[1]))])
    return jnp.asarray(X)


def _block_map(net: MLP, ins1, sig1, ins2, sig2, pairs, b1: int, b2: int) -> jax.Array:
    # One compiled body for every pair of row blocks (a loop, not an unrolled
    # graph: compile time stays flat in N), and small blocks keep the Grams and
    # their Hadamard products in cache instead of streaming N x N temporaries.
    def one(ab):
        def take(arrays, start, size):
            return [jax.lax.dynamic_slice_in_dim(x, start, size, axis=0) for x in arrays]

        a, b = ab[0] * b1, ab[1] * b2
        return _kernel_block(net, take(ins1, a, b1), take(sig1, a, b1), take(ins2, b, b2),
                             take(sig2, b, b2))

    return jax.lax.map(one, pairs)


@partial(jax.jit, static_argnums=(0, 5, 6))
def _structured_pairs(net: MLP, params: Params, X1, X2, pairs, b1: int, b2: int) -> jax.Array:
    ins1, sig1 = backward_signals(net, params, X1)
    ins2, sig2 = (ins1, sig1) if X2 is None else backward_signals(net, params, X2)
    return _block_map(net, ins1, sig1, ins2, sig2, pairs, b1, b2)


def _structured(
    net: MLP, params: Params, X1: np.ndarray, X2: np.ndarray | None, block: int = _BLOCK
) -> np.ndarray:
    sym = X2 is None
    n1 = X1.shape[0]
    n2 = n1 if sym else X2.shape[0]
    b1, b2 = min(block, n1), min(block, n2)
    nb1, nb2 = -(-n1 // b1), -(-n2 // b2)
    if sym:
        pairs = [(a, b) for a in range(nb1) for b in range(a, nb1)]
    else:
        pairs = [(a, b) for a in range(nb1) for b in range(nb2)]
    blocks = np.asarray(
        _structured_pairs(
            net,
            params,
            _pad_rows(X1, b1),
            None if sym else _pad_rows(X2, b2),
            jnp.asarray(np.array(pairs, dtype=np.int32)),
            b1,
            b2,
        )
    )
    # Assemble in place (no padded copy, no K + Kᵀ temporary: at N = 4000 each
    # (N, N) array is 128 MB).
    K = np.empty((n1, n2))
    for (a, b), piece in zip(pairs, blocks, strict=True):
        r0, r1 = a * b1, min((a + 1) * b1, n1)
        c0, c1 = b * b2, min((b + 1) * b2, n2)
        piece = piece[: r1 - r0, : c1 - c0]
        if sym and a == b:
            # Diagonal blocks are symmetric only up to rounding: make K exactly so.
            piece = 0.5 * (piece + piece.T)
        K[r0:r1, c0:c1] = piece
        if sym and b > a:
            K[c0:c1, r0:r1] = piece.T
    return K


@partial(jax.jit, static_argnums=0)
def _diagonal(net: MLP, params: Params, X: jax.Array) -> jax.Array:
    ins, sig = backward_signals(net, params, X)
    mult = layer_multipliers(net)
    total = jnp.zeros(X.shape[0])
    for layer in range(net.depth + 1):
        cw, cb = mult[layer]
        act = cw**2 * jnp.sum(ins[layer] ** 2, axis=1)
        if net.bias:
            act = act + cb**2
        total = total + jnp.sum(sig[layer] ** 2, axis=1) * act
    return total


def empirical_ntk_diagonal(net: MLP, params: Params, X: object) -> np.ndarray:
    """``K(x_i, x_i) = ‖∂_θ f(x_i)‖²`` for every row of ``X``, in O(N Σ widths).

    Returns
    -------
    numpy.ndarray, shape (N,)
    """
    X = check_inputs(net, params, X)
    return _finite("empirical_ntk_diagonal", np.asarray(_diagonal(net, params, jnp.asarray(X))),
                   params, X)


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


def _jacobian_ntk(
    net: MLP, params: Params, X1: np.ndarray, X2: np.ndarray | None, memory_budget: int
) -> np.ndarray:
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
    """
    X = check_inputs(net, params, X)
    budget = _budget(memory_budget)
    P = param_count(net)
    size = _rows_per_chunk(P, budget, X.shape[0])
    J = np.empty((X.shape[0], P))
    for start, stop in _chunks(X.shape[0], size):
        J[start:stop] = np.asarray(_jacobian_rows(net, params, _padded(X, start, stop, size)))[
            : stop - start
        ]
    return _finite("jacobian", J, params, X)


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
    out = _finite("ntk_vector_product", out, params, X1, X2)
    return out[:, 0] if vector else out


def _ntk_vp_kernel(
    net: MLP, params: Params, X1: np.ndarray, X2: np.ndarray | None, memory_budget: int
) -> np.ndarray:
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
# public entry points


def empirical_ntk(
    net: MLP,
    params: Params,
    X1: object,
    X2: object = None,
    *,
    method: str = "structured",
    memory_budget: int | None = None,
) -> np.ndarray:
    """The empirical NTK ``K(X1, X2) = J(X1) J(X2)ᵀ`` of a finite network.

    Parameters
    ----------
    net : MLP
    params : list of (W, b)
    X1 : array_like, shape (N1, d)
    X2 : array_like, shape (N2, d), optional
        Defaults to ``X1``; the result is then exactly symmetric (and the
        structured and Jacobian paths skip the blocks below the diagonal).
    method : {"structured", "jacobian", "ntk_vp"}
        See the module docstring.  ``"structured"`` is the fast one; the others
        are oracles costing O(N1 N2 P).
    memory_budget : int, optional
        Bytes of Jacobian rows (``"jacobian"``) or parameter-space vectors
        (``"ntk_vp"``) alive at once; default 512 MiB.  Ignored by
        ``"structured"``, whose memory is O((N1 + N2) Σ widths + N1 N2).

    Returns
    -------
    numpy.ndarray, shape (N1, N2)

    Raises
    ------
    ValueError
        Non-finite ``params`` (the message names ``params[l] W`` or ``b``), or a
        kernel that overflows float64 (:class:`~ntkjam._validate.NumericalRangeError`).
    """
    method = as_choice("method", method, METHODS)
    X1 = check_inputs(net, params, X1, "X1")
    X2 = None if X2 is None else as_inputs("X2", X2, dim=net.input_dim)
    budget = _budget(memory_budget)
    if method == "structured":
        K = _structured(net, params, X1, X2)
    elif method == "jacobian":
        K = _jacobian_ntk(net, params, X1, X2, budget)
    else:
        K = _ntk_vp_kernel(net, params, X1, X2, budget)
    return _finite("empirical_ntk", K, params, X1, *(() if X2 is None else (X2,)))


def _finite(what: str, result: np.ndarray, params: Params, *Xs: np.ndarray) -> np.ndarray:
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


def _budget(memory_budget: int | None) -> int:
    if memory_budget is None:
        return DEFAULT_MEMORY_BUDGET
    return as_int("memory_budget", memory_budget, minimum=8)


__all__ = [
    "METHODS",
    "backward_signals",
    "empirical_ntk",
    "empirical_ntk_diagonal",
    "jacobian",
    "ntk_vector_product",
]
