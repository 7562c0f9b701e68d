"""Weight-space training of an :class:`~ntkjam.networks.MLP`, recording the evolving kernel.

The trained function and the loss (Chizat & Bach 2019; Geiger et al. 2020) are ::

    F_θ(x) = α (f_θ(x) − f_θ₀(x))          (centered; α f_θ(x) with centered=False)
    L(θ)   = (1/α²) · (1/N) Σ_i ℓ(F_θ(x_i), y_i)

with the per-sample losses of :mod:`ntkjam.losses`.  Gradient flow θ̇ = −∇_θ L
then moves the outputs by ::

    Ḟ = −K_t ∇_F L̃,   L̃(F) = (1/N) Σ_i ℓ(F_i, y_i),   K_t = J_t J_tᵀ

where ``K_t`` is the (unscaled) empirical NTK of ``f_θ``: the function-space
dynamics do not depend on α, so **time t is comparable across α**, while the
weights move by O(1/α) — large α is the lazy (fixed-kernel) regime, small α the
feature-learning regime.  Time is ``t = Σ steps`` of the optimiser: ``lr · step``
for gradient descent (and, nominally, Adam), the sum of accepted ``dt`` for the
adaptive gradient flow.

Optimisers: :class:`GD` (fixed step), :class:`GradientFlow` (adaptive Euler
steps accepted only if the outputs and the gradient changed little), :class:`Adam`.
Stopping rules are separate objects: :class:`SATReached`, :class:`UNSATConverged`,
:class:`Budget`; the result's ``status`` is ``"sat"``, ``"unsat"``, ``"max_steps"``
or ``"nan"``.
"""

from __future__ import annotations

import bisect
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from ntkjam._validate import as_float_array, as_inputs, as_int, as_real
from ntkjam.losses import Loss, get_loss, n_unsatisfied
from ntkjam.networks.empirical_ntk import empirical_ntk
from ntkjam.networks.mlp import (
    MLP,
    Params,
    _apply_jit,
    apply_fn,
    check_inputs,
    flatten_params,
)

STATUSES = ("sat", "unsat", "max_steps", "nan")


# ---------------------------------------------------------------------------
# optimisers


@dataclass(frozen=True)
class GD:
    """Full-batch gradient descent ``θ ← θ − lr ∇L``; time advances by ``lr`` per step."""

    lr: float = 0.5

    def __post_init__(self) -> None:
        as_real("lr", self.lr, positive=True)


@dataclass(frozen=True)
class GradientFlow:
    """Gradient flow by adaptive Euler steps ``θ' = θ − dt ∇L(θ)``.

    A step is accepted only if the outputs and the gradient changed little:

    * ``max_i |F'_i − F_i| <= max_output_change``;
    * ``max_i |F'_i − F_i − ΔF_lin,i| <= max_nonlinearity``, with
      ``ΔF_lin = −dt K_t ∇_F L̃`` the first-order (function-space) prediction: the
      step resolves the curvature of the network and the ReLU kinks it crosses;
    * ``‖∇_F L̃(F') − ∇_F L̃(F)‖ <= max_grad_change · ‖∇_F L̃(F)‖``, the change of
      the loss gradient in function space.  Skipped for the linear ``hinge``, whose
      gradient jumps when a point crosses the margin however small the step.

    On success ``dt ← min(grow · dt, dt_max)``, on rejection ``dt ← shrink · dt``;
    a step with ``dt <= dt_min`` is always accepted.  The tests are in function
    space on purpose: the *weight-space* gradient of a ReLU network jumps whenever
    a unit changes sign on a training point, and a test on it shrinks the step to
    nothing as the trajectory creeps towards such a kink (a Zeno pile-up), while
    the outputs are continuous in θ.  For the same reason the nonlinearity test is
    absolute: the error of a step across a kink is linear in the step.
    """

    dt: float = 0.1
    max_output_change: float = 0.05
    max_nonlinearity: float = 1e-3
    max_grad_change: float = 0.1
    grow: float = 1.1
    shrink: float = 0.5
    dt_min: float = 1e-8
    dt_max: float = math.inf

    def __post_init__(self) -> None:
        as_real("dt", self.dt, positive=True)
        as_real("max_output_change", self.max_output_change, positive=True)
        as_real("max_nonlinearity", self.max_nonlinearity, positive=True)
        as_real("max_grad_change", self.max_grad_change, positive=True)
        if not as_real("grow", self.grow) >= 1.0:
            raise ValueError(f"grow must be >= 1, got {self.grow}")
        if not 0.0 < as_real("shrink", self.shrink) < 1.0:
            raise ValueError(f"shrink must be in (0, 1), got {self.shrink}")
        as_real("dt_min", self.dt_min, positive=True)
        if not (isinstance(self.dt_max, (int, float)) and self.dt_max > 0):
            raise ValueError(f"dt_max must be > 0 (inf allowed), got {self.dt_max!r}")


