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
    """``(mean, lo, hi)``: the mean with its 95 % Student-t interval (NaN ends for one value).

    Parameters
    ----------
    values : array_like, shape (S,)
        One value per seed; non-finite values are dropped.

    Returns
    -------
    mean, lo, hi : float
        All NaN when no value is finite.

    Examples
    --------
    Three seeds: mean 2, half-width t₀.₉₇₅(2) · s/√3 = 4.303 · 1/√3 = 2.484:

    >>> from ntkjam.report.spectra import t_interval
    >>> [round(v, 3) for v in t_interval([1.0, 2.0, 3.0, float("nan")])]
    [2.0, -0.484, 4.484]
    >>> t_interval([0.5])
    (0.5, nan, nan)
    """
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

    Parameters
    ----------
    arrays : dict
        A task's stored arrays: ``law_x`` and ``law_density`` (shape (M,) each), or
        ``predicted_eigenvalues`` (shape (N,)).

    Returns
    -------
    float
        NaN when the prediction has no nonzero part.

    Examples
    --------
    A law supported on [(1 − √φ)², (1 + √φ)²] = [0.25, 2.25] (Marchenko–Pastur's at
    φ = 1/4), and a discrete prediction with two zero modes:

    >>> import numpy as np
    >>> from ntkjam.report.spectra import predicted_edge
    >>> x = np.linspace(0.0, 3.0, 3001)
    >>> rho = np.sqrt(np.clip((x - 0.25) * (2.25 - x), 0.0, None)) / x.clip(1e-9)
    >>> round(predicted_edge({"law_x": x, "law_density": rho}), 2)
    0.25
    >>> predicted_edge({"predicted_eigenvalues": np.array([0.0, 0.0, 0.3, 2.0])})
    0.3
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

    Examples
    --------
    Two seeds at φ = 2 (N = 20, P = 10): half the eigenvalues of K are zero modes, and
    two seeds give a wide t interval (t₀.₉₇₅(1) = 12.7):

    >>> import numpy as np
    >>> import pandas as pd
    >>> from ntkjam.report.spectra import spectrum_rows
    >>> df = pd.DataFrame({"phi": [2.0, 2.0], "seed": [0, 1], "hash": ["a", "b"], "n": 20,
    ...                    "p": 10, "smallest_nonzero": [0.16, 0.18], "zero_fraction": 0.5,
    ...                    "expected_zero_fraction": 0.5, "ks": [0.1, 0.2],
    ...                    "prediction": "marchenko_pastur"})
    >>> edge = {"predicted_eigenvalues": np.array([0.0, 0.1716])}  # (√2 − 1)²
    >>> arrays = {"a": edge, "b": edge}
    >>> (row,) = spectrum_rows(df, arrays)
    >>> row["n_seeds"], row["zero_fraction"], round(row["smallest"], 3), row["edge"]
    (2, 0.5, 0.17, 0.1716)
    >>> round(row["smallest_lo"], 3), round(row["smallest_hi"], 3), round(row["ks"], 3)
    (0.043, 0.297, 0.15)
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
