"""The kiosk's udev rules run through udev's own rule engine, one device at a time.

The rules (image/rootfs/etc/udev/rules.d/70-kiosk-devices.rules) are only worth their names if udev
gives each name to the right device and to no other: ``/dev/kiosk-printer`` to the UART alone (never
to a USB printer or a USB-serial adapter, which have names of their own), ``/dev/kiosk-camera`` to a
USB camera's capture node and not to its metadata node nor to the Pi's own CSI receiver. Debian 12's
udev (systemd 252) has no ``udevadm verify``, but ``udevadm test`` runs every rule for a device under
/sys as the daemon would. So the test makes a small sysfs of a kiosk's devices (the ``uevent``,
``dev`` and attribute files, the ``subsystem`` and ``driver`` links udev reads) and, in a private
mount namespace, binds it over /sys, a folder holding only the kiosk's rules over
/etc/udev/rules.d (Debian's own rules stay: the camera rule needs the ``ID_BUS`` and
``ID_V4L_CAPABILITIES`` they set, and the group they give is what the kiosk's rules override), and
fresh tmpfs over /dev and /run.

The tmpfs are not caution for its own sake: systemd 252's ``udevadm test`` does what the rules say.
It creates the symlinks in /dev, sets the node's group and mode, and writes udev's database in
/run/udev. Here that lands in the namespace's own /dev, where the test made each node (mknod), so the
group and mode read back are the ones udev set. The mounts live as long as the namespace's last
process: a test that fails halfway leaves nothing mounted and nothing changed on this machine.

``v4l_id`` asks a video node's driver what it can do (VIDIOC_QUERYCAP), which a fake node cannot
answer: a stand-in bound over it prints what v4l_id prints for each of the fake nodes.

udev's sd-device refuses a /sys that is not sysfs unless ``SYSTEMD_DEVICE_VERIFY_SYSFS=0`` (the
switch systemd's own tests use). The test needs root (``unshare --mount``, ``mknod``) and fails
without it, never skips.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.image.recipe import REPO, ROOTFS, need

RULES = ROOTFS / "etc/udev/rules.d/70-kiosk-devices.rules"
V4L_ID = Path("/lib/udev/v4l_id")


@dataclass(frozen=True)
class Node:
    """A device with a node in /dev, as the test's sysfs has it."""

    syspath: str  # the /sys/class path udevadm test is given
    devnode: str  # where the node is, under /dev
    major: int
    minor: int


@dataclass(frozen=True)
class Outcome:
    """What udev did for one device: its kiosk names (from DEVLINKS), and its node's group and mode."""

    names: frozenset[str]
    group: str
    mode: int
    properties: dict[str, str]


