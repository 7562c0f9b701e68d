"""Figures of a lazy phase diagram, drawn from a :class:`~ntkjam.analysis.PhaseDiagramAnalysis`.

Nothing here recomputes physics: the data come from the analysis, the theory lines
from :func:`ntkjam.analysis.cover_curve` and :attr:`PhaseDiagramAnalysis.theory`.  Axes
state the convention: N = training points, P = features (parameters), φ = N/P.

* :func:`plot_sat_probability` — P(SAT) vs φ per P with binomial error bars and
  Cover's finite-size curves (N points in rank(J) dimensions) overlaid.
* :func:`plot_unsat_observables` — loss per sample and N_Δ/N vs φ (all instances,
  and the UNSAT ones alone, dashed), and N_Δ/rank over the UNSAT instances, with the
  approach fits to φ_c⁺ and, where it applies, the exact RS theory overlaid.
* :func:`plot_crossings` — φ_c(P) with bootstrap intervals against P^{−1/ν}, the
  finite-size-scaling line to φ_c(∞), and the width w(P).
* :func:`save_figures` — all three into a directory, returns the paths.

Without ``ax``/``axes`` each function draws on a new :class:`matplotlib.figure.Figure`
(not registered with pyplot: save it with ``ax.figure.savefig``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ntkjam.analysis import PhaseDiagramAnalysis, cover_curve, model_probability
from ntkjam.core.deprecation import renamed_keywords
from ntkjam.figures.common import (
    CONVENTION,
    FORMATS,
    check_formats,
    colors,
    log_axes,
    new_figure,
    no_data,
    positive_floor,
    write_figures,
)
from ntkjam.figures.helper import result_or_none

__all__ = ["FIGURES", "plot_crossings", "plot_sat_probability", "plot_unsat_observables",
           "save_figures"]


PHI = r"$\varphi = N/P$  (N points, P features)"


def _fitted(a: PhaseDiagramAnalysis, ax, c, col) -> None:
    """The crossing model fitted to one size's counts (solid), where there is a crossing."""
    cr = next((x for x in a.crossings if x.P == c.P), None)
    if cr is None or not (np.isfinite(cr.phi_c) and np.isfinite(cr.width) and cr.width > 0):
        return
    phi = np.linspace(float(c.phi.min()), float(c.phi.max()), 200)
    ax.plot(phi, model_probability(phi, cr.phi_c, cr.width, a.model), "-", color=col, lw=1.3,
            label=rf"fit: $\varphi_c$ = {cr.phi_c:.3f} [{cr.ci_low:.3f}, {cr.ci_high:.3f}]")


