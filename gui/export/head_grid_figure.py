"""Every cross-attention head of a transformer's decode in one figure: a layers × heads grid of α maps drawn as
vector cells from the numbers, each labelled with its layer and head, attention sinks outlined dashed."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import QPointF, QRectF, QSizeF, Qt
from PySide6.QtGui import QColor, QPainter, QPen

from engine import DecodeResult, sink_heads
from gui.export.figure import FigureSize, Text, write_figure
from gui.export.matrix_figure import MatrixFigure, draw_cells
from gui.style.fonts import alpha_symbol, ui_font
from gui.style.theme import get_theme, lookup_table

MARGIN, GAP = 16.0, 10.0


def paint_head_grid(painter: QPainter, size: QSizeF, result: DecodeResult, theme: str = "light") -> None:
    """Draw every head of `result` (a transformer's) into `size`: a title, then one labelled α map per head."""
    heads = result.heads
    if heads is None:
        raise ValueError("this decode has no heads (not a transformer)")
    look = get_theme(theme)
    foreground = QColor(look.plot_foreground)
    title, label = Text(ui_font(12)), Text(ui_font(9))
    painter.fillRect(QRectF(0, 0, size.width(), size.height()), QColor(look.plot_background))
    _, layers, count, _ = heads.weights.shape
    y = MARGIN
    for line in title_lines(result, size):
        title.draw(painter, line, QPointF(MARGIN, y + title.line / 2), foreground)
        y += title.line
    sinks = sink_heads(heads.weights, result.source_tokens)
    colours = lookup_table(look.alpha_colormap)
    for layer in range(layers):
        for head in range(count):
            cell = head_rect(size, y, layers, count, layer, head)
            at = QPointF(cell.left(), cell.top() - label.line / 2)
            label.draw(painter, f"layer {layer}, head {head}", at, foreground)
            figure = MatrixFigure(np.asarray(heads.weights[:, layer, head]), (), (), colours=colours, theme=look)
            draw_cells(painter, cell, figure)
            _outline(painter, cell, foreground, bool(sinks[layer, head]))


def head_rect(size: QSizeF, top: float, layers: int, count: int, layer: int, head: int) -> QRectF:
    """Where the map of `head` of `layer` is drawn, below `top` (the title) and its own label line."""
    line = Text(ui_font(9)).line
    width = (size.width() - 2 * MARGIN - GAP * (count - 1)) / count
    height = (size.height() - top - MARGIN - layers * (line + GAP)) / layers
    return QRectF(MARGIN + head * (width + GAP), top + GAP + line + layer * (height + line + GAP), width, height)


def title_lines(result: DecodeResult, size: QSizeF) -> list[str]:
    """The sentence pair and how to read the maps, wrapped to the figure's width."""
    steps, source = len(result.output_tokens), len(result.source_tokens)
    lines = [
        f"{' '.join(result.source_tokens)}  →  {result.text}",
        f"{alpha_symbol()} of every cross-attention head, from 0 (palest) to 1 (darkest) as in the heatmap: rows are "
        f"the {steps} output steps, columns the {source} source tokens; dashed: an attention sink (over half its "
        "weight on the end token or punctuation)",
    ]
    title = Text(ui_font(12))
    return [part for line in lines for part in title.wrap(line, size.width() - 2 * MARGIN)]


def _outline(painter: QPainter, rect: QRectF, colour: QColor, sink: bool) -> None:
    pen = QPen(colour, 2.0 if sink else 0.8)
    if sink:
        pen.setStyle(Qt.PenStyle.DashLine)
    painter.save()
    painter.setPen(pen)
    painter.setBrush(Qt.BrushStyle.NoBrush)
    painter.drawRect(rect)
    painter.restore()


def export_head_grid(result: DecodeResult, path: str | Path, size: FigureSize, theme: str = "light") -> Path:
    """Every head of `result` to `path` (.png, .svg or .pdf)."""

    def paint(painter: QPainter, area: QSizeF) -> None:
        paint_head_grid(painter, area, result, theme)

    return write_figure(path, paint, size, title=f"attnscope: every head — {result.text}")
