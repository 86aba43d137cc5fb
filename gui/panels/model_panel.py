"""What the loaded model is: architecture, attention, sizes, device, and its model card."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from PySide6.QtWidgets import QFormLayout, QLabel, QSizePolicy, QTextBrowser, QVBoxLayout, QWidget

LONG_VALUE = 12  # characters: a longer value goes below its title (a short one fits beside it in any dock)

# (description key, label) in display order; unknown keys are shown after these.
FIELDS = (
    ("rnn", "Architecture"),
    ("architecture", "Architecture"),
    ("attention", "Attention"),
    ("attn_implementation", "Implementation"),
    ("query", "Query"),
    ("layers", "Layers"),
    ("heads", "Heads"),
    ("bidirectional", "Bidirectional"),
    ("hidden", "Hidden size"),
    ("d_model", "d_model"),
    ("feed-forward", "Feed-forward"),
    ("embedding", "Embedding size"),
    ("parameters", "Parameters"),
    ("src_vocab", "Source vocab."),
    ("tgt_vocab", "Target vocab."),
    ("tokenizer", "Tokeniser"),
)


class ModelPanel(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.name_label = QLabel("No model loaded", self)
        self.name_label.setWordWrap(True)
        self.device_label = QLabel("–", self)
        self._form = QFormLayout()
        self._values: dict[str, QLabel] = {}
        self._rows: list[tuple[QLabel, QLabel]] = []  # (title, value) after the device's row
        self.card = QTextBrowser(self)
        self.card.setOpenExternalLinks(True)
        layout = QVBoxLayout(self)
        layout.addWidget(self.name_label)
        layout.addLayout(self._form)
        self._form.addRow("Device", self.device_label)
        layout.addWidget(self.card, 1)

    def show_model(self, path: str | Path, description: dict[str, Any], card: str, device: str) -> None:
        # Breakable after _ and before . (a zero-width space): a long file name wraps instead of widening the dock.
        name = Path(path).name.replace("_", "_\u200b").replace(".", "\u200b.")
        self.name_label.setText(f"<b>{name}</b>")
        self.name_label.setToolTip(str(path))
        self.set_device(device)
        while self._form.rowCount() > 1:  # the previous model's rows go (the device's, the first, stays)
            self._form.removeRow(1)
        self._values.clear()
        self._rows.clear()
        known = [key for key, _ in FIELDS if key in description]
        extra = [key for key in description if key not in dict(FIELDS)]
        labels = dict(FIELDS)
        for key in known + extra:
            title = labels.get(key, key.replace("_", " ").capitalize())
            self._add_row(key, title, _format(description[key]))
        self.card.setMarkdown(_small_headings(card) or "*This model has no model card.*")

    def set_device(self, device: str) -> None:
        self.device_label.setText(device)

    def value(self, key: str) -> str:
        label = self._values.get(key)
        return label.text() if label else ""

    def rows(self) -> list[tuple[str, str]]:
        """(label, value) of every row shown, in order (the device's first)."""

        return [("Device", self.device_label.text())] + [(title.text(), value.text()) for title, value in self._rows]

    def _add_row(self, key: str, title: str, text: str) -> None:
        """A row of the form; a long value goes below its title, across the panel's width (beside it, a narrow
        dock would leave it a column a word wide)."""
        title_label, value = QLabel(title, self), QLabel(text, self)
        if len(text) > LONG_VALUE:
            value.setWordWrap(True)
            # Wrapped to the panel's width, never widening the dock (which would clip it at its edge).
            value.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
            value.setIndent(value.fontMetrics().horizontalAdvance("M"))
            self._form.addRow(title_label)
            self._form.addRow(value)
        else:
            self._form.addRow(title_label, value)
        self._values[key] = value
        self._rows.append((title_label, value))


def _format(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _small_headings(card: str) -> str:
    """Cards use #/## headings; in a narrow side panel those would dwarf the text, so render them as ####."""
    return re.sub(r"^#{1,3} ", "#### ", card, flags=re.MULTILINE)
