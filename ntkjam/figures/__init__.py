"""Figures stage: drawn from analysis results only (:mod:`ntkjam.analysis`).

* :mod:`~ntkjam.figures.phase_diagram` — the lazy phase diagram
  (:class:`~ntkjam.analysis.PhaseDiagramAnalysis`): :func:`plot_sat_probability`,
  :func:`plot_unsat_observables`, :func:`plot_crossings`, :func:`save_figures`.
* :mod:`~ntkjam.figures.trained` — the trained diagram
  (:class:`~ntkjam.analysis.TrainedDiagramAnalysis`): :func:`plot_trained_sat_probability`,
  :func:`plot_phi_c_alpha`, :func:`plot_trained_outcomes`, :func:`save_trained_figures`.
* :mod:`~ntkjam.figures.flow` — one function-space run (``ntkjam flow``):
  :func:`plot_flow`, :func:`save_flow_figure`.
* :mod:`~ntkjam.figures.training` — one trained network (``ntkjam train``):
  :func:`plot_training`, :func:`save_training_figure`.
* :mod:`~ntkjam.figures.spectrum` — Gram spectra against their prediction
  (``ntkjam spectrum --figure``): :func:`plot_spectra`, :func:`save_spectra`.
* :mod:`~ntkjam.figures.fluctuations`, :mod:`~ntkjam.figures.kernel_drift`,
  :mod:`~ntkjam.figures.generalization`, :mod:`~ntkjam.figures.sphere` — the other studies.
* :mod:`~ntkjam.figures.common` — colours, empty panels, log axes, the layout (constrained,
  long texts wrapped: nothing clipped) and writing files (PNG and PDF by default).

No pyplot, no backend set: every figure is a :class:`matplotlib.figure.Figure` with
its own Agg canvas, so importing this package changes nothing global.
:func:`cover_curve` (Cover's closed form on a φ range) is re-exported from
:mod:`ntkjam.analysis` for the callers of the former ``ntkjam.plots``.
"""

from ntkjam.analysis import cover_curve
from ntkjam.figures.flow import plot_flow, save_flow_figure
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
from ntkjam.figures.spectrum import plot_spectra, save_spectra
from ntkjam.figures.trained import (
    plot_phi_c_alpha,
    plot_trained_outcomes,
    plot_trained_sat_probability,
    save_trained_figures,
)
from ntkjam.figures.training import plot_training, save_training_figure

__all__ = [
    "cover_curve",
    "plot_crossings",
    "plot_ensembles",
    "plot_flow",
    "plot_hanin_nica",
    "plot_n_scaling",
    "plot_phi_c_alpha",
    "plot_sat_probability",
    "plot_spectra",
    "plot_trained_outcomes",
    "plot_trained_sat_probability",
    "plot_training",
    "plot_unsat_observables",
    "plot_width_scaling",
    "save_figures",
    "save_flow_figure",
    "save_fluctuation_figures",
    "save_generalization_figures",
    "save_spectra",
    "save_trained_figures",
    "save_training_figure",
]
