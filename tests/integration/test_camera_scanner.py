"""CameraScanner running its thread over real sources (image folders, the demo's held image) and decoders.

Every wait is for a positive signal (a report, a decode that found or missed the code, the scanner's
virtual clock reaching a time), bounded only to end a failing test. The repeat window and the fault
timer run on a virtual clock, so no test depends on how fast this machine is.
"""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

import cv2
import numpy as np
import pytest

from drivers.camera.decoders import ZxingDecoder, make_decoder
from drivers.camera.scanner import NO_FRAMES_FAULT, CameraScanner
from drivers.camera.sources import EMPTY_GREY, HeldImageSource, ImageFolderSource
from kiosk.ports import Decoded, Frame
from kiosk.samples import SAMPLES_DIR
from tests.fakes.camera import BOUND_S, Recorder, RecordingDecoder, VirtualClock

WECHAT_OK = SAMPLES_DIR / "wechat_ok.png"
ALIPAY_OK = SAMPLES_DIR / "alipay_ok.png"
WECHAT_TEXT = "134567890123450000"
ALIPAY_TEXT = "284567890123450000"


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


def folder_with(tmp_path: Path, *images: Path) -> Path:
    for i, image in enumerate(images):
        shutil.copy(image, tmp_path / f"{i:02d}_{image.name}")
    return tmp_path


def test_nothing_runs_until_start(recorder: Recorder) -> None:
    before = set(threading.enumerate())
    scanner = CameraScanner(HeldImageSource(64, 48), ZxingDecoder(), recorder.on_codes, recorder.on_fault)
    assert set(threading.enumerate()) - before == set()
    assert not scanner.running
    assert scanner.latest_frame() is None
    assert scanner.stop() is True


@pytest.mark.parametrize("backend", ["zxing", "pyzbar"])
def test_a_code_in_a_folder_is_reported_once_from_the_scanner_thread(
    tmp_path: Path, recorder: Recorder, backend: str
) -> None:
    """GIVEN a looping folder: the code, an empty frame, the code again... (as a hand shakes)
    WHEN the decoder has seen the code three times THEN it was reported once, from the scanner thread."""
    blank = tmp_path / "blank.png"
    assert cv2.imwrite(str(blank), np.full((480, 640, 3), EMPTY_GREY, np.uint8))
    folder = tmp_path / "view"
    folder.mkdir()
    folder_with(folder, WECHAT_OK, blank)
    source = ImageFolderSource(folder, loop=True)
    decoder = RecordingDecoder(make_decoder(backend))
    scanner = CameraScanner(
        source, decoder, recorder.on_codes, recorder.on_fault, fps=30, clock=VirtualClock()
    )
    scanner.start()
    try:
        assert decoder.wait_for(lambda: decoder.found >= 3 and decoder.empty >= 2), "the code was not decoded"
        assert decoder.wait_settled()
    finally:
        assert scanner.stop()
        source.close()
    (first,) = recorder.codes[0]  # the sample shows a Code 128 and a QR of one number: reported once
    assert first.symbology in ("QRCode", "Code128")
    assert recorder.texts() == [WECHAT_TEXT]
    assert recorder.threads == {"camera-decode"}
    assert recorder.faults == []


def held_scanner(
    recorder: Recorder, clock: VirtualClock, repeat_after_s: float
) -> tuple[HeldImageSource, RecordingDecoder, CameraScanner]:
    """The demo's held picture, read at 30 fps; the repeat window on ``clock``, which stands still."""
    source = HeldImageSource(640, 480, hold_reads=1_000_000, hold_s=3600, clock=clock)
    decoder = RecordingDecoder(ZxingDecoder())
    scanner = CameraScanner(
        source,
        decoder,
        recorder.on_codes,
        recorder.on_fault,
        fps=30,
        repeat_after_s=repeat_after_s,
        clock=clock,
    )
    return source, decoder, scanner


def take_away(source: HeldImageSource, decoder: RecordingDecoder) -> None:
    """Take the picture away and wait until the decoder has seen the empty view: every frame with the
    picture is decoded and reported by then (frames are decoded in the order they were taken)."""
    with decoder.cond:
        empty_before = decoder.empty
    source.take_away()
    assert decoder.wait_for(lambda: decoder.empty > empty_before)
    assert decoder.wait_settled()


