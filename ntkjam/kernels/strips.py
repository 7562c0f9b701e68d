"""Grams and Gram-vector products evaluated in strips of fixed-shape blocks.

The rows of ``K(X1, X2)`` are cut into strips of ``B`` rows and each strip into
blocks of ``B`` columns, all of one shape (the last ones padded with copies of a real
point), so that one compilation of :func:`ntkjam.kernels.recursion.block` serves the
whole Gram.  For a symmetric Gram (``X2 = X1``) only the blocks on and above the
diagonal are computed and each is written twice.  Peak memory is the ``N1 × N2``
float64 output plus a few ``B × B`` arrays; the product :func:`gram_vector_product`
never stores more than a block.

The pairs the blocks flag as nearly collinear (and, for a symmetric Gram, the
diagonal) are recomputed by :func:`ntkjam.kernels.recursion.pair_list` from the input
differences and written over the block values, so that duplicated inputs get the
diagonal's value bit for bit.  The quadrature path, whose cost is all in the pairs
(~10⁴ activation evaluations each), runs the same recursion on strips of 256 pairs
of the upper triangle (every pair's first layer from differences, as before).

Calls are dispatched asynchronously: while XLA computes one block, the host copies the
previous one into the output.  XLA's own intra-op threads (``XLA_FLAGS``
``intra_op_parallelism_threads``, ``--xla_cpu_multi_thread_eigen``) set how many cores
a block uses.
"""

from __future__ import annotations

from dataclasses import dataclass

import jax.numpy as jnp
import numpy as np

from ntkjam.kernels import recursion

__all__ = [
    "BLOCK",
    "KernelSpec",
    "block_edge",
    "gram",
    "gram_traced",
    "gram_vector_product",
    "row_variances",
]

#: Largest block edge: a 256² block is 0.5 MiB per array, so the few arrays a layer
#: materialises stay in a 2 MiB per-core L2.  Measured on such a CPU, one thread, N = 4000
#: and 8000, ReLU and erf: 512² blocks (2 MiB per array) took 24-33 % longer, 128² ones
#: (four times the calls) 19-26 % longer; the values are the same bit for bit.
BLOCK = 256
#: Block edges below it (one compilation each; padding a small Gram costs less).
_EDGES = (64,)
#: Pairs per :func:`~ntkjam.kernels.recursion.pair_list` call, by path (the last is
#: the strip; fewer pairs are padded to the smallest size that holds them).
_PAIRS = {True: (256, 4096), False: (16, 64, 256)}


@dataclass(frozen=True)
class KernelSpec:
    """What to compute: the recursion's static choices and its hyperparameters.

    Attributes
    ----------
    kind : str or Activation
        A closed form's name, or the activation of the quadrature rule.
    order : Quadrature
        The rule's orders (unused by closed forms).
    depth : int
        Hidden layers.
    sw2, sb2 : float or traced scalar
        σ_w², σ_b².

    Examples
    --------
    >>> from ntkjam.kernels import Quadrature, get_activation
    >>> from ntkjam.kernels.strips import KernelSpec
    >>> KernelSpec("relu", Quadrature(), 2, 2.0, 0.0).closed
    True
    >>> KernelSpec(get_activation("tanh"), Quadrature(), 2, 1.0, 0.1).closed
    False
    """

    kind: object
    order: object
    depth: int
    sw2: object
    sb2: object

    @property
    def closed(self) -> bool:
        """Whether ``kind`` names a closed form (else the quadrature rule is used).

        Examples
        --------
        >>> from ntkjam.kernels import Quadrature, get_activation
        >>> from ntkjam.kernels.strips import KernelSpec
        >>> kinds = ("erf", get_activation("erf"))
        >>> [KernelSpec(kind, Quadrature(), 1, 2.0, 0.0).closed for kind in kinds]
        [True, False]
        """
        return isinstance(self.kind, str)


def block_edge(n: int) -> int:
    """Edge of the blocks covering ``n`` rows (64 or :data:`BLOCK`).

    Parameters
    ----------
    n : int
        Number of rows.

    Returns
    -------
    int

    Examples
    --------
    >>> from ntkjam.kernels.strips import block_edge
    >>> [block_edge(n) for n in (10, 64, 100, 300, 5000)]
    [64, 64, 256, 256, 256]
    """
    return next((e for e in _EDGES if n <= e), BLOCK)


