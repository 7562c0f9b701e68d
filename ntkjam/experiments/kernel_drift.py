"""Training drift of the empirical NTK: ‖K(T) − K(0)‖ after training to convergence.

One task (registered ``"kernel_drift"``) trains one network (``depth`` hidden layers of
width n, NTK parameterization, no biases) on N points of S^{d−1} with ±1 labels and the
output scale α of :func:`ntkjam.networks.train` (``F = α (f_θ − f_θ₀)``, loss ``L̃/α²``:
``Ḟ = −K_t ∇_F L̃`` does not depend on α, the weights move by O(1/α)), by full-batch
gradient descent in one compiled ``lax.while_loop`` (:mod:`ntkjam.networks.loop`), until

* quadratic hinge ``½ max(0, κ − y F)²``: ``"sat"`` when N_Δ = #{κ − y_i F_i > sat_tol}
  = 0 (zero loss, training stops), ``"unsat"`` when the best loss is positive and fell by
  less than ``rtol`` over ``window`` steps;
* MSE ``½ (F − y)²``: ``"converged"`` when ``L̃ ≤ loss_tol`` (interpolation), ``"unsat"``
  when a positive loss stopped falling;
* ``"budget"`` (undecided) or ``"nan"``.

Then the distances, with the structured empirical NTK (the Jacobian is never formed):
‖K_T − K_0‖/‖K_0‖ (Frobenius, operator), ‖θ_T − θ_0‖/‖θ_0‖, the fraction of (point,
hidden unit) pairs whose pre-activation changed sign.  The step is a fraction ``lr`` of
the stability limit 2N/λ_max(K), fixed from K_0 or tracked (as the trained phase
diagram).  The points are given as ``n`` or as ``phi`` = N/P (N points, P parameters).

Expected (``docs/kernel_drift.md``): smooth activations ``‖ΔK‖/‖K‖ ≈ (A/α + B/α²)/n`` at
fixed N, so n^{-1} at every α (P^{-1/2} when P ~ n²); for ReLU the units whose pattern
flips on a training point add ``C α^{-1/2} n^{-3/4}``, which wins at large α.
The run record :class:`DriftRun` and the distances (:func:`measure_drift`) are in
:mod:`ntkjam.experiments.kernel_drift_measures`, the MSE's stopping rule ``LossBelow`` in
:mod:`ntkjam.core.stopping`; both are re-exported here.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
from pydantic import model_validator

from ntkjam._validate import as_int, as_real
from ntkjam.core.params import (
    Checked,
    Choice,
    Int,
    NonNegativeReal,
    Nullable,
    PositiveInt,
    PositiveReal,
    StudyParams,
)
from ntkjam.core.status import Status
from ntkjam.core.stopping import LossBelow
from ntkjam.experiments.fluctuations import check_sizes
from ntkjam.experiments.kernel_drift_measures import DriftRun, measure_drift, side_of
from ntkjam.kernels.activations import BUILTIN
from ntkjam.sweep.registry import register

__all__ = [
    "DEFAULTS",
    "LOSSES",
    "DriftRun",
    "KernelDriftParams",
    "LossBelow",
    "check_params",
    "drift_run",
    "kernel_drift",
    "kernel_drift_spec",
    "measure_drift",
    "side_of",
    "task_inputs",
]

#: The losses of the study.
LOSSES = ("quadratic_hinge", "mse")
#: Largest step budget accepted.
MAX_STEPS = 10**9


def _step(name: str, value: object) -> float:
    value = as_real(name, value, positive=True)
    if value >= 2.0:
        raise ValueError(f"{name} must be < 2 (in units of N/λ_max(K); 2 is the stability "
                         f"limit), got {value}")
    return value


def _beta(name: str, value: object) -> float:
    if (value := as_real(name, value, nonnegative=True)) >= 1.0:
        raise ValueError(f"{name} must be in [0, 1), got {value}")
    return value


def _budget(name: str, value: object) -> int:
    if (value := as_int(name, value, minimum=1)) > MAX_STEPS:
        raise ValueError(f"{name} must be <= {MAX_STEPS}, got {value}")
    return value


class KernelDriftParams(StudyParams, study="kernel_drift"):
    """The parameters of :func:`kernel_drift` and their defaults (the only copy).

    Examples
    --------
    >>> from ntkjam.experiments.kernel_drift import KernelDriftParams
    >>> p = KernelDriftParams.resolve({"width": 8, "n": 6})
    >>> p["loss"], p["alpha"], p["step_rule"], p["phi"]
    ('quadratic_hinge', 1.0, 'tracked', None)
    >>> KernelDriftParams.resolve({"width": 8, "n": 6, "phi": 0.5})
    Traceback (most recent call last):
    ...
    ValueError: give exactly one of n (points) and phi (...), got n = 6 and phi = 0.5
    """

    width: PositiveInt
    n: Nullable(PositiveInt) = None
    phi: Nullable(PositiveReal) = None
    depth: PositiveInt = 1
    d: Int(minimum=2) = 10
    alpha: PositiveReal = 1.0
    loss: Choice(*LOSSES) = "quadratic_hinge"
    labels: Choice("random", "teacher") = "random"
    data_seed: Nullable(Int(minimum=0)) = None
    margin: PositiveReal = 1.0
    activation: Choice(*BUILTIN) = "relu"
    sigma_w: PositiveReal = 2**0.5
    lr: Checked(float, _step) = 1.0
    step_rule: Choice("tracked", "fixed") = "tracked"
    momentum: Checked(float, _beta) = 0.0
    max_steps: Checked(int, _budget) = 200_000
    window: PositiveInt = 5_000
    rtol: NonNegativeReal = 1e-5
    sat_tol: NonNegativeReal = 1e-6
    loss_tol: PositiveReal = 1e-8

    @model_validator(mode="after")
    def one_size(self) -> KernelDriftParams:
        """Check that exactly one of ``n`` and ``phi`` is given (pydantic runs it).

        Examples
        --------
        >>> from ntkjam.experiments.kernel_drift import KernelDriftParams
        >>> KernelDriftParams(width=8, phi=0.5).one_size().phi
        0.5
        >>> KernelDriftParams.resolve({"width": 8})
        Traceback (most recent call last):
        ...
        ValueError: give exactly one of n (points) and phi (...), got n = None and phi = None
        """
        if (self.n is None) == (self.phi is None):
            raise ValueError(f"give exactly one of n (points) and phi (N = round(phi * P)), "
                             f"got n = {self.n} and phi = {self.phi}")
        return self


#: Parameters of the task and their defaults (``None``: required or computed).
DEFAULTS: dict[str, Any] = KernelDriftParams.defaults()


def _network(p: dict[str, Any]):
    from ntkjam.networks import mlp, param_count

    net = mlp(p["d"], p["width"], depth=p["depth"], activation=p["activation"],
              sigma_w=p["sigma_w"], parameterization="ntk")
    return net, param_count(net)


def _points(p: dict[str, Any], n_params: int) -> int:
    n = p["n"] if p["n"] is not None else round(p["phi"] * n_params)
    if n < 1:
        raise ValueError(f"phi * P must give at least one point, got phi = {p['phi']} and "
                         f"P = {n_params}; raise phi or the width")
    return int(n)


def check_params(params: dict[str, Any]) -> dict[str, Any]:
    """:meth:`KernelDriftParams.resolve`, N ≥ 1, and one task's memory on this machine.

    Parameters
    ----------
    params : dict
        See :func:`kernel_drift`.

    Returns
    -------
    dict
        The resolved parameters.

    Examples
    --------
    >>> from ntkjam.experiments.kernel_drift import check_params
    >>> check_params({"width": 8, "n": 6})["width"]
    8
    >>> check_params({"width": 8, "n": 10**6})  # two (1e6, 1e6) kernels
    Traceback (most recent call last):
    ...
    ValueError: N = 1000000 points at width 8, depth 1 needs about 43.7 TiB of memory ...
    """
    from ntkjam.core.limits import check_memory

    p = KernelDriftParams.resolve(params)
    net, n_params = _network(p)
    n = _points(p, n_params)
    hidden = p["width"] * p["depth"]
    # kernels K_0, K_T and their difference (N, N) with an eigendecomposition's copies,
    # the parameters (start, end, gradient, momentum), layer activations and signals
    nbytes = 8.0 * (6 * n * n + 5 * n_params + 4 * n * (hidden + p["d"]) + 6 * 256 * 256)
    check_memory(nbytes, f"N = {n} points at width {p['width']}, depth {p['depth']}",
                 "lower n, phi or the width")
    return p


def _optimizer(net, X, K0: np.ndarray, p: dict[str, Any]):
    """Heavy ball (gradient descent at momentum 0) at a fraction of the stability limit."""
    from ntkjam.networks.optimizers import momentum, tracked_step

    evals, evecs = np.linalg.eigh(K0)
    if not evals[-1] > 0:
        raise ValueError(f"K_0 must have a positive eigenvalue, got λ_max = {evals[-1]}")
    step = (tracked_step(p["lr"], net, X, evecs[:, -1], float(evals[-1]))
            if p["step_rule"] == "tracked" else p["lr"] * X.shape[0] / float(evals[-1]))
    return momentum(step, p["momentum"])


def _rules(p: dict[str, Any]) -> tuple:
    from ntkjam.networks import Budget, SATReached, UNSATConverged

    first = (SATReached() if p["loss"] == "quadratic_hinge"
             else LossBelow(p["loss_tol"] / p["alpha"] ** 2))
    return (first, UNSATConverged(window=p["window"], rtol=p["rtol"], best=True),
            Budget(max_steps=p["max_steps"]))


def task_inputs(params: dict[str, Any], seed: int):
    """The validated params, the network, the data and θ_0 of a task (no training).

    Parameters
    ----------
    params : dict
        See :func:`kernel_drift`.
    seed : int
        Task seed; independent streams for the data and the network are spawned from it
        (as in the trained phase diagram); the data come from ``data_seed`` instead when
        it is given.

    Returns
    -------
    p : dict
        :func:`check_params` of ``params``.
    net : ntkjam.networks.MLP
    X : ndarray, shape (N, d)
    y : ndarray, shape (N,)
        ±1 labels.
    params0 : list of (W, None)
        θ_0: one weight matrix per layer, shapes (d, n), …, (n, 1); no biases.

    Examples
    --------
    With ``data_seed`` the data are the same for every seed; only θ_0 changes:

    >>> import numpy as np
    >>> from ntkjam.experiments.kernel_drift import task_inputs
    >>> p, net, X, y, params0 = task_inputs({"width": 8, "n": 6, "d": 3}, seed=0)
    >>> X.shape, y.shape, [W.shape for W, _ in params0]
    ((6, 3), (6,), [(3, 8), (8, 1)])
    >>> a = task_inputs({"width": 8, "n": 6, "d": 3, "data_seed": 5}, seed=1)
    >>> b = task_inputs({"width": 8, "n": 6, "d": 3, "data_seed": 5}, seed=2)
    >>> np.array_equal(a[2], b[2]), np.array_equal(a[4][0][0], b[4][0][0])
    (True, False)
    """
    import jax.numpy as jnp

    from ntkjam.data import load_dataset
    from ntkjam.networks import init_params

    p = check_params(params)
    seed = as_int("seed", seed, minimum=0)
    net, n_params = _network(p)
    n = _points(p, n_params)
    s_data, s_net = (int(s.generate_state(1)[0]) for s in np.random.SeedSequence(seed).spawn(2))
    if p["data_seed"] is not None:
        s_data = p["data_seed"]
    data = load_dataset("sphere", n_train=n, d=p["d"], labels=p["labels"], seed=s_data)
    X, y = np.asarray(data.X_train), np.asarray(data.y_train)
    return p, net, X, y, [(jnp.asarray(W), None) for W, _ in init_params(net, s_net)]


def drift_run(params: dict[str, Any], seed: int) -> DriftRun:
    """Train the network of a task (:func:`task_inputs`) to convergence; K_0 and K_T.

    Parameters
    ----------
    params : dict
        See :func:`kernel_drift`.
    seed : int
        Task seed (see :func:`task_inputs`).

    Returns
    -------
    DriftRun

    Examples
    --------
    Six points for a ReLU network of 32 parameters: the hinge loss reaches zero:

    >>> from ntkjam.experiments.kernel_drift import drift_run
    >>> run = drift_run({"width": 8, "n": 6, "d": 3, "max_steps": 200, "window": 50}, 0)
    >>> str(run.status), run.n_unsat, run.X.shape, run.K0.shape, run.KT.shape
    ('sat', 0, (6, 3), (6, 6), (6, 6))
    """
    import jax.numpy as jnp

    from ntkjam.losses import get_loss
    from ntkjam.networks import empirical_ntk
    from ntkjam.networks.loop import CompiledEngine
    from ntkjam.networks.mlp import apply_fn

    p, net, X, y, params0 = task_inputs(params, seed)
    K0 = empirical_ntk(net, params0, X)
    opt = _optimizer(net, X, K0, p)
    loss = get_loss(p["loss"], margin=p["margin"])
    Xj, yj = jnp.asarray(X), jnp.asarray(y)
    start = time.perf_counter()
    engine = CompiledEngine(net, loss, opt, _rules(p), Xj, yj, apply_fn(net, params0, Xj),
                            p["alpha"], p["sat_tol"], params0)
    end = engine.advance()
    F = np.asarray(end.outputs)
    seconds = time.perf_counter() - start
    n_unsat = int(np.sum(p["margin"] - y * F > p["sat_tol"]))
    return DriftRun(
        status=Status(end.status), steps=int(end.steps), time=float(end.time),
        loss=float(end.loss) * p["alpha"] ** 2, n_unsat=n_unsat,
        lr_initial=float(opt.first_lr), lr_final=float(opt.lr(engine.carry.opt_state)),
        seconds=seconds, net=net, X=X, y=y, params0=params0, params=end.params, K0=K0,
        KT=empirical_ntk(net, end.params, X),
    )


@register("kernel_drift", check=check_params, resolve=KernelDriftParams.resolve)
def kernel_drift(params: dict[str, Any], seed: int) -> dict[str, Any]:
    """Train one network to convergence and measure how far its NTK moved.

    Parameters
    ----------
    params : dict
        ``width`` (n of every hidden layer, required), ``n`` (points N; None: give
        ``phi``), ``phi`` (φ = N/P with N = round(φ·P); None: give ``n``), ``depth``
        (hidden layers, 1), ``d`` (input dimension, 10), ``alpha`` (output scale α,
        1.0), ``loss`` ("quadratic_hinge" or "mse"), ``labels`` ("random" or
        "teacher"), ``data_seed`` (None: the data are drawn from the task seed; an
        integer: the same data for every seed, the spread is then the initialisation's),
        ``margin`` (κ, 1.0), ``activation`` ("relu"), ``sigma_w`` (√2), ``lr`` (step in
        units of N/λ_max(K), 1.0, < 2), ``step_rule`` ("tracked" or "fixed"),
        ``momentum`` (heavy-ball β, 0.0: gradient descent), ``max_steps`` (200000),
        ``window`` (5000), ``rtol`` (1e-5), ``sat_tol`` (1e-6), ``loss_tol`` (MSE
        interpolation threshold on L̃, 1e-8).  See the module docstring.
    seed : int
        Task seed (data and network streams are spawned from it).

    Returns
    -------
    dict
        The measurements of :func:`measure_drift`, and ``n_points`` (N), ``n_params``
        (P), ``phi_eff`` (N/P), ``rank_bound`` (the generic Jacobian rank P − Σ n_l for
        ReLU, P otherwise), ``phi_cover`` (2·rank_bound/P: the lazy threshold of the
        centered hinge problem), ``train_status``, ``side`` ("sat", "unsat" or
        "undecided", :func:`side_of`), ``sat`` (side == "sat"), ``final_loss`` (final L̃
        per sample), ``n_delta`` (final N_Δ), ``steps``, ``time`` (function-space time),
        ``train_seconds``, ``lr_initial``, ``lr_final``.

    Examples
    --------
    Width 8 on d = 3 inputs: P = 3·8 + 8 = 32 parameters, and the generic Jacobian
    rank P − 8 = 24 (one rescaling symmetry per ReLU unit) puts the lazy threshold at
    φ = 2·24/32 = 1.5; six points are far below it:

    >>> from ntkjam.experiments.kernel_drift import kernel_drift
    >>> out = kernel_drift({"width": 8, "n": 6, "d": 3, "max_steps": 200, "window": 50}, 0)
    >>> out["n_params"], out["rank_bound"], out["phi_cover"], out["side"], out["n_delta"]
    (32, 24, 1.5, 'sat', 0)
    >>> bool(0 < out["rel_frobenius"] < 1), bool(0 <= out["pattern_change"] <= 1)
    (True, True)
    """
    from ntkjam.networks import expected_jacobian_rank

    run = drift_run(params, seed)
    n, n_params = run.X.shape[0], sum(int(np.asarray(W).size) for W, _ in run.params0)
    rank = expected_jacobian_rank(run.net, n_params)
    side = side_of(run.status)
    out: dict[str, Any] = {
        "n_points": n, "n_params": n_params, "phi_eff": n / n_params, "rank_bound": rank,
        "phi_cover": 2.0 * rank / n_params, "train_status": str(run.status), "side": side,
        "sat": side == "sat", "final_loss": run.loss, "n_delta": run.n_unsat,
        "steps": run.steps, "time": run.time, "train_seconds": run.seconds,
        "lr_initial": run.lr_initial, "lr_final": run.lr_final}
    out.update(measure_drift(run))
    return out


def kernel_drift_spec(*, widths: object = (32, 64, 128, 256), alphas: object = (10.0,),
                      losses: object = LOSSES, n: object | None = None,
                      phi: object | None = None, seeds: int = 3, output: str | None = None,
                      description: str = "", **params: Any):
    """The sweep spec of :func:`kernel_drift`: grid width × α × loss × (n or φ).

    Parameters
    ----------
    widths : sequence of int
        Strictly increasing.
    alphas : sequence of float
        Strictly increasing, > 0.
    losses : sequence of str
        Distinct names of :data:`LOSSES`.
    n, phi : sequence, optional
        Points N (strictly increasing integers) or φ = N/P (strictly increasing, > 0):
        exactly one of them (default ``n = (50,)``).
    seeds : int
    output, description : str, optional
    **params
        Fixed task parameters (see :func:`kernel_drift`).

    Returns
    -------
    ntkjam.sweep.SweepSpec

    Examples
    --------
    >>> from ntkjam import sweep
    >>> from ntkjam.experiments.kernel_drift import kernel_drift_spec
    >>> spec = kernel_drift_spec(widths=(8, 16), alphas=(1.0, 10.0), losses=("mse",),
    ...                          n=(6,), seeds=2, d=3)
    >>> spec.grid, len(sweep.expand(spec))  # 2 widths × 2 α × 1 loss × 1 N × 2 seeds
    ({'width': (8, 16), 'alpha': (1.0, 10.0), 'loss': ('mse',), 'n': (6,)}, 8)
    """
    from ntkjam.sweep import parse_spec

    if n is not None and phi is not None:
        raise ValueError("give n (points) or phi (N = round(phi * P)), not both")
    grid: dict[str, list] = {"width": check_sizes(widths, "widths", at_least=1),
                             "alpha": _increasing(alphas, "alphas"),
                             "loss": _losses(losses)}
    if phi is not None:
        grid["phi"] = _increasing(phi, "phi")
    else:
        grid["n"] = check_sizes((50,) if n is None else n, "n", at_least=1)
    seeds = as_int("seeds", seeds, minimum=1)
    for name in (*grid, "n", "phi", "seed"):
        if name in params:
            raise ValueError(f"{name} is a grid axis here; give it through the axis arguments")
    check_params({**params, **{k: v[0] for k, v in grid.items()}})
    check_params({**params, **{k: v[-1] for k, v in grid.items()}})
    data: dict[str, Any] = {"experiment": "kernel_drift", "params": dict(params),
                            "description": description or "training drift of the NTK",
                            "grid": grid, "seeds": {"count": seeds, "start": 0}}
    if output is not None:
        data["output"] = str(output)
    return parse_spec(data, source="kernel_drift")


def _increasing(values: object, name: str) -> list[float]:
    if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
        raise TypeError(f"{name} must be a sequence of numbers, got {values!r}")
    out = [as_real(name, v, positive=True) for v in values]
    if not out or any(b <= a for a, b in zip(out, out[1:], strict=False)):
        raise ValueError(f"{name} must be strictly increasing (at least one value), got {out}")
    return out


def _losses(values: object) -> list[str]:
    from ntkjam._validate import as_choice

    if isinstance(values, str):
        values = [values]
    out = [as_choice("losses", v, LOSSES) for v in values]
    if not out or len(set(out)) != len(out):
        raise ValueError(f"losses must list distinct names of {list(LOSSES)}, got {out}")
    return out
