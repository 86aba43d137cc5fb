"""The packaged Noto Sans Devanagari font: registered once, used for every label we draw.

System fonts are never trusted for Devanagari: a machine without a Devanagari font would
show boxes, and a different font would shape conjuncts differently from the screenshots.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import fontpkg_noto_sans_devanagari as noto
from PySide6.QtCore import Qt
from PySide6.QtGui import QFont, QFontDatabase, QGuiApplication, QRawFont, QStaticText, QTransform

BASE_POINT_SIZE = 11.0  # at zoom 1.0; presentation mode multiplies it


def font_path() -> Path:
    matches = sorted((noto.ROOT / "files").glob("NotoSansDevanagari*.ttf"))
    if not matches:
        raise FileNotFoundError(f"no Noto Sans Devanagari TTF under {noto.ROOT / 'files'}")
    return matches[0]


@cache
def font_family() -> str:
    """Register the packaged font (once per process) and return its family name."""
    if QGuiApplication.instance() is None:
        raise RuntimeError("create the QApplication before asking for fonts")
    font_id = QFontDatabase.addApplicationFont(str(font_path()))
    families = QFontDatabase.applicationFontFamilies(font_id) if font_id >= 0 else []
    if not families:
        raise RuntimeError(f"Qt could not load {font_path()}")
    return families[0]


def ui_font(point_size: float = BASE_POINT_SIZE, zoom: float = 1.0) -> QFont:
    font = QFont(font_family())
    font.setPointSizeF(max(1.0, point_size * zoom))
    return font


@cache
def alpha_symbol() -> str:
    """'α' when some font can draw it (Noto Devanagari has no Greek), else the ASCII word."""
    font_family()
    if QRawFont(str(font_path()), 12).supportsCharacter("α"):
        return "α"
    return "α" if QFontDatabase.families(QFontDatabase.WritingSystem.Greek) else "alpha"


class LaidOutTexts:
    """Labels laid out once per font size and kept: shaping text again at every paint (Devanagari above all)
    is the slow part of drawing a label.  Call clear() when the font changes otherwise than in size."""

    def __init__(self, limit: int) -> None:
        self._texts: dict[tuple[float, str], QStaticText] = {}
        self._limit = limit

    def get(self, text: str, font: QFont) -> QStaticText:
        key = (font.pointSizeF(), text)
        label = self._texts.get(key)
        if label is None:
            if len(self._texts) >= self._limit:
                self._texts.clear()
            label = self._texts[key] = QStaticText(text)
            label.setTextFormat(Qt.TextFormat.PlainText)
            label.prepare(QTransform(), font)
        return label

    def clear(self) -> None:
        self._texts.clear()
