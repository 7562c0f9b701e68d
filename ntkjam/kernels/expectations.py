"""Gaussian expectations of activations: one layer of the infinite-width recursion.

For a pair of jointly Gaussian pre-activations ``(u, v)`` with covariance
``[[a, c], [c, b]]`` a layer needs ``E[φ(u)φ(v)]`` (next NNGP) and
``E[φ'(u)φ'(v)]`` (the NTK's derivative kernel).  Near ``c = √(ab)`` (the
diagonal, or nearly identical inputs) the naive formulas lose half the digits:
the ReLU angle is ``arccos(c/√(ab))`` and ``arccos`` has infinite slope at 1, so
a rounding error ε in the ratio becomes an error √ε ≈ 1e-8 in the kernel.  This
module therefore never forms ``1 - c²/(ab)`` by subtraction.  Each pair carries
the *determinant* ``D = ab − c² ≥ 0`` computed without cancellation, and each
transition returns the layer's output in the cancellation-free form

* ``p = E[φ(u)²]`` (rows), ``q = E[φ(v)²]`` (columns), carried with their square
  roots in a :class:`Side`,
* ``h = √(pq) − E[φ(u)φ(v)] ≥ 0`` and ``g = √(pq) + E[φ(u)φ(v)] ≥ 0``, computed
  directly (never as a difference of two nearly equal numbers: ``h`` is small for
  nearly identical inputs, ``g`` for nearly opposite ones of an odd activation),
* ``sdot = E[φ'(u)φ'(v)]``,

from which :func:`next_layer` builds the next layer's ``(a, b, c, D)`` exactly.

Everything here is ``jax.numpy`` on broadcastable arrays: rows ``(B, 1)`` against
columns ``(1, C)`` for a block of a Gram, or ``(M,)`` against ``(M,)`` for a list of
pairs.  The functions are traced into the jitted blocks of
:mod:`ntkjam.kernels.recursion`, where XLA fuses each layer's elementwise chain.

ReLU and erf have closed forms (Cho & Saul 2009; Williams 1997); ``identity`` is
trivial; every other activation uses the polar-coordinate Gauss–Legendre rule of
:mod:`ntkjam.kernels.quadrature` (its orders, :class:`Quadrature`, re-exported here).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import NamedTuple

import jax.numpy as jnp
import numpy as np

from ntkjam.kernels.activations import Activation
from ntkjam.kernels.elementary import arctan2, relu_pi_minus_j, safe_reciprocal, safe_sqrt
from ntkjam.kernels.quadrature import DEFAULT_QUADRATURE, Quadrature, half_line_rule, polar_rule

__all__ = [
    "CLOSED_FORMS",
    "DEFAULT_QUADRATURE",
    "Quadrature",
    "Side",
    "expectation_functions",
    "next_layer",
    "quadrature_diag",
    "quadrature_pair",
    "side",
]

_PI = np.pi


class Side(NamedTuple):
    """What a layer knows of one side of its pairs (the rows, or the columns).

    Attributes
    ----------
    var : jax.Array, shape (B, 1), (1, C) or (M,)
        The pre-activation variance ``a = Σ(x, x)``.
    p : jax.Array, same shape
        ``E[φ(u)²]`` for ``u ~ N(0, a)``.
    root_p : jax.Array, same shape
        ``√p``.

    Examples
    --------
    >>> import numpy as np
    >>> from ntkjam.kernels.expectations import CLOSED_FORMS, side
    >>> s = side(CLOSED_FORMS["relu"][1], np.array([[2.0], [8.0]]))      # rows (B, 1) = (2, 1)
    >>> np.shape(s.var), np.ravel(s.p).tolist(), np.ravel(s.root_p).tolist()
    ((2, 1), [1.0, 4.0], [1.0, 2.0])
    """

    var: object
    p: object
    root_p: object


# --------------------------------------------------------------------------- ReLU


def relu_pair(rows: Side, cols: Side, c, D, one=1.0):
    """ReLU transition for pairs: returns ``(h, g, sdot)``.

    With θ the angle between ``u`` and ``v`` (``tan θ = √D / c``), ``E[φ(u)φ(v)] =
    √(ab)/(2π) J(θ)``, ``J = sin θ + (π−θ) cos θ``, and ``E[φ'(u)φ'(v)] = (π − θ)/(2π)``;
    ``p = a/2``, ``q = b/2``, so ``h = √(ab)/(2π) (π − J(θ))``, which
    :func:`~ntkjam.kernels.elementary.relu_pi_minus_j` evaluates with full relative
    accuracy however small it is.  ``one`` (a traced 1.0) marks θ and ``h`` as
    values to compute once: XLA does not duplicate a division into its consumers.
    """
    ra, rb = jnp.sqrt(rows.var), jnp.sqrt(cols.var)
    root_ab = ra * rb
    inv = safe_reciprocal(ra) * safe_reciprocal(rb)  # a zero-variance input: E[φφ] = 0
    sqrt_D = safe_sqrt(D)
    theta = arctan2(sqrt_D, c) / one
    h = relu_pi_minus_j(theta, sqrt_D * inv, c * inv) * root_ab * (0.5 / _PI) / one
    g = root_ab - h  # E[φφ] ≥ 0 for ReLU, so g = √(pq) + E ≥ √(pq): no cancellation
    return h, g, (_PI - theta) * (0.5 / _PI)


def relu_diag(a):
    """ReLU ``E[φ(u)²] = a/2`` and ``E[φ'(u)²] = 1/2`` for ``u ~ N(0, a)``."""
    return 0.5 * a, jnp.full_like(a, 0.5)


# ---------------------------------------------------------------------------- erf


def erf_pair(rows: Side, cols: Side, c, D, one=1.0):
    """erf transition (Williams 1997) for pairs: returns ``(h, g, sdot)``.

    ``E[erf(u)erf(v)] = (2/π) arcsin(2c / √((1+2a)(1+2b)))``, written as
    ``(2/π) atan2(2c, √(1 + 2a + 2b + 4D))`` which needs no cancellation, and
    ``E[erf'(u)erf'(v)] = (4/π) / √(1 + 2a + 2b + 4D)``.
    """
    root = jnp.sqrt(1.0 + 2.0 * rows.var + 2.0 * cols.var + 4.0 * D)
    r = (2.0 / _PI) * arctan2(2.0 * c, root) / one
    root_pq = rows.root_p * cols.root_p
    # erf is smooth, so the difference √(pq) − r only costs an absolute error ε·√(pq),
    # which the next layer's formulas (all regular at D = 0) do not amplify.
    h = jnp.maximum(root_pq - r, 0.0)
    g = jnp.maximum(root_pq + r, 0.0)
    return h, g, (4.0 / _PI) / root


def erf_diag(a):
    """erf ``E[erf(u)²]`` and ``E[erf'(u)²]`` for ``u ~ N(0, a)``."""
    root = jnp.sqrt(1.0 + 4.0 * a)
    return (2.0 / _PI) * arctan2(2.0 * a, root), (4.0 / _PI) / root


# ----------------------------------------------------------------------- identity


def identity_pair(rows: Side, cols: Side, c, D, one=1.0):
    """Identity: ``E[uv] = c``; ``h = √(ab) − c``, ``g = √(ab) + c``, and ``hg = D``.

    The smaller of the two is computed as ``D`` over the larger (no cancellation).
    """
    root_ab = rows.root_p * cols.root_p
    plus, minus = root_ab + c, root_ab - c
    h = jnp.where(c > 0, D / jnp.where(c > 0, plus, 1.0), minus)
    g = jnp.where(c < 0, D / jnp.where(c < 0, minus, 1.0), plus)
    return h, g, jnp.ones_like(c)


def identity_diag(a):
    """Identity: ``E[u²] = a``, ``E[1] = 1``."""
    return a, jnp.ones_like(a)


# --------------------------------------------------------------------- quadrature


def _quadrature_pair_impl(activation: Activation, order: Quadrature, a, b, c, D, p, q):
    """Quadrature transition for M pairs (all arguments (M,)): returns ``(h, g, sdot)``.

    ``h = √(pq) − E[φ(u)φ(v)] = ½ E[(α φ(u) − β φ(v))²]`` with ``α = (q/p)^{1/4}``,
    ``β = (p/q)^{1/4}``: a direct integral of a square, hence free of cancellation;
    likewise ``g = √(pq) + E[φ(u)φ(v)] = ½ E[(α φ(u) + β φ(v))²]``.
    """
    S = jnp.where(a > 0, D / jnp.where(a > 0, a, 1.0), b)
    l1, l2, wa, r, wr = polar_rule(a, c, S, order)
    u = l1[:, :, None] * r  # (M, A, R)
    v = l2[:, :, None] * r
    weights = wa[:, :, None] * wr
    fu, fv = activation.fn(u), activation.fn(v)
    ratio = jnp.where(p > 0, jnp.sqrt(jnp.sqrt(q / jnp.where(p > 0, p, 1.0))), 0.0)
    alpha = ratio[:, None, None]
    beta = jnp.where(ratio > 0, 1.0 / jnp.where(ratio > 0, ratio, 1.0), 0.0)[:, None, None]
    h = 0.5 * jnp.sum(weights * (alpha * fu - beta * fv) ** 2, axis=(1, 2))
    g = 0.5 * jnp.sum(weights * (alpha * fu + beta * fv) ** 2, axis=(1, 2))
    # If p or q vanishes, E[φ(u)φ(v)] = 0 by Cauchy–Schwarz and h = g = √(pq) = 0.
    both = (p > 0) & (q > 0)
    h, g = jnp.where(both, h, 0.0), jnp.where(both, g, 0.0)
    sdot = jnp.sum(weights * activation.derivative(u) * activation.derivative(v), axis=(1, 2))
    return h, g, sdot


def _quadrature_diag_impl(activation: Activation, order: Quadrature, a):
    # E[g(u)] for u = √a z as Σ_j w_j (g(√a z_j) + g(−√a z_j)) (see half_line_rule).
    z, w = half_line_rule(order)
    u = jnp.sqrt(a)[:, None] * z
    p = jnp.sum(w * (activation.fn(u) ** 2 + activation.fn(-u) ** 2), axis=1)
    pdot = jnp.sum(w * (activation.derivative(u) ** 2 + activation.derivative(-u) ** 2), axis=1)
    return p, pdot


def quadrature_pair(activation: Activation, order: Quadrature, rows: Side, cols: Side, c, D,
                    one=1.0):
    """Polar-rule transition for broadcastable pair arrays: returns ``(h, g, sdot)``.

    The pairs are flattened to ``(M,)`` (memory ``M × A × R`` doubles per array, A
    angular and R radial nodes: keep blocks of a few hundred pairs).

    Parameters
    ----------
    activation : Activation
        The activation φ.
    order : Quadrature
        Orders of the polar rule.
    rows, cols : Side
        Broadcastable sides, e.g. ``(B, 1)`` and ``(1, C)``.
    c, D : array_like
        Pair covariances and determinants ``ab − c²``, broadcastable with the sides.
    one : float or jax.Array
        A traced 1.0 (see :func:`expectation_functions`).

    Returns
    -------
    h, g, sdot : jax.Array
        Each of the broadcast pair shape.

    Examples
    --------
    The polar rule reproduces the ReLU closed form (unit variances, three pairs), here
    traced into one jitted call as in the kernel blocks:

    >>> import jax
    >>> import numpy as np
    >>> from ntkjam.kernels import Quadrature, get_activation
    >>> from ntkjam.kernels.expectations import CLOSED_FORMS, quadrature_pair, side
    >>> pair, diag = CLOSED_FORMS["relu"]
    >>> s = side(diag, np.ones(3))
    >>> c = np.array([0.3, 0.0, -0.5]); D = 1 - c**2
    >>> jitted = jax.jit(quadrature_pair, static_argnums=(0, 1))
    >>> rule = jitted(get_activation("relu"), Quadrature(), s, s, c, D)
    >>> [np.asarray(x).shape for x in rule], np.allclose(rule, pair(s, s, c, D), atol=1e-12)
    ([(3,), (3,), (3,)], True)
    """
    shape = jnp.broadcast_shapes(jnp.shape(c), jnp.shape(D), jnp.shape(rows.var),
                                 jnp.shape(cols.var))
    flat = [jnp.ravel(jnp.broadcast_to(x, shape))
            for x in (rows.var, cols.var, c, D, rows.p, cols.p)]
    return tuple(v.reshape(shape) for v in _quadrature_pair_impl(activation, order, *flat))


def quadrature_diag(activation: Activation, order: Quadrature, a):
    """``(E[φ(u)²], E[φ'(u)²])`` for ``u ~ N(0, a)``, ``a`` of any shape.

    Parameters
    ----------
    activation : Activation
        The activation φ.
    order : Quadrature
        Orders of the polar rule.
    a : array_like
        Variances, any shape.

    Returns
    -------
    p, pdot : jax.Array
        Same shape as ``a``.

    Examples
    --------
    For ReLU, ``E[φ(u)²] = a/2`` and ``E[φ'(u)²] = 1/2``:

    >>> import jax
    >>> import numpy as np
    >>> from ntkjam.kernels import Quadrature, get_activation
    >>> from ntkjam.kernels.expectations import quadrature_diag
    >>> rule = jax.jit(quadrature_diag, static_argnums=(0, 1))         # as in the kernel blocks
    >>> p, pdot = rule(get_activation("relu"), Quadrature(), np.array([[2.0, 6.0]]))
    >>> np.asarray(p).shape, np.allclose(p, [[1.0, 3.0]]), np.allclose(pdot, 0.5)
    ((1, 2), True, True)
    """
    a = jnp.asarray(a)
    p, pdot = _quadrature_diag_impl(activation, order, jnp.ravel(a))
    return p.reshape(a.shape), pdot.reshape(a.shape)


#: ``name -> (pair, diag)`` for the activations with closed-form expectations.
CLOSED_FORMS = {
    "relu": (relu_pair, relu_diag),
    "erf": (erf_pair, erf_diag),
    "identity": (identity_pair, identity_diag),
}


@functools.lru_cache(maxsize=64)
def expectation_functions(kind: str | Activation, order: Quadrature) -> tuple[Callable, Callable]:
    """``(pair, diag)`` of a closed form (``kind`` a name of :data:`CLOSED_FORMS`) or of
    the polar rule of ``order`` (``kind`` an :class:`~ntkjam.kernels.Activation`).

    ``pair(rows, cols, c, D, one) -> (h, g, sdot)`` and ``diag(a) -> (p, pdot)``.

    Parameters
    ----------
    kind : str or Activation
        ``"relu"``, ``"erf"``, ``"identity"``, or an :class:`~ntkjam.kernels.Activation`.
    order : Quadrature
        Orders of the polar rule (ignored for a closed form).

    Returns
    -------
    pair, diag : callable

    Examples
    --------
    >>> import numpy as np
    >>> from ntkjam.kernels import Quadrature, get_activation
    >>> from ntkjam.kernels.expectations import CLOSED_FORMS, expectation_functions
    >>> expectation_functions("relu", Quadrature()) == CLOSED_FORMS["relu"]
    True
    >>> pair, diag = expectation_functions(get_activation("tanh"), Quadrature(n_angle=8))
    >>> pair.func.__name__, diag.func.__name__, diag.args[1].n_angle      # the polar rule
    ('quadrature_pair', 'quadrature_diag', 8)
    """
    if isinstance(kind, str):
        return CLOSED_FORMS[kind]
    pair = functools.partial(quadrature_pair, kind, order)
    diag = functools.partial(quadrature_diag, kind, order)
    return pair, diag


def side(diag: Callable, var) -> Side:
    """The :class:`Side` of variances ``var``: ``(var, p, √p)`` with ``p = E[φ(u)²]``.

    Parameters
    ----------
    diag : callable
        ``diag(a) -> (p, pdot)``, from :func:`expectation_functions`.
    var : array_like
        Variances ``a``, e.g. shape ``(B, 1)`` or ``(M,)``.

    Returns
    -------
    Side
        Each field of the shape of ``var``.

    Examples
    --------
    >>> import numpy as np
    >>> from ntkjam.kernels.expectations import CLOSED_FORMS, side
    >>> s = side(CLOSED_FORMS["relu"][1], np.array([0.0, 2.0, 8.0]))     # ReLU: p = a/2
    >>> np.asarray(s.p).tolist(), np.asarray(s.root_p).tolist()
    ([0.0, 1.0, 4.0], [0.0, 1.0, 2.0])
    """
    p, _ = diag(var)
    return Side(var, p, jnp.sqrt(p))


def next_layer(sigma_w2, sigma_b2, rows: Side, cols: Side, h, g, sdot, theta_prev):
    """Dense layer after the activation: the new ``(a, b, c, D)`` and the NTK.

    With ``p, q`` (per row / column), ``h = √(pq) − E[φ(u)φ(v)]``,
    ``g = √(pq) + E[φ(u)φ(v)]`` and ``sdot = E[φ'φ']``:

    * ``a' = σ_w² p + σ_b²``, ``b' = σ_w² q + σ_b²``,
    * ``c' = σ_w² (√(pq) − h) + σ_b²``,
    * ``D' = a'b' − c'² = σ_w⁴ h g + σ_b² σ_w² ((√p − √q)² + 2h)``,
      every term non-negative, so no cancellation (``√p − √q`` is exactly 0 on the
      diagonal and otherwise enters only through its square next to ``2h``),
    * ``Θ' = c' + σ_w² sdot Θ``.

    Parameters
    ----------
    sigma_w2, sigma_b2 : float or scalar array
        σ_w², σ_b².
    rows, cols : Side
        The two sides, e.g. shapes ``(B, 1)`` and ``(1, C)``, or ``(M,)`` each.
    h, g, sdot : array
        The transition's outputs (:func:`expectation_functions`), of the pairs' shape.
    theta_prev : array
        The NTK Θ of the previous layer, of the pairs' shape.

    Returns
    -------
    a, b, c, D, theta
        Shapes of ``rows.var``, ``cols.var`` and of the pairs.

    Examples
    --------
    Two orthogonal unit-variance inputs after a ReLU: ``p = ½``, ``E[φφ] = J(π/2)/(2π) =
    1/(2π)`` and ``sdot = ¼``.  A layer with σ_w² = 2, σ_b² = 0 gives ``a' = 1`` and
    ``c' = Θ' = 1/π`` (the previous Θ is 0):

    >>> import numpy as np
    >>> from ntkjam.kernels.expectations import Side, next_layer
    >>> s = Side(var=np.ones(1), p=np.full(1, 0.5), root_p=np.sqrt(np.full(1, 0.5)))
    >>> h, g, sdot = 0.5 - 1 / (2 * np.pi), 0.5 + 1 / (2 * np.pi), 0.25
    >>> a, b, c1, D1, theta = next_layer(2.0, 0.0, s, s, h, g, sdot, np.zeros(1))
    >>> np.allclose([a[0], c1[0], theta[0]], [1.0, 1 / np.pi, 1 / np.pi])
    True
    >>> np.allclose(D1, a * b - c1**2)                 # the determinant, free of cancellation
    True
    """
    c_new = sigma_w2 * (rows.root_p * cols.root_p - h) + sigma_b2
    spread = rows.root_p - cols.root_p
    D_new = sigma_w2 * sigma_w2 * (h * g) + sigma_b2 * sigma_w2 * (spread * spread + 2.0 * h)
    theta_new = sigma_w2 * (sdot * theta_prev) + c_new
    return (sigma_w2 * rows.p + sigma_b2, sigma_w2 * cols.p + sigma_b2, c_new, D_new,
            theta_new)
