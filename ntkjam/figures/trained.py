"""Figures of a trained phase diagram, from a :class:`~ntkjam.analysis.TrainedDiagramAnalysis`.

* :func:`plot_trained_sat_probability` — P(SAT) vs φ per α against the lazy verdicts
  and Cover.
* :func:`plot_phi_c_alpha` — φ_c(α), bracketed by the runs out of budget.
* :func:`plot_trained_outcomes` — outcome fractions, disagreements with the lazy
  verdict, kernel change.
* :func:`save_trained_figures` — all three into a directory, returns the paths.

Without ``ax``/``axes`` each function draws on a new :class:`matplotlib.figure.Figure`
(not registered with pyplot: save it with ``ax.figure.savefig``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ntkjam.analysis import TrainedDiagramAnalysis, cover_curve
from ntkjam.core.deprecation import renamed_keywords
from ntkjam.figures.common import CONVENTION, FORMATS, colors, log_axes, new_figure, write_figures

__all__ = [
    "plot_phi_c_alpha",
    "plot_trained_outcomes",
    "plot_trained_sat_probability",
    "save_trained_figures",
]

PHI = r"$\varphi = N/P$  (N points, P parameters)"


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


def _plot_lazy_sat(a: TrainedDiagramAnalysis, ax, P: int) -> None:
    """The exact lazy verdicts at P (black squares) and Cover's curve for their rank."""
    for lz in a.lazy:
        if lz.P != P:
            continue
        yerr = np.clip([lz.p_sat - lz.lo, lz.hi - lz.p_sat], 0, None)
        ax.errorbar(lz.phi, lz.p_sat, yerr=yerr, fmt="s-", ms=4.5, lw=1, color="k",
                    capsize=2, label=f"lazy (exact), rank {lz.rank}")
        phi_t, p_t = cover_curve(lz.n_params, lz.rank, float(lz.phi.min()), float(lz.phi.max()))
        ax.plot(phi_t, p_t, "--", color="0.45", lw=1.1,
                label="Cover (N points in rank dimensions)")


def plot_trained_sat_probability(a: TrainedDiagramAnalysis, ax=None, *, P: int | None = None,
                                 alphas=None):
    """P(SAT) vs φ of trained networks at two or three α, against the lazy verdicts.

    Solid, filled markers: the runs that reached SAT (95 % Wilson bars); dashed, open
    markers: SAT + runs out of budget (an upper bound).  Black squares: the exact lazy
    verdicts of the same initial networks; grey dashes: Cover's curve for their rank.
    ``alphas`` selects the α drawn (default: the smallest, a middle one, the largest).

    Parameters
    ----------
    a : TrainedDiagramAnalysis
        Its ``curves`` (per (P, α): P(SAT) and the counts, each (k,) over N) and the lazy
        verdicts ``lazy``, ``lazy_crossings``.
    ax : matplotlib.axes.Axes, optional
        Default: a new figure (6.4 × 4.4 in).
    P : int, optional
        The size drawn (default: the largest).
    alphas : sequence of float, optional

    Returns
    -------
    matplotlib.axes.Axes

    Raises
    ------
    ValueError
        ``P`` or one of ``alphas`` is not in the analysis.

    Examples
    --------
    A synthetic table of P = 16 parameters, four instances per N = 16 … 48 (a real one is
    analysed by :func:`~ntkjam.analysis.analyze_trained`; training takes too long for an
    example): at α = 100 (lazy) the trained networks reach SAT exactly where the lazy
    problem is SAT; at α = 1 they fit 8 points more.

    >>> import pandas as pd
    >>> from ntkjam.analysis import TrainedDiagramAnalysis, lazy_reference, trained_curves
    >>> df = pd.DataFrame([{"P": 16, "alpha": a, "n": n, "phi": n / 16, "seed": s, "n_params": 16,
    ...                     "rank": 16, "lazy_sat": n + 4 * s < 36, "kernel_change": 0.1 / a,
    ...                     "sat": n + 4 * s < (44 if a < 10 else 36)}
    ...                    for a in (1.0, 100.0) for n in (16, 24, 32, 40, 48) for s in range(4)])
    >>> df["train_status"] = df["sat"].map({True: "sat", False: "unsat"})
    >>> a = TrainedDiagramAnalysis("synthetic", {}, len(df), 0, trained_curves(df, n_boot=4),
    ...                            *lazy_reference(df, n_boot=4))
    >>> from ntkjam.figures.trained import plot_trained_sat_probability
    >>> ax = plot_trained_sat_probability(a)
    >>> [c.lines[0].get_ydata().tolist() for c in ax.containers]  # α = 1, α = 100, lazy
    [[1.0, 1.0, 0.75, 0.25, 0.0], [1.0, 0.75, 0.25, 0.0, 0.0], [1.0, 0.75, 0.25, 0.0, 0.0]]
    >>> ax.get_legend_handles_labels()[1][-1]
    'lazy (exact), rank 16'
    """
    P = _trained_P(a, P)
    if ax is None:
        ax = new_figure((6.4, 4.4)).subplots()
    curves = _pick_alphas([c for c in a.curves if c.P == P], alphas)
    for i, (c, col) in enumerate(zip(curves, colors(len(curves)), strict=True)):
        s, u = c.sat, c.sat_upper
        dx = (i - (len(curves) - 1) / 2) * 0.008  # keep the error bars apart
        yerr = np.clip([s.p_sat - s.lo, s.hi - s.p_sat], 0, None)
        ax.errorbar(s.phi + dx, s.p_sat, yerr=yerr, fmt="o-", ms=4, lw=1.3, color=col,
                    capsize=2, label=f"trained, α = {c.alpha:g}: reached SAT")
        ax.plot(u.phi + dx, u.p_sat, "o--", mfc="none", ms=4, lw=1, color=col,
                label=f"α = {c.alpha:g}: SAT + out of budget")
    _plot_lazy_sat(a, ax, P)
    ax.axhline(0.5, color="0.7", lw=0.8)
    ax.set_xlabel(PHI)
    ax.set_ylabel("P(SAT)")
    ax.set_ylim(-0.03, 1.03)
    ax.set_title(f"P = {P}: trained networks vs the lazy prediction", fontsize=10)
    ax.legend(fontsize=7, frameon=False, loc="lower left")
    return ax


