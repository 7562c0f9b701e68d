"""The exact minimum of the quadratic hinge loss over the reachable set."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ntkjam._validate import as_int, as_real
from ntkjam.core.deprecation import DeprecatedNames
from ntkjam.core.reprs import SummaryRepr
from ntkjam.core.threads import one_blas_thread
from ntkjam.jamming.certificates import (
    CertificateCheck,
    check_farkas_certificate,
    choose_coordinates,
    offset_scale,
    readonly,
    rounding_bound,
    sat_check,
    solver_coordinates,
)
from ntkjam.jamming.lp import lp_certificate
from ntkjam.jamming.newton import DirectionSolver, finite_newton
from ntkjam.linalg import rank_cutoff
from ntkjam.problem import Problem


@dataclass(frozen=True, repr=False)
class HingeMinimum(DeprecatedNames, SummaryRepr):
    """The exact minimum of the quadratic hinge loss over the reachable set.

    Attributes
    ----------
    verdict : str
        ``"sat"`` (every margin met within ``tol``), ``"unsat"`` (verified Farkas
        vector from the residuals) or ``"unknown"``.
    loss : float
        ``(1/N) Σ ½ max(0, Δ_i)²`` at the minimum (0 for SAT up to rounding).
    w : numpy.ndarray, shape (P,)
        A minimiser, in the coordinates of :meth:`Problem.features`.
    outputs : numpy.ndarray, shape (N,)
        ``f = f0 + J w``.
    deltas : numpy.ndarray, shape (N,)
        ``Δ_i = κ − y_i f_i`` at the minimum.
    n_unsat : int
        N_Δ = #{i : Δ_i > tol + e_i} (unsatisfied constraints), with
        ``e_i = rounding_bound(problem, w)_i`` the rounding bound of ``J_i·w``.
    contacts : numpy.ndarray of int
        Indices with ``|y_i f_i − κ| ≤ tol + e_i``.
    gaps : numpy.ndarray, shape (n_gaps,)
        ``y_i f_i − κ`` of the satisfied points beyond the tolerance (> tol + e_i).
    forces : numpy.ndarray, shape (n_unsat,)
        ``Δ_i`` of the unsatisfied points (> tol + e_i).
    rank : int
        Dimension of the reachable directions (``Problem.rank``).
    isostaticity : float
        ``N_Δ / rank`` (1 = isostatic; NaN when rank is 0).
    farkas : numpy.ndarray or None, shape (N,)
        For UNSAT, ``max(0, Δ) / Σ max(0, Δ)``: a Farkas vector.
    check : CertificateCheck
        Independent check of the SAT point or the Farkas vector.
    kkt_residual : float
        ``‖Jᵀ(y ∘ max(0, Δ))‖₂ / (‖J‖_F ‖b‖₂)``, evaluated on the problem's own
        features at the returned ``w`` (0 when b = 0), whatever coordinates the solver
        used.
    iterations : int
        Newton steps taken.
    converged : bool
        True when the active set repeated with KKT residual below ``kkt_tol``
        (or no constraint was violated).
    tol : float
        Absolute tolerance used for contacts, N_Δ and the SAT verdict (``tol·scale``).
    coordinates : str
        ``"features"`` or ``"basis"``: what the solver worked in.

    Notes
    -----
    Renamed (old names still readable for one release, with a DeprecationWarning):
    ``n_delta`` → ``n_unsat``, ``parameterisation`` → ``coordinates``.

    Examples
    --------
    Two points with their own feature each: the minimiser puts both on the margin.

    >>> import numpy as np
    >>> from ntkjam.jamming.minimum import minimize_quadratic_hinge
    >>> from ntkjam.problem import from_features
    >>> m = minimize_quadratic_hinge(from_features(np.eye(2), [1.0, -1.0]))
    >>> m.verdict, m.loss, m.n_unsat, m.contacts.tolist(), m.gaps.size, m.farkas
    ('sat', 0.0, 0, [0, 1], 0, None)
    >>> np.round(m.w, 12).tolist(), m.rank, m.check.ok
    ([1.0, -1.0], 2, True)
    """

    verdict: str
    loss: float
    w: np.ndarray
    outputs: np.ndarray
    deltas: np.ndarray
    n_unsat: int
    contacts: np.ndarray
    gaps: np.ndarray
    forces: np.ndarray
    rank: int
    isostaticity: float
    farkas: np.ndarray | None
    check: CertificateCheck
    kkt_residual: float
    iterations: int
    converged: bool
    tol: float
    coordinates: str

    _renamed = {"n_delta": "n_unsat", "parameterisation": "coordinates"}


def minimize_quadratic_hinge(
    problem: Problem,
    *,
    tol: float = 1e-9,
    kkt_tol: float = 1e-12,
    farkas_rtol: float = 1e-9,
    max_iter: int = 500,
    coordinates: str | None = None,
    parameterisation: str | None = None,
) -> HingeMinimum:
    """Exact minimum of ``L(w) = (1/N) Σ_i ½ max(0, κ − y_i (f0_i + J_i·w))²``.

    Finite Newton / active-set method: on the active set ``S = {i : Δ_i > 0}`` the
    loss is a least-squares problem; its minimum-norm solution gives the Newton
    direction (Cholesky of the normal equations ``A_SᵀA_S``, updated by low-rank
    changes between iterations, with one refinement step; the row Gram ``A_S A_Sᵀ``
    when ``|S|`` is below the dimension; SVD least squares with an absolute
    singular-value cutoff when either is singular), then an exact line search on
    the piecewise-quadratic loss.  Satisfied points just inside the boundary (within
    10⁶ rounding levels of Δ) are held in place by the step (rows with target 0, an
    element of the generalised Hessian), which removes the zig-zag of the SAT phase.
    ``S`` excludes points within the rounding level of Δ itself.  Stops when the
    active set repeats and the KKT residual is below ``kkt_tol``, when nothing is
    violated, or when three steps on a repeated active set no longer lower the loss
    beyond its rounding (stationary to working precision: the KKT residual is then at
    the floor of the coordinates, e.g. features from an ill-conditioned kernel).

    Parameters
    ----------
    problem : Problem
    tol : float
        Relative tolerance (times ``scale = max|κ − y f0|``) for contacts
        ``|y f − κ| ≤ tol``, for N_Δ = #{Δ > tol} and for the SAT verdict.
    kkt_tol : float
        Stopping threshold on ``‖Aᵀ max(0, Δ)‖ / (‖A‖_F ‖b‖)``.
    farkas_rtol : float
        Allowed relative residual of the Farkas vector (see :func:`check_farkas_certificate`).
    max_iter : int
        Cap on Newton steps.
    coordinates : {"features", "basis"}, optional
        ``"features"`` works with ``w ∈ R^P`` (default when ``P ≤ N`` and J is
        given); ``"basis"`` on an orthonormal basis of range(J) from the SVD
        (default otherwise, and used automatically when the features are found
        rank-deficient, or when the minimum found in the features cannot be
        certified: the normal equations square the conditioning of J, the basis
        does not).

    Returns
    -------
    HingeMinimum

    Examples
    --------
    One feature, three labels +1 and one −1 (κ = 1): on ``−1 < w < 1`` every Δ is
    positive and ``L = [3 (1 − w)² + (1 + w)²] / 8``, minimal at ``w = ½`` with
    ``L = 3/8``; the residuals ``(½, 3/2, ½, ½)`` normalised are the Farkas vector.

    >>> import numpy as np
    >>> from ntkjam.jamming.minimum import minimize_quadratic_hinge
    >>> from ntkjam.problem import from_features
    >>> m = minimize_quadratic_hinge(from_features(np.ones((4, 1)), [1.0, -1.0, 1.0, 1.0]))
    >>> m.verdict, round(float(m.w[0]), 12), round(m.loss, 12), m.n_unsat, m.isostaticity
    ('unsat', 0.5, 0.375, 4, 4.0)
    >>> bool(np.allclose(m.farkas, [1 / 6, 1 / 2, 1 / 6, 1 / 6])), m.check.ok
    (True, True)
    """
    tol = as_real("tol", tol, nonnegative=True)
    kkt_tol = as_real("kkt_tol", kkt_tol, positive=True)
    farkas_rtol = as_real("farkas_rtol", farkas_rtol, nonnegative=True)
    max_iter = as_int("max_iter", max_iter, minimum=1)
    name = choose_coordinates(problem, coordinates, parameterisation)
    with one_blas_thread():  # small dense solves: threads only slow them down
        result = _solve(problem, name, tol, kkt_tol, farkas_rtol, max_iter)
        if (result.verdict == "unknown" and result.coordinates == "features"
                and coordinates is None and parameterisation is None):
            # The normal equations square cond(J): an ill-conditioned J can leave the
            # Farkas residual just above its tolerance, where the basis certifies.
            retry = _solve(problem, "basis", tol, kkt_tol, farkas_rtol, max_iter)
            if retry.verdict != "unknown":
                return retry
        return result


def _solve(problem: Problem, name: str, tol: float, kkt_tol: float, farkas_rtol: float,
           max_iter: int) -> HingeMinimum:
    """:func:`minimize_quadratic_hinge` after its checks, in the coordinates ``name``."""
    b = problem.offsets
    act_tol = 64 * np.finfo(float).eps
    coords = solver_coordinates(problem, name)
    rank = None
    if name == "features" and coords.A.shape[0] > 0:
        solver = DirectionSolver(coords.A)
        full_rank, rcond = solver.seed_full_gram()
        if not full_rank:
            coords = solver_coordinates(problem, "basis")
        elif full_rank_certified(rcond, problem):
            rank = problem.n_features
    elif name == "features":
        coords = solver_coordinates(problem, "basis")  # no live point: nothing to solve
    if coords.name == "basis":
        sv = problem.reduced_svd()[1]
        # Rounding in the basis rows: eps·s_max/s_min from an SVD of J, but
        # eps·λ_max/λ_min = eps·(s_max/s_min)² from an eigendecomposition of K.
        amplification = float(sv[0] / sv[-1]) if sv.size else 1.0
        if problem.J is None:
            amplification **= 2
        solver = DirectionSolver(coords.A, amplification)
    if coords.A.shape[0] == 0 or coords.A.shape[1] == 0:
        # Nothing can move (all points dead, or J = 0): w = 0 is a minimiser.
        z, its, converged = np.zeros(coords.A.shape[1]), 0, True
    else:
        z, _, _, its, converged = finite_newton(
            coords.A, b[coords.live], kkt_tol=kkt_tol, max_iter=max_iter, act_tol=act_tol,
            solver=solver,
        )
    w = coords.to_w(z)
    if rank is None:
        rank = problem.rank
    return hinge_minimum(problem, w, tol=tol, farkas_rtol=farkas_rtol, rank=rank,
                          iterations=its, converged=converged, coordinates=coords.name)


def hinge_minimum(
    problem: Problem,
    w: np.ndarray,
    *,
    tol: float,
    farkas_rtol: float,
    rank: int,
    iterations: int,
    converged: bool,
    coordinates: str,
) -> HingeMinimum:
    """Every observable of a candidate minimiser ``w``, evaluated on the problem itself.

    Whatever coordinates the solver used, ``f = f0 + J w`` is recomputed from the
    problem's own features, and the loss, Δ's, N_Δ, contacts, gaps, forces, the
    certificate and the KKT residual all follow from it, so ``result.loss`` equals
    ``problem.loss(result.w)`` exactly.
    """
    abs_tol = tol * offset_scale(problem.offsets)
    outputs = problem.outputs(w)
    delta = problem.margin - problem.y * outputs
    band = abs_tol + rounding_bound(problem, w)  # tolerance plus this Δ's own rounding
    observables = contact_fields(delta, band, rank)
    n_delta = observables["n_unsat"]
    r = np.maximum(delta, 0.0)
    loss = float(0.5 * np.dot(r, r) / problem.n_points)  # = problem.loss(w), computed once
    kkt = kkt_residual(problem, r)
    farkas = None
    gap = -delta  # y f − κ, exactly
    if n_delta == 0:
        check = sat_check(gap, band)  # = check_sat_certificate(problem, w, tol=tol)
        verdict = "sat" if check.ok else "unknown"
    else:
        lam = r / r.sum()
        check = check_farkas_certificate(problem, lam, tol=tol, farkas_rtol=farkas_rtol)
        verdict = "unsat" if check.ok else "unknown"
        farkas = readonly(lam) if check.ok else None
    return HingeMinimum(
        verdict=verdict,
        loss=loss,
        w=readonly(w),
        outputs=readonly(outputs),
        **observables,
        farkas=farkas,
        check=check,
        kkt_residual=kkt,
        iterations=iterations,
        converged=converged,
        tol=abs_tol,
        coordinates=coordinates,
    )


def contact_fields(delta: np.ndarray, band: np.ndarray, rank: int) -> dict[str, Any]:
    """The contact observables of a minimum, as fields of its result.

    Shared by :class:`HingeMinimum` and :class:`~ntkjam.jamming.sphere.SphereMinimum`.

    Parameters
    ----------
    delta : numpy.ndarray, shape (N,)
        ``Δ_i = κ − y_i f_i`` at the minimum.
    band : numpy.ndarray, shape (N,)
        The tolerance of each ``Δ_i``: ``tol·scale`` plus the rounding bound of ``J_i·w``.
    rank : int
        ``Problem.rank``.

    Returns
    -------
    dict
        ``deltas`` (N,), ``n_unsat``, ``contacts`` (int indices with ``|Δ_i| ≤ band_i``),
        ``gaps`` (``−Δ_i > band_i``), ``forces`` (``Δ_i > band_i``, shape (n_unsat,)),
        ``rank`` and ``isostaticity`` (``n_unsat / rank``, NaN when rank is 0); the
        arrays are read-only copies.
    """
    viol = delta > band
    n_unsat = int(viol.sum())
    gap = -delta  # y f − κ, exactly
    return {
        "deltas": readonly(delta),
        "n_unsat": n_unsat,
        "contacts": _readonly_indices(np.abs(delta) <= band),
        "gaps": readonly(gap[gap > band]),
        "forces": readonly(delta[viol]),
        "rank": rank,
        "isostaticity": n_unsat / rank if rank > 0 else float("nan"),
    }


def kkt_residual(problem: Problem, r: np.ndarray) -> float:
    """``‖Jᵀ(y ∘ r)‖₂ / (‖J‖_F ‖b‖₂)`` on the problem's own features, scale-safe."""
    J = problem.features()
    b = problem.offsets
    jmax = float(np.max(np.abs(J))) if J.size else 0.0
    bmax = float(np.max(np.abs(b))) if b.size else 0.0
    if jmax == 0.0 or bmax == 0.0:
        return 0.0
    cj = float(2.0 ** np.floor(np.log2(jmax)))
    cb = float(2.0 ** np.floor(np.log2(bmax)))
    Jn = J / cj
    g = float(np.linalg.norm(Jn.T @ (problem.y * (r / cb))))
    return g / (float(np.linalg.norm(Jn)) * float(np.linalg.norm(b / cb)))


