"""What the two fluctuation studies compute: their parameters, checks and sweep specs.

* :class:`FluctuationParams`, :func:`check_fluctuations` — the parameters of the
  ``kernel_fluctuations`` task and their defaults, checked against this machine's memory;
* :class:`DiagonalParams`, :func:`check_diagonal` — the same for ``ntk_diagonal_moments``;
* :func:`fluctuation_spec`, :func:`diagonal_spec` — their sweep specs (grids of depth ×
  width [× N]), with :func:`check_sizes` for the size lists and :data:`MAX_TASKS`.

The tasks themselves are in :mod:`ntkjam.experiments.fluctuations`, which re-exports
every name here.
"""

from __future__ import annotations

import math
from typing import Any

from ntkjam._validate import as_int
from ntkjam.core.params import Choice, Int, NonNegativeReal, PositiveInt, PositiveReal, StudyParams
from ntkjam.kernels.activations import BUILTIN

__all__ = [
    "DiagonalParams",
    "FluctuationParams",
    "MAX_TASKS",
    "check_diagonal",
    "check_fluctuations",
    "check_sizes",
    "diagonal_spec",
    "fluctuation_spec",
]

#: Most tasks one fluctuation sweep may hold.
MAX_TASKS = 20_000


class FluctuationParams(StudyParams, study="kernel_fluctuations"):
    """Parameters of the ``kernel_fluctuations`` task (defaults here only).

    ``width`` n of every hidden layer, ``n`` points N ≥ 2 on the sphere of radius
    ``radius`` in R^d (drawn with ``data_seed``), ``depth`` L ≥ 1 hidden layers,
    ``activation``, ``sigma_w``, ``sigma_b`` (biases when > 0), ``n_ens`` networks per task.
    All scalars.

    Examples
    --------
    >>> from ntkjam.experiments.fluctuation_specs import FluctuationParams
    >>> p = FluctuationParams.resolve({"width": 8, "n": 4})  # every default filled in
    >>> p["depth"], p["d"], p["activation"], p["n_ens"]
    (1, 10, 'relu', 1)
    >>> FluctuationParams.resolve({"width": 8, "n": 1})
    Traceback (most recent call last):
    ...
    ValueError: n must be >= 2, got 1
    """

    width: PositiveInt
    n: Int(minimum=2)
    depth: PositiveInt = 1
    d: Int(minimum=2) = 10
    activation: Choice(*BUILTIN) = "relu"
    sigma_w: PositiveReal = math.sqrt(2.0)
    sigma_b: NonNegativeReal = 0.0
    radius: PositiveReal = 1.0
    data_seed: Int(minimum=0) = 0
    n_ens: PositiveInt = 1


class DiagonalParams(StudyParams, study="ntk_diagonal_moments"):
    """Parameters of the ``ntk_diagonal_moments`` task (defaults here only).

    As :class:`FluctuationParams`, with ``n_nets`` networks per task instead of
    ``n_ens`` (N ≥ 1 here).

    Examples
    --------
    >>> from ntkjam.experiments.fluctuation_specs import DiagonalParams
    >>> defaults = DiagonalParams.defaults()  # None: required
    >>> defaults["width"], defaults["n"], defaults["n_nets"]
    (None, 16, 32)
    """

    width: PositiveInt
    depth: PositiveInt = 1
    n: PositiveInt = 16
    d: Int(minimum=2) = 10
    activation: Choice(*BUILTIN) = "relu"
    sigma_w: PositiveReal = math.sqrt(2.0)
    sigma_b: NonNegativeReal = 0.0
    radius: PositiveReal = 1.0
    data_seed: Int(minimum=0) = 0
    n_nets: PositiveInt = 32


def _memory(p: dict[str, Any], n_square: int) -> None:
    from ntkjam.core.limits import check_memory

    n, w, L, d = p["n"], p["width"], p["depth"], p["d"]
    weights = d * w + (L - 1) * w * w + w
    # the (N, N) matrices alive at once, the weights (numpy and JAX copies), the layer
    # activations and backward signals, and the structured kernel's blocks
    nbytes = 8.0 * (n_square * n * n + 3 * weights + 4 * n * w * (L + 1) + 6 * 256 * 256)
    check_memory(nbytes, f"N = {n} points at width {w}, depth {L}", "lower n or width")


