"""Menus and their actions; the window connects each action to one of its slots."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import QMainWindow, QMenu

from gui.files.resources import MODELS_DIR
from gui.files.settings_store import MAX_RECENT

EXAMPLES_DIR = MODELS_DIR
EXPORT_FORMATS = ("png", "svg", "pdf", "gif", "mp4", "csv", "npz", "json")
FIGURES = ("png", "svg", "pdf")


class Menus(QObject):
    """Builds the menu bar; file lists (recent, examples) emit `open_requested(path)`."""

    open_requested = Signal(str)
    export_requested = Signal(str)  # a suffix from EXPORT_FORMATS
    heads_export_requested = Signal(str)  # png, svg or pdf: every head of a transformer in one figure

    def __init__(self, window: QMainWindow) -> None:
        super().__init__(window)
        self._window = window
        self.open_model = self._action("&Open model…", QKeySequence.StandardKey.Open)
        self.open_folder = self._action("Open model &folder…", "Ctrl+Shift+O")  # Hugging Face, JoeyNMT, tutorials
        self.copy_image = self._action("&Copy heatmap image", QKeySequence.StandardKey.Copy)
        self.quit = self._action("&Quit", QKeySequence.StandardKey.Quit)
        self.exports = {fmt: self._action(_export_label(fmt)) for fmt in EXPORT_FORMATS}
        self.head_exports = {fmt: self._action(f"Every head (a transformer's) as {fmt.upper()}…") for fmt in FIGURES}
        for action in self.head_exports.values():
            action.setEnabled(False)  # until a transformer is loaded
        self.play_pause = self._action("&Play / pause", "Space")
        self.step = self._action("Decode one &step", "Ctrl+Right")
        self.prev_step = self._action("P&revious step", "Left")
        self.next_step = self._action("&Next step", "Right")
        self.first_step = self._action("&First step", "Home")
        self.last_step = self._action("&Last step", "End")
        self.presentation = self._action("&Presentation mode", "F11", checkable=True)
        self.leave_presentation = self._action("&Leave presentation mode", "Esc")
        self.leave_presentation.setEnabled(False)  # Esc belongs to dialogs and menus otherwise
        self.anatomy_slide = self._action("&Anatomy of the step (instead of the heatmap)", "A", checkable=True)
        self.zoom_in = self._action("Zoom &in", QKeySequence.StandardKey.ZoomIn)
        self.zoom_in.setShortcuts([QKeySequence(QKeySequence.StandardKey.ZoomIn), QKeySequence("Ctrl+=")])
        self.zoom_out = self._action("Zoom &out", QKeySequence.StandardKey.ZoomOut)
        self.zoom_reset = self._action("&Reset zoom", "Ctrl+0")
        self.quality_vs_length = self._action("&Quality vs length…")
        self.which_head = self._action("Which &head to trust…")
        self.animation_anatomy = self._action("Animations show the &anatomy of each step", checkable=True)
        self.themes = {name: self._action(f"{name.capitalize()} theme", checkable=True) for name in ("light", "dark")}
        group = QActionGroup(self)
        for action in self.themes.values():
            group.addAction(action)
        for fmt, action in self.exports.items():
            action.triggered.connect(lambda _checked=False, f=fmt: self.export_requested.emit(f))
        for fmt, action in self.head_exports.items():
            action.triggered.connect(lambda _checked=False, f=fmt: self.heads_export_requested.emit(f))
        self.recent_menu = QMenu("Open &recent", window)
        self.examples_menu = QMenu("&Examples", window)
        self.view_menu = QMenu("&View", window)
        self._build()

    def _action(self, text: str, shortcut: object = None, checkable: bool = False) -> QAction:
        action = QAction(text, self._window)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))  # type: ignore[call-overload]
        action.setCheckable(checkable)
        self._window.addAction(action)  # shortcuts work even while menus are hidden (presentation)
        return action

    def _build(self) -> None:
        bar = self._window.menuBar()
        file_menu = bar.addMenu("&File")
        file_menu.addAction(self.open_model)
        file_menu.addAction(self.open_folder)
        file_menu.addMenu(self.recent_menu)
        file_menu.addSeparator()
        export_menu = file_menu.addMenu("&Export")
        for action in self.exports.values():
            export_menu.addAction(action)
        export_menu.addSeparator()
        for action in self.head_exports.values():
            export_menu.addAction(action)
        export_menu.addSeparator()
        export_menu.addAction(self.animation_anatomy)
        file_menu.addAction(self.copy_image)
        file_menu.addSeparator()
        file_menu.addAction(self.quit)
        bar.addMenu(self.examples_menu)
        decode_menu = bar.addMenu("&Decode")
        for action in (self.play_pause, self.step, self.prev_step, self.next_step, self.first_step, self.last_step):
            decode_menu.addAction(action)
        bar.addMenu(self.view_menu)
        for action in (
            self.presentation,
            self.leave_presentation,
            self.anatomy_slide,
            self.zoom_in,
            self.zoom_out,
            self.zoom_reset,
        ):
            self.view_menu.addAction(action)
        self.view_menu.addSeparator()
        for action in self.themes.values():
            self.view_menu.addAction(action)
        self.view_menu.addSeparator()
        tools = bar.addMenu("&Tools")
        tools.addAction(self.quality_vs_length)
        tools.addAction(self.which_head)
        self.fill_examples()

    def fill_recent(self, paths: list[str]) -> None:
        self._fill(self.recent_menu, paths[:MAX_RECENT], "No recent models")

    def fill_examples(self, directory: Path = EXAMPLES_DIR) -> None:
        paths = sorted(str(p) for p in directory.glob("*.safetensors")) if directory.is_dir() else []
        self._fill(self.examples_menu, paths, "No example models shipped", short=True)

    def _fill(self, menu: QMenu, paths: list[str], empty_text: str, short: bool = False) -> None:
        menu.clear()
        for path in paths:
            action = menu.addAction(Path(path).stem if short else path)
            action.setToolTip(path)
            action.triggered.connect(lambda _checked=False, p=path: self.open_requested.emit(p))
        if not paths:
            menu.addAction(empty_text).setEnabled(False)


def _export_label(fmt: str) -> str:
    if fmt in ("png", "svg", "pdf"):
        return f"Heatmap as {fmt.upper()}…"
    if fmt in ("gif", "mp4"):
        return f"Decode step by step as {fmt.upper()}…"
    return f"α, e and c as {fmt.upper()}…"
