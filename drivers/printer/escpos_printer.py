"""The receipt printer: ESC/POS over python-escpos, with our own text encoding and status queries.

python-escpos does the transport (serial, USB, network, a device file) and knows each model's
profile (partial cut, native QR, code pages). We build the job bytes ourselves and send them with
``_raw`` because its "magic" code-page switching knows nothing of GB18030 Chinese mode and would
wrap text in code-page commands, while the brief asks that the bytes sent stay within 1.2 x the
receipt's content (at 9600 baud every byte costs about a millisecond in front of the customer);
see docs/adr/0006-receipt-bytes-and-reprints.md.

Chinese mode: for the two-byte Chinese encodings (GB18030, GBK, GB2312, Big5) we send ``FS &``
right after ``ESC @``. Chinese printers read text bytes as double-byte characters only in "Chinese
character mode"; many power up in it, but ``ESC @`` resets it on some models and a DIP switch or a
previous job may have cancelled it, so the driver states it on every receipt (two bytes). For any
other encoding it sends ``FS .`` (cancel) and ``ESC t n`` with the profile's number for the code page.

Status: python-escpos 3.1's ``paper_status()`` reports "adequate" when the printer is silent, and a
dead printer must not look ready, so the real-time queries ``DLE EOT 1..4`` are sent and read here,
each bounded by ``status_timeout_ms``. A receipt is checked before it is sent (nothing is sent to a
printer that cannot print it) and after (paper that ran out mid-receipt is noticed), and a failure
says whether the printer may have printed it (``PrintFault.may_have_printed``), so the reprint queue
never prints a receipt twice blindly.
"""

from __future__ import annotations

import codecs
import contextlib
import logging
import os
import select
import socket
import termios
import threading
import time
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import serial
from escpos.exceptions import Error as EscposError

from kiosk.ports import PrinterError, ReceiptPrinter
from kiosk.settings import PrinterSection

if TYPE_CHECKING:
    from escpos.escpos import Escpos

    from kiosk.core.receipt import ReceiptLayout

log = logging.getLogger(__name__)

PaperState = Literal["ok", "near_end", "out", "unknown"]

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

#: Every real-time status byte has bit 1 and bit 4 set and bits 0 and 7 clear; anything else is noise.
_STATUS_FIXED_MASK = 0x93
_STATUS_FIXED_BITS = 0x12
_ST1_OFFLINE = 0x08  # DLE EOT 1, bit 3
_ST2_COVER_OPEN = 0x04  # DLE EOT 2, bit 2
_ST2_FEED_BUTTON = 0x08  # DLE EOT 2, bit 3
_ST2_ERROR = 0x40  # DLE EOT 2, bit 6: an error occurred (cause in DLE EOT 3)
_ST3_CUTTER = 0x08  # DLE EOT 3, bit 3: auto-cutter error
_ST3_UNRECOVERABLE = 0x20  # DLE EOT 3, bit 5
_ST3_AUTO_RECOVERABLE = 0x40  # DLE EOT 3, bit 6 (e.g. print head too hot)
_ST4_NEAR_END = 0x0C  # DLE EOT 4, bits 2-3: roll paper near-end sensor
_ST4_PAPER_END = 0x60  # DLE EOT 4, bits 5-6: roll paper end sensor

#: codecs.lookup(...).name of encodings a printer prints only in Chinese character mode
_CHINESE_MULTIBYTE = frozenset({"gb18030", "gbk", "gb2312", "big5", "big5hkscs", "cp950"})
_MAX_STATUS_READS = 8
QR_MODULE_DOTS = 6  # 29 modules x 6 dots = about 22 mm at 203 dpi: easy for a phone camera
QR_EC_M = 49  # error correction M (15 %): survives a smudge on thermal paper
_BITS_PER_BYTE = 10  # start + 8 data + stop on the serial line
#: what a transport raises when the printer or its cable goes away (termios.error: tcdrain on a dead pty)
_WIRE_ERRORS = (OSError, serial.SerialException, EscposError, ValueError, AssertionError, termios.error)


