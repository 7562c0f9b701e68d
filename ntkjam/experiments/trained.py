"""The jamming phase diagram of *trained* networks, against the lazy prediction.

One task trains one small network — one hidden ReLU layer of width
``round(P / (d + 1))`` without biases (the network of the ``"ntk_jacobian"``
source of :mod:`ntkjam.experiments.phase_diagram`, NTK parameterization), so its
parameter count is ``n_params = width · (d + 1)`` — on N = round(φ · n_params)
random-label points of the sphere S^{d−1}, with the quadratic hinge loss
``ℓ = ½ max(0, κ − y F)²`` and the output scale α of
:func:`ntkjam.networks.train` (``F = α (f_θ − f_θ₀)``, loss ``L̃/α²``; large α is
the lazy regime, small α the feature-learning regime), in float64, until a
stopping rule fires:

* ``"sat"`` — every constraint holds, ``N_Δ = #{κ − y_i F_i > sat_tol} = 0``;
* ``"unsat"`` — the best loss so far is positive and decreased by less than
  ``rtol`` (relative) over the last ``window`` steps;
* ``"budget"`` — the budget of iterations ran out first (undecided; stores written
  before the vocabulary was unified spell it ``"max_steps"``);
* ``"nan"`` — the loss or the outputs stopped being finite.

These are the rules :class:`~ntkjam.networks.SATReached`,
``UNSATConverged(window, rtol, best=True)`` and :class:`~ntkjam.networks.Budget` of
:func:`ntkjam.networks.train`: the UNSAT rule compares the *best* loss so far (the loss
itself whenever it decreases monotonically, as under gradient descent in the lazy
regime; with momentum, or through a catapult, the loss oscillates).  The loop is the
compiled engine of :func:`ntkjam.networks.train` (:mod:`ntkjam.networks.loop`), run to
the end in one ``lax.while_loop``; with a fixed step it takes exactly the steps of
``train(..., optimizer=GD(lr))`` with the same rules (tested).

The step (``step_rule``): ``"tracked"`` (default) is gradient descent at a fixed
fraction ``lr`` of the *current* stability limit, ``lr_t = lr · N / λ_max(K_t)``
(``lr = 1``: half the limit ``2N/λ_max`` of the dynamics ``Ḟ = −K_t ∇_F L̃``), with
λ_max(K_t) followed by one power iteration per step.  In the lazy regime K_t = K_0
and this is plain gradient descent.  In the feature regime the kernel grows during
training (‖K_T − K_0‖/‖K_0‖ of 10–400 at α ≤ 1 for these widths), and a step fixed
from K_0 ends beyond the stability limit: the outputs catapult and ReLU units die,
and the verdict then depends on the step (measured while writing this module: at
α = 1 the same instances went SAT at ``lr = 0.1`` and UNSAT at ``lr = 1``).
``"fixed"`` keeps ``lr · N / λ_max(K_0)`` throughout.  (A monotone "reject the steps
that raise the loss" rule was tried first and fails here: at ReLU kinks the loss is
not smooth, the step collapses to ~1e-7 and the run stalls into a false UNSAT.)
``momentum`` > 0 adds a heavy-ball term: faster on the ill-conditioned kernels of
these networks, but another dynamics (see :func:`train_to_convergence`).

The same task also solves the lazy problem of the *initial* network exactly
(:func:`ntkjam.networks.lazy_problem` on its Jacobian,
:func:`ntkjam.jamming.minimize_quadratic_hinge`, certified both ways; the LP when
the Newton certificate does not check out): ``lazy_sat`` is what an infinitely
lazy network (α → ∞, unlimited time) would do on the same instance.  Centered
(``f₀ = 0``) the lazy constraints are homogeneous, so that verdict does not depend
on α or κ.  Registered as ``"trained_phase_diagram"``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ntkjam._validate import as_choice, as_int, as_real
from ntkjam.core.status import Status
from ntkjam.experiments.convergence import STEP_RULES, TrainOutcome, lr_scale, train_to_convergence
from ntkjam.sweep.registry import register
from ntkjam.sweep.spec import MAX_TASKS

__all__ = [
    "DEFAULTS",
    "STATUSES",
    "TrainOutcome",
    "check_params",
    "lr_scale",
    "network_width",
    "train_to_convergence",
    "trained_spec",
    "trained_task",
]

#: How a training run ends (``Status`` members, equal to their strings); stores written
#: before the vocabulary was unified hold ``"max_steps"`` for ``"budget"``
#: (:func:`ntkjam.core.status.as_status` reads both).
STATUSES = (Status.SAT, Status.UNSAT, Status.BUDGET, Status.NAN)
LABELS = ("random", "teacher")
#: Largest step budget accepted (about a day of training at 100 µs a step).
MAX_STEPS = 10**9

#: Parameters of the task and their defaults (``None``: required).
DEFAULTS: dict[str, Any] = {
    "P": None,
    "phi": None,
    "alpha": 1.0,
    "d": 5,
    "labels": "random",
    "margin": 1.0,
    "sigma_w": 2**0.5,
    "lr": 1.0,
    "step_rule": "tracked",
    "momentum": 0.0,
    "max_steps": 200_000,
    "window": 5_000,
    "rtol": 1e-4,
    "sat_tol": 1e-6,
}


def network_width(P: int, d: int) -> int:
    """Hidden width whose parameter count ``width · (d + 1)`` is nearest P (≥ 1).

    The same rule as the ``"ntk_jacobian"`` source of the lazy phase diagram, so the
    two experiments build the same networks.
    """
    return max(1, round(as_int("P", P, minimum=1) / (as_int("d", d, minimum=1) + 1)))


def resolve_params(params: dict[str, Any]) -> dict[str, Any]:
    """The task parameters validated, every default filled in (pure: the task key is its hash).

    Raises
    ------
    ValueError, TypeError
        Unknown or missing parameter; φ ≤ 0; P < 1; α ≤ 0; d < 2; margin, σ_w,
        lr, rtol or sat_tol not finite or out of range; window or max_steps < 1;
        max_steps > :data:`MAX_STEPS`; unknown labels or step rule; momentum outside
        [0, 1).  (:func:`check_params` adds N = round(φ·P) ≥ 1 and the memory estimate.)
    """
    if not isinstance(params, dict):
        raise TypeError(f"params must be a dict, got {type(params).__name__}")
    unknown = sorted(set(params) - set(DEFAULTS))
    if unknown:
        raise ValueError(
            f"trained_phase_diagram: unknown parameter {unknown[0]!r}; allowed: "
            f"{', '.join(DEFAULTS)}"
        )
    missing = [k for k, v in DEFAULTS.items() if v is None and k not in params]
    if missing:
        raise ValueError(f"trained_phase_diagram: parameter {missing[0]!r} is required")
    p = {**DEFAULTS, **params}
    p["P"] = as_int("P", p["P"], minimum=1)
    p["phi"] = as_real("phi", p["phi"], positive=True)
    p["alpha"] = as_real("alpha", p["alpha"], positive=True)
    p["d"] = as_int("d", p["d"], minimum=2)
    p["labels"] = as_choice("labels", p["labels"], LABELS)
    p["margin"] = as_real("margin", p["margin"], positive=True)
    p["sigma_w"] = as_real("sigma_w", p["sigma_w"], positive=True)
    p["lr"] = as_real("lr", p["lr"], positive=True)
    if p["lr"] >= 2.0:
        raise ValueError(
            f"lr must be < 2 (in units of N/λ_max(K); 2 is the stability limit), got {p['lr']}"
        )
    p["step_rule"] = as_choice("step_rule", p["step_rule"], STEP_RULES)
    p["momentum"] = as_real("momentum", p["momentum"], nonnegative=True)
    if p["momentum"] >= 1.0:
        raise ValueError(f"momentum must be in [0, 1), got {p['momentum']}")
    p["max_steps"] = as_int("max_steps", p["max_steps"], minimum=1)
    if p["max_steps"] > MAX_STEPS:
        raise ValueError(
            f"max_steps must be <= {MAX_STEPS} (a budget that no training of these networks "
            f"can use up in reasonable time), got {p['max_steps']}"
        )
    p["window"] = as_int("window", p["window"], minimum=1)
    p["rtol"] = as_real("rtol", p["rtol"], nonnegative=True)
    p["sat_tol"] = as_real("sat_tol", p["sat_tol"], nonnegative=True)
    return p


def check_params(params: dict[str, Any]) -> dict[str, Any]:
    """:func:`resolve_params`, then the size of one task against this machine's memory."""
    p = resolve_params(params)
    _check_size(p)
    return p