def _plot_bracket(ax, r, lo_grid: float, hi_grid: float) -> None:
    """φ_c(α) of the lower and upper curves; crossings off the grid as arrows at its edge."""
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


def plot_phi_c_alpha(a: TrainedDiagramAnalysis, ax=None, *, P: int | None = None):
    """φ_c(α): crossing of the SAT fraction (filled) and of SAT + undecided (open).

    Bars: 95 % bootstrap intervals.  A crossing outside the φ grid is drawn at the
    grid edge with an arrow.  The lazy φ_c (exact verdicts, with its interval) and
    Cover's 2·rank/P are horizontal lines.

    Parameters
    ----------
    a : TrainedDiagramAnalysis
        Its ``curves`` (per (P, α): P(SAT) and the counts, each (k,) over N) and the lazy
        verdicts ``lazy``, ``lazy_crossings``.
    ax : matplotlib.axes.Axes, optional
        Default: a new figure (6.0 × 4.2 in).
    P : int, optional
        The size drawn (default: the largest).

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    A synthetic table of P = 16 parameters, four instances per N = 16 … 48 (a real one is
    analysed by :func:`~ntkjam.analysis.analyze_trained`; training takes too long for an
    example): at α = 100 (lazy) the trained networks reach SAT exactly where the lazy
    problem is SAT; at α = 1 they fit 8 points more.

    >>> import pandas as pd
    >>> from ntkjam.analysis import TrainedDiagramAnalysis, lazy_reference, trained_curves
    >>> df = pd.DataFrame([{"P": 16, "alpha": a, "n": n, "phi": n / 16, "seed": s, "n_params": 16,
    ...                     "rank": 16, "lazy_sat": n + 4 * s < 36, "kernel_change": 0.1 / a,
    ...                     "sat": n + 4 * s < (44 if a < 10 else 36)}
    ...                    for a in (1.0, 100.0) for n in (16, 24, 32, 40, 48) for s in range(4)])
    >>> df["train_status"] = df["sat"].map({True: "sat", False: "unsat"})
    >>> a = TrainedDiagramAnalysis("synthetic", {}, len(df), 0, trained_curves(df, n_boot=4),
    ...                            *lazy_reference(df, n_boot=4))
    >>> from ntkjam.figures.trained import plot_phi_c_alpha
    >>> ax = plot_phi_c_alpha(a)
    >>> r = a.phi_c_vs_alpha(16)  # N*/P = 36/16 at α = 1, 28/16 at α = 100
    >>> r["alpha"].tolist(), r["phi_c"].round(2).tolist(), ax.get_xscale()
    ([1.0, 100.0], [2.25, 1.75], 'log')
    >>> ax.get_legend_handles_labels()[1][1]
    'Cover: 2·rank/P = 2.00'
    """
    P = _trained_P(a, P)
    if ax is None:
        ax = new_figure((6.0, 4.2)).subplots()
    r = a.phi_c_vs_alpha(P)
    curves = [c for c in a.curves if c.P == P]
    lo_grid = min(float(c.sat.phi.min()) for c in curves)
    hi_grid = max(float(c.sat.phi.max()) for c in curves)
    _plot_bracket(ax, r, lo_grid, hi_grid)
    for lz, cr in zip(a.lazy, a.lazy_crossings, strict=True):
        if lz.P != P:
            continue
        ax.axhline(cr.phi_c, color="k", lw=1.2,
                   label=rf"lazy (exact): $\varphi_c$ = {cr.phi_c:.2f}")
        if np.isfinite(cr.ci_low):
            ax.axhspan(cr.ci_low, cr.ci_high, color="k", alpha=0.1, lw=0)
        ax.axhline(2 * lz.rank / lz.n_params, color="0.45", ls="--", lw=1,
                   label=f"Cover: 2·rank/P = {2 * lz.rank / lz.n_params:.2f}")
    log_axes(ax, x=r["alpha"])
    ax.set_xlabel(r"output scale $\alpha$  (large: lazy, small: feature learning)")
    ax.set_ylabel(r"$\varphi_c = N^*/P$  (N points, P parameters)")
    ax.set_title(f"P = {P}: jamming threshold of trained networks vs α", fontsize=10)
    ax.legend(fontsize=7.5, frameon=False)
    return ax


