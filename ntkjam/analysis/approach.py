"""The approach to φ_c⁺ on the UNSAT side: fits of y(φ) as φ − φ_c → 0⁺, and their limits.

An observable of the UNSAT minima (loss per sample, N_Δ/rank) is fitted, at each P, as
a function of the distance δ = φ − φ_c(P) to that size's crossing:

    y(φ) = y_c + A t + C t²,      t = δ^a,

a second-order expansion in ``t``, by weighted least squares on the per-φ UNSAT means
(their standard errors as weights) at ``δ ≥ window`` (outside the finite-size rounding
of the transition, where nearly every instance is UNSAT).  ``y_c`` is the limit at
φ_c⁺ and ``a`` the exponent of the approach, ``y − y_c ∝ δ^a``.  Nothing is read at a
fixed grid point: the limit is the intercept of the fitted law.

The exact (replica-symmetric) theory of the free-norm lazy problem
(:func:`ntkjam.theory.rs_unsat_free_norm`, ``docs/theory_replica.md``) is analytic in
``√(φ − 2)`` near φ_c = 2: ``L/N = κ²/(2π) + O(δ^{1/2})`` and
``N_Δ/rank = 1 + 0.936 δ^{1/2} + O(δ)``.  That is this model with ``a = ½``
(:data:`RS_EXPONENT`), the exponent family used for the limits where the theory
applies; the fit with ``a`` free measures the exponent.

* :func:`fit_approach` — one observable at one P (:class:`ApproachFit`): the central fit,
  χ²/dof and its p-value, and a parametric bootstrap (data redrawn around the fit
  with their errors, φ_c redrawn from its bootstrap error) for the intervals.

The fits of all sizes are combined, with the verdict and the RS values, by
:func:`ntkjam.analysis.onset.onset_limit`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import scipy.stats

from ntkjam._validate import as_int, as_real
from ntkjam.analysis.criticality import ObservableCurve
from ntkjam.analysis.stats import positive_errors
from ntkjam.core.reprs import SummaryRepr

__all__ = [
    "EXPONENT_RANGE",
    "RS_EXPONENT",
    "ApproachFit",
    "P_MIN",
    "fit_approach",
]

#: The exponent of the approach in the RS theory of the free-norm problem.
RS_EXPONENT = 0.5
#: Exponents scanned by the free fit; a best fit on an end is reported as undetermined.
EXPONENT_RANGE = (0.1, 2.0)
#: χ² p-value below which a fit is not supported.
P_MIN = 0.01
_GRID = np.round(np.arange(EXPONENT_RANGE[0], EXPONENT_RANGE[1] + 1e-9, 0.01), 10)
#: χ² differences below this are ties (statistically nothing; Δχ² = 1 is one σ).
_CHI2_TIE = 1e-6


@dataclass(frozen=True, repr=False)
class ApproachFit(SummaryRepr):
    """``y = y_c + A t + C t²``, ``t = (φ − φ_c)^a``, fitted to one observable at one P.

    Attributes
    ----------
    name : str
        The measurement (``"loss"``, ``"isostaticity"``).
    P : int
    phi_c, phi_c_err : float
        The crossing the distances are measured from, and its (bootstrap) error,
        propagated into every interval below.
    window : float
        Points with ``φ − φ_c ≥ window`` enter.
    phi, y, y_err : numpy.ndarray, shape (k,)
        The points fitted: φ, the UNSAT mean and its standard error.
    exponent_free : bool
        ``a`` fitted (scanned over :data:`EXPONENT_RANGE`) or fixed.
    limit, limit_err : float
        ``y_c``, the value at φ_c⁺, and its error (half the central 68 % bootstrap
        interval, φ_c's error included).
    limit_low, limit_high : float
        95 % bootstrap percentile interval of ``y_c``.
    exponent, exponent_err, exponent_low, exponent_high : float
        ``a``, its error and 95 % interval (the fixed value and 0 when fixed).
    amplitude, correction : float
        A and C.
    chi2 : float
    dof : int
        Points minus parameters (3, or 4 with ``a`` free).
    p_value : float
        χ² survival probability (NaN when ``dof < 1``).
    n_boot : int
        Bootstrap samples that gave a fit.
    supported : bool
        Enough points (``dof ≥ 3``), ``p_value ≥ 0.01``, and a limit whose interval
        reaches the physical range.  Only supported fits enter :func:`onset_limit`.
    warnings : tuple of str
        Why a fit is not supported, or what else to know (an exponent on the end of
        the scanned range, a central value outside the physical range).
    curve_phi, curve_y : numpy.ndarray, shape (m,)
        The fitted law from φ_c to the last point (for figures).

    The repr summarises the fit (limit, exponent, p-value, ``supported``, the points'
    shapes); the intervals, the coefficients and the curve are left out of it.

    Examples
    --------
    Made by :func:`fit_approach`; three points are too few for a free exponent, so the
    fit is not supported and says why:

    >>> import numpy as np
    >>> from ntkjam.analysis.approach import fit_approach
    >>> from ntkjam.analysis.criticality import ObservableCurve
    >>> phi = np.array([2.2, 2.4, 2.6]); y = 1 + np.sqrt(phi - 2)
    >>> curve = ObservableCurve("isostaticity", 50, phi, y, y / 100, y, y / 100, np.full(3, 9))
    >>> fit = fit_approach(curve, 2.0, window=0.1)
    >>> fit.supported, fit.warnings
    (False, ('3 points with φ − φ_c ≥ 0.1 and ≥ 5 UNSAT instances (7 needed)',))
    """

    name: str
    P: int
    phi_c: float
    phi_c_err: float = field(repr=False)
    window: float = field(repr=False)
    phi: np.ndarray
    y: np.ndarray
    y_err: np.ndarray = field(repr=False)
    exponent_free: bool
    limit: float
    limit_err: float
    limit_low: float = field(repr=False)
    limit_high: float = field(repr=False)
    exponent: float
    exponent_err: float
    exponent_low: float = field(repr=False)
    exponent_high: float = field(repr=False)
    amplitude: float = field(repr=False)
    correction: float = field(repr=False)
    chi2: float = field(repr=False)
    dof: int
    p_value: float
    n_boot: int = field(repr=False)
    supported: bool
    warnings: tuple[str, ...]
    curve_phi: np.ndarray = field(repr=False)
    curve_y: np.ndarray = field(repr=False)

    @property
    def exponent_determined(self) -> bool:
        """A free exponent whose 95 % interval stays inside the scanned range.

        Examples
        --------
        Ten exact points of ``1 + 0.9 √(φ − 2)``: the free exponent is measured, a fixed
        one never is:

        >>> import numpy as np
        >>> from ntkjam.analysis.approach import fit_approach
        >>> from ntkjam.analysis.criticality import ObservableCurve
        >>> phi = np.linspace(2.1, 3.0, 10); y = 1 + 0.9 * np.sqrt(phi - 2); s = np.full(10, 0.01)
        >>> curve = ObservableCurve("isostaticity", 100, phi, y, s, y, s, np.full(10, 20))
        >>> free = fit_approach(curve, 2.0, window=0.05, n_boot=20)
        >>> fixed = fit_approach(curve, 2.0, window=0.05, exponent=0.5, n_boot=20)
        >>> free.exponent_determined, fixed.supported, fixed.exponent_determined
        (True, True, False)
        """
        lo, hi = EXPONENT_RANGE
        return bool(self.exponent_free and self.supported and np.isfinite(self.exponent_low)
                    and self.exponent_low > lo + 0.005 and self.exponent_high < hi - 0.005)


# ------------------------------------------------------------------------ the fit
def _wls_grid(delta: np.ndarray, y: np.ndarray, w: np.ndarray, a: np.ndarray):
    """Weighted fits of ``y`` at every exponent of ``a``; the best one per sample.

    Parameters
    ----------
    delta, y : numpy.ndarray, shape (B, k)
        Distances φ − φ_c (> 0) and values, one row per sample.
    w : numpy.ndarray, shape (k,)
        Weights 1/σ².
    a : numpy.ndarray, shape (G,)

    Returns
    -------
    a_best : numpy.ndarray, shape (B,)
        The largest exponent whose χ² is within :data:`_CHI2_TIE` of the smallest.  The
        model is degenerate: ``y_c + A δ^a + C δ^{2a}`` at ``a/2`` contains the law
        ``A δ^a`` of ``a`` through its ``C`` term, so an exact law fits both to rounding,
        and a plain argmin would pick one or the other with the machine's rounding.  The
        largest is the fit whose leading term carries the law.
    beta : numpy.ndarray, shape (B, 3)
        ``(y_c, A, C)`` at ``a_best``.
    chi2 : numpy.ndarray, shape (B,)
    """
    t = delta[:, None, :] ** a[None, :, None]  # (B, G, k)
    X = np.stack([np.ones_like(t), t, t * t], axis=-1)  # (B, G, k, 3)
    Xw = X * w[None, None, :, None]
    M = np.einsum("bgki,bgkj->bgij", Xw, X)
    r = np.einsum("bgki,bk->bgi", Xw, y)
    with np.errstate(all="ignore"):
        beta = np.linalg.solve(M + 1e-300 * np.eye(3), r[..., None])[..., 0]  # (B, G, 3)
        res = y[:, None, :] - np.einsum("bgki,bgi->bgk", X, beta)
        chi2 = np.sum(w * res**2, axis=-1)  # (B, G)
    chi2 = np.where(np.isfinite(chi2), chi2, np.inf)
    tied = chi2 <= np.min(chi2, axis=1, keepdims=True) + _CHI2_TIE  # (B, G); a ascending
    best = a.size - 1 - np.argmax(tied[:, ::-1], axis=1)
    idx = np.arange(delta.shape[0])
    return a[best], beta[idx, best], chi2[idx, best]


def _model(delta, a: float, beta) -> np.ndarray:
    t = np.asarray(delta, dtype=float) ** a
    return beta[0] + beta[1] * t + beta[2] * t * t


def _empty(name, P, phi_c, phi_c_err, window, phi, y, s, free, exponent, warning):
    nan = math.nan
    e = np.zeros(0)
    a = nan if free else exponent
    return ApproachFit(name, P, phi_c, phi_c_err, window, phi, y, s, free, nan, nan, nan, nan,
                       a, nan if free else 0.0, a, a, nan, nan, nan, 0, nan, 0, False,
                       (warning,), e, e)


def _bootstrap(delta, fitted, s, phi_c_err, grid, n_boot, rng):
    """Limits and exponents of ``n_boot`` parametric resamples (rows that gave a fit)."""
    lims, exps = [], []
    for start in range(0, n_boot, 25):
        b = min(25, n_boot - start)
        shift = phi_c_err * rng.standard_normal(b)
        d = delta[None, :] - shift[:, None]
        ys = fitted[None, :] + s[None, :] * rng.standard_normal((b, delta.size))
        ok = np.all(d > 0, axis=1)
        if not np.any(ok):
            continue
        a_b, beta_b, chi_b = _wls_grid(d[ok], ys[ok], 1.0 / s**2, grid)
        good = np.isfinite(chi_b)
        lims.append(beta_b[good, 0])
        exps.append(a_b[good])
    if not lims:
        return np.zeros(0), np.zeros(0)
    return np.concatenate(lims), np.concatenate(exps)


def fit_approach(
    curve: ObservableCurve, phi_c: float, phi_c_err: float = 0.0, *, window: float,
    exponent: float | None = None, min_unsat: int = 5, physical_min: float = -math.inf,
    n_boot: int = 200, seed: int = 0,
) -> ApproachFit:
    """Fit the approach of ``curve``'s UNSAT means to φ_c⁺ (see :class:`ApproachFit`).

    Parameters
    ----------
    curve : ObservableCurve
        One observable at one P; its UNSAT means ``mean_unsat`` (shape (k,)) are fitted.
    phi_c : float
        The crossing at this P (:attr:`Crossing.phi_c`).
    phi_c_err : float
        Its error (:attr:`Crossing.stderr`); each bootstrap sample redraws φ_c from
        N(phi_c, phi_c_err²).  0: φ_c taken as exact.
    window : float
        Only ``φ − φ_c ≥ window`` enters (about two widths of the transition).
    exponent : float, optional
        Fix ``a`` (e.g. :data:`RS_EXPONENT`); ``None`` scans it over
        :data:`EXPONENT_RANGE` in steps of 0.01.
    min_unsat : int
        Points with fewer UNSAT instances are left out.
    physical_min : float
        The smallest physical value of the limit (1 for N_Δ/rank of UNSAT minima in
        general position, 0 for a loss): a limit whose interval lies wholly below it
        is not supported.
    n_boot : int
        Parametric bootstrap samples (the errors are scaled by √(χ²/dof) when that
        exceeds 1).
    seed : int
        Seed of the bootstrap.

    Returns
    -------
    ApproachFit
        Its points ``phi, y, y_err`` of shape (k,) (those that entered), the fitted
        curve ``curve_phi, curve_y`` of shape (60,).

    Examples
    --------
    N_Δ/rank following the RS law ``1 + 0.9 δ^{1/2}`` exactly, errors 0.01: the limit at
    φ_c⁺ is 1, and the scanned exponent ½, though its interval is wide:

    >>> import numpy as np
    >>> from ntkjam.analysis.approach import fit_approach
    >>> from ntkjam.analysis.criticality import ObservableCurve
    >>> phi = np.linspace(2.1, 3.0, 10); y = 1 + 0.9 * np.sqrt(phi - 2); s = np.full(10, 0.01)
    >>> curve = ObservableCurve("isostaticity", 100, phi, y, s, y, s, np.full(10, 20))
    >>> fit = fit_approach(curve, 2.0, window=0.05, exponent=0.5, n_boot=50)
    >>> round(fit.limit, 6), round(fit.amplitude, 6), fit.dof, fit.supported
    (1.0, 0.9, 7, True)
    >>> free = fit_approach(curve, 2.0, window=0.05, n_boot=50)
    >>> round(free.exponent, 2), free.exponent_determined
    (0.5, False)
    """
    phi_c = as_real("phi_c", phi_c)
    phi_c_err = as_real("phi_c_err", phi_c_err, nonnegative=True)
    window = as_real("window", window, positive=True)
    min_unsat = as_int("min_unsat", min_unsat, minimum=2)
    n_boot = as_int("n_boot", n_boot, minimum=2)
    free = exponent is None
    if not free:
        exponent = as_real("exponent", exponent, positive=True)
    n_par = 4 if free else 3
    x = curve.phi - phi_c
    keep = ((x >= window) & (curve.n_unsat >= min_unsat) & np.isfinite(curve.mean_unsat)
            & np.isfinite(curve.sem_unsat))
    phi, y = curve.phi[keep].astype(float), curve.mean_unsat[keep].astype(float)
    s = positive_errors(curve.sem_unsat[keep], y) if y.size else y.astype(float)
    head = (curve.name, curve.P, phi_c, phi_c_err, window, phi, y, s, free, exponent)
    if phi.size < n_par + 3:
        return _empty(*head, f"{phi.size} points with φ − φ_c ≥ {window:.3g} and ≥ "
                      f"{min_unsat} UNSAT instances ({n_par + 3} needed)")
    delta = phi - phi_c
    grid = _GRID if free else np.array([float(exponent)])
    a_hat, beta, chi2 = (v[0] for v in _wls_grid(delta[None], y[None], 1.0 / s**2, grid))
    if not np.isfinite(chi2):
        return _empty(*head, "the least-squares fit is singular")
    dof = int(phi.size - n_par)
    p_value = float(scipy.stats.chi2.sf(chi2, dof))
    scale = math.sqrt(max(1.0, chi2 / dof))
    rng = np.random.default_rng(seed)
    lims, exps = _bootstrap(delta, _model(delta, a_hat, beta), s * scale, phi_c_err, grid,
                            n_boot, rng)
    nan = math.nan
    if lims.size >= 10:
        q = np.quantile(lims, [0.025, 0.16, 0.84, 0.975])
        lim_lo, lim_err, lim_hi = float(q[0]), float(q[2] - q[1]) / 2, float(q[3])
        qa = np.quantile(exps, [0.025, 0.16, 0.84, 0.975])
        a_lo, a_err, a_hi = float(qa[0]), float(qa[2] - qa[1]) / 2, float(qa[3])
    else:
        lim_lo = lim_err = lim_hi = a_lo = a_err = a_hi = nan
    if not free:
        a_lo = a_hi = float(exponent)
        a_err = 0.0
    warnings = []
    if p_value < P_MIN:
        warnings.append(f"χ²/dof = {chi2:.1f}/{dof} (p = {p_value:.2g} < {P_MIN}): the law "
                        "does not describe the data")
    if not np.isfinite(lim_err):
        warnings.append("the bootstrap gave too few fits")
    if np.isfinite(lim_hi) and lim_hi < physical_min:
        warnings.append(f"limit {beta[0]:.3g} (95 % interval {lim_lo:.3g}–{lim_hi:.3g}) below "
                        f"its physical minimum {physical_min:g}")
    supported = not warnings
    if supported and beta[0] < physical_min:
        warnings.append(f"central limit {beta[0]:.3g} below the physical minimum "
                        f"{physical_min:g}, within its interval")
    if free and (a_hat <= EXPONENT_RANGE[0] + 0.005 or a_hat >= EXPONENT_RANGE[1] - 0.005):
        warnings.append(f"best exponent {a_hat:.2f} on the end of the scanned range "
                        f"{EXPONENT_RANGE}: the exponent is not determined")
    cphi = np.linspace(phi_c, float(phi.max()), 60)
    return ApproachFit(
        name=curve.name, P=curve.P, phi_c=phi_c, phi_c_err=phi_c_err, window=window, phi=phi,
        y=y, y_err=s, exponent_free=free, limit=float(beta[0]), limit_err=lim_err,
        limit_low=lim_lo, limit_high=lim_hi, exponent=float(a_hat), exponent_err=a_err,
        exponent_low=a_lo, exponent_high=a_hi, amplitude=float(beta[1]),
        correction=float(beta[2]), chi2=float(chi2), dof=dof, p_value=p_value,
        n_boot=int(lims.size), supported=supported, warnings=tuple(warnings),
        curve_phi=cphi, curve_y=_model(cphi - phi_c, a_hat, beta),
    )
