"""Generalization across φ = N/P from a ``generalization`` run directory (read only).

* :func:`generalization_curves` — each measured quantity vs φ per size (fixed P, or fixed
  N for stores written with ``n_train``): mean, standard error, 95 % interval, median.
* :func:`locate_peak` — where a curve has its maximum: a local quadratic fit (in log y)
  around the largest mean, with a bootstrap over seeds for the interval; "undetermined"
  when the maximum sits at an edge of the grid (or does in > 10 % of the resamples).
* :func:`locate_cusp` — where a curve stops rising (or stays flat) and falls: the break of
  a continuous two-segment fit, with a bootstrap interval (the hinge tasks' test error).
* φ_c from P(SAT) = ½ for the hinge tasks: :func:`ntkjam.analysis.crossings` (the
  phase diagram's fit), on φ directly.
* :func:`~ntkjam.analysis.generalization_theory.theory_comparisons` — the relative
  deviation from the theory the tasks stored (Hastie et al., Mei–Montanari, spectral),
  away from the ridgeless divergence; :func:`~ntkjam.analysis.generalization_theory.theory_curves`
  the same theories on a fine grid.
* from :mod:`ntkjam.analysis.generalization_theory`: ``ensemble_effects``, the peak of
  the members' mean error against the ensemble's, with a paired bootstrap of the
  relative reduction; at fixed N above the threshold (P > N/φ_threshold) ``p_scaling``,
  the gap between the single model and the ensemble ∝ P^γ, and ``error_scaling``, the
  test error's approach to its P → ∞ limit (Mei–Montanari's where it applies).
* :func:`analyze_generalization` — all of it, as a :class:`GeneralizationAnalysis`.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from ntkjam.analysis.generalization_theory import (
    EnsembleEffect,
    ErrorScaling,
    PScaling,
    TheoryComparison,
    TheoryCurve,
    ensemble_effects,
    error_scaling,
    p_scaling,
    theory_comparisons,
    theory_curves,
    value_matrix,
)
from ntkjam.analysis.sat import Crossing, crossings
from ntkjam.analysis.stats import check_bootstrap
from ntkjam.analysis.tables import jsonable, load_run, recorded_settings
from ntkjam.core.reprs import SummaryRepr

__all__ = ["Curve", "Cusp", "EnsembleEffect", "ErrorScaling", "GeneralizationAnalysis",
           "PScaling", "Peak", "PeakVsCrossing", "QUANTITIES", "TheoryComparison", "TheoryCurve",
           "analyze_generalization", "ensemble_effects", "generalization_curves",
           "locate_cusp", "locate_peak", "p_scaling"]

#: Columns summarised vs φ (those a store has; the mean of ``sat`` is P(SAT)).
QUANTITIES = ("test_error", "mean_test_error", "ens_test_error", "test_loss", "ens_test_loss",
              "sat", "train_loss", "teacher_error", "risk", "w_norm", "f_norm", "ens_f_norm")
#: Curves whose maximum is located.
PEAKED = ("test_error", "mean_test_error", "ens_test_error", "test_loss", "w_norm")
SETTINGS = ("task", "source", "d", "epsilon", "noise", "signal", "ridge", "margin", "n_test",
            "n_ens", "offset_scale", "sigma_w", "alpha")
#: Settings of a store that records them nowhere (the task defaults when it was written).
UNRECORDED = {"task": "noisy_teacher_hinge", "source": "relu_features", "d": 10,
              "epsilon": 0.2, "noise": 0.25, "signal": 1.0, "ridge": 0.0, "margin": 1.0,
              "n_test": 1000, "n_ens": 1, "offset_scale": 0.0, "sigma_w": 2**0.5, "alpha": 1.0}
_Z = 1.959963984540054


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


@dataclass(frozen=True, repr=False)
class PeakVsCrossing(SummaryRepr):
    """A located maximum against φ_c (P(SAT) = ½) at the same size.

    ``shift = phi_peak/phi_c − 1`` with ``shift_low, shift_high`` from the peak's
    interval (φ_c's own interval is in the crossing); ``kind`` is ``"maximum"``
    (:class:`Peak`) or ``"cusp"`` (:class:`Cusp`, ``phi_peak`` its breakpoint).
    """

    quantity: str
    size: int
    phi_peak: float
    phi_c: float
    phi_c_low: float
    phi_c_high: float
    shift: float
    shift_low: float
    shift_high: float
    kind: str = "maximum"


@dataclass(frozen=True, repr=False)
class GeneralizationAnalysis(SummaryRepr):
    """Everything :func:`analyze_generalization` measures; ``to_dict()`` is JSON-ready."""

    directory: str
    settings: dict
    group: str
    threshold: float
    curves: list
    peaks: list
    cusps: list
    crossings: list
    peak_vs_crossing: list
    theory: list
    theory_curves: list
    ensemble: list
    p_scaling: list
    error_scaling: list
    n_done: int
    n_failed: int
    n_inexact: int
    notes: list

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (arrays as lists, NaN as None)."""
        return jsonable(asdict(self))

    def curve(self, quantity: str, size: int) -> Curve | None:
        """The curve of ``quantity`` at ``size`` (None when the store lacks it)."""
        return next((c for c in self.curves if c.quantity == quantity and c.size == size),
                    None)


# ------------------------------------------------------------------------ the table
def _table(directory: Path):
    """Finished rows with ``group``/``size`` columns, and the run's facts."""
    table, n_failed, spec_params = load_run(directory)
    if "status" in table.columns:
        table = table[table["status"] == "done"]
    if len(table) == 0 or "test_error" not in table.columns:
        raise ValueError(f"'{directory}' holds no finished generalization tasks")
    df = table.copy()
    fixed_n = "n_train" in df.columns and df["n_train"].notna().any()
    df["size"] = (df["n_train"] if fixed_n else df["P"]).astype(int)
    df["phi_x"] = df["n"].astype(float) / df["n_params"].astype(float)
    return df, ("N" if fixed_n else "P"), n_failed, spec_params


def generalization_curves(df, group: str) -> list[Curve]:
    """Every stored quantity of :data:`QUANTITIES` vs φ, per size."""
    out = []
    for size, g in df.groupby("size", sort=True):
        for q in QUANTITIES:
            if q not in g.columns or g[q].isna().all():
                continue
            phi, V = value_matrix(g, q)
            k = np.sum(np.isfinite(V), axis=1)
            with np.errstate(invalid="ignore", divide="ignore"):
                mean = np.nanmean(V, axis=1)
                sem = np.nanstd(V, axis=1, ddof=1) / np.sqrt(k)
            sem = np.where(k > 1, sem, np.nan)
            out.append(Curve(quantity=q, group=group, size=int(size), phi=phi, n_seeds=k,
                             mean=mean, sem=sem, lo=mean - _Z * sem, hi=mean + _Z * sem,
                             median=np.nanmedian(V, axis=1), values=V))
    return out


# ---------------------------------------------------------------------------- peaks
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
    bootstrap over the seed columns of ``curve.values`` (the standard errors kept)."""
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


def _peak_vs_crossing(peaks: list, cross: list[Crossing]) -> list[PeakVsCrossing]:
    """Located maxima and cusps against φ_c at the same size."""
    at = {c.P: c for c in cross if np.isfinite(c.phi_c)}
    out = []
    for p in peaks:
        c, cusp = at.get(p.size), isinstance(p, Cusp)
        if p.status != "located" or c is None:
            continue
        x = p.phi_cusp if cusp else p.phi_peak
        out.append(PeakVsCrossing(
            quantity=p.quantity, size=p.size, phi_peak=x, phi_c=c.phi_c, phi_c_low=c.ci_low,
            phi_c_high=c.ci_high, shift=x / c.phi_c - 1, shift_low=p.ci_low / c.phi_c - 1,
            shift_high=p.ci_high / c.phi_c - 1, kind="cusp" if cusp else "maximum"))
    return out


def _crossings(df, group: str, model: str, n_boot: int, seed: int) -> list[Crossing]:
    """φ_c per size from the SAT verdicts, with the phase diagram's crossing fit.

    At fixed N the sizes are N and φ varies through P: the fit sees φ on a grid of
    10⁻⁶ (``n = round(10⁶ φ)`` against ``n_params = 10⁶``), so it fits in φ itself; the
    crossing's ``P`` is then N, its ``n_params`` and ``rank`` 0.
    """
    rows = df[df["sat"].notna()].copy()
    if len(rows) == 0:
        return []
    rows["P"] = rows["size"]
    if group == "N":
        rows["n"] = np.round(rows["phi_x"] * 1e6).astype(int)
        rows["n_params"], rows["rank"] = 10**6, 10**6
    rows = rows[[c for c in rows.columns if c != "cover"]]
    out = crossings(rows, model=model, n_boot=n_boot, seed=seed, theory=False)
    if group == "N":  # P of a crossing is then N; one P or rank does not exist
        out = [replace(c, n_params=0, rank=0, phi_c_rank=math.nan) for c in out]
    return out


# ------------------------------------------------------------------------- analysis
def _interpolation_threshold(df, settings: dict) -> float:
    """φ where N reaches the rank of the features (MSE's interpolation threshold, in units
    of P): the median of rank/P over the tasks with N ≥ P; NaN for the kernel."""
    if settings["source"] == "ntk_kernel":
        return math.nan
    rows = df[df["n"] >= df["n_params"]]
    if len(rows) == 0:
        return 1.0 if settings["source"] in ("relu_features", "linear") else math.nan
    return float(np.median(rows["rank"].astype(float) / rows["n_params"].astype(float)))


def _notes(df, settings: dict, theory: list, n_failed: int) -> list[str]:
    notes = []
    if n_failed:
        notes.append(f"{n_failed} task(s) failed: see `ntkjam sweep status`")
    n_inexact = int((~df["exact"].astype(bool)).sum()) if "exact" in df.columns else 0
    if n_inexact:
        notes.append(f"{n_inexact} task(s) kept a minimiser that may not be the one of least "
                     "norm (violated rows not spanning range(Jᵀ))")
    if "verdict" in df.columns:
        undecided = int(df["verdict"].isin(["budget", "nan"]).sum())
        if undecided and str(settings["task"]).endswith("_hinge"):
            notes.append(f"{undecided} training(s) ended undecided (budget or nan): counted as "
                         "not SAT in P(SAT), so φ_c is a lower bound; raise max_steps")
        elif undecided:
            notes.append(f"{undecided} training(s) ended on the budget (or nan) before the loss "
                         "stopped falling: early-stopped, not the MSE's end point")
    if int(settings["n_ens"]) < 2:
        notes.append("n_ens = 1: no ensemble (ens_* equal the single model)")
    if not theory:
        notes.append(f"no closed-form theory for task {settings['task']!r} with source "
                     f"{settings['source']!r} and offset_scale {settings['offset_scale']}: the "
                     "theories cover regression_mse with f0 = 0 (linear: Hastie et al.; "
                     "relu_features: Mei–Montanari; ntk_kernel: spectral)")
    return notes


def analyze_generalization(directory: str | Path, *, model: str = "erf", n_boot: int = 200,
                           seed: int = 0) -> GeneralizationAnalysis:
    """Analyse a ``generalization`` run directory (read only).

    Parameters
    ----------
    directory : path
    model : {"erf", "logistic"}
        Crossing model of P(SAT) (hinge tasks).
    n_boot : int
        Bootstrap samples of each peak, crossing and ensemble reduction.
    seed : int
        Seed of the bootstraps.

    Returns
    -------
    GeneralizationAnalysis
    """
    model, n_boot = check_bootstrap(model, n_boot)
    directory = Path(directory)
    df, group, n_failed, spec_params = _table(directory)
    settings = recorded_settings(df, spec_params, SETTINGS, UNRECORDED)
    curves = generalization_curves(df, group)
    peaks = [locate_peak(c, n_boot=n_boot, seed=seed) for c in curves if c.quantity in PEAKED]
    hinge = str(settings["task"]).endswith("_hinge")
    cusps = [locate_cusp(c, n_boot=n_boot, seed=seed) for c in curves
             if c.quantity in PEAKED[:3]] if hinge else []
    cross = _crossings(df, group, model, n_boot, seed) if hinge else []
    thr = _interpolation_threshold(df, settings)
    sizes = sorted({int(v) for v in df["size"]})
    at = {c.P: c.phi_c for c in cross}
    thresholds = {s: at.get(s, math.nan) if hinge else thr for s in sizes}
    theory = theory_comparisons(df, group)
    return GeneralizationAnalysis(
        directory=str(directory), settings=settings, group=group, threshold=thr, curves=curves,
        peaks=peaks, cusps=cusps, crossings=cross,
        peak_vs_crossing=_peak_vs_crossing(peaks + cusps, cross),
        theory=theory, theory_curves=theory_curves(directory, df, group, settings),
        ensemble=ensemble_effects(curves, int(settings["n_ens"]), n_boot=n_boot, seed=seed),
        p_scaling=p_scaling(df, thresholds) if group == "N" else [],
        error_scaling=error_scaling(df, thresholds, settings) if group == "N" else [],
        n_done=int(len(df)), n_failed=n_failed,
        n_inexact=int((~df["exact"].astype(bool)).sum()) if "exact" in df.columns else 0,
        notes=_notes(df, settings, theory, n_failed),
    )
