"""Typed access to the app's QSettings (IniFormat), tolerant of hand-edited or stale values.

Writes are atomic: QSettings saves through QSaveFile (a temporary file, fdatasync, then rename over
the ini) as long as atomic sync is required, which the store insists on, so a crash or a kill
mid-write leaves the previous file whole (tests/test_nothing_lost.py checks the rename happens).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QByteArray, QSettings

MAX_RECENT = 8
INI_NAME = "attnscope.ini"


class SettingsStore:
    """One ini file; every getter falls back to its default when a value is missing or malformed."""

    def __init__(self, settings_dir: Path | str | None = None) -> None:
        if settings_dir is None:
            self._qs = QSettings(QSettings.Format.IniFormat, QSettings.Scope.UserScope, "attnscope", "attnscope")
        else:
            Path(settings_dir).mkdir(parents=True, exist_ok=True)
            self._qs = QSettings(str(Path(settings_dir) / INI_NAME), QSettings.Format.IniFormat)
        self._qs.setAtomicSyncRequired(True)  # never fall back to rewriting the ini in place

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