@dataclass(frozen=True, slots=True)
class PrinterStatus:
    """What the printer said about itself. ``None`` / "unknown" mean it did not say (no answer)."""

    online: bool | None
    paper: PaperState
    cover_open: bool | None = None
    detail: str = ""
    errors: tuple[str, ...] = field(default=())

    @property
    def ready(self) -> bool:
        return (
            self.online is True
            and self.paper in ("ok", "near_end")
            and self.cover_open is not True
            and not self.errors
        )

    def as_json(self) -> dict[str, Any]:
        """The shape ``kiosk printer status --json`` prints (null / "unknown" when not answered)."""
        return {
            "online": self.online,
            "cover_open": self.cover_open,
            "paper": self.paper,
            "errors": list(self.errors),
        }


UNKNOWN_STATUS = PrinterStatus(online=None, paper="unknown")


class PrintFault(PrinterError):
    """A receipt that did not (certainly) print. ``may_have_printed`` guards against double prints.

    False: nothing, or only a part cut short by a reported fault, reached the paper, so printing it
    again once the printer is ready gives the customer one whole receipt. True: the printer stopped
    answering after the bytes left, so it may have printed all of it; only staff decide to reprint.
    """

    def __init__(self, message: str, *, may_have_printed: bool, status: PrinterStatus | None = None) -> None:
        super().__init__(message)
        self.may_have_printed = may_have_printed
        self.status = status


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


def _lines_bytes(lines: tuple[str, ...], encoding: str) -> bytes:
    """Each line (a layout entry may itself hold several, joined by newlines) ended by LF."""
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
    if len(data) > 7089:
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
    assert pixels is not None
    data = bytearray()
    for col in range(x_units * 8):  # column format: each byte is 8 dots down, the top dot in bit 7
        for row_byte in range(y_units):
            value = 0
            for bit in range(8):
                if int(pixels[col, row_byte * 8 + bit]) < 128:  # type: ignore[arg-type]
                    value |= 0x80 >> bit
            data.append(value)
    return b"\x1cq\x01" + bytes([x_units & 0xFF, x_units >> 8, y_units & 0xFF, y_units >> 8]) + bytes(data)


def content_size(layout: ReceiptLayout, encoding: str) -> int:
    """What the receipt carries: its encoded text plus the QR payload (the bench's and tests' yardstick)."""
    text = sum(len(_lines_bytes(part, encoding)) for part in (layout.header, layout.body, layout.footer))
    return text + len(layout.qr_payload.encode("utf-8"))


def _code_page_number(printer: Any, encoding: str) -> int | None:
    """The profile's ``ESC t`` number for a single-byte encoding (cp437 -> 0), or None if it has none."""
    try:
        pages = printer.profile.get_code_pages()
    except Exception:  # a printer object without a profile: the printer keeps its own code page
        return None
    wanted = encoding.upper().replace("_", "")
    for name, number in pages.items():
        if str(name).upper().replace("_", "").replace("-", "") == wanted:
            return int(number)
    return None


def _supports(printer: Any, feature: str, default: bool) -> bool:
    try:
        return bool(printer.profile.supports(feature))
    except Exception:
        return default


