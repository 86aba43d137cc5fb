"""The desktop app end to end (offscreen): live decode, heatmap, inspector, exports, teaching, errors, settings."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6.QtCore import QCoreApplication, QEvent, QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent, QGuiApplication, QImage
from PySide6.QtWidgets import QStyle, QStyleOptionButton, QStyleOptionSlider

from gui.app import DEFAULT_SOURCE, SCREENSHOT_SIZES, create_window, run
from gui.style.theme import PRESENTATION_ZOOM, clamp_zoom
from gui.text.token_spans import token_spans, unknown_spans
from gui.tools.quality_plot import QualityPlot
from gui.window.main_window import MainWindow
from gui.window.menus import Menus
from tests.orphans import collector_paused, orphaned_graphics_items

REPO = Path(__file__).resolve().parent.parent
DECODE_TIMEOUT_MS = 30_000


def _dispose(window: MainWindow) -> None:
    window.close()
    window.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)


@pytest.fixture
def make_window(qtbot, tiny_model_path: Path, tmp_path: Path) -> Iterator:
    """Factory: a window on the tiny model, its first decode finished; every one is closed afterwards."""
    windows: list[MainWindow] = []

    def make(source: str | None = "w1 w2 w3", settings: Path | None = None, wait: bool = True) -> MainWindow:
        window = create_window(settings or tmp_path / "settings", tiny_model_path, source)
        windows.append(window)
        window.resize(1400, 900)
        window.show()
        qtbot.waitExposed(window)
        if wait:
            qtbot.waitUntil(lambda: window.flow.result is not None, timeout=DECODE_TIMEOUT_MS)
        return window

    yield make
    for window in windows:
        _dispose(window)


def type_source(qtbot, window: MainWindow, text: str):
    """Replace the source by typing it; returns the DecodeResult the engine sends for exactly that text."""
    editor = window.source_panel.source_edit
    editor.selectAll()
    expected = text.split()
    with qtbot.waitSignal(
        window.controller.decode_finished,
        timeout=DECODE_TIMEOUT_MS,
        check_params_cb=lambda r: list(r.source_tokens) == expected,
    ) as blocker:
        qtbot.keyClick(editor, Qt.Key.Key_Delete)
        qtbot.keyClicks(editor, text)
    qtbot.waitUntil(lambda: window.flow.result is blocker.args[0])
    return blocker.args[0]


def test_typing_decodes_and_heatmap_shows_engine_alpha(qtbot, make_window) -> None:
    window = make_window()
    result = type_source(qtbot, window, "w4 w5 w6 w7")
    np.testing.assert_array_equal(window.heatmap.image_data(), result.alpha)
    assert window.heatmap.axis_labels() == (list(result.source_tokens), list(result.output_tokens))
    assert window.source_panel.output_text() == f"→ {result.text}"  # marked or not: the details may have come
    window.transport.mode.setCurrentIndex(window.transport.mode.findData("scores"))
    np.testing.assert_array_equal(window.heatmap.image_data(), result.scores)
    window.transport.transpose.setChecked(True)
    np.testing.assert_array_equal(window.heatmap.image_data(), result.scores.T)


def test_hover_and_click_select_a_step_everywhere(qtbot, make_window) -> None:
    window = make_window()
    result = window.flow.result
    view = window.heatmap.findChild(pg.GraphicsLayoutWidget)
    step, j = min(2, len(result.output_tokens) - 1), 1
    point = view.mapFromScene(window.heatmap.cell_center(step, j))
    qtbot.mouseMove(view.viewport(), point)
    qtbot.waitUntil(lambda: window.heatmap.hover_text() != "")
    hover = window.heatmap.hover_text()
    assert f'"{result.output_tokens[step]}"' in hover and f'"{result.source_tokens[j]}"' in hover
    assert f"{result.alpha[step, j]:.3f}" in hover
    with qtbot.waitSignal(window.heatmap.step_selected, timeout=2000):
        qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=point)
    assert window.heatmap.selected_step() == step
    assert window.inspector.selected_step() == step
    np.testing.assert_allclose(window.inspector.current_context(), result.context[step], rtol=1e-6)
    assert window.topk.rows()[0] == (result.topk[step][0].token, pytest.approx(result.topk[step][0].prob))


def test_arrow_keys_move_between_steps(qtbot, make_window) -> None:
    window = make_window()
    window.select_step(0)
    qtbot.keyClick(window, Qt.Key.Key_Right)
    assert window.heatmap.selected_step() == 1 == window.inspector.selected_step()
    np.testing.assert_allclose(window.inspector.current_context(), window.flow.result.context[1], rtol=1e-6)
    qtbot.keyClick(window, Qt.Key.Key_Left)
    qtbot.keyClick(window, Qt.Key.Key_Left)  # clamps at the first step
    assert window.heatmap.selected_step() == 0


def test_a_new_decode_selects_its_first_step_again(qtbot, make_window) -> None:
    """A short decode reaches the window as its result only (no streamed rows first): it still resets the
    selection the user made in the last one, and the hover readout about the last matrix."""
    window = make_window()
    window.select_step(2)  # as a click on row 2 does: the selection stops following the decode
    view = window.heatmap.findChild(pg.GraphicsLayoutWidget)
    view.scene().sigMouseMoved.emit(window.heatmap.cell_center(2, 1))  # what the scene sends on a mouse move
    assert window.heatmap.selected_step() == 2 and window.heatmap.hover_text()
    result = type_source(qtbot, window, "w4 w5 w6")
    qtbot.waitUntil(lambda: window.inspector.selected_step() == 0, timeout=DECODE_TIMEOUT_MS)
    assert window.heatmap.selected_step() == 0 and window.heatmap.hover_text() == ""
    np.testing.assert_allclose(window.inspector.current_context(), result.context[0], rtol=1e-6)


def test_unknown_words_are_marked_in_the_editor(qtbot, make_window) -> None:
    window = make_window()
    result = type_source(qtbot, window, "w1 blorp w2")
    assert result.unknown_positions == (1,)
    assert window.source_panel.unknown_ranges() == [(3, 8)]
    assert window.source_panel.unknown_label.text() == "unknown: blorp"


def test_forced_decoding_follows_the_reference(qtbot, make_window) -> None:
    window = make_window()
    window.controls.set_strategy("forced")
    assert not window.source_panel.target_edit.isHidden()
    with qtbot.waitSignal(
        window.controller.decode_finished, timeout=DECODE_TIMEOUT_MS, check_params_cb=lambda r: r.strategy == "forced"
    ):
        qtbot.keyClicks(window.source_panel.target_edit, "W3 W1")
    assert list(window.flow.result.output_tokens[:2]) == ["w3", "w1"]


def test_decode_error_shows_in_the_banner_and_clears_on_success(qtbot, make_window) -> None:
    window = make_window()
    window.controls.set_strategy("forced")
    with qtbot.waitSignal(window.controller.decode_failed, timeout=DECODE_TIMEOUT_MS):
        window.source_panel.target_edit.setPlainText("\u200b")  # invisible: no tokens to force
    assert window.banner.isVisible() and "target" in window.banner.text()
    assert window.source_panel.source_text() == "w1 w2 w3"  # the input stays
    with qtbot.waitSignal(window.controller.decode_finished, timeout=DECODE_TIMEOUT_MS):
        window.source_panel.target_edit.setPlainText("W1")
    assert not window.banner.isVisible()


def test_clearing_the_source_clears_the_views(qtbot, make_window, tmp_path: Path) -> None:
    window = make_window()
    window.source_panel.source_edit.clear()
    qtbot.waitUntil(lambda: window.flow.result is None, timeout=DECODE_TIMEOUT_MS)
    assert window.heatmap.image_data().size == 0 and window.topk.rows() == []
    assert not window.export_to(tmp_path / "empty.csv") and "Nothing to export" in window.banner.text()


def test_single_step_then_play(qtbot, make_window) -> None:
    window = make_window()
    window.transport.set_delay_seconds(0.05)
    window.step_once()
    qtbot.waitUntil(lambda: len(window.flow.records) == 1, timeout=DECODE_TIMEOUT_MS)
    window.step_once()
    qtbot.waitUntil(lambda: len(window.flow.records) == 2, timeout=DECODE_TIMEOUT_MS)
    assert window.flow.busy and window.controller.paused
    with qtbot.waitSignal(window.controller.decode_finished, timeout=DECODE_TIMEOUT_MS):
        qtbot.keyClick(window, Qt.Key.Key_Space)
    assert window.transport.play_button.text().endswith("Play")


def test_exports_write_parseable_files(qtbot, make_window, tmp_path: Path) -> None:
    window = make_window()
    result = window.flow.result
    for suffix in ("png", "svg", "csv", "npz", "json"):
        assert window.export_to(tmp_path / f"out.{suffix}"), window.banner.text()
    assert not QImage(str(tmp_path / "out.png")).isNull()
    assert ET.parse(tmp_path / "out.svg").getroot().tag.endswith("svg")
    with open(tmp_path / "out.csv", encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0][1:] == list(result.source_tokens)
    np.testing.assert_allclose(np.array(rows[1:])[:, 1:].astype(np.float32), result.alpha, rtol=1e-6)
    with np.load(tmp_path / "out.npz") as npz:
        np.testing.assert_array_equal(npz["context"], result.context)
    data = json.loads((tmp_path / "out.json").read_text(encoding="utf-8"))
    np.testing.assert_allclose(data["scores"], result.scores, rtol=1e-6)
    window.copy_image()
    assert not QGuiApplication.clipboard().image().isNull()
    assert not window.export_to(tmp_path / "missing" / "x.png")
    assert window.banner.isVisible() and "does not exist" in window.banner.text()


def check_box_side(window: MainWindow) -> int:
    """Width of the Transpose check box's box, as its style lays it out."""
    box = window.transport.transpose
    option = QStyleOptionButton()
    box.initStyleOption(option)
    return box.style().subElementRect(QStyle.SubElement.SE_CheckBoxIndicator, option, box).width()


