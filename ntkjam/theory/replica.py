"""Replica-symmetric (RS) theory of the UNSAT phase of the quadratic-hinge minimum.

Convention: N points (constraints), P features (parameters), φ = N/P; the papers use
α = (patterns)/(synapses), which is this φ.  Derivation and regime of validity:
``docs/theory_replica.md``.

Two problems, both with Gaussian features (rows ``J_i`` iid with covariance ``I/P``),
random labels ``y_i = ±1`` and loss ``L = (1/N) Σ_i ½ max(0, κ − y_i J_i·w)²``:

* **spherical** (fixed norm): ``‖w‖² = P``, so every field ``h_i = y_i J_i·w`` has unit
  variance; margin κ ≥ 0.  :func:`rs_unsat_spherical`.
* **free norm** (the lazy problem of ntkjam, ``f0 = 0``): w ∈ R^P unconstrained; margin
  κ > 0.  Writing ``‖w‖² = ρ² P`` it is the spherical problem at margin κ' = κ/ρ with
  the loss scaled by ρ², minimised over ρ.  :func:`rs_unsat_free_norm`.

With ``I(a) = ∫_{−∞}^{a} Dt (a − t)² = (1 + a²) Φ(a) + a φ(a)`` (Dt the standard
Gaussian measure, Φ, φ its CDF and density), the zero-temperature RS solution of the
spherical problem in the UNSAT phase ``φ I(κ) > 1`` (Gardner 1988; Franz & Parisi 2016,
arXiv:1501.03397) has q → 1 with ``χ = β(1 − q) = 1 / (√(φ I(κ)) − 1)``, and

    L/N = (√(φ I(κ)) − 1)² / (2φ),      N_Δ/N = Φ(κ).

The free-norm minimum sits at the effective margin ``a = κ/ρ`` solving
``φ Φ(a)² = I(a)``, where

    L/N = κ² (a Φ(a) + φ(a))² / (2 I(a)),   N_Δ/N = Φ(a),
    N_Δ/P = φ Φ(a) = √(φ I(a)),            ‖w‖²/P = (κ/a)².

Its SAT/UNSAT point is φ_c = 2 for every κ > 0, where the loss *jumps* from 0 to
κ²/(2π) and N_Δ/rank → 1 (isostatic): :func:`rs_unsat_free_norm_onset`.

The problems are convex for κ ≥ 0 (the free-norm one always) and the RS solution is
stable there (de Almeida–Thouless: ``Φ(κ') < I(κ')`` iff κ' > 0), so these are the
large-P limits.  For κ < 0 on the sphere they are not: see ``allow_negative_margin``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import scipy.optimize

from ntkjam._validate import as_float_array
from ntkjam.core.reprs import SummaryRepr
from ntkjam.theory._gauss import below_moment0, below_moment2, gauss_pdf

__all__ = [
    "RSUnsatPhase",
    "rs_unsat_free_norm",
    "rs_unsat_free_norm_onset",
    "rs_unsat_spherical",
    "rs_unsat_spherical_onset",
]

FREE_NORM_PHI_C = 2.0


@dataclass(frozen=True, repr=False)
class RSUnsatPhase(SummaryRepr):
    """The RS zero-temperature minimum: per-sample observables at (φ, κ).

    Every field is a float for scalar input, else a float64 (or bool) array of the
    broadcast shape of ``phi`` and ``margin``.

    Attributes
    ----------
    constraint : str
        ``"sphere"`` (‖w‖² = P) or ``"free"`` (w unconstrained).
    phi : float or numpy.ndarray
        φ = N/P.
    margin : float or numpy.ndarray
        κ.
    phi_c : float or numpy.ndarray
        The SAT/UNSAT point: Gardner's ``α_c(κ) = 1/I(κ)`` on the sphere, 2 for the
        free norm.
    unsat : bool or numpy.ndarray of bool
        ``φ > φ_c``.  At and below φ_c the other fields hold the SAT values (below).
    loss_per_sample : float or numpy.ndarray
        ``L/N = (1/N) Σ ½ max(0, κ − h_i)²`` at the minimum (0 when SAT).
    unsat_fraction : float or numpy.ndarray
        ``N_Δ/N``, the fraction of violated constraints (0 when SAT).  The RS minimum
        has no contacts (``h_i = κ`` exactly) in the UNSAT phase: every constraint
        whose cavity field t is below the effective margin κ' is violated, so
        ``N_Δ/N = Φ(κ')``.
    unsat_per_rank : float or numpy.ndarray
        ``N_Δ / rank`` with ``rank = min(N, P)``: ``Φ(κ') max(φ, 1)``.
    norm2_per_P : float or numpy.ndarray
        ``‖w‖²/P`` in units where the rows of J have covariance ``I/P`` (for
        ``J_ij ~ N(0, 1)`` divide by P): 1 on the sphere; ``(κ/κ')²`` for the free
        norm.  For the free norm when SAT: the smallest norm of a zero-loss solution,
        ``(κ/κ_G(φ))²`` with κ_G(φ) Gardner's largest stability at φ (the
        max-margin solution; ``inf`` at φ = 2; other minimisers have larger norm).
    effective_margin : float or numpy.ndarray
        κ' = κ/ρ, the margin of the equivalent spherical problem (κ on the sphere).
        For the free norm when SAT: κ_G(φ) (see ``norm2_per_P``).
    chi : float or numpy.ndarray
        ``χ = lim β(1 − q) = 1/(√(φ I(κ')) − 1)``, the RS susceptibility; ``inf``
        when SAT (there q < 1 at zero temperature).

    Examples
    --------
    >>> import numpy as np
    >>> from ntkjam.theory import rs_unsat_spherical
    >>> r = rs_unsat_spherical(np.array([1.0, 4.0]), 0.0)
    >>> r.constraint, r.unsat.tolist(), r.loss_per_sample.shape, float(r.chi[0])
    ('sphere', [False, True], (2,), inf)
    """

    constraint: str
    phi: float | np.ndarray
    margin: float | np.ndarray
    phi_c: float | np.ndarray
    unsat: bool | np.ndarray
    loss_per_sample: float | np.ndarray
    unsat_fraction: float | np.ndarray
    unsat_per_rank: float | np.ndarray
    norm2_per_P: float | np.ndarray
    effective_margin: float | np.ndarray
    chi: float | np.ndarray


_FIELDS = (
    "phi_c",
    "unsat",
    "loss_per_sample",
    "unsat_fraction",
    "unsat_per_rank",
    "norm2_per_P",
    "effective_margin",
    "chi",
)


# ------------------------------------------------------------------- scalar kernels
def _sphere_point(phi: float, kappa: float) -> tuple:
    """RS minimum of the spherical problem at one (φ, κ): the tuple of ``_FIELDS``."""
    i2 = float(below_moment2(kappa))
    phi_c = 1.0 / i2
    if phi * i2 <= 1.0:
        return (phi_c, False, 0.0, 0.0, 0.0, 1.0, kappa, math.inf)
    s = math.sqrt(phi * i2)
    s_minus_1 = (phi * i2 - 1.0) / (s + 1.0)  # no cancellation near α_c
    frac = float(below_moment0(kappa))
    return (
        phi_c,
        True,
        s_minus_1**2 / (2.0 * phi),
        frac,
        frac * max(phi, 1.0),
        1.0,
        kappa,
        1.0 / s_minus_1,
    )


def _gardner_margin(phi: float) -> float:
    """κ_G(φ) > 0 with ``φ I(κ_G) = 1`` (largest stability at load φ < 2)."""
    # I is increasing, I(0) = 1/2 < 1/φ, and I(a) >= (1 + a²)/2 >= 1/φ at a = sqrt(2/φ).
    hi = math.sqrt(2.0 / phi) + 1.0
    return scipy.optimize.brentq(
        lambda a: phi * float(below_moment2(a)) - 1.0, 0.0, hi, xtol=1e-300, rtol=1e-15,
        maxiter=500,
    )


def _free_effective_margin(phi: float) -> float:
    """The root a > 0 of ``I(a) − φ Φ(a)² = 0`` for φ > 2 (the optimal κ/ρ)."""
    # At a = 0 the residual is 1/2 − φ/4 < 0; I(a) >= (1 + a²)/2 > φ >= φΦ² at a = √(2φ).
    # a ↦ I(a)/Φ(a)² is increasing on a > 0 (docs/theory_replica.md), so the root is unique.
    return scipy.optimize.brentq(
        lambda a: float(below_moment2(a)) - phi * float(below_moment0(a)) ** 2,
        0.0, math.sqrt(2.0 * phi), xtol=1e-300, rtol=1e-15, maxiter=500,
    )


def _free_point(phi: float, kappa: float) -> tuple:
    """RS minimum of the free-norm problem at one (φ, κ > 0)."""
    phi_c = FREE_NORM_PHI_C
    if phi <= phi_c:
        if phi == phi_c:
            return (phi_c, False, 0.0, 0.0, 0.0, math.inf, 0.0, math.inf)
        a = _gardner_margin(phi)
        return (phi_c, False, 0.0, 0.0, 0.0, (kappa / a) ** 2, a, math.inf)
    a = _free_effective_margin(phi)
    cdf = float(below_moment0(a))
    i2 = float(below_moment2(a))
    m1 = a * cdf + float(gauss_pdf(a))  # ∫_{−∞}^{a} Dt (a − t)
    # At the optimum √(φ I) = φΦ, so χ = 1/(φΦ − 1) and φΦ − 1 = (I − Φ)/Φ = a m1 / Φ.
    return (
        phi_c,
        True,
        kappa**2 * m1**2 / (2.0 * i2),
        cdf,
        phi * cdf,
        (kappa / a) ** 2,
        a,
        cdf / (a * m1),
    )


# ---------------------------------------------------------------------- validation
def _inputs(phi, margin, *, margin_rule: str):
    p = as_float_array("phi", phi)
    k = as_float_array("margin", margin)
    if np.any(p <= 0):
        raise ValueError(f"phi must be > 0 (phi = N/P), got {float(np.min(p))}")
    if margin_rule == "positive" and np.any(k <= 0):
        raise ValueError(
            f"margin must be > 0 for the free-norm problem (with margin <= 0, w = 0 has "
            f"zero loss at every phi), got {float(np.min(k))}"
        )
    if margin_rule == "nonnegative" and np.any(k < 0):
        raise ValueError(
            f"margin must be >= 0 (for margin < 0 the spherical problem is non-convex and "
            f"the replica-symmetric result is not exact; pass allow_negative_margin=True for "
            f"the RS value anyway), got {float(np.min(k))}"
        )
    try:
        pb, kb = np.broadcast_arrays(p, k)
    except ValueError:
        raise ValueError(
            f"phi and margin must broadcast together, got shapes {p.shape} and {k.shape}"
        ) from None
    return pb, kb


def _evaluate(constraint: str, point, pb: np.ndarray, kb: np.ndarray) -> RSUnsatPhase:
    shape = pb.shape
    out = {name: np.empty(shape, dtype=bool if name == "unsat" else float) for name in _FIELDS}
    for idx in np.ndindex(shape):
        values = point(float(pb[idx]), float(kb[idx]))
        for name, value in zip(_FIELDS, values, strict=True):
            out[name][idx] = value
    if shape == ():
        fields = {name: (bool(v) if name == "unsat" else float(v)) for name, v in out.items()}
        return RSUnsatPhase(constraint=constraint, phi=float(pb), margin=float(kb), **fields)
    for arr in out.values():
        arr.setflags(write=False)
    return RSUnsatPhase(constraint=constraint, phi=pb.copy(), margin=kb.copy(), **out)


# ------------------------------------------------------------------------ public API
def rs_unsat_spherical(phi, margin=0.0, *, allow_negative_margin: bool = False) -> RSUnsatPhase:
    """RS minimum of ``(1/N) Σ ½ max(0, κ − h_i)²`` on the sphere ‖w‖² = P.

    ``h_i = y_i J_i·w`` with rows of covariance ``I/P`` (unit-variance fields).  In the
    UNSAT phase ``φ > α_c(κ) = 1/I(κ)`` (:func:`ntkjam.theory.gardner_capacity`), with
    ``s = √(φ I(κ))``:

        L/N = (s − 1)²/(2φ),   N_Δ/N = Φ(κ),   N_Δ/rank = Φ(κ) max(φ, 1),
        χ = 1/(s − 1).

    The loss vanishes as (φ − α_c)² at α_c⁺ while N_Δ/N jumps from 0 to Φ(κ); for κ > 0
    the jammed state at α_c⁺ is hypostatic (``α_c Φ(κ) = Φ(κ)/I(κ) < 1``), isostatic
    only at κ = 0.  As φ → ∞ the loss tends to ``I(κ)/2`` (any unit vector).

    Parameters
    ----------
    phi : float or array_like
        φ = N/P > 0, finite.
    margin : float or array_like
        κ ≥ 0, finite; broadcast against ``phi``.
    allow_negative_margin : bool
        Accept κ < 0 and return the RS formulas there.  They are **not** the minimum:
        the problem is non-convex and the RS solution unstable in the whole UNSAT
        phase (``Φ(κ) > I(κ)``); the RS capacity is an upper bound on the jamming point
        (Gordon's comparison inequality; Stojnic 2013) and the RS energy is expected to
        be a lower bound on the minimum.  Accuracy degrades for κ ≲ −5 (cancellation
        in ``I(κ)``).

    Returns
    -------
    RSUnsatPhase
        At ``φ ≤ α_c(κ)`` (SAT): ``unsat=False``, loss, N_Δ fractions 0, ``χ = inf``.

    Examples
    --------
    At κ = 0, I(0) = ½ and α_c = 2; at φ = 4, s = √2:

    >>> import numpy as np
    >>> from ntkjam.theory import rs_unsat_spherical
    >>> r = rs_unsat_spherical(4.0, 0.0)
    >>> r.phi_c, r.unsat, r.unsat_fraction, r.unsat_per_rank
    (2.0, True, 0.5, 2.0)
    >>> np.allclose([r.loss_per_sample, r.chi], [(np.sqrt(2) - 1) ** 2 / 8, 1 + np.sqrt(2)])
    True
    """
    rule = "any" if allow_negative_margin else "nonnegative"
    pb, kb = _inputs(phi, margin, margin_rule=rule)
    return _evaluate("sphere", _sphere_point, pb, kb)


def rs_unsat_free_norm(phi, margin=1.0) -> RSUnsatPhase:
    """RS minimum of ``(1/N) Σ ½ max(0, κ − y_i J_i·w)²`` over all w ∈ R^P (``f0 = 0``).

    With ``‖w‖² = ρ² P`` the loss is ``ρ² e_sphere(φ, κ/ρ)``; minimising over ρ gives
    the effective margin ``a = κ/ρ`` as the root of ``φ Φ(a)² = I(a)`` (unique for
    φ > 2), and

        L/N = κ² (aΦ(a) + φ(a))² / (2 I(a)),   N_Δ/N = Φ(a),
        N_Δ/rank = φ Φ(a) = √(φ I(a)) > 1,    ‖w‖²/P = (κ/a)²,
        χ = 1/(φΦ(a) − 1).

    The SAT/UNSAT point is φ_c = 2 for every κ > 0 (ρ → ∞ sends κ' → 0, where Gardner's
    capacity is 2).  At φ_c⁺ the loss jumps to κ²/(2π) and N_Δ/rank → 1
    (:func:`rs_unsat_free_norm_onset`); as φ → ∞ the loss tends to κ²/2 (w → 0).
    Only L/N and ‖w‖² depend on κ, as κ².  Exact as P → ∞ (convex problem) for
    Gaussian rows of *any* full-rank covariance (the loss is invariant under
    w ↦ A w); ``norm2_per_P`` refers to whitened rows of covariance ``I/P``.

    Parameters
    ----------
    phi : float or array_like
        φ = N/P > 0, finite.
    margin : float or array_like
        κ > 0, finite; broadcast against ``phi``.

    Returns
    -------
    RSUnsatPhase
        At ``φ ≤ 2`` (SAT, by convention including φ = 2 itself): ``unsat=False``,
        loss and N_Δ fractions 0, ``χ = inf``, and ``norm2_per_P`` the smallest norm of
        a zero-loss solution, ``(κ/κ_G(φ))²`` (``inf`` at φ = 2).

    Examples
    --------
    The effective margin solves ``φ Φ(a)² = I(a)``; the loss scales as κ²:

    >>> import numpy as np
    >>> from scipy.stats import norm
    >>> from ntkjam.theory import rs_unsat_free_norm
    >>> r = rs_unsat_free_norm(3.0, 1.0)
    >>> a = r.effective_margin
    >>> I = (1 + a**2) * norm.cdf(a) + a * norm.pdf(a)
    >>> np.allclose([3.0 * norm.cdf(a) ** 2, r.unsat_per_rank], [I, np.sqrt(3.0 * I)])
    True
    >>> round(rs_unsat_free_norm(3.0, 2.0).loss_per_sample / r.loss_per_sample, 9)
    4.0
    >>> rs_unsat_free_norm(1.5).unsat, rs_unsat_free_norm(1.5).loss_per_sample
    (False, 0.0)
    """
    pb, kb = _inputs(phi, margin, margin_rule="positive")
    return _evaluate("free", _free_point, pb, kb)


def rs_unsat_free_norm_onset(margin=1.0) -> RSUnsatPhase:
    """The free-norm RS minimum in the limit φ → 2⁺ (the UNSAT side of φ_c).

    ``L/N → κ²/(2π)`` (a jump: it is 0 for φ < 2), ``N_Δ/N → 1/2``,
    ``N_Δ/rank → 1`` (isostatic), ``‖w‖²/P → ∞``, κ' → 0, χ → ∞.  Near the onset
    ``N_Δ/rank − 1 ≈ c √(φ − 2)`` with ``c = 2φ(0)/√(8(1/4 − 1/(2π)))`` ≈ 0.936
    and ``a ≈ √((φ − 2)/(8(1/4 − 1/(2π))))``.

    Parameters
    ----------
    margin : float or array_like
        κ > 0, finite.

    Returns
    -------
    RSUnsatPhase
        At ``phi = phi_c = 2``, ``unsat=True``; fields of the shape of ``margin``.

    Examples
    --------
    >>> import numpy as np
    >>> from ntkjam.theory import rs_unsat_free_norm, rs_unsat_free_norm_onset
    >>> onset = rs_unsat_free_norm_onset(1.0)
    >>> bool(np.isclose(onset.loss_per_sample, 1 / (2 * np.pi)))
    True
    >>> onset.unsat_per_rank, onset.unsat_fraction
    (1.0, 0.5)
    >>> near = rs_unsat_free_norm(2.0 + 1e-8, 1.0)          # the limit from the UNSAT side
    >>> bool(np.isclose(near.loss_per_sample, onset.loss_per_sample, rtol=1e-3))
    True
    """
    k = as_float_array("margin", margin)
    if np.any(k <= 0):
        raise ValueError(
            f"margin must be > 0 for the free-norm problem (with margin <= 0, w = 0 has "
            f"zero loss at every phi), got {float(np.min(k))}"
        )
    return _onset(
        "free", k, FREE_NORM_PHI_C,
        loss_per_sample=k**2 / (2.0 * math.pi),
        unsat_fraction=0.5,
        unsat_per_rank=1.0,
        norm2_per_P=math.inf,
        effective_margin=0.0,
    )


def rs_unsat_spherical_onset(margin=0.0) -> RSUnsatPhase:
    """The spherical RS minimum in the limit φ → α_c(κ)⁺ (κ ≥ 0).

    ``L/N → 0`` (continuously, as (φ − α_c)²), ``N_Δ/N → Φ(κ)`` (a jump),
    ``N_Δ/rank → Φ(κ) max(α_c, 1)`` (< 1 for κ > 0: hypostatic; 1 at κ = 0), χ → ∞.

    Parameters
    ----------
    margin : float or array_like
        κ ≥ 0, finite.

    Returns
    -------
    RSUnsatPhase
        At ``phi = phi_c = α_c(κ)``, ``unsat=True``; fields of the shape of ``margin``.

    Examples
    --------
    >>> import numpy as np
    >>> from ntkjam.theory import gardner_capacity, rs_unsat_spherical_onset
    >>> r = rs_unsat_spherical_onset(0.0)                   # κ = 0: isostatic
    >>> r.phi_c, r.unsat_fraction, r.unsat_per_rank, r.loss_per_sample
    (2.0, 0.5, 1.0, 0.0)
    >>> r1 = rs_unsat_spherical_onset([0.5, 1.0])
    >>> np.allclose(r1.phi_c, gardner_capacity([0.5, 1.0])), bool(np.all(r1.unsat_per_rank < 1))
    (True, True)
    """
    k = as_float_array("margin", margin)
    if np.any(k < 0):
        raise ValueError(
            f"margin must be >= 0 (for margin < 0 the spherical problem is non-convex), "
            f"got {float(np.min(k))}"
        )
    phi_c = 1.0 / below_moment2(k)
    frac = below_moment0(k)
    return _onset(
        "sphere", k, phi_c,
        loss_per_sample=0.0,
        unsat_fraction=frac,
        unsat_per_rank=frac * np.maximum(phi_c, 1.0),
        norm2_per_P=1.0,
        effective_margin=k,
    )


def _onset(constraint: str, k: np.ndarray, phi_c, **values) -> RSUnsatPhase:
    """The RS minimum at ``φ = φ_c⁺`` for margins ``k``: UNSAT, ``χ = inf``.

    ``phi_c`` and the ``values`` (the other fields) are broadcast to ``k.shape``: floats
    for a 0-d ``k``, else float64 arrays of its shape.
    """
    scalar = k.ndim == 0

    def f(v):
        arr = np.broadcast_to(np.asarray(v, dtype=float), k.shape).copy()
        return float(arr) if scalar else arr

    return RSUnsatPhase(
        constraint=constraint,
        phi=f(phi_c),
        margin=f(k),
        phi_c=f(phi_c),
        unsat=True if scalar else np.ones(k.shape, dtype=bool),
        chi=f(math.inf),
        **{name: f(v) for name, v in values.items()},
    )
