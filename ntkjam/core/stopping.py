"""Stopping rules: small frozen objects shared by the training loop and the flows.

A run is a sequence of accepted steps; after each one the loop builds a
:class:`TrainState` and asks its rules, in order, whether to stop.  The training loop
(:mod:`ntkjam.networks.training`) takes the rules themselves; the function-space
dynamics (:mod:`ntkjam.dynamics`) build theirs from a
:class:`~ntkjam.dynamics.StoppingRules` (``SATReached``, ``Converged``, ``Budget``)
and word the message with the flow's own diagnostics.  A rule has

* ``status`` — the :class:`~ntkjam.core.status.Status` it ends a run with;
* ``fires(state) -> bool`` and ``message(state) -> str`` (the host check; ``check``
  combines them and returns the message or ``None``);
* ``fires_on_device(ctx) -> bool array`` — the same test in JAX, evaluated inside the
  compiled training loop (:mod:`ntkjam.networks.loop`) every step, so the compiled and
  the host loops stop at the same step.

Non-finite values are not a rule: every loop ends with ``Status.NAN`` first when the
loss or the outputs stop being finite (NaN margins would otherwise count as satisfied).

:func:`check_step_multipliers` is the one check of the grow/shrink factors of the two
adaptive loops (the flows' ``Controller`` and the networks' ``GradientFlow``).
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

    Parameters
    ----------
    keep_steps : int
        Accepted steps that must stay available to ``steps_back``.
    keep_time : float
        Time span that must stay available to ``at_or_before``.

    Examples
    --------
    >>> from ntkjam.core.stopping import LossHistory
    >>> h = LossHistory(keep_steps=10, keep_time=1.0)
    >>> for t, L in [(0.0, 3.0), (0.5, 1.0), (1.0, 2.0)]:
    ...     h.append(t, L)
    >>> len(h), h.best(), h.steps_back(1), h.steps_back(1, best=True), h.at_or_before(0.7)
    (3, 1.0, 1.0, 1.0, 1.0)
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
    """What a stopping rule sees after every accepted step.

    ``grad_norm`` is the speed of a function-space flow, ‖K∇L‖ (or a lower bound of
    it), for :class:`Converged`; ``None`` where the loop does not compute it (training).

    Parameters
    ----------
    step : int
        Accepted steps so far.
    time : float
        The run's clock.
    loss : float
        The loss after the step.
    n_unsat : int
        N_Δ, the unsatisfied constraints after the step.
    history : LossHistory, optional
        The losses of the earlier steps (for :class:`UNSATConverged`).
    grad_norm : float, optional
        ‖K∇L‖ (for :class:`Converged`).

    Examples
    --------
    >>> from ntkjam.core.stopping import SATReached, TrainState
    >>> state = TrainState(step=12, time=0.5, loss=0.0, n_unsat=0)
    >>> SATReached().check(state)
    'SAT: all constraints satisfied at t = 0.5 (step 12)'
    """

    step: int
    time: float
    loss: float
    n_unsat: int
    history: LossHistory | None = None
    grad_norm: float | None = None


@dataclass(frozen=True)
class DeviceContext:
    """What :meth:`fires_on_device` sees inside the compiled loop (JAX scalars/arrays).

    ``ring_loss`` / ``ring_best`` hold the loss and the best loss of the last
    ``len(ring) `` accepted steps, step ``s`` at index ``s % len(ring)``.

    Parameters
    ----------
    step, time, loss, best, n_unsat : jax.Array, shape ()
        As in :class:`TrainState`; ``best`` is the smallest loss so far.
    ring_loss, ring_best : jax.Array, shape (R,)
        The last R losses and best losses.

    Examples
    --------
    >>> import numpy as np
    >>> from ntkjam.core.stopping import Budget, DeviceContext
    >>> ring = np.zeros(4)
    >>> ctx = DeviceContext(step=np.int64(5), time=np.float64(0.1), loss=np.float64(1.0),
    ...                     best=np.float64(1.0), n_unsat=np.int64(3), ring_loss=ring,
    ...                     ring_best=ring)
    >>> [bool(Budget(max_steps=m).fires_on_device(ctx)) for m in (5, 6)]
    [True, False]
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
    """Stop with status ``"sat"`` when every constraint holds: N_Δ = 0.

    Examples
    --------
    >>> from ntkjam.core.stopping import SATReached, TrainState
    >>> rule = SATReached()
    >>> rule.status == "sat", [rule.fires(TrainState(1, 0.1, 0.2, n_unsat=k)) for k in (3, 0)]
    (True, [False, True])
    """

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

    Parameters
    ----------
    window : int
        Accepted steps back to compare with, ≥ 1.
    rtol : float
        Relative decrease below which the loss has stopped, ≥ 0.
    time_window : float, optional
        Compare with the loss this much time back instead (host loop only).
    best : bool
        Compare the running minimum of the loss instead of the loss.

    Examples
    --------
    A loss stuck at 0.5 over the last two steps fires the rule; a decreasing one does not:

    >>> from ntkjam.core.stopping import LossHistory, TrainState, UNSATConverged
    >>> rule = UNSATConverged(window=2, rtol=1e-3)
    >>> flat, falling = LossHistory(10, 1.0), LossHistory(10, 1.0)
    >>> for step in range(3):
    ...     flat.append(float(step), 0.5)
    ...     falling.append(float(step), 1.0 / (1 + step))
    >>> rule.fires(TrainState(2, 2.0, 0.5, 4, flat)), rule.fires(TrainState(2, 2.0, 1 / 3, 4,
    ...                                                                      falling))
    (True, False)
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
class Converged(_Rule):
    """Stop with status ``"converged"`` when the flow's speed ‖K∇L‖ <= ``grad_tol``.

    The stationarity test of the function-space dynamics, which know ‖K∇L‖
    (``TrainState.grad_norm``); it never fires where the loop leaves it ``None``, and
    the training loop does not take it (its UNSAT test is :class:`UNSATConverged`).

    Parameters
    ----------
    grad_tol : float
        The speed ‖K∇L‖ at or below which the flow is stationary, ≥ 0.

    Examples
    --------
    >>> from ntkjam.core.stopping import Converged, TrainState
    >>> rule = Converged(grad_tol=1e-8)
    >>> [rule.fires(TrainState(5, 1.0, 0.1, 2, grad_norm=g)) for g in (1e-9, 1e-6, None)]
    [True, False, False]
    """

    grad_tol: float = 1e-10
    status: Status = field(default=Status.CONVERGED, init=False)

    def __post_init__(self) -> None:
        as_real("grad_tol", self.grad_tol, nonnegative=True)

    def fires(self, state: TrainState) -> bool:
        return state.grad_norm is not None and state.grad_norm <= self.grad_tol

    def message(self, state: TrainState) -> str:
        return (f"converged: ‖K∇L‖ = {state.grad_norm:.3e} <= {self.grad_tol:g} at "
                f"t = {state.time:.4g} (step {state.step})")

    def fires_on_device(self, ctx: DeviceContext):
        raise ValueError("Converged needs ‖K∇L‖, which the compiled training loop does not "
                         "compute; it is a rule of the function-space dynamics")


