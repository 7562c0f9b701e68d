"""Infinite-width NNGP and NTK of fully-connected networks, exact in float64.

Architecture and parameterization are those of neural-tangents' ``stax``::

    [Dense(width, W_std=σ_w, b_std=σ_b, parameterization='ntk'), act] * depth
    + Dense(1, W_std=σ_w, b_std=σ_b)

i.e. ``z¹ = σ_w W⁰ x/√d + σ_b b⁰``, ``z^{l+1} = σ_w W^l φ(z^l)/√n_l + σ_b b^l``
with all ``W, b ~ N(0, 1)``.  The kernels follow the recursion (Jacot et al. 2018;
Arora et al. 2019)

* ``Σ¹(x, x') = σ_w² x·x'/d + σ_b²``,  ``Θ¹ = Σ¹``,
* ``Σ^{l+1} = σ_w² E[φ(u)φ(v)] + σ_b²``,  ``Θ^{l+1} = Σ^{l+1} + σ_w² E[φ'(u)φ'(v)] Θ^l``,

with ``(u, v)`` Gaussian of covariance ``Σ^l`` on the pair.  ``depth = 0`` is the
linear model (the perceptron limit): ``Θ = Σ¹``.

Accuracy: every pair carries ``D = Σ(x,x)Σ(x',x') − Σ(x,x')²`` computed without
cancellation (see :mod:`ntkjam.kernels.expectations`), and identical inputs get
exactly ``D = 0``.  The ReLU and erf kernels are therefore exact to rounding
(≈1e-16 relative) on and near the diagonal, where the textbook ``arccos`` form
loses half the digits (neural-tangents' float64 ReLU NTK errs by up to 4e-8
there).  ReLU with σ_w² = 2 and ``q₀ = ‖x‖²/d`` has the closed-form diagonals
``NNGP = 2q₀ + (L+1)σ_b²`` and ``NTK = 2q₀(L+1) + σ_b²(L+1)(L+2)/2``.

Range: every result is finite or the call raises.  ``sigma_w`` must lie in
[:data:`SIGMA_W_MIN`, :data:`SIGMA_W_MAX`] (the recursion forms ``σ_w⁴``), and
the pre-activation variances of every layer (``‖x‖²/d``, ``Σ^l(x, x)``) must stay
below :data:`MAX_VARIANCE` (the recursion multiplies two of them).  Both are
checked before the Gram is computed, from the N diagonal values alone, and the
output is checked once more; a violation raises
:class:`~ntkjam._validate.NumericalRangeError` (a ``ValueError``) naming the
parameters, instead of returning NaN, inf or a wrong finite value.

Performance: the closed-form path runs on cache-sized square blocks, computing
only the blocks on and above the diagonal when ``X2`` is omitted (the Gram is
symmetric), on all cores.
"""

from __future__ import annotations

import inspect
import math
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from ntkjam._validate import (
    NumericalRangeError,
    as_input_pair,
    as_int,
    as_real,
    check_finite_result,
)
from ntkjam.kernels import expectations as ex
from ntkjam.kernels.activations import Activation, get_activation
from ntkjam.kernels.classic import polynomial, rbf  # re-exported: kernels by name

__all__ = [
    "MAX_VARIANCE",
    "SIGMA_W_MAX",
    "SIGMA_W_MIN",
    "check_hyperparameters",
    "nngp",
    "ntk",
    "nngp_and_ntk",
    "rbf",
    "polynomial",
    "Quadrature",
]

Quadrature = ex.Quadrature

#: Block edge of the closed-form path: 256² doubles = 512 KiB per array, cache-sized.
BLOCK = 256

#: Pairs whose input correlation satisfies ρ² above this are recomputed from
#: direct differences ‖x − x'‖ instead of the Gram (where ‖x‖²‖x'‖² − (x·x')²
#: would cancel).  Below it the Gram formula loses at most a factor 10 of ε.
_NEAR_COLLINEAR = 0.9

