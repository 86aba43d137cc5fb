"""EngineController with its worker thread, driven through signals with pytest-qt."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import torch
from pytestqt.qtbot import QtBot

from engine import DecodeRequest, DecodeResult, InferenceSession, ModelInfo, StepRecord
from gui.bridge.engine_controller import EngineController
from tests.fakes import fail_device_moves, fail_on_step

WAIT_MS = 10_000
LONG_TARGET = " ".join(f"w{i % 12}" for i in range(40))  # forced decoding: 41 steps


class Recorder:
    """Collects every signal of a controller, in arrival order, on the GUI thread."""

    def __init__(self, controller: EngineController) -> None:
        self.steps: list[StepRecord] = []
        self.finished: list[DecodeResult] = []
        self.failed: list[tuple[int, str]] = []
        self.cancelled: list[int] = []
        controller.steps_decoded.connect(self.steps.extend)
        controller.decode_finished.connect(self.finished.append)
        controller.decode_failed.connect(lambda rid, msg: self.failed.append((rid, msg)))
        controller.decode_cancelled.connect(self.cancelled.append)


@pytest.fixture
def controller(qtbot: QtBot) -> Iterator[EngineController]:
    ctrl = EngineController()
    yield ctrl
    ctrl.shutdown()
    assert not ctrl._thread.isRunning()


@pytest.fixture
def loaded(controller: EngineController, qtbot: QtBot, tiny_model_path: Path) -> EngineController:
    with qtbot.waitSignals([controller.model_loaded, controller.device_changed], timeout=WAIT_MS, order="strict"):
        controller.load_model(str(tiny_model_path), "cpu")
    info = controller.model_info
    assert isinstance(info, ModelInfo) and info.device == "cpu" and info.description["rnn"] == "gru"
    return controller


def finish(qtbot: QtBot, controller: EngineController, source: str, **options: Any) -> DecodeResult:
    with qtbot.waitSignal(controller.decode_finished, timeout=WAIT_MS) as blocker:
        rid = controller.submit(source, **options)
    result: DecodeResult = blocker.args[0]
    assert result.request_id == rid
    return result


def test_load_then_steps_stream_before_the_result(
    loaded: EngineController, qtbot: QtBot, tiny_model_path: Path
) -> None:
    rec = Recorder(loaded)
    result = finish(qtbot, loaded, "w1 w2 w3")
    assert [s.step for s in rec.steps] == list(range(len(result.output_tokens)))
    assert tuple(s.token for s in rec.steps) == result.output_tokens == ("w3", "w2", "w1", "<eos>")
    headless = InferenceSession.open(tiny_model_path, "cpu").run(DecodeRequest(1, "w1 w2 w3"))
    assert headless.output_tokens == result.output_tokens
    assert not loaded.busy


def test_the_last_run_arrives_before_the_result_and_before_a_late_failure(
    loaded: EngineController, qtbot: QtBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The run ending with <eos> crosses threads with the result; the controller still sends it first (saying
    that the result follows), and sends it alone before the failure if building the result fails."""
    events: list[str] = []
    loaded.steps_decoded.connect(lambda run: events.extend(r.token for r in run))
    loaded.steps_decoded.connect(lambda run: events.append(f"follows={loaded.result_follows}"))
    loaded.decode_finished.connect(lambda result: events.append("finished"))
    loaded.decode_failed.connect(lambda rid, message: events.append("failed"))
    finish(qtbot, loaded, "w1 w2 w3")
    assert events == ["w3", "w2", "w1", "<eos>", "follows=True", "finished"]
    assert not loaded.result_follows
    events.clear()
    session = loaded._worker.session
    assert session is not None

    def lost(*args: object) -> None:
        raise RuntimeError("result lost")

    monkeypatch.setattr(session, "_result", lost)
    with qtbot.waitSignal(loaded.decode_failed, timeout=WAIT_MS) as blocker:
        loaded.submit("w1 w2 w3")
    assert "result lost" in blocker.args[1]
    assert events == ["w3", "w2", "w1", "<eos>", "follows=False", "failed"]  # sent alone: no result follows


def test_a_paced_decode_sends_its_eos_step_at_once(loaded: EngineController, qtbot: QtBot) -> None:
    """Under a per-step delay every step shows as it is taken: the last is not held for the result."""
    runs: list[tuple[list[str], bool]] = []
    loaded.steps_decoded.connect(lambda run: runs.append(([r.token for r in run], loaded.result_follows)))
    loaded.set_delay(0.01)
    finish(qtbot, loaded, "w1 w2 w3")
    assert runs == [(["w3"], False), (["w2"], False), (["w1"], False), (["<eos>"], False)]


