"""Starting the desktop app: arguments, QApplication, the window with a model loaded, screenshots, clean exit."""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QEvent, QEventLoop, QObject, Qt, QTimer, Slot
from PySide6.QtWidgets import QApplication

from gui.files.image_files import save_image
from gui.files.log_file import start_log_file, stop_log_file
from gui.files.resources import DEFAULT_MODEL
from gui.files.settings_store import SettingsStore
from gui.style.fonts import font_family
from gui.style.theme import THEMES
from gui.window.autosave import SessionAutosave
from gui.window.main_window import MainWindow
from gui.window.tool_docks import install_tools
from gui.window.window_state import restore_window_state, stored_inputs, stored_look

log = logging.getLogger(__name__)
LOG_LEVELS = ("debug", "info", "warning", "error")  # main.py applies --log-level before the app starts
DEFAULT_SOURCE = "turn off the lights"
SCREENSHOT_SIZES = {"inspector": (1600, 1000), "presentation": (1920, 1080)}
SCREENSHOT_TIMEOUT_S = 120
GRABS = ("window", "context", "anatomy")
SETTLE_MS = 250  # after the decode: let layouts and coalesced repaints finish before grabbing
MAX_SOURCE_LIMIT = 100_000  # the highest --max-source-tokens accepted (the engine's default is 1,000)


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="attnscope", description="See how a seq2seq model attends, step by step.")
    parser.add_argument(
        "--model",
        help="model to open: a file (.safetensors, a toolkit's checkpoint) or a folder (Hugging Face, JoeyNMT)",
    )
    parser.add_argument("--source", help="sentence to translate at start")
    parser.add_argument("--screenshot", metavar="OUT.png", help="render the window offscreen to OUT.png and exit")
    parser.add_argument(
        "--mode",
        choices=tuple(SCREENSHOT_SIZES),
        default="inspector",
        help="presentation: large fonts, no side panels; inspector: every panel",
    )
    parser.add_argument("--step", type=int, metavar="N", help="with --screenshot: select decoder step N (from 0) first")
    parser.add_argument(
        "--grab",
        choices=GRABS,
        default="window",
        help="with --screenshot: the whole window, only the context inspector, or the window showing the anatomy "
        "of the step instead of the heatmap",
    )
    parser.add_argument("--theme", choices=tuple(THEMES), help="colour theme (default: the last one used)")
    parser.add_argument(
        "--settings-dir", metavar="DIR", help="where attnscope.ini and attnscope.log live (default: per user)"
    )
    parser.add_argument(
        "--log-level", choices=LOG_LEVELS, default="info", help="what reaches the console and the log file"
    )
    parser.add_argument(
        "--max-source-tokens",
        type=_source_limit,
        metavar="N",
        help="read at most N source tokens, dropping the rest with a note (default: the ini's "
        "limits/max_source_tokens, else 1,000)",
    )
    return parser.parse_args(argv)


