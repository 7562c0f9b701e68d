"""The exact end points of training the lazy model: MSE, kernel and quadratic-hinge fits.

The lazy model is ``f = f0 + J w`` (J the (N, P) features, f0 the offset).  Training
it by gradient flow from ``w = 0`` on ``L(w) + (λ/2)‖w‖²``, with ntkjam's loss
``L = (1/N) Σ_i ℓ_i``, ends where these functions say, without integrating a flow:

* :func:`mse_fit` — MSE, ``ℓ = ½ (f − y)²``.  λ > 0: the ridge solution
  ``w = (JᵀJ + NλI)⁻¹ Jᵀ(y − f0)``; λ = 0: the minimum-norm least-squares solution
  (the minimum-norm interpolant when rank J = N, least squares otherwise), which is
  the flow's limit from ``w = 0`` (the flow never leaves range(Jᵀ)).
* :func:`kernel_fit` — the same with infinitely many features: kernel ridge(less)
  regression with ``K = J Jᵀ``.
* :func:`hinge_ridge_fit` — the quadratic hinge ``ℓ = ½ max(0, κ − y f)²`` with
  λ > 0: the unique minimiser, by finite Newton with an exact line search on the
  piecewise-quadratic objective (it ends when the active set repeats: exact).
* :func:`hinge_min_norm_fit` — the quadratic hinge with λ = 0: the **minimum-norm
  minimiser**, the limit λ → 0⁺ of the ridge solutions.  The verdict comes from
  :func:`ntkjam.jamming.minimize_quadratic_hinge` (certified both ways; the LP when it
  cannot certify).  UNSAT: the residuals ``max(0, Δ)`` are the same at every minimiser,
  so when the violated rows span range(Jᵀ) the minimiser in range(Jᵀ) is unique — it is
  the projection of the solver's minimiser, and the gradient flow from ``w = 0`` ends
  there too (otherwise the projection is kept and flagged as not exact).  SAT: the
  minimum-norm separating solution ``min ‖w‖, y_i f_i ≥ κ`` (the hard-margin SVM in
  the features), exactly, by least-distance programming (:func:`least_distance`).  The flow
  from ``w = 0`` stops instead at the first separating point it reaches, which depends
  on the path; the minimum-norm one is the choice that is defined by the problem alone.

The members of a generalization task that use them are in
:mod:`ntkjam.experiments.generalization_fits`, which re-exports every name here.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.linalg

from ntkjam.core.reprs import SummaryRepr

__all__ = ["MAX_NEWTON", "POLISH_STEPS", "ROUNDING", "SAT_TOL", "HingeFit", "hinge_min_norm_fit",
           "hinge_ridge_fit", "kernel_fit", "least_distance", "mse_fit"]

#: Largest number of Newton steps of :func:`hinge_ridge_fit`.
MAX_NEWTON = 500
#: Margin violation (relative to max |κ − y f0|) below which a SAT minimiser is exact.
SAT_TOL = 1e-6
#: The polished hard-margin point must meet the margins within ROUNDING · SAT_TOL.
ROUNDING = 1e-3
#: Largest number of support changes when polishing the hard-margin solution.
POLISH_STEPS = 20


def mse_fit(J: np.ndarray, residual: np.ndarray, ridge: float) -> np.ndarray:
    """``argmin_w (1/N) ‖residual − J w‖² + λ ‖w‖²`` (λ = 0: the minimum-norm solution).

    Parameters
    ----------
    J : numpy.ndarray, shape (N, P)
        Features.
    residual : numpy.ndarray, shape (N,)
        ``y − f0``.
    ridge : float
        λ ≥ 0.

    Returns
    -------
    numpy.ndarray, shape (P,)
        w, in range(Jᵀ).

    Examples
    --------
    N = 3 < P = 5: without ridge, the minimum-norm interpolant (the pseudo-inverse);
    a ridge shrinks it:

    >>> import numpy as np
    >>> from ntkjam.experiments.lazy_fit import mse_fit
    >>> rng = np.random.default_rng(0)
    >>> J, r = rng.standard_normal((3, 5)), rng.standard_normal(3)
    >>> w = mse_fit(J, r, 0.0)
    >>> w.shape, np.allclose(J @ w, r), np.allclose(w, np.linalg.pinv(J) @ r)
    ((5,), True, True)
    >>> bool(np.linalg.norm(mse_fit(J, r, 0.1)) < np.linalg.norm(w))
    True
    """
    n, p = J.shape
    if ridge == 0.0:
        return np.linalg.lstsq(J, residual, rcond=None)[0]
    if n <= p:
        G = J @ J.T
        G[np.diag_indices(n)] += n * ridge
        return J.T @ scipy.linalg.solve(G, residual, assume_a="pos")
    H = J.T @ J
    H[np.diag_indices(p)] += n * ridge
    return scipy.linalg.solve(H, J.T @ residual, assume_a="pos")


def kernel_fit(K: np.ndarray, y: np.ndarray, ridge: float) -> np.ndarray:
    """Coefficients ``c = (K + NλI)⁻¹ y`` of kernel ridge(less) regression ``f = K(·, X) c``.

    The limit P → ∞ of :func:`mse_fit` with ``K = J Jᵀ`` (f0 = 0); λ = 0 solves
    ``K c = y`` (least squares when K is singular).

    Parameters
    ----------
    K : numpy.ndarray, shape (N, N)
        Kernel on the training points, positive semi-definite.
    y : numpy.ndarray, shape (N,)
        Targets.
    ridge : float
        λ ≥ 0.

    Returns
    -------
    numpy.ndarray, shape (N,)
        c; the fit on the training points is ``K c``.

    Examples
    --------
    With ``K = J Jᵀ`` the fit is :func:`mse_fit`'s, ``w = Jᵀ c``:

    >>> import numpy as np
    >>> from ntkjam.experiments.lazy_fit import kernel_fit, mse_fit
    >>> rng = np.random.default_rng(0)
    >>> J, y = rng.standard_normal((3, 5)), rng.standard_normal(3)
    >>> c = kernel_fit(J @ J.T, y, 0.1)
    >>> c.shape, np.allclose(J.T @ c, mse_fit(J, y, 0.1))
    ((3,), True)
    >>> np.allclose(J @ J.T @ kernel_fit(J @ J.T, y, 0.0), y)  # ridgeless: interpolates
    True
    """
    A = K + K.shape[0] * ridge * np.eye(K.shape[0])
    try:
        return scipy.linalg.solve(A, y, assume_a="pos")
    except (np.linalg.LinAlgError, scipy.linalg.LinAlgError):
        return np.linalg.lstsq(A, y, rcond=None)[0]


@dataclass(frozen=True, repr=False)
class HingeFit(SummaryRepr):
    """A minimiser of the quadratic hinge over ``w`` (with or without ridge).

    Attributes
    ----------
    verdict : str
        ``"sat"`` or ``"unsat"`` of the problem without ridge (certified by the exact
        solver); ``""`` when not determined (ridge fits do not need it).
    w : numpy.ndarray, shape (P,)
    exact : bool
        Whether ``w`` is the minimum-norm minimiser up to rounding (False: a minimiser
        of the loss that may not be the one of least norm; see the module docstring).
    iterations : int
        Newton steps of the ridge solver (0 without ridge).
    rank : int
        Rank of J (0 when not computed).

    Examples
    --------
    :func:`hinge_min_norm_fit` returns one; its summary shows the array's shape only:

    >>> import numpy as np
    >>> from ntkjam.experiments.lazy_fit import HingeFit
    >>> HingeFit(verdict="sat", w=np.zeros(3), exact=True, iterations=0, rank=3)
    HingeFit(verdict='sat', exact=True, iterations=0, rank=3, w=<array (3,) float64>)
    """

    verdict: str
    w: np.ndarray
    exact: bool
    iterations: int
    rank: int


def _line_search(delta: np.ndarray, c: np.ndarray, wd: float, dd: float, lam: float,
                 n: int) -> float:
    """Exact minimiser t ≥ 0 of ``(1/2N) Σ max(0, Δ_i − t c_i)² + (λ/2)‖w + t d‖²``.

    The derivative ``a + b t`` is piecewise linear and non-decreasing in t; it is
    followed from t = 0⁺ across the times ``Δ_i/c_i`` where a term switches on or off.
    """
    active = (delta > 0.0) | ((delta == 0.0) & (c < 0.0))
    with np.errstate(divide="ignore", invalid="ignore"):
        t_switch = np.where(c != 0.0, delta / c, -1.0)
    later = np.flatnonzero(t_switch > 0.0)
    later = later[np.argsort(t_switch[later], kind="stable")]
    a = -float(np.dot(delta[active], c[active])) / n + lam * wd
    b = float(np.dot(c[active], c[active])) / n + lam * dd
    t = 0.0
    for k in [*later.tolist(), -1]:
        nxt = np.inf if k < 0 else float(t_switch[k])
        root = -a / b if b > 0.0 else (t if a >= 0.0 else np.inf)
        if root <= nxt:
            return max(root, t)
        t = nxt
        sign = -1.0 if active[k] else 1.0  # the term leaves (−) or joins (+) the sum
        active[k] = not active[k]
        a += sign * (-delta[k] * c[k] / n)
        b += sign * (c[k] * c[k] / n)
    return t


def hinge_ridge_fit(J: np.ndarray, y: np.ndarray, f0: np.ndarray, margin: float,
                    ridge: float, w_start: np.ndarray | None = None) -> tuple[np.ndarray, int]:
    """``argmin_w (1/N) Σ ½ max(0, κ − y_i (f0 + J w)_i)² + (λ/2)‖w‖²``, λ > 0.

    Finite Newton (Keerthi & DeCoste 2005): on the active set S = {Δ_i > 0} the
    objective is a ridge least-squares problem, solved exactly (in the smaller of the
    (|S|, |S|) and (P, P) forms); an exact line search follows.  It stops when the
    active set repeats after a full step, or when the gradient is at its rounding level:
    the point is then the minimiser.

    Parameters
    ----------
    J : numpy.ndarray, shape (N, P)
        Features.
    y : numpy.ndarray, shape (N,)
        ±1 labels.
    f0 : numpy.ndarray, shape (N,)
        Offset.
    margin : float
        κ.
    ridge : float
        λ > 0.
    w_start : numpy.ndarray, shape (P,), optional
        Starting point (default 0).

    Returns
    -------
    (w, iterations) : (numpy.ndarray of shape (P,), int)

    Raises
    ------
    RuntimeError
        No repeat of the active set within :data:`MAX_NEWTON` steps.

    Examples
    --------
    The end point is stationary: ``−Aᵀ max(0, Δ)/N + λ w = 0`` with ``A = y J``:

    >>> import numpy as np
    >>> from ntkjam.experiments.lazy_fit import hinge_ridge_fit
    >>> rng = np.random.default_rng(0)
    >>> J, y = rng.standard_normal((8, 3)), np.sign(rng.standard_normal(8))
    >>> w, steps = hinge_ridge_fit(J, y, np.zeros(8), margin=1.0, ridge=0.1)
    >>> A = y[:, None] * J
    >>> grad = -A.T @ np.maximum(1.0 - A @ w, 0.0) / 8 + 0.1 * w
    >>> w.shape, steps >= 1, np.allclose(grad, 0.0, atol=1e-12)
    ((3,), True, True)
    """
    n, p = J.shape
    A = y[:, None] * J
    b = margin - y * f0
    w = np.zeros(p) if w_start is None else np.array(w_start, dtype=np.float64)
    previous = None
    # rounding level of the gradient −Aᵀ max(0, Δ)/N + λ w
    gtol = 1e-13 * (float(np.linalg.norm(A)) * float(np.linalg.norm(b)) / n)
    for it in range(1, MAX_NEWTON + 1):
        delta = b - A @ w
        S = delta > 0.0
        key = S.tobytes()
        grad = -(A.T @ np.where(S, delta, 0.0)) / n + ridge * w
        if key == previous or float(np.linalg.norm(grad)) <= gtol:
            return w, it - 1
        As, bs = A[S], b[S]
        if As.shape[0] < p:
            G = As @ As.T
            G[np.diag_indices(G.shape[0])] += n * ridge
            target = As.T @ scipy.linalg.solve(G, bs, assume_a="pos")
        else:
            H = As.T @ As
            H[np.diag_indices(p)] += n * ridge
            target = scipy.linalg.solve(H, As.T @ bs, assume_a="pos")
        d = target - w
        t = _line_search(delta, A @ d, float(w @ d), float(d @ d), ridge, n)
        w = w + t * d
        previous = key if t >= 1.0 - 1e-12 else None
    raise RuntimeError(f"quadratic-hinge ridge solver: no convergence in {MAX_NEWTON} steps "
                       f"(N = {n}, P = {p}, ridge = {ridge:g})")


def least_distance(A: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``min ‖w‖ subject to A w ≥ b`` (least-distance programming), exactly.

    Lawson & Hanson's reduction to non-negative least squares (*Solving Least Squares
    Problems*, ch. 23): with ``E = [Aᵀ; bᵀ]`` and ``f = (0, …, 0, 1)``, the NNLS
    solution u ≥ 0 of ``min ‖E u − f‖`` gives ``r = E u − f`` and ``w = −r_{:P}/r_P``;
    the constraints with u_i > 0 are the active ones (the support vectors).  A second
    pass with b rescaled by 1/‖w‖ keeps ``r_P`` of order one: accurate also when the
    solution's norm is large (near jamming).

    Parameters
    ----------
    A : numpy.ndarray, shape (N, P)
        Constraint rows.
    b : numpy.ndarray, shape (N,)
        Bounds.

    Returns
    -------
    (w, support) : (numpy.ndarray of shape (P,), boolean numpy.ndarray of shape (N,))

    Raises
    ------
    ValueError
        The constraints cannot all be met (‖r‖ = 0).

    Examples
    --------
    ``w₁ ≥ 1, w₂ ≥ −2``: the second constraint is not active at the shortest w:

    >>> import numpy as np
    >>> from ntkjam.experiments.lazy_fit import least_distance
    >>> w, support = least_distance(np.eye(2), np.array([1.0, -2.0]))
    >>> np.allclose(w, [1.0, 0.0]), support
    (True, array([ True, False]))
    """
    import scipy.optimize

    n, p = A.shape
    E = np.vstack([A.T, b[None, :]])
    f = np.zeros(p + 1)
    f[-1] = 1.0
    w, u = np.zeros(p), np.zeros(n)
    for scale in (1.0, None):  # second pass: b rescaled so that the solution has norm ~1
        c = 1.0 if scale else 1.0 / max(float(np.linalg.norm(w)), np.finfo(float).tiny)
        E[-1] = c * b
        u, _ = scipy.optimize.nnls(E, f, maxiter=max(100 * n, 1000))
        r = E @ u - f
        if not abs(r[-1]) > 1e-300:
            raise ValueError("least_distance: the constraints A w >= b cannot all be met")
        w = -r[:p] / (r[-1] * c)
    return w, u > 0


