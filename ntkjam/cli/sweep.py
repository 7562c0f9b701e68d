"""``ntkjam sweep``: run a TOML sweep spec, inspect a run directory, export its results."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ntkjam.cli._app import app
from ntkjam.cli._common import err_console, friendly_errors

if TYPE_CHECKING:
    from ntkjam.sweep import SweepSpec

sweep_app = typer.Typer(
    name="sweep",
    help="Declarative, resumable sweeps: a TOML spec expands into tasks (grid point x seed) "
    "whose results are stored in a run directory as they finish. See docs/sweeps.md.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(sweep_app, name="sweep")

EXIT_FAILED_TASKS = 1
EXIT_INTERRUPTED = 130
EXIT_DAMAGED = 1  # `status`: some array files are missing or damaged


def _busy(exc: Exception) -> typer.Exit:
    err_console.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
    return typer.Exit(code=2)


@sweep_app.command("run")
@friendly_errors
def run_command(
    spec: Annotated[Path, typer.Argument(help="The TOML spec file.", show_default=False)],
    workers: Annotated[
        int | None,
        typer.Option(
            "--workers",
            "-w",
            help="1: run in this process. k > 1: up to k processes, this one and k-1 helper "
            "processes with one thread each, started only when they pay (see --cluster). "
            "Default: the number of usable cores.",
            show_default=False,
        ),
    ] = None,
    scheduler: Annotated[
        str | None,
        typer.Option(
            help="Address of an existing Dask scheduler (tcp://host:8786), e.g. one started "
            "with dask-jobqueue on SLURM/PBS; --workers is then ignored."
        ),
    ] = None,
    retry_failed: Annotated[
        bool,
        typer.Option("--retry-failed", metavar="", help="Run again the tasks stored as failed."),
    ] = False,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output", "-o",
            help="Run directory, overriding the spec's `output` (relative to the working "
            "directory).",
        ),
    ] = None,
    dashboard: Annotated[
        bool,
        typer.Option(
            "--dashboard",
            metavar="",
            help="Run on a local Dask cluster of --workers workers and start its dashboard "
            "on 127.0.0.1:8787 (needs bokeh).",
        ),
    ] = False,
    max_in_flight: Annotated[
        int | None,
        typer.Option(
            help="Most tasks handed to the helper processes or Dask workers at once "
            "(default: two chunks each). Raise it for adaptive Dask clusters, which only "
            "grow when tasks are queued.",
        ),
    ] = None,
    cluster: Annotated[
        str,
        typer.Option(
            help="With --workers k > 1: 'auto' times a sample of the tasks in this process "
            "and starts k-1 helper processes beside it only if they save more than their "
            "start-up costs; 'always' runs every task on a local Dask cluster of k workers.",
        ),
    ] = "auto",
    chunk_size: Annotated[
        int | None,
        typer.Option(
            help="Tasks per call of a helper process or Dask worker (default: as many as "
            "take about 0.5 s, from measured task times).",
        ),
    ] = None,
    blas_threads: Annotated[
        int,
        typer.Option(
            help="BLAS threads of the tasks this process runs; 0: as the environment sets "
            "(OPENBLAS_NUM_THREADS and the like). Helpers and Dask workers use one. With "
            "more, the small dense solves of a sweep's tasks fight over the cores: the "
            "phase_diagram experiment runs 7x slower with two on two cores.",
        ),
    ] = 1,
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", metavar="",
                     help="Only say how many tasks would run, and where."),
    ] = False,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", metavar="", help="No progress bar.")
    ] = False,
) -> None:
    """Run the tasks of SPEC that are not stored yet (resume is automatic).

    Each finished task is committed to RUN/sweep.sqlite at once (arrays
    to RUN/arrays/KEY.npz), so a run stopped at any moment, even with
    kill -9, resumes where it was: run the same command again.  A task
    that raises is stored with status 'failed' and its traceback; the
    others go on.

    Before running, the stored array files are checked against their
    checksums: tasks whose file is missing or damaged run again.

    Exit status: 0 when every task is done, 1 when some are stored as
    failed, 2 on bad input, a busy or unusable run directory or a
    file-system error (disk full, read-only), 130 when interrupted.
    """
    from ntkjam.cli._options import check_workers
    from ntkjam.sweep import load_spec, run
    from ntkjam.sweep.registry import resolve
    from ntkjam.sweep.store import RunDirectoryBusy

    if scheduler is None and workers is not None:
        check_workers(workers)
    if cluster not in ("auto", "always"):
        raise ValueError(f"--cluster must be 'auto' or 'always', got {cluster!r}")
    if chunk_size is not None and chunk_size < 1:
        raise ValueError(f"--chunk-size must be >= 1, got {chunk_size}")
    if blas_threads < 0:
        raise ValueError(f"--blas-threads must be >= 0 (0: as the environment sets), "
                         f"got {blas_threads}")
    parsed = load_spec(spec)
    if dry_run:
        resolve(parsed.experiment)
        _dry_run(parsed, output)
        return
    import scipy.linalg  # noqa: F401  (its own OpenBLAS: loaded now, so that it is limited)
    from threadpoolctl import threadpool_limits

    try:
        with threadpool_limits(limits=blas_threads or None):
            summary = run(
                spec,
                workers=workers,
                scheduler=scheduler,
                retry_failed=retry_failed,
                output=output,
                progress=not quiet,
                dashboard=dashboard,
                max_in_flight=max_in_flight,
                cluster=cluster,
                chunk_size=chunk_size,
            )
    except RunDirectoryBusy as exc:
        raise _busy(exc) from None
    except KeyboardInterrupt:
        directory = parsed.output_dir(output)
        err_console.print(
            f"interrupted: finished tasks are stored in {directory}; run the same command "
            "again to resume",
            highlight=False,
            soft_wrap=True,
        )
        raise typer.Exit(code=EXIT_INTERRUPTED) from None
    if summary.temporaries_removed:
        err_console.print(
            f"removed {summary.temporaries_removed} temporary file(s) left by an interrupted "
            "run", highlight=False, soft_wrap=True,
        )
    if summary.repaired:
        err_console.print(
            f"{summary.repaired} stored task(s) had a missing or damaged array file: "
            "ran them again", highlight=False, soft_wrap=True,
        )
    typer.echo(
        f"{summary.directory}: {summary.total} tasks, {summary.skipped} already stored, "
        f"ran {summary.done + summary.failed} ({summary.done} done, {summary.failed} failed) "
        f"in {summary.wall_time:.1f} s" + (f": {summary.execution}" if summary.done
                                            + summary.failed else "")
    )
    if summary.failed_total:
        err_console.print(
            f"{summary.failed_total} task(s) stored as failed: see `ntkjam sweep status "
            f"{summary.directory}`, rerun them with --retry-failed",
            highlight=False,
            soft_wrap=True,
        )
        raise typer.Exit(code=EXIT_FAILED_TASKS)


def _dry_run(spec: SweepSpec, output: Path | None) -> None:
    from ntkjam.sweep.registry import expand_spec
    from ntkjam.sweep.store import is_run_directory, key_scheme, read_meta, read_rows

    directory = spec.output_dir(output)
    exists = is_run_directory(directory)
    tasks = expand_spec(spec, scheme=key_scheme(read_meta(directory) if exists else {}))
    stored = (
        {r["hash"]: r["status"] for r in read_rows(directory)}
        if exists
        else {}
    )
    done = sum(1 for t in tasks if stored.get(t.key) == "done")
    failed = sum(1 for t in tasks if stored.get(t.key) == "failed")
    shape = "".join(f"{k}: {len(v)} × " for k, v in spec.grid.items())
    typer.echo(
        f"{len(tasks)} tasks ({shape}{len(spec.seeds)} seeds) of {spec.experiment!r} in "
        f"{directory}: {done} done, {failed} failed, {len(tasks) - done - failed} to run"
    )


@sweep_app.command("status")
@friendly_errors
def status_command(
    directory: Annotated[Path, typer.Argument(help="A run directory.", show_default=False)],
) -> None:
    """Counts by status, per-axis coverage, the first failures, and damaged array files.

    Every array file is checked against the checksum recorded when it was
    written.  Safe to run while the sweep is running (it only reads).

    Exit status: 0, or 1 when array files are missing or damaged (run the
    spec again to recompute exactly those tasks); 2 if DIRECTORY is not a
    readable run directory.
    """
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    from ntkjam.sweep import summarize

    s = summarize(directory)
    console = Console()
    console.print(
        f"[bold]{s.directory}[/]  experiment [bold]{s.experiment}[/]: {s.total} tasks — "
        f"[green]{s.done} done[/], [red]{s.failed} failed[/], {s.missing} missing"
        + (f" ({s.extra} more rows from earlier versions of the spec)" if s.extra else "")
        + (f", [red]{len(s.damaged)} with a missing or damaged array file[/]"
           if s.damaged else ""),
        highlight=False,
        soft_wrap=True,
    )
    for axis, entries in s.coverage.items():
        table = Table(title=f"coverage along {axis}", title_justify="left")
        for col in (axis, "done", "failed", "total"):
            table.add_column(col, justify="right")
        for value, done, failed, total in entries:
            table.add_row(repr(value), str(done), str(failed), str(total))
        console.print(table)
    if s.failures:
        table = Table(title="failed tasks (first 10)", title_justify="left")
        for col in ("key", "point", "seed", "error"):
            table.add_column(col)
        for key, point, seed, error in s.failures:
            table.add_row(key[:12], repr(point), str(seed), error)
        console.print(table)
    if s.damaged:
        err_console.print(
            f"[bold red]error:[/] {len(s.damaged)} array file(s) missing or damaged; run "
            "the spec again (`ntkjam sweep run SPEC`) to recompute exactly those tasks",
            highlight=False, soft_wrap=True,
        )
        table = Table(title="damaged array files", title_justify="left")
        for col in ("key", "file", "problem"):
            table.add_column(col)
        for key, path, problem in s.damaged:
            table.add_row(key[:12], escape(str(path)), escape(problem))
        console.print(table)
        raise typer.Exit(code=EXIT_DAMAGED)


@sweep_app.command("export")
@friendly_errors
def export_command(
    directory: Annotated[Path, typer.Argument(help="A run directory.", show_default=False)],
    fmt: Annotated[
        str,
        typer.Option(
            "--format", "-f",
            help="csv or parquet (the whole table, one row per task) or netcdf (done tasks "
            "on the grid: one dimension per axis plus seed).",
        ),
    ] = "csv",
    output: Annotated[
        Path | None,
        typer.Option(
            "--output", "-o", help="Output file (default DIRECTORY/results.csv|.parquet|.nc)."
        ),
    ] = None,
) -> None:
    """Export the results of a run directory as a tidy table or a NetCDF grid."""
    from ntkjam.sweep import export

    path = export(directory, fmt, output)
    typer.echo(str(path))


@sweep_app.command("experiments")
@friendly_errors
def experiments_command() -> None:
    """List the registered experiment names (usable as `experiment = "NAME"` in a spec)."""
    from ntkjam.sweep.registry import get, names

    for name in names():
        doc = (get(name).__doc__ or "").strip().splitlines()
        typer.echo(f"{name:24s} {doc[0] if doc else ''}")