def plot_sat_probability(a: PhaseDiagramAnalysis, ax=None):
    """P(SAT) vs φ per P: the counts, the fitted crossing model (solid) and Cover's
    finite-size curves (dashed; for reference only when they do not apply).

    Parameters
    ----------
    a : PhaseDiagramAnalysis
        Its ``sat`` curves (φ and P(SAT), each (k,), per P) and ``crossings``.
    ax : matplotlib.axes.Axes, optional
        Default: a new figure (6.4 × 4.4 in).

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    P = 8 random ReLU features, φ = N/P = 1, 2, 3, four instances each: all SAT at
    φ = 1, all UNSAT at φ = 3 (Cover: P(SAT) = ½ at φ = 2).

    >>> import tempfile
    >>> from ntkjam import sweep
    >>> from ntkjam.analysis import analyze
    >>> from ntkjam.experiments.phase_diagram import phase_diagram_spec
    >>> spec = phase_diagram_spec(P=(8,), phi_min=1.0, phi_max=3.0, phi_num=3, seeds=4)
    >>> with tempfile.TemporaryDirectory() as tmp:  # 12 LP instances, then their analysis
    ...     _ = sweep.run(spec, output=tmp)
    ...     a = analyze(tmp, n_boot=10, distributions=False)
    >>> from ntkjam.figures.phase_diagram import plot_sat_probability
    >>> ax = plot_sat_probability(a)
    >>> points = ax.containers[0].lines[0]  # the measured P(SAT) with its Wilson bars
    >>> points.get_xdata().tolist(), points.get_ydata()[[0, -1]].tolist()
    ([1.0, 2.0, 3.0], [1.0, 0.0])
    >>> ax.get_legend_handles_labels()[1][1:]
    ['Cover (N points in rank dimensions)', 'P = 8 (rank 8)']
    """
    if ax is None:
        ax = new_figure((6.4, 4.4)).subplots()
    for i, (c, col) in enumerate(zip(a.sat, colors(len(a.sat)), strict=True)):
        yerr = np.clip([c.p_sat - c.lo, c.hi - c.p_sat], 0, None)
        ax.errorbar(c.phi, c.p_sat, yerr=yerr, fmt="o", ms=3.5,
                    color=col, capsize=2, lw=1, label=f"P = {c.n_params} (rank {c.rank})")
        _fitted(a, ax, c, col)
        phi_t, p_t = cover_curve(c.n_params, c.rank, float(c.phi.min()), float(c.phi.max()))
        what = "Cover (N points in rank dimensions)" if a.cover_applies else (
            "Cover, for reference (does not apply)")
        ax.plot(phi_t, p_t, "--", color=col, lw=1.2, alpha=0.9 if a.cover_applies else 0.4,
                label=what if i == 0 else None)
    ax.axhline(0.5, color="0.6", lw=0.8)
    ax.axvline(2.0, color="0.6", lw=0.8, ls=":")
    ax.set_xlabel(PHI)
    ax.set_ylabel("P(SAT)")
    ax.set_title(f"SAT probability: {a.model} fit (solid), Cover (dashed)", fontsize=10)
    ax.legend(fontsize=7, frameon=False)
    ax.set_ylim(-0.03, 1.03)
    return ax


def _plot_rs(a: PhaseDiagramAnalysis, axes) -> None:
    """The RS curves (P → ∞) on the three panels, where the theory applies."""
    th = a.theory
    if not th.applies or th.phi.size == 0:
        return
    lo = min((float(c.phi.min()) for c in a.loss if c.phi.size), default=th.phi_c)
    kw = dict(color="k", lw=1.4, zorder=5)
    for ax, y, onset, sat in (
        (axes[0], th.loss_per_sample, th.loss_onset, True),
        (axes[1], th.unsat_fraction, float(th.unsat_fraction[0]), True),
        (axes[2], th.unsat_per_rank, th.isostaticity_onset, False),
    ):
        ax.plot(th.phi, y, "-", label="RS theory (P → ∞)", **kw)
        if sat and lo < th.phi_c:  # SAT below φ_c = 2: zero loss, no violated constraint
            ax.plot([lo, th.phi_c], [0.0, 0.0], "-", **kw)
        ax.plot([th.phi_c], [onset], "o", mfc="white", mec="k", ms=5, zorder=6)