@dataclass(frozen=True)
class Adam:
    """Adam (Kingma & Ba 2015) on the full batch; time advances by ``lr`` per step."""

    lr: float = 1e-2
    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-8

    def __post_init__(self) -> None:
        as_real("lr", self.lr, positive=True)
        for name in ("beta1", "beta2"):
            value = as_real(name, getattr(self, name))
            if not 0.0 <= value < 1.0:
                raise ValueError(f"{name} must be in [0, 1), got {value}")
        as_real("eps", self.eps, positive=True)


Optimizer = GD | GradientFlow | Adam


# ---------------------------------------------------------------------------
# stopping rules


class LossHistory:
    """Losses at accepted steps, oldest first, trimmed to what the stopping rules need."""

    def __init__(self, keep_steps: int, keep_time: float) -> None:
        self._t: list[float] = []
        self._L: list[float] = []
        self._keep_steps = keep_steps
        self._keep_time = keep_time

    def append(self, t: float, L: float) -> None:
        self._t.append(t)
        self._L.append(L)
        if len(self._t) > 4 * self._keep_steps + 64:
            # Trim in bulk (amortised O(1)): keep the last keep_steps + 1 entries and
            # everything within keep_time of now.
            cut = len(self._t) - self._keep_steps - 1
            cut = min(cut, bisect.bisect_left(self._t, t - self._keep_time) - 1)
            if cut > 0:
                del self._t[:cut], self._L[:cut]

    def __len__(self) -> int:
        return len(self._t)

    def steps_back(self, k: int) -> float | None:
        """The loss ``k`` accepted steps ago (None if not recorded)."""
        return self._L[-k - 1] if k < len(self._L) else None

    def at_or_before(self, time: float) -> float | None:
        """The loss at the last accepted step with ``t <= time`` (None if none)."""
        i = bisect.bisect_right(self._t, time)
        return self._L[i - 1] if i > 0 else None


@dataclass(frozen=True)
class TrainState:
    """What a stopping rule sees after every accepted step."""

    step: int
    time: float
    loss: float
    n_unsat: int
    history: LossHistory


@dataclass(frozen=True)
class SATReached:
    """Stop with status ``"sat"`` when every constraint holds: N_Δ = 0."""

    status: str = field(default="sat", init=False)

    def check(self, state: TrainState) -> str | None:
        if state.n_unsat == 0:
            return f"SAT: all constraints satisfied at t = {state.time:.4g} (step {state.step})"
        return None


