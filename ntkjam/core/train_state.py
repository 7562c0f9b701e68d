"""What a stopping rule sees: the state after an accepted step and the losses before it.

After every accepted step a loop builds a :class:`TrainState` (step, time, loss, N_Δ,
the flow's speed where it knows it) and hands it to the rules of
:mod:`ntkjam.core.stopping`; the :class:`LossHistory` behind it keeps the losses that
``UNSATConverged`` compares with, trimmed to what the rules need.  Inside the compiled
training loop (:mod:`ntkjam.networks.loop`) the same facts are JAX values, gathered in
a :class:`DeviceContext`.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from typing import Any


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
    >>> h = LossHistory(keep_steps=10, keep_time=1.0); h.append(0.0, 3.0); h.append(0.5, 1.0)
    >>> len(h), h.best(), h.steps_back(1), h.at_or_before(0.4)
    (2, 1.0, 3.0, 3.0)
    """

    def __init__(self, keep_steps: int, keep_time: float) -> None:
        self._t: list[float] = []
        self._L: list[float] = []
        self._B: list[float] = []
        self._keep_steps = keep_steps
        self._keep_time = keep_time

    def append(self, t: float, L: float) -> None:
        """Record the loss ``L`` of the accepted step at time ``t`` (times increase).

        Examples
        --------
        >>> h = LossHistory(keep_steps=1, keep_time=0.0); _ = [h.append(t, 1.0) for t in range(99)]
        >>> len(h) < 99, h.steps_back(1)      # trimmed, the steps the rules need kept
        (True, 1.0)
        """
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
        """The smallest loss so far (None if empty).

        Examples
        --------
        >>> h = LossHistory(5, 1.0); _ = [h.append(t, L) for t, L in [(0, 2.0), (1, 0.5), (2, 1.0)]]
        >>> h.best(), LossHistory(5, 1.0).best()
        (0.5, None)
        """
        return self._B[-1] if self._B else None

    def steps_back(self, k: int, *, best: bool = False) -> float | None:
        """The loss (or best loss) ``k`` accepted steps ago (None if not recorded).

        Examples
        --------
        >>> h = LossHistory(5, 1.0); _ = [h.append(t, L) for t, L in [(0, 2.0), (1, 0.5), (2, 1.0)]]
        >>> h.steps_back(0), h.steps_back(2), h.steps_back(1, best=True), h.steps_back(3)
        (1.0, 2.0, 0.5, None)
        """
        values = self._B if best else self._L
        return values[-k - 1] if k < len(values) else None

    def at_or_before(self, time: float, *, best: bool = False) -> float | None:
        """The loss (or best loss) at the last accepted step with ``t <= time`` (or None).

        Examples
        --------
        >>> h = LossHistory(5, 1.0); _ = [h.append(t, L) for t, L in [(0, 2.0), (1, 0.5), (2, 1.0)]]
        >>> h.at_or_before(1.5), h.at_or_before(2), h.at_or_before(2, best=True), h.at_or_before(-1)
        (0.5, 1.0, 0.5, None)
        """
        i = bisect.bisect_right(self._t, time)
        values = self._B if best else self._L
        return values[i - 1] if i > 0 else None


@dataclass(frozen=True)
class TrainState:
    """What a stopping rule sees after every accepted step.

    ``grad_norm`` is the speed of a function-space flow, ‖K∇L‖ (or a lower bound of
    it), for :class:`~ntkjam.core.stopping.Converged`; ``None`` where the loop does not
    compute it (training).

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
        The losses of the earlier steps (for :class:`~ntkjam.core.stopping.UNSATConverged`).
    grad_norm : float, optional
        ‖K∇L‖ (for :class:`~ntkjam.core.stopping.Converged`).

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
    """What a rule's ``fires_on_device`` sees inside the compiled loop (JAX scalars/arrays).

    Parameters
    ----------
    step, time, loss, best, n_unsat : jax.Array, shape ()
        As in :class:`TrainState`; ``best`` is the smallest loss so far.
    ring_loss, ring_best : jax.Array, shape (R,)
        The losses and best losses of the last R accepted steps, step s at index s % R.

    Examples
    --------
    >>> import numpy as np
    >>> from ntkjam.core.stopping import Budget, DeviceContext
    >>> ctx = DeviceContext(*np.array([5, 0.1, 1.0, 1.0, 3]), np.zeros(4), np.zeros(4))
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


__all__ = ["DeviceContext", "LossHistory", "TrainState"]