def _source_limit(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if not 1 <= value <= MAX_SOURCE_LIMIT:
        raise argparse.ArgumentTypeError(f"must be from 1 to {MAX_SOURCE_LIMIT:,}, got {value}")
    return value


def create_window(
    settings_dir: str | Path | None = None,
    model: str | Path | None = None,
    source: str | None = None,
    theme: str | None = None,
    max_source_tokens: int | None = None,
) -> MainWindow:
    """The main window with settings restored, its model to load after the first paint and the session
    autosaving (needs a QApplication).

    `max_source_tokens`: None reads limits/max_source_tokens from the settings, else the engine's default applies.
    """
    from gui.bridge.engine_controller import EngineController  # the engine (and torch) only when a window is made

    font_family()  # registers the packaged Devanagari font before any widget asks for it
    store = SettingsStore(settings_dir)
    log_path = start_log_file(Path(store.path).parent)
    stored_theme, zoom = stored_look(store)
    limit = max_source_tokens or store.get_int("limits/max_source_tokens", 0, 1, MAX_SOURCE_LIMIT) or None
    controller = EngineController(max_source_tokens=limit)
    try:
        window = MainWindow(controller, store, theme or stored_theme, zoom)
        window.banner.set_log_path(log_path)
        if store.notice:  # the ini was damaged and moved aside: said once, now
            window.banner.show_message(store.notice, "warning")
        install_tools(window)  # before the layout is restored: their docks are part of it
        restore_window_state(window, store)
    except BaseException:
        controller.shutdown()  # a QThread destroyed while running aborts the process
        raise
    stored_model, stored_source, stored_target = stored_inputs(store)
    window.source_panel.set_texts(source if source is not None else stored_source or DEFAULT_SOURCE, stored_target)
    fallback = ""
    if model is None:  # the model of the last session (a file or a folder), else the shipped one
        model = stored_model or DEFAULT_MODEL
        fallback = str(DEFAULT_MODEL) if Path(model) != DEFAULT_MODEL else ""  # gone or damaged: the shipped one
    window.open_model_after_paint(str(model), fallback)
    SessionAutosave(window, store)  # a child of the window: lives and dies with it
    return window


def run(argv: list[str]) -> int:
    try:
        args = parse_args(argv)
    except SystemExit as exc:  # --help, or a bad argument (argparse printed why)
        return int(exc.code or 0)
    if args.screenshot:
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    existing = QApplication.instance()
    app = existing if isinstance(existing, QApplication) else QApplication([sys.argv[0] if sys.argv else "attnscope"])
    app.setApplicationName("attnscope")
    if args.screenshot:
        return _screenshot_run(args)
    window = create_window(args.settings_dir, args.model, args.source, args.theme, args.max_source_tokens)
    try:
        window.show()
        if args.mode == "presentation":
            window.set_presentation(True)
        return app.exec()
    finally:
        _dispose(window)
        stop_log_file()
        if existing is None:
            app.shutdown()  # delete the QApplication now, not in the interpreter's unordered teardown


def _screenshot_run(args: argparse.Namespace) -> int:
    """Screenshots never touch the user's settings unless a settings dir is named."""
    with tempfile.TemporaryDirectory(prefix="attnscope-") as scratch:
        window = create_window(
            args.settings_dir or scratch, args.model, args.source, args.theme, args.max_source_tokens
        )
        try:
            return take_screenshot(window, Path(args.screenshot), args.mode, step=args.step, grab=args.grab)
        finally:
            _dispose(window)


def take_screenshot(
    window: MainWindow,
    out: Path,
    mode: str,
    timeout_s: float = SCREENSHOT_TIMEOUT_S,
    step: int | None = None,
    grab: str = "window",
) -> int:
    """0: written; 2: the model could not be loaded; 1: the decode failed or timed out (window still saved)."""
    if mode == "presentation":
        window.set_presentation(True, full_screen=False)
    window.fit_on_show = False  # the picture has its own size, whatever screen (offscreen: 800 × 800) it is made on
    window.setWindowState(Qt.WindowState.WindowNoState)
    window.resize(*SCREENSHOT_SIZES[mode])
    window.show()
    if not window.layout_restored:  # as a first start on a screen of the picture's size shares out the room
        window.share_room(window.size())
    waiter = _DecodeWaiter(window, timeout_s)
    outcome = waiter.wait()
    if outcome == "load_failed":
        log.error("cannot load the model: %s", window.last_load_error)
        return 2
    if grab == "anatomy":
        window.show_anatomy_slide(True)
    if step is not None:
        window.select_step(step)
    window.anatomy_slide.finish()
    _settle(SETTLE_MS)
    widget = window.inspector if grab == "context" else window
    try:
        save_image(widget.grab().toImage(), out)
    except OSError as exc:
        log.error("could not write %s: %s", out, exc)
        return 1
    if outcome != "finished":
        log.error("screenshot taken, but the decode %s", outcome)
        return 1
    return 0


class _DecodeWaiter(QObject):
    """Runs a local event loop until the first decode ends or the model fails to load."""

    def __init__(self, window: MainWindow, timeout_s: float) -> None:
        super().__init__(window)
        self.outcome = "timed out"
        self._loop = QEventLoop(self)
        window.flow.finished.connect(self._on_finished)
        window.flow.failed.connect(self._on_failed)
        window.controller.model_load_failed.connect(self._on_load_failed)
        window.controller.model_loaded.connect(self._on_loaded)  # after the window's own slot: it decodes
        self._window = window
        QTimer.singleShot(int(timeout_s * 1000), self._loop.quit)

    def wait(self) -> str:
        self._loop.exec()
        return self.outcome

    @Slot(object)
    def _on_finished(self, _result: object) -> None:
        self._end("finished")

    @Slot(str)
    def _on_failed(self, message: str) -> None:
        self._end(f"failed: {message}")

    @Slot(object)
    def _on_loaded(self, _info: object) -> None:
        if not self._window.flow.busy:
            self._end("had nothing to decode")

    @Slot(str)
    def _on_load_failed(self, _message: str) -> None:
        if not self._window.model_opening:  # else its fallback is on the way
            self._end("load_failed")

    def _end(self, outcome: str) -> None:
        self.outcome = outcome
        self._loop.quit()


def _settle(ms: int) -> None:
    loop = QEventLoop()
    QTimer.singleShot(ms, loop.quit)
    loop.exec()


def _dispose(window: MainWindow) -> None:
    """Close (saves settings, stops the engine, releases the plots in order), then delete while Qt is whole."""
    window.close()
    window.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    QCoreApplication.processEvents()
