"""Compressing an instance to its jamming point, and the RS margin to start from.

:func:`rs_jamming_margin` inverts the replica-symmetric capacity of the spherical
perceptron, κ_RS(φ) (an upper bound on the jamming margin for κ < 0, exact for κ ≥ 0);
:func:`jam_from_unsat` lowers the margin from the UNSAT side with
:func:`ntkjam.jamming.compress_margin` until the loss vanishes and brackets the jamming
point.  Used by the sphere-jamming task and re-exported by
:mod:`ntkjam.experiments.sphere_jamming`.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["jam_from_unsat", "rs_jamming_margin"]

_RAISES = 4  # times the start of the compression is raised when it is already SAT


def rs_jamming_margin(phi: float) -> float:
    """κ_RS(φ): the margin at which the RS capacity of the spherical perceptron is φ.

    ``α_RS(κ) = 1/I(κ)`` (:func:`ntkjam.theory.rs_unsat_spherical`) is decreasing in
    κ; for κ < 0 it bounds the jamming point from above, so κ_J(φ) ≤ κ_RS(φ) as P → ∞.

    Parameters
    ----------
    phi : float
        φ = N/r > 0.

    Returns
    -------
    float
        κ_RS(φ), scalar; positive for φ < 2, negative for φ > 2.

    Examples
    --------
    Gardner's capacity at zero margin is 2, so κ_RS(2) = 0:

    >>> from ntkjam.experiments.sphere_compression import rs_jamming_margin
    >>> abs(rs_jamming_margin(2.0)) < 1e-9
    True
    >>> round(rs_jamming_margin(1.0), 4), round(rs_jamming_margin(4.0), 4)
    (0.4707, -0.4052)
    """
    from scipy.optimize import brentq

    from ntkjam.theory import rs_unsat_spherical

    def excess(k: float) -> float:
        return rs_unsat_spherical(phi, k, allow_negative_margin=True).phi_c - phi

    lo, hi = -1.0, 1.0
    while excess(lo) < 0:
        lo *= 2.0
    while excess(hi) > 0:
        hi *= 2.0
    return float(brentq(excess, lo, hi, xtol=1e-13))


def jam_from_unsat(problem, *, start: float, step: float, kappa_tol: float, norm: float,
                   seed: int, max_iter: int):
    """:func:`ntkjam.jamming.compress_margin` from ``start`` down, raised while SAT there.

    The margins are ``start − k·step`` (rounded to 1e−12, so κ = 0 is exact) down to
    ``start − 8``; when the first is already SAT the start is raised by 1 (at most 4
    times).

    Parameters
    ----------
    problem : ntkjam.problem.Problem
        Features (N, r) and labels (N,); its margin is replaced by each κ.
    start, step : float
        First margin and the step down (> 0).
    kappa_tol : float
        Width of the final bracket [κ_sat, κ_unsat].
    norm : float
        ‖w‖² of the constraint.
    seed : int
        Seed of the minimisations' starting point.
    max_iter : int
        Iterations per minimisation.

    Returns
    -------
    ntkjam.jamming.MarginCompression
        Status ``"jammed"`` when a SAT/UNSAT bracket was found, κ_J its midpoint.

    Examples
    --------
    >>> from ntkjam.experiments.sphere_compression import jam_from_unsat
    >>> from ntkjam.experiments.sphere_jamming import build_sphere_problem
    >>> problem, info = build_sphere_problem({"P": 10, "margin": -0.5}, seed=0)
    >>> c = jam_from_unsat(problem, start=0.0, step=0.1, kappa_tol=1e-4, norm=10.0, seed=0,
    ...                    max_iter=5000)
    >>> c.status, bool(c.kappa_sat < c.kappa_j < c.kappa_unsat), round(c.kappa_j, 2)
    ('jammed', True, -0.53)
    """
    from ntkjam.jamming import compress_margin

    for _ in range(_RAISES + 1):
        kappas = np.round(start - step * np.arange(int(math.ceil(8.0 / step)) + 1), 12)
        c = compress_margin(problem, kappas=kappas, norm=norm, seed=seed,
                            kappa_tol=kappa_tol, max_iter=max_iter)
        if c.status != "sat":
            return c
        start += 1.0
    return c
