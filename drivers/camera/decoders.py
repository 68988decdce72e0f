"""Barcode decoders behind the ``Decoder`` port: zxing-cpp (the default) and pyzbar (the baseline).

Both are limited to the symbologies a kiosk meets (QR Code and Code 128 for payment codes;
EAN-13, EAN-8, UPC-A and UPC-E for products): every extra format costs time on every frame and is one
more way to read a pattern on a T-shirt as a code. See docs/adr/0001-zxing-cpp-decoder.md.

The two libraries disagree on how they spell the same symbol, so both results go through one
``normalise`` step and the rest of the kiosk sees one spelling:

* symbology names are zxing-cpp's: ``QRCode``, ``Code128``, ``EAN13``, ``EAN8``, ``UPCA``, ``UPCE``;
* a UPC-A is ``UPCA`` with its **12 digits**. zxing-cpp 3 reports it as a 13-digit EAN-13 (or UPCA)
  with a leading 0, zbar as 12 digits (or, when UPC-A is not enabled, as EAN-13 with a leading 0).
  An EAN-13 whose first digit is 0 is bar for bar a UPC-A, so the leading 0 is dropped and the
  name set to UPCA. Catalog look-ups that store 13-digit GTINs must pad with a 0;
* a UPC-E is ``UPCE`` with its **8 digits** (number system, 6 digits, check), as printed under the
  bars. zxing-cpp 3 reports the expanded 13-digit GTIN, so it is compressed back.

A frame that is not an image (None, empty, wrong dtype or shape) gives ``[]``; a decoder never raises
into the scanner thread. Payloads that are not text (binary QR codes, bytes that are not UTF-8) are
dropped here: nothing downstream can use them, and they must never reach a log. zxing-cpp says
when a payload is binary; zbar instead guesses a character set and converts, so for both the rule
is also "no control characters other than tab, CR, LF and GS". A byte-mode QR code without an ECI
may still come out differently (zxing-cpp guesses ISO-8859-1, zbar often Shift-JIS).
"""

from __future__ import annotations

import logging
import re
from typing import Any, ClassVar

import cv2
import numpy as np
import numpy.typing as npt

from kiosk.core.codes import gtin_check_ok, upce_to_upca
from kiosk.ports import Decoded, Decoder, Frame

log = logging.getLogger(__name__)

KIOSK_SYMBOLOGIES = ("QRCode", "Code128", "EAN13", "EAN8", "UPCA", "UPCE")

_Gray = npt.NDArray[np.uint8]

#: control characters that no text payload carries (tab, CR, LF and GS, the GS1 separator, are allowed),
#: and the replacement character a failed conversion leaves: such a payload is binary, not text
_NOT_TEXT = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1c\x1e\x1f\x7f-\x9f\ufffd]")


def to_gray(frame: Frame) -> _Gray | None:
    """A contiguous 8-bit grayscale view of a BGR, BGRA or gray frame, or None if it is not one."""
    if not isinstance(frame, np.ndarray) or frame.dtype != np.uint8 or frame.size == 0:
        return None
    try:
        if frame.ndim == 2:
            gray = frame
        elif frame.ndim == 3 and frame.shape[2] == 1:
            gray = frame[:, :, 0]
        elif frame.ndim == 3 and frame.shape[2] == 3:
            gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
        elif frame.ndim == 3 and frame.shape[2] == 4:
            gray = cv2.cvtColor(frame, cv2.COLOR_BGRA2GRAY)
        else:
            return None
    except cv2.error:
        return None
    if gray.shape[0] < 1 or gray.shape[1] < 1:
        return None
    return np.ascontiguousarray(gray)


def upca_to_upce(upca: str) -> str | None:
    """Compress a 12-digit UPC-A to its 8-digit UPC-E, or None when the number has no UPC-E form.

    Written from the GS1 zero-suppression rules and checked by expanding the result again.
    """
    if len(upca) != 12 or not upca.isascii() or not upca.isdigit() or upca[0] not in "01":
        return None
    ns, maker, item, check = upca[0], upca[1:6], upca[6:11], upca[11]
    if maker[2] in "012" and maker[3:] == "00" and item[:2] == "00":
        middle = f"{maker[:2]}{item[2:]}{maker[2]}"
    elif maker[3:] == "00" and item[:3] == "000":
        middle = f"{maker[:3]}{item[3:]}3"
    elif maker[4] == "0" and item[:4] == "0000":
        middle = f"{maker[:4]}{item[4]}4"
    elif item[:4] == "0000" and item[4] in "56789":
        middle = f"{maker}{item[4]}"
    else:
        return None
    upce = f"{ns}{middle}{check}"
    return upce if upce_to_upca(upce) == upca else None


