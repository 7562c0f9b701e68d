"""Distances between measured eigenvalues and a predicted law; the panels of the figures.

A *law* is anything with ``cdf(x)`` (right-continuous, atom included) and ``atom``
(the mass at exactly zero): :class:`~ntkjam.spectrum.random_matrix.SpectralLaw`,
:class:`~ntkjam.spectrum.slq.SLQDensity`.  Measured eigenvalues within ``zero_tol``
of zero count as zero modes, so the atom is compared as an atom rather than smeared
by rounding.

A :class:`Panel` describes one panel of :func:`ntkjam.figures.spectrum.plot_spectra`
(the figure itself is drawn by the figures stage; ``plot_spectra`` here is its
deprecated alias).
"""

from __future__ import annotations

import importlib
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from ntkjam._validate import as_float_array, as_real
from ntkjam.core.reprs import SummaryRepr
from ntkjam.spectrum.measured import default_zero_tolerance


class Law(Protocol):
    """A spectral law: a right-continuous CDF and an atom at zero."""

    atom: float

    def cdf(self, x: object) -> np.ndarray: ...


def snap_zeros(eigenvalues: object, zero_tol: float | None = None) -> np.ndarray:
    """Sorted eigenvalues with ``|λ| <= zero_tol`` set to exactly 0.

    Parameters
    ----------
    eigenvalues : array_like, shape (N,)
    zero_tol : float, optional
        Default ``N · eps · λ_max`` (:func:`default_zero_tolerance`).

    Returns
    -------
    numpy.ndarray, shape (N,)
        Sorted, float64, zero modes exactly 0.

    Examples
    --------
    >>> from ntkjam.spectrum.compare import snap_zeros
    >>> snap_zeros([2.0, 1e-17, -1e-16, 1.0]).tolist()  # rounding noise → zero modes
    [0.0, 0.0, 1.0, 2.0]
    >>> snap_zeros([2.0, 0.01, 1.0], zero_tol=0.1).tolist()
    [0.0, 1.0, 2.0]
    """
    lam = np.sort(as_float_array("eigenvalues", eigenvalues, ndim=1, copy=True))
    if lam.size == 0:
        raise ValueError("eigenvalues must contain at least one value, got an empty array")
    if zero_tol is None:
        tol = default_zero_tolerance(lam.size, float(max(np.max(np.abs(lam)), 0.0)))
    else:
        tol = as_real("zero_tol", zero_tol, nonnegative=True)
    lam[np.abs(lam) <= tol] = 0.0
    return lam