def check_fluctuations(params: dict[str, Any]) -> dict[str, Any]:
    """:meth:`FluctuationParams.resolve`, then the memory of one task on this machine.

    Parameters
    ----------
    params : dict
        Task parameters (see :class:`FluctuationParams`).

    Returns
    -------
    dict
        Every parameter, defaults filled in, in field order (the store's key).

    Raises
    ------
    ValueError, TypeError
        A bad or unknown parameter, or a task too large for this machine's memory.

    Examples
    --------
    >>> from ntkjam.experiments.fluctuation_specs import check_fluctuations
    >>> list(check_fluctuations({"width": 8, "n": 4}))[:4]
    ['width', 'n', 'depth', 'd']
    >>> check_fluctuations({"width": 8, "n": 10**6})  # six (N, N) matrices: TiB
    Traceback (most recent call last):
    ...
    ValueError: N = 1000000 points at width 8, depth 1 needs about ... of memory per task, ...
    """
    p = FluctuationParams.resolve(params)
    _memory(p, 6)
    return p


def check_diagonal(params: dict[str, Any]) -> dict[str, Any]:
    """:meth:`DiagonalParams.resolve`, then the memory of one task on this machine.

    Parameters
    ----------
    params : dict
        Task parameters (see :class:`DiagonalParams`).

    Returns
    -------
    dict
        Every parameter, defaults filled in, in field order.

    Raises
    ------
    ValueError, TypeError
        A bad or unknown parameter, or a task too large for this machine's memory.

    Examples
    --------
    >>> from ntkjam.experiments.fluctuation_specs import check_diagonal
    >>> check_diagonal({"width": 8})["n_nets"]
    32
    >>> check_diagonal({"width": 8, "depth": 0})
    Traceback (most recent call last):
    ...
    ValueError: depth must be >= 1, got 0
    """
    p = DiagonalParams.resolve(params)
    _memory(p, 1)
    return p


def check_sizes(values: object, name: str, *, at_least: int = 3, minimum: int = 1) -> list[int]:
    """Integers, strictly increasing, each ≥ ``minimum``, at least ``at_least`` of them.

    Parameters
    ----------
    values : sequence of int, shape (k,)
        The sizes.
    name : str
        The parameter or CLI option, named in the error.
    at_least, minimum : int
        The fewest values, and the smallest value allowed.

    Returns
    -------
    list of int, shape (k,)

    Raises
    ------
    TypeError, ValueError
        Not a sequence of integers, too few, too small, or not strictly increasing.

    Examples
    --------
    >>> from ntkjam.experiments.fluctuation_specs import check_sizes
    >>> check_sizes((64, 128, 256), "widths")
    [64, 128, 256]
    >>> check_sizes([64, 32, 128], "widths")
    Traceback (most recent call last):
    ...
    ValueError: widths must be strictly increasing, got [64, 32, 128] (64 then 32)
    """
    if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
        raise TypeError(f"{name} must be a sequence of integers, got {values!r}")
    sizes = [as_int(name, v, minimum=minimum) for v in values]
    if len(sizes) < at_least:
        raise ValueError(f"{name} must list at least {at_least} values (a fit needs "
                         f"{at_least} sizes), got {len(sizes)}: {sizes}")
    bad = [i for i in range(1, len(sizes)) if sizes[i] <= sizes[i - 1]]
    if bad:
        raise ValueError(f"{name} must be strictly increasing, got {sizes} "
                         f"({sizes[bad[0] - 1]} then {sizes[bad[0]]})")
    return sizes