def plot_trained_outcomes(a: TrainedDiagramAnalysis, axes=None, *, P: int | None = None):
    """Outcome fractions vs φ per α, disagreements with the lazy verdict, kernel change.

    Left: UNSAT and out-of-budget fractions.  Middle: runs that reached SAT where the
    lazy problem is UNSAT (up triangles) and runs that ended UNSAT where it is SAT
    (down triangles).  Right: median ‖K_T − K_0‖_F/‖K_0‖_F.

    Parameters
    ----------
    a : TrainedDiagramAnalysis
        Its ``curves`` (per (P, α): P(SAT) and the counts, each (k,) over N) and the lazy
        verdicts ``lazy``, ``lazy_crossings``.
    axes : sequence of 3 Axes, optional
        Default: a new figure (15 × 3.9 in), one row.
    P : int, optional
        The size drawn (default: the largest).

    Returns
    -------
    array of Axes, shape (3,)

    Examples
    --------
    A synthetic table of P = 16 parameters, four instances per N = 16 … 48 (a real one is
    analysed by :func:`~ntkjam.analysis.analyze_trained`; training takes too long for an
    example): at α = 100 (lazy) the trained networks reach SAT exactly where the lazy
    problem is SAT; at α = 1 they fit 8 points more.

    >>> import pandas as pd
    >>> from ntkjam.analysis import TrainedDiagramAnalysis, lazy_reference, trained_curves
    >>> df = pd.DataFrame([{"P": 16, "alpha": a, "n": n, "phi": n / 16, "seed": s, "n_params": 16,
    ...                     "rank": 16, "lazy_sat": n + 4 * s < 36, "kernel_change": 0.1 / a,
    ...                     "sat": n + 4 * s < (44 if a < 10 else 36)}
    ...                    for a in (1.0, 100.0) for n in (16, 24, 32, 40, 48) for s in range(4)])
    >>> df["train_status"] = df["sat"].map({True: "sat", False: "unsat"})
    >>> a = TrainedDiagramAnalysis("synthetic", {}, len(df), 0, trained_curves(df, n_boot=4),
    ...                            *lazy_reference(df, n_boot=4))
    >>> from ntkjam.figures.trained import plot_trained_outcomes
    >>> axes = plot_trained_outcomes(a)
    >>> axes[1].lines[0].get_ydata().tolist()  # α = 1: SAT where the lazy problem is UNSAT
    [0.0, 0.25, 0.5, 0.25, 0.0]
    >>> axes[2].get_yscale(), axes[2].get_legend_handles_labels()[1]
    ('log', ['α = 1', 'α = 100'])
    """
    P = _trained_P(a, P)
    if axes is None:
        axes = new_figure((15, 3.9)).subplots(1, 3)
    curves = [c for c in a.curves if c.P == P]
    for c, col in zip(curves, colors(len(curves)), strict=True):
        n = c.sat.n_total.astype(float)
        axes[0].plot(c.sat.phi, c.n_unsat / n, "s-", color=col, ms=3.5, lw=1,
                     label=f"UNSAT, α = {c.alpha:g}")
        axes[0].plot(c.sat.phi, c.n_max_steps / n, "x--", color=col, ms=4, lw=1)
        axes[1].plot(c.sat.phi, c.n_beyond_lazy / n, "^-", color=col, ms=4, lw=1,
                     label=f"α = {c.alpha:g}")
        axes[1].plot(c.sat.phi, c.n_stuck / n, "v--", color=col, ms=4, lw=1)
        change = np.asarray(c.kernel_change, dtype=float)
        axes[2].plot(c.sat.phi, np.where(change > 0, change, np.nan), "o-", color=col,
                     ms=3.5, lw=1, label=f"α = {c.alpha:g}")  # log axis: no zeros
    for ax, title in (
        (axes[0], "UNSAT (squares) and out of budget (crosses, dashed)"),
        (axes[1], "SAT where lazy is UNSAT (▲), UNSAT where lazy is SAT (▼)"),
    ):
        ax.set_xlabel(PHI)
        ax.set_ylabel("fraction of runs")
        ax.set_title(title, fontsize=10)
        ax.legend(fontsize=7.5, frameon=False)
    log_axes(axes[2], y=np.concatenate([np.ravel(c.kernel_change) for c in curves]
                                       or [np.zeros(0)]))
    axes[2].set_xlabel(PHI)
    axes[2].set_ylabel(r"median $\Vert K_T - K_0 \Vert_F \,/\, \Vert K_0 \Vert_F$")
    axes[2].set_title("Kernel change at the end of training", fontsize=10)
    axes[2].legend(fontsize=7.5, frameon=False)
    return axes


