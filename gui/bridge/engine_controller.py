"""The engine's one Qt module: a GUI-thread controller driving a worker on one long-lived QThread.

The GUI creates one EngineController, calls its methods and listens to its signals; it never
touches the worker.  Requests go to the worker as queued signals; steering (cancel, pause, step,
delay, "latest request wins") goes through a thread-safe DecodeControl, so it takes effect while
the worker is busy inside a decode.  Worker signals arrive at `@Slot` methods of the controller,
on the GUI thread, which drop anything stale before re-emitting.

Every request ends with exactly one of decode_finished / decode_failed / decode_cancelled, unless a
newer submit() superseded it: a superseded request ends silently and nothing of it arrives.
Before decode_finished, every step arrives in order, in steps_decoded runs (tuples of consecutive
StepRecords): about a frame's worth while a decode runs free, one step when paced, paused or stepped.
While a decode runs free, a run that ends with <eos> crosses threads together with the result that follows
it: one hand-over instead of two, where each costs a wake-up of the other thread.  The controller then
emits both, `result_follows` true while the run's steps_decoded is out (a view may leave those rows to the
result).

evaluate() scores models per source-length bucket (engine.evaluation.quality) on the same engine thread, so
decodes queue behind it.  It loads its own copies of the models: the decoding model stays as it is.
It ends with exactly one of evaluation_finished / evaluation_failed / evaluation_cancelled, unless a
newer evaluate() superseded it (then it ends silently, like a superseded decode).  rank_heads() ranks the loaded
transformer's cross-attention heads by word-level AER on a test TSV (engine.rank_heads on the session the window
decodes with), the same way on the same thread, with its own head_ranking_* signals: the two never supersede
each other.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Unpack

from PySide6.QtCore import QCoreApplication, QObject, QThread, Signal, SignalInstance, Slot

import engine
from engine import (
    EOS,
    CheckpointError,
    DecodeControl,
    DecodeOptions,
    DecodeRequest,
    DecodeResult,
    DecodeStart,
    EvaluationReport,
    HeadRankingReport,
    InputError,
    ModelInfo,
    Run,
    StepRecord,
)

if TYPE_CHECKING:
    from engine import InferenceSession

__all__ = ["EngineController", "EngineWorker", "EvaluationRequest"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class EvaluationRequest:
    """Models and test data to score (or with `heads`, the loaded model's heads to rank); the controller sets
    `stop` to cancel it at the next batch (the next sentence when ranking heads)."""

    request_id: int
    model_paths: tuple[str, ...]
    data_path: str
    device: str = "auto"
    batch_size: int = 32
    heads: bool = False
    stop: threading.Event = field(default_factory=threading.Event, compare=False, repr=False)


class EngineWorker(QObject):
    """Lives on the engine thread; only the controller talks to it."""

    model_loaded = Signal(object)  # ModelInfo
    model_load_failed = Signal(str)  # message
    decode_started = Signal(object)  # DecodeStart: the source and its encoder states, before any step
    steps_decoded = Signal(object)  # tuple[StepRecord, ...]: consecutive steps, handed out together
    decode_finished = Signal(object, object)  # the last run, if not sent yet (tuple, maybe empty); DecodeResult
    decode_failed = Signal(int, str)  # request id, message
    decode_cancelled = Signal(int)  # request id
    device_changed = Signal(str)  # device in use, e.g. "cpu"
    notice_posted = Signal(str)  # one-line note, e.g. a device fallback
    evaluation_progressed = Signal(int, int, int)  # request id, sentences done, total
    evaluation_finished = Signal(int, object)  # request id, report dict (a HeadRankingReport for heads)
    evaluation_failed = Signal(int, str)  # request id, message
    evaluation_cancelled = Signal(int)  # request id

    def __init__(self, control: DecodeControl, limits: dict[str, int] | None = None) -> None:
        super().__init__()
        self.control = control
        self.limits = dict(limits or {})  # InferenceSession options, e.g. max_source_tokens
        self.session: InferenceSession | None = None

    @Slot(str, str)
    def load_model(self, path: str, device: str) -> None:
        start = time.perf_counter()
        try:
            session = engine.InferenceSession.open(path, device, **self.limits)  # torch loads here, on this thread
        except (CheckpointError, OSError) as exc:
            log.warning("could not load %s: %s", path, exc)
            self.model_load_failed.emit(str(exc))
            return
        except Exception as exc:  # the previous model must survive anything a bad file triggers
            log.exception("could not load %s", path)
            self.model_load_failed.emit(f"Could not load {path}: {type(exc).__name__}: {exc}")
            return
        log.info("loaded %s on %s in %.2f s", path, session.device, time.perf_counter() - start)
        self.session = session
        self.model_loaded.emit(session.info())
        self.device_changed.emit(str(session.device))

    @Slot(str)
    def change_device(self, name: str) -> None:
        if self.session is None:
            choice = engine.resolve_device(name)
            note, device = choice.message, choice.name
        else:
            note, device = self.session.move_to(name), str(self.session.device)
        if note:
            log.warning("%s", note)
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
        last: Run = ()  # a run that ended the decode: its result comes next, so they cross in one signal
        try:
            for item in self.session.decode_runs(request, self.control):
                if isinstance(item, DecodeStart):
                    self.decode_started.emit(item)
                    continue
                if isinstance(item, DecodeResult):
                    self.decode_finished.emit(last, item)
                    return
                self._send(last)
                # Held for the result, which comes next unless <eos> was typed inside a forced reference (then
                # held for one more run); not while paced, where a step must show at once, nor while perturbing.
                held = item[-1].token == EOS and not request.perturb and self.control.free_running()
                last = item if held else ()
                if not held:
                    self.steps_decoded.emit(item)
        except InputError as exc:
            log.info("request %d refused: %s", rid, exc)
            self._send(last)
            self.decode_failed.emit(rid, str(exc))
            return
        except Exception as exc:  # a model failure ends this request only; the worker serves the next
            log.exception("decoding request %d failed on %s", rid, self.session.device)
            self._send(last)
            self.decode_failed.emit(rid, engine.failure_text(exc, self.session.device))
            return
        self._send(last)
        self.decode_cancelled.emit(rid)  # the generator stopped early: cancelled or superseded

    def _send(self, run: Run) -> None:
        if run:
            self.steps_decoded.emit(run)

    @Slot(object)
    def evaluate(self, request: EvaluationRequest) -> None:
        rid = request.request_id

        def progress(done: int, total: int) -> bool:
            self.evaluation_progressed.emit(rid, done, total)
            return not request.stop.is_set()

        try:
            if request.stop.is_set():  # cancelled while queued behind a decode
                raise engine.EvaluationCancelled
            report = self._rank_heads(request, progress) if request.heads else self._evaluate(request, progress)
        except engine.EvaluationCancelled:
            self.evaluation_cancelled.emit(rid)
        except (CheckpointError, OSError, ValueError) as exc:  # DataError is a ValueError
            log.warning("evaluation failed: %s", exc)
            self.evaluation_failed.emit(rid, str(exc))
        except Exception as exc:  # a bad model ends this evaluation only; the worker serves the next request
            log.exception("evaluation failed")
            self.evaluation_failed.emit(rid, f"Evaluation failed: {type(exc).__name__}: {exc}")
        else:
            self.evaluation_finished.emit(rid, report)

    def _evaluate(self, request: EvaluationRequest, progress: Callable[[int, int], bool]) -> EvaluationReport:
        device = engine.resolve_device(request.device).device
        engine.prepare_thread(device)
        return engine.evaluate_files(request.model_paths, request.data_path, str(device), request.batch_size, progress)

    def _rank_heads(self, request: EvaluationRequest, progress: Callable[[int, int], bool]) -> HeadRankingReport:
        """The session the window decodes with: its heads, forced through each reference (NoHeadsError: an RNN)."""
        if self.session is None:
            raise ValueError("No model is loaded: open a transformer first.")
        pairs = engine.read_eval_pairs(request.data_path)  # a bad file fails before any decoding
        path = self.session.checkpoint.path
        name = Path(path).stem if path else "model"
        return engine.rank_heads(self.session, pairs, progress, model=name, data=request.data_path)


class EngineController(QObject):
    """Create in the GUI thread; call shutdown() before the application exits (also done on aboutToQuit)."""

    model_loaded = Signal(object)  # ModelInfo: path, description, card, device, messages
    model_load_failed = Signal(str)  # readable message; the previous model stays loaded
    decode_started = Signal(object)  # DecodeStart of the latest request, before its first steps
    steps_decoded = Signal(object)  # tuple[StepRecord, ...] of the latest request: the next steps, in order
    decode_finished = Signal(object)  # DecodeResult of the latest request
    decode_failed = Signal(int, str)  # request id, readable message
    decode_cancelled = Signal(int)  # request id
    device_changed = Signal(str)  # the device now in use, e.g. "cpu", "cuda:0", "mps"
    notice_posted = Signal(str)  # a one-line note for the status bar, e.g. a device fallback
    evaluation_progressed = Signal(int, int)  # sentences scored so far, total over every model
    # report_dict(): {"models": [{"model", "buckets": [scores], "overall": scores}], "data", "notes"}
    evaluation_finished = Signal(object)
    evaluation_failed = Signal(str)  # readable message naming the bad data file or model
    evaluation_cancelled = Signal()
    head_ranking_progressed = Signal(int, int)  # sentences with gold links forced so far, their total
    head_ranking_finished = Signal(object)  # engine.HeadRankingReport
    head_ranking_failed = Signal(str)  # readable message: bad data, no gold links, a model without heads
    head_ranking_cancelled = Signal()

    _load_requested = Signal(str, str)  # path, device
    _decode_requested = Signal(object)  # DecodeRequest
    _device_requested = Signal(str)
    _evaluate_requested = Signal(object)  # EvaluationRequest

    def __init__(self, parent: QObject | None = None, *, max_source_tokens: int | None = None) -> None:
        """`max_source_tokens`: longer sources are cut there, with a note (None: the engine's default)."""
        super().__init__(parent)
        self._control = DecodeControl()
        self._latest = 0
        self._cancelled = 0  # the user cancelled every request up to this id
        self._busy = False
        self._result_follows = False
        self._closed = False
        self._model_info: ModelInfo | None = None
        self._evaluations: dict[bool, EvaluationRequest] = {}  # by `heads`: the one running or queued of each
        self._evaluation_id = 0
        self._thread = QThread()
        self._thread.setObjectName("attnscope-engine")
        limits = {} if max_source_tokens is None else {"max_source_tokens": max_source_tokens}
        self._worker = EngineWorker(self._control, limits)
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
        self._evaluate_requested.connect(w.evaluate)
        # Slots of this GUI-thread object, never lambdas: a lambda would run on the worker thread.
        w.model_loaded.connect(self._on_model_loaded)
        w.model_load_failed.connect(self._on_model_load_failed)
        w.decode_started.connect(self._on_decode_started)
        w.steps_decoded.connect(self._on_steps_decoded)
        w.decode_finished.connect(self._on_decode_finished)
        w.decode_failed.connect(self._on_decode_failed)
        w.decode_cancelled.connect(self._on_decode_cancelled)
        w.device_changed.connect(self._on_device_changed)
        w.notice_posted.connect(self._on_notice_posted)
        w.evaluation_progressed.connect(self._on_evaluation_progressed)
        w.evaluation_finished.connect(self._on_evaluation_finished)
        w.evaluation_failed.connect(self._on_evaluation_failed)
        w.evaluation_cancelled.connect(self._on_evaluation_cancelled)

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
    def result_follows(self) -> bool:
        """True while steps_decoded carries a decode's last run: its decode_finished is emitted right after it
        (or decode_cancelled, if the user cancelled it meanwhile)."""
        return self._result_follows

    @property
    def evaluating(self) -> bool:
        """An evaluate() has not ended yet."""
        return False in self._evaluations

    @property
    def ranking_heads(self) -> bool:
        """A rank_heads() has not ended yet."""
        return True in self._evaluations

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

    def submit(self, source: str, **options: Unpack[DecodeOptions]) -> int:
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

    def evaluate(self, model_paths: Sequence[str], data_path: str, device: str = "auto", batch_size: int = 32) -> None:
        """Score each model per length bucket on the test TSV; a running evaluation is superseded.

        → evaluation_progressed (from (0, total) once the models are loaded), then one of
        evaluation_finished / evaluation_failed / evaluation_cancelled.
        """
        paths = tuple(str(p) for p in model_paths)
        self._start_evaluation(EvaluationRequest(self._evaluation_id + 1, paths, str(data_path), device, batch_size))

    def cancel_evaluation(self) -> None:
        """Stop the evaluation after its current batch; it ends with evaluation_cancelled."""
        self._stop_evaluation(heads=False)

    def rank_heads(self, data_path: str) -> None:
        """Rank the loaded model's cross-attention heads on the test TSV's gold alignments; a running ranking is
        superseded.  Decodes queue behind it.

        → head_ranking_progressed (from (0, total) once the data is read), then one of head_ranking_finished /
        head_ranking_failed (also for a model without heads) / head_ranking_cancelled.
        """
        self._start_evaluation(EvaluationRequest(self._evaluation_id + 1, (), str(data_path), heads=True))

    def cancel_head_ranking(self) -> None:
        """Stop the ranking after its current sentence; it ends with head_ranking_cancelled."""
        self._stop_evaluation(heads=True)

    def _start_evaluation(self, request: EvaluationRequest) -> None:
        self._check_open()
        self._stop_evaluation(request.heads)
        self._evaluation_id = request.request_id
        self._evaluations[request.heads] = request
        self._evaluate_requested.emit(request)

    def _stop_evaluation(self, heads: bool) -> None:
        request = self._evaluations.get(heads)
        if request is not None:
            request.stop.set()

    def shutdown(self) -> None:
        """Stop any decode or evaluation, end the engine thread and wait for it.  Safe to call twice."""
        if self._closed:
            return
        self._closed = True
        self.cancel_evaluation()
        self.cancel_head_ranking()
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
    def _on_decode_started(self, start: DecodeStart) -> None:
        if self._current(start.request_id) and start.request_id > self._cancelled:
            self.decode_started.emit(start)

    @Slot(object)
    def _on_steps_decoded(self, run: tuple[StepRecord, ...]) -> None:
        rid = run[0].request_id
        if self._current(rid) and rid > self._cancelled:
            self.steps_decoded.emit(run)

    @Slot(object, object)
    def _on_decode_finished(self, last: Run, result: DecodeResult) -> None:
        if last:
            self._result_follows = True
            try:
                self._on_steps_decoded(last)
            finally:
                self._result_follows = False
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

    # -- evaluation signals, on the GUI thread ---------------------------------------------------------

    def _evaluation_for(self, request_id: int) -> EvaluationRequest | None:
        """The running evaluation or ranking if `request_id` is one (a superseded one is dropped)."""
        found = [r for r in self._evaluations.values() if r.request_id == request_id]
        return found[0] if found and not self._closed else None

    def _signal(self, request: EvaluationRequest, name: str) -> SignalInstance:
        """The signal `name` (progressed, finished, failed, cancelled) of the request's kind."""
        signal: SignalInstance = getattr(self, f"{'head_ranking' if request.heads else 'evaluation'}_{name}")
        return signal

    @Slot(int, int, int)
    def _on_evaluation_progressed(self, request_id: int, done: int, total: int) -> None:
        current = self._evaluation_for(request_id)
        if current is not None and not current.stop.is_set():
            self._signal(current, "progressed").emit(done, total)

    @Slot(int, object)
    def _on_evaluation_finished(self, request_id: int, report: EvaluationReport | HeadRankingReport) -> None:
        self._end_evaluation(request_id, "finished", report)

    @Slot(int, str)
    def _on_evaluation_failed(self, request_id: int, message: str) -> None:
        self._end_evaluation(request_id, "failed", message)

    @Slot(int)
    def _on_evaluation_cancelled(self, request_id: int) -> None:
        self._end_evaluation(request_id, "cancelled")

    def _end_evaluation(self, request_id: int, outcome: str, *value: object) -> None:
        """One terminal signal per evaluation or ranking; one the user cancelled always ends as cancelled."""
        current = self._evaluation_for(request_id)
        if current is None:
            return
        del self._evaluations[current.heads]
        if current.stop.is_set():
            self._signal(current, "cancelled").emit()
        else:
            self._signal(current, outcome).emit(*value)
