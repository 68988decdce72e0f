"""Clocks for tests: time that moves only when the code under test sleeps, or moves faster than real time."""

from __future__ import annotations

import threading
import time


class FakeClock:
    """Monotonic time that stands still until someone sleeps (or the test moves it): a channel's 40 s
    of polling runs in no real time, and the test can say exactly when each call happened."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now
        self.slept: list[float] = []
        self._lock = threading.Lock()

    def monotonic(self) -> float:
        with self._lock:
            return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.slept.append(seconds)
            self.now += max(0.0, seconds)

    def advance(self, seconds: float) -> None:
        with self._lock:
            self.now += seconds


class SetTime:
    """A clock the test sets by hand, called as a function (``clock()``): for code that takes its time
    source as a plain callable (the sync link's backoff, the maintenance lock's wall clock)."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class ScaledClock:
    """Real time, ``speed`` times faster: a sleep of ``s`` seconds takes ``s / speed`` real seconds and
    moves this clock on by ``s``. Timers keep their real values (WeChat Pay's 15 s reverse window is
    still 15 s on this clock), only the waiting shrinks, so a crash test can honour them by the
    hundred without starving."""

    def __init__(self, speed: float) -> None:
        if not speed >= 1:
            raise ValueError(f"speed must be at least 1, got {speed!r}")
        self.speed = speed
        self._start = time.monotonic()
        self._skipped = 0.0
        self._lock = threading.Lock()

    def monotonic(self) -> float:
        with self._lock:
            return time.monotonic() + self._skipped

    def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            return
        real = seconds / self.speed
        time.sleep(real)
        with self._lock:
            self._skipped += seconds - real
