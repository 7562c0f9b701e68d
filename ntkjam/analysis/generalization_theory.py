"""The theories of a ``generalization`` store against its measurements, the ensemble's
effect and the scaling with P at fixed N (read only).

The tasks of :mod:`ntkjam.experiments.generalization` store the theory that applies to
them (``theory``, ``theory_test_error``): Hastie et al. (``linear``), Mei–Montanari
(``relu_features``), the spectral theory of kernel regression (``ntk_kernel``, fed with
the Funk–Hecke eigenvalues the task stored as arrays), for ``regression_mse`` with
f0 = 0.  :func:`theory_comparisons` measures the relative deviation of the members'
mean test error from it; :func:`theory_curves` evaluates the same theories on a fine φ
grid (:mod:`ntkjam.theory`) for the figures; :func:`error_scaling` fits the approach of
the test error to its P → ∞ limit at fixed N, against Mei–Montanari where it applies,
and :func:`p_scaling` the single-minus-ensemble gap there; :func:`ensemble_effects` the
peak of the members' mean error against the ensemble's (a paired bootstrap).
:func:`value_matrix` is the (points, seeds) layout shared with
:mod:`ntkjam.analysis.generalization`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ntkjam.analysis.stats import wls
from ntkjam.core.reprs import SummaryRepr

__all__ = ["EXCLUDE", "EnsembleEffect", "ErrorScaling", "MAX_HALF_WIDTH", "PSI1_LIMIT",
           "PScaling", "TheoryComparison", "TheoryCurve", "ensemble_effects", "error_scaling",
           "p_scaling", "theory_comparisons", "theory_curves", "value_matrix"]

#: Ridgeless theory points with |ln φ| below this are left out of the comparison.
EXCLUDE = 0.25


def value_matrix(g, column: str) -> tuple[np.ndarray, np.ndarray]:
    """``(phi, values)`` of one size's rows: φ per point (k,), values (k, seeds).

    Seeds in increasing order, NaN where a task is missing or stored no value.
    """
    seeds = np.sort(g["seed"].unique())
    col = {s: j for j, s in enumerate(seeds)}
    pts = sorted(g["phi_x"].unique())
    row = {v: i for i, v in enumerate(pts)}
    V = np.full((len(pts), seeds.size), np.nan)
    for s, ph, v in zip(g["seed"], g["phi_x"], g[column], strict=True):
        V[row[ph], col[s]] = np.nan if v is None else float(v)
    return np.asarray(pts, dtype=float), V


@dataclass(frozen=True, repr=False)
class TheoryComparison(SummaryRepr):
    """The members' mean test error against the theory stored with the tasks.

    ``rel_dev = measured/theory − 1``, ``z = (measured − theory)/sem``; ``included``
    marks the points outside the ridgeless divergence (|ln φ| ≥ :data:`EXCLUDE`);
    ``max_abs_rel_dev`` is over them.  The test error is ``risk + noise``:
    ``risk_rel_dev`` (and ``max_abs_risk_dev``) compare the risks, without the label
    noise that both sides share.
    """

    name: str
    group: str
    size: int
    phi: np.ndarray
    measured: np.ndarray
    sem: np.ndarray
    theory: np.ndarray
    rel_dev: np.ndarray
    z: np.ndarray
    included: np.ndarray
    max_abs_rel_dev: float
    risk_rel_dev: np.ndarray
    max_abs_risk_dev: float


@dataclass(frozen=True, repr=False)
class TheoryCurve(SummaryRepr):
    """A theory's test error on a fine φ grid at one size (for the figures)."""

    name: str
    group: str
    size: int
    phi: np.ndarray
    test_error: np.ndarray


