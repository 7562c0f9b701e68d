"""Deprecated alias of :mod:`ntkjam.figures` (kept for one release).

Import the figures from :mod:`ntkjam.figures` instead; this module re-exports the
same names and warns on import.  It no longer sets the matplotlib backend.
"""

import warnings

from ntkjam.figures import (
    cover_curve,
    plot_crossings,
    plot_phi_c_alpha,
    plot_sat_probability,
    plot_trained_outcomes,
    plot_trained_sat_probability,
    plot_unsat_observables,
    save_figures,
    save_trained_figures,
)

warnings.warn(
    "ntkjam.plots is deprecated and will be removed in the next release; import from "
    "ntkjam.figures instead",
    DeprecationWarning,
    stacklevel=2,
)

__all__ = [
    "cover_curve",
    "plot_crossings",
    "plot_phi_c_alpha",
    "plot_sat_probability",
    "plot_trained_outcomes",
    "plot_trained_sat_probability",
    "plot_unsat_observables",
    "save_figures",
    "save_trained_figures",
]
