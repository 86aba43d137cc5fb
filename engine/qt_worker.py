"""The engine's one Qt module: a GUI-thread controller driving a worker on one long-lived QThread.

The GUI creates one EngineController, calls its methods and listens to its signals; it never
touches the worker.  Requests go to the worker as queued signals; steering (cancel, pause, step,
delay, "latest request wins") goes through a thread-safe DecodeControl, so it takes effect while
the worker is busy inside a decode.  Worker signals arrive at `@Slot` methods of the controller,
on the GUI thread, which drop anything stale before re-emitting.

Every request ends with exactly one of decode_finished / decode_failed / decode_cancelled, unless a
newer submit() superseded it: a superseded request ends silently and nothing of it arrives.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QCoreApplication, QObject, QThread, Signal, Slot

from engine.control import DecodeControl
from engine.device import available_devices, resolve_device
from engine.inputs import InputError
from engine.records import DecodeRequest, DecodeResult, StepRecord
from engine.session import InferenceSession, ModelInfo
from models.checkpoint import CheckpointError

__all__ = ["EngineController", "EngineWorker", "ModelInfo", "available_devices"]


class EngineWorker(QObject):
    """Lives on the engine thread; only the controller talks to it."""

    model_loaded = Signal(object)  # ModelInfo
    model_load_failed = Signal(str)  # message
    step_decoded = Signal(object)  # StepRecord
    decode_finished = Signal(object)  # DecodeResult
    decode_failed = Signal(int, str)  # request id, message
    decode_cancelled = Signal(int)  # request id
    device_changed = Signal(str)  # device in use, e.g. "cpu"
    notice_posted = Signal(str)  # one-line note, e.g. a device fallback

    def __init__(self, control: DecodeControl) -> None:
        super().__init__()
        self.control = control
        self.session: InferenceSession | None = None

    @Slot(str, str)
    def load_model(self, path: str, device: str) -> None:
        try:
            session = InferenceSession.open(path, device)
        except (CheckpointError, OSError) as exc:
            self.model_load_failed.emit(str(exc))
            return
        except Exception as exc:  # the previous model must survive anything a bad file triggers
            self.model_load_failed.emit(f"Could not load {path}: {type(exc).__name__}: {exc}")
            return
        self.session = session
        self.model_loaded.emit(session.info())
        self.device_changed.emit(str(session.device))

    @Slot(str)
    def change_device(self, name: str) -> None:
        if self.session is None:
            choice = resolve_device(name)
            note, device = choice.message, choice.name
        else:
            note, device = self.session.move_to(name), str(self.session.device)
        if note:
            self.notice_posted.emit(note)
        self.device_changed.emit(device)

    @Slot(object)
    def decode(self, request: DecodeRequest) -> None:
        rid = request.request_id
        if self.control.is_superseded(rid):
            return  # a newer request is already queued behind this one
        if self.session is None:
            self.decode_failed.emit(rid, "No model is loaded: open a model first.")
            return
        try:
            for item in self.session.decode(request, self.control):
                if isinstance(item, StepRecord):
                    self.step_decoded.emit(item)
                else:
                    self.decode_finished.emit(item)
                    return
        except InputError as exc:
            self.decode_failed.emit(rid, str(exc))
            return
        except Exception as exc:  # a model failure ends this request only; the worker serves the next
            self.decode_failed.emit(rid, f"Decoding failed: {type(exc).__name__}: {exc}")
            return
        self.decode_cancelled.emit(rid)  # the generator stopped early: cancelled or superseded


class EngineController(QObject):
    """Create in the GUI thread; call shutdown() before the application exits (also done on aboutToQuit)."""

    model_loaded = Signal(object)  # ModelInfo: path, description, card, device, messages
    model_load_failed = Signal(str)  # readable message; the previous model stays loaded
    step_decoded = Signal(object)  # StepRecord of the latest request
    decode_finished = Signal(object)  # DecodeResult of the latest request
    decode_failed = Signal(int, str)  # request id, readable message
    decode_cancelled = Signal(int)  # request id
    device_changed = Signal(str)  # the device now in use, e.g. "cpu", "cuda:0", "mps"
    notice_posted = Signal(str)  # a one-line note for the status bar, e.g. a device fallback

    _load_requested = Signal(str, str)  # path, device
    _decode_requested = Signal(object)  # DecodeRequest
    _device_requested = Signal(str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._control = DecodeControl()
        self._latest = 0
        self._cancelled = 0  # the user cancelled every request up to this id
        self._busy = False
        self._closed = False
        self._model_info: ModelInfo | None = None
        self._thread = QThread()
        self._thread.setObjectName("attnscope-engine")
        self._worker = EngineWorker(self._control)
        self._worker.moveToThread(self._thread)
        self._thread.finished.connect(self._worker.deleteLater)
        self._wire()
        self._thread.start()
        app = QCoreApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self.shutdown)

    def _wire(self) -> None:
        w = self._worker
        self._load_requested.connect(w.load_model)
        self._decode_requested.connect(w.decode)
        self._device_requested.connect(w.change_device)
        # Slots of this GUI-thread object, never lambdas: a lambda would run on the worker thread.
        w.model_loaded.connect(self._on_model_loaded)
        w.model_load_failed.connect(self._on_model_load_failed)
        w.step_decoded.connect(self._on_step_decoded)
        w.decode_finished.connect(self._on_decode_finished)
        w.decode_failed.connect(self._on_decode_failed)
        w.decode_cancelled.connect(self._on_decode_cancelled)
        w.device_changed.connect(self._on_device_changed)
        w.notice_posted.connect(self._on_notice_posted)

    # -- state -------------------------------------------------------------------------------------

    @property
    def model_info(self) -> ModelInfo | None:
        """The model last loaded successfully."""
        return self._model_info

    @property
    def busy(self) -> bool:
        """A submitted request has not ended yet."""
        return self._busy

    @property
    def latest_request_id(self) -> int:
        return self._latest

    @property
    def paused(self) -> bool:
        return self._control.paused

    @property
    def delay(self) -> float:
        return self._control.delay

    # -- commands ----------------------------------------------------------------------------------

    def load_model(self, path: str, device: str = "auto") -> None:
        """Load in the background; a running decode is cancelled first.  → model_loaded or model_load_failed."""
        self._check_open()
        self.cancel()
        self._load_requested.emit(str(path), device)

    def submit(self, source: str, **options: Any) -> int:
        """Start decoding `source`; options are DecodeRequest fields (strategy, target, beam_width, ...).

        Returns the new request id.  Any request still running stops within one step and ends silently.
        """
        self._check_open()
        request = DecodeRequest(request_id=self._latest + 1, source=source, **options)  # TypeError: bad option
        self._latest = request.request_id
        self._busy = True
        self._control.begin(request.request_id)
        self._decode_requested.emit(request)
        return request.request_id

    def cancel(self) -> None:
        """Stop the running request; it ends with decode_cancelled and no step of it arrives after this call."""
        if self._busy:
            self._cancelled = self._latest
        self._control.cancel()

    def pause(self) -> None:
        self._control.pause()

    def resume(self) -> None:
        self._control.resume()

    def step_once(self) -> None:
        """Allow exactly one more step (pausing first if running)."""
        self._control.step_once()

    def set_delay(self, seconds: float) -> None:
        """Wait this long between steps (clamped to 0..2 s); takes effect at once, even mid-wait."""
        self._control.set_delay(seconds)

    def set_device(self, name: str) -> None:
        """ "auto", "cpu", "cuda", "cuda:1", "mps"; a running decode is cancelled first. → device_changed."""
        self._check_open()
        self.cancel()
        self._device_requested.emit(name)

    def shutdown(self) -> None:
        """Stop any decode, end the engine thread and wait for it.  Safe to call twice."""
        if self._closed:
            return
        self._closed = True
        self._control.close()
        self._thread.quit()
        self._thread.wait()

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError("the engine has been shut down")

    # -- worker signals, on the GUI thread -----------------------------------------------------------

    def _current(self, request_id: int) -> bool:
        return not self._closed and request_id == self._latest

    @Slot(object)
    def _on_model_loaded(self, info: ModelInfo) -> None:
        if not self._closed:
            self._model_info = info
            self.model_loaded.emit(info)

    @Slot(str)
    def _on_model_load_failed(self, message: str) -> None:
        if not self._closed:
            self.model_load_failed.emit(message)

    @Slot(object)
    def _on_step_decoded(self, record: StepRecord) -> None:
        if self._current(record.request_id) and record.request_id > self._cancelled:
            self.step_decoded.emit(record)

    @Slot(object)
    def _on_decode_finished(self, result: DecodeResult) -> None:
        self._end(result.request_id, lambda: self.decode_finished.emit(result))

    @Slot(int, str)
    def _on_decode_failed(self, request_id: int, message: str) -> None:
        self._end(request_id, lambda: self.decode_failed.emit(request_id, message))

    @Slot(int)
    def _on_decode_cancelled(self, request_id: int) -> None:
        self._end(request_id, lambda: self.decode_cancelled.emit(request_id))

    def _end(self, request_id: int, emit: Callable[[], None]) -> None:
        """One terminal signal per current request; one the user cancelled always ends as cancelled."""
        if not self._current(request_id):
            return
        self._busy = False
        if request_id <= self._cancelled:
            self.decode_cancelled.emit(request_id)
        else:
            emit()

    @Slot(str)
    def _on_device_changed(self, device: str) -> None:
        if not self._closed:
            self.device_changed.emit(device)

    @Slot(str)
    def _on_notice_posted(self, message: str) -> None:
        if not self._closed:
            self.notice_posted.emit(message)