#: Range of ``sigma_w``: the recursion forms ``σ_w⁴``, which must be a normal
#: float64 (beyond it overflows to inf; below it underflows and every pair looks
#: collinear).
SIGMA_W_MAX = 1e76
SIGMA_W_MIN = 1e-76

#: Largest pre-activation variance (``‖x‖²/d`` or ``Σ^l(x, x)``) that the
#: recursion accepts: it forms products of two variances, and up to ~150 times
#: that (the quadrature's radial nodes), which must stay finite in float64.
MAX_VARIANCE = 1e152


def _check_hyper(depth, sigma_w, sigma_b) -> tuple[int, float, float]:
    depth = as_int("depth", depth, minimum=0)
    sigma_w = as_real("sigma_w", sigma_w, positive=True)
    sigma_b = as_real("sigma_b", sigma_b, nonnegative=True)
    if not SIGMA_W_MIN <= sigma_w <= SIGMA_W_MAX:
        raise ValueError(
            f"sigma_w must be in [{SIGMA_W_MIN:g}, {SIGMA_W_MAX:g}] (the kernel recursion "
            f"forms sigma_w**4 in float64), got {sigma_w:g}"
        )
    if sigma_b > math.sqrt(MAX_VARIANCE):
        raise ValueError(
            f"sigma_b must be <= {math.sqrt(MAX_VARIANCE):g} (sigma_b**2 is a pre-activation "
            f"variance, at most MAX_VARIANCE = {MAX_VARIANCE:g}), got {sigma_b:g}"
        )
    return depth, sigma_w, sigma_b


def check_hyperparameters(
    *,
    depth: int = 1,
    activation: str | Activation = "relu",
    sigma_w: float = math.sqrt(2.0),
    sigma_b: float = 0.0,
) -> None:
    """Validate the network hyperparameters of :func:`ntk` / :func:`nngp` without inputs.

    For callers (the CLI) that refuse bad values before any work: the same checks
    as the kernels run on entry, including the float64 range of ``sigma_w``
    (:data:`SIGMA_W_MIN` to :data:`SIGMA_W_MAX`) and ``sigma_b``.

    Parameters
    ----------
    depth, activation, sigma_w, sigma_b
        As in :func:`nngp_and_ntk`.

    Raises
    ------
    ValueError, TypeError
        Naming the parameter, its value and what is allowed.
    """
    _check_hyper(depth, sigma_w, sigma_b)
    get_activation(activation)


@dataclass(frozen=True)
class _Scale:
    """What sets the scale of a kernel call, for the messages of the range checks."""

    what: str
    depth: int
    sigma_w: float
    sigma_b: float
    q_max: float

    def cause(self) -> str:
        return (
            f"sigma_w={self.sigma_w:g}, sigma_b={self.sigma_b:g}, depth={self.depth} and "
            f"max ‖x‖²/d = {self.q_max:.3g} give entries beyond float64; rescale X, "
            "sigma_w or sigma_b"
        )

    def check(self, layer: int, *variances: np.ndarray) -> None:
        """Refuse a layer whose largest variance exceeds :data:`MAX_VARIANCE` (or is NaN)."""
        with np.errstate(invalid="ignore"):
            top = max(float(np.max(v, initial=0.0)) for v in variances)
        if not top <= MAX_VARIANCE:  # also catches NaN
            where = "the inputs' ‖x‖²/d" if layer == 0 else (
                f"the layer-{layer} pre-activation variance Σ^{layer}(x, x)")
            raise NumericalRangeError(
                f"{self.what} would overflow float64: with sigma_w={self.sigma_w:g}, "
                f"sigma_b={self.sigma_b:g}, depth={self.depth} and max ‖x‖²/d = "
                f"{self.q_max:.3g}, {where} reaches {top:.3g}, beyond MAX_VARIANCE = "
                f"{MAX_VARIANCE:g} (the recursion multiplies two variances); rescale X, "
                "sigma_w or sigma_b"
            )


