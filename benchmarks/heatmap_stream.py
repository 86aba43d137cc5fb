"""How smooth is a 300×300 heatmap while steps stream in? Times flushes and full repaints.

    python benchmarks/heatmap_stream.py [N]     (default 300)

Steps arrive every 2 ms (faster than the 30 Hz repaint), so most are coalesced; the report
gives the number of repaints and the cost of one flush + paint of the full widget.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtWidgets import QApplication  # noqa: E402

from gui.matrix.heatmap import HeatmapWidget  # noqa: E402
from tests.fakes import fake_result, step_records  # noqa: E402


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 300
    app = QApplication.instance() or QApplication([])
    result = fake_result(source=[f"w{i}" for i in range(n)], output=[f"लाइट{i}" for i in range(n)], hidden=64)
    records = step_records(result)
    widget = HeatmapWidget()
    widget.resize(1400, 1000)
    widget.show()
    flushes: list[float] = []
    original = widget.flush

    def timed_flush() -> None:
        start = time.perf_counter()
        original()
        flushes.append(time.perf_counter() - start)

    widget._timer.timeout.disconnect()
    widget._timer.timeout.connect(timed_flush)
    widget.begin(result.source_tokens, n)
    start = time.perf_counter()
    for record in records:
        widget.append_steps([record])
        deadline = time.perf_counter() + 0.002
        while time.perf_counter() < deadline:
            app.processEvents()
    while widget._timer.isActive():
        app.processEvents()
    total = time.perf_counter() - start
    paint = time.perf_counter()
    widget.graphics_view().grab()
    paint = time.perf_counter() - paint
    print(
        f"{n} steps in {total:.2f} s, {len(flushes)} repaints, flush mean {1e3 * sum(flushes) / len(flushes):.1f} ms"
        f" max {1e3 * max(flushes):.1f} ms, full paint {1e3 * paint:.1f} ms"
    )
    widget.teardown()


if __name__ == "__main__":
    main()
