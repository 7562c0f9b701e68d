"""General statistics: binomial intervals, crossing-model fits, weighted least squares, tails.

Nothing here knows a run directory or a study: arrays in, numbers out.

* :func:`wilson` — the Wilson score interval of binomial counts.
* :func:`model_probability`, :func:`fit_counts`, :func:`fit_crossing` — the crossing
  model ``P(SAT) = Φ((φ_c − φ)/w)`` (``"erf"``) or ``1/(1 + e^{(φ − φ_c)/w})``
  (``"logistic"``), fitted by maximum likelihood to binomial counts or Bernoulli
  outcomes; :func:`check_bootstrap` validates the model and a bootstrap size.
* :func:`wls`, :func:`positive_errors` — weighted linear least squares (the power-law
  fits of the scaling modules are log-log WLS) and error bars made usable.
* :func:`power_law_tail` — the small-value tail ``p(x) ∝ x^θ`` of a positive sample
  (gaps, forces) by maximum likelihood, with a Kolmogorov–Smirnov check.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import scipy.stats
from scipy.special import expit, log_ndtr, ndtr

from ntkjam._validate import as_choice, as_int, as_real
from ntkjam.core.reprs import SummaryRepr

__all__ = [
    "MAX_N_BOOT",
    "MODELS",
    "PowerLawTail",
    "check_bootstrap",
    "standard_error",
    "fit_counts",
    "fit_crossing",
    "model_probability",
    "positive_errors",
    "power_law_tail",
    "wilson",
    "wls",
]

#: Crossing models: probit (``"erf"``) and logit (``"logistic"``).
MODELS = ("erf", "logistic")
#: Most bootstrap samples per curve: 1e5 refits already take minutes; more only hangs.
MAX_N_BOOT = 100_000
#: Largest |slope| of the GLM in scaled φ: a sharper step is reported at this width.
_BETA_CAP = 1e4


def check_bootstrap(model: str, n_boot: int) -> tuple[str, int]:
    """Validate the crossing ``model`` and the bootstrap size (2 ≤ n_boot ≤ MAX_N_BOOT).

    Parameters
    ----------
    model : str
        One of :data:`MODELS`.
    n_boot : int
        Bootstrap samples per curve.

    Returns
    -------
    (model, n_boot) : tuple of str and int

    Raises
    ------
    ValueError
        Naming the parameter, its value and what is allowed.

    Examples
    --------
    >>> from ntkjam.analysis.stats import check_bootstrap
    >>> check_bootstrap("logistic", 200)
    ('logistic', 200)
    >>> check_bootstrap("probit", 200)
    Traceback (most recent call last):
    ...
    ValueError: model must be one of ['erf', 'logistic'], got 'probit'
    """
    model = as_choice("model", model, MODELS)
    n_boot = as_int("n_boot", n_boot, minimum=2)
    if n_boot > MAX_N_BOOT:
        raise ValueError(f"n_boot must be <= {MAX_N_BOOT}, got {n_boot}")
    return model, n_boot


def standard_error(v: np.ndarray) -> float:
    """Standard error of the mean of the samples ``v``, shape (n,): s/√n (NaN for n < 2).

    Examples
    --------
    >>> import numpy as np
    >>> from ntkjam.analysis.stats import standard_error
    >>> standard_error(np.array([1.0, 3.0])), standard_error(np.array([2.0]))
    (1.0, nan)
    """
    return float(np.std(v, ddof=1) / math.sqrt(v.size)) if v.size > 1 else math.nan


# ------------------------------------------------------------------- binomial counts
def wilson(k: np.ndarray, n: np.ndarray, z: float = 1.959963984540054):
    """Wilson score interval ``(lo, hi)`` of k successes in n trials (95 % by default).

    Parameters
    ----------
    k, n : numpy.ndarray, shape (m,)
        Successes and trials (float; n > 0).
    z : float
        Normal quantile of the two-sided level (1.96: 95 %).

    Returns
    -------
    (lo, hi) : tuple of numpy.ndarray, shape (m,)
        Inside [0, 1] even at k = 0 or k = n, where the normal interval collapses.

    Examples
    --------
    >>> import numpy as np
    >>> from ntkjam.analysis.stats import wilson
    >>> lo, hi = wilson(np.array([5.0, 0.0]), np.array([10.0, 10.0]))
    >>> np.round(lo, 4), np.round(hi, 4)  # 0 of 10 still leaves up to 28 % possible
    (array([0.2366, 0.    ]), array([0.7634, 0.2775]))
    """
    p = k / n
    denom = 1 + z**2 / n
    centre = (p + z**2 / (2 * n)) / denom
    half = z * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / denom
    return centre - half, centre + half


# --------------------------------------------------------------------- crossing model
def model_probability(phi: object, phi_c: float, width: float, model: str = "erf") -> np.ndarray:
    """The crossing model: ``Φ((φ_c − φ)/w)`` (erf) or ``σ((φ_c − φ)/w)`` (logistic).

    Parameters
    ----------
    phi : array_like, shape (m,)
        Densities φ = N/P.
    phi_c, width : float
        Crossing (P(SAT) = ½ there) and width w > 0.
    model : {"erf", "logistic"}

    Returns
    -------
    numpy.ndarray, shape (m,)
        P(SAT) at each φ.

    Examples
    --------
    >>> from ntkjam.analysis.stats import model_probability
    >>> model_probability([1.9, 2.0, 2.1], 2.0, 0.1).round(4)  # Φ(1), ½, Φ(−1)
    array([0.8413, 0.5   , 0.1587])
    >>> model_probability([1.9], 2.0, 0.1, "logistic").round(4)  # 1/(1 + e^−1)
    array([0.7311])
    """
    phi = np.asarray(phi, dtype=float)
    z = (phi_c - phi) / width
    return ndtr(z) if model == "erf" else expit(z)


def _loglik(eta: np.ndarray, k: np.ndarray, n: np.ndarray, model: str) -> float:
    if model == "erf":
        ls, lu = log_ndtr(eta), log_ndtr(-eta)
    else:
        ls, lu = -np.logaddexp(0.0, -eta), -np.logaddexp(0.0, eta)
    return float(np.dot(k, ls) + np.dot(n - k, lu))


def _score_info(eta: np.ndarray, k: np.ndarray, n: np.ndarray, model: str):
    """d loglik / d eta and the Fisher information weight of each point."""
    if model == "erf":
        log_pdf = -0.5 * eta**2 - 0.5 * math.log(2 * math.pi)
        r_s = np.exp(log_pdf - log_ndtr(eta))  # φ(η)/Φ(η)
        r_u = np.exp(log_pdf - log_ndtr(-eta))  # φ(η)/Φ(−η)
        score = k * r_s - (n - k) * r_u
        info = n * r_s * r_u  # n φ² / (Φ(η) Φ(−η))
    else:
        p = expit(eta)
        score = k - n * p
        info = n * p * (1 - p)
    return score, info


def _fisher_scoring(X: np.ndarray, theta: np.ndarray, k, n, model: str) -> np.ndarray:
    """Maximise the binomial log-likelihood of ``η = X θ`` from ``theta``.

    Fisher scoring with step halving (the log-likelihood is concave); stops when the
    step and the gain vanish or when |slope| passes the cap (a perfectly sharp step).
    """
    ll = _loglik(X @ theta, k, n, "erf" if model == "erf" else "logistic")
    for _ in range(200):
        score, info = _score_info(X @ theta, k, n, model)
        g = X.T @ score
        H = X.T @ (info[:, None] * X)
        try:
            step = np.linalg.solve(H + 1e-12 * np.trace(H) * np.eye(2), g)
        except np.linalg.LinAlgError:
            break
        t = 1.0
        while t > 1e-10:
            cand = theta + t * step
            ll_new = _loglik(X @ cand, k, n, model)
            if ll_new >= ll - 1e-12 * abs(ll):
                break
            t *= 0.5
        theta, improved = cand, ll_new - ll
        ll = ll_new
        if abs(theta[1]) > _BETA_CAP or (abs(improved) < 1e-12 * max(abs(ll), 1.0)
                                         and np.max(np.abs(t * step)) < 1e-10):
            break
    return theta


def fit_counts(phi, k, n, model: str) -> tuple[float, float]:
    """Maximum-likelihood (φ_c, w) for binomial counts k of n at each φ.

    The model is a binary GLM in ``η = α + β φ`` (probit for "erf", logit for
    "logistic"), fitted by Fisher scoring with step halving (the log-likelihood is
    concave); ``φ_c = −α/β`` and ``w = −1/β``.  A perfectly sharp sample (every SAT
    point below every UNSAT one) has no finite maximum: the width is then capped at
    10⁻⁴ of the φ span, φ_c midway across the step.  NaN when every outcome is the same.

    Parameters
    ----------
    phi : array_like, shape (m,)
        φ of each point (distinct).
    k, n : array_like, shape (m,)
        SAT counts and instances at each point (points with n = 0 are dropped).
    model : {"erf", "logistic"}

    Returns
    -------
    (phi_c, width) : tuple of float

    Examples
    --------
    >>> import numpy as np
    >>> from ntkjam.analysis.stats import fit_counts, model_probability
    >>> phi = np.linspace(1.5, 2.5, 11)
    >>> k = 100 * model_probability(phi, 2.0, 0.2)  # the expected counts of 100 instances
    >>> c, w = fit_counts(phi, k, np.full(11, 100.0), "erf")
    >>> round(c, 6), round(w, 6)  # the maximum of the likelihood is the model itself
    (2.0, 0.2)
    """
    k = np.asarray(k, dtype=float)
    n = np.asarray(n, dtype=float)
    keep = n > 0
    phi, k, n = np.asarray(phi, dtype=float)[keep], k[keep], n[keep]
    if k.sum() == 0 or k.sum() == n.sum():
        return math.nan, math.nan
    p = k / n
    span = float(phi.max() - phi.min()) or 1.0
    last_sat, first_unsat = float(phi[k > 0].max()), float(phi[k < n].min())
    if last_sat < first_unsat:  # separated: the step sits between the two
        return 0.5 * (last_sat + first_unsat), span / _BETA_CAP
    centre = float(phi.mean())
    x = (phi - centre) / span  # scaled for conditioning
    below = np.flatnonzero(p < 0.5)
    c0 = (float(phi[below[0]]) if below.size else float(phi[-1])) - centre
    beta = -4.0
    theta = np.array([-beta * c0 / span, beta])
    X = np.column_stack([np.ones_like(x), x])
    theta = _fisher_scoring(X, theta, k, n, model)
    a, b = float(theta[0]), float(theta[1])
    if not b < 0:
        return math.nan, math.nan
    if abs(b) > _BETA_CAP:
        return 0.5 * (last_sat + first_unsat), span / _BETA_CAP
    return centre - span * a / b, -span / b


def fit_crossing(phi: object, sat: object, *, model: str = "erf") -> tuple[float, float]:
    """φ_c and width w of ``P(SAT) = Φ((φ_c − φ)/w)`` by maximum likelihood.

    Parameters
    ----------
    phi : array_like, shape (m,)
        φ of each instance (or of each point, with ``sat`` the fractions — use counts
        via :func:`ntkjam.analysis.crossings` for that).
    sat : array_like of bool, shape (m,)
        SAT outcome of each instance.
    model : {"erf", "logistic"}

    Returns
    -------
    (phi_c, width) : tuple of float
        NaN when every outcome is the same (no crossing in the data).

    Examples
    --------
    >>> import numpy as np
    >>> from ntkjam.analysis.stats import fit_crossing, model_probability
    >>> phi = np.repeat(np.linspace(1.5, 2.5, 11), 200)  # 200 instances at each of 11 φ
    >>> sat = np.random.default_rng(0).random(phi.size) < model_probability(phi, 2.0, 0.2)
    >>> c, w = fit_crossing(phi, sat)
    >>> abs(c - 2.0) < 0.02, abs(w - 0.2) < 0.02
    (True, True)
    >>> fit_crossing([1.0, 1.5, 2.5, 3.0], [True, True, False, False])  # a sharp step
    (2.0, 0.0002)
    """
    model = as_choice("model", model, MODELS)
    phi = np.asarray(phi, dtype=float).ravel()
    sat = np.asarray(sat, dtype=bool).ravel()
    if phi.shape != sat.shape or phi.size == 0:
        raise ValueError(
            f"phi and sat must be non-empty and of the same length, got {phi.size} and {sat.size}"
        )
    u, inv = np.unique(phi, return_inverse=True)
    k = np.bincount(inv, weights=sat.astype(float), minlength=u.size)
    n = np.bincount(inv, minlength=u.size).astype(float)
    return fit_counts(u, k, n, model)


# ------------------------------------------------------------------ least squares
def wls(X: np.ndarray, y: np.ndarray, sigma: np.ndarray):
    """Weighted least squares: (coefficients, covariance, χ²).

    Minimises ``Σ_i ((y_i − X_i·β)/σ_i)²``.

    Parameters
    ----------
    X : numpy.ndarray, shape (m, k)
        Design matrix (full column rank).
    y, sigma : numpy.ndarray, shape (m,)
        Values and their standard errors (> 0).

    Returns
    -------
    (beta, cov, chi2) : tuple
        Coefficients, shape (k,); their covariance ``(Xᵀ W X)⁻¹``, shape (k, k); and
        the χ² of the fit (scalar).

    Examples
    --------
    >>> import numpy as np
    >>> from ntkjam.analysis.stats import wls
    >>> x = np.array([0.0, 1.0, 2.0, 3.0])
    >>> beta, cov, chi2 = wls(np.column_stack([np.ones(4), x]), 1 + 2 * x, np.ones(4))
    >>> beta.round(8), cov.round(8), chi2 < 1e-20  # exact line: no residual
    (array([1., 2.]), array([[ 0.7, -0.3],
           [-0.3,  0.2]]), True)
    """
    W = 1.0 / sigma**2
    A = X.T @ (W[:, None] * X)
    cov = np.linalg.inv(A)
    beta = cov @ (X.T @ (W * y))
    chi2 = float(np.sum(W * (y - X @ beta) ** 2))
    return beta, cov, chi2


def positive_errors(err: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Errors with zeros and NaNs replaced (a bootstrap of a perfectly sharp curve).

    The replacement is the smallest usable error, or 10⁻³ of the largest |value|
    (at least 10⁻³) when no error is usable.

    Parameters
    ----------
    err, values : array_like, shape (m,)
        Standard errors and the values they belong to.

    Returns
    -------
    numpy.ndarray, shape (m,)
        Every entry finite and > 0.

    Examples
    --------
    >>> from ntkjam.analysis.stats import positive_errors
    >>> positive_errors([0.1, 0.0, float("nan")], [1.0, 2.0, 3.0])
    array([0.1, 0.1, 0.1])
    >>> positive_errors([0.0, 0.0], [5.0, 2000.0])  # none usable: 10⁻³ of 2000
    array([2., 2.])
    """
    err = np.asarray(err, dtype=float)
    good = np.isfinite(err) & (err > 0)
    floor = np.min(err[good]) if np.any(good) else 1e-3 * max(float(np.max(np.abs(values))), 1)
    return np.where(good, err, floor)


