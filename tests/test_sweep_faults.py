"""Store faults: each one is an error naming the path, or is repaired; no result is lost.

Missing, truncated, altered and swapped array files; a store from before checksums;
temporary files left by SIGKILL; a read-only run directory; an empty ``sweep.sqlite``;
disk full (injected, and on a real tmpfs in a slow test); the Dask cluster's HTTP
servers; file-system errors of the command line.  See "Faults and what you see" in
docs/sweeps.md.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import signal
import socket
import sqlite3
import stat
import subprocess
import uuid
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sweep_testing import PYTHON, comparable, count_lines, subprocess_env, write_spec
from typer.testing import CliRunner

import ntkjam
from ntkjam import sweep
from ntkjam.cli import app
from ntkjam.sweep import integrity, store
from ntkjam.sweep.integrity import StoreCorrupt

runner = CliRunner()


def invoke(*args: object):
    return runner.invoke(app, ["sweep", *map(str, args)])


def one_error_line(result) -> str:
    """The single line a refused command printed (and check there was only one)."""
    lines = [ln for ln in result.output.splitlines() if ln.strip()]
    assert "Traceback" not in result.output, result.output
    assert len(lines) == 1, result.output
    assert lines[0].startswith("error:"), result.output
    return lines[0]


def big_arrays(params: dict, seed: int) -> dict:
    """An experiment with 64 KiB of arrays per task (fills a small file system fast)."""
    x = float(params["x"])
    return {"v": x, "arrays": {"a": np.full(8192, x)}}


@pytest.fixture
def counter(tmp_path, monkeypatch):
    path = tmp_path / "executions.txt"
    monkeypatch.setenv("NTKJAM_SWEEP_COUNTER", str(path))
    return path


def _finished_run(tmp_path: Path, n: int = 6):
    spec = write_spec(tmp_path / "s.toml", n=n)
    summary = sweep.run(spec)
    df = sweep.load(summary.directory)
    arrays = {k: sweep.load_arrays(summary.directory, k) for k in df.hash}
    return spec, summary.directory, df, arrays


def _assert_same_arrays(directory: Path, reference: dict) -> None:
    for key, ref in reference.items():
        got = sweep.load_arrays(directory, key)
        assert got.keys() == ref.keys()
        for name in ref:
            np.testing.assert_array_equal(got[name], ref[name])


def _executed_x(counter: Path, since: int = 0) -> list[int]:
    return sorted(int(line.split()[0]) for line in count_lines(counter)[since:])


# ---------------------------------------------------------------------------------------
# array files: missing, truncated, altered, swapped


def test_missing_array_file_is_an_error_everywhere_and_a_resume_recomputes_only_it(
    tmp_path, counter
):
    spec, run_dir, df, arrays = _finished_run(tmp_path)
    key = df.hash[2]
    path = run_dir / "arrays" / f"{key}.npz"
    path.unlink()

    for load in (sweep.load, ntkjam.load):
        with pytest.raises(StoreCorrupt, match="1 damaged array file") as info:
            load(run_dir)
        assert str(path) in str(info.value) and "missing" in str(info.value)
    with pytest.raises(StoreCorrupt, match="missing") as info:
        sweep.load_arrays(run_dir, key)
    assert str(path) in str(info.value)
    assert isinstance(info.value, ValueError)  # the CLI's one-line exit 2

    status = invoke("status", run_dir)
    assert status.exit_code == 1, status.output
    text = " ".join(status.output.split())
    assert "1 with a missing or damaged array file" in text and key[:12] in text
    assert "missing" in text
    export = invoke("export", run_dir, "-f", "csv")
    assert export.exit_code == 2 and str(path) in one_error_line(export)
    assert sweep.summarize(run_dir).damaged == [(key, path, "missing")]

    before = len(count_lines(counter))
    summary = sweep.run(spec)
    assert (summary.repaired, summary.skipped, summary.done) == (1, 5, 1)
    assert _executed_x(counter, before) == [2]  # that task, and nothing else
    pd.testing.assert_frame_equal(comparable(sweep.load(run_dir)), comparable(df))
    _assert_same_arrays(run_dir, arrays)
    assert sweep.summarize(run_dir).damaged == []


@pytest.mark.parametrize("damage", ["truncate", "flip", "empty", "junk"])
def test_damaged_array_file_is_caught_by_its_checksum_and_recomputed(
    tmp_path, counter, damage
):
    spec, run_dir, df, arrays = _finished_run(tmp_path)
    key = df.hash[4]
    path = run_dir / "arrays" / f"{key}.npz"
    data = path.read_bytes()
    if damage == "truncate":
        path.write_bytes(data[: len(data) // 2])
    elif damage == "flip":  # same size, one byte of an array changed
        path.write_bytes(data[:-30] + bytes([data[-30] ^ 0xFF]) + data[-29:])
    elif damage == "empty":
        path.write_bytes(b"")
    else:
        path.write_bytes(os.urandom(len(data)))

    with pytest.raises(StoreCorrupt) as info:
        sweep.load_arrays(run_dir, key)
    message = str(info.value)
    assert str(path) in message
    assert ("truncated" in message) if damage in ("truncate", "empty") else (
        "differs from the SHA-256" in message
    )
    if damage in ("truncate", "empty"):  # the quick check (size) of load() sees it
        with pytest.raises(StoreCorrupt, match="truncated"):
            sweep.load(run_dir)
    assert [k for k, _, _ in sweep.summarize(run_dir).damaged] == [key]

    before = len(count_lines(counter))
    summary = sweep.run(spec)
    assert summary.repaired == 1 and _executed_x(counter, before) == [4]
    assert path.read_bytes() == data  # recomputed to the very same file
    _assert_same_arrays(run_dir, arrays)


def test_swapped_array_files_are_detected_and_both_recomputed(tmp_path, counter):
    spec, run_dir, df, arrays = _finished_run(tmp_path)
    a, b = (run_dir / "arrays" / f"{k}.npz" for k in (df.hash[1], df.hash[3]))
    assert a.stat().st_size == b.stat().st_size  # a swap passes any size check
    tmp = a.with_suffix(".swap")
    a.rename(tmp)
    b.rename(a)
    tmp.rename(b)

    for key in (df.hash[1], df.hash[3]):
        with pytest.raises(StoreCorrupt, match="differs from the SHA-256"):
            sweep.load_arrays(run_dir, key)
    assert sorted(k for k, _, _ in sweep.summarize(run_dir).damaged) == sorted(
        [df.hash[1], df.hash[3]]
    )
    before = len(count_lines(counter))
    summary = sweep.run(spec)
    assert summary.repaired == 2 and _executed_x(counter, before) == [1, 3]
    _assert_same_arrays(run_dir, arrays)


def test_a_store_from_before_checksums_is_read_and_checked_for_loadability(tmp_path, counter):
    spec, run_dir, df, arrays = _finished_run(tmp_path)
    db = sqlite3.connect(run_dir / "sweep.sqlite")
    db.execute("DROP TABLE array_files")  # what a store written before this change holds
    db.commit()
    db.close()
    assert len(sweep.load(run_dir)) == 6
    _assert_same_arrays(run_dir, arrays)  # no checksum recorded: read as before

    missing = run_dir / "arrays" / f"{df.hash[0]}.npz"
    missing.unlink()
    truncated = run_dir / "arrays" / f"{df.hash[5]}.npz"
    truncated.write_bytes(truncated.read_bytes()[:-100])
    with pytest.raises(StoreCorrupt, match="2 damaged array file"):
        sweep.load(run_dir)
    with pytest.raises(StoreCorrupt, match="not a readable array file"):
        sweep.load_arrays(run_dir, df.hash[5])
    before = len(count_lines(counter))
    assert sweep.run(spec).repaired == 2
    assert _executed_x(counter, before) == [0, 5]
    _assert_same_arrays(run_dir, arrays)
    # the two recomputed files now have checksums; the others still have none
    db = sqlite3.connect(run_dir / "sweep.sqlite")
    assert db.execute("SELECT count(*) FROM array_files").fetchone()[0] == 2
    db.close()


# ---------------------------------------------------------------------------------------
# SIGKILL during the atomic write


KILL_AT_THIRD_RENAME = """
import os, signal, sys
real = os.replace
calls = []
def replace(src, dst):
    if str(src).endswith(".tmp") and os.sep + "arrays" + os.sep in str(src):
        calls.append(src)
        if len(calls) == 3:
            os.kill(os.getpid(), signal.SIGKILL)  # array file written, not yet renamed
    return real(src, dst)
