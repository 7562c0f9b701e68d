"""The report as data: sections of paragraphs, tables and figures, and the words for numbers.

The HTML and Markdown writers render the same :class:`Report`, so the two documents
carry the same text and the same numbers.  Every number in a section is formatted
here from an analysis result (:func:`num`, :func:`ci`, :func:`against`); a value the
data cannot give is written "undetermined", never left blank or typed in.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

from ntkjam.core.reprs import SummaryRepr

__all__ = ["Figure", "Report", "Section", "Table", "against", "ci", "mean_ci", "num", "overlap",
           "pm"]


@dataclass(frozen=True)
class Figure:
    """A PNG file of the run directory and its caption."""

    path: Path
    caption: str


@dataclass(frozen=True, repr=False)
class Table(SummaryRepr):
    """A caption, a header row and rows of already formatted cells."""

    caption: str
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


@dataclass(frozen=True, repr=False)
class Section(SummaryRepr):
    """One question of the study: what was run, tables, figures, and the answer.

    ``answer`` is the closing paragraph: what was measured, with numbers and
    intervals, and the theory beside it.
    """

    number: int
    title: str
    paragraphs: tuple[str, ...]
    tables: tuple[Table, ...]
    figures: tuple[Figure, ...]
    answer: str

    @property
    def heading(self) -> str:
        """``"N. title"``."""
        return f"{self.number}. {self.title}"


@dataclass(frozen=True, repr=False)
class Report(SummaryRepr):
    """Everything the writers render (see :mod:`ntkjam.report.html`, ``.markdown``)."""

    title: str
    profile: str
    sections: tuple[Section, ...]
    provenance: dict = field(default_factory=dict)
    runs: tuple[Table, ...] = ()
    specs: dict = field(default_factory=dict)


def _finite(v) -> bool:
    try:
        return v is not None and math.isfinite(float(v))
    except (TypeError, ValueError):
        return False


def num(v, digits: int = 3) -> str:
    """``v`` with ``digits`` significant digits, or "undetermined" when not finite."""
    if not _finite(v):
        return "undetermined"
    v = float(v)
    if v == 0 or 1e-3 <= abs(v) < 1e5:
        decimals = max(0, digits - 1 - int(math.floor(math.log10(abs(v))))) if v else digits - 1
        return f"{v:.{decimals}f}"
    return f"{v:.{digits - 1}e}"


def ci(lo, hi, digits: int = 3) -> str:
    """``"[lo, hi]"``, or "undetermined" when either end is not finite."""
    if not (_finite(lo) and _finite(hi)):
        return "undetermined"
    return f"[{num(lo, digits)}, {num(hi, digits)}]"


def pm(value, err, digits: int = 3) -> str:
    """``"value ± 1.96·err"`` (95 %) from a standard error.

    "undetermined" when the value is not finite, or (with the numbers beside it) when
    the interval is wider than the value itself.
    """
    if not (_finite(value) and _finite(err)):
        return "undetermined" if not _finite(value) else f"{num(value, digits)} (no interval)"
    half = 1.959963984540054 * float(err)
    text = f"{num(value, digits)} ± {num(half, 2)}"
    return f"undetermined ({text})" if half > abs(float(value)) > 0 else text


def mean_ci(mean, lo, hi, digits: int = 3) -> str:
    """``"mean [lo, hi]"``, or ``"mean (one value, no interval)"``."""
    if not _finite(mean):
        return "undetermined"
    if not (_finite(lo) and _finite(hi)):
        return f"{num(mean, digits)} (one value, no interval)"
    return f"{num(mean, digits)} {ci(lo, hi, digits)}"


def overlap(a: tuple, b: tuple) -> str:
    """Whether two 95 % intervals ``(lo, hi)`` overlap: "consistent", "different", or
    "undetermined" when one is not finite."""
    if not all(_finite(v) for v in (*a, *b)):
        return "undetermined"
    return "consistent" if max(a[0], b[0]) <= min(a[1], b[1]) else "different"


def against(lo, hi, theory, name: str = "theory") -> str:
    """What a 95 % interval ``[lo, hi]`` says about the value ``theory``.

    ``"consistent with <name> = t"`` when it holds t, ``"excludes <name> = t"`` when it
    does not, ``"undetermined"`` when the interval is not finite.
    """
    if not (_finite(lo) and _finite(hi) and _finite(theory)):
        return "undetermined"
    word = "consistent with" if float(lo) <= float(theory) <= float(hi) else "excludes"
    return f"{word} {name} = {num(theory)}"
