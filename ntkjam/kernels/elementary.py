"""Elementary functions for the kernel recursions, in ``jax.numpy`` and vectorisable.

XLA's ``atan2`` on the CPU is a scalar library call (about 30 ns per entry here, as is
NumPy's without AVX-512), and it dominates a closed-form kernel: one per pair and layer.
:func:`arctan2` evaluates it as one division and a polynomial, which XLA fuses and
vectorises with the rest of a layer (a few ns), to within two units in the last
place of the library function.  Its derivative is the exact one (a ``custom_jvp``), so
``jax.grad`` through the kernels sees ``∂θ/∂y = x/(x² + y²)``, not the derivative of a
polynomial.

:func:`relu_pi_minus_j` is ``π − J(θ)`` for the arc-cosine kernel
``J(θ) = sin θ + (π − θ) cos θ``, with full relative accuracy at small angles (where
the difference of the two nearly equal terms would lose it), and :func:`safe_sqrt` /
:func:`safe_reciprocal` are ``√x`` and ``1/x`` whose derivatives stay finite where
the value is pinned (``√0``, ``1/0 → 0``), so that gradients through the diagonal of a
Gram are not NaN.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp

__all__ = ["arctan2", "relu_pi_minus_j", "safe_reciprocal", "safe_sqrt"]

_PI = math.pi

#: Breakpoints of the argument reduction: ``t = min/max ∈ [0, 1]`` is reduced to
#: ``|t'| ≤ tan(π/16)`` by ``atan t = atan c + atan((t − c)/(1 + t c))``, c ∈ {0, tan(π/8), 1}.
_T1 = math.tan(_PI / 16)
_T3 = math.tan(3 * _PI / 16)
_C1 = math.tan(_PI / 8)  # rounded: the offset below is the arctangent of this double
_A1 = 0.39269908169872414  # atan(_C1) to 1e-19, rounded (computed in extended precision)
_A2 = _PI / 4

#: Taylor coefficients of ``R(z) = (atan(√z)/√z − 1)/z = −1/3 + z/5 − z²/7 + …``: for
#: ``z ≤ tan²(π/16) ≈ 0.0396`` eleven terms leave a remainder below 1e-18 of ``atan``.
_ATAN_COEFFS = tuple((-1.0) ** (k + 1) / (2 * k + 3) for k in range(11))

#: ``π − J(θ) = π (1 − cos θ) + (θ cos θ − sin θ)`` term by term: the coefficients of
#: ``θ^{2k}`` (``π (−1)^{k+1}/(2k)!``) and ``θ^{2k+1}`` (``(−1)^k 2k/(2k+1)!``), k = 1..6;
#: for θ < 0.25 the first omitted terms are below 1e-18 relative.
_EVEN = tuple((-1.0) ** (k + 1) * _PI / math.factorial(2 * k) for k in range(1, 7))
_ODD = tuple((-1.0) ** k * 2 * k / math.factorial(2 * k + 1) for k in range(1, 7))

#: Angles below this use the series of :func:`relu_pi_minus_j`.
SMALL_ANGLE = 0.25


def _horner(coeffs, z):
    out = coeffs[-1]
    for c in reversed(coeffs[:-1]):
        out = out * z + c
    return out


@jax.custom_jvp
def arctan2(y, x):
    """``atan2(y, x)`` in ``[−π, π]``, vectorisable (a division and a polynomial).

    Parameters
    ----------
    y, x : array_like
        Broadcastable finite arrays.

    Returns
    -------
    jax.Array
        The angle, within 2 ulp of ``numpy.arctan2`` (``atan2(±0, −0)`` is ``±0``,
        not ``±π``: the kernels never reach it with a nonzero weight).

    Examples
    --------
    >>> import jax
    >>> import numpy as np
    >>> from ntkjam.kernels.elementary import arctan2
    >>> y, x = np.array([1.0, -1.0, 0.5, 0.0]), np.array([1.0, -2.0, -3.0, 1.0])
    >>> a = np.asarray(jax.jit(arctan2)(y, x))          # traced, as in the kernel blocks
    >>> a.shape, np.allclose(a, np.arctan2(y, x), rtol=1e-14, atol=0)
    ((4,), True)
    """
    ay, ax = jnp.abs(y), jnp.abs(x)
    swap = ay > ax
    num = jnp.where(swap, ax, ay)
    den = jnp.where(swap, ay, ax)
    far = num > _T3 * den
    mid = num > _T1 * den
    c = jnp.where(far, 1.0, jnp.where(mid, _C1, 0.0))
    offset = jnp.where(far, _A2, jnp.where(mid, _A1, 0.0))
    bottom = den + c * num
    t = (num - c * den) / jnp.where(bottom > 0, bottom, 1.0)
    z = t * t
    angle = offset + (t + t * z * _horner(_ATAN_COEFFS, z))
    angle = jnp.where(swap, 0.5 * _PI - angle, angle)
    angle = jnp.where(x < 0, _PI - angle, angle)
    return jnp.where(y < 0, -angle, angle)


@arctan2.defjvp
def _arctan2_jvp(primals, tangents):
    y, x = primals
    dy, dx = tangents
    scale = jnp.maximum(jnp.abs(x), jnp.abs(y))
    safe = jnp.where(scale > 0, scale, 1.0)
    xs, ys = x / safe, y / safe
    r2 = xs * xs + ys * ys
    slope = jnp.where(scale > 0, (xs * dy - ys * dx) / (safe * jnp.where(scale > 0, r2, 1.0)),
                      0.0)
    return arctan2(y, x), slope


def relu_pi_minus_j(theta, sin_t, cos_t):
    """``π − J(θ)``, ``J = sin θ + (π − θ) cos θ``, accurate relative to itself.

    Parameters
    ----------
    theta, sin_t, cos_t : array_like
        The angle in ``[0, π]`` and its sine and cosine (broadcastable).

    Returns
    -------
    jax.Array
        ``π − J(θ) ≥ 0``; below :data:`SMALL_ANGLE` from its Taylor series in θ
        (``π θ²/2 − θ³/3 + …``, no cancellation), elsewhere from ``sin_t``, ``cos_t``.

    Examples
    --------
    At θ = π/2, J = 1; at small θ, π − J ≈ π θ²/2:

    >>> import numpy as np
    >>> from ntkjam.kernels.elementary import relu_pi_minus_j
    >>> t = np.array([np.pi / 2, 1e-4])
    >>> v = np.asarray(relu_pi_minus_j(t, np.sin(t), np.cos(t)))
    >>> np.allclose(v, [np.pi - 1, np.pi * 1e-8 / 2], rtol=1e-4, atol=0)
    True
    """
    t2 = theta * theta
    series = t2 * (_horner(_EVEN, t2) + theta * _horner(_ODD, t2))
    direct = _PI - ((_PI - theta) * cos_t + sin_t)
    return jnp.where(theta < SMALL_ANGLE, series, direct)


def safe_sqrt(x):
    """``√x`` for ``x ≥ 0`` with derivative 0 (not inf) where ``x = 0``.

    Parameters
    ----------
    x : array_like
        Non-negative values, any shape.

    Returns
    -------
    jax.Array
        Same shape as ``x``.

    Examples
    --------
    >>> import jax
    >>> import numpy as np
    >>> from ntkjam.kernels.elementary import safe_sqrt
    >>> np.asarray(safe_sqrt(np.array([0.0, 4.0]))).tolist(), float(jax.grad(safe_sqrt)(0.0))
    ([0.0, 2.0], 0.0)
    """
    positive = x > 0
    return jnp.where(positive, jnp.sqrt(jnp.where(positive, x, 1.0)), 0.0)


def safe_reciprocal(x):
    """``1/x`` for ``x > 0`` and 0 where ``x = 0`` (a zero-variance input), derivative finite.

    Parameters
    ----------
    x : array_like
        Non-negative values, any shape.

    Returns
    -------
    jax.Array
        Same shape as ``x``.

    Examples
    --------
    >>> import jax
    >>> import numpy as np
    >>> from ntkjam.kernels.elementary import safe_reciprocal
    >>> np.asarray(safe_reciprocal(np.array([0.0, 4.0]))).tolist()
    [0.0, 0.25]
    >>> float(jax.grad(safe_reciprocal)(0.0))
    0.0
    """
    positive = x > 0
    return jnp.where(positive, 1.0 / jnp.where(positive, x, 1.0), 0.0)
