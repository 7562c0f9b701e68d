"""Figures of Gram spectra (``ntkjam spectrum --figure``): measured eigenvalues against
their prediction, one panel per φ.

The panels are :class:`~ntkjam.spectrum.compare.Panel` objects (measured eigenvalues
and the laws or discrete spectra predicted for them); nothing here computes a
prediction.

* :func:`plot_spectra` — histograms of the nonzero eigenvalues with the predicted
  densities (or the histograms of the predicted eigenvalues) overlaid.
* :func:`save_spectra` — the same as PNG and PDF.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ntkjam.figures.common import FORMATS, log_axes, new_figure, save_figure
from ntkjam.spectrum.compare import Panel, snap_zeros

__all__ = ["Panel", "plot_spectra", "save_spectra"]


def _edges(span: np.ndarray, bins: int, logx: bool) -> np.ndarray:
    lo, hi = float(span.min()), float(span.max())
    if logx:
        return np.geomspace(lo * 0.98, hi * 1.02, bins + 1)
    return np.linspace(0.0, hi * 1.02, bins + 1)


def _draw_panel(ax, panel: Panel, *, logx: bool, bins: int, zero_tol: float | None) -> None:
    """One panel: the measured histogram, the predicted laws and discrete predictions."""
    lam = snap_zeros(panel.eigenvalues, zero_tol)
    nz = lam[lam > 0]
    zero_frac = 1.0 - nz.size / lam.size
    preds = [(label, snap_zeros(values, zero_tol)) for label, values in panel.predicted]
    span = np.concatenate([nz, *[p[p > 0] for _, p in preds]])
    if nz.size:
        edges = _edges(span, bins, logx)
        counts, _ = np.histogram(nz, bins=edges)
        # On a log axis show the density per unit ln λ (λ ρ(λ)); otherwise per unit λ.
        widths = np.diff(np.log(edges)) if logx else np.diff(edges)
        heights = counts / (lam.size * widths)
        ax.stairs(heights, edges, fill=True, alpha=0.4,
                  label=f"{panel.label} (zero modes {zero_frac:.3f})")
        xs = (np.geomspace if logx else np.linspace)(edges[0], edges[-1], 800)
        for label, law in panel.laws:
            curve = xs * law.pdf(xs) if logx else law.pdf(xs)
            ax.plot(xs, curve, lw=1.5, label=f"{label} (atom {law.atom:.3f})")
        top = float(np.max(heights))
        for label, pred in preds:
            pred_counts, _ = np.histogram(pred[pred > 0], bins=edges)
            pred_heights = pred_counts / (pred.size * widths)
            ax.stairs(pred_heights, edges, lw=1.5,
                      label=f"{label} (zero modes {np.mean(pred == 0):.3f})")
            top = max(top, float(np.max(pred_heights)))
        # A hard edge (φ = 1) diverges like x^{-1/2}: scale to the histograms.
        ax.set_ylim(0.0, 1.4 * top if top > 0 else None)
        if logx:
            log_axes(ax, x=edges)
    else:
        ax.text(0.5, 0.5, f"all {lam.size} eigenvalues are zero modes", ha="center",
                va="center", transform=ax.transAxes, fontsize=9, color="0.4")
    ax.set_title(panel.title, fontsize=10)
    ax.set_xlabel(r"eigenvalue $\lambda$ of K")
    ax.set_ylabel(r"density per unit $\ln \lambda$" if logx else "density")
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=7)


def plot_spectra(panels: Sequence[Panel], *, logx: bool = False, bins: int = 60,
                 zero_tol: float | None = None, ncols: int | None = None):
    """Histograms of the nonzero eigenvalues with predicted densities overlaid.

    Histograms are normalized to the total number of eigenvalues, so they match the
    continuous part of a law with an atom; each panel's legend reports the measured
    zero fraction and the predicted atom.  Discrete predictions (``Panel.predicted``)
    are drawn as outlines of their own histograms on the same bins, which span the
    nonzero values of both.

    Parameters
    ----------
    panels : sequence of Panel
        Each with ``eigenvalues`` of shape (N,).
    logx : bool
        Log-spaced bins and a logarithmic x axis; the density shown is then per unit
        ``ln λ`` (``λ ρ(λ)``), which keeps a spectrum spanning decades readable.
    bins : int
    zero_tol : float, optional
        Zero-mode tolerance (see :func:`~ntkjam.spectrum.compare.snap_zeros`).
    ncols : int, optional
        Columns of the grid of panels (default: all in one row up to 4).

    Returns
    -------
    matplotlib.figure.Figure
        Not registered with pyplot; save it with :func:`save_spectra` or ``savefig``.

    Raises
    ------
    ValueError
        No panel.

    Examples
    --------
    K = J Jᵀ for N = 40 points and P = 20 Gaussian features (φ = 2) against
    Marchenko–Pastur: the measured zero fraction and the law's atom are both ½.

    >>> import numpy as np
    >>> from ntkjam.figures.spectrum import Panel, plot_spectra
    >>> from ntkjam.spectrum import mp_law
    >>> J = np.random.default_rng(0).standard_normal((40, 20)) / np.sqrt(20)
    >>> panel = Panel("φ = 2", np.linalg.eigvalsh(J @ J.T), (("Marchenko–Pastur", mp_law(2.0)),))
    >>> fig = plot_spectra([panel, Panel("rank 0", np.zeros(5))], bins=10)
    >>> [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    ['measured (zero modes 0.500)', 'Marchenko–Pastur (atom 0.500)']
    >>> fig.axes[1].texts[0].get_text()
    'all 5 eigenvalues are zero modes'
    """
    if not panels:
        raise ValueError("panels must contain at least one Panel, got none")
    ncols = ncols or min(len(panels), 4)
    nrows = -(-len(panels) // ncols)
    fig = new_figure((4.4 * ncols, 3.6 * nrows + 0.4))
    axes = fig.subplots(nrows, ncols, squeeze=False)
    for ax, panel in zip(axes.ravel(), panels, strict=False):
        _draw_panel(ax, panel, logx=logx, bins=bins, zero_tol=zero_tol)
    for ax in axes.ravel()[len(panels):]:
        ax.set_visible(False)
    fig.suptitle("Spectrum of the Gram matrix K (N = training points, P = features or "
                 "parameters, φ = N/P)", fontsize=9)
    return fig


def save_spectra(panels: Sequence[Panel], path: str | Path, *, logx: bool = False,
                 formats=FORMATS, dpi: int = 120) -> list[Path]:
    """Write :func:`plot_spectra` as PATH in each format (``a.png`` → ``a.png``, ``a.pdf``).

    Parameters
    ----------
    panels : sequence of Panel
        Each with ``eigenvalues`` of shape (N,).
    path : str or Path
        The file name; its suffix is replaced by each format's.
    logx : bool
        Log-spaced bins (see :func:`plot_spectra`).
    formats : str or sequence of str
        Default PNG and PDF.
    dpi : int

    Returns
    -------
    list of Path
        The files written (the parent directory is created if needed).

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> import numpy as np
    >>> from ntkjam.figures.spectrum import Panel, save_spectra
    >>> lam = np.linalg.eigvalsh(np.diag([0.5, 1.0, 2.0, 4.0]))  # spanning a decade
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     [p.name for p in save_spectra([Panel("four modes", lam)], Path(tmp, "s.png"),
    ...                                   logx=True, dpi=40)]
    ['s.png', 's.pdf']
    """
    return save_figure(plot_spectra(panels, logx=logx), path, formats=formats, dpi=dpi)
