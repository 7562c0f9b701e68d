"""Training one network of the trained phase diagram to a verdict.

:func:`train_to_convergence` runs the compiled training loop of
:mod:`ntkjam.networks` (full-batch GD or heavy-ball momentum, step fixed or tracked as a
fraction of the stability limit N/λ_max(K_t)) until SAT, UNSAT (the loss stopped
improving over a window) or the budget; :class:`TrainOutcome` is its frozen result.
Used by :func:`ntkjam.experiments.trained.trained_task`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from ntkjam._validate import as_real
from ntkjam.core.deprecation import DeprecatedNames
from ntkjam.core.reprs import SummaryRepr

__all__ = ["STEP_RULES", "TrainOutcome", "lr_scale", "train_to_convergence"]

#: How the step size is set: a fixed fraction of N/λ_max(K_0), or tracked along training.
STEP_RULES = ("tracked", "fixed")


# ----------------------------------------------------------------------- training loop
@dataclass(frozen=True, repr=False)
class TrainOutcome(DeprecatedNames, SummaryRepr):
    """The end of one :func:`train_to_convergence` run.

    Attributes
    ----------
    status : Status
        ``"sat"``, ``"unsat"``, ``"budget"`` or ``"nan"``.
    steps : int
        Gradient steps taken.
    time : float
        Function-space time ``t = Σ lr`` (α-independent units, see
        :func:`ntkjam.networks.train`).
    loss : float
        ``L̃ = (1/N) Σ_i ½ max(0, κ − y_i F_i)²`` at the end (loss per sample).
    n_unsat : int
        ``N_Δ = #{κ − y_i F_i > sat_tol}`` at the end (``.n_delta``: deprecated alias).
    lr_initial, lr_final : float
        The step size at the start and at the end.
    params : list of (W, b)
        Final parameters.
    outputs : numpy.ndarray, shape (N,)
        Final ``F = α (f_θ − f_θ₀)`` on the training points.
    seconds : float
        Wall-clock time of the loop, compilation included (machine-dependent).

    Examples
    --------
    :func:`train_to_convergence` returns one; the old field name still reads, warning:

    >>> import warnings
    >>> import numpy as np
    >>> from ntkjam.core.status import Status
    >>> from ntkjam.experiments.convergence import TrainOutcome
    >>> out = TrainOutcome(status=Status.UNSAT, steps=900, time=900.0, loss=0.02, n_unsat=3,
    ...                    lr_initial=1.0, lr_final=1.0, params=[], outputs=np.zeros(8),
    ...                    seconds=0.1)
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     alias = out.n_delta
    >>> alias, caught[0].category.__name__, out.outputs.shape
    (3, 'DeprecationWarning', (8,))
    """

    _renamed = {"n_delta": "n_unsat"}  # the stored column keeps the name n_delta
    status: str
    steps: int
    time: float
    loss: float
    n_unsat: int
    lr_initial: float
    lr_final: float
    params: list
    outputs: np.ndarray
    seconds: float


def _stop_rules(stop) -> tuple:
    """``(SATReached, UNSATConverged, Budget)`` in that order (the order they are checked).

    Raises
    ------
    ValueError
        Not exactly one rule of each kind, or a ``time_window`` (steps only here).
    """
    from ntkjam.networks import Budget, SATReached, UNSATConverged

    stop = tuple(stop)
    kinds = [type(r) for r in stop]
    if sorted(k.__name__ for k in kinds) != ["Budget", "SATReached", "UNSATConverged"]:
        raise ValueError(
            "stop must hold exactly one SATReached, one UNSATConverged and one Budget rule, "
            f"got {[k.__name__ for k in kinds]}"
        )
    unsat = next(r for r in stop if isinstance(r, UNSATConverged))
    if unsat.time_window is not None:
        raise ValueError(
            f"UNSATConverged.time_window is not supported here (window in steps only), "
            f"got {unsat.time_window}"
        )
    return tuple(next(r for r in stop if isinstance(r, kind))
                 for kind in (SATReached, UNSATConverged, Budget))


def train_to_convergence(
    net,
    params,
    X: object,
    y: object,
    *,
    alpha: float = 1.0,
    margin: float = 1.0,
    lr: float | None = None,
    lr_fraction: float | None = None,
    momentum: float = 0.0,
    stop=None,
    sat_tol: float = 1e-9,
) -> TrainOutcome:
    """Train ``α (f_θ − f_θ₀)`` with the quadratic hinge until a stopping rule fires.

    Parameters
    ----------
    net : ntkjam.networks.MLP
        The network f_θ.
    params : list of (W, b)
        Initial parameters θ₀ (also the reference of the centered output); W of shape
        (fan_in, fan_out), b of shape (fan_out,) or None.
    X : array_like, shape (N, d)
        Training inputs, d = ``net.input_dim``.
    y : array_like, shape (N,)
        ±1 labels.
    alpha : float
        Output scale α > 0.
    margin : float
        κ > 0.
    lr : float, optional
        Fixed step: plain gradient descent ``θ ← θ − lr ∇L``, the dynamics of
        ``ntkjam.networks.train(..., optimizer=GD(lr))``.
    lr_fraction : float, optional
        Tracked step ``lr_t = lr_fraction · N / λ̂_max(K_t)``, with λ̂ from one power
        iteration on the current kernel per step, started from the top eigenvector of
        K_0 (so λ̂ = λ_max(K_0) in the lazy regime).  In (0, 2); 2 is the stability
        limit of the lazy dynamics.  Give exactly one of ``lr`` and ``lr_fraction``.
    momentum : float
        Heavy-ball β in [0, 1): ``m ← β m − lr ∇L``, ``θ ← θ + m``.  0 (default) is
        gradient descent exactly.  Momentum keeps the lazy limit (the weights still
        move by O(1/α)) and converges faster on the ill-conditioned kernels of these
        networks, but it is another dynamics: in the feature regime its verdicts can
        differ from gradient descent's.
    stop : tuple of (SATReached, UNSATConverged, Budget), optional
        The stopping rules of :func:`ntkjam.networks.train`, evaluated as given (checked
        in the order SAT, UNSAT, budget).  Default ``UNSATConverged(window=5000,
        rtol=1e-4, best=True)`` — the *best* loss so far, robust to oscillations — and
        ``Budget(max_steps=200000)``; ``time_window`` is not supported.  (Before the
        loops were unified this function compared the best loss whatever the rule
        said; give ``best=True`` for that rule.)
    sat_tol : float
        A constraint is unsatisfied when ``κ − y_i F_i > sat_tol`` (``unsat_tol`` of
        ``train``).

    Returns
    -------
    TrainOutcome
        ``outputs`` of shape (N,).

    Examples
    --------
    Four points and a width-8 network (32 parameters): the margins are met, SAT.  With
    a fixed step the function-space time is ``lr · steps``:

    >>> from ntkjam.data import random_labels, sphere
    >>> from ntkjam.experiments.convergence import train_to_convergence
    >>> from ntkjam.networks import Budget, SATReached, UNSATConverged
    >>> from ntkjam.networks.mlp import init_params, mlp
    >>> net = mlp(3, 8)
    >>> X, y = sphere(4, 3, seed=1), random_labels(4, seed=2)
    >>> stop = (SATReached(), UNSATConverged(window=100, rtol=1e-4), Budget(max_steps=2000))
    >>> out = train_to_convergence(net, init_params(net, seed=0), X, y, alpha=10.0,
    ...                            lr=1.0, stop=stop)
    >>> out.status, out.n_unsat, out.outputs.shape, out.time == out.steps, out.loss < 1e-12
    (<Status.SAT: 'sat'>, 0, (4,), True, True)
    """
    from ntkjam._validate import as_inputs, as_labels
    from ntkjam.losses import get_loss
    from ntkjam.networks import Budget, SATReached, UNSATConverged
    from ntkjam.networks.loop import CompiledEngine
    from ntkjam.networks.mlp import apply_fn
    from ntkjam.networks.mlp import check_params as check_net_params

    check_net_params(net, params)
    X = as_inputs("X", X, dim=net.input_dim)
    y = as_labels("y", y, n=X.shape[0])  # ±1
    alpha = as_real("alpha", alpha, positive=True)
    margin = as_real("margin", margin, positive=True)
    if (lr is None) == (lr_fraction is None):
        raise ValueError(
            f"give exactly one of lr (fixed step) and lr_fraction (tracked step), got "
            f"lr = {lr!r}, lr_fraction = {lr_fraction!r}"
        )
    if lr_fraction is not None:
        lr_fraction = as_real("lr_fraction", lr_fraction, positive=True)
        if lr_fraction >= 2.0:
            raise ValueError(f"lr_fraction must be < 2 (the stability limit), got {lr_fraction}")
    else:
        lr = as_real("lr", lr, positive=True)
    momentum = as_real("momentum", momentum, nonnegative=True)
    if momentum >= 1.0:
        raise ValueError(f"momentum must be in [0, 1), got {momentum}")
    sat_tol = as_real("sat_tol", sat_tol, nonnegative=True)
    if stop is None:
        stop = (SATReached(), UNSATConverged(window=5_000, rtol=1e-4, best=True),
                Budget(max_steps=200_000))
    stop = _stop_rules(stop)
    loss = get_loss("quadratic_hinge", margin=margin)
    import jax.numpy as jnp  # here: the trained-diagram command's options need no JAX

    Xj, yj = jnp.asarray(X), jnp.asarray(y)
    params = [(jnp.asarray(W), None if b is None else jnp.asarray(b)) for W, b in params]
    opt = _optimizer(net, params, X, lr, lr_fraction, momentum)
    start = time.perf_counter()
    engine = CompiledEngine(net, loss, opt, stop, Xj, yj, apply_fn(net, params, Xj), alpha,
                            sat_tol, params)
    end = engine.advance()
    F = np.asarray(end.outputs)
    seconds = time.perf_counter() - start
    return TrainOutcome(
        status=end.status,
        steps=end.steps,
        time=end.time,  # a fixed step: t = lr · steps exactly, as in ntkjam.networks.train
        loss=end.loss * alpha**2,
        n_unsat=int(np.sum(margin - y * F > sat_tol)),
        lr_initial=float(opt.first_lr),
        lr_final=float(opt.lr(engine.carry.opt_state)),
        params=end.params,
        outputs=F,
        seconds=seconds,
    )


def _optimizer(net, params, X, lr, lr_fraction, momentum):
    """Heavy ball (gradient descent at momentum 0) with a fixed or a tracked step."""
    from ntkjam.networks import empirical_ntk
    from ntkjam.networks.optimizers import momentum as heavy_ball
    from ntkjam.networks.optimizers import tracked_step

    if lr_fraction is not None:
        evals, evecs = np.linalg.eigh(empirical_ntk(net, params, X))
        if not evals[-1] > 0:
            raise ValueError(f"K_0 must have a positive eigenvalue, got λ_max = {evals[-1]}")
        step = tracked_step(lr_fraction, net, X, evecs[:, -1], float(evals[-1]))
    else:
        step = lr
    # Always the heavy-ball form (β = 0 takes gradient descent's steps): the arithmetic of
    # the runs stored before the loops were unified, bit for bit.
    return heavy_ball(step, momentum)


def lr_scale(K0: object) -> float:
    """``N / λ_max(K_0)``: the gradient-descent step at half the lazy stability limit.

    The lazy dynamics ``F_{t+1} = F_t − lr K ∇_F L̃`` with ``∇²_F L̃ ≤ I/N`` is stable
    (and the loss decreases at every step) for ``lr < 2 N / λ_max(K)``.

    Parameters
    ----------
    K0 : array_like, shape (N, N)
        The kernel at initialisation, symmetric.

    Returns
    -------
    float
        ``N / λ_max(K0)``, a scalar.

    Raises
    ------
    ValueError
        ``K0`` has no positive eigenvalue.

    Examples
    --------
    >>> import numpy as np
    >>> from ntkjam.experiments.convergence import lr_scale
    >>> lr_scale(np.diag([1.0, 2.0, 4.0]))  # N = 3, λ_max = 4
    0.75
    """
    K0 = np.asarray(K0, dtype=np.float64)
    top = float(np.linalg.eigvalsh(K0)[-1])
    if not top > 0:
        raise ValueError(f"K_0 must have a positive eigenvalue, got λ_max = {top}")
    return K0.shape[0] / top
