"""The lazy-regime fitting problem: features (or a kernel), an offset, labels and a margin.

One frozen object, whatever the source of the features (random features, truncated
kernels, empirical-NTK Jacobians, an analytic kernel matrix).  Notation: N training
points, P features (parameters), φ = N/P.

The reachable outputs are the affine space ``f = f0 + J w`` (``w ∈ R^P``), which equals
``f0 + range(K)`` for the Gram matrix ``K = J Jᵀ``.  The constraint of point ``i`` is

    y_i f_i ≥ κ,      equivalently      Δ_i = κ − y_i f_i ≤ 0,

with κ the margin.  Writing ``A = diag(y) J`` and ``b = κ − y ∘ f0`` (the Δ's at
``w = 0``), ``Δ(w) = b − A w``: the solvers in :mod:`ntkjam.jamming` work with
``(A, b)``.

When only ``K`` is given, features are ``J = U Λ^{1/2}`` from
:func:`ntkjam.linalg.psd_features` (eigenvalues below the tolerance dropped), so
``w`` then lives in that eigenbasis and P = rank(K).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import scipy.linalg

from ntkjam._validate import as_float_array
from ntkjam.core.reprs import SummaryRepr
from ntkjam.linalg import (
    RankReport,
    live_rows,
    psd_features,
    rank_cutoff,
    rank_report,
)
from ntkjam.problem_inputs import check_problem_inputs, read_only


@dataclass(frozen=True, eq=False, repr=False)
class Problem(SummaryRepr):
    """Fit ``y_i (f0_i + J_i·w) ≥ κ`` for all i: the lazy-regime SAT/UNSAT problem.

    Give features ``J`` or a kernel ``K`` (or both, then ``K`` must equal ``J Jᵀ``).

    Parameters
    ----------
    y : array_like, shape (N,)
        Labels, each −1 or +1.
    J : array_like, shape (N, P), optional
        Features (e.g. a Jacobian ∂f(x_i)/∂θ_p); finite.
    K : array_like, shape (N, N), optional
        Symmetric positive semi-definite Gram matrix (e.g. an NTK).
    f0 : array_like, shape (N,), optional
        Output offset (the network at initialisation); zeros by default.
    margin : float
        κ, finite (any sign; with ``f0 = 0`` and κ ≤ 0 the problem is trivially
        satisfied by ``w = 0``).
    rtol : float, optional
        Relative cutoff for the numerical rank (singular values of ``J`` at most
        ``rtol · s_max`` are zero; eigenvalues of ``K`` at most ``rtol · λ_max``
        when only ``K`` is given).  Default ``max(N, P) · eps``, as in
        :func:`ntkjam.linalg.rank_report`.

    Notes
    -----
    Arrays are checked and copied read-only
    (:func:`~ntkjam.problem_inputs.check_problem_inputs`).  Derived quantities
    (features, Gram, rank, orthonormal basis of the reachable directions) are
    computed once, on first use.

    Examples
    --------
    Three points in P = 2 features; ``w = (1, 1)`` meets every constraint at κ = 1:

    >>> import numpy as np
    >>> from ntkjam.problem import Problem
    >>> J = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    >>> prob = Problem(y=np.array([1.0, 1.0, 1.0]), J=J, margin=1.0)
    >>> prob.n_points, prob.n_features, prob.phi, prob.rank
    (3, 2, 1.5, 2)
    >>> prob.deltas(np.array([1.0, 1.0])).tolist(), prob.loss(np.array([1.0, 1.0]))
    ([0.0, 0.0, -1.0], 0.0)
    >>> prob.loss(np.zeros(2))                         # all Δ = 1: ½ · 1² per point
    0.5
    """

    y: np.ndarray
    J: np.ndarray | None = None
    K: np.ndarray | None = None
    f0: np.ndarray | None = None
    margin: float = 1.0
    rtol: float | None = field(default=None)

    def __post_init__(self) -> None:
        checked = check_problem_inputs(self.y, self.J, self.K, self.f0, self.margin, self.rtol)
        for name, value in zip(("y", "J", "K", "f0", "margin", "rtol"), checked, strict=True):
            object.__setattr__(self, name, value)

    # ----------------------------------------------------------------- sizes
    @property
    def n_points(self) -> int:
        """N, the number of constraints (training points).

        Examples
        --------
        >>> Problem(y=np.ones(3), J=np.eye(3)[:, :2]).n_points
        3
        """
        return int(self.y.shape[0])

    @property
    def n_features(self) -> int:
        """P, the number of columns of :meth:`features` (rank(K) when only K is given).

        Examples
        --------
        >>> Problem(y=np.ones(2), K=np.ones((2, 2))).n_features     # only K: P = rank(K)
        1
        """
        if self.J is not None:
            return int(self.J.shape[1])
        return int(self.features().shape[1])

    @property
    def phi(self) -> float:
        """φ = N / P.

        Examples
        --------
        >>> Problem(y=np.ones(3), J=np.eye(3)[:, :2]).phi
        1.5
        """
        return self.n_points / self.n_features

    # -------------------------------------------------------------- features
    def features(self) -> np.ndarray:
        """The features ``J``, shape (N, P); from ``psd_features(K)`` when only K is given.

        Examples
        --------
        >>> F = Problem(y=np.ones(2), K=np.diag([4.0, 0.0])).features()  # J = U Λ^{1/2}
        >>> F.shape, np.round(np.abs(F), 9).tolist()
        ((2, 1), [[2.0], [0.0]])
        """
        return self._features

    @cached_property
    def _features(self) -> np.ndarray:
        if self.J is not None:
            return self.J
        return read_only(psd_features(self.K, rtol=self.rtol))

    def gram(self) -> np.ndarray:
        """The Gram matrix ``K = J Jᵀ``, shape (N, N).

        Examples
        --------
        >>> Problem(y=np.ones(3), J=np.eye(3)[:, :2]).gram().tolist()
        [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 0.0]]
        """
        return self._gram

    @cached_property
    def _gram(self) -> np.ndarray:
        if self.K is not None:
            return self.K
        return read_only(self.J @ self.J.T)

    def gram_matvec(self, v: object) -> np.ndarray:
        """``K v``, as ``J (Jᵀ v)`` when J is known.

        Costs O(N P) per column instead of forming the N×N Gram matrix.

        Parameters
        ----------
        v : array_like, shape (N,) or (N, m)

        Returns
        -------
        numpy.ndarray, shape of ``v``

        Examples
        --------
        >>> prob = Problem(y=np.ones(3), J=np.eye(3)[:, :2])
        >>> prob.gram_matvec(np.ones(3)).tolist(), prob.gram_matvec(np.ones((3, 4))).shape
        ([1.0, 1.0, 0.0], (3, 4))
        """
        v = as_float_array("v", v, ndim=(1, 2))
        if v.shape[0] != self.n_points:
            raise ValueError(f"v must have {self.n_points} rows, got shape {v.shape}")
        if self.J is not None:
            return self.J @ (self.J.T @ v)
        return self.K @ v

    # ------------------------------------------------------------ dead inputs
    @property
    def live_rows(self) -> np.ndarray:
        """Points whose feature row is not identically zero, shape (N,) of bool.

        A dead point (zero row of ``J``, or of ``K``) cannot be moved: its Δ is
        ``κ − y_i f0_i`` whatever ``w`` is.  The solvers leave these rows out of every
        factorisation and basis, so rounding never turns their exact zeros into noise.

        Examples
        --------
        >>> Problem(y=np.ones(3), J=np.eye(3)[:, :2]).live_rows.tolist()  # third row zero
        [True, True, False]
        """
        return self._live_rows

    @cached_property
    def _live_rows(self) -> np.ndarray:
        live = live_rows(self.J if self.J is not None else self.K)
        live.setflags(write=False)
        return live

    @property
    def n_dead(self) -> int:
        """The number of dead points (identically zero feature rows).

        Examples
        --------
        >>> Problem(y=np.ones(3), J=np.eye(3)[:, :2]).n_dead
        1
        """
        return int(self.n_points - np.count_nonzero(self.live_rows))

    # ------------------------------------------------------------------ rank
    def rank_report(self) -> RankReport:
        """Numerical rank of the reachable directions (of ``J``, or of ``K``'s factor).

        Examples
        --------
        >>> report = Problem(y=np.ones(3), J=np.eye(3)[:, :2]).rank_report()
        >>> report.rank, report.singular_values.shape
        (2, (2,))
        """
        return self._rank_report

    @cached_property
    def _rank_report(self) -> RankReport:
        return rank_report(self.features(), rtol=self.rtol)

    @property
    def rank(self) -> int:
        """Dimension r of the reachable directions ``range(J) = range(K)``.

        Examples
        --------
        >>> Problem(y=np.ones(3), J=np.ones((3, 2))).rank       # two equal columns
        1
        """
        return self.rank_report().rank

    def orthonormal_basis(self) -> np.ndarray:
        """An orthonormal basis ``U`` of ``range(J)``, shape (N, r).

        From the thin SVD of ``J`` (or the eigendecomposition of ``K`` when only ``K``
        is given), keeping the singular values above the rank tolerance.  Rows of dead
        points (:attr:`live_rows`) are exact zeros.

        Examples
        --------
        >>> U = Problem(y=np.ones(3), J=np.eye(3)[:, :2]).orthonormal_basis()
        >>> U.shape, bool(np.allclose(U.T @ U, np.eye(2))), U[2].tolist()
        ((3, 2), True, [0.0, 0.0])
        """
        return self.reduced_svd()[0]

    def reduced_svd(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(U, s, V)`` with ``J ≈ U diag(s) Vᵀ``: U (N, r), s (r,) descending, V (P, r).

        Only the r singular values above the rank tolerance are kept.

        Examples
        --------
        >>> U, s, V = Problem(y=np.ones(3), J=np.diag([1.0, 3.0, 0.0])[:, :2]).reduced_svd()
        >>> U.shape, np.round(s, 9).tolist(), V.shape
        ((3, 2), [3.0, 1.0], (2, 2))
        """
        return self._basis

    @cached_property
    def _basis(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(U_r, s_r, V_r)`` with ``J ≈ U_r diag(s_r) V_rᵀ`` (V_r of shape (P, r))."""
        if self.J is None:
            F = self.features()  # U Λ^{1/2}: orthogonal columns of norms √λ
            s = np.linalg.norm(F, axis=0)
            order = np.argsort(-s, kind="stable")
            F, s = F[:, order], s[order]
            U = F / s
            V = np.eye(F.shape[1])[:, order]
            return read_only(U), read_only(s), read_only(V)
        live = self.live_rows
        if live.all():
            U, s, Vt = scipy.linalg.svd(self.J, full_matrices=False, check_finite=False)
        elif live.any():
            # The SVD of the live rows only: the dead rows of U are exact zeros.
            U_live, s, Vt = scipy.linalg.svd(self.J[live], full_matrices=False,
                                             check_finite=False)
            U = np.zeros((self.n_points, U_live.shape[1]))
            U[live] = U_live
        else:
            U, s, Vt = np.zeros((self.n_points, 0)), np.zeros(0), np.zeros((0, self.J.shape[1]))
        largest = float(s[0]) if s.size else 0.0
        tol = rank_cutoff(self.J.shape, largest, rtol=self.rtol)
        r = int(np.count_nonzero(s > tol))
        return read_only(U[:, :r]), read_only(s[:r]), read_only(Vt[:r].T)

    # ------------------------------------------------------- the constraints
    @property
    def offsets(self) -> np.ndarray:
        """``b = κ − y ∘ f0``, shape (N,): the Δ's at ``w = 0``.

        Examples
        --------
        >>> Problem(y=[1.0, -1.0], J=np.ones((2, 1)), f0=[0.5, 0.5]).offsets.tolist()
        [0.5, 1.5]
        """
        return self.margin - self.y * self.f0

    def outputs(self, w: object) -> np.ndarray:
        """The outputs ``f = f0 + J w``.

        Parameters
        ----------
        w : array_like, shape (P,)

        Returns
        -------
        numpy.ndarray, shape (N,)

        Examples
        --------
        >>> Problem(y=[1.0, -1.0, 1.0], J=np.eye(3)[:, :2]).outputs(np.array([2.0, -1.0])).tolist()
        [2.0, -1.0, 0.0]
        """
        w = self._check_w(w)
        return self.f0 + self.features() @ w

    def margins(self, w: object) -> np.ndarray:
        """Functional margins ``y_i f_i``; constraint i holds when ≥ κ.

        Parameters
        ----------
        w : array_like, shape (P,)

        Returns
        -------
        numpy.ndarray, shape (N,)

        Examples
        --------
        >>> Problem(y=[1.0, -1.0, 1.0], J=np.eye(3)[:, :2]).margins(np.array([2.0, -1.0])).tolist()
        [2.0, 1.0, 0.0]
        """
        return self.y * self.outputs(w)

    def deltas(self, w: object) -> np.ndarray:
        """``Δ_i = κ − y_i f_i``; positive Δ_i means constraint i is violated.

        Parameters
        ----------
        w : array_like, shape (P,)

        Returns
        -------
        numpy.ndarray, shape (N,)

        Examples
        --------
        >>> Problem(y=[1.0, -1.0, 1.0], J=np.eye(3)[:, :2]).deltas(np.array([2.0, -1.0])).tolist()
        [-1.0, 0.0, 1.0]
        """
        return self.margin - self.margins(w)

    def loss(self, w: object) -> float:
        """Quadratic hinge loss per sample, ``(1/N) Σ_i ½ max(0, Δ_i)²``.

        Parameters
        ----------
        w : array_like, shape (P,)

        Returns
        -------
        float

        Examples
        --------
        >>> Problem(y=[1.0, -1.0, 1.0], J=np.eye(3)[:, :2]).loss(np.array([2.0, -1.0])) == 0.5 / 3
        True
        """
        d = np.maximum(self.deltas(w), 0.0)
        return float(0.5 * np.dot(d, d) / self.n_points)

    def _check_w(self, w: object) -> np.ndarray:
        w = as_float_array("w", w, ndim=1)
        if w.shape[0] != self.n_features:
            raise ValueError(f"w must have length P = {self.n_features}, got {w.shape[0]}")
        return w


def from_features(
    J: object, y: object, *, f0: object = None, margin: float = 1.0, rtol: float | None = None
) -> Problem:
    """A :class:`Problem` from features ``J`` (N, P) and labels ``y`` (N,).

    Parameters
    ----------
    J : array_like, shape (N, P)
        Features.
    y : array_like, shape (N,)
        Labels ±1.
    f0 : array_like, shape (N,), optional
        Output offset (zeros by default).
    margin : float
        κ.
    rtol : float, optional
        Relative rank cutoff (see :class:`Problem`).

    Returns
    -------
    Problem

    Examples
    --------
    >>> import numpy as np
    >>> from ntkjam.problem import from_features
    >>> prob = from_features(np.ones((4, 1)), np.array([1.0, -1.0, 1.0, 1.0]))
    >>> prob.phi, prob.rank, prob.gram().shape
    (4.0, 1, (4, 4))
    """
    return Problem(y=y, J=J, f0=f0, margin=margin, rtol=rtol)


def from_kernel(
    K: object, y: object, *, f0: object = None, margin: float = 1.0, rtol: float | None = None
) -> Problem:
    """A :class:`Problem` from a PSD Gram matrix ``K`` (N, N) and labels ``y`` (N,).

    Features are ``J = U Λ^{1/2}`` (:func:`ntkjam.linalg.psd_features`), so P = rank(K).

    Parameters
    ----------
    K : array_like, shape (N, N)
        Symmetric positive semi-definite Gram matrix.
    y : array_like, shape (N,)
        Labels ±1.
    f0 : array_like, shape (N,), optional
        Output offset (zeros by default).
    margin : float
        κ.
    rtol : float, optional
        Relative cutoff for the eigenvalues of ``K``.

    Returns
    -------
    Problem

    Examples
    --------
    A rank-1 kernel of three points gives one feature that reproduces it:

    >>> import numpy as np
    >>> from ntkjam.problem import from_kernel
    >>> v = np.array([1.0, 2.0, 0.0])
    >>> prob = from_kernel(np.outer(v, v), np.ones(3), rtol=1e-10)
    >>> prob.n_features, prob.n_dead, np.allclose(prob.gram_matvec(np.ones(3)), v * 3.0)
    (1, 1, True)
    """
    return Problem(y=y, K=K, f0=f0, margin=margin, rtol=rtol)