@dataclass(frozen=True)
class Budget(_Rule):
    """Stop with status ``"budget"`` after ``max_steps`` iterations or at ``max_time``.

    ``time_rtol`` counts the time as spent from ``max_time · (1 − time_rtol)``: 0 for
    the training loop, whose clock is a sum (or a product) of the steps it took;
    10⁻¹⁴ for the adaptive flows, whose last step lands on ``max_time`` up to the
    rounding of ``t + h``.  (Before the vocabulary was unified this status was
    spelled ``"max_steps"``; :func:`ntkjam.core.status.as_status` still reads it.)

    Parameters
    ----------
    max_steps : int
        Accepted steps allowed, ≥ 1.
    max_time : float
        Time allowed, > 0 (``inf``: no limit).
    time_rtol : float
        Relative slack of the time test, in [0, 1).

    Examples
    --------
    >>> from ntkjam.core.stopping import Budget, TrainState
    >>> rule = Budget(max_steps=100, max_time=10.0)
    >>> rule.fires(TrainState(100, 1.0, 0.3, 2)), rule.fires(TrainState(5, 10.0, 0.3, 2))
    (True, True)
    >>> rule.fires(TrainState(5, 9.0, 0.3, 2)), rule.status == "budget"
    (False, True)
    """

    max_steps: int = 10_000
    max_time: float = math.inf
    time_rtol: float = 0.0
    status: Status = field(default=Status.BUDGET, init=False)

    def __post_init__(self) -> None:
        as_int("max_steps", self.max_steps, minimum=1)
        if not (isinstance(self.max_time, (int, float)) and self.max_time > 0):
            raise ValueError(f"max_time must be > 0 (inf allowed), got {self.max_time!r}")
        if not 0.0 <= as_real("time_rtol", self.time_rtol) < 1.0:
            raise ValueError(f"time_rtol must be in [0, 1), got {self.time_rtol}")

    def time_spent(self, time: float) -> bool:
        """Whether the clock has reached ``max_time`` (to ``time_rtol``)."""
        return time >= self.max_time * (1 - self.time_rtol)

    def fires(self, state: TrainState) -> bool:
        return state.step >= self.max_steps or self.time_spent(state.time)

    def message(self, state: TrainState) -> str:
        if state.step >= self.max_steps:
            return f"budget exhausted: {state.step} steps (t = {state.time:.4g})"
        return f"budget exhausted: t = {state.time:.4g} >= max_time (step {state.step})"

    def fires_on_device(self, ctx: DeviceContext):
        return (ctx.step >= self.max_steps) | (ctx.time >= self.max_time * (1 - self.time_rtol))


