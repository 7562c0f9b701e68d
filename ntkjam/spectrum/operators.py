"""Gram operators: a symmetric PSD ``K`` (N, N) known only by its products ``K V``.

What :func:`ntkjam.spectrum.slq.slq` consumes: a dense matrix (:func:`dense_operator`),
features (:func:`feature_operator`: ``J (Jᵀ V)``, never ``J Jᵀ``), or a kernel evaluated
in row strips (:func:`kernel_operator`, the upper triangle used twice;
:func:`jax_kernel_operator`, each strip fused with the product by XLA).  Memory is
``O(strip × N)``; the N × N Gram is never stored.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ntkjam._validate import as_float_array, as_inputs, as_int, as_real, as_square_symmetric
from ntkjam.core.reprs import SummaryRepr

__all__ = [
    "GramOperator",
    "default_strip_rows",
    "dense_operator",
    "feature_operator",
    "jax_kernel_operator",
    "kernel_operator",
]


@dataclass(frozen=True, repr=False)
class GramOperator(SummaryRepr):
    """A symmetric positive semi-definite operator known by its products with blocks.

    Attributes
    ----------
    n : int
        Size N.
    matmat : callable
        ``matmat(V)`` with ``V`` of shape (N, b) returns ``K V``, shape (N, b).
    description : str
        Human-readable origin, for reports.

    Examples
    --------
    >>> op = GramOperator(n=3, matmat=lambda V: 2.0 * V, description="2 I")
    >>> op.matmat(np.ones((3, 2))).shape, op.n
    ((3, 2), 3)
    """

    n: int
    matmat: Callable[[np.ndarray], np.ndarray]
    description: str = ""


def dense_operator(K: object) -> GramOperator:
    """Wrap a symmetric matrix ``K`` (N, N) (symmetry checked).

    Examples
    --------
    >>> dense_operator(np.diag([1.0, 2.0])).matmat(np.ones((2, 1))).ravel().tolist()
    [1.0, 2.0]
    """
    K = as_square_symmetric("K", K)
    return GramOperator(n=K.shape[0], matmat=lambda V: K @ V, description="dense matrix")


def feature_operator(J: object, *, scale: float = 1.0) -> GramOperator:
    """``V ↦ scale · J (Jᵀ V)`` for features ``J`` (N, P): never forms ``J Jᵀ``.

    Cost per block of b probes: ``4 N P b`` flops; memory: J itself.

    Examples
    --------
    >>> J = np.random.default_rng(0).standard_normal((6, 3))
    >>> bool(np.allclose(feature_operator(J, scale=1 / 3).matmat(np.eye(6)), J @ J.T / 3))
    True
    """
    J = as_float_array("J", J, ndim=2)
    scale = as_real("scale", scale, positive=True)
    if J.shape[0] < 1 or J.shape[1] < 1:
        raise ValueError(f"J must have shape (N, P) with N, P >= 1, got {J.shape}")
    J = np.ascontiguousarray(J)

    def matmat(V: np.ndarray) -> np.ndarray:
        return scale * (J @ (J.T @ V))

    return GramOperator(n=J.shape[0], matmat=matmat, description=f"features {J.shape}")


def default_strip_rows(n: int, *, align: int = 256, max_entries: int = 2**24) -> int:
    """Rows per strip of :func:`kernel_operator`: a multiple of ``align``, ≤ ``max_entries/n``.

    Never fewer than ``align`` rows (a strip of ``align × N`` entries), and ``n`` when
    ``n <= align``.

    Examples
    --------
    >>> default_strip_rows(100), default_strip_rows(10_000), default_strip_rows(10**6)
    (100, 1536, 256)
    """
    n = as_int("n", n, minimum=1)
    if n <= align:
        return n
    return min(n, max(align, (max_entries // n) // align * align))


def _strip_arguments(
    kernel_fn: object,
    X: object,
    scale: object,
    block_size: object,
    default_rows: Callable[[int], int],
) -> tuple[np.ndarray, float, int]:
    """The checked ``(X (N, d), scale, block_size)`` of an operator built from row strips.

    ``block_size`` None becomes ``default_rows(N)``.
    """
    if not callable(kernel_fn):
        raise TypeError(f"kernel_fn must be callable, got {kernel_fn!r}")
    X = as_inputs("X", X)
    scale = as_real("scale", scale, positive=True)
    if block_size is None:
        block_size = default_rows(X.shape[0])
    return X, scale, as_int("block_size", block_size, minimum=1)


def kernel_operator(
    kernel_fn: Callable[..., object],
    X: object,
    *,
    block_size: int | None = None,
    scale: float = 1.0,
    **kwargs: object,
) -> GramOperator:
    """Matrix-free ``V ↦ scale · K(X, X) V`` for a kernel evaluated in row strips.

    Each product evaluates the upper triangle of K strip by strip (row block ``I``
    against columns ``I, I+1, ...``) and uses every strip twice (``K_IJ`` and its
    transpose), so one product costs ``N²/2`` kernel entries and ``block_size × N``
    memory; the ``N × N`` Gram is never stored.  For the analytic ``ntk`` and
    ``nngp`` the kernels' own blocked product
    (:func:`ntkjam.kernels.analytic.kernel_vector_product`, one fixed-shape block
    alive at a time) is used instead and ``block_size`` is ignored.

    Parameters
    ----------
    kernel_fn : callable
        ``kernel_fn(X1, X2, **kwargs) -> (N1, N2)``, symmetric in its arguments,
        e.g. :func:`ntkjam.kernels.analytic.ntk`.
    X : array_like, shape (N, d)
    block_size : int, optional
        Rows per strip of a generic ``kernel_fn``.  Default
        (:func:`default_strip_rows`): a multiple of 256 rows, at most 2**24 entries
        (128 MB) per strip when N allows; N itself when N <= 256.
    scale : float
        Positive factor applied to K.
    **kwargs
        Passed to ``kernel_fn``.

    Examples
    --------
    >>> X = np.random.default_rng(0).standard_normal((5, 2))
    >>> op = kernel_operator(lambda A, B: A @ B.T, X, block_size=2)  # strips of 2 rows
    >>> bool(np.allclose(op.matmat(np.eye(5)), X @ X.T))
    True
    """
    X, scale, block_size = _strip_arguments(kernel_fn, X, scale, block_size, default_strip_rows)
    n = X.shape[0]
    from ntkjam.kernels import analytic

    if kernel_fn is analytic.ntk or kernel_fn is analytic.nngp:
        # The analytic kernels' own blocked product (the same numbers to rounding,
        # never an N × N strip): ``block_size`` is not needed.
        def product(V: np.ndarray) -> np.ndarray:
            return scale * analytic.kernel_vector_product(
                X, np.asarray(V, dtype=np.float64), kernel=kernel_fn.__name__, **kwargs)

        return GramOperator(n=n, matmat=product,
                            description=f"kernel {kernel_fn!r} on {X.shape}")

    def matmat(V: np.ndarray) -> np.ndarray:
        V = np.asarray(V, dtype=np.float64)
        out = np.zeros_like(V)
        for start in range(0, n, block_size):
            stop = min(start + block_size, n)
            strip = np.asarray(kernel_fn(X[start:stop], X[start:], **kwargs), dtype=np.float64)
            out[start:stop] += strip @ V[start:]
            out[stop:] += strip[:, stop - start :].T @ V[start:stop]
        return scale * out

    return GramOperator(n=n, matmat=matmat, description=f"kernel {kernel_fn!r} on {X.shape}")


def jax_kernel_operator(
    kernel_fn: Callable[..., object],
    X: object,
    *,
    block_size: int | None = None,
    scale: float = 1.0,
) -> GramOperator:
    """Matrix-free ``V ↦ scale · K(X, X) V`` with each row strip fused by XLA.

    ``kernel_fn(X1, X2)`` must be traceable by JAX (``jax.numpy`` operations); the
    strip ``K(X_I, X) V`` is one jitted function, so the ``block_size × N`` strip is
    never materialised in Python and elementwise work is fused with the product.
    Strips have a fixed shape (the last is padded) so that one compilation serves
    every strip; this costs ``N²`` kernel entries per product (no symmetry saving)
    but is several times faster per entry than NumPy on the CPU, and runs on an
    accelerator when JAX has one.

    Parameters
    ----------
    kernel_fn : callable
        JAX-traceable ``(X1 (B, d), X2 (N, d)) -> (B, N)``.
    X : array_like, shape (N, d)
    block_size : int, optional
        Rows per strip (default: strips of about 2**22 entries).
    scale : float
        Positive factor applied to K.

    Examples
    --------
    >>> X = np.random.default_rng(0).standard_normal((5, 2))
    >>> op = jax_kernel_operator(lambda A, B: A @ B.T, X, block_size=2)
    >>> bool(np.allclose(op.matmat(np.eye(5)), X @ X.T))
    True
    """
    import jax
    import jax.numpy as jnp

    X, scale, block_size = _strip_arguments(
        kernel_fn, X, scale, block_size, lambda n: max(1, min(n, 2**22 // n))
    )
    n = X.shape[0]
    n_blocks = -(-n // block_size)
    X_pad = np.zeros((n_blocks * block_size, X.shape[1]))
    X_pad[:n] = X
    X_all = jnp.asarray(X)

    @jax.jit
    def strip(Xb, V):
        return kernel_fn(Xb, X_all) @ V

    def matmat(V: np.ndarray) -> np.ndarray:
        Vj = jnp.asarray(V)
        parts = [strip(X_pad[i * block_size : (i + 1) * block_size], Vj) for i in range(n_blocks)]
        return scale * np.asarray(jnp.concatenate(parts, axis=0))[:n]

    return GramOperator(n=n, matmat=matmat, description=f"jax kernel {kernel_fn!r} on {X.shape}")
