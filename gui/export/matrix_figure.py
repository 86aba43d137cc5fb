"""The attention heatmap and the difference heatmap as figures: drawn from their numbers, cell by cell.

Laid out like the app's heatmap: source tokens along the top (turned upright, shrunk, then thinned when
crowded, as the app's axes do), output tokens down the left, axis titles, a border, and the colour bar on
the right with round ticks and its title.  Each cell is one rectangle whose edges fall on whole pixels (no
seams in any renderer); NaN cells stay background.  A model without attention gets a grey matrix and a
caption instead of colours: it has no α to show.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np
from PySide6.QtCore import QPointF, QRectF, QSizeF
from PySide6.QtGui import QColor, QFont, QPainter, QPen

from engine import DecodeResult
from gui.export.figure import Text
from gui.matrix.colour_bar import GAP_PX, MIN_TICK_LINES, TICK_PX, nice_ticks, tick_label
from gui.matrix.heatmap import display_copy, fit_scale, score_levels, short_label, thinning_step
from gui.matrix.no_attention import NO_ATTENTION_CAPTION, greyed_colour
from gui.style.fonts import BASE_POINT_SIZE, alpha_symbol, ui_font
from gui.style.theme import Theme, get_theme, lookup_table

MARGIN = 6.0
TICK_TEXT_OFFSET = 4.0  # between a tick and its label, as on the app's axes
BAR_PX = 22  # colour bar width at zoom 1


@dataclass(frozen=True)
class MatrixFigure:
    """Everything a matrix figure shows; rows run down the left axis, columns along the top."""

    matrix: np.ndarray  # (rows, columns); NaN: no cell
    row_labels: Sequence[str]
    column_labels: Sequence[str]
    row_title: str = "output"
    column_title: str = "source"
    colours: np.ndarray = field(default_factory=lambda: lookup_table("magma"))  # (n, 3) uint8, low end first
    levels: tuple[float, float] = (0.0, 1.0)
    bar_title: str = ""
    theme: Theme = field(default_factory=lambda: get_theme("light"))
    zoom: float = 1.0
    caption: str = ""  # drawn across a greyed matrix
    greyed: bool = False  # no values to show (a model without attention): grey cells, no colour bar


def result_figure(
    result: DecodeResult, mode: str = "alpha", theme: str = "light", zoom: float = 1.0, transposed: bool = False
) -> MatrixFigure:
    """A decode's α (mode "alpha") or raw scores e (mode "scores"), as the app's heatmap shows them."""
    look = get_theme(theme)
    rows, columns = result.output_tokens, result.source_tokens
    shape = (len(rows), len(columns))
    values = result.alpha if mode == "alpha" else result.scores
    matrix = np.full(shape, np.nan) if values is None else display_copy(values)
    levels = (0.0, 1.0) if mode == "alpha" else score_levels(matrix)
    colours = lookup_table(look.alpha_colormap if mode == "alpha" else look.scores_colormap)
    title = alpha_symbol() if mode == "alpha" else "score e"
    source = "source" if result.heads is None else f"source — {result.heads.view}"  # which of the heads, as shown
    figure = MatrixFigure(matrix, rows, columns, "output", source, colours, levels, title, look, zoom)
    if values is None:
        figure = _greyed(figure)
    return transpose(figure) if transposed else figure


def difference_figure(
    diff: np.ndarray, source_labels: Sequence[str], step_labels: Sequence[str], theme: str = "light", zoom: float = 1.0
) -> MatrixFigure:
    """A difference of two α matrices (after − before) on the diverging map, levels symmetric around 0."""
    look = get_theme(theme)
    matrix = display_copy(diff)
    colours = lookup_table(look.scores_colormap)
    title = f"Δ{alpha_symbol()}"
    return MatrixFigure(
        matrix, step_labels, source_labels, "step", "source", colours, score_levels(matrix), title, look, zoom
    )


def transpose(figure: MatrixFigure) -> MatrixFigure:
    return replace(
        figure,
        matrix=np.ascontiguousarray(figure.matrix.T),
        row_labels=figure.column_labels,
        column_labels=figure.row_labels,
        row_title=figure.column_title,
        column_title=figure.row_title,
    )


def _greyed(figure: MatrixFigure) -> MatrixFigure:
    return replace(figure, bar_title="", caption=NO_ATTENTION_CAPTION, greyed=True)


# -- painting ---------------------------------------------------------------------------------------


def paint_matrix(painter: QPainter, size: QSizeF, figure: MatrixFigure) -> None:
    """Draw `figure` into (0, 0, size): background, matrix, axes and their labels, colour bar."""
    look = _Look(figure)
    painter.fillRect(QRectF(0, 0, size.width(), size.height()), QColor(figure.theme.plot_background))
    plot, top, left = _layout(size, figure, look)
    draw_cells(painter, plot, figure)
    _draw_frame(painter, plot, look)
    _draw_top(painter, plot, figure.column_labels, top, look, figure.column_title)
    _draw_left(painter, plot, figure.row_labels, left, look, figure.row_title)
    if figure.greyed:
        _draw_caption(painter, plot, figure.caption, look)
    else:
        _draw_bar(painter, plot, size, figure, look)


class _Look:
    """Fonts and pens of one figure."""

    def __init__(self, figure: MatrixFigure) -> None:
        self.text = Text(ui_font(BASE_POINT_SIZE, figure.zoom))
        self.foreground = QColor(figure.theme.plot_foreground)
        self.bar_px = round(BAR_PX * figure.zoom)
        self.zoom = figure.zoom


@dataclass(frozen=True)
class _AxisFit:
    """How one token axis shows its labels in the room it has."""

    text: Text  # the (possibly shrunk) label font
    step: int  # every step-th label is shown
    rotated: bool  # top axis: labels turned upright
    depth: float  # pixels the axis takes across its length, title included


def _fit_axis(labels: Sequence[str], room_per_token: float, look: _Look, top: bool) -> _AxisFit:
    """The app's rule (gui/matrix/heatmap.py TokenAxis): turn top labels upright, shrink, then thin."""
    shown = [short_label(t) for t in labels]
    font = look.text.font
    widths = [look.text.width(t) for t in shown]
    widest, line = max(widths, default=0.0), look.text.line
    flat_needed = widest + 0.35 * line
    rotated = top and flat_needed > room_per_token
    needed = flat_needed if top and not rotated else 0.8 * line
    scale = fit_scale(needed, room_per_token, font.pointSizeF())
    step = thinning_step(needed * scale, room_per_token)
    small = QFont(font)
    small.setPointSizeF(font.pointSizeF() * scale)
    if step > 1:
        widest = max(widths[::step], default=0.0)
    across = (line if top and not rotated else widest) * scale
    depth = across + TICK_PX + TICK_TEXT_OFFSET + 4 + line  # + the axis title's line
    return _AxisFit(Text(small), step, rotated, depth)


