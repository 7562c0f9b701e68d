"""Figures of a phase diagram, drawn from :class:`ntkjam.analysis.PhaseDiagramAnalysis` only.

Matplotlib with the Agg backend (no display needed); nothing here recomputes
physics except the closed-form theory curves (Cover's probability).  Axes state the
convention: N = training points, P = features (parameters), φ = N/P.

* :func:`plot_sat_probability` — P(SAT) vs φ per P with binomial error bars and
  Cover's finite-size curves (N points in rank(J) dimensions) overlaid.
* :func:`plot_unsat_observables` — loss per sample and N_Δ/N vs φ (all instances,
  and the UNSAT ones alone, dashed), and N_Δ/rank over the UNSAT instances.
* :func:`plot_crossings` — φ_c(P) with bootstrap intervals against P^{−1/ν}, the
  finite-size-scaling line to φ_c(∞), and the width w(P).
* :func:`save_figures` — all three into a directory, returns the paths.
* Trained networks (:class:`ntkjam.analysis.TrainedDiagramAnalysis`):
  :func:`plot_trained_sat_probability` (P(SAT) vs φ per α against the lazy verdicts
  and Cover), :func:`plot_phi_c_alpha` (φ_c(α), bracketed by the runs out of
  budget), :func:`plot_trained_outcomes` (outcome fractions, kernel change) and
  :func:`save_trained_figures`.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from ntkjam.analysis import PhaseDiagramAnalysis, TrainedDiagramAnalysis  # noqa: E402

__all__ = [
    "cover_curve",
    "plot_crossings",
    "plot_phi_c_alpha",
    "plot_sat_probability",
    "plot_trained_outcomes",
    "plot_trained_sat_probability",
    "plot_unsat_observables",
    "save_figures",
    "save_trained_figures",
]

_CONVENTION = "N = training points, P = features, φ = N/P"


def _colors(k: int):
    cmap = plt.get_cmap("viridis")
    return [cmap(0.15 + 0.7 * i / max(k - 1, 1)) for i in range(k)]


def _no_data(ax, text: str) -> None:
    """Say on an empty panel why nothing is drawn."""
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, fontsize=9,
            color="0.4")
    ax.set_xticks([])
    ax.set_yticks([])


def _log_axes(ax, *, x=None, y=None) -> None:
    """Log scales only on the axes whose data have a positive finite value."""
    for values, set_scale in ((x, ax.set_xscale), (y, ax.set_yscale)):
        if values is None:
            continue
        v = np.asarray(values, dtype=float)
        if np.any(np.isfinite(v) & (v > 0)):
            set_scale("log")


def cover_curve(n_params: int, rank: int, phi_min: float, phi_max: float):
    """Cover's P(SAT) at every integer N with ``phi_min ≤ N/n_params ≤ phi_max``.

    Returns
    -------
    (phi, p) : tuple of numpy.ndarray
        φ = N/n_params and ``cover_probability(N, min(N, rank))``.
    """
    from ntkjam.theory import cover_probability

    n = np.arange(max(1, int(np.ceil(phi_min * n_params))), int(np.floor(phi_max * n_params)) + 1)
    p = np.array([cover_probability(int(v), int(min(v, rank))) for v in n])
    return n / n_params, p


def plot_sat_probability(a: PhaseDiagramAnalysis, ax=None):
    """P(SAT) vs φ per P, with Cover's curves (dashed) when they apply."""
    if ax is None:
        _, ax = plt.subplots(figsize=(6.4, 4.4))
    colors = _colors(len(a.sat))
    for c, col in zip(a.sat, colors, strict=True):
        yerr = np.clip([c.p_sat - c.lo, c.hi - c.p_sat], 0, None)
        ax.errorbar(c.phi, c.p_sat, yerr=yerr, fmt="o", ms=3.5,
                    color=col, capsize=2, lw=1, label=f"P = {c.n_params} (rank {c.rank})")
        phi_t, p_t = cover_curve(c.n_params, c.rank, float(c.phi.min()), float(c.phi.max()))
        ax.plot(phi_t, p_t, "--", color=col, lw=1.2, alpha=0.9 if a.cover_applies else 0.4)
    ax.axhline(0.5, color="0.6", lw=0.8)
    ax.axvline(2.0, color="0.6", lw=0.8, ls=":")
    ax.set_xlabel("φ = N/P")
    ax.set_ylabel("P(SAT)")
    what = "Cover (dashed)" if a.cover_applies else "Cover, for reference (dashed)"
    ax.set_title(f"SAT probability; {what}", fontsize=10)
    ax.legend(fontsize=8, frameon=False)
    ax.set_ylim(-0.03, 1.03)
    return ax


