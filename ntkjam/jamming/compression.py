"""The jamming margin κ_J at fixed (N, P), found by compressing the margin.

:func:`compress_margin` decreases κ from the UNSAT side, each minimisation on the
sphere (:func:`ntkjam.jamming.sphere.minimize_on_sphere`) started from the previous
minimum, until the loss vanishes; then it bisects the bracket to a tolerance.  The
last UNSAT minimum is the state just above jamming, whose contacts, gaps and forces
the critical exponents are measured on (``docs/jamming_sphere.md``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ntkjam._validate import as_float_array, as_real
from ntkjam.core.reprs import SummaryRepr
from ntkjam.core.status import Status
from ntkjam.jamming.sphere import SphereMinimum, minimize_on_sphere
from ntkjam.problem import Problem

__all__ = ["MarginCompression", "compress_margin"]


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

    Examples
    --------
    >>> c = compress_margin(Problem(J=np.eye(2), y=np.array([1.0, -1.0])), kappas=[1, .5], norm=1)
    >>> c.status, round(c.kappa_j, 3), c.history[0][1]  # κ_J = max_w min_i y_i w_i = 1/√2
    ('jammed', 0.707, 'unsat')
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

    For each κ of the strictly decreasing sequence ``kappas`` (the problem's features, labels
    and f0 with margin κ), minimise on the sphere starting from the previous minimum (the
    first from the random start of ``seed``).  The first SAT κ and the UNSAT κ before it
    bracket κ_J; the bracket is bisected to ``kappa_tol``, every trial started from the
    UNSAT minimum at the upper end (the state being compressed).  A "budget" or "nan"
    result is an error (the verdict is unknown).  ``minimize_kwargs`` go to
    :func:`minimize_on_sphere` (``max_iter``, ``grad_tol``, …).

    Examples
    --------
    >>> J, y = np.random.default_rng(0).standard_normal((20, 10)) / 10**0.5, np.resize([1., -1], 20)
    >>> c = compress_margin(Problem(J=J, y=y), kappas=[1.0, 0.5, 0.0, -0.5], kappa_tol=1e-2)
    >>> c.status, bool(c.kappa_unsat - c.kappa_sat <= 1e-2), c.unsat.status.value
    ('jammed', True, 'unsat')
    """
    ks = as_float_array("kappas", kappas, ndim=1)
    if ks.size == 0:
        raise ValueError("kappas must contain at least one margin, got an empty array")
    if ks.size > 1 and not np.all(np.diff(ks) < 0):
        raise ValueError("kappas must be strictly decreasing (compression from UNSAT)")
    kappa_tol = as_real("kappa_tol", kappa_tol, positive=True)
    history: list = []
    rank = problem.rank  # the same features at every κ: one SVD

    def solve(kappa: float, w0) -> SphereMinimum:
        p = Problem(y=problem.y, J=problem.features(), f0=problem.f0, margin=kappa,
                    rtol=problem.rtol)
        res = minimize_on_sphere(p, norm=norm, w0=w0, seed=seed, rank=rank, **minimize_kwargs)
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
