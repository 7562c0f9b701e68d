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
    """A PNG file of the run directory and its caption.

    Attributes
    ----------
    path : Path
        The PNG (embedded by the HTML writer, copied by the Markdown writer).
    caption : str

    Examples
    --------
    >>> from pathlib import Path
    >>> from ntkjam.report.document import Figure
    >>> fig = Figure(Path("figures", "jamming_relu", "sat_probability.png"), "P(SAT) vs φ")
    >>> fig.path.stem, fig.caption
    ('sat_probability', 'P(SAT) vs φ')
    """

    path: Path
    caption: str


@dataclass(frozen=True, repr=False)
class Table(SummaryRepr):
    """A caption, a header row and rows of already formatted cells.

    Attributes
    ----------
    caption : str
    header : tuple of str
        One per column (``C`` columns).
    rows : tuple of tuple of str
        Each of length ``C``, cells formatted with :func:`num`, :func:`ci`, ...

    Examples
    --------
    >>> from ntkjam.report.document import Table, ci, num
    >>> Table("φ_c(P)", ("P", "φ_c", "95 % CI"), (("100", num(2.013), ci(1.95, 2.08)),))
    Table(caption='φ_c(P)', header=('P', 'φ_c', '95 % CI'), rows=<tuple of 1>)
    """

    caption: str
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


@dataclass(frozen=True, repr=False)
class Section(SummaryRepr):
    """One question of the study: what was run, tables, figures, and the answer.

    ``answer`` is the closing paragraph: what was measured, with numbers and
    intervals, and the theory beside it.

    Attributes
    ----------
    number : int
        1–7, the question of the study.
    title : str
    paragraphs : tuple of str
        What was run, before the tables.
    tables : tuple of Table
    figures : tuple of Figure
    answer : str

    Examples
    --------
    >>> from ntkjam.report.document import Section
    >>> s = Section(1, "Is there a jamming transition?", ("P(SAT) vs φ.",), (), (),
    ...             "Yes: φ_c = 2.01 [1.95, 2.08], consistent with Cover = 2.00.")
    >>> s.heading
    '1. Is there a jamming transition?'
    """

    number: int
    title: str
    paragraphs: tuple[str, ...]
    tables: tuple[Table, ...]
    figures: tuple[Figure, ...]
    answer: str

    @property
    def heading(self) -> str:
        """The section's heading, ``"N. title"``.

        Examples
        --------
        >>> Section(7, "What next?", (), (), (), "undetermined").heading
        '7. What next?'
        """
        return f"{self.number}. {self.title}"


@dataclass(frozen=True, repr=False)
class Report(SummaryRepr):
    """Everything the writers render (see :mod:`ntkjam.report.html`, ``.markdown``).

    Attributes
    ----------
    title : str
    profile : str
        ``"quick"``, ``"full"`` or ``"smoke"``.
    sections : tuple of Section
    provenance : dict[str, str]
        From :func:`ntkjam.report.provenance.provenance`.
    runs : tuple of Table
        What the run computed (tasks, times).
    specs : dict[str, dict]
        Study name → its sweep spec as JSON-ready data.

    Examples
    --------
    >>> from ntkjam.report.document import Report, Section
    >>> Report("Study", "smoke", (Section(1, "Q?", (), (), (), "undetermined"),))
    Report(title='Study', profile='smoke', sections=<tuple of 1>, provenance=<dict of 0>,
           runs=(), specs=<dict of 0>)
    """

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
    """``v`` with ``digits`` significant digits, or "undetermined" when not finite.

    Parameters
    ----------
    v : float, scalar or None
    digits : int
        Significant digits; fixed notation for 10⁻³ ≤ |v| < 10⁵, else scientific.

    Returns
    -------
    str

    Examples
    --------
    >>> from ntkjam.report.document import num
    >>> num(2.0), num(1 / 3), num(0.000123456), num(123456.0), num(float("nan")), num(None)
    ('2.00', '0.333', '1.23e-04', '1.23e+05', 'undetermined', 'undetermined')
    """
    if not _finite(v):
        return "undetermined"
    v = float(v)
    if v == 0 or 1e-3 <= abs(v) < 1e5:
        decimals = max(0, digits - 1 - int(math.floor(math.log10(abs(v))))) if v else digits - 1
        return f"{v:.{decimals}f}"
    return f"{v:.{digits - 1}e}"


