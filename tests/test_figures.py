"""Figure exports are right outside Qt: each SVG, rendered by librsvg (rsvg-convert), matches the PNG export.

The SVGs hold vector cells and text as outlines (no <image>, no <text>), so a renderer without our font draws
the same Devanagari the app does; the PDF embeds no font either; a PNG takes its size and resolution.
"""

from __future__ import annotations

import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QSizeF
from PySide6.QtGui import QImage, QPainter

from engine import align, alpha_difference, step_labels
from gui.export.figure import FigureSize, write_figure
from gui.export.matrix_figure import difference_figure, paint_matrix
from gui.export.quality_figure import paint_quality
from gui.export.render import render_result
from gui.tools.quality_plot import export_report_plot
from tests.fakes import EN_SOURCE, HI_OUTPUT, alpha_of, fake_result

SVG = "{http://www.w3.org/2000/svg}"
MAX_MEAN_DIFFERENCE = 12.0  # per channel, out of 255
SIZE = FigureSize(800, 600)
REPORT = {
    "models": [
        {
            "model": "लाइट bahdanau",
            "buckets": [
                {"range": "1-10", "bleu": 99.0, "exact_match": 0.9},
                {"range": "11-20", "bleu": 80.0, "exact_match": 0.5},
            ],
        },
        {
            "model": "none",
            "buckets": [
                {"range": "1-10", "bleu": 90.0, "exact_match": 0.7},
                {"range": "11-20", "bleu": None, "exact_match": None},
            ],
        },
    ]
}


def rsvg(svg: Path, size: FigureSize) -> np.ndarray:
    """The SVG as librsvg draws it (not Qt), as RGB."""
    tool = shutil.which("rsvg-convert")
    if tool is None:
        pytest.fail("rsvg-convert is missing: install Debian's librsvg2-bin (.ci/run does)")
    png = svg.with_suffix(".rsvg.png")
    subprocess.run([tool, "-w", str(size.width), "-h", str(size.height), "-o", str(png), str(svg)], check=True)
    return rgb(png)


def rgb(path: Path) -> np.ndarray:
    """A PNG's pixels as (height, width, 3) floats (read by Qt; the SVG was drawn by librsvg)."""
    image = QImage(str(path)).convertToFormat(QImage.Format.Format_RGB888)
    rows = np.frombuffer(image.constBits(), dtype=np.uint8).reshape(image.height(), image.bytesPerLine())
    return rows[:, : 3 * image.width()].reshape(image.height(), image.width(), 3).astype(np.float64)


def mean_difference(svg: Path, png: Path, size: FigureSize) -> np.ndarray:
    """Per channel, the mean absolute difference of the two renderings (0–255)."""
    drawn, exported = rsvg(svg, size), rgb(png)
    assert drawn.shape == exported.shape == (size.height, size.width, 3)
    return np.abs(drawn - exported).mean(axis=(0, 1))


def assert_vector_only(svg: Path) -> ET.Element:
    root = ET.parse(svg).getroot()
    assert not list(root.iter(f"{SVG}image")), "a bitmap in the SVG"
    assert not list(root.iter(f"{SVG}text")), "text that needs a font in the SVG"
    return root


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_heatmap_svg_matches_the_png_outside_qt(qtbot, tmp_path: Path, theme: str) -> None:
    result = fake_result()
    for suffix in (".svg", ".png"):
        render_result(result, tmp_path / f"h{suffix}", SIZE, theme)
    root = assert_vector_only(tmp_path / "h.svg")
    assert len(list(root.iter(f"{SVG}rect"))) >= alpha_of(result).size  # a rectangle per cell, at least
    assert np.all(mean_difference(tmp_path / "h.svg", tmp_path / "h.png", SIZE) <= MAX_MEAN_DIFFERENCE)


def test_crowded_heatmap_svg_matches_the_png(qtbot, tmp_path: Path) -> None:
    """Upright, shrunk and thinned labels, 40 × 30 cells: still the same picture in librsvg."""
    result = fake_result(tuple(f"word{i}" for i in range(40)), HI_OUTPUT[:3] * 10, seed=3)
    for suffix in (".svg", ".png"):
        render_result(result, tmp_path / f"c{suffix}", SIZE)
    assert_vector_only(tmp_path / "c.svg")
    assert np.all(mean_difference(tmp_path / "c.svg", tmp_path / "c.png", SIZE) <= MAX_MEAN_DIFFERENCE)


def test_difference_heatmap_svg_matches_the_png(qtbot, tmp_path: Path) -> None:
    before, after = fake_result(seed=1), fake_result(output=("लाइट", "अभी", "बंद", "करो", "<eos>"), seed=2)
    rows = align(before.output_tokens, after.output_tokens)
    diff = alpha_difference(alpha_of(before), alpha_of(after), rows)
    figure = difference_figure(diff, EN_SOURCE, step_labels(before.output_tokens, after.output_tokens))

    def paint(painter: QPainter, area: QSizeF) -> None:
        paint_matrix(painter, area, figure)

    for suffix in (".svg", ".png"):
        write_figure(tmp_path / f"d{suffix}", paint, SIZE)
    assert_vector_only(tmp_path / "d.svg")
    assert np.all(mean_difference(tmp_path / "d.svg", tmp_path / "d.png", SIZE) <= MAX_MEAN_DIFFERENCE)


def test_quality_plot_svg_matches_the_png(qtbot, tmp_path: Path) -> None:
    size = FigureSize(1000, 760)
    for suffix in (".svg", ".png"):
        export_report_plot(REPORT, tmp_path / f"q{suffix}", size)
    assert_vector_only(tmp_path / "q.svg")
    assert np.all(mean_difference(tmp_path / "q.svg", tmp_path / "q.png", size) <= MAX_MEAN_DIFFERENCE)


def test_no_attention_heatmap_is_grey_without_a_colour_bar(qtbot, tmp_path: Path) -> None:
    result = fake_result()._replace(alpha=None, scores=None)
    render_result(result, tmp_path / "n.png", SIZE)
    pixels = rgb(tmp_path / "n.png")
    centre = pixels[SIZE.height // 2 - 80, SIZE.width // 2 - 150]
    np.testing.assert_array_equal(centre, [0xD4, 0xD4, 0xD4])  # the greyed matrix
    assert np.all(pixels[..., 0] == pixels[..., 1]) and np.all(pixels[..., 1] == pixels[..., 2])  # no α colour, no bar


def test_pdf_embeds_no_font_and_png_takes_its_resolution(qtbot, tmp_path: Path) -> None:
    result = fake_result()
    render_result(result, tmp_path / "h.pdf", SIZE)
    data = (tmp_path / "h.pdf").read_bytes()
    assert data.startswith(b"%PDF") and b"/BaseFont" not in data and b"/FontFile" not in data
    render_result(result, tmp_path / "h.png", FigureSize(800, 600, 192.0))
    image = QImage(str(tmp_path / "h.png"))
    assert (image.width(), image.height()) == (1600, 1200)
    assert round(image.dotsPerMeterX() * 0.0254) == 192


def test_quality_figure_draws_what_the_report_says(qtbot) -> None:
    """The BLEU line of the first model runs from 99 down to 80: its colour appears in the plot, the gap doesn't."""
    from gui.export.figure import figure_image

    def paint(painter: QPainter, area: QSizeF) -> None:
        paint_quality(painter, area, REPORT)

    image = figure_image(paint, FigureSize(600, 500))
    colours = {image.pixelColor(x, y).name() for x in range(0, 600, 2) for y in range(0, 500, 2)}
    assert "#0072b2" in colours and "#d55e00" in colours
