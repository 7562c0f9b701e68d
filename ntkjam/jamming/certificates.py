"""Certificates of SAT (a point w) and UNSAT (a Farkas vector), checked on the problem.

Shared helpers of the two solvers live here too: the offset scale that makes the
tolerances relative, exact power-of-two rescaling, read-only copies, and the
coordinates (features, or an SVD basis of range(J), live rows only) a solver works in.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import scipy.linalg

from ntkjam._validate import as_float_array, as_real
from ntkjam.core.reprs import SummaryRepr
from ntkjam.problem import Problem


@dataclass(frozen=True, repr=False)
class CertificateCheck(SummaryRepr):
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

    Examples
    --------
    >>> import numpy as np
    >>> from ntkjam.jamming.certificates import check_sat_certificate
    >>> from ntkjam.problem import from_features
    >>> check = check_sat_certificate(from_features(np.ones((3, 1)), np.ones(3)), [2.0])
    >>> check.ok, check.kind, float(check.min_gap), check.reason      # y f − κ = 2 − 1
    (True, 'sat', 1.0, '')
    """

    ok: bool
    kind: str
    min_gap: float = float("nan")
    farkas_value: float = float("nan")
    farkas_residual: float = float("nan")
    radius: float = float("nan")
    reason: str = ""


@dataclass(frozen=True, repr=False)
class Coordinates(SummaryRepr):
    """The constraint matrix in the coordinates a solver works in, and the map back.

    Only the live rows (see :attr:`Problem.live_rows`) enter ``A``: a dead point's Δ
    is fixed, so it constrains nothing that a solver could change.
    """

    name: str
    A: np.ndarray  # (N_live, n): rows y_i times the feature row (or basis row)
    live: np.ndarray  # (N,) bool: which rows of the problem are in A
    to_w: object  # callable z -> w in the coordinates of problem.features()


def pow2_scale(A: np.ndarray) -> float:
    """A power of two near ``max|A|`` when that is extreme, else 1.

    Dividing by it is exact in binary floating point, so results do not change where
    no rescaling is needed; it keeps ``AᵀA`` and norms clear of underflow and overflow
    for features of size 1e−200 or 1e200.
    """
    m = float(np.max(np.abs(A))) if A.size else 0.0
    if m == 0.0 or 2.0**-64 <= m <= 2.0**64:
        return 1.0
    return float(2.0 ** np.round(np.log2(m)))


def solver_coordinates(problem: Problem, name: str) -> Coordinates:
    live = problem.live_rows
    y = problem.y[live, None]
    if name == "features":
        J = problem.features()[live]
        c = pow2_scale(J)
        return Coordinates("features", y * (J / c) if c != 1.0 else y * J, live,
                       (lambda z: z / c) if c != 1.0 else (lambda z: z))
    U, s, V = problem.reduced_svd()
    return Coordinates("basis", y * U[live], live, lambda z: V @ (z / s))


def default_coordinates(problem: Problem) -> str:
    if problem.J is not None and problem.J.shape[1] <= problem.n_points:
        return "features"
    return "basis"


def offset_scale(b: np.ndarray) -> float:
    m = float(np.max(np.abs(b))) if b.size else 0.0
    return m if m > 0 else 1.0


