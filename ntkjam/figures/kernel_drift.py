"""Figures of the training drift of the NTK, drawn from a
:class:`~ntkjam.analysis.kernel_drift.KernelDriftAnalysis` (nothing is recomputed).

* :func:`plot_drift_width` — ‖K_T − K_0‖_F/‖K_0‖_F vs width n, log–log, one panel per
  loss, the fitted exponents with 95 % intervals in the legend, guides n^-1 and n^-3/4.
* :func:`plot_mechanism_width` — the relative weight change and the fraction of
  activation-pattern flips vs width (guide n^-1/2).
* :func:`plot_drift_alpha` — the drift vs the output scale α at fixed width, one panel
  per loss (guides α^-1 and α^-1/2), the fit over α ≥ α_min.
* :func:`plot_drift_sides` — the drift vs N or φ across φ_c, SAT runs filled, UNSAT open.
* :func:`save_kernel_drift_figures` — all four, as PNG and PDF.

Without ``ax``/``axes`` each function draws on a new Figure (not registered with pyplot).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ntkjam.analysis.kernel_drift import KernelDriftAnalysis
from ntkjam.analysis.power_law import PowerLawFit
from ntkjam.figures.common import (
    FORMATS,
    colors,
    log_axes,
    new_figure,
    no_data,
    positive_floor,
    write_figures,
)

__all__ = ["plot_drift_alpha", "plot_drift_sides", "plot_drift_width",
           "plot_mechanism_width", "save_kernel_drift_figures"]

DRIFT = r"$\Vert K_T - K_0 \Vert_F \,/\, \Vert K_0 \Vert_F$"
_FS = 7


def _slope(f: PowerLawFit, symbol: str = "γ") -> str:
    """``γ = −0.98 ± 0.05`` (95 % half-width)."""
    half = 0.5 * (f.ci_high - f.ci_low)
    return f"{symbol} = {f.exponent:.2f} ± {half:.2f}".replace("-", "−")


def _log_bars(y, err) -> np.ndarray:
    """Error bars for a log axis: the lower ends kept above zero."""
    y, err = np.asarray(y, dtype=float), np.nan_to_num(np.asarray(err, dtype=float))
    return np.vstack([y - positive_floor(y, y - err), err])


def _draw_fit(ax, f: PowerLawFit, color, label: str, marker: str = "o",
              filled: bool = True) -> None:
    ax.errorbar(f.x, f.y, yerr=_log_bars(f.y, f.y_err), fmt=marker, ms=4, color=color,
                capsize=2, lw=0.8,
                mfc=color if filled else "white", label=label)
    xs = np.geomspace(f.x.min(), f.x.max(), 50)
    ax.plot(xs, f.amplitude * xs**f.exponent, "-" if filled else "--", color=color, lw=1,
            alpha=0.8)


def _guide(ax, x, y0: float, slope: float, text: str, ls: str = ":") -> None:
    xs = np.geomspace(min(x), max(x), 20)
    ax.plot(xs, y0 * (xs / xs[0]) ** slope, ls, color="0.45", lw=1, label=text)


def _legend(ax, size: float = _FS) -> None:
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=size, frameon=False, loc="best")


def _int_ticks(ax, values) -> None:
    v = sorted({int(x) for x in values})
    if 1 < len(v) <= 8:
        ax.set_xticks(v, [str(x) for x in v])
        ax.minorticks_off()


def _short(group: str) -> str:
    """A fit's group without the loss (the panel says it)."""
    return group.split(", ", 1)[1] if ", " in group else group


