"""The context vector of one decoder step, taken apart: c_i = Σ_j α_ij h_j.

Four views of the same algebra: c_i per dimension; how much each source token adds
(‖α_ij h_j‖ with its α); where c_i sits among the h_j in a 2-D PCA (inside their hull,
being a convex combination); and how alike the c_i of all steps are (cosine matrix).

A transformer's step is taken apart per head instead (c = Σ α h does not apply to it): each head's
context cʰ = Σ_j αʰ_j v_j concatenated as W_O reads them, what each source token adds through each
head (‖αʰ_j W_Oʰ v_j‖, stacked), each head's ‖cʰ‖, and how alike the steps' outputs are.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QPen, QShowEvent
from PySide6.QtWidgets import QGraphicsRectItem, QLabel, QVBoxLayout, QWidget

from engine import DecodeResult, DecodeStart, StepRecord
from gui.matrix.colour_bar import ColourBar
from gui.matrix.heatmap import TokenAxis, settle_layout
from gui.matrix.matrix_image import MatrixImage
from gui.matrix.plot_lifetime import release_view
from gui.style.fonts import BASE_POINT_SIZE, alpha_symbol, ui_font
from gui.style.theme import Theme, clamp_zoom, get_theme, head_colour, lookup_table, symbol_brush, symbol_pen

FIXED_CONTEXT_NOTE = "c is the same at every step: the fixed-vector bottleneck"
NO_DECOMPOSITION_NOTE = (
    "No attention: every step reads one fixed vector c (shown), the encoder's summary of the whole source. "
    "c = Σ α h does not apply: there are no weights α, so c has no per-word decomposition."
)
TRANSFORMER_NOTE = "Transformer: c = Σ α h does not apply. Its heads, each coloured, of the layer chosen in Heads:"
SAME_CONTEXT_ATOL = 1e-6
AXES = ("left", "bottom", "top", "right")
MIN_WIDTH_EMS = 30  # two columns of plots, and still a third of a 1366-pixel screen


# -- the numbers (pure numpy, tested directly) ------------------------------------------------
def is_fixed_context(context: np.ndarray) -> bool:
    """True when every step read the same vector (the no-attention encoder-decoder)."""
    return context.shape[0] >= 2 and bool(np.allclose(context, context[0], rtol=0.0, atol=SAME_CONTEXT_ATOL))


def cosine_similarity(vectors: np.ndarray) -> np.ndarray:
    unit = _unit_rows(vectors)
    return np.clip(unit @ unit.T, -1.0, 1.0)


def grown_cosine(known: np.ndarray, vectors: np.ndarray) -> np.ndarray:
    """cosine_similarity(vectors) given `known`, that of its first len(known) rows: only the new rows and columns
    are computed (a streamed decode adds a few steps at a time to hundreds)."""
    old = len(known)
    unit = _unit_rows(vectors)
    out = np.empty((len(vectors), len(vectors)))
    out[:old, :old] = known
    block = np.clip(unit @ unit[old:].T, -1.0, 1.0)
    out[:, old:] = block
    out[old:, :] = block.T
    return out


def _unit_rows(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.where(norms > 1e-12, norms, 1.0)


def pca_project(points: np.ndarray, others: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Project `points` and `others` onto the top two principal axes of `points` (numpy SVD).

    The projection is affine, so a convex combination of the points stays inside their hull.
    """
    mean, basis = pca_basis(points)
    return (points - mean) @ basis, (others - mean) @ basis


