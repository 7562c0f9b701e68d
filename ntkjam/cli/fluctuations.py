"""``ntkjam fluctuations``: finite-width fluctuations of the NTK at initialisation.

Two resumable sweeps under ``--output``: ``kernels/`` (experiment
``kernel_fluctuations``: K_n(0) against K_∞ over depth × width × N) and ``diagonal/``
(``ntk_diagonal_moments``: the Hanin–Nica second moment over depth × width), then the
analysis (``analysis.json``) and the figures (``figures/``, PNG and PDF).
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

__all__ = ["fluctuations", "parse_int_list"]

DEFAULT_OUTPUT = Path("runs/fluctuations")


def parse_int_list(text: str, option: str) -> list[int]:
    """``"64,128,256"`` → ``[64, 128, 256]``; the error names ``option``."""
    parts = [t.strip() for t in str(text).split(",") if t.strip()]
    if not parts:
        raise ValueError(f"{option} must list integers separated by commas, got {text!r}")
    try:
        return [int(t) for t in parts]
    except ValueError:
        bad = next(t for t in parts if not t.lstrip("-").isdigit())
        raise ValueError(f"{option} must be integers separated by commas, got {bad!r}") from None


def _check_options(*, depths, widths, n, seeds, n_ens, hn_depths, hn_widths, hn_n,
                   n_nets) -> dict:
    """Every option checked before anything is written (one line naming the option)."""
    from ntkjam.experiments.fluctuations import check_sizes

    out = {
        "depths": check_sizes(parse_int_list(depths, "--depths"), "--depths", at_least=1),
        "widths": check_sizes(parse_int_list(widths, "--widths"), "--widths"),
        "n": check_sizes(parse_int_list(n, "--n"), "--n", at_least=1, minimum=2),
        "hn_depths": check_sizes(parse_int_list(hn_depths, "--hn-depths"), "--hn-depths"),
        "hn_widths": check_sizes(parse_int_list(hn_widths, "--hn-widths"), "--hn-widths",
                                 at_least=1),
    }
    if len(out["n"]) == 2:
        raise ValueError(f"--n must give one N or at least 3 (a fit in N needs 3 sizes), got "
                         f"{out['n']}")
    if seeds < 3:
        raise ValueError(f"--seeds must be >= 3 (a fit needs 3 seeds per point), got {seeds}")
    if n_ens < 1:
        raise ValueError(f"--n-ens must be >= 1 (networks per task), got {n_ens}")
    if hn_n < 1:
        raise ValueError(f"--hn-n must be >= 1 (points per Hanin-Nica network), got {hn_n}")
    if n_nets < 2:
        raise ValueError(f"--n-nets must be >= 2 (networks per Hanin-Nica task), got {n_nets}")
    return out


def _ci(f) -> str:
    return f"{f.exponent:+.3f} [{f.ci_low:+.3f}, {f.ci_high:+.3f}]"


_SHORT = {"rel_frobenius": "F", "rel_operator": "op", "rel_diagonal": "diag",
          "rel_offdiagonal": "off-diag", "abs_frobenius": "|E|_F", "abs_operator": "|E|_op",
          "stable_rank": "stable rank"}


def _fit_lines(title: str, fits) -> list[str]:
    """One line per fit: where, quantity, exponent with its 95 % interval, χ² p, verdict."""
    lines = [title]
    for f in fits:
        p = "—" if not math.isfinite(f.p_value) else f"{f.p_value:.2f}"
        lines.append(f"  {f.group}, {_SHORT.get(f.quantity, f.quantity)}: {_ci(f)}, "
                     f"χ² p = {p}: {f.verdict}")
    return lines


def _print_summary(a, summaries, figures) -> None:
    from rich.console import Console

    console = Console()
    s = a.settings
    head = (f"NTK fluctuations at initialisation — activation {s.get('activation')}, d = "
            f"{s.get('d')}, NTK parameterization; K_∞ analytic (n = width, N = points, "
            "P = parameters)")
    lines = [head]
    if a.width_fits:
        lines += _fit_lines("exponent γ in the width n: ‖K_n − K_∞‖/‖K_∞‖ ∝ n^γ "
                            "(F: Frobenius, op: operator norm) [95 % CI]", a.width_fits)
    if a.params_fits:
        lines += _fit_lines("exponent in P: ‖K_n − K_∞‖_F/‖K_∞‖_F ∝ P^γ", a.params_fits)
    if a.n_fits:
        lines += _fit_lines("exponent in N at fixed width (E = K_n − K_∞; iid entries would "
                            "give op ∝ N^-1/2, |E|_op ∝ N^1/2, stable rank ∝ N)", a.n_fits)
    h = a.hanin_nica
    if h is not None:
        lines.append(f"Hanin–Nica, log E[K²]/E[K]² vs β = Σ 1/n_l (β up to {h.beta.max():.3g}):"
                     f" {h.verdict} at fixed depth; rate c(L) = " + ", ".join(
                         f"{c:.2f} ± {1.96 * e:.2f} (L = {L})" for L, c, e in
                         zip(h.fit_depths, h.depth_rates, h.depth_rate_errs, strict=True)))
        lines.append(f"  pooled: log R = {h.intercept:.3f} + {h.rate:.2f} β, 95 % "
                     f"[{h.ci_low:.2f}, {h.ci_high:.2f}], χ²/dof = {h.chi2:.1f}/{h.dof} "
                     f"(p = {h.p_value:.2g}); against Hanin–Nica's asymptotic 5: "
                     f"{h.rate_verdict}")
        if h.note:
            lines.append(f"  note: {h.note}")
    for g in a.ensemble_scaling:
        laws = [e for e in a.ensembles if e.depth == g.depth and e.n == g.n]
        bias = max(laws, key=lambda e: e.bias_sq / e.bias_sq_err if e.bias_sq_err > 0 else 0)
        lines.append(
            f"ensembles, depth {g.depth}, N = {g.n}: random part of K̄ ∝ n^γ n_ens^γ', γ = "
            f"{g.width_exponent:+.2f} ± {1.96 * g.width_exponent_err:.2f}, γ' = "
            f"{g.ens_exponent:+.2f} ± {1.96 * g.ens_exponent_err:.2f} (95 %): {g.verdict}; "
            f"bias² ‖E K_n − K_∞‖²/‖K_∞‖² most significant at width {bias.width}: "
            f"{bias.bias_sq:.2g} ± {bias.bias_sq_err:.1g}")
    ran = sum(x.done + x.failed for x in summaries)
    skipped = sum(x.skipped for x in summaries)
    wall = sum(x.wall_time for x in summaries)
    lines.append(f"tasks: {a.n_done} done, {a.n_failed} failed; ran {ran} in {wall:.1f} s, "
                 f"{skipped} already stored")
    lines.append("figures: " + ", ".join(sorted({p.name for p in figures})))
    lines += [f"note: {n}" for n in a.notes]
    for line in lines:
        console.print(line, highlight=False)


@app.command("fluctuations")
@friendly_errors
def fluctuations(
    depths: Annotated[str, typer.Option(help="Hidden layers L, comma-separated, increasing.")
                      ] = "1,3",
    widths: Annotated[str, typer.Option(help="Widths n (every hidden layer), comma-separated, "
                                        "increasing, at least 3 (the fit).")] = "64,128,256,512",
    n: Annotated[str, typer.Option("--n", help="Points N on the sphere, comma-separated, "
                                   "increasing: one value, or 3 or more for the fit in N.")
                 ] = "50,100,200",
    seeds: Annotated[int, typer.Option(help="Tasks (seeds) per point, >= 3.")] = 4,
    n_ens: Annotated[int, typer.Option(help="Networks per task: single-network distances "
                                       "are averaged over them, ensembles of 1..n_ens are "
                                       "measured.")] = 6,
    d: Annotated[int, typer.Option(help="Input dimension (points on S^(d-1)).")] = 10,
    activation: Annotated[str, typer.Option(help="relu, erf, tanh, gelu, softplus or "
                                            "identity.")] = "relu",
    sigma_w: Annotated[float, typer.Option(help="Weight scale σ_w.")] = math.sqrt(2.0),
    sigma_b: Annotated[float, typer.Option(help="Bias scale σ_b (biases when > 0).")] = 0.0,
    hn_depths: Annotated[str, typer.Option(help="Depths of the Hanin–Nica sweep, at least 3."
                                           )] = "1,2,4,8",
    hn_widths: Annotated[str, typer.Option(help="Widths of the Hanin–Nica sweep.")] = "32,64",
    hn_n: Annotated[int, typer.Option(help="Points per Hanin–Nica network.")] = 16,
    n_nets: Annotated[int, typer.Option(help="Networks per Hanin–Nica task.")] = 32,
    workers: Annotated[int, typer.Option("--workers", "-w", help="1: in this process. k > 1: "
                                         "a local Dask cluster of k processes.")] = 1,
    output: Annotated[Path, typer.Option("--output", "-o", help="Directory of the two stores, "
                                         "the analysis and the figures.")] = DEFAULT_OUTPUT,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
) -> None:
    """Finite-width fluctuations of the NTK at initialisation, against K_∞.

    For every depth L, width n, number of points N and seed: n_ens networks
    (NTK parameterization), their empirical NTK K_n(0) (structured, no Jacobian)
    on N fixed points of the sphere, and ‖K_n − K_∞‖/‖K_∞‖ in Frobenius and
    operator norm, diagonal and off-diagonal, with the analytic K_∞; ensemble
    averages of 1 … n_ens networks.  Separately, K_n(x, x) of deep narrow
    networks for the Hanin–Nica second moment against β = Σ 1/n_l.  Fits:
    exponents in n, in P and in N with 95 % intervals, the rate in β, the
    ensemble law.  Stores in OUTPUT/kernels and OUTPUT/diagonal (the same command
    resumes; new sizes or seeds run only the new tasks), OUTPUT/analysis.json,
    OUTPUT/figures.  The defaults take about 30 s on two cores.
    """
    from ntkjam.analysis.fluctuations import analyze_fluctuations
    from ntkjam.experiments.fluctuations import diagonal_spec, fluctuation_spec
    from ntkjam.figures.fluctuations import save_fluctuation_figures

    check_workers(workers)
    o = _check_options(depths=depths, widths=widths, n=n, seeds=seeds, n_ens=n_ens,
                       hn_depths=hn_depths, hn_widths=hn_widths, hn_n=hn_n,
                       n_nets=n_nets)
    output = check_output_dir(output)
    common = {"d": int(d), "activation": activation, "sigma_w": float(sigma_w),
              "sigma_b": float(sigma_b)}
    kernel_dir, diag_dir = output / "kernels", output / "diagonal"
    specs = [
        fluctuation_spec(depths=o["depths"], widths=o["widths"], n=o["n"], seeds=seeds,
                         output=str(kernel_dir), n_ens=int(n_ens), **common),
        diagonal_spec(depths=o["hn_depths"], widths=o["hn_widths"], seeds=seeds,
                      output=str(diag_dir), n=int(hn_n), n_nets=int(n_nets), **common),
    ]
    check_run_directory(kernel_dir, specs[0].experiment, specs[0].params,
                        "a kernel-fluctuation sweep")
    check_run_directory(diag_dir, specs[1].experiment, specs[1].params, "a Hanin-Nica sweep")
    summaries = run_sweeps(specs, workers, quiet)
    a = analyze_fluctuations(kernel_dir, diag_dir)
    (output / "analysis.json").write_text(json.dumps(a.to_dict(), indent=1) + "\n",
                                          encoding="utf-8")
    figures = save_fluctuation_figures(a, output / "figures")
    _print_summary(a, summaries, figures)
    failed = sum(x.failed_total for x in summaries)
    if failed:
        err_console.print(f"{failed} task(s) failed: see `ntkjam sweep status {kernel_dir}` "
                          f"and `{diag_dir}`", highlight=False)
        raise typer.Exit(code=1)
