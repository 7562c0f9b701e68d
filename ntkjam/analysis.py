"""Analysis of a phase-diagram sweep: P(SAT), φ_c with errors, finite-size scaling, criticality.

Reads only the store (the table of :func:`ntkjam.sweep.load` and, for the gap and
force distributions, the stored arrays); never recomputes physics.  Notation: N
points, P features, φ = N/P (``phi_eff = n / n_params`` of each task, so grids whose
φ·P is not an integer are handled exactly).

* :func:`sat_curves` — P(SAT) vs φ per P with binomial errors (standard error and
  Wilson interval) and Cover's prediction for the same N and rank.
* :func:`fit_crossing` / :func:`crossings` — φ_c(P) where P(SAT) = ½, from a
  maximum-likelihood fit of ``P(SAT) = Φ((φ_c − φ)/w)`` (``"erf"``) or
  ``1/(1 + e^{(φ − φ_c)/w})`` (``"logistic"``) to the Bernoulli outcomes, with a
  bootstrap confidence interval over seeds (replicas resampled with replacement).
* :func:`finite_size_scaling` — width ``w(P) = b P^{−1/ν}`` (weighted log-log fit:
  1/ν and ν with errors), then ``φ_c(P) = φ_c(∞) + a P^{−1/ν}`` (weighted linear
  least squares at that 1/ν; the error on 1/ν is propagated).
* :func:`cover_chi2` — χ² of the measured SAT counts against Cover's curve.
* :func:`unsat_scaling` — an observable (loss per sample, N_Δ/rank, …) averaged over
  the UNSAT instances for φ beyond the finite-size window, fitted with
  ``y = y0 + A (φ − φ_c)^β``: a jump when y0 is resolved from zero (> 3σ), else
  continuous with the exponent β of ``y = A (φ − φ_c)^β``.
* :func:`power_law_tail` — the small-value tail of the gaps or forces at the minimum:
  density ∝ x^θ near 0, θ by maximum likelihood on the smallest values, with a
  Kolmogorov–Smirnov check; "supported" only when the tail spans a decade and the KS
  test does not reject it.
* :func:`analyze` — all of the above for a run directory, as one frozen
  :class:`PhaseDiagramAnalysis` (``to_dict()`` is JSON-ready).
* :func:`trained_curves`, :func:`lazy_reference`, :func:`analyze_trained` — the same
  P(SAT) and crossings for a ``trained_phase_diagram`` sweep, per (P, α), with the
  runs that exhausted their budget bracketed (counted UNSAT, then SAT), and the
  lazy verdicts of the same initial networks as the reference.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import scipy.optimize
import scipy.stats
from scipy.special import expit, log_ndtr, ndtr

from ntkjam._validate import as_choice, as_int, as_real

__all__ = [
    "CoverTest",
    "Crossing",
    "FSSFit",
    "JumpScaling",
    "ObservableCurve",
    "PhaseDiagramAnalysis",
    "PowerLawTail",
    "SatCurve",
    "TrainedCurve",
    "TrainedDiagramAnalysis",
    "UnsatScaling",
    "analyze",
    "analyze_trained",
    "check_bootstrap",
    "cover_chi2",
    "crossings",
    "finite_size_scaling",
    "fit_crossing",
    "isostatic_verdict",
    "jump_scaling",
    "lazy_reference",
    "observable_curves",
    "power_law_tail",
    "sat_curves",
    "trained_curves",
    "unsat_scaling",
]

MODELS = ("erf", "logistic")
#: Most bootstrap samples per curve: 1e5 refits already take minutes; more only hangs.
MAX_N_BOOT = 100_000


def check_bootstrap(model: str, n_boot: int) -> tuple[str, int]:
    """Validate the crossing ``model`` and the bootstrap size (2 ≤ n_boot ≤ MAX_N_BOOT)."""
    model = as_choice("model", model, MODELS)
    n_boot = as_int("n_boot", n_boot, minimum=2)
    if n_boot > MAX_N_BOOT:
        raise ValueError(f"n_boot must be <= {MAX_N_BOOT}, got {n_boot}")
    return model, n_boot


# ----------------------------------------------------------------------------- tables
def _done_table(df):
    """Rows with status ``done`` and the columns the analysis needs, φ recomputed."""
    need = ("P", "phi", "seed", "n", "n_params", "sat", "rank")
    missing = [c for c in need if c not in df.columns]
    if missing:
        raise ValueError(
            f"table is not a phase_diagram sweep: column {missing[0]!r} is missing "
            "(run the 'phase_diagram' experiment)"
        )
    if "status" in df.columns:
        df = df[df["status"] == "done"]
    if len(df) == 0:
        raise ValueError("table has no finished (status 'done') phase_diagram tasks")
    df = df.copy()
    df["P"] = df["P"].astype(int)
    df["n"] = df["n"].astype(int)
    df["n_params"] = df["n_params"].astype(int)
    df["sat"] = df["sat"].astype(bool)
    df["phi_x"] = df["n"] / df["n_params"]
    return df


def _by_P(df):
    return [(int(P), g) for P, g in df.groupby("P", sort=True)]


# ----------------------------------------------------------------------------- P(SAT)
@dataclass(frozen=True)
class SatCurve:
    """P(SAT) vs φ at one P.

    Attributes
    ----------
    P : int
        The P of the grid (the parameter count actually used is ``n_params``).
    n_params : int
    rank : int
        Largest rank of the features at this P (the rank for N ≥ P).
    phi : numpy.ndarray, shape (k,)
        φ = N/P of each point, increasing.
    n : numpy.ndarray of int, shape (k,)
        N of each point.
    n_total, n_sat : numpy.ndarray of int, shape (k,)
        Instances and SAT instances.
    p_sat, err : numpy.ndarray, shape (k,)
        Fraction SAT and its binomial standard error ``√(p(1−p)/n)``.
    lo, hi : numpy.ndarray, shape (k,)
        95 % Wilson score interval.
    cover : numpy.ndarray, shape (k,)
        Cover's P(SAT) for N points in rank(J) dimensions, averaged over the
        instances of each point (the ranks can differ between instances).
    """

    P: int
    n_params: int
    rank: int
    phi: np.ndarray
    n: np.ndarray
    n_total: np.ndarray
    n_sat: np.ndarray
    p_sat: np.ndarray
    err: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    cover: np.ndarray


def _wilson(k: np.ndarray, n: np.ndarray, z: float = 1.959963984540054):
    p = k / n
    denom = 1 + z**2 / n
    centre = (p + z**2 / (2 * n)) / denom
    half = z * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / denom
    return centre - half, centre + half


def sat_curves(df) -> list[SatCurve]:
    """P(SAT) vs φ for every P in a phase-diagram table (one :class:`SatCurve` per P)."""
    df = _done_table(df)
    out = []
    for P, g in _by_P(df):
        agg = g.groupby("n", sort=True).agg(
            n_total=("sat", "size"), n_sat=("sat", "sum"), cover=("cover", "mean"),
            n_params=("n_params", "first"),
        ) if "cover" in g.columns else g.groupby("n", sort=True).agg(
            n_total=("sat", "size"), n_sat=("sat", "sum"), n_params=("n_params", "first"),
        )
        n = agg.index.to_numpy(dtype=int)
        n_total = agg["n_total"].to_numpy(dtype=int)
        n_sat = agg["n_sat"].to_numpy(dtype=int)
        p = n_sat / n_total
        lo, hi = _wilson(n_sat.astype(float), n_total.astype(float))
        n_params = int(agg["n_params"].iloc[0])
        cover = agg["cover"].to_numpy(dtype=float) if "cover" in agg else np.full(n.size, np.nan)
        out.append(
            SatCurve(
                P=P, n_params=n_params, rank=int(g["rank"].max()), phi=n / n_params, n=n,
                n_total=n_total, n_sat=n_sat, p_sat=p, err=np.sqrt(p * (1 - p) / n_total),
                lo=lo, hi=hi, cover=cover,
            )
        )
    return out


# --------------------------------------------------------------------------- crossing
def model_probability(phi: object, phi_c: float, width: float, model: str = "erf") -> np.ndarray:
    """The crossing model: ``Φ((φ_c − φ)/w)`` (erf) or ``σ((φ_c − φ)/w)`` (logistic)."""
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


def _fit_counts(phi, k, n, model: str) -> tuple[float, float]:
    """Maximum-likelihood (φ_c, w) for binomial counts k of n at each φ.

    The model is a binary GLM in ``η = α + β φ`` (probit for "erf", logit for
    "logistic"), fitted by Fisher scoring with step halving (the log-likelihood is
    concave); ``φ_c = −α/β`` and ``w = −1/β``.  A perfectly sharp sample (every SAT
    point below every UNSAT one) has no finite maximum: the width is then capped at
    10⁻⁴ of the φ span, φ_c midway across the step.
    """
    k = np.asarray(k, dtype=float)
    n = np.asarray(n, dtype=float)
    keep = n > 0
    phi, k, n = np.asarray(phi, dtype=float)[keep], k[keep], n[keep]
    if k.sum() == 0 or k.sum() == n.sum():
        return math.nan, math.nan
    p = k / n
    span = float(phi.max() - phi.min()) or 1.0
    beta_cap = 1e4
    last_sat, first_unsat = float(phi[k > 0].max()), float(phi[k < n].min())
    if last_sat < first_unsat:  # separated: the step sits between the two
        return 0.5 * (last_sat + first_unsat), span / beta_cap
    centre = float(phi.mean())
    x = (phi - centre) / span  # scaled for conditioning
    below = np.flatnonzero(p < 0.5)
    c0 = (float(phi[below[0]]) if below.size else float(phi[-1])) - centre
    beta = -4.0
    theta = np.array([-beta * c0 / span, beta])
    X = np.column_stack([np.ones_like(x), x])
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
        if abs(theta[1]) > beta_cap or (abs(improved) < 1e-12 * max(abs(ll), 1.0)
                                       and np.max(np.abs(t * step)) < 1e-10):
            break
    a, b = float(theta[0]), float(theta[1])
    if not b < 0:
        return math.nan, math.nan
    if abs(b) > beta_cap:
        return 0.5 * (last_sat + first_unsat), span / beta_cap
    return centre - span * a / b, -span / b


def fit_crossing(phi: object, sat: object, *, model: str = "erf") -> tuple[float, float]:
    """φ_c and width w of ``P(SAT) = Φ((φ_c − φ)/w)`` by maximum likelihood.

    Parameters
    ----------
    phi : array_like, shape (m,)
        φ of each instance (or of each point, with ``sat`` the fractions — use counts
        via :func:`crossings` for that).
    sat : array_like of bool, shape (m,)
        SAT outcome of each instance.
    model : {"erf", "logistic"}

    Returns
    -------
    (phi_c, width) : tuple of float
        NaN when every outcome is the same (no crossing in the data).
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
    return _fit_counts(u, k, n, model)


