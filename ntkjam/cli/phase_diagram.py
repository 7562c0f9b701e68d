"""``ntkjam phase-diagram`` and ``ntkjam trained-diagram``: jamming phase diagrams end to end.

``phase-diagram`` solves the lazy (linearised) problem exactly; ``trained-diagram``
trains small networks at several output scales α and compares them with the lazy
verdicts of the same initial networks (sweep, analysis, figures).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from ntkjam.cli._app import app
from ntkjam.cli._common import comma_list, err_console, friendly_errors, keyword_defaults
from ntkjam.cli._options import (
    Model,
    PhiMax,
    PhiMin,
    PhiNum,
    Quiet,
    RunDir,
    SphereDim,
    Workers,
    check_analysis,
    check_output_dir,
    check_run_directory,
    check_workers,
)
from ntkjam.cli._summary import describe_lazy as _describe_lazy
from ntkjam.cli._summary import one_sided as _one_sided
from ntkjam.experiments.phase_diagram import PhaseDiagramParams, phase_diagram_spec
from ntkjam.experiments.trained import TrainedParams, trained_spec

# The defaults shown and used here are the study's own: its params model and spec builder.
_LAZY = PhaseDiagramParams.defaults()
_LAZY_GRID = keyword_defaults(phase_diagram_spec)
_TRAINED = TrainedParams.defaults()
_TRAINED_GRID = keyword_defaults(trained_spec)

DEFAULT_OUTPUT = Path("runs/phase_diagram")
_SETTINGS = ("source", "labels", "margin", "offset", "offset_scale", "d", "lp_fraction")


def _comma_list(text: str, option: str, convert, check, *, kinds: str, first: str,
                noun: str) -> list:
    """The values of ``option``, comma-separated: at least one, each converted and checked
    (``check(value, text)`` raises), none repeated."""
    parts = [t.strip() for t in str(text).split(",") if t.strip()]
    if not parts:
        raise ValueError(f"{option} must list at least one {first}, got {text!r}")
    values = []
    for t in parts:
        try:
            v = convert(t)
        except ValueError:
            raise ValueError(f"{option} must be {kinds} separated by commas, got {t!r}") from None
        check(v, t)
        values.append(v)
    if len(set(values)) != len(values):
        raise ValueError(f"{option} must not repeat a {noun}, got {values}")
    return values


def _check_size(v: int, text: str) -> None:
    if v < 1:
        raise ValueError(f"--P sizes must be >= 1, got {v}")


def parse_sizes(text: str) -> list[int]:
    """``"50,100,200"`` → ``[50, 100, 200]`` (each ≥ 1, distinct, at least one)."""
    return _comma_list(text, "--P", int, _check_size, kinds="integers",
                       first="size (e.g. 50,100,200)", noun="size")


def _check_directory(
    directory: Path, params: dict, experiment: str = "phase_diagram", what: str = "phase diagram"
) -> None:
    """Refuse a run directory that holds another experiment or other fixed settings."""
    check_run_directory(directory, experiment, params, f"a {what}")


def _fmt(v: float, digits: int = 3) -> str:
    import math

    return "—" if v is None or not math.isfinite(v) else f"{v:.{digits}f}"


def _grid_text(summary) -> list[str]:
    """What an adaptive grid did: rounds, and per P its points and last crossing fit."""
    designs = getattr(summary, "designs", None)
    if designs is None:
        return []
    lines = [f"adaptive φ grid: {summary.rounds} rounds (probes, bisection on P(SAT) = ½, "
             "then design points φ_c + z·w, z = −1, 0, 1)"]
    for d in designs:
        pts = ", ".join(f"{n / d.n_params:.3f}×{k}" for n, k in d.points.items())
        lines.append(f"  P = {d.n_params}: φ×instances {pts}" + (f" — {d.note}" if d.note
                                                                 else ""))
    return lines


def _print_report(table, lines: list[str], a, directory: Path, summary, figures) -> None:
    """Print the table, then ``lines``, what the run did, the figures and the notes."""
    from rich.console import Console

    console = Console()
    console.print(table)
    lines = [
        *lines,
        *_grid_text(summary),
        f"run: {summary.total} tasks, {summary.skipped} already stored, ran "
        f"{summary.done + summary.failed} in {summary.wall_time:.1f} s → {directory}",
        "figures: " + ", ".join(str(p.name) for p in figures),
        *(f"note: {note}" for note in a.notes),
    ]
    for line in lines:
        console.print(line, highlight=False)


def _run_and_report(target: tuple[Path, dict], kind: tuple[str, str], run_sweep, analyze_run,
                    save, describe, helper_module: str | None = None) -> None:
    """Run (or resume) the sweep, analyse the store, write analysis.json and figures.

    ``target`` is the run directory and the fixed params; ``kind`` is the experiment's
    name and what to call it in messages (:func:`_check_directory`); ``run_sweep()``
    runs the tasks (one sweep, or the rounds of an adaptive grid) and returns their
    summary; ``analyze_run(directory)`` analyses the store,
    ``describe(analysis)`` gives the summary's table and lines.  With
    ``helper_module``, a second process starts importing it once the sweep is done and
    draws a figure beside this one (``save(analysis, directory, helper=...)``).  The
    run directory is checked first (creatable, and holding no other experiment or
    fixed settings).  Exit status 2 when the run directory is busy, 130 on Ctrl-C
    (finished tasks are stored: the same command resumes), 1 when tasks failed.
    """
    from threadpoolctl import threadpool_limits

    from ntkjam.sweep.store import RunDirectoryBusy

    directory = check_output_dir(target[0])
    _check_directory(directory, dict(target[1]), *kind)
    try:
        # One BLAS thread per task: the instances are small, and threads fighting over
        # the cores slow them down many times on a loaded machine.
        with threadpool_limits(limits=1):
            summary = run_sweep()
    except RunDirectoryBusy as exc:
        err_console.print(f"[bold red]error:[/] {exc}", highlight=False)
        raise typer.Exit(code=2) from None
    except KeyboardInterrupt:
        err_console.print(
            f"interrupted: finished tasks are stored in {directory}; run the same command "
            "again to resume", highlight=False,
        )
        raise typer.Exit(code=130) from None
    helper = None
    if helper_module is not None:
        from ntkjam.core.processes import stop_pool
        from ntkjam.figures.helper import figure_helper

        helper = figure_helper(helper_module)  # imports while the analysis runs
    try:
        a = analyze_run(directory)
        (directory / "analysis.json").write_text(json.dumps(a.to_dict(), indent=1) + "\n",
                                                 encoding="utf-8")
        figures = (save(a, directory / "figures") if helper is None else
                   save(a, directory / "figures", helper=helper))
    finally:
        if helper is not None:
            stop_pool(helper)
    _print_report(*describe(a), a, directory, summary, figures)
    if summary.failed_total:
        err_console.print(
            f"{summary.failed_total} task(s) failed: see `ntkjam sweep status {directory}`",
            highlight=False,
        )
        raise typer.Exit(code=1)


@app.command("phase-diagram")
@friendly_errors
def phase_diagram_command(
    source: Annotated[
        str,
        typer.Option(help="Features: relu_features, fourier_features, taylor_features or "
                     "ntk_jacobian (Jacobian of a one-hidden-layer ReLU net, P = width·(d+1))."),
    ] = _LAZY["source"],
    labels: Annotated[
        str, typer.Option(help="Labels: random, teacher (linear) or parity (digits data).")
    ] = _LAZY["labels"],
    margin: Annotated[float, typer.Option(help="Margin κ: constraints y_i f_i ≥ κ.")] = (
        _LAZY["margin"]),
    sizes: Annotated[
        str, typer.Option("--P", "-P", help="Feature counts P, comma-separated.")
    ] = comma_list(_LAZY_GRID["P"]),
    phi_min: PhiMin = _LAZY_GRID["phi_min"],
    phi_max: PhiMax = _LAZY_GRID["phi_max"],
    phi_num: PhiNum = _LAZY_GRID["phi_num"],
    seeds: Annotated[int, typer.Option(help="Instances (seeds) per (P, φ) point.")] = (
        _LAZY_GRID["seeds"]),
    d: SphereDim = _LAZY["d"],
    offset: Annotated[
        str, typer.Option(help="Offset f0: zero, gaussian (offset_scale·N(0,1)) or network "
                          "(the network at initialisation, with ntk_jacobian).")
    ] = _LAZY["offset"],
    offset_scale: Annotated[float, typer.Option(help="Scale of the offset.")] = (
        _LAZY["offset_scale"]),
    lp_fraction: Annotated[
        float, typer.Option(help="Fraction of the instances cross-checked by the LP.")
    ] = 0.02,
    workers: Workers = 1,
    output: RunDir = DEFAULT_OUTPUT,
    model: Model = "erf",
    n_boot: Annotated[int, typer.Option(help="Bootstrap samples (over seeds) per P.")] = 200,
    grid: Annotated[
        str, typer.Option(help="φ grid: uniform (--phi-num values in [--phi-min, --phi-max]) "
                          "or adaptive (rounds that refine around P(SAT) = ½ per P, --seeds "
                          "instances per design point; --phi-num unused).")
    ] = "uniform",
    quiet: Quiet = False,
) -> None:
    """The jamming (SAT/UNSAT) phase diagram in the lazy regime.

    For every P and φ = N/P on the grid and every seed: draw N points on the sphere,
    labels and P features, and solve y_i (f0_i + J_i·w) ≥ κ exactly (finite-Newton
    minimum of the quadratic hinge loss, certificates checked; a fraction
    cross-checked by LP).  Results go to a resumable sweep store in OUTPUT (running
    the same command again recomputes nothing; adding seeds, sizes or φ values runs
    only the new tasks), then the analysis: P(SAT) vs φ with Cover's curves,
    φ_c(P) from the P(SAT) = ½ crossing with a bootstrap CI, finite-size scaling
    to φ_c(∞) and ν, the loss and N_Δ on the UNSAT side, and the gap and force
    distributions.  Figures in OUTPUT/figures, numbers in OUTPUT/analysis.json.

    The defaults (random ReLU features, d = 10, random labels, P = 50, 100, 200,
    41 values of φ in [1, 3], 25 seeds) take about 20 s of CPU on one core.

    --grid adaptive chooses the φ values per P in rounds (probes, bisection on
    P(SAT) = ½, then design points around the fitted crossing with --seeds
    instances each), replayed from the store on every run; see
    docs/phase_diagram.md.  Fits the data do not support are printed as warnings.
    """

    from ntkjam.analysis import analyze
    from ntkjam.figures import save_figures

    check_workers(workers)
    grid = _check_grid(grid)
    model, n_boot = check_analysis(model, n_boot)
    params = dict(source=source, labels=labels, margin=float(margin), offset=offset,
                  offset_scale=float(offset_scale), d=int(d), lp_fraction=float(lp_fraction))
    spec = phase_diagram_spec(
        P=parse_sizes(sizes), phi_min=phi_min, phi_max=phi_max, phi_num=phi_num, seeds=seeds,
        output=str(output), **params,
    )  # checks every argument, for the adaptive grid too
    if grid == "adaptive":
        runner = _adaptive_runner(spec, params, phi_min, phi_max, seeds, model, workers, quiet)
    else:
        runner = _sweep_runner(spec, workers, quiet)
    from ntkjam.sweep.placement import default_workers

    # With more than one process asked for, one draws a figure beside this one.
    helper = "ntkjam.figures.phase_diagram" if workers > 1 and default_workers() > 1 else None
    _run_and_report((spec.output_dir(), spec.params), ("phase_diagram", "phase diagram"),
                    runner, lambda directory: analyze(directory, model=model, n_boot=n_boot),
                    save_figures, _describe_lazy, helper_module=helper)


GRIDS = ("uniform", "adaptive")


def _check_grid(grid: str) -> str:
    if grid not in GRIDS:
        raise ValueError(f"--grid must be one of {', '.join(GRIDS)}, got {grid!r}")
    return grid


def _sweep_runner(spec, workers: int, quiet: bool):
    """Run one sweep spec (the uniform grid)."""
    def run():
        from ntkjam import sweep

        return sweep.run(spec, workers=workers, progress=not quiet)
    return run


def _adaptive_runner(spec, params: dict, phi_min: float, phi_max: float, seeds: int,
                     model: str, workers: int, quiet: bool):
    """Run the rounds of the adaptive grid (``ntkjam.experiments.adaptive_grid``)."""
    def run():
        from ntkjam.analysis import fit_counts
        from ntkjam.experiments.adaptive_grid import run_adaptive

        return run_adaptive(
            P=list(spec.grid["P"]), phi_min=phi_min, phi_max=phi_max, seeds=seeds,
            output=spec.output_dir(), params=params, workers=workers, progress=not quiet,
            fit=lambda phi, k, n: fit_counts(phi, k, n, model))
    return run


# ------------------------------------------------------------------ trained networks
DEFAULT_TRAINED_OUTPUT = Path("runs/trained_diagram")


def _check_alpha(v: float, text: str) -> None:
    import math

    if not (math.isfinite(v) and v > 0):
        raise ValueError(f"--alpha values must be finite and > 0, got {text}")


def parse_alphas(text: str) -> list[float]:
    """``"1,10,1000"`` → ``[1.0, 10.0, 1000.0]`` (each > 0 and finite, distinct, at least one)."""
    return _comma_list(text, "--alpha", float, _check_alpha, kinds="numbers",
                       first="output scale (e.g. 1,10,1000)", noun="value")


def _bound(v: float, lo: float, hi: float) -> str:
    """A crossing, or where it lies when it falls outside the φ grid [lo, hi]."""
    import math

    if not math.isfinite(v):
        return "—"
    if v > hi:
        return f"> {hi:.2f}"
    if v < lo:
        return f"< {lo:.2f}"
    return f"{v:.3f}"


def _bracketed(crossing, lo: float, hi: float) -> str:
    """A P(SAT) = ½ crossing with its 95 % CI when it lies on the φ grid [lo, hi]."""
    text = _bound(crossing.phi_c, lo, hi)
    if lo <= crossing.phi_c <= hi:
        text += f" ({_fmt(crossing.ci_low, 2)}–{_fmt(crossing.ci_high, 2)})"
    return text


def _trained_table(a):
    """φ_c⁻ and φ_c⁺ per P and α, the agreement with the lazy verdicts, the lazy φ_c, Cover's."""
    import numpy as np
    from rich.table import Table

    s = a.settings
    title = (
        f"Trained networks — one hidden ReLU layer, d = {s.get('d')}, labels {s.get('labels')}, "
        f"κ = {s.get('margin')}, step {s.get('step_rule')} (lr = {s.get('lr')}, momentum "
        f"{s.get('momentum')}), budget {s.get('max_steps')} steps  (N = points, P = "
        "parameters, φ = N/P)"
    )
    table = Table(title=title, title_justify="left")
    for col in ("P", "α", "S/U/B/nan", "φ_c⁻ (95 % CI)", "φ_c⁺", "=lazy", "ΔK/K₀"):
        table.add_column(col, justify="right", no_wrap=True)
    for c in a.curves:
        lo, hi = float(c.sat.phi.min()), float(c.sat.phi.max())
        counts = (f"{int(c.sat.n_sat.sum())}/{int(c.n_unsat.sum())}/"
                  f"{int(c.n_max_steps.sum())}/{int(c.n_nan.sum())}")
        kc = (f"{np.nanmedian(c.kernel_change):.2g}" if np.any(np.isfinite(c.kernel_change))
              else "—")
        table.add_row(str(c.n_params), f"{c.alpha:g}", counts, _bracketed(c.crossing, lo, hi),
                      _bound(c.crossing_upper.phi_c, lo, hi), _fmt(c.agreement, 2), kc)
    for lz, cr in zip(a.lazy, a.lazy_crossings, strict=True):
        lo, hi = float(lz.phi.min()), float(lz.phi.max())
        table.add_row(str(lz.n_params), "lazy", f"{int(lz.n_sat.sum())}/"
                      f"{int((lz.n_total - lz.n_sat).sum())}/0/0", _bracketed(cr, lo, hi),
                      "exact", "", "0")
        table.add_row("", "Cover", "", _fmt(2 * lz.rank / lz.n_params), f"rank {lz.rank}", "", "")
    table.caption = (
        "S/U/B: runs ending SAT, UNSAT, out of budget. φ_c⁻: P(SAT) = ½ (lower bound); "
        "φ_c⁺: the same with the runs out of budget counted SAT (upper bound). =lazy: "
        "fraction of the decided runs with the lazy verdict. ΔK/K₀: median "
        "‖K_T − K_0‖/‖K_0‖. lazy: exact verdicts of the same initial networks (all α "
        "pooled); Cover: 2·rank/P."
    )
    return table


