"""Gradient flow in function space, ḟ = −η K ∇L(f), in true flow time."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.linalg

from ntkjam._validate import (
    as_float_array,
    as_int,
    as_real,
)
from ntkjam.core.reprs import SummaryRepr
from ntkjam.core.status import Status
from ntkjam.dynamics.controller import Controller, grow_factor, phi1, phi2, shrink_factor
from ntkjam.dynamics.records import FlowResult, Recorder, StoppingRules, record_marks, stop_check
from ntkjam.dynamics.sources import (
    FixedSource,
    check_kernel_value,
    check_problem,
    frozen_array,
    resolve_source,
    resolve_test,
)
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
    """
    f0, y, loss = check_problem(f0, y, loss)
    n = f0.size
    lr = as_real("lr", lr, positive=True)
    rules = stopping if stopping is not None else StoppingRules()
    if not isinstance(rules, StoppingRules):
        raise TypeError(f"stopping must be a StoppingRules, got {rules!r}")
    ctrl = controller if controller is not None else Controller()
    if not isinstance(ctrl, Controller):
        raise TypeError(f"controller must be a Controller, got {ctrl!r}")
    ppd = as_int("points_per_decade", points_per_decade, minimum=1)
    source = resolve_source(kernel, features, n, need_factor=True)
    f0t, Kt, Jt = resolve_test(source, test_kernel, test_features, f0_test, n)
    sat_on = rules.sat if rules.sat is not None else loss.kinked
    if isinstance(source, FixedSource):
        trace = float(np.sum(source.factor**2))
        zero = trace == 0.0  # PSD with zero trace: K = 0
    else:
        K0 = check_kernel_value(source.kernel_at(0.0), n, 0.0)
        trace = float(np.trace(K0))
        zero = not np.any(K0)
        if trace <= 0.0 and not zero:
            raise ValueError(
                f"kernel(0) must be positive semi-definite, got trace {trace:.3g} <= 0 "
                "with non-zero entries"
            )
    rec = Recorder(loss, y, rules.unsat_tol, record_outputs)
    if zero:
        # The outputs cannot move at all (a moving kernel: not at t = 0, where
        # ‖K∇L‖ = 0 stops the flow anyway).
        return _stationary(rec, rules, sat_on, loss, f0, y, f0t, lr,
                           "the kernel is zero (K = 0)" if isinstance(source, FixedSource)
                           else "the kernel at t = 0 is zero (K(0) = 0)")
    with np.errstate(over="ignore", divide="ignore"):
        tau = n / (lr * trace)  # fastest time scale (upper bound)
    ok = math.isfinite(tau) and tau > 0
    if ok and times is None and not math.isfinite(rules.max_time):
        ok = math.isfinite(tau * 1e28)  # the default grid spans 30 decades from τ/100
    if not ok:
        raise ValueError(
            f"the flow's time scale N/(lr tr K) = {n}/({lr:g} x {trace:.3g}) = {tau:.3g} is out "
            "of float64 range; rescale lr or the kernel (only lr K matters), or give max_time"
        )
    marks = record_marks(times, 1e-2 * tau, rules.max_time, ppd)
    setup = FlowSetup(src=source, f0=f0, y=y, loss=loss, lr=lr, rules=rules, sat_on=sat_on,
                      ctrl=ctrl, tau=tau, marks=marks, rec=rec, f0t=f0t, Kt=Kt, Jt=Jt)
    if isinstance(source, FixedSource):
        flow = _flow_hinge if loss.name == "hinge" else _flow_fixed
        return flow(setup)
    return _flow_moving(setup)


@dataclass(frozen=True, repr=False)
class FlowSetup(SummaryRepr):
    """Everything an integrator needs, resolved and checked by :func:`gradient_flow`.

    ``src`` the kernel source, ``f0``/``y`` (N,), ``loss``, ``lr``, the stopping
    ``rules`` and whether the SAT rule is on (``sat_on``), the step controller ``ctrl``,
    the fastest time scale ``tau``, the recording ``marks``, the recorder ``rec``, and
    the test-point offset ``f0t`` with its kernel ``Kt`` (and features ``Jt``).
    """

    src: Any
    f0: np.ndarray
    y: np.ndarray
    loss: Loss
    lr: float
    rules: StoppingRules
    sat_on: bool
    ctrl: Controller
    tau: float
    marks: np.ndarray
    rec: Recorder
    f0t: np.ndarray | None
    Kt: Any
    Jt: Any = None

    def fields(self) -> tuple:
        """The fields in order (no copies, unlike ``dataclasses.astuple``)."""
        return (self.src, self.f0, self.y, self.loss, self.lr, self.rules, self.sat_on,
                self.ctrl, self.tau, self.marks, self.rec, self.f0t, self.Kt, self.Jt)


