"""``kiosk firewall-hosts``: the hosts and ports this kiosk must reach, for the image's firewall.

The image's nftables ruleset (``image/rootfs/etc/nftables.conf``) drops every outgoing connection
but DHCP, DNS and NTP unless it goes to an address in its ``allowed`` sets. ``kiosk-firewall``
(``image/rootfs/usr/local/sbin/kiosk-firewall``) fills those sets at boot and every few minutes from
this command's output, so the list comes from the kiosk's own validated settings (the same file
``kiosk run`` reads) and never from a second parser of the TOML written in shell.

The OS's own security updates (``kiosk-os-update``: ``apt-get update`` and unattended-upgrade) must
reach the archives in apt's sources, so their hosts are listed too: the ``http(s)://`` URIs of
``sources.list``, ``sources.list.d/*.list`` and the deb822 ``sources.list.d/*.sources`` under
``--apt-dir`` (``/etc/apt``), on the port each URI names (80 for http, 443 for https). Only files
root owns and nobody else may change count (and only in folders alike): the firewall runs as root,
and a file the kiosk's user could write would let it open the firewall to any host.

The settings file counts only when root owns it and its folder and nobody else may change them (the
image's ``/etc/kiosk/kiosk.toml`` is ``root:kiosk 0640``): the kiosk user reads it but cannot add a
host to the firewall.

Output: one ``HOST PORT`` line per endpoint, sorted, no duplicates; a skipped source on stderr. Exit 2
with the settings' own error when the file is invalid or not root's alone, after printing the
archives' endpoints all the same: the firewall then renews those, and keeps the rest until it times
out.
"""

from __future__ import annotations

import argparse
import re
import stat
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from kiosk.settings import Settings, SettingsError, load_settings


@dataclass(frozen=True, slots=True, order=True)
class Endpoint:
    """One host (a name or an address literal) and the TCP port the kiosk opens to it."""

    host: str
    port: int


def endpoint(url: str) -> Endpoint | None:
    """The host and port of an ``http(s)://`` URL (the settings already checked its shape); None for ""."""
    if not url:
        return None
    parts = urlsplit(url)
    if parts.hostname is None:
        return None
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return Endpoint(parts.hostname, port)


def outbound(settings: Settings) -> list[Endpoint]:
    """Every endpoint the kiosk and its update agent connect to: HQ (sync, enrolment, OTA API), the
    TUF mirror when one is set, and the gateway of each payment channel the kiosk takes. A channel
    that is not taken gets no hole in the firewall."""
    urls = [settings.hq.url, settings.ota.metadata_url, settings.ota.targets_url]
    gateway = settings.payments.gateway
    if "wechat" in gateway:
        urls.append(settings.payments.wechat.gateway_url)
    if "alipay" in gateway:
        urls.append(settings.payments.alipay.gateway_url)
    found = {e for e in (endpoint(u) for u in urls) if e is not None}
    return sorted(found)


#: where apt keeps its sources on the kiosk
APT_DIR = Path("/etc/apt")
#: the names apt reads in sources.list.d (others, such as ``x.list.save`` or ``x.dpkg-old``, it ignores)
_SOURCE_NAME = re.compile(r"[A-Za-z0-9_.-]+\.(list|sources)")
#: schemes of archives on this machine, which need no hole in the firewall
_LOCAL_SCHEMES = {"file", "cdrom", "copy"}
#: the values apt's ``Enabled:`` takes for "no"
_DISABLED = {"no", "false", "off", "without", "disable"}


def _one_line_uris(text: str) -> Iterator[str]:
    """The URI of each ``deb``/``deb-src`` line of a one-line-style file (``sources.list``, ``*.list``):
    TYPE [ OPTIONS ] URI SUITE [COMPONENT...]; the options may hold spaces inside their brackets."""
    for raw in text.splitlines():
        words = raw.split("#", 1)[0].split()
        if not words or words[0] not in ("deb", "deb-src"):
            continue
        rest = words[1:]
        if rest and rest[0].startswith("["):
            while rest and not rest[0].endswith("]"):
                rest.pop(0)
            rest = rest[1:]
        if rest:
            yield rest[0]


