"""Which head to trust, in the window: rank the loaded transformer's cross-attention heads by word-level AER on a
test TSV with gold alignments, as a table, the best head, the rule and the layers × heads figure.

The view never calls torch: it asks the window's EngineController to rank, which runs engine.rank_heads on the
engine thread with the session the window decodes with (decodes wait until it ends).  A click on a row asks
for that head (or that mean) in the main heatmap through `head_chosen` / `mean_chosen`.  The figure is
gui/export/head_ranking_figure.py's, on screen and in the PNG / SVG / PDF exports; JSON is the report as
`python main.py evaluate --heads` writes it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSizeF, Qt, Signal, Slot
from PySide6.QtGui import QPainter, QPaintEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QSizePolicy,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from engine import HeadRankingReport, HeadScore, ModelInfo, atomic_write_text
from gui.bridge.engine_controller import EngineController
from gui.export.figure import FigureSize, write_figure
from gui.export.head_ranking_figure import paint_head_ranking
from gui.files.resources import DATA_DIR, MODELS_DIR
from gui.files.settings_store import SettingsStore
from gui.style.fonts import BASE_POINT_SIZE, alpha_symbol, ui_font
from gui.style.theme import clamp_zoom, get_theme
from gui.tools.run_view import RunView

SHIPPED_MODEL = MODELS_DIR / "en_hi_transformer.safetensors"
DEFAULT_DATA = DATA_DIR / "en_hi_test.tsv"  # its held-out pairs, with gold alignments
EXPORT_FILTERS = {
    "json": "JSON report (*.json)",
    "png": "PNG image (*.png)",
    "svg": "SVG image (*.svg)",
    "pdf": "PDF document (*.pdf)",
}
COLUMNS = ("rank", "head", "AER", "sink α share", "sink")
NO_HEADS = (
    "{model} has no attention heads (an RNN has one attention): ranking heads needs a transformer. "
    "Open one, e.g. en_hi_transformer from the Examples menu."
)
FIGURE_TITLE = "attnscope: which head to trust"


class HeadRankingFigure(QWidget):
    """The report drawn by paint_head_ranking, on screen and into the exports."""

    def __init__(self, parent: QWidget | None = None, theme: str = "light", zoom: float = 1.0) -> None:
        super().__init__(parent)
        self.report: HeadRankingReport | None = None
        self.theme, self.zoom = theme, zoom
        self.setMinimumSize(320, 260)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    def set_report(self, report: HeadRankingReport | None) -> None:
        self.report = report
        self.update()

    def set_look(self, theme: str, zoom: float) -> None:
        self.theme, self.zoom = theme, zoom
        self.update()

    def paint(self, painter: QPainter, size: QSizeF) -> None:
        theme = get_theme(self.theme)
        report: dict[str, Any] = dict(self.report) if self.report is not None else {"layers": 0, "heads": 0}
        paint_head_ranking(painter, size, report, theme.plot_background, theme.plot_foreground, self.zoom)

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802  (Qt's name)
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.TextAntialiasing, True)
        if self.report is None:
            painter.fillRect(self.rect(), get_theme(self.theme).plot_background)
        else:
            self.paint(painter, QSizeF(self.size()))
        painter.end()

    def export_size(self) -> FigureSize:
        """The widget's size (at least 1000 × 760) at 96 dpi."""
        return FigureSize(max(self.width(), 1000), max(self.height(), 760))

    def export(self, path: str | Path, size: FigureSize | None = None) -> None:
        write_figure(path, self.paint, size or self.export_size(), title=FIGURE_TITLE)


