"""Experiments by name: a registry of task functions, plus import paths.

An experiment is a plain function ``task(params: dict, seed: int) -> dict``.  It returns
scalar measurements (numbers, strings, booleans, None) and, optionally, named NumPy
arrays under the key ``"arrays"``; the sweep engine stores the scalars in the table and
the arrays in ``.npz`` files.  Register one with::

    from ntkjam.sweep.registry import register

    @register("my_experiment")
    def my_experiment(params, seed):
        ...
        return {"loss": loss, "arrays": {"spectrum": eigenvalues}}

An experiment may also give a ``check`` function, ``check(params) -> params``, which
raises ``ValueError``/``TypeError`` on bad parameters (unknown names, out-of-range
values, a task too large for the machine); :func:`check_spec` runs it on every grid
point of a spec *before* anything is written, so a bad spec is refused in one line
instead of failing in every task::

    @register("my_experiment", check=my_check_params)

A spec names it either by its registered name or by an import path
``"package.module:function"`` (imported with :mod:`importlib`; nothing is evaluated).
Registered names are found by importing the :mod:`ntkjam.experiments` package (by
name, with importlib: infrastructure never imports a study), whose modules register
themselves.
"""

from __future__ import annotations

import importlib
import importlib.util
import itertools
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ntkjam.sweep.spec import IMPORT_PATH_RE as _IMPORT_PATH
from ntkjam.sweep.spec import NAME_RE as _NAME
from ntkjam.sweep.spec import SpecError, SweepSpec, expand, read_spec

__all__ = ["Experiment", "check_spec", "get", "names", "register", "resolve"]

Experiment = Callable[[dict[str, Any], int], dict[str, Any]]

_REGISTRY: dict[str, Experiment] = {}
_CHECKS: dict[str, Callable[[dict[str, Any]], object]] = {}
_RESOLVERS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {}

#: Experiment identifiers recorded in existing run directories whose code has moved:
#: the identifier (part of every task key there) stays, the function is found here.
LEGACY_PATHS = {
    "ntkjam.spectrum.experiment:spectrum_task": "ntkjam.experiments.spectrum:spectrum_task",
}
_BUILTIN_MODULES = ("ntkjam.experiments",)
_resolved: dict[str, Experiment] = {}


def register(
    name: str,
    *,
    check: Callable[[dict[str, Any]], object] | None = None,
    resolve: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
) -> Callable[[Experiment], Experiment]:
    """Decorator registering ``func`` as experiment ``name``.

    ``check``, if given, validates a task's parameters (see :func:`check_spec`); it may
    depend on the machine (e.g. a memory estimate).  ``resolve``, if given, is pure:
    params → params with every default filled in and values normalised; the store keys
    tasks on its output (key scheme 2), so changing a default never mixes results.

    Raises
    ------
    ValueError
        If ``name`` is not an identifier, or is already taken by another function.

    Examples
    --------
    Names must be identifiers (the registered experiments are in :mod:`ntkjam.experiments`):

    >>> from ntkjam import sweep
    >>> try:
    ...     sweep.register("not a name")
    ... except ValueError as err:
    ...     print(str(err).split(",")[0])
    experiment name must be an identifier (letters
    """
    if not isinstance(name, str) or not _NAME.match(name):
        raise ValueError(
            f"experiment name must be an identifier (letters, digits, '_'), got {name!r}"
        )
    if check is not None and not callable(check):
        raise TypeError(f"register({name!r}, check=...) needs a function, got {check!r}")
    if resolve is not None and not callable(resolve):
        raise TypeError(f"register({name!r}, resolve=...) needs a function, got {resolve!r}")

    def decorator(func: Experiment) -> Experiment:
        if not callable(func):
            raise TypeError(f"register({name!r}) decorates a function, got {func!r}")
        current = _REGISTRY.get(name)
        same = current is not None and (
            current.__module__ == func.__module__ and current.__qualname__ == func.__qualname__
        )
        if current is not None and not same:
            raise ValueError(
                f"experiment name {name!r} is already registered by "
                f"{current.__module__}.{current.__qualname__}"
            )
        _REGISTRY[name] = func
        if check is not None:
            _CHECKS[name] = check
        if resolve is not None:
            _RESOLVERS[name] = resolve
        return func

    return decorator


def _load_builtins(name: str | None = None) -> None:
    """Import the built-in experiments: the module of ``name`` only, when it is one.

    The experiment packages list their experiments' modules in ``BUILTIN`` (name →
    module) instead of importing them all: a worker that runs one experiment imports
    that module and what it needs (no JAX for the phase diagram), not every study.
    """
    for package in _BUILTIN_MODULES:
        if importlib.util.find_spec(package) is None:
            continue
        modules = getattr(importlib.import_module(package), "BUILTIN", {})
        wanted = [modules[name]] if name in modules else sorted(set(modules.values()))
        for module in wanted:
            importlib.import_module(module)


def names() -> list[str]:
    """Sorted names of the registered experiments (built-ins loaded first).

    Examples
    --------
    >>> from ntkjam.sweep.registry import names
    >>> "kernel_summary" in names(), names() == sorted(names())
    (True, True)
    """
    _load_builtins()
    return sorted(_REGISTRY)


def get(name: str) -> Experiment:
    """The experiment registered as ``name``.

    Raises
    ------
    ValueError
        Unknown name (the message lists the registered ones).

    Examples
    --------
    >>> from ntkjam.sweep.registry import get
    >>> get("kernel_summary").__name__
    'kernel_summary'
    """
    if name not in _REGISTRY:
        _load_builtins(name)
    if name not in _REGISTRY:
        raise ValueError(
            f"experiment {name!r} is not registered; registered: {', '.join(sorted(_REGISTRY))}"
            " (or give an import path 'package.module:function')"
        )
    return _REGISTRY[name]


