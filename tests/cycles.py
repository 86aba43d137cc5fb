"""Start and close the app again and again, each time in a fresh process, and say whether any start or exit failed.

    python -m tests.cycles [--n 20] [--model PATH]

Each run is `python main.py --model PATH --settings-dir DIR` (the same DIR every time: each start comes back to
what the one before saved), offscreen.  Odd runs close the window as soon as it has painted, while the model is
still loading on the engine thread; even runs close it once the first decode is drawn.  The window is closed as a
user closes it (the event loop then ends and the app cleans up); "as soon as it has painted" is 0.3 s after the
first paint, when the engine thread is importing torch.  A run passes when it exits with 0 within the
timeout and prints no traceback and no Qt warning about a thread destroyed while running.  CI runs five starts
(tests/test_gui_app.py); this is the long run.  Prints one line per run, then `runs=`, `clean=` and `failed=`.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEFAULT_MODEL = REPO / "resources" / "models" / "en_hi_bahdanau.safetensors"
TIMEOUT_S = 180
LOADING_MS = 300  # after the first paint: the engine thread is loading the model
BAD_SIGNS = ("Traceback", "QThread: Destroyed", "Fatal Python error", "Segmentation fault")


def child(close_after: str, app_args: list[str]) -> int:
    """The app through main.main, with the window closed after its first paint or its first decode."""
    from PySide6.QtCore import QEvent, QObject, QTimer

    import gui.app
    import main

    class Closer(QObject):
        def __init__(self, window: gui.app.MainWindow) -> None:
            super().__init__(window)
            self.window = window
            if close_after == "paint":
                window.installEventFilter(self)
            else:
                window.flow.finished.connect(self.close_soon)

        def eventFilter(self, watched: QObject, event: QEvent) -> bool:
            if event.type() == QEvent.Type.Paint:
                self.window.removeEventFilter(self)
                QTimer.singleShot(LOADING_MS, self.window, self.window.close)  # torch is being imported then
            return False

        def close_soon(self, *_: object) -> None:
            QTimer.singleShot(0, self.window, self.window.close)

    original = gui.app.create_window

    def with_closer(*args: object, **kwargs: object) -> gui.app.MainWindow:
        window = original(*args, **kwargs)  # type: ignore[arg-type]
        Closer(window)
        return window

    gui.app.create_window = with_closer  # type: ignore[assignment]
    return main.main(app_args)


def run_once(n: int, model: Path, settings: Path) -> tuple[bool, str]:
    close_after = "paint" if n % 2 else "decode"
    app_args = ["--model", str(model), "--settings-dir", str(settings)]
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": str(REPO)}
    start = time.monotonic()
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "tests.cycles", "--child", close_after, "--", *app_args],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=TIMEOUT_S,
        )
    except subprocess.TimeoutExpired:
        return False, f"run {n} (closed after its {close_after}): no exit within {TIMEOUT_S} s"
    seconds = time.monotonic() - start
    bad = [sign for sign in BAD_SIGNS if sign in proc.stderr]
    ok = proc.returncode == 0 and not bad
    line = f"run {n} (closed after its {close_after}): exit {proc.returncode} in {seconds:.1f} s"
    if not ok:
        line += f"; {', '.join(bad) or 'failed'}:\n{proc.stderr[-2000:]}"
    return ok, line


def main(argv: list[str]) -> int:
    if argv[:1] == ["--child"]:
        return child(argv[1], argv[3:])
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=20, help="runs, one after another")
    p.add_argument("--model", type=Path, default=DEFAULT_MODEL)
    args = p.parse_args(argv)
    failed = 0
    with tempfile.TemporaryDirectory(prefix="attnscope-cycles-") as scratch:
        for n in range(1, args.n + 1):
            ok, line = run_once(n, args.model, Path(scratch) / "settings")
            failed += not ok
            print(line, flush=True)
    print(f"runs={args.n}")
    print(f"clean={args.n - failed}")
    print(f"failed={failed}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