def pca_basis(points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(mean, the top two principal axes as columns) of `points`."""
    mean = points.mean(axis=0)
    centred = points - mean
    basis = np.zeros((points.shape[1], 2))
    if points.shape[0] >= 2 and np.any(centred):
        top = top_axes(centred, 2)
        top = top * np.sign(top[np.arange(len(top)), np.abs(top).argmax(axis=1)])[:, None]  # stable orientation
        basis[:, : len(top)] = top.T
    return mean, basis


def top_axes(centred: np.ndarray, k: int) -> np.ndarray:
    """The top-k right singular vectors (rows) of `centred`, from the eigenvectors of its smaller Gram matrix:
    a full SVD of a 500-word sentence's states stalled the window for a tenth of a second."""
    n, d = centred.shape
    if d <= n:
        values, vectors = np.linalg.eigh(centred.T @ centred)
        return vectors[:, np.argsort(values)[::-1][:k]].T
    values, vectors = np.linalg.eigh(centred @ centred.T)
    top = np.argsort(values)[::-1][:k]
    top = top[values[top] > values.max() * 1e-12]  # a rank below k has fewer axes
    return ((centred.T @ vectors[:, top]) / np.sqrt(values[top])).T


def convex_hull(points: np.ndarray) -> np.ndarray:
    """Counter-clockwise hull vertices (Andrew's monotone chain); degenerate inputs give 1–2 points."""
    unique = np.unique(np.round(points, 12), axis=0)
    if len(unique) <= 2:
        return unique
    ordered = sorted(map(tuple, unique))

    def half(seq: Sequence[tuple[float, float]]) -> list[tuple[float, float]]:
        chain: list[tuple[float, float]] = []
        for p in seq:
            while len(chain) >= 2 and _cross(chain[-2], chain[-1], p) <= 0:
                chain.pop()
            chain.append(p)
        return chain

    lower, upper = half(ordered), half(ordered[::-1])
    return np.array(lower[:-1] + upper[:-1])


def labelled_rows(weights: np.ndarray, apart: int) -> set[int]:
    """Rows to label, largest weight first, no two closer than `apart` rows (1: every row)."""
    chosen: set[int] = set()
    taken = np.zeros(len(weights), dtype=bool)  # too close to a label already placed
    for j in np.argsort(-weights, kind="stable"):
        if not taken[j]:
            chosen.add(int(j))
            taken[max(0, j - apart + 1) : j + apart] = True
    return chosen


def free_boxes(boxes: np.ndarray) -> list[int]:
    """Indices of the (left, top, width, height) boxes kept, in order, each overlapping none kept before it."""
    kept: list[int] = []
    if not len(boxes):
        return kept
    left, top = boxes[:, 0], boxes[:, 1]
    right, bottom = left + boxes[:, 2], top + boxes[:, 3]
    taken = np.zeros(len(boxes), dtype=bool)  # overlaps a box kept already
    for n in range(len(boxes)):
        if taken[n]:
            continue
        kept.append(n)
        taken |= (left < right[n]) & (left[n] < right) & (top < bottom[n]) & (top[n] < bottom)
    return kept


def _cross(o: tuple[float, float], a: tuple[float, float], b: tuple[float, float]) -> float:
    return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])


# -- the widget ---------------------------------------------------------------------------------
class LabelPool:
    """TextItems in a plot, each labelling one source position (its key), made only when more are shown than ever
    before (making one and adding it to a plot costs ~0.5 ms) and kept on the position they label while it stays
    labelled (re-texting one costs ~0.3 ms).  Hidden ones count in no auto-range."""

    def __init__(self, plot: pg.PlotItem, anchor: tuple[float, float], style: Callable[[list[pg.TextItem]], None]):
        self._plot, self._anchor, self._style = plot, anchor, style
        self.items: list[pg.TextItem] = []
        self._keys: list[int | None] = []  # what each item labels (None: hidden)

    def show(self, labels: dict[int, tuple[float, float, str]]) -> None:
        """Label each key at (x, y) with its text; every other item is hidden."""
        free = [n for n, key in enumerate(self._keys) if key not in labels]
        placed = {key: n for n, key in enumerate(self._keys) if key in labels}
        added = [pg.TextItem("", anchor=self._anchor) for _ in range(len(labels) - len(placed) - len(free))]
        for item in added:
            self._plot.addItem(item)
        self._style(added)
        free += range(len(self.items), len(self.items) + len(added))
        self.items += added
        self._keys += [None] * len(added)
        for key, (x, y, text) in labels.items():
            n = placed[key] if key in placed else free.pop(0)
            item, self._keys[n] = self.items[n], key
            item.setPos(x, y)
            if item.toPlainText() != text:
                item.setText(text)
            item.setVisible(True)
        for n in free:
            self._keys[n] = None
            self.items[n].setVisible(False)

    def shown(self) -> dict[int, pg.TextItem]:
        return {key: item for key, item in zip(self._keys, self.items, strict=True) if key is not None}


