"""Frame sources over real files: a folder of images, an MJPG clip written here, the demo's held image.

The camera device itself is the hardware edge: where a test needs one, ``cv2.VideoCapture`` is replaced
by a small fake camera; everything above it runs for real.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any, ClassVar

import cv2
import numpy as np
import numpy.typing as npt
import pytest

from drivers.camera.decoders import ZxingDecoder
from drivers.camera.sources import (
    EMPTY_GREY,
    DeviceSource,
    HeldImageSource,
    ImageFolderSource,
    VideoFileSource,
    letterbox,
    open_source,
)
from kiosk.ports import Decoded
from kiosk.samples import SAMPLES_DIR

Image = npt.NDArray[np.uint8]
WECHAT_OK = SAMPLES_DIR / "wechat_ok.png"


def solid(value: int, h: int = 48, w: int = 64) -> Image:
    return np.full((h, w, 3), value, np.uint8)


def write(path: Path, image: Image) -> Path:
    assert cv2.imwrite(str(path), image), path
    return path


def write_clip(path: Path, values: list[int]) -> Path:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"MJPG"), 10, (64, 48))
    assert writer.isOpened()
    for v in values:
        writer.write(solid(v))
    writer.release()
    return path


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


# --- open_source ------------------------------------------------------------------------------------


def test_open_source_picks_by_what_the_spec_is(tmp_path: Path) -> None:
    write(tmp_path / "a.png", solid(10))
    clip = write_clip(tmp_path / "clip.avi", [0, 100])
    device = open_source("0", 640, 480, 15)
    assert isinstance(device, DeviceSource)
    assert (device.index, device.width, device.height, device.fps) == (0, 640, 480, 15)
    assert isinstance(open_source(" 2 ", 320, 240, 5), DeviceSource)
    folder = open_source(str(tmp_path), 640, 480, 15, loop=True)
    assert isinstance(folder, ImageFolderSource)
    assert folder.loop
    video = open_source(str(clip), 640, 480, 15)
    assert isinstance(video, VideoFileSource)
    for s in (device, folder, video):
        s.close()


@pytest.mark.parametrize("spec", ["", "camera", "/no/such/folder", "-1", "0.5", "/dev/null/x"])
def test_open_source_refuses_what_is_neither(spec: str) -> None:
    with pytest.raises(ValueError) as err:
        open_source(spec, 640, 480, 15)
    message = str(err.value)
    assert repr(spec) in message
    assert "device index" in message
    assert "video file" in message
    assert "folder" in message


def test_open_source_refuses_a_file_that_is_not_a_video(tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("not a video", encoding="utf-8")
    with pytest.raises(ValueError, match=r"notes\.txt.*cannot read it as a video"):
        open_source(str(notes), 640, 480, 15)


def test_open_source_refuses_a_folder_without_images(tmp_path: Path) -> None:
    (tmp_path / "readme.txt").write_text("no images here", encoding="utf-8")
    with pytest.raises(ValueError, match=r"holds no png/jpg/jpeg/bmp images"):
        open_source(str(tmp_path), 640, 480, 15)


# --- ImageFolderSource ------------------------------------------------------------------------------


def test_folder_reads_images_in_name_order_and_skips_bad_ones(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    write(tmp_path / "c.bmp", solid(200))
    write(tmp_path / "a.png", solid(10))
    write(tmp_path / "b.JPG", solid(100))
    (tmp_path / "ab-broken.png").write_bytes(b"\x89PNG not really")
    (tmp_path / "notes.txt").write_text("ignored", encoding="utf-8")
    source = ImageFolderSource(tmp_path)
    with caplog.at_level(logging.WARNING, logger="drivers.camera.sources"):
        frames = [source.read() for _ in range(5)]
    got = [None if f is None else round(float(f.mean()) / 10) * 10 for f in frames]
    assert got == [10, 100, 200, None, None]
    warnings = [r.getMessage() for r in caplog.records]
    assert len(warnings) == 1
    assert "ab-broken.png" in warnings[0]


def test_folder_loops_and_warns_once_per_bad_file(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    write(tmp_path / "1.png", solid(50))
    (tmp_path / "2.png").write_bytes(b"")
    write(tmp_path / "3.png", solid(150))
    source = ImageFolderSource(tmp_path, loop=True)
    with caplog.at_level(logging.WARNING, logger="drivers.camera.sources"):
        means = [round(float(f.mean())) for f in (source.read() for _ in range(6)) if f is not None]
    assert means == [50, 150, 50, 150, 50, 150]
    assert sum("2.png" in r.getMessage() for r in caplog.records) == 1


def test_folder_of_only_bad_images_gives_none(tmp_path: Path) -> None:
    (tmp_path / "x.png").write_bytes(b"garbage")
    source = ImageFolderSource(tmp_path, loop=True)
    assert source.read() is None
    assert source.read() is None


def test_folder_source_gives_nothing_after_close(tmp_path: Path) -> None:
    write(tmp_path / "a.png", solid(10))
    source = ImageFolderSource(tmp_path, loop=True)
    source.close()
    assert source.read() is None


# --- VideoFileSource --------------------------------------------------------------------------------


def test_video_file_plays_once_then_gives_none(tmp_path: Path) -> None:
    source = VideoFileSource(write_clip(tmp_path / "clip.avi", [0, 80, 160, 240]))
    frames = [source.read() for _ in range(6)]
    levels = [None if f is None else round(float(f.mean()) / 80) for f in frames]
    assert levels == [0, 1, 2, 3, None, None]
    assert frames[0] is not None
    assert frames[0].shape == (48, 64, 3)
    source.close()
    assert source.read() is None


def test_video_file_loops(tmp_path: Path) -> None:
    source = VideoFileSource(write_clip(tmp_path / "clip.avi", [0, 120, 240]), loop=True)
    levels = []
    for _ in range(8):
        frame = source.read()
        assert frame is not None
        levels.append(round(float(frame.mean()) / 120))
    assert levels == [0, 1, 2, 0, 1, 2, 0, 1]
    source.close()


# --- DeviceSource (fake camera at the cv2.VideoCapture edge) -----------------------------------------


class FakeCamera:
    """Stands in for cv2.VideoCapture(index): records what was asked and serves a script of reads."""

    opened: ClassVar[list[FakeCamera]] = []
    plugged_in: ClassVar[bool] = True
    script: ClassVar[list[bool]] = []

    def __init__(self, index: int | str, api: int | None = None) -> None:
        self.index = index
        self.api = api
        self.props: dict[int, float] = {}
        self.released = False
        FakeCamera.opened.append(self)

    def isOpened(self) -> bool:
        return FakeCamera.plugged_in

    def set(self, prop: int, value: float) -> bool:
        self.props[prop] = value
        return True

    def read(self) -> tuple[bool, Any]:
        ok = FakeCamera.script.pop(0) if FakeCamera.script else True
        return (True, solid(77)) if ok else (False, None)

    def release(self) -> None:
        self.released = True


@pytest.fixture
def fake_camera(monkeypatch: pytest.MonkeyPatch) -> type[FakeCamera]:
    FakeCamera.opened = []
    FakeCamera.plugged_in = True
    FakeCamera.script = []
    monkeypatch.setattr(cv2, "VideoCapture", FakeCamera)
    return FakeCamera


def test_device_opens_on_first_read_with_the_requested_mode(fake_camera: type[FakeCamera]) -> None:
    source = DeviceSource(1, 800, 600, 20)
    assert fake_camera.opened == []
    frame = source.read()
    assert frame is not None
    assert (len(fake_camera.opened), fake_camera.opened[0].index) == (1, 1)
    props = fake_camera.opened[0].props
    assert props[cv2.CAP_PROP_FRAME_WIDTH] == 800
    assert props[cv2.CAP_PROP_FRAME_HEIGHT] == 600
    assert props[cv2.CAP_PROP_FPS] == 20
    source.close()
    assert fake_camera.opened[0].released
    assert source.read() is None


def test_unplugged_device_gives_none_and_is_retried_at_most_once_a_second(
    fake_camera: type[FakeCamera],
) -> None:
    clock = FakeClock()
    fake_camera.plugged_in = False
    source = DeviceSource(0, 640, 480, 15, clock=clock)
    assert [source.read() for _ in range(5)] == [None] * 5
    assert len(fake_camera.opened) == 1
    clock.now += 1.5
    fake_camera.plugged_in = True
    assert source.read() is not None
    assert len(fake_camera.opened) == 2


def test_device_is_reopened_after_repeated_failed_reads(fake_camera: type[FakeCamera]) -> None:
    clock = FakeClock()
    source = DeviceSource(0, 640, 480, 15, clock=clock)
    fake_camera.script = [True, False, False, False]
    assert source.read() is not None
    assert [source.read() for _ in range(3)] == [None, None, None]
    assert fake_camera.opened[0].released
    clock.now += 2
    assert source.read() is not None
    assert len(fake_camera.opened) == 2


def test_real_opencv_on_a_missing_device_gives_none() -> None:
    source = DeviceSource(63, 640, 480, 15)
    assert source.read() is None
    source.close()


# --- HeldImageSource ---------------------------------------------------------------------------------


def test_held_source_is_an_empty_grey_view_until_something_is_held_up() -> None:
    source = HeldImageSource(640, 480)
    frame = source.read()
    assert frame is not None
    assert frame.shape == (480, 640, 3)
    assert frame.dtype == np.uint8
    assert (frame == EMPTY_GREY).all()
    assert ZxingDecoder().decode(frame) == []
    assert not source.holding


def test_held_image_is_shown_for_n_reads_then_taken_away() -> None:
    source = HeldImageSource(640, 480, hold_reads=3, hold_s=60)
    source.hold_up(WECHAT_OK)
    assert source.holding
    decoder = ZxingDecoder()
    seen = [decoder.decode(source.read()) for _ in range(4)]
    code = Decoded("QRCode", "134567890123450000")
    assert [code in s for s in seen] == [True, True, True, False]
    assert not source.holding


def test_held_image_is_shown_for_t_seconds() -> None:
    clock = FakeClock()
    source = HeldImageSource(320, 240, hold_reads=1000, hold_s=2.0, clock=clock)
    picture = solid(0, 240, 320)
    source.hold_up(picture)
    first = source.read()
    assert first is not None
    assert (first == 0).all()
    clock.now += 1.9
    second = source.read()
    assert second is not None
    assert (second == 0).all()
    clock.now += 0.2
    third = source.read()
    assert third is not None
    assert (third == EMPTY_GREY).all()


def test_hold_up_overrides_per_call_and_take_away_empties_at_once() -> None:
    source = HeldImageSource(64, 48, hold_reads=1)
    source.hold_up(solid(0), reads=5)
    for _ in range(3):
        frame = source.read()
        assert frame is not None
        assert (frame == 0).all()
    source.take_away()
    empty = source.read()
    assert empty is not None
    assert (empty == EMPTY_GREY).all()


def test_held_frames_are_copies() -> None:
    source = HeldImageSource(64, 48, hold_reads=5)
    source.hold_up(solid(0))
    first = source.read()
    assert first is not None
    first[:] = 255
    second = source.read()
    assert second is not None
    assert (second == 0).all()
    empty = HeldImageSource(64, 48)
    e1 = empty.read()
    assert e1 is not None
    e1[:] = 0
    e2 = empty.read()
    assert e2 is not None
    assert (e2 == EMPTY_GREY).all()


def test_hold_up_refuses_what_is_not_an_image(tmp_path: Path) -> None:
    source = HeldImageSource(64, 48)
    bogus = tmp_path / "bogus.png"
    bogus.write_text("not a picture", encoding="utf-8")
    with pytest.raises(ValueError, match=r"bogus\.png.*PNG/JPEG"):
        source.hold_up(bogus)
    with pytest.raises(ValueError, match="missing"):
        source.hold_up(tmp_path / "missing.png")
    for bad in (np.zeros((4, 4), np.float32), np.zeros((0, 4), np.uint8), np.zeros((4, 4, 2), np.uint8), "x"):
        with pytest.raises(ValueError):
            source.hold_up(bad)
    frame = source.read()
    assert frame is not None
    assert (frame == EMPTY_GREY).all()


def test_held_source_refuses_a_silly_size() -> None:
    with pytest.raises(ValueError, match="0x480"):
        HeldImageSource(0, 480)


def test_held_source_is_safe_to_use_from_two_threads() -> None:
    """GIVEN the UI thread holding pictures up WHEN the scanner thread reads at the same time THEN every
    frame is whole: the full size, and either all held picture or all empty grey."""
    source = HeldImageSource(64, 48, hold_reads=2)
    errors: list[BaseException] = []
    done = threading.Event()

    def ui() -> None:
        try:
            for i in range(300):
                source.hold_up(solid(i % 2 * 255), reads=2)
        except BaseException as exc:
            errors.append(exc)
        finally:
            done.set()

    thread = threading.Thread(target=ui)
    thread.start()
    frames = 0
    while not done.is_set() and frames < 5000:
        frame = source.read()
        assert frame is not None
        assert frame.shape == (48, 64, 3)
        assert len(np.unique(frame)) == 1
        frames += 1
    thread.join(10)  # bounds a failing test only: the UI thread's 300 calls end long before
    assert not thread.is_alive()
    assert errors == []


# --- letterbox ----------------------------------------------------------------------------------------


def test_letterbox_keeps_proportions_and_centres() -> None:
    wide = np.zeros((50, 100), np.uint8)
    framed = letterbox(wide, 640, 480)
    assert framed.shape == (480, 640, 3)
    rows_with_picture = np.where((framed == 0).all(axis=(1, 2)))[0]
    assert (rows_with_picture.min(), rows_with_picture.max()) == (80, 399)
    assert (framed[:80] == EMPTY_GREY).all()
    assert (framed[400:] == EMPTY_GREY).all()


def test_letterbox_shrinks_a_big_picture_and_keeps_it_readable() -> None:
    image = cv2.imread(str(WECHAT_OK))
    assert image is not None
    big = cv2.resize(image, (1280, 960), interpolation=cv2.INTER_NEAREST)
    framed = letterbox(np.asarray(big, np.uint8), 640, 480)
    assert framed.shape == (480, 640, 3)
    assert Decoded("QRCode", "134567890123450000") in ZxingDecoder().decode(framed)


def test_letterbox_takes_bgra() -> None:
    bgra = np.zeros((10, 10, 4), np.uint8)
    assert letterbox(bgra, 20, 10).shape == (10, 20, 3)


def test_a_device_path_opens_through_v4l2_even_before_it_exists(fake_camera: type[FakeCamera]) -> None:
    """The image's udev rule names the camera /dev/kiosk-camera; a kiosk whose camera is not plugged
    in yet must still start, so the path is taken as it is and opened at the first read."""
    source = open_source("/dev/kiosk-camera", 640, 480, 15)
    assert isinstance(source, DeviceSource)
    assert source.read() is not None
    assert (fake_camera.opened[0].index, fake_camera.opened[0].api) == ("/dev/kiosk-camera", cv2.CAP_V4L2)
    source.close()


def test_a_path_outside_dev_that_does_not_exist_is_still_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="/dev/kiosk-camera"):
        open_source(str(tmp_path / "nope.avi"), 640, 480, 15)
