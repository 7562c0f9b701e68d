"""SAT/UNSAT by linear programming (HiGHS), every verdict backed by a checked certificate."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import linprog

from ntkjam._validate import as_real
from ntkjam.core.deprecation import DeprecatedNames
from ntkjam.core.reprs import SummaryRepr
from ntkjam.jamming.certificates import (
    CertificateCheck,
    check_farkas_certificate,
    check_sat_certificate,
    choose_coordinates,
    offset_scale,
    polish_farkas,
    pow2_scale,
    readonly,
    solver_coordinates,
)
from ntkjam.problem import Problem


@dataclass(frozen=True, repr=False)
class LPCertificate(DeprecatedNames, SummaryRepr):
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
        One line per HiGHS run: method, coordinates, status and outcome.
    coordinates : str
        ``"features"`` (w ∈ R^P) or ``"basis"`` (orthonormal basis of range(J)) of the
        attempt that gave the verdict.

    Examples
    --------
    >>> import numpy as np
    >>> from ntkjam.jamming.lp import lp_certificate
    >>> from ntkjam.problem import from_features
    >>> cert = lp_certificate(from_features(np.ones((4, 1)), np.ones(4)))
    >>> cert.verdict, cert.farkas, cert.w.shape, cert.check.ok, cert.coordinates
    ('sat', None, (1,), True, 'features')
    >>> cert.attempts[0].startswith("highs-ds on features"), round(cert.slack, 9)  # at the cap
    (True, 1.0)
    """

    verdict: str
    w: np.ndarray | None
    farkas: np.ndarray | None
    slack: float
    check: CertificateCheck
    attempts: tuple[str, ...]
    coordinates: str

    _renamed = {"parameterisation": "coordinates"}


def slack_lp(A: np.ndarray, b: np.ndarray, cap: float, method: str):
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
    coordinates: str | None = None,
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
    coordinates : {"features", "basis"}, optional
        Coordinates of the first attempt: ``w ∈ R^P`` or an orthonormal basis of
        range(J).  Default: ``"features"`` when ``P ≤ N`` and J is given, else
        ``"basis"``.  The other one is tried if the first fails.

    Returns
    -------
    LPCertificate
        Attempts run in order: HiGHS dual simplex, HiGHS interior point (with
        crossover), in the first coordinates, then in the other; the first
        attempt whose certificate passes the check gives the verdict.

    Examples
    --------
    One feature, labels of both signs: no ``w`` gives ``y_i w ≥ 1`` for all i, and the
    Farkas vector proves it (``Σ λ_i y_i J_i = 0`` with ``bᵀλ = 1 > 0``).

    >>> import numpy as np
    >>> from ntkjam.jamming.lp import lp_certificate
    >>> from ntkjam.problem import from_features
    >>> J, y = np.ones((4, 1)), np.array([1.0, -1.0, 1.0, 1.0])
    >>> cert = lp_certificate(from_features(J, y))
    >>> cert.verdict, round(cert.slack, 9), round(float(cert.farkas.sum()), 12)
    ('unsat', -1.0, 1.0)
    >>> bool(np.allclose(J.T @ (y * cert.farkas), 0)), cert.check.ok
    (True, True)
    """
    tol = as_real("tol", tol, nonnegative=True)
    farkas_rtol = as_real("farkas_rtol", farkas_rtol, nonnegative=True)
    b = problem.offsets
    cap = offset_scale(b) if slack_cap is None else as_real("slack_cap", slack_cap, positive=True)
    first = choose_coordinates(problem, coordinates, parameterisation)
    second = "basis" if first == "features" else "features"
    attempts: list[str] = []
    last_slack = float("nan")
    # HiGHS's tolerances are absolute: offsets of extreme size are brought near 1 by an
    # exact power-of-two scaling (t and w scale with them).
    cb = pow2_scale(b)
    for name in (first, second):
        coords = solver_coordinates(problem, name)
        A = coords.A
        if not coords.live.all():
            A = np.zeros((problem.n_points, coords.A.shape[1]))
            A[coords.live] = coords.A
        for method in ("highs-ds", "highs-ipm"):
            res = slack_lp(A, b / cb, cap / cb, method)
            head = f"{method} on {name}: status {res.status}"
            if res.status != 0 or res.x is None:
                attempts.append(f"{head} ({res.message}) -> no verdict")
                continue
            t = float(res.x[-1]) * cb
            last_slack = t
            w = coords.to_w(res.x[:-1] * cb)
            sat = check_sat_certificate(problem, w, tol=tol)
            if t >= -tol * offset_scale(b) and sat.ok:
                attempts.append(f"{head}, slack {t:.3g} -> sat (verified)")
                return LPCertificate("sat", readonly(w), None, t, sat, tuple(attempts), name)
            lam = np.maximum(-np.asarray(res.ineqlin.marginals, dtype=float), 0.0)
            check = check_farkas_certificate(problem, lam, tol=tol, farkas_rtol=farkas_rtol)
            if not check.ok and lam.sum() > 0:
                lam = polish_farkas(A, lam / lam.sum())
                check = check_farkas_certificate(problem, lam, tol=tol, farkas_rtol=farkas_rtol)
            if check.ok:
                attempts.append(f"{head}, slack {t:.3g} -> unsat (verified)")
                lam = lam / lam.sum()
                return LPCertificate(
                    "unsat", None, readonly(lam), t, check, tuple(attempts), name
                )
            attempts.append(
                f"{head}, slack {t:.3g} -> certificate rejected "
                f"(sat: {sat.reason or 'slack negative'}; unsat: {check.reason})"
            )
    failed = CertificateCheck(ok=False, kind="none", reason="no attempt gave a valid certificate")
    return LPCertificate("unknown", None, None, last_slack, failed, tuple(attempts), first)
