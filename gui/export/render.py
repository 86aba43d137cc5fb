"""Headless rendering of a decode's heatmap to PNG, SVG, GIF or MP4 (`python main.py inspect --out x.png`)."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from PySide6.QtCore import QCoreApplication, QEvent, Qt
from PySide6.QtWidgets import QApplication

from engine import DecodeResult
from gui.export.animation import ANIMATION_SUFFIXES, save_animation
from gui.matrix.heatmap import HeatmapWidget
from gui.style.theme import apply_theme

SUFFIXES = (".png", ".svg", *ANIMATION_SUFFIXES)
_app: QApplication | None = None  # kept alive for the rest of the process once we made it


def has_display() -> bool:
    if not sys.platform.startswith("linux"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def ensure_app() -> QApplication:
    """The running QApplication, or a new one (offscreen when there is no display)."""
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
    width: int = 1200,
    height: int = 900,
    theme: str = "light",
    zoom: float = 1.0,
    mode: str = "alpha",
    model: Mapping[str, Any] | None = None,
    with_anatomy: bool = False,
) -> None:
    """Write the attention heatmap of `result` to `path` (.png, .svg; .gif or .mp4: step by step, optionally
    with the anatomy of each step, which needs the model's description), width × height pixels."""
    path = Path(path)
    if path.suffix.lower() not in SUFFIXES:
        raise ValueError(f"can render {', '.join(SUFFIXES)}, not {path.suffix or 'a file without suffix'!r}")
    app = ensure_app()
    if _app is app:  # our own app: give it the theme's palette and font too
        apply_theme(app, theme, zoom)
    if path.suffix.lower() in ANIMATION_SUFFIXES:
        query = str((model or {}).get("query", "prev"))
        save_animation(result, path, query, with_anatomy, theme, zoom, (width, height))
        return
    widget = HeatmapWidget(theme=theme, zoom=zoom, show_readout=False)
    try:
        widget.setAttribute(Qt.WidgetAttribute.WA_DontShowOnScreen)  # laid out, never flashed on a desktop
        widget.resize(width, height)
        widget.show()
        widget.set_result(result)
        widget.set_mode(mode)
        app.processEvents()
        if path.suffix.lower() == ".png":
            widget.export_png(path, width=width)
        else:
            widget.export_svg(path)
    finally:
        widget.teardown()
        widget.close()
        widget.deleteLater()
        QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete.value)


def render_file(result: DecodeResult, path: Path, model: Mapping[str, Any], with_anatomy: bool) -> None:
    """What `inspect --out` hands images to (engine.inspect_cli.ImageWriter): the app's look, default size."""
    render_result(result, path, model=model, with_anatomy=with_anatomy)
