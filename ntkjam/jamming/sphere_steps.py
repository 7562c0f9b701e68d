"""The steps of the Riemannian minimiser of :mod:`ntkjam.jamming.sphere`.

Notation as there: ``A = diag(y) J`` (N, P), ``b = κ − y ∘ f0``, ``Δ = b − A w``, the
loss ``L = (1/N) Σ ½ max(0, Δ_i)²`` on the sphere ``‖w‖² = R²``; S = {Δ > 0} is the
active set, ``λ = g·w/R²`` the Lagrange multiplier (g the Euclidean gradient).

Two facts make the steps cheap:

* the retraction ``w ← R x/‖x‖`` is a rescaling, so along a search line
  ``A w(t) = c(t) (A w + t A d)``: one product ``A d`` per direction, and every trial of
  a line search costs O(N), not a product with A (the exact ``A w`` is recomputed every
  few steps and before any stop, so the recurrence's rounding never decides anything);
* the Newton step works on the tangent space in the basis of a Householder reflector
  ``Q`` (``Q w ∝ e_P``), where the Riemannian Hessian ``Π(A_SᵀA_S/N − λI)Π`` is the
  leading (P−1)×(P−1) block of ``Q H Q``.  That block is not positive definite while
  the active set is too small (the −λ of the sphere's curvature wins on the
  directions A_S does not see), so it is shifted by μ I, the smallest μ in
  0, max(|λ|, 1e−12 tr/P)·4^k for which a Cholesky factorisation succeeds: the step is
  then always a descent direction (pure Newton at a strict minimum, μ = 0), a
  Levenberg–Marquardt step otherwise.  ``A_SᵀA_S`` is updated by the rows that enter
  or leave S (:class:`NewtonCache`) instead of being recomputed.

The fixed data of a minimisation and the evaluations of a point (Δ, loss, gradient,
rounding, SAT test) are in :mod:`ntkjam.jamming.sphere_geometry`, re-exported here.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.linalg

from ntkjam.core.reprs import SummaryRepr
from ntkjam.jamming.sphere_geometry import (
    EPS,
    SphereGeometry,
    evaluate,
    geometry,
    gradient,
    is_sat,
    loss_noise,
    tangent,
)

__all__ = [
    "LineResult",
    "NewtonCache",
    "SphereGeometry",
    "cg_line_search",
    "evaluate",
    "geometry",
    "gradient",
    "is_sat",
    "loss_noise",
    "newton_step",
    "saddle_escape",
    "tangent",
]


@dataclass(frozen=True, repr=False)
class LineResult(SummaryRepr):
    """An accepted point of a line search: ``w``, its ``A w``, ``Δ``, loss and step ``t``.

    Examples
    --------
    >>> import numpy as np
    >>> from ntkjam.problem import Problem
    >>> from ntkjam.jamming import sphere_steps as ss
    >>> J = np.random.default_rng(0).standard_normal((6, 3))
    >>> geo = ss.geometry(Problem(J=J, y=np.resize([1.0, -1.0], 6), margin=1.0), 3.0, 1e-9)
    >>> w = np.array([1.0, 1.0, 1.0])  # on the sphere: ‖w‖² = R² = 3
    >>> d, loss = ss.evaluate(geo, geo.A @ w)
    >>> g = ss.gradient(geo, d)
    >>> direction = -ss.tangent(g, w, geo.R2)
    >>> slope = float(g @ direction)
    >>> res = ss.cg_line_search(geo, w, geo.A @ w, direction, geo.A @ direction, d > 0, 0.0,
    ...                         loss, slope, 1.0)
    >>> res.loss < loss, bool(np.isclose(res.w @ res.w, 3.0))
    (True, True)
    """

    w: np.ndarray
    Aw: np.ndarray
    d: np.ndarray
    loss: float
    t: float



def _along(geo: SphereGeometry, w, Aw, direction, Ad, t):
    """The retracted point ``w(t)`` and its ``A w(t)``, from ``A w`` and ``A d``."""
    x = w + t * direction
    c = geo.R / np.linalg.norm(x)
    return c * x, c * (Aw + t * Ad)


def cg_line_search(geo, w, Aw, direction, Ad, active, lam, loss, slope, step):
    """Armijo backtracking along the retraction, started at the quadratic model's minimum.

    The model's curvature along d is ``‖A_S d‖²/N − λ‖d‖²``; without positive
    curvature the first trial is twice the last step.  Returns a :class:`LineResult`
    or None (60 halvings without the Armijo decrease).

    Examples
    --------
    >>> import numpy as np
    >>> from ntkjam.problem import Problem
    >>> from ntkjam.jamming import sphere_steps as ss
    >>> J = np.random.default_rng(0).standard_normal((6, 3))
    >>> geo = ss.geometry(Problem(J=J, y=np.resize([1.0, -1.0], 6), margin=1.0), 3.0, 1e-9)
    >>> w = np.array([1.0, 1.0, 1.0])  # on the sphere: ‖w‖² = R² = 3
    >>> d, loss = ss.evaluate(geo, geo.A @ w)
    >>> g = ss.gradient(geo, d)
    >>> direction = -ss.tangent(g, w, geo.R2)
    >>> res = ss.cg_line_search(geo, w, geo.A @ w, direction, geo.A @ direction, d > 0,
    ...                         float(g @ w) / geo.R2, loss, float(g @ direction), 1.0)
    >>> res.loss < loss, res.w.shape, bool(np.isclose(res.w @ res.w, 3.0))
    (True, (3,), True)
    """
    Ads = Ad[active]
    curv = float(Ads @ Ads) / geo.n - lam * float(direction @ direction)
    t = -slope / curv if curv > 0 else 2.0 * step
    for _ in range(60):
        w_t, Aw_t = _along(geo, w, Aw, direction, Ad, t)
        d_t, loss_t = evaluate(geo, Aw_t)
        if loss_t <= loss + 1e-4 * t * slope:
            return LineResult(w_t, Aw_t, d_t, loss_t, t)
        t *= 0.5
    return None


class NewtonCache:
    """What consecutive Newton steps of one descent share.

    ``A_SᵀA_S`` for the active set S, updated by the rows that enter or leave S
    (recomputed when more than a quarter of S changed or after 50 updates, so the
    updates' rounding stays bounded), and ``mu``, the last shift of the Hessian.

    Examples
    --------
    >>> import numpy as np
    >>> from ntkjam.problem import Problem
    >>> from ntkjam.jamming import sphere_steps as ss
    >>> J = np.random.default_rng(0).standard_normal((6, 3))
    >>> geo = ss.geometry(Problem(J=J, y=np.resize([1.0, -1.0], 6), margin=1.0), 3.0, 1e-9)
    >>> w = np.array([1.0, 1.0, 1.0])  # on the sphere: ‖w‖² = R² = 3
    >>> d, loss = ss.evaluate(geo, geo.A @ w)
    >>> cache = ss.NewtonCache(geo.A)
    >>> active = d > 0
    >>> bool(np.allclose(cache.gram(active), geo.A[active].T @ geo.A[active]))
    True
    """

    def __init__(self, A: np.ndarray) -> None:
        self.A = A
        self.mask: np.ndarray | None = None
        self.G: np.ndarray | None = None
        self.updates = 0
        self.mu = 0.0

    def gram(self, active: np.ndarray) -> np.ndarray:
        """``A_SᵀA_S`` for the active set S (a shared array: do not modify it).

        Parameters
        ----------
        active : numpy.ndarray of bool, shape (N,)

        Returns
        -------
        numpy.ndarray, shape (P, P)

        Examples
        --------
        >>> NewtonCache(np.arange(6.0).reshape(3, 2)).gram(np.array([True, False, True]))
        array([[16., 20.],
               [20., 26.]])
        """
        if self.mask is not None and self.updates < 50:
            added = active & ~self.mask
            removed = self.mask & ~active
            k = int(added.sum() + removed.sum())
            if k == 0:
                return self.G
            if 4 * k <= int(active.sum()):
                Aa, Ar = self.A[added], self.A[removed]
                self.G = self.G + Aa.T @ Aa - Ar.T @ Ar
                self.mask = active.copy()
                self.updates += 1
                return self.G
        AS = self.A[active]
        self.G = AS.T @ AS
        self.mask = active.copy()
        self.updates = 0
        return self.G


def _reflector(w: np.ndarray) -> np.ndarray:
    """``v`` with ``(I − 2vvᵀ) w/‖w‖ = ∓e_P``: columns 1..P−1 of ``I − 2vvᵀ`` span T_w."""
    x = w / np.linalg.norm(w)
    x[-1] += np.copysign(1.0, x[-1])
    return x / np.linalg.norm(x)


def _tangent_block(H: np.ndarray, v: np.ndarray) -> np.ndarray:
    """The lower triangle of the leading (P−1)×(P−1) block of ``Q H Q`` (``Q = I − 2vvᵀ``).

    ``Q H Q = H − v aᵀ − a vᵀ`` with ``a = 2Hv − 2(vᵀHv) v``: one symmetric rank-2
    update, in place on ``H`` (symmetric, overwritten).  Only the lower triangle of the
    returned block is meaningful.
    """
    Hv = H @ v
    a = 2.0 * Hv - (2.0 * float(v @ Hv)) * v
    F = scipy.linalg.blas.dsyr2(-1.0, v, a, a=H.T, lower=1, overwrite_a=1)  # H.T: Fortran
    return F[:-1, :-1]


def _reflect(v: np.ndarray, x: np.ndarray) -> np.ndarray:
    return x - (2.0 * float(v @ x)) * v


def _shifted_newton(M: np.ndarray, q: np.ndarray, lam: float, cache: NewtonCache):
    """``−(M + μI)⁻¹ q`` for the smallest tried μ with ``M + μI`` positive definite.

    μ is tried from ``cache.mu / 4`` (0 when that is below μ₀ = max(|λ|, 1e−12 tr/P))
    upwards by factors of 4 from μ₀, at most 13 factorisations; the μ used is kept in
    the cache for the next step.  Only the lower triangle of M is read.
    """
    m = M.shape[0]
    mu0 = max(abs(lam), 1e-12 * max(float(np.trace(M)) / max(m, 1), 1e-300))
    mu = cache.mu / 4 if cache.mu / 4 >= mu0 else 0.0
    diag = np.diag_indices(m)
    for _ in range(13):
        S = np.array(M, order="F")
        S[diag] += mu
        try:
            c = scipy.linalg.cho_factor(S, lower=True, overwrite_a=True, check_finite=False)
        except np.linalg.LinAlgError:
            mu = mu0 if mu < mu0 else 4.0 * mu
            continue
        cache.mu = mu
        return scipy.linalg.cho_solve(c, -q, check_finite=False)
    return None


def newton_step(geo, cache: NewtonCache, w, Aw, d, active, lam, rg, loss):
    """A (shifted) Newton step on T_w for the active set, with a backtracking search.

    Accepted on the Armijo decrease, or — where the loss is flat to rounding
    (:func:`loss_noise`) — when the loss stays within rounding and the Riemannian
    gradient halves.  Returns ``(LineResult, g)`` or None.

    Examples
    --------
    >>> import numpy as np
    >>> from ntkjam.problem import Problem
    >>> from ntkjam.jamming import sphere_steps as ss
    >>> J = np.random.default_rng(0).standard_normal((6, 3))
    >>> geo = ss.geometry(Problem(J=J, y=np.resize([1.0, -1.0], 6), margin=1.0), 3.0, 1e-9)
    >>> w = np.array([1.0, 1.0, 1.0])  # on the sphere: ‖w‖² = R² = 3
    >>> d, loss = ss.evaluate(geo, geo.A @ w)
    >>> g = ss.gradient(geo, d)
    >>> lam = float(g @ w) / geo.R2
    >>> out = ss.newton_step(geo, ss.NewtonCache(geo.A), w, geo.A @ w, d, d > 0, lam,
    ...                      ss.tangent(g, w, geo.R2), loss)
    >>> out[0].loss < loss, out[1].shape
    (True, (3,))
    """
    P = w.shape[0]
    if P < 2:
        return None
    H = cache.gram(active) / geo.n
    H[np.diag_indices(P)] -= lam
    v = _reflector(w)
    z = _shifted_newton(_tangent_block(H, v), _reflect(v, rg)[:-1], lam, cache)
    if z is None:
        return None
    xi = _reflect(v, np.append(z, 0.0))
    slope = float(rg @ xi)
    if not (np.all(np.isfinite(xi)) and slope < 0):
        return None
    gn = float(np.linalg.norm(rg))
    floor = loss + loss_noise(geo, d)
    Axi = geo.A @ xi
    t = 1.0
    for _ in range(30):
        w_t, Aw_t = _along(geo, w, Aw, xi, Axi, t)
        d_t, loss_t = evaluate(geo, Aw_t)
        if loss_t <= loss + 1e-4 * t * slope:
            return LineResult(w_t, Aw_t, d_t, loss_t, t), gradient(geo, d_t)
        if loss_t <= floor:
            g_t = gradient(geo, d_t)
            if np.linalg.norm(tangent(g_t, w_t, geo.R2)) < 0.5 * gn:
                return LineResult(w_t, Aw_t, d_t, loss_t, t), g_t
        t *= 0.5
    return None


def saddle_escape(geo, w, d, lam, loss):
    """A point of lower loss along the most negative curvature of the Riemannian Hessian.

    The Hessian on T_w is ``Π(A_SᵀA_S/N − λI)Π``; at a minimum it is PSD.  Returns None
    when its smallest eigenvalue is above ``−1e3·ε·max(‖H‖_F, 1)`` (a minimum, to
    rounding) or no step along it lowers the loss.

    Examples
    --------
    >>> import numpy as np
    >>> from ntkjam.problem import Problem
    >>> from ntkjam.jamming import sphere_steps as ss
    >>> J = np.random.default_rng(0).standard_normal((6, 3))
    >>> geo = ss.geometry(Problem(J=J, y=np.resize([1.0, -1.0], 6), margin=1.0), 3.0, 1e-9)
    >>> from ntkjam.jamming import minimize_on_sphere
    >>> m = minimize_on_sphere(Problem(J=J, y=np.resize([1.0, -1.0], 6), margin=1.0), norm=3.0)
    >>> d, loss = ss.evaluate(geo, geo.A @ m.w)
    >>> m.status.value, ss.saddle_escape(geo, m.w, d, m.multiplier, loss) is None  # a minimum
    ('unsat', True)
    """
    P = w.shape[0]
    if P < 2:
        return None
    AS = geo.A[d > 0]
    H = AS.T @ AS / geo.n
    H[np.diag_indices(P)] -= lam
    v = _reflector(w)
    M = _tangent_block(H, v)  # lower triangle
    low = np.tril(M)
    frob = np.sqrt(max(2.0 * float(np.sum(low * low)) - float(np.sum(np.diag(M) ** 2)), 0.0))
    mu, V = scipy.linalg.eigh(M, lower=True, subset_by_index=[0, 0], check_finite=False)
    if not mu[0] < -1e3 * EPS * max(frob, 1.0):
        return None
    e = _reflect(v, np.append(V[:, 0], 0.0)) * geo.R
    for t in (1e-2, 1e-3, 1e-4, 1e-5, 1e-6):
        for sign in (1.0, -1.0):
            x = w + sign * t * e
            w_try = x * (geo.R / np.linalg.norm(x))
            if evaluate(geo, geo.A @ w_try)[1] < loss:
                return w_try
    return None
