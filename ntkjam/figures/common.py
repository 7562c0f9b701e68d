"""What every figure module shares: colours, empty panels, log axes, layout, writing files.

No pyplot and no backend choice: a figure is a :class:`matplotlib.figure.Figure`
with its own Agg canvas, so importing or drawing changes nothing global (an
interactive session keeps its backend; nothing is registered with pyplot).

Every figure uses matplotlib's constrained layout, which keeps the suptitle, the
axis labels and the tick labels inside the figure; :func:`fit_texts` wraps the
titles and axis labels that are longer than the room they have (constrained layout
moves text, it does not break lines), so nothing is clipped.  :func:`write_figures`
writes each figure in every format asked (PNG and PDF by default).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import matplotlib
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.layout_engine import ConstrainedLayoutEngine
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

from ntkjam.core.deprecation import renamed_keywords

__all__ = ["CONVENTION", "FORMATS", "check_formats", "colors", "fit_texts", "log_axes",
           "new_figure", "no_data", "positive_floor", "save_figure", "write_figures"]

#: The notation every figure states.
CONVENTION = "N = training points, P = features, φ = N/P"
#: The formats every command writes its figures in.
FORMATS = ("png", "pdf")
#: Formats a figure may be written in.
_ALLOWED = ("png", "pdf", "svg")
#: Room kept free at a figure's edge for a wrapped suptitle, as a fraction of its width.
_EDGE = 0.97


def new_figure(figsize: tuple[float, float]) -> Figure:
    """A figure with its own Agg canvas (not managed by pyplot), in constrained layout, at
    the dpi the files are written at (so texts are laid out once for the screen and PNG).

    Parameters
    ----------
    figsize : (float, float)
        Width and height in inches.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> from ntkjam.figures.common import new_figure
    >>> fig = new_figure((4.0, 3.0))
    >>> fig.get_size_inches().tolist(), float(fig.dpi), type(fig.get_layout_engine()).__name__
    ([4.0, 3.0], 120.0, 'ConstrainedLayoutEngine')
    >>> type(fig.canvas).__name__  # its own canvas: pyplot knows nothing of it
    'FigureCanvasAgg'
    """
    fig = Figure(figsize=figsize, dpi=120, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def colors(k: int) -> list:
    """``k`` colours of viridis, away from its ends (one per size or group of a figure).

    Parameters
    ----------
    k : int
        How many colours.

    Returns
    -------
    list of (r, g, b, a) tuples, length k
        From viridis at 0.15 to 0.85 (a single colour: 0.15).

    Examples
    --------
    >>> import matplotlib
    >>> from ntkjam.figures.common import colors
    >>> c, viridis = colors(3), matplotlib.colormaps["viridis"]
    >>> len(c), c[0] == viridis(0.15), c[1] == viridis(0.5), c[-1] == viridis(0.85)
    (3, True, True, True)
    """
    cmap = matplotlib.colormaps["viridis"]
    return [cmap(0.15 + 0.7 * i / max(k - 1, 1)) for i in range(k)]


def no_data(ax, text: str) -> None:
    """Say on an empty panel why nothing is drawn: ``text`` centred, the ticks removed.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
    text : str

    Examples
    --------
    >>> from ntkjam.figures.common import new_figure, no_data
    >>> ax = new_figure((3.0, 2.0)).subplots()
    >>> no_data(ax, "no crossing on this grid")
    >>> ax.texts[0].get_text(), list(ax.get_xticks()), list(ax.get_yticks())
    ('no crossing on this grid', [], [])
    """
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, fontsize=9,
            color="0.4")
    ax.set_xticks([])
    ax.set_yticks([])


def log_axes(ax, *, x=None, y=None) -> None:
    """Log scales only on the axes whose data have a positive finite value.

    Over less than ~2 decades the ticks are 1, 2, 5 × 10^k (every digit below 0.4 decade),
    labelled as plain numbers, and the minor ticks carry no label (matplotlib would label
    them there, one over the other).

    Parameters
    ----------
    ax : matplotlib.axes.Axes
    x, y : array_like, shape (k,), optional
        The values drawn along each axis; an axis is left alone when its values are not
        given or none is positive and finite (a count of zero, a loss of 0).

    Examples
    --------
    >>> from ntkjam.figures.common import log_axes, new_figure
    >>> ax = new_figure((3.0, 2.0)).subplots()
    >>> ax.plot([1.0, 10.0, 100.0], [0.0, 0.0, 0.0])  # doctest: +ELLIPSIS
    [<matplotlib.lines.Line2D object at ...>]
    >>> log_axes(ax, x=[1.0, 10.0, 100.0], y=[0.0, 0.0, 0.0])  # y: nothing positive
    >>> ax.get_xscale(), ax.get_yscale()
    ('log', 'linear')
    """
    for values, axis in ((x, ax.xaxis), (y, ax.yaxis)):
        if values is None:
            continue
        v = np.asarray(values, dtype=float)
        v = v[np.isfinite(v) & (v > 0)]
        if not v.size:
            continue
        (ax.set_xscale if axis is ax.xaxis else ax.set_yscale)("log")
        decades = float(np.log10(v.max() / v.min()))
        if decades < 2.5:
            subs = tuple(range(1, 10)) if decades < 0.4 else (1, 2, 5)
            axis.set_major_locator(LogLocator(base=10.0, subs=subs))
            axis.set_major_formatter(FuncFormatter(lambda t, _: f"{t:g}"))
        axis.set_minor_formatter(NullFormatter())


def positive_floor(values, lower) -> np.ndarray:
    """Lower ends of error bars for a log axis: ``lower``, raised to 1/100 of the
    smallest positive value where it is not positive (a bar down to 0 is drawn to the
    bottom of the panel instead of to −∞).

    Parameters
    ----------
    values : array_like, shape (k,)
        The values drawn (their smallest positive one sets the floor; 1 if none is).
    lower : array_like, shape (k,)
        The lower ends of their bars.

    Returns
    -------
    numpy.ndarray, shape (k,)

    Examples
    --------
    >>> from ntkjam.figures.common import positive_floor
    >>> positive_floor([0.5, 2.0], [0.25, -1.0]).tolist()  # −1 → 0.5/100
    [0.25, 0.005]
    """
    v = np.asarray(values, dtype=float)
    lo = np.asarray(lower, dtype=float)
    pos = v[np.isfinite(v) & (v > 0)]
    floor = float(pos.min()) * 1e-2 if pos.size else 1.0
    return np.where(np.isfinite(lo) & (lo > 0), lo, floor)


# ------------------------------------------------------------------- wrapping text
_WORDS = re.compile(r"\$[^$]*\$\S*|\S+")  # a mathtext span stays one word


def _extent(text, renderer) -> float:
    """The length of a text along its baseline, in pixels."""
    bb = text.get_window_extent(renderer)
    return bb.height if abs(text.get_rotation() % 180 - 90) < 1 else bb.width


def _wrap(text, width: float, renderer) -> bool:
    """Break ``text`` (a Text artist) at spaces so that no line is longer than ``width``;
    whether it was too long."""
    original = text.get_text()
    if not original.strip() or _extent(text, renderer) <= width:
        return False
    lines = []
    for paragraph in original.split("\n"):
        line = ""
        for word in _WORDS.findall(paragraph):
            trial = f"{line} {word}" if line else word
            text.set_text(trial)
            if line and _extent(text, renderer) > width:
                lines.append(line)
                line = word
            else:
                line = trial
        lines.append(line)
    text.set_text("\n".join(lines))
    return True


def fit_texts(fig: Figure) -> bool:
    """Wrap the suptitle, the axes titles and the axis labels into the room they have.

    The layout is computed once to know each panel's size; titles, notes and x labels
    are then wrapped to their panel's width, y labels to its height, the suptitle to
    the figure's width.  Call it after drawing, before saving.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        Drawn, with a canvas (:func:`new_figure`).

    Returns
    -------
    bool
        Whether any text was wrapped (the layout must then be computed again).

    Examples
    --------
    >>> from ntkjam.figures.common import fit_texts, new_figure
    >>> fig = new_figure((3.0, 2.0))
    >>> ax = fig.subplots()
    >>> _ = ax.set_title("a title far too long for a panel three inches wide, wrapped")
    >>> fit_texts(fig), len(ax.get_title().splitlines()) > 1
    (True, True)
    >>> fit_texts(fig)  # it fits now
    False
    """
    renderer = fig.canvas.get_renderer()
    engine = fig.get_layout_engine()
    if engine is not None:
        engine.execute(fig)
    wrapped = []
    for ax in fig.axes:
        if not ax.get_visible():
            continue
        box = ax.get_position()
        width, height = box.width * fig.bbox.width, box.height * fig.bbox.height
        wrapped.append(_wrap(ax.title, 1.08 * width, renderer))
        wrapped += [_wrap(t, 0.95 * width, renderer) for t in ax.texts]  # empty panels' notes
        wrapped.append(_wrap(ax.xaxis.label, width, renderer))
        wrapped.append(_wrap(ax.yaxis.label, height, renderer))
    wrapped += [_wrap(t, _EDGE * fig.bbox.width, renderer) for t in fig.texts]
    return any(wrapped)


def _freeze_layout(fig: Figure, again: bool) -> None:
    """Keep the layout :func:`fit_texts` computed (computed ``again`` if a text was
    wrapped): the formats written next reuse it instead of each recomputing it (positions
    are fractions of the figure, the same at any dpi)."""
    engine = fig.get_layout_engine()
    if isinstance(engine, ConstrainedLayoutEngine):
        if again:
            engine.execute(fig)
        fig.set_layout_engine("none")


# ------------------------------------------------------------------- writing files
def check_formats(formats) -> tuple[str, ...]:
    """``formats`` as a tuple of lower-case names (one name or several), each allowed.

    Parameters
    ----------
    formats : str or sequence of str
        Among ``"png"``, ``"pdf"``, ``"svg"`` (any case).

    Returns
    -------
    tuple of str

    Raises
    ------
    ValueError
        No format, or one that is not allowed (the message names it).

    Examples
    --------
    >>> from ntkjam.figures.common import check_formats
    >>> check_formats("PNG"), check_formats(("png", "pdf"))
    (('png',), ('png', 'pdf'))
    >>> check_formats(("png", "jpeg"))
    Traceback (most recent call last):
        ...
    ValueError: formats must be among ['png', 'pdf', 'svg'], got 'jpeg'
    """
    names = (formats,) if isinstance(formats, str) else tuple(formats)
    if not names:
        raise ValueError(f"formats must name at least one of {list(_ALLOWED)}, got none")
    bad = [f for f in names if str(f).lower() not in _ALLOWED]
    if bad:
        raise ValueError(f"formats must be among {list(_ALLOWED)}, got {bad[0]!r}")
    return tuple(str(f).lower() for f in names)


def save_figure(fig: Figure, path: str | Path, *, formats=FORMATS, dpi: int = 120
                ) -> list[Path]:
    """Write ``fig`` as PATH with each format's suffix (``a/b.png`` → ``a/b.png``, ``a/b.pdf``).

    The texts are wrapped first (:func:`fit_texts`) and the layout computed once for all
    the formats.  The parent directory is created.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
    path : str or Path
        The file name; its suffix is replaced by each format's.
    formats : str or sequence of str
        See :func:`check_formats` (default: PNG and PDF).
    dpi : int
        Resolution of the raster formats.

    Returns
    -------
    list of Path
        The files written, in the order of ``formats``.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from ntkjam.figures.common import new_figure, save_figure
    >>> fig = new_figure((2.0, 1.5))
    >>> _ = fig.subplots().plot([0, 1], [1, 0])
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     paths = save_figure(fig, Path(tmp, "sub", "line.png"), dpi=40)
    ...     [p.name for p in paths], all(p.stat().st_size > 0 for p in paths)
    (['line.png', 'line.pdf'], True)
    """
    formats = check_formats(formats)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    _freeze_layout(fig, fit_texts(fig))
    out = []
    for fmt in formats:
        target = path.with_suffix(f".{fmt}")
        fig.savefig(target, dpi=dpi)
        out.append(target)
    return out


@renamed_keywords(fmt="formats")
def write_figures(
    directory: str | Path,
    panels: list[tuple[str, Callable[[Figure], object], tuple[float, float]]],
    title: str, *, formats=FORMATS, dpi: int = 120, title_size: float = 8,
) -> list[Path]:
    """Draw each ``(name, draw, size)`` on a new figure titled ``title``; write DIR/name.fmt.

    ``formats`` is one format (``"png"``) or several (``("png", "pdf")``, the default):
    each panel is drawn once and written in every format.

    Parameters
    ----------
    directory : str or Path
    panels : list of (str, callable, (float, float))
        Each figure's file name (no suffix), a function drawing on a new
        :class:`~matplotlib.figure.Figure`, and the figure's size in inches.
    title : str
        The suptitle of every figure (wrapped to fit).
    formats : str or sequence of str
    dpi : int
    title_size : float
        Font size of the suptitle.

    Returns
    -------
    list of Path
        The files written (``directory`` is created if needed): all of the first format
        first, then the next.

    Examples
    --------
    >>> import tempfile
    >>> from ntkjam.figures.common import write_figures
    >>> panels = [("up", lambda fig: fig.subplots().plot([0, 1]), (2.0, 1.5)),
    ...           ("down", lambda fig: fig.subplots().plot([1, 0]), (2.0, 1.5))]
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     [p.name for p in write_figures(tmp, panels, "two lines", dpi=40)]
    ['up.png', 'down.png', 'up.pdf', 'down.pdf']
    """
    formats = check_formats(formats)
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    written: dict[str, list[Path]] = {fmt: [] for fmt in formats}
    for name, draw, size in panels:
        fig = new_figure(size)
        draw(fig)
        fig.suptitle(title, fontsize=title_size)
        for path in save_figure(fig, directory / f"{name}.png", formats=formats, dpi=dpi):
            written[path.suffix[1:]].append(path)
    return [p for fmt in formats for p in written[fmt]]
