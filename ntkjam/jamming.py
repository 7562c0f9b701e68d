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

from dataclasses import dataclass

import numpy as np
import scipy.linalg
from scipy.optimize import linprog

from ntkjam._validate import as_float_array, as_int, as_real
from ntkjam.problem import Problem

# Satisfied points within this many rounding levels of the boundary are held in place
# by the Newton step (see _finite_newton).
_HOLD_BAND = 1e6


# --------------------------------------------------------------------------- results
@dataclass(frozen=True)
class CertificateCheck:
    """The outcome of checking a certificate against the original features.

    Attributes
    ----------
    ok : bool
        Whether the certificate is valid within the tolerances.
    kind : str
        ``"sat"`` (a point ``w``) or ``"unsat"`` (a Farkas vector λ).
    min_gap : float
        SAT: ``min_i (y_i f_i − κ)`` at ``w`` (≥ ``−tol·scale`` when ok). NaN for UNSAT.
    farkas_value : float
        UNSAT: ``bᵀλ`` with λ normalised to ``Σ λ = 1``. NaN for SAT.
    farkas_residual : float
        UNSAT: ``‖Jᵀ(y ∘ λ)‖₂ / ‖J‖_F``. NaN for SAT.
    radius : float
        UNSAT: no ``w`` with ``‖w‖₂ < radius`` meets all constraints
        (``inf`` for an exact Farkas vector). NaN for SAT.
    reason : str
        Empty when ok, else why the check failed.
    """

    ok: bool
    kind: str
    min_gap: float = float("nan")
    farkas_value: float = float("nan")
    farkas_residual: float = float("nan")
    radius: float = float("nan")
    reason: str = ""


@dataclass(frozen=True)
class LPCertificate:
    """Verdict of the LP with its checked certificate.

    Attributes
    ----------
    verdict : str
        ``"sat"``, ``"unsat"`` or ``"unknown"`` (no attempt gave a verified certificate).
    w : numpy.ndarray or None, shape (P,)
        SAT certificate (coordinates of :meth:`Problem.features`).
    farkas : numpy.ndarray or None, shape (N,)
        UNSAT certificate λ ≥ 0, ``Σ λ = 1``.
    slack : float
        The LP optimum ``t* = max_w min_i (y_i f_i − κ)``, capped at ``slack_cap``.
    check : CertificateCheck
        The independent check of the returned certificate.
    attempts : tuple of str
        One line per HiGHS run: method, parameterisation, status and outcome.
    parameterisation : str
        ``"features"`` (w ∈ R^P) or ``"basis"`` (orthonormal basis of range(J)) of the
        attempt that gave the verdict.
    """

    verdict: str
    w: np.ndarray | None
    farkas: np.ndarray | None
    slack: float
    check: CertificateCheck
    attempts: tuple[str, ...]
    parameterisation: str


