"""The real WeChat Pay and Alipay adapters against the simulator's real protocol side, on loopback.

Every scripted outcome, for both channels, through the payment state machine with short timers
(the channels' real timers are tested on a fake clock in tests/unit/test_payments_state_machine.py).
The simulator's ledger is the judge: each paid charge is in it exactly once, each other outcome
leaves nothing charged.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from kiosk.core.payment import ChannelRules
from kiosk.payments import engine
from kiosk.payments.alipay import AlipayBarcodeGateway, AlipayCredentials, AlipaySignatureError
from kiosk.payments.routing import ChannelRouter
from kiosk.payments.wechat import (
    WechatCredentials,
    WechatMicropayGateway,
    WechatSignatureError,
    sign,
    to_xml,
)
from kiosk.ports import ChargeRequest, ChargeResult, ChargeStatus, GatewayError, PaymentGateway, RefundRequest
from paysim.bank import SimulatedBank
from paysim.credentials import (
    ALIPAY_APP_ID,
    WECHAT_APPID,
    WECHAT_MCH_ID,
    SimCredentials,
    make_credentials,
)
from paysim.protocol import SimReply, SimRequest
from paysim.server import GatewaySimulator

PASSWORD_DELAY_S = 0.2
SLOW_S = 0.3
FAST = {
    "query_interval_s": 0.05,
    "give_up_after_s": 0.8,
    "cancel_retry_interval_s": 0.05,
    "cancel_window_s": 1.0,
}
_seq = itertools.count(1)


@pytest.fixture(scope="module")
def creds(tmp_path_factory: pytest.TempPathFactory) -> SimCredentials:
    return make_credentials(tmp_path_factory.mktemp("simkeys"))


@pytest.fixture
def sim(creds: SimCredentials) -> Iterator[GatewaySimulator]:
    with GatewaySimulator(
        password_delay_s=PASSWORD_DELAY_S, wechat=creds.wechat_sim(), alipay=creds.alipay_sim(), slow_s=SLOW_S
    ) as running:
        yield running


def wechat_gateway(
    url: str,
    creds: SimCredentials,
    api_key: str | None = None,
    sign_type: str = "HMAC-SHA256",
    timeout_s: float = 2.0,
) -> WechatMicropayGateway:
    return WechatMicropayGateway(
        url,
        WechatCredentials(WECHAT_APPID, WECHAT_MCH_ID, api_key or creds.wechat_api_key, sign_type),
        timeout_s,
    )


def alipay_gateway(
    url: str, creds: SimCredentials, private_key: Path | None = None, timeout_s: float = 2.0
) -> AlipayBarcodeGateway:
    return AlipayBarcodeGateway(
        url,
        AlipayCredentials.from_files(
            ALIPAY_APP_ID, private_key or creds.app_private_key_file, creds.alipay_public_key_file
        ),
        timeout_s,
    )


def gateway_for(channel: str, sim: GatewaySimulator, creds: SimCredentials, **kw: object) -> PaymentGateway:
    if channel == "wechat":
        return wechat_gateway(sim.url, creds, **kw)  # type: ignore[arg-type]
    return alipay_gateway(sim.url, creds, **kw)  # type: ignore[arg-type]


def code(channel: str, last4: str) -> str:
    n = next(_seq)
    return f"13{n:012d}{last4}" if channel == "wechat" else f"28{n:010d}{last4}"


def charge(gateway: PaymentGateway, channel: str, auth_code: str, amount_fen: int = 1990) -> ChargeResult:
    request = ChargeRequest(f"K{next(_seq):08d}", channel, auth_code, amount_fen, "便当 lunch box")
    rules = ChannelRules(channel, **FAST)  # type: ignore[arg-type]
    return engine.charge(gateway, request, rules, time.monotonic, time.sleep)


def ledger(sim: GatewaySimulator) -> dict[str, object]:
    data: dict[str, object] = requests.get(f"{sim.url}/v1/ledger", timeout=5).json()
    return data


def net_by_trade(sim: GatewaySimulator) -> dict[str, int]:
    net: dict[str, int] = {}
    for e in ledger(sim)["entries"]:  # type: ignore[attr-defined]
        sign_ = 1 if e["kind"] == "charge" else -1
        net[e["out_trade_no"]] = net.get(e["out_trade_no"], 0) + sign_ * e["amount_fen"]
    return {k: v for k, v in net.items() if v}


@pytest.mark.parametrize("channel", ["wechat", "alipay"])
@pytest.mark.parametrize(
    ("last4", "status", "charged"),
    [
        ("1234", ChargeStatus.PAID, True),  # success
        ("9001", ChargeStatus.PAID, True),  # password, then success
        ("9004", ChargeStatus.CANCELLED, False),  # password, then the customer walks away
        ("9002", ChargeStatus.FAILED, False),  # insufficient funds
        ("9003", ChargeStatus.FAILED, False),  # expired code
        ("9005", ChargeStatus.PAID, True),  # system error on the pay; the query finds it paid
        ("9006", ChargeStatus.PAID, True),  # network drop after charging; the query finds it paid
        ("9007", ChargeStatus.PAID, True),  # slow answer, within the timeout
    ],
)
def test_every_scripted_outcome_ends_right_and_charges_at_most_once(
    sim: GatewaySimulator,
    creds: SimCredentials,
    channel: str,
    last4: str,
    status: ChargeStatus,
    charged: bool,
) -> None:
    gw = gateway_for(channel, sim, creds)
    result = charge(gw, channel, code(channel, last4))
    assert result.status is status, result.reason
    assert net_by_trade(sim) == ({result.out_trade_no: 1990} if charged else {})
    if charged:
        assert result.transaction_id.startswith("SIM")


@pytest.mark.parametrize("channel", ["wechat", "alipay"])
def test_an_answer_slower_than_the_timeout_is_unknown_then_found_paid_by_query(
    sim: GatewaySimulator, creds: SimCredentials, channel: str
) -> None:
    gw = gateway_for(channel, sim, creds, timeout_s=SLOW_S / 3)
    result = charge(gw, channel, code(channel, "9007"))
    assert result.status is ChargeStatus.PAID
    assert net_by_trade(sim) == {result.out_trade_no: 1990}


def test_wechat_md5_signing_works_end_to_end(sim: GatewaySimulator, creds: SimCredentials) -> None:
    gw = wechat_gateway(sim.url, creds, sign_type="MD5")
    assert charge(gw, "wechat", code("wechat", "1234")).status is ChargeStatus.PAID


def test_wechat_request_with_a_wrong_key_is_refused_as_the_real_gateway_does(
    sim: GatewaySimulator, creds: SimCredentials
) -> None:
    gw = wechat_gateway(sim.url, creds, api_key="0" * 32)
    result = gw.pay(ChargeRequest("KBADSIGN1", "wechat", code("wechat", "1234"), 100, "x"))
    assert result.status is ChargeStatus.FAILED and "签名错误" in result.reason
    with pytest.raises(GatewayError, match="签名错误"):
        gw.query("KBADSIGN1")
    assert ledger(sim)["entries"] == []


def test_alipay_request_signed_with_another_key_is_refused(
    sim: GatewaySimulator, creds: SimCredentials, tmp_path: Path
) -> None:
    other = make_credentials(tmp_path / "other")
    gw = alipay_gateway(sim.url, creds, private_key=other.app_private_key_file)
    result = gw.pay(ChargeRequest("KBADSIGN2", "alipay", code("alipay", "1234"), 100, "x"))
    assert result.status is ChargeStatus.FAILED and "isv.invalid-signature" in result.reason
    assert ledger(sim)["entries"] == []


def test_alipay_reply_signed_by_someone_else_is_not_believed(creds: SimCredentials, tmp_path: Path) -> None:
    """GIVEN a gateway that signs its answers with a key that is not Alipay's WHEN it says paid
    THEN the kiosk does not believe it (the outcome is unknown, never paid)."""
    impostor = make_credentials(tmp_path / "impostor")
    forged = type(creds.alipay_sim())(
        ALIPAY_APP_ID, creds.alipay_sim().app_public_key, impostor.alipay_sim().alipay_private_key
    )
    with GatewaySimulator(alipay=forged) as fake_alipay:
        gw = alipay_gateway(fake_alipay.url, creds)
        with pytest.raises(AlipaySignatureError):
            gw.pay(ChargeRequest("KFORGED1", "alipay", code("alipay", "1234"), 100, "x"))


class _ForgingWechat:
    """A server at the network edge that answers "paid" with a signature made with the wrong key."""

    name = "forging"

    def handle(self, request: SimRequest, bank: SimulatedBank) -> SimReply | None:
        reply = {
            "return_code": "SUCCESS",
            "result_code": "SUCCESS",
            "appid": WECHAT_APPID,
            "mch_id": WECHAT_MCH_ID,
            "nonce_str": "n",
            "transaction_id": "FORGED",
        }
        reply["sign"] = sign(reply, "f" * 32, "HMAC-SHA256")
        return SimReply(200, to_xml(reply), "text/xml")


def test_wechat_reply_with_a_bad_signature_is_not_believed(creds: SimCredentials) -> None:
    with GatewaySimulator(protocols=[_ForgingWechat()]) as forger:
        gw = wechat_gateway(forger.url, creds)
        with pytest.raises(WechatSignatureError):
            gw.pay(ChargeRequest("KFORGED2", "wechat", code("wechat", "1234"), 100, "x"))
        result = charge(gw, "wechat", code("wechat", "1234"))
        assert result.status is not ChargeStatus.PAID


def test_the_admin_call_scripts_the_next_outcome_whatever_the_digits(
    sim: GatewaySimulator, creds: SimCredentials
) -> None:
    answer = requests.post(f"{sim.url}/v1/admin/next", json={"outcome": "insufficient_funds"}, timeout=5)
    assert answer.status_code == 200
    result = charge(gateway_for("alipay", sim, creds), "alipay", code("alipay", "1234"))
    assert result.status is ChargeStatus.FAILED and "BALANCE_NOT_ENOUGH" in result.reason
    bad = requests.post(f"{sim.url}/v1/admin/next", json={"outcome": "free"}, timeout=5)
    assert bad.status_code == 400 and "insufficient_funds" in bad.json()["error"]


@pytest.mark.parametrize("channel", ["wechat", "alipay"])
def test_refund_gives_the_money_back_once_per_refund_number(
    sim: GatewaySimulator, creds: SimCredentials, channel: str
) -> None:
    gw = gateway_for(channel, sim, creds)
    paid = charge(gw, channel, code(channel, "1234"))
    request = RefundRequest(
        paid.out_trade_no, "R" + paid.out_trade_no[1:], 1990, 1990, "customer changed mind"
    )
    first = gw.refund(request)
    again = gw.refund(request)  # a repeat after a lost answer is the same refund
    assert first.status is ChargeStatus.REFUNDED and again.status is ChargeStatus.REFUNDED
    too_much = gw.refund(RefundRequest(paid.out_trade_no, "RX" + paid.out_trade_no[2:], 1990, 1990, "again"))
    assert too_much.status is ChargeStatus.FAILED
    data = ledger(sim)
    assert data["refunded_fen"] == 1990 and data["net_fen"] == 0


def test_the_same_out_trade_no_is_never_charged_twice(sim: GatewaySimulator, creds: SimCredentials) -> None:
    gw = gateway_for("wechat", sim, creds)
    request = ChargeRequest("KSAME0001", "wechat", code("wechat", "1234"), 500, "x")
    first, second = gw.pay(request), gw.pay(request)
    assert first.status is second.status is ChargeStatus.PAID
    assert first.transaction_id == second.transaction_id
    assert ledger(sim)["charged_fen"] == 500


def test_a_code_is_never_charged_twice_even_under_a_new_out_trade_no(
    sim: GatewaySimulator, creds: SimCredentials
) -> None:
    gw = gateway_for("alipay", sim, creds)
    auth = code("alipay", "1234")
    assert charge(gw, "alipay", auth).status is ChargeStatus.PAID
    again = charge(gw, "alipay", auth)
    assert again.status is ChargeStatus.FAILED and "AUTH_CODE_INVALID" in again.reason
    assert ledger(sim)["charged_fen"] == 1990


def test_the_router_sends_each_code_to_its_channel_and_follows_the_store_for_queries(
    sim: GatewaySimulator, creds: SimCredentials
) -> None:
    channels: dict[str, str] = {}
    router = ChannelRouter(
        {"wechat": gateway_for("wechat", sim, creds), "alipay": gateway_for("alipay", sim, creds)},
        channels.get,
    )
    for channel in ("wechat", "alipay"):
        otn = f"KROUTE{channel}"
        channels[otn] = channel
        assert (
            router.pay(ChargeRequest(otn, channel, code(channel, "1234"), 100, "x")).status
            is ChargeStatus.PAID
        )
        assert router.query(otn).status is ChargeStatus.PAID
    entries = ledger(sim)["entries"]
    assert sorted((e["out_trade_no"], e["channel"]) for e in entries) == [  # type: ignore[attr-defined]
        ("KROUTEalipay", "alipay"),
        ("KROUTEwechat", "wechat"),
    ]
    with pytest.raises(GatewayError, match="not in the store"):
        router.query("KUNKNOWN")
    with pytest.raises(GatewayError, match="no member gateway"):
        router.pay(ChargeRequest("KM", "member", "x", 1, "x"))


class _BusyWechat:
    """A gateway that answers every request with WeChat Pay's unsigned "system busy" failure."""

    name = "busy"

    def handle(self, request: SimRequest, bank: SimulatedBank) -> SimReply | None:
        return SimReply(200, to_xml({"return_code": "FAIL", "return_msg": "系统繁忙,请稍后再试"}), "text/xml")


def test_a_busy_wechat_gateway_leaves_the_outcome_open_never_declined(creds: SimCredentials) -> None:
    with GatewaySimulator(protocols=[_BusyWechat()]) as busy:
        gw = wechat_gateway(busy.url, creds)
        result = gw.pay(ChargeRequest("KBUSY1", "wechat", code("wechat", "1234"), 100, "x"))
        assert result.status is ChargeStatus.UNKNOWN and "系统繁忙" in result.reason
