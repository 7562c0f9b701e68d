"""The quadratic-hinge minimum on the sphere ‖w‖² = norm: the non-convex (jamming) problem.

Notation (see :mod:`ntkjam.problem`): ``A = diag(y) J``, ``b = κ − y ∘ f0``,
``Δ(w) = b − A w``; the loss is ``L(w) = (1/N) Σ_i ½ max(0, Δ_i)²`` and the constraint
``‖w‖² = R²`` (``R² = norm``, default P, so that with rows of covariance I/P every field
``y_i J_i·w`` has unit variance, the convention of :func:`ntkjam.theory.rs_unsat_spherical`).

For κ < 0 (with f0 = 0) the problem is non-convex: each constraint forbids a
spherical cap ``{y_i J_i·w < κ}`` (the "particle"), and the sphere minus a cap is not
convex.  Its SAT/UNSAT point is a jamming transition (Franz, Parisi, Sevelev, Urbani,
Zamponi, SciPost Phys. 2, 019 (2017)); see ``docs/jamming_sphere.md``.

:func:`minimize_on_sphere` — — Riemannian conjugate gradient (Polak–Ribière+, restarts)
  on the sphere with the retraction ``w ← R w/‖w‖``, an Armijo backtracking line search
  started from the minimiser of the local quadratic model (the generalised Hessian of
  L minus the Lagrange multiplier's curvature), and a Newton polish on the tangent
  space once the active set has settled (the Riemannian Hessian shifted until it is
  positive definite; the steps are in :mod:`ntkjam.jamming.sphere_steps`).  It finds a
  *local* minimum.  :func:`ntkjam.jamming.compression.compress_margin` finds the
  jamming point by a sequence of such minimisations.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ntkjam._validate import as_float_array, as_int, as_real, as_seed
from ntkjam.core.reprs import SummaryRepr
from ntkjam.core.status import Status
from ntkjam.core.threads import one_blas_thread
from ntkjam.jamming.certificates import offset_scale, readonly, rounding_bound
from ntkjam.jamming.minimum import contact_fields
from ntkjam.jamming.sphere_steps import (
    EPS,
    LineResult,
    NewtonCache,
    SphereGeometry,
    cg_line_search,
    evaluate,
    geometry,
    gradient,
    is_sat,
    loss_noise,
    newton_step,
    saddle_escape,
    tangent,
)
from ntkjam.problem import Problem

__all__ = ["SphereMinimum", "minimize_on_sphere"]


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

    Examples
    --------
    >>> m = minimize_on_sphere(Problem(J=np.eye(2), y=np.array([1.0, -1.0]), margin=2.0), norm=1)
    >>> m.status.value, m.n_unsat, np.round(m.w * np.sqrt(2), 6).tolist()  # w = (1, −1)/√2
    ('unsat', 2, [1.0, -1.0])
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


_MAX_STALL = 200  # steps without a decrease beyond rounding: the loss is flat
_REFRESH = 20  # steps between exact products A w (the line searches use a recurrence)


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


def _polak_ribiere(rg, old_rg, old_dir, w, R2):
    """Polak–Ribière+ direction, the old vectors transported by projection onto T_w."""
    denom = float(old_rg @ old_rg)
    moved = tangent(old_rg, w, R2)
    beta = max(0.0, float(rg @ (rg - moved)) / denom) if denom > 0 else 0.0
    return -rg + beta * tangent(old_dir, w, R2)


@dataclass
class _Iterate:
    """The current point of a descent: ``w``, ``A w``, Δ, loss, g and the Riemannian g."""

    w: np.ndarray
    Aw: np.ndarray
    d: np.ndarray
    loss: float
    g: np.ndarray
    rg: np.ndarray
    since: int = 0  # steps since A w was last computed exactly

    @classmethod
    def exact(cls, geo: SphereGeometry, w: np.ndarray) -> _Iterate:
        Aw = geo.A @ w
        d, loss = evaluate(geo, Aw)
        g = gradient(geo, d)
        return cls(w, Aw, d, loss, g, tangent(g, w, geo.R2))

    @classmethod
    def moved(cls, geo: SphereGeometry, found: LineResult, g: np.ndarray | None,
              since: int) -> _Iterate:
        if since >= _REFRESH:
            return cls.exact(geo, found.w)
        g = gradient(geo, found.d) if g is None else g
        return cls(found.w, found.Aw, found.d, found.loss, g, tangent(g, found.w, geo.R2),
                   since)


def _stop(x: _Iterate, geo: SphereGeometry, gn: float, g_thr: float, it: int):
    """The NaN, SAT and UNSAT (first-order) rules: ``(status, message)`` or None."""
    if not np.isfinite(x.loss):
        return Status.NAN, f"the loss is not finite at step {it}"
    if is_sat(geo, x.w, x.d):
        return Status.SAT, f"every margin met at step {it}"
    if gn <= g_thr:
        return Status.UNSAT, f"Riemannian gradient {gn:.3g} <= {g_thr:.3g} at step {it}"
    return None


def _flat_stop(x: _Iterate, geo: SphereGeometry, scale: float, grad_tol: float,
               failed: bool, it: int):
    """Flat to rounding: UNSAT if the (exact) gradient is within 100× the threshold."""
    gn = float(np.linalg.norm(x.rg))
    g_thr = grad_tol * scale * np.sqrt(2.0 * x.loss) / geo.R
    status = Status.UNSAT if gn <= 100 * g_thr else Status.BUDGET
    why = "line search failed" if failed else f"stalled {_MAX_STALL} steps"
    return status, (f"{why} at step {it}, the loss flat to rounding (Riemannian "
                    f"gradient {gn:.3g}, threshold {g_thr:.3g})"), g_thr


def _descend(geo, w, scale, max_iter, grad_tol, newton, newton_after):
    """Conjugate gradient with Newton polish from ``w`` (on the sphere) until a rule holds.

    Returns ``(iterate, status, message, steps, threshold)``.
    """
    cache = NewtonCache(geo.A)
    x = _Iterate.exact(geo, w)
    direction = -x.rg
    prev, same, stalled, streak, step, it = None, 0, 0, False, 1.0, 0
    best = float("inf")  # the smallest Riemannian gradient after a Newton step
    status, message = Status.BUDGET, f"max_iter = {max_iter} steps taken"
    while True:
        gn = float(np.linalg.norm(x.rg))
        g_thr = grad_tol * scale * np.sqrt(2.0 * x.loss) / geo.R
        stop = _stop(x, geo, gn, g_thr, it)
        if stop is not None and x.since > 0:  # decide on the exact A w, never the recurrence
            x = _Iterate.exact(geo, x.w)
            continue
        if stop is not None:
            status, message = stop
            break
        if it >= max_iter:
            break
        it += 1
        active = x.d > 0
        lam = float(x.g @ x.w) / geo.R2
        # The active set has settled when at most 1 % of it changed in a step.
        settled = prev is not None and (
            np.count_nonzero(active != prev) <= max(1, int(prev.sum()) // 100))
        same = same + 1 if settled else 0
        prev = active
        if newton and (streak or same >= newton_after):
            out = newton_step(geo, cache, x.w, x.Aw, x.d, active, lam, x.rg, x.loss)
            streak = out is not None and out[0].t == 1.0  # the full step: Newton's regime
            if out is not None:
                new = _Iterate.moved(geo, out[0], out[1], x.since + 1)
                # Progress: a decrease beyond the loss's rounding, or the gradient below half
                # its best so far (else Newton polishes for ever a point whose gradient
                # sits at its rounding floor, just above the threshold).
                gain = x.loss - new.loss > loss_noise(geo, x.d)
                g_new = float(np.linalg.norm(new.rg))
                stalled = 0 if gain or g_new < 0.5 * best else stalled + 1
                best = min(best, g_new)
                x, direction = new, -new.rg
                if stalled < _MAX_STALL:
                    continue
                x = _Iterate.exact(geo, x.w)
                status, message, g_thr = _flat_stop(x, geo, scale, grad_tol, False, it)
                break
            same = 0
        slope = float(x.rg @ direction)
        if slope >= 0:  # not a descent direction: restart with the gradient
            direction = -x.rg
            slope = -float(x.rg @ x.rg)
        found = cg_line_search(geo, x.w, x.Aw, direction, geo.A @ direction, active, lam,
                               x.loss, slope, step)
        progress = found is not None and found.loss < x.loss * (1 - 64 * EPS)
        stalled = 0 if progress else stalled + 1
        if found is None or stalled >= _MAX_STALL:
            x = _Iterate.exact(geo, x.w)
            status, message, g_thr = _flat_stop(x, geo, scale, grad_tol, found is None, it)
            break
        old_rg, old_dir, step = x.rg, direction, found.t
        x = _Iterate.moved(geo, found, None, x.since + 1)
        direction = _polak_ribiere(x.rg, old_rg, old_dir, x.w, geo.R2)
    return x, status, message, it, g_thr


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
    rank: int | None = None,
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
        Polish with Newton steps on the tangent space once the active set has been
        unchanged for ``newton_after`` steps, and after each accepted Newton step: the
        Riemannian Hessian ``Π(A_SᵀA_S/N − λI)Π``, shifted by μI when it is not
        positive definite (see :mod:`ntkjam.jamming.sphere_steps`).
    newton_after : int
        See ``newton``.
    escapes : int
        How many times an UNSAT stop may be re-examined: if the Riemannian Hessian
        ``Π(A_SᵀA_S/N − λI)Π`` has a negative eigenvalue there (a saddle flat to
        rounding, common near jamming, where λ is tiny), step along it and minimise
        again.  A returned UNSAT point has passed this second-order test unless the
        escapes ran out.
    rank : int, optional
        ``problem.rank`` when the caller already knows it (a sequence of minimisations
        on the same features, as in :func:`ntkjam.jamming.compress_margin`): saves its SVD.

    Returns
    -------
    SphereMinimum

    Examples
    --------
    >>> J, y = np.random.default_rng(0).standard_normal((20, 10)) / 10**0.5, np.resize([1., -1], 20)
    >>> [minimize_on_sphere(Problem(J=J, y=y, margin=k)).status.value for k in (-0.5, 1.5)]
    ['sat', 'unsat']
    """
    P = problem.n_features
    R2 = float(P) if norm is None else as_real("norm", norm, positive=True)
    seed = as_seed("seed", seed)
    max_iter = as_int("max_iter", max_iter, minimum=0)
    grad_tol = as_real("grad_tol", grad_tol, positive=True)
    tol = as_real("tol", tol, nonnegative=True)
    newton_after = as_int("newton_after", newton_after, minimum=1)
    escapes = as_int("escapes", escapes, minimum=0)
    rank = None if rank is None else as_int("rank", rank, minimum=0)
    with one_blas_thread():  # small dense solves: threads only slow them down
        geo = geometry(problem, R2, tol)
        scale = offset_scale(geo.b)
        w = _retract(_start(w0, seed, P), geo.R)
        total = 0
        for left in range(escapes, -1, -1):
            x, status, message, it, g_thr = _descend(geo, w, scale, max_iter - total, grad_tol,
                                                     bool(newton), newton_after)
            total += it
            if status != Status.UNSAT or left == 0:
                break
            # A saddle flat to rounding: leave it along the negative curvature, minimise again.
            w_esc = saddle_escape(geo, x.w, x.d, float(x.g @ x.w) / R2, x.loss)
            if w_esc is None:
                break
            w = w_esc
        return sphere_minimum(problem, x.w, norm=R2, status=status, iterations=total, tol=tol,
                              grad_threshold=g_thr, message=message, rank=rank)


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
    rank: int | None = None,
) -> SphereMinimum:
    """Every observable of a point ``w`` on the sphere, evaluated on the problem itself.

    ``rank`` is ``problem.rank`` when the caller already knows it (computed otherwise).
    """
    abs_tol = tol * offset_scale(problem.offsets)
    delta = problem.deltas(w)
    band = abs_tol + rounding_bound(problem, w)
    r = np.maximum(delta, 0.0)
    g = -(problem.features().T @ (problem.y * r)) / problem.n_points
    lam = float(g @ w) / float(w @ w)
    return SphereMinimum(
        status=status,
        loss=problem.loss(w),
        w=readonly(w),
        norm=float(norm),
        **contact_fields(delta, band, problem.rank if rank is None else int(rank)),
        iterations=iterations,
        grad_norm=float(np.linalg.norm(g - lam * w)),
        grad_threshold=float(grad_threshold),
        tol=abs_tol,
        multiplier=lam,
        message=message,
    )
