"""Camera faults on the capture thread: unplugged, frozen, black; reported once, retried, recovered.

The fake is a live camera at the hardware edge only: it hands out noisy frames (as a real sensor
does), or the very same frame (a hung driver), or black, or nothing (unplugged), as the test says.
Everything above it (the scanner's threads, fault detection, backoff) is the real code.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import numpy as np
import pytest

from drivers.camera.decoders import ZxingDecoder
from drivers.camera.scanner import BLACK_FAULT, FROZEN_FAULT, NO_FRAMES_FAULT, CameraScanner
from drivers.camera.sources import DeviceSource
from kiosk.ports import Decoded, Frame


class FakeCamera:
    """A live camera whose state the test sets: "ok", "frozen", "black" or "gone"."""

    live = True

    def __init__(self) -> None:
        self.state = "ok"
        self.reopened = 0
        self.reads = 0
        self._rng = np.random.default_rng(3)
        self._frozen = np.full((48, 64, 3), 128, np.uint8)
        self._lock = threading.Lock()

    def read(self) -> Frame | None:
        with self._lock:
            self.reads += 1
            if self.state == "gone":
                return None
            if self.state == "frozen":
                return self._frozen.copy()
            if self.state == "black":
                return self._rng.integers(0, 4, (48, 64, 3), dtype=np.uint8)
            return self._rng.integers(90, 170, (48, 64, 3), dtype=np.uint8)

    def reopen(self) -> None:
        with self._lock:
            self.reopened += 1

    def close(self) -> None:
        pass


class Events:
    def __init__(self) -> None:
        self.faults: list[tuple[str, float]] = []
        self.recovered: list[str] = []
        self.cond = threading.Condition()

    def on_fault(self, message: str) -> None:
        with self.cond:
            self.faults.append((message, time.monotonic()))
            self.cond.notify_all()

    def on_recover(self, message: str) -> None:
        with self.cond:
            self.recovered.append(message)
            self.cond.notify_all()

    def wait_for(self, condition: Callable[[], bool], timeout: float = 5.0) -> bool:
        deadline = time.monotonic() + timeout
        with self.cond:
            while not condition():
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self.cond.wait(min(left, 0.02))
        return True


def no_codes(codes: list[Decoded]) -> None:
    raise AssertionError(f"no code expected, got {codes}")


def make(camera: FakeCamera, events: Events, fault_after_s: float = 0.3) -> CameraScanner:
    return CameraScanner(
        camera,
        ZxingDecoder(),
        no_codes,
        events.on_fault,
        fps=30,
        fault_after_s=fault_after_s,
        on_recover=events.on_recover,
    )


@pytest.mark.parametrize(
    ("state", "fault"), [("gone", NO_FRAMES_FAULT), ("frozen", FROZEN_FAULT), ("black", BLACK_FAULT)]
)
def test_each_fault_is_reported_once_and_cleared_when_the_camera_is_back(state: str, fault: str) -> None:
    camera, events = FakeCamera(), Events()
    scanner = make(camera, events)
    scanner.start()
    try:
        assert events.wait_for(lambda: camera.reads >= 5)
        assert events.faults == []
        assert scanner.fault == ""
        camera.state = state
        went_bad = time.monotonic()
        assert events.wait_for(lambda: len(events.faults) == 1)
        assert events.faults[0][0] == fault
        assert events.faults[0][1] - went_bad < 2.0
        assert scanner.fault == fault
        time.sleep(0.4)  # still bad: not reported again
        assert len(events.faults) == 1
        camera.state = "ok"
        assert events.wait_for(lambda: events.recovered == [fault])
        assert scanner.fault == ""
    finally:
        assert scanner.stop()


def test_the_default_detection_time_is_two_seconds_and_a_frozen_camera_is_reopened() -> None:
    camera, events = FakeCamera(), Events()
    scanner = CameraScanner(
        camera, ZxingDecoder(), no_codes, events.on_fault, fps=30, on_recover=events.on_recover
    )
    camera.state = "frozen"
    started = time.monotonic()
    scanner.start()
    try:
        assert events.wait_for(lambda: len(events.faults) == 1, timeout=4.0)
        took = events.faults[0][1] - started
        assert 1.9 <= took < 4.0, took  # reported at the first read after 2 s, not before
        assert events.wait_for(lambda: camera.reopened >= 2)
    finally:
        assert scanner.stop()


def test_a_faulty_camera_is_retried_with_a_growing_pause() -> None:
    """GIVEN an unplugged camera THEN reads slow down (backoff) instead of spinning at the frame rate."""
    camera, events = FakeCamera(), Events()
    camera.state = "gone"
    scanner = make(camera, events, fault_after_s=0.1)
    scanner.start()
    try:
        assert events.wait_for(lambda: len(events.faults) == 1)
        before = camera.reads
        time.sleep(1.5)
        during = camera.reads - before
    finally:
        assert scanner.stop()
    assert during < 15, f"{during} reads in 1.5 s while unplugged: no backoff (30 fps would be 45)"


def test_faults_flipping_between_kinds_report_the_new_kind() -> None:
    camera, events = FakeCamera(), Events()
    scanner = make(camera, events)
    scanner.start()
    try:
        camera.state = "black"
        assert events.wait_for(lambda: len(events.faults) == 1)
        camera.state = "ok"
        assert events.wait_for(lambda: events.recovered == [BLACK_FAULT])
        camera.state = "gone"
        assert events.wait_for(lambda: len(events.faults) == 2)
    finally:
        assert scanner.stop()
    assert [f for f, _ in events.faults] == [BLACK_FAULT, NO_FRAMES_FAULT]


def test_stills_that_are_not_a_live_camera_are_never_frozen() -> None:
    """A demo's held picture repeats the same frame on purpose: no frozen fault for non-live sources."""
    camera, events = FakeCamera(), Events()
    camera.state = "frozen"
    camera.live = False
    scanner = make(camera, events, fault_after_s=0.1)
    scanner.start()
    try:
        assert events.wait_for(lambda: camera.reads >= 20)
        time.sleep(0.2)
    finally:
        assert scanner.stop()
    assert events.faults == []


def test_a_missing_device_gives_no_frame_and_can_be_reopened() -> None:
    """The real DeviceSource on a device index that does not exist: None, never an exception."""
    source = DeviceSource(97, 640, 480, 15)
    try:
        assert source.read() is None
        source.reopen()
        assert source.read() is None  # within REOPEN_INTERVAL_S: not even tried again
    finally:
        source.close()
    assert source.live
