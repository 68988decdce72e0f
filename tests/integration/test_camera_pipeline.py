"""The threaded scan pipeline end to end over a recorded video: capture thread, one-slot queue, decode worker.

Every wait is for a positive signal and bounded only to end a failing test; no test asserts a time.
"""

from __future__ import annotations

import threading
from pathlib import Path

import cv2
import numpy as np
import pytest

from drivers.camera.decoders import ZxingDecoder
from drivers.camera.scanner import CameraScanner, Roi
from drivers.camera.sources import EMPTY_GREY, HeldImageSource, VideoFileSource, load_image
from kiosk.ports import Decoded, Frame
from kiosk.samples import SAMPLES_DIR
from tests.fakes.camera import BOUND_S, Recorder, VirtualClock, wait_until

WECHAT_OK = SAMPLES_DIR / "wechat_ok.png"
WECHAT_TEXT = "134567890123450000"


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
    # the repeat window on a clock that stands still: "once" must not depend on how fast frames come
    scanner = CameraScanner(source, ZxingDecoder(), rec.on_codes, fps=30, clock=VirtualClock())
    scanner.start()
    try:
        assert rec.wait_for(lambda: len(rec.codes) >= 1)
        assert rec.wait_for(lambda: scanner.frames_read >= 35)
    finally:
        assert scanner.stop()
        source.close()
    assert rec.texts() == [WECHAT_TEXT]
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
        self.cond = threading.Condition()

    def read(self) -> Frame | None:
        with self.cond:
            self.count += 1
            number = self.count
            self.cond.notify_all()
        frame = np.full((48, 64, 3), 200, np.uint8)
        frame[0, 0, 0], frame[0, 0, 1] = number % 256, number // 256
        return frame

    def close(self) -> None:
        pass


class HeldDecoder:
    """A decoder the test holds inside ``decode`` until it lets it go: a decoder slower than the camera."""

    name = "held"

    def __init__(self) -> None:
        self.cond = threading.Condition()
        self.numbers: list[int] = []  # the number of each frame it was given, in order
        self.go = threading.Semaphore(0)

    def decode(self, frame: Frame) -> list[Decoded]:
        with self.cond:
            self.numbers.append(int(frame[0, 0, 0]) + 256 * int(frame[0, 0, 1]))
            self.cond.notify_all()
        self.go.acquire(timeout=3 * BOUND_S)
        return []


def test_a_slow_decoder_drops_stale_frames_and_always_gets_the_newest() -> None:
    """GIVEN a decode that lasts while the camera delivers five more frames THEN no backlog builds:
    the next frame decoded is the newest one (or the one just before, still on its way), never the
    frame that came right after the one being decoded."""
    source = NumberedSource()
    decoder = HeldDecoder()
    rec = Recorder()
    scanner = CameraScanner(source, decoder, rec.on_codes, fps=30)
    scanner.start()
    try:
        for round_ in range(3):
            assert wait_until(decoder.cond, lambda n=round_: len(decoder.numbers) > n)
            with source.cond:
                read_at_start = source.count
            assert wait_until(source.cond, lambda n=read_at_start: source.count >= n + 5)
            with source.cond:
                newest = source.count
            decoder.go.release()
            assert wait_until(decoder.cond, lambda n=round_: len(decoder.numbers) > n + 1)
            assert decoder.numbers[round_ + 1] >= newest - 1, (decoder.numbers, newest)
        assert scanner.latest_frame() is not None
    finally:
        decoder.go.release(100)
        assert scanner.stop()
    assert scanner.frames_dropped >= 3 * 3
    assert scanner.frames_decoded < scanner.frames_read


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
    assert rec.texts() == ([WECHAT_TEXT] if found else [])


@pytest.mark.parametrize("bad", [(0.5, 0.0, 0.5, 1.0), (-0.1, 0.0, 1.0, 1.0), (0.0, 0.0, 1.0, 1.2)])
def test_a_region_outside_the_frame_is_refused(bad: tuple[float, float, float, float]) -> None:
    with pytest.raises(ValueError, match="region of interest"):
        Roi(*bad)
