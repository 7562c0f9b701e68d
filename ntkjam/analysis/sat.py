"""P(SAT) vs φ and the crossing φ_c(P) of a SAT/UNSAT table, against Cover's theory.

Shared by every study whose table has the phase-diagram layout (columns ``P, phi,
seed, n, n_params, sat, rank`` and optionally ``cover``): the lazy diagram and the
trained one (which hands in its own ``sat`` column).

* :func:`sat_curves` — P(SAT) vs φ per P with binomial errors (standard error and
  Wilson interval) and Cover's prediction for the same N and rank.
* :func:`crossings` — φ_c(P) where P(SAT) = ½, from a maximum-likelihood fit of the
  crossing model to the Bernoulli outcomes, with a bootstrap confidence interval over
  seeds (replicas resampled with replacement).
* :func:`cover_chi2` — χ² of the measured SAT counts against Cover's curve.
* :func:`cover_curve` — Cover's closed form at every integer N of a φ range (the
  theory line the figures draw).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import scipy.stats

from ntkjam._validate import as_real
from ntkjam.analysis.stats import check_bootstrap, fit_counts, wilson
from ntkjam.analysis.tables import by_P, done_table
from ntkjam.core.reprs import SummaryRepr
from ntkjam.theory import cover_probability

__all__ = [
    "RESOLVED",
    "CoverTest",
    "Crossing",
    "SatCurve",
    "cover_chi2",
    "cover_curve",
    "crossings",
    "grid_step",
    "sat_curves",
]


@dataclass(frozen=True, repr=False)
class SatCurve(SummaryRepr):
    """P(SAT) vs φ at one P.

    Attributes
    ----------
    P : int
        The P of the grid (the parameter count actually used is ``n_params``).
    n_params : int
    rank : int
        Largest rank of the features at this P (the rank for N ≥ P).
    phi : numpy.ndarray, shape (k,)
        φ = N/P of each point, increasing.
    n : numpy.ndarray of int, shape (k,)
        N of each point.
    n_total, n_sat : numpy.ndarray of int, shape (k,)
        Instances and SAT instances.
    p_sat, err : numpy.ndarray, shape (k,)
        Fraction SAT and its binomial standard error ``√(p(1−p)/n)``.
    lo, hi : numpy.ndarray, shape (k,)
        95 % Wilson score interval.
    cover : numpy.ndarray, shape (k,)
        Cover's P(SAT) for N points in rank(J) dimensions, averaged over the
        instances of each point (the ranks can differ between instances); NaN when
        the table has no ``cover`` column.

    Examples
    --------
    >>> import pandas as pd
    >>> from ntkjam.analysis.sat import sat_curves
    >>> df = pd.DataFrame([{"P": 10, "phi": n / 10, "seed": s, "n": n, "n_params": 10,
    ...                     "rank": 10, "sat": n < 20} for n in (16, 24) for s in range(4)])
    >>> curve = sat_curves(df)[0]
    >>> curve.phi, curve.n_sat, curve.n_total, curve.hi.round(3)  # 95 % Wilson upper ends
    (array([1.6, 2.4]), array([4, 0]), array([4, 4]), array([1.  , 0.49]))

    """

    P: int
    n_params: int
    rank: int
    phi: np.ndarray
    n: np.ndarray
    n_total: np.ndarray
    n_sat: np.ndarray
    p_sat: np.ndarray
    err: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    cover: np.ndarray


def sat_curves(df) -> list[SatCurve]:
    """P(SAT) vs φ for every P in a phase-diagram table (one :class:`SatCurve` per P).

    Parameters
    ----------
    df : pandas.DataFrame
        A phase-diagram table (:func:`~ntkjam.analysis.tables.done_table`), one row per
        instance; a ``cover`` column (Cover's probability of each) is optional.

    Returns
    -------
    list of SatCurve
        In increasing P; each curve's arrays have one entry per N, increasing.

    Examples
    --------
    >>> import pandas as pd
    >>> from ntkjam.analysis.sat import sat_curves
    >>> df = pd.DataFrame([{"P": 10, "phi": n / 10, "seed": s, "n": n, "n_params": 10, "rank": 10,
    ...                     "sat": n + 2 * s < 24} for n in (16, 18, 20, 22, 24) for s in range(4)])
    >>> (curve,) = sat_curves(df)
    >>> curve.phi, curve.p_sat, curve.err.round(4)  # binomial errors √(p(1−p)/4)
    (array([1.6, 1.8, 2. , 2.2, 2.4]), array([1.  , 0.75, 0.5 , 0.25, 0.  ]),
     array([0.    , 0.2165, 0.25  , 0.2165, 0.    ]))
    """
    df = done_table(df)
    out = []
    for P, g in by_P(df):
        agg = g.groupby("n", sort=True).agg(
            n_total=("sat", "size"), n_sat=("sat", "sum"), cover=("cover", "mean"),
            n_params=("n_params", "first"),
        ) if "cover" in g.columns else g.groupby("n", sort=True).agg(
            n_total=("sat", "size"), n_sat=("sat", "sum"), n_params=("n_params", "first"),
        )
        n = agg.index.to_numpy(dtype=int)
        n_total = agg["n_total"].to_numpy(dtype=int)
        n_sat = agg["n_sat"].to_numpy(dtype=int)
        p = n_sat / n_total
        lo, hi = wilson(n_sat.astype(float), n_total.astype(float))
        n_params = int(agg["n_params"].iloc[0])
        cover = agg["cover"].to_numpy(dtype=float) if "cover" in agg else np.full(n.size, np.nan)
        out.append(
            SatCurve(
                P=P, n_params=n_params, rank=int(g["rank"].max()), phi=n / n_params, n=n,
                n_total=n_total, n_sat=n_sat, p_sat=p, err=np.sqrt(p * (1 - p) / n_total),
                lo=lo, hi=hi, cover=cover,
            )
        )
    return out


# --------------------------------------------------------------------------- crossing
@dataclass(frozen=True, repr=False)
class Crossing(SummaryRepr):
    """φ_c(P) from the P(SAT) = ½ crossing, with its bootstrap interval.

    Attributes
    ----------
    P, n_params, rank : int
    phi_c : float
        Maximum-likelihood crossing (in units of ``n_params``).
    width : float
        Width w of the transition in φ.
    ci_low, ci_high : float
        Bootstrap percentile interval (``level``) of φ_c over seeds.
    stderr, width_err : float
        Bootstrap standard deviations of φ_c and w.
    phi_c_rank : float
        φ_c in units of the rank: ``phi_c · n_params / rank``.
    phi_c_cover, width_cover : float
        The same fit applied to Cover's expected curve on the same points (NaN
        when the table has no Cover column).
    n_boot, n_seeds : int
    grid_step : float
        Spacing of the two measured φ that bracket φ_c (NaN when φ_c is not between
        two of them): the resolution of the grid at the crossing.
    resolved : bool
        ``width ≥ grid_step / 2``: the interval φ_c ± 2w, where P(SAT) runs from 0.98
        to 0.02, holds at least two grid points, so the data see the slope.  A
        transition narrower than that falls between two points: its fitted width is
        only an upper bound (any sharper step fits as well) and φ_c is known to the
        step; not a width to fit ν to.

    Examples
    --------
    >>> import pandas as pd
    >>> from ntkjam.analysis.sat import crossings
    >>> df = pd.DataFrame([{"P": 10, "phi": n / 10, "seed": s, "n": n, "n_params": 10,
    ...                     "rank": 10, "sat": n < 20} for n in (16, 24) for s in range(4)])
    >>> c = crossings(df, n_boot=20)[0]  # every SAT point below every UNSAT one
    >>> round(c.phi_c, 4), round(c.grid_step, 4), c.resolved  # a step between two points
    (2.0, 0.8, False)
    """

    P: int
    n_params: int
    rank: int
    phi_c: float
    width: float
    ci_low: float
    ci_high: float
    stderr: float
    width_err: float
    phi_c_rank: float
    phi_c_cover: float
    width_cover: float
    n_boot: int
    n_seeds: int
    grid_step: float = math.nan
    resolved: bool = True


#: A crossing is resolved by its grid when its width is at least this many grid steps.
RESOLVED = 0.5


def grid_step(phi: np.ndarray, phi_c: float) -> float:
    """Spacing of the measured φ values (increasing) that bracket ``phi_c`` (NaN if none).

    Parameters
    ----------
    phi : numpy.ndarray, shape (k,)
        The grid, increasing.
    phi_c : float

    Returns
    -------
    float
        NaN when ``phi_c`` is not finite or lies outside the grid.

    Examples
    --------
    >>> from ntkjam.analysis.sat import grid_step
    >>> grid_step([1.0, 1.5, 2.5, 3.0], 2.2), grid_step([1.0, 1.5], 3.0)
    (1.0, nan)
    """
    phi = np.asarray(phi, dtype=float)
    if not np.isfinite(phi_c) or phi.size < 2:
        return math.nan
    j = int(np.searchsorted(phi, phi_c))
    if j <= 0 or j >= phi.size:
        return math.nan
    return float(phi[j] - phi[j - 1])


def _seed_counts(g) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(N values, seeds, SAT count, instance count)``, the counts of shape (seeds, N)."""
    ns = np.sort(g["n"].unique())
    seeds = np.sort(g["seed"].unique())
    col = {v: i for i, v in enumerate(ns)}
    row = {v: i for i, v in enumerate(seeds)}
    sat = np.zeros((seeds.size, ns.size))
    have = np.zeros((seeds.size, ns.size))
    for s, nn, v in zip(g["seed"], g["n"], g["sat"], strict=True):
        sat[row[s], col[nn]] += float(v)
        have[row[s], col[nn]] += 1.0
    return ns, seeds, sat, have


