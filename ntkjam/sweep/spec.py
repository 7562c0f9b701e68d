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

import itertools
import json
import math
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator, model_validator

from ntkjam.core.reprs import SummaryRepr
from ntkjam.sweep.axes import axis_values, check_name, check_not_top_level, seed_values
from ntkjam.sweep.canonical import (
    FIELD_HINTS,
    HASH_SCHEME,
    IMPORT_PATH_RE,
    MAX_TASKS,
    NAME_RE,
    RESERVED_NAMES,
    STORE_COLUMNS,
    SpecError,
    canonical_json,
    derive_seed,
    plain,
    show,
    task_key,
)

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
    "read_spec",
    "parse_spec",
    "task_key",
]






# ---------------------------------------------------------------------------------------
# canonical form, keys and seeds


# ---------------------------------------------------------------------------------------
# axes and seeds


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

    Examples
    --------
    >>> from ntkjam import sweep
    >>> spec = sweep.parse_spec({"experiment": "kernel_summary", "params": {"d": 3},
    ...                          "grid": {"n": [4, 8, 16]}, "seeds": {"count": 2}})
    >>> spec.experiment, spec.grid, spec.seeds
    ('kernel_summary', {'n': (4, 8, 16)}, (0, 1))
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
                f"must be {FIELD_HINTS['experiment']}, got {show(value)}"
            )
        return value

    @field_validator("params", mode="before")
    @classmethod
    def _params(cls, value: Any) -> Any:
        if not isinstance(value, Mapping):
            return value  # pydantic reports the type error
        for name, v in value.items():
            check_name(name, "params:")
            check_not_top_level(name, "params")
            plain(v, f"params.{name}")
        return {k: plain(v, f"params.{k}") for k, v in value.items()}

    @field_validator("grid", mode="before")
    @classmethod
    def _grid(cls, value: Any) -> Any:
        if not isinstance(value, Mapping):
            return value
        out = {}
        for name, axis in value.items():
            check_name(name, "grid: axis")
            check_not_top_level(name, "grid")
            out[name] = axis_values(name, axis)
        return out

    @field_validator("seeds", mode="before")
    @classmethod
    def _seeds(cls, value: Any) -> Any:
        return seed_values(value)

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
        """Grid axis names, in the order written.

        Examples
        --------
        >>> parse_spec({"experiment": "kernel_summary", "grid": {"n": [4], "d": [2, 3]}}).axes
        ('n', 'd')
        """
        return tuple(self.grid)

    @property
    def n_tasks(self) -> int:
        """Number of tasks: product of the axis lengths times the number of seeds.

        Examples
        --------
        >>> parse_spec({"experiment": "kernel_summary", "grid": {"n": [4, 8], "d": [2, 3, 5]},
        ...             "seeds": {"count": 4}}).n_tasks
        24
        """
        return math.prod(len(v) for v in self.grid.values()) * len(self.seeds)

    def output_dir(self, override: str | Path | None = None) -> Path:
        """The run directory: ``override`` if given, else ``output`` (else ``runs/sweep``).

        A relative path is taken relative to :attr:`base_dir`.

        Parameters
        ----------
        override : str or Path, optional
            A directory given on the command line (relative to the working directory).

        Returns
        -------
        Path
            Absolute.

        Examples
        --------
        >>> spec = parse_spec({"experiment": "kernel_summary", "output": "run1"},
        ...                   base_dir="study")
        >>> spec.output_dir().parts[-2:], spec.output_dir("elsewhere").name
        (('study', 'run1'), 'elsewhere')
        >>> parse_spec({"experiment": "kernel_summary"}).output_dir().parts[-2:]
        ('runs', 'sweep')
        """
        raw = Path(override) if override is not None else Path(self.output or "runs/sweep")
        if override is None and not raw.is_absolute() and self.base_dir is not None:
            raw = Path(self.base_dir) / raw
        return raw.expanduser().resolve()

    def to_json(self) -> str:
        """The resolved spec as JSON (what the store records), without ``base_dir``.

        Examples
        --------
        >>> import json
        >>> spec = parse_spec({"experiment": "kernel_summary", "grid": {"n": [4, 8]},
        ...                    "seeds": {"count": 2}})
        >>> json.loads(spec.to_json())
        {'experiment': 'kernel_summary', 'description': '', 'output': None, 'params': {},
         'grid': {'n': [4, 8]}, 'seeds': [0, 1]}
        """
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
            lines.append(f"field {loc!r} is required: {FIELD_HINTS.get(top, 'see the docs')}")
        elif kind == "extra_forbidden":
            allowed = ", ".join(k for k in SweepSpec.model_fields if k != "base_dir")
            lines.append(f"unknown field {loc!r} (value {show(err['input'])}); allowed: {allowed}")
        elif kind == "value_error":
            ctx = err.get("ctx", {}).get("error")
            msg = str(ctx) if ctx is not None else err["msg"]
            plain = isinstance(ctx, SpecError) or not err["loc"]
            lines.append(msg if plain else f"field {loc!r}: {msg}")
        else:
            hint = FIELD_HINTS.get(top)
            lines.append(
                f"field {loc!r} got {show(err['input'])}: {err['msg'].lower()}"
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

    Examples
    --------
    >>> from ntkjam import sweep
    >>> spec = sweep.parse_spec({"experiment": "kernel_summary", "params": {"d": 3},
    ...                          "grid": {"n": {"start": 4, "stop": 16, "num": 3}}})
    >>> spec.grid["n"], len(sweep.expand(spec))
    ((4, 10, 16), 3)
    >>> sweep.parse_spec({"experiment": "kernel_summary", "grid": {"n": []}})
    Traceback (most recent call last):
    ...
    ntkjam.sweep.canonical.SpecError: ...grid.n must have at least one value, got []...
    """
    if not isinstance(data, Mapping):
        raise SpecError(f"invalid sweep spec {source}: expected a table, got {show(data)}")
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


def read_spec(path: str | Path) -> SweepSpec:
    """Read and validate a TOML spec file (its syntax and fields; see ``load_spec``).

    A relative ``output`` is resolved against the directory of the file; without
    ``output`` the run directory is ``runs/<file name without .toml>`` there.

    The experiment's own parameter checks are not run here (this module knows no
    experiments): :func:`ntkjam.sweep.load_spec` reads *and* checks.

    Raises
    ------
    SpecError
        Unreadable file, TOML syntax error, or invalid content.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from ntkjam import sweep
    >>> path = Path(tempfile.mkdtemp(), "kernel.toml")
    >>> _ = path.write_text('experiment = "kernel_summary"\\n'
    ...                     '[params]\\nd = 3\\n[grid]\\nn = [4, 8]\\n')
    >>> spec = sweep.read_spec(path)
    >>> spec.grid, Path(spec.output).name  # output defaults to runs/<file name>
    ({'n': (4, 8)}, 'kernel')
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
    return parse_spec(data, source=repr(str(p)), base_dir=p.resolve().parent)


