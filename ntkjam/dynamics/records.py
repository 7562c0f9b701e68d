"""Stopping rules, log-spaced records, and the result of a flow or a descent."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ntkjam._validate import (
    as_float_array,
    as_int,
    as_real,
)
from ntkjam.core.deprecation import DeprecatedNames, renamed_keywords
from ntkjam.core.reprs import SummaryRepr
from ntkjam.core.status import Status
from ntkjam.dynamics.sources import frozen_array
from ntkjam.losses import Loss

#: Why a run stopped: ``"sat"`` (N_Δ = 0), ``"converged"`` (‖K∇L‖ ≤ grad_tol),
#: ``"budget"`` (max_time / max_steps spent), ``"nan"`` (the outputs or the loss
#: stopped being finite: a diverged run, e.g. a step size beyond stability).
STATUSES = (Status.SAT, Status.CONVERGED, Status.BUDGET, Status.NAN)


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


StoppingRules.__init__ = renamed_keywords(t_max="max_time")(StoppingRules.__init__)


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
        """The recorded arrays and scalars as a flat dict (e.g. for ``numpy.savez``)."""
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


def _verdict(loss: Loss, lval: float, n_unsat: int, unsat_tol: float) -> str:
    """What a stationary point says about the margins, consistent with N_Δ.

    SAT only when N_Δ = 0; UNSAT only for the hinge losses (zero exactly on SAT
    configurations) at a positive loss; otherwise the count, undecided.  The same
    rule as :attr:`FlowResult.verdict`.
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


def stop_check(rules: StoppingRules, sat_on: bool, loss: Loss, f, y, kg, t, steps):
    """The status if a stopping rule fires, else None; with its message.

    ``kg`` is K∇L, or a callable returning ‖K∇L‖ (evaluated only when needed).
    Non-finite outputs, ‖K∇L‖ or loss end the run with status ``"nan"`` before any
    other rule is looked at (NaN margins would otherwise count as satisfied).
    """
    kgn = float(kg()) if callable(kg) else float(np.linalg.norm(kg))
    lval = float(np.mean(loss.value(f, y)))
    if not (math.isfinite(kgn) and math.isfinite(lval) and np.isfinite(f).all()):
        bad = int(f.size - np.count_nonzero(np.isfinite(f)))
        return Status.NAN, (f"diverged: non-finite values at t = {t:.6g} ({bad} of {f.size} "
                       f"outputs non-finite, loss = {lval:.3g}, ‖K∇L‖ = {kgn:.3g}); the step "
                       f"is beyond stability: lower lr")
    n_unsat = int(np.count_nonzero(loss.margin - y * f > rules.unsat_tol))
    if sat_on and n_unsat == 0:
        return Status.SAT, (f"SAT: all {f.size} margins satisfied (N_Δ = 0 with tol "
                       f"{rules.unsat_tol:g}) at t = {t:.6g}, loss = {lval:.3e}")
    if kgn <= rules.grad_tol:
        kind = _verdict(loss, lval, n_unsat, rules.unsat_tol)
        return Status.CONVERGED, (
            f"converged: ‖K∇L‖ = {kgn:.3e} <= {rules.grad_tol:g} at t = {t:.6g}; "
            f"loss = {lval:.6e}, N_Δ = {n_unsat} ({kind})")
    if t >= rules.max_time * (1 - 1e-14) or steps >= rules.max_steps:
        what = f"max_time = {rules.max_time:g}" if t >= rules.max_time * (1 - 1e-14) else (
            f"max_steps = {rules.max_steps}")
        return Status.BUDGET, (f"budget exhausted ({what}) at t = {t:.6g}: ‖K∇L‖ = {kgn:.3e}, "
                          f"loss = {lval:.6e}, N_Δ = {n_unsat}")
    return None, ""


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
