"""The run directory: an SQLite table of finished tasks, array files beside it, a lock.

Layout of a run directory::

    RUN/
      sweep.sqlite        one row per finished task (WAL mode while a sweep runs)
      arrays/KEY.npz      the named arrays a task returned (only if it returned any)
      spec.toml           copy of the last spec file run into this directory
      .lock               held (flock) by the process running the sweep

Table ``tasks``: one row per task key with columns ``hash, experiment, seed,
task_seed, status ('done' | 'failed'), params (canonical JSON), measurements (JSON),
arrays (JSON list of names), error (traceback), wall_time (s), version, git_rev,
host, finished_at (UTC, ISO 8601)``, plus one column per parameter and per
measurement, added as they first appear.  Table ``meta`` holds the experiment, the
grid axes and the last spec (JSON).  Table ``array_files (hash, sha256, size)`` records
each array file as written (see :mod:`ntkjam.sweep.integrity`).

Crash safety: only the sweep's parent process writes.  Each row is committed in its
own transaction after the task's array file has been written under a temporary name
and renamed into place, so a process killed at any moment leaves either the complete
row with its arrays, or no row (the task then runs again on resume).  Nothing is ever
pickled and reading never executes code (``numpy.load(..., allow_pickle=False)``).
The database file is created complete under a temporary name, so an empty
``sweep.sqlite`` is always damage, never a fresh start.  When a sweep ends, the
write-ahead log is merged and the journal mode set back to DELETE, so a finished run
is one self-contained file that readers can open on read-only media.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from ntkjam.core.reprs import SummaryRepr
from ntkjam.sweep.canonical import key_scheme
from ntkjam.sweep.integrity import (
    ARRAYS_DIR,
    DB_NAME,
    FILES_SCHEMA,
    DirectoryLock,
    RunDirectoryBusy,
    StoreCorrupt,
    atomic_savez,
    check_database_file,
    create_database,
    remove_stray_temporaries,
    sqlite_error,
    verify_rows,
)
from ntkjam.sweep.reading import (
    ROWS_SQL,
    decode_rows,
    is_run_directory,
    read_arrays,
    read_meta,
    read_rows,
)
from ntkjam.sweep.spec import SweepSpec, Task, canonical_json

__all__ = [
    "DB_NAME",
    "DirectoryLock",
    "RunDirectoryBusy",
    "Store",
    "StoreCorrupt",
    "TaskRecord",
    "is_run_directory",
    "read_arrays",
    "read_meta",
    "read_rows",
]

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS tasks (
    hash TEXT PRIMARY KEY,
    experiment TEXT NOT NULL,
    seed INTEGER NOT NULL,
    task_seed INTEGER NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('done', 'failed')),
    params TEXT NOT NULL,
    measurements TEXT,
    arrays TEXT NOT NULL,
    error TEXT,
    wall_time REAL,
    version TEXT,
    git_rev TEXT,
    host TEXT,
    finished_at TEXT
);
""" + FILES_SCHEMA


@dataclass(frozen=True, repr=False)
class TaskRecord(SummaryRepr):
    """The outcome of one task, as stored.

    Attributes
    ----------
    task : Task
    status : {"done", "failed"}
    measurements : dict
        Scalar measurements (empty when failed).
    arrays : dict[str, numpy.ndarray]
        Named arrays (empty when failed).
    error : str or None
        Traceback text of a failure.
    wall_time : float
        Seconds spent in the experiment function.
    version : str
        ``ntkjam.__version__`` where the task ran.
    host : str
        Host name where the task ran.
    git_rev : str or None
        Git revision of the ntkjam checkout that launched the sweep (``-dirty`` if modified).
    finished_at : str
        UTC time the row was written, ISO 8601.

    Examples
    --------
    >>> from ntkjam import sweep
    >>> from ntkjam.sweep.store import TaskRecord
    >>> spec = sweep.parse_spec({"experiment": "kernel_summary", "grid": {"n": [4, 8]}})
    >>> record = TaskRecord(task=sweep.expand(spec)[1], status="done", measurements={"x": 1.5})
    >>> record.task.point, record.status, record.measurements, record.arrays, record.error
    ({'n': 8}, 'done', {'x': 1.5}, {}, None)
    """

    task: Task
    status: str
    measurements: dict[str, Any] = field(default_factory=dict)
    arrays: dict[str, np.ndarray] = field(default_factory=dict)
    error: str | None = None
    wall_time: float = 0.0
    version: str = ""
    host: str = ""
    git_rev: str | None = None
    finished_at: str = ""


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def _sql_value(value: Any) -> Any:
    """A parameter or measurement as an SQLite value (lists, tables, huge ints as JSON text)."""
    if isinstance(value, int) and not isinstance(value, bool) and not -(2**63) <= value < 2**63:
        return str(value)
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return canonical_json(value)


