"""What-if tools in the GUI, on the tiny model through a real EngineController (offscreen)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from engine import DecodeResult, EditRow, MaskSource, align, alpha_difference
from gui.bridge.engine_controller import EngineController
from gui.tools.beam_view import BeamExplorer, node_path, tree_layout
from gui.tools.compare_view import CompareView
from gui.tools.perturbation_table import PerturbationPanel
from gui.tools.whatif_panel import WhatIfPanel
from tests.fakes import alpha_of
from tests.orphans import collector_paused, orphaned_graphics_items

WAIT_MS = 20_000
SOURCE = "w1 w2 w3"


@pytest.fixture(scope="module")
def engine(tiny_model_path: Path, qapp: Any) -> Iterator[EngineController]:
    """One loaded controller for the module: loading is the slow part."""
    controller = EngineController()
    loaded: list[object] = []
    controller.model_loaded.connect(loaded.append)
    controller.load_model(str(tiny_model_path), "cpu")
    _poll(qapp, lambda: bool(loaded))  # qtbot is function-scoped: poll by hand
    yield controller
    controller.shutdown()


def _poll(app: Any, done: Any) -> None:
    import time

    end = time.monotonic() + WAIT_MS / 1000
    while not done() and time.monotonic() < end:
        app.processEvents()
        time.sleep(0.01)
    assert done(), "timed out"


def decode(qtbot: QtBot, engine: EngineController, source: str, **options: Any) -> DecodeResult:
    with qtbot.waitSignal(engine.decode_finished, timeout=WAIT_MS) as blocker:
        engine.submit(source, **options)
    return blocker.args[0]


@pytest.fixture
def panel(qtbot: QtBot, engine: EngineController) -> Iterator[WhatIfPanel]:
    widget = WhatIfPanel(engine)
    qtbot.addWidget(widget)
    widget.resize(900, 800)
    widget.show()
    yield widget
    widget.teardown()


def test_zero_word_button_shows_the_difference(qtbot: QtBot, engine: EngineController, panel: WhatIfPanel) -> None:
    original = decode(qtbot, engine, SOURCE)
    panel.set_original(original, SOURCE)
    panel.set_word(1)
    with qtbot.waitSignal(panel.result_ready, timeout=WAIT_MS) as blocker:
        qtbot.mouseClick(panel.zero_button, Qt.MouseButton.LeftButton)
    edited: DecodeResult = blocker.args[0]
    assert edited is panel.edited and edited.interventions == (MaskSource(1),)
    assert np.all(alpha_of(edited)[:, 1] == 0)
    rows = align(original.output_tokens, edited.output_tokens)
    expected = alpha_difference(alpha_of(original), alpha_of(edited), rows)
    np.testing.assert_allclose(panel.diff.image_data(), expected.astype(np.float32), equal_nan=True)
    low, high = panel.diff.levels()
    assert low == -high and high == pytest.approx(np.nanmax(np.abs(expected)), rel=1e-6)
    assert edited.output_tokens != original.output_tokens  # the toy reversal needs w2 ...
    assert "font-weight:bold" in panel.edited_label.text()  # ... and the changed tokens are marked
    assert 'zero "w2" everywhere' in panel.edits_label.text()


def test_pin_and_row_editor(qtbot: QtBot, engine: EngineController, panel: WhatIfPanel) -> None:
    original = decode(qtbot, engine, SOURCE)
    panel.set_original(original, SOURCE)
    panel.set_step(1)
    panel.set_word(0)
    with qtbot.waitSignal(panel.result_ready, timeout=WAIT_MS) as blocker:
        qtbot.mouseClick(panel.pin_button, Qt.MouseButton.LeftButton)
    np.testing.assert_array_equal(blocker.args[0].alpha[1], [1.0, 0.0, 0.0])
    np.testing.assert_array_equal(alpha_of(blocker.args[0])[0], alpha_of(original)[0])
    assert panel.row_editor.row() == (1.0, 0.0, 0.0)  # the editor shows the step's explicit row
    panel.row_editor.set_weight(0, 0.4)  # "drag" one weight down: the others fill the rest
    assert panel.row_editor.row() == pytest.approx((0.4, 0.3, 0.3))
    with qtbot.waitSignal(panel.result_ready, timeout=WAIT_MS) as blocker:
        qtbot.mouseClick(panel.apply_row_button, Qt.MouseButton.LeftButton)
    assert panel.edits() == (EditRow(1, (0.4, 0.3, 0.3)),)  # it replaced the pin at that step
    np.testing.assert_allclose(blocker.args[0].alpha[1], [0.4, 0.3, 0.3], atol=1e-6)
    with qtbot.waitSignal(panel.result_ready, timeout=WAIT_MS) as blocker:
        panel.set_tau(1e-3)
    assert panel.edits() == (EditRow(1, (0.4, 0.3, 0.3)),) and blocker.args[0].score_temperature == 1e-3
    panel.clear_edits()
    assert panel.edits() == () and np.all(panel.diff.image_data() == 0)


def test_edits_wait_for_a_running_decode(qtbot: QtBot, engine: EngineController, panel: WhatIfPanel) -> None:
    original = decode(qtbot, engine, SOURCE)
    panel.set_original(original, SOURCE)
    engine.set_delay(0.2)
    try:
        with qtbot.waitSignal(engine.steps_decoded, timeout=WAIT_MS):
            engine.submit("w1 w2 w3 w4 w5")  # someone else's decode, still streaming
        panel.pin_step()
        assert "busy" in panel.status_label.text() and not panel.client.pending
    finally:
        engine.set_delay(0.0)
        with qtbot.waitSignal(engine.decode_finished, timeout=WAIT_MS):
            pass


def test_perturbation_table(qtbot: QtBot, engine: EngineController) -> None:
    widget = PerturbationPanel(engine)
    qtbot.addWidget(widget)
    original = decode(qtbot, engine, "w1 w2 zz")
    widget.set_original(original, "w1 w2 zz")
    with qtbot.waitSignal(widget.table_ready, timeout=WAIT_MS) as blocker:
        qtbot.mouseClick(widget.try_button, Qt.MouseButton.LeftButton)
    rows = widget.rows()
    assert [r[0] for r in rows] == ["w1", "w2", "zz"]
    assert rows[2][2] == "none" and rows[0][2] != "none"  # the model ignores the unknown word
    assert [r[1] for r in rows] == [p.text for p in blocker.args[0].perturbations]
    widget.teardown()


def test_beam_view_lists_the_hypotheses(qtbot: QtBot, engine: EngineController) -> None:
    widget = BeamExplorer(engine)
    qtbot.addWidget(widget)
    widget.resize(1000, 800)
    greedy = decode(qtbot, engine, "w6 w7 w8 w9")
    widget.set_original(greedy, "w6 w7 w8 w9")
    assert widget.result is None  # not a beam decode: the view offers to run one
    widget.width_box.setValue(3)
    with collector_paused() as before:
        for width in (3, 2):  # the second tree replaces the first one's node labels
            widget.width_box.setValue(width)
            with qtbot.waitSignal(widget.result_ready, timeout=WAIT_MS) as blocker:
                qtbot.mouseClick(widget.run_button, Qt.MouseButton.LeftButton)
        assert orphaned_graphics_items() == before
    widget.width_box.setValue(3)
    with qtbot.waitSignal(widget.result_ready, timeout=WAIT_MS) as blocker:
        qtbot.mouseClick(widget.run_button, Qt.MouseButton.LeftButton)
    result: DecodeResult = blocker.args[0]
    texts = widget.hypothesis_texts()
    assert len(texts) == len(result.hypotheses) >= 2
    assert all(" ".join(h.tokens) in text for h, text in zip(result.hypotheses, texts, strict=True))
    widget.hypotheses.setCurrentRow(1)
    np.testing.assert_allclose(widget.heatmap.image_data(), alpha_of(result.hypotheses[1]))
    finished = [n for n in result.beam_tree if n.status == "finished"]
    assert {node_path(result.beam_tree, n.index) for n in finished} == {h.tokens for h in result.hypotheses}
    assert tree_layout(result.beam_tree).shape == (len(result.beam_tree), 2)
    widget.teardown()


def test_compare_two_inputs_in_sync(qtbot: QtBot, engine: EngineController, tiny_model_path: Path) -> None:
    view = CompareView()
    qtbot.addWidget(view)
    a = decode(qtbot, engine, SOURCE)
    view.set_reference(a, str(tiny_model_path), SOURCE)
    view.source_edit.setText("w1 w2 w4 w5")
    try:
        with qtbot.waitSignal(view.compared, timeout=WAIT_MS) as blocker:
            qtbot.mouseClick(view.compare_button, Qt.MouseButton.LeftButton)
        b: DecodeResult = blocker.args[0]
        assert b.source_tokens == ("w1", "w2", "w4", "w5")
        np.testing.assert_allclose(view.b_map.image_data(), alpha_of(b))
        rows, columns = align(a.output_tokens, b.output_tokens), align(a.source_tokens, b.source_tokens)
        expected = alpha_difference(alpha_of(a), alpha_of(b), rows, columns)  # aligned by edit distance
        np.testing.assert_allclose(view.diff.image_data(), expected, equal_nan=True)
        assert view.diff.axis_labels()[0] == ["w1", "w2", "w3 → w4", "– → w5"]
        view.a_map.step_selected.emit(2)  # as a click in A would
        assert view.b_map.selected_step() == 2 and view.diff.selected_step() == 2
    finally:
        view.teardown()
    assert view.engine is not None and not view.engine._thread.isRunning()  # the second engine thread is gone


def test_panels_start_empty_and_disabled(qtbot: QtBot, engine: EngineController) -> None:
    widget = WhatIfPanel(engine)
    qtbot.addWidget(widget)
    assert not widget.zero_button.isEnabled() and "Decode a sentence first" in widget.status_label.text()
    widget.zero_word()  # nothing to edit: no edit, no request
    widget.pin_step()
    assert widget.edits() == () and not widget.client.pending
    widget.teardown()


def test_whatif_tools_in_the_main_window(qtbot: QtBot, tiny_model_path: Path, tmp_path: Path) -> None:
    """The menu and docks follow the window's decode; closing the window tears them down."""
    from PySide6.QtCore import QCoreApplication, QEvent

    from gui.app import create_window
    from gui.window.tool_docks import WhatIfTools

    window = create_window(tmp_path / "settings", tiny_model_path, SOURCE)
    try:
        tools = window.findChild(WhatIfTools)
        assert isinstance(tools, WhatIfTools)
        window.resize(1400, 900)
        window.show()
        qtbot.waitUntil(lambda: window.flow.result is not None, timeout=WAIT_MS)
        assert all(d.isHidden() for d in tools.docks)
        assert tools.whatif.original is None  # a hidden panel is filled when it is shown, not at every decode
        assert "&What-if" in [a.text() for a in window.menuBar().actions()]
        window.select_step(1)
        tools.menu_actions[0].trigger()
        assert not tools.docks[0].isHidden()
        assert tools.whatif.original is window.flow.result and tools.whatif.step() == 1
        window.heatmap.step_selected.emit(2)
        assert tools.whatif.step() == 2
        assert not tools.beam.run_button.isEnabled()
        tools.menu_actions[2].trigger()  # the beam explorer, hidden until now, takes the decode too
        assert tools.beam.run_button.isEnabled() and "not a beam search" in tools.beam.status.text()
        window.set_theme("dark")
        tools.apply_look()  # (the theme menu action calls this; set_theme is the window's own slot)
        assert tools.beam.heatmap.theme() == "dark"
        window.set_presentation(True, full_screen=False)
        assert tools.docks[0].isHidden()
        window.set_presentation(False)
        assert not tools.docks[0].isHidden()  # the window's saved layout brings it back
    finally:
        window.close()
        window.deleteLater()
        QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    assert tools._torn_down
