"""SAT/UNSAT thresholds: Cover, Gardner, Candès–Sur.

Convention: N points (constraints), r (or P) dimensions, φ = N/r.  The papers
quoted use other letters (Cover: N points in d dimensions; Gardner: α = P/N
patterns per synapse; Candès–Sur: κ = p/n features per observation); each
docstring translates.

* :func:`cover_probability` — Cover (1965), *Geometrical and statistical properties
  of systems of linear inequalities with applications in pattern recognition*,
  IEEE Trans. Electron. Comput. EC-14, 326–334: N points in general position in
  R^r, random labels, probability of a homogeneous linear separation
  ``2^{1−N} Σ_{k<r} C(N−1, k)``; exactly ½ at N = 2r.
* :func:`gardner_capacity` — Gardner (1988), *The space of interactions in neural
  network models*, J. Phys. A 21, 257: the capacity of the spherical perceptron
  with stability κ ≥ 0, ``α_c(κ) = 1 / ∫_{−κ}^{∞} Dt (t + κ)²``; α_c(0) = 2.
* :func:`candes_sur_threshold` — Candès & Sur (2020), *The phase transition for the
  existence of the maximum likelihood estimate in high-dimensional logistic
  regression*, Ann. Statist. 48, 27–42 (arXiv:1804.09753): Gaussian covariates and
  a logistic teacher of strength γ are linearly separable with probability → 1
  iff ``p/n > h(γ)``, ``h(γ) = min_t E[(Z − t Y V)_+²]``; h(0) = ½ (Cover).
"""

from __future__ import annotations

import numbers

import numpy as np
import scipy.integrate
import scipy.optimize
import scipy.stats
from scipy.special import expit, logsumexp

from ntkjam._validate import as_float_array, as_int, as_real
from ntkjam.core.deprecation import renamed_keywords
from ntkjam.theory._gauss import gauss_pdf, hinge1_gauss, hinge2_gauss

_LOG2 = float(np.log(2.0))


# ------------------------------------------------------------------------------ Cover
def _binom_half_log_cdf(k0: int, m: int) -> float:
    """``log P(X ≤ k0)`` for ``X ~ Binomial(m, ½)``, never under- or overflowing.

    The regularized incomplete beta function (``scipy.stats.binom.cdf``/``sf``,
    accurate to a few ulps) gives the value whenever it is a normal float; the
    side above ½ uses ``log1p(−sf)``.  Deep lower tails that would underflow are
    summed in log space: logsumexp of ``log C(m, k) − m log 2``
    (``scipy.stats.binom.logpmf``, finite however deep the tail).
    """
    if k0 < 0:
        return -np.inf
    if k0 >= m:
        return 0.0
    if 2 * k0 >= m:
        return float(np.log1p(-scipy.stats.binom.sf(k0, m, 0.5)))
    p = float(scipy.stats.binom.cdf(k0, m, 0.5))
    if p > 1e-290:
        return float(np.log(p))
    ks = np.arange(0, k0 + 1)
    return float(logsumexp(scipy.stats.binom.logpmf(ks, m, 0.5)))


def cover_log_probability(n: int, r: int) -> float:
    """Natural log of Cover's probability of linear separability (see :func:`cover_probability`).

    Finite for every ``n ≥ 1, r ≥ 1`` (values like −7·10⁵ at n = 10⁶, r = 10³
    instead of underflowing to 0).

    Parameters
    ----------
    n : int
        N ≥ 1, number of points.
    r : int
        Dimension r ≥ 0.

    Returns
    -------
    float
        ``log P``, ≤ 0.

    Examples
    --------
    >>> import numpy as np
    >>> from ntkjam.theory import cover_log_probability
    >>> bool(np.isclose(cover_log_probability(4, 2), np.log(0.5)))      # N = 2r: P = ½
    True
    >>> bool(cover_log_probability(10**6, 10**3) < -1e5)
    True
    """
    n = as_int("n", n, minimum=1)
    r = as_int("r", r, minimum=0)
    return _binom_half_log_cdf(r - 1, n - 1)


