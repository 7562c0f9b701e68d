"""Optimizers as pure ``(init, update)`` pairs with explicit state (optax style).

An :class:`Optimizer` is two pure JAX functions::

    state = opt.init(params)
    updates, state = opt.update(grads, state, params)
    params = apply_updates(params, updates)          # θ + u, leaf by leaf

Both are jit-able and free of Python side effects, so a whole training run can be one
compiled loop (:mod:`ntkjam.networks.loop`).  ``opt.lr(state)`` is the step size the last
``update`` used: the time increment of the function-space dynamics (``t = Σ lr``, see
:func:`ntkjam.networks.train`).

The step size is a float or :func:`tracked_step` (a fraction of the stability limit of
the current kernel, followed by one power iteration per step).

Hyperparameters live in the state as arrays (as optax's ``inject_hyperparams`` does),
and ``update`` is a value-comparable callable (a module-level function or a frozen
dataclass of static fields): two optimizers of the same kind share one compilation of
the training loop whatever their learning rates.  No ``isinstance`` dispatch anywhere:
the training loop only calls ``init``/``update``/``lr``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import jax
import jax.numpy as jnp

from ntkjam._validate import as_real

_map = jax.tree_util.tree_map




# ---------------------------------------------------------------- step sizes
def _constant_next(params, lr):
    """A constant step: the state is the step."""
    return lr, lr


@dataclass(frozen=True)
class _TrackedNext:
    """``lr_t = fraction · N / λ̂_max(K_t)``, one power iteration on K_t = J_t J_tᵀ per step.

    State ``(v, X, fraction)``: the power-iteration vector, the training inputs of the
    kernel and the fraction (arrays, so that one compilation serves every instance).
    """

    net: Any  # ntkjam.networks.MLP (frozen, hashable)

    def __call__(self, params, state):
        from ntkjam.networks.backprop import output_and_pullback
        from ntkjam.networks.mlp import apply_fn

        v, X, fraction = state

        def f(q):
            return apply_fn(self.net, q, X)

        _, pullback = output_and_pullback(self.net, params, X)  # Jᵀ v, the fast layout
        Kv = jax.jvp(f, (params,), (pullback(v),))[1]
        lam = jnp.linalg.norm(Kv)  # ≤ λ_max for a unit v; → λ_max as v converges
        return fraction * X.shape[0] / lam, (Kv / lam, X, fraction)


@dataclass(frozen=True)
class StepSize:
    """A step-size rule: ``next(params, state) -> (lr, state)`` from ``state``.

    ``constant`` says whether the step never changes (then time is ``lr · steps``
    exactly); ``initial`` is the first step (a host float, for reports).

    Parameters
    ----------
    next : callable ``(params, state) -> (lr, state)``
        Pure and jit-able; ``lr`` a scalar.
    state : pytree
        Its initial state.
    initial : float
        The first step.
    constant : bool

    Examples
    --------
    A step that halves after every update (the state is the next step):

    >>> from ntkjam.networks.optimizers import StepSize, gd
    >>> halving = StepSize(next=lambda params, lr: (lr, 0.5 * lr), state=1.0, initial=1.0,
    ...                    constant=False)
    >>> opt = gd(halving)
    >>> state = opt.init([1.0])
    >>> steps = []
    >>> for _ in range(3):
    ...     _, state = opt.update([0.0], state, [1.0])
    ...     steps.append(float(opt.lr(state)))
    >>> steps, opt.fixed_lr                       # not constant: no fixed step
    ([1.0, 0.5, 0.25], None)
    """

    next: Callable[[Any, Any], tuple[Any, Any]]
    state: Any
    initial: float
    constant: bool


def constant_step(lr: float) -> StepSize:
    """The fixed step ``lr``.

    Parameters
    ----------
    lr : float
        > 0, scalar.

    Returns
    -------
    StepSize
        ``constant=True``; its state is ``lr`` (a float64 scalar array).

    Examples
    --------
    >>> from ntkjam.networks.optimizers import constant_step
    >>> step = constant_step(0.1)
    >>> lr, state = step.next(None, step.state)
    >>> float(lr), step.constant, step.initial
    (0.1, True, 0.1)
    """
    lr = as_real("lr", lr, positive=True)
    return StepSize(next=_constant_next, state=jnp.asarray(lr, dtype=jnp.float64),
                    initial=lr, constant=True)


def tracked_step(fraction: float, net, X, v0, lam0: float) -> StepSize:
    """``lr_t = fraction · N / λ̂_max(K_t)`` with λ̂ from one power iteration per step.

    Parameters
    ----------
    fraction : float
        In units of ``N/λ_max`` (2 is the stability limit of the lazy dynamics).
    net : MLP
    X : array (N, d)
        Training inputs (K_t is the unscaled empirical NTK of ``net`` on them).
    v0 : array (N,)
        Start of the power iteration (the top eigenvector of K_0, so that λ̂ = λ_max(K_0)
        in the lazy regime).
    lam0 : float
        λ_max(K_0), for the reported initial step.

    Returns
    -------
    StepSize
        ``constant=False``; state ``(v, X, fraction)``.

    Examples
    --------
    Started on the top eigenvector of K_0, the first step is ``fraction · N / λ_max``:

    >>> import jax
    >>> import numpy as np
    >>> from ntkjam.networks import empirical_ntk, init_params, mlp
    >>> from ntkjam.networks.optimizers import tracked_step
    >>> net, X = mlp(3, 4), np.random.default_rng(1).standard_normal((20, 3))
    >>> params = init_params(net, seed=0)
    >>> lam, V = np.linalg.eigh(empirical_ntk(net, params, X))
    >>> step = tracked_step(1.0, net, X, V[:, -1], lam[-1])
    >>> lr, state = jax.jit(step.next)(params, step.state)   # as inside the training loop
    >>> bool(np.isclose(float(lr), 20 / lam[-1])), bool(np.isclose(step.initial, float(lr)))
    (True, True)
    """
    fraction = as_real("fraction", fraction, positive=True)
    X = jnp.asarray(X)
    state = (jnp.asarray(v0), X, jnp.asarray(fraction, dtype=jnp.float64))
    return StepSize(next=_TrackedNext(net), state=state,
                    initial=fraction * X.shape[0] / lam0, constant=False)


def _as_step(lr) -> StepSize:
    return lr if isinstance(lr, StepSize) else constant_step(lr)


# ---------------------------------------------------------------- optimizers
@dataclass(frozen=True)
class _Update:
    """``update(grads, state, params)`` of every optimizer here: the step size, then the rule.

    State ``(lr, step_state, own_state, hyper)``: the last step, the step size's state,
    the optimizer's own state (momenta) and its hyperparameters (arrays).
    """

    step: Callable  # (params, step_state) -> (lr, step_state)
    rule: Callable  # (grads, own_state, lr, hyper) -> (updates, own_state)

    def __call__(self, grads, state, params):
        _, s_step, s_own, hyper = state
        lr, s_step = self.step(params, s_step)
        updates, s_own = self.rule(grads, s_own, lr, hyper)
        return updates, (jnp.asarray(lr, dtype=jnp.float64), s_step, s_own, hyper)


def _last_lr(state):
    """The step the last ``update`` took (``Optimizer.lr``'s default), a scalar.

    Parameters
    ----------
    state : tuple
        An optimizer state, its first entry the last step.

    Returns
    -------
    jax.Array, shape ()

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> opt, params, grads = gd(0.25), [jnp.zeros(2)], [jnp.ones(2)]
    >>> _, state = opt.update(grads, opt.init(params), params)
    >>> float(opt.lr(state))
    0.25
    """
    return state[0]


@dataclass(frozen=True)
class Optimizer:
    """A pure optimizer.

    Attributes
    ----------
    init : callable ``params -> state``
    update : callable ``(grads, state, params) -> (updates, state)``
        Pure and jit-able; compares by value (it carries only static structure), so it
        can be a static argument of a compiled loop.
    lr : callable ``state -> lr``
        The step the last ``update`` took: the time increment ``dt`` of the dynamics.
    name : str
    args : tuple of (name, value)
        Hyperparameters, for the ``config`` of a result (not compared).
    fixed_lr : float or None
        The step when it is constant (then ``t = lr · steps`` exactly).
    first_lr : float
        The first step.

    Examples
    --------
    Optimizers of one kind compare equal whatever their learning rate, so they share
    one compilation of the training loop:

    >>> from ntkjam.networks.optimizers import Optimizer, gd, momentum
    >>> opt = gd(0.1)
    >>> isinstance(opt, Optimizer), opt.describe(), opt.fixed_lr, opt.pure() is opt
    (True, ('GD', {'lr': 0.1}), 0.1, True)
    >>> gd(0.1) == gd(0.2), gd(0.1) == momentum(0.1, beta=0.0)
    (True, False)
    """

    init: Callable[[Any], Any] = field(compare=False)
    update: Callable[[Any, Any, Any], tuple[Any, Any]]
    lr: Callable[[Any], Any] = field(default=_last_lr)
    name: str = ""
    args: tuple = field(default=(), compare=False)
    fixed_lr: float | None = field(default=None, compare=False)
    first_lr: float = field(default=0.0, compare=False)

    def pure(self) -> Optimizer:
        """Itself: already the pure pair (what ``train`` asks every optimizer for).

        Examples
        --------
        >>> opt = momentum(0.1, beta=0.9)
        >>> opt.pure() is opt
        True
        """
        return self

    def describe(self) -> tuple[str, dict]:
        """``(name, hyperparameters)`` for the ``config`` of a result.

        Examples
        --------
        >>> momentum(0.1, beta=0.9).describe()
        ('Momentum', {'lr': 0.1, 'beta': 0.9})
        """
        return self.name, dict(self.args)


def apply_updates(params, updates):
    """θ + u, leaf by leaf (``None`` leaves, e.g. absent biases, stay ``None``).

    Parameters
    ----------
    params, updates : pytree
        Of the same structure, e.g. lists of ``(W, b)`` with ``W`` (n_in, n_out).

    Returns
    -------
    pytree
        Of the structure of ``params``.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from ntkjam.networks.optimizers import apply_updates
    >>> new = apply_updates([(jnp.ones((2, 1)), None)], [(jnp.full((2, 1), 0.5), None)])
    >>> new[0][0].ravel().tolist(), new[0][1]
    ([1.5, 1.5], None)
    """
    return _map(lambda p, u: p + u, params, updates)


def _make(name, args, step: StepSize, rule, own_init, hyper) -> Optimizer:
    hyper = tuple(jnp.asarray(h, dtype=jnp.float64) for h in hyper)

    def init(params):
        lr0 = jnp.asarray(step.initial, dtype=jnp.float64)
        return (lr0, step.state, own_init(params), hyper)

    return Optimizer(init=init, update=_Update(step.next, rule), name=name, args=args,
                     fixed_lr=step.initial if step.constant else None, first_lr=step.initial)


def _no_state(params):
    return ()


def _zeros_like(params):
    return _map(jnp.zeros_like, params)


def _gd_rule(g, own, lr, hyper):
    return _map(lambda x: -lr * x, g), own


def _momentum_rule(g, m, lr, hyper):
    (beta,) = hyper
    m = _map(lambda mm, b: beta * mm - lr * b, m, g)
    return m, m


def _adam_init(params):
    zeros = _zeros_like(params)
    return (jnp.zeros((), dtype=jnp.int64), zeros, zeros)


def _adam_rule(g, state, lr, hyper):
    b1, b2, eps = hyper
    count, m, v = state
    count = count + 1
    m = _map(lambda mm, x: b1 * mm + (1 - b1) * x, m, g)
    v = _map(lambda vv, x: b2 * vv + (1 - b2) * x**2, v, g)
    c1, c2 = 1 - b1**count, 1 - b2**count
    updates = _map(lambda mm, vv: -(lr * (mm / c1) / (jnp.sqrt(vv / c2) + eps)), m, v)
    return updates, (count, m, v)


def gd(lr) -> Optimizer:
    """Gradient descent ``θ ← θ − lr ∇L`` (``lr`` a float or a :class:`StepSize`).

    Parameters
    ----------
    lr : float or StepSize
        A float is :func:`constant_step` ``(lr)``.

    Returns
    -------
    Optimizer
        No state of its own.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from ntkjam.networks.optimizers import apply_updates, gd
    >>> opt, params, grads = gd(0.1), {"w": jnp.array([1.0, 2.0])}, {"w": jnp.array([1.0, -1.0])}
    >>> updates, state = opt.update(grads, opt.init(params), params)
    >>> jnp.round(apply_updates(params, updates)["w"], 12).tolist(), float(opt.lr(state))
    ([0.9, 2.1], 0.1)
    """
    step = _as_step(lr)
    return _make("GD", (("lr", step.initial),), step, _gd_rule, _no_state, ())


def check_decay(name: str, value: object) -> float:
    """Check a momentum decay rate β ∈ [0, 1) (momentum's β, Adam's β₁ and β₂).

    Parameters
    ----------
    name : str
        The parameter's name, for the message.
    value : float

    Returns
    -------
    float

    Examples
    --------
    >>> from ntkjam.networks.optimizers import check_decay
    >>> check_decay("beta1", 0.9)
    0.9
    >>> check_decay("beta", 1.0)
    Traceback (most recent call last):
    ...
    ValueError: beta must be in [0, 1), got 1.0
    """
    value = as_real(name, value)
    if not 0.0 <= value < 1.0:
        raise ValueError(f"{name} must be in [0, 1), got {value}")
    return value


def momentum(lr, beta: float) -> Optimizer:
    """Heavy ball ``m ← β m − lr ∇L``, ``θ ← θ + m`` (β = 0 takes the steps of :func:`gd`).

    Parameters
    ----------
    lr : float or StepSize
    beta : float
        Decay of the velocity, in [0, 1).

    Returns
    -------
    Optimizer
        Own state: the velocity m (the structure of ``params``).

    Examples
    --------
    Under a constant gradient g the second update is ``−(1 + β) lr g``:

    >>> import jax.numpy as jnp
    >>> from ntkjam.networks.optimizers import momentum
    >>> opt, params, grads = momentum(0.1, beta=0.5), [jnp.zeros(2)], [jnp.ones(2)]
    >>> state = opt.init(params)
    >>> for _ in range(2):
    ...     updates, state = opt.update(grads, state, params)
    >>> jnp.round(updates[0], 12).tolist()
    [-0.15, -0.15]
    """
    beta = check_decay("beta", beta)
    step = _as_step(lr)
    return _make("Momentum", (("lr", step.initial), ("beta", beta)), step, _momentum_rule,
                 _zeros_like, (beta,))


def adam(lr, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8) -> Optimizer:
    """Adam (Kingma & Ba 2015) with bias correction; own state ``(count, m, v)``.

    Parameters
    ----------
    lr : float or StepSize
    beta1, beta2 : float
        Decay rates of the moments, in [0, 1).
    eps : float
        > 0.

    Returns
    -------
    Optimizer

    Examples
    --------
    With bias correction the first step is ``−lr · sign(g)``, whatever the size of g:

    >>> import jax
    >>> import jax.numpy as jnp
    >>> from ntkjam.networks.optimizers import adam
    >>> opt, params = adam(0.01), [jnp.zeros(2)]
    >>> update = jax.jit(opt.update)                  # pure: jit-able
    >>> updates, _ = update([jnp.array([3.0, -1e-3])], opt.init(params), params)
    >>> jnp.round(updates[0], 6).tolist()
    [-0.01, 0.01]
    """
    check_decay("beta1", beta1)
    check_decay("beta2", beta2)
    eps = as_real("eps", eps, positive=True)
    step = _as_step(lr)
    args = (("lr", step.initial), ("beta1", float(beta1)), ("beta2", float(beta2)),
            ("eps", eps))
    return _make("Adam", args, step, _adam_rule, _adam_init, (beta1, beta2, eps))


__all__ = [
    "Optimizer",
    "StepSize",
    "adam",
    "apply_updates",
    "check_decay",
    "constant_step",
    "gd",
    "momentum",
    "tracked_step",
]
