"""The app as a child process for tests/test_nothing_lost.py: started by gui.app.run exactly as `main.py`
starts it, then edited as a user would once the model is loaded.  Prints TYPED when the edits are made and
SAVED after each autosave that follows them; then runs until it is killed.

    python -m tests.session_child "text to type" -- --model M --settings-dir D
"""

from __future__ import annotations

import os
import sys

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import Qt, QTimer  # noqa: E402 (after the platform is chosen)
from PySide6.QtTest import QTest  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from gui.app import run  # noqa: E402
from gui.window.autosave import SessionAutosave  # noqa: E402
from gui.window.main_window import MainWindow  # noqa: E402

POLL_MS = 100


def main(argv: list[str]) -> int:
    text, app_args = argv[0], argv[argv.index("--") + 1 :]
    app = QApplication([sys.argv[0]])
    QTimer.singleShot(POLL_MS, lambda: edit_when_loaded(app, text))
    return run(app_args)


def edit_when_loaded(app: QApplication, text: str) -> None:
    window = next((w for w in app.topLevelWidgets() if isinstance(w, MainWindow)), None)
    if window is None or not window.model_path:
        QTimer.singleShot(POLL_MS, lambda: edit_when_loaded(app, text))
        return
    autosave = window.findChild(SessionAutosave)
    assert autosave is not None
    editor = window.source_panel.source_edit
    editor.selectAll()
    QTest.keyClick(editor, Qt.Key.Key_Delete)
    QTest.keyClicks(editor, text)
    window.controls.set_strategy("beam")
    window.docks[3].hide()  # a layout change: the top-k panel closed
    autosave.saved.connect(lambda ok: print("SAVED" if ok else "SAVE FAILED", flush=True))
    print("TYPED", flush=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
