"""What both product scanners share: turning a line of scanner text into a ``Decoded``, and a backoff.

A hand scanner does not say which symbology it read, but the checkout needs one: the classifier
only takes product codes with a check digit that fits their symbology, and payment codes only from
QR Code or Code 128. The guess is by shape: 13 digits EAN-13, 12 UPC-A, 8 EAN-8 (or UPC-E when
only the UPC-E check digit fits), anything else Code 128 (a 2D scanner reading a phone's payment QR
gives digits of payment-code length, which the classifier then routes like a camera read).
"""

from __future__ import annotations

from drivers.camera.decoders import normalise
from kiosk.core.codes import MAX_TEXT_LEN, gtin_check_ok, upce_to_upca
from kiosk.ports import Decoded


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