@dataclass(frozen=True)
class Crossing:
    """φ_c(P) from the P(SAT) = ½ crossing, with its bootstrap interval.

    Attributes
    ----------
    P, n_params, rank : int
    phi_c : float
        Maximum-likelihood crossing (in units of ``n_params``).
    width : float
        Width w of the transition in φ.
    ci_low, ci_high : float
        Bootstrap percentile interval (``level``) of φ_c over seeds.
    stderr, width_err : float
        Bootstrap standard deviations of φ_c and w.
    phi_c_rank : float
        φ_c in units of the rank: ``phi_c · n_params / rank``.
    phi_c_cover, width_cover : float
        The same fit applied to Cover's expected curve on the same points (NaN
        when the table has no Cover column).
    n_boot, n_seeds : int
    """

    P: int
    n_params: int
    rank: int
    phi_c: float
    width: float
    ci_low: float
    ci_high: float
    stderr: float
    width_err: float
    phi_c_rank: float
    phi_c_cover: float
    width_cover: float
    n_boot: int
    n_seeds: int


def crossings(
    df, *, model: str = "erf", n_boot: int = 200, level: float = 0.95, seed: int = 0,
    theory: bool = True,
) -> list[Crossing]:
    """φ_c(P) for every P, with a bootstrap over seeds (replicas).

    Each bootstrap sample draws the seed replicas with replacement and refits; the
    interval is the percentile interval at ``level``.
    """
    model, n_boot = check_bootstrap(model, n_boot)
    level = as_real("level", level, positive=True)
    if level >= 1:
        raise ValueError(f"level must be in (0, 1), got {level}")
    df = _done_table(df)
    rng = np.random.default_rng(seed)
    out = []
    for P, g in _by_P(df):
        ns = np.sort(g["n"].unique())
        seeds = np.sort(g["seed"].unique())
        col = {v: i for i, v in enumerate(ns)}
        row = {v: i for i, v in enumerate(seeds)}
        sat = np.zeros((seeds.size, ns.size))
        have = np.zeros((seeds.size, ns.size))
        for s, nn, v in zip(g["seed"], g["n"], g["sat"], strict=True):
            sat[row[s], col[nn]] += float(v)
            have[row[s], col[nn]] += 1.0
        n_params = int(g["n_params"].iloc[0])
        phi = ns / n_params
        phi_c, width = _fit_counts(phi, sat.sum(0), have.sum(0), model)
        boots_c, boots_w = [], []
        for _ in range(n_boot):
            idx = rng.integers(0, seeds.size, size=seeds.size)
            c, w = _fit_counts(phi, sat[idx].sum(0), have[idx].sum(0), model)
            if np.isfinite(c):
                boots_c.append(c)
                boots_w.append(w)
        if len(boots_c) >= 2:
            alpha = (1 - level) / 2
            lo, hi = np.quantile(boots_c, [alpha, 1 - alpha])
            se, we = float(np.std(boots_c, ddof=1)), float(np.std(boots_w, ddof=1))
        else:
            lo = hi = se = we = math.nan
        rank = int(g["rank"].max())
        c_cover = w_cover = math.nan
        if theory and "cover" in g.columns:
            expected = g.groupby("n", sort=True)["cover"].mean().to_numpy(dtype=float)
            weight = have.sum(0)
            c_cover, w_cover = _fit_counts(phi, expected * weight, weight, model)
        out.append(
            Crossing(
                P=P, n_params=n_params, rank=rank, phi_c=phi_c, width=width,
                ci_low=float(lo), ci_high=float(hi), stderr=se, width_err=we,
                phi_c_rank=phi_c * n_params / rank if rank > 0 else math.nan,
                phi_c_cover=float(c_cover), width_cover=float(w_cover), n_boot=n_boot,
                n_seeds=int(seeds.size),
            )
        )
    return out


