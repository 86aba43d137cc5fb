"""What the window asks the engine to decode, and what comes back for the decode it is showing.

Sits between the EngineController and the views: submits with the current options, implements the
transport (play / pause / single step) on top of the controller's steering calls, and turns the
controller's signals into "started / steps / finished / failed" for the current request only.

A run the controller sends with `result_follows` is the decode's last: its result comes right after it and
the views show the result in its place, so that run is not shown on its own (for a short decode, one pass
of the views instead of two).  If the decode ends as cancelled instead, the run is shown first.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal, Slot

from engine import DecodeOptions, DecodeResult, DecodeStart, StepRecord
from gui.bridge.engine_controller import EngineController


class DecodeFlow(QObject):
    started = Signal(object)  # DecodeStart: the source as read and its h_j; before the first steps shown
    steps = Signal(object)  # tuple[StepRecord, ...]: the next steps, in order (not the last run: see above)
    finished = Signal(object)  # DecodeResult (a decode done in one run sends neither started nor steps)
    failed = Signal(str)
    stopped = Signal()  # cancelled, or nothing to decode
    playing_changed = Signal(bool)

    def __init__(self, controller: EngineController, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._engine = controller
        self._request_id = 0
        self._source = ""
        self._tokenizer = "word"
        self.result: DecodeResult | None = None
        self.start: DecodeStart | None = None  # of the decode under way (or the last one)
        self.records: list[StepRecord] = []  # of the decode under way (or the last one)
        self._last_run: tuple[StepRecord, ...] = ()  # its result follows: shown by the result (see above)
        controller.decode_started.connect(self._on_started)
        controller.steps_decoded.connect(self._on_steps)
        controller.decode_finished.connect(self._on_finished)
        controller.decode_failed.connect(self._on_failed)
        controller.decode_cancelled.connect(self._on_cancelled)

    # -- state -------------------------------------------------------------------------------
    @property
    def busy(self) -> bool:
        return bool(self._engine.busy)

    @property
    def playing(self) -> bool:
        return self.busy and not self._engine.paused

    @property
    def request_id(self) -> int:
        return self._request_id

    @property
    def submitted_source(self) -> str:
        return self._source

    def current_result(self) -> DecodeResult | None:
        """The result of the request shown now (None while it streams)."""
        result = self.result
        return result if result is not None and result.request_id == self._request_id else None

    def step_count(self) -> int:
        """Rows of the decode shown now: all of a finished one, those streamed so far otherwise."""
        result = self.current_result()
        return len(result.output_tokens) if result is not None else len(self.records)

    @property
    def tokenizer(self) -> str:
        """The loaded model's target tokenizer kind ("word", "char"): how its tokens read as text."""
        return self._tokenizer

    def set_tokenizer(self, kind: str) -> None:
        self._tokenizer = kind

    # -- commands ----------------------------------------------------------------------------
    def submit(self, source: str, options: DecodeOptions, paused: bool = False) -> int:
        """Decode `source` with `options` (DecodeRequest fields); paused: wait for step()."""
        if paused:
            self._engine.pause()
        else:
            self._engine.resume()
        self._request_id = self._engine.submit(source, **options)  # the engine starts while the rest runs
        self._source = source
        self._last_run = ()
        self.start = None
        self.records = []  # freeing the last decode's records takes ~0.1 ms: after the request went out
        self.playing_changed.emit(self.playing)
        return self._request_id

    def toggle_play(self) -> bool:
        """Pause or resume the running decode; False when none runs (the caller starts one)."""
        if not self.busy:
            return False
        if self._engine.paused:
            self._engine.resume()
        else:
            self._engine.pause()
        self.playing_changed.emit(self.playing)
        return True

    def step_once(self) -> bool:
        """One more step of the running decode; False when none runs."""
        if not self.busy:
            return False
        self._engine.step_once()
        self.playing_changed.emit(False)
        return True

    def cancel(self) -> None:
        self._engine.cancel()

    def clear(self) -> None:
        """Cancel, and forget the shown decode (nothing left to show or export)."""
        self._engine.cancel()
        self.result = None
        self.records = []
        self._last_run = ()

    # -- controller signals (GUI thread) -----------------------------------------------------
    @Slot(object)
    def _on_started(self, start: DecodeStart) -> None:
        if start.request_id == self._request_id:
            self.start = start

    @Slot(object)
    def _on_steps(self, run: tuple[StepRecord, ...]) -> None:
        if run[0].request_id != self._request_id:
            return
        if self._engine.result_follows:
            self._last_run = run
            return
        self._show(run)

    def _show_last_run(self) -> None:
        run, self._last_run = self._last_run, ()
        if run:
            self._show(run)

    def _show(self, run: tuple[StepRecord, ...]) -> None:
        if not self.records and self.start is not None:  # the decode's first steps (its start came before them)
            self.started.emit(self.start)
        self.records.extend(run)
        self.steps.emit(run)

    @Slot(object)
    def _on_finished(self, result: DecodeResult) -> None:
        if result.request_id != self._request_id:
            return
        self.records.extend(self._last_run)  # the result shows them
        self._last_run = ()
        previous, self.result = self.result, result
        self.finished.emit(result)
        self.playing_changed.emit(False)
        del previous  # freed only now, once the views show the new result (~0.1 ms for a long decode)

    @Slot(int, str)
    def _on_failed(self, request_id: int, message: str) -> None:
        if request_id == self._request_id:
            self.failed.emit(message)
            self.playing_changed.emit(False)

    @Slot(int)
    def _on_cancelled(self, request_id: int) -> None:
        if request_id == self._request_id:
            self._show_last_run()
            self.stopped.emit()
            self.playing_changed.emit(False)
