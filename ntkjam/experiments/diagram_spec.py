"""The sweep spec of a phase diagram: size axes × φ = N/P, ``seeds`` replicas per point.

Shared by :func:`ntkjam.experiments.phase_diagram.phase_diagram_spec` (grid P × φ) and
:func:`ntkjam.experiments.trained.trained_spec` (grid P × α × φ): the axes are checked,
the task count is bounded, and the experiment's own ``check`` runs on the smallest and
the largest task (the smallest must have a point, the largest must fit in memory)
before the spec is made.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ntkjam._validate import as_int, as_real
from ntkjam.sweep.spec import MAX_TASKS, parse_spec

__all__ = ["as_axis", "diagram_spec", "phi_range"]


def as_axis(
    name: str, values: object, convert: Callable[[str, Any], Any], *, item: str = "value",
    kind: str = "integers",
) -> list:
    """The values of one grid axis, each ``convert(name, value)``: at least one, distinct.

    Parameters
    ----------
    name : str
        The axis (for the messages).
    values : sequence
    convert : callable
        ``convert(name, value) -> value``, raising on a bad value.
    item, kind : str
        What one value is ("size", "value") and what the sequence holds ("integers",
        "numbers"), for the messages.

    Returns
    -------
    list, shape (len(values),)
        The converted values, in the order given.

    Raises
    ------
    TypeError
        ``values`` is a string or not a sequence, or a value has the wrong type.
    ValueError
        No value, a repeated one, or one that ``convert`` refuses.

    Examples
    --------
    >>> from ntkjam._validate import as_int
    >>> from ntkjam.experiments.diagram_spec import as_axis
    >>> size = lambda k, v: as_int(k, v, minimum=1)
    >>> as_axis("P", (100, 50), size, item="size")  # order kept; the spec sorts it
    [100, 50]
    >>> as_axis("P", [50, 50], size, item="size")
    Traceback (most recent call last):
    ...
    ValueError: P must not repeat a size, got [50, 50]
    """
    if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
        raise TypeError(f"{name} must be a sequence of {kind}, got {values!r}")
    out = [convert(name, v) for v in values]
    if not out:
        raise ValueError(f"{name} must list at least one {item}, got an empty list")
    if len(set(out)) != len(out):
        raise ValueError(f"{name} must not repeat a {item}, got {out}")
    return out


def phi_range(phi_min: object, phi_max: object, phi_num: object) -> tuple[float, float, int]:
    """``(phi_min, phi_max, phi_num)`` checked: a range of φ = N/P for ``linspace``.

    Parameters
    ----------
    phi_min, phi_max : float
        The smallest and largest φ (> 0, finite), scalars.
    phi_num : int
        How many values of φ (≥ 1).

    Returns
    -------
    (float, float, int)
        ``(phi_min, phi_max, phi_num)`` converted.

    Raises
    ------
    ValueError, TypeError
        φ not finite or ≤ 0, ``phi_max < phi_min``, ``phi_num < 1``, one value with
        ``phi_min != phi_max`` or several with ``phi_min == phi_max``.

    Examples
    --------
    >>> from ntkjam.experiments.diagram_spec import phi_range
    >>> phi_range(1, 3, 5)  # φ = 1, 1.5, …, 3 once spaced by linspace
    (1.0, 3.0, 5)
    >>> phi_range(1, 3, 1)
    Traceback (most recent call last):
    ...
    ValueError: phi_num = 1 needs phi_min == phi_max, got 1.0 and 3.0
    """
    phi_min = as_real("phi_min", phi_min, positive=True)
    phi_max = as_real("phi_max", phi_max, positive=True)
    phi_num = as_int("phi_num", phi_num, minimum=1)
    if phi_max < phi_min:
        raise ValueError(f"phi_max must be >= phi_min = {phi_min}, got {phi_max}")
    if phi_num == 1 and phi_max != phi_min:
        raise ValueError(
            f"phi_num = 1 needs phi_min == phi_max, got {phi_min} and {phi_max}"
        )
    if phi_num > 1 and phi_max == phi_min:
        raise ValueError(f"phi_num = {phi_num} needs phi_max > phi_min, got both {phi_min}")
    return phi_min, phi_max, phi_num


def diagram_spec(
    experiment: str,
    check: Callable[[dict[str, Any]], object],
    *,
    axes: Sequence[tuple[str, list, str]],
    phi: tuple[object, object, object],
    seeds: object,
    params: dict[str, Any],
    output: str | None,
    description: str,
    source: str,
):
    """The spec of a phase diagram of ``experiment``: the product of ``axes`` and φ.

    Parameters
    ----------
    experiment : str
        Registered experiment name.
    check : callable
        Its parameter check; run on the smallest task (first axis at its minimum, φ at
        ``phi_min``) and the largest (first axis at its maximum, φ at ``phi_max``), the
        other axes at their first value.
    axes : sequence of (name, values, plural)
        The grid axes before φ, values checked (:func:`as_axis`); ``plural`` names them
        in the task count ("sizes", "alphas").  Each axis is sorted in the spec.
    phi : (phi_min, phi_max, phi_num)
        ``linspace(phi_min, phi_max, phi_num)`` rounded to 12 decimals (see
        :func:`phi_range`); ``[phi_min]`` for one value.
    seeds : int
        Replicas per grid point (≥ 1): seeds 0, …, seeds − 1.
    params : dict
        Fixed task parameters; no grid axis among them.
    output : str, optional
        Run directory.
    description, source : str
        The spec's description, and where it comes from (for the messages).

    Returns
    -------
    ntkjam.sweep.SweepSpec
        Grid ``{name: sorted values, …, "phi": (phi_num,) values}``; its task count is
        the product of the axis lengths, ``phi_num`` and ``seeds``.

    Examples
    --------
    Two sizes × five values of φ × two seeds, checked with the phase diagram's check:

    >>> from ntkjam.experiments.diagram_spec import diagram_spec
    >>> from ntkjam.experiments.phase_diagram import check_params
    >>> spec = diagram_spec("phase_diagram", check_params, axes=[("P", [100, 50], "sizes")],
    ...                     phi=(1.0, 3.0, 5), seeds=2, params={}, output=None,
    ...                     description="demo", source="example")
    >>> spec.grid, spec.n_tasks
    ({'P': (50, 100), 'phi': (1.0, 1.5, 2.0, 2.5, 3.0)}, 20)
    """
    phi_min, phi_max, phi_num = phi_range(*phi)
    seeds = as_int("seeds", seeds, minimum=1)
    names = [name for name, _, _ in axes]
    for name in (*names, "phi"):
        if name in params:
            raise ValueError(f"{name} is a grid axis here; give it through the axis arguments")
    n_tasks = math.prod(len(values) for _, values, _ in axes) * phi_num * seeds
    if n_tasks > MAX_TASKS:
        counts = "".join(f"{len(values)} {plural} x " for _, values, plural in axes)
        raise ValueError(
            f"{counts}phi_num = {phi_num} x seeds = {seeds} make {n_tasks} tasks, more than "
            f"the {MAX_TASKS} one sweep may hold; lower phi_num or seeds"
        )
    first, *others = axes
    fixed = {**params, **{name: values[0] for name, values, _ in others}}
    check({**fixed, first[0]: min(first[1]), "phi": phi_min})
    check({**fixed, first[0]: max(first[1]), "phi": phi_max})
    phis = [phi_min]
    if phi_num > 1:
        phis = [float(v) for v in np.round(np.linspace(phi_min, phi_max, phi_num), 12)]
    data: dict[str, Any] = {
        "experiment": experiment,
        "description": description,
        "params": dict(params),
        "grid": {**{name: sorted(values) for name, values, _ in axes}, "phi": phis},
        "seeds": {"count": seeds, "start": 0},
    }
    if output is not None:
        data["output"] = str(output)
    return parse_spec(data, source=source)