def _spec(experiment, check, grid, seeds, output, description, params):
    from ntkjam.sweep import parse_spec

    seeds = as_int("seeds", seeds, minimum=1)
    for name in (*grid, "seed"):
        if name in params:
            raise ValueError(f"{name} is a grid axis here; give it through the axis arguments")
    n_tasks = math.prod(len(v) for v in grid.values()) * seeds
    if n_tasks > MAX_TASKS:
        raise ValueError(f"the grid and seeds = {seeds} make {n_tasks} tasks, more than the "
                         f"{MAX_TASKS} one sweep may hold; lower seeds or the sizes")
    last = {k: v[-1] for k, v in grid.items()}
    check({**params, **{k: v[0] for k, v in grid.items()}})
    check({**params, **last})  # the largest task must fit in memory
    data: dict[str, Any] = {"experiment": experiment, "description": description,
                            "params": dict(params), "grid": grid,
                            "seeds": {"count": seeds, "start": 0}}
    if output is not None:
        data["output"] = str(output)
    return parse_spec(data, source=experiment)


def fluctuation_spec(*, depths: object = (1, 3), widths: object = (64, 128, 256, 512),
                     n: object = (100,), seeds: int = 8, output: str | None = None,
                     description: str = "", **params: Any):
    """The sweep spec of ``kernel_fluctuations``: grid depth × width × n, ``seeds`` each.

    Parameters
    ----------
    depths : sequence of int, shape (n_depth,)
        Hidden layers, increasing (any count).
    widths : sequence of int, shape (n_width,)
        Strictly increasing, ≥ 3 values (for the fit in width).
    n : sequence of int, shape (n_n,)
        Points N ≥ 2, increasing.
    seeds : int
        Tasks per grid point (each of ``n_ens`` networks).
    output : str, optional
        Run directory.
    description : str
        The spec's description.
    **params
        The fixed parameters (:class:`FluctuationParams`), no grid axis among them.

    Returns
    -------
    ntkjam.sweep.SweepSpec
        n_depth × n_width × n_n × seeds tasks.

    Examples
    --------
    >>> from ntkjam.experiments.fluctuation_specs import fluctuation_spec
    >>> spec = fluctuation_spec(depths=(1,), widths=(8, 16, 32), n=(4,), seeds=2, d=3)
    >>> spec.experiment, spec.grid, spec.params, spec.n_tasks
    ('kernel_fluctuations', {'depth': (1,), 'width': (8, 16, 32), 'n': (4,)}, {'d': 3}, 6)
    """
    grid = {"depth": check_sizes(depths, "depths", at_least=1),
            "width": check_sizes(widths, "widths"),
            "n": check_sizes(n, "n", at_least=1, minimum=2)}
    return _spec("kernel_fluctuations", check_fluctuations, grid, seeds, output,
                 description or "finite-width NTK fluctuations at initialisation", params)


def diagonal_spec(*, depths: object = (1, 2, 4, 8), widths: object = (32, 64),
                  seeds: int = 4, output: str | None = None, description: str = "",
                  **params: Any):
    """The sweep spec of ``ntk_diagonal_moments``: grid depth × width.

    Parameters
    ----------
    depths : sequence of int, shape (n_depth,)
        Strictly increasing with ≥ 3 values (the fit in β = Σ_l 1/n_l).
    widths : sequence of int, shape (n_width,)
        Increasing (any count).
    seeds : int
        Tasks per grid point (each of ``n_nets`` networks).
    output : str, optional
        Run directory.
    description : str
        The spec's description.
    **params
        The fixed parameters (:class:`DiagonalParams`), no grid axis among them.

    Returns
    -------
    ntkjam.sweep.SweepSpec
        n_depth × n_width × seeds tasks.

    Examples
    --------
    >>> from ntkjam.experiments.fluctuation_specs import diagonal_spec
    >>> spec = diagonal_spec(depths=(1, 2, 4), widths=(8,), seeds=2)
    >>> spec.experiment, spec.grid, spec.n_tasks
    ('ntk_diagonal_moments', {'depth': (1, 2, 4), 'width': (8,)}, 6)
    >>> diagonal_spec(depths=(1, 2), widths=(8,))
    Traceback (most recent call last):
    ...
    ValueError: depths must list at least 3 values (a fit needs 3 sizes), got 2: [1, 2]
    """
    grid = {"depth": check_sizes(depths, "depths"),
            "width": check_sizes(widths, "widths", at_least=1)}
    return _spec("ntk_diagonal_moments", check_diagonal, grid, seeds, output,
                 description or "NTK diagonal moments vs depth/width (Hanin-Nica)", params)
