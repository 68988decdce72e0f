"""The receipt printer: ESC/POS over python-escpos, with our own text encoding and status queries.

python-escpos does the transport (serial, network, ...) and the fixed commands (initialise, align,
emphasis, native QR, cut). We encode the text ourselves and send it with ``_raw`` for two reasons:
its "magic" code-page switching knows nothing of GB18030 Chinese mode, and it would add code-page
commands around text, while the brief asks that the bytes sent stay close to the size of the text
(at 9600 baud every byte costs about a millisecond in front of the customer).

Chinese mode: for the two-byte Chinese encodings (GB18030, GBK, GB2312, Big5) we send ``FS &``
right after ``ESC @``. Chinese printers read text bytes as double-byte characters only in "Chinese
character mode"; many power up in it, but ``ESC @`` resets it on some models and a DIP switch or a
previous job may have cancelled it, so the driver states it on every receipt (two bytes). For any
other encoding it sends ``FS .`` (cancel) so high bytes are taken from the printer's code page.

Status: python-escpos 3.1's ``paper_status()`` reports "adequate" when the printer is silent, and a
dead printer must not look ready, so the real-time queries ``DLE EOT 1/2/4`` are sent and read here,
each bounded by ``status_timeout_ms``.
"""

from __future__ import annotations

import codecs
import logging
import threading
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import serial
from escpos.constants import QR_ECLEVEL_M
from escpos.exceptions import Error as EscposError

from kiosk.ports import PrinterError, ReceiptPrinter
from kiosk.settings import PrinterSection

if TYPE_CHECKING:
    from escpos.escpos import Escpos

    from kiosk.core.receipt import ReceiptLayout

log = logging.getLogger(__name__)

PaperState = Literal["ok", "near_end", "out", "unknown"]

FS_CHINESE_ON = b"\x1c&"
FS_CHINESE_OFF = b"\x1c."
DLE_EOT = b"\x10\x04"

#: Every real-time status byte has bit 1 and bit 4 set and bits 0 and 7 clear; anything else is noise.
_STATUS_FIXED_MASK = 0x93
_STATUS_FIXED_BITS = 0x12
_ST1_OFFLINE = 0x08  # DLE EOT 1, bit 3
_ST2_COVER_OPEN = 0x04  # DLE EOT 2, bit 2
_ST4_NEAR_END = 0x0C  # DLE EOT 4, bits 2-3: roll paper near-end sensor
_ST4_PAPER_END = 0x60  # DLE EOT 4, bits 5-6: roll paper end sensor

#: codecs.lookup(...).name of encodings a printer prints only in Chinese character mode
_CHINESE_MULTIBYTE = frozenset({"gb18030", "gbk", "gb2312", "big5", "big5hkscs", "cp950"})
_MAX_STATUS_READS = 8
QR_MODULE_DOTS = 6  # 29 modules x 6 dots = about 22 mm at 203 dpi: easy for a phone camera


@dataclass(frozen=True, slots=True)
class PrinterStatus:
    """What the printer said about itself. ``None`` / "unknown" mean it did not say (no answer)."""

    online: bool | None
    paper: PaperState
    cover_open: bool | None = None
    detail: str = ""

    @property
    def ready(self) -> bool:
        return self.online is True and self.paper in ("ok", "near_end") and self.cover_open is not True


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