@dataclass(frozen=True)
class HingeMinimum:
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
    n_delta : int
        N_Δ = #{i : Δ_i > tol + e_i} (unsatisfied constraints), with
        ``e_i = rounding_bound(problem, w)_i`` the rounding bound of ``J_i·w``.
    contacts : numpy.ndarray of int
        Indices with ``|y_i f_i − κ| ≤ tol + e_i``.
    gaps : numpy.ndarray, shape (n_gaps,)
        ``y_i f_i − κ`` of the satisfied points beyond the tolerance (> tol + e_i).
    forces : numpy.ndarray, shape (n_delta,)
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
    parameterisation : str
        ``"features"`` or ``"basis"``.
    """

    verdict: str
    loss: float
    w: np.ndarray
    outputs: np.ndarray
    deltas: np.ndarray
    n_delta: int
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
    parameterisation: str


# ---------------------------------------------------------------- parameterisations
@dataclass(frozen=True)
class _Coords:
    """The constraint matrix in the coordinates a solver works in, and the map back.

    Only the live rows (see :attr:`Problem.live_rows`) enter ``A``: a dead point's Δ
    is fixed, so it constrains nothing that a solver could change.
    """

    name: str
    A: np.ndarray  # (N_live, n): rows y_i times the feature row (or basis row)
    live: np.ndarray  # (N,) bool: which rows of the problem are in A
    to_w: object  # callable z -> w in the coordinates of problem.features()


def _pow2_scale(A: np.ndarray) -> float:
    """A power of two near ``max|A|`` when that is extreme, else 1.

    Dividing by it is exact in binary floating point, so results do not change where
    no rescaling is needed; it keeps ``AᵀA`` and norms clear of underflow and overflow
    for features of size 1e−200 or 1e200.
    """
    m = float(np.max(np.abs(A))) if A.size else 0.0
    if m == 0.0 or 2.0**-64 <= m <= 2.0**64:
        return 1.0
    return float(2.0 ** np.round(np.log2(m)))


def _coords(problem: Problem, name: str) -> _Coords:
    live = problem.live_rows
    y = problem.y[live, None]
    if name == "features":
        J = problem.features()[live]
        c = _pow2_scale(J)
        return _Coords("features", y * (J / c) if c != 1.0 else y * J, live,
                       (lambda z: z / c) if c != 1.0 else (lambda z: z))
    U, s, V = problem.reduced_svd()
    return _Coords("basis", y * U[live], live, lambda z: V @ (z / s))


def _default_coords(problem: Problem) -> str:
    if problem.J is not None and problem.J.shape[1] <= problem.n_points:
        return "features"
    return "basis"


def _scale(b: np.ndarray) -> float:
    m = float(np.max(np.abs(b))) if b.size else 0.0
    return m if m > 0 else 1.0


# ------------------------------------------------------------------ certificate checks
def check_sat_certificate(problem: Problem, w: object, *, tol: float = 1e-9) -> CertificateCheck:
    """Check that ``w`` meets every margin: ``y_i (f0_i + J_i·w) ≥ κ − tol·scale − e_i``.

    ``e_i = γ_P Σ_p |J_ip w_p|`` (``γ_P = P·eps / (1 − P·eps)``) bounds the rounding
    error of the computed ``J_i·w``, so the verdict is a statement about the exact
    ``J_i·w``, not about its rounding (which can exceed ``tol·scale`` when ‖w‖ is large,
    e.g. for features with singular values down to 1e−6).

    Parameters
    ----------
    problem : Problem
    w : array_like, shape (P,)
        Coordinates of :meth:`Problem.features`.
    tol : float
        Relative tolerance (times ``scale = max|κ − y f0|``).
    """
    tol = as_real("tol", tol, nonnegative=True)
    w = problem._check_w(w)
    gap = problem.margins(w) - problem.margin
    allowed = tol * _scale(problem.offsets) + rounding_bound(problem, w)
    worst = int(np.argmin(gap + allowed)) if gap.size else 0
    min_gap = float(np.min(gap))
    ok = bool(np.all(np.isfinite(gap)) and np.all(gap >= -allowed))
    reason = "" if ok else f"gap {gap[worst]:.3g} < -{allowed[worst]:.3g} at point {worst}"
    return CertificateCheck(ok=ok, kind="sat", min_gap=min_gap, reason=reason)


def rounding_bound(problem: Problem, w: object) -> np.ndarray:
    """``γ_P Σ_p |J_ip| |w_p|``, shape (N,): a bound on the rounding error of ``J_i·w``.

    The standard bound for a dot product of length P evaluated in float64
    (``γ_P = P·eps / (1 − P·eps)``, eps = 2^−53).  Dead rows give exactly 0.
    """
    w = problem._check_w(w)
    J = problem.features()
    P = J.shape[1]
    u = np.finfo(float).eps / 2
    gamma = P * u / (1 - P * u)
    return gamma * (np.abs(J) @ np.abs(w))


def check_farkas_certificate(
    problem: Problem, lam: object, *, tol: float = 1e-9, farkas_rtol: float = 1e-9
) -> CertificateCheck:
    """Check a Farkas vector: ``λ ≥ 0``, ``Σ λ_i y_i J_i ≈ 0``, ``Σ λ_i (κ − y_i f0_i) > 0``.

    λ is normalised to ``Σ λ = 1`` first.  Valid when ``bᵀλ > tol·scale`` and
    ``‖Jᵀ(y ∘ λ)‖₂ ≤ farkas_rtol · ‖J‖_F``.

    Parameters
    ----------
    problem : Problem
    lam : array_like, shape (N,)
        Non-negative multipliers, not all zero.
    tol, farkas_rtol : float
        See the module docstring.
    """
    tol = as_real("tol", tol, nonnegative=True)
    farkas_rtol = as_real("farkas_rtol", farkas_rtol, nonnegative=True)
    lam = as_float_array("lam", lam, ndim=1)
    if lam.shape[0] != problem.n_points:
        raise ValueError(f"lam must have length N = {problem.n_points}, got {lam.shape[0]}")
    if np.any(lam < 0):
        return CertificateCheck(ok=False, kind="unsat", reason="negative multiplier")
    total = float(lam.sum())
    if not total > 0:
        return CertificateCheck(ok=False, kind="unsat", reason="all multipliers zero")
    lam = lam / total
    J = problem.features()
    value = float(problem.offsets @ lam)
    # Scale-invariant: J is normalised by its largest entry before any product or
    # norm, so features of size 1e−200 cannot underflow into an "exact" certificate.
    jmax = float(np.max(np.abs(J))) if J.size else 0.0
    if jmax > 0:
        c = float(2.0 ** np.floor(np.log2(jmax)))  # exact scaling: entries in [0.5, 2)
        Jn = J / c
        g = float(np.linalg.norm(Jn.T @ (problem.y * lam)))
        residual = g / float(np.linalg.norm(Jn))
        g *= c
    else:
        g, residual = 0.0, 0.0
    radius = value / g if g > 0 else (np.inf if value > 0 else 0.0)
    allowed = tol * _scale(problem.offsets)
    reasons = []
    if not value > allowed:
        reasons.append(f"b·λ = {value:.3g} is not > {allowed:.3g}")
    if not residual <= farkas_rtol:
        reasons.append(f"relative residual {residual:.3g} > {farkas_rtol:.3g}")
    return CertificateCheck(
        ok=not reasons,
        kind="unsat",
        farkas_value=value,
        farkas_residual=residual,
        radius=float(radius),
        reason="; ".join(reasons),
    )


def _polish_farkas(A: np.ndarray, lam: np.ndarray) -> np.ndarray:
    """Project λ on its support onto ``{μ : A_Sᵀ μ = 0}`` (least squares); keep it if ≥ 0."""
    S = lam > 0
    if not np.any(S):
        return lam
    AS = A[S]
    coef, *_ = scipy.linalg.lstsq(AS.T, AS.T @ lam[S], lapack_driver="gelsd")
    mu = lam[S] - coef
    if np.any(mu < 0) or not mu.sum() > 0:
        return lam
    out = np.zeros_like(lam)
    out[S] = mu / mu.sum()
    return out


# ------------------------------------------------------------------------------- LP
def _slack_lp(A: np.ndarray, b: np.ndarray, cap: float, method: str):
    N, n = A.shape
    c = np.zeros(n + 1)
    c[-1] = -1.0
    A_ub = np.hstack([-A, np.ones((N, 1))])
    bounds = [(None, None)] * n + [(None, cap)]
    return linprog(c, A_ub=A_ub, b_ub=-b, bounds=bounds, method=method)


def lp_certificate(
    problem: Problem,
    *,
    tol: float = 1e-9,
    farkas_rtol: float = 1e-9,
    slack_cap: float | None = None,
    parameterisation: str | None = None,
) -> LPCertificate:
    """SAT/UNSAT of ``{w : y_i (f0_i + J_i·w) ≥ κ ∀i}`` by LP, with a checked certificate.

    Parameters
    ----------
    problem : Problem
    tol : float
        Relative feasibility tolerance (see the module docstring).
    farkas_rtol : float
        Allowed relative residual of a Farkas vector.
    slack_cap : float, optional
        Upper bound on the slack variable t (default ``max|κ − y f0|``, 1 if that is 0).
    parameterisation : {"features", "basis"}, optional
        Coordinates of the first attempt: ``w ∈ R^P`` or an orthonormal basis of
        range(J).  Default: ``"features"`` when ``P ≤ N`` and J is given, else
        ``"basis"``.  The other one is tried if the first fails.

    Returns
    -------
    LPCertificate
        Attempts run in order: HiGHS dual simplex, HiGHS interior point (with
        crossover), on the first parameterisation, then on the other; the first
        attempt whose certificate passes the check gives the verdict.
    """
    tol = as_real("tol", tol, nonnegative=True)
    farkas_rtol = as_real("farkas_rtol", farkas_rtol, nonnegative=True)
    b = problem.offsets
    cap = _scale(b) if slack_cap is None else as_real("slack_cap", slack_cap, positive=True)
    first = _default_coords(problem) if parameterisation is None else parameterisation
    if first not in ("features", "basis"):
        raise ValueError(f"parameterisation must be 'features' or 'basis', got {first!r}")
    second = "basis" if first == "features" else "features"
    attempts: list[str] = []
    last_slack = float("nan")
    # HiGHS's tolerances are absolute: offsets of extreme size are brought near 1 by an
    # exact power-of-two scaling (t and w scale with them).
    cb = _pow2_scale(b)
    for name in (first, second):
        coords = _coords(problem, name)
        A = coords.A
        if not coords.live.all():
            A = np.zeros((problem.n_points, coords.A.shape[1]))
            A[coords.live] = coords.A
        for method in ("highs-ds", "highs-ipm"):
            res = _slack_lp(A, b / cb, cap / cb, method)
            head = f"{method} on {name}: status {res.status}"
            if res.status != 0 or res.x is None:
                attempts.append(f"{head} ({res.message}) -> no verdict")
                continue
            t = float(res.x[-1]) * cb
            last_slack = t
            w = coords.to_w(res.x[:-1] * cb)
            sat = check_sat_certificate(problem, w, tol=tol)
            if t >= -tol * _scale(b) and sat.ok:
                attempts.append(f"{head}, slack {t:.3g} -> sat (verified)")
                return LPCertificate("sat", _readonly(w), None, t, sat, tuple(attempts), name)
            lam = np.maximum(-np.asarray(res.ineqlin.marginals, dtype=float), 0.0)
            check = check_farkas_certificate(problem, lam, tol=tol, farkas_rtol=farkas_rtol)
            if not check.ok and lam.sum() > 0:
                lam = _polish_farkas(A, lam / lam.sum())
                check = check_farkas_certificate(problem, lam, tol=tol, farkas_rtol=farkas_rtol)
            if check.ok:
                attempts.append(f"{head}, slack {t:.3g} -> unsat (verified)")
                lam = lam / lam.sum()
                return LPCertificate(
                    "unsat", None, _readonly(lam), t, check, tuple(attempts), name
                )
            attempts.append(
                f"{head}, slack {t:.3g} -> certificate rejected "
                f"(sat: {sat.reason or 'slack negative'}; unsat: {check.reason})"
            )
    failed = CertificateCheck(ok=False, kind="none", reason="no attempt gave a valid certificate")
    return LPCertificate("unknown", None, None, last_slack, failed, tuple(attempts), first)


def _readonly(arr: np.ndarray) -> np.ndarray:
    arr = np.array(arr, dtype=np.float64, copy=True)
    arr.setflags(write=False)
    return arr


# --------------------------------------------------------------------- finite Newton
def exact_line_search(delta: np.ndarray, q: np.ndarray) -> float:
    """Minimiser over ``t ≥ 0`` of ``φ(t) = ½ Σ_i max(0, Δ_i − t q_i)²``.

    φ is convex and piecewise quadratic with breakpoints ``t_i = Δ_i / q_i``; the
    minimiser is the root of ``φ'(t) = −Σ_i q_i max(0, Δ_i − t q_i)``, found by
    walking the sorted breakpoints (O(N log N)) and solved exactly on its segment.

    Parameters
    ----------
    delta : numpy.ndarray, shape (N,)
        Δ at t = 0.
    q : numpy.ndarray, shape (N,)
        Rate of decrease of Δ along the direction (``A d``).

    Returns
    -------
    float
        The step length (0 when the direction does not descend).
    """
    active0 = delta > 0
    leave = active0 & (q > 0)
    enter = ~active0 & (q < 0)
    idx = np.flatnonzero(leave | enter)
    tau = delta[idx] / q[idx]
    order = np.argsort(tau, kind="stable")
    idx, tau = idx[order], tau[order]
    sign = np.where(leave[idx], -1.0, 1.0)
    a0 = float(np.dot(q[active0], delta[active0]))
    c0 = float(np.dot(q[active0], q[active0]))
    # Segment k runs from starts[k] to ends[k]; φ'(t) = -a_k + c_k t on it.
    a = np.concatenate([[a0], a0 + np.cumsum(sign * q[idx] * delta[idx])])
    c = np.concatenate([[c0], c0 + np.cumsum(sign * q[idx] ** 2)])
    # The running sums carry rounding of the size of the terms summed so far: on a
    # segment where φ' is zero in exact arithmetic (every point satisfied) they can be
    # ±eps, and a spurious negative sign would carry the step to the next breakpoint,
    # possibly at t ~ 1e14 set by rounding-level q's.  Within that noise, φ' is 0.
    a_abs = np.concatenate([[abs(a0)], abs(a0) + np.cumsum(np.abs(q[idx] * delta[idx]))])
    c_abs = np.concatenate([[c0], c0 + np.cumsum(q[idx] ** 2)])
    starts = np.concatenate([[0.0], tau])
    ends = np.concatenate([tau, [np.inf]])
    with np.errstate(invalid="ignore"):
        dphi_end = np.where(np.isinf(ends), np.where(c > 0, np.inf, -a), -a + c * ends)
        noise = np.where(np.isinf(ends), a_abs, a_abs + c_abs * ends)
    noise = 64 * np.finfo(float).eps * (1 + np.arange(len(ends))) * noise
    # Empty segments (tied breakpoints) hold partial sums: never pick them.
    dphi_end[ends <= starts] = -np.inf
    hits = np.flatnonzero(dphi_end >= -noise)
    k = int(hits[0]) if hits.size else len(ends) - 1
    start, end = float(starts[k]), float(ends[k])
    # Recompute the segment's sums from its own active set (the cumsums lose digits).
    inside = 0.5 * (start + end) if np.isfinite(end) else start + 1.0
    mask = (delta - inside * q) > 0
    a_k = float(np.dot(q[mask], delta[mask]))
    c_k = float(np.dot(q[mask], q[mask]))
    if c_k <= 0:
        return max(start, 0.0)
    return float(min(max(a_k / c_k, start), end))


class _DirectionSolver:
    """Newton directions ``d = argmin ‖Δ_S − A_S d‖`` (minimum norm), reusing A_SᵀA_S."""

    rcond_min = 1e-14

    def __init__(self, A: np.ndarray, noise_factor: float = 1.0) -> None:
        self.A = A
        # Absolute cutoff for singular values of any row subset A_S: directions that
        # small are rounding noise of A itself (e.g. the row of a dead input, exactly 0
        # in J but ~eps·s_max/s_min in an SVD basis), whatever the conditioning of A_S
        # on its own scale.  ``noise_factor`` is that amplification (s_max/s_min).
        self.sv_cutoff = (
            max(A.shape) * np.finfo(float).eps * float(np.linalg.norm(A)) * noise_factor
        )
        self.mask: np.ndarray | None = None
        self.G: np.ndarray | None = None
        self.updates = 0
        self._fac_key: np.ndarray | None = None
        self._fac: tuple | None = None
        self._rcond = 0.0

    def seed_full_gram(self) -> tuple[bool, float]:
        """Factor ``AᵀA`` (all rows): returns (numerically full column rank, rcond).

        The Gram and its factor are kept for the first Newton step, whose active set
        is usually every point.
        """
        S = np.ones(self.A.shape[0], dtype=bool)
        G = self._gram(S)
        ok = self._cholesky_solve(G, np.zeros(G.shape[0])) is not None
        return ok, self._rcond

    def _gram(self, S: np.ndarray) -> np.ndarray:
        A = self.A
        if self.G is not None and self.mask is not None and self.updates < 25:
            add = S & ~self.mask
            rem = self.mask & ~S
            k = int(add.sum() + rem.sum())
            if k == 0:
                return self.G  # same object: its Cholesky factor is reused
            if k <= max(1, int(S.sum()) // 4):
                G = self.G + A[add].T @ A[add] - A[rem].T @ A[rem]
                self.updates += 1
                self.mask, self.G = S.copy(), G
                return G
        AS = A[S]
        G = AS.T @ AS
        self.updates = 0
        self.mask, self.G = S.copy(), G
        return G

    def direction(self, S: np.ndarray, delta_S: np.ndarray, robust: bool) -> np.ndarray:
        AS = self.A[S]
        m, n = AS.shape
        if not robust:
            if m >= n:
                G = self._gram(S)
                d = self._cholesky_solve(G, AS.T @ delta_S)
                if d is not None:
                    # one step of iterative refinement on the normal equations
                    corr = self._cholesky_solve(G, AS.T @ (delta_S - AS @ d))
                    return d + corr if corr is not None else d
            else:
                M = AS @ AS.T
                u = self._cholesky_solve(M, delta_S)
                if u is not None:
                    return AS.T @ u
        return self._svd_solve(AS, delta_S)

    def _svd_solve(self, AS: np.ndarray, rhs: np.ndarray) -> np.ndarray:
        """Minimum-norm least squares, singular values below ``sv_cutoff`` set to zero."""
        if AS.size == 0:
            return np.zeros(AS.shape[1])
        try:
            U, s, Vt = scipy.linalg.svd(AS, full_matrices=False, check_finite=False)
        except np.linalg.LinAlgError:
            U, s, Vt = scipy.linalg.svd(AS, full_matrices=False, check_finite=False,
                                        lapack_driver="gesvd")
        keep = s > self.sv_cutoff
        return Vt[keep].T @ ((U[:, keep].T @ rhs) / s[keep])

    def _cholesky_solve(self, G: np.ndarray, rhs: np.ndarray) -> np.ndarray | None:
        if self._fac_key is not G:
            try:
                c = scipy.linalg.cho_factor(G, lower=False, check_finite=False)
            except np.linalg.LinAlgError:
                self._fac_key, self._fac, self._rcond = G, None, 0.0
                return None
            anorm = float(np.max(np.sum(np.abs(G), axis=0)))
            rcond, info = scipy.linalg.lapack.dpocon(c[0], anorm, uplo="U")
            self._fac_key = G
            self._rcond = float(rcond) if info == 0 else 0.0
            # λ_min(G) ≳ rcond · ‖G‖₁ / n must also clear the absolute cutoff (squared).
            well_posed = rcond * anorm / G.shape[0] > self.sv_cutoff**2
            self._fac = c if (info == 0 and rcond > self.rcond_min and well_posed) else None
        if self._fac is None:
            return None
        return scipy.linalg.cho_solve(self._fac, rhs, check_finite=False)


def _finite_newton(
    A: np.ndarray,
    b: np.ndarray,
    *,
    kkt_tol: float,
    max_iter: int,
    act_tol: float,
    solver: _DirectionSolver,
) -> tuple[np.ndarray, np.ndarray, float, int, bool]:
    """Minimise ½‖max(0, b − A z)‖²; returns (z, Δ, kkt residual, iterations, converged)."""
    N, n = A.shape
    z = np.zeros(n)
    delta = b.copy()
    normA = float(np.linalg.norm(A))
    normb = float(np.linalg.norm(b))
    denom = normA * normb if normA * normb > 0 else 1.0
    prev: np.ndarray | None = None
    robust = False
    stalls = 0
    it = 0
    converged = False
    kkt = 0.0
    row_norms = np.linalg.norm(A, axis=1)
    while True:
        # Δ = b − A z is known only to its rounding error ~ eps (|b| + ‖A_i‖ ‖z‖): points
        # within that of zero are contacts, not active (else the set flickers forever).
        noise = act_tol * (np.abs(b) + row_norms * float(np.linalg.norm(z)))
        S = delta > noise
        r = np.where(S, delta, 0.0)
        kkt = float(np.linalg.norm(A.T @ r)) / denom
        if not np.any(S):
            converged = True
            break
        repeated = prev is not None and np.array_equal(S, prev)
        # The residual cannot fall below the rounding of Δ itself (relative eps·‖A‖‖z‖/‖b‖,
        # large for ill-conditioned features whose minimiser has a large norm).
        floor = 64 * np.finfo(float).eps * np.sqrt(N) * (
            1.0 + normA * float(np.linalg.norm(z)) / max(normb, np.finfo(float).tiny))
        if repeated and kkt < max(kkt_tol, floor):
            converged = True
            break
        if it >= max_iter:
            break
        if repeated:
            stalls += 1
            robust = robust or stalls >= 2
        # Least squares on S plus the satisfied points just inside the boundary, those
        # with target 0 (held in place).  At a kink either choice is an element of the
        # generalised Hessian, so d is still a Newton direction and the exact minimiser
        # is a fixed point; holding them stops the zig-zag of the SAT phase, where
        # points made feasible by one step are pushed back out by the next.
        held = delta > -_HOLD_BAND * noise
        d = solver.direction(held, np.maximum(delta[held], 0.0), robust)
        q = A @ d
        t = exact_line_search(delta, q)
        it += 1
        if not t > 0:
            if robust:
                # The SVD least-squares step on a repeated active set cannot descend:
                # stationary to working precision (the certificates are checked apart).
                converged = repeated
                break
            robust = True
            prev = S
            continue
        z = z + t * d
        delta = b - A @ z
        prev = S
    return z, delta, kkt, it, converged


def minimize_quadratic_hinge(
    problem: Problem,
    *,
    tol: float = 1e-9,
    kkt_tol: float = 1e-12,
    farkas_rtol: float = 1e-9,
    max_iter: int = 500,
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
    active set repeats and the KKT residual is below ``kkt_tol``, or when nothing
    is violated.

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
    parameterisation : {"features", "basis"}, optional
        ``"features"`` works with ``w ∈ R^P`` (default when ``P ≤ N`` and J is
        given); ``"basis"`` on an orthonormal basis of range(J) from the SVD
        (default otherwise, and used automatically when the features are found
        rank-deficient).

    Returns
    -------
    HingeMinimum
    """
    tol = as_real("tol", tol, nonnegative=True)
    kkt_tol = as_real("kkt_tol", kkt_tol, positive=True)
    farkas_rtol = as_real("farkas_rtol", farkas_rtol, nonnegative=True)
    max_iter = as_int("max_iter", max_iter, minimum=1)
    name = _default_coords(problem) if parameterisation is None else parameterisation
    if name not in ("features", "basis"):
        raise ValueError(f"parameterisation must be 'features' or 'basis', got {name!r}")
    b = problem.offsets
    act_tol = 64 * np.finfo(float).eps
    coords = _coords(problem, name)
    rank = None
    if name == "features" and coords.A.shape[0] > 0:
        solver = _DirectionSolver(coords.A)
        full_rank, rcond = solver.seed_full_gram()
        if not full_rank:
            coords = _coords(problem, "basis")
        elif _full_rank_certified(rcond, problem):
            rank = problem.n_features
    elif name == "features":
        coords = _coords(problem, "basis")  # no live point: nothing to solve
    if coords.name == "basis":
        sv = problem.reduced_svd()[1]
        # Rounding in the basis rows: eps·s_max/s_min from an SVD of J, but
        # eps·λ_max/λ_min = eps·(s_max/s_min)² from an eigendecomposition of K.
        amplification = float(sv[0] / sv[-1]) if sv.size else 1.0
        if problem.J is None:
            amplification **= 2
        solver = _DirectionSolver(coords.A, amplification)
    if coords.A.shape[0] == 0 or coords.A.shape[1] == 0:
        # Nothing can move (all points dead, or J = 0): w = 0 is a minimiser.
        z, its, converged = np.zeros(coords.A.shape[1]), 0, True
    else:
        z, _, _, its, converged = _finite_newton(
            coords.A, b[coords.live], kkt_tol=kkt_tol, max_iter=max_iter, act_tol=act_tol,
            solver=solver,
        )
    w = coords.to_w(z)
    if rank is None:
        rank = problem.rank
    return _hinge_minimum(problem, w, tol=tol, farkas_rtol=farkas_rtol, rank=rank,
                          iterations=its, converged=converged, parameterisation=coords.name)