def _pad_rows(A: np.ndarray, size: int) -> np.ndarray:
    """``A`` with rows appended (copies of row 0) up to a multiple of ``size``."""
    extra = (-A.shape[0]) % size
    return np.concatenate([A, np.repeat(A[:1], extra, axis=0)]) if extra else A


def _pad_dim(X: np.ndarray) -> np.ndarray:
    """``X`` with zero columns up to a multiple of 8 (fewer shapes to compile)."""
    extra = (-X.shape[1]) % 8
    return np.pad(X, ((0, 0), (0, extra))) if extra else X


class _Side:
    """One side (rows or columns) of a Gram: padded inputs, ``‖x‖²/d`` and the edge."""

    def __init__(self, X: np.ndarray, n: np.ndarray, edge: int | None = None):
        self.size = X.shape[0]
        self.edge = block_edge(self.size) if edge is None else edge
        self.X = np.ascontiguousarray(_pad_rows(_pad_dim(X), self.edge))
        self.n = _pad_rows(n, self.edge)

    def starts(self, first: int = 0):
        return range(first, self.size, self.edge)

    def at(self, start: int):
        stop = start + self.edge
        return self.X[start:stop], self.n[start:stop]


def _block_args(spec: KernelSpec, d: int, rows: _Side, cols: _Side, i0: int, j0: int,
                symmetric: bool):
    x1, n1 = rows.at(i0)
    x2, n2 = cols.at(j0)
    shift = j0 - i0 if symmetric else rows.edge + cols.edge  # never an (i, j) offset
    return (x1, x2, n1, n2, float(d), spec.sw2, spec.sb2, spec.depth, shift, 1.0)


def _near_pairs(near, i0, j0, rows: _Side, cols: _Side):
    r, c = np.nonzero(np.asarray(near)[: rows.size - i0, : cols.size - j0])
    return r + i0, c + j0


def _pipelined(calls, store) -> None:
    """Run ``calls`` (``(key, thunk)``) keeping one in flight while ``store`` takes the last."""
    pending = None
    for key, thunk in calls:
        result = thunk()  # dispatched asynchronously by JAX
        if pending is not None:
            store(*pending)
        pending = (key, result)
    if pending is not None:
        store(*pending)


def _each_pair(spec, X1, X2, n1, n2, r, c, sink) -> None:
    """Feed ``sink(r, c, nngp, ntk)`` the kernels of the pairs ``(X1[r], X2[c])``, in strips."""
    m = r.size
    if not m:
        return
    size = next((s for s in _PAIRS[spec.closed] if m <= s), _PAIRS[spec.closed][-1])
    pad = (-m) % size
    rp = np.concatenate([r, np.repeat(r[:1], pad)])
    cp = np.concatenate([c, np.repeat(c[:1], pad)])
    X1p, X2p = _pad_dim(X1), _pad_dim(X2)
    d = float(X1.shape[1])

    def call(s):
        rr, cc = rp[s:s + size], cp[s:s + size]
        return lambda: recursion.pair_list(spec.kind, spec.order, X1p[rr], X2p[cc], n1[rr],
                                           n2[cc], d, spec.sw2, spec.sb2, spec.depth)

    def store(s, result):
        keep = min(size, m - s)
        sink(r[s:s + keep], c[s:s + keep], *(np.asarray(v)[:keep] for v in result))

    _pipelined(((s, call(s)) for s in range(0, m + pad, size)), store)


def _all_pairs(n1: int, n2: int | None):
    """Row-major indices of the upper triangle (``n2 = None``) or of every pair."""
    if n2 is None:
        return np.triu_indices(n1)
    r, c = np.indices((n1, n2))
    return r.ravel(), c.ravel()


