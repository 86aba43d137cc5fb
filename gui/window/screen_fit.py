"""Keeping a window within the screen it is on: geometry from a bigger screen is shrunk and moved onto it."""

from __future__ import annotations

from PySide6.QtCore import QSize
from PySide6.QtWidgets import QWidget

FRAME_ALLOWANCE = QSize(16, 48)  # a window manager's borders and title bar, before the frame is known


def fit_to_screen(window: QWidget) -> None:
    """Shrink and move a window whose geometry came from a bigger screen (or a bigger layout) so that it lies
    within the screen it is on, its frame included; a maximised or full-screen window is the screen's already."""
    if window.isMaximized() or window.isFullScreen():
        return
    available = window.screen().availableGeometry()
    frame, inner = window.frameGeometry(), window.geometry()
    # Before the window is first shown the frame is not known yet: allow for a title bar and borders.
    extra_w = frame.width() - inner.width() if window.isVisible() else FRAME_ALLOWANCE.width()
    extra_h = frame.height() - inner.height() if window.isVisible() else FRAME_ALLOWANCE.height()
    size = inner.size().boundedTo(QSize(available.width() - extra_w, available.height() - extra_h))
    if size != inner.size():
        window.resize(size.expandedTo(window.minimumSizeHint()))
    frame = window.frameGeometry() if window.isVisible() else window.geometry().adjusted(0, 0, extra_w, extra_h)
    x = min(max(frame.x(), available.x()), available.right() + 1 - frame.width())
    y = min(max(frame.y(), available.y()), available.bottom() + 1 - frame.height())
    if (x, y) != (frame.x(), frame.y()):
        window.move(x, y)