class EscposReceiptPrinter:
    """A ReceiptPrinter on any python-escpos printer object (``Serial`` on a kiosk, ``Dummy`` in tests)."""

    def __init__(self, printer: Escpos, encoding: str = "gb18030", status_timeout_ms: int = 500) -> None:
        try:
            self._encoding = codecs.lookup(encoding).name
        except LookupError as exc:
            raise ValueError(
                f"printer encoding {encoding!r} is not a Python codec; use e.g. gb18030, cp437 or utf-8"
            ) from exc
        if not 1 <= status_timeout_ms <= 60_000:
            raise ValueError(f"status_timeout_ms must be 1..60000, got {status_timeout_ms}")
        self._printer = printer
        self._timeout_s = status_timeout_ms / 1000
        self._chinese_mode = self._encoding in _CHINESE_MULTIBYTE
        self._lock = threading.Lock()
        devfile = getattr(printer, "devfile", "")
        self._where = f"the printer on {devfile}" if devfile else "the printer"

    @property
    def encoding(self) -> str:
        return self._encoding

    # --- printing ---------------------------------------------------------------------------------

    def _encoded_parts(self, layout: ReceiptLayout) -> list[bytes]:
        """The text parts of the job, encoded: header, body, footer (each possibly empty)."""
        return [_lines_bytes(part, self._encoding) for part in (layout.header, layout.body, layout.footer)]

    def print_receipt(self, layout: ReceiptLayout) -> None:
        header, body, footer = self._encoded_parts(layout)
        with self._lock:
            try:
                self._ensure_open()
                p = self._printer
                p.hw("INIT")  # ESC @: forget whatever a previous job or a glitch left set
                p._raw(FS_CHINESE_ON if self._chinese_mode else FS_CHINESE_OFF)
                if header:
                    p.set(align="center", bold=True)
                    p._raw(header)
                    p.set(align="left", bold=False)
                p._raw(body)
                if footer or layout.qr_payload:
                    p.set(align="center")  # ESC a applies to the QR symbol too
                if footer:
                    p._raw(footer)
                if layout.qr_payload:
                    # native: the printer draws the symbol from ~50 bytes instead of a ~2 KB raster image
                    p.qr(layout.qr_payload, native=True, size=QR_MODULE_DOTS, ec=QR_ECLEVEL_M)
                p.cut(mode="PART")
            except (OSError, serial.SerialException, EscposError, ValueError, AssertionError) as exc:
                self._drop_connection()
                raise PrinterError(
                    f"printing on {self._where} failed: {exc}; check the cable, the power and the paper"
                ) from exc

    # --- status -----------------------------------------------------------------------------------

    def is_ready(self) -> bool:
        return self.status().ready

    def status(self) -> PrinterStatus:
        """Ask the printer (DLE EOT 1, then 2 when offline, then 4); silence gives an unknown status.

        A dead printer costs one ``status_timeout_ms``: after the first query goes unanswered no more
        are sent.
        """
        with self._lock:
            try:
                device = self._ensure_open()
            except PrinterError as exc:
                return PrinterStatus(online=None, paper="unknown", detail=str(exc))
            if not isinstance(device, serial.SerialBase):
                return PrinterStatus(
                    online=None, paper="unknown", detail="this transport cannot read status replies"
                )
            try:
                return self._query_all(device)
            except (OSError, serial.SerialException, EscposError, AssertionError) as exc:
                self._drop_connection()
                return PrinterStatus(online=None, paper="unknown", detail=f"status query failed: {exc}")

    def _query_all(self, device: Any) -> PrinterStatus:
        ms = round(self._timeout_s * 1000)
        st1 = self._query(device, 1)
        if st1 is None:
            return PrinterStatus(online=None, paper="unknown", detail=f"no answer within {ms} ms")
        online = not st1 & _ST1_OFFLINE
        cover_open: bool | None = False  # an open cover always takes the printer offline
        if not online:
            st2 = self._query(device, 2)
            cover_open = None if st2 is None else bool(st2 & _ST2_COVER_OPEN)
        st4 = self._query(device, 4)
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
            )
            if present
        ]
        return PrinterStatus(online, paper, cover_open, detail=", ".join(reasons) or "ready")

    def _query(self, device: Any, n: int) -> int | None:
        """Send DLE EOT n and return the first well-formed reply byte, or None by the deadline."""
        device.reset_input_buffer()  # a late reply to an earlier query must not answer this one
        self._printer._raw(DLE_EOT + bytes([n]))
        deadline = time.monotonic() + self._timeout_s
        for _ in range(_MAX_STATUS_READS):
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            device.timeout = left
            data = device.read(1)
            if not data:
                return None
            if data[0] & _STATUS_FIXED_MASK == _STATUS_FIXED_BITS:
                return int(data[0])
            log.debug("printer: ignoring byte 0x%02x while waiting for status %d", data[0], n)
        return None

    # --- connection -------------------------------------------------------------------------------

    def _ensure_open(self) -> Any:
        """The transport's device, opened on first use (or again after a failure)."""
        try:
            device = self._printer.device  # python-escpos opens lazily on first access
            if device is None:  # an earlier open failed: python-escpos would not try again by itself
                self._printer.open()
                device = self._printer.device
        except (OSError, serial.SerialException, EscposError, ValueError) as exc:
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
    Raises ValueError for a profile python-escpos does not know (a settings mistake, not a fault).
    """
    if settings.transport == "none":
        return NoPrinter()
    if settings.transport == "file":
        from drivers.printer.file_printer import FileReceiptPrinter

        folder = Path(settings.device)
        if not folder.is_absolute() and data_dir is not None:
            folder = data_dir / folder
        return FileReceiptPrinter(folder)
    from escpos.printer import Serial

    try:
        escpos_printer = Serial(
            devfile=settings.device,
            baudrate=settings.baudrate,
            timeout=settings.status_timeout_ms / 1000,
            profile=settings.profile,
        )
    except KeyError:
        raise ValueError(
            f"[printer] profile = {settings.profile!r} is not a python-escpos printer profile; "
            "use 'default' or a model name such as 'TM-T88V', 'NT-5890K' or 'ZJ-5870'"
        ) from None
    return EscposReceiptPrinter(
        escpos_printer, encoding=settings.encoding, status_timeout_ms=settings.status_timeout_ms
    )