def _bootstrap(phi, sat, have, model: str, n_boot: int, level: float, rng):
    """Percentile interval (lo, hi) of φ_c and the standard deviations of φ_c and w."""
    boots_c, boots_w = [], []
    n_seeds = sat.shape[0]
    for _ in range(n_boot):
        idx = rng.integers(0, n_seeds, size=n_seeds)
        c, w = fit_counts(phi, sat[idx].sum(0), have[idx].sum(0), model)
        if np.isfinite(c):
            boots_c.append(c)
            boots_w.append(w)
    if len(boots_c) < 2:
        return (math.nan,) * 4
    alpha = (1 - level) / 2
    lo, hi = np.quantile(boots_c, [alpha, 1 - alpha])
    return lo, hi, float(np.std(boots_c, ddof=1)), float(np.std(boots_w, ddof=1))


def crossings(
    df, *, model: str = "erf", n_boot: int = 200, level: float = 0.95, seed: int = 0,
    theory: bool = True,
) -> list[Crossing]:
    """φ_c(P) for every P, with a bootstrap over seeds (replicas).

    Each bootstrap sample draws the seed replicas with replacement and refits; the
    interval is the percentile interval at ``level``.  One generator (``seed``) serves
    every P in turn, in increasing P.

    Parameters
    ----------
    df : pandas.DataFrame
        A phase-diagram table, one row per instance (``cover`` optional).
    model : {"erf", "logistic"}
        Crossing model.
    n_boot : int
        Bootstrap samples per P.
    level : float
        Confidence level of the interval, in (0, 1).
    seed : int
        Seed of the bootstrap.
    theory : bool
        Also fit Cover's expected curve (``phi_c_cover``, ``width_cover``).

    Returns
    -------
    list of Crossing
        One per P, in increasing P.

    Examples
    --------
    >>> import pandas as pd
    >>> from ntkjam.analysis.sat import crossings
    >>> df = pd.DataFrame([{"P": 10, "phi": n / 10, "seed": s, "n": n, "n_params": 10, "rank": 10,
    ...                     "sat": n + 2 * s < 24} for n in (16, 18, 20, 22, 24) for s in range(4)])
    >>> c = crossings(df, n_boot=50)[0]  # P(SAT) = 1, ¾, ½, ¼, 0: symmetric about φ = 2
    >>> round(c.phi_c, 4), c.ci_low <= 2.0 <= c.ci_high, c.n_seeds, c.resolved
    (2.0, True, 4, True)
    """
    model, n_boot = check_bootstrap(model, n_boot)
    level = as_real("level", level, positive=True)
    if level >= 1:
        raise ValueError(f"level must be in (0, 1), got {level}")
    df = done_table(df)
    rng = np.random.default_rng(seed)
    out = []
    for P, g in by_P(df):
        ns, seeds, sat, have = _seed_counts(g)
        n_params = int(g["n_params"].iloc[0])
        phi = ns / n_params
        phi_c, width = fit_counts(phi, sat.sum(0), have.sum(0), model)
        lo, hi, se, we = _bootstrap(phi, sat, have, model, n_boot, level, rng)
        rank = int(g["rank"].max())
        c_cover = w_cover = math.nan
        if theory and "cover" in g.columns:
            expected = g.groupby("n", sort=True)["cover"].mean().to_numpy(dtype=float)
            weight = have.sum(0)
            c_cover, w_cover = fit_counts(phi, expected * weight, weight, model)
        h = grid_step(phi, phi_c)
        out.append(
            Crossing(
                P=P, n_params=n_params, rank=rank, phi_c=phi_c, width=width,
                ci_low=float(lo), ci_high=float(hi), stderr=se, width_err=we,
                phi_c_rank=phi_c * n_params / rank if rank > 0 else math.nan,
                phi_c_cover=float(c_cover), width_cover=float(w_cover), n_boot=n_boot,
                n_seeds=int(seeds.size), grid_step=h,
                resolved=not (np.isfinite(h) and np.isfinite(width) and width < RESOLVED * h),
            )
        )
    return out


