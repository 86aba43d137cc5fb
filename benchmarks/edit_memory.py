"""Does the window's memory stay flat while a user edits? RSS over many edits after a warm-up.

    python benchmarks/edit_memory.py [--model PATH] [--edits 1000] [--warmup 200] [--why] [--trace]

The app's own window (create_window, 1600×1000, offscreen unless QT_QPA_PLATFORM says otherwise) on the model
(default: the shipped en→hi model).  An edit puts a new sentence in the source editor (5 to 40 words of the demo
vocabulary, in turn: every label and the plot's layout change) and, without waiting for the typing pause, decodes
it; the edit ends when the decode is drawn, the panels beside the heatmap are filled and the window is quiet.

rss_growth_kib_per_edit: the slope of a least-squares line through the process's RSS, sampled every 50 edits
after the warm-up (target ≤ 1); rss_after_warmup_mib and rss_end_mib: the first and last samples.  With --why,
also what grew between the first and the last sample: Python objects by type (gc), Qt objects under the window
and app-wide widgets; with --trace, tracemalloc's top allocation sites (tracemalloc's own bookkeeping then
inflates the RSS figure).
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import tempfile
import time
import tracemalloc
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # as main.py sets it for the app

import numpy as np  # noqa: E402
from PySide6.QtCore import QEvent, QEventLoop, QObject, QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from gui.app import DEFAULT_MODEL, create_window  # noqa: E402
from gui.window.main_window import MainWindow  # noqa: E402

SENTENCE = (  # in the en→hi demo vocabulary
    "please turn off the lights in the kitchen and then close the small cupboard after lunch "
    "then heat the tea and find the shoes in the room and lock the drawer today and cook all the rice "
    "at six then turn on the computer and find that towel and close the door"
)
WORDS = SENTENCE.split()
LENGTHS = (5, 12, 40, 8, 25)
SAMPLE_EVERY = 50
QUIET_S = 0.05
TIMEOUT_S = 60.0


def rss_kib() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024


def run_until(app: QApplication, done: object, timeout_s: float = TIMEOUT_S) -> None:
    deadline = time.monotonic() + timeout_s
    while not done():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise TimeoutError("the window did not get there in time")
        app.processEvents(QEventLoop.ProcessEventsFlag.WaitForMoreEvents)


class Editor:
    """Edits the window's source and waits until the decode is drawn and the window is quiet."""

    def __init__(self, app: QApplication, window: MainWindow) -> None:
        self.app, self.window = app, window
        self.finished = 0
        window.flow.finished.connect(self._on_finished)
        self._wake = QTimer()  # processEvents sleeps while idle: wake it to notice quiet
        self._wake.start(10)

    def _on_finished(self, _result: object) -> None:
        self.finished += 1

    def edit(self, n: int) -> None:
        length = LENGTHS[n % len(LENGTHS)]
        start = n % len(WORDS)
        text = " ".join((WORDS[start:] + WORDS)[:length])
        panel = self.window.source_panel
        panel.source_edit.setPlainText(text)
        panel.cancel_pending()
        before = self.finished
        panel.edited.emit()
        run_until(self.app, lambda: self.finished > before)
        quiet = time.monotonic() + QUIET_S
        run_until(self.app, lambda: time.monotonic() > quiet)


def census(window: MainWindow) -> tuple[Counter[str], Counter[str]]:
    """(Python objects by type name, Qt objects under the window by class name)."""
    gc.collect()
    python = Counter(type(o).__name__ for o in gc.get_objects())
    qt = Counter(type(o).__name__ for o in window.findChildren(QObject))
    qt.update(f"app-wide {type(w).__name__}" for w in QApplication.allWidgets())
    return python, qt


def grown(before: Counter[str], after: Counter[str], top: int = 12) -> str:
    diff = [(name, after[name] - before[name]) for name in after | before if after[name] != before[name]]
    diff.sort(key=lambda pair: -abs(pair[1]))
    return ", ".join(f"{name}{count:+d}" for name, count in diff[:top]) or "nothing"


def measure(app: QApplication, window: MainWindow, edits: int, warmup: int, why: bool, trace: bool) -> None:
    editor = Editor(app, window)
    for n in range(warmup):
        editor.edit(n)
    if trace:
        tracemalloc.start(12)
    first = census(window) if why else None
    first_snapshot = tracemalloc.take_snapshot() if trace else None
    samples: list[tuple[int, int]] = [(0, rss_kib())]
    for n in range(1, edits + 1):
        editor.edit(warmup + n)
        if n % SAMPLE_EVERY == 0:
            gc.collect()
            samples.append((n, rss_kib()))
    x, y = np.array(samples, dtype=float).T
    report(
        {
            "edits": edits,
            "warmup_edits": warmup,
            "rss_after_warmup_mib": f"{samples[0][1] / 1024:.1f}",
            "rss_end_mib": f"{samples[-1][1] / 1024:.1f}",
            "rss_growth_kib_per_edit": f"{float(np.polyfit(x, y, 1)[0]):.2f}",
        }
    )
    if first is not None:
        python, qt = census(window)
        report(
            {
                "rss_samples_mib": " ".join(f"{kib / 1024:.1f}" for _, kib in samples),
                "python_objects_grown": grown(first[0], python),
                "qt_objects_grown": grown(first[1], qt),
            }
        )
    if first_snapshot is not None:
        for stat in tracemalloc.take_snapshot().compare_to(first_snapshot, "traceback")[:5]:
            print(f"# {stat.size_diff / 1024:+.0f} KiB in {stat.count_diff:+d} blocks at:", flush=True)
            for line in stat.traceback.format()[-8:]:
                print(f"#   {line}", flush=True)


def report(figures: dict[str, object]) -> None:
    for key, value in figures.items():
        print(f"{key}={value}", flush=True)


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", type=Path, default=DEFAULT_MODEL)
    p.add_argument("--edits", type=int, default=1000)
    p.add_argument("--warmup", type=int, default=200)
    p.add_argument("--why", action="store_true", help="also say what grew: objects by type, the RSS samples")
    p.add_argument("--trace", action="store_true", help="and where (tracemalloc: slower, and its own memory grows)")
    args = p.parse_args(argv)
    app = QApplication.instance() or QApplication([])
    assert isinstance(app, QApplication)
    with tempfile.TemporaryDirectory(prefix="attnscope-bench-") as settings:
        window = create_window(settings, args.model, " ".join(WORDS[:5]))
        window.resize(1600, 1000)
        window.show()
        run_until(app, lambda: window.flow.result is not None)
        try:
            report({"model": args.model})
            measure(app, window, args.edits, args.warmup, args.why, args.trace)
        finally:
            window.close()
            window.deleteLater()
            app.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
