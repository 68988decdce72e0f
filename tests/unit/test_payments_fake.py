"""FakePaymentGateway behaves as documented, so tests that lean on it test what they think they test."""

from __future__ import annotations

import pytest

from kiosk.ports import ChargeRequest, ChargeResult, ChargeStatus, GatewayError, PaymentGateway
from tests.fakes.payments import FakePaymentGateway


def request(out_trade_no: str) -> ChargeRequest:
    return ChargeRequest(out_trade_no, "alipay", "2834567890121234", 500, "test")


def test_unscripted_fake_is_a_well_mannered_gateway() -> None:
    gateway: PaymentGateway = FakePaymentGateway()
    paid = gateway.pay(request("A"))
    assert paid.status is ChargeStatus.PAID and paid.transaction_id.startswith("FAKE")
    assert gateway.query("A") == paid
    cancelled = gateway.cancel("A")
    assert (cancelled.status, cancelled.transaction_id) == (ChargeStatus.CANCELLED, paid.transaction_id)
    assert gateway.query("A").status is ChargeStatus.CANCELLED
    assert gateway.query("NEVER").status is ChargeStatus.UNKNOWN


def test_scripts_are_played_in_order_then_defaults() -> None:
    boom = GatewayError("timeout")
    gateway = FakePaymentGateway(
        pay=[ChargeStatus.USER_PAYING, boom],
        query=[ChargeStatus.USER_PAYING, ChargeResult(ChargeStatus.FAILED, "A", "", "NOPE")],
    )
    assert gateway.pay(request("A")).status is ChargeStatus.USER_PAYING
    with pytest.raises(GatewayError) as caught:
        gateway.pay(request("B"))
    assert caught.value is boom
    assert gateway.pay(request("C")).status is ChargeStatus.PAID
    assert gateway.query("A").status is ChargeStatus.USER_PAYING
    assert gateway.query("A").reason == "NOPE"
    assert gateway.query("A").status is ChargeStatus.FAILED  # remembers the last answer
    assert gateway.calls == [
        ("pay", "A"),
        ("pay", "B"),
        ("pay", "C"),
        ("query", "A"),
        ("query", "A"),
        ("query", "A"),
    ]
    assert [r.out_trade_no for r in gateway.requests] == ["A", "B", "C"]
    assert gateway.count("pay") == 3 and gateway.count("query", "A") == 3 and gateway.count("cancel") == 0


def test_transaction_ids_are_distinct_per_order() -> None:
    gateway = FakePaymentGateway()
    ids = {gateway.pay(request(str(n))).transaction_id for n in range(5)}
    assert len(ids) == 5


def test_declined_status_gets_a_reason() -> None:
    gateway = FakePaymentGateway(pay=[ChargeStatus.FAILED])
    assert gateway.pay(request("A")).reason == "DECLINED"
