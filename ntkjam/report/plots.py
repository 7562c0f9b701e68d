"""The report's own figures: the spectra across φ and the fixed points of the flow.

Drawn from the rows of :mod:`ntkjam.report.spectra` and
:mod:`ntkjam.analysis.fixed_points` only (the numbers come from the store); every
figure is a :class:`matplotlib.figure.Figure` on its own Agg canvas
(:func:`ntkjam.figures.common.new_figure`), written as PNG.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ntkjam.figures.common import CONVENTION, colors, new_figure
from ntkjam.report.spectra import spectrum_rows

__all__ = ["save_fixed_point_figure", "save_spectrum_figures"]

_NAMES = {"spectrum_gaussian": "Gaussian features (Marchenko–Pastur)",
          "spectrum_features": "ReLU features (Silverstein)",
          "spectrum_truncated": "truncated Taylor features (Funk–Hecke)"}


def _write(fig, path: Path) -> Path:
    if fig.get_layout_engine() is None:
        fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    return path


def _edges(studies: dict, path: Path) -> Path:
    """Zero-mode fraction and smallest nonzero eigenvalue vs φ, predictions beside."""
    fig = new_figure((10.0, 4.0))
    ax0, ax1 = fig.subplots(1, 2)
    for (name, (df, arrays)), c in zip(studies.items(), colors(len(studies)), strict=True):
        rows = spectrum_rows(df, arrays)
        phi = np.array([r["phi"] for r in rows])
        ax0.plot(phi, [r["zero_fraction"] for r in rows], "o", color=c, label=_NAMES[name])
        ax0.plot(phi, [r["expected_zero_fraction"] for r in rows], "--", color=c,
                 label="predicted")
        s = np.array([r["smallest"] for r in rows])
        ax1.plot(phi, s, "o", color=c, label=_NAMES[name])
        ax1.plot(phi, [r["edge"] for r in rows], "--", color=c, label="predicted lower edge")
    ax0.set_xlabel("φ = N/P")
    ax0.set_ylabel("zero-mode fraction of K")
    ax1.set_xlabel("φ = N/P")
    ax1.set_ylabel(r"smallest nonzero eigenvalue $\lambda_{\min}^{+}$")
    ax1.set_yscale("log")
    for ax in (ax0, ax1):
        ax.axvline(1.0, color="0.6", lw=0.8, ls=":")
        ax.legend(fontsize=7)
    fig.suptitle(f"Spectrum of K across φ ({CONVENTION})", fontsize=10)
    return _write(fig, path)


def _histograms(df, arrays: dict, path: Path) -> Path:
    """Measured eigenvalue histograms against the predicted law, one panel per φ."""
    from ntkjam.spectrum.compare import Panel
    from ntkjam.spectrum.random_matrix import make_law

    try:  # the spectrum figures moved to the figures stage
        from ntkjam.figures.spectrum import plot_spectra
    except ImportError:  # pragma: no cover - before the move
        from ntkjam.spectrum.compare import plot_spectra

    panels = []
    for row in df[df["seed"] == df["seed"].min()].itertuples():
        a = arrays[row.hash]
        title = f"φ = {row.phi:g} (N = {row.n}, P = {int(row.p)})"
        if "law_x" in a:
            law = make_law(a["law_x"], a["law_density"], row.predicted_atom)
            panels.append(Panel(title, np.asarray(a["eigenvalues"]), ((row.prediction, law),)))
        else:
            panels.append(Panel(title, np.asarray(a["eigenvalues"]),
                                predicted=((row.prediction, a["predicted_eigenvalues"]),)))
    fig = plot_spectra(panels)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    return path


def save_spectrum_figures(studies: dict, directory: str | Path) -> list[Path]:
    """``edges.png`` and one ``<study>.png`` of histograms per spectrum study."""
    directory = Path(directory)
    out = [_edges(studies, directory / "edges.png")]
    for name, (df, arrays) in studies.items():
        out.append(_histograms(df, arrays, directory / f"{name}.png"))
    return out


def save_fixed_point_figure(rows: list[dict], directory: str | Path) -> list[Path]:
    """``fixed_points.png``: the fraction of end points that are not minima vs φ."""
    fig = new_figure((6.5, 4.0))
    ax = fig.subplots()
    losses = sorted({r["loss"] for r in rows})
    for loss, c in zip(losses, colors(len(losses)), strict=True):
        rs = [r for r in rows if r["loss"] == loss]
        phi = np.array([r["phi"] for r in rs])
        f = np.array([r["fraction"] for r in rs])
        err = np.array([[r["fraction"] - r["ci_low"] for r in rs],
                        [r["ci_high"] - r["fraction"] for r in rs]])
        ax.errorbar(phi, f, yerr=np.clip(err, 0, None), fmt="o", color=c, capsize=3,
                    label=f"{loss}: measured (95 % Wilson)")
        ax.plot(phi, [r["theory"] for r in rs], "--", color=c,
                label=f"{loss}: theory (N > rank; 1 − Cover)")
    ax.set_xlabel("φ = N/P")
    ax.set_ylabel("P(end point is a fixed point, not a minimum)")
    ax.set_ylim(-0.05, 1.05)
    ax.legend(fontsize=7)
    fig.suptitle(f"Fixed points of the flow that are not minima ({CONVENTION})", fontsize=9)
    return [_write(fig, Path(directory) / "fixed_points.png")]