def plot_drift_width(a: KernelDriftAnalysis, axes=None):
    """The Frobenius drift vs width, one panel per loss (up to two).

    Parameters
    ----------
    a : KernelDriftAnalysis
        Its ``points`` (the losses) and ``width_fits`` of ``rel_frobenius`` (each
        fit's arrays of shape (k,)).
    axes : sequence of Axes, optional
        One per loss; default: a new figure, one row.

    Returns
    -------
    array of Axes, shape (number of losses,)

    Examples
    --------
    A synthetic table (a real one is analysed by
    :func:`~ntkjam.analysis.analyze_kernel_drift`; training takes too long for an example):

    >>> import numpy as np, pandas as pd
    >>> from ntkjam.analysis.kernel_drift import KernelDriftAnalysis, drift_points, width_fits
    >>> w = np.repeat([32, 64, 128], 3); s = np.tile([-1, 0, 1], 3)  # 3 widths × 3 seeds
    >>> df = pd.DataFrame({"width": w, "seed": s, "n": 50, "alpha": 10.0, "n_params": 12 * w,
    ...                    "train_status": "converged", "n_points": 50,
    ...                    "weight_change": 0.3 / w**0.5, "pattern_change": 0.05 / w**0.5,
    ...                    "rel_frobenius": 4 / w * (1 + 0.01 * s)})
    >>> pts = drift_points(df)  # drift = 4/n ± 1 %, weights and patterns ∝ n^(−1/2)
    >>> a = KernelDriftAnalysis({}, tuple(pts), tuple(width_fits(pts)), (), (), (), len(df), 0, 0)
    >>> from ntkjam.figures.kernel_drift import plot_drift_width
    >>> axes = plot_drift_width(a)
    >>> len(axes), [(f.quantity, round(f.exponent, 4)) for f in a.width_fits][0]
    (1, ('rel_frobenius', -1.0))
    >>> axes[0].get_legend_handles_labels()[1][:2]  # the lazy n^-1 and ReLU's n^-3/4
    ['$n^{-1}$', '$n^{-3/4}$ (ReLU flips)']
    """
    losses = sorted({p.loss for p in a.points}) or ["quadratic_hinge"]
    if axes is None:
        axes = new_figure((5.8 * len(losses[:2]), 4.6)).subplots(1, len(losses[:2]),
                                                                  squeeze=False)[0]
    for ax, loss in zip(axes, losses, strict=False):
        fits = [f for f in a.width_fits if f.quantity == "rel_frobenius"
                and f.group.startswith(loss + ",")]
        ax.set_title(f"{loss}: {DRIFT} vs width", fontsize=9)
        ax.set_xlabel("width $n$")
        ax.set_ylabel(DRIFT)
        if not fits:
            no_data(ax, "no fit in the width (≥ 3 widths with ≥ 3 runs needed)")
            continue
        for f, c in zip(fits, colors(len(fits)), strict=True):
            _draw_fit(ax, f, c, f"{_short(f.group)}: {_slope(f)}", filled="UNSAT" not in f.group)
        x = np.concatenate([f.x for f in fits])
        y = np.concatenate([f.y for f in fits])
        y0 = float(max(f.y[0] for f in fits))
        _guide(ax, x, y0, -1.0, r"$n^{-1}$")
        _guide(ax, x, y0, -0.75, r"$n^{-3/4}$ (ReLU flips)", "-.")
        log_axes(ax, x=x, y=y)
        _int_ticks(ax, x)
        _legend(ax)
    return axes


def plot_mechanism_width(a: KernelDriftAnalysis, axes=None):
    """Left: ‖θ_T − θ_0‖/‖θ_0‖ vs width; right: the fraction of pattern flips.

    Parameters
    ----------
    a : KernelDriftAnalysis
        Its ``width_fits`` of ``weight_change`` and ``pattern_change``.
    axes : sequence of 2 Axes, optional
        Default: a new figure (11.6 × 4.6 in), one row.

    Returns
    -------
    array of Axes, shape (2,)

    Examples
    --------
    A synthetic table (a real one is analysed by
    :func:`~ntkjam.analysis.analyze_kernel_drift`; training takes too long for an example):

    >>> import numpy as np, pandas as pd
    >>> from ntkjam.analysis.kernel_drift import KernelDriftAnalysis, drift_points, width_fits
    >>> w = np.repeat([32, 64, 128], 3); s = np.tile([-1, 0, 1], 3)  # 3 widths × 3 seeds
    >>> df = pd.DataFrame({"width": w, "seed": s, "n": 50, "alpha": 10.0, "n_params": 12 * w,
    ...                    "train_status": "converged", "n_points": 50,
    ...                    "weight_change": 0.3 / w**0.5, "pattern_change": 0.05 / w**0.5,
    ...                    "rel_frobenius": 4 / w * (1 + 0.01 * s)})
    >>> pts = drift_points(df)  # drift = 4/n ± 1 %, weights and patterns ∝ n^(−1/2)
    >>> a = KernelDriftAnalysis({}, tuple(pts), tuple(width_fits(pts)), (), (), (), len(df), 0, 0)
    >>> from ntkjam.figures.kernel_drift import plot_mechanism_width
    >>> axes = plot_mechanism_width(a)
    >>> [ax.get_title() for ax in axes]
    ['relative weight change vs width', 'activation-pattern flips vs width']
    >>> [len(ax.containers) for ax in axes], [ax.get_xscale() for ax in axes]
    ([1, 1], ['log', 'log'])
    """
    if axes is None:
        axes = new_figure((11.6, 4.6)).subplots(1, 2)
    panels = (("weight_change", r"$\Vert \theta_T - \theta_0 \Vert \,/\, \Vert \theta_0 \Vert$",
               "relative weight change"),
              ("pattern_change", "fraction of (point, unit) sign flips",
               "activation-pattern flips"))
    for ax, (q, ylabel, title) in zip(axes, panels, strict=True):
        fits = [f for f in a.width_fits if f.quantity == q]
        ax.set_title(f"{title} vs width", fontsize=9)
        ax.set_xlabel("width $n$")
        ax.set_ylabel(ylabel)
        if not fits:
            no_data(ax, "no fit in the width")
            continue
        for f, c in zip(fits, colors(len(fits)), strict=True):
            _draw_fit(ax, f, c, f"{f.group}: {_slope(f)}", filled="UNSAT" not in f.group)
        x = np.concatenate([f.x for f in fits])
        _guide(ax, x, float(max(f.y[0] for f in fits)), -0.5, r"$n^{-1/2}$")
        log_axes(ax, x=x, y=np.concatenate([f.y for f in fits]))
        _int_ticks(ax, x)
        _legend(ax, _FS - 1)
    return axes


