"""Faults injected at every step of a write, for every writer of exports and trained models (all through
models/atomic.py): the old file stays intact and no temporary file is left.

In this process: the temporary file cannot be made, a write fails, the disk fills up half-way, the fsync or the
close fails, the rename fails. In a child process: the kernel refuses the write (RLIMIT_FSIZE, EFBIG), and the
child is killed (SIGKILL) while it is paused half-way through writing; the next write removes what it left.
"""

from __future__ import annotations

import errno
import os
import queue
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch

from tests.write_child import WRITERS, is_temporary

REPO = Path(__file__).resolve().parent.parent
CHILD_TIMEOUT_S = 180


@pytest.fixture(autouse=True)
def _one_thread() -> None:
    torch.set_num_threads(1)


def _old_file(name: str, folder: Path) -> tuple[Path, bytes]:
    target = WRITERS[name](folder, 1)
    return target, target.read_bytes()


def _fail(code: int) -> OSError:
    return OSError(code, os.strerror(code))


def _mkstemp_fails(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = tempfile.mkstemp

    def mkstemp(*args: Any, **kwargs: Any) -> tuple[int, str]:
        if Path(kwargs.get("dir", "")) == folder:
            raise _fail(errno.EMFILE)
        return real(*args, **kwargs)

    monkeypatch.setattr("models.atomic.tempfile.mkstemp", mkstemp)


def _write_fails(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = os.write

    def write(fd: int, data: bytes) -> int:
        if is_temporary(fd, folder):
            raise _fail(errno.EIO)
        return real(fd, data)

    monkeypatch.setattr("models.atomic.os.write", write)


def _disk_fills_up(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """As the kernel does: the write that reaches the end of the space is short, the next one fails."""
    real = os.write
    room = [64]

    def write(fd: int, data: bytes) -> int:
        if not is_temporary(fd, folder):
            return real(fd, data)
        if room[0] == 0:
            raise _fail(errno.ENOSPC)
        written = real(fd, data[: room[0]])
        room[0] -= written
        return written

    monkeypatch.setattr("models.atomic.os.write", write)


def _fsync_fails(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = os.fsync

    def fsync(fd: int) -> None:
        if is_temporary(fd, folder):
            raise _fail(errno.EIO)
        real(fd)

    monkeypatch.setattr("models.atomic.os.fsync", fsync)


def _close_fails(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """NFS and some FUSE file systems report a failed write only when the file is closed."""
    real = os.close

    def close(fd: int) -> None:
        ours = is_temporary(fd, folder)
        real(fd)
        if ours:
            raise _fail(errno.EIO)

    monkeypatch.setattr("models.atomic.os.close", close)


def _rename_fails(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = os.replace

    def replace(src: Any, dst: Any) -> None:
        if Path(src).parent == folder:
            raise _fail(errno.EXDEV)
        real(src, dst)

    monkeypatch.setattr("models.atomic.os.replace", replace)


FAULTS: dict[str, tuple[Callable[[Path, pytest.MonkeyPatch], None], int]] = {
    "temporary file cannot be made": (_mkstemp_fails, errno.EMFILE),
    "write fails": (_write_fails, errno.EIO),
    "disk full half-way": (_disk_fills_up, errno.ENOSPC),
    "fsync fails": (_fsync_fails, errno.EIO),
    "close fails": (_close_fails, errno.EIO),
    "rename fails": (_rename_fails, errno.EXDEV),
}


@pytest.mark.parametrize("fault", list(FAULTS))
@pytest.mark.parametrize("writer", list(WRITERS))
def test_a_failed_write_keeps_the_old_file(
    writer: str, fault: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path.resolve()
    target, before = _old_file(writer, folder)
    inject, code = FAULTS[fault]
    inject(folder, monkeypatch)
    with pytest.raises(OSError) as info:
        WRITERS[writer](folder, 2)
    assert info.value.errno == code
    assert target.read_bytes() == before
    assert sorted(p.name for p in folder.iterdir()) == [target.name]  # no temporary file left
    monkeypatch.undo()
    WRITERS[writer](folder, 2)  # and the next write works
    assert target.read_bytes() != before


def _child(args: list[str], folder: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.write_child", *args],
        cwd=REPO,
        env={"PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1", "PATH": "/usr/bin:/bin", "TMPDIR": str(folder.parent)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _first_line(proc: subprocess.Popen[str]) -> str:
    """The child's first line of output, waited for on a thread so a hung child fails the test instead of hanging it."""
    lines: queue.Queue[str] = queue.Queue()
    assert proc.stdout is not None
    stdout = proc.stdout
    threading.Thread(target=lambda: lines.put(stdout.readline().strip()), daemon=True).start()
    try:
        return lines.get(timeout=CHILD_TIMEOUT_S)
    except queue.Empty:
        proc.kill()
        pytest.fail(f"no output from the child in {CHILD_TIMEOUT_S} s")


@pytest.mark.parametrize("writer", list(WRITERS))
def test_a_writer_killed_half_way_keeps_the_old_file(writer: str, tmp_path: Path) -> None:
    folder = (tmp_path / "out").resolve()
    folder.mkdir()
    target, before = _old_file(writer, folder)
    proc = _child([writer, str(folder), "2", "pause"], folder)
    try:
        line = _first_line(proc)
        assert line == "PAUSED", (line, proc.stderr.read() if proc.poll() is not None and proc.stderr else "")
    finally:
        proc.send_signal(signal.SIGKILL)  # no cleanup runs: the temporary file stays behind
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    assert target.read_bytes() == before
    left = [p.name for p in folder.iterdir() if p != target]
    assert len(left) == 1 and left[0].startswith(f".{target.name}.") and left[0].endswith(".tmp")  # half-written
    WRITERS[writer](folder, 3)  # the next write into the folder removes the dead writer's file
    assert sorted(p.name for p in folder.iterdir()) == [target.name] and target.read_bytes() != before


@pytest.mark.parametrize("writer", ["save_checkpoint", "export .npz"])
def test_a_write_the_kernel_refuses_keeps_the_old_file(writer: str, tmp_path: Path) -> None:
    """A real failure, not a stand-in: RLIMIT_FSIZE makes the kernel cut the temporary file short (EFBIG)."""
    folder = (tmp_path / "out").resolve()
    folder.mkdir()
    target, before = _old_file(writer, folder)
    proc = _child([writer, str(folder), "2", "fsize", str(len(before) // 2)], folder)
    out, err = proc.communicate(timeout=CHILD_TIMEOUT_S)
    assert proc.returncode == 3 and out.strip() == f"OSError {errno.EFBIG}", err[-2000:]
    assert target.read_bytes() == before
    assert sorted(p.name for p in folder.iterdir()) == [target.name]