# ----------------------------------------------------------------- power-law tails
@dataclass(frozen=True, repr=False)
class PowerLawTail(SummaryRepr):
    """Small-value tail of a positive sample (gaps or forces): density ∝ x^θ near 0.

    Attributes
    ----------
    name : str
    n_samples : int
        Pooled values.
    n_tail : int
        Smallest values used (those below ``x_max``, the ``tail_fraction`` quantile).
    x_max, decades : float
        Upper end of the tail and its span log10(x_max / x_min).
    theta, theta_err : float
        Maximum-likelihood exponent of ``p(x) ∝ x^θ`` on (0, x_max] and its error.
    ks_pvalue : float
        Kolmogorov–Smirnov p-value of the tail against the fitted law.
    supported : bool
        A decade or more of data and ``ks_pvalue ≥ 0.05``.
    note : str
        Why the fit is not supported ("" when it is).

    Examples
    --------
    >>> import numpy as np
    >>> from ntkjam.analysis.stats import power_law_tail
    >>> tail = power_law_tail(np.ones(10), name="gaps")
    >>> tail.supported, tail.n_tail, tail.note
    (False, 0, '10 values: too few for a tail fit')
    """

    name: str
    n_samples: int
    n_tail: int
    x_max: float
    decades: float
    theta: float
    theta_err: float
    ks_pvalue: float
    supported: bool
    note: str = ""


