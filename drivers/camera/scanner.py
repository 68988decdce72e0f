"""The scan loop: one background thread that reads frames, keeps the newest for the preview, and decodes.

The preview and the decoder share nothing but the newest frame, taken under a short lock, so the
screen never waits for a slow decode. Codes go to ``on_codes`` from the scanner thread; the caller
hands them to its own thread (the controller's ``post``). A code that stays in view is reported once:
it is reported again only after it has been out of view for more than ``repeat_after_s``. That keeps a
phone held steady from flooding the checkout; refusing to charge the same payment code twice is the
store's job, not this one's.

A camera that stops giving frames for more than ``fault_after_s`` is reported once through
``on_fault`` (once per outage) and retried with a growing pause, so a dead camera costs nothing and a
replugged one comes back without a restart.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from kiosk.core.codes import mask
from kiosk.ports import Decoded, Decoder, Frame, FrameSource

log = logging.getLogger(__name__)

NO_FRAMES_FAULT = "camera: no frames"


class CameraScanner:
    """Reads ``source`` at up to ``fps`` frames a second on one thread; nothing starts until ``start``."""

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
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not 1 <= fps <= 120:
            raise ValueError(f"scanner fps {fps!r} is not allowed; give 1 to 120")
        self.source = source
        self.decoder = decoder
        self._on_codes = on_codes
        self._on_fault = on_fault
        self._period = 1.0 / fps
        self._repeat_after_s = repeat_after_s
        self._fault_after_s = fault_after_s
        self._clock = clock
        self._frame_lock = threading.Lock()
        self._latest: Frame | None = None
        self._stop = threading.Event()
        self._decoding = threading.Event()
        self._decoding.set()
        self._forget = threading.Event()
        self._thread: threading.Thread | None = None
        self.frames_read = 0
        self.frames_decoded = 0

    # --- control (any thread) -----------------------------------------------------------------------

    def start(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            raise RuntimeError("the camera scanner is already running; stop() it first")
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="camera-scanner", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 2.0) -> bool:
        """Ask the thread to end and wait up to ``timeout`` s. True when it ended.

        The source is not closed: whoever opened it closes it. A thread stuck inside a driver call is
        left behind (it is a daemon) rather than freezing the caller, and the warning says so.
        """
        self._stop.set()
        thread = self._thread
        if thread is None:
            return True
        thread.join(timeout)
        if thread.is_alive():
            log.warning("camera scanner did not stop within %.1f s (stuck in the camera driver?)", timeout)
            return False
        self._thread = None
        return True

    def pause(self) -> None:
        """Stop decoding (outside the cart and pay screens); frames still flow to the preview."""
        self._decoding.clear()

    def resume(self) -> None:
        """Decode again, and report whatever is in view now even if it was seen before the pause."""
        self._forget.set()
        self._decoding.set()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    @property
    def paused(self) -> bool:
        return not self._decoding.is_set()

    def latest_frame(self) -> Frame | None:
        """A copy of the newest frame for the preview, or None before the first one. Never waits on decoding."""
        with self._frame_lock:
            frame = self._latest
        return None if frame is None else frame.copy()

    # --- the thread ---------------------------------------------------------------------------------

    def _read(self) -> Frame | None:
        try:
            return self.source.read()
        except Exception:  # the port says read never raises; a source that does must not end the loop
            log.exception("camera source raised; treating it as no frame")
            return None

    def _decode(self, frame: Frame) -> list[Decoded]:
        try:
            return list(self.decoder.decode(frame))
        except Exception:
            log.exception("decoder %s raised; treating it as no code", getattr(self.decoder, "name", "?"))
            return []

    def _fault(self, message: str) -> None:
        log.warning("%s", message)
        if self._on_fault is not None:
            try:
                self._on_fault(message)
            except Exception:
                log.exception("on_fault callback raised")

    def _run(self) -> None:
        last_seen: dict[str, float] = {}
        no_frames_since: float | None = None
        fault_reported = False
        backoff = self._period
        while not self._stop.is_set():
            started = self._clock()
            frame = self._read()
            if frame is None:
                if no_frames_since is None:
                    no_frames_since = started
                if not fault_reported and started - no_frames_since > self._fault_after_s:
                    fault_reported = True
                    self._fault(NO_FRAMES_FAULT)
                self._stop.wait(backoff)
                backoff = min(backoff * 2, self.MAX_BACKOFF_S)
                continue
            if fault_reported:
                log.info("camera: frames again")
            no_frames_since, fault_reported, backoff = None, False, self._period
            self.frames_read += 1
            with self._frame_lock:
                self._latest = frame
            if self._decoding.is_set():
                if self._forget.is_set():
                    self._forget.clear()
                    last_seen.clear()
                codes = self._decode(frame)
                self.frames_decoded += 1
                fresh = self._fresh(codes, last_seen, self._clock())
                if fresh:
                    self._report(fresh)
            self._stop.wait(max(0.0, self._period - (self._clock() - started)))

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
        log.debug("camera: %s", ", ".join(f"{c.symbology} {mask(c.text)}" for c in codes))
        try:
            self._on_codes(codes)
        except Exception:
            log.exception("on_codes callback raised")
