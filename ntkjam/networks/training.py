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

Optimizers: :class:`GD` (fixed step), :class:`GradientFlow` (adaptive Euler
steps accepted only if the outputs and the gradient changed little), :class:`Adam`,
or any pure :class:`~ntkjam.networks.optimizers.Optimizer` (``gd``, ``momentum``,
``adam``).  Stopping rules are separate objects (:mod:`ntkjam.core.stopping`):
:class:`SATReached`, :class:`UNSATConverged`, :class:`Budget`; the result's ``status``
is a :class:`~ntkjam.core.status.Status`: ``"sat"``, ``"unsat"``, ``"budget"`` (spelled
``"max_steps"`` before the vocabulary was unified) or ``"nan"``.

The loop is :mod:`ntkjam.networks.loop`: with a fixed-step optimizer the steps between
two records run compiled on the device (``lax.while_loop``, the rules evaluated there
after every step); the adaptive flow and time-window rules run on the host.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np

from ntkjam._validate import as_inputs, as_int, as_real
from ntkjam.core.status import Status
from ntkjam.core.stopping import (
    Budget,
    LossHistory,
    SATReached,
    StopRule,
    TrainState,
    UNSATConverged,
)
from ntkjam.losses import Loss, get_loss, n_unsatisfied
from ntkjam.networks.configs import GD, Adam, GradientFlow, OptimizerConfig
from ntkjam.networks.empirical_ntk import empirical_ntk
from ntkjam.networks.loop import CompiledEngine, HostEngine, device_rules, objective
from ntkjam.networks.mlp import (
    MLP,
    Params,
    apply_fn,
    apply_jit,
    check_inputs,
)
from ntkjam.networks.optimizers import Optimizer
from ntkjam.networks.trajectory import (
    TrainResult,
    Trajectory,
    kernel_schedule,
    load_trajectory,
    next_record_time,
    save_trajectory,
)

DEFAULT_STOP: tuple = (SATReached(), UNSATConverged(), Budget())

#: The statuses a training run ends with (:class:`~ntkjam.core.status.Status` members).
STATUSES = (Status.SAT, Status.UNSAT, Status.BUDGET, Status.NAN)


# ------------------------------------------------------------------------------ training


def loss_objective(net: MLP, loss: Loss, alpha: float, X, y, f_ref):
    """Jitted ``params -> (L, F, ∇_θ L)`` with ``F = α (f_θ − f_ref)``."""
    return jax.jit(objective(net, loss, alpha, X, y, f_ref))


def _velocity(net: MLP, alpha: float, X):
    """Jitted ``(params, g) -> α J g``: the output change per unit of ``−dt``."""

    def velocity(params, g):
        return alpha * jax.jvp(lambda p: apply_fn(net, p, X), (params,), (g,))[1]

    return jax.jit(velocity)


@jax.jit
def sgd_step(params, grads, lr):
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


class _FlowSteps:
    """The adaptive Euler steps of :class:`GradientFlow`, for :class:`HostEngine`."""

    def __init__(self, opt: GradientFlow, velocity, loss: Loss, y, t_end: float):
        self.opt, self.velocity, self.loss, self.y, self.t_end = opt, velocity, loss, y, t_end
        self.dt = opt.dt

    def start(self, eng) -> None:
        self.vel = self.velocity(eng.params, eng.g)

    def after_accept(self, eng) -> None:
        self.vel = self.velocity(eng.params, eng.g)

    def step(self, eng):
        """``(accepted, params, L, F, g, dt)``; a rejection shrinks the next step."""
        opt = self.opt
        # Land exactly on the time budget instead of overshooting it.
        dt = min(self.dt, max(self.t_end - eng.t, opt.dt_min)) if self.t_end < math.inf else (
            self.dt)
        new = sgd_step(eng.params, eng.g, dt)
        L, F, g = eng.evaluate(new)
        L = float(L)
        dF = F - eng.F
        out_change = float(jnp.max(jnp.abs(dF)))
        # Absolute (not relative) test of the nonlinearity: crossing a ReLU kink
        # costs an error linear in the step, which a relative test would chase
        # down to dt = 0 as the trajectory creeps towards the kink.
        nonlin = float(jnp.max(jnp.abs(dF + dt * self.vel)))
        ok = (math.isfinite(L) and out_change <= opt.max_output_change
              and nonlin <= opt.max_nonlinearity)
        if ok and self.loss.name != "hinge":
            gF, gF_new = self.loss.grad(eng.F, self.y), self.loss.grad(F, self.y)
            ok = float(jnp.linalg.norm(gF_new - gF)) <= opt.max_grad_change * float(
                jnp.linalg.norm(gF))
        if not ok and self.dt > opt.dt_min:
            self.dt = max(self.dt * opt.shrink, opt.dt_min)
            return False, None, None, None, None, dt
        self.dt = min(self.dt * opt.grow, opt.dt_max)
        return True, new, L, F, g, dt


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


