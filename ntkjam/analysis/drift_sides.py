"""Does the kernel move more when the problem is UNSAT?  Drift of UNSAT vs SAT runs.

* :func:`side_comparisons` — from the :class:`~ntkjam.analysis.kernel_drift.DriftPoint`
  of a ``kernel_drift`` store (:func:`~ntkjam.analysis.kernel_drift.drift_points`): the
  ratio of the mean drifts ‖K_T − K_0‖_F/‖K_0‖_F of the UNSAT and SAT runs at the
  neighbouring sizes across φ_c (and pooled over all sizes), with a 95 % interval (delta
  method on the log), as one :class:`SideComparison` per (condition, width, α).

Re-exported by :mod:`ntkjam.analysis.kernel_drift`, whose analysis calls it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ntkjam.analysis.drift_alpha import fit_groups
from ntkjam.analysis.power_law import Z95
from ntkjam.core.reprs import SummaryRepr

__all__ = ["SideComparison", "side_comparisons"]


@dataclass(frozen=True, repr=False)
class SideComparison(SummaryRepr):
    """UNSAT against SAT runs at one (condition without the size, width, α).

    ``ratio`` = mean drift of the UNSAT runs / mean drift of the SAT runs, at the
    neighbouring sizes across φ_c (the largest size with ≥ 3 SAT runs and the smallest
    with ≥ 3 UNSAT runs; they may coincide), with a 95 % interval from the delta method
    on log ratio; ``pooled_*`` the same over every size of the group.

    ``verdict``: ``"UNSAT moves more"`` (interval above 1), ``"UNSAT moves less"``
    (below 1), ``"no difference resolved"``.  ``weight_*``: the same ratio of the weight
    changes ‖θ_T − θ_0‖/‖θ_0‖ at the neighbouring sizes.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from ntkjam.analysis.kernel_drift import drift_points, side_comparisons
    >>> n = np.repeat([50, 200], 3); s = np.tile([-1, 0, 1], 2)  # 50 points SAT, 200 UNSAT
    >>> df = pd.DataFrame({"width": 64, "seed": s, "n": n, "alpha": 10.0, "n_params": 768,
    ...                    "side": np.where(n > 100, "unsat", "sat"), "n_points": n,
    ...                    "rel_frobenius": np.where(n > 100, 0.03, 0.01), "weight_change": 0.01})
    >>> (c,) = side_comparisons(drift_points(df))
    >>> c.verdict, (c.sat_size, c.unsat_size), round(c.ratio, 6)  # the UNSAT kernel moves 3×
    ('UNSAT moves more', (50.0, 200.0), 3.0)
    """

    verdict: str
    label: str
    width: int
    alpha: float
    size_kind: str
    sat_size: float
    unsat_size: float
    sat_drift: float
    sat_drift_err: float
    unsat_drift: float
    unsat_drift_err: float
    ratio: float
    ci_low: float
    ci_high: float
    pooled_ratio: float
    pooled_ci_low: float
    pooled_ci_high: float
    weight_ratio: float
    weight_ci_low: float
    weight_ci_high: float


def _ratio(a: tuple[float, float], b: tuple[float, float]) -> tuple[float, float, float]:
    """a/b with a 95 % interval, errors propagated on the log."""
    r = a[0] / b[0]
    s = math.hypot(a[1] / a[0], b[1] / b[0])
    return r, r * math.exp(-Z95 * s), r * math.exp(Z95 * s)


def _pool(pts: list, q: str) -> tuple[float, float]:
    """Mean over every run of the points and its standard error (from the point SEs)."""
    n = np.array([p.n_seeds for p in pts], dtype=float)
    m = np.array([p.means[q] for p in pts])
    e = np.array([p.errors[q] for p in pts])
    return float(np.sum(n * m) / n.sum()), float(math.sqrt(np.sum((n * e) ** 2)) / n.sum())


def side_comparisons(points: list) -> list[SideComparison]:
    """One :class:`SideComparison` per group holding ≥ 3 SAT and ≥ 3 UNSAT runs.

    Parameters
    ----------
    points : list of DriftPoint
        From :func:`ntkjam.analysis.kernel_drift.drift_points`; grouped by condition
        without the size, width and α (points of fewer than 3 runs left out).

    Returns
    -------
    list of SideComparison

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from ntkjam.analysis.kernel_drift import drift_points, side_comparisons
    >>> n = np.repeat([50, 200], 3); s = np.tile([-1, 0, 1], 2)
    >>> df = pd.DataFrame({"width": 64, "seed": s, "n": n, "alpha": 10.0, "n_params": 768,
    ...                    "side": np.where(n > 100, "unsat", "sat"), "n_points": n,
    ...                    "rel_frobenius": 0.02 * (1 + 0.5 * s), "weight_change": 0.01})
    >>> [(c.verdict, c.ci_low < 1 < c.ci_high) for c in side_comparisons(drift_points(df))]
    [('no difference resolved', True)]
    """
    groups = fit_groups(points, lambda pt: (pt.condition[:-1], pt.width, pt.alpha))
    out = []
    for pts in groups.values():
        sat = sorted((p for p in pts if p.side == "sat"), key=lambda p: p.size)
        unsat = sorted((p for p in pts if p.side == "unsat"), key=lambda p: p.size)
        if not sat or not unsat:
            continue
        s, u = sat[-1], unsat[0]
        q = "rel_frobenius"
        r, lo, hi = _ratio((u.means[q], u.errors[q]), (s.means[q], s.errors[q]))
        pr, plo, phi = _ratio(_pool(unsat, q), _pool(sat, q))
        w, wlo, whi = _ratio((u.means["weight_change"], u.errors["weight_change"]),
                             (s.means["weight_change"], s.errors["weight_change"]))
        verdict = ("UNSAT moves more" if lo > 1 else "UNSAT moves less" if hi < 1
                   else "no difference resolved")
        label = ", ".join(part for part in s.label.split(", ")
                          if not part.startswith(("N =", "φ =")))
        out.append(SideComparison(
            verdict, label, s.width, s.alpha, s.size_kind, s.size, u.size, s.means[q],
            s.errors[q], u.means[q], u.errors[q], r, lo, hi, pr, plo, phi, w, wlo, whi))
    return out