# ------------------------------------------------------------------------------ Cover
@dataclass(frozen=True, repr=False)
class CoverTest(SummaryRepr):
    """χ² of the SAT counts against Cover's curve at one P.

    Only points where Cover's probability is in (10⁻⁶, 1 − 10⁻⁶) enter (elsewhere the
    expected variance vanishes).  ``p_value`` is ``P(χ²_dof ≥ chi2)``.

    Attributes
    ----------
    P : int
    chi2 : float
    dof : int
        The points that enter.
    p_value : float

    Examples
    --------
    >>> from ntkjam.analysis.sat import CoverTest
    >>> t = CoverTest(P=10, chi2=15.1, dof=5, p_value=0.01)
    >>> t.p_value < 0.05  # P(SAT) would be rejected as Cover's curve
    True
    """

    P: int
    chi2: float
    dof: int
    p_value: float


def cover_chi2(curve: SatCurve) -> CoverTest:
    """Pearson χ² of ``curve``'s SAT counts against Cover's expected counts.

    Parameters
    ----------
    curve : SatCurve
        With Cover's probabilities (a table with a ``cover`` column).

    Returns
    -------
    CoverTest

    Raises
    ------
    ValueError
        Cover's curve is 0 or 1 at every point.

    Examples
    --------
    >>> import pandas as pd
    >>> from ntkjam.analysis.sat import cover_chi2, sat_curves
    >>> from ntkjam.theory import cover_probability
    >>> df = pd.DataFrame([{"P": 10, "phi": n / 10, "seed": s, "n": n, "n_params": 10, "rank": 10,
    ...                     "sat": n + 2 * s < 24, "cover": cover_probability(n, 10)}
    ...                    for n in (16, 18, 20, 22, 24) for s in range(4)])
    >>> t = cover_chi2(sat_curves(df)[0])
    >>> t.dof, round(t.chi2, 3), t.p_value > 0.01  # 4 seeds per point agree with Cover
    (5, 1.924, True)
    """
    p = np.asarray(curve.cover, dtype=float)
    keep = np.isfinite(p) & (p > 1e-6) & (p < 1 - 1e-6)
    if not np.any(keep):
        raise ValueError(f"Cover's curve is 0 or 1 at every point of P = {curve.P}: no test")
    n, k, p = curve.n_total[keep], curve.n_sat[keep], p[keep]
    chi2 = float(np.sum((k - n * p) ** 2 / (n * p * (1 - p))))
    dof = int(keep.sum())
    return CoverTest(P=curve.P, chi2=chi2, dof=dof, p_value=float(scipy.stats.chi2.sf(chi2, dof)))


def cover_curve(n_params: int, rank: int, phi_min: float, phi_max: float):
    """Cover's P(SAT) at every integer N with ``phi_min ≤ N/n_params ≤ phi_max``.

    Parameters
    ----------
    n_params : int
        P (the unit of φ).
    rank : int
        Dimension of the features' span.
    phi_min, phi_max : float
        The φ range.

    Returns
    -------
    (phi, p) : tuple of numpy.ndarray, shape (m,)
        φ = N/n_params and ``cover_probability(N, min(N, rank))``.

    Examples
    --------
    >>> from ntkjam.analysis.sat import cover_curve
    >>> phi, p = cover_curve(10, 10, 1.0, 3.0)  # N = 10, 11, …, 30
    >>> phi.shape, p[phi == 1.0], p[phi == 2.0]  # N ≤ P always SAT; ½ at N = 2P
    ((21,), array([1.]), array([0.5]))
    """

    n = np.arange(max(1, int(np.ceil(phi_min * n_params))), int(np.floor(phi_max * n_params)) + 1)
    p = np.array([cover_probability(int(v), int(min(v, rank))) for v in n])
    return n / n_params, p
