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

    Parameters
    ----------
    chi2 : float
    dof : int
        Degrees of freedom (≤ 0: nothing to check, p is NaN).

    Returns
    -------
    (p_value, scale, note) : tuple of float, float and str

    Examples
    --------
    >>> from ntkjam.analysis.power_law import chi2_check
    >>> p, scale, note = chi2_check(3.0, 5)
    >>> round(p, 4), scale, note  # a good fit: intervals kept as they are
    (0.7, 1.0, '')
    >>> p, scale, note = chi2_check(30.0, 5)
    >>> p < 0.01, round(scale, 4), note.startswith("warning")  # √(30/5) widens them
    (True, 2.4495, True)
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

    Examples
    --------
    >>> from ntkjam.analysis.power_law import power_law_fit
    >>> fit = power_law_fit([10, 100, 1000], [0.1, 0.01, 0.001], [0.02, 0.002, 0.0002],
    ...                     hypotheses={"x^-1": -1.0, "x^-1/2": -0.5})
    >>> fit.verdict, round(fit.exponent, 6), round(fit.amplitude, 6), fit.x.shape
    ('consistent with x^-1', -1.0, 1.0, (3,))
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
    """The verdict words of an interval [lo, hi] against named exponents (see PowerLawFit).

    Parameters
    ----------
    lo, hi : float
        The 95 % interval of the exponent.
    hypotheses : dict of str to float
        Named exponents.

    Returns
    -------
    str
        ``"consistent with <h>"``, ``"excludes <h> and …"`` or ``"undetermined"``.

    Examples
    --------
    >>> from ntkjam.analysis.power_law import exponent_verdict
    >>> h = {"n^-1": -1.0, "n^-1/2": -0.5}
    >>> exponent_verdict(-1.1, -0.9, h), exponent_verdict(-0.3, -0.1, h)
    ('consistent with n^-1', 'excludes n^-1 and n^-1/2')
    >>> exponent_verdict(-1.1, -0.4, h)  # holds both: the data cannot decide
    'undetermined'
    """
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

    Parameters
    ----------
    x, y, y_err : array_like, shape (k,)
        Sizes, means and their standard errors (points with x or y not positive and
        finite are dropped; unusable errors replaced, see
        :func:`~ntkjam.analysis.stats.positive_errors`).
    quantity, variable, group : str
        Labels of the fit.
    hypotheses : dict of str to float, optional
        Named exponents for the verdict (none: ``"undetermined"``).
    key : tuple
        Stored on the result.

    Returns
    -------
    PowerLawFit

    Raises
    ------
    ValueError
        Fewer than 3 points with positive finite x and y, or repeated x.

    Examples
    --------
    >>> import numpy as np
    >>> from ntkjam.analysis.power_law import power_law_fit
    >>> width = np.array([32.0, 64.0, 128.0, 256.0])
    >>> drift = 3 / width * np.array([1.01, 0.99, 1.01, 0.99])  # ∝ n^-1 with ±1 % noise
    >>> fit = power_law_fit(width, drift, 0.01 * drift, quantity="drift", variable="width",
    ...                     hypotheses={"n^-1": -1.0, "n^-1/2": -0.5})
    >>> fit.verdict, fit.ci_low < -1.0 < fit.ci_high, fit.dof
    ('consistent with n^-1', True, 2)
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
