"""``ntkjam spectrum``: spectra of J Jᵀ for a list of φ, through the sweep engine."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ntkjam.cli import app
from ntkjam.cli._common import friendly_errors

TASK = "ntkjam.spectrum.experiment:spectrum_task"


def _parse_phis(text: str) -> list[float]:
    try:
        values = [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise ValueError(f"phi must be a comma-separated list of numbers, got {text!r}") from None
    if not values or any(not v > 0 for v in values):
        raise ValueError(f"phi must be a non-empty list of numbers > 0, got {text!r}")
    return sorted(set(values))


@app.command("spectrum")
@friendly_errors
def spectrum_command(
    phi: Annotated[
        str, typer.Option(help="Comma-separated values of φ = N/P, e.g. 0.5,1,2.")
    ] = "0.5,1,2",
    source: Annotated[
        str,
        typer.Option(
            help="gaussian: iid N(0, 1/P) features, compared with Marchenko–Pastur. "
            "features: random features of one hidden layer on the sphere of radius √d, "
            "compared with the Silverstein law of their population covariance (the NNGP Gram)."
        ),
    ] = "gaussian",
    fixed: Annotated[
        str, typer.Option(help="Which dimension stays fixed across φ: p or n.")
    ] = "p",
    size: Annotated[int, typer.Option(help="Value of the fixed dimension (P or N).")] = 500,
    d: Annotated[int, typer.Option(help="Input dimension (features source).")] = 200,
    activation: Annotated[
        str, typer.Option(help="Activation of the random features (features source).")
    ] = "relu",
    seeds: Annotated[int, typer.Option(help="Replicas per φ.")] = 1,
    output: Annotated[
        Path, typer.Option(help="Run directory (resumable: stored tasks are skipped).")
    ] = Path("runs/spectrum"),
    workers: Annotated[
        int, typer.Option("--workers", "-w", help="1: in this process; k > 1: local Dask.")
    ] = 1,
    figure: Annotated[
        Path | None,
        typer.Option(help="Write a figure (histograms and predicted densities) here."),
    ] = None,
    logx: Annotated[bool, typer.Option("--logx", help="Logarithmic eigenvalue axis.")] = False,
) -> None:
    """Eigenvalues of K = J Jᵀ at several φ = N/P against their prediction.

    N = training points, P = features, φ = N/P (the jamming papers swap
    N and P). Each (φ, seed) is a task of the sweep engine, stored in
    OUTPUT with its eigenvalues as arrays (rerunning resumes). The table
    gives the zero-mode fraction against 1 − 1/φ and the Kolmogorov–Smirnov
    and Wasserstein distances (atom included) to Marchenko–Pastur or
    Silverstein. See docs/spectrum.md.
    """
    import numpy as np
    from rich.console import Console
    from rich.table import Table

    from ntkjam import sweep
    from ntkjam._validate import as_choice, as_int
    from ntkjam.spectrum.compare import Panel, plot_spectra
    from ntkjam.spectrum.experiment import SOURCES
    from ntkjam.spectrum.random_matrix import make_law

    phis = _parse_phis(phi)
    as_choice("source", source, SOURCES)
    as_choice("fixed", fixed, ("n", "p"))
    as_int("size", size, minimum=1)
    as_int("d", d, minimum=2)
    as_int("seeds", seeds, minimum=1)
    params = {"source": source, "fixed": fixed, "size": size}
    if source == "features":
        params.update({"d": d, "activation": activation})
    spec = sweep.parse_spec(
        {
            "experiment": TASK,
            "description": "ntkjam spectrum",
            "output": str(output),
            "seeds": {"count": seeds, "start": 0},
            "params": params,
            "grid": {"phi": phis},
        },
        source="ntkjam spectrum",
        base_dir=Path.cwd(),
    )
    summary = sweep.run(spec, workers=workers, progress=False)
    df = sweep.load(summary.directory, status="done").sort_values(["phi", "seed"])
    table = Table(title=f"spectrum of J Jᵀ ({source}), N = training points, P = features")
    for col in ("φ", "seed", "N", "P", "zero modes", "1 − 1/φ", "KS", "W1"):
        table.add_column(col, justify="right")
    panels = []
    for row in df.itertuples():
        table.add_row(
            f"{row.phi:g}", str(row.seed), str(row.n), str(row.p), f"{row.zero_fraction:.4f}",
            f"{row.expected_zero_fraction:.4f}", f"{row.ks:.4f}", f"{row.wasserstein:.3g}",
        )
        if row.seed == df.seed.min():
            arrays = sweep.load_arrays(summary.directory, row.hash)
            law = make_law(arrays["law_x"], arrays["law_density"], row.predicted_atom)
            label = "Marchenko–Pastur" if source == "gaussian" else "Silverstein"
            panels.append(Panel(f"φ = {row.phi:g}", np.asarray(arrays["eigenvalues"]),
                                ((label, law),)))
    Console().print(table)
    if summary.failed:
        raise ValueError(f"{summary.failed} task(s) failed; see `ntkjam sweep status {output}`")
    if figure is not None:
        fig = plot_spectra(panels, logx=logx)
        figure.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(figure, dpi=120)
        Console(stderr=True).print(f"figure written to {figure}")
