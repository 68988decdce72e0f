"""The ESC/POS bytes of a receipt: text encoding, styles, the printer's own QR code, NV logo, cut.

Pure: nothing here touches a device. python-escpos does the transport and knows each model's
profile (partial cut, native QR, code pages); the job bytes are built here and sent with ``_raw``
because its "magic" code-page switching knows nothing of GB18030 Chinese mode and would wrap text
in code-page commands, while the brief asks that the bytes sent stay within 1.2 x the receipt's
content (at 9600 baud every byte costs about a millisecond in front of the customer); see
docs/adr/0006-receipt-bytes-and-reprints.md.

Chinese mode: for the two-byte Chinese encodings (GB18030, GBK, GB2312, Big5) ``FS &`` follows
``ESC @``. Chinese printers read text bytes as double-byte characters only in "Chinese character
mode"; many power up in it, but ``ESC @`` resets it on some models and a DIP switch or a previous
job may have cancelled it, so every receipt states it (two bytes). For any other encoding ``FS .``
cancels it and ``ESC t n`` selects the profile's number for the code page.
"""

from __future__ import annotations

import codecs
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from drivers.printer.document import ReceiptDocument

log = logging.getLogger(__name__)

ESC_INIT = b"\x1b@"
FS_CHINESE_ON = b"\x1c&"
FS_CHINESE_OFF = b"\x1c."
DLE_EOT = b"\x10\x04"
#: DLE DC4 fn=8: clear the receive and print buffers (real-time), so that the rest of a receipt
#: interrupted by a fault does not print by itself once paper is loaded, before its reprint
DLE_DC4_CLEAR_BUFFERS = b"\x10\x14\x08\x01\x03\x14\x01\x06\x02\x08"
HEADER_ON = b"\x1bE\x01\x1ba\x01"  # emphasis on, centre
BODY_ON = b"\x1bE\x00\x1ba\x00"  # emphasis off, left
CENTRE = b"\x1ba\x01"
FEED_LINES = 6  # from the print head to the cutter on common 58/80 mm mechanisms
PARTIAL_CUT = b"\x1dV\x01"
FULL_CUT = b"\x1dV\x00"
QR_MODULE_DOTS = 6  # 29 modules x 6 dots = about 22 mm at 203 dpi: easy for a phone camera
QR_EC_M = 49  # error correction M (15 %): survives a smudge on thermal paper
QR_MAX_BYTES = 7089

#: codecs.lookup(...).name of encodings a printer prints only in Chinese character mode
CHINESE_MULTIBYTE = frozenset({"gb18030", "gbk", "gb2312", "big5", "big5hkscs", "cp950"})


def status_query(n: int) -> bytes:
    """``DLE EOT n``: a real-time status query, answered even while the printer is offline."""
    return DLE_EOT + bytes([n])


@lru_cache(maxsize=16384)
def _encode_char(ch: str, encoding: str) -> bytes:
    """One character as the printer will get it; '?' when the printer could not show it.

    Control characters are replaced too: a product name from HQ must never reach the wire as an
    ESC/POS command (an ``ESC`` or ``GS`` inside a name could cut the paper or change the code page).
    """
    code = ord(ch)
    if code < 0x20 or 0x7F <= code < 0xA0:
        return b"?"
    if code > 0xFFFF:
        # GB18030 and UTF-8 can encode every code point, but printer fonts stop at the Basic
        # Multilingual Plane: an emoji would print as a blank or garbage, so show a visible '?'.
        return b"?"
    try:
        data = ch.encode(encoding)
    except UnicodeEncodeError:
        return b"?"
    if any(b < 0x20 or b == 0x7F for b in data):  # a codec that maps a character onto a control byte
        return b"?"
    return data


def encode_text(text: str, encoding: str) -> bytes:
    """``text`` in ``encoding`` for the printer; characters it cannot print become '?' (never raises)."""
    name = codecs.lookup(encoding).name
    if text.isascii() and text.isprintable():  # the common case for English receipts
        fast = text.encode(name, errors="replace")
        if len(fast) == len(text):  # an ASCII-compatible encoding: same bytes as ASCII
            return fast
    return b"".join(_encode_char(ch, name) for ch in text)


def lines_bytes(lines: Sequence[str], encoding: str) -> bytes:
    """Each line (an entry may itself hold several, joined by newlines) ended by LF."""
    out = bytearray()
    for entry in lines:
        for line in entry.split("\n"):
            out += encode_text(line, encoding)
            out += b"\n"
    return bytes(out)


def _gs_k(fn: int, data: bytes) -> bytes:
    """One ``GS ( k`` function of the QR symbol (cn = 49)."""
    size = len(data) + 2
    return b"\x1d(k" + bytes([size & 0xFF, size >> 8, 49, fn]) + data


def native_qr(payload: str) -> bytes:
    """The printer draws the symbol itself: ~25 bytes of commands instead of a ~2 KB raster image.

    Model 2 is every printer's default, so it is not selected (9 bytes saved); the module size and
    error correction are, because the defaults (3 dots, L) give a symbol too small and fragile.
    """
    data = payload.encode("utf-8")
    if len(data) > QR_MAX_BYTES:
        raise ValueError(f"QR payload of {len(data)} bytes is too long for a QR symbol")
    return (
        _gs_k(67, bytes([QR_MODULE_DOTS]))
        + _gs_k(69, bytes([QR_EC_M]))
        + _gs_k(80, b"0" + data)
        + _gs_k(81, b"0")
    )


