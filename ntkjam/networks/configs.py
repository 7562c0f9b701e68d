"""The optimizer settings ``train`` accepts: GD, the adaptive gradient flow, Adam.

Small frozen configurations, validated once; GD and Adam turn into the pure
``(init, update)`` pairs of :mod:`ntkjam.networks.optimizers` (``.pure()``), the
gradient flow's step controller lives in :mod:`ntkjam.networks.training`.  Every
optimizer ``train`` accepts — these and a pure :class:`Optimizer` — answers ``pure()``
and ``describe()`` itself, so the training loop never dispatches on its type.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ntkjam._validate import as_real
from ntkjam.core.stopping import check_step_multipliers
from ntkjam.networks.optimizers import Optimizer, adam, check_decay, gd

__all__ = ["GD", "Adam", "GradientFlow", "OptimizerConfig"]


# ---------------------------------------------------------------------------
# optimizers (configurations; the steps are the pure pairs of ntkjam.networks.optimizers)


class _Config:
    """What the three configurations share: how a result names them."""

    def describe(self) -> tuple[str, dict]:
        """``(name, hyperparameters)`` for the ``config`` of a result."""
        return type(self).__name__, dict(vars(self))


@dataclass(frozen=True)
class GD(_Config):
    """Full-batch gradient descent ``θ ← θ − lr ∇L``; time advances by ``lr`` per step.

    Parameters
    ----------
    lr : float
        Step size (> 0), scalar; also the time increment ``dt`` of the function-space
        dynamics, so ``t = lr · steps``.

    Examples
    --------
    >>> from ntkjam.networks.configs import GD
    >>> opt = GD(lr=0.1)
    >>> opt.describe(), opt.pure().fixed_lr      # how a result names it; its pure pair
    (('GD', {'lr': 0.1}), 0.1)
    >>> GD(lr=-1.0)
    Traceback (most recent call last):
    ...
    ValueError: lr must be > 0, got -1.0
    """

    lr: float = 0.5

    def __post_init__(self) -> None:
        as_real("lr", self.lr, positive=True)

    def pure(self) -> Optimizer:
        """The pure ``(init, update)`` pair: :func:`ntkjam.networks.optimizers.gd`.

        Returns
        -------
        Optimizer

        Examples
        --------
        >>> opt = GD(lr=0.1).pure()
        >>> opt.name, opt.fixed_lr, opt.describe()
        ('GD', 0.1, ('GD', {'lr': 0.1}))
        """
        return gd(self.lr)


@dataclass(frozen=True)
class GradientFlow(_Config):
    """Gradient flow by adaptive Euler steps ``θ' = θ − dt ∇L(θ)``.

    A step is accepted only if the outputs and the gradient changed little:

    * ``max_i |F'_i − F_i| <= max_output_change``;
    * ``max_i |F'_i − F_i − ΔF_lin,i| <= max_nonlinearity``, with
      ``ΔF_lin = −dt K_t ∇_F L̃`` the first-order (function-space) prediction: the
      step resolves the curvature of the network and the ReLU kinks it crosses;
    * ``‖∇_F L̃(F') − ∇_F L̃(F)‖ <= max_grad_change · ‖∇_F L̃(F)‖``, the change of
      the loss gradient in function space.  Skipped for the linear ``hinge``, whose
      gradient jumps when a point crosses the margin however small the step.

    On success ``dt ← min(grow · dt, dt_max)``, on rejection ``dt ← shrink · dt``;
    a step with ``dt <= dt_min`` is always accepted.  The tests are in function
    space on purpose: the *weight-space* gradient of a ReLU network jumps whenever
    a unit changes sign on a training point, and a test on it shrinks the step to
    nothing as the trajectory creeps towards such a kink (a Zeno pile-up), while
    the outputs are continuous in θ.  For the same reason the nonlinearity test is
    absolute: the error of a step across a kink is linear in the step.

    ``grow`` and ``shrink`` are the multipliers themselves, not bounds on a ratio as in
    the function-space :class:`~ntkjam.dynamics.Controller`: these tests are thresholds
    with no known order in ``dt`` (linear across a kink, quadratic elsewhere), so there
    is no error ratio to aim the next step at.

    Parameters
    ----------
    dt : float
        First step (> 0), scalar.
    max_output_change, max_nonlinearity, max_grad_change : float
        The three acceptance thresholds above (> 0), scalars.
    grow, shrink : float
        Step multipliers after an accepted / rejected step (``grow >= 1``,
        ``0 < shrink < 1``).
    dt_min, dt_max : float
        Bounds on the step (``dt_max`` may be ``inf``).

    Examples
    --------
    The flow has no pure ``(init, update)`` pair: ``train`` runs it on the host loop.

    >>> from ntkjam.networks.configs import GradientFlow
    >>> flow = GradientFlow(dt=0.05, max_output_change=0.01)
    >>> flow.pure() is None, flow.describe()[0], flow.describe()[1]["dt"]
    (True, 'GradientFlow', 0.05)
    """

    dt: float = 0.1
    max_output_change: float = 0.05
    max_nonlinearity: float = 1e-3
    max_grad_change: float = 0.1
    grow: float = 1.1
    shrink: float = 0.5
    dt_min: float = 1e-8
    dt_max: float = math.inf

    def __post_init__(self) -> None:
        as_real("dt", self.dt, positive=True)
        as_real("max_output_change", self.max_output_change, positive=True)
        as_real("max_nonlinearity", self.max_nonlinearity, positive=True)
        as_real("max_grad_change", self.max_grad_change, positive=True)
        check_step_multipliers(self.grow, self.shrink)
        as_real("dt_min", self.dt_min, positive=True)
        if not (isinstance(self.dt_max, (int, float)) and self.dt_max > 0):
            raise ValueError(f"dt_max must be > 0 (inf allowed), got {self.dt_max!r}")

    def pure(self) -> None:
        """None: the adaptive flow accepts or rejects steps, on the host loop.

        Examples
        --------
        >>> GradientFlow().pure() is None
        True
        """
        return None


@dataclass(frozen=True)
class Adam(_Config):
    """Adam (Kingma & Ba 2015) on the full batch; time advances by ``lr`` per step.

    Parameters
    ----------
    lr : float
        Step size (> 0), scalar.
    beta1, beta2 : float
        Decay rates of the first and second moments, each in [0, 1).
    eps : float
        Added to the root of the second moment (> 0).

    Examples
    --------
    >>> from ntkjam.networks.configs import Adam
    >>> opt = Adam(lr=1e-3)
    >>> opt.pure().name, opt.describe()[1]
    ('Adam', {'lr': 0.001, 'beta1': 0.9, 'beta2': 0.999, 'eps': 1e-08})
    >>> Adam(beta2=1.0)
    Traceback (most recent call last):
    ...
    ValueError: beta2 must be in [0, 1), got 1.0
    """

    lr: float = 1e-2
    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-8

    def __post_init__(self) -> None:
        as_real("lr", self.lr, positive=True)
        check_decay("beta1", self.beta1)
        check_decay("beta2", self.beta2)
        as_real("eps", self.eps, positive=True)

    def pure(self) -> Optimizer:
        """The pure ``(init, update)`` pair: :func:`ntkjam.networks.optimizers.adam`.

        Returns
        -------
        Optimizer

        Examples
        --------
        >>> opt = Adam(lr=1e-3, beta1=0.5).pure()
        >>> opt.name, opt.first_lr, opt.describe()[1]["beta1"], opt == Adam().pure()
        ('Adam', 0.001, 0.5, True)
        """
        return adam(self.lr, self.beta1, self.beta2, self.eps)


#: What ``train`` accepts as ``optimizer``.
OptimizerConfig = GD | GradientFlow | Adam | Optimizer