@dataclass(frozen=True)
class UNSATConverged:
    """Stop with status ``"unsat"`` when a positive loss has stopped decreasing.

    Fires when ``L > 0`` and ``L_then − L_now <= rtol · L_now``, where ``L_then`` is
    the loss ``window`` accepted steps ago or, if ``time_window`` is given, at time
    ``t − time_window`` (the right choice for the adaptive flow, whose steps vary).
    The loss compared is the weight-space L = L̃/α², so the test does not depend on α.
    """

    window: int = 1000
    rtol: float = 1e-5
    time_window: float | None = None
    status: str = field(default="unsat", init=False)

    def __post_init__(self) -> None:
        as_int("window", self.window, minimum=1)
        as_real("rtol", self.rtol, nonnegative=True)
        if self.time_window is not None:
            as_real("time_window", self.time_window, positive=True)

    def check(self, state: TrainState) -> str | None:
        if state.loss <= 0.0:
            return None
        if self.time_window is None:
            old = state.history.steps_back(self.window)
            span = f"{self.window} steps"
        else:
            if state.time < self.time_window:
                return None
            old = state.history.at_or_before(state.time - self.time_window)
            span = f"a time {self.time_window:g}"
        if old is None:
            return None
        if old - state.loss <= self.rtol * state.loss:
            return (
                f"UNSAT: loss decreased by less than {self.rtol:g} (relative) over {span}, "
                f"with {state.n_unsat} constraints unsatisfied at t = {state.time:.4g}"
            )
        return None


@dataclass(frozen=True)
class Budget:
    """Stop with status ``"max_steps"`` after ``max_steps`` iterations or at ``max_time``."""

    max_steps: int = 10_000
    max_time: float = math.inf
    status: str = field(default="max_steps", init=False)

    def __post_init__(self) -> None:
        as_int("max_steps", self.max_steps, minimum=1)
        if not (isinstance(self.max_time, (int, float)) and self.max_time > 0):
            raise ValueError(f"max_time must be > 0 (inf allowed), got {self.max_time!r}")

    def check(self, state: TrainState) -> str | None:
        if state.step >= self.max_steps:
            return f"budget exhausted: {state.step} steps (t = {state.time:.4g})"
        if state.time >= self.max_time:
            return f"budget exhausted: t = {state.time:.4g} >= max_time (step {state.step})"
        return None


StopRule = SATReached | UNSATConverged | Budget

DEFAULT_STOP: tuple = (SATReached(), UNSATConverged(), Budget())


# ---------------------------------------------------------------------------
# results


@dataclass(frozen=True)
class Trajectory:
    """Measurements on the record grid (R records) and at kernel checkpoints (C).

    Attributes
    ----------
    time, step : arrays (R,)
    loss : array (R,)
        L̃ = (1/N) Σ ℓ(F_i, y_i), the function-space loss (α-independent scale).
    n_unsat : array (R,) of int
        N_Δ = #{i : κ − y_i F_i > tol}.
    f_train : array (R, N)
        Trained outputs F on the training set.
    f_test : array (R, N_test)
        Trained outputs on the test set (N_test = 0 if none was given).
    weight_change : array (R,)
        ‖θ_t − θ_0‖ / ‖θ_0‖.
    kernel_time : array (C,)
    kernels : array (C, N, N)
        Empirical NTK ``K_t`` of ``f_θ`` (unscaled) on the training set.
    kernel_change : array (C,)
        ‖K_t − K_0‖_F / ‖K_0‖_F.
    """

    time: np.ndarray
    step: np.ndarray
    loss: np.ndarray
    n_unsat: np.ndarray
    f_train: np.ndarray
    f_test: np.ndarray
    weight_change: np.ndarray
    kernel_time: np.ndarray
    kernels: np.ndarray
    kernel_change: np.ndarray


@dataclass(frozen=True)
class TrainResult:
    """Outcome of :func:`train`.

    Attributes
    ----------
    status : {"sat", "unsat", "max_steps", "nan"}
    message : str
    steps : int
        Iterations performed (rejected flow steps included).
    accepted : int
        Accepted steps.
    time : float
        Final time.
    params : list of (W, b)
        Final parameters.
    trajectory : Trajectory
    config : dict
        Scalars describing the run (JSON-serialisable).
    """

    status: str
    message: str
    steps: int
    accepted: int
    time: float
    params: Params
    trajectory: Trajectory
    config: dict


