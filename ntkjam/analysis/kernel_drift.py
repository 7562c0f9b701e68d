"""Training drift of the NTK from a ``kernel_drift`` store (read only; nothing recomputed).

* :func:`drift_points` — per (condition, width, α, side of φ_c): the mean over seeds of
  the drifts ‖K_T − K_0‖/‖K_0‖ (Frobenius, operator), the weight change and the
  activation-pattern change, with standard errors.  The *condition* is everything else
  that defines a run (loss, N or φ, activation, depth, d, optimizer settings); the
  *side* is where the run ended: ``"sat"`` (zero loss: hinge SAT, MSE interpolation) or
  ``"unsat"`` (a positive loss stopped falling).  Runs out of budget are left out (and
  counted).
* :func:`width_fits`, :func:`params_fits` — power laws in the width n and in P at each
  (condition, α, side), against n^-1 (and n^-3/4, n^-1/2, n^0): the verdict says
  "consistent with n^-1" only where the 95 % interval holds −1 and no other exponent.
  Also fitted: ``drift_per_weight`` = drift / ‖θ_T − θ_0‖ (per run), the kernel's response
  to a unit of weight motion, which removes the width dependence of how far the weights
  had to go (first order: n^-1).
* :func:`alpha_scans` — the drift against α at each (condition, width, side): local
  slopes between neighbouring α and a power law over α ≥ ``alpha_min``; defined in
  :mod:`ntkjam.analysis.drift_alpha`, re-exported here.
* :func:`side_comparisons` — does the kernel move more when the problem is UNSAT?  The
  ratio of the mean drifts of the UNSAT and SAT runs at neighbouring sizes across φ_c
  (and pooled over all sizes), with a 95 % interval (delta method on the log); defined
  in :mod:`ntkjam.analysis.drift_sides`, re-exported here.
* :func:`analyze_kernel_drift` — all of it as one frozen :class:`KernelDriftAnalysis`.

Fits are :func:`ntkjam.analysis.power_law.power_law_fit` (weighted log–log, intervals
scaled by √(χ²/dof) when the χ² p-value is below 0.01).  See ``docs/kernel_drift.md``.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ntkjam.analysis.drift_alpha import (
    ALPHA_HYPOTHESES,
    MIN_RUNS,
    AlphaScan,
    alpha_scans,
    fit_groups,
)
from ntkjam.analysis.drift_sides import SideComparison, side_comparisons
from ntkjam.analysis.power_law import PowerLawFit, power_law_fit
from ntkjam.analysis.stats import standard_error
from ntkjam.analysis.tables import jsonable, load_run, recorded_settings
from ntkjam.core.reprs import SummaryRepr

__all__ = [
    "ALPHA_HYPOTHESES",
    "DRIFT_QUANTITIES",
    "DRIFT_UNRECORDED",
    "WIDTH_HYPOTHESES",
    "AlphaScan",
    "DriftPoint",
    "KernelDriftAnalysis",
    "SideComparison",
    "alpha_scans",
    "analyze_kernel_drift",
    "drift_points",
    "params_fits",
    "side_comparisons",
    "width_fits",
]

#: The per-task measurements averaged over seeds at each point.
DRIFT_QUANTITIES = ("rel_frobenius", "rel_operator", "weight_change", "pattern_change",
                    "drift_per_weight", "kernel_growth", "lambda_ratio", "final_loss",
                    "steps", "time")
#: Exponents of the drift in the width (docs/kernel_drift.md).
WIDTH_HYPOTHESES = {"n^-1": -1.0, "n^-3/4": -0.75, "n^-1/2": -0.5, "n^0": 0.0}
_WEIGHT_HYPOTHESES = {"n^-1": -1.0, "n^-1/2": -0.5, "n^0": 0.0}
_P_HYPOTHESES = {"P^-1": -1.0, "P^-1/2": -0.5}
#: The columns (besides width, α and N or φ) that define a run's condition.
CONDITION = ("loss", "activation", "depth", "d", "labels", "data_seed", "margin", "sigma_w",
             "lr", "step_rule", "momentum", "max_steps", "window", "rtol", "sat_tol",
             "loss_tol")
#: Settings of a store that records them nowhere: the task defaults when written.
DRIFT_UNRECORDED = {"loss": "quadratic_hinge", "activation": "relu", "depth": 1, "d": 10,
                    "labels": "random", "data_seed": -1, "margin": 1.0,
                    "sigma_w": math.sqrt(2.0), "lr": 1.0, "step_rule": "tracked",
                    "momentum": 0.0, "max_steps": 200_000, "window": 5_000, "rtol": 1e-5,
                    "sat_tol": 1e-6, "loss_tol": 1e-8}
_FIT_QUANTITIES = ("rel_frobenius", "rel_operator", "drift_per_weight", "weight_change",
                   "pattern_change")
_SIDES = ("sat", "unsat")


@dataclass(frozen=True, repr=False)
class DriftPoint(SummaryRepr):
    """One (condition, width, α, side): means over seeds and their standard errors.

    Attributes
    ----------
    side : str
        ``"sat"`` or ``"unsat"`` (where the runs ended).
    condition : tuple
        The values of :data:`CONDITION` and ``(size kind, size)``.
    label : str
        The condition in words (the settings that vary in the store, the loss, N or φ).
    loss : str
    size_kind : str
        ``"n"`` (N fixed across widths) or ``"phi"`` (φ = N/P fixed).
    size : float
        N or φ.
    width : int
    alpha : float
    n_seeds : int
        Runs behind the means.
    n_params : int
        P.
    n_points : float
        Mean N (varies with the width at fixed φ).
    means, errors : dict of str to float
        Every name of :data:`DRIFT_QUANTITIES` present in the store.

    Examples
    --------
    >>> import pandas as pd
    >>> from ntkjam.analysis.kernel_drift import drift_points
    >>> df = pd.DataFrame({"width": 64, "seed": [0, 1, 2], "n": 50, "alpha": 10.0,
    ...                    "side": "sat", "n_params": 768, "n_points": 50,
    ...                    "rel_frobenius": [0.02, 0.03, 0.04]})
    >>> (pt,) = drift_points(df)
    >>> pt.label, pt.n_seeds, round(pt.means["rel_frobenius"], 6)  # unrecorded: the defaults
    ('quadratic_hinge, N = 50', 3, 0.03)
    >>> round(pt.errors["rel_frobenius"], 6)  # standard error of the 3 runs: 0.01/√3
    0.005774
    """

    side: str
    condition: tuple
    label: str
    loss: str
    size_kind: str
    size: float
    width: int
    alpha: float
    n_seeds: int
    n_params: int
    n_points: float
    means: dict
    errors: dict


def _size_of(row) -> tuple[str, float]:
    phi = row.get("phi")
    if phi is not None and isinstance(phi, (int, float)) and math.isfinite(phi):
        return "phi", float(phi)
    return "n", float(row["n"])


def _prepared(df) -> Any:
    """Rows with their size (kind, value), side and every condition column filled in."""
    df = df.copy()
    for k, v in DRIFT_UNRECORDED.items():
        df[k] = df[k].where(df[k].notna(), v) if k in df.columns else v
    sizes = [_size_of(r) for r in df.to_dict("records")]
    df["size_kind"] = [s[0] for s in sizes]
    df["size"] = [s[1] for s in sizes]
    if "weight_distance" in df.columns:  # the drift per unit of ‖θ_T − θ_0‖ (first order: n^-1)
        df["drift_per_weight"] = df["rel_frobenius"] / df["weight_distance"]
    if "side" not in df.columns:
        df["side"] = np.where(df["train_status"].isin(["sat", "converged"]), "sat",
                              np.where(df["train_status"] == "unsat", "unsat", "undecided"))
    return df


def _label(values: dict, varying: list[str]) -> str:
    size = (f"N = {values['size']:g}" if values["size_kind"] == "n"
            else f"φ = {values['size']:g}")
    parts = [str(values["loss"]), size]
    parts += [f"{k} {values[k]}" for k in varying if k != "loss"]
    return ", ".join(parts)


def drift_points(df) -> list[DriftPoint]:
    """Group the finished rows of a ``kernel_drift`` table by condition, width, α, side.

    Parameters
    ----------
    df : pandas.DataFrame
        The ``done`` rows of a ``kernel_drift`` store (:func:`ntkjam.sweep.load`); a
        condition column it lacks takes its value from :data:`DRIFT_UNRECORDED`, and the
        side from ``train_status`` when there is no ``side`` column.

    Returns
    -------
    list of DriftPoint
        One per group of SAT or UNSAT runs (undecided runs are left out), sorted by
        condition, size, width, α and side.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from ntkjam.analysis.kernel_drift import drift_points
    >>> w = np.repeat([32, 64, 128], 3); s = np.tile([-1, 0, 1], 3)  # 3 widths × 3 seeds
    >>> df = pd.DataFrame({"width": w, "seed": s, "n": 50, "alpha": 10.0, "n_params": 12 * w,
    ...                    "train_status": "converged", "n_points": 50,
    ...                    "rel_frobenius": 4 / w * (1 + 0.01 * s)})  # drift = 4/n ± 1 %
    >>> [(p.side, p.width, round(p.means["rel_frobenius"], 6)) for p in drift_points(df)]
    [('sat', 32, 0.125), ('sat', 64, 0.0625), ('sat', 128, 0.03125)]
    """
    df = _prepared(df)
    df = df[df["side"].isin(_SIDES)]
    varying = [c for c in CONDITION if df[c].nunique() > 1]
    keys = [*CONDITION, "size_kind", "size", "width", "alpha", "side"]
    points = []
    for values, g in df.groupby(keys, sort=True):
        v = dict(zip(keys, values, strict=True))
        means, errors = {}, {}
        for q in DRIFT_QUANTITIES:
            if q in g.columns:
                x = g[q].to_numpy(dtype=float)
                means[q], errors[q] = float(np.mean(x)), standard_error(x)
        cond = tuple(v[k] for k in (*CONDITION, "size_kind", "size"))
        points.append(DriftPoint(
            str(v["side"]), cond, _label(v, varying), str(v["loss"]), str(v["size_kind"]),
            float(v["size"]), int(v["width"]), float(v["alpha"]), len(g),
            int(g["n_params"].iloc[0]), float(g["n_points"].mean()), means, errors))
    return points


def _side_word(side: str) -> str:
    return "SAT" if side == "sat" else "UNSAT"


def _fits_over(points, key, xof, variable, quantities, hypotheses, group) -> list[PowerLawFit]:
    out = []
    for k, pts in fit_groups(points, key).items():
        if len({xof(p) for p in pts}) < 3 or len(pts) != len({xof(p) for p in pts}):
            continue
        pts = sorted(pts, key=xof)
        for q in quantities:
            if q not in pts[0].means:
                continue
            try:
                out.append(power_law_fit(
                    [xof(p) for p in pts], [p.means[q] for p in pts],
                    [p.errors[q] for p in pts], quantity=q, variable=variable,
                    group=group(pts[0]), hypotheses=hypotheses(q), key=k))
            except ValueError:  # fewer than 3 positive means (e.g. no pattern flip)
                continue
    return out


def width_fits(points: list[DriftPoint]) -> list[PowerLawFit]:
    """Drift, weight and pattern change vs width at each (condition, α, side) with ≥ 3
    widths of ≥ 3 seeds; the key is ``(condition, α, side)``.

    Parameters
    ----------
    points : list of DriftPoint
        From :func:`drift_points`.

    Returns
    -------
    list of PowerLawFit
        Per group and quantity (those with fewer than 3 positive means are skipped),
        against :data:`WIDTH_HYPOTHESES` (weight and pattern change: n^-1, n^-1/2, n^0).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from ntkjam.analysis.kernel_drift import drift_points, width_fits
    >>> w = np.repeat([32, 64, 128], 3); s = np.tile([-1, 0, 1], 3)
    >>> df = pd.DataFrame({"width": w, "seed": s, "n": 50, "alpha": 10.0, "side": "sat",
    ...                    "n_params": 12 * w, "n_points": 50, "weight_change": 0.1 / np.sqrt(w),
    ...                    "rel_frobenius": 4 / w * (1 + 0.01 * s)})
    >>> [(f.quantity, f.verdict, round(f.exponent, 4)) for f in width_fits(drift_points(df))]
    [('rel_frobenius', 'consistent with n^-1', -1.0),
     ('weight_change', 'consistent with n^-1/2', -0.5)]
    """
    return _fits_over(
        points, lambda p: (p.condition, p.alpha, p.side), lambda p: p.width, "width",
        _FIT_QUANTITIES,
        lambda q: _WEIGHT_HYPOTHESES if q in ("weight_change", "pattern_change")
        else WIDTH_HYPOTHESES,
        lambda p: f"{p.label}, α = {p.alpha:g}, {_side_word(p.side)}")


def params_fits(points: list[DriftPoint]) -> list[PowerLawFit]:
    """Drift and weight change vs P at each (condition, α, side) (P^-1/2: width n^-1 when
    P ~ n², depth ≥ 2).

    Parameters
    ----------
    points : list of DriftPoint
        From :func:`drift_points`.

    Returns
    -------
    list of PowerLawFit
        Per group with ≥ 3 values of P (of ≥ 3 seeds), against P^-1 and P^-1/2.

    Examples
    --------
    One hidden layer, so P = 12 n grows like the width: the exponents are the width's.

    >>> import numpy as np, pandas as pd
    >>> from ntkjam.analysis.kernel_drift import drift_points, params_fits
    >>> w = np.repeat([32, 64, 128], 3); s = np.tile([-1, 0, 1], 3)
    >>> df = pd.DataFrame({"width": w, "seed": s, "n": 50, "alpha": 10.0, "side": "sat",
    ...                    "n_params": 12 * w, "n_points": 50, "weight_change": 0.1 / np.sqrt(w),
    ...                    "rel_frobenius": 4 / w * (1 + 0.01 * s)})
    >>> [(f.variable, f.verdict) for f in params_fits(drift_points(df))]
    [('P', 'consistent with P^-1'), ('P', 'consistent with P^-1/2')]
    """
    return _fits_over(
        points, lambda p: (p.condition, p.alpha, p.side), lambda p: p.n_params, "P",
        ("rel_frobenius", "weight_change"), lambda q: _P_HYPOTHESES,
        lambda p: f"{p.label}, α = {p.alpha:g}, {_side_word(p.side)}")


@dataclass(frozen=True, repr=False)
class KernelDriftAnalysis(SummaryRepr):
    """Everything :func:`analyze_kernel_drift` finds (``to_dict()`` is JSON-ready).

    Attributes
    ----------
    settings : dict
        The settings recorded in the store (values joined by commas where they vary).
    points : tuple of DriftPoint
    width_fits, params_fits : tuple of PowerLawFit
    alpha_scans : tuple of AlphaScan
    sides : tuple of SideComparison
    n_done, n_failed, n_undecided : int
        Finished tasks, failed tasks, finished runs out of budget (left out).
    notes : tuple of str

    Examples
    --------
    Made by :func:`analyze_kernel_drift`; by hand from the points of a table, to show
    that ``to_dict()`` is JSON-ready:

    >>> import json
    >>> import pandas as pd
    >>> from ntkjam.analysis.kernel_drift import KernelDriftAnalysis, drift_points
    >>> df = pd.DataFrame({"width": 64, "seed": [0, 1], "n": 50, "alpha": 10.0, "side": "sat",
    ...                    "n_params": 768, "n_points": 50, "rel_frobenius": 0.01})
    >>> a = KernelDriftAnalysis({}, tuple(drift_points(df)), (), (), (), (), 2, 0, 0)
    >>> json.dumps(a.to_dict()["points"][0]["errors"])  # a zero spread: error 0
    '{"rel_frobenius": 0.0}'
    """

    settings: dict
    points: tuple
    width_fits: tuple
    params_fits: tuple
    alpha_scans: tuple
    sides: tuple
    n_done: int
    n_failed: int
    n_undecided: int
    notes: tuple = ()

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (arrays as lists, NaN as None).

        Examples
        --------
        By hand, one run (no standard error) and a NumPy setting:

        >>> import json
        >>> import numpy as np
        >>> import pandas as pd
        >>> from ntkjam.analysis.kernel_drift import KernelDriftAnalysis, drift_points
        >>> df = pd.DataFrame({"width": 64, "seed": [0], "n": 50, "alpha": 10.0, "side": "sat",
        ...                    "n_params": 768, "n_points": 50, "rel_frobenius": 0.01})
        >>> a = KernelDriftAnalysis({"d": np.int64(10)}, tuple(drift_points(df)), (), (), (), (),
        ...                         1, 0, 0)
        >>> d = a.to_dict(); json.dumps(d["settings"]), d["points"][0]["errors"]
        ('{"d": 10}', {'rel_frobenius': None})
        """
        return jsonable(asdict(self))


