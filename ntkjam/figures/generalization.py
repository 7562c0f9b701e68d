"""Figures of a generalization study, drawn from a
:class:`~ntkjam.analysis.generalization.GeneralizationAnalysis` (nothing is recomputed).

* :func:`plot_test_error` — test error vs φ per size: the single model (the members'
  mean) and the ensemble with 95 % intervals, the theory curves, φ_c (hinge, with its
  interval) and the interpolation threshold marked, the located maxima.
* :func:`plot_norms` — ‖w‖ and the test loss vs φ (log scale): their growth near the
  threshold, and P(SAT) for the hinge tasks.
* :func:`plot_theory_deviation` — the relative deviation from each theory vs φ.
* :func:`plot_p_scaling` — at fixed N, the single-minus-ensemble gap vs P with its fit.
* :func:`save_generalization_figures` — all four, as PNG and PDF.

Without ``ax``/``axes`` each function draws on a new Figure (not registered with pyplot).
Axis labels are mathtext; legends are plain text (mathtext is slow to lay out there).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ntkjam.analysis.generalization import GeneralizationAnalysis
from ntkjam.figures.common import CONVENTION, colors, log_axes, new_figure, no_data, write_figures

__all__ = ["plot_norms", "plot_p_scaling", "plot_test_error", "plot_theory_deviation",
           "save_generalization_figures"]

_FS = 7
PHI = r"$\varphi = N/P$"
_THEORY = {"hastie": "Hastie et al.", "mei_montanari": "Mei–Montanari",
           "spectral": "spectral theory (Funk–Hecke)"}


def _size_label(a: GeneralizationAnalysis, size: int) -> str:
    return f"P = {size}" if a.group == "P" else f"N = {size}"


def _legend(ax, loc: str = "upper right") -> None:
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=_FS, frameon=False, loc=loc)


def _band(ax, c, color, label: str, *, marker: str = "o", filled: bool = True,
          log: bool = False, median: bool = False) -> None:
    """Means with their 95 % intervals (clipped at a positive floor on a log axis), or
    medians with the quartiles of the tasks (heavy-tailed norms)."""
    if median:
        y = c.median
        with np.errstate(invalid="ignore"):
            lo, hi = np.nanquantile(c.values, [0.25, 0.75], axis=1)
        label += " (median, quartiles)"
    else:
        y, lo, hi = c.mean, c.lo, c.hi
    if log:
        floor = np.nanmin(np.where(y > 0, y, np.nan)) * 1e-2 if np.any(y > 0) else 1e-12
        lo = np.maximum(lo, floor)
    yerr = np.clip(np.nan_to_num(np.vstack([y - lo, hi - y])), 0, None)
    ax.errorbar(c.phi, y, yerr=yerr, fmt=marker + ("-" if filled else "--"), ms=3.5, lw=1,
                capsize=2, color=color, mfc=color if filled else "white", label=label)


def _thresholds(a: GeneralizationAnalysis, ax) -> None:
    """φ_c with its interval (hinge) and the interpolation threshold (MSE), labelled."""
    hinge = str(a.settings.get("task", "")).endswith("_hinge")
    lo, hi = ax.get_xlim()
    for k, c in enumerate(x for x in a.crossings if np.isfinite(x.phi_c)):
        label = f"φ_c = {c.phi_c:.2f} ({_size_label(a, c.P)}, P(SAT) = ½)"
        ax.axvline(c.phi_c, color="C3", lw=1, ls="--", label=label, alpha=1 - 0.2 * k)
        if np.isfinite(c.ci_low) and np.isfinite(c.ci_high):
            ax.axvspan(c.ci_low, c.ci_high, color="C3", alpha=0.12, lw=0)
    if not hinge and np.isfinite(a.threshold) and lo <= a.threshold <= hi:
        ax.axvline(a.threshold, color="0.35", lw=1, ls=":",
                   label=f"interpolation, φ = {a.threshold:.3g} (N = rank)")
    ax.set_xlim(lo, hi)


def plot_test_error(a: GeneralizationAnalysis, ax=None, *, ensemble: bool = True):
    """Test error vs φ with φ_c and the interpolation threshold marked, theory curves.

    Parameters
    ----------
    a : GeneralizationAnalysis
        Its ``curves`` (per quantity and size: φ, means, intervals, each (k,)), ``theory_curves``,
        ``peaks``, ``crossings`` and ``threshold``.
    ax : matplotlib.axes.Axes, optional
        Default: a new figure (6.6 × 4.6 in).
    ensemble : bool
        Also draw the ensemble's test error (when ``n_ens`` > 1).

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    Ridgeless regression on P = 10 random ReLU features at φ = N/P = 0.5, 1, 1.5: the
    test error peaks at the interpolation threshold N = rank (double descent), drawn on
    a log axis with Mei–Montanari's curve.

    >>> import tempfile
    >>> from ntkjam import sweep
    >>> from ntkjam.analysis import analyze_generalization
    >>> from ntkjam.experiments.generalization import generalization_spec
    >>> spec = generalization_spec(P=(10,), phi_min=0.5, phi_max=1.5, phi_num=3, seeds=3,
    ...                            task="regression_mse", epsilon=0, n_ens=2, n_test=20)
    >>> with tempfile.TemporaryDirectory() as tmp:  # 9 tasks of 2 ridgeless fits each
    ...     _ = sweep.run(spec, output=tmp)
    ...     a = analyze_generalization(tmp, n_boot=10)
    >>> from ntkjam.figures.generalization import plot_test_error
    >>> ax = plot_test_error(a)
    >>> single = ax.containers[0].lines[0]  # the members' mean, with its 95 % interval
    >>> float(single.get_xdata()[single.get_ydata().argmax()]), ax.get_yscale()
    (1.0, 'log')
    >>> ax.get_legend_handles_labels()[1][:2]
    ['Mei–Montanari, P = 10', 'interpolation, φ = 1 (N = rank)']
    """
    if ax is None:
        ax = new_figure((6.6, 4.6)).subplots()
    single = "mean_test_error" if int(a.settings.get("n_ens", 1)) > 1 else "test_error"
    curves = [c for c in a.curves if c.quantity == single]
    if not curves:
        no_data(ax, "no finished tasks")
        return ax
    log = str(a.settings.get("task")) == "regression_mse"
    n_ens = int(a.settings.get("n_ens", 1))
    for c, col in zip(curves, colors(len(curves)), strict=True):
        what = f"single model (mean of {n_ens})" if n_ens > 1 else "single model"
        _band(ax, c, col, f"{what}, {_size_label(a, c.size)}", log=log)
        e = a.curve("ens_test_error", c.size)
        if ensemble and n_ens > 1 and e is not None:
            _band(ax, e, col, f"ensemble of {n_ens}, {_size_label(a, c.size)}", marker="s",
                  filled=False, log=log)
    for t in a.theory_curves:
        ax.plot(t.phi, t.test_error, "-", color="k", lw=1.3, zorder=5,
                label=f"{_THEORY.get(t.name, t.name)}, {_size_label(a, t.size)}")
    located = [p for p in a.peaks if p.quantity == single and p.status == "located"]
    for p in located:
        ax.errorbar([p.phi_peak], [p.height], xerr=[[p.phi_peak - p.ci_low],
                    [p.ci_high - p.phi_peak]], fmt="v", color="C1", ms=6, capsize=3,
                    label=f"maximum, φ = {p.phi_peak:.2f} (95 %)")
    if log:
        log_axes(ax, y=np.concatenate([c.mean for c in curves]))
    _thresholds(a, ax)
    ax.set_xlabel(PHI)
    ax.set_ylabel("test error" + (r" $E(f - y)^2$" if log else r" $P(\mathrm{sign}\,f \neq y)$"))
    ax.set_title(f"{a.settings.get('task')}, source {a.settings.get('source')}", fontsize=9)
    _legend(ax)
    return ax


def plot_norms(a: GeneralizationAnalysis, axes=None):
    """‖w‖ (left), the test loss (middle) and P(SAT) or the train loss (right) vs φ.

    Parameters
    ----------
    a : GeneralizationAnalysis
        Its ``curves`` (per quantity and size: φ, means, intervals, each (k,)) of ``w_norm``,
        ``test_loss`` and ``sat`` or ``train_loss``.
    axes : sequence of 3 Axes, optional
        Default: a new figure (13 × 3.9 in), one row.

    Returns
    -------
    array of Axes, shape (3,)
        The norms and losses on log axes, medians with quartiles.

    Examples
    --------
    >>> import tempfile
    >>> from ntkjam import sweep
    >>> from ntkjam.analysis import analyze_generalization
    >>> from ntkjam.experiments.generalization import generalization_spec
    >>> spec = generalization_spec(P=(10,), phi_min=0.5, phi_max=1.5, phi_num=3, seeds=3,
    ...                            task="regression_mse", epsilon=0, n_ens=2, n_test=20)
    >>> with tempfile.TemporaryDirectory() as tmp:  # 9 tasks of 2 ridgeless fits each
    ...     _ = sweep.run(spec, output=tmp)
    ...     a = analyze_generalization(tmp, n_boot=10)
    >>> from ntkjam.figures.generalization import plot_norms
    >>> axes = plot_norms(a)
    >>> [ax.get_ylabel() for ax in axes][1:], [ax.get_yscale() for ax in axes]
    (['test loss', 'train loss'], ['log', 'log', 'log'])
    """
    if axes is None:
        axes = new_figure((13, 3.9)).subplots(1, 3)
    hinge = str(a.settings.get("task", "")).endswith("_hinge")
    panels = ((axes[0], "w_norm", r"$\Vert w \Vert$ (trained displacement)", True),
              (axes[1], "test_loss", "test loss", True),
              (axes[2], "sat" if hinge else "train_loss",
               "P(SAT)" if hinge else "train loss", not hinge))
    for ax, q, ylabel, log in panels:
        cs = [c for c in a.curves if c.quantity == q]
        if not cs:
            no_data(ax, f"no {q} in the store")
            continue
        for c, col in zip(cs, colors(len(cs)), strict=True):
            _band(ax, c, col, _size_label(a, c.size), log=log, median=log)
        if log:  # the ticks follow the whole drawn range: medians and quartiles
            with np.errstate(invalid="ignore"):
                drawn = [np.nanquantile(c.values, [0.25, 0.75], axis=1).ravel() for c in cs]
            log_axes(ax, y=np.concatenate([c.median for c in cs] + drawn))
        elif q == "sat":
            ax.set_ylim(-0.03, 1.03)
        _thresholds(a, ax)
        ax.set_xlabel(PHI)
        ax.set_ylabel(ylabel)
        _legend(ax)
    axes[0].set_title(r"growth of the norm near the threshold", fontsize=9)
    return axes


def plot_theory_deviation(a: GeneralizationAnalysis, ax=None):
    """``measured/theory − 1`` vs φ with the 95 % intervals, ±10 % marked; the points next
    to the ridgeless divergence (left out of the comparison) as crosses, inside the frame.

    Parameters
    ----------
    a : GeneralizationAnalysis
        Its ``theory`` comparisons (φ, ``rel_dev``, ``sem``, ``included``, each (k,)).
    ax : matplotlib.axes.Axes, optional
        Default: a new figure (6.4 × 4.2 in).

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    The point at the threshold φ = 1 (where the ridgeless error diverges) is left out of
    the comparison and drawn as a cross.

    >>> import tempfile
    >>> from ntkjam import sweep
    >>> from ntkjam.analysis import analyze_generalization
    >>> from ntkjam.experiments.generalization import generalization_spec
    >>> spec = generalization_spec(P=(10,), phi_min=0.5, phi_max=1.5, phi_num=3, seeds=3,
    ...                            task="regression_mse", epsilon=0, n_ens=2, n_test=20)
    >>> with tempfile.TemporaryDirectory() as tmp:  # 9 tasks of 2 ridgeless fits each
    ...     _ = sweep.run(spec, output=tmp)
    ...     a = analyze_generalization(tmp, n_boot=10)
    >>> from ntkjam.figures.generalization import plot_theory_deviation
    >>> ax = plot_theory_deviation(a)
    >>> a.theory[0].included.tolist()
    [True, False, True]
    >>> labels = ax.get_legend_handles_labels()[1]
    >>> labels[0], labels[1]
    ('left out: next to the ridgeless divergence (clipped)', '±10 %')
    """
    if ax is None:
        ax = new_figure((6.4, 4.2)).subplots()
    if not a.theory:
        no_data(ax, "no theory applies to these settings")
        return ax
    top = 0.15
    for t in a.theory:
        err = np.nan_to_num(1.96 * t.sem / t.theory)
        inc = t.included
        if inc.any():
            top = max(top, float(np.nanmax(np.abs(t.rel_dev[inc]) + err[inc])) * 1.15)
    for t, col in zip(a.theory, colors(len(a.theory)), strict=True):
        err = np.nan_to_num(1.96 * t.sem / t.theory)
        inc = t.included
        ax.errorbar(t.phi[inc], t.rel_dev[inc], yerr=err[inc], fmt="o", ms=3.5, capsize=2,
                    color=col, label=f"{_THEORY.get(t.name, t.name)}, {_size_label(a, t.size)}"
                    f": max |dev| = {100 * t.max_abs_rel_dev:.1f} %")
        out = ~inc & np.isfinite(t.rel_dev)
        if out.any():
            ax.plot(t.phi[out], np.clip(t.rel_dev[out], -0.95 * top, 0.95 * top), "x",
                    color=col, label="left out: next to the ridgeless divergence (clipped)")
    ax.axhspan(-0.1, 0.1, color="0.88", lw=0, label="±10 %")
    ax.axhline(0, color="0.4", lw=0.8)
    ax.set_ylim(-top, top)
    ax.set_xlabel(PHI)
    ax.set_ylabel("measured / theory − 1 (test error)")
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=_FS, frameon=True, framealpha=0.9, loc="best")
    return ax


def plot_p_scaling(a: GeneralizationAnalysis, ax=None):
    """At fixed N: single-model minus ensemble test error vs P, with the power-law fit.

    Parameters
    ----------
    a : GeneralizationAnalysis
        Its ``p_scaling`` rows (P, gap and its error, each (k,), per N): a run at fixed
        ``n_train``.
    ax : matplotlib.axes.Axes, optional
        Default: a new figure (6.4 × 4.2 in).

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    N = 12 training points, P = 48, 24, 16 features (φ = 0.25 … 0.75, above the
    threshold): what an ensemble of two gains over one model shrinks as P grows.

    >>> import tempfile
    >>> from ntkjam import sweep
    >>> from ntkjam.analysis import analyze_generalization
    >>> from ntkjam.experiments.generalization import generalization_spec
    >>> spec = generalization_spec(n_train=(12,), phi_min=0.25, phi_max=0.75, phi_num=3, seeds=3,
    ...                            task="regression_mse", epsilon=0, n_ens=2, n_test=20)
    >>> with tempfile.TemporaryDirectory() as tmp:  # 9 tasks of 2 ridgeless fits each
    ...     _ = sweep.run(spec, output=tmp)
    ...     a = analyze_generalization(tmp, n_boot=10)
    >>> from ntkjam.figures.generalization import plot_p_scaling
    >>> ax = plot_p_scaling(a)
    >>> s = a.p_scaling[0]
    >>> s.status, sorted(s.P.tolist()), bool(s.exponent < 0)
    ('measured', [16.0, 24.0, 48.0], True)
    >>> ax.get_xscale(), ax.get_legend_handles_labels()[1][-1]
    ('log', 'N = 12')
    """
    if ax is None:
        ax = new_figure((6.4, 4.2)).subplots()
    rows = [s for s in a.p_scaling if s.P.size]
    if not rows:
        no_data(ax, "no fixed-N sizes (run with n_train) or single models only")
        return ax
    for s, col in zip(rows, colors(len(rows)), strict=True):
        keep = s.gap > 0
        ax.errorbar(s.P[keep], s.gap[keep], yerr=np.nan_to_num(s.gap_sem[keep]), fmt="o",
                    capsize=2, color=col, label=f"N = {s.n}")
        if s.status == "measured":
            ps = np.geomspace(s.P[keep].min(), s.P[keep].max(), 30)
            amp = np.exp(np.mean(np.log(s.gap[keep]) - s.exponent * np.log(s.P[keep])))
            ax.plot(ps, amp * ps**s.exponent, "-", color=col, lw=1,
                    label=f"∝ P^({s.exponent:.2f} ± {1.96 * s.exponent_err:.2f})")
        log_axes(ax, x=s.P[keep], y=s.gap[keep])
    ax.set_xlabel("$P$")
    ax.set_ylabel("single − ensemble test error")
    ax.set_title("above the threshold at fixed N", fontsize=9)
    _legend(ax)
    return ax


def save_generalization_figures(a: GeneralizationAnalysis, directory: str | Path, *,
                                formats: tuple[str, ...] = ("png", "pdf"),
                                dpi: int = 120) -> list[Path]:
    """Write ``test_error``, ``test_error_single`` (without the ensemble), ``norms``,
    ``theory`` and (at fixed N) ``p_scaling`` in each format.

    Parameters
    ----------
    a : GeneralizationAnalysis
    directory : str or Path
    formats : sequence of str
        Default PNG and PDF.
    dpi : int

    Returns
    -------
    list of Path
        The files written (``directory`` is created if needed).

    Examples
    --------
    The run of :func:`plot_test_error` (a run at fixed ``n_train`` adds ``p_scaling``):

    >>> import tempfile
    >>> from ntkjam import sweep
    >>> from ntkjam.analysis import analyze_generalization
    >>> from ntkjam.experiments.generalization import generalization_spec
    >>> from ntkjam.figures.generalization import save_generalization_figures
    >>> spec = generalization_spec(P=(10,), phi_min=0.5, phi_max=1.5, phi_num=3, seeds=3,
    ...                            task="regression_mse", epsilon=0, n_ens=2, n_test=20)
    >>> with tempfile.TemporaryDirectory() as tmp:  # 9 tasks of 2 ridgeless fits each
    ...     _ = sweep.run(spec, output=tmp)
    ...     a = analyze_generalization(tmp, n_boot=10)
    ...     [p.name for p in save_generalization_figures(a, tmp, formats=("png",), dpi=30)]
    ['test_error.png', 'test_error_single.png', 'norms.png', 'theory.png']
    """
    s = a.settings
    title = (f"generalization: task {s.get('task')}, source {s.get('source')}, d = {s.get('d')}"
             f"\nε = {s.get('epsilon')}, noise σ² = {s.get('noise')}, ridge λ = "
             f"{s.get('ridge')}, ensembles of {s.get('n_ens')}  ({CONVENTION})")
    panels = [
        ("test_error", lambda fig: plot_test_error(a, fig.subplots()), (7.2, 5.0)),
        ("test_error_single", lambda fig: plot_test_error(a, fig.subplots(), ensemble=False),
         (7.2, 5.0)),
        ("norms", lambda fig: plot_norms(a, fig.subplots(1, 3)), (14, 4.4)),
        ("theory", lambda fig: plot_theory_deviation(a, fig.subplots()), (7.2, 4.6)),
    ]
    if a.group == "N":
        panels.append(("p_scaling", lambda fig: plot_p_scaling(a, fig.subplots()), (7.2, 4.6)))
    return write_figures(directory, panels, title, formats=tuple(formats), dpi=dpi, title_size=8)