# ---------------------------------------------------------------------------
# training


def _objective(net: MLP, loss: Loss, alpha: float, X, y, f_ref):
    """Jitted ``params -> (L, F, ∇_θ L)`` with ``F = α (f_θ − f_ref)``."""
    n = X.shape[0]

    def evaluate(params):
        F, pullback = jax.vjp(lambda p: alpha * (apply_fn(net, p, X) - f_ref), params)
        L = jnp.mean(loss.value(F, y)) / alpha**2
        # The loss's own derivative (not autodiff of max(0, ·)) fixes the
        # subgradient convention at hinge kinks, as in the function-space solvers.
        (g,) = pullback(loss.grad(F, y) / (n * alpha**2))
        return L, F, g

    return jax.jit(evaluate)


def _velocity(net: MLP, alpha: float, X):
    """Jitted ``(params, g) -> α J g``: the output change per unit of ``−dt``."""

    def velocity(params, g):
        return alpha * jax.jvp(lambda p: apply_fn(net, p, X), (params,), (g,))[1]

    return jax.jit(velocity)


@jax.jit
def _sgd(params, grads, lr):
    return jax.tree_util.tree_map(lambda p, g: p - lr * g, params, grads)


@jax.jit
def _sq_norm(tree):
    return sum(jnp.sum(leaf**2) for leaf in jax.tree_util.tree_leaves(tree))


@jax.jit
def _diff_sq_norm(a, b):
    return sum(
        jnp.sum((x - z) ** 2)
        for x, z in zip(jax.tree_util.tree_leaves(a), jax.tree_util.tree_leaves(b), strict=True)
    )


@jax.jit
def _adam_update(params, grads, m, v, lr, b1, b2, eps, t):
    m = jax.tree_util.tree_map(lambda mm, g: b1 * mm + (1 - b1) * g, m, grads)
    v = jax.tree_util.tree_map(lambda vv, g: b2 * vv + (1 - b2) * g**2, v, grads)
    c1, c2 = 1 - b1**t, 1 - b2**t
    params = jax.tree_util.tree_map(
        lambda p, mm, vv: p - lr * (mm / c1) / (jnp.sqrt(vv / c2) + eps), params, m, v
    )
    return params, m, v


def _check_stop(stop: Sequence) -> tuple:
    stop = tuple(stop)
    for rule in stop:
        if not isinstance(rule, (SATReached, UNSATConverged, Budget)):
            raise TypeError(
                f"stop must contain SATReached, UNSATConverged or Budget rules, got {rule!r}"
            )
    if not any(isinstance(rule, Budget) for rule in stop):
        raise ValueError("stop must include a Budget rule (so that training ends), got none")
    return stop


def _record_grid_next(t: float, t_first: float, per_decade: int) -> float:
    """The first time of the log grid ``t_first · 10^{k/per_decade}`` strictly above t."""
    if t < t_first:
        return t_first
    k = math.floor(per_decade * math.log10(t / t_first) + 1e-9) + 1
    return t_first * 10 ** (k / per_decade)


