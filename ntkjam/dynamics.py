"""Function-space dynamics: gradient flow and gradient descent of the outputs through a kernel.

The training outputs f (N,) move by

    ḟ = −η K_t ∇_f L(f)                  (gradient flow, time t)
    f_{k+1} = f_k − η K_k ∇_f L(f_k)      (gradient descent, step k)

with L(f) = (1/N) Σ_i ℓ(f_i, y_i) (see :mod:`ntkjam.losses`), so ∇_f L = ℓ'(f)/N, and
test outputs move with the cross kernel, ḟ_test = −η K_t(X_test, X) ∇_f L(f).

Kernel sources (exactly one of ``kernel=`` / ``features=``):

* ``kernel=K``, a fixed Gram matrix (N, N) (symmetric, PSD);
* ``features=J``, fixed features (N, P) with K = J Jᵀ.  When P ≤ N the Gram matrix
  is never formed: products are ``J (Jᵀ v)``;
* ``kernel=callable`` t ↦ K_t (N, N), or ``kernel=KernelPath(...)`` (checkpoints,
  linearly interpolated): a moving kernel.

With a fixed kernel the reachable set is the affine space f₀ + range(K).  The flow
is integrated in the coordinates w of that space, f = f₀ + J w with J J ᵀ = K (J the
user's features, or ``psd_features(K)``), where it is the gradient flow of
G(w) = η L(f₀ + J w): it cannot leave f₀ + range(K).  Steps are exponential
(Rosenbrock–Euler) steps with the Hessian M = η Jᵀ diag(ℓ''/N) J frozen at an anchor
point, w ← w − h φ₁(−hM) ∇G, which are *exact* for MSE and for the quadratic hinge
as long as no margin crosses zero.  A step is accepted only if the outputs changed
little (max |Δf_i| ≤ ``max_df``) and the new gradient is close to the one the
frozen linear model predicted (relative error ≤ ``rtol``); the step grows after a
success and shrinks after a rejection.  Crossing a hinge kink, or a Hessian that
changed, shows up as a mismatch, so kinks are resolved automatically; on a
rejection the frozen Hessian is refreshed when it is stale and enough steps have
been taken to pay for the eigendecomposition.  Time t is the true flow time.

The plain hinge (piecewise linear) is integrated exactly, event by event: its flow
follows the minimal-norm subgradient, which is constant between two margins reaching
zero; points on a kink slide along it (Filippov) with the subgradient that a bounded
least-squares problem selects.

Moving kernels are integrated in f-space by Heun (explicit trapezoidal) steps under
the same controller, whose error measure is the change of velocity over the Euler
predictor.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import scipy.linalg

from ntkjam._validate import (
    as_float_array,
    as_int,
    as_real,
    as_seed,
    as_square_symmetric,
)
from ntkjam.linalg import psd_features
from ntkjam.losses import Loss, get_loss

#: Why a run stopped: ``"sat"`` (N_Δ = 0), ``"converged"`` (‖K∇L‖ ≤ grad_tol),
#: ``"budget"`` (t_max / max_steps spent), ``"nan"`` (the outputs or the loss
#: stopped being finite: a diverged run, e.g. a step size beyond stability).
STATUSES = ("sat", "converged", "budget", "nan")


# --------------------------------------------------------------------------- sources


@dataclass(frozen=True)
class KernelPath:
    """A moving kernel given by checkpoints, linearly interpolated in time.

    Parameters
    ----------
    times : array_like, shape (T,)
        Strictly increasing checkpoint times (flow time, or step index for
        :func:`gradient_descent`).
    kernels : array_like, shape (T, N, N)
        Training Gram matrices at the checkpoints.
    test_kernels : array_like, shape (T, N_test, N), optional
        Cross kernels K_t(X_test, X) at the same checkpoints.

    Before the first checkpoint the first kernel is used, after the last one the last.
    """

    times: np.ndarray
    kernels: np.ndarray
    test_kernels: np.ndarray | None = None

    def __post_init__(self) -> None:
        times = as_float_array("times", self.times, ndim=1)
        kernels = as_float_array("kernels", self.kernels, ndim=3)
        if times.size < 1 or np.any(np.diff(times) <= 0):
            raise ValueError(f"times must be non-empty and strictly increasing, got {times}")
        if kernels.shape[0] != times.size:
            raise ValueError(
                f"kernels must have one (N, N) matrix per time ({times.size}), "
                f"got shape {kernels.shape}"
            )
        for k in kernels:
            as_square_symmetric("kernels[i]", k)
        object.__setattr__(self, "times", _frozen(times))
        object.__setattr__(self, "kernels", _frozen(kernels))
        if self.test_kernels is not None:
            tk = as_float_array("test_kernels", self.test_kernels, ndim=3)
            if tk.shape[0] != times.size or tk.shape[2] != kernels.shape[1]:
                raise ValueError(
                    f"test_kernels must have shape ({times.size}, N_test, {kernels.shape[1]}), "
                    f"got {tk.shape}"
                )
            object.__setattr__(self, "test_kernels", _frozen(tk))

    def at(self, t: float) -> np.ndarray:
        """The interpolated training kernel K_t, shape (N, N)."""
        return _interpolate(self.times, self.kernels, t)

    def test_at(self, t: float) -> np.ndarray:
        """The interpolated cross kernel K_t(X_test, X), shape (N_test, N)."""
        if self.test_kernels is None:
            raise ValueError("this KernelPath has no test_kernels")
        return _interpolate(self.times, self.test_kernels, t)


def _interpolate(times: np.ndarray, stack: np.ndarray, t: float) -> np.ndarray:
    if t <= times[0]:
        return stack[0]
    if t >= times[-1]:
        return stack[-1]
    j = int(np.searchsorted(times, t, side="right"))
    lam = (t - times[j - 1]) / (times[j] - times[j - 1])
    return (1.0 - lam) * stack[j - 1] + lam * stack[j]


def _frozen(a: np.ndarray | None) -> np.ndarray | None:
    if a is None:
        return None
    a = np.array(a, dtype=np.float64, copy=True)
    a.setflags(write=False)
    return a


@dataclass(frozen=True)
class _FixedSource:
    """A fixed kernel: dense K and/or features J, and the factor used by the flow."""

    n: int
    K: np.ndarray | None  # dense Gram, when given or cheap
    J: np.ndarray | None  # user features
    factor: np.ndarray  # (N, r) with factor factorᵀ = K
    factor_is_features: bool

    def apply(self, v: np.ndarray) -> np.ndarray:
        """K v."""
        if self.K is not None:
            return self.K @ v
        return self.J @ (self.J.T @ v)

    def apply_cols(self, idx: np.ndarray, v: np.ndarray) -> np.ndarray:
        """K[:, idx] v."""
        if self.K is not None:
            return self.K[:, idx] @ v
        return self.J @ (self.J[idx].T @ v)


@dataclass(frozen=True)
class _MovingSource:
    n: int
    kernel_at: Callable[[float], np.ndarray]
    test_at: Callable[[float], np.ndarray] | None


def _check_kernel_value(K: object, n: int, t: float) -> np.ndarray:
    K = as_float_array(f"kernel(t={t:g})", K, ndim=2)
    if K.shape != (n, n):
        raise ValueError(f"kernel(t={t:g}) must have shape ({n}, {n}), got {K.shape}")
    return K


def _resolve_source(kernel, features, n: int, *, need_factor: bool):
    """Validate the kernel source and build a fixed or moving source object."""
    if (kernel is None) == (features is None):
        raise ValueError("give exactly one of kernel= (Gram matrix, callable, KernelPath) "
                         "or features= (N, P) array")
    if features is not None:
        J = as_float_array("features", features, ndim=2)
        if J.shape[0] != n:
            raise ValueError(
                f"features must have one row per training point (N = {n}), got shape {J.shape}"
            )
        if J.shape[1] < 1:
            raise ValueError(f"features must have at least one column, got shape {J.shape}")
        if J.shape[1] <= n:
            return _FixedSource(n=n, K=None, J=J, factor=J, factor_is_features=True)
        K = J @ J.T
        factor = psd_features(K) if need_factor else J
        return _FixedSource(n=n, K=K, J=J, factor=factor, factor_is_features=not need_factor)
    if isinstance(kernel, KernelPath):
        if kernel.kernels.shape[1] != n:
            raise ValueError(
                f"kernel checkpoints must be ({n}, {n}) to match f0, "
                f"got {kernel.kernels.shape[1:]}"
            )
        test_at = kernel.test_at if kernel.test_kernels is not None else None
        return _MovingSource(n=n, kernel_at=kernel.at, test_at=test_at)
    if callable(kernel):
        as_square_symmetric("kernel(0)", _check_kernel_value(kernel(0.0), n, 0.0))
        return _MovingSource(n=n, kernel_at=kernel, test_at=None)
    K = as_square_symmetric("kernel", kernel)
    if K.shape[0] != n:
        raise ValueError(f"kernel must be ({n}, {n}) to match f0 (N = {n}), got {K.shape}")
    factor = psd_features(K) if need_factor else np.zeros((n, 0))
    return _FixedSource(n=n, K=K, J=None, factor=factor, factor_is_features=False)


def _resolve_test(source, test_kernel, test_features, f0_test, n: int):
    """Validate the test-point inputs; return (f0_test, K_test or callable, J_test)."""
    if test_kernel is None and test_features is None:
        if isinstance(source, _MovingSource) and source.test_at is not None:
            if f0_test is None:
                return None, None, None  # test kernels of the path unused
            f0t = as_float_array("f0_test", f0_test, ndim=1)
            nt = source.test_at(0.0).shape[0]
            if f0t.shape[0] != nt:
                raise ValueError(f"f0_test must have length {nt} (one per test point), "
                                 f"got {f0t.shape[0]}")
            return f0t, source.test_at, None
        if f0_test is not None:
            raise ValueError("f0_test given without test_kernel= or test_features=")
        return None, None, None
    if test_kernel is not None and test_features is not None:
        raise ValueError("give at most one of test_kernel= and test_features=")
    if test_features is not None:
        if not (isinstance(source, _FixedSource) and source.J is not None):
            raise ValueError("test_features= needs training features= (fixed)")
        Jt = as_float_array("test_features", test_features, ndim=2)
        if Jt.shape[1] != source.J.shape[1]:
            raise ValueError(
                f"test_features must have P = {source.J.shape[1]} columns like features, "
                f"got shape {Jt.shape}"
            )
        nt, Kt = Jt.shape[0], None
    elif callable(test_kernel):
        if not isinstance(source, _MovingSource):
            raise ValueError("a callable test_kernel needs a moving (callable) kernel")
        Jt, Kt = None, test_kernel
        nt = None
    else:
        Kt = as_float_array("test_kernel", test_kernel, ndim=2)
        if Kt.shape[1] != n:
            raise ValueError(
                f"test_kernel must have shape (N_test, {n}) (test rows, training columns), "
                f"got {Kt.shape}"
            )
        nt, Jt = Kt.shape[0], None
    if f0_test is None:
        raise ValueError("f0_test (initial test outputs) is required with test points")
    f0t = as_float_array("f0_test", f0_test, ndim=1)
    if nt is not None and f0t.shape[0] != nt:
        raise ValueError(f"f0_test must have length {nt} (one per test point), got {f0t.shape[0]}")
    return f0t, Kt, Jt


def _check_problem(f0, y, loss):
    loss = get_loss(loss)
    f0 = as_float_array("f0", f0, ndim=1)
    if f0.shape[0] < 1:
        raise ValueError("f0 must have at least one entry")
    y = loss.check_labels(y, n=f0.shape[0])
    return f0, y, loss


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class StoppingRules:
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
    t_max : float
        Flow time (or number of steps for descent) after which the status is ``"budget"``.
    max_steps : int
        Accepted steps after which the status is ``"budget"``.
    unsat_tol : float
        The explicit tolerance of N_Δ.  Positive by default: in continuous time the
        last unsatisfied margins of the quadratic hinge reach zero only asymptotically.
    """

    sat: bool | None = None
    grad_tol: float = 1e-10
    t_max: float = math.inf
    max_steps: int = 1_000_000
    unsat_tol: float = 1e-9

    def __post_init__(self) -> None:
        if self.sat is not None and not isinstance(self.sat, bool):
            raise TypeError(f"sat must be True, False or None, got {self.sat!r}")
        as_real("grad_tol", self.grad_tol, nonnegative=True)
        if not (isinstance(self.t_max, (int, float)) and self.t_max > 0):
            raise ValueError(f"t_max must be > 0 (inf allowed), got {self.t_max!r}")
        as_int("max_steps", self.max_steps, minimum=1)
        as_real("unsat_tol", self.unsat_tol, nonnegative=True)


