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
    """``edges.png`` and one ``<study>.png`` of histograms per spectrum study.

    Parameters
    ----------
    studies : dict
        Study name (``spectrum_gaussian``, ``spectrum_features``,
        ``spectrum_truncated``) → ``(df, arrays)``: its finished rows and, per task
        hash, its arrays (``eigenvalues`` of shape (N,), and ``law_x``/``law_density``
        or ``predicted_eigenvalues``), as :func:`ntkjam.report.studies.analyze_studies`
        reads them.
    directory : path
        Where the PNG files go (created).

    Returns
    -------
    list of Path

    Examples
    --------
    One task: K = J Jᵀ of Gaussian features J (N × P = 20 × 10, φ = 2) against the
    Marchenko–Pastur law, half of whose mass is at zero:

    >>> import tempfile
    >>> import numpy as np
    >>> import pandas as pd
    >>> from ntkjam.report.plots import save_spectrum_figures
    >>> from ntkjam.spectrum.random_matrix import mp_law
    >>> J = np.random.default_rng(0).standard_normal((20, 10)) / np.sqrt(10)
    >>> ev, law = np.linalg.eigvalsh(J @ J.T), mp_law(2.0)
    >>> df = pd.DataFrame({"phi": [2.0], "seed": 0, "hash": "t0", "n": 20, "p": 10,
    ...                    "smallest_nonzero": ev[10], "zero_fraction": 0.5,
    ...                    "expected_zero_fraction": 0.5, "ks": 0.1,
    ...                    "prediction": "Marchenko–Pastur", "predicted_atom": law.atom})
    >>> arrays = {"t0": {"eigenvalues": ev, "law_x": law.x, "law_density": law.density}}
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     paths = save_spectrum_figures({"spectrum_gaussian": (df, arrays)}, tmp)
    ...     pngs = [p.read_bytes()[:4] == b"\\x89PNG" for p in paths]
    >>> [p.name for p in paths], pngs
    (['edges.png', 'spectrum_gaussian.png'], [True, True])
    """
    directory = Path(directory)
    out = [_edges(studies, directory / "edges.png")]
    for name, (df, arrays) in studies.items():
        out.append(_histograms(df, arrays, directory / f"{name}.png"))
    return out


def save_fixed_point_figure(rows: list[dict], directory: str | Path) -> list[Path]:
    """``fixed_points.png``: the fraction of end points that are not minima vs φ.

    Parameters
    ----------
    rows : list of dict
        From :func:`ntkjam.analysis.fixed_points.fixed_point_summary`: per loss and φ,
        ``loss``, ``phi``, ``fraction`` with its 95 % Wilson interval ``ci_low``,
        ``ci_high``, and ``theory``.
    directory : path
        Where the PNG goes (created).

    Returns
    -------
    list of Path
        ``[directory/fixed_points.png]``.

    Examples
    --------
    >>> import tempfile
    >>> from ntkjam.report.plots import save_fixed_point_figure
    >>> rows = [{"loss": "mse", "phi": phi, "fraction": f, "ci_low": lo, "ci_high": hi,
    ...          "theory": float(phi > 1)}
    ...         for phi, f, lo, hi in ((0.5, 0.0, 0.0, 0.24), (2.0, 1.0, 0.76, 1.0))]
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     (path,) = save_fixed_point_figure(rows, tmp)
    ...     png = path.read_bytes()[:4] == b"\\x89PNG"
    >>> path.name, png
    ('fixed_points.png', True)
    """

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
