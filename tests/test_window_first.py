"""Window first: the window paints (with its last inputs and a loading note) before torch is imported; the model
loads on the engine thread after that paint, then the first heatmap follows.  In a child process, since this one
has imported torch long ago."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from gui.files.settings_store import SettingsStore

REPO = Path(__file__).resolve().parent.parent


def test_the_window_paints_before_torch_is_imported_then_shows_the_heatmap(
    tiny_model_path: Path, tmp_path: Path
) -> None:
    store = SettingsStore(tmp_path)
    store.set("inputs/model", str(tiny_model_path))
    store.set("inputs/source", "w3 w2 w1")
    assert store.sync()
    proc = subprocess.run(
        [sys.executable, "-m", "tests.first_paint_child", str(tmp_path)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin", "QT_QPA_PLATFORM": "offscreen", "OMP_NUM_THREADS": "1"},
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    first, decoded = report["first_paint"], report["decoded"]
    assert first == {
        "torch": False,
        "placeholder": "Loading model tiny.safetensors…",
        "source": "w3 w2 w1",
        "rows": 0,
        "model": "",
    }
    assert decoded == {"torch": True, "placeholder": "", "source": "w3 w2 w1", "rows": 4, "model": str(tiny_model_path)}
