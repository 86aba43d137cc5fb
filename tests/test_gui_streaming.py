"""The context inspector follows a decode while it streams, not only once it has finished."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QCoreApplication, QEvent, Qt

from engine import DecodeResult, StepRecord
from gui.app import create_window
from gui.panels.context_view import ContextInspector, cosine_similarity
from gui.window.main_window import MainWindow
from tests.fakes import alpha_of, decode_start, fake_result, step_records

DECODE_TIMEOUT_MS = 30_000
STEP_DELAY_S = 0.3  # long enough for several looks at the window between two steps


@pytest.fixture
def window(qtbot, tiny_model_path: Path, tmp_path: Path) -> Iterator[MainWindow]:
    """A window on the tiny model, its first decode finished."""
    window = create_window(tmp_path / "settings", tiny_model_path, "w1 w2 w3")
    window.resize(1400, 900)
    window.show()
    qtbot.waitExposed(window)
    qtbot.waitUntil(lambda: window.flow.result is not None, timeout=DECODE_TIMEOUT_MS)
    yield window
    window.close()
    window.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)


def test_inspector_shows_each_streamed_step_before_the_decode_ends(qtbot, window: MainWindow) -> None:
    engine_steps: list[StepRecord] = []
    finished: list[DecodeResult] = []
    window.controller.steps_decoded.connect(engine_steps.extend)
    window.controller.decode_finished.connect(finished.append)
    window.transport.set_delay_seconds(STEP_DELAY_S)
    window.source_panel.source_edit.setPlainText("w4 w5 w6 w7 w8")
    inspector = window.inspector

    def shows_step(i: int) -> bool:
        step = inspector.selected_step()
        return inspector.streaming() and step is not None and step >= i and not finished

    for i in (0, 1):  # the first step, then a later one replacing it (the newest is followed)
        qtbot.waitUntil(lambda i=i: shows_step(i), timeout=DECODE_TIMEOUT_MS)
        assert window.flow.busy and window.flow.current_result() is None
        step = inspector.selected_step()
        assert step is not None
        record = next(r for r in engine_steps if r.step == step and r.request_id == window.flow.request_id)
        np.testing.assert_allclose(inspector.current_context(), record.context, rtol=1e-6)
        assert f'step {step} "{record.token}"' in inspector.norm_text()
    window.transport.set_delay_seconds(0.0)
    qtbot.waitUntil(lambda: window.flow.current_result() is not None, timeout=DECODE_TIMEOUT_MS)
    result = window.flow.current_result()
    assert result is not None
    qtbot.waitUntil(lambda: inspector.contributions().size > 0, timeout=DECODE_TIMEOUT_MS)  # the result's views
    step = inspector.selected_step()
    assert step is not None
    np.testing.assert_allclose(inspector.current_context(), result.context[step], rtol=1e-6)


def test_clicking_a_streamed_row_shows_that_steps_context(qtbot, window: MainWindow) -> None:
    window.transport.set_delay_seconds(STEP_DELAY_S)
    window.source_panel.source_edit.setPlainText("w9 w8 w7 w6")
    qtbot.waitUntil(lambda: len(window.flow.records) >= 2 and window.flow.busy, timeout=DECODE_TIMEOUT_MS)
    window.select_step(0)  # as a click on the first row does
    assert window.flow.current_result() is None
    assert window.inspector.selected_step() == 0
    np.testing.assert_allclose(window.inspector.current_context(), window.flow.records[0].context, rtol=1e-6)
    qtbot.wait(round(STEP_DELAY_S * 1500))  # a step more: the selection stays where the user put it
    assert window.inspector.selected_step() == 0 and window.heatmap.selected_step() == 0


def test_a_hidden_inspector_skips_the_streamed_steps_and_catches_up_when_shown(qtbot, window: MainWindow) -> None:
    """Hidden (closed, or a tab behind the Heads dock) it computes nothing per step; shown, it has the steps so far."""
    dock = window.docks[2]
    dock.hide()
    window.transport.set_delay_seconds(STEP_DELAY_S)
    window.source_panel.source_edit.setPlainText("w4 w5 w6 w7 w8")
    qtbot.waitUntil(lambda: len(window.flow.records) >= 2 and window.flow.busy, timeout=DECODE_TIMEOUT_MS)
    qtbot.wait(round(STEP_DELAY_S * 500))  # the side panels' refresh has run at least once since
    assert not window.inspector.streaming() and window.inspector.selected_step() is None
    dock.show()
    qtbot.waitUntil(window.inspector.isVisible)
    assert window.flow.current_result() is None and window.inspector.streaming()
    step = window.inspector.selected_step()
    assert step is not None and step >= 1
    np.testing.assert_allclose(window.inspector.current_context(), window.flow.records[step].context, rtol=1e-6)


def test_inspector_follows_a_decode_under_way_with_its_own_h(qtbot) -> None:
    """From the decode's start on, every view shows this decode: Σ α h, PCA and cosine of the steps so far."""
    inspector = ContextInspector()
    qtbot.addWidget(inspector)
    first, second = fake_result(seed=1), fake_result(seed=2)
    inspector.set_result(first)
    inspector.begin(decode_start(second))
    assert inspector.selected_step() is None and inspector.cosine_matrix().shape == (0, 0)
    assert inspector.pca_points()[1].shape == (0, 2)  # none of the finished decode's c_i
    records = step_records(second)
    for n in (2, 3):
        inspector.show_steps(records[:n], n - 1)
        assert inspector.streaming() and inspector.selected_step() == n - 1
        np.testing.assert_allclose(inspector.current_context(), second.context[n - 1], rtol=1e-6)
        np.testing.assert_allclose(inspector.contributions().sum(axis=0), second.context[n - 1], atol=1e-5)
        h2d, c2d = inspector.pca_points()
        assert len(h2d) == len(second.source_tokens) and len(c2d) == n
        np.testing.assert_allclose(inspector.cosine_matrix(), cosine_similarity(second.context[:n]), atol=1e-6)
        assert f'"{second.output_tokens[n - 1]}"' in inspector.norm_text()
    inspector.show_steps(records[:3], 0)  # a step picked by hand while it streams
    np.testing.assert_allclose(inspector.contributions().sum(axis=0), second.context[0], atol=1e-5)
    inspector.set_result(second)
    assert not inspector.streaming() and inspector.selected_step() == 0
    assert inspector.cosine_matrix().shape == (len(second.output_tokens),) * 2
    inspector.teardown()


