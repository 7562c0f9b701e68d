"""The report as Markdown: the same text, tables and numbers as the HTML page.

Figures are copied as PNG files next to the document (``figures_dir``) and linked by
relative paths, so the file renders on GitHub and in MkDocs.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from ntkjam.report.document import Report, Section, Table

__all__ = ["render_markdown", "write_markdown"]


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _table(t: Table) -> str:
    lines = [f"*{_cell(t.caption)}*", "",
             "| " + " | ".join(_cell(h) or " " for h in t.header) + " |",
             "|" + "|".join("---" for _ in t.header) + "|"]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in t.rows]
    return "\n".join(lines)


def _section(s: Section, links: dict) -> str:
    parts = [f"## {s.heading}", *s.paragraphs, *(_table(t) for t in s.tables)]
    parts += [f"![{f.caption}]({links[f.path]})" for f in s.figures]
    parts.append(f"**Answer.** {s.answer}")
    return "\n\n".join(parts)


def render_markdown(report: Report, links: dict) -> str:
    """The document as a string; ``links`` maps each figure's path to its link.

    Parameters
    ----------
    report : Report
    links : dict
        Figure path → the relative link written (``write_markdown`` makes them).

    Returns
    -------
    str
        GitHub-flavoured Markdown: ``##`` per section, pipe tables, ``**Answer.**``.

    Examples
    --------
    >>> from ntkjam.report.document import Report, Section, Table
    >>> from ntkjam.report.markdown import render_markdown
    >>> t = Table("φ_c", ("P", "φ_c"), (("100", "2.01"),))
    >>> text = render_markdown(Report("T", "smoke", (Section(1, "Q?", (), (t,), (), "a"),)), {})
    >>> print(text[text.index("## 1."):text.index("## Runs")].strip())
    ## 1. Q?
    <BLANKLINE>
    *φ_c*
    <BLANKLINE>
    | P | φ_c |
    |---|---|
    | 100 | 2.01 |
    <BLANKLINE>
    **Answer.** a
    """
    prov = Table("Provenance", ("", "value"), tuple((k, v) for k, v in report.provenance.items()))
    specs = "\n\n".join(f"### {name}\n\n```json\n{json.dumps(spec, indent=1)}\n```"
                        for name, spec in report.specs.items())
    return "\n\n".join([
        f"# {report.title}",
        f"Profile `{report.profile}`. Notation: N = training points, P = parameters "
        "(features), φ = N/P (the jamming papers swap N and P).",
        *(_section(s, links) for s in report.sections),
        "## Runs", *(_table(t) for t in report.runs),
        "## Provenance", _table(prov), "## Specs", specs]) + "\n"


def write_markdown(report: Report, path: str | Path, figures_dir: str | Path | None = None
                   ) -> Path:
    """Write the Markdown to ``path`` and copy its figures into ``figures_dir``.

    Parameters
    ----------
    report : Report
    path : path
        The ``.md`` file (its directory is created).
    figures_dir : path, optional
        Where the PNG files go (default: ``figures`` beside ``path``); each is named
        ``<study>_<figure>.png`` and linked relative to ``path``.

    Returns
    -------
    Path
        ``path``.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from ntkjam.report.document import Figure, Report, Section
    >>> from ntkjam.report.markdown import write_markdown
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     fig = Path(tmp, "figures", "jamming_relu", "sat_probability.png")
    ...     fig.parent.mkdir(parents=True)
    ...     _ = fig.write_bytes(b"\\x89PNG\\r\\n\\x1a\\n")
    ...     s = Section(1, "Q?", (), (), (Figure(fig, "P(SAT) vs φ"),), "a")
    ...     md = write_markdown(Report("T", "smoke", (s,)), Path(tmp, "report.md"))
    ...     copied = Path(tmp, "figures", "jamming_relu_sat_probability.png").is_file()
    ...     link = [ln for ln in md.read_text(encoding="utf-8").splitlines() if "![" in ln]
    >>> copied, link
    (True, ['![P(SAT) vs φ](figures/jamming_relu_sat_probability.png)'])
    """

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figures_dir = Path(figures_dir) if figures_dir is not None else path.parent / "figures"
    figures_dir.mkdir(parents=True, exist_ok=True)
    links = {}
    for s in report.sections:
        for f in s.figures:
            target = figures_dir / f"{Path(f.path).parent.name}_{Path(f.path).name}"
            if Path(f.path).resolve() != target.resolve():
                shutil.copyfile(f.path, target)
            links[f.path] = Path(os.path.relpath(target, path.parent)).as_posix()
    path.write_text(render_markdown(report, links), encoding="utf-8")
    return path
