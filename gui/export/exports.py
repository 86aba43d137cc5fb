"""Saving what the window shows: the heatmap as PNG/SVG, the decode step by step as GIF/MP4, and α, e, c as
CSV/NPZ/JSON (engine.export)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from PySide6.QtWidgets import QFileDialog, QWidget

from engine import DecodeResult, export_result
from gui.export.animation import ANIMATION_SUFFIXES, save_animation
from gui.files.settings_store import SettingsStore
from gui.matrix.heatmap import HeatmapWidget

IMAGE_SUFFIXES = (".png", ".svg", *ANIMATION_SUFFIXES)
DATA_SUFFIXES = (".csv", ".npz", ".json")
FILTERS = {
    "png": "PNG image (*.png)",
    "svg": "SVG image (*.svg)",
    "gif": "Animated GIF, a frame per step (*.gif)",
    "mp4": "MP4 video, a frame per step (*.mp4)",
    "csv": "CSV table of α (*.csv)",
    "npz": "NumPy archive of α, e, c (*.npz)",
    "json": "JSON with α, e, c (*.json)",
}


class ExportError(Exception):
    """An export that failed; the message is for the user."""


def export_view(
    path: str | Path,
    heatmap: HeatmapWidget,
    result: DecodeResult | None,
    model: Mapping[str, Any] | None = None,
    with_anatomy: bool = False,
) -> Path:
    """Write the file `path` names by its suffix; ExportError says what went wrong."""
    target = Path(path)
    suffix = target.suffix.lower()
    if result is None:
        raise ExportError("Nothing to export yet: wait for a decode to finish.")
    if not target.parent.is_dir():
        raise ExportError(f"Cannot export to {target}: the folder {target.parent} does not exist.")
    try:
        if suffix == ".png":
            heatmap.export_png(target)
        elif suffix == ".svg":
            heatmap.export_svg(target)
        elif suffix in ANIMATION_SUFFIXES:
            query = str((model or {}).get("query", "prev"))
            size = (heatmap.width(), heatmap.height())
            save_animation(result, target, query, with_anatomy, heatmap.theme(), heatmap.zoom(), size)
        elif suffix in DATA_SUFFIXES:
            export_result(result, target, model)
        else:
            raise ExportError(
                f"Cannot export to '{target.suffix or target.name}': use one of "
                f"{', '.join(IMAGE_SUFFIXES + DATA_SUFFIXES)}."
            )
    except ExportError:
        raise
    except (OSError, ValueError, RuntimeError) as exc:  # RuntimeError: MP4 without its optional extra
        raise ExportError(f"Could not write {target}: {exc}") from exc
    if not target.is_file():  # pyqtgraph's exporter reports some failures only by not writing
        raise ExportError(f"Could not write {target}.")
    return target


def ask_export_path(parent: QWidget, settings: SettingsStore, fmt: str) -> str:
    """Where to export as `fmt` (suffix added when left out), remembering the folder; '' when cancelled."""
    start = Path(settings.get_str("files/export_dir", str(Path.home()))) / f"attention.{fmt}"
    path, _ = QFileDialog.getSaveFileName(parent, f"Export {fmt.upper()}", str(start), FILTERS[fmt])
    if not path:
        return ""
    if not Path(path).suffix:
        path += f".{fmt}"
    settings.set("files/export_dir", str(Path(path).parent))
    return path