def _scans_to_draw(a: KernelDriftAnalysis, loss: str) -> list:
    """The α scans of ``loss`` with ≥ 3 values of α; the longest only when one has ≥ 4."""
    scans = [s for s in a.alpha_scans if s.alphas.size >= 3 and s.label.startswith(loss + ",")]
    top = max((s.alphas.size for s in scans), default=0)
    return [s for s in scans if s.alphas.size == top] if top >= 4 else scans


def plot_drift_alpha(a: KernelDriftAnalysis, axes=None):
    """The drift vs α at fixed width, one panel per loss (up to two), fits over α ≥ α_min.

    Parameters
    ----------
    a : KernelDriftAnalysis
        Its ``alpha_scans`` (α, drift and its error, each (k,), per condition,
        width and side) and ``points`` (the losses).
    axes : sequence of Axes, optional
        One per loss; default: a new figure, one row.

    Returns
    -------
    array of Axes, shape (number of losses,)

    Examples
    --------
    A synthetic table (a real one is analysed by
    :func:`~ntkjam.analysis.analyze_kernel_drift`; training takes too long for an example):
    the drift falls as 1/α towards the lazy limit.

    >>> import numpy as np, pandas as pd
    >>> from ntkjam.analysis.kernel_drift import KernelDriftAnalysis, alpha_scans, drift_points
    >>> from ntkjam.figures.kernel_drift import plot_drift_alpha
    >>> al = np.repeat([10.0, 100.0, 1000.0], 3); s = np.tile([-1, 0, 1], 3)
    >>> df = pd.DataFrame({"width": 64, "seed": s, "n": 50, "alpha": al, "n_params": 768,
    ...                    "train_status": "converged", "n_points": 50, "weight_change": 0.1 / al,
    ...                    "rel_frobenius": 0.5 / al * (1 + 0.01 * s)})
    >>> pts = drift_points(df)
    >>> a = KernelDriftAnalysis({}, tuple(pts), (), (), tuple(alpha_scans(pts)), (), 9, 0, 0)
    >>> axes = plot_drift_alpha(a)
    >>> scan = a.alpha_scans[0]
    >>> scan.alphas.tolist(), round(scan.fit.exponent, 4), scan.decreasing, axes[0].get_xscale()
    ([10.0, 100.0, 1000.0], -1.0, True, 'log')
    """
    losses = sorted({p.loss for p in a.points}) or ["quadratic_hinge"]
    if axes is None:
        axes = new_figure((5.8 * len(losses[:2]), 4.8)).subplots(1, len(losses[:2]),
                                                                  squeeze=False)[0]
    for ax, loss in zip(axes, losses, strict=False):
        scans = _scans_to_draw(a, loss)
        ax.set_xlabel(r"output scale $\alpha$")
        ax.set_ylabel(DRIFT)
        ax.set_title(rf"{loss}: lazy limit, drift vs $\alpha$ at fixed width", fontsize=9)
        if not scans:
            no_data(ax, "no α scan (≥ 3 values of α needed)")
            continue
        for s, c in zip(scans, colors(len(scans)), strict=True):
            label = _short(s.label)
            if s.fit is not None:
                label += f": {_slope(s.fit)} (α ≥ {s.alpha_min:g})"
            ax.errorbar(s.alphas, s.drift, yerr=_log_bars(s.drift, s.drift_err),
                        fmt="o" if s.side == "sat"
                        else "s", ms=4, color=c, capsize=2, lw=0.8, label=label,
                        mfc=c if s.side == "sat" else "white")
            ax.plot(s.alphas, s.drift, "-", color=c, lw=0.6, alpha=0.5)
            if s.fit is not None:
                xs = np.geomspace(s.fit.x.min(), s.fit.x.max(), 30)
                ax.plot(xs, s.fit.amplitude * xs**s.fit.exponent, "--", color=c, lw=1)
        x = np.concatenate([s.alphas for s in scans])
        y0 = float(max(s.drift[0] for s in scans))
        _guide(ax, x, y0, -1.0, r"$\alpha^{-1}$")
        _guide(ax, x, y0, -0.5, r"$\alpha^{-1/2}$ (ReLU flips)", "-.")
        log_axes(ax, x=x, y=np.concatenate([s.drift for s in scans]))
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=_FS - 1, frameon=False, loc="lower left")
    return axes


