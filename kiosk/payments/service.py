"""The payment service layer: gateways built from settings, the one function that charges an order,
start-up recovery, refunds and reconciliation.

Each commits to the store before and after the gateway is called, so that a crash at any point leaves
a row that tells what may have happened. There is one payment path: the checkout, ``kiosk payment
charge``, the demo, the benchmarks and the crash test all charge through :func:`charge_order`, which
runs the channel's state machine (``kiosk.payments.engine``) with the rules the gateway declares.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from kiosk import crashpoints
from kiosk.clock import SystemClock
from kiosk.core.payment import (
    OPEN_STATES,
    ChannelRules,
    PayState,
    RefundRules,
    Reply,
    alipay_rules,
    wechat_rules,
)
from kiosk.core.records import CodeAlreadyUsed, PaymentRecord, RefundRecord, SaleError, StoreFull
from kiosk.payments import engine
from kiosk.payments.alipay import AlipayBarcodeGateway, AlipayCredentials
from kiosk.payments.member import MEMBER_CHANNEL, UnconfiguredMemberGateway
from kiosk.payments.routing import ChannelRouter
from kiosk.payments.unconfigured import UnconfiguredGateway
from kiosk.payments.wechat import WechatCredentials, WechatMicropayGateway
from kiosk.ports import (
    ChargeRequest,
    ChargeResult,
    ChargeStatus,
    Clock,
    GatewayError,
    PaymentGateway,
    RefundRequest,
    SaleRepository,
)
from kiosk.settings import PaymentsSection

log = logging.getLogger("kiosk.payments.service")

#: how far back start-up recovery looks for paid sales whose receipt never printed
UNPRINTED_LOOKBACK = timedelta(hours=24)

#: how often, and how far apart, "paid" is committed again when the store refuses it (disk full)
PAID_COMMIT_TRIES = 5
PAID_COMMIT_PAUSE_S = 0.2


def build_gateway(payments: PaymentsSection, channel_of: Callable[[str], str | None]) -> PaymentGateway:
    """The gateway ``payments.gateway`` names, each channel with its own published timers.

    ``none`` (the shipped default) refuses every charge; the real channels sit behind a
    :class:`ChannelRouter` that sends each code to its channel and each query to the channel the
    store says the payment went to (``channel_of``).
    """
    if payments.gateway == "none":
        return UnconfiguredGateway()
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
        gateways["wechat"] = WechatMicropayGateway(
            w.gateway_url,
            creds,
            w.timeout_s,
            rules=wechat_rules(payments.max_wait_s, payments.poll_interval_s),
        )
    if "alipay" in payments.gateway:
        a = payments.alipay
        try:
            alipay_creds = AlipayCredentials.from_files(
                a.app_id, Path(a.app_private_key_file), Path(a.alipay_public_key_file)
            )
        except ValueError as exc:
            raise GatewayError(f"payments.alipay: {exc}") from None
        gateways["alipay"] = AlipayBarcodeGateway(
            a.gateway_url,
            alipay_creds,
            a.timeout_s,
            rules=alipay_rules(payments.max_wait_s, payments.poll_interval_s),
        )
    return ChannelRouter(gateways, channel_of)


# --- charging -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ChargeOutcome:
    """What became of one charge: the gateway's final word (or UNKNOWN), about ``out_trade_no``.

    ``out_trade_no`` is empty when the store refused the attempt before any call (a code used before,
    an order that is not open): then nothing was sent and ``status`` is FAILED with the reason.
    """

    status: ChargeStatus
    out_trade_no: str
    amount_fen: int
    transaction_id: str = ""
    reason: str = ""
    #: the store refused the code itself as used before: the customer must refresh it
    code_used: bool = False
    #: PAID only: False when "paid" could not be committed (a full disk). The gateway has the money;
    #: the payment row stays open and the next start's recovery records the sale from the gateway.
    recorded: bool = True


def charge_order(
    store: SaleRepository,
    gateway: PaymentGateway,
    order_id: str,
    channel: str,
    code: str,
    subject: str,
    clock: Clock | None = None,
    on_progress: Callable[[PayState], None] | None = None,
) -> ChargeOutcome:
    """Charge ``code`` for the open order ``order_id``, to a final answer within the channel's rules.

    1. A fresh ``out_trade_no`` is committed as "submitted" before the pay call.
    2. The channel's state machine pays, queries and, out of time, reverses; each new state is
       committed before it is acted on (``user_paying``, ``unknown``, ``cancelling``), then told to
       ``on_progress`` (the pay screen asks for the password, or says the payment is being checked).
    3. "Paid" is committed with the payment, the order and the outbox row together, retried (bounded)
       if the store refuses it; if it still fails (``recorded=False``) the payment stays open and the
       next start records it from the gateway's answer. FAILED / CANCELLED are committed as such; the
       order stays open so the customer can show another code, and the caller decides whether to
       cancel it.

    Never raises GatewayError. A store error before the pay call (``begin_payment``: a full disk)
    propagates, and nothing was sent. After it, a state or outcome the store refuses ends the charge
    as UNKNOWN: the payment stays open in the store for the next start to settle.
    """
    clock = clock or SystemClock()
    try:
        payment = store.begin_payment(order_id, channel, gateway.name, code)
    except CodeAlreadyUsed:
        return ChargeOutcome(
            ChargeStatus.FAILED,
            "",
            0,
            reason="code already used; refresh the payment code on your phone",
            code_used=True,
        )
    except StoreFull:
        raise
    except SaleError as exc:
        return ChargeOutcome(ChargeStatus.FAILED, "", 0, reason=str(exc))
    out_trade_no, amount = payment.out_trade_no, payment.amount_fen
    request = ChargeRequest(out_trade_no, channel, code, amount, subject=subject)

    def on_state(state: PayState, reason: str) -> None:
        if state is not PayState.SUBMITTED:  # begin_payment committed "submitted"
            store.update_payment(out_trade_no, state, reason)
        if on_progress is not None:
            try:
                on_progress(state)
            except Exception:  # telling the screen must never stop the charge
                log.exception("payment progress of %s not shown", out_trade_no)

    try:
        result = engine.charge(
            gateway, request, gateway.rules_for(channel), clock.monotonic, clock.sleep, on_state
        )
    except Exception as exc:
        # The pay call may have gone out: a state the store refused (a full disk) stops the machine,
        # because it may not act on a state it could not commit. The outcome is unknown, never
        # "declined"; the payment stays open for the next start to settle with the gateway.
        log.exception("charge %s stopped: a state could not be recorded", out_trade_no)
        return ChargeOutcome(
            ChargeStatus.UNKNOWN,
            out_trade_no,
            amount,
            reason=f"the kiosk could not record the payment's progress ({exc}); it is settled at the next start",
        )
    if result.status is ChargeStatus.PAID:
        crashpoints.reached("paid_before_commit")
        try:
            _commit_paid(store, out_trade_no, result.transaction_id, clock)
        except Exception as exc:
            log.exception("%s is paid at the gateway but could not be recorded", out_trade_no)
            return ChargeOutcome(
                ChargeStatus.PAID,
                out_trade_no,
                amount,
                result.transaction_id,
                f"paid at the gateway but not recorded on this kiosk ({exc}); it is recorded at the next start",
                recorded=False,
            )
    else:
        final = (
            PayState(result.status.value) if result.status is not ChargeStatus.UNKNOWN else PayState.UNKNOWN
        )
        try:
            store.update_payment(out_trade_no, final, result.reason)
        except Exception as exc:
            # Not recorded: the row keeps its last committed state, which the next start settles.
            log.exception("outcome %s of %s not recorded", final.value, out_trade_no)
            if result.status is not ChargeStatus.FAILED:
                return ChargeOutcome(
                    ChargeStatus.UNKNOWN,
                    out_trade_no,
                    amount,
                    reason=f"{result.reason}; the kiosk could not record it ({exc}); settled at the next start",
                )
    return ChargeOutcome(result.status, out_trade_no, amount, result.transaction_id, result.reason)


def _commit_paid(store: SaleRepository, out_trade_no: str, transaction_id: str, clock: Clock) -> None:
    """The gateway has the money: try hard (bounded) to record it before telling anyone.

    If it still fails the exception propagates; the payment row stays open and the start-up recovery
    records it as paid from the gateway's answer.
    """
    for attempt in range(1, PAID_COMMIT_TRIES + 1):
        try:
            store.record_paid(out_trade_no, transaction_id)
            return
        except Exception:
            if attempt == PAID_COMMIT_TRIES:
                raise
            log.warning("recording paid %s failed (attempt %d), retrying", out_trade_no, attempt)
            clock.sleep(PAID_COMMIT_PAUSE_S * attempt)


# --- recovery -------------------------------------------------------------------------------------


@dataclass(slots=True)
class RecoveryReport:
    resolved: list[str] = field(default_factory=list)
    unresolved: list[str] = field(default_factory=list)
    #: out_trade_no -> what became of it (paid, failed, cancelled, unknown), for the staff screen
    outcomes: dict[str, str] = field(default_factory=dict)
    #: paid orders whose receipt never printed (found paid at the gateway now, or paid just before a
    #: crash that came before the printer): the kiosk prints them and tells staff
    paid_orders: list[str] = field(default_factory=list)
    #: orders left open with no payment in flight (a crash before the charge): now cancelled
    closed_orders: list[str] = field(default_factory=list)
    #: refunds left unconfirmed, to be repeated in the background (same refund number)
    refunds_pending: list[str] = field(default_factory=list)
    #: steps the recovery could not do (the store refused them: a full disk), with why
    failures: list[str] = field(default_factory=list)
    #: one of them was the store being full
    store_full: bool = False

    @property
    def anything(self) -> bool:
        return bool(
            self.resolved
            or self.unresolved
            or self.paid_orders
            or self.closed_orders
            or self.refunds_pending
            or self.failures
        )


def recovery_rules(gateway: PaymentGateway, channel: str) -> ChannelRules:
    """The channel's own rules (WeChat Pay's 15 s before a reverse included), with fewer cancel
    retries: at start-up a gateway that does not answer leaves the payment unresolved for staff, quickly."""
    return replace(
        gateway.rules_for(channel), max_cancels=3, cancel_retry_interval_s=1.0, cancel_window_s=5.0
    )


def _utcnow() -> datetime:
    return datetime.now(UTC)


def settle_payment(
    store: SaleRepository,
    gateway: PaymentGateway,
    out_trade_no: str,
    rules: ChannelRules | None = None,
    actor: str = "kiosk",
    clock: Clock | None = None,
    now_utc: Callable[[], datetime] = _utcnow,
) -> ChargeResult:
    """Settle one open payment with the gateway: query; paid -> record the sale; still open ->
    cancel/reverse. Start-up recovery uses it for every open payment; it is also the seam for staff to
    settle a payment stuck as "unknown" (maintenance mode, a later release). Each outcome is audited
    under ``actor``."""
    clock = clock or SystemClock()
    row = store.payment(out_trade_no)
    if row is None:
        raise SaleError(f"no payment {out_trade_no}")
    if row.status not in OPEN_STATES:
        raise SaleError(f"payment {out_trade_no} is {row.status}, already final; refund a paid one instead")
    age_s = max(0.0, (now_utc() - row.created_at).total_seconds())

    def on_state(state: PayState, reason: str) -> None:
        store.update_payment(out_trade_no, state, reason)

    result = engine.resolve(
        gateway,
        out_trade_no,
        row.status,
        age_s,
        rules or recovery_rules(gateway, row.channel),
        clock.monotonic,
        clock.sleep,
        on_state,
    )
    if result.status is ChargeStatus.PAID:
        crashpoints.reached("paid_before_commit")
        store.record_paid(out_trade_no, result.transaction_id)
    elif result.status in (ChargeStatus.FAILED, ChargeStatus.CANCELLED):
        store.update_payment(
            out_trade_no, PayState(result.status.value), result.reason or "settled with the gateway"
        )
        store.cancel_order(row.order_id)
    else:
        store.update_payment(out_trade_no, PayState.UNKNOWN, result.reason)
    store.audit(actor, f"settled_{result.status.value}", out_trade_no)
    return result


def recover(
    store: SaleRepository,
    gateway: PaymentGateway,
    clock: Clock | None = None,
    now_utc: Callable[[], datetime] = _utcnow,
) -> RecoveryReport:
    """Before selling after a crash: settle every payment left without a final answer, and close every
    order left open with no payment in flight.

    Ask the gateway what became of each open payment; paid -> record the sale (and report its order,
    whose receipt was never printed); failed -> fail it; still open -> cancel (reverse) it by the
    channel's rules, so the customer is not charged for a sale the kiosk never finished. Refunds left
    unconfirmed are only listed: repeating them (:func:`resume_refunds`) must not hold up selling.

    A step the store refuses (a full disk) is reported in ``failures`` and the rest goes on: what was
    not done stays in the store for the next start.
    """
    report = RecoveryReport()

    def step(what: str, action: Callable[[], None]) -> None:
        try:
            action()
        except Exception as exc:
            log.exception("start-up recovery: %s failed", what)
            report.failures.append(f"{what}: {exc}")
            report.store_full = report.store_full or isinstance(exc, StoreFull)

    for p in store.unfinished_payments():

        def settle(p: PaymentRecord = p) -> None:
            result = settle_payment(store, gateway, p.out_trade_no, None, "kiosk", clock, now_utc)
            report.outcomes[p.out_trade_no] = result.status.value
            if result.status is ChargeStatus.UNKNOWN:
                report.unresolved.append(p.out_trade_no)
                log.warning("payment %s still unresolved: %s", p.out_trade_no, result.reason)
            else:
                report.resolved.append(p.out_trade_no)
            if result.status is ChargeStatus.PAID and not store.order(p.order_id).receipt_printed:
                report.paid_orders.append(p.order_id)
            store.audit("kiosk", f"recovered_{result.status.value}", p.out_trade_no)

        step(f"payment {p.out_trade_no}", settle)
        if p.out_trade_no not in report.outcomes:
            report.outcomes[p.out_trade_no] = "unknown"
            report.unresolved.append(p.out_trade_no)

    def unprinted() -> None:
        # A crash between "paid" and the printer leaves a paid sale with no receipt and nothing queued.
        for order_id in store.unprinted_paid_orders(now_utc() - UNPRINTED_LOOKBACK):
            if order_id not in report.paid_orders:
                report.paid_orders.append(order_id)

    def close_orders() -> None:
        report.closed_orders = store.close_abandoned_orders()
        for order_id in report.closed_orders:
            store.audit("kiosk", "recovered_order_closed", order_id)

    def refunds() -> None:
        report.refunds_pending = [p.out_trade_no for p in store.refunds_in_flight()]

    step("receipts of paid sales", unprinted)
    step("orders left open", close_orders)
    step("refunds left open", refunds)
    return report


def resume_refunds(
    store: SaleRepository, gateway: PaymentGateway, clock: Clock | None = None
) -> RecoveryReport:
    """Repeat every refund a crash or lost answers left unconfirmed (same refund number: it can only
    confirm the one refund). Runs in the background after start-up; each run is bounded by
    :class:`RefundRules`."""
    report = RecoveryReport()
    for p in store.refunds_in_flight():
        try:
            outcome = refund_order(store, gateway, p.order_id, "kiosk", "resumed after restart", clock=clock)
        except (SaleError, GatewayError) as exc:
            log.warning("refund of %s not resumed: %s", p.out_trade_no, exc)
            report.unresolved.append(p.out_trade_no)
            continue
        report.outcomes[p.out_trade_no] = f"refund_{outcome.status}"
        store.audit("kiosk", f"recovered_refund_{outcome.status}", p.out_trade_no)
        (report.resolved if outcome.status != "unknown" else report.unresolved).append(p.out_trade_no)
    return report


# --- refunds --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RefundOutcome:
    status: str  # "refunded" | "failed" | "unknown"
    out_trade_no: str
    out_refund_no: str
    refund_id: str = ""
    reason: str = ""
    #: what this refund gives back (the whole payment, or the part asked for)
    amount_fen: int = 0


def refund_order(
    store: SaleRepository,
    gateway: PaymentGateway,
    order_id: str,
    actor: str,
    reason: str = "refund",
    rules: RefundRules | None = None,
    clock: Clock | None = None,
    amount_fen: int | None = None,
) -> RefundOutcome:
    """Refund a paid order, in full or (``amount_fen``) in part, through the refund state machine,
    every step audited under ``actor``.

    A full refund of a payment never partly refunded keeps the payment's own refund number (below).
    A part (or, after parts, the rest: ``amount_fen`` None) is a refund row of its own with a fresh
    number ``R<trade>-<n>``, committed before the call; the parts never come to more than was paid
    (the store refuses), and the last part makes the order refunded. While a part is unconfirmed,
    any refund of the order repeats that part (same number, same amount) until it is settled.

    "refunding" and the refund number are committed before the first call; a lost answer is resolved
    by repeating the same refund (same ``out_refund_no``, which both channels treat as one refund)
    within ``rules``. Still unconfirmed after that, the payment stays "refunding" and running this
    again repeats the same refund: it can never give the money back twice. "Refunded" commits the
    payment, the order and the outbox row that tells HQ, together.
    """
    clock = clock or SystemClock()
    rules = rules or RefundRules()
    part = store.partial_refund_in_flight(order_id)
    if part is not None:  # an unconfirmed part: repeat it, whatever is asked now (never twice)
        return _refund_part(store, gateway, part, actor, reason, rules, clock, resume=True)
    payment = store.refundable_payment(order_id)
    if payment is None:
        raise SaleError(f"order {order_id} has no paid payment to refund")
    out_trade_no = payment.out_trade_no
    resume = payment.status is PayState.REFUNDING
    if not resume:
        done = store.refunded_fen(out_trade_no)
        want = payment.amount_fen - done if amount_fen is None else amount_fen
        if done or want != payment.amount_fen:
            part = store.begin_partial_refund(out_trade_no, want, actor)
            return _refund_part(store, gateway, part, actor, reason, rules, clock, resume=False)
    out_refund_no = store.begin_refund(out_trade_no, actor)
    if resume:
        store.audit(actor, "refund_resumed", f"{out_trade_no} as {out_refund_no}")
    request = RefundRequest(out_trade_no, out_refund_no, payment.amount_fen, payment.amount_fen, reason)

    def on_call(tries: int, reply: Reply) -> None:
        said = f"{out_refund_no} try {tries}: {reply.answer.value}"
        store.audit(actor, "refund_call", f"{said} {reply.reason}".strip()[:500])

    result = engine.refund(gateway, request, rules, clock.monotonic, clock.sleep, resume, on_call)
    amount = payment.amount_fen
    if result.state is PayState.REFUNDED:
        store.record_refund(out_trade_no, result.refund_id, actor)
        return RefundOutcome("refunded", out_trade_no, out_refund_no, result.refund_id, amount_fen=amount)
    if result.refused:
        store.abandon_refund(out_trade_no, result.reason, actor)
        return RefundOutcome("failed", out_trade_no, out_refund_no, reason=result.reason, amount_fen=amount)
    store.audit(
        actor, "refund_unknown", f"{out_refund_no} after {result.tries} call(s): {result.reason}"[:500]
    )
    return RefundOutcome(
        "unknown",
        out_trade_no,
        out_refund_no,
        reason=f"{result.reason}; the refund is still open: run it again (same refund number, never twice)",
        amount_fen=amount,
    )


def _refund_part(
    store: SaleRepository,
    gateway: PaymentGateway,
    part: RefundRecord,
    actor: str,
    reason: str,
    rules: RefundRules,
    clock: Clock,
    resume: bool,
) -> RefundOutcome:
    """One partial refund (or the rest after parts) through the refund state machine: the same rules
    as a full refund, under the part's own refund number and amount."""
    payment = store.payment(part.out_trade_no)
    if payment is None:
        raise SaleError(f"no payment {part.out_trade_no}")
    if resume:
        store.audit(actor, "refund_resumed", f"{part.out_trade_no} as {part.out_refund_no}")
    request = RefundRequest(
        part.out_trade_no, part.out_refund_no, part.amount_fen, payment.amount_fen, reason
    )

    def on_call(tries: int, reply: Reply) -> None:
        said = f"{part.out_refund_no} try {tries}: {reply.answer.value}"
        store.audit(actor, "refund_call", f"{said} {reply.reason}".strip()[:500])

    result = engine.refund(gateway, request, rules, clock.monotonic, clock.sleep, resume, on_call)
    no, amount = part.out_refund_no, part.amount_fen
    if result.state is PayState.REFUNDED:
        store.record_partial_refund(no, result.refund_id, actor)
        return RefundOutcome("refunded", part.out_trade_no, no, result.refund_id, amount_fen=amount)
    if result.refused:
        store.abandon_partial_refund(no, result.reason, actor)
        return RefundOutcome("failed", part.out_trade_no, no, reason=result.reason, amount_fen=amount)
    store.audit(actor, "refund_unknown", f"{no} after {result.tries} call(s): {result.reason}"[:500])
    return RefundOutcome(
        "unknown",
        part.out_trade_no,
        no,
        reason=f"{result.reason}; the refund is still open: run it again (same refund number, never twice)",
        amount_fen=amount,
    )


