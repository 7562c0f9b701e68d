"""Finite-width fluctuations of the NTK at initialisation: two registered experiments.

``kernel_fluctuations``
    The empirical NTK ``K_n(0)`` of ``n_ens`` freshly initialised networks of one
    architecture (depth L, uniform width n, NTK parameterization) on N fixed points of
    the sphere, against the analytic infinite-width kernel ``K_∞`` of
    :mod:`ntkjam.kernels.analytic` (same convention: the mean of K_n over seeds tends
    to K_∞).  Relative distances in Frobenius and operator norm, the diagonal and
    off-diagonal parts, the stable rank of the error, the diagonal moments, and the
    distance of ensemble averages ``K̄_m = (1/m) Σ_s K_n^(s)`` to K_∞.
``ntk_diagonal_moments``
    ``K_n(x, x)`` of ``n_nets`` networks on N points (O(N Σ n_l), no Gram): the
    sufficient statistics of the relative second moment ``E[K²]/E[K]²`` that Hanin &
    Nica (2019) relate to ``β = Σ_l 1/n_l``.

The inputs are drawn once per (N, ``data_seed``) and shared by every seed, so the
spread over seeds is the initialisation noise alone (quenched data).  Every network
seed is derived from the task seed (:func:`network_seed`); the same params and seed
give identical numbers.  The empirical NTK is the structured one of
:mod:`ntkjam.networks.empirical_ntk` (the Jacobian is never formed).  Only the NTK
parameterization is studied: in the standard one K_n grows like the width and has
no finite limit.  See ``docs/fluctuations.md``.

The parameter models, their checks and the sweep specs live in
:mod:`ntkjam.experiments.fluctuation_specs` and are re-exported here.
"""

from __future__ import annotations

import contextlib
import functools
import math
from typing import Any

import numpy as np
import scipy.linalg
import scipy.sparse.linalg

from ntkjam._validate import as_int
from ntkjam.experiments.fluctuation_specs import (
    MAX_TASKS,
    DiagonalParams,
    FluctuationParams,
    check_diagonal,
    check_fluctuations,
    check_sizes,
    diagonal_spec,
    fluctuation_spec,
)
from ntkjam.sweep.registry import register

__all__ = [
    "DiagonalParams",
    "FluctuationParams",
    "MAX_TASKS",
    "check_diagonal",
    "check_fluctuations",
    "check_sizes",
    "diagonal_spec",
    "fluctuation_spec",
    "kernel_fluctuations",
    "network_seed",
    "ntk_diagonal_moments",
    "spectral_norm",
]

#: Below this N the operator norm comes from a full eigendecomposition, above from Lanczos.
_DENSE_EIG = 64


def network_seed(seed: int, index: int) -> int:
    """The seed of network ``index`` of a task with seed ``seed`` (independent streams).

    Parameters
    ----------
    seed, index : int
        The task seed and the network's index in the task (both ≥ 0).

    Returns
    -------
    int
        A 32-bit seed, the same for the same ``(seed, index)``.

    Examples
    --------
    >>> from ntkjam.experiments.fluctuations import network_seed
    >>> network_seed(0, 0) == network_seed(0, 0), len({network_seed(s, i)
    ...                                                 for s in range(3) for i in range(3)})
    (True, 9)
    """
    state = np.random.SeedSequence(as_int("seed", seed, minimum=0),
                                   spawn_key=(as_int("index", index, minimum=0),))
    return int(state.generate_state(1, dtype=np.uint32)[0])


def spectral_norm(A: np.ndarray) -> float:
    """Largest |eigenvalue| of a symmetric matrix ``A`` (N, N): its operator 2-norm.

    Dense eigenvalues below N = 64, Lanczos (ARPACK, fixed start vector, so the result
    is reproducible) above, falling back to the dense solver if Lanczos fails.

    Parameters
    ----------
    A : numpy.ndarray, shape (N, N)
        Symmetric.

    Returns
    -------
    float
        ``max |λ_i(A)|``, a scalar.

    Examples
    --------
    >>> import numpy as np
    >>> from ntkjam.experiments.fluctuations import spectral_norm
    >>> spectral_norm(np.diag([-3.0, 1.0, 2.0]))  # the largest |eigenvalue|, not λ_max
    3.0
    >>> round(spectral_norm(np.diag(np.arange(-80.0, 20.0))), 6)  # N = 100: Lanczos
    80.0
    """
    N = A.shape[0]
    if N > _DENSE_EIG:
        with contextlib.suppress(scipy.sparse.linalg.ArpackError):  # then the dense solver
            top = scipy.sparse.linalg.eigsh(A, k=1, which="LM", v0=np.ones(N),
                                            return_eigenvectors=False)
            return float(abs(top[0]))
    return float(np.max(np.abs(scipy.linalg.eigvalsh(A, check_finite=False))))