def test_a_code_is_reported_again_after_it_left_the_view(recorder: Recorder) -> None:
    clock = VirtualClock()
    source, decoder, scanner = held_scanner(recorder, clock, repeat_after_s=0.3)
    scanner.start()
    try:
        source.hold_up(WECHAT_OK)
        assert recorder.wait_for(lambda: len(recorder.codes) == 1)
        take_away(source, decoder)
        clock.advance(0.5)  # out of view for longer than repeat_after_s
        source.hold_up(WECHAT_OK)
        assert recorder.wait_for(lambda: len(recorder.codes) == 2)
        source.hold_up(ALIPAY_OK)
        assert recorder.wait_for(lambda: len(recorder.codes) == 3)
    finally:
        assert scanner.stop()
    assert recorder.texts() == [WECHAT_TEXT, WECHAT_TEXT, ALIPAY_TEXT]


def test_a_code_back_in_view_within_the_repeat_window_is_not_reported(recorder: Recorder) -> None:
    """GIVEN a code reported, taken away and shown again 0.5 s later WHEN the window is 1 s
    THEN the decoder reads it again (the positive signal) and it is not reported again."""
    clock = VirtualClock()
    source, decoder, scanner = held_scanner(recorder, clock, repeat_after_s=1.0)
    scanner.start()
    try:
        source.hold_up(WECHAT_OK)
        assert recorder.wait_for(lambda: len(recorder.codes) == 1)
        take_away(source, decoder)
        clock.advance(0.5)
        with decoder.cond:
            found_before = decoder.found
        source.hold_up(WECHAT_OK)
        assert decoder.wait_for(lambda: decoder.found >= found_before + 2), "the code was not read again"
        take_away(source, decoder)
    finally:
        assert scanner.stop()
    assert recorder.texts() == [WECHAT_TEXT]


def test_no_frames_for_two_seconds_is_one_fault(tmp_path: Path) -> None:
    """GIVEN a folder source that is not looping WHEN it runs out THEN after 2 s of no frames (the
    scanner's clock) the fault is reported once, and the scanner keeps trying rather than ending."""
    clock = VirtualClock()
    recorder = Recorder(clock)
    source = ImageFolderSource(folder_with(tmp_path, WECHAT_OK), loop=False)
    scanner = CameraScanner(
        source, ZxingDecoder(), recorder.on_codes, recorder.on_fault, fps=15, clock=clock, sleep=clock.sleep
    )
    scanner.start()
    try:
        assert recorder.wait_for(lambda: len(recorder.faults) >= 1)
        fault_after = recorder.fault_times[0] - clock.start
        assert clock.wait_for(fault_after + 10.0)  # ten more seconds of trying
        assert scanner.running
        assert recorder.wait_for(lambda: len(recorder.codes) == 1)
    finally:
        assert scanner.stop()
    # the first read had the picture; from the second (1/15 s) on nothing, for 2 s
    assert 2.0 + 1 / 15 - 1e-6 <= fault_after <= 2.0 + 3 / 15, fault_after
    assert recorder.faults == [NO_FRAMES_FAULT]
    assert recorder.texts() == [WECHAT_TEXT]


def test_fault_is_reported_again_only_after_frames_came_back() -> None:
    clock = VirtualClock()
    recorder = Recorder(clock)
    source = HeldImageSource(64, 48)
    gate = {"frames": False}

    class Flaky:
        """The held-image source, switched on and off like a camera on a loose cable."""

        def read(self) -> Frame | None:
            return source.read() if gate["frames"] else None

        def close(self) -> None:
            source.close()

    scanner = CameraScanner(
        Flaky(),
        ZxingDecoder(),
        recorder.on_codes,
        recorder.on_fault,
        fault_after_s=0.2,
        clock=clock,
        sleep=clock.sleep,
    )
    scanner.start()
    try:
        assert recorder.wait_for(lambda: len(recorder.faults) == 1)
        assert clock.wait_for(recorder.fault_times[0] - clock.start + 10.0)  # still no frames, long after
        assert recorder.faults == [NO_FRAMES_FAULT]
        gate["frames"] = True
        assert recorder.wait_for(lambda: scanner.frames_read >= 3)
        gate["frames"] = False
        assert recorder.wait_for(lambda: len(recorder.faults) == 2)
    finally:
        assert scanner.stop()
    assert recorder.faults == [NO_FRAMES_FAULT, NO_FRAMES_FAULT]


