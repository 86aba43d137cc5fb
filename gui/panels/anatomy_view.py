"""Anatomy of a decoder step, drawn as the article explains it: the query scores every h_j (e_ij), softmax turns
the scores into weights α_ij, each h_j is scaled by its weight and the scaled rows sum to c_i, from which the
decoder picks its next word.

One row per source word: its score e_ij as a signed bar, its weight α_ij (animated from the scores, as the
softmax acts), α_ij h_j as a strip of the vector's values faded by the weight; under the rows Σ_j = c_i;
above them the query; beside them the next-token candidates.  Drawn with QPainter, so it scales with the
zoom and reads as a slide in presentation mode.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from PySide6.QtCore import QRectF, Qt, QVariantAnimation, Slot
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QImage, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from engine import HeadAnatomy, StepAnatomy
from gui.style.fonts import BASE_POINT_SIZE, alpha_symbol, ui_font
from gui.style.theme import Theme, clamp_zoom, get_theme, lookup_table

ANIMATE_MS = 900  # scores → weights, each time a new step is shown
EMPTY_TEXT = "Select a decoder step to see how its context vector is made."
MAX_ROWS = 24  # longer sources show their strongest words (the rest are summed up in one line)


class AnatomyView(QWidget):
    def __init__(self, parent: QWidget | None = None, theme: str = "light", zoom: float = 1.0) -> None:
        super().__init__(parent)
        self._theme: Theme = get_theme(theme)
        self._zoom = clamp_zoom(zoom)
        self.anatomy: StepAnatomy | HeadAnatomy | None = None
        self.note = EMPTY_TEXT  # shown instead of the drawing (no step, or a model without attention)
        self.phase = 1.0  # 0: the weights' bars show the scores; 1: they show α
        self._animation = QVariantAnimation(self)
        self._animation.setStartValue(0.0)
        self._animation.setEndValue(1.0)
        self._animation.setDuration(ANIMATE_MS)
        self._animation.valueChanged.connect(self._on_phase)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(360, 240)

    # -- data ------------------------------------------------------------------------------------
    def show_step(self, anatomy: StepAnatomy | HeadAnatomy, animate: bool = True) -> None:
        """Step `anatomy.step` taken apart; a new step replays the scores → weights animation."""
        new = self.anatomy is None or anatomy.step != self.anatomy.step or anatomy.token != self.anatomy.token
        self.anatomy, self.note = anatomy, ""
        if new and animate and self.isVisible():
            self._animation.stop()
            self.phase = 0.0
            self._animation.start()
        elif self._animation.state() != QVariantAnimation.State.Running:
            self.phase = 1.0
        self.update()

    def show_note(self, text: str) -> None:
        """Nothing to take apart (no step yet, or no attention): say so instead of showing another step."""
        self._animation.stop()
        self.anatomy, self.note, self.phase = None, text, 1.0
        self.update()

    def finish(self) -> None:
        """Jump to the end of the scores → weights animation (a screenshot, a GIF frame)."""
        self._animation.stop()
        self.phase = 1.0
        self.update()

    def shown_step(self) -> int | None:
        return self.anatomy.step if self.anatomy is not None else None

    @Slot(object)
    def _on_phase(self, value: object) -> None:
        self.phase = float(value)  # type: ignore[arg-type]
        self.update()

    # -- look ------------------------------------------------------------------------------------
    def set_theme(self, name: str) -> None:
        self._theme = get_theme(name)
        self.update()

    def set_zoom(self, factor: float) -> None:
        self._zoom = clamp_zoom(factor)
        self.update()

    def _font(self, scale: float = 1.0, bold: bool = False) -> QFont:
        font = ui_font(BASE_POINT_SIZE * scale, self._zoom)
        font.setBold(bold)
        return font

    def _fitting_font(self, scale: float, height: float, bold: bool = False) -> QFont:
        """The font at `scale`, made smaller if its line is taller than `height` (a long sentence's thin rows)."""
        font = self._font(scale, bold)
        line = QFontMetricsF(font).height()
        if line > height > 0:
            font.setPointSizeF(max(font.pointSizeF() * height / line, 5.0))
        return font

    def _fit_line(self, p: QPainter, rect: QRectF, text: str, scale: float, bold: bool = False) -> None:
        """One line of text in `rect`: shrunk to fit (to three quarters of its size at most), then elided."""
        font = self._font(scale, bold)
        width = QFontMetricsF(font).horizontalAdvance(text)
        if width > rect.width() > 0:
            font.setPointSizeF(font.pointSizeF() * max(rect.width() / width, 0.75))
        p.setFont(font)
        shown = QFontMetricsF(font).elidedText(text, Qt.TextElideMode.ElideRight, rect.width())
        p.drawText(rect, _left(), shown)

    def to_image(self, width: int, height: int) -> QImage:
        """The view painted at `width` × `height` (a GIF frame), whatever its size on screen."""
        image = QImage(width, height, QImage.Format.Format_ARGB32_Premultiplied)
        image.fill(QColor(self._theme.plot_background))
        painter = QPainter(image)
        self._paint(painter, QRectF(0, 0, width, height))
        painter.end()
        return image

    # -- drawing ---------------------------------------------------------------------------------
    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor(self._theme.plot_background))
        self._paint(painter, QRectF(self.rect()))
        painter.end()

    def _paint(self, p: QPainter, area: QRectF) -> None:
        p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        p.setRenderHint(QPainter.RenderHint.TextAntialiasing, True)
        fg = QColor(self._theme.plot_foreground)
        a = self.anatomy
        if isinstance(a, HeadAnatomy):
            self._paint_head(p, a, area, fg)
            return
        if a is None:
            p.setPen(fg)
            p.setFont(self._font(1.2))
            p.drawText(
                area.adjusted(20, 20, -20, -20), int(Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap), self.note
            )
            return
        line = QFontMetricsF(self._font()).height()
        pad = line * 0.6
        inner = area.adjusted(pad, pad, -pad, -pad)
        rows = _shown_rows(a.alpha)
        header = line * 3.9  # the title, the query strip and the column heads
        footer = line * 3.4  # Σ = c_i and the count of scores
        candidates_w = min(inner.width() * 0.24, line * 11)
        flow = QRectF(inner.left(), inner.top(), inner.width() - candidates_w - pad, inner.height())
        self._title(p, a, QRectF(flow.left(), flow.top(), flow.width(), line * 1.2), fg)
        self._query(p, a, QRectF(flow.left(), flow.top() + line * 1.25, flow.width(), line * 1.0), fg)
        body = QRectF(flow.left(), flow.top() + header, flow.width(), flow.height() - header - footer)
        columns = self._columns(body)
        row_h = body.height() / max(len(rows), 1)
        self._column_heads(p, columns, body.top() - line * 0.15, fg)
        for n, j in enumerate(rows):
            self._row(p, a, j, columns, QRectF(body.left(), body.top() + n * row_h, body.width(), row_h), fg)
        self._context(p, a, columns, QRectF(body.left(), body.bottom() + line * 0.3, body.width(), line * 1.3), fg)
        self._footer(p, a, QRectF(flow.left(), area.bottom() - pad - line * 1.4, flow.width(), line * 1.4), fg)
        right = QRectF(flow.right() + pad, inner.top(), candidates_w, inner.height())
        self._candidates(p, a, right, fg)

    def _paint_head(self, p: QPainter, a: HeadAnatomy, area: QRectF, fg: QColor) -> None:
        """One head: each word's q·k/√d, its softmax α and ‖α W_O^h v‖; Σ α v; the heads joined; W_O."""
        line = QFontMetricsF(self._font()).height()
        pad = line * 0.6
        inner = area.adjusted(pad, pad, -pad, -pad)
        candidates_w = min(inner.width() * 0.24, line * 11)
        flow = QRectF(inner.left(), inner.top(), inner.width() - candidates_w - pad, inner.height())
        p.setPen(fg)
        title = f'Step {a.step}, layer {a.layer}, head {a.head}: how this head reads the source for "{a.token}"'
        self._fit_line(p, QRectF(flow.left(), flow.top(), flow.width(), line * 1.2), title, 1.25, bold=True)
        footer = line * 5.2
        body = QRectF(flow.left(), flow.top() + line * 2.8, flow.width(), flow.height() - line * 2.8 - footer)
        columns = self._columns(body)
        heads = {
            "score": "q·kⱼ/√d",
            "alpha": f"softmax → {alpha_symbol()}",
            "weighted": "‖αⱼ W_O vⱼ‖ (into the output)",
        }
        for name, text in heads.items():
            c = columns[name]
            self._fit_line(p, QRectF(c.left() + 4, body.top() - line * 1.15, c.width() - 8, line), text, 0.9, bold=True)
        rows = _shown_rows(a.alpha)
        row_h = body.height() / max(len(rows), 1)
        widest = float(a.norms.max(initial=1e-9))
        for n, j in enumerate(rows):
            self._head_row(
                p, a, j, columns, QRectF(body.left(), body.top() + n * row_h, body.width(), row_h), widest, fg
            )
        self._head_vectors(p, a, columns, QRectF(flow.left(), body.bottom() + line * 0.3, flow.width(), footer), fg)
        self._candidates(p, a, QRectF(flow.right() + pad, inner.top(), candidates_w, inner.height()), fg)

    def _word_score_weight(
        self, p: QPainter, a: StepAnatomy | HeadAnatomy, j: int, columns: dict[str, QRectF], row: QRectF, fg: QColor
    ) -> Callable[[str], QRectF]:
        """Row j's word, score bar and weight bar (animated e → α); returns where each column's drawing goes."""
        gap = min(row.height() * 0.18, 6 * self._zoom)
        strongest = j == int(np.argmax(a.alpha))
        p.setFont(self._fitting_font(1.0, row.height(), bold=strongest))
        p.setPen(fg)
        word = columns["word"]
        p.drawText(QRectF(word.left(), row.top(), word.width() - 8, row.height()), _right(), a.source_tokens[j])

        def box(name: str) -> QRectF:
            column = columns[name]
            return QRectF(column.left() + 4, row.top() + gap, column.width() - 8, row.height() - 2 * gap)

        norm = float(np.abs(a.scores).max(initial=1e-9))
        self._signed_bar(p, a.scores[j], norm, box("score"), fg)
        shown = (1.0 - self.phase) * (a.scores[j] / norm) + self.phase * a.alpha[j]
        self._weight_bar(p, float(shown), float(a.alpha[j]), box("alpha"), fg, strongest)
        return box

    def _head_row(
        self, p: QPainter, a: HeadAnatomy, j: int, columns: dict[str, QRectF], row: QRectF, widest: float, fg: QColor
    ) -> None:
        box = self._word_score_weight(p, a, j, columns, row, fg)
        bar = box("weighted")
        length = bar.width() * 0.75 * float(a.norms[j]) / widest * self.phase
        p.fillRect(QRectF(bar.left(), bar.top(), length, bar.height()), QColor(self._theme.accent))
        p.setFont(self._fitting_font(0.85, bar.height()))
        p.drawText(
            QRectF(bar.left() + bar.width() * 0.77, bar.top(), bar.width() * 0.23, bar.height()),
            _left(),
            f"{a.norms[j]:.2f}",
        )

    def _head_vectors(self, p: QPainter, a: HeadAnatomy, columns: dict[str, QRectF], rect: QRectF, fg: QColor) -> None:
        """Σ α v of this head, every head's joined, and the layer's output through W_O."""
        line = rect.height() / 4
        label_w = columns["weighted"].left() - rect.left() - 8
        strip = columns["weighted"].adjusted(4, 0, -4, 0)
        rows = [
            (f"Σⱼ {alpha_symbol()}ⱼ vⱼ = c{_superscript(a.head)}", a.context),
            (f"[c⁰ … c{_superscript(len(a.concatenated) // max(len(a.context), 1) - 1)}]", a.concatenated),
            (f"W_O [ … ] + b  (layer {a.layer})", a.output),
        ]
        p.setFont(self._font(0.95, bold=True))
        for n, (label, values) in enumerate(rows):
            top = rect.top() + n * line
            p.setPen(fg)
            p.drawText(QRectF(rect.left(), top, label_w, line * 0.9), _right(), label)
            target = QRectF(strip.left(), top + line * 0.1, strip.width(), line * 0.7)
            if values is None:
                p.setFont(self._font(0.85))
                p.drawText(target, _left(), "the records keep the output of the viewed layer only")
                continue
            self._strip(p, values, target, self.phase)
            if n == 1:  # this head's part of the joined vector
                width = target.width() * len(a.context) / max(len(a.concatenated), 1)
                p.setPen(QPen(QColor(self._theme.focus), 2.5 * self._zoom))
                p.drawRect(QRectF(target.left() + a.head * width, target.top(), width, target.height()))
        p.setPen(QColor(self._theme.muted))
        text = f"Each step needs Tx × layers × heads scores; the sentence pair: {a.pair_scores}."
        self._fit_line(p, QRectF(rect.left(), rect.top() + 3 * line, rect.width(), line), text, 0.9)

    def _title(self, p: QPainter, a: StepAnatomy, rect: QRectF, fg: QColor) -> None:
        p.setPen(fg)
        text = f'Step {a.step}: how c{_sub(a.step)} is made, and "{a.token}" chosen'
        self._fit_line(p, rect, text, 1.25, bold=True)

    def _query(self, p: QPainter, a: StepAnatomy, rect: QRectF, fg: QColor) -> None:
        p.setFont(self._font(0.95))
        label = "query q = " + a.query_name
        width = min(QFontMetricsF(p.font()).horizontalAdvance(label) + 8, rect.width() * 0.62)
        p.setPen(fg)
        self._fit_line(p, QRectF(rect.left(), rect.top(), width, rect.height()), label, 0.95)
        self._strip(
            p, a.query, QRectF(rect.left() + width + 6, rect.top() + 2, rect.width() - width - 6, rect.height() - 4)
        )

    def _columns(self, body: QRectF) -> dict[str, QRectF]:
        """Word | e_ij | α_ij | α_ij h_j, left to right."""
        words = body.width() * 0.16
        bars = body.width() * 0.2
        left = body.left()
        out = {}
        for name, width in (
            ("word", words),
            ("score", bars),
            ("alpha", bars),
            ("weighted", body.width() - words - 2 * bars),
        ):
            out[name] = QRectF(left, body.top(), width, body.height())
            left += width
        return out

    def _column_heads(self, p: QPainter, columns: dict[str, QRectF], bottom: float, fg: QColor) -> None:
        alpha = alpha_symbol()
        heads = {
            "score": "e = a(q, hⱼ)",
            "alpha": f"softmax → {alpha}",
            "weighted": f"{alpha} · h   (each h faded by its weight)",
        }
        p.setPen(fg)
        height = QFontMetricsF(self._font(0.9, bold=True)).height()
        for name, text in heads.items():
            c = columns[name]
            self._fit_line(p, QRectF(c.left() + 4, bottom - height, c.width() - 8, height), text, 0.9, bold=True)

    def _row(self, p: QPainter, a: StepAnatomy, j: int, columns: dict[str, QRectF], row: QRectF, fg: QColor) -> None:
        box = self._word_score_weight(p, a, j, columns, row, fg)
        self._strip(
            p, a.weighted[j] / max(float(a.alpha[j]), 1e-9), box("weighted"), fade=float(a.alpha[j]) * self.phase
        )

    def _signed_bar(self, p: QPainter, value: float, scale: float, rect: QRectF, fg: QColor) -> None:
        mid = rect.left() + rect.width() * 0.5
        length = rect.width() * 0.45 * value / scale
        p.setPen(QPen(QColor(self._theme.muted), 1))
        p.drawLine(int(mid), int(rect.top()), int(mid), int(rect.bottom()))
        p.fillRect(QRectF(min(mid, mid + length), rect.top(), abs(length), rect.height()), QColor(self._theme.accent))
        p.setPen(fg)
        p.setFont(self._fitting_font(0.85, rect.height()))
        text_rect = QRectF(rect.left(), rect.top(), rect.width() * 0.5 - 4, rect.height())
        if value < 0:
            text_rect.moveLeft(mid + 4)
        p.drawText(text_rect, _right() if value >= 0 else _left(), f"{value:+.2f}")

    def _weight_bar(self, p: QPainter, shown: float, alpha: float, rect: QRectF, fg: QColor, strongest: bool) -> None:
        width = rect.width() * 0.7 * max(min(shown, 1.0), -1.0)
        colour = QColor(self._theme.focus if strongest else self._theme.accent)
        p.fillRect(QRectF(rect.left(), rect.top(), max(width, 0.0), rect.height()), colour)
        p.setPen(fg)
        p.setFont(self._fitting_font(0.85, rect.height(), bold=strongest))
        if self.phase > 0.6:
            p.drawText(
                QRectF(rect.left() + rect.width() * 0.72, rect.top(), rect.width() * 0.28, rect.height()),
                _left(),
                f"{alpha:.2f}",
            )

    def _strip(self, p: QPainter, values: np.ndarray, rect: QRectF, fade: float = 1.0) -> None:
        """A vector as a strip of cells in the diverging colours (blue < 0 < red), faded towards the background."""
        if rect.width() <= 1 or rect.height() <= 1 or not len(values):
            return
        lut = lookup_table(self._theme.scores_colormap)
        scale = float(np.abs(values).max(initial=1e-9))
        index = np.clip(np.round((values / scale + 1.0) * 127.5), 0, 255).astype(int)
        background = QColor(self._theme.plot_background)
        back = np.array([background.red(), background.green(), background.blue()], dtype=float)
        colours = back + (lut[index].astype(float) - back) * max(min(fade, 1.0), 0.0)
        cell = rect.width() / len(values)
        for k, rgb in enumerate(colours.astype(int)):
            p.fillRect(QRectF(rect.left() + k * cell, rect.top(), math.ceil(cell), rect.height()), QColor(*rgb))
        p.setPen(QPen(QColor(self._theme.muted), 1))
        p.setBrush(Qt.BrushStyle.NoBrush)
        p.drawRect(rect)

    def _context(self, p: QPainter, a: StepAnatomy, columns: dict[str, QRectF], rect: QRectF, fg: QColor) -> None:
        p.setPen(fg)
        p.setFont(self._font(1.0, bold=True))
        label = QRectF(rect.left(), rect.top(), columns["weighted"].left() - rect.left() - 8, rect.height())
        p.drawText(label, _right(), f"Σⱼ {alpha_symbol()}ᵢⱼ hⱼ = c{_sub(a.step)}")
        weighted = columns["weighted"]
        self._strip(
            p, a.context, QRectF(weighted.left() + 4, rect.top(), weighted.width() - 8, rect.height()), self.phase
        )

    def _footer(self, p: QPainter, a: StepAnatomy, rect: QRectF, fg: QColor) -> None:
        tx = len(a.source_tokens)
        ty = a.pair_scores // max(tx, 1)
        p.setPen(QColor(self._theme.muted))
        text = (
            f"Tx = {tx} scores this step (one per source word); "
            f"Tx × Ty = {tx} × {ty} = {a.pair_scores} for the sentence pair."
        )
        self._fit_line(p, rect, text, 0.9)

    def _candidates(self, p: QPainter, a: StepAnatomy | HeadAnatomy, rect: QRectF, fg: QColor) -> None:
        p.setPen(fg)
        p.setFont(self._font(1.0, bold=True))
        line = QFontMetricsF(p.font()).height()
        p.drawText(QRectF(rect.left(), rect.top(), rect.width(), line * 1.2), _left(), "next word: p(y | c, s)")
        row_h = min(line * 1.6, (rect.height() - line * 2) / max(len(a.candidates), 1))
        top = rect.top() + line * 1.6
        for n, c in enumerate(a.candidates):
            row = QRectF(rect.left(), top + n * row_h, rect.width(), row_h * 0.85)
            chosen = c.token == a.token
            p.setFont(self._font(1.0, bold=chosen))
            p.setPen(fg)
            words = QRectF(row.left(), row.top(), row.width() * 0.42, row.height())
            p.drawText(words, _left(), c.token)
            bar = QRectF(
                row.left() + row.width() * 0.44,
                row.top() + row.height() * 0.2,
                row.width() * 0.56 * c.prob,
                row.height() * 0.6,
            )
            p.fillRect(bar, QColor(self._theme.focus if chosen else self._theme.accent))
            p.setFont(self._font(0.8))
            p.drawText(
                QRectF(row.left() + row.width() * 0.44, row.top(), row.width() * 0.56, row.height()),
                _right(),
                f"{c.prob:.2f}",
            )


def _shown_rows(alpha: np.ndarray) -> list[int]:
    """Every source position, or the MAX_ROWS strongest in source order for a long sentence."""
    if len(alpha) <= MAX_ROWS:
        return list(range(len(alpha)))
    return sorted(int(j) for j in np.argsort(-alpha, kind="stable")[:MAX_ROWS])


def _sub(n: int) -> str:
    return str(n).translate(str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉"))


def _left() -> int:
    return int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)


def _right() -> int:
    return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)


def _superscript(n: int) -> str:
    return str(n).translate(str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹"))