def _layout(size: QSizeF, figure: MatrixFigure, look: _Look) -> tuple[QRectF, _AxisFit, _AxisFit]:
    """The matrix's rectangle and the fit of both axes (two rounds: each axis's depth sets the other's room)."""
    rows, columns = max(len(figure.row_labels), 1), max(len(figure.column_labels), 1)
    right = size.width() - MARGIN - (0.0 if figure.greyed else _bar_width(figure, look) + MARGIN)
    bottom = size.height() - MARGIN - math.ceil(look.text.line / 2)  # the bar's lowest label reaches below
    left_depth, top_depth = look.text.line * 4, look.text.line * 3
    for _ in range(2):
        plot = QRectF(MARGIN + left_depth, MARGIN + top_depth, right - MARGIN - left_depth, bottom - MARGIN - top_depth)
        top = _fit_axis(figure.column_labels, plot.width() / columns, look, top=True)
        left = _fit_axis(figure.row_labels, plot.height() / rows, look, top=False)
        left_depth, top_depth = left.depth, top.depth
    plot = QRectF(MARGIN + left_depth, MARGIN + top_depth, right - MARGIN - left_depth, bottom - MARGIN - top_depth)
    return _snapped(plot), top, left


def _snapped(rect: QRectF) -> QRectF:
    left, top = round(rect.left()), round(rect.top())
    return QRectF(left, top, max(1, round(rect.right()) - left), max(1, round(rect.bottom()) - top))