class EscposReceiptPrinter:
    """A ReceiptPrinter on any python-escpos printer object (``Serial`` on a kiosk, ``Dummy`` in tests).

    ``check_status``: ask the printer before and after each receipt. Off only for transports that
    cannot answer (``Dummy`` in golden-byte tests, a write-only device file).
    """

    def __init__(
        self,
        printer: Escpos,
        encoding: str = "gb18030",
        status_timeout_ms: int = 500,
        *,
        check_status: bool | None = None,
        nv_logo: int = 0,
    ) -> None:
        try:
            self._encoding = codecs.lookup(encoding).name
        except LookupError as exc:
            raise ValueError(
                f"printer encoding {encoding!r} is not a Python codec; use e.g. gb18030, cp437 or utf-8"
            ) from exc
        if not 1 <= status_timeout_ms <= 60_000:
            raise ValueError(f"status_timeout_ms must be 1..60000, got {status_timeout_ms}")
        if not 0 <= nv_logo <= 255:
            raise ValueError(f"nv_logo must be 0 (none) or an NV image number 1..255, got {nv_logo}")
        self._printer = printer
        self._timeout_s = status_timeout_ms / 1000
        self._chinese_mode = self._encoding in _CHINESE_MULTIBYTE
        self._code_page = None if self._chinese_mode else _code_page_number(printer, self._encoding)
        if not self._chinese_mode and self._code_page is None:
            log.warning(
                "printer profile has no code page for %s: text is sent in it, the printer keeps its own page",
                self._encoding,
            )
        self._qr = _supports(printer, "qrCode", True)
        self._cut = PARTIAL_CUT if _supports(printer, "paperPartCut", True) else FULL_CUT
        self._nv_logo = nv_logo
        self._check_status = check_status
        self._lock = threading.Lock()
        devfile = getattr(printer, "devfile", "") or getattr(printer, "host", "")
        self._where = f"the printer on {devfile}" if devfile else "the printer"
        self._baudrate = int(getattr(printer, "baudrate", 0) or 0)

    @property
    def encoding(self) -> str:
        return self._encoding

    # --- the job ----------------------------------------------------------------------------------

    def job_bytes(self, layout: ReceiptLayout) -> bytes:
        """Every byte of one receipt, from ``ESC @`` to the cut (pure: the golden-byte tests read it)."""
        header, body, footer = (
            _lines_bytes(part, self._encoding) for part in (layout.header, layout.body, layout.footer)
        )
        out = bytearray(ESC_INIT)
        if self._chinese_mode:
            out += FS_CHINESE_ON
        else:
            out += FS_CHINESE_OFF
            if self._code_page is not None:
                out += b"\x1bt" + bytes([self._code_page])
        if self._nv_logo:
            # FS p n m: the logo stored once in the printer's NV memory (kiosk printer logo), 4 bytes
            out += CENTRE + b"\x1cp" + bytes([self._nv_logo, 0])
        if header:
            out += HEADER_ON + header + BODY_ON
        elif self._nv_logo:
            out += BODY_ON
        out += body
        if footer or (layout.qr_payload and self._qr):
            out += CENTRE  # ESC a applies to the QR symbol too
        out += footer
        if layout.qr_payload and self._qr:
            out += native_qr(layout.qr_payload)
        out += b"\x1bd" + bytes([FEED_LINES]) + self._cut
        return bytes(out)

    def print_receipt(self, layout: ReceiptLayout) -> None:
        job = self.job_bytes(layout)
        with self._lock:
            try:
                device = self._ensure_open()
            except PrinterError as exc:
                raise PrintFault(str(exc), may_have_printed=False) from exc
            reader = self._reader(device)
            if reader is not None:
                before = self._status_locked(device, reader)
                if not before.ready:
                    raise PrintFault(
                        f"{self._where} is not ready ({before.detail}); nothing was sent",
                        may_have_printed=False,
                        status=before,
                    )
            try:
                self._printer._raw(job)
                if reader is not None:
                    reader.drain()
            except _WIRE_ERRORS as exc:
                self._drop_connection()
                raise PrintFault(
                    f"printing on {self._where} failed: {exc}; check the cable, the power and the paper",
                    may_have_printed=True,
                ) from exc
            if reader is None:
                return
            # the printer answers real-time queries as bytes arrive, after the job ahead of them
            wire_s = len(job) * _BITS_PER_BYTE / self._baudrate if self._baudrate else 0.0
            after = self._status_locked(device, reader, first_wait_s=wire_s)
            if after.online is None:
                self._drop_connection()
                raise PrintFault(
                    f"{self._where} stopped answering after the receipt was sent; it may or may not have printed",
                    may_have_printed=True,
                    status=after,
                )
            if not after.ready:
                self._clear_buffers()
                raise PrintFault(
                    f"{self._where} reported a fault during the receipt ({after.detail})",
                    may_have_printed=False,
                    status=after,
                )

    def store_nv_logo(self, image: Any, max_width_dots: int = 384) -> int:
        """Define ``image`` as the printer's NV logo 1 (``FS q``); return the bytes sent."""
        data = nv_logo_bytes(image, max_width_dots)
        with self._lock:
            try:
                self._ensure_open()
                self._printer._raw(data)
            except _WIRE_ERRORS as exc:
                self._drop_connection()
                raise PrinterError(f"storing the logo on {self._where} failed: {exc}") from exc
        return len(data)

    def _clear_buffers(self) -> None:
        """Drop the unprinted rest of an interrupted receipt so it cannot print after the fault clears."""
        try:
            self._printer._raw(DLE_DC4_CLEAR_BUFFERS)
        except Exception as exc:  # the printer is already in trouble; the reprint is what matters
            log.debug("printer: clearing buffers failed: %s", exc)

    # --- status -----------------------------------------------------------------------------------

    def is_ready(self) -> bool:
        return self.status().ready

    def status(self) -> PrinterStatus:
        """Ask the printer (DLE EOT 1; 2 and 3 when offline; then 4); silence gives an unknown status.

        A dead printer costs one ``status_timeout_ms``: after the first query goes unanswered no more
        are sent.
        """
        with self._lock:
            try:
                device = self._ensure_open()
            except PrinterError as exc:
                return PrinterStatus(online=None, paper="unknown", detail=str(exc))
            reader = self._reader(device)
            if reader is None:
                return PrinterStatus(
                    online=None, paper="unknown", detail="this transport cannot read status replies"
                )
            return self._status_locked(device, reader)

    def _status_locked(self, device: Any, reader: _Reader, first_wait_s: float = 0.0) -> PrinterStatus:
        try:
            return self._query_all(reader, first_wait_s)
        except _WIRE_ERRORS as exc:
            self._drop_connection()
            return PrinterStatus(online=None, paper="unknown", detail=f"status query failed: {exc}")

    def _query_all(self, reader: _Reader, first_wait_s: float = 0.0) -> PrinterStatus:
        ms = round(self._timeout_s * 1000)
        st1 = self._query(reader, 1, first_wait_s)
        if st1 is None:
            return PrinterStatus(online=None, paper="unknown", detail=f"no answer within {ms} ms")
        online = not st1 & _ST1_OFFLINE
        cover_open: bool | None = False  # an open cover always takes the printer offline
        errors: list[str] = []
        if not online:
            st2 = self._query(reader, 2)
            cover_open = None if st2 is None else bool(st2 & _ST2_COVER_OPEN)
            if st2 is not None and st2 & _ST2_FEED_BUTTON:
                errors.append("feed_button")
            if st2 is not None and st2 & _ST2_ERROR:
                st3 = self._query(reader, 3)
                if st3 is None:
                    errors.append("error")
                else:
                    errors += [
                        name
                        for name, bit in (
                            ("cutter", _ST3_CUTTER),
                            ("unrecoverable", _ST3_UNRECOVERABLE),
                            ("auto_recoverable", _ST3_AUTO_RECOVERABLE),
                        )
                        if st3 & bit
                    ] or ["error"]
        st4 = self._query(reader, 4)
        paper: PaperState
        if st4 is None:
            paper = "unknown"
        elif st4 & _ST4_PAPER_END:
            paper = "out"
        elif st4 & _ST4_NEAR_END:
            paper = "near_end"
        else:
            paper = "ok"
        reasons = [
            reason
            for reason, present in (
                ("offline", not online),
                ("cover open", cover_open is True),
                (f"paper {paper.replace('_', ' ')}", paper != "ok"),
                *((f"{e.replace('_', ' ')} error", True) for e in errors if e != "feed_button"),
                ("feed button held", "feed_button" in errors),
            )
            if present
        ]
        return PrinterStatus(
            online, paper, cover_open, detail=", ".join(reasons) or "ready", errors=tuple(errors)
        )

    def _query(self, reader: _Reader, n: int, extra_wait_s: float = 0.0) -> int | None:
        """Send DLE EOT n and return the first well-formed reply byte, or None by the deadline."""
        reader.discard_input()  # a late reply to an earlier query must not answer this one
        self._printer._raw(DLE_EOT + bytes([n]))
        deadline = time.monotonic() + self._timeout_s + extra_wait_s
        for _ in range(_MAX_STATUS_READS):
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            data = reader.read_byte(left)
            if data is None:
                return None
            if data & _STATUS_FIXED_MASK == _STATUS_FIXED_BITS:
                return data
            log.debug("printer: ignoring byte 0x%02x while waiting for status %d", data, n)
        return None

    def _reader(self, device: Any) -> _Reader | None:
        if self._check_status is False:
            return None
        return _reader_for(device)

    # --- connection -------------------------------------------------------------------------------

    def _ensure_open(self) -> Any:
        """The transport's device, opened on first use (or again after a failure)."""
        try:
            device = self._printer.device  # python-escpos opens lazily on first access
            if device is None:  # an earlier open failed: python-escpos would not try again by itself
                self._printer.open()
                device = self._printer.device
        except (OSError, serial.SerialException, EscposError, ValueError, RuntimeError) as exc:
            raise PrinterError(
                f"cannot open {self._where}: {exc}; check that it is plugged in and [printer] device is right"
            ) from exc
        if isinstance(device, serial.SerialBase) and device.write_timeout is None:
            # a printer holding its busy line must not hang the kiosk: allow twice the time to fill
            # the printer's input buffer (4 KB on common models) at the configured rate
            device.write_timeout = max(5.0, 2 * 4096 * 10 / device.baudrate)
        return device

    def _drop_connection(self) -> None:
        """Close the transport so the next use opens it again (an unplugged USB adapter comes back)."""
        try:
            self._printer.close()
            return
        except Exception as exc:  # the device is already broken; closing it is best effort
            log.debug("printer: error while closing: %s", exc)
        # python-escpos's Serial.close() flushes first; on a dead line the flush fails and leaves the
        # port open (and __del__ tries again later), so close the port itself and forget it
        try:
            device = self._printer.device  # the open port: close() above failed, so there is one
            if device is not None:
                device.close()
        except Exception as exc:
            log.debug("printer: error while closing the port: %s", exc)
        self._printer.device = False  # python-escpos's "not opened": the next use opens it again

    def close(self) -> None:
        with self._lock:
            self._drop_connection()


