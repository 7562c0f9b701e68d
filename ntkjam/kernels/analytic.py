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

Evaluation (:mod:`ntkjam.kernels.strips`, :mod:`ntkjam.kernels.recursion`): the
recursion is one JAX function per layer, jitted with its elementwise chain fused, and
evaluated on fixed-shape blocks of rows against columns written into the ``N1 × N2``
float64 output (only the blocks on and above the diagonal when ``X2`` is omitted).
The same blocks give the matrix-free products of :func:`kernel_vector_product`.  With
NumPy inputs the kernels return NumPy arrays; called under a JAX trace (``jax.jit``,
``jax.grad`` in ``X``, ``sigma_w`` or ``sigma_b``, ``jax.vmap``) they return JAX arrays,
with the values' checks (finite inputs, the float64 range) left out, as a trace has no
values to check.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np

from ntkjam._validate import (
    NumericalRangeError,
    as_choice,
    as_float_array,
    as_input_pair,
    as_int,
    as_real,
    check_finite_result,
)
from ntkjam.kernels import expectations as ex
from ntkjam.kernels import strips
from ntkjam.kernels.activations import Activation, get_activation
from ntkjam.kernels.classic import polynomial, rbf  # re-exported: kernels by name

__all__ = [
    "MAX_VARIANCE",
    "SIGMA_W_MAX",
    "SIGMA_W_MIN",
    "check_hyperparameters",
    "kernel_vector_product",
    "nngp",
    "ntk",
    "nngp_and_ntk",
    "rbf",
    "polynomial",
    "Quadrature",
]

Quadrature = ex.Quadrature

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

    Examples
    --------
    >>> from ntkjam.kernels.analytic import check_hyperparameters
    >>> check_hyperparameters(depth=2, activation="erf", sigma_w=1.5)   # valid: returns None
    >>> try:
    ...     check_hyperparameters(sigma_w=-1.0)
    ... except ValueError as exc:
    ...     print(exc)
    sigma_w must be > 0, got -1.0
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


def _check_rows(scale: _Scale, spec: strips.KernelSpec, q1, q2) -> None:
    """Refuse inputs whose variances ``‖x‖²/d``, ``Σ^l(x, x)`` exceed :data:`MAX_VARIANCE`.

    By Cauchy–Schwarz every pair quantity (``|c| ≤ √(ab)``, ``D ≤ ab``) is bounded
    by the diagonal ones, so checking the N diagonal values of every layer bounds all
    intermediates.  ``depth = 0`` forms no products of variances (the output is checked).
    """
    if spec.depth == 0:
        return
    rows = [q1] if q2 is None else [q1, q2]
    scale.check(0, *rows)
    per_side = [strips.row_variances(spec, q) for q in rows]
    for layer in range(1, spec.depth + 1):
        scale.check(layer, *(v[layer - 1] for v in per_side))


def _is_traced(*values) -> bool:
    return any(isinstance(v, jax.core.Tracer) for v in values)


def _check_traced_inputs(X1, X2):
    """Static checks of traced inputs (shapes only: their values are not known)."""
    for name, X in (("X1", X1), ("X2", X2)):
        if X is None:
            continue
        if jnp.ndim(X) != 2:
            raise ValueError(f"{name} must have 2 dimension(s), got shape {jnp.shape(X)}")
        if jnp.iscomplexobj(X):
            raise TypeError(f"{name} must be a real array, got complex values")
        if X.shape[0] < 1 or X.shape[1] < 1:
            raise ValueError(
                f"{name} must have shape (N, d) with N >= 1 and d >= 1, got {X.shape}")
    if X2 is not None and X2.shape[1] != X1.shape[1]:
        raise ValueError(
            f"X2 must have input dimension d = {X1.shape[1]} (to match the other inputs), "
            f"got shape {X2.shape}"
        )
    return jnp.asarray(X1, dtype=jnp.float64), (
        None if X2 is None else jnp.asarray(X2, dtype=jnp.float64))


