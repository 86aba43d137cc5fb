"""The plotting widgets against numpy: heatmap, context inspector, top-k panel, headless render."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6.QtCore import QEvent, QObject, QPoint, QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QImage, QWheelEvent
from PySide6.QtWidgets import QWidget

from gui.matrix.colour_bar import ColourBar, nice_ticks, tick_label
from gui.matrix.heatmap import HeatmapWidget, score_levels, thinning_step
from gui.matrix.matrix_image import MatrixImage
from gui.panels.context_view import (
    FIXED_CONTEXT_NOTE,
    ContextInspector,
    convex_hull,
    cosine_similarity,
    free_boxes,
    grown_cosine,
    labelled_rows,
    pca_project,
    top_axes,
)
from gui.panels.source_panel import SourcePanel
from gui.panels.topk_view import TopKPanel
from gui.panels.transport_bar import PAUSE_SHOWN_MS, PAUSE_TEXT, PLAY_TEXT, TransportBar
from gui.style.fonts import alpha_symbol
from gui.style.theme import get_theme, lookup_table
from tests.fakes import EN_SOURCE, HI_OUTPUT, alpha_of, fake_result, scores_of, step_records

WORDS = ["turn", "off", "the", "lights", "please", "in", "kitchen", "now"]
HINDI = ["लाइट", "बंद", "करो", "कृपया", "रसोई", "में", "अभी", "क्षत्रिय"]


def big_result(n: int):
    return fake_result(source=[WORDS[i % 8] for i in range(n)], output=[HINDI[i % 8] for i in range(n)], seed=n)


@pytest.fixture
def heatmap(qtbot) -> Iterator[HeatmapWidget]:
    widget = HeatmapWidget()
    qtbot.addWidget(widget)
    widget.resize(900, 650)
    widget.show()
    qtbot.waitExposed(widget)
    yield widget
    widget.teardown()


@pytest.fixture
def inspector(qtbot) -> Iterator[ContextInspector]:
    widget = ContextInspector()
    qtbot.addWidget(widget)
    widget.resize(1000, 800)
    yield widget
    widget.teardown()


class PaintCounter(QObject):
    """Counts the paint events a widget gets."""

    def __init__(self, widget: QWidget) -> None:
        super().__init__(widget)
        self.count = 0
        widget.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt name)
        self.count += event.type() == QEvent.Type.Paint
        return False


def view_point(widget: HeatmapWidget, step: int, source_index: int) -> QPoint:
    """Where a cell's centre is in the viewport, for real mouse events."""
    return widget.graphics_view().mapFromScene(widget.cell_center(step, source_index))


# -- heatmap: data ----------------------------------------------------------------------------
def test_set_result_shows_alpha_and_labels(heatmap: HeatmapWidget) -> None:
    result = fake_result()
    heatmap.set_result(result)
    np.testing.assert_allclose(heatmap.image_data(), alpha_of(result))
    assert heatmap.image_data().dtype == np.float32
    assert heatmap.axis_labels() == (list(EN_SOURCE), list(HI_OUTPUT))


def test_streamed_rows_appear_after_the_timer_flush(heatmap: HeatmapWidget, qtbot) -> None:
    result = fake_result()
    heatmap.begin(result.source_tokens, capacity_rows=1)  # a run of 3 rows forces the buffer to grow
    records = step_records(result)
    heatmap.append_steps(records[:1])
    heatmap.append_steps(records[1:3])
    assert heatmap.image_data().shape[0] == 0  # nothing painted per step
    qtbot.waitUntil(lambda: heatmap.image_data().shape[0] == 3, timeout=2000)
    np.testing.assert_allclose(heatmap.image_data(), alpha_of(result)[:3])
    assert heatmap.axis_labels() == (list(EN_SOURCE), list(HI_OUTPUT[:3]))