# --- reconciliation -------------------------------------------------------------------------------


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
    PayState.PAID: {"paid"},
    # a refunded trade queries as paid (WeChat Pay: REFUND) or closed (Alipay after a full refund)
    PayState.REFUNDED: {"paid", "refunded", "cancelled"},
    PayState.REFUNDING: {"paid"},
    PayState.FAILED: {"failed", "unknown", "cancelled"},
    PayState.CANCELLED: {"cancelled", "unknown", "failed"},
}


def reconcile(
    store: SaleRepository, gateway: PaymentGateway, day: date, timezone: str = "Asia/Shanghai"
) -> tuple[int, list[Difference]]:
    """Compare every payment of ``day`` (a local calendar day) with what the gateway says now."""
    tz = ZoneInfo(timezone)
    start = datetime(day.year, day.month, day.day, tzinfo=tz).astimezone(UTC)
    end = start + timedelta(days=1)
    rows = store.payments_between(start, end)
    differences: list[Difference] = []
    for p in rows:
        try:
            result = gateway.query(p.out_trade_no)
            said = result.status.value
            detail = result.reason
        except GatewayError as exc:
            said, detail = "no_answer", str(exc)
        if said not in _AGREES.get(p.status, set()):
            differences.append(
                Difference(p.out_trade_no, p.channel, p.amount_fen, p.status.value, said, detail)
            )
    return len(rows), differences
