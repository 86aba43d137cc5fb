"""The main window: an assembly of the panels, wired to the engine controller through a DecodeFlow."""

from __future__ import annotations

import logging
import time
from pathlib import Path

from PySide6.QtCore import QByteArray, QEvent, QSize, Qt, QTimer, Signal, Slot
from PySide6.QtGui import (
    QCloseEvent,
    QDragEnterEvent,
    QDropEvent,
    QGuiApplication,
    QKeyEvent,
    QKeySequence,
    QMoveEvent,
    QPaintEvent,
    QResizeEvent,
    QShowEvent,
    QWheelEvent,
)
from PySide6.QtWidgets import QApplication, QDockWidget, QLabel, QMainWindow, QStackedWidget, QVBoxLayout, QWidget

from engine import (
    DecodeResult,
    DecodeStart,
    ModelInfo,
    StepRecord,
    head_anatomy,
    kept_columns,
    output_pieces,
    sink_heads,
    step_anatomy,
    viewed_records,
    viewed_result,
)
from gui.bridge.decode_flow import DecodeFlow
from gui.bridge.engine_controller import EngineController
from gui.export.exports import ExportError, ask_export, export_view, heatmap_size
from gui.export.figure import FigureSize
from gui.export.head_grid_figure import export_head_grid
from gui.files.model_files import ask_model_folder, ask_model_path, dropped_file
from gui.files.settings_store import SettingsStore
from gui.matrix.heatmap import HeatmapWidget
from gui.panels.anatomy_view import AnatomyView
from gui.panels.context_view import ContextInspector
from gui.panels.controls_panel import ControlsPanel
from gui.panels.heads_panel import HeadsPanel
from gui.panels.message_banner import MessageBanner, load_error_text
from gui.panels.model_panel import ModelPanel
from gui.panels.source_panel import SourcePanel
from gui.panels.topk_view import TopKPanel
from gui.panels.transport_bar import TransportBar
from gui.style.theme import PRESENTATION_ZOOM, apply_theme, clamp_zoom, get_theme, scale_controls
from gui.window.docks import add_dock
from gui.window.menus import Menus
from gui.window.screen_fit import fit_to_screen

log = logging.getLogger(__name__)

ZOOM_STEP = 1.15
HEAD_GRID_SIZE = FigureSize(1200, 800)  # every head's map large enough to read at 8 heads × 6 layers
LEFT_SHARE, RIGHT_SHARE = 0.17, 0.34  # of the window's width, for the docks at a first start
MIN_CELL_PX = 26  # presentation: a heatmap cell is at least this big at zoom 1 (× the zoom)
PRESENTATION_THEME = "dark"  # the lecture theme until the user picks another there
CENTRAL_MARGINS = (8, 6, 8, 4)
SIDE_VIEWS_MS = 50  # while a decode streams, the panels beside the heatmap refresh at ≤ 20 Hz
SIDE_VIEWS_SHARE = 0.1  # ... and take at most this share of the GUI thread (a long input's refresh is slow)
SIDE_VIEWS_FIRST_MS = 100  # after its first step: a decode done sooner fills them once, with its result
DETAILS_DELAY_MS = 1  # a timer rather than a posted call: it waits for the events queued now
INSPECTOR_TITLE = "Context vector"
FIRST_PAINT_WAIT_MS = 3000  # a window shown but never painted (minimised, say) opens its first model by then
NO_MODEL = "No model loaded: open one from the File menu, or drop a model file here."


