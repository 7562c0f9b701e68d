"""Kernels: analytic infinite-width NNGP/NTK, classical kernels, activations.

Finite-P feature maps live in :mod:`ntkjam.kernels.features`.
"""

from ntkjam.kernels.activations import Activation, get_activation
from ntkjam.kernels.analytic import Quadrature, nngp, nngp_and_ntk, ntk, polynomial, rbf

__all__ = [
    "Activation",
    "Quadrature",
    "get_activation",
    "nngp",
    "nngp_and_ntk",
    "ntk",
    "polynomial",
    "rbf",
]