def _second_moments(X: np.ndarray) -> np.ndarray:
    """``‖x‖²/d`` of every row (inf where it overflows; no warning)."""
    with np.errstate(over="ignore"):
        return np.einsum("ij,ij->i", X, X) / X.shape[1]


def _check_closed_form_range(kind: str, scale: _Scale, depth, sw2, sb2, q1, q2) -> None:
    """Run the recursion on the N diagonal values and refuse any variance out of range.

    By Cauchy–Schwarz every pair quantity (``|c| ≤ √(ab)``, ``D ≤ ab``) is bounded
    by the diagonal ones, so checking the diagonals bounds all intermediates.
    """
    if depth == 0:
        return  # Θ = Σ¹ = σ_w² x·x'/d + σ_b²: no products of variances (output checked)
    _, diag = ex.CLOSED_FORMS[kind]
    rows = [q1] if q2 is None else [q1, q2]
    scale.check(0, *rows)
    with np.errstate(over="ignore", invalid="ignore"):
        a = [sw2 * q + sb2 for q in rows]
        for layer in range(1, depth + 1):
            scale.check(layer, *a)
            a = [sw2 * diag(v)[0] + sb2 for v in a]


def _check_inputs(X1, X2):
    return as_input_pair(X1, X2)


# ------------------------------------------------------------- elementwise recursion


def _recursion(kind: str, depth: int, sw2: float, sb2: float, a, b, c, D):
    """Run ``depth`` layers of a closed-form activation on broadcastable pair arrays.

    ``a`` (…, 1) or (…,), ``b`` likewise, ``c`` and ``D`` the pair arrays (first-layer
    values).  Returns ``(nngp, ntk)``.
    """
    pair, diag = ex.CLOSED_FORMS[kind]
    theta = c
    for _ in range(depth):
        h, g, sdot = pair(a, b, c, D)
        p, _ = diag(a)
        q, _ = diag(b)
        a, b, c, D, theta = ex.next_layer(sw2, sb2, a, b, p, q, h, g, sdot, theta)
    return c, theta


def _first_layer_naive(G, n1, n2, sw2, sb2):
    """Gram-based first layer for a block: ``(a, b, c, D)`` and the near-collinear mask.

    ``G`` (B1, B2) is the block of ``X1 X2ᵀ / d``; ``n1``, ``n2`` the ``‖x‖²/d``.
    """
    outer = n1[:, None] * n2[None, :]
    G2 = G * G
    near = G2 > _NEAR_COLLINEAR * outer
    cross = np.maximum(outer - G2, 0.0)
    a = sw2 * n1[:, None] + sb2
    b = sw2 * n2[None, :] + sb2
    c = sw2 * G + sb2
    D = sw2 * sw2 * cross
    if sb2:
        dist2 = np.maximum(n1[:, None] + n2[None, :] - 2.0 * G, 0.0)
        D += sb2 * sw2 * dist2
    return a, b, c, D, near


def _block(kind, depth, sw2, sb2, G, n1, n2, on_diagonal):
    """One block of the closed-form path: ``(nngp, ntk, near)``."""
    a, b, c, D, near = _first_layer_naive(G, n1, n2, sw2, sb2)
    if on_diagonal:
        # The pairs (i, i) are identical inputs: D = 0 and c = a exactly, whatever
        # the rounding of X Xᵀ.
        idx = np.arange(G.shape[0])
        D[idx, idx] = 0.0
        c[idx, idx] = a[idx, 0]
        near[idx, idx] = False
    k_nngp, k_ntk = _recursion(kind, depth, sw2, sb2, a, b, c, D)
    return k_nngp, k_ntk, near


