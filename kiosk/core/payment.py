"""One payment attempt as a pure state machine, with each channel's timers.

``decide(attempt, rules, now) -> (attempt, action)`` says what to do next: call the gateway (pay,
query, cancel), wait until a time, or stop. ``apply(attempt, rules, now, op, reply)`` folds the
gateway's answer in. No I/O and no clock of its own: ``kiosk.payments.engine`` drives it with the real
clock and the real gateway, the tests with a fake clock and a table of answers.

Why it is shaped by the channels' published rules rather than one loop for all:

- WeChat Pay (刷卡支付): on ``USERPAYING`` or ``SYSTEMERROR`` query about every 5 s; stop querying
  before 45 s (the customer's password time); reverse (撤销) only 15 s or more after the pay call, and
  repeat the reverse while the gateway answers ``recall=Y``.
- Alipay (条码支付): on ``10003`` (waiting for the password) or ``20000`` (unknown) query every
  3-5 s up to the configured limit, then cancel, repeating while ``retry_flag=Y``.

Everything is bounded twice: by wall-clock time from the pay call, and by a count of calls, so a
clock that stands still cannot keep a customer at the screen.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass, replace


class PayState(enum.StrEnum):
    CREATED = "created"
    SUBMITTED = "submitted"
    USER_PAYING = "user_paying"
    UNKNOWN = "unknown"
    PAID = "paid"
    FAILED = "failed"
    CANCELLING = "cancelling"
    CANCELLED = "cancelled"
    #: a refund of a paid payment was asked for and is not confirmed yet (see ``decide_refund``)
    REFUNDING = "refunding"
    REFUNDED = "refunded"


FINAL_STATES = frozenset({PayState.PAID, PayState.FAILED, PayState.CANCELLED, PayState.REFUNDED})
#: states a crash may leave behind; start-up resolves each of them with the gateway
OPEN_STATES = frozenset({PayState.SUBMITTED, PayState.USER_PAYING, PayState.UNKNOWN, PayState.CANCELLING})


class Op(enum.StrEnum):
    PAY = "pay"
    QUERY = "query"
    CANCEL = "cancel"
    REFUND = "refund"


class Answer(enum.StrEnum):
    """What a gateway call told us, in the channel-neutral words of this machine."""

    PAID = "paid"
    FAILED = "failed"  # declined for good: the code may not be tried again
    USER_PAYING = "user_paying"
    UNKNOWN = "unknown"  # the gateway answered but did not decide (system error, order not found yet)
    CANCELLED = "cancelled"  # the trade is closed or reversed
    REFUNDED = "refunded"  # refund only: the gateway confirmed this out_refund_no
    NO_REPLY = "no_reply"  # timeout, refused connection, bad signature: we know nothing


@dataclass(frozen=True, slots=True)
class Reply:
    answer: Answer
    transaction_id: str = ""
    reason: str = ""
    #: cancel only: the gateway asks for the cancel to be repeated (recall=Y / retry_flag=Y)
    retry: bool = False


@dataclass(frozen=True, slots=True)
class ChannelRules:
    channel: str
    query_interval_s: float
    #: stop querying and start cancelling this long after the pay call
    give_up_after_s: float
    #: never cancel earlier than this after the pay call (WeChat Pay: 15 s)
    cancel_not_before_s: float = 0.0
    cancel_retry_interval_s: float = 2.0
    #: keep trying to cancel for at most this long after giving up
    cancel_window_s: float = 30.0
    max_cancels: int = 10

    def __post_init__(self) -> None:
        for name in ("query_interval_s", "give_up_after_s", "cancel_retry_interval_s", "cancel_window_s"):
            value = getattr(self, name)
            if not (value > 0 and math.isfinite(value)):
                raise ValueError(f"{name} must be a positive number of seconds, got {value!r}")
        if not 0 <= self.cancel_not_before_s < 600:
            raise ValueError(
                f"cancel_not_before_s must be 0 to 600 seconds, got {self.cancel_not_before_s!r}"
            )
        if self.max_cancels < 1:
            raise ValueError("max_cancels must be at least 1")

    @property
    def max_queries(self) -> int:
        return math.ceil(self.give_up_after_s / self.query_interval_s) + 1


#: WeChat Pay asks merchants to stop polling before 45 s; we give up at 40 s at the latest
WECHAT_GIVE_UP_S = 40.0
WECHAT_QUERY_INTERVAL_S = 5.0
WECHAT_REVERSE_NOT_BEFORE_S = 15.0
ALIPAY_QUERY_INTERVAL_S = 4.0


def wechat_rules(
    max_wait_s: float = WECHAT_GIVE_UP_S, query_interval_s: float = WECHAT_QUERY_INTERVAL_S
) -> ChannelRules:
    """WeChat Pay's timers, capped by the kiosk's ``payments.max_wait_s``."""
    return ChannelRules(
        channel="wechat",
        query_interval_s=query_interval_s,
        give_up_after_s=min(max_wait_s, WECHAT_GIVE_UP_S),
        cancel_not_before_s=WECHAT_REVERSE_NOT_BEFORE_S,
        cancel_retry_interval_s=2.0,
    )


def alipay_rules(max_wait_s: float = 45.0, query_interval_s: float = ALIPAY_QUERY_INTERVAL_S) -> ChannelRules:
    """Alipay's timers: query every 3-5 s (clamped) up to the configured limit, then cancel."""
    return ChannelRules(
        channel="alipay",
        query_interval_s=min(max(query_interval_s, 3.0), 5.0),
        give_up_after_s=max_wait_s,
        cancel_retry_interval_s=2.0,
    )


