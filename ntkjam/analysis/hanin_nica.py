"""The relative second moment of the NTK diagonal against β = Σ_l 1/n_l (Hanin & Nica 2019),
from the rows of an ``ntk_diagonal_moments`` store (read only).

Per (depth L, width n) the networks are the independent units: with a = the mean of
K_n(x, x) over one network's points and b = the same of K_n(x, x)², the store holds the
moments of a and b over networks, so ``R = E[b]/E[a]²`` and the delta-method error of
``log R`` follow.  Three fits, all weighted least squares with 95 % intervals:

* pooled: ``log R = intercept + rate · β`` over every point;
* at fixed depth, across widths: ``log R = c(L) · β`` (through the origin: R → 1 as
  n → ∞) — is the law linear in β, and with which rate at this depth;
* at fixed width, across depths: ``log R = a + r(n) · β`` — the growth in the
  depth-to-width ratio.

Hanin–Nica prove ``E[K²]/E[K]² ≃ exp(5β)`` up to bounded factors for deep ReLU nets; the
rate 5 is an asymptotic order, not the slope at small depth (depth 1 gives exactly
``R = 1 + 3/n`` in the NTK parameterization, a rate of 3).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ntkjam.analysis.power_law import Z95, chi2_check
from ntkjam.analysis.stats import positive_errors, wls
from ntkjam.core.reprs import SummaryRepr

__all__ = ["HANIN_NICA_RATE", "HaninNicaFit", "hanin_nica", "log_ratio"]

#: Hanin–Nica's rate of log E[K²]/E[K]² in β for ReLU (an asymptotic order, see above).
HANIN_NICA_RATE = 5.0
#: Widest half-interval of the rate that still supports a verdict against 5.
_RATE_HALF_WIDTH = 1.0


@dataclass(frozen=True, repr=False)
class HaninNicaFit(SummaryRepr):
    """log E[K(x,x)²]/E[K(x,x)]² against β: the points and three fits (module docstring).

    Attributes
    ----------
    verdict : str
        Of the fits at fixed depth: ``"linear in β"`` when every one has χ² p ≥ 0.01 and
        a positive rate at 95 %, ``"not linear in β"`` when one has p < 0.01, else
        ``"undetermined"``.
    rate_verdict : str
        The pooled rate's interval against 5: ``"consistent with 5"``, ``"below 5"``,
        ``"above 5"`` or ``"undetermined"`` (wider than ±1).
    rate, rate_err, ci_low, ci_high, intercept, intercept_err, chi2, dof, p_value
        The pooled fit (errors scaled by √(χ²/dof) when it exceeds 1).
    depth, width, beta, log_ratio, log_ratio_err, n_networks : ndarray, shape (k,)
        The points.
    mean_offset, mean_offset_err : ndarray, shape (k,)
        E[K(x,x)]/K_∞(x,x) − 1 and its error (0 for bias-free ReLU at any width: a
        clearly negative value flags a heavy tail that the networks do not sample).
    fit_depths, depth_rates, depth_rate_errs, depth_p_values : ndarray
        Fits at fixed depth (≥ 2 widths): c(L) with its standard error and χ² p.
    fit_widths, width_rates, width_rate_errs, width_p_values : ndarray
        Fits at fixed width (≥ 3 depths): r(n), its error and χ² p.
    note : str

    Examples
    --------
    Made by :func:`hanin_nica`; a tiny ``ntk_diagonal_moments`` sweep (width 12, depths
    1–3, 200 networks per point) gives one point per depth, β = L/n:

    >>> import tempfile
    >>> from ntkjam import sweep
    >>> from ntkjam.analysis.hanin_nica import hanin_nica
    >>> from ntkjam.experiments.fluctuations import diagonal_spec
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     spec = diagonal_spec(depths=[1, 2, 3], widths=[12], seeds=2, n=4, n_nets=100,
    ...                          output=tmp + "/run")
    ...     fit = hanin_nica(sweep.load(sweep.run(spec).directory))
    >>> fit.depth.tolist(), fit.n_networks.tolist(), fit.beta.round(4).tolist()
    ([1, 2, 3], [200, 200, 200], [0.0833, 0.1667, 0.25])
    >>> fit.verdict, fit.fit_widths.tolist()  # one width: linearity at fixed depth untested
    ('undetermined', [12])
    """

    verdict: str
    rate_verdict: str
    rate: float
    rate_err: float
    ci_low: float
    ci_high: float
    intercept: float
    intercept_err: float
    chi2: float
    dof: int
    p_value: float
    depth: np.ndarray
    width: np.ndarray
    beta: np.ndarray
    log_ratio: np.ndarray
    log_ratio_err: np.ndarray
    n_networks: np.ndarray
    mean_offset: np.ndarray
    mean_offset_err: np.ndarray
    fit_depths: np.ndarray
    depth_rates: np.ndarray
    depth_rate_errs: np.ndarray
    depth_p_values: np.ndarray
    fit_widths: np.ndarray
    width_rates: np.ndarray
    width_rate_errs: np.ndarray
    width_p_values: np.ndarray
    note: str = ""


def log_ratio(g: Any) -> tuple[float, float, int, float, float]:
    """``(log R, its error, networks, E[a]/K_∞ − 1, its error)`` of the rows ``g``.

    Pooled over the networks of the rows (weights ``n_nets``); the error of log R by the
    delta method on the means of a and b, their variances and covariance.

    Parameters
    ----------
    g : pandas.DataFrame
        Rows of one (depth, width) of an ``ntk_diagonal_moments`` table: ``n_nets`` and
        the per-task moments ``k_mean`` (E a), ``k2_mean`` (E b), ``k_sq_mean`` (E a²),
        ``k2_sq_mean`` (E b²), ``k_k2_mean`` (E ab) and ``k_inf`` (K_∞(x, x)).

    Returns
    -------
    tuple
        ``(log R, its error, networks, E[a]/K_∞ − 1, its error)``: floats and an int.

    Examples
    --------
    Two tasks of 10 networks with E a = 2, E b = 5: R = 5/4, the value 1 + 3/n of depth
    1 at width n = 12; Var a = 0.04, Var b = 0.25, Cov = 0.08 over 19 dof:

    >>> import pandas as pd
    >>> from ntkjam.analysis.hanin_nica import log_ratio
    >>> g = pd.DataFrame({"n_nets": [10, 10], "k_mean": 2.0, "k2_mean": 5.0, "k_inf": 2.0,
    ...                   "k_sq_mean": 4.04, "k2_sq_mean": 25.25, "k_k2_mean": 10.08})
    >>> [round(v, 4) for v in log_ratio(g)]
    [0.2231, 0.0308, 20, 0.0, 0.0229]
    """
    w = g["n_nets"].to_numpy(dtype=float)
    M = float(w.sum())

    def mean(col):
        return float(np.sum(w * g[col].to_numpy(dtype=float)) / M)

    m1, m2, k_inf = mean("k_mean"), mean("k2_mean"), mean("k_inf")
    v1, v2 = mean("k_sq_mean") - m1**2, mean("k2_sq_mean") - m2**2
    c12 = mean("k_k2_mean") - m1 * m2
    dof = max(M - 1, 1)
    var = (v2 / m2**2 + 4 * v1 / m1**2 - 4 * c12 / (m1 * m2)) / dof
    return (math.log(m2 / m1**2), math.sqrt(max(var, 0.0)), int(M), m1 / k_inf - 1,
            math.sqrt(max(v1, 0.0) / dof) / k_inf)


def _line(x, y, e, intercept: bool):
    """WLS of y on x (with or without intercept): (coefficients, scaled errors, χ², dof, p)."""
    X = np.column_stack([np.ones_like(x), x]) if intercept else x[:, None]
    beta, cov, chi2 = wls(X, y, e)
    dof = x.size - X.shape[1]
    p, scale, _ = chi2_check(chi2, dof)
    return beta, np.sqrt(np.diag(cov)) * scale, chi2, dof, p


def _rate_verdict(lo: float, hi: float) -> str:
    if hi - lo > 2 * _RATE_HALF_WIDTH:
        return "undetermined"
    if lo <= HANIN_NICA_RATE <= hi:
        return "consistent with 5"
    return "below 5" if hi < HANIN_NICA_RATE else "above 5"


def _grouped(by, other, beta, y, e, minimum: int, intercept: bool):
    """The fit at each value of ``by`` with ≥ ``minimum`` distinct ``other`` values."""
    keys, rates, errs, ps = [], [], [], []
    for k in np.unique(by):
        s = by == k
        if np.unique(other[s]).size < minimum:
            continue
        beta_k, err_k, _, _, p = _line(beta[s], y[s], e[s], intercept)
        keys.append(k)
        rates.append(beta_k[-1])
        errs.append(err_k[-1])
        ps.append(p)
    return (np.array(keys, dtype=int), np.array(rates), np.array(errs), np.array(ps))


def hanin_nica(df: Any) -> HaninNicaFit:
    """The points and fits of the finished rows of an ``ntk_diagonal_moments`` table.

    Parameters
    ----------
    df : pandas.DataFrame
        The finished rows (columns ``depth``, ``width``, ``beta`` and those of
        :func:`log_ratio`).

    Returns
    -------
    HaninNicaFit
        Points of shape (k,), k the (depth, width) pairs.

    Raises
    ------
    ValueError
        Fewer than 3 (depth, width) points.

    Examples
    --------
    Depths 1–3 at width 12: the pooled rate of log R in β is near 3, the exact value at
    depth 1, and its interval lies below Hanin–Nica's asymptotic 5:

    >>> import math, tempfile
    >>> from ntkjam import sweep
    >>> from ntkjam.analysis.hanin_nica import hanin_nica
    >>> from ntkjam.experiments.fluctuations import diagonal_spec
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     spec = diagonal_spec(depths=[1, 2, 3], widths=[12], seeds=2, n=4, n_nets=100,
    ...                          output=tmp + "/run")
    ...     fit = hanin_nica(sweep.load(sweep.run(spec).directory))
    >>> fit.rate_verdict, bool(fit.ci_low < 3 < fit.ci_high)
    ('below 5', True)
    >>> bool(abs(fit.log_ratio[0] - math.log(1 + 3 / 12)) < 4 * fit.log_ratio_err[0])
    True
    """
    rows = [(int(d), int(w), float(g["beta"].iloc[0]), *log_ratio(g))
            for (d, w), g in df.groupby(["depth", "width"], sort=True)]
    if len(rows) < 3:
        raise ValueError(f"the fit in β needs at least 3 (depth, width) points, got {len(rows)}")
    depth, width, beta, y, e, M, off, off_err = (np.array(c) for c in zip(*rows, strict=True))
    e = positive_errors(e, y)
    (a, r), (a_err, r_err), chi2, dof, p = _line(beta, y, e, intercept=True)
    lo, hi = r - Z95 * r_err, r + Z95 * r_err
    by_depth = _grouped(depth, width, beta, y, e, 2, intercept=False)
    by_width = _grouped(width, depth, beta, y, e, 3, intercept=True)
    notes = []
    d_rates, d_errs, d_p = by_depth[1:]
    if d_p.size == 0:
        verdict = "undetermined"
        notes.append("no depth has 2 widths: linearity in β at fixed depth is not tested")
    elif np.any(d_p < 0.01):
        verdict = "not linear in β"
        notes.append("warning: at depth " + ", ".join(
            str(k) for k, q in zip(by_depth[0], d_p, strict=True) if q < 0.01)
            + " the points scatter beyond their errors about a line through the origin "
            "(χ² p < 0.01)")
    else:
        verdict = "linear in β" if np.all(d_rates - Z95 * d_errs > 0) else "undetermined"
    tail = [f"depth {d}, width {w}" for d, w, o, oe in zip(depth, width, off, off_err,
                                                           strict=True) if o < -4 * oe]
    if tail:
        notes.append("the mean of K(x,x) falls short of K_∞(x,x) by more than 4 errors at "
                     + "; ".join(tail) + ": a heavy tail the networks do not sample, so "
                     "E[K²] there is underestimated (add networks or lower β)")
    if p < 0.01:
        notes.append(f"pooled fit: χ² = {chi2:.1f} for {dof} dof (p = {p:.1g}): the rate "
                     "depends on depth, see the fits at fixed depth")
    return HaninNicaFit(verdict, _rate_verdict(lo, hi), float(r), float(r_err), float(lo),
                        float(hi), float(a), float(a_err), float(chi2), int(dof), p, depth,
                        width, beta, y, e, M, off, off_err, *by_depth, *by_width,
                        note="; ".join(notes))
