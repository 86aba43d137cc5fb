"""The in-window message bar: errors and notes shown without blocking (no modal dialog in the way)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, QTimer, Signal, Slot
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QToolButton, QVBoxLayout, QWidget

# Colours readable on both themes: the bar paints its own background.
LEVEL_COLOURS = {  # level: (background, text, border)
    "error": ("#fde2e1", "#7a1512", "#e0a19d"),
    "warning": ("#fff4d6", "#6b4d00", "#e6cf8f"),
    "info": ("#e3effd", "#0f3d6e", "#a9c7ec"),
}
INFO_TIMEOUT_MS = 6000


class MessageBanner(QFrame):
    """A dismissable bar at the top of the window; the last text and level stay readable by tests."""

    dismissed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("messageBanner")
        self.setAutoFillBackground(True)
        self.setFrameShape(QFrame.Shape.Box)
        self._label = QLabel(self)
        self._label.setWordWrap(True)
        self._label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self._details = QLabel(self)  # errors only: where the log file with the details is
        self._details.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self._details.hide()
        self.log_path = ""
        close = QToolButton(self)
        close.setText("✕")
        close.setToolTip("Dismiss")
        close.setAutoRaise(True)
        close.clicked.connect(self.dismiss)
        texts = QVBoxLayout()
        texts.setSpacing(2)
        texts.addWidget(self._label)
        texts.addWidget(self._details)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 4, 4, 4)
        layout.addLayout(texts, 1)
        layout.addWidget(close, 0, Qt.AlignmentFlag.AlignTop)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self.dismiss)
        self.level = ""
        self.topic = ""  # what the message is about, so a later success can clear just that
        self.history: list[tuple[str, str]] = []  # (level, text), newest last
        self.hide()

    def text(self) -> str:
        return self._label.text()

    def details(self) -> str:
        """The line under an error: where its details are logged ("" when no log file is kept)."""
        return self._details.text() if self.level == "error" else ""

    def set_log_path(self, path: str | Path) -> None:
        self.log_path = str(path)

    def show_message(self, text: str, level: str = "error", topic: str = "") -> None:
        """Errors stay until dismissed (or cleared by topic); info notes fade after a few seconds."""
        self.level, self.topic = level, topic
        self.history.append((level, text))
        self._label.setText(text)
        self._details.setText(f"Details are in the log file {self.log_path}" if self.log_path else "")
        self._details.setVisible(level == "error" and bool(self.log_path))
        self._colour(level)
        self.show()
        if level == "info":
            self._timer.start(INFO_TIMEOUT_MS)
        else:
            self._timer.stop()

    def _colour(self, level: str) -> None:
        """A palette, not a style sheet: style sheets stop app-wide font changes (zoom) reaching the label."""
        bg, fg, border = (QColor(c) for c in LEVEL_COLOURS.get(level, LEVEL_COLOURS["info"]))
        palette = self.palette()
        palette.setColor(QPalette.ColorRole.Window, bg)
        for role in (QPalette.ColorRole.WindowText, QPalette.ColorRole.ButtonText, QPalette.ColorRole.Text):
            palette.setColor(role, fg)
        palette.setColor(QPalette.ColorRole.Button, bg)
        palette.setColor(QPalette.ColorRole.Light, border)
        palette.setColor(QPalette.ColorRole.Dark, border)
        self.setPalette(palette)

    def clear_topic(self, topic: str) -> None:
        """Hide the message if it is about `topic` (e.g. a decode error once a decode succeeds)."""
        if self.isVisible() and self.topic == topic:
            self.dismiss()

    @Slot()
    def dismiss(self) -> None:
        self._timer.stop()
        self.hide()
        self.dismissed.emit()


def load_error_text(path: str, message: str, kept_model: str) -> str:
    """'Could not open x: why.' plus which model stays loaded, if any."""
    message = message.rstrip()
    stop = "" if message.endswith((".", "!", "?")) else "."
    kept = f" Still using {Path(kept_model).name}." if kept_model else ""
    return f"Could not open {Path(path).name or 'the model'}: {message}{stop}{kept}"