os.replace = replace
from ntkjam.sweep import run
run(sys.argv[1], workers=1)
"""


def test_temporaries_left_by_sigkill_are_removed_on_resume(tmp_path, counter):
    spec = write_spec(tmp_path / "s.toml", n=6)
    run_dir = tmp_path / "run"
    proc = subprocess.run(
        [PYTHON, "-c", KILL_AT_THIRD_RENAME, str(spec)], env=subprocess_env(counter),
        capture_output=True, timeout=120, check=False,
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr.decode()
    stray = list((run_dir / "arrays").glob(".*.tmp"))
    assert len(stray) == 1  # the one the kill left
    assert len(sweep.load(run_dir)) == 2
    (run_dir / ".spec.toml.99999.tmp").write_text("left by a killed run")

    before = len(count_lines(counter))
    summary = sweep.run(spec)
    assert summary.temporaries_removed == 2
    assert not list(run_dir.rglob("*.tmp"))
    assert (summary.skipped, summary.done, summary.repaired) == (2, 4, 0)
    assert _executed_x(counter, before) == [2, 3, 4, 5]
    reference = sweep.run(spec, output=tmp_path / "reference")
    pd.testing.assert_frame_equal(comparable(sweep.load(run_dir)),
                                  comparable(sweep.load(reference.directory)))


# ---------------------------------------------------------------------------------------
# read-only run directory


@contextlib.contextmanager
def read_only_view(source: Path):
    """``source`` bind-mounted read-only (a real read-only file system, even for root)."""
    target = source.parent / f"ro-{uuid.uuid4().hex[:8]}"
    target.mkdir()
    try:
        mounted = subprocess.run(["mount", "--bind", str(source), str(target)],
                                 capture_output=True, check=False).returncode == 0
        if not mounted:
            pytest.skip("needs `mount --bind` (root in a container that allows it)")
        try:
            if subprocess.run(["mount", "-o", "remount,ro,bind", str(target)],
                              capture_output=True, check=False).returncode != 0:
                pytest.skip("cannot remount read-only")
            assert not os.access(target, os.W_OK)
            yield target
        finally:
            subprocess.run(["umount", "-l", str(target)], check=False)
    finally:
        with contextlib.suppress(OSError):
            target.rmdir()


def test_finished_run_is_readable_on_a_read_only_file_system(tmp_path):
    spec, run_dir, df, arrays = _finished_run(tmp_path)
    # a finished run is one self-contained file: readers need no -wal/-shm
    assert sorted(p.name for p in run_dir.glob("sweep.sqlite*")) == ["sweep.sqlite"]
    with read_only_view(run_dir) as ro:
        pd.testing.assert_frame_equal(ntkjam.load(ro), df)
        _assert_same_arrays(ro, arrays)
        status = invoke("status", ro)
        assert status.exit_code == 0, status.output
        assert "6 done" in status.output
        out = tmp_path / "table.csv"
        export = invoke("export", ro, "-o", out)
        assert export.exit_code == 0, export.output
        assert len(pd.read_csv(out)) == 6
        # writing is refused with one line naming the path
        default_export = invoke("export", ro)
        assert default_export.exit_code == 2
        assert str(ro) in one_error_line(default_export)
        rerun = invoke("run", spec, "-w", "1", "-q", "-o", ro)
        assert rerun.exit_code == 2
        assert "Read-only file system" in one_error_line(rerun)
        assert str(ro) in one_error_line(rerun)
    pd.testing.assert_frame_equal(sweep.load(run_dir), df)


def test_killed_run_on_read_only_media_reads_its_unmerged_rows_or_says_why_not(tmp_path):
    # a sweep killed mid-run leaves its last rows in sweep.sqlite-wal; `immutable`
    # would silently ignore them, so that mode is only used when no WAL content exists
    spec = write_spec(tmp_path / "s.toml", n=5)
    code = (
        "import os, signal, sys\n"
        "from ntkjam.sweep import run, store\n"
        "store.Store.close = lambda self: os.kill(os.getpid(), signal.SIGKILL)\n"
        "run(sys.argv[1], workers=1)\n"
    )
    proc = subprocess.run([PYTHON, "-c", code, str(spec)], env=subprocess_env(),
                          capture_output=True, timeout=120, check=False)
    assert proc.returncode == -signal.SIGKILL, proc.stderr.decode()
    run_dir = tmp_path / "run"
    assert (run_dir / "sweep.sqlite-wal").stat().st_size > 0
    with read_only_view(run_dir) as ro:
        assert len(sweep.load(ro)) == 5  # every row, WAL included
    (run_dir / "sweep.sqlite-shm").unlink()
    with read_only_view(run_dir) as ro:
        with pytest.raises(ValueError, match="writes not yet merged") as info:
            sweep.load(ro)
        assert "read-only" in str(info.value)
        status = invoke("status", ro)
        assert status.exit_code == 2 and "copy the run directory" in one_error_line(status)
    assert len(sweep.load(run_dir)) == 5  # where writable, all is there


def test_read_only_directory_injected(tmp_path, monkeypatch):
    """The same without mount: the probe says read-only (root passes permission bits)."""
    _, run_dir, df, arrays = _finished_run(tmp_path)
    opened = []
    real_connect = sqlite3.connect

    def connect(database, *args, **kwargs):
        opened.append(str(database))
        return real_connect(database, *args, **kwargs)

    monkeypatch.setattr(integrity, "directory_writable", lambda directory: False)
    monkeypatch.setattr(integrity.sqlite3, "connect", connect)
    pd.testing.assert_frame_equal(sweep.load(run_dir), df)
    _assert_same_arrays(run_dir, arrays)
    assert opened and all(u.endswith("?mode=ro&immutable=1") for u in opened)


# ---------------------------------------------------------------------------------------
# the database file


def test_empty_database_is_an_error_not_a_fresh_start(tmp_path, counter):
    spec, run_dir, df, _ = _finished_run(tmp_path)
    db_path = run_dir / "sweep.sqlite"
    db_path.write_bytes(b"")
    n_arrays = len(list((run_dir / "arrays").glob("*.npz")))
    before = len(count_lines(counter))

    with pytest.raises(StoreCorrupt, match="is empty") as info:
        sweep.run(spec)
    assert str(db_path) in str(info.value) and f"{n_arrays} array file(s)" in str(info.value)
    result = invoke("run", spec, "-w", "1", "-q")
    assert result.exit_code == 2 and "is empty (0 bytes)" in one_error_line(result)
    for command in ("status", "export"):
        result = invoke(command, run_dir)
        assert result.exit_code == 2 and str(db_path) in one_error_line(result)
    with pytest.raises(StoreCorrupt, match="is empty"):
        sweep.load(run_dir)
    assert len(count_lines(counter)) == before  # nothing ran
    assert db_path.stat().st_size == 0  # nothing overwritten
    assert len(list((run_dir / "arrays").glob("*.npz"))) == n_arrays


def test_a_new_database_never_appears_empty(tmp_path, monkeypatch):
    # the file is created complete under a temporary name, then renamed
    seen = []
    real = os.replace

    def replace(src, dst):
        if str(dst).endswith("sweep.sqlite"):
            seen.append(Path(src).stat().st_size)
        return real(src, dst)

    monkeypatch.setattr(integrity.os, "replace", replace)
    sweep.run(write_spec(tmp_path / "s.toml", n=2))
    assert len(seen) == 1 and seen[0] > 0


# ---------------------------------------------------------------------------------------
# disk full


@pytest.mark.parametrize("workers", ["1", "2"])  # 2: the array files written ahead on threads
def test_disk_full_writing_an_array_file_is_one_line_and_loses_nothing(tmp_path, monkeypatch,
                                                                      workers):
    spec = write_spec(tmp_path / "s.toml", n=4)
    sweep.run(spec)
    run_dir = tmp_path / "run"
    before = sweep.load(run_dir)
    bigger = write_spec(tmp_path / "s.toml", n=8)

    def full(fd):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", full)
    result = invoke("run", bigger, "-w", workers, "-q")
    monkeypatch.undo()
    assert result.exit_code == 2
    line = one_error_line(result)
    assert "No space left on device" in line and str(run_dir / "arrays") in line
    pd.testing.assert_frame_equal(sweep.load(run_dir), before)  # nothing stored is lost
    assert not list(run_dir.rglob("*.tmp"))
    assert sweep.run(bigger).done == 4
    assert len(sweep.load(run_dir, status="done")) == 8


def test_disk_full_in_sqlite_is_the_real_error_not_cannot_rollback(tmp_path, monkeypatch):
    pad = "x" * 20000  # each row needs new pages
    spec = write_spec(tmp_path / "s.toml", n=3, extra=f'pad = "{pad}"')
    sweep.run(spec)
    run_dir = tmp_path / "run"
    before = sweep.load(run_dir)
    real_init = store.Store.__init__

    def init(self, directory):
        real_init(self, directory)
        pages = self._db.execute("PRAGMA page_count").fetchone()[0]
        self._db.execute(f"PRAGMA max_page_count = {pages}")  # SQLite: database is full

    monkeypatch.setattr(store.Store, "__init__", init)
    bigger = write_spec(tmp_path / "s.toml", n=6, extra=f'pad = "{pad}"')
    with pytest.raises(OSError) as info:
        sweep.run(bigger)
    assert info.value.errno == errno.ENOSPC
    assert info.value.filename == str(run_dir / "sweep.sqlite")
    assert "cannot rollback" not in str(info.value) and "full" in str(info.value)
    result = invoke("run", bigger, "-w", "1", "-q")
    assert result.exit_code == 2
    line = one_error_line(result)
    assert str(run_dir / "sweep.sqlite") in line and "No space left on device" in line
    monkeypatch.undo()
    pd.testing.assert_frame_equal(sweep.load(run_dir), before)
    assert sweep.run(bigger).done == 3 and len(sweep.load(run_dir)) == 6


@pytest.mark.slow
def test_disk_full_on_a_real_tmpfs(tmp_path):
    mount_point = tmp_path / "small"
    mount_point.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount_point)],
                      capture_output=True, check=False).returncode != 0:
        pytest.skip("needs `mount -t tmpfs` (root)")
    try:
        spec = tmp_path / "big.toml"
        spec.write_text(
            'experiment = "test_sweep_faults:big_arrays"\n'
            f'output = "{mount_point / "run"}"\n'
            "[grid]\nx = {start = 0, stop = 39, num = 40}\n"
        )
        result = invoke("run", spec, "-w", "1", "-q")  # 40 x 64 KiB > 1 MiB
        assert result.exit_code == 2
        line = one_error_line(result)
        assert "No space left on device" in line and str(mount_point / "run") in line
        run_dir = mount_point / "run"
        df = sweep.load(run_dir)
        assert 0 < len(df) < 40
        assert sweep.summarize(run_dir).damaged == []
        for _, row in df.iterrows():  # every stored row is whole and right
            assert row.v == row.x
            np.testing.assert_array_equal(sweep.load_arrays(run_dir, row.hash)["a"],
                                          np.full(8192, float(row.x)))
        assert not list(run_dir.rglob("*.tmp"))
        # free some space: the run resumes and completes
        shutil.copytree(run_dir, tmp_path / "moved")
        moved = sweep.run(spec, output=tmp_path / "moved")
        assert moved.skipped == len(df) and len(sweep.load(moved.directory)) == 40
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


# ---------------------------------------------------------------------------------------
# the Dask cluster serves no HTTP


def _listening_ports() -> set[int]:
    import psutil

    me = psutil.Process()
    ports = set()
    for proc in (me, *me.children(recursive=True)):
        with contextlib.suppress(psutil.Error):
            for conn in proc.net_connections(kind="tcp"):
                if conn.status == psutil.CONN_LISTEN:
                    ports.add(conn.laddr.port)
    return ports


def test_local_dask_cluster_serves_no_http_without_dashboard(monkeypatch):
    pytest.importorskip("distributed")
    pytest.importorskip("psutil")
    from ntkjam.sweep.executors import dask_client as _dask_client

    for key, value in subprocess_env().items():
        monkeypatch.setenv(key, value)
    before = _listening_ports()
    with _dask_client(2, None, False, lambda text: None) as client:
        info = client.scheduler_info()
        assert info["services"] == {}  # no "dashboard" (the HTTP server)
        assert len(info["workers"]) == 2
        assert all(w.get("services", {}) == {} for w in info["workers"].values())
        assert client.submit(pow, 2, 10).result() == 1024
        ports = _listening_ports() - before
        assert len(ports) >= 3  # scheduler, workers and nannies: Dask's own protocol
        for port in ports:
            with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
                conn.settimeout(5)
                greeting = conn.recv(64)  # a Dask comm speaks first; HTTP waits for a request
            assert greeting and not greeting.startswith(b"HTTP"), (port, greeting)


# ---------------------------------------------------------------------------------------
# file-system errors of the command line


def test_file_system_errors_are_one_line_naming_the_path(tmp_path):
    spec = write_spec(tmp_path / "s.toml", n=2)
    a_file = tmp_path / "a_file"
    a_file.write_text("keep me")

    for target, expected in (
        (a_file, "exists and is not a directory"),
        (a_file / "run", "is a file, not a directory"),
        (Path("/dev/null"), "exists and is not a directory"),
    ):
        result = invoke("run", spec, "-w", "1", "-q", "-o", target)
        assert result.exit_code == 2, result.output
        line = one_error_line(result)
        assert expected in line and str(target) in line
    assert a_file.read_text() == "keep me"

    sweep.run(spec)
    run_dir = tmp_path / "run"
    for target, expected in (
        (tmp_path / "missing" / "out.csv", "does not exist"),
        (a_file / "out.csv", "is not a directory"),
        (Path("/dev/null"), "is not a regular file"),
        (tmp_path, "is a directory"),
    ):
        result = invoke("export", run_dir, "-o", target)
        assert result.exit_code == 2, result.output
        line = one_error_line(result)
        assert expected in line and str(target) in line
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)  # never replaced by a file
    assert not (tmp_path / "missing").exists()

    for target in (a_file, Path("/dev/null"), tmp_path / "nothing"):
        result = invoke("status", target)
        assert result.exit_code == 2 and str(target) in one_error_line(result)