def _hinge_minimum(
    problem: Problem,
    w: np.ndarray,
    *,
    tol: float,
    farkas_rtol: float,
    rank: int,
    iterations: int,
    converged: bool,
    parameterisation: str,
) -> HingeMinimum:
    """Every observable of a candidate minimiser ``w``, evaluated on the problem itself.

    Whatever coordinates the solver used, ``f = f0 + J w`` is recomputed from the
    problem's own features, and the loss, Δ's, N_Δ, contacts, gaps, forces, the
    certificate and the KKT residual all follow from it, so ``result.loss`` equals
    ``problem.loss(result.w)`` exactly.
    """
    abs_tol = tol * _scale(problem.offsets)
    outputs = problem.outputs(w)
    delta = problem.margin - problem.y * outputs
    band = abs_tol + rounding_bound(problem, w)  # tolerance plus this Δ's own rounding
    viol = delta > band
    n_delta = int(viol.sum())
    r = np.maximum(delta, 0.0)
    loss = problem.loss(w)
    kkt = _kkt_residual(problem, r)
    farkas = None
    if n_delta == 0:
        check = check_sat_certificate(problem, w, tol=tol)
        verdict = "sat" if check.ok else "unknown"
    else:
        lam = r / r.sum()
        check = check_farkas_certificate(problem, lam, tol=tol, farkas_rtol=farkas_rtol)
        verdict = "unsat" if check.ok else "unknown"
        farkas = _readonly(lam) if check.ok else None
    gap = -delta
    return HingeMinimum(
        verdict=verdict,
        loss=loss,
        w=_readonly(w),
        outputs=_readonly(outputs),
        deltas=_readonly(delta),
        n_delta=n_delta,
        contacts=np.flatnonzero(np.abs(delta) <= band),
        gaps=_readonly(gap[gap > band]),
        forces=_readonly(delta[viol]),
        rank=rank,
        isostaticity=n_delta / rank if rank > 0 else float("nan"),
        farkas=farkas,
        check=check,
        kkt_residual=kkt,
        iterations=iterations,
        converged=converged,
        tol=abs_tol,
        parameterisation=parameterisation,
    )


