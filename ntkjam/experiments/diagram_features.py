"""The two computed feature sources of the phase diagram: Taylor prefix, network Jacobian.

:func:`taylor_prefix` gives the first P Taylor features of the Gaussian kernel in graded
order (the ``"taylor_features"`` source); :func:`network_features` the Jacobian of a
one-hidden-layer ReLU network with its output and dead inputs (``"ntk_jacobian"``).
Used by :func:`ntkjam.experiments.phase_diagram.build_problem`.
"""

from __future__ import annotations

import numpy as np

__all__ = ["network_features", "taylor_prefix"]


def taylor_prefix(X: np.ndarray, P: int, lengthscale: float) -> np.ndarray:
    """The first P Taylor features (graded order) of the smallest sufficient degree.

    Parameters
    ----------
    X : ndarray, shape (N, d)
        Inputs.
    P : int
        Number of features, ≥ 1.
    lengthscale : float
        Of the Gaussian kernel, > 0.

    Returns
    -------
    ndarray, shape (N, P)
        float64, C-contiguous.

    Raises
    ------
    ValueError
        P needs a degree above 64.

    Examples
    --------
    In d = 3 degree ≤ 1 has 4 features and degree ≤ 2 has 10, so P = 7 takes the
    first 4 (degrees 0 and 1) and three of degree 2:

    >>> import numpy as np
    >>> from ntkjam.data import sphere
    >>> from ntkjam.experiments.diagram_features import taylor_prefix
    >>> from ntkjam.kernels.features import taylor_features
    >>> X = sphere(6, 3, seed=0)
    >>> J = taylor_prefix(X, 7, 1.0)
    >>> J.shape, bool(np.allclose(J[:, :4], taylor_features(X, 1, lengthscale=1.0)))
    ((6, 7), True)
    """
    from ntkjam.kernels.features import taylor_feature_count, taylor_features

    d = X.shape[1]
    degree = 0
    while taylor_feature_count(d, degree) < P:
        degree += 1
        if degree > 64:
            raise ValueError(f"P = {P} Taylor features need a degree above 64 in d = {d}")
    return np.ascontiguousarray(taylor_features(X, degree, lengthscale=lengthscale)[:, :P])


def network_features(X: np.ndarray, width: int, *, sigma_w: float, sigma_b: float,
                     seed: int) -> tuple[np.ndarray, np.ndarray, int]:
    """Jacobian, output and dead-input count of a one-hidden-layer ReLU network.

    NTK parameterization; biases only when ``sigma_b > 0``.

    Parameters
    ----------
    X : ndarray, shape (N, d)
        Inputs.
    width : int
        Hidden units n.
    sigma_w, sigma_b : float
        Weight and bias scales.
    seed : int
        Seed of the initial parameters.

    Returns
    -------
    J : ndarray, shape (N, P)
        ∂f(x_i)/∂θ, P = n (d + 1) without biases.
    f : ndarray, shape (N,)
        The network's output at initialisation.
    n_dead : int
        Inputs with a zero Jacobian row or every hidden unit inactive.

    Examples
    --------
    Each ReLU unit's rescaling symmetry removes one direction: the rank of J is at
    most P − n = 12 − 3 = 9:

    >>> import numpy as np
    >>> from ntkjam.data import sphere
    >>> from ntkjam.experiments.diagram_features import network_features
    >>> J, f, n_dead = network_features(sphere(20, 3, seed=0), 3, sigma_w=2**0.5,
    ...                                 sigma_b=0.0, seed=0)
    >>> J.shape, f.shape, int(np.linalg.matrix_rank(J)), n_dead  # one input sees no unit
    ((20, 12), (20,), 9, 1)
    """
    from ntkjam.networks import apply, dead_inputs, init_params, jacobian, mlp

    d = X.shape[1]
    net = mlp(d, width, activation="relu", sigma_w=sigma_w, sigma_b=sigma_b,
              bias=sigma_b > 0)
    params = init_params(net, seed)
    J = jacobian(net, params, X)
    f_net = np.asarray(apply(net, params, X), dtype=np.float64).reshape(-1)
    dead = dead_inputs(net, params, X)
    n_dead = int(np.union1d(dead.zero_rows, dead.first_layer_inactive).size)
    return J, f_net, n_dead
