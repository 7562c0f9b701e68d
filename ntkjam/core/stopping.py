"""Stopping rules: small frozen objects shared by the training loop and the flows.

A run is a sequence of accepted steps; after each one the loop builds a
:class:`TrainState` and asks its rules, in order, whether to stop (what a rule sees,
``TrainState``, ``LossHistory`` and ``DeviceContext``, is :mod:`ntkjam.core.train_state`,
re-exported here).  The training loop
(:mod:`ntkjam.networks.training`) takes the rules themselves; the function-space
dynamics (:mod:`ntkjam.dynamics`) build theirs from a
:class:`~ntkjam.dynamics.StoppingRules` (``SATReached``, ``Converged``, ``Budget``)
and word the message with the flow's own diagnostics; the kernel-drift study adds
:class:`LossBelow`.  A rule has a ``status`` (the :class:`~ntkjam.core.status.Status` it
ends a run with), the host test ``fires(state)``, its ``message(state)``, ``check(state)``
(the message or ``None``) and ``fires_on_device(ctx)``: the same test in JAX inside the
compiled loop (:mod:`ntkjam.networks.loop`), so both loops stop at the same step.  The
methods are documented once, on the rules' common base.

Non-finite values are not a rule: every loop ends with ``Status.NAN`` first when the
loss or the outputs stop being finite (NaN margins would otherwise count as satisfied).

:func:`check_step_multipliers` is the one check of the grow/shrink factors of the two
adaptive loops (the flows' ``Controller`` and the networks' ``GradientFlow``).
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import dataclass, field

from ntkjam._validate import as_int, as_real
from ntkjam.core.status import Status
from ntkjam.core.train_state import DeviceContext, LossHistory, TrainState


class _Rule(ABC):
    """The protocol of the stopping rules (the module's docstring); each rule is one."""

    status: Status

    @abstractmethod
    def fires(self, state: TrainState) -> bool:
        """Whether the rule ends the run after this accepted step (the host test).

        Examples
        --------
        >>> [r.fires(TrainState(3, 0.5, loss=0.0, n_unsat=0)) for r in (SATReached(), Budget(9))]
        [True, False]
        """

    @abstractmethod
    def message(self, state: TrainState) -> str:
        """Why the run ended, for its record (meaningful where :meth:`fires`).

        Examples
        --------
        >>> Budget(max_steps=10).message(TrainState(step=10, time=0.5, loss=0.2, n_unsat=1))
        'budget exhausted: 10 steps (t = 0.5)'
        """

    @abstractmethod
    def fires_on_device(self, ctx: DeviceContext):
        """:meth:`fires` in JAX inside the compiled loop: a bool array, shape ().

        Examples
        --------
        >>> import jax.numpy as jnp; ctx = DeviceContext(*jnp.zeros((5,)), jnp.ones(2), jnp.ones(2))
        >>> bool(SATReached().fires_on_device(ctx)), bool(Budget(5).fires_on_device(ctx))
        (True, False)
        """

    def check(self, state: TrainState) -> str | None:
        """The message if the rule fires, else None.

        Examples
        --------
        >>> [SATReached().check(TrainState(7, 1.0, 0.0, n_unsat=k)) for k in (2, 0)]
        [None, 'SAT: all constraints satisfied at t = 1 (step 7)']
        """
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

    Fires when ``L > 0`` and ``L_then − L_now <= rtol · L_now``, ``L_then`` the loss ``window``
    accepted steps ago or, given ``time_window``, at time ``t − time_window`` (right for the
    adaptive flow, whose steps vary; host loop only).  With ``best=True`` both are the *best*
    loss so far (its running minimum) — the loss itself when it decreases monotonically (lazy
    gradient descent), robust when it oscillates (momentum, catapults): the rule of the trained
    phase diagram.  The loss is the weight-space L = L̃/α², so the test does not depend on α.

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
    >>> rule, flat, falling = UNSATConverged(2, rtol=1e-3), LossHistory(9, 1), LossHistory(9, 1)
    >>> for step in range(3):
    ...     flat.append(float(step), 0.5); falling.append(float(step), 1.0 / (1 + step))
    >>> [rule.fires(TrainState(2, 2.0, h.steps_back(0), 4, h)) for h in (flat, falling)]
    [True, False]
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

    The stationarity test of the function-space dynamics, which know ‖K∇L‖ (never fires
    where ``TrainState.grad_norm`` is ``None``); training takes :class:`UNSATConverged`.

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

    ``time_rtol`` counts the time as spent from ``max_time · (1 − time_rtol)``: 0 for the
    training loop, whose clock is a sum (or product) of its steps; 10⁻¹⁴ for the adaptive
    flows, whose last step lands on ``max_time`` up to the rounding of ``t + h``.  (Once
    spelled ``"max_steps"``, a status :func:`~ntkjam.core.status.as_status` still reads.)

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
    >>> r = Budget(max_steps=100, max_time=10.0)
    >>> str(r.status), [r.fires(TrainState(s, t, 0.3, 2)) for s, t in [(100, 1), (5, 10), (5, 9)]]
    ('budget', [True, True, False])
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
        """Whether the clock has reached ``max_time`` (to ``time_rtol``).

        Examples
        --------
        >>> [Budget(max_time=1.0, time_rtol=r).time_spent(1.0 - 1e-15) for r in (0.0, 1e-14)]
        [False, True]
        """
        return time >= self.max_time * (1 - self.time_rtol)

    def fires(self, state: TrainState) -> bool:
        return state.step >= self.max_steps or self.time_spent(state.time)

    def message(self, state: TrainState) -> str:
        if state.step >= self.max_steps:
            return f"budget exhausted: {state.step} steps (t = {state.time:.4g})"
        return f"budget exhausted: t = {state.time:.4g} >= max_time (step {state.step})"

    def fires_on_device(self, ctx: DeviceContext):
        return (ctx.step >= self.max_steps) | (ctx.time >= self.max_time * (1 - self.time_rtol))


@dataclass(frozen=True)
class LossBelow(_Rule):
    """Stop with status ``"converged"`` once the weight-space loss L̃/α² <= ``threshold``.

    Parameters
    ----------
    threshold : float
        Largest loss ``L̃/α²`` (scalar) that counts as interpolation.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> from ntkjam.core.stopping import LossBelow
    >>> rule, state = LossBelow(1e-8), SimpleNamespace(loss=1e-9, time=2.5, step=40)
    >>> rule.fires(state), str(rule.status), rule.check(SimpleNamespace(loss=1.0))
    (True, 'converged', None)
    >>> rule.check(state)
    'converged: loss/α² = 1e-09 <= 1e-08 at t = 2.5 (step 40)'
    """

    threshold: float
    status: Status = field(default=Status.CONVERGED, init=False)

    def fires(self, state) -> bool:
        return state.loss <= self.threshold

    def message(self, state) -> str:
        return (f"converged: loss/α² = {state.loss:.3g} <= {self.threshold:.3g} at "
                f"t = {state.time:.4g} (step {state.step})")

    def fires_on_device(self, ctx):
        return ctx.loss <= self.threshold


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
    >>> check_step_multipliers(2.0, 1.5)
    Traceback (most recent call last):
    ...
    ValueError: shrink must be in (0, 1), got 1.5
    """
    grow = as_real("grow", grow)
    if not grow >= 1.0:
        raise ValueError(f"grow must be >= 1, got {grow}")
    shrink = as_real("shrink", shrink)
    if not 0.0 < shrink < 1.0:
        raise ValueError(f"shrink must be in (0, 1), got {shrink}")
    return grow, shrink


__all__ = ["Budget", "Converged", "DeviceContext", "LossBelow", "LossHistory", "SATReached",
           "StopRule", "TrainState", "UNSATConverged", "check_step_multipliers"]