def test_fast_steps_are_coalesced_into_few_repaints(heatmap: HeatmapWidget, qtbot, monkeypatch) -> None:
    result = big_result(60)
    calls: list[int] = []
    original = heatmap._image.setImage

    def counting(*args: object, **kwargs: object) -> None:
        calls.append(1)
        original(*args, **kwargs)

    monkeypatch.setattr(heatmap._image, "setImage", counting)
    heatmap.begin(result.source_tokens, capacity_rows=60)
    for record in step_records(result):
        heatmap.append_steps([record])
    qtbot.waitUntil(lambda: heatmap.image_data().shape[0] == 60, timeout=2000)
    assert len(calls) <= 2
    np.testing.assert_allclose(heatmap.image_data(), result.alpha)


def test_repaint_now_paints_the_new_picture_before_returning(heatmap: HeatmapWidget, qtbot) -> None:
    heatmap.set_result(fake_result())
    qtbot.wait(50)  # the first picture is on screen
    paints = PaintCounter(heatmap.graphics_view().viewport())
    heatmap.set_result(big_result(12))
    heatmap.repaint_now()
    assert paints.count == 1  # at once, and once: not a second time for the same change
    qtbot.wait(50)
    assert paints.count == 1


def test_matrix_image_paints_32_bit_pixels_in_the_lookup_table_colours() -> None:
    lut = lookup_table("inferno")
    item = MatrixImage()
    item.setImage(np.array([[0.0, 0.5, 1.0, np.nan]], np.float32), levels=(0.0, 1.0), lut=lut)
    item.render()
    image = item.qimage
    assert image is not None
    assert image.format() in (QImage.Format.Format_RGB32, QImage.Format.Format_ARGB32_Premultiplied)
    colours = [QColor.fromRgba(image.pixel(x, 0)).getRgb() for x in range(4)]
    assert colours[0] == (*lut[0], 255) and colours[2] == (*lut[-1], 255)
    assert colours[1] in {(*lut[127], 255), (*lut[128], 255)}
    assert QColor.fromRgba(image.pixel(3, 0)).alpha() == 0  # a row not decoded yet is transparent


@pytest.mark.parametrize("levels", [(0.0, 1.0), (-3.5, 3.5)])
def test_matrix_image_colours_cells_as_pyqtgraph_does(levels: tuple[float, float]) -> None:
    """Same colour per cell as pyqtgraph's own rendering, at the levels, beyond them and on each step's edge."""
    data = np.random.default_rng(1).uniform(levels[0] - 1, levels[1] + 1, (23, 37)).astype(np.float32)
    data[1, :] = np.linspace(*levels, 257)[::7][: data.shape[1]]  # the edges between lookup table entries
    data[2, :3] = np.nan
    item = MatrixImage()
    item.setImage(data, autoLevels=False, levels=levels, lut=lookup_table("viridis"))

    def argb() -> np.ndarray:
        assert item.qimage is not None
        image = item.qimage.convertToFormat(QImage.Format.Format_ARGB32)
        return np.array([[image.pixel(x, y) for x in range(data.shape[1])] for y in range(data.shape[0])], np.uint32)

    item.render()
    ours = argb()
    item._render_with_pyqtgraph()
    theirs = argb()
    shown = ~np.isnan(data)
    np.testing.assert_array_equal(ours[shown], theirs[shown])
    assert not (ours[~shown] >> 24).any() and not (theirs[~shown] >> 24).any()  # NaN: transparent in both


def test_append_steps_rejects_a_row_of_the_wrong_length(heatmap: HeatmapWidget) -> None:
    heatmap.begin(["a", "b"], capacity_rows=4)
    with pytest.raises(ValueError):
        heatmap.append_steps(step_records(fake_result())[:1])
    assert heatmap.image_data().shape[0] == 0  # nothing of the run was taken


def test_appended_rows_draw_non_finite_weights_transparent(heatmap: HeatmapWidget, qtbot) -> None:
    result = fake_result()
    alpha = alpha_of(result).copy()
    alpha[1, 0], alpha[2, 1] = np.inf, -np.inf
    records = [r._replace(alpha=row) for r, row in zip(step_records(result), alpha, strict=True)]
    heatmap.begin(result.source_tokens, capacity_rows=len(records))
    heatmap.append_steps(records)
    qtbot.waitUntil(lambda: heatmap.image_data().shape[0] == len(records), timeout=2000)
    shown = heatmap.image_data()
    assert np.isnan(shown[1, 0]) and np.isnan(shown[2, 1])
    np.testing.assert_array_equal(shown[np.isfinite(alpha)], alpha[np.isfinite(alpha)])


