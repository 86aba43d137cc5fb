"""Headless rendering of a decode's heatmap to PNG, SVG, PDF, or GIF and MP4 step by step (`inspect --out`)."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from PySide6.QtCore import QCoreApplication, QSizeF
from PySide6.QtGui import QPainter
from PySide6.QtWidgets import QApplication

from engine import DecodeResult
from gui.export.animation import ANIMATION_SUFFIXES, save_animation
from gui.export.figure import FIGURE_SUFFIXES, FigureSize, write_figure
from gui.export.matrix_figure import paint_matrix, result_figure

SUFFIXES = (*FIGURE_SUFFIXES, *ANIMATION_SUFFIXES)
_app: QApplication | None = None  # kept alive for the rest of the process once we made it


def has_display() -> bool:
    if not sys.platform.startswith("linux"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def ensure_app() -> QApplication:
    """The running QApplication, or a new one (offscreen when there is no display): fonts need one, and a widget
    application, so that windows made later in the same process (tests, the app) can live beside it."""
    global _app
    existing = QCoreApplication.instance()
    if isinstance(existing, QApplication):
        return existing
    if existing is not None:
        raise RuntimeError("a non-widget Qt application is running; rendering needs QApplication")
    if not has_display():
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    _app = QApplication([sys.argv[0] if sys.argv else "attnscope"])
    return _app


def render_result(
    result: DecodeResult,
    path: str | Path,
    size: tuple[int, int, float] = (1200, 900, 96.0),
    theme: str = "light",
    zoom: float = 1.0,
    mode: str = "alpha",
    model: Mapping[str, Any] | None = None,
    with_anatomy: bool = False,
) -> None:
    """Write the attention heatmap of `result` to `path` (.png, .svg or .pdf); `size` in pixels at 96 dpi.

    .gif and .mp4: the decode step by step, with the anatomy of each step beside it if asked (which needs the
    model's description: its query kind).
    """
    path = Path(path)
    if path.suffix.lower() not in SUFFIXES:
        raise ValueError(f"can render {', '.join(SUFFIXES)}, not {path.suffix or 'a file without suffix'!r}")
    ensure_app()
    if path.suffix.lower() in ANIMATION_SUFFIXES:
        query = str((model or {}).get("query", "prev"))
        save_animation(result, path, query, with_anatomy, theme, zoom, (int(size[0]), int(size[1])))
        return
    figure = result_figure(result, mode, theme, zoom)

    def paint(painter: QPainter, area: QSizeF) -> None:
        paint_matrix(painter, area, figure)

    write_figure(path, paint, FigureSize(*size), title=f"attnscope: {result.text}")


def render_file(
    result: DecodeResult, path: Path, size: tuple[int, int, float], model: Mapping[str, Any], with_anatomy: bool
) -> None:
    """What `inspect --out` hands images to (engine.inspect_cli.ImageWriter)."""
    render_result(result, path, size, model=model, with_anatomy=with_anatomy)
