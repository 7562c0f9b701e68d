"""Sweep specs: a TOML file that expands into tasks (grid point × seed).

A spec names an experiment, its fixed parameters, the grid axes and the seeds::

    experiment = "kernel_summary"         # registered name, or "package.module:function"
    description = "NTK spectra on the sphere"
    output = "runs/kernel_summary"         # relative to the spec file's directory
    seeds = {count = 5, start = 0}         # or a list: seeds = [0, 1, 2]

    [params]                               # the same for every task
    d = 10
    activation = "relu"

    [grid]                                 # one task per point of the product
    n = [50, 100, 200]
    depth = {start = 1, stop = 4, num = 4}            # 1, 2, 3, 4 (ints: start, stop are)
    sigma_b = {start = 0.01, stop = 1.0, num = 3, log = true}

Top-level keys go above the first ``[table]`` header (in TOML, keys after it belong
to that table).

Each task's *key* is the SHA-256 of the canonical JSON of the experiment name,
the fully-resolved parameters (fixed and grid values together) and the seed.  It
does not depend on the order of the axes, on the order in which tasks run, or on
the machine; it is the resume key of the store.  The seed handed to the
experiment is derived from the key (:func:`derive_seed`), so every grid point
and replica gets an independent random stream.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator, model_validator

__all__ = [
    "HASH_SCHEME",
    "MAX_TASKS",
    "RESERVED_NAMES",
    "STORE_COLUMNS",
    "SpecError",
    "SweepSpec",
    "Task",
    "canonical_json",
    "derive_seed",
    "expand",
    "load_spec",
    "parse_spec",
    "task_key",
]

#: Version of the task-key recipe; part of every key so a future change cannot collide.
HASH_SCHEME = 1

#: Most tasks one sweep may hold (grid points × seeds): each is a row of the store and
#: an entry of the task list built before the run; split larger studies into several specs.
MAX_TASKS = 1_000_000

#: Fixed columns of the store, in table order; parameters and measurements may not use them.
STORE_COLUMNS = (
    "hash",
    "experiment",
    "seed",
    "task_seed",
    "status",
    "params",
    "measurements",
    "arrays",
    "error",
    "wall_time",
    "version",
    "git_rev",
    "host",
    "finished_at",
)
RESERVED_NAMES = frozenset(STORE_COLUMNS)

_IDENT = r"[A-Za-z_][A-Za-z0-9_]*"
#: A parameter, axis, measurement or registered-experiment name.
NAME_RE = re.compile(rf"^{_IDENT}\Z")
#: An experiment import path ``package.module:function``.
IMPORT_PATH_RE = re.compile(rf"^{_IDENT}(\.{_IDENT})*:{_IDENT}\Z")

_RANGE_KEYS = ("start", "stop", "num", "log")
_SEED_KEYS = ("count", "start")

_FIELD_HINTS = {
    "experiment": "a registered experiment name such as 'kernel_summary', "
    "or an import path 'package.module:function'",
    "description": "a string",
    "output": "a directory path (a string)",
    "params": "a table of name = value",
    "grid": "a table of axis = [values] or axis = {start, stop, num[, log]}",
    "seeds": "a list of distinct non-negative integers, or {count = 5, start = 0}",
}


class SpecError(ValueError):
    """A spec that cannot be used; the message names the field, the value and what is allowed."""


def _show(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


# ---------------------------------------------------------------------------------------
# canonical form, keys and seeds


def _plain(value: object, where: str) -> object:
    """``value`` as plain JSON data (numpy scalars unwrapped), rejecting what JSON cannot hold."""
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise SpecError(f"{where} must be finite, got {value!r}")
        return value
    if isinstance(value, Mapping):
        out = {}
        for k, v in value.items():
            if not isinstance(k, str):
                raise SpecError(f"{where} must have string keys, got {k!r}")
            out[k] = _plain(v, f"{where}.{k}")
        return out
    if isinstance(value, (list, tuple)):
        return [_plain(v, f"{where}[{i}]") for i, v in enumerate(value)]
    raise SpecError(
        f"{where} must be a string, number, boolean, list or table, got "
        f"{type(value).__name__} {_show(value)}"
    )


def canonical_json(value: object) -> str:
    """Canonical JSON: sorted keys, no spaces, floats as their exact shortest repr.

    ``1`` and ``1.0`` are different values here (an int and a float).
    """
    return json.dumps(
        _plain(value, "value"),
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        allow_nan=False,
    )


def task_key(experiment: str, params: Mapping[str, Any], seed: int) -> str:
    """The stable key of a task: SHA-256 (hex) of its canonical description.

    Parameters
    ----------
    experiment : str
        The experiment reference exactly as written in the spec.
    params : mapping
        Fully-resolved parameters (fixed and grid values together).
    seed : int
        The replica seed from the spec (not the derived one).

    Returns
    -------
    str
        64 hexadecimal characters.
    """
    payload = {
        "scheme": HASH_SCHEME,
        "experiment": experiment,
        "params": dict(params),
        "seed": seed,
    }
    return hashlib.sha256(canonical_json(payload).encode("utf-8")).hexdigest()


def derive_seed(key: str) -> int:
    """The RNG seed handed to a task: 32 bits drawn by ``numpy.random.SeedSequence`` from its key.

    32 bits so that every consumer accepts it (NumPy, JAX without x64, scikit-learn's
    ``random_state``); a task needing more streams spawns them from it, e.g.
    ``np.random.SeedSequence(seed).spawn(k)``.
    """
    if not (isinstance(key, str) and re.fullmatch(r"[0-9a-f]{64}", key)):
        raise ValueError(f"key must be 64 lowercase hex characters (a task key), got {_show(key)}")
    return int(np.random.SeedSequence(int(key, 16)).generate_state(1, np.uint32)[0])


# ---------------------------------------------------------------------------------------
# axes and seeds


def _check_name(name: object, where: str) -> str:
    if not isinstance(name, str) or not NAME_RE.match(name):
        raise SpecError(
            f"{where} name {_show(name)} is not allowed: use letters, digits and '_', "
            "not starting with a digit"
        )
    if name.lower() in RESERVED_NAMES:  # SQLite column names ignore case
        raise SpecError(
            f"{where} name {name!r} is reserved for the store (names ignore case); reserved: "
            f"{', '.join(sorted(RESERVED_NAMES))}"
        )
    return name


_TOP_LEVEL = ("experiment", "description", "output", "params", "grid", "seeds")


def _check_not_top_level(name: str, table: str) -> None:
    # The classic TOML trap: `seeds = [...]` written after a [grid] header is grid.seeds.
    if name in _TOP_LEVEL:
        raise SpecError(
            f"{table}.{name}: {name!r} is a top-level spec field, not a {table} entry; in TOML "
            f"every key after a [{table}] header belongs to that table, so write "
            f"`{name} = ...` above the first [table] header"
        )


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _range_values(axis: str, table: Mapping[str, Any]) -> list[int | float]:
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
        if not _is_number(v) or not math.isfinite(v):
            raise SpecError(f"{where}.{k} must be a finite number, got {_show(v)}")
    if not isinstance(num, int) or isinstance(num, bool) or num < 1:
        raise SpecError(f"{where}.num must be an integer >= 1, got {_show(num)}")
    if num > MAX_TASKS:
        raise SpecError(
            f"{where}.num must be <= {MAX_TASKS} (the most tasks one sweep may hold), got {num}"
        )
    if not isinstance(log, bool):
        raise SpecError(f"{where}.log must be true or false, got {_show(log)}")
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


def _list_values(axis: str, values: list[Any]) -> list[Any]:
    where = f"grid.{axis}"
    if not values:
        raise SpecError(f"{where} must have at least one value, got []")
    out = []
    for i, v in enumerate(values):
        if not isinstance(v, (bool, int, float, str)):
            raise SpecError(
                f"{where}[{i}] must be a number, string or boolean, got {type(v).__name__} "
                f"{_show(v)}"
            )
        if isinstance(v, float) and not math.isfinite(v):
            raise SpecError(f"{where}[{i}] must be finite, got {v!r}")
        out.append(v)
    kinds = {"number" if _is_number(v) else type(v).__name__ for v in out}
    if len(kinds) > 1:
        raise SpecError(
            f"{where} mixes {' and '.join(sorted(kinds))} values ({_show(values)}); "
            "one axis holds one kind of value"
        )
    seen: set[str] = set()
    for v in out:
        c = canonical_json(v)
        if c in seen:
            raise SpecError(f"{where} lists the value {v!r} twice; values must be distinct")
        seen.add(c)
    return out


def _axis_values(axis: str, value: Any) -> tuple[Any, ...]:
    if isinstance(value, Mapping):
        return tuple(_range_values(axis, value))
    if isinstance(value, (list, tuple)):
        return tuple(_list_values(axis, list(value)))
    raise SpecError(
        f"grid.{axis} must be a list of values or a range {{start, stop, num[, log]}}, got "
        f"{_show(value)}"
    )


def _seed_values(value: Any) -> tuple[int, ...]:
    if isinstance(value, Mapping):
        unknown = sorted(set(value) - set(_SEED_KEYS))
        if unknown:
            raise SpecError(
                f"seeds: unknown key {unknown[0]!r}; allowed keys: count, start "
                "(e.g. seeds = {count = 5, start = 0})"
            )
        count, start = value.get("count"), value.get("start", 0)
        if not isinstance(count, int) or isinstance(count, bool) or count < 1:
            raise SpecError(f"seeds.count must be an integer >= 1, got {_show(count)}")
        if not isinstance(start, int) or isinstance(start, bool) or start < 0:
            raise SpecError(f"seeds.start must be an integer >= 0, got {_show(start)}")
        if count > MAX_TASKS:
            raise SpecError(
                f"seeds.count must be <= {MAX_TASKS} (the most tasks one sweep may hold), "
                f"got {count}"
            )
        return tuple(range(start, start + count))
    if isinstance(value, (list, tuple)):
        if not value:
            raise SpecError("seeds must list at least one seed, got []")
        for i, s in enumerate(value):
            if not isinstance(s, int) or isinstance(s, bool) or s < 0:
                raise SpecError(f"seeds[{i}] must be an integer >= 0, got {_show(s)}")
        if len(set(value)) != len(value):
            raise SpecError(f"seeds must be distinct, got {_show(list(value))}")
        return tuple(value)
    raise SpecError(f"seeds must be {_FIELD_HINTS['seeds']}, got {_show(value)}")


# ---------------------------------------------------------------------------------------
# the spec


class SweepSpec(BaseModel):
    """A validated sweep spec.

    Attributes
    ----------
    experiment : str
        Registered experiment name, or import path ``"package.module:function"``.
    description : str
        Free text, stored with the results.
    output : str or None
        Run directory as written in the spec (see :attr:`base_dir`).
    params : dict
        Fixed parameters, the same for every task (plain JSON values).
    grid : dict[str, tuple]
        Axis name → resolved values, in the order written.
    seeds : tuple[int, ...]
        Replica seeds.
    base_dir : str or None
        Directory a relative ``output`` is resolved against (the spec file's directory
        when read from a file; the working directory otherwise).
    """

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    experiment: str
    description: str = ""
    output: str | None = None
    params: dict[str, Any] = {}
    grid: dict[str, tuple[Any, ...]] = {}
    seeds: tuple[int, ...] = (0,)
    base_dir: str | None = None

    @field_validator("experiment")
    @classmethod
    def _experiment(cls, value: str) -> str:
        if not (NAME_RE.match(value) or IMPORT_PATH_RE.match(value)):
            raise ValueError(
                f"must be {_FIELD_HINTS['experiment']}, got {_show(value)}"
            )
        return value

    @field_validator("params", mode="before")
    @classmethod
    def _params(cls, value: Any) -> Any:
        if not isinstance(value, Mapping):
            return value  # pydantic reports the type error
        for name, v in value.items():
            _check_name(name, "params:")
            _check_not_top_level(name, "params")
            _plain(v, f"params.{name}")
        return {k: _plain(v, f"params.{k}") for k, v in value.items()}

    @field_validator("grid", mode="before")
    @classmethod
    def _grid(cls, value: Any) -> Any:
        if not isinstance(value, Mapping):
            return value
        out = {}
        for name, axis in value.items():
            _check_name(name, "grid: axis")
            _check_not_top_level(name, "grid")
            out[name] = _axis_values(name, axis)
        return out

    @field_validator("seeds", mode="before")
    @classmethod
    def _seeds(cls, value: Any) -> Any:
        return _seed_values(value)

    @model_validator(mode="after")
    def _disjoint(self) -> SweepSpec:
        both = sorted(set(self.params) & set(self.grid))
        if both:
            raise ValueError(
                f"{both[0]!r} is both a fixed parameter (params) and a grid axis (grid); "
                "keep it in one of them"
            )
        seen: dict[str, str] = {}
        for name in [*self.params, *self.grid]:
            other = seen.setdefault(name.lower(), name)
            if other != name:
                raise ValueError(
                    f"parameter names {other!r} and {name!r} differ only in case; the store's "
                    "columns ignore case, rename one"
                )
        if self.n_tasks > MAX_TASKS:
            shape = " x ".join(f"{len(v)} {k}" for k, v in self.grid.items())
            raise ValueError(
                f"the grid ({shape or 'one point'}) x {len(self.seeds)} seeds makes "
                f"{self.n_tasks} tasks, more than the {MAX_TASKS} one sweep may hold; split it "
                "into several specs"
            )
        return self

    @property
    def axes(self) -> tuple[str, ...]:
        """Grid axis names, in the order written."""
        return tuple(self.grid)

    @property
    def n_tasks(self) -> int:
        """Number of tasks: product of the axis lengths times the number of seeds."""
        return math.prod(len(v) for v in self.grid.values()) * len(self.seeds)

    def output_dir(self, override: str | Path | None = None) -> Path:
        """The run directory: ``override`` if given, else ``output`` (else ``runs/sweep``).

        A relative path is taken relative to :attr:`base_dir`.
        """
        raw = Path(override) if override is not None else Path(self.output or "runs/sweep")
        if override is None and not raw.is_absolute() and self.base_dir is not None:
            raw = Path(self.base_dir) / raw
        return raw.expanduser().resolve()

    def to_json(self) -> str:
        """The resolved spec as JSON (what the store records)."""
        return json.dumps(
            {
                "experiment": self.experiment,
                "description": self.description,
                "output": self.output,
                "params": self.params,
                "grid": {k: list(v) for k, v in self.grid.items()},
                "seeds": list(self.seeds),
            },
            sort_keys=False,
            ensure_ascii=False,
        )


def _format_errors(exc: ValidationError, source: str) -> str:
    lines = []
    for err in exc.errors(include_url=False):
        loc = ".".join(str(p) for p in err["loc"]) or "spec"
        top = str(err["loc"][0]) if err["loc"] else ""
        kind = err["type"]
        if kind == "missing":
            lines.append(f"field {loc!r} is required: {_FIELD_HINTS.get(top, 'see the docs')}")
        elif kind == "extra_forbidden":
            allowed = ", ".join(k for k in SweepSpec.model_fields if k != "base_dir")
            lines.append(f"unknown field {loc!r} (value {_show(err['input'])}); allowed: {allowed}")
        elif kind == "value_error":
            ctx = err.get("ctx", {}).get("error")
            msg = str(ctx) if ctx is not None else err["msg"]
            plain = isinstance(ctx, SpecError) or not err["loc"]
            lines.append(msg if plain else f"field {loc!r}: {msg}")
        else:
            hint = _FIELD_HINTS.get(top)
            lines.append(
                f"field {loc!r} got {_show(err['input'])}: {err['msg'].lower()}"
                + (f"; allowed: {hint}" if hint else "")
            )
    shown = lines[:3]
    if len(lines) > 3:
        shown.append(f"(and {len(lines) - 3} more)")
    return f"invalid sweep spec {source}: " + "; ".join(shown)


def parse_spec(
    data: Mapping[str, Any], *, source: str = "<mapping>", base_dir: str | Path | None = None
) -> SweepSpec:
    """Validate a spec given as a mapping (the parsed TOML).

    Parameters
    ----------
    data : mapping
        Keys ``experiment`` (required), ``description``, ``output``, ``params``, ``grid``,
        ``seeds``.
    source : str
        Where the spec came from, for error messages.
    base_dir : path, optional
        Directory a relative ``output`` is resolved against (default: working directory).

    Raises
    ------
    SpecError
        Naming the field, the value and what is allowed.
    """
    if not isinstance(data, Mapping):
        raise SpecError(f"invalid sweep spec {source}: expected a table, got {_show(data)}")
    if "base_dir" in data:
        raise SpecError(
            f"invalid sweep spec {source}: unknown field 'base_dir' (it is set from the spec "
            "file's location)"
        )
    payload = dict(data)
    payload["base_dir"] = str(base_dir) if base_dir is not None else None
    try:
        return SweepSpec.model_validate(payload)
    except ValidationError as exc:
        raise SpecError(_format_errors(exc, source)) from None
    except SpecError as exc:
        raise SpecError(f"invalid sweep spec {source}: {exc}") from None


def load_spec(path: str | Path) -> SweepSpec:
    """Read and validate a TOML spec file.

    A relative ``output`` is resolved against the directory of the file; without
    ``output`` the run directory is ``runs/<file name without .toml>`` there.

    The parameters of every grid point are checked by the experiment's ``check``
    function when it is a registered experiment that has one
    (:func:`ntkjam.sweep.registry.check_spec`): a bad ``[params]`` key or value is
    refused here, before any run directory is made.

    Raises
    ------
    SpecError
        Unreadable file, TOML syntax error, or invalid content.
    """
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise SpecError(f"cannot read spec file {str(p)!r}: {exc.strerror or exc}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(f"spec file {str(p)!r} is not valid TOML: {exc}") from None
    if isinstance(data, dict) and "output" not in data:
        data["output"] = f"runs/{p.stem}"
    spec = parse_spec(data, source=repr(str(p)), base_dir=p.resolve().parent)
    from ntkjam.sweep.registry import check_spec

    check_spec(spec, source=repr(str(p)))
    return spec


# ---------------------------------------------------------------------------------------
# tasks


@dataclass(frozen=True)
class Task:
    """One grid point × seed.

    Attributes
    ----------
    experiment : str
        Experiment reference (registered name or import path).
    params : dict
        Fully-resolved parameters: fixed ones and this point's grid values.
    point : dict
        This point's grid values only (axis → value).
    seed : int
        Replica seed from the spec.
    key : str
        Stable task key (:func:`task_key`), the resume key.
    task_seed : int
        Seed handed to the experiment (:func:`derive_seed` of the key).
    """

    experiment: str
    params: dict[str, Any]
    point: dict[str, Any]
    seed: int
    key: str
    task_seed: int


def expand(spec: SweepSpec) -> list[Task]:
    """All tasks of a spec: the product of the axes (in the order written), seeds innermost."""
    names = spec.axes
    tasks = []
    for values in itertools.product(*(spec.grid[a] for a in names)):
        point = dict(zip(names, values, strict=True))
        params = {**spec.params, **point}
        for seed in spec.seeds:
            key = task_key(spec.experiment, params, seed)
            tasks.append(
                Task(
                    experiment=spec.experiment,
                    params=params,
                    point=point,
                    seed=seed,
                    key=key,
                    task_seed=derive_seed(key),
                )
            )
    return tasks
