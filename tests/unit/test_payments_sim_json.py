"""The JSON protocol's parsing and validation, called directly (the HTTP server is tested in integration)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from paysim.bank import SimulatedBank
from paysim.json_protocol import JsonProtocol
from paysim.protocol import SimReply, SimRequest

WECHAT = "134567890123451234"
ALIPAY = "2834567890121234"
JSON_HEADERS = {"content-type": "application/json"}


def good_pay(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "out_trade_no": "K20261124120000ABCDEF012345",
        "channel": "wechat",
        "auth_code": WECHAT,
        "amount_fen": 1250,
        "subject": "自助收银 Self-checkout",
    }
    body.update(changes)
    return body


def post(
    path: str, body: object, headers: dict[str, str] | None = None
) -> tuple[SimReply, dict[str, Any], SimulatedBank]:
    bank = SimulatedBank(password_delay_s=0.5)
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    reply = JsonProtocol().handle(SimRequest("POST", path, headers or JSON_HEADERS, raw), bank)
    assert reply is not None
    return reply, json.loads(reply.body), bank


def test_good_pay_is_paid() -> None:
    reply, data, bank = post("/v1/pay", good_pay())
    assert reply.status == 200
    assert data["status"] == "paid" and data["out_trade_no"] == "K20261124120000ABCDEF012345"
    assert data["transaction_id"].startswith("SIM") and data["reason"] == ""
    assert len(bank.ledger()) == 1


def test_chinese_subject_and_alipay_code_are_accepted() -> None:
    reply, data, _ = post("/v1/pay", good_pay(channel="alipay", auth_code=ALIPAY, subject="矿泉水"))
    assert (reply.status, data["status"]) == (200, "paid")


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"out_trade_no": ""}, "out_trade_no"),
        ({"out_trade_no": "x" * 33}, "out_trade_no"),
        ({"out_trade_no": "has space"}, "out_trade_no"),
        ({"out_trade_no": 12345}, "out_trade_no"),
        ({"channel": "unionpay"}, "channel"),
        ({"channel": None}, "channel"),
        ({"auth_code": 134567890123451234}, "auth_code"),
        ({"auth_code": "1345678901234"}, "auth_code"),
        ({"auth_code": "13456789012345123x"}, "auth_code"),
        ({"auth_code": " 134567890123451234"}, "auth_code"),
        ({"auth_code": ALIPAY}, "channel"),
        ({"channel": "alipay"}, "channel"),
        ({"amount_fen": 0}, "amount_fen"),
        ({"amount_fen": -5}, "amount_fen"),
        ({"amount_fen": 10_000_001}, "amount_fen"),
        ({"amount_fen": 12.5}, "amount_fen"),
        ({"amount_fen": "1250"}, "amount_fen"),
        ({"amount_fen": True}, "amount_fen"),
        ({"subject": ""}, "subject"),
        ({"subject": "x" * 129}, "subject"),
        ({"subject": "line\nbreak"}, "subject"),
        ({"subject": 7}, "subject"),
        ({"tip_fen": 100}, "tip_fen"),
    ],
)
def test_bad_field_is_refused_by_name_and_nothing_is_recorded(changes: dict[str, Any], field: str) -> None:
    reply, data, bank = post("/v1/pay", good_pay(**changes))
    assert reply.status == 400
    assert data["field"] == field
    assert data["error"].startswith(f"{field}:")
    assert bank.ledger() == []
    assert bank.query("K20261124120000ABCDEF012345").reason == "ORDER_NOT_EXIST"


def test_amount_limits_are_inclusive() -> None:
    assert post("/v1/pay", good_pay(amount_fen=1))[0].status == 200
    assert post("/v1/pay", good_pay(amount_fen=10_000_000))[0].status == 200


@pytest.mark.parametrize("missing", ["out_trade_no", "channel", "auth_code", "amount_fen", "subject"])
def test_missing_field_is_named(missing: str) -> None:
    body = good_pay()
    del body[missing]
    reply, data, _ = post("/v1/pay", body)
    assert (reply.status, data["field"]) == (400, missing)
    assert "missing" in data["error"]


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        (b"", "not valid JSON"),
        (b"{not json", "not valid JSON"),
        (b"[1, 2]", "must be a JSON object"),
        (b"\xff\xfe", "not UTF-8"),
    ],
)
def test_body_that_is_not_a_json_object_is_refused(raw: bytes, fragment: str) -> None:
    reply, data, _ = post("/v1/pay", raw)
    assert (reply.status, data["field"]) == (400, "body")
    assert fragment in data["error"]


def test_wrong_content_type_is_refused() -> None:
    reply, data, _ = post("/v1/pay", good_pay(), headers={"content-type": "text/plain"})
    assert (reply.status, data["field"]) == (415, "content-type")


def test_errors_never_echo_the_full_code() -> None:
    """GIVEN a code sent on the wrong channel WHEN refused THEN the message shows it masked only."""
    _, data, _ = post("/v1/pay", good_pay(channel="alipay"))
    assert WECHAT not in data["error"]
    assert "1345**********1234" in data["error"]
    assert "WeChat Pay" in data["error"]


def test_query_and_cancel_take_only_out_trade_no() -> None:
    reply, data, _ = post("/v1/query", {"out_trade_no": "A1"})
    assert (reply.status, data["status"], data["reason"]) == (200, "unknown", "ORDER_NOT_EXIST")
    reply, data, _ = post("/v1/cancel", {"out_trade_no": "A1"})
    assert (reply.status, data["status"]) == (200, "cancelled")
    reply, data, _ = post("/v1/query", {"out_trade_no": "A1", "auth_code": WECHAT})
    assert (reply.status, data["field"]) == (400, "auth_code")


def test_conflicting_repeat_is_409() -> None:
    bank = SimulatedBank()
    proto = JsonProtocol()
    first = proto.handle(SimRequest("POST", "/v1/pay", JSON_HEADERS, json.dumps(good_pay()).encode()), bank)
    second = proto.handle(
        SimRequest("POST", "/v1/pay", JSON_HEADERS, json.dumps(good_pay(amount_fen=1)).encode()), bank
    )
    assert first is not None and second is not None
    assert (first.status, second.status) == (200, 409)
    assert json.loads(second.body)["field"] == "out_trade_no"


def test_other_paths_are_not_claimed_and_get_is_405() -> None:
    bank = SimulatedBank()
    assert JsonProtocol().handle(SimRequest("POST", "/gateway.do"), bank) is None
    reply = JsonProtocol().handle(SimRequest("GET", "/v1/pay"), bank)
    assert reply is not None and reply.status == 405
