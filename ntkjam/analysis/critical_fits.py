"""Critical-exponent fits of a jamming point: arrays in, numbers out (no run directory).

* :func:`fit_exponent` — ``density ∝ x^a`` on the smallest pooled values of several
  instances (gaps or forces), by maximum likelihood (:func:`ntkjam.analysis.power_law_tail`,
  or :func:`power_law_window` on a window between two quantiles), with the analytic
  error and a bootstrap over instances, against a theory value (:class:`ExponentFit`);
* :func:`isostaticity_interval`, :func:`within_verdict` — N_Δ/rank over instances with
  a 95 % t-interval, and the verdict said only where that interval supports it;
* :func:`empirical_cdf` — a pooled CDF at log-spaced order statistics (for figures).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.stats

from ntkjam.analysis.stats import PowerLawTail, power_law_tail
from ntkjam.core.reprs import SummaryRepr

__all__ = [
    "ExponentFit",
    "empirical_cdf",
    "fit_exponent",
    "isostaticity_interval",
    "power_law_window",
    "within_verdict",
]

_Z95 = 1.959963984540054


@dataclass(frozen=True, repr=False)
class ExponentFit(SummaryRepr):
    """A critical exponent fitted to pooled instances, against its theory value.

    Attributes
    ----------
    name : str
        ``"gamma"`` (gaps: density ∝ h^{−γ}) or ``"theta"`` (forces: ∝ f^θ).
    value, err : float
        The maximum-likelihood exponent and its analytic error ``(1 + θ)/√k``.
    ci_low, ci_high : float
        95 % interval: the wider of the bootstrap over instances (percentiles) and
        ``value ± 1.96 err`` (the analytic one alone with fewer than 2 instances).
    theory : float
    z : float
        ``(value − theory) / err``.
    consistent : bool
        The theory value lies in ``[ci_low, ci_high]``.
    tail : PowerLawTail
        The pooled fit: values in the window, its top ``x_max``, decades, KS p-value.
    lower_fraction, tail_fraction : float
        The window: between these quantiles of the pooled values.
    n_instances : int

    Examples
    --------
    Made by :func:`fit_exponent`: gaps of six instances drawn with density ∝ h^{−γ},
    γ = 0.41269 (their CDF is h^{1−γ}), give back γ within its interval:

    >>> import numpy as np
    >>> from ntkjam.analysis.critical_fits import fit_exponent
    >>> rng = np.random.default_rng(0)
    >>> gaps = [rng.random(500) ** (1 / (1 - 0.41269)) for _ in range(6)]
    >>> fit = fit_exponent(gaps, name="gamma", theory=0.41269, tail_fraction=0.3, negate=True,
    ...                    n_boot=50)
    >>> fit.consistent, fit.n_instances, fit.tail.n_tail, bool(abs(fit.z) < 3)
    (True, 6, 900, True)
    """

    name: str
    value: float
    err: float
    ci_low: float
    ci_high: float
    theory: float
    z: float
    consistent: bool
    tail: PowerLawTail
    lower_fraction: float
    tail_fraction: float
    n_instances: int


def _truncated_exp_moments(b: float, D: float) -> tuple[float, float]:
    """Mean and variance of u on [0, D] with density ∝ e^{b u} (stable near b = 0)."""
    if abs(b * D) < 1e-6:
        return D / 2 + b * D * D / 12, D * D / 12
    mean = D / -np.expm1(-b * D) - 1.0 / b
    var = 1.0 / (b * b) - (D / (2.0 * np.sinh(b * D / 2.0))) ** 2
    return float(mean), float(max(var, 1e-300))


def power_law_window(values: object, *, name: str = "x", lower_fraction: float,
                     tail_fraction: float, min_tail: int = 30) -> PowerLawTail:
    """Fit ``p(x) ∝ x^θ`` on the window between two quantiles of a positive sample.

    The window is ``[x_lo, x_max]``, the ``lower_fraction`` and ``tail_fraction``
    quantiles; ``lower_fraction = 0`` is :func:`ntkjam.analysis.power_law_tail` itself.
    With ``u = log(x/x_lo)`` the law is a truncated exponential ``∝ e^{(1+θ)u}`` on
    ``[0, log(x_max/x_lo)]``; the maximum-likelihood ``1 + θ`` matches its mean to the
    sample's, with error ``1/√(k Var u)``.  ``decades`` is ``log10(x_max/x_lo)``; the KS
    p-value is against the fitted law on the window.

    Parameters
    ----------
    values : array_like, shape (n,)
        The sample; values that are not finite and positive are dropped.
    name : str
        Label of the result.
    lower_fraction, tail_fraction : float
        The window's quantiles, ``0 ≤ lower_fraction < tail_fraction ≤ 1``.
    min_tail : int
        Fewest values in the window for a fit.

    Returns
    -------
    PowerLawTail
        ``theta`` and ``theta_err`` (NaN when too few values), ``n_tail`` the values in
        the window, ``supported`` when it spans a decade and the KS test accepts it.

    Examples
    --------
    A sample with density ∝ x^{1/2} on [0, 1] (CDF x^{3/2}); the window between its 1 %
    and 50 % quantiles spans a decade:

    >>> import numpy as np
    >>> from ntkjam.analysis.critical_fits import power_law_window
    >>> x = np.random.default_rng(0).random(4000) ** (1 / 1.5)
    >>> tail = power_law_window(x, lower_fraction=0.01, tail_fraction=0.5)
    >>> tail.supported, tail.n_tail, bool(abs(tail.theta - 0.5) < 3 * tail.theta_err)
    (True, 1960, True)
    """
    if lower_fraction == 0:
        return power_law_tail(values, name=name, tail_fraction=tail_fraction,
                              min_tail=min_tail)
    from scipy.optimize import brentq

    nan = float("nan")
    x = np.asarray(values, dtype=float).ravel()
    x = x[np.isfinite(x) & (x > 0)]
    if not 0 < lower_fraction < tail_fraction or x.size * (tail_fraction - lower_fraction) \
            < min_tail:
        return PowerLawTail(name, int(x.size), 0, nan, nan, nan, nan, nan, False,
                            f"{x.size} values: too few for a window fit")
    x_lo, x_hi = (float(v) for v in np.quantile(x, [lower_fraction, tail_fraction]))
    u = np.log(x[(x >= x_lo) & (x <= x_hi)] / x_lo)
    D = float(np.log(x_hi / x_lo))
    if not D > 0:
        return PowerLawTail(name, int(x.size), int(u.size), x_hi, 0.0, nan, nan, nan, False,
                            "degenerate window (all values equal)")
    m = float(u.mean())
    b = brentq(lambda t: _truncated_exp_moments(t, D)[0] - m, -200.0 / D, 200.0 / D)
    err = 1.0 / np.sqrt(u.size * _truncated_exp_moments(b, D)[1])
    ks = scipy.stats.kstest(u, lambda v: np.clip(np.expm1(b * np.clip(v, 0, D))
                                                 / np.expm1(b * D), 0, 1))
    decades = D / np.log(10)
    supported = bool(decades >= 1.0 and ks.pvalue >= 0.05)
    note = "" if supported else (
        "window spans less than a decade" if decades < 1.0 else "KS test rejects the power law")
    return PowerLawTail(name, int(x.size), int(u.size), x_hi, float(decades), b - 1.0,
                        float(err), float(ks.pvalue), supported, note)


def fit_exponent(samples: list[np.ndarray], *, name: str, theory: float,
                 tail_fraction: float, negate: bool, lower_fraction: float = 0.0,
                 n_boot: int = 400, seed: int = 0) -> ExponentFit:
    """Fit ``density ∝ x^a`` to the smallest values of the pooled ``samples``.

    Parameters
    ----------
    samples : list of numpy.ndarray
        One positive sample per instance (gaps, or forces over their mean).
    name : str
    theory : float
        The exponent's theory value.
    tail_fraction : float
        Fraction of the pooled values (the smallest) in the fit.
    lower_fraction : float
        Quantile of the window's lower end (0: from 0, :func:`power_law_tail`; > 0:
        :func:`power_law_window`, leaving out the smallest values, where a finite
        system departs from the power law).
    negate : bool
        Report ``−a`` (γ of gaps, density ∝ h^{−γ}) instead of ``a`` (θ of forces).
    n_boot : int
        Bootstrap resamples of the instances (with replacement).
    seed : int
        Seed of the bootstrap.

    Returns
    -------
    ExponentFit

    Examples
    --------
    Forces of six instances with density ∝ f^θ, θ = 0.42311 (CDF f^{1+θ}): the fit on
    the smallest 30 % of the 3000 pooled values is consistent with the theory:

    >>> import numpy as np
    >>> from ntkjam.analysis.critical_fits import fit_exponent
    >>> rng = np.random.default_rng(1)
    >>> forces = [rng.random(500) ** (1 / 1.42311) for _ in range(6)]
    >>> fit = fit_exponent(forces, name="theta", theory=0.42311, tail_fraction=0.3,
    ...                    negate=False, n_boot=50)
    >>> fit.consistent, bool(fit.ci_low < fit.value < fit.ci_high), fit.tail.n_tail
    (True, True, 900)
    """
    sign = -1.0 if negate else 1.0
    def fit(values):
        return power_law_window(values, name=name, lower_fraction=lower_fraction,
                                tail_fraction=tail_fraction)

    tail = fit(np.concatenate(samples) if samples else np.zeros(0))
    value, err = sign * tail.theta, tail.theta_err
    lo = hi = float("nan")
    if len(samples) >= 2 and np.isfinite(value):
        rng = np.random.default_rng(seed)
        boots = []
        for _ in range(n_boot):
            pick = rng.integers(0, len(samples), len(samples))
            t = fit(np.concatenate([samples[i] for i in pick]))
            if np.isfinite(t.theta):
                boots.append(sign * t.theta)
        if len(boots) >= 10:
            lo, hi = (float(v) for v in np.percentile(boots, [2.5, 97.5]))
    if np.isfinite(value) and np.isfinite(err):
        # The wider of the bootstrap (instances are correlated samples; with few of
        # them its percentiles under-cover) and the analytic interval.
        lo = min(lo, value - _Z95 * err) if np.isfinite(lo) else value - _Z95 * err
        hi = max(hi, value + _Z95 * err) if np.isfinite(hi) else value + _Z95 * err
    consistent = bool(np.isfinite(lo) and lo <= theory <= hi)
    z = (value - theory) / err if np.isfinite(err) and err > 0 else float("nan")
    return ExponentFit(name, float(value), float(err), lo, hi, float(theory), float(z),
                       consistent, tail, float(lower_fraction), float(tail_fraction),
                       len(samples))


def isostaticity_interval(values: object) -> tuple[float, float, float]:
    """Mean of N_Δ/rank over instances and its 95 % t-interval ``(mean, low, high)``.

    One instance (or identical values) gives a zero-width interval.

    Parameters
    ----------
    values : array_like, shape (m,)
        N_Δ/rank of each instance; values that are not finite are dropped.

    Returns
    -------
    tuple of float
        ``(mean, low, high)``; NaN for an empty sample.

    Examples
    --------
    Three instances: the half-width is t₀.₉₇₅(2) · s/√3 = 4.303 · 0.02/√3:

    >>> from ntkjam.analysis.critical_fits import isostaticity_interval
    >>> [round(v, 4) for v in isostaticity_interval([1.0, 1.02, 0.98])]
    [1.0, 0.9503, 1.0497]
    """
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return float("nan"), float("nan"), float("nan")
    m = float(v.mean())
    if v.size < 2:
        return m, m, m
    half = float(scipy.stats.t.ppf(0.975, v.size - 1) * v.std(ddof=1) / np.sqrt(v.size))
    return m, m - half, m + half


def within_verdict(low: float, high: float, *, tolerance: float = 0.05) -> str:
    """``"isostatic"`` when ``[low, high] ⊂ [1 − tol, 1 + tol]``.

    ``"hypostatic"`` when the interval lies wholly below ``1 − tol``, ``"hyperstatic"``
    wholly above ``1 + tol``, ``"undetermined"`` otherwise (or for NaN).

    Parameters
    ----------
    low, high : float
        The interval of N_Δ/rank (e.g. from :func:`isostaticity_interval`).
    tolerance : float
        Half-width of the band around 1.

    Returns
    -------
    str

    Examples
    --------
    >>> from ntkjam.analysis.critical_fits import within_verdict
    >>> within_verdict(0.97, 1.03), within_verdict(1.1, 1.2), within_verdict(0.9, 1.1)
    ('isostatic', 'hyperstatic', 'undetermined')
    """
    if not (np.isfinite(low) and np.isfinite(high)):
        return "undetermined"
    if low >= 1 - tolerance and high <= 1 + tolerance:
        return "isostatic"
    if high < 1 - tolerance:
        return "hypostatic"
    if low > 1 + tolerance:
        return "hyperstatic"
    return "undetermined"


def empirical_cdf(values: object, *, points: int = 400) -> tuple[np.ndarray, np.ndarray]:
    """``(x, F(x))`` of a positive sample at ≤ ``points`` log-spaced order statistics.

    Parameters
    ----------
    values : array_like, shape (n,)
        The sample; values that are not finite and positive are dropped.
    points : int
        Most order statistics kept (log-spaced in rank, so the small values stay dense).

    Returns
    -------
    x, F : numpy.ndarray, shape (m,)
        The kept values (increasing) and the fraction of the sample at or below each,
        m ≤ ``points``.

    Examples
    --------
    Ten values: the ranks kept are the rounded geomspace(1, 10, 10), without repeats:

    >>> import numpy as np
    >>> from ntkjam.analysis.critical_fits import empirical_cdf
    >>> x, F = empirical_cdf(np.arange(10, 0, -1))
    >>> x.tolist(), F.tolist()
    ([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0], [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.8, 1.0])
    """
    x = np.sort(np.asarray(values, dtype=float))
    x = x[np.isfinite(x) & (x > 0)]
    if x.size == 0:
        return np.zeros(0), np.zeros(0)
    idx = np.unique(np.round(np.geomspace(1, x.size, min(points, x.size))).astype(int)) - 1
    return x[idx], (idx + 1) / x.size