def test_scores_mode_shows_e_on_a_symmetric_scale(heatmap: HeatmapWidget) -> None:
    result = fake_result()
    heatmap.set_result(result)
    heatmap.set_mode("scores")
    np.testing.assert_allclose(heatmap.image_data(), scores_of(result))
    bound = float(np.abs(scores_of(result)).max())
    np.testing.assert_allclose(heatmap._image.getLevels(), (-bound, bound), rtol=1e-6)
    heatmap.set_mode("alpha")
    np.testing.assert_allclose(heatmap._image.getLevels(), (0.0, 1.0))
    with pytest.raises(ValueError):
        heatmap.set_mode("entropy")


def test_score_levels_ignore_non_finite_and_survive_all_zero() -> None:
    assert score_levels(np.array([[np.nan, -np.inf, -3.0, 2.0]])) == (-3.0, 3.0)
    assert score_levels(np.zeros((3, 4))) == (-1.0, 1.0)


def test_transposed_shows_alpha_transpose(heatmap: HeatmapWidget) -> None:
    result = fake_result()
    heatmap.set_result(result)
    heatmap.set_transposed(True)
    np.testing.assert_allclose(heatmap.image_data(), alpha_of(result).T)
    assert heatmap.axis_labels() == (list(EN_SOURCE), list(HI_OUTPUT))
    heatmap.set_transposed(False)
    np.testing.assert_allclose(heatmap.image_data(), alpha_of(result))


# -- heatmap: mouse ---------------------------------------------------------------------------
@pytest.mark.parametrize("transposed", [False, True])
def test_hover_over_a_cell_reads_its_values(heatmap: HeatmapWidget, qtbot, transposed: bool) -> None:
    result = fake_result()
    heatmap.set_result(result)
    heatmap.set_transposed(transposed)
    qtbot.mouseMove(heatmap.graphics_view().viewport(), view_point(heatmap, 2, 3))
    qtbot.waitUntil(lambda: heatmap.hover_text() != "", timeout=2000)
    text = heatmap.hover_text()
    for part in ("करो", "lights", f"{alpha_of(result)[2, 3]:.3f}", f"{scores_of(result)[2, 3]:.3f}"):
        assert part in text
    assert heatmap._readout.text() == text  # visible, not just stored


def test_hover_handler_off_the_data_clears_the_text(heatmap: HeatmapWidget) -> None:
    heatmap.set_result(fake_result())
    heatmap._on_mouse_moved(heatmap.cell_center(0, 0))
    assert "लाइट" in heatmap.hover_text()
    heatmap._on_mouse_moved(QPointF(-50, -50))
    assert heatmap.hover_text() == ""


def test_clicking_a_cell_selects_its_step(heatmap: HeatmapWidget, qtbot) -> None:
    heatmap.set_result(fake_result())
    with qtbot.waitSignal(heatmap.step_selected, timeout=2000) as blocker:
        qtbot.mouseClick(heatmap.graphics_view().viewport(), Qt.MouseButton.LeftButton, pos=view_point(heatmap, 2, 1))
    assert blocker.args == [2]
    assert heatmap.selected_step() == 2
    assert heatmap._selection.isVisible()


def test_select_step_marks_without_emitting(heatmap: HeatmapWidget, qtbot) -> None:
    heatmap.set_result(fake_result())
    with qtbot.assertNotEmitted(heatmap.step_selected):
        heatmap.select_step(1)
    assert heatmap.selected_step() == 1
    heatmap.select_step(99)
    assert heatmap.selected_step() is None