# ------------------------------------------------------------------ finite-size scaling
@dataclass(frozen=True)
class FSSFit:
    """Finite-size scaling of the crossing.

    ``w(P) = b P^{−1/ν}`` and ``φ_c(P) = φ_c(∞) + a P^{−1/ν}``.

    Attributes
    ----------
    phi_c_inf, phi_c_inf_err : float
        Extrapolated threshold and its standard error (fit covariance, plus the
        propagated error of 1/ν).
    a, a_err : float
        Amplitude of the shift.
    inv_nu, inv_nu_err : float
        1/ν from the widths.
    nu, nu_err : float
    b : float
        Width amplitude.
    chi2, dof : float, int
        χ² and degrees of freedom of the crossing fit (dof 0 when exactly determined).
    P : tuple of int
        The sizes used.
    note : str
        How the fit was done (e.g. a shift fixed to 0 with too few sizes).
    """

    phi_c_inf: float
    phi_c_inf_err: float
    a: float
    a_err: float
    inv_nu: float
    inv_nu_err: float
    nu: float
    nu_err: float
    b: float
    chi2: float
    dof: int
    P: tuple[int, ...]
    note: str = ""


def _wls(X: np.ndarray, y: np.ndarray, sigma: np.ndarray):
    """Weighted least squares: (coefficients, covariance, χ²)."""
    W = 1.0 / sigma**2
    A = X.T @ (W[:, None] * X)
    cov = np.linalg.inv(A)
    beta = cov @ (X.T @ (W * y))
    chi2 = float(np.sum(W * (y - X @ beta) ** 2))
    return beta, cov, chi2


