"""Choosing a model: the open dialogs (a file, or a folder such as a Hugging Face save_pretrained folder), and a
file or folder dropped onto the window."""

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


def ask_model_folder(parent: QWidget, current: str) -> str:
    """A model folder chosen in a dialog (Hugging Face, JoeyNMT, a tutorial's), or '' when cancelled."""
    start = str(Path(current).parent) if current else str(Path.home())
    return QFileDialog.getExistingDirectory(parent, "Open model folder", start, QFileDialog.Option.ShowDirsOnly)


def dropped_file(event: QDragEnterEvent | QDropEvent) -> str | None:
    """The one local file or folder (a Hugging Face or JoeyNMT model folder) dragged in, else None (several files,
    remote URLs).  Whether it holds a model is the loader's to say: a folder without one fails as a bad file does."""
    urls = event.mimeData().urls() if event.mimeData().hasUrls() else []
    files = [u.toLocalFile() for u in urls if u.isLocalFile()]
    return files[0] if len(files) == 1 and Path(files[0]).exists() else None
