"""The spectral law a random-matrix prediction returns, and its aspect ratio φ = N/P.

A :class:`SpectralLaw` is a law on ``[0, ∞)``: an atom at zero plus a continuous density
on a grid, with its cumulative distribution function.  The Marchenko–Pastur laws
(:mod:`ntkjam.spectrum.random_matrix`) and the Silverstein laws
(:mod:`ntkjam.spectrum.silverstein`) are both of this form, and both take φ checked by
:func:`check_phi`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.integrate import cumulative_trapezoid

from ntkjam._validate import as_real
from ntkjam.core.reprs import SummaryRepr

__all__ = ["SpectralLaw", "check_phi", "make_law"]


@dataclass(frozen=True, repr=False)
class SpectralLaw(SummaryRepr):
    """A spectral law on ``[0, ∞)``: an atom at zero plus a density on a grid.

    Attributes
    ----------
    x : numpy.ndarray, shape (M,)
        Ascending grid (non-negative).
    density : numpy.ndarray, shape (M,)
        Continuous part per unit x (integrates to ``1 - atom``).
    atom : float
        Mass at exactly zero.
    cumulative : numpy.ndarray, shape (M,)
        ``∫_{x[0]}^{x[i]} density``, normalised so that its last value is ``1 - atom``.
    mass_error : float
        ``|atom + ∫ density - 1|`` before that normalisation: how well the grid
        resolves the law (a large value means part of the support was missed).

    Examples
    --------
    >>> from ntkjam.spectrum import mp_law
    >>> law = mp_law(2.0)  # φ = 2: half the mass at zero
    >>> law.atom, float(law.cdf(-1.0)), round(float(law.cdf(100.0)), 8), round(law.mean(), 4)
    (0.5, 0.0, 1.0, 1.0)
    >>> law.x.shape == law.density.shape == law.cumulative.shape
    True
    """

    x: np.ndarray
    density: np.ndarray
    atom: float
    cumulative: np.ndarray
    mass_error: float

    def cdf(self, x: object) -> np.ndarray:
        """Right-continuous CDF ``F(x) = atom·[x ≥ 0] + ∫_0^x density``, of ``x``'s shape.

        Examples
        --------
        >>> from ntkjam.spectrum.spectral_law import make_law
        >>> make_law([0.0, 1.0], [0.5, 0.5], 0.5).cdf([-1.0, 0.0, 0.5, 2.0]).tolist()
        [0.0, 0.5, 0.75, 1.0]
        """
        x = np.asarray(x, dtype=np.float64)
        cont = np.interp(x, self.x, self.cumulative, left=0.0, right=self.cumulative[-1])
        return np.where(x >= 0, self.atom, 0.0) + cont

    def pdf(self, x: object) -> np.ndarray:
        """Continuous density at ``x`` (linear interpolation, 0 off the grid), of its shape.

        Examples
        --------
        >>> from ntkjam.spectrum.spectral_law import make_law
        >>> make_law([0.0, 1.0], [0.5, 0.5], 0.5).pdf([-1.0, 0.5, 2.0]).tolist()
        [0.0, 0.5, 0.0]
        """
        x = np.asarray(x, dtype=np.float64)
        return np.interp(x, self.x, self.density, left=0.0, right=0.0)

    def mean(self) -> float:
        """First moment of the law (the atom contributes nothing).

        Examples
        --------
        >>> from ntkjam.spectrum.spectral_law import make_law
        >>> make_law([0.0, 1.0], [0.5, 0.5], 0.5).mean()  # half the mass uniform on [0, 1]
        0.25
        """
        return float(np.trapezoid(self.x * self.density, self.x))



def make_law(x: np.ndarray, density: np.ndarray, atom: float) -> SpectralLaw:
    """Build a :class:`SpectralLaw` from a grid and density, integrating by trapezoids.

    Parameters
    ----------
    x : numpy.ndarray, shape (M,)
        Ascending grid (non-negative).
    density : numpy.ndarray, shape (M,)
        Continuous part on the grid.
    atom : float
        Mass at exactly zero.

    Returns
    -------
    SpectralLaw
        The cumulative is rescaled to end at ``1 - atom``; ``mass_error`` records how
        far the unscaled total was from it.

    Examples
    --------
    >>> from ntkjam.spectrum.spectral_law import make_law
    >>> law = make_law([0.0, 1.0], [0.25, 0.25], 0.5)  # a quarter of the mass is missing
    >>> law.cumulative.tolist(), law.mass_error
    ([0.0, 0.5], 0.25)
    """
    cum = cumulative_trapezoid(density, x, initial=0.0)
    total = float(cum[-1])
    mass_error = abs(atom + total - 1.0)
    if total > 0:
        cum = cum * ((1.0 - atom) / total)
    return SpectralLaw(
        x=np.asarray(x, dtype=np.float64),
        density=np.asarray(density, dtype=np.float64),
        atom=float(atom),
        cumulative=cum,
        mass_error=float(mass_error),
    )

def check_phi(phi: object) -> float:
    """φ = N/P checked (a positive real, ``ValueError``/``TypeError`` otherwise) as a float.

    Examples
    --------
    >>> from ntkjam.spectrum.spectral_law import check_phi
    >>> check_phi(2)
    2.0
    >>> check_phi(-1.0)
    Traceback (most recent call last):
    ...
    ValueError: phi must be > 0, got -1.0
    """
    return as_real("phi", phi, positive=True)
