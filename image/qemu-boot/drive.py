"""make image-boot's host side: boot the disk in qemu-system-aarch64 and read the probe's report.

image/qemu-boot/run.sh makes the disk; this starts the virtual machine, reads the lines the probe in
the guest writes on its virtio port (image/qemu-boot/probe.sh), saves the screen when the probe says
the kiosk is up (QMP screendump), and waits for the guest to power off after its second boot. It
passes only when both boots reported, every check said ok, and the guest powered itself off.

Standard library only: it runs with the checkout's .venv or any Python 3.11.
"""

from __future__ import annotations

import argparse
import json
import os
import select
import socket
import subprocess
import sys
import time
import zlib
from pathlib import Path


def qemu_command(args: argparse.Namespace, out: Path) -> list[str]:
    """The machine: arm64 virt with the devices that stand in for the Pi's (see run.sh's notes)."""
    return [
        args.qemu,
        "-M", "virt",
        "-cpu", "cortex-a72",
        "-smp", str(args.smp),
        "-m", str(args.memory_mb),
        "-kernel", str(args.kernel),
        "-initrd", str(args.initrd),
        "-append", args.append,
        "-drive", f"file={args.disk},format=raw,if=none,id=disk0",
        "-device", "virtio-blk-pci,drive=disk0",
        # the screen (KMS/DRM: the kiosk's SDL2 back end) and a pointer that acts like a touchscreen
        "-device", "virtio-gpu-pci",
        "-device", "virtio-tablet-pci",
        # a hardware watchdog for systemd's RuntimeWatchdogSec (bcm2835-wdt on the Pi)
        "-device", "i6300esb",
        # user networking restricted to the guest itself: no traffic leaves this host
        "-netdev", "user,id=net0,restrict=on",
        "-device", "virtio-net-pci,netdev=net0",
        # hvc0 takes the kernel's console here (the image has none); the probe's own port
        "-device", "virtio-serial-pci",
        "-chardev", f"file,id=con0,path={out / 'console.log'}",
        "-device", "virtconsole,chardev=con0",
        "-chardev", f"socket,id=probe0,path={out / 'probe.sock'},server=on,wait=off",
        "-device", "virtserialport,chardev=probe0,name=kiosk.probe",
        "-serial", "null",
        "-display", "none",
        "-qmp", f"unix:{out / 'qmp.sock'},server=on,wait=off",
    ]  # fmt: skip


#: the splash's background (image/rootfs/usr/share/plymouth/themes/kiosk/kiosk.plymouth)
SPLASH_RGB = (0x13, 0x4B, 0x7A)


