"""The fixed-kernel flows, in the coordinates w of f₀ + range(K): f = f₀ + J w, J Jᵀ = K.

:func:`flow_fixed` takes exponential (Rosenbrock–Euler) steps under the frozen linear
model :class:`LinearModel`; :func:`flow_hinge` integrates the piecewise-linear hinge
exactly, event by event.  Both move the test outputs with :class:`Predictions` and leave
the clock, the records and the stopping to :class:`~ntkjam.dynamics.records.Run`.
"""

from __future__ import annotations

import math

import numpy as np
import scipy.linalg

from ntkjam.core.status import Status
from ntkjam.dynamics.controller import AdaptiveStep, phi1, phi2
from ntkjam.dynamics.records import FlowResult, FlowSetup, Run
from ntkjam.losses import Loss


class Predictions:
    """The test outputs of a fixed-kernel flow, moved along with w (mutable, one per run).

    With the user's features as the factor, f_test = f₀_test + J_test w directly;
    otherwise through the dual variable a (f = f₀ + K a, w = Jᵀ a) and the cross
    kernel, f_test = f₀_test + K_test a (``dual``).  ``ft`` (N_test,) or None.
    """

    def __init__(self, setup: FlowSetup) -> None:
        src, Kt, Jt = setup.source, setup.Kt, setup.Jt
        if Jt is not None and not src.factor_is_features:
            Kt, Jt = Jt @ src.J.T, None  # w lives in the coordinates of psd_features(J Jᵀ)
        self.f0t, self.Kt, self.Jt = setup.f0t, Kt, Jt
        self.dual = setup.f0t is not None and Jt is None
        self.a = np.zeros(setup.f0.size) if self.dual else None
        self.ft = None if setup.f0t is None else setup.f0t.copy()

    def update(self, w: np.ndarray, da: np.ndarray | None = None) -> None:
        """After an accepted step to ``w`` (r,), with the dual increment ``da`` (N,) if dual."""
        if self.dual:
            self.a += da
            self.ft = self.f0t + self.Kt @ self.a
        elif self.ft is not None:
            self.ft = self.f0t + self.Jt @ w


class LinearModel:
    """The frozen linear model of :func:`flow_fixed` (mutable, one per run).

    M = η Jᵀ diag(D) J with D = ℓ''(f)/N at an anchor point, and its eigendecomposition
    ``cache = (V, μ, D)`` (μ clipped at 0 for a convex loss).  It is refreshed when the
    Hessian has changed and at least ``refresh_min`` accepted steps (``since``) have
    passed, so that the O(r³) decomposition is paid for.

    Parameters
    ----------
    J : (N, r) array
        The factor, J Jᵀ = K.
    loss : Loss
    y : (N,) array
    lr : float
    f : (N,) array
        The first anchor (the initial outputs).
    """

    def __init__(self, J: np.ndarray, loss: Loss, y: np.ndarray, lr: float, f: np.ndarray):
        n, r = J.shape
        self.J, self.loss, self.y, self.lr, self.n = J, loss, y, lr, n
        self.cache: tuple | None = None
        self.M: np.ndarray | None = None
        self.n_refreshes = self.since = 0
        self.refresh_min = max(1, int(math.ceil(r * r / (4 * max(n, 1)))))
        if r > 0:
            self.refresh(f)

    def refresh(self, f: np.ndarray) -> None:
        """Anchor the model at ``f``: new D, M and eigendecomposition."""
        J, lr, cache = self.J, self.lr, self.cache
        D = self.loss.hessian(f, self.y) / self.n
        changed = None if cache is None else np.flatnonzero(D != cache[2])
        if changed is not None and changed.size < self.n // 4:
            # only a few Hessian entries changed (hinge margins crossing zero): a
            # low-rank update of M costs O(k r²) instead of O(N r²)
            Jc = J[changed]
            self.M = self.M + lr * ((Jc * (D - cache[2])[changed, None]).T @ Jc)
        else:
            self.M = lr * ((J * D[:, None]).T @ J)
        mu, V = scipy.linalg.eigh(self.M, check_finite=False, driver="evd")
        self.cache = (V, np.maximum(mu, 0.0) if self.loss.convex else mu, D)
        self.n_refreshes += 1
        self.since = 0

    def refresh_if_stale(self, f: np.ndarray) -> bool:
        """Refresh when enough steps have passed and the Hessian at ``f`` has changed."""
        if (self.cache is not None and self.since >= self.refresh_min
                and not np.array_equal(self.loss.hessian(f, self.y) / self.n, self.cache[2])):
            self.refresh(f)
            return True
        return False

    def propose(self, gw: np.ndarray, h: float) -> tuple[np.ndarray, np.ndarray]:
        """The step Δw = −h φ₁(−hM) ∇G and the gradient the model predicts after it (r,)."""
        if self.cache is None:
            return -h * gw, gw
        V, mu, _ = self.cache
        c = V.T @ gw
        # unstable modes (non-convex losses) grow like e^{−x}: cap the exponent, such a
        # step is rejected anyway
        x = np.maximum(h * mu, -50.0)
        return -h * (V @ (phi1(x) * c)), gw + V @ (np.expm1(-x) * c)

    def dual_increment(self, g: np.ndarray, gw: np.ndarray, h: float) -> np.ndarray:
        """Δa (N,) of the step of size h from the state with gradient g (N,), ∇G = gw (r,)."""
        da = -h * self.lr * g
        if self.cache is not None:
            V, mu, D = self.cache
            x = np.maximum(h * mu, -50.0)
            da = da + h * h * self.lr * (D * (self.J @ (V @ (phi2(x) * (V.T @ gw)))))
        return da

    def error(self, f, f_new, g, g_new, gw, gw_new, gw_pred) -> float:
        """The controller's error: ‖∇G(new) − prediction‖ / ‖∇G(old)‖.

        A margin that crossed its kink at a fraction θ of the step makes an error only
        over the remaining (1 − θ) of it: its residual (actual minus linearly predicted
        gradient) is weighted accordingly.
        """
        loss, y = self.loss, self.y
        gnorm = float(np.linalg.norm(gw))
        mismatch = gw_new - gw_pred
        if loss.kinked:
            d_old, d_new = loss.margin - y * f, loss.margin - y * f_new
            crossed = np.flatnonzero((d_old > 0) != (d_new > 0))
            if crossed.size:
                theta = d_old[crossed] / (d_old[crossed] - d_new[crossed])
                D_lin = self.cache[2][crossed] if self.cache is not None else 0.0
                resid = (g_new[crossed] - g[crossed]
                         - D_lin * (f_new[crossed] - f[crossed]))
                mismatch = mismatch - self.lr * (self.J[crossed].T @ (theta * resid))
        return float(np.linalg.norm(mismatch)) / max(gnorm, np.finfo(float).tiny)


