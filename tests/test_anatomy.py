"""Anatomy of a step: the parts the engine's records give (query, e, α, α h, c, candidates) and the view that
draws them, following the step every other panel shows."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from engine import step_anatomy
from gui.panels.anatomy_view import AnatomyView
from gui.window.main_window import MainWindow
from tests.fakes import alpha_of, decode_start, fake_result, scores_of, step_records
from tests.test_gui_app import make_window  # noqa: F401 (a fixture)


def test_the_parts_add_up() -> None:
    result = fake_result()
    start, records = decode_start(result), step_records(result)
    for i in range(len(records)):
        a = step_anatomy(start, records, i, "prev", len(records))
        np.testing.assert_allclose(a.weighted.sum(axis=0), result.context[i], atol=1e-5)  # Σ_j α_ij h_j = c_i
        np.testing.assert_allclose(a.alpha, alpha_of(result)[i])
        np.testing.assert_allclose(a.scores, scores_of(result)[i])
        expected_query = start.initial_state if i == 0 else result.states[i - 1]  # Bahdanau: s_{i-1}
        np.testing.assert_allclose(a.query, expected_query)
        assert a.pair_scores == len(result.source_tokens) * len(result.output_tokens)
        assert [c.prob for c in a.candidates] == sorted((c.prob for c in a.candidates), reverse=True)
    luong = step_anatomy(start, records, 1, "new", len(records))
    np.testing.assert_allclose(luong.query, result.states[1])  # Luong, JoeyNMT, OpenNMT-py: s_i
    assert "s₀" in step_anatomy(start, records, 0, "prev", 4).query_name
    with pytest.raises(ValueError, match="no query"):
        step_anatomy(start, records, 0, "none", 4)


def test_the_view_animates_scores_into_weights(qtbot: QtBot) -> None:
    view = AnatomyView()
    qtbot.addWidget(view)
    view.resize(900, 500)
    view.show()
    result = fake_result()
    start, records = decode_start(result), step_records(result)
    view.show_step(step_anatomy(start, records, 1, "prev", 4))
    assert view.shown_step() == 1 and view.phase < 1.0  # the softmax is being shown
    qtbot.waitUntil(lambda: view.phase == 1.0, timeout=3000)
    image = view.to_image(800, 450)
    colours = {image.pixel(x, y) for x in range(0, 800, 9) for y in range(0, 450, 9)}
    assert not image.isNull() and len(colours) > 20  # bars, strips and text, not an empty frame
    view.show_note("Step 7 has not been decoded yet.")
    assert view.shown_step() is None and "Step 7" in view.note


def test_the_anatomy_follows_the_selected_step_and_is_a_slide(qtbot: QtBot, make_window) -> None:  # noqa: F811
    window: MainWindow = make_window()
    window.docks[4].show()
    window.docks[4].raise_()
    for i in (0, 2, 1):
        window.select_step(i)
        assert window.anatomy.shown_step() == i == window.heatmap.selected_step()
        record = window.flow.records[i]
        assert window.anatomy.anatomy is not None and window.anatomy.anatomy.token == record.token
        np.testing.assert_allclose(window.anatomy.anatomy.context, record.context)
    qtbot.keyClick(window, Qt.Key.Key_A)  # the slide in the heatmap's place
    assert window.views.currentWidget() is window.anatomy_slide and window.anatomy_slide.shown_step() == 1
    qtbot.keyClick(window, Qt.Key.Key_Right)
    assert window.anatomy_slide.shown_step() == 2
    qtbot.keyClick(window, Qt.Key.Key_A)
    assert window.views.currentWidget() is window.heatmap
