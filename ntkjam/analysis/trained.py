"""The trained phase diagram: P(SAT) and φ_c of trained networks per (P, α).

Reads a ``trained_phase_diagram`` run directory (read only).  The same P(SAT) and
crossing analysis as the lazy diagram (:mod:`ntkjam.analysis.sat`), per (P, α), with
the runs that exhausted their budget bracketed (counted UNSAT, then SAT), and the
lazy verdicts of the same initial networks as the reference.

* :func:`trained_curves` — one :class:`TrainedCurve` per (P, α).
* :func:`lazy_reference` — P(SAT) and φ_c of the stored lazy verdicts, per P.
* :func:`trained_scaling` — N*(P) = φ_c(P)·P across the sizes, per α (both bounds) and
  for the lazy reference, with the finite-size law of :mod:`ntkjam.analysis.scaling`;
  defined in :mod:`ntkjam.analysis.trained_sizes`, re-exported here.
* :func:`analyze_trained` — all three, as one frozen :class:`TrainedDiagramAnalysis`.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ntkjam._validate import as_choice
from ntkjam.analysis.sat import Crossing, SatCurve, crossings, sat_curves
from ntkjam.analysis.stats import MODELS, check_bootstrap
from ntkjam.analysis.tables import done_table, jsonable, load_run, recorded_settings
from ntkjam.analysis.trained_sizes import TrainedScaling, trained_scaling
from ntkjam.core.reprs import SummaryRepr
from ntkjam.core.status import STATUS_ALIASES

__all__ = [
    "SETTINGS",
    "TRAIN_STATUSES",
    "UNRECORDED",
    "TrainedCurve",
    "TrainedDiagramAnalysis",
    "TrainedScaling",
    "analyze_trained",
    "lazy_reference",
    "trained_curves",
    "trained_scaling",
]

#: Outcomes of a training run (the ``train_status`` column of a trained sweep).
TRAIN_STATUSES = ("sat", "unsat", "budget", "nan")
#: The fixed settings reported in :attr:`TrainedDiagramAnalysis.settings`.
SETTINGS = ("d", "labels", "margin", "lr", "step_rule", "momentum", "max_steps", "window",
            "rtol", "sat_tol")
#: Value of a setting that a store records nowhere (neither in its rows nor in its
#: spec): the ``trained_phase_diagram`` task defaults when such stores were written,
#: which recorded only the parameters given.  Kept here, not read from the experiment,
#: so that an old run keeps the label it was computed with whatever today's default is.
UNRECORDED: dict[str, Any] = {
    "d": 5,
    "labels": "random",
    "margin": 1.0,
    "lr": 1.0,
    "step_rule": "tracked",
    "momentum": 0.0,
    "max_steps": 200_000,
    "window": 5_000,
    "rtol": 1e-4,
    "sat_tol": 1e-6,
}


@dataclass(frozen=True, repr=False)
class TrainedCurve(SummaryRepr):
    """P(SAT) vs φ of trained networks at one (P, α), the undecided runs bracketed.

    A run ends ``sat``, ``unsat``, ``budget`` (budget exhausted: undecided; spelled
    ``max_steps`` in stores written before the vocabulary was unified) or ``nan``.
    ``sat`` counts only the runs that reached SAT, a lower bound on the probability
    that training (run long enough) fits the data; ``sat_upper`` also counts the
    undecided runs as SAT, an upper bound.  The crossings of the two
    bracket the threshold the same dynamics would reach without a budget (as far as
    the UNSAT rule's verdicts are right).

    Attributes
    ----------
    P : int
    alpha : float
        Output scale α.
    n_params, rank : int
        Parameters and largest Jacobian rank at initialisation.
    sat, sat_upper : SatCurve
        Lower and upper P(SAT) (``cover`` holds Cover's curve for the initial rank).
    n_unsat, n_max_steps, n_nan : numpy.ndarray of int, shape (k,)
        Outcome counts per φ (``sat.n_sat`` holds the SAT ones).
    crossing, crossing_upper : Crossing
        φ_c (P(SAT) = ½) of the lower and upper curves, with bootstrap intervals.
        NaN φ_c when a curve never crosses ½ on the grid.
    kernel_change : numpy.ndarray, shape (k,)
        Median ‖K_T − K_0‖_F/‖K_0‖_F per φ.
    steps : numpy.ndarray, shape (k,)
        Median number of gradient steps per φ.
    agreement : float
        Fraction of the decided runs (sat or unsat) whose verdict is the lazy one.
    n_decided : int
    n_beyond_lazy : numpy.ndarray of int, shape (k,)
        Runs that reached SAT where the lazy problem of the same initial network is
        UNSAT (training fitted more than the linearised network can).
    n_stuck : numpy.ndarray of int, shape (k,)
        Runs that ended UNSAT where the lazy problem is SAT (training converged to a
        positive loss although the linearised network fits the data).

    Examples
    --------
    Four seeds at N = 20, 30, 40, 50 (P = 20); a run out of budget at each N:

    >>> import pandas as pd
    >>> from ntkjam.analysis.trained import trained_curves
    >>> st = lambda m: "sat" if m < 50 else "budget" if m == 50 else "unsat"  # m = N + 10 seed
    >>> df = pd.DataFrame([{"P": 20, "alpha": 1.0, "phi": n / 20, "seed": s, "n": n, "n_params": 20,
    ...                     "rank": 20, "train_status": st(n + 10 * s), "sat": n + 10 * s < 50,
    ...                     "lazy_sat": n < 40} for n in (20, 30, 40, 50) for s in range(4)])
    >>> (c,) = trained_curves(df, n_boot=10)
    >>> c.sat.p_sat, c.sat_upper.p_sat, c.n_max_steps  # budget runs: UNSAT, then SAT
    (array([0.75, 0.5 , 0.25, 0.  ]), array([1.  , 0.75, 0.5 , 0.25]), array([1, 1, 1, 1]))
    >>> c.n_stuck, c.n_beyond_lazy, round(c.agreement, 4)  # against the lazy verdicts
    (array([0, 1, 0, 0]), array([0, 0, 1, 0]), 0.8333)
    """

    P: int
    alpha: float
    n_params: int
    rank: int
    sat: SatCurve
    sat_upper: SatCurve
    n_unsat: np.ndarray
    n_max_steps: np.ndarray
    n_nan: np.ndarray
    crossing: Crossing
    crossing_upper: Crossing
    kernel_change: np.ndarray
    steps: np.ndarray
    agreement: float
    n_decided: int
    n_beyond_lazy: np.ndarray
    n_stuck: np.ndarray


def _trained_table(df):
    """Finished rows of a trained sweep, checked; ``sat`` = reached SAT."""
    need = ("alpha", "train_status", "lazy_sat")
    missing = [c for c in need if c not in df.columns]
    if missing:
        raise ValueError(
            f"table is not a trained_phase_diagram sweep: column {missing[0]!r} is missing "
            "(run the 'trained_phase_diagram' experiment)"
        )
    df = done_table(df)
    # Stores written before the vocabulary was unified spell "budget" "max_steps".
    aliases = {k: str(v) for k, v in STATUS_ALIASES.items()}
    df["train_status"] = df["train_status"].replace(aliases)
    bad = sorted(set(df["train_status"]) - set(TRAIN_STATUSES))
    if bad:
        raise ValueError(f"train_status must be one of {TRAIN_STATUSES}, got {bad[0]!r}")
    df["alpha"] = df["alpha"].astype(float)
    df["sat"] = df["train_status"] == "sat"
    df["lazy_sat"] = df["lazy_sat"].astype(bool)
    return df


def _per_phi(g, values) -> np.ndarray:
    """Median of ``values`` (a column of g) per N, in increasing N."""
    return g.groupby("n", sort=True)[values].median().to_numpy(dtype=float)


def _count_per_n(g, mask) -> np.ndarray:
    """How many rows of g satisfy ``mask`` per N, in increasing N."""
    return g.assign(_c=mask).groupby("n", sort=True)["_c"].sum().to_numpy(dtype=int)


def _curve(P, alpha, g, model: str, n_boot: int, seed: int) -> TrainedCurve:
    """The :class:`TrainedCurve` of the rows ``g`` of one (P, α)."""
    upper = g.assign(sat=g["train_status"].isin(["sat", "budget"]))
    lo_curve, hi_curve = sat_curves(g)[0], sat_curves(upper)[0]
    status = g["train_status"]
    decided = g[status.isin(["sat", "unsat"])]
    agree = (decided["sat"] == decided["lazy_sat"]).mean() if len(decided) else math.nan
    missing = np.full(lo_curve.n.size, np.nan)
    return TrainedCurve(
        P=int(P), alpha=float(alpha), n_params=lo_curve.n_params, rank=lo_curve.rank,
        sat=lo_curve, sat_upper=hi_curve, n_unsat=_count_per_n(g, status == "unsat"),
        n_max_steps=_count_per_n(g, status == "budget"),
        n_nan=_count_per_n(g, status == "nan"),
        crossing=crossings(g, model=model, n_boot=n_boot, seed=seed)[0],
        crossing_upper=crossings(upper, model=model, n_boot=n_boot, seed=seed)[0],
        kernel_change=_per_phi(g, "kernel_change") if "kernel_change" in g else missing,
        steps=_per_phi(g, "steps") if "steps" in g else missing,
        agreement=float(agree), n_decided=int(len(decided)),
        n_beyond_lazy=_count_per_n(g, g["sat"] & ~g["lazy_sat"]),
        n_stuck=_count_per_n(g, (status == "unsat") & g["lazy_sat"]),
    )


def trained_curves(df, *, model: str = "erf", n_boot: int = 200, seed: int = 0
                   ) -> list[TrainedCurve]:
    """One :class:`TrainedCurve` per (P, α) of a ``trained_phase_diagram`` table.

    Parameters
    ----------
    df : pandas.DataFrame
        Rows of a ``trained_phase_diagram`` store: the phase-diagram columns and
        ``alpha``, ``train_status`` (one of :data:`TRAIN_STATUSES`) and ``lazy_sat``.
    model : {"erf", "logistic"}
        Crossing model.
    n_boot : int
        Bootstrap samples per crossing.
    seed : int
        Seed of the bootstrap.

    Returns
    -------
    list of TrainedCurve
        Sorted by P then α.

    Raises
    ------
    ValueError
        A column is missing or a ``train_status`` is unknown.

    Examples
    --------
    >>> import pandas as pd
    >>> from ntkjam.analysis.trained import trained_curves
    >>> df = pd.DataFrame([{"P": 20, "alpha": a, "phi": n / 20, "seed": s, "n": n, "n_params": 20,
    ...                     "rank": 20, "train_status": "sat" if n + 10 * s < 50 else "unsat",
    ...                     "sat": n + 10 * s < 50, "lazy_sat": n < 40}
    ...                    for a in (1.0, 10.0) for n in (20, 30, 40, 50) for s in range(4)])
    >>> curves = trained_curves(df, n_boot=10)
    >>> [(c.P, c.alpha, 1.0 < c.crossing.phi_c < 2.0) for c in curves]  # P(SAT) ½ at φ = 1.5
    [(20, 1.0, True), (20, 10.0, True)]
    """
    model = as_choice("model", model, MODELS)
    df = _trained_table(df)
    return [_curve(P, alpha, g, model, n_boot, seed)
            for (P, alpha), g in df.groupby(["P", "alpha"], sort=True)]


def lazy_reference(df, *, model: str = "erf", n_boot: int = 200, seed: int = 0
                   ) -> tuple[list[SatCurve], list[Crossing]]:
    """P(SAT) and φ_c of the *lazy* verdicts stored with a trained sweep, per P.

    Every task solves the linearised problem of its initial network exactly
    (``lazy_sat``); the lazy verdict does not depend on α (centered output), so the
    instances of all α are pooled.

    Parameters
    ----------
    df : pandas.DataFrame
        Rows of a ``trained_phase_diagram`` store (see :func:`trained_curves`).
    model : {"erf", "logistic"}
    n_boot : int
    seed : int

    Returns
    -------
    (curves, crossings) : tuple of list of SatCurve and list of Crossing
        One of each per P, in increasing P.

    Examples
    --------
    >>> import pandas as pd
    >>> from ntkjam.analysis.trained import lazy_reference
    >>> df = pd.DataFrame([{"P": 20, "alpha": a, "phi": n / 20, "seed": s, "n": n, "n_params": 20,
    ...                     "rank": 20, "train_status": "unsat", "sat": False, "lazy_sat": n < 40}
    ...                    for a in (1.0, 10.0) for n in (20, 30, 40, 50) for s in range(4)])
    >>> (curve,), (cross,) = lazy_reference(df, n_boot=10)
    >>> curve.n_total, curve.p_sat, round(cross.phi_c, 4)  # 8 = 2 α × 4 seeds per N
    (array([8, 8, 8, 8]), array([1., 1., 0., 0.]), 1.75)
    """
    model = as_choice("model", model, MODELS)
    df = _trained_table(df)
    lazy = df.assign(sat=df["lazy_sat"])
    return sat_curves(lazy), crossings(lazy, model=model, n_boot=n_boot, seed=seed)


@dataclass(frozen=True, repr=False)
class TrainedDiagramAnalysis(SummaryRepr):
    """What :func:`analyze_trained` measures for one trained-network run directory.

    Attributes
    ----------
    directory : str
    settings : dict
        The fixed settings of the sweep (d, labels, margin, step rule, budget, ...).
    n_done, n_failed : int
    curves : list of TrainedCurve
        One per (P, α), sorted by P then α.
    lazy : list of SatCurve
        The lazy verdicts of the same initial networks, per P (all α pooled).
    lazy_crossings : list of Crossing
    notes : list of str
    scaling : list of TrainedScaling
        N*(P) across the sizes with its finite-size fit (:func:`trained_scaling`).

    Examples
    --------
    Made by :func:`analyze_trained`; by hand from a table's curves, φ_c against α:

    >>> import pandas as pd
    >>> from ntkjam.analysis.trained import TrainedDiagramAnalysis, lazy_reference, trained_curves
    >>> df = pd.DataFrame([{"P": 20, "alpha": a, "phi": n / 20, "seed": s, "n": n, "n_params": 20,
    ...                     "rank": 20, "train_status": "sat" if n + a * s < 40 else "unsat",
    ...                     "sat": n + a * s < 40, "lazy_sat": n < 40}
    ...                    for a in (1.0, 10.0) for n in (20, 30, 40, 50) for s in range(4)])
    >>> a = TrainedDiagramAnalysis("run", {}, len(df), 0, trained_curves(df, n_boot=10),
    ...                            *lazy_reference(df, n_boot=10))
    >>> d = a.phi_c_vs_alpha(20)  # the larger α's runs fit fewer points here
    >>> d["alpha"], bool(d["phi_c"][0] > d["phi_c"][1])
    (array([ 1., 10.]), True)
    """

    directory: str
    settings: dict[str, Any]
    n_done: int
    n_failed: int
    curves: list[TrainedCurve]
    lazy: list[SatCurve]
    lazy_crossings: list[Crossing]
    notes: list[str] = field(default_factory=list)
    scaling: list[TrainedScaling] = field(default_factory=list)

    def phi_c_vs_alpha(self, P: int) -> dict[str, np.ndarray]:
        """φ_c(α) at one P: ``alpha``, ``phi_c``, ``ci_low``, ``ci_high`` (lower curve)
        and ``upper``, ``upper_ci_low``, ``upper_ci_high`` (undecided counted SAT).

        Returns
        -------
        dict of str to numpy.ndarray, each of shape (number of α at this P,)

        Examples
        --------
        By hand from a table where the larger α fits fewer points:

        >>> import pandas as pd
        >>> from ntkjam.analysis.trained import (TrainedDiagramAnalysis, lazy_reference,
        ...                                      trained_curves)
        >>> rows = [{"P": 20, "alpha": a, "phi": n / 20, "seed": s, "n": n, "n_params": 20,
        ...          "rank": 20, "train_status": "sat" if n + a * s < 40 else "unsat",
        ...          "sat": n + a * s < 40, "lazy_sat": n < 40}
        ...         for a in (1.0, 10.0) for n in (20, 30, 40, 50) for s in range(4)]
        >>> df = pd.DataFrame(rows)
        >>> a = TrainedDiagramAnalysis("run", {}, len(df), 0, trained_curves(df, n_boot=10),
        ...                            *lazy_reference(df, n_boot=10))
        >>> d = a.phi_c_vs_alpha(20)
        >>> d["alpha"].tolist(), d["phi_c"].shape, bool(d["phi_c"][0] > d["phi_c"][1])
        ([1.0, 10.0], (2,), True)
        """
        cs = [c for c in self.curves if c.P == P]
        if not cs:
            have = sorted({c.P for c in self.curves})
            raise ValueError(f"P = {P} is not in this analysis; have {have}")
        get = lambda f: np.array([f(c) for c in cs], dtype=float)  # noqa: E731
        return {
            "alpha": get(lambda c: c.alpha),
            "phi_c": get(lambda c: c.crossing.phi_c),
            "ci_low": get(lambda c: c.crossing.ci_low),
            "ci_high": get(lambda c: c.crossing.ci_high),
            "upper": get(lambda c: c.crossing_upper.phi_c),
            "upper_ci_low": get(lambda c: c.crossing_upper.ci_low),
            "upper_ci_high": get(lambda c: c.crossing_upper.ci_high),
        }

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (arrays as lists, NaN as None).

        Examples
        --------
        >>> import pandas as pd
        >>> from ntkjam.analysis.trained import (TrainedDiagramAnalysis, lazy_reference,
        ...                                      trained_curves)
        >>> rows = [{"P": 20, "alpha": a, "phi": n / 20, "seed": s, "n": n, "n_params": 20,
        ...          "rank": 20, "train_status": "sat" if n + a * s < 40 else "unsat",
        ...          "sat": n + a * s < 40, "lazy_sat": n < 40}
        ...         for a in (1.0, 10.0) for n in (20, 30, 40, 50) for s in range(4)]
        >>> df = pd.DataFrame(rows)
        >>> a = TrainedDiagramAnalysis("run", {}, len(df), 0, trained_curves(df, n_boot=10),
        ...                            *lazy_reference(df, n_boot=10))
        >>> import json; d = json.loads(json.dumps(a.to_dict()))
        >>> len(d["curves"]), d["curves"][0]["alpha"], d["n_done"]
        (2, 1.0, 32)
        """
        return jsonable(asdict(self))


def _notes(curves: list[TrainedCurve]) -> list[str]:
    """Curves that do not cross ½ on the grid, and runs that diverged."""
    notes = []
    for c in curves:
        if not np.isfinite(c.crossing.phi_c):
            notes.append(f"P = {c.P}, α = {c.alpha:g}: the SAT fraction does not cross ½ on "
                         "the grid (lower bound)")
        if not np.isfinite(c.crossing_upper.phi_c):
            notes.append(f"P = {c.P}, α = {c.alpha:g}: SAT + undecided does not cross ½ on "
                         "the grid (upper bound)")
        if c.n_nan.sum():
            notes.append(f"P = {c.P}, α = {c.alpha:g}: {int(c.n_nan.sum())} run(s) diverged (nan)")
    return notes


def analyze_trained(
    directory: str | Path, *, model: str = "erf", n_boot: int = 200, seed: int = 0,
) -> TrainedDiagramAnalysis:
    """Analyse a ``trained_phase_diagram`` run directory (read only).

    Parameters
    ----------
    directory : path
    model : {"erf", "logistic"}
        Crossing model.
    n_boot : int
        Bootstrap samples per curve.
    seed : int
        Seed of the bootstrap.

    Returns
    -------
    TrainedDiagramAnalysis

    Raises
    ------
    ValueError
        Not a trained-network run directory, or a bad ``model`` or ``n_boot``.

    Examples
    --------
    A store of a ``trained_phase_diagram`` spec whose rows are written by hand (training
    runs take seconds): P = 20, N = 20, 30, 40, 50, the runs with N + 10 s = 50 out of
    budget.

    >>> import tempfile
    >>> from ntkjam import sweep
    >>> from ntkjam.analysis.trained import analyze_trained
    >>> from ntkjam.experiments.trained import trained_spec
    >>> from ntkjam.sweep.store import Store, TaskRecord
    >>> tmp = tempfile.TemporaryDirectory()
    >>> spec = trained_spec(P=[20], alpha=[1.0], phi_min=1.0, phi_max=2.5, phi_num=4, seeds=4,
    ...                     output=tmp.name + "/run")
    >>> with Store(spec.output) as store:
    ...     store.bind(spec)
    ...     for t in sweep.expand(spec):
    ...         n, m = round(20 * t.params["phi"]), round(20 * t.params["phi"]) + 10 * t.seed
    ...         store.write(TaskRecord(t, "done", {
    ...             "n": n, "n_params": 20, "rank": 20, "lazy_sat": n < 40, "sat": m < 50,
    ...             "train_status": "sat" if m < 50 else "budget" if m == 50 else "unsat"}))
    >>> a = analyze_trained(spec.output, n_boot=10)
    >>> a.n_done, [(c.P, c.alpha) for c in a.curves], a.settings["max_steps"]
    (16, [(20, 1.0)], 200000)
    >>> c = a.curves[0]
    >>> bool(c.crossing.phi_c < c.crossing_upper.phi_c)  # the two bounds bracket φ_c
    True
    >>> tmp.cleanup()
    """

    model, n_boot = check_bootstrap(model, n_boot)
    directory = Path(directory)
    table, n_failed, spec_params = load_run(directory)
    df = _trained_table(table)
    curves = trained_curves(df, model=model, n_boot=n_boot, seed=seed)
    lazy, lazy_cross = lazy_reference(df, model=model, n_boot=n_boot, seed=seed)
    return TrainedDiagramAnalysis(
        directory=str(directory), settings=recorded_settings(df, spec_params, SETTINGS,
                                                             UNRECORDED),
        n_done=int(len(df)), n_failed=n_failed, curves=curves, lazy=lazy,
        lazy_crossings=lazy_cross, notes=_notes(curves),
        scaling=trained_scaling(curves, lazy_cross),
    )
