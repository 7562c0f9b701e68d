"""The report as one self-contained HTML page: figures embedded as base64 PNG, no script.

Everything the page shows comes from the :class:`~ntkjam.report.document.Report`;
the Markdown writer renders the same object (:mod:`ntkjam.report.markdown`).
"""

from __future__ import annotations

import base64
import json
from html import escape
from pathlib import Path

from ntkjam.report.document import Report, Section, Table

__all__ = ["render_html", "write_html"]

_STYLE = """
body { font-family: sans-serif; max-width: 70em; margin: 2em auto; padding: 0 1em;
       line-height: 1.45; color: #222; }
table { border-collapse: collapse; margin: 0.8em 0; font-size: 0.85em; }
th, td { border: 1px solid #bbb; padding: 0.2em 0.5em; text-align: right; }
th { background: #eee; }
caption { caption-side: top; text-align: left; font-style: italic; padding: 0.3em 0; }
figure { margin: 1em 0; }
img { max-width: 100%; height: auto; border: 1px solid #ddd; }
.answer { background: #f3f7ff; border-left: 4px solid #3a6; padding: 0.6em 1em; }
pre { background: #f6f6f6; padding: 0.6em; overflow-x: auto; font-size: 0.8em; }
"""


def _table(t: Table) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in t.header)
    body = "".join("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in row) + "</tr>"
                   for row in t.rows)
    return (f"<table><caption>{escape(t.caption)}</caption><thead><tr>{head}</tr></thead>"
            f"<tbody>{body}</tbody></table>")


def _figure(path: Path, caption: str) -> str:
    data = base64.b64encode(Path(path).read_bytes()).decode("ascii")
    return (f'<figure><img src="data:image/png;base64,{data}" alt="{escape(caption)}">'
            f"<figcaption>{escape(caption)}</figcaption></figure>")


def _section(s: Section) -> str:
    parts = [f'<section id="section-{s.number}"><h2>{escape(s.heading)}</h2>']
    parts += [f"<p>{escape(p)}</p>" for p in s.paragraphs]
    parts += [_table(t) for t in s.tables]
    parts += [_figure(f.path, f.caption) for f in s.figures]
    parts.append(f'<p class="answer"><strong>Answer.</strong> {escape(s.answer)}</p></section>')
    return "\n".join(parts)


def render_html(report: Report) -> str:
    """The page as a string (UTF-8, one file, no external resources).

    Parameters
    ----------
    report : Report
        Sections, provenance, run tables and specs (figures are read from their paths).

    Returns
    -------
    str
        One ``<section id="section-N">`` per section, then the runs, the provenance and
        the specs; all text HTML-escaped.

    Examples
    --------
    >>> from ntkjam.report.document import Report, Section
    >>> from ntkjam.report.html import render_html
    >>> page = render_html(Report("N < P?", "smoke", (Section(1, "Q?", (), (), (), "a"),)))
    >>> page.startswith("<!DOCTYPE html>"), "<h1>N &lt; P?</h1>" in page
    (True, True)
    >>> '<section id="section-1"><h2>1. Q?</h2>' in page, "<script" in page
    (True, False)
    """
    prov = Table("Provenance", ("", "value"), tuple((k, v) for k, v in report.provenance.items()))
    specs = "\n".join(f"<h3>{escape(name)}</h3><pre>{escape(json.dumps(spec, indent=1))}</pre>"
                      for name, spec in report.specs.items())
    body = "\n".join(_section(s) for s in report.sections)
    runs = "\n".join(_table(t) for t in report.runs)
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<title>{escape(report.title)}</title><style>{_STYLE}</style></head><body>\n"
        f"<h1>{escape(report.title)}</h1>\n"
        f"<p>Profile <code>{escape(report.profile)}</code>. Notation: N = training points, "
        "P = parameters (features), φ = N/P (the jamming papers swap N and P).</p>\n"
        f"{body}\n<h2>Runs</h2>\n{runs}\n<h2>Provenance</h2>\n{_table(prov)}\n"
        f"<h2>Specs</h2>\n{specs}\n</body></html>\n")


def write_html(report: Report, path: str | Path) -> Path:
    """Write :func:`render_html` to ``path`` (its directory created) and return it.

    Parameters
    ----------
    report : Report
    path : path
        The ``.html`` file.

    Returns
    -------
    Path

    Examples
    --------
    A figure is embedded byte for byte (here a file holding only the PNG signature):

    >>> import base64, re, tempfile
    >>> from pathlib import Path
    >>> from ntkjam.report.document import Figure, Report, Section
    >>> from ntkjam.report.html import write_html
    >>> png = b"\\x89PNG\\r\\n\\x1a\\n"
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     _ = Path(tmp, "fig.png").write_bytes(png)
    ...     s = Section(1, "Q?", (), (), (Figure(Path(tmp, "fig.png"), "P(SAT)"),), "a")
    ...     page = write_html(Report("T", "smoke", (s,)), Path(tmp, "out", "report.html"))
    ...     text = page.read_text(encoding="utf-8")
    >>> page.name, base64.b64decode(re.search("base64,([^\\"]*)", text)[1]) == png
    ('report.html', True)
    """

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_html(report), encoding="utf-8")
    return path