class _Reader:
    """Reads status reply bytes from one kind of transport, each read bounded in time."""

    def __init__(self, device: Any) -> None:
        self.device = device

    def read_byte(self, timeout_s: float) -> int | None:
        raise NotImplementedError

    def discard_input(self) -> None:
        for _ in range(4096):  # bounded: a babbling line must not hold the kiosk here
            if self.read_byte(0.0) is None:
                return

    def drain(self) -> None:
        """Wait until the bytes written have left this machine (where the transport can tell)."""


class _SerialReader(_Reader):
    def read_byte(self, timeout_s: float) -> int | None:
        self.device.timeout = timeout_s
        data = self.device.read(1)
        return int(data[0]) if data else None

    def discard_input(self) -> None:
        self.device.reset_input_buffer()

    def drain(self) -> None:
        self.device.flush()


class _SocketReader(_Reader):
    def read_byte(self, timeout_s: float) -> int | None:
        sock: socket.socket = self.device
        old = sock.gettimeout()
        try:
            sock.settimeout(max(timeout_s, 0.0) or 0.0)
            data = sock.recv(1)
        except (TimeoutError, BlockingIOError, InterruptedError):
            return None
        finally:
            with contextlib.suppress(OSError):
                sock.settimeout(old)
        if not data:
            raise OSError("the printer closed the connection")
        return int(data[0])


