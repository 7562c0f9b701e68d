"""When a flow or a descent stops: the settings, and the core rule objects they build.

:class:`StoppingRules` is the user's frozen configuration; :meth:`StoppingRules.build`
turns it into the rule objects of :mod:`ntkjam.core.stopping` (``SATReached``,
``Converged``, ``Budget``), the ones the training loop uses, and :class:`StopCheck`
evaluates them after every accepted step.  There is one stopping mechanism and one
vocabulary (:class:`~ntkjam.core.status.Status`); what the dynamics add is the wording
of the message, which quotes ‖K∇L‖, the loss, N_Δ and what the stationary point says.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ntkjam._validate import (
    as_int,
    as_real,
)
from ntkjam.core.deprecation import DeprecatedNames, renamed_keywords
from ntkjam.core.status import Status
from ntkjam.core.stopping import Budget, Converged, SATReached, StopRule, TrainState
from ntkjam.losses import Loss

#: Why a run stopped: ``"sat"`` (N_Δ = 0), ``"converged"`` (‖K∇L‖ ≤ grad_tol),
#: ``"budget"`` (max_time / max_steps spent), ``"nan"`` (the outputs or the loss
#: stopped being finite: a diverged run, e.g. a step size beyond stability).
STATUSES = (Status.SAT, Status.CONVERGED, Status.BUDGET, Status.NAN)

#: The flows' clock reaches ``max_time`` up to this relative rounding: their last step
#: is clipped to land on it, but ``t + h`` rounds (``Budget.time_rtol``).
CLOCK_RTOL = 1e-14


@dataclass(frozen=True)
class StoppingRules(DeprecatedNames):
    """When to stop a flow or a descent (checked after every accepted step).

    Attributes
    ----------
    sat : bool or None
        Stop with status ``"sat"`` when N_Δ = #{Δ_i > unsat_tol} = 0.  ``None``
        (default): on for ``hinge`` and ``quadratic_hinge`` (whose loss is then zero),
        off otherwise.
    grad_tol : float
        Stop with status ``"converged"`` when ‖K ∇_f L‖₂ ≤ grad_tol (the speed of the
        flow divided by η).
    max_time : float
        Flow time (or number of steps for descent) after which the status is ``"budget"``.
        (``t_max``, its former name, is still accepted and readable for one release,
        with a DeprecationWarning.)
    max_steps : int
        Accepted steps after which the status is ``"budget"``.
    unsat_tol : float
        The explicit tolerance of N_Δ.  Positive by default: in continuous time the
        last unsatisfied margins of the quadratic hinge reach zero only asymptotically.

    Examples
    --------
    >>> import numpy as np
    >>> from ntkjam.dynamics import StoppingRules, gradient_flow
    >>> J = np.random.default_rng(0).standard_normal((6, 3))
    >>> res = gradient_flow(np.zeros(6), np.ones(6), "mse", features=J,
    ...                     stopping=StoppingRules(max_time=1.0))
    >>> res.status.value, float(res.final_time)
    ('budget', 1.0)
    """

    sat: bool | None = None
    grad_tol: float = 1e-10
    max_time: float = math.inf
    max_steps: int = 1_000_000
    unsat_tol: float = 1e-9

    _renamed = {"t_max": "max_time"}

    def __post_init__(self) -> None:
        if self.sat is not None and not isinstance(self.sat, bool):
            raise TypeError(f"sat must be True, False or None, got {self.sat!r}")
        as_real("grad_tol", self.grad_tol, nonnegative=True)
        if not (isinstance(self.max_time, (int, float)) and self.max_time > 0):
            raise ValueError(f"max_time must be > 0 (inf allowed), got {self.max_time!r}")
        as_int("max_steps", self.max_steps, minimum=1)
        as_real("unsat_tol", self.unsat_tol, nonnegative=True)

    def build(self, loss: Loss) -> tuple[StopRule, ...]:
        """The rule objects these settings stand for, in the order they are checked.

        ``SATReached`` (when ``sat`` is on for this loss), ``Converged(grad_tol)`` and
        ``Budget(max_steps, max_time)`` with the flows' clock tolerance.

        Parameters
        ----------
        loss : Loss

        Returns
        -------
        tuple of StopRule

        Examples
        --------
        >>> from ntkjam.losses import get_loss
        >>> [type(r).__name__ for r in StoppingRules().build(get_loss("hinge"))]
        ['SATReached', 'Converged', 'Budget']
        >>> [type(r).__name__ for r in StoppingRules().build(get_loss("mse"))]
        ['Converged', 'Budget']
        """
        sat_on = self.sat if self.sat is not None else loss.kinked
        head = (SATReached(),) if sat_on else ()
        return head + (Converged(self.grad_tol),
                       Budget(self.max_steps, self.max_time, time_rtol=CLOCK_RTOL))


StoppingRules.__init__ = renamed_keywords(t_max="max_time")(StoppingRules.__init__)


def _verdict(loss: Loss, lval: float, n_unsat: int, unsat_tol: float) -> str:
    """What a stationary point says about the margins, consistent with N_Δ.

    SAT only when N_Δ = 0; UNSAT only for the hinge losses (zero exactly on SAT
    configurations) at a positive loss; otherwise the count, undecided.  The same
    rule as :attr:`~ntkjam.dynamics.FlowResult.verdict`.
    """
    if n_unsat == 0:
        return "all margins satisfied: SAT"
    if loss.kinked and lval > 1e-12:
        return "positive loss at a stationary point: UNSAT"
    if loss.kinked:
        return (f"loss <= 1e-12 but {n_unsat} margin(s) above unsat_tol = {unsat_tol:g}: "
                "undecided at this tolerance (lower grad_tol or raise unsat_tol)")
    return (f"{n_unsat} margin(s) unsatisfied: undecided (a {loss.name} stationary point "
            "says nothing about the margins)")


class StopCheck:
    """The stopping of one flow or descent: its rules, checked in order (one per run).

    Parameters
    ----------
    settings : StoppingRules
    loss : Loss
    y : numpy.ndarray, shape (N,)
    clock : str
        How the message names the clock: ``"t ="`` (flow time) or ``"step"`` (descent).

    Calling it after an accepted step, ``stop(f, kg, t, steps)`` with the outputs
    f (N,) and K∇L (N,) — or ‖K∇L‖ as a float, possibly a lower bound — returns
    ``(status, message)``, or ``(None, "")`` while no rule fires.  Non-finite outputs,
    ‖K∇L‖ or loss end the run with status ``"nan"`` before any rule is looked at (NaN
    margins would otherwise count as satisfied).

    Examples
    --------
    >>> import numpy as np
    >>> from ntkjam.dynamics import StoppingRules
    >>> from ntkjam.dynamics.stopping import StopCheck
    >>> from ntkjam.losses import get_loss
    >>> y = np.array([1.0, -1.0])
    >>> stop = StopCheck(StoppingRules(), get_loss("hinge"), y)
    >>> status, message = stop(2 * y, np.zeros(2), 1.0, 3)  # both margins satisfied
    >>> status.value, message.startswith("SAT")
    ('sat', True)
    >>> stop(np.zeros(2), np.ones(2), 1.0, 3)
    (None, '')
    """

    def __init__(self, settings: StoppingRules, loss: Loss, y: np.ndarray, *,
                 clock: str = "t =") -> None:
        self.settings, self.loss, self.y, self.clock = settings, loss, y, clock
        self.rules = settings.build(loss)
        self.budget = self.rules[-1]

    def needs_speed(self, bound: float, t: float, steps: int) -> bool:
        """Whether a lower bound of ‖K∇L‖ cannot stand in for it at this step.

        True when the convergence test passes on the bound or the budget is spent:
        the status, or the message quoting ‖K∇L‖, then needs the value itself.

        Parameters
        ----------
        bound : float
            A lower bound of ‖K∇L‖.
        t : float
            The clock (flow time or step index).
        steps : int
            Accepted steps so far.

        Returns
        -------
        bool

        Examples
        --------
        >>> from ntkjam.losses import get_loss
        >>> rules = StoppingRules(grad_tol=1e-6, max_time=10.0)
        >>> stop = StopCheck(rules, get_loss("mse"), np.ones(2))
        >>> [stop.needs_speed(bound, t, 5) for bound, t in ((1e-3, 1.0), (1e-9, 1.0), (1e-3, 10.0))]
        [False, True, True]
        """
        return bound <= self.settings.grad_tol or self.budget.fires(
            TrainState(step=steps, time=t, loss=0.0, n_unsat=0))

    def __call__(self, f: np.ndarray, kg, t: float, steps: int) -> tuple[Status | None, str]:
        kgn = float(kg) if np.ndim(kg) == 0 else float(np.linalg.norm(kg))
        lval = float(np.mean(self.loss.value(f, self.y)))
        at = f"at {self.clock} {t:.6g}"
        if not (math.isfinite(kgn) and math.isfinite(lval) and np.isfinite(f).all()):
            bad = int(f.size - np.count_nonzero(np.isfinite(f)))
            return Status.NAN, (f"diverged: non-finite values {at} ({bad} of {f.size} "
                                f"outputs non-finite, loss = {lval:.3g}, ‖K∇L‖ = {kgn:.3g}); "
                                f"the step is beyond stability: lower lr")
        n_unsat = int(np.count_nonzero(self.loss.margin - self.y * f > self.settings.unsat_tol))
        state = TrainState(step=steps, time=t, loss=lval, n_unsat=n_unsat, grad_norm=kgn)
        for rule in self.rules:
            if rule.fires(state):
                return rule.status, self._message(rule, state, f.size, at)
        return None, ""

    def _message(self, rule: StopRule, state: TrainState, n: int, at: str) -> str:
        """The dynamics' wording of why ``rule`` fired (with the flow's diagnostics)."""
        tol = self.settings.unsat_tol
        if rule.status is Status.SAT:
            return (f"SAT: all {n} margins satisfied (N_Δ = 0 with tol {tol:g}) {at}, "
                    f"loss = {state.loss:.3e}")
        if rule.status is Status.CONVERGED:
            kind = _verdict(self.loss, state.loss, state.n_unsat, tol)
            return (f"converged: ‖K∇L‖ = {state.grad_norm:.3e} <= {rule.grad_tol:g} {at}; "
                    f"loss = {state.loss:.6e}, N_Δ = {state.n_unsat} ({kind})")
        what = (f"max_time = {rule.max_time:g}" if rule.time_spent(state.time)
                else f"max_steps = {rule.max_steps}")
        return (f"budget exhausted ({what}) {at}: ‖K∇L‖ = {state.grad_norm:.3e}, "
                f"loss = {state.loss:.6e}, N_Δ = {state.n_unsat}")


__all__ = ["CLOCK_RTOL", "STATUSES", "StopCheck", "StoppingRules"]
