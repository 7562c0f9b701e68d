"""The problem of :mod:`ntkjam.jamming.sphere` on its sphere: fixed data and evaluations.

Notation as there: ``A = diag(y) J`` (N, P), ``b = κ − y ∘ f0``, ``Δ = b − A w``, the
loss ``L = (1/N) Σ ½ max(0, Δ_i)²`` on the sphere ``‖w‖² = R²``; S = {Δ > 0} is the
active set.

:class:`SphereGeometry` holds what one minimisation never changes (A, b, R and the
rounding constants); the functions evaluate a point from its ``A w``: Δ and the loss,
the Euclidean gradient and its tangent part, the rounding of the loss, and whether
every margin is met to within rounding.  The steps that use them are in
:mod:`ntkjam.jamming.sphere_steps`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ntkjam.core.reprs import SummaryRepr
from ntkjam.jamming.certificates import offset_scale
from ntkjam.problem import Problem

__all__ = [
    "SphereGeometry",
    "evaluate",
    "geometry",
    "gradient",
    "is_sat",
    "loss_noise",
    "tangent",
]


EPS = float(np.finfo(float).eps)


@dataclass(frozen=True, repr=False)
class SphereGeometry(SummaryRepr):
    """The fixed data of one minimisation.

    Attributes
    ----------
    A : numpy.ndarray, shape (N, P)
        ``diag(y) J``.
    b : numpy.ndarray, shape (N,)
        ``κ − y ∘ f0``.
    n : int
        N.
    R, R2 : float
        The radius and ``R² = ‖w‖²``.
    abs_tol : float
        ``tol · max|b|`` (``tol`` when b = 0).
    gamma : float
        ``γ_P = P u / (1 − P u)``, the rounding constant of a dot product of length P.
    row1, row2 : numpy.ndarray, shape (N,)
        ``‖A_i‖₁`` and ``‖A_i‖₂``.

    Examples
    --------
    >>> import numpy as np
    >>> from ntkjam.problem import Problem
    >>> from ntkjam.jamming import sphere_geometry as sg
    >>> J = np.random.default_rng(0).standard_normal((6, 3))
    >>> geo = sg.geometry(Problem(J=J, y=np.resize([1.0, -1.0], 6), margin=1.0), 3.0, 1e-9)
    >>> geo.A.shape, geo.b.shape, geo.n, float(geo.R2)
    ((6, 3), (6,), 6, 3.0)
    """

    A: np.ndarray
    b: np.ndarray
    n: int
    R: float
    R2: float
    abs_tol: float
    gamma: float
    row1: np.ndarray
    row2: np.ndarray



def geometry(problem: Problem, R2: float, tol: float) -> SphereGeometry:
    """The :class:`SphereGeometry` of ``problem`` on the sphere ``‖w‖² = R2``.

    Parameters
    ----------
    problem : Problem
        Features J (N, P), labels y (N,), offset f0 (N,), margin κ.
    R2 : float
        ``R² = ‖w‖²``.
    tol : float
        Relative tolerance on Δ (scaled by ``max|b|``).

    Examples
    --------
    >>> import numpy as np
    >>> from ntkjam.problem import Problem
    >>> from ntkjam.jamming import sphere_geometry as sg
    >>> J = np.random.default_rng(0).standard_normal((6, 3))
    >>> geo = sg.geometry(Problem(J=J, y=np.resize([1.0, -1.0], 6), margin=1.0), 3.0, 1e-9)
    >>> bool(np.allclose(geo.b, 1.0)), bool(np.isclose(geo.R, np.sqrt(3)))
    (True, True)
    """
    A = problem.y[:, None] * problem.features()
    b = problem.offsets
    P = A.shape[1]
    u = EPS / 2
    return SphereGeometry(A=A, b=b, n=problem.n_points, R=float(np.sqrt(R2)), R2=float(R2),
                          abs_tol=tol * offset_scale(b), gamma=P * u / (1 - P * u),
                          row1=np.abs(A).sum(axis=1), row2=np.linalg.norm(A, axis=1))


def tangent(g: np.ndarray, w: np.ndarray, R2: float) -> np.ndarray:
    """The projection ``g − (g·w) w/R²`` of ``g`` (P,) onto the tangent space at ``w``.

    Parameters
    ----------
    g, w : numpy.ndarray, shape (P,)
    R2 : float
        ``‖w‖²``.

    Returns
    -------
    numpy.ndarray, shape (P,)

    Examples
    --------
    >>> import numpy as np
    >>> from ntkjam.jamming.sphere_geometry import tangent
    >>> w = np.array([1.0, 1.0, 1.0])
    >>> t = tangent(np.array([1.0, 2.0, 3.0]), w, 3.0)
    >>> t.shape, bool(np.isclose(t @ w, 0.0))
    ((3,), True)
    """
    return g - (float(g @ w) / R2) * w


def evaluate(geo: SphereGeometry, Aw: np.ndarray) -> tuple[np.ndarray, float]:
    """``(Δ, L)`` from ``A w`` (N,): ``Δ = b − A w`` (N,) and the loss, a float.

    Examples
    --------
    >>> import numpy as np
    >>> from ntkjam.problem import Problem
    >>> from ntkjam.jamming import sphere_geometry as sg
    >>> J = np.random.default_rng(0).standard_normal((6, 3))
    >>> geo = sg.geometry(Problem(J=J, y=np.resize([1.0, -1.0], 6), margin=1.0), 3.0, 1e-9)
    >>> w = np.array([1.0, 1.0, 1.0])  # on the sphere: ‖w‖² = R² = 3
    >>> d, loss = sg.evaluate(geo, geo.A @ w)
    >>> d.shape, bool(np.isclose(loss, 0.5 * np.sum(np.maximum(d, 0) ** 2) / 6))
    ((6,), True)
    """
    d = geo.b - Aw
    r = np.maximum(d, 0.0)
    return d, 0.5 * float(r @ r) / geo.n


def gradient(geo: SphereGeometry, d: np.ndarray) -> np.ndarray:
    """The Euclidean gradient ``−Aᵀ max(0, Δ)/N``, shape (P,), from ``Δ`` (N,).

    Examples
    --------
    >>> import numpy as np
    >>> from ntkjam.problem import Problem
    >>> from ntkjam.jamming import sphere_geometry as sg
    >>> J = np.random.default_rng(0).standard_normal((6, 3))
    >>> geo = sg.geometry(Problem(J=J, y=np.resize([1.0, -1.0], 6), margin=1.0), 3.0, 1e-9)
    >>> w = np.array([1.0, 1.0, 1.0])  # on the sphere: ‖w‖² = R² = 3
    >>> d, loss = sg.evaluate(geo, geo.A @ w)
    >>> g = sg.gradient(geo, d)
    >>> e = 1e-6 * np.array([1.0, 0.0, 0.0])  # finite-difference check of the first entry
    >>> fd = (sg.evaluate(geo, geo.A @ (w + e))[1] - sg.evaluate(geo, geo.A @ (w - e))[1]) / 2e-6
    >>> g.shape, bool(np.isclose(g[0], fd, rtol=1e-5))
    ((3,), True)
    """
    return -(geo.A.T @ np.maximum(d, 0.0)) / geo.n


def loss_noise(geo: SphereGeometry, d: np.ndarray) -> float:
    """The typical rounding of the computed loss: ``Σ r_i ε (|b_i| + √P ‖A_i‖ R) / N``.

    ``d`` is Δ, shape (N,), and ``r = max(0, Δ)``; returns a float.

    Examples
    --------
    >>> import numpy as np
    >>> from ntkjam.problem import Problem
    >>> from ntkjam.jamming import sphere_geometry as sg
    >>> J = np.random.default_rng(0).standard_normal((6, 3))
    >>> geo = sg.geometry(Problem(J=J, y=np.resize([1.0, -1.0], 6), margin=1.0), 3.0, 1e-9)
    >>> w = np.array([1.0, 1.0, 1.0])  # on the sphere: ‖w‖² = R² = 3
    >>> d, loss = sg.evaluate(geo, geo.A @ w)
    >>> bool(0 <= sg.loss_noise(geo, d) < 1e-12 * max(loss, 1.0))
    True
    """
    r = np.maximum(d, 0.0)
    sqrt_p = np.sqrt(geo.A.shape[1])
    return EPS * float(r @ (np.abs(geo.b) + sqrt_p * geo.R * geo.row2)) / geo.n


def is_sat(geo: SphereGeometry, w: np.ndarray, d: np.ndarray) -> bool:
    """Every ``Δ_i ≤ abs_tol + γ_P Σ_p |A_ip||w_p|`` (the bound is tried first).

    ``w`` has shape (P,), ``d`` = Δ shape (N,).

    Examples
    --------
    >>> import numpy as np
    >>> from ntkjam.problem import Problem
    >>> from ntkjam.jamming import sphere_geometry as sg
    >>> J = np.random.default_rng(0).standard_normal((6, 3))
    >>> geo = sg.geometry(Problem(J=J, y=np.resize([1.0, -1.0], 6), margin=1.0), 3.0, 1e-9)
    >>> w = np.array([1.0, 1.0, 1.0])  # on the sphere: ‖w‖² = R² = 3
    >>> d, loss = sg.evaluate(geo, geo.A @ w)
    >>> sg.is_sat(geo, w, d), sg.is_sat(geo, w, np.full(6, -1.0))
    (False, True)
    """
    wmax = float(np.max(np.abs(w)))
    if np.any(d > geo.abs_tol + geo.gamma * wmax * geo.row1):
        return False
    return bool(np.all(d <= geo.abs_tol + geo.gamma * (np.abs(geo.A) @ np.abs(w))))

