"""Drives :mod:`kiosk.core.payment` with a real gateway and clock: one charge, or one resumed payment.

The state machine decides; this module only calls the gateway, sleeps, and tells ``on_state`` about
every new state *before* acting on it (the caller commits it), so a crash at any point leaves a row
that says what might have happened: ``submitted`` before the pay call, ``cancelling`` before a cancel.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from kiosk import crashpoints
from kiosk.core.payment import (
    Answer,
    Attempt,
    Call,
    ChannelRules,
    Op,
    PayState,
    Refund,
    RefundRules,
    Reply,
    Stop,
    Wait,
    apply,
    apply_refund,
    decide,
    decide_refund,
    recovering,
    resuming_refund,
)
from kiosk.ports import (
    ChargeRequest,
    ChargeResult,
    ChargeStatus,
    GatewayError,
    PaymentGateway,
    RefundRequest,
)
from kiosk_common.codes import mask

log = logging.getLogger("kiosk.payments.engine")

#: more steps than any rules allow (queries + cancels + waits); a safety net, never the real bound
MAX_STEPS = 500

OnState = Callable[[PayState, str], None]

_ANSWER = {
    ChargeStatus.PAID: Answer.PAID,
    ChargeStatus.FAILED: Answer.FAILED,
    ChargeStatus.USER_PAYING: Answer.USER_PAYING,
    ChargeStatus.UNKNOWN: Answer.UNKNOWN,
    ChargeStatus.CANCELLED: Answer.CANCELLED,
    ChargeStatus.REFUNDED: Answer.PAID,
}

_RESULT = {
    PayState.PAID: ChargeStatus.PAID,
    PayState.FAILED: ChargeStatus.FAILED,
    PayState.CANCELLED: ChargeStatus.CANCELLED,
}


def _reply(call: Callable[[], ChargeResult], out_trade_no: str, what: str) -> Reply:
    try:
        result = call()
    except GatewayError as exc:
        log.warning("%s %s: %s", what, out_trade_no, exc)
        return Reply(Answer.NO_REPLY, reason=f"{what}: {exc}")
    if result.out_trade_no != out_trade_no:
        log.error("%s %s answered about %s", what, out_trade_no, result.out_trade_no)
        return Reply(Answer.NO_REPLY, reason=f"{what} answered about another order")
    return Reply(_ANSWER[result.status], result.transaction_id, result.reason, result.retry)


def drive(
    gateway: PaymentGateway,
    out_trade_no: str,
    attempt: Attempt,
    rules: ChannelRules,
    clock: Callable[[], float],
    sleep: Callable[[float], None],
    pay: Callable[[], ChargeResult] | None = None,
    on_state: OnState | None = None,
) -> ChargeResult:
    """Run the machine to a stop; PAID, FAILED, CANCELLED or UNKNOWN. Never raises GatewayError."""
    a = attempt
    # Time as the machine sees it never runs behind a wait it asked for: with a clock that stands
    # still (a broken RTC, a test), waits still move it on, so the count bounds end the charge.
    floor = clock()
    for _ in range(MAX_STEPS):
        now = max(clock(), floor)
        before = a.state
        a, action = decide(a, rules, now)
        if a.state is not before and on_state is not None:
            on_state(a.state, a.reason)
        if isinstance(action, Stop):
            break
        if isinstance(action, Wait):
            if a.state is PayState.CANCELLING:
                crashpoints.reached("reverse_wait")
            sleep(max(0.0, action.until - now))
            floor = max(floor, action.until)
            continue
        assert isinstance(action, Call)
        if action.op is Op.PAY:
            if pay is None:
                raise ValueError("a new attempt needs a pay call")
            crashpoints.reached("pay_before_call")
            reply = _reply(pay, out_trade_no, "pay")
        elif action.op is Op.QUERY:
            if a.recovering:
                crashpoints.reached("recovery_query")
            reply = _reply(lambda: gateway.query(out_trade_no), out_trade_no, "query")
        else:
            reply = _reply(lambda: gateway.cancel(out_trade_no), out_trade_no, "cancel")
        before = a.state
        a = apply(a, rules, max(clock(), floor), action.op, reply)
        log.info("%s %s -> %s (%s)", action.op.value, out_trade_no, a.state.value, reply.answer.value)
        if a.state is not before and on_state is not None and not a.finished:
            on_state(a.state, a.reason)
    else:
        a = Attempt(state=PayState.UNKNOWN, exhausted=True, reason="too many steps")
    status = _RESULT.get(a.state, ChargeStatus.UNKNOWN)
    reason = a.reason
    if status is ChargeStatus.CANCELLED and a.cancels:
        reason = f"payment was not confirmed in time and was cancelled at the gateway ({a.reason})"
    elif status is ChargeStatus.UNKNOWN:
        reason = f"payment could not be confirmed ({a.reason}); check this order with the gateway"
    return ChargeResult(status, out_trade_no, a.transaction_id, reason)


def charge(
    gateway: PaymentGateway,
    request: ChargeRequest,
    rules: ChannelRules,
    clock: Callable[[], float],
    sleep: Callable[[float], None],
    on_state: OnState | None = None,
) -> ChargeResult:
    """One new charge: pay, then query / cancel by the channel's rules."""
    log.info(
        "charging %s: %d fen, code %s", request.out_trade_no, request.amount_fen, mask(request.auth_code)
    )
    return drive(
        gateway,
        request.out_trade_no,
        Attempt(),
        rules,
        clock,
        sleep,
        pay=lambda: gateway.pay(request),
        on_state=on_state,
    )