def _empirical_steps(lam: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct values ``u`` with the empirical CDF just before and at each of them."""
    u, counts = np.unique(lam, return_counts=True)
    after = np.cumsum(counts) / lam.size
    before = after - counts / lam.size
    return u, before, after


def ks_distance(eigenvalues: object, law: Law, *, zero_tol: float | None = None) -> float:
    """Kolmogorov–Smirnov distance ``sup_x |F_N(x) - F(x)|`` to a law with an atom.

    Both CDFs are compared just before and at every distinct eigenvalue, which
    finds the supremum exactly for a law whose only jump is the atom at zero.

    Parameters
    ----------
    eigenvalues : array_like, shape (N,)
        Measured eigenvalues.
    law : Law
        Prediction (``cdf`` and ``atom``).
    zero_tol : float, optional
        Eigenvalues with ``|λ| <= zero_tol`` are zero modes (default ``N eps λ_max``).

    Returns
    -------
    float
        In [0, 1].

    Examples
    --------
    Zero modes only, against Marchenko–Pastur at φ = N/P = 2 (half its mass at zero):
    the CDFs differ by 1/2 at λ = 0.  Then the spectrum of K = J Jᵀ for Gaussian
    features, which the law predicts.

    >>> import numpy as np
    >>> from ntkjam.spectrum import ks_distance, mp_law
    >>> law = mp_law(2.0)
    >>> ks_distance(np.zeros(4), law)
    0.5
    >>> J = np.random.default_rng(0).standard_normal((200, 100)) / np.sqrt(100)
    >>> ks_distance(np.linalg.eigvalsh(J @ J.T), law) < 0.03  # N = 200, P = 100
    True
    """
    lam = snap_zeros(eigenvalues, zero_tol)
    u, before, after = _empirical_steps(lam)
    F = np.asarray(law.cdf(u), dtype=np.float64)
    F_before = F - np.where(u == 0.0, float(law.atom), 0.0)
    return float(max(np.max(np.abs(after - F)), np.max(np.abs(before - F_before))))


def ks_two_sample(a: object, b: object, *, zero_tol: float | None = None) -> float:
    """Two-sample Kolmogorov–Smirnov distance between two sets of eigenvalues.

    Zero modes of each set are snapped to 0 first (see :func:`snap_zeros`).

    Parameters
    ----------
    a : array_like, shape (N,)
    b : array_like, shape (M,)
    zero_tol : float, optional
        Zero-mode tolerance of both sets (default: each its own ``N eps λ_max``).

    Returns
    -------
    float
        ``sup_x |F_a(x) − F_b(x)|``, in [0, 1].

    Examples
    --------
    >>> from ntkjam.spectrum import ks_two_sample
    >>> round(ks_two_sample([1.0, 2.0, 3.0], [2.0, 3.0, 4.0]), 12)  # shifted by one of three
    0.333333333333
    >>> ks_two_sample([0.0, 1.0], [1e-18, 1.0])  # both have one zero mode
    0.0
    """
    x = snap_zeros(a, zero_tol)
    y = snap_zeros(b, zero_tol)
    grid = np.unique(np.concatenate([x, y]))
    Fx = np.searchsorted(x, grid, side="right") / x.size
    Fy = np.searchsorted(y, grid, side="right") / y.size
    return float(np.max(np.abs(Fx - Fy)))


def wasserstein_distance(
    eigenvalues: object, law: Law, *, zero_tol: float | None = None, n_sub: int = 8
) -> float:
    """Wasserstein-1 distance ``∫ |F_N(x) - F(x)| dx`` to a predicted law.

    The integral runs over the union of the eigenvalues and the law's grid (when it
    has one), each interval subdivided ``n_sub`` times (midpoint rule; ``F_N`` is
    constant on each interval).

    Parameters
    ----------
    eigenvalues : array_like, shape (N,)
    law : Law
    zero_tol : float, optional
        Zero-mode tolerance (default ``N eps λ_max``).
    n_sub : int
        Midpoints per interval between knots.

    Returns
    -------
    float
        In the units of the eigenvalues.

    Examples
    --------
    Zero modes only against Marchenko–Pastur: the distance is the law's mean, 1 for
    features normalised by 1/√P.

    >>> import numpy as np
    >>> from ntkjam.spectrum import mp_law, wasserstein_distance
    >>> round(wasserstein_distance(np.zeros(4), mp_law(2.0)), 4)
    1.0
    >>> J = np.random.default_rng(0).standard_normal((200, 100)) / np.sqrt(100)
    >>> wasserstein_distance(np.linalg.eigvalsh(J @ J.T), mp_law(2.0)) < 0.05
    True
    """
    lam = snap_zeros(eigenvalues, zero_tol)
    pts = [lam, [0.0]]
    grid = getattr(law, "x", None)
    if grid is not None:
        pts.append(np.asarray(grid, dtype=np.float64))
    knots = np.unique(np.concatenate([np.asarray(p, dtype=np.float64) for p in pts]))
    frac = (np.arange(n_sub) + 0.5) / n_sub
    widths = np.diff(knots)
    mids = knots[:-1, None] + widths[:, None] * frac[None, :]
    Fn = np.searchsorted(lam, mids, side="right") / lam.size
    F = np.asarray(law.cdf(mids), dtype=np.float64)
    return float(np.sum(np.abs(Fn - F).mean(axis=1) * widths))


@dataclass(frozen=True, repr=False)
class Comparison(SummaryRepr):
    """Measured spectrum against a prediction.

    Attributes
    ----------
    ks : float
        Kolmogorov–Smirnov distance (atom included).
    wasserstein : float
        Wasserstein-1 distance.
    measured_zero_fraction : float
        Fraction of eigenvalues within the zero tolerance.
    predicted_atom : float
        Mass of the law at zero.

    Examples
    --------
    >>> from ntkjam.spectrum import compare, mp_law
    >>> c = compare([0.0, 0.0, 1.0, 2.0], mp_law(2.0))
    >>> type(c).__name__, c.measured_zero_fraction, c.predicted_atom
    ('Comparison', 0.5, 0.5)
    """

    ks: float
    wasserstein: float
    measured_zero_fraction: float
    predicted_atom: float


def compare(eigenvalues: object, law: Law, *, zero_tol: float | None = None) -> Comparison:
    """KS and Wasserstein distances and the atom, measured against predicted.

    Parameters
    ----------
    eigenvalues : array_like, shape (N,)
    law : Law
    zero_tol : float, optional
        Zero-mode tolerance (default ``N eps λ_max``).

    Returns
    -------
    Comparison

    Examples
    --------
    K = J Jᵀ with N = 40 points and P = 20 Gaussian features has rank 20: half its
    eigenvalues are zero modes, the atom of Marchenko–Pastur at φ = 2.

    >>> import numpy as np
    >>> from ntkjam.spectrum import compare, mp_law
    >>> J = np.random.default_rng(0).standard_normal((40, 20)) / np.sqrt(20)
    >>> c = compare(np.linalg.eigvalsh(J @ J.T), mp_law(2.0))
    >>> c.measured_zero_fraction, c.predicted_atom, bool(c.ks < 0.1 and c.wasserstein < 0.1)
    (0.5, 0.5, True)
    """
    lam = snap_zeros(eigenvalues, zero_tol)
    return Comparison(
        ks=ks_distance(lam, law, zero_tol=0.0),
        wasserstein=wasserstein_distance(lam, law, zero_tol=0.0),
        measured_zero_fraction=float(np.mean(lam == 0.0)),
        predicted_atom=float(law.atom),
    )


@dataclass(frozen=True, repr=False)
class Panel(SummaryRepr):
    """One panel of :func:`ntkjam.figures.spectrum.plot_spectra`: measured eigenvalues and
    optional predictions.

    Attributes
    ----------
    title : str
        E.g. ``"φ = 2"``.
    eigenvalues : numpy.ndarray, shape (N,)
    laws : tuple of (str, law) pairs
        Labelled predictions to overlay (anything with ``pdf(x)`` and ``atom``).
    predicted : tuple of (str, numpy.ndarray) pairs
        Labelled discrete predictions (predicted eigenvalues, e.g. a Funk–Hecke Gram
        spectrum), drawn as histogram outlines on the same bins.
    label : str
        Legend label of the eigenvalues (e.g. ``"SLQ quantiles"``).

    Examples
    --------
    >>> import numpy as np
    >>> from ntkjam.spectrum import mp_law
    >>> from ntkjam.spectrum.compare import Panel
    >>> p = Panel("φ = 2", np.array([0.0, 0.5, 2.0]), laws=(("Marchenko–Pastur", mp_law(2.0)),))
    >>> p.eigenvalues.shape, p.laws[0][0], p.predicted, p.label
    ((3,), 'Marchenko–Pastur', (), 'measured')
    """

    title: str
    eigenvalues: np.ndarray
    laws: tuple = ()
    predicted: tuple = ()
    label: str = "measured"


def plot_spectra(panels: Sequence[Panel], *, logx: bool = False, bins: int = 60,
                 zero_tol: float | None = None, ncols: int | None = None):
    """Deprecated: use :func:`ntkjam.figures.spectrum.plot_spectra` (same arguments).

    Figures belong to the figures stage; this alias warns and calls it (found by name,
    so that the spectrum stage does not import the figures).

    Parameters
    ----------
    panels : sequence of Panel
        Each with ``eigenvalues`` of shape (N,).
    logx, bins, zero_tol, ncols
        As in :func:`ntkjam.figures.spectrum.plot_spectra`.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import warnings
    >>> import numpy as np
    >>> from ntkjam.spectrum.compare import Panel, plot_spectra
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     fig = plot_spectra([Panel("φ = 2", np.array([0.0, 0.5, 2.0]))], bins=4)
    >>> caught[0].category.__name__, len(fig.axes)
    ('DeprecationWarning', 1)
    """
    warnings.warn("ntkjam.spectrum.compare.plot_spectra is deprecated: use "
                  "ntkjam.figures.spectrum.plot_spectra (same arguments)",
                  DeprecationWarning, stacklevel=2)
    figures = importlib.import_module("ntkjam.figures.spectrum")
    return figures.plot_spectra(panels, logx=logx, bins=bins, zero_tol=zero_tol, ncols=ncols)
