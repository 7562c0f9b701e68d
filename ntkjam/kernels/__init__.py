"""Kernels: analytic infinite-width NNGP/NTK, classical kernels, activations.

Finite-P feature maps live in :mod:`ntkjam.kernels.features`.  The names below are
imported on first use: the analytic kernels and the activations are JAX code, and a
NumPy feature map (``ntkjam.kernels.features``, the main job's every task) should not
pay JAX's second of import for them.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

#: Each public name → the sub-module that defines it.
_WHERE = {
    "Activation": "activations",
    "get_activation": "activations",
    "Quadrature": "analytic",
    "kernel_vector_product": "analytic",
    "nngp": "analytic",
    "nngp_and_ntk": "analytic",
    "ntk": "analytic",
    "polynomial": "analytic",
    "rbf": "analytic",
}

__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        value = getattr(import_module(f"{__name__}.{_WHERE[name]}"), name)
        globals()[name] = value  # later look-ups skip this function
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
