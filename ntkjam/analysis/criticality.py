"""The UNSAT side of the transition: observables vs φ and their behaviour at φ_c⁺.

* :func:`observable_curves` — mean and standard error of a measurement (loss per
  sample, N_Δ/N, N_Δ/rank, …) vs φ per P, over all instances and over the UNSAT ones.
* :func:`isostatic_verdict`, :func:`jump_verdict` — the words for a limit at φ_c⁺
  (isostatic / hyperstatic, jump / continuous), said only where its interval
  supports them, else ``"undetermined"``.

The limits at φ_c⁺ themselves come from fits of the approach law
(:mod:`ntkjam.analysis.approach`).  The earlier extrapolation of the mean at the first
grid point above φ_c(P) in P measured the value at φ ≈ φ_c + 0.05, not the limit
φ → φ_c⁺, and is gone.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ntkjam.analysis.tables import by_P, done_table
from ntkjam.core.reprs import SummaryRepr

__all__ = [
    "ObservableCurve",
    "isostatic_verdict",
    "jump_verdict",
    "observable_curves",
]


@dataclass(frozen=True, repr=False)
class ObservableCurve(SummaryRepr):
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

    Examples
    --------
    Usually made by :func:`observable_curves`; by hand, N_Δ/rank at two φ (all UNSAT):

    >>> import numpy as np
    >>> from ntkjam.analysis.criticality import ObservableCurve
    >>> phi, y = np.array([2.2, 2.5]), np.array([1.3, 1.5])
    >>> ObservableCurve("isostaticity", 100, phi, y, y / 10, y, y / 10, np.array([20, 20]))
    ObservableCurve(name='isostaticity', P=100, phi=<array (2,) float64>, ...)
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
    """Mean and standard error of measurement ``name`` vs φ, per P (:class:`ObservableCurve`).

    Parameters
    ----------
    df : pandas.DataFrame
        Rows of a ``phase_diagram`` table (columns ``P``, ``phi``, ``seed``, ``n``,
        ``n_params``, ``sat``, ``rank`` and ``name``); only rows with status ``done``
        count, at φ = n/n_params.
    name : str
        The measurement, e.g. ``"loss"`` or ``"isostaticity"``.

    Returns
    -------
    list of ObservableCurve
        One per P, in increasing P; each with arrays of shape (k,), k the distinct φ.

    Examples
    --------
    Five instances at P = 10: the mean over all of them counts a SAT one's loss (0), the
    UNSAT mean only the others:

    >>> import pandas as pd
    >>> from ntkjam.analysis.criticality import observable_curves
    >>> df = pd.DataFrame({"P": 10, "phi": [1.5, 1.5, 2.5, 2.5, 2.5], "seed": [0, 1, 0, 1, 2],
    ...                    "n": [15, 15, 25, 25, 25], "n_params": 10, "rank": 10,
    ...                    "sat": [True, True, True, False, False], "loss": [0, 0, 0, 0.2, 0.4]})
    >>> (curve,) = observable_curves(df, "loss")
    >>> curve.phi.tolist(), curve.n_unsat.tolist()
    ([1.5, 2.5], [0, 2])
    >>> [round(float(v), 4) for v in curve.mean], [round(float(v), 4) for v in curve.mean_unsat]
    ([0.0, 0.2], [nan, 0.3])
    """
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


# -------------------------------------------------------------------- P → ∞


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

    Returns
    -------
    str
        ``"isostatic"``, ``"hyperstatic"``, ``"hypostatic"`` or ``"undetermined"``.

    Examples
    --------
    >>> from ntkjam.analysis.criticality import isostatic_verdict
    >>> isostatic_verdict(1.02, 0.03), isostatic_verdict(1.3, 0.05), isostatic_verdict(1.0, 0.5)
    ('isostatic', 'hyperstatic', 'undetermined')
    >>> isostatic_verdict(0.8, 0.02), isostatic_verdict(0.8, 0.02, hypostatic_possible=True)
    ('undetermined', 'hypostatic')
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

    Returns
    -------
    str
        ``"jump"``, ``"continuous"`` or ``"undetermined"``.

    Examples
    --------
    A loss limit at φ_c⁺ on a curve that reaches 0.3:

    >>> from ntkjam.analysis.criticality import jump_verdict
    >>> jump_verdict(0.05, 0.01, scale=0.3), jump_verdict(0.001, 0.002, scale=0.3)
    ('jump', 'continuous')
    >>> jump_verdict(0.02, 0.05, scale=0.3)  # 0 in the interval, but so is 0.1
    'undetermined'
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
