"""Reading a run directory without opening it for writing: rows, metadata, arrays.

Every reader goes through :func:`ntkjam.sweep.integrity.query_readonly` (a read-only
SQLite connection, retried briefly while the writer holds a lock), so a sweep that is
running can be inspected; :class:`ntkjam.sweep.store.Store` reuses :data:`ROWS_SQL`
and :func:`decode_rows` for its own connection.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import numpy as np

from ntkjam.sweep.integrity import ARRAYS_DIR, DB_NAME, load_verified, query_readonly
from ntkjam.sweep.spec import STORE_COLUMNS

__all__ = [
    "ROWS_SQL",
    "ROWS_SQL_LEGACY",
    "decode_rows",
    "has_files_table",
    "is_run_directory",
    "read_arrays",
    "read_meta",
    "read_rows",
]

ROWS_SQL = (
    "SELECT " + ", ".join(f"t.{c}" for c in STORE_COLUMNS)
    + ", f.sha256 AS _sha256, f.size AS _size FROM tasks t "
    "LEFT JOIN array_files f ON f.hash = t.hash ORDER BY t.hash"
)
# a store written before checksums were recorded has no array_files table
ROWS_SQL_LEGACY = (
    "SELECT " + ", ".join(STORE_COLUMNS)
    + ", NULL AS _sha256, NULL AS _size FROM tasks ORDER BY hash"
)


def is_run_directory(directory: str | Path) -> bool:
    """Whether ``directory`` holds a sweep table.

    Examples
    --------
    >>> import sys, tempfile
    >>> from pathlib import Path
    >>> from ntkjam import sweep
    >>> tmp = tempfile.mkdtemp(); sys.path.insert(0, tmp)  # a module of your own experiments
    >>> _ = Path(tmp, "doc_tasks.py").write_text(
    ...     "import numpy as np\\n"
    ...     "def square(params, seed):\\n"
    ...     "    noise = np.random.default_rng(seed).standard_normal(3)\\n"
    ...     "    return {'x2': params['x'] ** 2, 'arrays': {'noise': noise}}\\n")
    >>> spec = sweep.parse_spec({"experiment": "doc_tasks:square", "grid": {"x": [1, 2, 3]},
    ...                          "seeds": [0, 1], "output": tmp + "/run"})
    >>> directory = sweep.run(spec).directory
    >>> from ntkjam.sweep.reading import is_run_directory
    >>> is_run_directory(directory), is_run_directory(tmp)
    (True, False)
    """
    return (Path(directory) / DB_NAME).is_file()


def read_meta(directory: str | Path) -> dict[str, str]:
    """The ``meta`` table of a run directory.

    Examples
    --------
    >>> import sys, tempfile
    >>> from pathlib import Path
    >>> from ntkjam import sweep
    >>> tmp = tempfile.mkdtemp(); sys.path.insert(0, tmp)  # a module of your own experiments
    >>> _ = Path(tmp, "doc_tasks.py").write_text(
    ...     "import numpy as np\\n"
    ...     "def square(params, seed):\\n"
    ...     "    noise = np.random.default_rng(seed).standard_normal(3)\\n"
    ...     "    return {'x2': params['x'] ** 2, 'arrays': {'noise': noise}}\\n")
    >>> spec = sweep.parse_spec({"experiment": "doc_tasks:square", "grid": {"x": [1, 2, 3]},
    ...                          "seeds": [0, 1], "output": tmp + "/run"})
    >>> directory = sweep.run(spec).directory
    >>> from ntkjam.sweep.reading import read_meta
    >>> meta = read_meta(directory)
    >>> meta["experiment"], meta["axes"]
    ('doc_tasks:square', '["x"]')
    """
    return query_readonly(
        directory,
        lambda db: {r["key"]: r["value"] for r in db.execute("SELECT key, value FROM meta")},
    )


def has_files_table(db: sqlite3.Connection) -> bool:
    """Whether the store records array checksums (stores from before them do not).

    Examples
    --------
    >>> import sys, tempfile
    >>> from pathlib import Path
    >>> from ntkjam import sweep
    >>> tmp = tempfile.mkdtemp(); sys.path.insert(0, tmp)  # a module of your own experiments
    >>> _ = Path(tmp, "doc_tasks.py").write_text(
    ...     "import numpy as np\\n"
    ...     "def square(params, seed):\\n"
    ...     "    noise = np.random.default_rng(seed).standard_normal(3)\\n"
    ...     "    return {'x2': params['x'] ** 2, 'arrays': {'noise': noise}}\\n")
    >>> spec = sweep.parse_spec({"experiment": "doc_tasks:square", "grid": {"x": [1, 2, 3]},
    ...                          "seeds": [0, 1], "output": tmp + "/run"})
    >>> directory = sweep.run(spec).directory
    >>> import sqlite3
    >>> from ntkjam.sweep.reading import has_files_table
    >>> db = sqlite3.connect(Path(directory, "sweep.sqlite"))
    >>> has_files_table(db), has_files_table(sqlite3.connect(":memory:"))
    (True, False)
    """
    return db.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'array_files'"
    ).fetchone() is not None


def decode_rows(raw: list[sqlite3.Row]) -> list[dict[str, Any]]:
    """Rows of :data:`ROWS_SQL` with ``params``, ``measurements``, ``arrays`` decoded.

    Examples
    --------
    >>> import sys, tempfile
    >>> from pathlib import Path
    >>> from ntkjam import sweep
    >>> tmp = tempfile.mkdtemp(); sys.path.insert(0, tmp)  # a module of your own experiments
    >>> _ = Path(tmp, "doc_tasks.py").write_text(
    ...     "import numpy as np\\n"
    ...     "def square(params, seed):\\n"
    ...     "    noise = np.random.default_rng(seed).standard_normal(3)\\n"
    ...     "    return {'x2': params['x'] ** 2, 'arrays': {'noise': noise}}\\n")
    >>> spec = sweep.parse_spec({"experiment": "doc_tasks:square", "grid": {"x": [1, 2, 3]},
    ...                          "seeds": [0, 1], "output": tmp + "/run"})
    >>> directory = sweep.run(spec).directory
    >>> import sqlite3
    >>> from ntkjam.sweep.reading import ROWS_SQL, decode_rows
    >>> db = sqlite3.connect(Path(directory, "sweep.sqlite")); db.row_factory = sqlite3.Row
    >>> rows = decode_rows(db.execute(ROWS_SQL).fetchall()); db.close()
    >>> sorted((r["params"]["x"], r["measurements"]["x2"]) for r in rows)[::2]
    [(1, 1), (2, 4), (3, 9)]
    """
    rows = []
    for r in raw:
        row = dict(r)
        sha256, size = row.pop("_sha256"), row.pop("_size")
        row["params"] = json.loads(row["params"])
        row["measurements"] = json.loads(row["measurements"]) if row["measurements"] else {}
        row["arrays"] = json.loads(row["arrays"])
        row["file"] = None if sha256 is None else (sha256, int(size))
        rows.append(row)
    return rows


def read_rows(directory: str | Path) -> list[dict[str, Any]]:
    """The fixed columns of every row, with ``params``, ``measurements`` and ``arrays`` decoded.

    Each row also has ``file``: the (sha256, size) recorded for its array file, or None
    (no arrays, or a store written before checksums were recorded).  Retries briefly if
    the writer holds a lock at that instant.

    Examples
    --------
    >>> import sys, tempfile
    >>> from pathlib import Path
    >>> from ntkjam import sweep
    >>> tmp = tempfile.mkdtemp(); sys.path.insert(0, tmp)  # a module of your own experiments
    >>> _ = Path(tmp, "doc_tasks.py").write_text(
    ...     "import numpy as np\\n"
    ...     "def square(params, seed):\\n"
    ...     "    noise = np.random.default_rng(seed).standard_normal(3)\\n"
    ...     "    return {'x2': params['x'] ** 2, 'arrays': {'noise': noise}}\\n")
    >>> spec = sweep.parse_spec({"experiment": "doc_tasks:square", "grid": {"x": [1, 2, 3]},
    ...                          "seeds": [0, 1], "output": tmp + "/run"})
    >>> directory = sweep.run(spec).directory
    >>> from ntkjam.sweep.reading import read_rows
    >>> rows = read_rows(directory)
    >>> len(rows), sorted(r["measurements"]["x2"] for r in rows), {r["status"] for r in rows}
    (6, [1, 1, 4, 4, 9, 9], {'done'})
    """

    def rows(db: sqlite3.Connection) -> list[sqlite3.Row]:
        sql = ROWS_SQL if has_files_table(db) else ROWS_SQL_LEGACY
        return db.execute(sql).fetchall()

    return decode_rows(query_readonly(directory, rows))


def read_arrays(directory: str | Path, key: str) -> dict[str, np.ndarray]:
    """The named arrays of task ``key`` (an empty dict if it stored none), verified.

    Loaded with ``allow_pickle=False``: object arrays are never read.

    Raises
    ------
    StoreCorrupt
        The task's array file is missing, or differs from the SHA-256 and size recorded
        when it was written (a store from before checksums: is not a readable .npz with
        the arrays its row lists).
    ValueError
        ``key`` is not a task key, or no task with that key is stored.

    Examples
    --------
    >>> import sys, tempfile
    >>> from pathlib import Path
    >>> from ntkjam import sweep
    >>> tmp = tempfile.mkdtemp(); sys.path.insert(0, tmp)  # a module of your own experiments
    >>> _ = Path(tmp, "doc_tasks.py").write_text(
    ...     "import numpy as np\\n"
    ...     "def square(params, seed):\\n"
    ...     "    noise = np.random.default_rng(seed).standard_normal(3)\\n"
    ...     "    return {'x2': params['x'] ** 2, 'arrays': {'noise': noise}}\\n")
    >>> spec = sweep.parse_spec({"experiment": "doc_tasks:square", "grid": {"x": [1, 2, 3]},
    ...                          "seeds": [0, 1], "output": tmp + "/run"})
    >>> directory = sweep.run(spec).directory
    >>> from ntkjam.sweep.reading import read_arrays, read_rows
    >>> key = read_rows(directory)[0]["hash"]
    >>> read_arrays(directory, key)["noise"].shape
    (3,)
    """
    if not isinstance(key, str) or not all(c in "0123456789abcdef" for c in key) or len(key) != 64:
        raise ValueError(f"key must be a task key (64 lowercase hex characters), got {key!r}")

    def row(db: sqlite3.Connection) -> list[sqlite3.Row]:
        sql = ROWS_SQL if has_files_table(db) else ROWS_SQL_LEGACY
        sql = sql.replace(" ORDER BY t.hash", " WHERE t.hash = ?").replace(
            " ORDER BY hash", " WHERE hash = ?"
        )
        return db.execute(sql, (key,)).fetchall()

    found = decode_rows(query_readonly(directory, row))
    if not found:
        raise ValueError(f"no task with key {key!r} is stored in {str(directory)!r}")
    names = found[0]["arrays"]
    if not names:
        return {}
    return load_verified(Path(directory) / ARRAYS_DIR / f"{key}.npz", names, found[0]["file"])