class ContextInspector(QWidget):
    shown = Signal()  # it became visible (its dock opened, or its tab raised): time to catch up with a stream

    def __init__(self, parent: QWidget | None = None, theme: str = "light", zoom: float = 1.0) -> None:
        super().__init__(parent)
        self._theme: Theme = get_theme(theme)
        self._zoom = clamp_zoom(zoom)
        self._result: DecodeResult | None = None  # the finished decode shown (None while one streams)
        self._attention = True  # the model weights the h_j (False: one fixed vector, no decomposition)
        self._source: tuple[str, ...] = ()
        self._outputs: list[str] = []  # the output tokens of the steps shown so far
        self._h = np.zeros((0, 0))
        self._context = np.zeros((0, 0))
        self._alpha = np.zeros((0, 0))
        self._h2d = np.zeros((0, 2))
        self._c2d = np.zeros((0, 2))
        self._cosine = np.zeros((0, 0))
        self._head_contexts: np.ndarray | None = None  # a transformer's (steps, L, H, d_head) cʰ; None for an RNN
        self._head_norms = np.zeros((0, 0, 0, 0))  # its (steps, L, H, T) ‖αʰ_j W_Oʰ v_j‖
        self._layer = -1  # the layer whose heads are shown
        self._norms = np.zeros(0)  # |α_ij h_j| of the selected step, per source token
        self._cloud: object = None  # the encoder states (as the engine sent them) whose PCA cloud is drawn
        self._cloud_changed = True
        self._pca_mean, self._pca_axes = np.zeros(0), np.zeros((0, 2))
        self._widths: tuple[object, np.ndarray] = (None, np.zeros(0))  # (source and font, word widths)
        self._step: int | None = None
        self._torn_down = False
        # Labels only where they are drawn (a few dozen at most), not one per source token: every pyqtgraph
        # TextItem is re-placed at each change of its view, and 500 tokens' worth stalled the window for seconds.
        self._build()
        self.set_theme(theme)
        self.set_zoom(self._zoom)

    # -- construction ------------------------------------------------------------
    def _build(self) -> None:
        self._header = QLabel("No decode yet.")
        # Clipped rather than widening the dock: a minimum width that follows the text relayouts the window.
        self._header.setMinimumWidth(1)
        self._note = QLabel(FIXED_CONTEXT_NOTE)
        self._note.setWordWrap(True)
        self._note.setVisible(False)
        self._view = pg.GraphicsLayoutWidget()
        self._dims_plot = self._view.addPlot(row=0, col=0)
        self._contrib_axis = TokenAxis("left")
        self._contrib_plot = self._view.addPlot(row=0, col=1, axisItems={"left": self._contrib_axis})
        self._pca_plot = self._view.addPlot(row=1, col=0)
        self._cos_left, self._cos_top = TokenAxis("left"), TokenAxis("top")
        self._cos_plot = self._view.addPlot(row=1, col=1, axisItems={"left": self._cos_left, "top": self._cos_top})
        self._build_items()
        self._bar_labels = LabelPool(self._contrib_plot, (0.0, 0.5), self._style_texts)  # α beside its bar
        self._point_labels = LabelPool(self._pca_plot, (0.5, 1.2), self._style_texts)  # a word above its h_j
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        for label in (self._header, self._note):
            label.setContentsMargins(8, 4, 8, 0)
            layout.addWidget(label)
        layout.addWidget(self._view, 1)

    def _build_items(self) -> None:
        for plot in self._data_plots():
            plot.hideButtons()
            plot.setMenuEnabled(False)
            plot.setMouseEnabled(x=False, y=False)
        self._dims_bars = pg.BarGraphItem(x=[], height=[], width=0.8)
        self._dims_plot.addItem(self._dims_bars)
        self._zero_line = self._dims_plot.addLine(y=0)
        self._contrib_bars = pg.BarGraphItem(x0=[], y0=[], width=[], height=[])
        self._contrib_plot.addItem(self._contrib_bars)
        self._contrib_plot.vb.sigResized.connect(self._label_bars)  # rows got thinner or thicker
        self._pca_plot.vb.sigResized.connect(self._label_points)  # points moved closer or apart
        self._contrib_plot.invertY(True)
        self._head_bars = pg.BarGraphItem(x=[], height=[], width=0.7)  # a transformer's ‖cʰ‖ per head
        self._pca_plot.addItem(self._head_bars)
        self._hull = pg.PlotDataItem()
        self._path = pg.PlotDataItem()
        self._h_points = pg.ScatterPlotItem(symbol="o")
        self._c_points = pg.ScatterPlotItem(symbol="d")
        self._c_selected = pg.ScatterPlotItem(symbol="star")
        for item in (self._hull, self._path, self._h_points, self._c_points, self._c_selected):
            self._pca_plot.addItem(item)
        self._pca_plot.setAspectLocked(True)
        self._cos_image = MatrixImage()
        self._cos_plot.addItem(self._cos_image)
        self._cos_plot.showAxis("top")
        self._cos_plot.hideAxis("bottom")
        self._cos_plot.invertY(True)
        self._cos_bar = ColourBar((-1.0, 1.0), bar_px=14)
        self._cos_bar.follow(self._cos_plot.vb)
        self._view.addItem(self._cos_bar, row=1, col=2)
        self._cos_marks = [QGraphicsRectItem(), QGraphicsRectItem()]  # the selected step's row and column
        for mark in self._cos_marks:
            mark.setZValue(10)
            self._cos_plot.addItem(mark, ignoreBounds=True)

    def _data_plots(self) -> tuple[pg.PlotItem, ...]:
        return self._dims_plot, self._contrib_plot, self._pca_plot, self._cos_plot

    # -- data --------------------------------------------------------------------
    def begin(self, start: DecodeStart) -> None:
        """A decode began: its source and h_j are known before any step (show_steps() brings the steps)."""
        self._result = None
        self._set_cloud(start.encoder_states)
        width = self._h.shape[1]
        self._load(start.source_tokens, [], np.zeros((0, len(start.source_tokens))), np.zeros((0, width)))
        self._clear_step("Decoding: no step yet.")

    def show_steps(self, records: Sequence[StepRecord], step: int) -> None:
        """The decode under way: its steps so far (after begin()), showing step `step` (call at most a few dozen
        times a second: each call with new steps adds them to the cosine matrix and the PCA path)."""
        if self._torn_down or self._result is not None:
            return
        known = len(self._outputs)
        if len(records) != known:
            grown = len(records) > known  # the steps shown so far are the first ones: only the new ones are added
            new = records[known:] if grown else records
            shape = (len(new), len(self._source))
            attention = new[0].alpha is not None
            alpha = np.array([r.alpha for r in new], dtype=np.float64).reshape(shape) if attention else None
            context = np.array([r.context for r in new], dtype=np.float64).reshape(len(new), -1)
            heads = [r.heads for r in new if r.heads is not None]
            parts = (np.stack([h.contexts for h in heads]), np.stack([h.norms for h in heads])) if heads else None
            if grown and known:
                alpha = None if alpha is None else np.vstack([self._alpha, alpha])
                context = np.vstack([self._context, context])
                if parts is not None and self._head_contexts is not None:
                    parts = (
                        np.concatenate([self._head_contexts, parts[0]]),
                        np.concatenate([self._head_norms, parts[1]]),
                    )
            self._load(self._source, [r.token for r in records], alpha, context, parts, known if grown else 0)
        self.select_step(step)

    def set_result(self, result: DecodeResult) -> None:
        self._result = result
        self._set_cloud(result.encoder_states)
        self._load(
            result.source_tokens,
            list(result.output_tokens),
            None if result.alpha is None else np.asarray(result.alpha, dtype=np.float64),
            np.asarray(result.context, dtype=np.float64),
            None if result.heads is None else (result.heads.contexts, result.heads.norms),
        )
        if result.output_tokens:
            self.select_step(0)
        else:
            self._clear_step("The decode produced no steps.")
            settle_layout(self._data_plots(), [self._view.ci])

    def _set_cloud(self, states: np.ndarray) -> None:
        """The encoder states h_j and their PCA, unless they are those shown already (the result of a decode
        brings its start's): the projection's basis comes from the h_j alone, once per decode."""
        if states is self._cloud:
            return
        self._cloud, self._cloud_changed = states, True
        self._h = np.asarray(states, dtype=np.float64)
        self._pca_mean, self._pca_axes = pca_basis(self._h)
        self._h2d = (self._h - self._pca_mean) @ self._pca_axes

    def _load(
        self,
        source: Sequence[str],
        outputs: list[str],
        alpha: np.ndarray | None,
        context: np.ndarray,
        heads: tuple[np.ndarray, np.ndarray] | None = None,
        known: int = 0,
    ) -> None:
        """The decode's numbers so far (its first len(outputs) steps), and what does not depend on the step.

        `alpha` None: the model has no attention (NaN weights: no decomposition, nothing labelled).
        `heads`: a transformer's per-head contexts (steps, L, H, d_head) and value-weighted norms (steps, L, H, T).
        `known`: the steps already loaded that these numbers begin with (their cosines are kept).
        """
        self._head_contexts = None if heads is None else np.asarray(heads[0], dtype=np.float64)
        self._head_norms = np.zeros((0, 0, 0, 0)) if heads is None else np.asarray(heads[1], dtype=np.float64)
        self._attention = alpha is not None
        self._alpha = alpha if alpha is not None else np.full((len(outputs), len(source)), np.nan)
        self._source, self._outputs, self._context = tuple(source), outputs, context
        self._step = None
        if heads is None:
            self._c2d = (context - self._pca_mean) @ self._pca_axes
        else:  # no PCA for a transformer: its output is no mix of the h_j
            self._c2d = np.zeros((0, 2))
            if len(self._h2d):
                self._h2d, self._cloud_changed = np.zeros((0, 2)), True
        self._head_bars.setOpts(x=[], height=[])
        grown = 0 < known == len(self._cosine) <= len(context)
        self._cosine = grown_cosine(self._cosine, context) if grown else cosine_similarity(context)
        note = (
            TRANSFORMER_NOTE if self.has_heads() else FIXED_CONTEXT_NOTE if self._attention else NO_DECOMPOSITION_NOTE
        )
        self._note.setText(note)
        self._note.setVisible(self.has_heads() or is_fixed_context(context) or not self._attention)
        self._pca_plot.setAspectLocked(not self.has_heads())
        self._draw_step_independent()

    def _clear_step(self, header: str) -> None:
        self._header.setText(header)
        self._dims_bars.setOpts(x=[], height=[])
        self._contrib_bars.setOpts(x0=[], y0=[], width=[], height=[])
        self._head_bars.setOpts(x=[], height=[])
        self._bar_labels.show({})
        self._point_labels.show({})
        for mark in self._cos_marks:
            mark.setRect(QRectF())
        self._style_points()

    def select_step(self, i: int | None) -> None:
        """Show decoder step i; a step not decoded (yet) is ignored."""
        if i is None or not 0 <= i < len(self._outputs) or i == self._step:
            return
        self._step = i
        self._draw_step()

    def selected_step(self) -> int | None:
        return self._step

    def has_heads(self) -> bool:
        """True when it shows a transformer's step, taken apart per head."""
        return self._head_contexts is not None

    def set_head_layer(self, layer: int) -> None:
        """Show the heads of decoder layer `layer` (-1: the last)."""
        self._layer = layer
        if self._step is not None and self.has_heads():
            self._draw_step()

    def shown_layer(self) -> int:
        """The layer whose heads are shown (for a transformer)."""
        return self._layer % max(self._head_norms.shape[1], 1)

    def head_parts(self) -> tuple[np.ndarray, np.ndarray]:
        """The selected step's (H, d_head) head contexts cʰ and (H, T) ‖αʰ_j W_Oʰ v_j‖ of the shown layer."""
        if self._head_contexts is None or self._step is None:
            return np.zeros((0, 0)), np.zeros((0, 0))
        layer = self.shown_layer()
        return self._head_contexts[self._step, layer].copy(), self._head_norms[self._step, layer].copy()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self.shown.emit()

    def streaming(self) -> bool:
        """True while it shows the steps of a decode under way (before its result)."""
        return self._result is None and bool(self._outputs)

    # -- values for tests and the main window ------------------------------------
    def current_context(self) -> np.ndarray:
        """c_i of the selected step."""
        return self._context[self._step].copy() if self._step is not None else np.zeros(0)

    def contributions(self) -> np.ndarray:
        """(T, H): row j is α_ij h_j for the selected step; the rows sum to c_i."""
        if self._step is None:
            return np.zeros((0, 0))
        return self._alpha[self._step][:, None] * self._h

    def pca_points(self) -> tuple[np.ndarray, np.ndarray]:
        """(h_j in 2-D, c_i of this decode's steps so far in 2-D), in the same projection."""
        return self._h2d.copy(), self._c2d.copy()

    def cosine_matrix(self) -> np.ndarray:
        """Cosine similarity of the c_i of this decode's steps so far."""
        return self._cosine.copy()

    def fixed_context_note(self) -> str:
        """The bottleneck note when it is shown, else ''."""
        return self._note.text() if not self._note.isHidden() else ""

    def norm_text(self) -> str:
        step = self._step
        if step is None:
            return ""
        norm = float(np.linalg.norm(self.current_context()))
        if self.has_heads():  # the records' context is the last layer's attention output
            layer = self.shown_layer()
            return f'step {step} "{self._outputs[step]}":  layer {layer};  |last layer\'s output| = {norm:.3f}'
        return f'step {step} "{self._outputs[step]}":  |c_{step}| = {norm:.3f}'

    # -- drawing -----------------------------------------------------------------
    def _draw_step_independent(self) -> None:
        """What does not change with the selected step: token labels, PCA cloud, cosine matrix."""
        source, output = self._source, self._outputs
        self._contrib_axis.set_tokens(source)
        self._cos_left.set_tokens(output)
        self._cos_top.set_tokens(output)
        # No step yet: one transparent cell (emptying pyqtgraph's items mid-stream crashed PySide later).
        cosine = self._cosine if len(output) else np.full((1, 1), np.nan)
        self._cos_image.setImage(cosine.astype(np.float32), autoLevels=False, levels=(-1.0, 1.0))
        self._cos_plot.setRange(xRange=(0, max(len(output), 1)), yRange=(0, max(len(output), 1)), padding=0)
        self._contrib_plot.setYRange(0, max(len(source), 1), padding=0)
        self._draw_pca_cloud()

    def _draw_pca_cloud(self) -> None:
        h2d, c2d = self._h2d, self._c2d
        if self._cloud_changed:  # the h_j, their hull and the view's range stay put while a decode streams
            self._cloud_changed = False
            hull = convex_hull(h2d) if len(h2d) else np.zeros((0, 2))
            closed = np.vstack([hull, hull[:1]]) if len(hull) > 2 else hull
            self._hull.setData(closed[:, 0], closed[:, 1])
            self._style_points()
            self._pca_plot.autoRange(padding=0.15)
        else:
            self._style_c_points()
        self._path.setData(c2d[:, 0], c2d[:, 1])  # the order the decoder visited them in

    def _draw_step(self) -> None:
        assert self._step is not None
        i = self._step
        norms = self._norms = self._draw_head_parts(i) if self.has_heads() else self._draw_rnn_parts(i)
        widest = max(float(norms.max(initial=0.0)), 1e-9) if self._attention else 1.0
        self._contrib_plot.setXRange(0, widest * 1.5, padding=0)  # room for the α text
        self._label_bars()
        for mark, rect in zip(self._cos_marks, self._cos_rects(i), strict=True):
            mark.setRect(rect)
        self._set_title(
            self._cos_plot,
            "cos(out<sub>i</sub>, out<sub>k</sub>)" if self.has_heads() else "cos(c<sub>i</sub>, c<sub>k</sub>)",
        )
        self._header.setText(self.norm_text())
        settle_layout(self._data_plots(), [self._view.ci])

    def _draw_rnn_parts(self, i: int) -> np.ndarray:
        """c_i per dimension, ‖α_ij h_j‖ per word, c_i among the h_j; returns the bars' lengths per word."""
        c = self._context[i]
        self._dims_bars.setOpts(x=np.arange(len(c)), height=c, width=0.8, brushes=None, brush=self._theme.accent)
        self._set_title(self._dims_plot, f"c<sub>{i}</sub> ({len(c)} dims)")
        norms = np.nan_to_num(np.linalg.norm(self.contributions(), axis=1))  # no attention: NaN, drawn as nothing
        rows = np.arange(len(norms))
        self._contrib_bars.setOpts(
            x0=np.zeros_like(norms), y0=rows + 0.15, width=norms, height=0.7, brushes=None, brush=self._theme.accent
        )
        contrib_title = f"|{alpha_symbol()}<sub>{i}j</sub> h<sub>j</sub>| per word"
        if not self._attention:  # the bars are empty: nothing weights the h_j
            contrib_title = f"no {alpha_symbol()}: c = Σ {alpha_symbol()} h does not apply"
        self._set_title(self._contrib_plot, contrib_title)
        self._style_selected_point()
        self._label_points()
        self._set_title(self._pca_plot, f"PCA: h<sub>j</sub>, c, c<sub>{i}</sub> ★")
        return norms

    def _draw_head_parts(self, i: int) -> np.ndarray:
        """A transformer's step: [c¹; …; cᴴ] as W_O reads it, ‖αʰ_j W_Oʰ v_j‖ stacked per word, ‖cʰ‖ per head;
        returns the stacked bars' lengths per word."""
        contexts, norms = self.head_parts()
        heads, width = contexts.shape
        colours = [head_colour(h) for h in range(heads)]
        self._dims_bars.setOpts(
            x=np.arange(heads * width), height=contexts.reshape(-1), width=0.8, brushes=np.repeat(colours, width)
        )
        layer = self.shown_layer()
        self._set_title(self._dims_plot, f"[c<sup>1</sup>; …; c<sup>{heads}</sup>] of layer {layer} → W<sub>O</sub>")
        starts = np.vstack([np.zeros((1, norms.shape[1])), np.cumsum(norms, axis=0)[:-1]])  # each head after the last
        rows = np.tile(np.arange(norms.shape[1]), heads)
        self._contrib_bars.setOpts(
            x0=starts.reshape(-1),
            y0=rows + 0.15,
            width=norms.reshape(-1),
            height=0.7,
            brushes=np.repeat(colours, norms.shape[1]),
        )
        self._set_title(
            self._contrib_plot,
            f"|{alpha_symbol()}<sup>h</sup><sub>j</sub> W<sub>O</sub><sup>h</sup> v<sub>j</sub>| per word, by head",
        )
        self._head_bars.setOpts(
            x=np.arange(heads), height=np.linalg.norm(contexts, axis=1), width=0.7, brushes=colours, pen=None
        )
        self._point_labels.show({})  # the plot shows heads here, not the h_j
        self._pca_plot.enableAutoRange()
        self._set_title(self._pca_plot, f"|c<sup>h</sup>| per head, layer {layer}")
        return norms.sum(axis=0)

    def _label_bars(self, *_: object) -> None:
        """α beside the bars that have room for it, the largest weights first: with many source tokens the
        rows are thinner than a line of text, and a label on every one would pile up (then weights that
        round to 0.00 go unlabelled)."""
        step = self._step
        if step is None or self._torn_down or len(self._norms) != self._alpha.shape[1]:
            return  # no step shown, or a decode half set
        alpha = np.nan_to_num(self._alpha[step], nan=-1.0)  # no attention: no α to label (NaN → never labelled)
        rows_px = self._contrib_plot.vb.height() / max(len(alpha), 1)
        line_px = QFontMetricsF(self._font(0.9)).height()
        apart = max(1, math.ceil(line_px / rows_px - 1e-9)) if rows_px > 0 else 1
        labelled = labelled_rows(alpha, apart)
        if apart > 1:  # crowded: a row of "α = 0.00" says less than the room it takes
            labelled = {j for j in labelled if alpha[j] >= 0.005}
        labelled = {j for j in labelled if alpha[j] >= 0}  # no attention: nothing to label
        self._bar_labels.show(
            {j: (float(self._norms[j]), j + 0.5, f" {alpha_symbol()} = {alpha[j]:.2f}") for j in labelled}
        )

    def _label_points(self, *_: object) -> None:
        """Word labels on the h_j points that cover no label already placed, the tokens the selected step
        attends to most first: with many source tokens the cloud is denser than its words."""
        step, words = self._step, self._source
        if self._torn_down or step is None or len(words) != len(self._h2d) or step >= len(self._alpha):
            return
        vb, metrics = self._pca_plot.vb, QFontMetricsF(self._font(0.9))
        # The view maps linearly onto the device (no rotation): two points give every point's pixel.
        origin, unit = vb.mapViewToDevice(QPointF(0.0, 0.0)), vb.mapViewToDevice(QPointF(1.0, 1.0))
        if origin is None or unit is None:
            return  # not laid out yet
        order = np.argsort(-self._alpha[step], kind="stable")
        x = origin.x() + self._h2d[order, 0] * (unit.x() - origin.x())
        y = origin.y() + self._h2d[order, 1] * (unit.y() - origin.y())
        width = self._word_widths(metrics)[order]
        height = metrics.height()
        boxes = np.column_stack([x - width / 2, y - 1.2 * height, width, np.full(len(order), height)])  # anchor
        placed = (int(order[n]) for n in free_boxes(boxes))
        self._point_labels.show({j: (float(self._h2d[j, 0]), float(self._h2d[j, 1]), words[j]) for j in placed})

    def _word_widths(self, metrics: QFontMetricsF) -> np.ndarray:
        """Each source word's width in the labels' font (measured once per source and font)."""
        key = (self._source, metrics.height(), metrics.averageCharWidth())
        if self._widths[0] != key:
            self._widths = (key, np.array([metrics.horizontalAdvance(word) for word in self._source]))
        return self._widths[1]

    def labelled_points(self) -> list[int]:
        """The h_j points that show their word, in order (for tests)."""
        return sorted(self._point_labels.shown())

    def labelled_bars(self) -> list[int]:
        """The rows whose bar shows its α, in order (for tests)."""
        return sorted(self._bar_labels.shown())

    def point_labels(self) -> dict[int, tuple[str, QRectF]]:
        """{source position: (its word, the label's box in the scene)} for the h_j points labelled (for tests)."""
        return {j: (item.toPlainText(), item.sceneBoundingRect()) for j, item in self._point_labels.shown().items()}

    def label_font(self) -> QFont:
        """The font of the labels in the plots."""
        return self._font(0.9)

    def _set_title(self, plot: pg.PlotItem, html: str) -> None:
        """Set a plot title (styled by _style_titles, which set_theme/set_zoom run), unless it is the same."""
        label = plot.titleLabel
        if label.text != html or not label.isVisible():
            plot.setTitle(html)

    def _cos_rects(self, i: int) -> tuple[QRectF, QRectF]:
        n = len(self._cosine)
        return QRectF(0, i, n, 1), QRectF(i, 0, 1, n)

    # -- look --------------------------------------------------------------------
    def _font(self, scale: float = 1.0) -> QFont:
        return ui_font(BASE_POINT_SIZE * scale, self._zoom)

    def set_zoom(self, factor: float) -> None:
        self._zoom = clamp_zoom(factor)
        font = self._font()
        self._header.setFont(self._font(1.15))
        self._note.setFont(self._font(1.15))
        # Room for the two columns of plots: a dock opens at its minimum width (the header no longer sets it).
        self.setMinimumWidth(round(QFontMetricsF(font).horizontalAdvance("M") * MIN_WIDTH_EMS))
        for plot in self._data_plots():
            for name in AXES:
                axis = plot.getAxis(name)
                if isinstance(axis, TokenAxis):
                    axis.set_font(font)
                else:
                    axis.setTickFont(font)
        metrics = QFontMetricsF(font)
        self._cos_bar.set_font(font, bar_px=round(14 * self._zoom))
        self._view.ci.setContentsMargins(6, 6, 6, round(metrics.height() / 2) + 2)
        self._style_texts(self._bar_labels.items + self._point_labels.items)
        self._style_points()
        self._style_titles()

    def set_theme(self, name: str) -> None:
        self._theme = get_theme(name)
        theme = self._theme
        self._view.setBackground(theme.plot_background)
        for plot in self._data_plots():
            for axis_name in AXES:
                plot.getAxis(axis_name).setPen(theme.plot_foreground)
                plot.getAxis(axis_name).setTextPen(theme.plot_foreground)
        self._dims_bars.setOpts(brush=theme.accent, pen=None)
        self._contrib_bars.setOpts(brush=theme.accent, pen=None)
        lut = lookup_table(theme.scores_colormap)
        self._cos_image.setLookupTable(lut)
        self._cos_bar.set_colours(lut)
        self._cos_bar.set_colour(theme.plot_foreground)
        self._zero_line.setPen(pg.mkPen(theme.muted, width=1))
        self._note.setStyleSheet(
            f"background: {theme.selection}; color: {theme.plot_background}; font-weight: bold; padding: 4px;"
        )
        self._style_texts(self._bar_labels.items + self._point_labels.items)
        self._style_points()
        self._style_titles()

    def _style_texts(self, items: list[pg.TextItem]) -> None:
        font = self._font(0.9)
        for item in items:
            item.setFont(font)
            item.setColor(self._theme.plot_foreground)

    def _style_points(self) -> None:
        theme, z = self._theme, self._zoom
        h_colour, c_colour = theme.point_colors
        self._h_points.setData(pos=self._h2d, size=10 * z, brush=symbol_brush(h_colour), pen=symbol_pen(None))
        self._path.setPen(pg.mkPen(c_colour, width=1.0 * z))
        self._hull.setPen(pg.mkPen(theme.muted, width=1.5 * z, style=Qt.PenStyle.DashLine))
        self._style_c_points()
        pen = QPen(QColor(theme.selection), 2.5 * z)
        pen.setCosmetic(True)
        for mark in self._cos_marks:
            mark.setPen(pen)

    def _style_c_points(self) -> None:
        """The c_i points and the selected one (the h_j stay as they are)."""
        _, c_colour = self._theme.point_colors
        size, brush = 8 * self._zoom, symbol_brush(c_colour)
        self._c_points.setData(pos=self._c2d, size=size, brush=brush, pen=symbol_pen(None))
        self._style_selected_point()

    def _style_selected_point(self) -> None:
        theme, z, i = self._theme, self._zoom, self._step
        star = self._c2d[i : i + 1] if i is not None and i < len(self._c2d) else np.zeros((0, 2))
        pen, brush = symbol_pen(theme.plot_foreground), symbol_brush(theme.selection)  # the same objects each time
        self._c_selected.setData(pos=star, size=22 * z, brush=brush, pen=pen)

    def _style_titles(self) -> None:
        size = f"{BASE_POINT_SIZE * self._zoom:.0f}pt"
        for plot in self._data_plots():
            label = plot.titleLabel
            label.setText(label.text, size=size, color=self._theme.plot_foreground)
            label.item.setFont(self._font())

    # -- lifetime ----------------------------------------------------------------
    def teardown(self) -> None:
        """Release the pyqtgraph items in order; call before the app exits."""
        if self._torn_down:
            return
        self._torn_down = True
        release_view(self._view)