class HeadRankingView(RunView):
    """Non-modal.  Closing it cancels a run it started; call teardown() before the application exits."""

    EXPORT_FILTERS = EXPORT_FILTERS
    EXPORT_NAME = "head_ranking"
    DEFAULT_DATA = DEFAULT_DATA
    RUNNING_TEXT = "Forcing each reference on the engine thread; decoding in the main window waits."
    CANCELLING_TEXT = "Cancelling after the current sentence…"
    FAILED_TEXT = "Could not rank the heads"
    KEPT_TEXT = " The table shows the previous ranking."
    NOTHING_TEXT = "Nothing to export yet: rank the heads first."
    report: HeadRankingReport | None
    head_chosen = Signal(int, int)  # layer, head: a click on a head's row
    mean_chosen = Signal(int)  # layer (-1: the mean of every head): a click on a mean's row

    def __init__(
        self,
        controller: EngineController,
        parent: QWidget | None = None,
        *,
        data_path: str | Path | None = None,
        theme: str = "light",
        zoom: float = 1.0,
        settings: SettingsStore | None = None,
    ) -> None:
        super().__init__(controller, parent, theme, zoom, settings)
        self.setWindowTitle("Which head to trust")
        self.info: ModelInfo | None = None  # the window's model
        self._build()
        self._wire()
        if data_path is not None:
            self.data_edit.setText(str(data_path))
        self.set_model(controller.model_info)
        self.setFont(ui_font(BASE_POINT_SIZE, self._zoom))
        screen = self.screen().availableGeometry()  # a laptop's 1366 × 768 takes it whole, title bar included
        self.resize(min(1200, screen.width() - 16), min(760, screen.height() - 48))

    # -- construction ------------------------------------------------------------------------
    def _build(self) -> None:
        self.model_label = QLabel(self)
        self._make_data_field("test TSV with gold alignments: source<TAB>target<TAB>s-t links per line")
        self.best_label = QLabel(self)
        self.rule_label = QLabel(self)
        for label in (self.best_label, self.rule_label, self.model_label):
            label.setWordWrap(True)
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.table = self._new_table()
        self.figure = HeadRankingFigure(self, self._theme, self._zoom)
        self.splitter = QSplitter(Qt.Orientation.Horizontal, self)
        self.splitter.addWidget(self.table)
        self.splitter.addWidget(self.figure)
        self.splitter.setStretchFactor(0, 2)
        self.splitter.setStretchFactor(1, 3)
        self._lay_out()

    def _lay_out(self) -> None:
        data = QHBoxLayout()
        data.addWidget(QLabel("Test data", self))
        data.addWidget(self.data_edit, 1)
        data.addWidget(self.browse_button)
        run = self._make_run_row("Rank the heads")
        exports = self._make_export_row()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 8, 10, 8)
        layout.addWidget(self.model_label)
        layout.addLayout(data)
        layout.addLayout(run)
        layout.addWidget(self.banner)
        layout.addWidget(self.best_label)
        layout.addWidget(self.splitter, 1)
        layout.addWidget(self.rule_label)
        layout.addLayout(exports)

    def _new_table(self) -> QTableWidget:
        table = QTableWidget(0, len(COLUMNS), self)
        table.setHorizontalHeaderLabels([c.replace("α", alpha_symbol()) for c in COLUMNS])
        table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        table.verticalHeader().setVisible(False)
        table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        table.setAlternatingRowColors(True)
        table.setToolTip("Click a row to show that head (or mean) in the main heatmap.")
        return table

    def _wire(self) -> None:
        self.data_edit.textChanged.connect(self._on_data_edited)
        self.table.cellClicked.connect(self.choose_row)
        self.table.cellActivated.connect(self.choose_row)
        self._wire_run()

    def _connections(self) -> list[tuple[Any, Any]]:
        c = self.controller
        return [
            (c.model_loaded, self.set_model),
            (c.head_ranking_progressed, self._on_progressed),
            (c.head_ranking_finished, self._on_finished),
            (c.head_ranking_failed, self._on_failed),
            (c.head_ranking_cancelled, self._on_cancelled),
        ]

    # -- the model and the data --------------------------------------------------------------
    @Slot(object)
    def set_model(self, info: ModelInfo | None) -> None:
        """The window's model: a new one drops the ranking shown (it was another model's)."""
        if self._torn_down:
            return
        self.info = info
        self.show_report(None)
        if info is None:
            self.model_label.setText("No model is loaded.")
        else:
            name = Path(info.path).name
            if info.head_layout is None:
                self.model_label.setText(f"Model: {name}")
                self.banner.show_message(NO_HEADS.format(model=name), "warning", topic="model")
            else:
                layers, heads = info.head_layout[:2]
                self.model_label.setText(f"Model: {name}, {layers} decoder layers × {heads} cross-attention heads")
                self.banner.clear_topic("model")
                if not self.data_path() and _same_file(info.path, SHIPPED_MODEL) and DEFAULT_DATA.is_file():
                    self.data_edit.setText(str(DEFAULT_DATA))
        self._set_running(self.running)
        if not self.running:
            self.status.setText(self._idle_text())

    def has_heads(self) -> bool:
        return self.info is not None and self.info.head_layout is not None

    def _idle_text(self) -> str:
        if not self.has_heads():
            return ""
        return "Choose a test TSV with gold alignments, then rank the heads."

    @Slot()
    def _on_data_edited(self) -> None:
        self._set_running(self.running)

    # -- running -----------------------------------------------------------------------------
    def _start(self) -> None:
        self.controller.rank_heads(self.data_path())
        waiting = " (after the decode in the main window, which is running or paused)" if self.controller.busy else ""
        self.status.setText(f"Reading the data…{waiting}")

    def _input_problem(self) -> str:
        if self.info is None:
            return "Open a transformer first."
        if self.info.head_layout is None:
            return NO_HEADS.format(model=Path(self.info.path).name)
        data = self.data_path()
        if not data:
            return "Choose a test data file with gold alignments (source<TAB>target<TAB>s-t links) first."
        return "" if Path(data).is_file() else f"No such test data file: {data}"

    def _cancel_run(self) -> None:
        self.controller.cancel_head_ranking()

    def _set_running(self, running: bool) -> None:
        self.running = running
        for widget in (self.data_edit, self.browse_button):
            widget.setEnabled(not running)
        self.run_button.setEnabled(not running and self.has_heads() and bool(self.data_path()))
        self.cancel_button.setEnabled(running)
        for button in self.export_buttons.values():
            button.setEnabled(self.report is not None)

    def _finished_text(self, report: HeadRankingReport) -> str:
        return f"{report['sentences']} sentences of {Path(report['data']).name} scored, {report['skipped']} skipped."

    # -- results -----------------------------------------------------------------------------
    def show_report(self, report: HeadRankingReport | None) -> None:
        """Tabulate and draw `report` (None: nothing ranked yet)."""
        self.report = report
        self.figure.set_report(report)
        self._fill_table(report["ranking"] if report else [])
        self.best_label.setText(_best_text(report) if report else "")
        rule = f"How: {report['rule']}.  Sinks: {report['sink_rule']}." if report else ""
        self.rule_label.setText(rule.replace("α", alpha_symbol()))
        for button in self.export_buttons.values():
            button.setEnabled(report is not None)

    def _fill_table(self, ranking: list[HeadScore]) -> None:
        self.table.clearSelection()
        self.table.setRowCount(len(ranking))
        for r, row in enumerate(ranking):
            cells = (
                str(row["rank"]),
                row["label"],
                "–" if row["aer"] is None else f"{row['aer']:.3f}",
                f"{row['sink_share']:.3f}",
                "sink" if row["sink"] else "",
            )
            for c, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if c in (0, 2, 3):
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.table.setItem(r, c, item)
        self._fit_table()

    def _fit_table(self) -> None:
        """Give the table the width of its columns (the figure takes the rest), up to half the view."""
        self.table.resizeColumnsToContents()
        header, frame = self.table.horizontalHeader(), 2 * self.table.frameWidth()
        wanted = header.length() + frame + self.table.verticalScrollBar().sizeHint().width()
        total = sum(self.splitter.sizes())
        if total > 0:
            width = min(wanted, total // 2)
            self.splitter.setSizes([width, total - width])

    def table_rows(self) -> list[list[str]]:
        """The table's text, row by row (what the user reads)."""
        items = [[self.table.item(r, c) for c in range(self.table.columnCount())] for r in range(self.table.rowCount())]
        return [[item.text() if item is not None else "" for item in row] for row in items]

    @Slot(int, int)
    def choose_row(self, row: int, _column: int = 0) -> None:
        """Show the row's head (or mean) in the main heatmap."""
        if self.report is None or not 0 <= row < len(self.report["ranking"]):
            return
        score = self.report["ranking"][row]
        if score["kind"] == "head" and score["layer"] is not None and score["head"] is not None:
            self.head_chosen.emit(score["layer"], score["head"])
        else:
            self.mean_chosen.emit(-1 if score["layer"] is None else score["layer"])

    # -- export ------------------------------------------------------------------------------
    def _write(self, target: Path, size: FigureSize | None) -> None:
        """The report (.json, as `python main.py evaluate --heads` writes it) or the figure (.png, .svg, .pdf)."""
        if target.suffix.lower() == ".json":
            atomic_write_text(target, json.dumps(self.report, ensure_ascii=False, indent=2) + "\n")
        else:
            self.figure.export(target, size)

    def _figure_size(self) -> FigureSize:
        return self.figure.export_size()

    # -- look and lifetime -------------------------------------------------------------------
    def set_look(self, theme: str, zoom: float) -> None:
        self._theme, self._zoom = get_theme(theme).name, clamp_zoom(zoom)
        self.setFont(ui_font(BASE_POINT_SIZE, self._zoom))
        self.figure.set_look(self._theme, self._zoom)


def _best_text(report: HeadRankingReport) -> str:
    best = report["best"]
    if best is None or best["aer"] is None:
        return "No sentence could be scored: no best head."
    sink = " (flagged as an attention sink)" if best["sink"] else ""
    return (
        f"Best head: {best['label']}, word-level AER {best['aer']:.3f}{sink}, of {report['layers']} × "
        f"{report['heads']} heads of {report['model']} (lower is better; rank 1 may be a mean of heads)."
    )


def _same_file(a: str | Path, b: Path) -> bool:
    try:
        return Path(a).resolve() == b.resolve()
    except OSError:
        return False
