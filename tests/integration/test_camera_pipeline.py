"""The threaded scan pipeline end to end over a recorded video: capture thread, one-slot queue, decode worker.

Every wait is bounded; no test asserts a time.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import pytest

from drivers.camera.decoders import ZxingDecoder
from drivers.camera.scanner import CameraScanner, Roi
from drivers.camera.sources import EMPTY_GREY, HeldImageSource, VideoFileSource, load_image
from kiosk.ports import Decoded, Frame
from kiosk.samples import SAMPLES_DIR

WECHAT_OK = SAMPLES_DIR / "wechat_ok.png"
WECHAT_TEXT = "134567890123450000"


class Recorder:
    def __init__(self) -> None:
        self.codes: list[Decoded] = []
        self.threads: set[str] = set()
        self.cond = threading.Condition()

    def on_codes(self, codes: list[Decoded]) -> None:
        with self.cond:
            self.threads.add(threading.current_thread().name)
            self.codes += codes
            self.cond.notify_all()

    def wait_for(self, condition: Callable[[], bool], timeout: float = 8.0) -> bool:
        deadline = time.monotonic() + timeout
        with self.cond:
            while not condition():
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self.cond.wait(min(left, 0.02))
        return True


def write_clip(path: Path, frames: list[np.ndarray], fps: int = 30) -> Path:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"MJPG"), fps, (640, 480))
    assert writer.isOpened()
    for frame in frames:
        writer.write(frame)
    writer.release()
    return path


def test_a_phone_passing_through_a_30_fps_video_is_reported_once(tmp_path: Path) -> None:
    empty = np.full((480, 640, 3), EMPTY_GREY, np.uint8)
    phone = load_image(WECHAT_OK)
    clip = write_clip(tmp_path / "pass.avi", [empty] * 10 + [phone] * 15 + [empty] * 10)
    source = VideoFileSource(clip)
    rec = Recorder()
    scanner = CameraScanner(source, ZxingDecoder(), rec.on_codes, fps=30)
    scanner.start()
    try:
        assert rec.wait_for(lambda: len(rec.codes) >= 1)
        assert rec.wait_for(lambda: scanner.frames_read >= 35)
    finally:
        assert scanner.stop()
        source.close()
    assert [c.text for c in rec.codes] == [WECHAT_TEXT]
    assert rec.threads == {"camera-decode"}
    assert scanner.last_report_captured_at is not None
    stats = scanner.stats()
    assert stats.frames_read == 35
    assert stats.codes_reported == 1
    assert stats.decode_ms_median > 0


class NumberedSource:
    """A 30 fps camera whose frames carry their own number in the first pixels."""

    def __init__(self) -> None:
        self.count = 0

    def read(self) -> Frame | None:
        self.count += 1
        frame = np.full((48, 64, 3), 200, np.uint8)
        frame[0, 0, 0], frame[0, 0, 1] = self.count % 256, self.count // 256
        return frame

    def close(self) -> None:
        pass


def test_a_slow_decoder_drops_stale_frames_and_always_gets_the_newest() -> None:
    """GIVEN a decoder 5x slower than the frame rate THEN no backlog builds: frames are dropped, and each
    frame decoded is at most a frame or two older than the newest captured when it started."""
    source = NumberedSource()
    seen: list[tuple[int, int]] = []  # (frame number decoded, newest frame number at that moment)

    class SlowDecoder:
        name = "slow"

        def decode(self, frame: Frame) -> list[Decoded]:
            seen.append((int(frame[0, 0, 0]) + 256 * int(frame[0, 0, 1]), source.count))
            time.sleep(0.15)
            return []

    rec = Recorder()
    scanner = CameraScanner(source, SlowDecoder(), rec.on_codes, fps=30)
    scanner.start()
    try:
        assert rec.wait_for(lambda: len(seen) >= 6)
        assert scanner.latest_frame() is not None
    finally:
        assert scanner.stop()
    assert scanner.frames_dropped > 0
    assert scanner.frames_decoded < scanner.frames_read
    for decoded, newest in seen[1:]:
        assert newest - decoded <= 2, seen


@pytest.mark.parametrize(
    ("roi", "found"), [(Roi(0.0, 0.0, 0.5, 1.0), True), (Roi(0.5, 0.0, 1.0, 1.0), False)]
)
def test_only_the_region_of_interest_is_decoded(roi: Roi, found: bool) -> None:
    """GIVEN the phone in the left half of the view THEN a right-half region reads nothing."""
    phone = cv2.resize(load_image(WECHAT_OK), (320, 240), interpolation=cv2.INTER_AREA)
    view = np.full((480, 640, 3), EMPTY_GREY, np.uint8)
    view[120:360, 0:320] = phone
    source = HeldImageSource(640, 480, hold_reads=10_000, hold_s=60)
    source.hold_up(view)
    rec = Recorder()
    scanner = CameraScanner(source, ZxingDecoder(), rec.on_codes, fps=30, roi=roi)
    scanner.start()
    try:
        if found:
            assert rec.wait_for(lambda: len(rec.codes) >= 1)
        else:
            assert rec.wait_for(lambda: scanner.frames_decoded >= 10)
    finally:
        assert scanner.stop()
    assert [c.text for c in rec.codes] == ([WECHAT_TEXT] if found else [])


@pytest.mark.parametrize("bad", [(0.5, 0.0, 0.5, 1.0), (-0.1, 0.0, 1.0, 1.0), (0.0, 0.0, 1.0, 1.2)])
def test_a_region_outside_the_frame_is_refused(bad: tuple[float, float, float, float]) -> None:
    with pytest.raises(ValueError, match="region of interest"):
        Roi(*bad)