def _deb822_uris(text: str) -> Iterator[str]:
    """The ``URIs:`` of each enabled ``deb``/``deb-src`` stanza of a deb822 ``*.sources`` file
    (stanzas apart by blank lines; ``#`` lines are comments; a line that starts with a space goes on
    the field above)."""
    stanzas: list[dict[str, str]] = [{}]
    key = ""
    for line in text.splitlines():
        if not line.strip():
            stanzas.append({})
            key = ""
        elif line.startswith("#"):
            continue
        elif line[0] in " \t":
            if key:
                stanzas[-1][key] += " " + line.strip()
        else:
            name, colon, value = line.partition(":")
            if colon:
                key = name.strip().lower()
                stanzas[-1][key] = value.strip()
    for fields in stanzas:
        if fields.get("enabled", "yes").strip().lower() in _DISABLED:
            continue
        if not {"deb", "deb-src"} & set(fields.get("types", "").split()):
            continue
        yield from fields.get("uris", "").split()


def _trusted(path: Path, owner: int) -> bool:
    """Whether ``path`` belongs to ``owner`` and nobody else may write to it."""
    try:
        info = path.stat()
    except OSError:
        return False
    return info.st_uid == owner and not info.st_mode & (stat.S_IWGRP | stat.S_IWOTH)


def apt_archives(apt_dir: Path = APT_DIR, owner: int = 0) -> tuple[list[Endpoint], list[str]]:
    """The host and port of every ``http(s)://`` archive in apt's sources under ``apt_dir``, and a
    note for each source that is left out (a file or folder that is not ``owner``'s alone, a URI the
    firewall cannot let through). Local archives (``file:``, ``cdrom:``) need no hole and are passed
    over quietly."""
    found: set[Endpoint] = set()
    notes: list[str] = []
    files: list[Path] = []
    parts = apt_dir / "sources.list.d"
    for folder in (apt_dir, parts):
        if folder.exists() and not _trusted(folder, owner):
            notes.append(f"{folder}: others than root may change it; the archives in it are not let through")
            return [], notes
    if (apt_dir / "sources.list").is_file():
        files.append(apt_dir / "sources.list")
    if parts.is_dir():
        files += sorted(p for p in parts.iterdir() if _SOURCE_NAME.fullmatch(p.name) and p.is_file())
    for path in files:
        if not _trusted(path, owner):
            notes.append(f"{path}: others than root may change it; its archives are not let through")
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            notes.append(f"{path}: cannot be read ({exc}); its archives are not let through")
            continue
        uris = _deb822_uris(text) if path.suffix == ".sources" else _one_line_uris(text)
        for uri in uris:
            scheme = uri.split(":", 1)[0].lower()
            if scheme in _LOCAL_SCHEMES:
                continue
            try:
                found_one = endpoint(uri) if scheme in ("http", "https") else None
            except ValueError:  # a port that is no port
                found_one = None
            if found_one is None:
                notes.append(f"{path}: {uri}: only http:// and https:// archives are let through")
            else:
                found.add(found_one)
    return sorted(found), notes


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "firewall-hosts", help="the hosts and ports this kiosk connects to (for the image's firewall)"
    )
    parser.add_argument("--config", type=Path, help="a TOML file overriding the default settings")
    parser.add_argument(
        "--apt-dir",
        type=Path,
        default=APT_DIR,
        help=f"apt's folder, whose sources' archives the OS updates reach (default {APT_DIR})",
    )
    return parser


def settings_refused(config: Path, owner: int = 0) -> str:
    """Why the hosts in ``config`` must not be let through ("" when they may): the file, its
    folder, or (``config`` being a link) its target's folder may be changed by another user than
    ``owner``. The kiosk's settings name the hosts this
    command opens the firewall to; were they the kiosk user's to write (as the image's were before
    ``root:kiosk 0640``), whoever controls the app could let it reach any host."""
    # a link's own folder says who may swap the link; its target's folder, who may swap the file
    target = config.resolve()
    for path in dict.fromkeys((config.parent, target.parent, target)):
        if path.exists() and not _trusted(path, owner):
            return (
                f"{path}: others than root may change it, so the hosts it names are not let through; "
                f"make it root's: chown root:kiosk {path} && chmod g-w,o-w {path}"
            )
    return ""


def run(args: argparse.Namespace) -> int:
    archives, notes = apt_archives(args.apt_dir)
    for note in notes:
        print(f"kiosk firewall-hosts: {note}", file=sys.stderr)
    found = set(archives)
    try:
        refused = settings_refused(args.config) if args.config is not None else ""
        if not refused:
            found.update(outbound(load_settings(args.config)))
    except (SettingsError, OSError) as exc:
        refused = str(exc)
    if refused:
        print(f"kiosk firewall-hosts: {refused}", file=sys.stderr)
    for e in sorted(found):
        print(f"{e.host} {e.port}")
    return 2 if refused else 0
