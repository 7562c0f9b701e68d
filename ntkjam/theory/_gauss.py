"""Closed forms of the Gaussian integrals shared by the theory modules.

Dt is the standard Gaussian measure, Φ = ``ndtr`` its CDF and φ its density.
All functions take floats or arrays (float64) and are exact up to rounding.
"""

from __future__ import annotations

import numpy as np
from scipy.special import ndtr

_INV_SQRT_2PI = 1.0 / np.sqrt(2.0 * np.pi)


def gauss_pdf(a):
    """The standard Gaussian density φ(a)."""
    return _INV_SQRT_2PI * np.exp(-0.5 * a * a)


def hinge2_gauss(a):
    """``E_Z[(Z − a)_+²] = (1 + a²) Φ(−a) − a φ(a)`` for Z ~ N(0, 1)."""
    return (1.0 + a * a) * ndtr(-a) - a * gauss_pdf(a)


def hinge1_gauss(a):
    """``E_Z[(Z − a)_+] = φ(a) − a Φ(−a)``."""
    return gauss_pdf(a) - a * ndtr(-a)


def below_moment0(a):
    """``∫_{−∞}^{a} Dt = Φ(a)``."""
    return ndtr(a)


def below_moment1(a):
    """``∫_{−∞}^{a} Dt (a − t) = a Φ(a) + φ(a)``."""
    return a * ndtr(a) + gauss_pdf(a)


def below_moment2(a):
    """``∫_{−∞}^{a} Dt (a − t)² = (1 + a²) Φ(a) + a φ(a)`` (= ``E[(a − Z)_+²]``)."""
    return (1.0 + a * a) * ndtr(a) + a * gauss_pdf(a)