def plot_unsat_observables(a: PhaseDiagramAnalysis, axes=None):
    """Loss per sample and N_Δ/N vs φ (means over all instances), N_Δ/rank (UNSAT only).

    The approach fits of the limits at φ_c⁺ (thin lines from each φ_c(P)) and, where it
    applies, the exact RS theory (black, with its value at φ_c⁺ as an open circle) are
    overlaid.

    Parameters
    ----------
    a : PhaseDiagramAnalysis
        Its ``loss``, ``n_delta_frac`` and ``isostaticity`` curves (φ, means, errors,
        each (k,), per P), the onset fits and the RS ``theory``.
    axes : sequence of 3 Axes, optional
        Default: a new figure (13 × 3.9 in), one row.

    Returns
    -------
    array of Axes, shape (3,)

    Examples
    --------
    >>> import tempfile
    >>> from ntkjam import sweep
    >>> from ntkjam.analysis import analyze
    >>> from ntkjam.experiments.phase_diagram import phase_diagram_spec
    >>> spec = phase_diagram_spec(P=(8,), phi_min=1.0, phi_max=3.0, phi_num=3, seeds=4)
    >>> with tempfile.TemporaryDirectory() as tmp:  # 12 LP instances, then their analysis
    ...     _ = sweep.run(spec, output=tmp)
    ...     a = analyze(tmp, n_boot=10, distributions=False)
    >>> from ntkjam.figures.phase_diagram import plot_unsat_observables
    >>> axes = plot_unsat_observables(a)
    >>> len(axes), axes[0].get_ylabel()
    (3, 'loss per sample at the minimum')
    >>> axes[0].get_legend_handles_labels()[1]  # margin 1, random labels: the RS theory applies
    ['RS theory (P → ∞)', 'P = 8']
    >>> float(axes[0].containers[0].lines[0].get_ydata()[0]) < 1e-12  # SAT at φ = 1: zero loss
    True
    """
    if axes is None:
        axes = new_figure((13, 3.9)).subplots(1, 3)
    cols = colors(len(a.loss))
    for curves, ax, ylabel, unsat in (
        (a.loss, axes[0], "loss per sample at the minimum", False),
        (a.n_delta_frac, axes[1], r"$N_\Delta / N$ (violated constraints)", False),
        (a.isostaticity, axes[2], r"$N_\Delta$ / rank (UNSAT instances)", True),
    ):
        for c, col in zip(curves, cols, strict=True):
            y = c.mean_unsat if unsat else c.mean
            e = c.sem_unsat if unsat else c.sem
            ax.errorbar(c.phi, y, yerr=np.abs(np.nan_to_num(e)), fmt="o-", ms=3, lw=1, color=col,
                        capsize=2, label=f"P = {c.P}")
            if not unsat:  # the UNSAT instances alone: the jump at φ_c
                ax.plot(c.phi, c.mean_unsat, "--", lw=0.9, color=col, alpha=0.8)
        ax.axvline(a.phi_c, color="0.5", lw=0.8, ls=":")
        ax.set_xlabel(PHI)
        ax.set_ylabel(ylabel)
    col_of = {c.P: col for c, col in zip(a.loss, cols, strict=True)}
    for onset, ax in ((a.loss_onset, axes[0]), (a.isostaticity_onset, axes[2])):
        first = True
        for f in onset.fits:
            if f.supported and f.curve_phi.size:
                ax.plot(f.curve_phi, f.curve_y, "-.", lw=1.1, color=col_of.get(f.P, "0.3"),
                        label="approach fit" if first else None)
                first = False
    _plot_rs(a, axes)
    axes[2].axhline(1.0, color="0.4", lw=0.8, ls="--")
    for ax in axes:
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=7, frameon=False)
    axes[0].set_title("exact minimum: all instances (dots), UNSAT ones (dashed)", fontsize=10)
    if not a.theory.applies:
        axes[2].set_title("no exact theory for these settings", fontsize=9)
    return axes


def _plot_shift(a: PhaseDiagramAnalysis, ax, cs, P: np.ndarray, x_exp: float) -> None:
    """φ_c(P) against P^{−1/ν}, the FSS line to φ_c(∞) and the same fit to Cover."""
    x = P ** (-x_exp)
    y = np.array([c.phi_c for c in cs])
    lo = np.array([c.ci_low for c in cs])
    hi = np.array([c.ci_high for c in cs])
    yerr = np.clip(np.nan_to_num([y - lo, hi - y]), 0, None)
    ax.errorbar(x, y, yerr=yerr, fmt="o", color="C0",
                capsize=3, label=r"$\varphi_c(P)$, 95 % bootstrap")
    if a.fss is not None:
        xs = np.linspace(0, float(x.max()) * 1.1, 50)
        ax.plot(xs, a.fss.phi_c_inf + a.fss.a * xs, "-", color="C0", lw=1,
                label=rf"$\varphi_c(\infty)$ = {a.fss.phi_c_inf:.3f} ± {a.fss.phi_c_inf_err:.3f}")
        ax.errorbar([0], [a.fss.phi_c_inf], yerr=[a.fss.phi_c_inf_err], fmt="s", color="C3",
                    capsize=3)
    theory = [c.phi_c_cover for c in cs]
    if a.cover_applies and np.all(np.isfinite(theory)):
        ax.plot(x, theory, "x", color="C2", label="same fit to Cover's curve")
        ax.axhline(2.0, color="C2", lw=0.8, ls="--",
                   label=r"Cover: $\varphi_c = 2$ (units of rank)")
    ax.set_xlabel(rf"$P^{{-1/\nu}}$,  $1/\nu$ = {x_exp:.3f}  (P = features)")
    ax.set_ylabel(r"$\varphi_c(P)$  (P(SAT) = ½)")
    ax.legend(fontsize=8, frameon=False)
    ax.set_title("Finite-size scaling of the crossing", fontsize=10)


