"""The Heads dock of a transformer: the grid shows every head's weights, a click shows that head in the main
heatmap, the views and sink hiding change what the heatmap shows and its caption says so."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QCoreApplication, QEvent, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication

from engine import SINKS_HIDDEN_NOTE
from gui.app import create_window
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