@dataclass(frozen=True)
class FlowResult:
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
class _Recorder:
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
        arr = {k: _frozen(np.array(v)) for k, v in self.rows.items()}
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


def _stop_check(rules: StoppingRules, sat_on: bool, loss: Loss, f, y, kg, t, steps):
    """The status if a stopping rule fires, else None; with its message.

    ``kg`` is K∇L, or a callable returning ‖K∇L‖ (evaluated only when needed).
    Non-finite outputs, ‖K∇L‖ or loss end the run with status ``"nan"`` before any
    other rule is looked at (NaN margins would otherwise count as satisfied).
    """
    kgn = float(kg()) if callable(kg) else float(np.linalg.norm(kg))
    lval = float(np.mean(loss.value(f, y)))
    if not (math.isfinite(kgn) and math.isfinite(lval) and np.isfinite(f).all()):
        bad = int(f.size - np.count_nonzero(np.isfinite(f)))
        return "nan", (f"diverged: non-finite values at t = {t:.6g} ({bad} of {f.size} "
                       f"outputs non-finite, loss = {lval:.3g}, ‖K∇L‖ = {kgn:.3g}); the step "
                       f"is beyond stability: lower lr")
    n_unsat = int(np.count_nonzero(loss.margin - y * f > rules.unsat_tol))
    if sat_on and n_unsat == 0:
        return "sat", (f"SAT: all {f.size} margins satisfied (N_Δ = 0 with tol "
                       f"{rules.unsat_tol:g}) at t = {t:.6g}, loss = {lval:.3e}")
    if kgn <= rules.grad_tol:
        kind = _verdict(loss, lval, n_unsat, rules.unsat_tol)
        return "converged", (f"converged: ‖K∇L‖ = {kgn:.3e} <= {rules.grad_tol:g} at t = {t:.6g}; "
                             f"loss = {lval:.6e}, N_Δ = {n_unsat} ({kind})")
    if t >= rules.t_max * (1 - 1e-14) or steps >= rules.max_steps:
        what = f"t_max = {rules.t_max:g}" if t >= rules.t_max * (1 - 1e-14) else (
            f"max_steps = {rules.max_steps}")
        return "budget", (f"budget exhausted ({what}) at t = {t:.6g}: ‖K∇L‖ = {kgn:.3e}, "
                          f"loss = {lval:.6e}, N_Δ = {n_unsat}")
    return None, ""


