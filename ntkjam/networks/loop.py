"""The one training loop: a compiled fast path and a host path, with the same steps.

Both engines advance a run *until the next record is due or a stopping rule fires*
and report where they stopped (:class:`Advance`); :func:`ntkjam.networks.train` drives
them, records, and builds the result, and
:func:`ntkjam.experiments.trained.train_to_convergence` runs the compiled engine once,
to the end.

* :class:`CompiledEngine` — a pure :class:`~ntkjam.networks.optimizers.Optimizer`
  and device-evaluable rules: the steps between two records are one
  ``lax.while_loop`` (every rule evaluated on the device after every step, so the run
  stops at the same step as on the host).  One compilation per (network, loss,
  optimizer kind, rules, shapes): learning rates, α, the data and the initial
  parameters are traced, so a sweep of tasks of one size compiles once.
* :class:`HostEngine` — a Python loop of jitted steps: the adaptive
  :class:`~ntkjam.networks.training.GradientFlow` (accept/reject), and rules only the
  host evaluates (``UNSATConverged(time_window=...)``).

The objective is the same in both: ``F = α (f_θ − f_ref)``, ``L = mean ℓ(F, y)/α²``,
and ``∇_θ L`` by the pullback of the loss's *own* derivative ``ℓ'(F)/(N α²)`` (not
autodiff of ``max(0, ·)``), which fixes the subgradient at a hinge kink as in the
function-space solvers.  The pullback is the network's structured backpropagation
(:func:`ntkjam.networks.backprop.output_and_pullback`), not ``jax.vjp``: the same
gradient to rounding, with the products laid out so that XLA's CPU runtime runs them
fast (1.3× faster steps at P ≈ 10⁴).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import partial
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
from jax import lax

from ntkjam.core.status import Status
from ntkjam.core.stopping import DeviceContext, LossHistory, TrainState, UNSATConverged
from ntkjam.losses import n_unsatisfied
from ntkjam.networks.backprop import output_and_pullback
from ntkjam.networks.optimizers import Optimizer, apply_updates


def objective(net, loss, alpha, X, y, f_ref):
    """``params -> (L, F, ∇_θ L)`` with ``F = α (f_θ − f_ref)`` (not jitted)."""
    n = X.shape[0]
    X_T = X.T  # made once: outside the loop over steps when called in one

    def evaluate(params):
        f, pullback = output_and_pullback(net, params, X, X_T)
        F = alpha * (f - f_ref)
        L = jnp.mean(loss.value(F, y)) / alpha**2
        # ∇_θ L = Σ_n ℓ'(F_n) α ∇_θ f_n / (N α²)
        return L, F, pullback(loss.grad(F, y) / (n * alpha))

    return evaluate


@dataclass(frozen=True)
class Advance:
    """Where an engine stopped: after a record-due step, a rule, or non-finite values.

    ``recordable`` is False when the budget ran out on rejected (flow) steps: the state
    is the last accepted one, already recorded.
    """

    status: Status | None
    message: str | None
    params: Any
    time: float
    steps: int
    accepted: int
    loss: float
    outputs: Any
    n_unsat: int
    recordable: bool = True


def device_rules(stop) -> bool:
    """Whether every rule can be evaluated inside the compiled loop."""
    return all(not (isinstance(r, UNSATConverged) and r.time_window is not None) for r in stop)


# ------------------------------------------------------------------------- compiled
class _Carry(NamedTuple):
    params: Any
    opt_state: Any
    loss: Any
    outputs: Any
    grads: Any
    step: Any
    time: Any
    best: Any
    ring_loss: Any
    ring_best: Any
    n_unsat: Any
    code: Any  # 0 running, -1 non-finite, i + 1 rule i fired


def _first_firing(rules, ctx, finite):
    """The code of the first rule (in order) that fires; non-finite values first."""
    code = jnp.zeros((), dtype=jnp.int64)
    for i in reversed(range(len(rules))):
        code = jnp.where(rules[i].fires_on_device(ctx), i + 1, code)
    return jnp.where(finite, code, -1)


@partial(jax.jit, static_argnames=("net", "loss", "opt", "rules"))
def _advance(carry, data, threshold, *, net, loss, opt, rules):
    """Steps until ``time >= threshold`` (at least one) or a rule fires."""
    X, y, f_ref, alpha, tol = data
    evaluate = objective(net, loss, alpha, X, y, f_ref)
    size = carry.ring_loss.shape[0]
    start = carry.step
    fixed = opt.fixed_lr is not None

    def body(c: _Carry) -> _Carry:
        updates, state = opt.update(c.grads, c.opt_state, c.params)
        params = apply_updates(c.params, updates)
        L, F, g = evaluate(params)
        step = c.step + 1
        # A constant step: t = lr · steps exactly (no accumulated rounding).
        time = step * opt.lr(state) if fixed else c.time + opt.lr(state)
        best = jnp.minimum(c.best, L)
        ring_loss = c.ring_loss.at[step % size].set(L)
        ring_best = c.ring_best.at[step % size].set(best)
        finite = jnp.isfinite(L) & jnp.all(jnp.isfinite(F))
        n_bad = n_unsatisfied(F, y, loss.margin, tol)
        ctx = DeviceContext(step, time, L, best, n_bad, ring_loss, ring_best)
        code = _first_firing(rules, ctx, finite)
        return _Carry(params, state, L, F, g, step, time, best, ring_loss, ring_best, n_bad,
                      code)

    def cond(c: _Carry):
        return (c.code == 0) & ((c.time < threshold) | (c.step == start))

    return lax.while_loop(cond, body, carry)


@partial(jax.jit, static_argnames=("net", "loss", "size"))
def _start(params, opt_state, data, *, net, loss, size):
    """The carry at step 0: the objective at θ₀, the optimizer's state, empty rings.

    Compiled once per (network, loss, ring size, shapes) — the data, α, θ₀ and the
    optimizer's initial state are traced, as in :func:`_advance` — so a sweep of tasks
    does not recompile.  (``opt.init`` runs outside: it closes over the step size, which
    an ``Optimizer`` does not compare, so it must not be baked into a cached trace.)
    """
    X, y, f_ref, alpha, tol = data
    L, F, g = objective(net, loss, alpha, X, y, f_ref)(params)
    ring = jnp.zeros(size).at[0].set(L)
    zero = jnp.zeros((), dtype=jnp.int64)
    n_bad = n_unsatisfied(F, y, loss.margin, tol)
    return _Carry(params, opt_state, L, F, g, zero, jnp.zeros(()), L, ring, ring, n_bad,
                  zero)


class CompiledEngine:
    """The compiled fast path (see the module docstring)."""

    def __init__(self, net, loss, opt: Optimizer, stop, X, y, f_ref, alpha, tol, params):
        windows = [r.window for r in stop if isinstance(r, UNSATConverged)]
        self._data = (jnp.asarray(X), jnp.asarray(y), jnp.asarray(f_ref),
                      jnp.asarray(alpha, dtype=jnp.float64),
                      jnp.asarray(tol, dtype=jnp.float64))
        self._carry = _start(params, opt.init(params), self._data, net=net, loss=loss,
                             size=max(windows, default=1) + 1)
        self._static = {"net": net, "loss": loss, "opt": opt, "rules": tuple(stop)}
        self.stop = tuple(stop)
        self.opt = opt

    @property
    def carry(self) -> _Carry:
        return self._carry

    def advance(self, threshold: float = math.inf) -> Advance:
        c = _advance(self._carry, self._data, jnp.asarray(threshold, dtype=jnp.float64),
                     **self._static)
        self._carry = c
        code, steps = int(c.code), int(c.step)
        time = float(c.time)
        loss = float(c.loss)
        n_bad = int(c.n_unsat)
        status = message = None
        if code == -1:
            status = Status.NAN
            message = f"non-finite loss or outputs at step {steps} (t = {time:.4g})"
        elif code > 0:
            rule = self.stop[code - 1]
            state = TrainState(step=steps, time=time, loss=loss, n_unsat=n_bad)
            status, message = rule.status, rule.message(state)
        return Advance(status=status, message=message, params=c.params, time=time,
                       steps=steps, accepted=steps, loss=loss, outputs=c.outputs,
                       n_unsat=n_bad)


# ------------------------------------------------------------------------- host
class HostEngine:
    """A Python loop of jitted steps: any optimizer, any rule (see the module docstring).

    ``step`` is ``(params, state, grads, t) -> (new params, state, dt)`` for a
    pure optimizer; the adaptive flow supplies ``flow`` instead, an object with
    ``propose(params, grads, t) -> (new params, dt)``, ``accept(...) -> bool`` and
    ``after_accept(params, g)``.
    """

    def __init__(self, evaluate, stop, params, *, tol, margin, y, n_unsat, opt=None,
                 flow=None):
        self.evaluate = evaluate
        self.stop = tuple(stop)
        self.opt, self.flow = opt, flow
        self.tol, self.margin, self.y, self.n_unsat = tol, margin, y, n_unsat
        L, F, g = evaluate(params)
        self.params, self.L, self.F, self.g = params, float(L), F, g
        self.n_bad = int(n_unsat(F))
        unsat = [r for r in self.stop if isinstance(r, UNSATConverged)]
        self.history = LossHistory(
            keep_steps=max([r.window for r in unsat], default=1),
            keep_time=max([r.time_window or 0.0 for r in unsat], default=0.0),
        )
        self.history.append(0.0, self.L)
        self.t, self.steps, self.accepted = 0.0, 0, 0
        if opt is not None:
            self.opt_state = opt.init(params)
            self._step = _host_step
        if flow is not None:
            flow.start(self)

    def _state(self) -> TrainState:
        return TrainState(step=self.steps, time=self.t, loss=self.L, n_unsat=self.n_bad,
                          history=self.history)

    def _advance_one(self):
        """One iteration: (accepted, new params, L, F, g, dt) or a budget stop."""
        if self.opt is not None:
            new, self.opt_state, dt = self._step(self.params, self.opt_state, self.g,
                                                 opt=self.opt)
            L, F, g = self.evaluate(new)
            return True, new, float(L), F, g, float(dt)
        return self.flow.step(self)

    def advance(self, threshold: float = math.inf) -> Advance:
        while True:
            self.steps += 1
            ok, new, L, F, g, dt = self._advance_one()
            if not ok:
                hit = [r.check(self._state()) for r in self.stop if r.status is Status.BUDGET]
                if any(hit):
                    return self._report(Status.BUDGET, next(m for m in hit if m),
                                        recordable=False)
                continue
            self.params, self.L, self.F, self.g = new, L, F, g
            self.accepted += 1
            fixed = self.opt is not None and self.opt.fixed_lr is not None
            # A constant step: t = lr · steps exactly (no accumulated rounding).
            self.t = self.accepted * dt if fixed else self.t + dt
            self.history.append(self.t, L)
            if not math.isfinite(L) or not bool(jnp.all(jnp.isfinite(F))):
                return self._report(
                    Status.NAN, f"non-finite loss or outputs at step {self.steps} "
                    f"(t = {self.t:.4g})")
            if self.flow is not None:
                self.flow.after_accept(self)
            self.n_bad = int(self.n_unsat(F))
            state = self._state()
            for rule in self.stop:
                msg = rule.check(state)
                if msg is not None:
                    return self._report(rule.status, msg)
            if self.t >= threshold:
                return self._report(None, None)

    def _report(self, status, message, recordable=True) -> Advance:
        return Advance(status=status, message=message, params=self.params, time=self.t,
                       steps=self.steps, accepted=self.accepted, loss=self.L,
                       outputs=self.F, n_unsat=self.n_bad, recordable=recordable)


@partial(jax.jit, static_argnames=("opt",))
def _host_step(params, state, grads, *, opt):
    updates, state = opt.update(grads, state, params)
    return apply_updates(params, updates), state, opt.lr(state)
