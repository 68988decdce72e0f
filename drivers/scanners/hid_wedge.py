"""A USB barcode scanner in HID "keyboard wedge" mode, read from its Linux input device (evdev).

Such a scanner types the code as keystrokes and presses Enter. Read as a keyboard, its codes would
land in whatever field has focus; read from ``/dev/input/event*`` (and grabbed, so nothing else sees
the keys), they become scans. The device file is read directly as the kernel's ``struct input_event``
records (``struct timeval`` + type, code, value), so no compiled package is needed on the Pi.

A wedge and a person at a USB keyboard look alike except in timing: a scanner sends a whole code
within a few milliseconds a character; nobody types 8 or more characters at under ``max_gap_ms``
each. ``KeystrokeAssembler`` therefore keeps a burst only when every key press followed the one
before within ``max_gap_ms`` (kernel timestamps, not read times) and it ends with Enter after at
least ``min_length`` characters; anything else is dropped as typing. The keymap is the US layout,
which is what scanners send unless configured otherwise.
"""

from __future__ import annotations

import errno
import fcntl
import logging
import os
import select
import struct
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from drivers.camera.types import Decoded
from drivers.scanners.common import Backoff, ScannerWorker, scanned
from kiosk_common.codes import mask

log = logging.getLogger(__name__)

#: ``struct input_event``: timeval (two native longs), __u16 type, __u16 code, __s32 value
EVENT_FORMAT = "llHHi"
EVENT_SIZE = struct.calcsize(EVENT_FORMAT)
EV_KEY = 0x01
KEY_RELEASE, KEY_PRESS, KEY_REPEAT = 0, 1, 2
KEY_ENTER, KEY_KPENTER = 28, 96
KEY_LEFTSHIFT, KEY_RIGHTSHIFT = 42, 54
#: _IOW('E', 0x90, int): take the device for ourselves so the keys do not also reach the UI
EVIOCGRAB = 0x40044590

NOT_FOUND_FAULT = "hid scanner: device missing"

_ROW_DIGITS = {2: "1", 3: "2", 4: "3", 5: "4", 6: "5", 7: "6", 8: "7", 9: "8", 10: "9", 11: "0"}
_ROW_DIGITS_SHIFTED = {2: "!", 3: "@", 4: "#", 5: "$", 6: "%", 7: "^", 8: "&", 9: "*", 10: "(", 11: ")"}
_KEYPAD = {82: "0", 79: "1", 80: "2", 81: "3", 75: "4", 76: "5", 77: "6", 71: "7", 72: "8", 73: "9", 83: "."}
_LETTERS = dict(
    zip(
        [
            16,
            17,
            18,
            19,
            20,
            21,
            22,
            23,
            24,
            25,
            30,
            31,
            32,
            33,
            34,
            35,
            36,
            37,
            38,
            44,
            45,
            46,
            47,
            48,
            49,
            50,
        ],
        "qwertyuiopasdfghjklzxcvbnm",
        strict=True,
    )
)
_PUNCT = {12: ("-", "_"), 13: ("=", "+"), 26: ("[", "{"), 27: ("]", "}"), 39: (";", ":"), 40: ("'", '"')}
_PUNCT |= {41: ("`", "~"), 43: ("\\", "|"), 51: (",", "<"), 52: (".", ">"), 53: ("/", "?"), 57: (" ", " ")}
_PUNCT |= {55: ("*", "*"), 74: ("-", "-"), 78: ("+", "+"), 98: ("/", "/")}


def key_char(code: int, shift: bool) -> str | None:
    """The character a US-layout key types, or None for a key that types nothing we keep."""
    if code in _ROW_DIGITS:
        return _ROW_DIGITS_SHIFTED[code] if shift else _ROW_DIGITS[code]
    if code in _KEYPAD:
        return _KEYPAD[code]
    if code in _LETTERS:
        return _LETTERS[code].upper() if shift else _LETTERS[code]
    if code in _PUNCT:
        return _PUNCT[code][1 if shift else 0]
    return None


@dataclass(frozen=True, slots=True)
class KeyEvent:
    """One ``input_event`` of type EV_KEY: when (kernel time, seconds), which key, press/release/repeat."""

    at: float
    code: int
    value: int


def unpack_events(data: bytes) -> tuple[list[KeyEvent], bytes]:
    """The key events in ``data`` and the bytes of an incomplete record left at its end."""
    events = []
    whole = len(data) - len(data) % EVENT_SIZE
    for sec, usec, type_, code, value in struct.iter_unpack(EVENT_FORMAT, data[:whole]):
        if type_ == EV_KEY:
            events.append(KeyEvent(sec + usec / 1e6, code, value))
    return events, data[whole:]


def pack_event(at: float, type_: int, code: int, value: int) -> bytes:
    """One ``input_event`` record, as the kernel writes it (for tests and tools)."""
    sec = int(at)
    return struct.pack(EVENT_FORMAT, sec, round((at - sec) * 1e6), type_, code, value)


