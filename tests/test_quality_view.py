"""Quality vs length in the app: evaluation on the engine thread, the view's plot, table, exports, cancel, errors."""

from __future__ import annotations

import csv
import math
import random
import shutil
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from PySide6.QtCore import QCoreApplication, QEvent, QObject
from PySide6.QtGui import QImage
from pytestqt.qtbot import QtBot

from engine import EvaluationReport, report_rows
from engine.evaluation.quality import evaluate_model, read_eval_pairs
from engine.evaluation.report import CSV_COLUMNS
from gui.bridge.engine_controller import EngineController
from gui.tools.quality_view import QualityView
from gui.window.tool_docks import QUALITY_OBJECT_NAME, QualityTool
from models import load_checkpoint
from tests.conftest import TOY_WORDS

WAIT_MS = 60_000


@pytest.fixture(autouse=True)
def _one_thread() -> None:
    torch.set_num_threads(1)  # the test machine shares two cores with training runs


@pytest.fixture
def controller(qtbot: QtBot) -> Iterator[EngineController]:
    ctrl = EngineController()
    yield ctrl
    ctrl.shutdown()


@pytest.fixture
def make_view(qtbot: QtBot, controller: EngineController) -> Iterator[Callable[..., QualityView]]:
    views: list[QualityView] = []

    def make(**options: Any) -> QualityView:
        view = QualityView(controller, **options)
        qtbot.addWidget(view)
        views.append(view)
        view.show()
        return view

    yield make
    for view in views:
        view.teardown()


def write_tsv(path: Path, n: int, seed: int, max_words: int = 14) -> Path:
    """Reversal pairs with their gold alignment; up to 14 words, so two length buckets are filled."""
    rng = random.Random(seed)
    lines = []
    for _ in range(n):
        words = [rng.choice(TOY_WORDS) for _ in range(rng.randint(2, max_words))]
        links = " ".join(f"{k}-{len(words) - 1 - k}" for k in range(len(words)))
        lines.append(f"{' '.join(words)}\t{' '.join(w.upper() for w in reversed(words))}\t{links}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def second_model(tiny_model_path: Path, tmp_path: Path) -> Path:
    return Path(shutil.copy(tiny_model_path, tmp_path / "tiny_copy.safetensors"))


def run_to_end(qtbot: QtBot, view: QualityView) -> EvaluationReport:
    with qtbot.waitSignal(view.report_ready, timeout=WAIT_MS) as blocker:
        assert view.run(), view.banner.text()
    return blocker.args[0]


def curve_values(plot: Any) -> list[np.ndarray]:
    return [np.asarray(item.getData()[1], dtype=float) for item in plot.listDataItems()]


def cell(view: QualityView, row: int, column: int) -> str:
    item = view.table.item(row, column)
    assert item is not None
    return item.text()


def expected_series(buckets: Sequence[Mapping[str, Any]], key: str, scale: float = 1.0) -> np.ndarray:
    return np.array([math.nan if b[key] is None else b[key] * scale for b in buckets])


def test_view_plots_the_engine_numbers_and_exports_them(
    qtbot: QtBot,
    make_view: Callable[..., QualityView],
    controller: EngineController,
    tiny_model_path: Path,
    tmp_path: Path,
) -> None:
    data = write_tsv(tmp_path / "test.tsv", 30, seed=4)
    models = [tiny_model_path, second_model(tiny_model_path, tmp_path)]
    view = make_view(models=[str(m) for m in models], data_path=data, batch_size=8)
    seen: list[tuple[int, int]] = []
    controller.evaluation_progressed.connect(lambda done, total: seen.append((done, total)))
    report = run_to_end(qtbot, view)

    # The same numbers as engine.evaluation.quality on this thread.
    expected = evaluate_model(load_checkpoint(tiny_model_path), read_eval_pairs(data), batch_size=8).to_dict()
    assert [m["model"] for m in report["models"]] == ["tiny", "tiny_copy"]
    for model in report["models"]:
        assert model["buckets"] == expected["buckets"] and model["overall"] == expected["overall"]
    assert expected["buckets"][0]["count"] > 0 and expected["buckets"][1]["count"] > 0  # two points per curve

    # One curve per model in each plot, y = the report's BLEU and exact match (%); empty buckets are gaps.
    bleu, exact = curve_values(view.plot._bleu), curve_values(view.plot._exact)
    assert len(bleu) == len(exact) == 2
    assert [label.text for _, label in view.plot._legend.items] == ["tiny", "tiny_copy"]
    for model, b_y, e_y in zip(report["models"], bleu, exact, strict=True):
        np.testing.assert_allclose(b_y, expected_series(model["buckets"], "bleu"), equal_nan=True)
        np.testing.assert_allclose(e_y, expected_series(model["buckets"], "exact_match", 100.0), equal_nan=True)

    # The table: every bucket and the overall row of each model, with the counts.
    rows = report_rows(report)
    assert view.table.rowCount() == len(rows) == 2 * 7
    assert [cell(view, r, 2) for r in range(len(rows))] == [str(row["count"]) for row in rows]
    assert cell(view, 6, 1) == "all" and cell(view, 6, 2) == "30"

    # Progress: from (0, total) to (total, total) over both models, and the bar shows the total.
    assert seen[0] == (0, 60) and seen[-1] == (60, 60)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)
    assert view.progress.value() == view.progress.maximum() == 60
    assert not view.running and view.run_button.isEnabled()

    # Exports.
    for suffix in ("png", "svg", "csv"):
        assert view.export_to(tmp_path / f"q.{suffix}"), view.banner.text()
    image = QImage(str(tmp_path / "q.png"))
    assert not image.isNull() and image.width() >= 1000
    assert ET.parse(tmp_path / "q.svg").getroot().tag.endswith("svg")
    with open(tmp_path / "q.csv", encoding="utf-8", newline="") as f:
        table = list(csv.DictReader(f))
    assert len(table) == len(rows) and list(table[0]) == list(CSV_COLUMNS)
    for written, row in zip(table, rows, strict=True):
        assert written["model"] == row["model"] and written["range"] == row["range"]
        for key in CSV_COLUMNS[2:]:
            assert (None if written[key] == "" else float(written[key])) == row[key]
    assert not view.export_to(tmp_path / "missing" / "q.png")
    assert "does not exist" in view.banner.text()
    assert not list(tmp_path.glob(".q.*.tmp"))  # atomic writes leave no temporary files behind

    # A new theme rebuilds the plot with the same curves.
    view.set_look("dark", 1.2)
    assert len(curve_values(view.plot._bleu)) == 2


