"""Figures of jamming on the sphere, drawn from a :class:`SphereJammingAnalysis`.

Nothing here recomputes physics: the distributions, fits and the RS line come from
:func:`ntkjam.analysis.jamming_critical.analyze_sphere_jamming`.  Axes state the
convention: N = training points, P = features, φ = N/rank.

* :func:`plot_distributions` — per jamming point (columns) the cumulative
  distributions of the gaps, ``F(h) = Pr(gap < h) ∝ h^{1−γ}``, and of the forces over
  their mean, ``F(f) ∝ f^{1+θ}``, log–log, one curve per P, with the fitted slope
  (largest P, over its fit window) and the theory slope.
* :func:`plot_jamming_line` — κ_J vs φ per source and P, with the RS capacity line
  κ_RS(φ) (an upper bound on κ_J for κ < 0, exact for κ ≥ 0).
* :func:`save_sphere_figures` — both, as PNG and PDF, into a directory.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ntkjam.analysis.jamming_critical import SphereJammingAnalysis
from ntkjam.figures.common import FORMATS, colors, new_figure, no_data, write_figures

__all__ = ["plot_distributions", "plot_jamming_line", "save_sphere_figures"]


def _columns(a: SphereJammingAnalysis) -> list[tuple[tuple, list]]:
    """The points grouped by (source, d, setting, value), each list in increasing P."""
    groups: dict[tuple, list] = {}
    for p in a.points:
        groups.setdefault((p.source, p.d, p.setting, p.value), []).append(p)
    return [(k, sorted(v, key=lambda p: p.P)) for k, v in groups.items()]


def _slope_line(ax, fit, x, F, offset: float, sign: float, *, style: str, color, label):
    """A line of slope ``1 + sign·fit`` through the CDF at the fit window's top."""
    x_max = fit.tail.x_max
    if not (np.isfinite(x_max) and np.isfinite(fit.tail.decades) and x.size):
        return
    F_top = float(np.interp(np.log(x_max), np.log(x), F))
    xs = np.geomspace(x_max * 10 ** (-fit.tail.decades), x_max, 20)
    ax.plot(xs, F_top * offset * (xs / x_max) ** (1.0 + sign * label[1]), style,
            color=color, lw=1.3, label=label[0])


def _panel(ax, pts, which: str) -> None:
    cols = colors(len(pts))
    for p, col in zip(pts, cols, strict=True):
        x, F = (p.gap_x, p.gap_cdf) if which == "gaps" else (p.force_x, p.force_cdf)
        keep = (x > 0) & (F > 0)  # log–log: a gap of exactly 0 is not drawn
        if keep.any():
            ax.loglog(x[keep], F[keep], "-", color=col, lw=1.4,
                      label=f"P = {p.P} ({p.n_instances} inst.)")
    big = pts[-1]
    fit = big.gamma if which == "gaps" else big.theta
    x, F = (big.gap_x, big.gap_cdf) if which == "gaps" else (big.force_x, big.force_cdf)
    if not x.size:
        no_data(ax, "no values")
        return
    sign = -1.0 if which == "gaps" else 1.0
    sym = r"\gamma" if which == "gaps" else r"\theta"
    if np.isfinite(fit.value):
        _slope_line(ax, fit, x, F, 0.5, sign, style="-", color="C3",
                    label=(rf"fit ${sym} = {fit.value:.3f} \pm {fit.err:.3f}$", fit.value))
    _slope_line(ax, fit, x, F, 2.0, sign, style="--", color="k",
                label=(rf"theory ${sym} = {fit.theory:.5f}$", fit.theory))
    if np.isfinite(fit.tail.x_max):
        ax.axvline(fit.tail.x_max, color="0.6", lw=0.8, ls=":")
    if which == "gaps":
        ax.set_xlabel(r"gap $h = y f - \kappa$")
        ax.set_ylabel(r"$F(h) = \Pr(\mathrm{gap} < h) \sim h^{1-\gamma}$")
    else:
        ax.set_xlabel(r"force $f/\langle f\rangle$ ($f = \Delta$ of a contact)")
        ax.set_ylabel(r"$F(f) \sim f^{1+\theta}$")
    ax.legend(fontsize=7, frameon=False, loc="upper left")


