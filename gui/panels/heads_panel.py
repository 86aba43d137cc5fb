"""A transformer's heads: the grid of every layer's and head's cross-attention, and the choice of the map the
main heatmap shows (one head, a layer's mean, the mean of all, the maximum; α or value-weighted norms; attention
sinks hidden or not)."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Signal, Slot
from PySide6.QtWidgets import QCheckBox, QComboBox, QHBoxLayout, QLabel, QSpinBox, QVBoxLayout, QWidget

from engine import VIEW_KINDS, DecodeResult, HeadChoice, StepRecord, describe_view
from gui.matrix.head_grid import HeadGrid

KIND_NAMES = {"head": "one head", "layer": "mean of a layer's heads", "all": "mean of all heads", "max": "maximum"}


class HeadsPanel(QWidget):
    choice_changed = Signal()  # the view or the sink hiding changed: the main heatmap shows it

    def __init__(self, parent: QWidget | None = None, theme: str = "light", zoom: float = 1.0) -> None:
        super().__init__(parent)
        self.grid = HeadGrid(self, theme, zoom)
        self.kind = QComboBox(self)
        for kind in VIEW_KINDS:
            self.kind.addItem(KIND_NAMES[kind], kind)
        self.kind.setCurrentIndex(VIEW_KINDS.index("layer"))
        self.layer, self.head = QSpinBox(self), QSpinBox(self)
        self.norms = QCheckBox("value-weighted norms ‖α W_O v‖", self)
        self.hide_sinks = QCheckBox("hide sinks (end token, punctuation)", self)
        self.caption = QLabel(self)  # what the main heatmap shows, in words
        self.caption.setWordWrap(True)
        self.readout = QLabel("Click a head to show it in the main heatmap.", self)
        self.readout.setWordWrap(True)
        self._build()
        self.set_layout_shape(0, 0)

    def _build(self) -> None:
        row = QHBoxLayout()
        for label, widget in (("show", self.kind), ("layer", self.layer), ("head", self.head)):
            row.addWidget(QLabel(label, self))
            row.addWidget(widget)
        row.addStretch(1)
        options = QVBoxLayout()  # one per line: the dock stays narrow enough for a 1366-pixel screen
        options.addWidget(self.norms)
        options.addWidget(self.hide_sinks)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 4, 6, 4)
        for part in (row, options):
            layout.addLayout(part)
        layout.addWidget(self.caption)
        layout.addWidget(self.grid, 1)
        layout.addWidget(self.readout)
        for signal in (self.kind.currentIndexChanged, self.layer.valueChanged, self.head.valueChanged):
            signal.connect(self._on_choice)
        for box in (self.norms, self.hide_sinks):
            box.toggled.connect(self._on_choice)
        self.grid.head_clicked.connect(self.show_head)
        self.grid.hovered.connect(self._on_hover)

    # -- the choice ------------------------------------------------------------------------------
    def choice(self) -> HeadChoice:
        return HeadChoice(str(self.kind.currentData()), self.layer.value(), self.head.value(), self.norms.isChecked())

    def sinks_hidden(self) -> bool:
        return self.hide_sinks.isChecked()

    def describe(self) -> str:
        """What the main heatmap shows, as its caption and the exports say it."""
        return describe_view(self.choice(), self.grid.layout_shape[0], self.sinks_hidden())

    @Slot(int, int)
    def show_head(self, layer: int, head: int) -> None:
        """One head in the main heatmap (a click on the grid, or on a row of the head ranking)."""
        self._show("head", layer, head)

    @Slot(int)
    def show_mean(self, layer: int) -> None:
        """The mean of layer `layer`'s heads in the main heatmap; -1: the mean of every head."""
        self._show("layer" if layer >= 0 else "all", max(layer, 0), self.head.value())

    def _show(self, kind: str, layer: int, head: int) -> None:
        for widget in (self.kind, self.layer, self.head):
            widget.blockSignals(True)
        self.kind.setCurrentIndex(VIEW_KINDS.index(kind))
        self.layer.setValue(layer)
        self.head.setValue(head)
        for widget in (self.kind, self.layer, self.head):
            widget.blockSignals(False)
        self._on_choice()

    @Slot()
    def _on_choice(self) -> None:
        kind = str(self.kind.currentData())
        self.layer.setEnabled(kind in ("head", "layer"))
        self.head.setEnabled(kind == "head")
        layers = self.grid.layout_shape[0]
        self.grid.select((self.layer.value(), self.head.value()) if kind == "head" else None)
        self.caption.setText(f"Main heatmap: {self.describe()}" if layers else "")
        self.choice_changed.emit()

    @Slot(str)
    def _on_hover(self, text: str) -> None:
        self.readout.setText(text or "Click a head to show it in the main heatmap.")

    # -- the decode ------------------------------------------------------------------------------
    def set_layout_shape(self, layers: int, heads: int) -> None:
        """A model with `layers` × `heads` cross-attention heads (0 × 0: a model without heads)."""
        for spin, count in ((self.layer, layers), (self.head, heads)):
            spin.blockSignals(True)
            spin.setRange(0, max(count - 1, 0))
            spin.blockSignals(False)
        if layers:
            self.layer.setValue(layers - 1)
        self._on_choice()

    def begin(self, source_tokens: tuple[str, ...], layers: int, heads: int, capacity: int) -> None:
        self.grid.begin(source_tokens, layers, heads, capacity)

    def append_steps(self, run: tuple[StepRecord, ...]) -> None:
        self.grid.append_steps(run)

    def set_result(self, result: DecodeResult, sinks: np.ndarray | None) -> None:
        self.grid.set_result(result, sinks)

    def set_step(self, step: int | None) -> None:
        self.grid.set_step(step)

    def set_theme(self, name: str) -> None:
        self.grid.set_theme(name)

    def set_zoom(self, factor: float) -> None:
        self.grid.set_zoom(factor)
