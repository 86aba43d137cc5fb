"""Image files written atomically: encoded in memory, then put in place in one step (models.atomic), so an
export or screenshot interrupted midway leaves the previous file whole, never a truncated image."""

from __future__ import annotations

import os

from PySide6.QtCore import QBuffer, QIODevice
from PySide6.QtGui import QImage

from engine import atomic_write_bytes


def memory_device() -> QBuffer:
    """An open, writable in-memory device (for QImage.save, QSvgGenerator); `bytes(device.data())` is its content."""
    buffer = QBuffer()
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    return buffer


def save_image(image: QImage, path: str | os.PathLike[str], fmt: str = "PNG") -> None:
    """OSError when the image cannot be encoded or the file cannot be written."""
    buffer = memory_device()
    if image.isNull() or not image.save(buffer, fmt):  # type: ignore[call-overload]  # stubs say bytes; str works
        raise OSError(f"could not encode the image as {fmt}")
    atomic_write_bytes(path, bytes(buffer.data().data()))