def plot_distributions(a: SphereJammingAnalysis, axes=None):
    """Cumulative gap (top) and force (bottom) distributions, one column per point.

    Parameters
    ----------
    a : SphereJammingAnalysis
        Its ``points``: per jamming point and P the CDFs ``gap_x``, ``gap_cdf`` and
        ``force_x``, ``force_cdf`` (each (m,)) and the fits ``gamma``, ``theta``.
    axes : array of Axes, shape (2, k), optional
        Default: a new figure, one column per (source, d, setting, value).

    Returns
    -------
    array of Axes, shape (2, k)

    Examples
    --------
    >>> import tempfile
    >>> from ntkjam import sweep
    >>> from ntkjam.analysis.jamming_critical import analyze_sphere_jamming
    >>> from ntkjam.experiments.sphere_jamming import sphere_jamming_spec
    >>> spec = sphere_jamming_spec(P=(12,), margin=(-0.5,), seeds=2)  # non-convex: κ < 0
    >>> with tempfile.TemporaryDirectory() as tmp:  # two compressions to jamming
    ...     _ = sweep.run(spec, output=tmp)
    ...     a = analyze_sphere_jamming(tmp)
    >>> from ntkjam.figures.sphere import plot_distributions
    >>> axes = plot_distributions(a)
    >>> axes.shape, axes[0, 0].get_xscale(), axes[0, 0].get_yscale()
    ((2, 1), 'log', 'log')
    >>> axes[0, 0].get_legend_handles_labels()[1][0]  # one CDF per P
    'P = 12 (2 inst.)'
    """
    cols = _columns(a)
    if axes is None:
        axes = new_figure((4.2 * max(len(cols), 1), 7.6)).subplots(
            2, max(len(cols), 1), squeeze=False)
    for j, ((source, d, setting, value), pts) in enumerate(cols):
        src = source if d is None else f"{source}, $d = {d}$"
        name = r"\kappa" if setting == "margin" else r"\varphi"
        side = "convex" if pts[-1].convex else "non-convex"
        title = (rf"{src}: ${name} = {value:g}$, $\kappa_J = {pts[-1].kappa_j:.3f}$ "
                 f"({side})")
        for i, which in enumerate(("gaps", "forces")):
            _panel(axes[i, j], pts, which)
            axes[i, j].set_title(title, fontsize=9)
    return axes


