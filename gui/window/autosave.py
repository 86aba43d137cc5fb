"""Autosave: the session (inputs, model, options, look, layout) is written about a second after each change
and when the window closes, so a crash or a killed process loses at most that second.

Each save rewrites the ini atomically (gui/files/settings_store.py); the next start restores it as after a
normal close (gui/window/window_state.py).
"""

from __future__ import annotations

from PySide6.QtCore import QObject, QTimer, Signal, Slot

from gui.files.settings_store import SettingsStore
from gui.window.main_window import MainWindow
from gui.window.window_state import save_window_state

AUTOSAVE_MS = 1000


class SessionAutosave(QObject):
    """A child of the window: find it with `window.findChild(SessionAutosave)`."""

    saved = Signal(bool)  # after each write: False when the ini could not be written

    def __init__(self, window: MainWindow, store: SettingsStore, delay_ms: int = AUTOSAVE_MS) -> None:
        super().__init__(window)
        self._window, self._store = window, store
        self._warned = False
        self._closed = False
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(delay_ms)
        self._timer.timeout.connect(self.save_now)
        self._connect(window)
        window.closing.connect(self._on_closing)
        window.saving.connect(self._save_on_close)

    def _connect(self, window: MainWindow) -> None:
        panel, transport, menus = window.source_panel, window.transport, window.menus
        signals = [
            panel.source_edit.textChanged,
            panel.target_edit.textChanged,
            window.controls.options_changed,
            window.controls.device_requested,
            window.controller.model_loaded,
            window.layout_changed,
            transport.delay_changed,
            transport.transposed_changed,
            transport.mode_changed,
            menus.presentation.toggled,
        ]
        signals += [a.triggered for a in (menus.zoom_in, menus.zoom_out, menus.zoom_reset, *menus.themes.values())]
        for dock in window.docks:
            signals += [dock.visibilityChanged, dock.dockLocationChanged, dock.topLevelChanged]
        for signal in signals:
            signal.connect(self.schedule)

    @property
    def pending(self) -> bool:
        return self._timer.isActive()

    @Slot()
    def schedule(self) -> None:
        """Save once things have been quiet for the delay (each change restarts it)."""
        self._timer.start()

    @Slot()
    def save_now(self) -> None:
        self._timer.stop()
        if self._closed:  # the close saves everything itself (_save_on_close)
            return
        ok = save_window_state(self._window, self._store)
        if not ok and not self._warned:  # once: a read-only settings folder should not nag on every keystroke
            self._warned = True
            self._window.banner.show_message(f"Could not save the session to {self._store.path}.", "warning")
        self.saved.emit(ok)

    @Slot()
    def _on_closing(self) -> None:
        self._closed = True  # no timed save during the close: the window asks for one last save (saving)
        self._timer.stop()

    @Slot()
    def _save_on_close(self) -> None:
        save_window_state(self._window, self._store)