def test_cancel_mid_decode_stops_the_stream(loaded: EngineController, qtbot: QtBot) -> None:
    rec = Recorder(loaded)
    loaded.set_delay(0.05)
    with qtbot.waitSignal(loaded.steps_decoded, timeout=WAIT_MS):
        rid = loaded.submit("w1 w2", strategy="forced", target=LONG_TARGET)
    with qtbot.waitSignal(loaded.decode_cancelled, timeout=WAIT_MS) as blocker:
        loaded.cancel()
        seen = len(rec.steps)
    assert blocker.args == [rid]
    qtbot.wait(120)
    assert len(rec.steps) == seen < 41
    assert rec.finished == [] and rec.failed == []


def test_pause_then_single_steps(loaded: EngineController, qtbot: QtBot) -> None:
    rec = Recorder(loaded)
    loaded.pause()
    loaded.submit("w1 w2 w3 w4")
    qtbot.wait(150)
    assert rec.steps == []
    for expected in (1, 2):
        with qtbot.waitSignal(loaded.steps_decoded, timeout=WAIT_MS):
            loaded.step_once()
        qtbot.wait(150)
        assert [s.step for s in rec.steps] == list(range(expected))  # exactly one more each time
    with qtbot.waitSignal(loaded.decode_finished, timeout=WAIT_MS):
        loaded.resume()
    assert len(rec.steps) == len(rec.finished[0].output_tokens) == 5


def test_a_newer_request_drops_the_stale_one(loaded: EngineController, qtbot: QtBot) -> None:
    loaded.set_delay(0.03)
    with qtbot.waitSignal(loaded.steps_decoded, timeout=WAIT_MS):
        first = loaded.submit("w1 w2", strategy="forced", target=LONG_TARGET)
    rec = Recorder(loaded)  # only what arrives after the second submit
    result = finish(qtbot, loaded, "w5 w6")
    assert {s.request_id for s in rec.steps} == {result.request_id} != {first}
    assert result.output_tokens == ("w6", "w5", "<eos>")
    qtbot.wait(100)
    assert rec.cancelled == [] and rec.failed == [] and len(rec.finished) == 1


