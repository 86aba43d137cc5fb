"""Typed access to the app's QSettings (IniFormat), tolerant of hand-edited or stale values.

Writes are atomic: QSettings saves through QSaveFile (a temporary file, fdatasync, then rename over
the ini) as long as atomic sync is required, which the store insists on, so a crash or a kill
mid-write leaves the previous file whole (tests/test_nothing_lost.py checks the rename happens).
The session's autosave writes this same file (gui/window/autosave.py).

A damaged ini (not a regular file, over MAX_INI_BYTES, not UTF-8 text, control characters, lines that
are not an ini's, or one Qt cannot parse) is moved aside to `attnscope.ini.bad` before anything reads it:
the app starts with its defaults, and `notice` says what happened, for the window to show once.
"""

from __future__ import annotations

import logging
import os
import stat
import tempfile
from pathlib import Path

from PySide6.QtCore import QByteArray, QSettings

MAX_RECENT = 8
INI_NAME = "attnscope.ini"
BAD_SUFFIX = ".bad"
MAX_INI_BYTES = 1_000_000  # a session is a few KB; its texts are saved cut at the engine's source limit
log = logging.getLogger(__name__)


def user_ini_path() -> Path:
    """Where QSettings keeps the per-user ini (~/.config/attnscope/attnscope.ini on Linux), found without
    opening it: QSettings reads its file when made, and a FIFO there would block it for good."""
    probe = QSettings(QSettings.Format.IniFormat, QSettings.Scope.UserScope, "attnscope", "attnscope-path-probe")
    return Path(probe.fileName()).with_name(INI_NAME)


def ini_problem(path: Path) -> str | None:
    """What makes the file at `path` no settings file of ours (None: fine, or there is none)."""
    try:
        info = path.stat()
    except FileNotFoundError:
        return None if not path.is_symlink() else "it is a link to nothing"
    except OSError as exc:
        return f"it cannot be read: {exc.strerror}"
    if not stat.S_ISREG(info.st_mode):
        return "it is not a regular file"
    if info.st_size > MAX_INI_BYTES:
        return f"it has {info.st_size:,} bytes, more than the {MAX_INI_BYTES:,} a settings file may have"
    try:
        text = path.read_bytes().decode("utf-8")
    except OSError as exc:
        return f"it cannot be read: {exc.strerror}"
    except UnicodeDecodeError:
        return "it is not UTF-8 text"
    return _text_problem(text.removeprefix("\ufeff"))  # a BOM from a hand edit is harmless


def _text_problem(text: str) -> str | None:
    """Qt escapes every control character it writes: one in the file, or a line that is neither a [section],
    a comment nor a key=value, means something else wrote it."""
    for number, line in enumerate(text.splitlines(), 1):
        if any(ord(c) < 32 and c != "\t" or c == "\x7f" for c in line):
            return f"line {number} holds control characters"
        line = line.strip()
        if line and not (line.startswith("[") and line.endswith("]")) and line[0] not in ";#" and "=" not in line:
            return f"line {number} is neither a [section] nor a key=value"
    return None


class SettingsStore:
    """One ini file; every getter falls back to its default when a value is missing or malformed."""

    def __init__(self, settings_dir: Path | str | None = None) -> None:
        path = user_ini_path() if settings_dir is None else Path(settings_dir) / INI_NAME
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:  # the autosave says so when it cannot write
            log.warning("cannot make the settings folder %s: %s", path.parent, exc)
        self.notice = ""  # a damaged ini was moved aside: what the window says about it, once
        problem = ini_problem(path)
        if problem is None:
            self._qs = QSettings(str(path), QSettings.Format.IniFormat)
            if self._qs.status() == QSettings.Status.FormatError:
                problem = "Qt cannot parse it"
                del self._qs
        if problem is not None:
            self._qs = QSettings(str(self._move_aside(path, problem)), QSettings.Format.IniFormat)
        self._qs.setAtomicSyncRequired(True)  # never fall back to rewriting the ini in place

    def _move_aside(self, path: Path, problem: str) -> Path:
        """Rename the damaged file to *.bad; the ini to use from now on (a scratch one if it cannot be moved)."""
        bad = path.with_name(path.name + BAD_SUFFIX)
        try:
            os.replace(path, bad)
        except OSError as exc:
            log.warning("settings file %s is damaged (%s) and cannot be moved aside: %s", path, problem, exc)
            self.notice = f"The settings file {path} is damaged ({problem}); attnscope started with its defaults."
            return path if path.is_file() else Path(tempfile.mkdtemp(prefix="attnscope-")) / INI_NAME
        log.warning("settings file %s was damaged (%s): moved to %s", path, problem, bad)
        self.notice = (
            f"The settings file {path} was damaged ({problem}): it was moved to {bad.name}, "
            "and attnscope started with its default settings."
        )
        return path

    @property
    def path(self) -> str:
        return self._qs.fileName()

    def set(self, key: str, value: object) -> None:
        self._qs.setValue(key, value)

    def sync(self) -> bool:
        """Write pending changes now; False once a write has failed (QSettings keeps its first error)."""
        self._qs.sync()
        return self._qs.status() != QSettings.Status.AccessError

    def get_str(self, key: str, default: str = "") -> str:
        value = self._qs.value(key, default)
        return value if isinstance(value, str) else default

    def get_float(self, key: str, default: float, lo: float = float("-inf"), hi: float = float("inf")) -> float:
        try:
            value = float(self._qs.value(key, default))  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return default
        return value if lo <= value <= hi else default

    def get_int(self, key: str, default: int, lo: int = -(2**31), hi: int = 2**31 - 1) -> int:
        try:
            value = int(self._qs.value(key, default))  # type: ignore[call-overload]
        except (TypeError, ValueError):
            return default
        return value if lo <= value <= hi else default

    def get_choice(self, key: str, choices: tuple[str, ...], default: str) -> str:
        value = self.get_str(key, default)
        return value if value in choices else default

    def get_bytes(self, key: str) -> QByteArray | None:
        value = self._qs.value(key)
        return value if isinstance(value, QByteArray) else None

    def recent_files(self) -> list[str]:
        value = self._qs.value("files/recent", [])
        if isinstance(value, str):  # QSettings returns a lone string for a one-item list
            value = [value]
        return [v for v in value if isinstance(v, str) and v][:MAX_RECENT] if isinstance(value, list) else []

    def add_recent_file(self, path: str) -> list[str]:
        files = [path] + [f for f in self.recent_files() if f != path]
        self._qs.setValue("files/recent", files[:MAX_RECENT])
        return files[:MAX_RECENT]