class Store:
    """Writer for a run directory's table and arrays (used by the sweep's parent process only).

    Parameters
    ----------
    directory : path
        Created if missing.

    Raises
    ------
    StoreCorrupt
        ``sweep.sqlite`` is empty (0 bytes) or not an SQLite database.
    OSError
        The directory cannot be created or written (naming the path).

    Examples
    --------
    The methods at work on one task with an array (``stored_rows`` gives what
    :func:`read_rows` gives):

    >>> import tempfile
    >>> import numpy as np
    >>> from ntkjam.sweep.spec import SweepSpec, Task
    >>> from ntkjam.sweep.store import Store, TaskRecord
    >>> task = Task("doc", {"x": 2}, {"x": 2}, seed=0, key="k0", task_seed=0)
    >>> with tempfile.TemporaryDirectory() as tmp, Store(tmp) as store:
    ...     store.bind(SweepSpec(experiment="doc", grid={"x": (2,)}))
    ...     store.write(TaskRecord(task, "done", {"x2": 4}, {"a": np.ones(3)}))
    ...     [row] = store.stored_rows()
    ...     print(store.meta()["axes"], store.statuses(), store.damaged())
    ...     print(row["params"], row["measurements"], row["arrays"])
    ["x"] {'k0': 'done'} []
    {'x': 2} {'x2': 4} ['a']
    """

    def __init__(self, directory: str | Path):
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        (self.directory / ARRAYS_DIR).mkdir(exist_ok=True)
        self.path = self.directory / DB_NAME
        check_database_file(self.path, missing_ok=True)
        if not self.path.exists():
            create_database(self.path, _SCHEMA)
        self._db = sqlite3.connect(self.path, isolation_level=None, timeout=30.0)
        try:
            self._db.execute("PRAGMA journal_mode=WAL")
            # NORMAL is durable against process crashes (SIGKILL) in WAL mode; only a power
            # cut may lose the last commits, never corrupt the file.
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)
            self._columns = self._read_columns()
            version = self.meta().get("schema_version", str(SCHEMA_VERSION))
        except sqlite3.Error as exc:
            self._db.close()
            raise sqlite_error(exc, self.path) from None
        if version != str(SCHEMA_VERSION):
            self._db.close()
            raise ValueError(
                f"run directory {str(self.directory)!r} was written by an incompatible "
                f"version of ntkjam (schema {version}, this version reads {SCHEMA_VERSION})"
            )

    def close(self) -> None:
        """Merge the write-ahead log, leave WAL mode if no reader is attached, and close.

        Out of WAL mode the finished run is the single file ``sweep.sqlite``, which
        readers open without creating ``-wal``/``-shm`` files (read-only media).  If a
        reader holds the database at that moment, it stays in WAL mode (still readable
        wherever the directory is writable).

        Examples
        --------
        >>> import tempfile
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     Store(tmp).close()
        ...     print(sorted(p.name for p in Path(tmp).iterdir()))  # no -wal, no -shm file
        ['arrays', 'sweep.sqlite']
        """
        with contextlib.suppress(sqlite3.Error):
            self._db.execute("PRAGMA busy_timeout=200")
            self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            self._db.execute("PRAGMA journal_mode=DELETE")
        self._db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[None]:
        """BEGIN IMMEDIATE ... COMMIT; on failure roll back and raise the *first* error.

        SQLite rolls a transaction back by itself on some errors (disk full); an explicit
        ROLLBACK then fails with "cannot rollback - no transaction is active", which
        must not hide the real error.  SQLite errors are raised as what they stand for
        (:func:`ntkjam.sweep.integrity.sqlite_error`), naming the database file.
        """
        try:
            self._db.execute("BEGIN IMMEDIATE")
            yield
            self._db.execute("COMMIT")
        except BaseException as exc:
            if self._db.in_transaction:
                with contextlib.suppress(sqlite3.Error):
                    self._db.execute("ROLLBACK")
            if isinstance(exc, sqlite3.Error):
                raise sqlite_error(exc, self.path) from exc
            raise

    def meta(self) -> dict[str, str]:
        """The ``meta`` table as a dict.

        Examples
        --------
        >>> import tempfile
        >>> with tempfile.TemporaryDirectory() as tmp, Store(tmp) as store:
        ...     store.bind(SweepSpec(experiment="doc", grid={"x": (1, 2)}))
        ...     meta = store.meta()
        >>> meta["experiment"], meta["axes"], meta["schema_version"]
        ('doc', '["x"]', '1')
        """
        return dict(self._db.execute("SELECT key, value FROM meta"))

    def bind(self, spec: SweepSpec) -> None:
        """Record ``spec`` as this directory's sweep, refusing an incompatible one.

        The experiment and the set of grid axes must match what the directory already
        holds; values, fixed parameters and seeds may change (extending a sweep).

        Examples
        --------
        >>> import tempfile
        >>> with tempfile.TemporaryDirectory() as tmp, Store(tmp) as store:
        ...     store.bind(SweepSpec(experiment="a"))
        ...     store.bind(SweepSpec(experiment="b"))  # another experiment: refused
        Traceback (most recent call last):
        ValueError: run directory '...' holds experiment 'a', not 'b'; use another output directory
        """
        meta = self.meta()
        if "experiment" in meta and meta["experiment"] != spec.experiment:
            raise ValueError(
                f"run directory {str(self.directory)!r} holds experiment "
                f"{meta['experiment']!r}, not {spec.experiment!r}; use another output directory"
            )
        if "axes" in meta and set(json.loads(meta["axes"])) != set(spec.axes):
            raise ValueError(
                f"run directory {str(self.directory)!r} holds a sweep over axes "
                f"{json.loads(meta['axes'])}, not {list(spec.axes)}; use another output directory"
            )
        values = {
            "key_scheme": str(key_scheme(meta)),
            "schema_version": str(SCHEMA_VERSION),
            "experiment": spec.experiment,
            "axes": json.dumps(list(spec.axes)),
            "spec": spec.to_json(),
            "updated_at": _now(),
        }
        with self._transaction():
            self._db.execute(
                "INSERT OR IGNORE INTO meta (key, value) VALUES ('created_at', ?)", (_now(),)
            )
            self._db.executemany("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
                                 list(values.items()))

    def statuses(self) -> dict[str, str]:
        """Task key → status of every stored row.

        Examples
        --------
        >>> import tempfile
        >>> with tempfile.TemporaryDirectory() as tmp, Store(tmp) as store:
        ...     store.write(TaskRecord(Task("e", {}, {}, seed=0, key="k0", task_seed=0), "done"))
        ...     store.write(TaskRecord(Task("e", {}, {}, seed=1, key="k1", task_seed=1), "failed"))
        ...     print(store.statuses())
        {'k0': 'done', 'k1': 'failed'}
        """
        return dict(self._db.execute("SELECT hash, status FROM tasks"))

    def stored_rows(self) -> list[dict[str, Any]]:
        """Every stored row, as :func:`read_rows` gives them (through this connection).

        Examples
        --------
        >>> import tempfile
        >>> with tempfile.TemporaryDirectory() as tmp, Store(tmp) as store:
        ...     task = Task("e", {"x": 1}, {"x": 1}, seed=0, key="k0", task_seed=0)
        ...     store.write(TaskRecord(task, "done", {"y": 2}))
        ...     print([(row["params"], row["measurements"]) for row in store.stored_rows()])
        [({'x': 1}, {'y': 2})]
        """
        self._db.row_factory = sqlite3.Row
        try:
            return decode_rows(self._db.execute(ROWS_SQL).fetchall())
        finally:
            self._db.row_factory = None

    def damaged(self) -> list[tuple[str, Path, str]]:
        """Stored ``done`` rows whose array file is missing or fails its checksum.

        Returns
        -------
        list of (key, path, problem)
            See :func:`ntkjam.sweep.integrity.verify_rows` (full check).

        Examples
        --------
        >>> import tempfile
        >>> with tempfile.TemporaryDirectory() as tmp, Store(tmp) as store:
        ...     task = Task("e", {}, {}, seed=0, key="k0", task_seed=0)
        ...     store.write(TaskRecord(task, "done", arrays={"a": np.ones(2)}))
        ...     Path(tmp, "arrays", "k0.npz").unlink()  # the array file is lost
        ...     print([key for key, path, problem in store.damaged()])
        ['k0']
        """
        return verify_rows(self.directory, self.stored_rows(), full=True)

    def remove_stray_temporaries(self) -> list[Path]:
        """Delete temporary files left by a killed writer (call while holding the lock).

        Examples
        --------
        >>> import tempfile
        >>> with tempfile.TemporaryDirectory() as tmp, Store(tmp) as store:
        ...     _ = Path(tmp, "arrays", ".k0.npz.1.tmp").write_text("half")  # a killed write
        ...     print([p.name for p in store.remove_stray_temporaries()])
        ['.k0.npz.1.tmp']
        """
        return remove_stray_temporaries(self.directory, DB_NAME)

    def write(self, record: TaskRecord, written: tuple[str, int] | None = None) -> None:
        """Store one task: its array file first (atomically), then its row, in one transaction.

        ``written`` is the (sha256, size) of the task's array file when it is already
        written (:func:`ntkjam.sweep.integrity.atomic_savez` on another thread).

        Raises
        ------
        OSError
            Disk full, read-only or failing storage, naming the file (the array file or
            the database).  The rows stored before are untouched; this task has no row
            and runs again on resume.

        Examples
        --------
        >>> import tempfile
        >>> with tempfile.TemporaryDirectory() as tmp, Store(tmp) as store:
        ...     task = Task("e", {"x": 1}, {"x": 1}, seed=0, key="k0", task_seed=0)
        ...     store.write(TaskRecord(task, "done", {"y": 2.5}, {"a": np.ones(2)}))
        ...     print(store.statuses(), sorted(p.name for p in Path(tmp, "arrays").iterdir()))
        {'k0': 'done'} ['k0.npz']
        """
        task = record.task
        if record.status not in ("done", "failed"):
            raise ValueError(f"status must be 'done' or 'failed', got {record.status!r}")
        array_path = self.directory / ARRAYS_DIR / f"{task.key}.npz"
        digest = (written or atomic_savez(array_path, record.arrays)) if record.arrays else None
        if not record.arrays and array_path.exists():
            array_path.unlink()  # left over from an earlier attempt of this task
        row: dict[str, Any] = {
            "hash": task.key,
            "experiment": task.experiment,
            "seed": task.seed,
            "task_seed": task.task_seed,
            "status": record.status,
            "params": canonical_json(task.params),
            "measurements": json.dumps(record.measurements, sort_keys=True),
            "arrays": json.dumps(sorted(record.arrays)),
            "error": record.error,
            "wall_time": record.wall_time,
            "version": record.version,
            "git_rev": record.git_rev,
            "host": record.host,
            "finished_at": record.finished_at or _now(),
        }
        in_row = {k.lower() for k in row}
        for source in (task.params, record.measurements):
            for name, value in source.items():
                # A name equal but for case to another column (e.g. measurement "Loss" in
                # one task, "loss" in another) cannot have a column of its own; the JSON
                # columns hold every value whatever happens here.
                low = name.lower()
                if self._columns.get(low, name) == name and low not in in_row:
                    row[name] = _sql_value(value)
                    in_row.add(low)
        names = list(row)
        sql = (
            f"INSERT OR REPLACE INTO tasks ({', '.join(f'[{n}]' for n in names)}) "
            f"VALUES ({', '.join('?' for _ in names)})"
        )
        try:
            with self._transaction():
                for name in names:
                    if name.lower() not in self._columns:
                        # names are identifiers (checked by the spec and the engine)
                        self._db.execute(f"ALTER TABLE tasks ADD COLUMN [{name}]")
                self._db.execute(sql, [row[n] for n in names])
                if digest is None:
                    self._db.execute("DELETE FROM array_files WHERE hash = ?", (task.key,))
                else:
                    self._db.execute(
                        "INSERT OR REPLACE INTO array_files (hash, sha256, size) VALUES (?, ?, ?)",
                        (task.key, *digest),
                    )
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                self._columns = self._read_columns()
            raise
        self._columns.update((n.lower(), n) for n in names)

    def _read_columns(self) -> dict[str, str]:
        """Existing columns of ``tasks``, lower-cased name → name (SQLite ignores case)."""
        return {row[1].lower(): row[1] for row in self._db.execute("PRAGMA table_info(tasks)")}
