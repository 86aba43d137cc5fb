"""Which head to trust, in the window: the view's table equals the engine's ranking for the same data, a click on a
row shows that head (or mean) in the main heatmap, cancelling, exports, the default data and an RNN's message."""

from __future__ import annotations

import dataclasses
import json
import random
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage
from pytestqt.qtbot import QtBot

from engine import HeadRankingReport, rank_head_file
from gui.export.figure import FigureSize
from gui.style.fonts import alpha_symbol
from gui.tools.head_ranking_view import DEFAULT_DATA, SHIPPED_MODEL, HeadRankingView
from gui.window.main_window import MainWindow
from gui.window.tool_docks import HEADS_OBJECT_NAME, HeadRankingTool
from tests.conftest import TOY_WORDS
from tests.windows import WAIT_MS, close_window, open_transformer_window


@pytest.fixture(autouse=True)
def _one_thread() -> None:
    torch.set_num_threads(1)  # the test machine shares two cores with training runs


def write_gold(path: Path, n: int, seed: int = 1) -> Path:
    """Sentences of the tiny transformer's words, each copied as its reference with diagonal gold links."""
    rng = random.Random(seed)
    lines = []
    for _ in range(n):
        words = [rng.choice(TOY_WORDS) for _ in range(rng.randint(2, 6))]
        links = " ".join(f"{k}-{k}" for k in range(len(words)))
        lines.append(f"{' '.join(words)}\t{' '.join(words)}\t{links}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def window(qtbot: QtBot, tiny_transformer_path: Path, tmp_path: Path) -> Iterator[MainWindow]:
    window = open_transformer_window(qtbot, tiny_transformer_path, tmp_path / "settings")
    yield window
    close_window(window)


def open_view(window: MainWindow) -> HeadRankingView:
    window.menus.which_head.trigger()  # Tools → Which head to trust…
    tool = window.findChild(HeadRankingTool, HEADS_OBJECT_NAME)
    assert tool is not None and tool.view is not None and tool.view.isVisible()
    return tool.view


def rank(qtbot: QtBot, view: HeadRankingView, data: Path) -> HeadRankingReport:
    view.data_edit.setText(str(data))
    with qtbot.waitSignal(view.report_ready, timeout=WAIT_MS) as blocker:
        assert view.run(), view.banner.text()
    report: HeadRankingReport = blocker.args[0]
    return report


@pytest.fixture(scope="module")
def gold(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_gold(tmp_path_factory.mktemp("gold") / "gold.tsv", 12)


def _row_of(view: HeadRankingView, label: str) -> int:
    return next(r for r, row in enumerate(view.table_rows()) if row[1] == label)


def test_the_table_equals_the_engines_ranking_for_the_same_data(
    qtbot: QtBot, window: MainWindow, tiny_transformer_path: Path, gold: Path
) -> None:
    view = open_view(window)
    assert "2 decoder layers × 4 cross-attention heads" in view.model_label.text()
    shown = rank(qtbot, view, gold)
    expected = rank_head_file(tiny_transformer_path, gold)  # the engine, on its own session
    assert shown == expected and expected["sentences"] == 12
    rows = view.table_rows()
    assert len(rows) == 2 * 4 + 2 + 1
    for row, score in zip(rows, expected["ranking"], strict=True):
        aer = score["aer"]
        assert aer is not None
        assert row == [str(score["rank"]), score["label"], f"{aer:.3f}", f"{score['sink_share']:.3f}", row[4]]
        assert row[4] == ("sink" if score["sink"] else "")
    best = expected["best"]
    assert best is not None and best["aer"] is not None
    assert f"Best head: {best['label']}, word-level AER {best['aer']:.3f}" in view.best_label.text()
    assert expected["rule"].replace("α", alpha_symbol()) in view.rule_label.text()
    assert view.figure.report == expected  # the figure draws the same report
    assert view.status.text() == "12 sentences of gold.tsv scored, 0 skipped."


def test_clicking_a_row_shows_that_head_in_the_main_heatmap(qtbot: QtBot, window: MainWindow, gold: Path) -> None:
    view = open_view(window)
    rank(qtbot, view, gold)
    result = window.flow.result
    assert result is not None and result.heads is not None
    weights = result.heads.weights  # (U, L, H, T)
    table = view.table

    def click(label: str) -> None:
        item = table.item(_row_of(view, label), 1)
        assert item is not None
        rect = table.visualItemRect(item)
        qtbot.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())

    assert window.heatmap.caption() == "α, mean over the heads of layer 1"  # the window's default view
    click("layer 0 head 2")
    np.testing.assert_allclose(window.heatmap.image_data(), weights[:, 0, 2], atol=1e-6)
    assert window.heatmap.caption() == "α, head 2 of layer 0"
    assert window.heads.grid.selected == (0, 2)
    click("mean of layer 0")
    np.testing.assert_allclose(window.heatmap.image_data(), weights[:, 0].mean(axis=1), atol=1e-6)
    assert window.heatmap.caption() == "α, mean over the heads of layer 0"
    click("mean of all")
    np.testing.assert_allclose(window.heatmap.image_data(), weights.mean(axis=(1, 2)), atol=1e-6)
    assert window.heatmap.caption() == "α, mean over every layer's heads"
    click("layer 1 head 3")
    np.testing.assert_allclose(window.heatmap.image_data(), weights[:, 1, 3], atol=1e-6)


def test_cancelling_ends_the_ranking_and_the_engine_serves_the_next(
    qtbot: QtBot, window: MainWindow, gold: Path, tmp_path: Path
) -> None:
    view = open_view(window)
    controller = window.controller
    many = write_gold(tmp_path / "many.tsv", 3000, seed=2)
    view.data_edit.setText(str(many))
    with qtbot.waitSignal(controller.head_ranking_progressed, check_params_cb=lambda done, _t: done >= 1):
        assert view.run()
    assert view.running and view.cancel_button.isEnabled() and not view.run_button.isEnabled()
    with qtbot.waitSignal(controller.head_ranking_cancelled, timeout=WAIT_MS):
        view.cancel_button.click()
    assert not view.running and not controller.ranking_heads
    assert view.status.text() == "Cancelled."
    assert view.report is None and view.table.rowCount() == 0
    assert view.run_button.isEnabled() and not view.cancel_button.isEnabled()
    assert not any(button.isEnabled() for button in view.export_buttons.values())
    # The engine thread is free again: a decode and another ranking both end.
    window.source_panel.set_texts("w4 w5")
    with qtbot.waitSignal(window.flow.finished, timeout=WAIT_MS):
        assert window.decode_now()
    assert rank(qtbot, view, gold)["sentences"] == 12


def test_exports_write_the_report_and_the_figure(qtbot: QtBot, window: MainWindow, gold: Path, tmp_path: Path) -> None:
    view = open_view(window)
    assert not view.export_to(tmp_path / "early.json") and "rank the heads first" in view.banner.text()
    report = rank(qtbot, view, gold)
    assert view.export_to(tmp_path / "heads.json")
    assert json.loads((tmp_path / "heads.json").read_text("utf-8")) == json.loads(json.dumps(report))
    assert view.export_to(tmp_path / "heads.svg")
    svg = ET.parse(tmp_path / "heads.svg").getroot()
    assert svg.tag.endswith("svg") and len(list(svg.iter())) > 50  # cells and outlined text, not an empty page
    assert view.export_to(tmp_path / "heads.png", FigureSize(900, 700, 192.0))
    image = QImage(str(tmp_path / "heads.png"))
    assert (image.width(), image.height()) == (1800, 1400)
    assert view.export_to(tmp_path / "heads.pdf")
    assert (tmp_path / "heads.pdf").read_bytes().startswith(b"%PDF")
    assert not view.export_to(tmp_path / "heads.csv") and ".json, .png, .svg or .pdf" in view.banner.text()


def test_the_shipped_transformer_gets_its_test_data_by_default(window: MainWindow) -> None:
    view = open_view(window)
    assert view.data_path() == ""  # no default for another transformer
    info = window.controller.model_info
    assert info is not None
    view.set_model(dataclasses.replace(info, path=str(SHIPPED_MODEL)))
    assert view.data_path() == str(DEFAULT_DATA) and DEFAULT_DATA.is_file()
    assert view.run_button.isEnabled()


def test_an_rnn_gets_a_message_instead(qtbot: QtBot, window: MainWindow, tiny_model_path: Path, gold: Path) -> None:
    view = open_view(window)
    rank(qtbot, view, gold)
    window.open_model(str(tiny_model_path))  # the view stays open while the window's model changes
    qtbot.waitUntil(lambda: view.info is not None and view.info.head_layout is None, timeout=WAIT_MS)
    assert view.report is None and view.table.rowCount() == 0  # the ranking was the transformer's
    assert view.banner.isVisible() and view.banner.level == "warning"
    assert view.banner.text().startswith(f"{tiny_model_path.name} has no attention heads")
    assert "needs a transformer" in view.banner.text()
    assert not view.run_button.isEnabled() and not view.run()
    assert not any(button.isEnabled() for button in view.export_buttons.values())
    # The engine says the same if asked anyway.
    with qtbot.waitSignal(window.controller.head_ranking_failed, timeout=WAIT_MS) as blocker:
        window.controller.rank_heads(str(gold))
    assert "has no attention heads (an RNN)" in blocker.args[0]
