"""The ensemble's effect and the scaling with P at fixed N, from a ``generalization``
store (read only).

* :func:`ensemble_effects` — the peak of the members' mean test error against the
  ensemble's, with a paired bootstrap of the relative reduction (:class:`EnsembleEffect`);
* :func:`p_scaling` — at fixed N above the threshold (P > N/φ_threshold), the gap
  between the single model and the ensemble ∝ P^γ (:class:`PScaling`);
* :func:`error_scaling` — the test error's approach to its P → ∞ limit, against
  Mei–Montanari's where it applies (:class:`ErrorScaling`).

The theories themselves are compared in :mod:`ntkjam.analysis.generalization_theory`,
which re-exports everything here; the rows carry ``size`` (the fixed P or N) and
``phi_x`` (n/n_params) as in :mod:`ntkjam.analysis.generalization`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ntkjam.analysis.stats import wls
from ntkjam.core.reprs import SummaryRepr

__all__ = ["EnsembleEffect", "ErrorScaling", "MAX_HALF_WIDTH", "PSI1_LIMIT", "PScaling",
           "ensemble_effects", "error_scaling", "p_scaling"]


@dataclass(frozen=True, repr=False)
class EnsembleEffect(SummaryRepr):
    """The peak of the single models' error against the ensemble's, at one size.

    ``single_peak`` is the largest mean over φ of ``mean_test_error`` (the members'
    mean), ``ens_peak`` that of ``ens_test_error``; ``reduction = 1 − ens/single`` with
    a paired 95 % bootstrap interval over seeds.

    Examples
    --------
    Made by :func:`ensemble_effects`; an ensemble whose error is half its members' at
    every point, with the peak at φ = 1 for both:

    >>> import numpy as np, pandas as pd
    >>> from ntkjam.analysis.generalization import generalization_curves
    >>> from ntkjam.analysis.generalization_scaling import ensemble_effects
    >>> phi, seed = np.repeat([0.5, 1.0, 2.0], 3), np.tile(np.arange(3), 3)
    >>> single = 1 / (np.abs(phi - 1) + 0.5) + 0.01 * seed  # peaked at φ = 1
    >>> df = pd.DataFrame({"size": 20, "seed": seed, "phi_x": phi, "mean_test_error": single,
    ...                    "ens_test_error": 0.5 * single})
    >>> (effect,) = ensemble_effects(generalization_curves(df, "P"), 2, n_boot=50)
    >>> effect.status, effect.phi_single, effect.phi_ens
    ('measured', 1.0, 1.0)
    >>> round(effect.ens_peak / effect.single_peak, 6)
    0.5
    """

    status: str
    group: str
    size: int
    n_ens: int
    single_peak: float
    ens_peak: float
    phi_single: float
    phi_ens: float
    reduction: float
    ci_low: float
    ci_high: float


def ensemble_effects(curves: list, n_ens: int, *, n_boot: int = 200,
                     seed: int = 0) -> list[EnsembleEffect]:
    """Peak of ``mean_test_error`` against that of ``ens_test_error``, per size (``curves``:
    the :class:`~ntkjam.analysis.generalization.Curve` list of the analysis).

    Parameters
    ----------
    curves : list of Curve
        Values of shape (k, s) for both quantities at each size.
    n_ens : int
        Members per ensemble (below 2: no effect to measure, empty list).
    n_boot : int
        Paired bootstrap resamples of the seed columns.
    seed : int
        Seed of the bootstrap.

    Returns
    -------
    list of EnsembleEffect

    Examples
    --------
    Halving the error everywhere halves the peak, in every resample too:

    >>> import numpy as np, pandas as pd
    >>> from ntkjam.analysis.generalization import generalization_curves
    >>> from ntkjam.analysis.generalization_scaling import ensemble_effects
    >>> phi, seed = np.repeat([0.5, 1.0, 2.0], 3), np.tile(np.arange(3), 3)
    >>> single = 1 / (np.abs(phi - 1) + 0.5) + 0.01 * seed  # peaked at φ = 1
    >>> df = pd.DataFrame({"size": 20, "seed": seed, "phi_x": phi, "mean_test_error": single,
    ...                    "ens_test_error": 0.5 * single})
    >>> (effect,) = ensemble_effects(generalization_curves(df, "P"), 2, n_boot=50)
    >>> round(effect.reduction, 6), round(effect.ci_low, 6), round(effect.ci_high, 6)
    (0.5, 0.5, 0.5)
    """
    rng = np.random.default_rng(seed)
    out = []
    single = {c.size: c for c in curves if c.quantity == "mean_test_error"}
    for c in curves:
        if c.quantity != "ens_test_error" or c.size not in single or n_ens < 2:
            continue
        s = single[c.size]
        reductions = []
        for _ in range(n_boot):
            cols = rng.integers(0, c.values.shape[1], size=c.values.shape[1])
            with np.errstate(invalid="ignore"):
                hs = np.nanmax(np.nanmean(s.values[:, cols], axis=1))
                he = np.nanmax(np.nanmean(c.values[:, cols], axis=1))
            reductions.append(1 - he / hs)
        lo, hi = np.nanquantile(reductions, [0.025, 0.975])
        hs, he = float(np.nanmax(s.mean)), float(np.nanmax(c.mean))
        out.append(EnsembleEffect(
            status="measured", group=c.group, size=c.size, n_ens=n_ens, single_peak=hs,
            ens_peak=he, phi_single=float(s.phi[np.nanargmax(s.mean)]),
            phi_ens=float(c.phi[np.nanargmax(c.mean)]), reduction=1 - he / hs,
            ci_low=float(lo), ci_high=float(hi)))
    return out


# ------------------------------------------------------------- P-scaling at fixed N
@dataclass(frozen=True, repr=False)
class PScaling(SummaryRepr):
    """At fixed N: the single-minus-ensemble gap of the test error vs P, ∝ P^γ.

    Points with φ < 0.8 φ_threshold (above the threshold in P) and a positive gap
    enter a weighted log-log fit; ``exponent_err`` is its standard error.

    Attributes
    ----------
    status : str
        ``"measured"`` or ``"undetermined"``.
    n : int
        The fixed N.
    P, gap, gap_sem : numpy.ndarray, shape (k,)
        The feature counts, the mean gap and its standard error.
    exponent, exponent_err : float
    note : str

    Examples
    --------
    Made by :func:`p_scaling`; two sizes cannot make a fit:

    >>> import numpy as np, pandas as pd
    >>> from ntkjam.analysis.generalization_scaling import p_scaling
    >>> df = pd.DataFrame({"size": 50, "n_params": [100, 100, 200, 200], "phi_x": 0.25,
    ...                    "mean_test_error": [1.1, 1.2, 1.05, 1.1], "ens_test_error": 1.0})
    >>> (s,) = p_scaling(df, {50: 1.0})
    >>> s.status, s.P.tolist(), s.note
    ('undetermined', [100.0, 200.0], 'fewer than 3 sizes above the threshold with a positive gap')
    """

    status: str
    n: int
    P: np.ndarray
    gap: np.ndarray
    gap_sem: np.ndarray
    exponent: float
    exponent_err: float
    note: str



def p_scaling(df, thresholds: dict[int, float]) -> list[PScaling]:
    """At each fixed N: ``mean_test_error − ens_test_error`` vs P where φ < 0.8 φ_threshold.

    Parameters
    ----------
    df : pandas.DataFrame
        Finished rows with ``size`` = N, ``n_params``, ``phi_x``, ``mean_test_error``,
        ``ens_test_error``.
    thresholds : dict of int to float
        φ_threshold per N (NaN or missing: no point enters).

    Returns
    -------
    list of PScaling
        One per N.

    Examples
    --------
    A gap of exactly 1/P (two seeds at ±10 %): the exponent is −1:

    >>> import numpy as np, pandas as pd
    >>> from ntkjam.analysis.generalization_scaling import p_scaling
    >>> P = np.repeat([100, 200, 400], 2); err = 1 + (1 + 0.1 * np.tile([1, -1], 3)) / P
    >>> df = pd.DataFrame({"size": 50, "n_params": P, "phi_x": 50 / P, "mean_test_error": err,
    ...                    "ens_test_error": 1.0})
    >>> (s,) = p_scaling(df, {50: 1.0})
    >>> s.status, round(s.exponent, 6)
    ('measured', -1.0)
    """
    out = []
    for size, g in df.groupby("size", sort=True):
        thr = thresholds.get(int(size), math.nan)
        g = g[g["phi_x"] < 0.8 * thr] if math.isfinite(thr) else g.iloc[:0]
        gap = (g["mean_test_error"].astype(float) - g["ens_test_error"].astype(float))
        agg = gap.groupby(g["n_params"]).agg(["mean", "std", "count"])
        P = agg.index.to_numpy(dtype=float)
        mean = agg["mean"].to_numpy(dtype=float)
        sem = (agg["std"] / np.sqrt(agg["count"])).to_numpy(dtype=float)
        keep = (mean > 0) & (sem > 0) & np.isfinite(sem)
        base = dict(n=int(size), P=P, gap=mean, gap_sem=sem)
        if keep.sum() < 3:
            out.append(PScaling(status="undetermined", exponent=math.nan,
                                exponent_err=math.nan, note="fewer than 3 sizes above the "
                                "threshold with a positive gap", **base))
            continue
        X = np.column_stack([np.ones(keep.sum()), np.log(P[keep])])
        coef, cov, chi2 = wls(X, np.log(mean[keep]), sem[keep] / mean[keep])
        dof = int(keep.sum()) - 2
        inflate = max(1.0, chi2 / dof) if dof > 0 else 1.0  # scatter beyond the errors
        out.append(PScaling(status="measured", exponent=float(coef[1]),
                            exponent_err=float(np.sqrt(cov[1, 1] * inflate)), note="", **base))
    return out


@dataclass(frozen=True, repr=False)
class ErrorScaling(SummaryRepr):
    """At fixed N above the threshold: the approach of the test error to its P → ∞ limit.

    ``excess = error − limit ∝ P^exponent``.  With the Mei–Montanari theory stored with
    the tasks, ``limit`` is the theory's P → ∞ value (random-features regression tends to
    kernel regression with the limiting kernel, ψ₁ → ∞) and the exponent comes from a
    weighted log–log fit of the measured excess; the theory's own excess at the same P is
    fitted with the same weights (``theory_exponent``: the excess is curved near the
    threshold, so only exponents over the same points and weights compare; its asymptotic
    exponent is −1).  Without a
    theory the limit is a free parameter of ``error = limit + A P^γ`` (weighted nonlinear
    least squares, 95 % intervals from its covariance, scaled by √(χ²/dof) when > 1).

    Attributes
    ----------
    status : str
        ``"measured"`` or ``"undetermined"`` (``note`` says why).
    quantity : str
        The stored column (the members' mean ``mean_test_error``).
    n : int
        The fixed N.
    P, error, error_sem : numpy.ndarray, shape (k,)
        The feature counts above the threshold, the mean error and its standard error.
    limit, limit_err : float
        e_∞ and its standard error (0 when it comes from the theory).
    limit_source : str
        ``"mei_montanari"`` or ``"fitted"``.
    exponent, ci_low, ci_high : float
    theory_error : numpy.ndarray, shape (k,)
        The theory at those P (NaN without one).
    theory_exponent : float
        The theory's excess fitted over the same P (NaN without one).
    max_abs_rel_dev : float
        Largest |error/theory − 1| over the points.
    note : str

    Examples
    --------
    Made by :func:`error_scaling`; without a theory the limit is fitted, which needs
    four sizes:

    >>> import numpy as np, pandas as pd
    >>> from ntkjam.analysis.generalization_scaling import error_scaling
    >>> P = np.repeat([100, 200, 400], 2); err = 0.3 + 2 / np.sqrt(P) + 0.01 * np.tile([1, -1], 3)
    >>> df = pd.DataFrame({"size": 50, "n_params": P, "phi_x": 50 / P, "mean_test_error": err})
    >>> (e,) = error_scaling(df, {50: 1.0}, {})
    >>> e.status, e.note, e.P.shape
    ('undetermined', 'fewer than 4 sizes above the threshold', (3,))
    """

    status: str
    quantity: str
    n: int
    P: np.ndarray
    error: np.ndarray
    error_sem: np.ndarray
    limit: float
    limit_err: float
    limit_source: str
    exponent: float
    ci_low: float
    ci_high: float
    theory_error: np.ndarray
    theory_exponent: float
    max_abs_rel_dev: float
    note: str


#: ψ₁ standing for P → ∞ in the Mei–Montanari limit of :func:`error_scaling`.
PSI1_LIMIT = 1e8
#: Widest 95 % half-interval of an exponent that :func:`error_scaling` reports as measured.
MAX_HALF_WIDTH = 0.5


def _fit_with_limit(P: np.ndarray, y: np.ndarray, sem: np.ndarray):
    """``(limit, limit_err, γ, γ_err)`` of ``y = limit + A P^γ`` (weighted, γ in [−4, 0])."""
    import scipy.optimize

    def model(x, e, a, g):
        return e + a * (x / P[0]) ** g

    start = (0.9 * float(y.min()), float(y[0] - 0.9 * y.min()), -0.5)
    hi_limit = float(y.min()) + 2 * float(sem.max())
    try:
        beta, cov = scipy.optimize.curve_fit(
            model, P, y, p0=start, sigma=sem, absolute_sigma=True,
            bounds=([-np.inf, 0.0, -4.0], [hi_limit, np.inf, 0.0]))
    except (RuntimeError, ValueError):  # no convergence: the data do not decide
        return math.nan, math.nan, math.nan, math.nan
    chi2 = float(np.sum(((model(P, *beta) - y) / sem) ** 2))
    scale = max(1.0, math.sqrt(chi2 / (P.size - 3))) if P.size > 3 else 1.0
    err = np.sqrt(np.clip(np.diag(cov), 0.0, np.inf)) * scale
    return float(beta[0]), float(err[0]), float(beta[2]), float(err[2])


def _mm_limit(n: int, settings: dict) -> float:
    from ntkjam.theory.random_features import random_features_risk

    d = float(settings["d"])
    lam = settings["ridge"] * d / settings["sigma_w"] ** 4
    return float(random_features_risk(PSI1_LIMIT, n / d, lam, signal=settings["signal"],
                                      noise=settings["noise"]).test_error)


def error_scaling(df, thresholds: dict[int, float], settings: dict, *,
                  quantity: str = "mean_test_error") -> list[ErrorScaling]:
    """At each fixed N: the test error vs P where φ < 0.8 φ_threshold (see
    :class:`ErrorScaling`); ``df`` holds the finished rows with ``size`` = N.

    Parameters
    ----------
    df : pandas.DataFrame
        Finished rows with ``size`` = N, ``n_params``, ``phi_x``, ``quantity`` (and
        ``theory``, ``theory_test_error`` where the tasks stored Mei–Montanari's).
    thresholds : dict of int to float
        φ_threshold per N.
    settings : dict
        ``d``, ``ridge``, ``sigma_w``, ``signal``, ``noise`` (read only with the theory).
    quantity : str
        The column fitted.

    Returns
    -------
    list of ErrorScaling
        One per N.

    Examples
    --------
    A test error ``0.3 + 2 P^{−1/2}`` (two seeds at ±5 %): the fitted limit and exponent
    come back:

    >>> import numpy as np, pandas as pd
    >>> from ntkjam.analysis.generalization_scaling import error_scaling
    >>> P = np.repeat([100, 200, 400, 800, 1600], 2)
    >>> err = 0.3 + 2 / np.sqrt(P) * (1 + 0.05 * np.tile([1, -1], 5))
    >>> df = pd.DataFrame({"size": 50, "n_params": P, "phi_x": 50 / P, "mean_test_error": err})
    >>> (e,) = error_scaling(df, {50: 1.0}, {})
    >>> e.status, e.limit_source, round(e.limit, 3), round(e.exponent, 3)
    ('measured', 'fitted', 0.3, -0.5)
    """
    from ntkjam.analysis.power_law import Z95, power_law_fit

    out = []
    for size, g in df.groupby("size", sort=True):
        thr = thresholds.get(int(size), math.nan)
        g = g[g["phi_x"] < 0.8 * thr] if math.isfinite(thr) else g.iloc[:0]
        agg = g[quantity].astype(float).groupby(g["n_params"]).agg(["mean", "std", "count"])
        P = agg.index.to_numpy(dtype=float)
        y = agg["mean"].to_numpy(dtype=float)
        sem = (agg["std"] / np.sqrt(agg["count"])).to_numpy(dtype=float)
        names = set(g["theory"].fillna("").astype(str)) if "theory" in g.columns else set()
        mm = names == {"mei_montanari"}
        th = (g["theory_test_error"].astype(float).groupby(g["n_params"]).mean()
              .to_numpy(dtype=float) if mm else np.full(P.size, np.nan))
        base = dict(quantity=quantity, n=int(size), P=P, error=y, error_sem=sem,
                    theory_error=th, max_abs_rel_dev=float(np.max(np.abs(y / th - 1)))
                    if mm and P.size else math.nan)
        ok = np.isfinite(sem) & (sem > 0)
        need = 3 if mm else 4
        if ok.sum() < need:
            out.append(ErrorScaling(status="undetermined", limit=math.nan, limit_err=math.nan,
                                    limit_source="", exponent=math.nan, ci_low=math.nan,
                                    ci_high=math.nan, theory_exponent=math.nan,
                                    note=f"fewer than {need} sizes above the threshold", **base))
            continue
        if mm:
            limit, limit_err = _mm_limit(int(size), settings), 0.0
            fit = power_law_fit(P[ok], y[ok] - limit, sem[ok], quantity="excess", variable="P")
            gamma, lo, hi = fit.exponent, fit.ci_low, fit.ci_high
            t_fit = power_law_fit(P[ok], th[ok] - limit, sem[ok])  # the same weights
            t_exp, note = t_fit.exponent, fit.note
        else:
            limit, limit_err, gamma, err = _fit_with_limit(P[ok], y[ok], sem[ok])
            lo, hi, t_exp = gamma - Z95 * err, gamma + Z95 * err, math.nan
            note = "" if math.isfinite(gamma) else "the fit of limit + A P^γ did not converge"
        wide = not (hi - lo <= 2 * MAX_HALF_WIDTH)
        if wide and not note:
            note = "the 95 % interval of the exponent is wider than ±0.5"
        out.append(ErrorScaling(
            status="undetermined" if wide else "measured", limit=limit, limit_err=limit_err,
            limit_source="mei_montanari" if mm else "fitted", exponent=gamma, ci_low=lo,
            ci_high=hi, theory_exponent=t_exp, note=note, **base))
    return out
