"""Figures stage: drawn from analysis results only (:mod:`ntkjam.analysis`).

* :mod:`~ntkjam.figures.phase_diagram` — the lazy phase diagram
  (:class:`~ntkjam.analysis.PhaseDiagramAnalysis`): :func:`plot_sat_probability`,
  :func:`plot_unsat_observables`, :func:`plot_crossings`, :func:`save_figures`.
* :mod:`~ntkjam.figures.trained` — the trained diagram
  (:class:`~ntkjam.analysis.TrainedDiagramAnalysis`): :func:`plot_trained_sat_probability`,
  :func:`plot_phi_c_alpha`, :func:`plot_trained_outcomes`, :func:`save_trained_figures`.
* :mod:`~ntkjam.figures.common` — colours, empty panels, writing files.

No pyplot, no backend set: every figure is a :class:`matplotlib.figure.Figure` with
its own Agg canvas, so importing this package changes nothing global.
:func:`cover_curve` (Cover's closed form on a φ range) is re-exported from
:mod:`ntkjam.analysis` for the callers of the former ``ntkjam.plots``.
"""

from ntkjam.analysis import cover_curve
from ntkjam.figures.fluctuations import (
    plot_ensembles,
    plot_hanin_nica,
    plot_n_scaling,
    plot_width_scaling,
    save_fluctuation_figures,
)
from ntkjam.figures.generalization import save_generalization_figures
from ntkjam.figures.phase_diagram import (
    plot_crossings,
    plot_sat_probability,
    plot_unsat_observables,
    save_figures,
)
from ntkjam.figures.trained import (
    plot_phi_c_alpha,
    plot_trained_outcomes,
    plot_trained_sat_probability,
    save_trained_figures,
)

__all__ = [
    "cover_curve",
    "plot_crossings",
    "plot_ensembles",
    "plot_hanin_nica",
    "plot_n_scaling",
    "plot_phi_c_alpha",
    "plot_sat_probability",
    "plot_trained_outcomes",
    "plot_trained_sat_probability",
    "plot_unsat_observables",
    "plot_width_scaling",
    "save_figures",
    "save_fluctuation_figures",
    "save_generalization_figures",
    "save_trained_figures",
]
