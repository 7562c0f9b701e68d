"""The grid axes and the seeds of a spec: lists, ranges ``{start, stop, num[, log]}``, counts."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from ntkjam.sweep.canonical import (
    FIELD_HINTS,
    MAX_TASKS,
    NAME_RE,
    RESERVED_NAMES,
    SpecError,
    canonical_json,
    show,
)

__all__ = ["axis_values", "check_name", "check_not_top_level", "is_number", "seed_values"]


_RANGE_KEYS = ("start", "stop", "num", "log")


_SEED_KEYS = ("count", "start")


def check_name(name: object, where: str) -> str:
    """``name`` if it may name a grid axis or a parameter, else a :class:`SpecError`.

    Parameters
    ----------
    name : object
        The candidate: letters, digits and ``_``, not starting with a digit, and not one
        of the reserved column names of the store.
    where : str
        What the name is for (``"grid"``, ``"params"``), for the message.

    Returns
    -------
    str

    Examples
    --------
    >>> from ntkjam.sweep import SpecError
    >>> from ntkjam.sweep.axes import check_name
    >>> check_name("n_points", "grid")
    'n_points'
    >>> try:
    ...     check_name("n-points", "grid")
    ... except SpecError as err:
    ...     print(str(err).split(":")[0])
    grid name 'n-points' is not allowed
    """
    if not isinstance(name, str) or not NAME_RE.match(name):
        raise SpecError(
            f"{where} name {show(name)} is not allowed: use letters, digits and '_', "
            "not starting with a digit"
        )
    if name.lower() in RESERVED_NAMES:  # SQLite column names ignore case
        raise SpecError(
            f"{where} name {name!r} is reserved for the store (names ignore case); reserved: "
            f"{', '.join(sorted(RESERVED_NAMES))}"
        )
    return name


_TOP_LEVEL = ("experiment", "description", "output", "params", "grid", "seeds")


def check_not_top_level(name: str, table: str) -> None:
    # The classic TOML trap: `seeds = [...]` written after a [grid] header is grid.seeds.
    """Refuse a ``table`` entry named like a top-level spec field.

    ``seeds = [...]`` written after a ``[grid]`` header is, in TOML, ``grid.seeds``: the
    classic trap, refused with a :class:`SpecError` that says so.

    Parameters
    ----------
    name : str
        The entry's name.
    table : str
        The table it was found in (``"grid"`` or ``"params"``).

    Examples
    --------
    >>> from ntkjam.sweep import SpecError
    >>> from ntkjam.sweep.axes import check_not_top_level
    >>> check_not_top_level("n", "grid")  # fine: returns None
    >>> try:
    ...     check_not_top_level("seeds", "grid")  # `seeds = ...` written under [grid]
    ... except SpecError:
    ...     print("refused")
    refused
    """
    if name in _TOP_LEVEL:
        raise SpecError(
            f"{table}.{name}: {name!r} is a top-level spec field, not a {table} entry; in TOML "
            f"every key after a [{table}] header belongs to that table, so write "
            f"`{name} = ...` above the first [table] header"
        )


def is_number(value: object) -> bool:
    """Whether ``value`` is an int or a float (a bool is not a number here).

    Parameters
    ----------
    value : object

    Returns
    -------
    bool

    Examples
    --------
    >>> from ntkjam.sweep.axes import is_number
    >>> is_number(3), is_number(0.5), is_number(True), is_number("3")
    (True, True, False, False)
    """
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _task_count(where: str, value: Any) -> int:
    """``value`` checked as a number of tasks: an integer in ``[1, MAX_TASKS]``."""
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise SpecError(f"{where} must be an integer >= 1, got {show(value)}")
    if value > MAX_TASKS:
        raise SpecError(
            f"{where} must be <= {MAX_TASKS} (the most tasks one sweep may hold), got {value}"
        )
    return value


def range_values(axis: str, table: Mapping[str, Any]) -> list[int | float]:
    where = f"grid.{axis}"
    unknown = sorted(set(table) - set(_RANGE_KEYS))
    if unknown:
        raise SpecError(
            f"{where}: unknown key {unknown[0]!r} in a range; allowed keys: start, stop, num, log"
        )
    for k in ("start", "stop", "num"):
        if k not in table:
            raise SpecError(f"{where}: a range needs {k!r} (keys: start, stop, num, log)")
    start, stop, num = table["start"], table["stop"], table["num"]
    log = table.get("log", False)
    for k, v in (("start", start), ("stop", stop)):
        if not is_number(v) or not math.isfinite(v):
            raise SpecError(f"{where}.{k} must be a finite number, got {show(v)}")
    _task_count(f"{where}.num", num)
    if not isinstance(log, bool):
        raise SpecError(f"{where}.log must be true or false, got {show(log)}")
    if num == 1 and start != stop:
        raise SpecError(f"{where}: num = 1 needs start == stop, got start={start}, stop={stop}")
    if log:
        if not (start > 0 and stop > 0):
            raise SpecError(
                f"{where}: a log range needs start > 0 and stop > 0, got start={start}, stop={stop}"
            )
        raw = np.geomspace(start, stop, num)
    else:
        raw = np.linspace(start, stop, num)
    # The end points are exactly what the user wrote, whatever the rounding inside.
    raw[0], raw[-1] = start, stop
    if isinstance(start, int) and isinstance(stop, int):
        values: list[int | float] = [int(round(float(v))) for v in raw]
        if len(set(values)) != len(values):
            raise SpecError(
                f"{where}: integer range {start}..{stop} with num={num} repeats values after "
                f"rounding ({values}); use fewer points, or write start/stop as floats "
                f"(e.g. {float(start)}) to get float values"
            )
        return values
    return [float(v) for v in raw]


def list_values(axis: str, values: list[Any]) -> list[Any]:
    where = f"grid.{axis}"
    if not values:
        raise SpecError(f"{where} must have at least one value, got []")
    out = []
    for i, v in enumerate(values):
        if not isinstance(v, (bool, int, float, str)):
            raise SpecError(
                f"{where}[{i}] must be a number, string or boolean, got {type(v).__name__} "
                f"{show(v)}"
            )
        if isinstance(v, float) and not math.isfinite(v):
            raise SpecError(f"{where}[{i}] must be finite, got {v!r}")
        out.append(v)
    kinds = {"number" if is_number(v) else type(v).__name__ for v in out}
    if len(kinds) > 1:
        raise SpecError(
            f"{where} mixes {' and '.join(sorted(kinds))} values ({show(values)}); "
            "one axis holds one kind of value"
        )
    seen: set[str] = set()
    for v in out:
        c = canonical_json(v)
        if c in seen:
            raise SpecError(f"{where} lists the value {v!r} twice; values must be distinct")
        seen.add(c)
    return out


def axis_values(axis: str, value: Any) -> tuple[Any, ...]:
    """The values of grid axis ``axis``: a list as written, or a range table expanded.

    Parameters
    ----------
    axis : str
        The axis name (for messages).
    value : list or mapping
        A non-empty list of values, or a table ``{start, stop, num[, log]}`` /
        ``{start, stop, step}`` expanded to a list.

    Returns
    -------
    tuple, shape (n_values,)

    Raises
    ------
    SpecError
        Naming ``grid.<axis>``, the value and what is allowed.

    Examples
    --------
    >>> from ntkjam.sweep.axes import axis_values
    >>> axis_values("n", [4, 8]), axis_values("n", {"start": 1, "stop": 100, "num": 3, "log": True})
    ((4, 8), (1, 10, 100))
    """
    if isinstance(value, Mapping):
        return tuple(range_values(axis, value))
    if isinstance(value, (list, tuple)):
        return tuple(list_values(axis, list(value)))
    raise SpecError(
        f"grid.{axis} must be a list of values or a range {{start, stop, num[, log]}}, got "
        f"{show(value)}"
    )


def seed_values(value: Any) -> tuple[int, ...]:
    """The seeds of a spec: a list of ints, or a table ``{count[, start]}``.

    Parameters
    ----------
    value : list or mapping

    Returns
    -------
    tuple of int, shape (n_seeds,)

    Raises
    ------
    SpecError
        Naming ``seeds``, the value and what is allowed.

    Examples
    --------
    >>> from ntkjam.sweep.axes import seed_values
    >>> seed_values([3, 1]), seed_values({"count": 3}), seed_values({"start": 10, "count": 2})
    ((3, 1), (0, 1, 2), (10, 11))
    """
    if isinstance(value, Mapping):
        unknown = sorted(set(value) - set(_SEED_KEYS))
        if unknown:
            raise SpecError(
                f"seeds: unknown key {unknown[0]!r}; allowed keys: count, start "
                "(e.g. seeds = {count = 5, start = 0})"
            )
        count, start = value.get("count"), value.get("start", 0)
        _task_count("seeds.count", count)
        if not isinstance(start, int) or isinstance(start, bool) or start < 0:
            raise SpecError(f"seeds.start must be an integer >= 0, got {show(start)}")
        return tuple(range(start, start + count))
    if isinstance(value, (list, tuple)):
        if not value:
            raise SpecError("seeds must list at least one seed, got []")
        for i, s in enumerate(value):
            if not isinstance(s, int) or isinstance(s, bool) or s < 0:
                raise SpecError(f"seeds[{i}] must be an integer >= 0, got {show(s)}")
        if len(set(value)) != len(value):
            raise SpecError(f"seeds must be distinct, got {show(list(value))}")
        return tuple(value)
    raise SpecError(f"seeds must be {FIELD_HINTS['seeds']}, got {show(value)}")
