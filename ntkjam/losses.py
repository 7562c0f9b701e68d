"""Per-sample losses of the outputs f and their derivatives with respect to f.

Every loss is a :class:`Loss` (from :func:`get_loss`) with three pure, elementwise
methods ``value(f, y)``, ``grad(f, y)`` and ``hessian(f, y)``: arrays of shape
``(N,)`` in, ``(N,)`` out, the *per-sample* ``ℓ(f_i, y_i)``, ``∂ℓ/∂f_i`` and
``∂²ℓ/∂f_i²`` (the Hessian of a sum of per-sample losses is diagonal, so only its
diagonal is returned).  They accept NumPy arrays (and return NumPy, fast on the
CPU) or JAX arrays and tracers (and return JAX: they can be jitted, vmapped and
differentiated).  The caller reduces; throughout ntkjam the training loss is

    L(f) = (1/N) Σ_i ℓ(f_i, y_i),   ∇_f L = grad(f, y) / N,   ∇²_f L = diag(hessian(f, y)) / N.

Margin losses are functions of the margin variable ``Δ_i = κ − y_i f_i`` (κ = ``margin``,
any real number; ``Δ_i > 0`` is an unsatisfied constraint):

================= ========================== ==================================
name              ℓ as a function of Δ       notes
================= ========================== ==================================
``mse``           ½ (f − y)²                 labels any real; κ only enters
                                             the diagnostics (margins, N_Δ)
``hinge``         max(0, Δ)                  kink at Δ = 0
``quadratic_hinge`` ½ max(0, Δ)²             kink of ℓ'' at Δ = 0
``logistic``      log(1 + e^Δ)               = cross-entropy log(1+e^{−yf}) at κ = 0
``soft_hinge``    log(1 + e^{βΔ}) / β        → hinge as β → ∞; β = 1 is logistic
``sigmoid``       1 / (1 + e^{−βΔ})          smooth 0-1 error, **non-convex**
================= ========================== ==================================

Conventions at the non-smooth points (Δ = 0 exactly)
-----------------------------------------------------
* ``hinge``: the subdifferential of ℓ at Δ = 0 is ``{−c y : c ∈ [0, 1]}``; ``grad``
  returns its element of smallest norm, **0**.  The generalised Hessian is 0
  everywhere (a Dirac mass at the kink is not representable); points sitting on
  the kink are handled as an *active set* by :mod:`ntkjam.fixed_points`.
* ``quadratic_hinge``: ℓ' = −y max(0, Δ) is continuous (0 at Δ = 0); ℓ'' jumps from
  0 to 1, its generalised (Clarke) Hessian at Δ = 0 is the interval [0, 1] and
  ``hessian`` returns the **lower end, 0** (``hessian = 1[Δ > 0]``).  See
  :meth:`Loss.hessian_bounds` for both ends.

Diagnostics: :func:`margins` (Δ), :func:`n_unsatisfied` (N_Δ = #{Δ_i > tol}, with an
explicit tolerance) and :func:`n_errors` (#{y_i f_i ≤ 0}).
"""

from __future__ import annotations

from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np

from ntkjam._validate import as_choice, as_float_array, as_labels, as_real

LOSS_NAMES = ("mse", "hinge", "quadratic_hinge", "logistic", "soft_hinge", "sigmoid")
_CONVEX = {"mse", "hinge", "quadratic_hinge", "logistic", "soft_hinge"}
_KINKED = {"hinge", "quadratic_hinge"}


def _xp(*arrays: object):
    """The array namespace of the inputs: JAX if any is a JAX array (or tracer)."""
    return jnp if any(isinstance(a, jax.Array) for a in arrays) else np


def _sigmoid(xp, z):
    # exp(-|z|) never overflows, so both branches of the select are finite (safe for
    # JAX gradients through `where`).
    e = xp.exp(-xp.abs(z))
    return xp.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def _softplus(xp, z):
    return xp.maximum(z, 0.0) + xp.log1p(xp.exp(-xp.abs(z)))


