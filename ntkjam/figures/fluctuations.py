"""Figures of finite-width NTK fluctuations, drawn from a
:class:`~ntkjam.analysis.fluctuations.FluctuationAnalysis` (nothing is recomputed).

* :func:`plot_width_scaling` — relative distances to K_∞ vs width n and vs P, log–log,
  with the fitted exponents and 95 % intervals in the legends.
* :func:`plot_n_scaling` — relative and absolute norms and the stable rank of
  K_n − K_∞ vs N at fixed width, with the slopes iid entries would give.
* :func:`plot_hanin_nica` — log E[K(x,x)²]/E[K(x,x)]² vs β = Σ_l 1/n_l with the linear fit.
* :func:`plot_ensembles` — distance of the ensemble average K̄ to K_∞ and its random
  part vs the ensemble size.
* :func:`save_fluctuation_figures` — all four, as PNG and PDF.

Without ``ax``/``axes`` each function draws on a new Figure (not registered with pyplot).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ntkjam.analysis.fluctuations import FluctuationAnalysis
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

__all__ = ["plot_ensembles", "plot_hanin_nica", "plot_n_scaling", "plot_width_scaling",
           "save_fluctuation_figures"]

REL_F = r"$\Vert K_n - K_\infty \Vert_F \,/\, \Vert K_\infty \Vert_F$"
REL_OP = r"$\Vert K_n - K_\infty \Vert_{op} \,/\, \Vert K_\infty \Vert_{op}$"
_FS = 7
G, G_P, G_N = "γ", r"$\gamma_P$", r"$\gamma_N$"


def _slope(f: PowerLawFit, symbol: str) -> str:
    """``γ = −0.50 ± 0.03`` (95 % half-width); the numbers in plain text (mathtext is
    slow to lay out in long legends)."""
    half = 0.5 * (f.ci_high - f.ci_low)
    return f"{symbol} = {f.exponent:.2f} ± {half:.2f}".replace("-", "−")


def _log_bars(y, err) -> np.ndarray:
    """Error bars for a log axis: the lower ends kept above zero."""
    y, err = np.asarray(y, dtype=float), np.nan_to_num(np.asarray(err, dtype=float))
    return np.vstack([y - positive_floor(y, y - err), err])


def _draw_fit(ax, f: PowerLawFit, color, label: str, marker: str = "o", filled: bool = True):
    ax.errorbar(f.x, f.y, yerr=_log_bars(f.y, f.y_err), fmt=marker, ms=4, color=color,
                capsize=2, lw=0.8,
                mfc=color if filled else "white", label=label)
    xs = np.geomspace(f.x.min(), f.x.max(), 50)
    ax.plot(xs, f.amplitude * xs**f.exponent, "-", color=color, lw=1, alpha=0.8)


def _guide(ax, x, y0, slope: float, text: str, ls: str = ":") -> None:
    """A grey reference line of ``slope`` through (min x, y0)."""
    xs = np.geomspace(min(x), max(x), 20)
    ax.plot(xs, y0 * (xs / xs[0]) ** slope, ls, color="0.45", lw=1, label=text)


def _legend(ax, size: float = _FS) -> None:
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=size, frameon=False)


def _int_ticks(ax, values) -> None:
    """Tick the x axis of a log plot at the integer sizes themselves."""
    v = sorted({int(x) for x in values})
    if 1 < len(v) <= 8:
        ax.set_xticks(v, [str(x) for x in v])
        ax.minorticks_off()


def _pick(fits, quantity):
    """The fits of ``quantity`` at the largest second key (N or width) of each depth: the
    figures show one group per depth, the analysis (and analysis.json) has them all."""
    fits = [f for f in fits if f.quantity == quantity]
    top = {}
    for f in fits:
        top[f.key[0]] = max(top.get(f.key[0], f.key[1]), f.key[1])
    return [f for f in fits if f.key[1] == top[f.key[0]]]


def plot_width_scaling(a: FluctuationAnalysis, axes=None):
    """Left: distances vs width (Frobenius filled, operator open); right: Frobenius vs P.

    Parameters
    ----------
    a : FluctuationAnalysis
        Its ``width_fits`` and ``params_fits`` (each fit's x, y, y_err of shape
        (k,)); the largest N of each depth is drawn.
    axes : sequence of 2 Axes, optional
        Default: a new figure (11 × 4.4 in), one row.

    Returns
    -------
    array of Axes, shape (2,)

    Examples
    --------
    Distances that fall exactly as n^(−1/2), with 5 % errors (the fits of a real run
    come from :func:`~ntkjam.analysis.analyze_fluctuations`):

    >>> import numpy as np
    >>> from ntkjam.analysis import FluctuationAnalysis, power_law_fit
    >>> n = np.array([16.0, 32.0, 64.0])  # widths; distances 0.8 n^(−1/2) and 0.5 n^(−1/2)
    >>> fits = tuple(power_law_fit(n, c / np.sqrt(n), 0.05 * c / np.sqrt(n), quantity=q,
    ...                            variable="width", group="depth 1, N = 32", key=(1, 32))
    ...              for q, c in (("rel_frobenius", 0.8), ("rel_operator", 0.5)))
    >>> a = FluctuationAnalysis({}, (), fits, (), (), (), (), None, 9, 0)
    >>> from ntkjam.figures.fluctuations import plot_width_scaling
    >>> axes = plot_width_scaling(a)
    >>> round(fits[0].exponent, 6), axes[0].get_legend_handles_labels()[1][1]
    (-0.5, 'depth 1, N = 32: F γ = −0.50 ± 0.10')
    >>> axes[1].texts[0].get_text()  # no fit in P was given
    'no fit in P'
    """
    if axes is None:
        axes = new_figure((11, 4.4)).subplots(1, 2)
    fro, op = _pick(a.width_fits, "rel_frobenius"), _pick(a.width_fits, "rel_operator")
    if not fro:
        no_data(axes[0], "no fit in the width (≥ 3 widths with ≥ 3 seeds needed)")
    cols = colors(max(len(fro), 1))
    for f, g, c in zip(fro, op, cols, strict=False):
        _draw_fit(axes[0], f, c, f"{f.group}: F {_slope(f, G)}")
        _draw_fit(axes[0], g, c, f"op {_slope(g, G)}", "s", filled=False)
    if fro:
        _guide(axes[0], fro[0].x, fro[0].y[0], -0.5, r"$n^{-1/2}$")
        log_axes(axes[0], x=fro[0].x, y=fro[0].y)
        _int_ticks(axes[0], np.concatenate([f.x for f in fro]))
    axes[0].set_xlabel("width $n$")
    axes[0].set_ylabel("relative distance to $K_\\infty$ (F: Frobenius, op: operator)")
    axes[0].set_title(f"{REL_F} and {REL_OP} vs width", fontsize=9)
    pf = _pick(a.params_fits, "rel_frobenius")
    if not pf:
        no_data(axes[1], "no fit in P")
    for f, c in zip(pf, colors(max(len(pf), 1)), strict=False):
        _draw_fit(axes[1], f, c, f"{f.group}: {_slope(f, G_P)}")
    if pf:
        P = np.concatenate([f.x for f in pf])
        y0 = float(np.median([f.y[0] for f in pf]))
        _guide(axes[1], [P.min(), P.max()], y0, -0.25, r"$P^{-1/4}$")
        _guide(axes[1], [P.min(), P.max()], y0, -0.5, r"$P^{-1/2}$", "-.")
        log_axes(axes[1], x=P, y=np.concatenate([f.y for f in pf]))
    axes[1].set_xlabel("parameters $P$")
    axes[1].set_ylabel(REL_F)
    axes[1].set_title("Frobenius distance vs $P$", fontsize=9)
    for ax in axes:
        _legend(ax)
    return axes


_N_PANELS = (
    (("rel_frobenius", "rel_operator"), "relative distance", None),
    (("abs_frobenius", "abs_operator"), r"$\Vert K_n - K_\infty \Vert$", (1.0, 0.5)),
    (("stable_rank",), r"stable rank $\Vert E \Vert_F^2 / \Vert E \Vert_{op}^2$", (0.0, 1.0)),
)


def plot_n_scaling(a: FluctuationAnalysis, axes=None):
    """Norms of E = K_n − K_∞ vs N at fixed (depth, width), fitted exponents in the legends.

    Dotted: the slopes of correlated errors (left of the pair) and of iid entries.

    Parameters
    ----------
    a : FluctuationAnalysis
        Its ``n_fits`` (``rel_*``, ``abs_*`` and ``stable_rank`` against N, each
        fit's arrays of shape (k,)).
    axes : sequence of 3 Axes, optional
        Default: a new figure (14 × 4.4 in), one row.

    Returns
    -------
    array of Axes, shape (3,)

    Examples
    --------
    >>> import numpy as np
    >>> from ntkjam.analysis import FluctuationAnalysis, power_law_fit
    >>> from ntkjam.figures.fluctuations import plot_n_scaling
    >>> N = np.array([8.0, 16.0, 32.0])
    >>> fits = tuple(power_law_fit(N, N**g, 0.05 * N**g, quantity=q, variable="N",
    ...                            group="depth 1, width 64", key=(1, 64))
    ...              for q, g in (("rel_frobenius", -0.25), ("abs_frobenius", 0.75),
    ...                           ("stable_rank", 0.5)))
    >>> axes = plot_n_scaling(FluctuationAnalysis({}, (), (), (), fits, (), (), None, 9, 0))
    >>> [round(f.exponent, 6) for f in fits], [ax.get_xscale() for ax in axes]
    ([-0.25, 0.75, 0.5], ['log', 'log', 'log'])
    >>> axes[1].get_legend_handles_labels()[1][:2]  # the guides of the absolute norms
    ['correlated: $N^{1}$', 'iid: $N^{0.5}$']
    """
    if axes is None:
        axes = new_figure((14, 4.4)).subplots(1, 3)
    groups = sorted({f.group for f in _pick(a.n_fits, "rel_frobenius")})
    cols = colors(max(len(groups), 1))
    for ax, (quantities, ylabel, guides) in zip(axes, _N_PANELS, strict=True):
        if not groups:
            no_data(ax, "no fit in N (≥ 3 values of N needed)")
            continue
        for q, marker, filled in zip(quantities, "os", (True, False), strict=False):
            for f in _pick(a.n_fits, q):
                c = cols[groups.index(f.group)]
                tag = " F" if "frobenius" in q else (" op" if "operator" in q else "")
                _draw_fit(ax, f, c, f"{f.group}{tag}: {_slope(f, G_N)}", marker, filled)
        first = _pick(a.n_fits, quantities[0])[0]
        if guides is not None:
            names = ("correlated", "iid")
            for slope, name, ls in zip(guides, names, (":", "-."), strict=True):
                _guide(ax, first.x, first.y[0], slope, rf"{name}: $N^{{{slope:g}}}$", ls)
        else:
            _guide(ax, first.x, first.y[0], -0.5, r"iid (op): $N^{-1/2}$")
        log_axes(ax, x=first.x, y=first.y)
        _int_ticks(ax, first.x)
        ax.set_xlabel("points $N$")
        ax.set_ylabel(ylabel)
        _legend(ax, _FS - 1)
    axes[0].set_title(f"{REL_F} (filled), {REL_OP} (open)", fontsize=8)
    axes[1].set_title("absolute norms: F (filled), op (open)", fontsize=8)
    axes[2].set_title("how many modes carry the error", fontsize=8)
    return axes


def plot_hanin_nica(a: FluctuationAnalysis, ax=None):
    """log E[K²]/E[K]² vs β per depth with the fits c(L)·β at fixed depth, the pooled
    line, and Hanin–Nica's 5β.

    Parameters
    ----------
    a : FluctuationAnalysis
        Its ``hanin_nica`` fit (points β, log ratio and error, each (k,), one per
        (depth, width)); None draws a note instead.
    ax : matplotlib.axes.Axes, optional
        Default: a new figure (6.4 × 4.6 in).

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    Moments with E[K²]/E[K]² = 1 + 3β (β = depth/width) exactly, 100 networks per point:
    log(1 + 3β) is linear in β at fixed depth within the errors, its rate below 3 and
    well below Hanin–Nica's asymptotic 5.

    >>> import pandas as pd
    >>> from ntkjam.analysis import FluctuationAnalysis, hanin_nica
    >>> df = pd.DataFrame([{"depth": L, "width": w, "beta": L / w, "n_nets": 100, "k_inf": 1.0,
    ...                     "k_mean": 1.0, "k_sq_mean": 1.01, "k2_mean": 1 + 3 * L / w,
    ...                     "k2_sq_mean": (1 + 3 * L / w)**2 + 0.04, "k_k2_mean": 1.01 + 3 * L / w}
    ...                    for L in (1, 2, 3) for w in (16, 32)])
    >>> a = FluctuationAnalysis({}, (), (), (), (), (), (), hanin_nica(df), len(df), 0)
    >>> from ntkjam.figures.fluctuations import plot_hanin_nica
    >>> ax = plot_hanin_nica(a)
    >>> a.hanin_nica.verdict, bool(2 < a.hanin_nica.rate < 3)
    ('linear in β', True)
    >>> print(ax.get_legend_handles_labels()[1][1])
    Hanin–Nica $e^{5\\beta}$: $5\\beta$
    """
    if ax is None:
        ax = new_figure((6.4, 4.6)).subplots()
    h = a.hanin_nica
    if h is None:
        no_data(ax, "no Hanin–Nica fit (≥ 3 (depth, width) points needed)")
        return ax
    depths = sorted(set(h.depth.tolist()))
    rates = dict(zip(h.fit_depths.tolist(), zip(h.depth_rates, h.depth_rate_errs,
                                                strict=True), strict=True))
    b = np.linspace(0, float(h.beta.max()) * 1.05, 50)
    for L, c in zip(depths, colors(len(depths)), strict=True):
        s = h.depth == L
        label = f"L = {L}"
        if L in rates:
            rate, err = rates[L]
            label += f": c = {rate:.2f} ± {1.96 * err:.2f}"
            ax.plot(b, rate * b, "-", color=c, lw=0.8, alpha=0.7)
        ax.errorbar(h.beta[s], h.log_ratio[s], yerr=h.log_ratio_err[s], fmt="o", ms=4,
                    color=c, capsize=2, lw=0.8, label=label)
    half = 0.5 * (h.ci_high - h.ci_low)
    ax.plot(b, h.intercept + h.rate * b, "-", color="k", lw=1.2,
            label=f"pooled: rate {h.rate:.2f} ± {half:.2f}, χ² p = {h.p_value:.2g}")
    ax.plot(b, 5 * b, "--", color="0.5", lw=1, label=r"Hanin–Nica $e^{5\beta}$: $5\beta$")
    ax.set_xlabel(r"$\beta = \sum_l 1/n_l$ (widths " + ", ".join(
        str(w) for w in sorted(set(h.width.tolist()))) + ")")
    ax.set_ylabel(r"$\log\, E[K(x,x)^2] \,/\, E[K(x,x)]^2$")
    ax.set_title(f"Relative second moment of the NTK diagonal: {h.verdict} at fixed depth",
                 fontsize=9)
    _legend(ax)
    return ax


def plot_ensembles(a: FluctuationAnalysis, axes=None):
    """Distance of K̄ (left) and its random part (right) vs ensemble size, per point.

    Parameters
    ----------
    a : FluctuationAnalysis
        Its ``ensembles`` (per (depth, width, N): sizes m, distances and fits,
        arrays of shape (n_ens,) and (n_ens//2,)); the largest N and the smallest and
        largest widths of each depth are drawn.
    axes : sequence of 2 Axes, optional
        Default: a new figure (11 × 4.4 in), one row.

    Returns
    -------
    array of Axes, shape (2,)

    Examples
    --------
    An unbiased ensemble: the average of m networks approaches K_∞ as m^(−1/2), and
    so does its random part (two disjoint halves of 6 networks: m ≤ 3).

    >>> import numpy as np
    >>> from ntkjam.analysis import EnsembleLaw, FluctuationAnalysis, power_law_fit
    >>> from ntkjam.figures.fluctuations import plot_ensembles
    >>> m = np.arange(1.0, 7.0)
    >>> fd, fr = (power_law_fit(x, 0.2 / np.sqrt(x), 0.01 / np.sqrt(x), variable="n_ens")
    ...           for x in (m, m[:3]))
    >>> law = EnsembleLaw(1, 16, 32, 6, 3, m, fd.y, fd.y_err, m[:3], fr.y, fr.y_err, fd, fr,
    ...                   0.0, 1e-5, 0.8, np.tile(fr.y, (3, 1)))
    >>> axes = plot_ensembles(FluctuationAnalysis({}, (), (), (), (), (law,), (), None, 3, 0))
    >>> round(fd.exponent, 6), [len(ax.containers) for ax in axes]
    (-0.5, [1, 1])
    >>> axes[0].get_legend_handles_labels()[1][1]
    'L = 1, n = 16, N = 32: γ = −0.50 ± 0.07'
    """
    if axes is None:
        axes = new_figure((11, 4.4)).subplots(1, 2)
    laws = [e for e in a.ensembles if e.random_fit is not None or e.distance_fit is not None]
    # one N per depth (the largest), its smallest and largest widths
    top_n = {e.depth: max(x.n for x in laws if x.depth == e.depth) for e in laws}
    laws = [e for e in laws if e.n == top_n[e.depth]]
    ends = {e.depth: {min(x.width for x in laws if x.depth == e.depth),
                      max(x.width for x in laws if x.depth == e.depth)} for e in laws}
    laws = [e for e in laws if e.width in ends[e.depth]]
    if not laws:
        for ax in axes:
            no_data(ax, r"no ensemble law ($n_{ens}$ ≥ 3 and ≥ 3 seeds needed)")
        return axes
    for e, c in zip(laws, colors(len(laws)), strict=True):
        lab = f"L = {e.depth}, n = {e.width}, N = {e.n}"
        for ax, f in ((axes[0], e.distance_fit), (axes[1], e.random_fit)):
            if f is not None:
                _draw_fit(ax, f, c, f"{lab}: {_slope(f, G)}")
    for ax, fit_of in ((axes[0], "distance_fit"), (axes[1], "random_fit")):
        f = next((getattr(e, fit_of) for e in laws if getattr(e, fit_of) is not None), None)
        if f is None:
            no_data(ax, r"fewer than 3 ensemble sizes (the random part needs $n_{ens}$ ≥ 6)")
        else:
            _guide(ax, f.x, f.y[0], -0.5, r"$n_{ens}^{-1/2}$")
            log_axes(ax, x=f.x, y=f.y)
            _int_ticks(ax, f.x)
        ax.set_xlabel(r"ensemble size $n_{ens}$")
        _legend(ax)
    axes[0].set_ylabel(r"$\Vert \bar K - K_\infty \Vert_F \,/\, \Vert K_\infty \Vert_F$")
    axes[1].set_ylabel(r"$\Vert \bar K_A - \bar K_B \Vert_F \,/\, (\sqrt{2}\,"
                       r"\Vert K_\infty \Vert_F)$")
    axes[0].set_title("ensemble average to $K_\\infty$ (bias included)", fontsize=9)
    axes[1].set_title("random part (two disjoint ensembles)", fontsize=9)
    return axes


def save_fluctuation_figures(a: FluctuationAnalysis, directory: str | Path, *,
                             formats=FORMATS,
                             dpi: int = 120) -> list[Path]:
    """Write ``width_scaling``, ``n_scaling``, ``hanin_nica``, ``ensembles`` in each format.

    Parameters
    ----------
    a : FluctuationAnalysis
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
    With only the Hanin–Nica moments (see :func:`plot_hanin_nica`), the other figures
    say on each panel what is missing:

    >>> import tempfile
    >>> import pandas as pd
    >>> from ntkjam.analysis import FluctuationAnalysis, hanin_nica
    >>> df = pd.DataFrame([{"depth": L, "width": w, "beta": L / w, "n_nets": 100, "k_inf": 1.0,
    ...                     "k_mean": 1.0, "k_sq_mean": 1.01, "k2_mean": 1 + 3 * L / w,
    ...                     "k2_sq_mean": (1 + 3 * L / w)**2 + 0.04, "k_k2_mean": 1.01 + 3 * L / w}
    ...                    for L in (1, 2, 3) for w in (16, 32)])
    >>> a = FluctuationAnalysis({}, (), (), (), (), (), (), hanin_nica(df), len(df), 0)
    >>> from ntkjam.figures.fluctuations import save_fluctuation_figures
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     [p.name for p in save_fluctuation_figures(a, tmp, formats="png", dpi=30)]
    ['width_scaling.png', 'n_scaling.png', 'hanin_nica.png', 'ensembles.png']
    """
    s = a.settings
    title = (f"MLPs in the NTK parameterization: activation {s.get('activation')}, "
             f"d = {s.get('d')}, $\\sigma_w$ = {s.get('sigma_w', 0):.3g}, $\\sigma_b$ = "
             f"{s.get('sigma_b')}  "
             "(n = width, N = points, P = parameters)")
    panels = [
        ("width_scaling", lambda f: plot_width_scaling(a, f.subplots(1, 2)), (12, 4.8)),
        ("n_scaling", lambda f: plot_n_scaling(a, f.subplots(1, 3)), (16, 4.8)),
        ("hanin_nica", lambda f: plot_hanin_nica(a, f.subplots()), (7, 5)),
        ("ensembles", lambda f: plot_ensembles(a, f.subplots(1, 2)), (12, 4.8)),
    ]
    return write_figures(directory, panels, title, formats=formats, dpi=dpi, title_size=8)
