"""The image's firewall loaded for real, in network namespaces of the tests' own (tests/image/netns.py).

/etc/nftables.conf is loaded with nft into a namespace that stands for the kiosk, and
kiosk-firewall fills its sets there with the real nft; only the DNS answers are the test's (a
stand-in for getent, kiosk-firewall's KIOSK_RESOLVE). Nothing of this machine's network is touched.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.image.netns import Netns, need
from tests.image.recipe import REPO, ROOTFS

RULESET = ROOTFS / "etc/nftables.conf"
FIREWALL = ROOTFS / "usr/local/sbin/kiosk-firewall"
HOUR = 3600


@pytest.fixture
def kiosk() -> Iterator[Netns]:
    """The kiosk's network namespace with the image's ruleset loaded."""
    ns = Netns()
    try:
        ns.run([need("nft"), "-f", str(RULESET)])
        yield ns
    finally:
        ns.close()


def elements(ns: Netns, name: str) -> dict[tuple[str, int], int]:
    """The (address, port) elements of ``inet kiosk NAME``, each with the seconds it has left (0: no
    timeout)."""
    listed = json.loads(ns.run([need("nft"), "-j", "list", "set", "inet", "kiosk", name]).stdout)
    found: dict[tuple[str, int], int] = {}
    for item in listed["nftables"]:
        for e in item.get("set", {}).get("elem", []):
            body = e["elem"] if isinstance(e, dict) and "elem" in e else {"val": e}
            address, port = body["val"]["concat"]
            found[(address, int(port))] = int(body.get("expires", 0))
    return found


class Refresh:
    """kiosk-firewall in the kiosk's namespace, resolving names with the answers the test gives."""

    def __init__(self, tmp_path: Path, ns: Netns) -> None:
        self.ns = ns
        self.answers = tmp_path / "answers"
        self.answers.mkdir()
        self.resolver = tmp_path / "getent"
        self.resolver.write_text(
            "#!/bin/sh\n# getent ahostsv4|ahostsv6 NAME, from the test's answers; 2 (not found) without one\n"
            f'f="{self.answers}/$1 $2"\n'
            '[ -s "$f" ] || exit 2\n'
            'while read -r a; do echo "$a      STREAM $2"; done <"$f"\n',
            encoding="ascii",
        )
        self.resolver.chmod(0o755)
        self.config = tmp_path / "kiosk.toml"
        self.config.write_text('[hq]\nurl = "https://hq.example.com"\n', encoding="utf-8")
        self.config.chmod(0o600)
        self.extra = tmp_path / "firewall-extra"
        self.extra.write_text("api.pay.example.cn 443\n", encoding="ascii")

    def answer(self, name: str, v4: list[str] | None, v6: list[str] | None) -> None:
        """What the next lookups of ``name`` give; None: that lookup fails (no answer at all)."""
        for family, addresses in (("ahostsv4", v4), ("ahostsv6", v6)):
            path = self.answers / f"{family} {name}"
            if addresses is None:
                path.unlink(missing_ok=True)
            else:
                path.write_text("".join(f"{a}\n" for a in addresses), encoding="ascii")

    def run(self) -> subprocess.CompletedProcess[str]:
        env = {
            **os.environ,
            "KIOSK_CONFIG": str(self.config),
            "KIOSK_PYTHON": sys.executable,
            "KIOSK_FIREWALL_EXTRA": str(self.extra),
            "NFT": need("nft"),
            "KIOSK_RESOLVE": str(self.resolver),
            "PYTHONPATH": str(REPO),
        }
        return self.ns.run([str(FIREWALL)], env=env)


def test_refreshes_add_to_the_sets_and_a_failed_lookup_removes_nothing(tmp_path: Path, kiosk: Netns) -> None:
    """GIVEN HQ and a gateway on CDNs, whose answers differ from one refresh to the next
    WHEN  kiosk-firewall refreshes twice, and the second time HQ's AAAA lookup fails
    THEN  the sets hold every address either refresh saw, each for an hour, and HQ's IPv6 address is
          still allowed. Before, every refresh flushed the sets and put in only its own answers:
          an address the kiosk's own lookup had just got could be blocked, and one failed AAAA
          lookup emptied allowed6."""
    refresh = Refresh(tmp_path, kiosk)
    refresh.answer("hq.example.com", ["192.0.2.10"], ["2001:db8::10"])
    refresh.answer("api.pay.example.cn", ["198.51.100.7"], None)
    first = refresh.run()
    assert "3 address(es) allowed" in first.stdout, first.stdout + first.stderr

    refresh.answer("hq.example.com", ["192.0.2.11"], None)
    refresh.answer("api.pay.example.cn", ["198.51.100.8"], None)
    second = refresh.run()
    assert "2 address(es) allowed" in second.stdout, second.stdout + second.stderr

    allowed4, allowed6 = elements(kiosk, "allowed4"), elements(kiosk, "allowed6")
    assert set(allowed4) == {
        ("192.0.2.10", 443),
        ("192.0.2.11", 443),
        ("198.51.100.7", 443),
        ("198.51.100.8", 443),
    }
    assert set(allowed6) == {("2001:db8::10", 443)}
    for left in [*allowed4.values(), *allowed6.values()]:
        assert HOUR - 300 < left <= HOUR  # an hour from the refresh that saw it (within the test's run)


def test_an_address_seen_again_gets_a_new_hour_and_one_not_seen_keeps_its_own(
    tmp_path: Path, kiosk: Netns
) -> None:
    """Adding an element that is already there leaves its expiry as it was (always on kernels
    without element timeout updates; on 6.18 too when the add names no timeout): kiosk-firewall must start the hour again
    itself, for the addresses it saw and no others. (Without its delete and re-add, the address seen
    again kept its 5 minutes here, on 6.18.)"""
    refresh = Refresh(tmp_path, kiosk)
    refresh.answer("hq.example.com", ["192.0.2.10", "192.0.2.11"], None)
    refresh.answer("api.pay.example.cn", None, None)
    refresh.run()
    # both as if last seen 55 minutes ago
    aged = "192.0.2.10 . 443, 192.0.2.11 . 443"
    rules = tmp_path / "age.nft"
    rules.write_text(
        f"delete element inet kiosk allowed4 {{ {aged} }}\n"
        "add element inet kiosk allowed4 { 192.0.2.10 . 443 expires 5m, 192.0.2.11 . 443 expires 5m }\n",
        encoding="ascii",
    )
    kiosk.run([need("nft"), "-f", str(rules)])
    assert all(left <= 300 for left in elements(kiosk, "allowed4").values())

    refresh.answer("hq.example.com", ["192.0.2.11"], None)
    done = refresh.run()
    assert done.returncode == 0, done.stderr
    allowed4 = elements(kiosk, "allowed4")
    assert allowed4[("192.0.2.11", 443)] > HOUR - 300
    assert 0 < allowed4[("192.0.2.10", 443)] <= 300  # still allowed, for the rest of its hour