def _edges(start: float, length: float, count: int) -> list[int]:
    """Whole-pixel boundaries of `count` equal cells: neighbours share an edge, so no renderer leaves a seam."""
    return [round(start + length * k / max(count, 1)) for k in range(count + 1)]


def draw_cells(painter: QPainter, plot: QRectF, figure: MatrixFigure) -> None:
    matrix = np.asarray(figure.matrix, dtype=np.float64)
    if matrix.size == 0:
        return
    painter.save()
    painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)  # shared edges stay shared at any scale
    painter.setPen(QPen(QColor(0, 0, 0, 0), 0))
    xs = _edges(plot.left(), plot.width(), matrix.shape[1])
    ys = _edges(plot.top(), plot.height(), matrix.shape[0])
    if figure.greyed:
        painter.fillRect(QRectF(xs[0], ys[0], xs[-1] - xs[0], ys[-1] - ys[0]), greyed_colour(figure.theme))
    else:
        colours = _cell_colours(matrix, figure.colours, figure.levels)
        for i in range(matrix.shape[0]):
            for j in range(matrix.shape[1]):
                if colours[i][j] is not None:
                    painter.fillRect(QRectF(xs[j], ys[i], xs[j + 1] - xs[j], ys[i + 1] - ys[i]), colours[i][j])
    painter.restore()


def _cell_colours(matrix: np.ndarray, table: np.ndarray, levels: tuple[float, float]) -> list[list[QColor | None]]:
    """Each cell's colour from the lookup table, by the mapping the app's image uses (gui/matrix/matrix_image.py)."""
    low, high = levels
    scaled = (matrix - low) * (len(table) / ((high - low) or 1.0))
    index = np.clip(np.nan_to_num(scaled), 0, len(table) - 1).astype(np.intp)
    rgb = table[index]
    finite = np.isfinite(matrix)
    return [
        [QColor(*(int(v) for v in rgb[i, j])) if finite[i, j] else None for j in range(matrix.shape[1])]
        for i in range(matrix.shape[0])
    ]


def _draw_frame(painter: QPainter, plot: QRectF, look: _Look) -> None:
    painter.save()
    painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
    painter.setPen(QPen(look.foreground, 1.0))
    painter.drawRect(plot.adjusted(-0.5, -0.5, 0.5, 0.5))  # a 1-px line just outside the cells
    painter.restore()


def _ticks_pen(painter: QPainter, look: _Look) -> None:
    painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
    painter.setPen(QPen(look.foreground, 1.0))


def _draw_top(painter: QPainter, plot: QRectF, labels: Sequence[str], fit: _AxisFit, look: _Look, title: str) -> None:
    edges = _edges(plot.left(), plot.width(), len(labels))
    edge = plot.top() - 1
    offset = TICK_PX + TICK_TEXT_OFFSET
    painter.save()
    _ticks_pen(painter, look)
    for j in range(0, len(labels), fit.step):
        x = (edges[j] + edges[j + 1]) / 2
        painter.drawLine(QPointF(x, edge), QPointF(x, edge - TICK_PX))
        label = short_label(labels[j])
        if fit.rotated:
            fit.text.draw(painter, label, QPointF(x, edge - offset), look.foreground, "left", rotated=True)
        else:
            fit.text.draw(painter, label, QPointF(x, edge - offset - fit.text.line / 2), look.foreground, "center")
    painter.restore()
    look.text.draw(painter, title, QPointF(plot.center().x(), MARGIN + look.text.line / 2), look.foreground, "center")


