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

    Parameters
    ----------
    df : pandas.DataFrame
        A phase-diagram table (:func:`ntkjam.sweep.load`): columns ``P, phi, seed, n,
        n_params, sat, rank`` and optionally ``status``.

    Returns
    -------
    pandas.DataFrame
        The ``done`` rows, typed, with the column ``phi_x`` added.

    Raises
    ------
    ValueError
        A column is missing, or no row is ``done``.

    Examples
    --------
    >>> import pandas as pd
    >>> from ntkjam.analysis.tables import done_table
    >>> df = pd.DataFrame({"P": [10, 10], "phi": [2.0, 2.0], "seed": [0, 1], "n": [20, 21],
    ...                    "n_params": 10, "sat": [1, 0], "rank": 10, "status": ["done", "failed"]})
    >>> done_table(df)[["n", "sat", "phi_x"]]
        n   sat  phi_x
    0  20  True    2.0
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
    """``(P, rows)`` per P, in increasing P.

    Parameters
    ----------
    df : pandas.DataFrame
        A table with a ``P`` column.

    Returns
    -------
    list of (int, pandas.DataFrame)

    Examples
    --------
    >>> import pandas as pd
    >>> from ntkjam.analysis.tables import by_P
    >>> [(P, len(rows)) for P, rows in by_P(pd.DataFrame({"P": [20, 10, 20]}))]
    [(10, 1), (20, 2)]
    """
    return [(int(P), g) for P, g in df.groupby("P", sort=True)]


def load_run(directory: str | Path) -> tuple[pd.DataFrame, int, dict[str, Any]]:
    """The table of a run directory, its number of failed tasks and its spec's params.

    The params are those of the spec recorded in the store's meta (``{}`` when none
    is recorded, or when it no longer parses: it is only a fallback for labels).

    Parameters
    ----------
    directory : str or Path
        A run directory.

    Returns
    -------
    (table, n_failed, params) : tuple of pandas.DataFrame, int and dict
        Every stored row (:func:`ntkjam.sweep.load`), the failed ones among them, and
        the spec's fixed parameters.

    Examples
    --------
    >>> import tempfile
    >>> from ntkjam import sweep
    >>> from ntkjam.analysis.tables import load_run
    >>> from ntkjam.experiments.phase_diagram import phase_diagram_spec
    >>> tmp = tempfile.TemporaryDirectory()
    >>> spec = phase_diagram_spec(P=[4], phi_min=1.0, phi_max=3.0, phi_num=2, seeds=2,
    ...                           margin=0.5, output=tmp.name + "/run")  # 2 φ × 2 seeds
    >>> table, n_failed, params = load_run(sweep.run(spec).directory)
    >>> len(table), n_failed, params
    (4, 0, {'margin': 0.5})
    >>> tmp.cleanup()
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

    Returns
    -------
    dict
        Name → value, JSON-ready (:func:`jsonable`).

    Examples
    --------
    >>> import pandas as pd
    >>> from ntkjam.analysis.tables import recorded_settings
    >>> rows = pd.DataFrame({"d": [5, 5], "labels": ["random", "teacher"]})
    >>> recorded_settings(rows, {"margin": 0.5}, ["d", "labels", "margin", "offset"],
    ...                   {"offset": "zero"})  # rows, then the spec, then the constant
    {'d': 5, 'labels': 'random,teacher', 'margin': 0.5, 'offset': 'zero'}
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
    """Array ``name`` of the UNSAT rows with ``phi_lo ≤ φ ≤ phi_hi``, concatenated.

    Parameters
    ----------
    directory : Path
        The run directory of ``df``.
    df : pandas.DataFrame
        Its finished rows (:func:`done_table`).
    phi_lo, phi_hi : float
        Range of ``phi_x``.
    name : str
        Stored array name (``"gaps"``, ``"forces"``).

    Returns
    -------
    numpy.ndarray, shape (m,)
        The arrays of the rows that store one, in table order (empty if none).

    Examples
    --------
    >>> import tempfile
    >>> from ntkjam import sweep
    >>> from ntkjam.analysis.tables import done_table, pooled_arrays
    >>> from ntkjam.experiments.phase_diagram import phase_diagram_spec
    >>> tmp = tempfile.TemporaryDirectory()
    >>> spec = phase_diagram_spec(P=[4], phi_min=3.0, phi_max=3.0, phi_num=1, seeds=2,
    ...                           output=tmp.name + "/run")  # N = 12 > 2P: UNSAT
    >>> df = done_table(sweep.load(sweep.run(spec).directory))
    >>> forces = pooled_arrays(spec.output, df, 2.5, 3.5, "forces")
    >>> forces.shape == (df["n_delta"].sum(),)  # one force per violated point
    True
    >>> tmp.cleanup()
    """
    rows = df[(~df["sat"]) & (df["phi_x"] >= phi_lo) & (df["phi_x"] <= phi_hi)]
    if "arrays" in rows.columns:
        rows = rows[rows["arrays"].fillna("").str.split(",").apply(lambda v: name in v)]
    parts = [load_arrays(directory, key).get(name, np.zeros(0)) for key in rows["hash"]]
    return np.concatenate(parts) if parts else np.zeros(0)


def jsonable(v: Any) -> Any:
    """``v`` with arrays as lists, NumPy scalars as Python ones and NaN/inf as None.

    Parameters
    ----------
    v : object
        Scalars, arrays of any shape, and dicts, lists and tuples of them (nested).

    Returns
    -------
    object
        The same structure, serialisable by :func:`json.dumps` (tuples become lists).

    Examples
    --------
    >>> import numpy as np
    >>> from ntkjam.analysis.tables import jsonable
    >>> jsonable({"phi": np.array([1.5, np.nan]), "n": np.int64(3), "sat": (np.bool_(True),)})
    {'phi': [1.5, None], 'n': 3, 'sat': [True]}
    """

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
