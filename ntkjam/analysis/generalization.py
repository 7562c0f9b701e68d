"""Generalization across φ = N/P from a ``generalization`` run directory (read only).

* :func:`generalization_curves` — each measured quantity vs φ per size (fixed P, or fixed
  N for stores written with ``n_train``): mean, standard error, 95 % interval, median.
* from :mod:`ntkjam.analysis.curve_peaks` (re-exported here): the :class:`Curve` itself,
  ``locate_peak`` — where a curve has its maximum: a local quadratic fit (in log y)
  around the largest mean, with a bootstrap over seeds for the interval; "undetermined"
  when the maximum sits at an edge of the grid (or does in > 10 % of the resamples) —
  and ``locate_cusp`` — where a curve stops rising (or stays flat) and falls: the break
  of a continuous two-segment fit, with a bootstrap interval (the hinge tasks' test error).
* φ_c from P(SAT) = ½ for the hinge tasks: :func:`ntkjam.analysis.crossings` (the
  phase diagram's fit), on φ directly.
* :func:`~ntkjam.analysis.generalization_theory.theory_comparisons` — the relative
  deviation from the theory the tasks stored (Hastie et al., Mei–Montanari, spectral),
  away from the ridgeless divergence; :func:`~ntkjam.analysis.generalization_theory.theory_curves`
  the same theories on a fine grid.
* from :mod:`ntkjam.analysis.generalization_scaling`: ``ensemble_effects``, the peak of
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

from ntkjam.analysis.curve_peaks import Curve, Cusp, Peak, locate_cusp, locate_peak
from ntkjam.analysis.generalization_scaling import (
    EnsembleEffect,
    ErrorScaling,
    PScaling,
    ensemble_effects,
    error_scaling,
    p_scaling,
)
from ntkjam.analysis.generalization_theory import (
    TheoryComparison,
    TheoryCurve,
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
class PeakVsCrossing(SummaryRepr):
    """A located maximum against φ_c (P(SAT) = ½) at the same size.

    ``shift = phi_peak/phi_c − 1`` with ``shift_low, shift_high`` from the peak's
    interval (φ_c's own interval is in the crossing); ``kind`` is ``"maximum"``
    (:class:`Peak`) or ``"cusp"`` (:class:`Cusp`, ``phi_peak`` its breakpoint).

    Examples
    --------
    Made by :func:`analyze_generalization` for each located maximum or cusp; by hand, a
    peak at φ = 2.1 (interval 2.0–2.2) against φ_c = 2.0 sits 5 % above it:

    >>> from ntkjam.analysis.generalization import PeakVsCrossing
    >>> m = PeakVsCrossing("test_error", 100, 2.1, 2.0, 1.95, 2.05, 2.1 / 2.0 - 1, 0.0, 0.1)
    >>> round(m.shift, 4), m.kind
    (0.05, 'maximum')
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
    """Everything :func:`analyze_generalization` measures; ``to_dict()`` is JSON-ready.

    Attributes
    ----------
    directory : str
    settings : dict
        The fixed settings recorded in the store (task, source, d, noise, …).
    group : str
        ``"P"`` (fixed P) or ``"N"`` (fixed N).
    threshold : float
        MSE's interpolation threshold in φ (rank/P; NaN for the kernel).
    curves : list of Curve
    peaks, cusps : list of Peak, list of Cusp
    crossings : list of Crossing
        φ_c per size (hinge tasks).
    peak_vs_crossing : list of PeakVsCrossing
    theory, theory_curves : list of TheoryComparison, list of TheoryCurve
    ensemble, p_scaling, error_scaling : lists of EnsembleEffect, PScaling, ErrorScaling
    n_done, n_failed, n_inexact : int
    notes : list of str

    Examples
    --------
    Made by :func:`analyze_generalization`; a tiny hinge sweep (P = 10, 6 φ, 3 seeds)
    has a crossing, and no closed-form theory:

    >>> import tempfile
    >>> from ntkjam import sweep
    >>> from ntkjam.analysis.generalization import analyze_generalization
    >>> from ntkjam.experiments.generalization import generalization_spec
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     spec = generalization_spec(P=[10], phi_max=3.0, phi_num=6, seeds=3, output=tmp)
    ...     analysis = analyze_generalization(sweep.run(spec).directory, n_boot=20)
    >>> analysis.settings["task"], analysis.n_done, len(analysis.crossings), analysis.theory
    ('noisy_teacher_hinge', 18, 1, [])
    >>> analysis.curve("sat", 10).phi.shape, sorted(analysis.to_dict())[:3]
    ((6,), ['crossings', 'curves', 'cusps'])
    """

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
        """A JSON-ready dict (arrays as lists, NaN as None).

        Examples
        --------
        By hand, from the curves of a two-seed table (no interpolation threshold: NaN):

        >>> import math
        >>> import pandas as pd
        >>> from ntkjam.analysis.generalization import GeneralizationAnalysis, generalization_curves
        >>> df = pd.DataFrame({"size": 10, "seed": [0, 1, 0, 1], "phi_x": [1.0, 1.0, 3.0, 3.0],
        ...                    "sat": [1, 1, 0, 1]})
        >>> a = GeneralizationAnalysis("run", {}, "P", math.nan, generalization_curves(df, "P"),
        ...                            *[[] for _ in range(9)], 2, 0, 0, [])
        >>> d = a.to_dict()
        >>> d["threshold"], d["curves"][0]["mean"], d["curves"][0]["sem"]
        (None, [1.0, 0.5], [0.0, 0.5])
        """
        return jsonable(asdict(self))

    def curve(self, quantity: str, size: int) -> Curve | None:
        """The curve of ``quantity`` at ``size`` (None when the store lacks it).

        Examples
        --------
        By hand, from the curves of a two-seed table at P = 10:

        >>> import math
        >>> import pandas as pd
        >>> from ntkjam.analysis.generalization import GeneralizationAnalysis, generalization_curves
        >>> df = pd.DataFrame({"size": 10, "seed": [0, 1, 0, 1], "phi_x": [1.0, 1.0, 3.0, 3.0],
        ...                    "sat": [1, 1, 0, 1]})
        >>> a = GeneralizationAnalysis("run", {}, "P", math.nan, generalization_curves(df, "P"),
        ...                            *[[] for _ in range(9)], 2, 0, 0, [])
        >>> a.curve("sat", 10).mean.tolist(), a.curve("sat", 20), a.curve("test_error", 10)
        ([1.0, 0.5], None, None)
        """
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
    """Every stored quantity of :data:`QUANTITIES` vs φ, per size.

    Parameters
    ----------
    df : pandas.DataFrame
        Finished rows with columns ``size`` (the fixed P or N), ``seed``, ``phi_x``
        (φ = n/n_params) and the quantities.
    group : str
        ``"P"`` or ``"N"``: what ``size`` is.

    Returns
    -------
    list of Curve
        Per size (increasing), per quantity present, in the order of :data:`QUANTITIES`;
        k the φ and s the seeds of that size.

    Examples
    --------
    Two seeds at two φ; the mean of ``sat`` is P(SAT):

    >>> import pandas as pd
    >>> from ntkjam.analysis.generalization import generalization_curves
    >>> df = pd.DataFrame({"size": 10, "seed": [0, 1, 0, 1], "phi_x": [1.0, 1.0, 3.0, 3.0],
    ...                    "test_error": [0.25, 0.75, 0.5, 1.0], "sat": [1, 1, 0, 1]})
    >>> [(c.quantity, c.mean.tolist(), c.values.shape) for c in generalization_curves(df, "P")]
    [('test_error', [0.5, 0.75], (2, 2)), ('sat', [1.0, 0.5], (2, 2))]
    """
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

    Examples
    --------
    Ridgeless regression on P = 10 random ReLU features: the members' test error peaks
    just above the interpolation threshold φ = rank/P = 1 (double descent), and the
    stored Mei–Montanari theory is compared:

    >>> import tempfile
    >>> from ntkjam import sweep
    >>> from ntkjam.analysis.generalization import analyze_generalization
    >>> from ntkjam.experiments.generalization import generalization_spec
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     spec = generalization_spec(P=[10], phi_max=3.0, phi_num=5, seeds=3, output=tmp,
    ...                                task="regression_mse", epsilon=0.0)
    ...     analysis = analyze_generalization(sweep.run(spec).directory, n_boot=20)
    >>> peak = next(p for p in analysis.peaks if p.quantity == "mean_test_error")
    >>> analysis.threshold, peak.status, bool(1.0 < peak.phi_peak < 1.75)
    (1.0, 'located', True)
    >>> [t.name for t in analysis.theory]
    ['mei_montanari']
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
