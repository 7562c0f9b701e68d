"""The theories of a ``generalization`` store, against its measurements (read only).

The tasks of :mod:`ntkjam.experiments.generalization` store the theory that applies to
them (``theory``, ``theory_test_error``): Hastie et al. (``linear``), Mei–Montanari
(``relu_features``), the spectral theory of kernel regression (``ntk_kernel``, fed with
the Funk–Hecke eigenvalues the task stored as arrays), for ``regression_mse`` with
f0 = 0.  :func:`theory_comparisons` measures the relative deviation of the members'
mean test error from it; :func:`theory_curves` evaluates the same theories on a fine φ
grid (:mod:`ntkjam.theory`) for the figures.  :func:`value_matrix` is the (points, seeds)
layout shared with :mod:`ntkjam.analysis.generalization`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ntkjam.core.reprs import SummaryRepr

__all__ = ["EXCLUDE", "TheoryComparison", "TheoryCurve", "theory_comparisons", "theory_curves",
           "value_matrix"]

#: Ridgeless theory points with |ln φ| below this are left out of the comparison.
EXCLUDE = 0.25


def value_matrix(g, column: str) -> tuple[np.ndarray, np.ndarray]:
    """``(phi, values)`` of one size's rows: φ per point (k,), values (k, seeds).

    Seeds in increasing order, NaN where a task is missing or stored no value.
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
    """A theory's test error on a fine φ grid at one size (for the figures)."""

    name: str
    group: str
    size: int
    phi: np.ndarray
    test_error: np.ndarray


def theory_comparisons(df, group: str) -> list[TheoryComparison]:
    """The members' mean test error against ``theory_test_error``, per size and theory."""
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
    """The stored tasks' theories on a fine φ grid over the measured range, per size."""
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
