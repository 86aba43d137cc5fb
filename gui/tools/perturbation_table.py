""" "Try every word": one engine request decodes the sentence once per source word dropped (or replaced),
and the table lists, per word, the new output, which output positions changed and how far α moved."""

from __future__ import annotations

import math

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from engine import DecodeResult, Perturbation
from gui.bridge.engine_client import EngineClient
from gui.bridge.engine_controller import EngineController
from gui.style.fonts import BASE_POINT_SIZE, ui_font
from gui.style.theme import Theme, clamp_zoom, get_theme
from gui.text.token_marks import CHANGED_BACKGROUND, CHANGED_TEXT

COLUMNS = ("Word", "New output", "Changed positions", "Max |Δα|")  # positions aligned by edit distance


def changed_text(row: Perturbation) -> str:
    """New or different output positions, then the original positions that were lost ("none": same output)."""
    parts = []
    if row.changed_positions:
        parts.append(", ".join(map(str, row.changed_positions)))
    if row.lost_positions:
        parts.append("lost " + ", ".join(map(str, row.lost_positions)))
    return "; ".join(parts) or "none"


def max_delta(row: Perturbation) -> float:
    finite = [d for d in row.max_delta_alpha if not math.isnan(d)]
    return max(finite, default=math.nan)


class PerturbationPanel(QWidget):
    """`table_ready` carries the DecodeResult whose `perturbations` the table shows."""

    table_ready = Signal(object)

    def __init__(
        self, controller: EngineController, parent: QWidget | None = None, theme: str = "light", zoom: float = 1.0
    ) -> None:
        super().__init__(parent)
        self._theme: Theme = get_theme(theme)
        self._source_text = ""
        self.result: DecodeResult | None = None
        self.client = EngineClient(controller, self)
        self.client.finished.connect(self._on_finished)
        self.client.failed.connect(self._on_failed)
        self.client.lost.connect(self._on_lost)
        self.mode = QComboBox(self)
        self.mode.addItem("drop the word", "drop")
        self.mode.addItem("replace it with", "replace")
        self.replacement = QLineEdit(self)
        self.replacement.setPlaceholderText("a source word")
        self.try_button = QPushButton("Try every word", self)
        self.try_button.clicked.connect(self.try_every_word)
        self.status = QLabel("Decode a sentence first.", self)
        self.status.setWordWrap(True)
        self.table = QTableWidget(0, len(COLUMNS), self)
        self.table.setHorizontalHeaderLabels(list(COLUMNS))
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.verticalHeader().setVisible(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)  # the new output takes the room
        top = QHBoxLayout()
        for widget in (QLabel("For each source word:", self), self.mode, self.replacement, self.try_button):
            top.addWidget(widget)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 6, 8, 4)
        layout.addLayout(top)
        layout.addWidget(self.status)
        layout.addWidget(self.table, 1)
        self.set_zoom(zoom)
        self.try_button.setEnabled(False)

    def set_original(self, result: DecodeResult, source_text: str) -> None:
        self._source_text = source_text
        self.client.cancel()
        self.try_button.setEnabled(True)
        self.status.setText(f'{len(result.source_tokens)} words: "Try every word" decodes once per word.')

    def clear(self) -> None:
        self.client.cancel()
        self._source_text = ""
        self.try_button.setEnabled(False)
        self.table.setRowCount(0)
        self.status.setText("Decode a sentence first.")

    @Slot()
    def try_every_word(self) -> None:
        mode = str(self.mode.currentData())
        replacement = self.replacement.text().strip()
        if self._source_text and self.client.submit(
            self._source_text, strategy="greedy", perturb=mode, perturb_with=replacement
        ):
            self.status.setText("Decoding once per source word…")

    @Slot(object)
    def _on_finished(self, result: DecodeResult) -> None:
        self.result = result
        self._fill(result)
        same = sum(not (row.changed_positions or row.lost_positions) for row in result.perturbations)
        self.status.setText(f"Original: {result.text}   ({same} of {len(result.perturbations)} words change nothing)")
        self.table_ready.emit(result)

    @Slot(str)
    def _on_failed(self, message: str) -> None:
        self.status.setText(message)

    @Slot()
    def _on_lost(self) -> None:
        self.status.setText("Interrupted by another decode.")

    def _fill(self, result: DecodeResult) -> None:
        rows = result.perturbations
        self.table.setRowCount(len(rows))
        for r, row in enumerate(rows):
            word = f"{row.word} → {row.replacement}" if row.replacement else row.word
            changed = changed_text(row)
            delta = max_delta(row)
            cells = (word, row.text, changed, "–" if math.isnan(delta) else f"{delta:.3f}")
            for c, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if c == 3:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                    item.setToolTip("per output step: " + ", ".join(f"{d:.3f}" for d in row.max_delta_alpha))
                if (row.changed_positions or row.lost_positions) and c in (1, 2):
                    item.setBackground(QColor(CHANGED_BACKGROUND[self._theme.name]))
                    item.setForeground(QColor(CHANGED_TEXT[self._theme.name]))
                self.table.setItem(r, c, item)

    def rows(self) -> list[list[str]]:
        """The table's text, row by row (for tests and copying)."""
        return [[self._text(r, c) for c in range(len(COLUMNS))] for r in range(self.table.rowCount())]

    def _text(self, row: int, column: int) -> str:
        item = self.table.item(row, column)
        return item.text() if item is not None else ""

    def set_theme(self, name: str) -> None:
        self._theme = get_theme(name)
        if self.result is not None:
            self._fill(self.result)

    def set_zoom(self, factor: float) -> None:
        self.setFont(ui_font(BASE_POINT_SIZE, clamp_zoom(factor)))

    def teardown(self) -> None:
        self.client.detach()
