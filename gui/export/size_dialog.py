"""Asking for a PNG's size and resolution before it is drawn (the vector formats need neither)."""

from __future__ import annotations

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QDoubleSpinBox, QFormLayout, QLabel, QSpinBox, QWidget

from gui.export.figure import CSS_DPI, FigureSize
from gui.files.settings_store import SettingsStore

SIDE_RANGE = (100, 20000)
DPI_RANGE = (10.0, 1200.0)


class FigureSizeDialog(QDialog):
    """Width and height in pixels at 96 dpi (the figure's layout) and the resolution; the pixel count follows."""

    def __init__(self, size: FigureSize, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("PNG size")
        self.width_box, self.height_box = QSpinBox(self), QSpinBox(self)
        for box, value in ((self.width_box, size.width), (self.height_box, size.height)):
            box.setRange(*SIDE_RANGE)
            box.setValue(value)
            box.setSuffix(" px")
            box.valueChanged.connect(self._show_pixels)
        self.dpi_box = QDoubleSpinBox(self)
        self.dpi_box.setRange(*DPI_RANGE)
        self.dpi_box.setDecimals(0)
        self.dpi_box.setValue(size.dpi)
        self.dpi_box.setSuffix(" dpi")
        self.dpi_box.valueChanged.connect(self._show_pixels)
        self.pixels = QLabel(self)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form = QFormLayout(self)
        form.addRow("Width (at 96 dpi)", self.width_box)
        form.addRow("Height (at 96 dpi)", self.height_box)
        form.addRow("Resolution", self.dpi_box)
        form.addRow("Image", self.pixels)
        form.addRow(buttons)
        self._show_pixels()

    def size_chosen(self) -> FigureSize:
        return FigureSize(self.width_box.value(), self.height_box.value(), self.dpi_box.value())

    def _show_pixels(self) -> None:
        size = self.size_chosen()
        scale = size.dpi / CSS_DPI
        self.pixels.setText(f"{round(size.width * scale)} × {round(size.height * scale)} pixels")


def ask_figure_size(parent: QWidget, settings: SettingsStore | None, default: FigureSize) -> FigureSize | None:
    """The PNG size the user chose (None: cancelled); the resolution is remembered, the size starts at `default`."""
    dpi = settings.get_float("files/export_dpi", default.dpi, *DPI_RANGE) if settings is not None else default.dpi
    dialog = FigureSizeDialog(FigureSize(default.width, default.height, dpi), parent)
    if dialog.exec() != QDialog.DialogCode.Accepted:
        return None
    size = dialog.size_chosen()
    if settings is not None:
        settings.set("files/export_dpi", size.dpi)
    return size
