"""A decode as an animation for slides: GIF frames (one per step, then the whole decode), with the anatomy
beside them when asked, from the window and from `inspect --out decode.gif`; MP4 only with its extra."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from pytestqt.qtbot import QtBot

from engine import result_anatomy, step_anatomy
from gui.export.animation import VIDEO_EXTRA, save_animation, write_mp4
from main import main
from tests.fakes import decode_start, fake_result, step_records
from tests.test_gui_app import make_window  # noqa: F401 (a fixture)

ROOT = Path(__file__).resolve().parent.parent
NO_ATTENTION = ROOT / "resources" / "models" / "en_hi_none.safetensors"


def frames(path: Path) -> list[np.ndarray]:
    with Image.open(path) as gif:
        assert gif.format == "GIF" and gif.info.get("loop") == 0
        out = []
        for n in range(getattr(gif, "n_frames", 1)):
            gif.seek(n)
            out.append(np.asarray(gif.convert("RGB")))
        return out


def test_a_frame_per_step_then_the_whole_decode(qtbot: QtBot, tmp_path: Path) -> None:
    result = fake_result()
    save_animation(result, tmp_path / "d.gif", size=(600, 450))
    shown = frames(tmp_path / "d.gif")
    assert len(shown) == len(result.output_tokens) + 1
    assert shown[0].shape == (450, 600, 3)
    assert all(not np.array_equal(a, b) for a, b in zip(shown, shown[1:], strict=False))  # each frame adds a row


def test_with_the_anatomy_each_frame_shows_its_step_beside_the_heatmap(qtbot: QtBot, tmp_path: Path) -> None:
    result = fake_result()
    save_animation(result, tmp_path / "a.gif", query="prev", with_anatomy=True, size=(600, 450))
    shown = frames(tmp_path / "a.gif")
    assert len(shown) == len(result.output_tokens) + 1 and shown[0].shape[1] > 1200  # heatmap | anatomy
    start, records = decode_start(result), step_records(result)
    anatomy = result_anatomy(result, 2, "prev")  # what the third frame's right half takes apart
    np.testing.assert_allclose(anatomy.query, step_anatomy(start, records, 2, "prev", len(records)).query)
    np.testing.assert_allclose(anatomy.weighted.sum(axis=0), result.context[2], atol=1e-5)


def test_mp4_says_which_extra_it_needs(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setitem(sys.modules, "imageio_ffmpeg", None)  # as if the extra were not installed
    with pytest.raises(RuntimeError, match="video"):
        write_mp4([], tmp_path / "d.mp4")
    assert "pip install" in VIDEO_EXTRA and not (tmp_path / "d.mp4").exists()


def test_inspect_writes_a_gif_and_refuses_what_cannot_apply(tiny_model_path: Path, tmp_path: Path) -> None:
    out = tmp_path / "decode.gif"
    assert main(["inspect", "--model", str(tiny_model_path), "--source", "w1 w2 w3", "--out", str(out)]) == 0
    assert len(frames(out)) >= 2
    png = tmp_path / "x.png"
    assert main(["inspect", "--model", str(tiny_model_path), "--source", "w1", "--out", str(png), "--anatomy"]) == 2
    assert not png.exists()  # --anatomy belongs to animations
    gif = tmp_path / "none.gif"
    assert (
        main(
            ["inspect", "--model", str(NO_ATTENTION), "--source", "turn off the lights", "--out", str(gif), "--anatomy"]
        )
        == 2
    )
    assert not gif.exists()  # no attention, no anatomy


def test_the_window_exports_the_decode_as_a_gif(qtbot: QtBot, make_window, tmp_path: Path) -> None:  # noqa: F811
    window = make_window()
    window.menus.animation_anatomy.setChecked(True)
    assert window.export_to(tmp_path / "w.gif"), window.banner.text()
    shown = frames(tmp_path / "w.gif")
    assert len(shown) == len(window.flow.records) + 1
