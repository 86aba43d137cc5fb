"""Figures drawn from data by one QPainter routine onto three devices: SVG, PDF and PNG.

Every export of a matrix or a plot is a `paint(painter, size)` function.  The same function draws onto a
QSvgGenerator (each shape a vector element), a QPdfWriter (for papers) and a QImage (PNG at a chosen size
and resolution), so the three files agree.  Text is never left to the viewer's fonts: each label is turned
into outlines with QPainterPath.addText, which shapes it with the bundled Noto Sans Devanagari as the app
does, so an SVG or PDF shows the same glyphs in any program, with no font installed.

Sizes are in pixels at 96 dpi (a CSS pixel, what an SVG viewer shows at 100 %); a PNG drawn at `dpi`
has width × dpi / 96 pixels and says its resolution in its header.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

from PySide6.QtCore import QMarginsF, QPointF, QRectF, QSize, QSizeF, Qt
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontMetricsF,
    QImage,
    QPageLayout,
    QPageSize,
    QPainter,
    QPainterPath,
    QPdfWriter,
)
from PySide6.QtSvg import QSvgGenerator

from engine import atomic_write_bytes
from gui.files.image_files import memory_device

CSS_DPI = 96.0
FIGURE_SUFFIXES = (".png", ".svg", ".pdf")
INCHES_PER_METRE = 39.37007874


class FigureSize(NamedTuple):
    """Layout size in pixels at 96 dpi; `dpi` sets how many pixels a PNG has (the vector files scale freely)."""

    width: int
    height: int
    dpi: float = CSS_DPI


Paint = Callable[[QPainter, QSizeF], None]  # draws the whole figure into (0, 0, width, height)


def write_figure(path: str | os.PathLike[str], paint: Paint, size: FigureSize, title: str = "attnscope") -> Path:
    """Draw `paint` into the file `path` names (.svg, .pdf or .png), atomically; ValueError for another suffix."""
    target = Path(path)
    suffix = target.suffix.lower()
    if suffix not in FIGURE_SUFFIXES:
        raise ValueError(f"can draw {', '.join(FIGURE_SUFFIXES)}, not {target.suffix or 'a file without suffix'!r}")
    atomic_write_bytes(target, figure_bytes(paint, size, suffix[1:], title))
    return target


def figure_bytes(paint: Paint, size: FigureSize, fmt: str, title: str = "attnscope") -> bytes:
    """The figure encoded as "svg", "pdf" or "png"."""
    if fmt == "svg":
        return _svg(paint, size, title)
    if fmt == "pdf":
        return _pdf(paint, size, title)
    if fmt == "png":
        image = figure_image(paint, size)
        buffer = memory_device()
        if not image.save(buffer, "PNG"):  # type: ignore[call-overload]  # stubs say bytes; str works
            raise OSError("could not encode the figure as PNG")
        return bytes(buffer.data().data())
    raise ValueError(f"unknown figure format {fmt!r}")


def figure_image(paint: Paint, size: FigureSize) -> QImage:
    """The figure as an image of width × dpi / 96 pixels (also for the clipboard)."""
    scale = size.dpi / CSS_DPI
    image = QImage(
        max(1, round(size.width * scale)), max(1, round(size.height * scale)), QImage.Format.Format_ARGB32_Premultiplied
    )
    image.fill(Qt.GlobalColor.transparent)
    dots_per_metre = round(size.dpi * INCHES_PER_METRE)
    image.setDotsPerMeterX(dots_per_metre)
    image.setDotsPerMeterY(dots_per_metre)
    painter = QPainter(image)
    try:
        painter.scale(scale, scale)
        paint(painter, QSizeF(size.width, size.height))
    finally:
        painter.end()
    return image


def _svg(paint: Paint, size: FigureSize, title: str) -> bytes:
    device = memory_device()
    generator = QSvgGenerator()
    generator.setOutputDevice(device)
    generator.setSize(QSize(size.width, size.height))
    generator.setViewBox(QRectF(0, 0, size.width, size.height))
    generator.setResolution(round(CSS_DPI))  # the size attributes then read as CSS pixels
    generator.setTitle(title)
    painter = QPainter(generator)
    try:
        paint(painter, QSizeF(size.width, size.height))
    finally:
        painter.end()
    svg = bytes(device.data().data()).decode("utf-8")
    # Qt states the size in millimetres, which viewers round up a pixel; whole pixels say it exactly.
    svg = _SVG_SIZE.sub(f'<svg width="{size.width}px" height="{size.height}px"', svg, count=1)
    return svg.encode("utf-8")


_SVG_SIZE = re.compile(r'<svg width="[0-9.]+mm" height="[0-9.]+mm"')


def _pdf(paint: Paint, size: FigureSize, title: str) -> bytes:
    device = memory_device()
    writer = QPdfWriter(device)
    writer.setTitle(title)
    writer.setCreator("attnscope")
    points = QSizeF(size.width * 72 / CSS_DPI, size.height * 72 / CSS_DPI)
    layout = QPageLayout(QPageSize(points, QPageSize.Unit.Point), QPageLayout.Orientation.Portrait, QMarginsF())
    writer.setPageLayout(layout)
    painter = QPainter(writer)
    try:
        scale = writer.resolution() / CSS_DPI
        painter.scale(scale, scale)
        paint(painter, QSizeF(size.width, size.height))
    finally:
        painter.end()
    return bytes(device.data().data())


# -- text as outlines -------------------------------------------------------------------------------


class Text:
    """Labels in one font, drawn as filled outlines (shaped like the app's text); measured with its metrics."""

    def __init__(self, font: QFont) -> None:
        self.font = QFont(font)
        self.metrics = QFontMetricsF(self.font)
        self.line = self.metrics.height()

    def width(self, text: str) -> float:
        return self.metrics.horizontalAdvance(text)

    def wrap(self, line: str, width: float) -> list[str]:
        """`line` broken at spaces into lines no wider than `width` (a longer single word stays whole)."""
        lines: list[str] = []
        for word in line.split(" "):
            if lines and self.width(f"{lines[-1]} {word}") <= width:
                lines[-1] = f"{lines[-1]} {word}"
            else:
                lines.append(word)
        return lines

    def path(self, text: str) -> QPainterPath:
        """`text` as outlines, its line box's top-left corner at (0, 0)."""
        path = QPainterPath()
        path.addText(QPointF(0.0, self.metrics.ascent()), self.font, text)
        return path

    def draw(
        self, painter: QPainter, text: str, at: QPointF, colour: QColor, align: str = "left", rotated: bool = False
    ) -> None:
        """Draw with the line box's left / centre / right edge ("left", "center", "right") at `at`, vertically
        centred on it; `rotated`: turned to read bottom-up, the same alignment along the turned line."""
        if not text:
            return
        offset = {"left": 0.0, "center": -self.width(text) / 2, "right": -self.width(text)}[align]
        painter.save()
        painter.translate(at)
        if rotated:
            painter.rotate(-90)
        painter.translate(offset, -self.line / 2)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        painter.fillPath(self.path(text), colour)
        painter.restore()
