"""The context inspector follows a decode while it streams, not only once it has finished."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QCoreApplication, QEvent

from engine import DecodeResult, StepRecord
from gui.app import create_window
from gui.panels.context_view import ContextInspector
from gui.window.main_window import MainWindow
from tests.fakes import fake_result, step_records

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


def test_inspector_streams_records_then_takes_the_result(qtbot) -> None:
    inspector = ContextInspector()
    qtbot.addWidget(inspector)
    first, second = fake_result(seed=1), fake_result(seed=2)
    inspector.set_result(first)
    records = step_records(second)
    inspector.show_record(records[1])  # a new decode's step: the finished one's views make way
    assert inspector.streaming() and inspector.selected_step() == 1
    np.testing.assert_allclose(inspector.current_context(), second.context[1], rtol=1e-6)
    assert inspector.contributions().size == 0  # needs the h_j, which only the result brings
    assert f'"{second.output_tokens[1]}"' in inspector.norm_text()
    inspector.show_record(records[2])
    np.testing.assert_allclose(inspector.current_context(), second.context[2], rtol=1e-6)
    inspector.set_result(second)
    assert not inspector.streaming() and inspector.selected_step() == 0
    np.testing.assert_allclose(inspector.contributions().sum(axis=0), second.context[0], atol=1e-5)
    inspector.teardown()
