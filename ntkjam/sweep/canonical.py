"""Names and canonical forms: what a task's key is made of, and the errors of a spec.

A task key is the SHA-256 of the canonical JSON of (key scheme, experiment, resolved
params, seed); the seed handed to the task is derived from the key.  Shared by the spec
parser (:mod:`ntkjam.sweep.spec`), its axes (:mod:`ntkjam.sweep.axes`) and the store.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Mapping
from typing import Any

import numpy as np

__all__ = [
    "FIELD_HINTS",
    "MAX_TASKS",
    "HASH_SCHEME",
    "KEY_SCHEMES",
    "IMPORT_PATH_RE",
    "NAME_RE",
    "RESERVED_NAMES",
    "STORE_COLUMNS",
    "SpecError",
    "canonical_json",
    "derive_seed",
    "key_scheme",
    "plain",
    "show",
    "task_key",
]


#: Version of the task-key recipe; part of every key so a future change cannot collide.
#: 1: params as the spec gave them.  2: params resolved by the experiment (defaults
#: filled in).  A store records the scheme it was written with and keeps it.
HASH_SCHEME = 2
#: Every scheme a store may have been written with.
KEY_SCHEMES = (1, 2)


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


class SpecError(ValueError):
    """A spec that cannot be used; the message names the field, the value and what is allowed.

    Examples
    --------
    >>> from ntkjam import sweep
    >>> try:
    ...     sweep.parse_spec({"experiment": "kernel_summary", "seeds": -1})
    ... except sweep.SpecError as err:
    ...     print(isinstance(err, ValueError), "seeds" in str(err))
    True True
    """


def show(value: object) -> str:
    """``repr(value)``, cut to 60 characters, for error messages.

    Parameters
    ----------
    value : object

    Returns
    -------
    str

    Examples
    --------
    >>> from ntkjam.sweep.canonical import show
    >>> show([1, 2]), len(show(list(range(100))))
    ('[1, 2]', 60)
    """
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def plain(value: object, where: str) -> object:
    """``value`` as plain JSON data (numpy scalars unwrapped), rejecting what JSON cannot hold.

    Examples
    --------
    >>> import numpy as np
    >>> from ntkjam.sweep.canonical import plain
    >>> plain({"n": np.int64(3), "x": [np.float64(0.5)]}, "params")
    {'n': 3, 'x': [0.5]}
    """
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
            out[k] = plain(v, f"{where}.{k}")
        return out
    if isinstance(value, (list, tuple)):
        return [plain(v, f"{where}[{i}]") for i, v in enumerate(value)]
    raise SpecError(
        f"{where} must be a string, number, boolean, list or table, got "
        f"{type(value).__name__} {show(value)}"
    )


def canonical_json(value: object) -> str:
    """Canonical JSON: sorted keys, no spaces, floats as their exact shortest repr.

    ``1`` and ``1.0`` are different values here (an int and a float).

    Examples
    --------
    >>> from ntkjam.sweep import canonical_json
    >>> canonical_json({"b": 1.0, "a": [1, 0.1]})
    '{"a":[1,0.1],"b":1.0}'
    >>> canonical_json({"x": 1}) == canonical_json({"x": 1.0})  # an int is not a float
    False
    """
    return json.dumps(
        plain(value, "value"),
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        allow_nan=False,
    )


def task_key(experiment: str, params: Mapping[str, Any], seed: int, *,
             scheme: int | None = None) -> str:
    """The stable key of a task: SHA-256 (hex) of its canonical description.

    Parameters
    ----------
    experiment : str
        The experiment reference exactly as written in the spec.
    params : mapping
        The task's parameters: for key scheme 2 (the current one) *resolved* by the
        experiment (defaults filled in, see :func:`ntkjam.sweep.register`), so a
        changed default gives new keys instead of mixing results; for scheme 1 (stores
        written before) as the spec gave them.
    seed : int
        The replica seed from the spec (not the derived one).
    scheme : {1, 2}, optional
        The key scheme (:data:`KEY_SCHEMES`); default :data:`HASH_SCHEME`.

    Returns
    -------
    str
        64 hexadecimal characters.

    Examples
    --------
    >>> from ntkjam.sweep import task_key
    >>> key = task_key("kernel_summary", {"n": 4, "d": 3}, 0)
    >>> len(key), key == task_key("kernel_summary", {"d": 3, "n": 4}, 0)  # order-free
    (64, True)
    >>> key == task_key("kernel_summary", {"n": 4, "d": 3}, 1)
    False
    """
    scheme = HASH_SCHEME if scheme is None else scheme
    if scheme not in KEY_SCHEMES:
        raise ValueError(f"scheme must be one of {KEY_SCHEMES}, got {scheme!r}")
    payload = {
        "scheme": scheme,
        "experiment": experiment,
        "params": dict(params),
        "seed": seed,
    }
    return hashlib.sha256(canonical_json(payload).encode("utf-8")).hexdigest()


def key_scheme(meta: dict[str, str]) -> int:
    """The task-key scheme of a store from its ``meta`` table.

    A store records the scheme it was first written with and keeps it: one that holds a
    sweep but no ``key_scheme`` entry was written before resolved keys (scheme 1), so
    resuming it recomputes nothing; a new store gets the current scheme.

    Examples
    --------
    >>> from ntkjam.sweep.canonical import HASH_SCHEME, key_scheme
    >>> key_scheme({"key_scheme": "1"}), key_scheme({}) == HASH_SCHEME
    (1, True)
    """
    if "key_scheme" in meta:
        return int(meta["key_scheme"])
    return 1 if "experiment" in meta else HASH_SCHEME


def derive_seed(key: str) -> int:
    """The RNG seed handed to a task: 32 bits drawn by ``numpy.random.SeedSequence`` from its key.

    32 bits so that every consumer accepts it (NumPy, JAX without x64, scikit-learn's
    ``random_state``); a task needing more streams spawns them from it, e.g.
    ``np.random.SeedSequence(seed).spawn(k)``.

    Examples
    --------
    >>> from ntkjam.sweep import derive_seed, task_key
    >>> seed = derive_seed(task_key("kernel_summary", {"n": 4, "d": 3}, 0))
    >>> 0 <= seed < 2**32, seed == derive_seed(task_key("kernel_summary", {"n": 4, "d": 3}, 0))
    (True, True)
    """
    if not (isinstance(key, str) and re.fullmatch(r"[0-9a-f]{64}", key)):
        raise ValueError(f"key must be 64 lowercase hex characters (a task key), got {show(key)}")
    return int(np.random.SeedSequence(int(key, 16)).generate_state(1, np.uint32)[0])


#: Most tasks one sweep may hold (grid points × seeds): each is a row of the store and
#: an entry of the task list built before the run; split larger studies into several specs.
MAX_TASKS = 1_000_000

#: What each top-level field of a spec may hold (for error messages).
FIELD_HINTS = {
    "experiment": "a registered experiment name such as 'kernel_summary', "
    "or an import path 'package.module:function'",
    "description": "a string",
    "output": "a directory path (a string)",
    "params": "a table of name = value",
    "grid": "a table of axis = [values] or axis = {start, stop, num[, log]}",
    "seeds": "a list of distinct non-negative integers, or {count = 5, start = 0}",
}
