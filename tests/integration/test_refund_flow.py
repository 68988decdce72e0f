"""Refunds through the refund state machine, with the real WeChat Pay and Alipay adapters against the
simulator's real protocol side and a real store. The simulator's ledger is the judge: a refund whose
answer was lost is resolved by repeating the same refund, and the money goes back exactly once."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from kiosk.core.cart import Cart, Product
from kiosk.core.payment import RefundRules
from kiosk.payments import service
from kiosk.payments.alipay import AlipayBarcodeGateway, AlipayCredentials
from kiosk.payments.wechat import WechatCredentials, WechatMicropayGateway
from kiosk.ports import ChargeRequest, ChargeStatus, PaymentGateway
from kiosk.store.db import open_store
from kiosk.store.models import AuditLog, Order, OutboxEntry, Payment
from kiosk.store.sales import SaleError, SaleStore
from paysim.credentials import (
    ALIPAY_APP_ID,
    WECHAT_APPID,
    WECHAT_MCH_ID,
    SimCredentials,
    make_credentials,
)
from paysim.server import GatewaySimulator

KIOSK = "kiosk-001"
FAST = RefundRules(retry_interval_s=0.05, give_up_after_s=5.0, max_tries=4)
_seq = itertools.count(1)


@pytest.fixture(scope="module")
def creds(tmp_path_factory: pytest.TempPathFactory) -> SimCredentials:
    return make_credentials(tmp_path_factory.mktemp("refundkeys"))


@pytest.fixture
def sim(creds: SimCredentials) -> Iterator[GatewaySimulator]:
    with GatewaySimulator(password_delay_s=0.1, wechat=creds.wechat_sim(), alipay=creds.alipay_sim()) as s:
        yield s


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SaleStore]:
    db = open_store(tmp_path / "kiosk.sqlite3")
    yield SaleStore(db, KIOSK)
    db.close()


def gateway_for(channel: str, sim: GatewaySimulator, creds: SimCredentials) -> PaymentGateway:
    if channel == "wechat":
        return WechatMicropayGateway(
            sim.url, WechatCredentials(WECHAT_APPID, WECHAT_MCH_ID, creds.wechat_api_key, "HMAC-SHA256"), 1.0
        )
    return AlipayBarcodeGateway(
        sim.url,
        AlipayCredentials.from_files(ALIPAY_APP_ID, creds.app_private_key_file, creds.alipay_public_key_file),
        1.0,
    )


def paid_order(store: SaleStore, gateway: PaymentGateway, channel: str, price_fen: int = 1990) -> str:
    """An order paid through the gateway, recorded as the checkout records it."""
    n = next(_seq)
    code = f"13{n:012d}1234" if channel == "wechat" else f"28{n:010d}1234"
    order_id = store.open_order(Cart().add(Product(f"SKU{n}", "便当", "Lunch box", price_fen, None, "food")))
    payment = store.begin_payment(order_id, channel, gateway.name, code)
    out_trade_no = payment.out_trade_no
    result = gateway.pay(ChargeRequest(out_trade_no, channel, code, payment.amount_fen, "便当 lunch box"))
    assert result.status is ChargeStatus.PAID
    store.record_paid(out_trade_no, result.transaction_id)
    return order_id


def refunds_in_ledger(sim: GatewaySimulator, out_trade_no: str) -> list[int]:
    return [e.amount_fen for e in sim.bank.ledger() if e.kind == "refund" and e.out_trade_no == out_trade_no]


def audit_actions(actor: str) -> list[str]:
    return [a.action for a in AuditLog.select().where(AuditLog.actor == actor).order_by(AuditLog.id)]


@pytest.mark.parametrize("channel", ["wechat", "alipay"])
def test_a_lost_refund_answer_is_resolved_by_repeating_the_same_refund_once(
    sim: GatewaySimulator, creds: SimCredentials, store: SaleStore, channel: str
) -> None:
    """GIVEN a paid order WHEN the gateway makes the refund but the answer is lost THEN the machine
    repeats the same out_refund_no, the gateway answers with the first refund, and the ledger holds
    exactly one refund; the order is refunded and one refund row waits in the outbox for HQ."""
    gateway = gateway_for(channel, sim, creds)
    order_id = paid_order(store, gateway, channel)
    sim.bank.script_next_refund("drop")
    outcome = service.refund_order(store, gateway, order_id, "staff:li", rules=FAST)
    assert outcome.status == "refunded", outcome
    assert outcome.out_refund_no == "R" + outcome.out_trade_no[1:]
    assert refunds_in_ledger(sim, outcome.out_trade_no) == [1990]
    assert Order.get_by_id(order_id).status == "refunded"
    assert Payment.get(Payment.out_trade_no == outcome.out_trade_no).status == "refunded"
    actions = audit_actions("staff:li")
    assert actions == ["refund_started", "refund_call", "refund_call", "refunded"]
    calls = [
        a.detail for a in AuditLog.select().where(AuditLog.action == "refund_call").order_by(AuditLog.id)
    ]
    assert calls[0].startswith(f"{outcome.out_refund_no} try 1: no_reply")
    assert calls[1].startswith(f"{outcome.out_refund_no} try 2: refunded")
    [row] = OutboxEntry.select().where(OutboxEntry.kind == "refund")
    payload = json.loads(row.payload)
    assert payload == {
        "order_id": order_id,
        "kiosk_id": KIOSK,
        "out_trade_no": outcome.out_trade_no,
        "out_refund_no": outcome.out_refund_no,
        "amount_fen": 1990,
        "refunded_at": payload["refunded_at"],
    }
    assert payload["refunded_at"].endswith("Z")
    with pytest.raises(SaleError, match="no paid payment"):
        service.refund_order(store, gateway, order_id, "staff:li", rules=FAST)
    assert refunds_in_ledger(sim, outcome.out_trade_no) == [1990]


def test_a_refund_still_unanswered_stays_open_and_running_it_again_never_refunds_twice(
    sim: GatewaySimulator, creds: SimCredentials, store: SaleStore
) -> None:
    """GIVEN every answer lost for the whole run THEN the refund stays "refunding" (unknown, audited),
    nothing goes to HQ; WHEN staff run it again THEN the same refund is confirmed, still only one."""
    gateway = gateway_for("wechat", sim, creds)
    order_id = paid_order(store, gateway, "wechat", 500)
    tight = RefundRules(retry_interval_s=0.02, give_up_after_s=5.0, max_tries=2)
    for _ in range(2):
        sim.bank.script_next_refund("drop")
    first = service.refund_order(store, gateway, order_id, "staff:wang", rules=tight)
    assert first.status == "unknown" and "run it again" in first.reason
    assert Payment.get(Payment.out_trade_no == first.out_trade_no).status == "refunding"
    assert OutboxEntry.select().where(OutboxEntry.kind == "refund").count() == 0
    assert refunds_in_ledger(sim, first.out_trade_no) == [500]  # made once, both answers lost

    again = service.refund_order(store, gateway, order_id, "staff:wang", rules=tight)
    assert again.status == "refunded" and again.out_refund_no == first.out_refund_no
    assert refunds_in_ledger(sim, first.out_trade_no) == [500]
    assert audit_actions("staff:wang") == [
        "refund_started",
        "refund_call",
        "refund_call",
        "refund_unknown",
        "refund_started",
        "refund_resumed",
        "refund_call",
        "refunded",
    ]
    assert OutboxEntry.select().where(OutboxEntry.kind == "refund").count() == 1


def test_a_refund_left_open_is_finished_after_the_recovery_at_start(
    sim: GatewaySimulator, creds: SimCredentials, store: SaleStore
) -> None:
    """GIVEN a refund whose answers were all lost (or the kiosk died mid-refund) WHEN the kiosk
    starts again THEN the recovery lists it without holding up selling, and the background repeat
    confirms that same refund, once, and queues it for HQ."""
    gateway = gateway_for("alipay", sim, creds)
    order_id = paid_order(store, gateway, "alipay", 700)
    tight = RefundRules(retry_interval_s=0.02, give_up_after_s=5.0, max_tries=2)
    for _ in range(2):
        sim.bank.script_next_refund("drop")
    first = service.refund_order(store, gateway, order_id, "staff:zhao", rules=tight)
    assert first.status == "unknown"
    report = service.recover(store, gateway)
    assert report.refunds_pending == [first.out_trade_no] and report.outcomes == {}
    assert refunds_in_ledger(sim, first.out_trade_no) == [700]
    resumed = service.resume_refunds(store, gateway)
    assert resumed.outcomes[first.out_trade_no] == "refund_refunded"
    assert first.out_trade_no in resumed.resolved
    assert Payment.get(Payment.out_trade_no == first.out_trade_no).status == "refunded"
    assert refunds_in_ledger(sim, first.out_trade_no) == [700]
    assert OutboxEntry.select().where(OutboxEntry.kind == "refund").count() == 1
    assert store.refunds_in_flight() == []


def test_a_refund_the_gateway_refuses_leaves_the_order_paid(
    sim: GatewaySimulator, creds: SimCredentials, store: SaleStore
) -> None:
    """GIVEN the gateway already reversed the charge THEN the refund is refused for good, not repeated."""
    gateway = gateway_for("alipay", sim, creds)
    order_id = paid_order(store, gateway, "alipay", 300)
    out_trade_no = str(store.paid_payment(order_id).out_trade_no)  # type: ignore[union-attr]
    gateway.cancel(out_trade_no)  # reversed behind the kiosk's back
    outcome = service.refund_order(store, gateway, order_id, "staff:zhao", rules=FAST)
    assert outcome.status == "failed" and outcome.reason
    assert Payment.get(Payment.out_trade_no == out_trade_no).status == "paid"
    # one call, no repeats of a refusal
    assert audit_actions("staff:zhao") == ["refund_started", "refund_call", "refund_refused"]
    assert OutboxEntry.select().where(OutboxEntry.kind == "refund").count() == 0


def test_the_simulator_admin_endpoint_scripts_a_lost_refund_answer(sim: GatewaySimulator) -> None:
    ok = requests.post(f"{sim.url}/v1/admin/next", json={"refund": "drop"}, timeout=5)
    assert ok.status_code == 200 and ok.json() == {"next_refund": "drop"}
    bad = requests.post(f"{sim.url}/v1/admin/next", json={"refund": "explode"}, timeout=5)
    assert bad.status_code == 400 and "drop" in bad.json()["error"]
