"""``ntkjam jamming-sphere``: the jamming point of the non-convex problem on the sphere.

The sweep of :mod:`ntkjam.experiments.sphere_jamming` (grid P × margin, or P × φ), its
analysis (:mod:`ntkjam.analysis.jamming_critical`: N_Δ/rank at jamming with a CI and
an isostatic verdict, γ and θ against the theory) and figures
(:mod:`ntkjam.figures.sphere`), into a resumable run directory.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Annotated

import typer

from ntkjam.analysis.jamming_critical import analyze_sphere_jamming
from ntkjam.cli._app import app
from ntkjam.cli._common import err_console, friendly_errors, keyword_defaults
from ntkjam.cli._options import Quiet, RunDir, Workers, check_output_dir, check_workers
from ntkjam.cli.phase_diagram import parse_sizes
from ntkjam.experiments.sphere_jamming import (
    CONSTRAINTS,
    SOURCES,
    SphereJammingParams,
    sphere_jamming_spec,
)

__all__ = ["jamming_sphere_command", "parse_values"]

_DEFAULTS = SphereJammingParams.defaults()
_FITS = keyword_defaults(analyze_sphere_jamming)  # the analysis' own fit windows
DEFAULT_OUTPUT = Path("runs/jamming_sphere")


def parse_values(text: str, option: str, *, positive: bool = False) -> list[float]:
    """``"-0.5,-0.3"`` → ``[-0.5, -0.3]``: finite numbers (``> 0`` if ``positive``), distinct."""
    parts = [t.strip() for t in str(text).split(",") if t.strip()]
    if not parts:
        raise ValueError(f"{option} must list at least one number, got {text!r}")
    values = []
    for t in parts:
        try:
            v = float(t)
        except ValueError:
            raise ValueError(f"{option} must be numbers separated by commas, got {t!r}") from None
        if not math.isfinite(v):
            raise ValueError(f"{option} values must be finite, got {t}")
        if positive and not v > 0:
            raise ValueError(f"{option} values must be > 0, got {t}")
        values.append(v)
    if len(set(values)) != len(values):
        raise ValueError(f"{option} must not repeat a value, got {values}")
    return values


def _check_options(constraint: str, margins: list[float] | None, norm: float,
                   windows: tuple[float, float, float, float], n_boot: int) -> None:
    """The refusals that name the options (before the spec is built)."""
    if constraint not in CONSTRAINTS:
        raise ValueError(f"--constraint must be one of {', '.join(CONSTRAINTS)}, got "
                         f"{constraint!r}")
    if constraint == "none":
        if margins is not None and any(m < 0 for m in margins):
            m = min(margins)
            raise ValueError(f"--margin {m:g} < 0 needs a norm constraint (--constraint "
                             "sphere): with f0 = 0 and no constraint, w = 0 meets every "
                             "y f >= margin, so the problem is trivially SAT")
        raise ValueError("--constraint none has no jamming point to compress to (with f0 = 0 "
                         "the problem is trivially SAT for margin <= 0 and scale-free for "
                         "margin > 0: see ntkjam phase-diagram); use --constraint sphere")
    if not (math.isfinite(norm) and norm > 0):
        raise ValueError(f"--norm must be finite and > 0 (the constraint ‖w‖² = norm · rank), "
                         f"got {norm}")
    for option, low, top, lower in (("--gap-fraction", windows[0], windows[1], "--gap-lower"),
                                    ("--force-fraction", windows[2], windows[3],
                                     "--force-lower")):
        if not 0 < top <= 1:
            raise ValueError(f"{option} must be in (0, 1], got {top}")
        if not 0 <= low < top:
            raise ValueError(f"{lower} must be >= 0 and below {option} = {top}, got {low}")
    if not 2 <= n_boot <= 100_000:
        raise ValueError(f"--n-boot must be between 2 and 100000, got {n_boot}")


def _check_directory(directory: Path, params: dict) -> None:
    """Refuse a run directory that holds another experiment or other fixed settings."""
    from ntkjam.sweep import stored_spec
    from ntkjam.sweep.store import is_run_directory

    if not is_run_directory(directory):
        return
    spec = stored_spec(directory)
    if spec is None:
        return
    if spec.experiment != "sphere_jamming":
        raise ValueError(f"run directory '{directory}' holds a {spec.experiment!r} sweep, not "
                         "a jamming-sphere study; choose another --output")
    if dict(spec.params) != params:
        k = sorted(k for k in set(spec.params) | set(params)
                   if spec.params.get(k) != params.get(k))[0]
        raise ValueError(f"run directory '{directory}' holds a study with {k}="
                         f"{spec.params.get(k)!r}, not {params.get(k)!r}; use another --output "
                         "(the grid and seeds may change between runs, the fixed settings may "
                         "not)")


def _run(spec, workers: int, quiet: bool):
    """Run (or resume) the sweep with one BLAS thread per task; exit 2 / 130 as documented."""
    from threadpoolctl import threadpool_limits

    from ntkjam import sweep
    from ntkjam.sweep.store import RunDirectoryBusy

    try:
        with threadpool_limits(limits=1):
            return sweep.run(spec, workers=workers, progress=not quiet)
    except RunDirectoryBusy as exc:
        err_console.print(f"[bold red]error:[/] {exc}", highlight=False)
        raise typer.Exit(code=2) from None
    except KeyboardInterrupt:
        err_console.print(f"interrupted: finished tasks are stored in {spec.output_dir()}; "
                          "run the same command again to resume", highlight=False)
        raise typer.Exit(code=130) from None


@app.command("jamming-sphere")
@friendly_errors
def jamming_sphere_command(
    source: Annotated[
        str, typer.Option(help=f"Features: {', '.join(SOURCES)} (gaussian: rows N(0, I/P), "
                          "the spherical perceptron).")
    ] = _DEFAULTS["source"],
    sizes: Annotated[str, typer.Option("--P", "-P", help="Feature counts P, comma-separated.")
                     ] = "100,200",
    margin: Annotated[
        str | None, typer.Option(help="Margins κ of the jamming points, comma-separated "
                                 "(φ = α_RS(κ) each); or give --phi.")
    ] = None,
    phi: Annotated[
        str | None, typer.Option(help="φ = N/rank values, comma-separated (κ_J is measured "
                                 "there); instead of --margin.")
    ] = None,
    seeds: Annotated[int, typer.Option(help="Instances (seeds) per point.")] = 8,
    d: Annotated[int, typer.Option(help="Input dimension (inputs on S^(d-1)).")] = (
        _DEFAULTS["d"]),
    d_per_P: Annotated[
        float | None, typer.Option("--d-per-P", help="d = round(d_per_P · P) instead of --d.")
    ] = None,
    constraint: Annotated[
        str, typer.Option(help="Norm constraint: sphere (‖w‖² = norm·rank, a fixed RKHS "
                          "norm of f − f0); none is refused (no jamming point).")
    ] = _DEFAULTS["constraint"],
    norm: Annotated[float, typer.Option(help="‖w‖²/rank on the sphere (> 0).")] = (
        _DEFAULTS["norm"]),
    margin_step: Annotated[float, typer.Option(help="Step of the compression in κ.")] = (
        _DEFAULTS["margin_step"]),
    kappa_tol: Annotated[float, typer.Option(help="Width of the final κ bracket.")] = (
        _DEFAULTS["kappa_tol"]),
    gap_fraction: Annotated[
        float, typer.Option(help="Top of the γ fit window: a quantile of the gaps.")
    ] = _FITS["gap_fraction"],
    gap_lower: Annotated[
        float, typer.Option(help="Bottom of the γ fit window (quantile; 0: from 0).")
    ] = _FITS["gap_lower"],
    force_fraction: Annotated[
        float, typer.Option(help="Top of the θ fit window: a quantile of the forces.")
    ] = _FITS["force_fraction"],
    force_lower: Annotated[
        float, typer.Option(help="Bottom of the θ fit window (quantile; 0: from 0).")
    ] = _FITS["force_lower"],
    n_boot: Annotated[int, typer.Option(help="Bootstrap samples (over instances).")] = (
        _FITS["n_boot"]),
    workers: Workers = 1,
    output: RunDir = DEFAULT_OUTPUT,
    quiet: Quiet = False,
) -> None:
    """Jamming of the quadratic hinge on the sphere: isostaticity and critical exponents.

    For every P, margin κ (or φ) and seed: draw the instance (random labels, f0 = 0),
    put the norm constraint ‖w‖² = norm·rank, and find the jamming point from the UNSAT
    side by compressing κ at fixed φ = N/rank (each minimum started from the last) and
    bisecting to --kappa-tol.  With --margin, φ = α_RS(κ) (the RS bound), so that
    Gaussian features jam just below κ.  The analysis reports κ_J against the RS bound,
    N_Δ/rank at jamming with a 95 % CI (isostatic only when the CI lies within 1 ±
    0.05), and the gap and force exponents γ, θ with CIs against the theory 0.41269
    and 0.42311 (κ < 0: critical; κ ≥ 0: convex, not critical).  Resumable store,
    analysis.json and figures (PNG, PDF) in OUTPUT.
    """
    from ntkjam.analysis.jamming_critical import summary_lines
    from ntkjam.figures.sphere import save_sphere_figures

    check_workers(workers)
    if (margin is None) == (phi is None):
        raise ValueError("give --margin (the jamming points' margins) or --phi, exactly one")
    margins = None if margin is None else parse_values(margin, "--margin")
    phis = None if phi is None else parse_values(phi, "--phi", positive=True)
    _check_options(constraint, margins, norm,
                   (gap_lower, gap_fraction, force_lower, force_fraction), n_boot)
    spec = sphere_jamming_spec(P=parse_sizes(sizes), margin=margins, phi=phis, seeds=seeds,
                               output=str(output), source=source, d=int(d),
                               d_per_P=None if d_per_P is None else float(d_per_P),
                               constraint=constraint, norm=float(norm),
                               margin_step=float(margin_step), kappa_tol=float(kappa_tol))
    directory = check_output_dir(spec.output_dir())
    _check_directory(directory, dict(spec.params))
    summary = _run(spec, workers, quiet)
    a = analyze_sphere_jamming(directory, gap_fraction=gap_fraction, gap_lower=gap_lower,
                               force_fraction=force_fraction, force_lower=force_lower,
                               n_boot=n_boot)
    (directory / "analysis.json").write_text(json.dumps(a.to_dict(), indent=1) + "\n",
                                             encoding="utf-8")
    figures = save_sphere_figures(a, directory / "figures")
    from rich.console import Console

    console = Console(soft_wrap=True)
    for line in [
        "Jamming on the sphere (N = points, P = features, φ = N/rank; theory γ = 0.41269, "
        "θ = 0.42311 for κ < 0)",
        *summary_lines(a),
        f"run: {summary.total} tasks, {summary.skipped} already stored, ran "
        f"{summary.done + summary.failed} in {summary.wall_time:.1f} s → {directory}",
        "figures: " + ", ".join(sorted({p.name for p in figures})),
    ]:
        console.print(line, highlight=False)
    if summary.failed_total:
        err_console.print(f"{summary.failed_total} task(s) failed: see `ntkjam sweep status "
                          f"{directory}`", highlight=False)
        raise typer.Exit(code=1)
