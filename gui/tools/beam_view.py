"""The beam explorer: the search tree of a beam decode, and the α matrix of any finished hypothesis.

Every candidate the search scored is a node at (step, row), labelled with its token and cumulative
log probability: filled circles were kept (extended), hollow grey ones pruned, stars finished a
hypothesis.  Choosing a hypothesis (in the list, or by clicking its star) outlines its path and
shows its attention in a heatmap: for a transformer, the view of its heads the window's Heads panel
has chosen (set_head_view), with a caption that says which.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtGui import QFont, QFontMetricsF
from PySide6.QtWidgets import (
    QDoubleSpinBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QPushButton,
    QSpinBox,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from engine import BeamNode, DecodeResult, HeadChoice, frozen_array, viewed_result
from gui.bridge.engine_client import EngineClient
from gui.bridge.engine_controller import EngineController
from gui.matrix.heatmap import HeatmapWidget
from gui.matrix.plot_lifetime import discard_items, release_view
from gui.style.fonts import BASE_POINT_SIZE, ui_font
from gui.style.theme import Theme, clamp_zoom, get_theme, symbol_brush, symbol_pen

FINISHED_COLOUR = "#2ca02c"
LEGEND = "● kept (extended)   ○ pruned   ★ finished;  each node: token and cumulative log p"
MIN_HEATMAP_HEIGHT = 200
MAX_LABELS = 400  # beyond this many nodes only kept and finished ones are labelled


def log_p(value: float) -> str:
    """Two decimals, without the "-0.00" a near-certain token's log p rounds to."""
    text = f"{value:.2f}"
    return "0.00" if text == "-0.00" else text


def score_rule(result: DecodeResult) -> str:
    """How the hypotheses are ranked, with the penalty this search used."""
    penalty = result.hypotheses[0].length_penalty if result.hypotheses else 1.0
    return f"Ranked by score = log p / length^{penalty:g} (length penalty {penalty:g})."


def node_path(tree: Sequence[BeamNode], index: int) -> tuple[str, ...]:
    """Tokens from the first step to node `index`."""
    tokens: list[str] = []
    while index != -1:
        tokens.append(tree[index].token)
        index = tree[index].parent
    return tuple(reversed(tokens))


def tree_layout(tree: Sequence[BeamNode]) -> np.ndarray:
    """(x, y) per node: x is the step; within a step, nodes sit in their parents' order, best first."""
    pos = np.zeros((len(tree), 2))
    for step in sorted({n.step for n in tree}):
        nodes = [n for n in tree if n.step == step]
        nodes.sort(key=lambda n: (pos[n.parent, 1] if n.parent >= 0 else 0.0, -n.log_prob))
        for rank, n in enumerate(nodes):
            pos[n.index] = (step, rank - (len(nodes) - 1) / 2)
    return pos


def hypothesis_result(
    result: DecodeResult, k: int, choice: HeadChoice | None = None, hide_sinks: bool = False
) -> DecodeResult:
    """Hypothesis k as a DecodeResult a HeatmapWidget can show (an RNN's: no scores, beam keeps α only).  A
    transformer's shows `choice` of its heads (and their scores), sinks hidden or not; None: its α as decoded."""
    h = result.hypotheses[k]
    if h.alpha is None:  # no attention: the one fixed vector (every step's c is the same)
        context = frozen_array(np.repeat(result.context[:1], len(h.tokens), axis=0))
        return result._replace(output_tokens=h.tokens, context=context, topk=(), token_probs=_nan(len(h.tokens)))
    shown = result._replace(
        output_tokens=h.tokens,
        alpha=h.alpha,
        scores=frozen_array(np.full(h.alpha.shape, np.nan)),
        context=frozen_array(h.alpha @ result.encoder_states),
        topk=(),
        token_probs=_nan(len(h.tokens)),
        text=" ".join(h.tokens),
        heads=h.heads,
    )
    return viewed_result(shown, choice, hide_sinks) if choice is not None and h.heads is not None else shown


def _nan(count: int) -> np.ndarray:
    return frozen_array(np.full(count, np.nan))


