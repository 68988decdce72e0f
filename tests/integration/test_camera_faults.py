"""Camera faults on the capture thread: unplugged, frozen, black; reported once, retried, recovered.

The fake is a live camera at the hardware edge only: it hands out noisy frames (as a real sensor
does), or the very same frame (a hung driver), or black, or nothing (unplugged), as the test says.
Everything above it (the scanner's threads, fault detection, backoff) is the real code.

Time is the scanner's virtual clock: each pause of the capture thread moves it on at once, so the
timers are checked in the scanner's own seconds, and no test waits for them in real time.
"""

from __future__ import annotations

import logging

import pytest

from drivers.camera.decoders import ZxingDecoder
from drivers.camera.scanner import BLACK_FAULT, FROZEN_FAULT, NO_FRAMES_FAULT, CameraScanner
from drivers.camera.sources import DeviceSource
from kiosk.ports import Decoded
from tests.fakes.camera import FakeCamera, Recorder, VirtualClock

FPS = 30
PERIOD = 1 / FPS
EPS = 1e-6  # the virtual clock adds up frame periods in floating point


def no_codes(codes: list[Decoded]) -> None:
    raise AssertionError(f"no code expected, got {codes}")


class Rig:
    """A scanner over a fake camera, on a virtual clock that its own pauses move on."""

    def __init__(self, fault_after_s: float | None = 0.3, live: bool = True) -> None:
        self.clock = VirtualClock()
        self.camera = FakeCamera(self.clock)
        self.camera.live = live
        self.events = Recorder(self.clock)
        timers = {} if fault_after_s is None else {"fault_after_s": fault_after_s}
        self.scanner = CameraScanner(
            self.camera,
            ZxingDecoder(),
            no_codes,
            self.events.on_fault,
            fps=FPS,
            on_recover=self.events.on_recover,
            clock=self.clock,
            sleep=self.clock.sleep,
            **timers,
        )

    def run_until(self, seconds: float) -> None:
        """Let the scanner run until its clock has passed ``seconds`` after the start."""
        assert self.clock.wait_for(seconds), f"the capture thread stalled before {seconds} s"


@pytest.fixture
def rig() -> Rig:
    return Rig()


@pytest.mark.parametrize(
    ("state", "fault"), [("gone", NO_FRAMES_FAULT), ("frozen", FROZEN_FAULT), ("black", BLACK_FAULT)]
)
def test_each_fault_is_reported_once_and_cleared_when_the_camera_is_back(
    rig: Rig, state: str, fault: str
) -> None:
    camera, events, scanner = rig.camera, rig.events, rig.scanner
    scanner.start()
    try:
        rig.run_until(1.0)  # good frames for three times the detection time
        assert events.faults == []
        assert scanner.fault == ""
        camera.state = state
        assert events.wait_for(lambda: len(events.faults) == 1)
        assert events.faults == [fault]
        assert camera.went_bad_at is not None
        took = events.fault_times[0] - camera.went_bad_at
        # a frozen frame is only seen as such at the second one; one more frame for rounding
        assert 0.3 - EPS <= took <= 0.3 + 3 * PERIOD, took
        assert scanner.fault == fault
        rig.run_until(events.fault_times[0] - rig.clock.start + 5.0)  # still bad, long after
        assert events.faults == [fault]
        camera.state = "ok"
        assert events.wait_for(lambda: events.recovered == [fault])
        assert scanner.fault == ""
    finally:
        assert scanner.stop()


def test_the_default_detection_time_is_two_seconds_and_a_frozen_camera_is_reopened() -> None:
    rig = Rig(fault_after_s=None)
    rig.camera.state = "frozen"
    rig.scanner.start()
    try:
        assert rig.events.wait_for(lambda: len(rig.events.faults) == 1)
        took = rig.events.fault_times[0] - rig.clock.start
        # frozen from the second frame on; reported at the first read 2 s after that, not before
        assert 2.0 + PERIOD - EPS <= took <= 2.0 + 3 * PERIOD, took
        assert rig.events.wait_for(lambda: rig.camera.reopened >= 2)
    finally:
        assert rig.scanner.stop()
    assert rig.events.faults == [FROZEN_FAULT]


def test_a_faulty_camera_is_retried_with_a_growing_pause() -> None:
    """GIVEN an unplugged camera THEN the pauses between reads double up to a second (backoff)
    instead of staying at the frame period, and so reads slow down."""
    rig = Rig(fault_after_s=0.1)
    rig.camera.state = "gone"
    rig.scanner.start()
    try:
        assert rig.events.wait_for(lambda: len(rig.events.faults) == 1)
        fault_at = rig.events.fault_times[0]
        rig.run_until(fault_at - rig.clock.start + 10.0)
        reads_at_stop = rig.camera.reads
    finally:
        assert rig.scanner.stop()
    after = [seconds for when, seconds in rig.clock.pauses if when >= fault_at]
    cap = CameraScanner.MAX_BACKOFF_S
    expected = [min(PERIOD * 2**i, cap) for i in range(8)]
    assert after[:8] == pytest.approx(expected), after[:8]
    assert all(p == pytest.approx(cap) for p in after[8:])
    # ten seconds unplugged: about 16 reads, where 30 fps would have made 300
    assert sum(1 for when, _ in rig.clock.pauses if fault_at <= when < fault_at + 10.0) < 20
    assert reads_at_stop > 0


def test_faults_flipping_between_kinds_report_the_new_kind(rig: Rig) -> None:
    camera, events, scanner = rig.camera, rig.events, rig.scanner
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
    assert events.faults == [BLACK_FAULT, NO_FRAMES_FAULT]


def test_stills_that_are_not_a_live_camera_are_never_frozen() -> None:
    """A demo's held picture repeats the same frame on purpose: no frozen fault for non-live sources."""
    rig = Rig(fault_after_s=0.1, live=False)
    rig.camera.state = "frozen"
    rig.scanner.start()
    try:
        rig.run_until(5.0)  # fifty times the detection time, all of it the very same frame
        assert rig.camera.reads >= 100
    finally:
        assert rig.scanner.stop()
    assert rig.events.faults == []


def test_a_missing_device_gives_no_frame_and_is_tried_at_most_once_a_second(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The real DeviceSource (real OpenCV) on a device index that does not exist: None, never an
    exception, and no second attempt to open it until REOPEN_INTERVAL_S has passed on its clock."""
    clock = VirtualClock()
    source = DeviceSource(97, 640, 480, 15, clock=clock)
    attempts = 0

    def count() -> int:
        return sum("camera 97: cannot open the device" in r.getMessage() for r in caplog.records)

    try:
        with caplog.at_level(logging.WARNING, logger="drivers.camera.sources"):
            assert source.read() is None
            attempts = count()
            source.reopen()
            assert source.read() is None
            assert count() == attempts  # within REOPEN_INTERVAL_S: not even tried again
            clock.advance(DeviceSource.REOPEN_INTERVAL_S)
            assert source.read() is None
            assert count() == attempts + 1
    finally:
        source.close()
    assert attempts == 1
    assert source.live
