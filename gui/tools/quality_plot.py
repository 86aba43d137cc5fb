"""BLEU and exact match against source-length bucket, one line per model (from `main.py evaluate`'s report).

The widget is reusable in the app; `export_report_plot` renders it headless for the CLI.
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pyqtgraph as pg
import pyqtgraph.exporters as pg_exporters
from PySide6.QtCore import QBuffer, QCoreApplication, QEvent, QIODevice, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QPainter
from PySide6.QtSvg import QSvgGenerator
from PySide6.QtWidgets import QApplication, QVBoxLayout, QWidget

from engine import atomic_write_bytes
from gui.matrix.plot_lifetime import clear_legend, discard_items, release_view

# Colour-blind-safe (Okabe–Ito), distinct in greyscale print too thanks to the symbols.
COLORS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000")
SYMBOLS = ("o", "s", "t", "d", "star", "+", "x")
SUFFIXES = (".png", ".svg")
_app: QApplication | None = None  # the app we made for headless export, kept for the process


def _font(point_size: float, zoom: float) -> QFont:
    """The app's packaged font where available (it draws Devanagari model names too)."""
    try:
        from gui.style.fonts import ui_font

        return ui_font(point_size, zoom)
    except (ImportError, RuntimeError, OSError):
        font = QFont()
        font.setPointSizeF(point_size * zoom)
        return font


class QualityPlot(QWidget):
    """Two stacked plots sharing the length axis: BLEU (0–100) above, exact match (%) below."""

    def __init__(
        self, parent: QWidget | None = None, zoom: float = 1.0, background: str = "#ffffff", foreground: str = "#202020"
    ) -> None:
        super().__init__(parent)
        self._zoom, self._background, self._foreground = zoom, background, foreground
        self._torn_down = False
        self._view = pg.GraphicsLayoutWidget()
        self._view.setBackground(background)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self._view)
        # The legend gets its own row above the plots, so it never hides a data point.
        self._legend = pg.LegendItem(labelTextColor=foreground, labelTextSize=f"{10 * zoom:g}pt")
        self._view.ci.addItem(self._legend, row=0, col=0)
        self._bleu = self._add_plot(1, "BLEU by source length", "BLEU")
        self._exact = self._add_plot(2, "Exact match by source length", "exact match (%)")
        self._exact.setXLink(self._bleu)

    def _add_plot(self, row: int, title: str, y_label: str) -> pg.PlotItem:
        plot = self._view.addPlot(row=row, col=0)
        plot.setTitle(title, color=self._foreground, size=f"{12 * self._zoom:g}pt")
        plot.titleLabel.item.setFont(_font(12, self._zoom))
        plot.showGrid(x=False, y=True, alpha=0.25)
        plot.setMouseEnabled(x=False, y=False)
        plot.hideButtons()
        plot.setYRange(0, 100, padding=0.04)  # fixed scale: models and runs compare by eye
        for name, text in (("left", y_label), ("bottom", "source length (words)")):
            axis = plot.getAxis(name)
            axis.setPen(pg.mkPen(self._foreground))
            axis.setTextPen(pg.mkPen(self._foreground))
            axis.setStyle(tickFont=_font(9, self._zoom))
            axis.setLabel(text, color=self._foreground, **{"font-size": f"{10 * self._zoom:g}pt"})
            axis.label.setFont(_font(10, self._zoom))
            axis.enableAutoSIPrefix(False)  # an empty plot would get "(x0.001)" after the label
        return plot

    def set_report(self, report: Mapping[str, Any]) -> None:
        """Draw `report` ({"models": [{"model", "buckets": [{"range", "bleu", "exact_match"}, …]}, …]})."""
        models: Sequence[Mapping[str, Any]] = report.get("models", [])
        self._clear()
        labels = _ranges(models)
        ticks = [list(enumerate(labels))]
        for plot in (self._bleu, self._exact):
            plot.getAxis("bottom").setTicks(ticks)
            plot.setXRange(-0.3, max(len(labels) - 1, 0) + 0.3, padding=0)
        for k, model in enumerate(models):
            self._add_model(k, str(model.get("model", f"model {k + 1}")), model.get("buckets", []), labels)
        self._legend.setColumnCount(max(1, min(len(models), 4)))
        for _, label in self._legend.items:
            label.item.setFont(_font(10, self._zoom))

    def _add_model(self, k: int, name: str, buckets: Sequence[Mapping[str, Any]], labels: list[str]) -> None:
        color, symbol = COLORS[k % len(COLORS)], SYMBOLS[k % len(SYMBOLS)]
        by_range = {b.get("range"): b for b in buckets}
        x = list(range(len(labels)))
        bleu = [_value(by_range.get(r, {}).get("bleu")) for r in labels]
        exact = [_value(by_range.get(r, {}).get("exact_match"), scale=100.0) for r in labels]
        style = {
            "pen": pg.mkPen(color, width=2.5 * self._zoom),
            "symbol": symbol,
            "symbolSize": 9 * self._zoom,
            "symbolBrush": color,
            "symbolPen": pg.mkPen(color),
            "connect": "finite",
        }
        self._legend.addItem(self._bleu.plot(x, bleu, **style), name)
        self._exact.plot(x, exact, **style)

    def _clear(self) -> None:
        clear_legend(self._legend)
        for plot in (self._bleu, self._exact):
            discard_items(plot, plot.listDataItems())

    # -- export ------------------------------------------------------------------
    def export(self, path: str | Path, width: int | None = None) -> None:
        """Write the plot as .png (pyqtgraph's ImageExporter) or .svg, atomically."""
        path = Path(path)
        suffix = path.suffix.lower()
        if suffix == ".png":
            data = self._png_bytes(width)
        elif suffix == ".svg":
            data = self._svg_bytes()
        else:
            raise ValueError(f"can export {', '.join(SUFFIXES)}, not {path.suffix or 'a file without suffix'!r}")
        atomic_write_bytes(path, data)

    def _png_bytes(self, width: int | None) -> bytes:
        exporter = pg_exporters.ImageExporter(self._view.ci)
        exporter.parameters()["background"] = QColor(self._background)
        if width is not None:
            exporter.parameters()["width"] = int(width)
        buffer = QBuffer()
        buffer.open(QIODevice.OpenModeFlag.WriteOnly)
        if not exporter.export(toBytes=True).save(buffer, "PNG"):
            raise OSError("could not encode the plot as PNG")
        return bytes(buffer.data().data())

    def _svg_bytes(self) -> bytes:
        """Qt's own SVG generator: pyqtgraph 0.14's SVGExporter fails on Qt 6.11's closed paths (#3495)."""
        source = self._view.ci.sceneBoundingRect()
        buffer = QBuffer()
        buffer.open(QIODevice.OpenModeFlag.WriteOnly)
        generator = QSvgGenerator()
        generator.setOutputDevice(buffer)
        generator.setSize(source.size().toSize())
        generator.setViewBox(QRectF(0, 0, source.width(), source.height()))
        generator.setResolution(self._view.logicalDpiY())  # else 72 dpi and point-sized text shrinks
        generator.setTitle("attnscope: quality against source length")
        painter = QPainter(generator)
        try:
            target = QRectF(0, 0, source.width(), source.height())
            painter.fillRect(target, QColor(self._background))
            self._view.scene().render(painter, target, source)
        finally:
            painter.end()
        return bytes(buffer.data().data())

    # -- lifetime ----------------------------------------------------------------
    def teardown(self) -> None:
        """Release the pyqtgraph items in order; call before the app exits (safe to call twice)."""
        if self._torn_down:
            return
        self._torn_down = True
        release_view(self._view)