def slider_handle_width(window: MainWindow) -> int:
    slider = window.transport.delay
    option = QStyleOptionSlider()
    slider.initStyleOption(option)
    control = QStyle.ComplexControl.CC_Slider
    return slider.style().subControlRect(control, option, QStyle.SubControl.SC_SliderHandle, slider).width()


def test_presentation_mode_toggles_with_f11(qtbot, make_window) -> None:
    window = make_window()
    desktop_box, desktop_handle = check_box_side(window), slider_handle_width(window)
    shown = [dock.windowTitle() for dock in window.docks if not dock.isHidden()]
    assert len(shown) == 5  # the Heads dock waits for a transformer
    qtbot.keyClick(window, Qt.Key.Key_F11)
    assert window.presenting
    assert window.heatmap.zoom() == pytest.approx(clamp_zoom(window.zoom * PRESENTATION_ZOOM))
    assert all(dock.isHidden() for dock in window.docks)
    # Controls grow with the text, not only the fonts (a presenter aims at them from a lectern).
    assert check_box_side(window) == pytest.approx(desktop_box * PRESENTATION_ZOOM, abs=1)
    assert slider_handle_width(window) == pytest.approx(desktop_handle * PRESENTATION_ZOOM, abs=1)
    qtbot.keyClick(window, Qt.Key.Key_F11)
    assert not window.presenting
    assert window.heatmap.zoom() == pytest.approx(window.zoom)
    assert (check_box_side(window), slider_handle_width(window)) == (desktop_box, desktop_handle)
    assert [dock.windowTitle() for dock in window.docks if not dock.isHidden()] == shown
    qtbot.keyClick(window, Qt.Key.Key_F11)
    qtbot.keyClick(window, Qt.Key.Key_Escape)  # the other way out
    assert not window.presenting and window.menuBar().isVisible()


