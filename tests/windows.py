"""Windows for GUI tests: one opened on a model, shown, its first decode drawn; and closed again in order."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QCoreApplication, QEvent
from pytestqt.qtbot import QtBot

from gui.app import create_window
from gui.window.main_window import MainWindow

WAIT_MS = 60_000
SOURCE = "w1 w2 w3"


def open_window(qtbot: QtBot, model: Path, settings: Path, source: str = SOURCE) -> MainWindow:
    """A 1400 × 900 window on `model`, shown, with `source` decoded."""
    window = create_window(settings, model, source)
    window.resize(1400, 900)
    window.show()
    qtbot.waitExposed(window)
    qtbot.waitUntil(lambda: window.flow.result is not None, timeout=WAIT_MS)
    return window


def open_transformer_window(qtbot: QtBot, model: Path, settings: Path, source: str = SOURCE) -> MainWindow:
    """open_window on the tiny transformer (2 layers × 4 heads), its Heads grid filled."""
    window = open_window(qtbot, model, settings, source)
    qtbot.waitUntil(lambda: window.heads.grid.layout_shape == (2, 4))
    return window


def close_window(window: MainWindow) -> None:
    window.close()
    window.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
