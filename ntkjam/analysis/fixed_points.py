"""Reading the fixed-point study's store (:mod:`ntkjam.experiments.fixed_points`).

Theory: a fixed point of ḟ = −η K ∇L(f) that is not a minimum needs Ker K ≠ {0}, i.e.
N > rank K; for MSE it is then certain (the N labels cannot be interpolated); for the
quadratic hinge it is exactly the UNSAT phase (Cover: φ_c = 2 in units of the rank).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["fixed_point_summary"]


def _theory(loss: str, n: np.ndarray, rank: np.ndarray) -> float:
    """P(the end point is a fixed point that is not a minimum), mean over the tasks."""
    if loss == "mse":
        return float(np.mean(n > rank))
    from ntkjam.theory import cover_probability

    return float(np.mean([1.0 - cover_probability(int(a), int(b)) for a, b in zip(n, rank,
                                                                              strict=True)]))


def fixed_point_summary(directory: str | Path) -> list[dict[str, Any]]:
    """One row per (loss, φ): counts, the fraction not minima with its 95 % CI, theory.

    Parameters
    ----------
    directory : str or Path
        A run directory of the ``fixed_points`` experiment
        (:func:`ntkjam.experiments.fixed_points.fixed_point_spec`).

    Returns
    -------
    list of dict
        ``loss``, ``phi``, ``n_tasks``, ``n_not_minimum``, ``fraction``, ``ci_low``,
        ``ci_high`` (Wilson), ``theory`` (P(not a minimum): N > rank for MSE, 1 − Cover
        for the hinge), ``agree_unsat`` (fraction where "not a minimum" ⇔ UNSAT),
        ``n_unstable_max``, ``lyapunov`` (fraction Lyapunov stable among the fixed
        points), ``linearly_stable`` (fraction with every rate > 0), ``marginal_per_rank``
        (mean marginal rates / rank).

    Examples
    --------
    Three seeds at P = 10: below φ = 1 every end point is a minimum; at φ = 3 none is,
    for MSE (N > rank) and for the hinge (UNSAT: 1 − Cover ≈ 0.97 at N = 30):

    >>> import tempfile
    >>> from ntkjam import sweep
    >>> from ntkjam.analysis.fixed_points import fixed_point_summary
    >>> from ntkjam.experiments.fixed_points import fixed_point_spec
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     _ = sweep.run(fixed_point_spec(P=10, phi=[0.5, 3.0], seeds=3, output=tmp + "/run"))
    ...     rows = fixed_point_summary(tmp + "/run")
    >>> [(r["loss"], r["phi"], r["n_not_minimum"], round(r["theory"], 2)) for r in rows]
    [('mse', 0.5, 0, 0.0), ('mse', 3.0, 3, 1.0), ('quadratic_hinge', 0.5, 0, 0.0),
     ('quadratic_hinge', 3.0, 3, 0.97)]
    >>> all(r["agree_unsat"] == 1.0 for r in rows)  # not a minimum exactly when UNSAT
    True
    """
    from ntkjam.analysis.stats import wilson
    from ntkjam.sweep import load

    df = load(directory, status="done")
    rows = []
    for (loss, phi), g in df.groupby(["loss", "phi"], sort=True):
        k, m = int(g["not_minimum"].astype(bool).sum()), len(g)
        lo, hi = wilson(np.array(k), np.array(m))
        fixed = g[g["kind"] != "not_fixed_point"]
        rows.append({
            "loss": str(loss), "phi": float(phi), "n_tasks": m, "n_not_minimum": k,
            "fraction": k / m, "ci_low": float(lo), "ci_high": float(hi),
            "theory": _theory(str(loss), g["n"].to_numpy(), g["rank"].to_numpy()),
            "agree_unsat": float(np.mean(g["not_minimum"].astype(bool)
                                         == ~g["sat"].astype(bool))),
            "n_fixed": len(fixed),
            "n_unstable_max": int(g["n_unstable"].max()),
            "lyapunov": float(fixed["lyapunov_stable"].astype(bool).mean()) if len(fixed)
            else float("nan"),
            "linearly_stable": float((fixed["stability"] == "stable").mean()) if len(fixed)
            else float("nan"),
            "marginal_per_rank": float(np.mean(g["n_marginal"] / g["rank"])),
        })
    return rows
