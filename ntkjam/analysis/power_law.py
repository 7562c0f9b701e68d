"""Power laws fitted in log–log with 95 % intervals, and the verdicts they support.

* :func:`power_law_fit` — ``y = A x^γ`` by weighted least squares on ``log y``
  (:func:`ntkjam.analysis.stats.wls`; the error of ``log y`` is ``y_err / y``).
* :func:`chi2_check` — the χ² p-value of a fit and the factor √(χ²/dof) (when > 1) that
  scales its intervals, with the warning said when p < 0.01.
* :func:`exponent_verdict` — "consistent with <h>" only where the interval holds exactly
  one of the named exponents, "excludes …" where it holds none, else "undetermined".
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import scipy.stats

from ntkjam.analysis.stats import positive_errors, wls
from ntkjam.core.reprs import SummaryRepr

__all__ = ["MAX_HALF_WIDTH", "Z95", "PowerLawFit", "chi2_check", "exponent_verdict",
           "power_law_fit"]

#: The 97.5 % quantile of the standard normal: 95 % two-sided intervals.
Z95 = 1.959963984540054
#: Widest half-interval (in the exponent) that still supports a verdict.
MAX_HALF_WIDTH = 0.25


def chi2_check(chi2: float, dof: int) -> tuple[float, float, str]:
    """``(p_value, scale, note)`` of a weighted fit: scale = max(1, √(χ²/dof)).

    The note is a warning when p < 0.01 (the points scatter beyond their errors), else "".
    """
    if dof <= 0:
        return math.nan, 1.0, ""
    p = float(scipy.stats.chi2.sf(chi2, dof))
    scale = max(1.0, math.sqrt(chi2 / dof))
    note = ""
    if p < 0.01:
        note = (f"warning: χ² = {chi2:.1f} for {dof} dof (p = {p:.1g} < 0.01): the points "
                f"scatter beyond their errors, not a pure power law over this range; the "
                f"interval is scaled by √(χ²/dof) = {scale:.2f}")
    return p, scale, note


@dataclass(frozen=True, repr=False)
class PowerLawFit(SummaryRepr):
    """``y = amplitude · x^exponent`` fitted in log–log to means with standard errors.

    Attributes
    ----------
    verdict : str
        ``"consistent with <h>"`` when the 95 % interval holds exactly one of the
        hypotheses, ``"excludes <h>"`` when it holds none, else ``"undetermined"`` (also
        when the interval is wider than ±0.25).
    quantity, variable, group : str
        What was fitted against what (``"width"``, ``"P"``, ``"N"``, ``"n_ens"``), where.
    exponent, exponent_err, ci_low, ci_high : float
        The exponent, its standard error and 95 % interval (scaled by √(χ²/dof) when
        that exceeds 1).
    amplitude : float
    chi2, dof, p_value : float, int, float
    x, y, y_err : ndarray, shape (k,)
    note : str
    key : tuple
        The values that identify the group (e.g. ``(depth, N)``), for selecting fits.
    """

    verdict: str
    quantity: str
    variable: str
    group: str
    exponent: float
    exponent_err: float
    ci_low: float
    ci_high: float
    amplitude: float
    chi2: float
    dof: int
    p_value: float
    x: np.ndarray
    y: np.ndarray
    y_err: np.ndarray
    note: str = ""
    key: tuple = ()


def exponent_verdict(lo: float, hi: float, hypotheses: dict[str, float]) -> str:
    """The verdict words of an interval [lo, hi] against named exponents (see PowerLawFit)."""
    if not (math.isfinite(lo) and math.isfinite(hi)) or not hypotheses:
        return "undetermined"
    if hi - lo > 2 * MAX_HALF_WIDTH:
        return "undetermined"
    inside = [name for name, v in hypotheses.items() if lo <= v <= hi]
    if len(inside) == 1:
        return f"consistent with {inside[0]}"
    if not inside:
        return "excludes " + " and ".join(hypotheses)
    return "undetermined"


def power_law_fit(x: object, y: object, y_err: object, *, quantity: str = "y",
                  variable: str = "x", group: str = "",
                  hypotheses: dict[str, float] | None = None,
                  key: tuple = ()) -> PowerLawFit:
    """Weighted log–log fit of ``y = A x^γ``; errors of log y are ``y_err / y``.

    Raises
    ------
    ValueError
        Fewer than 3 points with positive finite x and y, or repeated x.
    """
    x, y, e = (np.asarray(v, dtype=float).ravel() for v in (x, y, y_err))
    keep = np.isfinite(x) & np.isfinite(y) & (x > 0) & (y > 0)
    x, y, e = x[keep], y[keep], e[keep]
    if x.size < 3:
        raise ValueError(f"a power-law fit of {quantity} vs {variable} needs at least 3 sizes "
                         f"with positive values, got {x.size}")
    if np.unique(x).size != x.size:
        raise ValueError(f"a power-law fit of {quantity} vs {variable} needs distinct sizes")
    s = positive_errors(e, y) / y
    X = np.column_stack([np.ones_like(x), np.log(x)])
    beta, cov, chi2 = wls(X, np.log(y), s)
    dof = x.size - 2
    p, scale, note = chi2_check(chi2, dof)
    err = float(math.sqrt(cov[1, 1])) * scale
    lo, hi = float(beta[1]) - Z95 * err, float(beta[1]) + Z95 * err
    return PowerLawFit(exponent_verdict(lo, hi, hypotheses or {}), quantity, variable, group,
                       float(beta[1]), err, lo, hi, float(math.exp(beta[0])), float(chi2),
                       int(dof), p, x, y, e, note, tuple(key))
