"""The quadratic-hinge minimum on the sphere ‖w‖² = norm: the non-convex (jamming) problem.

Notation (see :mod:`ntkjam.problem`): ``A = diag(y) J``, ``b = κ − y ∘ f0``,
``Δ(w) = b − A w``; the loss is ``L(w) = (1/N) Σ_i ½ max(0, Δ_i)²`` and the constraint
``‖w‖² = R²`` (``R² = norm``, default P, so that with rows of covariance I/P every field
``y_i J_i·w`` has unit variance, the convention of :func:`ntkjam.theory.rs_unsat_spherical`).

For κ < 0 (with f0 = 0) the problem is non-convex: each constraint forbids a
spherical cap ``{y_i J_i·w < κ}`` (the "particle"), and the sphere minus a cap is not
convex.  Its SAT/UNSAT point is a jamming transition (Franz, Parisi, Sevelev, Urbani,
Zamponi, SciPost Phys. 2, 019 (2017)); see ``docs/jamming_sphere.md``.

Two entry points:

* :func:`minimize_on_sphere` — Riemannian conjugate gradient (Polak–Ribière+, restarts)
  on the sphere with the retraction ``w ← R w/‖w‖``, an Armijo backtracking line search
  started from the minimiser of the local quadratic model (the generalised Hessian of
  L minus the Lagrange multiplier's curvature), and a Newton polish on the tangent
  space once the active set has settled.  It finds a *local* minimum.
* :func:`compress_margin` — the jamming point at fixed (N, P): decrease κ from the
  UNSAT side, each minimisation started from the previous minimum, until the loss
  vanishes; then bisect the bracket to a tolerance.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from ntkjam._validate import as_float_array, as_int, as_real, as_seed
from ntkjam.core.reprs import SummaryRepr
from ntkjam.core.status import Status
from ntkjam.jamming.certificates import offset_scale, readonly, rounding_bound
from ntkjam.problem import Problem

__all__ = ["MarginCompression", "SphereMinimum", "compress_margin", "minimize_on_sphere"]


@dataclass(frozen=True, repr=False)
class SphereMinimum(SummaryRepr):
    """A local minimum of the quadratic hinge on the sphere ``‖w‖² = norm``.

    Every observable is evaluated on the problem's own features at the returned ``w``
    (so ``loss == problem.loss(w)`` exactly).

    Attributes
    ----------
    status : Status
        ``"sat"`` (every Δ_i ≤ tol), ``"unsat"`` (Riemannian gradient below the
        threshold at a positive loss: a local minimum), ``"budget"`` (``max_iter``
        reached first) or ``"nan"`` (the loss stopped being finite).
    loss : float
        ``(1/N) Σ ½ max(0, Δ_i)²`` at ``w``.
    w : numpy.ndarray, shape (P,)
        The point, with ``‖w‖² = norm`` to rounding.
    norm : float
        The constraint ``‖w‖² = norm``.
    deltas : numpy.ndarray, shape (N,)
        ``Δ_i = κ − y_i f_i``.
    n_unsat : int
        N_Δ = #{i : Δ_i > tol + e_i} (``e_i`` the rounding bound of ``J_i·w``).
    contacts : numpy.ndarray of int
        Indices with ``|Δ_i| ≤ tol + e_i``.
    gaps : numpy.ndarray
        ``y_i f_i − κ = −Δ_i`` of the satisfied points beyond the tolerance.
    forces : numpy.ndarray, shape (n_unsat,)
        ``Δ_i`` of the violated points (the "overlaps" of the jamming literature).
    rank : int
        ``Problem.rank``.
    isostaticity : float
        ``n_unsat / rank`` (NaN when rank is 0).
    iterations : int
        Steps taken (CG and Newton).
    grad_norm : float
        ``‖grad_R L(w)‖₂``, the Riemannian gradient ``g − (g·w) w/‖w‖²`` of the
        per-sample loss, at ``w``.
    grad_threshold : float
        The absolute threshold of the UNSAT rule at the last iterate:
        ``grad_tol · scale · √(2L) / R`` (``scale = max|b|``, 1 when b = 0).
    tol : float
        The absolute tolerance on Δ (``tol · scale``).
    multiplier : float
        ``λ = (g·w)/‖w‖²``: ``g = λ w`` at a stationary point.
    message : str
        Why it stopped.
    """

    status: Status
    loss: float
    w: np.ndarray
    norm: float
    deltas: np.ndarray
    n_unsat: int
    contacts: np.ndarray
    gaps: np.ndarray
    forces: np.ndarray
    rank: int
    isostaticity: float
    iterations: int
    grad_norm: float
    grad_threshold: float
    tol: float
    multiplier: float
    message: str


def _loss_grad(A: np.ndarray, b: np.ndarray, w: np.ndarray, n: int):
    d = b - A @ w
    r = np.maximum(d, 0.0)
    loss = 0.5 * float(r @ r) / n
    g = -(A.T @ r) / n
    return loss, g, d


def _tangent(g: np.ndarray, w: np.ndarray, R2: float) -> np.ndarray:
    return g - (float(g @ w) / R2) * w


def _retract(x: np.ndarray, R: float) -> np.ndarray:
    return x * (R / np.linalg.norm(x))


def _start(w0: object, seed: int, P: int) -> np.ndarray:
    """The starting point before retraction: ``w0`` checked, or a seeded Gaussian."""
    if w0 is None:
        return np.random.default_rng(seed).standard_normal(P)
    x = as_float_array("w0", w0, ndim=1)
    if x.shape[0] != P:
        raise ValueError(f"w0 must have length P = {P}, got {x.shape[0]}")
    if not np.any(x):
        raise ValueError("w0 must be non-zero (it is rescaled onto the sphere)")
    return np.array(x, dtype=np.float64)


def _cg_line_search(A, b, w, direction, active, lam, loss, slope, step, n, R):
    """Armijo backtracking along the retraction, started at the quadratic model's minimum.

    The model's curvature along d is ``‖A_S d‖²/N − λ‖d‖²`` (the generalised Hessian
    plus the sphere's); returns ``(t, w_new, (loss, g, Δ))`` or None.
    """
    Ad = A[active] @ direction
    curv = float(Ad @ Ad) / n - lam * float(direction @ direction)
    t = -slope / curv if curv > 0 else 2.0 * step
    for _ in range(60):
        w_try = _retract(w + t * direction, R)
        out = _loss_grad(A, b, w_try, n)
        if out[0] <= loss + 1e-4 * t * slope:
            return t, w_try, out
        t *= 0.5
    return None


def _polak_ribiere(rg, old_rg, old_dir, w, R2):
    """Polak–Ribière+ direction, the old vectors transported by projection onto T_w."""
    denom = float(old_rg @ old_rg)
    moved = _tangent(old_rg, w, R2)
    beta = max(0.0, float(rg @ (rg - moved)) / denom) if denom > 0 else 0.0
    return -rg + beta * _tangent(old_dir, w, R2)


def _stop(loss, d, band, gn, g_thr, it):
    """The NaN, SAT and UNSAT (first-order) rules: ``(status, message)`` or None."""
    if not np.isfinite(loss):
        return Status.NAN, f"the loss is not finite at step {it}"
    if np.all(d <= band):
        return Status.SAT, f"every margin met at step {it}"
    if gn <= g_thr:
        return Status.UNSAT, f"Riemannian gradient {gn:.3g} <= {g_thr:.3g} at step {it}"
    return None


def minimize_on_sphere(
    problem: Problem,
    *,
    norm: float | None = None,
    w0: object = None,
    seed: int = 0,
    max_iter: int = 20000,
    grad_tol: float = 1e-8,
    tol: float = 1e-9,
    newton: bool = True,
    newton_after: int = 5,
    escapes: int = 20,
) -> SphereMinimum:
    """Minimise ``(1/N) Σ ½ max(0, κ − y_i (f0_i + J_i·w))²`` subject to ``‖w‖² = norm``.

    Riemannian conjugate gradient on the sphere (see the module docstring).  Stopping
    rules, checked at every iterate:

    * **SAT** — every ``Δ_i ≤ tol·scale + e_i`` (``scale = max|b|``, 1 when b = 0;
      ``e_i`` the rounding bound of ``J_i·w``);
    * **UNSAT** — ``‖grad_R L‖ ≤ grad_tol · scale · √(2L) / R`` at a positive loss (a
      local minimum; relative to the loss, so that a loss vanishing at the tolerance
      level is not mistaken for a minimum, and invariant under rescaling J, b, norm);
    * **budget** — ``max_iter`` steps taken; **nan** — a non-finite loss.

    Parameters
    ----------
    problem : Problem
    norm : float, optional
        ``R² = ‖w‖²``, > 0 and finite; default P.
    w0 : array_like, shape (P,), optional
        Starting point (rescaled onto the sphere; must be finite and non-zero).
        Default: a Gaussian vector from ``seed``.
    seed : int
        Seed of the random start (ignored when ``w0`` is given).
    max_iter : int
        Cap on steps.
    grad_tol : float
        Relative UNSAT threshold (above), > 0.
    tol : float
        Relative tolerance on Δ for SAT, N_Δ and contacts, ≥ 0.
    newton : bool
        Polish with Newton steps on the tangent space (bordered system with the
        generalised Hessian ``A_SᵀA_S/N − λ I``) once the active set has been unchanged
        for ``newton_after`` steps; a Newton step is used only when it descends.
    newton_after : int
        See ``newton``.
    escapes : int
        How many times an UNSAT stop may be re-examined: if the Riemannian Hessian
        ``Π(A_SᵀA_S/N − λI)Π`` has a negative eigenvalue there (a saddle flat to
        rounding, common near jamming, where λ is tiny), step along it and minimise
        again.  A returned UNSAT point has passed this second-order test unless the
        escapes ran out.

    Returns
    -------
    SphereMinimum
    """
    P = problem.n_features
    R2 = float(P) if norm is None else as_real("norm", norm, positive=True)
    R = float(np.sqrt(R2))
    seed = as_seed("seed", seed)
    max_iter = as_int("max_iter", max_iter, minimum=0)
    grad_tol = as_real("grad_tol", grad_tol, positive=True)
    tol = as_real("tol", tol, nonnegative=True)
    newton_after = as_int("newton_after", newton_after, minimum=1)
    escapes = as_int("escapes", escapes, minimum=0)
    x = _start(w0, seed, P)
    A = problem.y[:, None] * problem.features()
    b = problem.offsets
    n = problem.n_points
    scale = offset_scale(b)
    abs_tol = tol * scale
    g_thr = float("nan")
    absA, eps = np.abs(A), np.finfo(float).eps
    gamma = P * (eps / 2) / (1 - P * eps / 2)

    w = _retract(x, R)
    loss, g, d = _loss_grad(A, b, w, n)
    rg = _tangent(g, w, R2)
    direction = -rg
    prev_active, same, step, stalled, max_stall = None, 0, 1.0, 0, 200
    status, message = Status.BUDGET, f"max_iter = {max_iter} steps taken"
    it = 0
    while True:
        gn = float(np.linalg.norm(rg))
        g_thr = grad_tol * scale * np.sqrt(2.0 * loss) / R
        stop = _stop(loss, d, abs_tol + gamma * (absA @ np.abs(w)), gn, g_thr, it)
        if stop is not None:
            status, message = stop
            break
        if it >= max_iter:
            break
        it += 1
        active = d > 0
        lam = float(g @ w) / R2
        same = same + 1 if prev_active is not None and np.array_equal(active, prev_active) else 0
        prev_active = active
        took = False
        if newton and same >= newton_after:
            took, w_new, out = _newton_step(A, b, w, active, lam, rg, loss, n, R, R2)
            if took:
                w, (loss, g, d) = w_new, out
                rg = _tangent(g, w, R2)
                direction = -rg
                same = 0
        if not took:
            slope = float(rg @ direction)
            if slope >= 0:  # not a descent direction: restart with the gradient
                direction = -rg
                slope = -float(rg @ rg)
            found = _cg_line_search(A, b, w, direction, active, lam, loss, slope, step,
                                    n, R)
            progress = found is not None and found[2][0] < loss * (1 - 64 * eps)
            stalled = 0 if progress else stalled + 1
            if found is None or stalled >= max_stall:
                # Flat to rounding: a minimum if the gradient is within 100× the threshold.
                status = Status.UNSAT if gn <= 100 * g_thr else Status.BUDGET
                why = "line search failed" if found is None else f"stalled {max_stall} steps"
                message = (f"{why} at step {it}, the loss flat to rounding (Riemannian "
                           f"gradient {gn:.3g}, threshold {g_thr:.3g})")
                break
            step, w_try, out = found
            old_rg, old_dir = rg, direction
            w, (loss, g, d) = w_try, out
            rg = _tangent(g, w, R2)
            direction = _polak_ribiere(rg, old_rg, old_dir, w, R2)
    if status == Status.UNSAT and escapes > 0:
        w_esc = _escape_saddle(A, b, w, d, float(g @ w) / R2, loss, n, R)
        if w_esc is not None:  # a saddle flat to rounding: leave it and minimise again
            res = minimize_on_sphere(problem, norm=R2, w0=w_esc, max_iter=max(max_iter - it, 0),
                                     grad_tol=grad_tol, tol=tol, newton=newton,
                                     newton_after=newton_after, escapes=escapes - 1)
            return replace(res, iterations=res.iterations + it)
    return sphere_minimum(problem, w, norm=R2, status=status, iterations=it, tol=tol,
                          grad_threshold=g_thr, message=message)


def _escape_saddle(A, b, w, d, lam, loss, n, R):
    """A point of lower loss along the most negative curvature of the Riemannian Hessian.

    The Hessian on T_w is ``Π (A_SᵀA_S/N − λ I) Π`` (Π the tangent projector, S the
    active set); at a minimum it is PSD.  Returns None when its smallest eigenvalue is
    above −1e3·eps·‖H‖ (a minimum, to rounding) or no step along it lowers the loss.
    """
    P = w.shape[0]
    AS = A[d > 0]
    Pi = np.eye(P) - np.outer(w, w) / float(w @ w)
    H = Pi @ (AS.T @ AS / n - lam * np.eye(P)) @ Pi
    mu, V = np.linalg.eigh(0.5 * (H + H.T))
    if not mu[0] < -1e3 * np.finfo(float).eps * max(float(np.abs(mu).max()), 1.0):
        return None
    v = V[:, 0] * R
    for t in (1e-2, 1e-3, 1e-4, 1e-5, 1e-6):
        for sign in (1.0, -1.0):
            w_try = _retract(w + sign * t * v, R)
            if _loss_grad(A, b, w_try, n)[0] < loss:
                return w_try
    return None


def _newton_step(A, b, w, active, lam, rg, loss, n, R, R2):
    """A Newton step on T_w for the current active set; used only if it descends."""
    P = w.shape[0]
    AS = A[active]
    H = AS.T @ AS / n - lam * np.eye(P)
    K = np.zeros((P + 1, P + 1))
    K[:P, :P] = H
    K[:P, P] = w / R
    K[P, :P] = w / R
    rhs = np.concatenate([-rg, [0.0]])
    try:
        xi = np.linalg.solve(K, rhs)[:P]
    except np.linalg.LinAlgError:
        return False, None, None
    if not np.all(np.isfinite(xi)):
        return False, None, None
    slope = float(rg @ xi)
    if not slope < 0:
        return False, None, None
    gn = float(np.linalg.norm(rg))
    floor = loss + 16 * np.finfo(float).eps * loss  # flat to rounding
    t = 1.0
    for _ in range(30):
        w_try = _retract(w + t * xi, R)
        out = _loss_grad(A, b, w_try, n)
        if out[0] <= loss + 1e-4 * t * slope:
            return True, w_try, out
        # Near the minimum the loss is flat to rounding: accept a step that keeps the
        # loss within rounding and halves the Riemannian gradient.
        if out[0] <= floor and np.linalg.norm(_tangent(out[1], w_try, R2)) < 0.5 * gn:
            return True, w_try, out
        t *= 0.5
    return False, None, None


def sphere_minimum(
    problem: Problem,
    w: np.ndarray,
    *,
    norm: float,
    status: Status,
    iterations: int,
    tol: float,
    grad_threshold: float,
    message: str,
) -> SphereMinimum:
    """Every observable of a point ``w`` on the sphere, evaluated on the problem itself."""
    abs_tol = tol * offset_scale(problem.offsets)
    delta = problem.deltas(w)
    band = abs_tol + rounding_bound(problem, w)
    viol = delta > band
    n_unsat = int(viol.sum())
    r = np.maximum(delta, 0.0)
    g = -(problem.features().T @ (problem.y * r)) / problem.n_points
    lam = float(g @ w) / float(w @ w)
    rank = problem.rank
    contacts = np.flatnonzero(np.abs(delta) <= band)
    contacts.setflags(write=False)
    gap = -delta
    return SphereMinimum(
        status=status,
        loss=problem.loss(w),
        w=readonly(w),
        norm=float(norm),
        deltas=readonly(delta),
        n_unsat=n_unsat,
        contacts=contacts,
        gaps=readonly(gap[gap > band]),
        forces=readonly(delta[viol]),
        rank=rank,
        isostaticity=n_unsat / rank if rank > 0 else float("nan"),
        iterations=iterations,
        grad_norm=float(np.linalg.norm(g - lam * w)),
        grad_threshold=float(grad_threshold),
        tol=abs_tol,
        multiplier=lam,
        message=message,
    )


@dataclass(frozen=True, repr=False)
class MarginCompression(SummaryRepr):
    """The jamming point found by compressing the margin at fixed (N, P).

    Attributes
    ----------
    status : str
        ``"jammed"`` (bracket bisected to ``kappa_tol``), ``"sat"`` (the first κ was
        already SAT: no UNSAT side) or ``"unsat"`` (still UNSAT at the last κ given).
    kappa_j : float
        Midpoint of the final bracket ``[kappa_sat, kappa_unsat]`` (NaN without one).
    kappa_unsat, kappa_sat : float
        The bracket: the smallest κ found UNSAT and the largest found SAT.
    unsat : SphereMinimum or None
        The minimum at ``kappa_unsat``: the last UNSAT minimum just above jamming.
    isostaticity : float
        ``unsat.n_unsat / unsat.rank``.
    history : tuple of (float, str, float, int)
        ``(κ, status, loss, n_unsat)`` of every minimisation, in order.
    """

    status: str
    kappa_j: float
    kappa_unsat: float
    kappa_sat: float
    isostaticity: float
    unsat: SphereMinimum | None
    history: tuple


def compress_margin(
    problem: Problem,
    *,
    kappas: object,
    norm: float | None = None,
    seed: int = 0,
    kappa_tol: float = 1e-4,
    **minimize_kwargs: object,
) -> MarginCompression:
    """The jamming margin κ_J at fixed (N, P): compress κ from the UNSAT side, then bisect.

    For each κ of the strictly decreasing sequence ``kappas`` (the problem's features,
    labels and f0 with margin κ), minimise on the sphere starting from the previous
    minimum (the first from the random start of ``seed``).  The first SAT κ and the
    UNSAT κ before it bracket κ_J; the bracket is bisected to ``kappa_tol``, every
    trial started from the UNSAT minimum at the upper end (the state being
    compressed).  A "budget" or "nan" result is an error (the verdict is unknown).

    ``minimize_kwargs`` go to :func:`minimize_on_sphere` (``max_iter``, ``grad_tol``, …).
    """
    ks = as_float_array("kappas", kappas, ndim=1)
    if ks.size == 0:
        raise ValueError("kappas must contain at least one margin, got an empty array")
    if ks.size > 1 and not np.all(np.diff(ks) < 0):
        raise ValueError("kappas must be strictly decreasing (compression from UNSAT)")
    kappa_tol = as_real("kappa_tol", kappa_tol, positive=True)
    history: list = []

    def solve(kappa: float, w0) -> SphereMinimum:
        p = Problem(y=problem.y, J=problem.features(), f0=problem.f0, margin=kappa,
                    rtol=problem.rtol)
        res = minimize_on_sphere(p, norm=norm, w0=w0, seed=seed, **minimize_kwargs)
        history.append((float(kappa), str(res.status), res.loss, res.n_unsat))
        if res.status not in (Status.SAT, Status.UNSAT):
            raise RuntimeError(f"compress_margin: undecided minimisation at κ = {kappa:.6g}: "
                               f"{res.message}; raise max_iter")
        return res

    last: SphereMinimum | None = None
    k_hi = k_lo = float("nan")
    for k in ks:
        res = solve(float(k), None if last is None else last.w)
        if res.status == Status.SAT:
            k_lo = float(k)
            break
        last, k_hi = res, float(k)
    if last is None:
        return MarginCompression("sat", float("nan"), float("nan"), k_lo, float("nan"), None,
                                 tuple(history))
    if np.isnan(k_lo):
        return MarginCompression("unsat", float("nan"), k_hi, float("nan"),
                                 last.isostaticity, last, tuple(history))
    while k_hi - k_lo > kappa_tol:
        mid = 0.5 * (k_hi + k_lo)
        res = solve(mid, last.w)
        if res.status == Status.SAT:
            k_lo = mid
        else:
            last, k_hi = res, mid
    return MarginCompression("jammed", 0.5 * (k_hi + k_lo), k_hi, k_lo, last.isostaticity,
                             last, tuple(history))