class FakeSysfs:
    """A folder laid out as sysfs is for the files and links udev reads (sd-device, the builtins)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def device(
        self,
        devpath: str,
        subsystem: str,
        *,
        uevent: dict[str, str] | None = None,
        attrs: dict[str, str] | None = None,
        driver: str | None = None,
    ) -> Path:
        """A device at /sys/devices/DEVPATH in SUBSYSTEM ("bus/usb", "class/tty"). A folder with no
        ``uevent`` is not a device to sd-device, so every device has one."""
        path = self.root / "devices" / devpath
        path.mkdir(parents=True)
        lines = dict(uevent or {})
        if driver is not None:
            lines["DRIVER"] = driver
        (path / "uevent").write_text("".join(f"{k}={v}\n" for k, v in lines.items()), encoding="ascii")
        for name, value in (attrs or {}).items():
            (path / name).write_text(value + "\n", encoding="ascii")
        self._link(path / "subsystem", self.root / subsystem)
        if driver is not None:
            assert subsystem.startswith("bus/"), "only a bus device has a driver"
            self._link(path / "driver", self.root / subsystem / "drivers" / driver)
        return path

    def node(
        self,
        devpath: str,
        cls: str,
        major: int,
        minor: int,
        *,
        devname: str | None = None,
        attrs: dict[str, str] | None = None,
    ) -> Node:
        """A class device with a node (/dev/DEVNAME), linked from /sys/class/CLS/ as the kernel does."""
        name = devpath.rsplit("/", 1)[1]
        devname = devname or name
        uevent = {"MAJOR": str(major), "MINOR": str(minor), "DEVNAME": devname}
        path = self.device(
            devpath, f"class/{cls}", uevent=uevent, attrs={"dev": f"{major}:{minor}", **(attrs or {})}
        )
        self._link(path / "device", path.parents[1])
        self._link(self.root / "class" / cls / name, path)
        return Node(f"/sys/class/{cls}/{name}", f"/dev/{devname}", major, minor)

    def usb_device(self, devpath: str, vendor: str, product: str, manufacturer: str, model: str) -> None:
        self.device(
            devpath,
            "bus/usb",
            uevent={"DEVTYPE": "usb_device", "PRODUCT": f"{int(vendor, 16):x}/{int(product, 16):x}/100"},
            attrs={
                "idVendor": vendor,
                "idProduct": product,
                "manufacturer": manufacturer,
                "product": model,
                "bcdDevice": "0100",
                "bDeviceClass": "00",
                "bNumInterfaces": " 1",
            },
            driver="usb",
        )

    def usb_interface(self, devpath: str, klass: str, subclass: str, protocol: str, driver: str) -> None:
        self.device(
            devpath,
            "bus/usb",
            uevent={
                "DEVTYPE": "usb_interface",
                "INTERFACE": f"{int(klass, 16)}/{int(subclass, 16)}/{int(protocol, 16)}",
            },
            attrs={
                "bInterfaceNumber": "00",
                "bInterfaceClass": klass,
                "bInterfaceSubClass": subclass,
                "bInterfaceProtocol": protocol,
            },
            driver=driver,
        )

    @staticmethod
    def _link(link: Path, target: Path) -> None:
        target.mkdir(parents=True, exist_ok=True)
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(os.path.relpath(target, link.parent))


USB = "platform/soc/fe980000.usb/usb1"


def kiosk_sysfs(root: Path, *, second_adapter: bool = False) -> dict[str, Node]:
    """A Pi 4 kiosk's devices, and the ones beside them that must get none of the kiosk's names;
    SECOND_ADAPTER adds an FTDI USB-serial adapter (ttyUSB1, added after the CH340)."""
    fs = FakeSysfs(root)
    fs.device("platform/soc", "bus/platform")
    nodes: dict[str, Node] = {}
    # The PL011 on GPIO 14/15 (enable_uart=1, dtoverlay=disable-bt), and the mini UART.
    fs.device("platform/soc/fe201000.serial", "bus/amba", driver="uart-pl011")
    nodes["uart"] = fs.node("platform/soc/fe201000.serial/tty/ttyAMA0", "tty", 204, 64)
    # Another PL011 (dtoverlay=uart2): ttyAMA1, never the printer's name.
    fs.device("platform/soc/fe201400.serial", "bus/amba", driver="uart-pl011")
    nodes["uart2"] = fs.node("platform/soc/fe201400.serial/tty/ttyAMA1", "tty", 204, 65)
    fs.device("platform/soc/fe215040.serial", "bus/platform", driver="bcm2835-aux-uart")
    nodes["mini-uart"] = fs.node("platform/soc/fe215040.serial/tty/ttyS0", "tty", 4, 64)
    # The CSI receiver's capture node: index 0, capture, but not a USB camera.
    fs.device("platform/soc/fe801000.csi", "bus/platform", driver="unicam")
    nodes["csi-capture"] = fs.node(
        "platform/soc/fe801000.csi/video4linux/video4",
        "video4linux",
        81,
        4,
        attrs={"index": "0", "name": "unicam-image"},
    )

    fs.device("platform/soc/fe980000.usb", "bus/platform", driver="dwc2")
    fs.usb_device(USB, "1d6b", "0002", "Linux Foundation", "2.0 root hub")
    # A USB printer-class receipt printer (usblp).
    fs.usb_device(f"{USB}/1-1", "0416", "5011", "Winbond Electronics Corp.", "POS58 Printer")
    fs.usb_interface(f"{USB}/1-1/1-1:1.0", "07", "01", "02", "usblp")
    nodes["usb-printer"] = fs.node(f"{USB}/1-1/1-1:1.0/usbmisc/lp0", "usbmisc", 180, 0, devname="usb/lp0")
    # A printer on a CH340 USB-serial adapter.
    fs.usb_device(f"{USB}/1-2", "1a86", "7523", "QinHeng Electronics", "USB Serial")
    fs.usb_interface(f"{USB}/1-2/1-2:1.0", "ff", "01", "02", "ch341")
    port = f"{USB}/1-2/1-2:1.0/ttyUSB0"
    fs.device(port, "bus/usb-serial", attrs={"port_number": "0"}, driver="ch341-uart")
    nodes["usb-serial"] = fs.node(f"{port}/tty/ttyUSB0", "tty", 188, 0)
    if second_adapter:
        fs.usb_device(f"{USB}/1-5", "0403", "6001", "FTDI", "FT232R USB UART")
        fs.usb_interface(f"{USB}/1-5/1-5:1.0", "ff", "ff", "ff", "ftdi_sio")
        port = f"{USB}/1-5/1-5:1.0/ttyUSB1"
        fs.device(port, "bus/usb-serial", attrs={"port_number": "0"}, driver="ftdi_sio")
        nodes["usb-serial-2"] = fs.node(f"{port}/tty/ttyUSB1", "tty", 188, 1)
    # A barcode scanner in USB serial (CDC-ACM) mode.
    fs.usb_device(f"{USB}/1-3", "0c2e", "0b61", "Honeywell Imaging & Mobility", "Scanner")
    fs.usb_interface(f"{USB}/1-3/1-3:1.0", "02", "02", "01", "cdc_acm")
    nodes["scanner"] = fs.node(f"{USB}/1-3/1-3:1.0/tty/ttyACM0", "tty", 166, 0)
    # A UVC camera: its capture node (index 0), its metadata node (index 1), and the capture node of
    # a second stream (index 2: an infrared or H.264 stream, on cameras that have one).
    fs.usb_device(f"{USB}/1-4", "046d", "085e", "Logitech, Inc.", "BRIO")
    fs.usb_interface(f"{USB}/1-4/1-4:1.0", "0e", "01", "00", "uvcvideo")
    v4l = f"{USB}/1-4/1-4:1.0/video4linux"
    for key, index in (("camera", 0), ("camera-metadata", 1), ("camera-second-stream", 2)):
        nodes[key] = fs.node(f"{v4l}/video{index}", "video4linux", 81, index, attrs={"index": str(index)})
    return nodes


#: what v4l_id prints for each node (the capabilities the driver reports; a metadata node has none of
#: the kinds v4l_id names)
V4L_ID_SAYS = {
    "/dev/video0": ["ID_V4L_VERSION=2", "ID_V4L_PRODUCT=Logitech BRIO", "ID_V4L_CAPABILITIES=:capture:"],
    "/dev/video1": ["ID_V4L_VERSION=2", "ID_V4L_PRODUCT=Logitech BRIO", "ID_V4L_CAPABILITIES=:"],
    "/dev/video2": ["ID_V4L_VERSION=2", "ID_V4L_PRODUCT=Logitech BRIO", "ID_V4L_CAPABILITIES=:capture:"],
    "/dev/video4": ["ID_V4L_VERSION=2", "ID_V4L_PRODUCT=unicam", "ID_V4L_CAPABILITIES=:capture:"],
}

#: each device's kiosk names, group and mode; None: the kiosk's rules must give it no name, and its
#: group and mode are Debian's business
EXPECTED: dict[str, tuple[set[str], str, int] | None] = {
    "uart": ({"kiosk-printer"}, "dialout", 0o660),
    "usb-printer": ({"kiosk-usb-printer"}, "dialout", 0o660),
    "usb-serial": ({"kiosk-usb-serial"}, "dialout", 0o660),
    "scanner": ({"kiosk-scanner"}, "dialout", 0o660),
    "camera": ({"kiosk-camera"}, "video", 0o660),
    "usb-serial-2": ({"kiosk-usb-serial"}, "dialout", 0o660),
    "uart2": None,
    "mini-uart": None,
    "camera-metadata": None,
    "camera-second-stream": None,
    "csi-capture": None,
}

# Runs in the private mount namespace (unshare --mount --propagation private): nothing it mounts is
# seen outside, and all of it goes when the shell and its children end.
_IN_NAMESPACE = r"""
set -eu
sys=$1 rules=$2 v4l_id=$3 out=$4
shift 4
mount --bind "$sys" /sys
mount --bind "$rules" /etc/udev/rules.d
mount -t tmpfs -o mode=0755 kiosk-udev-test /run
mount -t tmpfs -o mode=0755 kiosk-udev-test /dev
mknod -m 0666 /dev/null c 1 3
mount --bind "$v4l_id" "$V4L_ID"
while [ $# -gt 0 ]; do
  name=$1 syspath=$2 devnode=$3 major=$4 minor=$5
  shift 5
  mkdir -p "$(dirname "$devnode")"
  mknod -m 0600 "$devnode" c "$major" "$minor"
  rc=0
  SYSTEMD_DEVICE_VERIFY_SYSFS=0 timeout -k 5 30 "$UDEVADM" test --action=add "$syspath" \
    >"$out/$name.out" 2>"$out/$name.err" || rc=$?
  echo "$rc" >"$out/$name.rc"
  stat -c '%G %a' "$devnode" >"$out/$name.stat"
done
for link in /dev/kiosk-*; do
  if [ -L "$link" ]; then echo "$link $(readlink "$link")"; fi
done >"$out/links"
"""


def run_udev(
    tmp_path: Path, rules: dict[str, str], *, second_adapter: bool = False
) -> tuple[dict[str, Outcome], dict[str, str]]:
    """Each kiosk device's outcome with RULES (file name -> text) as /etc/udev/rules.d, and where each
    /dev/kiosk-* link points once every device has been added (in the order of kiosk_sysfs)."""
    if os.geteuid() != 0:
        pytest.fail("the udev rules test runs as root (unshare --mount, mknod): run it with sudo")
    udevadm = need("udevadm")
    unshare = need("unshare")
    if not V4L_ID.is_file() or not Path("/etc/udev/rules.d").is_dir():
        pytest.fail(
            "udev is not installed (v4l_id, /etc/udev/rules.d): run bash scripts/install-debian-deps.sh"
        )
    nodes = kiosk_sysfs(tmp_path / "sys", second_adapter=second_adapter)
    rules_dir = tmp_path / "rules.d"
    rules_dir.mkdir()
    for name, text in rules.items():
        (rules_dir / name).write_text(text, encoding="utf-8")
    v4l_id = tmp_path / "v4l_id"
    cases = "".join(
        f"{node}) printf '%s\\n' {' '.join(shlex.quote(line) for line in says)} ;;\n"
        for node, says in V4L_ID_SAYS.items()
    )
    v4l_id.write_text(f'#!/bin/sh\ncase "$1" in\n{cases}*) exit 1 ;;\nesac\n', encoding="ascii")
    v4l_id.chmod(0o755)
    out = tmp_path / "out"
    out.mkdir()
    devices = [str(x) for name, n in nodes.items() for x in (name, n.syspath, n.devnode, n.major, n.minor)]
    command = [unshare, "--mount", "--propagation", "private", "sh", "-c", _IN_NAMESPACE, "sh"]
    done = subprocess.run(
        [*command, str(tmp_path / "sys"), str(rules_dir), str(v4l_id), str(out), *devices],
        env={**os.environ, "UDEVADM": udevadm, "V4L_ID": str(V4L_ID.resolve())},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, f"the namespace's script failed: {done.stdout}{done.stderr}"
    outcomes = {}
    for name, node in nodes.items():
        rc = (out / f"{name}.rc").read_text(encoding="ascii").strip()
        log = (out / f"{name}.err").read_text(encoding="utf-8", errors="replace")
        assert rc == "0", f"udevadm test {node.syspath} exited {rc}:\n{log}"
        properties = dict(
            line.split("=", 1)
            for line in (out / f"{name}.out").read_text(encoding="utf-8").splitlines()
            if re.match(r"^[A-Z0-9_.]+=", line)
        )
        # udev ran the rules for this very device: without this a device it never found would pass
        # every "gets no kiosk name" check.
        assert properties.get("DEVNAME") == node.devnode, f"{node.syspath}: {properties}\n{log}"
        links = {link.removeprefix("/dev/") for link in properties.get("DEVLINKS", "").split()}
        group, mode = (out / f"{name}.stat").read_text(encoding="ascii").split()
        names = frozenset(link for link in links if link.startswith("kiosk"))
        outcomes[name] = Outcome(names, group, int(mode, 8), properties)
    pointing = dict(line.split() for line in (out / "links").read_text(encoding="ascii").splitlines())
    return outcomes, pointing


def wrong(outcomes: dict[str, Outcome]) -> list[str]:
    """How the outcomes differ from EXPECTED, one line each (none: udev does what the rules mean)."""
    said = []
    for name, got in outcomes.items():
        expected = EXPECTED[name]
        if expected is None:
            if got.names:
                said.append(f"{name} got {sorted(got.names)}")
            continue
        names, group, mode = expected
        if got.names != names:
            said.append(f"{name} got {sorted(got.names)}, not {sorted(names)}")
        if (got.group, got.mode) != (group, mode):
            said.append(f"{name} is {got.group} {got.mode:o}, not {group} {mode:o}")
    return said


def kiosk_rules() -> str:
    return RULES.read_text(encoding="utf-8")


def test_each_kiosk_name_lands_on_its_device_and_no_other(tmp_path: Path) -> None:
    outcomes, pointing = run_udev(tmp_path, {RULES.name: kiosk_rules()})
    assert wrong(outcomes) == []
    # The stock rules read the fake USB tree as a real one (the local rule in docs/printer.md
    # matches on these), so the camera rule's ID_BUS is udev's, not the test's.
    assert outcomes["usb-serial"].properties["ID_VENDOR_ID"] == "1a86"
    assert outcomes["usb-serial"].properties["ID_MODEL_ID"] == "7523"
    assert outcomes["camera"].properties["ID_BUS"] == "usb"
    assert outcomes["camera"].properties["ID_V4L_CAPABILITIES"] == ":capture:"
    assert "ID_BUS" not in outcomes["csi-capture"].properties
    assert pointing == {
        "/dev/kiosk-printer": "ttyAMA0",
        "/dev/kiosk-usb-printer": "usb/lp0",
        "/dev/kiosk-usb-serial": "ttyUSB0",
        "/dev/kiosk-scanner": "ttyACM0",
        "/dev/kiosk-camera": "video0",
    }


def test_the_check_is_not_blind_to_a_missing_or_misplaced_rule(tmp_path: Path) -> None:
    """The UART's rule gone, and the old rule that gave any usblp printer /dev/kiosk-printer back:
    the same comparison must name both."""
    text = kiosk_rules()
    uart_rule = next(line for line in text.splitlines() if 'KERNEL=="ttyAMA0"' in line)
    broken = text.replace(uart_rule + "\n", "") + (
        'SUBSYSTEM=="usbmisc", KERNEL=="lp[0-9]*", SYMLINK+="kiosk-printer", GROUP="dialout", MODE="0660"\n'
    )
    outcomes, _ = run_udev(tmp_path, {RULES.name: broken})
    assert wrong(outcomes) == [
        "uart got [], not ['kiosk-printer']",
        "usb-printer got ['kiosk-printer', 'kiosk-usb-printer'], not ['kiosk-usb-printer']",
    ]


def _pinning_rule() -> str:
    """The line the rules file gives to copy into 71-kiosk-local.rules (docs/printer.md has it too)."""
    lines = [
        line.removeprefix("#").strip()
        for line in kiosk_rules().splitlines()
        if line.startswith("#   SUBSYSTEM")
    ]
    assert len(lines) == 1, lines
    assert lines[0] in (REPO / "docs/printer.md").read_text(encoding="utf-8")
    return lines[0] + "\n"


def test_the_documented_local_rule_pins_kiosk_usb_serial_to_one_of_two_adapters(tmp_path: Path) -> None:
    """With two USB-serial adapters both claim /dev/kiosk-usb-serial and the last one added has it;
    the rule docs/printer.md gives (the CH340's IDs, link priority 10) keeps it on the CH340, though
    the FTDI adapter is added after it."""
    (tmp_path / "shipped").mkdir()
    (tmp_path / "pinned").mkdir()
    shipped, pointing = run_udev(tmp_path / "shipped", {RULES.name: kiosk_rules()}, second_adapter=True)
    assert wrong(shipped) == []
    assert pointing["/dev/kiosk-usb-serial"] == "ttyUSB1"
    rules = {RULES.name: kiosk_rules(), "71-kiosk-local.rules": _pinning_rule()}
    pinned, pointing = run_udev(tmp_path / "pinned", rules, second_adapter=True)
    assert wrong(pinned) == []
    assert pointing["/dev/kiosk-usb-serial"] == "ttyUSB0"
