"""Frame sources behind the ``FrameSource`` port: a camera device, a video file, a folder of images.

The scanner thread is the only reader, but the UI may close a source while the scanner is inside
``read``; every source therefore takes a lock around its OpenCV handle. ``read`` never raises: a
camera that is unplugged, a truncated file or a bad image gives ``None`` (or is skipped), and the
scanner turns a run of ``None`` into a fault for staff. A kiosk must keep selling by touch when its
camera dies, so nothing here may take the process down.

``open_source`` is the one place that reads ``camera.source`` from the settings and decides what it
means; its error names the value and what is allowed, because it ends up in front of an installer.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from drivers.camera.types import Frame, FrameSource

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp")

#: what an empty camera view looks like in the demo: a light grey the decoders find nothing in
EMPTY_GREY = 214

_Image = npt.NDArray[np.uint8]


def open_source(spec: str, width: int, height: int, fps: int, loop: bool = False) -> FrameSource:
    """Turn the ``camera.source`` setting into a frame source.

    ``width``, ``height`` and ``fps`` are requests to a camera device; files and folders keep the
    size they were recorded at (the decoders take any size), and the scanner does the pacing.
    """
    text = spec.strip() if isinstance(spec, str) else ""
    if text.isascii() and text.isdigit() and len(text) <= 3:
        return DeviceSource(int(text), width, height, fps)
    if text.startswith("/dev/") and ".." not in text and Path(text).parent.is_dir():
        # a device node such as the image's stable /dev/kiosk-camera (udev): it may not be there yet
        # (a camera plugged in later), so it is not checked here; the source opens it when it can
        return DeviceSource(text, width, height, fps)
    path = Path(text).expanduser() if text else None
    if path is not None and path.is_dir():
        return ImageFolderSource(path, loop=loop)
    if path is not None and path.is_file():
        return VideoFileSource(path, loop=loop)
    raise ValueError(
        f"camera source {spec!r} is not usable: give a camera device index such as 0, a device "
        f"such as /dev/kiosk-camera or /dev/video0, "
        f"an existing video file (e.g. .avi, .mp4), or an existing folder of "
        f"{'/'.join(s.lstrip('.') for s in IMAGE_SUFFIXES)} images"
    )


class DeviceSource:
    """A V4L2 (or other OpenCV-supported) camera, opened on the first read and reopened after a loss.

    Opening is deferred so that building the app never blocks on, or fails because of, a camera:
    a kiosk with its camera unplugged still starts and sells by touch. After a few failed reads the
    device is released and opened again (at most once a second), which is what brings a camera back
    after its USB cable was pulled and pushed in again.
    """

    FAILURES_BEFORE_REOPEN = 3
    REOPEN_INTERVAL_S = 1.0
    #: a real sensor: the scanner may call a run of identical or black frames a fault
    live = True

    def __init__(
        self,
        index: int | str,
        width: int,
        height: int,
        fps: int,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.index = index
        self.width = width
        self.height = height
        self.fps = fps
        self._clock = clock
        self._lock = threading.Lock()
        self._cap: Any = None
        self._failures = 0
        self._last_open_attempt: float | None = None
        self._closed = False

    def _open_locked(self) -> bool:
        now = self._clock()
        if self._last_open_attempt is not None and now - self._last_open_attempt < self.REOPEN_INTERVAL_S:
            return False
        self._last_open_attempt = now
        try:
            # a device path goes to the V4L2 back end by name (OpenCV would take a string for a file)
            cap = (
                cv2.VideoCapture(self.index)
                if isinstance(self.index, int)
                else cv2.VideoCapture(self.index, cv2.CAP_V4L2)
            )
            if not cap.isOpened():
                cap.release()
                log.warning("camera %s: cannot open the device; will retry", self.index)
                return False
            cap.set(cv2.CAP_PROP_FRAME_WIDTH, self.width)
            cap.set(cv2.CAP_PROP_FRAME_HEIGHT, self.height)
            cap.set(cv2.CAP_PROP_FPS, self.fps)
            # one buffered frame: the decoder should see what is in front of the lens now, not 4 frames ago
            cap.set(cv2.CAP_PROP_BUFFERSIZE, 1)
        except cv2.error as exc:
            log.warning("camera %s: cannot open the device (%s); will retry", self.index, exc)
            return False
        self._cap = cap
        self._failures = 0
        return True

    def _release_locked(self) -> None:
        if self._cap is not None:
            try:
                self._cap.release()
            except cv2.error:
                log.debug("camera %s: release failed", self.index, exc_info=True)
            self._cap = None

    def read(self) -> Frame | None:
        with self._lock:
            if self._closed:
                return None
            if self._cap is None and not self._open_locked():
                return None
            try:
                ok, frame = self._cap.read()
            except cv2.error:
                ok, frame = False, None
            if ok and frame is not None and frame.size:
                self._failures = 0
                return frame
            self._failures += 1
            if self._failures >= self.FAILURES_BEFORE_REOPEN:
                log.warning("camera %s: %d reads failed; reopening the device", self.index, self._failures)
                self._release_locked()
            return None

    def reopen(self) -> None:
        """Release the device so the next read opens it again (the scanner's answer to a frozen driver)."""
        with self._lock:
            self._release_locked()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._release_locked()


class VideoFileSource:
    """A recorded clip, for demos and tests; with ``loop`` it starts over at the end."""

    def __init__(self, path: Path, *, loop: bool = False) -> None:
        self.path = Path(path)
        self.loop = loop
        self._lock = threading.Lock()
        self._cap: Any = self._open()
        self._closed = False

    def _open(self) -> Any:
        cap = cv2.VideoCapture(str(self.path))
        if not cap.isOpened():
            cap.release()
            raise ValueError(
                f"camera source {str(self.path)!r}: OpenCV cannot read it as a video; "
                f"give a video file (e.g. MJPG .avi or .mp4) or a folder of images"
            )
        return cap

    def _read_locked(self) -> Frame | None:
        try:
            ok, frame = self._cap.read()
        except cv2.error:
            return None
        return frame if ok and frame is not None and frame.size else None

    def read(self) -> Frame | None:
        with self._lock:
            if self._closed:
                return None
            frame = self._read_locked()
            if frame is None and self.loop:
                # rewinding is not reliable for every container, so reopen when it does not work
                self._cap.set(cv2.CAP_PROP_POS_FRAMES, 0)
                frame = self._read_locked()
                if frame is None:
                    self._cap.release()
                    try:
                        self._cap = self._open()
                    except ValueError:
                        log.warning("camera: video %s can no longer be opened", self.path)
                        return None
                    frame = self._read_locked()
            return frame

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._cap.release()


class ImageFolderSource:
    """The images of a folder in name order, one per read; with ``loop`` it starts over at the end.

    A file that cannot be decoded is skipped with one warning naming it, so one bad file in a demo
    folder does not stop the others from being shown.
    """

    def __init__(self, folder: Path, *, loop: bool = False) -> None:
        self.folder = Path(folder)
        self.loop = loop
        self.files = sorted(
            p for p in self.folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES
        )
        if not self.files:
            raise ValueError(
                f"camera source {str(self.folder)!r}: the folder holds no "
                f"{'/'.join(s.lstrip('.') for s in IMAGE_SUFFIXES)} images; add some or give another source"
            )
        self._lock = threading.Lock()
        self._next = 0
        self._bad: set[Path] = set()
        self._closed = False

    def read(self) -> Frame | None:
        with self._lock:
            if self._closed:
                return None
            # at most one pass over the files per read, so a folder of only bad files gives None
            for _ in range(len(self.files)):
                if self._next >= len(self.files):
                    if not self.loop:
                        return None
                    self._next = 0
                path = self.files[self._next]
                self._next += 1
                if path in self._bad:
                    continue
                image = read_image(path)
                if image is not None:
                    return image
                self._bad.add(path)
                log.warning("camera: skipping %s: not a readable image", path)
            return None

    def close(self) -> None:
        with self._lock:
            self._closed = True


def read_image(path: Path) -> _Image | None:
    """Read an image as BGR, or None. Through a byte buffer, so non-ASCII paths work too."""
    try:
        data = np.fromfile(str(path), dtype=np.uint8)
    except OSError:
        return None
    if data.size == 0:
        return None
    try:
        image = cv2.imdecode(data, cv2.IMREAD_COLOR)
    except cv2.error:
        return None
    if image is None or image.size == 0:
        return None
    return np.asarray(image, dtype=np.uint8)


def load_image(path: Path | str) -> _Image:
    """Read an image file as BGR, or raise ValueError saying which file and what to give instead."""
    image = read_image(Path(path))
    if image is None:
        raise ValueError(f"cannot read image {str(path)!r}; give a PNG/JPEG/BMP file")
    return image


def _is_picture(image: object) -> bool:
    return (
        isinstance(image, np.ndarray)
        and image.dtype == np.uint8
        and image.size > 0
        and (image.ndim == 2 or (image.ndim == 3 and image.shape[2] in (1, 3, 4)))
    )


def letterbox(image: _Image, width: int, height: int, fill: int = EMPTY_GREY) -> _Image:
    """Fit ``image`` inside width x height without distorting it, centred on a ``fill`` background.

    Bars must keep their proportions or a 1D code stops decoding, hence fit-and-pad, not stretch.
    Enlarging uses nearest-neighbour so module edges stay sharp.
    """
    bgr: Any = image
    if bgr.ndim == 3 and bgr.shape[2] == 1:
        bgr = bgr[:, :, 0]
    if bgr.ndim == 2:
        bgr = cv2.cvtColor(bgr, cv2.COLOR_GRAY2BGR)
    elif bgr.shape[2] == 4:
        bgr = cv2.cvtColor(bgr, cv2.COLOR_BGRA2BGR)
    h, w = bgr.shape[:2]
    scale = min(width / w, height / h)
    new_w, new_h = max(1, round(w * scale)), max(1, round(h * scale))
    if (new_w, new_h) != (w, h):
        interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_NEAREST
        bgr = cv2.resize(bgr, (new_w, new_h), interpolation=interpolation)
    canvas = np.full((height, width, 3), fill, dtype=np.uint8)
    top, left = (height - new_h) // 2, (width - new_w) // 2
    canvas[top : top + new_h, left : left + new_w] = bgr
    return canvas


class HeldImageSource:
    """The demo's simulated camera: an empty grey view until someone holds a picture up to it.

    ``hold_up`` shows an image (a path or a frame) for ``hold_reads`` reads or ``hold_s`` seconds,
    whichever ends first, and then the view is empty again, as when a customer takes the phone away.
    The UI thread calls ``hold_up`` while the scanner thread reads, so both go through one lock, and
    every read hands out its own copy.
    """

    def __init__(
        self,
        width: int = 640,
        height: int = 480,
        *,
        hold_reads: int = 30,
        hold_s: float = 3.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if width < 1 or height < 1:
            raise ValueError(f"frame size {width}x{height} is not allowed; give a positive width and height")
        if hold_reads < 1 or hold_s <= 0:
            raise ValueError("hold_reads must be >= 1 and hold_s > 0")
        self.width = width
        self.height = height
        self.hold_reads = hold_reads
        self.hold_s = hold_s
        self._clock = clock
        self._lock = threading.Lock()
        self._empty = np.full((height, width, 3), EMPTY_GREY, dtype=np.uint8)
        self._held: _Image | None = None
        self._reads_left = 0
        self._until = 0.0
        self._closed = False

    def hold_up(
        self, image: Path | str | Frame, *, reads: int | None = None, seconds: float | None = None
    ) -> None:
        """Show ``image`` (a file path or a BGR/gray frame) to the camera for a while.

        Raises ValueError for a file that is not a readable image or an array that is not a picture;
        nothing is shown then.
        """
        if isinstance(image, str | Path):
            picture = load_image(image)
        elif (
            isinstance(image, np.ndarray) and image.dtype == np.uint8 and image.ndim in (2, 3) and image.size
        ):
            picture = image
        else:
            raise ValueError("hold_up needs an image file path or a uint8 image array (H x W or H x W x 3)")
        framed = letterbox(picture, self.width, self.height)
        with self._lock:
            self._held = framed
            self._reads_left = reads if reads is not None else self.hold_reads
            self._until = self._clock() + (seconds if seconds is not None else self.hold_s)

    def take_away(self) -> None:
        """Empty the view now."""
        with self._lock:
            self._held = None

    @property
    def holding(self) -> bool:
        with self._lock:
            return self._current_locked() is not None

    def _current_locked(self) -> _Image | None:
        if self._held is not None and (self._reads_left <= 0 or self._clock() >= self._until):
            self._held = None
        return self._held

    def read(self) -> Frame | None:
        with self._lock:
            if self._closed:
                return None
            held = self._current_locked()
            if held is None:
                return self._empty.copy()
            self._reads_left -= 1
            return held.copy()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._held = None