def analyze_kernel_drift(directory: str | Path, *, alpha_min: float = 10.0
                         ) -> KernelDriftAnalysis:
    """Analyse a ``kernel_drift`` run directory.

    Parameters
    ----------
    directory : str or Path
    alpha_min : float
        Smallest α of the power-law fits in α (the lazy side of the crossover).

    Returns
    -------
    KernelDriftAnalysis

    Raises
    ------
    ValueError
        A directory of another experiment, or no finished task.

    Examples
    --------
    A store of a ``kernel_drift`` spec whose rows are written by hand (training runs take
    seconds): MSE runs that converged, drift = 4/n, weight change ∝ n^-1/2.

    >>> import tempfile
    >>> from ntkjam import sweep
    >>> from ntkjam.analysis.kernel_drift import analyze_kernel_drift
    >>> from ntkjam.experiments.kernel_drift import kernel_drift_spec
    >>> from ntkjam.sweep.store import Store, TaskRecord
    >>> tmp = tempfile.TemporaryDirectory()
    >>> spec = kernel_drift_spec(widths=[32, 64, 128], losses=["mse"], output=tmp.name + "/run")
    >>> with Store(spec.output) as store:
    ...     store.bind(spec)
    ...     for t in sweep.expand(spec):  # 3 widths × 3 seeds
    ...         w = t.params["width"]
    ...         store.write(TaskRecord(t, "done", {
    ...             "train_status": "converged", "n_points": 50, "n_params": 12 * w,
    ...             "rel_frobenius": 4 / w * (1 + 0.01 * t.seed), "weight_change": w**-0.5}))
    >>> a = analyze_kernel_drift(spec.output)
    >>> a.n_done, len(a.points), a.settings["loss"]
    (9, 3, 'mse')
    >>> [(f.quantity, f.verdict) for f in a.width_fits]
    [('rel_frobenius', 'consistent with n^-1'), ('weight_change', 'consistent with n^-1/2')]
    >>> tmp.cleanup()
    """

    table, n_failed, spec_params = load_run(directory)
    if "experiment" in table.columns and len(table) and (table["experiment"]
                                                         != "kernel_drift").any():
        raise ValueError(f"'{directory}' is not a kernel_drift run directory (it holds "
                         f"{table['experiment'].iloc[0]!r})")
    df = table[table["status"] == "done"] if "status" in table.columns else table
    if len(df) == 0:
        raise ValueError(f"'{directory}' has no finished kernel_drift tasks")
    settings = recorded_settings(df, spec_params, DRIFT_UNRECORDED, DRIFT_UNRECORDED)
    prepared = _prepared(df)
    undecided = int((prepared["side"] == "undecided").sum())
    points = drift_points(df)
    wf, pf = width_fits(points), params_fits(points)
    scans = alpha_scans(points, alpha_min)
    notes = []
    if undecided:
        notes.append(f"{undecided} run(s) out of budget or non-finite are left out")
    few = [p for p in points if p.n_seeds < MIN_RUNS]
    if few:
        notes.append(f"{len(few)} point(s) with fewer than {MIN_RUNS} runs are left out of "
                     "the fits")
    notes += [f"{f.quantity} vs {f.variable} ({f.group}): {f.note}" for f in (*wf, *pf)
              if f.note]
    return KernelDriftAnalysis(settings, tuple(points), tuple(wf), tuple(pf), tuple(scans),
                               tuple(side_comparisons(points)), len(df), n_failed,
                               undecided, tuple(notes))
