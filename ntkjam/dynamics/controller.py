"""The step-size controller of the adaptive flows (one rule, its order explicit)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ntkjam._validate import (
    as_real,
)
from ntkjam.core.stopping import check_step_multipliers


def phi1(x: np.ndarray) -> np.ndarray:
    """φ₁(−x) = (1 − e^{−x})/x (1 at x = 0); x < 0 (unstable modes) allowed."""
    out = np.empty_like(x)
    big = np.abs(x) > 1e-8
    out[big] = -np.expm1(-x[big]) / x[big]
    out[~big] = 1.0 - 0.5 * x[~big]
    return out


def phi2(x: np.ndarray) -> np.ndarray:
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

    The step after a success or a rejection is the one the error estimate asks for
    (:func:`grow_factor`, :func:`shrink_factor`), within ``grow`` and ``shrink``.  The
    network :class:`~ntkjam.networks.GradientFlow` instead multiplies by ``grow`` or
    ``shrink`` themselves: its acceptance tests are thresholds with no known order in
    the step (linear across a ReLU kink, quadratic elsewhere), so there is no ratio
    to aim at.  The two share the check of those factors
    (:func:`ntkjam.core.stopping.check_step_multipliers`).

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

    Examples
    --------
    >>> import numpy as np
    >>> from ntkjam.dynamics import Controller, gradient_flow
    >>> J = np.random.default_rng(0).standard_normal((6, 3))
    >>> y = np.array([1.0, -1, 1, -1, 1, -1])
    >>> loose = gradient_flow(np.zeros(6), y, "mse", features=J, controller=Controller(rtol=0.5))
    >>> tight = gradient_flow(np.zeros(6), y, "mse", features=J, controller=Controller(rtol=1e-4))
    >>> tight.n_steps >= loose.n_steps, loose.status.value
    (True, 'converged')
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
        check_step_multipliers(self.grow, self.shrink)
        if self.h0 is not None:
            as_real("h0", self.h0, positive=True)
        as_real("h_min_rel", self.h_min_rel, positive=True)


def _ratio(ctrl: Controller, err: float, order: int) -> float:
    """0.9 (rtol/err)^(1/order): the step that would make the error measure rtol.

    The one step controller of the flows.  The exponent is 1/order, with ``order`` how
    the *error measure* scales with the step h — not a choice, a property of what is
    measured: the exponential (Rosenbrock–Euler) step of the fixed-kernel flow measures
    the gradient's departure from its frozen linear model, O(h²) (``order=2``, square
    root); the Heun step of a moving kernel measures the change of velocity over the
    Euler predictor, O(h) (``order=1``, linear).  Using one exponent for both would
    over- or under-shoot the next step by the square of the mismatch.
    """
    return 0.9 * math.sqrt(ctrl.rtol / err) if order == 2 else 0.9 * ctrl.rtol / err


def shrink_factor(ctrl: Controller, err: float, dfmax: float, *, order: int) -> float:
    """The step multiplier after a rejection (at most 0.5, at least ``ctrl.shrink``)."""
    fac = ctrl.shrink
    if err > ctrl.rtol:
        fac = max(fac, min(0.5, _ratio(ctrl, err, order)))
    if dfmax > ctrl.max_df:
        fac = min(max(fac, 0.9 * ctrl.max_df / dfmax), 0.5)
    return fac


def grow_factor(ctrl: Controller, err: float, *, order: int) -> float:
    """The step multiplier after a success (in [1, ``ctrl.grow``])."""
    if err <= 1e-12:
        return ctrl.grow
    return min(ctrl.grow, max(1.0, _ratio(ctrl, err, order)))


class AdaptiveStep:
    """The step of one adaptive flow under a :class:`Controller` (mutable, one per run).

    Parameters
    ----------
    ctrl : Controller
    tau : float
        The fastest time scale N/(η tr K): the first step is 10⁻² τ (unless
        ``ctrl.h0``), the minimum step ``ctrl.h_min_rel`` τ.
    order : int
        How the integrator's error measure scales with the step (see :func:`_ratio`).

    Per step: :meth:`trial` (the step toward a target time), :meth:`accepts` (the
    controller's verdict on the measured error), then :meth:`shrink` after a rejection,
    or :meth:`landing` and :meth:`grow` after a success.
    """

    def __init__(self, ctrl: Controller, tau: float, *, order: int) -> None:
        self.ctrl, self.order = ctrl, order
        self.h = ctrl.h0 if ctrl.h0 is not None else 1e-2 * tau
        self.h_min = ctrl.h_min_rel * tau
        self.n_rejected = self.n_forced = 0
        self.h_try, self.clipped, self.err, self.dfmax = self.h, False, 0.0, 0.0

    def trial(self, t: float, target: float) -> float:
        """The step to try from ``t``: the current one, clipped to land on ``target``."""
        self.h_try = min(self.h, target - t)
        self.clipped = self.h_try < self.h
        return self.h_try

    def accepts(self, err: float, dfmax: float) -> bool:
        """Whether the trial step passes (``err`` <= rtol, max |Δf| <= max_df).

        A failing step at the minimum size is accepted anyway (counted in
        ``n_forced``); a rejection is counted in ``n_rejected``.
        """
        self.err, self.dfmax = err, dfmax
        ok = err <= self.ctrl.rtol and dfmax <= self.ctrl.max_df
        forced = not ok and self.h_try <= self.h_min
        if not ok and not forced:
            self.n_rejected += 1
            return False
        self.n_forced += int(forced)
        return True

    def shrink(self) -> None:
        """After a rejection: the next trial is smaller (at least ``h_min``)."""
        fac = shrink_factor(self.ctrl, self.err, self.dfmax, order=self.order)
        self.h = max(self.h_try * fac, self.h_min)

    def landing(self, t: float, target: float) -> float:
        """The time an accepted step from ``t`` reached (exactly ``target`` if clipped)."""
        return target if self.clipped else t + self.h_try

    def grow(self) -> None:
        """After a success: the next step grows (unless this one was clipped)."""
        if not self.clipped:
            self.h = self.h_try * grow_factor(self.ctrl, self.err, order=self.order)
