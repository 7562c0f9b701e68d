"""The exact RS theory of the free-norm lazy problem, where it applies to a run.

* :func:`rs_comparison` — whether the replica-symmetric theory
  (:func:`ntkjam.theory.rs_unsat_free_norm`, ``docs/theory_replica.md``) applies to a
  run's settings (:data:`RS_SOURCES`, random labels, no offset, κ > 0, full rank), and
  its curves and limits at φ_c⁺ (:class:`RSComparison`), reported beside the measured
  onset (:mod:`ntkjam.analysis.onset`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ntkjam.analysis.approach import RS_EXPONENT
from ntkjam.core.reprs import SummaryRepr
from ntkjam.theory import rs_unsat_free_norm, rs_unsat_free_norm_onset

__all__ = ["RS_SOURCES", "RSComparison", "rs_comparison"]

#: Feature sources for which the RS theory applies (Gaussian-equivalent random
#: features; random ReLU features checked against exact minima in
#: ``docs/theory_replica.md``).
RS_SOURCES = ("relu_features",)


@dataclass(frozen=True, repr=False)
class RSComparison(SummaryRepr):
    """The exact RS theory of the free-norm lazy problem for a run's settings.

    Attributes
    ----------
    applies : bool
        Gaussian-equivalent random features (:data:`RS_SOURCES`), random labels, no
        offset (f0 = 0), margin κ > 0, and full-rank features (rank = P at every size).
    note : str
        Why it does not apply, or the assumption it rests on.
    margin : float
        κ.
    phi_c : float
        2 (NaN when it does not apply; so are the values below).
    loss_onset : float
        κ²/(2π), the loss per sample at φ_c⁺.
    isostaticity_onset : float
        N_Δ/rank at φ_c⁺: 1.
    exponent : float
        The exponent of the approach of both: ½.
    phi : numpy.ndarray, shape (m,)
        φ from just above 2 to the run's largest φ (empty when it does not apply or the
        grid ends below 2).
    loss_per_sample, unsat_fraction, unsat_per_rank : numpy.ndarray, shape (m,)
        L/N, N_Δ/N and N_Δ/rank of the RS minimum on ``phi``.

    Examples
    --------
    >>> from ntkjam.analysis.rs_theory import rs_comparison
    >>> rs = rs_comparison({"source": "relu_features", "labels": "random", "offset": "zero",
    ...                     "margin": 1.0}, phi_max=3.0, n=50)
    >>> rs.applies, rs.phi_c, round(rs.loss_onset, 4), rs.isostaticity_onset  # κ²/(2π)
    (True, 2.0, 0.1592, 1.0)
    >>> rs.phi.shape, bool((rs.unsat_per_rank > 1).all())  # hyperstatic above φ_c = 2
    ((49,), True)
    """

    applies: bool
    note: str
    margin: float
    phi_c: float
    loss_onset: float
    isostaticity_onset: float
    exponent: float
    phi: np.ndarray
    loss_per_sample: np.ndarray
    unsat_fraction: np.ndarray
    unsat_per_rank: np.ndarray


def _why_not(settings: dict, full_rank: bool) -> list[str]:
    """The settings that put a run outside the RS theory (empty when it applies)."""
    why = []
    if settings.get("source") not in RS_SOURCES:
        why.append(f"source {settings.get('source')} (theory: random ReLU features)")
    if settings.get("labels") != "random":
        why.append(f"labels {settings.get('labels')} (theory: random)")
    if settings.get("offset") != "zero":
        why.append(f"offset {settings.get('offset')} (theory: f0 = 0)")
    try:
        kappa = float(settings.get("margin"))
    except (TypeError, ValueError):
        kappa = math.nan
    if not (math.isfinite(kappa) and kappa > 0):
        why.append(f"margin {settings.get('margin')} (theory: κ > 0)")
    if not full_rank:
        why.append("rank < P (theory: full-rank features)")
    return why


def rs_comparison(settings: dict, *, full_rank: bool = True, phi_max: float = 3.0,
                  n: int = 200) -> RSComparison:
    """The RS curves and limits for a run's ``settings`` (:class:`RSComparison`).

    Parameters
    ----------
    settings : dict
        ``source``, ``labels``, ``offset``, ``margin`` (as in
        :attr:`PhaseDiagramAnalysis.settings`).
    full_rank : bool
        Whether every size has rank = P.
    phi_max : float
        End of the curves.
    n : int
        Points of the curves (denser near φ = 2, where they rise as √(φ − 2)).

    Returns
    -------
    RSComparison
        Its curves of shape (n − 1,) on φ ∈ (2, phi_max] (empty when ``phi_max ≤ 2``
        or when the theory does not apply, with the reasons in ``note``).

    Examples
    --------
    >>> from ntkjam.analysis.rs_theory import rs_comparison
    >>> rs = rs_comparison({"source": "fourier_features", "labels": "random",
    ...                     "offset": "zero", "margin": 1.0})
    >>> rs.applies, rs.phi.shape
    (False, (0,))
    >>> rs.note
    'no exact theory for these settings: source fourier_features (theory: random ReLU features)'
    """
    why = _why_not(settings, full_rank)
    nan, empty = math.nan, np.zeros(0)
    if why:
        return RSComparison(False, "no exact theory for these settings: " + "; ".join(why),
                            nan, nan, nan, nan, nan, empty, empty, empty, empty)
    kappa = float(settings["margin"])
    onset = rs_unsat_free_norm_onset(kappa)
    phi = empty
    if phi_max > 2.0:
        phi = 2.0 + (phi_max - 2.0) * np.linspace(0.0, 1.0, n)[1:] ** 2
    rs = rs_unsat_free_norm(phi, kappa) if phi.size else None
    return RSComparison(
        applies=True,
        note="replica-symmetric theory of the free-norm problem, exact as P → ∞ for "
             "Gaussian features; random ReLU features are Gaussian-equivalent (checked "
             "against exact minima, docs/theory_replica.md)",
        margin=kappa, phi_c=2.0, loss_onset=float(onset.loss_per_sample),
        isostaticity_onset=float(onset.unsat_per_rank), exponent=RS_EXPONENT, phi=phi,
        loss_per_sample=np.asarray(rs.loss_per_sample) if rs else empty,
        unsat_fraction=np.asarray(rs.unsat_fraction) if rs else empty,
        unsat_per_rank=np.asarray(rs.unsat_per_rank) if rs else empty,
    )
