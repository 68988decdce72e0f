"""A thermal receipt printer on the far end of a pseudo-terminal: the stand-in for the cable in tests.

The driver opens ``emulator.device_path`` exactly as it opens /dev/serial0 on a kiosk, so every byte
goes through pyserial, the tty layer and python-escpos for real. The emulator parses the ESC/POS
subset a receipt uses, answers the real-time status queries (``DLE EOT 1..4``) from its settable
state, and keeps what it printed, decoded the way a printer would show it:

- text bytes are decoded with ``encoding``; for the two-byte Chinese encodings only while Chinese
  character mode is on (``FS &``), as on a real printer, which otherwise prints code page 437
  glyphs; so a driver that forgets ``FS &`` gets a garbled receipt here too. Power-on (and ``ESC @``)
  leaves Chinese mode off unless ``chinese_mode_at_power_on`` is set;
- centred and right-aligned lines are padded with spaces to ``columns``, as they sit on the paper;
- a printed QR symbol appears as a line ``[QR] <payload>``; feeds are not kept as blank lines;
- each cut (``GS V``) ends a receipt; an NV logo (``FS p``) appears as ``[logo n]``.

Faults to play: ``paper`` ("ok", "near_end", "out"), ``cover_open``, ``online``, ``cutter_error``
(reported through ``DLE EOT 2`` bit 6 and ``DLE EOT 3`` bit 3), ``paper_out_after`` (paper runs out
once that many more bytes have arrived: a fault in the middle of a receipt), ``dead`` and
``dead_after`` (the same for a pulled cable or a power cut), and
``power_cycle()`` (forgets everything not yet printed, as a printer switched off and on does).
``DLE DC4 8`` (clear buffers) drops a half-printed receipt into ``torn``: paper that came out
without a cut.

While the printer is offline (``online = False``, cover open or paper out) it prints nothing: text
and cuts are dropped (counted in ``dropped_bytes``); status queries are still answered, as real-time
commands are. A ``dead`` printer (unpowered, cable cut) reads and discards everything and never
answers.

Run standalone for manual tests and the demo::

    python -m printer_emulator.emulator --link /tmp/kiosk-printer

then set ``[printer] device = "/tmp/kiosk-printer"``. Receipts are printed to stdout; commands on
stdin change the state (``paper out``, ``cover open``, ``online off``, ``dead on``, ``help``).
"""

from __future__ import annotations

import argparse
import codecs
import contextlib
import importlib
import logging
import os
import select
import signal
import sys
import threading
import time
import tty
from collections.abc import Callable, Sequence
from pathlib import Path
from types import TracebackType
from typing import Literal, get_args

from kiosk.core.receipt import display_width

log = logging.getLogger(__name__)

Paper = Literal["ok", "near_end", "out"]
CJK_FONT = Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc")
_CHINESE_MULTIBYTE = frozenset({"gb18030", "gbk", "gb2312", "big5", "big5hkscs", "cp950"})
_READ_CHUNK = 4096
_SLOW_CHUNK = 32
_POLL_S = 0.05
QR_MARK = "[QR] "

# Parameter bytes after "ESC c" / "FS c" / "GS c" for the fixed-length commands we know.
_ESC_PARAMS = {
    ord(c): n
    for c, n in {
        "@": 0, "a": 1, "E": 1, "!": 1, "d": 1, "J": 1, "t": 1, "-": 1, "M": 1, "G": 1,
        "2": 0, "3": 1, " ": 1, "{": 1, "V": 1, "R": 1, "c": 2, "p": 3, "=": 1, "e": 1,
    }.items()
}  # fmt: skip
_FS_PARAMS = {ord(c): n for c, n in {"&": 0, ".": 0, "!": 1, "-": 1, "W": 1, "S": 2, "C": 1, "p": 2}.items()}
_DLE_DC4_CLEAR = b"\x10\x14\x08\x01\x03\x14\x01\x06\x02\x08"
_GS_PARAMS = {
    ord(c): n
    for c, n in {"!": 1, "B": 1, "h": 1, "w": 1, "H": 1, "f": 1, "a": 1, "I": 1, "L": 2, "W": 2}.items()
}