def _stationary(rec, rules, sat_on, loss, f0, y, f0t, lr, why) -> FlowResult:
    """The result of a flow whose kernel is zero: it stops at t = 0 where it started."""
    g = loss.grad(f0, y) / f0.size
    kg = np.zeros_like(f0)
    rec.add(0.0, f0, f0t, g, kg)
    status, message = stop_check(rules, sat_on, loss, f0, y, kg, 0.0, 0)
    if status is None:  # unreachable (‖K∇L‖ = 0 <= grad_tol), kept for safety
        status, message = Status.CONVERGED, "converged at t = 0"
    message = f"{why}: the outputs cannot move; {message}"
    return rec.result(
        status=status, message=message, final_outputs=frozen_array(f0),
        final_test_outputs=frozen_array(f0t), final_time=0.0, n_steps=0,
        n_rejected=0, n_refreshes=0, n_forced=0, lr=lr,
    )


def _flow_fixed(setup: FlowSetup):
    src, f0, y, loss, lr, rules, sat_on, ctrl, tau, marks, rec, f0t, Kt, Jt = setup.fields()
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
    status, message = stop_check(rules, sat_on, loss, f, y, kg, t, steps)
    while status is None:
        while mi < marks.size and marks[mi] <= t * (1 + 1e-15):
            mi += 1
        target = min(marks[mi] if mi < marks.size else math.inf, rules.max_time)
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
            dw = -h_try * (V @ (phi1(x) * c))
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
            h = max(h_try * shrink_factor(ctrl, err, dfmax, order=2), h_min)
            continue
        # accepted
        if use_dual:
            da = -h_try * lr * g
            if cache is not None:
                V, mu, D = cache
                x = np.maximum(h_try * mu, -50.0)
                da = da + h_try * h_try * lr * (D * (J @ (V @ (phi2(x) * (V.T @ gw)))))
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
            h = h_try * grow_factor(ctrl, err, order=2)
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
                t >= rules.max_time * (1 - 1e-14)):
            kg = (J @ gw) / lr
            if recording:
                rec.add(t, f, ft, g, kg)
            status, message = stop_check(rules, sat_on, loss, f, y, kg, t, steps)
        else:
            status, message = stop_check(rules, sat_on, loss, f, y, lambda lo=lower: lo, t, steps)
    if rec.last_time() != t:
        rec.add(t, f, ft, g, kg if kg is not None else (J @ gw) / lr)
    return rec.result(
        status=status, message=message, final_outputs=frozen_array(f),
        final_test_outputs=frozen_array(ft), final_time=float(t), n_steps=steps,
        n_rejected=n_rej, n_refreshes=n_ref, n_forced=n_forced, lr=lr,
    )


def _flow_hinge(setup: FlowSetup):
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
    src, f0, y, loss, lr, rules, sat_on, ctrl, tau, marks, rec, f0t, Kt, Jt = setup.fields()
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
    status, message = stop_check(rules, sat_on, loss, f, y, kg, t, steps)
    while status is None:
        while mi < marks.size and marks[mi] <= t * (1 + 1e-15):
            mi += 1
        target = min(marks[mi] if mi < marks.size else math.inf, rules.max_time)
        d_dot = lr * y * kg  # Δ̇ = −y ḟ with ḟ = −η K ∇L
        heading = (np.abs(d) > band) & (d * d_dot < 0)
        s_event = float(np.min(-d[heading] / d_dot[heading])) if np.any(heading) else math.inf
        h = min(s_event, target - t)
        if not math.isfinite(h):
            status, message = Status.BUDGET, (
                f"budget exhausted (max_time = {rules.max_time:g}) at t = {t:.6g}: no event ahead "
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
        status, message = stop_check(rules, sat_on, loss, f, y, kg, t, steps)
    if rec.last_time() != t:
        rec.add(t, f, ft, g, kg)
    return rec.result(
        status=status, message=message, final_outputs=frozen_array(f),
        final_test_outputs=frozen_array(ft), final_time=float(t), n_steps=steps,
        n_rejected=0, n_refreshes=0, n_forced=0, lr=lr,
    )


def _flow_moving(setup: FlowSetup):
    src, f0, y, loss, lr, rules, sat_on, ctrl, tau, marks, rec, f0t, Kt, _ = setup.fields()
    n = f0.size

    def kernel(t):
        return check_kernel_value(src.kernel_at(t), n, t)

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
    status, message = stop_check(rules, sat_on, loss, f, y, kg, t, steps)
    while status is None:
        while mi < marks.size and marks[mi] <= t * (1 + 1e-15):
            mi += 1
        target = min(marks[mi] if mi < marks.size else math.inf, rules.max_time)
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
            h = max(h_try * shrink_factor(ctrl, err, dfmax, order=1), h_min)
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
            h = h_try * grow_factor(ctrl, err, order=1)
        if mi < marks.size and t >= marks[mi] * (1 - 1e-15):
            rec.add(t, f, ft, g, kg)
        status, message = stop_check(rules, sat_on, loss, f, y, kg, t, steps)
    if rec.last_time() != t:
        rec.add(t, f, ft, g, kg)
    return rec.result(
        status=status, message=message, final_outputs=frozen_array(f),
        final_test_outputs=frozen_array(ft), final_time=float(t), n_steps=steps,
        n_rejected=n_rej, n_refreshes=0, n_forced=n_forced, lr=lr,
    )