def resolve(ref: str) -> Experiment:
    """The function a spec's ``experiment`` refers to: a registered name or an import path.

    Results are cached per process, so workers import each module once.

    Raises
    ------
    ValueError
        Malformed reference, module that cannot be imported, missing or non-callable
        attribute, unknown name.

    Examples
    --------
    >>> from ntkjam import sweep
    >>> sweep.resolve("kernel_summary").__name__, sweep.resolve("math:hypot").__name__
    ('kernel_summary', 'hypot')
    """
    if ref in _resolved:
        return _resolved[ref]
    if not isinstance(ref, str):
        raise TypeError(f"experiment must be a string, got {ref!r}")
    if _IMPORT_PATH.match(ref):
        module_name, attr = LEGACY_PATHS.get(ref, ref).split(":")
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:
            raise ValueError(
                f"experiment {ref!r}: cannot import module {module_name!r} ({exc}); it must be "
                "installed or on PYTHONPATH (of every worker, too)"
            ) from exc
        func = getattr(module, attr, None)
        if func is None:
            raise ValueError(f"experiment {ref!r}: module {module_name!r} has no {attr!r}")
        if not callable(func):
            raise ValueError(f"experiment {ref!r}: {attr!r} is not callable")
    elif _NAME.match(ref):
        func = get(ref)
    else:
        raise ValueError(
            f"experiment must be a registered name or an import path "
            f"'package.module:function', got {ref!r}"
        )
    _resolved[ref] = func
    return func


def check_spec(spec: Any, *, source: str = "") -> None:
    """Validate the parameters of every grid point of ``spec`` before any task runs.

    Runs the ``check`` function the experiment was registered with on the fixed
    parameters merged with each grid point (seeds do not enter).  Experiments
    given by import path, or registered without ``check``, are not checked here.

    Parameters
    ----------
    spec : ntkjam.sweep.SweepSpec
    source : str
        Where the spec came from, for the message.

    Raises
    ------
    ntkjam.sweep.SpecError
        ``invalid sweep spec SOURCE: <the check's message> (grid point {...})``.

    Examples
    --------
    >>> from ntkjam import sweep
    >>> from ntkjam.sweep.registry import check_spec
    >>> check_spec(sweep.parse_spec({"experiment": "kernel_summary", "params": {"d": 3},
    ...                              "grid": {"n": [4, 8]}}))  # every grid point is valid
    >>> bad = sweep.parse_spec({"experiment": "kernel_summary", "params": {"d": 1},
    ...                         "grid": {"n": [4]}})
    >>> try:
    ...     check_spec(bad)
    ... except sweep.SpecError as err:
    ...     print("d" in str(err))
    True
    """
    ref = spec.experiment
    if not _NAME.match(ref):
        return
    if ref not in _REGISTRY:
        _load_builtins(ref)
    check = _CHECKS.get(ref)
    if check is None:
        return
    names = tuple(spec.grid)
    where = f" {source}" if source else ""
    for values in itertools.product(*(spec.grid[a] for a in names)):
        point = dict(zip(names, values, strict=True))
        try:
            check({**spec.params, **point})
        except (ValueError, TypeError) as exc:
            at = f" (grid point {point})" if point else ""
            raise SpecError(f"invalid sweep spec{where}: {exc}{at}") from None


def load_spec(path: str | Path) -> SweepSpec:
    """Read a TOML spec file and check it: its fields, then every grid point's params.

    A relative ``output`` is resolved against the directory of the file; without
    ``output`` the run directory is ``runs/<file name without .toml>`` there.  The
    parameters of every grid point are checked by the experiment's ``check``
    function when it is a registered experiment that has one (:func:`check_spec`):
    a bad ``[params]`` key or value is refused here, before any run directory is made.

    Raises
    ------
    SpecError
        Unreadable file, invalid TOML, invalid fields or parameters.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from ntkjam import sweep
    >>> path = Path(tempfile.mkdtemp(), "kernel.toml")
    >>> _ = path.write_text('experiment = "kernel_summary"\\n'
    ...                     '[params]\\nd = 3\\n[grid]\\nn = [4, 8]\\n')
    >>> sweep.load_spec(path).grid
    {'n': (4, 8)}
    >>> _ = path.write_text('experiment = "kernel_summary"\\n'
    ...                     '[params]\\nd = 1\\n[grid]\\nn = [4]\\n')
    >>> try:
    ...     sweep.load_spec(path)  # the experiment's own check: d >= 2
    ... except sweep.SpecError:
    ...     print("refused")
    refused
    """
    spec = read_spec(path)
    check_spec(spec, source=repr(str(path)))
    return spec


def resolver(ref: str) -> Callable[[dict[str, Any]], dict[str, Any]] | None:
    """The registered ``resolve`` of experiment ``ref`` (None: keyed on params as given)."""
    if not _NAME.match(ref):
        return None
    if ref not in _REGISTRY:
        _load_builtins(ref)
    return _RESOLVERS.get(ref)


def expand_spec(spec: SweepSpec, *, scheme: int | None = None) -> list:
    """The tasks of ``spec`` keyed with ``scheme``, params resolved by the experiment.

    Use the scheme of the store the tasks go to (:func:`ntkjam.sweep.store.key_scheme`):
    a store written before resolved keys existed (scheme 1) keeps its keys.
    """
    return expand(spec, resolve=resolver(spec.experiment), scheme=scheme)