def _check_size(p: dict[str, Any]) -> None:
    """N = round(φ·n_params) ≥ 1, and one task's arrays fit in this machine's memory."""
    from ntkjam.core.limits import check_memory

    d = p["d"]
    n_params = network_width(p["P"], d) * (d + 1)
    n = round(p["phi"] * n_params)
    if n < 1:
        raise ValueError(
            f"phi * P must give at least one point, got phi = {p['phi']} and P = {n_params} "
            f"(N = round(phi * P) = {n}); raise phi or P"
        )
    # Inputs (N, d), Jacobians (N, P) at the start and the end, kernels K_0, K_T (N, N).
    nbytes = 8.0 * (n * d + 3.0 * n * n_params + 3.0 * n * n)
    check_memory(nbytes, f"P = {p['P']} parameters, d = {d} and phi = {p['phi']:g} "
                 f"(N = {n} points)", "lower P, d or phi")


# --------------------------------------------------------------------------------- task
def _lazy_verdict(net, params, X, y, margin: float):
    """Exact lazy verdict of the initial network (centered: f₀ = 0) on its Jacobian."""
    from ntkjam.jamming import lp_certificate, minimize_quadratic_hinge
    from ntkjam.networks import lazy_problem

    problem = lazy_problem(net, params, X, y, margin=margin, centered=True, use="jacobian")
    result = minimize_quadratic_hinge(problem)
    verdict = result.verdict
    if verdict == "unknown":
        verdict = lp_certificate(problem).verdict
        if verdict == "unknown":
            raise ValueError(
                f"no verified lazy SAT/UNSAT certificate for N = {X.shape[0]} "
                f"(Newton: {result.check.reason}; LP: unknown)"
            )
    return verdict, result