def theory_comparisons(df, group: str) -> list[TheoryComparison]:
    """The members' mean test error against ``theory_test_error``, per size and theory."""
    if "theory" not in df.columns:
        return []
    out = []
    rows = df[df["theory"].fillna("").astype(str) != ""]
    for (size, name), g in rows.groupby(["size", "theory"], sort=True):
        phi, V = value_matrix(g, "mean_test_error")
        _, T = value_matrix(g, "theory_test_error")
        k = np.sum(np.isfinite(V), axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            measured = np.nanmean(V, axis=1)
            sem = np.where(k > 1, np.nanstd(V, axis=1, ddof=1) / np.sqrt(k), np.nan)
            theory = np.nanmean(T, axis=1)
            rel = measured / theory - 1
            z = (measured - theory) / sem
        ridgeless = float(g["ridge"].max()) == 0.0
        near = ridgeless & (name != "spectral") & (np.abs(np.log(phi)) < EXCLUDE)
        inc = np.isfinite(rel) & ~near
        noise = float(g["noise"].iloc[0]) if "noise" in g.columns else 0.0
        with np.errstate(invalid="ignore", divide="ignore"):
            risk_rel = (measured - noise) / (theory - noise) - 1
        out.append(TheoryComparison(
            name=str(name), group=group, size=int(size), phi=phi, measured=measured, sem=sem,
            theory=theory, rel_dev=rel, z=z, included=inc,
            max_abs_rel_dev=float(np.max(np.abs(rel[inc]))) if inc.any() else math.nan,
            risk_rel_dev=risk_rel,
            max_abs_risk_dev=float(np.max(np.abs(risk_rel[inc]))) if inc.any() else math.nan))
    return out


def _spectral_curve(directory: Path, g, P: int, phi: np.ndarray, s: dict) -> np.ndarray:
    """The spectral test error at N = φ P from the Funk–Hecke arrays a task stored."""
    from ntkjam.sweep import load_arrays
    from ntkjam.theory.learning_curves import kernel_learning_curve

    row = g.iloc[0]
    arrays = load_arrays(directory, row["hash"])
    mu, mult = arrays["fh_eigenvalues"], arrays["fh_multiplicities"]
    power = np.zeros_like(mu)
    power[1] = s["signal"]
    n = phi * P
    return kernel_learning_curve(mu, power, n, n * s["ridge"], multiplicities=mult,
                                 noise=s["noise"], tail_trace=float(row["tail_trace"])).test_error


def theory_curves(directory: Path, df, group: str, settings: dict,
                  num: int = 200) -> list[TheoryCurve]:
    """The stored tasks' theories on a fine φ grid over the measured range, per size."""
    if "theory" not in df.columns:
        return []
    from ntkjam.theory.linear_ridge import linear_ridge_risk
    from ntkjam.theory.random_features import random_features_risk

    s = settings
    kw = {"signal": s["signal"], "noise": s["noise"]}
    out = []
    rows = df[df["theory"].fillna("").astype(str) != ""]
    for (size, name), g in rows.groupby(["size", "theory"], sort=True):
        phi = np.linspace(float(g["phi_x"].min()), float(g["phi_x"].max()), num)
        if name == "hastie":
            y = linear_ridge_risk(phi, s["ridge"], **kw).test_error
        elif name == "mei_montanari":
            d, lam = float(s["d"]), s["ridge"] * float(s["d"]) / s["sigma_w"] ** 4
            psi1 = size / d if group == "P" else size / (phi * d)
            psi2 = phi * psi1
            y = random_features_risk(psi1, psi2, lam, **kw).test_error
        elif name == "spectral" and group == "P":
            y = _spectral_curve(directory, g, int(size), phi, s)
        else:
            continue
        y = np.where(np.isfinite(y), y, np.nan)
        out.append(TheoryCurve(name=str(name), group=group, size=int(size), phi=phi,
                               test_error=np.asarray(y, dtype=float)))
    return out


# ------------------------------------------------------------------ ensembles
@dataclass(frozen=True, repr=False)
class EnsembleEffect(SummaryRepr):
    """The peak of the single models' error against the ensemble's, at one size.

    ``single_peak`` is the largest mean over φ of ``mean_test_error`` (the members'
    mean), ``ens_peak`` that of ``ens_test_error``; ``reduction = 1 − ens/single`` with
    a paired 95 % bootstrap interval over seeds.
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
    the :class:`~ntkjam.analysis.generalization.Curve` list of the analysis)."""
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
    """At each fixed N: ``mean_test_error − ens_test_error`` vs P where φ < 0.8 φ_threshold."""
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
    :class:`ErrorScaling`); ``df`` holds the finished rows with ``size`` = N."""
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
