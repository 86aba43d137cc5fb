"""The colour bar beside a matrix view: one item that paints its gradient, ticks, labels and title itself."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QLineF, QPointF, QRectF, Qt, Slot
from PySide6.QtGui import (
    QBrush,
    QColor,
    QFont,
    QFontMetricsF,
    QGradient,
    QLinearGradient,
    QPainter,
    QPen,
    QStaticText,
)

from gui.style.fonts import LaidOutTexts, ui_font

TICK_PX = 5
GAP_PX = 4
MIN_TICK_LINES = 4  # tick labels at least this many text lines apart
STEPS = (1, 2, 5, 10)  # tick spacing: one of these times a power of ten
MAX_TEXTS = 256  # labels kept laid out
GRADIENT_STOPS = 64  # of the lookup table's colours; Qt interpolates between them


def nice_ticks(low: float, high: float, length_px: float, spacing_px: float) -> list[float]:
    """Round values from `low` to `high`, as many as fit `length_px` with `spacing_px` between them."""
    if not high > low or length_px <= 0:
        return [low]
    most = max(2, int(length_px // max(spacing_px, 1.0)) + 1)
    raw = (high - low) / (most - 1)
    magnitude = 10.0 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in STEPS if m * magnitude >= raw * (1 - 1e-9))
    first = math.ceil(low / step - 1e-9)
    last = math.floor(high / step + 1e-9)
    return [k * step for k in range(first, last + 1)]


def tick_label(value: float, step: float) -> str:
    decimals = max(0, -math.floor(math.log10(step) + 1e-9)) if step > 0 else 1
    return f"{value + 0.0:.{decimals}f}"  # + 0.0: no "-0.0"


class ColourBar(pg.GraphicsWidget):
    """A lookup table from `low` (bottom) to `high` (top) beside the view it follows (`follow`), as tall as
    that view; ticks at round values, the title turned upright at the left.

    pyqtgraph's ColorBarItem is a whole PlotItem (a view box, four axes, a layout of its own): keeping it as
    tall as the image re-laid all of that out whenever the heatmap's top axis changed depth, and painted
    it again (measured: without it, the heatmap's set_result + repaint took half the time).  This item has
    no children: following the view costs one paint of a gradient and a few labels (~0.1 ms).
    """

    def __init__(self, levels: tuple[float, float] = (0.0, 1.0), bar_px: int = 22) -> None:
        super().__init__()
        self._levels = (float(levels[0]), float(levels[1]))
        self._bar_px = bar_px
        self._title = ""
        self._font = ui_font()
        self._line = QFontMetricsF(self._font).height()
        self._texts = LaidOutTexts(MAX_TEXTS)  # scores: every decode has its own scale, so new labels
        self._ticks: tuple[tuple[object, ...], list[tuple[float, str]]] | None = None  # (what they were for, ticks)
        self._colour = QColor("black")
        self._gradient = QBrush(Qt.BrushStyle.NoBrush)
        self._view: pg.ViewBox | None = None
        self._fit_width()

    # -- set up ------------------------------------------------------------------------------
    def follow(self, view: pg.ViewBox) -> None:
        """Span the height of `view` (the image's view box), wherever the layout moves it."""
        self._view = view
        view.sigResized.connect(self._on_view_resized)

    def set_colours(self, lut: np.ndarray) -> None:
        """An (n, 3) uint8 lookup table, its first row at the low end.

        Painted as a linear gradient through evenly spaced entries: a fill Qt draws in ~0.03 ms, where the
        table as a 1-pixel-wide image, scaled to the bar, took ~0.25 ms a paint in the window.
        """
        gradient = QLinearGradient(0, 1, 0, 0)  # bottom (low) to top (high) of whatever rect it fills
        gradient.setCoordinateMode(QGradient.CoordinateMode.ObjectBoundingMode)
        rows = np.linspace(0, len(lut) - 1, GRADIENT_STOPS).round().astype(int)
        for position, row in zip(np.linspace(0.0, 1.0, GRADIENT_STOPS), rows, strict=True):
            gradient.setColorAt(float(position), QColor(*(int(v) for v in lut[row, :3])))
        self._gradient = QBrush(gradient)
        self.update()

    def set_levels(self, levels: tuple[float, float]) -> None:
        levels = (float(levels[0]), float(levels[1]))
        if levels != self._levels:
            self._levels = levels
            self._fit_width()
            self.update()

    def set_title(self, title: str) -> None:
        self._title = title
        self._fit_width()
        self.update()

    def set_font(self, font: QFont, bar_px: int | None = None) -> None:
        """Of the labels and the title; `bar_px`: the gradient's width (zoom it with the font)."""
        self._font = QFont(font)
        self._line = QFontMetricsF(self._font).height()
        self._texts.clear()
        self._bar_px = self._bar_px if bar_px is None else bar_px
        self._fit_width()
        self.update()

    def set_colour(self, colour: str | QColor) -> None:
        """Of the ticks, the labels, the title and the bar's frame."""
        self._colour = QColor(colour)
        self.update()

    # -- read back (tests, exports) ----------------------------------------------------------
    def levels(self) -> tuple[float, float]:
        return self._levels

    def title(self) -> str:
        return self._title

    def bar_rect(self) -> QRectF:
        """Where the gradient is drawn, in this item's coordinates: the followed view's height."""
        top, bottom = 0.0, self.size().height()
        if self._view is not None:
            span = self._view.mapRectToItem(self, self._view.rect())
            top, bottom = span.top(), span.bottom()
        return QRectF(self.size().width() - self._bar_px - 1, top, self._bar_px, bottom - top)

    def ticks(self, length_px: float | None = None) -> list[tuple[float, str]]:
        """(value, label) of each tick shown along `length_px` (default: the bar's height)."""
        length = self.bar_rect().height() if length_px is None else length_px
        key = (self._levels, length, self._line)
        if self._ticks is None or self._ticks[0] != key:
            low, high = self._levels
            values = nice_ticks(low, high, length, MIN_TICK_LINES * self._line)
            step = values[1] - values[0] if len(values) > 1 else abs(high - low) or 1.0
            self._ticks = (key, [(v, tick_label(v, step)) for v in values])
        return self._ticks[1]

    # -- drawing -----------------------------------------------------------------------------
    def boundingRect(self) -> QRectF:  # noqa: N802 (Qt name)
        half = self._line / 2  # the end labels are centred on the bar's ends
        return QRectF(0, -half, self.size().width(), self.size().height() + 2 * half)

    def paint(self, p: QPainter, *args: Any) -> None:
        bar = self.bar_rect()
        if bar.height() <= 0:
            return
        p.setRenderHint(QPainter.RenderHint.Antialiasing, False)  # the view's default; axis-aligned here anyway
        p.fillRect(bar, self._gradient)
        pen = QPen(self._colour, 0)  # cosmetic: one pixel, Qt's fast path
        p.setPen(pen)
        p.setBrush(Qt.BrushStyle.NoBrush)
        p.drawRect(bar)
        p.setFont(self._font)
        self._draw_ticks(p, bar)
        self._draw_title(p, bar)

    def _draw_ticks(self, p: QPainter, bar: QRectF) -> None:
        (low, high), left, right = self._levels, bar.left(), bar.left() - TICK_PX - GAP_PX
        ticks = [
            (bar.bottom() - (v - low) / ((high - low) or 1.0) * bar.height(), text)
            for v, text in self.ticks(bar.height())
        ]
        p.drawLines([QLineF(left - TICK_PX, y, left, y) for y, _ in ticks])
        for y, text in ticks:
            label = self._static_text(text)
            p.drawStaticText(QPointF(right - label.size().width(), y - self._line / 2), label)

    def _draw_title(self, p: QPainter, bar: QRectF) -> None:
        if not self._title:
            return
        label = self._static_text(self._title)
        p.save()
        p.translate(0, bar.center().y())
        p.rotate(-90)  # reads bottom-up, centred on the bar
        p.drawStaticText(QPointF(-label.size().width() / 2, 0), label)
        p.restore()

    def _static_text(self, text: str) -> QStaticText:
        return self._texts.get(text, self._font)

    # -- layout ------------------------------------------------------------------------------
    def _fit_width(self) -> None:
        metrics = QFontMetricsF(self._font)
        low, high = self._levels
        widest = max(metrics.horizontalAdvance(tick_label(v, 0.1)) for v in (low, high, -abs(high)))
        title = self._line + GAP_PX if self._title else 0.0
        width = math.ceil(title + widest + GAP_PX + TICK_PX + self._bar_px + 2)
        if width != round(self.size().width()) or self.maximumWidth() != width:
            self.setMinimumWidth(width)
            self.setMaximumWidth(width)

    @Slot()
    def _on_view_resized(self) -> None:
        self.update()  # the bar moves with the view: one repaint, no layout