def _positive_errors(err: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Errors with zeros and NaNs replaced (a bootstrap of a perfectly sharp curve)."""
    err = np.asarray(err, dtype=float)
    good = np.isfinite(err) & (err > 0)
    floor = np.min(err[good]) if np.any(good) else 1e-3 * max(float(np.max(np.abs(values))), 1)
    return np.where(good, err, floor)


def finite_size_scaling(cross: list[Crossing]) -> FSSFit:
    """Fit the widths and crossings of several P (see :class:`FSSFit`).

    Raises
    ------
    ValueError
        Fewer than two sizes with a finite crossing.
    """
    cs = [c for c in cross if np.isfinite(c.phi_c) and np.isfinite(c.width) and c.width > 0]
    if len(cs) < 2:
        raise ValueError(
            f"finite-size scaling needs crossings at two or more P, got {len(cs)} "
            "(widen the φ range or add sizes)"
        )
    P = np.array([c.n_params for c in cs], dtype=float)
    w = np.array([c.width for c in cs])
    w_err = _positive_errors(np.array([c.width_err for c in cs]), w)
    c_val = np.array([c.phi_c for c in cs])
    c_err = _positive_errors(np.array([c.stderr for c in cs]), c_val)
    X = np.column_stack([np.ones_like(P), -np.log(P)])
    (logb, x), cov_w, _ = _wls(X, np.log(w), w_err / w)
    x_err = float(math.sqrt(cov_w[1, 1]))
    note = ""

    def shift_fit(xx: float):
        if len(cs) >= 3 and abs(xx) > 1e-8:
            Xc = np.column_stack([np.ones_like(P), P ** (-xx)])
            return _wls(Xc, c_val, c_err)
        beta, cov, chi2 = _wls(np.ones((P.size, 1)), c_val, c_err)
        return np.array([beta[0], 0.0]), np.diag([cov[0, 0], 0.0]), chi2

    if not (np.isfinite(x) and x > 0):
        note = f"widths do not shrink with P (1/ν = {x:.3g}); φ_c(∞) is the weighted mean"
        beta, cov, chi2 = shift_fit(0.0)
        dof = P.size - 1
        var_x = 0.0
    else:
        beta, cov, chi2 = shift_fit(x)
        dof = P.size - (2 if len(cs) >= 3 else 1)
        if len(cs) < 3:
            note = "two sizes: shift a fixed to 0, φ_c(∞) is the weighted mean"
        lo, _, _ = shift_fit(max(x - x_err, 1e-3))
        hi, _, _ = shift_fit(x + x_err)
        var_x = (0.5 * (hi[0] - lo[0])) ** 2
    nu = 1.0 / x if x != 0 else math.inf
    return FSSFit(
        phi_c_inf=float(beta[0]),
        phi_c_inf_err=float(math.sqrt(cov[0, 0] + var_x)),
        a=float(beta[1]),
        a_err=float(math.sqrt(cov[1, 1])),
        inv_nu=float(x),
        inv_nu_err=x_err,
        nu=float(nu),
        nu_err=float(x_err / x**2) if x != 0 else math.inf,
        b=float(math.exp(logb)),
        chi2=float(chi2),
        dof=int(dof),
        P=tuple(int(p) for p in P),
        note=note,
    )


# ------------------------------------------------------------------------------ Cover χ²
@dataclass(frozen=True)
class CoverTest:
    """χ² of the SAT counts against Cover's curve at one P.

    Only points where Cover's probability is in (10⁻⁶, 1 − 10⁻⁶) enter (elsewhere the
    expected variance vanishes).  ``p_value`` is ``P(χ²_dof ≥ chi2)``.
    """

    P: int
    chi2: float
    dof: int
    p_value: float


def cover_chi2(curve: SatCurve) -> CoverTest:
    """Pearson χ² of ``curve``'s SAT counts against Cover's expected counts."""
    p = np.asarray(curve.cover, dtype=float)
    keep = np.isfinite(p) & (p > 1e-6) & (p < 1 - 1e-6)
    if not np.any(keep):
        raise ValueError(f"Cover's curve is 0 or 1 at every point of P = {curve.P}: no test")
    n, k, p = curve.n_total[keep], curve.n_sat[keep], p[keep]
    chi2 = float(np.sum((k - n * p) ** 2 / (n * p * (1 - p))))
    dof = int(keep.sum())
    return CoverTest(P=curve.P, chi2=chi2, dof=dof, p_value=float(scipy.stats.chi2.sf(chi2, dof)))


# ------------------------------------------------------------------ observables vs φ
@dataclass(frozen=True)
class ObservableCurve:
    """An observable vs φ at one P: mean over all instances and over the UNSAT ones.

    Attributes
    ----------
    name : str
    P : int
    phi : numpy.ndarray, shape (k,)
    mean, sem : numpy.ndarray, shape (k,)
        Over all instances (SAT ones contribute their value, 0 for loss and N_Δ).
    mean_unsat, sem_unsat : numpy.ndarray, shape (k,)
        Over the UNSAT instances (NaN where there are none; sem NaN with one).
    n_unsat : numpy.ndarray of int, shape (k,)
    """

    name: str
    P: int
    phi: np.ndarray
    mean: np.ndarray
    sem: np.ndarray
    mean_unsat: np.ndarray
    sem_unsat: np.ndarray
    n_unsat: np.ndarray


def observable_curves(df, name: str) -> list[ObservableCurve]:
    """Mean and standard error of measurement ``name`` vs φ, per P (:class:`ObservableCurve`)."""
    df = _done_table(df)
    if name not in df.columns:
        raise ValueError(f"measurement {name!r} is not in the table")
    out = []
    for P, g in _by_P(df):
        g = g.assign(_v=g[name].astype(float))
        all_ = g.groupby("phi_x", sort=True)["_v"].agg(["mean", "sem"])
        uns = g[~g["sat"]].groupby("phi_x", sort=True)["_v"].agg(["mean", "sem", "size"])
        uns = uns.reindex(all_.index)
        out.append(
            ObservableCurve(
                name=name, P=P, phi=all_.index.to_numpy(dtype=float),
                mean=all_["mean"].to_numpy(dtype=float), sem=all_["sem"].to_numpy(dtype=float),
                mean_unsat=uns["mean"].to_numpy(dtype=float),
                sem_unsat=uns["sem"].to_numpy(dtype=float),
                n_unsat=np.nan_to_num(uns["size"].to_numpy(dtype=float)).astype(int),
            )
        )
    return out


# -------------------------------------------------------------------- UNSAT side
@dataclass(frozen=True)
class UnsatScaling:
    """How an observable behaves as φ → φ_c⁺ on the UNSAT side, at one P.

    Fit of the UNSAT means for ``φ − φ_c ≥ window`` (outside the finite-size
    rounding): ``y = y0 + A (φ − φ_c)^β`` (y0 ≥ 0), and ``y = A (φ − φ_c)^β``.

    Attributes
    ----------
    name : str
    P : int
    phi_c, window : float
    n_points : int
        Points in the fit.
    y0, y0_err : float
        Limit at φ_c⁺ of the three-parameter fit.
    exponent, exponent_err : float
        β of the pure power law (meaningful when ``verdict == "continuous"``).
    amplitude : float
    verdict : str
        ``"jump"`` (y0 > 3 σ), ``"continuous"`` or ``"undetermined"`` (too few points
        or a failed fit; see ``note``).
    y_near, y_near_err : float
        Direct measurement at φ_c⁺: the mean over the UNSAT instances with
        ``0 ≤ φ − φ_c ≤ window`` (NaN when there are none).  A jump keeps it finite as
        P grows; a continuous vanishing sends it to 0 (see :func:`jump_scaling`).
    note : str
    """

    name: str
    P: int
    phi_c: float
    window: float
    n_points: int
    y0: float
    y0_err: float
    exponent: float
    exponent_err: float
    amplitude: float
    verdict: str
    y_near: float = math.nan
    y_near_err: float = math.nan
    note: str = ""


@dataclass(frozen=True)
class JumpScaling:
    """Finite-size dependence of an observable at φ_c⁺, and its limit P → ∞.

    ``y_near(P)`` (:attr:`UnsatScaling.y_near`) averages the UNSAT instances within a
    window ∝ w(P) above φ_c(P), so it is ``y(φ_c⁺) + O(w(P))`` for a smooth curve:
    the limit is the intercept of a weighted linear fit of y_near against the window.

    Attributes
    ----------
    name : str
    P : tuple of int
    y_near, y_near_err, window : tuple of float
        Per size.
    limit, limit_err : float
        Extrapolated value at φ_c⁺ for P → ∞ (the jump when it is nonzero).
    slope, slope_err : float
        Weighted log-log slope of y_near against P (how fast it changes with size).
    verdict : str
        ``"jump"`` when the limit is above 3σ, ``"vanishing"`` when it is within 3σ of
        0 (a continuous transition), ``"undetermined"`` with fewer than two usable sizes.
    """

    name: str
    P: tuple[int, ...]
    y_near: tuple[float, ...]
    y_near_err: tuple[float, ...]
    window: tuple[float, ...]
    limit: float
    limit_err: float
    slope: float
    slope_err: float
    verdict: str


def jump_scaling(scalings: list[UnsatScaling]) -> JumpScaling:
    """Does the observable at φ_c⁺ stay finite as P → ∞?  (see :class:`JumpScaling`)."""
    use = [s for s in scalings if np.isfinite(s.y_near) and s.y_near > 0]
    name = scalings[0].name if scalings else ""
    P = tuple(s.P for s in use)
    y = tuple(s.y_near for s in use)
    e = tuple(s.y_near_err for s in use)
    win = tuple(s.window for s in use)
    nan = math.nan
    if len(use) < 2:
        return JumpScaling(name, P, y, e, win, nan, nan, nan, nan, "undetermined")
    yy = np.array(y)
    err = _positive_errors(np.array(e), yy)
    (_, slope), cov, _ = _wls(np.column_stack([np.ones(len(use)), np.log(P)]), np.log(yy),
                              err / yy)
    if len(set(win)) > 1:
        (limit, _), cov_l, _ = _wls(np.column_stack([np.ones(len(use)), win]), yy, err)
        limit_err = float(math.sqrt(cov_l[0, 0]))
    else:
        limit, limit_err = float(yy[-1]), float(err[-1])
    verdict = "jump" if limit > 3 * limit_err else "vanishing"
    return JumpScaling(name, P, y, e, win, float(limit), limit_err, float(slope),
                       float(math.sqrt(cov[1, 1])), verdict)


def isostatic_verdict(value: float, err: float) -> str:
    """Classify ``N_Δ/rank`` at φ_c⁺ (e.g. :attr:`JumpScaling.limit` and its error).

    ``"isostatic"`` within 2σ (or 5 %) of 1, ``"hyperstatic"`` above, ``"hypostatic"``
    below, ``"undetermined"`` when the value is not finite.
    """
    if not (np.isfinite(value) and np.isfinite(err)):
        return "undetermined"
    if abs(value - 1.0) <= max(2 * err, 0.05):
        return "isostatic"
    return "hyperstatic" if value > 1 else "hypostatic"


def unsat_scaling(
    curve: ObservableCurve, phi_c: float, *, window: float, min_unsat: int = 3
) -> UnsatScaling:
    """Continuous or jump at φ_c⁺: fit the UNSAT means of ``curve`` (see :class:`UnsatScaling`).

    Parameters
    ----------
    curve : ObservableCurve
    phi_c : float
        The threshold (e.g. φ_c(∞) from :func:`finite_size_scaling`).
    window : float
        Only points with ``φ − φ_c ≥ window`` enter (take ~2 widths of the transition).
    min_unsat : int
        Points with fewer UNSAT instances are left out.
    """
    phi_c = as_real("phi_c", phi_c)
    window = as_real("window", window, positive=True)
    x = curve.phi - phi_c
    near = (x >= 0) & (x <= window) & (curve.n_unsat >= 1) & np.isfinite(curve.mean_unsat)
    y_near = y_near_err = math.nan
    if np.any(near):
        cnt = curve.n_unsat[near].astype(float)
        y_near = float(np.sum(cnt * curve.mean_unsat[near]) / cnt.sum())
        sem = np.nan_to_num(curve.sem_unsat[near])
        y_near_err = float(math.sqrt(np.sum((cnt * sem) ** 2)) / cnt.sum())
    keep = (x >= window) & (curve.n_unsat >= max(min_unsat, 2)) & np.isfinite(curve.mean_unsat)
    x, y = x[keep], curve.mean_unsat[keep]
    s = _positive_errors(curve.sem_unsat[keep], y) if y.size else y
    base = dict(name=curve.name, P=curve.P, phi_c=phi_c, window=window, n_points=int(x.size),
                y_near=y_near, y_near_err=y_near_err)
    nan = math.nan
    if x.size < 4:
        return UnsatScaling(**base, y0=nan, y0_err=nan, exponent=nan, exponent_err=nan,
                            amplitude=nan, verdict="undetermined",
                            note=f"{x.size} points beyond the window (4 needed)")
    note = ""
    try:
        p3, c3 = scipy.optimize.curve_fit(
            lambda t, y0, a, b: y0 + a * t**b, x, y, sigma=s, absolute_sigma=True,
            p0=(max(float(y.min()) * 0.5, 0.0), float(y.max()), 1.0),
            bounds=([0.0, -np.inf, 0.05], [np.inf, np.inf, 10.0]), maxfev=20000,
        )
        y0, y0_err = float(p3[0]), float(math.sqrt(max(c3[0, 0], 0.0)))
    except (RuntimeError, ValueError) as exc:
        y0, y0_err, note = nan, nan, f"three-parameter fit failed ({exc})"
    pos = y > 0
    if pos.sum() >= 3:
        (la, b), cov, _ = _wls(
            np.column_stack([np.ones(pos.sum()), np.log(x[pos])]), np.log(y[pos]),
            s[pos] / y[pos],
        )
        exponent, exponent_err, amplitude = float(b), float(math.sqrt(cov[1, 1])), float(
            math.exp(la))
    else:
        exponent = exponent_err = amplitude = nan
    if not np.isfinite(y0):
        verdict = "undetermined"
    elif y0_err > 0 and y0 > 3 * y0_err and y0 > 1e-3 * float(np.max(np.abs(y))):
        verdict = "jump"
    else:
        verdict = "continuous"
    return UnsatScaling(**base, y0=y0, y0_err=y0_err, exponent=exponent,
                        exponent_err=exponent_err, amplitude=amplitude, verdict=verdict,
                        note=note)


# ----------------------------------------------------------------- gaps and forces
@dataclass(frozen=True)
class PowerLawTail:
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


# ------------------------------------------------------------------------------ all
@dataclass(frozen=True)
class PhaseDiagramAnalysis:
    """Everything :func:`analyze` measures for one run directory (see the module docstring).

    ``fss_cover`` is the finite-size-scaling fit applied to the crossings and widths
    of Cover's curves on the same grid (with the data's error bars): what the
    analysis would report if the data followed Cover exactly.
    """

    directory: str
    settings: dict[str, Any]
    n_done: int
    n_failed: int
    n_lp_checked: int
    n_lp_disagree: int
    n_dead_total: int
    cover_applies: bool
    model: str
    sat: list[SatCurve]
    crossings: list[Crossing]
    fss: FSSFit | None
    fss_cover: FSSFit | None
    cover_tests: list[CoverTest]
    loss: list[ObservableCurve]
    n_delta_frac: list[ObservableCurve]
    isostaticity: list[ObservableCurve]
    loss_scaling: list[UnsatScaling]
    isostaticity_scaling: list[UnsatScaling]
    loss_jump: JumpScaling
    isostaticity_jump: JumpScaling
    gaps: PowerLawTail | None
    forces: PowerLawTail | None
    notes: list[str] = field(default_factory=list)

    @property
    def phi_c(self) -> float:
        """Best threshold estimate: φ_c(∞) when the FSS fit exists, else the largest P's."""
        if self.fss is not None:
            return self.fss.phi_c_inf
        good = [c for c in self.crossings if np.isfinite(c.phi_c)]
        return good[-1].phi_c if good else math.nan

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (arrays as lists, NaN as None)."""
        return _jsonable(asdict(self))


def _jsonable(v: Any) -> Any:
    if isinstance(v, dict):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_jsonable(x) for x in v]
    if isinstance(v, np.ndarray):
        return [_jsonable(x) for x in v.tolist()]
    if isinstance(v, (np.floating, float)):
        f = float(v)
        return f if math.isfinite(f) else None
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, np.bool_):
        return bool(v)
    return v


def _fixed(df, name: str, default: Any) -> Any:
    if name not in df.columns:
        return default
    vals = df[name].dropna().unique()
    return vals[0] if len(vals) == 1 else ",".join(str(v) for v in vals)


def _pooled_arrays(directory: Path, df, phi_lo: float, phi_hi: float, name: str):
    from ntkjam.sweep import load_arrays

    rows = df[(~df["sat"]) & (df["phi_x"] >= phi_lo) & (df["phi_x"] <= phi_hi)]
    if "arrays" in rows.columns:
        rows = rows[rows["arrays"].fillna("").str.split(",").apply(lambda v: name in v)]
    parts = [load_arrays(directory, key).get(name, np.zeros(0)) for key in rows["hash"]]
    return np.concatenate(parts) if parts else np.zeros(0)


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
        Bootstrap samples per P.
    seed : int
        Seed of the bootstrap.
    distributions : bool
        Also fit the gap and force tails (reads the stored arrays of the UNSAT
        instances within one width above φ_c at the largest P).
    """
    from ntkjam import sweep

    model, n_boot = check_bootstrap(model, n_boot)
    directory = Path(directory)
    table = sweep.load(directory)
    n_failed = int((table["status"] == "failed").sum()) if len(table) else 0
    df = _done_table(table)
    notes: list[str] = []
    labels = _fixed(df, "labels", "random")
    offset = _fixed(df, "offset", "zero")
    cover_applies = labels == "random" and offset == "zero"
    if not cover_applies:
        notes.append(
            f"Cover's curve assumes random labels and no offset (labels={labels}, "
            f"offset={offset}): shown for reference only"
        )
    curves = sat_curves(df)
    cross = crossings(df, model=model, n_boot=n_boot, seed=seed)
    try:
        fss = finite_size_scaling(cross)
        if fss.note:
            notes.append(fss.note)
    except ValueError as exc:
        fss = None
        notes.append(str(exc))
    fss_cover = None
    if cover_applies:
        from dataclasses import replace

        theory = [replace(c, phi_c=c.phi_c_cover, width=c.width_cover) for c in cross]
        try:
            fss_cover = finite_size_scaling(theory)
        except ValueError:
            fss_cover = None
    tests = []
    if cover_applies:
        for c in curves:
            try:
                tests.append(cover_chi2(c))
            except ValueError as exc:
                notes.append(str(exc))
    loss = observable_curves(df, "loss")
    ndf = observable_curves(df, "n_delta_frac")
    iso = observable_curves(df, "isostaticity")
    # Each size is measured from its own crossing φ_c(P): the extrapolated φ_c(∞)
    # carries a larger error than the finite-size shift it would correct.
    by_P = {c.P: c for c in cross}
    loss_sc, iso_sc = [], []
    for lc, ic in zip(loss, iso, strict=True):
        c = by_P.get(lc.P)
        pc, w = (c.phi_c, c.width) if c is not None else (math.nan, math.nan)
        if np.isfinite(pc) and np.isfinite(w) and w > 0:
            loss_sc.append(unsat_scaling(lc, pc, window=2 * w))
            iso_sc.append(unsat_scaling(ic, pc, window=2 * w))
    gaps = forces = None
    if distributions and cross and np.isfinite(cross[-1].phi_c):
        last = cross[-1]
        big = df[df["P"] == last.P]
        # UNSAT instances within one width (at least one grid step) of the crossing.
        grid = np.unique(big["phi_x"].to_numpy(dtype=float))
        step = float(np.min(np.diff(grid))) if grid.size > 1 else 0.0
        half = max(last.width, step, 1e-9)
        lo, hi = last.phi_c - half, last.phi_c + half
        gaps = power_law_tail(_pooled_arrays(directory, big, lo, hi, "gaps"), name="gaps")
        forces = power_law_tail(_pooled_arrays(directory, big, lo, hi, "forces"), name="forces")
    lp = df["lp_checked"].astype(bool) if "lp_checked" in df.columns else None
    n_lp = int(lp.sum()) if lp is not None else 0
    n_dis = 0
    if lp is not None and "lp_agrees" in df.columns:
        n_dis = int((df.loc[lp, "lp_agrees"].astype(object) == False).sum())  # noqa: E712
    from ntkjam.experiments.phase_diagram import DEFAULTS

    settings = {
        k: _jsonable(_fixed(df, k, DEFAULTS[k]))
        for k in ("source", "labels", "margin", "offset", "d", "dataset")
    }
    return PhaseDiagramAnalysis(
        directory=str(directory), settings=settings, n_done=int(len(df)), n_failed=n_failed,
        n_lp_checked=n_lp, n_lp_disagree=n_dis,
        n_dead_total=int(df["n_dead"].sum()) if "n_dead" in df.columns else 0,
        cover_applies=cover_applies, model=model, sat=curves, crossings=cross, fss=fss,
        fss_cover=fss_cover,
        cover_tests=tests, loss=loss, n_delta_frac=ndf, isostaticity=iso,
        loss_scaling=loss_sc, isostaticity_scaling=iso_sc, loss_jump=jump_scaling(loss_sc),
        isostaticity_jump=jump_scaling(iso_sc), gaps=gaps, forces=forces,
        notes=notes,
    )