@dataclass(frozen=True)
class Loss:
    """A per-sample loss ℓ(f, y) with its first two derivatives in f.

    Build it with :func:`get_loss`.  Instances are immutable and hashable, so they
    can be closed over or passed as static arguments to ``jax.jit``.

    Attributes
    ----------
    name : str
        One of :data:`LOSS_NAMES`.
    margin : float
        κ in ``Δ = κ − y f``.
    beta : float
        Sharpness β of ``soft_hinge`` and ``sigmoid`` (ignored by the others).

    Examples
    --------
    The hinge at κ = 1: a point with y f = 0.25 is unsatisfied (Δ = 0.75), one with
    y f = 2 is not:

    >>> import numpy as np
    >>> from ntkjam.losses import get_loss
    >>> loss = get_loss("hinge", margin=1.0)
    >>> f, y = np.array([0.25, 2.0]), np.array([1.0, 1.0])
    >>> loss.value(f, y).tolist(), loss.grad(f, y).tolist(), loss.hessian(f, y).shape
    ([0.75, 0.0], [-1.0, 0.0], (2,))
    >>> loss.convex, loss.kinked, round(float(loss.mean(f, y)), 6)
    (True, True, 0.375)
    """

    name: str
    margin: float = 1.0
    beta: float = 1.0

    def __post_init__(self) -> None:
        as_choice("loss", self.name, LOSS_NAMES)
        as_real("margin", self.margin)
        as_real("beta", self.beta, positive=True)

    @property
    def convex(self) -> bool:
        """Whether ℓ is convex in f (all built-in losses except ``sigmoid``).

        Examples
        --------
        >>> from ntkjam.losses import LOSS_NAMES, get_loss
        >>> [name for name in LOSS_NAMES if not get_loss(name).convex]
        ['sigmoid']
        """
        return self.name in _CONVEX

    @property
    def kinked(self) -> bool:
        """Whether ℓ or ℓ' has a kink at Δ = 0 (``hinge``, ``quadratic_hinge``).

        Examples
        --------
        >>> from ntkjam.losses import LOSS_NAMES, get_loss
        >>> [name for name in LOSS_NAMES if get_loss(name).kinked]
        ['hinge', 'quadratic_hinge']
        """
        return self.name in _KINKED

    @property
    def needs_pm1_labels(self) -> bool:
        """Margin losses need labels in {−1, +1}; ``mse`` accepts any real labels.

        Examples
        --------
        >>> from ntkjam.losses import get_loss
        >>> get_loss("mse").needs_pm1_labels, get_loss("logistic").needs_pm1_labels
        (False, True)
        """
        return self.name != "mse"

    def check_labels(self, y: object, *, n: int | None = None) -> np.ndarray:
        """Validate labels for this loss (±1 for margin losses, finite reals for MSE).

        Parameters
        ----------
        y : array_like, shape (N,)
            The labels.
        n : int, optional
            The number of points N they must match.

        Returns
        -------
        numpy.ndarray, shape (N,)
            The labels as float64.

        Examples
        --------
        >>> from ntkjam.losses import get_loss
        >>> get_loss("mse").check_labels([0.5, -2.0]).tolist()
        [0.5, -2.0]
        >>> get_loss("hinge").check_labels([0.5, -2.0])
        Traceback (most recent call last):
        ...
        ValueError: y must contain only -1 and +1, got value 0.5
        """
        if self.needs_pm1_labels:
            return as_labels("y", y, n=n)
        y = as_float_array("y", y, ndim=1)
        if n is not None and y.shape[0] != n:
            raise ValueError(f"y must have length {n} (one label per point), got {y.shape[0]}")
        return y

    def value(self, f, y):
        """Per-sample loss ℓ(f_i, y_i), shape (N,).

        Parameters
        ----------
        f, y : array_like, shape (N,)
            Outputs and labels (NumPy, or JAX arrays and tracers).

        Returns
        -------
        array, shape (N,)
            NumPy for NumPy input, JAX for JAX input.

        Examples
        --------
        >>> import numpy as np
        >>> from ntkjam.losses import get_loss
        >>> f, y = np.array([0.0, 3.0]), np.array([1.0, 1.0])      # Δ = 1, −2
        >>> get_loss("quadratic_hinge").value(f, y).tolist(), get_loss("mse").value(f, y).tolist()
        ([0.5, 0.0], [0.5, 2.0])
        """
        xp = _xp(f, y)
        if self.name == "mse":
            return 0.5 * (f - y) ** 2
        d = self.margin - y * f
        if self.name == "hinge":
            return xp.maximum(d, 0.0)
        if self.name == "quadratic_hinge":
            return 0.5 * xp.maximum(d, 0.0) ** 2
        if self.name == "logistic":
            return _softplus(xp, d)
        if self.name == "soft_hinge":
            return _softplus(xp, self.beta * d) / self.beta
        return _sigmoid(xp, self.beta * d)

    def grad(self, f, y):
        """Per-sample derivative ∂ℓ/∂f_i, shape (N,) (0 at the hinge kink).

        Parameters
        ----------
        f, y : array_like, shape (N,)
            Outputs and labels (NumPy, or JAX arrays and tracers).

        Returns
        -------
        array, shape (N,)

        Examples
        --------
        The derivative matches a finite difference of :meth:`value`; at the kink it is 0:

        >>> import numpy as np
        >>> from ntkjam.losses import get_loss
        >>> loss, f, y = get_loss("logistic"), np.array([0.3, -1.2]), np.array([1.0, -1.0])
        >>> fd = (loss.value(f + 1e-6, y) - loss.value(f - 1e-6, y)) / 2e-6
        >>> bool(np.allclose(loss.grad(f, y), fd, atol=1e-8))
        True
        >>> float(get_loss("hinge").grad(np.array([1.0]), np.array([1.0]))[0])
        0.0
        """
        xp = _xp(f, y)
        if self.name == "mse":
            return f - y
        d = self.margin - y * f
        if self.name == "hinge":
            return xp.where(d > 0, -y, 0.0 * y)
        if self.name == "quadratic_hinge":
            return -y * xp.maximum(d, 0.0)
        if self.name == "logistic":
            return -y * _sigmoid(xp, d)
        if self.name == "soft_hinge":
            return -y * _sigmoid(xp, self.beta * d)
        s = _sigmoid(xp, self.beta * d)
        return -y * self.beta * s * (1.0 - s)

    def hessian(self, f, y):
        """Per-sample second derivative ∂²ℓ/∂f_i², shape (N,).

        Labels are ±1 for margin losses (y² = 1).  At Δ = 0 the quadratic hinge
        returns 0, the lower end of its generalised Hessian [0, 1].

        Parameters
        ----------
        f, y : array_like, shape (N,)
            Outputs and labels (NumPy, or JAX arrays and tracers).

        Returns
        -------
        array, shape (N,)

        Examples
        --------
        >>> import numpy as np
        >>> from ntkjam.losses import get_loss
        >>> f, y = np.array([0.0, 1.0, 2.0]), np.ones(3)         # Δ = 1, 0, −1
        >>> [get_loss(name).hessian(f, y).tolist() for name in ("quadratic_hinge", "mse")]
        [[1.0, 0.0, 0.0], [1.0, 1.0, 1.0]]
        """
        xp = _xp(f, y)
        if self.name == "mse":
            return xp.ones_like(f * y)
        d = self.margin - y * f
        if self.name == "hinge":
            return xp.zeros_like(d)
        if self.name == "quadratic_hinge":
            return xp.where(d > 0, 1.0, 0.0)
        if self.name == "logistic":
            s = _sigmoid(xp, d)
            return s * (1.0 - s)
        if self.name == "soft_hinge":
            s = _sigmoid(xp, self.beta * d)
            return self.beta * s * (1.0 - s)
        s = _sigmoid(xp, self.beta * d)
        return self.beta**2 * s * (1.0 - s) * (1.0 - 2.0 * s)

    def hessian_bounds(self, f, y, *, tol: float = 0.0):
        """Lower and upper ends of the generalised Hessian, each shape (N,).

        They differ only for ``quadratic_hinge`` at points with ``|Δ_i| <= tol``
        (the kink), where the interval is [0, 1].  For smooth losses both equal
        :meth:`hessian`.

        Parameters
        ----------
        f, y : array_like, shape (N,)
            Outputs and labels (NumPy, or JAX arrays and tracers).
        tol : float
            Distance |Δ_i| from the kink within which a point counts as on it.

        Returns
        -------
        (lower, upper) : tuple of arrays, each shape (N,)

        Examples
        --------
        >>> import numpy as np
        >>> from ntkjam.losses import get_loss
        >>> f, y = np.array([0.0, 1.0, 2.0]), np.ones(3)         # Δ = 1, 0, −1
        >>> [b.tolist() for b in get_loss("quadratic_hinge").hessian_bounds(f, y)]
        [[1.0, 0.0, 0.0], [1.0, 1.0, 0.0]]
        """
        lower = self.hessian(f, y)
        if self.name != "quadratic_hinge":
            return lower, lower
        xp = _xp(f, y)
        on_kink = xp.abs(self.margin - y * f) <= tol
        return lower, xp.where(on_kink, 1.0, lower)

    def mean(self, f, y):
        """The training loss L = (1/N) Σ_i ℓ(f_i, y_i) (a scalar).

        Parameters
        ----------
        f, y : array_like, shape (N,)
            Outputs and labels (NumPy, or JAX arrays and tracers).

        Returns
        -------
        float or jax.Array
            A NumPy scalar for NumPy input, a JAX scalar for JAX input.

        Examples
        --------
        >>> import numpy as np
        >>> from ntkjam.losses import get_loss
        >>> float(get_loss("hinge").mean(np.array([0.0, 0.5, 2.0]), np.ones(3)))   # (1 + ½ + 0)/3
        0.5
        """
        return _xp(f, y).mean(self.value(f, y))


