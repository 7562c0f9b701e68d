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

The plotting functions are imported on first use (:func:`ntkjam.core.lazy.lazy_exports`):
``ntkjam phase-diagram`` needs its own three figures, not the spectrum tools (and with
them JAX) that :mod:`~ntkjam.figures.spectrum` imports.
"""

from ntkjam.analysis import cover_curve  # noqa: F401  (re-exported, see above)
from ntkjam.core.lazy import lazy_exports

#: Each plotting function → the sub-module that defines it.
_WHERE = {
    "plot_crossings": "phase_diagram",
    "plot_ensembles": "fluctuations",
    "plot_flow": "flow",
    "plot_hanin_nica": "fluctuations",
    "plot_n_scaling": "fluctuations",
    "plot_phi_c_alpha": "trained",
    "plot_sat_probability": "phase_diagram",
    "plot_spectra": "spectrum",
    "plot_trained_outcomes": "trained",
    "plot_trained_sat_probability": "trained",
    "plot_training": "training",
    "plot_unsat_observables": "phase_diagram",
    "plot_width_scaling": "fluctuations",
    "save_figures": "phase_diagram",
    "save_flow_figure": "flow",
    "save_fluctuation_figures": "fluctuations",
    "save_generalization_figures": "generalization",
    "save_spectra": "spectrum",
    "save_trained_figures": "trained",
    "save_training_figure": "training",
}

__all__ = sorted(["cover_curve", *_WHERE])
__getattr__, __dir__ = lazy_exports(__name__, _WHERE)