def train(
    net: MLP,
    params: Params,
    X: object,
    y: object,
    *,
    loss: str | Loss = "quadratic_hinge",
    margin: float = 1.0,
    alpha: float = 1.0,
    centered: bool = True,
    optimizer: Optimizer | None = None,
    stop: Sequence[StopRule] = DEFAULT_STOP,
    X_test: object = None,
    unsat_tol: float = 1e-9,
    records_per_decade: int = 10,
    kernel_times: str | Sequence[float] = "decades",
) -> TrainResult:
    """Train ``net`` from ``params`` on ``(X, y)`` and record the trajectory.

    Parameters
    ----------
    net : MLP
    params : list of (W, b)
        Initial parameters θ₀ (also the reference of the centered function).
    X : array_like, shape (N, d)
    y : array_like, shape (N,)
        Labels (±1 for margin losses).
    loss : str or ntkjam.losses.Loss
        Name for :func:`ntkjam.losses.get_loss` ("mse", "hinge", "quadratic_hinge",
        "logistic", ...) with ``margin``; a ``Loss`` object is used as is.
    margin : float
        κ of the margin losses and of N_Δ.
    alpha : float
        Output scale α > 0 (large = lazy regime); see the module docstring.
    centered : bool
        Train ``α (f_θ − f_θ₀)`` (default) or ``α f_θ``.
    optimizer : GD, GradientFlow or Adam
        Default ``GD(lr=0.5)``.
    stop : sequence of stopping rules
        Checked in order after every accepted step; must include a :class:`Budget`.
    X_test : array_like, shape (N_test, d), optional
        Test inputs whose outputs are recorded.
    unsat_tol : float
        A constraint is unsatisfied if ``κ − y_i F_i > unsat_tol``.  Positive by
        default (as in :mod:`ntkjam.dynamics`): under the quadratic hinge an
        unsatisfied margin decays to zero exponentially and never crosses it.
    records_per_decade : int
        Density of the log-spaced record grid (first point at the first step's time).
        The initial and final states are always recorded.
    kernel_times : "decades", "records" or sequence of float
        When to record ``K_t``: at t = 0, at the end, and at the first record at or
        after each listed time; ``"decades"`` = powers of ten; ``"records"`` = at every
        record (N² floats each).

    Returns
    -------
    TrainResult
    """
    X = check_inputs(net, params, X)
    loss_obj = get_loss(loss, margin=margin)
    y = loss_obj.check_labels(y, n=X.shape[0])
    margin = loss_obj.margin
    alpha = as_real("alpha", alpha, positive=True)
    if not isinstance(centered, bool):
        raise TypeError(f"centered must be a bool, got {centered!r}")
    optimizer = GD() if optimizer is None else optimizer
    if not isinstance(optimizer, (GD, GradientFlow, Adam)):
        raise TypeError(f"optimizer must be GD, GradientFlow or Adam, got {optimizer!r}")
    stop = _check_stop(stop)
    X_test = (
        np.zeros((0, net.input_dim))
        if X_test is None
        else as_inputs("X_test", X_test, dim=net.input_dim)
    )
    unsat_tol = as_real("unsat_tol", unsat_tol, nonnegative=True)
    per_decade = as_int("records_per_decade", records_per_decade, minimum=1)
    kernel_mode, kernel_list = _kernel_schedule(kernel_times)

    Xj, yj = jnp.asarray(X), jnp.asarray(y)
    f_ref = _apply_jit(net, params, Xj) if centered else jnp.zeros(X.shape[0])
    f_ref_test = (
        _apply_jit(net, params, jnp.asarray(X_test)) if centered and X_test.shape[0] else None
    )
    evaluate = _objective(net, loss_obj, alpha, Xj, yj, f_ref)
    theta0_norm = float(np.sqrt(_sq_norm(params)))
    params0 = params

    rec: dict[str, list] = {k: [] for k in ("t", "s", "L", "n", "F", "Ft", "w")}
    kern: dict[str, list] = {"t": [], "K": []}
    pending_kernel = list(kernel_list)

    def test_outputs(p):
        if X_test.shape[0] == 0:
            return np.zeros(0)
        out = alpha * _apply_jit(net, p, jnp.asarray(X_test))
        return np.asarray(out - alpha * f_ref_test if centered else out)

    def record(p, t, step, L, F, n_bad, with_kernel):
        rec["t"].append(t)
        rec["s"].append(step)
        rec["L"].append(L * alpha**2)
        rec["n"].append(n_bad)
        rec["F"].append(np.asarray(F))
        rec["Ft"].append(test_outputs(p))
        rec["w"].append(float(np.sqrt(_diff_sq_norm(p, params0))) / theta0_norm)
        if with_kernel:
            kern["t"].append(t)
            kern["K"].append(empirical_ntk(net, p, X))

    L, F, g = evaluate(params)
    L = float(L)
    F_np = np.asarray(F)
    n_bad = int(n_unsatisfied(F_np, y, margin, unsat_tol))
    t, steps, accepted = 0.0, 0, 0
    record(params, t, steps, L, F_np, n_bad, True)
    unsat_rules = [r for r in stop if isinstance(r, UNSATConverged)]
    history = LossHistory(
        keep_steps=max([r.window for r in unsat_rules], default=1),
        keep_time=max([r.time_window or 0.0 for r in unsat_rules], default=0.0),
    )
    history.append(0.0, L)
    next_record = None
    status, message = None, None
    dt = optimizer.dt if isinstance(optimizer, GradientFlow) else None
    velocity = _velocity(net, alpha, Xj) if isinstance(optimizer, GradientFlow) else None
    vel = velocity(params, g) if velocity is not None else None
    t_end = min([r.max_time for r in stop if isinstance(r, Budget)], default=math.inf)
    fixed_dt = None if isinstance(optimizer, GradientFlow) else optimizer.lr
    adam_m = adam_v = None
    if isinstance(optimizer, Adam):
        adam_m = jax.tree_util.tree_map(jnp.zeros_like, params)
        adam_v = jax.tree_util.tree_map(jnp.zeros_like, params)
    last_recorded = 0  # accepted steps at the last record

    while status is None:
        steps += 1
        if isinstance(optimizer, GD):
            new = _sgd(params, g, optimizer.lr)
            step_dt = optimizer.lr
        elif isinstance(optimizer, Adam):
            new, adam_m, adam_v = _adam_update(
                params, g, adam_m, adam_v, optimizer.lr, optimizer.beta1,
                optimizer.beta2, optimizer.eps, accepted + 1,
            )
            step_dt = optimizer.lr
        else:
            # Land exactly on the time budget instead of overshooting it.
            step_dt = min(dt, max(t_end - t, optimizer.dt_min)) if t_end < math.inf else dt
            new = _sgd(params, g, step_dt)
        L_new, F_new, g_new = evaluate(new)
        L_new = float(L_new)
        if isinstance(optimizer, GradientFlow):
            dF = F_new - F
            lin = -step_dt * vel
            out_change = float(jnp.max(jnp.abs(dF)))
            # Absolute (not relative) test of the nonlinearity: crossing a ReLU kink
            # costs an error linear in the step, which a relative test would chase
            # down to dt = 0 as the trajectory creeps towards the kink.
            nonlin = float(jnp.max(jnp.abs(dF - lin)))
            ok = (
                math.isfinite(L_new)
                and out_change <= optimizer.max_output_change
                and nonlin <= optimizer.max_nonlinearity
            )
            if ok and loss_obj.name != "hinge":
                gF, gF_new = loss_obj.grad(F, yj), loss_obj.grad(F_new, yj)
                ok = float(jnp.linalg.norm(gF_new - gF)) <= optimizer.max_grad_change * float(
                    jnp.linalg.norm(gF)
                )
            if not ok and dt > optimizer.dt_min:
                dt = max(dt * optimizer.shrink, optimizer.dt_min)
                budget_hit = [r.check(_state(steps, t, L, n_bad, history)) for r in stop
                              if isinstance(r, Budget)]
                if any(budget_hit):
                    status, message = "max_steps", next(m for m in budget_hit if m)
                continue
            dt = min(dt * optimizer.grow, optimizer.dt_max)
        params, L, F, g = new, L_new, F_new, g_new
        accepted += 1
        # GD and Adam: t = lr · steps exactly (no accumulated rounding).
        t = accepted * step_dt if step_dt == fixed_dt else t + step_dt
        history.append(t, L)
        if not math.isfinite(L) or not bool(jnp.all(jnp.isfinite(F))):
            status = "nan"
            message = f"non-finite loss or outputs at step {steps} (t = {t:.4g})"
            break
        if velocity is not None:
            vel = velocity(params, g)
        F_np = np.asarray(F)
        n_bad = int(n_unsatisfied(F_np, y, margin, unsat_tol))
        state = _state(steps, t, L, n_bad, history)
        for rule in stop:
            msg = rule.check(state)
            if msg is not None:
                status, message = rule.status, msg
                break
        if next_record is None:
            next_record = t  # the record grid starts at the first step's time
        if t >= next_record * (1 - 1e-12) or status is not None:
            with_kernel = status is not None
            if kernel_mode == "records":
                with_kernel = True
            while pending_kernel and pending_kernel[0] <= t * (1 + 1e-12):
                pending_kernel.pop(0)
                with_kernel = True
            record(params, t, steps, L, F_np, n_bad, with_kernel)
            last_recorded = accepted
            next_record = _record_grid_next(t, rec["t"][1] if len(rec["t"]) > 1 else t,
                                            per_decade)
    if status == "nan":
        record(params, t, steps, L, np.asarray(F), n_bad, False)
    elif last_recorded != accepted:
        record(params, t, steps, L, np.asarray(F), n_bad, True)
    elif kern["t"][-1] != t:
        # The final state was recorded (the budget ran out on rejected flow steps)
        # but without its kernel.
        kern["t"].append(t)
        kern["K"].append(empirical_ntk(net, params, X))

    K = np.array(kern["K"])
    K0_norm = float(np.linalg.norm(K[0]))
    change = np.array([np.linalg.norm(Kt - K[0]) / K0_norm for Kt in K])
    traj = Trajectory(
        time=np.array(rec["t"]),
        step=np.array(rec["s"], dtype=np.int64),
        loss=np.array(rec["L"]),
        n_unsat=np.array(rec["n"], dtype=np.int64),
        f_train=np.array(rec["F"]),
        f_test=np.array(rec["Ft"]).reshape(len(rec["t"]), X_test.shape[0]),
        weight_change=np.array(rec["w"]),
        kernel_time=np.array(kern["t"]),
        kernels=K,
        kernel_change=change,
    )
    config = {
        "loss": loss_obj.name,
        "margin": margin,
        "alpha": alpha,
        "centered": centered,
        "optimizer": type(optimizer).__name__,
        "optimizer_args": {k: _jsonable(v) for k, v in vars(optimizer).items()},
        "unsat_tol": unsat_tol,
        "n_train": int(X.shape[0]),
        "n_test": int(X_test.shape[0]),
        "input_dim": net.input_dim,
        "widths": list(net.widths),
        "activation": net.activation.name,
        "sigma_w": net.sigma_w,
        "sigma_b": net.sigma_b,
        "bias": net.bias,
        "parameterization": net.parameterization,
    }
    return TrainResult(
        status=status,
        message=message,
        steps=steps,
        accepted=accepted,
        time=t,
        params=params,
        trajectory=traj,
        config=config,
    )


