"""Saving what the window shows: the heatmap as PNG/SVG/PDF (drawn from the decode), the decode step by step as
GIF/MP4, and α, e, c as CSV/NPZ/JSON."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSizeF
from PySide6.QtGui import QPainter
from PySide6.QtWidgets import QFileDialog, QWidget

from engine import DecodeResult, export_result
from gui.export.animation import ANIMATION_SUFFIXES, save_animation
from gui.export.figure import FigureSize, write_figure
from gui.export.matrix_figure import MatrixFigure, difference_figure, paint_matrix, result_figure
from gui.export.size_dialog import ask_figure_size
from gui.files.settings_store import SettingsStore
from gui.matrix.diff_heatmap import DiffHeatmap
from gui.matrix.heatmap import HeatmapWidget

IMAGE_SUFFIXES = (".png", ".svg", ".pdf")  # one picture; animations: ANIMATION_SUFFIXES
DATA_SUFFIXES = (".csv", ".npz", ".json")
FILTERS = {
    "png": "PNG image (*.png)",
    "svg": "SVG image (*.svg)",
    "pdf": "PDF document (*.pdf)",
    "gif": "Animated GIF, a frame per step (*.gif)",
    "mp4": "MP4 video, a frame per step (*.mp4)",
    "csv": "CSV table of α (*.csv)",
    "npz": "NumPy archive of α, e, c (*.npz)",
    "json": "JSON with α, e, c (*.json)",
}


class ExportError(Exception):
    """An export that failed; the message is for the user."""


def heatmap_size(heatmap: HeatmapWidget) -> FigureSize:
    """The heatmap's size on screen (at least 400 × 300), at 96 dpi."""
    return FigureSize(max(heatmap.width(), 400), max(heatmap.height(), 300))


def export_view(
    path: str | Path,
    heatmap: HeatmapWidget,
    result: DecodeResult | None,
    model: Mapping[str, Any] | None = None,
    size: FigureSize | None = None,
    with_anatomy: bool = False,
) -> Path:
    """Write the file `path` names by its suffix; ExportError says what went wrong.

    Images are drawn from `result` as the heatmap shows it (mode, transposition, theme, zoom); `size`: pixels at
    96 dpi and the PNG's resolution, default the heatmap's size on screen.
    """
    target = Path(path)
    suffix = target.suffix.lower()
    if result is None:
        raise ExportError("Nothing to export yet: wait for a decode to finish.")
    if not target.parent.is_dir():
        raise ExportError(f"Cannot export to {target}: the folder {target.parent} does not exist.")
    known = IMAGE_SUFFIXES + ANIMATION_SUFFIXES + DATA_SUFFIXES
    if suffix not in known:
        raise ExportError(f"Cannot export to '{target.suffix or target.name}': use one of {', '.join(known)}.")
    try:
        if suffix in IMAGE_SUFFIXES:
            figure = result_figure(result, heatmap.mode(), heatmap.theme(), heatmap.zoom(), heatmap.is_transposed())
            write_matrix(target, figure, size or heatmap_size(heatmap), f"attnscope: {result.text}")
        elif suffix in ANIMATION_SUFFIXES:
            query = str((model or {}).get("query", "prev"))
            frame = (heatmap.width(), heatmap.height())
            save_animation(result, target, query, with_anatomy, heatmap.theme(), heatmap.zoom(), frame)
        else:
            export_result(result, target, model)
    except (OSError, ValueError, RuntimeError) as exc:  # RuntimeError: MP4 without its optional extra
        raise ExportError(f"Could not write {target}: {exc}") from exc
    return target


def write_matrix(path: Path, figure: MatrixFigure, size: FigureSize, title: str) -> None:
    def paint(painter: QPainter, area: QSizeF) -> None:
        paint_matrix(painter, area, figure)

    write_figure(path, paint, size, title)


def export_difference(path: str | Path, diff: DiffHeatmap, size: FigureSize | None = None) -> Path:
    """The difference heatmap as .png, .svg or .pdf, drawn from its numbers; ExportError says what went wrong."""
    target = Path(path)
    if target.suffix.lower() not in IMAGE_SUFFIXES:
        raise ExportError(f"Cannot export the difference to '{target.suffix or target.name}': use .png, .svg or .pdf.")
    source, steps = diff.axis_labels()
    if not steps:
        raise ExportError("No difference to export yet: make an edit first.")
    figure = difference_figure(diff.difference(), source, steps, diff.theme(), diff.zoom())
    size = size or FigureSize(max(diff.width(), 400), max(diff.height(), 300))
    try:
        write_matrix(target, figure, size, "attnscope: Δα")
    except (OSError, ValueError) as exc:
        raise ExportError(f"Could not write {target}: {exc}") from exc
    return target


def ask_export_path(
    parent: QWidget,
    settings: SettingsStore | None,
    fmt: str,
    name: str = "attention",
    filters: dict[str, str] = FILTERS,
) -> str:
    """Where to export as `fmt` (`name`.fmt in the last export folder to start with; the suffix added when left out),
    remembering the folder; '' when cancelled."""
    folder = settings.get_str("files/export_dir", str(Path.home())) if settings is not None else str(Path.home())
    path, _ = QFileDialog.getSaveFileName(
        parent, f"Export {fmt.upper()}", str(Path(folder) / f"{name}.{fmt}"), filters[fmt]
    )
    if not path:
        return ""
    if not Path(path).suffix:
        path += f".{fmt}"
    if settings is not None:
        settings.set("files/export_dir", str(Path(path).parent))
    return path


def ask_export(
    parent: QWidget,
    settings: SettingsStore | None,
    fmt: str,
    default: FigureSize,
    name: str = "attention",
    filters: dict[str, str] = FILTERS,
) -> tuple[str, FigureSize | None]:
    """The export path, and for a PNG the size and resolution chosen (None: the default); ('', None) cancelled."""
    path = ask_export_path(parent, settings, fmt, name, filters)
    if not path or Path(path).suffix.lower() != ".png":
        return path, None
    size = ask_figure_size(parent, settings, default)
    return (path, size) if size is not None else ("", None)
