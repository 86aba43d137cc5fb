"""The app's start in a fresh process, for tests/test_window_first.py: what the window showed at its first paint
(was torch imported yet? the loading note, the last inputs), then once its first decode is drawn; JSON on stdout.

    QT_QPA_PLATFORM=offscreen python -m tests.first_paint_child SETTINGS_DIR
"""

from __future__ import annotations

import json
import sys

from PySide6.QtCore import QEvent, QEventLoop, QObject, QTimer
from PySide6.QtWidgets import QApplication

from gui.app import _dispose, create_window
from gui.window.main_window import MainWindow

TIMEOUT_MS = 120_000


class FirstPaint(QObject):
    """Notes what the window shows when its first paint event arrives."""

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.seen: dict[str, object] = {}
        window.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Paint and not self.seen:
            self.seen = shown(self.window)
            self.window.removeEventFilter(self)
        return False


def shown(window: MainWindow) -> dict[str, object]:
    return {
        "torch": "torch" in sys.modules,
        "placeholder": window.heatmap.placeholder(),
        "source": window.source_panel.source_text(),
        "rows": int(window.heatmap.image_data().shape[0]),
        "model": window.model_path,
    }


def main(settings: str) -> int:
    app = QApplication(sys.argv[:1])
    window = create_window(settings)
    first = FirstPaint(window)
    loop = QEventLoop()
    window.flow.finished.connect(lambda _result: QTimer.singleShot(0, loop.quit))  # once the result is drawn
    QTimer.singleShot(TIMEOUT_MS, loop.quit)
    window.show()
    loop.exec()
    print(json.dumps({"first_paint": first.seen, "decoded": shown(window)}), flush=True)
    _dispose(window)
    app.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
