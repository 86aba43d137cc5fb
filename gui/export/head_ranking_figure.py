"""The head ranking as a figure: word-level AER per cross-attention head as a layers × heads grid, from the report.

One row per decoder layer, one cell per head, and a last column with the mean of the layer's heads; the
mean of all under the grid.  A darker cell is a lower AER (a head to trust more); the best single head is
framed, attention-sink heads are hatched; the rule that turns α into word links is written under the grid,
so the figure says how its numbers were made wherever it goes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from PySide6.QtCore import QLineF, QPointF, QRectF, QSizeF, Qt
from PySide6.QtGui import QColor, QPainter, QPen

from gui.export.figure import FigureSize, Text, write_figure
from gui.export.render import ensure_app
from gui.style.fonts import alpha_symbol, ui_font

GOOD, BAD = QColor("#08306b"), QColor("#f7fbff")  # AER 0 and 1: a sequential blue, dark where it aligns well
BEST = QColor("#D55E00")  # Okabe–Ito vermilion: the best head's frame
MISSING = QColor("#bdbdbd")  # no AER: nothing was scored
MARGIN = 16.0
MAX_CELL = 120.0


def paint_head_ranking(
    painter: QPainter,
    size: QSizeF,
    report: Mapping[str, Any],
    background: str = "#ffffff",
    foreground: str = "#202020",
    zoom: float = 1.0,
) -> None:
    """Draw `report` (engine.HeadRankingReport: "layers", "heads", "ranking", "best", "rule", …) into `size`."""
    look = _Look(foreground, zoom)
    painter.fillRect(QRectF(0, 0, size.width(), size.height()), QColor(background))
    width = size.width() - 2 * MARGIN
    notes = _notes(report)
    note_lines = [line for note in notes for line in look.note.wrap(note, width)]
    top = _draw_titles(painter, report, look, width)
    bottom = size.height() - MARGIN - len(note_lines) * look.note.line
    y = _draw_grid(painter, QRectF(MARGIN, top, width, bottom - top - MARGIN), report, look)
    for line in note_lines:
        look.note.draw(painter, line, QPointF(MARGIN, y + look.note.line / 2), look.foreground)
        y += look.note.line


class _Look:
    def __init__(self, foreground: str, zoom: float) -> None:
        self.zoom = zoom
        self.foreground = QColor(foreground)
        self.title = Text(ui_font(13, zoom))
        self.label = Text(ui_font(10, zoom))
        self.cell = Text(ui_font(10, zoom))
        self.note = Text(ui_font(9, zoom))


def _draw_titles(painter: QPainter, report: Mapping[str, Any], look: _Look, width: float) -> float:
    """Title and data line; returns the y below them."""
    title = f"Which head to trust: word-level AER per cross-attention head of {report.get('model', 'the model')}"
    data = (
        f"{report.get('data', '')}: {report.get('sentences', 0)} sentences scored, "
        f"{report.get('skipped', 0)} skipped; lower is better"
    )
    y = MARGIN
    for text, font in ((title, look.title), (data, look.label)):
        for line in font.wrap(text, width):
            font.draw(painter, line, QPointF(MARGIN, y + font.line / 2), look.foreground)
            y += font.line
    return y + look.label.line


def _draw_grid(painter: QPainter, area: QRectF, report: Mapping[str, Any], look: _Look) -> float:
    """The layers × heads cells, the layer means in a last column, the mean of all under them; returns the y
    below the grid."""
    layers, heads = int(report.get("layers", 0)), int(report.get("heads", 0))
    scores = _by_position(report.get("ranking", []))
    left = area.left() + look.label.width("layer 00") + 10
    cell = min(MAX_CELL * look.zoom, (area.right() - left) / (heads + 1.4), area.height() / (layers + 2.6))
    mean_left = left + (heads + 0.4) * cell  # the means, set apart by a gap
    head_top = area.top() + look.label.line * 1.2
    for h in range(heads):
        look.label.draw(painter, f"head {h}", QPointF(left + (h + 0.5) * cell, area.top()), look.foreground, "center")
    look.label.draw(painter, "layer mean", QPointF(mean_left + cell / 2, area.top()), look.foreground, "center")
    best = report.get("best") or {}
    for layer in range(layers):
        y = head_top + layer * cell
        look.label.draw(painter, f"layer {layer}", QPointF(left - 10, y + cell / 2), look.foreground, "right")
        for h in range(heads):
            framed = best.get("layer") == layer and best.get("head") == h
            _cell(painter, QRectF(left + h * cell, y, cell, cell), scores.get(("head", layer, h)), look, framed)
        _cell(painter, QRectF(mean_left, y, cell, cell), scores.get(("layer", layer, None)), look, False)
    y = head_top + layers * cell + cell * 0.2
    everything = QRectF(mean_left, y, cell, cell)
    look.label.draw(painter, "mean of all", QPointF(mean_left - 10, y + cell / 2), look.foreground, "right")
    _cell(painter, everything, scores.get(("all", None, None)), look, False)
    return everything.bottom() + MARGIN


def _by_position(ranking: Sequence[Mapping[str, Any]]) -> dict[tuple[str, int | None, int | None], Mapping[str, Any]]:
    return {(str(r.get("kind")), r.get("layer"), r.get("head")): r for r in ranking}


def _cell(painter: QPainter, rect: QRectF, score: Mapping[str, Any] | None, look: _Look, best: bool) -> None:
    """One AER as a coloured square with its value; hatched when a sink, framed when the best head."""
    aer = None if score is None else score.get("aer")
    fill = MISSING if not isinstance(aer, (int, float)) else _colour(float(aer))
    inner = rect.adjusted(1, 1, -1, -1)
    painter.save()
    painter.fillRect(inner, fill)
    ink = QColor("#ffffff") if fill.lightnessF() < 0.5 else QColor("#202020")
    if score is not None and score.get("sink"):
        _hatch(painter, inner, ink, look.zoom)
    if best:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        pen = QPen(BEST, 4.0 * look.zoom)
        pen.setJoinStyle(Qt.PenJoinStyle.MiterJoin)
        painter.setPen(pen)
        painter.drawRect(rect.adjusted(2 * look.zoom, 2 * look.zoom, -2 * look.zoom, -2 * look.zoom))
    painter.restore()
    value = "–" if not isinstance(aer, (int, float)) else f"{aer:.3f}"
    look.cell.draw(painter, value, rect.center(), ink, "center")
    tags = [t for t, on in (("best", best), ("sink", bool(score and score.get("sink")))) if on]
    if tags:
        at = QPointF(rect.center().x(), rect.center().y() + look.cell.line)
        look.note.draw(painter, ", ".join(tags), at, ink, "center")


def _hatch(painter: QPainter, rect: QRectF, colour: QColor, zoom: float) -> None:
    """Diagonal lines over `rect`, drawn as lines (a pattern brush would not stay vector in every format)."""
    painter.save()
    painter.setClipRect(rect)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
    faint = QColor(colour)
    faint.setAlphaF(0.45)  # the value on top stays readable
    painter.setPen(QPen(faint, 1.0 * zoom))
    step = 9.0 * zoom
    x = rect.left() - rect.height()
    while x < rect.right():
        painter.drawLine(QLineF(x, rect.bottom(), x + rect.height(), rect.top()))
        x += step
    painter.restore()


def _colour(aer: float) -> QColor:
    t = min(max(aer, 0.0), 1.0)
    mix = [GOOD.redF(), GOOD.greenF(), GOOD.blueF()], [BAD.redF(), BAD.greenF(), BAD.blueF()]
    return QColor.fromRgbF(*(a + (b - a) * t for a, b in zip(*mix, strict=True)))


def _notes(report: Mapping[str, Any]) -> list[str]:
    """The legend in words: the best head, the sinks, the rule."""
    best = report.get("best")
    found = f"{best['label']}, AER {best['aer']:.3f} (framed)" if best and best.get("aer") is not None else "none"
    sinks = ", ".join(report.get("sinks", [])) or "none"
    rule = str(report.get("rule", "")).replace("α", alpha_symbol())
    sink_rule = str(report.get("sink_rule", "")).replace("α", alpha_symbol())
    return [
        f"Best head (lowest AER): {found}.  Colour: AER from 0 (dark) to 1 (light).",
        f"Attention sinks (hatched): {sinks}; {sink_rule}.",
        f"Rule: {rule}.",
    ]


def export_head_ranking(
    report: Mapping[str, Any], path: str | Path, size: tuple[int, int, float] = (1000, 760, 96.0)
) -> None:
    """Draw `report` headless to `path` (.png, .svg or .pdf); `size` in pixels at 96 dpi, and the PNG's dpi."""
    ensure_app()

    def paint(painter: QPainter, area: QSizeF) -> None:
        paint_head_ranking(painter, area, report)

    write_figure(path, paint, FigureSize(*size), title="attnscope: which head to trust")