def _plot_width(a: PhaseDiagramAnalysis, ax, cs, P: np.ndarray) -> None:
    """The width w(P) and its power-law fit."""
    w = np.array([c.width for c in cs])
    we = np.array([c.width_err for c in cs])
    we = np.nan_to_num(we)
    lower = w - positive_floor(w, w - we)  # a log axis: no bar down to zero
    ax.errorbar(P, w, yerr=[lower, we], fmt="o", color="C1", capsize=3, label="width w(P)")
    if a.fss is not None:
        ps = np.geomspace(P.min() / 1.3, P.max() * 1.3, 50)
        ax.plot(ps, a.fss.b * ps ** (-a.fss.inv_nu), "-", color="C1", lw=1,
                label=rf"$w = b P^{{-1/\nu}}$, $\nu$ = {a.fss.nu:.2f} ± {a.fss.nu_err:.2f}")
    log_axes(ax, x=P, y=w)
    ax.set_xticks(P, [f"{p:g}" for p in P])  # the sizes themselves, not 9×10⁰
    ax.set_xticks([], minor=True)
    ax.set_xlabel("P (features)")
    ax.set_ylabel(r"transition width $w$ in $\varphi$")
    ax.legend(fontsize=8, frameon=False)


def plot_crossings(a: PhaseDiagramAnalysis, axes=None):
    """φ_c(P) against P^{−1/ν} with the FSS extrapolation, and the width w(P).

    Parameters
    ----------
    a : PhaseDiagramAnalysis
        Its ``crossings`` (φ_c, interval and width per P) and ``fss`` (None with fewer
        than two sizes).
    axes : sequence of 2 Axes, optional
        Default: a new figure (10 × 3.9 in), one row.

    Returns
    -------
    array of Axes, shape (2,)
        With no crossing on the grid, both panels say so instead.

    Examples
    --------
    One size: its φ_c with the interval, beside the same fit to Cover's curve (no
    extrapolation to P → ∞ from a single size).

    >>> import tempfile
    >>> from ntkjam import sweep
    >>> from ntkjam.analysis import analyze
    >>> from ntkjam.experiments.phase_diagram import phase_diagram_spec
    >>> spec = phase_diagram_spec(P=(8,), phi_min=1.0, phi_max=3.0, phi_num=3, seeds=4)
    >>> with tempfile.TemporaryDirectory() as tmp:  # 12 LP instances, then their analysis
    ...     _ = sweep.run(spec, output=tmp)
    ...     a = analyze(tmp, n_boot=10, distributions=False)
    >>> from ntkjam.figures.phase_diagram import plot_crossings
    >>> axes = plot_crossings(a)
    >>> labels = axes[0].get_legend_handles_labels()[1]
    >>> len(labels), labels[0]
    (3, "same fit to Cover's curve")
    >>> axes[1].get_xlabel(), axes[1].get_xscale()
    ('P (features)', 'log')
    """
    if axes is None:
        axes = new_figure((10, 3.9)).subplots(1, 2)
    cs = [c for c in a.crossings if np.isfinite(c.phi_c)]
    if not cs:  # all SAT or all UNSAT on the grid: nothing to extrapolate
        for ax in axes:
            no_data(ax, "no P(SAT) = ½ crossing fitted on this φ grid\n(all instances on one "
                    r"side of $\varphi_c$: widen the φ range)")
        axes[0].set_title("Finite-size scaling of the crossing", fontsize=10)
        return axes
    P = np.array([c.n_params for c in cs], dtype=float)
    x_exp = a.fss.inv_nu if a.fss is not None and a.fss.inv_nu > 0 else 0.5
    _plot_shift(a, axes[0], cs, P, x_exp)
    _plot_width(a, axes[1], cs, P)
    return axes