def _exact_first_layer(x1, x2, sw2, sb2):
    """First-layer ``(a, b, c, D)`` for M explicit pairs (rows of x1, x2), from differences.

    Uses ``‖x‖²‖x'‖² − (x·x')² = ‖x‖²‖x'‖² ‖û − v̂‖² ‖û + v̂‖² / 4`` (unit vectors û, v̂)
    and ``‖x − x'‖²`` directly, both free of cancellation.
    """
    d = x1.shape[1]
    n1 = np.einsum("ij,ij->i", x1, x1) / d
    n2 = np.einsum("ij,ij->i", x2, x2) / d
    g = np.einsum("ij,ij->i", x1, x2) / d
    dist2 = np.einsum("ij,ij->i", x1 - x2, x1 - x2) / d
    norm1 = np.sqrt(n1 * d)
    norm2 = np.sqrt(n2 * d)
    with np.errstate(invalid="ignore", divide="ignore"):
        u = x1 / norm1[:, None]
        v = x2 / norm2[:, None]
    minus = np.einsum("ij,ij->i", u - v, u - v)
    plus = np.einsum("ij,ij->i", u + v, u + v)
    cross = np.where((norm1 > 0) & (norm2 > 0), n1 * n2 * minus * plus / 4.0, 0.0)
    a = sw2 * n1 + sb2
    b = sw2 * n2 + sb2
    c = sw2 * g + sb2
    D = sw2 * sw2 * cross + sb2 * sw2 * dist2
    return a, b, c, D


def _closed_form(kind, X1, X2, depth, sw2, sb2, wanted=(0, 1)):
    """Blocked closed-form Grams (upper block triangle only when ``X2 is None``).

    ``wanted`` selects the outputs (0: NNGP, 1: NTK); only those are stored.
    NumPy, not JAX: its SIMD ``arctan2`` is several times faster than XLA's on the
    CPU, and the blocks run on a small thread pool (NumPy releases the GIL).
    """
    symmetric = X2 is None
    X2_ = X1 if symmetric else X2
    N1, N2 = X1.shape[0], X2_.shape[0]
    d = X1.shape[1]
    n1 = np.einsum("ij,ij->i", X1, X1) / d
    n2 = n1 if symmetric else np.einsum("ij,ij->i", X2_, X2_) / d
    # One large BLAS call: many small ones pay the BLAS threading overhead each time.
    G = X1 @ X2_.T
    G /= d
    outs = {i: np.empty((N1, N2)) for i in wanted}
    blocks = [
        (i0, j0)
        for i0 in range(0, N1, BLOCK)
        for j0 in range(i0 if symmetric else 0, N2, BLOCK)
    ]

    def run(block):
        i0, j0 = block
        rows, cols = slice(i0, i0 + BLOCK), slice(j0, j0 + BLOCK)
        # Inputs are range-checked beforehand and the output afterwards; what can
        # still overflow here is unused (D of a depth-0 call), so stay quiet.
        with np.errstate(over="ignore", invalid="ignore"):
            *kernels, near = _block(
                kind, depth, sw2, sb2, G[rows, cols], n1[rows], n2[cols], symmetric and i0 == j0
            )
        for i in wanted:
            k = kernels[i]
            if symmetric and i0 == j0:
                # BLAS need not round X Xᵀ symmetrically: mirror the upper triangle.
                k = np.triu(k) + np.triu(k, 1).T
            outs[i][rows, cols] = k
            if symmetric and j0 != i0:
                outs[i][cols, rows] = k.T
        r, c = np.nonzero(near)
        return r + i0, c + j0

    if len(blocks) == 1:
        fixes = [run(blocks[0])]
    else:
        with ThreadPoolExecutor(max_workers=_threads()) as pool:
            fixes = list(pool.map(run, blocks))
    rows = np.concatenate([r for r, _ in fixes])
    cols = np.concatenate([c for _, c in fixes])
    if symmetric:  # each unordered pair once, mirrored below
        upper = rows < cols
        rows, cols = rows[upper], cols[upper]
    if rows.size:
        with np.errstate(over="ignore", invalid="ignore"):
            a, b, c, D = _exact_first_layer(X1[rows], X2_[cols], sw2, sb2)
            kernels = _recursion(kind, depth, sw2, sb2, a, b, c, D)
        for i in wanted:
            outs[i][rows, cols] = kernels[i]
            if symmetric:
                outs[i][cols, rows] = kernels[i]
    return tuple(outs[i] for i in wanted)