def _marks(times, t_first: float, t_max: float, per_decade: int) -> np.ndarray:
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


# --------------------------------------------------------------------------- exact MSE


@dataclass(frozen=True)
class ExactMSE:
    """The closed-form MSE gradient flow with a fixed kernel, at the requested times.

    Attributes
    ----------
    times : (T,)
    outputs : (T, N)
    test_outputs : (T, N_test) or None
    loss : (T,)  L = (1/N) Σ ½ (f_i − y_i)²
    """

    times: np.ndarray
    outputs: np.ndarray
    test_outputs: np.ndarray | None
    loss: np.ndarray


def mse_exact(
    f0,
    y,
    times,
    *,
    kernel=None,
    features=None,
    lr: float = 1.0,
    test_kernel=None,
    test_features=None,
    f0_test=None,
    rtol: float | None = None,
) -> ExactMSE:
    """Closed-form solution of ḟ = −η K (f − y)/N, in the eigenbasis of K.

    With K = U Λ Uᵀ: f(t) = f₀ + U (e^{−ηΛt/N} − 1) Uᵀ (f₀ − y) (directions in Ker K do
    not move), and the test outputs f_test(t) = f₀_test − K_test U Λ⁻¹ (1 − e^{−ηΛt/N})
    Uᵀ (f₀ − y) (with features J = U S Vᵀ: − J_test V S⁻¹ (…)).  The test formula
    assumes K_test annihilates Ker K, true whenever the joint Gram matrix is PSD.

    Parameters
    ----------
    f0 : (N,)  initial outputs
    y : (N,)   targets (any real)
    times : (T,) non-negative times
    kernel : (N, N) or None, features : (N, P) or None
        Exactly one.
    lr : float  η > 0
    test_kernel : (N_test, N), test_features : (N_test, P), f0_test : (N_test,), optional
    rtol : float, optional
        Eigenvalues ≤ rtol·λ_max count as zero (default N·eps).

    Returns
    -------
    ExactMSE
    """
    f0, y, _ = _check_problem(f0, y, "mse")
    n = f0.size
    lr = as_real("lr", lr, positive=True)
    t = as_float_array("times", times, ndim=1)
    if np.any(t < 0):
        raise ValueError(f"times must be >= 0, got min {t.min()}")
    if (kernel is None) == (features is None):
        raise ValueError("give exactly one of kernel= or features=")
    if kernel is not None and (callable(kernel) or isinstance(kernel, KernelPath)):
        raise ValueError("mse_exact needs a fixed kernel (an (N, N) array), got a moving one")
    source = _resolve_source(kernel, features, n, need_factor=False)
    f0t, Kt, Jt = _resolve_test(source, test_kernel, test_features, f0_test, n)
    if source.J is not None:
        U, s, Vt = scipy.linalg.svd(source.J, full_matrices=False)
        lam = s**2
    else:
        lam, U = scipy.linalg.eigh(source.K, driver="evd")
        s, Vt = None, None
    cut = (rtol if rtol is not None else n * np.finfo(float).eps) * max(lam.max(initial=0), 0)
    keep = lam > cut
    U, lam = U[:, keep], lam[keep]
    c = U.T @ (f0 - y)
    decay = np.exp(-np.outer(t, lr * lam / n))  # (T, r)
    outputs = f0[None, :] + ((decay - 1.0) * c) @ U.T
    test_outputs = None
    if f0t is not None:
        coef = (1.0 - decay) * c  # (T, r)
        if Jt is not None:
            B = Jt @ (Vt[keep].T / s[keep])  # (N_test, r)
        else:
            B = (Kt @ U) / lam
        test_outputs = f0t[None, :] - coef @ B.T
    loss = 0.5 * np.mean((outputs - y) ** 2, axis=1)
    return ExactMSE(
        times=_frozen(t),
        outputs=_frozen(outputs),
        test_outputs=_frozen(test_outputs),
        loss=_frozen(loss),
    )


