"""The lazy limit in α: how the NTK's training drift falls with the output scale α.

* :func:`alpha_scans` — from the :class:`~ntkjam.analysis.kernel_drift.DriftPoint` of a
  ``kernel_drift`` store (:func:`~ntkjam.analysis.kernel_drift.drift_points`): the
  drift ‖K_T − K_0‖_F/‖K_0‖_F against α at each (condition, width, side), the local
  slopes between neighbouring α and a power law over α ≥ ``alpha_min`` against
  :data:`ALPHA_HYPOTHESES` (:class:`AlphaScan`);
* :func:`fit_groups` — the points of ≥ 3 runs grouped by a key, the groups that every
  fit of the drift analysis is made over (here, in :mod:`ntkjam.analysis.drift_sides`
  and in :mod:`ntkjam.analysis.kernel_drift`).

Re-exported by :mod:`ntkjam.analysis.kernel_drift`, whose analysis calls it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ntkjam.analysis.power_law import PowerLawFit, power_law_fit
from ntkjam.core.reprs import SummaryRepr

__all__ = ["ALPHA_HYPOTHESES", "MIN_RUNS", "AlphaScan", "alpha_scans", "fit_groups"]

#: Runs a point needs to enter a fit (its mean and error from fewer are not trusted).
MIN_RUNS = 3
#: Exponents of the drift in α: second order, first order (smooth), ReLU pattern flips.
ALPHA_HYPOTHESES = {"α^-2": -2.0, "α^-1": -1.0, "α^-1/2": -0.5}


@dataclass(frozen=True, repr=False)
class AlphaScan(SummaryRepr):
    """The drift against α at one (condition, width, side).

    Attributes
    ----------
    label : str
    side : str
    width : int
    alphas, drift, drift_err : ndarray, shape (k,)
        α and the mean ‖K_T − K_0‖_F/‖K_0‖_F with its standard error.
    weight_change, weight_change_err : ndarray, shape (k,)
    slopes, slope_errs : ndarray, shape (k − 1,)
        Local exponents d log drift / d log α between neighbouring α.
    fit : PowerLawFit or None
        Over α ≥ ``alpha_min`` (≥ 3 values), hypotheses :data:`ALPHA_HYPOTHESES`.
    alpha_min : float
    decreasing : bool
        Whether the drift at the largest α is below that at the smallest by more than
        two standard errors of their difference (the lazy limit: drift → 0 as α → ∞).
    key : tuple
        ``(condition, width, side)``.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from ntkjam.analysis.kernel_drift import alpha_scans, drift_points
    >>> a = np.array([1.0, 1.0, 1.0, 4.0, 4.0, 4.0]); s = np.tile([-1, 0, 1], 2)
    >>> df = pd.DataFrame({"width": 64, "seed": s, "n": 50, "alpha": a, "side": "sat",
    ...                    "n_params": 768, "n_points": 50, "weight_change": 0.1 / a,
    ...                    "rel_frobenius": 0.5 / a**2 * (1 + 0.01 * s)})  # drift ∝ α^-2
    >>> (scan,) = alpha_scans(drift_points(df), alpha_min=10.0)
    >>> scan.alphas, scan.slopes.round(6), scan.fit is None, scan.decreasing  # no α ≥ 10
    (array([1., 4.]), array([-2.]), True, True)
    """

    label: str
    side: str
    width: int
    alphas: np.ndarray
    drift: np.ndarray
    drift_err: np.ndarray
    weight_change: np.ndarray
    weight_change_err: np.ndarray
    slopes: np.ndarray
    slope_errs: np.ndarray
    fit: PowerLawFit | None
    alpha_min: float
    decreasing: bool
    key: tuple = ()


def fit_groups(points: list, key) -> dict[tuple, list]:
    """The points of ≥ :data:`MIN_RUNS` runs grouped by ``key(point)``, in their order.

    Parameters
    ----------
    points : list of DriftPoint
        From :func:`ntkjam.analysis.kernel_drift.drift_points`.
    key : callable
        DriftPoint → hashable group key.

    Returns
    -------
    dict
        Key → the points of that group with ``n_seeds >= MIN_RUNS``; groups without any are
        absent.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from ntkjam.analysis.drift_alpha import fit_groups
    >>> from ntkjam.analysis.kernel_drift import drift_points
    >>> a = np.array([1.0, 1.0, 1.0, 4.0, 4.0]); s = np.array([-1, 0, 1, 0, 1])
    >>> df = pd.DataFrame({"width": 64, "seed": s, "n": 50, "alpha": a, "side": "sat",
    ...                    "n_params": 768, "n_points": 50, "weight_change": 0.1,
    ...                    "rel_frobenius": 0.5})
    >>> groups = fit_groups(drift_points(df), key=lambda p: (p.width, p.side))
    >>> [(k, [p.alpha for p in pts]) for k, pts in groups.items()]  # α = 4 has 2 runs
    [((64, 'sat'), [1.0])]
    """
    groups: dict[tuple, list] = {}
    for pt in points:
        if pt.n_seeds >= MIN_RUNS:
            groups.setdefault(key(pt), []).append(pt)
    return groups


def alpha_scans(points: list, alpha_min: float = 10.0) -> list[AlphaScan]:
    """One :class:`AlphaScan` per (condition, width, side) with ≥ 2 values of α.

    Parameters
    ----------
    points : list of DriftPoint
        From :func:`drift_points` (points of fewer than 3 runs are left out).
    alpha_min : float
        Smallest α of the power-law fit.

    Returns
    -------
    list of AlphaScan
        Their arrays of shape (k,), k the values of α (slopes: k − 1).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from ntkjam.analysis.kernel_drift import alpha_scans, drift_points
    >>> a = np.repeat([10.0, 100.0, 1000.0], 3); s = np.tile([-1, 0, 1], 3)
    >>> df = pd.DataFrame({"width": 64, "seed": s, "n": 50, "alpha": a, "side": "sat",
    ...                    "n_params": 768, "n_points": 50, "weight_change": 0.1 / a,
    ...                    "rel_frobenius": 5 / a * (1 + 0.01 * s)})  # ∝ 1/α: first order
    >>> (scan,) = alpha_scans(drift_points(df))
    >>> scan.slopes.round(6), scan.fit.verdict, scan.decreasing
    (array([-1., -1.]), 'consistent with α^-1', True)
    """
    out = []
    groups = fit_groups(points, lambda pt: (pt.condition, pt.width, pt.side))
    for key, pts in groups.items():
        pts = sorted(pts, key=lambda p: p.alpha)
        if len(pts) < 2:
            continue
        a = np.array([p.alpha for p in pts])
        y = np.array([p.means["rel_frobenius"] for p in pts])
        e = np.array([p.errors["rel_frobenius"] for p in pts])
        w = np.array([p.means["weight_change"] for p in pts])
        we = np.array([p.errors["weight_change"] for p in pts])
        rel = e / y
        slopes = np.diff(np.log(y)) / np.diff(np.log(a))
        slope_errs = np.sqrt(rel[1:] ** 2 + rel[:-1] ** 2) / np.diff(np.log(a))
        keep = a >= alpha_min
        side = "SAT" if pts[0].side == "sat" else "UNSAT"
        label = f"{pts[0].label}, width {pts[0].width}, {side}"
        fit = None
        if keep.sum() >= 3:
            fit = power_law_fit(a[keep], y[keep], e[keep], quantity="rel_frobenius",
                                variable="alpha", group=label, hypotheses=ALPHA_HYPOTHESES,
                                key=key)
        drop = y[0] - y[-1] > 2 * math.hypot(e[0], e[-1])
        out.append(AlphaScan(label, pts[0].side, pts[0].width, a, y, e, w, we, slopes,
                             slope_errs, fit, float(alpha_min), bool(drop), key))
    return out
