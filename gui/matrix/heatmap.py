"""The attention heatmap: one row per output token, one column per source token.

Built for a 300×300 matrix streaming in at decoder speed: one preallocated float32 buffer,
one ImageItem whose data is swapped (never re-created), repaints coalesced to ~30 Hz.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pyqtgraph as pg
import pyqtgraph.exporters as pg_exporters
from PySide6.QtCore import QCoreApplication, QEvent, QLineF, QPointF, QRectF, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QImage, QPainter, QPalette, QPen, QStaticText, QWheelEvent
from PySide6.QtWidgets import (
    QGraphicsItem,
    QGraphicsRectItem,
    QGraphicsView,
    QGraphicsWidget,
    QGridLayout,
    QLabel,
    QWidget,
)

from engine import DecodeResult, StepRecord
from gui.matrix.colour_bar import ColourBar
from gui.matrix.matrix_image import MatrixImage
from gui.matrix.no_attention import NO_ATTENTION_HOVER, GreyedMatrix
from gui.matrix.plot_lifetime import release_view
from gui.style.fonts import BASE_POINT_SIZE, LaidOutTexts, alpha_symbol, ui_font
from gui.style.theme import Theme, clamp_zoom, get_theme, lookup_table

MODES = ("alpha", "scores")
REPAINT_INTERVAL_MS = 33  # ~30 Hz: faster steps are coalesced into one repaint
FIRST_FRAME_MS = 100  # begin(clear_now=False): a decode done sooner goes straight to its result, unseen before
MIN_LABEL_SCALE = 0.6  # crowded labels shrink to this fraction of the UI size before thinning
MIN_LABEL_POINTS = 7.0
MAX_LABEL_CHARS = 18  # longer tokens are cut on the axes (the hover text shows them whole)
MAX_CACHED_LABELS = 4096  # laid-out labels kept per axis (a 300-token decode and its neighbours)
PLACEHOLDER_SCALE = 1.4  # the placeholder's font, against the UI font
HINT = "Hover a cell to read its weight; click a cell to select its decoder step."
LAYOUT_PASSES = 3  # axis depth → plot geometry → label layout → axis depth: settles within two rounds


def short_label(token: str) -> str:
    return token if len(token) <= MAX_LABEL_CHARS else token[: MAX_LABEL_CHARS - 3] + "..."


def thinning_step(needed_px: float, px_per_token: float) -> int:
    """Show every k-th label so that neighbouring labels keep `needed_px` apart (0 px per token: not laid out)."""
    if px_per_token <= 0.0 or needed_px <= px_per_token:
        return 1
    return math.ceil(needed_px / px_per_token)


def fit_scale(needed_px: float, px_per_token: float, point_size: float) -> float:
    """How far to shrink labels (in 5 % steps, never below MIN_LABEL_SCALE or MIN_LABEL_POINTS)."""
    if px_per_token <= 0.0 or needed_px <= px_per_token:
        return 1.0
    floor = max(MIN_LABEL_SCALE, min(1.0, MIN_LABEL_POINTS / point_size))
    return max(floor, math.floor(px_per_token / needed_px * 20) / 20)


class TokenAxis(pg.AxisItem):
    """Token labels at cell centres (via setTicks) that never pile up.

    When labels crowd, in this order: rotate them upright (top axis), shrink them down to
    MIN_LABEL_SCALE of the UI size, then show every k-th. The layout is recomputed when the
    axis is resized or the view range changes, so zooming in brings thinned labels back.
    Supports 'left' and 'top'.
    """

    def __init__(self, orientation: str) -> None:
        if orientation not in ("left", "top"):
            raise ValueError("TokenAxis supports 'left' and 'top'")
        super().__init__(orientation)
        self._labels: list[str] = []
        self._ticks_key: tuple[object, ...] | None = None  # what the ticks were last set for
        self._layout_key: tuple[object, ...] | None = None  # what the layout was last computed for (None: redo)
        self._font = ui_font()
        self._draw_font = QFont(self._font)
        self._texts = LaidOutTexts(MAX_CACHED_LABELS)  # crowded labels shrink and grow back: both sizes kept
        self._widths: dict[str, float] = {}  # label → its advance in _font (a new decode mostly repeats labels)
        self._rotated = False
        self._scale = 1.0
        self._step = 1
        self._advances = np.zeros(0)  # label widths at self._font
        self._widest = 0.0  # of the labels shown, at self._font
        self._emphasis: int | None = None  # a label drawn bold on a coloured box (the step's strongest column)
        self._emphasis_colours = (QColor("#1f77b4"), QColor("white"))
        self.setStyle(showValues=False, tickLength=5, tickTextOffset=4)
        self.setTickFont(self._font)
        self.enableAutoSIPrefix(False)  # token positions have no units; else every range change re-sets the title
        # The title is a rich-text item that lays its text out again at every paint (~0.05 ms each, cold);
        # cached, a paint is a blit until the title, its font or its scale changes.
        self.label.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)

    # -- public -----------------------------------------------------------------
    def set_tokens(self, tokens: Sequence[str], relayout: bool = True) -> None:
        """relayout=False: the caller changes the view range next and calls relayout() after it (a layout for
        the old range would be thrown away: ~50 µs per axis)."""
        labels = [short_label(t) for t in tokens]
        if labels != self._labels:
            self._labels = labels
            self._measure()
            self._layout_key = None
        if relayout:
            self.relayout()

    def set_font(self, font: QFont) -> None:
        self._font = QFont(font)
        self._texts.clear()
        self._widths.clear()
        self._layout_key = None
        self.setTickFont(self._font)
        self.label.setFont(self._font)
        self._measure()
        self.relayout()

    def set_emphasis(self, index: int | None, background: QColor, text: QColor) -> None:
        """Draw label `index` bold on a `background` box (None: no label stands out); its tick is always shown."""
        if (index, background, text) != (self._emphasis, *self._emphasis_colours):
            self._emphasis, self._emphasis_colours = index, (QColor(background), QColor(text))
            self.update()

    def emphasised(self) -> int | None:
        return self._emphasis

    def labels(self) -> list[str]:
        return list(self._labels)

    def shown_labels(self) -> list[str]:
        """The labels left after thinning (all of them when they fit)."""
        return self._labels[:: self._step]

    def label_font(self) -> QFont:
        """The font tick labels are drawn in (the UI font, shrunk when crowded)."""
        return QFont(self._draw_font)

    @property
    def rotated(self) -> bool:
        return self._rotated

    def reserved_size(self) -> float:
        """Pixels this axis takes across its length: text plus ticks plus the title."""
        return self.maximumWidth() if self.orientation == "left" else self.maximumHeight()

    # -- pyqtgraph hooks ---------------------------------------------------------
    def resizeEvent(self, ev: object = None) -> None:
        super().resizeEvent(ev)
        self.relayout()

    def linkedViewChanged(self, view: pg.ViewBox, newRange: object = None) -> None:  # noqa: N803 (Qt name)
        super().linkedViewChanged(view, newRange)
        self.relayout()

    def paint(self, p: QPainter, *args: object) -> None:
        """Axis line, ticks and labels, drawn straight away, each label from its cached glyph layout.

        AxisItem.paint records them into a QPicture through per-tick Python whenever the labels or the
        range change (~2 ms for a hundred labels: every new row while a decode streams), and lays every
        label out again whenever it replays the picture.
        """
        bounds = self.mapRectFromParent(self.geometry())
        ticks = self._visible_ticks()
        length = self.style["tickLength"]
        p.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        p.setRenderHint(QPainter.RenderHint.TextAntialiasing, True)
        p.setPen(self.pen())
        if self.orientation == "left":
            edge = bounds.right()
            p.drawLine(QPointF(edge - 1, bounds.top() - 1), QPointF(edge - 1, bounds.bottom() + 1))
            lines = [QLineF(edge, pos, edge - length, pos) for pos, _ in ticks]
        else:
            edge = bounds.bottom()
            p.drawLine(QPointF(bounds.left() - 1, edge - 1), QPointF(bounds.right() + 1, edge - 1))
            lines = [QLineF(pos, edge, pos, edge - length) for pos, _ in ticks]
        p.setPen(self.tickPen())
        p.drawLines(lines)
        p.setFont(self._draw_font)
        p.setPen(self.textPen())
        self._draw_labels(p, bounds, ticks)
        self._draw_emphasis(p, bounds)

    def _draw_emphasis(self, p: QPainter, bounds: QRectF) -> None:
        """The emphasised label over whatever is drawn there: bold, on a box, even where thinning hid it."""
        j = self._emphasis
        if j is None or not 0 <= j < len(self._labels) or self._rotated:
            return
        font = QFont(self._draw_font)
        font.setBold(True)
        metrics = QFontMetricsF(font)
        text, offset = self._labels[j], self.style["tickLength"] + self.style["tickTextOffset"][0]
        pos = self._position(j + 0.5, bounds)
        if pos is None:
            return
        width, height = metrics.horizontalAdvance(text) + 8, metrics.height()
        if self.orientation == "left":
            box = QRectF(bounds.right() - offset - width, pos - height / 2, width, height)
        else:
            left = min(max(pos - width / 2, bounds.left()), bounds.right() - width)
            box = QRectF(left, bounds.bottom() - offset - height, width, height)
        background, colour = self._emphasis_colours
        p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(background)
        p.drawRoundedRect(box, 3, 3)
        p.setPen(colour)
        p.setFont(font)
        p.drawText(box, int(Qt.AlignmentFlag.AlignCenter), text)

    def _draw_labels(self, p: QPainter, bounds: QRectF, ticks: list[tuple[float, str]]) -> None:
        offset = self.style["tickLength"] + self.style["tickTextOffset"][0]
        line = QFontMetricsF(self._draw_font).height()
        if self.orientation == "left":  # right-aligned against the ticks, centred on the row
            for pos, text in ticks:
                label = self._static_text(text)
                p.drawStaticText(QPointF(bounds.right() - offset - label.size().width(), pos - line / 2), label)
        elif self._rotated:  # reads bottom-up, starting next to the plot; one rotation for all of them
            p.save()
            p.rotate(-90)  # (u, v) in the rotated frame is (v, -u) in the axis's
            for pos, text in ticks:
                p.drawStaticText(QPointF(offset - bounds.bottom(), pos - line / 2), self._static_text(text))
            p.restore()
        else:  # centred on the column, kept inside the axis
            for pos, text in ticks:
                label = self._static_text(text)
                width = label.size().width() + 2
                left = min(max(pos - width / 2, bounds.left()), bounds.right() - width)
                p.drawStaticText(QPointF(left + 1, bounds.bottom() - offset - line), label)

    def _static_text(self, text: str) -> QStaticText:
        return self._texts.get(text, self._draw_font)

    # -- layout ------------------------------------------------------------------
    def _measure(self) -> None:
        metrics, known = QFontMetricsF(self._font), self._widths
        if len(known) >= MAX_CACHED_LABELS:
            known.clear()
        for label in self._labels:
            if label not in known:
                known[label] = metrics.horizontalAdvance(label)
        self._advances = np.array([known[s] for s in self._labels])

    def _pixels_per_token(self) -> float:
        bounds = self.mapRectFromParent(self.geometry())
        length = bounds.height() if self.orientation == "left" else bounds.width()
        span = abs(self.range[1] - self.range[0])
        return length / span if span > 0 else 0.0

    def relayout(self) -> None:
        """Fit the labels to the room per token now (does nothing when the room and labels are as last fitted)."""
        if not hasattr(self, "_labels"):
            return  # called from AxisItem.__init__ before our state exists
        per = self._pixels_per_token()
        room = (per, self.label.isVisible(), self.label.boundingRect().height())
        if room == self._layout_key:
            return  # a resize or range change that leaves the room per token as it was (most of them)
        self._layout_key = room
        line = QFontMetricsF(self._font).height()
        self._widest = float(self._advances.max(initial=0.0))
        flat_needed = self._widest + 0.35 * line  # side by side, with a gap
        upright_needed = 0.8 * line  # stacked: ink is shorter than the line box
        self._rotated = self.orientation == "top" and flat_needed > per
        needed = flat_needed if self.orientation == "top" and not self._rotated else upright_needed
        self._scale = fit_scale(needed, per, self._font.pointSizeF())
        self._draw_font = QFont(self._font)
        self._draw_font.setPointSizeF(self._font.pointSizeF() * self._scale)
        self._step = thinning_step(needed * self._scale, per)
        if self._step > 1:  # only the labels still shown need room across the axis
            self._widest = float(self._advances[:: self._step].max(initial=0.0))
        across = line if self.orientation == "top" and not self._rotated else self._widest
        self._set_depth(across * self._scale)
        ticks = [(i + 0.5, s) for i, s in enumerate(self._labels) if i % self._step == 0]
        key = (ticks, self._rotated, self._scale)
        if key != self._ticks_key:  # setTicks drops the cached picture: redrawing every label is the costly part
            self._ticks_key = key
            self.setTicks([ticks])

    def _set_depth(self, text_px: float) -> None:
        depth = text_px + self.style["tickLength"] + self.style["tickTextOffset"][0] + 4
        if self.label.isVisible():
            depth += self.label.boundingRect().height()
        depth = math.ceil(depth)
        if abs(depth - self.reserved_size()) < 1:
            return
        if self.orientation == "left":
            self.setWidth(depth)
        else:
            self.setHeight(depth)

    def _visible_ticks(self) -> list[tuple[float, str]]:
        """(pixel position along the axis, label) for each tick inside the axis."""
        bounds = self.mapRectFromParent(self.geometry())
        if not self._tickLevels:
            return []
        out = []
        for value, text in self._tickLevels[0]:
            pos = self._position(value, bounds)
            if pos is not None:
                out.append((pos, text))
        return out

    def _position(self, value: float, bounds: QRectF) -> float | None:
        """The pixel along the axis where `value` of the view range lies, None when outside the axis."""
        lo, hi = self.range
        if hi == lo:
            return None
        if self.orientation == "left":  # the range is reversed when the view is inverted
            pos = bounds.top() + (hi - value) / (hi - lo) * bounds.height()
            return pos if bounds.top() - 1 <= pos <= bounds.bottom() + 1 else None
        pos = bounds.left() + (value - lo) / (hi - lo) * bounds.width()
        return pos if bounds.left() - 1 <= pos <= bounds.right() + 1 else None


def _window(length: int, pixels: float, min_cell_px: float, at: int) -> tuple[float, float]:
    """The range of `length` cells to show in `pixels`: all of them, or as many as fit at `min_cell_px` each,
    centred on cell `at` and kept inside the matrix."""
    if min_cell_px <= 0 or pixels <= 0 or length * min_cell_px <= pixels:
        return 0.0, float(length)
    shown = max(1.0, pixels / min_cell_px)
    start = min(max(at + 0.5 - shown / 2, 0.0), length - shown)
    return start, start + shown


def settle_layout(plots: Sequence[pg.PlotItem], others: Sequence[QGraphicsWidget] = ()) -> None:
    """Apply pending layout and view-range changes now, so that the next paint is the only one.

    Left to the event loop, the paint comes first (old geometry, new data), then the layout request
    that new axis sizes posted to the plot, then a repaint for them and another for the view transform
    pyqtgraph updates lazily inside the paint: three full paints per update instead of one.
    """
    for _ in range(LAYOUT_PASSES):
        for item in (*plots, *others):
            QCoreApplication.sendPostedEvents(item, QEvent.Type.LayoutRequest)
    for plot in plots:
        plot.vb.prepareForPaint()


def score_levels(scores: np.ndarray) -> tuple[float, float]:
    """Symmetric around 0 from the finite scores, so 0 sits at the diverging map's midpoint."""
    finite = scores[np.isfinite(scores)]
    bound = float(np.max(np.abs(finite))) if finite.size else 0.0
    bound = bound if bound > 1e-9 else 1.0  # e.g. the no-attention model's all-zero scores
    return -bound, bound


