"""The wire: python-escpos printer objects for serial, USB and network, opening and closing them, and
reading status reply bytes back from each, every read bounded in time.

Only ``WIRE_ERRORS`` mean that the printer or its cable went away. Anything else raised on the way
(``ValueError``, ``AssertionError``, ``TypeError``...) is a bug in the kiosk's code or in a library,
and the driver reports it as an internal error, never as a pulled cable.
"""

from __future__ import annotations

import contextlib
import logging
import os
import select
import socket
import termios
from typing import Any

import serial
from escpos.exceptions import DeviceNotFoundError

from drivers.printer.errors import FaultKind, PrintFault

log = logging.getLogger(__name__)

#: what a transport raises when the printer or its cable goes away: OSError (EIO on a serial port
#: or a pty, a reset socket, pyusb's USBError), pyserial's errors (a port gone, a write timeout),
#: termios.error (tcdrain on a dead pty) and python-escpos's "device not found" on opening
WIRE_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    serial.SerialException,
    termios.error,
    DeviceNotFoundError,
)
_INPUT_BUFFER_BYTES = 4096  # common printers' receive buffer
_BITS_PER_BYTE = 10  # start + 8 data + stop on the serial line


# --- opening and closing --------------------------------------------------------------------------


def open_device(printer: Any, where: str) -> Any:
    """The transport's device, opened on first use (or again after a failure).

    Raises PrintFault (``unreachable``, nothing sent) when the port cannot be opened.
    """
    try:
        device = printer.device  # python-escpos opens lazily on first access
        if device is None:  # an earlier open failed: python-escpos would not try again by itself
            printer.open()
            device = printer.device
    except WIRE_ERRORS as exc:
        raise PrintFault(
            f"cannot open {where}: {exc}; check that it is plugged in and that the configured device names it",
            may_have_printed=False,
            kind=FaultKind.UNREACHABLE,
        ) from exc
    if isinstance(device, serial.SerialBase) and device.write_timeout is None:
        # a printer holding its busy line must not hang the kiosk: allow twice the time to fill
        # the printer's input buffer at the configured rate
        device.write_timeout = max(5.0, 2 * _INPUT_BUFFER_BYTES * _BITS_PER_BYTE / device.baudrate)
    return device


def close_device(printer: Any) -> None:
    """Close the transport so the next use opens it again (an unplugged USB adapter comes back)."""
    try:
        printer.close()
        return
    except Exception as exc:  # the device is already broken; closing it is best effort
        log.debug("printer: error while closing: %s", exc)
    # python-escpos's Serial.close() flushes first; on a dead line the flush fails and leaves the
    # port open (and __del__ tries again later), so close the port itself and forget it
    try:
        device = printer.device  # the open port: close() above failed, so there is one
        if device is not None:
            device.close()
    except Exception as exc:
        log.debug("printer: error while closing the port: %s", exc)
    printer.device = False  # python-escpos's "not opened": the next use opens it again


def where_of(printer: Any) -> str:
    """How messages to staff name the printer, e.g. 'the printer on /dev/serial0'."""
    devfile = getattr(printer, "devfile", "") or getattr(printer, "host", "")
    return f"the printer on {devfile}" if devfile else "the printer"


# --- reading status replies -----------------------------------------------------------------------


class StatusReader:
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


class SerialReader(StatusReader):
    def read_byte(self, timeout_s: float) -> int | None:
        self.device.timeout = timeout_s
        data = self.device.read(1)
        return int(data[0]) if data else None

    def discard_input(self) -> None:
        self.device.reset_input_buffer()

    def drain(self) -> None:
        self.device.flush()


class SocketReader(StatusReader):
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


class FileReader(StatusReader):
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


def reader_for(device: Any) -> StatusReader | None:
    """The reader for an open device, or None for a transport that cannot read (``Dummy``, write-only)."""
    if isinstance(device, serial.SerialBase):
        return SerialReader(device)
    if isinstance(device, socket.socket):
        return SocketReader(device)
    if hasattr(device, "fileno") and "+" in str(getattr(device, "mode", "")):
        return FileReader(device)
    return None


# --- the python-escpos printer objects --------------------------------------------------------------


def serial_printer(device: str, baudrate: int, profile: str, timeout_s: float) -> Any:
    from escpos.printer import Serial

    return Serial(devfile=device, baudrate=baudrate, timeout=timeout_s, profile=profile)


def network_printer(device: str, profile: str, timeout_s: float) -> Any:
    """``host:port`` (port 9100 when left out); ValueError for anything else."""
    from escpos.printer import Network

    host, sep, port = device.rpartition(":")
    if not sep:
        host, port = device, "9100"
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(
            f"device = {device!r} is not host:port for transport network; write e.g. '192.168.1.50:9100'"
        )
    return Network(host=host, port=int(port), timeout=max(timeout_s, 1.0), profile=profile)


def usb_printer(device: str, profile: str, timeout_ms: int) -> Any:
    """A device file of the kernel's usblp driver, or ``VID:PID`` through pyusb; ValueError otherwise."""
    if device.startswith("/"):
        return read_write_file(device, profile)
    vid, sep, pid = device.partition(":")
    try:
        ids = (int(vid, 16), int(pid, 16)) if sep else None
    except ValueError:
        ids = None
    if ids is None:
        raise ValueError(
            f"device = {device!r} is neither a device file nor VID:PID for transport usb; "
            "write e.g. '/dev/usb/lp0' or '0416:5011' (see lsusb)"
        )
    from escpos.printer import Usb

    if not Usb.is_usable():
        raise ValueError(
            f"device = {device!r} (VID:PID) needs pyusb, which is not installed; "
            "install it (pip install pyusb; apt install libusb-1.0-0) or use the kernel's usblp device, "
            "device = '/dev/usb/lp0'"
        )
    return Usb(idVendor=ids[0], idProduct=ids[1], timeout=max(1, timeout_ms), profile=profile)


def read_write_file(devfile: str, profile: str) -> Any:
    """python-escpos's ``File`` opened for reading too, so a usblp printer can answer status queries."""
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
