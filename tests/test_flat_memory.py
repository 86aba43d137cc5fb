"""Flat memory over a session of edits: what grew at every decode or step selected now stays put.

The growth itself is measured by benchmarks/edit_memory.py (RSS over 1,000 edits); these tests pin its causes.
"""

from __future__ import annotations

import gc
import weakref
from collections.abc import Callable
from pathlib import Path

import pyqtgraph as pg
from PySide6.QtWidgets import QWidget
from pytestqt.qtbot import QtBot

from gui.panels.context_view import ContextInspector
from gui.window.main_window import MainWindow
from tests.fakes import fake_result
from tests.test_gui_app import DECODE_TIMEOUT_MS, make_window  # noqa: F401 (a fixture)


def symbol_pictures(widget: QWidget) -> int:
    """Symbol pictures the pyqtgraph scatters under `widget` keep in their atlases."""
    items = [item for view in widget.findChildren(pg.GraphicsView) for item in view.scene().items()]
    return sum(len(item.fragmentAtlas) for item in items if isinstance(item, pg.ScatterPlotItem))


def test_the_inspector_keeps_no_symbol_picture_per_update(qtbot: QtBot) -> None:
    """pyqtgraph keys its symbol atlas by pen and brush objects: one made per update grew it at every step."""
    inspector = ContextInspector()
    qtbot.addWidget(inspector)
    inspector.resize(1000, 800)
    inspector.show()

    def browse(seeds: range) -> None:
        for seed in seeds:
            inspector.set_result(fake_result(seed=seed))
            for step in range(4):
                inspector.select_step(step)

    try:
        browse(range(2))
        before = symbol_pictures(inspector)
        browse(range(2, 12))
        assert symbol_pictures(inspector) == before > 0
        inspector.set_theme("dark")  # new colours: new pictures, once
        browse(range(2))
        after_theme = symbol_pictures(inspector)
        browse(range(2, 12))
        assert symbol_pictures(inspector) == after_theme
    finally:
        inspector.teardown()


def references_to(target: object) -> int:
    gc.collect()
    return sum(1 for o in gc.get_objects() if isinstance(o, weakref.ref) and o() is target)


def test_decodes_leave_no_reference_to_the_window_behind(
    qtbot: QtBot,
    make_window: Callable[..., MainWindow],  # noqa: F811 (the imported fixture)
    tiny_model_path: Path,
) -> None:
    """QTimer.singleShot(ms, window, slot) at each finished decode left PySide a weak reference to the window."""
    window = make_window()

    def decode(source: str) -> None:
        window.source_panel.set_texts(source)
        with qtbot.waitSignal(window.flow.finished, timeout=DECODE_TIMEOUT_MS):
            assert window.decode_now()

    decode("w1 w2")
    before = references_to(window)
    for n in range(20):
        decode(f"w{n % 10} w{(n + 3) % 10} w{(n + 5) % 10}")
    assert references_to(window) == before