class BeamExplorer(QWidget):
    """Shows a beam result's tree; can ask the engine (through `controller`) for a beam decode of its own."""

    result_ready = Signal(object)  # a beam DecodeResult it decoded itself

    def __init__(
        self, controller: EngineController, parent: QWidget | None = None, theme: str = "light", zoom: float = 1.0
    ) -> None:
        super().__init__(parent)
        self._theme: Theme = get_theme(theme)
        self._zoom = clamp_zoom(zoom)
        self.result: DecodeResult | None = None
        self._source_text = ""
        self._labels: list[pg.TextItem] = []
        self._labelled: list[BeamNode] = []  # the nodes the labels belong to
        self._positions = np.zeros((0, 2))
        self._head_view: tuple[HeadChoice | None, bool, str] = (None, False, "")  # choice, sinks hidden, caption
        self._torn_down = False
        self.client = EngineClient(controller, self)
        self.client.finished.connect(self._on_finished)
        self.client.failed.connect(self._on_failed)
        self.client.lost.connect(self._on_lost)
        self._build()
        self.set_zoom(self._zoom)

    def _build(self) -> None:
        self.width_box = QSpinBox(self)
        self.width_box.setRange(1, 16)
        self.width_box.setValue(4)
        self.penalty_box = QDoubleSpinBox(self)
        self.penalty_box.setRange(0.0, 3.0)
        self.penalty_box.setSingleStep(0.1)
        self.penalty_box.setDecimals(2)
        self.penalty_box.setValue(1.0)
        self.penalty_box.setToolTip("score = log p / length^penalty (0: plain log p, which favours short outputs)")
        self.run_button = QPushButton("Run beam search", self)
        self.run_button.clicked.connect(self.run_beam)
        self.run_button.setEnabled(False)
        self.status = QLabel("Decode a sentence first (or choose beam search in the main window).", self)
        self.status.setWordWrap(True)
        self.plot = pg.PlotWidget()
        self.plot.hideButtons()
        self.plot.setMenuEnabled(False)
        self.plot.invertY(True)
        self.plot.getPlotItem().hideAxis("left")
        self.plot.setLabel("bottom", "decoder step")
        self.plot.getAxis("bottom").setTickSpacing(major=1, minor=1)  # steps are whole numbers
        self._edges_kept, self._edges_pruned, self._path = pg.PlotDataItem(), pg.PlotDataItem(), pg.PlotDataItem()
        self._nodes = pg.ScatterPlotItem(hoverable=True)
        for item in (self._edges_pruned, self._edges_kept, self._path, self._nodes):
            self.plot.addItem(item)
        self._nodes.sigClicked.connect(self._on_node_clicked)
        self.plot.getPlotItem().getViewBox().sigResized.connect(self._on_view_resized)
        self.hypotheses = QListWidget(self)
        self.hypotheses.currentRowChanged.connect(self.select_hypothesis)
        self.heatmap = HeatmapWidget(self, self._theme.name, self._zoom, show_readout=False)
        self.heatmap.setMinimumHeight(MIN_HEATMAP_HEIGHT)
        self.output_label = QLabel(self)
        self.output_label.setWordWrap(True)
        self._lay_out()

    def _lay_out(self) -> None:
        top = QHBoxLayout()
        for widget in (
            QLabel("Beam width", self),
            self.width_box,
            QLabel("Length penalty", self),
            self.penalty_box,
            self.run_button,
        ):
            top.addWidget(widget)
        top.addStretch(1)
        side = QWidget(self)
        column = QVBoxLayout(side)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(QLabel("Finished hypotheses (best first):", self))
        column.addWidget(self.hypotheses, 1)
        column.addWidget(self.output_label)
        column.addWidget(self.heatmap, 3)
        splitter = QSplitter(Qt.Orientation.Horizontal, self)  # docks at the bottom are wide and low
        splitter.addWidget(self.plot)
        splitter.addWidget(side)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 6, 8, 4)
        layout.addLayout(top)
        layout.addWidget(self.status)
        layout.addWidget(splitter, 1)

    # -- inputs ------------------------------------------------------------------------------
    def set_original(self, result: DecodeResult, source_text: str) -> None:
        """The main view's decode: shown at once if it was a beam search, else offered as "Run beam search"."""
        self._source_text = source_text
        self.run_button.setEnabled(True)
        if result.beam_tree:
            self.set_result(result)
        else:
            self.status.setText("The main view's decode is not a beam search: run one here.")

    def clear(self) -> None:
        self.client.cancel()
        self._source_text = ""
        self.run_button.setEnabled(False)
        self.result = None
        self.hypotheses.clear()
        self._draw_tree(())

    @Slot()
    def run_beam(self) -> None:
        if self._source_text and self.client.submit(
            self._source_text,
            strategy="beam",
            beam_width=self.width_box.value(),
            length_penalty=self.penalty_box.value(),
        ):
            self.status.setText("Searching…")

    @Slot(object)
    def _on_finished(self, result: DecodeResult) -> None:
        self.set_result(result)
        self.result_ready.emit(result)

    @Slot(str)
    def _on_failed(self, message: str) -> None:
        self.status.setText(message)

    @Slot()
    def _on_lost(self) -> None:
        self.status.setText("Interrupted by another decode.")

    def set_result(self, result: DecodeResult) -> None:
        self.result = result
        tree = result.beam_tree
        kept = sum(n.status == "kept" for n in tree)
        counts = f"{len(tree)} candidates scored, {kept} kept, {len(result.hypotheses)} hypotheses."
        self.status.setText(f"{counts}  {score_rule(result)}\n{LEGEND}")
        self._draw_tree(tree)
        self.hypotheses.blockSignals(True)
        self.hypotheses.clear()
        for rank, h in enumerate(result.hypotheses, 1):
            numbers = f"log p {log_p(h.log_prob)}, score {log_p(h.score)}"
            self.hypotheses.addItem(f"{rank}.  {' '.join(h.tokens)}    {numbers}")
        self.hypotheses.blockSignals(False)
        if result.hypotheses:
            self.hypotheses.setCurrentRow(0)

    def hypothesis_texts(self) -> list[str]:
        return [self.hypotheses.item(i).text() for i in range(self.hypotheses.count())]

    # -- the tree ----------------------------------------------------------------------------
    def _draw_tree(self, tree: Sequence[BeamNode]) -> None:
        self._positions = tree_layout(tree)
        pos, theme = self._positions, self._theme
        status = [n.status for n in tree]
        kept_edges, pruned_edges = self._edges(tree, pos)
        self._edges_kept.setData(*kept_edges, connect="pairs", pen=pg.mkPen(theme.plot_foreground, width=1.5))
        self._edges_pruned.setData(
            *pruned_edges, connect="pairs", pen=pg.mkPen(theme.muted, width=1, style=Qt.PenStyle.DashLine)
        )
        spots = [self._spot(n, p) for n, p in zip(tree, pos, strict=True)]
        self._nodes.setData(spots=spots)
        self._path.setData([], [])
        discard_items(self.plot.getPlotItem(), self._labels)
        show_all = len(tree) <= MAX_LABELS
        self._labelled = [n for n, s in zip(tree, status, strict=True) if show_all or s != "pruned"]
        self._labels = [self._label(n, pos[n.index]) for n in self._labelled]
        self.plot.autoRange(padding=0.08)
        if len(tree):  # room on the right for the last step's labels
            self.plot.setXRange(-0.3, max(n.step for n in tree) + 0.9, padding=0)
        self._relabel()

    def _edges(self, tree: Sequence[BeamNode], pos: np.ndarray) -> tuple[tuple[list[float], list[float]], ...]:
        kept: tuple[list[float], list[float]] = ([], [])
        pruned: tuple[list[float], list[float]] = ([], [])
        for n in tree:
            if n.parent < 0:
                continue
            xs, ys = kept if n.status != "pruned" else pruned
            (x0, y0), (x1, y1) = pos[n.parent], pos[n.index]
            xs.extend((x0, x1))
            ys.extend((y0, y1))
        return kept, pruned

    def _spot(self, n: BeamNode, p: np.ndarray) -> dict[str, Any]:
        theme, z = self._theme, self._zoom
        style = {
            "kept": ("o", symbol_brush(theme.accent), symbol_pen(theme.accent), 11),
            "pruned": ("o", symbol_brush(theme.plot_background), symbol_pen(theme.muted, 1.5), 9),
            "finished": ("star", symbol_brush(FINISHED_COLOUR), symbol_pen(FINISHED_COLOUR), 18),
        }[n.status]
        symbol, brush, pen, size = style
        return {
            "pos": (float(p[0]), float(p[1])),
            "data": n.index,
            "symbol": symbol,
            "brush": brush,
            "pen": pen,
            "size": size * z,
        }

    def _label(self, n: BeamNode, p: np.ndarray) -> pg.TextItem:
        colour = self._theme.muted if n.status == "pruned" else self._theme.plot_foreground
        item = pg.TextItem("", color=colour, anchor=(-0.08, 0.5))
        item.setFont(self._label_font())
        item.setPos(float(p[0]), float(p[1]))
        self.plot.addItem(item)
        return item

    def _label_font(self) -> QFont:
        return ui_font(BASE_POINT_SIZE * 0.85, self._zoom)

    def _relabel(self) -> None:
        """ "token  log p" on one line where steps are wide apart, on two where rows are (narrow views)."""
        if not self._labels:
            return
        metrics = QFontMetricsF(self._label_font())
        widest = max(metrics.horizontalAdvance(f"{n.token}  {log_p(n.log_prob)}") for n in self._labelled)
        x_px, y_px = self._pixels_per_unit()
        two_lines = widest + 16 > x_px and y_px > 2.2 * metrics.height()
        for item, n in zip(self._labels, self._labelled, strict=True):
            item.setText(f"{n.token}\n{log_p(n.log_prob)}" if two_lines else f"{n.token}  {log_p(n.log_prob)}")

    def _pixels_per_unit(self) -> tuple[float, float]:
        """Screen pixels per step (x) and per row (y) in the tree plot now."""
        vb = self.plot.getPlotItem().getViewBox()
        (x0, x1), (y0, y1) = vb.viewRange()
        rect = vb.sceneBoundingRect()
        return rect.width() / max(x1 - x0, 1e-9), rect.height() / max(y1 - y0, 1e-9)

    @Slot(object)
    def _on_view_resized(self, _view: object) -> None:
        self._relabel()

    @Slot(object, object, object)
    def _on_node_clicked(self, _item: object, points: Sequence[Any], _event: object) -> None:
        if self.result is None or not len(points):
            return
        node = self.result.beam_tree[int(points[0].data())]
        if node.status == "finished":
            path = node_path(self.result.beam_tree, node.index)
            for k, h in enumerate(self.result.hypotheses):
                if h.tokens == path:
                    self.hypotheses.setCurrentRow(k)

    # -- hypotheses --------------------------------------------------------------------------
    @Slot(int)
    def select_hypothesis(self, k: int) -> None:
        if self.result is None or not 0 <= k < len(self.result.hypotheses):
            return
        choice, hide_sinks, caption = self._head_view
        h = self.result.hypotheses[k]
        self.heatmap.set_result(hypothesis_result(self.result, k, choice, hide_sinks))
        self.heatmap.set_caption(caption if h.heads is not None else "")
        length = f"length {len(h.tokens)}, penalty {h.length_penalty:g}"
        scores = f"log p = {log_p(h.log_prob)}, score = log p / length^penalty = {log_p(h.score)} ({length})"
        self.output_label.setText(f"#{k + 1}: {' '.join(h.tokens)}\n{scores}")
        self._outline_path(h.tokens)

    def set_head_view(self, choice: HeadChoice | None, hide_sinks: bool = False, caption: str = "") -> None:
        """A transformer's hypotheses show `choice` of their heads, said by `caption` (the window's Heads panel)."""
        self._head_view = (choice, hide_sinks, caption)
        if self.result is not None:
            self.select_hypothesis(self.hypotheses.currentRow())

    def _outline_path(self, tokens: tuple[str, ...]) -> None:
        assert self.result is not None
        tree = self.result.beam_tree
        end = next((n.index for n in tree if n.status == "finished" and node_path(tree, n.index) == tokens), None)
        xs, ys = [], []
        while end is not None and end != -1:
            xs.append(self._positions[end, 0])
            ys.append(self._positions[end, 1])
            end = tree[end].parent
        self._path.setData(xs, ys, pen=pg.mkPen(self._theme.selection, width=4 * self._zoom))

    # -- look and lifetime -------------------------------------------------------------------
    def set_theme(self, name: str) -> None:
        self._theme = get_theme(name)
        self.plot.setBackground(self._theme.plot_background)
        for axis in ("bottom", "left"):
            self.plot.getAxis(axis).setPen(self._theme.plot_foreground)
            self.plot.getAxis(axis).setTextPen(self._theme.plot_foreground)
        self.heatmap.set_theme(name)
        self._redraw()

    def set_zoom(self, factor: float) -> None:
        self._zoom = clamp_zoom(factor)
        font = ui_font(BASE_POINT_SIZE, self._zoom)
        self.setFont(font)
        self.plot.getAxis("bottom").setTickFont(font)
        self.plot.getAxis("bottom").label.setFont(font)
        self.heatmap.set_zoom(self._zoom)
        self.set_theme(self._theme.name)

    def _redraw(self) -> None:
        if self.result is not None:
            row = self.hypotheses.currentRow()
            self._draw_tree(self.result.beam_tree)
            self.select_hypothesis(row)

    def teardown(self) -> None:
        if self._torn_down:
            return
        self._torn_down = True
        self.client.detach()
        self._nodes.sigClicked.disconnect(self._on_node_clicked)
        self.plot.getPlotItem().getViewBox().sigResized.disconnect(self._on_view_resized)
        release_view(self.plot)
        self.heatmap.teardown()
