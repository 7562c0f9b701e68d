"""What every figure module shares: colours, empty panels, log axes, writing a file.

No pyplot and no backend choice: a figure is a :class:`matplotlib.figure.Figure`
with its own Agg canvas, so importing or drawing changes nothing global (an
interactive session keeps its backend; nothing is registered with pyplot).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import matplotlib
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

__all__ = ["CONVENTION", "colors", "log_axes", "new_figure", "no_data", "write_figures"]

#: The notation every figure states.
CONVENTION = "N = training points, P = features, φ = N/P"


def new_figure(figsize: tuple[float, float]) -> Figure:
    """A figure with its own Agg canvas (not managed by pyplot)."""
    fig = Figure(figsize=figsize)
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
    """Log scales only on the axes whose data have a positive finite value."""
    for values, set_scale in ((x, ax.set_xscale), (y, ax.set_yscale)):
        if values is None:
            continue
        v = np.asarray(values, dtype=float)
        if np.any(np.isfinite(v) & (v > 0)):
            set_scale("log")


def write_figures(
    directory: str | Path,
    panels: list[tuple[str, Callable[[Figure], object], tuple[float, float]]],
    title: str, *, fmt: str | tuple[str, ...], dpi: int, title_size: float,
) -> list[Path]:
    """Draw each ``(name, draw, size)`` on a new figure titled ``title``; write DIR/name.fmt.

    ``fmt`` is one format (``"png"``) or several (``("png", "pdf")``: every panel is
    drawn once per format, all of the first format first).

    Returns
    -------
    list of Path
        The files written (``directory`` is created if needed).
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for one in (fmt,) if isinstance(fmt, str) else fmt:
        for name, draw, size in panels:
            fig = new_figure(size)
            draw(fig)
            fig.suptitle(title, fontsize=title_size)
            fig.tight_layout()
            path = directory / f"{name}.{one}"
            fig.savefig(path, dpi=dpi)
            paths.append(path)
    return paths