def _check_hyper_traced(depth, sigma_w, sigma_b):
    """As :func:`_check_hyper`, for the hyperparameters that are not traced."""
    depth = as_int("depth", depth, minimum=0)
    concrete_w = not _is_traced(sigma_w)
    concrete_b = not _is_traced(sigma_b)
    if concrete_w and concrete_b:
        return _check_hyper(depth, sigma_w, sigma_b)
    if concrete_w:
        _check_hyper(depth, sigma_w, 0.0)
    if concrete_b:
        _check_hyper(depth, 1.0, sigma_b)
    return depth, sigma_w, sigma_b


def _spec(act: Activation, method: str, quadrature, depth, sw2, sb2) -> strips.KernelSpec:
    # A user Activation that merely reuses a built-in name gets the quadrature path.
    has_closed_form = act.name in ex.CLOSED_FORMS and act is get_activation(act.name)
    if method == "closed_form" and not has_closed_form:
        raise ValueError(
            f"method='closed_form' needs activation in {sorted(ex.CLOSED_FORMS)}, "
            f"got {act.name!r}; use method='quadrature' or 'auto'"
        )
    kind = act.name if method != "quadrature" and has_closed_form else act
    return strips.KernelSpec(kind, quadrature, depth, sw2, sb2)


def _check_options(activation, method, quadrature) -> Activation:
    act = get_activation(activation)
    if method not in ("auto", "closed_form", "quadrature"):
        raise ValueError(
            f"method must be one of ['auto', 'closed_form', 'quadrature'], got {method!r}"
        )
    if not isinstance(quadrature, Quadrature):
        raise TypeError(f"quadrature must be an ntkjam.kernels.Quadrature, got {quadrature!r}")
    return act


def _what(wanted) -> str:
    return {(0,): "nngp", (1,): "ntk"}.get(tuple(wanted), "nngp_and_ntk")


def _prepare(X1, X2, depth, sigma_w, sigma_b, act, method, quadrature, what):
    """Checked NumPy inputs, ``‖x‖²/d``, the spec and the scale of a concrete call.

    Refuses (before any Gram work) inputs or hyperparameters whose variances would leave
    float64 in some layer.  ``depth``, ``sigma_w``, ``sigma_b`` are already checked.
    """
    X1, X2 = as_input_pair(X1, X2)
    sw2, sb2 = sigma_w * sigma_w, sigma_b * sigma_b
    spec = _spec(act, method, quadrature, depth, sw2, sb2)
    q1 = _second_moments(X1)
    q2 = None if X2 is None else _second_moments(X2)
    q_max = float(max(np.max(q1), -math.inf if q2 is None else np.max(q2)))
    scale = _Scale(what, depth, sigma_w, sigma_b, q_max)
    _check_rows(scale, spec, q1, q2)
    return X1, X2, q1, q2, spec, scale


def _kernels(X1, X2, depth, activation, sigma_w, sigma_b, method, quadrature, wanted):
    """Validate, pick the path, and compute the ``wanted`` outputs (0: NNGP, 1: NTK)."""
    traced = _is_traced(X1, X2, sigma_w, sigma_b)
    depth, sigma_w, sigma_b = (_check_hyper_traced if traced else _check_hyper)(
        depth, sigma_w, sigma_b)
    act = _check_options(activation, method, quadrature)
    if traced:
        X1, X2 = _check_traced_inputs(X1, X2)
        spec = _spec(act, method, quadrature, depth, sigma_w * sigma_w, sigma_b * sigma_b)
        return strips.gram_traced(spec, X1, X2, tuple(wanted))
    X1, X2, q1, q2, spec, scale = _prepare(X1, X2, depth, sigma_w, sigma_b, act, method,
                                           quadrature, _what(wanted))
    out = strips.gram(spec, X1, X2, q1, q2, tuple(wanted))
    for k in out:
        _check_output(scale, k)
    return out


def _check_output(scale: _Scale, k: np.ndarray) -> None:
    """:func:`check_finite_result` without an ``N × N`` temporary (row strips first)."""
    for start in range(0, k.shape[0], 1024):
        if not np.isfinite(k[start:start + 1024]).all():
            check_finite_result(scale.what, k, scale.cause())  # raises, with the counts


