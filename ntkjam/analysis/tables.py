"""Reading a run directory for the analysis: the finished rows, the recorded settings.

The analysis reads only the store.  A setting (margin, d, labels, …) is taken from
where the store records it, in this order: the task rows (each row holds the
parameters of its task), then the spec recorded in the store's meta (a store from
before, whose rows lack a parameter), and only when neither records it, the constant
the calling study module documents (the default when such stores were written).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ntkjam.sweep import load, load_arrays, stored_spec

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "by_P",
    "done_table",
    "jsonable",
    "load_run",
    "pooled_arrays",
    "recorded_settings",
]

#: Marker of a value the table does not record.
_MISSING = object()


def done_table(df: pd.DataFrame) -> pd.DataFrame:
    """Rows with status ``done`` and the columns the analysis needs, φ recomputed.

    ``phi_x = n / n_params`` is the φ each task actually ran at (grids whose φ·P is
    not an integer are handled exactly).
    """
    need = ("P", "phi", "seed", "n", "n_params", "sat", "rank")
    missing = [c for c in need if c not in df.columns]
    if missing:
        raise ValueError(
            f"table is not a phase_diagram sweep: column {missing[0]!r} is missing "
            "(run the 'phase_diagram' experiment)"
        )
    if "status" in df.columns:
        df = df[df["status"] == "done"]
    if len(df) == 0:
        raise ValueError("table has no finished (status 'done') phase_diagram tasks")
    df = df.copy()
    df["P"] = df["P"].astype(int)
    df["n"] = df["n"].astype(int)
    df["n_params"] = df["n_params"].astype(int)
    df["sat"] = df["sat"].astype(bool)
    df["phi_x"] = df["n"] / df["n_params"]
    return df


def by_P(df: pd.DataFrame) -> list[tuple[int, pd.DataFrame]]:
    """``(P, rows)`` per P, in increasing P."""
    return [(int(P), g) for P, g in df.groupby("P", sort=True)]


def load_run(directory: str | Path) -> tuple[pd.DataFrame, int, dict[str, Any]]:
    """The table of a run directory, its number of failed tasks and its spec's params.

    The params are those of the spec recorded in the store's meta (``{}`` when none
    is recorded, or when it no longer parses: it is only a fallback for labels).
    """
    table = load(directory)
    n_failed = int((table["status"] == "failed").sum()) if len(table) else 0
    try:
        spec = stored_spec(directory)
    except ValueError:  # a spec older than today's schema: the rows still say everything
        spec = None
    return table, n_failed, {} if spec is None else dict(spec.params)


def _fixed_value(df: pd.DataFrame, name: str) -> Any:
    """The one value of column ``name`` (values joined by commas when several).

    ``_MISSING`` when the column is absent or holds no value.
    """
    if name not in df.columns:
        return _MISSING
    vals = df[name].dropna().unique()
    if len(vals) == 0:
        return _MISSING
    return vals[0] if len(vals) == 1 else ",".join(str(v) for v in vals)


def recorded_settings(
    df: pd.DataFrame, spec_params: Mapping[str, Any], names: Iterable[str],
    unrecorded: Mapping[str, Any],
) -> dict[str, Any]:
    """The fixed settings ``names`` of a sweep, JSON-ready (see the module docstring).

    Parameters
    ----------
    df : DataFrame
        The finished rows.
    spec_params : mapping
        The params of the spec recorded in the store (:func:`load_run`).
    names : iterable of str
    unrecorded : mapping
        Value of each name for a store that records it nowhere.
    """
    out = {}
    for k in names:
        v = _fixed_value(df, k)
        if v is _MISSING:
            v = spec_params.get(k, _MISSING)
        if v is _MISSING:
            v = unrecorded[k]
        out[k] = jsonable(v)
    return out


def pooled_arrays(directory: Path, df: pd.DataFrame, phi_lo: float, phi_hi: float,
                  name: str) -> np.ndarray:
    """Array ``name`` of the UNSAT rows with ``phi_lo ≤ φ ≤ phi_hi``, concatenated."""
    rows = df[(~df["sat"]) & (df["phi_x"] >= phi_lo) & (df["phi_x"] <= phi_hi)]
    if "arrays" in rows.columns:
        rows = rows[rows["arrays"].fillna("").str.split(",").apply(lambda v: name in v)]
    parts = [load_arrays(directory, key).get(name, np.zeros(0)) for key in rows["hash"]]
    return np.concatenate(parts) if parts else np.zeros(0)


def jsonable(v: Any) -> Any:
    """``v`` with arrays as lists, NumPy scalars as Python ones and NaN/inf as None."""
    if isinstance(v, dict):
        return {str(k): jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [jsonable(x) for x in v]
    if isinstance(v, np.ndarray):
        return [jsonable(x) for x in v.tolist()]
    if isinstance(v, (np.floating, float)):
        f = float(v)
        return f if math.isfinite(f) else None
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, np.bool_):
        return bool(v)
    return v
