"""Kernels: analytic infinite-width NNGP/NTK, classical kernels, activations.

Finite-P feature maps live in :mod:`ntkjam.kernels.features`.  The names below are
imported on first use (:func:`ntkjam.core.lazy.lazy_exports`): the analytic kernels and
the activations are JAX code, and a NumPy feature map (``ntkjam.kernels.features``, the
main job's every task) should not pay JAX's second of import for them.
"""

from ntkjam.core.lazy import lazy_exports

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
__getattr__, __dir__ = lazy_exports(__name__, _WHERE)