def _describe_trained(a) -> tuple[object, list[str]]:
    """The summary of a trained diagram: its table, undetermined φ_c and the lazy comparison."""
    lines = [line for c in a.curves
             if (line := _one_sided(c.sat, c.crossing.phi_c, f", α = {c.alpha:g}"))]
    lines += [line for lz, cr in zip(a.lazy, a.lazy_crossings, strict=True)
              if (line := _one_sided(lz, cr.phi_c, ", lazy"))]
    lines += [
        "against the lazy verdict of the same initial network — reached SAT where lazy is "
        "UNSAT / ended UNSAT where lazy is SAT: " + ", ".join(
            f"α = {c.alpha:g}: {int(c.n_beyond_lazy.sum())}/{int(c.n_stuck.sum())}"
            for c in a.curves),
        f"tasks: {a.n_done} done, {a.n_failed} failed",
    ]
    return _trained_table(a), lines


@app.command("trained-diagram")
@friendly_errors
def trained_diagram_command(
    sizes: Annotated[
        str, typer.Option("--P", "-P", help="Target parameter counts P, comma-separated (width "
                          "round(P/(d+1)), P = width·(d+1)).")
    ] = comma_list(_TRAINED_GRID["P"]),
    alphas: Annotated[
        str, typer.Option("--alpha", "-a", help="Output scales α, comma-separated (large: lazy, "
                          "small: feature learning).")
    ] = comma_list(_TRAINED_GRID["alpha"]),
    phi_min: PhiMin = _TRAINED_GRID["phi_min"],
    phi_max: PhiMax = _TRAINED_GRID["phi_max"],
    phi_num: PhiNum = _TRAINED_GRID["phi_num"],
    seeds: Annotated[int, typer.Option(help="Instances (seeds) per (P, α, φ) point.")] = (
        _TRAINED_GRID["seeds"]),
    d: SphereDim = _TRAINED["d"],
    labels: Annotated[str, typer.Option(help="Labels: random or teacher (linear).")] = (
        _TRAINED["labels"]),
    margin: Annotated[float, typer.Option(help="Margin κ of the quadratic hinge (> 0).")] = (
        _TRAINED["margin"]),
    lr: Annotated[
        float, typer.Option(help="Step in units of N/λ_max(K) (< 2, the stability limit).")
    ] = _TRAINED["lr"],
    step_rule: Annotated[
        str, typer.Option(help="tracked: lr·N/λ_max(K_t), K_t followed during training; "
                          "fixed: lr·N/λ_max(K_0).")
    ] = _TRAINED["step_rule"],
    momentum: Annotated[
        float, typer.Option(help="Heavy-ball momentum β in [0, 1); 0 = gradient descent.")
    ] = _TRAINED["momentum"],
    max_steps: Annotated[int, typer.Option(help="Budget: steps per training.")] = (
        _TRAINED["max_steps"]),
    window: Annotated[int, typer.Option(help="UNSAT rule: steps over which the loss is "
                                        "compared.")] = _TRAINED["window"],
    rtol: Annotated[float, typer.Option(help="UNSAT rule: relative decrease below which the "
                                        "loss has converged.")] = _TRAINED["rtol"],
    sat_tol: Annotated[float, typer.Option(help="SAT rule: κ − y_i F_i ≤ sat_tol for all "
                                           "i.")] = _TRAINED["sat_tol"],
    workers: Workers = 1,
    output: RunDir = DEFAULT_TRAINED_OUTPUT,
    model: Model = "erf",
    n_boot: Annotated[int, typer.Option(help="Bootstrap samples (over seeds) per curve.")] = 200,
    quiet: Quiet = False,
) -> None:
    """The jamming phase diagram of trained networks, against the lazy prediction.

    For every P, output scale α, φ = N/P and seed: draw N random-label points
    on the sphere and a one-hidden-layer ReLU network with P parameters, train
    α·(f − f₀) with the quadratic hinge (float64, full-batch gradient descent,
    optionally with momentum) until SAT (every margin met), UNSAT (the loss
    has converged to a positive value) or the step budget runs out, and solve
    the lazy problem of the same initial network exactly.

    Results go to a resumable sweep store in OUTPUT, then: P(SAT) vs φ per α
    (runs out of budget bracketed), φ_c(α), the lazy φ_c and Cover's
    2·rank/P.  Figures in OUTPUT/figures, numbers in OUTPUT/analysis.json.
    See docs/phase_diagram_trained.md.

    The defaults (P = 72, α = 1, 10, 1000, 7 values of φ in [0.6, 1.8],
    6 seeds: 126 trainings of up to 200 000 steps) take about 6 minutes of
    CPU (3 s per training); --momentum 0.9 converges several times faster.
    """

    from ntkjam.analysis import analyze_trained
    from ntkjam.figures import save_trained_figures

    check_workers(workers)
    model, n_boot = check_analysis(model, n_boot)
    spec = trained_spec(
        P=parse_sizes(sizes), alpha=parse_alphas(alphas), phi_min=phi_min, phi_max=phi_max,
        phi_num=phi_num, seeds=seeds, output=str(output), d=int(d), labels=labels,
        margin=float(margin), lr=float(lr), step_rule=step_rule, momentum=float(momentum),
        max_steps=int(max_steps), window=int(window), rtol=float(rtol), sat_tol=float(sat_tol),
    )
    _run_and_report((spec.output_dir(), spec.params), ("trained_phase_diagram", "trained diagram"),
                    _sweep_runner(spec, workers, quiet),
                    lambda directory: analyze_trained(directory, model=model, n_boot=n_boot),
                    save_trained_figures, _describe_trained)
