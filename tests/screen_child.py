"""The app on one simulated screen, for tests/test_screens.py: run in a child process whose offscreen platform
is configured with that screen (size and device pixel ratio), it opens the window with every dock, then
presentation mode, and reports geometry as JSON.

    QT_QPA_PLATFORM=offscreen:configfile=screen.json python -m tests.screen_child SETTINGS_DIR OUT.json [SHOT.png]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from PySide6.QtCore import QEventLoop, QRect, QTimer
from PySide6.QtWidgets import QApplication, QDockWidget, QWidget

from gui.app import _dispose, create_window
from gui.window.main_window import MainWindow
from gui.window.tool_docks import WhatIfTools

DECODE_TIMEOUT_MS = 120_000


def settle(ms: int) -> None:
    loop = QEventLoop()
    QTimer.singleShot(ms, loop.quit)
    loop.exec()


def rect(r: QRect) -> list[int]:
    return [r.x(), r.y(), r.width(), r.height()]


def wait_for_decode(window: MainWindow) -> None:
    waited = 0
    while window.flow.current_result() is None and waited < DECODE_TIMEOUT_MS:
        settle(100)
        waited += 100


def on_screen(widget: QWidget) -> bool:
    return widget.isVisible() and not widget.visibleRegion().isEmpty()


def every_dock_open(window: MainWindow) -> dict[str, object]:
    tools = window.findChild(WhatIfTools)
    assert tools is not None
    for dock in tools.docks:
        tools.show_dock(dock)
    for dock in window.docks:
        dock.show()
    settle(500)
    docks = window.findChildren(QDockWidget)
    return {
        "frame": rect(window.frameGeometry()),
        "docks_shown": sum(not d.isHidden() for d in docks),
        "docks_total": len(docks),
        # A dock under another's tab is laid out off screen: only the docks one can see count.
        "dock_frames": [rect(QRect(d.mapToGlobal(d.rect().topLeft()), d.size())) for d in docks if on_screen(d)],
    }


def presentation(window: MainWindow) -> dict[str, object]:
    window.set_presentation(True)
    settle(800)
    heatmap = window.heatmap
    return {
        "frame": rect(window.frameGeometry()),
        "heatmap": rect(QRect(heatmap.mapToGlobal(heatmap.rect().topLeft()), heatmap.size())),
    }


def main(settings: str, out: str, shot: str = "") -> int:
    existing = QApplication.instance()
    app = existing if isinstance(existing, QApplication) else QApplication(sys.argv[:1])
    screen = app.primaryScreen()
    report: dict[str, object] = {"available": rect(screen.availableGeometry()), "dpr": screen.devicePixelRatio()}
    window = create_window(settings)
    try:
        window.show()
        wait_for_decode(window)
        settle(300)
        report["first_frame"] = rect(window.frameGeometry())
        report["minimum"] = [window.minimumSizeHint().width(), window.minimumSizeHint().height()]
        report["all_docks"] = every_dock_open(window)
        if shot:
            window.grab().save(shot.replace(".png", "_docks.png"))
        report["presentation"] = presentation(window)
        if shot:
            window.grab().save(shot)
        window.set_presentation(False)
        window.setGeometry(0, 0, 3 * screen.availableGeometry().width(), 3 * screen.availableGeometry().height())
    finally:
        _dispose(window)  # saves the oversized geometry: as if it came from a bigger screen
    window = create_window(settings)
    try:
        window.show()
        settle(800)
        report["restored_frame"] = rect(window.frameGeometry())
    finally:
        _dispose(window)
    Path(out).write_text(json.dumps(report), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
