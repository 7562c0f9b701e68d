"""The jamming phase diagram: one SAT/UNSAT instance per task, solved exactly.

A task builds the lazy-regime problem ``y_i (f0_i + J_i·w) ≥ κ`` (N points, P
features, φ = N/P, so ``N = round(φ P)``) from a feature source, finds the exact
minimum of the quadratic hinge loss with the finite-Newton solver
(:func:`ntkjam.jamming.minimize_quadratic_hinge`, which certifies its verdict both
ways), and cross-checks the verdict with the LP (:func:`ntkjam.jamming.lp_certificate`)
on a configurable fraction of the tasks.  Registered as ``"phase_diagram"``.

Feature sources (parameter ``source``):

* ``"relu_features"`` — random ReLU features of one hidden layer (NTK
  parameterization), :func:`ntkjam.kernels.features.random_relu_features`;
* ``"fourier_features"`` — random Fourier features of the Gaussian kernel;
* ``"taylor_features"`` — the first P Taylor features of the Gaussian kernel in
  graded order (degree 0, then 1, …; the smallest degree that has P of them).  On
  the sphere their rank is below P (see :func:`ntkjam.kernels.features.taylor_features`);
* ``"ntk_jacobian"`` — the Jacobian ∂f(x_i)/∂θ of a one-hidden-layer ReLU network
  (:mod:`ntkjam.networks`) of width ``round(P / (d + 1))``, so P is the parameter
  count ``width · (d + 1)`` (reported as ``n_params``; N = round(φ · n_params)).  Its
  rank is at most P − width (one rescaling symmetry per ReLU unit): φ is reported in
  units of P (``phi_eff``) and of the rank (``phi_rank``).

The last two are built in :mod:`ntkjam.experiments.diagram_features`; the parameters,
their checks and the parameter count in :mod:`ntkjam.experiments.diagram_params`
(re-exported here).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ntkjam._validate import as_int
from ntkjam.experiments.diagram_features import network_features, taylor_prefix
from ntkjam.experiments.diagram_params import (
    DATASETS,  # noqa: F401  (re-exported: the old import path)
    DEFAULTS,
    LABELS,
    OFFSETS,
    SOURCES,
    PhaseDiagramParams,
    check_params,
    feature_count,
    network_width,
    parameter_count,
    resolve_params,
)
from ntkjam.experiments.diagram_spec import as_axis, diagram_spec
from ntkjam.sweep.registry import register

__all__ = [
    "DEFAULTS",
    "LABELS",
    "OFFSETS",
    "SOURCES",
    "PhaseDiagramParams",
    "build_problem",
    "check_params",
    "parameter_count",
    "phase_diagram_spec",
    "phase_diagram_task",
    "resolve_params",
]


def build_problem(params: dict[str, Any], seed: int):
    """The :class:`ntkjam.problem.Problem` of one task, and facts about its construction.

    Parameters
    ----------
    params : dict
        Task parameters (see :data:`DEFAULTS`; validated by :func:`check_params`).
    seed : int
        Non-negative seed; independent streams for the data, the features and the
        offset are spawned from it.

    Returns
    -------
    problem : ntkjam.problem.Problem
    info : dict
        ``n`` (N), ``n_params`` (P actually used), ``n_dead`` (points with a zero
        feature row, or, for the network, with every first-layer unit inactive).

    Examples
    --------
    >>> from ntkjam.experiments.phase_diagram import build_problem
    >>> problem, info = build_problem({"P": 10, "phi": 1.5}, seed=0)
    >>> problem.features().shape, problem.y.shape, info  # J (N, P), labels (N,)
    ((15, 10), (15,), {'n': 15, 'n_params': 10, 'n_dead': 0})
    >>> sorted(set(problem.y.tolist()))  # random ±1 labels
    [-1.0, 1.0]
    """
    from ntkjam.data import DIGITS_DIM, load_dataset
    from ntkjam.kernels.features import random_fourier_features, random_relu_features
    from ntkjam.problem import from_features

    p = check_params(params)  # includes N = round(φ·P) ≥ 1 and the memory estimate
    seed = as_int("seed", seed, minimum=0)
    input_dim = DIGITS_DIM if p["dataset"] == "digits" else p["d"]
    n_params = feature_count(p["source"], p["P"], input_dim)
    n = round(p["phi"] * n_params)
    s_data, s_feat, s_off = (
        int(s.generate_state(1)[0]) for s in np.random.SeedSequence(seed).spawn(3)
    )
    d = None if p["dataset"] == "digits" else p["d"]
    data = load_dataset(p["dataset"], n_train=n, d=d, labels=p["labels"], seed=s_data)
    X, y = np.asarray(data.X_train), np.asarray(data.y_train)
    f0 = None
    n_dead = None
    if p["source"] == "relu_features":
        J = random_relu_features(X, p["P"], seed=s_feat, sigma_w=p["sigma_w"],
                                 sigma_b=p["sigma_b"])
    elif p["source"] == "fourier_features":
        J = random_fourier_features(X, p["P"], lengthscale=p["lengthscale"], seed=s_feat)
    elif p["source"] == "taylor_features":
        J = taylor_prefix(X, p["P"], p["lengthscale"])
    else:
        J, f_net, n_dead = network_features(X, network_width(p["P"], X.shape[1]),
                                            sigma_w=p["sigma_w"], sigma_b=p["sigma_b"],
                                            seed=s_feat)
        if p["offset"] == "network":
            f0 = p["offset_scale"] * f_net
    if p["offset"] == "gaussian":
        f0 = p["offset_scale"] * np.random.default_rng(s_off).standard_normal(n)
    if n_dead is None:
        norms = np.linalg.norm(J, axis=1)
        top = float(np.max(norms)) if norms.size else 0.0
        n_dead = int(np.count_nonzero(norms <= 1e-12 * max(top, np.finfo(float).tiny)))
    problem = from_features(J, y, f0=f0, margin=p["margin"])
    return problem, {"n": n, "n_params": int(J.shape[1]), "n_dead": n_dead}


def _lp_draw(seed: int, fraction: float) -> bool:
    """Whether this task is cross-checked by LP: a draw from its own stream."""
    if fraction <= 0:
        return False
    if fraction >= 1:
        return True
    u = np.random.default_rng(np.random.SeedSequence(seed).spawn(4)[3]).random()
    return bool(u < fraction)


@register("phase_diagram", check=check_params, resolve=resolve_params)
def phase_diagram_task(params: dict[str, Any], seed: int) -> dict[str, Any]:
    """Solve one SAT/UNSAT instance exactly and measure it.

    Parameters
    ----------
    params : dict
        ``P`` (features, ≥ 1, required), ``phi`` (φ = N/P > 0, required; N =
        round(φ P)), ``source`` (see the module docstring; "relu_features"), ``d``
        (input dimension, 10; ignored for the digits), ``dataset`` ("auto": the
        digits for parity labels, the sphere S^{d−1} otherwise; "sphere",
        "gaussian", "digits"), ``labels`` ("random", "teacher", "parity"),
        ``margin`` (κ, 1.0), ``offset`` ("zero"; "gaussian": f0 ~ offset_scale ·
        N(0, 1); "network": offset_scale × the network at initialisation, with
        "ntk_jacobian"), ``offset_scale`` (1.0), ``sigma_w`` (√2), ``sigma_b`` (0),
        ``lengthscale`` (Fourier/Taylor, 1.0), ``lp_fraction`` (probability that
        this task is cross-checked by LP, 0), ``store_arrays`` (return gaps and
        forces, True).
    seed : int
        Task seed (the sweep engine derives it from the task key).

    Returns
    -------
    dict
        Scalars: ``n`` (N), ``n_params`` (P used), ``phi_eff`` (N/P), ``rank``,
        ``phi_rank`` (N/rank), ``sat`` (bool), ``verdict`` ("sat"/"unsat"), ``loss``
        (per sample, at the minimum), ``n_delta`` (N_Δ), ``n_delta_frac`` (N_Δ/N),
        ``isostaticity`` (N_Δ/rank), ``n_contacts``, ``n_dead``, ``iterations``,
        ``kkt_residual``, ``cover`` (Cover's P(SAT) for N points in rank
        dimensions), ``lp_checked``, ``lp_verdict`` ("" when not checked),
        ``lp_agrees`` (None when not checked).  Arrays (with ``store_arrays``):
        ``gaps`` (y f − κ > tol of the satisfied points) and ``forces`` (Δ > tol of
        the unsatisfied points) at the minimum.

    Raises
    ------
    ValueError
        Bad parameters; a verdict that neither the Newton solver nor the LP can back
        with a checked certificate; an LP cross-check that disagrees.

    Examples
    --------
    Cover's transition is at N = 2P: 10 points in 10 dimensions are always separable,
    30 almost never (P(SAT) = 0.0307); UNSAT, the minimum leaves N_Δ > 0 constraints
    violated.

    >>> from ntkjam.experiments.phase_diagram import phase_diagram_task
    >>> sat = phase_diagram_task({"P": 10, "phi": 1.0}, seed=0)
    >>> sat["verdict"], sat["n"], sat["rank"], sat["n_delta"], sat["cover"]
    ('sat', 10, 10, 0, 1.0)
    >>> unsat = phase_diagram_task({"P": 10, "phi": 3.0, "lp_fraction": 1.0}, seed=0)
    >>> unsat["verdict"], unsat["lp_agrees"], unsat["n_delta"] > 0, round(unsat["cover"], 4)
    ('unsat', True, True, 0.0307)
    >>> unsat["arrays"]["forces"].shape == (unsat["n_delta"],)  # one force per violation
    True
    """
    from ntkjam.jamming import lp_certificate, minimize_quadratic_hinge
    from ntkjam.theory import cover_probability

    p = check_params(params)
    problem, info = build_problem(p, seed)
    result = minimize_quadratic_hinge(problem)
    verdict = result.verdict
    lp_checked = _lp_draw(seed, p["lp_fraction"]) or verdict == "unknown"
    lp_verdict = ""
    if lp_checked:
        lp_verdict = lp_certificate(problem).verdict
        if verdict == "unknown":
            verdict = lp_verdict
        if verdict == "unknown":
            raise ValueError(
                f"no verified SAT/UNSAT certificate for N = {info['n']}, P = "
                f"{info['n_params']} (Newton: {result.check.reason}; LP: unknown)"
            )
        if lp_verdict != verdict:
            raise ValueError(
                f"Newton verdict {verdict!r} and LP verdict {lp_verdict!r} disagree "
                f"(N = {info['n']}, P = {info['n_params']})"
            )
    rank = int(result.rank)
    n = info["n"]
    out: dict[str, Any] = {
        "n": n,
        "n_params": info["n_params"],
        "phi_eff": n / info["n_params"],
        "rank": rank,
        "phi_rank": n / rank if rank > 0 else None,
        "sat": verdict == "sat",
        "verdict": verdict,
        "loss": float(result.loss),
        "n_delta": int(result.n_unsat),
        "n_delta_frac": result.n_unsat / n,
        "isostaticity": result.n_unsat / rank if rank > 0 else None,
        "n_contacts": int(result.contacts.size),
        "n_dead": int(info["n_dead"]),
        "iterations": int(result.iterations),
        "kkt_residual": float(result.kkt_residual),
        "cover": float(cover_probability(n, rank)),
        "lp_checked": bool(lp_checked),
        "lp_verdict": lp_verdict,
        "lp_agrees": (lp_verdict == verdict) if lp_checked else None,
    }
    if p["store_arrays"]:
        out["arrays"] = {
            "gaps": np.asarray(result.gaps, dtype=np.float64),
            "forces": np.asarray(result.forces, dtype=np.float64),
        }
    return out


def phase_diagram_spec(
    *,
    P: object = (50, 100, 200),
    phi_min: float = 1.0,
    phi_max: float = 3.0,
    phi_num: int = 41,
    seeds: int = 25,
    output: str | None = None,
    description: str = "",
    **params: Any,
):
    """The sweep spec of a phase diagram: grid P × φ, ``seeds`` replicas per point.

    Parameters
    ----------
    P : sequence of int
        Feature counts, each ≥ 1, distinct, at least one.
    phi_min, phi_max : float
        φ range (0 < phi_min ≤ phi_max).
    phi_num : int
        Points of ``linspace(phi_min, phi_max, phi_num)`` (≥ 1; 1 needs
        phi_min = phi_max).
    seeds : int
        Replicas per grid point (≥ 1): seeds 0, …, seeds − 1.
    output : str, optional
        Run directory.
    description : str
    **params
        Fixed task parameters (see :func:`phase_diagram_task`), validated here.

    Returns
    -------
    ntkjam.sweep.SweepSpec

    Examples
    --------
    >>> from ntkjam import sweep
    >>> from ntkjam.experiments.phase_diagram import phase_diagram_spec
    >>> spec = phase_diagram_spec(P=(10, 20), phi_min=1.0, phi_max=3.0, phi_num=5, seeds=2)
    >>> spec.experiment, spec.grid["phi"], len(sweep.expand(spec))  # 2 P × 5 φ × 2 seeds
    ('phase_diagram', (1.0, 1.5, 2.0, 2.5, 3.0), 20)
    """
    Ps = as_axis("P", P, lambda k, v: as_int(k, v, minimum=1), item="size")
    return diagram_spec(
        "phase_diagram", check_params, axes=[("P", Ps, "sizes")], phi=(phi_min, phi_max, phi_num),
        seeds=seeds, params=params, output=output, source="phase-diagram",
        description=description or "jamming phase diagram: P(SAT) vs phi = N/P",
    )
