"""Jamming on the sphere: isostaticity and the critical exponents, from a run directory.

Reads a ``sphere_jamming`` store (one row per instance: κ_J, N_Δ, rank, and the gaps
and forces of the last UNSAT minimum just above jamming).  Per jamming point (source,
P, and the ``margin`` or ``phi`` that set it), pooling its instances:

* N_Δ/rank at jamming (N_Δ counting the points within the tolerance band, see
  :class:`SphereJammingPoint`) with a 95 % t-interval over instances, and the verdict
  ``"isostatic"`` only when that interval lies within ``1 ± tolerance``
  (``"hypostatic"`` / ``"hyperstatic"`` when it lies wholly beyond, ``"undetermined"``
  otherwise);
* γ from the gaps, ``g(h) ∝ h^{−γ}`` as h → 0, and θ from the forces normalised by
  their instance's mean, ``P(f) ∝ f^{θ}`` as f → 0, both by the maximum-likelihood fit
  of :func:`ntkjam.analysis.power_law_tail` on the smallest ``tail_fraction`` of the
  pooled values (its CDF there is ``(x/x_max)^{1+θ}``: the cumulative of h^{−γ} goes
  as h^{1−γ}), with the analytic error and a 95 % interval (bootstrap over instances,
  widened to the analytic one where that is wider),
  against the theory γ = 0.41269, θ = 0.42311 (Charbonneau, Kurchan, Parisi, Urbani,
  Zamponi 2014; the perceptron: Franz, Parisi, Sevelev, Urbani, Zamponi 2017);
* κ_J (mean ± standard error) against κ_RS(φ), the RS bound (κ_J ≤ κ_RS as P → ∞
  for κ < 0; exact for κ ≥ 0, the convex case, which is not critical: γ = θ = 0).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ntkjam.analysis.critical_fits import (
    ExponentFit,
    empirical_cdf,
    fit_exponent,
    isostaticity_interval,
    within_verdict,
)
from ntkjam.analysis.tables import jsonable, load_run
from ntkjam.core.reprs import SummaryRepr

__all__ = [
    "GAMMA_THEORY",
    "THETA_THEORY",
    "SphereJammingAnalysis",
    "SphereJammingPoint",
    "analyze_sphere_jamming",
    "rs_jamming_line",
    "summary_lines",
]

#: The gap exponent of jamming (hard spheres in infinite dimension; the perceptron).
GAMMA_THEORY = 0.41269
#: The force exponent of the extended contacts.
THETA_THEORY = 0.42311


def rs_jamming_line(margin_min: float, margin_max: float, num: int = 200):
    """The RS capacity line ``(φ, κ)``: ``φ = α_RS(κ) = 1/I(κ)`` on a grid of κ.

    Parameters
    ----------
    margin_min, margin_max : float
        The κ range (negative margins allowed: there the line is an upper bound).
    num : int
        Grid points.

    Returns
    -------
    phi, kappa : numpy.ndarray, shape (num,)
        ``kappa = linspace(margin_min, margin_max, num)`` and its capacity α_RS(κ).

    Examples
    --------
    Gardner's capacity is 2 at κ = 0; a negative margin raises it:

    >>> from ntkjam.analysis.jamming_critical import rs_jamming_line
    >>> phi, kappa = rs_jamming_line(-0.5, 0.5, 3)
    >>> kappa.tolist(), phi.round(4).tolist()
    ([-0.5, 0.0, 0.5], [4.7701, 2.0, 0.9612])
    """
    from ntkjam.theory import rs_unsat_spherical

    k = np.linspace(margin_min, margin_max, num)
    phi = np.asarray(rs_unsat_spherical(1.0, k, allow_negative_margin=True).phi_c, float)
    return phi, k


@dataclass(frozen=True, repr=False)
class SphereJammingPoint(SummaryRepr):
    """One jamming point (source, P and the margin or φ that set it), its instances pooled.

    Attributes
    ----------
    source : str
    d : int or None
        Input dimension of the source (None for Gaussian features).
    P : int
    setting : str
        ``"margin"`` (φ = α_RS(κ)) or ``"phi"``: what the grid set.
    value : float
        Its value.
    convex : bool
        Mean κ_J ≥ 0 (the convex side: jamming not critical).
    n_instances : int
    phi_eff, rank : float
        Mean N/rank and rank.
    kappa_j, kappa_j_sem : float
        Mean κ_J and its standard error.
    kappa_rs : float
        κ_RS(φ) (mean over instances): the RS bound on κ_J.
    isostaticity, iso_low, iso_high : float
        Mean ``(N_Δ + N_0)/rank`` at jamming and its 95 % t-interval: N_Δ the violated
        points, N_0 those within the tolerance band (|Δ| ≤ 1e-9 |κ|, a force or a gap
        too small to tell from 0: at jamming both touch).
    unsat_per_rank : float
        Mean N_Δ/rank alone.
    isostatic : str
        :func:`within_verdict` of that interval.
    gamma, theta : ExponentFit
    wall_time : float
        Mean seconds per instance (the whole compression).
    gap_x, gap_cdf, force_x, force_cdf : numpy.ndarray
        The pooled empirical CDFs (gaps; forces over their instance's mean), each of
        shape (m,) (:func:`~ntkjam.analysis.critical_fits.empirical_cdf`).

    Examples
    --------
    Made by :func:`analyze_sphere_jamming`; two instances at P = 10, κ = −0.5 (φ =
    α_RS(κ) ≈ 4.8): the jammed minimum is isostatic, N_Δ = rank:

    >>> import tempfile
    >>> from ntkjam import sweep
    >>> from ntkjam.analysis.jamming_critical import analyze_sphere_jamming
    >>> from ntkjam.experiments.sphere_jamming import sphere_jamming_spec
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     _ = sweep.run(sphere_jamming_spec(P=[10], margin=[-0.5], seeds=2, output=tmp + "/r"))
    ...     analysis = analyze_sphere_jamming(tmp + "/r", n_boot=0)
    >>> (point,) = analysis.points
    >>> point.label, point.convex, point.n_instances, point.phi_eff
    ('gaussian, P = 10, margin = -0.5', False, 2, 4.8)
    >>> point.isostaticity, point.isostatic
    (1.0, 'isostatic')
    """

    source: str
    d: int | None
    P: int
    setting: str
    value: float
    convex: bool
    n_instances: int
    phi_eff: float
    rank: float
    kappa_j: float
    kappa_j_sem: float
    kappa_rs: float
    isostaticity: float
    iso_low: float
    iso_high: float
    unsat_per_rank: float
    isostatic: str
    gamma: ExponentFit
    theta: ExponentFit
    wall_time: float
    gap_x: np.ndarray
    gap_cdf: np.ndarray
    force_x: np.ndarray
    force_cdf: np.ndarray

    @property
    def label(self) -> str:
        """The point in words: source (and d), P, and the setting with its value.

        Examples
        --------
        >>> import tempfile
        >>> from ntkjam import sweep
        >>> from ntkjam.analysis.jamming_critical import analyze_sphere_jamming
        >>> from ntkjam.experiments.sphere_jamming import sphere_jamming_spec
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     spec = sphere_jamming_spec(P=[10], margin=[-0.5], seeds=2, output=tmp + "/r")
        ...     _ = sweep.run(spec)
        ...     analysis = analyze_sphere_jamming(tmp + "/r", n_boot=0)
        >>> analysis.points[0].label
        'gaussian, P = 10, margin = -0.5'
        """
        src = self.source if self.d is None else f"{self.source} (d = {self.d})"
        return f"{src}, P = {self.P}, {self.setting} = {self.value:g}"


@dataclass(frozen=True, repr=False)
class SphereJammingAnalysis(SummaryRepr):
    """The jamming points of a ``sphere_jamming`` run directory.

    Attributes
    ----------
    directory : str
    points : tuple of SphereJammingPoint
        Sorted by source, setting, value, P.
    n_failed : int
        Tasks stored as failed (left out).
    tolerance : float
        Of the isostatic verdict.
    gap_fraction, force_fraction : float
        The tops of the γ and θ fit windows (quantiles).
    gap_lower, force_lower : float
        Their bottoms (quantiles; 0: from 0).
    rs_phi, rs_kappa : numpy.ndarray, shape (200,)
        The RS capacity line over the measured κ range.

    Examples
    --------
    Made by :func:`analyze_sphere_jamming` (one jamming point here); ``to_dict()`` is
    JSON-ready:

    >>> import tempfile
    >>> from ntkjam import sweep
    >>> from ntkjam.analysis.jamming_critical import analyze_sphere_jamming
    >>> from ntkjam.experiments.sphere_jamming import sphere_jamming_spec
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     _ = sweep.run(sphere_jamming_spec(P=[10], margin=[-0.5], seeds=2, output=tmp + "/r"))
    ...     analysis = analyze_sphere_jamming(tmp + "/r", n_boot=0)
    >>> len(analysis.points), analysis.n_failed, analysis.rs_phi.shape
    (1, 0, (200,))
    >>> import json; json.loads(json.dumps(analysis.to_dict()))["points"][0]["isostatic"]
    'isostatic'
    """

    directory: str
    points: tuple
    n_failed: int
    tolerance: float
    gap_fraction: float
    force_fraction: float
    gap_lower: float
    force_lower: float
    rs_phi: np.ndarray
    rs_kappa: np.ndarray

    def to_dict(self) -> dict:
        """A JSON-ready dict (arrays as lists, NaN as None).

        Each point's γ and θ fits are written with their window instead of the tail.

        Examples
        --------
        Two instances are too few for a γ fit, so its values are null:

        >>> import tempfile
        >>> from ntkjam import sweep
        >>> from ntkjam.analysis.jamming_critical import analyze_sphere_jamming
        >>> from ntkjam.experiments.sphere_jamming import sphere_jamming_spec
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     spec = sphere_jamming_spec(P=[10], margin=[-0.5], seeds=2, output=tmp + "/r")
        ...     _ = sweep.run(spec)
        ...     analysis = analyze_sphere_jamming(tmp + "/r", n_boot=0)
        >>> import json; point = json.loads(json.dumps(analysis.to_dict()))["points"][0]
        >>> point["gamma"]["value"], sorted(point["gamma"]["window"])
        (None, ['decades', 'ks_pvalue', 'n_tail', 'x_max', 'x_min'])
        """
        def point(p: SphereJammingPoint) -> dict:
            out = {k: getattr(p, k) for k in p.__dataclass_fields__
                   if k not in ("gamma", "theta")}
            for fit in (p.gamma, p.theta):
                out[fit.name] = {k: getattr(fit, k) for k in fit.__dataclass_fields__
                                 if k != "tail"}
                x_min = (fit.tail.x_max * 10 ** -fit.tail.decades if fit.lower_fraction > 0
                         else 0.0)
                out[fit.name]["window"] = {"x_min": x_min, "x_max": fit.tail.x_max,
                                           "n_tail": fit.tail.n_tail,
                                           "decades": fit.tail.decades,
                                           "ks_pvalue": fit.tail.ks_pvalue}
            return out

        return jsonable({
            "directory": self.directory, "n_failed": self.n_failed,
            "tolerance": self.tolerance, "gap_fraction": self.gap_fraction,
            "force_fraction": self.force_fraction, "gap_lower": self.gap_lower,
            "force_lower": self.force_lower,
            "points": [point(p) for p in self.points],
        })


def _input_dim(row) -> int | None:
    if row.get("source") == "gaussian":
        return None
    per = row.get("d_per_P")
    if per is not None and np.isfinite(float(per)):
        return max(2, round(float(per) * int(row["P"])))
    return int(row["d"])


def _point(directory: Path, rows, setting: str, value: float, *, tolerance: float,
           windows: tuple, n_boot: int, seed: int):
    from ntkjam.sweep import load_arrays

    first = rows.iloc[0].to_dict()
    gaps, forces = [], []
    for key in rows["hash"]:
        arr = load_arrays(directory, key)
        gaps.append(np.asarray(arr["gaps"], dtype=float))
        f = np.asarray(arr["forces"], dtype=float)
        forces.append(f / f.mean() if f.size else f)
    # Contacts at jamming: the violated points and those within the tolerance band (a
    # force, or a gap, below ~1e-9 |κ|: at jamming both count as touching).
    touching = rows["n_unsat"].to_numpy(float) + rows["n_contacts"].to_numpy(float)
    m, lo, hi = isostaticity_interval(touching / rows["rank"].to_numpy(float))
    kj = rows["kappa_j"].to_numpy(float)
    gx, gF = empirical_cdf(np.concatenate(gaps))
    fx, fF = empirical_cdf(np.concatenate(forces))
    return SphereJammingPoint(
        source=str(first["source"]), d=_input_dim(first), P=int(first["P"]), setting=setting,
        value=float(value), convex=bool(kj.mean() >= 0), n_instances=len(rows),
        phi_eff=float(rows["phi_eff"].mean()), rank=float(rows["rank"].mean()),
        kappa_j=float(kj.mean()),
        kappa_j_sem=float(kj.std(ddof=1) / np.sqrt(kj.size)) if kj.size > 1 else float("nan"),
        kappa_rs=float(rows["kappa_rs"].mean()), isostaticity=m, iso_low=lo, iso_high=hi,
        unsat_per_rank=float(rows["isostaticity"].mean()),
        isostatic=within_verdict(lo, hi, tolerance=tolerance),
        gamma=fit_exponent(gaps, name="gamma", theory=GAMMA_THEORY, lower_fraction=windows[0],
                           tail_fraction=windows[1], negate=True, n_boot=n_boot, seed=seed),
        theta=fit_exponent(forces, name="theta", theory=THETA_THEORY, lower_fraction=windows[2],
                           tail_fraction=windows[3], negate=False, n_boot=n_boot, seed=seed),
        wall_time=float(rows["wall_time"].mean()) if "wall_time" in rows else float("nan"),
        gap_x=gx, gap_cdf=gF, force_x=fx, force_cdf=fF,
    )


def analyze_sphere_jamming(directory: str | Path, *, gap_fraction: float = 0.05,
                           force_fraction: float = 0.1, gap_lower: float = 0.002,
                           force_lower: float = 0.0, tolerance: float = 0.05,
                           n_boot: int = 400, seed: int = 0) -> SphereJammingAnalysis:
    """Every jamming point of a ``sphere_jamming`` run directory (see the module docstring).

    Parameters
    ----------
    directory : path
        The run directory.
    gap_fraction, force_fraction : float
        The tops of the γ / θ fit windows: quantiles of the pooled gaps / forces, in
        (0, 1].
    gap_lower, force_lower : float
        The bottoms of the windows (quantiles, below the tops; 0: from 0).  The default
        gap window, quantiles 0.002–0.05, leaves out the smallest gaps, which a finite
        system has fewer of than the power law (below h ≈ 1e-3 at P = 200, 1e-4 at
        P = 1000; see ``docs/jamming_sphere.md``); the force window is the smallest 10 %.
    tolerance : float
        Half-width around 1 of the isostatic verdict.
    n_boot : int
        Bootstrap resamples of the instances per exponent.
    seed : int
        Seed of the bootstraps.

    Returns
    -------
    SphereJammingAnalysis

    Raises
    ------
    ValueError
        Not a ``sphere_jamming`` store, or no finished task.

    Examples
    --------
    Two instances at P = 10, κ = −0.5: κ_J near the RS bound, and too few gaps and
    forces at this size for the exponents, which stay undetermined (NaN):

    >>> import tempfile
    >>> from ntkjam import sweep
    >>> from ntkjam.analysis.jamming_critical import analyze_sphere_jamming
    >>> from ntkjam.experiments.sphere_jamming import sphere_jamming_spec
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     _ = sweep.run(sphere_jamming_spec(P=[10], margin=[-0.5], seeds=2, output=tmp + "/r"))
    ...     analysis = analyze_sphere_jamming(tmp + "/r", n_boot=0)
    >>> p = analysis.points[0]
    >>> bool(abs(p.kappa_j - p.kappa_rs) < 0.1), p.gamma.tail.note
    (True, '76 values: too few for a window fit')
    """
    from ntkjam._validate import as_int, as_real

    for name, v in (("gap_fraction", gap_fraction), ("force_fraction", force_fraction)):
        v = as_real(name, v, positive=True)
        if v > 1:
            raise ValueError(f"{name} must be in (0, 1], got {v}")
    for name, v, top in (("gap_lower", gap_lower, gap_fraction),
                         ("force_lower", force_lower, force_fraction)):
        v = as_real(name, v, nonnegative=True)
        if v >= top:
            raise ValueError(f"{name} must be below the window's top {top}, got {v}")
    tolerance = as_real("tolerance", tolerance, positive=True)
    n_boot = as_int("n_boot", n_boot, minimum=0)
    directory = Path(directory)
    table, n_failed, _ = load_run(directory)
    experiment = str(table["experiment"].iloc[0]) if len(table) else ""
    if "kappa_j" not in table.columns or experiment != "sphere_jamming":
        raise ValueError(f"{str(directory)!r} is not a sphere_jamming run directory")
    df = table[table["status"] == "done"]
    if len(df) == 0:
        raise ValueError(f"{str(directory)!r} has no finished sphere_jamming task")
    setting = "phi" if "margin" not in df or df["margin"].isna().all() else "margin"
    points = []
    keys = [c for c in ("source", "d", "d_per_P", "P") if c in df.columns] + [setting]
    for key, rows in df.groupby(keys, sort=True, dropna=False):
        value = key[-1]
        points.append(_point(directory, rows, setting, value, tolerance=tolerance,
                             windows=(gap_lower, gap_fraction, force_lower, force_fraction),
                             n_boot=n_boot, seed=seed))
    k = np.array([p.kappa_j for p in points] + [p.kappa_rs for p in points])
    rs_phi, rs_kappa = rs_jamming_line(min(k.min(), 0.0) - 0.1, max(k.max(), 0.0) + 0.1)
    return SphereJammingAnalysis(str(directory), tuple(points), n_failed, tolerance,
                                 gap_fraction, force_fraction, gap_lower, force_lower,
                                 rs_phi, rs_kappa)


def _fit_words(fit: ExponentFit) -> str:
    sym = "γ" if fit.name == "gamma" else "θ"
    if not np.isfinite(fit.value):
        return f"{sym}: {fit.tail.note}"
    ci = (f"95 % CI [{fit.ci_low:.3f}, {fit.ci_high:.3f}]" if np.isfinite(fit.ci_low)
          else "no bootstrap")
    agree = "consistent with" if fit.consistent else "not consistent with"
    if fit.lower_fraction > 0:
        x_lo = fit.tail.x_max * 10 ** -fit.tail.decades
        where = (f"{fit.tail.n_tail} values in {x_lo:.3g} ≤ x ≤ {fit.tail.x_max:.3g}, "
                 f"quantiles {fit.lower_fraction:g}–{fit.tail_fraction:g}")
    else:
        where = (f"smallest {fit.tail.n_tail} values, x ≤ {fit.tail.x_max:.3g}, "
                 f"{fit.tail.decades:.1f} decades")
    return (f"{sym} = {fit.value:.3f} ± {fit.err:.3f} ({ci}; {where}) — {agree} "
            f"theory {fit.theory:.5f}")


def summary_lines(analysis: SphereJammingAnalysis) -> list[str]:
    """The printed summary: per jamming point κ_J, N_Δ/rank with its verdict, γ and θ.

    Parameters
    ----------
    analysis : SphereJammingAnalysis

    Returns
    -------
    list of str
        Five lines per jamming point, then one for failed tasks (if any).

    Examples
    --------
    >>> import tempfile
    >>> from ntkjam import sweep
    >>> from ntkjam.analysis.jamming_critical import analyze_sphere_jamming
    >>> from ntkjam.experiments.sphere_jamming import sphere_jamming_spec
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     _ = sweep.run(sphere_jamming_spec(P=[10], margin=[-0.5], seeds=2, output=tmp + "/r"))
    ...     analysis = analyze_sphere_jamming(tmp + "/r", n_boot=0)
    >>> from ntkjam.analysis.jamming_critical import summary_lines
    >>> lines = summary_lines(analysis)
    >>> print(lines[0]); print(lines[2])
    gaussian, P = 10, margin = -0.5 (non-convex, 2 instances, φ = N/rank = 4.800):
      N_Δ/rank = 1.0000, 95 % CI [1.0000, 1.0000]: isostatic (within ±0.05)
    """
    lines = []
    for p in analysis.points:
        side = "convex" if p.convex else "non-convex"
        lines.append(f"{p.label} ({side}, {p.n_instances} instances, φ = N/rank = "
                     f"{p.phi_eff:.3f}):")
        lines.append(f"  κ_J = {p.kappa_j:.4f} ± {p.kappa_j_sem:.4f}; RS bound κ_RS(φ) = "
                     f"{p.kappa_rs:.4f}")
        lines.append(f"  N_Δ/rank = {p.isostaticity:.4f}, 95 % CI [{p.iso_low:.4f}, "
                     f"{p.iso_high:.4f}]: {p.isostatic} (within ±{analysis.tolerance:g})")
        lines.append("  " + _fit_words(p.gamma))
        lines.append("  " + _fit_words(p.theta))
    if analysis.n_failed:
        lines.append(f"{analysis.n_failed} failed task(s) left out")
    return lines
