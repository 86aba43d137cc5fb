"""Every cross-attention head of a transformer at once: a layers × heads grid of small heatmaps (rows: output
steps, columns: source tokens), rows appearing as the steps stream; click a head to show it in the main heatmap.

Painted with QPainter from one coloured buffer (layers, heads, steps, tokens) of 32-bit pixels: a new step colours
only its own rows, and the widget repaints at most once a frame, so the grid does not slow a decode.  A paint is one
image over that buffer, each cell drawn from its part, and the outlines drawn together (benchmarks/head_grid_stall.py).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from PySide6.QtCore import QLineF, QPointF, QRectF, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QFont, QImage, QMouseEvent, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from engine import DecodeResult, StepRecord
from gui.style.fonts import BASE_POINT_SIZE, ui_font
from gui.style.theme import Theme, clamp_zoom, get_theme, lookup_table

FRAME_MS = 33  # at most one paint a frame, however fast the steps come
CELL_GAP = 6
MIN_CELL = 28


class HeadGrid(QWidget):
    head_clicked = Signal(int, int)  # layer, head
    hovered = Signal(str)  # what the mouse is over, in words ("" off the cells)

    def __init__(self, parent: QWidget | None = None, theme: str = "light", zoom: float = 1.0) -> None:
        super().__init__(parent)
        self._theme: Theme = get_theme(theme)
        self._zoom = clamp_zoom(zoom)
        self._lut = _argb_table(lookup_table(self._theme.alpha_colormap))
        self._weights = np.zeros((0, 0, 0, 0), np.float32)  # (capacity, layers, heads, tokens); _rows filled
        self._pixels = np.zeros((0, 0, 0, 0), np.uint32)  # (layers, heads, capacity, tokens)
        self._rows = 0
        self.source: tuple[str, ...] = ()
        self.output: list[str] = []
        self.selected: tuple[int, int] | None = None  # the head the main heatmap shows
        self.sinks = np.zeros((0, 0), dtype=bool)  # (layers, heads) flagged as attention sinks
        self.step: int | None = None  # the step every cell marks
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self.update)
        self.setMouseTracking(True)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    # -- data ------------------------------------------------------------------------------------
    @property
    def layout_shape(self) -> tuple[int, int]:
        """(layers, heads)."""
        return self._pixels.shape[0], self._pixels.shape[1]

    def begin(self, source_tokens: Sequence[str], layers: int, heads: int, capacity: int) -> None:
        """A new decode: an empty grid with room for `capacity` steps (it grows if they are more)."""
        self.source, self.output, self._rows, self.step = tuple(source_tokens), [], 0, None
        self._weights = np.zeros((max(capacity, 1), layers, heads, len(self.source)), np.float32)
        self._pixels = np.zeros((layers, heads, max(capacity, 1), len(self.source)), np.uint32)
        self.sinks = np.zeros((layers, heads), dtype=bool)
        self.updateGeometry()
        self.update()

    def append_steps(self, run: Sequence[StepRecord]) -> None:
        """The next steps' weights of every head (records of a transformer); painted on the next frame."""
        weights = np.stack([r.heads.weights for r in run if r.heads is not None]).astype(np.float32)
        if not len(weights):
            return
        if weights.shape[1:3] != self._pixels.shape[:2] or weights.shape[3] != len(self.source):
            self.begin(self.source, weights.shape[1], weights.shape[2], len(run))
        self._add_rows(weights)
        self.output.extend(r.token for r in run)
        if not self._timer.isActive():
            self._timer.start(FRAME_MS)

    def set_result(self, result: DecodeResult, sinks: np.ndarray | None = None) -> None:
        """A finished decode's every head (nothing for a model without heads)."""
        heads = result.heads
        if heads is None:
            self.begin(result.source_tokens, 0, 0, 1)
            return
        steps, layers, count, _ = heads.weights.shape
        self.begin(result.source_tokens, layers, count, steps)
        self._add_rows(np.asarray(heads.weights, dtype=np.float32))
        self.output = list(result.output_tokens)
        if sinks is not None:
            self.sinks = np.asarray(sinks, dtype=bool)
        self.update()

    def _add_rows(self, weights: np.ndarray) -> None:
        start, end = self._rows, self._rows + len(weights)
        if end > self._pixels.shape[2]:  # room for twice as many: a long decode copies O(steps) in all
            pixels = np.zeros((*self._pixels.shape[:2], 2 * end, self._pixels.shape[3]), np.uint32)
            pixels[:, :, :start] = self._pixels[:, :, :start]
            grown = np.zeros((2 * end, *self._weights.shape[1:]), np.float32)
            grown[:start] = self._weights[:start]
            self._pixels, self._weights = pixels, grown
        index = np.clip(np.nan_to_num(weights) * 255.0 + 0.5, 0, 255).astype(np.intp)  # (n, L, H, T)
        self._pixels[:, :, start:end] = self._lut[index].transpose(1, 2, 0, 3)
        self._weights[start:end] = weights
        self._rows = end

    def weights(self, layer: int, head: int) -> np.ndarray:
        """(steps, tokens): the weights a cell shows (for tests and the hover readout)."""
        return self._weights[: self._rows, layer, head].copy()

    def select(self, cell: tuple[int, int] | None) -> None:
        self.selected = cell
        self.update()

    def set_step(self, step: int | None) -> None:
        self.step = step
        self.update()

    def flag_sinks(self, sinks: np.ndarray) -> None:
        self.sinks = np.asarray(sinks, dtype=bool)
        self.update()

    # -- look ------------------------------------------------------------------------------------
    def set_theme(self, name: str) -> None:
        self._theme = get_theme(name)
        self._lut = _argb_table(lookup_table(self._theme.alpha_colormap))
        if self._rows:  # recolour what is shown
            weights, self._rows = self._weights[: self._rows].copy(), 0
            self._add_rows(weights)
        self.update()

    def set_zoom(self, factor: float) -> None:
        self._zoom = clamp_zoom(factor)
        self.updateGeometry()
        self.update()

    def _font(self, scale: float = 0.85, bold: bool = False) -> QFont:
        font = ui_font(BASE_POINT_SIZE * scale, self._zoom)
        font.setBold(bold)
        return font

    def sizeHint(self) -> QSize:
        layers, heads = self.layout_shape
        side = round(90 * self._zoom)
        return QSize(max(heads, 1) * side + 60, max(layers, 1) * side + 40)

    def minimumSizeHint(self) -> QSize:
        layers, heads = self.layout_shape
        side = round(MIN_CELL * self._zoom)
        return QSize(max(heads, 1) * side + 50, max(layers, 1) * side + 30)

    # -- geometry --------------------------------------------------------------------------------
    def cell_rect(self, layer: int, head: int, size: QSize | None = None) -> QRectF:
        """Where head `head` of layer `layer` is drawn, in pixels of the widget (or of a picture of `size`)."""
        return _cell(self._pitch(size or self.size()), layer, head)

    def _cells(self, size: QSize) -> list[tuple[int, int, QRectF]]:
        """(layer, head, where it is drawn) of every cell, in a picture of `size`."""
        layers, heads = self.layout_shape
        pitch = self._pitch(size)
        return [(layer, head, _cell(pitch, layer, head)) for layer in range(layers) for head in range(heads)]

    def _pitch(self, area: QSize) -> tuple[float, float, float, float]:
        """(left, top) of the first cell and the distance (x, y) from one cell to the next, in a picture of `area`."""
        layers, heads = self.layout_shape
        label = self.fontMetrics().height() * 1.3 * self._zoom
        left, top = label * 1.6, label
        return (
            left,
            top,
            (area.width() - left - CELL_GAP) / max(heads, 1),
            (area.height() - top - CELL_GAP) / max(layers, 1),
        )

    def cell_at(self, point: QPointF) -> tuple[int, int, int | None, int | None] | None:
        """(layer, head, step, token) under `point`; step and token are None outside the drawn rows."""
        for layer, head, rect in self._cells(self.size()):
            if rect.contains(point):
                step = math.floor((point.y() - rect.top()) / rect.height() * self._span())
                token = math.floor((point.x() - rect.left()) / rect.width() * max(len(self.source), 1))
                inside = 0 <= step < self._rows and 0 <= token < len(self.source)
                return layer, head, step if inside else None, token if inside else None
        return None

    def _span(self) -> int:
        return max(self._rows, 1)

    # -- events ----------------------------------------------------------------------------------
    def mousePressEvent(self, event: QMouseEvent) -> None:
        hit = self.cell_at(event.position())
        if hit is not None and event.button() == Qt.MouseButton.LeftButton:
            self.select((hit[0], hit[1]))
            self.head_clicked.emit(hit[0], hit[1])
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        self.hovered.emit(self.describe(self.cell_at(event.position())))
        super().mouseMoveEvent(event)

    def describe(self, hit: tuple[int, int, int | None, int | None] | None) -> str:
        """The hover readout for a hit of cell_at()."""
        if hit is None:
            return ""
        layer, head, step, token = hit
        name = f"layer {layer}, head {head}" + (" (attention sink)" if self._is_sink(layer, head) else "")
        if step is None or token is None:
            return name
        weight = float(self._weights[step, layer, head, token])
        return f'{name}: step {step} "{self.output[step]}" → "{self.source[token]}"  weight = {weight:.3f}'

    def _is_sink(self, layer: int, head: int) -> bool:
        return self.sinks.shape == self.layout_shape and bool(self.sinks[layer, head])

    # -- painting --------------------------------------------------------------------------------
    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor(self._theme.plot_background))
        self.paint_grid(painter, self.size())
        painter.end()

    def paint_grid(self, p: QPainter, size: QSize) -> None:
        """Labels, every head's matrix, the step marked, the selected head and the sinks outlined."""
        cells = self._cells(size)
        self._paint_labels(p, cells)
        if self._rows and len(self.source):
            self._paint_matrices(p, cells)
        else:
            for _, _, rect in cells:
                p.fillRect(rect, QColor(self._theme.panel))
        if self.step is not None and self.step < self._rows:
            p.setPen(QPen(QColor(self._theme.selection), max(1.0, self._zoom)))
            at = (self.step + 0.5) / self._span()  # of a cell's height
            p.drawLines(
                [QLineF(r.left(), r.top() + at * r.height(), r.right(), r.top() + at * r.height()) for *_, r in cells]
            )
        self._paint_outlines(p, cells)

    def _paint_labels(self, p: QPainter, cells: list[tuple[int, int, QRectF]]) -> None:
        """H0, H1, … above the first row of cells; L0, L1, … left of each row."""
        p.setFont(self._font())
        p.setPen(QColor(self._theme.plot_foreground))
        for layer, head, rect in cells:
            if layer == 0:
                above = QRectF(rect.left(), 0, rect.width(), rect.top())
                p.drawText(above, int(Qt.AlignmentFlag.AlignCenter), f"H{head}")
            if head == 0:
                left = QRectF(0, rect.top(), rect.left() - 4, rect.height())
                p.drawText(left, int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter), f"L{layer}")

    def _paint_matrices(self, p: QPainter, cells: list[tuple[int, int, QRectF]]) -> None:
        """Each cell's rows from one image over the whole buffer (nearest pixels: the cells stay sharp)."""
        layers, heads, capacity, tokens = self._pixels.shape
        image = QImage(self._pixels.data, tokens, layers * heads * capacity, tokens * 4, QImage.Format.Format_RGB32)
        for layer, head, rect in cells:
            p.drawImage(rect, image, QRectF(0, (layer * heads + head) * capacity, tokens, self._rows))

    def _paint_outlines(self, p: QPainter, cells: list[tuple[int, int, QRectF]]) -> None:
        """Every cell's outline: plain, a sink's dashed, the selected head's thick (drawn last: on top)."""
        groups: list[list[QRectF]] = [[], [], []]
        for layer, head, rect in cells:
            groups[2 if self.selected == (layer, head) else 1 if self._is_sink(layer, head) else 0].append(rect)
        dashed = QPen(QColor(self._theme.hover), 2.0 * self._zoom)
        dashed.setStyle(Qt.PenStyle.DashLine)
        pens = (
            QPen(QColor(self._theme.muted), self._zoom),
            dashed,
            QPen(QColor(self._theme.selection), 3 * self._zoom),
        )
        p.setBrush(Qt.BrushStyle.NoBrush)
        for pen, rects in zip(pens, groups, strict=True):
            if rects:
                p.setPen(pen)
                p.drawRects(rects)

    def to_image(self, width: int, height: int) -> QImage:
        """The grid drawn at width × height (an export; the labels say which head is which)."""
        image = QImage(width, height, QImage.Format.Format_ARGB32_Premultiplied)
        image.fill(QColor(self._theme.plot_background))
        painter = QPainter(image)
        self.paint_grid(painter, QSize(width, height))
        painter.end()
        return image


def _argb_table(lut: np.ndarray) -> np.ndarray:
    """A 256-entry RGB lookup table as opaque 32-bit pixels."""
    rgb = lut.astype(np.uint32)
    return (0xFF000000 | (rgb[:, 0] << 16) | (rgb[:, 1] << 8) | rgb[:, 2]).astype(np.uint32)


def _cell(pitch: tuple[float, float, float, float], layer: int, head: int) -> QRectF:
    left, top, dx, dy = pitch
    return QRectF(left + head * dx, top + layer * dy, dx - CELL_GAP, dy - CELL_GAP)
