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
from dataclasses import dataclass
from typing import Any, ClassVar

import cv2
import numpy as np
import numpy.typing as npt

from drivers.camera.types import Decoded, Decoder, Frame
from kiosk_common.codes import gtin_check_ok, upce_to_upca

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


#: structure-tensor thresholds for "these are bars": coherence (1 = perfectly parallel edges) and
#: edge energy (squared Sobel response, averaged); a lit wall or a face has neither
_BARS_COHERENCE = 0.85
_BARS_ENERGY = 3000.0
#: find_bars looks at a copy this many times smaller: 2 keeps bars of 2-pixel modules apart
_BARS_STEP = 2


@dataclass(frozen=True, slots=True)
class BarsPatch:
    """Where ``find_bars`` saw bars: centre (pixels), the angle that levels them (degrees), size (pixels)."""

    cx: float
    cy: float
    angle: float
    length: float
    height: float


def find_bars(gray: _Gray) -> list[BarsPatch]:
    """The strongest patch of parallel bars in the frame, as up to two ways to level it; or [].

    The first levels the patch's long axis (right when perspective shears the bars); the second,
    given when it differs by more than 3 degrees, turns the bars' own direction upright.

    zxing-cpp's 1D readers scan rows (and, with ``try_rotate``, columns): bars tilted by more than
    about 10 degrees, or too small, are missed although they are plainly there. This looks at a
    half-size copy for the patch with the most coherent edge energy (the structure tensor), takes
    its orientation; ``level`` then cuts it out upright. About 0.1 ms when nothing bar-like is in
    view, which is when it stops.
    """
    h, w = gray.shape
    if h < 32 or w < 32:
        return []
    small = cv2.resize(gray, (w // _BARS_STEP, h // _BARS_STEP), interpolation=cv2.INTER_AREA).astype(
        np.float32
    )
    gx = cv2.Sobel(small, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(small, cv2.CV_32F, 0, 1, ksize=3)
    if float(cv2.magnitude(gx, gy).max()) ** 2 < _BARS_ENERGY:  # not one sharp edge: stop before filtering
        return []
    # the structure tensor from half-size gradients, averaged down to quarter size (cheap, and the bars'
    # edges were found before they could blur together)
    quarter = (gx.shape[1] // 2, gx.shape[0] // 2)
    jxx, jyy, jxy = (
        cv2.boxFilter(cv2.resize(g, quarter, interpolation=cv2.INTER_AREA), -1, (5, 5))
        for g in (gx * gx, gy * gy, gx * gy)
    )
    energy = jxx + jyy
    if float(energy.max()) < _BARS_ENERGY:
        return []
    coherence = cv2.magnitude(jxx - jyy, 2 * jxy) / (energy + 1e-3)
    strong = (coherence > _BARS_COHERENCE) & (energy > max(_BARS_ENERGY, 0.2 * float(energy.max())))
    mask = cv2.morphologyEx(strong.astype(np.uint8), cv2.MORPH_CLOSE, np.ones((5, 5), np.uint8))
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    if count < 2:
        return []
    best = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    if stats[best, cv2.CC_STAT_AREA] < 8:
        return []
    ys, xs = np.nonzero(labels == best)
    points = np.column_stack((xs, ys)).astype(np.float32) * (2 * _BARS_STEP) + _BARS_STEP
    (cx, cy), (rw, rh), rect_angle = cv2.minAreaRect(points)
    if rw < rh:
        rw, rh, rect_angle = rh, rw, rect_angle + 90
    # the bars' own direction, from the edges (precise where the patch outline is ragged)
    bars_angle = 0.5 * float(np.degrees(np.arctan2(2 * jxy[ys, xs].sum(), (jxx[ys, xs] - jyy[ys, xs]).sum())))
    out = [BarsPatch(cx, cy, rect_angle, rw, rh)]
    if abs((bars_angle - rect_angle + 90) % 180 - 90) > 3:
        out.append(BarsPatch(cx, cy, bars_angle, rw, rh))
    return out


def level(gray: _Gray, patch: BarsPatch, max_pixels: int = 320 * 240 * 2) -> _Gray:
    """The patch turned level, with room for quiet zones, enlarged up to 2x within ``max_pixels``."""
    cx, cy = patch.cx, patch.cy
    half_w = patch.length * 0.65 + 16
    half_h = patch.height / 2 + 8
    matrix = cv2.getRotationMatrix2D((cx, cy), patch.angle, 1.0)
    matrix[0, 2] += half_w - cx
    matrix[1, 2] += half_h - cy
    out_w, out_h = round(2 * half_w), round(2 * half_h)
    scale = min(2.0, (max_pixels / (out_w * out_h)) ** 0.5)
    if scale > 1.0:
        matrix *= scale
        out_w, out_h = round(out_w * scale), round(out_h * scale)
    upright = cv2.warpAffine(
        gray, matrix, (out_w, out_h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    )
    return np.ascontiguousarray(upright)


class ZxingDecoder:
    """zxing-cpp, limited to the kiosk symbologies; the default (faster and reads more on our corpus).

    With ``retry`` (the default) one frame may get up to four looks, each only when the one before
    found nothing, so a frame that reads at once costs one call and an empty frame about half of
    zxing-cpp's own rotating call (see docs/scanning.md for the figures that chose these steps):

    1. the frame as it is (no 90-degree turn, no light-on-dark or downscaled pass), asking zxing-cpp
       to also return symbols it *found but could not decode* (a QR finder pattern with a bad
       checksum, an EAN with a wrong check digit);
    2. the 1D readers on the strongest patch of parallel bars (``find_bars``), turned so the symbol
       lies level and enlarged: reads 1D codes held at any angle, sheared by perspective, or small;
       only with ``try_rotate``;
    3. each region where step 1 saw a symbol it could not decode (at most ``MAX_RETRY_REGIONS``),
       and the whole frame when it is small (a cropped region of interest), upscaled up to 2x and
       contrast-stretched (CLAHE): fixes blur, low-contrast screens and codes too small in the frame;
    4. the same regions binarised with a fixed threshold: fixes glare gradients the local binariser
       reads as bars.

    ``retry=False`` is zxing-cpp's single plain call (the benchmark's reference, ``zxing-plain``).
    Every result still has to pass zxing-cpp's own checks (Reed-Solomon for QR, the check symbol of
    Code 128, the check digit of EAN/UPC) and ``normalise``; retries only change the pixels it sees.
    """

    MAX_RETRY_REGIONS = 2
    #: frames up to this many pixels are retried whole even without a failed symbol in them
    SMALL_FRAME_PIXELS = 320 * 240
    #: upscaled retries stay under this many pixels, so a retry costs a few ms at most
    RETRY_MAX_PIXELS = 640 * 480

    def __init__(self, *, try_rotate: bool = True, retry: bool = True) -> None:
        """``try_rotate=False`` no longer reads a 1D barcode turned by more than a few degrees (QR codes read
        at any angle either way) but saves step 2 on a frame without a code.
        """
        import zxingcpp

        self.name = "zxing" if retry else "zxing-plain"
        self._try_rotate = try_rotate
        self._retry = retry
        self._zx: Any = zxingcpp
        fmt = zxingcpp.BarcodeFormat
        self._formats = (fmt.QRCode, fmt.Code128, fmt.EAN13, fmt.EAN8, fmt.UPCA, fmt.UPCE)
        self._linear = (fmt.Code128, fmt.EAN13, fmt.EAN8, fmt.UPCA, fmt.UPCE)
        ct = zxingcpp.ContentType
        # GS1 and ISO 15434 are still text; Binary, Mixed and UnknownECI are not
        self._text_types = {ct.Text, ct.GS1, ct.ISO15434}
        self._clahe = cv2.createCLAHE(clipLimit=2.0, tileGridSize=(8, 8))

    def decode(self, frame: Frame) -> list[Decoded]:
        gray = to_gray(frame)
        if gray is None:
            return []
        try:
            if not self._retry:
                return self._codes(self._read(gray, self._formats, try_rotate=self._try_rotate))
            return self._decode_in_steps(gray)
        except Exception:  # a native library: whatever it raises, the scanner thread must survive
            log.exception("zxing-cpp failed on a %s frame", gray.shape)
            return []

    def _read(self, gray: Any, formats: tuple[Any, ...], **options: Any) -> list[Any]:
        found: list[Any] = self._zx.read_barcodes(
            gray, formats=formats, text_mode=self._zx.TextMode.Plain, **options
        )
        return found

    def _decode_in_steps(self, gray: _Gray) -> list[Decoded]:
        found = self._read(
            gray, self._formats, try_rotate=False, try_invert=False, try_downscale=False, return_errors=True
        )
        codes = self._codes(found)
        if codes:
            return codes
        h, w = gray.shape
        for patch in find_bars(gray) if self._try_rotate else []:
            bars = level(gray, patch)
            for levelled in (bars, self._clahe.apply(bars)):
                codes = self._codes(self._read(levelled, self._linear, try_rotate=False, try_invert=False))
                if codes:
                    return codes
        regions = [self._crop(gray, b.position) for b in found if not b.valid][: self.MAX_RETRY_REGIONS]
        if h * w <= self.SMALL_FRAME_PIXELS:
            regions.append(gray)
        enlarged = [self._enlarge(r) for r in regions if r.size]
        for region in enlarged:
            codes = self._codes(
                self._read(self._clahe.apply(region), self._formats, try_rotate=self._try_rotate)
            )
            if codes:
                return codes
        for region in enlarged:
            codes = self._codes(
                self._read(
                    region,
                    self._formats,
                    try_rotate=self._try_rotate,
                    binarizer=self._zx.Binarizer.FixedThreshold,
                )
            )
            if codes:
                return codes
        return []

    @staticmethod
    def _crop(gray: _Gray, position: Any) -> _Gray:
        """The symbol's bounding box with a quarter of its size (at least 16 px) around it."""
        corners = (position.top_left, position.top_right, position.bottom_left, position.bottom_right)
        xs = [p.x for p in corners]
        ys = [p.y for p in corners]
        mx = max(16, (max(xs) - min(xs)) // 4)
        my = max(16, (max(ys) - min(ys)) // 4)
        h, w = gray.shape
        x0, x1 = max(0, min(xs) - mx), min(w, max(xs) + mx + 1)
        y0, y1 = max(0, min(ys) - my), min(h, max(ys) + my + 1)
        if x1 - x0 < 8 or y1 - y0 < 8:
            return gray[0:0, 0:0]
        return np.ascontiguousarray(gray[y0:y1, x0:x1])

    def _enlarge(self, region: _Gray) -> _Gray:
        h, w = region.shape
        scale = min(2.0, (self.RETRY_MAX_PIXELS / (h * w)) ** 0.5)
        if scale < 1.2:
            return region
        enlarged = cv2.resize(region, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_CUBIC)
        return np.asarray(enlarged, dtype=np.uint8)

    def _codes(self, found: list[Any]) -> list[Decoded]:
        out = []
        for barcode in found:
            if not barcode.valid or barcode.content_type not in self._text_types:
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


BACKENDS = ("zxing", "zxing-plain", "pyzbar")


def make_decoder(name: str) -> Decoder:
    """The decoder named by the ``camera.backend`` setting (or ``kiosk decode --backend``).

    ``zxing`` is zxing-cpp with the retries described on ``ZxingDecoder``; ``zxing-plain`` is its single
    plain call (the benchmark's reference); ``pyzbar`` is ZBar, the baseline.
    """
    if name == "zxing":
        return ZxingDecoder()
    if name == "zxing-plain":
        return ZxingDecoder(retry=False)
    if name == "pyzbar":
        return PyzbarDecoder()
    raise ValueError(
        f"camera backend {name!r} is not known; use 'zxing' (the default), 'zxing-plain' or 'pyzbar'"
    )
