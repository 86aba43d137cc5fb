"""Atomic file writes: readers see the old file or the new one, never a partial one, and no temporary file lasts.

The data goes to a temporary file beside the target, is fsynced, and is renamed over the target. Any failure
(the temporary file cannot be made, a write or the fsync fails, the disk is full, the rename fails) removes
the temporary file and leaves the old file as it was. A process killed mid-write cannot clean up: its
temporary file names its host and process id, and the next write into that folder removes the temporary
files of processes on this host that no longer run.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import socket
import tempfile
from pathlib import Path

_HOST = hashlib.sha256(socket.gethostname().encode()).hexdigest()[:8]
_OURS = re.compile(rf"^\..+\.{_HOST}-(\d+)-[^.]+\.tmp$")  # .NAME.HOST-PID-RANDOM.tmp


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    _remove_orphans(target.parent)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.{_HOST}-{os.getpid()}-", suffix=".tmp", dir=target.parent)
    try:
        try:
            os.fchmod(fd, 0o666 & ~_UMASK)  # mkstemp makes 0600; keep the usual permissions
            _write_all(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: str | os.PathLike[str], text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def _write_all(fd: int, data: bytes) -> None:
    """os.write until all is written: a write may take only part (a full disk then fails the next one)."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _remove_orphans(folder: Path) -> None:
    """Temporary files left in `folder` by killed writers on this host (their process is gone)."""
    try:
        names = [entry.name for entry in os.scandir(folder) if entry.name.endswith(".tmp")]
    except OSError:
        return  # mkstemp will say what is wrong with the folder
    for name in names:
        found = _OURS.match(name)
        if found and not _running(int(found.group(1))):
            with contextlib.suppress(OSError):  # gone already, or not ours to remove
                (folder / name).unlink()


def _running(pid: int) -> bool:
    if pid == os.getpid():
        return True  # this process's own writes (other threads) are in progress, not orphans
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True  # another user's process, or a number that is no pid: leave the file alone
    return True


def _read_umask() -> int:
    mask = os.umask(0)  # the only way to read it; done once, at import, before threads start
    os.umask(mask)
    return mask


_UMASK = _read_umask()
