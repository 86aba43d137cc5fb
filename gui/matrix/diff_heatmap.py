"""A difference of two α matrices (after − before) on a diverging colour map with symmetric levels.

Rows are output steps, columns source tokens, as in the attention heatmap; NaN cells (a step or a
word only one side has) are drawn transparent.  0 sits at the colour map's neutral midpoint.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QFontMetricsF, QPen
from PySide6.QtWidgets import QGraphicsRectItem, QLabel, QVBoxLayout, QWidget

from gui.matrix.colour_bar import ColourBar
from gui.matrix.heatmap import TokenAxis, display_copy, score_levels
from gui.matrix.matrix_image import MatrixImage
from gui.matrix.plot_lifetime import release_view
from gui.style.fonts import BASE_POINT_SIZE, alpha_symbol, ui_font
from gui.style.theme import Theme, clamp_zoom, get_theme, lookup_table


class DiffHeatmap(QWidget):
    """`step_selected` is emitted for a user click only; `select_step` marks a row silently."""

    step_selected = Signal(int)

    def __init__(self, parent: QWidget | None = None, theme: str = "light", zoom: float = 1.0) -> None:
        super().__init__(parent)
        self._theme: Theme = get_theme(theme)
        self._zoom = clamp_zoom(zoom)
        self._diff = np.zeros((0, 0), np.float32)
        self._source: list[str] = []
        self._steps: list[str] = []
        self._selected: int | None = None
        self._torn_down = False
        self._build()
        self.set_theme(theme)
        self.set_zoom(self._zoom)

    def _build(self) -> None:
        self._view = pg.GraphicsLayoutWidget()
        self._left, self._top = TokenAxis("left"), TokenAxis("top")
        self._plot = self._view.addPlot(row=0, col=0, axisItems={"left": self._left, "top": self._top})
        self._plot.showAxis("top")
        self._plot.hideAxis("bottom")
        self._plot.hideButtons()
        self._plot.setMenuEnabled(False)
        self._plot.setMouseEnabled(x=False, y=False)
        self._plot.invertY(True)
        self._plot.vb.setDefaultPadding(0.0)
        self._image = MatrixImage()
        self._plot.addItem(self._image)
        self._selection = QGraphicsRectItem()
        self._selection.setZValue(10)
        self._selection.setVisible(False)
        self._plot.addItem(self._selection, ignoreBounds=True)
        self._colorbar = ColourBar((-1.0, 1.0))
        self._colorbar.follow(self._plot.vb)
        self._view.addItem(self._colorbar, row=0, col=1)
        self._view.scene().sigMouseClicked.connect(self._on_clicked)
        self._view.scene().sigMouseMoved.connect(self._on_moved)
        self._readout = QLabel("")
        self._readout.setContentsMargins(8, 2, 8, 4)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self._view, 1)
        layout.addWidget(self._readout)

    # -- data --------------------------------------------------------------------------------
    def set_difference(self, diff: np.ndarray, source_labels: Sequence[str], step_labels: Sequence[str]) -> None:
        """`diff` is (steps, source) = after − before; the labels name its rows and columns."""
        if diff.shape != (len(step_labels), len(source_labels)):
            raise ValueError(f"difference {diff.shape} does not match labels {(len(step_labels), len(source_labels))}")
        self._diff = display_copy(diff)
        self._source, self._steps = list(source_labels), list(step_labels)
        if self._selected is not None and self._selected >= len(self._steps):
            self._selected = None
        self._redraw()

    def clear(self) -> None:
        self.set_difference(np.zeros((0, 0)), [], [])

    def _redraw(self) -> None:
        if self._torn_down:
            return
        levels = self.levels()
        if self._diff.size:
            self._image.setImage(self._diff, autoLevels=False, levels=levels)
        else:
            self._image.clear()
        self._colorbar.set_levels(levels)
        self._top.set_tokens(self._source)
        self._left.set_tokens(self._steps)
        rows, cols = max(len(self._steps), 1), max(len(self._source), 1)
        self._plot.vb.setLimits(xMin=0, xMax=cols, yMin=0, yMax=rows)
        self._plot.vb.setRange(xRange=(0, cols), yRange=(0, rows), padding=0)
        self._update_selection()
        self._readout.setText(self.summary())

    def levels(self) -> tuple[float, float]:
        """Symmetric around 0, from the largest finite |Δ|."""
        return score_levels(self._diff)

    def image_data(self) -> np.ndarray:
        image = self._image.image
        return np.zeros((0, len(self._source)), np.float32) if image is None else np.array(image, copy=True)

    def axis_labels(self) -> tuple[list[str], list[str]]:
        return self._top.labels(), self._left.labels()

    def difference(self) -> np.ndarray:
        """A copy of the difference shown (steps × source), NaN where a side has no cell."""
        return self._diff.copy()

    def theme(self) -> str:
        return self._theme.name

    def zoom(self) -> float:
        return self._zoom

    def summary(self) -> str:
        finite = self._diff[np.isfinite(self._diff)]
        if not finite.size:
            return "No difference to show yet." if not self._diff.size else "The two decodes share no cells."
        return f"largest change |Δ{alpha_symbol()}| = {np.abs(finite).max():.3f}; red: more attention, blue: less"

    # -- selection ---------------------------------------------------------------------------
    def select_step(self, i: int | None) -> None:
        self._selected = i if i is not None and 0 <= i < len(self._steps) else None
        self._update_selection()

    def selected_step(self) -> int | None:
        return self._selected

    def _update_selection(self) -> None:
        self._selection.setVisible(self._selected is not None)
        if self._selected is not None:
            self._selection.setRect(QRectF(0, self._selected, len(self._source), 1))

    def _cell_at(self, scene_pos: QPointF) -> tuple[int, int] | None:
        vb = self._plot.vb
        if not vb.sceneBoundingRect().contains(scene_pos):
            return None
        point = vb.mapSceneToView(scene_pos)
        i, j = math.floor(point.y()), math.floor(point.x())
        return (i, j) if 0 <= i < len(self._steps) and 0 <= j < len(self._source) else None

    def cell_center(self, step: int, source_index: int) -> QPointF:
        return self._plot.vb.mapViewToScene(QPointF(source_index + 0.5, step + 0.5))

    def _on_clicked(self, event: object) -> None:
        if event.button() != Qt.MouseButton.LeftButton:  # type: ignore[attr-defined]
            return
        cell = self._cell_at(event.scenePos())  # type: ignore[attr-defined]
        if cell is not None:
            self.select_step(cell[0])
            self.step_selected.emit(cell[0])

    def _on_moved(self, scene_pos: QPointF) -> None:
        cell = self._cell_at(scene_pos)
        if cell is None:
            self._readout.setText(self.summary())
            return
        i, j = cell
        value = self._diff[i, j]
        shown = "no data" if not np.isfinite(value) else f"{value:+.3f}"
        self._readout.setText(f'step {i} "{self._steps[i]}", "{self._source[j]}": Δ{alpha_symbol()} = {shown}')

    # -- look --------------------------------------------------------------------------------
    def set_theme(self, name: str) -> None:
        self._theme = get_theme(name)
        theme = self._theme
        self._view.setBackground(theme.plot_background)
        for axis in (self._left, self._top):
            axis.setPen(theme.plot_foreground)
            axis.setTextPen(theme.plot_foreground)
        self._colorbar.set_colour(theme.plot_foreground)
        self._plot.vb.setBorder(pg.mkPen(theme.plot_foreground, width=1))
        lut = lookup_table(theme.scores_colormap)
        self._image.setLookupTable(lut)
        self._colorbar.set_colours(lut)
        pen = QPen(QColor(theme.selection), 3.0 * self._zoom)
        pen.setCosmetic(True)
        self._selection.setPen(pen)
        self._redraw()

    def set_zoom(self, factor: float) -> None:
        self._zoom = clamp_zoom(factor)
        font = ui_font(BASE_POINT_SIZE, self._zoom)
        for axis in (self._left, self._top):
            axis.set_font(font)
        metrics = QFontMetricsF(font)
        self._colorbar.set_font(font, bar_px=round(22 * self._zoom))
        self._colorbar.set_title(f"Δ{alpha_symbol()}")
        self._view.ci.setContentsMargins(6, 6, 6, math.ceil(metrics.height() / 2) + 2)
        self._readout.setFont(font)
        self.set_theme(self._theme.name)

    # -- lifetime -----------------------------------------------------------------
    def teardown(self) -> None:
        if self._torn_down:
            return
        self._torn_down = True
        scene = self._view.scene()
        scene.sigMouseClicked.disconnect(self._on_clicked)
        scene.sigMouseMoved.disconnect(self._on_moved)
        release_view(self._view)
