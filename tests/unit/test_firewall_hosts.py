"""``kiosk firewall-hosts``: the endpoints the image's firewall lets the kiosk reach, from its settings."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from kiosk.cli import main
from kiosk.commands.firewall import Endpoint, apt_archives, endpoint, outbound
from kiosk.settings import load_settings


def _settings_file(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "kiosk.toml"
    path.write_text(body, encoding="utf-8")
    path.chmod(0o600)
    return path


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://hq.example.com", Endpoint("hq.example.com", 443)),
        ("http://hq.example.com", Endpoint("hq.example.com", 80)),
        ("https://hq.example.com:8443/base/", Endpoint("hq.example.com", 8443)),
        ("http://10.0.0.5:8080", Endpoint("10.0.0.5", 8080)),
        ("http://[fd00::5]:8080", Endpoint("fd00::5", 8080)),
        ("", None),
    ],
)
def test_an_url_gives_its_host_and_port(url: str, expected: Endpoint | None) -> None:
    assert endpoint(url) == expected


def test_only_the_channels_the_kiosk_takes_get_a_hole(tmp_path: Path) -> None:
    for name in ("app.pem", "alipay.pem"):
        (tmp_path / name).write_text("-----BEGIN PRIVATE KEY-----\n", encoding="ascii")
        (tmp_path / name).chmod(0o600)
    config = _settings_file(
        tmp_path,
        '[hq]\nurl = "https://hq.example.com"\n'
        '[ota]\ntargets_url = "https://cdn.example.com/tuf/targets/"\n'
        '[payments]\ngateway = "alipay"\n'
        f'[payments.alipay]\napp_id = "2021000000000000"\napp_private_key_file = "{tmp_path / "app.pem"}"\n'
        f'alipay_public_key_file = "{tmp_path / "alipay.pem"}"\n',
    )
    found = outbound(load_settings(config))
    assert found == [
        Endpoint("cdn.example.com", 443),
        Endpoint("hq.example.com", 443),
        Endpoint("openapi.alipay.com", 443),
    ]


def test_the_shipped_default_reaches_hq_alone(tmp_path: Path) -> None:
    """Payments are "none" until commissioned: no gateway is let through."""
    assert outbound(load_settings(None)) == [Endpoint("127.0.0.1", 8080)]


def test_the_command_prints_host_port_lines(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = _settings_file(tmp_path, '[hq]\nurl = "https://hq.example.com:8443"\n')
    assert main(["firewall-hosts", "--config", str(config), "--apt-dir", str(tmp_path / "no-apt")]) == 0
    assert capsys.readouterr().out == "hq.example.com 8443\n"


def test_invalid_settings_exit_2_with_the_settings_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _settings_file(tmp_path, '[hq]\nurl = "ftp://nope"\n')
    assert main(["firewall-hosts", "--config", str(config)]) == 2
    assert "url" in capsys.readouterr().err


# --- the OS archives (apt's sources) -----------------------------------------------------------

#: Raspberry Pi OS trixie's sources as pi-gen writes them (stage0/00-configure-apt)
DEBIAN_SOURCES = """Types: deb
URIs: http://deb.debian.org/debian/
Suites: trixie trixie-updates
Components: main contrib non-free non-free-firmware
Signed-By: /usr/share/keyrings/debian-archive-keyring.pgp

