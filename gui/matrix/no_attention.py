"""How the views show a model without attention: it has no α, so a greyed matrix and a caption say so."""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QFont, QPen
from PySide6.QtWidgets import QGraphicsRectItem

from gui.style.theme import Theme

NO_ATTENTION_CAPTION = "no attention: one fixed vector for every step\n(this model has no α to show)"
NO_ATTENTION_HOVER = "This model has no attention: every step reads one fixed vector, so there is no α or e."
GREY_LIGHT, GREY_DARK = "#d4d4d4", "#4a4a4a"


def greyed_colour(theme: Theme) -> QColor:
    """The cells' grey: visibly no data, and the caption's colour (the foreground) reads on it."""
    return QColor(GREY_DARK if theme.name == "dark" else GREY_LIGHT)


class GreyedMatrix:
    """A grey rectangle over the matrix area with the caption centred on it, added to a plot (hidden at first)."""

    def __init__(self, plot: pg.PlotItem) -> None:
        self._box = QGraphicsRectItem()
        self._box.setZValue(5)
        self._box.setPen(QPen(Qt.PenStyle.NoPen))
        self._caption = pg.TextItem(NO_ATTENTION_CAPTION, anchor=(0.5, 0.5))
        self._caption.setZValue(6)
        for item in (self._box, self._caption):
            item.setVisible(False)
            plot.addItem(item, ignoreBounds=True)

    def style(self, theme: Theme, font: QFont) -> None:
        self._box.setBrush(greyed_colour(theme))
        self._caption.setColor(theme.plot_foreground)
        self._caption.setFont(font)

    def show_over(self, area: QRectF | None) -> None:
        """Cover `area` (view coordinates); None hides it."""
        for item in (self._box, self._caption):
            item.setVisible(area is not None)
        if area is not None:
            self._box.setRect(area)
            self._caption.setPos(area.center())

    def caption(self) -> str:
        """The caption while shown, else ''."""
        return self._caption.toPlainText() if self._caption.isVisible() else ""
