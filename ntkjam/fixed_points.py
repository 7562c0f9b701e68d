"""Fixed points of the function-space flow ḟ = −η K ∇_f L(f) and their stability.

With a fixed kernel, f* is a fixed point iff K ∇L(f*) = 0.  Split the gradient into
its parts in range(K) and Ker(K): f* is a **minimum** of L (over all of R^N) when
∇L(f*) = 0, and a **fixed point that is not a minimum** when ∇L(f*) ≠ 0 but
∇L(f*) ∈ Ker K — which needs Ker K ≠ {0}, i.e. rank K < N (for features J (N×P),
P < N).  Here L = (1/N) Σ_i ℓ(f_i, y_i).

Stability: linearise, δḟ = −η K H δf with H = ∇²L = diag(ℓ''/N).  The flow lives on
f₀ + range(K), which K H maps into itself; with K = J Jᵀ (J an (N, r) basis
factor) the restricted operator is similar to the symmetric S = η Jᵀ H J, whose r
eigenvalues are the **rates**: > 0 stable, = 0 marginal, < 0 unstable directions.
For a convex ℓ, H ⪰ 0 ⇒ S ⪰ 0: no unstable direction exists, and L itself is a
Lyapunov function, so every fixed point in the reachable set is (at least
Lyapunov) stable — it minimises L over f₀ + range(K).

Non-smooth points (``hinge``, ``quadratic_hinge`` at Δ_i = 0) form the **active set**
A = {i : |Δ_i| ≤ kink_tol}.  For the hinge the gradient is set-valued there,
ℓ'_i ∈ {−c y_i : c ∈ [0, 1]}: f is a fixed point iff some choice of c makes
K ∇L = 0 (a bounded least-squares problem), and a minimum iff the minimal-norm
subgradient (c = 0) vanishes.  For the quadratic hinge the Hessian is the interval
[0, 1]/N at the kinks; the rates are reported for both ends (``rates`` uses the
lower end, kinks inactive; ``rates_upper`` the upper end, kinks active).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.linalg
import scipy.optimize

from ntkjam._validate import as_float_array, as_real, as_square_symmetric
from ntkjam.core.deprecation import deprecated_alias
from ntkjam.core.reprs import SummaryRepr
from ntkjam.linalg import default_rank_tolerance
from ntkjam.losses import Loss, get_loss

KINDS = ("minimum", "fixed_point_not_minimum", "not_fixed_point")
STABILITIES = ("stable", "marginal", "unstable", "not_a_fixed_point")


@dataclass(frozen=True, repr=False)
class FixedPointReport(SummaryRepr):
    """What :func:`analyze` found about a point f.

    Attributes
    ----------
    kind : {"minimum", "fixed_point_not_minimum", "not_fixed_point"}
    stability : {"stable", "marginal", "unstable", "not_a_fixed_point"}
        From the signs of ``rates``: unstable if any is negative, stable if all
        are positive, marginal otherwise.
    lyapunov_stable : bool
        A fixed point of a convex loss (L is then a Lyapunov function on the
        reachable set, so marginal directions are neutral, not unstable).
    grad_norm : float
        ‖∇L‖₂ (the minimal-norm subgradient at hinge kinks).
    kgrad_norm : float
        ‖K ∇L‖₂, minimised over the subgradient at hinge kinks.
    grad_range_norm, grad_kernel_norm : float
        ‖P_range ∇L‖₂ and ‖P_Ker ∇L‖₂ of the gradient used for ``kgrad_norm``.
    rank : int
        Numerical rank r of K.
    distance_to_reachable : float or None
        ‖P_Ker (f − f₀)‖₂ when ``f0`` is given: 0 iff f ∈ f₀ + range(K).
    rates, rates_upper : numpy.ndarray, shape (r,)
        Eigenvalues of η K H on range(K), ascending (lower / upper generalised Hessian).
    n_stable, n_marginal, n_unstable : int
        Counts of ``rates`` above, within and below ± ``rate_tol``.
    rate_tol : float
    smallest_nonzero_rate : float
        Smallest positive rate above ``rate_tol`` (NaN if none): the slowest
        relaxation on the reachable set.
    active_set : numpy.ndarray of int
        Points on a kink (|Δ_i| ≤ kink_tol) of a kinked loss; empty otherwise.
    gradient : numpy.ndarray, shape (N,)
        The (sub)gradient ∇L used for ``kgrad_norm`` and the split.
    message : str

    Examples
    --------
    >>> import numpy as np
    >>> from ntkjam.fixed_points import analyze
    >>> rep = analyze(np.diag([1.0, 0.0]), np.array([1.0, 0.0]), np.array([1.0, 1.0]), "mse")
    >>> rep.kind, rep.stability, rep.lyapunov_stable
    ('fixed_point_not_minimum', 'stable', True)
    """

    kind: str
    stability: str
    lyapunov_stable: bool
    grad_norm: float
    kgrad_norm: float
    grad_range_norm: float
    grad_kernel_norm: float
    rank: int
    distance_to_reachable: float | None
    rates: np.ndarray
    rates_upper: np.ndarray
    n_stable: int
    n_marginal: int
    n_unstable: int
    rate_tol: float
    smallest_nonzero_rate: float
    active_set: np.ndarray
    gradient: np.ndarray
    message: str

    @property
    def is_fixed_point(self) -> bool:
        """Whether f is a fixed point of the flow, K ∇L = 0 (a minimum or not).

        Examples
        --------
        >>> import numpy as np
        >>> from ntkjam.fixed_points import analyze
        >>> K, y = np.diag([1.0, 0.0]), np.ones(2)       # f_2 cannot move: range(K) = e_1
        >>> [analyze(K, np.array(f), y, "mse").is_fixed_point for f in ([1.0, 0.0], [0.0, 0.0])]
        [True, False]
        """
        return self.kind != "not_fixed_point"

    @property
    def is_minimum(self) -> bool:
        """Whether f is a minimum of L itself (∇L = 0), not only of L on f + range(K).

        Examples
        --------
        >>> import numpy as np
        >>> from ntkjam.fixed_points import analyze
        >>> K, y = np.diag([1.0, 0.0]), np.ones(2)
        >>> [analyze(K, np.array(f), y, "mse").is_minimum for f in ([1.0, 1.0], [1.0, 0.0])]
        [True, False]
        """
        return self.kind == "minimum"


def _ro(a: np.ndarray) -> np.ndarray:
    a = np.array(a, copy=True)
    a.setflags(write=False)
    return a


def range_kernel_split(K, v, *, rtol: float | None = None):
    """Split v = v_range + v_ker along range(K) and Ker(K).

    Parameters
    ----------
    K : array_like, shape (N, N)  symmetric
    v : array_like, shape (N,)
    rtol : float, optional
        Eigenvalues ≤ rtol·λ_max count as zero (default N·eps).

    Returns
    -------
    (v_range, v_ker) : two arrays of shape (N,)

    Examples
    --------
    >>> import numpy as np
    >>> from ntkjam.fixed_points import range_kernel_split
    >>> vr, vk = range_kernel_split(np.diag([2.0, 0.0, 1.0]), np.array([1.0, 2.0, 3.0]))
    >>> vr.tolist(), vk.tolist()
    ([1.0, 0.0, 3.0], [0.0, 2.0, 0.0])
    """
    K = as_square_symmetric("K", K)
    v = as_float_array("v", v, ndim=1)
    if v.shape[0] != K.shape[0]:
        raise ValueError(f"v must have length {K.shape[0]} to match K, got {v.shape[0]}")
    U, _ = _range_basis(K, rtol)
    vr = U @ (U.T @ v)
    return vr, v - vr


def _range_basis(K: np.ndarray, rtol: float | None):
    lam, U = scipy.linalg.eigh(K, driver="evd")
    largest = float(np.max(np.abs(lam))) if lam.size else 0.0
    tol = rtol * largest if rtol is not None else default_rank_tolerance(K.shape, largest)
    keep = lam > tol
    return U[:, keep], lam[keep]


def linearised_rates(K, hessian_diag, *, lr: float = 1.0, rtol: float | None = None):
    """Eigenvalues of η K H restricted to range(K), ascending, shape (r,).

    Parameters
    ----------
    K : (N, N) symmetric PSD
    hessian_diag : (N,)  diagonal of H = ∇²L (already divided by N)
    lr : float  η > 0

    Examples
    --------
    For MSE, H = I/N: the rates are η λ_i(K)/N over range(K).

    >>> import numpy as np
    >>> from ntkjam.fixed_points import linearised_rates
    >>> r = linearised_rates(np.diag([2.0, 0.0, 1.0]), np.full(3, 1 / 3), lr=3.0)
    >>> r.shape, bool(np.allclose(r, [1.0, 2.0]))
    ((2,), True)
    """
    K = as_square_symmetric("K", K)
    h = as_float_array("hessian_diag", hessian_diag, ndim=1)
    if h.shape[0] != K.shape[0]:
        raise ValueError(f"hessian_diag must have length {K.shape[0]}, got {h.shape[0]}")
    lr = as_real("lr", lr, positive=True)
    U, lam = _range_basis(K, rtol)
    return _rates(U * np.sqrt(lam), h, lr)


def _rates(J: np.ndarray, h: np.ndarray, lr: float) -> np.ndarray:
    S = lr * ((J * h[:, None]).T @ J)
    return scipy.linalg.eigvalsh(0.5 * (S + S.T)) if S.size else np.zeros(0)


def analyze(
    K,
    f,
    y,
    loss: str | Loss,
    *,
    f0=None,
    lr: float = 1.0,
    tol: float = 1e-9,
    kink_tol: float = 1e-9,
    rank_rtol: float | None = None,
    rate_rtol: float = 1e-9,
) -> FixedPointReport:
    """Classify f for the flow ḟ = −η K ∇L(f): fixed point? minimum? stable?

    Parameters
    ----------
    K : array_like, shape (N, N)
        Fixed training kernel (symmetric PSD).
    f : array_like, shape (N,)
        The point to analyze.
    y : array_like, shape (N,)
        Labels (±1 for margin losses).
    loss : str or Loss
    f0 : array_like, shape (N,), optional
        Initial outputs: report the distance of f from the reachable set f₀ + range(K).
    lr : float
        η > 0 (scales the rates).
    tol : float
        f is a fixed point iff ‖K∇L‖₂ ≤ tol, a minimum iff also ‖∇L‖₂ ≤ tol.
    kink_tol : float
        Points with |Δ_i| ≤ kink_tol are on the kink (kinked losses only).
    rank_rtol : float, optional
        Relative eigenvalue cutoff for the rank of K (default N·eps).
    rate_rtol : float
        Rates with |rate| ≤ rate_rtol · max|rate| are marginal.

    Returns
    -------
    FixedPointReport

    Examples
    --------
    With K = diag(1, 0) and MSE, the point f = (1, 0) fits y₁ but not y₂: ∇L ≠ 0 lies in
    Ker K, so it is a fixed point of the flow that is not a minimum of the loss.

    >>> import numpy as np
    >>> from ntkjam.fixed_points import analyze
    >>> K, y = np.diag([1.0, 0.0]), np.array([1.0, 1.0])
    >>> analyze(K, np.array([1.0, 0.0]), y, "mse").kind
    'fixed_point_not_minimum'
    >>> analyze(K, np.array([1.0, 1.0]), y, "mse").kind, analyze(K, np.zeros(2), y, "mse").kind
    ('minimum', 'not_fixed_point')
    """
    loss = get_loss(loss)
    K = as_square_symmetric("K", K)
    n = K.shape[0]
    f = as_float_array("f", f, ndim=1)
    if f.shape[0] != n:
        raise ValueError(f"f must have length {n} to match K ({n}, {n}), got {f.shape[0]}")
    y = loss.check_labels(y, n=n)
    lr = as_real("lr", lr, positive=True)
    tol = as_real("tol", tol, nonnegative=True)
    kink_tol = as_real("kink_tol", kink_tol, nonnegative=True)
    rate_rtol = as_real("rate_rtol", rate_rtol, nonnegative=True)
    U, lam = _range_basis(K, rank_rtol)
    J = U * np.sqrt(lam)

    active, g_min, g = _gradient(loss, f, y, J, kink_tol)
    kg = K @ g
    g_range = U @ (U.T @ g)
    grad_norm = float(np.linalg.norm(g_min))
    kgrad_norm = float(np.linalg.norm(kg))
    is_fixed = kgrad_norm <= tol
    if is_fixed and grad_norm <= tol:
        kind = "minimum"
    elif is_fixed:
        kind = "fixed_point_not_minimum"
    else:
        kind = "not_fixed_point"

    st = _stability(loss, f, y, J, lr, kink_tol, rate_rtol, is_fixed)
    rates, rates_up, rate_tol = st["rates"], st["rates_up"], st["rate_tol"]
    n_stable, n_marginal, n_unstable = st["n_stable"], st["n_marginal"], st["n_unstable"]
    slowest, stability = st["slowest"], st["stability"]
    lyapunov = bool(is_fixed and (loss.convex or stability == "stable"))

    dist = None
    if f0 is not None:
        f0 = as_float_array("f0", f0, ndim=1)
        if f0.shape[0] != n:
            raise ValueError(f"f0 must have length {n}, got {f0.shape[0]}")
        d = f - f0
        dist = float(np.linalg.norm(d - U @ (U.T @ d)))

    message = _message(kind, stability, lyapunov, grad_norm, kgrad_norm, U.shape[1], n,
                       (n_stable, n_marginal, n_unstable), active.size)
    return FixedPointReport(
        kind=kind,
        stability=stability,
        lyapunov_stable=lyapunov,
        grad_norm=grad_norm,
        kgrad_norm=kgrad_norm,
        grad_range_norm=float(np.linalg.norm(g_range)),
        grad_kernel_norm=float(np.linalg.norm(g - g_range)),
        rank=int(U.shape[1]),
        distance_to_reachable=dist,
        rates=_ro(rates),
        rates_upper=_ro(rates_up),
        n_stable=n_stable,
        n_marginal=n_marginal,
        n_unstable=n_unstable,
        rate_tol=float(rate_tol),
        smallest_nonzero_rate=slowest,
        active_set=_ro(active),
        gradient=_ro(g),
        message=message,
    )


def _gradient(loss: Loss, f, y, J, kink_tol: float):
    """The active (kink) set, the minimal-norm subgradient and the one of least ‖K∇L‖."""
    n = f.shape[0]
    delta = loss.margin - y * f
    active = (np.flatnonzero(np.abs(delta) <= kink_tol) if loss.kinked
              else np.zeros(0, dtype=np.int64))
    g_min = loss.grad(f, y) / n
    if loss.name == "hinge":
        g_min[active] = 0.0  # minimal-norm subgradient on the kinks (|Δ_i| <= kink_tol)
    g = g_min.copy()
    if loss.name == "hinge" and active.size:
        # Choose c ∈ [0,1] on the kinks to make K∇L as small as possible; ‖Jᵀ g‖ = 0
        # iff K g = 0, and the Jᵀ form is the better-conditioned least-squares problem.
        A = J[active].T * (-y[active] / n)
        sol = scipy.optimize.lsq_linear(A, -(J.T @ g_min), bounds=(0.0, 1.0),
                                        method="bvls", tol=1e-14)
        g[active] = -sol.x * y[active] / n
    return active, g_min, g


def _stability(loss: Loss, f, y, J, lr: float, kink_tol: float, rate_rtol: float,
               is_fixed: bool) -> dict:
    """Rates of the linearised flow on range(K) (both Hessian bounds) and their counts."""
    n = f.shape[0]
    h_lo, h_hi = loss.hessian_bounds(f, y, tol=kink_tol)
    rates = _rates(J, np.asarray(h_lo) / n, lr)
    rates_up = _rates(J, np.asarray(h_hi) / n, lr)
    scale = float(np.max(np.abs(np.concatenate([rates, rates_up])), initial=0.0))
    rate_tol = rate_rtol * scale
    n_unstable = int(np.count_nonzero(rates < -rate_tol))
    n_stable = int(np.count_nonzero(rates > rate_tol))
    n_marginal = rates.size - n_unstable - n_stable
    positive = rates[rates > rate_tol]
    if not is_fixed:
        stability = "not_a_fixed_point"
    elif n_unstable:
        stability = "unstable"
    elif n_marginal:
        stability = "marginal"
    else:
        stability = "stable"
    return {"rates": rates, "rates_up": rates_up, "rate_tol": rate_tol,
            "n_stable": n_stable, "n_marginal": n_marginal, "n_unstable": n_unstable,
            "slowest": float(positive.min()) if positive.size else float("nan"),
            "stability": stability}


def _message(kind, stability, lyapunov, grad_norm, kgrad_norm, rank, n, counts,
             n_active) -> str:
    text = {
        "minimum": "a minimum of L (∇L = 0)",
        "fixed_point_not_minimum": "a fixed point that is NOT a minimum of L "
                                   "(∇L ≠ 0 but ∇L ∈ Ker K)",
        "not_fixed_point": "not a fixed point (K∇L ≠ 0)",
    }[kind]
    n_stable, n_marginal, n_unstable = counts
    message = (f"f is {text}: ‖∇L‖ = {grad_norm:.3e}, ‖K∇L‖ = {kgrad_norm:.3e}, "
               f"rank K = {rank}/{n}; linearised flow on range(K): {n_stable} stable, "
               f"{n_marginal} marginal, {n_unstable} unstable directions")
    if kind != "not_fixed_point":
        message += f"; {stability}"
        if stability == "marginal" and lyapunov:
            message += " (Lyapunov-stable: the loss is convex)"
    if n_active:
        message += f"; {n_active} point(s) on the kink"
    return message


def __getattr__(name: str):
    """``analyse``: the deprecated spelling of :func:`analyze` (one release; it warns)."""
    if name == "analyse":
        return deprecated_alias(analyze, "analyse")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
