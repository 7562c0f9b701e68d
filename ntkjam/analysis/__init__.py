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
* :mod:`~ntkjam.analysis.criticality` — the UNSAT side: :func:`observable_curves`, the
  verdicts :func:`isostatic_verdict` and :func:`jump_verdict` (said only where the
  interval supports them).
* :mod:`~ntkjam.analysis.approach` — :func:`fit_approach`: ``y = y_c + A t + C t²``,
  ``t = (φ − φ_c)^a``, fitted to the UNSAT means above one size's crossing, φ_c's
  error propagated by a parametric bootstrap (the limit y_c at φ_c⁺, the exponent a).
* :mod:`~ntkjam.analysis.onset` — :func:`onset_limit` (the sizes combined, the
  verdict), :func:`describe_onset`, :func:`describe_exponent` (summary wording);
  :mod:`~ntkjam.analysis.rs_theory` — :func:`rs_comparison` (the exact RS theory
  where it applies).
* :mod:`~ntkjam.analysis.phase_diagram` — :func:`analyze`: all of the above for a
  ``phase_diagram`` run directory, as one frozen :class:`PhaseDiagramAnalysis`.
* :mod:`~ntkjam.analysis.power_law` — :func:`power_law_fit`: log–log fits with 95 %
  intervals, the χ² check and verdicts against hypothesised exponents.
* :mod:`~ntkjam.analysis.fluctuations`, :mod:`~ntkjam.analysis.hanin_nica` — the
  finite-width kernel fluctuations (:func:`analyze_fluctuations`, :func:`hanin_nica`);
  the ensemble laws in :mod:`~ntkjam.analysis.kernel_ensembles`.
* :mod:`~ntkjam.analysis.kernel_drift` — :func:`analyze_kernel_drift`: how far training
  moves the empirical NTK, vs width and α (:mod:`~ntkjam.analysis.drift_alpha`), SAT
  against UNSAT (:mod:`~ntkjam.analysis.drift_sides`).
* :mod:`~ntkjam.analysis.generalization` — :func:`analyze_generalization`: test error
  vs φ with the located maximum, φ_c, the theory curves and the ensemble's effect;
  curves, peaks and cusps in :mod:`~ntkjam.analysis.curve_peaks`, the theories in
  :mod:`~ntkjam.analysis.generalization_theory`, the ensemble and fixed-N scaling in
  :mod:`~ntkjam.analysis.generalization_scaling`.
* :mod:`~ntkjam.analysis.trained` — :func:`trained_curves`, :func:`lazy_reference`,
  :func:`analyze_trained`: a ``trained_phase_diagram`` run per (P, α), the runs out of
  budget bracketed, against the lazy verdicts of the same initial networks; N*(P)
  across sizes in :mod:`~ntkjam.analysis.trained_sizes`.

Every result is a frozen dataclass; ``to_dict()`` of the two study results is
JSON-ready.  Figures of these results: :mod:`ntkjam.figures`.
"""

from ntkjam.analysis.approach import EXPONENT_RANGE, RS_EXPONENT, ApproachFit, fit_approach
from ntkjam.analysis.criticality import (
    ObservableCurve,
    isostatic_verdict,
    jump_verdict,
    observable_curves,
)
from ntkjam.analysis.fluctuations import (
    EnsembleLaw,
    EnsembleScaling,
    FluctuationAnalysis,
    FluctuationPoint,
    analyze_fluctuations,
)
from ntkjam.analysis.generalization import GeneralizationAnalysis, analyze_generalization
from ntkjam.analysis.hanin_nica import HaninNicaFit, hanin_nica
from ntkjam.analysis.kernel_drift import KernelDriftAnalysis, analyze_kernel_drift
from ntkjam.analysis.onset import (
    PHYSICAL_MIN,
    RS_SOURCES,
    OnsetLimit,
    RSComparison,
    describe_exponent,
    describe_onset,
    onset_limit,
    rs_comparison,
)
from ntkjam.analysis.phase_diagram import FitWarning, PhaseDiagramAnalysis, analyze, fit_warnings
from ntkjam.analysis.power_law import PowerLawFit, power_law_fit
from ntkjam.analysis.sat import (
    RESOLVED,
    CoverTest,
    Crossing,
    SatCurve,
    cover_chi2,
    cover_curve,
    crossings,
    grid_step,
    sat_curves,
)
from ntkjam.analysis.scaling import FSS_P_MIN, FSSFit, finite_size_scaling
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
    TrainedScaling,
    analyze_trained,
    lazy_reference,
    trained_curves,
    trained_scaling,
)

__all__ = [
    "FSS_P_MIN",
    "PHYSICAL_MIN",
    "RESOLVED",
    "FitWarning",
    "fit_warnings",
    "grid_step",
    "EXPONENT_RANGE",
    "MAX_N_BOOT",
    "MODELS",
    "RS_EXPONENT",
    "RS_SOURCES",
    "TRAIN_STATUSES",
    "ApproachFit",
    "CoverTest",
    "Crossing",
    "EnsembleLaw",
    "EnsembleScaling",
    "FSSFit",
    "FluctuationAnalysis",
    "FluctuationPoint",
    "GeneralizationAnalysis",
    "HaninNicaFit",
    "KernelDriftAnalysis",
    "ObservableCurve",
    "OnsetLimit",
    "PhaseDiagramAnalysis",
    "PowerLawFit",
    "PowerLawTail",
    "RSComparison",
    "SatCurve",
    "TrainedCurve",
    "TrainedDiagramAnalysis",
    "TrainedScaling",
    "analyze",
    "analyze_fluctuations",
    "analyze_generalization",
    "analyze_kernel_drift",
    "analyze_trained",
    "check_bootstrap",
    "cover_chi2",
    "cover_curve",
    "crossings",
    "describe_exponent",
    "describe_onset",
    "finite_size_scaling",
    "fit_approach",
    "fit_counts",
    "fit_crossing",
    "isostatic_verdict",
    "jump_verdict",
    "hanin_nica",
    "lazy_reference",
    "model_probability",
    "observable_curves",
    "onset_limit",
    "power_law_fit",
    "power_law_tail",
    "rs_comparison",
    "sat_curves",
    "trained_curves",
    "trained_scaling",
]
