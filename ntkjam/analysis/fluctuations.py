"""Finite-width NTK fluctuations from the stores of ``kernel_fluctuations`` and
``ntk_diagonal_moments`` (read only; no physics is recomputed).

* :func:`fluctuation_points` — per (depth, width, N): the mean over seeds of every
  distance with its standard error.
Power laws are fitted by :func:`ntkjam.analysis.power_law.power_law_fit` (weighted
log–log, 95 % intervals, verdicts only where the interval supports them; a χ² p < 0.01
scales the interval by √(χ²/dof) and says so).

* :func:`width_fits`, :func:`params_fits`, :func:`n_fits` — the exponents in the width
  n, in the parameter count P and in the number of points N.
* :func:`ntkjam.analysis.hanin_nica.hanin_nica` — ``log E[K(x,x)²]/E[K(x,x)]²``
  against ``β = Σ_l 1/n_l`` (the second store).
* :func:`~ntkjam.analysis.kernel_ensembles.ensemble_laws` — the distance of ensemble
  averages K̄ to K_∞ against the ensemble size and its random part (two disjoint
  ensembles), with the bias ‖E K_n − K_∞‖, and
  :func:`~ntkjam.analysis.kernel_ensembles.ensemble_scaling` (both re-exported here).
* :func:`analyze_fluctuations` — all of it as one frozen :class:`FluctuationAnalysis`.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ntkjam.analysis.hanin_nica import HaninNicaFit, hanin_nica
from ntkjam.analysis.kernel_ensembles import (
    EnsembleLaw,
    EnsembleScaling,
    ensemble_laws,
    ensemble_scaling,
)
from ntkjam.analysis.power_law import PowerLawFit, power_law_fit
from ntkjam.analysis.stats import standard_error
from ntkjam.analysis.tables import jsonable, load_run, recorded_settings
from ntkjam.core.reprs import SummaryRepr

__all__ = [
    "DISTANCES",
    "FLUCTUATION_UNRECORDED",
    "EnsembleLaw",
    "EnsembleScaling",
    "FluctuationAnalysis",
    "FluctuationPoint",
    "analyze_fluctuations",
    "ensemble_laws",
    "ensemble_scaling",
    "fluctuation_points",
    "n_fits",
    "params_fits",
    "width_fits",
]

#: The per-task measurements averaged over seeds at each (depth, width, N).
DISTANCES = ("rel_frobenius", "rel_operator", "rel_diagonal", "rel_offdiagonal",
             "abs_frobenius", "abs_operator", "stable_rank", "inf_frobenius", "inf_operator")
#: Settings of a store that records them nowhere: the task defaults when they were written.
FLUCTUATION_UNRECORDED = {"d": 10, "activation": "relu", "sigma_w": math.sqrt(2.0),
                          "sigma_b": 0.0, "radius": 1.0, "data_seed": 0}
#: Exponents expected for each quantity: smooth correlated errors vs iid entries.
_N_HYPOTHESES = {
    "rel_frobenius": {"N^0": 0.0},
    "rel_operator": {"N^0 (correlated errors)": 0.0, "N^-1/2 (iid errors)": -0.5},
    "abs_frobenius": {"N^1": 1.0},
    "abs_operator": {"N^1 (correlated errors)": 1.0, "N^1/2 (iid errors)": 0.5},
    "stable_rank": {"N^0 (correlated errors)": 0.0, "N^1 (iid errors)": 1.0},
}
_WIDTH_QUANTITIES = ("rel_frobenius", "rel_operator", "rel_diagonal", "rel_offdiagonal")


# ------------------------------------------------------------------- the points
@dataclass(frozen=True, repr=False)
class FluctuationPoint(SummaryRepr):
    """One (depth, width, N): means over seeds and their standard errors.

    Attributes
    ----------
    depth, width, n : int
        Hidden layers L, width n of each, points N.
    n_seeds, n_networks : int
        Tasks and networks (Σ n_ens) behind the means.
    n_params : int
        P.
    beta : float
        Σ_l 1/n_l = L/n.
    means, errors : dict of str to float
        Every name of :data:`DISTANCES`, and ``entry_variance`` (the mean of
        rel_frobenius²: the relative mean-square error per entry).

    Examples
    --------
    Made by :func:`fluctuation_points`; a tiny ``kernel_fluctuations`` sweep (depth 1,
    widths 8–32, N = 4, 3 seeds of 6 networks):

    >>> import tempfile
    >>> from ntkjam import sweep
    >>> from ntkjam.analysis.fluctuations import analyze_fluctuations
    >>> from ntkjam.experiments.fluctuations import fluctuation_spec
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     spec = fluctuation_spec(depths=[1], widths=[8, 16, 32], n=[4], seeds=3, n_ens=6,
    ...                             output=tmp + "/run")
    ...     analysis = analyze_fluctuations(sweep.run(spec).directory)
    >>> point = analysis.points[0]
    >>> point.width, point.n_seeds, point.n_networks, point.n_params, point.beta
    (8, 3, 18, 88, 0.125)
    >>> bool(point.means["entry_variance"] >= point.means["rel_frobenius"] ** 2)  # Jensen
    True
    """

    depth: int
    width: int
    n: int
    n_seeds: int
    n_networks: int
    n_params: int
    beta: float
    means: dict
    errors: dict


def _done(df, experiment: str, directory) -> Any:
    if "experiment" in df.columns and len(df) and (df["experiment"] != experiment).any():
        raise ValueError(f"'{directory}' is not a {experiment} run directory (it holds "
                         f"{df['experiment'].iloc[0]!r})")
    if "status" in df.columns:
        df = df[df["status"] == "done"]
    if len(df) == 0:
        raise ValueError(f"'{directory}' has no finished {experiment} tasks")
    return df


def fluctuation_points(df: Any) -> list[FluctuationPoint]:
    """Group the finished rows of a ``kernel_fluctuations`` table by (depth, width, n).

    Parameters
    ----------
    df : pandas.DataFrame
        The finished rows (columns ``depth``, ``width``, ``n``, ``n_params``, ``beta``,
        every name of :data:`DISTANCES`, optionally ``n_ens``).

    Returns
    -------
    list of FluctuationPoint
        One per (depth, width, n), in increasing order.

    Examples
    --------
    >>> import tempfile
    >>> from ntkjam import sweep
    >>> from ntkjam.analysis.fluctuations import fluctuation_points
    >>> from ntkjam.experiments.fluctuations import fluctuation_spec
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     spec = fluctuation_spec(depths=[1], widths=[8, 16, 32], n=[4], seeds=3, n_ens=6,
    ...                             output=tmp + "/run")
    ...     points = fluctuation_points(sweep.load(sweep.run(spec).directory))
    >>> [(p.width, p.n_seeds) for p in points]
    [(8, 3), (16, 3), (32, 3)]
    >>> rel = [p.means["rel_frobenius"] for p in points]  # wider: closer to K∞
    >>> bool(rel[0] > rel[-1])
    True
    """
    points = []
    for (depth, width, n), g in df.groupby(["depth", "width", "n"], sort=True):
        means, errors = {}, {}
        for q in DISTANCES:
            v = g[q].to_numpy(dtype=float)
            means[q], errors[q] = float(np.mean(v)), standard_error(v)
        sq = g["rel_frobenius"].to_numpy(dtype=float) ** 2
        means["entry_variance"], errors["entry_variance"] = float(np.mean(sq)), standard_error(sq)
        n_ens = g["n_ens"].to_numpy(dtype=int) if "n_ens" in g.columns else np.ones(len(g), int)
        points.append(FluctuationPoint(int(depth), int(width), int(n), len(g),
                                       int(n_ens.sum()), int(g["n_params"].iloc[0]),
                                       float(g["beta"].iloc[0]), means, errors))
    return points


def _fits(points, key, variable, quantities, hypotheses, xof) -> list[PowerLawFit]:
    """One fit per quantity per group of points sharing ``key`` (≥ 3 points, ≥ 3 seeds)."""
    groups: dict[tuple, list[FluctuationPoint]] = {}
    for pt in points:
        if pt.n_seeds >= 3:
            groups.setdefault(key(pt), []).append(pt)
    fits = []
    for label, pts in groups.items():
        if len(pts) < 3:
            continue
        x = [xof(pt) for pt in pts]
        for q in quantities:
            fits.append(power_law_fit(
                x, [pt.means[q] for pt in pts], [pt.errors[q] for pt in pts], quantity=q,
                variable=variable, group=label[0], hypotheses=hypotheses(q), key=label[1:]))
    return fits


def width_fits(points: list[FluctuationPoint]) -> list[PowerLawFit]:
    """Distances vs width n at each (depth, N); hypothesis n^-1/2.

    Parameters
    ----------
    points : list of FluctuationPoint
        Only points with ≥ 3 seeds count, and groups of ≥ 3 of them.

    Returns
    -------
    list of PowerLawFit
        One per (depth, N) and relative distance (``rel_frobenius``, ``rel_operator``,
        ``rel_diagonal``, ``rel_offdiagonal``).

    Examples
    --------
    Points that fall exactly as n^{−1/2}, with 5 % errors:

    >>> from ntkjam.analysis.fluctuations import DISTANCES, FluctuationPoint
    >>> from ntkjam.analysis.fluctuations import width_fits
    >>> pts = [FluctuationPoint(1, w, 10, 4, 4, 11 * w, 1 / w, {q: w**-0.5 for q in DISTANCES},
    ...                         {q: 0.05 * w**-0.5 for q in DISTANCES}) for w in (64, 128, 256)]
    >>> fit = width_fits(pts)[0]
    >>> fit.quantity, round(fit.exponent, 6), fit.verdict
    ('rel_frobenius', -0.5, 'consistent with n^-1/2')
    """
    return _fits(points, lambda p: (f"depth {p.depth}, N = {p.n}", p.depth, p.n), "width",
                 _WIDTH_QUANTITIES, lambda q: {"n^-1/2": -0.5}, lambda p: p.width)


def params_fits(points: list[FluctuationPoint]) -> list[PowerLawFit]:
    """rel_frobenius vs P at each (depth, N); hypotheses P^-1/4 and P^-1/2.

    Parameters
    ----------
    points : list of FluctuationPoint
        Only points with ≥ 3 seeds count, and groups of ≥ 3 of them.

    Returns
    -------
    list of PowerLawFit
        One per (depth, N).

    Examples
    --------
    Past one hidden layer P grows as n², so a distance ∝ n^{−1/2} is ∝ P^{−1/4}:

    >>> from ntkjam.analysis.fluctuations import DISTANCES, FluctuationPoint
    >>> from ntkjam.analysis.fluctuations import params_fits
    >>> pts = [FluctuationPoint(2, w, 10, 4, 4, w * w, 2 / w, {q: w**-0.5 for q in DISTANCES},
    ...                         {q: 0.05 * w**-0.5 for q in DISTANCES}) for w in (64, 128, 256)]
    >>> (fit,) = params_fits(pts)
    >>> round(fit.exponent, 6), fit.verdict
    (-0.25, 'consistent with P^-1/4')
    """
    return _fits(points, lambda p: (f"depth {p.depth}, N = {p.n}", p.depth, p.n), "P",
                 ("rel_frobenius",), lambda q: {"P^-1/4": -0.25, "P^-1/2": -0.5},
                 lambda p: p.n_params)


def n_fits(points: list[FluctuationPoint]) -> list[PowerLawFit]:
    """Norms vs N at each (depth, width), against correlated and iid predictions.

    Parameters
    ----------
    points : list of FluctuationPoint
        Only points with ≥ 3 seeds count, and groups of ≥ 3 of them.

    Returns
    -------
    list of PowerLawFit
        One per (depth, width) and norm (``rel_frobenius``, ``rel_operator``,
        ``abs_frobenius``, ``abs_operator``, ``stable_rank``).

    Examples
    --------
    Every norm ∝ N: right for ‖K_n − K_∞‖_F (N² entries), wrong for a relative one:

    >>> from ntkjam.analysis.fluctuations import DISTANCES, FluctuationPoint
    >>> from ntkjam.analysis.fluctuations import n_fits
    >>> pts = [FluctuationPoint(1, 64, n, 4, 4, 704, 1 / 64, {q: 0.1 * n for q in DISTANCES},
    ...                         {q: 0.005 * n for q in DISTANCES}) for n in (10, 20, 40)]
    >>> verdicts = {f.quantity: f.verdict for f in n_fits(pts)}
    >>> verdicts["abs_frobenius"], verdicts["rel_frobenius"]
    ('consistent with N^1', 'excludes N^0')
    """
    return _fits(points, lambda p: (f"depth {p.depth}, width {p.width}", p.depth, p.width),
                 "N", tuple(_N_HYPOTHESES), _N_HYPOTHESES.get, lambda p: p.n)


# ---------------------------------------------------------------------- the whole
@dataclass(frozen=True, repr=False)
class FluctuationAnalysis(SummaryRepr):
    """Everything :func:`analyze_fluctuations` finds (``to_dict()`` is JSON-ready).

    Attributes
    ----------
    settings : dict
        The fixed settings recorded in the stores.
    points : tuple of FluctuationPoint
    width_fits, params_fits, n_fits : tuple of PowerLawFit
    ensembles : tuple of EnsembleLaw
    ensemble_scaling : tuple of EnsembleScaling
    hanin_nica : HaninNicaFit or None
    n_done, n_failed : int
        Tasks of both stores.
    notes : tuple of str

    Examples
    --------
    Made by :func:`analyze_fluctuations`; one N, so no fit in N, and no diagonal store:

    >>> import tempfile
    >>> from ntkjam import sweep
    >>> from ntkjam.analysis.fluctuations import analyze_fluctuations
    >>> from ntkjam.experiments.fluctuations import fluctuation_spec
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     spec = fluctuation_spec(depths=[1], widths=[8, 16, 32], n=[4], seeds=3, n_ens=6,
    ...                             output=tmp + "/run")
    ...     analysis = analyze_fluctuations(sweep.run(spec).directory)
    >>> analysis.n_done, len(analysis.points), len(analysis.width_fits), analysis.n_fits
    (9, 3, 4, ())
    >>> analysis.hanin_nica is None, analysis.to_dict()["settings"]["activation"]
    (True, 'relu')
    """

    settings: dict
    points: tuple
    width_fits: tuple
    params_fits: tuple
    n_fits: tuple
    ensembles: tuple
    ensemble_scaling: tuple
    hanin_nica: HaninNicaFit | None
    n_done: int
    n_failed: int
    notes: tuple = ()

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (arrays as lists, NaN as None).

        Examples
        --------
        By hand, one point of a single seed (no standard error):

        >>> import json, math
        >>> from ntkjam.analysis.fluctuations import FluctuationAnalysis, FluctuationPoint
        >>> pt = FluctuationPoint(1, 8, 4, 1, 6, 88, 0.125, {"rel_frobenius": 0.25},
        ...                       {"rel_frobenius": math.nan})
        >>> a = FluctuationAnalysis({}, (pt,), (), (), (), (), (), None, 1, 0)
        >>> json.dumps(a.to_dict()["points"][0]["errors"])  # NaN written as null
        '{"rel_frobenius": null}'
        """
        return jsonable(asdict(self))


