"""What IT's maintenance screens show, worked out from text the system gives: the mount table (which
USB sticks are mounted), the routing table, resolv.conf, ``ip -o address``, and the settings.

Pure: the caller reads the files and runs the commands (``kiosk.staff_it``); everything here only
parses and formats, so it is tested on made-up tables without a USB stick or a network.
"""

from __future__ import annotations

import ipaddress
import struct
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

from kiosk_common.ota_states import AGENT_PHASES

#: ``kiosk run`` exits with this when IT chose "exit to desktop": the systemd unit lists it in
#: ``RestartPreventExitStatus=``, so the kiosk stays stopped (docs/operations.md)
EXIT_TO_DESKTOP = 42

#: file systems a USB stick is mounted with; anything else under the roots (a bind mount, tmpfs) is not a stick
USB_FILESYSTEMS = frozenset({"vfat", "exfat", "ntfs", "ntfs3", "fuseblk", "ext4", "ext3", "ext2", "msdos"})


def _unescape(field: str) -> str:
    """The mount table writes a space as \\040, a tab as \\011, a backslash as \\134."""
    out, i = [], 0
    while i < len(field):
        if field[i] == "\\" and field[i + 1 : i + 4].isdigit() and len(field[i + 1 : i + 4]) == 3:
            out.append(chr(int(field[i + 1 : i + 4], 8)))
            i += 4
        else:
            out.append(field[i])
            i += 1
    return "".join(out)


def usb_mounts(mount_table: str, roots: Sequence[str]) -> list[str]:
    """The mount points in ``mount_table`` (``/proc/self/mounts`` text) that lie under one of
    ``roots`` (not a root itself), with a stick's file system and mounted read-write; in table order."""
    root_paths = [PurePosixPath(r) for r in roots if r.startswith("/")]
    found: list[str] = []
    for line in mount_table.splitlines():
        fields = line.split()
        if len(fields) < 4:
            continue
        point, fstype, options = PurePosixPath(_unescape(fields[1])), fields[2], fields[3].split(",")
        if fstype not in USB_FILESYSTEMS or "ro" in options:
            continue
        under = any(point != root and point.is_relative_to(root) for root in root_paths)
        if under and str(point) not in found:
            found.append(str(point))
    return found


@dataclass(frozen=True, slots=True)
class Route:
    interface: str
    gateway: str


def default_route(route_table: str) -> Route | None:
    """The default route from ``/proc/net/route`` (little-endian hex addresses), or None."""
    for line in route_table.splitlines()[1:]:
        fields = line.split()
        if len(fields) < 8 or fields[1] != "00000000" or fields[7] != "00000000":
            continue
        try:
            gateway = str(ipaddress.IPv4Address(struct.pack("<I", int(fields[2], 16))))
        except (ValueError, struct.error):
            continue
        return Route(fields[0], gateway)
    return None


def dns_servers(resolv_conf: str) -> list[str]:
    """The ``nameserver`` lines of resolv.conf, in order."""
    out = []
    for line in resolv_conf.splitlines():
        fields = line.split("#", 1)[0].split()
        if len(fields) >= 2 and fields[0] == "nameserver":
            out.append(fields[1])
    return out


def interface_addresses(ip_output: str) -> dict[str, list[str]]:
    """``ip -o address`` output as interface -> addresses (with prefix), in order; loopback kept."""
    out: dict[str, list[str]] = {}
    for line in ip_output.splitlines():
        fields = line.split()
        if len(fields) >= 4 and fields[2] in ("inet", "inet6"):
            out.setdefault(fields[1].rstrip(":"), []).append(fields[3])
    return out


def settings_lines(data: Mapping[str, Any]) -> list[str]:
    """The (already redacted) settings as ``[section]`` / ``key = value`` lines, as in the TOML file."""
    lines: list[str] = []

    def walk(prefix: str, node: Mapping[str, Any]) -> None:
        plain = {k: v for k, v in node.items() if not isinstance(v, Mapping)}
        if prefix:
            if lines:
                lines.append("")
            lines.append(f"[{prefix}]")
        for k, v in plain.items():
            lines.append(f"{k} = {_value(v)}")
        for k, v in node.items():
            if isinstance(v, Mapping):
                walk(f"{prefix}.{k}" if prefix else k, v)

    walk("", data)
    return lines


def _value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(v, list | tuple):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    return str(v)


def tail(text: str, lines: int) -> str:
    """The last ``lines`` lines of ``text`` (all of it when shorter)."""
    kept = text.splitlines()[-lines:] if lines > 0 else []
    return "\n".join(kept)


def human_size(size: int) -> str:
    """Bytes as people read them: 812 B, 14.2 KB, 3.1 MB (powers of 1024)."""
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{size} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GB"  # pragma: no cover - the loop returns


def newest_first(names: Iterable[str]) -> list[str]:
    """Backup file names newest first (their names hold a UTC time, so text order is time order)."""
    return sorted(names, reverse=True)


#: the update agent's phases (ota.agent_core.Phase), which IT's update screen names in words
OTA_PHASES = AGENT_PHASES
