"""A decode as an animation for slides: the heatmap's rows appear step by step, optionally beside the anatomy of
each step; a GIF (Pillow: Qt writes none), or an MP4 when the optional extra `video` (imageio-ffmpeg) is there.

One frame per step (its row added, selected, its strongest source word marked), then the whole decode.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from PIL import Image
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QImage, QPainter

from engine import DecodeResult, atomic_write_bytes, result_anatomy
from gui.matrix.heatmap import HeatmapWidget
from gui.panels.anatomy_view import AnatomyView

ANIMATION_SUFFIXES = (".gif", ".mp4")
FRAME_MS = 900  # each step's frame; the last one stays three times as long
VIDEO_EXTRA = 'MP4 export needs the optional extra "video": pip install -e ".[video]" (imageio-ffmpeg)'


def decode_frames(
    result: DecodeResult, heatmap: HeatmapWidget, anatomy: AnatomyView | None = None, query: str = "prev"
) -> Iterator[QImage]:
    """The frames: step k's row added and selected (k = 0 … U−1), then the whole decode, none selected.

    `heatmap` (and `anatomy`, drawn beside it when given and the model has attention) set the size and look.
    """
    for rows in range(1, len(result.output_tokens) + 2):
        final = rows > len(result.output_tokens)
        heatmap.show_first_steps(result, len(result.output_tokens) if final else rows)
        if final:
            heatmap.select_step(None)
        picture = heatmap.to_image()
        if anatomy is None or query == "none":
            yield picture
            continue
        step = len(result.output_tokens) - 1 if final else rows - 1
        anatomy.show_step(result_anatomy(result, step, query), animate=False)
        anatomy.finish()
        yield _side_by_side(picture, anatomy.to_image(round(picture.width() * 1.2), picture.height()), anatomy)


def _side_by_side(left: QImage, right: QImage, anatomy: AnatomyView) -> QImage:
    out = QImage(left.width() + right.width(), max(left.height(), right.height()), QImage.Format.Format_RGB32)
    out.fill(QColor(anatomy.palette().color(anatomy.backgroundRole())))
    painter = QPainter(out)
    painter.drawImage(0, 0, left)
    painter.drawImage(left.width(), 0, right)
    painter.end()
    return out


def to_pillow(image: QImage) -> Image.Image:
    """A QImage as a Pillow RGB image (rows copied with the QImage's own stride)."""
    rgb = image.convertToFormat(QImage.Format.Format_RGB888)
    size = (rgb.width(), rgb.height())
    return Image.frombuffer("RGB", size, bytes(rgb.constBits()), "raw", "RGB", rgb.bytesPerLine(), 1).copy()


def write_gif(frames: list[QImage], path: str | Path, frame_ms: int = FRAME_MS) -> Path:
    """An endlessly looping GIF, written atomically; the last frame stays three times as long."""
    pictures = [to_pillow(f).quantize(colors=255, method=Image.Quantize.MEDIANCUT) for f in frames]
    durations = [frame_ms] * (len(pictures) - 1) + [3 * frame_ms]
    data = io.BytesIO()
    pictures[0].save(data, format="GIF", save_all=True, append_images=pictures[1:], duration=durations, loop=0)
    atomic_write_bytes(path, data.getvalue())
    return Path(path)


def write_mp4(frames: list[QImage], path: str | Path, frame_ms: int = FRAME_MS) -> Path:
    """An H.264 video (needs imageio-ffmpeg: VIDEO_EXTRA says how to get it), written atomically."""
    try:
        import imageio_ffmpeg  # an optional extra: a 60 MB ffmpeg most users never need
    except ImportError as exc:
        raise RuntimeError(VIDEO_EXTRA) from exc
    pictures = [np.asarray(to_pillow(f)) for f in frames]
    height, width = (d - d % 2 for d in pictures[0].shape[:2])  # H.264 wants even sizes
    target = Path(path)
    scratch = target.with_name(f".{target.name}.part.mp4")
    writer = imageio_ffmpeg.write_frames(str(scratch), (width, height), fps=1000 / frame_ms, macro_block_size=1)
    writer.send(None)
    for picture in [*pictures, pictures[-1], pictures[-1]]:  # the whole decode stays on screen a while
        writer.send(np.ascontiguousarray(picture[:height, :width]))
    writer.close()
    atomic_write_bytes(target, scratch.read_bytes())
    scratch.unlink()
    return target


def save_animation(
    result: DecodeResult,
    path: str | Path,
    query: str = "prev",
    with_anatomy: bool = False,
    theme: str = "light",
    zoom: float = 1.0,
    size: tuple[int, int] = (900, 700),
) -> Path:
    """The decode's animation to `path` (its suffix picks GIF or MP4), drawn by widgets of its own that are laid
    out at `size` but never shown (needs a QApplication)."""
    heatmap = HeatmapWidget(theme=theme, zoom=zoom, show_readout=False)
    anatomy = AnatomyView(theme=theme, zoom=zoom) if with_anatomy else None
    heatmap.setAttribute(Qt.WidgetAttribute.WA_DontShowOnScreen)
    heatmap.resize(*size)
    heatmap.show()
    try:
        frames = list(decode_frames(result, heatmap, anatomy, query))
        if Path(path).suffix.lower() == ".mp4":
            return write_mp4(frames, path)
        return write_gif(frames, path)
    finally:
        heatmap.teardown()
        heatmap.close()
        heatmap.deleteLater()
        if anatomy is not None:
            anatomy.deleteLater()
