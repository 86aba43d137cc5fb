"""The what-if panel: edit attention at a step (or everywhere), re-decode, and see what changed.

Edits accumulate until cleared: "zero word j everywhere", "pin step i on word j", an explicit row
for step i (editing one weight rescales the others so the row keeps summing to 1), and the score
temperature τ; for a transformer (whose α here is the mean of its last layer's heads, and whose α edits set
every head of that layer) also "zero a head from step i on" and "pin a head on word j from step i on", for one
head or every head of a layer.  Each change re-decodes through the engine (engine.whatif.redecode.whatif_options:
the original tokens are kept before the first edited step, greedy after), then the original and
edited outputs are shown with changed tokens marked, above a heatmap of edited α − original α.
"""

from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import Qt, QTimer, Signal, Slot
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QSlider,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from engine import (
    NEEDS_ATTENTION,
    DecodeResult,
    EditHead,
    EditRow,
    Intervention,
    MaskSource,
    PinStep,
    align,
    alpha_difference,
    changed_sides,
    describe_intervention,
    reweighted_row,
    step_labels,
    step_rows,
    whatif_options,
)
from gui.bridge.engine_client import EngineClient
from gui.bridge.engine_controller import EngineController
from gui.export.exports import ExportError, export_difference
from gui.export.figure import FigureSize
from gui.export.size_dialog import ask_figure_size
from gui.matrix.diff_heatmap import DiffHeatmap
from gui.style.fonts import BASE_POINT_SIZE, ui_font
from gui.style.theme import Theme, clamp_zoom, get_theme
from gui.text.token_marks import marked_tokens

TAU_RANGE = (-3.0, 1.0)  # log10 τ: 0.001 … 10
TAU_TICKS_PER_DECADE = 50
TAU_DEBOUNCE_MS = 250
MIN_DIFF_HEIGHT = 240
DIFF_FILTERS = "SVG image (*.svg);;PDF document (*.pdf);;PNG image (*.png)"
EVERY_HEAD = -1  # the head choice's data for "every head of the layer"
NO_ORIGINAL = "Decode a sentence first: the what-if tools edit the decode shown in the main view."


def tau_from_slider(value: int) -> float:
    return float(10 ** (value / TAU_TICKS_PER_DECADE))


def slider_from_tau(tau: float) -> int:
    return round(math.log10(tau) * TAU_TICKS_PER_DECADE)