@dataclass(frozen=True, slots=True)
class Attempt:
    state: PayState = PayState.CREATED
    #: clock time of the pay call (for recovery: when the pay call was made, on the same clock)
    started_at: float = 0.0
    next_at: float = 0.0
    queries: int = 0
    cancels: int = 0
    gave_up_at: float | None = None
    transaction_id: str = ""
    reason: str = ""
    #: the machine has nothing more to try (a cancel that failed for good): staff must look
    exhausted: bool = False
    #: resuming after a restart: query once, then cancel
    recovering: bool = False

    @property
    def finished(self) -> bool:
        return self.state in FINAL_STATES or self.exhausted


def recovering(state: PayState, started_at: float, now: float) -> Attempt:
    """An attempt a crash left in ``state``: query at once; if that does not settle it, cancel."""
    if state not in OPEN_STATES:
        raise ValueError(f"only an open payment can be resumed, not one that is {state}")
    return Attempt(state=state, started_at=started_at, next_at=now, recovering=True, gave_up_at=None)


@dataclass(frozen=True, slots=True)
class Call:
    op: Op


@dataclass(frozen=True, slots=True)
class Wait:
    until: float


@dataclass(frozen=True, slots=True)
class Stop:
    pass


Action = Call | Wait | Stop


def decide(a: Attempt, rules: ChannelRules, now: float) -> tuple[Attempt, Action]:
    """The next thing to do. A changed ``state`` in the returned attempt must be recorded before acting."""
    if a.finished:
        return a, Stop()
    if a.state is PayState.CREATED:
        return replace(a, state=PayState.SUBMITTED, started_at=now, next_at=now), Call(Op.PAY)
    if a.state is not PayState.CANCELLING:
        out_of_time = now - a.started_at >= rules.give_up_after_s or a.queries >= rules.max_queries
        if a.recovering:
            out_of_time = a.queries >= 1
        if not out_of_time:
            if now < a.next_at:
                return a, Wait(min(a.next_at, a.started_at + rules.give_up_after_s))
            return replace(a, queries=a.queries + 1), Call(Op.QUERY)
        a = replace(a, state=PayState.CANCELLING, gave_up_at=now, next_at=now)
    gave_up_at = now if a.gave_up_at is None else a.gave_up_at
    if a.cancels >= rules.max_cancels or now - gave_up_at > rules.cancel_window_s + rules.cancel_not_before_s:
        return replace(
            a, state=PayState.UNKNOWN, exhausted=True, reason=a.reason or "cancel not confirmed"
        ), Stop()
    due = max(a.next_at, a.started_at + rules.cancel_not_before_s)
    if now < due:
        return a, Wait(due)
    return replace(a, cancels=a.cancels + 1), Call(Op.CANCEL)