@functools.lru_cache(maxsize=4)
def _reference(n, d, data_seed, radius, depth, activation, sigma_w, sigma_b):
    """Inputs X (N, d) and K_∞ (N, N), read-only, cached: every seed of a point shares them."""
    from ntkjam.data import sphere
    from ntkjam.kernels import analytic

    X = sphere(n, d, seed=data_seed, radius=radius)
    K = np.asarray(analytic.ntk(X, depth=depth, activation=activation, sigma_w=sigma_w,
                                sigma_b=sigma_b), dtype=np.float64)
    X.flags.writeable = False
    K.flags.writeable = False
    return X, K


def _network(p: dict[str, Any]):
    from ntkjam.networks import mlp, param_count

    net = mlp(p["d"], p["width"], depth=p["depth"], activation=p["activation"],
              sigma_w=p["sigma_w"], sigma_b=p["sigma_b"], bias=p["sigma_b"] > 0,
              parameterization="ntk")
    return net, param_count(net)


def _inputs(p: dict[str, Any]):
    return _reference(p["n"], p["d"], p["data_seed"], p["radius"], p["depth"],
                      p["activation"], p["sigma_w"], p["sigma_b"])


class _Distances:
    """Distances of kernels K (N, N) to K_∞, accumulated over the networks of a task."""

    NAMES = ("rel_frobenius", "rel_operator", "rel_diagonal", "rel_offdiagonal",
             "abs_frobenius", "abs_operator", "stable_rank", "diag_mean", "diag_sq_mean")

    def __init__(self, K_inf: np.ndarray) -> None:
        self.K_inf = K_inf
        self.inf_frobenius = float(np.linalg.norm(K_inf))
        self.inf_operator = spectral_norm(K_inf)
        diag = np.diag(K_inf)
        self.inf_diagonal = float(np.linalg.norm(diag))
        self.inf_offdiagonal = math.sqrt(max(self.inf_frobenius**2 - self.inf_diagonal**2, 0.0))
        self.sums = dict.fromkeys(self.NAMES, 0.0)
        self.count = 0

    def add(self, K: np.ndarray) -> None:
        E = K - self.K_inf
        fro = float(np.linalg.norm(E))
        op = spectral_norm(E)
        dg = float(np.linalg.norm(np.diag(E)))
        off = math.sqrt(max(fro**2 - dg**2, 0.0))
        kd = np.diag(K)
        values = (fro / self.inf_frobenius, op / self.inf_operator, dg / self.inf_diagonal,
                  off / self.inf_offdiagonal if self.inf_offdiagonal > 0 else math.nan,
                  fro, op, fro**2 / op**2 if op > 0 else math.nan,
                  float(np.mean(kd)), float(np.mean(kd**2)))
        for name, v in zip(self.NAMES, values, strict=True):
            self.sums[name] += v
        self.count += 1

    def means(self) -> dict[str, float]:
        return {k: v / self.count for k, v in self.sums.items()}