# --------------------------------------------------------------------------- gradient flow


def _phi1(x: np.ndarray) -> np.ndarray:
    """φ₁(−x) = (1 − e^{−x})/x (1 at x = 0); x < 0 (unstable modes) allowed."""
    out = np.empty_like(x)
    big = np.abs(x) > 1e-8
    out[big] = -np.expm1(-x[big]) / x[big]
    out[~big] = 1.0 - 0.5 * x[~big]
    return out


def _phi2(x: np.ndarray) -> np.ndarray:
    """φ₂(−x) = (e^{−x} − 1 + x)/x² (½ at x = 0); x < 0 allowed."""
    out = np.empty_like(x)
    big = np.abs(x) > 1e-4
    out[big] = (np.expm1(-x[big]) + x[big]) / x[big] ** 2
    xs = x[~big]
    out[~big] = 0.5 - xs / 6.0 + xs**2 / 24.0
    return out


@dataclass(frozen=True)
class Controller:
    """Settings of the adaptive step controller of :func:`gradient_flow`.

    Attributes
    ----------
    rtol : float
        Accept a step only if the new gradient differs from the prediction of the
        frozen linear model by at most ``rtol`` times the old gradient (relative).
    max_df : float
        ... and if no output moved by more than ``max_df``.
    grow, shrink : float
        Step multipliers after a success (at most) and a rejection (at least).
    h0 : float or None
        First step; default 10⁻² N/(η tr K) (a fraction of the fastest time scale).
    h_min_rel : float
        Minimum step relative to that time scale; a step there is accepted anyway
        and counted in ``n_forced`` (this is what happens while a hinge point
        chatters on its kink).
    """

    rtol: float = 1e-2
    max_df: float = 0.5
    grow: float = 2.0
    shrink: float = 0.1
    h0: float | None = None
    h_min_rel: float = 1e-12

    def __post_init__(self) -> None:
        as_real("rtol", self.rtol, positive=True)
        as_real("max_df", self.max_df, positive=True)
        if not as_real("grow", self.grow) >= 1.0:
            raise ValueError(f"grow must be >= 1, got {self.grow}")
        if not 0.0 < as_real("shrink", self.shrink) < 1.0:
            raise ValueError(f"shrink must be in (0, 1), got {self.shrink}")
        if self.h0 is not None:
            as_real("h0", self.h0, positive=True)
        as_real("h_min_rel", self.h_min_rel, positive=True)


@np.errstate(over="ignore", invalid="ignore")
def gradient_flow(
    f0,
    y,
    loss: str | Loss,
    *,
    kernel=None,
    features=None,
    lr: float = 1.0,
    stopping: StoppingRules | None = None,
    times=None,
    points_per_decade: int = 10,
    record_outputs: bool = True,
    test_kernel=None,
    test_features=None,
    f0_test=None,
    controller: Controller | None = None,
) -> FlowResult:
    """Integrate ḟ = −η K_t ∇_f L(f) with an adaptive step controller.

    Parameters
    ----------
    f0 : array_like, shape (N,)
        Initial training outputs.
    y : array_like, shape (N,)
        Labels (±1 for margin losses).
    loss : str or Loss
        See :func:`ntkjam.losses.get_loss` (a name uses margin κ = 1).
    kernel : (N, N) array, callable t ↦ (N, N), or KernelPath
    features : (N, P) array
        Exactly one of ``kernel`` and ``features``.
    lr : float
        η > 0.
    stopping : StoppingRules, optional
    times : array_like, optional
        Times at which to record (steps land exactly on them).  Default: t = 0 and a
        log-spaced grid from 10⁻² N/(η tr K) with ``points_per_decade`` points per
        decade.  The final state is always recorded.
    record_outputs : bool
        Keep the outputs (T, N) at the recorded times.
    test_kernel : (N_test, N) array or callable t ↦ (N_test, N), optional
    test_features : (N_test, P), optional
        With ``features``: test outputs move with J_test (no cross kernel formed).
    f0_test : (N_test,), optional
        Initial test outputs (required with test points).
    controller : Controller, optional

    Returns
    -------
    FlowResult
        With a zero kernel (K = 0, or K(0) = 0 for a moving one) nothing moves:
        the run ends at t = 0 with status ``"sat"`` (hinge losses already
        satisfied) or ``"converged"``, and the message says why.

    Raises
    ------
    ValueError
        If the time scale N/(η tr K) is out of float64 range (rescale η or K).
    """
    f0, y, loss = _check_problem(f0, y, loss)
    n = f0.size
    lr = as_real("lr", lr, positive=True)
    rules = stopping if stopping is not None else StoppingRules()
    if not isinstance(rules, StoppingRules):
        raise TypeError(f"stopping must be a StoppingRules, got {rules!r}")
    ctrl = controller if controller is not None else Controller()
    if not isinstance(ctrl, Controller):
        raise TypeError(f"controller must be a Controller, got {ctrl!r}")
    ppd = as_int("points_per_decade", points_per_decade, minimum=1)
    source = _resolve_source(kernel, features, n, need_factor=True)
    f0t, Kt, Jt = _resolve_test(source, test_kernel, test_features, f0_test, n)
    sat_on = rules.sat if rules.sat is not None else loss.kinked
    if isinstance(source, _FixedSource):
        trace = float(np.sum(source.factor**2))
        zero = trace == 0.0  # PSD with zero trace: K = 0
    else:
        K0 = _check_kernel_value(source.kernel_at(0.0), n, 0.0)
        trace = float(np.trace(K0))
        zero = not np.any(K0)
        if trace <= 0.0 and not zero:
            raise ValueError(
                f"kernel(0) must be positive semi-definite, got trace {trace:.3g} <= 0 "
                "with non-zero entries"
            )
    rec = _Recorder(loss, y, rules.unsat_tol, record_outputs)
    if zero:
        # The outputs cannot move at all (a moving kernel: not at t = 0, where
        # ‖K∇L‖ = 0 stops the flow anyway).
        return _stationary(rec, rules, sat_on, loss, f0, y, f0t, lr,
                           "the kernel is zero (K = 0)" if isinstance(source, _FixedSource)
                           else "the kernel at t = 0 is zero (K(0) = 0)")
    with np.errstate(over="ignore", divide="ignore"):
        tau = n / (lr * trace)  # fastest time scale (upper bound)
    ok = math.isfinite(tau) and tau > 0
    if ok and times is None and not math.isfinite(rules.t_max):
        ok = math.isfinite(tau * 1e28)  # the default grid spans 30 decades from τ/100
    if not ok:
        raise ValueError(
            f"the flow's time scale N/(lr tr K) = {n}/({lr:g} x {trace:.3g}) = {tau:.3g} is out "
            "of float64 range; rescale lr or the kernel (only lr K matters), or give t_max"
        )
    marks = _marks(times, 1e-2 * tau, rules.t_max, ppd)
    if isinstance(source, _FixedSource):
        flow = _flow_hinge if loss.name == "hinge" else _flow_fixed
        return flow(source, f0, y, loss, lr, rules, sat_on, ctrl, tau, marks, rec, f0t, Kt, Jt)
    return _flow_moving(source, f0, y, loss, lr, rules, sat_on, ctrl, tau, marks, rec, f0t, Kt)