# -- heatmap: labels ----------------------------------------------------------------------------
def test_sixty_tokens_show_every_label(heatmap: HeatmapWidget, qtbot) -> None:
    heatmap.resize(1200, 900)
    result = big_result(60)
    heatmap.set_result(result)
    qtbot.wait(20)
    source, output = heatmap.shown_axis_labels()
    assert len(source) == 60 and len(output) == 60


def test_crowded_labels_are_thinned_not_piled_up(heatmap: HeatmapWidget, qtbot) -> None:
    heatmap.set_zoom(2.0)
    heatmap.set_result(big_result(300))
    qtbot.wait(20)
    source, output = heatmap.shown_axis_labels()
    assert 10 < len(source) < 300 and 10 < len(output) < 300
    assert heatmap._top.rotated
    assert thinning_step(30, 10) == 3 and thinning_step(5, 10) == 1


def plain_wheel(heatmap: HeatmapWidget, clicks: int) -> None:
    """Wheel turns (no modifier) over the middle of the plot, sent to its view as Qt would."""
    view = heatmap.graphics_view()
    at = QPointF(view.width() / 2, view.height() / 2)
    for _ in range(clicks):
        event = QWheelEvent(
            at,
            QPointF(view.mapToGlobal(at.toPoint())),
            QPoint(),
            QPoint(0, 120),
            Qt.MouseButton.NoButton,
            Qt.KeyboardModifier.NoModifier,
            Qt.ScrollPhase.NoScrollPhase,
            False,
        )
        view.wheelEvent(event)


def test_five_hundred_tokens_thin_out_and_zoom_and_pan_bring_them_back(heatmap: HeatmapWidget, qtbot) -> None:
    """A 500-word decode: labels thin out (not pile up, as they did below one pixel per token); the wheel zooms
    the matrix (Ctrl+wheel stays the window's) and a drag pans it, and the labels come back as there is room."""
    heatmap.resize(800, 600)
    heatmap.set_result(big_result(500))
    qtbot.wait(20)
    source, output = heatmap.shown_axis_labels()
    view_box = heatmap._plot.vb  # noqa: SLF001 (its range is what the wheel and the drag change)
    line_px = QFontMetricsF(heatmap._left.label_font()).height()
    assert 5 < len(output) < 500 and len(output) * 0.8 * line_px <= view_box.height() + line_px
    assert 5 < len(source) < 500
    (x0, x1), (y0, y1) = view_box.viewRange()
    plain_wheel(heatmap, 10)
    (zx0, zx1), (zy0, zy1) = view_box.viewRange()
    assert zx1 - zx0 < (x1 - x0) / 2 and zy1 - zy0 < (y1 - y0) / 2  # zoomed in, both ways
    qtbot.wait(20)
    zoomed_source, zoomed_output = heatmap.shown_axis_labels()
    assert len(zoomed_source) > 2 * len(source) and len(zoomed_output) > 2 * len(output)
    viewport = heatmap.graphics_view().viewport()
    middle = viewport.rect().center()
    qtbot.mousePress(viewport, Qt.MouseButton.LeftButton, pos=middle)
    for step in range(1, 11):
        qtbot.mouseMove(viewport, middle + QPoint(-20 * step, -15 * step))
    qtbot.mouseRelease(viewport, Qt.MouseButton.LeftButton, pos=middle + QPoint(-200, -150))
    (px0, px1), (py0, py1) = view_box.viewRange()
    assert px0 > zx0 and py0 != zy0 and px1 - px0 == pytest.approx(zx1 - zx0)  # moved, same zoom


# -- heatmap: look and export --------------------------------------------------------------------
def test_theme_and_zoom_change_the_look(heatmap: HeatmapWidget) -> None:
    heatmap.set_result(fake_result())
    light_lut = np.array(heatmap._image.lut, copy=True)
    heatmap.set_theme("dark")
    assert not np.array_equal(light_lut, heatmap._image.lut)
    assert heatmap._image.lut.shape == (256, 3) and heatmap._image.lut.dtype == np.uint8
    size = heatmap._top.label_font().pointSizeF()
    heatmap.set_zoom(2.0)
    assert heatmap._top.label_font().pointSizeF() == pytest.approx(2 * size)
    with pytest.raises(ValueError):
        heatmap.set_theme("sepia")