def _ensemble_pass(net, p: dict[str, Any], X, K_inf, seed: int) -> dict[str, Any]:
    """Draw the task's networks, accumulate single-network and ensemble distances.

    Networks alternate between two halves (even and odd index) so that the two
    disjoint ensembles of size m are complete after network 2m − 1: their difference
    has no bias and measures the random part of K̄_m alone.
    """
    from ntkjam.networks import empirical_ntk, init_params

    m_ens = p["n_ens"]
    dist = _Distances(K_inf)
    total = np.zeros_like(K_inf)
    halves = [np.zeros_like(K_inf), np.zeros_like(K_inf)]
    prefix, pairs, bias_sq = [], [], None
    norm2 = dist.inf_frobenius**2
    for s in range(m_ens):
        K = empirical_ntk(net, init_params(net, network_seed(seed, s)), X)
        dist.add(K)
        total += K
        halves[s % 2] += K
        prefix.append(float(np.linalg.norm(total / (s + 1) - K_inf)) / dist.inf_frobenius)
        if s % 2 == 1:
            m = (s + 1) // 2
            A, B = halves[0] / m, halves[1] / m
            pairs.append(float(np.linalg.norm(A - B)) / math.sqrt(2.0) / dist.inf_frobenius)
            if m == m_ens // 2:  # E⟨A − K_∞, B − K_∞⟩ = ‖E K_n − K_∞‖²
                bias_sq = float(np.sum((A - K_inf) * (B - K_inf))) / norm2
    out: dict[str, Any] = dist.means()
    mean_K = total / m_ens
    out.update(
        inf_frobenius=dist.inf_frobenius, inf_operator=dist.inf_operator,
        ens_rel_frobenius=prefix[-1],
        ens_rel_operator=spectral_norm(mean_K - K_inf) / dist.inf_operator,
        pair_rel_frobenius=pairs[-1] if pairs else None, bias_sq=bias_sq,
    )
    if m_ens > 1:
        out["arrays"] = {"ensemble_rel_frobenius": np.array(prefix),
                         "pair_rel_frobenius": np.array(pairs)}
    return out


@register("kernel_fluctuations", check=check_fluctuations, resolve=FluctuationParams.resolve)
def kernel_fluctuations(params: dict[str, Any], seed: int) -> dict[str, Any]:
    """Distances of ``n_ens`` empirical NTKs at initialisation to the analytic K_∞.

    Parameters
    ----------
    params : dict
        ``width`` (n of every hidden layer, required), ``n`` (points N ≥ 2 on the
        sphere, required), ``depth`` (hidden layers L, 1), ``d`` (input dimension, 10),
        ``activation`` ("relu"), ``sigma_w`` (√2), ``sigma_b`` (bias standard
        deviation, 0.0: no biases), ``radius`` (of the sphere, 1.0), ``data_seed``
        (the inputs, shared by every task seed, 0), ``n_ens`` (networks per task, 1).
        See :class:`FluctuationParams`.
    seed : int
        Task seed; network s is drawn with ``network_seed(seed, s)``.

    Returns
    -------
    dict
        Means over the task's ``n_ens`` networks of ``rel_frobenius`` (‖K_n − K_∞‖_F /
        ‖K_∞‖_F), ``rel_operator`` (the same in operator norm), ``rel_diagonal`` (the
        diagonals, Euclidean norm), ``rel_offdiagonal`` (off-diagonal entries, Frobenius),
        ``abs_frobenius``, ``abs_operator`` (‖K_n − K_∞‖ unnormalised), ``stable_rank``
        (‖E‖_F²/‖E‖_op² of E = K_n − K_∞), ``diag_mean``, ``diag_sq_mean`` (mean of
        K_n(x_i, x_i) and of its square over the points); ``inf_frobenius``,
        ``inf_operator`` (norms of K_∞); the ensemble K̄ of all ``n_ens`` networks:
        ``ens_rel_frobenius``, ``ens_rel_operator``; with n_ens ≥ 2
        ``pair_rel_frobenius`` (‖K̄_A − K̄_B‖_F/(√2 ‖K_∞‖_F) for two disjoint ensembles
        of n_ens//2, the random part of K̄ without its bias) and ``bias_sq``
        (⟨K̄_A − K_∞, K̄_B − K_∞⟩/‖K_∞‖_F², an unbiased estimate of ‖E K_n − K_∞‖²/‖K_∞‖²);
        ``n_params`` P, ``beta`` = Σ_l 1/n_l.  With n_ens ≥ 2 the arrays
        ``ensemble_rel_frobenius`` (n_ens,): distance of the mean of the first m networks,
        m = 1 … n_ens, and ``pair_rel_frobenius`` (n_ens//2,): the random part at m.
        Every other value is a scalar.

    Examples
    --------
    Two width-16 networks on N = 4 points of S²: each is some way from K_∞, and the
    mean of the two is closer:

    >>> from ntkjam.experiments.fluctuations import kernel_fluctuations
    >>> r = kernel_fluctuations({"width": 16, "n": 4, "d": 3, "n_ens": 2}, seed=0)
    >>> r["n_params"], r["beta"], {k: a.shape for k, a in r["arrays"].items()}
    (64, 0.0625, {'ensemble_rel_frobenius': (2,), 'pair_rel_frobenius': (1,)})
    >>> 0 < r["ens_rel_frobenius"] < r["rel_frobenius"], r["stable_rank"] >= 1
    (True, True)
    """
    p = check_fluctuations(params)
    X, K_inf = _inputs(p)
    net, n_params = _network(p)
    out = _ensemble_pass(net, p, X, K_inf, seed)
    out.update(n_params=n_params, beta=p["depth"] / p["width"])
    return out


