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

from PySide6.QtCore import Qt, Slot
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QGridLayout,
    QHeaderView,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from engine import EvaluationReport, atomic_write_text, report_csv, report_rows
from gui.bridge.engine_controller import EngineController
from gui.export.figure import FigureSize
from gui.files.model_files import MODEL_FILTERS
from gui.files.resources import DATA_DIR, MODELS_DIR
from gui.files.settings_store import SettingsStore
from gui.style.fonts import BASE_POINT_SIZE, alpha_symbol, ui_font
from gui.style.theme import clamp_zoom, get_theme
from gui.tools.quality_plot import QualityPlot
from gui.tools.run_view import RunView

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


class QualityView(RunView):
    """Non-modal.  Closing it cancels a run it started; call teardown() before the application exits."""

    EXPORT_FILTERS = EXPORT_FILTERS
    EXPORT_NAME = "quality_vs_length"
    DEFAULT_DATA = DEFAULT_DATA
    RUNNING_TEXT = "Evaluating on the engine thread; decoding in the main window waits until it ends."
    CANCELLING_TEXT = "Cancelling after the current batch…"
    FAILED_TEXT = "Could not evaluate"
    KEPT_TEXT = " The plot shows the previous run."
    NOTHING_TEXT = "Nothing to export yet: run an evaluation first."
    report: EvaluationReport | None

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
        super().__init__(controller, parent, theme, zoom, settings)
        self.setWindowTitle("Quality vs source length")
        self._shipped_dir, self._device, self._batch_size = shipped_dir, device, batch_size
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
        layout.addLayout(self._make_run_row("Run"))
        layout.addWidget(self.banner)
        layout.addWidget(self.splitter, 1)
        layout.addLayout(self._make_export_row())

    def _inputs(self) -> QGridLayout:
        self._make_data_field("test TSV: source<TAB>target[<TAB>alignment] per line")
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
        self.add_button.clicked.connect(self._browse_model)
        self.shipped_button.clicked.connect(self.add_shipped_models)
        self.remove_button.clicked.connect(self._remove_selected)
        self._wire_run()

    def _connections(self) -> list[tuple[Any, Any]]:
        c = self.controller
        return [
            (c.evaluation_progressed, self._on_progressed),
            (c.evaluation_finished, self._on_finished),
            (c.evaluation_failed, self._on_failed),
            (c.evaluation_cancelled, self._on_cancelled),
        ]

    # -- inputs ------------------------------------------------------------------------------
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
    def _browse_model(self) -> None:
        models = self.model_paths()
        start = str(Path(models[-1]).parent) if models else str(self._shipped_dir)
        paths, _ = QFileDialog.getOpenFileNames(self, "Add models", start, MODEL_FILTERS)
        self.add_models(paths)

    # -- running -----------------------------------------------------------------------------
    def _start(self) -> None:
        models = self.model_paths()
        self.controller.evaluate(models, self.data_path(), self._device, self._batch_size)
        self.status.setText(f"Loading {len(models)} model(s)…")

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

    def _cancel_run(self) -> None:
        self.controller.cancel_evaluation()

    def _set_running(self, running: bool) -> None:
        self.running = running
        for widget in (self.data_edit, self.browse_button, self.add_button, self.remove_button, self.model_list):
            widget.setEnabled(not running)
        self.shipped_button.setEnabled(not running and bool(self.shipped_models()))
        self.shipped_button.setToolTip(f"Add {SHIPPED_GLOB} from {self._shipped_dir}")
        self.run_button.setEnabled(not running and bool(self.model_paths()))
        self.cancel_button.setEnabled(running)

    def _finished_text(self, report: EvaluationReport) -> str:
        models = report.get("models", [])
        count = models[0]["overall"]["count"] if models else 0
        return f"{len(models)} model(s) × {count} sentences from {Path(str(report.get('data'))).name}."

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
    def _write(self, target: Path, size: FigureSize | None) -> None:
        """The plot (.png, .svg, .pdf; `size` as the plot's export takes it) or the scores (.csv)."""
        assert self.report is not None
        if target.suffix.lower() == ".csv":
            atomic_write_text(target, report_csv(self.report))
        else:
            self.plot.export(target, size)

    def _figure_size(self) -> FigureSize:
        return self.plot.export_size()

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

    def _release(self) -> None:
        self.plot.teardown()


def _cell(value: Any, digits: int | str | None) -> str:
    if value is None:
        return "–"
    if digits is None:
        return str(value)
    if digits == "%":
        return f"{100 * float(value):.1f}"
    return f"{float(value):.{digits}f}"
