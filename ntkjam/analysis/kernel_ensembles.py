"""Ensemble averages of the empirical NTK against the ensemble size, from the store of
``kernel_fluctuations`` (read only; no physics is recomputed).

Each task of :func:`ntkjam.experiments.fluctuations.kernel_fluctuations` with
``n_ens ≥ 2`` stores, as arrays, the distance ``‖K̄_m − K_∞‖_F/‖K_∞‖_F`` of the average
K̄_m of its first m networks (m = 1 … n_ens) and the random part
``‖K̄_m^A − K̄_m^B‖_F/(√2 ‖K_∞‖_F)`` of two disjoint ensembles of m (m ≤ n_ens/2).

* :func:`ensemble_laws` — per (depth, width, N, n_ens): both against m (root mean square
  over seeds, fits against m^{−1/2}), with the bias ‖E K_n − K_∞‖ (:class:`EnsembleLaw`);
* :func:`ensemble_scaling` — the random parts of all widths and sizes at one
  (depth, N) in one fit, ``R ∝ n^a m^b`` against a = b = −1/2 (:class:`EnsembleScaling`).

Both enter :func:`ntkjam.analysis.fluctuations.analyze_fluctuations`, which re-exports
them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from ntkjam.analysis.power_law import (
    Z95,
    PowerLawFit,
    chi2_check,
    exponent_verdict,
    power_law_fit,
)
from ntkjam.analysis.stats import positive_errors, standard_error, wls
from ntkjam.core.reprs import SummaryRepr
from ntkjam.sweep import load_arrays

__all__ = ["EnsembleLaw", "EnsembleScaling", "ensemble_laws", "ensemble_scaling"]


@dataclass(frozen=True, repr=False)
class EnsembleLaw(SummaryRepr):
    """Ensemble averages K̄_m of m networks at one (depth, width, N, n_ens).

    Attributes
    ----------
    depth, width, n, n_ens, n_seeds : int
    sizes, distance, distance_err : ndarray, shape (n_ens,)
        m and ‖K̄_m − K_∞‖_F/‖K_∞‖_F (root mean square over seeds, its error):
        E of its square is ‖E K_n − K_∞‖²/‖K_∞‖² + S²/m.
    pair_sizes, random_part, random_part_err : ndarray, shape (n_ens//2,)
        m and ‖K̄_m^A − K̄_m^B‖_F/(√2 ‖K_∞‖_F) (RMS over seeds): the random part of
        K̄_m, no bias; E of its square is S²/m exactly.
    distance_fit, random_fit : PowerLawFit or None
        Both against m (hypothesis n_ens^-1/2), the interval the larger of the fit's
        and a jackknife over seeds; None below 3 sizes.
    bias_sq, bias_sq_err : float
        ‖E K_n − K_∞‖_F²/‖K_∞‖_F² (unbiased estimate, may be negative) and its error.
    amplitude : float
        c in random part ≈ c/√(n · m): the m = 1 random part times √width.
    random_part_seeds : ndarray, shape (n_seeds, n_ens//2)
        The random part of every seed (for the jackknife of the joint fit).

    Examples
    --------
    Made by :func:`ensemble_laws`; at depth 1 without bias K_n is unbiased, so the
    estimate of ‖E K_n − K_∞‖² is consistent with 0:

    >>> import tempfile
    >>> from ntkjam import sweep
    >>> from ntkjam.analysis.fluctuations import analyze_fluctuations
    >>> from ntkjam.experiments.fluctuations import fluctuation_spec
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     spec = fluctuation_spec(depths=[1], widths=[8, 16, 32], n=[4], seeds=3, n_ens=6,
    ...                             output=tmp + "/run")
    ...     analysis = analyze_fluctuations(sweep.run(spec).directory)
    >>> law = analysis.ensembles[0]
    >>> law.width, law.sizes.tolist(), law.pair_sizes.tolist(), law.random_part_seeds.shape
    (8, [1, 2, 3, 4, 5, 6], [1, 2, 3], (3, 3))
    >>> bool(abs(law.bias_sq) < 4 * law.bias_sq_err)
    True
    """

    depth: int
    width: int
    n: int
    n_ens: int
    n_seeds: int
    sizes: np.ndarray
    distance: np.ndarray
    distance_err: np.ndarray
    pair_sizes: np.ndarray
    random_part: np.ndarray
    random_part_err: np.ndarray
    distance_fit: PowerLawFit | None
    random_fit: PowerLawFit | None
    bias_sq: float
    bias_sq_err: float
    amplitude: float
    random_part_seeds: np.ndarray


def _stack(directory, hashes, name: str) -> np.ndarray:
    return np.array([load_arrays(directory, h)[name] for h in hashes])


def _rms(V: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Root mean square over seeds (rows) and its delta-method error."""
    sq = V**2
    rms = np.sqrt(sq.mean(axis=0))
    return rms, sq.std(axis=0, ddof=1) / math.sqrt(len(V)) / (2 * rms)


def _ensemble_fit(m, V, group, quantity) -> PowerLawFit | None:
    """RMS over seeds vs m; the sizes share networks, so the interval is the larger of the
    fit's and a jackknife over seeds."""
    if m.size < 3:
        return None
    hyp = {"n_ens^-1/2": -0.5}
    f = power_law_fit(m, *_rms(V), quantity=quantity, variable="n_ens", group=group,
                      hypotheses=hyp)
    k = len(V)
    loo = [power_law_fit(m, *_rms(np.delete(V, i, axis=0)), quantity=quantity).exponent
           for i in range(k)]
    jk = math.sqrt((k - 1) / k * float(np.sum((np.array(loo) - np.mean(loo)) ** 2)))
    if jk <= f.exponent_err:
        return f
    lo, hi = f.exponent - Z95 * jk, f.exponent + Z95 * jk
    return replace(f, exponent_err=jk, ci_low=lo, ci_high=hi,
                   verdict=exponent_verdict(lo, hi, hyp),
                   note=(f.note + "; " if f.note else "") + "interval from a jackknife over "
                   "seeds (the ensemble sizes share networks)")


def ensemble_laws(df: Any, directory: str | Path) -> list[EnsembleLaw]:
    """One :class:`EnsembleLaw` per (depth, width, N, n_ens ≥ 2) with ≥ 3 seeds.

    Parameters
    ----------
    df : pandas.DataFrame
        The finished rows of a ``kernel_fluctuations`` table (with ``n_ens``,
        ``bias_sq`` and ``hash``).
    directory : str or Path
        Its run directory (the per-task arrays ``ensemble_rel_frobenius``, shape
        (n_ens,), and ``pair_rel_frobenius``, shape (n_ens//2,)).

    Returns
    -------
    list of EnsembleLaw
        Empty when the table has no ``n_ens``.

    Examples
    --------
    Averaging more networks brings K̄ closer to K_∞:

    >>> import tempfile
    >>> from ntkjam import sweep
    >>> from ntkjam.analysis.kernel_ensembles import ensemble_laws
    >>> from ntkjam.experiments.fluctuations import fluctuation_spec
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     spec = fluctuation_spec(depths=[1], widths=[8, 16, 32], n=[4], seeds=3, n_ens=6,
    ...                             output=tmp + "/run")
    ...     directory = sweep.run(spec).directory
    ...     laws = ensemble_laws(sweep.load(directory), directory)
    >>> [law.width for law in laws], all(law.distance[-1] < law.distance[0] for law in laws)
    ([8, 16, 32], True)
    """
    out = []
    if "n_ens" not in df.columns:
        return out
    for (depth, width, n, n_ens), g in df.groupby(["depth", "width", "n", "n_ens"], sort=True):
        if n_ens < 2 or len(g) < 3:
            continue
        D = _stack(directory, g["hash"], "ensemble_rel_frobenius")
        R = _stack(directory, g["hash"], "pair_rel_frobenius")
        m, mp = np.arange(1, D.shape[1] + 1), np.arange(1, R.shape[1] + 1)
        b = g["bias_sq"].to_numpy(dtype=float)
        label = f"depth {depth}, width {width}, N = {n}"
        rm, re = _rms(R)
        out.append(EnsembleLaw(
            int(depth), int(width), int(n), int(n_ens), len(g), m, *_rms(D), mp, rm, re,
            _ensemble_fit(m, D, label, "ens_rel_frobenius"),
            _ensemble_fit(mp, R, label, "pair_rel_frobenius"),
            float(b.mean()), standard_error(b), float(rm[0] * math.sqrt(width)), R))
    return out


@dataclass(frozen=True, repr=False)
class EnsembleScaling(SummaryRepr):
    """The random part of K̄ over every width n and ensemble size m at one (depth, N):
    ``R = amplitude · n^width_exponent · m^ens_exponent`` (weighted log fit; errors the
    larger of the fit's and a jackknife over seeds).

    ``verdict``: ``"consistent with (n·n_ens)^-1/2"`` when both intervals hold −1/2,
    ``"excludes (n·n_ens)^-1/2"`` when one excludes it, else ``"undetermined"``.

    Examples
    --------
    Made by :func:`ensemble_scaling`; three seeds of six networks are too few to decide:

    >>> import tempfile
    >>> from ntkjam import sweep
    >>> from ntkjam.analysis.fluctuations import analyze_fluctuations
    >>> from ntkjam.experiments.fluctuations import fluctuation_spec
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     spec = fluctuation_spec(depths=[1], widths=[8, 16, 32], n=[4], seeds=3, n_ens=6,
    ...                             output=tmp + "/run")
    ...     analysis = analyze_fluctuations(sweep.run(spec).directory)
    >>> (joint,) = analysis.ensemble_scaling
    >>> joint.verdict, joint.depth, joint.n, joint.dof
    ('undetermined', 1, 4, 6)
    """

    verdict: str
    depth: int
    n: int
    width_exponent: float
    width_exponent_err: float
    ens_exponent: float
    ens_exponent_err: float
    amplitude: float
    chi2: float
    dof: int
    p_value: float
    note: str = ""


def _joint_fit(es: list[EnsembleLaw], drop: int | None = None):
    """WLS of log R on (1, log n, log m) over the laws ``es``, seed ``drop`` left out."""
    rows = []
    for e in es:
        V = e.random_part_seeds if drop is None else np.delete(e.random_part_seeds, drop, 0)
        r, err = _rms(V)
        rows += [(e.width, m, ri, ei) for m, ri, ei in zip(e.pair_sizes, r, err, strict=True)
                 if ri > 0]
    w, m, r, err = (np.array(c, dtype=float) for c in zip(*rows, strict=True))
    X = np.column_stack([np.ones_like(w), np.log(w), np.log(m)])
    beta, cov, chi2 = wls(X, np.log(r), positive_errors(err, r) / r)
    return beta, cov, chi2, w.size - 3


def ensemble_scaling(laws: list[EnsembleLaw]) -> list[EnsembleScaling]:
    """Joint fits of the random parts of the laws sharing (depth, N) (≥ 2 widths, ≥ 2 m).

    The errors are the larger of the fit's and a jackknife over seeds (all sizes of one
    law share its networks).

    Parameters
    ----------
    laws : list of EnsembleLaw

    Returns
    -------
    list of EnsembleScaling
        One per (depth, N) with ≥ 2 widths and ≥ 2 ensemble sizes, in increasing order.

    Examples
    --------
    The random parts of 3 widths × 3 pair sizes: 9 points, 3 parameters:

    >>> import tempfile
    >>> from ntkjam import sweep
    >>> from ntkjam.analysis.kernel_ensembles import ensemble_laws, ensemble_scaling
    >>> from ntkjam.experiments.fluctuations import fluctuation_spec
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     spec = fluctuation_spec(depths=[1], widths=[8, 16, 32], n=[4], seeds=3, n_ens=6,
    ...                             output=tmp + "/run")
    ...     directory = sweep.run(spec).directory
    ...     laws = ensemble_laws(sweep.load(directory), directory)
    >>> [(s.depth, s.n, s.dof, bool(s.width_exponent < 0)) for s in ensemble_scaling(laws)]
    [(1, 4, 6, True)]
    """
    groups: dict[tuple[int, int], list[EnsembleLaw]] = {}
    for e in laws:
        groups.setdefault((e.depth, e.n), []).append(e)
    out = []
    for (depth, n), es in sorted(groups.items()):
        if len({e.width for e in es}) < 2 or max(e.pair_sizes.size for e in es) < 2:
            continue
        k = min(e.n_seeds for e in es)
        es = [replace(e, random_part_seeds=e.random_part_seeds[:k]) for e in es]
        beta, cov, chi2, dof = _joint_fit(es)
        p, scale, note = chi2_check(chi2, dof)
        loo = np.array([_joint_fit(es, i)[0] for i in range(k)])
        jk = np.sqrt((k - 1) / k * np.sum((loo - loo.mean(axis=0)) ** 2, axis=0))
        errs = np.maximum(np.sqrt(np.diag(cov)) * scale, jk)
        words = [exponent_verdict(b - Z95 * e_, b + Z95 * e_, {"-1/2": -0.5})
                 for b, e_ in zip(beta[1:], errs[1:], strict=True)]
        verdict = ("consistent with (n·n_ens)^-1/2" if all(v.startswith("consistent")
                                                          for v in words)
                   else "excludes (n·n_ens)^-1/2" if any(v.startswith("excludes")
                                                         for v in words)
                   else "undetermined")
        out.append(EnsembleScaling(verdict, depth, n, float(beta[1]), float(errs[1]),
                                   float(beta[2]), float(errs[2]), float(math.exp(beta[0])),
                                   float(chi2), dof, p, note))
    return out

