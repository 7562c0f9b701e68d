"""Checksums of a run directory's array files: recording, checking, loading verified.

Every array file ``RUN/arrays/KEY.npz`` is recorded, when it is written, in the table
``array_files (hash, sha256, size)`` of ``RUN/sweep.sqlite`` (:data:`FILES_SCHEMA`), in
the same transaction as its task's row.  Readers check it against that record:

* *quick* (:func:`ntkjam.sweep.load`): the file exists and has the recorded size;
* *full* (:func:`ntkjam.sweep.load_arrays`, ``ntkjam sweep status``, a resume): its
  SHA-256 equals the recorded one, so a truncated, altered or swapped file is caught.

Stores written before checksums were recorded have no ``array_files`` row: their files
are checked for existence and loadability only (the zip's central directory, and in a
full check the CRC-32 of every member).  A problem is an error, :class:`StoreCorrupt`,
never an empty result.  The writes and the database connections are in
:mod:`ntkjam.sweep.integrity`, which re-exports everything here.
"""

from __future__ import annotations

import hashlib
import io
import zipfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "ARRAYS_DIR",
    "FILES_SCHEMA",
    "StoreCorrupt",
    "check_array_file",
    "check_bytes",
    "corrupt_error",
    "file_digest",
    "load_verified",
    "verify_rows",
]

