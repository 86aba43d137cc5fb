"""The Heads dock of a transformer: the grid shows every head's weights, a click shows that head in the main
heatmap, the views and sink hiding change what the heatmap shows and its caption says so."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QCoreApplication, QEvent, QSizeF, Qt
from PySide6.QtGui import QImage, QMouseEvent
from PySide6.QtWidgets import QApplication

from engine import SINKS_HIDDEN_NOTE, viewed_result
from gui.app import create_window
from gui.export.figure import FigureSize, Text
from gui.export.head_grid_figure import MARGIN, head_rect, title_lines
from gui.export.matrix_figure import result_figure
from gui.panels.context_view import TRANSFORMER_NOTE
from gui.style.fonts import ui_font
from gui.style.theme import get_theme, lookup_table
from gui.window.main_window import MainWindow

DECODE_TIMEOUT_MS = 30_000
SOURCE = "w1 w2 w3 ."


@pytest.fixture
def window(qtbot, tiny_transformer_path: Path, tmp_path: Path) -> Iterator[MainWindow]:
    window = create_window(tmp_path / "settings", tiny_transformer_path, SOURCE)
    window.resize(1400, 900)
    window.show()
    qtbot.waitExposed(window)
    qtbot.waitUntil(lambda: window.flow.result is not None, timeout=DECODE_TIMEOUT_MS)
    qtbot.waitUntil(lambda: window.heads.grid.layout_shape == (2, 4))
    yield window
    window.close()
    window.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)


def _weights(window: MainWindow) -> np.ndarray:
    result = window.flow.result
    assert result is not None and result.heads is not None
    return result.heads.weights  # (U, L, H, T)


def test_grid_shows_every_head_of_the_decode(window: MainWindow) -> None:
    assert not window.docks[5].isHidden()
    weights = _weights(window)
    for layer in range(2):
        for head in range(4):
            np.testing.assert_allclose(window.heads.grid.weights(layer, head), weights[:, layer, head], atol=1e-6)
    # By default the main heatmap shows the last layer's mean over its heads, and says so.
    np.testing.assert_allclose(window.heatmap.image_data(), weights[:, 1].mean(axis=1), atol=1e-6)
    assert window.heatmap.caption() == "α, mean over the heads of layer 1"


def test_clicking_a_head_shows_it_in_the_main_heatmap(qtbot, window: MainWindow) -> None:
    grid = window.heads.grid
    window.docks[5].raise_()
    qtbot.waitUntil(grid.isVisible)
    centre = grid.cell_rect(0, 2).center()
    move = QMouseEvent(
        QEvent.Type.MouseMove, centre, grid.mapToGlobal(centre), Qt.MouseButton.NoButton,
        Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier,
    )  # fmt: skip
    QApplication.sendEvent(grid, move)  # the offscreen platform sends no hover for a cursor moved by QTest
    assert window.heads.readout.text().startswith("layer 0, head 2: step ")
    assert "weight = " in window.heads.readout.text()
    qtbot.mouseClick(grid, Qt.MouseButton.LeftButton, pos=centre.toPoint())
    assert grid.selected == (0, 2)
    np.testing.assert_allclose(window.heatmap.image_data(), _weights(window)[:, 0, 2], atol=1e-6)
    assert window.heatmap.caption() == "α, head 2 of layer 0"
    assert window.heads.kind.currentData() == "head" and window.heads.layer.value() == 0


def test_hiding_sinks_drops_their_columns_and_renormalises(window: MainWindow) -> None:
    window.heads.hide_sinks.setChecked(True)
    source, _ = window.heatmap.axis_labels()
    assert "." not in source and "<eos>" not in source and source[:3] == ["w1", "w2", "w3"]
    shown = window.heatmap.image_data()
    np.testing.assert_allclose(shown.sum(axis=1), 1.0, atol=1e-5)
    mean = _weights(window)[:, 1].mean(axis=1)[:, :3]
    np.testing.assert_allclose(shown, mean / mean.sum(axis=1, keepdims=True), atol=1e-5)
    assert window.heatmap.caption().endswith(SINKS_HIDDEN_NOTE)
    window.heads.hide_sinks.setChecked(False)
    assert window.heatmap.axis_labels()[0] == ["w1", "w2", "w3", "."]


def test_value_weighted_norms_are_row_shares_and_say_so(window: MainWindow) -> None:
    window.heads.kind.setCurrentIndex(window.heads.kind.findData("all"))
    window.heads.norms.setChecked(True)
    result = window.flow.result
    assert result is not None and result.heads is not None
    norms = result.heads.norms.mean(axis=(1, 2))
    np.testing.assert_allclose(window.heatmap.image_data(), norms / norms.sum(axis=1, keepdims=True), atol=1e-5)
    assert "each row scaled to sum to 1" in window.heatmap.caption()


def test_an_rnn_has_no_heads_dock_and_no_caption(qtbot, window: MainWindow, tiny_model_path: Path) -> None:
    window.open_model(str(tiny_model_path))
    qtbot.waitUntil(lambda: window.model_path == str(tiny_model_path), timeout=DECODE_TIMEOUT_MS)
    qtbot.waitUntil(lambda: window.flow.result is not None and window.flow.result.heads is None, timeout=30_000)
    assert window.docks[5].isHidden()
    assert window.heatmap.caption() == ""


def test_context_inspector_takes_a_transformer_step_apart_per_head(qtbot, window: MainWindow) -> None:
    result = window.flow.result
    assert result is not None and result.heads is not None
    window.select_step(1)
    inspector = window.inspector
    qtbot.waitUntil(lambda: inspector.selected_step() == 1)
    assert inspector.has_heads() and inspector.fixed_context_note() == TRANSFORMER_NOTE
    contexts, norms = inspector.head_parts()
    np.testing.assert_allclose(contexts, result.heads.contexts[1, 1], atol=1e-6)  # the last layer by default
    np.testing.assert_allclose(norms, result.heads.norms[1, 1], atol=1e-6)
    window.heads.layer.setValue(0)  # the layer chosen in the Heads dock
    assert inspector.shown_layer() == 0
    np.testing.assert_allclose(inspector.head_parts()[1], result.heads.norms[1, 0], atol=1e-6)
    assert inspector.norm_text().startswith('step 1 "') and "layer 0" in inspector.norm_text()
    assert inspector.labelled_points() == []  # no PCA among the h_j: a transformer's output is no mix of them


def test_exports_say_which_view_of_the_heads_they_hold(window: MainWindow, tmp_path: Path) -> None:
    window.heads.show_head(0, 2)
    window.heads.hide_sinks.setChecked(True)
    caption = window.heatmap.caption()
    assert caption == f"α, head 2 of layer 0; {SINKS_HIDDEN_NOTE}"
    assert window.export_to(tmp_path / "a.json") and window.export_to(tmp_path / "a.csv")
    data = json.loads((tmp_path / "a.json").read_text(encoding="utf-8"))
    assert data["attention_view"] == f"alpha and scores: {caption}"
    assert data["source_tokens"] == ["w1", "w2", "w3"] and data["heads_source_tokens"] == ["w1", "w2", "w3", "."]
    np.testing.assert_allclose(data["alpha"], window.heatmap.image_data(), atol=1e-6)
    np.testing.assert_allclose(np.sum(data["alpha"], axis=1), 1.0, atol=1e-5)
    assert np.asarray(data["cross_attention"]).shape[1:] == (2, 4, 4)  # every head in full, the sinks' column too
    with (tmp_path / "a.csv").open(encoding="utf-8", newline="") as table:
        header = next(csv.reader(table))
    assert header == [f"output\\source ({caption})", "w1", "w2", "w3"]  # the corner cell names the view
    assert window.export_to(tmp_path / "a.npz")
    with np.load(tmp_path / "a.npz", allow_pickle=False) as npz:
        assert str(npz["attention_view"]) == data["attention_view"]
    result = window.flow.result
    assert result is not None
    shown = viewed_result(result, window.heads.choice(), True)
    assert result_figure(shown).column_title == f"source — {caption}"  # the image says it above the matrix


def test_every_head_exports_as_one_labelled_figure(window: MainWindow, tmp_path: Path) -> None:
    result = window.flow.result
    assert result is not None and result.heads is not None
    assert window.menus.head_exports["svg"].isEnabled()
    for suffix in ("png", "svg", "pdf"):
        assert window.export_heads_to(tmp_path / f"grid.{suffix}", FigureSize(1200, 800))
    image = QImage(str(tmp_path / "grid.png"))
    assert (image.width(), image.height()) == (1200, 800)
    size = QSizeF(1200, 800)
    top = MARGIN + len(title_lines(result, size)) * Text(ui_font(12)).line
    table = lookup_table(get_theme(window.heatmap.theme()).alpha_colormap)
    weights = result.heads.weights
    steps, tokens = weights.shape[0], weights.shape[3]
    for layer, head in ((0, 0), (1, 3)):
        rect = head_rect(size, top, 2, 4, layer, head)
        for step, token in ((0, 0), (steps - 1, tokens - 1)):
            x = rect.left() + (token + 0.5) * rect.width() / tokens
            y = rect.top() + (step + 0.5) * rect.height() / steps
            index = min(int(weights[step, layer, head, token] * len(table)), len(table) - 1)
            pixel = image.pixelColor(round(x), round(y))
            assert (pixel.red(), pixel.green(), pixel.blue()) == tuple(int(v) for v in table[index])
    assert b"<image" not in (tmp_path / "grid.svg").read_bytes()  # cells drawn as vectors, not a bitmap


def test_presentation_and_recent_files_take_a_transformer(
    qtbot, window: MainWindow, tiny_transformer_path: Path
) -> None:
    assert str(tiny_transformer_path) in window.settings.recent_files()
    qtbot.keyClick(window, Qt.Key.Key_F11)
    assert window.presenting and all(dock.isHidden() for dock in window.docks)
    np.testing.assert_allclose(window.heatmap.image_data(), _weights(window)[:, 1].mean(axis=1), atol=1e-6)
    qtbot.keyClick(window, Qt.Key.Key_F11)
    assert not window.presenting and not window.docks[5].isHidden()  # the Heads dock comes back
