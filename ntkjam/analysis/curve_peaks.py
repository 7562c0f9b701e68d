"""A quantity vs φ at one size (:class:`Curve`), and where it peaks or breaks.

* :func:`locate_peak` — where a curve has its maximum: a local quadratic fit (in log y)
  around the largest mean, with a bootstrap over seeds for the interval; "undetermined"
  when the maximum sits at an edge of the grid (or does in > 10 % of the resamples);
* :func:`locate_cusp` — where a curve stops rising (or stays flat) and falls: the break of
  a continuous two-segment fit, with a bootstrap interval (the hinge tasks' test error).

The curves come from :func:`ntkjam.analysis.generalization.generalization_curves`, which
re-exports everything here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ntkjam.core.reprs import SummaryRepr

__all__ = ["Curve", "Cusp", "Peak", "locate_cusp", "locate_peak"]


@dataclass(frozen=True, repr=False)
class Curve(SummaryRepr):
    """One quantity vs φ at one size.

    Attributes
    ----------
    quantity : str
        The stored column.
    group : str
        ``"P"`` (fixed features, φ varied through N) or ``"N"`` (fixed points).
    size : int
        The fixed P or N.
    phi : numpy.ndarray, shape (k,)
        φ = N/P of each point (increasing).
    n_seeds : numpy.ndarray of int, shape (k,)
    mean, sem, lo, hi, median : numpy.ndarray, shape (k,)
        Mean, its standard error, the 95 % normal interval, the median.
    values : numpy.ndarray, shape (k, s)
        The tasks' values (NaN-padded, seeds in increasing order: the bootstrap unit).

    Examples
    --------
    Made by :func:`~ntkjam.analysis.generalization.generalization_curves`; a test error
    at 9 φ × 4 seeds (a parabola peaked at φ = 2.2, with a small deterministic jitter):

    >>> import numpy as np, pandas as pd
    >>> from ntkjam.analysis.generalization import generalization_curves
    >>> phi, seed = np.repeat(np.linspace(1, 3, 9), 4), np.tile(np.arange(4), 9)
    >>> err = 0.3 - 0.1 * (phi - 2.2) ** 2 + 0.01 * np.sin(7 * seed + phi)
    >>> df = pd.DataFrame({"size": 50, "seed": seed, "phi_x": phi, "test_error": err})
    >>> (curve,) = generalization_curves(df, "P")
    >>> curve.quantity, curve.size, curve.values.shape, curve.n_seeds.tolist()[:3]
    ('test_error', 50, (9, 4), [4, 4, 4])
    >>> bool(np.all(curve.lo < curve.mean) and np.all(curve.mean < curve.hi))
    True
    """

    quantity: str
    group: str
    size: int
    phi: np.ndarray
    n_seeds: np.ndarray
    mean: np.ndarray
    sem: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    median: np.ndarray
    values: np.ndarray


@dataclass(frozen=True, repr=False)
class Peak(SummaryRepr):
    """Where a curve is largest, with a bootstrap interval.

    Attributes
    ----------
    status : str
        ``"located"`` or ``"undetermined"`` (then ``note`` says why).
    quantity, group : str
    size : int
    phi_peak, ci_low, ci_high : float
        Vertex of the local quadratic fit (in log y) and its 95 % bootstrap interval.
    resolution : float
        Half the grid spacing around the largest mean: the interval comes from the
        quadratic model, and a peak sharper than the grid (a divergence) is located only
        to this resolution.
    height, height_low, height_high : float
        The largest mean on the grid and its 95 % bootstrap interval.
    n_boot : int
    note : str

    Examples
    --------
    Made by :func:`locate_peak`; a test error that rises across the whole grid has no
    maximum inside it, and the peak says so:

    >>> import numpy as np, pandas as pd
    >>> from ntkjam.analysis.generalization import generalization_curves
    >>> phi, seed = np.repeat(np.linspace(1, 3, 9), 4), np.tile(np.arange(4), 9)
    >>> err = 0.1 * phi + 0.01 * np.sin(7 * seed + phi)
    >>> df = pd.DataFrame({"size": 50, "seed": seed, "phi_x": phi, "test_error": err})
    >>> (curve,) = generalization_curves(df, "P")
    >>> from ntkjam.analysis.curve_peaks import locate_peak
    >>> peak = locate_peak(curve, n_boot=50)
    >>> peak.status, peak.resolution
    ('undetermined', 0.125)
    >>> peak.note
    'the largest mean is at an edge of the φ grid: widen the φ range or add seeds'
    """

    status: str
    quantity: str
    group: str
    size: int
    phi_peak: float
    ci_low: float
    ci_high: float
    resolution: float
    height: float
    height_low: float
    height_high: float
    n_boot: int
    note: str


@dataclass(frozen=True, repr=False)
class Cusp(SummaryRepr):
    """Where a curve stops rising (or stays flat) and starts to fall: a two-segment fit.

    ``y = a + b_left (φ − φ*)₋ + b_right (φ − φ*)₊``, continuous at φ*, weighted by the
    standard errors of the means, φ* by minimising χ² (the profile over φ* between the
    second and the second-to-last grid points); the 95 % interval of φ* from a bootstrap
    over seeds.  ``status`` is ``"located"`` when the slope falls at φ* by more than two
    standard errors (``b_left − b_right``), else ``"undetermined"``.  A true maximum has
    ``slope_left > 0``; a plateau that ends has ``slope_left ≈ 0``.

    Examples
    --------
    Made by :func:`locate_cusp`; a straight rising line has no break, whatever φ* the
    fit picks:

    >>> import numpy as np, pandas as pd
    >>> from ntkjam.analysis.generalization import generalization_curves
    >>> phi, seed = np.repeat(np.linspace(1, 3, 9), 4), np.tile(np.arange(4), 9)
    >>> err = 0.1 * phi + 0.01 * np.sin(7 * seed + phi)
    >>> df = pd.DataFrame({"size": 50, "seed": seed, "phi_x": phi, "test_error": err})
    >>> (curve,) = generalization_curves(df, "P")
    >>> from ntkjam.analysis.curve_peaks import locate_cusp
    >>> cusp = locate_cusp(curve, n_boot=50)
    >>> cusp.status, round(cusp.slope_left, 1), round(cusp.slope_right, 1)
    ('undetermined', 0.1, 0.1)
    """

    status: str
    quantity: str
    group: str
    size: int
    phi_cusp: float
    ci_low: float
    ci_high: float
    slope_left: float
    slope_left_err: float
    slope_right: float
    slope_right_err: float
    n_boot: int
    note: str



def _vertex(phi: np.ndarray, mean: np.ndarray) -> float | None:
    """Vertex of the quadratic through the largest mean and its neighbours, in log y
    (five points when that fit is concave, else three); None at an edge of the grid."""
    if not np.any(np.isfinite(mean)):
        return None
    i = int(np.nanargmax(mean))
    if i == 0 or i == phi.size - 1 or not np.all(np.isfinite(mean[i - 1:i + 2])):
        return None
    y = np.log(np.maximum(mean, 1e-300))
    for half in (2, 1):
        lo, hi = max(0, i - half), min(phi.size, i + half + 1)
        keep = np.isfinite(y[lo:hi])
        if keep.sum() < 3:
            continue
        c2, c1, _ = np.polyfit(phi[lo:hi][keep], y[lo:hi][keep], 2)
        if c2 < 0:
            return float(np.clip(-c1 / (2 * c2), phi[i - 1], phi[i + 1]))
    return None


def locate_peak(curve: Curve, *, n_boot: int = 200, seed: int = 0) -> Peak:
    """The maximum of ``curve.mean`` over φ, with a bootstrap over seeds.

    Each resample draws the seed columns of ``curve.values`` with replacement (the
    same seeds at every φ) and refits the vertex (:func:`_vertex`); the interval is the
    95 % percentile interval of the resamples' vertices, the height's that of their
    largest means.  "Undetermined" when the data's maximum is at an edge of the grid
    or more than 10 % of the resamples put it there.

    Parameters
    ----------
    curve : Curve
        Means of shape (k,) and the values of shape (k, s) they come from.
    n_boot : int
        Bootstrap resamples of the seed columns.
    seed : int
        Seed of the bootstrap.

    Returns
    -------
    Peak

    Examples
    --------
    A parabola peaked at φ = 2.2, on a grid of step 0.25:

    >>> import numpy as np, pandas as pd
    >>> from ntkjam.analysis.generalization import generalization_curves
    >>> phi, seed = np.repeat(np.linspace(1, 3, 9), 4), np.tile(np.arange(4), 9)
    >>> err = 0.3 - 0.1 * (phi - 2.2) ** 2 + 0.01 * np.sin(7 * seed + phi)
    >>> df = pd.DataFrame({"size": 50, "seed": seed, "phi_x": phi, "test_error": err})
    >>> (curve,) = generalization_curves(df, "P")
    >>> from ntkjam.analysis.curve_peaks import locate_peak
    >>> peak = locate_peak(curve, n_boot=50)
    >>> peak.status, round(peak.phi_peak, 1), bool(peak.ci_low <= peak.phi_peak <= peak.ci_high)
    ('located', 2.2, True)
    """
    rng = np.random.default_rng(seed)
    V = curve.values
    base = _vertex(curve.phi, curve.mean)
    height = float(np.nanmax(curve.mean)) if np.any(np.isfinite(curve.mean)) else math.nan
    verts, heights = [], []
    for _ in range(n_boot):
        cols = rng.integers(0, V.shape[1], size=V.shape[1])
        with np.errstate(invalid="ignore"):
            m = np.nanmean(V[:, cols], axis=1) if V.shape[1] else np.full(V.shape[0], np.nan)
        heights.append(np.nanmax(m) if np.any(np.isfinite(m)) else np.nan)
        v = _vertex(curve.phi, m)
        verts.append(np.nan if v is None else v)
    verts, heights = np.asarray(verts), np.asarray(heights)
    h_lo, h_hi = (np.nanquantile(heights, [0.025, 0.975]) if np.any(np.isfinite(heights))
                  else (math.nan, math.nan))
    edge = float(np.mean(~np.isfinite(verts)))
    i = int(np.nanargmax(curve.mean)) if np.isfinite(height) else 0
    spacing = np.diff(curve.phi[max(i - 1, 0):i + 2])
    kw = dict(quantity=curve.quantity, group=curve.group, size=curve.size, height=height,
              height_low=float(h_lo), height_high=float(h_hi), n_boot=n_boot,
              resolution=float(0.5 * np.mean(spacing)) if spacing.size else math.nan)
    if base is None or edge > 0.1:
        why = ("the largest mean is at an edge of the φ grid" if base is None else
               f"{100 * edge:.0f} % of the bootstrap resamples put the maximum at an edge")
        return Peak(status="undetermined", phi_peak=math.nan if base is None else base,
                    ci_low=math.nan, ci_high=math.nan, note=f"{why}: widen the φ range or "
                    "add seeds", **kw)
    lo, hi = np.nanquantile(verts, [0.025, 0.975])
    return Peak(status="located", phi_peak=base, ci_low=float(lo), ci_high=float(hi), note="",
                **kw)


def _two_segments(phi: np.ndarray, mean: np.ndarray, sem: np.ndarray, grid: np.ndarray):
    """``(φ*, coefficients (a, b_left, b_right), their covariance)`` of the best break on
    ``grid`` (weighted least squares for every candidate at once)."""
    keep = np.isfinite(mean) & np.isfinite(sem) & (sem > 0)
    x, y, w = phi[keep], mean[keep], 1.0 / sem[keep] ** 2
    u = x[None, :] - grid[:, None]  # (G, k)
    X = np.stack([np.ones_like(u), np.minimum(u, 0.0), np.maximum(u, 0.0)], axis=-1)
    A = np.einsum("gki,k,gkj->gij", X, w, X)
    coef = np.linalg.solve(A, np.einsum("gki,k,k->gi", X, w, y)[..., None])[..., 0]
    chi2 = np.einsum("gk,k->g", (y[None, :] - np.einsum("gki,gi->gk", X, coef)) ** 2, w)
    g = int(np.argmin(chi2))
    return float(grid[g]), coef[g], np.linalg.inv(A[g])


def locate_cusp(curve: Curve, *, n_boot: int = 200, seed: int = 0) -> Cusp:
    """The breakpoint of :class:`Cusp`'s two-segment model fitted to ``curve.mean``, with a
    bootstrap over the seed columns of ``curve.values`` (the standard errors kept).

    Parameters
    ----------
    curve : Curve
        At least 5 φ and 3 seeds: means and standard errors of shape (k,), values of
        shape (k, s).
    n_boot : int
        Bootstrap resamples of the seed columns.
    seed : int
        Seed of the bootstrap.

    Returns
    -------
    Cusp

    Examples
    --------
    A test error rising with slope 0.05 up to φ = 2, then falling with slope −0.2:

    >>> import numpy as np, pandas as pd
    >>> from ntkjam.analysis.generalization import generalization_curves
    >>> phi, seed = np.repeat(np.linspace(1, 3, 9), 4), np.tile(np.arange(4), 9)
    >>> err = 0.3 + 0.05 * np.minimum(phi - 2, 0) - 0.2 * np.maximum(phi - 2, 0)
    >>> err = err + 0.01 * np.sin(7 * seed + phi)
    >>> df = pd.DataFrame({"size": 50, "seed": seed, "phi_x": phi, "test_error": err})
    >>> (curve,) = generalization_curves(df, "P")
    >>> from ntkjam.analysis.curve_peaks import locate_cusp
    >>> cusp = locate_cusp(curve, n_boot=50)
    >>> cusp.status, round(cusp.phi_cusp, 2), round(cusp.slope_right, 1)
    ('located', 2.0, -0.2)
    """
    rng = np.random.default_rng(seed)
    phi, V, sem = curve.phi, curve.values, curve.sem
    kw = dict(quantity=curve.quantity, group=curve.group, size=curve.size, n_boot=n_boot)
    if phi.size < 5 or V.shape[1] < 3:
        return Cusp(status="undetermined", phi_cusp=math.nan, ci_low=math.nan,
                    ci_high=math.nan, slope_left=math.nan, slope_left_err=math.nan,
                    slope_right=math.nan, slope_right_err=math.nan,
                    note="fewer than 5 φ or 3 seeds", **kw)
    grid = np.linspace(phi[1], phi[-2], 121)
    x, coef, cov = _two_segments(phi, curve.mean, sem, grid)
    boot = []
    for _ in range(n_boot):
        cols = rng.integers(0, V.shape[1], size=V.shape[1])
        with np.errstate(invalid="ignore"):
            boot.append(_two_segments(phi, np.nanmean(V[:, cols], axis=1), sem, grid)[0])
    lo, hi = np.nanquantile(boot, [0.025, 0.975])
    err = np.sqrt(np.diag(cov))
    drop = coef[1] - coef[2]
    drop_err = math.sqrt(max(cov[1, 1] + cov[2, 2] - 2 * cov[1, 2], 0.0))
    located = drop > 2 * drop_err
    return Cusp(status="located" if located else "undetermined", phi_cusp=x,
                ci_low=float(lo), ci_high=float(hi), slope_left=float(coef[1]),
                slope_left_err=float(err[1]), slope_right=float(coef[2]),
                slope_right_err=float(err[2]), note="" if located else
                "the slope does not fall at the break by more than two standard errors", **kw)