def _ranges(models: Sequence[Mapping[str, Any]]) -> list[str]:
    """Bucket labels in first-seen order across models (each report lists them in length order)."""
    labels: list[str] = []
    for model in models:
        for bucket in model.get("buckets", []):
            if bucket.get("range") not in labels:
                labels.append(str(bucket.get("range")))
    return labels


def _value(value: Any, scale: float = 1.0) -> float:
    """A plottable number; null (empty bucket) becomes NaN, which leaves a gap."""
    return float(value) * scale if isinstance(value, (int, float)) and math.isfinite(value) else math.nan


def ensure_app() -> QApplication:
    """The running QApplication, or a new one (offscreen when there is no display)."""
    global _app
    existing = QCoreApplication.instance()
    if isinstance(existing, QApplication):
        return existing
    if existing is not None:
        raise RuntimeError("a non-widget Qt application is running; plotting needs QApplication")
    if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    _app = QApplication([sys.argv[0] if sys.argv else "attnscope"])
    return _app


def export_report_plot(report: Mapping[str, Any], path: str | Path, width: int = 1000, height: int = 760) -> None:
    """Render `report` headless to `path` (.png or .svg), width × height pixels."""
    app = ensure_app()
    widget = QualityPlot()
    try:
        widget.setAttribute(Qt.WidgetAttribute.WA_DontShowOnScreen)  # laid out, never flashed on a desktop
        widget.resize(width, height)
        widget.show()
        widget.set_report(report)
        app.processEvents()
        widget.export(path, width=width)
    finally:
        widget.teardown()
        widget.close()
        widget.deleteLater()
        QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete.value)