def normalise(symbology: str, text: str) -> Decoded | None:
    """One spelling for the same symbol from either library (see the module docstring), or None to drop."""
    if not text or symbology not in KIOSK_SYMBOLOGIES or _NOT_TEXT.search(text):
        return None
    digits = text.isascii() and text.isdigit()
    if symbology in ("EAN13", "UPCA") and digits and len(text) == 13 and text[0] == "0":
        return Decoded("UPCA", text[1:])
    if symbology == "UPCE" and digits and len(text) in (12, 13):
        upca = text[-12:] if len(text) == 12 or text[0] == "0" else ""
        upce = upca_to_upce(upca) if upca and gtin_check_ok(upca) else None
        return Decoded("UPCE", upce) if upce else None
    return Decoded(symbology, text)


def _unique(codes: list[Decoded]) -> list[Decoded]:
    seen: set[Decoded] = set()
    out = []
    for code in codes:
        if code not in seen:
            seen.add(code)
            out.append(code)
    return out


class ZxingDecoder:
    """zxing-cpp, limited to the kiosk symbologies; the default (faster and reads more on our corpus)."""

    name = "zxing"

    def __init__(self, *, try_rotate: bool = True) -> None:
        """``try_rotate=False`` halves the time on a frame without a code (about 1.3 -> 0.6 ms at 640x480)
        but no longer reads a 1D barcode turned by about 90 degrees; QR codes read at any angle either way.
        """
        import zxingcpp

        self._try_rotate = try_rotate
        self._zx: Any = zxingcpp
        fmt = zxingcpp.BarcodeFormat
        self._formats = (fmt.QRCode, fmt.Code128, fmt.EAN13, fmt.EAN8, fmt.UPCA, fmt.UPCE)
        ct = zxingcpp.ContentType
        # GS1 and ISO 15434 are still text; Binary, Mixed and UnknownECI are not
        self._text_types = {ct.Text, ct.GS1, ct.ISO15434}

    def decode(self, frame: Frame) -> list[Decoded]:
        gray = to_gray(frame)
        if gray is None:
            return []
        try:
            found = self._zx.read_barcodes(
                gray, formats=self._formats, text_mode=self._zx.TextMode.Plain, try_rotate=self._try_rotate
            )
        except Exception:  # a native library: whatever it raises, the scanner thread must survive
            log.exception("zxing-cpp failed on a %s frame", gray.shape)
            return []
        out = []
        for barcode in found:
            if barcode.content_type not in self._text_types:
                continue
            name = barcode.format.name
            text = barcode.text
            if name == "UPCE" and isinstance(barcode.extra, dict) and barcode.extra.get("UPCE"):
                text = str(barcode.extra["UPCE"])
            code = normalise(name, text)
            if code is not None:
                out.append(code)
        return _unique(out)


class PyzbarDecoder:
    """pyzbar (ZBar), limited to the kiosk symbologies; the baseline to compare against and a fallback."""

    name = "pyzbar"

    _NAMES: ClassVar[dict[str, str]] = {
        "QRCODE": "QRCode",
        "CODE128": "Code128",
        "EAN13": "EAN13",
        "EAN8": "EAN8",
        "UPCA": "UPCA",
        "UPCE": "UPCE",
    }

    def __init__(self) -> None:
        from pyzbar import pyzbar

        self._pyzbar: Any = pyzbar
        sym = pyzbar.ZBarSymbol
        self._symbols = [sym.QRCODE, sym.CODE128, sym.EAN13, sym.EAN8, sym.UPCA, sym.UPCE]

    def decode(self, frame: Frame) -> list[Decoded]:
        gray = to_gray(frame)
        if gray is None:
            return []
        try:
            found = self._pyzbar.decode(gray, symbols=self._symbols)
        except Exception:  # a native library behind ctypes: the scanner thread must survive it
            log.exception("pyzbar failed on a %s frame", gray.shape)
            return []
        out = []
        for symbol in found:
            name = self._NAMES.get(symbol.type)
            if name is None:
                continue
            try:
                text = bytes(symbol.data).decode("utf-8")
            except UnicodeDecodeError:
                continue
            code = normalise(name, text)
            if code is not None:
                out.append(code)
        return _unique(out)


def make_decoder(name: str) -> Decoder:
    """The decoder named by the ``camera.backend`` setting."""
    if name == "zxing":
        return ZxingDecoder()
    if name == "pyzbar":
        return PyzbarDecoder()
    raise ValueError(f"camera backend {name!r} is not known; use 'zxing' (the default) or 'pyzbar'")
