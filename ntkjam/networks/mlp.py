"""Fully-connected networks in JAX with the parameterization of the analytic kernels.

A network is described by an immutable :class:`MLP` (architecture only) and its
parameters are a plain pytree: a list with one ``(W, b)`` tuple per layer,
``W`` of shape ``(n_in, n_out)`` and ``b`` of shape ``(n_out,)`` (``None`` when the
network has no biases).  The last layer is the readout ``Dense(1)``.

Parameterizations (``n_in`` is the fan-in of the layer, ``h⁰ = x``)::

    "ntk"       z^{l+1} = σ_w W^l h^l / √n_l + σ_b b^l,   W, b ~ N(0, 1)
    "standard"  z^{l+1} = W^l h^l + b^l,   W ~ N(0, σ_w²/n_l),  b ~ N(0, σ_b²)

with ``h^l = φ(z^l)`` for hidden layers and ``f(x) = z^{L+1}`` (a scalar).  The
``"ntk"`` convention is neural-tangents' ``stax.Dense(parameterization='ntk')``
and the one of :mod:`ntkjam.kernels.analytic`, so the empirical NTK of an
``"ntk"`` network converges to ``ntkjam.kernels.analytic.ntk`` as the widths grow.
Both parameterizations give the same distribution of functions at
initialisation; they differ in the gradients, hence in the NTK.

Internally every layer computes ``z = c_w h W + c_b b`` with the *multipliers*
``(c_w, c_b) = (σ_w/√n_l, σ_b)`` in the NTK parameterization and ``(1, 1)`` in the
standard one (see :func:`layer_multipliers`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np

from ntkjam._validate import as_choice, as_inputs, as_int, as_real, as_seed
from ntkjam.kernels.activations import Activation, get_activation

PARAMETERIZATIONS = ("ntk", "standard")
DOF_CONVENTIONS = ("weights", "weights_minus_neurons", "jacobian_rank")

Params = list  # list[tuple[jax.Array, jax.Array | None]], one entry per layer


@dataclass(frozen=True)
class MLP:
    """Architecture of a fully-connected network with a scalar output.

    Parameters
    ----------
    input_dim : int
        Input dimension d ≥ 1.
    widths : tuple of int
        Hidden widths ``(n_1, ..., n_L)``, each ≥ 1; ``L`` = depth (0 = linear model).
    activation : Activation
        Elementwise non-linearity (use :func:`mlp` to pass a name).
    sigma_w, sigma_b : float
        Weight and bias scales (σ_w > 0, σ_b ≥ 0).
    bias : bool
        Whether the layers have biases.  In the NTK parameterization biases need
        σ_b > 0 (with σ_b = 0 they would not affect the function).
    parameterization : {"ntk", "standard"}

    Examples
    --------
    >>> from ntkjam.kernels.activations import get_activation
    >>> from ntkjam.networks.mlp import MLP
    >>> net = MLP(input_dim=3, widths=(4, 2), activation=get_activation("relu"))
    >>> net.depth, net.fan_ins, net.fan_outs      # W^l has shape (fan_in, fan_out)
    (2, (3, 4, 2), (4, 2, 1))
    """

    input_dim: int
    widths: tuple[int, ...]
    activation: Activation
    sigma_w: float = math.sqrt(2.0)
    sigma_b: float = 0.0
    bias: bool = False
    parameterization: str = "ntk"

    def __post_init__(self) -> None:
        as_int("input_dim", self.input_dim, minimum=1)
        if not isinstance(self.widths, tuple):
            raise TypeError(f"widths must be a tuple of int, got {self.widths!r}")
        for i, n in enumerate(self.widths):
            as_int(f"widths[{i}]", n, minimum=1)
        if not isinstance(self.activation, Activation):
            raise TypeError(f"activation must be an Activation, got {self.activation!r}")
        as_real("sigma_w", self.sigma_w, positive=True)
        as_real("sigma_b", self.sigma_b, nonnegative=True)
        if not isinstance(self.bias, bool):
            raise TypeError(f"bias must be a bool, got {self.bias!r}")
        as_choice("parameterization", self.parameterization, PARAMETERIZATIONS)
        if self.bias and self.parameterization == "ntk" and self.sigma_b == 0.0:
            raise ValueError(
                "sigma_b must be > 0 when bias=True in the NTK parameterization "
                "(with sigma_b = 0 the biases do not affect the function), got sigma_b = 0.0; "
                "use bias=False or sigma_b > 0"
            )
        if not self.bias and self.sigma_b != 0.0:
            raise ValueError(
                f"sigma_b must be 0 when bias=False (a network without biases has no "
                f"bias variance), got sigma_b = {self.sigma_b}; use bias=True or sigma_b=0"
            )

    @property
    def depth(self) -> int:
        """Number of hidden layers L.

        Examples
        --------
        >>> mlp(3, 8, depth=3).depth, mlp(3, 8, depth=0).depth
        (3, 0)
        """
        return len(self.widths)

    @property
    def fan_ins(self) -> tuple[int, ...]:
        """Fan-in of every layer, readout included: ``(d, n_1, ..., n_L)``.

        Examples
        --------
        >>> mlp(3, [8, 4]).fan_ins
        (3, 8, 4)
        """
        return (self.input_dim, *self.widths)

    @property
    def fan_outs(self) -> tuple[int, ...]:
        """Fan-out of every layer: ``(n_1, ..., n_L, 1)``.

        Examples
        --------
        >>> mlp(3, [8, 4]).fan_outs
        (8, 4, 1)
        """
        return (*self.widths, 1)


def mlp(
    input_dim: int,
    widths: int | Sequence[int],
    *,
    depth: int | None = None,
    activation: str | Activation = "relu",
    sigma_w: float = math.sqrt(2.0),
    sigma_b: float = 0.0,
    bias: bool = False,
    parameterization: str = "ntk",
) -> MLP:
    """Build and validate an :class:`MLP`.

    Parameters
    ----------
    input_dim : int
        Input dimension d.
    widths : int or sequence of int
        Hidden widths; a single int is repeated ``depth`` times.
    depth : int, optional
        Number of hidden layers when ``widths`` is an int (default 1); must agree
        with ``len(widths)`` otherwise.
    activation : str or Activation
        Name understood by :func:`ntkjam.kernels.activations.get_activation`.
    sigma_w, sigma_b, bias, parameterization
        See :class:`MLP`.  The defaults (σ_w = √2, σ_b = 0, no bias, NTK
        parameterization) match the defaults of :mod:`ntkjam.kernels.analytic`.

    Returns
    -------
    MLP

    Examples
    --------
    >>> from ntkjam.networks.mlp import mlp
    >>> mlp(3, 5, depth=2).widths, mlp(3, [8, 4], activation="tanh").activation.name
    ((5, 5), 'tanh')
    >>> mlp(3, 5, bias=True, sigma_b=0.1).bias
    True
    """
    if isinstance(widths, bool):
        raise TypeError(f"widths must be an int or a sequence of int, got {widths!r}")
    if isinstance(widths, (int, np.integer)):
        depth = 1 if depth is None else as_int("depth", depth, minimum=0)
        widths = (int(widths),) * depth
    elif isinstance(widths, Sequence) and not isinstance(widths, str):
        widths = tuple(widths)
        if depth is not None and as_int("depth", depth, minimum=0) != len(widths):
            raise ValueError(
                f"depth must equal len(widths) = {len(widths)} when widths is a sequence, "
                f"got depth = {depth}"
            )
    else:
        raise TypeError(f"widths must be an int or a sequence of int, got {widths!r}")
    return MLP(
        input_dim=input_dim,
        widths=tuple(widths),
        activation=get_activation(activation),
        sigma_w=sigma_w,
        sigma_b=sigma_b,
        bias=bias,
        parameterization=parameterization,
    )


def layer_multipliers(net: MLP) -> list[tuple[float, float]]:
    """The constants ``(c_w, c_b)`` of every layer: ``z = c_w h W + c_b b``.

    ``(σ_w/√n_in, σ_b)`` in the NTK parameterization, ``(1, 1)`` in the standard
    one.  They are the factors that multiply the activation and backward-signal
    Grams in the structured empirical NTK.
    """
    if net.parameterization == "ntk":
        return [(net.sigma_w / math.sqrt(n), net.sigma_b) for n in net.fan_ins]
    return [(1.0, 1.0) for _ in net.fan_ins]


def init_params(net: MLP, seed: int) -> Params:
    """Draw parameters; the same ``seed`` gives bit-identical parameters.

    Parameters
    ----------
    net : MLP
    seed : int
        Seed of ``numpy.random.default_rng`` (≥ 0).

    Returns
    -------
    list of (W, b)
        One pair per layer, readout last: ``W`` of shape ``(n_in, n_out)``, ``b`` of
        shape ``(n_out,)`` or ``None``; float64 JAX arrays.  NTK parameterization: all
        entries N(0, 1); standard: ``W ~ N(0, σ_w²/n_in)``, ``b ~ N(0, σ_b²)``.  Drawn
        with ``numpy.random.default_rng(seed)``, layer by layer (``W`` then ``b``).

    Examples
    --------
    >>> import numpy as np
    >>> from ntkjam.networks.mlp import init_params, mlp
    >>> net = mlp(3, 4)
    >>> params = init_params(net, seed=0)
    >>> [(W.shape, b) for W, b in params], params[0][0].dtype
    ([((3, 4), None), ((4, 1), None)], dtype('float64'))
    >>> bool(np.array_equal(params[0][0], init_params(net, seed=0)[0][0]))  # same seed
    True
    """
    check_net(net)
    rng = np.random.default_rng(as_seed("seed", seed))
    params = []
    for n_in, n_out in zip(net.fan_ins, net.fan_outs, strict=True):
        # Drawn for every layer (biases too) so that a layer's values do not
        # depend on whether the network has biases.
        W = rng.standard_normal((n_in, n_out))
        b = rng.standard_normal(n_out)
        if net.parameterization == "standard":
            W *= net.sigma_w / math.sqrt(n_in)
            b *= net.sigma_b
        params.append((jnp.asarray(W), jnp.asarray(b) if net.bias else None))
    return params


def param_count(net: MLP) -> int:
    """Number of trainable parameters P (weights plus biases, readout included).

    Parameters
    ----------
    net : MLP

    Returns
    -------
    int
        ``P = Σ_l n_l n_{l+1} (+ n_{l+1} with biases)``.

    Examples
    --------
    >>> from ntkjam.networks.mlp import mlp, param_count
    >>> param_count(mlp(3, 4)), param_count(mlp(3, 4, bias=True, sigma_b=0.1))  # 12 + 4 (+ 5)
    (16, 21)
    """
    check_net(net)
    total = 0
    for n_in, n_out in zip(net.fan_ins, net.fan_outs, strict=True):
        total += n_in * n_out + (n_out if net.bias else 0)
    return total


def forward(net: MLP, params: Params, X: jax.Array) -> tuple[list, list]:
    """Pre-activations and layer inputs, for the structured NTK (no validation).

    Returns
    -------
    inputs : list of arrays
        ``h^l`` of shape ``(N, n_l)`` for l = 0..L (``h⁰ = X``): the input of layer l.
    preacts : list of arrays
        ``z^{l+1}`` of shape ``(N, n_{l+1})`` for l = 0..L; the last is ``(N, 1)``.
    """
    phi = net.activation.fn
    h = X
    inputs, preacts = [], []
    for layer, ((W, b), (cw, cb)) in enumerate(zip(params, layer_multipliers(net), strict=True)):
        z = cw * (h @ W)
        if b is not None:
            z = z + cb * b
        inputs.append(h)
        preacts.append(z)
        if layer < net.depth:
            h = phi(z)
    return inputs, preacts


def apply_fn(net: MLP, params: Params, X: jax.Array) -> jax.Array:
    """Network output ``f(X)`` of shape ``(N,)``; JAX-traceable, no validation."""
    return forward(net, params, X)[1][-1][:, 0]


def apply(net: MLP, params: Params, X: object) -> np.ndarray:
    """Network output on the rows of ``X``.

    Parameters
    ----------
    net : MLP
    params : list of (W, b)
        From :func:`init_params` (or trained).
    X : array_like, shape (N, d)

    Returns
    -------
    numpy.ndarray, shape (N,)

    Examples
    --------
    A ReLU network without biases is positively homogeneous in its input:

    >>> import numpy as np
    >>> from ntkjam.networks.mlp import apply, init_params, mlp
    >>> net = mlp(3, 4)
    >>> params = init_params(net, seed=0)
    >>> X = np.random.default_rng(1).standard_normal((5, 3))
    >>> f = apply(net, params, X)
    >>> f.shape, bool(np.allclose(apply(net, params, 2.0 * X), 2.0 * f))
    ((5,), True)
    """
    X = check_inputs(net, params, X)
    return np.asarray(apply_jit(net, params, jnp.asarray(X)))


#: ``apply_fn`` compiled (the network is static): f(X), shape (N,), as a JAX array.
apply_jit = jax.jit(apply_fn, static_argnums=0)


def check_inputs(net: MLP, params: Params, X: object, name: str = "X") -> np.ndarray:
    """Validate ``net``, ``params`` and inputs ``X`` together; return X as float64."""
    check_net(net)
    check_params(net, params)
    return as_inputs(name, X, dim=net.input_dim)


def check_params(net: MLP, params: object) -> None:
    """Raise a clear error if ``params`` does not have the shapes ``net`` needs.

    Every ``W`` and ``b`` must also be real and finite: a ``ValueError`` (NaN or
    inf) or ``TypeError`` (complex) names the offending ``params[l]`` entry.
    """
    if not isinstance(params, (list, tuple)) or len(params) != net.depth + 1:
        raise ValueError(
            f"params must be a list of {net.depth + 1} (W, b) pairs (one per layer, readout "
            f"included), got {type(params).__name__} of length "
            f"{len(params) if isinstance(params, (list, tuple)) else 'n/a'}"
        )
    for layer, (pair, n_in, n_out) in enumerate(
        zip(params, net.fan_ins, net.fan_outs, strict=True)
    ):
        if not isinstance(pair, (list, tuple)) or len(pair) != 2:
            raise ValueError(f"params[{layer}] must be a (W, b) pair, got {pair!r}")
        W, b = pair
        if tuple(np.shape(W)) != (n_in, n_out):
            raise ValueError(
                f"params[{layer}] W must have shape {(n_in, n_out)}, got {tuple(np.shape(W))}"
            )
        if net.bias and (b is None or tuple(np.shape(b)) != (n_out,)):
            shape = None if b is None else tuple(np.shape(b))
            raise ValueError(f"params[{layer}] b must have shape {(n_out,)}, got {shape}")
        if not net.bias and b is not None:
            raise ValueError(f"params[{layer}] b must be None (the network has no biases)")
        for label, leaf in (("W", W), ("b", b)):
            _check_leaf_values(f"params[{layer}] {label}", leaf)


def _check_leaf_values(name: str, leaf: object) -> None:
    """A parameter array must be real and finite (NaN or inf would poison every output)."""
    if leaf is None or isinstance(leaf, jax.core.Tracer):
        return  # inside a trace the values are not known
    arr = np.asarray(leaf)
    if arr.dtype.kind == "c":
        raise TypeError(f"{name} must be real, got complex values (dtype {arr.dtype})")
    if arr.dtype.kind not in "fiub":
        raise TypeError(f"{name} must be a real array, got dtype {arr.dtype}")
    finite = np.isfinite(arr)
    if not finite.all():
        bad = int(finite.size - np.count_nonzero(finite))
        raise ValueError(
            f"{name} must be finite, got {bad} non-finite value(s) (NaN or inf) "
            "in params; re-initialise them (init_params) or use the last finite checkpoint"
        )


def flatten_params(params: Params) -> np.ndarray:
    """All parameters as one vector of length P, in the order of :func:`jacobian` columns.

    Layer by layer: ``W`` (row-major), then ``b``.

    Parameters
    ----------
    params : list of (W, b)
        ``W`` of shape ``(n_in, n_out)``, ``b`` of shape ``(n_out,)`` or ``None``.

    Returns
    -------
    numpy.ndarray, shape (P,)

    Examples
    --------
    >>> import numpy as np
    >>> from ntkjam.networks.mlp import flatten_params, init_params, mlp, param_count
    >>> net = mlp(3, 4)
    >>> params = init_params(net, seed=0)
    >>> theta = flatten_params(params)
    >>> theta.shape == (param_count(net),), bool(np.array_equal(theta[:12], params[0][0].ravel()))
    (True, True)
    """
    leaves = jax.tree_util.tree_leaves(params)
    return np.concatenate([np.asarray(leaf).ravel() for leaf in leaves])


def check_net(net: object) -> None:
    if not isinstance(net, MLP):
        raise TypeError(f"net must be an ntkjam.networks.MLP (see mlp()), got {net!r}")