def apply(a: Attempt, rules: ChannelRules, now: float, op: Op, reply: Reply) -> Attempt:
    """Fold one gateway answer into the attempt."""
    txn = reply.transaction_id or a.transaction_id
    reason = reply.reason or a.reason
    if op is Op.CANCEL:
        if reply.answer is Answer.CANCELLED and not reply.retry:
            return replace(a, state=PayState.CANCELLED, transaction_id=txn, reason=reason)
        if reply.answer is Answer.PAID:
            # No channel answers a cancel with "paid"; treat it as "try again" rather than believing it.
            return replace(a, next_at=now + rules.cancel_retry_interval_s, reason=reason)
        if reply.answer in (Answer.NO_REPLY,) or reply.retry:
            return replace(a, next_at=now + rules.cancel_retry_interval_s, reason=reason)
        # The gateway refused the cancel and does not ask for a retry: nothing more we can do.
        return replace(a, state=PayState.UNKNOWN, exhausted=True, reason=f"cancel refused: {reason}")
    if reply.answer is Answer.PAID:
        return replace(a, state=PayState.PAID, transaction_id=txn, reason="")
    if reply.answer is Answer.FAILED:
        return replace(a, state=PayState.FAILED, reason=reason)
    if reply.answer is Answer.CANCELLED:
        return replace(a, state=PayState.CANCELLED, transaction_id=txn, reason=reason)
    nxt = now + rules.query_interval_s
    if reply.answer is Answer.USER_PAYING:
        return replace(a, state=PayState.USER_PAYING, next_at=nxt, reason=reason)
    # UNKNOWN or NO_REPLY: a user already entering a password stays so; anything else is unknown.
    state = a.state if a.state is PayState.USER_PAYING else PayState.UNKNOWN
    return replace(a, state=state, next_at=nxt, reason=reason)


# --- refunds ---------------------------------------------------------------------------------------
# A refund gives back a paid payment: PAID -> REFUNDING -> REFUNDED, or back to PAID when the gateway
# refuses it for good. Both channels key a refund by its out_refund_no (WeChat Pay ``out_refund_no``,
# Alipay ``out_request_no``) and answer a repeat with the first refund's result, so repeating the
# same refund call is at once the query and the retry: it cannot give the money back twice. After a
# lost or undecided answer the machine repeats it, bounded by wall-clock time and by a count; a
# refund still unconfirmed then stays REFUNDING for staff to run again (same number, same safety).


@dataclass(frozen=True, slots=True)
class RefundRules:
    #: wait this long between repeats of a refund whose answer was lost
    retry_interval_s: float = 3.0
    #: stop repeating this long after the first refund call
    give_up_after_s: float = 30.0
    #: at most this many refund calls in one run, the first included
    max_tries: int = 6

    def __post_init__(self) -> None:
        for name in ("retry_interval_s", "give_up_after_s"):
            value = getattr(self, name)
            if not (value > 0 and math.isfinite(value)):
                raise ValueError(f"{name} must be a positive number of seconds, got {value!r}")
        if self.max_tries < 1:
            raise ValueError(f"max_tries must be at least 1, got {self.max_tries!r}")


@dataclass(frozen=True, slots=True)
class Refund:
    state: PayState = PayState.PAID
    #: clock time of this run's first refund call
    started_at: float = 0.0
    next_at: float = 0.0
    tries: int = 0
    refund_id: str = ""
    reason: str = ""
    #: the gateway refused the refund for good: the payment stays paid
    refused: bool = False
    #: out of time or tries with no answer: the refund stays REFUNDING, to be run again
    exhausted: bool = False

    @property
    def finished(self) -> bool:
        return self.state is PayState.REFUNDED or self.refused or self.exhausted


def resuming_refund() -> Refund:
    """A refund an earlier run (a lost answer, a crash) left REFUNDING: repeat it with the same number."""
    return Refund(state=PayState.REFUNDING)


def decide_refund(r: Refund, rules: RefundRules, now: float) -> tuple[Refund, Action]:
    """The next refund step. A changed ``state`` in the returned refund must be recorded before acting."""
    if r.finished:
        return r, Stop()
    if r.state is PayState.PAID:
        return replace(r, state=PayState.REFUNDING, started_at=now, next_at=now, tries=1), Call(Op.REFUND)
    if r.state is not PayState.REFUNDING:
        raise ValueError(f"only a paid or refunding payment can be refunded, not one that is {r.state}")
    if r.tries == 0:  # resumed: this run's first call, now
        return replace(r, started_at=now, next_at=now, tries=1), Call(Op.REFUND)
    if r.tries >= rules.max_tries or now - r.started_at >= rules.give_up_after_s:
        return replace(r, exhausted=True, reason=r.reason or "refund not confirmed"), Stop()
    if now < r.next_at:
        return r, Wait(min(r.next_at, r.started_at + rules.give_up_after_s))
    return replace(r, tries=r.tries + 1), Call(Op.REFUND)


def apply_refund(r: Refund, rules: RefundRules, now: float, reply: Reply) -> Refund:
    """Fold one refund answer in: confirmed, refused for good, or unknown (repeat later)."""
    if reply.answer is Answer.REFUNDED:
        return replace(r, state=PayState.REFUNDED, refund_id=reply.transaction_id, reason="")
    if reply.answer is Answer.FAILED:
        return replace(r, state=PayState.PAID, refused=True, reason=reply.reason or "refused by the gateway")
    return replace(r, next_at=now + rules.retry_interval_s, reason=reply.reason or r.reason)