def get_loss(name: str | Loss, *, margin: float = 1.0, beta: float = 10.0) -> Loss:
    """Build a loss by name.

    Parameters
    ----------
    name : str or Loss
        One of :data:`LOSS_NAMES`; a :class:`Loss` is returned unchanged.
    margin : float
        κ, any real number (negative margins are allowed; ``mse`` uses it only for
        the diagnostics).
    beta : float
        Sharpness β > 0 of ``soft_hinge`` and ``sigmoid``; ignored by the others
        (stored as 1.0 so that equal losses compare equal).

    Returns
    -------
    Loss

    Examples
    --------
    >>> import numpy as np
    >>> from ntkjam.losses import get_loss
    >>> get_loss("logistic").beta, get_loss("sigmoid", beta=4.0).beta, get_loss("sigmoid").convex
    (1.0, 4.0, False)
    >>> loss = get_loss("quadratic_hinge", margin=0.5)
    >>> float(loss.value(np.array([0.0]), np.array([1.0]))[0])   # ½ (0.5 − 0)²
    0.125
    """
    if isinstance(name, Loss):
        return name
    as_choice("loss", name, LOSS_NAMES)
    margin = as_real("margin", margin)
    beta = as_real("beta", beta, positive=True)
    if name not in ("soft_hinge", "sigmoid"):
        beta = 1.0
    return Loss(name=name, margin=margin, beta=beta)


