"""How long until a user sees something? Fresh processes, each timed from its spawn.

    python benchmarks/startup.py [--model PATH] [--runs 5]

Every figure is the median over --runs rounds (at least 5); a round starts one fresh process of each kind, one
after another, so that they see the same machine; a ratio is the median of the rounds' own ratios.  Times run
from just before the process is spawned (interpreter start-up included) to the moment named; the children
run on Qt's offscreen platform.

- bare_window_s: a bare PySide6 window with one label, to the end of its first paint: the floor.
- window_s: the app as `python main.py` starts it (the settings of an earlier start: its last inputs), to the end
  of the main window's first paint.  torch_at_window_paint says whether torch was imported by then (it should
  not be: the model loads after that paint).
- first_heatmap_s: the same process, to the end of the paint of the heatmap with the first decode's rows.
- import_torch_s: `import torch` inside a bare process; load_decode_s: InferenceSession.open of the model plus
  one decode of the source, timed in that same process after the import.
- bare_decode_s: that whole bare process (`python -c "import torch" ` + the load and the decode), to its exit.
- inspect_json_s: `python main.py inspect --out x.json` of the same model and source, to its exit.

startup_window_ratio = window_s / bare_window_s (target ≤ 1.5); startup_heatmap_ratio = first_heatmap_s /
(bare_window_s + import_torch_s + load_decode_s) (target ≤ 1.3); inspect_json_ratio = inspect_json_s /
bare_decode_s (target ≤ 1.3).  *_peak_mib: each kind's peak RSS (the median over the rounds).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_MODEL = REPO / "resources" / "models" / "en_hi_bahdanau.safetensors"
SOURCE = "turn off the lights"
TIMEOUT_S = 300
POLL_S = 0.002

BARE_WINDOW = """
import time
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QLabel
app = QApplication([])
class Label(QLabel):
    def paintEvent(self, event):
        super().paintEvent(event)
        QTimer.singleShot(0, self.painted)  # once the whole paint pass is done
    def painted(self):
        print(f"mark painted {time.monotonic()}", flush=True)
        app.quit()
