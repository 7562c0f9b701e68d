"""Exact SAT/UNSAT in the lazy regime: an LP certificate and the exact hinge-loss minimum.

Notation (see :mod:`ntkjam.problem`): N points, features ``J`` (N, P), offset ``f0``,
labels ``y``, margin κ; ``A = diag(y) J``, ``b = κ − y ∘ f0`` and
``Δ(w) = b − A w`` (constraint i holds when ``Δ_i ≤ 0``).

Two independent solvers, each returning a verdict backed by a checked certificate:

* :func:`lp_certificate` — the linear programme ``max t`` subject to
  ``Δ_i(w) + t ≤ 0`` (all i), ``t ≤ t_cap``, solved with HiGHS through
  :func:`scipy.optimize.linprog`.  It is always feasible and bounded.  Its optimum
  ``t*`` is the best worst-case slack: ``t* ≥ 0`` ⇔ SAT, and then ``w`` is the
  certificate.  Its dual is ``max bᵀλ`` over ``λ ≥ 0, Σ λ_i = 1, Aᵀλ = 0`` (when
  ``t* < t_cap``), so at ``t* < 0`` the dual values are a Farkas vector normalised
  to the simplex with ``bᵀλ = −t* > 0``: infeasibility is proved by
  ``Σ_i λ_i y_i J_i = 0`` and ``Σ_i λ_i (κ − y_i f0_i) > 0``.
* :func:`minimize_quadratic_hinge` — the exact minimum of
  ``L(w) = (1/N) Σ_i ½ max(0, Δ_i)²`` by a finite Newton (active-set) method:
  least squares on the active set ``S = {i : Δ_i > 0}``, an exact line search on
  the piecewise-quadratic restriction of L, stop when the active set repeats and
  the KKT residual is below 1e-12.  It certifies both ways: a minimiser with all
  margins met is a SAT certificate; at a positive minimum the residuals
  ``r = max(0, Δ)`` satisfy ``Aᵀ r = 0`` (stationarity) and ``bᵀ r = ‖r‖² > 0``,
  so ``r / Σ r`` is a Farkas vector.

Tolerances are explicit and relative to ``scale = max_i |b_i|`` (1 when b = 0):
a SAT certificate meets every margin to within ``tol · scale``; a Farkas vector
(``λ ≥ 0``, ``Σ λ = 1``) must have ``bᵀλ > tol · scale`` and a relative residual
``‖Jᵀ(y ∘ λ)‖₂ / ‖J‖_F ≤ farkas_rtol``.  An approximate Farkas vector proves
``max_i Δ_i(w) ≥ bᵀλ − ‖Jᵀ(y∘λ)‖₂ ‖w‖₂`` for every w, hence infeasibility for all
``‖w‖ < radius = bᵀλ / ‖Jᵀ(y∘λ)‖₂`` (reported).

Exactness, whatever the coordinates:

* dead points (identically zero rows of J or K) are recognised before any
  factorisation and left out of it; their Δ is ``κ − y_i f0_i`` exactly, and no basis
  (SVD of J, eigendecomposition of K) gives their rows rounding noise to fit;
* every returned observable (outputs, Δ's, loss, N_Δ, contacts, gaps, forces, the
  certificate and the KKT residual) is evaluated on the problem's own J at the
  returned w, so ``result.loss == problem.loss(result.w)``;
* a point counts as violated only beyond ``tol·scale`` plus the rounding bound of its
  own ``J_i·w`` (:func:`rounding_bound`), so verdicts and N_Δ are statements about the
  exact products, not about one machine's rounding;
* features of extreme size (1e±200) are rescaled by an exact power of two, and the
  certificate checks normalise J first, so no norm underflows into a "proof".

HiGHS sometimes stops with status 4 ("numerical difficulties"/"model status
unknown") on infeasible instances; that is never taken as a verdict.  The LP is
retried with the interior-point method and on an orthonormal basis of
``range(J)`` from the SVD, and only a verified certificate is returned
(otherwise the verdict is ``"unknown"``, with the attempts listed).
"""

from __future__ import annotations

from ntkjam.jamming.certificates import (
    CertificateCheck,
    check_farkas_certificate,
    check_sat_certificate,
    rounding_bound,
)
from ntkjam.jamming.compression import MarginCompression, compress_margin
from ntkjam.jamming.lp import LPCertificate, lp_certificate
from ntkjam.jamming.minimum import HingeMinimum, minimize_quadratic_hinge, sat_unsat
from ntkjam.jamming.newton import exact_line_search
from ntkjam.jamming.sphere import SphereMinimum, minimize_on_sphere

__all__ = [
    "CertificateCheck",
    "HingeMinimum",
    "LPCertificate",
    "MarginCompression",
    "SphereMinimum",
    "check_farkas_certificate",
    "check_sat_certificate",
    "compress_margin",
    "exact_line_search",
    "lp_certificate",
    "minimize_quadratic_hinge",
    "minimize_on_sphere",
    "rounding_bound",
    "sat_unsat",
]