def flow_fixed(setup: FlowSetup) -> FlowResult:
    """Exponential steps w ← w − h φ₁(−hM) ∇G under the adaptive controller (order 2).

    Exact for MSE, and for the quadratic hinge while no margin crosses zero; the error
    measure is the gradient's departure from the frozen linear model.
    """
    J, f0, y, loss, lr = setup.source.factor, setup.f0, setup.y, setup.loss, setup.lr
    n, ctrl = f0.size, setup.ctrl
    tests = Predictions(setup)
    w = np.zeros(J.shape[1])
    f = f0.copy()
    g = loss.grad(f, y) / n
    gw = lr * (J.T @ g)
    kg = (J @ gw) / lr
    model = LinearModel(J, loss, y, lr, f)
    step = AdaptiveStep(ctrl, setup.tau, order=2)
    run = Run(setup)
    run.start(f, tests.ft, g, kg)
    while run.status is None:
        target = run.target()
        h = step.trial(run.t, target)
        dw, gw_pred = model.propose(gw, h)
        w_new = w + dw
        f_new = f0 + J @ w_new
        g_new = loss.grad(f_new, y) / n
        gw_new = lr * (J.T @ g_new)
        err = model.error(f, f_new, g, g_new, gw, gw_new, gw_pred)
        if not step.accepts(err, float(np.max(np.abs(f_new - f)))):
            if not model.refresh_if_stale(f):
                step.shrink()
            continue
        tests.update(w_new, model.dual_increment(g, gw, h) if tests.dual else None)
        t = step.landing(run.t, target)
        w, f, g, gw = w_new, f_new, g_new, gw_new
        kg = None
        model.since += 1
        step.grow()
        if err > 0.1 * ctrl.rtol:
            # the stale linear model is what limits the step: pay for a new one
            model.refresh_if_stale(f)
        due = run.accept(t)
        # gᵀKg = ‖Jᵀg‖² ≤ ‖g‖‖Kg‖ bounds ‖K∇L‖ from below for free; the product K∇L
        # (one more matvec) is needed only near convergence, at the budget or to record.
        lower = (float(np.linalg.norm(gw)) / lr) ** 2 / max(float(np.linalg.norm(g)),
                                                            np.finfo(float).tiny)
        if due or run.stop.needs_speed(lower, t, run.steps):
            kg = (J @ gw) / lr
            run.settle(due, f, tests.ft, g, kg)
        else:
            run.check(f, lower)
    final_kg = kg if kg is not None else (lambda: (J @ gw) / lr)
    return run.finish(f, tests.ft, g, final_kg, lr=lr, n_rejected=step.n_rejected,
                      n_refreshes=model.n_refreshes, n_forced=step.n_forced)


def flow_hinge(setup: FlowSetup) -> FlowResult:
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

    J, f0, y, loss, lr = setup.source.factor, setup.f0, setup.y, setup.loss, setup.lr
    n = f0.size
    tests = Predictions(setup)
    w = np.zeros(J.shape[1])
    f = f0.copy()
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
    run = Run(setup)
    run.start(f, tests.ft, g, kg)
    while run.status is None:
        target = run.target()
        d_dot = lr * y * kg  # Δ̇ = −y ḟ with ḟ = −η K ∇L
        heading = (np.abs(d) > band) & (d * d_dot < 0)
        s_event = float(np.min(-d[heading] / d_dot[heading])) if np.any(heading) else math.inf
        h = min(s_event, target - run.t)
        if not math.isfinite(h):
            run.end(Status.BUDGET, (
                f"budget exhausted (max_time = {run.max_time:g}) at t = {run.t:.6g}: no event "
                f"ahead but ‖K∇L‖ = {np.linalg.norm(kg):.3e}"))
            break
        w = w - h * gw
        f = f0 + J @ w
        tests.update(w, -h * lr * g if tests.dual else None)
        due = run.accept(target if h == target - run.t else run.t + h)
        d, g, gw = velocity(f)
        kg = (J @ gw) / lr
        run.settle(due, f, tests.ft, g, kg)
    return run.finish(f, tests.ft, g, kg, lr=lr)
