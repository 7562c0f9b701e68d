"""``ntkjam generalization``: test error across φ = N/P, end to end.

A resumable sweep (experiment ``generalization``) over P × φ (or, with ``--n``, over
fixed numbers of training points N × φ, P = round(N/φ)) under ``--output``, then the
analysis (``analysis.json``: curves with intervals, located maxima, φ_c from P(SAT),
the theory comparison, the ensemble effect) and the figures (``figures/``, PNG + PDF).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Annotated

import numpy as np
import typer

from ntkjam.cli._app import app
from ntkjam.cli._common import err_console, friendly_errors, run_sweeps
from ntkjam.cli._options import (
    Model,
    PhiMax,
    PhiMin,
    PhiNum,
    Quiet,
    RunDir,
    Workers,
    check_analysis,
    check_output_dir,
    check_run_directory,
    check_workers,
)

__all__ = ["generalization_command", "parse_counts"]

DEFAULT_OUTPUT = Path("runs/generalization")


def parse_counts(text: str, option: str, minimum: int) -> list[int]:
    """``"100,200"`` → ``[100, 200]``: integers ≥ ``minimum``, distinct, at least one."""
    parts = [t.strip() for t in str(text).split(",") if t.strip()]
    if not parts:
        raise ValueError(f"{option} must list at least one integer, got {text!r}")
    try:
        values = [int(t) for t in parts]
    except ValueError:
        bad = next(t for t in parts if not t.lstrip("-").isdigit())
        raise ValueError(f"{option} must be integers separated by commas, got {bad!r}") from None
    for v in values:
        if v < minimum:
            raise ValueError(f"{option} values must be >= {minimum}, got {v}")
    if len(set(values)) != len(values):
        raise ValueError(f"{option} must not repeat a value, got {values}")
    return values


def _fmt(v, digits: int = 3) -> str:
    if v is None or not math.isfinite(float(v)):
        return "—"
    v = float(v)
    return f"{v:.{digits}g}" if abs(v) >= 1e4 or (v != 0 and abs(v) < 1e-3) else f"{v:.{digits}f}"


def _ci(c, i: int) -> str:
    return f"{_fmt(c.mean[i])} [{_fmt(c.lo[i])}, {_fmt(c.hi[i])}]"


def _table(a, size: int):
    """Per φ: P(SAT), the single model's and the ensemble's test error, the theory."""
    from rich.table import Table

    n_ens = int(a.settings["n_ens"])
    single = a.curve("mean_test_error" if n_ens > 1 else "test_error", size)
    ens, sat, w = a.curve("ens_test_error", size), a.curve("sat", size), a.curve("w_norm", size)
    th = next((t for t in a.theory if t.size == size), None)
    unit = "P" if a.group == "P" else "N"
    table = Table(title=f"{unit} = {size}: test error vs φ (95 % intervals over seeds)",
                  title_justify="left")
    cols = ["φ", "P(SAT)" if sat is not None else None, "single model",
            f"ensemble of {n_ens}" if n_ens > 1 else None, "theory" if th else None,
            "‖w‖ (median)"]
    for col in (c for c in cols if c):
        table.add_column(col, justify="right", no_wrap=True)
    for i, phi in enumerate(single.phi):
        row = [f"{phi:.3f}"]
        if sat is not None:
            row.append(f"{sat.mean[i]:.2f}")
        row.append(_ci(single, i))
        if n_ens > 1 and ens is not None:
            row.append(_ci(ens, i))
        if th:
            j = np.flatnonzero(np.isclose(th.phi, phi))
            row.append(_fmt(th.theory[j[0]]) if j.size else "—")
        row.append(_fmt(w.median[i]) if w is not None else "—")
        table.add_row(*row)
    return table


def _peak_line(p, a) -> str:
    where = f"{'P' if a.group == 'P' else 'N'} = {p.size}"
    if p.status != "located":
        return f"maximum of {p.quantity} ({where}): undetermined — {p.note}"
    return (f"maximum of {p.quantity} ({where}): φ = {p.phi_peak:.3f} [{p.ci_low:.3f}, "
            f"{p.ci_high:.3f}] (95 % bootstrap; grid ±{p.resolution:.2g}), height "
            f"{_fmt(p.height)} [{_fmt(p.height_low)}, {_fmt(p.height_high)}]")


def _lines(a) -> list[str]:
    lines = [_peak_line(p, a) for p in a.peaks]
    for c in a.crossings:
        lines.append(f"φ_c (P(SAT) = ½, {'P' if a.group == 'P' else 'N'} = {c.P}): "
                     f"{_fmt(c.phi_c)} [{_fmt(c.ci_low)}, {_fmt(c.ci_high)}], width "
                     f"{_fmt(c.width)}")
    for c in a.cusps:
        where = f"{'P' if a.group == 'P' else 'N'} = {c.size}"
        lines.append(f"cusp of {c.quantity} ({where}): undetermined — {c.note}"
                     if c.status != "located" else
                     f"cusp of {c.quantity} ({where}, two-segment fit): φ = {c.phi_cusp:.3f} "
                     f"[{c.ci_low:.3f}, {c.ci_high:.3f}], slopes {c.slope_left:+.3f} ± "
                     f"{1.96 * c.slope_left_err:.3f} before, {c.slope_right:+.3f} ± "
                     f"{1.96 * c.slope_right_err:.3f} after")
    for x in a.peak_vs_crossing:
        lines.append(f"  {x.kind} of {x.quantity} vs φ_c: {100 * x.shift:+.1f} % "
                     f"[{100 * x.shift_low:+.1f}, {100 * x.shift_high:+.1f}]")
    if math.isfinite(a.threshold) and not a.crossings:
        lines.append(f"interpolation threshold (N = rank): φ = {a.threshold:.3g}")
    for t in a.theory:
        lines.append(f"theory {t.name} ({'P' if a.group == 'P' else 'N'} = {t.size}): largest "
                     f"|measured/theory − 1| = {100 * t.max_abs_rel_dev:.1f} % (test error), "
                     f"{100 * t.max_abs_risk_dev:.1f} % (risk, without the noise) over "
                     f"{int(t.included.sum())} of {t.phi.size} φ (|ln φ| ≥ 0.25 when ridgeless)")
    for e in a.ensemble:
        lines.append(f"ensemble of {e.n_ens}: peak {_fmt(e.single_peak)} → {_fmt(e.ens_peak)}, "
                     f"lowered by {100 * e.reduction:.1f} % [{100 * e.ci_low:.1f}, "
                     f"{100 * e.ci_high:.1f}]")
    for s in a.p_scaling:
        text = (f"P^{s.exponent:+.2f} ± {1.96 * s.exponent_err:.2f} (95 %)"
                if s.status == "measured" else f"undetermined ({s.note})")
        lines.append(f"N = {s.n}, above the threshold: single − ensemble test error ∝ {text}")
    for s in a.error_scaling:
        if s.status != "measured":
            lines.append(f"N = {s.n}: test error − its P → ∞ limit vs P: undetermined ({s.note})")
            continue
        theory = (f"; theory over the same P: P^{s.theory_exponent:+.2f}, largest |measured/"
                  f"theory − 1| = {100 * s.max_abs_rel_dev:.1f} %"
                  if math.isfinite(s.theory_exponent) else "")
        lines.append(f"N = {s.n}, above the threshold: test error − {_fmt(s.limit)} "
                     f"({s.limit_source} P → ∞ limit) ∝ P^{s.exponent:+.2f} [{s.ci_low:+.2f}, "
                     f"{s.ci_high:+.2f}] (95 %){theory}")
    return lines


def _spec(sizes: str | None, n: str | None, *, phi, seeds: int, output: str, **params):
    """The sweep spec of the options: the size axis, the defaults that depend on the task
    and the source (ε = 0 for regression; one member when they would be identical or
    trained), the parameters checked (one line naming the first bad one)."""
    from ntkjam.experiments.generalization import generalization_spec

    if sizes is not None and n is not None:
        raise ValueError("give --P (fixed features) or --n (fixed training points), not both")
    axis = ({"n_train": parse_counts(n, "--n", 2)} if n is not None
            else {"P": parse_counts(sizes or "100", "--P", 1)})
    if params["epsilon"] is None:
        params["epsilon"] = 0.0 if params["task"] == "regression_mse" else 0.2
    if params["n_ens"] is None:
        source = params["source"]
        single = source in ("ntk_kernel", "network") or (
            source == "linear" and not params["offset_scale"])
        params["n_ens"] = 1 if single else 5
    params["epsilon"] = float(params["epsilon"])
    params["n_ens"] = int(params["n_ens"])
    return generalization_spec(**axis, phi_min=phi[0], phi_max=phi[1], phi_num=phi[2],
                               seeds=seeds, output=output, **params)


def _print(a, summary, figures, directory: Path) -> None:
    from rich.console import Console

    console = Console()
    s = a.settings
    console.print(f"Generalization — task {s['task']}, source {s['source']}, d = {s['d']}, "
                  f"ε = {s['epsilon']}, noise σ² = {s['noise']}, ridge λ = {s['ridge']}  "
                  "(N = points, P = features, φ = N/P)", highlight=False)
    for size in sorted({c.size for c in a.curves}):
        console.print(_table(a, size))
    lines = [*_lines(a),
             f"tasks: {a.n_done} done, {a.n_failed} failed; run: {summary.total} tasks, "
             f"{summary.skipped} already stored, ran {summary.done + summary.failed} in "
             f"{summary.wall_time:.1f} s → {directory}",
             "figures: " + ", ".join(sorted({p.name for p in figures})),
             *(f"note: {n}" for n in a.notes)]
    for line in lines:
        console.print(line, highlight=False)


@app.command("generalization")
@friendly_errors
def generalization_command(
    task: Annotated[str, typer.Option(help="noisy_teacher_hinge, noisy_teacher_mse, "
                                      "regression_mse, parity_hinge or parity_mse.")
                    ] = "noisy_teacher_hinge",
    source: Annotated[str, typer.Option(help="relu_features, linear (J = X), ntk_jacobian, "
                                        "ntk_kernel (kernel regression) or network "
                                        "(trained).")] = "relu_features",
    sizes: Annotated[str | None, typer.Option("--P", "-P", help="Feature counts P, "
                                              "comma-separated (default 100).")] = None,
    n: Annotated[str | None, typer.Option("--n", help="Fixed training-set sizes N, "
                                          "comma-separated: then P = round(N/φ) (instead "
                                          "of --P).")] = None,
    phi_min: PhiMin = 0.5,
    phi_max: PhiMax = 4.0,
    phi_num: PhiNum = 15,
    seeds: Annotated[int, typer.Option(help="Tasks (seeds) per (size, φ) point.")] = 20,
    d: Annotated[int, typer.Option(help="Input dimension (sphere of radius √d; the "
                                   "digits have 64, the linear model P).")] = 10,
    epsilon: Annotated[float | None, typer.Option(help="Probability that a training label "
                                                  "is flipped, in [0, 0.5] (default 0.2; 0 "
                                                  "for regression_mse).")] = None,
    noise: Annotated[float, typer.Option(help="Variance σ² of the regression noise.")] = 0.25,
    signal: Annotated[float, typer.Option(help="‖β‖² of the regression teacher.")] = 1.0,
    ridge: Annotated[float, typer.Option(help="λ of L + λ‖w‖²/2 (0: minimum-norm).")] = 0.0,
    margin: Annotated[float, typer.Option(help="Margin κ of the quadratic hinge.")] = 1.0,
    n_test: Annotated[int, typer.Option(help="Test points per task.")] = 1000,
    n_ens: Annotated[int | None, typer.Option(help="Members per task (independent features "
                                              "and offsets, shared data), their outputs "
                                              "averaged (default 5; 1 when the members would "
                                              "be identical or trained).")] = None,
    offset_scale: Annotated[float, typer.Option(help="σ₀: f0 = σ₀ × the model at a random "
                                                "initialisation (0: f0 = 0).")] = 0.0,
    alpha: Annotated[float, typer.Option(help="Output scale α of the trained network.")] = 1.0,
    max_steps: Annotated[int, typer.Option(help="Step budget of the trained network.")] = 100_000,
    workers: Workers = 1,
    output: RunDir = DEFAULT_OUTPUT,
    model: Model = "erf",
    n_boot: Annotated[int, typer.Option(help="Bootstrap samples (over seeds).")] = 200,
    quiet: Quiet = False,
) -> None:
    """Test error and test loss of lazy models (and trained networks) across φ = N/P.

    For every size, φ and seed: draw a training set (noisy linear teacher, noisy
    regression teacher or digit parity), fit n_ens models sharing it (the exact end
    point of gradient flow from f0: minimum-norm or ridge, MSE or quadratic hinge; or
    train the network) and measure the single model, the members' mean and the
    ensemble.  A resumable sweep store in OUTPUT, then: curves with 95 % intervals, the
    maxima with bootstrap intervals, φ_c from P(SAT) = ½ (hinge), the theories (Hastie
    et al., Mei–Montanari, spectral) where they apply, the ensemble's effect on the
    peak, the P-scaling at fixed N.  OUTPUT/figures (PNG, PDF), OUTPUT/analysis.json;
    see docs/generalization.md.

    The defaults (random ReLU features, P = 100, d = 10, ε = 0.2, 15 values of φ in
    [0.5, 4], 20 seeds, 5 members: 300 tasks) take about a minute on one core.
    """
    from ntkjam.analysis.generalization import analyze_generalization
    from ntkjam.figures.generalization import save_generalization_figures

    check_workers(workers)
    model, n_boot = check_analysis(model, n_boot)
    spec = _spec(sizes, n, phi=(phi_min, phi_max, phi_num), seeds=seeds, output=str(output),
                 task=task, source=source, d=int(d), epsilon=epsilon, noise=float(noise),
                 signal=float(signal), ridge=float(ridge), margin=float(margin),
                 n_test=int(n_test), n_ens=n_ens, offset_scale=float(offset_scale),
                 alpha=float(alpha), max_steps=int(max_steps))
    directory = check_output_dir(spec.output_dir())
    check_run_directory(directory, spec.experiment, spec.params, "a generalization study",
                        grid=spec.grid)
    (summary,) = run_sweeps([spec], workers, quiet)
    a = analyze_generalization(directory, model=model, n_boot=n_boot)
    (directory / "analysis.json").write_text(json.dumps(a.to_dict(), indent=1) + "\n",
                                             encoding="utf-8")
    figures = save_generalization_figures(a, directory / "figures")
    _print(a, summary, figures, directory)
    if summary.failed_total:
        err_console.print(f"{summary.failed_total} task(s) failed: see `ntkjam sweep status "
                          f"{directory}`", highlight=False)
        raise typer.Exit(code=1)