def test_to_image_for_the_clipboard(heatmap: HeatmapWidget) -> None:
    heatmap.set_result(fake_result())
    image = heatmap.to_image()
    assert isinstance(image, QImage) and not image.isNull()


def test_teardown_twice_is_harmless(qtbot) -> None:
    widget = HeatmapWidget()
    qtbot.addWidget(widget)
    widget.set_result(fake_result())
    widget.teardown()
    widget.teardown()
    widget.flush()  # a late timer tick after teardown must not touch released items


# -- context inspector ----------------------------------------------------------------------------
def test_context_is_alpha_weighted_sum_of_states(inspector: ContextInspector) -> None:
    result = fake_result()
    inspector.set_result(result)
    alpha, h = np.asarray(result.alpha, np.float64), np.asarray(result.encoder_states, np.float64)
    for i in range(len(result.output_tokens)):
        inspector.select_step(i)
        np.testing.assert_allclose(inspector.current_context(), alpha[i] @ h, atol=1e-5)
        contributions = inspector.contributions()
        np.testing.assert_allclose(contributions, alpha[i][:, None] * h)
        np.testing.assert_allclose(contributions.sum(axis=0), inspector.current_context(), atol=1e-5)
        norm = np.linalg.norm(inspector.current_context())
        assert f"{norm:.3f}" in inspector.norm_text() and result.output_tokens[i] in inspector.norm_text()


def inside_convex_polygon(point: np.ndarray, hull: np.ndarray, tol: float = 1e-9) -> bool:
    """For counter-clockwise vertices: inside iff left of (or on) every edge."""
    edges = np.roll(hull, -1, axis=0) - hull
    rel = point - hull
    return bool(np.all(edges[:, 0] * rel[:, 1] - edges[:, 1] * rel[:, 0] >= -tol))


def test_pca_contexts_lie_inside_the_hull_of_the_states(inspector: ContextInspector) -> None:
    result = fake_result(source=WORDS, hidden=24, seed=3)
    inspector.set_result(result)
    h2d, c2d = inspector.pca_points()
    assert h2d.shape == (len(WORDS), 2) and c2d.shape == (len(result.output_tokens), 2)
    np.testing.assert_allclose(c2d, np.asarray(result.alpha, np.float64) @ h2d, atol=1e-5)  # still convex combos
    hull = convex_hull(h2d)
    assert all(inside_convex_polygon(c, hull, tol=1e-6) for c in c2d)


def test_pca_labels_follow_the_source_and_are_reused(inspector: ContextInspector) -> None:
    """A label on each word with room for it (only those: a label per source token stalled a 500-word decode);
    the labels are reused from decode to decode, never made again."""

    def items(visible: bool = False) -> list[pg.TextItem]:
        found = inspector._pca_plot.items  # noqa: SLF001 (what the plot holds is the point here)
        return [i for i in found if isinstance(i, pg.TextItem) and (i.isVisible() or not visible)]

    made = 0
    for _round in range(2):
        for words, seed in ((WORDS, 1), (WORDS[:3], 2), (WORDS[2:], 3)):
            result = fake_result(source=words, seed=seed)
            inspector.set_result(result)
            texts = [item.toPlainText() for item in items(visible=True)]
            assert 0 < len(texts) <= len(words) and set(texts) <= set(words)
            assert sorted(texts) == sorted(words[j] for j in inspector.labelled_points())
            assert words[int(np.argmax(alpha_of(result)[0]))] in texts  # the most attended word always has its label
        made = made or len(items())
    assert len(items()) == made  # the second round made none