StopRule = SATReached | UNSATConverged | Converged | Budget


def check_step_multipliers(grow: object, shrink: object) -> tuple[float, float]:
    """Check the step multipliers of an adaptive loop: ``grow >= 1``, ``0 < shrink < 1``.

    Both adaptive loops grow a step after a success and shrink it after a rejection:
    :class:`~ntkjam.dynamics.Controller` (the flows; ``grow``/``shrink`` bound the
    factor its error estimate asks for) and :class:`~ntkjam.networks.GradientFlow`
    (network training; fixed factors, its tests having no known order in the step).

    Returns
    -------
    (grow, shrink) : tuple of float

    Parameters
    ----------
    grow : float
        Largest factor a step grows by after a success, ``>= 1``.
    shrink : float
        Factor a step shrinks by after a rejection, in ``(0, 1)``.

    Raises
    ------
    ValueError
        A multiplier outside its range, naming it.

    Examples
    --------
    >>> from ntkjam.core.stopping import check_step_multipliers
    >>> check_step_multipliers(2, 0.5)
    (2.0, 0.5)
    >>> try:
    ...     check_step_multipliers(2.0, 1.5)
    ... except ValueError as exc:
    ...     print(exc)
    shrink must be in (0, 1), got 1.5
    """
    grow = as_real("grow", grow)
    if not grow >= 1.0:
        raise ValueError(f"grow must be >= 1, got {grow}")
    shrink = as_real("shrink", shrink)
    if not 0.0 < shrink < 1.0:
        raise ValueError(f"shrink must be in (0, 1), got {shrink}")
    return grow, shrink


__all__ = [
    "Budget",
    "Converged",
    "DeviceContext",
    "LossHistory",
    "SATReached",
    "StopRule",
    "TrainState",
    "UNSATConverged",
    "check_step_multipliers",
]