class _FileReader(_Reader):
    """A bidirectional device file (``/dev/usb/lp0`` with the usblp driver)."""

    def read_byte(self, timeout_s: float) -> int | None:
        fd = self.device.fileno()
        ready, _, _ = select.select([fd], [], [], max(timeout_s, 0.0))
        if not ready:
            return None
        data = os.read(fd, 1)
        return int(data[0]) if data else None

    def drain(self) -> None:
        self.device.flush()


def _reader_for(device: Any) -> _Reader | None:
    if isinstance(device, serial.SerialBase):
        return _SerialReader(device)
    if isinstance(device, socket.socket):
        return _SocketReader(device)
    if hasattr(device, "fileno") and hasattr(device, "mode") and "+" in str(getattr(device, "mode", "")):
        return _FileReader(device)
    return None


class NoPrinter:
    """``transport = "none"``: never ready, so the checkout offers an e-receipt or calls staff."""

    def is_ready(self) -> bool:
        return False

    def status(self) -> PrinterStatus:
        return PrinterStatus(online=None, paper="unknown", detail="no printer configured")

    def print_receipt(self, layout: ReceiptLayout) -> None:
        raise PrinterError("no printer configured")

    def close(self) -> None:
        pass


def open_printer(settings: PrinterSection, data_dir: Path | None = None) -> ReceiptPrinter:
    """The printer ``settings`` describe. Touches no device: a missing printer is reported on use.

    ``data_dir`` anchors a relative folder for ``transport = "file"`` (``[printer] device``).
    Raises ValueError for a profile python-escpos does not know or a device string that does not fit
    the transport (a settings mistake, not a fault).
    """
    if settings.transport == "none":
        return NoPrinter()
    if settings.transport == "file":
        from drivers.printer.file_printer import FileReceiptPrinter

        folder = Path(settings.device)
        if not folder.is_absolute() and data_dir is not None:
            folder = data_dir / folder
        return FileReceiptPrinter(folder)
    try:
        escpos_printer = _escpos_transport(settings)
    except KeyError:
        raise ValueError(
            f"[printer] profile = {settings.profile!r} is not a python-escpos printer profile; "
            "use 'default' or a model name such as 'TM-T88V', 'NT-5890K' or 'ZJ-5870'"
        ) from None
    return EscposReceiptPrinter(
        escpos_printer,
        encoding=settings.encoding,
        status_timeout_ms=settings.status_timeout_ms,
        nv_logo=settings.nv_logo,
    )