def test_alpha_labels_beside_the_bars_never_pile_up(inspector: ContextInspector, qtbot) -> None:
    inspector.resize(700, 500)
    inspector.show()
    qtbot.waitExposed(inspector)
    inspector.set_result(fake_result())
    inspector.select_step(1)
    assert inspector.labelled_bars() == list(range(len(fake_result().source_tokens)))  # room for every one
    crowded = big_result(40)
    inspector.set_result(crowded)
    inspector.select_step(3)
    shown = inspector.labelled_bars()
    alpha = crowded.alpha[3]
    assert int(np.argmax(alpha)) in shown and 1 < len(shown) < 40
    rows_px = inspector._contrib_plot.vb.height() / 40
    line_px = QFontMetricsF(inspector.label_font()).height()
    assert min(np.diff(shown)) * rows_px >= line_px  # a line of text apart: no two overlap


def test_pca_word_labels_never_cover_each_other(inspector: ContextInspector, qtbot) -> None:
    inspector.resize(700, 500)
    inspector.show()
    qtbot.waitExposed(inspector)
    crowded = big_result(40)
    inspector.set_result(crowded)
    inspector.select_step(5)
    shown = inspector.labelled_points()
    assert int(np.argmax(crowded.alpha[5])) in shown and 1 < len(shown) < 40
    labels = inspector.point_labels()
    assert sorted(labels) == shown
    margin = 4  # QGraphicsTextItem's document margin round the glyphs
    inner = [box.adjusted(margin, margin, -margin, -margin) for _, box in labels.values()]
    assert not any(a.intersects(b) for n, a in enumerate(inner) for b in inner[n + 1 :])
    assert [labels[j][0] for j in shown] == [crowded.source_tokens[j] for j in shown]


def test_labelled_rows_take_the_largest_weights_first() -> None:
    weights = np.array([0.1, 0.5, 0.3, 0.05, 0.05])
    assert labelled_rows(weights, 1) == {0, 1, 2, 3, 4}
    assert labelled_rows(weights, 2) == {1, 3}
    assert labelled_rows(weights, 3) == {1, 4}


def test_cosines_grown_row_by_row_equal_those_computed_at_once() -> None:
    vectors = np.random.default_rng(4).normal(size=(30, 8))
    vectors[7] = 0.0  # a zero vector has cosine 0 with everything
    known = cosine_similarity(vectors[:1])
    for end in (2, 5, 6, 18, 30):
        known = grown_cosine(known, vectors[:end])
        np.testing.assert_allclose(known, cosine_similarity(vectors[:end]), atol=1e-12)


def test_free_boxes_keep_each_box_that_covers_none_kept_before() -> None:
    boxes = np.array([[0, 0, 10, 5], [5, 2, 10, 5], [10, 0, 4, 5], [20, 20, 1, 1], [0, 5, 10, 5]], dtype=float)
    assert free_boxes(boxes) == [0, 2, 3, 4]  # the second covers the first; touching edges do not count
    assert free_boxes(np.zeros((0, 4))) == []


@pytest.mark.parametrize("shape", [(40, 8), (6, 30)])  # more words than units, and fewer
def test_top_axes_are_the_leading_right_singular_vectors(shape: tuple[int, int]) -> None:
    rng = np.random.default_rng(1)
    points = rng.standard_normal(shape) * np.linspace(3.0, 0.5, shape[1])
    centred = points - points.mean(axis=0)
    reference = np.linalg.svd(centred, full_matrices=False)[2][:2]
    axes = top_axes(centred, 2)
    np.testing.assert_allclose(np.abs(np.sum(axes * reference, axis=1)), 1.0, atol=1e-9)  # same axes, up to sign


def test_pca_of_degenerate_inputs() -> None:
    h2d, c2d = pca_project(np.ones((1, 5)), np.ones((3, 5)))
    assert h2d.shape == (1, 2) and np.allclose(c2d, 0)
    assert len(convex_hull(np.array([[0.0, 0.0], [1.0, 1.0]]))) == 2


def test_cosine_matrix_diagonal_is_one(inspector: ContextInspector) -> None:
    result = fake_result()
    inspector.set_result(result)
    cos = inspector.cosine_matrix()
    assert cos.shape == (4, 4)
    np.testing.assert_allclose(np.diag(cos), 1.0, atol=1e-9)
    np.testing.assert_allclose(cos, cos.T)
    assert np.all(np.abs(cosine_similarity(np.zeros((2, 3)))) <= 1)