def _threads() -> int:
    return max(1, min(len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
                      else (os.cpu_count() or 1), 8))


# ------------------------------------------------------------------ quadrature path


def _quadrature(
    activation: Activation, X1, X2, depth, sw2, sb2, order, wanted=(0, 1), scale=None
):
    """Generic activation: the same recursion with polar-rule expectations (slow path).

    ``scale`` (a :class:`_Scale`) range-checks the variances of every layer before
    the quadrature sees them.
    """
    symmetric = X2 is None
    X2_ = X1 if symmetric else X2
    N1, N2 = X1.shape[0], X2_.shape[0]
    if symmetric:
        rows, cols = np.triu_indices(N1)
    else:
        rows, cols = (idx.ravel() for idx in np.indices((N1, N2)))
    a, b, c, D = _exact_first_layer(X1[rows], X2_[cols], sw2, sb2)
    if symmetric:
        same = rows == cols
        D = np.where(same, 0.0, D)
        c = np.where(same, a, c)
    theta = c
    for layer in range(1, depth + 1):
        if scale is not None:
            scale.check(layer, a, b)
        p, _ = ex.quadrature_diag(activation, order, a)
        q, _ = ex.quadrature_diag(activation, order, b)
        h, g, sdot = ex.quadrature_pair(activation, order, a, b, c, D, p, q)
        a, b, c, D, theta = (
            np.asarray(v) for v in ex.next_layer(sw2, sb2, a, b, p, q, h, g, sdot, theta)
        )
    results = []
    for values in ((c, theta)[i] for i in wanted):
        out = np.empty((N1, N2))
        out[rows, cols] = values
        if symmetric:
            out[cols, rows] = values
        results.append(out)
    return tuple(results)


# ----------------------------------------------------------------------- public API


def _kernels(X1, X2, depth, activation, sigma_w, sigma_b, method, quadrature, wanted):
    """Validate, pick the path, and compute the ``wanted`` outputs (0: NNGP, 1: NTK)."""
    depth, sigma_w, sigma_b = _check_hyper(depth, sigma_w, sigma_b)
    act = get_activation(activation)
    if method not in ("auto", "closed_form", "quadrature"):
        raise ValueError(
            f"method must be one of ['auto', 'closed_form', 'quadrature'], got {method!r}"
        )
    if not isinstance(quadrature, Quadrature):
        raise TypeError(f"quadrature must be an ntkjam.kernels.Quadrature, got {quadrature!r}")
    X1, X2 = _check_inputs(X1, X2)
    sw2, sb2 = sigma_w * sigma_w, sigma_b * sigma_b
    # A user Activation that merely reuses a built-in name gets the quadrature path.
    has_closed_form = act.name in ex.CLOSED_FORMS and act is get_activation(act.name)
    if method == "closed_form" and not has_closed_form:
        raise ValueError(
            f"method='closed_form' needs activation in {sorted(ex.CLOSED_FORMS)}, "
            f"got {act.name!r}; use method='quadrature' or 'auto'"
        )
    q1 = _second_moments(X1)
    q2 = None if X2 is None else _second_moments(X2)
    q_max = float(max(np.max(q1), -math.inf if q2 is None else np.max(q2)))
    what = {(0,): "nngp", (1,): "ntk"}.get(tuple(wanted), "nngp_and_ntk")
    scale = _Scale(what, depth, sigma_w, sigma_b, q_max)
    if method != "quadrature" and has_closed_form:
        _check_closed_form_range(act.name, scale, depth, sw2, sb2, q1, q2)
        out = _closed_form(act.name, X1, X2, depth, sw2, sb2, wanted)
    else:
        if depth:
            scale.check(0, q1, *(() if q2 is None else (q2,)))
        with np.errstate(over="ignore", invalid="ignore"):
            out = _quadrature(act, X1, X2, depth, sw2, sb2, quadrature, wanted, scale)
    for k in out:
        check_finite_result(what, k, scale.cause())
    return out