class RowEditor(QWidget):
    """One weight box per source word for the chosen step; editing one rescales the others."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._grid = QGridLayout(self)
        self._grid.setContentsMargins(0, 0, 0, 0)
        self._grid.setHorizontalSpacing(6)
        self._labels: list[QLabel] = []
        self._boxes: list[QDoubleSpinBox] = []

    def set_words(self, words: tuple[str, ...]) -> None:
        for widget in (*self._labels, *self._boxes):
            self._grid.removeWidget(widget)
            widget.deleteLater()
        self._labels = [QLabel(w, self) for w in words]
        self._boxes = [self._box(j) for j in range(len(words))]
        for j, (label, box) in enumerate(zip(self._labels, self._boxes, strict=True)):
            label.setAlignment(Qt.AlignmentFlag.AlignCenter)
            self._grid.addWidget(label, 0, j)
            self._grid.addWidget(box, 1, j)
            label.show()  # children made after their parent was shown stay hidden until shown
            box.show()

    def _box(self, j: int) -> QDoubleSpinBox:
        box = QDoubleSpinBox(self)
        box.setRange(0.0, 1.0)
        box.setDecimals(2)
        box.setSingleStep(0.05)
        box.setKeyboardTracking(False)
        box.setProperty("column", j)
        box.valueChanged.connect(self._on_value_changed)
        return box

    def preferred_height(self) -> int:
        self._grid.activate()
        return self._grid.sizeHint().height()

    def set_row(self, row: np.ndarray | tuple[float, ...]) -> None:
        for box, value in zip(self._boxes, row, strict=True):
            box.blockSignals(True)
            box.setValue(float(value))
            box.blockSignals(False)

    def row(self) -> tuple[float, ...]:
        return tuple(box.value() for box in self._boxes)

    def set_weight(self, j: int, value: float) -> None:
        """As if the user set box j: the others are rescaled."""
        self._boxes[j].setValue(value)

    @Slot(float)
    def _on_value_changed(self, value: float) -> None:
        j = int(self.sender().property("column"))
        others = list(self.row())
        others[j] = value
        self.set_row(reweighted_row(others, j, value))


class WhatIfPanel(QWidget):
    """Talks to the engine only through `controller` (an EngineController); `result_ready`: each edit's result."""

    result_ready = Signal(object)  # DecodeResult of the edited decode

    def __init__(
        self, controller: EngineController, parent: QWidget | None = None, theme: str = "light", zoom: float = 1.0
    ) -> None:
        super().__init__(parent)
        self._theme: Theme = get_theme(theme)
        self._zoom = clamp_zoom(zoom)
        self.original: DecodeResult | None = None
        self.edited: DecodeResult | None = None
        self._source_text = ""
        self._edits: list[Intervention] = []
        self._tau = 1.0
        self.client = EngineClient(controller, self)
        self.client.finished.connect(self._on_finished)
        self.client.failed.connect(self._on_failed)
        self.client.lost.connect(self._on_lost)
        self._tau_timer = QTimer(self)
        self._tau_timer.setSingleShot(True)
        self._tau_timer.setInterval(TAU_DEBOUNCE_MS)
        self._tau_timer.timeout.connect(self._apply_tau_slider)
        self._build()
        self.set_zoom(self._zoom)
        self._show_state()

    # -- construction ------------------------------------------------------------------------
    def _build(self) -> None:
        self.step_choice, self.word_choice = QComboBox(self), QComboBox(self)
        self.step_choice.currentIndexChanged.connect(self._on_step_chosen)
        self.zero_button = QPushButton("Zero word j everywhere", self)
        self.pin_button = QPushButton("Pin step i on word j", self)
        self.apply_row_button = QPushButton("Use this row at step i", self)
        self.clear_button = QPushButton("Clear edits", self)
        self.export_button = QPushButton("Export difference…", self)
        self.export_button.clicked.connect(self._export_dialog)
        self.zero_button.clicked.connect(self.zero_word)
        self.pin_button.clicked.connect(self.pin_step)
        self.apply_row_button.clicked.connect(self.apply_row)
        self.clear_button.clicked.connect(self.clear_edits)
        self._build_head_row()
        self.row_editor = RowEditor(self)
        scroll = QScrollArea(self)
        scroll.setWidget(self.row_editor)
        scroll.setWidgetResizable(True)
        scroll.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        scroll.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self._row_scroll = scroll
        self.tau_slider = QSlider(Qt.Orientation.Horizontal, self)
        self.tau_slider.setRange(*(round(v * TAU_TICKS_PER_DECADE) for v in TAU_RANGE))
        self.tau_slider.setValue(0)
        self.tau_slider.valueChanged.connect(self._on_tau_slider)
        self.tau_label = QLabel(self)
        self.edits_label, self.status_label = QLabel(self), QLabel(self)
        self.original_label, self.edited_label = QLabel(self), QLabel(self)
        for label in (self.edits_label, self.status_label, self.original_label, self.edited_label):
            label.setWordWrap(True)
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.diff = DiffHeatmap(self, self._theme.name, self._zoom)
        self.diff.setMinimumHeight(MIN_DIFF_HEIGHT)  # the reason for the panel: never squeezed away
        self._lay_out()

    def _build_head_row(self) -> None:
        """A transformer's head edits (hidden for an RNN): which head, then zero it or pin it on word j."""
        self.head_row = QWidget(self)
        self.head_layer, self.head_choice = QSpinBox(self.head_row), QComboBox(self.head_row)
        self.zero_head_button = QPushButton("Zero it from step i on", self.head_row)
        self.pin_head_button = QPushButton("Pin it on word j from step i on", self.head_row)
        self.zero_head_button.clicked.connect(self.zero_head)
        self.pin_head_button.clicked.connect(self.pin_head)
        row = QHBoxLayout(self.head_row)
        row.setContentsMargins(0, 0, 0, 0)
        for widget in (QLabel("Head: layer", self.head_row), self.head_layer, self.head_choice):
            row.addWidget(widget)
        row.addWidget(self.zero_head_button)
        row.addWidget(self.pin_head_button)
        row.addStretch(1)
        self.head_row.hide()

    def _lay_out(self) -> None:
        pick = QHBoxLayout()
        for text, widget in (("Step i", self.step_choice), ("Source word j", self.word_choice)):
            pick.addWidget(QLabel(text, self))
            pick.addWidget(widget, 1)
        buttons = QHBoxLayout()
        for button in (self.zero_button, self.pin_button, self.apply_row_button, self.clear_button):
            buttons.addWidget(button)
        tau = QHBoxLayout()
        tau.addWidget(QLabel("Score temperature", self))
        tau.addWidget(self.tau_slider, 1)
        tau.addWidget(self.tau_label)
        outputs = QFormLayout()
        outputs.addRow("Original", self.original_label)
        outputs.addRow("Edited", self.edited_label)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 6, 8, 4)
        layout.addLayout(pick)
        layout.addWidget(QLabel("Attention of step i (edit a weight; the others rescale):", self))
        layout.addWidget(self._row_scroll)
        layout.addLayout(buttons)
        layout.addWidget(self.head_row)
        layout.addLayout(tau)
        layout.addWidget(self.edits_label)
        layout.addLayout(outputs)
        layout.addWidget(self.status_label)
        diff_title = QHBoxLayout()
        diff_title.addWidget(QLabel("Edited α − original α (rows aligned by the output tokens):", self), 1)
        diff_title.addWidget(self.export_button)
        layout.addLayout(diff_title)
        layout.addWidget(self.diff, 1)

    # -- inputs ------------------------------------------------------------------------------
    def set_original(self, result: DecodeResult, source_text: str) -> None:
        """The decode to edit (and the text it came from); earlier edits are dropped."""
        self.original, self.edited, self._source_text = result, None, source_text
        self._edits, self._tau = [], 1.0
        self.client.cancel()
        self._fill_choices(result)
        self.tau_slider.blockSignals(True)
        self.tau_slider.setValue(0)
        self.tau_slider.blockSignals(False)
        self._show_result()
        self._show_state("")

    def clear(self) -> None:
        """No decode to edit (e.g. a new model is loading)."""
        self.original = self.edited = None
        self._edits = []
        self.client.cancel()
        self.step_choice.clear()
        self.word_choice.clear()
        self.row_editor.set_words(())
        self.head_row.hide()
        self.diff.clear()
        self.original_label.clear()
        self.edited_label.clear()
        self._show_state()

    def _fill_choices(self, result: DecodeResult) -> None:
        for combo, tokens in ((self.step_choice, result.output_tokens), (self.word_choice, result.source_tokens)):
            combo.blockSignals(True)
            combo.clear()
            combo.addItems([f"{i}: {t}" for i, t in enumerate(tokens)])
            combo.blockSignals(False)
        self.row_editor.set_words(result.source_tokens)
        self._fill_heads(result)
        self._fit_row_editor()
        self.step_choice.setCurrentIndex(0)
        self._on_step_chosen(0)

    def _fill_heads(self, result: DecodeResult) -> None:
        """The layers and heads a transformer's head edits can name; none for an RNN."""
        layers, heads = result.heads.weights.shape[1:3] if result.heads is not None else (0, 0)
        self.head_row.setVisible(bool(layers))
        self.head_layer.setRange(0, max(layers - 1, 0))
        self.head_layer.setValue(max(layers - 1, 0))
        self.head_choice.clear()
        self.head_choice.addItem("every head", EVERY_HEAD)
        for h in range(heads):
            self.head_choice.addItem(f"head {h}", h)

    def _fit_row_editor(self) -> None:
        """Tall enough for the labels and boxes plus a horizontal scroll bar (long sources scroll sideways)."""
        bar = self._row_scroll.horizontalScrollBar().sizeHint().height()
        frame = 2 * self._row_scroll.frameWidth()
        self._row_scroll.setFixedHeight(self.row_editor.preferred_height() + bar + frame + 4)

    @Slot(int)
    def set_step(self, i: int) -> None:
        """Choose step i (e.g. from a click in the main heatmap)."""
        if 0 <= i < self.step_choice.count():
            self.step_choice.setCurrentIndex(i)

    def set_word(self, j: int) -> None:
        if 0 <= j < self.word_choice.count():
            self.word_choice.setCurrentIndex(j)

    def step(self) -> int:
        return self.step_choice.currentIndex()

    def word(self) -> int:
        return self.word_choice.currentIndex()

    @Slot(int)
    def _on_step_chosen(self, i: int) -> None:
        if self.original is None or i < 0:
            return
        if self.original.alpha is None:
            return  # nothing to edit: the model has no attention
        explicit = step_rows(self._edits, len(self.original.source_tokens)).get(i)
        self.row_editor.set_row(explicit if explicit is not None else self.original.alpha[i])
        self.diff.select_step(i)

    # -- edits -------------------------------------------------------------------------------
    @Slot()
    def zero_word(self) -> None:
        if not self._editable():
            return
        edit = MaskSource(self.word())
        if edit not in self._edits:
            self._edits.append(edit)
        self._run()

    @Slot()
    def pin_step(self) -> None:
        self._set_row_edit(PinStep(self.step(), self.word()))

    @Slot()
    def apply_row(self) -> None:
        self._set_row_edit(EditRow(self.step(), self.row_editor.row()))

    def _set_row_edit(self, edit: PinStep | EditRow) -> None:
        """A step has one explicit row: the new one replaces any earlier one."""
        if not self._editable():
            return
        self._edits = [x for x in self._edits if isinstance(x, MaskSource | EditHead) or x.step != edit.step]
        self._edits.append(edit)
        self._on_step_chosen(self.step())
        self._run()

    @Slot()
    def zero_head(self) -> None:
        """Zero the chosen head's row (or every head's of the layer) from step i on."""
        self._set_head_edit("zero")

    @Slot()
    def pin_head(self) -> None:
        """Put all of the chosen head's weight (or every head's of the layer) on word j from step i on."""
        self._set_head_edit("pin")

    def set_head(self, layer: int, head: int | None) -> None:
        """Choose the head the head edits act on (None: every head of the layer)."""
        self.head_layer.setValue(layer)
        self.head_choice.setCurrentIndex(self.head_choice.findData(EVERY_HEAD if head is None else head))

    def _set_head_edit(self, mode: str) -> None:
        """A head has one edit: the new one replaces an earlier one for the same head (or layer)."""
        if not self._editable() or self.original is None or self.original.heads is None:
            return
        chosen = int(self.head_choice.currentData())
        head = None if chosen == EVERY_HEAD else chosen
        edit = EditHead(self.head_layer.value(), head, mode, self.word() if mode == "pin" else 0, self.step())
        same = (edit.layer, edit.head)
        self._edits = [x for x in self._edits if not (isinstance(x, EditHead) and (x.layer, x.head) == same)]
        self._edits.append(edit)
        self._run()

    def set_tau(self, tau: float) -> None:
        self._tau = float(tau)
        self.tau_slider.blockSignals(True)
        self.tau_slider.setValue(slider_from_tau(tau))
        self.tau_slider.blockSignals(False)
        self._run()

    @Slot(int)
    def _on_tau_slider(self, value: int) -> None:
        self.tau_label.setText(f"τ = {tau_from_slider(value):.3g}")
        self._tau_timer.start()  # re-decode once the slider rests

    @Slot()
    def _apply_tau_slider(self) -> None:
        self._tau = tau_from_slider(self.tau_slider.value())
        self._run()

    @Slot()
    def clear_edits(self) -> None:
        self._edits, self._tau = [], 1.0
        self.tau_slider.blockSignals(True)
        self.tau_slider.setValue(0)
        self.tau_slider.blockSignals(False)
        self.client.cancel()
        self.edited = None
        self._on_step_chosen(self.step())
        self._show_result()
        self._show_state("")

    def edits(self) -> tuple[Intervention, ...]:
        return tuple(self._edits)

    def tau(self) -> float:
        return self._tau

    def _editable(self) -> bool:
        """A decode to edit, with attention weights to edit (a model without attention has none)."""
        return self.original is not None and self.original.alpha is not None

    def _run(self) -> None:
        if self.original is None or not self._editable():
            return
        if not self._edits and self._tau == 1.0:
            self.clear_edits()
            return
        options = whatif_options(self.original, self._edits, self._tau)
        if self.client.submit(self._source_text, **options):
            self._show_state("Re-decoding with the edits…")

    # -- results -----------------------------------------------------------------------------
    @Slot(object)
    def _on_finished(self, result: DecodeResult) -> None:
        self.edited = result
        self._show_result()
        note = "  ".join(result.messages)
        self._show_state(f"Done in {result.seconds * 1000:.0f} ms. {note}".strip())
        self.result_ready.emit(result)

    @Slot(str)
    def _on_failed(self, message: str) -> None:
        self._show_state(message)

    @Slot()
    def _on_lost(self) -> None:
        self._show_state("The edited decode was interrupted by another decode.")

    def difference(self) -> np.ndarray:
        """Edited α − original α, rows aligned by the output tokens (edit distance; NaN where a side has no row)."""
        if self.original is None or self.original.alpha is None:
            return np.zeros((0, 0))
        edited = self.edited or self.original
        if edited.alpha is None:
            return np.zeros((0, 0))
        rows = align(self.original.output_tokens, edited.output_tokens)
        return alpha_difference(self.original.alpha, edited.alpha, rows)

    def _show_result(self) -> None:
        if self.original is None:
            return
        before = self.original.output_tokens
        after = (self.edited or self.original).output_tokens
        lost, new = changed_sides(before, after)
        self.original_label.setText(marked_tokens(before, lost, self._theme))
        self.edited_label.setText(
            marked_tokens(after, new, self._theme) if self.edited is not None else "<i>(no edits yet)</i>"
        )
        if self.original.alpha is None:
            self.diff.clear()
            return
        self.diff.set_difference(self.difference(), self.original.source_tokens, step_labels(before, after))
        self.diff.select_step(self.step() if self.step() >= 0 else None)

    def _show_state(self, status: str | None = None) -> None:
        has = self.original is not None and self.original.alpha is not None  # no α: nothing to edit
        for widget in (
            self.zero_button,
            self.pin_button,
            self.apply_row_button,
            self.clear_button,
            self.tau_slider,
            self.step_choice,
            self.word_choice,
            self.head_row,
        ):
            widget.setEnabled(has)
        words = self.original.source_tokens if self.original is not None else ()
        shown = [describe_intervention(x, words) for x in self._edits]
        if self._tau != 1.0:
            shown.append(f"score temperature τ = {self._tau:.3g}")
        self.edits_label.setText("Edits: " + ("; ".join(shown) if shown else "none"))
        self.tau_label.setText(f"τ = {self._tau:.3g}")
        if self.original is not None and self.original.alpha is None:
            status = NEEDS_ATTENTION
        self.status_label.setText(NO_ORIGINAL if self.original is None else status or "")

    # -- export ------------------------------------------------------------------------------
    def export_difference(self, path: str, size: FigureSize | None = None) -> bool:
        """Write the difference heatmap (.png, .svg, .pdf); a failure shows in the status line."""
        try:
            written = export_difference(path, self.diff, size)
        except ExportError as exc:
            self.status_label.setText(str(exc))
            return False
        self.status_label.setText(f"Exported {written}")
        return True

    @Slot()
    def _export_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export the difference", "difference.svg", DIFF_FILTERS)
        if not path:
            return
        size = None
        if path.lower().endswith(".png"):
            size = ask_figure_size(self, None, FigureSize(max(self.diff.width(), 400), max(self.diff.height(), 300)))
            if size is None:
                return
        self.export_difference(path, size)

    # -- look and lifetime -------------------------------------------------------------------
    def set_theme(self, name: str) -> None:
        self._theme = get_theme(name)
        self.diff.set_theme(name)
        self._show_result()

    def set_zoom(self, factor: float) -> None:
        self._zoom = clamp_zoom(factor)
        self.setFont(ui_font(BASE_POINT_SIZE, self._zoom))  # children inherit: Devanagari labels shape
        self.diff.set_zoom(self._zoom)
        self._fit_row_editor()

    def teardown(self) -> None:
        self._tau_timer.stop()
        self.client.detach()
        self.diff.teardown()
