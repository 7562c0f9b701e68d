"""The Silverstein (generalised Marchenko–Pastur) law of ``K = J Jᵀ / P`` at φ = N/P.

The P columns of ``J`` are iid with population covariance ``C`` (N, N) given by its
eigenvalues τ.  The Stieltjes transform ``m̲(z)`` of the companion matrix ``Jᵀ J/P``
(P, P) is the unique solution in the upper half plane of

    z = -1/m̲ + φ Σ_i w_i τ_i / (1 + τ_i m̲),          w_i = 1/N,

and the Stieltjes transform of ``J Jᵀ/P`` is ``m = (m̲ + (1 - φ)/z)/φ``; the density is
``Im m(x + i0)/π``.  The solver continues ``z = x + iη`` from a large η down to
``η ~ 1e-10 x`` with damped Newton steps that stay in the upper half plane (where the
solution is unique, so a converged step is the right branch), vectorised over the grid
of x.  With all τ equal it is the Marchenko–Pastur law of
:mod:`ntkjam.spectrum.random_matrix`.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from ntkjam._validate import as_float_array, as_int
from ntkjam.spectrum.spectral_law import SpectralLaw, check_phi, make_law

__all__ = ["check_population", "silverstein_atom", "silverstein_law", "silverstein_stieltjes"]


def check_population(tau: object, name: str = "population") -> np.ndarray:
    """Validate population eigenvalues: finite, 1-D, non-empty, non-negative.

    Values in ``[-n·eps·max, 0)`` are rounding and are set to 0; anything more
    negative raises ``ValueError``.

    Parameters
    ----------
    tau : array_like, shape (n,)
        Eigenvalues of a population covariance.
    name : str
        Parameter name used in the error messages.

    Returns
    -------
    numpy.ndarray, shape (n,)
        A float64 copy, with the rounding below 0 set to 0.

    Examples
    --------
    >>> from ntkjam.spectrum.silverstein import check_population
    >>> check_population([2.0, -1e-17, 1.0]).tolist()
    [2.0, 0.0, 1.0]
    >>> check_population([1.0, -0.5])
    Traceback (most recent call last):
    ...
    ValueError: population must be non-negative (eigenvalues of a covariance), got ...
    """
    tau = as_float_array(name, tau, ndim=1, copy=True)
    if tau.size == 0:
        raise ValueError(f"{name} must contain at least one eigenvalue, got an empty array")
    top = float(np.max(np.abs(tau)))
    tol = tau.size * np.finfo(np.float64).eps * top
    if tau.min() < -tol:
        raise ValueError(
            f"{name} must be non-negative (eigenvalues of a covariance), got minimum "
            f"{tau.min():.3g} (allowed rounding down to {-tol:.3g})"
        )
    tau[tau < 0] = 0.0
    if top == 0.0:
        raise ValueError(f"{name} must have a positive eigenvalue, got all zeros")
    return tau


def silverstein_atom(tau: np.ndarray, phi: float) -> float:
    """Mass at zero of the limiting law: ``1 - min(1/φ, fraction of τ > 0)``.

    ``tau`` (n,) holds checked population eigenvalues (:func:`check_population`),
    ``phi`` is φ = N/P.

    Examples
    --------
    >>> import numpy as np
    >>> from ntkjam.spectrum.silverstein import silverstein_atom
    >>> tau = np.array([1.0, 2.0, 0.0, 0.0])  # half the population is zero
    >>> silverstein_atom(tau, 0.5), silverstein_atom(tau, 4.0)
    (0.5, 0.75)
    """
    positive = float(np.count_nonzero(tau > 0)) / tau.size
    return max(0.0, 1.0 - min(1.0 / phi, positive))


@jax.jit
def _sums_kernel(m, tau, w):
    r = tau[None, :] / (1.0 + m[:, None] * tau[None, :])
    return jnp.sum(r * w, axis=1), jnp.sum(r * r * w, axis=1)


def _silverstein_sums(m: np.ndarray, tau: np.ndarray, w: np.ndarray, chunk: int = 4096):
    """``s1 = Σ w τ/(1+τm)`` and ``s2 = Σ w τ²/(1+τm)²`` for each entry of ``m``.

    A fused XLA reduction (3x faster than NumPy temporaries); ``m`` is padded to a
    power-of-two length so that shrinking active sets reuse a few compilations.
    """
    out1 = np.empty(m.size, dtype=np.complex128)
    out2 = np.empty(m.size, dtype=np.complex128)
    for start in range(0, m.size, chunk):
        part = m[start : start + chunk]
        size = max(64, 1 << int(np.ceil(np.log2(part.size))))
        padded = np.full(size, 1j, dtype=np.complex128)
        padded[: part.size] = part
        s1, s2 = _sums_kernel(padded, tau, w)
        out1[start : start + part.size] = np.asarray(s1)[: part.size]
        out2[start : start + part.size] = np.asarray(s2)[: part.size]
    return out1, out2


def silverstein_stieltjes(
    z: object,
    population: object,
    phi: float,
    *,
    weights: object | None = None,
    max_newton: int = 60,
    tol: float = 1e-12,
) -> np.ndarray:
    """Companion Stieltjes transform ``m̲(z)`` solving the Silverstein equation.

    Parameters
    ----------
    z : array_like of complex, shape (M,)
        Points with ``Im z > 0``.
    population : array_like, shape (n,)
        Eigenvalues τ of the population covariance (>= 0).
    phi : float
        φ = N/P > 0.
    weights : array_like, shape (n,), optional
        Masses of the τ (default uniform 1/n); normalised to sum 1.
    max_newton : int
        Newton iterations per point.
    tol : float
        Relative step size at which Newton stops.

    Returns
    -------
    numpy.ndarray of complex, shape (M,)
        ``m̲(z)``, in the upper half plane.

    Examples
    --------
    With equal eigenvalues it solves the Marchenko–Pastur equation
    ``z = -1/m̲ + φ/(1 + m̲)``:

    >>> import numpy as np
    >>> from ntkjam.spectrum.silverstein import silverstein_stieltjes
    >>> z = np.array([1.0 + 0.1j, 2.0 + 1e-6j])
    >>> m = silverstein_stieltjes(z, np.ones(4), 0.5)
    >>> m.shape, bool(np.all(m.imag > 0)), bool(np.allclose(-1 / m + 0.5 / (1 + m), z))
    ((2,), True, True)
    """
    tau = check_population(population)
    phi = check_phi(phi)
    w = _weights(weights, tau.size)
    z = np.asarray(z, dtype=np.complex128).ravel()
    if np.any(z.imag <= 0):
        raise ValueError("z must lie in the upper half plane (Im z > 0)")
    m = _fixed_point_start(z, tau, w, phi)
    return _newton(z, m, tau, w, phi, max_newton, tol)


def _weights(weights: object | None, n: int) -> np.ndarray:
    if weights is None:
        return np.full(n, 1.0 / n)
    w = as_float_array("weights", weights, ndim=1)
    if w.size != n or np.any(w < 0) or w.sum() <= 0:
        raise ValueError(
            f"weights must be {n} non-negative numbers with a positive sum, got "
            f"shape {w.shape}, minimum {w.min() if w.size else 'n/a'}"
        )
    return w / w.sum()


def _fixed_point_start(z, tau, w, phi, n_iter: int = 10):
    """A few fixed-point sweeps ``m = -1/(z - φ s1(m))``: contractive in C+."""
    m = -1.0 / z
    for _ in range(n_iter):
        s1, _ = _silverstein_sums(m, tau, w)
        m = -1.0 / (z - phi * s1)
    return m


def _newton(z, m, tau, w, phi, max_iter, tol):
    """Damped Newton on ``G(m) = -1/m + φ s1(m) - z``, never leaving Im m > 0.

    A step that is not finite or more than doubles ``|m|`` is replaced by a
    fixed-point step ``m ← -1/(z - φ s1(m))``, which maps the upper half plane
    into itself.
    """
    m = m.copy()
    active = np.ones(m.size, dtype=bool)
    for _ in range(max_iter):
        idx = np.flatnonzero(active)
        if idx.size == 0:
            break
        mi, zi = m[idx], z[idx]
        s1, s2 = _silverstein_sums(mi, tau, w)
        with np.errstate(all="ignore"):
            G = -1.0 / mi + phi * s1 - zi
            dG = 1.0 / mi**2 - phi * s2
            step = -G / dG
        wild = ~np.isfinite(step) | (np.abs(step) > 2.0 * np.abs(mi))
        fixed = -1.0 / (zi - phi * s1)
        step[wild] = fixed[wild] - mi[wild]
        new = mi + step
        # Halve steps that leave the upper half plane (the solution is unique there).
        for _ in range(40):
            out = new.imag <= 0
            if not out.any():
                break
            step[out] *= 0.5
            new[out] = mi[out] + step[out]
        m[idx] = new
        done = (np.abs(step) <= tol * np.abs(new)) & ~wild
        active[idx[done]] = False
    return m


def silverstein_law(
    population: object,
    phi: float,
    *,
    weights: object | None = None,
    grid: object | None = None,
    n_grid: int = 1200,
    refine: int = 4,
) -> SpectralLaw:
    """Limiting spectral law of ``J Jᵀ/P`` for iid columns with population covariance C.

    Parameters
    ----------
    population : array_like, shape (n,)
        Eigenvalues τ of C (>= 0; e.g. the eigenvalues of the limiting kernel's Gram
        on the N data points).  Negative values raise ``ValueError``.
    phi : float
        φ = N/P > 0.
    weights : array_like, shape (n,), optional
        Masses of the τ (default uniform).
    grid : array_like, shape (M,), optional
        Ascending positive x grid.  Default: a geometric plus linear grid of
        ``n_grid`` points on ``(0, τ_max (1 + √φ)²]``, refined ``refine``-fold inside
        the support found on it.
    n_grid : int
        Size of the default coarse grid.
    refine : int
        Subdivisions of each coarse cell touching the support (1 = no refinement).

    Returns
    -------
    SpectralLaw
        Density of the continuous part and the atom ``1 - min(1/φ, P(τ > 0))``.

    Examples
    --------
    With a population of equal eigenvalues it is Marchenko–Pastur; its mean is the
    population's mean, and φ > 1 puts 1 − 1/φ of the mass at zero:

    >>> import numpy as np
    >>> from ntkjam.spectrum import mp_density, silverstein_law
    >>> law = silverstein_law(np.ones(4), 0.5, grid=np.linspace(0.05, 3.0, 60))
    >>> law.atom, bool(np.isclose(law.pdf(1.0), mp_density(1.0, 0.5), rtol=1e-2))
    (0.0, True)
    >>> silverstein_law([1.0, 4.0], 2.0, grid=np.linspace(0.01, 20.0, 100)).atom
    0.5
    """
    tau = check_population(population)
    phi = check_phi(phi)
    w = _weights(weights, tau.size)
    n_grid = as_int("n_grid", n_grid, minimum=16)
    refine = as_int("refine", refine, minimum=1)
    atom = silverstein_atom(tau, phi) if weights is None else _weighted_atom(tau, w, phi)
    x_max = float(tau.max()) * (1.0 + np.sqrt(phi)) ** 2 * 1.05
    if grid is not None:
        x = as_float_array("grid", grid, ndim=1)
        if x.size < 2 or np.any(np.diff(x) <= 0) or x[0] < 0:
            raise ValueError("grid must be ascending, non-negative, with at least 2 points")
        dens = _density_on(x, tau, w, phi, atom)
        return make_law(x, dens, atom)
    # The support starts near τ_min (1 - √φ)² (0 at φ = 1): reach two decades below
    # it (at least 1e-9 x_max, at most 1e-14 x_max) with ≥ 60 points per decade.
    tau_min = float(tau[tau > 0].min())
    lo = max(min(1e-2 * tau_min * (1.0 - np.sqrt(min(phi, 1.0))) ** 2, 1e-9 * x_max),
             1e-14 * x_max)
    n_geo = max(n_grid // 2, int(60 * np.log10(x_max / lo)))
    coarse = np.unique(
        np.concatenate([np.geomspace(lo, x_max, n_geo), np.linspace(lo, x_max, n_grid // 2)])
    )
    dens = _density_on(coarse, tau, w, phi, atom)
    if refine > 1:
        support = dens > 1e-8 * dens.max()
        cells = np.flatnonzero(support[:-1] | support[1:])
        if cells.size:
            frac = np.arange(1, refine) / refine
            extra = (coarse[cells, None] + np.outer(np.diff(coarse)[cells], frac)).ravel()
            new = np.setdiff1d(np.unique(extra), coarse)
            dens_new = _density_on(new, tau, w, phi, atom)
            xs = np.concatenate([coarse, new])
            order = np.argsort(xs)
            coarse, dens = xs[order], np.concatenate([dens, dens_new])[order]
    return make_law(coarse, dens, atom)


def _weighted_atom(tau: np.ndarray, w: np.ndarray, phi: float) -> float:
    positive = float(w[tau > 0].sum())
    return max(0.0, 1.0 - min(1.0 / phi, positive))


def _density_on(x, tau, w, phi, atom, stages: int = 14) -> np.ndarray:
    """Continuous density of ``J Jᵀ/P`` at the points ``x`` by η-continuation.

    ``η`` starts at the scale of the whole spectrum (where the fixed-point map
    contracts fast) and shrinks geometrically to ``1e-10 x``; each stage starts
    Newton from the previous stage's solution.
    """
    x = np.asarray(x, dtype=np.float64)
    top = float(x.max())
    floor = 1e-13 * top
    final = 1e-10 * x + floor
    z = x + 1j * top
    m = _fixed_point_start(z, tau, w, phi)
    for s in np.geomspace(1.0, 1e-13, stages):
        z = x + 1j * np.maximum(s * top, final)
        m = _newton(z, m, tau, w, phi, 40, 1e-13)
    s1, _ = _silverstein_sums(m, tau, w)
    resid = np.abs(-1.0 / m + phi * s1 - z)
    if not np.all(resid <= 1e-8 * (np.abs(z) + np.abs(1.0 / m))):
        raise RuntimeError(
            "the Silverstein solver did not converge on part of the grid "
            f"(worst residual {np.nanmax(resid):.3g})"
        )
    # m (of J Jᵀ/P) = (m̲ + (1 - φ)/z)/φ; drop the Lorentzian of the atom at 0.
    m_full = (m + (1.0 - phi) / z) / phi
    dens = (m_full.imag - atom * z.imag / np.abs(z) ** 2) / np.pi
    return np.clip(dens, 0.0, None)
