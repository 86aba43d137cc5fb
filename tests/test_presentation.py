"""Presentation mode for a lecture hall: one compact line above the heatmap, zoom by key and Ctrl+wheel that
grows labels and cells, the step and its strongest source word marked, its own (dark) theme, the keys."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from pytestqt.qtbot import QtBot

from gui.matrix.heatmap import HeatmapWidget, _window
from gui.window.main_window import MainWindow
from tests.fakes import alpha_of, fake_result
from tests.test_gui_app import make_window  # noqa: F401 (a fixture)
from tests.test_gui_widgets import big_result


def ctrl_wheel(window: MainWindow, up: bool) -> None:
    """A Ctrl+wheel turn over the heatmap: its view passes it on (ignores it), and the window zooms.

    Qt propagates only spontaneous wheel events to the parents, so the test hands it on as Qt would; a real
    window under Xvfb, driven with xdotool, zooms the same way.
    """
    view = window.heatmap.graphics_view()
    at = QPointF(view.width() / 2, view.height() / 2)
    event = QWheelEvent(
        at,
        QPointF(view.mapToGlobal(at.toPoint())),
        QPoint(),
        QPoint(0, 120 if up else -120),
        Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.ControlModifier,
        Qt.ScrollPhase.NoScrollPhase,
        False,
    )
    event.accept()
    view.wheelEvent(event)
    assert not event.isAccepted()  # not the matrix's own pan and zoom
    window.wheelEvent(event)
    assert event.isAccepted()


def test_presentation_is_one_line_above_a_heatmap_with_its_own_theme(qtbot: QtBot, make_window) -> None:  # noqa: F811
    window = make_window()
    window.set_theme("light")
    window.set_presentation(True, full_screen=False)
    panel = window.source_panel
    assert panel.compact and panel.unknown_label.isHidden() and not window.statusBar().isVisible()
    qtbot.waitUntil(  # laid out on one line
        lambda: abs(panel.source_edit.geometry().center().y() - panel.output_area.geometry().center().y()) < 12
    )
    assert window.theme_name == "dark" and window.heatmap.theme() == "dark"  # the lecture theme
    window.set_theme("light")  # chosen while presenting: the lecture theme from now on
    window.set_presentation(False)
    assert window.theme_name == "light" and not panel.compact and window.statusBar().isVisible()
    window.set_theme("dark")
    window.set_presentation(True, full_screen=False)
    assert window.theme_name == "light" and window.presentation_theme() == "light"
    window.set_presentation(False)
    assert window.theme_name == "dark" and window.desk_theme() == "dark"


def test_zoom_keys_and_ctrl_wheel_grow_the_labels_and_the_cells(qtbot: QtBot, make_window) -> None:  # noqa: F811
    window = make_window()
    window.set_presentation(True, full_screen=False)
    zoom = window.heatmap.zoom()
    window.menus.zoom_in.trigger()
    assert window.heatmap.zoom() > zoom
    assert "Ctrl+=" in [s.toString() for s in window.menus.zoom_in.shortcuts()]  # the key without Shift
    grown = window.heatmap.zoom()
    ctrl_wheel(window, up=False)
    assert window.heatmap.zoom() < grown
    ctrl_wheel(window, up=True)
    assert window.heatmap.zoom() == pytest.approx(grown)


def test_keys_step_home_and_end(qtbot: QtBot, make_window) -> None:  # noqa: F811
    window = make_window()
    window.set_presentation(True, full_screen=False)
    last = window.flow.step_count() - 1
    for key, expected in ((Qt.Key.Key_End, last), (Qt.Key.Key_Home, 0), (Qt.Key.Key_Right, 1), (Qt.Key.Key_Left, 0)):
        qtbot.keyClick(window, key)
        assert window.heatmap.selected_step() == expected == window.inspector.selected_step()
    text = window.source_panel.source_text()
    qtbot.keyClick(window, Qt.Key.Key_Space)  # play, not a space typed into the source
    assert window.source_panel.source_text() == text


def test_the_step_and_its_strongest_source_word_stand_out(qtbot: QtBot) -> None:
    heatmap = HeatmapWidget()
    qtbot.addWidget(heatmap)
    result = fake_result()
    heatmap.set_result(result)
    for i in range(len(result.output_tokens)):
        heatmap.select_step(i)
        j = int(np.argmax(alpha_of(result)[i]))
        assert heatmap.focus_column() == j
        assert heatmap._top.emphasised() == j and heatmap._left.emphasised() == i
    heatmap.select_step(None)
    assert heatmap.focus_column() is None and heatmap._top.emphasised() is None
    heatmap.teardown()


def test_a_big_matrix_keeps_readable_cells_and_follows_the_step(qtbot: QtBot) -> None:
    heatmap = HeatmapWidget()
    qtbot.addWidget(heatmap)
    heatmap.resize(800, 600)
    heatmap.show()
    result = big_result(60)
    heatmap.set_result(result)
    heatmap.set_min_cell_px(40)
    qtbot.wait(50)
    vb = heatmap._plot.vb
    (x0, x1), (y0, y1) = vb.viewRange()
    assert (y1 - y0) * 40 <= vb.height() + 1 and y1 - y0 < len(result.output_tokens)  # part of it, at 40 px a cell
    heatmap.select_step(50)
    (_, _), (y0, y1) = vb.viewRange()
    assert y0 <= 50 < y1  # the view followed the step
    heatmap.set_min_cell_px(0)
    (_, _), (y0, y1) = vb.viewRange()
    assert (y0, y1) == (0, len(result.output_tokens))
    heatmap.teardown()


def test_window_of_cells() -> None:
    assert _window(10, 500, 0, 3) == (0.0, 10.0)  # no minimum: everything
    assert _window(10, 500, 40, 3) == (0.0, 10.0)  # fits anyway
    assert _window(100, 500, 50, 50) == (45.5, 55.5)  # ten cells, centred on cell 50
    assert _window(100, 500, 50, 0) == (0.0, 10.0) and _window(100, 500, 50, 99) == (90.0, 100.0)  # kept inside