def resolve(
    gateway: PaymentGateway,
    out_trade_no: str,
    state: PayState,
    age_s: float,
    rules: ChannelRules,
    clock: Callable[[], float],
    sleep: Callable[[float], None],
    on_state: OnState | None = None,
) -> ChargeResult:
    """A payment a crash left open (``age_s`` since its pay call): query, then cancel/reverse if still open."""
    now = clock()
    return drive(
        gateway,
        out_trade_no,
        recovering(state, now - max(0.0, age_s), now),
        rules,
        clock,
        sleep,
        on_state=on_state,
    )


#: what a refund call's answer means to the refund machine; anything undecided is asked again
_REFUND_ANSWER = {ChargeStatus.REFUNDED: Answer.REFUNDED, ChargeStatus.FAILED: Answer.FAILED}

#: told about every refund call and its answer: (try number, answer), for the audit log
OnRefundCall = Callable[[int, Reply], None]


def _refund_reply(gateway: PaymentGateway, request: RefundRequest) -> Reply:
    try:
        result = gateway.refund(request)
    except GatewayError as exc:
        log.warning("refund %s: %s", request.out_refund_no, exc)
        return Reply(Answer.NO_REPLY, reason=f"refund: {exc}")
    if result.out_trade_no and result.out_trade_no != request.out_trade_no:
        log.error("refund %s answered about %s", request.out_refund_no, result.out_trade_no)
        return Reply(Answer.NO_REPLY, reason="refund answered about another order")
    answer = _REFUND_ANSWER.get(result.status, Answer.UNKNOWN)
    return Reply(answer, result.transaction_id, result.reason)


def refund(
    gateway: PaymentGateway,
    request: RefundRequest,
    rules: RefundRules,
    clock: Callable[[], float],
    sleep: Callable[[float], None],
    resume: bool = False,
    on_call: OnRefundCall | None = None,
) -> Refund:
    """Run the refund machine to a stop: REFUNDED, refused (PAID) or exhausted (still REFUNDING).

    Every call sends the same ``request`` (the same ``out_refund_no``), so a repeat after a lost
    answer is the same refund at the gateway. ``resume`` for a refund already recorded REFUNDING.
    Never raises GatewayError.
    """
    r = resuming_refund() if resume else Refund()
    floor = clock()
    for _ in range(MAX_STEPS):
        now = max(clock(), floor)
        r, action = decide_refund(r, rules, now)
        if isinstance(action, Stop):
            break
        if isinstance(action, Wait):
            sleep(max(0.0, action.until - now))
            floor = max(floor, action.until)
            continue
        reply = _refund_reply(gateway, request)
        r = apply_refund(r, rules, max(clock(), floor), reply)
        log.info(
            "refund %s try %d -> %s (%s)", request.out_refund_no, r.tries, r.state.value, reply.answer.value
        )
        if on_call is not None:
            on_call(r.tries, reply)
    else:
        r = Refund(state=PayState.REFUNDING, exhausted=True, reason="too many steps")
    return r