def test_latest_frame_is_a_copy_and_never_waits_for_decoding(recorder: Recorder) -> None:
    """GIVEN a decode that is stuck WHEN the preview asks for the latest frame THEN it gets it while the
    decode is still stuck (were it waiting for the decoder, it would return only after the decoder
    gave up, and the check below would fail)."""
    inside = threading.Event()
    release = threading.Event()
    gave_up = threading.Event()
    real = ZxingDecoder()

    class StuckDecoder:
        name = "stuck"

        def decode(self, frame: Frame) -> list[Decoded]:
            inside.set()
            if not release.wait(3 * BOUND_S):
                gave_up.set()
            return real.decode(frame)

    source = HeldImageSource(64, 48)
    scanner = CameraScanner(source, StuckDecoder(), recorder.on_codes, recorder.on_fault)
    scanner.start()
    try:
        assert inside.wait(BOUND_S)
        frame = scanner.latest_frame()
        assert not gave_up.is_set(), "latest_frame waited for the decoder"
        assert frame is not None
        assert frame.shape == (48, 64, 3)
        frame[:] = 0
        again = scanner.latest_frame()
        assert again is not None
        assert (again == EMPTY_GREY).all()
    finally:
        release.set()
        assert scanner.stop()


def test_pause_stops_decoding_but_not_the_preview_and_resume_reports_what_is_in_view(
    recorder: Recorder,
) -> None:
    clock = VirtualClock()  # stands still: a second report can only come from resume, never from time
    source, decoder, scanner = held_scanner(recorder, clock, repeat_after_s=1.0)
    scanner.pause()
    assert scanner.paused
    scanner.start()
    try:
        source.hold_up(WECHAT_OK)
        assert recorder.wait_for(lambda: scanner.frames_read >= 10)
        assert scanner.frames_decoded == 0
        assert decoder.begun == 0
        assert recorder.codes == []
        preview = scanner.latest_frame()
        assert preview is not None
        assert not (preview == EMPTY_GREY).all()
        scanner.resume()
        assert recorder.wait_for(lambda: len(recorder.codes) == 1)
        scanner.pause()
        scanner.resume()  # the same phone, still in view: the pay screen opened again
        assert recorder.wait_for(lambda: len(recorder.codes) == 2)
    finally:
        assert scanner.stop()
    assert recorder.texts() == [WECHAT_TEXT, WECHAT_TEXT]


def test_a_callback_that_raises_does_not_end_the_scanner() -> None:
    calls: list[list[Decoded]] = []
    first, second = threading.Event(), threading.Event()

    def explode(codes: list[Decoded]) -> None:
        calls.append(codes)
        (first if len(calls) == 1 else second).set()
        raise RuntimeError("caller bug")

    source = HeldImageSource(640, 480, hold_reads=1_000_000, hold_s=3600)
    scanner = CameraScanner(source, ZxingDecoder(), explode, fps=30, clock=VirtualClock())
    scanner.start()
    try:
        source.hold_up(WECHAT_OK)
        assert first.wait(BOUND_S)
        source.hold_up(ALIPAY_OK)  # another code: reported whatever the time
        assert second.wait(BOUND_S)
        assert scanner.running
    finally:
        assert scanner.stop()
    assert [[c.text for c in batch] for batch in calls] == [[WECHAT_TEXT], [ALIPAY_TEXT]]


def test_start_twice_is_refused_and_restart_after_stop_works(recorder: Recorder) -> None:
    scanner = CameraScanner(HeldImageSource(64, 48), ZxingDecoder(), recorder.on_codes)
    scanner.start()
    try:
        with pytest.raises(RuntimeError, match="already running"):
            scanner.start()
    finally:
        assert scanner.stop()
    assert not scanner.running
    scanner.start()
    assert scanner.running
    assert scanner.stop()


def test_bad_fps_is_refused(recorder: Recorder) -> None:
    with pytest.raises(ValueError, match="fps 0"):
        CameraScanner(HeldImageSource(64, 48), ZxingDecoder(), recorder.on_codes, fps=0)