def _state(step, t, L, n_bad, history) -> TrainState:
    return TrainState(step=step, time=t, loss=L, n_unsat=n_bad, history=history)


def _jsonable(value):
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value


def _kernel_schedule(kernel_times) -> tuple[str, list[float]]:
    if isinstance(kernel_times, str):
        if kernel_times == "records":
            return "records", []
        if kernel_times == "decades":
            return "list", [10.0**k for k in range(-6, 13)]
        raise ValueError(
            "kernel_times must be 'decades', 'records' or a sequence of times, "
            f"got {kernel_times!r}"
        )
    times = as_float_array("kernel_times", kernel_times, ndim=1)
    if np.any(times < 0):
        raise ValueError(f"kernel_times must be >= 0, got {times.min()}")
    return "list", sorted(float(x) for x in times)


# ---------------------------------------------------------------------------
# storage


def save_trajectory(result: TrainResult, path: str | Path) -> Path:
    """Write the trajectory, status and config of a run to an ``.npz`` file (no pickle).

    Returns
    -------
    pathlib.Path
        The path written.
    """
    path = Path(path)
    traj = result.trajectory
    meta = {
        "status": result.status,
        "message": result.message,
        "steps": result.steps,
        "accepted": result.accepted,
        "time": result.time,
        "config": result.config,
    }
    arrays = {name: getattr(traj, name) for name in Trajectory.__dataclass_fields__}
    np.savez_compressed(
        path,
        meta=np.array(json.dumps(meta)),
        final_params=flatten_params(result.params),
        **arrays,
    )
    return path