def margins(f, y, margin: float = 1.0):
    """Margin variables ``Δ_i = κ − y_i f_i``, shape (N,); Δ_i > 0 is unsatisfied.

    Parameters
    ----------
    f, y : array_like, shape (N,)
        Outputs and labels (NumPy or JAX).
    margin : float
        κ.

    Returns
    -------
    array, shape (N,)

    Examples
    --------
    >>> import numpy as np
    >>> from ntkjam.losses import margins
    >>> margins(np.array([0.5, -1.0, 2.0]), np.array([1.0, -1.0, -1.0])).tolist()
    [0.5, 0.0, 3.0]
    """
    return margin - y * f


def n_unsatisfied(f, y, margin: float, tol: float):
    """N_Δ = #{i : Δ_i > tol}, the number of unsatisfied constraints.

    Parameters
    ----------
    f, y : array_like, shape (N,)
    margin : float
        κ.
    tol : float
        Explicit tolerance (≥ 0): a constraint counts as unsatisfied only if its
        margin variable exceeds ``tol``.  A Python ``int`` for NumPy input, a JAX
        integer scalar for JAX input.

    Returns
    -------
    int or jax.Array
        The count.

    Examples
    --------
    >>> import numpy as np
    >>> from ntkjam.losses import n_unsatisfied
    >>> f, y = np.array([0.5, 1.0, 3.0]), np.ones(3)      # Δ = 0.5, 0, −2
    >>> n_unsatisfied(f, y, margin=1.0, tol=0.0), n_unsatisfied(f, y, margin=1.0, tol=0.6)
    (1, 0)
    """
    xp = _xp(f, y)
    count = xp.sum(margins(f, y, margin) > tol)
    return int(count) if xp is np else count


def n_errors(f, y):
    """Number of classification errors #{i : y_i f_i ≤ 0} (f = 0 counts as an error).

    Parameters
    ----------
    f, y : array_like, shape (N,)
        Outputs and labels (NumPy or JAX).

    Returns
    -------
    int or jax.Array
        A Python ``int`` for NumPy input, a JAX integer scalar for JAX input.

    Examples
    --------
    >>> import numpy as np
    >>> from ntkjam.losses import n_errors
    >>> n_errors(np.array([0.3, 0.0, -2.0]), np.array([1.0, 1.0, 1.0]))
    2
    """
    xp = _xp(f, y)
    count = xp.sum(y * f <= 0)
    return int(count) if xp is np else count
