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

The two oracles, :func:`jacobian` and :func:`ntk_vector_product`, live in
:mod:`ntkjam.networks.tangents` and are re-exported here.

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

from ntkjam._validate import as_choice, as_inputs
from ntkjam.networks.backprop import signals
from ntkjam.networks.mlp import MLP, Params, check_inputs, forward, layer_multipliers
from ntkjam.networks.tangents import (
    DEFAULT_MEMORY_BUDGET,
    finite_result,
    jacobian,
    jacobian_kernel,
    memory_budget_bytes,
    ntk_vector_product,
    ntk_vp_kernel,
)

METHODS = ("structured", "jacobian", "ntk_vp")

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

    Examples
    --------
    Traceable (no validation), so it is jitted with the network static:

    >>> import jax
    >>> import numpy as np
    >>> from ntkjam.networks import init_params, mlp
    >>> from ntkjam.networks.empirical_ntk import backward_signals
    >>> net, X = mlp(3, 4), np.random.default_rng(1).standard_normal((20, 3))
    >>> signals_of = jax.jit(backward_signals, static_argnums=0)
    >>> inputs, signals = signals_of(net, init_params(net, seed=0), X)
    >>> [h.shape for h in inputs], [s.shape for s in signals], bool(np.all(signals[-1] == 1))
    ([(20, 3), (20, 4)], [(20, 4), (20, 1)], True)
    """
    inputs, preacts = forward(net, params, X)
    return inputs, signals(net, params, preacts)


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

    Parameters
    ----------
    net : MLP
    params : list of (W, b)
    X : array_like, shape (N, d)

    Returns
    -------
    numpy.ndarray, shape (N,)

    Examples
    --------
    >>> import numpy as np
    >>> from ntkjam.networks import empirical_ntk, init_params, mlp
    >>> from ntkjam.networks.empirical_ntk import empirical_ntk_diagonal
    >>> net, X = mlp(3, 4), np.random.default_rng(1).standard_normal((20, 3))
    >>> params = init_params(net, seed=0)
    >>> k = empirical_ntk_diagonal(net, params, X)
    >>> k.shape, bool(np.allclose(k, np.diag(empirical_ntk(net, params, X))))
    ((20,), True)
    """
    X = check_inputs(net, params, X)
    diag = np.asarray(_diagonal(net, params, jnp.asarray(X)))
    return finite_result("empirical_ntk_diagonal", diag, params, X)


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

    Examples
    --------
    K is J Jᵀ, so its rank is at most P − n_1 = 12 here (ReLU's rescaling symmetry):

    >>> import numpy as np
    >>> from ntkjam.networks import init_params, jacobian, mlp
    >>> from ntkjam.networks.empirical_ntk import empirical_ntk
    >>> net, X = mlp(3, 4), np.random.default_rng(1).standard_normal((20, 3))
    >>> params = init_params(net, seed=0)
    >>> K = empirical_ntk(net, params, X)
    >>> J = jacobian(net, params, X)
    >>> K.shape, bool(np.array_equal(K, K.T)), bool(np.allclose(K, J @ J.T))
    ((20, 20), True, True)
    >>> int(np.linalg.matrix_rank(K, tol=1e-8 * np.abs(K).max()))
    12
    >>> empirical_ntk(net, params, X[:3], X).shape      # K(X1, X2): (N1, N2)
    (3, 20)
    """
    method = as_choice("method", method, METHODS)
    X1 = check_inputs(net, params, X1, "X1")
    X2 = None if X2 is None else as_inputs("X2", X2, dim=net.input_dim)
    budget = memory_budget_bytes(memory_budget)
    if method == "structured":
        K = _structured(net, params, X1, X2)
    elif method == "jacobian":
        K = jacobian_kernel(net, params, X1, X2, budget)
    else:
        K = ntk_vp_kernel(net, params, X1, X2, budget)
    return finite_result("empirical_ntk", K, params, X1, *(() if X2 is None else (X2,)))


__all__ = [
    "DEFAULT_MEMORY_BUDGET",
    "METHODS",
    "backward_signals",
    "empirical_ntk",
    "empirical_ntk_diagonal",
    "jacobian",
    "ntk_vector_product",
]
