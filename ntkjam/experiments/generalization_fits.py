"""The members of one generalization task: their features, offsets and fits.

One task of :mod:`ntkjam.experiments.generalization` (params as a dict) fits
``n_ens`` members on the same data: :func:`member_features` draws a member's features
and offset, :func:`fit_member` fits it — the exact end point of lazy training
(:mod:`ntkjam.experiments.lazy_fit`) or the trained network
(:func:`ntkjam.networks.train`) — and :func:`kernel_member` is the kernel-regression
model (infinitely many features); :func:`seeds` spawns the streams.  The lazy fits of
:mod:`ntkjam.experiments.lazy_fit` are re-exported here.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ntkjam.experiments.lazy_fit import (
    MAX_NEWTON,
    POLISH_STEPS,
    ROUNDING,
    SAT_TOL,
    HingeFit,
    hinge_min_norm_fit,
    hinge_ridge_fit,
    kernel_fit,
    least_distance,
    mse_fit,
)

__all__ = ["MAX_NEWTON", "POLISH_STEPS", "ROUNDING", "SAT_TOL", "HingeFit", "fit_member",
           "hinge_min_norm_fit", "hinge_ridge_fit", "kernel_fit", "kernel_member",
           "least_distance", "member_features", "mse_fit", "seeds"]


# ------------------------------------------------------- the members of one task
def seeds(seed: int, k: int) -> list[int]:
    """``k`` independent 32-bit seeds spawned from ``seed`` (child i does not depend on k).

    Parameters
    ----------
    seed : int
        The parent seed (≥ 0).
    k : int
        How many children.

    Returns
    -------
    list of int, shape (k,)

    Examples
    --------
    >>> from ntkjam.experiments.generalization_fits import seeds
    >>> seeds(0, 3)[:2] == seeds(0, 2), len(set(seeds(7, 5)))  # prefix-stable, distinct
    (True, 5)
    """
    return [int(s.generate_state(1)[0]) for s in np.random.SeedSequence(seed).spawn(k)]


def member_features(p: dict[str, Any], X_all: np.ndarray, seed: int):
    """Features, offsets and (for the network) the net of one member, on train ∪ test.

    Parameters
    ----------
    p : dict
        Resolved task parameters (:func:`ntkjam.experiments.generalization.resolve_params`),
        ``P`` the feature count of the task.
    X_all : numpy.ndarray, shape (M, d)
        Training and test inputs stacked.
    seed : int
        The member's seed (features and offset from two streams of it).

    Returns
    -------
    (J, f0, extra)
        ``J`` (M, P) features (None for ``"network"``); ``f0`` (M,) offset, None when
        ``offset_scale`` is 0; ``extra``: for ``"linear"`` the offset's weights σ₀ v
        (P,), for ``"network"`` the pair ``(net, params)``, else None.

    Examples
    --------
    >>> from ntkjam.data import sphere
    >>> from ntkjam.experiments.generalization import resolve_params
    >>> from ntkjam.experiments.generalization_fits import member_features
    >>> p = resolve_params({"P": 8, "phi": 0.5, "offset_scale": 1.0})
    >>> J, f0, extra = member_features(p, sphere(6, 10, seed=0), seed=1)
    >>> J.shape, f0.shape, extra  # random ReLU features and f0 = σ₀ J v
    ((6, 8), (6,), None)
    """
    from ntkjam.kernels.features import random_relu_features

    s_feat, s_off = seeds(seed, 2)
    P, sig = p["P"], p["offset_scale"]
    if p["source"] == "relu_features":
        J = random_relu_features(X_all, P, seed=s_feat, sigma_w=p["sigma_w"])
        f0 = sig * (J @ np.random.default_rng(s_off).standard_normal(P)) if sig else None
        return J, f0, None
    if p["source"] == "linear":
        v = np.random.default_rng(s_off).standard_normal(P) / math.sqrt(P)
        return X_all, (sig * (X_all @ v) if sig else None), sig * v
    from ntkjam.networks import apply, init_params, jacobian, mlp

    d = X_all.shape[1]
    net = mlp(d, max(1, round(P / (d + 1))), activation="relu", sigma_w=p["sigma_w"])
    params = init_params(net, s_feat)
    if p["source"] == "network":
        return None, None, (net, params)
    J = jacobian(net, params, X_all)
    f0 = sig * np.asarray(apply(net, params, X_all), dtype=np.float64).reshape(-1) if sig else None
    return J, f0, None


def _fit_lazy(p: dict[str, Any], J: np.ndarray, f0: np.ndarray, y: np.ndarray, first: bool):
    """``(w, verdict, exact, rank)`` of one lazy member (verdict and rank: first member)."""
    from ntkjam.jamming import minimize_quadratic_hinge
    from ntkjam.linalg import numerical_rank
    from ntkjam.problem import from_features

    if p["task"].endswith("_mse"):
        return mse_fit(J, y - f0, p["ridge"]), "", True, numerical_rank(J) if first else 0
    if p["ridge"] == 0:
        fit = hinge_min_norm_fit(J, y, f0, p["margin"])
        return fit.w, fit.verdict, fit.exact, fit.rank
    w, _ = hinge_ridge_fit(J, y, f0, p["margin"], p["ridge"])
    if not first:
        return w, "", True, 0
    res = minimize_quadratic_hinge(from_features(J, y, f0=f0, margin=p["margin"]))
    return w, res.verdict, True, int(res.rank)


def _network_rules(p: dict[str, Any]) -> tuple:
    """The stopping rules of a trained member: the trained diagram's (SAT; the best loss
    fell by < 10⁻⁴ over 5000 steps; the budget), without the SAT rule for the MSE."""
    from ntkjam.networks import Budget, SATReached, UNSATConverged

    rules = (UNSATConverged(window=5_000, rtol=1e-4, best=True), Budget(max_steps=p["max_steps"]))
    return rules if p["task"].endswith("_mse") else (SATReached(), *rules)


def _train_network(p: dict[str, Any], net_params, X: np.ndarray, y: np.ndarray,
                   X_test: np.ndarray, first: bool):
    """Train one network with :func:`ntkjam.networks.train`: ``(train outputs, test
    outputs, α‖θ − θ₀‖, status, rank)``.

    Heavy ball (β = ``momentum``) with the step tracked at ``N/λ̂_max(K_t)`` (half the
    lazy stability limit), on ``F = α (f − f₀)`` with the task's loss.  The MSE has no
    SAT rule: its run ends ``"converged"`` when the best loss stopped falling (at the
    interpolant's rounding level below the threshold, at the least-squares plateau above
    it) or on the budget.
    """
    from ntkjam.linalg import numerical_rank
    from ntkjam.networks import empirical_ntk, jacobian, momentum, train
    from ntkjam.networks.optimizers import tracked_step

    net, params0 = net_params
    mse = p["task"].endswith("_mse")
    evals, evecs = np.linalg.eigh(empirical_ntk(net, params0, X))
    step = tracked_step(1.0, net, X, evecs[:, -1], float(evals[-1]))
    res = train(net, params0, X, y, loss="mse" if mse else "quadratic_hinge",
                margin=p["margin"], alpha=p["alpha"], optimizer=momentum(step, p["momentum"]),
                stop=_network_rules(p), X_test=X_test, unsat_tol=1e-6, records_per_decade=1,
                kernel_times=[])
    status = str(res.status)
    if mse and status == "unsat":  # the loss stopped falling: the end point of the MSE
        status = "converged"
    dtheta = np.concatenate([np.ravel(np.asarray(a) - np.asarray(b))
                             for (a, _), (b, _) in zip(res.params, params0, strict=True)])
    rank = numerical_rank(jacobian(net, params0, X)) if first else 0
    tr = res.trajectory
    return (np.asarray(tr.f_train[-1], dtype=np.float64),
            np.asarray(tr.f_test[-1], dtype=np.float64),
            p["alpha"] * float(np.linalg.norm(dtheta)), status, rank)


def kernel_member(p: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
    """Kernel regression with the analytic NTK (depth 1): the infinitely wide model.

    Parameters
    ----------
    p : dict
        Resolved task parameters (``sigma_w``, ``ridge`` are used).
    data : dict
        ``X`` (N, d) training inputs, ``X_test`` (M, d), ``y`` (N,) labels.

    Returns
    -------
    dict
        ``f`` (N,) and ``g`` (M,) the outputs on the training and test points,
        ``w_norm`` (the RKHS norm √(cᵀ K c)), ``verdict`` (""), ``exact`` (True),
        ``rank`` (N), ``b`` (None).

    Examples
    --------
    The NTK is positive definite on distinct points: without ridge it interpolates:

    >>> import numpy as np
    >>> from ntkjam.data import sphere
    >>> from ntkjam.experiments.generalization import resolve_params
    >>> from ntkjam.experiments.generalization_fits import kernel_member
    >>> p = resolve_params({"P": 8, "phi": 0.5, "task": "noisy_teacher_mse",
    ...                     "source": "ntk_kernel"})
    >>> X, y = sphere(6, 3, seed=0), np.array([1.0, -1.0, 1.0, -1.0])
    >>> m = kernel_member(p, {"X": X[:4], "X_test": X[4:], "y": y})
    >>> m["f"].shape, m["g"].shape, np.allclose(m["f"], y), m["rank"]
    ((4,), (2,), True, 4)
    """
    from ntkjam.kernels.analytic import ntk

    X, Xt = data["X"], data["X_test"]
    K = ntk(X, depth=1, sigma_w=p["sigma_w"])
    coef = kernel_fit(K, data["y"], p["ridge"])
    f = K @ coef
    return {"f": f, "g": ntk(Xt, X, depth=1, sigma_w=p["sigma_w"]) @ coef,
            "w_norm": float(np.sqrt(max(coef @ f, 0.0))), "verdict": "", "exact": True,
            "rank": X.shape[0], "b": None}


def fit_member(p: dict[str, Any], data: dict[str, Any], seed: int, first: bool):
    """One member's fit: train and test outputs, ‖w‖, verdict (or training status).

    Parameters
    ----------
    p : dict
        Resolved task parameters, ``P`` the feature count of the task.
    data : dict
        ``X`` (N, d) training inputs, ``X_test`` (M, d), ``y`` (N,) labels.
    seed : int
        The member's seed.
    first : bool
        Whether this is the task's first member (only it computes the rank and, with
        a ridge, the verdict).

    Returns
    -------
    dict
        ``f`` (N,) and ``g`` (M,) outputs, ``w_norm`` (‖w‖; α‖θ − θ₀‖ for the network),
        ``verdict`` (hinge: "sat"/"unsat"; network: its training status; MSE: ""),
        ``exact``, ``rank``, ``b`` ((P,) weights of the linear model, else None).

    Examples
    --------
    N = 4 points, P = 8 random ReLU features: the MSE fit interpolates, the hinge is SAT:

    >>> import numpy as np
    >>> from ntkjam.data import sphere
    >>> from ntkjam.experiments.generalization import resolve_params
    >>> from ntkjam.experiments.generalization_fits import fit_member
    >>> X, y = sphere(6, 10, seed=0), np.array([1.0, -1.0, 1.0, -1.0])
    >>> data = {"X": X[:4], "X_test": X[4:], "y": y}
    >>> p = resolve_params({"P": 8, "phi": 0.5, "task": "noisy_teacher_mse"})
    >>> m = fit_member(p, data, seed=1, first=True)
    >>> m["f"].shape, m["g"].shape, np.allclose(m["f"], y), m["rank"]
    ((4,), (2,), True, 4)
    >>> fit_member({**p, "task": "noisy_teacher_hinge"}, data, seed=1, first=True)["verdict"]
    'sat'
    """
    X, Xt, y = data["X"], data["X_test"], data["y"]
    n = X.shape[0]
    J_all, f0_all, extra = member_features(p, np.vstack([X, Xt]), seed)
    if p["source"] == "network":
        f, g, norm, status, rank = _train_network(p, extra, X, y, Xt, first)
        return {"f": f, "g": g, "w_norm": norm, "verdict": status, "exact": True,
                "rank": rank, "b": None}
    f0_all = np.zeros(J_all.shape[0]) if f0_all is None else f0_all
    J, f0 = J_all[:n], f0_all[:n]
    w, verdict, exact, rank = _fit_lazy(p, J, f0, y, first)
    b = None if p["source"] != "linear" else (w if extra is None else extra + w)
    return {"f": f0 + J @ w, "g": f0_all[n:] + J_all[n:] @ w,
            "w_norm": float(np.linalg.norm(w)), "verdict": verdict, "exact": exact,
            "rank": rank, "b": b}