def gram(spec: KernelSpec, X1: np.ndarray, X2: np.ndarray | None, n1: np.ndarray,
         n2: np.ndarray | None, wanted: tuple[int, ...], *, edge: int | None = None
         ) -> tuple[np.ndarray, ...]:
    """The Grams ``wanted`` (0: NNGP, 1: NTK) of ``X1`` (N1, d) against ``X2`` (N2, d).

    ``X2 = None`` is ``X1`` (symmetric: blocks on and above the diagonal only, the
    result exactly symmetric).  ``n1``, ``n2`` are ``‖x‖²/d`` (NumPy, computed once so
    that every program sees the same values).  ``edge`` overrides the block edge
    (:func:`block_edge`; the closed forms only).  Returns float64 NumPy arrays.

    Parameters
    ----------
    spec : KernelSpec
    X1 : numpy.ndarray, shape (N1, d)
    X2 : numpy.ndarray, shape (N2, d), or None
    n1 : numpy.ndarray, shape (N1,)
    n2 : numpy.ndarray, shape (N2,), or None
    wanted : tuple of int
        0 for the NNGP, 1 for the NTK.
    edge : int, optional
        Block edge.

    Returns
    -------
    tuple of numpy.ndarray, each shape (N1, N2)

    Examples
    --------
    Two orthogonal inputs with ``‖x‖²/d = 1``, one ReLU layer, σ_w² = 2:

    >>> import numpy as np
    >>> from ntkjam.kernels import Quadrature
    >>> from ntkjam.kernels.strips import KernelSpec, gram
    >>> spec = KernelSpec("relu", Quadrature(), 1, 2.0, 0.0)
    >>> X, n = np.sqrt(2) * np.eye(2), np.ones(2)
    >>> nngp, ntk = gram(spec, X, None, n, None, (0, 1))
    >>> ntk.shape, np.allclose(ntk, [[4, 2 / np.pi], [2 / np.pi, 4]]), bool((nngp == nngp.T).all())
    ((2, 2), True, True)
    """
    symmetric = X2 is None
    X2_, n2_ = (X1, n1) if symmetric else (X2, n2)
    outs = tuple(np.empty((X1.shape[0], X2_.shape[0])) for _ in wanted)

    def write(r, c, *kernels):
        for out, i in zip(outs, wanted, strict=True):
            out[r, c] = kernels[i]
            if symmetric:
                out[c, r] = kernels[i]

    if spec.closed:
        r, c = _blocks(spec, X1, X2_, n1, n2_, symmetric, wanted, outs, edge)
    else:
        r, c = _all_pairs(X1.shape[0], None if symmetric else X2_.shape[0])
    _each_pair(spec, X1, X2_, n1, n2_, r, c, write)
    return outs


def _blocks(spec, X1, X2, n1, n2, symmetric, wanted, outs, edge):
    """Fill ``outs`` block by block; return the pairs to recompute exactly."""
    rows = _Side(X1, n1, edge)
    cols = rows if symmetric else _Side(X2, n2, edge)
    fixes = []

    def store(tile, result):
        (i0, j0), (*kernels, near) = tile, result
        ri, rj = min(rows.edge, rows.size - i0), min(cols.edge, cols.size - j0)
        for out, i in zip(outs, wanted, strict=True):
            k = np.asarray(kernels[i])[:ri, :rj]
            out[i0:i0 + ri, j0:j0 + rj] = k
            if symmetric and j0 != i0:
                out[j0:j0 + rj, i0:i0 + ri] = k.T
            elif symmetric:  # BLAS need not round X Xᵀ symmetrically: mirror the upper half
                sub = out[i0:i0 + ri, j0:j0 + rj]
                lower = np.tril_indices(ri, -1)
                sub[lower] = sub.T[lower]
        fixes.append(_near_pairs(near, i0, j0, rows, cols))

    def call(i0, j0):
        args = _block_args(spec, X1.shape[1], rows, cols, i0, j0, symmetric)
        return lambda: recursion.block(spec.kind, spec.order, False, *args)

    tiles = [(i0, j0) for i0 in rows.starts() for j0 in cols.starts(i0 if symmetric else 0)]
    _pipelined((((i0, j0), call(i0, j0)) for i0, j0 in tiles), store)
    r = np.concatenate([f[0] for f in fixes])
    c = np.concatenate([f[1] for f in fixes])
    if symmetric:  # each unordered pair once, and the diagonal (the duplicates' value)
        keep = r < c
        diagonal = np.arange(rows.size)
        r, c = np.concatenate([r[keep], diagonal]), np.concatenate([c[keep], diagonal])
    return r, c


