"""One tool's requests on a shared EngineController: submit, and hear back about those requests only.

The what-if tools decode through the main window's controller (same model, no second copy).  The
controller runs one request at a time and the latest submit wins, so a tool never submits while
someone else's decode is running (it would cut off the decode the user is watching), and it treats
a newer request from anyone as the end of its own (`lost`): a superseded request ends silently.
"""

from __future__ import annotations

from typing import Unpack

from PySide6.QtCore import QObject, Signal, Slot

from engine import DecodeOptions, DecodeResult, StepRecord
from gui.bridge.engine_controller import EngineController

BUSY_MESSAGE = "The engine is busy with another decode; try again when it ends."


class EngineClient(QObject):
    finished = Signal(object)  # DecodeResult of this client's latest request
    failed = Signal(str)  # readable message
    lost = Signal()  # cancelled, or superseded by another request

    def __init__(self, controller: EngineController, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._engine = controller
        self._pending = 0  # request id waited for; 0: none
        # Slots of this GUI-thread object (never lambdas): the controller re-emits on the GUI thread.
        controller.steps_decoded.connect(self._on_steps)
        controller.decode_finished.connect(self._on_finished)
        controller.decode_failed.connect(self._on_failed)
        controller.decode_cancelled.connect(self._on_cancelled)

    @property
    def pending(self) -> bool:
        return self._pending != 0

    def submit(self, source: str, **options: Unpack[DecodeOptions]) -> bool:
        """Start a decode; False (and `failed`) when another decode is running."""
        if self._engine.busy and not self.pending:
            self.failed.emit(BUSY_MESSAGE)
            return False
        self._engine.resume()  # a transport left paused would hold this decode at its first step
        self._pending = self._engine.submit(source, **options)
        return True

    def cancel(self) -> None:
        """Stop our request if it is still the engine's latest; otherwise just stop waiting for it."""
        if self.pending and self._engine.latest_request_id == self._pending:
            self._engine.cancel()
        self._pending = 0

    def detach(self) -> None:
        """Stop listening (teardown): the controller may outlive this client's widgets."""
        self._pending = 0
        for signal, slot in (
            (self._engine.steps_decoded, self._on_steps),
            (self._engine.decode_finished, self._on_finished),
            (self._engine.decode_failed, self._on_failed),
            (self._engine.decode_cancelled, self._on_cancelled),
        ):
            signal.disconnect(slot)

    # -- controller signals ------------------------------------------------------------------
    def _ours(self, request_id: int) -> bool:
        """True for our pending request; a newer request from anyone means ours was superseded."""
        if not self._pending:
            return False
        if request_id == self._pending:
            self._pending = 0
            return True
        if self._engine.latest_request_id != self._pending:
            self._pending = 0
            self.lost.emit()
        return False

    @Slot(object)
    def _on_steps(self, run: tuple[StepRecord, ...]) -> None:
        if self._pending and run[0].request_id != self._pending:
            self._ours(run[0].request_id)

    @Slot(object)
    def _on_finished(self, result: DecodeResult) -> None:
        if self._ours(result.request_id):
            self.finished.emit(result)

    @Slot(int, str)
    def _on_failed(self, request_id: int, message: str) -> None:
        if self._ours(request_id):
            self.failed.emit(message)

    @Slot(int)
    def _on_cancelled(self, request_id: int) -> None:
        if self._ours(request_id):
            self.lost.emit()
