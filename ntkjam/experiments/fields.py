"""Field types of the study parameter models that need the physics stages to check a value.

:mod:`ntkjam.core.params` holds the generic ones (integers, reals, choices); these check
a value with the function that will use it, and keep the value as given (so the
resolved params, hence the task keys, are the spec's own spelling):

* :data:`ActivationName` — a built-in activation name (or an
  :class:`ntkjam.kernels.Activation`), checked by :func:`ntkjam.kernels.get_activation`;
* :data:`Radius` — a positive number or ``"sqrt_d"``, checked by
  :func:`ntkjam.data.resolve_radius`.
"""

from __future__ import annotations

from typing import Any

from ntkjam.core.params import Checked
from ntkjam.data import resolve_radius

__all__ = ["ActivationName", "Radius"]


def _activation(name: str, value: object) -> object:
    from ntkjam.kernels import get_activation  # JAX: not for a command-line's start

    get_activation(value)
    return value


def _radius(name: str, value: object) -> object:
    resolve_radius(value, 2)  # whether the radius is valid does not depend on d
    return value


ActivationName = Checked(Any, _activation)
Radius = Checked(Any, _radius)