def _draw_left(painter: QPainter, plot: QRectF, labels: Sequence[str], fit: _AxisFit, look: _Look, title: str) -> None:
    edges = _edges(plot.top(), plot.height(), len(labels))
    edge = plot.left() - 1
    painter.save()
    _ticks_pen(painter, look)
    for i in range(0, len(labels), fit.step):
        y = (edges[i] + edges[i + 1]) / 2
        painter.drawLine(QPointF(edge, y), QPointF(edge - TICK_PX, y))
        at = QPointF(edge - TICK_PX - TICK_TEXT_OFFSET, y)
        fit.text.draw(painter, short_label(labels[i]), at, look.foreground, "right")
    painter.restore()
    at = QPointF(MARGIN + look.text.line / 2, plot.center().y())
    look.text.draw(painter, title, at, look.foreground, "center", rotated=True)


def _draw_caption(painter: QPainter, plot: QRectF, caption: str, look: _Look) -> None:
    lines = caption.split("\n")
    first = plot.center().y() - (len(lines) - 1) * look.text.line / 2
    for k, line in enumerate(lines):
        at = QPointF(plot.center().x(), first + k * look.text.line)
        look.text.draw(painter, line, at, look.foreground, "center")


# -- the colour bar ---------------------------------------------------------------------------------


def _bar_width(figure: MatrixFigure, look: _Look) -> float:
    """As the app's ColourBar: the title's line, the widest tick label, gaps, ticks and the bar."""
    low, high = figure.levels
    widest = max(look.text.width(tick_label(v, 0.1)) for v in (low, high, -abs(high)))
    title = look.text.line + GAP_PX if figure.bar_title else 0.0
    return math.ceil(title + widest + GAP_PX + TICK_PX + look.bar_px + 2)


def _draw_bar(painter: QPainter, plot: QRectF, size: QSizeF, figure: MatrixFigure, look: _Look) -> None:
    right = size.width() - MARGIN
    bar = QRectF(round(right - look.bar_px - 1), plot.top(), look.bar_px, plot.height())
    table = figure.colours
    stripes = _edges(bar.top(), bar.height(), min(len(table), max(1, round(bar.height()))))
    painter.save()
    painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)
    count = len(stripes) - 1
    for k in range(count):  # top stripe: the high end
        row = table[round((count - 1 - k) * (len(table) - 1) / max(count - 1, 1))]
        painter.fillRect(
            QRectF(bar.left(), stripes[k], bar.width(), stripes[k + 1] - stripes[k]), QColor(*map(int, row))
        )
    _ticks_pen(painter, look)
    painter.setBrush(QColor(0, 0, 0, 0))
    painter.drawRect(bar.adjusted(-0.5, -0.5, 0.5, 0.5))
    low, high = figure.levels
    for value, text in _bar_ticks(low, high, bar.height(), look):
        y = bar.bottom() - (value - low) / ((high - low) or 1.0) * bar.height()
        painter.drawLine(QPointF(bar.left() - TICK_PX, y), QPointF(bar.left(), y))
        look.text.draw(painter, text, QPointF(bar.left() - TICK_PX - GAP_PX, y), look.foreground, "right")
    painter.restore()
    left = right - _bar_width(figure, look)
    look.text.draw(
        painter, figure.bar_title, QPointF(left + look.text.line / 2, bar.center().y()), look.foreground, "center", True
    )


def _bar_ticks(low: float, high: float, length: float, look: _Look) -> list[tuple[float, str]]:
    values = nice_ticks(low, high, length, MIN_TICK_LINES * look.text.line)
    step = values[1] - values[0] if len(values) > 1 else abs(high - low) or 1.0
    return [(v, tick_label(v, step)) for v in values]
