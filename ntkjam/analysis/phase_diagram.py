"""The lazy phase diagram: everything measured on one ``phase_diagram`` run directory.

:func:`analyze` reads the store (the table and, for the gap and force
distributions, the stored arrays) and returns one frozen
:class:`PhaseDiagramAnalysis` (``to_dict()`` is JSON-ready): P(SAT) and φ_c per P,
finite-size scaling (of the data and of Cover's curves on the same grid), χ²
against Cover, the UNSAT-side observables and their behaviour at φ_c⁺, and the
small-value tails of the gaps and forces.  Never recomputes physics; the RS theory
curves reported beside the measurement come from :mod:`ntkjam.theory`.

The UNSAT side at φ_c⁺ is measured by fits of the approach law at each P
(:func:`~ntkjam.analysis.approach.fit_approach`, from each size's own crossing, its
error propagated) combined over P (:func:`~ntkjam.analysis.onset.onset_limit`), never
by reading or extrapolating the value at a fixed grid point.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from ntkjam.analysis.approach import P_MIN, RS_EXPONENT, fit_approach
from ntkjam.analysis.criticality import ObservableCurve, observable_curves
from ntkjam.analysis.onset import OnsetLimit, onset_limit
from ntkjam.analysis.rs_theory import RSComparison, rs_comparison
from ntkjam.analysis.sat import CoverTest, Crossing, SatCurve, cover_chi2, crossings, sat_curves
from ntkjam.analysis.scaling import FSSFit, finite_size_scaling
from ntkjam.analysis.stats import PowerLawTail, check_bootstrap, power_law_tail
from ntkjam.analysis.tables import (
    done_table,
    jsonable,
    load_run,
    pooled_arrays,
    recorded_settings,
)
from ntkjam.core.reprs import SummaryRepr

__all__ = ["SETTINGS", "UNRECORDED", "FitWarning", "PhaseDiagramAnalysis", "analyze",
           "fit_warnings"]

#: The fixed settings reported in :attr:`PhaseDiagramAnalysis.settings`.
SETTINGS = ("source", "labels", "margin", "offset", "d", "dataset")
#: Value of a setting that a store records nowhere (neither in its rows nor in its
#: spec): the ``phase_diagram`` task defaults when such stores were written, which
#: recorded only the parameters given.  Kept here, not read from the experiment, so
#: that an old run keeps the label it was computed with whatever today's default is.
UNRECORDED: dict[str, Any] = {
    "source": "relu_features",
    "labels": "random",
    "margin": 1.0,
    "offset": "zero",
    "d": 10,
    "dataset": "auto",
}


@dataclass(frozen=True, repr=False)
class FitWarning(SummaryRepr):
    """A fit the data do not support: reported with this warning, not as a result.

    Attributes
    ----------
    kind : str
        ``"grid_step"`` (a crossing narrower than the φ grid step), ``"cover_chi2"``
        (P(SAT) rejected by Cover's curve, p < 0.01), ``"fss"`` (the finite-size
        scaling: an unresolved width or a χ² rejecting its law) or ``"physical_range"``
        (a limit at φ_c⁺ outside the physical range).
    P : int or None
        The size concerned (None: all sizes together).
    message : str

    Examples
    --------
    >>> from ntkjam.analysis.phase_diagram import fit_warnings
    >>> from ntkjam.analysis.sat import CoverTest
    >>> (w,) = fit_warnings([], None, [CoverTest(P=10, chi2=30.0, dof=5, p_value=1e-5)], [])
    >>> w.kind, w.P
    ('cover_chi2', 10)
    """

    kind: str
    P: int | None
    message: str


def fit_warnings(
    cross: list[Crossing], fss: FSSFit | None, cover_tests: list[CoverTest],
    onsets: list[OnsetLimit], dead: dict[int, int] | None = None,
) -> list[FitWarning]:
    """Every fit of a phase-diagram analysis that its data do not support.

    Parameters
    ----------
    cross : list of Crossing
    fss : FSSFit or None
    cover_tests : list of CoverTest
    onsets : list of OnsetLimit
    dead : dict[int, int], optional
        Dead inputs per P (said beside a χ² that rejects Cover's curve).

    Returns
    -------
    list of FitWarning
        In the order: crossings, Cover tests, finite-size scaling, onsets.

    Examples
    --------
    A χ² that rejects Cover's curve at P = 10 with no dead input to explain it:

    >>> from ntkjam.analysis.phase_diagram import fit_warnings
    >>> from ntkjam.analysis.sat import CoverTest
    >>> tests = [CoverTest(P=10, chi2=30.0, dof=5, p_value=1e-5),
    ...          CoverTest(P=20, chi2=4.0, dof=5, p_value=0.55)]
    >>> (w,) = fit_warnings([], None, tests, [], dead={10: 0})
    >>> print(w.message)
    P = 10: P(SAT) is not Cover's curve (χ²/dof = 30.0/5, p = 1e-05 < 0.01); 0 dead input(s)
    at this P cannot explain it: the Cover columns are not a result for it
    """
    dead = dead or {}
    out = []
    for c in cross:
        if not c.resolved:
            out.append(FitWarning("grid_step", c.P, (
                f"P = {c.n_params}: the transition (width {c.width:.3g}) is narrower than "
                f"half the φ grid step {c.grid_step:.3g} at φ_c: it falls between two grid "
                "points, so φ_c is known only to within the step and the width is an upper "
                "bound (refine the grid, e.g. --grid adaptive)")))
    for t in cover_tests:
        if t.p_value < P_MIN:
            n_dead = dead.get(t.P, 0)
            out.append(FitWarning("cover_chi2", t.P, (
                f"P = {t.P}: P(SAT) is not Cover's curve (χ²/dof = {t.chi2:.1f}/{t.dof}, "
                f"p = {t.p_value:.2g} < {P_MIN:g}); {n_dead} dead input(s) at this P"
                + (" cannot explain it" if n_dead == 0 else "")
                + ": the Cover columns are not a result for it")))
    if fss is not None:
        out += [FitWarning("fss", None, f"finite-size scaling: {w}") for w in fss.warnings]
    for o in onsets:
        if not o.supported:
            out.append(FitWarning("physical_range", None, f"{o.name} at φ_c⁺: {o.notes[-1]}"))
    return out


@dataclass(frozen=True, repr=False)
class PhaseDiagramAnalysis(SummaryRepr):
    """Everything :func:`analyze` measures for one run directory (see the module docstring).

    ``fss_cover`` is the finite-size-scaling fit applied to the crossings and widths
    of Cover's curves on the same grid (with the data's error bars): what the
    analysis would report if the data followed Cover exactly.

    ``loss_onset`` and ``isostaticity_onset`` are the loss per sample and N_Δ/rank of
    the UNSAT minima at φ_c⁺ (:class:`~ntkjam.analysis.onset.OnsetLimit`: the per-P
    approach fits, the limit with its interval, the exponent, the verdict and the RS
    values); ``theory`` is the RS theory for the run's settings
    (:class:`~ntkjam.analysis.onset.RSComparison`; ``theory.applies`` False with a
    note where there is no exact theory).

    The repr summarises: the run's counts, the model, and the two onsets with their
    verdicts; the other fields (curves, fits, tails) are left out of it.

    Examples
    --------
    >>> import json, tempfile
    >>> from ntkjam import sweep
    >>> from ntkjam.analysis.phase_diagram import analyze
    >>> from ntkjam.experiments.phase_diagram import phase_diagram_spec
    >>> tmp = tempfile.TemporaryDirectory()
    >>> spec = phase_diagram_spec(P=[8, 16], phi_min=1.5, phi_max=2.5, phi_num=5, seeds=4,
    ...                           output=tmp.name + "/run")
    >>> a = analyze(sweep.run(spec).directory, n_boot=10, distributions=False)
    >>> 1.5 < a.phi_c < 2.5, a.fss.P, a.gaps is None  # φ_c(∞) from the two sizes
    (True, (8, 16), True)
    >>> "NaN" in json.dumps(a.to_dict())  # JSON-ready: NaN written as null
    False
    >>> tmp.cleanup()
    """

    directory: str
    settings: dict[str, Any] = field(repr=False)
    n_done: int
    n_failed: int
    n_lp_checked: int = field(repr=False)
    n_lp_disagree: int
    n_dead_total: int = field(repr=False)
    cover_applies: bool
    model: str
    sat: list[SatCurve] = field(repr=False)
    crossings: list[Crossing] = field(repr=False)
    fss: FSSFit | None = field(repr=False)
    fss_cover: FSSFit | None = field(repr=False)
    cover_tests: list[CoverTest] = field(repr=False)
    loss: list[ObservableCurve] = field(repr=False)
    n_delta_frac: list[ObservableCurve] = field(repr=False)
    isostaticity: list[ObservableCurve] = field(repr=False)
    loss_onset: OnsetLimit
    isostaticity_onset: OnsetLimit
    theory: RSComparison = field(repr=False)
    gaps: PowerLawTail | None = field(repr=False)
    forces: PowerLawTail | None = field(repr=False)
    notes: list[str] = field(default_factory=list)
    warnings: list[FitWarning] = field(default_factory=list)

    @property
    def phi_c(self) -> float:
        """Best threshold estimate: φ_c(∞) when the FSS fit exists, else the largest P's.

        Examples
        --------
        One size, so no finite-size fit: the crossing of P = 8.

        >>> import tempfile
        >>> from ntkjam import sweep
        >>> from ntkjam.analysis.phase_diagram import analyze
        >>> from ntkjam.experiments.phase_diagram import phase_diagram_spec
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     spec = phase_diagram_spec(P=[8], phi_min=1.0, phi_max=3.0, phi_num=3, seeds=4,
        ...                               output=tmp + "/run")
        ...     a = analyze(sweep.run(spec).directory, n_boot=10, distributions=False)
        >>> a.fss is None, a.phi_c == a.crossings[-1].phi_c, 1.0 < a.phi_c < 3.0
        (True, True, True)
        """
        if self.fss is not None:
            return self.fss.phi_c_inf
        good = [c for c in self.crossings if np.isfinite(c.phi_c)]
        return good[-1].phi_c if good else math.nan

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (arrays as lists, NaN as None).

        Examples
        --------
        >>> import tempfile
        >>> from ntkjam import sweep
        >>> from ntkjam.analysis.phase_diagram import analyze
        >>> from ntkjam.experiments.phase_diagram import phase_diagram_spec
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     spec = phase_diagram_spec(P=[8], phi_min=1.0, phi_max=3.0, phi_num=3, seeds=4,
        ...                               output=tmp + "/run")
        ...     a = analyze(sweep.run(spec).directory, n_boot=10, distributions=False)
        >>> import json; d = json.loads(json.dumps(a.to_dict()))
        >>> d["fss"], d["n_done"], [c["P"] for c in d["crossings"]]
        (None, 12, [8])
        """
        return jsonable(asdict(self))


