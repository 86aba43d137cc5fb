"""The window on real screen sizes: one child process per simulated screen (the offscreen platform configured with
its size and device pixel ratio) opens the app, every dock, then presentation mode (tests/screen_child.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCREENS = [(1280, 720, 1.0), (1366, 768, 1.0), (1920, 1080, 1.0), (3840, 2160, 2.0)]  # device pixels, ratio
HEATMAP_SHARE = 0.6  # of the screen's pixels, in presentation mode (asserted where a lecture hall projects)
SHARE_ASSERTED = {(1366, 768), (1920, 1080), (3840, 2160)}


def inside(inner: list[int], outer: list[int]) -> bool:
    x, y, w, h = inner
    ox, oy, ow, oh = outer
    return x >= ox and y >= oy and x + w <= ox + ow and y + h <= oy + oh


def run_on_screen(tmp_path: Path, width: int, height: int, dpr: float) -> dict:
    # The offscreen platform takes the size in device-independent pixels: a 4K screen at ratio 2 is 1920 × 1080.
    screen = {"name": "screen", "x": 0, "y": 0, "width": round(width / dpr), "height": round(height / dpr), "dpr": dpr}
    config = tmp_path / "screen.json"
    config.write_text(json.dumps({"screens": [screen]}), encoding="utf-8")
    out = tmp_path / "report.json"
    env = {**os.environ, "QT_QPA_PLATFORM": f"offscreen:configfile={config}"}
    command = [sys.executable, "-m", "tests.screen_child", str(tmp_path / "settings"), str(out)]
    run = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stderr[-3000:]
    return json.loads(out.read_text(encoding="utf-8"))


@pytest.mark.parametrize(("width", "height", "dpr"), SCREENS, ids=[f"{w}x{h}@{d:g}" for w, h, d in SCREENS])
def test_the_window_fits_the_screen(tmp_path: Path, width: int, height: int, dpr: float) -> None:
    report = run_on_screen(tmp_path, width, height, dpr)
    available = report["available"]
    assert report["dpr"] == dpr
    assert report["minimum"][0] <= available[2] and report["minimum"][1] <= available[3]
    assert inside(report["first_frame"], available), report
    docks = report["all_docks"]
    assert docks["docks_shown"] == docks["docks_total"] >= 8  # the four panels and the four what-if tools
    assert inside(docks["frame"], available), docks
    assert docks["dock_frames"] and all(inside(frame, docks["frame"]) for frame in docks["dock_frames"]), docks
    assert inside(report["restored_frame"], available), report  # geometry saved three times too big
    presentation = report["presentation"]
    assert presentation["frame"] == available  # full screen
    x, y, w, h = presentation["heatmap"]
    share = w * h / (available[2] * available[3])
    print(f"screen {width}x{height}@{dpr:g}: heatmap_share_presentation={share:.2f}")
    if (width, height) in SHARE_ASSERTED:
        assert share >= HEATMAP_SHARE, presentation
