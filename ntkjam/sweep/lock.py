"""One writer per run directory: the lock file and the error a second writer gets."""

from __future__ import annotations

import os
import socket
from datetime import UTC, datetime
from pathlib import Path

try:  # POSIX advisory locks; released by the kernel when the holder dies, even on SIGKILL
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

__all__ = ["LOCK_NAME", "DirectoryLock", "RunDirectoryBusy"]

LOCK_NAME = ".lock"


class RunDirectoryBusy(RuntimeError):
    """Another process holds the run directory's lock.

    Examples
    --------
    >>> import tempfile
    >>> from ntkjam.sweep.store import DirectoryLock, RunDirectoryBusy
    >>> with tempfile.TemporaryDirectory() as tmp, DirectoryLock(tmp):
    ...     try:
    ...         DirectoryLock(tmp).acquire()  # a second sweep on the same directory
    ...     except RunDirectoryBusy as err:
    ...         print("in use by another sweep" in str(err))
    True
    """


class DirectoryLock:
    """Exclusive lock on a run directory (``RUN/.lock``), held for the life of a sweep.

    Uses ``flock``: the kernel releases it when the holder exits or is killed, so a
    crashed run never leaves a stale lock.  (Advisory, and not reliable on some network
    file systems: do not point two hosts at the same run directory.)

    Examples
    --------
    >>> import tempfile
    >>> from ntkjam.sweep.store import DirectoryLock
    >>> with tempfile.TemporaryDirectory() as tmp, DirectoryLock(tmp) as lock:  # acquired
    ...     print(lock.path.name, lock.path.read_text().startswith("pid "))
    .lock True
    """

    def __init__(self, directory: str | Path):
        self.path = Path(directory) / LOCK_NAME
        self._fd: int | None = None

    def acquire(self) -> None:
        """Take the lock or raise :class:`RunDirectoryBusy` naming the holder.

        Examples
        --------
        >>> import tempfile
        >>> with tempfile.TemporaryDirectory() as tmp, DirectoryLock(tmp) as lock:
        ...     lock.acquire()  # as a second sweep would
        Traceback (most recent call last):
        ntkjam.sweep.lock.RunDirectoryBusy: run directory '...' is in use by another sweep ...
        """
        if fcntl is None:  # pragma: no cover - Windows
            raise RuntimeError("locking a run directory needs a POSIX system (fcntl)")
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 512).decode("utf-8", "replace").strip() or "unknown process"
            os.close(fd)
            raise RunDirectoryBusy(
                f"run directory {str(self.path.parent)!r} is in use by another sweep "
                f"({holder}); wait for it to finish, or use another output directory"
            ) from None
        os.ftruncate(fd, 0)
        since = datetime.now(UTC).isoformat(timespec="milliseconds")
        os.write(fd, f"pid {os.getpid()} on {socket.gethostname()} since {since}".encode())
        self._fd = fd

    def release(self) -> None:
        """Release the lock (idempotent).

        Examples
        --------
        >>> import tempfile
        >>> with tempfile.TemporaryDirectory() as tmp, DirectoryLock(tmp) as lock:
        ...     lock.release(); lock.release(); lock.path.read_text()  # free, holder erased
        ''
        """
        if self._fd is not None:
            fd, self._fd = self._fd, None
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    def __enter__(self) -> DirectoryLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