def _on_support(A: np.ndarray, b: np.ndarray, S: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(w, β)``: the minimum-norm solution ``w = A_Sᵀ β`` of ``A_S w = b_S``, with one
    step of iterative refinement (the support Gram is ill-conditioned near jamming)."""
    As = A[S]
    G = As @ As.T
    beta = np.linalg.lstsq(G, b[S], rcond=None)[0]
    beta = beta + np.linalg.lstsq(G, b[S] - G @ beta, rcond=None)[0]
    return As.T @ beta, beta


def _polish_sat(A: np.ndarray, b: np.ndarray, w: np.ndarray, support: np.ndarray,
                tol: float) -> tuple[np.ndarray, bool]:
    """The hard-margin solution from an approximate one, by an active-set refinement.

    Starting from the support vectors of ``w``, the support margins are made exact (the
    minimum-norm solution of ``A_S w = b_S``); a negative multiplier leaves the support,
    the most violated margin joins it, until the KKT conditions hold (multipliers ≥ 0,
    every margin within ``ROUNDING · tol``; at most :data:`POLISH_STEPS` changes).  Returns
    that point, or else the given ``w``, and whether the returned point meets every
    margin within ``tol``.
    """
    S = support.copy()
    for _ in range(POLISH_STEPS):
        if not np.any(S):
            return w, False
        wp, beta = _on_support(A, b, S)
        viol = b - A @ wp
        scale = max(float(np.max(np.abs(beta))), np.finfo(float).tiny)
        neg = beta < -1e-10 * scale
        if not np.any(neg) and float(np.max(viol)) <= ROUNDING * tol:
            return wp, True
        if np.any(neg):
            S[np.flatnonzero(S)[int(np.argmin(beta))]] = False
        else:
            S[int(np.argmax(viol))] = True
    return w, bool(np.max(b - A @ w) <= tol)


def hinge_min_norm_fit(J: np.ndarray, y: np.ndarray, f0: np.ndarray,
                       margin: float) -> HingeFit:
    """The minimum-norm minimiser of ``(1/N) Σ ½ max(0, κ − y_i (f0 + J w)_i)²``.

    See the module docstring for the two phases.

    Parameters
    ----------
    J : numpy.ndarray, shape (N, P)
        Features.
    y : numpy.ndarray, shape (N,)
        ±1 labels.
    f0 : numpy.ndarray, shape (N,)
        Offset.
    margin : float
        κ > 0.

    Returns
    -------
    HingeFit
        ``w`` of shape (P,).

    Raises
    ------
    ValueError
        Neither the Newton solver nor the LP can certify a verdict.

    Examples
    --------
    N = 4 < P = 8: SAT, and the hard-margin solution has its closest margin exactly κ:

    >>> import numpy as np
    >>> from ntkjam.experiments.lazy_fit import hinge_min_norm_fit
    >>> rng = np.random.default_rng(0)
    >>> J, y = rng.standard_normal((4, 8)), np.array([1.0, -1.0, 1.0, -1.0])
    >>> fit = hinge_min_norm_fit(J, y, np.zeros(4), margin=1.0)
    >>> fit.verdict, fit.exact, fit.rank, bool(np.isclose(np.min(y * (J @ fit.w)), 1.0))
    ('sat', True, 4, True)

    N = 20 > 2P = 6: UNSAT (Cover), and w is a minimum: the gradient of the loss vanishes:

    >>> J, y = rng.standard_normal((20, 3)), np.sign(rng.standard_normal(20))
    >>> fit = hinge_min_norm_fit(J, y, np.zeros(20), margin=1.0)
    >>> grad = -J.T @ (y * np.maximum(1.0 - y * (J @ fit.w), 0.0)) / 20
    >>> fit.verdict, fit.w.shape, np.allclose(grad, 0.0, atol=1e-10)
    ('unsat', (3,), True)
    """
    from ntkjam.jamming import lp_certificate, minimize_quadratic_hinge
    from ntkjam.linalg import numerical_rank
    from ntkjam.problem import from_features

    problem = from_features(J, y, f0=f0, margin=margin)
    res = minimize_quadratic_hinge(problem)
    verdict = res.verdict
    if verdict == "unknown":
        verdict = lp_certificate(problem).verdict
        if verdict == "unknown":
            raise ValueError(f"no verified SAT/UNSAT certificate for N = {J.shape[0]}, "
                             f"P = {J.shape[1]}")
    rank = int(res.rank)
    n, p = J.shape
    A, b = y[:, None] * J, margin - y * f0
    tol = SAT_TOL * max(float(np.max(np.abs(b))), np.finfo(float).tiny)
    if verdict == "unsat":
        w = np.linalg.lstsq(J, np.asarray(res.outputs) - f0, rcond=None)[0]
        violated = np.asarray(res.deltas) > res.tol
        # unique in range(Jᵀ) when the violated rows span it (general position)
        exact = numerical_rank(J[violated]) == rank
        return HingeFit(verdict=verdict, w=w, exact=exact, iterations=0, rank=rank)
    w, support = least_distance(A, b)
    w, exact = _polish_sat(A, b, w, support, tol)
    return HingeFit(verdict=verdict, w=w, exact=exact, iterations=0, rank=rank)
