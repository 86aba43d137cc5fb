"""The input area: source sentence (debounced re-decode, unknown words marked), reference, and the output line."""

from __future__ import annotations

import html
import math
from collections.abc import Sequence

from PySide6.QtCore import QEvent, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QColor, QFontMetricsF, QPalette, QTextCharFormat, QTextCursor, QTextDocument
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QLabel,
    QPlainTextEdit,
    QScrollArea,
    QSizePolicy,
    QTextEdit,
    QWidget,
)

from gui.text.token_spans import unknown_spans

DEBOUNCE_MS = 300
END_MARK = "⏎"  # the output line's mark for a selected <eos> step
OUTPUT_SCALE = 1.35  # the translation is what a lecture hall reads first
OUTPUT_LINES = 2
UNKNOWN_COLOUR = QColor("#d62728")


class LineEditor(QPlainTextEdit):
    """A plain-text editor a few lines high that keeps that height when the font (zoom) changes."""

    def __init__(self, lines: int, placeholder: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._lines = lines
        self.setPlaceholderText(placeholder)
        self.setTabChangesFocus(True)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self._fit_height()

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.Type.FontChange:
            self._fit_height()

    def set_lines(self, lines: int) -> None:
        self._lines = lines
        self._fit_height()

    def _fit_height(self) -> None:
        margins = self.contentsMargins()
        doc_margin = 2 * self.document().documentMargin()
        height = self.fontMetrics().lineSpacing() * self._lines + doc_margin + margins.top() + margins.bottom() + 4
        self.setFixedHeight(int(height))


class SourcePanel(QWidget):
    """Emits `edited` once typing has paused for DEBOUNCE_MS (either editor)."""

    edited = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.source_edit = LineEditor(2, "Type a sentence to translate…", self)
        self.source_edit.setObjectName("sourceEditor")
        self.target_edit = LineEditor(1, "Reference translation (optional; used by forced decoding)", self)
        self.target_edit.setObjectName("targetEditor")
        self.unknown_label = QLabel(self)
        self.unknown_label.setObjectName("unknownLabel")
        palette = self.unknown_label.palette()  # a palette, not a style sheet: those freeze the font
        palette.setColor(QPalette.ColorRole.WindowText, UNKNOWN_COLOUR)
        self.unknown_label.setPalette(palette)
        # Its line stays reserved while hidden: half-typed words are unknown, and a line that came and went
        # with each decode would move (relayout and repaint) the heatmap below while the user types.
        policy = self.unknown_label.sizePolicy()
        policy.setRetainSizeWhenHidden(True)
        self.unknown_label.setSizePolicy(policy)
        self.unknown_label.hide()
        self.output_label = QLabel(self)
        self.output_label.setObjectName("outputLabel")
        self.output_label.setWordWrap(True)
        self.output_label.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        self.output_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.output_label.setTextFormat(Qt.TextFormat.RichText)  # the selected step's token is marked
        self.selected_output: int | None = None  # the output token marked
        # A fixed height, scrolling when the translation is longer: a label that grew a line would resize
        # (relayout and repaint) the heatmap below it at every decode whose output wraps differently.
        self.output_area = QScrollArea(self)
        self.output_area.setObjectName("outputArea")
        self.output_area.setWidget(self.output_label)
        self.output_area.setWidgetResizable(True)
        self.output_area.setFrameShape(QFrame.Shape.NoFrame)
        self.output_area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.output_area.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self._build_layout()
        self._scale_output_font()
        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(DEBOUNCE_MS)
        self._debounce.timeout.connect(self.edited)
        self.source_edit.textChanged.connect(self._on_text_changed)
        self.target_edit.textChanged.connect(self._on_text_changed)

    def _build_layout(self) -> None:
        self._grid = QGridLayout(self)
        self._grid.setContentsMargins(0, 0, 0, 0)
        self._grid.setSpacing(4)
        self.compact = False
        self._place()

    def _place(self) -> None:
        """One column (source, unknown words, reference, output), or in compact mode one line: source → output."""
        grid = self._grid
        if self.compact:
            grid.addWidget(self.source_edit, 0, 0)
            grid.addWidget(self.output_area, 0, 1)
            grid.addWidget(self.target_edit, 1, 0, 1, 2)
            grid.addWidget(self.unknown_label, 2, 0, 1, 2)
        else:
            for row, widget in enumerate((self.source_edit, self.unknown_label, self.target_edit, self.output_area)):
                grid.addWidget(widget, row, 0, 1, 2)
        grid.setColumnStretch(0, 2 if self.compact else 0)  # compact: two fifths for the source, the rest for
        grid.setColumnStretch(1, 3 if self.compact else 0)  # the translation

    def set_compact(self, compact: bool) -> None:
        """Presentation mode: the source and its translation on one line above the heatmap."""
        self.compact = compact
        self.source_edit.set_lines(1 if compact else 2)
        wrap = QPlainTextEdit.LineWrapMode.NoWrap if compact else QPlainTextEdit.LineWrapMode.WidgetWidth
        self.source_edit.setLineWrapMode(wrap)
        self.unknown_label.setVisible(False)
        policy = self.unknown_label.sizePolicy()
        policy.setRetainSizeWhenHidden(not compact)  # its reserved line is room the heatmap needs in a lecture
        self.unknown_label.setSizePolicy(policy)
        self._place()
        self._scale_output_font()

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.Type.FontChange:
            self._scale_output_font()

    def _scale_output_font(self) -> None:
        """The output line's larger font and the heights that keep the panel's size fixed at any zoom."""
        font = self.font()
        font.setPointSizeF(font.pointSizeF() * OUTPUT_SCALE)
        self.output_label.setFont(font)
        self.unknown_label.setMinimumHeight(math.ceil(QFontMetricsF(self.unknown_label.font()).height()))
        lines = 1 if self.compact else OUTPUT_LINES
        self.output_area.setFixedHeight(math.ceil(QFontMetricsF(font).lineSpacing() * lines) + 2)

    def source_text(self) -> str:
        return self.source_edit.toPlainText()

    def target_text(self) -> str:
        return self.target_edit.toPlainText()

    def set_texts(self, source: str, target: str = "") -> None:
        """Replace both texts without waiting for the debounce (callers decode themselves)."""
        for editor, text in ((self.source_edit, source), (self.target_edit, target)):
            editor.blockSignals(True)
            editor.setPlainText(text)
            editor.blockSignals(False)
        self.clear_unknown()

    def set_reference_visible(self, visible: bool) -> None:
        self.target_edit.setVisible(visible)

    def output_text(self) -> str:
        """The output line as the user reads it (without the mark on the selected token)."""
        document = QTextDocument()
        document.setHtml(self.output_label.text())
        return document.toPlainText()

    def set_output(self, text: str) -> None:
        self.output_label.setText(f"→ {html.escape(text)}" if text else "")

    def show_output_tokens(self, pieces: Sequence[str], selected: int, streaming: bool = False) -> None:
        """The output (output_pieces() of its tokens) with token `selected` marked: the step every panel shows."""
        palette = self.palette()
        back = palette.color(QPalette.ColorRole.Highlight).name()
        fore = palette.color(QPalette.ColorRole.HighlightedText).name()
        parts = []
        for n, piece in enumerate(pieces):
            if n != selected:
                parts.append(html.escape(piece))
                continue
            lead = " " if piece.startswith(" ") and len(piece) > 1 else ""
            word = html.escape(piece[len(lead) :]) or END_MARK  # <eos> reads as nothing: mark where it is
            parts.append(f'{lead}<span style="background:{back}; color:{fore};">{word}</span>')
        self.output_label.setText("→ " + "".join(parts) + (" …" if streaming else ""))
        self.selected_output = selected

    @Slot()
    def _on_text_changed(self) -> None:
        self._debounce.start()

    @Slot()
    def schedule(self) -> None:
        """Ask for a re-decode after the debounce delay (options changed, for instance)."""
        self._debounce.start()

    def cancel_pending(self) -> None:
        """Drop a pending re-decode (the window is closing)."""
        self._debounce.stop()

    def mark_unknown(self, tokens: Sequence[str], positions: Sequence[int]) -> None:
        """Wavy red underline under each unknown word, and a label listing them."""
        text = self.source_text()
        selections = []
        for start, end in unknown_spans(text, tokens, positions):
            selection = QTextEdit.ExtraSelection()
            cursor = QTextCursor(self.source_edit.document())
            cursor.setPosition(start)
            cursor.setPosition(end, QTextCursor.MoveMode.KeepAnchor)
            fmt = QTextCharFormat()
            fmt.setUnderlineStyle(QTextCharFormat.UnderlineStyle.WaveUnderline)
            fmt.setUnderlineColor(UNKNOWN_COLOUR)
            fmt.setForeground(UNKNOWN_COLOUR)
            fmt.setToolTip("not in the model's vocabulary: read as <unk>")
            selection.cursor = cursor  # type: ignore[attr-defined]
            selection.format = fmt  # type: ignore[attr-defined]
            selections.append(selection)
        self.source_edit.setExtraSelections(selections)
        words = [tokens[i] for i in positions if 0 <= i < len(tokens)]
        self.unknown_label.setText("unknown: " + ", ".join(words) if words else "")
        self.unknown_label.setVisible(bool(words) and not self.compact)  # compact: the underlines say it

    def clear_unknown(self) -> None:
        self.source_edit.setExtraSelections([])
        self.unknown_label.hide()
        self.unknown_label.setText("")

    def unknown_ranges(self) -> list[tuple[int, int]]:
        """The marked character ranges (for tests and tooltips)."""
        return [(s.cursor.selectionStart(), s.cursor.selectionEnd()) for s in self.source_edit.extraSelections()]  # type: ignore[attr-defined]
