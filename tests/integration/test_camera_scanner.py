"""CameraScanner running its thread over real sources (image folders, the demo's held image) and decoders.

Every wait is bounded; a scanner that never reports fails the test after a few seconds.
"""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import pytest

from drivers.camera.decoders import ZxingDecoder, make_decoder
from drivers.camera.scanner import NO_FRAMES_FAULT, CameraScanner
from drivers.camera.sources import EMPTY_GREY, HeldImageSource, ImageFolderSource
from kiosk.ports import Decoded, Frame
from kiosk.samples import SAMPLES_DIR

WECHAT_OK = SAMPLES_DIR / "wechat_ok.png"
ALIPAY_OK = SAMPLES_DIR / "alipay_ok.png"
WECHAT_TEXT = "134567890123450000"
ALIPAY_TEXT = "284567890123450000"


class Recorder:
    """Collects callbacks from the scanner thread; ``wait_for`` blocks (bounded) until a condition holds."""

    def __init__(self) -> None:
        self.codes: list[list[Decoded]] = []
        self.faults: list[str] = []
        self.threads: set[str] = set()
        self._cond = threading.Condition()

    def on_codes(self, codes: list[Decoded]) -> None:
        with self._cond:
            self.threads.add(threading.current_thread().name)
            self.codes.append(list(codes))
            self._cond.notify_all()

    def on_fault(self, message: str) -> None:
        with self._cond:
            self.faults.append(message)
            self._cond.notify_all()

    def wait_for(self, condition: Callable[[], bool], timeout: float = 5.0) -> bool:
        """Woken by callbacks, and polling every 20 ms for conditions on the scanner or the source."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while not condition():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._cond.wait(min(remaining, 0.02))
        return True

    def texts(self) -> list[str]:
        with self._cond:
            return [c.text for batch in self.codes for c in batch]


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


def folder_with(tmp_path: Path, *images: Path) -> Path:
    for i, image in enumerate(images):
        shutil.copy(image, tmp_path / f"{i:02d}_{image.name}")
    return tmp_path


def test_nothing_runs_until_start(recorder: Recorder) -> None:
    before = threading.active_count()
    scanner = CameraScanner(HeldImageSource(64, 48), ZxingDecoder(), recorder.on_codes, recorder.on_fault)
    assert threading.active_count() == before
    assert not scanner.running
    assert scanner.latest_frame() is None
    assert scanner.stop() is True


@pytest.mark.parametrize("backend", ["zxing", "pyzbar"])
def test_a_code_in_a_folder_is_reported_once_from_the_scanner_thread(
    tmp_path: Path, recorder: Recorder, backend: str
) -> None:
    """GIVEN a looping folder: the code, an empty frame, the code again... (as a hand shakes)
    WHEN the scanner runs for over a second THEN the code is reported once, from the scanner thread."""
    blank = tmp_path / "blank.png"
    assert cv2.imwrite(str(blank), np.full((480, 640, 3), EMPTY_GREY, np.uint8))
    folder = tmp_path / "view"
    folder.mkdir()
    folder_with(folder, WECHAT_OK, blank)
    source = ImageFolderSource(folder, loop=True)
    scanner = CameraScanner(source, make_decoder(backend), recorder.on_codes, recorder.on_fault, fps=30)
    scanner.start()
    try:
        assert recorder.wait_for(lambda: len(recorder.codes) >= 1), "no code reported within 5 s"
        deadline = time.monotonic() + 1.3
        while time.monotonic() < deadline and scanner.frames_decoded < 30:
            time.sleep(0.05)
        assert scanner.frames_decoded >= 10
    finally:
        assert scanner.stop()
        source.close()
    (first,) = recorder.codes[0]  # the sample shows a Code 128 and a QR of one number: reported once
    assert first.symbology in ("QRCode", "Code128")
    assert recorder.texts() == [WECHAT_TEXT]
    assert recorder.threads == {"camera-decode"}
    assert recorder.faults == []


def test_a_code_is_reported_again_after_it_left_the_view(recorder: Recorder) -> None:
    source = HeldImageSource(640, 480, hold_reads=3)
    scanner = CameraScanner(
        source, ZxingDecoder(), recorder.on_codes, recorder.on_fault, fps=30, repeat_after_s=0.3
    )
    scanner.start()
    try:
        source.hold_up(WECHAT_OK)
        assert recorder.wait_for(lambda: len(recorder.codes) == 1)
        assert recorder.wait_for(lambda: not source.holding)
        time.sleep(0.5)  # out of view for longer than repeat_after_s
        source.hold_up(WECHAT_OK)
        assert recorder.wait_for(lambda: len(recorder.codes) == 2)
        source.hold_up(ALIPAY_OK)
        assert recorder.wait_for(lambda: len(recorder.codes) == 3)
    finally:
        assert scanner.stop()
    assert recorder.texts() == [WECHAT_TEXT, WECHAT_TEXT, ALIPAY_TEXT]


def test_a_code_back_in_view_within_the_repeat_window_is_not_reported(recorder: Recorder) -> None:
    source = HeldImageSource(640, 480, hold_reads=2)
    scanner = CameraScanner(
        source, ZxingDecoder(), recorder.on_codes, recorder.on_fault, fps=30, repeat_after_s=30
    )
    scanner.start()
    try:
        source.hold_up(WECHAT_OK)
        assert recorder.wait_for(lambda: len(recorder.codes) == 1)
        assert recorder.wait_for(lambda: not source.holding)
        decoded_before = scanner.frames_decoded
        source.hold_up(WECHAT_OK)
        assert recorder.wait_for(lambda: not source.holding)
        assert recorder.wait_for(lambda: scanner.frames_decoded >= decoded_before + 3)
    finally:
        assert scanner.stop()
    assert recorder.texts() == [WECHAT_TEXT]


def test_no_frames_for_two_seconds_is_one_fault(tmp_path: Path, recorder: Recorder) -> None:
    """GIVEN a folder source that is not looping WHEN it runs out THEN after > 2 s of no frames the
    fault is reported once, and the scanner keeps trying rather than ending."""
    source = ImageFolderSource(folder_with(tmp_path, WECHAT_OK), loop=False)
    scanner = CameraScanner(source, ZxingDecoder(), recorder.on_codes, recorder.on_fault, fps=15)
    started = time.monotonic()
    scanner.start()
    try:
        assert recorder.wait_for(lambda: len(recorder.faults) >= 1, timeout=8)
        waited = time.monotonic() - started
        time.sleep(1.2)
        assert scanner.running
    finally:
        assert scanner.stop()
    assert waited > 2.0
    assert recorder.faults == [NO_FRAMES_FAULT]
    assert recorder.texts() == [WECHAT_TEXT]


def test_fault_is_reported_again_only_after_frames_came_back(recorder: Recorder) -> None:
    source = HeldImageSource(64, 48)
    gate = {"frames": False}

    class Flaky:
        """The held-image source, switched on and off like a camera on a loose cable."""

        def read(self) -> Frame | None:
            return source.read() if gate["frames"] else None

        def close(self) -> None:
            source.close()

    scanner = CameraScanner(Flaky(), ZxingDecoder(), recorder.on_codes, recorder.on_fault, fault_after_s=0.2)
    scanner.start()
    try:
        assert recorder.wait_for(lambda: len(recorder.faults) == 1)
        gate["frames"] = True
        assert recorder.wait_for(lambda: scanner.frames_read >= 3)
        gate["frames"] = False
        assert recorder.wait_for(lambda: len(recorder.faults) == 2)
    finally:
        assert scanner.stop()
    assert recorder.faults == [NO_FRAMES_FAULT, NO_FRAMES_FAULT]


def test_latest_frame_is_a_copy_and_never_waits_for_decoding(recorder: Recorder) -> None:
    """GIVEN a decode that is stuck WHEN the preview asks for the latest frame THEN it gets it at once."""
    inside = threading.Event()
    release = threading.Event()
    real = ZxingDecoder()

    class StuckDecoder:
        name = "stuck"

        def decode(self, frame: Frame) -> list[Decoded]:
            inside.set()
            release.wait(5)
            return real.decode(frame)

    source = HeldImageSource(64, 48)
    scanner = CameraScanner(source, StuckDecoder(), recorder.on_codes, recorder.on_fault)
    scanner.start()
    try:
        assert inside.wait(5)
        got: list[Frame | None] = []
        preview = threading.Thread(target=lambda: got.append(scanner.latest_frame()))
        preview.start()
        preview.join(1.0)
        assert not preview.is_alive(), "latest_frame waited for the decoder"
        frame = got[0]
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
    source = HeldImageSource(640, 480, hold_reads=10_000, hold_s=60)
    scanner = CameraScanner(source, ZxingDecoder(), recorder.on_codes, recorder.on_fault, fps=30)
    scanner.pause()
    assert scanner.paused
    scanner.start()
    try:
        source.hold_up(WECHAT_OK)
        assert recorder.wait_for(lambda: scanner.frames_read >= 10)
        assert scanner.frames_decoded == 0
        assert recorder.codes == []
        preview = scanner.latest_frame()
        assert preview is not None
        assert not (preview == EMPTY_GREY).all()
        scanner.resume()
        assert recorder.wait_for(lambda: len(recorder.codes) == 1)
        scanner.pause()
        time.sleep(0.1)
        scanner.resume()  # the same phone, still in view: the pay screen opened again
        assert recorder.wait_for(lambda: len(recorder.codes) == 2)
    finally:
        assert scanner.stop()
    assert recorder.texts() == [WECHAT_TEXT, WECHAT_TEXT]


def test_a_callback_that_raises_does_not_end_the_scanner() -> None:
    calls: list[list[Decoded]] = []
    done = threading.Event()

    def explode(codes: list[Decoded]) -> None:
        calls.append(codes)
        if len(calls) == 2:
            done.set()
        raise RuntimeError("caller bug")

    source = HeldImageSource(640, 480, hold_reads=2)
    scanner = CameraScanner(source, ZxingDecoder(), explode, fps=30, repeat_after_s=0.05)
    scanner.start()
    try:
        source.hold_up(WECHAT_OK)
        deadline = time.monotonic() + 5
        while len(calls) < 1 and time.monotonic() < deadline:
            time.sleep(0.02)
        while source.holding and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(0.2)
        source.hold_up(ALIPAY_OK)
        assert done.wait(5)
        assert scanner.running
    finally:
        assert scanner.stop()


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
