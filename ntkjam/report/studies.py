"""Reading the report's run directories: each study's analysis and its figures.

Only the store is read (the analyses of :mod:`ntkjam.analysis`, the fixed-point
summary of :mod:`ntkjam.analysis.fixed_points`); the figures are the studies' own
(:mod:`ntkjam.figures`) plus the report's (:mod:`ntkjam.report.plots`), written as
PNG under ``output/figures/<study>/``.
"""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

__all__ = ["analyze_studies", "save_png"]


def save_png(save, analysis, directory: Path) -> list[Path]:
    """Call a study's ``save_*_figures`` for PNG only, whatever its format keyword.

    Parameters
    ----------
    save : callable
        ``save(analysis, directory[, formats=... | fmt=...])`` returning the paths written.
    analysis : object
        The study's analysis result, passed through.
    directory : Path
        Where the figures go.

    Returns
    -------
    list of Path
        The ``.png`` files among those written.

    Examples
    --------
    A study's saver that takes ``fmt`` (others take ``formats`` or nothing):

    >>> from pathlib import Path
    >>> from ntkjam.report.studies import save_png
    >>> def save_toy_figures(analysis, directory, fmt="pdf"):
    ...     return [Path(directory, f"{name}.{fmt}") for name in analysis]
    >>> [p.as_posix() for p in save_png(save_toy_figures, ["sat", "width"], Path("figs"))]
    ['figs/sat.png', 'figs/width.png']
    """
    params = inspect.signature(save).parameters
    if "formats" in params:
        paths = save(analysis, directory, formats=("png",))
    elif "fmt" in params:
        paths = save(analysis, directory, fmt="png")
    else:
        paths = save(analysis, directory)
    return [Path(p) for p in paths if str(p).endswith(".png")]


def _dirs(specs: dict[str, tuple], name: str) -> Path:
    return specs[name][0].output_dir()


def _table(directory: Path):
    from ntkjam import sweep

    return sweep.load(directory, status="done")


def _spectra(directory: Path) -> tuple[Any, dict]:
    """The spectrum rows and, per stored task, its arrays."""
    from ntkjam import sweep

    df = _table(directory).sort_values(["phi", "seed"])
    return df, {h: sweep.load_arrays(directory, h) for h in df["hash"]}


def analyze_studies(specs: dict[str, tuple], output: Path, *, n_boot: int = 200,
                    figures: tuple[str, ...] | None = None
                    ) -> tuple[dict[str, Any], dict[str, list[Path]]]:
    """Every study's analysis and its PNG figures.

    Parameters
    ----------
    specs : dict[str, tuple of SweepSpec]
        From :func:`ntkjam.report.profiles.report_specs` (already run).
    output : Path
        The report directory (figures under ``output/figures``).
    n_boot : int
        Bootstrap samples of the crossing and peak fits.
    figures : tuple of str, optional
        Draw only these studies' figures (``"spectra"``: the report's spectrum
        figures); None draws all.

    Returns
    -------
    results : dict
        Study name → its analysis (``fluctuations`` covers ``hanin_nica`` too; the
        spectra and the NTK ranks are their tables, the fixed points their summary).
    figures : dict[str, list of Path]
        Study name (or ``"spectra"``) → its PNG files (empty when not drawn).

    Examples
    --------
    Only the stores are read: for specs whose sweeps have not run, the first study's
    missing run directory is named and nothing is written (the real use, on a finished
    report directory, is :func:`ntkjam.report.build.build_report`):

    >>> import tempfile
    >>> from pathlib import Path
    >>> from ntkjam.report.profiles import report_specs
    >>> from ntkjam.report.studies import analyze_studies
    >>> with tempfile.TemporaryDirectory() as name:
    ...     tmp = str(Path(name).resolve())
    ...     try:
    ...         analyze_studies(report_specs("smoke", tmp), Path(tmp), figures=())
    ...     except ValueError as exc:
    ...         print(str(exc).replace(tmp, "OUT"))
    ...     written = list(Path(tmp).iterdir())
    'OUT/runs/jamming_relu' is not a sweep run directory
    >>> written
    []
    """

    from ntkjam.analysis import (
        analyze,
        analyze_fluctuations,
        analyze_generalization,
        analyze_kernel_drift,
        analyze_trained,
    )
    from ntkjam.analysis.fixed_points import fixed_point_summary
    from ntkjam.analysis.jamming_critical import analyze_sphere_jamming
    from ntkjam.figures import (
        save_figures,
        save_fluctuation_figures,
        save_generalization_figures,
        save_trained_figures,
    )
    from ntkjam.figures.kernel_drift import save_kernel_drift_figures
    from ntkjam.figures.sphere import save_sphere_figures
    from ntkjam.report import plots

    fig_dir = Path(output) / "figures"
    res: dict[str, Any] = {}
    figs: dict[str, list[Path]] = {}

    def draw(name: str, save, *args) -> None:
        figs[name] = save(*args) if figures is None or name in figures else []

    for name in ("jamming_relu", "jamming_fourier", "jamming_taylor", "jamming_jacobian"):
        res[name] = analyze(_dirs(specs, name), n_boot=n_boot)
        draw(name, save_png, save_figures, res[name], fig_dir / name)
    res["ntk_rank"] = _table(_dirs(specs, "ntk_rank"))
    for name in ("spectrum_gaussian", "spectrum_features", "spectrum_truncated"):
        res[name] = _spectra(_dirs(specs, name))
    draw("spectra", plots.save_spectrum_figures,
         {k: res[k] for k in ("spectrum_gaussian", "spectrum_features", "spectrum_truncated")},
         fig_dir / "spectrum")
    res["sphere"] = analyze_sphere_jamming(_dirs(specs, "sphere"))
    draw("sphere", save_png, save_sphere_figures, res["sphere"], fig_dir / "sphere")
    res["fluctuations"] = analyze_fluctuations(_dirs(specs, "fluctuations"),
                                               _dirs(specs, "hanin_nica"))
    draw("fluctuations", save_png, save_fluctuation_figures, res["fluctuations"],
         fig_dir / "fluctuations")
    res["kernel_drift"] = analyze_kernel_drift(_dirs(specs, "kernel_drift"))
    draw("kernel_drift", save_png, save_kernel_drift_figures, res["kernel_drift"],
         fig_dir / "kernel_drift")
    res["fixed_points"] = fixed_point_summary(_dirs(specs, "fixed_points"))
    draw("fixed_points", plots.save_fixed_point_figure, res["fixed_points"],
         fig_dir / "fixed_points")
    res["trained"] = analyze_trained(_dirs(specs, "trained"), n_boot=n_boot)
    draw("trained", save_png, save_trained_figures, res["trained"], fig_dir / "trained")
    res["generalization"] = analyze_generalization(_dirs(specs, "generalization"),
                                                   n_boot=n_boot)
    draw("generalization", save_png, save_generalization_figures, res["generalization"],
         fig_dir / "generalization")
    return res, figs
