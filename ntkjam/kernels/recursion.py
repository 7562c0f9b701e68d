"""The NNGP/NTK recursion, written once, and the jitted blocks that evaluate it.

A *block* is the kernel of ``B`` rows against ``C`` columns, one fixed-shape jitted
call (:func:`block`): the first layer from the block's Gram ``X_I X_Jᵀ/d``, then the
``depth`` layers of :func:`layers` (a ``fori_loop`` over one layer's elementwise
chain, which XLA fuses and vectorises), all on ``(B, C)`` arrays: no ``N × N``
temporary.  A *pair list* (:func:`pair_list`) runs the same layers on ``(M,)``
arrays of explicit pairs, with the first layer computed from the differences
``x − x'`` (exact for nearly collinear pairs, where the Gram's
``‖x‖²‖x'‖² − (x·x')²`` cancels).  :func:`block_product` is a block multiplied
into vectors, ``K_IJ V_J`` and ``K_IJᵀ V_I``, for the matrix-free products.

Static arguments select the code (the activation, the quadrature rule, whether the
first layer is exact); everything else — σ_w², σ_b², the depth, the
input dimension ``d``, the block's offset from the diagonal — is traced, so one
compilation serves every block, depth and hyperparameter of a shape.  With a static
``depth`` (the variants ending in ``_static``) the layer loop is a ``scan``, which
``jax.grad`` can differentiate in reverse mode.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp

from ntkjam.kernels.elementary import safe_reciprocal, safe_sqrt
from ntkjam.kernels.expectations import expectation_functions, next_layer, side

__all__ = [
    "NEAR_COLLINEAR",
    "block",
    "block_product",
    "block_static",
    "first_layer_exact",
    "first_layer_gram",
    "layers",
    "pair_list",
    "row_step",
]

#: Pairs whose input correlation satisfies ρ² above this are recomputed from
#: direct differences ‖x − x'‖ instead of the Gram (where ‖x‖²‖x'‖² − (x·x')²
#: would cancel).  Below it the Gram formula loses at most a factor 10 of ε.
NEAR_COLLINEAR = 0.9


def first_layer_gram(x1, x2, n1, n2, d, sw2, sb2, shift):
    """First layer of a block from its Gram: ``(a, b, c, D)`` and the near-collinear mask.

    Parameters
    ----------
    x1 : array, shape (B, d')
    x2 : array, shape (C, d')
        Rows and columns (``d' ≥ d``: zero columns padded on are harmless).
    n1, n2 : array, shape (B,), (C,)
        ``‖x‖²/d`` of the rows and columns.
    d : scalar
        The input dimension.
    sw2, sb2 : scalar
        σ_w², σ_b².
    shift : int scalar
        Entries ``(i, j)`` with ``i − j == shift`` pair a point with itself (the
        diagonal of a symmetric Gram): there ``D = 0`` and ``c = a`` exactly.

    Returns
    -------
    a : (B, 1)
    b : (1, C)
    c, D : (B, C)
    near : bool (B, C)
        Pairs to recompute with :func:`first_layer_exact` (never the diagonal).

    Examples
    --------
    Two orthogonal inputs with ``‖x‖²/d = 1``, σ_w² = 2, σ_b² = 0, a diagonal block:

    >>> import jax
    >>> import numpy as np
    >>> from ntkjam.kernels.recursion import first_layer_gram
    >>> X, n = np.sqrt(2) * np.eye(2), np.ones(2)
    >>> a, b, c, D, near = jax.jit(first_layer_gram)(X, X, n, n, 2, 2.0, 0.0, 0)
    >>> a.shape, b.shape, np.asarray(c).tolist(), np.asarray(D).tolist(), bool(near.any())
    ((2, 1), (1, 2), [[2.0, 0.0], [0.0, 2.0]], [[0.0, 4.0], [4.0, 0.0]], False)
    """
    G = jnp.matmul(x1, x2.T) / d
    outer = n1[:, None] * n2[None, :]
    G2 = G * G
    a = (sw2 * n1 + sb2)[:, None]
    b = (sw2 * n2 + sb2)[None, :]
    c = sw2 * G + sb2
    D = sw2 * sw2 * jnp.maximum(outer - G2, 0.0)
    D = D + sb2 * sw2 * jnp.maximum(n1[:, None] + n2[None, :] - 2.0 * G, 0.0)
    rows = jnp.arange(x1.shape[0])[:, None]
    cols = jnp.arange(x2.shape[0])[None, :]
    same = rows - cols == shift
    near = (G2 > NEAR_COLLINEAR * outer) & ~same
    return a, b, jnp.where(same, a, c), jnp.where(same, 0.0, D), near


def first_layer_exact(x1, x2, n1, n2, d, sw2, sb2):
    """First-layer ``(a, b, c, D)`` of pairs from their differences, free of cancellation.

    Uses ``‖x‖²‖x'‖² − (x·x')² = ‖x‖²‖x'‖² ‖û − v̂‖² ‖û + v̂‖² / 4`` (unit vectors û, v̂)
    and ``‖x − x'‖²`` directly; identical inputs get ``D = 0`` and ``c = a`` exactly.

    Parameters
    ----------
    x1, x2 : array, shape (..., d')
        Broadcastable: ``(M, d')`` each for a list of pairs, ``(B, 1, d')`` and
        ``(1, C, d')`` for a block.
    n1, n2 : array, shape (...)
        ``‖x‖²/d`` of each side, broadcastable like ``x1[..., 0]``, ``x2[..., 0]``.
    d, sw2, sb2 : scalar
        Input dimension, σ_w², σ_b².

    Returns
    -------
    a, b, c, D : arrays of the broadcast shapes of ``n1``, ``n2`` and of the pairs

    Examples
    --------
    >>> import jax
    >>> import numpy as np
    >>> from ntkjam.kernels.recursion import first_layer_exact
    >>> x1 = np.array([[1.0, 1.0], [1.0, 1.0]]); x2 = np.array([[1.0, 1.0], [1.0, -1.0]])
    >>> n = np.ones(2)
    >>> a, b, c, D = jax.jit(first_layer_exact)(x1, x2, n, n, 2, 2.0, 0.0)
    >>> np.asarray(c).tolist(), np.round(D, 6).tolist()      # identical pair: D = 0 exactly
    ([2.0, 0.0], [0.0, 4.0])
    """
    g = jnp.sum(x1 * x2, axis=-1) / d
    diff = x1 - x2
    dist2 = jnp.sum(diff * diff, axis=-1) / d
    inv1 = safe_reciprocal(safe_sqrt(n1 * d))
    inv2 = safe_reciprocal(safe_sqrt(n2 * d))
    u = x1 * inv1[..., None]
    v = x2 * inv2[..., None]
    minus = jnp.sum((u - v) ** 2, axis=-1)
    plus = jnp.sum((u + v) ** 2, axis=-1)
    cross = (n1 * n2) * minus * plus / 4.0  # u or v = 0 for a zero input: then n1 n2 = 0
    a = sw2 * n1 + sb2
    b = sw2 * n2 + sb2
    same = dist2 == 0
    c = jnp.where(same, a, sw2 * g + sb2)
    D = jnp.where(same, 0.0, sw2 * sw2 * cross + sb2 * sw2 * dist2)
    return a, b, c, D


def layers(kind, order, depth, sw2, sb2, a, b, c, D, one=1.0):
    """Run ``depth`` hidden layers on pair arrays: returns ``(nngp, ntk)``.

    Parameters
    ----------
    kind : str or Activation
        A closed form's name or an activation for the quadrature rule ``order``
        (:func:`~ntkjam.kernels.expectations.expectation_functions`).
    depth : int or int scalar
        Number of hidden layers; a Python int unrolls nothing but makes the loop
        reverse-differentiable (``scan``), a traced one serves every depth.
    a, b : arrays (B, 1), (1, C) or (M,)
        First-layer variances of rows and columns.
    c, D : arrays (B, C) or (M,)
        First-layer covariance and determinant of each pair.
    one : scalar
        1.0, traced in the blocks (see :func:`~ntkjam.kernels.expectations.relu_pair`).

    Returns
    -------
    nngp, ntk : arrays of the pairs' shape
        ``Σ^{L+1}`` and ``Θ^{L+1}``.

    Examples
    --------
    One ReLU layer (σ_w² = 2) on an orthogonal pair of first-layer variance 2:
    the NNGP is ``2 · 2/(2π) · J(π/2) = 2/π`` and so is the NTK (``Θ¹ = c = 0``).

    >>> import numpy as np
    >>> from ntkjam.kernels import Quadrature
    >>> from ntkjam.kernels.recursion import layers
    >>> two = np.array([2.0])
    >>> nngp, ntk = layers("relu", Quadrature(), 1, 2.0, 0.0, two, two, np.zeros(1), two**2)
    >>> np.allclose([nngp[0], ntk[0]], 2 / np.pi)
    True
    """
    pair, diag = expectation_functions(kind, order)

    def body(_, state):
        a, b, c, D, theta = state
        rows, cols = side(diag, a), side(diag, b)
        h, g, sdot = pair(rows, cols, c, D, one)
        return next_layer(sw2, sb2, rows, cols, h, g, sdot, theta)

    state = (a, b, c, D, c)
    _, _, c, _, theta = jax.lax.fori_loop(0, depth, body, state)
    return c, theta


def _block(kind, order, exact, x1, x2, n1, n2, d, sw2, sb2, depth, shift, one):
    """Kernel block (see :func:`block`); ``exact`` computes every pair from differences."""
    if exact:
        a, b, c, D = first_layer_exact(x1[:, None, :], x2[None, :, :], n1[:, None],
                                       n2[None, :], d, sw2, sb2)
        rows = jnp.arange(x1.shape[0])[:, None]
        same = rows - jnp.arange(x2.shape[0])[None, :] == shift
        c, D = jnp.where(same, a, c), jnp.where(same, 0.0, D)
        near = None
    else:
        a, b, c, D, near = first_layer_gram(x1, x2, n1, n2, d, sw2, sb2, shift)
    nngp, ntk = layers(kind, order, depth, sw2, sb2, a, b, c, D, one)
    return nngp, ntk, near


_STATIC = ("kind", "order", "exact")

block = jax.jit(_block, static_argnames=_STATIC)
block.__doc__ = """Kernel of ``B`` rows against ``C`` columns, one jitted call.

Parameters
----------
kind, order
    As in :func:`layers` (static).
exact : bool
    First layer from differences for every pair (static; used under tracing, where
    the near-collinear pairs cannot be picked out and recomputed afterwards).
x1, x2 : (B, d'), (C, d')
n1, n2 : (B,), (C,)
    ``‖x‖²/d``.
d, sw2, sb2, depth, shift, one
    Input dimension, σ_w², σ_b², depth, diagonal offset (:func:`first_layer_gram`)
    and a traced 1.0.

Returns
-------
nngp, ntk : (B, C)
near : bool (B, C) or None
    The pairs whose entries must be replaced from :func:`pair_list`.

Examples
--------
Two orthogonal inputs with ``‖x‖²/d = 1``, one ReLU layer, σ_w² = 2, σ_b² = 0:
NNGP ``[[2, 2/π], [2/π, 2]]`` and NTK ``[[4, 2/π], [2/π, 4]]``.

>>> import numpy as np
>>> from ntkjam.kernels import Quadrature
>>> from ntkjam.kernels.recursion import block
>>> X, n = np.sqrt(2) * np.eye(2), np.ones(2)
>>> nngp, ntk, near = block("relu", Quadrature(), False, X, X, n, n, 2, 2.0, 0.0, 1, 0, 1.0)
>>> nngp.shape, np.allclose(nngp, [[2, 2 / np.pi], [2 / np.pi, 2]])
((2, 2), True)
>>> np.allclose(ntk, [[4, 2 / np.pi], [2 / np.pi, 4]]), bool(near.any())
(True, False)
"""

block_static = jax.jit(_block, static_argnames=(*_STATIC, "depth"))
block_static.__doc__ = """:func:`block` with a static ``depth``: the layer loop is a ``scan``, so
``jax.grad`` can differentiate it in reverse mode (one compilation per depth).

Parameters and returns as in :func:`block`: ``nngp, ntk`` of shape (B, C) and ``near``.

Examples
--------
>>> import numpy as np
>>> from ntkjam.kernels import Quadrature
>>> from ntkjam.kernels.recursion import block, block_static
>>> X, n = np.sqrt(2) * np.eye(2), np.ones(2)
>>> args = ("relu", Quadrature(), False, X, X, n, n, 2, 2.0, 0.0, 1, 0, 1.0)
>>> np.allclose(block_static(*args)[1], block(*args)[1])
True
"""


@functools.partial(jax.jit, static_argnames=("kind", "order", "which"))
def block_product(kind, order, which, x1, x2, n1, n2, d, sw2, sb2, depth, shift, one, v1, v2):
    """``K_IJ V_J`` and ``K_IJᵀ V_I`` for a block, near-collinear entries left out.

    Parameters
    ----------
    kind, order, x1, x2, n1, n2, d, sw2, sb2, depth, shift, one
        As in :func:`block`.
    which : int
        0: NNGP, 1: NTK (static).
    v1, v2 : (B, k), (C, k)
        The vectors at the block's rows and columns.

    Returns
    -------
    left : (B, k)
    right : (C, k)
    near : bool (B, C)
        The entries left out (add them from :func:`pair_list`).

    Examples
    --------
    The NTK block of two orthogonal inputs (``[[4, 2/π], [2/π, 4]]``) times ones:

    >>> import numpy as np
    >>> from ntkjam.kernels import Quadrature
    >>> from ntkjam.kernels.recursion import block_product
    >>> X, n, v = np.sqrt(2) * np.eye(2), np.ones(2), np.ones((2, 1))
    >>> left, right, near = block_product("relu", Quadrature(), 1, X, X, n, n, 2, 2.0, 0.0,
    ...                                   1, 0, 1.0, v, v)
    >>> left.shape, np.allclose(left, 4 + 2 / np.pi), np.allclose(right, left)
    ((2, 1), True, True)
    """
    *kernels, near = _block(kind, order, False, x1, x2, n1, n2, d, sw2, sb2, depth, shift, one)
    K = jnp.where(near, 0.0, kernels[which])
    return K @ v2, K.T @ v1, near


@functools.partial(jax.jit, static_argnames=("kind", "order"))
def pair_list(kind, order, x1, x2, n1, n2, d, sw2, sb2, depth):
    """Kernels of M explicit pairs ``(x1[m], x2[m])``, first layer from differences.

    Parameters
    ----------
    kind, order
        As in :func:`block` (static).
    x1, x2 : (M, d')
    n1, n2 : (M,)
        ``‖x‖²/d`` of each side.
    d, sw2, sb2, depth
        As in :func:`block`.

    Returns
    -------
    nngp, ntk : (M,)

    Examples
    --------
    >>> import numpy as np
    >>> from ntkjam.kernels import Quadrature
    >>> from ntkjam.kernels.recursion import pair_list
    >>> X, n = np.sqrt(2) * np.eye(2), np.ones(2)
    >>> nngp, ntk = pair_list("relu", Quadrature(), X, X[::-1], n, n, 2, 2.0, 0.0, 1)
    >>> nngp.shape, np.allclose(ntk, 2 / np.pi)
    ((2,), True)
    """
    a, b, c, D = first_layer_exact(x1, x2, n1, n2, d, sw2, sb2)
    return layers(kind, order, depth, sw2, sb2, a, b, c, D)


@functools.partial(jax.jit, static_argnames=("kind", "order"))
def row_step(kind, order, sw2, sb2, a):
    """The next layer's variances ``σ_w² E[φ(u)²] + σ_b²`` of inputs of variances ``a`` (M,).

    Parameters
    ----------
    kind, order
        As in :func:`block` (static).
    sw2, sb2 : scalar
        σ_w², σ_b².
    a : array, shape (M,)
        Variances of the current layer.

    Returns
    -------
    jax.Array, shape (M,)

    Examples
    --------
    ReLU at σ_w² = 2 preserves the variance (He initialisation):

    >>> import numpy as np
    >>> from ntkjam.kernels import Quadrature
    >>> from ntkjam.kernels.recursion import row_step
    >>> np.asarray(row_step("relu", Quadrature(), 2.0, 0.0, np.array([1.0, 3.0]))).tolist()
    [1.0, 3.0]
    """
    _, diag = expectation_functions(kind, order)
    return sw2 * diag(a)[0] + sb2
