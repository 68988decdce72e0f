"""What the camera tests run the real scan pipeline with: a virtual clock, a live camera at the hardware
edge, a decoder that reports what it saw, and a recorder of the scanner's callbacks.

None of them sleeps to let something happen. A test waits for a positive signal (a callback, a decode
that found or missed a code, the virtual clock reaching a time) with a generous bound that only ends
a failing test; a passing test never waits for the bound.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import numpy as np

from drivers.camera.types import Decoded, Decoder, Frame

#: how long a wait may take before the test fails; never reached by a passing test
BOUND_S = 10.0


def wait_until(cond: threading.Condition, check: Callable[[], bool], timeout: float = BOUND_S) -> bool:
    """Block until ``check()`` holds, re-checking whenever ``cond`` is notified (and every 20 ms, for
    conditions on objects that do not notify). False only when ``timeout`` ran out."""
    deadline = time.monotonic() + timeout
    with cond:
        while not check():
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            cond.wait(min(left, 0.02))
    return True


class VirtualClock:
    """Time for the scanner that moves only when the scanner sleeps or the test says so.

    Pass ``clock=clock`` to keep time still (the repeat window then never runs out by itself; the test
    moves it with ``advance``); pass ``sleep=clock.sleep`` as well and every pause of the capture
    thread moves time on at once, so seconds of camera trouble play out in a few milliseconds, frame
    by frame, in the order the real clock would give.
    """

    def __init__(self, start: float = 1000.0) -> None:
        self.start = start
        self._now = start
        self.cond = threading.Condition()
        #: (when, how long) for every pause of the capture thread
        self.pauses: list[tuple[float, float]] = []

    def __call__(self) -> float:
        with self.cond:
            return self._now

    def advance(self, seconds: float) -> None:
        with self.cond:
            self._now += seconds
            self.cond.notify_all()

    def sleep(self, seconds: float) -> bool:
        with self.cond:
            self.pauses.append((self._now, seconds))
            self._now += seconds
            self.cond.notify_all()
        time.sleep(0)  # let the other threads have the interpreter: this loop never blocks
        return False  # like Event.wait: "not stopped"

    def wait_for(self, seconds: float, timeout: float = BOUND_S) -> bool:
        """Block until the clock has reached ``start + seconds`` (moved on by the scanner's sleeps)."""
        return wait_until(self.cond, lambda: self._now >= self.start + seconds, timeout)


class FakeCamera:
    """A live camera whose state the test sets: "ok", "frozen", "black" or "gone".

    It hands out noisy frames as a real sensor does, the very same frame (a hung driver), black, or
    nothing (unplugged). ``went_bad_at`` is the clock's time at the first read in the current bad
    state, so a test can measure the detection time in the scanner's own time.
    """

    live = True

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._state = "ok"
        self.reopened = 0
        self.reads = 0
        self.went_bad_at: float | None = None
        self._rng = np.random.default_rng(3)
        self._frozen = np.full((48, 64, 3), 128, np.uint8)
        self._lock = threading.Lock()

    @property
    def state(self) -> str:
        return self._state

    @state.setter
    def state(self, value: str) -> None:
        with self._lock:
            self._state = value
            self.went_bad_at = None

    def read(self) -> Frame | None:
        with self._lock:
            self.reads += 1
            if self._state != "ok" and self.went_bad_at is None:
                self.went_bad_at = self._clock()
            if self._state == "gone":
                return None
            if self._state == "frozen":
                return self._frozen.copy()
            if self._state == "black":
                return self._rng.integers(0, 4, (48, 64, 3), dtype=np.uint8)
            return self._rng.integers(90, 170, (48, 64, 3), dtype=np.uint8)

    def reopen(self) -> None:
        with self._lock:
            self.reopened += 1

    def close(self) -> None:
        pass


class RecordingDecoder:
    """A real decoder, watched: how many decodes began, and which found something.

    Decoding is one thread, one frame at a time, and a frame's codes are reported before the next
    decode begins; so once a decode has *begun* after some moment, every frame taken before that
    moment has been decoded and reported. ``wait_settled`` waits for exactly that.
    """

    def __init__(self, inner: Decoder) -> None:
        self.inner = inner
        self.name = inner.name
        self.cond = threading.Condition()
        self.begun = 0
        self.found = 0
        self.empty = 0

    def decode(self, frame: Frame) -> list[Decoded]:
        with self.cond:
            self.begun += 1
            self.cond.notify_all()
        codes = self.inner.decode(frame)
        with self.cond:
            if codes:
                self.found += 1
            else:
                self.empty += 1
            self.cond.notify_all()
        return codes

    def wait_for(self, check: Callable[[], bool], timeout: float = BOUND_S) -> bool:
        return wait_until(self.cond, check, timeout)

    def wait_settled(self, timeout: float = BOUND_S) -> bool:
        """Wait until a decode begins after now: all earlier frames are decoded and reported."""
        with self.cond:
            mark = self.begun
        return self.wait_for(lambda: self.begun > mark, timeout)


class Recorder:
    """The scanner's callbacks, recorded with the thread they ran on and the clock's time."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self.codes: list[list[Decoded]] = []
        self.faults: list[str] = []
        self.fault_times: list[float] = []
        self.recovered: list[str] = []
        self.threads: set[str] = set()
        self.cond = threading.Condition()

    def on_codes(self, codes: list[Decoded]) -> None:
        with self.cond:
            self.threads.add(threading.current_thread().name)
            self.codes.append(list(codes))
            self.cond.notify_all()

    def on_fault(self, message: str) -> None:
        with self.cond:
            self.faults.append(message)
            self.fault_times.append(self._clock())
            self.cond.notify_all()

    def on_recover(self, message: str) -> None:
        with self.cond:
            self.recovered.append(message)
            self.cond.notify_all()

    def wait_for(self, check: Callable[[], bool], timeout: float = BOUND_S) -> bool:
        return wait_until(self.cond, check, timeout)

    def texts(self) -> list[str]:
        with self.cond:
            return [c.text for batch in self.codes for c in batch]