def plot_unsat_observables(a: PhaseDiagramAnalysis, axes=None):
    """Loss per sample and N_Δ/N vs φ (means over all instances), N_Δ/rank (UNSAT only)."""
    if axes is None:
        _, axes = plt.subplots(1, 3, figsize=(13, 3.9))
    colors = _colors(len(a.loss))
    for curves, ax, ylabel, unsat in (
        (a.loss, axes[0], "loss per sample at the minimum", False),
        (a.n_delta_frac, axes[1], "N_Δ / N", False),
        (a.isostaticity, axes[2], "N_Δ / rank (UNSAT instances)", True),
    ):
        for c, col in zip(curves, colors, strict=True):
            y = c.mean_unsat if unsat else c.mean
            e = c.sem_unsat if unsat else c.sem
            ax.errorbar(c.phi, y, yerr=np.abs(np.nan_to_num(e)), fmt="o-", ms=3, lw=1, color=col,
                        capsize=2, label=f"P = {c.P}")
            if not unsat:  # the UNSAT instances alone: the jump at φ_c
                ax.plot(c.phi, c.mean_unsat, "--", lw=0.9, color=col, alpha=0.8)
        ax.axvline(a.phi_c, color="0.5", lw=0.8, ls=":")
        ax.set_xlabel("φ = N/P")
        ax.set_ylabel(ylabel)
    axes[2].axhline(1.0, color="0.4", lw=0.8, ls="--")
    axes[0].legend(fontsize=8, frameon=False)
    axes[0].set_title("exact minimum: all instances (dots), UNSAT ones (dashed)", fontsize=10)
    return axes


def plot_crossings(a: PhaseDiagramAnalysis, axes=None):
    """φ_c(P) against P^{−1/ν} with the FSS extrapolation, and the width w(P)."""
    if axes is None:
        _, axes = plt.subplots(1, 2, figsize=(10, 3.9))
    cs = [c for c in a.crossings if np.isfinite(c.phi_c)]
    if not cs:  # all SAT or all UNSAT on the grid: nothing to extrapolate
        for ax in axes:
            _no_data(ax, "no P(SAT) = ½ crossing fitted on this φ grid\n(all instances on one "
                     "side of φ_c: widen the φ range)")
        axes[0].set_title("Finite-size scaling of the crossing", fontsize=10)
        return axes
    P = np.array([c.n_params for c in cs], dtype=float)
    x_exp = a.fss.inv_nu if a.fss is not None and a.fss.inv_nu > 0 else 0.5
    x = P ** (-x_exp)
    y = np.array([c.phi_c for c in cs])
    lo = np.array([c.ci_low for c in cs])
    hi = np.array([c.ci_high for c in cs])
    ax = axes[0]
    yerr = np.clip(np.nan_to_num([y - lo, hi - y]), 0, None)
    ax.errorbar(x, y, yerr=yerr, fmt="o", color="C0",
                capsize=3, label="φ_c(P), 95 % bootstrap")
    if a.fss is not None:
        xs = np.linspace(0, float(x.max()) * 1.1, 50)
        ax.plot(xs, a.fss.phi_c_inf + a.fss.a * xs, "-", color="C0", lw=1,
                label=f"φ_c(∞) = {a.fss.phi_c_inf:.3f} ± {a.fss.phi_c_inf_err:.3f}")
        ax.errorbar([0], [a.fss.phi_c_inf], yerr=[a.fss.phi_c_inf_err], fmt="s", color="C3",
                    capsize=3)
    theory = [c.phi_c_cover for c in cs]
    if a.cover_applies and np.all(np.isfinite(theory)):
        ax.plot(x, theory, "x", color="C2", label="same fit to Cover's curve")
        ax.axhline(2.0, color="C2", lw=0.8, ls="--", label="Cover: φ_c = 2 (units of rank)")
    ax.set_xlabel(f"P^(−1/ν),  1/ν = {x_exp:.3f}")
    ax.set_ylabel("φ_c(P)  (P(SAT) = ½)")
    ax.legend(fontsize=8, frameon=False)
    ax.set_title("Finite-size scaling of the crossing", fontsize=10)
    ax = axes[1]
    w = np.array([c.width for c in cs])
    we = np.array([c.width_err for c in cs])
    ax.errorbar(P, w, yerr=np.nan_to_num(we), fmt="o", color="C1", capsize=3, label="width w(P)")
    if a.fss is not None:
        ps = np.geomspace(P.min() / 1.3, P.max() * 1.3, 50)
        ax.plot(ps, a.fss.b * ps ** (-a.fss.inv_nu), "-", color="C1", lw=1,
                label=f"ν = {a.fss.nu:.2f} ± {a.fss.nu_err:.2f}")
    _log_axes(ax, x=P, y=w)
    ax.set_xlabel("P")
    ax.set_ylabel("transition width in φ")
    ax.legend(fontsize=8, frameon=False)
    return axes


