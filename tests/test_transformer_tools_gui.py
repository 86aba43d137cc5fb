"""A transformer in the window's tools: what-if head edits (zero or pin a head from a step on), forced decoding and
sampling, the beam explorer's view of each hypothesis's heads, and an RNN beside a transformer in the compare view."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from engine import DecodeResult, EditHead, PinStep, align, alpha_difference
from gui.window.main_window import MainWindow
from gui.window.tool_docks import WhatIfTools
from tests.windows import WAIT_MS, close_window, open_transformer_window, open_window

SOURCE = "w1 w2 w3 ."
LAST_LAYER_MEAN = "α, mean over the heads of layer 1"


@pytest.fixture(autouse=True)
def _one_thread() -> None:
    torch.set_num_threads(1)  # the test machine shares two cores with training runs


@pytest.fixture
def window(qtbot: QtBot, tiny_transformer_path: Path, tmp_path: Path) -> Iterator[MainWindow]:
    window = open_transformer_window(qtbot, tiny_transformer_path, tmp_path / "settings", SOURCE)
    yield window
    close_window(window)


def tools_of(window: MainWindow) -> WhatIfTools:
    tools = window.findChild(WhatIfTools)
    assert isinstance(tools, WhatIfTools)
    return tools


def heads_of(result: DecodeResult | None) -> np.ndarray:
    assert result is not None and result.heads is not None
    return result.heads.weights  # (U, L, H, T)


def test_zeroing_or_pinning_a_head_from_a_step_on_in_the_whatif_panel(qtbot: QtBot, window: MainWindow) -> None:
    tools = tools_of(window)
    tools.show_dock(tools.docks[0])
    panel = tools.whatif
    original = window.flow.result
    assert panel.original is original and original is not None and len(original.output_tokens) >= 3
    assert panel.head_row.isVisible() and panel.head_row.isEnabled()
    assert (panel.head_layer.maximum(), panel.head_layer.value()) == (1, 1)
    assert [panel.head_choice.itemText(i) for i in range(panel.head_choice.count())] == [
        "every head", "head 0", "head 1", "head 2", "head 3",
    ]  # fmt: skip
    panel.set_step(1)
    panel.set_head(1, 3)
    with qtbot.waitSignal(panel.result_ready, timeout=WAIT_MS) as blocker:
        qtbot.mouseClick(panel.zero_head_button, Qt.MouseButton.LeftButton)
    zeroed: DecodeResult = blocker.args[0]
    assert zeroed.interventions == (EditHead(1, 3, "zero", 0, 1),)
    assert float(np.abs(heads_of(zeroed)[1:, 1, 3]).max()) == 0.0
    assert float(heads_of(zeroed)[0, 1, 3].max()) > 0.0  # step 0 is before the edit
    np.testing.assert_array_equal(heads_of(zeroed)[0], heads_of(original)[0])
    assert zeroed.output_tokens[0] == original.output_tokens[0]
    assert panel.edits_label.text() == "Edits: from step 1: layer 1, head 3 zeroed"

    panel.set_step(2)
    panel.set_word(2)
    panel.set_head(0, None)  # every head of layer 0
    with qtbot.waitSignal(panel.result_ready, timeout=WAIT_MS) as blocker:
        qtbot.mouseClick(panel.pin_head_button, Qt.MouseButton.LeftButton)
    pinned: DecodeResult = blocker.args[0]
    assert pinned.interventions == (EditHead(1, 3, "zero", 0, 1), EditHead(0, None, "pin", 2, 2))
    np.testing.assert_array_equal(heads_of(pinned)[2:, 0, :, 2], 1.0)
    assert float(np.abs(heads_of(pinned)[1:, 1, 3]).max()) == 0.0  # the first edit still holds
    assert float(heads_of(pinned)[1, 0, :, 2].min()) < 1.0  # step 1 is before the pin
    assert '"w3"' in panel.edits_label.text() and "layer 0, every head all on" in panel.edits_label.text()

    with qtbot.waitSignal(panel.result_ready, timeout=WAIT_MS) as blocker:
        qtbot.mouseClick(panel.pin_button, Qt.MouseButton.LeftButton)  # an α row at the same step keeps head edits
    assert blocker.args[0].interventions == (*pinned.interventions, PinStep(2, 2))


def test_forced_decoding_and_sampling_from_the_window(qtbot: QtBot, window: MainWindow) -> None:
    window.controls.set_strategy("forced")
    with qtbot.waitSignal(window.flow.finished, timeout=WAIT_MS, check_params_cb=lambda r: r.strategy == "forced"):
        window.source_panel.target_edit.setPlainText("w3 w1 w2")
    forced = window.flow.result
    assert forced is not None and forced.output_tokens == ("w3", "w1", "w2", "<eos>")
    weights = heads_of(forced)
    assert weights.shape == (4, 2, 4, len(forced.source_tokens))
    assert np.all(np.isfinite(forced.token_probs)) and np.all(forced.token_probs > 0)
    np.testing.assert_allclose(window.heatmap.image_data(), weights[:, 1].mean(axis=1), atol=1e-6)
    assert window.heatmap.caption() == LAST_LAYER_MEAN
    np.testing.assert_allclose(window.heads.grid.weights(0, 1), weights[:, 0, 1], atol=1e-6)

    window.controls.set_strategy("sample")
    window.controls.temperature.setValue(1.5)
    with qtbot.waitSignal(window.flow.finished, timeout=WAIT_MS, check_params_cb=lambda r: r.strategy == "sample"):
        window.controls.seed.setValue(7)
    sampled = window.flow.result
    assert sampled is not None and sampled.strategy == "sample"
    weights = heads_of(sampled)
    assert weights.shape[:3] == (len(sampled.output_tokens), 2, 4)
    window.heads.show_head(0, 1)
    np.testing.assert_allclose(window.heatmap.image_data(), weights[:, 0, 1], atol=1e-6)
    assert window.heatmap.caption() == "α, head 1 of layer 0"
    with qtbot.waitSignal(window.flow.finished, timeout=WAIT_MS):
        assert window.decode_now()  # the same seed: the same sample
    again = window.flow.result
    assert again is not None and again.output_tokens == sampled.output_tokens
    np.testing.assert_array_equal(heads_of(again), weights)


def test_the_beam_explorer_shows_each_hypothesiss_heads(qtbot: QtBot, window: MainWindow) -> None:
    tools = tools_of(window)
    tools.show_dock(tools.docks[2])
    beam = tools.beam
    beam.width_box.setValue(3)
    with qtbot.waitSignal(beam.result_ready, timeout=WAIT_MS) as blocker:
        beam.run_beam()
    result: DecodeResult = blocker.args[0]
    assert len(result.hypotheses) >= 2
    np.testing.assert_array_equal(heads_of(result), result.hypotheses[0].heads.weights)  # type: ignore[union-attr]
    for k, h in enumerate(result.hypotheses):
        beam.hypotheses.setCurrentRow(k)
        assert h.heads is not None and h.heads.weights.shape[:3] == (len(h.tokens), 2, 4)
        assert beam.heatmap.axis_labels()[1] == list(h.tokens)
        np.testing.assert_allclose(beam.heatmap.image_data(), h.heads.weights[:, 1].mean(axis=1), atol=1e-6)
        assert h.alpha is not None
        np.testing.assert_allclose(beam.heatmap.image_data(), h.alpha, atol=1e-6)  # α as the search decoded it
        assert beam.heatmap.caption() == LAST_LAYER_MEAN
    window.heads.show_head(0, 2)  # the Heads panel's choice: the beam explorer follows it
    last = result.hypotheses[-1]
    assert last.heads is not None
    np.testing.assert_allclose(beam.heatmap.image_data(), last.heads.weights[:, 0, 2], atol=1e-6)
    assert beam.heatmap.caption() == "α, head 2 of layer 0"
    beam.hypotheses.setCurrentRow(0)
    first = result.hypotheses[0].heads
    assert first is not None
    np.testing.assert_allclose(beam.heatmap.image_data(), first.weights[:, 0, 2], atol=1e-6)


def _compare(qtbot: QtBot, window: MainWindow, model_b: Path) -> tuple[DecodeResult, DecodeResult]:
    tools = tools_of(window)
    tools.show_dock(tools.docks[3])
    compare = tools.compare
    compare.model_edit.setText(str(model_b))
    with qtbot.waitSignal(compare.compared, timeout=WAIT_MS) as blocker:
        compare.compare()
    a, b = window.flow.result, blocker.args[0]
    assert isinstance(a, DecodeResult) and isinstance(b, DecodeResult)
    assert compare.a is a and compare.b is b and a.alpha is not None and b.alpha is not None
    np.testing.assert_allclose(compare.a_map.image_data(), a.alpha, atol=1e-6)
    np.testing.assert_allclose(compare.b_map.image_data(), b.alpha, atol=1e-6)
    rows, columns = align(a.output_tokens, b.output_tokens), align(a.source_tokens, b.source_tokens)
    expected = alpha_difference(a.alpha, b.alpha, rows, columns)
    np.testing.assert_allclose(compare.diff.image_data(), expected.astype(np.float32), equal_nan=True)
    assert np.isfinite(expected).any()
    return a, b


def test_an_rnn_beside_a_transformer_in_the_compare_view(
    qtbot: QtBot, tiny_model_path: Path, tiny_transformer_path: Path, tmp_path: Path
) -> None:
    window = open_window(qtbot, tiny_model_path, tmp_path / "settings", "w1 w2 w3")
    try:
        tools = tools_of(window)
        tools.show_dock(tools.docks[0])
        assert tools.whatif.head_row.isHidden()  # an RNN has no heads to edit
        a, b = _compare(qtbot, window, tiny_transformer_path)
        assert a.heads is None and b.heads is not None
        np.testing.assert_allclose(b.alpha, b.heads.weights[:, 1].mean(axis=1), atol=1e-6)  # type: ignore[arg-type]
        compare = tools.compare
        assert compare.a_map.caption() == ""
        assert compare.b_map.caption() == LAST_LAYER_MEAN
        assert "B: transformer.safetensors, greedy." in compare.status.text()
    finally:
        close_window(window)


def test_a_transformer_beside_an_rnn_in_the_compare_view(
    qtbot: QtBot, window: MainWindow, tiny_model_path: Path
) -> None:
    a, b = _compare(qtbot, window, tiny_model_path)
    assert a.heads is not None and b.heads is None
    compare = tools_of(window).compare
    assert compare.a_map.caption() == LAST_LAYER_MEAN
    assert compare.b_map.caption() == ""