def display_copy(values: np.ndarray) -> np.ndarray:
    """float32, C-contiguous, non-finite → NaN (drawn transparent)."""
    out = np.array(values, dtype=np.float32, order="C", copy=True)
    out[~np.isfinite(out)] = np.nan
    return out


class _MatrixView(pg.GraphicsLayoutWidget):
    """The heatmap's view: the wheel pans and zooms the matrix, but Ctrl+wheel is the window's zoom."""

    def wheelEvent(self, event: QWheelEvent) -> None:
        if event.modifiers() & Qt.KeyboardModifier.ControlModifier:
            event.ignore()  # on to the parent widgets: the main window zooms everything
            return
        super().wheelEvent(event)


class HeatmapWidget(QWidget):
    """α (or raw scores e) as an image; rows are decoder steps, columns source tokens.

    `select_step(i)` marks a row without emitting; `step_selected` is emitted only for a
    user click, so a main window can sync several views without feedback loops.
    """

    step_selected = Signal(int)

    def __init__(
        self, parent: QWidget | None = None, theme: str = "light", zoom: float = 1.0, show_readout: bool = True
    ) -> None:
        super().__init__(parent)
        self._theme: Theme = get_theme(theme)
        self._zoom = clamp_zoom(zoom)
        self._mode = "alpha"
        self._transposed = False
        self._source: list[str] = []
        self._output: list[str] = []
        self._alpha = np.zeros((0, 0), np.float32)
        self._scores = np.zeros((0, 0), np.float32)
        self._rows = 0
        self._span_rows = 0  # rows the view shows while streaming (the expected length)
        self._selected: int | None = None
        self._min_cell_px = 0.0  # > 0: cells at least this big, the view following the selected step (lecture)
        self._hover_text = ""
        self._torn_down = False
        self._attention = True  # False: the model has no α (greyed matrix, caption)
        self._caption = ""  # what the matrix is, when it needs saying (set_caption)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(REPAINT_INTERVAL_MS)
        self._timer.timeout.connect(self.flush)
        self._build(show_readout)
        self.set_theme(theme)
        self.set_zoom(self._zoom)

    # -- construction ------------------------------------------------------------
    def _build(self, show_readout: bool) -> None:
        self._view = _MatrixView()
        # pyqtgraph caches the background as a pixmap, re-made at each layout change and blitted at every
        # paint; a plain fill is faster (measured: ~0.5-1 ms off each new decode's paint).
        self._view.setCacheMode(QGraphicsView.CacheModeFlag.CacheNone)
        self._view.ci.setContentsMargins(6, 6, 6, 6)
        self._left = TokenAxis("left")
        self._top = TokenAxis("top")
        self._plot = self._view.addPlot(row=0, col=0, axisItems={"left": self._left, "top": self._top})
        self._plot.showAxis("top")
        self._plot.hideAxis("bottom")
        self._plot.hideButtons()
        self._plot.setMenuEnabled(False)
        self._plot.invertY(True)
        self._plot.vb.setDefaultPadding(0.0)
        self._label_axes()
        self._image = MatrixImage()
        self._plot.addItem(self._image)
        self._greyed = GreyedMatrix(self._plot)
        self._selection = self._outline_item(z=10)
        self._focus = self._outline_item(z=12)  # the selected step's strongest source column
        self._hover_box = self._outline_item(z=11)
        self._colorbar = ColourBar()
        self._colorbar.follow(self._plot.vb)
        self._view.addItem(self._colorbar, row=0, col=1)
        for axis in self._plot.axes.values():  # the hidden ones follow the range too
            axis["item"].enableAutoSIPrefix(False)  # else every range change re-sets each axis title (HTML)
        self._plot.vb.sigResized.connect(self._on_view_resized)
        scene = self._view.scene()
        scene.sigMouseMoved.connect(self._on_mouse_moved)
        scene.sigMouseClicked.connect(self._on_mouse_clicked)
        self._readout = QLabel(HINT)
        self._readout.setVisible(show_readout)
        self._readout.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self._placeholder = QLabel(self)  # a note over the empty plot, e.g. while the first model loads
        self._placeholder.setObjectName("heatmapPlaceholder")
        self._placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._placeholder.setWordWrap(True)
        self._placeholder.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self._placeholder.hide()
        layout = QGridLayout(self)  # the placeholder shares the plot's cell, on top of it
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        self._readout.setContentsMargins(8, 2, 8, 4)
        layout.addWidget(self._view, 0, 0)
        layout.addWidget(self._placeholder, 0, 0)
        layout.addWidget(self._readout, 1, 0)
        layout.setRowStretch(0, 1)

    def _outline_item(self, z: float) -> QGraphicsRectItem:
        item = QGraphicsRectItem()
        item.setZValue(z)
        item.setVisible(False)
        self._plot.addItem(item, ignoreBounds=True)
        return item

    # -- data in -----------------------------------------------------------------
    def begin(self, source_tokens: Sequence[str], capacity_rows: int, clear_now: bool = True) -> None:
        """Clear, and preallocate room for `capacity_rows` steps (it grows if exceeded).

        clear_now=False leaves the old picture up for FIRST_FRAME_MS: a decode that ends sooner goes from
        the old picture straight to its result, with no paint in between to slow it down.
        """
        self._timer.stop()
        self._source = list(source_tokens)
        self._output = []
        shape = (max(1, capacity_rows), len(self._source))
        self._alpha = np.full(shape, np.nan, np.float32)
        self._scores = np.full(shape, np.nan, np.float32)
        self._rows = 0
        self._span_rows = max(1, min(shape[0], len(self._source)))
        self._selected = None
        self._set_hover(None)
        if clear_now:
            self.flush()
        else:
            self._timer.start(FIRST_FRAME_MS)

    def append_steps(self, run: Sequence[StepRecord]) -> None:
        """Add a run of consecutive rows; the repaint happens on the next ~30 Hz tick, not here."""
        width = len(self._source)
        if any(record.alpha is not None and len(record.alpha) != width for record in run):
            raise ValueError(f"a step's weights do not match the {width} source tokens")
        first, end = self._rows, self._rows + len(run)
        if end > self._alpha.shape[0]:
            self._grow(end)
        self._attention = run[0].alpha is not None
        for row, record in enumerate(run, first):  # row by row into the buffers: no temporary copies
            self._alpha[row] = np.nan if record.alpha is None else record.alpha
            self._scores[row] = np.nan if record.scores is None else record.scores
        for block in (self._alpha[first:end], self._scores[first:end]):
            block[~np.isfinite(block)] = np.nan  # drawn transparent
        self._output.extend(record.token for record in run)
        self._rows = end
        if not self._timer.isActive():
            self._timer.start(REPAINT_INTERVAL_MS)

    def _grow(self, rows: int) -> None:
        extra = np.full(
            (max(rows, 2 * self._alpha.shape[0]) - self._alpha.shape[0], len(self._source)), np.nan, np.float32
        )
        self._alpha = np.vstack([self._alpha, extra])
        self._scores = np.vstack([self._scores, extra])

    def set_result(self, result: DecodeResult) -> None:
        shape = (len(result.output_tokens), len(result.source_tokens))
        self._attention = result.alpha is not None
        alpha = display_copy(result.alpha) if result.alpha is not None else np.full(shape, np.nan, np.float32)
        scores = display_copy(result.scores) if result.scores is not None else np.full(shape, np.nan, np.float32)
        if alpha.shape != shape or scores.shape != shape:
            raise ValueError(f"alpha {alpha.shape} / scores {scores.shape} do not match tokens {shape}")
        self._timer.stop()
        self._source, self._output = list(result.source_tokens), list(result.output_tokens)
        self._alpha, self._scores = alpha, scores
        self._rows = self._span_rows = shape[0]
        if self._selected is not None and self._selected >= self._rows:
            self._selected = None
        self._set_hover(None)  # its text was about the last matrix (a one-run decode arrives without begin())
        self.flush()

    def show_first_steps(self, result: DecodeResult, rows: int) -> None:
        """The first `rows` steps of a finished decode, on the whole decode's canvas (an animation's frame)."""
        self.set_result(result)
        self._output = self._output[:rows]
        self._alpha[rows:] = np.nan
        self._scores[rows:] = np.nan
        self._rows = rows
        self.select_step(rows - 1 if rows else None)
        self.flush()

    # -- display -----------------------------------------------------------------
    def flush(self) -> None:
        """Push the buffer to the screen now (the timer calls this)."""
        self._timer.stop()
        if self._torn_down:
            return
        matrix, levels = self._displayed(), self._levels()
        if matrix.size:
            self._image.setImage(matrix, autoLevels=False, levels=levels)
        else:
            self._image.clear()
        self._colorbar.set_levels(levels)  # scores: each decode has its own scale
        self._colorbar.setVisible(self._attention)
        self._greyed.show_over(None if self._attention else self._cells_rect())
        self._update_axes()
        self._update_selection()
        settle_layout([self._plot], [self._view.ci])

    def repaint_now(self) -> None:
        """Paint the plot at once instead of on a later pass of the event loop (e.g. before slower views).

        Handling the scene's queued update, Qt paints the view's changed region straight away (with anything
        else already waiting to be painted in the window); a repaint() after it would paint a second time.
        """
        if self._torn_down:
            return
        QCoreApplication.sendPostedEvents(self._view.scene(), QEvent.Type.MetaCall)

    def _displayed(self) -> np.ndarray:
        rows = (self._alpha if self._mode == "alpha" else self._scores)[: self._rows]
        return np.ascontiguousarray(rows.T) if self._transposed else rows

    def _levels(self) -> tuple[float, float]:
        return (0.0, 1.0) if self._mode == "alpha" else score_levels(self._scores[: self._rows])

    def _update_axes(self) -> None:
        """New labels, then the range they span, then one fit of each axis to both."""
        self._source_axis().set_tokens(self._source, relayout=False)
        self._output_axis().set_tokens(self._output, relayout=False)
        self._update_range()  # the axes follow a range change at once
        self._left.relayout()
        self._top.relayout()

    def _label_axes(self) -> None:
        self._source_axis().setLabel(f"source — {self._caption}" if self._caption else "source")
        self._output_axis().setLabel("output")

    def _source_axis(self) -> TokenAxis:
        return self._left if self._transposed else self._top

    def _output_axis(self) -> TokenAxis:
        return self._top if self._transposed else self._left

    def _update_range(self) -> None:
        """The whole matrix; with a minimum cell size, the part of it around the selected cell that fits."""
        rows, cols = max(self._rows, self._span_rows, 1), max(len(self._source), 1)
        width, height = (rows, cols) if self._transposed else (cols, rows)
        vb = self._plot.vb
        vb.setLimits(xMin=0, xMax=width, yMin=0, yMax=height)
        step, column = self._selected or 0, self.focus_column() or 0
        at_x, at_y = (step, column) if self._transposed else (column, step)
        x_range = _window(width, vb.width(), self._min_cell_px, at_x)
        y_range = _window(height, vb.height(), self._min_cell_px, at_y)
        vb.setRange(xRange=x_range, yRange=y_range, padding=0)

    def set_min_cell_px(self, pixels: float) -> None:
        """Cells at least `pixels` big (0: the whole matrix always fits): a big matrix then shows its part around
        the selected step, which the view follows; the wheel and a drag move it."""
        self._min_cell_px = max(0.0, float(pixels))
        self._update_range()

    @Slot(object)
    def _on_view_resized(self, _view: object) -> None:
        if self._min_cell_px:
            self._update_range()

    def _update_colours(self) -> None:
        name = self._theme.alpha_colormap if self._mode == "alpha" else self._theme.scores_colormap
        lut = lookup_table(name)
        self._image.setLookupTable(lut)
        self._colorbar.set_colours(lut)  # its levels come with the image's, in flush()
        self._colorbar.set_title(alpha_symbol() if self._mode == "alpha" else "score e")

    def set_mode(self, mode: str) -> None:
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, not {mode!r}")
        self._mode = mode
        self._update_colours()
        self.flush()

    def mode(self) -> str:
        return self._mode

    def set_transposed(self, transposed: bool) -> None:
        self._transposed = bool(transposed)
        self._label_axes()
        self._set_hover(None)
        self.flush()

    def is_transposed(self) -> bool:
        return self._transposed

    # -- selection & hover -------------------------------------------------------
    def select_step(self, i: int | None) -> None:
        """Mark decoder step i (None clears). Does not emit step_selected."""
        self._selected = i if i is not None and 0 <= i < self._rows else None
        self._update_selection()
        if self._min_cell_px:
            self._update_range()  # the part of a big matrix on show follows the step

    def selected_step(self) -> int | None:
        return self._selected

    def _update_selection(self) -> None:
        """The selected step's row outlined, and the cell of its strongest source word (max α) with that word's
        label: what a room follows while a decode steps along."""
        i = self._selected
        j = self.focus_column()
        self._selection.setVisible(i is not None)
        self._focus.setVisible(i is not None and j is not None)
        if i is not None:
            self._selection.setRect(self._cell_rect(i, None))
        if i is not None and j is not None:
            self._focus.setRect(self._cell_rect(i, j))
        background, text = QColor(self._theme.selection), QColor(self._theme.plot_background)
        self._source_axis().set_emphasis(j, background, text)
        self._output_axis().set_emphasis(i, background, text)

    def focus_column(self) -> int | None:
        """The source position the selected step attends to most (None: no step selected, or no weights)."""
        i = self._selected
        if i is None or i >= self._rows or not len(self._source):
            return None
        row = self._alpha[i]
        return int(np.nanargmax(row)) if np.isfinite(row).any() else None

    def _cell_rect(self, step: int, source_index: int | None) -> QRectF:
        """A step's row (source_index None) or one cell, in view coordinates."""
        j, n = (0, len(self._source)) if source_index is None else (source_index, 1)
        return QRectF(step, j, 1, n) if self._transposed else QRectF(j, step, n, 1)

    def _cells_rect(self) -> QRectF:
        """The decoded rows' cells, in view coordinates."""
        rows, cols = self._rows, len(self._source)
        return QRectF(0, 0, rows, cols) if self._transposed else QRectF(0, 0, cols, rows)

    def set_caption(self, text: str) -> None:
        """What the matrix is, when it needs saying (a transformer's view of its heads), under the source title."""
        self._caption = text
        self._label_axes()

    def caption(self) -> str:
        return self._caption

    def no_attention_caption(self) -> str:
        """The caption over a greyed matrix (a model without attention), else ''."""
        return self._greyed.caption()

    def cell_center(self, step: int, source_index: int) -> QPointF:
        """Scene position of a cell's centre (for synthetic mouse events and overlays)."""
        return self._plot.vb.mapViewToScene(self._cell_rect(step, source_index).center())

    def cell_at(self, scene_pos: QPointF) -> tuple[int, int] | None:
        """(step, source index) under a scene position, or None outside the data."""
        vb = self._plot.vb
        if not vb.sceneBoundingRect().contains(scene_pos):
            return None
        point = vb.mapSceneToView(scene_pos)
        col, row = math.floor(point.x()), math.floor(point.y())
        step, j = (col, row) if self._transposed else (row, col)
        if 0 <= step < self._rows and 0 <= j < len(self._source):
            return step, j
        return None

    def _on_mouse_moved(self, scene_pos: QPointF) -> None:
        self._set_hover(self.cell_at(scene_pos))

    def _on_mouse_clicked(self, event: object) -> None:
        if event.button() != Qt.MouseButton.LeftButton:  # type: ignore[attr-defined]
            return
        cell = self.cell_at(event.scenePos())  # type: ignore[attr-defined]
        if cell is not None:
            self.select_step(cell[0])
            self.step_selected.emit(cell[0])

    def _set_hover(self, cell: tuple[int, int] | None) -> None:
        self._hover_box.setVisible(cell is not None)
        if cell is None:
            self._hover_text = ""
            self._readout.setText(HINT)
            return
        i, j = cell
        self._hover_box.setRect(self._cell_rect(i, j))
        if not self._attention:
            self._hover_text = f'step {i} "{self._output[i]}", "{self._source[j]}": {NO_ATTENTION_HOVER}'
            self._readout.setText(self._hover_text)
            return
        self._hover_text = (
            f'step {i} "{self._output[i]}" attends to "{self._source[j]}" (position {j}):  '
            f"{alpha_symbol()} = {self._alpha[i, j]:.3f}   e = {self._scores[i, j]:.3f}"
        )
        self._readout.setText(self._hover_text)

    def hover_text(self) -> str:
        """The text shown for the cell under the mouse ('' when the mouse is off the data)."""
        return self._hover_text

    # -- inspection (tests, exports) ---------------------------------------------
    def image_data(self) -> np.ndarray:
        """A copy of the matrix the ImageItem holds: output×source, or source×output when transposed."""
        image = self._image.image
        if image is None:
            shape = (len(self._source), 0) if self._transposed else (0, len(self._source))
            return np.zeros(shape, np.float32)
        return np.array(image, copy=True)

    def axis_labels(self) -> tuple[list[str], list[str]]:
        """(source labels, output labels) as the axes hold them."""
        return self._source_axis().labels(), self._output_axis().labels()

    def shown_axis_labels(self) -> tuple[list[str], list[str]]:
        """(source, output) labels actually drawn after thinning; equal to axis_labels() when all fit."""
        return self._source_axis().shown_labels(), self._output_axis().shown_labels()

    def graphics_view(self) -> pg.GraphicsLayoutWidget:
        """The pyqtgraph view (for mouse events in tests, or embedding overlays)."""
        return self._view

    def set_placeholder(self, text: str) -> None:
        """A note in the middle of the plot ("" hides it): what the heatmap will show, before it can."""
        self._placeholder.setText(text)
        self._placeholder.setVisible(bool(text))

    def placeholder(self) -> str:
        """The note on show ("" when none)."""
        return self._placeholder.text() if self._placeholder.isVisibleTo(self) else ""

    # -- look --------------------------------------------------------------------
    def set_zoom(self, factor: float) -> None:
        self._zoom = clamp_zoom(factor)
        font = ui_font(BASE_POINT_SIZE, self._zoom)
        for axis in (self._left, self._top):
            axis.set_font(font)
        self._colorbar.set_font(font, bar_px=round(22 * self._zoom))
        half_line = math.ceil(QFontMetricsF(font).height() / 2)
        self._view.ci.setContentsMargins(6, 6, 6, half_line + 2)  # the bar's lowest label reaches below the image
        self._readout.setFont(font)
        self._greyed.style(self._theme, font)
        big = QFont(font)
        big.setPointSizeF(font.pointSizeF() * PLACEHOLDER_SCALE)
        self._placeholder.setFont(big)
        self._update_pens()
        self._update_colours()

    def zoom(self) -> float:
        return self._zoom

    def set_theme(self, name: str) -> None:
        self._theme = get_theme(name)
        self._view.setBackground(self._theme.plot_background)
        fg = self._theme.plot_foreground
        for axis in (self._left, self._top):
            axis.setPen(fg)
            axis.setTextPen(fg)
        self._colorbar.set_colour(fg)
        self._greyed.style(self._theme, ui_font(BASE_POINT_SIZE, self._zoom))
        palette = self._placeholder.palette()  # on the plot's background, whatever the window's palette
        palette.setColor(QPalette.ColorRole.WindowText, QColor(fg))
        self._placeholder.setPalette(palette)
        self._plot.vb.setBorder(pg.mkPen(fg, width=1))  # low α is near the background colour
        self._update_pens()
        self._update_colours()
        self.flush()

    def theme(self) -> str:
        return self._theme.name

    def _update_pens(self) -> None:
        selection = QPen(QColor(self._theme.selection), 3.0 * self._zoom)
        focus = QPen(QColor(self._theme.focus), 4.0 * self._zoom)
        hover = QPen(QColor(self._theme.hover), 1.5 * self._zoom, Qt.PenStyle.DashLine)
        for item, pen in ((self._selection, selection), (self._focus, focus), (self._hover_box, hover)):
            pen.setCosmetic(True)
            item.setPen(pen)

    # -- export ------------------------------------------------------------------
    def _prepare_export(self) -> None:
        self.flush()
        self._hover_box.setVisible(False)

    def to_image(self) -> QImage:
        """The plot as an image, e.g. for the clipboard."""
        self._prepare_export()
        exporter = pg_exporters.ImageExporter(self._view.ci)
        exporter.parameters()["background"] = QColor(self._theme.plot_background)
        return exporter.export(toBytes=True)

    # -- lifetime ----------------------------------------------------------------
    def teardown(self) -> None:
        """Release the pyqtgraph items in order; call before the app exits."""
        if self._torn_down:
            return
        self._torn_down = True
        self._timer.stop()
        scene = self._view.scene()
        scene.sigMouseMoved.disconnect(self._on_mouse_moved)
        scene.sigMouseClicked.disconnect(self._on_mouse_clicked)
        release_view(self._view)