def test_cancel_mid_run_then_run_again(
    qtbot: QtBot,
    make_view: Callable[..., QualityView],
    controller: EngineController,
    tiny_model_path: Path,
    tmp_path: Path,
) -> None:
    view = make_view(
        models=[str(tiny_model_path)], data_path=write_tsv(tmp_path / "big.tsv", 300, seed=1), batch_size=2
    )
    seen: list[int] = []

    def cancel_once_started(done: int, total: int) -> None:
        seen.append(done)
        if done > 0:
            view.cancel()  # from the GUI thread, as the Cancel button does

    controller.evaluation_progressed.connect(cancel_once_started)
    finished: list[object] = []
    controller.evaluation_finished.connect(finished.append)
    with qtbot.waitSignal(controller.evaluation_cancelled, timeout=WAIT_MS):
        assert view.run()
    assert not finished and 0 < max(seen) < 300
    assert not view.running and view.report is None and view.run_button.isEnabled()
    assert view.status.text().startswith("Cancelled") and view.progress.text() == ""
    assert not controller.evaluating

    controller.evaluation_progressed.disconnect(cancel_once_started)
    view.data_edit.setText(str(write_tsv(tmp_path / "small.tsv", 6, seed=2)))
    report = run_to_end(qtbot, view)  # the engine thread serves the next request
    assert report["models"][0]["overall"]["count"] == 6


def test_a_newer_evaluation_supersedes_the_queued_one(
    qtbot: QtBot, controller: EngineController, tiny_model_path: Path, tmp_path: Path
) -> None:
    ended: list[str] = []
    controller.evaluation_cancelled.connect(lambda: ended.append("cancelled"))
    controller.evaluation_failed.connect(lambda message: ended.append(message))
    small = write_tsv(tmp_path / "small.tsv", 4, seed=3)
    with qtbot.waitSignal(controller.evaluation_finished, timeout=WAIT_MS) as blocker:
        controller.evaluate([str(tiny_model_path)], str(write_tsv(tmp_path / "big.tsv", 300, seed=1)), "cpu")
        controller.evaluate([str(tiny_model_path)], str(small), "cpu")
    assert blocker.args[0]["data"] == str(small)
    qtbot.wait(100)  # the superseded one's end arrives and is dropped
    assert ended == [] and not controller.evaluating