def _escpos_transport(settings: PrinterSection) -> Any:
    """The python-escpos printer object for serial, usb or network (opened lazily by python-escpos)."""
    timeout_s = settings.status_timeout_ms / 1000
    if settings.transport == "serial":
        from escpos.printer import Serial

        return Serial(
            devfile=settings.device, baudrate=settings.baudrate, timeout=timeout_s, profile=settings.profile
        )
    if settings.transport == "network":
        from escpos.printer import Network

        host, sep, port = settings.device.rpartition(":")
        if not sep:
            host, port = settings.device, "9100"
        if not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError(
                f"[printer] device = {settings.device!r} is not host:port for transport network; "
                "write e.g. '192.168.1.50:9100'"
            )
        return Network(host=host, port=int(port), timeout=max(timeout_s, 1.0), profile=settings.profile)
    if settings.device.startswith("/"):  # usb through the kernel's usblp driver
        return _read_write_file(settings.device, settings.profile)
    vid, sep, pid = settings.device.partition(":")
    try:
        ids = (int(vid, 16), int(pid, 16)) if sep else None
    except ValueError:
        ids = None
    if ids is None:
        raise ValueError(
            f"[printer] device = {settings.device!r} is neither a device file nor VID:PID for transport usb; "
            "write e.g. '/dev/usb/lp0' or '0416:5011' (see lsusb)"
        )
    from escpos.printer import Usb

    if not Usb.is_usable():
        raise ValueError(
            f"[printer] device = {settings.device!r} (VID:PID) needs pyusb, which is not installed; "
            "install it (pip install pyusb; apt install libusb-1.0-0) or use the kernel's usblp device, "
            "device = '/dev/usb/lp0'"
        )
    return Usb(
        idVendor=ids[0],
        idProduct=ids[1],
        timeout=max(1, settings.status_timeout_ms),
        profile=settings.profile,
    )


def _read_write_file(devfile: str, profile: str) -> Any:
    """python-escpos's ``File`` opened for reading too, so a usblp printer can answer status queries."""
    from escpos.exceptions import DeviceNotFoundError
    from escpos.printer import File

    class ReadWriteFile(File):  # type: ignore[misc]
        def open(self, raise_not_found: bool = True) -> None:
            if self._device:
                self.close()
            device: Any = None
            try:
                device = open(self.devfile, "r+b", buffering=0)  # noqa: SIM115 - closed by close()
            except OSError as exc:
                raise DeviceNotFoundError(f"could not open {self.devfile}: {exc}") from exc
            finally:
                self.device = device

    return ReadWriteFile(devfile=devfile, profile=profile)
