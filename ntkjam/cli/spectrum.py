"""``ntkjam spectrum``: Gram spectra for a list of φ, through the sweep engine."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated, Literal

import typer

from ntkjam.cli._app import app
from ntkjam.cli._choices import ACTIVATIONS
from ntkjam.cli._common import friendly_errors
from ntkjam.cli._options import Workers
from ntkjam.experiments.spectrum import SOURCES, SpectrumParams

#: The sources of :mod:`ntkjam.experiments.spectrum` (the study's own list).
SPECTRUM_SOURCES = SOURCES
# The defaults shown and used here are the study's own (its params model).
_DEFAULTS = SpectrumParams.defaults()

#: The experiment identifier recorded in run directories (and in their task keys) since
#: 0.1; the task now lives in ntkjam.experiments.spectrum (see registry.LEGACY_PATHS).
TASK = "ntkjam.spectrum.experiment:spectrum_task"

#: The sources whose prediction is a list of eigenvalues (Funk–Hecke, analytic NTK): their
#: table has δ₂ = ‖λ − λ̂‖₂/‖λ̂‖₂ between the sorted spectra.
DISCRETE = ("truncated", "empirical", "analytic")


def _parse_phis(text: str) -> list[float]:
    try:
        values = [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise ValueError(f"phi must be a comma-separated list of numbers, got {text!r}") from None
    if not values or any(not (v > 0 and math.isfinite(v)) for v in values):
        raise ValueError(f"phi must be a non-empty list of finite numbers > 0, got {text!r}")
    if len(set(values)) != len(values):
        raise ValueError(f"phi must not repeat a value, got {text!r}")
    return sorted(values)


def _parse_slq(text: str | None) -> tuple[int, int] | None:
    if text is None:
        return None
    try:
        probes, steps = (int(v) for v in text.split(","))
    except ValueError:
        raise ValueError(
            f"slq must be two integers PROBES,STEPS (e.g. 10,80), got {text!r}"
        ) from None
    if probes < 1 or steps < 1:
        raise ValueError(f"slq must be PROBES,STEPS with both >= 1, got {text!r}")
    return probes, steps


def _check_options(phis: list[float], *, source: str, fixed: str, size: int, d: int | None,
                   depth: int, seeds: int, workers: int, activation: str,
                   slq: str | None) -> tuple[int, tuple[int, int] | None]:
    """Refuse bad option values and spectra that cannot fit in memory, before any run
    directory is created; the input dimension (``--d`` or the source's default) and
    the SLQ probes and steps (``None``: dense eigenvalues)."""
    from ntkjam._validate import as_choice, as_int
    from ntkjam.cli._options import check_workers
    from ntkjam.core.limits import check_memory
    from ntkjam.experiments.spectrum import DEFAULT_D, SOURCES
    from ntkjam.kernels.activations import get_activation

    as_choice("source", source, SOURCES)
    as_choice("fixed", fixed, ("n", "p"))
    as_int("size", size, minimum=1)
    d = DEFAULT_D[source] if d is None else as_int("d", d, minimum=2)
    as_int("depth", depth, minimum=1)
    as_int("seeds", seeds, minimum=1)
    check_workers(workers)
    # N x N Gram, its eigendecomposition and the N x P features, per task.
    n_max = size * max(phis) if fixed == "p" else size
    p_max = size if fixed == "p" else size / min(phis)
    if source == "analytic":
        p_max = 0
    check_memory(8.0 * (3 * n_max * n_max + n_max * p_max),
                 f"--size {size} with --fixed {fixed} and phi up to {max(phis):g}",
                 "lower --size or the largest --phi")
    get_activation(activation)
    probes_steps = _parse_slq(slq)
    if source == "analytic" and fixed != "p":
        raise ValueError(
            "fixed must be 'p' for source 'analytic' (the analytic NTK has P = ∞; "
            "φ sets N = round(φ · size)), got 'n'"
        )
    return d, probes_steps


def _task_params(source: str, fixed: str, size: int, d: int, *, activation: str, depth: int,
                 degree: int | None, probes_steps: tuple[int, int] | None) -> dict[str, object]:
    """The fixed parameters of the sweep's tasks: only those the source uses."""
    from ntkjam._validate import as_int

    params: dict[str, object] = {"source": source, "fixed": fixed, "size": size}
    if source != "gaussian":
        params["d"] = d
    if source in ("features", "empirical", "analytic"):
        params["activation"] = activation
    if source in ("empirical", "analytic"):
        params["depth"] = depth
    if source == "truncated" and degree is not None:
        params["degree"] = as_int("degree", degree, minimum=0)
    if probes_steps is not None:
        params["slq_probes"], params["slq_steps"] = probes_steps
    return params


def _table(source: str, method: str):
    """The empty table of the spectra, with the columns that ``source`` fills."""
    from rich.table import Table

    table = Table(title=f"spectrum of K ({source}, {method}), N = training points, "
                  "P = features/parameters")
    expected = {"empirical": "1 − rank/N", "analytic": "predicted"}.get(source, "1 − 1/φ")
    columns = ["φ", "seed", "N", "P", "zero modes", expected, "KS", "W1"]
    columns += ["δ₂"] if source in DISCRETE else []
    columns += ["k"] if source == "truncated" else ["width"] if source == "empirical" else []
    for col in columns:
        table.add_column(col, justify="right")
    return table


def _cells(row, source: str) -> list[str]:
    """One stored task (a row of the results) as the cells of its table row."""
    import numpy as np

    p_text = "∞" if source == "analytic" else str(int(row.p))
    phi_text = f"{row.phi:g}"
    actual = getattr(row, "phi_actual", None)
    if actual is not None and np.isfinite(float(actual)) and abs(actual - row.phi) > 1e-9:
        phi_text += f" ({actual:.3g})"  # P (or N) rounded to a realisable value
    cells = [
        phi_text, str(row.seed), str(row.n), p_text, f"{row.zero_fraction:.4f}",
        f"{row.expected_zero_fraction:.4f}", f"{row.ks:.4f}", f"{row.wasserstein:.3g}",
    ]
    if source in DISCRETE:
        sd = getattr(row, "spectral_distance", None)
        finite = sd is not None and np.isfinite(float(sd))
        cells.append(f"{float(sd):.4f}" if finite else "—")  # no δ₂ from SLQ
    if source == "truncated":
        cells.append(str(int(row.truncation_degree)))
    elif source == "empirical":
        cells.append(str(int(row.width)))
    return cells


def _panel(row, arrays, source: str, label: str):
    """The figure's panel of one stored task: its eigenvalues against the prediction."""
    import numpy as np

    from ntkjam.figures.spectrum import Panel
    from ntkjam.spectrum.random_matrix import make_law

    title = (f"φ = {row.phi:g}, N = {row.n}" if source == "analytic"
             else f"φ = {row.phi:g} (N = {row.n}, P = {int(row.p)})")
    eig = np.asarray(arrays["eigenvalues"])
    if "law_x" in arrays:
        law = make_law(arrays["law_x"], arrays["law_density"], row.predicted_atom)
        return Panel(title, eig, ((row.prediction, law),), label=label)
    pred = np.asarray(arrays["predicted_eigenvalues"])
    return Panel(title, eig, predicted=((row.prediction, pred),), label=label)


@app.command("spectrum")
@friendly_errors
def spectrum_command(
    phi: Annotated[
        str, typer.Option(help="Comma-separated values of φ = N/P, e.g. 0.5,1,2.")
    ] = "0.5,1,2",
    source: Annotated[
        Literal[SPECTRUM_SOURCES],
        typer.Option(
            help="gaussian: iid N(0, 1/P) features vs Marchenko–Pastur. "
            "features: random features of one hidden layer on the sphere of radius √d vs "
            "the Silverstein law of their population covariance (the NNGP Gram). "
            "truncated: Taylor features of the Gaussian kernel truncated at degree k on "
            "S^(d-1), P = their rank Σ_{j≤k} N(d,j) (k chosen to match P), vs the "
            "Funk–Hecke Gram spectrum with exactly N − P zero modes. "
            "empirical: empirical NTK of a network of --depth hidden layers (P = its "
            "parameter count, width chosen to match P) vs the analytic NTK Gram of the same "
            "inputs (Funk–Hecke with --slq). "
            "analytic: the infinite-width NTK Gram (P = ∞, needs --fixed p: N = φ·size) vs "
            "its Funk–Hecke Gram spectrum."
        ),
    ] = _DEFAULTS["source"],
    fixed: Annotated[
        Literal[("p", "n")], typer.Option(help="Which dimension stays fixed across φ.")
    ] = _DEFAULTS["fixed"],
    size: Annotated[int, typer.Option(help="Value of the fixed dimension (P or N).")] = (
        _DEFAULTS["size"]),
    d: Annotated[
        int | None,
        typer.Option(help="Input dimension (default 200 for features, 5 for truncated, "
                     "empirical and analytic)."),
    ] = None,
    activation: Annotated[
        Literal[ACTIVATIONS], typer.Option(help="Activation (features, empirical, analytic).")
    ] = _DEFAULTS["activation"],
    depth: Annotated[int, typer.Option(help="Hidden layers (empirical, analytic).")] = (
        _DEFAULTS["depth"]),
    degree: Annotated[
        int | None,
        typer.Option(help="Truncation degree k (truncated; default: chosen from P)."),
    ] = None,
    slq: Annotated[
        str | None,
        typer.Option(
            help="PROBES,STEPS, e.g. 10,80: estimate each spectrum by block stochastic "
            "Lanczos quadrature from Gram-vector products (J (Jᵀ V) for features, "
            "Jacobian-vector products for networks, kernel row strips for the analytic "
            "NTK: no N × N matrix) instead of dense eigenvalues; the stored eigenvalues "
            "are then the N quantiles of the estimate."
        ),
    ] = None,
    seeds: Annotated[int, typer.Option(help="Replicas per φ.")] = 1,
    output: Annotated[
        Path, typer.Option(help="Run directory (resumable: stored tasks are skipped).")
    ] = Path("runs/spectrum"),
    workers: Workers = 1,
    figure: Annotated[
        Path | None,
        typer.Option(help="Write a figure (histograms and predicted densities) here, as PNG "
                     "and PDF: f.png writes f.png and f.pdf."),
    ] = None,
    logx: Annotated[
        bool, typer.Option("--logx", metavar="", help="Logarithmic eigenvalue axis.")
    ] = False,
) -> None:
    """Eigenvalues of a Gram matrix K at several φ = N/P against their prediction.

    N = training points, P = features or parameters, φ = N/P (the jamming
    papers swap N and P). Each (φ, seed) is a task of the sweep engine, stored
    in OUTPUT with its eigenvalues and the prediction as arrays (rerunning
    resumes). The table gives the zero-mode fraction against its prediction
    (1 − 1/φ, or 1 − rank/N for networks) and the Kolmogorov–Smirnov and
    Wasserstein distances (atom included) to the prediction; for discrete
    predictions (Funk–Hecke, analytic NTK) also δ₂ = ‖λ − λ̂‖₂/‖λ̂‖₂ between the
    sorted spectra. See docs/spectrum.md.
    """
    from rich.console import Console

    from ntkjam import sweep
    from ntkjam.figures.spectrum import save_spectra

    phis = _parse_phis(phi)
    # Checked here, not inside the tasks: a bad value must not create a run directory.
    d, probes_steps = _check_options(phis, source=source, fixed=fixed, size=size, d=d,
                                     depth=depth, seeds=seeds, workers=workers,
                                     activation=activation, slq=slq)
    if figure is not None and figure.suffix.lower() not in (".png", ".pdf"):
        raise ValueError(f"figure must be a path ending in .png or .pdf (both are written), "
                         f"got {str(figure)!r}")
    params = _task_params(source, fixed, size, d, activation=activation, depth=depth,
                          degree=degree, probes_steps=probes_steps)
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
    table = _table(source, "SLQ" if probes_steps else "dense")
    label = "SLQ quantiles" if probes_steps else "measured"
    panels = []
    for row in df.itertuples():
        table.add_row(*_cells(row, source))
        if row.seed == df.seed.min():
            arrays = sweep.load_arrays(summary.directory, row.hash)
            panels.append(_panel(row, arrays, source, label))
    Console().print(table)
    if summary.failed:
        raise ValueError(f"{summary.failed} task(s) failed; see `ntkjam sweep status {output}`")
    if figure is not None:
        written = save_spectra(panels, figure, logx=logx)
        Console(stderr=True).print("figure written to " + " and ".join(map(str, written)),
                                   highlight=False)