def power_law_tail(values: object, *, name: str = "x", tail_fraction: float = 0.2,
                   min_tail: int = 30) -> PowerLawTail:
    """Fit ``p(x) ∝ x^θ`` to the smallest values of a positive sample.

    On (0, x_max] the law has CDF ``(x/x_max)^{1+θ}``; the maximum-likelihood
    estimate of ``1 + θ`` from the k values below x_max is ``k / Σ log(x_max/x_i)``
    with standard error ``(1 + θ)/√k``.  A uniform density near 0 gives θ = 0.

    Parameters
    ----------
    values : array_like, shape (m,)
        The sample (non-finite and non-positive values are dropped).
    name : str
        Label of the result.
    tail_fraction : float
        Quantile that ends the tail (> 0).
    min_tail : int
        Fewest tail values to fit: at least ``min_tail / tail_fraction`` values needed.

    Returns
    -------
    PowerLawTail

    Examples
    --------
    >>> import numpy as np
    >>> from ntkjam.analysis.stats import power_law_tail
    >>> u = np.random.default_rng(0).random(1000)
    >>> tail = power_law_tail(u**2, name="gaps")  # x = u²: density ∝ x^(−1/2)
    >>> tail.n_tail, abs(tail.theta + 0.5) < 2 * tail.theta_err, tail.supported
    (200, True, True)
    """

    tail_fraction = as_real("tail_fraction", tail_fraction, positive=True)
    x = np.asarray(values, dtype=float).ravel()
    x = x[np.isfinite(x) & (x > 0)]
    nan = math.nan
    if x.size < min_tail / tail_fraction:
        return PowerLawTail(name, int(x.size), 0, nan, nan, nan, nan, nan, False,
                            f"{x.size} values: too few for a tail fit")
    x_max = float(np.quantile(x, tail_fraction))
    t = np.sort(x[x <= x_max])
    k = t.size
    logs = np.log(x_max / t)
    s = float(logs.sum())
    if not s > 0:
        return PowerLawTail(name, int(x.size), int(k), x_max, 0.0, nan, nan, nan, False,
                            "degenerate tail (all values equal)")
    a = k / s
    decades = float(math.log10(x_max / t[0]))
    ks = scipy.stats.kstest(t, lambda v: np.clip(v / x_max, 0, 1) ** a)
    supported = bool(decades >= 1.0 and ks.pvalue >= 0.05)
    note = "" if supported else (
        "tail spans less than a decade" if decades < 1.0 else "KS test rejects the power law"
    )
    return PowerLawTail(name, int(x.size), int(k), x_max, decades, a - 1.0, a / math.sqrt(k),
                        float(ks.pvalue), supported, note)
