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
* :func:`ensemble_laws` — the distance of ensemble averages K̄ to K_∞ against the
  ensemble size and its random part (two disjoint ensembles), with the bias
  ‖E K_n − K_∞‖.
* :func:`analyze_fluctuations` — all of it as one frozen :class:`FluctuationAnalysis`.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from ntkjam.analysis.hanin_nica import HaninNicaFit, hanin_nica
from ntkjam.analysis.power_law import (
    Z95,
    PowerLawFit,
    chi2_check,
    exponent_verdict,
    power_law_fit,
)
from ntkjam.analysis.stats import positive_errors, wls
from ntkjam.analysis.tables import jsonable, load_run, recorded_settings
from ntkjam.core.reprs import SummaryRepr
from ntkjam.sweep import load_arrays

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


def _sem(v: np.ndarray) -> float:
    return float(np.std(v, ddof=1) / math.sqrt(v.size)) if v.size > 1 else math.nan


def fluctuation_points(df: Any) -> list[FluctuationPoint]:
    """Group the finished rows of a ``kernel_fluctuations`` table by (depth, width, n)."""
    points = []
    for (depth, width, n), g in df.groupby(["depth", "width", "n"], sort=True):
        means, errors = {}, {}
        for q in DISTANCES:
            v = g[q].to_numpy(dtype=float)
            means[q], errors[q] = float(np.mean(v)), _sem(v)
        sq = g["rel_frobenius"].to_numpy(dtype=float) ** 2
        means["entry_variance"], errors["entry_variance"] = float(np.mean(sq)), _sem(sq)
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
    """Distances vs width n at each (depth, N); hypothesis n^-1/2."""
    return _fits(points, lambda p: (f"depth {p.depth}, N = {p.n}", p.depth, p.n), "width",
                 _WIDTH_QUANTITIES, lambda q: {"n^-1/2": -0.5}, lambda p: p.width)


def params_fits(points: list[FluctuationPoint]) -> list[PowerLawFit]:
    """rel_frobenius vs P at each (depth, N); hypotheses P^-1/4 and P^-1/2."""
    return _fits(points, lambda p: (f"depth {p.depth}, N = {p.n}", p.depth, p.n), "P",
                 ("rel_frobenius",), lambda q: {"P^-1/4": -0.25, "P^-1/2": -0.5},
                 lambda p: p.n_params)


def n_fits(points: list[FluctuationPoint]) -> list[PowerLawFit]:
    """Norms vs N at each (depth, width), against correlated and iid predictions."""
    return _fits(points, lambda p: (f"depth {p.depth}, width {p.width}", p.depth, p.width),
                 "N", tuple(_N_HYPOTHESES), _N_HYPOTHESES.get, lambda p: p.n)


# -------------------------------------------------------------------- ensembles
@dataclass(frozen=True, repr=False)
class EnsembleLaw(SummaryRepr):
    """Ensemble averages K̄_m of m networks at one (depth, width, N, n_ens).

    Attributes
    ----------
    depth, width, n, n_ens, n_seeds : int
    sizes, distance, distance_err : ndarray, shape (n_ens,)
        m and ‖K̄_m − K_∞‖_F/‖K_∞‖_F (root mean square over seeds, its error):
        E of its square is ‖E K_n − K_∞‖²/‖K_∞‖² + S²/m.
    pair_sizes, random_part, random_part_err : ndarray, shape (n_ens//2,)
        m and ‖K̄_m^A − K̄_m^B‖_F/(√2 ‖K_∞‖_F) (RMS over seeds): the random part of
        K̄_m, no bias; E of its square is S²/m exactly.
    distance_fit, random_fit : PowerLawFit or None
        Both against m (hypothesis n_ens^-1/2), the interval the larger of the fit's
        and a jackknife over seeds; None below 3 sizes.
    bias_sq, bias_sq_err : float
        ‖E K_n − K_∞‖_F²/‖K_∞‖_F² (unbiased estimate, may be negative) and its error.
    amplitude : float
        c in random part ≈ c/√(n · m): the m = 1 random part times √width.
    random_part_seeds : ndarray, shape (n_seeds, n_ens//2)
        The random part of every seed (for the jackknife of the joint fit).
    """

    depth: int
    width: int
    n: int
    n_ens: int
    n_seeds: int
    sizes: np.ndarray
    distance: np.ndarray
    distance_err: np.ndarray
    pair_sizes: np.ndarray
    random_part: np.ndarray
    random_part_err: np.ndarray
    distance_fit: PowerLawFit | None
    random_fit: PowerLawFit | None
    bias_sq: float
    bias_sq_err: float
    amplitude: float
    random_part_seeds: np.ndarray


def _stack(directory, hashes, name: str) -> np.ndarray:
    return np.array([load_arrays(directory, h)[name] for h in hashes])


