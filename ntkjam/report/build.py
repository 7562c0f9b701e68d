"""``ntkjam report`` end to end: run the profile's sweeps, analyse, write HTML and Markdown.

Layout of the output directory::

    OUTPUT/runs/<study>/      one resumable sweep store per study
    OUTPUT/figures/<study>/   the PNG figures
    OUTPUT/report.html        self-contained (figures embedded)
    OUTPUT/report.md          the same content, figures copied to OUTPUT/figures/report/

A second call with the same profile finds every task stored and only redoes the
analysis and the documents.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from pathlib import Path

from ntkjam.core.reprs import SummaryRepr
from ntkjam.report.document import Report, Table, num

__all__ = ["ReportResult", "build_report", "make_report"]


@dataclass(frozen=True, repr=False)
class ReportResult(SummaryRepr):
    """What :func:`build_report` wrote and ran.

    Attributes
    ----------
    html, markdown : Path
    runs : tuple of StudyRun
    wall_time, cpu_time : float
        Seconds for the whole report (sweeps, analysis, documents).
    report : Report

    Examples
    --------
    >>> from pathlib import Path
    >>> from ntkjam.report.build import ReportResult
    >>> from ntkjam.report.document import Report
    >>> result = ReportResult(html=Path("out", "report.html"), markdown=Path("out", "report.md"),
    ...                       runs=(), wall_time=40.2, cpu_time=61.5,
    ...                       report=Report("Study", "smoke", ()))
    >>> result.html.name, result.markdown.suffix, result.report.profile
    ('report.html', '.md', 'smoke')
    """

    html: Path
    markdown: Path
    runs: tuple
    wall_time: float
    cpu_time: float
    report: Report


def _runs_table(runs, analysis_wall: float, analysis_cpu: float) -> Table:
    from ntkjam.report.profiles import STUDIES

    rows = [(r.name, str(STUDIES[r.name][0]), str(r.total), str(r.skipped), str(r.ran),
             str(r.failed), num(r.wall_time, 3), num(r.cpu_time, 3)) for r in runs]
    rows.append(("analysis, figures, documents", "", "", "", "", "", num(analysis_wall, 3),
                 num(analysis_cpu, 3)))
    wall = sum(r.wall_time for r in runs) + analysis_wall
    cpu = sum(r.cpu_time for r in runs) + analysis_cpu
    rows.append(("total", "", str(sum(r.total for r in runs)), str(sum(r.skipped for r in runs)),
                 str(sum(r.ran for r in runs)), str(sum(r.failed for r in runs)), num(wall, 3),
                 num(cpu, 3)))
    return Table("What this run computed: tasks per study (stored = found in the store and "
                 "not run again), wall and CPU seconds (CPU: user + system of this process and "
                 "its children)", ("study", "section", "tasks", "stored", "ran", "failed",
                                   "wall s", "CPU s"), tuple(rows))


def _specs(specs: dict, output: Path) -> dict:
    out = {}
    for name, study in specs.items():
        for i, spec in enumerate(study):
            d = spec.model_dump(mode="json", exclude={"base_dir"})
            d["output"] = Path(spec.output_dir()).relative_to(output).as_posix()
            out[name if len(study) == 1 else f"{name}[{i}]"] = d
    return out


def make_report(results: dict, figures: dict, *, profile: str, provenance: dict,
                specs: dict, runs: tuple = ()) -> Report:
    """The :class:`Report` of analysed studies (sections 1–7).

    Parameters
    ----------
    results : dict
        Study name → its analysis, as :func:`ntkjam.report.studies.analyze_studies`
        returns them (see each section function for the fields it reads).
    figures : dict[str, list of Path]
        Study name (and ``"spectra"``) → its PNG files.
    profile : str
    provenance : dict[str, str]
        From :func:`ntkjam.report.provenance.provenance`.
    specs : dict
        Study name → its spec as JSON-ready data.
    runs : tuple of Table
        What the run computed.

    Returns
    -------
    Report

    Examples
    --------
    Studies that measured nothing (stand-ins for the analyses, holding no fit): every
    section still answers, and says so rather than quoting a number:

    >>> import pandas as pd
    >>> from types import SimpleNamespace as NS
    >>> from ntkjam.analysis import onset_limit, rs_comparison
    >>> from ntkjam.report.build import make_report
    >>> from ntkjam.report.profiles import STUDIES
    >>> none = NS(crossings=[], cover_tests=[], fss=None, fss_cover=None, settings={},
    ...           points=(), width_fits=(), params_fits=(), n_fits=(), hanin_nica=None,
    ...           lazy=(), lazy_crossings=(), curves=(), theory=rs_comparison({}),
    ...           loss_onset=onset_limit([], kind="loss"),
    ...           isostaticity_onset=onset_limit([], kind="isostaticity"))
    >>> res = {k: (pd.DataFrame(columns=["phi"]), {}) if k.startswith("spectrum") else none
    ...        for k in STUDIES}
    >>> res |= {"fixed_points": [],
    ...         "ntk_rank": pd.DataFrame(columns=["n", "rank", "lambda_min", "condition_number"]),
    ...         "generalization": NS(peaks=(), crossings=(), peak_vs_crossing=(), theory=(),
    ...                              ensemble=(), settings={})}
    >>> report = make_report(res, dict.fromkeys([*STUDIES, "spectra"], []), profile="smoke",
    ...                      provenance={}, specs={})
    >>> [s.number for s in report.sections]
    [1, 2, 3, 4, 5, 6, 7]
    >>> print(report.sections[6].answer)
    Test error vs φ: nothing measured.
    >>> "φ_c undetermined on this grid" in report.sections[0].answer
    True
    """
    from ntkjam.report import sections_jamming as sj
    from ntkjam.report import sections_networks as sn

    sections = tuple(f(results, figures) for f in (
        sj.transition_section, sj.spectrum_section, sj.criticality_section,
        sn.fluctuation_section, sn.fixed_point_section, sn.trained_section,
        sn.generalization_section))
    return Report(title="Jamming of neural networks in function space: the study, reproduced",
                  profile=profile, sections=sections, provenance=provenance, runs=runs,
                  specs=specs)


def build_report(profile: str, output: str | Path, *, workers: int = 1,
                 command_line: str = "", markdown: str | Path | None = None,
                 markdown_figures: str | Path | None = None, n_boot: int | None = None,
                 progress: bool = False, echo=None) -> ReportResult:
    """Run, analyse and write the report of ``profile`` into ``output``.

    Parameters
    ----------
    profile : {"quick", "full", "smoke"}
    output : path
        The report directory (created; resumable).
    workers : int
        Local processes of the sweeps.
    command_line : str
        Recorded in the provenance.
    markdown : path, optional
        Where the Markdown goes (default ``OUTPUT/report.md``).
    markdown_figures : path, optional
        Where its figures go (default ``figures/<name>/`` beside it).
    n_boot : int, optional
        Bootstrap samples of the fits (default: the profile's, :data:`N_BOOT`).
    progress : bool
        Progress bars of the sweeps.
    echo : callable, optional
        ``echo(line)`` for what each step did.

    Returns
    -------
    ReportResult

    Examples
    --------
    The profile is checked before anything runs or is written (a real run, even of the
    ``smoke`` profile, takes tens of seconds: see ``tests/test_report.py``):

    >>> import tempfile
    >>> from pathlib import Path
    >>> from ntkjam.report.build import build_report
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     try:
    ...         build_report("tiny", Path(tmp, "report"))
    ...     except ValueError as exc:
    ...         print(exc)
    ...     created = Path(tmp, "report").exists()
    profile must be one of quick, full, smoke, got 'tiny'
    >>> created
    False
    """

    from ntkjam.report.html import write_html
    from ntkjam.report.markdown import write_markdown
    from ntkjam.report.profiles import FIGURES, N_BOOT, report_specs
    from ntkjam.report.provenance import provenance
    from ntkjam.report.running import run_studies
    from ntkjam.report.studies import analyze_studies

    output = Path(output)
    specs = report_specs(profile, output)
    t0 = time.perf_counter()
    runs = tuple(run_studies(specs, workers=workers, progress=progress, echo=echo))
    t1, c1 = time.perf_counter(), time.process_time()
    n_boot = N_BOOT[profile] if n_boot is None else n_boot
    results, figures = analyze_studies(specs, output, n_boot=n_boot, figures=FIGURES[profile])
    md = Path(markdown) if markdown is not None else output / "report.md"
    md_figs = (Path(markdown_figures) if markdown_figures is not None
               else md.parent / "figures" / md.stem)
    prov = provenance(command_line, profile=profile, workers=workers)
    report = make_report(results, figures, profile=profile, provenance=prov,
                         specs=_specs(specs, output))
    wall_a, cpu_a = time.perf_counter() - t1, time.process_time() - c1
    report = replace(report, runs=(_runs_table(runs, wall_a, cpu_a),))
    html = write_html(report, output / "report.html")
    md = write_markdown(report, md, md_figs)
    if echo is not None:
        echo(f"analysis and documents: {wall_a:.1f} s (CPU {cpu_a:.1f} s) → {html}, {md}")
    return ReportResult(html=html, markdown=md, runs=runs,
                        wall_time=time.perf_counter() - t0,
                        cpu_time=sum(r.cpu_time for r in runs) + time.process_time() - c1,
                        report=report)
