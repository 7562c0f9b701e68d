"""The lazy-regime problem of a finite network: its Jacobian (or empirical NTK) at θ₀.

Linearising the network around its parameters θ₀ gives the features of an
:class:`ntkjam.problem.Problem`; the jamming solvers then decide SAT/UNSAT exactly.
"""

from __future__ import annotations

import numpy as np

from ntkjam._validate import as_choice, as_real
from ntkjam.networks.empirical_ntk import empirical_ntk, jacobian
from ntkjam.networks.mlp import MLP, Params, apply, check_inputs
from ntkjam.problem import from_features, from_kernel

__all__ = ["lazy_problem"]


def lazy_problem(
    net: MLP,
    params: Params,
    X: object,
    y: object,
    *,
    margin: float = 1.0,
    alpha: float = 1.0,
    centered: bool = True,
    use: str = "kernel",
    rtol: float | None = None,
):
    """The lazy-regime SAT/UNSAT problem of a network at ``params``.

    Linearising ``F = α (f_θ − f_θ₀)`` around θ₀ (``α f_θ`` if not ``centered``), the
    reachable outputs are ``f0 + range(J)`` with ``f0 = 0`` (centered) or
    ``α f_θ₀(X)``; the features are scaled by α, which does not change the range.

    Parameters
    ----------
    net, params : the network and the linearisation point
    X : array_like, shape (N, d)
    y : array_like, shape (N,), ±1
    margin, alpha, centered : see :func:`ntkjam.networks.train`
    use : {"kernel", "jacobian"}
        Build the problem from the structured empirical NTK ``α² K`` (memory N²; rank
        resolved from its eigenvalues, i.e. to about √eps relative in singular
        values) or from the Jacobian ``α J`` (memory N P; sharper rank).
    rtol : float, optional
        Rank tolerance passed to :class:`ntkjam.problem.Problem`.

    Returns
    -------
    ntkjam.problem.Problem
        Kernel ``K`` (N, N) or features ``J`` (N, P), offset ``f0`` (N,), labels and margin.

    Examples
    --------
    Three points are far below the capacity of P = 64 parameters: the lazy network fits
    them (the exact solvers of :mod:`ntkjam.jamming` say so with a certificate).

    >>> import numpy as np
    >>> from ntkjam.data import random_labels, sphere
    >>> from ntkjam.jamming import sat_unsat
    >>> from ntkjam.networks import init_params, mlp
    >>> from ntkjam.networks.lazy import lazy_problem
    >>> net, X, y = mlp(3, 16), sphere(3, 3, seed=0), random_labels(3, seed=1)
    >>> params = init_params(net, seed=0)
    >>> problem = lazy_problem(net, params, X, y)
    >>> problem.K.shape, problem.rank, sat_unsat(problem)
    ((3, 3), 3, 'sat')
    >>> lazy_problem(net, params, X, y, use="jacobian").J.shape       # (N, P)
    (3, 64)
    >>> bool(np.allclose(lazy_problem(net, params, X, y, alpha=2.0).K, 4 * problem.K))
    True
    """
    X = check_inputs(net, params, X)
    alpha = as_real("alpha", alpha, positive=True)
    use = as_choice("use", use, ("kernel", "jacobian"))
    if not isinstance(centered, bool):
        raise TypeError(f"centered must be a bool, got {centered!r}")
    f0 = np.zeros(X.shape[0]) if centered else alpha * apply(net, params, X)
    if use == "kernel":
        return from_kernel(alpha**2 * empirical_ntk(net, params, X), y, f0=f0, margin=margin,
                           rtol=rtol)
    return from_features(alpha * jacobian(net, params, X), y, f0=f0, margin=margin, rtol=rtol)