def _stationary(rec, rules, sat_on, loss, f0, y, f0t, lr, why) -> FlowResult:
    """The result of a flow whose kernel is zero: it stops at t = 0 where it started."""
    g = loss.grad(f0, y) / f0.size
    kg = np.zeros_like(f0)
    rec.add(0.0, f0, f0t, g, kg)
    status, message = _stop_check(rules, sat_on, loss, f0, y, kg, 0.0, 0)
    if status is None:  # unreachable (‖K∇L‖ = 0 <= grad_tol), kept for safety
        status, message = "converged", "converged at t = 0"
    message = f"{why}: the outputs cannot move; {message}"
    return rec.result(
        status=status, message=message, final_outputs=_frozen(f0),
        final_test_outputs=_frozen(f0t), final_time=0.0, n_steps=0,
        n_rejected=0, n_refreshes=0, n_forced=0, lr=lr,
    )


def _flow_fixed(src, f0, y, loss, lr, rules, sat_on, ctrl, tau, marks, rec, f0t, Kt, Jt):
    n = f0.size
    J = src.factor
    r = J.shape[1]
    # Test outputs: directly from w when the factor is the user's features, else through the
    # dual variable a (f = f0 + K a, w = Jᵀ a) and the cross kernel.
    if Jt is not None and not src.factor_is_features:
        Kt, Jt = Jt @ src.J.T, None  # w lives in the coordinates of psd_features(J Jᵀ)
    use_dual = f0t is not None and Jt is None
    w = np.zeros(r)
    a = np.zeros(n) if use_dual else None
    f = f0.copy()
    ft = None if f0t is None else f0t.copy()
    g = loss.grad(f, y) / n
    gw = lr * (J.T @ g)
    kg = (J @ gw) / lr
    curved = loss.name not in ("hinge",)
    cache = None  # (V, mu, D) of M = η Jᵀ diag(D) J
    n_ref = 0
    refresh_min = max(1, int(math.ceil(r * r / (4 * max(n, 1)))))

    M_anchor = None

    def refresh(fcur):
        nonlocal M_anchor
        D = loss.hessian(fcur, y) / n
        changed = None if cache is None else np.flatnonzero(D != cache[2])
        if changed is not None and changed.size < n // 4:
            # only a few Hessian entries changed (hinge margins crossing zero): a
            # low-rank update of M costs O(k r²) instead of O(N r²)
            Jc = J[changed]
            M_anchor = M_anchor + lr * ((Jc * (D - cache[2])[changed, None]).T @ Jc)
        else:
            M_anchor = lr * ((J * D[:, None]).T @ J)
        mu, V = scipy.linalg.eigh(M_anchor, check_finite=False, driver="evd")
        return V, np.maximum(mu, 0.0) if loss.convex else mu, D

    if curved and r > 0:
        cache = refresh(f)
        n_ref += 1
    h = ctrl.h0 if ctrl.h0 is not None else 1e-2 * tau
    h_min = ctrl.h_min_rel * tau
    t, steps, n_rej, n_forced, since = 0.0, 0, 0, 0, 0
    mi = 0
    if mi < marks.size and marks[0] == 0.0:
        rec.add(0.0, f, ft, g, kg)
        mi = 1
    status, message = _stop_check(rules, sat_on, loss, f, y, kg, t, steps)
    while status is None:
        while mi < marks.size and marks[mi] <= t * (1 + 1e-15):
            mi += 1
        target = min(marks[mi] if mi < marks.size else math.inf, rules.t_max)
        h_try = min(h, target - t)
        clipped = h_try < h
        if cache is None:
            dw = -h_try * gw
            gw_pred = gw
        else:
            V, mu, D = cache
            c = V.T @ gw
            # unstable modes (non-convex losses) grow like e^{−x}: cap the exponent, such
            # a step is rejected anyway
            x = np.maximum(h_try * mu, -50.0)
            dw = -h_try * (V @ (_phi1(x) * c))
            gw_pred = gw + V @ (np.expm1(-x) * c)
        w_new = w + dw
        f_new = f0 + J @ w_new
        g_new = loss.grad(f_new, y) / n
        gw_new = lr * (J.T @ g_new)
        gnorm = float(np.linalg.norm(gw))
        mismatch = gw_new - gw_pred
        if loss.kinked:
            d_old, d_new = loss.margin - y * f, loss.margin - y * f_new
            crossed = np.flatnonzero((d_old > 0) != (d_new > 0))
            if crossed.size:
                # A margin that crossed its kink at a fraction θ of the step makes an
                # error only over the remaining (1 − θ) of it: weight its residual
                # (actual minus linearly predicted gradient) accordingly.
                theta = d_old[crossed] / (d_old[crossed] - d_new[crossed])
                D_lin = cache[2][crossed] if cache is not None else 0.0
                resid = (g_new[crossed] - g[crossed]
                         - D_lin * (f_new[crossed] - f[crossed]))
                mismatch = mismatch - lr * (J[crossed].T @ (theta * resid))
        err = float(np.linalg.norm(mismatch)) / max(gnorm, np.finfo(float).tiny)
        dfmax = float(np.max(np.abs(f_new - f)))
        ok = err <= ctrl.rtol and dfmax <= ctrl.max_df
        forced = not ok and h_try <= h_min
        if not ok and not forced:
            n_rej += 1
            stale = cache is not None and not np.array_equal(loss.hessian(f, y) / n, cache[2])
            if curved and stale and since >= refresh_min:
                cache = refresh(f)
                n_ref += 1
                since = 0
                continue
            fac = ctrl.shrink
            if err > ctrl.rtol:
                fac = max(fac, min(0.5, 0.9 * math.sqrt(ctrl.rtol / err)))
            if dfmax > ctrl.max_df:
                fac = min(max(fac, 0.9 * ctrl.max_df / dfmax), 0.5)
            h = max(h_try * fac, h_min)
            continue
        # accepted
        if use_dual:
            da = -h_try * lr * g
            if cache is not None:
                V, mu, D = cache
                x = np.maximum(h_try * mu, -50.0)
                da = da + h_try * h_try * lr * (D * (J @ (V @ (_phi2(x) * (V.T @ gw)))))
            a += da
            ft = f0t + Kt @ a
        elif ft is not None:
            ft = f0t + Jt @ w_new
        t = target if clipped else t + h_try
        w, f, g, gw = w_new, f_new, g_new, gw_new
        kg = None
        steps += 1
        since += 1
        n_forced += int(forced)
        if not clipped:
            h = h_try * (ctrl.grow if err <= 1e-12 else
                         min(ctrl.grow, max(1.0, 0.9 * math.sqrt(ctrl.rtol / err))))
        if (curved and err > 0.1 * ctrl.rtol and since >= refresh_min
                and not np.array_equal(loss.hessian(f, y) / n, cache[2])):
            # the stale linear model is what limits the step: pay for a new one
            cache = refresh(f)
            n_ref += 1
            since = 0
        # gᵀKg = ‖Jᵀg‖² ≤ ‖g‖‖Kg‖ bounds ‖K∇L‖ from below for free; the product K∇L
        # (one more matvec) is needed only near convergence, at the budget or to record.
        lower = (float(np.linalg.norm(gw)) / lr) ** 2 / max(float(np.linalg.norm(g)),
                                                            np.finfo(float).tiny)
        recording = mi < marks.size and t >= marks[mi] * (1 - 1e-15)
        if recording or lower <= rules.grad_tol or steps >= rules.max_steps or (
                t >= rules.t_max * (1 - 1e-14)):
            kg = (J @ gw) / lr
            if recording:
                rec.add(t, f, ft, g, kg)
            status, message = _stop_check(rules, sat_on, loss, f, y, kg, t, steps)
        else:
            status, message = _stop_check(rules, sat_on, loss, f, y, lambda lo=lower: lo, t, steps)
    if rec.last_time() != t:
        rec.add(t, f, ft, g, kg if kg is not None else (J @ gw) / lr)
    return rec.result(
        status=status, message=message, final_outputs=_frozen(f),
        final_test_outputs=_frozen(ft), final_time=float(t), n_steps=steps,
        n_rejected=n_rej, n_refreshes=n_ref, n_forced=n_forced, lr=lr,
    )


