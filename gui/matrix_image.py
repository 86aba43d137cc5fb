"""The image item every matrix view draws with: pyqtgraph's ImageItem, painted from a 32-bit picture."""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtGui import QImage


class MatrixImage(pg.ImageItem):
    """pyqtgraph renders a colour-mapped float matrix as an 8-bit indexed QImage; Qt scales those several
    times slower than 32-bit ones (measured: ~1 ms against ~0.15 ms per paint of a plot 600 px across), and a
    heatmap is painted scaled every time. The conversion is done once per new matrix instead."""

    qimage: QImage | None  # pyqtgraph's: the picture paint() draws, made by render()

    def __init__(self) -> None:
        super().__init__(axisOrder="row-major")

    def render(self) -> None:
        super().render()
        image = self.qimage
        if image is not None and image.format() == QImage.Format.Format_Indexed8:
            rgb = QImage.Format.Format_ARGB32_Premultiplied if image.hasAlphaChannel() else QImage.Format.Format_RGB32
            self.qimage = image.convertToFormat(rgb)