def readonly(arr: np.ndarray) -> np.ndarray:
    arr = np.array(arr, dtype=np.float64, copy=True)
    arr.setflags(write=False)
    return arr


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

    Returns
    -------
    CertificateCheck
        ``kind="sat"``; ``min_gap`` the smallest ``y_i f_i − κ``.

    Examples
    --------
    Three points of one class on one feature: any ``w ≥ κ = 1`` separates them.

    >>> import numpy as np
    >>> from ntkjam.jamming.certificates import check_sat_certificate
    >>> from ntkjam.problem import from_features
    >>> problem = from_features(np.ones((3, 1)), np.ones(3))
    >>> check_sat_certificate(problem, [2.0]).ok, check_sat_certificate(problem, [0.5]).reason
    (True, 'gap -0.5 < -1e-09 at point 0')
    """
    tol = as_real("tol", tol, nonnegative=True)
    w = problem._check_w(w)
    gap = problem.margins(w) - problem.margin
    return sat_check(gap, tol * offset_scale(problem.offsets) + rounding_bound(problem, w))


def sat_check(gap: np.ndarray, allowed: np.ndarray) -> CertificateCheck:
    """The SAT check from the gaps ``y_i f_i − κ`` (N,) and their allowances (N,)."""
    worst = int(np.argmin(gap + allowed)) if gap.size else 0
    min_gap = float(np.min(gap))
    ok = bool(np.all(np.isfinite(gap)) and np.all(gap >= -allowed))
    reason = "" if ok else f"gap {gap[worst]:.3g} < -{allowed[worst]:.3g} at point {worst}"
    return CertificateCheck(ok=ok, kind="sat", min_gap=min_gap, reason=reason)


def rounding_bound(problem: Problem, w: object) -> np.ndarray:
    """``γ_P Σ_p |J_ip| |w_p|``, shape (N,): a bound on the rounding error of ``J_i·w``.

    The standard bound for a dot product of length P evaluated in float64
    (``γ_P = P·eps / (1 − P·eps)``, eps = 2^−53).  Dead rows give exactly 0.

    Parameters
    ----------
    problem : Problem
    w : array_like, shape (P,)
        Coordinates of :meth:`Problem.features`.

    Returns
    -------
    numpy.ndarray, shape (N,)

    Examples
    --------
    >>> import numpy as np
    >>> from ntkjam.jamming.certificates import rounding_bound
    >>> from ntkjam.problem import from_features
    >>> problem = from_features(np.array([[1.0, 2.0], [0.0, 0.0]]), np.ones(2))  # row 1 dead
    >>> e, u = rounding_bound(problem, [1.0, 1.0]), 2.0**-53
    >>> bool(np.isclose(e[0], 2 * u / (1 - 2 * u) * 3.0)), float(e[1])   # γ_2 Σ|J_ip w_p|
    (True, 0.0)
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

    Returns
    -------
    CertificateCheck
        ``kind="unsat"``; ``farkas_value`` (``bᵀλ``), ``farkas_residual`` and ``radius``.

    Examples
    --------
    Opposite labels on the same feature row: λ = (½, ½) cancels ``Σ λ_i y_i J_i`` exactly.

    >>> import numpy as np
    >>> from ntkjam.jamming.certificates import check_farkas_certificate
    >>> from ntkjam.problem import from_features
    >>> problem = from_features(np.ones((2, 1)), [1.0, -1.0])
    >>> check = check_farkas_certificate(problem, [1.0, 1.0])          # normalised to Σλ = 1
    >>> check.ok, float(check.farkas_value), float(check.farkas_residual), check.radius
    (True, 1.0, 0.0, inf)
    >>> check_farkas_certificate(problem, [1.0, 0.0]).reason
    'relative residual 0.707 > 1e-09'
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
    allowed = tol * offset_scale(problem.offsets)
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


def polish_farkas(A: np.ndarray, lam: np.ndarray) -> np.ndarray:
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


def choose_coordinates(problem: Problem, coordinates: str | None,
                       parameterisation: str | None = None) -> str:
    """The solver's first coordinates: ``"features"`` or ``"basis"`` (default by shape).

    ``parameterisation`` is the deprecated name of ``coordinates`` (one release).
    """
    if parameterisation is not None:
        if coordinates is not None and coordinates != parameterisation:
            raise ValueError(f"give coordinates or parameterisation, not both "
                             f"({coordinates!r} vs {parameterisation!r})")
        warnings.warn("parameterisation= is deprecated: use coordinates= (same values)",
                      DeprecationWarning, stacklevel=3)
        coordinates = parameterisation
    name = default_coordinates(problem) if coordinates is None else coordinates
    if name not in ("features", "basis"):
        raise ValueError(f"coordinates must be 'features' or 'basis', got {name!r}")
    return name
