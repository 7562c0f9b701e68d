"""Log-spaced records, the run of one integrator, and the result of a flow or a descent.

:class:`Run` is what the three integrators of :func:`~ntkjam.dynamics.gradient_flow`
share: the clock, the recording marks (steps land exactly on them), the stopping
(:class:`~ntkjam.dynamics.stopping.StopCheck`) and the final record; each integrator
only says how it steps.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ntkjam._validate import (
    as_float_array,
)
from ntkjam.core.reprs import SummaryRepr
from ntkjam.core.status import Status
from ntkjam.dynamics.controller import Controller
from ntkjam.dynamics.sources import RunInputs, frozen_array
from ntkjam.dynamics.stopping import StopCheck
from ntkjam.losses import Loss


@dataclass(frozen=True, repr=False)
class FlowResult(SummaryRepr):
    """A trajectory of function-space dynamics and why it stopped.

    Recorded arrays share their first axis (one row per recorded time).

    Attributes
    ----------
    status : {"sat", "converged", "budget", "nan"}
        ``"nan"``: the outputs, ‖K∇L‖ or the loss became non-finite (the run
        diverged); it is never reported as ``"sat"``.
    message : str
        Human-readable reason, with the final values.  The words SAT / UNSAT
        appear only when N_Δ supports them: SAT only with N_Δ = 0.
    times : numpy.ndarray, shape (T,)
        Flow time (gradient flow) or step index (gradient descent).
    loss : (T,)      L = (1/N) Σ ℓ
    n_unsat : (T,)   N_Δ with tolerance ``unsat_tol``
    grad_norm : (T,) ‖∇_f L‖₂
    kgrad_norm : (T,) ‖K_t ∇_f L‖₂
    outputs : (T, N) or None
    test_outputs : (T, N_test) or None
    final_outputs : (N,)
    final_test_outputs : (N_test,) or None
    final_time : float
    n_steps, n_rejected, n_refreshes, n_forced : int
        Accepted steps, rejected proposals, Hessian eigendecompositions, steps
        accepted at the minimum step size despite the controller.
    loss_name : str
    margin, lr, unsat_tol : float

    Examples
    --------
    >>> import numpy as np
    >>> from ntkjam.dynamics import gradient_flow
    >>> J = np.random.default_rng(0).standard_normal((6, 3))
    >>> res = gradient_flow(np.zeros(6), np.ones(6), "mse", features=J)
    >>> res.status.value, res.loss_name, res.times.shape == res.loss.shape == res.n_unsat.shape
    ('converged', 'mse', True)
    >>> bool(np.all(np.diff(res.loss) <= 1e-12))  # the loss never increases along the flow
    True
    >>> sorted(res.as_arrays())[:3]
    ['final_outputs', 'final_time', 'grad_norm']
    """

    status: str
    message: str
    times: np.ndarray
    loss: np.ndarray
    n_unsat: np.ndarray
    grad_norm: np.ndarray
    kgrad_norm: np.ndarray
    outputs: np.ndarray | None
    test_outputs: np.ndarray | None
    final_outputs: np.ndarray
    final_test_outputs: np.ndarray | None
    final_time: float
    n_steps: int
    n_rejected: int
    n_refreshes: int
    n_forced: int
    loss_name: str
    margin: float
    lr: float
    unsat_tol: float

    @property
    def verdict(self) -> str:
        """What the final state says about the margins, consistent with N_Δ and the status.

        ``"SAT"`` only when the final N_Δ = 0; ``"UNSAT"`` for a hinge or quadratic
        hinge run that converged to a stationary point of positive loss;
        ``"diverged"`` for status ``"nan"``; ``"undecided"`` otherwise.

        Examples
        --------
        One feature shared by two points: equal labels can be fitted, opposite ones not.

        >>> from ntkjam.dynamics import gradient_flow
        >>> [gradient_flow(np.zeros(2), np.array(y), "quadratic_hinge",
        ...                features=np.ones((2, 1))).verdict for y in ([1.0, 1.0], [1.0, -1.0])]
        ['SAT', 'UNSAT']
        """
        if self.status == "nan":
            return "diverged"
        n_unsat = int(self.n_unsat[-1])
        if n_unsat == 0:
            return "SAT"
        if (self.status == "converged" and self.loss_name in ("hinge", "quadratic_hinge")
                and float(self.loss[-1]) > 1e-12):
            return "UNSAT"
        return "undecided"

    def as_arrays(self) -> dict[str, np.ndarray]:
        """The recorded arrays and scalars as a flat dict (e.g. for ``numpy.savez``).

        Returns
        -------
        dict of str to numpy.ndarray
            The arrays as recorded (``times``, ``loss``, ... of shape (T,), ``outputs``
            (T, N) when recorded), the scalars and strings as 0-d arrays.

        Examples
        --------
        >>> from ntkjam.dynamics import gradient_flow
        >>> res = gradient_flow(np.zeros(2), np.ones(2), "hinge", features=np.ones((2, 1)))
        >>> arrays = res.as_arrays()
        >>> arrays["loss"].shape == res.times.shape, str(arrays["status"]), arrays["n_steps"].ndim
        (True, 'sat', 0)
        """
        out: dict[str, np.ndarray] = {
            "times": self.times,
            "loss": self.loss,
            "n_unsat": self.n_unsat,
            "grad_norm": self.grad_norm,
            "kgrad_norm": self.kgrad_norm,
            "final_outputs": self.final_outputs,
            "status": np.array(self.status),
            "message": np.array(self.message),
            "loss_name": np.array(self.loss_name),
        }
        for name in ("final_time", "margin", "lr", "unsat_tol"):
            out[name] = np.array(getattr(self, name))
        for name in ("n_steps", "n_rejected", "n_refreshes", "n_forced"):
            out[name] = np.array(getattr(self, name))
        for name in ("outputs", "test_outputs", "final_test_outputs"):
            if getattr(self, name) is not None:
                out[name] = getattr(self, name)
        return out


@dataclass
class Recorder:
    """Collects rows at the recording marks (mutable, private to a run)."""

    loss: Loss
    y: np.ndarray
    unsat_tol: float
    keep_outputs: bool
    rows: dict[str, list] = field(default_factory=dict)

    def add(self, t, f, ftest, g, kg) -> None:
        row = {
            "times": t,
            "loss": float(np.mean(self.loss.value(f, self.y))),
            "n_unsat": int(np.count_nonzero(self.loss.margin - self.y * f > self.unsat_tol)),
            "grad_norm": float(np.linalg.norm(g)),
            "kgrad_norm": float(np.linalg.norm(kg)),
        }
        if self.keep_outputs:
            row["outputs"] = f.copy()
            if ftest is not None:
                row["test_outputs"] = ftest.copy()
        for k, v in row.items():
            self.rows.setdefault(k, []).append(v)

    def last_time(self) -> float:
        return self.rows["times"][-1] if self.rows else -math.inf

    def finish(self, t: float, f, ftest, g, kg, **result) -> FlowResult:
        """Record the final state at time ``t`` (unless just recorded); build the result.

        ``kg`` is K∇L (N,) or a callable computing it (only called when recorded);
        ``result`` holds ``status``, ``message``, ``n_steps``, ``lr`` and the counters
        ``n_rejected``, ``n_refreshes``, ``n_forced`` (0 when not given).
        """
        if self.last_time() != t:
            self.add(t, f, ftest, g, kg() if callable(kg) else kg)
        counts = {"n_rejected": 0, "n_refreshes": 0, "n_forced": 0}
        return self.result(final_outputs=frozen_array(f), final_test_outputs=frozen_array(ftest),
                           final_time=float(t), **(counts | result))

    def result(self, **kw) -> FlowResult:
        arr = {k: frozen_array(np.array(v)) for k, v in self.rows.items()}
        return FlowResult(
            times=arr["times"],
            loss=arr["loss"],
            n_unsat=_frozen_int(arr["n_unsat"]),
            grad_norm=arr["grad_norm"],
            kgrad_norm=arr["kgrad_norm"],
            outputs=arr.get("outputs"),
            test_outputs=arr.get("test_outputs"),
            loss_name=self.loss.name,
            margin=self.loss.margin,
            unsat_tol=self.unsat_tol,
            **kw,
        )


def _frozen_int(a: np.ndarray) -> np.ndarray:
    a = np.asarray(a, dtype=np.int64).copy()
    a.setflags(write=False)
    return a


def record_marks(times, t_first: float, t_max: float, per_decade: int) -> np.ndarray:
    """Recording times: the user's, or 0 plus a log grid from t_first up to t_max."""
    if times is not None:
        m = as_float_array("times", times, ndim=1)
        if m.size and (np.any(m < 0) or np.any(np.diff(m) <= 0)):
            raise ValueError("times must be non-negative and strictly increasing")
        return m
    top = t_max if math.isfinite(t_max) else t_first * 1e30
    n = int(math.ceil(math.log10(max(top / t_first, 1.0)) * per_decade)) + 1
    grid = t_first * 10.0 ** (np.arange(n) / per_decade)
    grid = grid[grid < top]
    if math.isfinite(t_max):
        grid = np.append(grid, t_max)
    return np.concatenate([[0.0], grid])