#: The figures of :func:`save_figures`, in order; the largest, drawn by a helper if any.
FIGURES = ("sat_probability", "unsat_observables", "crossings")
_LARGEST = "unsat_observables"


@renamed_keywords(fmt="formats")
def save_figures(a: PhaseDiagramAnalysis, directory: str | Path, *, formats=FORMATS,
                 dpi: int = 120, only=None, helper=None) -> list[Path]:
    """Write ``sat_probability``, ``unsat_observables`` and ``crossings`` in each format
    (PNG and PDF by default; ``fmt=`` is the deprecated name of ``formats=``).

    Parameters
    ----------
    a : PhaseDiagramAnalysis
    directory : str or Path
    formats : str or sequence of str
        Default PNG and PDF.
    dpi : int
    only : sequence of str, optional
        Draw only these of :data:`FIGURES`.
    helper : concurrent.futures.Executor, optional
        A process that draws ``unsat_observables`` (the largest: 0.6 of 1.4 s) while
        this one draws the others (:func:`ntkjam.figures.helper.figure_helper`); the
        same files, in the same order.  If it dies, this process draws that one too.

    Returns
    -------
    list of Path
        The files written (``directory`` is created if needed), the first format first.

    Examples
    --------
    >>> import tempfile
    >>> from ntkjam import sweep
    >>> from ntkjam.analysis import analyze
    >>> from ntkjam.experiments.phase_diagram import phase_diagram_spec
    >>> from ntkjam.figures.phase_diagram import save_figures
    >>> spec = phase_diagram_spec(P=(8,), phi_min=1.0, phi_max=3.0, phi_num=3, seeds=4)
    >>> with tempfile.TemporaryDirectory() as tmp:  # 12 LP instances, then their analysis
    ...     _ = sweep.run(spec, output=tmp)
    ...     a = analyze(tmp, n_boot=10, distributions=False)
    ...     paths = save_figures(a, tmp, formats="png", dpi=40)
    ...     [p.name for p in paths]
    ['sat_probability.png', 'unsat_observables.png', 'crossings.png']
    """
    wanted = FIGURES if only is None else (only,) if isinstance(only, str) else tuple(only)
    unknown = [n for n in wanted if n not in FIGURES]
    if unknown:
        raise ValueError(f"only must name figures among {list(FIGURES)}, got {unknown[0]!r}")
    names, away = wanted, None
    if helper is not None and _LARGEST in wanted and len(wanted) > 1:
        away = helper.submit(save_figures, a, directory, formats=formats, dpi=dpi,
                             only=(_LARGEST,))
        names = tuple(n for n in wanted if n != _LARGEST)
    src = ", ".join(f"{k}={v}" for k, v in a.settings.items())
    draw = {
        "sat_probability": (lambda f: plot_sat_probability(a, f.subplots()), (6.4, 4.6)),
        "unsat_observables": (lambda f: plot_unsat_observables(a, f.subplots(1, 3)),
                              (13, 4.4)),
        "crossings": (lambda f: plot_crossings(a, f.subplots(1, 2)), (10, 4.4)),
    }

    def write(chosen):
        return write_figures(directory, [(n, *draw[n]) for n in chosen],
                             f"{src}   ({CONVENTION})", formats=formats, dpi=dpi,
                             title_size=8)

    paths = write(names)
    if away is None:
        return paths
    if result_or_none(away) is None:  # the helper died: draw its figure here
        write((_LARGEST,))
    return [Path(directory) / f"{n}.{fmt}" for fmt in check_formats(formats)
            for n in FIGURES if n in wanted]
