"""``kiosk firewall-hosts``: the endpoints the image's firewall lets the kiosk reach, from its settings."""

from __future__ import annotations

from pathlib import Path

import pytest

from kiosk.cli import main
from kiosk.commands.firewall import Endpoint, endpoint, outbound
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
    assert main(["firewall-hosts", "--config", str(config)]) == 0
    assert capsys.readouterr().out == "hq.example.com 8443\n"


def test_invalid_settings_exit_2_with_the_settings_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _settings_file(tmp_path, '[hq]\nurl = "ftp://nope"\n')
    assert main(["firewall-hosts", "--config", str(config)]) == 2
    assert "url" in capsys.readouterr().err
