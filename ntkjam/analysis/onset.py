"""The UNSAT side at φ_c⁺: the approach fits of all sizes combined, against the RS theory.

* :func:`onset_limit` — the limit of an observable at φ_c⁺ from the
  :class:`~ntkjam.analysis.approach.ApproachFit` of every size (:class:`OnsetLimit`):
  combined over P when the sizes agree, the exponent, the verdict
  (:func:`~ntkjam.analysis.criticality.isostatic_verdict`,
  :func:`~ntkjam.analysis.criticality.jump_verdict`), the RS values beside it.
* :func:`rs_comparison`, :class:`RSComparison`, :data:`RS_SOURCES` — the exact
  replica-symmetric theory where it applies: defined in :mod:`ntkjam.analysis.rs_theory`,
  re-exported here.
* :func:`describe_onset` — the sentence a summary prints for an :class:`OnsetLimit`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import scipy.stats

from ntkjam.analysis.approach import EXPONENT_RANGE, P_MIN, ApproachFit
from ntkjam.analysis.criticality import isostatic_verdict, jump_verdict
from ntkjam.analysis.rs_theory import RS_SOURCES, RSComparison, rs_comparison
from ntkjam.core.reprs import SummaryRepr

__all__ = [
    "PHYSICAL_MIN",
    "RS_SOURCES",
    "OnsetLimit",
    "RSComparison",
    "describe_exponent",
    "describe_onset",
    "onset_limit",
    "rs_comparison",
]

#: The smallest physical value of each limit at φ_c⁺.
PHYSICAL_MIN = {"loss": 0.0, "isostaticity": 1.0}
_Z95 = 1.959963984540054


# ---------------------------------------------------------------- all sizes together
@dataclass(frozen=True, repr=False)
class OnsetLimit(SummaryRepr):
    """An observable at φ_c⁺ from the approach fits of every size, with its verdict.

    The supported fits' limits are combined when they agree (χ² p ≥ 0.01: weighted
    mean, error scaled by √(χ²/dof) when above 1); when they do not, the largest
    size's limit is reported and no P-independent value is claimed.

    Attributes
    ----------
    name : str
    fits : list of ApproachFit
        Per P, the fits giving the limit (exponent fixed at the RS value where the
        theory applies, free otherwise).
    free_fits : list of ApproachFit
        Per P, the fits with the exponent free (the exponent's measurement).
    P, limits, limit_errs : tuple
        The sizes with a supported fit, their limits and errors.
    value, err : float
        The limit at φ_c⁺ (``ci_low``, ``ci_high`` = value ∓ 1.96 err).
    ci_low, ci_high : float
    basis : str
        ``"combined"`` (sizes agree), ``"largest P"`` (they do not, or only one is
        supported) or ``"none"``.
    chi2, p_value : float
        Agreement of the sizes' limits (NaN with fewer than two).
    dof : int
    exponent, exponent_err : float
        The free exponent, combined the same way over the sizes where it is determined.
    exponent_P : tuple of int
    scale : float
        Typical size of the observable in the fits (the largest fitted value).
    verdict : str
        ``isostatic_verdict`` (N_Δ/rank) or ``jump_verdict`` (loss) of value ± err.
    theory_value, theory_exponent : float
        The RS values at φ_c⁺ (NaN where no exact theory applies).
    notes : tuple of str
    supported : bool
        False when the limit lies outside the physical range (a loss below 0, N_Δ/rank
        of UNSAT minima below 1): then it is reported with a warning, not as a result,
        and the verdict is ``undetermined``.

    The repr summarises the verdict, the limit, the exponent and the RS values; the
    per-size limits, the interval ends and the agreement's χ² are left out of it.

    Examples
    --------
    N_Δ/rank following ``1 + 0.9 δ^{1/2}`` exactly at two sizes (errors 0.01): their
    limits agree and are combined; the interval holds 1 and is narrow: isostatic.

    >>> import numpy as np
    >>> from ntkjam.analysis.approach import fit_approach
    >>> from ntkjam.analysis.criticality import ObservableCurve
    >>> from ntkjam.analysis.onset import onset_limit
    >>> phi = np.linspace(2.1, 3.0, 10); y = 1 + 0.9 * np.sqrt(phi - 2); s = np.full(10, 0.01)
    >>> fits = [fit_approach(ObservableCurve("isostaticity", P, phi, y, s, y, s, np.full(10, 20)),
    ...                      2.0, window=0.05, exponent=0.5, n_boot=20) for P in (100, 200)]
    >>> o = onset_limit(fits, kind="isostaticity")
    >>> o.verdict, o.basis, o.P, round(o.value, 6), o.ci_low < 1 < o.ci_high
    ('isostatic', 'combined', (100, 200), 1.0, True)
    """

    name: str
    fits: list[ApproachFit]
    free_fits: list[ApproachFit]
    P: tuple[int, ...]
    limits: tuple[float, ...] = field(repr=False)
    limit_errs: tuple[float, ...] = field(repr=False)
    value: float
    err: float
    ci_low: float = field(repr=False)
    ci_high: float = field(repr=False)
    basis: str
    chi2: float = field(repr=False)
    dof: int = field(repr=False)
    p_value: float
    exponent: float
    exponent_err: float
    exponent_P: tuple[int, ...] = field(repr=False)
    scale: float = field(repr=False)
    verdict: str
    theory_value: float
    theory_exponent: float
    notes: tuple[str, ...]
    supported: bool = True


def _combine(values, errs) -> tuple[float, float, float, int, float]:
    """Weighted mean, its error (scaled when χ²/dof > 1), χ², dof and p of agreement."""
    v, e = np.asarray(values, dtype=float), np.asarray(errs, dtype=float)
    w = 1.0 / e**2
    mean = float(np.sum(w * v) / np.sum(w))
    chi2 = float(np.sum(w * (v - mean) ** 2))
    dof = v.size - 1
    err = float(1.0 / math.sqrt(np.sum(w))) * math.sqrt(max(1.0, chi2 / dof))
    return mean, err, chi2, dof, float(scipy.stats.chi2.sf(chi2, dof))


def onset_limit(
    fits: list[ApproachFit], free_fits: list[ApproachFit] | None = None, *, kind: str,
    theory_value: float = math.nan, theory_exponent: float = math.nan,
) -> OnsetLimit:
    """Combine the approach fits of all sizes into the limit at φ_c⁺ (:class:`OnsetLimit`).

    Parameters
    ----------
    fits : list of ApproachFit
        One per P (the limit's fits).
    free_fits : list of ApproachFit, optional
        One per P with the exponent free; default ``fits``.
    kind : {"isostaticity", "loss"}
        Which verdict: :func:`isostatic_verdict` or :func:`jump_verdict`.
    theory_value, theory_exponent : float
        RS values to report beside the measurement (NaN: no exact theory).

    Returns
    -------
    OnsetLimit

    Examples
    --------
    The loss per sample following ``0.16 + 0.5 δ^{1/2}`` (errors 0.01): a nonzero limit,
    a jump, beside the RS value κ²/(2π) = 0.159; a law whose limit is negative is no result.

    >>> import numpy as np
    >>> from ntkjam.analysis.approach import fit_approach
    >>> from ntkjam.analysis.criticality import ObservableCurve
    >>> from ntkjam.analysis.onset import onset_limit
    >>> phi = np.linspace(2.1, 3.0, 10); s = np.full(10, 0.01); n = np.full(10, 20)
    >>> y = 0.16 + 0.5 * np.sqrt(phi - 2)
    >>> fit = fit_approach(ObservableCurve("loss", 100, phi, y, s, y, s, n), 2.0, window=0.05,
    ...                    exponent=0.5, n_boot=20)
    >>> o = onset_limit([fit], kind="loss", theory_value=1 / (2 * np.pi))
    >>> o.verdict, o.basis, round(o.value, 6), o.ci_low < o.theory_value < o.ci_high
    ('jump', 'largest P', 0.16, True)
    >>> y = -0.05 + 0.5 * np.sqrt(phi - 2)
    >>> fit = fit_approach(ObservableCurve("loss", 100, phi, y, s, y, s, n), 2.0, window=0.05,
    ...                    exponent=0.5, n_boot=20)
    >>> o = onset_limit([fit], kind="loss")
    >>> o.supported, o.verdict
    (False, 'undetermined')
    """
    if kind not in ("isostaticity", "loss"):
        raise ValueError(f"kind must be 'isostaticity' or 'loss', got {kind!r}")
    free_fits = fits if free_fits is None else free_fits
    name = fits[0].name if fits else kind
    use = sorted((f for f in fits if f.supported and f.limit_err > 0), key=lambda f: f.P)
    notes = [f"P = {f.P}: {w}" for f in fits for w in f.warnings]
    nan = math.nan
    P = tuple(f.P for f in use)
    lims = tuple(f.limit for f in use)
    errs = tuple(f.limit_err for f in use)
    chi2, dof, p = nan, 0, nan
    if not use:
        value = err = nan
        basis = "none"
        notes.append("no size has a supported fit of the approach" if fits else
                     "no size has a crossing on this grid to measure from")
    elif len(use) == 1:
        value, err, basis = use[0].limit, use[0].limit_err, "largest P"
    else:
        value, err, chi2, dof, p = _combine(lims, errs)
        basis = "combined"
        if p < P_MIN:
            value, err, basis = use[-1].limit, use[-1].limit_err, "largest P"
            notes.append(f"the sizes' limits disagree (χ² = {chi2:.1f}/{dof}, p = {p:.2g}): "
                         "no P-independent value; the largest size's is reported")
    det = sorted((f for f in free_fits if f.exponent_determined and f.exponent_err > 0),
                 key=lambda f: f.P)
    a = a_err = nan
    if len(det) == 1:
        a, a_err = det[0].exponent, det[0].exponent_err
    elif det:
        a, a_err, _, _, pa = _combine([f.exponent for f in det], [f.exponent_err for f in det])
        if pa < P_MIN:
            a, a_err = det[-1].exponent, det[-1].exponent_err
    if (np.isfinite(a) and np.isfinite(theory_exponent)
            and abs(a - theory_exponent) > _Z95 * a_err):
        notes.append(f"the free exponent {a:.2f} ± {a_err:.2f} is not the RS value "
                     f"{theory_exponent:g} within its 95 % interval")
    scale = max((float(np.max(np.abs(f.y))) for f in fits if f.y.size), default=nan)
    floor = PHYSICAL_MIN[kind]
    supported = not (np.isfinite(value) and value < floor)
    if not supported:
        why = ("a loss cannot be negative" if kind == "loss"
               else "UNSAT minima in general position have N_Δ > rank")
        notes.append(f"the limit {value:.3g} is below the physical minimum {floor:g} ({why}): "
                     "the approach law does not describe these data; not a result")
        verdict = "undetermined"
    elif kind == "isostaticity":
        verdict = isostatic_verdict(value, err)
    else:
        verdict = jump_verdict(value, err, scale=scale)
    return OnsetLimit(
        name=name, fits=list(fits), free_fits=list(free_fits), P=P, limits=lims,
        limit_errs=errs, value=float(value), err=float(err), ci_low=value - _Z95 * err,
        ci_high=value + _Z95 * err, basis=basis, chi2=chi2, dof=dof, p_value=p,
        exponent=float(a), exponent_err=float(a_err), exponent_P=tuple(f.P for f in det),
        scale=scale, verdict=verdict, theory_value=float(theory_value),
        theory_exponent=float(theory_exponent), notes=tuple(notes), supported=supported,
    )


# ----------------------------------------------------------------------- wording
_LABELS = {"loss": "loss per sample", "isostaticity": "N_Δ/rank"}


def _pm(value: float, err: float) -> str:
    """``value ± err`` with two significant digits of the error."""
    if not (np.isfinite(value) and np.isfinite(err)):
        return "—" if not np.isfinite(value) else f"{value:.3g}"
    dec = 3 if err <= 0 else min(4, max(0, 1 - math.floor(math.log10(err))))
    return f"{value:.{dec}f} ± {err:.{dec}f}"


def _exp(a: float) -> str:
    return "½" if a == 0.5 else f"{a:g}"


def _interval_text(o: OnsetLimit, kind: str) -> str:
    lo, hi = o.ci_low, o.ci_high
    ci = f"95 % interval {lo:.3g}–{hi:.3g}"
    ref = 1.0 if kind == "isostaticity" else 0.0
    if o.verdict in ("jump", "hyperstatic"):
        return f"{o.verdict} ({ci}, above {ref:g})"
    if o.verdict in ("isostatic", "continuous"):
        return f"{o.verdict} ({ci} contains {ref:g})"
    if o.verdict == "hypostatic":
        return f"hypostatic ({ci}, below 1)"
    if not np.isfinite(o.value):
        return "undetermined"
    if hi < ref:
        what = ("impossible for UNSAT minima in general position" if kind == "isostaticity"
                else "a loss cannot be negative")
        return f"undetermined ({ci}, below {ref:g}: {what})"
    if kind == "isostaticity":
        return f"undetermined ({ci} contains 1 but is wider than ±0.2: not resolved)"
    return f"undetermined ({ci} contains 0 but reaches {hi:.3g}: not resolved)"


def _theory_text(kind: str, theory: RSComparison) -> str:
    if not theory.applies:
        return "no exact theory for these settings"
    if kind == "isostaticity":
        return f"RS theory {theory.isostaticity_onset:g} (isostatic)"
    k = theory.margin
    label = "κ²/(2π)" if k == 1.0 else f"κ²/(2π), κ = {k:g}"
    return f"RS theory {label} = {theory.loss_onset:.3f}"


def describe_onset(o: OnsetLimit, theory: RSComparison) -> str:
    """One summary line: the limit at φ_c⁺ with its interval and verdict, and the RS value.

    Parameters
    ----------
    o : OnsetLimit
    theory : RSComparison

    Returns
    -------
    str

    Examples
    --------
    >>> import numpy as np
    >>> from ntkjam.analysis.approach import fit_approach
    >>> from ntkjam.analysis.criticality import ObservableCurve
    >>> from ntkjam.analysis.onset import describe_onset, onset_limit, rs_comparison
    >>> phi = np.linspace(2.1, 3.0, 10); y = 1 + 0.9 * np.sqrt(phi - 2); s = np.full(10, 0.01)
    >>> fit = fit_approach(ObservableCurve("isostaticity", 100, phi, y, s, y, s, np.full(10, 20)),
    ...                    2.0, window=0.05, exponent=0.5, n_boot=20)
    >>> rs = rs_comparison({"source": "relu_features", "labels": "random", "offset": "zero",
    ...                     "margin": 1.0})
    >>> print(describe_onset(onset_limit([fit], kind="isostaticity"), rs))
    N_Δ/rank at φ_c⁺: 1.000 ± 0.0... (fit of the approach, a = ½, P = 100): isostatic (95 %
    interval ... contains 1) — RS theory 1 (isostatic)
    """
    kind = "isostaticity" if o.name == "isostaticity" else "loss"
    label = _LABELS.get(o.name, o.name)
    rs = _theory_text(kind, theory)
    if o.basis == "none":
        why = o.notes[0] if o.notes else "no supported fit"
        return f"{label} at φ_c⁺: not measured ({why}) — {rs}"
    fixed = [f for f in o.fits if not f.exponent_free]
    how = f"a = {_exp(fixed[0].exponent)}" if fixed else "a free"
    floor = PHYSICAL_MIN[kind]
    per = ", ".join(_pm(v, e) + (f" (below {floor:g}: not a result)" if v < floor else "")
                    for v, e in zip(o.limits, o.limit_errs, strict=True))
    sizes = f"P = {', '.join(map(str, o.P))}"
    if o.basis == "combined":
        where = f"{sizes}: {per}, combined, the sizes agree with χ² p = {o.p_value:.2f}"
    elif len(o.P) > 1:
        where = (f"{sizes}: {per}; the sizes disagree (χ² p = {o.p_value:.2g}): "
                 f"P = {o.P[-1]} reported")
    else:
        where = sizes
    if not o.supported:
        return (f"{label} at φ_c⁺: unsupported fit, not a result (the approach law, {how}, "
                f"{where}, gives {_pm(o.value, o.err)}, below the physical minimum "
                f"{PHYSICAL_MIN[kind]:g}) — {rs}")
    return (f"{label} at φ_c⁺: {_pm(o.value, o.err)} (fit of the approach, {how}, {where}): "
            f"{_interval_text(o, kind)} — {rs}")


def describe_exponent(o: OnsetLimit, theory: RSComparison) -> str:
    """The exponent a of ``y − y_c ∝ (φ − φ_c)^a`` (fit with a free), or why it is missing.

    Parameters
    ----------
    o : OnsetLimit
        Its ``free_fits`` are read (fits with the exponent fixed say nothing of it).
    theory : RSComparison

    Returns
    -------
    str

    Examples
    --------
    >>> import numpy as np
    >>> from ntkjam.analysis.approach import fit_approach
    >>> from ntkjam.analysis.criticality import ObservableCurve
    >>> from ntkjam.analysis.onset import describe_exponent, onset_limit, rs_comparison
    >>> phi = np.linspace(2.1, 3.0, 10); y = 1 + 0.9 * np.sqrt(phi - 2); s = np.full(10, 0.01)
    >>> curve = ObservableCurve("isostaticity", 100, phi, y, s, y, s, np.full(10, 20))
    >>> free = fit_approach(curve, 2.0, window=0.05, n_boot=20)  # the exponent scanned
    >>> rs = rs_comparison({"source": "relu_features", "labels": "random", "offset": "zero",
    ...                     "margin": 1.0})
    >>> describe_exponent(onset_limit([free], kind="isostaticity"), rs)
    'N_Δ/rank: exponent a = 0.5... ± 0.1... (P = 100) — RS theory a = ½'
    >>> fixed = fit_approach(curve, 2.0, window=0.05, exponent=0.5, n_boot=20)
    >>> describe_exponent(onset_limit([fixed], kind="isostaticity"), rs)  # a not measured
    'N_Δ/rank: exponent not determined (no supported fit with a free) — RS theory a = ½'
    """
    label = _LABELS.get(o.name, o.name)
    rs = f" — RS theory a = {_exp(theory.exponent)}" if theory.applies else ""
    if np.isfinite(o.exponent):
        return (f"{label}: exponent a = {_pm(o.exponent, o.exponent_err)} (P = "
                f"{', '.join(map(str, o.exponent_P))}){rs}")
    sup = [f for f in o.free_fits
           if f.exponent_free and f.supported and np.isfinite(f.exponent_low)]

    if not sup:
        return f"{label}: exponent not determined (no supported fit with a free){rs}"
    f = max(sup, key=lambda g: g.P)
    return (f"{label}: exponent not determined (P = {f.P}: a = {f.exponent:.2f}, 95 % interval "
            f"{f.exponent_low:.2f}–{f.exponent_high:.2f} reaches the scanned range "
            f"{EXPONENT_RANGE[0]:g}–{EXPONENT_RANGE[1]:g}){rs}")
