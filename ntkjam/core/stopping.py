"""Stopping rules: small frozen objects shared by the training loop and the flows.

A run is a sequence of accepted steps; after each one the loop builds a
:class:`TrainState` and asks its rules, in order, whether to stop.  A rule has

* ``status`` — the :class:`~ntkjam.core.status.Status` it ends a run with;
* ``fires(state) -> bool`` and ``message(state) -> str`` (the host check; ``check``
  combines them and returns the message or ``None``);
* ``fires_on_device(ctx) -> bool array`` — the same test in JAX, evaluated inside the
  compiled training loop (:mod:`ntkjam.networks.loop`) every step, so the compiled and
  the host loops stop at the same step.

Non-finite values are not a rule: every loop ends with ``Status.NAN`` first when the
loss or the outputs stop being finite (NaN margins would otherwise count as satisfied).
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass, field
from typing import Any

from ntkjam._validate import as_int, as_real
from ntkjam.core.status import Status


class LossHistory:
    """Losses at accepted steps, oldest first, trimmed to what the stopping rules need.

    Also keeps the running minimum (the *best* loss so far) for
    ``UNSATConverged(best=True)``.
    """

    def __init__(self, keep_steps: int, keep_time: float) -> None:
        self._t: list[float] = []
        self._L: list[float] = []
        self._B: list[float] = []
        self._keep_steps = keep_steps
        self._keep_time = keep_time

    def append(self, t: float, L: float) -> None:
        self._t.append(t)
        self._B.append(min(L, self._B[-1]) if self._B else L)
        self._L.append(L)
        if len(self._t) > 4 * self._keep_steps + 64:
            # Trim in bulk (amortised O(1)): keep the last keep_steps + 1 entries and
            # everything within keep_time of now.
            cut = len(self._t) - self._keep_steps - 1
            cut = min(cut, bisect.bisect_left(self._t, t - self._keep_time) - 1)
            if cut > 0:
                del self._t[:cut], self._L[:cut], self._B[:cut]

    def __len__(self) -> int:
        return len(self._t)

    def best(self) -> float | None:
        """The smallest loss so far (None if empty)."""
        return self._B[-1] if self._B else None

    def steps_back(self, k: int, *, best: bool = False) -> float | None:
        """The loss (or best loss) ``k`` accepted steps ago (None if not recorded)."""
        values = self._B if best else self._L
        return values[-k - 1] if k < len(values) else None

    def at_or_before(self, time: float, *, best: bool = False) -> float | None:
        """The loss (or best loss) at the last accepted step with ``t <= time``."""
        i = bisect.bisect_right(self._t, time)
        values = self._B if best else self._L
        return values[i - 1] if i > 0 else None


@dataclass(frozen=True)
class TrainState:
    """What a stopping rule sees after every accepted step."""

    step: int
    time: float
    loss: float
    n_unsat: int
    history: LossHistory | None = None


@dataclass(frozen=True)
class DeviceContext:
    """What :meth:`fires_on_device` sees inside the compiled loop (JAX scalars/arrays).

    ``ring_loss`` / ``ring_best`` hold the loss and the best loss of the last
    ``len(ring) `` accepted steps, step ``s`` at index ``s % len(ring)``.
    """

    step: Any
    time: Any
    loss: Any
    best: Any
    n_unsat: Any
    ring_loss: Any
    ring_best: Any


class _Rule:
    status: Status

    def check(self, state: TrainState) -> str | None:
        """The message if the rule fires, else None."""
        return self.message(state) if self.fires(state) else None


@dataclass(frozen=True)
class SATReached(_Rule):
    """Stop with status ``"sat"`` when every constraint holds: N_Δ = 0."""

    status: Status = field(default=Status.SAT, init=False)

    def fires(self, state: TrainState) -> bool:
        return state.n_unsat == 0

    def message(self, state: TrainState) -> str:
        return f"SAT: all constraints satisfied at t = {state.time:.4g} (step {state.step})"

    def fires_on_device(self, ctx: DeviceContext):
        return ctx.n_unsat == 0


@dataclass(frozen=True)
class UNSATConverged(_Rule):
    """Stop with status ``"unsat"`` when a positive loss has stopped decreasing.

    Fires when ``L > 0`` and ``L_then − L_now <= rtol · L_now``, where ``L_then`` is
    the loss ``window`` accepted steps ago or, if ``time_window`` is given, at time
    ``t − time_window`` (the right choice for the adaptive flow, whose steps vary).
    With ``best=True`` both losses are the *best* loss so far (its running minimum) —
    the same as the loss whenever it decreases monotonically (gradient descent in the
    lazy regime), and robust when it oscillates (momentum, catapults): this is the rule
    of the trained phase diagram.  The loss compared is the weight-space L = L̃/α², so
    the test does not depend on α.  ``time_window`` is evaluated on the host loop only.
    """

    window: int = 1000
    rtol: float = 1e-5
    time_window: float | None = None
    best: bool = False
    status: Status = field(default=Status.UNSAT, init=False)

    def __post_init__(self) -> None:
        as_int("window", self.window, minimum=1)
        as_real("rtol", self.rtol, nonnegative=True)
        if self.time_window is not None:
            as_real("time_window", self.time_window, positive=True)
        if not isinstance(self.best, bool):
            raise TypeError(f"best must be a bool, got {self.best!r}")

    def fires(self, state: TrainState) -> bool:
        now = state.loss
        if self.best and state.history is not None and state.history.best() is not None:
            now = state.history.best()
        if now <= 0.0 or state.history is None:
            return False
        if self.time_window is None:
            old = state.history.steps_back(self.window, best=self.best)
        else:
            if state.time < self.time_window:
                return False
            old = state.history.at_or_before(state.time - self.time_window, best=self.best)
        return old is not None and old - now <= self.rtol * now

    def message(self, state: TrainState) -> str:
        span = f"{self.window} steps" if self.time_window is None else (
            f"a time {self.time_window:g}")
        what = "best loss" if self.best else "loss"
        return (
            f"UNSAT: {what} decreased by less than {self.rtol:g} (relative) over {span}, "
            f"with {state.n_unsat} constraints unsatisfied at t = {state.time:.4g}"
        )

    def fires_on_device(self, ctx: DeviceContext):
        if self.time_window is not None:
            raise ValueError("UNSATConverged.time_window is evaluated on the host loop only")
        size = ctx.ring_loss.shape[0]
        ring = ctx.ring_best if self.best else ctx.ring_loss
        now = ctx.best if self.best else ctx.loss
        old = ring[(ctx.step - self.window) % size]
        return (now > 0) & (ctx.step >= self.window) & (old - now <= self.rtol * now)


@dataclass(frozen=True)
class Budget(_Rule):
    """Stop with status ``"budget"`` after ``max_steps`` iterations or at ``max_time``.

    (Before the vocabulary was unified this status was spelled ``"max_steps"``;
    :func:`ntkjam.core.status.as_status` still reads it.)
    """

    max_steps: int = 10_000
    max_time: float = math.inf
    status: Status = field(default=Status.BUDGET, init=False)

    def __post_init__(self) -> None:
        as_int("max_steps", self.max_steps, minimum=1)
        if not (isinstance(self.max_time, (int, float)) and self.max_time > 0):
            raise ValueError(f"max_time must be > 0 (inf allowed), got {self.max_time!r}")

    def fires(self, state: TrainState) -> bool:
        return state.step >= self.max_steps or state.time >= self.max_time

    def message(self, state: TrainState) -> str:
        if state.step >= self.max_steps:
            return f"budget exhausted: {state.step} steps (t = {state.time:.4g})"
        return f"budget exhausted: t = {state.time:.4g} >= max_time (step {state.step})"

    def fires_on_device(self, ctx: DeviceContext):
        return (ctx.step >= self.max_steps) | (ctx.time >= self.max_time)


StopRule = SATReached | UNSATConverged | Budget

__all__ = [
    "Budget",
    "DeviceContext",
    "LossHistory",
    "SATReached",
    "StopRule",
    "TrainState",
    "UNSATConverged",
]