# ----------------------------------------------------------------------- public API


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
        float64.  Under a JAX trace (``X1``, ``X2``, ``sigma_w`` or ``sigma_b`` a
        tracer: ``jax.jit``, ``jax.grad``, ``jax.vmap``) JAX arrays, differentiable in
        all four; the checks that need values (finite inputs, the float64 range) are
        then skipped.

    Examples
    --------
    Two orthogonal inputs with ``‖x‖² = d``, one ReLU layer, σ_w = √2 (He), σ_b = 0:
    the diagonal is 2 (NNGP) and 4 (NTK), the off-diagonal 2/π (arc-cosine kernel at θ = π/2).

    >>> import numpy as np
    >>> from ntkjam.kernels import nngp_and_ntk
    >>> X = np.array([[1.0, 1.0], [1.0, -1.0]])
    >>> K, Theta = nngp_and_ntk(X, depth=1)
    >>> K.shape, np.allclose(K, [[2, 2 / np.pi], [2 / np.pi, 2]])
    ((2, 2), True)
    >>> np.allclose(Theta, [[4, 2 / np.pi], [2 / np.pi, 4]])
    True
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

Examples
--------
With ReLU and σ_w = √2 (He scaling) the variance ``‖x‖²/d`` is kept by every layer,
and the Gram of orthogonal inputs is the arc-cosine kernel ``2/π`` off the diagonal:

>>> import numpy as np
>>> from ntkjam.kernels import nngp
>>> X = np.array([[1.0, 1.0], [1.0, -1.0]])          # (N, d) = (2, 2), ‖x‖²/d = 1
>>> K = nngp(X, depth=3)
>>> K.shape, np.allclose(np.diag(K), 2.0), bool(np.all(K == K.T))
((2, 2), True, True)
>>> np.allclose(nngp(X, depth=1)[0, 1], 2 / np.pi)
True
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
>>> bool(np.all(K == K.T)), bool(np.all(np.linalg.eigvalsh(K) > 0))
(True, True)
"""


def kernel_vector_product(
    X,
    V,
    *,
    kernel: str = "ntk",
    depth: int = 1,
    activation: str | Activation = "relu",
    sigma_w: float = math.sqrt(2.0),
    sigma_b: float = 0.0,
    method: str = "auto",
    quadrature: Quadrature = ex.DEFAULT_QUADRATURE,
) -> np.ndarray:
    """``K(X, X) V`` for the NTK or NNGP Gram, without forming ``K``.

    The product is evaluated block by block with the same jitted blocks as the Grams
    (:mod:`ntkjam.kernels.strips`): memory ``O(N k)`` plus one block, each block on
    and above the diagonal used twice, the nearly collinear pairs recomputed exactly.
    It equals ``ntk(X, ...) @ V`` to rounding (1e-15 relative).

    Parameters
    ----------
    X : array_like, shape (N, d)
    V : array_like, shape (N,) or (N, k)
    kernel : {"ntk", "nngp"}
        Which Gram.
    depth, activation, sigma_w, sigma_b, method, quadrature
        As in :func:`nngp_and_ntk`.

    Returns
    -------
    numpy.ndarray, shape of ``V``

    Examples
    --------
    >>> import numpy as np
    >>> from ntkjam.kernels import kernel_vector_product, ntk
    >>> X = np.random.default_rng(0).standard_normal((6, 3))
    >>> V = np.ones(6)
    >>> KV = kernel_vector_product(X, V, depth=2)
    >>> KV.shape, np.allclose(KV, ntk(X, depth=2) @ V)
    ((6,), True)
    """
    kernel = as_choice("kernel", kernel, ("nngp", "ntk"))
    depth, sigma_w, sigma_b = _check_hyper(depth, sigma_w, sigma_b)
    act = _check_options(activation, method, quadrature)
    X, _, q, _, spec, scale = _prepare(X, None, depth, sigma_w, sigma_b, act, method,
                                       quadrature, kernel)
    V = as_float_array("V", V, ndim=(1, 2))
    if V.shape[0] != X.shape[0]:
        raise ValueError(f"V must have {X.shape[0]} rows (one per point of X), got {V.shape}")
    V2 = V.reshape(V.shape[0], -1)
    out = strips.gram_vector_product(spec, X, q, V2, ("nngp", "ntk").index(kernel))
    _check_output(scale, out)
    return out.reshape(V.shape)
