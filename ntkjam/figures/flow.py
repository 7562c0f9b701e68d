"""The figure of one function-space run (``ntkjam flow``): loss, N_Δ and ‖K∇L‖ vs time.

Drawn from the run's result (a :class:`~ntkjam.dynamics.DynamicsResult` or anything
with ``times``, ``loss``, ``n_unsat``, ``kgrad_norm``, ``unsat_tol``, ``loss_name`` and
``status``); nothing is recomputed.

* :func:`plot_flow` — three panels sharing a logarithmic time axis (t > 0 only): the
  loss and ‖K∇L‖ on log axes (positive values only), the count N_Δ on a linear one.
* :func:`save_flow_figure` — the same as PNG and PDF.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ntkjam.figures.common import FORMATS, log_axes, new_figure, save_figure

__all__ = ["PLOT_MAX", "plot_flow", "save_flow_figure"]

#: Largest value drawn on a log axis (matplotlib cannot place decade ticks much closer
#: to the float64 limit; a diverged run's tail beyond it is left out).
PLOT_MAX = 1e200


def _series(result) -> list[tuple[np.ndarray, str, bool]]:
    """``(values, y label, log axis)`` of the three panels."""
    return [
        (np.asarray(result.loss, dtype=float), r"loss $L = \frac{1}{N} \sum_i \ell_i$", True),
        (np.asarray(result.n_unsat, dtype=float),
         rf"$N_\Delta$ (violated: $\Delta_i$ > {result.unsat_tol:g})", False),
        (np.asarray(result.kgrad_norm, dtype=float), r"$\Vert K \nabla L \Vert_2$", True),
    ]


def plot_flow(result, axes=None, *, title: str = "", xlabel: str = "flow time t"):
    """Loss, N_Δ and ‖K∇L‖ against time, on the points with t > 0.

    Parameters
    ----------
    result : DynamicsResult
        ``times`` (T,), ``loss`` (T,), ``n_unsat`` (T,), ``kgrad_norm`` (T,).
    axes : sequence of 3 Axes, optional
        Default: a new figure (6.0 × 7.5 in) with three rows sharing x.
    title, xlabel : str
        The top panel's title (default: the loss and how the run ended) and the time
        axis' label.

    Returns
    -------
    array of Axes, shape (3,)
        Loss (log y), N_Δ (linear y), ‖K∇L‖ (log y); a log time axis.

    Examples
    --------
    N = 4 points, P = 8 random features: the hinge flow reaches SAT, N_Δ falls to 0 (a
    count, on a linear axis) while the loss is drawn where it is positive.

    >>> import numpy as np
    >>> from ntkjam.dynamics import gradient_flow
    >>> from ntkjam.figures.flow import plot_flow
    >>> J = np.random.default_rng(0).standard_normal((4, 8))
    >>> res = gradient_flow(np.zeros(4), np.array([1.0, -1, 1, -1]), "hinge", features=J)
    >>> axes = plot_flow(res)
    >>> [ax.get_yscale() for ax in axes], axes[0].get_title()
    (['log', 'linear', 'log'], 'hinge: sat')
    >>> int(axes[1].lines[0].get_ydata()[-1]), axes[0].get_xscale()
    (0, 'log')
    """
    if axes is None:
        axes = new_figure((6.0, 7.5)).subplots(3, 1, sharex=True)
    t = np.asarray(result.times, dtype=float)
    keep = t > 0
    for ax, (values, label, log) in zip(axes, _series(result), strict=True):
        v = values[keep]
        shown = np.isfinite(v) & (v <= PLOT_MAX) & ((v > 0) if log else True)
        ax.set_ylabel(label)
        if not shown.any():  # not no_data: the time axis is shared, its ticks stay
            ax.text(0.5, 0.5, "nothing to draw at t > 0 (the run stopped at t = 0)"
                    if not keep.any() else "no positive finite value", ha="center",
                    va="center", transform=ax.transAxes, fontsize=9, color="0.4")
            ax.set_yticks([])
            continue
        ax.plot(t[keep][shown], v[shown], marker=".", lw=1)
        log_axes(ax, x=t[keep][shown], y=v[shown] if log else None)
        ax.grid(True, which="both", alpha=0.3)
    axes[-1].set_xlabel(xlabel)
    axes[0].set_title(title or f"{result.loss_name}: {result.status}", fontsize=9)
    return axes


def save_flow_figure(result, path: str | Path, *, title: str = "",
                     xlabel: str = "flow time t", formats=FORMATS, dpi: int = 120) -> list[Path]:
    """Write :func:`plot_flow` as PATH in each format (``flow.png`` → ``flow.png``, ``flow.pdf``).

    Parameters
    ----------
    result : DynamicsResult
        As in :func:`plot_flow`: ``times``, ``loss``, ``n_unsat``, ``kgrad_norm``, each (T,).
    path : str or Path
        The file name; its suffix is replaced by each format's.
    title, xlabel : str
        As in :func:`plot_flow`.
    formats : str or sequence of str
        Default PNG and PDF.
    dpi : int

    Returns
    -------
    list of Path
        The files written (the parent directory is created if needed).

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> import numpy as np
    >>> from ntkjam.dynamics import gradient_flow
    >>> from ntkjam.figures.flow import save_flow_figure
    >>> J = np.random.default_rng(0).standard_normal((4, 8))
    >>> res = gradient_flow(np.zeros(4), np.array([1.0, -1, 1, -1]), "hinge", features=J)
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     [p.name for p in save_flow_figure(res, Path(tmp, "flow.png"), formats="png", dpi=40)]
    ['flow.png']
    """
    fig = new_figure((6.0, 7.5))
    plot_flow(result, fig.subplots(3, 1, sharex=True), title=title, xlabel=xlabel)
    fig.suptitle("N = training points, P = features, φ = N/P", fontsize=8)
    return save_figure(fig, path, formats=formats, dpi=dpi)