def _flow_hinge(src, f0, y, loss, lr, rules, sat_on, ctrl, tau, marks, rec, f0t, Kt, Jt):
    """Event-driven exact flow for the (piecewise-linear) hinge with a fixed kernel.

    The flow of a convex function follows the minimal-norm element of its
    subdifferential.  In w-space that element is piecewise constant: with A the
    violated points (Δ > 0) and S the points on their kink (|Δ| ≤ band), the kink
    subgradients ℓ'_i = −c_i y_i, c ∈ [0, 1]^S, minimise ‖Jᵀ ∇L‖ (a bounded least-squares
    problem whose optimality conditions are exactly Filippov's: a point with 0 < c_i < 1
    slides along its kink, c_i = 0 leaves to the satisfied side, c_i = 1 to the
    violated side).  The velocity is constant until the next margin reaches zero, so
    each step goes exactly to that event (or to a recording time).
    """
    import scipy.optimize

    n = f0.size
    J = src.factor
    if Jt is not None and not src.factor_is_features:
        Kt, Jt = Jt @ src.J.T, None
    use_dual = f0t is not None and Jt is None
    w = np.zeros(J.shape[1])
    a = np.zeros(n) if use_dual else None
    f = f0.copy()
    ft = None if f0t is None else f0t.copy()
    band = 1e-12 * max(1.0, abs(loss.margin), float(np.max(np.abs(f0))))

    def velocity(fcur):
        d = loss.margin - y * fcur
        g = np.where(d > band, -y, 0.0) / n
        on_kink = np.flatnonzero(np.abs(d) <= band)
        if on_kink.size:
            B = np.sqrt(lr / n) * (J[on_kink].T * y[on_kink])
            b = np.sqrt(lr * n) * (J.T @ g)
            sol = scipy.optimize.lsq_linear(B, b, bounds=(0.0, 1.0), method="bvls",
                                            tol=1e-14)
            g[on_kink] = -sol.x * y[on_kink] / n
        gw = lr * (J.T @ g)
        return d, g, gw

    d, g, gw = velocity(f)
    kg = (J @ gw) / lr
    t, steps, mi = 0.0, 0, 0
    if marks.size and marks[0] == 0.0:
        rec.add(0.0, f, ft, g, kg)
        mi = 1
    status, message = _stop_check(rules, sat_on, loss, f, y, kg, t, steps)
    while status is None:
        while mi < marks.size and marks[mi] <= t * (1 + 1e-15):
            mi += 1
        target = min(marks[mi] if mi < marks.size else math.inf, rules.t_max)
        d_dot = lr * y * kg  # Δ̇ = −y ḟ with ḟ = −η K ∇L
        heading = (np.abs(d) > band) & (d * d_dot < 0)
        s_event = float(np.min(-d[heading] / d_dot[heading])) if np.any(heading) else math.inf
        h = min(s_event, target - t)
        if not math.isfinite(h):
            status, message = "budget", (
                f"budget exhausted (t_max = {rules.t_max:g}) at t = {t:.6g}: no event ahead "
                f"but ‖K∇L‖ = {np.linalg.norm(kg):.3e}")
            break
        w = w - h * gw
        f = f0 + J @ w
        if use_dual:
            a -= h * lr * g
            ft = f0t + Kt @ a
        elif ft is not None:
            ft = f0t + Jt @ w
        t = target if h == target - t else t + h
        steps += 1
        d, g, gw = velocity(f)
        kg = (J @ gw) / lr
        if mi < marks.size and t >= marks[mi] * (1 - 1e-15):
            rec.add(t, f, ft, g, kg)
        status, message = _stop_check(rules, sat_on, loss, f, y, kg, t, steps)
    if rec.last_time() != t:
        rec.add(t, f, ft, g, kg)
    return rec.result(
        status=status, message=message, final_outputs=_frozen(f),
        final_test_outputs=_frozen(ft), final_time=float(t), n_steps=steps,
        n_rejected=0, n_refreshes=0, n_forced=0, lr=lr,
    )


