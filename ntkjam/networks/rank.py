"""What a network can move: the rank of its Jacobian, degrees of freedom, dead inputs.

Kept apart from :mod:`ntkjam.networks.mlp` (the network) and
:mod:`ntkjam.networks.empirical_ntk` (its kernel), which both sit below this module:
counting needs the Jacobian, and the network never needs the count.

Notation: N points, P parameters; ``J`` (N, P) is the Jacobian ∂f(x_i)/∂θ_p.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from ntkjam._validate import as_choice, as_int, as_real
from ntkjam.core.reprs import SummaryRepr
from ntkjam.linalg import RankReport, rank_report
from ntkjam.networks.empirical_ntk import empirical_ntk_diagonal, jacobian
from ntkjam.networks.mlp import (
    DOF_CONVENTIONS,
    MLP,
    Params,
    check_inputs,
    check_net,
    forward,
    param_count,
)

__all__ = [
    "DeadInputs",
    "dead_inputs",
    "degrees_of_freedom",
    "expected_jacobian_rank",
    "jacobian_rank",
    "numerical_rank",
]


def degrees_of_freedom(
    net: MLP,
    convention: str,
    *,
    params: Params | None = None,
    X: object = None,
    rtol: float | None = None,
) -> int:
    """Count the degrees of freedom of ``net`` under a named convention.

    Parameters
    ----------
    net : MLP
    convention : {"weights", "weights_minus_neurons", "jacobian_rank"}
        ``"weights"``: P, all parameters.
        ``"weights_minus_neurons"``: P minus the number of hidden neurons, the
        count used by Geiger, Spigler et al. for ReLU networks, whose per-neuron
        rescaling symmetry (input weights × c, output weights / c) removes one
        direction per hidden neuron from the tangent space.  It is a convention:
        it is computed for any activation.
        ``"jacobian_rank"``: the numerical rank of the Jacobian ``J`` (N, P) on
        the inputs ``X`` at ``params`` (both required); the count that actually
        bounds the rank of the empirical NTK.
    params : list of (W, b), optional
    X : array_like, shape (N, d), optional
    rtol : float, optional
        Relative singular-value cutoff for ``"jacobian_rank"`` (see
        :func:`ntkjam.linalg.rank_report`).

    Returns
    -------
    int

    Examples
    --------
    One ReLU layer of width 4 on d = 3: P = 16 weights, one rescaling per neuron:

    >>> import numpy as np
    >>> from ntkjam.networks import init_params, mlp
    >>> from ntkjam.networks.rank import degrees_of_freedom
    >>> net, X = mlp(3, 4), np.random.default_rng(1).standard_normal((20, 3))
    >>> params = init_params(net, seed=0)
    >>> [degrees_of_freedom(net, c) for c in ("weights", "weights_minus_neurons")]
    [16, 12]
    >>> degrees_of_freedom(net, "jacobian_rank", params=params, X=X)
    12
    """
    convention = as_choice("convention", convention, DOF_CONVENTIONS)
    P = param_count(net)
    if convention == "weights":
        return P
    if convention == "weights_minus_neurons":
        return P - sum(net.widths)
    if params is None or X is None:
        raise ValueError(
            "convention 'jacobian_rank' needs params and X (the rank depends on both), "
            f"got params={'None' if params is None else 'given'}, "
            f"X={'None' if X is None else 'given'}"
        )
    return numerical_rank(net, params, X, rtol=rtol)



def jacobian_rank(
    net: MLP, params: Params, X: object, *, rtol: float | None = None, atol: float | None = None
) -> RankReport:
    """Numerical rank of the Jacobian (N, P), with its singular values and gap.

    Computed from the singular values of ``J`` itself (not of ``K = J Jᵀ``, which
    would square the condition number and blur the null directions left by the
    symmetries).  Cost O(N P min(N, P)) and ``8 N P`` bytes.

    Parameters
    ----------
    net : MLP
    params : list of (W, b)
    X : array_like, shape (N, d)
    rtol, atol : float, optional
        Relative and absolute singular-value cutoffs (see :func:`ntkjam.linalg.rank_report`).

    Returns
    -------
    ntkjam.linalg.RankReport
        ``rank``, the cutoff, the ``min(N, P)`` singular values and the gap across the
        cutoff.

    Examples
    --------
    The 4 rescaling directions of a ReLU layer are exact null directions of J (N, P):

    >>> import numpy as np
    >>> from ntkjam.networks import init_params, mlp
    >>> from ntkjam.networks.rank import jacobian_rank
    >>> net, X = mlp(3, 4), np.random.default_rng(1).standard_normal((20, 3))
    >>> report = jacobian_rank(net, init_params(net, seed=0), X)
    >>> report.rank, report.singular_values.shape, bool(report.gap > 1e8)   # clear-cut
    (12, (16,), True)
    """
    return rank_report(jacobian(net, params, X), rtol=rtol, atol=atol)


def numerical_rank(
    net: MLP, params: Params, X: object, *, rtol: float | None = None, atol: float | None = None
) -> int:
    """Numerical rank of the Jacobian of ``net`` at ``params`` on ``X`` (an int).

    Parameters
    ----------
    net : MLP
    params : list of (W, b)
    X : array_like, shape (N, d)
    rtol, atol : float, optional
        As for :func:`jacobian_rank`.

    Returns
    -------
    int
        ``jacobian_rank(...).rank``, at most ``min(N, P)``.

    Examples
    --------
    >>> import numpy as np
    >>> from ntkjam.networks import init_params, mlp
    >>> from ntkjam.networks.rank import numerical_rank
    >>> net, X = mlp(3, 4), np.random.default_rng(1).standard_normal((20, 3))
    >>> params = init_params(net, seed=0)
    >>> numerical_rank(net, params, X), numerical_rank(net, params, X[:5])  # min(N, 12)
    (12, 5)
    """
    return jacobian_rank(net, params, X, rtol=rtol, atol=atol).rank


def _activation_kind(net: MLP) -> str:
    """"linear", "homogeneous" (φ(cz) = cφ(z) for c > 0, e.g. ReLU) or "generic"."""
    z = np.linspace(-3.0, 3.0, 13)
    phi = net.activation.fn
    f1 = np.asarray(phi(z), dtype=float)
    homogeneous = all(
        np.allclose(np.asarray(phi(c * z), dtype=float), c * f1, rtol=1e-12, atol=1e-12)
        for c in (0.5, 2.0, 3.0)
    )
    if not homogeneous:
        return "generic"
    # A positively homogeneous φ is linear iff φ(-1) = -φ(1).
    linear = np.isclose(float(np.asarray(phi(-1.0))), -float(np.asarray(phi(1.0))), atol=1e-12)
    return "linear" if linear else "homogeneous"


def expected_jacobian_rank(net: MLP, n_points: int) -> int:
    """Generic rank of the Jacobian (N, P) on ``n_points`` points in general position.

    * depth 0, or a linear activation (``identity``): the network is an affine
      function of x, every ∂f/∂θ_p is affine in x, so the rank is
      ``min(N, d + [bias])``.
    * positively homogeneous non-linear activation (ReLU, leaky ReLU): each hidden
      neuron's rescaling (input weights and bias × c, output weights / c) is a
      null direction of J, so the rank is ``min(N, P − Σ_l n_l)``.  **Exact for one
      hidden layer** (with or without biases; verified numerically).  For deeper
      nets it is an upper bound, attained when the inputs are rich enough (e.g.
      d = 20, widths (12, 12), N = 10 P); narrow deep nets in low input
      dimension lose more directions: a unit that is never active on the data
      removes its fan-in, bias and fan-out instead of one direction, a group of m
      units that are always active behaves like a linear layer (a GL(m) rather
      than a rescaling symmetry), and low-dimensional inputs leave some
      activation patterns unexplored.  See ``docs/networks.md``.
    * other activations (tanh, erf, gelu, softplus): no continuous symmetry, the
      generic rank is ``min(N, P)`` (verified numerically for these).

    Parameters
    ----------
    net : MLP
    n_points : int
        N ≥ 1.

    Returns
    -------
    int

    Examples
    --------
    >>> from ntkjam.networks import mlp
    >>> from ntkjam.networks.rank import expected_jacobian_rank
    >>> [expected_jacobian_rank(mlp(3, 4, activation=a), 100)
    ...  for a in ("relu", "tanh", "identity")]      # P − n_1, P, d  (P = 16)
    [12, 16, 3]
    >>> expected_jacobian_rank(mlp(3, 4), 5)         # never more than N
    5
    """
    check_net(net)
    n = as_int("n_points", n_points, minimum=1)
    kind = _activation_kind(net) if net.depth else "linear"
    if kind == "linear":
        return min(n, net.input_dim + int(net.bias))
    if kind == "homogeneous":
        return min(n, param_count(net) - sum(net.widths))
    return min(n, param_count(net))


# ---------------------------------------------------------------------------
# dead inputs


@dataclass(frozen=True, repr=False)
class DeadInputs(SummaryRepr):
    """Training points the network cannot move, or cannot tell apart.

    Attributes
    ----------
    zero_rows : numpy.ndarray of int
        Points whose Jacobian row vanishes (``K(x, x) <= rtol * max_i K(x_i, x_i)``):
        gradient descent never changes ``f`` there, so an unsatisfied constraint
        on such a point can never be fitted.
    first_layer_inactive : numpy.ndarray of int
        Points at which every first-layer unit has ``φ'(z¹) = 0`` (for ReLU: all
        units inactive).  The backward signal into the first layer is zero and
        the output does not depend on the input; without biases these are also
        ``zero_rows``.
    n_points : int
        N.

    Examples
    --------
    >>> import numpy as np
    >>> from ntkjam.networks.rank import DeadInputs
    >>> dead = DeadInputs(zero_rows=np.array([1]), first_layer_inactive=np.array([1]),
    ...                   n_points=2)
    >>> dead.any, dead.message()
    (True, '1/2 points with a zero Jacobian row, 1/2 with every first-layer unit inactive')
    """

    zero_rows: np.ndarray
    first_layer_inactive: np.ndarray
    n_points: int

    @property
    def any(self) -> bool:
        """Whether any point is dead in either sense.

        Examples
        --------
        >>> none = np.array([], dtype=int)
        >>> DeadInputs(zero_rows=none, first_layer_inactive=none, n_points=3).any
        False
        >>> DeadInputs(zero_rows=none, first_layer_inactive=np.array([2]), n_points=3).any
        True
        """
        return bool(self.zero_rows.size or self.first_layer_inactive.size)

    def message(self) -> str:
        """One line for logs and CLI output.

        Examples
        --------
        >>> none = np.array([], dtype=int)
        >>> DeadInputs(zero_rows=none, first_layer_inactive=np.array([0, 2]), n_points=4).message()
        '0/4 points with a zero Jacobian row, 2/4 with every first-layer unit inactive'
        """
        return (
            f"{self.zero_rows.size}/{self.n_points} points with a zero Jacobian row, "
            f"{self.first_layer_inactive.size}/{self.n_points} with every first-layer "
            "unit inactive"
        )


@partial(jax.jit, static_argnums=0)
def _first_layer_slope(net: MLP, params: Params, X: jax.Array) -> jax.Array:
    _, preacts = forward(net, params, X)
    return jnp.max(jnp.abs(net.activation.derivative(preacts[0])), axis=1)


def dead_inputs(net: MLP, params: Params, X: object, *, rtol: float = 1e-12) -> DeadInputs:
    """Detect dead training points (see :class:`DeadInputs`).

    Parameters
    ----------
    net : MLP
    params : list of (W, b)
    X : array_like, shape (N, d)
    rtol : float
        Relative threshold on the NTK diagonal for a "zero" Jacobian row.

    Returns
    -------
    DeadInputs

    Examples
    --------
    A single ReLU unit without bias is off at x or at −x: that point cannot be moved.

    >>> import numpy as np
    >>> from ntkjam.networks import init_params, mlp
    >>> from ntkjam.networks.rank import dead_inputs
    >>> net, x = mlp(2, 1), np.array([1.0, 0.5])
    >>> dead = dead_inputs(net, init_params(net, seed=0), np.stack([x, -x]))
    >>> dead.zero_rows.size, bool(np.array_equal(dead.zero_rows, dead.first_layer_inactive))
    (1, True)
    """
    X = check_inputs(net, params, X)
    rtol = as_real("rtol", rtol, nonnegative=True)
    diag = empirical_ntk_diagonal(net, params, X)
    zero = np.flatnonzero(diag <= rtol * max(float(np.max(diag)), np.finfo(float).tiny))
    if net.depth == 0:
        inactive = np.zeros(0, dtype=np.int64)
    else:
        slope = np.asarray(_first_layer_slope(net, params, jnp.asarray(X)))
        inactive = np.flatnonzero(slope == 0.0)
    return DeadInputs(zero_rows=zero, first_layer_inactive=inactive, n_points=X.shape[0])
