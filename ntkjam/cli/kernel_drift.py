"""``ntkjam kernel-drift``: how far the NTK moves when a network is trained to convergence.

One resumable sweep under ``--output`` (``OUTPUT/store``, experiment ``kernel_drift``:
grid width × α × loss × N or φ, ``--seeds`` runs each), then the analysis
(``analysis.json``: the points, the exponents in the width with 95 % intervals against
n^-1, the α scans, the SAT/UNSAT ratios) and the figures (``figures/``, PNG and PDF).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Annotated

import typer

from ntkjam.cli._app import app
from ntkjam.cli._common import err_console, friendly_errors, run_sweeps
from ntkjam.cli._options import check_output_dir, check_run_directory, check_workers
from ntkjam.cli.fluctuations import parse_int_list

__all__ = ["kernel_drift", "parse_float_list"]

DEFAULT_OUTPUT = Path("runs/kernel_drift")


def parse_float_list(text: str, option: str) -> list[float]:
    """``"10,100"`` → ``[10.0, 100.0]``; the error names ``option``."""
    parts = [t.strip() for t in str(text).split(",") if t.strip()]
    if not parts:
        raise ValueError(f"{option} must list numbers separated by commas, got {text!r}")
    out = []
    for t in parts:
        try:
            out.append(float(t))
        except ValueError:
            raise ValueError(f"{option} must be numbers separated by commas, got {t!r}") from None
    return out


def _check_options(*, widths, alphas, losses, n, phi, seeds, alpha_min) -> dict:
    """Every option checked before anything is written (one line naming the option)."""
    from ntkjam.experiments.fluctuations import check_sizes

    out = {"widths": check_sizes(parse_int_list(widths, "--widths"), "--widths", at_least=1),
           "alphas": parse_float_list(alphas, "--alphas"),
           "losses": [t.strip() for t in losses.split(",") if t.strip()]}
    bad = [a for a in out["alphas"] if not (math.isfinite(a) and a > 0)]
    if bad:
        raise ValueError(f"--alphas must be positive finite numbers, got {bad[0]}")
    if any(b <= a for a, b in zip(out["alphas"], out["alphas"][1:], strict=False)):
        raise ValueError(f"--alphas must be strictly increasing, got {out['alphas']}")
    unknown = [x for x in out["losses"] if x not in ("quadratic_hinge", "mse")]
    if unknown or not out["losses"] or len(set(out["losses"])) != len(out["losses"]):
        raise ValueError(f"--losses must list distinct names of quadratic_hinge, mse, got "
                         f"{losses!r}")
    if phi is not None and n is not None:
        raise ValueError("give --n (points) or --phi (N = round(phi * P)), not both")
    if phi is not None:
        out["phi"] = parse_float_list(phi, "--phi")
        if any(not (math.isfinite(v) and v > 0) for v in out["phi"]):
            raise ValueError(f"--phi must be positive finite numbers, got {phi!r}")
        if any(b <= a for a, b in zip(out["phi"], out["phi"][1:], strict=False)):
            raise ValueError(f"--phi must be strictly increasing, got {out['phi']}")
    else:
        out["n"] = check_sizes(parse_int_list("50" if n is None else n, "--n"), "--n",
                               at_least=1)
    sizes = len(out.get("phi", out.get("n")))
    if len(out["widths"]) < 3 and len(out["alphas"]) < 3 and sizes < 2:
        raise ValueError("nothing to fit: give at least 3 --widths (the exponent in the "
                         "width), 3 --alphas (the α scan) or 2 values of --n/--phi (SAT vs "
                         "UNSAT)")
    if seeds < 3:
        raise ValueError(f"--seeds must be >= 3 (a mean with an error needs 3 runs), got "
                         f"{seeds}")
    if not (math.isfinite(alpha_min) and alpha_min > 0):
        raise ValueError(f"--alpha-min must be a positive number, got {alpha_min}")
    return out


def _ci(f) -> str:
    return f"{f.exponent:+.3f} [{f.ci_low:+.3f}, {f.ci_high:+.3f}]"


_SHORT = {"rel_frobenius": "F", "rel_operator": "op", "weight_change": "|Δθ|/|θ|",
          "drift_per_weight": "F/|Δθ|",
          "pattern_change": "flips"}


_SUMMARY = ("rel_frobenius", "rel_operator", "weight_change")


def _summary_lines(a, summary, figures) -> list[str]:
    s = a.settings
    lines = [f"NTK drift after training to convergence — {s.get('activation')}, depth "
             f"{s.get('depth')}, d = {s.get('d')}, F = α (f − f₀), loss/α², step "
             f"{s.get('step_rule')} {s.get('lr')} N/λ_max, momentum {s.get('momentum')} "
             "(n = width, N = points, P = parameters, φ = N/P)"]
    if a.width_fits:
        lines.append("exponent γ in the width: ‖K_T − K_0‖/‖K_0‖ ∝ n^γ (F: Frobenius, op: "
                     "operator; |Δθ|/|θ|: weights) [95 % CI]; analysis.json has the rest")
        for f in (f for f in a.width_fits if f.quantity in _SUMMARY):
            p = "—" if not math.isfinite(f.p_value) else f"{f.p_value:.2f}"
            lines.append(f"  {f.group}, {_SHORT.get(f.quantity, f.quantity)}: {_ci(f)}, "
                         f"χ² p = {p}: {f.verdict}")
    for sc in a.alpha_scans:
        if sc.alphas.size < 3:
            continue
        slopes = ", ".join(f"{x:+.2f}±{1.96 * e:.2f}" for x, e in
                           zip(sc.slopes, sc.slope_errs, strict=True))
        fit = "" if sc.fit is None else (f"; fit α ≥ {sc.alpha_min:g}: {_ci(sc.fit)}: "
                                        f"{sc.fit.verdict}")
        lines.append(f"α scan, {sc.label}: drift {sc.drift[0]:.3g} (α = {sc.alphas[0]:g}) → "
                     f"{sc.drift[-1]:.3g} (α = {sc.alphas[-1]:g}), local slopes {slopes}"
                     f"{fit}")
    for c in a.sides:
        unit = "φ" if c.size_kind == "phi" else "N"
        lines.append(f"SAT vs UNSAT, {c.label}, width {c.width}, α = {c.alpha:g}: drift "
                     f"{c.sat_drift:.3g} (SAT, {unit} = {c.sat_size:g}) vs {c.unsat_drift:.3g} "
                     f"(UNSAT, {unit} = {c.unsat_size:g}), ratio {c.ratio:.2f} "
                     f"[{c.ci_low:.2f}, {c.ci_high:.2f}]: {c.verdict}; pooled "
                     f"{c.pooled_ratio:.2f} [{c.pooled_ci_low:.2f}, {c.pooled_ci_high:.2f}]")
    ran = summary.done + summary.failed
    lines.append(f"tasks: {a.n_done} done ({a.n_undecided} out of budget), {a.n_failed} "
                 f"failed; ran {ran} in {summary.wall_time:.1f} s, {summary.skipped} already "
                 "stored")
    lines.append("figures: " + ", ".join(sorted({p.name for p in figures})))
    lines += [f"note: {n}" for n in a.notes]
    return lines


def _print_summary(lines: list[str]) -> None:
    from rich.console import Console

    console = Console()
    for line in lines:
        console.print(line, highlight=False)


@app.command("kernel-drift")
@friendly_errors
def kernel_drift(
    widths: Annotated[str, typer.Option(help="Widths n (every hidden layer), comma-separated, "
                                        "increasing.")] = "32,64,128",
    alphas: Annotated[str, typer.Option(help="Output scales α, comma-separated, increasing.")
                      ] = "10,100,1000",
    losses: Annotated[str, typer.Option(help="quadratic_hinge and/or mse, comma-separated.")
                      ] = "quadratic_hinge,mse",
    n: Annotated[str | None, typer.Option("--n", help="Points N, comma-separated, increasing "
                                          "(default 50; or give --phi).")] = None,
    phi: Annotated[str | None, typer.Option(help="φ = N/P instead of --n, comma-separated, "
                                            "increasing (N = round(φ P) grows with the "
                                            "width).")] = None,
    seeds: Annotated[int, typer.Option(help="Runs per point, >= 3.")] = 3,
    depth: Annotated[int, typer.Option(help="Hidden layers.")] = 1,
    d: Annotated[int, typer.Option(help="Input dimension (points on S^(d-1)).")] = 10,
    activation: Annotated[str, typer.Option(help="relu, erf, tanh, gelu, softplus or "
                                            "identity.")] = "relu",
    lr: Annotated[float, typer.Option(help="Step in units of N/λ_max(K) (< 2).")] = 1.0,
    step_rule: Annotated[str, typer.Option(help="tracked (N/λ_max of the current kernel) or "
                                           "fixed (of K_0).")] = "tracked",
    momentum: Annotated[float, typer.Option(help="Heavy-ball β (0: gradient descent).")
                        ] = 0.0,
    max_steps: Annotated[int, typer.Option(help="Step budget per run.")] = 200_000,
    rtol: Annotated[float, typer.Option(help="UNSAT rule: the best loss fell by less than "
                                        "this (relative) over 5000 steps.")] = 1e-5,
    data_seed: Annotated[int | None, typer.Option(help="One data set for every seed (the "
                                                  "spread is then the initialisation's); "
                                                  "default: data from each run's seed.")
                         ] = None,
    alpha_min: Annotated[float, typer.Option(help="Smallest α of the power-law fit in α.")
                         ] = 10.0,
    workers: Annotated[int, typer.Option("--workers", "-w", help="1: in this process. k > 1: "
                                         "a local Dask cluster of k processes.")] = 1,
    output: Annotated[Path, typer.Option("--output", "-o", help="Directory of the store, the "
                                         "analysis and the figures.")] = DEFAULT_OUTPUT,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
) -> None:
    """How far the NTK moves when a network is trained to convergence.

    For every width n, output scale α, loss and N (or φ = N/P), and seed: one
    network (NTK parameterization, F = α (f − f₀), loss/α²) trained by full-batch
    gradient descent in one compiled loop until SAT (hinge: zero loss), MSE
    interpolation, UNSAT (a positive loss stopped falling) or the budget; then
    ‖K_T − K_0‖/‖K_0‖ (Frobenius and operator norm, structured empirical NTK),
    ‖θ_T − θ_0‖/‖θ_0‖ and the activation-pattern flips.  Fits: the exponent in the
    width against n^-1 with 95 % intervals, the α scan (lazy limit), the ratio of
    the drift of UNSAT and SAT runs.  Store in OUTPUT/store (the same command
    resumes; new sizes or seeds run only the new tasks), OUTPUT/analysis.json,
    OUTPUT/figures.  The defaults take 1 – 2 minutes on two cores.
    """
    from ntkjam.analysis.kernel_drift import analyze_kernel_drift
    from ntkjam.experiments.kernel_drift import kernel_drift_spec
    from ntkjam.figures.kernel_drift import save_kernel_drift_figures

    check_workers(workers)
    o = _check_options(widths=widths, alphas=alphas, losses=losses, n=n, phi=phi,
                       seeds=seeds, alpha_min=alpha_min)
    output = check_output_dir(output)
    store = output / "store"
    sizes = {"phi": o["phi"]} if "phi" in o else {"n": o["n"]}
    spec = kernel_drift_spec(
        widths=o["widths"], alphas=o["alphas"], losses=o["losses"], seeds=seeds,
        output=str(store), depth=int(depth), d=int(d), activation=activation, lr=float(lr),
        step_rule=step_rule, momentum=float(momentum), max_steps=int(max_steps),
        rtol=float(rtol), data_seed=data_seed, **sizes)
    check_run_directory(store, spec.experiment, spec.params, "a kernel-drift sweep")
    (summary,) = run_sweeps([spec], workers, quiet)
    a = analyze_kernel_drift(store, alpha_min=alpha_min)
    (output / "analysis.json").write_text(json.dumps(a.to_dict(), indent=1) + "\n",
                                          encoding="utf-8")
    _print_summary(_summary_lines(a, summary, save_kernel_drift_figures(a, output / "figures")))
    if summary.failed_total:
        err_console.print(f"{summary.failed_total} task(s) failed: see `ntkjam sweep status "
                          f"{store}`", highlight=False)
        raise typer.Exit(code=1)
