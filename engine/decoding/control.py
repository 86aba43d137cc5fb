"""DecodeControl: the thread-safe flags through which a UI steers a decode running on another thread.

The decoding thread calls `wait_turn` before handing out each step; every other method may be called
from any thread and takes effect at the next turn (or at once for a thread blocked in `wait_turn`).
"""

from __future__ import annotations

import threading
import time

MAX_DELAY = 2.0  # seconds between steps, at most


class DecodeControl:
    """Cancel, pause, single step, per-step delay, and "latest request wins"."""

    def __init__(self) -> None:
        # One condition guards every flag, so a waiter re-checks them all whenever any changes.
        self._cond = threading.Condition()
        self._latest = 0
        self._cancelled = 0  # every request id up to this one was cancelled
        self._paused = False
        self._credits = 0  # steps allowed while paused
        self._delay = 0.0
        self._closed = False

    # -- called by the submitting side -------------------------------------------------------

    def begin(self, request_id: int) -> None:
        """Make `request_id` the latest: any older request stops at its next turn."""
        with self._cond:
            self._latest = request_id
            self._credits = 0
            self._cond.notify_all()

    def cancel(self) -> None:
        """Cancel the latest request (and everything before it)."""
        with self._cond:
            self._cancelled = max(self._cancelled, self._latest)
            self._cond.notify_all()

    def close(self) -> None:
        """Stop every request, now and later (shutdown)."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def pause(self) -> None:
        with self._cond:
            self._paused = True
            self._cond.notify_all()

    def resume(self) -> None:
        with self._cond:
            self._paused = False
            self._credits = 0
            self._cond.notify_all()

    def step_once(self) -> None:
        """Allow exactly one more step; a running decode is paused first, so it stops after that step."""
        with self._cond:
            self._paused = True
            self._credits += 1
            self._cond.notify_all()

    def set_delay(self, seconds: float) -> None:
        """Pause between steps, clamped to [0, MAX_DELAY]; a sleep under way is re-timed at once."""
        with self._cond:
            self._delay = min(max(float(seconds), 0.0), MAX_DELAY)
            self._cond.notify_all()

    # -- state ---------------------------------------------------------------------------------

    @property
    def latest(self) -> int:
        with self._cond:
            return self._latest

    @property
    def paused(self) -> bool:
        with self._cond:
            return self._paused

    @property
    def delay(self) -> float:
        with self._cond:
            return self._delay

    def is_cancelled(self, request_id: int) -> bool:
        with self._cond:
            return request_id <= self._cancelled

    def is_superseded(self, request_id: int) -> bool:
        """A newer request came, or the engine shut down."""
        with self._cond:
            return self._closed or request_id != self._latest

    def free_running(self) -> bool:
        """Neither paused nor delayed: steps may be computed ahead of their turn (they are handed out in runs)."""
        with self._cond:
            return not self._paused and self._delay == 0.0

    def is_live(self, request_id: int) -> bool:
        with self._cond:
            return self._live(request_id)

    # -- called by the decoding thread ---------------------------------------------------------

    def wait_turn(self, request_id: int, first: bool = False) -> bool:
        """Block for the delay (not before the first step) and while paused; False: stop decoding."""
        with self._cond:
            if not first:
                self._sleep_delay(request_id)
            while self._live(request_id) and self._paused and self._credits == 0:
                self._cond.wait()
            if not self._live(request_id):
                return False
            if self._paused:
                self._credits -= 1
            return True

    def _sleep_delay(self, request_id: int) -> None:
        start = time.monotonic()
        while self._live(request_id):
            remaining = start + self._delay - time.monotonic()  # re-read: set_delay may shorten it
            if remaining <= 0:
                return
            self._cond.wait(remaining)

    def _live(self, request_id: int) -> bool:
        return not self._closed and request_id == self._latest and request_id > self._cancelled