class MainWindow(QMainWindow):
    """Owns the controller it is given: closing the window shuts the engine down.

    Tools follow the window through its signals, not event filters: a Python filter on the window runs
    for every event it gets, a repaint of any part of it included.
    """

    closing = Signal()  # a close begins: the tools tear down, before the window leaves presentation mode
    saving = Signal()  # then, out of presentation mode and before the engine stops: save the session now
    layout_changed = Signal()  # moved, resized, or maximised / full screen / back

    def __init__(
        self, controller: EngineController, settings: SettingsStore, theme: str = "light", zoom: float = 1.0
    ) -> None:
        super().__init__()
        self.setWindowTitle("attnscope")
        self.setAcceptDrops(True)
        self.setDockOptions(QMainWindow.DockOption.AnimatedDocks | QMainWindow.DockOption.AllowTabbedDocks)
        self.controller = controller
        self.settings = settings
        self.flow = DecodeFlow(controller, self)
        self.theme_name, self.zoom = theme, clamp_zoom(zoom)  # the theme of the mode shown (desk or lecture)
        self.other_theme = PRESENTATION_THEME  # the other mode's theme: presentation's until it is entered
        self.presenting = False
        self.model_path = ""  # of the model loaded now
        self.last_load_error = ""
        self._loading = ""  # the model file asked for last
        self.painted = False  # the window has painted once: the first model loads only then
        self._deferred_model = ""  # to open after the first paint
        self.fallback_model = ""  # opened instead, with a note, if the model being opened fails and none is loaded
        self.model_opening = False  # a model asked for has neither loaded nor failed yet (nor its fallback)
        self._redecode_on_device = False
        self._follow = True  # the selection tracks the newest row while a decode streams
        self._saved_layout: QByteArray | None = None
        self._torn_down = False
        self._fitted = False  # fitted to its screen once shown
        self.fit_on_show = True  # made to fit its screen when first shown (screenshots of a set size say no)
        self._was_maximized = False  # before presentation mode took the full screen
        self.head_layout: tuple[int, int, int] | None = None  # the loaded model's heads (a transformer)
        self._kept: list[int] = []  # the source positions the heatmap shows (all, or all but the sinks)
        self._side_views = QTimer(self)  # streamed steps cost ~nothing each; the side panels catch up on its tick
        self._side_views.setSingleShot(True)
        self._side_views.timeout.connect(self._show_streamed_step)
        self._side_views_ms = 0.0  # what the last refresh of the side panels took
        self._pending_details: DecodeResult | None = None  # finished, its side panels not filled yet
        # One timer for it, not QTimer.singleShot(ms, self, slot) per decode: PySide keeps a weak reference to
        # the window for each of those calls, for good (a slow leak over a session of edits).
        self._details = QTimer(self)
        self._details.setSingleShot(True)
        self._details.setInterval(DETAILS_DELAY_MS)
        self._details.timeout.connect(self._show_details)
        self._build_central()
        self._build_docks()
        self._build_status_bar()
        self.menus = Menus(self)
        self._wire()
        self.apply_look()

    # -- construction ----------------------------------------------------------------------------
    def _build_central(self) -> None:
        self.banner = MessageBanner(self)
        self.source_panel = SourcePanel(self)
        self.transport = TransportBar(self)
        self.heatmap = HeatmapWidget(self, theme=self.theme_name, zoom=self.zoom)
        self.anatomy_slide = AnatomyView(self, theme=self.theme_name, zoom=self.zoom)  # the heatmap's alternative
        self.views = QStackedWidget(self)  # the heatmap, or the anatomy of the step (View → Anatomy slide, A)
        self.views.addWidget(self.heatmap)
        self.views.addWidget(self.anatomy_slide)
        central = QWidget(self)
        layout = self._central_layout = QVBoxLayout(central)
        layout.setContentsMargins(*CENTRAL_MARGINS)
        for widget, stretch in ((self.banner, 0), (self.source_panel, 0), (self.transport, 0), (self.views, 1)):
            layout.addWidget(widget, stretch)
        self.setCentralWidget(central)

    def _build_docks(self) -> None:
        self.controls = ControlsPanel(self)
        self.model_panel = ModelPanel(self)
        self.inspector = ContextInspector(self, theme=self.theme_name, zoom=self.zoom)
        self.topk = TopKPanel(self, theme=self.theme_name, zoom=self.zoom)
        self.anatomy = AnatomyView(self, theme=self.theme_name, zoom=self.zoom)
        self.heads = HeadsPanel(self, theme=self.theme_name, zoom=self.zoom)
        area = Qt.DockWidgetArea
        self.docks = [
            self._dock("Decoding", self.controls, area.LeftDockWidgetArea),
            self._dock("Model", self.model_panel, area.LeftDockWidgetArea),
            self._dock(INSPECTOR_TITLE, self.inspector, area.RightDockWidgetArea),
            self._dock("Top-k candidates", self.topk, area.RightDockWidgetArea),
            self._dock("Anatomy of a step", self.anatomy, area.RightDockWidgetArea),
            self._dock("Heads", self.heads, area.RightDockWidgetArea),
        ]
        self.tabifyDockWidget(self.docks[2], self.docks[4])  # a tab beside the context vector
        self.tabifyDockWidget(self.docks[2], self.docks[5])  # a transformer's heads: shown when one is loaded
        self.docks[5].hide()
        self.docks[2].raise_()
        self.layout_restored = False  # set when a saved layout is restored; else the first show shares out the room
        self.share_room(QSize(1500, 950))

    def share_room(self, size: QSize) -> None:
        """The docks' first sizes for a window of `size`: the inspector gets the most, then the options."""
        width, height = size.width(), size.height()
        self.resizeDocks(self.docks[:1], [round(width * LEFT_SHARE)], Qt.Orientation.Horizontal)
        self.resizeDocks(self.docks[2:3], [round(width * RIGHT_SHARE)], Qt.Orientation.Horizontal)
        self.resizeDocks(self.docks[:2], [round(height * 0.25), round(height * 0.75)], Qt.Orientation.Vertical)
        self.resizeDocks(self.docks[2:4], [round(height * 0.7), round(height * 0.3)], Qt.Orientation.Vertical)

    def _dock(self, title: str, widget: QWidget, area: Qt.DockWidgetArea) -> QDockWidget:
        return add_dock(self, title, title.replace(" ", "_").lower(), widget, area)

    def _build_status_bar(self) -> None:
        self.device_label = QLabel("device: –", self)
        self.timing_label = QLabel("", self)
        for label in (self.device_label, self.timing_label):
            label.setContentsMargins(12, 0, 6, 0)
        self.statusBar().addPermanentWidget(self.timing_label)
        self.statusBar().addPermanentWidget(self.device_label)

    def _wire(self) -> None:
        c, flow, m = self.controller, self.flow, self.menus
        c.model_loaded.connect(self._on_model_loaded)
        c.model_load_failed.connect(self._on_model_load_failed)
        c.device_changed.connect(self._on_device_changed)
        c.notice_posted.connect(self._on_notice)
        flow.started.connect(self._on_started)
        flow.steps.connect(self._on_steps)
        flow.finished.connect(self._on_finished)
        flow.failed.connect(self._on_failed)
        flow.stopped.connect(self._on_stopped)
        flow.playing_changed.connect(self.transport.set_playing)
        self.source_panel.edited.connect(self.decode_now)
        self.controls.options_changed.connect(self._on_options_changed)
        self.controls.device_requested.connect(self.set_device)
        self.heatmap.step_selected.connect(self.select_step)
        self.transport.play_clicked.connect(self.toggle_play)
        self.transport.step_clicked.connect(self.step_once)
        self.transport.delay_changed.connect(c.set_delay)
        self.transport.transposed_changed.connect(self.heatmap.set_transposed)
        self.transport.mode_changed.connect(self.heatmap.set_mode)
        m.open_model.triggered.connect(self.open_model_dialog)
        m.open_folder.triggered.connect(self.open_folder_dialog)
        m.open_requested.connect(self.open_model)
        m.export_requested.connect(self.export_dialog)
        m.heads_export_requested.connect(self.export_heads_dialog)
        m.copy_image.triggered.connect(self.copy_image)
        m.quit.triggered.connect(self.close)
        m.play_pause.triggered.connect(self.toggle_play)
        m.step.triggered.connect(self.step_once)
        m.prev_step.triggered.connect(lambda: self.step_by(-1))
        m.next_step.triggered.connect(lambda: self.step_by(+1))
        m.first_step.triggered.connect(lambda: self.step_to_end(first=True))
        m.last_step.triggered.connect(lambda: self.step_to_end(first=False))
        m.presentation.toggled.connect(self.set_presentation)
        m.anatomy_slide.toggled.connect(self.show_anatomy_slide)
        self.heads.choice_changed.connect(self._on_head_choice)
        m.leave_presentation.triggered.connect(lambda: self.set_presentation(False))
        m.zoom_in.triggered.connect(lambda: self.set_zoom(self.zoom * ZOOM_STEP))
        m.zoom_out.triggered.connect(lambda: self.set_zoom(self.zoom / ZOOM_STEP))
        m.zoom_reset.triggered.connect(lambda: self.set_zoom(1.0))
        for name, action in m.themes.items():
            action.triggered.connect(lambda _checked=False, n=name: self.set_theme(n))
        for dock in self.docks:
            m.view_menu.addAction(dock.toggleViewAction())
        self.inspector.shown.connect(self._on_inspector_shown)

    # -- model -----------------------------------------------------------------------------------
    @Slot(str)
    def open_model(self, path: str) -> None:
        self.fallback_model = ""  # the user's own choice: a failure is reported, not replaced
        self._load(path)

    def open_model_after_paint(self, path: str, fallback: str = "") -> None:
        """Open `path` once the window has painted, or at once if it is not shown when the event loop starts.

        Loading imports torch on the engine thread, and an import holds the GIL: it would stall the first paint.
        Until the model is in, the heatmap says it is loading.  `fallback`: the model to open instead, with a
        note in the banner, if `path` cannot be opened (a remembered model that has gone, say).
        """
        self._deferred_model, self.fallback_model = path, fallback
        self.model_opening = True
        self.heatmap.set_placeholder(f"Loading model {Path(path).name}…")
        self.statusBar().showMessage(f"Loading {Path(path).name}…")
        QTimer.singleShot(0, self, self._open_if_unseen)
        QTimer.singleShot(FIRST_PAINT_WAIT_MS, self, self._open_deferred)

    @Slot()
    def _open_if_unseen(self) -> None:
        if not self.isVisible():
            self._open_deferred()

    @Slot()
    def _open_deferred(self) -> None:
        path, self._deferred_model = self._deferred_model, ""
        if path:
            self._load(path)

    def _load(self, path: str) -> None:
        if self._torn_down:
            return
        self.statusBar().showMessage(f"Loading {Path(path).name}…")
        self._loading = path
        self.model_opening = True
        if not self.model_path:
            self.heatmap.set_placeholder(f"Loading model {Path(path).name}…")
        self.controller.load_model(path, self.controls.device.currentText())

    @Slot()
    def open_model_dialog(self) -> None:
        path = ask_model_path(self, self.model_path)
        if path:
            self.open_model(path)

    @Slot()
    def open_folder_dialog(self) -> None:
        path = ask_model_folder(self, self.model_path)
        if path:
            self.open_model(path)

    @Slot(object)
    def _on_model_loaded(self, info: ModelInfo) -> None:
        self.model_path, self.last_load_error = info.path, ""
        self.model_opening, self.fallback_model = False, ""
        self.heatmap.set_placeholder("")
        self.model_panel.show_model(info.path, info.description, info.card, info.device)
        self.flow.set_tokenizer(str(info.description.get("tokenizer", "word")))
        self.head_layout = info.head_layout
        layers, heads = info.head_layout[:2] if info.head_layout else (0, 0)
        self.heads.set_layout_shape(layers, heads)
        self.docks[5].setVisible(bool(layers))  # the heads of a transformer; none for an RNN
        for action in self.menus.head_exports.values():
            action.setEnabled(bool(layers))
        if layers:
            self.docks[5].raise_()
        self.menus.fill_recent(self.settings.add_recent_file(info.path))
        self.setWindowTitle(f"attnscope — {Path(info.path).name}")
        self.statusBar().showMessage(f"Loaded {Path(info.path).name}", 5000)
        for note in info.messages:
            self.banner.show_message(note, "warning")
        self.decode_now()

    @Slot(str)
    def _on_model_load_failed(self, message: str) -> None:
        self.last_load_error = message
        fallback, self.fallback_model = self.fallback_model, ""
        if fallback and not self.model_path:
            log.warning("could not open %s (%s); opening %s instead", self._loading, message, fallback)
            note = f"{load_error_text(self._loading, message, '')} Opening {Path(fallback).name} instead."
            self.banner.show_message(note, "warning")
            self._load(fallback)
            return
        self.model_opening = False
        self.heatmap.set_placeholder("" if self.model_path else NO_MODEL)
        self.banner.show_message(load_error_text(self._loading, message, self.model_path), "error")
        self.statusBar().showMessage(f"Could not open {Path(self._loading).name}", 8000)

    @Slot(str)
    def set_device(self, name: str) -> None:
        if self._torn_down:
            return
        self._redecode_on_device = True  # set_device cancels the decode under way
        self.controller.set_device(name)

    @Slot(str)
    def _on_device_changed(self, device: str) -> None:
        self.device_label.setText(f"device: {device}")
        self.model_panel.set_device(device)
        if self._redecode_on_device and self.model_path:
            self.decode_now()
        self._redecode_on_device = False

    @Slot(str)
    def _on_notice(self, message: str) -> None:
        self.banner.show_message(message, "warning")

    # -- decoding --------------------------------------------------------------------------------
    @Slot()
    def decode_now(self, paused: bool = False) -> bool:
        """Decode the editors' text with the current options; False when there is nothing to decode."""
        if self._torn_down:  # a debounce timer may still fire while the window closes
            return False
        source, options = self.source_panel.source_text(), self.controls.options()
        if options["strategy"] == "forced":
            options["target"] = self.source_panel.target_text()
        if not self.model_path or not source.strip():
            self.flow.clear()
            self._clear_views()
            return False
        if options["strategy"] == "forced" and not options["target"].strip():
            self.source_panel.set_output("type a reference translation to force-decode it")
            return False
        self.flow.submit(source, options, paused=paused)
        self._follow = True  # a new decode's selection follows its newest step (one run: its first step)
        return True

    def _clear_views(self) -> None:
        self.source_panel.set_output("")
        self.source_panel.clear_unknown()
        self.heatmap.begin([], 1)
        self.topk.clear()

    @Slot()
    def _on_options_changed(self) -> None:
        self.source_panel.set_reference_visible(self.controls.strategy_name() == "forced")
        self.source_panel.schedule()

    @Slot()
    def toggle_play(self) -> None:
        """Pause/resume the running decode, or replay the current one (with the per-step delay)."""
        if not self.flow.toggle_play():
            self.decode_now()

    @Slot()
    def step_once(self) -> None:
        if not self.flow.step_once() and self.decode_now(paused=True):
            self.flow.step_once()

    @Slot(object)
    def _on_started(self, start: DecodeStart) -> None:
        self._follow = True
        tokens = start.source_tokens
        self._kept = kept_columns(tokens, self.heads.sinks_hidden()) if self.head_layout else list(range(len(tokens)))
        shown = [tokens[j] for j in self._kept]
        self.heatmap.begin(shown, start.max_steps, clear_now=False)  # no empty plot for a short decode
        self.inspector.begin(start)
        if self.head_layout:
            self.heads.begin(tokens, *self.head_layout[:2], start.max_steps)

    @Slot(object)
    def _on_steps(self, run: tuple[StepRecord, ...]) -> None:
        # Runs can arrive every 0.1 ms (paced steps): anything slower here queues them up and stalls the loop.
        if self.head_layout:  # the main heatmap shows the chosen head view; the grid shows every head
            self.heads.append_steps(run)
            run = tuple(viewed_records(run, self.heads.choice(), self._kept, self.heads.sinks_hidden()))
        self.heatmap.append_steps(run)
        if not self._side_views.isActive():
            first = len(self.flow.records) == len(run)
            paced = max(SIDE_VIEWS_MS, round(self._side_views_ms / SIDE_VIEWS_SHARE))
            self._side_views.start(SIDE_VIEWS_FIRST_MS if first else paced)

    @Slot()
    def _show_streamed_step(self) -> None:
        """The selected (by default the newest) streamed step in the top-k and context panels, the text so far."""
        records = self.flow.records
        if self._torn_down or not records or not self.flow.busy or self.flow.current_result() is not None:
            return  # ended meanwhile (finished, failed or cancelled): its own slot has set the panels
        start = time.perf_counter()
        self.timing_label.setText(f"step {len(records)}")
        selected = self.heatmap.selected_step()
        following = self._follow or selected is None or selected >= len(records)
        record = records[-1] if following or selected is None else records[selected]
        self._show_step(record.step)
        self._side_views_ms = (time.perf_counter() - start) * 1000

    @Slot()
    def _on_inspector_shown(self) -> None:
        """The context inspector shown during a streamed decode: the steps it skipped while hidden (it recomputes
        the PCA and the cosine matrix of every step so far: seconds of a long decode's GUI time, for nothing)."""
        records, selected = self.flow.records, self.heatmap.selected_step()
        if records and self.flow.current_result() is None:  # the step the heatmap marks, else the newest
            self.inspector.show_steps(records, len(records) - 1 if selected is None else selected)

    @Slot(object)
    def _on_finished(self, result: DecodeResult) -> None:
        self._side_views.stop()
        self.banner.clear_topic("decode")
        self._show_result_views(result)
        # The heatmap first (its paint also paints whatever else is waiting, so before the texts change);
        # the panels beside it take as long again, so they fill a moment later, letting input and timers in
        # between (select_step fills them at once if asked first).
        self.heatmap.repaint_now()
        if self.flow.submitted_source == self.source_panel.source_text():
            self.source_panel.mark_unknown(result.source_tokens, result.unknown_positions)
        self.source_panel.set_output(result.text)
        self._pending_details = result
        self._details.start()  # a child of the window: dropped if the window goes first
        steps = len(result.output_tokens)
        self.timing_label.setText(f"{result.strategy}: {steps} steps in {result.seconds * 1000:.0f} ms")
        if result.messages:
            self.statusBar().showMessage("  ".join(result.messages), 10000)

    def _show_result_views(self, result: DecodeResult) -> None:
        """The heatmap (a transformer's: the chosen view of its heads) and the grid of every head."""
        self.heatmap.set_result(viewed_result(result, self.heads.choice(), self.heads.sinks_hidden()))
        self.heatmap.set_caption(self.heads.describe() if result.heads is not None else "")
        if result.heads is not None:
            self.heads.set_result(result, sink_heads(result.heads.weights, result.source_tokens))

    @Slot()
    def _on_head_choice(self) -> None:
        """Another view of the heads: the heatmap shows it at once (no new decode), the inspector its layer."""
        self.inspector.set_head_layer(self.heads.choice().layer)
        result = self.flow.current_result()
        if result is not None and result.heads is not None:
            selected = self.heatmap.selected_step()
            self._show_result_views(result)
            self.heatmap.select_step(selected)

    @Slot()
    def _show_details(self) -> None:
        """The finished decode in the context inspector, and its selected step everywhere."""
        result, self._pending_details = self._pending_details, None
        if result is None or self._torn_down or result is not self.flow.current_result():
            return
        self.inspector.set_result(result)
        selected = self.heatmap.selected_step()
        self.select_step(0 if self._follow or selected is None else selected, follow=self._follow)

    @Slot(str)
    def _on_failed(self, message: str) -> None:
        self.banner.show_message(message, "error", topic="decode")
        self.source_panel.set_output("")

    @Slot()
    def _on_stopped(self) -> None:
        self.statusBar().showMessage("Decode stopped", 3000)

    # -- steps -----------------------------------------------------------------------------------
    @Slot(int)
    def select_step(self, i: int, follow: bool = False) -> None:
        """Show decoder step i everywhere: heatmap row, context inspector, top-k candidates."""
        self._show_details()
        self._follow = follow
        self.heatmap.select_step(i)
        self._show_step(i)

    def _show_step(self, i: int) -> None:
        """Step i of the decode shown (finished or under way) in every panel: the heatmap row, the output line's
        token, the context inspector and the top-k table."""
        result, records = self.flow.current_result(), self.flow.records
        self.heatmap.select_step(i)  # moving the outline every streamed step would repaint every step: ≤ 20 Hz
        if self.head_layout:
            self.heads.set_step(i)
        if result is not None and 0 <= i < len(result.topk):
            self.inspector.select_step(i)
            self.topk.show_candidates(i, result.topk[i], result.output_tokens[i], float(result.token_probs[i]))
            self.source_panel.show_output_tokens(output_pieces(result.output_tokens, self.flow.tokenizer), i)
        elif 0 <= i < len(records):
            record = records[i]
            if self.inspector.isVisible():  # hidden (closed, or a tab behind the Heads dock) it catches up when shown
                self.inspector.show_steps(records, i)
            self.topk.show_candidates(i, record.topk, record.token, record.prob)
            pieces = output_pieces([r.token for r in records], self.flow.tokenizer)
            self.source_panel.show_output_tokens(pieces, i, streaming=self.flow.busy)
        self._show_anatomy(i)

    def _show_anatomy(self, i: int) -> None:
        """Step i taken apart, in the anatomy dock and slide (only those on show are drawn)."""
        views = [v for v in (self.anatomy, self.anatomy_slide) if v.isVisible()]
        if not views:
            return
        start, records, info = self.flow.start, self.flow.records, self.controller.model_info
        query = str(info.description.get("query", "prev")) if info is not None else "prev"
        for view in views:
            if query == "none":
                view.show_note("This model has no attention: every step reads the same fixed vector c.")
            elif start is None or not 0 <= i < len(records):
                view.show_note(f"Step {i} has not been decoded yet.")
            elif query == "heads":  # a transformer: the head the Heads panel names (its layer's first, else)
                choice = self.heads.choice()
                anatomy = head_anatomy(records[i], start.source_tokens, choice.layer, choice.head, len(records), -1)
                view.show_step(anatomy)
            else:
                view.show_step(step_anatomy(start, records, i, query, self.flow.step_count()))

    def step_to_end(self, first: bool) -> None:
        """Select the first step (Home) or the last one decoded so far (End)."""
        count = self.flow.step_count()
        if count:
            self.select_step(0 if first else count - 1)

    def step_by(self, delta: int) -> None:
        """Select the step `delta` rows away (←/→), clamped to the decode shown."""
        count = self.flow.step_count()
        if count:
            current = self.heatmap.selected_step()
            start = (-1 if delta > 0 else count) if current is None else current
            self.select_step(min(max(start + delta, 0), count - 1))

    # -- look ------------------------------------------------------------------------------------
    def desk_theme(self) -> str:
        """The theme outside presentation mode (the one saved as the window's theme)."""
        return self.other_theme if self.presenting else self.theme_name

    def presentation_theme(self) -> str:
        return self.theme_name if self.presenting else self.other_theme

    def effective_zoom(self) -> float:
        return clamp_zoom(self.zoom * (PRESENTATION_ZOOM if self.presenting else 1.0))

    def apply_look(self) -> None:
        """Theme and zoom to the application font, palette and every plot."""
        app = QApplication.instance()
        zoom = self.effective_zoom()
        if isinstance(app, QApplication):
            apply_theme(app, self.theme_name, zoom)
        scale_controls(self, get_theme(self.theme_name), zoom)
        for view in (self.heatmap, self.inspector, self.topk, self.anatomy, self.anatomy_slide, self.heads):
            view.set_theme(self.theme_name)
            view.set_zoom(zoom)
        # In a lecture a big matrix keeps readable cells, and its part on show follows the step.
        self.heatmap.set_min_cell_px(MIN_CELL_PX * zoom if self.presenting else 0.0)
        for name, action in self.menus.themes.items():
            action.setChecked(name == self.theme_name)

    @Slot(str)
    def set_theme(self, name: str) -> None:
        self.theme_name = name
        self.apply_look()

    def set_zoom(self, zoom: float) -> None:
        self.zoom = clamp_zoom(zoom)
        self.apply_look()

    @Slot(bool)
    def set_presentation(self, on: bool, full_screen: bool = True) -> None:
        """Lecture mode: large fonts, docks and menus out of the way, optionally full screen."""
        if on == self.presenting:
            return
        self.presenting = on
        self.theme_name, self.other_theme = self.other_theme, self.theme_name  # each mode has its own theme
        if on:
            self._saved_layout = self.saveState()
            self._was_maximized = self.isMaximized()
            for dock in self.docks:
                dock.hide()
        self.menuBar().setVisible(not on)
        self.statusBar().setVisible(not on)
        self.source_panel.set_compact(on)  # source → output on one line: the heatmap gets the room
        self._central_layout.setContentsMargins(*((8, 4, 8, 2) if on else CENTRAL_MARGINS))
        if on and full_screen:
            self.showFullScreen()
        if on:  # keys (Space, ←/→) go to the window's actions, not into the source editor
            self.heatmap.graphics_view().setFocus()
        if not on:
            if self._saved_layout is not None:
                self.restoreState(self._saved_layout)
            if self.isFullScreen():
                self.showMaximized() if self._was_maximized else self.showNormal()
        self.menus.presentation.setChecked(on)
        self.menus.leave_presentation.setEnabled(on)
        self.apply_look()

    @Slot(bool)
    def show_anatomy_slide(self, on: bool) -> None:
        """The anatomy of the selected step in the heatmap's place (A), e.g. as a slide in a lecture."""
        self.views.setCurrentWidget(self.anatomy_slide if on else self.heatmap)
        self.menus.anatomy_slide.setChecked(on)
        selected = self.heatmap.selected_step()
        if on and selected is not None:
            self._show_anatomy(selected)

    # -- files -----------------------------------------------------------------------------------
    @Slot(str)
    def export_dialog(self, fmt: str) -> None:
        path, size = ask_export(self, self.settings, fmt, heatmap_size(self.heatmap))
        if path:
            self.export_to(path, size)

    def export_to(self, path: str | Path, size: FigureSize | None = None) -> bool:
        """Write the heatmap or the data to `path` (format from the suffix); errors go to the banner."""
        info = self.controller.model_info
        model = dict(info.description, path=info.path) if info is not None else None
        try:
            anatomy = self.menus.animation_anatomy.isChecked()
            result = self.flow.result
            if result is not None:  # a transformer's: the view of its heads shown, and saying so
                result = viewed_result(result, self.heads.choice(), self.heads.sinks_hidden())
            written = export_view(path, self.heatmap, result, model, size, anatomy)
        except ExportError as exc:
            log.warning("export to %s failed: %s", path, exc)
            self.banner.show_message(str(exc), "error")
            return False
        self.statusBar().showMessage(f"Exported {written}", 5000)
        return True

    @Slot(str)
    def export_heads_dialog(self, fmt: str) -> None:
        path, size = ask_export(self, self.settings, fmt, HEAD_GRID_SIZE)
        if path:
            self.export_heads_to(path, size)

    def export_heads_to(self, path: str | Path, size: FigureSize | None = None) -> bool:
        """Every head of the transformer's decode in one figure at `path`; errors go to the banner."""
        result = self.flow.result
        try:
            if result is None or result.heads is None:
                raise ValueError("no transformer decode to draw: load a transformer and let it decode")
            written = export_head_grid(result, path, size or HEAD_GRID_SIZE, self.heatmap.theme())
        except (OSError, ValueError) as exc:
            log.warning("export of every head to %s failed: %s", path, exc)
            self.banner.show_message(f"Could not export every head to {path}: {exc}", "error")
            return False
        self.statusBar().showMessage(f"Exported {written}", 5000)
        return True

    @Slot()
    def copy_image(self) -> None:
        QGuiApplication.clipboard().setImage(self.heatmap.to_image())
        self.statusBar().showMessage("Heatmap copied to the clipboard", 3000)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if dropped_file(event) is not None:
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        path = dropped_file(event)
        if path is not None:
            event.acceptProposedAction()
            self.open_model(path)

    # -- keys and lifetime -------------------------------------------------------------------------
    def keyPressEvent(self, event: QKeyEvent) -> None:
        """A key that reaches the window unmatched (say, while it is not the active window) still runs its action."""
        pressed = QKeySequence(event.keyCombination())
        action = next((a for a in self.actions() if a.isEnabled() and pressed in a.shortcuts()), None)
        if action is None:
            super().keyPressEvent(event)
            return
        action.trigger()
        event.accept()

    def paintEvent(self, event: QPaintEvent) -> None:
        super().paintEvent(event)
        if not self.painted:  # the window paints before its children: they follow within this same pass
            self.painted = True
            QTimer.singleShot(0, self, self._open_deferred)  # once this paint is on the screen

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if not self._fitted and self.fit_on_show:  # once framed by the window manager: its frame must fit too
            self._fitted = True
            QTimer.singleShot(0, self, self._fit_to_screen)

    @Slot()
    def _fit_to_screen(self) -> None:
        if not self.presenting:
            fit_to_screen(self)
            if not self.layout_restored:  # a first start: share the room the screen gives out among the panels
                self.share_room(self.size())

    def wheelEvent(self, event: QWheelEvent) -> None:
        """Ctrl+wheel zooms everything (the heatmap passes it on); a plain wheel scrolls whatever is under it."""
        if not event.modifiers() & Qt.KeyboardModifier.ControlModifier or not event.angleDelta().y():
            super().wheelEvent(event)
            return
        self.set_zoom(self.zoom * (ZOOM_STEP if event.angleDelta().y() > 0 else 1 / ZOOM_STEP))
        event.accept()

    def moveEvent(self, event: QMoveEvent) -> None:
        super().moveEvent(event)
        self.layout_changed.emit()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self.layout_changed.emit()

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.Type.WindowStateChange:
            self.layout_changed.emit()

    def closeEvent(self, event: QCloseEvent) -> None:
        self.closing.emit()
        if not self._torn_down:
            if self.presenting:
                self.set_presentation(False)
            self.saving.emit()
            self.teardown()
        super().closeEvent(event)

    def teardown(self) -> None:
        """Stop the engine, then release the pyqtgraph views in order (safe to call twice)."""
        if self._torn_down:
            return
        self._torn_down = True
        self.source_panel.cancel_pending()
        self._side_views.stop()
        self._details.stop()
        self.controller.shutdown()
        for view in (self.heatmap, self.inspector, self.topk):
            view.teardown()