class KeystrokeAssembler:
    """Turns key events into scanned codes, dropping anything typed at human speed (see the module docstring)."""

    def __init__(self, *, max_gap_ms: float = 40.0, min_length: int = 8, max_length: int = 512) -> None:
        self.max_gap_s = max_gap_ms / 1000
        self.min_length = min_length
        self.max_length = max_length
        self._chars: list[str] = []
        self._last_press: float | None = None
        self._too_slow = False
        self._shift = False
        self.typed_bursts = 0  # bursts dropped as typing, for diagnostics

    def _reset(self) -> None:
        self._chars = []
        self._last_press = None
        self._too_slow = False

    def feed(self, event: KeyEvent) -> str | None:
        """Take one key event; the code when it completes a scan, else None."""
        if event.code in (KEY_LEFTSHIFT, KEY_RIGHTSHIFT):
            self._shift = event.value != KEY_RELEASE
            return None
        if event.value != KEY_PRESS:  # releases say nothing; auto-repeat is a key held down: a person
            if event.value == KEY_REPEAT:
                self._too_slow = True
            return None
        if self._last_press is not None and event.at - self._last_press > self.max_gap_s:
            if self._chars:
                self.typed_bursts += 1
            self._reset()
        self._last_press = event.at
        if event.code in (KEY_ENTER, KEY_KPENTER):
            text, ok = "".join(self._chars), not self._too_slow and len(self._chars) >= self.min_length
            if self._chars and not ok:
                self.typed_bursts += 1
            self._reset()
            return text if ok else None
        char = key_char(event.code, self._shift)
        if char is None or len(self._chars) >= self.max_length:
            self._too_slow = True  # an unknown key or an endless burst: not a code we can trust
            return None
        self._chars.append(char)
        return None


class HidWedgeScanner(ScannerWorker):
    """Reads a wedge scanner's input device on one thread; reopens it (with backoff) after it disappears.

    ``path`` is best a stable name such as ``/dev/input/by-id/usb-...-event-kbd``. Nothing starts
    until ``start``; ``stop`` ends the thread and releases the device.
    """

    thread_name = "hid-scanner"

    def __init__(
        self,
        path: Path | str,
        on_codes: Callable[[list[Decoded]], None],
        on_fault: Callable[[str], None] | None = None,
        *,
        max_gap_ms: float = 40.0,
        min_length: int = 8,
        grab: bool = True,
        on_recover: Callable[[str], None] | None = None,
    ) -> None:
        super().__init__(str(path), on_fault, on_recover)
        self.path = Path(path)
        self.assembler = KeystrokeAssembler(max_gap_ms=max_gap_ms, min_length=min_length)
        self._on_codes = on_codes
        self._grab = grab
        self.codes_reported = 0

    def _open(self) -> int | None:
        try:
            fd = os.open(self.path, os.O_RDONLY | os.O_NONBLOCK)
        except OSError as exc:
            self._set_fault(f"{NOT_FOUND_FAULT}: {exc.strerror or exc}")
            return None
        if self._grab:
            try:
                fcntl.ioctl(fd, EVIOCGRAB, 1)
            except OSError:
                log.debug("could not grab %s (not an input device, or grabbed elsewhere)", self.path)
        self._clear_fault()
        return fd

    def _run(self) -> None:
        backoff = Backoff()
        while not self._stop.is_set():
            fd = self._open()
            if fd is None:
                self._stop.wait(backoff.next())
                continue
            try:
                got_data = self._read_until_gone(fd)
            finally:
                os.close(fd)
            if got_data:  # it worked for a while: come back quickly; else keep slowing down
                backoff.reset()
            self._stop.wait(backoff.next())

    def _read_until_gone(self, fd: int) -> bool:
        """Read until the device goes away (or ``stop``); True when any data came in."""
        pending = b""
        got_data = False
        while not self._stop.is_set():
            ready, _, _ = select.select([fd], [], [], 0.2)
            if not ready:
                continue
            try:
                data = os.read(fd, EVENT_SIZE * 64)
            except BlockingIOError:
                continue
            except OSError as exc:
                if exc.errno in (errno.ENODEV, errno.EIO, errno.EBADF):
                    self._set_fault(f"{NOT_FOUND_FAULT}: {exc.strerror}")
                    return got_data
                raise
            if not data:  # end of file: a pipe's writer left (tests) or the device went away
                self._set_fault(f"{NOT_FOUND_FAULT}: end of input")
                return got_data
            got_data = True
            events, pending = unpack_events(pending + data)
            for event in events:
                text = self.assembler.feed(event)
                if text is not None:
                    self._emit(text)
        return got_data

    def _emit(self, text: str) -> None:
        code = scanned(text)
        if code is None:
            log.info("hid scanner: dropped an unusable read")
            return
        log.debug("hid scanner: %s %s", code.symbology, mask(code.text))
        self.codes_reported += 1
        try:
            self._on_codes([code])
        except Exception:
            log.exception("on_codes callback raised")