Types: deb
URIs: http://deb.debian.org/debian-security/
Suites: trixie-security
Components: main contrib non-free non-free-firmware
Signed-By: /usr/share/keyrings/debian-archive-keyring.pgp
"""
RASPI_SOURCES = """Types: deb
URIs: http://archive.raspberrypi.com/debian/
Suites: trixie
Components: main
Signed-By: /usr/share/keyrings/raspberrypi-archive-keyring.pgp
"""


def _apt(tmp_path: Path, files: dict[str, str]) -> Path:
    """An apt folder holding ``files`` (paths under it), each 0644 in 0755 folders, as on the image."""
    apt = tmp_path / "apt"
    (apt / "sources.list.d").mkdir(parents=True)
    for name, text in files.items():
        (apt / name).write_text(text, encoding="utf-8")
        (apt / name).chmod(0o644)
    for folder in (apt, apt / "sources.list.d"):
        folder.chmod(0o755)
    return apt


def test_the_images_archives_are_let_through_on_port_80(tmp_path: Path) -> None:
    apt = _apt(
        tmp_path,
        {"sources.list.d/debian.sources": DEBIAN_SOURCES, "sources.list.d/raspi.sources": RASPI_SOURCES},
    )
    found, notes = apt_archives(apt, owner=os.getuid())
    assert found == [Endpoint("archive.raspberrypi.com", 80), Endpoint("deb.debian.org", 80)]
    assert notes == []


def test_one_line_and_deb822_sources_give_each_uris_host_and_port(tmp_path: Path) -> None:
    apt = _apt(
        tmp_path,
        {
            "sources.list": (
                "# deb http://commented.example.org/debian trixie main\n"
                "deb http://deb.debian.org/debian trixie main  # the archive\n"
                "deb [ arch=arm64 signed-by=/usr/share/keyrings/x.pgp ] https://security.debian.org/debian-security trixie-security main\n"
                "deb-src [arch=arm64] http://mirror.example.cn:8080/debian trixie main\n"
                "deb file:/srv/repo ./\n"
            ),
            "sources.list.d/raspi.list": "deb http://archive.raspberrypi.com/debian/ trixie main\n",
            "sources.list.d/extra.sources": (
                "# a stanza that is off\nTypes: deb\nURIs: http://off.example.org/debian\nEnabled: no\n"
                "Suites: trixie\n\n"
                "Types: deb deb-src\nURIs: https://a.example.org/debian\n https://b.example.org:8443/debian\n"
                "Suites: trixie\n"
            ),
            "sources.list.d/old.list.save": "deb http://saved.example.org/debian trixie main\n",
        },
    )
    found, notes = apt_archives(apt, owner=os.getuid())
    assert found == [
        Endpoint("a.example.org", 443),
        Endpoint("archive.raspberrypi.com", 80),
        Endpoint("b.example.org", 8443),
        Endpoint("deb.debian.org", 80),
        Endpoint("mirror.example.cn", 8080),
        Endpoint("security.debian.org", 443),
    ]
    assert notes == []


def test_a_source_others_may_change_or_a_scheme_the_firewall_cannot_follow_is_left_out(
    tmp_path: Path,
) -> None:
    """The firewall runs as root: a sources file the kiosk's user could write would let it open the
    firewall to any host."""
    apt = _apt(
        tmp_path,
        {
            "sources.list.d/raspi.sources": RASPI_SOURCES,
            "sources.list.d/open.list": "deb http://open.example.org/debian trixie main\n",
            "sources.list.d/mirror.list": "deb mirror+http://mirrors.example.org/list.txt trixie main\n",
        },
    )
    (apt / "sources.list.d/open.list").chmod(0o664)
    found, notes = apt_archives(apt, owner=os.getuid())
    assert found == [Endpoint("archive.raspberrypi.com", 80)]
    assert any("open.list: others than root may change it" in n for n in notes)
    assert any("mirror+http://mirrors.example.org/list.txt: only http:// and https://" in n for n in notes)
    # a file of someone else's, and a folder others may change
    assert apt_archives(apt, owner=os.getuid() + 1)[0] == []
    (apt / "sources.list.d/open.list").chmod(0o644)
    (apt / "sources.list.d").chmod(0o775)
    found, notes = apt_archives(apt, owner=os.getuid())
    assert found == [] and "sources.list.d: others than root may change it" in notes[0]


def test_the_command_lists_the_archives_with_the_settings_hosts_and_alone_when_those_are_invalid(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Invalid settings must not cost the OS updates their archives: they are still printed (exit 2)."""
    apt = _apt(tmp_path, {"sources.list.d/raspi.sources": RASPI_SOURCES})
    if os.getuid() != 0:
        pytest.fail("the command trusts root's sources only: run make test as root (README)")
    config = _settings_file(tmp_path, '[hq]\nurl = "https://hq.example.com:8443"\n')
    assert main(["firewall-hosts", "--config", str(config), "--apt-dir", str(apt)]) == 0
    assert capsys.readouterr().out == "archive.raspberrypi.com 80\nhq.example.com 8443\n"
    config.write_text('[hq]\nurl = "ftp://nope"\n', encoding="utf-8")
    assert main(["firewall-hosts", "--config", str(config), "--apt-dir", str(apt)]) == 2
    assert capsys.readouterr().out == "archive.raspberrypi.com 80\n"


def test_settings_others_than_root_may_change_open_no_hole(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The settings name the hosts the firewall lets the kiosk reach. The image's were the kiosk
    user's (0600 kiosk): whoever controlled the app could add a host and reach it. Now a file, or a
    folder, that another user than root may change gives no hole (exit 2, the archives still listed)."""
    if os.getuid() != 0:
        pytest.fail("the command trusts root's files only: run make test as root (README)")
    apt = _apt(tmp_path, {"sources.list.d/raspi.sources": RASPI_SOURCES})
    etc = tmp_path / "etc-kiosk"
    etc.mkdir(mode=0o750)
    config = etc / "kiosk.toml"
    config.write_text('[hq]\nurl = "https://evil.example.net"\n', encoding="utf-8")
    config.chmod(0o640)
    command = ["firewall-hosts", "--config", str(config), "--apt-dir", str(apt)]
    assert main(command) == 0  # root's alone (root:kiosk 0640 on the image)
    assert capsys.readouterr().out == "archive.raspberrypi.com 80\nevil.example.net 443\n"
    for change, undo in (
        (lambda: os.chown(config, 999, -1), lambda: os.chown(config, 0, -1)),  # the kiosk user's file
        (lambda: config.chmod(0o660), lambda: config.chmod(0o640)),  # its group may write it
        (lambda: etc.chmod(0o770), lambda: etc.chmod(0o750)),  # its group may swap it in the folder
        (lambda: os.chown(etc, 999, -1), lambda: os.chown(etc, 0, -1)),
    ):
        change()
        assert main(command) == 2
        out, err = capsys.readouterr()
        assert out == "archive.raspberrypi.com 80\n"
        assert "others than root may change it" in err and "chown root:kiosk" in err
        undo()
    assert main(command) == 0


def test_settings_through_a_link_count_only_when_the_targets_folder_is_roots_alone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """/etc/kiosk/kiosk.toml may be a link an admin made; whoever may change the folder it points
    into may swap the file it names."""
    if os.getuid() != 0:
        pytest.fail("the command trusts root's files only: run make test as root (README)")
    etc = tmp_path / "etc-kiosk"
    etc.mkdir(mode=0o750)
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o770)  # its group may write in it
    shared.chmod(0o770)
    real = shared / "kiosk.toml"
    real.write_text('[hq]\nurl = "https://hq.example.com"\n', encoding="utf-8")
    real.chmod(0o640)
    (etc / "kiosk.toml").symlink_to(real)
    command = ["firewall-hosts", "--config", str(etc / "kiosk.toml"), "--apt-dir", str(tmp_path / "no-apt")]
    assert main(command) == 2
    out, err = capsys.readouterr()
    assert out == "" and f"{shared}: others than root may change it" in err
    shared.chmod(0o750)
    assert main(command) == 0
    assert capsys.readouterr().out == "hq.example.com 443\n"
