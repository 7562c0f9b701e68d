"""The step-size controller of the adaptive flows (one rule, its order explicit)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ntkjam._validate import (
    as_real,
)


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