def plot_jamming_line(a: SphereJammingAnalysis, ax=None):
    """κ_J (mean ± standard error) vs φ = N/rank per source and P, with the RS line.

    Parameters
    ----------
    a : SphereJammingAnalysis
        Its ``points`` (``phi_eff``, ``kappa_j``, ``kappa_j_sem``) and the RS line
        ``rs_phi``, ``rs_kappa`` (each (m,)).
    ax : matplotlib.axes.Axes, optional
        Default: a new figure (6.4 × 4.6 in).

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    Compressed from κ = −0.5, P = 12 Gaussian features jam at a margin κ_J below the
    replica-symmetric line (an upper bound in the non-convex regime), isostatic:
    N_Δ = rank.

    >>> import tempfile
    >>> from ntkjam import sweep
    >>> from ntkjam.analysis.jamming_critical import analyze_sphere_jamming
    >>> from ntkjam.experiments.sphere_jamming import sphere_jamming_spec
    >>> spec = sphere_jamming_spec(P=(12,), margin=(-0.5,), seeds=2)  # non-convex: κ < 0
    >>> with tempfile.TemporaryDirectory() as tmp:  # two compressions to jamming
    ...     _ = sweep.run(spec, output=tmp)
    ...     a = analyze_sphere_jamming(tmp)
    >>> from ntkjam.figures.sphere import plot_jamming_line
    >>> ax = plot_jamming_line(a)
    >>> p = a.points[0]
    >>> bool(p.kappa_j < p.kappa_rs), float(p.isostaticity)
    (True, 1.0)
    >>> ax.containers[0].lines[0].get_ydata().tolist() == [p.kappa_j]
    True
    """
    if ax is None:
        ax = new_figure((6.4, 4.6)).subplots()
    groups: dict[tuple, list] = {}
    for p in a.points:
        groups.setdefault((p.source, p.d, p.P), []).append(p)
    markers = "osD^v<>"
    for (key, pts), col, m in zip(groups.items(), colors(len(groups)), markers * 9,
                                  strict=False):
        source, d, P = key
        src = source if d is None else f"{source} ($d = {d}$)"
        ax.errorbar([p.phi_eff for p in pts], [p.kappa_j for p in pts],
                    yerr=[np.nan_to_num(p.kappa_j_sem) for p in pts], fmt=m, ms=4,
                    color=col, capsize=2, lw=1, label=f"{src}, P = {P}")
    if a.rs_phi.size:
        keep = a.rs_phi <= 1.15 * max(p.phi_eff for p in a.points)
        ax.plot(a.rs_phi[keep], a.rs_kappa[keep], "-", color="k", lw=1.2,
                label=r"RS: $\varphi = \alpha_{RS}(\kappa)$ (bound for $\kappa<0$)")
    ax.axhline(0.0, color="0.6", lw=0.8, ls=":")
    ax.set_xlabel(r"$\varphi = N/\mathrm{rank}$")
    ax.set_ylabel(r"jamming margin $\kappa_J$")
    ax.set_title(r"jamming line on the sphere $\|w\|^2 = \mathrm{rank}$", fontsize=10)
    ax.legend(fontsize=7, frameon=False, loc="lower left")
    return ax


def save_sphere_figures(a: SphereJammingAnalysis, directory: str | Path, *,
                        formats=FORMATS, dpi: int = 150,
                        prefix: str = "sphere") -> list[Path]:
    """Write ``PREFIX_distributions`` and ``PREFIX_jamming_line`` in each format (PNG and
    PDF by default), all of the first format first.

    Parameters
    ----------
    a : SphereJammingAnalysis
    directory : str or Path
        Created if needed.
    formats : str or sequence of str
        Default PNG and PDF.
    dpi : int
    prefix : str
        The start of the file names.

    Returns
    -------
    list of Path

    Examples
    --------
    >>> import tempfile
    >>> from ntkjam import sweep
    >>> from ntkjam.analysis.jamming_critical import analyze_sphere_jamming
    >>> from ntkjam.experiments.sphere_jamming import sphere_jamming_spec
    >>> spec = sphere_jamming_spec(P=(12,), margin=(-0.5,), seeds=2)  # non-convex: κ < 0
    >>> from ntkjam.figures.sphere import save_sphere_figures
    >>> with tempfile.TemporaryDirectory() as tmp:  # two compressions to jamming
    ...     _ = sweep.run(spec, output=tmp)
    ...     a = analyze_sphere_jamming(tmp)
    ...     [p.name for p in save_sphere_figures(a, tmp, formats="png", dpi=40)]
    ['sphere_distributions.png', 'sphere_jamming_line.png']
    """
    k = max(len(_columns(a)), 1)
    panels = [
        (f"{prefix}_distributions",
         lambda fig: plot_distributions(a, fig.subplots(2, k, squeeze=False)),
         (4.2 * k, 7.8)),
        (f"{prefix}_jamming_line", lambda fig: plot_jamming_line(a, fig.subplots()),
         (6.6, 4.8)),
    ]
    title = "N = training points, P = features, φ = N/rank; jamming on the sphere"
    return write_figures(directory, panels, title, formats=formats, dpi=dpi, title_size=10)