def panels_step(window: MainWindow) -> set[int | None]:
    """The step each panel says it shows."""
    return {
        window.heatmap.selected_step(),
        window.inspector.selected_step(),
        window.topk.step,
        window.source_panel.selected_output,
    }


def check_panels_show(window: MainWindow, record: StepRecord, steps_so_far: int) -> None:
    """Every panel shows `record`'s step with the engine's numbers for it."""
    i = record.step
    assert panels_step(window) == {i}
    np.testing.assert_allclose(window.heatmap.image_data()[i], alpha_of(record), rtol=1e-6)
    np.testing.assert_allclose(window.inspector.current_context(), record.context, rtol=1e-6)
    np.testing.assert_allclose(window.inspector.contributions().sum(axis=0), record.context, atol=1e-5)
    assert len(window.inspector.pca_points()[1]) == steps_so_far
    assert window.inspector.cosine_matrix().shape == (steps_so_far, steps_so_far)
    ranked = sorted(record.topk, key=lambda c: c.prob, reverse=True)
    assert window.topk.rows() == [(c.token, pytest.approx(c.prob)) for c in ranked]


def test_every_panel_shows_the_step_the_user_steps_to(qtbot, window: MainWindow) -> None:
    """Step by step (the Step button), then back and forth by key: heatmap row, output line, context inspector
    and top-k all show the same step, with the values the engine sent for it."""
    steps: list[StepRecord] = []
    window.controller.steps_decoded.connect(steps.extend)
    window.source_panel.source_edit.setPlainText("w4 w5 w6")
    window.source_panel.cancel_pending()
    for n in range(1, 4):
        window.step_once()
        qtbot.waitUntil(
            lambda n=n: len(window.flow.records) == n and window.inspector.selected_step() == n - 1,
            timeout=DECODE_TIMEOUT_MS,
        )
        assert window.flow.current_result() is None  # paused: the decode is under way
        check_panels_show(window, window.flow.records[n - 1], n)
        assert window.flow.records[n - 1] in steps  # what the engine sent, not a copy made up by the window
    window.transport.set_delay_seconds(0.0)
    window.toggle_play()
    qtbot.waitUntil(lambda: window.flow.current_result() is not None, timeout=DECODE_TIMEOUT_MS)
    qtbot.wait(50)  # the side panels fill a moment after the heatmap
    records = window.flow.records
    for key, expected in ((Qt.Key.Key_Right, 1), (Qt.Key.Key_Right, 2), (Qt.Key.Key_Left, 1)):
        qtbot.keyClick(window, key)
        check_panels_show(window, records[expected], len(records))
