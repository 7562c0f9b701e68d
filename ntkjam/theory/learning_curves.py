"""Spectral learning curves of kernel ridge(less) regression.

Bordelon, Canatar & Pehlevan, *Spectrum dependent learning curves in kernel regression
and wide neural networks* (arXiv:2002.02561), and Canatar, Bordelon & Pehlevan,
*Spectral bias and task-model alignment explain generalization in kernel regression
and infinitely wide neural networks* (arXiv:2006.13198).  Derivation summary and regime
of validity: ``docs/theory_generalization.md``.

Setting: a kernel ``k(x, x') = Σ_ρ η_ρ φ_ρ(x) φ_ρ(x')`` with eigenfunctions orthonormal
for the data distribution, N training points (the papers' P), labels
``y = f*(x) + ε`` with ``Var ε = σ²``, and the estimator
``f̂(x) = k(x)ᵀ (K + λ I)⁻¹ y`` (K the N × N Gram, λ the ridge; λ → 0⁺ interpolates).
Eigenvalues may come in degenerate groups: ``η_k`` repeated ``m_k`` times, the target
having total power ``v_k = Σ_{ρ ∈ k} ⟨f*, φ_ρ⟩²`` in the group.  With the effective
ridge κ, the unique positive root of

    κ = λ + κ Σ_k m_k η_k / (κ + N η_k),

and ``γ = Σ_k m_k N η_k² / (κ + N η_k)²  (< 1)``, the generalization error is

    E_g = E_x[(f̂ − f*)²] = (1/(1 − γ)) Σ_k κ² v_k / (κ + N η_k)²  +  σ² γ/(1 − γ).

For a dot-product kernel on S^{d−1} and uniform inputs, ``η_k`` and ``m_k`` are the
Funk–Hecke eigenvalues and multiplicities ``N(d, k)``
(:func:`ntkjam.spectrum.funk_hecke.funk_hecke`: ``mu`` and ``multiplicity``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import scipy.optimize

from ntkjam._validate import as_float_array, as_real
from ntkjam.core.reprs import SummaryRepr
from ntkjam.theory._broadcast import broadcast_named, check_range, finish

__all__ = ["LearningCurve", "effective_ridge", "kernel_learning_curve"]

#: Eigenvalues down to −NEGATIVE_RTOL · max(eigenvalues) are rounding (set to 0).
NEGATIVE_RTOL = 1e-12


@dataclass(frozen=True, repr=False)
class LearningCurve(SummaryRepr):
    """The spectral theory's generalization error at given N and ridge.

    Scalar fields are floats for scalar ``n`` and ``ridge``, else read-only float64
    arrays of their broadcast shape S.

    Attributes
    ----------
    n : float or numpy.ndarray
        N, the number of training points.
    ridge : float or numpy.ndarray
        λ ≥ 0 of ``f̂ = k(x)ᵀ(K + λI)⁻¹y``.
    effective_ridge : float or numpy.ndarray
        κ, the root of ``κ = λ + t + κ Σ_k m_k η_k/(κ + Nη_k)`` (t = ``tail_trace``).
        0 when λ + t = 0 and N exceeds the number of nonzero modes.
    gamma : float or numpy.ndarray
        ``γ = Σ_k m_k N η_k²/(κ + Nη_k)²`` ∈ [0, 1]; 1 at the ridgeless threshold
        (N = number of modes).
    bias : float or numpy.ndarray
        ``Σ_k κ² v_k/(κ + Nη_k)² / (1 − γ)``: the error of the noiseless problem.
    variance : float or numpy.ndarray
        ``σ² γ/(1 − γ)``: the error added by the label noise.
    risk : float or numpy.ndarray
        ``bias + variance = E_x[(f̂(x) − f*(x))²]`` averaged over training sets.
    test_error : float or numpy.ndarray
        ``risk + σ²``: the squared error on a fresh noisy label.
    mode_errors : numpy.ndarray, shape S + (M,)
        ``κ²/((κ + Nη_k)² (1 − γ))``: the fraction of the target power of group k
        that is not learned (the bias is ``Σ_k v_k mode_errors_k``); read-only.

    Examples
    --------
    >>> import numpy as np
    >>> from ntkjam.theory import kernel_learning_curve
    >>> curve = kernel_learning_curve(np.ones(4), np.full(4, 0.25), n=[1.0, 2.0, 8.0])
    >>> curve.risk.shape, curve.mode_errors.shape, curve.mode_errors.flags.writeable
    ((3,), (3, 4), False)
    """

    n: float | np.ndarray
    ridge: float | np.ndarray
    effective_ridge: float | np.ndarray
    gamma: float | np.ndarray
    bias: float | np.ndarray
    variance: float | np.ndarray
    risk: float | np.ndarray
    test_error: float | np.ndarray
    mode_errors: np.ndarray


def _spectrum(eigenvalues, multiplicities, target_power):
    eta = as_float_array("eigenvalues", eigenvalues, ndim=1)
    if eta.size == 0:
        raise ValueError("eigenvalues must hold at least one eigenvalue, got an empty array")
    top = float(np.max(np.abs(eta)))
    if np.any(eta < -NEGATIVE_RTOL * top):
        raise ValueError(f"eigenvalues must be >= 0 (a positive semi-definite kernel), got "
                         f"{float(np.min(eta))}")
    eta = np.where(eta < 0, 0.0, eta)
    if multiplicities is None:
        mult = np.ones_like(eta)
    else:
        mult = as_float_array("multiplicities", multiplicities, ndim=1)
        if mult.shape != eta.shape:
            raise ValueError(f"multiplicities must have the shape of eigenvalues {eta.shape}, "
                             f"got {mult.shape}")
        check_range("multiplicities", mult, nonnegative=True)
    power = as_float_array("target_power", target_power, ndim=1)
    if power.shape != eta.shape:
        raise ValueError(f"target_power must have the shape of eigenvalues {eta.shape} (the "
                         f"target's power in each eigenvalue group), got {power.shape}")
    check_range("target_power", power, nonnegative=True)
    return eta, mult, power


def _kappa(eta: np.ndarray, mult: np.ndarray, n: float, ridge: float) -> float:
    """The effective ridge κ: the root of ``F(κ) = 1 − ridge/κ − Σ mη/(κ + nη)``.

    F increases with κ (both subtracted terms decrease), from ``−∞`` (ridge > 0) or
    ``1 − M/n`` (ridge = 0, M the number of nonzero modes) at κ → 0⁺ to 1, so the
    root is unique; for ridge = 0 and M ≤ n there is none and κ = 0.  The root lies
    in ``[ridge, ridge + Σ mη]`` and is found by Brent's method in log κ.
    """
    trace = float(mult @ eta)
    if trace == 0.0:
        return ridge

    def F(log_k: float) -> float:
        k = math.exp(log_k)
        return 1.0 - ridge / k - float(mult @ (eta / (k + n * eta)))

    hi = ridge + trace
    if ridge > 0.0:
        lo = ridge
    else:
        if float(mult[eta > 0].sum()) <= n:
            return 0.0
        lo = hi
        for _ in range(2000):  # F(0⁺) = 1 − M/n < 0: shrink until F < 0
            lo *= 1e-3
            if F(math.log(lo)) < 0.0 or lo == 0.0:
                break
        if lo == 0.0:
            raise ValueError("the effective ridge is below the float64 range for this "
                             "spectrum; rescale the eigenvalues")
    if F(math.log(lo)) >= 0.0:
        return lo
    return math.exp(scipy.optimize.brentq(F, math.log(lo), math.log(hi),
                                          xtol=1e-15, rtol=1e-15, maxiter=500))


def _point(eta: np.ndarray, mult: np.ndarray, n: float,
           ridge: float) -> tuple[float, float, np.ndarray]:
    """(κ, γ, mode errors) at one N; ``ridge`` includes the tail mass."""
    k = _kappa(eta, mult, n, ridge)
    with np.errstate(divide="ignore", invalid="ignore"):
        # κ = 0 (ridgeless, fewer modes than points): learned modes have factor 0,
        # null modes (η = 0) are never learned: factor 1
        frac = np.where(eta > 0, (k / (k + n * eta)) ** 2, 1.0)
        g = float(mult @ np.where(eta > 0, n * eta**2 / (k + n * eta) ** 2, 0.0))
    if g < 1.0:
        return k, g, frac / (1.0 - g)
    return k, g, np.where(frac > 0, math.inf, 0.0)


def effective_ridge(eigenvalues, n, ridge=0.0, *, multiplicities=None,
                    tail_trace: float = 0.0) -> float | np.ndarray:
    """The effective ridge κ of the spectral theory (see :func:`kernel_learning_curve`).

    Parameters
    ----------
    eigenvalues : array_like, shape (M,)
        η_k ≥ 0.
    n : float or array_like
        N > 0 training points.
    ridge : float or array_like
        λ ≥ 0, broadcast with ``n``.
    multiplicities : array_like, shape (M,), optional
        m_k ≥ 0 (default ones).
    tail_trace : float
        t ≥ 0, the total eigenvalue mass ``Σ m η`` of modes left out of the arrays.

    Returns
    -------
    float or numpy.ndarray

    Examples
    --------
    One mode (η = 1), N = 1, λ = 1: κ solves ``κ² − κ − 1 = 0``, the golden ratio; four
    equal modes and N = 2 without ridge: ``1 = 4/(κ + 2)``, so κ = 2:

    >>> import numpy as np
    >>> from ntkjam.theory import effective_ridge
    >>> round(effective_ridge([1.0], 1.0, 1.0), 9) == round((1 + 5**0.5) / 2, 9)
    True
    >>> round(effective_ridge(np.ones(4), 2.0), 9), effective_ridge(np.ones(4), 5.0)
    (2.0, 0.0)
    """
    no_target = np.zeros(np.shape(as_float_array("eigenvalues", eigenvalues)))
    return kernel_learning_curve(eigenvalues, no_target, n, ridge, multiplicities=multiplicities,
                                 tail_trace=tail_trace).effective_ridge


def kernel_learning_curve(
    eigenvalues,
    target_power,
    n,
    ridge=0.0,
    *,
    multiplicities=None,
    noise: float = 0.0,
    tail_trace: float = 0.0,
) -> LearningCurve:
    """Bordelon–Canatar–Pehlevan generalization error of kernel ridge regression.

    ``E_g = (Σ_k κ² v_k/(κ + Nη_k)² + σ²γ)/(1 − γ)`` with κ and γ as in the module
    docstring.  Modes whose eigenvalues are far below κ/N act only through their total
    mass: pass it as ``tail_trace`` (it adds to the ridge), e.g. for the Funk–Hecke
    coefficients up to degree K, ``t = κ(1) − Σ_{k≤K} N(d,k) μ_k`` (κ(t) the profile).

    Parameters
    ----------
    eigenvalues : array_like, shape (M,)
        η_k ≥ 0, the kernel's eigenvalues for the data distribution (a probability
        measure): e.g. ``FunkHecke.mu``.  Rounding below ``−1e-12 max η`` is set to 0.
    target_power : array_like, shape (M,)
        v_k ≥ 0, the target's power in group k (the sum of its squared coefficients on
        the m_k orthonormal eigenfunctions).  A degree-k zonal function ``P_k(u·x)`` on
        S^{d−1} has ``v_k = 1/N(d, k)``.
    n : float or array_like
        N > 0, the number of training points; an array gives a learning curve.
    ridge : float or array_like
        λ ≥ 0 of ``f̂(x) = k(x)ᵀ(K + λI)⁻¹y`` (no factor N), broadcast with ``n``;
        0 is the limit λ → 0⁺ (the minimum-norm interpolant).
    multiplicities : array_like, shape (M,), optional
        m_k ≥ 0, how many eigenfunctions share η_k (``FunkHecke.multiplicity``);
        default one each.
    noise : float
        σ² ≥ 0, the label-noise variance.
    tail_trace : float
        t ≥ 0, the mass ``Σ m η`` of modes not in the arrays, treated as infinitely many
        vanishing eigenvalues (a white part of the kernel: it adds t to the ridge).
        Their target power is never learned: a target with power v_t there has
        ``v_t/(1 − γ)`` more bias and risk (or list those modes explicitly).

    Returns
    -------
    LearningCurve

    Examples
    --------
    Four equal modes, N = 2, ridgeless: κ = 2, γ = 4·2/4² = ½, each mode keeps
    ``κ²/(κ + N)²/(1 − γ) = ½`` of its power; a noise σ² = 0.1 adds ``σ²γ/(1 − γ) = 0.1``:

    >>> import numpy as np
    >>> from ntkjam.theory import kernel_learning_curve
    >>> c = kernel_learning_curve(np.ones(4), np.full(4, 0.25), 2.0, noise=0.1)
    >>> [round(float(x), 9) for x in (c.effective_ridge, c.gamma, c.bias, c.variance, c.test_error)]
    [2.0, 0.5, 0.5, 0.1, 0.7]
    """
    eta, mult, power = _spectrum(eigenvalues, multiplicities, target_power)
    nb, lam = broadcast_named(n=n, ridge=ridge)
    check_range("n", nb, positive=True, what="the number of training points")
    check_range("ridge", lam, nonnegative=True)
    s2 = as_real("noise", noise, nonnegative=True)
    tail = as_real("tail_trace", tail_trace, nonnegative=True)
    shape = nb.shape
    kappa, gamma, bias = np.empty(shape), np.empty(shape), np.empty(shape)
    modes = np.empty(shape + eta.shape)
    for idx in np.ndindex(shape):
        kappa[idx], gamma[idx], modes[idx] = _point(eta, mult, float(nb[idx]),
                                                    float(lam[idx]) + tail)
        unlearned = modes[idx] * power
        bias[idx] = float(unlearned[power > 0].sum())  # 0·inf is 0 here
    with np.errstate(divide="ignore", invalid="ignore"):
        variance = np.where(gamma < 1.0, s2 * gamma / (1.0 - gamma), math.inf if s2 else 0.0)
    risk = bias + variance
    s = nb.ndim == 0
    modes.setflags(write=False)
    return LearningCurve(
        n=finish(nb, s), ridge=finish(lam, s), effective_ridge=finish(kappa, s),
        gamma=finish(gamma, s), bias=finish(bias, s), variance=finish(variance, s),
        risk=finish(risk, s), test_error=finish(risk + s2, s), mode_errors=modes,
    )
