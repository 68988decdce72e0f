"""The scan pipeline: a capture thread, a one-slot queue that drops stale frames, and a decode worker.

Capture and decoding run on separate threads so that neither waits for the other:

* the **capture thread** reads the source at up to ``fps`` frames a second, keeps the newest frame for
  the preview (``latest_frame``), watches for camera faults, and puts the frame into a queue of
  **one slot**. A frame still waiting when the next one arrives is dropped (``frames_dropped``): the
  decoder must always work on what is in front of the lens now, never on a backlog;
* the **decode worker** takes the slot, crops the region of interest, decodes, and hands fresh codes to
  ``on_codes``. The caller passes them on to its own thread (the controller's ``post``).

A code that stays in view is reported once: it is reported again only after it has been out of view
for more than ``repeat_after_s``. That keeps a phone held steady from flooding the checkout. Refusing
to charge the same payment code twice is the store's job (it keeps every submitted code's SHA-256) and
``kiosk.core.dedupe.PaymentCodeGuard``'s (an in-memory, one-minute answer without a database query).

Camera faults are found on the capture thread and reported once per outage through ``on_fault``:

* ``NO_FRAMES_FAULT``: the source gave no frame for ``fault_after_s`` (unplugged, unreadable device);
* ``FROZEN_FAULT``: a live camera gave the very same pixels for ``fault_after_s`` (a hung driver; real
  sensors never repeat a frame bit for bit);
* ``BLACK_FAULT``: a live camera saw (almost) nothing but black for ``fault_after_s`` (lens covered).

A source without frames is retried with a growing pause (up to ``MAX_BACKOFF_S``); a frozen one is
asked to ``reopen()`` (if it can) with the same backoff. When good frames come back, ``on_recover``
is called with the fault that ended, and scanning goes on without a restart. Frozen and black checks
apply only to sources that say ``live = True`` (a camera device): a demo's still picture or a folder
of one image repeats frames on purpose.
"""

from __future__ import annotations

import logging
import statistics
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from drivers.camera.types import Decoded, Decoder, Frame, FrameSource
from kiosk_common.codes import mask

log = logging.getLogger(__name__)

NO_FRAMES_FAULT = "camera: no frames"
FROZEN_FAULT = "camera: frozen"
BLACK_FAULT = "camera: black"

#: mean and spread of the brightness below which a frame counts as "lens covered"
BLACK_MEAN = 16.0
BLACK_STD = 6.0


@dataclass(frozen=True, slots=True)
class Roi:
    """The part of the frame to decode, as fractions of width and height (0..1): less to scan, less to misread."""

    left: float = 0.0
    top: float = 0.0
    right: float = 1.0
    bottom: float = 1.0

    def __post_init__(self) -> None:
        if not (0.0 <= self.left < self.right <= 1.0 and 0.0 <= self.top < self.bottom <= 1.0):
            raise ValueError(
                f"region of interest {self.left},{self.top},{self.right},{self.bottom} is not allowed; "
                "give left < right and top < bottom, all between 0 and 1"
            )

    @property
    def full(self) -> bool:
        return (self.left, self.top, self.right, self.bottom) == (0.0, 0.0, 1.0, 1.0)

    def crop(self, frame: Any) -> Any:
        if self.full or not isinstance(frame, np.ndarray) or frame.ndim < 2:
            return frame
        h, w = frame.shape[:2]
        y0, y1 = int(self.top * h), max(int(self.top * h) + 1, int(self.bottom * h))
        x0, x1 = int(self.left * w), max(int(self.left * w) + 1, int(self.right * w))
        return frame[y0:y1, x0:x1]


@dataclass(frozen=True, slots=True)
class ScanStats:
    """What an installer needs to judge a camera: is it delivering, is the decoder keeping up, is it reading."""

    frames_read: int
    frames_decoded: int
    frames_dropped: int
    codes_reported: int
    decode_ms_median: float
    decode_ms_p95: float
    capture_fps: float
    fault: str


def _frame_signature(frame: Frame) -> bytes:
    """A cheap fingerprint that changes with any sensor noise: a sparse grid of raw pixels."""
    if not isinstance(frame, np.ndarray) or frame.size == 0:
        return b""
    return bytes(np.ascontiguousarray(frame[::8, ::8]).data)


def _is_black(frame: Frame) -> bool:
    if not isinstance(frame, np.ndarray) or frame.size == 0:
        return False
    sample = frame[::4, ::4]
    return float(sample.mean()) < BLACK_MEAN and float(sample.std()) < BLACK_STD


