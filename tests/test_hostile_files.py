"""Pickles that would run code are never unpickled, whichever way a file reaches the app.

tests/test_importers.py covers the loaders and the inspect / evaluate / convert commands.  Here: the GUI
start (`main.py --model evil.pt --screenshot x.png`), File ▸ Open, Open recent, and a file dropped on
the window.  Each fails with a message in the window, the model open before keeps working, and the
marker file the payload would create never appears.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QCoreApplication, QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from pytestqt.qtbot import QtBot

from gui.app import run
from gui.window.main_window import MainWindow
from tests.test_gui_app import DECODE_TIMEOUT_MS, REPO, make_window, type_source  # noqa: F401 (a fixture)
from tests.test_importers import malicious_inputs


@pytest.fixture
def evil(tmp_path: Path) -> tuple[list[Path], Path]:
    """(files carrying the payload: JoeyNMT folder, OpenNMT-py .pt, tutorial .json, raw pickle .pt; the marker)."""
    marker = tmp_path / "PWNED"
    folder = tmp_path / "evil"
    folder.mkdir()
    return [path for path, _ in malicious_inputs(folder, marker)], marker


def test_gui_start_refuses_them(qtbot: QtBot, evil: tuple[list[Path], Path], tmp_path: Path) -> None:
    paths, marker = evil
    shot = tmp_path / "x.png"
    raw = next(p for p in paths if p.name == "raw.pt")
    proc = subprocess.run(
        [sys.executable, "main.py", "--model", str(raw), "--screenshot", str(shot), "--settings-dir", str(tmp_path)],
        cwd=REPO,
        env={"QT_QPA_PLATFORM": "offscreen", "PATH": "/usr/bin:/bin", "OMP_NUM_THREADS": "1"},
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "cannot load the model" in proc.stderr and "refused to load" in proc.stderr
    for path in paths:  # the same start path, in this process, for the other formats
        if path != raw:
            assert run(["--model", str(path), "--screenshot", str(shot), "--settings-dir", str(tmp_path)]) == 2
    assert not shot.exists() and not marker.exists()


def _open_directly(window: MainWindow, path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    window.open_model(str(path))


def _open_from_the_menu(window: MainWindow, path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("gui.window.main_window.ask_model_path", lambda parent, current: str(path))  # the file dialog
    window.menus.open_model.trigger()


def _open_recent(window: MainWindow, path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    window.menus.fill_recent([str(path)])
    window.menus.recent_menu.actions()[0].trigger()


def _drop(window: MainWindow, path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """What a drag from a file manager delivers: enter (must be accepted), then the drop."""
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    buttons, modifiers = Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    enter = QDragEnterEvent(QPoint(40, 40), Qt.DropAction.CopyAction, mime, buttons, modifiers)
    QCoreApplication.sendEvent(window, enter)
    assert enter.isAccepted()
    drop = QDropEvent(QPointF(40, 40), Qt.DropAction.CopyAction, mime, buttons, modifiers)
    QCoreApplication.sendEvent(window, drop)
    assert drop.isAccepted()


ROUTES: dict[str, Callable[[MainWindow, Path, pytest.MonkeyPatch], None]] = {
    "open_model": _open_directly,
    "File ▸ Open": _open_from_the_menu,
    "Open recent": _open_recent,
    "drag and drop": _drop,
}


@pytest.mark.parametrize("route", sorted(ROUTES))
def test_window_refuses_them_and_keeps_its_model(
    qtbot: QtBot,
    make_window: Callable[..., MainWindow],  # noqa: F811 (the imported fixture)
    evil: tuple[list[Path], Path],
    tiny_model_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    route: str,
) -> None:
    window = make_window()
    paths, marker = evil
    for path in paths:
        with qtbot.waitSignal(window.controller.model_load_failed, timeout=DECODE_TIMEOUT_MS):
            ROUTES[route](window, path, monkeypatch)
        text = window.banner.text()
        assert window.banner.isVisible() and window.banner.level == "error"
        assert text.startswith(f"Could not open {path.name}:") and "refused to load" in text, text
        assert text.endswith("Still using tiny.safetensors.")
        assert window.model_path == str(tiny_model_path) and not marker.exists()
    result = type_source(qtbot, window, "w4 w5")  # the previous model still decodes
    assert result.source_tokens == ("w4", "w5")
    np.testing.assert_array_equal(window.heatmap.image_data(), result.alpha)
    assert not marker.exists()