def test_broken_model_shows_error_and_keeps_the_previous_one(
    qtbot, make_window, tmp_path: Path, tiny_model_path: Path
) -> None:
    window = make_window()
    broken = tmp_path / "x.safetensors"
    broken.write_bytes(b"\x00garbage, not a model" * 10)
    with qtbot.waitSignal(window.controller.model_load_failed, timeout=DECODE_TIMEOUT_MS):
        window.open_model(str(broken))
    assert window.banner.isVisible() and window.banner.level == "error"
    assert "x.safetensors" in window.banner.text() and "tiny.safetensors" in window.banner.text()
    assert window.model_path == str(tiny_model_path)
    result = type_source(qtbot, window, "w2 w3")
    assert result.source_tokens == ("w2", "w3")


def test_dropping_a_model_file_opens_it(qtbot, make_window, tiny_model_path: Path) -> None:
    window = make_window()
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(tiny_model_path))])
    event = QDropEvent(
        QPointF(10, 10), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    )
    with qtbot.waitSignal(window.controller.model_loaded, timeout=DECODE_TIMEOUT_MS):
        window.dropEvent(event)


def test_settings_come_back_at_the_next_start(qtbot, make_window, tmp_path: Path) -> None:
    settings = tmp_path / "persist"
    window = make_window(settings=settings)
    type_source(qtbot, window, "w8 w9")
    window.set_theme("dark")
    window.transport.set_delay_seconds(0.5)
    window.controls.set_strategy("beam")
    window.close()
    again = make_window(source=None, settings=settings, wait=False)
    assert again.source_panel.source_text() == "w8 w9"
    assert again.theme_name == "dark" and again.heatmap.theme() == "dark"
    assert again.transport.delay_seconds() == pytest.approx(0.5)
    assert again.controls.strategy_name() == "beam"
    assert again.menus.recent_menu.actions()[0].text().endswith("tiny.safetensors")