def analyze_fluctuations(kernels: str | Path | None,
                         diagonal: str | Path | None = None) -> FluctuationAnalysis:
    """Analyse a ``kernel_fluctuations`` run directory and/or an ``ntk_diagonal_moments`` one.

    Parameters
    ----------
    kernels : str or Path, optional
        A ``kernel_fluctuations`` run directory.
    diagonal : str or Path, optional
        An ``ntk_diagonal_moments`` run directory.

    Returns
    -------
    FluctuationAnalysis

    Raises
    ------
    ValueError
        Neither directory given, a directory of another experiment, or no finished task.

    Examples
    --------
    Depth 1, widths 8–32: the fit of ‖K_n − K_∞‖_F/‖K_∞‖_F in the width holds
    n^{−1/2} (three seeds cannot exclude much else):

    >>> import tempfile
    >>> from ntkjam import sweep
    >>> from ntkjam.analysis.fluctuations import analyze_fluctuations
    >>> from ntkjam.experiments.fluctuations import fluctuation_spec
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     spec = fluctuation_spec(depths=[1], widths=[8, 16, 32], n=[4], seeds=3, n_ens=6,
    ...                             output=tmp + "/run")
    ...     analysis = analyze_fluctuations(sweep.run(spec).directory)
    >>> fit = analysis.width_fits[0]
    >>> fit.quantity, fit.variable, bool(fit.ci_low < -0.5 < fit.ci_high)
    ('rel_frobenius', 'width', True)
    """
    if kernels is None and diagonal is None:
        raise ValueError("give a kernel_fluctuations or an ntk_diagonal_moments run directory")
    settings: dict[str, Any] = {}
    notes: list[str] = []
    n_done = n_failed = 0
    points, wf, pf, nf, ens, hn = [], [], [], [], [], None
    for directory, experiment in ((kernels, "kernel_fluctuations"),
                                  (diagonal, "ntk_diagonal_moments")):
        if directory is None:
            continue
        table, failed, spec_params = load_run(directory)
        df = _done(table, experiment, directory)
        n_done, n_failed = n_done + len(df), n_failed + failed
        if not settings:
            settings = recorded_settings(df, spec_params, FLUCTUATION_UNRECORDED,
                                         FLUCTUATION_UNRECORDED)
        if experiment == "kernel_fluctuations":
            points = fluctuation_points(df)
            wf, pf, nf = width_fits(points), params_fits(points), n_fits(points)
            ens = ensemble_laws(df, directory)
            few = [p for p in points if p.n_seeds < 3]
            if few:
                notes.append(f"{len(few)} point(s) with fewer than 3 seeds are left out of "
                             "the fits")
        else:
            try:
                hn = hanin_nica(df)
            except ValueError as exc:
                notes.append(str(exc))
    notes += [f"{f.quantity} vs {f.variable} ({f.group}): {f.note}"
              for f in (*wf, *pf, *nf) if f.note]
    return FluctuationAnalysis(settings, tuple(points), tuple(wf), tuple(pf), tuple(nf),
                               tuple(ens), tuple(ensemble_scaling(ens)), hn, n_done,
                               n_failed, tuple(notes))
