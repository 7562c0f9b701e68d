"""Asymptotic test error of random-features ridge(less) regression.

Mei & Montanari, *The generalization error of random features regression: precise
asymptotics and double descent curve* (arXiv:1908.05355).  Derivation summary and
regime of validity: ``docs/theory_generalization.md``.

Setting, in ntkjam's letters (the paper's ``n`` samples and ``N`` features are our N
and P): inputs ``x_i`` uniform on the sphere of radius √d in R^d, weights ``θ_j``
uniform on the same sphere, P features ``σ(⟨θ_j, x⟩/√d)`` and the model
``f(x) = Σ_j a_j σ(⟨θ_j, x⟩/√d)`` fitted by

    â = argmin_a (1/N) Σ_i (y_i − f(x_i))² + (P λ/d) ‖a‖²,

i.e. ``â = (ZᵀZ + N P λ/d · I)⁻¹ Zᵀy`` with Z the (N, P) feature matrix.  Labels
``y_i = f*(x_i) + ε_i``, ``f*(x) = ⟨β₁, x⟩ + f_NL(x)`` with ``‖β₁‖² = F₁²``
(``signal``), ``E f_NL² = F*²`` (``nonlinear_signal``, orthogonal to linear
functions) and noise of variance τ² (``noise``).  The limit is N, P, d → ∞ at fixed

    ψ₁ = P/d,   ψ₂ = N/d   (so φ = N/P = ψ₂/ψ₁).

The activation enters through ``μ₀ = E σ(G)``, ``μ₁ = E G σ(G)`` and
``μ*² = E σ(G)² − μ₀² − μ₁²`` (G ~ N(0, 1)), by ``ζ = μ₁/μ*`` and ``λ̄ = λ/μ*²``.
The risk is

    R = E_x[(f*(x) − f(x))²] = F₁² B(ζ, ψ₁, ψ₂, λ̄) + (τ² + F*²) V(ζ, ψ₁, ψ₂, λ̄) + F*²,

with ``B = E₁/E₀`` and ``V = E₂/E₀`` rational functions of ``χ = ν₁ν₂``, where ν₁, ν₂
solve the paper's two coupled equations at ``ξ = i √(ψ₁ψ₂λ̄)`` (Definition 1 there).
μ₀ does not enter (the constant direction costs O(1/N)).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import scipy.optimize
from scipy.special import roots_hermitenorm, roots_legendre

from ntkjam._validate import as_float_array, as_int, as_real
from ntkjam.core.reprs import SummaryRepr
from ntkjam.theory._broadcast import broadcast_named, check_range, finish

__all__ = [
    "ActivationCoefficients",
    "RandomFeaturesRisk",
    "activation_coefficients",
    "random_features_chi",
    "random_features_risk",
    "relu_coefficients",
]

#: Half-width of the Gaussian integrals of :func:`activation_coefficients`: the weight
#: e^{-u²/2} is below 1e-60 beyond it (activations may grow like e^{c|u|}, c ≲ 5).
_GAUSS_HALF_WIDTH = 17.0


@dataclass(frozen=True, repr=False)
class ActivationCoefficients(SummaryRepr):
    """The Hermite decomposition of an activation that enters the theory.

    ``σ(G) = μ₀ + μ₁ G + σ_⊥(G)`` with G ~ N(0, 1) and ``E σ_⊥(G)² = μ*²``.

    Attributes
    ----------
    mu0 : float
        μ₀ = E σ(G).
    mu1 : float
        μ₁ = E G σ(G).
    mu_star : float
        μ* = √(E σ(G)² − μ₀² − μ₁²) ≥ 0, the nonlinear part.

    Examples
    --------
    >>> import math
    >>> from ntkjam.theory import ActivationCoefficients
    >>> c = ActivationCoefficients(mu0=0.0, mu1=1.0, mu_star=0.5)
    >>> c.zeta, ActivationCoefficients(0.0, 1.0, 0.0).zeta == math.inf
    (2.0, True)
    """

    mu0: float
    mu1: float
    mu_star: float

    @property
    def zeta(self) -> float:
        """ζ = μ₁/μ* (the signal-to-nonlinearity ratio of the features); inf if μ* = 0.

        Examples
        --------
        >>> from ntkjam.theory import ActivationCoefficients, relu_coefficients
        >>> round(relu_coefficients().zeta, 4), ActivationCoefficients(0.0, 1.0, 0.0).zeta
        (1.6589, inf)
        """
        return math.inf if self.mu_star == 0 else self.mu1 / self.mu_star


def relu_coefficients() -> ActivationCoefficients:
    """Closed forms for ReLU: ``μ₀ = 1/√(2π)``, ``μ₁ = 1/2``, ``μ*² = 1/4 − 1/(2π)``.

    (E relu(G) = φ(0), E G relu(G) = E G² 1{G>0} = 1/2, E relu(G)² = 1/2.)

    Returns
    -------
    ActivationCoefficients

    Examples
    --------
    >>> import math
    >>> from ntkjam.theory import relu_coefficients
    >>> c = relu_coefficients()
    >>> c.mu1, round(c.mu0 * math.sqrt(2 * math.pi), 9), round(c.mu_star**2 + 1 / (2 * math.pi), 9)
    (0.5, 1.0, 0.25)
    """
    return ActivationCoefficients(
        mu0=1.0 / math.sqrt(2.0 * math.pi), mu1=0.5,
        mu_star=math.sqrt(0.25 - 1.0 / (2.0 * math.pi)),
    )


def _gauss_nodes(breakpoints: Sequence[float] | None, n_nodes: int):
    """Nodes and weights of E f(G): Gauss–Hermite, or Gauss–Legendre panels."""
    if breakpoints is None:
        u, w = roots_hermitenorm(n_nodes)
        return u, w / math.sqrt(2.0 * math.pi)
    cuts = as_float_array("breakpoints", list(breakpoints), ndim=1)
    L = _GAUSS_HALF_WIDTH
    edges = np.unique(np.concatenate([[-L, L], cuts[(cuts > -L) & (cuts < L)]]))
    s, ws = roots_legendre(n_nodes)
    nodes, weights = [], []
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        half = 0.5 * (hi - lo)
        u = lo + half * (s + 1.0)
        nodes.append(u)
        weights.append(half * ws * np.exp(-0.5 * u * u) / math.sqrt(2.0 * math.pi))
    return np.concatenate(nodes), np.concatenate(weights)


def activation_coefficients(
    activation: Callable[[np.ndarray], object],
    *,
    breakpoints: Sequence[float] | None = (0.0,),
    n_nodes: int = 200,
) -> ActivationCoefficients:
    """μ₀, μ₁, μ* of any activation by Gaussian quadrature.

    Parameters
    ----------
    activation : callable
        ``activation(u) -> values`` for a 1-D float64 array u (vectorized).
    breakpoints : sequence of float or None
        Points where the activation is not smooth (default 0, where ReLU, |u|, leaky
        ReLU and hard-tanh-like functions kink).  The integrals ``E f(G)`` are then
        Gauss–Legendre sums on the panels of [−17, 17] cut there (exponential
        convergence for piecewise-analytic activations).  ``None`` uses plain
        Gauss–Hermite nodes, as accurate for smooth activations but only O(1/n) for a
        kink (2e-3 for ReLU's μ₀ at n = 100).
    n_nodes : int
        Nodes per panel (or Gauss–Hermite nodes), >= 2.

    Returns
    -------
    ActivationCoefficients

    Examples
    --------
    The quadrature reproduces ReLU's closed forms; the identity has μ₁ = 1, μ* = 0:

    >>> import numpy as np
    >>> from ntkjam.theory import activation_coefficients, relu_coefficients
    >>> a, c = activation_coefficients(lambda u: np.maximum(u, 0.0)), relu_coefficients()
    >>> bool(np.allclose([a.mu0, a.mu1, a.mu_star], [c.mu0, c.mu1, c.mu_star], rtol=1e-10, atol=0))
    True
    >>> lin = activation_coefficients(lambda u: u, breakpoints=None)
    >>> round(lin.mu1, 9), round(lin.mu_star, 6)
    (1.0, 0.0)
    """
    if not callable(activation):
        raise TypeError(f"activation must be callable (a function of u), got {activation!r}")
    n_nodes = as_int("n_nodes", n_nodes, minimum=2)
    u, w = _gauss_nodes(breakpoints, n_nodes)
    values = np.asarray(activation(u), dtype=np.float64)
    if values.shape != u.shape or not np.all(np.isfinite(values)):
        raise ValueError(
            f"activation must return one finite value per node (shape {u.shape}), got "
            f"shape {values.shape}" + ("" if values.shape != u.shape else " with NaN or inf"))
    mu0 = float(w @ values)
    mu1 = float(w @ (u * values))
    second = float(w @ (values * values))
    rest = second - mu0 * mu0 - mu1 * mu1
    # rest >= 0 exactly (Bessel); clip rounding below a relative 1e-12
    if rest < -1e-12 * max(second, np.finfo(float).tiny):
        raise ValueError(f"E σ² − μ0² − μ1² = {rest:.3g} < 0: the quadrature is too coarse "
                         "for this activation (raise n_nodes)")
    return ActivationCoefficients(mu0=mu0, mu1=mu1, mu_star=math.sqrt(max(rest, 0.0)))


@dataclass(frozen=True, repr=False)
class RandomFeaturesRisk(SummaryRepr):
    """Mei–Montanari asymptotic risk of random-features ridge regression.

    Every field is a float for scalar input, else a read-only float64 array of the
    broadcast shape of ``psi1``, ``psi2`` and ``ridge``.

    Attributes
    ----------
    psi1, psi2 : float or numpy.ndarray
        ψ₁ = P/d (features per dimension), ψ₂ = N/d (points per dimension).
    ridge : float or numpy.ndarray
        λ ≥ 0 (0: the ridgeless limit λ → 0⁺, the minimum-norm interpolator for P > N).
    chi : float or numpy.ndarray
        χ = ν₁ν₂ < 0 at ξ = i√(ψ₁ψ₂λ̄).
    bias_factor, variance_factor : float or numpy.ndarray
        B = E₁/E₀ and V = E₂/E₀ (``inf`` at the ridgeless ψ₁ = ψ₂).
    bias : float or numpy.ndarray
        ``F₁² B``: the error on the linear part of the target.
    variance : float or numpy.ndarray
        ``(τ² + F*²) V``: the error added by the noise and by the nonlinear part of the
        target, which the N ∝ d samples cannot resolve and which acts as noise.
    risk : float or numpy.ndarray
        ``bias + variance + F*² = E_x[(f*(x) − f(x))²]`` (no label noise).
    test_error : float or numpy.ndarray
        ``risk + τ²``: the squared error on a fresh noisy label.

    Examples
    --------
    >>> import numpy as np
    >>> from ntkjam.theory import random_features_risk
    >>> r = random_features_risk(np.array([0.5, 2.0]), 1.0, noise=0.1, nonlinear_signal=0.2)
    >>> r.phi.tolist(), np.allclose(r.risk, r.bias + r.variance + 0.2)
    ([2.0, 0.5], True)
    """

    psi1: float | np.ndarray
    psi2: float | np.ndarray
    ridge: float | np.ndarray
    chi: float | np.ndarray
    bias_factor: float | np.ndarray
    variance_factor: float | np.ndarray
    bias: float | np.ndarray
    variance: float | np.ndarray
    risk: float | np.ndarray
    test_error: float | np.ndarray

    @property
    def phi(self) -> float | np.ndarray:
        """φ = N/P = ψ₂/ψ₁, a float or an array of the fields' shape.

        Examples
        --------
        >>> import numpy as np
        >>> from ntkjam.theory import random_features_risk
        >>> r = random_features_risk(np.array([0.5, 4.0]), 2.0)   # ψ₁ = P/d, ψ₂ = N/d
        >>> random_features_risk(2.0, 1.0).phi, r.phi.tolist(), r.phi.shape == r.risk.shape
        (0.5, [4.0, 0.5], True)
        """
        return self.psi2 / self.psi1


def _ridgeless_c(psi: float, z2: float) -> float:
    """The root c > 0 of ``c + ζ²c/(1 + ζ²c) = ψ`` (ψ = min(ψ₁, ψ₂)), i.e. −χ at λ → 0⁺.

    ``ζ²c² + (1 + ζ² − ψζ²) c − ψ = 0``, the positive root in its cancellation-free form.
    """
    b = 1.0 + z2 - psi * z2
    disc = math.sqrt(b * b + 4.0 * z2 * psi)
    return 2.0 * psi / (b + disc) if b >= 0.0 else (disc - b) / (2.0 * z2)


def _chi_point(psi1: float, psi2: float, lam_bar: float, z2: float) -> float:
    """χ = ν₁ν₂ at ξ = i√(ψ₁ψ₂λ̄), by a bracketed scalar root.

    At purely imaginary ξ = i s the solution is ``ν₁ = i a``, ``ν₂ = i b`` with a, b > 0,
    and the two equations read ``a s + g(c) = ψ₁``, ``b s + g(c) = ψ₂`` with ``c = ab``
    and ``g(c) = c + ζ²c/(1 + ζ²c)``.  Eliminating a and b:
    ``s² c = (ψ₁ − g(c))(ψ₂ − g(c))`` on ``0 < c < c_max`` (g(c_max) = min ψ), where the
    left side increases from 0 and the right side decreases to 0: one root.
    """
    c_max = _ridgeless_c(min(psi1, psi2), z2)
    if lam_bar == 0.0:
        return -c_max
    s2 = psi1 * psi2 * lam_bar

    def residual(c: float) -> float:
        g = c + z2 * c / (1.0 + z2 * c)
        return s2 * c - (psi1 - g) * (psi2 - g)

    c = scipy.optimize.brentq(residual, 0.0, c_max, xtol=1e-300, rtol=1e-15, maxiter=500)
    return -c


def _rational(chi: float, z: float, psi1: float, psi2: float) -> tuple[float, float, float]:
    """Mei–Montanari's E₀, E₁, E₂ at χ (their Definition 1), ζ = z."""
    x, p12 = chi, psi1 * psi2
    z2, z4, z6 = z * z, z**4, z**6
    x2, x3, x4, x5 = x * x, x**3, x**4, x**5
    e0 = (-x5 * z6 + 3.0 * x4 * z4 + (p12 - psi2 - psi1 + 1.0) * x3 * z6
          - 2.0 * x3 * z4 - 3.0 * x3 * z2 + (psi1 + psi2 - 3.0 * p12 + 1.0) * x2 * z4
          + 2.0 * x2 * z2 + x2 + 3.0 * p12 * x * z2 - p12)
    e1 = psi2 * x3 * z4 - psi2 * x2 * z2 + p12 * x * z2 - p12
    e2 = (x5 * z6 - 3.0 * x4 * z4 + (psi1 - 1.0) * x3 * z6 + 2.0 * x3 * z4 + 3.0 * x3 * z2
          + (-psi1 - 1.0) * x2 * z4 - 2.0 * x2 * z2 - x2)
    return e0, e1, e2


def _point(psi1: float, psi2: float, lam_bar: float, z: float) -> tuple[float, float, float]:
    """(χ, B, V) at one point; B = V = inf at the ridgeless interpolation threshold."""
    chi = _chi_point(psi1, psi2, lam_bar, z * z)
    if lam_bar == 0.0 and psi1 == psi2:
        return chi, math.inf, math.inf
    e0, e1, e2 = _rational(chi, z, psi1, psi2)
    return chi, e1 / e0, e2 / e0


def _coefficients(coefficients: object) -> ActivationCoefficients:
    if coefficients is None:
        return relu_coefficients()
    if not isinstance(coefficients, ActivationCoefficients):
        raise TypeError("coefficients must be an ActivationCoefficients (relu_coefficients(), "
                        f"activation_coefficients(f)), got {coefficients!r}")
    if not coefficients.mu_star > 0:
        raise ValueError(
            f"coefficients.mu_star must be > 0 (a nonlinear activation), got "
            f"{coefficients.mu_star}; for a linear activation the features are a random "
            "projection and this formula does not apply")
    return coefficients


def random_features_chi(psi1, psi2, ridge=0.0, *, coefficients=None) -> float | np.ndarray:
    """χ = ν₁ν₂ of Mei–Montanari's Definition 1 at ξ = i√(ψ₁ψ₂λ̄), λ̄ = λ/μ*².

    Ridgeless (``ridge = 0``) it is their closed form
    ``χ = −[(ψζ² − ζ² − 1) + √((ψζ² − ζ² − 1)² + 4ψζ²)]/(2ζ²)``, ψ = min(ψ₁, ψ₂).

    Parameters
    ----------
    psi1, psi2 : float or array_like
        ψ₁ = P/d > 0, ψ₂ = N/d > 0.
    ridge : float or array_like
        λ ≥ 0 (see :func:`random_features_risk`).
    coefficients : ActivationCoefficients, optional
        Default: ReLU.

    Returns
    -------
    float or numpy.ndarray

    Examples
    --------
    The ridgeless closed form at ψ = min(ψ₁, ψ₂) = ½, ReLU (ζ = μ₁/μ*):

    >>> import numpy as np
    >>> from ntkjam.theory import random_features_chi, relu_coefficients
    >>> z2, psi = relu_coefficients().zeta ** 2, 0.5
    >>> b = psi * z2 - z2 - 1
    >>> closed = -(b + np.sqrt(b * b + 4 * psi * z2)) / (2 * z2)
    >>> bool(np.isclose(random_features_chi(0.5, 1.0), closed))
    True
    """
    return random_features_risk(psi1, psi2, ridge, coefficients=coefficients).chi


def random_features_risk(
    psi1,
    psi2,
    ridge=0.0,
    *,
    coefficients: ActivationCoefficients | None = None,
    signal: float = 1.0,
    noise: float = 0.0,
    nonlinear_signal: float = 0.0,
) -> RandomFeaturesRisk:
    """Mei–Montanari's asymptotic risk of random-features ridge(less) regression.

    ``R = F₁² B + (τ² + F*²) V + F*²`` with B, V the rational functions E₁/E₀, E₂/E₀ of
    χ (module docstring); exact as N, P, d → ∞ at fixed ψ₁ = P/d, ψ₂ = N/d.  The
    ridgeless risk diverges at the interpolation threshold ψ₁ = ψ₂ (P = N).

    Parameters
    ----------
    psi1 : float or array_like
        ψ₁ = P/d > 0, features per input dimension.
    psi2 : float or array_like
        ψ₂ = N/d > 0, training points per input dimension.
    ridge : float or array_like
        λ ≥ 0 in ``(1/N) Σ (y_i − f(x_i))² + (Pλ/d) ‖a‖²`` (the paper's normalization);
        0 is the limit λ → 0⁺.  Broadcast with ``psi1`` and ``psi2``.
    coefficients : ActivationCoefficients, optional
        μ₀, μ₁, μ* of the activation (:func:`relu_coefficients`, the default, or
        :func:`activation_coefficients`); μ* > 0 is required.
    signal : float
        F₁² = ‖β₁‖² ≥ 0, the power of the linear part of the target.
    noise : float
        τ² ≥ 0, the variance of the label noise.
    nonlinear_signal : float
        F*² ≥ 0, the power of the nonlinear part of the target.

    Returns
    -------
    RandomFeaturesRisk

    Examples
    --------
    The ridgeless risk (ReLU features, noisy labels) diverges at the interpolation
    threshold P = N (ψ₁ = ψ₂) and falls on both sides; a ridge regularises it:

    >>> import numpy as np
    >>> from ntkjam.theory import random_features_risk
    >>> r = random_features_risk([0.5, 1.0, 2.0, 50.0], 1.0, noise=0.1)
    >>> r.risk.shape, float(r.risk[1]), bool(r.risk[3] < r.risk[2] < r.risk[0])
    ((4,), inf, True)
    >>> bool(random_features_risk(1.0, 1.0, 0.1, noise=0.1).risk < np.inf)
    True
    """
    coef = _coefficients(coefficients)
    p1, p2, lam = broadcast_named(psi1=psi1, psi2=psi2, ridge=ridge)
    check_range("psi1", p1, positive=True, what="psi1 = P/d")
    check_range("psi2", p2, positive=True, what="psi2 = N/d")
    check_range("ridge", lam, nonnegative=True)
    f1 = as_real("signal", signal, nonnegative=True)
    tau2 = as_real("noise", noise, nonnegative=True)
    fstar = as_real("nonlinear_signal", nonlinear_signal, nonnegative=True)
    lam_bar = lam / coef.mu_star**2
    z = coef.mu1 / coef.mu_star
    chi, bias_f, var_f = (np.empty(p1.shape) for _ in range(3))
    for idx in np.ndindex(p1.shape):
        chi[idx], bias_f[idx], var_f[idx] = _point(
            float(p1[idx]), float(p2[idx]), float(lam_bar[idx]), z)
    bias = f1 * bias_f if f1 > 0 else np.zeros(p1.shape)
    scale = tau2 + fstar
    variance = scale * var_f if scale > 0 else np.zeros(p1.shape)
    risk = bias + variance + fstar
    s = p1.ndim == 0
    return RandomFeaturesRisk(
        psi1=finish(p1, s), psi2=finish(p2, s), ridge=finish(lam, s), chi=finish(chi, s),
        bias_factor=finish(bias_f, s), variance_factor=finish(var_f, s),
        bias=finish(bias, s), variance=finish(variance, s), risk=finish(risk, s),
        test_error=finish(risk + tau2, s),
    )
