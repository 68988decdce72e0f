"""What both product scanners share: turning a line of scanner text into a ``Decoded``, and a backoff.

A hand scanner does not say which symbology it read, but the checkout needs one: the classifier
only takes product codes with a check digit that fits their symbology, and payment codes only from
QR Code or Code 128. The guess is by shape: 13 digits EAN-13, 12 UPC-A, 8 EAN-8 (or UPC-E when
only the UPC-E check digit fits), anything else Code 128 (a 2D scanner reading a phone's payment QR
gives digits of payment-code length, which the classifier then routes like a camera read).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from drivers.camera.decoders import normalise
from drivers.camera.types import Decoded
from kiosk_common.codes import MAX_TEXT_LEN, gtin_check_ok, upce_to_upca

#: how long a hand scanner's stop() waits for its reading thread
STOP_TIMEOUT_S = 2.0

log = logging.getLogger(__name__)


def guess_symbology(text: str) -> str:
    digits = text.isascii() and text.isdigit()
    if digits and len(text) == 13:
        return "EAN13"
    if digits and len(text) == 12:
        return "UPCA"
    if digits and len(text) == 8:
        if gtin_check_ok(text):
            return "EAN8"
        upca = upce_to_upca(text)
        if upca is not None and gtin_check_ok(upca):
            return "UPCE"
        return "EAN8"
    return "Code128"


def scanned(text: str) -> Decoded | None:
    """A scanner's line as the camera would report it, or None for nothing usable (empty, huge, binary)."""
    text = text.strip(" \t")
    if not text or len(text) > MAX_TEXT_LEN:
        return None
    symbology = guess_symbology(text)
    if symbology == "UPCE":
        return Decoded("UPCE", text)  # already the 8 printed digits; normalise expects zxing's 12/13
    return normalise(symbology, text)


class Backoff:
    """Pauses that double from ``first_s`` up to ``max_s``; ``reset`` after a success."""

    def __init__(self, first_s: float = 0.25, max_s: float = 5.0) -> None:
        self.first_s = first_s
        self.max_s = max_s
        self._next = first_s

    def next(self) -> float:
        pause, self._next = self._next, min(self._next * 2, self.max_s)
        return pause

    def reset(self) -> None:
        self._next = self.first_s


class ScannerWorker:
    """One reading thread with one fault report per outage: what every hand scanner needs around its loop.

    Subclasses implement ``_run`` (loop until ``self._stop`` is set) and call ``_set_fault`` when the
    device is gone and ``_clear_fault`` when it is back; ``where`` names the device in log lines.
    """

    thread_name = "scanner"

    def __init__(
        self,
        where: str,
        on_fault: Callable[[str], None] | None,
        on_recover: Callable[[str], None] | None,
    ) -> None:
        self._where = where
        self._on_fault = on_fault
        self._on_recover = on_recover
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.fault = ""

    def start(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            raise RuntimeError(f"the {self.thread_name} is already running; stop() it first")
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=self.thread_name, daemon=True)
        self._thread.start()

    def stop(self, timeout: float = STOP_TIMEOUT_S) -> bool:
        self._stop.set()
        thread = self._thread
        if thread is None:
            return True
        thread.join(timeout)
        if thread.is_alive():
            return False
        self._thread = None
        return True

    def _run(self) -> None:  # pragma: no cover - every scanner overrides it
        raise NotImplementedError

    def _set_fault(self, message: str) -> None:
        if self.fault:  # one report per outage, whatever the errno says next
            return
        self.fault = message
        log.warning("%s (%s)", message, self._where)
        if self._on_fault is not None:
            try:
                self._on_fault(message)
            except Exception:
                log.exception("on_fault callback raised")

    def _clear_fault(self) -> None:
        if not self.fault:
            return
        ended, self.fault = self.fault, ""
        log.info("%s: cleared (%s)", ended, self._where)
        if self._on_recover is not None:
            try:
                self._on_recover(ended)
            except Exception:
                log.exception("on_recover callback raised")
