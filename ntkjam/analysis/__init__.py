"""Analysis stage: reads only the store (run directories), never recomputes physics.

Notation: N points, P features, φ = N/P (``phi_eff = n / n_params`` of each task,
so grids whose φ·P is not an integer are handled exactly).  One module per concept:

* :mod:`~ntkjam.analysis.stats` — general statistics: Wilson intervals, the crossing
  model (``"erf"`` / ``"logistic"``) fitted by maximum likelihood, bootstrap limits,
  weighted least squares, power-law tails (:func:`power_law_tail`).
* :mod:`~ntkjam.analysis.tables` — reading a run directory: the finished rows, the
  fixed settings (rows, then the stored spec, then a documented constant).
* :mod:`~ntkjam.analysis.sat` — :func:`sat_curves` (P(SAT) vs φ per P with binomial
  errors and Cover's prediction), :func:`crossings` (φ_c(P) with a bootstrap over
  seeds), :func:`cover_chi2`, :func:`cover_curve`.
* :mod:`~ntkjam.analysis.scaling` — :func:`finite_size_scaling`: ``w(P) = b P^{−1/ν}``
  and ``φ_c(P) = φ_c(∞) + a P^{−1/ν}``.
* :mod:`~ntkjam.analysis.criticality` — the UNSAT side: :func:`observable_curves`,
  :func:`unsat_scaling` (jump or continuous at φ_c⁺), :func:`jump_scaling` (P → ∞),
  :func:`isostatic_verdict`.
* :mod:`~ntkjam.analysis.phase_diagram` — :func:`analyze`: all of the above for a
  ``phase_diagram`` run directory, as one frozen :class:`PhaseDiagramAnalysis`.
* :mod:`~ntkjam.analysis.trained` — :func:`trained_curves`, :func:`lazy_reference`,
  :func:`analyze_trained`: a ``trained_phase_diagram`` run per (P, α), the runs out of
  budget bracketed, against the lazy verdicts of the same initial networks.

Every result is a frozen dataclass; ``to_dict()`` of the two study results is
JSON-ready.  Figures of these results: :mod:`ntkjam.figures`.
"""

from ntkjam.analysis.criticality import (
    JumpScaling,
    ObservableCurve,
    UnsatScaling,
    isostatic_verdict,
    jump_scaling,
    observable_curves,
    unsat_scaling,
)
from ntkjam.analysis.phase_diagram import PhaseDiagramAnalysis, analyze
from ntkjam.analysis.sat import (
    CoverTest,
    Crossing,
    SatCurve,
    cover_chi2,
    cover_curve,
    crossings,
    sat_curves,
)
from ntkjam.analysis.scaling import FSSFit, finite_size_scaling
from ntkjam.analysis.stats import (
    MAX_N_BOOT,
    MODELS,
    PowerLawTail,
    check_bootstrap,
    fit_counts,
    fit_crossing,
    model_probability,
    power_law_tail,
)
from ntkjam.analysis.trained import (
    TRAIN_STATUSES,
    TrainedCurve,
    TrainedDiagramAnalysis,
    analyze_trained,
    lazy_reference,
    trained_curves,
)

__all__ = [
    "MAX_N_BOOT",
    "MODELS",
    "TRAIN_STATUSES",
    "CoverTest",
    "Crossing",
    "FSSFit",
    "JumpScaling",
    "ObservableCurve",
    "PhaseDiagramAnalysis",
    "PowerLawTail",
    "SatCurve",
    "TrainedCurve",
    "TrainedDiagramAnalysis",
    "UnsatScaling",
    "analyze",
    "analyze_trained",
    "check_bootstrap",
    "cover_chi2",
    "cover_curve",
    "crossings",
    "finite_size_scaling",
    "fit_counts",
    "fit_crossing",
    "isostatic_verdict",
    "jump_scaling",
    "lazy_reference",
    "model_probability",
    "observable_curves",
    "power_law_tail",
    "sat_curves",
    "trained_curves",
    "unsat_scaling",
]