def nv_logo_bytes(image: Any, max_width_dots: int = 384) -> bytes:
    """``FS q 1``: define ``image`` (a PIL image) as NV bit image 1, to print later with ``FS p 1 0``.

    Stored once at commissioning (``kiosk printer logo``); the printer keeps it through power cycles,
    so each receipt pays 4 bytes for its logo instead of kilobytes of raster. FS q replaces every NV
    image the printer held. The image is scaled down to ``max_width_dots`` (384 on 58 mm paper),
    padded to multiples of 8 dots, and thresholded to black and white.
    """
    from PIL import Image

    picture = image.convert("L")
    if picture.width > max_width_dots:
        height = max(1, round(picture.height * max_width_dots / picture.width))
        picture = picture.resize((max_width_dots, height))
    x_units = (picture.width + 7) // 8
    y_units = (picture.height + 7) // 8
    if x_units > 1023 or y_units > 288:
        raise ValueError(f"logo of {picture.width}x{picture.height} dots is too large for NV memory")
    canvas = Image.new("L", (x_units * 8, y_units * 8), 255)
    canvas.paste(picture, (0, 0))
    pixels = canvas.load()
    if pixels is None:  # Pillow returns None only for an image without pixel data
        raise ValueError("the logo image has no pixel data")
    data = bytearray()
    for col in range(x_units * 8):  # column format: each byte is 8 dots down, the top dot in bit 7
        for row_byte in range(y_units):
            value = 0
            for bit in range(8):
                if int(pixels[col, row_byte * 8 + bit]) < 128:  # type: ignore[arg-type]
                    value |= 0x80 >> bit
            data.append(value)
    return b"\x1cq\x01" + bytes([x_units & 0xFF, x_units >> 8, y_units & 0xFF, y_units >> 8]) + bytes(data)


def content_size(document: ReceiptDocument, encoding: str) -> int:
    """What the receipt carries: its encoded text plus the QR payload (the bench's and tests' yardstick)."""
    parts = (document.header, document.body, document.footer)
    text = sum(len(lines_bytes(part, encoding)) for part in parts)
    return text + len(document.qr_payload.encode("utf-8"))


@dataclass(frozen=True, slots=True)
class JobFormat:
    """How one printer wants its receipts: the encoding and what its profile supports.

    ``encoding`` is a codec's canonical name (``codecs.lookup(...).name``); ``code_page`` the
    profile's ``ESC t`` number for it (None: the printer keeps its own page); ``nv_logo`` the key of
    a logo in the printer's NV memory (0: none).
    """

    encoding: str
    code_page: int | None = None
    qr: bool = True
    cut: bytes = PARTIAL_CUT
    nv_logo: int = 0

    @property
    def chinese_mode(self) -> bool:
        return self.encoding in CHINESE_MULTIBYTE

    def job_bytes(self, document: ReceiptDocument) -> bytes:
        """Every byte of one receipt, from ``ESC @`` to the cut (the golden-byte tests read it)."""
        header, body, footer = (
            lines_bytes(part, self.encoding) for part in (document.header, document.body, document.footer)
        )
        out = bytearray(ESC_INIT)
        if self.chinese_mode:
            out += FS_CHINESE_ON
        else:
            out += FS_CHINESE_OFF
            if self.code_page is not None:
                out += b"\x1bt" + bytes([self.code_page])
        if self.nv_logo:
            # FS p n m: the logo stored once in the printer's NV memory (kiosk printer logo), 4 bytes
            out += CENTRE + b"\x1cp" + bytes([self.nv_logo, 0])
        if header:
            out += HEADER_ON + header + BODY_ON
        elif self.nv_logo:
            out += BODY_ON
        out += body
        qr = bool(document.qr_payload) and self.qr
        if footer or qr:
            out += CENTRE  # ESC a applies to the QR symbol too
        out += footer
        if qr:
            out += native_qr(document.qr_payload)
        out += b"\x1bd" + bytes([FEED_LINES]) + self.cut
        return bytes(out)


def job_format_for(printer: Any, encoding: str, nv_logo: int = 0) -> JobFormat:
    """The format a python-escpos printer object's profile asks for; ValueError for an unknown codec."""
    try:
        name = codecs.lookup(encoding).name
    except LookupError as exc:
        raise ValueError(
            f"printer encoding {encoding!r} is not a Python codec; use e.g. gb18030, cp437 or utf-8"
        ) from exc
    if not 0 <= nv_logo <= 255:
        raise ValueError(f"nv_logo must be 0 (none) or an NV image number 1..255, got {nv_logo}")
    code_page = None
    if name not in CHINESE_MULTIBYTE:
        code_page = _code_page_number(printer, name)
        if code_page is None:
            log.warning(
                "printer profile has no code page for %s: text is sent in it, the printer keeps its own page",
                name,
            )
    return JobFormat(
        encoding=name,
        code_page=code_page,
        qr=_supports(printer, "qrCode", True),
        cut=PARTIAL_CUT if _supports(printer, "paperPartCut", True) else FULL_CUT,
        nv_logo=nv_logo,
    )


def _code_page_number(printer: Any, encoding: str) -> int | None:
    """The profile's ``ESC t`` number for a single-byte encoding (cp437 -> 0), or None if it has none."""
    profile = getattr(printer, "profile", None)
    if profile is None:  # a printer object without a profile: the printer keeps its own code page
        return None
    pages = profile.get_code_pages()
    wanted = encoding.upper().replace("_", "")
    for name, number in pages.items():
        if str(name).upper().replace("_", "").replace("-", "") == wanted:
            return int(number)
    return None


def _supports(printer: Any, feature: str, default: bool) -> bool:
    profile = getattr(printer, "profile", None)
    return default if profile is None else bool(profile.supports(feature))
