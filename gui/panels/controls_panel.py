"""Decoding options: strategy, beam width, maximum length, temperature and seed, device."""

from __future__ import annotations

from PySide6.QtCore import Signal, Slot
from PySide6.QtWidgets import QComboBox, QDoubleSpinBox, QFormLayout, QLabel, QSpinBox, QWidget

from engine import DecodeOptions

# (engine name, label shown to the user)
STRATEGIES = (("greedy", "Greedy"), ("beam", "Beam search"), ("forced", "Forced (reference)"), ("sample", "Sampling"))
DEVICES = ("auto", "cpu", "cuda")


class ControlsPanel(QWidget):
    """Emits `options_changed` when anything that changes the decode changes; `device_requested` for the device."""

    options_changed = Signal()
    device_requested = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.strategy = QComboBox(self)
        for name, label in STRATEGIES:
            self.strategy.addItem(label, name)
        self.beam_width = _spin(1, 32, 4, self)
        self.max_len = _spin(0, 500, 0, self)
        self.max_len.setSpecialValueText("auto")
        self.temperature = QDoubleSpinBox(self)
        self.temperature.setRange(0.05, 5.0)
        self.temperature.setSingleStep(0.1)
        self.temperature.setValue(1.0)
        self.seed = _spin(0, 2**31 - 1, 0, self)
        self.device = QComboBox(self)
        self.device.addItems(list(DEVICES))
        self.device_note = QLabel(self)
        self.device_note.setWordWrap(True)
        form = QFormLayout(self)
        form.addRow("Strategy", self.strategy)
        form.addRow("Beam width", self.beam_width)
        form.addRow("Max length", self.max_len)
        form.addRow("Temperature", self.temperature)
        form.addRow("Seed", self.seed)
        form.addRow("Device", self.device)
        form.addRow(self.device_note)
        self._form = form
        for widget in (self.beam_width, self.max_len, self.seed):
            widget.valueChanged.connect(self.options_changed)
        self.temperature.valueChanged.connect(self.options_changed)
        self.strategy.currentIndexChanged.connect(self._on_strategy)
        self.device.currentTextChanged.connect(self.device_requested)
        self._on_strategy()

    def strategy_name(self) -> str:
        return str(self.strategy.currentData())

    def set_strategy(self, name: str) -> None:
        index = self.strategy.findData(name)
        if index >= 0:
            self.strategy.setCurrentIndex(index)

    def set_device(self, name: str) -> None:
        """Show the device without asking the engine again."""
        self.device.blockSignals(True)
        self.device.setCurrentText(name if name in DEVICES else "auto")
        self.device.blockSignals(False)

    def options(self) -> DecodeOptions:
        """Keyword arguments for a DecodeRequest."""
        return {
            "strategy": self.strategy_name(),
            "beam_width": self.beam_width.value(),
            "max_len": self.max_len.value(),
            "temperature": self.temperature.value(),
            "seed": self.seed.value(),
        }

    @Slot()
    def _on_strategy(self) -> None:
        """Only the options the chosen strategy uses stay editable."""
        name = self.strategy_name()
        self._form.setRowVisible(self.beam_width, name == "beam")
        self._form.setRowVisible(self.temperature, name == "sample")
        self._form.setRowVisible(self.seed, name == "sample")
        self.options_changed.emit()


def _spin(lo: int, hi: int, value: int, parent: QWidget) -> QSpinBox:
    spin = QSpinBox(parent)
    spin.setRange(lo, hi)
    spin.setValue(value)
    return spin
