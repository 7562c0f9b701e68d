"""The sweep database file: created complete, never empty, its errors named.

``RUN/sweep.sqlite`` (:data:`DB_NAME`) is created complete under a temporary name and
renamed (:func:`create_database`), so an empty file under that name is always damage
(:func:`check_database_file`), never a fresh start.  SQLite's errors are translated
into the errors they stand for (:func:`sqlite_error`: disk full is ``ENOSPC`` naming
the file, not "cannot rollback"), and the temporaries a killed writer left are removed
(:func:`remove_stray_temporaries`).  All of it is re-exported by
:mod:`ntkjam.sweep.integrity`.
"""

from __future__ import annotations

import contextlib
import errno
import os
import sqlite3
from pathlib import Path

from ntkjam.sweep.checksums import ARRAYS_DIR, StoreCorrupt

__all__ = [
    "DB_NAME",
    "check_database_file",
    "create_database",
    "remove_stray_temporaries",
    "sqlite_error",
]

DB_NAME = "sweep.sqlite"


def remove_stray_temporaries(directory: str | Path, db_name: str) -> list[Path]:
    """Delete the temporary files a killed writer left (``arrays/.*.tmp`` and the like).

    Call only while holding the directory's lock: no writer is then running, so every
    such file is left over.  Export temporaries (``.results.*.tmp``) are left alone, as
    an export may be running.

    Parameters
    ----------
    directory : path
        The run directory.
    db_name : str
        The database's file name (:data:`DB_NAME`).

    Returns
    -------
    list of Path
        The files deleted.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from ntkjam.sweep.database import DB_NAME, remove_stray_temporaries
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     Path(tmp, "arrays").mkdir()
    ...     _ = Path(tmp, "arrays", ".k1.npz.123.tmp").write_bytes(b"half")
    ...     _ = Path(tmp, ".results.csv.9.tmp").write_bytes(b"export")
    ...     removed = remove_stray_temporaries(tmp, DB_NAME)
    ...     kept = sorted(p.name for p in Path(tmp).iterdir())
    >>> [p.name for p in removed], kept
    (['.k1.npz.123.tmp'], ['.results.csv.9.tmp', 'arrays'])
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

    Parameters
    ----------
    exc : sqlite3.Error
        As raised by :mod:`sqlite3`.
    path : Path
        The database file, named in the error.
    reading : bool
        Word a damaged file as "not a readable" (rather than "usable") database.

    Returns
    -------
    Exception
        Not raised: the caller raises it (``from None``).

    Examples
    --------
    >>> import sqlite3, tempfile
    >>> from pathlib import Path
    >>> from ntkjam.sweep.database import sqlite_error
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = Path(tmp, "sweep.sqlite")
    ...     _ = path.write_bytes(b"not a database" * 100)
    ...     try:
    ...         sqlite3.connect(path).execute("SELECT 1 FROM sqlite_master").fetchall()
    ...     except sqlite3.Error as exc:
    ...         err = sqlite_error(exc, path, reading=True)
    >>> type(err).__name__, "is not a readable sweep database" in str(err)
    ('StoreCorrupt', True)
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


def check_database_file(path: Path, *, missing_ok: bool) -> None:
    """Refuse an empty or non-regular ``sweep.sqlite`` (never mistaken for a fresh start).

    Parameters
    ----------
    path : Path
        ``RUN/sweep.sqlite``.
    missing_ok : bool
        Accept a file that does not exist (a new run directory); otherwise that is a
        :class:`ValueError` ("not a sweep run directory").

    Raises
    ------
    StoreCorrupt
        The file is empty (0 bytes) or not a regular file.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from ntkjam.sweep.database import StoreCorrupt, check_database_file
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = Path(tmp, "sweep.sqlite")
    ...     check_database_file(path, missing_ok=True)  # a fresh start: fine
    ...     _ = path.write_bytes(b"")
    ...     try:
    ...         check_database_file(path, missing_ok=True)
    ...     except StoreCorrupt as exc:
    ...         print("is empty (0 bytes)" in str(exc))
    True
    """
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
    """Create an empty sweep database complete under a temporary name, then rename it.

    Parameters
    ----------
    path : Path
        ``RUN/sweep.sqlite`` (replaced if it exists).
    schema : str
        SQL run on the new database (e.g. :data:`ntkjam.sweep.checksums.FILES_SCHEMA`).

    Examples
    --------
    >>> import sqlite3, tempfile
    >>> from pathlib import Path
    >>> from ntkjam.sweep.checksums import FILES_SCHEMA
    >>> from ntkjam.sweep.database import create_database
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = Path(tmp, "sweep.sqlite")
    ...     create_database(path, FILES_SCHEMA)
    ...     with sqlite3.connect(path) as db:
    ...         tables = db.execute("SELECT name FROM sqlite_master").fetchall()
    ...     db.close()
    ...     complete = path.stat().st_size > 0  # never an empty file under its name
    ...     leftovers = [p.name for p in Path(tmp).iterdir() if p != path]
    >>> tables, complete, leftovers
    ([('array_files',), ('sqlite_autoindex_array_files_1',)], True, [])
    """
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
