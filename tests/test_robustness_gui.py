"""The window under faults and abuse: engine failures show in the window and the next request works; a seeded
monkey of edits, clicks and keys fired while decodes stream leaves no exception and no stale rows behind."""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pyqtgraph as pg
import pytest
import torch
from PySide6.QtCore import QPoint, Qt
from pytestqt.qtbot import QtBot

from engine import DecodeRequest, InferenceSession, StepRecord
from gui.window.main_window import MainWindow
from tests.fakes import alpha_of, fail_device_moves, fail_on_step, scores_of
from tests.test_gui_app import DECODE_TIMEOUT_MS, make_window, type_source  # noqa: F401 (a fixture)

WindowFactory = Callable[..., MainWindow]
FAULTS = [
    (torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB"), "Out of memory while decoding on cpu"),
    (RuntimeError("simulated kernel failure"), "Decoding failed: RuntimeError: simulated kernel failure"),
    (ValueError("NaN in the attention scores"), "Decoding failed: ValueError: NaN in the attention scores"),
]


@pytest.mark.parametrize(("fault", "shown"), FAULTS, ids=["out of memory", "runtime error", "value error"])
def test_a_failing_step_shows_in_the_window_and_the_next_request_works(
    qtbot: QtBot,
    make_window: WindowFactory,  # noqa: F811 (the imported fixture)
    monkeypatch: pytest.MonkeyPatch,
    fault: Exception,
    shown: str,
) -> None:
    window = make_window()
    fail_on_step(monkeypatch, window.controller._worker.session, 3, fault)  # mid-decode: two rows have streamed
    with qtbot.waitSignal(window.flow.failed, timeout=DECODE_TIMEOUT_MS):
        window.source_panel.source_edit.setPlainText("w5 w6 w7")
    assert window.banner.isVisible() and window.banner.level == "error"
    assert window.banner.text().startswith(shown), window.banner.text()
    assert window.source_panel.output_label.text() == "" and not window.flow.busy
    result = type_source(qtbot, window, "w2 w3")
    assert not window.banner.isVisible()  # a success clears the decode error
    np.testing.assert_array_equal(window.heatmap.image_data(), result.alpha)


def test_a_failing_device_is_reported_and_the_cpu_takes_over(
    qtbot: QtBot,
    make_window: WindowFactory,  # noqa: F811 (the imported fixture)
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    window = make_window()
    session = window.controller._worker.session
    assert session is not None
    fail_device_moves(monkeypatch, session, "CUDA error: no kernel image is available for execution on the device")
    with qtbot.waitSignal(window.controller.decode_finished, timeout=DECODE_TIMEOUT_MS) as blocker:
        window.controls.device.setCurrentText("cuda")  # the window decodes again once the device is settled
    assert window.banner.isVisible() and window.banner.level == "warning"
    assert window.banner.text() == (
        "Could not move the model to cuda:0 (CUDA error: no kernel image is available for execution on the device);"
        " using the CPU."
    )
    assert window.device_label.text() == "device: cpu" and session.device == torch.device("cpu")
    np.testing.assert_array_equal(window.heatmap.image_data(), blocker.args[0].alpha)


# -- the monkey ---------------------------------------------------------------------------------------------------

MONKEY_EVENTS = 300
MONKEY_SEED = 20261127
WORDS = [f"w{i}" for i in range(12)] + ["blorp", "😀"]
PAUSES_MS = [0, 0, 0, 1, 5, 20, 20, 40, 350]  # mostly faster than the debounce, sometimes long enough to decode


class Monkey:
    """Random user input aimed at the parts of the window that start, steer or show a decode (no modal dialogs)."""

    def __init__(self, qtbot: QtBot, window: MainWindow, rng: random.Random) -> None:
        self.qtbot, self.window, self.rng = qtbot, window, rng
        self.editor = window.source_panel.source_edit
        view = window.heatmap.findChild(pg.GraphicsLayoutWidget)
        assert view is not None
        self.view = view
        self.moves: list[tuple[Callable[[], None], int]] = [
            (self.type_words, 6),
            (self.backspace, 4),
            (self.replace_all, 3),
            (self.move_cursor, 2),
            (self.click_play, 3),
            (self.click_step, 3),
            (self.window_key, 5),
            (self.click_heatmap, 4),
            (self.change_strategy, 2),
            (self.change_option, 2),
            (self.change_view, 2),
            (self.change_delay, 1),
            (self.zoom, 1),
        ]

    def act(self) -> None:
        move = self.rng.choices([m for m, _ in self.moves], weights=[w for _, w in self.moves])[0]
        move()

    def _words(self, n: int) -> str:
        return " ".join(self.rng.choice(WORDS) for _ in range(n))

    def type_words(self) -> None:
        self.editor.moveCursor(self.editor.textCursor().MoveOperation.End)
        self.editor.insertPlainText(" " + self._words(self.rng.randint(1, 3)))  # insertPlainText: emoji too

    def backspace(self) -> None:
        for _ in range(self.rng.randint(1, 6)):
            self.qtbot.keyClick(self.editor, Qt.Key.Key_Backspace)

    def replace_all(self) -> None:
        self.editor.selectAll()
        self.qtbot.keyClicks(self.editor, self._words(self.rng.randint(0, 6)).replace("😀", "w0"))

    def move_cursor(self) -> None:
        key = self.rng.choice([Qt.Key.Key_Left, Qt.Key.Key_Right, Qt.Key.Key_Home, Qt.Key.Key_End])
        self.qtbot.keyClick(self.editor, key)

    def click_play(self) -> None:
        self.qtbot.mouseClick(self.window.transport.play_button, Qt.MouseButton.LeftButton)

    def click_step(self) -> None:
        self.qtbot.mouseClick(self.window.transport.step_button, Qt.MouseButton.LeftButton)

    def window_key(self) -> None:
        key, modifier = self.rng.choice(
            [
                (Qt.Key.Key_Left, Qt.KeyboardModifier.NoModifier),
                (Qt.Key.Key_Right, Qt.KeyboardModifier.NoModifier),
                (Qt.Key.Key_Space, Qt.KeyboardModifier.NoModifier),
                (Qt.Key.Key_Right, Qt.KeyboardModifier.ControlModifier),
                (Qt.Key.Key_Escape, Qt.KeyboardModifier.NoModifier),
            ]
        )
        self.qtbot.keyClick(self.window, key, modifier)

    def click_heatmap(self) -> None:
        viewport = self.view.viewport()
        point = QPoint(self.rng.randrange(viewport.width()), self.rng.randrange(viewport.height()))
        self.qtbot.mouseClick(viewport, Qt.MouseButton.LeftButton, pos=point)

    def change_strategy(self) -> None:
        self.window.controls.strategy.setCurrentIndex(self.rng.randrange(self.window.controls.strategy.count()))
        if self.window.controls.strategy_name() == "forced":
            self.window.source_panel.target_edit.setPlainText(self._words(self.rng.randint(1, 4)).upper())

    def change_option(self) -> None:
        controls = self.window.controls
        self.rng.choice(
            [
                lambda: controls.beam_width.setValue(self.rng.randint(1, 5)),
                lambda: controls.max_len.setValue(self.rng.choice([0, 0, 2, 7])),
                lambda: controls.seed.setValue(self.rng.randint(0, 9)),
                lambda: controls.temperature.setValue(self.rng.choice([0.5, 1.0, 2.0])),
            ]
        )()

    def change_view(self) -> None:
        transport = self.window.transport
        if self.rng.random() < 0.5:
            transport.transpose.toggle()
        else:
            transport.mode.setCurrentIndex(self.rng.randrange(transport.mode.count()))

    def change_delay(self) -> None:
        self.window.transport.set_delay_seconds(self.rng.choice([0.0, 0.005, 0.02]))

    def zoom(self) -> None:
        menus = self.window.menus
        self.rng.choice([menus.zoom_in, menus.zoom_out, menus.zoom_reset]).trigger()


def test_monkey_leaves_no_exception_and_no_stale_rows(
    qtbot: QtBot,
    make_window: WindowFactory,  # noqa: F811 (the imported fixture)
    tiny_model_path: Path,
) -> None:
    window = make_window()
    window.transport.set_delay_seconds(0.005)  # decodes last long enough for the monkey to land inside them
    stale: list[tuple[int, int]] = []
    shown_rows = window.heatmap.append_steps

    def append_steps(run: Sequence[StepRecord]) -> None:  # every row the heatmap gets must be the current request's
        stale.extend((r.request_id, window.flow.request_id) for r in run if r.request_id != window.flow.request_id)
        shown_rows(run)

    window.heatmap.append_steps = append_steps  # type: ignore[method-assign]
    rng = random.Random(MONKEY_SEED)
    monkey = Monkey(qtbot, window, rng)
    busy_hits = 0  # events that landed while a decode was under way: the point of the exercise
    for _ in range(MONKEY_EVENTS):
        busy_hits += window.flow.busy
        monkey.act()
        qtbot.wait(rng.choice(PAUSES_MS))
    settle(qtbot, window)
    assert busy_hits >= MONKEY_EVENTS // 10 and window.flow.request_id >= 10, (busy_hits, window.flow.request_id)
    assert stale == []
    check_final_view(window, tiny_model_path)


def settle(qtbot: QtBot, window: MainWindow) -> None:
    """Make sure there is something to decode, let the transport run freely, wait for the last decode to end."""
    panel = window.source_panel
    if not panel.source_text().strip():
        qtbot.keyClicks(panel.source_edit, "w1 w2")
    if window.controls.strategy_name() == "forced" and not panel.target_text().strip():
        panel.target_edit.setPlainText("W2 W1")
    window.transport.set_delay_seconds(0.0)
    window.controller.resume()  # a single-stepped decode would wait for the next step forever
    qtbot.waitUntil(
        lambda: not panel._debounce.isActive() and not window.flow.busy and window.flow.current_result() is not None,
        timeout=DECODE_TIMEOUT_MS,
    )
    qtbot.wait(100)  # anything still queued would arrive now


def check_final_view(window: MainWindow, model: Path) -> None:
    """The heatmap shows exactly what a fresh engine computes for the final text and options."""
    result = window.flow.current_result()
    assert result is not None and window.flow.submitted_source == window.source_panel.source_text()
    options = window.controls.options()
    if options["strategy"] == "forced":
        options["target"] = window.source_panel.target_text()
    expected = InferenceSession.open(model, "cpu").run(DecodeRequest(1, window.source_panel.source_text(), **options))
    assert result.source_tokens == expected.source_tokens and result.output_tokens == expected.output_tokens
    np.testing.assert_allclose(alpha_of(result), alpha_of(expected), rtol=0, atol=1e-6)
    matrix = alpha_of(result) if window.transport.heatmap_mode() == "alpha" else scores_of(result)
    shown = window.heatmap.image_data()
    np.testing.assert_array_equal(shown, matrix.T if window.transport.transpose.isChecked() else matrix)
    assert window.heatmap.axis_labels() == (list(result.source_tokens), list(result.output_tokens))


def test_errors_are_logged_and_the_banner_says_where(
    qtbot: QtBot,
    make_window: WindowFactory,  # noqa: F811 (the imported fixture)
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A model that cannot be opened: the banner names the log file, which holds the failure and the model load."""
    caplog.set_level(logging.INFO)  # as main.py's default --log-level info
    window = make_window(settings=tmp_path / "cfg")
    bad = tmp_path / "broken.safetensors"
    bad.write_bytes(b"not a model")
    with qtbot.waitSignal(window.controller.model_load_failed, timeout=DECODE_TIMEOUT_MS):
        window.open_model(str(bad))
    log_file = tmp_path / "cfg" / "attnscope.log"
    assert window.banner.level == "error" and str(log_file) in window.banner.details()
    written = log_file.read_text(encoding="utf-8")
    assert "could not load" in written and "broken.safetensors" in written
    assert "loaded" in written  # the first, good model's load is logged too, with its time
