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
    the dpi the files are written at (so texts are laid out once for the screen and PNG)."""
    fig = Figure(figsize=figsize, dpi=120, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def colors(k: int) -> list:
    """``k`` colours of viridis, away from its ends."""
    cmap = matplotlib.colormaps["viridis"]
    return [cmap(0.15 + 0.7 * i / max(k - 1, 1)) for i in range(k)]


def no_data(ax, text: str) -> None:
    """Say on an empty panel why nothing is drawn."""
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, fontsize=9,
            color="0.4")
    ax.set_xticks([])
    ax.set_yticks([])


def log_axes(ax, *, x=None, y=None) -> None:
    """Log scales only on the axes whose data have a positive finite value.

    Over less than ~2 decades the ticks are 1, 2, 5 × 10^k (every digit below 0.4 decade),
    labelled as plain numbers, and the minor ticks carry no label (matplotlib would label
    them there, one over the other).
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
    bottom of the panel instead of to −∞)."""
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

    Returns
    -------
    bool
        Whether any text was wrapped (the layout must then be computed again).
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
    """``formats`` as a tuple of lower-case names (one name or several), each allowed."""
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

    Returns
    -------
    list of Path
        The files written, in the order of ``formats``.
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

    Returns
    -------
    list of Path
        The files written (``directory`` is created if needed): all of the first format
        first, then the next.
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