def ci(lo, hi, digits: int = 3) -> str:
    """``"[lo, hi]"``, or "undetermined" when either end is not finite.

    Parameters
    ----------
    lo, hi : float, scalar
        The interval's ends.
    digits : int
        Significant digits of each (:func:`num`).

    Returns
    -------
    str

    Examples
    --------
    >>> from ntkjam.report.document import ci
    >>> ci(1.95, 2.08), ci(1.95, float("inf"))
    ('[1.95, 2.08]', 'undetermined')
    """
    if not (_finite(lo) and _finite(hi)):
        return "undetermined"
    return f"[{num(lo, digits)}, {num(hi, digits)}]"


def pm(value, err, digits: int = 3) -> str:
    """``"value ± 1.96·err"`` (95 %) from a standard error.

    "undetermined" when the value is not finite, or (with the numbers beside it) when
    the interval is wider than the value itself.

    Parameters
    ----------
    value, err : float, scalar
        The estimate and its standard error.
    digits : int
        Significant digits of the value (the half-width gets 2).

    Returns
    -------
    str

    Examples
    --------
    >>> from ntkjam.report.document import pm
    >>> pm(1.0, 0.1)  # 1.96 × 0.1
    '1.00 ± 0.20'
    >>> pm(0.1, 0.1), pm(1.0, float("nan"))
    ('undetermined (0.100 ± 0.20)', '1.00 (no interval)')
    """
    if not (_finite(value) and _finite(err)):
        return "undetermined" if not _finite(value) else f"{num(value, digits)} (no interval)"
    half = 1.959963984540054 * float(err)
    text = f"{num(value, digits)} ± {num(half, 2)}"
    return f"undetermined ({text})" if half > abs(float(value)) > 0 else text


def mean_ci(mean, lo, hi, digits: int = 3) -> str:
    """``"mean [lo, hi]"``, or ``"mean (one value, no interval)"``.

    Parameters
    ----------
    mean, lo, hi : float, scalar
        The mean and its interval (e.g. from :func:`ntkjam.report.spectra.t_interval`).
    digits : int

    Returns
    -------
    str
        "undetermined" when the mean is not finite.

    Examples
    --------
    >>> from ntkjam.report.document import mean_ci
    >>> mean_ci(0.5, 0.4, 0.6), mean_ci(0.5, float("nan"), float("nan"))
    ('0.500 [0.400, 0.600]', '0.500 (one value, no interval)')
    """
    if not _finite(mean):
        return "undetermined"
    if not (_finite(lo) and _finite(hi)):
        return f"{num(mean, digits)} (one value, no interval)"
    return f"{num(mean, digits)} {ci(lo, hi, digits)}"


def overlap(a: tuple, b: tuple) -> str:
    """Whether two 95 % intervals ``(lo, hi)`` overlap: "consistent", "different", or
    "undetermined" when one is not finite.

    Parameters
    ----------
    a, b : (float, float)
        The intervals.

    Returns
    -------
    str

    Examples
    --------
    >>> from ntkjam.report.document import overlap
    >>> overlap((1.9, 2.1), (2.0, 2.3)), overlap((1.9, 2.1), (2.2, 2.3))
    ('consistent', 'different')
    >>> overlap((1.9, 2.1), (float("nan"), 2.3))
    'undetermined'
    """
    if not all(_finite(v) for v in (*a, *b)):
        return "undetermined"
    return "consistent" if max(a[0], b[0]) <= min(a[1], b[1]) else "different"


def against(lo, hi, theory, name: str = "theory") -> str:
    """What a 95 % interval ``[lo, hi]`` says about the value ``theory``.

    ``"consistent with <name> = t"`` when it holds t, ``"excludes <name> = t"`` when it
    does not, ``"undetermined"`` when the interval is not finite.

    Parameters
    ----------
    lo, hi : float, scalar
        The measured 95 % interval.
    theory : float, scalar
        The predicted value.
    name : str
        What the prediction is called in the sentence.

    Returns
    -------
    str

    Examples
    --------
    A crossing φ_c ∈ [1.95, 2.08] against Cover's φ_c = 2, and one that misses it:

    >>> from ntkjam.report.document import against
    >>> against(1.95, 2.08, 2.0, "Cover"), against(2.1, 2.3, 2.0, "Cover")
    ('consistent with Cover = 2.00', 'excludes Cover = 2.00')
    """

    if not (_finite(lo) and _finite(hi) and _finite(theory)):
        return "undetermined"
    word = "consistent with" if float(lo) <= float(theory) <= float(hi) else "excludes"
    return f"{word} {name} = {num(theory)}"
