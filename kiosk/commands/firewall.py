"""``kiosk firewall-hosts``: the hosts and ports this kiosk must reach, for the image's firewall.

The image's nftables ruleset (``image/rootfs/etc/nftables.conf``) drops every outgoing connection
but DHCP, DNS and NTP unless it goes to an address in its ``allowed`` sets. ``kiosk-firewall``
(``image/rootfs/usr/local/sbin/kiosk-firewall``) fills those sets at boot and every few minutes from
this command's output, so the list comes from the kiosk's own validated settings (the same file
``kiosk run`` reads) and never from a second parser of the TOML written in shell.

Output: one ``HOST PORT`` line per endpoint, sorted, no duplicates. Exit 2 with the settings' own
error when the file is invalid: the firewall then keeps the sets it had.
"""

from __future__ import annotations

import argparse
import sys
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


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "firewall-hosts", help="the hosts and ports this kiosk connects to (for the image's firewall)"
    )
    parser.add_argument("--config", type=Path, help="a TOML file overriding the default settings")
    return parser


def run(args: argparse.Namespace) -> int:
    try:
        settings = load_settings(args.config)
    except (SettingsError, OSError) as exc:
        print(f"kiosk firewall-hosts: {exc}", file=sys.stderr)
        return 2
    for e in outbound(settings):
        print(f"{e.host} {e.port}")
    return 0