@register("ntk_diagonal_moments", check=check_diagonal, resolve=DiagonalParams.resolve)
def ntk_diagonal_moments(params: dict[str, Any], seed: int) -> dict[str, Any]:
    """Moments of the NTK diagonal K_n(x, x) over ``n_nets`` networks (Hanin–Nica).

    With a = mean over the N points of K_n(x, x) and b = the same of K_n(x, x)², per
    network, the task returns their means over its networks (``k_mean``, ``k2_mean``)
    and the second moments ``k_sq_mean`` (a²), ``k2_sq_mean`` (b²), ``k_k2_mean`` (a b):
    networks are independent, points within one are not, so these are what the
    analysis needs for E[K²]/E[K]² and its error.  Also ``k_inf`` (mean of K_∞(x, x)),
    ``n_params``, ``beta`` = Σ_l 1/n_l.

    Parameters
    ----------
    params : dict
        ``width`` (n of every hidden layer, required), ``depth`` (hidden layers L, 1),
        ``n`` (points N ≥ 1, 16), ``d`` (input dimension, 10), ``activation``
        ("relu"), ``sigma_w`` (√2), ``sigma_b`` (bias standard deviation, 0.0: no
        biases), ``radius`` (of the sphere, 1.0), ``data_seed`` (the inputs, shared by
        every task seed, 0), ``n_nets`` (networks per task, 32).
    seed : int
        Task seed; network s is drawn with ``network_seed(seed, s)``.

    Returns
    -------
    dict
        ``k_mean``, ``k2_mean``, ``k_sq_mean``, ``k2_sq_mean``, ``k_k2_mean``, ``k_inf``,
        ``n_params``, ``beta``: scalars.

    Examples
    --------
    >>> from ntkjam.experiments.fluctuations import ntk_diagonal_moments
    >>> r = ntk_diagonal_moments({"width": 16, "n": 4, "d": 3, "n_nets": 4}, seed=0)
    >>> r["n_params"], r["beta"], round(r["k_inf"], 6)  # K_∞(x, x) = 4/d on the unit sphere
    (64, 0.0625, 1.333333)
    >>> r["k2_mean"] >= r["k_mean"] ** 2, r["k_sq_mean"] >= r["k_mean"] ** 2  # Jensen
    (True, True)
    """
    from ntkjam.networks import empirical_ntk_diagonal, init_params

    p = check_diagonal(params)
    X, K_inf = _inputs(p)
    net, n_params = _network(p)
    a = np.empty(p["n_nets"])
    b = np.empty(p["n_nets"])
    for s in range(p["n_nets"]):
        k = empirical_ntk_diagonal(net, init_params(net, network_seed(seed, s)), X)
        a[s], b[s] = np.mean(k), np.mean(k**2)
    return {
        "k_mean": float(a.mean()), "k2_mean": float(b.mean()),
        "k_sq_mean": float(np.mean(a * a)), "k2_sq_mean": float(np.mean(b * b)),
        "k_k2_mean": float(np.mean(a * b)), "k_inf": float(np.mean(np.diag(K_inf))),
        "n_params": n_params, "beta": p["depth"] / p["width"],
    }
