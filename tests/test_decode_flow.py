"""DecodeFlow against a stand-in controller: what the views hear of each run, the last one especially."""

from __future__ import annotations

from typing import Any, cast

from PySide6.QtCore import QObject, Signal

from engine import DecodeResult, StepRecord
from gui.bridge.decode_flow import DecodeFlow
from gui.bridge.engine_controller import EngineController
from tests.fakes import decode_start, fake_result, step_records


class FakeController(QObject):
    """The signals and calls of EngineController that DecodeFlow uses; the test emits for the engine."""

    decode_started = Signal(object)
    steps_decoded = Signal(object)
    decode_finished = Signal(object)
    decode_failed = Signal(int, str)
    decode_cancelled = Signal(int)

    def __init__(self) -> None:
        super().__init__()
        self.busy, self.paused, self._latest = False, False, 0
        self.result_follows = False

    def finish(self, last: tuple[StepRecord, ...], result: DecodeResult, *, cancelled: bool = False) -> None:
        """As the controller ends a decode whose last run crossed threads with its result."""
        self.result_follows = True
        self.steps_decoded.emit(last)
        self.result_follows = False
        if cancelled:  # the user cancelled after the worker finished
            self.decode_cancelled.emit(result.request_id)
        else:
            self.decode_finished.emit(result)

    def submit(self, source: str, **options: Any) -> int:
        self._latest += 1
        self.busy = True
        return self._latest

    def resume(self) -> None:
        self.paused = False

    def pause(self) -> None:
        self.paused = True

    def cancel(self) -> None:
        self.busy = False


def heard(flow: DecodeFlow) -> list[tuple[str, object]]:
    """(signal, what it carried) for every signal the views get, in order."""
    events: list[tuple[str, object]] = []
    flow.started.connect(lambda start: events.append(("started", list(start.source_tokens))))
    flow.steps.connect(lambda run: events.append(("steps", [r.token for r in run])))
    flow.finished.connect(lambda result: events.append(("finished", result.output_tokens)))
    flow.stopped.connect(lambda: events.append(("stopped", None)))
    flow.failed.connect(lambda message: events.append(("failed", message)))
    return events


def decode(tokens: tuple[str, ...]) -> tuple[FakeController, DecodeFlow, list[StepRecord], list[tuple[str, object]]]:
    engine = FakeController()
    flow = DecodeFlow(cast(EngineController, engine))  # the controller's signals and calls DecodeFlow uses
    events = heard(flow)
    flow.submit("turn off the lights", {"strategy": "greedy"})
    result = fake_result(output=tokens)
    engine.decode_started.emit(decode_start(result))  # the engine sends it ahead of the first steps
    return engine, flow, step_records(result), events


def test_a_decode_done_in_one_run_reaches_the_views_as_its_result_only(qtbot) -> None:
    engine, flow, records, events = decode(("लाइट", "बंद", "करो", "<eos>"))
    result = fake_result(output=("लाइट", "बंद", "करो", "<eos>"))
    engine.finish(tuple(records), result)
    assert events == [("finished", result.output_tokens)]  # the result replaces whatever the run would have drawn
    assert flow.records == records and flow.step_count() == 4


def test_runs_before_the_last_stream_to_the_views(qtbot) -> None:
    engine, flow, records, events = decode(("लाइट", "बंद", "करो", "<eos>"))
    engine.steps_decoded.emit(tuple(records[:2]))
    engine.finish(tuple(records[2:]), fake_result(output=("लाइट", "बंद", "करो", "<eos>")))
    names = [name for name, _ in events]
    assert names == ["started", "steps", "finished"]
    assert events[1] == ("steps", ["लाइट", "बंद"])
    assert flow.records == records


def test_a_last_run_is_shown_when_the_decode_ends_as_cancelled(qtbot) -> None:
    engine, flow, records, events = decode(("लाइट", "<eos>"))
    engine.finish(tuple(records), fake_result(output=("लाइट", "<eos>")), cancelled=True)
    assert [name for name, _ in events] == ["started", "steps", "stopped"]
    assert events[1] == ("steps", ["लाइट", "<eos>"]) and flow.records == records


def test_a_run_ending_with_eos_shows_at_once_unless_its_result_follows(qtbot) -> None:
    """Paced decoding sends the <eos> step on its own, as does <eos> typed inside a forced reference."""
    engine, flow, records, events = decode(("लाइट", "<eos>", "करो", "<eos>"))
    engine.steps_decoded.emit(tuple(records[:2]))
    assert events[1:] == [("steps", ["लाइट", "<eos>"])]
    engine.steps_decoded.emit(tuple(records[2:]))  # the decode's real end, sent alone
    assert events[2:] == [("steps", ["करो", "<eos>"])]
    engine.decode_failed.emit(flow.request_id, "boom")
    assert [name for name, _ in events] == ["started", "steps", "steps", "failed"]
    assert flow.records == records


def test_a_new_submit_forgets_a_held_run(qtbot) -> None:
    engine, flow, records, events = decode(("लाइट", "<eos>"))
    engine.result_follows = True
    engine.steps_decoded.emit(tuple(records))
    engine.result_follows = False
    flow.submit("turn on the lights", {"strategy": "greedy"})
    engine.decode_cancelled.emit(1)  # the old request's end: not the current one
    assert events == [] and flow.records == []
