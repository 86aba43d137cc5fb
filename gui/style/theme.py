"""Light and dark themes: the Qt palette, the plot colours and the heatmap colour maps.

One zoom factor scales every font, and the check boxes and slider handles with it; presentation mode is
simply zoom = PRESENTATION_ZOOM.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QPainter, QPalette, QPen
from PySide6.QtWidgets import (
    QApplication,
    QCheckBox,
    QProxyStyle,
    QRadioButton,
    QSlider,
    QStyle,
    QStyleOption,
    QStyleOptionComplex,
    QWidget,
)

from gui.style.fonts import BASE_POINT_SIZE, ui_font

PRESENTATION_ZOOM = 2.0  # lecture hall: every font twice the desktop size
ZOOM_RANGE = (0.5, 4.0)


# One colour per head (Okabe & Ito's colour-blind-safe set, legible on the light and the dark theme; cycled).
HEAD_COLOURS = ("#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7", "#999999")


def head_colour(head: int) -> str:
    return HEAD_COLOURS[head % len(HEAD_COLOURS)]


@dataclass(frozen=True)
class Theme:
    name: str
    window: str
    panel: str  # inputs, tables
    text: str
    muted: str  # secondary text, disabled
    accent: str  # Qt highlight, bars
    accent_text: str
    plot_background: str
    plot_foreground: str
    selection: str  # outline of the selected decoder step
    hover: str  # outline of the cell under the mouse
    focus: str  # outline of the selected step's strongest cell: against every colour of the colour map
    alpha_colormap: str  # sequential: α in [0, 1], low α close to the background
    scores_colormap: str  # diverging: raw scores around 0
    point_colors: tuple[str, str]  # PCA: h_j points, c_i points
    control_outline: str = ""  # drawn round slider grooves and handles, check boxes, radio buttons; "": Fusion's own


THEMES: dict[str, Theme] = {
    "light": Theme(
        name="light",
        window="#f4f4f2",
        panel="#ffffff",
        text="#1b1b1b",
        muted="#6b6b6b",
        accent="#2f6fd6",
        accent_text="#ffffff",
        plot_background="#ffffff",
        plot_foreground="#1b1b1b",
        selection="#0a84ff",
        hover="#1b1b1b",
        focus="#00a651",
        alpha_colormap="CET-L17",
        scores_colormap="CET-D1A",
        point_colors=("#2f6fd6", "#d6452f"),
    ),
    "dark": Theme(
        name="dark",
        window="#1e1f22",
        panel="#2a2b2f",
        text="#e8e8e8",
        muted="#9a9a9a",
        accent="#4d8ef0",
        accent_text="#ffffff",
        plot_background="#141518",
        plot_foreground="#e8e8e8",
        selection="#3ad1ff",
        hover="#ffffff",
        focus="#3cff8f",
        alpha_colormap="inferno",
        scores_colormap="CET-D4",
        point_colors=("#6fa8ff", "#ff8a65"),
        control_outline="#8b8e96",  # Fusion outlines are the window colour darkened: invisible on #1e1f22
    ),
}


def get_theme(name: str) -> Theme:
    try:
        return THEMES[name]
    except KeyError:
        raise ValueError(f"unknown theme {name!r}; expected one of {sorted(THEMES)}") from None


def clamp_zoom(factor: float) -> float:
    return float(min(max(factor, ZOOM_RANGE[0]), ZOOM_RANGE[1]))


@cache
def colormap(name: str) -> pg.ColorMap:
    return pg.colormap.get(name)


@cache
def symbol_pen(colour: str | None, width: float = 1.0) -> QPen:
    """One pen per (colour, width) for scatter symbols (None: no outline); never change it.

    pyqtgraph's scatter keeps a picture of each symbol style in an atlas keyed by the pen's and brush's identity:
    a new pen or brush at every update (pg.mkPen makes one each call, even from a colour) grew it for good.
    """
    return pg.mkPen(colour, width=width)


@cache
def symbol_brush(colour: str) -> QBrush:
    """One brush per colour for scatter symbols (see symbol_pen); never change it."""
    return pg.mkBrush(colour)


@cache
def lookup_table(name: str) -> np.ndarray:
    """256-entry RGB uint8 LUT: ImageItem maps levels onto it without per-frame colour work."""
    lut = colormap(name).getLookupTable(0.0, 1.0, 256, alpha=False)
    return np.ascontiguousarray(lut, dtype=np.uint8)


def qt_palette(theme: Theme) -> QPalette:
    roles = QPalette.ColorRole
    palette = QPalette()
    colours = {
        roles.Window: theme.window,
        roles.WindowText: theme.text,
        roles.Base: theme.panel,
        roles.AlternateBase: theme.window,
        roles.Text: theme.text,
        roles.Button: theme.panel,
        roles.ButtonText: theme.text,
        roles.ToolTipBase: theme.panel,
        roles.ToolTipText: theme.text,
        roles.Highlight: theme.accent,
        roles.HighlightedText: theme.accent_text,
        roles.PlaceholderText: theme.muted,
        roles.BrightText: theme.selection,
    }
    for role, colour in colours.items():
        palette.setColor(role, QColor(colour))
    for role in (roles.Text, roles.WindowText, roles.ButtonText):
        palette.setColor(QPalette.ColorGroup.Disabled, role, QColor(theme.muted))
    return palette


class ContrastStyle(QProxyStyle):
    """Fusion, plus an outline that stands out round the controls Fusion outlines in a shade of the window
    colour: slider grooves and handles, check boxes, radio buttons (on a dark window those all but vanish).

    Only draw calls are overridden: each override is a Python call per use, and pixelMetric alone would be
    thousands per decode.
    """

    TRACK_PX = 5.0  # the outlined slider track, about as thick as Fusion's groove

    def __init__(self, outline: str) -> None:
        super().__init__("Fusion")
        self.outline = outline

    def drawPrimitive(  # noqa: N802 (Qt name)
        self, element: QStyle.PrimitiveElement, option: QStyleOption, painter: QPainter, widget: QWidget | None = None
    ) -> None:
        super().drawPrimitive(element, option, painter, widget)
        pe = QStyle.PrimitiveElement
        if not self.outline or element not in (pe.PE_IndicatorCheckBox, pe.PE_IndicatorRadioButton):
            return
        rect = QRectF(option.rect).adjusted(0.5, 0.5, -0.5, -0.5)
        if element == pe.PE_IndicatorRadioButton:
            self._outlined(painter, option, lambda: painter.drawEllipse(rect))
        else:
            self._outlined(painter, option, lambda: painter.drawRoundedRect(rect, 2, 2))

    def drawComplexControl(  # noqa: N802 (Qt name)
        self,
        control: QStyle.ComplexControl,
        option: QStyleOptionComplex,
        painter: QPainter,
        widget: QWidget | None = None,
    ) -> None:
        super().drawComplexControl(control, option, painter, widget)
        if not self.outline or control != QStyle.ComplexControl.CC_Slider:
            return
        sub = QStyle.SubControl
        groove = QRectF(self.subControlRect(control, option, sub.SC_SliderGroove, widget))  # type: ignore[arg-type]
        handle = QRectF(self.subControlRect(control, option, sub.SC_SliderHandle, widget))  # type: ignore[arg-type]
        track = QRectF(groove).adjusted(0.5, 0.5, -0.5, -0.5)
        if option.orientation == Qt.Orientation.Horizontal:  # type: ignore[attr-defined]
            track.setTop(groove.center().y() - self.TRACK_PX / 2)
            track.setHeight(self.TRACK_PX)
        else:
            track.setLeft(groove.center().x() - self.TRACK_PX / 2)
            track.setWidth(self.TRACK_PX)

        def draw() -> None:
            painter.drawRoundedRect(track, 2, 2)
            painter.setBrush(option.palette.button())  # the handle covers the track's outline
            painter.drawRoundedRect(handle.adjusted(0.5, 0.5, -0.5, -0.5), 2, 2)

        self._outlined(painter, option, draw)

    def _outlined(self, painter: QPainter, option: QStyleOption, draw: Callable[[], None]) -> None:
        colour = QColor(self.outline)
        if not option.state & QStyle.StateFlag.State_Enabled:
            colour.setAlphaF(0.45)
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(QPen(colour, 1.0))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        draw()
        painter.restore()


_PM = QStyle.PixelMetric
SCALED_METRICS = frozenset(
    (
        _PM.PM_IndicatorWidth,
        _PM.PM_IndicatorHeight,
        _PM.PM_ExclusiveIndicatorWidth,
        _PM.PM_ExclusiveIndicatorHeight,
        _PM.PM_SliderThickness,
        _PM.PM_SliderLength,
        _PM.PM_SliderControlThickness,
    )
)
ZOOMED_CONTROLS = (QCheckBox, QRadioButton, QSlider)


class ZoomedControlStyle(ContrastStyle):
    """ContrastStyle with check boxes, radio buttons and slider handles `zoom` times Fusion's size, to match
    zoomed text (at 2x in a lecture hall Fusion's 13-pixel box next to 20-point text is hard to hit).

    Set on those widgets alone (scale_controls): pixelMetric in Python is a call per use, and the
    application's style answers thousands of them per decode.
    """

    def __init__(self, outline: str, zoom: float) -> None:
        super().__init__(outline)
        self.zoom = zoom

    def pixelMetric(  # noqa: N802 (Qt name)
        self, metric: QStyle.PixelMetric, option: QStyleOption | None = None, widget: QWidget | None = None
    ) -> int:
        value = super().pixelMetric(metric, option, widget)
        return round(value * self.zoom) if metric in SCALED_METRICS else value


def scale_controls(root: QWidget, theme: Theme, zoom: float) -> None:
    """Give every check box, radio button and slider under `root` a style sized for `zoom`."""
    previous = [child for child in root.children() if isinstance(child, ZoomedControlStyle)]
    style = ZoomedControlStyle(theme.control_outline, clamp_zoom(zoom))
    style.setParent(root)  # owned by the window (made after its controls, so deleted after them)
    for kind in ZOOMED_CONTROLS:
        for widget in root.findChildren(kind):
            widget.setStyle(style)
    for old in previous:
        old.deleteLater()


def apply_theme(app: QApplication, name: str, zoom: float = 1.0) -> Theme:
    """Palette, default font and pyqtgraph defaults for widgets created from now on."""
    theme = get_theme(name)
    style = app.style()
    if not isinstance(style, ContrastStyle):  # Fusion: native styles ignore parts of a custom palette
        style = ContrastStyle(theme.control_outline)
        style.setParent(app)  # the application owns it (and deletes it), not a Python reference
        app.setStyle(style)
    style.outline = theme.control_outline  # read as it draws; the new palette below repaints everything
    app.setPalette(qt_palette(theme))
    app.setFont(ui_font(BASE_POINT_SIZE, clamp_zoom(zoom)))
    pg.setConfigOptions(background=theme.plot_background, foreground=theme.plot_foreground, antialias=True)
    return theme
