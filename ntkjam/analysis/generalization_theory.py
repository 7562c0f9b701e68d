"""The theories of a ``generalization`` store against its measurements (read only).

The tasks of :mod:`ntkjam.experiments.generalization` store the theory that applies to
them (``theory``, ``theory_test_error``): Hastie et al. (``linear``), Mei–Montanari
(``relu_features``), the spectral theory of kernel regression (``ntk_kernel``, fed with
the Funk–Hecke eigenvalues the task stored as arrays), for ``regression_mse`` with
f0 = 0.  :func:`theory_comparisons` measures the relative deviation of the members'
mean test error from it; :func:`theory_curves` evaluates the same theories on a fine φ
grid (:mod:`ntkjam.theory`) for the figures; :func:`error_scaling` fits the approach of
the test error to its P → ∞ limit at fixed N, against Mei–Montanari where it applies,
and :func:`p_scaling` the single-minus-ensemble gap there; :func:`ensemble_effects` the
peak of the members' mean error against the ensemble's (a paired bootstrap).
:func:`value_matrix` is the (points, seeds) layout shared with
:mod:`ntkjam.analysis.generalization`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ntkjam.analysis.generalization_scaling import (
    MAX_HALF_WIDTH,
    PSI1_LIMIT,
    EnsembleEffect,
    ErrorScaling,
    PScaling,
    ensemble_effects,
    error_scaling,
    p_scaling,
)
from ntkjam.core.reprs import SummaryRepr

__all__ = ["EXCLUDE", "EnsembleEffect", "ErrorScaling", "MAX_HALF_WIDTH", "PSI1_LIMIT",
           "PScaling", "TheoryComparison", "TheoryCurve", "ensemble_effects", "error_scaling",
           "p_scaling", "theory_comparisons", "theory_curves", "value_matrix"]

#: Ridgeless theory points with |ln φ| below this are left out of the comparison.
EXCLUDE = 0.25


def value_matrix(g, column: str) -> tuple[np.ndarray, np.ndarray]:
    """``(phi, values)`` of one size's rows: φ per point (k,), values (k, seeds).

    Seeds in increasing order, NaN where a task is missing or stored no value.

    Parameters
    ----------
    g : pandas.DataFrame
        Rows of one size, with columns ``seed``, ``phi_x`` and ``column``.
    column : str

    Returns
    -------
    phi : numpy.ndarray, shape (k,)
        The distinct φ, increasing.
    values : numpy.ndarray, shape (k, s)
        ``values[i, j]``: the value at ``phi[i]`` of the j-th seed.

    Examples
    --------
    >>> import pandas as pd
    >>> from ntkjam.analysis.generalization_theory import value_matrix
    >>> g = pd.DataFrame({"seed": [1, 0, 0], "phi_x": [0.5, 0.5, 2.0],
    ...                   "test_error": [0.2, 0.1, 0.3]})
    >>> phi, V = value_matrix(g, "test_error")
    >>> phi.tolist(), V.tolist()  # seed 1 has no task at φ = 2
    ([0.5, 2.0], [[0.1, 0.2], [0.3, nan]])
    """
    seeds = np.sort(g["seed"].unique())
    col = {s: j for j, s in enumerate(seeds)}
    pts = sorted(g["phi_x"].unique())
    row = {v: i for i, v in enumerate(pts)}
    V = np.full((len(pts), seeds.size), np.nan)
    for s, ph, v in zip(g["seed"], g["phi_x"], g[column], strict=True):
        V[row[ph], col[s]] = np.nan if v is None else float(v)
    return np.asarray(pts, dtype=float), V


@dataclass(frozen=True, repr=False)
class TheoryComparison(SummaryRepr):
    """The members' mean test error against the theory stored with the tasks.

    ``rel_dev = measured/theory − 1``, ``z = (measured − theory)/sem``; ``included``
    marks the points outside the ridgeless divergence (|ln φ| ≥ :data:`EXCLUDE`);
    ``max_abs_rel_dev`` is over them.  The test error is ``risk + noise``:
    ``risk_rel_dev`` (and ``max_abs_risk_dev``) compare the risks, without the label
    noise that both sides share.

    Attributes
    ----------
    name, group : str
        The theory (``"hastie"``, ``"mei_montanari"``, ``"spectral"``) and ``"P"`` or ``"N"``.
    size : int
    phi, measured, sem, theory, rel_dev, z, risk_rel_dev : numpy.ndarray, shape (k,)
    included : numpy.ndarray of bool, shape (k,)
    max_abs_rel_dev, max_abs_risk_dev : float

    Examples
    --------
    Made by :func:`theory_comparisons`; ridgeless linear regression at P = 20: the point
    at φ = 1.1, inside the divergence at the threshold, is left out:

    >>> import tempfile
    >>> from ntkjam import sweep
    >>> from ntkjam.experiments.generalization import generalization_spec
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     spec = generalization_spec(P=[20], phi_max=3.0, phi_num=5, seeds=3, output=tmp,
    ...                                task="regression_mse", epsilon=0.0, source="linear")
    ...     directory = sweep.run(spec).directory
    ...     df = sweep.load(directory).assign(size=lambda t: t.P, phi_x=lambda t: t.n / t.n_params)
    >>> from ntkjam.analysis.generalization_theory import theory_comparisons
    >>> (c,) = theory_comparisons(df, "P")
    >>> c.name, c.phi.tolist(), c.included.tolist()
    ('hastie', [0.5, 1.1, 1.75, 2.4, 3.0], [True, False, True, True, True])
    """

    name: str
    group: str
    size: int
    phi: np.ndarray
    measured: np.ndarray
    sem: np.ndarray
    theory: np.ndarray
    rel_dev: np.ndarray
    z: np.ndarray
    included: np.ndarray
    max_abs_rel_dev: float
    risk_rel_dev: np.ndarray
    max_abs_risk_dev: float


@dataclass(frozen=True, repr=False)
class TheoryCurve(SummaryRepr):
    """A theory's test error on a fine φ grid at one size (for the figures).

    Attributes
    ----------
    name, group : str
    size : int
    phi, test_error : numpy.ndarray, shape (m,)

    Examples
    --------
    Made by :func:`theory_curves`; by hand, Hastie et al.'s ridgeless risk, whose test
    error above the threshold is σ²(1 + 1/(φ − 1)):

    >>> import numpy as np
    >>> from ntkjam.analysis.generalization_theory import TheoryCurve
    >>> from ntkjam.theory.linear_ridge import linear_ridge_risk
    >>> phi = np.array([2.0, 3.0])
    >>> risk = linear_ridge_risk(phi, 0.0, noise=0.25)
    >>> curve = TheoryCurve("hastie", "P", 100, phi, risk.test_error)
    >>> curve.test_error.round(6).tolist()
    [0.5, 0.375]
    """

    name: str
    group: str
    size: int
    phi: np.ndarray
    test_error: np.ndarray


def theory_comparisons(df, group: str) -> list[TheoryComparison]:
    """The members' mean test error against ``theory_test_error``, per size and theory.

    Parameters
    ----------
    df : pandas.DataFrame
        Finished rows of a ``generalization`` table with ``size`` (the fixed P or N) and
        ``phi_x`` (n/n_params) added.
    group : str
        ``"P"`` or ``"N"``.

    Returns
    -------
    list of TheoryComparison
        Empty when the tasks stored no theory.

    Examples
    --------
    Ridgeless linear regression at P = 20, three seeds: away from φ = 1 the measured
    test error is within 10 % of Hastie et al.'s:

    >>> import tempfile
    >>> from ntkjam import sweep
    >>> from ntkjam.experiments.generalization import generalization_spec
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     spec = generalization_spec(P=[20], phi_max=3.0, phi_num=5, seeds=3, output=tmp,
    ...                                task="regression_mse", epsilon=0.0, source="linear")
    ...     directory = sweep.run(spec).directory
    ...     df = sweep.load(directory).assign(size=lambda t: t.P, phi_x=lambda t: t.n / t.n_params)
    >>> from ntkjam.analysis.generalization_theory import theory_comparisons
    >>> (c,) = theory_comparisons(df, "P")
    >>> c.name, bool(c.max_abs_rel_dev < 0.1)
    ('hastie', True)
    """
    if "theory" not in df.columns:
        return []
    out = []
    rows = df[df["theory"].fillna("").astype(str) != ""]
    for (size, name), g in rows.groupby(["size", "theory"], sort=True):
        phi, V = value_matrix(g, "mean_test_error")
        _, T = value_matrix(g, "theory_test_error")
        k = np.sum(np.isfinite(V), axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            measured = np.nanmean(V, axis=1)
            sem = np.where(k > 1, np.nanstd(V, axis=1, ddof=1) / np.sqrt(k), np.nan)
            theory = np.nanmean(T, axis=1)
            rel = measured / theory - 1
            z = (measured - theory) / sem
        ridgeless = float(g["ridge"].max()) == 0.0
        near = ridgeless & (name != "spectral") & (np.abs(np.log(phi)) < EXCLUDE)
        inc = np.isfinite(rel) & ~near
        noise = float(g["noise"].iloc[0]) if "noise" in g.columns else 0.0
        with np.errstate(invalid="ignore", divide="ignore"):
            risk_rel = (measured - noise) / (theory - noise) - 1
        out.append(TheoryComparison(
            name=str(name), group=group, size=int(size), phi=phi, measured=measured, sem=sem,
            theory=theory, rel_dev=rel, z=z, included=inc,
            max_abs_rel_dev=float(np.max(np.abs(rel[inc]))) if inc.any() else math.nan,
            risk_rel_dev=risk_rel,
            max_abs_risk_dev=float(np.max(np.abs(risk_rel[inc]))) if inc.any() else math.nan))
    return out


def _spectral_curve(directory: Path, g, P: int, phi: np.ndarray, s: dict) -> np.ndarray:
    """The spectral test error at N = φ P from the Funk–Hecke arrays a task stored."""
    from ntkjam.sweep import load_arrays
    from ntkjam.theory.learning_curves import kernel_learning_curve

    row = g.iloc[0]
    arrays = load_arrays(directory, row["hash"])
    mu, mult = arrays["fh_eigenvalues"], arrays["fh_multiplicities"]
    power = np.zeros_like(mu)
    power[1] = s["signal"]
    n = phi * P
    return kernel_learning_curve(mu, power, n, n * s["ridge"], multiplicities=mult,
                                 noise=s["noise"], tail_trace=float(row["tail_trace"])).test_error


def theory_curves(directory: Path, df, group: str, settings: dict,
                  num: int = 200) -> list[TheoryCurve]:
    """The stored tasks' theories on a fine φ grid over the measured range, per size.

    Parameters
    ----------
    directory : Path
        The run directory (the spectral theory reads the Funk–Hecke arrays stored there).
    df : pandas.DataFrame
        As for :func:`theory_comparisons`.
    group : str
        ``"P"`` or ``"N"``.
    settings : dict
        ``signal``, ``noise``, ``ridge`` (and ``d``, ``sigma_w`` for Mei–Montanari).
    num : int
        Points of each curve.

    Returns
    -------
    list of TheoryCurve
        Each of shape (num,).

    Examples
    --------
    The Hastie curve over the measured φ range 0.5–3; at φ = 3 it is 0.25 · 3/2:

    >>> import tempfile
    >>> from ntkjam import sweep
    >>> from ntkjam.experiments.generalization import generalization_spec
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     spec = generalization_spec(P=[20], phi_max=3.0, phi_num=5, seeds=3, output=tmp,
    ...                                task="regression_mse", epsilon=0.0, source="linear")
    ...     directory = sweep.run(spec).directory
    ...     df = sweep.load(directory).assign(size=lambda t: t.P, phi_x=lambda t: t.n / t.n_params)
    >>> from ntkjam.analysis.generalization_theory import theory_curves
    >>> (tc,) = theory_curves(directory, df, "P", {"signal": 1.0, "noise": 0.25, "ridge": 0.0})
    >>> tc.name, tc.phi.shape, float(tc.phi[0]), round(float(tc.test_error[-1]), 6)
    ('hastie', (200,), 0.5, 0.375)
    """
    if "theory" not in df.columns:
        return []
    from ntkjam.theory.linear_ridge import linear_ridge_risk
    from ntkjam.theory.random_features import random_features_risk

    s = settings
    kw = {"signal": s["signal"], "noise": s["noise"]}
    out = []
    rows = df[df["theory"].fillna("").astype(str) != ""]
    for (size, name), g in rows.groupby(["size", "theory"], sort=True):
        phi = np.linspace(float(g["phi_x"].min()), float(g["phi_x"].max()), num)
        if name == "hastie":
            y = linear_ridge_risk(phi, s["ridge"], **kw).test_error
        elif name == "mei_montanari":
            d, lam = float(s["d"]), s["ridge"] * float(s["d"]) / s["sigma_w"] ** 4
            psi1 = size / d if group == "P" else size / (phi * d)
            psi2 = phi * psi1
            y = random_features_risk(psi1, psi2, lam, **kw).test_error
        elif name == "spectral" and group == "P":
            y = _spectral_curve(directory, g, int(size), phi, s)
        else:
            continue
        y = np.where(np.isfinite(y), y, np.nan)
        out.append(TheoryCurve(name=str(name), group=group, size=int(size), phi=phi,
                               test_error=np.asarray(y, dtype=float)))
    return out