def plot_drift_sides(a: KernelDriftAnalysis, ax=None):
    """The drift vs N or φ at fixed (width, α): SAT runs filled, UNSAT runs open.

    Parameters
    ----------
    a : KernelDriftAnalysis
        Its ``points`` (means and errors per side and size; groups of ≥ 3 seeds at
        ≥ 2 sizes are drawn) and ``sides`` (the UNSAT/SAT ratios).
    ax : matplotlib.axes.Axes, optional
        Default: a new figure (6.6 × 4.8 in).

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    A synthetic table (a real one is analysed by
    :func:`~ntkjam.analysis.analyze_kernel_drift`; training takes too long for an example):
    N = 20 points fit (SAT), N = 80 do not (UNSAT), and the kernel of the UNSAT runs
    moves three times as far.

    >>> import numpy as np, pandas as pd
    >>> from ntkjam.analysis.kernel_drift import KernelDriftAnalysis, drift_points, side_comparisons
    >>> from ntkjam.figures.kernel_drift import plot_drift_sides
    >>> n = np.repeat([20, 80], 3); s = np.tile([-1, 0, 1], 2)
    >>> df = pd.DataFrame({"width": 32, "seed": s, "n": n, "alpha": 10.0, "n_params": 384,
    ...                    "n_points": n, "train_status": np.where(n < 50, "converged", "unsat"),
    ...                    "weight_change": 0.01, "rel_frobenius": np.where(n < 50, 1, 3) * 0.01})
    >>> pts = drift_points(df)
    >>> a = KernelDriftAnalysis({}, tuple(pts), (), (), (), tuple(side_comparisons(pts)), 6, 0, 0)
    >>> ax = plot_drift_sides(a)
    >>> [p.side for p in pts], round(a.sides[0].ratio, 6), ax.get_xlabel()
    (['sat', 'unsat'], 3.0, 'points $N$')
    """
    if ax is None:
        ax = new_figure((6.6, 4.8)).subplots()
    groups: dict[tuple, list] = {}
    for p in a.points:
        if p.n_seeds >= 3:
            groups.setdefault((p.condition[:-1], p.width, p.alpha), []).append(p)
    groups = {k: v for k, v in groups.items() if len({p.size for p in v}) >= 2}
    kind = next((v[0].size_kind for v in groups.values()), "phi")
    ax.set_xlabel(r"$\varphi = N/P$" if kind == "phi" else "points $N$")
    ax.set_ylabel(DRIFT)
    ax.set_title("across the jamming threshold: SAT filled, UNSAT open", fontsize=9)
    if not groups:
        no_data(ax, "no scan in N or φ (≥ 2 sizes needed)")
        return ax
    ratios = {(c.label, c.width, c.alpha): c for c in a.sides}
    drawn = []
    for ((_, width, alpha), pts), c in zip(groups.items(), colors(len(groups)), strict=True):
        head = pts[0].label.split(", ")
        base = ", ".join(h for h in head if not h.startswith(("N =", "φ =")))
        label = f"{base}, width {width}, α = {alpha:g}"
        comp = ratios.get((base, width, alpha))
        if comp is not None:
            label += f": UNSAT/SAT = {comp.ratio:.2f} [{comp.ci_low:.2f}, {comp.ci_high:.2f}]"
        for side, marker in (("sat", "o"), ("unsat", "s")):
            sp = sorted((p for p in pts if p.side == side), key=lambda p: p.size)
            if not sp:
                continue
            y = np.array([p.means["rel_frobenius"] for p in sp], dtype=float)
            err = np.array([p.errors["rel_frobenius"] for p in sp], dtype=float)
            drawn.append(y)
            ax.errorbar([p.size for p in sp], y, yerr=_log_bars(y, err), fmt=marker + "-",
                        ms=4, color=c, capsize=2, lw=0.8, mfc=c if side == "sat" else "white",
                        label=label if side == "sat" else None)
    log_axes(ax, y=np.concatenate(drawn) if drawn else None)
    _legend(ax, _FS - 1)
    return ax


