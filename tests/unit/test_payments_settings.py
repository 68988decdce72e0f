"""The ``[payments.wechat]`` / ``[payments.alipay]`` settings: exact key names, completeness, and
credential files that others on the machine can read are refused."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from kiosk.payments.routing import ChannelRouter
from kiosk.payments.service import build_gateway
from kiosk.payments.unconfigured import UnconfiguredGateway
from kiosk.ports import ChargeRequest, ChargeStatus, GatewayError
from kiosk.settings import SettingsError, load_settings
from paysim.credentials import make_credentials

KEY = "192006250b4c09247ec02edce69f6a2d"


def test_the_installers_key_names_are_accepted_and_route_both_channels(tmp_path: Path) -> None:
    creds = make_credentials(tmp_path / "keys")
    config = tmp_path / "kiosk.toml"
    config.write_text(creds.kiosk_toml("http://127.0.0.1:9"), encoding="utf-8")
    config.chmod(0o600)  # it holds the WeChat Pay API key
    s = load_settings(config, environ={})
    w, a = s.payments.wechat, s.payments.alipay
    assert (w.gateway_url, w.mch_id, w.sign_type) == ("http://127.0.0.1:9", "1900000109", "HMAC-SHA256")
    assert a.app_private_key_file == str(creds.app_private_key_file)
    assert KEY not in repr(s.payments) and creds.wechat_api_key not in repr(s.payments)
    gateway = build_gateway(s.payments, {}.get)
    assert isinstance(gateway, ChannelRouter)
    assert sorted(gateway.gateways) == ["alipay", "member", "wechat"]
    assert gateway.for_channel("wechat").name == "wechat" and gateway.for_channel("alipay").name == "alipay"


def test_a_kiosk_ships_with_no_gateway_and_refuses_payment_saying_what_to_set() -> None:
    s = load_settings(environ={})
    assert s.payments.gateway == "none"
    gateway = build_gateway(s.payments, {}.get)
    assert isinstance(gateway, UnconfiguredGateway)
    refused = gateway.pay(ChargeRequest("K1", "wechat", "134567890123456789", 100, "x"))
    assert refused.status is ChargeStatus.FAILED and "payments.gateway" in refused.reason
    with pytest.raises(GatewayError, match=r"payments\.gateway"):
        gateway.query("K1")


def test_each_channel_declares_its_own_timers(tmp_path: Path) -> None:
    """Nothing above the gateway checks a channel by name: the router asks each channel's gateway."""
    creds = make_credentials(tmp_path / "keys")
    config = tmp_path / "kiosk.toml"
    config.write_text(creds.kiosk_toml("http://127.0.0.1:9"), encoding="utf-8")
    config.chmod(0o600)
    gateway = build_gateway(load_settings(config, environ={}).payments, {}.get)
    wechat, alipay = gateway.rules_for("wechat"), gateway.rules_for("alipay")
    assert (wechat.cancel_not_before_s, wechat.give_up_after_s) == (15.0, 40.0)
    assert alipay.cancel_not_before_s == 0.0 and 3.0 <= alipay.query_interval_s <= 5.0


def test_a_channel_without_its_credentials_names_every_missing_key() -> None:
    with pytest.raises(SettingsError) as err:
        load_settings(environ={}, overrides={"payments": {"gateway": "wechat+alipay"}})
    text = str(err.value)
    for key in (
        "payments.wechat.appid",
        "payments.wechat.api_key",
        "payments.wechat.cert_file",
        "payments.alipay.app_id",
        "payments.alipay.app_private_key_file",
    ):
        assert key in text


def test_a_private_key_readable_by_others_is_refused_with_the_fix(tmp_path: Path) -> None:
    creds = make_credentials(tmp_path / "keys")
    os.chmod(creds.app_private_key_file, 0o644)
    with pytest.raises(SettingsError, match="chmod 600"):
        load_settings(
            environ={},
            overrides={"payments": {"alipay": {"app_private_key_file": str(creds.app_private_key_file)}}},
        )


def test_a_missing_key_file_and_a_short_api_key_are_refused(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="cannot read"):
        load_settings(
            environ={},
            overrides={"payments": {"alipay": {"alipay_public_key_file": str(tmp_path / "nope.pem")}}},
        )
    with pytest.raises(SettingsError, match="32-character"):
        load_settings(
            environ={},
            overrides={
                "payments": {
                    "gateway": "wechat",
                    "wechat": {
                        "gateway_url": "http://127.0.0.1:9",
                        "appid": "wx1",
                        "mch_id": "1",
                        "api_key": "short",
                    },
                }
            },
        )


def test_sign_type_allows_only_what_wechat_pay_defines() -> None:
    with pytest.raises(SettingsError, match="HMAC-SHA256"):
        load_settings(environ={}, overrides={"payments": {"wechat": {"sign_type": "SHA1"}}})