def full_rank_certified(rcond: float, problem: Problem) -> bool:
    """Whether ``rcond(JᵀJ)`` proves every singular value of J is above the rank cutoff.

    ``s_min / s_max ≈ sqrt(rcond)`` (1-norm estimate, within a factor ~√P); the
    cutoff is ``rtol`` (default ``max(N, P)·eps``).  When this holds the rank is P
    and the SVD is not needed.
    """
    N, P = problem.n_points, problem.n_features
    cutoff = rank_cutoff((N, P), 1.0, rtol=problem.rtol)  # relative to s_max
    return bool(np.sqrt(rcond) / (10.0 * np.sqrt(P)) > 1e3 * cutoff)


def sat_unsat(problem: Problem, *, method: str = "auto", tol: float = 1e-9) -> str:
    """The verdict ``"sat"``/``"unsat"``/``"unknown"``, each backed by a checked certificate.

    ``method``: ``"newton"`` (:func:`minimize_quadratic_hinge`), ``"lp"``
    (:func:`lp_certificate`) or ``"auto"`` (Newton, then the LP when Newton's
    certificate does not check out).

    Parameters
    ----------
    problem : Problem
        Features ``J`` (N, P) or kernel ``K`` (N, N), offset ``f0`` (N,), labels ``y`` (N,).
    method : {"auto", "newton", "lp"}
    tol : float
        Relative tolerance of the certificates (see :func:`minimize_quadratic_hinge`).

    Returns
    -------
    str

    Examples
    --------
    Cover's count in one dimension: two points on one feature are separable only with
    equal labels (κ > 0, no offset).

    >>> import numpy as np
    >>> from ntkjam.jamming.minimum import sat_unsat
    >>> from ntkjam.problem import from_features
    >>> J = np.ones((2, 1))
    >>> [sat_unsat(from_features(J, y)) for y in ([1.0, 1.0], [1.0, -1.0])]
    ['sat', 'unsat']
    >>> sat_unsat(from_features(J, [1.0, -1.0]), method="lp")   # the LP agrees
    'unsat'
    """
    if method not in ("auto", "newton", "lp"):
        raise ValueError(f"method must be 'auto', 'newton' or 'lp', got {method!r}")
    if method in ("auto", "newton"):
        try:
            verdict = minimize_quadratic_hinge(problem, tol=tol).verdict
        except (np.linalg.LinAlgError, FloatingPointError):
            if method == "newton":
                raise
            verdict = "unknown"  # a failed factorisation is no verdict: ask the LP
        if verdict != "unknown" or method == "newton":
            return verdict
    return lp_certificate(problem, tol=tol).verdict


def _readonly_indices(mask: np.ndarray) -> np.ndarray:
    """``flatnonzero(mask)`` as a read-only int array (results are frozen, arrays too)."""
    idx = np.flatnonzero(mask)
    idx.setflags(write=False)
    return idx
