"""Theory curves: SAT/UNSAT thresholds and the replica-symmetric UNSAT phase.

Convention: N points (constraints), r (or P) dimensions, φ = N/r; each docstring
translates the letters of the papers it quotes.

* :mod:`ntkjam.theory.capacity` — thresholds: Cover's counting
  (:func:`cover_probability`, :func:`cover_log_probability`,
  :func:`cover_probability_offset`), Gardner's capacity (:func:`gardner_capacity`),
  the Candès–Sur logistic threshold (:func:`candes_sur_threshold`,
  :func:`candes_sur_phi_c`).
* :mod:`ntkjam.theory.replica` — the exact (replica-symmetric, convex) UNSAT phase of
  the quadratic-hinge minimum: loss per sample, N_Δ/N, N_Δ/rank, ‖w‖² for the
  spherical (:func:`rs_unsat_spherical`) and free-norm (:func:`rs_unsat_free_norm`)
  problems, and their limits at the transition (:func:`rs_unsat_spherical_onset`,
  :func:`rs_unsat_free_norm_onset`).  Derivation: ``docs/theory_replica.md``.
* Generalization (``docs/theory_generalization.md``): linear ridge(less) regression
  (:mod:`~ntkjam.theory.linear_ridge`, Hastie et al.), random-features ridge(less)
  regression (:mod:`~ntkjam.theory.random_features`, Mei & Montanari) and the spectral
  learning curves of kernel regression (:mod:`~ntkjam.theory.learning_curves`,
  Bordelon, Canatar & Pehlevan).
"""

from __future__ import annotations

from ntkjam.theory.capacity import (
    candes_sur_phi_c,
    candes_sur_threshold,
    cover_log_probability,
    cover_probability,
    cover_probability_offset,
    gardner_capacity,
)
from ntkjam.theory.learning_curves import LearningCurve, effective_ridge, kernel_learning_curve
from ntkjam.theory.linear_ridge import LinearRidgeRisk, linear_ridge_risk, linear_ridgeless_risk
from ntkjam.theory.random_features import (
    ActivationCoefficients,
    RandomFeaturesRisk,
    activation_coefficients,
    random_features_chi,
    random_features_risk,
    relu_coefficients,
)
from ntkjam.theory.replica import (
    RSUnsatPhase,
    rs_unsat_free_norm,
    rs_unsat_free_norm_onset,
    rs_unsat_spherical,
    rs_unsat_spherical_onset,
)

__all__ = [
    "ActivationCoefficients",
    "LearningCurve",
    "LinearRidgeRisk",
    "RSUnsatPhase",
    "RandomFeaturesRisk",
    "activation_coefficients",
    "effective_ridge",
    "kernel_learning_curve",
    "linear_ridge_risk",
    "linear_ridgeless_risk",
    "random_features_chi",
    "random_features_risk",
    "relu_coefficients",
    "candes_sur_phi_c",
    "candes_sur_threshold",
    "cover_log_probability",
    "cover_probability",
    "cover_probability_offset",
    "gardner_capacity",
    "rs_unsat_free_norm",
    "rs_unsat_free_norm_onset",
    "rs_unsat_spherical",
    "rs_unsat_spherical_onset",
]