def load_trajectory(path: str | Path) -> tuple[Trajectory, dict]:
    """Read a file written by :func:`save_trajectory`: the trajectory and its metadata."""
    with np.load(Path(path), allow_pickle=False) as data:
        traj = Trajectory(**{name: data[name] for name in Trajectory.__dataclass_fields__})
        meta = json.loads(str(data["meta"]))
    return traj, meta


# ---------------------------------------------------------------------------
# function-space consistency


@dataclass(frozen=True)
class FunctionSpaceCheck:
    """Discrepancy between a weight-space GD step and its function-space prediction.

    Attributes
    ----------
    eta : float
        Step size.
    relative_error : numpy.ndarray, shape (n_steps,)
        ``‖(F_{t+1} − F_t) − (−η K_t ∇_F L̃)‖ / ‖F_{t+1} − F_t‖`` at each step; O(η).
    """

    eta: float
    relative_error: np.ndarray

    @property
    def mean(self) -> float:
        """Mean relative error over the steps."""
        return float(np.mean(self.relative_error))


def check_function_space(
    net: MLP,
    params: Params,
    X: object,
    y: object,
    *,
    eta: float,
    n_steps: int = 5,
    loss: str | Loss = "mse",
    margin: float = 1.0,
    alpha: float = 1.0,
    centered: bool = True,
) -> FunctionSpaceCheck:
    """Compare gradient-descent steps in weight space with ``−η K_t ∇_F L̃``.

    Runs ``n_steps`` steps of :class:`GD` with ``lr = eta`` (same loss, α and
    centering as :func:`train`) and, at each, measures the relative distance
    between the actual change of the outputs and the function-space step built
    from the empirical NTK at the current parameters.  For a smooth network the
    error is the second-order term of the Taylor expansion, so it scales like η
    (it is also O(1/α)).

    Returns
    -------
    FunctionSpaceCheck
    """
    X = check_inputs(net, params, X)
    loss_obj = get_loss(loss, margin=margin)
    y = loss_obj.check_labels(y, n=X.shape[0])
    eta = as_real("eta", eta, positive=True)
    n_steps = as_int("n_steps", n_steps, minimum=1)
    alpha = as_real("alpha", alpha, positive=True)
    Xj, yj = jnp.asarray(X), jnp.asarray(y)
    f_ref = apply_fn(net, params, Xj) if centered else jnp.zeros(X.shape[0])
    evaluate = _objective(net, loss_obj, alpha, Xj, yj, f_ref)
    n = X.shape[0]
    errors = []
    _, F, g = evaluate(params)
    for _ in range(n_steps):
        K = empirical_ntk(net, params, X)
        grad_F = np.asarray(loss_obj.grad(np.asarray(F), y)) / n
        predicted = -eta * K @ grad_F
        params = _sgd(params, g, eta)
        _, F_new, g = evaluate(params)
        actual = np.asarray(F_new) - np.asarray(F)
        errors.append(np.linalg.norm(actual - predicted) / np.linalg.norm(actual))
        F = F_new
    return FunctionSpaceCheck(eta=eta, relative_error=np.array(errors))
