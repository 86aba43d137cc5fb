"""The most probable next tokens at one decoder step, as a table with probability bars."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QRect, Qt
from PySide6.QtGui import QColor, QFontMetricsF, QPainter
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from engine import Candidate, log_probability_text, probability_text
from gui.style.fonts import BASE_POINT_SIZE, ui_font
from gui.style.theme import Theme, clamp_zoom, get_theme

PROB_ROLE = Qt.ItemDataRole.UserRole + 1


class ProbabilityBarDelegate(QStyledItemDelegate):
    """Paints a cell's probability as a bar behind its number: comparable at a glance."""

    def __init__(self, parent: QWidget, theme: Theme) -> None:
        super().__init__(parent)
        self.theme = theme

    def paint(
        self, painter: QPainter, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
    ) -> None:
        prob = float(index.data(PROB_ROLE) or 0.0)
        rect: QRect = option.rect  # type: ignore[attr-defined]
        painter.save()
        if option.state & QStyle.StateFlag.State_Selected:  # type: ignore[attr-defined]
            painter.fillRect(rect, option.palette.highlight())  # type: ignore[attr-defined]
        bar = QRect(rect.left() + 2, rect.top() + 3, round((rect.width() - 4) * prob), rect.height() - 6)
        colour = QColor(self.theme.accent)
        colour.setAlpha(150)
        painter.fillRect(bar, colour)
        painter.setPen(QColor(self.theme.text))
        painter.setFont(option.font)  # type: ignore[attr-defined]
        painter.drawText(
            rect.adjusted(8, 0, -8, 0),
            int(Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft),
            probability_text(prob),  # 1e-8 as 1.00e-08, not 0.000
        )
        painter.restore()


class TopKPanel(QWidget):
    def __init__(self, parent: QWidget | None = None, theme: str = "light", zoom: float = 1.0) -> None:
        super().__init__(parent)
        self.step: int | None = None  # the decoder step shown
        self._theme = get_theme(theme)
        self._zoom = clamp_zoom(zoom)
        self._rows: list[tuple[str, float]] = []
        self._header = QLabel("Next-token candidates appear here while decoding.")
        self._header.setWordWrap(True)
        self._table = QTableWidget(0, 2)
        self._table.setHorizontalHeaderLabels(["token", "probability"])
        self._table.verticalHeader().setVisible(False)
        self._table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self._table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self._table.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        header = self._table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self._delegate = ProbabilityBarDelegate(self._table, self._theme)
        self._table.setItemDelegateForColumn(1, self._delegate)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self._header)
        layout.addWidget(self._table, 1)
        self.set_zoom(self._zoom)

    def show_candidates(
        self,
        step_index: int,
        candidates: Sequence[Candidate],
        chosen: str | None = None,
        chosen_prob: float | None = None,
    ) -> None:
        """Most probable first; `chosen` (the token the decoder emitted) is shown in bold.  With `chosen_prob`, the
        header gives its p and log p, and it gets a row of its own when it is not among the candidates (a forced
        or sampled token the model did not rank in its top k)."""
        ranked = sorted(candidates, key=lambda c: c.prob, reverse=True)
        self.step = step_index
        self._rows = [(c.token, float(c.prob)) for c in ranked]
        outside = chosen is not None and chosen_prob is not None and all(c.token != chosen for c in ranked)
        if outside:
            self._rows.append((chosen or "", float(chosen_prob or 0.0)))
        self._header.setText(self._header_text(step_index, chosen, chosen_prob, outside))
        self._table.setRowCount(len(self._rows))
        for row, (token, prob) in enumerate(self._rows):
            label = f"{token}  (outside the top {len(ranked)})" if outside and row == len(ranked) else token
            self._table.setItem(row, 0, self._token_item(label, bold=token == chosen))
            prob_item = QTableWidgetItem()
            prob_item.setData(PROB_ROLE, prob)
            prob_item.setToolTip(f"p = {prob:.6g}, log p = {log_probability_text(prob)}")
            self._table.setItem(row, 1, prob_item)

    @staticmethod
    def _header_text(step: int, chosen: str | None, prob: float | None, outside: bool) -> str:
        if chosen is None or prob is None:
            return f"Step {step}: most probable next tokens"
        where = " — outside the top k, shown last" if outside else ""
        numbers = f"p = {probability_text(prob)}, log p = {log_probability_text(prob)}"
        return f'Step {step}: "{chosen}" has {numbers}{where}'

    def header_text(self) -> str:
        return self._header.text()

    def _token_item(self, token: str, bold: bool) -> QTableWidgetItem:
        item = QTableWidgetItem(token)
        font = ui_font(BASE_POINT_SIZE, self._zoom)
        font.setBold(bold)
        item.setFont(font)
        return item

    def clear(self) -> None:
        self.step = None
        self._rows = []
        self._table.setRowCount(0)
        self._header.setText("Next-token candidates appear here while decoding.")

    def rows(self) -> list[tuple[str, float]]:
        """(token, probability) as displayed, most probable first."""
        return list(self._rows)

    def set_zoom(self, factor: float) -> None:
        self._zoom = clamp_zoom(factor)
        font = ui_font(BASE_POINT_SIZE, self._zoom)
        for widget in (self._header, self._table, self._table.horizontalHeader()):
            widget.setFont(font)
        self._table.verticalHeader().setDefaultSectionSize(round(QFontMetricsF(font).height() * 1.5))
        for row in range(self._table.rowCount()):
            item = self._table.item(row, 0)
            if item is not None:
                item.setFont(self._token_item(item.text(), item.font().bold()).font())

    def set_theme(self, name: str) -> None:
        self._theme = get_theme(name)
        self._delegate.theme = self._theme
        self._table.viewport().update()

    def teardown(self) -> None:
        """Nothing to release (no pyqtgraph inside); present so every panel shuts down alike."""
