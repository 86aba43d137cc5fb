"""The window's honest views: a model without attention is shown as one, every probability is readable, beam
scores say how they were made, decodes are compared aligned, and every export format is offered."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtGui import QImage
from pytestqt.qtbot import QtBot

from engine import NEEDS_ATTENTION, Candidate, DecodeRequest, InferenceSession, Perturbation
from gui.export.exports import export_difference, export_view
from gui.export.figure import FigureSize
from gui.matrix.diff_heatmap import DiffHeatmap
from gui.matrix.heatmap import HeatmapWidget
from gui.panels.context_view import NO_DECOMPOSITION_NOTE, ContextInspector
from gui.panels.topk_view import TopKPanel
from gui.tools.beam_view import BeamExplorer
from gui.tools.perturbation_table import changed_text
from gui.window.menus import EXPORT_FORMATS
from tests.fakes import fake_result, step_records


@pytest.fixture
def heatmap(qtbot: QtBot) -> HeatmapWidget:
    widget = HeatmapWidget()
    qtbot.addWidget(widget)
    widget.resize(800, 600)
    widget.show()
    return widget


def test_no_attention_heatmap_is_greyed_with_a_caption(heatmap: HeatmapWidget) -> None:
    heatmap.set_result(fake_result())
    assert heatmap.no_attention_caption() == "" and heatmap._colorbar.isVisible()
    result = fake_result(fixed_context=True)
    heatmap.set_result(result)
    assert "one fixed vector for every step" in heatmap.no_attention_caption()
    assert not heatmap._colorbar.isVisible()  # no α, so no α scale
    assert np.isnan(heatmap.image_data()).all()  # no colours that would read as weights
    heatmap._set_hover((1, 2))
    assert "no attention" in heatmap.hover_text() and "α =" not in heatmap.hover_text()


def test_no_attention_steps_stream_into_the_greyed_matrix(heatmap: HeatmapWidget) -> None:
    result = fake_result(fixed_context=True)
    heatmap.begin(list(result.source_tokens), 8)
    heatmap.append_steps(step_records(result)[:2])
    heatmap.flush()
    assert heatmap.no_attention_caption() and heatmap.axis_labels()[1] == list(result.output_tokens[:2])


def test_inspector_shows_the_one_vector_and_says_there_is_no_decomposition(qtbot: QtBot) -> None:
    inspector = ContextInspector()
    qtbot.addWidget(inspector)
    inspector.resize(700, 600)
    result = fake_result(fixed_context=True)
    inspector.set_result(result)
    assert inspector.fixed_context_note() == NO_DECOMPOSITION_NOTE and "does not apply" in NO_DECOMPOSITION_NOTE
    inspector.select_step(2)
    np.testing.assert_allclose(inspector.current_context(), result.context[0])  # the one vector
    assert inspector.labelled_bars() == []  # no α to write beside bars
    inspector.teardown()


def test_a_token_outside_the_top_k_still_shows_its_p_and_log_p(qtbot: QtBot) -> None:
    panel = TopKPanel()
    qtbot.addWidget(panel)
    candidates = (Candidate("लाइट", 0, 0.9), Candidate("बंद", 1, 0.05))
    panel.show_candidates(3, candidates, chosen="करो", chosen_prob=1e-8)
    assert panel.rows()[-1] == ("करो", pytest.approx(1e-8))
    header = panel.header_text()
    assert "1.00e-08" in header and f"{math.log(1e-8):.3f}" in header and "outside the top k" in header
    panel.show_candidates(0, candidates, chosen="लाइट", chosen_prob=0.9)
    assert len(panel.rows()) == 2 and "p = 0.900" in panel.header_text()


def test_beam_explorer_shows_log_p_score_and_penalty(qtbot: QtBot, tiny_model_path: Path) -> None:
    session = InferenceSession.open(tiny_model_path, "cpu")
    result = session.run(DecodeRequest(1, "w1 w2 w3", strategy="beam", beam_width=3, length_penalty=0.5))
    from gui.bridge.engine_controller import EngineController

    controller = EngineController()
    explorer = BeamExplorer(controller)
    qtbot.addWidget(explorer)
    explorer.set_result(result)
    first = result.hypotheses[0]
    text = explorer.hypothesis_texts()[0]
    assert f"log p {first.log_prob:.2f}" in text and f"score {first.score:.2f}" in text
    assert "length^0.5" in explorer.status.text() and "penalty 0.5" in explorer.output_label.text()
    explorer.teardown()
    controller.shutdown()


def test_what_if_panel_says_it_needs_attention(qtbot: QtBot) -> None:
    from gui.bridge.engine_controller import EngineController
    from gui.tools.whatif_panel import WhatIfPanel

    controller = EngineController()
    panel = WhatIfPanel(controller)
    qtbot.addWidget(panel)
    panel.set_original(fake_result(fixed_context=True), "turn off the lights")
    assert panel.status_label.text() == NEEDS_ATTENTION
    assert not panel.zero_button.isEnabled() and not panel.pin_button.isEnabled()
    panel.zero_word()  # a click that slipped through changes nothing
    assert panel.edits() == ()
    panel.teardown()
    controller.shutdown()


def test_perturbation_table_names_changed_and_lost_positions() -> None:
    row = Perturbation(1, "off", "", ("turn", "the"), ("a", "b"), "a b", (1,), (0.1, 0.2), (2,))
    assert changed_text(row) == "1; lost 2"
    assert changed_text(row._replace(changed_positions=(), lost_positions=())) == "none"


def test_window_exports_every_format_drawn_from_the_decode(heatmap: HeatmapWidget, tmp_path: Path) -> None:
    assert "pdf" in EXPORT_FORMATS
    result = fake_result()
    heatmap.set_result(result)
    for suffix in (".svg", ".pdf", ".json"):
        assert export_view(tmp_path / f"h{suffix}", heatmap, result).stat().st_size > 0
    assert "<text" not in (tmp_path / "h.svg").read_text(encoding="utf-8")
    export_view(tmp_path / "h.png", heatmap, result, size=FigureSize(400, 300, 288.0))
    assert QImage(str(tmp_path / "h.png")).size().toTuple() == (1200, 900)


def test_the_difference_heatmap_exports(qtbot: QtBot, tmp_path: Path) -> None:
    diff = DiffHeatmap()
    qtbot.addWidget(diff)
    diff.set_difference(np.array([[0.1, -0.2], [np.nan, np.nan]]), ["a", "b"], ["x", "– → y"])
    for suffix in (".svg", ".pdf", ".png"):
        assert export_difference(tmp_path / f"d{suffix}", diff).stat().st_size > 0
    diff.teardown()


def test_the_png_size_dialog_says_how_many_pixels(qtbot: QtBot) -> None:
    from gui.export.size_dialog import FigureSizeDialog

    dialog = FigureSizeDialog(FigureSize(800, 600))
    qtbot.addWidget(dialog)
    dialog.dpi_box.setValue(300)
    dialog.width_box.setValue(960)
    assert dialog.size_chosen() == FigureSize(960, 600, 300.0)
    assert dialog.pixels.text() == "3000 × 1875 pixels"