label = Label("attnscope")
label.resize(400, 200)
label.show()
app.exec()
"""

BARE_DECODE = """
import sys, time
start = time.perf_counter()
import torch
imported = time.perf_counter()
from engine import DecodeRequest, InferenceSession
session = InferenceSession.open(sys.argv[1], "cpu")
session.run(DecodeRequest(1, sys.argv[2]))
print(f"time import_torch {imported - start}", flush=True)
print(f"time load_decode {time.perf_counter() - imported}", flush=True)
"""


def app_child(argv: list[str]) -> int:
    """`python main.py ARGV` with probes: marks the end of the window's first paint and of the heatmap's paint
    with the first decode, then closes the window (what happens after is not timed)."""
    from PySide6.QtCore import QEvent, QObject, QTimer

    import gui.app
    import main

    class Probe(QObject):
        def __init__(self, window: gui.app.MainWindow) -> None:
            super().__init__(window)
            self.window = window
            window.installEventFilter(self)
            window.flow.finished.connect(self.finished)  # after the window's own slot, which paints the heatmap

        def eventFilter(self, watched: QObject, event: QEvent) -> bool:
            if event.type() == QEvent.Type.Paint:
                self.window.removeEventFilter(self)
                print(f"flag torch_at_window_paint {'torch' in sys.modules}", flush=True)
                QTimer.singleShot(0, self.window, lambda: mark("window"))  # once the whole paint pass is done
            return False

        def finished(self, _result: object) -> None:
            QTimer.singleShot(0, self.window, self.done)

        def done(self) -> None:
            mark("heatmap")
            self.window.close()

    original = gui.app.create_window

    def probed(*args: object, **kwargs: object) -> gui.app.MainWindow:
        window = original(*args, **kwargs)  # type: ignore[arg-type]
        Probe(window)
        return window

    gui.app.create_window = probed  # type: ignore[assignment]
    return main.main(argv)


def mark(name: str) -> None:
    print(f"mark {name} {time.monotonic()}", flush=True)


def spawn(args: list[str]) -> tuple[dict[str, float], float]:
    """Run a child; ({mark or time name: seconds}, its peak RSS in MiB).  Marks count from the spawn."""
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": str(REPO)}
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.monotonic()
        proc = subprocess.Popen([sys.executable, *args], cwd=REPO, env=env, stdout=out, stderr=err)
        status, usage = wait(proc, start + TIMEOUT_S)
        ended = time.monotonic()
        out.seek(0)
        err.seek(0)
        lines, errors = out.read().decode().splitlines(), err.read().decode(errors="replace")
    if status != 0:
        raise RuntimeError(f"{args} failed ({status}): {errors[-2000:]}")
    figures: dict[str, float] = {"exit": ended - start}
    for line in lines:
        kind, name, value = (line.split() + ["", "", ""])[:3]
        if kind == "mark":
            figures[name] = float(value) - start
        elif kind == "time":
            figures[name] = float(value)
        elif kind == "flag":
            figures[name] = float(value == "True")
    return figures, usage.ru_maxrss / 1024  # Linux reports KiB


def wait(proc: subprocess.Popen[bytes], deadline: float) -> tuple[int, resource.struct_rusage]:
    """(exit status, resource usage) of the child, polled every few ms: os.wait4 has no timeout."""
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here: Popen must not wait for it again
            return proc.returncode, usage
        if time.monotonic() > deadline:
            proc.kill()
            raise TimeoutError(f"{proc.args!r} took more than {TIMEOUT_S} s")
        time.sleep(POLL_S)


def one_round(model: Path, settings: str, scratch: str) -> dict[str, float]:
    figures: dict[str, float] = {}
    bare, figures["bare_window_peak_mib"] = spawn(["-c", BARE_WINDOW])
    figures["bare_window_s"] = bare["painted"]
    app_args = ["--model", str(model), "--settings-dir", settings]
    app, figures["window_peak_mib"] = spawn([str(Path(__file__).resolve()), "--app-child", "--", *app_args])
    figures["window_s"], figures["first_heatmap_s"] = app["window"], app["heatmap"]
    figures["torch_at_window_paint"] = app["torch_at_window_paint"]
    decode, figures["bare_decode_peak_mib"] = spawn(["-c", BARE_DECODE, str(model), SOURCE])
    figures["import_torch_s"], figures["load_decode_s"] = decode["import_torch"], decode["load_decode"]
    figures["bare_decode_s"] = decode["exit"]
    out = str(Path(scratch) / "alpha.json")
    inspect, figures["inspect_json_peak_mib"] = spawn(
        ["main.py", "inspect", "--model", str(model), "--source", SOURCE, "--out", out]
    )
    figures["inspect_json_s"] = inspect["exit"]
    json.loads(Path(out).read_text(encoding="utf-8"))  # it wrote what it should
    figures["startup_window_ratio"] = figures["window_s"] / figures["bare_window_s"]
    floor = figures["bare_window_s"] + figures["import_torch_s"] + figures["load_decode_s"]
    figures["startup_heatmap_ratio"] = figures["first_heatmap_s"] / floor
    figures["inspect_json_ratio"] = figures["inspect_json_s"] / figures["bare_decode_s"]
    return figures


def main(argv: list[str]) -> int:
    if argv[:1] == ["--app-child"]:
        return app_child(argv[2:])
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", type=Path, default=DEFAULT_MODEL)
    p.add_argument("--runs", type=int, default=5)
    args = p.parse_args(argv)
    if args.runs < 5:
        p.error("--runs must be at least 5")
    with tempfile.TemporaryDirectory(prefix="attnscope-startup-") as scratch:
        settings = str(Path(scratch) / "settings")
        spawn(
            [
                str(Path(__file__).resolve()),
                "--app-child",
                "--",
                "--model",
                str(args.model),
                "--settings-dir",
                settings,
                "--source",
                SOURCE,
            ]
        )  # an earlier start: the measured ones come back to its inputs
        rounds = [one_round(args.model, settings, scratch) for _ in range(args.runs)]
    print(f"model={args.model}")
    print(f"runs={args.runs}")
    for name in rounds[0]:
        values = [r[name] for r in rounds]
        if name == "torch_at_window_paint":
            print(f"{name}={any(values)}")
            continue
        digits = 1 if name.endswith("_mib") else 3
        print(f"{name}={statistics.median(values):.{digits}f}")
        if name.endswith("_ratio") or name.endswith("_s"):
            print(f"{name}_range={min(values):.{digits}f}..{max(values):.{digits}f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