def _rms(V: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Root mean square over seeds (rows) and its delta-method error."""
    sq = V**2
    rms = np.sqrt(sq.mean(axis=0))
    return rms, sq.std(axis=0, ddof=1) / math.sqrt(len(V)) / (2 * rms)


def _ensemble_fit(m, V, group, quantity) -> PowerLawFit | None:
    """RMS over seeds vs m; the sizes share networks, so the interval is the larger of the
    fit's and a jackknife over seeds."""
    if m.size < 3:
        return None
    hyp = {"n_ens^-1/2": -0.5}
    f = power_law_fit(m, *_rms(V), quantity=quantity, variable="n_ens", group=group,
                      hypotheses=hyp)
    k = len(V)
    loo = [power_law_fit(m, *_rms(np.delete(V, i, axis=0)), quantity=quantity).exponent
           for i in range(k)]
    jk = math.sqrt((k - 1) / k * float(np.sum((np.array(loo) - np.mean(loo)) ** 2)))
    if jk <= f.exponent_err:
        return f
    lo, hi = f.exponent - Z95 * jk, f.exponent + Z95 * jk
    return replace(f, exponent_err=jk, ci_low=lo, ci_high=hi,
                   verdict=exponent_verdict(lo, hi, hyp),
                   note=(f.note + "; " if f.note else "") + "interval from a jackknife over "
                   "seeds (the ensemble sizes share networks)")


def ensemble_laws(df: Any, directory: str | Path) -> list[EnsembleLaw]:
    """One :class:`EnsembleLaw` per (depth, width, N, n_ens ≥ 2) with ≥ 3 seeds."""
    out = []
    if "n_ens" not in df.columns:
        return out
    for (depth, width, n, n_ens), g in df.groupby(["depth", "width", "n", "n_ens"], sort=True):
        if n_ens < 2 or len(g) < 3:
            continue
        D = _stack(directory, g["hash"], "ensemble_rel_frobenius")
        R = _stack(directory, g["hash"], "pair_rel_frobenius")
        m, mp = np.arange(1, D.shape[1] + 1), np.arange(1, R.shape[1] + 1)
        b = g["bias_sq"].to_numpy(dtype=float)
        label = f"depth {depth}, width {width}, N = {n}"
        rm, re = _rms(R)
        out.append(EnsembleLaw(
            int(depth), int(width), int(n), int(n_ens), len(g), m, *_rms(D), mp, rm, re,
            _ensemble_fit(m, D, label, "ens_rel_frobenius"),
            _ensemble_fit(mp, R, label, "pair_rel_frobenius"),
            float(b.mean()), _sem(b), float(rm[0] * math.sqrt(width)), R))
    return out


@dataclass(frozen=True, repr=False)
class EnsembleScaling(SummaryRepr):
    """The random part of K̄ over every width n and ensemble size m at one (depth, N):
    ``R = amplitude · n^width_exponent · m^ens_exponent`` (weighted log fit; errors the
    larger of the fit's and a jackknife over seeds).

    ``verdict``: ``"consistent with (n·n_ens)^-1/2"`` when both intervals hold −1/2,
    ``"excludes (n·n_ens)^-1/2"`` when one excludes it, else ``"undetermined"``.
    """

    verdict: str
    depth: int
    n: int
    width_exponent: float
    width_exponent_err: float
    ens_exponent: float
    ens_exponent_err: float
    amplitude: float
    chi2: float
    dof: int
    p_value: float
    note: str = ""


def _joint_fit(es: list[EnsembleLaw], drop: int | None = None):
    """WLS of log R on (1, log n, log m) over the laws ``es``, seed ``drop`` left out."""
    rows = []
    for e in es:
        V = e.random_part_seeds if drop is None else np.delete(e.random_part_seeds, drop, 0)
        r, err = _rms(V)
        rows += [(e.width, m, ri, ei) for m, ri, ei in zip(e.pair_sizes, r, err, strict=True)
                 if ri > 0]
    w, m, r, err = (np.array(c, dtype=float) for c in zip(*rows, strict=True))
    X = np.column_stack([np.ones_like(w), np.log(w), np.log(m)])
    beta, cov, chi2 = wls(X, np.log(r), positive_errors(err, r) / r)
    return beta, cov, chi2, w.size - 3


def ensemble_scaling(laws: list[EnsembleLaw]) -> list[EnsembleScaling]:
    """Joint fits of the random parts of the laws sharing (depth, N) (≥ 2 widths, ≥ 2 m).

    The errors are the larger of the fit's and a jackknife over seeds (all sizes of one
    law share its networks).
    """
    groups: dict[tuple[int, int], list[EnsembleLaw]] = {}
    for e in laws:
        groups.setdefault((e.depth, e.n), []).append(e)
    out = []
    for (depth, n), es in sorted(groups.items()):
        if len({e.width for e in es}) < 2 or max(e.pair_sizes.size for e in es) < 2:
            continue
        k = min(e.n_seeds for e in es)
        es = [replace(e, random_part_seeds=e.random_part_seeds[:k]) for e in es]
        beta, cov, chi2, dof = _joint_fit(es)
        p, scale, note = chi2_check(chi2, dof)
        loo = np.array([_joint_fit(es, i)[0] for i in range(k)])
        jk = np.sqrt((k - 1) / k * np.sum((loo - loo.mean(axis=0)) ** 2, axis=0))
        errs = np.maximum(np.sqrt(np.diag(cov)) * scale, jk)
        words = [exponent_verdict(b - Z95 * e_, b + Z95 * e_, {"-1/2": -0.5})
                 for b, e_ in zip(beta[1:], errs[1:], strict=True)]
        verdict = ("consistent with (n·n_ens)^-1/2" if all(v.startswith("consistent")
                                                          for v in words)
                   else "excludes (n·n_ens)^-1/2" if any(v.startswith("excludes")
                                                         for v in words)
                   else "undetermined")
        out.append(EnsembleScaling(verdict, depth, n, float(beta[1]), float(errs[1]),
                                   float(beta[2]), float(errs[2]), float(math.exp(beta[0])),
                                   float(chi2), dof, p, note))
    return out


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
        """A JSON-ready dict (arrays as lists, NaN as None)."""
        return jsonable(asdict(self))


def analyze_fluctuations(kernels: str | Path | None,
                         diagonal: str | Path | None = None) -> FluctuationAnalysis:
    """Analyse a ``kernel_fluctuations`` run directory and/or an ``ntk_diagonal_moments`` one.

    Raises
    ------
    ValueError
        Neither directory given, a directory of another experiment, or no finished task.
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
