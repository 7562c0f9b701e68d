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

from ntkjam._validate import as_int, as_real
from ntkjam.core.params import (
    Checked,
    Choice,
    Int,
    NonNegativeReal,
    PositiveInt,
    PositiveReal,
    StudyParams,
)
from ntkjam.core.status import Status
from ntkjam.experiments.convergence import STEP_RULES, TrainOutcome, lr_scale, train_to_convergence
from ntkjam.experiments.diagram_spec import as_axis, diagram_spec
from ntkjam.sweep.registry import register

__all__ = [
    "DEFAULTS",
    "STATUSES",
    "TrainOutcome",
    "TrainedParams",
    "check_params",
    "lr_scale",
    "network_width",
    "resolve_params",
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


def _step(name: str, value: object) -> float:
    """A step in units of N/λ_max(K): > 0 and below the stability limit 2."""
    value = as_real(name, value, positive=True)
    if value >= 2.0:
        raise ValueError(
            f"{name} must be < 2 (in units of N/λ_max(K); 2 is the stability limit), got {value}"
        )
    return value


def _momentum(name: str, value: object) -> float:
    value = as_real(name, value, nonnegative=True)
    if value >= 1.0:
        raise ValueError(f"{name} must be in [0, 1), got {value}")
    return value


def _budget(name: str, value: object) -> int:
    value = as_int(name, value, minimum=1)
    if value > MAX_STEPS:
        raise ValueError(
            f"{name} must be <= {MAX_STEPS} (a budget that no training of these networks "
            f"can use up in reasonable time), got {value}"
        )
    return value


class TrainedParams(StudyParams, study="trained_phase_diagram"):
    """The parameters of :func:`trained_task` and their defaults (the only copy).

    Examples
    --------
    >>> from ntkjam.experiments.trained import TrainedParams
    >>> p = TrainedParams.resolve({"P": 72, "phi": 1.0})
    >>> p["alpha"], p["d"], p["step_rule"], p["max_steps"]
    (1.0, 5, 'tracked', 200000)
    """

    P: PositiveInt
    phi: PositiveReal
    alpha: PositiveReal = 1.0
    d: Int(minimum=2) = 5
    labels: Choice(*LABELS) = "random"
    margin: PositiveReal = 1.0
    sigma_w: PositiveReal = 2**0.5
    lr: Checked(float, _step) = 1.0
    step_rule: Choice(*STEP_RULES) = "tracked"
    momentum: Checked(float, _momentum) = 0.0
    max_steps: Checked(int, _budget) = 200_000
    window: PositiveInt = 5_000
    rtol: NonNegativeReal = 1e-4
    sat_tol: NonNegativeReal = 1e-6


#: Parameters of the task and their defaults (``None``: required).
DEFAULTS: dict[str, Any] = TrainedParams.defaults()


def network_width(P: int, d: int) -> int:
    """Hidden width whose parameter count ``width · (d + 1)`` is nearest P (≥ 1).

    The same rule as the ``"ntk_jacobian"`` source of the lazy phase diagram, so the
    two experiments build the same networks.

    Parameters
    ----------
    P : int
        Target parameter count, ≥ 1.
    d : int
        Input dimension, ≥ 1.

    Returns
    -------
    int
        The width, ≥ 1.

    Examples
    --------
    >>> from ntkjam.experiments.trained import network_width
    >>> network_width(72, 5), network_width(1, 5)  # 12 · 6 = 72; never below one unit
    (12, 1)
    """
    return max(1, round(as_int("P", P, minimum=1) / (as_int("d", d, minimum=1) + 1)))


def resolve_params(params: dict[str, Any]) -> dict[str, Any]:
    """The task parameters validated, every default filled in (pure: the task key is its hash).

    :meth:`TrainedParams.resolve`.

    Parameters
    ----------
    params : dict
        See :func:`trained_task`; ``P`` and ``phi`` required.

    Returns
    -------
    dict
        Every parameter of :class:`TrainedParams`, in field order.

    Raises
    ------
    ValueError, TypeError
        Unknown or missing parameter; φ ≤ 0; P < 1; α ≤ 0; d < 2; margin, σ_w,
        lr, rtol or sat_tol not finite or out of range; window or max_steps < 1;
        max_steps > :data:`MAX_STEPS`; unknown labels or step rule; momentum outside
        [0, 1).  (:func:`check_params` adds N = round(φ·P) ≥ 1 and the memory estimate.)

    Examples
    --------
    >>> from ntkjam.experiments.trained import resolve_params
    >>> resolve_params({"P": 72, "phi": 1.0})["lr"]
    1.0
    >>> resolve_params({"P": 72, "phi": 1.0, "lr": 2.0})  # at the stability limit
    Traceback (most recent call last):
    ...
    ValueError: lr must be < 2 (in units of N/λ_max(K); 2 is the stability limit), got 2.0
    """
    return TrainedParams.resolve(params)


def check_params(params: dict[str, Any]) -> dict[str, Any]:
    """:func:`resolve_params`, then the size of one task against this machine's memory.

    Parameters
    ----------
    params : dict
        See :func:`trained_task`.

    Returns
    -------
    dict
        The resolved parameters.

    Examples
    --------
    >>> from ntkjam.experiments.trained import check_params
    >>> check_params({"P": 72, "phi": 1.0})["P"]
    72
    >>> check_params({"P": 72, "phi": 0.001})  # N = round(0.072) = 0 points
    Traceback (most recent call last):
    ...
    ValueError: phi * P must give at least one point, got phi = 0.001 and P = 72 (...)...
    """
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

    Examples
    --------
    Twelve points for a network of 24 parameters (width 4, d = 5): the lazy problem is
    SAT, and training at α = 10 with heavy-ball momentum reaches zero loss too, the
    kernel moving by less than its own norm:

    >>> from ntkjam.experiments.trained import trained_task
    >>> out = trained_task({"P": 24, "phi": 0.5, "alpha": 10.0, "momentum": 0.9,
    ...                     "max_steps": 3000, "window": 200}, seed=0)
    >>> out["n"], out["n_params"], out["width"], out["rank"]
    (12, 24, 4, 12)
    >>> str(out["train_status"]), out["lazy_verdict"], out["agrees"], out["n_delta"]
    ('sat', 'sat', True, 0)
    >>> bool(out["kernel_change"] < 1.0), out["steps"] < 3000
    (True, True)
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
    phi_min: float = 0.6,
    phi_max: float = 1.8,
    phi_num: int = 7,
    seeds: int = 6,
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

    Examples
    --------
    >>> from ntkjam import sweep
    >>> from ntkjam.experiments.trained import trained_spec
    >>> spec = trained_spec(P=(24,), alpha=(1.0, 10.0), phi_min=0.5, phi_max=1.5, phi_num=3,
    ...                     seeds=2)
    >>> spec.grid, len(sweep.expand(spec))  # 1 P × 2 α × 3 φ × 2 seeds
    ({'P': (24,), 'alpha': (1.0, 10.0), 'phi': (0.5, 1.0, 1.5)}, 12)
    """
    Ps = as_axis("P", P, lambda k, v: as_int(k, v, minimum=1), item="size")
    alphas = as_axis("alpha", alpha, lambda k, v: as_real(k, v, positive=True), kind="numbers")
    return diagram_spec(
        "trained_phase_diagram", check_params,
        axes=[("P", Ps, "sizes"), ("alpha", alphas, "alphas")], phi=(phi_min, phi_max, phi_num),
        seeds=seeds, params=params, output=output, source="trained-diagram",
        description=description or "trained-network jamming: P(SAT) vs phi = N/P and alpha",
    )