def nngp_and_ntk(
    X1,
    X2=None,
    *,
    depth: int = 1,
    activation: str | Activation = "relu",
    sigma_w: float = math.sqrt(2.0),
    sigma_b: float = 0.0,
    method: str = "auto",
    quadrature: Quadrature = ex.DEFAULT_QUADRATURE,
) -> tuple[np.ndarray, np.ndarray]:
    """NNGP and NTK Grams of a fully-connected network at infinite width.

    Parameters
    ----------
    X1 : array_like, shape (N1, d)
    X2 : array_like, shape (N2, d), optional
        Defaults to ``X1``; then only the upper triangle is computed and the result
        is exactly symmetric.
    depth : int
        Number of hidden layers L ≥ 0 (0 is the linear model).
    activation : str or Activation
        ``relu``, ``erf``, ``identity`` (closed form), ``tanh``, ``gelu``,
        ``softplus`` (quadrature), or an :class:`~ntkjam.kernels.Activation`.
    sigma_w : float
        Weight standard deviation σ_w > 0 (default √2, He scaling for ReLU).
    sigma_b : float
        Bias standard deviation σ_b ≥ 0 (default 0: no biases).
    method : {"auto", "closed_form", "quadrature"}
        ``auto`` uses the closed form when one exists.  ``quadrature`` forces the
        polar Gauss–Legendre rule (a cross-check; it agrees with the ReLU and erf
        closed forms to ~1e-13).
    quadrature : Quadrature
        Orders of the quadrature rule.

    Returns
    -------
    nngp, ntk : numpy.ndarray, shape (N1, N2)
    """
    return _kernels(X1, X2, depth, activation, sigma_w, sigma_b, method, quadrature, (0, 1))


_SIGNATURE = inspect.signature(nngp_and_ntk)  # every kernel's, in the order of _kernels


def _single(which: int) -> Callable:
    """The kernel giving output ``which`` (0: NNGP, 1: NTK), with the arguments of
    :func:`nngp_and_ntk` (bound against its signature, so defaults and errors agree)."""

    def kernel(X1, X2=None, **options) -> np.ndarray:
        try:
            bound = _SIGNATURE.bind(X1, X2, **options)
        except TypeError as exc:
            raise TypeError(f"{kernel.__name__}() {exc}") from None
        bound.apply_defaults()
        return _kernels(*bound.arguments.values(), (which,))[0]

    kernel.__signature__ = _SIGNATURE.replace(return_annotation="np.ndarray")
    return kernel


nngp = _single(0)
nngp.__name__ = nngp.__qualname__ = "nngp"
nngp.__doc__ = """NNGP (Gaussian-process) kernel of the network at infinite width.

Same arguments as :func:`nngp_and_ntk`; returns the (N1, N2) NNGP Gram Σ^{L+1}.
"""

ntk = _single(1)
ntk.__name__ = ntk.__qualname__ = "ntk"
ntk.__doc__ = """Neural tangent kernel of the network at infinite width.

Same arguments as :func:`nngp_and_ntk`; returns the (N1, N2) NTK Gram Θ^{L+1}.

Examples
--------
>>> import numpy as np, ntkjam.kernels as k
>>> X = np.eye(3)
>>> K = k.ntk(X, depth=2, activation="relu", sigma_w=2**0.5, sigma_b=0.0)
>>> K.shape
(3, 3)
"""
