"""Stochastic Lanczos quadrature (SLQ): spectral densities from Gram-vector products only.

The operators it takes (``K V`` for blocks V) are in :mod:`ntkjam.spectrum.operators`.

For a symmetric ``K`` (N, N) and random probes, ``(1/N) tr f(K)`` is estimated by
Hutchinson's ``(1/b) tr(Vᵀ f(K) V)`` with ``V`` (N, b) of Rademacher entries ``±1/√N``,
and ``Vᵀ f(K) V`` by Gauss quadrature from Lanczos.  The ``b`` probes form one block:
block Lanczos (full reorthogonalisation, two passes) builds the block Krylov space of
dimension ``b m`` and the block tridiagonal ``T``, whose eigenpairs are ``b m``
quadrature nodes and weights.  Node resolution improves with ``b m``; sampling noise of
the CDF falls like ``√(2F(1-F)/(bN))``.

Each step applies K once to an ``(N, b)`` block: ``J (Jᵀ V)`` is two matrix-matrix
products, and an analytic kernel is evaluated once per step for all probes.

Zero modes: the kernel of K is an exact eigenspace, so the block's projection on it is
captured by Ritz values that converge to 0 (a cluster of up to b).  A Ritz value is
classed as a zero mode when it is *converged* (Lanczos residual ``r_i = ‖B_m s_i[-b:]‖``
below a quarter of the gap ``δ_i`` from its cluster to the nearest other Ritz value)
and the Kato–Temple interval ``θ_i ± r_i²/δ_i`` reaches the rounding level
``10·N·eps·‖K‖``.  A fixed relative threshold on θ fails both
ways: an unconverged Ritz value at the bottom of a bulk that reaches 0 (φ ≈ 1) can be
small, and a converged zero mode at few steps can sit well above ``eps·‖K‖``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import scipy.linalg

from ntkjam._validate import as_int, as_real, as_seed
from ntkjam.core.reprs import SummaryRepr

# The operators live in :mod:`ntkjam.spectrum.operators`; they stay importable from here.
from ntkjam.spectrum.operators import (  # noqa: F401
    GramOperator,
    default_strip_rows,
    dense_operator,
    feature_operator,
    jax_kernel_operator,
    kernel_operator,
)


@dataclass(frozen=True, repr=False)
class SLQDensity(SummaryRepr):
    """Spectral distribution estimated by block stochastic Lanczos quadrature.

    Attributes
    ----------
    nodes : numpy.ndarray, shape (M,)
        Ritz values of the block tridiagonal matrix (M = b × steps).
    weights : numpy.ndarray, shape (M,)
        Quadrature weights (sum to 1): the estimate of the fraction of eigenvalues
        represented by each node.
    probe_weights : numpy.ndarray, shape (b, M)
        The weights split by probe (each probe's own Hutchinson estimate, times 1/b),
        for error bars.
    residuals : numpy.ndarray, shape (M,)
        Lanczos residual norms ``‖B_m S_{m,i}‖`` of the Ritz pairs.
    is_zero : numpy.ndarray of bool, shape (M,)
        Ritz values classed as zero modes.
    atom : float
        Estimated fraction of zero modes.
    atom_stderr : float
        Standard error of ``atom`` across probes.
    steps : int
        Block Lanczos steps taken (fewer than requested after an exhaustion of the
        Krylov space, which makes the quadrature exact).
    norm : float
        Largest Ritz value (a lower bound on ‖K‖).

    Examples
    --------
    >>> d = slq(np.diag([0.0, 0.0, 1.0, 2.0]), n_probes=2, n_steps=2)
    >>> d.nodes.shape, d.probe_weights.shape, round(float(d.weights.sum()), 12)
    ((4,), (2, 4), 1.0)
    """

    nodes: np.ndarray
    weights: np.ndarray
    probe_weights: np.ndarray
    residuals: np.ndarray
    is_zero: np.ndarray
    atom: float
    atom_stderr: float
    steps: int
    norm: float

    def _pooled(self) -> tuple[np.ndarray, np.ndarray]:
        keep = ~self.is_zero & (self.weights > 0)
        theta = self.nodes[keep]
        w = self.weights[keep]
        order = np.argsort(theta)
        return theta[order], w[order]

    def cdf(self, x: object) -> np.ndarray:
        """Estimated CDF: the atom plus the quadrature measure of the other nodes.

        Between nodes the CDF is interpolated linearly through the midpoints of its
        jumps, which halves the Gauss-quadrature staircase error.

        Parameters
        ----------
        x : array_like, any shape

        Returns
        -------
        numpy.ndarray, the shape of ``x``

        Examples
        --------
        Rademacher probes give a diagonal matrix's eigenvalues exact weights (here 1/2 at
        0, 1/4 at 1 and at 2):

        >>> d = slq(np.diag([0.0, 0.0, 1.0, 2.0]), n_probes=1, n_steps=3)
        >>> d.cdf([-1.0, 0.5, 1.5, 3.0]).round(12).tolist()
        [0.0, 0.5, 0.75, 1.0]
        """
        x = np.asarray(x, dtype=np.float64)
        theta, w = self._pooled()
        atom = np.where(x >= 0, self.atom, 0.0)
        if theta.size == 0:
            return atom
        mid = np.cumsum(w) - 0.5 * w
        cont = np.interp(x, theta, mid, left=0.0, right=float(w.sum()))
        cont = np.where(x < theta[0], 0.0, cont)
        return atom + cont

    def pdf(self, x: object, bandwidth: float | None = None) -> np.ndarray:
        """Continuous part smoothed by a Gaussian of ``bandwidth``.

        Default bandwidth: three times the median spacing of the nonzero nodes.

        Parameters
        ----------
        x : array_like, any shape
        bandwidth : float, optional

        Returns
        -------
        numpy.ndarray, the shape of ``x``
            Integrates to ``1 - atom``.

        Examples
        --------
        >>> d = slq(np.diag([0.0, 0.0, 1.0, 2.0]), n_probes=1, n_steps=3)
        >>> x = np.linspace(-5.0, 8.0, 2001)
        >>> d.pdf(x.reshape(1, -1), 0.5).shape, round(float(np.trapezoid(d.pdf(x, 0.5), x)), 6)
        ((1, 2001), 0.5)
        """
        x = np.asarray(x, dtype=np.float64)
        theta, w = self._pooled()
        if theta.size == 0:
            return np.zeros_like(x)
        if bandwidth is None:
            gaps = np.diff(theta)
            gaps = gaps[gaps > 0]
            bandwidth = 3.0 * float(np.median(gaps)) if gaps.size else 1.0
        h = as_real("bandwidth", bandwidth, positive=True)
        z = (x[..., None] - theta) / h
        return (np.exp(-0.5 * z**2) @ w) / (h * np.sqrt(2 * np.pi))

    def quantiles(self, n: int) -> np.ndarray:
        """``n`` pseudo-eigenvalues: the quantiles ``(i + ½)/n`` of the estimated CDF.

        The quantiles below the atom are exactly 0; the others invert the
        interpolated CDF of :meth:`cdf` (clamped to the extreme nodes).  Their
        empirical distribution equals the estimate to within ``1/n`` in KS distance,
        so every tool written for measured eigenvalues (distances, histograms,
        :func:`~ntkjam.spectrum.measured.spectrum_report`) applies to an SLQ
        estimate.

        Returns
        -------
        numpy.ndarray, shape (n,)
            Ascending.

        Examples
        --------
        >>> d = slq(np.diag([0.0, 0.0, 1.0, 2.0]), n_probes=1, n_steps=3)
        >>> d.quantiles(4).round(12).tolist()  # half the modes at 0
        [0.0, 0.0, 1.0, 2.0]
        """
        n = as_int("n", n, minimum=1)
        q = (np.arange(n) + 0.5) / n
        theta, w = self._pooled()
        out = np.zeros(n)
        if theta.size == 0:
            return out
        levels = self.atom + np.cumsum(w) - 0.5 * w
        above = q >= self.atom
        out[above] = np.interp(q[above], levels, theta)
        return np.maximum(out, 0.0)

    def trace(self, f: Callable[[np.ndarray], np.ndarray], *, snap_zeros: bool = False) -> float:
        """Estimate of ``(1/N) tr f(K)`` by the quadrature ``Σ_i w_i f(θ_i)``.

        With ``snap_zeros`` the nodes classed as zero modes are evaluated at exactly 0
        (useful for f singular at 0, e.g. counting the nonzero modes); by default the
        raw Ritz values are used, for which the quadrature is exact on polynomials of
        degree < 2 × steps (with respect to the probes).

        Parameters
        ----------
        f : callable
            Vectorised: ``f(nodes)`` of shape (M,) returns shape (M,).

        Examples
        --------
        >>> d = slq(np.diag([0.0, 0.0, 1.0, 2.0]), n_probes=1, n_steps=3)
        >>> round(d.trace(lambda x: x), 12), round(d.trace(np.sign, snap_zeros=True), 12)
        (0.75, 0.5)
        """
        nodes = np.where(self.is_zero, 0.0, self.nodes) if snap_zeros else self.nodes
        vals = np.asarray(f(nodes), dtype=np.float64)
        return float(np.sum(vals * self.weights))


def _classify_zero(theta, resid, rounding):
    """Zero modes among Ritz values (see the module docstring).

    Ritz values whose uncertainty intervals overlap form a cluster (a block of b
    probes has b Ritz values at an exact zero eigenvalue); each cluster is judged
    by its gap ``δ`` to the nearest Ritz value outside it.
    """
    order = np.argsort(theta)
    th, r = theta[order], resid[order]
    if th.size == 1:
        zero_sorted = np.abs(th) <= rounding + r
    else:
        split = np.diff(th) > rounding + r[:-1] + r[1:]
        label = np.concatenate([[0], np.cumsum(split)])
        first = np.searchsorted(label, label, side="left")
        last = np.searchsorted(label, label, side="right") - 1
        left = np.where(first > 0, th - th[np.maximum(first - 1, 0)], np.inf)
        right = np.where(last < th.size - 1, th[np.minimum(last + 1, th.size - 1)] - th, np.inf)
        delta = np.minimum(left, right)
        worst = np.zeros(th.size)
        np.maximum.at(worst, label, r)
        converged = worst[label] < 0.25 * delta
        with np.errstate(divide="ignore", invalid="ignore"):
            kato = np.where(delta > 0, r**2 / delta, np.inf)
        zero_sorted = converged & (np.abs(th) <= kato + rounding)
    out = np.zeros(theta.size, dtype=bool)
    out[order] = zero_sorted
    return out


def _orthonormalise(W, basis, rng, scale):
    """QR of ``W`` after two passes of projection against ``basis`` (rows).

    Directions that vanish (the block Krylov space is exhausted in them) are
    replaced by random vectors orthogonal to everything so far, with a zero entry
    in ``R``: the decomposition stays exact and the block keeps its width.
    """
    for _ in range(2):
        if basis.shape[0]:
            W -= basis.T @ (basis @ W)
    Qb, R = np.linalg.qr(W)
    small = np.abs(np.diag(R)) <= 1e-12 * max(scale, np.finfo(float).tiny)
    if small.any():
        # The QR columns of vanished directions are rounding noise, not orthogonal to
        # the basis: replace them all at once, projected against the basis and the kept
        # columns (which are orthonormal and orthogonal to the basis).
        kept = Qb[:, ~small]
        V = rng.standard_normal((W.shape[0], int(small.sum())))
        for _ in range(2):
            if basis.shape[0]:
                V -= basis.T @ (basis @ V)
            V -= kept @ (kept.T @ V)
        Qb[:, small] = np.linalg.qr(V)[0]
        R[small, :] = 0.0
    return Qb, R


def slq(
    operator: GramOperator | object,
    *,
    n_probes: int = 10,
    n_steps: int = 80,
    seed: int = 0,
) -> SLQDensity:
    """Spectral density of a PSD operator by block stochastic Lanczos quadrature.

    The ``b`` Rademacher probes form one block ``V`` (N, b); block Lanczos with full
    reorthogonalisation builds the block Krylov space of dimension ``b m`` and the
    projection ``T = QᵀKQ`` (block tridiagonal up to rounding); its eigenpairs
    ``(θ_i, s_i)`` give the quadrature
    ``(1/N) tr f(K) ≈ Σ_i w_i f(θ_i)`` with ``w_i = ‖R₀ᵀ s_i[:b]‖² / b`` (``V = Q₁R₀``).
    A block gives ``b m`` nodes, so isolated outliers and gaps (ReLU features have
    both) cost nodes once rather than once per probe.

    Parameters
    ----------
    operator : GramOperator or array_like (N, N)
        Built with :func:`feature_operator`, :func:`kernel_operator`,
        :func:`dense_operator`; a plain symmetric matrix is wrapped.
    n_probes : int
        Number of Rademacher probe vectors b (the block width).
    n_steps : int
        Block Lanczos steps m (``b m`` is capped at N).
    seed : int
        Seed of the probes.

    Returns
    -------
    SLQDensity

    Examples
    --------
    >>> J = np.random.default_rng(0).standard_normal((8, 2))  # rank 2: 6 zero modes of J Jᵀ
    >>> d = slq(feature_operator(J), n_probes=1, n_steps=8, seed=1)  # m = N: exact nodes
    >>> bool(np.allclose(d.nodes[~d.is_zero], np.linalg.eigvalsh(J.T @ J))), 0 < d.atom < 1
    (True, True)
    """
    if not isinstance(operator, GramOperator):
        operator = dense_operator(operator)
    n = operator.n
    b = as_int("n_probes", n_probes, minimum=1)
    if b > n:
        raise ValueError(f"n_probes must be <= N = {n}, got {b}")
    m = min(as_int("n_steps", n_steps, minimum=1), n // b)
    rng = np.random.default_rng(as_seed("seed", seed))
    V = rng.choice([-1.0, 1.0], size=(n, b)) / np.sqrt(n)
    store = np.empty((m * b, n))  # the Lanczos basis, one row per vector
    Q, R0 = _orthonormalise(V.copy(), store[:0], rng, 1.0)
    couplings, B_blocks = [], []
    scale = 0.0
    for j in range(m):
        store[j * b : (j + 1) * b] = Q.T
        basis = store[: (j + 1) * b]
        W = np.array(operator.matmat(Q), dtype=np.float64)  # a writable copy
        if W.shape != (n, b):
            raise ValueError(f"operator.matmat must return shape {(n, b)}, got {W.shape}")
        # Q_iᵀ K Q_j for every block so far: T is the exact Rayleigh quotient QᵀKQ (PSD
        # for a PSD K), not only its block tridiagonal part, which a deflated block's
        # random replacement directions would break (their couplings reach older blocks).
        C = basis @ W
        C[j * b :] = 0.5 * (C[j * b :] + C[j * b :].T)
        W -= basis.T @ C
        scale = max(scale, float(np.max(np.abs(C))), float(np.linalg.norm(W, 2)))
        couplings.append(C)
        Q, B = _orthonormalise(W, basis, rng, scale)
        B_blocks.append(B)
    k = len(couplings)
    T = np.zeros((k * b, k * b))
    for j, C in enumerate(couplings):
        T[: (j + 1) * b, j * b : (j + 1) * b] = C
        T[j * b : (j + 1) * b, : (j + 1) * b] = C.T
    theta, S = scipy.linalg.eigh(T, check_finite=False)
    head = R0.T @ S[:b]  # (b, kb): row p is probe p's component
    probe_w = head**2 / b
    weights = probe_w.sum(axis=0)
    resid = np.linalg.norm(B_blocks[-1] @ S[(k - 1) * b :], axis=0)
    norm = float(theta.max())
    rounding = 10 * n * np.finfo(np.float64).eps * max(norm, np.finfo(float).tiny)
    is_zero = _classify_zero(theta, resid, rounding)
    per_probe = b * probe_w[:, is_zero].sum(axis=1)
    stderr = float(per_probe.std(ddof=1) / np.sqrt(b)) if b > 1 else float("nan")
    return SLQDensity(
        nodes=theta,
        weights=weights,
        probe_weights=probe_w,
        residuals=resid,
        is_zero=is_zero,
        atom=float(weights[is_zero].sum()),
        atom_stderr=stderr,
        steps=k,
        norm=norm,
    )
