"""Compare view: the main view's decode (A) beside a second one (B): another model, another input, or both.

B runs on a second EngineController owned by this view (its own engine thread and model copy), created
on the first comparison and shut down in `teardown`.  That is the simplest correct arrangement: the
main controller keeps model A loaded and its "latest request wins" rule never cuts a decode the user
is watching, and B's model is loaded once rather than swapped in and out.  B is decoded greedily.

The two heatmaps stay in step: selecting a row in either (or in the difference, B − A) selects it in all.
A transformer's heatmap (either side) shows α as it was decoded, the mean of its last layer's heads, and its
caption says so; an RNN beside a transformer works, since only the tokens are aligned.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Signal, Slot
from PySide6.QtWidgets import (
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from engine import DecodeResult, HeadChoice, ModelInfo, align, alpha_difference, changed_sides, step_labels
from gui.bridge.engine_client import EngineClient
from gui.bridge.engine_controller import EngineController
from gui.matrix.diff_heatmap import DiffHeatmap
from gui.matrix.heatmap import HeatmapWidget
from gui.style.fonts import BASE_POINT_SIZE, ui_font
from gui.style.theme import Theme, clamp_zoom, get_theme
from gui.text.token_marks import marked_tokens


class CompareView(QWidget):
    compared = Signal(object)  # B's DecodeResult, once it is shown

    def __init__(
        self,
        parent: QWidget | None = None,
        theme: str = "light",
        zoom: float = 1.0,
        engine_factory: Callable[[], EngineController] = EngineController,
    ) -> None:
        super().__init__(parent)
        self._theme: Theme = get_theme(theme)
        self._zoom = clamp_zoom(zoom)
        self._engine_factory = engine_factory
        self.engine: EngineController | None = None  # B's engine, made on first use (its thread loads torch then)
        self.client: EngineClient | None = None
        self._loaded_path = ""
        self._wanted: tuple[str, str] = ("", "")  # (model path, source) of B, once its model is loaded
        self.a: DecodeResult | None = None
        self.b: DecodeResult | None = None
        self._model_a, self._source_a = "", ""
        self._torn_down = False
        self._build()
        self.set_zoom(self._zoom)

    def _build(self) -> None:
        self.model_edit, self.source_edit = QLineEdit(self), QLineEdit(self)
        self.model_edit.setPlaceholderText("same model as A")
        self.source_edit.setPlaceholderText("same input as A")
        browse = QPushButton("Browse…", self)
        browse.clicked.connect(self._browse)
        self.compare_button = QPushButton("Compare", self)
        self.compare_button.clicked.connect(self.compare)
        self.compare_button.setEnabled(False)
        self.status = QLabel("A is the decode in the main view; choose a model and/or input for B.", self)
        self.status.setWordWrap(True)
        self.a_label, self.b_label = QLabel(self), QLabel(self)
        self.a_map = HeatmapWidget(self, self._theme.name, self._zoom, show_readout=False)
        self.b_map = HeatmapWidget(self, self._theme.name, self._zoom, show_readout=False)
        self.diff = DiffHeatmap(self, self._theme.name, self._zoom)
        for view in (self.a_map, self.b_map, self.diff):
            view.step_selected.connect(self.select_step)
        model_row = QHBoxLayout()
        model_row.addWidget(self.model_edit, 1)
        model_row.addWidget(browse)
        form = QFormLayout()
        form.addRow("B: model", model_row)
        form.addRow("B: input", self.source_edit)
        form.addRow("", self.compare_button)
        form.addRow("A output", self.a_label)
        form.addRow("B output", self.b_label)
        maps = QSplitter(self)
        for widget in (self.a_map, self.b_map, self.diff):
            maps.addWidget(widget)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 6, 8, 4)
        layout.addLayout(form)
        layout.addWidget(self.status)
        layout.addWidget(maps, 1)

    # -- A -----------------------------------------------------------------------------------
    def set_reference(self, result: DecodeResult, model_path: str, source_text: str) -> None:
        """A: the main view's decode, the model it came from, and its input text."""
        self.a, self._model_a, self._source_a = result, model_path, source_text
        self.a_map.set_result(result)
        self.a_map.set_caption(decoded_view(result))
        self.compare_button.setEnabled(True)
        self._show_pair()

    def clear(self) -> None:
        self.a = None
        self.compare_button.setEnabled(False)

    # -- B -----------------------------------------------------------------------------------
    @property
    def loaded_model_path(self) -> str:
        """B's model file once loaded ('' before the first comparison)."""
        return self._loaded_path

    def b_request(self) -> tuple[str, str]:
        """(model path, input) for B; an empty field means "as A"."""
        return self.model_edit.text().strip() or self._model_a, self.source_edit.text().strip() or self._source_a

    @Slot()
    def compare(self) -> None:
        if self.a is None or self._torn_down:
            return
        path, source = self.b_request()
        engine = self._ensure_engine()
        self._wanted = (path, source)
        if path != self._loaded_path:
            self.status.setText(f"Loading {Path(path).name} for B…")
            engine.load_model(path, "auto")
        else:
            self._submit()

    def _ensure_engine(self) -> EngineController:
        if self.engine is None:
            self.engine = self._engine_factory()
            self.engine.model_loaded.connect(self._on_model_loaded)
            self.engine.model_load_failed.connect(self._on_model_load_failed)
            self.client = EngineClient(self.engine, self)
            self.client.finished.connect(self._on_b_finished)
            self.client.failed.connect(self._on_failed)
            self.client.lost.connect(self._on_lost)
        return self.engine

    def _submit(self) -> None:
        assert self.client is not None
        if self.client.submit(self._wanted[1], strategy="greedy"):
            self.status.setText("Decoding B…")

    @Slot(object)
    def _on_model_loaded(self, info: ModelInfo) -> None:
        self._loaded_path = self._wanted[0]  # the path asked for (ModelInfo may hold it resolved)
        self._submit()

    @Slot(str)
    def _on_model_load_failed(self, message: str) -> None:
        self.status.setText(f"Could not load B's model: {message}")

    @Slot(object)
    def _on_b_finished(self, result: DecodeResult) -> None:
        self.b = result
        self.b_map.set_result(result)
        self.b_map.set_caption(decoded_view(result))
        model = Path(self._wanted[0]).name
        self.status.setText(f"B: {model}, greedy.  Right: B − A (red: B attends more; rows and columns aligned).")
        self._show_pair()
        self.compared.emit(result)

    @Slot(str)
    def _on_failed(self, message: str) -> None:
        self.status.setText(message)

    @Slot()
    def _on_lost(self) -> None:
        self.status.setText("B's decode was interrupted.")

    def _show_pair(self) -> None:
        if self.a is None:
            return
        a_out = self.a.output_tokens
        b_out = self.b.output_tokens if self.b is not None else a_out
        lost, new = changed_sides(a_out, b_out) if self.b is not None else ((), ())
        self.a_label.setText(marked_tokens(a_out, lost, self._theme))
        shown_b = marked_tokens(b_out, new, self._theme) if self.b is not None else "<i>(not decoded yet)</i>"
        self.b_label.setText(shown_b)
        if self.b is None:
            return
        if self.a.alpha is None or self.b.alpha is None:  # a model without attention: no α to subtract
            self.diff.clear()
            self.status.setText("One of the two models has no attention: there is no α difference to show.")
            return
        a_src, b_src = self.a.source_tokens, self.b.source_tokens
        rows, columns = align(a_out, b_out), align(a_src, b_src)
        diff = alpha_difference(self.a.alpha, self.b.alpha, rows, columns)
        self.diff.set_difference(diff, step_labels(a_src, b_src), step_labels(a_out, b_out))

    # -- selection ---------------------------------------------------------------------------
    @Slot(int)
    def select_step(self, i: int) -> None:
        """Select decoder step i in both heatmaps and the difference."""
        for view in (self.a_map, self.b_map, self.diff):
            view.select_step(i)

    @Slot()
    def _browse(self) -> None:
        start = self.model_edit.text() or self._model_a
        path, _ = QFileDialog.getOpenFileName(self, "Model for B", start, "Models (*.safetensors);;All files (*)")
        if path:
            self.model_edit.setText(path)

    # -- look and lifetime -------------------------------------------------------------------
    def set_theme(self, name: str) -> None:
        self._theme = get_theme(name)
        for view in (self.a_map, self.b_map, self.diff):
            view.set_theme(name)
        self._show_pair()

    def set_zoom(self, factor: float) -> None:
        self._zoom = clamp_zoom(factor)
        self.setFont(ui_font(BASE_POINT_SIZE, self._zoom))
        for view in (self.a_map, self.b_map, self.diff):
            view.set_zoom(self._zoom)

    def teardown(self) -> None:
        """Stop the second engine (its thread must end before Qt deletes it), then the plots."""
        if self._torn_down:
            return
        self._torn_down = True
        if self.client is not None:
            self.client.detach()
        if self.engine is not None:
            self.engine.shutdown()
        for view in (self.a_map, self.b_map, self.diff):
            view.teardown()


def decoded_view(result: DecodeResult) -> str:
    """What a transformer decode's α holds (both sides decode with the default view, the mean of the last layer's
    heads), as a heatmap caption; '' for an RNN, whose α is its one attention."""
    if result.heads is None:
        return ""
    layers = result.heads.weights.shape[1]
    return HeadChoice("layer", layers - 1).describe(layers)