@renamed_keywords(fmt="formats")
def save_trained_figures(a: TrainedDiagramAnalysis, directory: str | Path, *, formats=FORMATS,
                         dpi: int = 120, P: int | None = None, alphas=None) -> list[Path]:
    """Write ``trained_sat_probability``, ``phi_c_alpha`` and ``trained_outcomes`` in each
    format (PNG and PDF by default; ``fmt=`` is the deprecated name of ``formats=``).

    ``P`` (default: the largest) and ``alphas`` (for the P(SAT) figure) select what
    is drawn.

    Parameters
    ----------
    a : TrainedDiagramAnalysis
    directory : str or Path
    formats : str or sequence of str
        Default PNG and PDF.
    dpi : int
    P : int, optional
    alphas : sequence of float, optional

    Returns
    -------
    list of Path
        The files written (``directory`` is created if needed).

    Examples
    --------
    A synthetic table (see :func:`plot_trained_sat_probability`):

    >>> import tempfile
    >>> import pandas as pd
    >>> from ntkjam.analysis import TrainedDiagramAnalysis, lazy_reference, trained_curves
    >>> df = pd.DataFrame([{"P": 16, "alpha": a, "n": n, "phi": n / 16, "seed": s, "n_params": 16,
    ...                     "rank": 16, "lazy_sat": n + 4 * s < 36, "kernel_change": 0.1 / a,
    ...                     "sat": n + 4 * s < (44 if a < 10 else 36)}
    ...                    for a in (1.0, 100.0) for n in (16, 24, 32, 40, 48) for s in range(4)])
    >>> df["train_status"] = df["sat"].map({True: "sat", False: "unsat"})
    >>> a = TrainedDiagramAnalysis("synthetic", {}, len(df), 0, trained_curves(df, n_boot=4),
    ...                            *lazy_reference(df, n_boot=4))
    >>> from ntkjam.figures.trained import save_trained_figures
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     [p.name for p in save_trained_figures(a, tmp, formats="png", dpi=30)]
    ['trained_sat_probability.png', 'phi_c_alpha.png', 'trained_outcomes.png']
    """
    s = a.settings
    src = (f"1 hidden ReLU layer, d = {s.get('d')}, labels {s.get('labels')}, margin κ = "
           f"{s.get('margin')}, step {s.get('step_rule')} lr = {s.get('lr')}, momentum "
           f"{s.get('momentum')}, budget {s.get('max_steps')} steps")
    panels = [
        ("trained_sat_probability",
         lambda f: plot_trained_sat_probability(a, f.subplots(), P=P, alphas=alphas),
         (6.6, 4.9)),
        ("phi_c_alpha", lambda f: plot_phi_c_alpha(a, f.subplots(), P=P), (6.4, 4.6)),
        ("trained_outcomes", lambda f: plot_trained_outcomes(a, f.subplots(1, 3), P=P),
         (15, 4.3)),
    ]
    return write_figures(directory, panels, f"{src}\n({CONVENTION})", formats=formats, dpi=dpi,
                         title_size=7)
