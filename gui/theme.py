"""Light and dark themes: the Qt palette, the plot colours and the heatmap colour maps.

One zoom factor scales every font; presentation mode is simply zoom = PRESENTATION_ZOOM.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np
import pyqtgraph as pg
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

from gui.fonts import BASE_POINT_SIZE, ui_font

PRESENTATION_ZOOM = 2.0  # lecture hall: every font twice the desktop size
ZOOM_RANGE = (0.5, 4.0)


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
    alpha_colormap: str  # sequential: α in [0, 1], low α close to the background
    scores_colormap: str  # diverging: raw scores around 0
    point_colors: tuple[str, str]  # PCA: h_j points, c_i points


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
        alpha_colormap="inferno",
        scores_colormap="CET-D4",
        point_colors=("#6fa8ff", "#ff8a65"),
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


def apply_theme(app: QApplication, name: str, zoom: float = 1.0) -> Theme:
    """Palette, default font and pyqtgraph defaults for widgets created from now on."""
    theme = get_theme(name)
    app.setStyle("Fusion")  # native styles ignore parts of a custom palette
    app.setPalette(qt_palette(theme))
    app.setFont(ui_font(BASE_POINT_SIZE, clamp_zoom(zoom)))
    pg.setConfigOptions(background=theme.plot_background, foreground=theme.plot_foreground, antialias=True)
    return theme