class _Slot:
    """A queue of one: ``put`` replaces whatever is waiting (and says so), ``take`` waits for the next."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._item: tuple[Frame, float] | None = None
        self._closed = False

    def put(self, frame: Frame, captured_at: float) -> bool:
        """Offer a frame; True when an older, undecoded frame was dropped to make room."""
        with self._cond:
            dropped = self._item is not None
            self._item = (frame, captured_at)
            self._cond.notify()
            return dropped

    def take(self, timeout: float) -> tuple[Frame, float] | None:
        with self._cond:
            if self._item is None and not self._closed:
                self._cond.wait(timeout)
            item, self._item = self._item, None
            return item

    def clear(self) -> None:
        with self._cond:
            self._item = None

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def open(self) -> None:
        with self._cond:
            self._closed = False
            self._item = None


#: how long stop() waits for the capture and decode threads, in all
STOP_TIMEOUT_S = 2.0


class CameraScanner:
    """Reads ``source`` at up to ``fps`` frames a second and decodes on a worker; nothing starts until ``start``.

    ``clock`` is where every time the scanner measures comes from (the fault timers, the repeat window,
    capture times) and ``sleep`` is how the capture thread pauses (between frames, and backing off
    from a faulty camera). The defaults are the monotonic clock and a pause that ``stop`` ends at
    once; a test passes a virtual clock whose ``sleep`` moves it on, so the two-second fault timer
    runs without anyone waiting two seconds.
    """

    MAX_BACKOFF_S = 1.0

    def __init__(
        self,
        source: FrameSource,
        decoder: Decoder,
        on_codes: Callable[[list[Decoded]], None],
        on_fault: Callable[[str], None] | None = None,
        fps: int = 15,
        *,
        repeat_after_s: float = 1.0,
        fault_after_s: float = 2.0,
        roi: Roi | None = None,
        on_recover: Callable[[str], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], object] | None = None,
    ) -> None:
        if not 1 <= fps <= 120:
            raise ValueError(f"scanner fps {fps!r} is not allowed; give 1 to 120")
        self.source = source
        self.decoder = decoder
        self.roi = roi or Roi()
        self._on_codes = on_codes
        self._on_fault = on_fault
        self._on_recover = on_recover
        self._period = 1.0 / fps
        self._repeat_after_s = repeat_after_s
        self._fault_after_s = fault_after_s
        self._clock = clock
        self._stop = threading.Event()
        self._sleep: Callable[[float], object] = sleep if sleep is not None else self._stop.wait
        self._frame_lock = threading.Lock()
        self._latest: Frame | None = None
        self._decoding = threading.Event()
        self._decoding.set()
        self._forget = threading.Event()
        self._slot = _Slot()
        self._threads: list[threading.Thread] = []
        self._stats_lock = threading.Lock()
        self._decode_ms: deque[float] = deque(maxlen=300)
        self._read_times: deque[float] = deque(maxlen=60)
        self._fault_now = ""
        self.frames_read = 0
        self.frames_decoded = 0
        self.frames_dropped = 0
        self.codes_reported = 0
        #: capture time of the frame behind the last report (``clock`` seconds); for latency figures
        self.last_report_captured_at: float | None = None

    # --- control (any thread) -----------------------------------------------------------------------

    def start(self) -> None:
        if self.running:
            raise RuntimeError("the camera scanner is already running; stop() it first")
        self._stop.clear()
        self._slot.open()
        self._threads = [
            threading.Thread(target=self._capture_loop, name="camera-capture", daemon=True),
            threading.Thread(target=self._decode_loop, name="camera-decode", daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    def stop(self, timeout: float = STOP_TIMEOUT_S) -> bool:
        """Ask both threads to end and wait up to ``timeout`` s in all. True when they ended.

        The source is not closed: whoever opened it closes it. A thread stuck inside a driver call is
        left behind (it is a daemon) rather than freezing the caller, and the warning says so.
        """
        self._stop.set()
        self._slot.close()
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        alive = [t.name for t in self._threads if t.is_alive()]
        if alive:
            log.warning("camera scanner did not stop within %.1f s: %s (stuck in a driver?)", timeout, alive)
            return False
        self._threads = []
        return True

    def pause(self) -> None:
        """Stop decoding (outside the cart and pay screens); frames still flow to the preview."""
        self._decoding.clear()
        self._slot.clear()

    def resume(self) -> None:
        """Decode again, and report whatever is in view now even if it was seen before the pause."""
        self._forget.set()
        self._decoding.set()

    @property
    def running(self) -> bool:
        return any(t.is_alive() for t in self._threads)

    @property
    def paused(self) -> bool:
        return not self._decoding.is_set()

    @property
    def fault(self) -> str:
        """The fault now in force ("" when the camera is fine)."""
        return self._fault_now

    def latest_frame(self) -> Frame | None:
        """A copy of the newest frame for the preview, or None before the first one. Never waits on decoding."""
        with self._frame_lock:
            frame = self._latest
        return None if frame is None else frame.copy()

    def stats(self) -> ScanStats:
        with self._stats_lock:
            times = sorted(self._decode_ms)
            reads = list(self._read_times)
        p95 = times[min(len(times) - 1, int(0.95 * len(times)))] if times else 0.0
        fps = (len(reads) - 1) / (reads[-1] - reads[0]) if len(reads) > 1 and reads[-1] > reads[0] else 0.0
        return ScanStats(
            frames_read=self.frames_read,
            frames_decoded=self.frames_decoded,
            frames_dropped=self.frames_dropped,
            codes_reported=self.codes_reported,
            decode_ms_median=statistics.median(times) if times else 0.0,
            decode_ms_p95=p95,
            capture_fps=fps,
            fault=self._fault_now,
        )

    # --- capture thread -----------------------------------------------------------------------------

    def _read(self) -> Frame | None:
        try:
            return self.source.read()
        except Exception:  # the port says read never raises; a source that does must not end the loop
            log.exception("camera source raised; treating it as no frame")
            return None

    def _reopen(self) -> None:
        reopen = getattr(self.source, "reopen", None)
        if callable(reopen):
            try:
                reopen()
            except Exception:
                log.exception("camera source could not be reopened")

    def _fault(self, message: str) -> None:
        self._fault_now = message
        log.warning("%s", message)
        if self._on_fault is not None:
            try:
                self._on_fault(message)
            except Exception:
                log.exception("on_fault callback raised")

    def _recovered(self) -> None:
        ended, self._fault_now = self._fault_now, ""
        log.info("%s: cleared, frames again", ended)
        if self._on_recover is not None:
            try:
                self._on_recover(ended)
            except Exception:
                log.exception("on_recover callback raised")

    def _capture_loop(self) -> None:
        live = bool(getattr(self.source, "live", False))
        bad_since: float | None = None  # when the current run of missing / frozen / black frames began
        bad_kind = ""
        reported = False
        backoff = self._period
        last_signature = b""
        while not self._stop.is_set():
            started = self._clock()
            frame = self._read()
            kind = ""
            if frame is None:
                kind = NO_FRAMES_FAULT
            elif live:
                signature = _frame_signature(frame)
                if signature == last_signature:
                    kind = FROZEN_FAULT
                elif _is_black(frame):
                    kind = BLACK_FAULT
                last_signature = signature
            if kind:
                if kind != bad_kind:
                    bad_since, bad_kind = started, kind
                since = started if bad_since is None else bad_since
                if not reported and started - since >= self._fault_after_s:
                    reported = True
                    self._fault(kind)
            elif bad_kind:
                if reported:
                    self._recovered()
                bad_since, bad_kind, reported, backoff = None, "", False, self._period
            if frame is not None:
                self._publish(frame, started)
            if kind in (NO_FRAMES_FAULT, FROZEN_FAULT) and reported:
                if kind == FROZEN_FAULT:
                    self._reopen()
                self._sleep(backoff)
                backoff = min(backoff * 2, self.MAX_BACKOFF_S)
                continue
            if kind == NO_FRAMES_FAULT:
                self._sleep(self._period)
                continue
            self._sleep(max(0.0, self._period - (self._clock() - started)))

    def _publish(self, frame: Frame, captured_at: float) -> None:
        self.frames_read += 1
        with self._frame_lock:
            self._latest = frame
        with self._stats_lock:
            self._read_times.append(captured_at)
        if self._decoding.is_set() and self._slot.put(frame, captured_at):
            self.frames_dropped += 1

    # --- decode worker ------------------------------------------------------------------------------

    def _decode(self, frame: Frame) -> list[Decoded]:
        try:
            return list(self.decoder.decode(self.roi.crop(frame)))
        except Exception:
            log.exception("decoder %s raised; treating it as no code", getattr(self.decoder, "name", "?"))
            return []

    def _decode_loop(self) -> None:
        last_seen: dict[str, float] = {}
        while not self._stop.is_set():
            item = self._slot.take(timeout=0.2)
            if item is None or not self._decoding.is_set():
                continue
            frame, captured_at = item
            if self._forget.is_set():
                self._forget.clear()
                last_seen.clear()
            started = time.perf_counter()
            codes = self._decode(frame)
            elapsed_ms = (time.perf_counter() - started) * 1000
            self.frames_decoded += 1
            with self._stats_lock:
                self._decode_ms.append(elapsed_ms)
            fresh = self._fresh(codes, last_seen, self._clock())
            if fresh:
                self.last_report_captured_at = captured_at
                self._report(fresh)

    def _fresh(self, codes: list[Decoded], last_seen: dict[str, float], now: float) -> list[Decoded]:
        """The codes not seen within ``repeat_after_s``, one per text; updates ``last_seen``."""
        fresh: list[Decoded] = []
        for code in codes:
            seen = last_seen.get(code.text)
            if (seen is None or now - seen > self._repeat_after_s) and code.text not in {
                c.text for c in fresh
            }:
                fresh.append(code)
        for code in codes:
            last_seen[code.text] = now
        for text in [t for t, at in last_seen.items() if now - at > self._repeat_after_s]:
            del last_seen[text]
        return fresh

    def _report(self, codes: list[Decoded]) -> None:
        self.codes_reported += len(codes)
        log.debug("camera: %s", ", ".join(f"{c.symbology} {mask(c.text)}" for c in codes))
        try:
            self._on_codes(codes)
        except Exception:
            log.exception("on_codes callback raised")