class PrinterEmulator:
    """The printer end of a pty pair. ``start()`` / ``stop()``, or use it as a context manager."""

    def __init__(
        self,
        encoding: str = "gb18030",
        columns: int = 32,
        baudrate: int | None = None,
        chinese_mode_at_power_on: bool = False,
        on_receipt: Callable[[str], None] | None = None,
    ) -> None:
        self.encoding = codecs.lookup(encoding).name
        self.columns = columns
        #: when set, bytes are taken in no faster than a wire at this rate delivers them (10 bits a byte)
        self.baudrate = baudrate
        self.chinese_mode_at_power_on = chinese_mode_at_power_on
        self.on_receipt = on_receipt
        self._paper: Paper = "ok"
        self.cover_open = False
        self.online = True
        self.dead = False
        self.cutter_error = False
        #: bytes still to arrive before the paper runs out (None: never); a mid-receipt fault
        self.paper_out_after: int | None = None
        #: bytes still to arrive before the printer goes dead (None: never): power or cable lost mid-job
        self.dead_after: int | None = None
        self.torn: list[str] = []
        #: NV bit images defined with FS q: key -> (width, height) in dots; kept across power cycles
        self.nv_images: dict[int, tuple[int, int]] = {}
        self.bytes_received = 0
        self.dropped_bytes = 0
        self.status_queries: list[int] = []
        self.unknown_commands: list[bytes] = []
        self.qr_codes: list[str] = []
        self._receipts: list[str] = []
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._master: int | None = None
        self._slave: int | None = None
        self.device_path = ""
        # parser state
        self._buf = bytearray()
        self._line = bytearray()
        self._lines: list[str] = []
        self._align = 0
        self._bold = False
        self._chinese_mode = chinese_mode_at_power_on
        self._qr_data: bytes | None = None

    # --- state the tests set ----------------------------------------------------------------------

    @property
    def paper(self) -> Paper:
        return self._paper

    @paper.setter
    def paper(self, value: Paper) -> None:
        if value not in get_args(Paper):
            raise ValueError(f"paper must be one of {get_args(Paper)}, got {value!r}")
        self._paper = value

    @property
    def offline(self) -> bool:
        return not self.online or self.cover_open or self._paper == "out" or self.cutter_error

    def power_cycle(self) -> None:
        """Switched off and on: the unprinted buffer and every mode are lost; faults stay as they are."""
        with self._cond:
            self._buf.clear()
            self._line.clear()
            if self._lines:
                self.torn.append("\n".join(self._lines) + "\n")
            self._lines = []
            self._align, self._bold = 0, False
            self._chinese_mode = self.chinese_mode_at_power_on
            self._qr_data = None

    @property
    def receipts(self) -> list[str]:
        """The receipts cut so far, oldest first (a copy)."""
        with self._cond:
            return list(self._receipts)

    def wait_for_receipts(self, count: int, timeout_s: float = 5.0) -> list[str]:
        """Block until ``count`` receipts are cut or ``timeout_s`` passes; return the receipts."""
        with self._cond:
            self._cond.wait_for(lambda: len(self._receipts) >= count, timeout=timeout_s)
            return list(self._receipts)

    def wait_until(self, predicate: Callable[[], bool], timeout_s: float = 5.0) -> bool:
        """Block until ``predicate()`` holds or ``timeout_s`` passes; return whether it held.

        The predicate is checked each time bytes have been taken in (received, parsed, status
        answered), under the emulator's lock, so it sees a consistent state: for example
        ``lambda: emulator.bytes_received >= 9`` or ``lambda: len(emulator.torn) == 1``.
        """
        with self._cond:
            return self._cond.wait_for(predicate, timeout=timeout_s)

    def status_byte(self, n: int) -> int | None:
        """The reply to ``DLE EOT n`` (Epson's bit layout), or None for an n printers do not answer."""
        if n == 1:  # printer status: bit 3 offline
            return 0x12 | (0x08 if self.offline else 0)
        if n == 2:  # offline cause: bit 2 cover open, bit 5 stopped at paper end, bit 6 error
            return (
                0x12
                | (0x04 if self.cover_open else 0)
                | (0x20 if self._paper == "out" else 0)
                | (0x40 if self.cutter_error else 0)
            )
        if n == 3:  # error cause: bit 3 auto-cutter error
            return 0x12 | (0x08 if self.cutter_error else 0)
        if n == 4:  # roll paper sensor: bits 2-3 near end, bits 5-6 end (the near-end sensor sees it too)
            near = 0x0C if self._paper in ("near_end", "out") else 0
            return 0x12 | near | (0x60 if self._paper == "out" else 0)
        return None

    # --- life cycle -------------------------------------------------------------------------------

    def start(self) -> PrinterEmulator:
        if self._thread is not None:
            raise RuntimeError("the printer emulator is already running")
        master, slave = os.openpty()
        tty.setraw(slave)
        os.fchmod(slave, 0o600)  # the "cable" is the owner's alone (devpts makes it group-writable)
        os.set_blocking(master, False)
        self._master, self._slave = master, slave
        # the emulator keeps the slave open so the master never sees a hang-up between jobs
        self.device_path = os.ttyname(slave)
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="printer-emulator", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout_s: float = 2.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
            if self._thread.is_alive():
                log.warning("printer emulator thread did not stop within %.1f s", timeout_s)
            self._thread = None
        for fd in (self._master, self._slave):
            if fd is not None:
                with contextlib.suppress(OSError):
                    os.close(fd)
        self._master = self._slave = None

    def __enter__(self) -> PrinterEmulator:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def _run(self) -> None:
        master = self._master
        assert master is not None
        while not self._stop.is_set():
            try:
                ready, _, _ = select.select([master], [], [], _POLL_S)
                if not ready:
                    continue
                chunk = os.read(master, _READ_CHUNK)
            except BlockingIOError:
                continue
            except OSError as exc:  # closed under us by stop()
                log.debug("printer emulator: read ended: %s", exc)
                return
            if not chunk:
                continue
            if not self.baudrate:
                self._receive(chunk)
            elif not self._receive_at_wire_rate(chunk, self.baudrate):
                return

    def _receive_at_wire_rate(self, chunk: bytes, baudrate: int) -> bool:
        """Take ``chunk`` in as a wire at ``baudrate`` delivers it; False when stopped meanwhile.

        Every byte read now was written by now, so on a real line byte k would have arrived by
        ``now + k`` byte times: each small piece is taken in at that deadline (a status query or a
        fault lands mid-job, as on a wire). The deadlines are absolute, so a late wake-up on a busy
        machine delays one piece and the next catches up, instead of every piece adding its own
        lateness and the emulator running ever slower than the wire it stands for.
        """
        byte_s = 10 / baudrate  # start bit, 8 data bits, stop bit
        start = time.monotonic()
        for at in range(0, len(chunk), _SLOW_CHUNK):
            piece = chunk[at : at + _SLOW_CHUNK]
            due = start + (at + len(piece)) * byte_s
            if self._stop.wait(max(0.0, due - time.monotonic())):
                return False
            self._receive(piece)
        return True

    def _receive(self, chunk: bytes) -> None:
        """Parse a chunk, answer status queries, hand finished receipts to ``on_receipt``."""
        with self._cond:
            self.bytes_received += len(chunk)
            self._cond.notify_all()  # wait_until: bytes taken in (and, below, parsed and answered)
            if self.dead:
                return
            before = len(self._receipts)
            replies = self._take(chunk)
            finished = self._receipts[before:]
        if replies and self._master is not None:
            try:
                os.write(self._master, replies)
            except OSError as exc:  # nobody reads the replies and the buffer is full: drop them
                log.debug("printer emulator: reply not sent: %s", exc)
        if self.on_receipt is not None:
            for text in finished:
                self.on_receipt(text)

    def feed(self, data: bytes) -> bytes:
        """Parse ``data`` as if it came over the wire and return the reply bytes (no pty needed)."""
        with self._cond:
            self.bytes_received += len(data)
            self._cond.notify_all()
            if self.dead:
                return b""
            return self._take(data)

    def _take(self, data: bytes) -> bytes:
        """Parse ``data``; when ``paper_out_after`` runs out inside it, the paper ends right there.

        ``dead_after`` likewise: the power or the cable goes at that byte and the printer falls silent.
        """
        dead_at = self.dead_after
        if dead_at is not None:
            if dead_at < len(data):
                self.dead_after = None
                replies = self._take(data[:dead_at])
                self.dead = True
                return replies
            self.dead_after = dead_at - len(data)
        limit = self.paper_out_after
        if limit is None or limit >= len(data):
            if limit is not None:
                self.paper_out_after = limit - len(data)
            self._buf += data
            return self._parse()
        self._buf += data[:limit]
        replies = self._parse()
        self.paper_out_after = None
        self._paper = "out"
        self._buf += data[limit:]
        return replies + self._parse()

    # --- the ESC/POS parser -----------------------------------------------------------------------

    def _parse(self) -> bytes:
        """Consume every complete command in the buffer; leave a partial one for the next chunk."""
        buf = self._buf
        replies = bytearray()
        i = 0
        while i < len(buf):
            used = self._command(buf, i, replies)
            if used == 0:
                break  # incomplete: wait for more bytes
            i += used
        del buf[:i]
        return bytes(replies)

    def _command(self, buf: bytearray, i: int, replies: bytearray) -> int:
        """Handle the command at ``buf[i]``; return the bytes it took, 0 if it is not complete yet."""
        b = buf[i]
        avail = len(buf) - i
        if b == 0x10:  # DLE
            if avail < 3:
                return 0
            if buf[i + 1] == 0x14:  # DLE DC4 fn ...: only fn 8 (clear buffers) is used
                if avail < len(_DLE_DC4_CLEAR):
                    return 0
                if bytes(buf[i : i + len(_DLE_DC4_CLEAR)]) == _DLE_DC4_CLEAR:
                    self._clear_buffers()
                    return len(_DLE_DC4_CLEAR)
                self.unknown_commands.append(bytes(buf[i : i + 3]))
                return 3
            if buf[i + 1] == 0x04:
                n = buf[i + 2]
                self.status_queries.append(n)
                reply = self.status_byte(n)
                if reply is not None:
                    replies.append(reply)
                return 3
            self.unknown_commands.append(bytes(buf[i : i + 2]))
            return 2
        if b in (0x1B, 0x1C, 0x1D):
            if avail < 2:
                return 0
            return self._prefixed(buf, i, avail)
        if b == 0x0A:
            self._print_line()
            return 1
        if b == 0x09:
            self._text(b" ")
            return 1
        if b < 0x20 or b == 0x7F:
            return 1  # CR and other controls print nothing
        j = i
        while j < len(buf) and buf[j] >= 0x20 and buf[j] != 0x7F:
            j += 1
        self._text(buf[i:j])
        return j - i

    def _prefixed(self, buf: bytearray, i: int, avail: int) -> int:
        prefix, c = buf[i], buf[i + 1]
        if prefix == 0x1D and c == ord("("):  # GS ( fn pL pH data
            if avail < 5:
                return 0
            size = 5 + buf[i + 3] + buf[i + 4] * 256
            if avail < size:
                return 0
            if buf[i + 2] == ord("k"):
                self._two_d_code(bytes(buf[i + 5 : i + size]))
            return size
        if prefix == 0x1D and c == ord("V"):  # GS V m [n]
            if avail < 3:
                return 0
            size = 4 if buf[i + 2] in (65, 66, 97, 98, 103, 104) else 3
            if avail < size:
                return 0
            self._cut()
            return size
        if prefix == 0x1C and c == ord("q"):  # FS q n [xL xH yL yH d1..dk] x n: define NV images
            return self._define_nv_images(buf, i, avail)
        if prefix == 0x1D and c == ord("v"):  # GS v 0 m xL xH yL yH d1..dk (a raster image)
            if avail < 8:
                return 0
            size = 8 + (buf[i + 4] + buf[i + 5] * 256) * (buf[i + 6] + buf[i + 7] * 256)
            if avail < size:
                return 0
            self._flush_line()
            self._lines.append("[image]")
            return size
        table = {0x1B: _ESC_PARAMS, 0x1C: _FS_PARAMS, 0x1D: _GS_PARAMS}[prefix]
        if c not in table:
            self.unknown_commands.append(bytes(buf[i : i + 2]))
            return 2
        size = 2 + table[c]
        if avail < size:
            return 0
        arg = buf[i + 2] if size > 2 else 0
        if prefix == 0x1B:
            self._esc(c, arg)
        elif prefix == 0x1C and c == ord("&"):
            self._chinese_mode = True
        elif prefix == 0x1C and c == ord("."):
            self._chinese_mode = False
        elif prefix == 0x1C and c == ord("p") and not self.offline and arg in self.nv_images:
            self._flush_line()  # a printer prints nothing for a key it has no image for
            self._lines.append(f"[logo {arg}]")
        return size

    def _esc(self, c: int, arg: int) -> None:
        if c == ord("@"):
            self._line.clear()  # ESC @ clears the print buffer and restores the power-on modes
            self._align, self._bold = 0, False
            self._chinese_mode = self.chinese_mode_at_power_on
            self._qr_data = None
        elif c == ord("a"):
            self._align = arg - 48 if arg >= 48 else arg
        elif c == ord("E"):
            self._bold = bool(arg & 1)
        elif c == ord("!"):
            self._bold = bool(arg & 0x08)
        elif c in (ord("d"), ord("J")):
            self._flush_line()  # print what is buffered, then feed

    def _two_d_code(self, body: bytes) -> None:
        """GS ( k: cn fn [m] data. Only the QR code (cn = '1') store and print functions matter."""
        if len(body) < 2 or body[0] != 0x31:
            return
        fn = body[1]
        if fn == 0x50:  # store: m = '0', then the data
            self._qr_data = body[3:]
        elif fn == 0x51:  # print the stored symbol
            if self.offline:
                return
            self._flush_line()
            payload = (self._qr_data or b"").decode("utf-8", errors="replace")
            self.qr_codes.append(payload)
            self._lines.append(QR_MARK + payload)

    def _text(self, data: bytes | bytearray) -> None:
        if self.offline:
            self.dropped_bytes += len(data)
            return
        self._line += data

    def _decode(self, data: bytes) -> str:
        if self.encoding in _CHINESE_MULTIBYTE and not self._chinese_mode:
            return data.decode("cp437", errors="replace")
        return data.decode(self.encoding, errors="replace")

    def _print_line(self) -> None:
        if self.offline:
            return
        text = self._decode(bytes(self._line))
        self._line.clear()
        spare = max(0, self.columns - display_width(text))
        if self._align == 1:
            text = " " * (spare // 2) + text
        elif self._align == 2:
            text = " " * spare + text
        self._lines.append(text)

    def _flush_line(self) -> None:
        if self._line:
            self._print_line()

    def _define_nv_images(self, buf: bytearray, i: int, avail: int) -> int:
        """Store the images in ``nv_images`` (key 1..n), replacing all earlier ones as a printer does."""
        if avail < 3:
            return 0
        count = buf[i + 2]
        at = i + 3
        images: dict[int, tuple[int, int]] = {}
        for key in range(1, count + 1):
            if len(buf) < at + 4:
                return 0
            x = buf[at] + buf[at + 1] * 256
            y = buf[at + 2] + buf[at + 3] * 256
            size = x * y * 8
            if len(buf) < at + 4 + size:
                return 0
            images[key] = (x * 8, y * 8)  # width and height in dots
            at += 4 + size
        self.nv_images = images
        return at - i

    def _clear_buffers(self) -> None:
        """DLE DC4 8: what is not yet printed is dropped; paper already out is torn off without a cut."""
        self._buf.clear()
        self._line.clear()
        if self._lines:
            self.torn.append("\n".join(self._lines) + "\n")
        self._lines = []
        self._qr_data = None

    def _cut(self) -> None:
        if self.offline:
            return
        self._flush_line()
        lines = self._lines
        while lines and not lines[-1].strip():
            lines.pop()
        if lines:
            self._receipts.append("\n".join(lines) + "\n")
        self._lines = []


# --- pictures ---------------------------------------------------------------------------------------


def render_png(text: str, path: Path, font_path: Path | None = None, size: int = 20) -> Path:
    """Draw ``text`` (an emulator receipt) as a strip of thermal paper; ``[QR]`` lines become symbols.

    Characters are placed on a column grid (a wide character takes two columns), as a printer
    places them, so prices stay in their column whatever the font's own advance widths are.
    """
    from PIL import Image, ImageDraw, ImageFont

    qrcode = importlib.import_module("qrcode")  # ships without type hints; Any is what mypy would see

    chosen = font_path or (CJK_FONT if CJK_FONT.exists() else None)
    font: ImageFont.FreeTypeFont | ImageFont.ImageFont
    if chosen is not None:
        face_index = 1 if chosen.suffix == ".ttc" else 0  # the Mono face of WenQuanYi Micro Hei
        try:
            font = ImageFont.truetype(str(chosen), size, index=face_index)
        except OSError:
            font = ImageFont.truetype(str(chosen), size)
    else:
        font = ImageFont.load_default()
    cell = max(1, round(max(font.getlength("M"), font.getlength("中") / 2)))
    line_h = round(size * 1.35)
    margin = 2 * cell
    lines = text.rstrip("\n").split("\n")
    columns = max([32, *(display_width(line) for line in lines if not line.startswith(QR_MARK))])
    width = columns * cell + 2 * margin
    pictures: dict[int, Image.Image] = {}
    height = 2 * margin
    for n, line in enumerate(lines):
        if line.startswith(QR_MARK):
            qr = qrcode.QRCode(border=2, box_size=max(2, size // 5))
            qr.add_data(line.removeprefix(QR_MARK))
            qr.make(fit=True)
            picture = qr.make_image().get_image().convert("RGB")
            pictures[n] = picture
            height += picture.height
        else:
            height += line_h
    image = Image.new("RGB", (width, height), (252, 251, 246))
    draw = ImageDraw.Draw(image)
    y = margin
    for n, line in enumerate(lines):
        if n in pictures:
            picture = pictures[n]
            image.paste(picture, ((width - picture.width) // 2, y))
            y += picture.height
            continue
        column = 0
        for ch in line:
            draw.text((margin + column * cell, y), ch, fill=(30, 30, 30), font=font)
            column += display_width(ch)
        y += line_h
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path)
    return path


# --- standalone -------------------------------------------------------------------------------------

_HELP = (
    "commands: paper ok|near_end|out, cover open|closed, online on|off, cutter error|ok, "
    "dead on|off, power cycle, help, quit"
)


def _control(emulator: PrinterEmulator, line: str) -> str:
    """Apply one stdin command; return what to tell the person at the terminal."""
    words = line.split()
    if not words:
        return ""
    match words:
        case ["paper", value] if value in get_args(Paper):
            emulator.paper = value  # type: ignore[assignment]
        case ["cover", "open" | "closed" as value]:
            emulator.cover_open = value == "open"
        case ["online", "on" | "off" as value]:
            emulator.online = value == "on"
        case ["dead", "on" | "off" as value]:
            emulator.dead = value == "on"
        case ["cutter", "error" | "ok" as value]:
            emulator.cutter_error = value == "error"
        case ["power", "cycle"]:
            emulator.power_cycle()
        case ["help"]:
            return _HELP
        case _:
            return f"not understood: {line.strip()!r}; {_HELP}"
    return (
        f"paper={emulator.paper} cover_open={emulator.cover_open} online={emulator.online} "
        f"cutter_error={emulator.cutter_error} dead={emulator.dead}"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m printer_emulator.emulator",
        description="Emulate an ESC/POS receipt printer on a pseudo-terminal and print its receipts here.",
    )
    parser.add_argument(
        "--link", type=Path, required=True, help="create this symlink to the printer's device"
    )
    parser.add_argument("--encoding", default="gb18030", help="text encoding the printer reads (gb18030)")
    parser.add_argument(
        "--columns", type=int, default=32, choices=(32, 48), help="32 for 58 mm, 48 for 80 mm"
    )
    parser.add_argument("--baudrate", type=int, default=None, help="emulate the time bytes take at this rate")
    parser.add_argument("--png-dir", type=Path, default=None, help="also draw each receipt as a PNG here")
    args = parser.parse_args(argv)
    try:
        codecs.lookup(args.encoding)
    except LookupError:
        parser.error(f"--encoding {args.encoding!r} is not a Python codec; use e.g. gb18030 or cp437")
    link: Path = args.link
    if link.exists() and not link.is_symlink():
        parser.error(f"--link {link} exists and is not a symlink; choose another path")

    count = 0

    def show(text: str) -> None:
        nonlocal count
        count += 1
        print(f"----- receipt {count} " + "-" * 20, text, sep="\n", end="", flush=True)
        if args.png_dir is not None:
            png = render_png(text, args.png_dir / f"receipt-{count:04d}.png")
            print(f"(drawn to {png})", flush=True)

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    emulator = PrinterEmulator(encoding=args.encoding, columns=args.columns, baudrate=args.baudrate)
    emulator.on_receipt = show
    emulator.start()
    try:
        if link.is_symlink():
            link.unlink()
        link.symlink_to(emulator.device_path)
        print(f"printer emulator on {emulator.device_path}, linked from {link}; {_HELP}", flush=True)
        for line in sys.stdin:
            if line.strip() == "quit":
                break
            reply = _control(emulator, line)
            if reply:
                print(reply, flush=True)
        else:
            while True:  # stdin closed (run by a script): serve until a signal
                time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        if link.is_symlink() and os.readlink(link) == emulator.device_path:
            link.unlink()
        emulator.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
