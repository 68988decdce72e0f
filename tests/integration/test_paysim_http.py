"""The gateway simulator over real HTTP on 127.0.0.1, spoken to in the real WeChat Pay v2 and Alipay
protocols: each scripted outcome, idempotence, validation as each channel validates, the ledger, and
the server's own lifecycle.

Well-formed requests come from the kiosk's own adapters; malformed ones are built by hand and posted
raw (signed with the adapters' signing functions where the signature must be valid, so the request is
refused for the fault under test and not for its signature). The password delay runs on a fake clock:
nothing here waits for it.
"""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import rsa

from kiosk.payments import alipay as ali
from kiosk.payments import wechat as wx
from kiosk.payments.alipay import AlipayBarcodeGateway, AlipayCredentials
from kiosk.payments.wechat import WechatCredentials, WechatMicropayGateway
from kiosk.ports import ChargeRequest, ChargeResult, ChargeStatus, GatewayError
from paysim.alipay import SimAlipayConfig
from paysim.credentials import ALIPAY_APP_ID, WECHAT_APPID, WECHAT_MCH_ID, make_credentials
from paysim.server import MAX_BODY_BYTES, GatewaySimulator, is_loopback_host
from paysim.wechat import SimWechatConfig
from tests.fakes.clock import FakeClock

PASSWORD_DELAY_S = 2.0
#: how late a 9007 code is answered; real waiting, but well inside the adapters' timeout
SLOW_S = 0.05
TIMEOUT = 5.0

Gateway = WechatMicropayGateway | AlipayBarcodeGateway
CHANNELS = ("wechat", "alipay")


def wechat_code(last4: str) -> str:
    return f"13345678901234{last4}"  # 18 digits, WeChat Pay's prefix


def alipay_code(last4: str) -> str:
    return f"2888776655443322{last4}"  # 20 digits, Alipay's prefix


def code_for(channel: str, last4: str) -> str:
    return wechat_code(last4) if channel == "wechat" else alipay_code(last4)


@dataclass(frozen=True, slots=True)
class Keys:
    """The simulator's throw-away keys, loaded once for the module: loading an RSA key takes a while."""

    wechat_api_key: str
    sim_wechat: SimWechatConfig
    sim_alipay: SimAlipayConfig
    #: the kiosk's side of the Alipay keys: the app's private key, Alipay's public key
    alipay: AlipayCredentials


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> Keys:
    creds = make_credentials(tmp_path_factory.mktemp("httpkeys"))
    return Keys(
        creds.wechat_api_key,
        creds.wechat_sim(),
        creds.alipay_sim(),
        AlipayCredentials.from_files(ALIPAY_APP_ID, creds.app_private_key_file, creds.alipay_public_key_file),
    )


def simulator(keys: Keys, **kwargs: Any) -> GatewaySimulator:
    return GatewaySimulator(wechat=keys.sim_wechat, alipay=keys.sim_alipay, **kwargs)


