"""Screenshots of the plotting widgets with the fake en→hi decode, to look at by eye.

    python benchmarks/render_widgets.py [OUT_DIR]      (default /tmp/attnscope-look)

Writes one PNG per theme × zoom (heatmap, context inspector and top-k side by side), a
transposed/scores variant, a 60×60 and a 300×300 heatmap, and the heatmap exported as SVG.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtWidgets import QApplication, QHBoxLayout, QWidget  # noqa: E402

from gui.export.render import render_result  # noqa: E402
from gui.matrix.heatmap import HeatmapWidget  # noqa: E402
from gui.panels.context_view import ContextInspector  # noqa: E402
from gui.panels.topk_view import TopKPanel  # noqa: E402
from gui.style.theme import apply_theme  # noqa: E402
from tests.fakes import fake_result  # noqa: E402

WORDS = ["turn", "off", "the", "lights", "please", "in", "kitchen", "now"]
HINDI = ["लाइट", "बंद", "करो", "कृपया", "रसोई", "में", "अभी", "क्षत्रिय"]


def panel_shot(app: QApplication, out: Path, theme: str, zoom: float, fixed: bool = False) -> None:
    apply_theme(app, theme, zoom)
    result = fake_result(fixed_context=fixed)
    window = QWidget()
    layout = QHBoxLayout(window)
    heatmap = HeatmapWidget(theme=theme, zoom=zoom)
    inspector = ContextInspector(theme=theme, zoom=zoom)
    topk = TopKPanel(theme=theme, zoom=zoom)
    for widget, stretch in ((heatmap, 3), (inspector, 4), (topk, 1)):
        layout.addWidget(widget, stretch)
    window.resize(2100, 800)
    window.show()
    heatmap.set_result(result)
    inspector.set_result(result)
    step = 2
    heatmap.select_step(step)
    inspector.select_step(step)
    topk.show_candidates(step, result.topk[step], chosen=result.output_tokens[step])
    app.processEvents()
    heatmap._set_hover((1, 3))
    app.processEvents()
    name = f"panels_{theme}_zoom{zoom:g}{'_fixed' if fixed else ''}.png"
    window.grab().save(str(out / name))
    render_result(result, out / f"heatmap_{theme}_zoom{zoom:g}.svg", (1200, 900, 96.0), theme, zoom)
    heatmap.teardown()
    inspector.teardown()
    window.close()


def heatmap_shot(app: QApplication, out: Path, n: int, theme: str, zoom: float, **view: object) -> None:
    apply_theme(app, theme, zoom)
    result = fake_result(source=[WORDS[i % 8] for i in range(n)], output=[HINDI[i % 8] for i in range(n)], seed=n)
    heatmap = HeatmapWidget(theme=theme, zoom=zoom)
    heatmap.resize(1200, 900)
    heatmap.show()
    heatmap.set_result(result)
    heatmap.set_transposed(bool(view.get("transposed", False)))
    heatmap.set_mode(str(view.get("mode", "alpha")))
    heatmap.select_step(1)
    app.processEvents()
    suffix = "".join(f"_{v}" if isinstance(v, str) else f"_{k}" for k, v in view.items() if v)
    heatmap.grab().save(str(out / f"heatmap_{n}x{n}_{theme}_zoom{zoom:g}{suffix}.png"))
    heatmap.teardown()
    heatmap.close()


def main() -> None:
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "/tmp/attnscope-look")
    out.mkdir(parents=True, exist_ok=True)
    app = QApplication.instance() or QApplication([])
    assert isinstance(app, QApplication)
    for theme in ("light", "dark"):
        for zoom in (1.0, 2.0):
            panel_shot(app, out, theme, zoom)
    panel_shot(app, out, "light", 1.0, fixed=True)
    heatmap_shot(app, out, 5, "dark", 2.0, transposed=True, mode="scores")
    heatmap_shot(app, out, 60, "light", 1.0)
    heatmap_shot(app, out, 60, "dark", 2.0)
    heatmap_shot(app, out, 300, "light", 1.0)
    print(f"wrote {len(list(out.iterdir()))} files to {out}")


if __name__ == "__main__":
    main()
