"""Choosing a model file: the open dialog, and a file dropped onto the window."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QFileDialog, QWidget

MODEL_FILTERS = (
    "Models (*.safetensors *.ckpt *.pt *.pth *.json);;attnscope (*.safetensors);;"
    "JoeyNMT checkpoint beside config.yaml (*.ckpt);;OpenNMT-py (*.pt);;PyTorch tutorial vocabulary (*.json);;"
    "All files (*)"
)


def ask_model_path(parent: QWidget, current: str) -> str:
    """A model file chosen in a dialog, or '' when cancelled."""
    start = str(Path(current).parent) if current else str(Path.home())
    path, _ = QFileDialog.getOpenFileName(parent, "Open model", start, MODEL_FILTERS)
    return path


def dropped_file(event: QDragEnterEvent | QDropEvent) -> str | None:
    """The one local file or folder (a JoeyNMT model directory) dragged in, else None (several, remote URLs)."""
    urls = event.mimeData().urls() if event.mimeData().hasUrls() else []
    files = [u.toLocalFile() for u in urls if u.isLocalFile()]
    return files[0] if len(files) == 1 and Path(files[0]).exists() else None
