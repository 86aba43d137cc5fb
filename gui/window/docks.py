"""Docks whose content scrolls when the dock is smaller than it: no panel's minimum size can push the window
off a small screen, and every control stays reachable."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtWidgets import QDockWidget, QFrame, QMainWindow, QScrollArea, QWidget

MIN_DOCK_SIZE = QSize(190, 110)  # a dock shrinks no further than this (or its content's minimum, if less)


def add_dock(window: QMainWindow, title: str, name: str, content: QWidget, area: Qt.DockWidgetArea) -> QDockWidget:
    """A dock titled `title` (object name `name`, which saveState() needs) holding `content` in a scroll area."""
    dock = QDockWidget(title, window)
    dock.setObjectName(name)
    scroll = QScrollArea(dock)
    scroll.setFrameShape(QFrame.Shape.NoFrame)
    scroll.setWidgetResizable(True)  # the content fills the dock, and scrolls only below its own minimum
    scroll.setWidget(content)
    wanted = content.minimumSizeHint()  # the dock keeps this much, up to a share of a small screen, then scrolls
    scroll.setMinimumSize(min(wanted.width(), MIN_DOCK_SIZE.width()), min(wanted.height(), MIN_DOCK_SIZE.height()))
    dock.setWidget(scroll)
    window.addDockWidget(area, dock)
    return dock


def dock_content(dock: QDockWidget) -> QWidget:
    """The panel a dock made by add_dock() holds."""
    scroll = dock.widget()
    content = scroll.widget() if isinstance(scroll, QScrollArea) else None
    if content is None:
        raise ValueError(f"{dock.objectName()} was not made by add_dock()")
    return content
