"""A barcode scanner on a serial line (RS-232, or USB in CDC/virtual COM mode), through pyserial.

Such a scanner sends each code as a line: the text, then CR, LF or CR LF (the usual factory
setting; some add a prefix or suffix, which ``scanned`` trims only if it is spaces). Bytes that are
not UTF-8, lines longer than ``MAX_LINE`` bytes and lines with control characters are dropped
with a log line that does not carry their content. A port that cannot be opened, or that goes away
(USB unplugged), is reported once through ``on_fault`` and opened again with a growing pause, so a
replugged scanner comes back without a restart.

``port`` is a device (``/dev/ttyACM0``, best a ``/dev/serial/by-id/...`` name) or any pyserial URL
(``loop://`` in tools). Tests use a pseudo-terminal pair.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

import serial

from drivers.camera.types import Decoded
from drivers.scanners.common import Backoff, ScannerWorker, scanned
from kiosk_common.codes import mask

log = logging.getLogger(__name__)

MAX_LINE = 512
PORT_FAULT = "serial scanner: port unavailable"


class SerialScanner(ScannerWorker):
    """Reads lines from a serial scanner on one thread; nothing starts until ``start``."""

    thread_name = "serial-scanner"

    def __init__(
        self,
        port: str,
        on_codes: Callable[[list[Decoded]], None],
        on_fault: Callable[[str], None] | None = None,
        *,
        baudrate: int = 9600,
        on_recover: Callable[[str], None] | None = None,
        open_port: Callable[..., Any] = serial.serial_for_url,
    ) -> None:
        if not port:
            raise ValueError("serial scanner port is empty; give a device such as /dev/ttyACM0")
        super().__init__(port, on_fault, on_recover)
        self.port = port
        self.baudrate = baudrate
        self._on_codes = on_codes
        self._open_port = open_port
        self._serial: Any = None
        self.codes_reported = 0
        self.lines_dropped = 0
        self._connected = threading.Event()

    @property
    def connected(self) -> bool:
        """True while the port is open (pyserial drops what arrived before it was opened)."""
        return self._connected.is_set()

    def wait_connected(self, timeout: float) -> bool:
        """Wait until the port is open, for a caller that must not write to it sooner; False on timeout."""
        return self._connected.wait(timeout)

    def _run(self) -> None:
        backoff = Backoff()
        while not self._stop.is_set():
            try:
                port = self._open_port(self.port, baudrate=self.baudrate, timeout=0.2)
            except (serial.SerialException, OSError, ValueError) as exc:
                self._set_fault(f"{PORT_FAULT}: {exc}")
                self._stop.wait(backoff.next())
                continue
            backoff.reset()
            self._clear_fault()
            self._connected.set()
            try:
                self._read_lines(port)
            except (serial.SerialException, OSError) as exc:
                self._set_fault(f"{PORT_FAULT}: {exc}")
                self._stop.wait(backoff.next())
            finally:
                self._connected.clear()
                try:
                    port.close()
                except (serial.SerialException, OSError):
                    log.debug("closing %s failed", self.port, exc_info=True)

    def _read_lines(self, port: Any) -> None:
        line = bytearray()
        overlong = False
        while not self._stop.is_set():
            chunk: bytes = port.read(max(1, min(256, port.in_waiting or 1)))
            for byte in chunk:
                if byte in (0x0D, 0x0A):
                    if line and not overlong:
                        self._emit(bytes(line))
                    elif overlong:
                        self.lines_dropped += 1
                        log.warning("serial scanner: dropped a line longer than %d bytes", MAX_LINE)
                    line.clear()
                    overlong = False
                elif len(line) < MAX_LINE:
                    line.append(byte)
                else:
                    overlong = True

    def _emit(self, raw: bytes) -> None:
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            self.lines_dropped += 1
            log.warning("serial scanner: dropped %d bytes that are not UTF-8 text", len(raw))
            return
        code = scanned(text)
        if code is None:
            self.lines_dropped += 1
            log.warning("serial scanner: dropped an unusable line (%d characters)", len(text))
            return
        log.debug("serial scanner: %s %s", code.symbology, mask(code.text))
        self.codes_reported += 1
        try:
            self._on_codes([code])
        except Exception:
            log.exception("on_codes callback raised")