@pytest.fixture(scope="module")
def other_key() -> rsa.RSAPrivateKey:
    """An RSA key that is not the app's: what an impostor would sign with."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def sim(keys: Keys, clock: FakeClock) -> Iterator[GatewaySimulator]:
    """A fresh simulator for a test that records trades; its password delay runs on ``clock``."""
    with simulator(keys, password_delay_s=PASSWORD_DELAY_S, clock=clock.monotonic, slow_s=SLOW_S) as running:
        yield running


@pytest.fixture(scope="module")
def shared_sim(keys: Keys) -> Iterator[list[GatewaySimulator]]:
    holder = [simulator(keys).start()]
    yield holder
    holder[0].stop()


@pytest.fixture
def quiet_sim(keys: Keys, shared_sim: list[GatewaySimulator]) -> GatewaySimulator:
    """One simulator shared by the tests of requests that must record nothing (starting one per test
    would take most of this file's time). Each of those tests checks that nothing was recorded; one that
    fails that check leaves a simulator that is replaced here, so its failure does not spill over."""
    if shared_sim[0].bank.ledger() or shared_sim[0].bank.query("T1").reason != "ORDER_NOT_EXIST":
        shared_sim[0].stop()
        shared_sim[0] = simulator(keys).start()
    return shared_sim[0]


def make_gateway(channel: str, url: str, keys: Keys) -> Gateway:
    if channel == "wechat":
        return WechatMicropayGateway(
            url, WechatCredentials(WECHAT_APPID, WECHAT_MCH_ID, keys.wechat_api_key, "HMAC-SHA256"), TIMEOUT
        )
    return AlipayBarcodeGateway(url, keys.alipay, TIMEOUT)


@pytest.fixture
def gateways(sim: GatewaySimulator, keys: Keys) -> Iterator[dict[str, Gateway]]:
    made = {channel: make_gateway(channel, sim.url, keys) for channel in CHANNELS}
    yield made
    for gateway in made.values():
        gateway.close()


@pytest.fixture
def http() -> Iterator[requests.Session]:
    with requests.Session() as session:
        yield session


def pay(gateway: Gateway, out_trade_no: str, code: str, amount_fen: int = 880) -> ChargeResult:
    return gateway.pay(ChargeRequest(out_trade_no, gateway.name, code, amount_fen, "测试 test"))


def ledger(sim: GatewaySimulator) -> dict[str, Any]:
    response = requests.get(f"{sim.url}/v1/ledger", timeout=TIMEOUT)
    assert response.status_code == 200
    data: dict[str, Any] = response.json()
    return data


def charges_of(data: dict[str, Any], out_trade_no: str) -> list[dict[str, Any]]:
    return [e for e in data["entries"] if e["kind"] == "charge" and e["out_trade_no"] == out_trade_no]


# --- hand-made requests ---------------------------------------------------------------------------


def wechat_params(keys: Keys, **changes: str | None) -> dict[str, str]:
    """A valid micropay request for ``T1`` with ``changes`` applied (None removes a field), signed."""
    params: dict[str, str] = {
        "appid": WECHAT_APPID,
        "mch_id": WECHAT_MCH_ID,
        "nonce_str": "5K8264ILTKCH16CQ2502SI8ZNMTM67VS",
        "sign_type": "HMAC-SHA256",
        "body": "测试 test",
        "out_trade_no": "T1",
        "total_fee": "880",
        "fee_type": "CNY",
        "spbill_create_ip": "127.0.0.1",
        "auth_code": wechat_code("1234"),
    }
    for key, value in changes.items():
        if value is None:
            params.pop(key, None)
        else:
            params[key] = value
    sign_type = params.get("sign_type") or "MD5"
    params["sign"] = wx.sign(params, keys.wechat_api_key, sign_type if sign_type in wx.SIGN_TYPES else "MD5")
    return params


def post_wechat(
    http: requests.Session, sim: GatewaySimulator, body: bytes, path: str = wx.PATH_MICROPAY
) -> dict[str, str]:
    """Post raw bytes to a WeChat Pay path; the answer must be WeChat Pay XML on HTTP 200."""
    response = http.post(
        f"{sim.url}{path}", data=body, headers={"Content-Type": "text/xml; charset=utf-8"}, timeout=TIMEOUT
    )
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"].startswith("text/xml")
    return wx.from_xml(response.content)


def alipay_params(
    keys: Keys,
    method: str = "alipay.trade.pay",
    biz: dict[str, Any] | None = None,
    **changes: str | None,
) -> dict[str, str]:
    """A valid form for ``method`` with ``changes`` applied to the public parameters, RSA2-signed."""
    if biz is None:
        biz = {
            "out_trade_no": "T1",
            "scene": "bar_code",
            "auth_code": alipay_code("1234"),
            "subject": "测试 test",
            "total_amount": "8.80",
        }
    params = {
        "app_id": ALIPAY_APP_ID,
        "method": method,
        "format": "JSON",
        "charset": "utf-8",
        "sign_type": "RSA2",
        "timestamp": "2026-12-01 12:00:00",
        "version": "1.0",
        "biz_content": json.dumps(biz, ensure_ascii=False, separators=(",", ":")),
    }
    for key, value in changes.items():
        if value is None:
            params.pop(key, None)
        else:
            params[key] = value
    params["sign"] = ali.sign_params(params, keys.alipay.app_private_key)
    return params


def post_alipay(http: requests.Session, sim: GatewaySimulator, body: bytes) -> requests.Response:
    response = http.post(
        f"{sim.url}{ali.PATH_GATEWAY}",
        data=body,
        headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
        timeout=TIMEOUT,
    )
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    return response


def form(params: dict[str, str]) -> bytes:
    return urlencode(params).encode("utf-8")


# --- the server's own endpoints -------------------------------------------------------------------


def test_healthz_and_url(sim: GatewaySimulator, http: requests.Session) -> None:
    assert sim.url.startswith("http://127.0.0.1:")
    response = http.get(f"{sim.url}/healthz", timeout=TIMEOUT)
    assert (response.status_code, response.json()) == (200, {"ok": True})
    assert ledger(sim) == {
        "entries": [],
        "charged_fen": 0,
        "reversed_fen": 0,
        "refunded_fen": 0,
        "net_fen": 0,
    }


# --- outcomes -------------------------------------------------------------------------------------

#: (channel, last four digits, status of the pay answer (None: no answer at all), words in its reason,
#: charged, status of a query made right after)
OUTCOMES = [
    ("wechat", "1234", ChargeStatus.PAID, "", True, ChargeStatus.PAID),
    ("alipay", "5555", ChargeStatus.PAID, "", True, ChargeStatus.PAID),
    ("wechat", "9001", ChargeStatus.USER_PAYING, "USERPAYING", False, ChargeStatus.USER_PAYING),
    ("alipay", "9001", ChargeStatus.USER_PAYING, "USER_PAYING", False, ChargeStatus.USER_PAYING),
    ("wechat", "9002", ChargeStatus.FAILED, "NOTENOUGH", False, ChargeStatus.FAILED),
    ("alipay", "9002", ChargeStatus.FAILED, "ACQ.BUYER_BALANCE_NOT_ENOUGH", False, ChargeStatus.UNKNOWN),
    ("wechat", "9003", ChargeStatus.FAILED, "AUTHCODEEXPIRE", False, ChargeStatus.FAILED),
    ("alipay", "9003", ChargeStatus.FAILED, "ACQ.PAYMENT_AUTH_CODE_INVALID", False, ChargeStatus.UNKNOWN),
    ("wechat", "9004", ChargeStatus.USER_PAYING, "USERPAYING", False, ChargeStatus.USER_PAYING),
    ("alipay", "9004", ChargeStatus.USER_PAYING, "USER_PAYING", False, ChargeStatus.USER_PAYING),
    ("wechat", "9005", ChargeStatus.UNKNOWN, "SYSTEMERROR", True, ChargeStatus.PAID),
    ("alipay", "9005", ChargeStatus.UNKNOWN, "ACQ.SYSTEM_ERROR", True, ChargeStatus.PAID),
    ("wechat", "9006", None, "", True, ChargeStatus.PAID),
    ("alipay", "9006", None, "", True, ChargeStatus.PAID),
    ("wechat", "9007", ChargeStatus.PAID, "", True, ChargeStatus.PAID),
    ("alipay", "9007", ChargeStatus.PAID, "", True, ChargeStatus.PAID),
]


@pytest.mark.parametrize(("channel", "last4", "status", "reason", "charged", "queried"), OUTCOMES)
def test_each_outcome(
    sim: GatewaySimulator,
    gateways: dict[str, Gateway],
    channel: str,
    last4: str,
    status: ChargeStatus | None,
    reason: str,
    charged: bool,
    queried: ChargeStatus,
) -> None:
    gateway = gateways[channel]
    if status is None:  # the connection drops after the charge: the kiosk hears nothing
        with pytest.raises(GatewayError, match="outcome unknown"):
            pay(gateway, "T1", code_for(channel, last4))
    else:
        result = pay(gateway, "T1", code_for(channel, last4))
        assert (result.status, result.out_trade_no) == (status, "T1")
        assert reason in result.reason
        assert result.transaction_id.startswith("SIM") == (status is ChargeStatus.PAID)
    charges = charges_of(ledger(sim), "T1")
    assert len(charges) == (1 if charged else 0)
    assert [c["channel"] for c in charges] == ([channel] if charged else [])
    query = gateway.query("T1")
    assert query.status is queried
    if charged:
        assert query.transaction_id == charges[0]["transaction_id"]


@pytest.mark.parametrize("channel", CHANNELS)
def test_user_paying_is_paid_once_the_password_delay_has_passed(
    sim: GatewaySimulator, gateways: dict[str, Gateway], clock: FakeClock, channel: str
) -> None:
    gateway = gateways[channel]
    assert pay(gateway, "T1", code_for(channel, "9001")).status is ChargeStatus.USER_PAYING
    clock.advance(PASSWORD_DELAY_S - 0.01)
    assert gateway.query("T1").status is ChargeStatus.USER_PAYING
    assert ledger(sim)["entries"] == []
    clock.advance(0.01)
    paid = gateway.query("T1")
    assert paid.status is ChargeStatus.PAID
    [charge] = charges_of(ledger(sim), "T1")
    assert (charge["transaction_id"], charge["amount_fen"]) == (paid.transaction_id, 880)
    clock.advance(100 * PASSWORD_DELAY_S)
    assert len(charges_of(ledger(sim), "T1")) == 1  # paid once, however long anyone looks


@pytest.mark.parametrize("channel", CHANNELS)
def test_a_customer_who_never_enters_the_password_is_never_charged(
    sim: GatewaySimulator, gateways: dict[str, Gateway], clock: FakeClock, channel: str
) -> None:
    gateway = gateways[channel]
    assert pay(gateway, "T1", code_for(channel, "9004")).status is ChargeStatus.USER_PAYING
    clock.advance(100 * PASSWORD_DELAY_S)
    assert gateway.query("T1").status is ChargeStatus.USER_PAYING
    assert gateway.cancel("T1").status is ChargeStatus.CANCELLED
    assert gateway.query("T1").status is ChargeStatus.CANCELLED
    assert ledger(sim)["entries"] == []


# --- exactly once ---------------------------------------------------------------------------------


@pytest.mark.parametrize("channel", CHANNELS)
def test_repeated_pay_returns_the_recorded_result_and_charges_once(
    sim: GatewaySimulator, gateways: dict[str, Gateway], channel: str
) -> None:
    first = pay(gateways[channel], "T1", code_for(channel, "1234"))
    assert first.status is ChargeStatus.PAID
    for _ in range(3):
        assert pay(gateways[channel], "T1", code_for(channel, "1234")) == first
    data = ledger(sim)
    assert len(charges_of(data, "T1")) == 1
    assert (data["charged_fen"], data["net_fen"]) == (880, 880)


@pytest.mark.parametrize("channel", CHANNELS)
def test_concurrent_repeats_charge_once(sim: GatewaySimulator, keys: Keys, channel: str) -> None:
    clients = [make_gateway(channel, sim.url, keys) for _ in range(6)]
    barrier = threading.Barrier(len(clients))
    answers: list[ChargeResult] = []
    errors: list[Exception] = []

    def client(gateway: Gateway) -> None:
        try:
            barrier.wait(timeout=10)
            answers.append(pay(gateway, "T1", code_for(channel, "1234")))
        except Exception as exc:  # reported below, in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=client, args=(g,)) for g in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=20)
    for g in clients:
        g.close()
    assert errors == []
    assert len(answers) == len(clients)
    assert {a.status for a in answers} == {ChargeStatus.PAID}
    assert len({a.transaction_id for a in answers}) == 1
    assert len(charges_of(ledger(sim), "T1")) == 1


@pytest.mark.parametrize("channel", CHANNELS)
def test_a_code_already_paid_with_is_refused(
    sim: GatewaySimulator, gateways: dict[str, Gateway], channel: str
) -> None:
    assert pay(gateways[channel], "T1", code_for(channel, "1234")).status is ChargeStatus.PAID
    second = pay(gateways[channel], "T2", code_for(channel, "1234"))
    assert second.status is ChargeStatus.FAILED
    assert "AUTH_CODE_INVALID" in second.reason and "已使用" in second.reason  # used, not malformed
    assert charges_of(ledger(sim), "T2") == []


@pytest.mark.parametrize(
    ("channel", "err"), [("wechat", "OUT_TRADE_NO_USED"), ("alipay", "ACQ.CONTEXT_INCONSISTENT")]
)
def test_reusing_an_out_trade_no_for_another_amount_is_refused_and_charges_nothing_more(
    sim: GatewaySimulator, gateways: dict[str, Gateway], channel: str, err: str
) -> None:
    first = pay(gateways[channel], "T1", code_for(channel, "1234"))
    assert first.status is ChargeStatus.PAID
    other = pay(gateways[channel], "T1", code_for(channel, "1234"), amount_fen=1)
    assert other.status is ChargeStatus.FAILED and err in other.reason
    assert ledger(sim)["charged_fen"] == 880
    assert gateways[channel].query("T1") == first  # the first charge stands as it was


# --- bad requests, answered as each channel answers them ------------------------------------------


def assert_nothing_recorded(sim: GatewaySimulator) -> None:
    assert ledger(sim)["entries"] == []
    assert sim.bank.query("T1").reason == "ORDER_NOT_EXIST"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"appid": "wx0000000000000000"}, "appid和mch_id不匹配"),
        ({"mch_id": "1900000000"}, "appid和mch_id不匹配"),
        ({"appid": None}, "appid和mch_id不匹配"),
        ({"nonce_str": None}, "nonce_str"),
        ({"sign_type": "SHA1"}, "sign_type"),
        ({"out_trade_no": None}, "out_trade_no"),
        ({"out_trade_no": "bad/no"}, "out_trade_no"),
        ({"out_trade_no": "T" * 33}, "out_trade_no"),
        ({"total_fee": None}, "total_fee"),
        ({"total_fee": "0"}, "total_fee"),
        ({"total_fee": "10000001"}, "total_fee"),
        ({"total_fee": "8.80"}, "total_fee"),
        ({"total_fee": "-1"}, "total_fee"),
        ({"total_fee": "²"}, "total_fee"),  # a digit to str.isdigit, not to int()
        ({"total_fee": "８８０"}, "total_fee"),  # full-width digits are not WeChat Pay's integer
        ({"total_fee": "1" * 5000}, "total_fee"),  # longer than int() converts
        ({"body": None}, "body"),
    ],
)
def test_a_wechat_request_refused_as_such_gets_return_code_fail_and_records_nothing(
    quiet_sim: GatewaySimulator,
    keys: Keys,
    http: requests.Session,
    changes: dict[str, str | None],
    message: str,
) -> None:
    reply = post_wechat(http, quiet_sim, wx.to_xml(wechat_params(keys, **changes)))
    assert reply["return_code"] == "FAIL"
    assert message in reply["return_msg"]
    assert "sign" not in reply  # WeChat Pay signs only return_code=SUCCESS answers
    assert_nothing_recorded(quiet_sim)


@pytest.mark.parametrize("amount", ["", "-1", "8.80", "²", "８８０", "1" * 5000])
@pytest.mark.parametrize("field", ["total_fee", "refund_fee"])
def test_a_wechat_refund_with_a_bad_amount_is_refused_as_such(
    quiet_sim: GatewaySimulator, keys: Keys, http: requests.Session, field: str, amount: str
) -> None:
    refund = {
        "appid": WECHAT_APPID,
        "mch_id": WECHAT_MCH_ID,
        "nonce_str": "n0nce",
        "out_trade_no": "T1",
        "out_refund_no": "R1",
        "total_fee": "880",
        "refund_fee": "880",
        field: amount,
    }
    refund["sign"] = wx.sign(refund, keys.wechat_api_key, "MD5")
    reply = post_wechat(http, quiet_sim, wx.to_xml(refund), wx.PATH_REFUND)
    assert reply["return_code"] == "FAIL" and "refund_fee" in reply["return_msg"]
    assert_nothing_recorded(quiet_sim)


@pytest.mark.parametrize(
    "forge",
    [
        pytest.param(lambda p, key: {**p, "sign": wx.sign(p, "0" * 32)}, id="another key"),
        pytest.param(lambda p, key: {k: v for k, v in p.items() if k != "sign"}, id="no sign"),
        pytest.param(lambda p, key: {**p, "sign": ""}, id="empty sign"),
        pytest.param(lambda p, key: {**p, "total_fee": "1"}, id="changed after signing"),
        pytest.param(lambda p, key: {**p, "sign": wx.sign(p, key, "MD5")}, id="MD5 sign, HMAC sign_type"),
    ],
)
def test_a_wechat_request_with_a_bad_signature_is_refused(
    quiet_sim: GatewaySimulator, keys: Keys, http: requests.Session, forge: Any
) -> None:
    params = forge(wechat_params(keys), keys.wechat_api_key)
    reply = post_wechat(http, quiet_sim, wx.to_xml(params))
    assert (reply["return_code"], reply["return_msg"]) == ("FAIL", "签名错误")
    assert_nothing_recorded(quiet_sim)


@pytest.mark.parametrize(
    ("auth_code", "err_code"),
    [
        ("12345", "AUTH_CODE_INVALID"),
        (alipay_code("1234"), "AUTH_CODE_INVALID"),  # another channel's code
        (f" {wechat_code('1234')}", "AUTH_CODE_INVALID"),
        (None, "AUTH_CODE_INVALID"),
    ],
)
def test_a_wechat_pay_with_a_bad_code_is_a_signed_business_failure(
    quiet_sim: GatewaySimulator, keys: Keys, http: requests.Session, auth_code: str | None, err_code: str
) -> None:
    reply = post_wechat(http, quiet_sim, wx.to_xml(wechat_params(keys, auth_code=auth_code)))
    assert (reply["return_code"], reply["result_code"], reply["err_code"]) == ("SUCCESS", "FAIL", err_code)
    assert wx.verify(reply, keys.wechat_api_key, "HMAC-SHA256")
    assert_nothing_recorded(quiet_sim)


def test_a_wechat_request_without_sign_type_is_checked_and_answered_with_md5(
    sim: GatewaySimulator, keys: Keys, http: requests.Session
) -> None:
    """The v2 rules: no ``sign_type`` means MD5, both for the request and for the signed answer."""
    reply = post_wechat(http, sim, wx.to_xml(wechat_params(keys, sign_type=None)))
    assert (reply["return_code"], reply["result_code"]) == ("SUCCESS", "SUCCESS")
    assert wx.verify(reply, keys.wechat_api_key, "MD5")
    assert not wx.verify(reply, keys.wechat_api_key, "HMAC-SHA256")
    assert len(charges_of(ledger(sim), "T1")) == 1


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"out_trade_no=T1&total_fee=880", id="a form"),
        pytest.param(b'{"out_trade_no": "T1", "total_fee": 880}', id="JSON"),
        pytest.param(b"", id="empty"),
        pytest.param(b"<xml><out_trade_no>T1</out_trade_no>", id="cut short"),
        pytest.param(b"<pay><out_trade_no>T1</out_trade_no></pay>", id="another root"),
        pytest.param(b"<xml><detail><goods>1</goods></detail></xml>", id="nested"),
        pytest.param(b"<xml><body>\xff\xfe</body></xml>", id="not UTF-8"),
        pytest.param(
            b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>'
            b"<xml><body>&b;</body></xml>",
            id="entities",
        ),
    ],
)
@pytest.mark.parametrize("path", [wx.PATH_MICROPAY, wx.PATH_QUERY, wx.PATH_REVERSE, wx.PATH_REFUND])
def test_a_body_that_is_not_wechat_pay_xml_is_refused_as_wechat_pay_refuses_it(
    quiet_sim: GatewaySimulator, http: requests.Session, body: bytes, path: str
) -> None:
    reply = post_wechat(http, quiet_sim, body, path)
    assert reply["return_code"] == "FAIL"
    assert "XML" in reply["return_msg"]
    assert_nothing_recorded(quiet_sim)


@pytest.mark.parametrize(
    ("changes", "code", "sub_code"),
    [
        ({"app_id": "2021000000009999"}, "40002", "isv.invalid-app-id"),
        ({"app_id": None}, "40002", "isv.invalid-app-id"),
        ({"sign_type": "RSA"}, "40002", "isv.invalid-signature-type"),
        ({"sign_type": None}, "40002", "isv.invalid-signature-type"),
        ({"timestamp": None}, "40001", "isv.missing-timestamp"),
        ({"version": None}, "40001", "isv.missing-version"),
        ({"charset": None}, "40001", "isv.missing-charset"),
        ({"biz_content": "out_trade_no=T1"}, "40002", "isv.invalid-biz-content"),
        ({"biz_content": "[1, 2, 3]"}, "40002", "isv.invalid-biz-content"),
        ({"biz_content": None}, "40002", "isv.invalid-biz-content"),
    ],
)
def test_an_alipay_request_refused_as_such_gets_an_unsigned_40002_or_40001(
    quiet_sim: GatewaySimulator,
    keys: Keys,
    http: requests.Session,
    changes: dict[str, str | None],
    code: str,
    sub_code: str,
) -> None:
    answer = post_alipay(http, quiet_sim, form(alipay_params(keys, **changes))).json()
    assert "sign" not in answer  # Alipay refuses a request unsigned
    assert answer["alipay_trade_pay_response"]["code"] == code
    assert answer["alipay_trade_pay_response"]["sub_code"] == sub_code
    assert_nothing_recorded(quiet_sim)


@pytest.mark.parametrize(
    "forge",
    [
        pytest.param(lambda p, other: {**p, "sign": ali.sign_params(p, other)}, id="another key"),
        pytest.param(lambda p, other: {k: v for k, v in p.items() if k != "sign"}, id="no sign"),
        pytest.param(lambda p, other: {**p, "sign": "not base64!"}, id="garbage sign"),
        pytest.param(
            lambda p, other: {**p, "biz_content": p["biz_content"].replace("8.80", "0.01")},
            id="changed after signing",
        ),
    ],
)
def test_an_alipay_request_with_a_bad_signature_is_refused(
    quiet_sim: GatewaySimulator,
    keys: Keys,
    http: requests.Session,
    other_key: rsa.RSAPrivateKey,
    forge: Any,
) -> None:
    answer = post_alipay(http, quiet_sim, form(forge(alipay_params(keys), other_key))).json()
    assert "sign" not in answer
    refusal = answer["alipay_trade_pay_response"]
    assert (refusal["code"], refusal["sub_code"]) == ("40002", "isv.invalid-signature")
    assert_nothing_recorded(quiet_sim)


GOOD_BIZ: dict[str, Any] = {
    "out_trade_no": "T1",
    "scene": "bar_code",
    "auth_code": alipay_code("1234"),
    "subject": "测试 test",
    "total_amount": "8.80",
}


@pytest.mark.parametrize(
    ("biz", "code", "sub_code"),
    [
        ({**GOOD_BIZ, "out_trade_no": "bad/no"}, "40002", "isv.invalid-parameter"),
        ({**GOOD_BIZ, "out_trade_no": 12}, "40002", "isv.invalid-parameter"),
        ({k: v for k, v in GOOD_BIZ.items() if k != "out_trade_no"}, "40002", "isv.invalid-parameter"),
        ({**GOOD_BIZ, "scene": "wave_code"}, "40002", "isv.invalid-parameter"),
        ({**GOOD_BIZ, "total_amount": "0.00"}, "40002", "isv.invalid-parameter"),
        ({**GOOD_BIZ, "total_amount": "100000.01"}, "40002", "isv.invalid-parameter"),
        ({**GOOD_BIZ, "total_amount": "8.888"}, "40002", "isv.invalid-parameter"),
        ({**GOOD_BIZ, "total_amount": "²"}, "40002", "isv.invalid-parameter"),
        ({**GOOD_BIZ, "total_amount": "1" * 5000}, "40002", "isv.invalid-parameter"),
        ({k: v for k, v in GOOD_BIZ.items() if k != "total_amount"}, "40002", "isv.invalid-parameter"),
        ({k: v for k, v in GOOD_BIZ.items() if k != "subject"}, "40001", "isv.missing-subject"),
        ({**GOOD_BIZ, "auth_code": wechat_code("1234")}, "40004", "ACQ.PAYMENT_AUTH_CODE_INVALID"),
        ({**GOOD_BIZ, "auth_code": "12345"}, "40004", "ACQ.PAYMENT_AUTH_CODE_INVALID"),
        ({**GOOD_BIZ, "auth_code": None}, "40004", "ACQ.PAYMENT_AUTH_CODE_INVALID"),
    ],
)
def test_an_alipay_pay_with_bad_business_fields_gets_a_signed_refusal(
    quiet_sim: GatewaySimulator,
    keys: Keys,
    http: requests.Session,
    biz: dict[str, Any],
    code: str,
    sub_code: str,
) -> None:
    response = post_alipay(http, quiet_sim, form(alipay_params(keys, biz=biz)))
    text, refusal, sig = ali.signed_part(response.text, "alipay_trade_pay_response")
    assert ali.verify_rsa2(text, sig, keys.alipay.alipay_public_key)
    assert (refusal["code"], refusal["sub_code"]) == (code, sub_code)
    assert refusal["sub_msg"]
    assert_nothing_recorded(quiet_sim)


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"\xff\xfe\x00", id="not UTF-8"),
        pytest.param(b'{"method": "alipay.trade.pay"}', id="JSON"),
        pytest.param(b"<xml><method>alipay.trade.pay</method></xml>", id="XML"),
        pytest.param(b"", id="empty"),
        pytest.param(b"method=alipay.trade.create&app_id=2021000000000001", id="a method it does not offer"),
    ],
)
def test_a_body_that_is_not_an_alipay_form_is_refused_as_alipay_refuses_it(
    quiet_sim: GatewaySimulator, http: requests.Session, body: bytes
) -> None:
    answer = post_alipay(http, quiet_sim, body).json()
    assert "sign" not in answer
    assert (answer["error_response"]["code"], answer["error_response"]["sub_code"]) == (
        "40002",
        "isv.invalid-method",
    )
    assert_nothing_recorded(quiet_sim)


@pytest.mark.parametrize("path", [wx.PATH_MICROPAY, ali.PATH_GATEWAY])
def test_an_oversized_body_is_413_and_records_nothing(
    quiet_sim: GatewaySimulator, http: requests.Session, path: str
) -> None:
    response = http.post(
        f"{quiet_sim.url}{path}", data=b"<xml>" + b" " * MAX_BODY_BYTES + b"</xml>", timeout=TIMEOUT
    )
    assert response.status_code == 413
    assert str(MAX_BODY_BYTES) in response.json()["error"]
    assert_nothing_recorded(quiet_sim)


def raw_exchange(sim: GatewaySimulator, request: bytes) -> bytes:
    """Send ``request`` as is, close our side, and read the whole answer (bounded)."""
    port = int(sim.url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as conn:
        conn.sendall(request)
        conn.shutdown(socket.SHUT_WR)
        answer = b""
        for _ in range(100):
            chunk = conn.recv(4096)
            if not chunk:
                break
            answer += chunk
    return answer


def test_a_body_shorter_than_its_content_length_is_400(quiet_sim: GatewaySimulator) -> None:
    answer = raw_exchange(
        quiet_sim,
        b"POST /pay/micropay HTTP/1.0\r\nContent-Type: text/xml\r\nContent-Length: 100\r\n\r\n<xml><out_trade_no>",
    )
    assert answer.startswith(b"HTTP/1.0 400")
    assert b"shorter than its Content-Length" in answer
    assert_nothing_recorded(quiet_sim)


@pytest.mark.parametrize(
    ("length", "status"),
    [
        (b"ten", b"400"),
        (b"-5", b"400"),
        (b"\xb2", b"400"),  # "²": a digit to str.isdigit, not to int()
        (b"1" * 5000, b"413"),  # longer than int() converts
    ],
)
def test_a_content_length_that_is_not_a_small_number_is_refused_never_a_500(
    quiet_sim: GatewaySimulator, length: bytes, status: bytes
) -> None:
    answer = raw_exchange(
        quiet_sim, b"POST /pay/micropay HTTP/1.0\r\nContent-Length: " + length + b"\r\n\r\n<xml/>"
    )
    assert answer.startswith(b"HTTP/1.0 " + status), answer[:200]
    assert_nothing_recorded(quiet_sim)


# --- query and reverse/cancel ---------------------------------------------------------------------


@pytest.mark.parametrize("channel", CHANNELS)
def test_query_of_an_order_never_seen(
    sim: GatewaySimulator, gateways: dict[str, Gateway], channel: str
) -> None:
    result = gateways[channel].query("NEVER")
    assert (result.status, result.out_trade_no, result.transaction_id, result.reason) == (
        ChargeStatus.UNKNOWN,
        "NEVER",
        "",
        "ORDER_NOT_EXIST",
    )
    assert ledger(sim)["entries"] == []


def test_the_raw_answers_to_a_query_of_an_order_never_seen(
    quiet_sim: GatewaySimulator, keys: Keys, http: requests.Session
) -> None:
    query = {"appid": WECHAT_APPID, "mch_id": WECHAT_MCH_ID, "nonce_str": "n0nce", "out_trade_no": "NEVER"}
    query["sign"] = wx.sign(query, keys.wechat_api_key, "MD5")  # no sign_type: MD5
    reply = post_wechat(http, quiet_sim, wx.to_xml(query), wx.PATH_QUERY)
    assert (reply["return_code"], reply["result_code"], reply["err_code"]) == (
        "SUCCESS",
        "FAIL",
        "ORDERNOTEXIST",
    )
    assert wx.verify(reply, keys.wechat_api_key, "MD5")
    response = post_alipay(
        http, quiet_sim, form(alipay_params(keys, "alipay.trade.query", {"out_trade_no": "NEVER"}))
    )
    text, answer, sig = ali.signed_part(response.text, "alipay_trade_query_response")
    assert (answer["code"], answer["sub_code"]) == ("40004", "ACQ.TRADE_NOT_EXIST")
    assert ali.verify_rsa2(text, sig, keys.alipay.alipay_public_key)
    assert_nothing_recorded(quiet_sim)


def test_reversing_and_cancelling_paid_charges_shows_in_the_ledger(
    sim: GatewaySimulator, gateways: dict[str, Gateway]
) -> None:
    wechat, alipay = gateways["wechat"], gateways["alipay"]
    paid = pay(wechat, "T1", wechat_code("1234"), amount_fen=1500)
    assert pay(alipay, "T2", alipay_code("7777"), amount_fen=300).status is ChargeStatus.PAID
    paid3 = pay(alipay, "T3", alipay_code("5555"), amount_fen=700)
    reversed_ = wechat.cancel("T1")
    assert (reversed_.status, reversed_.reason, reversed_.retry) == (ChargeStatus.CANCELLED, "REVOKED", False)
    assert wechat.cancel("T1").status is ChargeStatus.CANCELLED  # a repeat reverses nothing more
    cancelled = alipay.cancel("T3")
    assert (cancelled.status, cancelled.reason, cancelled.retry) == (ChargeStatus.CANCELLED, "refund", False)
    assert wechat.query("T1").status is ChargeStatus.CANCELLED
    assert alipay.query("T3").status is ChargeStatus.CANCELLED
    data = ledger(sim)
    assert [
        (e["seq"], e["kind"], e["out_trade_no"], e["channel"], e["amount_fen"]) for e in data["entries"]
    ] == [
        (1, "charge", "T1", "wechat", 1500),
        (2, "charge", "T2", "alipay", 300),
        (3, "charge", "T3", "alipay", 700),
        (4, "reversal", "T1", "wechat", 1500),
        (5, "reversal", "T3", "alipay", 700),
    ]
    assert data["entries"][3]["transaction_id"] == paid.transaction_id
    assert data["entries"][4]["transaction_id"] == paid3.transaction_id
    assert (data["charged_fen"], data["reversed_fen"], data["net_fen"]) == (2500, 2200, 300)
    text = json.dumps(data)
    assert wechat_code("1234") not in text and alipay_code("5555") not in text
    assert "1334**********1234" in text


@pytest.mark.parametrize("channel", CHANNELS)
def test_cancel_while_the_customer_enters_the_password_means_no_charge_ever(
    sim: GatewaySimulator, gateways: dict[str, Gateway], clock: FakeClock, channel: str
) -> None:
    gateway = gateways[channel]
    assert pay(gateway, "T1", code_for(channel, "9001")).status is ChargeStatus.USER_PAYING
    assert gateway.cancel("T1").status is ChargeStatus.CANCELLED
    clock.advance(10 * PASSWORD_DELAY_S)  # the password would have been entered by now
    assert gateway.query("T1").status is ChargeStatus.CANCELLED
    again = pay(gateway, "T1", code_for(channel, "9001"))  # the pay repeated, too late
    assert again.status is ChargeStatus.FAILED
    assert ledger(sim)["entries"] == []


@pytest.mark.parametrize("channel", CHANNELS)
def test_a_pay_arriving_after_its_cancel_is_never_charged(
    sim: GatewaySimulator, gateways: dict[str, Gateway], channel: str
) -> None:
    """GIVEN the kiosk gave up and cancelled an out_trade_no the gateway had not yet seen WHEN the pay,
    delayed in the network, arrives THEN it is refused and nothing is charged."""
    gateway = gateways[channel]
    assert gateway.cancel("LATE1").status is ChargeStatus.CANCELLED
    late = pay(gateway, "LATE1", code_for(channel, "1234"))
    assert late.status is ChargeStatus.FAILED
    assert ledger(sim)["entries"] == []


# --- methods and paths ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("POST", "/v1/pay", 404),  # the simulator's old JSON protocol is gone
        ("POST", "/v1/query", 404),
        ("POST", "/v1/cancel", 404),
        ("GET", "/nope", 404),
        ("POST", "/pay/nope", 404),
        ("POST", "/v1/ledger", 405),
        ("DELETE", "/v1/ledger", 405),
        ("GET", "/v1/admin/next", 405),
    ],
)
def test_wrong_method_or_path(
    quiet_sim: GatewaySimulator, http: requests.Session, method: str, path: str, status: int
) -> None:
    response = http.request(method, f"{quiet_sim.url}{path}", data=b"<xml/>", timeout=TIMEOUT)
    assert response.status_code == status
    assert path in response.json()["error"]


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
def test_a_wechat_path_takes_post_only_and_says_so_as_wechat_pay_does(
    quiet_sim: GatewaySimulator, keys: Keys, http: requests.Session, method: str
) -> None:
    response = http.request(
        method, f"{quiet_sim.url}{wx.PATH_MICROPAY}", data=wx.to_xml(wechat_params(keys)), timeout=TIMEOUT
    )
    assert response.status_code == 200
    reply = wx.from_xml(response.content)
    assert reply["return_code"] == "FAIL" and "POST" in reply["return_msg"]
    assert_nothing_recorded(quiet_sim)


# --- secrets --------------------------------------------------------------------------------------


def test_logs_never_hold_the_full_code(
    sim: GatewaySimulator, gateways: dict[str, Gateway], caplog: pytest.LogCaptureFixture
) -> None:
    wechat, alipay = wechat_code("4321"), alipay_code("4321")
    with caplog.at_level(logging.DEBUG):
        assert pay(gateways["wechat"], "T1", wechat).status is ChargeStatus.PAID
        assert pay(gateways["alipay"], "T2", alipay).status is ChargeStatus.PAID
        assert pay(gateways["alipay"], "T3", wechat).status is ChargeStatus.FAILED  # wrong channel
        assert pay(gateways["wechat"], "T4", alipay).status is ChargeStatus.FAILED
        assert pay(gateways["wechat"], "T5", wechat).status is ChargeStatus.FAILED  # used up
    simulator_lines = [r.getMessage() for r in caplog.records if r.name.startswith("paysim")]
    assert any("1334**********4321" in line for line in simulator_lines)
    assert any("2888************4321" in line for line in simulator_lines)
    assert wechat not in caplog.text and alipay not in caplog.text


# --- binding and lifecycle ------------------------------------------------------------------------


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.10", "kiosk.local", "", "::"])  # noqa: S104 (refused)
def test_refuses_to_bind_beyond_loopback(keys: Keys, host: str) -> None:
    assert not is_loopback_host(host)
    with pytest.raises(ValueError, match="loopback"):
        simulator(keys, host=host)


def test_allow_remote_lifts_the_refusal_without_binding(keys: Keys) -> None:
    # Constructed only, never started: tests never listen beyond loopback.
    sim = simulator(keys, host="0.0.0.0", allow_remote=True)  # noqa: S104
    assert sim.host == "0.0.0.0"  # noqa: S104
    with pytest.raises(RuntimeError):
        _ = sim.url


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "localhost", "::1"])
def test_loopback_hosts_are_accepted(keys: Keys, host: str) -> None:
    assert is_loopback_host(host)
    simulator(keys, host=host)  # constructed without complaint


def test_ipv6_loopback_url_has_brackets_and_the_adapters_use_it(keys: Keys) -> None:
    try:
        sim = simulator(keys, host="::1").start()
    except OSError:
        pytest.skip("no IPv6 loopback on this machine")
    try:
        assert sim.url.startswith("http://[::1]:")
        assert requests.get(f"{sim.url}/healthz", timeout=TIMEOUT).json() == {"ok": True}
        for channel in CHANNELS:
            gateway = make_gateway(channel, sim.url, keys)
            try:
                assert pay(gateway, f"V6{channel}", code_for(channel, "1234")).status is ChargeStatus.PAID
            finally:
                gateway.close()
    finally:
        sim.stop()


@pytest.mark.parametrize(
    "kwargs",
    [
        {"port": -1},
        {"port": 70000},
        {"port": True},
        {"latency_s": -0.5},
        {"latency_s": 61.0},
        {"password_delay_s": -1.0},
        {"password_delay_s": 601.0},
        {"slow_s": -1.0},
        {"slow_s": 61.0},
    ],
)
def test_bad_options_are_refused(keys: Keys, kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        simulator(keys, **kwargs)


def test_a_simulator_without_credentials_is_refused_with_advice() -> None:
    with pytest.raises(ValueError, match="--make-credentials"):
        GatewaySimulator()


def test_lifecycle(keys: Keys) -> None:
    sim = simulator(keys)
    with pytest.raises(RuntimeError, match="start"):
        _ = sim.url
    sim.stop()  # stopping what never started is harmless
    sim.start()
    try:
        with pytest.raises(RuntimeError, match="already running"):
            sim.start()
        port = int(sim.url.rsplit(":", 1)[1])
        assert requests.get(f"{sim.url}/healthz", timeout=TIMEOUT).status_code == 200
    finally:
        sim.stop()
    sim.stop()
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
        pass


def test_stop_is_not_held_up_by_a_request_waiting_in_latency(
    keys: Keys, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GIVEN a request waiting in a long simulated latency WHEN stop() THEN the wait ends and the server stops."""
    sim = simulator(keys, latency_s=60.0)
    waiting = threading.Event()
    real_wait = sim.wait_latency

    def wait_latency() -> None:
        waiting.set()  # the request is in the latency now
        real_wait()

    monkeypatch.setattr(sim, "wait_latency", wait_latency)
    sim.start()
    gateway = make_gateway("wechat", sim.url, keys)
    gateway.timeout_s = 30.0
    ended = threading.Event()

    def slow_client() -> None:
        # Whether it gets an answer or a closed connection does not matter; that it ends does.
        with contextlib.suppress(GatewayError):
            gateway.query("T1")
        ended.set()

    client = threading.Thread(target=slow_client, daemon=True)
    client.start()
    try:
        assert waiting.wait(timeout=10), "the request never reached the latency wait"
    finally:
        sim.stop(timeout_s=5.0)
    # Without stop() waking it, the request would sit out its 60 s and the client its 30 s timeout.
    assert ended.wait(timeout=10)
    client.join(timeout=5)
    gateway.close()
