"""Gradient flow in function space, ḟ = −η K ∇L(f), in true flow time."""

from __future__ import annotations

import math

import numpy as np

from ntkjam._validate import (
    as_float_array,
    as_int,
)
from ntkjam.core.status import Status
from ntkjam.dynamics.controller import AdaptiveStep, Controller
from ntkjam.dynamics.fixed import flow_fixed, flow_hinge
from ntkjam.dynamics.records import FlowResult, FlowSetup, Recorder, Run, record_marks
from ntkjam.dynamics.sources import (
    FixedSource,
    check_kernel_value,
    resolve_run,
)
from ntkjam.dynamics.stopping import StopCheck, StoppingRules
from ntkjam.losses import Loss


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

    Examples
    --------
    With more features than points (P = 8 > N = 4) the hinge loss reaches zero: SAT.

    >>> import numpy as np
    >>> from ntkjam.dynamics import gradient_flow
    >>> J = np.random.default_rng(0).standard_normal((4, 8))
    >>> res = gradient_flow(np.zeros(4), np.array([1.0, -1, 1, -1]), "hinge", features=J)
    >>> res.status.value, res.verdict, int(res.n_unsat[-1])
    ('sat', 'SAT', 0)
    >>> res.outputs.shape == (res.times.size, 4)
    True
    """
    ctrl = controller if controller is not None else Controller()
    if not isinstance(ctrl, Controller):
        raise TypeError(f"controller must be a Controller, got {ctrl!r}")
    ppd = as_int("points_per_decade", points_per_decade, minimum=1)
    inputs = resolve_run(f0, y, loss, lr=lr, stopping=stopping, kernel=kernel,
                         features=features, test_kernel=test_kernel,
                         test_features=test_features, f0_test=f0_test, need_factor=True)
    source, rules, n = inputs.source, inputs.stopping, inputs.f0.size
    fixed = isinstance(source, FixedSource)
    trace, zero = _kernel_trace(source, n)
    rec = Recorder(inputs.loss, inputs.y, rules.unsat_tol, record_outputs)
    stop = StopCheck(rules, inputs.loss, inputs.y)
    if zero:
        # The outputs cannot move at all (a moving kernel: not at t = 0, where
        # ‖K∇L‖ = 0 stops the flow anyway).
        return _stationary(inputs, rec, stop, "the kernel is zero (K = 0)" if fixed
                           else "the kernel at t = 0 is zero (K(0) = 0)")
    tau = _time_scale(n, inputs.lr, trace, finite_grid=times is not None
                      or math.isfinite(rules.max_time))
    marks = record_marks(times, 1e-2 * tau, rules.max_time, ppd)
    setup = FlowSetup(**vars(inputs), ctrl=ctrl, tau=tau, marks=marks, rec=rec, stop=stop)
    if fixed:
        return (flow_hinge if inputs.loss.name == "hinge" else flow_fixed)(setup)
    return _flow_moving(setup)


def _kernel_trace(source, n: int) -> tuple[float, bool]:
    """tr K (of K(0) for a moving kernel) and whether that kernel is zero."""
    if isinstance(source, FixedSource):
        trace = float(np.sum(source.factor**2))
        return trace, trace == 0.0  # PSD with zero trace: K = 0
    K0 = check_kernel_value(source.kernel_at(0.0), n, 0.0)
    trace = float(np.trace(K0))
    zero = not np.any(K0)
    if trace <= 0.0 and not zero:
        raise ValueError(
            f"kernel(0) must be positive semi-definite, got trace {trace:.3g} <= 0 "
            "with non-zero entries"
        )
    return trace, zero


def _time_scale(n: int, lr: float, trace: float, *, finite_grid: bool) -> float:
    """The fastest time scale τ = N/(η tr K), checked to be in float64 range.

    Without given times or a finite ``max_time`` the default grid spans 30 decades from
    τ/100, which must be in range too.
    """
    with np.errstate(over="ignore", divide="ignore"):
        tau = n / (lr * trace)  # fastest time scale (upper bound)
    ok = math.isfinite(tau) and tau > 0
    if ok and not finite_grid:
        ok = math.isfinite(tau * 1e28)
    if not ok:
        raise ValueError(
            f"the flow's time scale N/(lr tr K) = {n}/({lr:g} x {trace:.3g}) = {tau:.3g} is out "
            "of float64 range; rescale lr or the kernel (only lr K matters), or give max_time"
        )
    return tau


def _stationary(inputs, rec: Recorder, stop: StopCheck, why: str) -> FlowResult:
    """The result of a flow whose kernel is zero: it stops at t = 0 where it started."""
    f0 = inputs.f0
    g = inputs.loss.grad(f0, inputs.y) / f0.size
    kg = np.zeros_like(f0)
    rec.add(0.0, f0, inputs.f0t, g, kg)
    status, message = stop(f0, kg, 0.0, 0)
    if status is None:  # unreachable (‖K∇L‖ = 0 <= grad_tol), kept for safety
        status, message = Status.CONVERGED, "converged at t = 0"
    message = f"{why}: the outputs cannot move; {message}"
    return rec.finish(0.0, f0, inputs.f0t, g, kg, status=status, message=message, n_steps=0,
                      lr=inputs.lr)


def _flow_moving(setup: FlowSetup) -> FlowResult:
    """Heun steps of ḟ = −η K_t ∇L in f-space under the adaptive controller (order 1).

    The error measure is the change of velocity over the Euler predictor.
    """
    f0, y, loss, lr, f0t, Kt = setup.f0, setup.y, setup.loss, setup.lr, setup.f0t, setup.Kt
    n = f0.size

    def kernel(t):
        return check_kernel_value(setup.source.kernel_at(t), n, t)

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
    step = AdaptiveStep(setup.ctrl, setup.tau, order=1)
    run = Run(setup)
    run.start(f, ft, g, kg)
    while run.status is None:
        target = run.target()
        t = run.t
        h = step.trial(t, target)
        t_new = step.landing(t, target)
        K_new = kernel(t_new)
        f_e = f - h * lr * kg  # Euler predictor
        g_e = loss.grad(f_e, y) / n
        kg_e = K_new @ g_e
        err = float(np.linalg.norm(kg_e - kg)) / max(float(np.linalg.norm(kg)),
                                                     np.finfo(float).tiny)
        if not step.accepts(err, h * lr * float(np.max(np.abs(kg)))):
            step.shrink()
            continue
        # Heun (trapezoidal) corrector: second order, the Euler predictor's change of
        # velocity is the controller's error measure
        if ft is not None:
            ft = ft - 0.5 * h * lr * (test_kernel(t) @ g + test_kernel(t_new) @ g_e)
        f = f - 0.5 * h * lr * (kg + kg_e)
        g = loss.grad(f, y) / n
        kg = K_new @ g
        step.grow()
        run.settle(run.accept(t_new), f, ft, g, kg)
    return run.finish(f, ft, g, kg, lr=lr, n_rejected=step.n_rejected,
                      n_forced=step.n_forced)
