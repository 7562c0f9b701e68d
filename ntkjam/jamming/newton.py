"""The finite Newton (active-set) method for ½‖max(0, b − A z)‖², in solver coordinates.

It knows nothing of the problem object: (A, b) in, (z, Δ) out.  The observables are
evaluated on the problem itself by :mod:`ntkjam.jamming.minimum`.
"""

from __future__ import annotations

import math

import numpy as np
import scipy.linalg

# Satisfied points within this many rounding levels of the boundary are held in place
# by the Newton step (see finite_newton).
HOLD_BAND = 1e6


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

    Examples
    --------
    >>> import numpy as np
    >>> from ntkjam.jamming.newton import exact_line_search
    >>> exact_line_search(np.array([1.0, 1.0]), np.array([1.0, 1.0]))   # both reach Δ = 0
    1.0
    >>> exact_line_search(np.array([2.0, 1.0]), np.array([1.0, -1.0]))  # ½[(2−t)² + (1+t)²]
    0.5
    >>> exact_line_search(np.array([1.0, 3.0]), np.array([1.0, -1.0]))  # ascent: no step
    0.0
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


class DirectionSolver:
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


def finite_newton(
    A: np.ndarray,
    b: np.ndarray,
    *,
    kkt_tol: float,
    max_iter: int,
    act_tol: float,
    solver: DirectionSolver,
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
    best = math.inf  # the smallest loss so far, and the repeated steps that did not lower it
    idle = 0
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
        held = delta > -HOLD_BAND * noise
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
        loss = float(np.sum(np.maximum(delta, 0.0) ** 2))
        # Newton steps on a repeated active set that no longer lower the loss beyond its
        # rounding: stationary to working precision, the KKT residual at the floor of
        # these coordinates (features from an eigendecomposition of an ill-conditioned
        # K stall there above kkt_tol; the certificates are checked apart).
        idle = idle + 1 if repeated and loss >= best * (1 - 64 * np.finfo(float).eps) else 0
        best = min(best, loss)
        if idle >= 3:
            converged = True
            break
        prev = S
    return z, delta, kkt, it, converged