@register("trained_phase_diagram", check=check_params, resolve=resolve_params)
def trained_task(params: dict[str, Any], seed: int) -> dict[str, Any]:
    """Train one network to SAT/UNSAT convergence and compare with its lazy verdict.

    Parameters
    ----------
    params : dict
        ``P`` (target parameter count, required; the network has width
        ``round(P/(d+1))`` and ``n_params = width·(d+1)`` parameters), ``phi``
        (φ = N/n_params > 0, required; N = round(φ · n_params)), ``alpha`` (output
        scale, 1.0), ``d`` (input dimension, 5), ``labels`` ("random" or "teacher"),
        ``margin`` (κ, 1.0), ``sigma_w`` (√2), ``lr`` (step in units of N/λ_max(K),
        1.0, < 2), ``step_rule`` ("tracked" or "fixed"), ``momentum`` (heavy-ball
        β, 0: plain gradient descent), ``max_steps`` (200000), ``window`` (5000),
        ``rtol`` (1e-4), ``sat_tol`` (1e-6).  See the module docstring.
    seed : int
        Task seed; independent streams for the data and the network are spawned
        from it.

    Returns
    -------
    dict
        ``n`` (N), ``n_params``, ``width``, ``phi_eff`` (N/n_params), ``rank`` (of the
        initial Jacobian), ``phi_rank`` (N/rank), ``train_status`` (the stopping rule that
        fired; ``status`` is the sweep's own column), ``sat`` (train_status ==
        "sat"), ``decided`` (sat or unsat), ``loss`` (final loss per sample),
        ``n_delta``, ``n_delta_frac`` (N_Δ/N), ``steps``, ``time``
        (function-space time), ``train_seconds`` (wall clock, compilation
        included), ``lr_initial``, ``lr_final`` (weight-space steps),
        ``kernel_change`` (‖K_T − K_0‖_F/‖K_0‖_F),
        ``weight_change`` (‖θ_T − θ_0‖/‖θ_0‖), ``lazy_verdict``, ``lazy_sat``,
        ``lazy_loss`` and ``lazy_n_delta`` (exact minimum of the linearised problem),
        ``cover`` (Cover's P(SAT) for N points in rank dimensions), ``agrees``
        (trained SAT == lazy SAT), ``n_dead`` (inputs with every hidden unit
        inactive at initialisation).
    """
    from ntkjam.data import load_dataset
    from ntkjam.networks import (
        Budget,
        SATReached,
        UNSATConverged,
        dead_inputs,
        empirical_ntk,
        init_params,
        mlp,
    )
    from ntkjam.theory import cover_probability

    p = check_params(params)
    seed = as_int("seed", seed, minimum=0)
    d = p["d"]
    width = network_width(p["P"], d)
    n_params = width * (d + 1)
    n = round(p["phi"] * n_params)
    if n < 1:
        raise ValueError(
            f"phi * P must give at least one point, got phi = {p['phi']} and P = {n_params}"
        )
    s_data, s_net = (int(s.generate_state(1)[0]) for s in np.random.SeedSequence(seed).spawn(2))
    data = load_dataset("sphere", n_train=n, d=d, labels=p["labels"], seed=s_data)
    X, y = np.asarray(data.X_train), np.asarray(data.y_train)
    net = mlp(d, width, activation="relu", sigma_w=p["sigma_w"])
    params0 = init_params(net, s_net)

    lazy_verdict, lazy = _lazy_verdict(net, params0, X, y, p["margin"])
    K0 = empirical_ntk(net, params0, X)
    if p["step_rule"] == "tracked":
        step = {"lr_fraction": p["lr"]}
    else:
        step = {"lr": p["lr"] * lr_scale(K0)}
    stop = (SATReached(), UNSATConverged(window=p["window"], rtol=p["rtol"], best=True),
            Budget(max_steps=p["max_steps"]))
    res = train_to_convergence(
        net, params0, X, y, alpha=p["alpha"], margin=p["margin"], stop=stop,
        momentum=p["momentum"], sat_tol=p["sat_tol"], **step,
    )
    KT = empirical_ntk(net, res.params, X)
    theta0 = np.concatenate([np.ravel(W) for W, _ in params0])
    thetaT = np.concatenate([np.ravel(W) for W, _ in res.params])
    dead = dead_inputs(net, params0, X)
    rank = int(lazy.rank)
    sat = res.status == "sat"
    return {
        "n": n,
        "n_params": n_params,
        "width": width,
        "phi_eff": n / n_params,
        "rank": rank,
        "phi_rank": n / rank if rank > 0 else None,
        "train_status": res.status,
        "sat": sat,
        "decided": res.status in ("sat", "unsat"),
        "loss": res.loss,
        "n_delta": res.n_unsat,  # stored column names unchanged: old stores stay readable
        "n_delta_frac": res.n_unsat / n,
        "steps": res.steps,
        "time": res.time,
        "train_seconds": res.seconds,
        "lr_initial": res.lr_initial,
        "lr_final": res.lr_final,
        "kernel_change": float(np.linalg.norm(KT - K0) / np.linalg.norm(K0)),
        "weight_change": float(np.linalg.norm(thetaT - theta0) / np.linalg.norm(theta0)),
        "lazy_verdict": lazy_verdict,
        "lazy_sat": lazy_verdict == "sat",
        "lazy_loss": float(lazy.loss),
        "lazy_n_delta": int(lazy.n_unsat),
        "cover": float(cover_probability(n, rank)),
        "agrees": sat == (lazy_verdict == "sat"),
        "n_dead": int(np.union1d(dead.zero_rows, dead.first_layer_inactive).size),
    }