# ---------------------------------------------------------------------------------------
# tasks


@dataclass(frozen=True, repr=False)
class Task(SummaryRepr):
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

    Examples
    --------
    >>> from ntkjam import sweep
    >>> spec = sweep.parse_spec({"experiment": "kernel_summary", "params": {"d": 3},
    ...                          "grid": {"n": [4, 8]}})
    >>> task = sweep.expand(spec)[1]
    >>> task.point, task.params["d"], task.seed, len(task.key)
    ({'n': 8}, 3, 0, 64)
    """

    experiment: str
    params: dict[str, Any]
    point: dict[str, Any]
    seed: int
    key: str
    task_seed: int


def expand(
    spec: SweepSpec,
    *,
    resolve: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
    scheme: int | None = None,
) -> list[Task]:
    """All tasks of a spec: the product of the axes (in the order written), seeds innermost.

    Parameters
    ----------
    spec : SweepSpec
    resolve : callable, optional
        The experiment's resolver (params → params with defaults filled in); with key
        scheme 2 the tasks carry, and are keyed on, the resolved params.  The registry
        passes the registered one (:func:`ntkjam.sweep.registry.expand_spec`).
    scheme : {1, 2}, optional
        Key scheme; default :data:`HASH_SCHEME`.  Scheme 1 (stores written before)
        keys on the params as given and ignores ``resolve``.

    Notes
    -----
    The key decides what is stored and skipped: keyed on the resolved params, a spec
    that leaves a parameter at its default and one that writes the default out are the
    same task, and a changed default is a new one.  The RNG seed handed to the task is
    derived from the scheme-1 key of the params as given, so results are bit-identical
    to those of stores written before (the seed is stored with each row).

    Examples
    --------
    Axes in the order written, seeds innermost; every task has its own key and seed:

    >>> from ntkjam import sweep
    >>> spec = sweep.parse_spec({"experiment": "kernel_summary", "params": {"d": 3},
    ...                          "grid": {"n": [4, 8]}, "seeds": [0, 1]})
    >>> tasks = sweep.expand(spec)
    >>> [(t.point["n"], t.seed) for t in tasks]
    [(4, 0), (4, 1), (8, 0), (8, 1)]
    >>> len({t.key for t in tasks}), len({t.task_seed for t in tasks})
    (4, 4)
    """
    scheme = HASH_SCHEME if scheme is None else scheme
    names = spec.axes
    tasks = []
    for values in itertools.product(*(spec.grid[a] for a in names)):
        point = dict(zip(names, values, strict=True))
        given = {**spec.params, **point}
        params = given
        if scheme >= 2 and resolve is not None:
            params = plain(resolve(dict(given)), "resolved params")
        for seed in spec.seeds:
            key = task_key(spec.experiment, params, seed, scheme=scheme)
            # The task's RNG seed still follows the params as the spec gives them (the
            # scheme-1 key), so a spec's results do not change with the key scheme.
            seed_key = key if scheme == 1 else task_key(spec.experiment, given, seed, scheme=1)
            tasks.append(
                Task(
                    experiment=spec.experiment,
                    params=params,
                    point=point,
                    seed=seed,
                    key=key,
                    task_seed=derive_seed(seed_key),
                )
            )
    return tasks