def _kkt_residual(problem: Problem, r: np.ndarray) -> float:
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


def _full_rank_certified(rcond: float, problem: Problem) -> bool:
    """Whether ``rcond(JᵀJ)`` proves every singular value of J is above the rank cutoff.

    ``s_min / s_max ≈ sqrt(rcond)`` (1-norm estimate, within a factor ~√P); the
    cutoff is ``rtol`` (default ``max(N, P)·eps``).  When this holds the rank is P
    and the SVD is not needed.
    """
    N, P = problem.n_points, problem.n_features
    cutoff = problem.rtol if problem.rtol is not None else max(N, P) * np.finfo(float).eps
    return bool(np.sqrt(rcond) / (10.0 * np.sqrt(P)) > 1e3 * cutoff)


def sat_unsat(problem: Problem, *, method: str = "auto", tol: float = 1e-9) -> str:
    """The verdict ``"sat"``/``"unsat"``/``"unknown"``, each backed by a checked certificate.

    ``method``: ``"newton"`` (:func:`minimize_quadratic_hinge`), ``"lp"``
    (:func:`lp_certificate`) or ``"auto"`` (Newton, then the LP when Newton's
    certificate does not check out).
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


__all__ = [
    "CertificateCheck",
    "HingeMinimum",
    "LPCertificate",
    "check_farkas_certificate",
    "check_sat_certificate",
    "exact_line_search",
    "lp_certificate",
    "minimize_quadratic_hinge",
    "rounding_bound",
    "sat_unsat",
]