def _check_optimizer(optimizer) -> OptimizerConfig:
    optimizer = GD() if optimizer is None else optimizer
    if not isinstance(optimizer, (GD, GradientFlow, Adam, Optimizer)):
        raise TypeError(f"optimizer must be GD, GradientFlow or Adam, got {optimizer!r}")
    return optimizer


def check_training_inputs(net: MLP, params: Params, X, y, *, loss, margin, alpha,
                          centered) -> tuple[np.ndarray, Loss, np.ndarray, float]:
    """Check what :func:`train` and :func:`check_function_space` share.

    Returns
    -------
    X : numpy.ndarray, shape (N, d)
    loss : Loss
        With its ``margin``.
    y : numpy.ndarray, shape (N,)
        Labels valid for the loss.
    alpha : float
        α > 0 (``centered`` must be a bool).

    Examples
    --------
    >>> from ntkjam.networks import init_params, mlp
    >>> from ntkjam.networks.training import check_training_inputs
    >>> net = mlp(3, 4)
    >>> params = init_params(net, seed=0)
    >>> X, loss, y, alpha = check_training_inputs(net, params, [[1, 0, 0], [0, 1, 0]], [1, -1],
    ...     loss="hinge", margin=0.5, alpha=2, centered=True)
    >>> X.dtype, X.shape, (loss.name, loss.margin), y.tolist(), alpha
    (dtype('float64'), (2, 3), ('hinge', 0.5), [1.0, -1.0], 2.0)
    >>> check_training_inputs(net, params, X, y, loss="hinge", margin=0.5, alpha=0,
    ...                       centered=True)
    Traceback (most recent call last):
    ...
    ValueError: alpha must be > 0, got 0.0
    """
    X = check_inputs(net, params, X)
    loss_obj = get_loss(loss, margin=margin)
    y = loss_obj.check_labels(y, n=X.shape[0])
    alpha = as_real("alpha", alpha, positive=True)
    if not isinstance(centered, bool):
        raise TypeError(f"centered must be a bool, got {centered!r}")
    return X, loss_obj, y, alpha


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
    optimizer: OptimizerConfig | None = None,
    stop: Sequence[StopRule] = DEFAULT_STOP,
    X_test: object = None,
    unsat_tol: float = 1e-9,
    records_per_decade: int = 10,
    kernel_times: str | Sequence[float] = "decades",
    compiled: bool | None = None,
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
    optimizer : GD, GradientFlow, Adam or ntkjam.networks.optimizers.Optimizer
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
    compiled : bool, optional
        Run the steps between records as one compiled loop (default: whenever the
        optimizer has fixed steps — not :class:`GradientFlow` — and no rule needs a
        ``time_window``).  ``False`` forces the host loop (same steps, ~100× slower
        per step on small networks).

    Returns
    -------
    TrainResult
        ``status``, step counts, final ``params`` and the :class:`Trajectory` (R records:
        ``f_train`` (R, N), ``n_unsat`` (R,), ``kernels`` (C, N, N), ...).

    Examples
    --------
    Three points, 64 parameters: the linear hinge reaches SAT in finite time, every
    margin met; time is ``lr · steps`` for gradient descent.

    >>> import numpy as np
    >>> from ntkjam.data import random_labels, sphere
    >>> from ntkjam.networks import init_params, mlp
    >>> from ntkjam.networks.training import train
    >>> net, X, y = mlp(3, 16), sphere(3, 3, seed=0), random_labels(3, seed=1)
    >>> result = train(net, init_params(net, seed=0), X, y, loss="hinge")
    >>> traj = result.trajectory
    >>> result.status == "sat", int(traj.n_unsat[0]), int(traj.n_unsat[-1])  # N_Δ: 3 -> 0
    (True, 3, 0)
    >>> bool(np.all(y * traj.f_train[-1] >= 1))          # every margin y_i F_i ≥ κ = 1
    True
    >>> result.time == 0.5 * result.steps, traj.kernels.shape[1:]     # GD(lr=0.5) by default
    (True, (3, 3))
    """
    X, loss_obj, y, alpha = check_training_inputs(net, params, X, y, loss=loss, margin=margin,
                                                  alpha=alpha, centered=centered)
    optimizer = _check_optimizer(optimizer)
    stop = _check_stop(stop)
    X_test = (
        np.zeros((0, net.input_dim))
        if X_test is None
        else as_inputs("X_test", X_test, dim=net.input_dim)
    )
    unsat_tol = as_real("unsat_tol", unsat_tol, nonnegative=True)
    per_decade = as_int("records_per_decade", records_per_decade, minimum=1)
    schedule = kernel_schedule(kernel_times)
    pure = optimizer.pure()
    if compiled is None:
        compiled = pure is not None and device_rules(stop)
    elif compiled and (pure is None or not device_rules(stop)):
        raise ValueError("compiled=True needs a fixed-step optimizer (not GradientFlow) and "
                         "no UNSATConverged(time_window=...) rule")

    Xj, yj = jnp.asarray(X), jnp.asarray(y)
    f_ref = apply_jit(net, params, Xj) if centered else jnp.zeros(X.shape[0])
    rec = _Records(net, params, X, X_test, alpha, centered, schedule)
    if compiled:
        engine = CompiledEngine(net, loss_obj, pure, stop, Xj, yj, f_ref, alpha, unsat_tol,
                                params)
    else:
        evaluate = loss_objective(net, loss_obj, alpha, Xj, yj, f_ref)
        flow = None if pure is not None else _FlowSteps(
            optimizer, _velocity(net, alpha, Xj), loss_obj, yj,
            min([r.max_time for r in stop if isinstance(r, Budget)], default=math.inf))
        engine = HostEngine(
            evaluate, stop, params, tol=unsat_tol, margin=loss_obj.margin, y=yj,
            n_unsat=lambda F: n_unsatisfied(np.asarray(F), y, loss_obj.margin, unsat_tol),
            opt=pure, flow=flow)
    status, message, end = _drive(engine, rec, params, loss_obj, y, unsat_tol, per_decade)
    config = _config(net, X, X_test, loss_obj, alpha, centered, optimizer, unsat_tol)
    return TrainResult(status=status, message=message, steps=end.steps,
                       accepted=end.accepted, time=end.time, params=end.params,
                       trajectory=rec.trajectory(), config=config)


def _drive(engine, rec, params, loss, y, tol, per_decade):
    """Advance ``engine`` from record to record until a rule fires; record as it goes."""
    L, F = _initial(engine, params)
    n_bad = int(n_unsatisfied(np.asarray(F), y, loss.margin, tol))
    rec.add(params, 0.0, 0, L, np.asarray(F), n_bad, True)
    next_record = None
    last_recorded = 0  # accepted steps at the last record
    while True:
        threshold = -math.inf if next_record is None else next_record * (1 - 1e-12)
        end = engine.advance(threshold)
        if end.status is Status.NAN or not end.recordable:
            break
        t = end.time
        if next_record is None:
            next_record = t  # the record grid starts at the first step's time
        if t >= next_record * (1 - 1e-12) or end.status is not None:
            rec.add(end.params, t, end.steps, end.loss, np.asarray(end.outputs), end.n_unsat,
                    rec.kernel_due(t, final=end.status is not None))
            last_recorded = end.accepted
            next_record = next_record_time(t, rec.t[1] if len(rec.t) > 1 else t, per_decade)
        if end.status is not None:
            break
    outputs = np.asarray(end.outputs)
    if end.status is Status.NAN:
        rec.add(end.params, end.time, end.steps, end.loss, outputs, end.n_unsat, False)
    elif last_recorded != end.accepted:
        rec.add(end.params, end.time, end.steps, end.loss, outputs, end.n_unsat, True)
    elif rec.kernel_t[-1] != end.time:
        # The final state was recorded (the budget ran out on rejected flow steps)
        # but without its kernel.
        rec.add_kernel(end.params, end.time)
    return end.status, end.message, end


def _initial(engine, params):
    if isinstance(engine, CompiledEngine):
        c = engine.carry
        return float(c.loss), c.outputs
    return engine.L, engine.F


class _Records:
    """The record grid of a run: outputs, losses, weight change, kernels (host side)."""

    def __init__(self, net, params0, X, X_test, alpha, centered, kernel_schedule):
        self.net, self.params0, self.X, self.X_test = net, params0, X, X_test
        self.alpha, self.centered = alpha, centered
        self.kernel_mode, self.pending = kernel_schedule[0], list(kernel_schedule[1])
        self.f_ref_test = (apply_jit(net, params0, jnp.asarray(X_test))
                           if centered and X_test.shape[0] else None)
        self.theta0_norm = float(np.sqrt(_sq_norm(params0)))
        self.t, self.s, self.L, self.n, self.F, self.Ft, self.w = ([] for _ in range(7))
        self.kernel_t, self.kernels = [], []

    def _test_outputs(self, p):
        if self.X_test.shape[0] == 0:
            return np.zeros(0)
        out = self.alpha * apply_jit(self.net, p, jnp.asarray(self.X_test))
        return np.asarray(out - self.alpha * self.f_ref_test if self.centered else out)

    def kernel_due(self, t: float, *, final: bool) -> bool:
        """Whether the record at time t carries K_t (and pop the kernel times passed)."""
        due = final or self.kernel_mode == "records"
        while self.pending and self.pending[0] <= t * (1 + 1e-12):
            self.pending.pop(0)
            due = True
        return due

    def add(self, p, t, step, L, F, n_bad, with_kernel) -> None:
        self.t.append(t)
        self.s.append(step)
        self.L.append(L * self.alpha**2)
        self.n.append(n_bad)
        self.F.append(np.asarray(F))
        self.Ft.append(self._test_outputs(p))
        self.w.append(float(np.sqrt(_diff_sq_norm(p, self.params0))) / self.theta0_norm)
        if with_kernel:
            self.add_kernel(p, t)

    def add_kernel(self, p, t) -> None:
        self.kernel_t.append(t)
        self.kernels.append(empirical_ntk(self.net, p, self.X))

    def trajectory(self) -> Trajectory:
        K = np.array(self.kernels)
        K0_norm = float(np.linalg.norm(K[0]))
        change = np.array([np.linalg.norm(Kt - K[0]) / K0_norm for Kt in K])
        return Trajectory(
            time=np.array(self.t),
            step=np.array(self.s, dtype=np.int64),
            loss=np.array(self.L),
            n_unsat=np.array(self.n, dtype=np.int64),
            f_train=np.array(self.F),
            f_test=np.array(self.Ft).reshape(len(self.t), self.X_test.shape[0]),
            weight_change=np.array(self.w),
            kernel_time=np.array(self.kernel_t),
            kernels=K,
            kernel_change=change,
        )


def _config(net, X, X_test, loss, alpha, centered, optimizer, unsat_tol) -> dict:
    name, args = optimizer.describe()
    return {
        "loss": loss.name,
        "margin": loss.margin,
        "alpha": alpha,
        "centered": centered,
        "optimizer": name,
        "optimizer_args": {k: _jsonable(v) for k, v in args.items()},
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


def _jsonable(value):
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value


__all__ = [
    "DEFAULT_STOP",
    "GD",
    "STATUSES",
    "Adam",
    "Budget",
    "GradientFlow",
    "LossHistory",
    "SATReached",
    "TrainResult",
    "TrainState",
    "Trajectory",
    "UNSATConverged",
    "check_training_inputs",
    "load_trajectory",
    "save_trajectory",
    "train",
]