def test_model_exception_fails_that_request_only(
    loaded: EngineController, qtbot: QtBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    session = loaded._worker.session
    assert session is not None
    fail_on_step(monkeypatch, session, 2, RuntimeError("simulated kernel failure"))
    with qtbot.waitSignal(loaded.decode_failed, timeout=WAIT_MS) as blocker:
        rid = loaded.submit("w1 w2 w3")
    assert blocker.args[0] == rid
    assert "simulated kernel failure" in blocker.args[1] and "RuntimeError" in blocker.args[1]
    assert finish(qtbot, loaded, "w1 w2 w3").output_tokens == ("w3", "w2", "w1", "<eos>")


def test_out_of_memory_fails_that_request_with_advice(
    loaded: EngineController, qtbot: QtBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    session = loaded._worker.session
    assert session is not None
    fail_on_step(monkeypatch, session, 3, torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB"))
    with qtbot.waitSignal(loaded.decode_failed, timeout=WAIT_MS) as blocker:
        rid = loaded.submit("w1 w2 w3", strategy="beam", beam_width=3)
    assert blocker.args[0] == rid
    assert blocker.args[1].startswith("Out of memory while decoding on cpu") and "smaller beam width" in blocker.args[1]
    assert not loaded.busy
    assert finish(qtbot, loaded, "w1 w2 w3").output_tokens == ("w3", "w2", "w1", "<eos>")


def test_a_failing_device_falls_back_to_the_cpu(
    loaded: EngineController, qtbot: QtBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The device looks usable but moving the model there raises: the model stays on the CPU, the user is told."""
    session = loaded._worker.session
    assert session is not None
    fail_device_moves(monkeypatch, session, "CUDA error: an illegal memory access was encountered\nmore driver detail")
    notes: list[str] = []
    loaded.notice_posted.connect(notes.append)
    with qtbot.waitSignal(loaded.device_changed, timeout=WAIT_MS) as blocker:
        loaded.set_device("cuda")
    assert blocker.args == ["cpu"]
    assert notes == [
        "Could not move the model to cuda:0 (CUDA error: an illegal memory access was encountered); using the CPU."
    ]
    assert session.device == torch.device("cpu") and loaded._worker.session is session
    assert finish(qtbot, loaded, "w1 w2").output_tokens == ("w2", "w1", "<eos>")


def test_input_error_is_reported_as_failure(loaded: EngineController, qtbot: QtBot) -> None:
    with qtbot.waitSignal(loaded.decode_failed, timeout=WAIT_MS) as blocker:
        loaded.submit("   ")
    assert "empty" in blocker.args[1]


def test_decoding_without_a_model_fails_readably(controller: EngineController, qtbot: QtBot) -> None:
    with qtbot.waitSignal(controller.decode_failed, timeout=WAIT_MS) as blocker:
        controller.submit("w1")
    assert "No model" in blocker.args[1]


def test_bad_model_file_keeps_the_old_model(loaded: EngineController, qtbot: QtBot, tmp_path: Path) -> None:
    before = loaded.model_info
    bad = tmp_path / "broken.safetensors"
    bad.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json at all")
    with qtbot.waitSignal(loaded.model_load_failed, timeout=WAIT_MS) as blocker:
        loaded.load_model(str(bad))
    assert "corrupt" in blocker.args[0] or "JSON" in blocker.args[0]
    with qtbot.waitSignal(loaded.model_load_failed, timeout=WAIT_MS):
        loaded.load_model(str(tmp_path / "missing.safetensors"))
    assert loaded.model_info is before
    assert finish(qtbot, loaded, "w1 w2").output_tokens == ("w2", "w1", "<eos>")


def test_bad_hugging_face_folder_keeps_the_old_model(loaded: EngineController, qtbot: QtBot, tmp_path: Path) -> None:
    before = loaded.model_info
    folder = tmp_path / "remote_code"
    folder.mkdir()
    (folder / "config.json").write_text('{"model_type": "marian", "auto_map": {"AutoModel": "m.M"}}', encoding="utf-8")
    with qtbot.waitSignal(loaded.model_load_failed, timeout=WAIT_MS) as blocker:
        loaded.load_model(str(folder))
    assert "never runs code from a model folder" in blocker.args[0]
    assert loaded.model_info is before
    assert finish(qtbot, loaded, "w1 w2").output_tokens == ("w2", "w1", "<eos>")


def test_set_device_reports_the_device_in_use(loaded: EngineController, qtbot: QtBot) -> None:
    with qtbot.waitSignal(loaded.device_changed, timeout=WAIT_MS) as blocker:
        loaded.set_device("cpu")
    assert blocker.args == ["cpu"]
    events: list[str] = []
    loaded.notice_posted.connect(events.append)
    loaded.device_changed.connect(events.append)
    with qtbot.waitSignal(loaded.device_changed, timeout=WAIT_MS):
        loaded.set_device("nonsense-device")
    assert events == ["Unknown device 'nonsense-device' (try cpu, cuda, cuda:1 or mps); using the CPU.", "cpu"]
    assert finish(qtbot, loaded, "w1 w2").output_tokens == ("w2", "w1", "<eos>")


def test_shutdown_is_clean_and_idempotent(loaded: EngineController, qtbot: QtBot) -> None:
    loaded.set_delay(0.5)
    loaded.pause()
    loaded.submit("w1 w2", strategy="forced", target=LONG_TARGET)  # blocked inside a decode
    qtbot.wait(50)
    loaded.shutdown()
    assert loaded._thread.isFinished() and not loaded._thread.isRunning()
    loaded.shutdown()
    with pytest.raises(RuntimeError):
        loaded.submit("w1")


def test_emit_endurance_thousands_of_step_signals(loaded: EngineController, qtbot: QtBot) -> None:
    """Guards the PySide6 6.12 bool_dealloc abort (after ~500 emits): every one of 2,048 steps arrives, each
    in a signal of its own (a per-step delay hands every step out alone; free-running ones come in runs)."""
    target = " ".join(f"w{i % 12}" for i in range(1023))
    rec = Recorder(loaded)
    runs: list[tuple[StepRecord, ...]] = []
    loaded.steps_decoded.connect(runs.append)
    loaded.set_delay(1e-4)
    for _ in range(2):
        finish(qtbot, loaded, "w1 w2 w3", strategy="forced", target=target)
    loaded.set_delay(0.0)
    assert len(runs) == len(rec.steps) == 2048
    assert [s.step for s in rec.steps[:1024]] == list(range(1024))
