"""Section 2's numbers: zero modes and the smallest nonzero eigenvalue of K across φ.

Read from the spectrum study's store (rows and arrays of
:mod:`ntkjam.experiments.spectrum`): per φ the measured zero-mode fraction against its
prediction, the smallest nonzero eigenvalue with a t interval over seeds against the
lower edge of the predicted law (the smallest point of its support, or the smallest
nonzero predicted eigenvalue of a discrete prediction), and the Kolmogorov–Smirnov
distance to the prediction.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["predicted_edge", "spectrum_rows", "t_interval"]


def t_interval(values) -> tuple[float, float, float]:
    """``(mean, lo, hi)``: the mean with its 95 % Student-t interval (NaN ends for one value)."""
    import scipy.stats

    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return math.nan, math.nan, math.nan
    m = float(v.mean())
    if v.size < 2:
        return m, math.nan, math.nan
    half = float(scipy.stats.t.ppf(0.975, v.size - 1) * v.std(ddof=1) / math.sqrt(v.size))
    return m, m - half, m + half


def predicted_edge(arrays: dict) -> float:
    """The lower edge of the nonzero part of a task's stored prediction.

    For a law on a grid: the smallest x > 0 where the density exceeds 10⁻⁴ of its
    maximum (the numerical Silverstein density has tails far below that).
    """
    if "law_x" in arrays:
        x, rho = np.asarray(arrays["law_x"]), np.asarray(arrays["law_density"])
        pos = x[(rho > 1e-4 * float(np.max(rho))) & (x > 0)] if rho.size else x[:0]
        return float(pos.min()) if pos.size else math.nan
    pred = np.asarray(arrays.get("predicted_eigenvalues", []), dtype=float)
    pred = pred[pred > 1e-12 * float(np.max(pred))] if pred.size else pred
    return float(pred.min()) if pred.size else math.nan


def spectrum_rows(df, arrays: dict) -> list[dict]:
    """One row per φ of one spectrum study.

    Parameters
    ----------
    df : pandas.DataFrame
        The study's finished rows.
    arrays : dict
        Task hash → its stored arrays.

    Returns
    -------
    list of dict
        ``phi``, ``n``, ``p``, ``n_seeds``, ``zero_fraction``, ``expected_zero_fraction``,
        ``smallest`` (mean), ``smallest_lo``, ``smallest_hi`` (95 % t interval),
        ``edge`` (predicted lower edge), ``ks`` (mean), ``prediction``.
    """
    rows = []
    for phi, g in df.groupby("phi", sort=True):
        m, lo, hi = t_interval(g["smallest_nonzero"].to_numpy(dtype=float))
        edges = [predicted_edge(arrays[h]) for h in g["hash"]]
        rows.append({
            "phi": float(phi), "n": int(g["n"].iloc[0]),
            "p": None if g["p"].isna().all() else int(g["p"].iloc[0]),
            "n_seeds": len(g), "zero_fraction": float(g["zero_fraction"].mean()),
            "expected_zero_fraction": float(g["expected_zero_fraction"].mean()),
            "smallest": m, "smallest_lo": lo, "smallest_hi": hi,
            "edge": float(np.nanmean(edges)) if np.any(np.isfinite(edges)) else math.nan,
            "ks": float(g["ks"].mean()), "prediction": str(g["prediction"].iloc[0]),
        })
    return rows