def test_fixed_context_note_only_for_the_no_attention_model(inspector: ContextInspector) -> None:
    inspector.set_result(fake_result())
    assert inspector.fixed_context_note() == ""
    same = fake_result()
    same = same._replace(context=np.repeat(same.context[:1], len(same.context), axis=0))  # one c, α given
    inspector.set_result(same)
    assert inspector.fixed_context_note() == FIXED_CONTEXT_NOTE
    assert "fixed-vector bottleneck" in FIXED_CONTEXT_NOTE
    inspector.set_result(fake_result(fixed_context=True))  # no α at all: the decomposition does not apply
    assert "does not apply" in inspector.fixed_context_note()


def test_inspector_theme_zoom_and_out_of_range_steps(inspector: ContextInspector) -> None:
    inspector.set_result(fake_result())
    inspector.select_step(2)
    inspector.select_step(40)  # ignored
    assert inspector.selected_step() == 2
    inspector.set_theme("dark")
    inspector.set_zoom(2.0)
    assert "करो" in inspector.norm_text()


# -- top-k ----------------------------------------------------------------------------------------
def test_topk_rows_match_the_candidates(qtbot) -> None:
    panel = TopKPanel()
    qtbot.addWidget(panel)
    result = fake_result()
    candidates = result.topk[0]
    panel.show_candidates(0, tuple(reversed(candidates)), chosen=candidates[0].token)
    assert panel.rows() == [(c.token, pytest.approx(c.prob)) for c in candidates]
    first = panel._table.item(0, 0)
    assert first is not None and first.text() == "लाइट" and first.font().bold()
    panel.set_zoom(2.0)
    panel.set_theme("dark")
    panel.clear()
    assert panel.rows() == []


# -- the bars round the heatmap ---------------------------------------------------------------
def test_play_and_pause_take_the_same_room(qtbot) -> None:
    bar = TransportBar()
    qtbot.addWidget(bar)
    bar.show()
    size = bar.play_button.size()
    bar.set_playing(True)
    qtbot.waitUntil(lambda: bar.play_button.text() == PAUSE_TEXT)
    assert bar.play_button.size() == size and bar.play_button.minimumSize() == bar.play_button.maximumSize()
    assert bar.play_button.sizeHint().width() <= size.width()  # the wider text fits
    bar.setFont(QFont(bar.font().family(), bar.font().pointSize() * 2))  # presentation zoom
    assert bar.play_button.width() > size.width()


def test_pause_shows_only_once_playing_lasts(qtbot) -> None:
    bar = TransportBar()
    qtbot.addWidget(bar)
    bar.set_playing(True)  # a decode that ends within milliseconds: the button never flickers
    assert bar.play_button.text() == PLAY_TEXT and bar.pause_pending()
    bar.set_playing(False)
    qtbot.wait(PAUSE_SHOWN_MS * 2)
    assert bar.play_button.text() == PLAY_TEXT and not bar.pause_pending()
    bar.set_playing(True)  # one still playing after PAUSE_SHOWN_MS
    qtbot.waitUntil(lambda: bar.play_button.text() == PAUSE_TEXT, timeout=PAUSE_SHOWN_MS * 20)
    bar.set_playing(True)
    assert bar.play_button.text() == PAUSE_TEXT and not bar.pause_pending()
    bar.set_playing(False)  # stopping shows at once
    assert bar.play_button.text() == PLAY_TEXT


def test_a_long_translation_scrolls_instead_of_growing_the_panel(qtbot) -> None:
    panel = SourcePanel()
    qtbot.addWidget(panel)
    panel.resize(400, 300)
    panel.show()
    panel.set_output("लाइट बंद करो")
    height = panel.output_area.height()
    long_text = " ".join(HINDI * 20)
    panel.set_output(long_text)
    qtbot.wait(20)
    assert panel.output_area.height() == height
    assert panel.output_label.text() == f"→ {long_text}"
    assert panel.output_area.verticalScrollBar().maximum() > 0  # the rest is a scroll away


