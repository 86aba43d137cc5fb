"""BLEU and exact match against source-length bucket, one line per model (from `main.py evaluate`'s report).

The widget is reusable in the app; its files, and `export_report_plot`'s for the CLI, are drawn from the report
by gui/export/quality_figure.py (the same look, vector cells and outlined text).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pyqtgraph as pg
from PySide6.QtCore import QSizeF
from PySide6.QtGui import QFont, QPainter
from PySide6.QtWidgets import QVBoxLayout, QWidget

from gui.export.figure import FIGURE_SUFFIXES, FigureSize, write_figure
from gui.export.quality_figure import COLORS, SYMBOLS, bucket_ranges, paint_quality, plottable
from gui.export.render import ensure_app
from gui.matrix.plot_lifetime import clear_legend, discard_items, release_view

SUFFIXES = FIGURE_SUFFIXES


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
        self._report: Mapping[str, Any] = {"models": []}
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
        self._report = report
        models: Sequence[Mapping[str, Any]] = report.get("models", [])
        self._clear()
        labels = bucket_ranges(models)
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
        bleu = [plottable(by_range.get(r, {}).get("bleu")) for r in labels]
        exact = [plottable(by_range.get(r, {}).get("exact_match"), scale=100.0) for r in labels]
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
    def export_size(self) -> FigureSize:
        """The widget's size (at least 1000 × 760) at 96 dpi."""
        return FigureSize(max(self.width(), 1000), max(self.height(), 760))

    def export(self, path: str | Path, size: FigureSize | None = None) -> None:
        """Write the plot as .png, .svg or .pdf, drawn from the report (text as outlines), atomically.

        `size`: pixels at 96 dpi and the PNG's resolution; default the widget's size (at least 1000 × 760)."""
        size = size or self.export_size()
        report, zoom, background, foreground = self._report, self._zoom, self._background, self._foreground

        def paint(painter: QPainter, area: QSizeF) -> None:
            paint_quality(painter, area, report, background, foreground, zoom)

        write_figure(path, paint, size, title="attnscope: quality against source length")

    # -- lifetime ----------------------------------------------------------------
    def teardown(self) -> None:
        """Release the pyqtgraph items in order; call before the app exits (safe to call twice)."""
        if self._torn_down:
            return
        self._torn_down = True
        release_view(self._view)


def export_report_plot(
    report: Mapping[str, Any], path: str | Path, size: tuple[int, int, float] = (1000, 760, 96.0)
) -> None:
    """Draw `report` headless to `path` (.png, .svg or .pdf); `size` in pixels at 96 dpi, and the PNG's dpi."""
    ensure_app()

    def paint(painter: QPainter, area: QSizeF) -> None:
        paint_quality(painter, area, report)

    write_figure(path, paint, FigureSize(*size), title="attnscope: quality against source length")
