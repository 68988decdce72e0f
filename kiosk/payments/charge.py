"""One charge carried to a final answer, within a bounded time: pay, poll, and if need be cancel.

The rule that shapes it: a customer must never be charged for goods they did not get, and never be
charged twice. So an answer we did not get (a timeout, a 5xx) is "unknown", never "failed"; we keep
asking (query) until the gateway says paid or failed, and when the time is up we cancel, which
reverses the charge if it went through after all. Time comes in as ``clock`` and ``sleep`` so the
whole flow runs in a unit test in microseconds, and the loop is bounded by a count as well as by
the clock, so a clock that stands still cannot keep a customer at the screen for ever.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable

from kiosk.ports import ChargeRequest, ChargeResult, ChargeStatus, GatewayError, PaymentGateway
from kiosk_common.codes import mask

log = logging.getLogger("kiosk.payments.charge")

FINAL_STATUSES = frozenset({ChargeStatus.PAID, ChargeStatus.FAILED, ChargeStatus.CANCELLED})


def max_queries(max_wait_s: float, poll_interval_s: float) -> int:
    """The most queries one charge may make: one per interval of the wait, plus one at the deadline."""
    return math.ceil(max_wait_s / poll_interval_s) + 1


def _ask(call: Callable[[], ChargeResult], out_trade_no: str, what: str) -> ChargeResult:
    try:
        result = call()
    except GatewayError as exc:
        log.warning("%s %s: %s", what, out_trade_no, exc)
        return ChargeResult(ChargeStatus.UNKNOWN, out_trade_no, "", f"{what} got no usable answer: {exc}")
    if result.out_trade_no != out_trade_no:
        # An adapter bug or a confused gateway: an answer about another order says nothing about this one.
        log.error("%s %s answered about %s", what, out_trade_no, result.out_trade_no)
        return ChargeResult(ChargeStatus.UNKNOWN, out_trade_no, "", f"{what} answered about another order")
    return result


def charge_until_final(
    gateway: PaymentGateway,
    request: ChargeRequest,
    clock: Callable[[], float],
    sleep: Callable[[float], None],
    max_wait_s: float,
    poll_interval_s: float,
) -> ChargeResult:
    """Charge ``request`` and return PAID, FAILED, CANCELLED or UNKNOWN; never raises GatewayError.

    PAID and FAILED are the gateway's word. CANCELLED means no answer came within ``max_wait_s`` and
    the gateway confirmed the cancel (nothing is charged). UNKNOWN means even the cancel failed:
    staff must check the order with the gateway, and the order stays open until they do.
    """
    if not max_wait_s > 0 or not math.isfinite(max_wait_s):
        raise ValueError(f"max_wait_s must be a positive number of seconds, got {max_wait_s!r}")
    if not poll_interval_s > 0 or not math.isfinite(poll_interval_s):
        raise ValueError(f"poll_interval_s must be a positive number of seconds, got {poll_interval_s!r}")
    out_trade_no = request.out_trade_no
    started = clock()
    deadline = started + max_wait_s
    log.info("charging %s: %d fen, code %s", out_trade_no, request.amount_fen, mask(request.auth_code))

    result = _ask(lambda: gateway.pay(request), out_trade_no, "pay")
    if result.status in FINAL_STATUSES:
        return result

    limit = max_queries(max_wait_s, poll_interval_s)
    for _ in range(limit):
        remaining = deadline - clock()
        if remaining <= 0:
            break
        sleep(min(poll_interval_s, remaining))
        result = _ask(lambda: gateway.query(out_trade_no), out_trade_no, "query")
        if result.status in FINAL_STATUSES:
            return result
    return _give_up(gateway, out_trade_no, result, clock() - started)


def _give_up(gateway: PaymentGateway, out_trade_no: str, last: ChargeResult, waited_s: float) -> ChargeResult:
    """Cancel once: a charge we cannot confirm must not be left to go through later."""
    last_said = last.status.value + (f" ({last.reason})" if last.reason else "")
    log.warning("%s not confirmed after %.1f s (last: %s); cancelling", out_trade_no, waited_s, last_said)
    try:
        cancelled = gateway.cancel(out_trade_no)
    except GatewayError as exc:
        reason = (
            f"payment could not be confirmed within {waited_s:.0f} s (last: {last_said}) "
            f"and the cancel failed ({exc}); check this order with the gateway"
        )
        log.error("%s: %s", out_trade_no, reason)
        return ChargeResult(ChargeStatus.UNKNOWN, out_trade_no, "", reason)
    if cancelled.status is ChargeStatus.CANCELLED and cancelled.out_trade_no == out_trade_no:
        reason = (
            f"payment was not confirmed within {waited_s:.0f} s (last: {last_said}); "
            f"it was cancelled at the gateway{f' ({cancelled.reason})' if cancelled.reason else ''}"
        )
        log.warning("%s: %s", out_trade_no, reason)
        return ChargeResult(ChargeStatus.CANCELLED, out_trade_no, cancelled.transaction_id, reason)
    reason = (
        f"payment could not be confirmed within {waited_s:.0f} s (last: {last_said}) and the cancel "
        f"answered {cancelled.status.value} {cancelled.reason}".rstrip()
        + "; check this order with the gateway"
    )
    log.error("%s: %s", out_trade_no, reason)
    return ChargeResult(ChargeStatus.UNKNOWN, out_trade_no, cancelled.transaction_id, reason)
