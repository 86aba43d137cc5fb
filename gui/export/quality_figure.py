"""The quality-vs-length plot as a figure: BLEU above, exact match below, one line per model, from the report.

The same look as the app's plot (gui/tools/quality_plot.py): a legend row on top, then two stacked plots
on a fixed 0–100 scale with horizontal grid lines, titled, with the buckets along the bottom; each model
in its colour-blind-safe colour and symbol; an empty bucket leaves a gap in its line.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from PySide6.QtCore import QLineF, QPointF, QRectF, QSizeF, Qt
from PySide6.QtGui import QBrush, QColor, QPainter, QPainterPath, QPen, QPolygonF

from gui.export.figure import Text
from gui.style.fonts import ui_font

COLORS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000")  # Okabe–Ito
SYMBOLS = ("o", "s", "t", "d", "star", "+", "x")
PANELS = (
    ("BLEU by source length", "BLEU", "bleu", 1.0),
    ("Exact match by source length", "exact match (%)", "exact_match", 100.0),
)
Y_TICKS = (0, 20, 40, 60, 80, 100)
Y_PAD = 0.04  # of the 0–100 range, above and below
MARGIN = 10.0


def paint_quality(
    painter: QPainter,
    size: QSizeF,
    report: Mapping[str, Any],
    background: str = "#ffffff",
    foreground: str = "#202020",
    zoom: float = 1.0,
) -> None:
    """Draw `report` ({"models": [{"model", "buckets": [{"range", "bleu", "exact_match"}, …]}, …]})."""
    models: Sequence[Mapping[str, Any]] = report.get("models", [])
    labels = bucket_ranges(models)
    painter.fillRect(QRectF(0, 0, size.width(), size.height()), QColor(background))
    look = _Look(foreground, zoom)
    legend_bottom = _draw_legend(painter, size, models, look)
    height = (size.height() - legend_bottom - MARGIN) / 2
    for k, (title, y_label, key, scale) in enumerate(PANELS):
        area = QRectF(MARGIN, legend_bottom + k * height, size.width() - 2 * MARGIN, height)
        plot = _draw_axes(painter, area, title, y_label, labels, look)
        for m, model in enumerate(models):
            values = _series(model.get("buckets", []), labels, key, scale)
            _draw_series(painter, plot, values, m, look)


def bucket_ranges(models: Sequence[Mapping[str, Any]]) -> list[str]:
    """Bucket labels in first-seen order across models (each report lists them in length order)."""
    labels: list[str] = []
    for model in models:
        for bucket in model.get("buckets", []):
            if str(bucket.get("range")) not in labels:
                labels.append(str(bucket.get("range")))
    return labels


def plottable(value: Any, scale: float = 1.0) -> float:
    """A number to plot; null (an empty bucket) becomes NaN, which leaves a gap."""
    return float(value) * scale if isinstance(value, (int, float)) and math.isfinite(value) else math.nan


def _series(buckets: Sequence[Mapping[str, Any]], labels: list[str], key: str, scale: float) -> list[float]:
    by_range = {str(b.get("range")): b for b in buckets}
    return [plottable(by_range.get(r, {}).get(key), scale) for r in labels]


class _Look:
    def __init__(self, foreground: str, zoom: float) -> None:
        self.zoom = zoom
        self.foreground = QColor(foreground)
        self.grid = QColor(foreground)
        self.grid.setAlphaF(0.25)
        self.title = Text(ui_font(12, zoom))
        self.label = Text(ui_font(10, zoom))
        self.tick = Text(ui_font(9, zoom))


def _draw_legend(painter: QPainter, size: QSizeF, models: Sequence[Mapping[str, Any]], look: _Look) -> float:
    """One row of up to four models per line; returns the y where the plots start."""
    columns = max(1, min(len(models), 4))
    width = (size.width() - 2 * MARGIN) / columns
    line = look.label.line * 1.4
    for k, model in enumerate(models):
        x = MARGIN + (k % columns) * width
        y = MARGIN + (k // columns) * line + line / 2
        pen = QPen(QColor(COLORS[k % len(COLORS)]), 2.5 * look.zoom)
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        painter.setPen(pen)
        painter.drawLine(QLineF(x + 4, y, x + 34 * look.zoom, y))
        painter.restore()
        _marker(painter, QPointF(x + 4 + 15 * look.zoom, y), k, look)
        name = str(model.get("model", f"model {k + 1}"))
        look.label.draw(painter, name, QPointF(x + 42 * look.zoom, y), look.foreground)
    rows = math.ceil(len(models) / columns) if models else 0
    return MARGIN + rows * line + MARGIN


def _draw_axes(
    painter: QPainter, area: QRectF, title: str, y_label: str, labels: list[str], look: _Look
) -> tuple[QRectF, int]:
    """Title, grid, ticks and axis labels in `area`; returns the data rectangle and the bucket count."""
    widest = max(look.tick.width(str(v)) for v in Y_TICKS)
    left = area.left() + look.label.line + 8 + widest + 8
    top = area.top() + look.title.line * 1.4
    bottom = area.bottom() - look.label.line - look.tick.line - 14
    plot = QRectF(left, top, area.right() - left, bottom - top)
    look.title.draw(
        painter, title, QPointF(plot.center().x(), area.top() + look.title.line * 0.6), look.foreground, "center"
    )
    painter.save()
    painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
    for value in Y_TICKS:
        y = _y(plot, value)
        painter.setPen(QPen(look.grid, 1.0))
        painter.drawLine(QLineF(plot.left(), y, plot.right(), y))
        painter.setPen(QPen(look.foreground, 1.0))
        painter.drawLine(QLineF(plot.left() - 5, y, plot.left(), y))
        look.tick.draw(painter, str(value), QPointF(plot.left() - 8, y), look.foreground, "right")
    painter.setPen(QPen(look.foreground, 1.0))
    painter.drawLine(QLineF(plot.left(), plot.top(), plot.left(), plot.bottom()))
    painter.drawLine(QLineF(plot.left(), plot.bottom(), plot.right(), plot.bottom()))
    for n, text in enumerate(labels):
        x = _x(plot, n, len(labels))
        painter.drawLine(QLineF(x, plot.bottom(), x, plot.bottom() + 5))
        look.tick.draw(painter, text, QPointF(x, plot.bottom() + 8 + look.tick.line / 2), look.foreground, "center")
    painter.restore()
    x_title = QPointF(plot.center().x(), area.bottom() - look.label.line / 2 - 2)
    look.label.draw(painter, "source length (words)", x_title, look.foreground, "center")
    y_title = QPointF(area.left() + look.label.line / 2, plot.center().y())
    look.label.draw(painter, y_label, y_title, look.foreground, "center", rotated=True)
    return plot, len(labels)


def _x(plot: QRectF, n: int, count: int) -> float:
    """Bucket n on an axis from -0.3 to count - 0.7, as the app's plot sets its range."""
    span = max(count - 1, 0) + 0.6
    return plot.left() + (n + 0.3) / span * plot.width()