def _fss(cross: list[Crossing], cover_applies: bool, notes: list[str]):
    """FSS of the data (a failure becomes a note) and of Cover's curves on the same grid."""
    try:
        fss = finite_size_scaling(cross)
        if fss.note:
            notes.append(fss.note)
    except ValueError as exc:
        fss = None
        notes.append(str(exc))
    fss_cover = None
    if cover_applies:
        theory = [replace(c, phi_c=c.phi_c_cover, width=c.width_cover) for c in cross]
        try:
            fss_cover = finite_size_scaling(theory)
        except ValueError:
            fss_cover = None
    return fss, fss_cover


def _cover_tests(curves: list[SatCurve], notes: list[str]) -> list[CoverTest]:
    tests = []
    for c in curves:
        try:
            tests.append(cover_chi2(c))
        except ValueError as exc:
            notes.append(str(exc))
    return tests


#: Fits of the approach use φ − φ_c(P) ≥ WINDOW_WIDTHS · w(P) (P(UNSAT) ≥ 0.98 there).
WINDOW_WIDTHS = 2.0


def _unsat_side(loss, iso, cross: list[Crossing], theory: RSComparison, n_boot: int,
                seed: int) -> tuple[OnsetLimit, OnsetLimit]:
    """Approach fits of the loss and N_Δ/rank per P, each from its own φ_c(P), combined.

    The extrapolated φ_c(∞) carries a larger error than the finite-size shift it
    would correct, so each size is measured from its own crossing (its bootstrap
    error propagated).  Where the RS theory applies the limits use its exponent
    family (a = ½); the exponent itself is always fitted free as well.
    """
    by_P = {c.P: c for c in cross}
    fixed = RS_EXPONENT if theory.applies else None
    out = []
    for kind, curves, floor, rs in (
        ("loss", loss, 0.0, theory.loss_onset),
        ("isostaticity", iso, 1.0, theory.isostaticity_onset),
    ):
        fits, free = [], []
        for cur in curves:
            c = by_P.get(cur.P)
            if c is None or not (np.isfinite(c.phi_c) and np.isfinite(c.width) and c.width > 0):
                continue
            err = c.stderr if np.isfinite(c.stderr) else 0.0
            kw = dict(window=WINDOW_WIDTHS * c.width, physical_min=floor, n_boot=n_boot,
                      seed=seed + cur.P)
            g = fit_approach(cur, c.phi_c, err, exponent=None, **kw)
            free.append(g)
            fits.append(fit_approach(cur, c.phi_c, err, exponent=fixed, **kw)
                        if fixed is not None else g)
        out.append(onset_limit(fits, free, kind=kind, theory_value=rs,
                               theory_exponent=theory.exponent))
    return out[0], out[1]


