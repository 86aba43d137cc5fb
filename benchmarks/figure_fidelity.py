"""How closely librsvg (rsvg-convert, not Qt) draws our SVG exports against our PNG exports of the same figure.

    QT_QPA_PLATFORM=offscreen python benchmarks/figure_fidelity.py

Prints `svg_vs_png_<figure>=R,G,B` (mean absolute difference per channel, 0-255; the tests require <= 12).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from PySide6.QtCore import QSizeF  # noqa: E402
from PySide6.QtGui import QImage, QPainter  # noqa: E402

from engine import align, alpha_difference, step_labels  # noqa: E402
from gui.export.figure import FigureSize, write_figure  # noqa: E402
from gui.export.matrix_figure import MatrixFigure, difference_figure, paint_matrix, result_figure  # noqa: E402
from gui.export.render import ensure_app  # noqa: E402
from gui.tools.quality_plot import export_report_plot  # noqa: E402
from tests.fakes import EN_SOURCE, fake_result  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def pixels(path: Path) -> np.ndarray:
    image = QImage(str(path)).convertToFormat(QImage.Format.Format_RGB888)
    rows = np.frombuffer(image.constBits(), dtype=np.uint8).reshape(image.height(), image.bytesPerLine())
    return rows[:, : 3 * image.width()].reshape(image.height(), image.width(), 3).astype(np.float64)


def difference(folder: Path, name: str, size: FigureSize) -> str:
    svg, png, drawn = folder / f"{name}.svg", folder / f"{name}.png", folder / f"{name}.rsvg.png"
    subprocess.run(
        ["rsvg-convert", "-w", str(size.width), "-h", str(size.height), "-o", str(drawn), str(svg)], check=True
    )
    mean = np.abs(pixels(drawn) - pixels(png)).mean(axis=(0, 1))
    return ",".join(f"{v:.2f}" for v in mean)


def matrix(folder: Path, name: str, figure: MatrixFigure, size: FigureSize) -> None:
    def paint(painter: QPainter, area: QSizeF) -> None:
        paint_matrix(painter, area, figure)

    for suffix in (".svg", ".png"):
        write_figure(folder / f"{name}{suffix}", paint, size)


def main() -> None:
    if shutil.which("rsvg-convert") is None:
        sys.exit("rsvg-convert is missing: apt-get install librsvg2-bin")
    ensure_app()
    size = FigureSize(1200, 900)
    long = fake_result(tuple(f"word{i}" for i in range(40)), ("लाइट", "बंद", "करो") * 10, seed=3)
    before, after = fake_result(seed=1), fake_result(output=("लाइट", "अभी", "बंद", "करो", "<eos>"), seed=2)
    rows = align(before.output_tokens, after.output_tokens)
    assert before.alpha is not None and after.alpha is not None
    diff = alpha_difference(before.alpha, after.alpha, rows)
    cases = {
        "heatmap_light": result_figure(fake_result()),
        "heatmap_dark_zoom2": result_figure(fake_result(), theme="dark", zoom=2.0),
        "heatmap_40x30": result_figure(long),
        "heatmap_scores_transposed": result_figure(fake_result(), mode="scores", transposed=True),
        "heatmap_no_attention": result_figure(fake_result(fixed_context=True)),
        "difference": difference_figure(diff, EN_SOURCE, step_labels(before.output_tokens, after.output_tokens)),
    }
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for name, figure in cases.items():
            matrix(folder, name, figure, size)
            print(f"svg_vs_png_{name}={difference(folder, name, size)}")
        report = json.loads((ROOT / "resources" / "reports" / "en_hi_quality.json").read_text(encoding="utf-8"))
        plot_size = FigureSize(1000, 760)
        for suffix in (".svg", ".png"):
            export_report_plot(report, folder / f"quality{suffix}", plot_size)
        print(f"svg_vs_png_quality_plot={difference(folder, 'quality', plot_size)}")


if __name__ == "__main__":
    main()
