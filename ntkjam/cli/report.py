"""``ntkjam report``: the study of the proposal, reproduced with one command.

Runs the fixed specs of a profile (:mod:`ntkjam.report.profiles`) through the sweep
engine into one resumable directory, analyses them, and writes a self-contained HTML
page and the same content as Markdown (:mod:`ntkjam.report`).  See docs/report.md.
"""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Annotated

import typer

from ntkjam.cli._app import app
from ntkjam.cli._common import err_console, friendly_errors
from ntkjam.cli._options import check_output_dir, check_workers

__all__ = ["report_command"]

DEFAULT_OUTPUT = Path("runs/report")


def _check_markdown(markdown: Path | None) -> Path | None:
    """``--markdown``: a ``.md`` file in a directory that can be created."""
    if markdown is None:
        return None
    markdown = Path(markdown).expanduser()
    if markdown.suffix != ".md":
        raise ValueError(f"--markdown must name a .md file, got '{markdown}'")
    if markdown.is_dir():
        raise ValueError(f"--markdown '{markdown}' is a directory, not a .md file")
    check_output_dir(markdown.parent, "--markdown")
    return markdown


def _profile(quick: bool | None, smoke: bool) -> str:
    if smoke and quick is not None:
        raise ValueError(f"--smoke and --{'quick' if quick else 'full'} exclude each other: "
                         "give one profile")
    return "smoke" if smoke else ("full" if quick is False else "quick")


def _command(profile: str, output: Path, markdown: Path | None, workers: int) -> str:
    """The command that reproduces this report (every setting spelled out)."""
    words = ["ntkjam", "report", f"--{profile}", "--output", str(output), "--workers",
             str(workers)]
    if markdown is not None:
        words += ["--markdown", str(markdown)]
    return " ".join(shlex.quote(w) for w in words)


@app.command("report")
@friendly_errors
def report_command(
    quick: Annotated[
        bool | None, typer.Option("--quick/--full", help="quick (the default): under 10 "
                                  "minutes on two cores; full: a workstation or a cluster "
                                  "(see docs/report.md for its cost).")
    ] = None,
    smoke: Annotated[
        bool, typer.Option("--smoke", help="For tests only: a few tasks per study, seconds; "
                           "its numbers mean nothing.")
    ] = False,
    output: Annotated[
        Path, typer.Option("--output", "-o", help="Report directory: one sweep store per "
                           "study (resumable), figures, report.html, report.md.")
    ] = DEFAULT_OUTPUT,
    markdown: Annotated[
        Path | None, typer.Option(help="Write the Markdown here instead of OUTPUT/report.md; "
                                  "its figures go to figures/<name>/ beside it.")
    ] = None,
    workers: Annotated[
        int, typer.Option("--workers", "-w", help="1: in this process. k > 1: this process "
                          "and k − 1 helper processes, for the studies whose work pays for them.")
    ] = 1,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No line per study.")] = False,
) -> None:
    """The study of the proposal end to end: seven questions, figures, numbers with CIs.

    Runs a fixed set of sweeps (the jamming transition for four feature models and
    the NTK, spectra, the UNSAT side and the non-convex sphere, kernel fluctuations
    and drift, fixed points of the flow, trained networks, generalization) into
    OUTPUT/runs (running the same command again reuses every stored task), analyses
    them and writes OUTPUT/report.html (self-contained: figures embedded, tables, the
    exact specs, versions, git revision, command line, machine) and the same content
    as Markdown.  Each section ends with an answer generated from the fits.
    N = training points, P = parameters, φ = N/P.
    """
    from ntkjam.report.build import build_report

    profile = _profile(quick, smoke)
    check_workers(workers)
    markdown = _check_markdown(markdown)
    output = check_output_dir(output)
    echo = None if quiet else (lambda line: err_console.print(line, highlight=False))
    result = build_report(profile, output, workers=workers,
                          command_line=_command(profile, output, markdown, workers),
                          markdown=markdown, echo=echo)
    typer.echo(f"{result.html}\n{result.markdown}")
    err_console.print(f"report ({profile}): {result.wall_time:.1f} s wall, "
                      f"{result.cpu_time:.1f} s CPU", highlight=False)
    failed = sum(r.failed for r in result.runs)
    if failed:
        err_console.print(f"{failed} task(s) failed: see `ntkjam sweep status` in "
                          f"{output / 'runs'}", highlight=False)
        raise typer.Exit(code=1)