def _flow_moving(src, f0, y, loss, lr, rules, sat_on, ctrl, tau, marks, rec, f0t, Kt):
    n = f0.size

    def kernel(t):
        return _check_kernel_value(src.kernel_at(t), n, t)

    def test_kernel(t):
        Kx = as_float_array(f"test_kernel(t={t:g})", Kt(t) if callable(Kt) else Kt, ndim=2)
        if Kx.shape != (f0t.size, n):
            raise ValueError(f"test_kernel(t={t:g}) must have shape ({f0t.size}, {n}), "
                             f"got {Kx.shape}")
        return Kx

    f = f0.copy()
    ft = None if f0t is None else f0t.copy()
    g = loss.grad(f, y) / n
    kg = kernel(0.0) @ g
    h = ctrl.h0 if ctrl.h0 is not None else 1e-2 * tau
    h_min = ctrl.h_min_rel * tau
    t, steps, n_rej, n_forced, mi = 0.0, 0, 0, 0, 0
    if marks.size and marks[0] == 0.0:
        rec.add(0.0, f, ft, g, kg)
        mi = 1
    status, message = _stop_check(rules, sat_on, loss, f, y, kg, t, steps)
    while status is None:
        while mi < marks.size and marks[mi] <= t * (1 + 1e-15):
            mi += 1
        target = min(marks[mi] if mi < marks.size else math.inf, rules.t_max)
        h_try = min(h, target - t)
        clipped = h_try < h
        t_new = target if clipped else t + h_try
        K_new = kernel(t_new)
        f_e = f - h_try * lr * kg  # Euler predictor
        g_e = loss.grad(f_e, y) / n
        kg_e = K_new @ g_e
        err = float(np.linalg.norm(kg_e - kg)) / max(float(np.linalg.norm(kg)),
                                                     np.finfo(float).tiny)
        dfmax = h_try * lr * float(np.max(np.abs(kg)))
        ok = err <= ctrl.rtol and dfmax <= ctrl.max_df
        forced = not ok and h_try <= h_min
        if not ok and not forced:
            n_rej += 1
            fac = ctrl.shrink
            if err > ctrl.rtol:
                fac = max(fac, min(0.5, 0.9 * ctrl.rtol / err))
            if dfmax > ctrl.max_df:
                fac = min(max(fac, 0.9 * ctrl.max_df / dfmax), 0.5)
            h = max(h_try * fac, h_min)
            continue
        # Heun (trapezoidal) corrector: second order, the Euler predictor's change of
        # velocity is the controller's error measure
        if ft is not None:
            ft = ft - 0.5 * h_try * lr * (test_kernel(t) @ g + test_kernel(t_new) @ g_e)
        f = f - 0.5 * h_try * lr * (kg + kg_e)
        g = loss.grad(f, y) / n
        kg = K_new @ g
        t = t_new
        steps += 1
        n_forced += int(forced)
        if not clipped:
            h = h_try * (ctrl.grow if err <= 1e-12 else
                         min(ctrl.grow, max(1.0, 0.9 * ctrl.rtol / err)))
        if mi < marks.size and t >= marks[mi] * (1 - 1e-15):
            rec.add(t, f, ft, g, kg)
        status, message = _stop_check(rules, sat_on, loss, f, y, kg, t, steps)
    if rec.last_time() != t:
        rec.add(t, f, ft, g, kg)
    return rec.result(
        status=status, message=message, final_outputs=_frozen(f),
        final_test_outputs=_frozen(ft), final_time=float(t), n_steps=steps,
        n_rejected=n_rej, n_refreshes=0, n_forced=n_forced, lr=lr,
    )