def save_kernel_drift_figures(a: KernelDriftAnalysis, directory: str | Path, *,
                              formats=FORMATS,
                              dpi: int = 120) -> list[Path]:
    """Write ``drift_width``, ``mechanism_width``, ``drift_alpha``, ``drift_sides``.

    Parameters
    ----------
    a : KernelDriftAnalysis
    directory : str or Path
    formats : str or sequence of str
        Default PNG and PDF.
    dpi : int

    Returns
    -------
    list of Path
        The files written (``directory`` is created if needed).

    Examples
    --------
    The width scan of :func:`plot_drift_width` (the figures without an α scan or a
    second size say so on their panels):

    >>> import tempfile
    >>> import numpy as np, pandas as pd
    >>> from ntkjam.analysis.kernel_drift import KernelDriftAnalysis, drift_points, width_fits
    >>> w = np.repeat([32, 64, 128], 3); s = np.tile([-1, 0, 1], 3)  # 3 widths × 3 seeds
    >>> df = pd.DataFrame({"width": w, "seed": s, "n": 50, "alpha": 10.0, "n_params": 12 * w,
    ...                    "train_status": "converged", "n_points": 50,
    ...                    "weight_change": 0.3 / w**0.5, "pattern_change": 0.05 / w**0.5,
    ...                    "rel_frobenius": 4 / w * (1 + 0.01 * s)})
    >>> pts = drift_points(df)  # drift = 4/n ± 1 %, weights and patterns ∝ n^(−1/2)
    >>> a = KernelDriftAnalysis({}, tuple(pts), tuple(width_fits(pts)), (), (), (), len(df), 0, 0)
    >>> from ntkjam.figures.kernel_drift import save_kernel_drift_figures
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     [p.name for p in save_kernel_drift_figures(a, tmp, formats="png", dpi=30)]
    ['drift_width.png', 'mechanism_width.png', 'drift_alpha.png', 'drift_sides.png']
    """
    s = a.settings
    title = (f"NTK drift after training: {s.get('activation')}, depth {s.get('depth')}, "
             f"d = {s.get('d')}, step {s.get('step_rule')} {s.get('lr')} $N/\\lambda_{{max}}$, "
             "momentum "
             f"{s.get('momentum')}\nF = α (f − f₀), loss/α²;  n = width, N = points, "
             "P = parameters, φ = N/P")
    n_loss = max(1, min(2, len({p.loss for p in a.points})))
    panels = [
        ("drift_width", lambda f: plot_drift_width(a, f.subplots(1, n_loss, squeeze=False)[0]),
         (6.2 * n_loss, 5.0)),
        ("mechanism_width", lambda f: plot_mechanism_width(a, f.subplots(1, 2)), (12.4, 5.0)),
        ("drift_alpha", lambda f: plot_drift_alpha(a, f.subplots(1, n_loss, squeeze=False)[0]),
         (6.2 * n_loss, 5.0)),
        ("drift_sides", lambda f: plot_drift_sides(a, f.subplots()), (7.2, 5.2)),
    ]
    return write_figures(directory, panels, title, formats=formats, dpi=dpi, title_size=8)