def cover_probability(n: int | np.ndarray, r: int | np.ndarray, *, affine: bool = False):
    """Cover's probability that N random labels on N points in R^r are linearly separable.

    ``C(N, r) / 2^N = 2^{1−N} Σ_{k=0}^{r−1} C(N−1, k)`` (Cover 1965, function-counting
    theorem), for points in general position and a homogeneous separator (through
    the origin): ``P(∃w: y_i w·x_i > 0 ∀i)``.  It equals
    ``P(X ≤ r − 1)`` for ``X ~ Binomial(N − 1, ½)``, hence exactly ½ at N = 2r, 1
    for N ≤ r, and a step at φ = N/r = 2 as N → ∞ with width ~ N^{−1/2}.

    In ntkjam: with ``f0 = 0`` and any κ > 0 the problem ``y_i J_i·w ≥ κ`` is
    scale-free, so P(SAT) is this with r = rank(J).

    Parameters
    ----------
    n : int or array of int
        N ≥ 1, number of points.
    r : int or array of int
        Dimension r ≥ 0 (the rank of the features).
    affine : bool
        Separation by an affine hyperplane (a free bias, or a free multiple of an
        offset vector): one more dimension, r → r + 1 (Cover 1965, Theorem 1 applied
        in R^{r+1}).  For a *fixed* offset ``f0`` see :func:`cover_probability_offset`.

    Returns
    -------
    float or numpy.ndarray
        Computed in log space (:func:`cover_log_probability`), stable for N up to
        10⁶ and beyond.

    Examples
    --------
    >>> import numpy as np
    >>> from ntkjam.theory import cover_probability
    >>> [round(cover_probability(n, 10), 9) for n in (20, 5)]      # ½ at N = 2r, 1 for N ≤ r
    [0.5, 1.0]
    >>> round(cover_probability(4, 2, affine=True), 9)                 # r → r + 1
    0.875
    >>> cover_probability(np.array([10, 20, 40]), 10).shape
    (3,)
    """
    extra = 1 if affine else 0
    if isinstance(n, numbers.Integral) and isinstance(r, numbers.Integral):
        return float(np.exp(cover_log_probability(n, as_int("r", r, minimum=0) + extra)))
    nn, rr = np.broadcast_arrays(np.asarray(n), np.asarray(r))
    out = np.empty(nn.shape)
    for idx in np.ndindex(nn.shape):
        n_i, r_i = _to_int("n", nn[idx]), _to_int("r", rr[idx])
        out[idx] = np.exp(cover_log_probability(n_i, r_i + extra))
    return out


def cover_probability_offset(n: int, r: int) -> float:
    """P(SAT) for a *fixed* generic offset ``f0`` in the limit κ → 0⁺ (κ ≪ |f0|).

    The strict problem ``y_i (f0_i + J_i·w) > 0`` is the homogeneous problem in
    R^{r+1} for ``(c, w)`` restricted to ``c > 0``.  Its solution cone is convex and
    ``y ↦ −y`` swaps ``c > 0`` with ``c < 0``, so the dichotomies solvable with
    ``c > 0`` number ``(C(N, r+1) + C(N, r)) / 2``:

        P = ½ [cover_probability(N, r) + cover_probability(N, r + 1)].

    For κ > 0 comparable with |f0| the true value lies between
    ``cover_probability(N, r)`` (large κ: the offset is negligible) and this.
    (Derived here from Cover's counting; not a formula quoted from a paper.)

    Parameters
    ----------
    n : int
        N ≥ 1, number of points.
    r : int
        Rank r ≥ 0 of the features.

    Returns
    -------
    float

    Examples
    --------
    >>> import numpy as np
    >>> from ntkjam.theory import cover_probability, cover_probability_offset
    >>> p = cover_probability_offset(4, 2)
    >>> round(p, 9), bool(np.isclose(p, (cover_probability(4, 2) + cover_probability(4, 3)) / 2))
    (0.6875, True)
    """
    return 0.5 * (cover_probability(n, r) + cover_probability(n, r, affine=True))


def _to_int(name: str, value: object) -> int:
    v = np.asarray(value).item()
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    return as_int(name, v)


# ---------------------------------------------------------------------------- Gardner
@renamed_keywords(kappa="margin")
def gardner_capacity(margin: float | np.ndarray = 0.0):
    """Gardner's capacity α_c(κ) of the spherical perceptron with stability (margin) κ ≥ 0.

    ``α_c(κ) = 1 / ∫_{−κ}^{∞} Dt (t + κ)²`` (Gardner 1988, Eq. 31), Dt the standard
    Gaussian measure.  In closed form with Φ, φ the Gaussian CDF and density:

        ∫_{−κ}^{∞} Dt (t + κ)² = (1 + κ²) Φ(κ) + κ φ(κ),

    so α_c(0) = 2 (Cover's φ_c = 2) and α_c(κ) ~ 1/κ² for large κ.  Gardner's
    α = P/N (patterns per synapse) is ntkjam's φ = N/P.  It applies to normalised
    weights ``‖w‖² = P`` and inputs of unit variance per component; the unnormalised
    problem ``y J w ≥ κ`` with ``f0 = 0`` is scale-free and has α_c = 2 for every κ.

    κ < 0 is rejected: there the replica-symmetric formula is not the capacity (the
    problem is non-convex; Franz & Parisi 2016).

    Parameters
    ----------
    margin : float or array_like
        Stability κ ≥ 0, finite (the margin of the constraints ``y f ≥ κ``).  The old
        keyword ``kappa=`` is accepted for one release (``DeprecationWarning``).

    Returns
    -------
    float or numpy.ndarray

    Examples
    --------
    >>> import numpy as np
    >>> from ntkjam.theory import gardner_capacity
    >>> gardner_capacity(0.0)                                # Cover's φ_c = 2
    2.0
    >>> np.round(gardner_capacity([0.0, 1.0, 10.0]), 4).tolist()
    [2.0, 0.5196, 0.0099]
    """
    k = as_float_array("margin", margin)
    if np.any(k < 0):
        raise ValueError(
            f"margin must be >= 0 (the replica-symmetric capacity is not exact for "
            f"negative stability), got {float(np.min(k))}"
        )
    integral = (1.0 + k**2) * scipy.stats.norm.cdf(k) + k * scipy.stats.norm.pdf(k)
    out = 1.0 / integral
    return float(out) if out.ndim == 0 else out