def test_bad_data_or_model_shows_a_message_and_the_view_keeps_working(
    qtbot: QtBot,
    make_view: Callable[..., QualityView],
    controller: EngineController,
    tiny_model_path: Path,
    tmp_path: Path,
) -> None:
    view = make_view(models=[], data_path=tmp_path / "nowhere.tsv")
    assert not view.run_button.isEnabled()  # no models yet
    view.add_models([str(tiny_model_path), str(tiny_model_path)])
    assert view.model_paths() == [str(tiny_model_path)]  # listed once
    assert not view.run() and "No such test data file" in view.banner.text()

    bad = tmp_path / "bad.tsv"
    bad.write_text("w1 w2\tW2 W1\nno tab on this line\n", encoding="utf-8")
    view.data_edit.setText(str(bad))
    with qtbot.waitSignal(controller.evaluation_failed, timeout=WAIT_MS):
        assert view.run()
    assert view.banner.isVisible() and view.banner.level == "error"
    assert "bad.tsv" in view.banner.text() and "line 2" in view.banner.text()
    assert not view.running and view.run_button.isEnabled()

    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"\x00garbage, not a model" * 10)
    view.add_models([str(junk)])
    view.data_edit.setText(str(write_tsv(tmp_path / "good.tsv", 5, seed=5)))
    with qtbot.waitSignal(controller.evaluation_failed, timeout=WAIT_MS):
        assert view.run()
    assert "junk.safetensors" in view.banner.text()

    view.model_list.item(1).setSelected(True)
    view.remove_button.click()
    assert view.model_paths() == [str(tiny_model_path)]
    report = run_to_end(qtbot, view)
    assert report["models"][0]["overall"]["count"] == 5 and not view.banner.isVisible()


def test_shipped_models_button_adds_every_en_hi_model(make_view: Callable[..., QualityView], tmp_path: Path) -> None:
    for name in ("en_hi_bahdanau", "en_hi_none", "en_hi_luong_general", "dates_bahdanau"):
        (tmp_path / f"{name}.safetensors").write_bytes(b"")
    view = make_view(shipped_dir=tmp_path)
    assert view.shipped_button.isEnabled()
    view.shipped_button.click()
    assert [Path(p).stem for p in view.model_paths()] == ["en_hi_bahdanau", "en_hi_luong_general", "en_hi_none"]
    assert not make_view(shipped_dir=tmp_path / "none").shipped_button.isEnabled()


def test_tools_menu_opens_the_view_and_the_window_keeps_its_model(
    qtbot: QtBot, tiny_model_path: Path, tmp_path: Path
) -> None:
    from gui.app import create_window

    window = create_window(tmp_path / "settings", tiny_model_path, "w1 w2 w3")
    try:
        window.show()
        qtbot.waitUntil(lambda: window.flow.result is not None, timeout=WAIT_MS)
        assert "&Tools" in [a.text() for a in window.menuBar().actions()]
        window.menus.quality_vs_length.trigger()
        tool = window.findChild(QObject, QUALITY_OBJECT_NAME)
        assert isinstance(tool, QualityTool) and tool.view is not None
        view = tool.view
        assert view.isVisible() and view.model_paths() == [str(tiny_model_path)]
        other = second_model(tiny_model_path, tmp_path)
        view.add_models([str(other)])
        view.data_edit.setText(str(write_tsv(tmp_path / "test.tsv", 8, seed=6)))
        report = run_to_end(qtbot, view)
        assert [m["model"] for m in report["models"]] == ["tiny", "tiny_copy"]
        # The evaluation loaded its own copies: the window still decodes with its model.
        info = window.controller.model_info
        assert info is not None and info.path == str(tiny_model_path)
        with qtbot.waitSignal(window.controller.decode_finished, timeout=WAIT_MS):
            assert window.decode_now()
    finally:
        window.close()
        window.deleteLater()
        QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