# ------------------------------------------------------------------ trained networks
#: Outcomes of a training run (the ``train_status`` column of a trained sweep).
TRAIN_STATUSES = ("sat", "unsat", "max_steps", "nan")


@dataclass(frozen=True)
class TrainedCurve:
    """P(SAT) vs φ of trained networks at one (P, α), the undecided runs bracketed.

    A run ends ``sat``, ``unsat``, ``max_steps`` (budget exhausted: undecided) or
    ``nan``.  ``sat`` counts only the runs that reached SAT, a lower bound on the
    probability that training (run long enough) fits the data; ``sat_upper`` also
    counts the undecided runs as SAT, an upper bound.  The crossings of the two
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
    df = _done_table(df)
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


def trained_curves(df, *, model: str = "erf", n_boot: int = 200, seed: int = 0
                   ) -> list[TrainedCurve]:
    """One :class:`TrainedCurve` per (P, α) of a ``trained_phase_diagram`` table."""
    model = as_choice("model", model, MODELS)
    df = _trained_table(df)
    out = []
    for (P, alpha), g in df.groupby(["P", "alpha"], sort=True):
        upper = g.assign(sat=g["train_status"].isin(["sat", "max_steps"]))
        lo_curve, hi_curve = sat_curves(g)[0], sat_curves(upper)[0]
        counts = {
            s: g.assign(_c=g["train_status"] == s).groupby("n", sort=True)["_c"].sum()
            .to_numpy(dtype=int)
            for s in ("unsat", "max_steps", "nan")
        }
        beyond = g.assign(_c=g["sat"] & ~g["lazy_sat"]).groupby("n", sort=True)["_c"].sum()
        stuck = g.assign(_c=(g["train_status"] == "unsat") & g["lazy_sat"]).groupby(
            "n", sort=True)["_c"].sum()
        decided = g[g["train_status"].isin(["sat", "unsat"])]
        agree = (decided["sat"] == decided["lazy_sat"]).mean() if len(decided) else math.nan
        out.append(
            TrainedCurve(
                P=int(P), alpha=float(alpha), n_params=lo_curve.n_params, rank=lo_curve.rank,
                sat=lo_curve, sat_upper=hi_curve, n_unsat=counts["unsat"],
                n_max_steps=counts["max_steps"], n_nan=counts["nan"],
                crossing=crossings(g, model=model, n_boot=n_boot, seed=seed)[0],
                crossing_upper=crossings(upper, model=model, n_boot=n_boot, seed=seed)[0],
                kernel_change=_per_phi(g, "kernel_change") if "kernel_change" in g
                else np.full(lo_curve.n.size, np.nan),
                steps=_per_phi(g, "steps") if "steps" in g else np.full(lo_curve.n.size, np.nan),
                agreement=float(agree), n_decided=int(len(decided)),
                n_beyond_lazy=beyond.to_numpy(dtype=int), n_stuck=stuck.to_numpy(dtype=int),
            )
        )
    return out


def lazy_reference(df, *, model: str = "erf", n_boot: int = 200, seed: int = 0
                   ) -> tuple[list[SatCurve], list[Crossing]]:
    """P(SAT) and φ_c of the *lazy* verdicts stored with a trained sweep, per P.

    Every task solves the linearised problem of its initial network exactly
    (``lazy_sat``); the lazy verdict does not depend on α (centered output), so the
    instances of all α are pooled.
    """
    model = as_choice("model", model, MODELS)
    df = _trained_table(df)
    lazy = df.assign(sat=df["lazy_sat"])
    return sat_curves(lazy), crossings(lazy, model=model, n_boot=n_boot, seed=seed)


@dataclass(frozen=True)
class TrainedDiagramAnalysis:
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
    """

    directory: str
    settings: dict[str, Any]
    n_done: int
    n_failed: int
    curves: list[TrainedCurve]
    lazy: list[SatCurve]
    lazy_crossings: list[Crossing]
    notes: list[str] = field(default_factory=list)

    def phi_c_vs_alpha(self, P: int) -> dict[str, np.ndarray]:
        """φ_c(α) at one P: ``alpha``, ``phi_c``, ``ci_low``, ``ci_high`` (lower curve)
        and ``upper``, ``upper_ci_low``, ``upper_ci_high`` (undecided counted SAT)."""
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
        """A JSON-ready dict (arrays as lists, NaN as None)."""
        return _jsonable(asdict(self))


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
    """
    from ntkjam import sweep

    model, n_boot = check_bootstrap(model, n_boot)
    directory = Path(directory)
    table = sweep.load(directory)
    n_failed = int((table["status"] == "failed").sum()) if len(table) else 0
    df = _trained_table(table)
    curves = trained_curves(df, model=model, n_boot=n_boot, seed=seed)
    lazy, lazy_cross = lazy_reference(df, model=model, n_boot=n_boot, seed=seed)
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
    from ntkjam.experiments.trained import DEFAULTS

    keys = ("d", "labels", "margin", "lr", "step_rule", "momentum", "max_steps", "window", "rtol",
            "sat_tol")
    settings = {k: _jsonable(_fixed(df, k, DEFAULTS[k])) for k in keys}
    return TrainedDiagramAnalysis(
        directory=str(directory), settings=settings, n_done=int(len(df)), n_failed=n_failed,
        curves=curves, lazy=lazy, lazy_crossings=lazy_cross, notes=notes,
    )