def gram_vector_product(spec: KernelSpec, X: np.ndarray, n: np.ndarray, V: np.ndarray,
                        which: int, *, edge: int | None = None) -> np.ndarray:
    """``K(X, X) V`` (``V`` (N, k)) block by block, never storing more than one block.

    The blocks on and above the diagonal each contribute ``K_IJ V_J`` and
    ``K_IJᵀ V_I``; the nearly collinear pairs, left out of the blocks, are added from
    :func:`recursion.pair_list` (for the quadrature path, every pair of the upper
    triangle).  Equals ``gram(...) @ V`` to rounding.  ``edge`` as in :func:`gram`.

    Parameters
    ----------
    spec : KernelSpec
    X : numpy.ndarray, shape (N, d)
    n : numpy.ndarray, shape (N,)
        ``‖x‖²/d``.
    V : numpy.ndarray, shape (N, k)
    which : int
        0: NNGP, 1: NTK.
    edge : int, optional
        Block edge.

    Returns
    -------
    numpy.ndarray, shape (N, k)

    Examples
    --------
    >>> import numpy as np
    >>> from ntkjam.kernels import Quadrature
    >>> from ntkjam.kernels.strips import KernelSpec, gram, gram_vector_product
    >>> spec = KernelSpec("relu", Quadrature(), 2, 2.0, 0.1)
    >>> X = np.random.default_rng(0).standard_normal((5, 3)); n = (X**2).sum(1) / 3
    >>> V = np.ones((5, 2))
    >>> KV = gram_vector_product(spec, X, n, V, 1)
    >>> KV.shape, np.allclose(KV, gram(spec, X, None, n, None, (1,))[0] @ V)
    ((5, 2), True)
    """
    out = np.zeros((X.shape[0], V.shape[1]))
    direct, mirrored = [], []

    def add(r, c, *kernels):
        k = kernels[which][:, None]
        np.add.at(out, r, k * V[c])
        off = r != c
        np.add.at(out, c[off], k[off] * V[r[off]])

    if not spec.closed:
        _each_pair(spec, X, X, n, n, *_all_pairs(X.shape[0], None), add)
        return out
    rows = _Side(X, n, edge)
    Vp = _pad_rows(V, rows.edge) * (np.arange(rows.X.shape[0]) < rows.size)[:, None]
    padded = np.zeros((rows.X.shape[0], V.shape[1]))

    def store(tile, result):
        (i0, j0), (left, right, near) = tile, result
        padded[i0:i0 + rows.edge] += np.asarray(left)
        found = _near_pairs(near, i0, j0, rows, rows)
        if j0 != i0:
            padded[j0:j0 + rows.edge] += np.asarray(right)
            mirrored.append(found)
        else:  # both triangles of a diagonal block are in it (and in its mask)
            direct.append(found)

    def call(i0, j0):
        args = _block_args(spec, X.shape[1], rows, rows, i0, j0, True)
        return lambda: recursion.block_product(spec.kind, spec.order, which, *args,
                                               Vp[i0:i0 + rows.edge], Vp[j0:j0 + rows.edge])

    tiles = [(i0, j0) for i0 in rows.starts() for j0 in rows.starts(i0)]
    _pipelined((((i0, j0), call(i0, j0)) for i0, j0 in tiles), store)
    out += padded[: rows.size]
    for found, sink in ((direct, _one_sided(out, V, which)), (mirrored, add)):
        if found:
            r = np.concatenate([f[0] for f in found])
            c = np.concatenate([f[1] for f in found])
            _each_pair(spec, X, X, n, n, r, c, sink)
    return out


def _one_sided(out, V, which):
    def add(r, c, *kernels):
        np.add.at(out, r, kernels[which][:, None] * V[c])
    return add