# -- colour bar --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("levels", "length_px", "expected"),
    [
        ((0.0, 1.0), 600, [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]),
        ((-1.0, 1.0), 400, [-1.0, -0.5, 0.0, 0.5, 1.0]),
        ((-1.0, 1.0), 300, [-1.0, 0.0, 1.0]),
        ((-3.7, 3.7), 600, [-2.0, 0.0, 2.0]),
        ((0.0, 1.0), 50, [0.0, 1.0]),
    ],
)
def test_colour_bar_ticks_are_round_values_that_fit(
    levels: tuple[float, float], length_px: int, expected: list[float]
) -> None:
    np.testing.assert_allclose(nice_ticks(*levels, length_px, 80), expected, atol=1e-12)
    assert tick_label(-0.0, 0.2) == "0.0" and tick_label(2.0, 2.0) == "2"


def _bar_column(view: pg.GraphicsView, bar: ColourBar) -> tuple[QImage, QRectF, int]:
    """The view rendered, the bar's gradient in view pixels, and the x of its middle."""
    image = view.grab().toImage()
    rect = bar.mapRectToScene(bar.bar_rect())
    rect = view.mapFromScene(rect).boundingRect()
    return image, QRectF(rect), rect.center().x()


def test_colour_bar_spans_its_view_in_the_lookup_table_colours(heatmap: HeatmapWidget, qtbot) -> None:
    bar, view = heatmap._colorbar, heatmap.graphics_view()
    heatmap.set_result(fake_result())
    qtbot.wait(20)
    image_rect = view.mapFromScene(heatmap._plot.vb.sceneBoundingRect()).boundingRect()
    picture, rect, x = _bar_column(view, bar)
    assert abs(rect.top() - image_rect.top()) <= 1 and abs(rect.bottom() - image_rect.bottom()) <= 2
    lut = lookup_table(get_theme("light").alpha_colormap)
    for y in np.linspace(rect.top() + 3, rect.bottom() - 3, 7).round():
        level = (rect.bottom() - y) / rect.height()  # 0 at the bottom, 1 at the top
        colour = QColor(picture.pixel(x, int(y)))
        shown = (colour.red(), colour.green(), colour.blue())
        assert np.abs(np.subtract(shown, lut[round(level * 255)], dtype=int)).max() <= 10, (level, shown)
    assert [label for _, label in bar.ticks()][::5] == ["0.0", "1.0"] and bar.title() == alpha_symbol()
    heatmap.set_result(big_result(40))  # the top axis labels turn upright: the image starts lower
    qtbot.wait(20)
    moved = view.mapFromScene(heatmap._plot.vb.sceneBoundingRect()).boundingRect()
    assert moved.top() > image_rect.top() + 10
    _, rect, _ = _bar_column(view, bar)
    assert abs(rect.top() - moved.top()) <= 1  # the bar followed it


def test_colour_bar_takes_each_decodes_score_scale(heatmap: HeatmapWidget) -> None:
    heatmap.set_mode("scores")
    for scale in (1.0, 7.0):
        result = fake_result()
        result = result._replace(scores=scores_of(result) * scale)
        heatmap.set_result(result)
        assert heatmap._colorbar.levels() == pytest.approx(score_levels(scores_of(result)))
    assert heatmap._colorbar.title() == "score e"


def test_unknown_words_line_keeps_its_room_when_empty(qtbot) -> None:
    panel = SourcePanel()
    qtbot.addWidget(panel)
    panel.resize(400, 300)
    panel.show()
    panel.source_edit.setPlainText("turn off the ligh")
    qtbot.wait(20)
    below = panel.output_area.y()
    panel.mark_unknown(["turn", "off", "the", "ligh"], [3])
    qtbot.wait(20)
    assert panel.unknown_label.isVisible() and panel.unknown_label.text() == "unknown: ligh"
    assert panel.output_area.y() == below  # nothing below it moves
    panel.clear_unknown()
    qtbot.wait(20)
    assert not panel.unknown_label.isVisible() and panel.output_area.y() == below