# ------------------------------------------------------------------------ Candès–Sur
def _cs_expect(func, gamma: float) -> float:
    """``E_V[σ(γV) func(V) + σ(−γV) func(−V)]`` over V ~ N(0, 1) by adaptive quadrature."""

    def integrand(v: float) -> float:
        s = expit(gamma * v)
        return float(gauss_pdf(v) * (s * func(v) + (1.0 - s) * func(-v)))

    val, _ = scipy.integrate.quad(integrand, -np.inf, np.inf, epsabs=1e-13, epsrel=1e-12,
                                  limit=200)
    return val


def _cs_objective(t: float, gamma: float) -> float:
    return _cs_expect(lambda v: hinge2_gauss(t * v), gamma)


def _cs_slope(t: float, gamma: float) -> float:
    """``½ d/dt E[(Z − tYV)_+²] = −E[YV (Z − tYV)_+]``."""
    return -_cs_expect(lambda v: v * hinge1_gauss(t * v), gamma)


def candes_sur_threshold(gamma: float) -> float:
    """Candès–Sur separability threshold ``h(γ)`` (in p/n) for a logistic teacher.

    Model (Candès & Sur 2020, Theorem 1): ``x ~ N(0, Σ)`` in R^p,
    ``P(y = 1 | x) = σ(xᵀβ)`` with ``Var(xᵀβ) = γ²`` and σ the logistic function.
    As n, p → ∞ with p/n → κ_CS, the n points are linearly separable (the MLE does
    not exist) with probability → 1 if κ_CS > h(γ) and → 0 if κ_CS < h(γ), where

        h(γ) = min_{t ∈ R} E[(Z − t Y V)_+²],

    V ~ N(0, 1), ``P(Y = 1 | V) = σ(γ V)``, Z ~ N(0, 1) independent.  h(0) = ½
    (Cover) and h decreases to 0 as γ → ∞ (a strong teacher separates the data).

    Computed here by integrating Z in closed form,
    ``E_Z[(Z − a)_+²] = (1 + a²)Φ(−a) − aφ(a)``, V by adaptive quadrature, and
    minimising the convex function of t by a root of its derivative (Brent).

    In ntkjam's convention (N points, P features, φ = N/P) the separability
    threshold is φ_c = 1 / h(γ): see :func:`candes_sur_phi_c`.

    Parameters
    ----------
    gamma : float
        Teacher strength γ ≥ 0, finite.

    Returns
    -------
    float

    Examples
    --------
    >>> from ntkjam.theory import candes_sur_threshold
    >>> candes_sur_threshold(0.0), round(candes_sur_threshold(1.0), 4)
    (0.5, 0.4389)
    >>> candes_sur_threshold(2.0) < candes_sur_threshold(1.0)
    True
    """
    gamma = as_real("gamma", gamma, nonnegative=True)
    if gamma == 0.0:
        return 0.5
    # The slope at t = 0 is -E[YV]/√(2π)·... < 0, and the objective is convex: bracket the root.
    hi = 1.0
    while _cs_slope(hi, gamma) < 0:
        hi *= 2.0
        if hi > 1e8:
            raise ValueError(f"gamma = {gamma} is too large for the quadrature (t* > 1e8)")
    t_star = scipy.optimize.brentq(_cs_slope, 0.0, hi, args=(gamma,), xtol=1e-14, rtol=1e-13)
    return _cs_objective(t_star, gamma)


def candes_sur_phi_c(gamma: float) -> float:
    """The Candès–Sur threshold in ntkjam's φ = N/P: ``φ_c(γ) = 1 / h(γ)`` (2 at γ = 0).

    Parameters
    ----------
    gamma : float
        Teacher strength γ ≥ 0, finite.

    Returns
    -------
    float

    Examples
    --------
    >>> from ntkjam.theory import candes_sur_phi_c, candes_sur_threshold
    >>> candes_sur_phi_c(0.0), round(candes_sur_phi_c(1.0) * candes_sur_threshold(1.0), 9)
    (2.0, 1.0)
    """
    return 1.0 / candes_sur_threshold(gamma)


__all__ = [
    "candes_sur_phi_c",
    "candes_sur_threshold",
    "cover_log_probability",
    "cover_probability",
    "cover_probability_offset",
    "gardner_capacity",
]
