"""Does weight-space training follow the function-space dynamics?  A check in small steps.

:func:`check_function_space` trains with plain SGD steps of size ``lr`` and compares the
outputs with the function-space prediction ``f_{t+1} = f_t − lr K_t ∇L``; the relative
error is O(lr) (docs/networks.md).
"""

from __future__ import annotations

from dataclasses import dataclass

import jax.numpy as jnp
import numpy as np

from ntkjam._validate import as_int, as_real
from ntkjam.core.deprecation import DeprecatedNames, renamed_keywords
from ntkjam.core.reprs import SummaryRepr
from ntkjam.losses import Loss
from ntkjam.networks.empirical_ntk import empirical_ntk
from ntkjam.networks.mlp import MLP, Params, apply_fn
from ntkjam.networks.training import check_training_inputs, loss_objective, sgd_step

__all__ = ["FunctionSpaceCheck", "check_function_space"]

# ------------------------------------------------------------ function-space consistency


@dataclass(frozen=True, repr=False)
class FunctionSpaceCheck(DeprecatedNames, SummaryRepr):
    """Discrepancy between a weight-space GD step and its function-space prediction.

    Attributes
    ----------
    lr : float
        Step size η (``.eta``: its deprecated alias, one release).
    relative_error : numpy.ndarray, shape (n_steps,)
        ``‖(F_{t+1} − F_t) − (−η K_t ∇_F L̃)‖ / ‖F_{t+1} − F_t‖`` at each step; O(η).

    Examples
    --------
    >>> import numpy as np
    >>> from ntkjam.networks.function_space import FunctionSpaceCheck
    >>> check = FunctionSpaceCheck(lr=0.1, relative_error=np.array([0.01, 0.03]))
    >>> round(check.mean, 12), check.relative_error.shape
    (0.02, (2,))
    """

    _renamed = {"eta": "lr"}  # old field name, read with a DeprecationWarning
    lr: float
    relative_error: np.ndarray

    @property
    def mean(self) -> float:
        """Mean relative error over the steps.

        Examples
        --------
        >>> FunctionSpaceCheck(lr=0.1, relative_error=np.array([0.25, 0.75])).mean
        0.5
        """
        return float(np.mean(self.relative_error))


@renamed_keywords(eta="lr")
def check_function_space(
    net: MLP,
    params: Params,
    X: object,
    y: object,
    *,
    lr: float,
    n_steps: int = 5,
    loss: str | Loss = "mse",
    margin: float = 1.0,
    alpha: float = 1.0,
    centered: bool = True,
) -> FunctionSpaceCheck:
    """Compare gradient-descent steps in weight space with ``−η K_t ∇_F L̃``.

    Runs ``n_steps`` steps of :class:`GD` with learning rate ``lr`` = η (same loss, α and
    centering as :func:`train`) and, at each, measures the relative distance
    between the actual change of the outputs and the function-space step built
    from the empirical NTK at the current parameters.  For a smooth network the
    error is the second-order term of the Taylor expansion, so it scales like η
    (it is also O(1/α)).  ``eta=``, the old name of ``lr``, warns (one release).

    Parameters
    ----------
    net : MLP
    params : list of (W, b)
        Starting parameters θ₀.
    X : array_like, shape (N, d)
    y : array_like, shape (N,)
    lr : float
        Step size η > 0.
    n_steps : int
        Number of steps (≥ 1).
    loss, margin, alpha, centered
        As for :func:`ntkjam.networks.train`.

    Returns
    -------
    FunctionSpaceCheck
        ``relative_error`` of shape ``(n_steps,)``.

    Examples
    --------
    Ten times smaller steps follow the function-space dynamics ten times more closely:

    >>> from ntkjam.data import random_labels, sphere
    >>> from ntkjam.networks import init_params, mlp
    >>> from ntkjam.networks.function_space import check_function_space
    >>> net, X, y = mlp(3, 16), sphere(3, 3, seed=0), random_labels(3, seed=1)
    >>> params = init_params(net, seed=0)
    >>> coarse, fine = (check_function_space(net, params, X, y, lr=lr) for lr in (0.1, 0.01))
    >>> coarse.relative_error.shape, bool(coarse.mean < 1e-2), round(coarse.mean / fine.mean)
    ((5,), True, 11)
    """
    X, loss_obj, y, alpha = check_training_inputs(net, params, X, y, loss=loss, margin=margin,
                                                  alpha=alpha, centered=centered)
    lr = as_real("lr", lr, positive=True)
    n_steps = as_int("n_steps", n_steps, minimum=1)
    Xj, yj = jnp.asarray(X), jnp.asarray(y)
    f_ref = apply_fn(net, params, Xj) if centered else jnp.zeros(X.shape[0])
    evaluate = loss_objective(net, loss_obj, alpha, Xj, yj, f_ref)
    n = X.shape[0]
    errors = []
    _, F, g = evaluate(params)
    for _ in range(n_steps):
        K = empirical_ntk(net, params, X)
        grad_F = np.asarray(loss_obj.grad(np.asarray(F), y)) / n
        predicted = -lr * K @ grad_F
        params = sgd_step(params, g, lr)
        _, F_new, g = evaluate(params)
        actual = np.asarray(F_new) - np.asarray(F)
        errors.append(np.linalg.norm(actual - predicted) / np.linalg.norm(actual))
        F = F_new
    return FunctionSpaceCheck(lr=lr, relative_error=np.array(errors))