def trained_spec(
    *,
    P: object = (72,),
    alpha: object = (1.0, 10.0, 1000.0),
    phi_min: float = 0.8,
    phi_max: float = 2.0,
    phi_num: int = 7,
    seeds: int = 8,
    output: str | None = None,
    description: str = "",
    **params: Any,
):
    """The sweep spec of a trained phase diagram: grid P × α × φ, ``seeds`` per point.

    Parameters
    ----------
    P : sequence of int
        Target parameter counts (≥ 1, distinct, at least one).
    alpha : sequence of float
        Output scales (> 0, distinct, at least one).
    phi_min, phi_max, phi_num : float, float, int
        ``linspace(phi_min, phi_max, phi_num)`` (0 < phi_min ≤ phi_max; phi_num = 1
        needs phi_min = phi_max).
    seeds : int
        Replicas per grid point (seeds 0, …, seeds − 1).
    output : str, optional
        Run directory.
    description : str
    **params
        Fixed task parameters (see :func:`trained_task`), validated here.

    Returns
    -------
    ntkjam.sweep.SweepSpec
    """
    from ntkjam.sweep import parse_spec

    def as_list(name, value, convert):
        if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
            raise TypeError(f"{name} must be a sequence, got {value!r}")
        out = [convert(name, v) for v in value]
        if not out:
            raise ValueError(f"{name} must list at least one value, got an empty list")
        if len(set(out)) != len(out):
            raise ValueError(f"{name} must not repeat a value, got {out}")
        return out

    Ps = as_list("P", P, lambda k, v: as_int(k, v, minimum=1))
    alphas = as_list("alpha", alpha, lambda k, v: as_real(k, v, positive=True))
    phi_min = as_real("phi_min", phi_min, positive=True)
    phi_max = as_real("phi_max", phi_max, positive=True)
    phi_num = as_int("phi_num", phi_num, minimum=1)
    if phi_max < phi_min:
        raise ValueError(f"phi_max must be >= phi_min = {phi_min}, got {phi_max}")
    if (phi_num == 1) != (phi_max == phi_min):
        raise ValueError(
            f"phi_num = {phi_num} with phi_min = {phi_min}, phi_max = {phi_max}: one value "
            "needs phi_min == phi_max, several need phi_max > phi_min"
        )
    seeds = as_int("seeds", seeds, minimum=1)
    for name in ("P", "phi", "alpha"):
        if name in params:
            raise ValueError(f"{name} is a grid axis here; give it through the axis arguments")
    n_tasks = len(Ps) * len(alphas) * phi_num * seeds
    if n_tasks > MAX_TASKS:
        raise ValueError(
            f"{len(Ps)} sizes x {len(alphas)} alphas x phi_num = {phi_num} x seeds = {seeds} "
            f"make {n_tasks} tasks, more than the {MAX_TASKS} one sweep may hold; lower "
            "phi_num or seeds"
        )
    # The smallest task must have a point, the largest must fit in memory.
    check_params({**params, "P": min(Ps), "phi": phi_min, "alpha": alphas[0]})
    check_params({**params, "P": max(Ps), "phi": phi_max, "alpha": alphas[0]})
    phis = [float(v) for v in np.round(np.linspace(phi_min, phi_max, phi_num), 12)]
    data: dict[str, Any] = {
        "experiment": "trained_phase_diagram",
        "description": description or "trained-network jamming: P(SAT) vs phi = N/P and alpha",
        "params": dict(params),
        "grid": {"P": sorted(Ps), "alpha": sorted(alphas), "phi": phis},
        "seeds": {"count": seeds, "start": 0},
    }
    if output is not None:
        data["output"] = str(output)
    return parse_spec(data, source="trained-diagram")
