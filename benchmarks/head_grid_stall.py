"""Does the Heads grid stall the window? Event-loop stalls while a 6-layer, 8-head Marian model streams 200 steps.

    python benchmarks/head_grid_stall.py [--repeats 5] [--d-model 512] [--vocab 8000]

The model: a Marian-shaped Hugging Face model with random weights (6+6 layers, 8 heads, d_model 512, a word-level
vocabulary of 8000), made with transformers and saved with save_pretrained to a temporary folder (nothing is
downloaded), opened in the app's own window (create_window, 1600×1000, offscreen unless QT_QPA_PLATFORM says
otherwise).  The decode: forced through a 199-word reference (200 steps with <eos>) over a 50-token source,
per-step delay 0: the fastest stream there is, every step's 6 × 8 heads into the grid.

A stall is a gap between the ticks of a 5 ms timer on the GUI thread (benchmarks/gui_latency.py's method), from
submit until the window is quiet again.  head_grid_max_stall_ms: the median over the repeats of each run's longest
gap (target < 16.7 ms, one frame at 60 Hz), head_grid_max_stall_ms_worst_run the worst run's, head_grid_p99_stall_ms
the median of the runs' 99th percentiles; head_grid_stream_max_stall_ms the same as the first, but only while the
steps stream (up to the last run of steps handled: the finished decode's own slots, the views it fills, after).
"grid": the Heads dock shown, as the window shows a transformer; "baseline": the same decode with the Heads dock
hidden (the grid then keeps its data but paints nothing).  In both the context-vector and anatomy docks, which share
the Heads dock's tabs, are closed, so the grid is the only difference.  The runs alternate; head_grid_stall_ratio is
the median of each pair's grid / baseline longest gaps.  "idle": after each pair, the window with nothing to do for
as long as the decode took: the stalls the machine alone makes (other processes on its cores, the OS), the floor
under both.  *_gui_cpu_ms: the GUI thread's CPU time over a run (which the machine's other load disturbs far less
than the gaps).

Where the GUI thread's time goes, in its CPU time per call over the grid runs (median and largest):
head_grid_paint (one paint of the whole grid), head_grid_append (a run of steps into the grid), window_steps (the
window's whole slot for a run of steps, the grid's part included), window_finished (its slot for the finished decode),
window_details (the views it fills a moment later: the context inspector, even while hidden, and the selected step).
gui_gc_max_pause_ms: the longest garbage collection on the GUI thread over all runs (grid and baseline);
gui_gc_full_collections_per_run: how many of them were full (generation 2) ones, per run.
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # as main.py sets it for the app, before numpy is imported

import numpy as np  # noqa: E402
from PySide6.QtCore import QEvent, qInstallMessageHandler  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from benchmarks.gui_latency import (  # noqa: E402
    STREAM_STEPS,
    Harness,
    force_decode,
    open_window,
    quiet_offscreen_warnings,
    report,
    tick_times,
    wait_until,
)
from benchmarks.transformer_step import marian_folder  # noqa: E402
from gui.matrix.head_grid import HeadGrid  # noqa: E402
from gui.panels.heads_panel import HeadsPanel  # noqa: E402
from gui.window.main_window import MainWindow  # noqa: E402

SOURCE_WORDS = 49  # + </s>: 50 source tokens
TARGET_MS = 16.7
SWITCH_S = 0.3  # after showing or hiding the dock: its layout and paints settle before the next run


class CallTimes:
    """The GUI thread's CPU time in each call of some methods; patched on their classes before the window is made
    (PySide looks an override such as paintEvent up once per class)."""

    def __init__(self) -> None:
        self.calls: dict[str, list[float]] = defaultdict(list)
        self.on = False
        self.runs = 1  # the figures are per call, and the number of calls per run

    def wrap(self, cls: type, name: str, key: str) -> None:
        original: Callable[..., Any] = getattr(cls, name)

        def timed(obj: object, *args: object) -> Any:
            start = time.thread_time()
            try:
                return original(obj, *args)
            finally:
                if self.on:
                    self.calls[key].append(time.thread_time() - start)

        setattr(cls, name, timed)

    def figures(self) -> dict[str, str]:
        out = {}
        for key, times in self.calls.items():
            out[f"{key}_cpu_ms_median"] = f"{statistics.median(times) * 1e3:.2f}"
            out[f"{key}_cpu_ms_max"] = f"{max(times) * 1e3:.2f}"
            out[f"{key}_calls_per_run"] = f"{len(times) / self.runs:.0f}"
        return out


def instrument() -> CallTimes:
    times = CallTimes()
    times.wrap(HeadGrid, "paintEvent", "head_grid_paint")
    times.wrap(HeadsPanel, "append_steps", "head_grid_append")
    times.wrap(MainWindow, "_on_steps", "window_steps")
    times.wrap(MainWindow, "_on_finished", "window_finished")
    times.wrap(MainWindow, "_show_details", "window_details")
    return times


class Collections:
    """The garbage collector's pauses on the GUI thread while `on` (a full collection scans every object the
    process holds: torch's and transformers' too)."""

    def __init__(self) -> None:
        self.pauses: list[tuple[int, float]] = []  # (generation, seconds)
        self.on = False
        self._thread = threading.get_ident()
        self._start = 0.0
        gc.callbacks.append(self._note)

    def _note(self, phase: str, info: dict[str, int]) -> None:
        if not self.on or threading.get_ident() != self._thread:
            return
        if phase == "start":
            self._start = time.perf_counter()
        else:
            self.pauses.append((info["generation"], time.perf_counter() - self._start))

    def figures(self, runs: int) -> dict[str, str]:
        longest = max((d for _, d in self.pauses), default=0.0)
        full = sum(1 for g, _ in self.pauses if g == 2)
        return {"gui_gc_max_pause_ms": f"{longest * 1e3:.1f}", "gui_gc_full_collections_per_run": f"{full / runs:.2f}"}


class Run:
    """One decode's ticks, the end of its last run of steps handled, and the GUI thread's CPU time over it."""

    def __init__(self, ticks: np.ndarray, streamed_until: float, cpu: float) -> None:
        self.gaps, self.cpu = np.diff(ticks), cpu
        self.stream_gaps = np.diff(ticks[ticks <= streamed_until])


def show_grid(harness: Harness, shown: bool) -> None:
    """The Heads dock shown (and in front) or hidden; the window settles before the next run."""
    dock = harness.window.docks[5]
    dock.setVisible(shown)
    if shown:
        dock.raise_()
    settled = time.perf_counter()
    wait_until(harness.app, lambda: time.perf_counter() - settled > SWITCH_S)


def measure(harness: Harness, times: CallTimes, collections: Collections, repeats: int) -> dict[str, list[Run]]:
    """Grid and baseline runs alternating, after a warm-up of each."""
    window = harness.window
    for dock in (window.docks[2], window.docks[4]):  # the inspector's and the anatomy's tabs: closed in both runs
        dock.hide()
    source = " ".join(f"w{(7 * i) % 997}" for i in range(SOURCE_WORDS))
    target = " ".join(f"w{(11 * i + 3) % 997}" for i in range(STREAM_STEPS - 1))
    force_decode(window, source, target)
    streamed: list[float] = []
    window.flow.steps.connect(lambda _run: streamed.append(time.perf_counter()))  # after the window's own slot
    runs: dict[str, list[Run]] = {"grid": [], "baseline": [], "idle": []}
    for k in range(repeats + 1):
        for kind, shown in (("grid", True), ("baseline", False)):
            show_grid(harness, shown)
            times.on, collections.on = k > 0 and shown, k > 0
            ticks = harness.stream_ticks()
            if k > 0:  # the first of each: warm-up
                runs[kind].append(Run(ticks, streamed[-1], harness.gui_cpu))
        collections.on = False
        if k > 0:
            runs["idle"].append(idle_run(harness, float(ticks[-1] - ticks[0])))  # as long as the last decode took
    times.on, collections.on, times.runs = False, False, repeats
    if window.heads.grid.layout_shape != (6, 8):
        raise RuntimeError(f"the grid shows {window.heads.grid.layout_shape} heads, not 6 × 8")
    return runs


def idle_run(harness: Harness, seconds: float) -> Run:
    """The window with nothing to do for `seconds`: the stalls the machine alone makes (other processes, the OS)."""
    cpu, start = time.thread_time(), time.perf_counter()
    ticks = tick_times(lambda: wait_until(harness.app, lambda: time.perf_counter() - start > seconds))
    return Run(ticks, float(ticks[-1]), time.thread_time() - cpu)


def stall_figures(prefix: str, runs: list[Run]) -> dict[str, str]:
    longest = [float(np.max(r.gaps)) for r in runs]
    return {
        f"{prefix}_max_stall_ms": f"{statistics.median(longest) * 1e3:.1f}",
        f"{prefix}_max_stall_ms_worst_run": f"{max(longest) * 1e3:.1f}",
        f"{prefix}_p99_stall_ms": f"{statistics.median(float(np.percentile(r.gaps, 99)) for r in runs) * 1e3:.1f}",
        f"{prefix}_stream_max_stall_ms": f"{statistics.median(float(np.max(r.stream_gaps)) for r in runs) * 1e3:.1f}",
        f"{prefix}_gui_cpu_ms": f"{statistics.median(r.cpu for r in runs) * 1e3:.0f}",
    }


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--d-model", type=int, default=512)
    p.add_argument("--vocab", type=int, default=8000)
    args = p.parse_args(argv)
    qInstallMessageHandler(quiet_offscreen_warnings)
    app = QApplication.instance() or QApplication([])
    assert isinstance(app, QApplication)
    times, collections = instrument(), Collections()
    with tempfile.TemporaryDirectory(prefix="attnscope-bench-") as tmp:
        model = marian_folder(Path(tmp) / "marian", args.d_model, args.vocab)
        harness = open_window(app, model, str(Path(tmp) / "settings"), "w1 w2 w3")
        try:
            runs = measure(harness, times, collections, args.repeats)
            result = harness.result
        finally:
            harness.window.close()
            harness.window.deleteLater()
            app.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    assert result is not None
    grid, baseline = runs["grid"], runs["baseline"]
    ratios = [float(np.max(g.gaps) / np.max(b.gaps)) for g, b in zip(grid, baseline, strict=True)]
    report(
        {
            "model": f"marian-shaped, random weights, 6+6 layers, 8 heads, d_model {args.d_model}, vocab {args.vocab}",
            "platform": QApplication.platformName(),
            "stream_steps": STREAM_STEPS,
            "source_tokens": len(result.source_tokens),
            "engine_step_ms": f"{result.seconds / len(result.output_tokens) * 1e3:.1f}",
            **stall_figures("head_grid", grid),
            **stall_figures("baseline", baseline),
            **stall_figures("idle", runs["idle"]),
            "head_grid_stall_ratio": f"{statistics.median(ratios):.2f}",
            "target_ms": TARGET_MS,
            **times.figures(),
            **collections.figures(2 * args.repeats),
        }
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