def _tails(directory: Path, df, last: Crossing):
    """Gap and force tails of the UNSAT instances within one width of φ_c at ``last.P``."""
    big = df[df["P"] == last.P]
    # UNSAT instances within one width (at least one grid step) of the crossing.
    grid = np.unique(big["phi_x"].to_numpy(dtype=float))
    step = float(np.min(np.diff(grid))) if grid.size > 1 else 0.0
    half = max(last.width, step, 1e-9)
    lo, hi = last.phi_c - half, last.phi_c + half
    gaps = power_law_tail(pooled_arrays(directory, big, lo, hi, "gaps"), name="gaps")
    forces = power_law_tail(pooled_arrays(directory, big, lo, hi, "forces"), name="forces")
    return gaps, forces


def _lp_counts(df) -> tuple[int, int]:
    """(LP cross-checks, disagreements with the exact minimum)."""
    lp = df["lp_checked"].astype(bool) if "lp_checked" in df.columns else None
    n_lp = int(lp.sum()) if lp is not None else 0
    n_dis = 0
    if lp is not None and "lp_agrees" in df.columns:
        n_dis = int((df.loc[lp, "lp_agrees"].astype(object) == False).sum())  # noqa: E712
    return n_lp, n_dis


def analyze(
    directory: str | Path, *, model: str = "erf", n_boot: int = 200, seed: int = 0,
    distributions: bool = True,
) -> PhaseDiagramAnalysis:
    """Analyse a phase-diagram run directory (read only).

    Parameters
    ----------
    directory : path
        A run directory of the ``phase_diagram`` experiment.
    model : {"erf", "logistic"}
        Crossing model.
    n_boot : int
        Bootstrap samples per P (of the crossing, and of each approach fit).
    seed : int
        Seed of the bootstrap.
    distributions : bool
        Also fit the gap and force tails (reads the stored arrays of the UNSAT
        instances within one width above φ_c at the largest P).

    Returns
    -------
    PhaseDiagramAnalysis

    Raises
    ------
    ValueError
        Not a phase-diagram run directory, no finished task, or a bad ``model`` or
        ``n_boot``.

    Examples
    --------
    A tiny lazy diagram (random ReLU features, P = 8 and 16, 4 seeds at 5 values of φ):

    >>> import tempfile
    >>> from ntkjam import sweep
    >>> from ntkjam.analysis.phase_diagram import analyze
    >>> from ntkjam.experiments.phase_diagram import phase_diagram_spec
    >>> tmp = tempfile.TemporaryDirectory()
    >>> spec = phase_diagram_spec(P=[8, 16], phi_min=1.5, phi_max=2.5, phi_num=5, seeds=4,
    ...                           output=tmp.name + "/run")
    >>> a = analyze(sweep.run(spec).directory, n_boot=10)
    >>> a.n_done, [c.P for c in a.crossings], a.cover_applies, a.theory.applies
    (40, [8, 16], True, True)
    >>> [1.5 < c.phi_c < 2.5 for c in a.crossings], a.sat[0].p_sat.shape  # Cover: φ_c = 2
    ([True, True], (5,))
    >>> a.loss_onset.basis  # no UNSAT points two widths above φ_c: the onset is not measured
    'none'
    >>> tmp.cleanup()
    """

    model, n_boot = check_bootstrap(model, n_boot)
    directory = Path(directory)
    table, n_failed, spec_params = load_run(directory)
    df = done_table(table)
    settings = recorded_settings(df, spec_params, SETTINGS, UNRECORDED)
    notes: list[str] = []
    labels, offset = settings["labels"], settings["offset"]
    cover_applies = labels == "random" and offset == "zero"
    if not cover_applies:
        notes.append(
            f"Cover's curve assumes random labels and no offset (labels={labels}, "
            f"offset={offset}): shown for reference only"
        )
    curves = sat_curves(df)
    cross = crossings(df, model=model, n_boot=n_boot, seed=seed)
    fss, fss_cover = _fss(cross, cover_applies, notes)
    tests = _cover_tests(curves, notes) if cover_applies else []
    loss = observable_curves(df, "loss")
    ndf = observable_curves(df, "n_delta_frac")
    iso = observable_curves(df, "isostaticity")
    full_rank = all(c.rank == c.n_params for c in cross)
    theory = rs_comparison(settings, full_rank=full_rank,
                           phi_max=float(df["phi_x"].max()) if len(df) else 3.0)
    if not theory.applies:
        notes.append(theory.note)
    loss_on, iso_on = _unsat_side(loss, iso, cross, theory, n_boot, seed)
    gaps = forces = None
    if distributions and cross and np.isfinite(cross[-1].phi_c):
        gaps, forces = _tails(directory, df, cross[-1])
    n_lp, n_dis = _lp_counts(df)
    dead = ({int(P): int(g["n_dead"].sum()) for P, g in df.groupby("P")}
            if "n_dead" in df.columns else {})
    warns = fit_warnings(cross, fss, tests, [loss_on, iso_on], dead)
    return PhaseDiagramAnalysis(
        directory=str(directory), settings=settings, n_done=int(len(df)), n_failed=n_failed,
        n_lp_checked=n_lp, n_lp_disagree=n_dis,
        n_dead_total=int(df["n_dead"].sum()) if "n_dead" in df.columns else 0,
        cover_applies=cover_applies, model=model, sat=curves, crossings=cross, fss=fss,
        fss_cover=fss_cover, cover_tests=tests, loss=loss,
        n_delta_frac=ndf, isostaticity=iso,
        loss_onset=loss_on, isostaticity_onset=iso_on, theory=theory, gaps=gaps,
        forces=forces, notes=notes, warnings=warns,
    )
