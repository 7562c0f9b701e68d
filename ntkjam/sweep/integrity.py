"""Integrity of a run directory: checksums, verification, safe creation and reading.

Every array file ``RUN/arrays/KEY.npz`` is recorded, when it is written, in the table
``array_files (hash, sha256, size)`` of ``RUN/sweep.sqlite``, in the same transaction as
its task's row.  Readers check it against that record:

* *quick* (:func:`ntkjam.sweep.load`): the file exists and has the recorded size;
* *full* (:func:`ntkjam.sweep.load_arrays`, ``ntkjam sweep status``, a resume): its
  SHA-256 equals the recorded one, so a truncated, altered or swapped file is caught.

Stores written before checksums were recorded have no ``array_files`` row: their files
are checked for existence and loadability only (the zip's central directory, and in a
full check the CRC-32 of every member).  A problem is an error, :class:`StoreCorrupt`,
never an empty result.

Also here: the atomic writes (array files, also ahead of their rows on a few threads:
:class:`AheadWriter`; the database itself, created complete under a temporary name so
that an empty ``sweep.sqlite`` is always damage), the clean-up of
temporaries a killed writer left, read-only connections that work on read-only media,
and the translation of SQLite errors into the errors they stand for (disk full is
``ENOSPC`` naming the file, not "cannot rollback").
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import io
import os
import sqlite3
import time
import zipfile
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_for
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "ARRAYS_DIR",
    "AheadWriter",
    "DB_NAME",
    "FILES_SCHEMA",
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

ARRAYS_DIR = "arrays"
DB_NAME = "sweep.sqlite"

FILES_SCHEMA = """
CREATE TABLE IF NOT EXISTS array_files (
    hash TEXT PRIMARY KEY,
    sha256 TEXT NOT NULL,
    size INTEGER NOT NULL
);
"""

_CHUNK = 1 << 20


class StoreCorrupt(ValueError):
    """Part of a run directory is missing, truncated or altered (named in the message).

    A :class:`ValueError`, so the command line prints it as one line and exits 2.
    """


def file_digest(path: str | Path) -> tuple[str, int]:
    """SHA-256 (hex) and size in bytes of a file."""
    h = hashlib.sha256()
    size = 0
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            h.update(chunk)
            size += len(chunk)
    return h.hexdigest(), size


def _zip_problem(source: Any, names: Iterable[str], full: bool) -> str | None:
    """What is wrong with an .npz (path or file object) holding ``names``; None if nothing."""
    try:
        with zipfile.ZipFile(source) as zf:
            members = sorted(zf.namelist())
            if full:
                bad = zf.testzip()  # reads every member, checking its CRC-32
                if bad is not None:
                    return f"member {bad!r} fails its CRC-32 check"
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
        return f"not a readable array file ({exc})"
    expected = sorted(f"{n}.npy" for n in names)
    if members != expected:
        return f"holds arrays {[m.removesuffix('.npy') for m in members]}, expected {sorted(names)}"
    return None


def check_array_file(
    path: Path, names: Iterable[str], record: tuple[str, int] | None, *, full: bool
) -> str | None:
    """What is wrong with one array file, or None.

    Parameters
    ----------
    path : Path
        ``RUN/arrays/KEY.npz``.
    names : iterable of str
        Array names the task's row lists.
    record : (sha256, size) or None
        What was recorded when the file was written (None: a store from before checksums).
    full : bool
        Compare the SHA-256 (or, without a record, every member's CRC-32); otherwise only
        the existence and size (or, without a record, the zip directory).
    """
    try:
        st = path.stat()
    except FileNotFoundError:
        return "missing"
    except OSError as exc:
        return f"cannot be read ({exc.strerror})"
    if not path.is_file():
        return "not a regular file"
    if record is None:
        return _zip_problem(path, names, full)
    sha256, size = record
    if st.st_size != size:
        return f"truncated or altered: {st.st_size} bytes, {size} recorded when written"
    if full:
        try:
            digest, _ = file_digest(path)
        except OSError as exc:
            return f"cannot be read ({exc.strerror})"
        if digest != sha256:
            return "content differs from the SHA-256 recorded when it was written"
    return None


def check_bytes(data: bytes, names: Iterable[str], record: tuple[str, int] | None) -> str | None:
    """:func:`check_array_file` (full) on the bytes of a file already read."""
    if record is None:
        return _zip_problem(io.BytesIO(data), names, True)
    sha256, size = record
    if len(data) != size:
        return f"truncated or altered: {len(data)} bytes, {size} recorded when written"
    if hashlib.sha256(data).hexdigest() != sha256:
        return "content differs from the SHA-256 recorded when it was written"
    return None


def verify_rows(
    directory: str | Path, rows: Iterable[Mapping[str, Any]], *, full: bool
) -> list[tuple[str, Path, str]]:
    """The damaged array files of ``rows`` (from :func:`ntkjam.sweep.store.read_rows`).

    Returns
    -------
    list of (key, path, problem)
        One entry per ``done`` row that lists arrays whose file is missing or fails its
        check (see :func:`check_array_file`).
    """
    base = Path(directory) / ARRAYS_DIR
    problems = []
    for row in rows:
        if row["status"] != "done" or not row["arrays"]:
            continue
        path = base / f"{row['hash']}.npz"
        problem = check_array_file(path, row["arrays"], row.get("file"), full=full)
        if problem is not None:
            problems.append((row["hash"], path, problem))
    return problems


def corrupt_error(directory: str | Path, problems: list[tuple[str, Path, str]]) -> StoreCorrupt:
    """One :class:`StoreCorrupt` naming the first damaged files and the way to repair them."""
    first = "; ".join(f"{str(p)!r} is {what}" for _, p, what in problems[:3])
    more = f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""
    return StoreCorrupt(
        f"run directory {str(directory)!r} has {len(problems)} damaged array file(s): "
        f"{first}{more}; run `ntkjam sweep run` on its spec again to recompute exactly "
        "those tasks"
    )


def remove_stray_temporaries(directory: str | Path, db_name: str) -> list[Path]:
    """Delete the temporary files a killed writer left (``arrays/.*.tmp`` and the like).

    Call only while holding the directory's lock: no writer is then running, so every
    such file is left over.  Export temporaries (``.results.*.tmp``) are left alone, as
    an export may be running.
    """
    root = Path(directory)
    patterns = [
        (root / ARRAYS_DIR, ".*.tmp"),
        (root, ".spec.toml.*.tmp"),
        (root, f".{db_name}.*.tmp"),
        (root, f".{db_name}.*.tmp-journal"),
    ]
    removed = []
    for folder, pattern in patterns:
        if not folder.is_dir():
            continue
        for path in folder.glob(pattern):
            if path.is_file():
                path.unlink()
                removed.append(path)
    return removed


def sqlite_error(exc: sqlite3.Error, path: Path, *, reading: bool = False) -> Exception:
    """An SQLite error as the error it stands for, naming ``path``.

    Disk full and I/O errors become :class:`OSError` (``ENOSPC``, ``EIO``), a read-only
    or unopenable file ``OSError`` (``EROFS``/``EACCES``), a damaged file
    :class:`StoreCorrupt`; anything else a ``ValueError`` with SQLite's message.
    """
    code = getattr(exc, "sqlite_errorcode", None)
    primary = code & 0xFF if isinstance(code, int) else None
    if primary == sqlite3.SQLITE_FULL:
        return OSError(errno.ENOSPC, f"{os.strerror(errno.ENOSPC)} (SQLite: {exc})", str(path))
    if primary == sqlite3.SQLITE_IOERR:
        return OSError(errno.EIO, f"input/output error (SQLite: {exc})", str(path))
    if primary == sqlite3.SQLITE_READONLY:
        return OSError(errno.EROFS, f"cannot write (SQLite: {exc})", str(path))
    if primary in (sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_PERM):
        return OSError(errno.EACCES, f"cannot open (SQLite: {exc})", str(path))
    if primary in (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB):
        usable = "readable" if reading else "usable"
        return StoreCorrupt(f"{str(path)!r} is not a {usable} sweep database: {exc}")
    return ValueError(f"{str(path)!r}: {exc}")


def atomic_savez(path: Path, arrays: Mapping[str, np.ndarray]) -> tuple[str, int]:
    """Write ``arrays`` as the .npz ``path`` (temporary name, fsync, rename).

    Returns the SHA-256 and size of the file as written.  An :class:`OSError` (disk
    full, read-only file system, ...) names ``path``; the temporary file is removed.
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
        Threads writing array files.
    depth : int
        Most items waiting for their file; :meth:`put` waits beyond that.  Items still
        waiting when the process is killed have no row and run again on resume.
    """

    def __init__(self, directory: str | Path, commit: Callable[[Any, tuple[str, int] | None], None],
                 *, threads: int = 4, depth: int = 32):
        self._base = Path(directory) / ARRAYS_DIR
        self._commit, self._depth = commit, depth
        self._pool = ThreadPoolExecutor(threads, thread_name_prefix="ntkjam-arrays")
        self._waiting: deque[tuple[Any, Future | None]] = deque()

    def put(self, key: str, arrays: Mapping[str, np.ndarray], item: Any) -> None:
        """Start writing ``arrays`` as ``arrays/KEY.npz``; commit the items whose file is done.

        Raises
        ------
        OSError
            From writing an earlier item's file (naming it); that item and those after
            it are not committed.
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
        """Commit every item put, waiting for their files."""
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


def check_database_file(path: Path, *, missing_ok: bool) -> None:
    """Refuse an empty or non-regular ``sweep.sqlite`` (never mistaken for a fresh start)."""
    try:
        st = path.stat()
    except FileNotFoundError:
        if missing_ok:
            return
        raise ValueError(
            f"{str(path.parent)!r} is not a sweep run directory (no {DB_NAME} in it)"
        ) from None
    if not path.is_file():
        raise StoreCorrupt(f"{str(path)!r} is not a regular file")
    if st.st_size == 0:
        n = sum(1 for _ in (path.parent / ARRAYS_DIR).glob("*.npz"))
        raise StoreCorrupt(
            f"{str(path)!r} is empty (0 bytes): the table of results was lost or truncated "
            f"({n} array file(s) remain in {ARRAYS_DIR}/); restore it from a backup, or "
            "delete the run directory to start afresh"
        )


def create_database(path: Path, schema: str) -> None:
    """Create an empty sweep database complete under a temporary name, then rename it."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        db = sqlite3.connect(tmp, isolation_level=None)
        try:
            db.executescript(schema)
        finally:
            db.close()
        os.replace(tmp, path)
    except sqlite3.Error as exc:
        raise sqlite_error(exc, path) from None
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink()


def directory_writable(directory: Path) -> bool:
    """Whether this process may create files in ``directory`` (False on read-only media).

    ``os.access`` answers for the real user and reports a read-only mount (EROFS) even
    to root; the tests replace this function to simulate a read-only directory.
    """
    return os.access(directory, os.W_OK)


def connect_readonly(directory: str | Path) -> sqlite3.Connection:
    """A read-only connection; on a read-only directory, one that needs no -wal/-shm files.

    A database left in WAL mode with unmerged writes (its sweep was killed) cannot be
    opened ``immutable`` without ignoring those writes: it is then opened in plain
    read-only mode, which works if its ``-shm`` file exists, and otherwise fails with
    a message saying what to do.
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


def load_verified(
    path: Path, names: list[str], record: tuple[str, int] | None
) -> dict[str, np.ndarray]:
    """The arrays of the .npz ``path`` once its bytes pass their check (see :func:`check_bytes`).

    Read once, checked, then loaded from memory with ``allow_pickle=False``.

    Raises
    ------
    StoreCorrupt
        The file is missing, fails its check or cannot be loaded.
    """
    key = path.stem[:12]
    advice = "run `ntkjam sweep run` on its spec again to recompute it"
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise StoreCorrupt(f"array file {str(path)!r} of task {key} is missing; {advice}") from None
    except OSError as exc:
        raise OSError(exc.errno, f"cannot read array file: {exc.strerror}", str(path)) from None
    problem = check_bytes(data, names, record)
    if problem is None:
        try:
            with np.load(io.BytesIO(data), allow_pickle=False) as npz:
                return {name: npz[name] for name in npz.files}
        except (ValueError, OSError, EOFError, zipfile.BadZipFile) as exc:
            problem = f"not a readable array file ({exc})"
    raise StoreCorrupt(f"array file {str(path)!r} of task {key} is {problem}; {advice}")


def query_readonly(directory: str | Path, run: Any) -> Any:
    """``run(connection)`` on a fresh read-only connection, retried while the writer holds a lock.

    SQLite errors become errors naming the database (see
    :func:`ntkjam.sweep.integrity.sqlite_error`).
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