def test_views_leave_no_graphics_item_for_the_collector(qtbot, tiny_model_path: Path, tmp_path: Path) -> None:
    """Nothing a view drops (old labels, curves) or a closed window held is left for the collector."""
    report = json.loads((REPO / "resources/reports/en_hi_quality.json").read_text(encoding="utf-8"))
    with collector_paused() as before:
        window = create_window(tmp_path / "settings", tiny_model_path, "w1 w2 w3 w4 w5")
        window.resize(1400, 900)
        window.show()
        qtbot.waitUntil(lambda: window.flow.result is not None, timeout=DECODE_TIMEOUT_MS)
        type_source(qtbot, window, "w1 w2")  # the inspector drops its surplus token labels
        plot = QualityPlot()
        qtbot.addWidget(plot)
        plot.set_report(report)
        plot.set_report(report)  # the first report's curves and legend rows are dropped
        assert orphaned_graphics_items() == before
        _dispose(window)
        plot.teardown()
        assert orphaned_graphics_items() == before


def test_examples_menu_lists_shipped_models(qtbot, tmp_path: Path) -> None:
    from PySide6.QtWidgets import QMainWindow

    host = QMainWindow()
    qtbot.addWidget(host)
    menus = Menus(host)
    (tmp_path / "demo.safetensors").write_bytes(b"")
    menus.fill_examples(tmp_path)
    assert [a.text() for a in menus.examples_menu.actions()] == ["demo"]
    menus.fill_examples(tmp_path / "none")
    assert not menus.examples_menu.actions()[0].isEnabled()
    menus.fill_examples()  # the shipped folder (a wrong path here once left the menu empty in the app)
    shipped = {a.text() for a in menus.examples_menu.actions()}
    assert {"en_hi_bahdanau", "en_hi_transformer", "dates_bahdanau"} <= shipped


def test_the_views_default_to_shipped_files_that_exist() -> None:
    from gui.files.resources import DEFAULT_MODEL
    from gui.tools import head_ranking_view, quality_view

    for path in (
        DEFAULT_MODEL,
        head_ranking_view.SHIPPED_MODEL,
        head_ranking_view.DEFAULT_DATA,
        quality_view.DEFAULT_DATA,
    ):
        assert path.is_file(), path
    assert sorted(quality_view.SHIPPED_DIR.glob(quality_view.SHIPPED_GLOB))


def test_token_spans_map_tokens_back_to_the_text() -> None:
    assert token_spans("Turn OFF the  lights!", ["turn", "off", "the", "lights", "!"]) == [
        (0, 4),
        (5, 8),
        (9, 12),
        (14, 20),
        (20, 21),
    ]
    assert unknown_spans("the cat the dog", ["the", "cat", "the", "dog"], [2]) == [(8, 11)]


def test_screenshot_run_writes_a_png(qtbot, tiny_model_path: Path, tmp_path: Path) -> None:
    out = tmp_path / "shot.png"
    code = run(["--model", str(tiny_model_path), "--screenshot", str(out), "--settings-dir", str(tmp_path / "s")])
    assert code == 0
    image = QImage(str(out))
    assert (image.width(), image.height()) == SCREENSHOT_SIZES["inspector"]
    out = tmp_path / "talk.png"
    talk = ["--mode", "presentation", "--theme", "dark"]
    assert run(["--model", str(tiny_model_path), "--screenshot", str(out), *talk]) == 0
    assert (QImage(str(out)).width(), QImage(str(out)).height()) == SCREENSHOT_SIZES["presentation"]
    assert run(["--model", str(tmp_path / "nope.safetensors"), "--screenshot", str(tmp_path / "no.png")]) == 2


def test_default_source_is_the_lights_sentence() -> None:
    assert DEFAULT_SOURCE == "turn off the lights"


def test_main_exits_cleanly_again_and_again(tiny_model_path: Path, tmp_path: Path) -> None:
    """pyqtgraph widgets alive at interpreter exit can segfault: exit code 0 every time."""
    env = {"QT_QPA_PLATFORM": "offscreen", "PATH": "/usr/bin:/bin"}
    procs = [
        subprocess.Popen(
            [sys.executable, "main.py", "--model", str(tiny_model_path), "--screenshot", str(tmp_path / f"run{i}.png")],
            cwd=REPO,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for i in range(5)
    ]
    for proc in procs:
        _, err = proc.communicate(timeout=180)
        assert proc.returncode == 0, err.decode(errors="replace")[-2000:]
    assert all((tmp_path / f"run{i}.png").stat().st_size > 0 for i in range(5))
