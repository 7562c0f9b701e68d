"""Elementwise activations: the function, its derivative and where it is not smooth.

Every activation is an :class:`Activation` with JAX-traceable ``fn`` and
``derivative`` (they accept NumPy or JAX arrays), so the same object drives the
analytic kernels (:mod:`ntkjam.kernels.analytic`) and the finite networks
(:mod:`ntkjam.networks`).  ``kinks`` lists the points where ``fn`` or its
derivative is not smooth; the quadrature path splits its integrals there, which
is what makes it spectrally accurate for ReLU-like activations.

Built-in names: ``relu``, ``erf``, ``tanh``, ``gelu`` (exact, erf-based),
``softplus``, ``identity``.  ``relu`` and ``erf`` (and ``identity``) have closed-form
Gaussian expectations; the others go through quadrature.  A user activation is
``Activation(name, fn, derivative)``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import jax.numpy as jnp
import jax.scipy.special as jsp

from ntkjam._validate import as_choice


@dataclass(frozen=True)
class Activation:
    """An elementwise activation.

    Parameters
    ----------
    name : str
        Identifier used in reports and specs.
    fn : callable
        ``fn(z) -> φ(z)``, elementwise and traceable by JAX.
    derivative : callable
        ``derivative(z) -> φ'(z)``, elementwise and traceable by JAX.  At a kink
        any one-sided value may be returned (a null set for Gaussian integrals).
    kinks : tuple of float
        Points where ``fn`` or ``derivative`` is not smooth (ReLU: ``(0.0,)``).

    Examples
    --------
    A user activation (the square, smooth everywhere):

    >>> import numpy as np
    >>> from ntkjam.kernels import Activation
    >>> square = Activation("square", lambda z: z**2, lambda z: 2 * z)
    >>> z = np.array([-1.0, 0.5])
    >>> np.asarray(square.fn(z)).tolist(), np.asarray(square.derivative(z)).tolist(), square.kinks
    ([1.0, 0.25], [-2.0, 1.0], ())
    """

    name: str
    fn: Callable
    derivative: Callable
    kinks: tuple[float, ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise TypeError(f"name must be a non-empty string, got {self.name!r}")
        for field in ("fn", "derivative"):
            if not callable(getattr(self, field)):
                raise TypeError(
                    f"{field} must be callable (an elementwise function), "
                    f"got {getattr(self, field)!r}"
                )


_SQRT_2 = 1.4142135623730951
_INV_SQRT_2PI = 0.3989422804014327


def _relu(z):
    return jnp.maximum(z, 0.0)


def _relu_derivative(z):
    return jnp.where(z > 0, 1.0, 0.0)


def _erf_derivative(z):
    return (2.0 / jnp.sqrt(jnp.pi)) * jnp.exp(-(z**2))


def _tanh_derivative(z):
    return 1.0 - jnp.tanh(z) ** 2


def _gelu(z):
    return 0.5 * z * (1.0 + jsp.erf(z / _SQRT_2))


def _gelu_derivative(z):
    return 0.5 * (1.0 + jsp.erf(z / _SQRT_2)) + z * _INV_SQRT_2PI * jnp.exp(-0.5 * z**2)


def _softplus(z):
    return jnp.logaddexp(z, 0.0)


def _softplus_derivative(z):
    return jsp.expit(z)


def _identity(z):
    return z


def _one(z):
    return jnp.ones_like(z)


BUILTIN: dict[str, Activation] = {
    "relu": Activation("relu", _relu, _relu_derivative, kinks=(0.0,)),
    "erf": Activation("erf", jsp.erf, _erf_derivative),
    "tanh": Activation("tanh", jnp.tanh, _tanh_derivative),
    "gelu": Activation("gelu", _gelu, _gelu_derivative),
    "softplus": Activation("softplus", _softplus, _softplus_derivative),
    "identity": Activation("identity", _identity, _one),
}

#: Activations whose Gaussian expectations are known in closed form.
CLOSED_FORM = frozenset({"relu", "erf", "identity"})


def get_activation(activation: str | Activation) -> Activation:
    """Resolve a built-in name or pass an :class:`Activation` through.

    Raises
    ------
    ValueError
        Unknown name (the message lists the allowed ones).
    TypeError
        Neither a string nor an :class:`Activation`.

    Parameters
    ----------
    activation : str or Activation
        ``relu``, ``erf``, ``tanh``, ``gelu``, ``softplus``, ``identity``, or an
        :class:`Activation` (returned unchanged).

    Returns
    -------
    Activation

    Examples
    --------
    >>> import numpy as np
    >>> from ntkjam.kernels import get_activation
    >>> relu = get_activation("relu")
    >>> relu.kinks, np.asarray(relu.fn(np.array([-2.0, 3.0]))).tolist()
    ((0.0,), [0.0, 3.0])
    >>> get_activation(relu) is relu
    True
    """
    if isinstance(activation, Activation):
        return activation
    if isinstance(activation, str):
        return BUILTIN[as_choice("activation", activation, tuple(BUILTIN))]
    raise TypeError(
        f"activation must be one of {sorted(BUILTIN)} or an ntkjam.kernels.Activation, "
        f"got {activation!r}"
    )