def row_variances(spec: KernelSpec, q: np.ndarray) -> list[np.ndarray]:
    """The pre-activation variances ``Σ^l(x, x)``, l = 1..depth, of inputs with ``‖x‖²/d = q``.

    For the range checks: one jitted layer step on ``q`` padded to a power of two
    (NaN and inf propagate; nothing warns).

    Parameters
    ----------
    spec : KernelSpec
    q : numpy.ndarray, shape (M,)
        ``‖x‖²/d`` of the inputs.

    Returns
    -------
    list of numpy.ndarray
        ``depth`` arrays of shape (M,).

    Examples
    --------
    ReLU at σ_w² = 2, σ_b² = 0 keeps ``Σ^l(x, x) = 2 q`` at every layer:

    >>> import numpy as np
    >>> from ntkjam.kernels import Quadrature
    >>> from ntkjam.kernels.strips import KernelSpec, row_variances
    >>> out = row_variances(KernelSpec("relu", Quadrature(), 3, 2.0, 0.0), np.array([1.0, 2.0]))
    >>> len(out), [v.tolist() for v in out]
    (3, [[2.0, 4.0], [2.0, 4.0], [2.0, 4.0]])
    """
    m = q.shape[0]
    with np.errstate(over="ignore", invalid="ignore"):
        a = _pad_rows(np.asarray(spec.sw2 * q + spec.sb2), max(64, 1 << (m - 1).bit_length()))
    out = [a[:m]]
    for _ in range(1, spec.depth):
        a = np.asarray(recursion.row_step(spec.kind, spec.order, spec.sw2, spec.sb2, a))
        out.append(a[:m])
    return out


def gram_traced(spec: KernelSpec, X1, X2, wanted: tuple[int, ...]) -> tuple:
    """The Grams under a JAX trace (``jit``, ``grad``, ``vmap``): JAX arrays.

    The same blocks (rows against columns, unpadded), concatenated; every pair's first
    layer from differences (exact, and differentiable); a symmetric Gram mirrored from
    its upper triangle.  ``spec.depth`` must be a Python int (static).

    Parameters
    ----------
    spec : KernelSpec
    X1 : jax.Array, shape (N1, d)
    X2 : jax.Array, shape (N2, d), or None
    wanted : tuple of int
        0: NNGP, 1: NTK.

    Returns
    -------
    tuple of jax.Array, each shape (N1, N2)

    Examples
    --------
    >>> import jax
    >>> import numpy as np
    >>> from ntkjam.kernels import Quadrature
    >>> from ntkjam.kernels.strips import KernelSpec, gram_traced
    >>> spec = KernelSpec("relu", Quadrature(), 1, 2.0, 0.0)
    >>> X = np.sqrt(2) * np.eye(2)
    >>> (ntk,) = jax.jit(lambda X: gram_traced(spec, X, None, (1,)))(X)
    >>> ntk.shape, np.allclose(ntk, [[4, 2 / np.pi], [2 / np.pi, 4]])
    ((2, 2), True)
    """
    symmetric = X2 is None
    X2_ = X1 if symmetric else X2
    d = X1.shape[1]
    n1 = jnp.sum(X1 * X1, axis=1) / d
    n2 = n1 if symmetric else jnp.sum(X2_ * X2_, axis=1) / d
    edge1 = block_edge(X1.shape[0]) if spec.closed else 16
    edge2 = X2_.shape[0] if spec.closed else 16
    strips = []
    for i0 in range(0, X1.shape[0], edge1):
        row = []
        for j0 in range(0, X2_.shape[0], edge2):
            shift = j0 - i0 if symmetric else X1.shape[0] + X2_.shape[0]
            *kernels, _ = recursion.block_static(
                spec.kind, spec.order, True, X1[i0:i0 + edge1], X2_[j0:j0 + edge2],
                n1[i0:i0 + edge1], n2[j0:j0 + edge2], d, spec.sw2, spec.sb2, spec.depth,
                shift, 1.0)
            row.append(kernels)
        strips.append(row)
    outs = tuple(jnp.block([[k[i] for k in row] for row in strips]) for i in wanted)
    if symmetric:
        outs = tuple(jnp.triu(k) + jnp.triu(k, 1).T for k in outs)
    return outs
