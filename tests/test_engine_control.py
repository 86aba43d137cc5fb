"""DecodeControl across threads, and device resolution."""

from __future__ import annotations

import threading
import time

import pytest
import torch

from engine import DecodeControl, available_devices, resolve_device
from engine.decoding.control import MAX_DELAY


def turn_in_thread(control: DecodeControl, request_id: int, first: bool = False) -> tuple[threading.Thread, list[bool]]:
    answer: list[bool] = []
    thread = threading.Thread(target=lambda: answer.append(control.wait_turn(request_id, first)), daemon=True)
    thread.start()
    return thread, answer


def test_an_open_control_lets_steps_through() -> None:
    control = DecodeControl()
    control.begin(1)
    assert control.wait_turn(1, first=True) and control.wait_turn(1)
    assert not control.wait_turn(2)  # not the latest request


def test_pause_blocks_until_a_single_step_is_allowed() -> None:
    control = DecodeControl()
    control.begin(1)
    control.pause()
    thread, answer = turn_in_thread(control, 1, first=True)
    thread.join(0.1)
    assert thread.is_alive() and answer == []
    control.step_once()
    thread.join(2)
    assert answer == [True]
    thread, answer = turn_in_thread(control, 1, first=True)  # the credit was used up
    thread.join(0.1)
    assert thread.is_alive()
    control.resume()
    thread.join(2)
    assert answer == [True]


def test_step_once_while_running_pauses_after_that_step() -> None:
    control = DecodeControl()
    control.begin(1)
    control.step_once()
    assert control.paused and control.wait_turn(1, first=True)
    thread, _ = turn_in_thread(control, 1, first=True)
    thread.join(0.1)
    assert thread.is_alive()
    control.cancel()
    thread.join(2)
    assert not thread.is_alive()


@pytest.mark.parametrize("wake", ["cancel", "begin", "set_delay", "close"])
def test_the_delay_is_interruptible(wake: str) -> None:
    control = DecodeControl()
    control.begin(1)
    control.set_delay(5.0)
    assert control.delay == MAX_DELAY
    start = time.monotonic()
    thread, answer = turn_in_thread(control, 1)
    thread.join(0.05)
    {
        "cancel": control.cancel,
        "begin": lambda: control.begin(2),
        "set_delay": lambda: control.set_delay(0),
        "close": control.close,
    }[wake]()
    thread.join(2)
    assert time.monotonic() - start < 1.0
    assert answer == [wake == "set_delay"]


def test_cancel_applies_to_the_current_request_only() -> None:
    control = DecodeControl()
    control.begin(1)
    control.cancel()
    assert control.is_cancelled(1) and not control.is_live(1)
    control.begin(2)
    assert control.is_live(2) and control.is_superseded(1)


def test_resolve_device() -> None:
    assert resolve_device("cpu").device == torch.device("cpu") and resolve_device("cpu").message == ""
    bad = resolve_device("tpu:0")
    assert bad.device.type == "cpu" and "tpu:0" in bad.message
    auto = resolve_device("auto")
    assert auto.message == "" and auto.device.type == ("cuda" if torch.cuda.is_available() else auto.device.type)
    assert available_devices()[:2] == ["auto", "cpu"]
    if not torch.cuda.is_available():
        missing = resolve_device("cuda:1")
        assert missing.device.type == "cpu" and "CUDA" in missing.message
