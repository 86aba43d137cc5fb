"""Quality against source length: evaluate models on a test TSV, then plot and tabulate the scores per bucket.

The view never calls torch: it asks the window's EngineController to evaluate, which runs
engine.evaluation.quality on the engine thread (the main window's decodes wait until it ends) with its own
copies of the models, so the model the window decodes with stays loaded.  Results: BLEU and exact
match against length bucket (gui.tools.quality_plot, one line per model), a table with the counts and every
score, and PNG / SVG / CSV exports, each written atomically.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QFileDialog,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QProgressBar,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from engine import EvaluationReport, atomic_write_text, report_csv, report_rows
from gui.bridge.engine_controller import EngineController
from gui.export.exports import ExportError, ask_export
from gui.export.figure import FigureSize
from gui.files.model_files import MODEL_FILTERS
from gui.files.resources import DATA_DIR, MODELS_DIR
from gui.files.settings_store import SettingsStore
from gui.panels.message_banner import MessageBanner
from gui.style.fonts import BASE_POINT_SIZE, alpha_symbol, ui_font
from gui.style.theme import clamp_zoom, get_theme
from gui.tools.quality_plot import QualityPlot

DEFAULT_DATA = DATA_DIR / "en_hi_test_buckets.tsv"
SHIPPED_DIR = MODELS_DIR
SHIPPED_GLOB = "en_hi_*.safetensors"  # the en→hi demo models: bahdanau, none, luong_general
EXPORT_FILTERS = {
    "png": "PNG image (*.png)",
    "svg": "SVG image (*.svg)",
    "pdf": "PDF document (*.pdf)",
    "csv": "CSV table (*.csv)",
}
PATH_ROLE = Qt.ItemDataRole.UserRole
# (report key, column title, digits; None: an integer, "%": a fraction shown as a percentage)
COLUMNS: tuple[tuple[str, str, int | str | None], ...] = (
    ("model", "model", None),
    ("range", "length", None),
    ("count", "count", None),
    ("bleu", "BLEU", 1),
    ("chrf", "chrF", 1),
    ("exact_match", "exact %", "%"),
    ("aer", "AER", 3),
    ("entropy", "H", 3),
)


class QualityView(QDialog):
    """Non-modal.  Closing it cancels a run it started; call teardown() before the application exits."""

    report_ready = Signal(object)  # the report dict shown, after each successful run

    def __init__(
        self,
        controller: EngineController,
        parent: QWidget | None = None,
        *,
        models: Iterable[str] = (),
        data_path: str | Path | None = None,
        theme: str = "light",
        zoom: float = 1.0,
        settings: SettingsStore | None = None,
        shipped_dir: Path = SHIPPED_DIR,
        device: str = "auto",
        batch_size: int = 32,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Quality vs source length")
        self.setModal(False)
        self.controller = controller
        self.settings = settings  # a SettingsStore remembers the export folder; None: start in the home folder
        self.report: EvaluationReport | None = None
        self.running = False
        self._theme, self._zoom = get_theme(theme).name, clamp_zoom(zoom)
        self._shipped_dir, self._device, self._batch_size = shipped_dir, device, batch_size
        self._torn_down = False
        self._build()
        self._wire()
        default = DEFAULT_DATA if DEFAULT_DATA.is_file() else ""
        self.data_edit.setText(str(data_path if data_path is not None else default))
        self.add_models(models)
        self._set_running(False)
        self.setFont(ui_font(BASE_POINT_SIZE, self._zoom))
        self.plot.set_report({"models": []})  # blank axes (no 0.1 … 0.9 ticks) until a run ends
        self.status.setText("Choose the test data and the models, then Run.")
        self.resize(1280, 860)

    # -- construction ------------------------------------------------------------------------
    def _build(self) -> None:
        self.banner = MessageBanner(self)
        self.plot = self._new_plot()
        self.table = self._new_table()
        self.splitter = QSplitter(Qt.Orientation.Horizontal, self)  # the table is narrow and long: beside the plot
        self.splitter.addWidget(self.plot)
        self.splitter.addWidget(self.table)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 2)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 8, 10, 8)
        layout.addLayout(self._inputs())
        layout.addLayout(self._run_row())
        layout.addWidget(self.banner)
        layout.addWidget(self.splitter, 1)
        layout.addLayout(self._export_row())

    def _inputs(self) -> QGridLayout:
        self.data_edit = QLineEdit(self)
        self.data_edit.setPlaceholderText("test TSV: source<TAB>target[<TAB>alignment] per line")
        self.browse_button = QPushButton("Browse…", self)
        self.model_list = QListWidget(self)
        self.model_list.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.model_list.setMaximumHeight(110)
        self.add_button = QPushButton("Add model…", self)
        self.shipped_button = QPushButton("Add the en→hi demo models", self)
        self.remove_button = QPushButton("Remove", self)
        buttons = QVBoxLayout()
        for button in (self.add_button, self.shipped_button, self.remove_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        grid = QGridLayout()
        grid.addWidget(QLabel("Test data", self), 0, 0)
        grid.addWidget(self.data_edit, 0, 1)
        grid.addWidget(self.browse_button, 0, 2)
        grid.addWidget(QLabel("Models", self), 1, 0, Qt.AlignmentFlag.AlignTop)
        grid.addWidget(self.model_list, 1, 1)
        grid.addLayout(buttons, 1, 2)
        grid.setColumnStretch(1, 1)
        return grid

    def _run_row(self) -> QHBoxLayout:
        self.run_button = QPushButton("Run", self)
        self.run_button.setDefault(True)
        self.cancel_button = QPushButton("Cancel", self)
        self.progress = QProgressBar(self)
        self.progress.setFormat("%v / %m sentences")
        self.status = QLabel("", self)
        self.status.setWordWrap(True)
        row = QHBoxLayout()
        row.addWidget(self.run_button)
        row.addWidget(self.cancel_button)
        row.addWidget(self.progress, 1)
        row.addWidget(self.status, 2)
        return row

    def _export_row(self) -> QHBoxLayout:
        self.export_buttons = {fmt: QPushButton(f"Export {fmt.upper()}…", self) for fmt in EXPORT_FILTERS}
        row = QHBoxLayout()
        row.addStretch(1)
        for button in self.export_buttons.values():
            button.setEnabled(False)
            row.addWidget(button)
        return row

    def _new_plot(self) -> QualityPlot:
        theme = get_theme(self._theme)
        return QualityPlot(self, self._zoom, theme.plot_background, theme.plot_foreground)

    def _new_table(self) -> QTableWidget:
        table = QTableWidget(0, len(COLUMNS), self)
        titles = [f"{title}({alpha_symbol()})" if key == "entropy" else title for key, title, _ in COLUMNS]
        table.setHorizontalHeaderLabels(titles)
        table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        table.verticalHeader().setVisible(False)
        table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        table.setAlternatingRowColors(True)
        return table

    def _wire(self) -> None:
        self.browse_button.clicked.connect(self._browse_data)
        self.add_button.clicked.connect(self._browse_model)
        self.shipped_button.clicked.connect(self.add_shipped_models)
        self.remove_button.clicked.connect(self._remove_selected)
        self.run_button.clicked.connect(self.run)
        self.cancel_button.clicked.connect(self.cancel)
        for fmt, button in self.export_buttons.items():
            button.clicked.connect(lambda _checked=False, f=fmt: self._export_dialog(f))
        for signal, slot in self._connections():
            signal.connect(slot)

    def _connections(self) -> list[tuple[Any, Any]]:
        c = self.controller
        return [
            (c.evaluation_progressed, self._on_progressed),
            (c.evaluation_finished, self._on_finished),
            (c.evaluation_failed, self._on_failed),
            (c.evaluation_cancelled, self._on_cancelled),
        ]

    # -- inputs ------------------------------------------------------------------------------
    def data_path(self) -> str:
        return self.data_edit.text().strip()

    def model_paths(self) -> list[str]:
        return [str(self.model_list.item(i).data(PATH_ROLE)) for i in range(self.model_list.count())]

    def add_models(self, paths: Iterable[str | Path]) -> None:
        """Append models not listed yet (empty paths are skipped)."""
        listed = set(self.model_paths())
        for path in (str(p) for p in paths if str(p)):
            if path in listed:
                continue
            listed.add(path)
            item = QListWidgetItem(f"{Path(path).name}    ({Path(path).parent})")
            item.setData(PATH_ROLE, path)
            item.setToolTip(path)
            self.model_list.addItem(item)
        self._set_running(self.running)

    def shipped_models(self) -> list[str]:
        if not self._shipped_dir.is_dir():
            return []
        return sorted(str(p) for p in self._shipped_dir.glob(SHIPPED_GLOB))

    @Slot()
    def add_shipped_models(self) -> None:
        self.add_models(self.shipped_models())

    @Slot()
    def _remove_selected(self) -> None:
        for item in self.model_list.selectedItems():
            self.model_list.takeItem(self.model_list.row(item))
        self._set_running(self.running)

    @Slot()
    def _browse_data(self) -> None:
        start = self.data_path() or str(DEFAULT_DATA.parent)
        path, _ = QFileDialog.getOpenFileName(self, "Test data", start, "Tab-separated (*.tsv *.txt);;All files (*)")
        if path:
            self.data_edit.setText(path)

    @Slot()
    def _browse_model(self) -> None:
        models = self.model_paths()
        start = str(Path(models[-1]).parent) if models else str(self._shipped_dir)
        paths, _ = QFileDialog.getOpenFileNames(self, "Add models", start, MODEL_FILTERS)
        self.add_models(paths)

    # -- running -----------------------------------------------------------------------------
    @Slot()
    def run(self) -> bool:
        """Start evaluating the listed models; False (and a message in the view) when the inputs are unusable."""
        if self._torn_down or self.running:
            return False
        problem = self._input_problem()
        if problem:
            self.banner.show_message(problem, "error")
            return False
        self.banner.dismiss()
        models = self.model_paths()
        self.controller.evaluate(models, self.data_path(), self._device, self._batch_size)
        self._set_running(True)
        self.progress.setRange(0, 0)  # busy indicator until the models are loaded and the total is known
        self.status.setText(f"Loading {len(models)} model(s)…")
        return True

    def _input_problem(self) -> str:
        data = self.data_path()
        if not data:
            return "Choose a test data file first (source<TAB>target[<TAB>alignment] lines)."
        if not Path(data).is_file():
            return f"No such test data file: {data}"
        if not self.model_paths():
            return "Add at least one model to evaluate."
        missing = [p for p in self.model_paths() if not Path(p).exists()]
        return f"No such model file: {missing[0]}" if missing else ""

    @Slot()
    def cancel(self) -> None:
        if self.running:
            self.controller.cancel_evaluation()
            self.status.setText("Cancelling after the current batch…")
            self.cancel_button.setEnabled(False)

    def _set_running(self, running: bool) -> None:
        self.running = running
        for widget in (self.data_edit, self.browse_button, self.add_button, self.remove_button, self.model_list):
            widget.setEnabled(not running)
        self.shipped_button.setEnabled(not running and bool(self.shipped_models()))
        self.shipped_button.setToolTip(f"Add {SHIPPED_GLOB} from {self._shipped_dir}")
        self.run_button.setEnabled(not running and bool(self.model_paths()))
        self.cancel_button.setEnabled(running)

    @Slot(int, int)
    def _on_progressed(self, done: int, total: int) -> None:
        if not self.running:
            return
        self.progress.setRange(0, max(total, 1))
        self.progress.setValue(done)
        self.status.setText("Evaluating on the engine thread; decoding in the main window waits until it ends.")

    @Slot(object)
    def _on_finished(self, report: EvaluationReport) -> None:
        if not self.running:
            return
        self._set_running(False)
        self.progress.setValue(self.progress.maximum())
        self.show_report(report)
        models = report.get("models", [])
        count = models[0]["overall"]["count"] if models else 0
        self.status.setText(f"{len(models)} model(s) × {count} sentences from {Path(str(report.get('data'))).name}.")
        self.report_ready.emit(report)

    @Slot(str)
    def _on_failed(self, message: str) -> None:
        if not self.running:
            return
        self._set_running(False)
        self._reset_progress()
        self.status.setText("")
        self.banner.show_message(f"Could not evaluate: {message}", "error")

    @Slot()
    def _on_cancelled(self) -> None:
        if not self.running:
            return
        self._set_running(False)
        self._reset_progress()
        self.status.setText("Cancelled." + (" The plot shows the previous run." if self.report else ""))

    def _reset_progress(self) -> None:
        self.progress.setRange(0, 1)  # leave the busy indicator
        self.progress.reset()  # no "0 / 1 sentences": a reset bar shows no text

    # -- results -----------------------------------------------------------------------------
    def show_report(self, report: EvaluationReport) -> None:
        """Plot and tabulate `report` (engine.evaluation.quality.report_dict's layout)."""
        self.report = report
        self.plot.set_report(report)
        self._fill_table(report)
        for button in self.export_buttons.values():
            button.setEnabled(True)

    def _fill_table(self, report: EvaluationReport) -> None:
        rows = report_rows(report)
        self.table.setRowCount(len(rows))
        bold = QFont(self.table.font())
        bold.setBold(True)
        for r, row in enumerate(rows):
            for c, (key, _, digits) in enumerate(COLUMNS):
                item = QTableWidgetItem(_cell(row[key], digits))
                if c >= 2:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                if row["range"] == "all":  # the model's overall row closes its block
                    item.setFont(bold)
                self.table.setItem(r, c, item)
        self._fit_table()

    def _fit_table(self) -> None:
        """Give the table the width of its columns (the plot takes the rest), up to half the view."""
        self.table.resizeColumnsToContents()
        header, frame = self.table.horizontalHeader(), 2 * self.table.frameWidth()
        wanted = header.length() + frame + self.table.verticalScrollBar().sizeHint().width()
        total = sum(self.splitter.sizes())
        if total > 0:
            width = min(wanted, total // 2)
            self.splitter.setSizes([total - width, width])

    # -- export ------------------------------------------------------------------------------
    def export_to(self, path: str | Path, size: FigureSize | None = None) -> bool:
        """Write the plot (.png, .svg, .pdf; `size` as the plot's export takes it) or the scores (.csv); errors
        show in the view."""
        target = Path(path)
        try:
            self._export(target, size)
        except ExportError as exc:
            self.banner.show_message(str(exc), "error")
            return False
        self.status.setText(f"Exported {target}")
        return True

    def _export(self, target: Path, size: FigureSize | None) -> None:
        suffix = target.suffix.lower()
        if self.report is None:
            raise ExportError("Nothing to export yet: run an evaluation first.")
        if suffix.lstrip(".") not in EXPORT_FILTERS:
            raise ExportError(f"Cannot export to '{target.suffix or target.name}': use .png, .svg, .pdf or .csv.")
        if not target.parent.is_dir():
            raise ExportError(f"Cannot export to {target}: the folder {target.parent} does not exist.")
        try:
            if suffix == ".csv":
                atomic_write_text(target, report_csv(self.report))
            else:
                self.plot.export(target, size)
        except (OSError, ValueError) as exc:
            raise ExportError(f"Could not write {target}: {exc}") from exc

    def _export_dialog(self, fmt: str) -> None:
        path, size = ask_export(self, self.settings, fmt, self.plot.export_size(), "quality_vs_length", EXPORT_FILTERS)
        if path:
            self.export_to(path, size)

    # -- look and lifetime -------------------------------------------------------------------
    def set_look(self, theme: str, zoom: float) -> None:
        """QualityPlot takes its colours when made: a new theme or zoom means a new plot (same report)."""
        theme, zoom = get_theme(theme).name, clamp_zoom(zoom)
        if (theme, zoom) == (self._theme, self._zoom) or self._torn_down:
            return
        self._theme, self._zoom = theme, zoom
        self.setFont(ui_font(BASE_POINT_SIZE, zoom))
        old, self.plot = self.plot, self._new_plot()
        self.splitter.replaceWidget(0, self.plot)
        old.teardown()
        old.deleteLater()
        self.plot.set_report(self.report or {"models": []})

    def done(self, result: int) -> None:
        """Closing the view (Esc, the close button) cancels its run: decodes wait behind it otherwise."""
        self.cancel()
        super().done(result)

    def teardown(self) -> None:
        """Cancel a run, stop listening to the controller and release the plot (safe to call twice)."""
        if self._torn_down:
            return
        self._torn_down = True
        self.cancel()
        for signal, slot in self._connections():
            signal.disconnect(slot)
        self.plot.teardown()


def _cell(value: Any, digits: int | str | None) -> str:
    if value is None:
        return "–"
    if digits is None:
        return str(value)
    if digits == "%":
        return f"{100 * float(value):.1f}"
    return f"{float(value):.{digits}f}"