ARRAYS_DIR = "arrays"

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

    Examples
    --------
    >>> from ntkjam.sweep import StoreCorrupt
    >>> from ntkjam.sweep.checksums import load_verified
    >>> from pathlib import Path
    >>> try:
    ...     load_verified(Path("arrays", "0123456789abcdef.npz"), ["a"], None)
    ... except StoreCorrupt as exc:
    ...     print(isinstance(exc, ValueError), "is missing" in str(exc))
    True True
    """


def file_digest(path: str | Path) -> tuple[str, int]:
    """SHA-256 (hex) and size in bytes of a file, read in chunks of 1 MiB.

    Parameters
    ----------
    path : path
        The file.

    Returns
    -------
    sha256 : str
        64 hexadecimal digits.
    size : int
        Bytes read.

    Examples
    --------
    >>> import hashlib, tempfile
    >>> from pathlib import Path
    >>> from ntkjam.sweep.checksums import file_digest
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = Path(tmp, "x.bin")
    ...     _ = path.write_bytes(b"abc")
    ...     digest, size = file_digest(path)
    >>> size, digest == hashlib.sha256(b"abc").hexdigest()
    (3, True)
    """
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

    Returns
    -------
    str or None
        The problem in words ("missing", "truncated or altered: ...", ...); None when
        the file passes.

    Examples
    --------
    A file as recorded passes; one byte changed in place (same size) is caught by the
    full check only:

    >>> import tempfile
    >>> import numpy as np
    >>> from pathlib import Path
    >>> from ntkjam.sweep.checksums import check_array_file, file_digest
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = Path(tmp, "k.npz")
    ...     np.savez(path, a=np.arange(4.0))
    ...     record = file_digest(path)
    ...     ok = check_array_file(path, ["a"], record, full=True)
    ...     data = bytearray(path.read_bytes()); data[-30] ^= 1
    ...     _ = path.write_bytes(bytes(data))
    ...     quick = check_array_file(path, ["a"], record, full=False)
    ...     full = check_array_file(path, ["a"], record, full=True)
    ...     gone = check_array_file(Path(tmp, "other.npz"), ["a"], record, full=False)
    >>> ok, quick, full, gone
    (None, None, 'content differs from the SHA-256 recorded when it was written', 'missing')
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
    """:func:`check_array_file` (full) on the bytes of a file already read.

    Parameters
    ----------
    data : bytes
        The whole file.
    names : iterable of str
        Array names the task's row lists (checked only without a record).
    record : (sha256, size) or None
        What was recorded when the file was written (None: check the zip's members and
        their CRC-32 instead).

    Returns
    -------
    str or None
        The problem in words, or None.

    Examples
    --------
    >>> import hashlib, io
    >>> import numpy as np
    >>> from ntkjam.sweep.checksums import check_bytes
    >>> buf = io.BytesIO(); np.savez(buf, a=np.zeros(3)); data = buf.getvalue()
    >>> record = (hashlib.sha256(data).hexdigest(), len(data))
    >>> check_bytes(data, ["a"], record), check_bytes(data, ["a", "b"], None)
    (None, "holds arrays ['a'], expected ['a', 'b']")
    >>> check_bytes(data[:-1], ["a"], record).startswith("truncated or altered")
    True
    """
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

    Parameters
    ----------
    directory : path
        The run directory (files under ``directory/arrays``).
    rows : iterable of mapping
        ``hash``, ``status``, ``arrays`` (names) and ``file`` (the record, or None).
    full : bool
        Passed to :func:`check_array_file`.

    Returns
    -------
    list of (key, path, problem)
        One entry per ``done`` row that lists arrays whose file is missing or fails its
        check (see :func:`check_array_file`).

    Examples
    --------
    >>> from ntkjam.sweep.checksums import verify_rows
    >>> rows = [{"hash": "k1", "status": "done", "arrays": ["a"], "file": None},
    ...         {"hash": "k2", "status": "failed", "arrays": ["a"], "file": None},
    ...         {"hash": "k3", "status": "done", "arrays": [], "file": None}]
    >>> [(key, path.as_posix(), what) for key, path, what in verify_rows("run", rows, full=True)]
    [('k1', 'run/arrays/k1.npz', 'missing')]
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
    """One :class:`StoreCorrupt` naming the first damaged files and the way to repair them.

    Parameters
    ----------
    directory : path
        The run directory.
    problems : list of (key, path, problem)
        From :func:`verify_rows` (at least one).

    Returns
    -------
    StoreCorrupt
        Not raised: the caller raises it.

    Examples
    --------
    >>> from pathlib import Path
    >>> from ntkjam.sweep.checksums import corrupt_error
    >>> problems = [(f"k{i}", Path(f"k{i}.npz"), "missing") for i in range(5)]
    >>> print(corrupt_error("run", problems))  # doctest: +NORMALIZE_WHITESPACE
    run directory 'run' has 5 damaged array file(s): 'k0.npz' is missing; 'k1.npz' is
    missing; 'k2.npz' is missing (and 2 more); run `ntkjam sweep run` on its spec again to
    recompute exactly those tasks
    """
    first = "; ".join(f"{str(p)!r} is {what}" for _, p, what in problems[:3])
    more = f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""
    return StoreCorrupt(
        f"run directory {str(directory)!r} has {len(problems)} damaged array file(s): "
        f"{first}{more}; run `ntkjam sweep run` on its spec again to recompute exactly "
        "those tasks"
    )


def load_verified(
    path: Path, names: list[str], record: tuple[str, int] | None
) -> dict[str, np.ndarray]:
    """The arrays of the .npz ``path`` once its bytes pass their check (see :func:`check_bytes`).

    Read once, checked, then loaded from memory with ``allow_pickle=False``.

    Parameters
    ----------
    path : Path
        ``RUN/arrays/KEY.npz``.
    names : list of str
        Array names the task's row lists.
    record : (sha256, size) or None
        What was recorded when the file was written.

    Returns
    -------
    dict[str, numpy.ndarray]
        Name → array, with the shapes and dtypes written.

    Raises
    ------
    StoreCorrupt
        The file is missing, fails its check or cannot be loaded.

    Examples
    --------
    >>> import tempfile
    >>> import numpy as np
    >>> from pathlib import Path
    >>> from ntkjam.sweep.checksums import file_digest, load_verified
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = Path(tmp, "0123456789abcdef.npz")
    ...     np.savez(path, eigenvalues=np.linspace(0.0, 1.0, 5))
    ...     arrays = load_verified(path, ["eigenvalues"], file_digest(path))
    >>> arrays["eigenvalues"].shape, arrays["eigenvalues"].dtype
    ((5,), dtype('float64'))
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

