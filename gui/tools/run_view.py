"""The frame the quality and head-ranking views share: a test-data field, a run row with progress, a message banner,
export buttons, and the life of a run on the engine thread (progress, finished, failed, cancelled) and its exports."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Signal, Slot
from PySide6.QtWidgets import QDialog, QFileDialog, QHBoxLayout, QLabel, QLineEdit, QProgressBar, QPushButton, QWidget

from gui.bridge.engine_controller import EngineController
from gui.export.exports import ExportError, ask_export
from gui.export.figure import FigureSize
from gui.files.settings_store import SettingsStore
from gui.panels.message_banner import MessageBanner
from gui.style.theme import clamp_zoom, get_theme


class RunView(QDialog):
    """Non-modal.  Closing it cancels a run it started; call teardown() before the application exits.

    A subclass builds its own inputs and results around the pieces made here and says how it starts, cancels,
    shows and writes a run (the hooks at the end)."""

    report_ready = Signal(object)  # the report shown, after each successful run
    EXPORT_FILTERS: dict[str, str] = {}
    EXPORT_NAME = "report"  # the file name the export dialog offers
    DEFAULT_DATA = Path()  # where the data dialog starts
    RUNNING_TEXT = ""  # the status while a run makes progress
    CANCELLING_TEXT = "Cancelling…"
    FAILED_TEXT = "Could not run"
    KEPT_TEXT = ""  # after "Cancelled." while the previous report is still shown
    NOTHING_TEXT = "Nothing to export yet."

    def __init__(
        self,
        controller: EngineController,
        parent: QWidget | None,
        theme: str,
        zoom: float,
        settings: SettingsStore | None,
    ) -> None:
        super().__init__(parent)
        self.setModal(False)
        self.controller = controller
        self.settings = settings  # remembers the export folder; None: start in the home folder
        self.report: Any = None
        self.running = False
        self._theme, self._zoom = get_theme(theme).name, clamp_zoom(zoom)
        self._torn_down = False
        self.banner = MessageBanner(self)

    # -- construction ------------------------------------------------------------------------
    def _make_data_field(self, placeholder: str) -> None:
        self.data_edit = QLineEdit(self)
        self.data_edit.setPlaceholderText(placeholder)
        self.browse_button = QPushButton("Browse…", self)

    def _make_run_row(self, run_text: str) -> QHBoxLayout:
        self.run_button = QPushButton(run_text, self)
        self.run_button.setDefault(True)
        self.cancel_button = QPushButton("Cancel", self)
        self.progress = QProgressBar(self)
        self.progress.setFormat("%v / %m sentences")
        self.status = QLabel("", self)
        self.status.setWordWrap(True)
        row = QHBoxLayout()
        for widget, stretch in ((self.run_button, 0), (self.cancel_button, 0), (self.progress, 1), (self.status, 2)):
            row.addWidget(widget, stretch)
        return row

    def _make_export_row(self) -> QHBoxLayout:
        self.export_buttons = {fmt: QPushButton(f"Export {fmt.upper()}…", self) for fmt in self.EXPORT_FILTERS}
        row = QHBoxLayout()
        row.addStretch(1)
        for button in self.export_buttons.values():
            button.setEnabled(False)
            row.addWidget(button)
        return row

    def _wire_run(self) -> None:
        """The data field, the run row, the exports and the controller's signals."""
        self.browse_button.clicked.connect(self._browse_data)
        self.run_button.clicked.connect(self.run)
        self.cancel_button.clicked.connect(self.cancel)
        for fmt, button in self.export_buttons.items():
            button.clicked.connect(lambda _checked=False, f=fmt: self._export_dialog(f))
        for signal, slot in self._connections():
            signal.connect(slot)

    # -- the data ----------------------------------------------------------------------------
    def data_path(self) -> str:
        return self.data_edit.text().strip()

    @Slot()
    def _browse_data(self) -> None:
        start = self.data_path() or str(self.DEFAULT_DATA.parent)
        path, _ = QFileDialog.getOpenFileName(self, "Test data", start, "Tab-separated (*.tsv *.txt);;All files (*)")
        if path:
            self.data_edit.setText(path)

    # -- a run -------------------------------------------------------------------------------
    @Slot()
    def run(self) -> bool:
        """Start a run; False (and a message in the view) when it cannot start."""
        if self._torn_down or self.running:
            return False
        problem = self._input_problem()
        if problem:
            self.banner.show_message(problem, "error")
            return False
        self.banner.dismiss()
        self._start()
        self._set_running(True)
        self.progress.setRange(0, 0)  # busy until the data is read and the total is known
        return True

    @Slot()
    def cancel(self) -> None:
        if self.running:
            self._cancel_run()
            self.status.setText(self.CANCELLING_TEXT)
            self.cancel_button.setEnabled(False)

    @Slot(int, int)
    def _on_progressed(self, done: int, total: int) -> None:
        if not self.running:
            return
        self.progress.setRange(0, max(total, 1))
        self.progress.setValue(done)
        self.status.setText(self.RUNNING_TEXT)

    @Slot(object)
    def _on_finished(self, report: Any) -> None:
        if not self.running:
            return
        self._set_running(False)
        self.progress.setValue(self.progress.maximum())
        self.show_report(report)
        self.status.setText(self._finished_text(report))
        self.report_ready.emit(report)

    @Slot(str)
    def _on_failed(self, message: str) -> None:
        if not self.running:
            return
        self._set_running(False)
        self._reset_progress()
        self.status.setText("")
        self.banner.show_message(f"{self.FAILED_TEXT}: {message}", "error")

    @Slot()
    def _on_cancelled(self) -> None:
        if not self.running:
            return
        self._set_running(False)
        self._reset_progress()
        self.status.setText("Cancelled." + (self.KEPT_TEXT if self.report else ""))

    def _reset_progress(self) -> None:
        self.progress.setRange(0, 1)  # leave the busy indicator
        self.progress.reset()  # no "0 / 1 sentences": a reset bar shows no text

    # -- export ------------------------------------------------------------------------------
    def export_to(self, path: str | Path, size: FigureSize | None = None) -> bool:
        """Write the report in the format its suffix names (`size`: a figure's); errors show in the view."""
        target = Path(path)
        try:
            self._export(target, size)
        except ExportError as exc:
            self.banner.show_message(str(exc), "error")
            return False
        self.status.setText(f"Exported {target}")
        return True

    def _export(self, target: Path, size: FigureSize | None) -> None:
        if self.report is None:
            raise ExportError(self.NOTHING_TEXT)
        if target.suffix.lower().lstrip(".") not in self.EXPORT_FILTERS:
            *rest, last = (f".{fmt}" for fmt in self.EXPORT_FILTERS)
            raise ExportError(f"Cannot export to '{target.suffix or target.name}': use {', '.join(rest)} or {last}.")
        if not target.parent.is_dir():
            raise ExportError(f"Cannot export to {target}: the folder {target.parent} does not exist.")
        try:
            self._write(target, size)
        except (OSError, ValueError) as exc:
            raise ExportError(f"Could not write {target}: {exc}") from exc

    def _export_dialog(self, fmt: str) -> None:
        path, size = ask_export(self, self.settings, fmt, self._figure_size(), self.EXPORT_NAME, self.EXPORT_FILTERS)
        if path:
            self.export_to(path, size)

    # -- lifetime ----------------------------------------------------------------------------
    def done(self, result: int) -> None:
        """Closing the view (Esc, the close button) cancels its run: decodes wait behind it otherwise."""
        self.cancel()
        super().done(result)

    def teardown(self) -> None:
        """Cancel a run and stop listening to the controller (safe to call twice)."""
        if self._torn_down:
            return
        self.cancel()
        self._torn_down = True
        for signal, slot in self._connections():
            signal.disconnect(slot)
        self._release()

    # -- what a view adds --------------------------------------------------------------------
    def _connections(self) -> list[tuple[Any, Any]]:
        """(controller signal, slot) pairs: connected when built, disconnected by teardown."""
        raise NotImplementedError

    def _input_problem(self) -> str:
        """Why a run cannot start ("" when it can)."""
        raise NotImplementedError

    def _start(self) -> None:
        """Ask the controller for the run and say so in the status."""
        raise NotImplementedError

    def _cancel_run(self) -> None:
        raise NotImplementedError

    def _set_running(self, running: bool) -> None:
        raise NotImplementedError

    def show_report(self, report: Any) -> None:
        raise NotImplementedError

    def _finished_text(self, report: Any) -> str:
        raise NotImplementedError

    def _write(self, target: Path, size: FigureSize | None) -> None:
        """Write the report to `target` (its suffix is one of EXPORT_FILTERS)."""
        raise NotImplementedError

    def _figure_size(self) -> FigureSize:
        raise NotImplementedError

    def _release(self) -> None:
        """Let go of what teardown must release besides the connections."""
