"""The image item every matrix view draws with: pyqtgraph's ImageItem, painted from a 32-bit picture."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtGui import QImage

TRANSPARENT = np.uint32(0)  # NaN cells (rows not decoded yet): premultiplied, so colour 0 too


class MatrixImage(pg.ImageItem):
    """A float matrix coloured through a lookup table, rendered straight to a 32-bit picture.

    pyqtgraph renders it as an 8-bit indexed QImage, which Qt scales several times slower than a 32-bit one
    (measured: ~1 ms against ~0.15 ms per paint of a plot 600 px across), and takes ~0.1-0.3 ms of Python
    to get there for any size of matrix.  Here: one vectorised lookup into the table as 32-bit colours,
    with pyqtgraph's own mapping (index = clip((x - low) * n / (high - low), 0, n - 1), truncated; NaN
    transparent).  Anything else (no table, several channels, downsampling) is left to pyqtgraph.
    """

    qimage: QImage | None  # pyqtgraph's: the picture paint() draws, made by render()

    def __init__(self) -> None:
        super().__init__(axisOrder="row-major")
        self._table: tuple[object, np.ndarray] | None = None  # (lookup table, its colours as 32-bit ARGB)
        self._pixels: np.ndarray | None = None  # the memory self.qimage shows

    def render(self) -> None:
        image, lut, levels = self.image, self.lut, self.levels
        plain = isinstance(lut, np.ndarray) and lut.ndim == 2 and lut.shape[1] == 3 and lut.dtype == np.uint8
        if image is None or image.ndim != 2 or image.size == 0 or not plain or levels is None or self.autoDownsample:
            self._render_with_pyqtgraph()
            return
        low, high = (float(v) for v in np.ravel(levels))
        table = self._colours(lut)
        scaled = image.astype(np.float32)  # pyqtgraph's work type for float32 data
        scaled -= low
        scaled *= len(table) / ((high - low) or 1.0)
        missing = np.isnan(scaled)
        scaled[missing] = 0.0
        np.clip(scaled, 0, len(table) - 1, out=scaled)
        pixels = table[scaled.astype(np.intp)]
        pixels[missing] = TRANSPARENT
        self._pixels = pixels
        height, width = pixels.shape
        self.qimage = QImage(pixels.data, width, height, width * 4, QImage.Format.Format_ARGB32_Premultiplied)
        self._renderRequired = False  # pyqtgraph's flags, as its render() leaves them
        self._unrenderable = False

    def _colours(self, lut: np.ndarray) -> np.ndarray:
        if self._table is None or self._table[0] is not lut:
            rgb = lut.astype(np.uint32)
            argb = np.uint32(0xFF000000) | (rgb[:, 0] << 16) | (rgb[:, 1] << 8) | rgb[:, 2]
            self._table = (lut, argb)
        return self._table[1]

    def _render_with_pyqtgraph(self) -> None:
        super().render()
        image = self.qimage
        if image is not None and image.format() == QImage.Format.Format_Indexed8:
            rgb = QImage.Format.Format_ARGB32_Premultiplied if image.hasAlphaChannel() else QImage.Format.Format_RGB32
            self.qimage = image.convertToFormat(rgb)
