"""IT's screens read the system's tables: which USB sticks are mounted, the default route, the DNS
servers, the interfaces' addresses; and they format the settings and sizes. Pure, on made-up tables."""

from __future__ import annotations

from kiosk.maintenance.it_info import (
    Route,
    default_route,
    dns_servers,
    human_size,
    interface_addresses,
    settings_lines,
    tail,
    usb_mounts,
)

MOUNTS = """\
/dev/mmcblk0p2 / ext4 rw,noatime 0 0
proc /proc proc rw,nosuid 0 0
/dev/sda1 /media/kiosk/STICK vfat rw,nosuid,nodev,uid=1000 0 0
/dev/sdb1 /run/media/pi/MY\\040DATA exfat rw,nosuid 0 0
/dev/sdc1 /media/kiosk/READONLY vfat ro,nosuid 0 0
tmpfs /media/kiosk/tmp tmpfs rw 0 0
/dev/sdd1 /media vfat rw 0 0
/dev/sde1 /mnt/other vfat rw 0 0
"""


def test_only_writable_stick_filesystems_under_the_roots_are_usb_sticks() -> None:
    found = usb_mounts(MOUNTS, ("/media", "/run/media"))
    # a space in the mount table is \\040; the root itself, read-only, tmpfs and other folders are not sticks
    assert found == ["/media/kiosk/STICK", "/run/media/pi/MY DATA"]


def test_no_roots_or_no_sticks_finds_nothing() -> None:
    assert usb_mounts(MOUNTS, ()) == []
    assert usb_mounts("/dev/root / ext4 rw 0 0\n", ("/media",)) == []
    assert usb_mounts(MOUNTS, ("relative",)) == []


ROUTES = """\
Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT
eth0\t0001A8C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0
eth0\t00000000\t0101A8C0\t0003\t0\t0\t100\t00000000\t0\t0\t0
"""


def test_the_default_route_is_read_little_endian() -> None:
    assert default_route(ROUTES) == Route("eth0", "192.168.1.1")
    assert default_route(ROUTES.splitlines()[0] + "\n") is None


def test_dns_servers_in_order_comments_ignored() -> None:
    text = (
        "# generated\nsearch lan\nnameserver 192.168.1.1 # router\nnameserver 8.8.8.8\n#nameserver 1.1.1.1\n"
    )
    assert dns_servers(text) == ["192.168.1.1", "8.8.8.8"]


def test_interface_addresses_from_ip_o_address() -> None:
    text = (
        "1: lo    inet 127.0.0.1/8 scope host lo\\       valid_lft forever\n"
        "2: eth0    inet 192.168.1.20/24 brd 192.168.1.255 scope global eth0\n"
        "2: eth0    inet6 fe80::1/64 scope link\n"
        "3: wlan0    link ?\n"
    )
    assert interface_addresses(text) == {"lo": ["127.0.0.1/8"], "eth0": ["192.168.1.20/24", "fe80::1/64"]}


def test_settings_are_shown_as_toml_sections() -> None:
    lines = settings_lines(
        {
            "kiosk": {"id": "k1", "fullscreen": True},
            "payments": {"gateway": "none", "wechat": {"api_key": "[removed]"}},
        }
    )
    assert lines == [
        "[kiosk]",
        'id = "k1"',
        "fullscreen = true",
        "",
        "[payments]",
        'gateway = "none"',
        "",
        "[payments.wechat]",
        'api_key = "[removed]"',
    ]


def test_tail_and_sizes() -> None:
    assert tail("a\nb\nc\n", 2) == "b\nc"
    assert tail("a\nb", 10) == "a\nb"
    assert tail("a", 0) == ""
    assert human_size(812) == "812 B"
    assert human_size(14_540) == "14.2 KB"
    assert human_size(3 * 1024 * 1024) == "3.0 MB"
