"""Integrity of a run directory: one writer, atomic array writes, read-only reading.

One sweep at a time writes a run directory (:class:`~ntkjam.sweep.lock.DirectoryLock`,
re-exported here and by :mod:`ntkjam.sweep.store`).  The array files are written
atomically (temporary name, fsync, rename: :func:`atomic_savez`), also ahead of their
rows on a few threads (:class:`AheadWriter`); readers get read-only connections that
work on read-only media (:func:`connect_readonly`, :func:`query_readonly`).

Two concepts live beside it and are re-exported here, so ``ntkjam.sweep.integrity.X``
keeps working for all of them: the checksums of the array files and their checks
(:mod:`ntkjam.sweep.checksums`: :class:`StoreCorrupt`, :func:`verify_rows`,
:func:`load_verified`, ...), and the database file itself
(:mod:`ntkjam.sweep.database`: created complete under a temporary name so that an empty
``sweep.sqlite`` is always damage, SQLite errors as the errors they stand for, the
clean-up of temporaries a killed writer left).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
import zipfile
from collections import deque
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_for
from pathlib import Path
from typing import Any

import numpy as np

from ntkjam.sweep.checksums import (
    ARRAYS_DIR,
    FILES_SCHEMA,
    StoreCorrupt,
    check_array_file,
    check_bytes,
    corrupt_error,
    file_digest,
    load_verified,
    verify_rows,
)
from ntkjam.sweep.database import (
    DB_NAME,
    check_database_file,
    create_database,
    remove_stray_temporaries,
    sqlite_error,
)
from ntkjam.sweep.lock import LOCK_NAME, DirectoryLock, RunDirectoryBusy

__all__ = [
    "ARRAYS_DIR",
    "AheadWriter",
    "DB_NAME",
    "DirectoryLock",
    "FILES_SCHEMA",
    "LOCK_NAME",
    "RunDirectoryBusy",
    "StoreCorrupt",
    "atomic_savez",
    "check_array_file",
    "check_bytes",
    "check_database_file",
    "connect_readonly",
    "corrupt_error",
    "create_database",
    "directory_writable",
    "file_digest",
    "load_verified",
    "query_readonly",
    "remove_stray_temporaries",
    "sqlite_error",
    "verify_rows",
]

def atomic_savez(path: Path, arrays: Mapping[str, np.ndarray]) -> tuple[str, int]:
    """Write ``arrays`` as the .npz ``path`` (temporary name, fsync, rename).

    Returns the SHA-256 and size of the file as written.  An :class:`OSError` (disk
    full, read-only file system, ...) names ``path``; the temporary file is removed.

    Parameters
    ----------
    path : Path
        The ``.npz`` file to write (its directory exists).
    arrays : mapping of str to array_like
        Name → array, any shape; object arrays are refused (no pickling).

    Returns
    -------
    sha256 : str
    size : int
        Of the file on disk (what :func:`file_digest` gives).

    Examples
    --------
    >>> import tempfile
    >>> import numpy as np
    >>> from pathlib import Path
    >>> from ntkjam.sweep.integrity import atomic_savez, file_digest
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = Path(tmp, "k.npz")
    ...     written = atomic_savez(path, {"K": np.eye(3), "f0": np.zeros(3)})
    ...     same = written == file_digest(path)
    ...     with np.load(path) as npz:
    ...         shapes = {name: npz[name].shape for name in npz.files}
    ...     leftovers = [p.name for p in Path(tmp).iterdir() if p.name != "k.npz"]
    >>> same, shapes, leftovers
    (True, {'K': (3, 3), 'f0': (3,)}, [])
    """
    # The .npz layout (a zip of .npy members), written directly so that any array name
    # works and object arrays are refused rather than pickled.
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as fh:
            with zipfile.ZipFile(fh, "w", compression=zipfile.ZIP_STORED) as zf:
                for name, arr in arrays.items():
                    with zf.open(f"{name}.npy", "w", force_zip64=True) as member:
                        np.lib.format.write_array(member, np.asanyarray(arr), allow_pickle=False)
            fh.flush()
            os.fsync(fh.fileno())
        digest = file_digest(tmp)  # what is on disk, read back before it takes the name
        os.replace(tmp, path)
    except OSError as exc:
        raise OSError(exc.errno, f"cannot write array file: {exc.strerror}", str(path)) from exc
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink()
    return digest


class AheadWriter:
    """Array files written on a few threads, their rows committed in order once written.

    An array file costs an fsync, milliseconds of waiting on the disk, and concurrent
    fsyncs share the disk's flushes.  :meth:`put` starts writing an item's array file
    (:func:`atomic_savez`) on a thread and returns; ``commit(item, written)`` is then
    called in this thread, in the order of the ``put`` calls, each once its file is
    complete under its name (``written``: its (sha256, size); None without arrays).
    So a row is still committed only after its array file is on disk, while the
    sweep's process goes on computing and collecting results.

    Parameters
    ----------
    directory : path
        The run directory.
    commit : callable
        ``commit(item, written)``: stores the item's row.
    threads : int
        Threads writing array files.  Two by default: on the main job with
        ``--workers 2`` four threads' fsyncs took the cores 0.4 s more than two (sweep
        11.4 s against 11.0 s; one thread 10.9 s, but it alone must keep up with
        every file of a sweep of tiny tasks).
    depth : int
        Most items waiting for their file; :meth:`put` waits beyond that.  Items still
        waiting when the process is killed have no row and run again on resume.

    Examples
    --------
    Rows are committed in the order put, each once its file is on disk (``None`` for an
    item without arrays):

    >>> import tempfile
    >>> import numpy as np
    >>> from pathlib import Path
    >>> from ntkjam.sweep.integrity import AheadWriter
    >>> committed = []
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     Path(tmp, "arrays").mkdir()
    ...     with AheadWriter(tmp, lambda item, w: committed.append((item, w is None)),
    ...                      threads=2) as ahead:
    ...         for i in range(4):
    ...             ahead.put(f"k{i}", {"x": np.full(3, i)} if i != 2 else {}, f"row{i}")
    ...     files = sorted(p.name for p in Path(tmp, "arrays").iterdir())
    >>> committed
    [('row0', False), ('row1', False), ('row2', True), ('row3', False)]
    >>> files
    ['k0.npz', 'k1.npz', 'k3.npz']
    """

    def __init__(self, directory: str | Path, commit: Callable[[Any, tuple[str, int] | None], None],
                 *, threads: int = 2, depth: int = 32):
        self._base = Path(directory) / ARRAYS_DIR
        self._commit, self._depth = commit, depth
        self._pool = ThreadPoolExecutor(threads, thread_name_prefix="ntkjam-arrays")
        self._waiting: deque[tuple[Any, Future | None]] = deque()

    def put(self, key: str, arrays: Mapping[str, np.ndarray], item: Any) -> None:
        """Start writing ``arrays`` as ``arrays/KEY.npz``; commit the items whose file is done.

        Parameters
        ----------
        key : str
            The task's key, the file's name.
        arrays : mapping of str to ndarray
            Name → array, any shape; empty for an item without arrays.
        item : object
            What ``commit`` receives (the row).

        Raises
        ------
        OSError
            From writing an earlier item's file (naming it); that item and those after
            it are not committed.

        Examples
        --------
        An item without arrays, with none before it waiting, is committed at once:

        >>> import tempfile
        >>> got = []
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     with AheadWriter(tmp, lambda item, w: got.append((item, w))) as ahead:
        ...         ahead.put("k0", {}, "row0")
        ...         print(got)
        [('row0', None)]
        """
        written = None
        if arrays:
            written = self._pool.submit(atomic_savez, self._base / f"{key}.npz", arrays)
        self._waiting.append((item, written))
        self._commit_ready(wait=False)

    def _commit_ready(self, *, wait: bool) -> None:
        while self._waiting:
            item, written = self._waiting[0]
            if written is not None and not written.done():
                if not wait and len(self._waiting) <= self._depth:
                    return
                wait_for([written])
            self._waiting.popleft()
            self._commit(item, None if written is None else written.result())

    def drain(self) -> None:
        """Commit every item put, waiting for their files.

        Examples
        --------
        >>> import tempfile
        >>> import numpy as np
        >>> from pathlib import Path
        >>> got = []
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     Path(tmp, "arrays").mkdir()
        ...     with AheadWriter(tmp, lambda item, w: got.append((item, w[1] > 0))) as ahead:
        ...         ahead.put("k0", {"x": np.zeros(3)}, "row0")
        ...         ahead.drain()
        ...         print(got, Path(tmp, "arrays", "k0.npz").exists())
        [('row0', True)] True
        """
        self._commit_ready(wait=True)

    def __enter__(self) -> AheadWriter:
        return self

    def __exit__(self, kind: type[BaseException] | None, *exc: object) -> None:
        """Commit what is put, stop the threads.

        Also on an error or Ctrl-C (the finished tasks are stored); then an error while
        committing is not raised: the first error is the one that propagates.
        """
        try:
            if kind is None:
                self.drain()
            else:
                with contextlib.suppress(Exception):
                    self.drain()
        finally:
            self._pool.shutdown(wait=True, cancel_futures=True)


def directory_writable(directory: Path) -> bool:
    """Whether this process may create files in ``directory`` (False on read-only media).

    ``os.access`` answers for the real user and reports a read-only mount (EROFS) even
    to root; the tests replace this function to simulate a read-only directory.

    Parameters
    ----------
    directory : Path

    Returns
    -------
    bool

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from ntkjam.sweep.integrity import directory_writable
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     print(directory_writable(Path(tmp)))
    True
    """
    return os.access(directory, os.W_OK)


def connect_readonly(directory: str | Path) -> sqlite3.Connection:
    """A read-only connection; on a read-only directory, one that needs no -wal/-shm files.

    A database left in WAL mode with unmerged writes (its sweep was killed) cannot be
    opened ``immutable`` without ignoring those writes: it is then opened in plain
    read-only mode, which works if its ``-shm`` file exists, and otherwise fails with
    a message saying what to do.

    Parameters
    ----------
    directory : path
        The run directory (holding :data:`DB_NAME`).

    Returns
    -------
    sqlite3.Connection
        Rows as :class:`sqlite3.Row`; the caller closes it.

    Raises
    ------
    ValueError
        Not a run directory; StoreCorrupt for an empty or damaged database.

    Examples
    --------
    >>> import sqlite3, tempfile
    >>> from pathlib import Path
    >>> from ntkjam.sweep.integrity import FILES_SCHEMA, connect_readonly, create_database
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     create_database(Path(tmp, "sweep.sqlite"), FILES_SCHEMA)
    ...     db = connect_readonly(tmp)
    ...     try:
    ...         db.execute("INSERT INTO array_files VALUES ('k', 'x', 1)")
    ...     except sqlite3.OperationalError as exc:
    ...         print(exc)
    ...     db.close()
    attempt to write a readonly database
    """
    path = Path(directory).expanduser().resolve() / DB_NAME
    if not path.parent.is_dir():
        raise ValueError(f"{str(Path(directory))!r} is not a sweep run directory")
    check_database_file(path, missing_ok=False)
    uri = f"{path.as_uri()}?mode=ro"
    # unmerged writes (WAL) or a hot rollback journal: `immutable` would ignore them
    logs = [path.with_name(DB_NAME + suffix) for suffix in ("-wal", "-journal")]
    pending = [p for p in logs if p.exists() and p.stat().st_size > 0]
    writable = directory_writable(path.parent)
    if not writable and not pending:
        uri += "&immutable=1"
    db = None
    try:
        db = sqlite3.connect(uri, uri=True, timeout=30.0)
        db.execute("SELECT 1 FROM sqlite_master LIMIT 1").fetchall()
    except sqlite3.Error as exc:
        if db is not None:
            db.close()
        if pending and not writable:
            raise ValueError(
                f"{str(path)!r} holds writes not yet merged from {pending[0].name} (its "
                f"sweep was stopped before closing the table) and {str(path.parent)!r} is "
                "read-only: copy the run directory to writable storage and read it there"
            ) from None
        raise sqlite_error(exc, path, reading=True) from None
    db.row_factory = sqlite3.Row
    return db


def query_readonly(directory: str | Path, run: Any) -> Any:
    """``run(connection)`` on a fresh read-only connection, retried while the writer holds a lock.

    SQLite errors become errors naming the database (see
    :func:`ntkjam.sweep.integrity.sqlite_error`).

    Parameters
    ----------
    directory : path
        The run directory.
    run : callable
        ``run(connection)``: the reading; its result is returned.

    Returns
    -------
    Any
        What ``run`` returns.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from ntkjam.sweep.integrity import FILES_SCHEMA, create_database, query_readonly
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     create_database(Path(tmp, "sweep.sqlite"), FILES_SCHEMA)
    ...     n = query_readonly(tmp, lambda db: db.execute(
    ...         "SELECT COUNT(*) FROM array_files").fetchone()[0])
    >>> n
    0
    """

    path = Path(directory) / DB_NAME
    for attempt in range(20):
        db = connect_readonly(directory)
        try:
            return run(db)
        except sqlite3.OperationalError as exc:
            locked = getattr(exc, "sqlite_errorcode", 0) & 0xFF in (
                sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED
            )
            if not locked or attempt == 19:
                if "no such table" in str(exc):
                    raise StoreCorrupt(
                        f"{str(path)!r} is not a readable sweep database: {exc}"
                    ) from None
                raise sqlite_error(exc, path, reading=True) from None
            time.sleep(0.05)
        except sqlite3.Error as exc:
            raise sqlite_error(exc, path, reading=True) from None
        finally:
            db.close()
    raise AssertionError("unreachable")  # pragma: no cover
