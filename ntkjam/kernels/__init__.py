"""Kernels: analytic infinite-width NNGP/NTK, classical kernels, activations.

Finite-P feature maps live in :mod:`ntkjam.kernels.features`.
"""

from ntkjam.kernels.activations import Activation, get_activation
from ntkjam.kernels.analytic import (
    Quadrature,
    kernel_vector_product,
    nngp,
    nngp_and_ntk,
    ntk,
    polynomial,
    rbf,
)

__all__ = [
    "Activation",
    "Quadrature",
    "get_activation",
    "kernel_vector_product",
    "nngp",
    "nngp_and_ntk",
    "ntk",
    "polynomial",
    "rbf",
]
