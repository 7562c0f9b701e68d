"""Random-matrix predictions for the spectrum of ``K = J Jᵀ / P`` at φ = N/P.

* Marchenko–Pastur (here): ``J`` (N, P) with iid entries of variance σ².  The limiting
  eigenvalue law of ``J Jᵀ/P`` has edges ``σ² (1 ± √φ)²`` and, for φ > 1, an atom of
  mass ``1 - 1/φ`` at zero.
* Silverstein (generalised Marchenko–Pastur, :mod:`ntkjam.spectrum.silverstein`): the
  P columns of ``J`` are iid with population covariance ``C`` (N, N) given by its
  eigenvalues τ; the law comes from the Silverstein equation for the Stieltjes
  transform, solved on a grid of x.

Both return a :class:`~ntkjam.spectrum.spectral_law.SpectralLaw`: a continuous density
on a grid plus an atom at 0, with its cumulative distribution function.  This module
re-exports the Silverstein solver and :mod:`ntkjam.spectrum.spectral_law`, so every
name of the laws can be imported from here.
"""

from __future__ import annotations

import numpy as np
from scipy.integrate import cumulative_trapezoid

from ntkjam._validate import as_int, as_real
from ntkjam.spectrum.silverstein import (
    check_population,
    silverstein_atom,
    silverstein_law,
    silverstein_stieltjes,
)
from ntkjam.spectrum.spectral_law import SpectralLaw, check_phi, make_law

__all__ = [
    "SpectralLaw",
    "check_phi",
    "check_population",
    "make_law",
    "mp_atom",
    "mp_density",
    "mp_edges",
    "mp_law",
    "silverstein_atom",
    "silverstein_law",
    "silverstein_stieltjes",
]


def mp_edges(phi: float, sigma2: float = 1.0) -> tuple[float, float]:
    """Edges ``σ² (1 ∓ √φ)²`` of the Marchenko–Pastur bulk of ``J Jᵀ/P``.

    Parameters
    ----------
    phi : float
        φ = N/P > 0.
    sigma2 : float
        Variance of the entries of ``J`` (> 0).

    Examples
    --------
    >>> from ntkjam.spectrum import mp_edges
    >>> [float(e) for e in mp_edges(0.25)]  # (1 ∓ 1/2)²
    [0.25, 2.25]
    """
    phi = check_phi(phi)
    sigma2 = as_real("sigma2", sigma2, positive=True)
    root = np.sqrt(phi)
    return sigma2 * (1.0 - root) ** 2, sigma2 * (1.0 + root) ** 2


def mp_atom(phi: float) -> float:
    """Mass of the Marchenko–Pastur atom at zero: ``max(0, 1 - 1/φ)``.

    Examples
    --------
    >>> from ntkjam.spectrum import mp_atom
    >>> mp_atom(0.5), mp_atom(1.0), mp_atom(4.0)
    (0.0, 0.0, 0.75)
    """
    phi = check_phi(phi)
    return max(0.0, 1.0 - 1.0 / phi)


def mp_density(x: object, phi: float, sigma2: float = 1.0) -> np.ndarray:
    """Continuous part of the Marchenko–Pastur density of ``J Jᵀ/P``.

    ``ρ(x) = sqrt((b - x)(x - a)) / (2π σ² φ x)`` on ``[a, b]``, 0 elsewhere; it
    integrates to ``min(1, 1/φ)``.

    Parameters
    ----------
    x : array_like
        Points (any shape).
    phi, sigma2 : float
        As in :func:`mp_edges`.

    Returns
    -------
    numpy.ndarray, same shape as ``x``

    Examples
    --------
    >>> import numpy as np
    >>> from ntkjam.spectrum import mp_density
    >>> x = np.linspace(0.0, 4.0, 40001)
    >>> rho = mp_density(x, 0.5)
    >>> rho.shape, round(float(np.trapezoid(rho, x)), 3), float(rho[x > 3.0].max())  # edge 2.91
    ((40001,), 1.0, 0.0)
    """
    a, b = mp_edges(phi, sigma2)
    x = np.asarray(x, dtype=np.float64)
    inside = (x > a) & (x < b) & (x > 0)
    xs = np.where(inside, x, 1.0)
    val = np.sqrt(np.clip((b - xs) * (xs - a), 0.0, None)) / (2 * np.pi * sigma2 * phi * xs)
    return np.where(inside, val, 0.0)


def mp_law(phi: float, sigma2: float = 1.0, *, n_grid: int = 4001) -> SpectralLaw:
    """The Marchenko–Pastur law of ``J Jᵀ/P`` (atom included) on an edge-adapted grid.

    The grid is ``x = m - h cos θ`` with θ uniform on ``[0, π]`` (``m, h`` the centre
    and half-width of the bulk), in which the integrand of the CDF is smooth even at
    the square-root edges and at the hard edge of φ = 1.

    Parameters
    ----------
    phi, sigma2 : float
        As in :func:`mp_edges`.
    n_grid : int
        Number of grid points (>= 16).

    Returns
    -------
    SpectralLaw

    Examples
    --------
    >>> from ntkjam.spectrum import mp_law
    >>> law = mp_law(0.5)
    >>> law.atom, round(law.mean(), 6), bool(law.mass_error < 1e-6)
    (0.0, 1.0, True)
    """
    a, b = mp_edges(phi, sigma2)
    phi = float(phi)
    sigma2 = float(sigma2)
    n_grid = as_int("n_grid", n_grid, minimum=16)
    m, h = 0.5 * (a + b), 0.5 * (b - a)
    theta = np.linspace(0.0, np.pi, n_grid)
    x = m - h * np.cos(theta)
    x[0], x[-1] = a, b
    # dF/dθ = ρ(x) dx/dθ = h² sin²θ / (2π σ² φ x): finite everywhere, even for a = 0.
    with np.errstate(divide="ignore", invalid="ignore"):
        g = h**2 * np.sin(theta) ** 2 / (2 * np.pi * sigma2 * phi * x)
        dens = h * np.sin(theta) / (2 * np.pi * sigma2 * phi * x)
    if a == 0.0:
        g[0] = 2 * h / (2 * np.pi * sigma2 * phi)
        dens[0] = dens[1]
    cum = cumulative_trapezoid(g, theta, initial=0.0)
    atom = mp_atom(phi)
    total = float(cum[-1])
    return SpectralLaw(
        x=x,
        density=np.nan_to_num(dens),
        atom=atom,
        cumulative=cum * ((1.0 - atom) / total),
        mass_error=abs(atom + total - 1.0),
    )
