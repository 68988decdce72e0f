"""The payment service layer: gateways built from settings, the charge function the checkout uses,
start-up recovery, refunds and reconciliation — each one committing to the store before and after
the gateway is called, so that a crash at any point leaves a row that tells what may have happened.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from kiosk.core.payment import ChannelRules, PayState, RefundRules, Reply
from kiosk.payments import engine
from kiosk.payments.alipay import AlipayBarcodeGateway, AlipayCredentials
from kiosk.payments.member import MEMBER_CHANNEL, UnconfiguredMemberGateway
from kiosk.payments.routing import ChannelRouter
from kiosk.payments.simulator_gateway import SimulatorGateway
from kiosk.payments.wechat import WechatCredentials, WechatMicropayGateway
from kiosk.ports import ChargeRequest, ChargeResult, ChargeStatus, GatewayError, PaymentGateway, RefundRequest
from kiosk.settings import PaymentsSection
from kiosk.store.sales import OPEN_PAYMENT_STATES, SaleError, SaleStore

log = logging.getLogger("kiosk.payments.service")

Clock = Callable[[], float]
Sleep = Callable[[float], None]


def build_gateway(payments: PaymentsSection, channel_of: Callable[[str], str | None]) -> PaymentGateway:
    """The gateway ``payments.gateway`` names; real channels sit behind a :class:`ChannelRouter`."""
    if payments.gateway == "simulator":
        return SimulatorGateway(payments.simulator.url, payments.simulator.timeout_s)
    gateways: dict[str, PaymentGateway] = {MEMBER_CHANNEL: UnconfiguredMemberGateway()}
    if "wechat" in payments.gateway:
        w = payments.wechat
        creds = WechatCredentials(
            appid=w.appid,
            mch_id=w.mch_id,
            api_key=w.api_key,
            sign_type=w.sign_type,
            cert_file=Path(w.cert_file) if w.cert_file else None,
            key_file=Path(w.key_file) if w.key_file else None,
        )
        gateways["wechat"] = WechatMicropayGateway(w.gateway_url, creds, w.timeout_s)
    if "alipay" in payments.gateway:
        a = payments.alipay
        try:
            alipay_creds = AlipayCredentials.from_files(
                a.app_id, Path(a.app_private_key_file), Path(a.alipay_public_key_file)
            )
        except ValueError as exc:
            raise GatewayError(f"payments.alipay: {exc}") from None
        gateways["alipay"] = AlipayBarcodeGateway(a.gateway_url, alipay_creds, a.timeout_s)
    return ChannelRouter(gateways, channel_of)


def make_charge(
    store: SaleStore,
    payments: PaymentsSection,
    clock: Clock = time.monotonic,
    sleep: Sleep = time.sleep,
) -> Callable[[PaymentGateway, ChargeRequest], ChargeResult]:
    """The controller's ``ChargeFn``: the channel's state machine, each new state committed first."""

    def charge(gateway: PaymentGateway, request: ChargeRequest) -> ChargeResult:
        # The JSON simulator is no real channel: it gets the plain rules, not WeChat Pay's 15 s.
        channel = request.channel if gateway.name != SimulatorGateway.name else "simulator"
        rules = engine.rules_for(channel, payments.max_wait_s, payments.poll_interval_s)

        def on_state(state: PayState, reason: str) -> None:
            if state is not PayState.SUBMITTED:  # begin_payment already committed "submitted"
                store.update_payment(request.out_trade_no, state.value, reason)

        return engine.charge(gateway, request, rules, clock, sleep, on_state)

    return charge


@dataclass(slots=True)
class RecoveryReport:
    resolved: list[str] = field(default_factory=list)
    unresolved: list[str] = field(default_factory=list)
    #: out_trade_no -> what became of it (paid, failed, cancelled, unknown), for the staff screen
    outcomes: dict[str, str] = field(default_factory=dict)


def recovery_rules(
    gateway: PaymentGateway, channel: str, max_wait_s: float, poll_interval_s: float
) -> ChannelRules:
    """The channel's rules (WeChat Pay's 15 s before a reverse included), with fewer cancel retries:
    at start-up a gateway that does not answer leaves the payment unresolved for staff, quickly.
    The JSON simulator is no real channel and gets the plain rules."""
    real = gateway.name != SimulatorGateway.name
    rules = engine.rules_for(channel if real else "simulator", max_wait_s, poll_interval_s)
    return replace(rules, max_cancels=3, cancel_retry_interval_s=1.0, cancel_window_s=5.0)


def _utcnow_naive() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def settle_payment(
    store: SaleStore,
    gateway: PaymentGateway,
    out_trade_no: str,
    rules: ChannelRules,
    actor: str = "kiosk",
    clock: Clock = time.monotonic,
    sleep: Sleep = time.sleep,
    now_utc: Callable[[], datetime] = _utcnow_naive,
) -> ChargeResult:
    """Settle one open payment with the gateway: query; paid -> record the sale; still open ->
    cancel/reverse. Start-up recovery uses it for every open payment, and staff (maintenance mode)
    use it to void a payment stuck as "unknown"; each outcome is audited under ``actor``."""
    row = store.payment_row(out_trade_no)
    if row is None:
        raise SaleError(f"no payment {out_trade_no}")
    if row.status not in OPEN_PAYMENT_STATES:
        raise SaleError(f"payment {out_trade_no} is {row.status}, already final; refund a paid one instead")
    age_s = max(0.0, (now_utc() - row.created_at).total_seconds())

    def on_state(state: PayState, reason: str) -> None:
        store.update_payment(out_trade_no, state.value, reason)

    result = engine.resolve(gateway, out_trade_no, PayState(row.status), age_s, rules, clock, sleep, on_state)
    if result.status is ChargeStatus.PAID:
        store.record_paid(out_trade_no, result.transaction_id)
    elif result.status in (ChargeStatus.FAILED, ChargeStatus.CANCELLED):
        store.update_payment(out_trade_no, result.status.value, result.reason or "settled with the gateway")
        store.cancel_order(str(row.order_id))
    else:
        store.update_payment(out_trade_no, "unknown", result.reason)
    store.audit(actor, f"settled_{result.status.value}", out_trade_no)
    return result


def recover(
    store: SaleStore,
    gateway: PaymentGateway,
    max_wait_s: float = 45.0,
    poll_interval_s: float = 5.0,
    clock: Clock = time.monotonic,
    sleep: Sleep = time.sleep,
    now_utc: Callable[[], datetime] = _utcnow_naive,
    rules_for_channel: Callable[[str], ChannelRules] | None = None,
) -> RecoveryReport:
    """Settle every payment a crash left open: query; paid -> record the sale; still open -> cancel/reverse."""
    report = RecoveryReport()
    for p in store.unfinished_payments():
        rules = (
            rules_for_channel(p.channel)
            if rules_for_channel is not None
            else recovery_rules(gateway, p.channel, max_wait_s, poll_interval_s)
        )
        result = settle_payment(store, gateway, p.out_trade_no, rules, "kiosk", clock, sleep, now_utc)
        report.outcomes[p.out_trade_no] = result.status.value
        store.audit("kiosk", f"recovered_{result.status.value}", p.out_trade_no)
        if result.status is ChargeStatus.UNKNOWN:
            report.unresolved.append(p.out_trade_no)
            log.warning("payment %s still unresolved: %s", p.out_trade_no, result.reason)
        else:
            report.resolved.append(p.out_trade_no)
    for out_trade_no, order_id in store.refunds_in_flight():
        # The refund number is fixed, so sending it again can only confirm the one refund.
        try:
            outcome = refund_order(
                store, gateway, order_id, "kiosk", "resumed after restart", clock=clock, sleep=sleep
            )
        except (SaleError, GatewayError) as exc:
            log.warning("refund of %s not resumed: %s", out_trade_no, exc)
            report.unresolved.append(out_trade_no)
            continue
        report.outcomes[out_trade_no] = f"refund_{outcome.status}"
        store.audit("kiosk", f"recovered_refund_{outcome.status}", out_trade_no)
        (report.resolved if outcome.status != "unknown" else report.unresolved).append(out_trade_no)
    return report


@dataclass(frozen=True, slots=True)
class RefundOutcome:
    status: str  # "refunded" | "failed" | "unknown"
    out_trade_no: str
    out_refund_no: str
    refund_id: str = ""
    reason: str = ""


def refund_order(
    store: SaleStore,
    gateway: PaymentGateway,
    order_id: str,
    actor: str,
    reason: str = "refund",
    rules: RefundRules | None = None,
    clock: Clock = time.monotonic,
    sleep: Sleep = time.sleep,
) -> RefundOutcome:
    """Refund a paid order in full through the refund state machine, every step audited under ``actor``.

    "refunding" and the refund number are committed before the first call; a lost answer is resolved
    by repeating the same refund (same ``out_refund_no``, which both channels treat as one refund)
    within ``rules``. Still unconfirmed after that, the payment stays "refunding" and running this
    again repeats the same refund: it can never give the money back twice. "Refunded" commits the
    payment, the order and the outbox row that tells HQ, together.
    """
    payment = store.refundable_payment(order_id)
    if payment is None:
        raise SaleError(f"order {order_id} has no paid payment to refund")
    out_trade_no = str(payment.out_trade_no)
    resume = str(payment.status) == PayState.REFUNDING.value
    out_refund_no = store.begin_refund(out_trade_no, actor)
    if resume:
        store.audit(actor, "refund_resumed", f"{out_trade_no} as {out_refund_no}")
    request = RefundRequest(
        out_trade_no, out_refund_no, int(payment.amount_fen), int(payment.amount_fen), reason
    )

    def on_call(tries: int, reply: Reply) -> None:
        said = f"{out_refund_no} try {tries}: {reply.answer.value}"
        store.audit(actor, "refund_call", f"{said} {reply.reason}".strip()[:500])

    result = engine.refund(gateway, request, rules or RefundRules(), clock, sleep, resume, on_call)
    if result.state is PayState.REFUNDED:
        store.record_refund(out_trade_no, result.refund_id, actor)
        return RefundOutcome("refunded", out_trade_no, out_refund_no, result.refund_id)
    if result.refused:
        store.abandon_refund(out_trade_no, result.reason, actor)
        return RefundOutcome("failed", out_trade_no, out_refund_no, reason=result.reason)
    store.audit(
        actor, "refund_unknown", f"{out_refund_no} after {result.tries} call(s): {result.reason}"[:500]
    )
    return RefundOutcome(
        "unknown",
        out_trade_no,
        out_refund_no,
        reason=f"{result.reason}; the refund is still open: run it again (same refund number, never twice)",
    )


@dataclass(frozen=True, slots=True)
class Difference:
    out_trade_no: str
    channel: str
    amount_fen: int
    local: str
    gateway: str
    detail: str = ""


#: local states and the gateway states that agree with them
_AGREES = {
    "paid": {"paid"},
    # a refunded trade queries as paid (WeChat Pay: REFUND) or closed (Alipay after a full refund)
    "refunded": {"paid", "refunded", "cancelled"},
    "refunding": {"paid"},
    "failed": {"failed", "unknown", "cancelled"},
    "cancelled": {"cancelled", "unknown", "failed"},
}


def reconcile(
    store: SaleStore, gateway: PaymentGateway, day: date, timezone: str = "Asia/Shanghai"
) -> tuple[int, list[Difference]]:
    """Compare every payment of ``day`` (a local calendar day) with what the gateway says now."""
    tz = ZoneInfo(timezone)
    start = datetime(day.year, day.month, day.day, tzinfo=tz).astimezone(UTC).replace(tzinfo=None)
    end = start + timedelta(days=1)
    rows = store.payments_between(start, end)
    differences: list[Difference] = []
    for p in rows:
        try:
            result = gateway.query(str(p.out_trade_no))
            said = result.status.value
            detail = result.reason
        except GatewayError as exc:
            said, detail = "no_answer", str(exc)
        if said not in _AGREES.get(str(p.status), set()):
            differences.append(
                Difference(
                    str(p.out_trade_no), str(p.channel), int(p.amount_fen), str(p.status), said, detail
                )
            )
    return len(rows), differences
