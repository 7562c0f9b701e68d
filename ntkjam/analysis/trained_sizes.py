"""The threshold of trained networks across the sizes: N*(P) = φ_c(P)·P and its scaling.

* :func:`trained_scaling` — from the :class:`~ntkjam.analysis.trained.TrainedCurve` of
  a ``trained_phase_diagram`` run (:func:`~ntkjam.analysis.trained.trained_curves`) and
  the crossings of its lazy verdicts (:func:`~ntkjam.analysis.trained.lazy_reference`):
  φ_c(P) and N*(P) per α (both bounds) and for the lazy reference, with the
  finite-size law of :mod:`ntkjam.analysis.scaling` (:class:`TrainedScaling`).

Re-exported by :mod:`ntkjam.analysis.trained`, whose analysis calls it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.stats import chi2 as chi2_dist

from ntkjam.analysis.sat import Crossing
from ntkjam.analysis.scaling import FSSFit, finite_size_scaling
from ntkjam.core.reprs import SummaryRepr

__all__ = ["TrainedScaling", "trained_scaling"]


@dataclass(frozen=True, repr=False)
class TrainedScaling(SummaryRepr):
    """The threshold N*(P) = φ_c(P)·P of one curve family across the sizes P.

    Attributes
    ----------
    bound : {"lower", "upper", "lazy"}
        Which crossing: reached SAT (lower bound), SAT + out of budget (upper bound), or
        the exact lazy verdicts of the same initial networks (all α pooled).
    alpha : float
        Output scale (NaN for the lazy reference).
    P : numpy.ndarray of int, shape (k,)
        Parameter counts ``n_params`` of the sizes whose crossing is on the grid.
    phi_c, ci_low, ci_high : numpy.ndarray, shape (k,)
        φ_c(P) and its bootstrap interval.
    n_star, n_star_low, n_star_high : numpy.ndarray, shape (k,)
        The same in points: N* = φ_c · P.
    fit : FSSFit or None
        ``φ_c(P) = φ_c(∞) + a P^(−1/ν)`` with ``w(P) = b P^(−1/ν)``
        (:func:`~ntkjam.analysis.scaling.finite_size_scaling`); None below two sizes.
    verdict : str
        What the fit supports: ``"shifts with P"`` (the 95 % interval of the amplitude
        a excludes 0), ``"no shift resolved"`` (it contains 0), or ``"undetermined"``
        (fewer than three sizes, widths that do not shrink, so that no law was fitted, or
        a law the crossings reject: χ² p-value < 0.05, said in ``note``).
    note : str

    Examples
    --------
    >>> import pandas as pd
    >>> from ntkjam.analysis.trained import lazy_reference, trained_curves, trained_scaling
    >>> df = pd.DataFrame([{"P": P, "alpha": 1.0, "phi": n / P, "seed": s, "n": n, "n_params": P,
    ...                     "rank": P, "train_status": "sat" if 2 * n + P * s < 5 * P else "unsat",
    ...                     "sat": 2 * n + P * s < 5 * P, "lazy_sat": n < 2 * P}
    ...                    for P in (20, 40) for n in (P, 3 * P // 2, 2 * P, 5 * P // 2)
    ...                    for s in range(4)])
    >>> lazy = lazy_reference(df, n_boot=10)[1]
    >>> lower = trained_scaling(trained_curves(df, n_boot=10), lazy)[0]
    >>> lower.bound, lower.P, lower.verdict  # two sizes: no finite-size law
    ('lower', array([20, 40]), 'undetermined')
    >>> bool(np.allclose(lower.n_star, lower.phi_c * lower.P))  # N* = φ_c P
    True
    """

    bound: str
    alpha: float
    P: np.ndarray
    phi_c: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    n_star: np.ndarray
    n_star_low: np.ndarray
    n_star_high: np.ndarray
    fit: FSSFit | None
    verdict: str
    note: str = ""


def _scaling(bound: str, alpha: float, cross: list[Crossing]) -> TrainedScaling:
    """The :class:`TrainedScaling` of one family of crossings (one per size)."""
    good = sorted((c for c in cross if np.isfinite(c.phi_c)), key=lambda c: c.n_params)
    P = np.array([c.n_params for c in good], dtype=int)
    get = lambda f: np.array([getattr(c, f) for c in good], dtype=float)  # noqa: E731
    phi, lo, hi = get("phi_c"), get("ci_low"), get("ci_high")
    fit, verdict = None, "undetermined"
    note = f"{len(cross) - len(good)} size(s) without a crossing on the grid" if len(
        good) < len(cross) else ""
    if len(good) >= 2:
        fit = finite_size_scaling(good)
        note = "; ".join(x for x in (note, fit.note) if x)
        p_fit = float(chi2_dist.sf(fit.chi2, fit.dof)) if fit.dof >= 1 else math.nan
        if fit.dof >= 1 and not fit.note and p_fit < 0.05:
            note = (f"the law does not fit the crossings (χ² = {fit.chi2:.3g} for "
                    f"{fit.dof} dof, p = {p_fit:.2g})")
        elif fit.dof >= 1 and not fit.note:
            verdict = ("shifts with P" if abs(fit.a) > 1.96 * fit.a_err
                       else "no shift resolved")
    return TrainedScaling(bound=bound, alpha=float(alpha), P=P, phi_c=phi, ci_low=lo,
                          ci_high=hi, n_star=phi * P, n_star_low=lo * P, n_star_high=hi * P,
                          fit=fit, verdict=verdict, note=note)


def trained_scaling(curves: list, lazy_crossings: list[Crossing]
                    ) -> list[TrainedScaling]:
    """N*(P) and its finite-size fit per α (lower and upper bounds) and for the lazy verdicts.

    Parameters
    ----------
    curves : list of TrainedCurve
        From :func:`trained_curves`.
    lazy_crossings : list of Crossing
        From :func:`lazy_reference`.

    Returns
    -------
    list of TrainedScaling
        Per α (increasing): the lower then the upper bound; then the lazy reference.

    Examples
    --------
    >>> import pandas as pd
    >>> from ntkjam.analysis.trained import lazy_reference, trained_curves, trained_scaling
    >>> df = pd.DataFrame([{"P": 20, "alpha": a, "phi": n / 20, "seed": s, "n": n, "n_params": 20,
    ...                     "rank": 20, "train_status": "sat" if n + 10 * s < 50 else "budget",
    ...                     "sat": n + 10 * s < 50, "lazy_sat": n < 40}
    ...                    for a in (1.0, 10.0) for n in (20, 30, 40, 50) for s in range(4)])
    >>> out = trained_scaling(trained_curves(df, n_boot=10), lazy_reference(df, n_boot=10)[1])
    >>> [(s.bound, s.alpha, s.P.shape) for s in out]
    [('lower', 1.0, (1,)), ('upper', 1.0, (0,)), ('lower', 10.0, (1,)), ('upper', 10.0, (0,)),
     ('lazy', nan, (1,))]
    """
    out = []
    for alpha in sorted({c.alpha for c in curves}):
        cs = [c for c in curves if c.alpha == alpha]
        out.append(_scaling("lower", alpha, [c.crossing for c in cs]))
        out.append(_scaling("upper", alpha, [c.crossing_upper for c in cs]))
    out.append(_scaling("lazy", math.nan, lazy_crossings))
    return out