# --------------------------------------------------------------------------- gradient descent


@np.errstate(over="ignore", invalid="ignore")
def gradient_descent(
    f0,
    y,
    loss: str | Loss,
    *,
    kernel=None,
    features=None,
    lr: float,
    n_steps: int,
    batch_size: int | None = None,
    seed: int = 0,
    stopping: StoppingRules | None = None,
    record_steps: Sequence[int] | None = None,
    points_per_decade: int = 10,
    record_outputs: bool = True,
    test_kernel=None,
    test_features=None,
    f0_test=None,
) -> FlowResult:
    """Discrete dynamics f_{k+1} = f_k − η K_k ∇_B L(f_k), full batch or mini-batch.

    Full batch (``batch_size=None``): ∇L = ℓ'(f)/N.  Mini-batch: each epoch visits
    a fresh random permutation of the points in consecutive batches B of
    ``batch_size`` (the last may be smaller); a step uses the batch loss
    L_B = (1/|B|) Σ_{i∈B} ℓ, i.e. f ← f − η K[:, B] ℓ'(f_B)/|B|.  Step k corresponds to
    flow time t = k of :func:`gradient_flow` with the same ``lr`` (Euler with unit
    step), so as η → 0 at fixed ηk the descent approaches the flow with error O(η).

    Parameters
    ----------
    f0, y, loss, kernel, features, test_kernel, test_features, f0_test
        As in :func:`gradient_flow`; a moving kernel is evaluated at the step index.
    lr : float
        η > 0.
    n_steps : int
        Maximum number of steps (the budget; ``stopping.max_steps`` also applies).
    batch_size : int, optional
    seed : int
        Seed of the batch order (unused for full batch).
    stopping : StoppingRules, optional
        Checked after every full-batch step, and at the end of every epoch for
        mini-batches (whose ‖K∇L‖ is the full-batch value).
    record_steps : sequence of int, optional
        Steps at which to record; default 0 and a log-spaced set of steps.

    Returns
    -------
    FlowResult
        ``times`` are step indices; ``n_rejected``/``n_refreshes``/``n_forced`` are 0.
        A step size beyond stability ends with status ``"nan"`` (non-finite
        outputs or loss) as soon as it is detected, never with ``"sat"``.
    """
    f0, y, loss = _check_problem(f0, y, loss)
    n = f0.size
    lr = as_real("lr", lr, positive=True)
    n_steps = as_int("n_steps", n_steps, minimum=1)
    seed = as_seed("seed", seed)
    rules = stopping if stopping is not None else StoppingRules()
    if not isinstance(rules, StoppingRules):
        raise TypeError(f"stopping must be a StoppingRules, got {rules!r}")
    if batch_size is not None:
        batch_size = as_int("batch_size", batch_size, minimum=1)
        if batch_size > n:
            raise ValueError(f"batch_size must be <= N = {n}, got {batch_size}")
    ppd = as_int("points_per_decade", points_per_decade, minimum=1)
    source = _resolve_source(kernel, features, n, need_factor=False)
    f0t, Kt, Jt = _resolve_test(source, test_kernel, test_features, f0_test, n)
    sat_on = rules.sat if rules.sat is not None else loss.kinked
    budget = min(n_steps, rules.max_steps)
    rules = dataclasses.replace(rules, max_steps=budget)
    if record_steps is None:
        grid = np.unique(np.round(10.0 ** (np.arange(0, ppd * math.log10(budget) + 1) / ppd)))
        marks = set(int(k) for k in grid) | {0}
    else:
        marks = {as_int("record_steps[i]", k, minimum=0) for k in record_steps}
    rng = np.random.default_rng(seed)

    def full_kg(fvec, k):
        gvec = loss.grad(fvec, y) / n
        if isinstance(source, _FixedSource):
            return gvec, source.apply(gvec)
        return gvec, _check_kernel_value(source.kernel_at(float(k)), n, float(k)) @ gvec

    def test_step(idx, gb, k):
        if Jt is not None:
            return Jt @ (source.J[idx].T @ gb)
        Kx = Kt(float(k)) if callable(Kt) else Kt
        return Kx[:, idx] @ gb

    rec = _Recorder(loss, y, rules.unsat_tol, record_outputs)
    f = f0.copy()
    ft = None if f0t is None else f0t.copy()
    g, kg = full_kg(f, 0)
    if 0 in marks:
        rec.add(0.0, f, ft, g, kg)
    status, message = _stop_check(rules, sat_on, loss, f, y, kg, 0.0, 0)
    everything = np.arange(n)
    order, pos, k = np.empty(0, dtype=np.int64), 0, 0
    while status is None:
        if batch_size is None:
            idx = everything
            update = kg
            gb = g
        else:
            if pos >= order.size:
                order, pos = rng.permutation(n), 0
            idx = order[pos:pos + batch_size]
            pos += idx.size
            gb = loss.grad(f[idx], y[idx]) / idx.size
            if isinstance(source, _FixedSource):
                update = source.apply_cols(idx, gb)
            else:
                update = _check_kernel_value(source.kernel_at(float(k)), n, float(k))[:, idx] @ gb
        if ft is not None:
            ft = ft - lr * test_step(idx, gb, k)
        f = f - lr * update
        k += 1
        end_of_epoch = batch_size is None or pos >= order.size
        if end_of_epoch or k in marks or k >= budget:
            g, kg = full_kg(f, k)
        if k in marks:
            rec.add(float(k), f, ft, g, kg)
        if end_of_epoch or k >= budget:
            status, message = _stop_check(rules, sat_on, loss, f, y, kg, float(k), k)
    message = message.replace("at t =", "at step")
    if rec.last_time() != float(k):
        rec.add(float(k), f, ft, g, kg)
    return rec.result(
        status=status, message=message, final_outputs=_frozen(f),
        final_test_outputs=_frozen(ft), final_time=float(k), n_steps=k,
        n_rejected=0, n_refreshes=0, n_forced=0, lr=lr,
    )