def _y(plot: QRectF, value: float) -> float:
    low, high = -100 * Y_PAD, 100 * (1 + Y_PAD)
    return plot.bottom() - (value - low) / (high - low) * plot.height()


def _draw_series(painter: QPainter, axes: tuple[QRectF, int], values: list[float], k: int, look: _Look) -> None:
    plot, count = axes
    points = [None if math.isnan(v) else QPointF(_x(plot, n, count), _y(plot, v)) for n, v in enumerate(values)]
    painter.save()
    painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
    painter.setPen(QPen(QColor(COLORS[k % len(COLORS)]), 2.5 * look.zoom))
    for a, b in zip(points, points[1:], strict=False):
        if a is not None and b is not None:  # a gap where a bucket is empty
            painter.drawLine(QLineF(a, b))
    painter.restore()
    for point in points:
        if point is not None:
            _marker(painter, point, k, look)


def _marker(painter: QPainter, at: QPointF, k: int, look: _Look) -> None:
    """The model's symbol, 9 px across at zoom 1 (pyqtgraph's symbolSize)."""
    colour, symbol = QColor(COLORS[k % len(COLORS)]), SYMBOLS[k % len(SYMBOLS)]
    r = 4.5 * look.zoom
    path = QPainterPath()
    if symbol == "o":
        path.addEllipse(at, r, r)
    elif symbol == "s":
        path.addRect(QRectF(at.x() - r * 0.9, at.y() - r * 0.9, 1.8 * r, 1.8 * r))
    elif symbol in ("t", "d", "star"):
        path.addPolygon(QPolygonF([at + QPointF(x * r, y * r) for x, y in _OUTLINES[symbol]]))
        path.closeSubpath()
    painter.save()
    painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
    if symbol in ("+", "x"):
        painter.setPen(QPen(colour, 2.0 * look.zoom))
        turn = 45 if symbol == "x" else 0
        painter.translate(at)
        painter.rotate(turn)
        painter.drawLine(QLineF(-r, 0, r, 0))
        painter.drawLine(QLineF(0, -r, 0, r))
    else:
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QBrush(colour))
        painter.drawPath(path)
    painter.restore()


def _star() -> list[tuple[float, float]]:
    points = []
    for n in range(10):
        radius = 1.0 if n % 2 == 0 else 0.45
        angle = math.pi / 2 + n * math.pi / 5
        points.append((radius * math.cos(angle), -radius * math.sin(angle)))
    return points


_OUTLINES = {
    "t": [(-1.0, -0.7), (1.0, -0.7), (0.0, 1.0)],  # pointing down, as pyqtgraph's "t"
    "d": [(0.0, -1.0), (1.0, 0.0), (0.0, 1.0), (-1.0, 0.0)],
    "star": _star(),
}