@dataclass(frozen=True, repr=False)
class FlowSetup(RunInputs):
    """Everything an integrator of :func:`~ntkjam.dynamics.gradient_flow` needs, checked.

    The :class:`~ntkjam.dynamics.sources.RunInputs`, plus the step controller ``ctrl``,
    the fastest time scale ``tau`` = N/(η tr K), the recording times ``marks`` (M,),
    the recorder ``rec`` and the stopping ``stop``.
    """

    ctrl: Controller
    tau: float
    marks: np.ndarray
    rec: Recorder
    stop: StopCheck


class Run:
    """The clock, recording marks and stopping of one integration (mutable, one per run).

    An integrator calls :meth:`start` with the initial state, then, until ``status`` is
    set: :meth:`target` for the time its next step may reach (the next mark, or
    ``max_time``), and after an accepted step :meth:`accept` (the new time; True when
    the state is due to be recorded) followed by :meth:`settle` (record if due, check
    the rules) — or :meth:`check` alone.  :meth:`finish` builds the result.
    """

    def __init__(self, setup: FlowSetup) -> None:
        self.rec, self.stop, self.marks = setup.rec, setup.stop, setup.marks
        self.max_time = setup.stopping.max_time
        self.t, self.steps, self.mi = 0.0, 0, 0
        self.status: Status | None = None
        self.message = ""

    def start(self, f, ftest, g, kg) -> None:
        """Record t = 0 when it is a mark; check the rules on the initial state."""
        if self.marks.size and self.marks[0] == 0.0:
            self.rec.add(0.0, f, ftest, g, kg)
            self.mi = 1
        self.check(f, kg)

    def target(self) -> float:
        """The time the next step may reach: the next mark ahead, or ``max_time``."""
        marks = self.marks
        while self.mi < marks.size and marks[self.mi] <= self.t * (1 + 1e-15):
            self.mi += 1
        return min(marks[self.mi] if self.mi < marks.size else math.inf, self.max_time)

    def accept(self, t: float) -> bool:
        """Count an accepted step that reached time ``t``; whether a mark is due."""
        self.t = t
        self.steps += 1
        return self.mi < self.marks.size and t >= self.marks[self.mi] * (1 - 1e-15)

    def check(self, f, kg) -> None:
        """Ask the stopping rules (``kg``: K∇L, or ‖K∇L‖ or a lower bound of it)."""
        self.status, self.message = self.stop(f, kg, self.t, self.steps)

    def settle(self, due: bool, f, ftest, g, kg) -> None:
        """After an accepted step: record the state if ``due``, then check the rules."""
        if due:
            self.rec.add(self.t, f, ftest, g, kg)
        self.check(f, kg)

    def end(self, status: Status, message: str) -> None:
        """Stop now, for a reason the integrator found itself."""
        self.status, self.message = status, message

    def finish(self, f, ftest, g, kg, **counts) -> FlowResult:
        """The result, with the final state recorded (``counts``: ``lr`` and counters)."""
        return self.rec.finish(self.t, f, ftest, g, kg, status=self.status,
                               message=self.message, n_steps=self.steps, **counts)
