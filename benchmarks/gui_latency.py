"""How quickly does the window answer? Edit-to-heatmap latency, event-loop stalls, heatmap vs matplotlib.

    python benchmarks/gui_latency.py [--model PATH] [--repeats 15]

The model: --model, else the shipped resources/models/en_hi_bahdanau.safetensors.  The window is the app's
own (create_window), 1600×1000, offscreen unless QT_QPA_PLATFORM says otherwise.

edit_to_heatmap_ms_N: from the end of the typing pause (the source panel's debounce firing: `edited`) to the
end of the first paint of the heatmap view that shows every row of the result (rows that streamed in before
the result count: the picture is final then).  Before it, the editor gets the new text (setPlainText, as
typing's last keystroke would) and the window runs until it has painted it, as it does during the 300 ms
pause; the pause itself is not counted.  The span includes the engine's decode on the engine thread and
every streamed step the window handles (the per-step delay is 0).  edit_to_settled_ms_N: to the last paint
of any plot (the panels beside the heatmap included), 150 ms of quiet ending the wait.  gui_thread_cpu_ms_N:
CPU time of the GUI thread over the same span, which background load disturbs far less than wall-clock time.
engine_decode_ms_N: InferenceSession.run of the same text in this process, on the same device with the same
intra-op thread count (the engine's: 1), interleaved with the window runs.  N = source words.
edit_to_heatmap_ratio: the worse of the two inputs' window/engine ratios (target ≤ 1.5), each the median of
the edits' own ratios: an edit's window time over the engine decode that ran right after it (a shared VM's
speed drifts by tens of percent within a run; a pair sees the same speed);
edit_to_heatmap_ratio_input says which.  window_overhead_ms_N: the median of the same pairs' differences (window
minus engine): what the window adds, which hardly depends on N (the ratio of a short input is mostly this).
Each edit replaces the whole text (10 words, then 50, in turn), so
every label and the plot's layout change each time: the worst case.  edit_to_heatmap_ms_typing and
edit_to_heatmap_ratio_typing: the same for edits that change one word of a 10-word sentence (back and forth),
as typing mostly does; for information, not the target.

max_stall_ms: the longest gap between the ticks of a 5 ms timer on the GUI thread while a 200-step decode
streams (forced decoding of a 199-token reference plus <eos>, delay 0: the fastest stream there is), from
submit until the window is quiet again; the median over the repeats of each run's longest gap (target < 50),
and the worst run.

p99_stall_ms_long: the same timer while a long input streams: a 500-word source forced through a 499-token
reference plus <eos> (500 steps); the lateness of each tick (its gap minus the 5 ms asked for), pooled over
the runs, at the 99th percentile (target < 16.7: no frame missed); max_stall_ms_long, the worst tick.

heatmap_ms: HeatmapWidget.set_result with a new 300×300 result (new labels too) plus a synchronous render of
the plot (grab); matplotlib_ms: the tutorial way on Agg at the same pixel size: ax.imshow, token tick labels
on both axes, a colour bar, fig.canvas.draw; matplotlib_set_data_ms: its fastest update (set_data + draw).
heatmap_speedup_vs_matplotlib = matplotlib_ms / heatmap_ms (target ≥ 10).

Every figure is a median over the repeats, wall-clock unless said otherwise: on a loaded machine the spread
is wide.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # as main.py sets it for the app

import numpy as np  # noqa: E402
import pyqtgraph as pg  # noqa: E402
from PySide6.QtCore import QEvent, QEventLoop, QMessageLogContext, Qt, QTimer, QtMsgType, qInstallMessageHandler  # noqa: E402
from PySide6.QtGui import QPaintEvent  # noqa: E402
from PySide6.QtWidgets import QApplication, QWidget  # noqa: E402

from engine import (
    DecodeRequest,
    DecodeResult,  # noqa: E402
    InferenceSession,  # noqa: E402
)
from gui.app import DEFAULT_MODEL, create_window  # noqa: E402
from gui.matrix.heatmap import HeatmapWidget  # noqa: E402
from gui.window.main_window import MainWindow  # noqa: E402
from tests.fakes import fake_result  # noqa: E402

SENTENCE = (  # in the en→hi demo vocabulary
    "please turn off the lights in the kitchen and then close the small cupboard after lunch "
    "then heat the tea and find the shoes in the room and lock the drawer today and cook all the rice "
    "at six then turn on the computer and find that towel and close the door"
)
WORDS = SENTENCE.split()
INPUTS = {10: " ".join(WORDS[:10]), 50: " ".join(WORDS[:50])}
TYPED = (INPUTS[10], INPUTS[10].replace("kitchen", "room"))  # one word changed, as typing mostly does
STREAM_STEPS = 200
LONG_SOURCE = " ".join(WORDS * 10)  # 500 words
LONG_STEPS = 500
TICK_MS = 5
WAKE_MS = 10
TYPED_S = 0.05  # of the typing pause, for the editor to show the new text (the pause's end is then simulated)
QUIET_S = 0.15  # no plot has painted for this long after the decode finished: the window has settled
TIMEOUT_S = 60.0
MATRIX = 300
WIDGET_PX = (1400, 1000)


class PaintClock:
    """When pyqtgraph views finished their paints: wraps GraphicsView.paintEvent (a paint's end sends no event).

    Install before the views are made (PySide looks the override up once per class).
    """

    def __init__(self) -> None:
        self.ends: list[tuple[int, float, object]] = []  # (id of the view, perf_counter after the paint, probe())
        self._probes: dict[int, Callable[[], object]] = {}
        original = pg.GraphicsView.paintEvent

        def paint_event(view: pg.GraphicsView, event: QPaintEvent) -> None:
            original(view, event)
            probe = self._probes.get(id(view))
            self.ends.append((id(view), time.perf_counter(), probe() if probe is not None else None))

        pg.GraphicsView.paintEvent = paint_event

    def watch(self, view: QWidget, probe: Callable[[], object]) -> None:
        """Note probe() (what the view showed) with each of its paints."""
        self._probes[id(view)] = probe

    def first_showing(self, view: QWidget, shown: object) -> float | None:
        """When the view first finished a paint with probe() == shown."""
        return next((t for v, t, seen in self.ends if v == id(view) and seen == shown), None)

    def last(self) -> float:
        return self.ends[-1][1] if self.ends else 0.0


def wait_until(app: QApplication, done: Callable[[], bool], timeout_s: float = TIMEOUT_S) -> None:
    """Run the event loop (sleeping while idle, as app.exec would) until `done()`."""
    deadline = time.perf_counter() + timeout_s
    while not done():
        if time.perf_counter() > deadline:
            raise TimeoutError("the window did not get there in time")
        app.processEvents(QEventLoop.ProcessEventsFlag.WaitForMoreEvents)


class Harness:
    """A real main window on the model, with the animation off (no per-step delay)."""

    def __init__(self, app: QApplication, window: MainWindow, clock: PaintClock) -> None:
        self.app, self.window, self.clock = app, window, clock
        self.result: DecodeResult | None = None
        self.finished_at = 0.0
        self.gui_cpu = 0.0
        window.flow.finished.connect(self._on_finished)  # after the window's own slots
        clock.watch(window.heatmap.graphics_view(), lambda: window.heatmap.image_data().shape)
        self._wake = QTimer()  # wait_until sleeps between events: wake it to notice quiet, or a failed decode
        self._wake.start(WAKE_MS)

    def _on_finished(self, result: DecodeResult) -> None:
        self.result, self.finished_at = result, time.perf_counter()

    def run(self, submit: Callable[[], object]) -> tuple[float, float]:
        """(seconds to the first paint of the heatmap with every row of the result, seconds to the window settled).

        Rows streamed before the result count: once all are in, the picture is final.

        Also keeps `gui_cpu`: the CPU seconds the GUI thread spent on it, which background load disturbs
        far less than wall-clock time.
        """
        self.result, self.clock.ends = None, []
        cpu, start = time.thread_time(), time.perf_counter()
        submit()
        wait_until(self.app, lambda: self.result is not None and self._drawn() is not None)
        drawn = self._drawn()
        assert drawn is not None
        wait_until(self.app, lambda: time.perf_counter() - max(self.clock.last(), self.finished_at) > QUIET_S)
        self.gui_cpu = time.thread_time() - cpu
        return drawn - start, max(self.clock.last(), self.finished_at) - start

    def _drawn(self) -> float | None:
        assert self.result is not None
        shape = (len(self.result.output_tokens), len(self.result.source_tokens))
        return self.clock.first_showing(self.window.heatmap.graphics_view(), shape)

    def edit(self, text: str) -> tuple[float, float]:
        """From the typing pause's end to the final heatmap painted, and to quiet (see the module's docstring)."""
        panel = self.window.source_panel
        panel.source_edit.setPlainText(text)  # starts the debounce (300 ms)
        typed = time.perf_counter()
        wait_until(self.app, lambda: time.perf_counter() - typed > TYPED_S)  # the editor paints the new text
        panel.cancel_pending()
        times = self.run(panel.edited.emit)
        assert self.result is not None
        check_rows(self.window, self.result, text)
        return times

    def stream(self, steps: int = 0) -> list[float]:
        """The gaps (seconds) between 5 ms ticks from submitting one decode until the window is quiet again;
        `steps`: how many the decode must make (0: the short stream's)."""
        return list(np.diff(self.stream_ticks(steps)))

    def stream_ticks(self, steps: int = 0) -> np.ndarray:
        """When (perf_counter seconds) a 5 ms timer ticked, from submitting a decode of `steps` steps (0: the short
        stream's) until quiet."""
        steps = steps or STREAM_STEPS
        ticks = tick_times(lambda: self.run(self.window.decode_now))
        assert self.result is not None
        if len(self.result.output_tokens) != steps:
            raise RuntimeError(f"expected {steps} steps, the decode made {len(self.result.output_tokens)}")
        return ticks


def tick_times(run: Callable[[], object]) -> np.ndarray:
    """When (perf_counter seconds) a 5 ms timer on the GUI thread ticked while `run()` ran the event loop."""
    ticks: list[float] = []
    timer = QTimer()
    timer.setTimerType(Qt.TimerType.PreciseTimer)
    timer.timeout.connect(lambda: ticks.append(time.perf_counter()))
    timer.start(TICK_MS)
    ticks.append(time.perf_counter())
    run()
    ticks.append(time.perf_counter())
    timer.stop()
    return np.array(ticks)


def check_rows(window: MainWindow, result: DecodeResult, text: str) -> None:
    if list(result.source_tokens) != text.split():
        raise RuntimeError("the window showed a decode of another text")
    rows = window.heatmap.image_data().shape[0]
    if rows != len(result.output_tokens):
        raise RuntimeError(f"the heatmap shows {rows} of {len(result.output_tokens)} rows")


def open_window(app: QApplication, model: Path, settings_dir: str, source: str = INPUTS[10]) -> Harness:
    """The window as the app opens it, its first decode shown."""
    clock = PaintClock()
    window = create_window(settings_dir, model, source)
    window.resize(1600, 1000)
    window.transport.set_delay_seconds(0.0)
    harness = Harness(app, window, clock)
    harness.run(window.show)
    return harness


def bare_decode(session: InferenceSession, text: str) -> float:
    start = time.perf_counter()
    session.run(DecodeRequest(1, text))
    return time.perf_counter() - start


def measure_edits(harness: Harness, session: InferenceSession, repeats: int) -> dict[str, list[float]]:
    """Interleaved: the window and the bare engine see the same background load; the times of each edit."""
    kinds = ("gui", "settled", "gui_cpu", "engine")
    times: dict[str, list[float]] = {f"{kind}_{n}": [] for n in INPUTS for kind in kinds}
    for text in INPUTS.values():  # warm-up: first-call costs (fonts, text layout, caches)
        harness.edit(text)
        bare_decode(session, text)
    for _ in range(repeats):
        for n, text in INPUTS.items():
            drawn, settled = harness.edit(text)
            times[f"gui_{n}"].append(drawn)
            times[f"settled_{n}"].append(settled)
            times[f"gui_cpu_{n}"].append(harness.gui_cpu)
            times[f"engine_{n}"].append(bare_decode(session, text))
    return times


def paired_ratio(window: list[float], engine: list[float]) -> float:
    """The median of each edit's window time over its engine decode (run right after it, at the same speed)."""
    return statistics.median(w / e for w, e in zip(window, engine, strict=True))


def paired_excess(window: list[float], engine: list[float]) -> float:
    """The median of each edit's window time minus its engine decode: the window's own cost, in seconds."""
    return statistics.median(w - e for w, e in zip(window, engine, strict=True))


def measure_typing(harness: Harness, session: InferenceSession, repeats: int) -> tuple[list[float], list[float]]:
    """(window, engine) seconds of each edit that changes one word of a 10-word sentence."""
    window, engine = [], []
    for text in TYPED:  # warm-up
        harness.edit(text)
    for k in range(repeats):
        text = TYPED[k % 2]
        window.append(harness.edit(text)[0])
        engine.append(bare_decode(session, text))
    return window, engine


def stream_target(session: InferenceSession, source: str, steps: int = STREAM_STEPS) -> str:
    """A reference of `steps` - 1 in-vocabulary words: the model's own translation, repeated."""
    words = [t for t in session.run(DecodeRequest(1, source)).output_tokens if t != "<eos>"]
    return " ".join((words * (steps // max(len(words), 1) + 1))[: steps - 1])


def force_decode(window: MainWindow, source: str, target: str) -> None:
    """The next decode_now forces `target` (its tokens plus <eos>: a known number of steps) on `source`."""
    window.source_panel.set_texts(source, target)
    window.controls.blockSignals(True)  # decode_now starts each run
    window.controls.set_strategy("forced")
    window.controls.blockSignals(False)


def measure_stalls(
    harness: Harness, session: InferenceSession, repeats: int, source: str, steps: int = STREAM_STEPS
) -> list[list[float]]:
    """Each run's tick gaps while forced decoding streams `steps` steps of `source`."""
    force_decode(harness.window, source, stream_target(session, source, steps))
    harness.stream(steps)  # warm-up
    gaps = [harness.stream(steps) for _ in range(repeats)]
    result = harness.result
    if result is None or len(result.source_tokens) != len(source.split()):
        raise RuntimeError("the long decode did not read its whole source (max_source_tokens too low?)")
    return gaps


# -- heatmap against matplotlib ---------------------------------------------------------------------
def big_results() -> list[DecodeResult]:
    """Two 300×300 decodes with different numbers and labels, so every update changes everything."""
    return [
        fake_result(
            source=[f"{prefix}src{i}" for i in range(MATRIX)],
            output=[f"{prefix}out{i}" for i in range(MATRIX)],
            hidden=8,
            seed=seed,
        )
        for seed, prefix in enumerate(("a", "b"))
    ]


def time_heatmap(results: list[DecodeResult], repeats: int) -> float:
    widget = HeatmapWidget()
    widget.resize(*WIDGET_PX)
    widget.show()
    view = widget.graphics_view()
    times = []
    try:
        for k in range(repeats + 1):
            start = time.perf_counter()
            widget.set_result(results[k % 2])
            view.grab()  # a full synchronous render of the plot, axes and labels
            times.append(time.perf_counter() - start)
    finally:
        widget.teardown()
        widget.deleteLater()
    return statistics.median(times[1:])


def time_matplotlib(results: list[DecodeResult], repeats: int) -> tuple[float, float] | None:
    """(tutorial imshow + labels + draw, set_data + draw) in seconds; None without matplotlib."""
    try:
        import matplotlib
    except ImportError:
        return None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(WIDGET_PX[0] / 100, WIDGET_PX[1] / 100), dpi=100)
    cax = fig.add_axes((0.92, 0.1, 0.02, 0.8))
    ticks = np.arange(MATRIX)

    def tutorial(result: DecodeResult) -> None:
        ax.clear()
        cax.clear()
        assert result.alpha is not None  # the benchmark's model has attention
        image = ax.imshow(result.alpha, cmap="inferno", vmin=0.0, vmax=1.0, aspect="auto")
        ax.set_xticks(ticks, labels=result.source_tokens, rotation=90)
        ax.set_yticks(ticks, labels=result.output_tokens)
        fig.colorbar(image, cax=cax)
        fig.canvas.draw()

    def set_data(result: DecodeResult) -> None:
        ax.images[0].set_data(result.alpha)  # the labels stay: the fastest matplotlib update there is
        fig.canvas.draw()

    try:
        tutorial_times = timed_runs(lambda k: tutorial(results[k % 2]), repeats)
        set_data_times = timed_runs(lambda k: set_data(results[k % 2]), repeats)
    finally:
        plt.close(fig)
    return statistics.median(tutorial_times), statistics.median(set_data_times)


def timed_runs(run: Callable[[int], None], repeats: int) -> list[float]:
    times = []
    for k in range(repeats + 1):
        start = time.perf_counter()
        run(k)
        times.append(time.perf_counter() - start)
    return times[1:]  # the first: warm-up


# -- main -----------------------------------------------------------------------------------------
def resolve_model(option: Path | None) -> Path | None:
    """--model when given, else the shipped model; None when neither exists."""
    path = option or DEFAULT_MODEL
    return path if path.is_file() else None


def report(figures: dict[str, object]) -> None:
    for key, value in figures.items():
        print(f"{key}={value}", flush=True)


def quiet_offscreen_warnings(kind: QtMsgType, context: QMessageLogContext, message: str) -> None:
    """Qt's messages to stderr, less the offscreen platform's note on every window it shows."""
    if "does not support propagateSizeHints" not in message:
        print(message, file=sys.stderr)


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", type=Path, help=f"model file (default: {DEFAULT_MODEL})")
    p.add_argument("--repeats", type=int, default=15)
    args = p.parse_args(argv)
    model = resolve_model(args.model)
    if model is None:
        print(f"error: no model at {args.model or DEFAULT_MODEL}; pass --model PATH", file=sys.stderr)
        return 2
    qInstallMessageHandler(quiet_offscreen_warnings)
    app = QApplication.instance() or QApplication([])
    assert isinstance(app, QApplication)
    with tempfile.TemporaryDirectory(prefix="attnscope-bench-") as settings_dir:
        harness = open_window(app, model, settings_dir)
        try:
            run_window_figures(harness, model, args.repeats)
        finally:
            harness.window.close()
            harness.window.deleteLater()
            app.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    run_heatmap_figures(args.repeats)
    return 0


def run_window_figures(harness: Harness, model: Path, repeats: int) -> None:
    info = harness.window.controller.model_info
    session = InferenceSession.open(model, info.device if info is not None else "cpu")
    report({"model": model, "device": session.device, "threads": session.threads, "platform": app_platform()})
    edits = measure_edits(harness, session, repeats)
    ratios = {n: paired_ratio(edits[f"gui_{n}"], edits[f"engine_{n}"]) for n in INPUTS}
    ms = {key: f"{statistics.median(values) * 1e3:.1f}" for key, values in edits.items()}
    for n in INPUTS:
        report({f"edit_to_heatmap_ms_{n}": ms[f"gui_{n}"], f"engine_decode_ms_{n}": ms[f"engine_{n}"]})
        report({f"edit_to_heatmap_ratio_{n}": f"{ratios[n]:.2f}"})
        report({f"window_overhead_ms_{n}": f"{paired_excess(edits[f'gui_{n}'], edits[f'engine_{n}']) * 1e3:.1f}"})
        report({f"edit_to_settled_ms_{n}": ms[f"settled_{n}"], f"gui_thread_cpu_ms_{n}": ms[f"gui_cpu_{n}"]})
    worst = max(ratios, key=lambda n: ratios[n])
    report({"edit_to_heatmap_ratio": f"{ratios[worst]:.2f}", "edit_to_heatmap_ratio_input": f"{worst}_words"})
    typed, typed_engine = measure_typing(harness, session, repeats)
    report(
        {
            "edit_to_heatmap_ms_typing": f"{statistics.median(typed) * 1e3:.1f}",
            "engine_decode_ms_typing": f"{statistics.median(typed_engine) * 1e3:.1f}",
            "edit_to_heatmap_ratio_typing": f"{paired_ratio(typed, typed_engine):.2f}",
        }
    )
    stalls = [max(gaps) for gaps in measure_stalls(harness, session, repeats, INPUTS[50])]
    report(
        {
            "stream_steps": STREAM_STEPS,
            "max_stall_ms": f"{statistics.median(stalls) * 1e3:.1f}",
            "max_stall_ms_worst_run": f"{max(stalls) * 1e3:.1f}",
        }
    )
    long_runs = measure_stalls(harness, session, max(3, repeats // 3), LONG_SOURCE, LONG_STEPS)
    lateness = np.concatenate([np.array(gaps) - TICK_MS / 1000 for gaps in long_runs]) * 1e3
    report(
        {
            "long_source_words": len(LONG_SOURCE.split()),
            "long_stream_steps": LONG_STEPS,
            "long_stream_s": f"{statistics.median(sum(gaps) for gaps in long_runs):.2f}",
            "p99_stall_ms_long": f"{np.percentile(lateness, 99):.1f}",
            "max_stall_ms_long": f"{lateness.max():.1f}",
        }
    )


def run_heatmap_figures(repeats: int) -> None:
    results = big_results()
    ours = time_heatmap(results, repeats)
    report({"heatmap_ms": f"{ours * 1e3:.1f}"})
    theirs = time_matplotlib(results, repeats)
    if theirs is None:
        print("note: matplotlib is not installed (pip install -e '.[dev]'); no matplotlib figures", flush=True)
        return
    tutorial, set_data = theirs
    report(
        {
            "matplotlib_ms": f"{tutorial * 1e3:.1f}",
            "matplotlib_set_data_ms": f"{set_data * 1e3:.1f}",
            "heatmap_speedup_vs_matplotlib": f"{tutorial / ours:.1f}",
        }
    )


def app_platform() -> str:
    return QApplication.platformName()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
