"""The figure of one trained network (``ntkjam train``): loss, N_Δ and the kernel's change.

Drawn from the saved trajectory (:func:`ntkjam.networks.load_trajectory`: ``time``,
``loss``, ``n_unsat``, ``kernel_time``, ``kernel_change``) and its metadata (``status``
and the ``config`` of the run); nothing is recomputed.

* :func:`plot_training` — three panels on a logarithmic time axis (t > 0 only): the loss
  and ‖K_t − K_0‖_F/‖K_0‖_F on log axes (positive values only), the count N_Δ on a
  linear one.
* :func:`save_training_figure` — the same as PNG and PDF.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ntkjam.figures.common import FORMATS, log_axes, new_figure, no_data, save_figure

__all__ = ["plot_training", "save_training_figure"]

_CHANGE = r"$\Vert K_t - K_0 \Vert_F \,/\, \Vert K_0 \Vert_F$"


def _panel(ax, t, values, *, log: bool, ylabel: str, style: str, color: str) -> None:
    t = np.asarray(t, dtype=float)
    v = np.asarray(values, dtype=float)
    keep = (t > 0) & np.isfinite(v) & ((v > 0) if log else True)
    ax.set_xlabel("time t")
    ax.set_ylabel(ylabel)
    if not keep.any():
        no_data(ax, "no value at t > 0" + (" above zero" if log else ""))
        return
    ax.plot(t[keep], v[keep], style, ms=3, color=color)
    log_axes(ax, x=t[keep], y=v[keep] if log else None)


def plot_training(traj, meta: dict, axes=None):
    """Loss, N_Δ and the relative kernel change against time.

    Parameters
    ----------
    traj : Trajectory
        ``time`` (T,), ``loss`` (T,), ``n_unsat`` (T,), ``kernel_time`` (K,),
        ``kernel_change`` (K,).
    meta : dict
        ``status`` (how the run ended) and ``config`` (as written by ``save_trajectory``).
    axes : sequence of 3 Axes, optional
        Default: a new figure (13 × 4.2 in), one row.

    Returns
    -------
    array of Axes, shape (3,)
        Loss (log y), N_Δ (linear y), kernel change (log y); log time axes.

    Examples
    --------
    A trajectory needs only the five arrays drawn (here a run that reaches SAT at t = 2):
    the points at t = 0, and the zeros of the loss and of the kernel change, are left off
    their log axes.

    >>> from types import SimpleNamespace
    >>> import numpy as np
    >>> from ntkjam.figures.training import plot_training
    >>> t = np.array([0.0, 0.5, 1.0, 2.0])
    >>> traj = SimpleNamespace(time=t, loss=np.array([1.0, 0.4, 0.1, 0.0]),
    ...                        n_unsat=np.array([8, 5, 2, 0]), kernel_time=t,
    ...                        kernel_change=np.array([0.0, 1e-3, 2e-3, 2e-3]))
    >>> axes = plot_training(traj, {"status": "sat"})
    >>> axes[0].lines[0].get_ydata().tolist(), axes[1].lines[0].get_ydata().tolist()
    ([0.4, 0.1], [5.0, 2.0, 0.0])
    >>> [ax.get_yscale() for ax in axes], axes[0].get_title()
    (['log', 'linear', 'log'], 'status: sat')
    """
    if axes is None:
        axes = new_figure((13.0, 4.2)).subplots(1, 3)
    _panel(axes[0], traj.time, traj.loss, log=True, style="o-",
           ylabel=r"loss $\frac{1}{N} \sum_i \ell(F_i, y_i)$", color="C0")
    axes[0].set_title(f"status: {meta['status']}", fontsize=10)
    _panel(axes[1], traj.time, traj.n_unsat, log=False, style="o-",
           ylabel=r"$N_\Delta$ (violated constraints)", color="C1")
    _panel(axes[2], traj.kernel_time, traj.kernel_change, log=True, style="o-",
           ylabel=_CHANGE, color="C2")
    return axes


def save_training_figure(traj, meta: dict, path: str | Path, *, formats=FORMATS,
                         dpi: int = 120) -> list[Path]:
    """Write :func:`plot_training` as PATH in each format, titled with the run's config.

    Parameters
    ----------
    traj : Trajectory
        As in :func:`plot_training`: ``time``, ``loss``, ``n_unsat`` (T,),
        ``kernel_time``, ``kernel_change`` (K,).
    meta : dict
        ``status`` and ``config`` (``widths``, ``activation``, ``alpha``, ``loss``,
        ``margin``, ``n_train``, ``optimizer``), as written by ``save_trajectory``.
    path : str or Path
        The file name; its suffix is replaced by each format's.
    formats : str or sequence of str
        Default PNG and PDF.
    dpi : int

    Returns
    -------
    list of Path
        The files written (``trajectory.png`` → ``trajectory.png``, ``trajectory.pdf``).

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from types import SimpleNamespace
    >>> import numpy as np
    >>> from ntkjam.figures.training import save_training_figure
    >>> t = np.array([0.0, 1.0, 2.0])
    >>> traj = SimpleNamespace(time=t, loss=np.array([1.0, 0.2, 0.0]), n_unsat=np.array([6, 1, 0]),
    ...                        kernel_time=t, kernel_change=np.array([0.0, 1e-3, 2e-3]))
    >>> config = {"widths": [8], "activation": "relu", "alpha": 1.0, "loss": "quadratic_hinge",
    ...           "margin": 1.0, "n_train": 6, "optimizer": "GD"}
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     paths = save_training_figure(traj, {"status": "sat", "config": config},
    ...                                  Path(tmp, "trajectory.png"), formats="png", dpi=40)
    ...     [p.name for p in paths]
    ['trajectory.png']
    """
    fig = new_figure((13.0, 4.2))
    plot_training(traj, meta, fig.subplots(1, 3))
    cfg = meta["config"]
    fig.suptitle(f"widths {cfg['widths']}, {cfg['activation']}, α = {cfg['alpha']:g}, loss "
                 f"{cfg['loss']} (margin κ = {cfg['margin']:g}), N = {cfg['n_train']} training "
                 f"points, {cfg['optimizer']}", fontsize=10)
    return save_figure(fig, path, formats=formats, dpi=dpi)
