"""What the loaded model is: architecture, attention, sizes, device, and its model card."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from PySide6.QtWidgets import QFormLayout, QLabel, QSizePolicy, QTextBrowser, QVBoxLayout, QWidget

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
        known = [key for key, _ in FIELDS if key in description]
        extra = [key for key in description if key not in dict(FIELDS)]
        labels = dict(FIELDS)
        for key in known + extra:
            title = labels.get(key, key.replace("_", " ").capitalize())
            self._value_label(key, title).setText(_format(description[key]))
        self.card.setMarkdown(_small_headings(card) or "*This model has no model card.*")

    def set_device(self, device: str) -> None:
        self.device_label.setText(device)

    def value(self, key: str) -> str:
        label = self._values.get(key)
        return label.text() if label else ""

    def rows(self) -> list[tuple[str, str]]:
        """(label, value) of every row shown, in order (the device's first)."""

        def text(row: int, role: QFormLayout.ItemRole) -> str:
            item = self._form.itemAt(row, role)
            widget = item.widget() if item is not None else None
            return widget.text() if isinstance(widget, QLabel) else ""

        roles = (QFormLayout.ItemRole.LabelRole, QFormLayout.ItemRole.FieldRole)
        return [(text(row, roles[0]), text(row, roles[1])) for row in range(self._form.rowCount())]

    def _value_label(self, key: str, title: str) -> QLabel:
        if key not in self._values:
            self._values[key] = QLabel(self)
            self._values[key].setWordWrap(True)
            # Wrapped to the room beside the labels, never widening the dock (which would clip it at its edge).
            self._values[key].setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
            self._form.addRow(title, self._values[key])
        return self._values[key]


def _format(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _small_headings(card: str) -> str:
    """Cards use #/## headings; in a narrow side panel those would dwarf the text, so render them as ####."""
    return re.sub(r"^#{1,3} ", "#### ", card, flags=re.MULTILINE)
