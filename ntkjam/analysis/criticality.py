"""The UNSAT side of the transition: observables vs φ and their behaviour at φ_c⁺.

* :func:`observable_curves` — mean and standard error of a measurement (loss per
  sample, N_Δ/N, N_Δ/rank, …) vs φ per P, over all instances and over the UNSAT ones.
* :func:`isostatic_verdict`, :func:`jump_verdict` — the words for a limit at φ_c⁺
  (isostatic / hyperstatic, jump / continuous), said only where its interval
  supports them, else ``"undetermined"``.

The limits at φ_c⁺ themselves come from fits of the approach law
(:mod:`ntkjam.analysis.approach`).  Superseded, kept for one release and no longer
used by :func:`ntkjam.analysis.analyze`:

* :func:`unsat_scaling` — the UNSAT means beyond the finite-size window fitted with
  ``y = y0 + A (φ − φ_c)^β`` (no error on φ_c, no χ²).
* :func:`jump_scaling` — the mean just above φ_c(P) extrapolated to P → ∞: the value
  at a fixed distance above φ_c (≈ 0.05 on the demo grid), not the limit φ → φ_c⁺.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import scipy.optimize

from ntkjam._validate import as_real
from ntkjam.analysis.stats import positive_errors, wls
from ntkjam.analysis.tables import by_P, done_table

__all__ = [
    "jump_scaling",
    "unsat_scaling",
    "JumpScaling",
    "ObservableCurve",
    "UnsatScaling",
    "isostatic_verdict",
    "jump_verdict",
    "observable_curves",
]


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
    df = done_table(df)
    if name not in df.columns:
        raise ValueError(f"measurement {name!r} is not in the table")
    out = []
    for P, g in by_P(df):
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


# -------------------------------------------------------------------- one size
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


def _near(curve: ObservableCurve, x: np.ndarray, window: float) -> tuple[float, float]:
    """Count-weighted UNSAT mean (and its error) over ``0 ≤ φ − φ_c ≤ window``."""
    near = (x >= 0) & (x <= window) & (curve.n_unsat >= 1) & np.isfinite(curve.mean_unsat)
    if not np.any(near):
        return math.nan, math.nan
    cnt = curve.n_unsat[near].astype(float)
    y_near = float(np.sum(cnt * curve.mean_unsat[near]) / cnt.sum())
    sem = np.nan_to_num(curve.sem_unsat[near])
    return y_near, float(math.sqrt(np.sum((cnt * sem) ** 2)) / cnt.sum())


def _offset_power_law(x, y, s) -> tuple[float, float, str]:
    """``y0 ± err`` of ``y = y0 + A x^β`` (y0 ≥ 0), and a note when the fit fails."""
    try:
        p3, c3 = scipy.optimize.curve_fit(
            lambda t, y0, a, b: y0 + a * t**b, x, y, sigma=s, absolute_sigma=True,
            p0=(max(float(y.min()) * 0.5, 0.0), float(y.max()), 1.0),
            bounds=([0.0, -np.inf, 0.05], [np.inf, np.inf, 10.0]), maxfev=20000,
        )
        return float(p3[0]), float(math.sqrt(max(c3[0, 0], 0.0))), ""
    except (RuntimeError, ValueError) as exc:
        return math.nan, math.nan, f"three-parameter fit failed ({exc})"


def _pure_power_law(x, y, s) -> tuple[float, float, float]:
    """``(β, β_err, A)`` of ``y = A x^β`` by log-log WLS on the positive values."""
    pos = y > 0
    if pos.sum() < 3:
        return math.nan, math.nan, math.nan
    (la, b), cov, _ = wls(
        np.column_stack([np.ones(pos.sum()), np.log(x[pos])]), np.log(y[pos]), s[pos] / y[pos],
    )
    return float(b), float(math.sqrt(cov[1, 1])), float(math.exp(la))


# -------------------------------------------------------------------- P → ∞
def unsat_scaling(
    curve: ObservableCurve, phi_c: float, *, window: float, min_unsat: int = 3
) -> UnsatScaling:
    """Continuous or jump at φ_c⁺: fit the UNSAT means of ``curve`` (see :class:`UnsatScaling`).

    Parameters
    ----------
    curve : ObservableCurve
    phi_c : float
        The threshold (e.g. φ_c(∞) from :func:`ntkjam.analysis.finite_size_scaling`).
    window : float
        Only points with ``φ − φ_c ≥ window`` enter (take ~2 widths of the transition).
    min_unsat : int
        Points with fewer UNSAT instances are left out.
    """
    phi_c = as_real("phi_c", phi_c)
    window = as_real("window", window, positive=True)
    x = curve.phi - phi_c
    y_near, y_near_err = _near(curve, x, window)
    keep = (x >= window) & (curve.n_unsat >= max(min_unsat, 2)) & np.isfinite(curve.mean_unsat)
    x, y = x[keep], curve.mean_unsat[keep]
    s = positive_errors(curve.sem_unsat[keep], y) if y.size else y
    base = dict(name=curve.name, P=curve.P, phi_c=phi_c, window=window, n_points=int(x.size),
                y_near=y_near, y_near_err=y_near_err)
    nan = math.nan
    if x.size < 4:
        return UnsatScaling(**base, y0=nan, y0_err=nan, exponent=nan, exponent_err=nan,
                            amplitude=nan, verdict="undetermined",
                            note=f"{x.size} points beyond the window (4 needed)")
    y0, y0_err, note = _offset_power_law(x, y, s)
    exponent, exponent_err, amplitude = _pure_power_law(x, y, s)
    if not np.isfinite(y0):
        verdict = "undetermined"
    elif y0_err > 0 and y0 > 3 * y0_err and y0 > 1e-3 * float(np.max(np.abs(y))):
        verdict = "jump"
    else:
        verdict = "continuous"
    return UnsatScaling(**base, y0=y0, y0_err=y0_err, exponent=exponent,
                        exponent_err=exponent_err, amplitude=amplitude, verdict=verdict,
                        note=note)


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
    err = positive_errors(np.array(e), yy)
    (_, slope), cov, _ = wls(np.column_stack([np.ones(len(use)), np.log(P)]), np.log(yy),
                             err / yy)
    if len(set(win)) > 1:
        (limit, _), cov_l, _ = wls(np.column_stack([np.ones(len(use)), win]), yy, err)
        limit_err = float(math.sqrt(cov_l[0, 0]))
    else:
        limit, limit_err = float(yy[-1]), float(err[-1])
    verdict = "jump" if limit > 3 * limit_err else "vanishing"
    return JumpScaling(name, P, y, e, win, float(limit), limit_err, float(slope),
                       float(math.sqrt(cov[1, 1])), verdict)


def _interval(value: float, err: float, z: float) -> tuple[float, float] | None:
    """``value ∓ z err``, or None when either is not finite (or err < 0)."""
    if not (np.isfinite(value) and np.isfinite(err)) or err < 0:
        return None
    return value - z * err, value + z * err


def isostatic_verdict(value: float, err: float, *, z: float = 1.959963984540054,
                      max_halfwidth: float = 0.2, hypostatic_possible: bool = False) -> str:
    """Classify ``N_Δ/rank`` at φ_c⁺ by its interval ``value ∓ z·err`` (95 % by default).

    * ``"hyperstatic"``: the whole interval above 1;
    * ``"isostatic"``: the interval contains 1 and is no wider than ``±max_halfwidth``
      (a wider one cannot tell isostatic from hyperstatic);
    * ``"hypostatic"``: the whole interval below 1, only with
      ``hypostatic_possible=True``.  For UNSAT minima of the lazy problem in general
      position N_Δ ≥ rank + 1, so by default a value below 1 is a failed measurement;
    * ``"undetermined"`` otherwise (also for a value or error that is not finite).

    Parameters
    ----------
    value, err : float
        E.g. :attr:`ntkjam.analysis.OnsetLimit.value` and ``err``.
    z : float
        Half-width of the interval in errors.
    max_halfwidth : float
        Widest interval (half-width ``z·err``) that supports "isostatic".
    hypostatic_possible : bool
        Whether N_Δ/rank < 1 is possible for the problem (not for the lazy one).
    """
    ci = _interval(value, err, z)
    if ci is None:
        return "undetermined"
    lo, hi = ci
    if lo > 1.0:
        return "hyperstatic"
    if hi < 1.0:
        return "hypostatic" if hypostatic_possible else "undetermined"
    return "isostatic" if z * err <= max_halfwidth else "undetermined"


def jump_verdict(value: float, err: float, *, scale: float, z: float = 1.959963984540054,
                 resolution: float = 0.1) -> str:
    """Classify an observable's limit at φ_c⁺ (e.g. the loss) by ``value ∓ z·err``.

    * ``"jump"``: the whole interval above 0 (the limit is nonzero);
    * ``"continuous"``: the interval contains 0 and its upper end is at most
      ``resolution · scale`` (the limit is resolved to be small);
    * ``"undetermined"`` otherwise: a wide interval, an interval wholly below 0 (a loss
      cannot be negative), or a value that is not finite.

    Parameters
    ----------
    value, err : float
    scale : float
        Typical size of the observable (e.g. its largest value in the fit).
    z : float
    resolution : float
        Fraction of ``scale`` below which a limit compatible with 0 counts as 0.
    """
    ci = _interval(value, err, z)
    if ci is None:
        return "undetermined"
    lo, hi = ci
    if lo > 0.0:
        return "jump"
    if hi >= 0.0 and np.isfinite(scale) and hi <= resolution * abs(scale):
        return "continuous"
    return "undetermined"