def screen_shares(png: Path) -> tuple[float, float]:
    """The shares of the picture's pixels that are not pure black and that are the splash's blue
    (each channel within 3), read from qemu's screendump PNG (8-bit RGB or RGBA, not interlaced)
    with zlib alone: enough to tell a black screen, the splash (its blue with a picture and a
    spinner) and the kiosk's own screen apart."""
    data = png.read_bytes()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError(f"{png} is not a PNG")
    pos, idat, width, height, channels = 8, b"", 0, 0, 0
    while pos < len(data):
        length = int.from_bytes(data[pos : pos + 4], "big")
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            width, height = int.from_bytes(body[0:4], "big"), int.from_bytes(body[4:8], "big")
            depth, colour, interlace = body[8], body[9], body[12]
            if depth != 8 or colour not in (2, 6) or interlace:
                raise ValueError(f"{png}: only 8-bit RGB(A) without interlace is read here")
            channels = 3 if colour == 2 else 4
        elif kind == b"IDAT":
            idat += body
    raw = zlib.decompress(idat)
    stride = width * channels
    prev = bytearray(stride)
    lit = splash = 0
    red, green, blue = SPLASH_RGB
    for y in range(height):
        filt, row = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)])
        for i in range(stride):
            left = row[i - channels] if i >= channels else 0
            up = prev[i]
            if filt == 1:
                row[i] = (row[i] + left) & 0xFF
            elif filt == 2:
                row[i] = (row[i] + up) & 0xFF
            elif filt == 3:
                row[i] = (row[i] + (left + up) // 2) & 0xFF
            elif filt == 4:
                corner = prev[i - channels] if i >= channels else 0
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                best = left if pa <= pb and pa <= pc else up if pb <= pc else corner
                row[i] = (row[i] + best) & 0xFF
        lit += sum(1 for x in range(0, stride, channels) if row[x] or row[x + 1] or row[x + 2])
        splash += sum(
            1
            for x in range(0, stride, channels)
            if abs(row[x] - red) <= 3 and abs(row[x + 1] - green) <= 3 and abs(row[x + 2] - blue) <= 3
        )
        prev = row
    pixels = width * height
    return (lit / pixels, splash / pixels) if pixels else (0.0, 0.0)


#: the share of lit pixels above which the screen may be the kiosk's own (the spinner on black
#: lights a few)
KIOSK_DRAWN = 0.5
#: the share of the splash's blue above which the screen is the splash (its picture and spinner
#: cover a few percent; the attract screen, in the same blue, is 52-58 % of it in docs/screens)
SPLASH_SHOWN = 0.8


def screen_check(name: str, png: Path | None) -> dict[str, str]:
    """The verdict on a saved screen: the kiosk's own screen, both at READY (``bootN``: READY=1
    means the customer's screen is on the display, and it ends the splash) and 30 s later
    (``bootN-30s``). "Not black" is not enough: the splash's picture stays on the display after
    ``plymouth deactivate`` until the kiosk's first frame replaces it."""
    if png is None:
        return {"name": f"screen:{name}", "verdict": "FAIL", "detail": "qemu saved no screen"}
    lit, splash = screen_shares(png)
    ok = lit > KIOSK_DRAWN and splash < SPLASH_SHOWN
    return {
        "name": f"screen:{name}",
        "verdict": "ok" if ok else "FAIL",
        "detail": f"{lit:.2%} of the pixels lit, {splash:.2%} the splash's blue; wanted the kiosk's "
        f"screen (more than {KIOSK_DRAWN:.0%} lit, less than {SPLASH_SHOWN:.0%} splash) ({png.name})",
    }


def screen_figure(png: Path | None) -> str:
    """What a screen saved for the record (``bootN-handover``: the app started, no READY yet) showed.

    Not a check: which of the splash's picture, the app's first (black) frame or its screen is on
    the display then depends on how far the app got, which emulation makes a matter of timing."""
    if png is None:
        return "no screen saved"
    lit, splash = screen_shares(png)
    return f"{lit:.1%} lit, {splash:.1%} the splash's blue ({png.name})"


def connect(path: Path, deadline: float) -> socket.socket:
    """Connect to one of qemu's listening sockets once it exists."""
    while True:
        try:
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.connect(str(path))
            return s
        except OSError:
            s.close()
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


class Qmp:
    """Just enough of QMP for screendump: the greeting, capabilities, one command at a time."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buf = b""
        self._read()  # greeting
        self.call("qmp_capabilities")

    def _read(self) -> dict[str, object]:
        while b"\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("qemu closed QMP")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        reply: dict[str, object] = json.loads(line)
        return reply

    def call(self, command: str, **arguments: object) -> dict[str, object]:
        self.sock.sendall(json.dumps({"execute": command, "arguments": arguments}).encode() + b"\n")
        while True:
            reply = self._read()
            if "return" in reply or "error" in reply:
                return reply


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--disk", type=Path, required=True)
    p.add_argument("--kernel", type=Path, required=True)
    p.add_argument("--initrd", type=Path, required=True)
    p.add_argument("--append", required=True)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--qemu", default="qemu-system-aarch64")
    p.add_argument("--smp", type=int, default=min(4, os.cpu_count() or 1))
    p.add_argument("--memory-mb", type=int, default=2048)
    p.add_argument("--stall-s", type=float, default=1800.0, help="fail when the probe is silent this long")
    p.add_argument("--limit-s", type=float, default=5400.0, help="fail when both boots take longer")
    args = p.parse_args()

    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    for name in ("probe.sock", "qmp.sock"):
        (out / name).unlink(missing_ok=True)
    start = time.monotonic()

    def note(text: str) -> None:
        print(f"[{time.monotonic() - start:7.1f} s] {text}", flush=True)

    log = (out / "qemu.log").open("wb")
    vm = subprocess.Popen(
        qemu_command(args, out), stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
    )
    checks: list[dict[str, str]] = []
    figures: dict[str, str] = {}
    boots: list[str] = []
    nexts: list[str] = []
    problem = ""
    try:
        probe = connect(out / "probe.sock", time.monotonic() + 60)
        qmp = Qmp(connect(out / "qmp.sock", time.monotonic() + 60))
        note(f"qemu {vm.pid} started; waiting for the probe (the guest boots under emulation: minutes)")
        buf = b""
        last = time.monotonic()
        while vm.poll() is None:
            now = time.monotonic()
            if now - start > args.limit_s:
                problem = f"both boots took longer than {args.limit_s:.0f} s"
                break
            if now - last > args.stall_s:
                problem = f"the probe said nothing for {args.stall_s:.0f} s"
                break
            ready, _, _ = select.select([probe], [], [], 1.0)
            if not ready:
                continue
            chunk = probe.recv(65536)
            if not chunk:
                time.sleep(0.2)
                continue
            last = time.monotonic()
            buf += chunk
            while b"\n" in buf:
                raw, buf = buf.split(b"\n", 1)
                line = raw.decode("utf-8", "replace").strip()
                if not line:
                    continue
                note(line)
                word, _, rest = line.partition(" ")
                if word == "boot":
                    boots.append(rest)
                elif word == "check":
                    name, _, tail = rest.partition(" ")
                    verdict, _, detail = tail.partition(" ")
                    checks.append(
                        {
                            "boot": boots[-1] if boots else "?",
                            "name": name,
                            "verdict": verdict,
                            "detail": detail,
                        }
                    )
                elif word == "figure":
                    name, _, value = rest.partition(" ")
                    figures[name] = value
                elif word == "screen":
                    target = out / f"{rest}.png"
                    reply = qmp.call("screendump", filename=str(target), format="png")
                    saved = "return" in reply
                    note(f"screen saved: {target}" if saved else f"screendump failed: {reply}")
                    if rest.endswith("-handover"):
                        figures[f"{rest}-screen"] = screen_figure(target if saved else None)
                        note(f"figure {rest}-screen {figures[f'{rest}-screen']}")
                        continue
                    check = screen_check(rest, target if saved else None)
                    check["boot"] = boots[-1] if boots else "?"
                    note(f"check {check['name']} {check['verdict']} {check['detail']}")
                    checks.append(check)
                elif word == "next":
                    nexts.append(rest)
        if problem:
            vm.kill()
        vm.wait(timeout=120)
    finally:
        if vm.poll() is None:
            vm.kill()
            vm.wait()
        log.close()

    failed = [c for c in checks if c["verdict"] != "ok"]
    if not problem:
        if boots != ["1", "2"]:
            problem = f"boots reported: {boots or 'none'} (expected 1 then 2)"
        elif nexts[-1:] != ["poweroff"]:
            problem = "the guest did not reach its power-off after boot 2"
        elif failed:
            problem = f"{len(failed)} check(s) failed"
    report = {
        "checks": checks,
        "figures": figures,
        "boots": boots,
        "problem": problem,
        "seconds": round(time.monotonic() - start, 1),
    }
    (out / "report.json").write_text(
        json.dumps(report, indent=1, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    print()
    for c in checks:
        print(f"   boot {c['boot']}  {c['verdict']:<4}  {c['name']}: {c['detail']}")
    for name, value in figures.items():
        print(f"   figure  {name} = {value}")
    if problem:
        print(
            f"image-boot: FAILED: {problem} (console: {out / 'console.log'}, qemu: {out / 'qemu.log'})",
            file=sys.stderr,
        )
        return 1
    print(f"image-boot: passed ({len(checks)} checks over two boots, {report['seconds']} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
