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
    """The Frobenius drift vs width, one panel per loss (up to two)."""
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
    """Left: ‖θ_T − θ_0‖/‖θ_0‖ vs width; right: the fraction of pattern flips."""
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
    """The drift vs α at fixed width, one panel per loss (up to two), fits over α ≥ α_min."""
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
    """The drift vs N or φ at fixed (width, α): SAT runs filled, UNSAT runs open."""
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

    Returns
    -------
    list of Path
        The files written (``directory`` is created if needed).
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