def save_figures(a: PhaseDiagramAnalysis, directory: str | Path, *, fmt: str = "png",
                 dpi: int = 120) -> list[Path]:
    """Write ``sat_probability``, ``unsat_observables`` and ``crossings`` figures.

    Returns
    -------
    list of Path
        The files written (``directory`` is created if needed).
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    src = ", ".join(f"{k}={v}" for k, v in a.settings.items())
    paths = []
    for name, draw, size in (
        ("sat_probability", lambda f: plot_sat_probability(a, f.subplots()), (6.4, 4.6)),
        ("unsat_observables", lambda f: plot_unsat_observables(a, f.subplots(1, 3)), (13, 4.2)),
        ("crossings", lambda f: plot_crossings(a, f.subplots(1, 2)), (10, 4.2)),
    ):
        fig = plt.figure(figsize=size)
        draw(fig)
        fig.suptitle(f"{src}   ({_CONVENTION})", fontsize=8)
        fig.tight_layout()
        path = directory / f"{name}.{fmt}"
        fig.savefig(path, dpi=dpi)
        plt.close(fig)
        paths.append(path)
    return paths


# ------------------------------------------------------------------ trained networks
def _trained_P(a: TrainedDiagramAnalysis, P: int | None) -> int:
    sizes = sorted({c.P for c in a.curves})
    if P is None:
        return sizes[-1]
    if P not in sizes:
        raise ValueError(f"P = {P} is not in the analysis; have {sizes}")
    return P


def _pick_alphas(curves, alphas):
    """The curves to draw: the listed α, or the smallest, a middle and the largest."""
    if alphas is not None:
        wanted = [float(x) for x in alphas]
        have = {c.alpha for c in curves}
        missing = [x for x in wanted if x not in have]
        if missing:
            raise ValueError(f"alpha = {missing[0]:g} is not in the analysis; have "
                             f"{sorted(have)}")
        return [c for c in curves if c.alpha in wanted]
    if len(curves) <= 3:
        return curves
    return [curves[0], curves[len(curves) // 2], curves[-1]]


def plot_trained_sat_probability(a: TrainedDiagramAnalysis, ax=None, *, P: int | None = None,
                                 alphas=None):
    """P(SAT) vs φ of trained networks at two or three α, against the lazy verdicts.

    Solid, filled markers: the runs that reached SAT (95 % Wilson bars); dashed, open
    markers: SAT + runs out of budget (an upper bound).  Black squares: the exact lazy
    verdicts of the same initial networks; grey dashes: Cover's curve for their rank.
    ``alphas`` selects the α drawn (default: the smallest, a middle one, the largest).
    """
    P = _trained_P(a, P)
    if ax is None:
        _, ax = plt.subplots(figsize=(6.4, 4.4))
    curves = _pick_alphas([c for c in a.curves if c.P == P], alphas)
    colors = _colors(len(curves))
    for i, (c, col) in enumerate(zip(curves, colors, strict=True)):
        s, u = c.sat, c.sat_upper
        dx = (i - (len(curves) - 1) / 2) * 0.008  # keep the error bars apart
        yerr = np.clip([s.p_sat - s.lo, s.hi - s.p_sat], 0, None)
        ax.errorbar(s.phi + dx, s.p_sat, yerr=yerr, fmt="o-", ms=4, lw=1.3, color=col,
                    capsize=2, label=f"trained, α = {c.alpha:g}: reached SAT")
        ax.plot(u.phi + dx, u.p_sat, "o--", mfc="none", ms=4, lw=1, color=col,
                label=f"α = {c.alpha:g}: SAT + out of budget")
    for lz in a.lazy:
        if lz.P != P:
            continue
        yerr = np.clip([lz.p_sat - lz.lo, lz.hi - lz.p_sat], 0, None)
        ax.errorbar(lz.phi, lz.p_sat, yerr=yerr, fmt="s-", ms=4.5, lw=1, color="k",
                    capsize=2, label=f"lazy (exact), rank {lz.rank}")
        phi_t, p_t = cover_curve(lz.n_params, lz.rank, float(lz.phi.min()), float(lz.phi.max()))
        ax.plot(phi_t, p_t, "--", color="0.45", lw=1.1, label="Cover, N = 2·rank")
    ax.axhline(0.5, color="0.7", lw=0.8)
    ax.set_xlabel("φ = N/P")
    ax.set_ylabel("P(SAT)")
    ax.set_ylim(-0.03, 1.03)
    ax.set_title(f"P = {P}: trained networks vs the lazy prediction", fontsize=10)
    ax.legend(fontsize=7, frameon=False, loc="lower left")
    return ax


def plot_phi_c_alpha(a: TrainedDiagramAnalysis, ax=None, *, P: int | None = None):
    """φ_c(α): crossing of the SAT fraction (filled) and of SAT + undecided (open).

    Bars: 95 % bootstrap intervals.  A crossing outside the φ grid is drawn at the
    grid edge with an arrow.  The lazy φ_c (exact verdicts, with its interval) and
    Cover's 2·rank/P are horizontal lines.
    """
    P = _trained_P(a, P)
    if ax is None:
        _, ax = plt.subplots(figsize=(6.0, 4.2))
    r = a.phi_c_vs_alpha(P)
    curves = [c for c in a.curves if c.P == P]
    lo_grid = min(float(c.sat.phi.min()) for c in curves)
    hi_grid = max(float(c.sat.phi.max()) for c in curves)
    for key, lo, hi, fmt, label, shift in (
        ("phi_c", "ci_low", "ci_high", "o", "SAT fraction = ½ (lower bound)", 0.97),
        ("upper", "upper_ci_low", "upper_ci_high", "o", "SAT + undecided = ½ (upper bound)",
         1.03),
    ):
        x = r["alpha"] * shift
        y = r[key]
        inside = np.isfinite(y) & (y >= lo_grid) & (y <= hi_grid)
        yerr = np.clip(np.nan_to_num([y - r[lo], r[hi] - y]), 0, None)
        face = "C0" if key == "phi_c" else "none"
        ax.errorbar(x[inside], y[inside], yerr=yerr[:, inside], fmt=fmt, mfc=face, color="C0",
                    capsize=3, label=label)
        above = ~inside & ~(np.isfinite(y) & (y < lo_grid))
        below = np.isfinite(y) & (y < lo_grid)
        if np.any(above):
            ax.plot(x[above], np.full(above.sum(), hi_grid), "^", mfc=face, color="C0", ms=7)
        if np.any(below):
            ax.plot(x[below], np.full(below.sum(), lo_grid), "v", mfc=face, color="C0", ms=7)
    for lz, cr in zip(a.lazy, a.lazy_crossings, strict=True):
        if lz.P != P:
            continue
        ax.axhline(cr.phi_c, color="k", lw=1.2, label=f"lazy (exact): φ_c = {cr.phi_c:.2f}")
        if np.isfinite(cr.ci_low):
            ax.axhspan(cr.ci_low, cr.ci_high, color="k", alpha=0.1, lw=0)
        ax.axhline(2 * lz.rank / lz.n_params, color="0.45", ls="--", lw=1,
                   label=f"Cover: 2·rank/P = {2 * lz.rank / lz.n_params:.2f}")
    _log_axes(ax, x=r["alpha"])
    ax.set_xlabel("output scale α  (large: lazy, small: feature learning)")
    ax.set_ylabel("φ_c = N*/P")
    ax.set_title(f"P = {P}: jamming threshold of trained networks vs α", fontsize=10)
    ax.legend(fontsize=7.5, frameon=False)
    return ax


def plot_trained_outcomes(a: TrainedDiagramAnalysis, axes=None, *, P: int | None = None):
    """Outcome fractions vs φ per α, disagreements with the lazy verdict, kernel change.

    Left: UNSAT and out-of-budget fractions.  Middle: runs that reached SAT where the
    lazy problem is UNSAT (up triangles) and runs that ended UNSAT where it is SAT
    (down triangles).  Right: median ‖K_T − K_0‖_F/‖K_0‖_F.
    """
    P = _trained_P(a, P)
    if axes is None:
        _, axes = plt.subplots(1, 3, figsize=(15, 3.9))
    curves = [c for c in a.curves if c.P == P]
    colors = _colors(len(curves))
    for c, col in zip(curves, colors, strict=True):
        n = c.sat.n_total.astype(float)
        axes[0].plot(c.sat.phi, c.n_unsat / n, "s-", color=col, ms=3.5, lw=1,
                     label=f"UNSAT, α = {c.alpha:g}")
        axes[0].plot(c.sat.phi, c.n_max_steps / n, "x--", color=col, ms=4, lw=1)
        axes[1].plot(c.sat.phi, c.n_beyond_lazy / n, "^-", color=col, ms=4, lw=1,
                     label=f"α = {c.alpha:g}")
        axes[1].plot(c.sat.phi, c.n_stuck / n, "v--", color=col, ms=4, lw=1)
        axes[2].plot(c.sat.phi, c.kernel_change, "o-", color=col, ms=3.5, lw=1,
                     label=f"α = {c.alpha:g}")
    axes[0].set_xlabel("φ = N/P")
    axes[0].set_ylabel("fraction of runs")
    axes[0].set_title("UNSAT (squares) and out of budget (crosses, dashed)", fontsize=10)
    axes[0].legend(fontsize=7.5, frameon=False)
    axes[1].set_xlabel("φ = N/P")
    axes[1].set_ylabel("fraction of runs")
    axes[1].set_title("SAT where lazy is UNSAT (▲), UNSAT where lazy is SAT (▼)",
                      fontsize=10)
    axes[1].legend(fontsize=7.5, frameon=False)
    _log_axes(axes[2], y=np.concatenate([np.ravel(c.kernel_change) for c in curves]
                                       or [np.zeros(0)]))
    axes[2].set_xlabel("φ = N/P")
    axes[2].set_ylabel("median ‖K_T − K_0‖_F / ‖K_0‖_F")
    axes[2].set_title("Kernel change at the end of training", fontsize=10)
    axes[2].legend(fontsize=7.5, frameon=False)
    return axes


def save_trained_figures(a: TrainedDiagramAnalysis, directory: str | Path, *, fmt: str = "png",
                         dpi: int = 120, P: int | None = None, alphas=None) -> list[Path]:
    """Write ``trained_sat_probability``, ``phi_c_alpha`` and ``trained_outcomes``.

    ``P`` (default: the largest) and ``alphas`` (for the P(SAT) figure) select what
    is drawn.

    Returns
    -------
    list of Path
        The files written (``directory`` is created if needed).
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    s = a.settings
    src = (f"1 hidden ReLU layer, d = {s.get('d')}, labels {s.get('labels')}, κ = "
           f"{s.get('margin')}, step {s.get('step_rule')} lr = {s.get('lr')}, momentum "
           f"{s.get('momentum')}, budget {s.get('max_steps')} steps")
    paths = []
    for name, draw, size in (
        ("trained_sat_probability",
         lambda f: plot_trained_sat_probability(a, f.subplots(), P=P, alphas=alphas),
         (6.6, 4.9)),
        ("phi_c_alpha", lambda f: plot_phi_c_alpha(a, f.subplots(), P=P), (6.4, 4.6)),
        ("trained_outcomes", lambda f: plot_trained_outcomes(a, f.subplots(1, 3), P=P),
         (15, 4.3)),
    ):
        fig = plt.figure(figsize=size)
        draw(fig)
        fig.suptitle(f"{src}\n({_CONVENTION})", fontsize=7)
        fig.tight_layout()
        path = directory / f"{name}.{fmt}"
        fig.savefig(path, dpi=dpi)
        plt.close(fig)
        paths.append(path)
    return paths
