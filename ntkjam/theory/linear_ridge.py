"""Asymptotic test error of linear ridge(less) regression with isotropic features.

Hastie, Montanari, Rosset & Tibshirani, *Surprises in high-dimensional ridgeless least
squares interpolation* (arXiv:1903.08560), isotropic case.  Derivation and regime of
validity: ``docs/theory_generalization.md``.

Setting, in ntkjam's letters: N training points, P features (parameters),
``φ = N/P``.  Rows ``x_i ~ N(0, I_P)``, labels ``y_i = x_iᵀβ + ε_i`` with
``‖β‖² = r²`` (``signal``) and noise of variance ``σ²`` (``noise``).  The paper's
``n, p, γ = p/n`` are our ``N, P, 1/φ``.  The ridge estimator is

    β̂ = argmin_b (1/N) ‖y − X b‖² + λ ‖b‖² = (XᵀX/N + λ I)⁻¹ Xᵀy/N,

and ``λ → 0⁺`` gives the minimum-norm least-squares solution (the interpolator when
P > N).  With ``m(z)`` the Stieltjes transform of the Marchenko–Pastur law of ratio γ
(the limiting spectrum of ``XᵀX/N``), the limits as N, P → ∞ at fixed φ are

    bias     B = r² λ² m′(−λ),
    variance V = σ² γ (m(−λ) − λ m′(−λ)),

and, ridgeless, ``B = 0, V = σ² γ/(1 − γ)`` for γ < 1 (φ > 1) and
``B = r² (1 − 1/γ), V = σ²/(γ − 1)`` for γ > 1 (φ < 1).

The **risk** is ``B + V = E_x[(xᵀβ̂ − xᵀβ)²]`` (the excess error, no label noise), the
**test error** ``risk + σ²`` (the squared error on a fresh noisy label).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ntkjam._validate import as_real
from ntkjam.core.reprs import SummaryRepr
from ntkjam.theory._broadcast import broadcast_named, check_range, finish

__all__ = ["LinearRidgeRisk", "linear_ridge_risk", "linear_ridgeless_risk"]


@dataclass(frozen=True, repr=False)
class LinearRidgeRisk(SummaryRepr):
    """Asymptotic bias, variance and test error of isotropic linear ridge regression.

    Every field is a float for scalar input, else a read-only float64 array of the
    broadcast shape of ``phi`` and ``ridge``.

    Attributes
    ----------
    phi : float or numpy.ndarray
        φ = N/P (the paper's ``1/γ``).
    ridge : float or numpy.ndarray
        λ ≥ 0 (0 is the ridgeless, minimum-norm limit λ → 0⁺).
    bias : float or numpy.ndarray
        ``r² λ² m′(−λ)``: the error of the noiseless fit.
    variance : float or numpy.ndarray
        ``σ² γ (m(−λ) − λ m′(−λ))``: the error added by the label noise.
    risk : float or numpy.ndarray
        ``bias + variance = E_x[(xᵀ(β̂ − β))²]`` (``inf`` at the ridgeless φ = 1 with
        noise > 0).
    test_error : float or numpy.ndarray
        ``risk + σ²``: the expected squared error on a fresh labelled point.

    Examples
    --------
    >>> import numpy as np
    >>> from ntkjam.theory import linear_ridge_risk
    >>> r = linear_ridge_risk(np.array([0.5, 1.5, 4.0]), 0.1, noise=0.2)
    >>> r.risk.shape, np.allclose(r.risk, r.bias + r.variance), np.allclose(r.test_error,
    ...                                                                    r.risk + 0.2)
    ((3,), True, True)
    """

    phi: float | np.ndarray
    ridge: float | np.ndarray
    bias: float | np.ndarray
    variance: float | np.ndarray
    risk: float | np.ndarray
    test_error: float | np.ndarray


def _ridge_terms(gamma: np.ndarray, lam: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(λ² m′(−λ), γ (m − λ m′))`` for λ > 0, free of cancellation and overflow.

    ``m = m(−λ)`` is the positive root of ``γλ m² + b m − 1 = 0`` with
    ``b = 1 − γ + λ``; with ``q = √(b² + 4γλ)`` one has ``m′ = (γm² + m)/q`` and, with
    ``u = 1 − γ − λ`` (so that ``q² − u² = 4λ``),
    ``m − λm′ = m (q + u)/(2q) = 2λm/(q (q − u))``.  Only ``λm`` (bounded) is formed
    when m is large (γ > 1, λ → 0, where the atom of the law at 0 gives m ≈ (1 − 1/γ)/λ).
    """
    b = 1.0 - gamma + lam
    q = np.sqrt(b * b + 4.0 * gamma * lam)
    # λ m, from whichever form of the root has no cancellation
    with np.errstate(divide="ignore", invalid="ignore"):
        lam_m = np.where(b >= 0.0, 2.0 * lam / (b + q), (q - b) / (2.0 * gamma))
        bias = (gamma * lam_m * lam_m + lam * lam_m) / q
        u = 1.0 - gamma - lam
        m_minus = np.where(u >= 0.0, (lam_m / lam) * (q + u) / (2.0 * q),
                           2.0 * lam_m / (q * (q - u)))
    return bias, gamma * m_minus


def _ridgeless_terms(gamma: np.ndarray, noisy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(B/r², V/σ²)`` of the minimum-norm solution; at γ = 1, V = inf (0 when noiseless)."""
    over = gamma > 1.0
    with np.errstate(divide="ignore", invalid="ignore"):
        bias = np.where(over, 1.0 - 1.0 / gamma, 0.0)
        variance = np.where(over, 1.0 / (gamma - 1.0), gamma / (1.0 - gamma))
    variance = np.where(gamma == 1.0, np.where(noisy, np.inf, 0.0), variance)
    return bias, variance


def linear_ridge_risk(phi, ridge=0.0, *, signal: float = 1.0,
                      noise: float = 0.0) -> LinearRidgeRisk:
    """Hastie et al.'s asymptotic risk of ridge regression, ``x ~ N(0, I_P)``.

    ``B = r² λ² m′(−λ)``, ``V = σ² γ (m(−λ) − λ m′(−λ))`` with γ = P/N = 1/φ and
    ``m(−λ) = (−(1 − γ + λ) + √((1 − γ + λ)² + 4γλ)) / (2γλ)`` the Marchenko–Pastur
    Stieltjes transform; ``ridge = 0`` is the ridgeless limit
    (:func:`linear_ridgeless_risk`).  The optimal ridge is ``λ* = σ²γ/r²``.

    Parameters
    ----------
    phi : float or array_like
        φ = N/P > 0 (N training points, P features).
    ridge : float or array_like
        λ ≥ 0 in ``(1/N)‖y − Xb‖² + λ‖b‖²``; broadcast against ``phi``.
    signal : float
        r² = ‖β‖² ≥ 0, the variance of the noiseless label xᵀβ.
    noise : float
        σ² ≥ 0, the variance of the label noise.

    Returns
    -------
    LinearRidgeRisk
        ``bias``, ``variance``, ``risk = bias + variance`` (no label noise) and
        ``test_error = risk + noise``.

    Examples
    --------
    The optimal ridge λ* = σ²/(φ r²) beats its neighbours, and λ → 0⁺ is the ridgeless limit:

    >>> import numpy as np
    >>> from ntkjam.theory import linear_ridge_risk, linear_ridgeless_risk
    >>> phi, noise = 2.0, 0.5
    >>> best = noise / phi
    >>> risks = [linear_ridge_risk(phi, lam, noise=noise).risk
    ...          for lam in (best / 2, best, 2 * best)]
    >>> risks[1] < min(risks[0], risks[2])
    True
    >>> bool(np.isclose(linear_ridge_risk(phi, 1e-9, noise=noise).risk,
    ...                 linear_ridgeless_risk(phi, noise=noise).risk, rtol=1e-6))
    True
    """
    p, lam = broadcast_named(phi=phi, ridge=ridge)
    check_range("phi", p, positive=True, what="phi = N/P")
    check_range("ridge", lam, nonnegative=True)
    r2 = as_real("signal", signal, nonnegative=True)
    s2 = as_real("noise", noise, nonnegative=True)
    gamma = 1.0 / p
    zero = lam == 0.0
    b_ridge, v_ridge = _ridge_terms(gamma, np.where(zero, 1.0, lam))
    b_less, v_less = _ridgeless_terms(gamma, np.full(p.shape, s2 > 0.0))
    bias = r2 * np.where(zero, b_less, b_ridge)
    variance = s2 * np.where(zero, v_less, v_ridge)
    risk = bias + variance
    scalar = p.ndim == 0
    return LinearRidgeRisk(
        phi=finish(p, scalar), ridge=finish(lam, scalar), bias=finish(bias, scalar),
        variance=finish(variance, scalar), risk=finish(risk, scalar),
        test_error=finish(risk + s2, scalar),
    )


def linear_ridgeless_risk(phi, *, signal: float = 1.0, noise: float = 0.0) -> LinearRidgeRisk:
    """The minimum-norm least-squares limit λ → 0⁺ of :func:`linear_ridge_risk`.

    With γ = 1/φ: for φ > 1 (γ < 1, more points than features) ``B = 0`` and
    ``V = σ² γ/(1 − γ) = σ²/(φ − 1)``; for φ < 1 (the interpolating side)
    ``B = r² (1 − φ)`` and ``V = σ²/(γ − 1) = σ² φ/(1 − φ)``.  At φ = 1 the variance
    diverges (``inf``; 0 when ``noise = 0``, where the bias vanishes too).

    Parameters
    ----------
    phi : float or array_like
        φ = N/P > 0.
    signal : float
        r² = ‖β‖² ≥ 0.
    noise : float
        σ² ≥ 0.

    Returns
    -------
    LinearRidgeRisk
        With ``ridge = 0``.

    Examples
    --------
    >>> from ntkjam.theory import linear_ridgeless_risk
    >>> r = linear_ridgeless_risk([0.5, 2.0], noise=0.1)
    >>> r.bias.round(9).tolist(), r.variance.round(9).tolist()   # 1 − φ; σ²φ/(1 − φ), σ²/(φ − 1)
    ([0.5, 0.0], [0.1, 0.1])
    >>> linear_ridgeless_risk(1.0, noise=0.1).risk
    inf
    """
    return linear_ridge_risk(phi, 0.0, signal=signal, noise=noise)
