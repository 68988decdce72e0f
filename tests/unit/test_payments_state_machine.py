"""The payment state machine and its channel timers, table-driven, on a fake clock.

Each row scripts the gateway's answers (FakePaymentGateway, the network edge) and asserts which
calls the machine made at which second, what it ended as, and which states it committed first.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kiosk.core.payment import (
    Answer,
    Attempt,
    Call,
    ChannelRules,
    Op,
    PayState,
    Reply,
    Stop,
    Wait,
    alipay_rules,
    apply,
    decide,
    wechat_rules,
)
from kiosk.payments import engine
from kiosk.ports import ChargeRequest, ChargeResult, ChargeStatus, GatewayError, RefundRequest
from tests.fakes.payments import FakePaymentGateway, Outcome

S = ChargeStatus
OTN = "K1"
DOWN = GatewayError("connection refused")


def R(status: ChargeStatus, reason: str = "", retry: bool = False) -> ChargeResult:
    return ChargeResult(status, OTN, "T1" if status is S.PAID else "", reason, retry)


@dataclass
class FakeClock:
    now: float = 1000.0
    sleeps: list[float] = field(default_factory=list)

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds >= 0
        self.sleeps.append(seconds)
        self.now += seconds


class TimedGateway:
    """Delegates to the fake and notes the (fake) second of each call, relative to the start."""

    def __init__(self, inner: FakePaymentGateway, clock: FakeClock) -> None:
        self.inner, self.clock, self.start = inner, clock, clock.now
        self.name = inner.name
        self.calls: list[tuple[str, float]] = []

    def _note(self, op: str) -> None:
        self.calls.append((op, round(self.clock.now - self.start, 3)))

    def pay(self, request: ChargeRequest) -> ChargeResult:
        self._note("pay")
        return self.inner.pay(request)

    def query(self, out_trade_no: str) -> ChargeResult:
        self._note("query")
        return self.inner.query(out_trade_no)

    def cancel(self, out_trade_no: str) -> ChargeResult:
        self._note("cancel")
        return self.inner.cancel(out_trade_no)

    def refund(self, request: RefundRequest) -> ChargeResult:
        self._note("refund")
        return self.inner.refund(request)


def run(
    rules: ChannelRules,
    pay: list[Outcome],
    query: list[Outcome] = (),  # type: ignore[assignment]
    cancel: list[Outcome] = (),  # type: ignore[assignment]
    channel: str = "wechat",
) -> tuple[ChargeResult, list[tuple[str, float]], list[str]]:
    clock = FakeClock()
    gw = TimedGateway(FakePaymentGateway(pay=pay, query=query, cancel=cancel), clock)
    states: list[str] = []
    request = ChargeRequest(OTN, channel, "134567890123451234", 100, "t")
    result = engine.charge(gw, request, rules, clock, clock.sleep, lambda s, _r: states.append(s.value))
    return result, gw.calls, states


WX = wechat_rules(45, 5)
ALI = alipay_rules(45, 4)
UP = R(S.USER_PAYING, "USERPAYING")
SYS = R(S.UNKNOWN, "SYSTEMERROR")


@pytest.mark.parametrize(
    ("name", "rules", "pay", "query", "cancel", "status", "calls", "states"),
    [
        ("wechat paid at once", WX, [R(S.PAID)], [], [], S.PAID, [("pay", 0)], ["submitted"]),
        ("wechat declined", WX, [R(S.FAILED, "NOTENOUGH")], [], [], S.FAILED, [("pay", 0)], ["submitted"]),
        (
            "wechat password then paid",
            WX,
            [UP],
            [UP, R(S.PAID)],
            [],
            S.PAID,
            [("pay", 0), ("query", 5), ("query", 10)],
            ["submitted", "user_paying"],
        ),
        (
            "wechat system error then paid",
            WX,
            [SYS],
            [R(S.PAID)],
            [],
            S.PAID,
            [("pay", 0), ("query", 5)],
            ["submitted", "unknown"],
        ),
        (
            "wechat no reply, query says paid",
            WX,
            [DOWN],
            [DOWN, R(S.PAID)],
            [],
            S.PAID,
            [("pay", 0), ("query", 5), ("query", 10)],
            ["submitted", "unknown"],
        ),
        (
            "wechat password never comes: queries to 40 s, then reverse",
            WX,
            [UP],
            [UP] * 20,
            [R(S.CANCELLED)],
            S.CANCELLED,
            [("pay", 0)] + [("query", t) for t in (5, 10, 15, 20, 25, 30, 35)] + [("cancel", 40)],
            ["submitted", "user_paying", "cancelling"],
        ),
        (
            "wechat reverse repeated while recall=Y",
            WX,
            [UP],
            [UP] * 20,
            [R(S.CANCELLED, retry=True), R(S.UNKNOWN, "SYSTEMERROR", retry=True), R(S.CANCELLED)],
            S.CANCELLED,
            [("pay", 0)]
            + [("query", t) for t in (5, 10, 15, 20, 25, 30, 35)]
            + [("cancel", 40), ("cancel", 42), ("cancel", 44)],
            ["submitted", "user_paying", "cancelling"],
        ),
        (
            "wechat reverse refused for good: unknown, staff",
            WX,
            [UP],
            [UP] * 20,
            [R(S.UNKNOWN, "reverse: REVERSE_EXPIRE")],
            S.UNKNOWN,
            [("pay", 0)] + [("query", t) for t in (5, 10, 15, 20, 25, 30, 35)] + [("cancel", 40)],
            ["submitted", "user_paying", "cancelling"],
        ),
        (
            "wechat paid during the wait is never reversed",
            WX,
            [UP],
            [UP, UP, UP, UP, UP, UP, R(S.PAID)],
            [],
            S.PAID,
            [("pay", 0)] + [("query", t) for t in (5, 10, 15, 20, 25, 30, 35)],
            ["submitted", "user_paying"],
        ),
        (
            "alipay 10003 then paid, queries every 4 s",
            ALI,
            [UP],
            [UP, R(S.PAID)],
            [],
            S.PAID,
            [("pay", 0), ("query", 4), ("query", 8)],
            ["submitted", "user_paying"],
        ),
        (
            "alipay never paid: queries to the limit, cancel at once, again while retry_flag=Y",
            ALI,
            [SYS],
            [SYS] * 20,
            [R(S.CANCELLED, "close", retry=True), R(S.CANCELLED, "close")],
            S.CANCELLED,
            [("pay", 0)] + [("query", float(t)) for t in range(4, 45, 4)] + [("cancel", 45), ("cancel", 47)],
            ["submitted", "unknown", "cancelling"],
        ),
        (
            "alipay declined",
            ALI,
            [R(S.FAILED, "ACQ.BUYER_BALANCE_NOT_ENOUGH")],
            [],
            [],
            S.FAILED,
            [("pay", 0)],
            ["submitted"],
        ),
    ],
)
def test_charge_table(
    name: str,
    rules: ChannelRules,
    pay: list[Outcome],
    query: list[Outcome],
    cancel: list[Outcome],
    status: ChargeStatus,
    calls: list[tuple[str, float]],
    states: list[str],
) -> None:
    result, made, committed = run(rules, pay, query, cancel)
    assert result.status is status, name
    assert made == calls, name
    assert committed == states, name
    if status is S.PAID:
        assert result.transaction_id == "T1"


def test_wechat_never_reverses_sooner_than_15_s_after_the_pay_call() -> None:
    short = wechat_rules(max_wait_s=6, query_interval_s=5)
    result, calls, _ = run(short, [UP], [UP] * 5, [R(S.CANCELLED)])
    assert result.status is S.CANCELLED
    assert calls == [("pay", 0), ("query", 5), ("cancel", 15)]


def test_wechat_stops_querying_before_45_s_whatever_the_config_says() -> None:
    rules = wechat_rules(max_wait_s=300)
    assert rules.give_up_after_s < 45
    _, calls, _ = run(rules, [UP], [UP] * 100, [R(S.CANCELLED)])
    assert max(t for op, t in calls if op == "query") < 45


@pytest.mark.parametrize(("asked", "used"), [(1.0, 3.0), (4.0, 4.0), (10.0, 5.0)])
def test_alipay_query_interval_stays_within_3_to_5_s(asked: float, used: float) -> None:
    assert alipay_rules(45, asked).query_interval_s == used


def test_a_gateway_that_never_answers_ends_unknown_within_bounded_calls() -> None:
    result, calls, states = run(WX, [DOWN], [DOWN] * 100, [DOWN] * 100)
    assert result.status is S.UNKNOWN
    assert "check this order" in result.reason
    cancels = [t for op, t in calls if op == "cancel"]
    assert 1 <= len(cancels) <= WX.max_cancels
    assert cancels[-1] <= WX.give_up_after_s + WX.cancel_window_s + WX.cancel_not_before_s
    assert states[-1] == "unknown"


def test_a_clock_that_stands_still_cannot_keep_the_customer_waiting() -> None:
    """GIVEN a clock that never moves WHEN the gateway keeps saying "user paying" THEN the count bound ends it."""
    gw = FakePaymentGateway(pay=[UP], query=[UP] * 1000, cancel=[R(S.CANCELLED)])
    request = ChargeRequest(OTN, "alipay", "2834567890121234", 100, "t")
    result = engine.charge(gw, request, ALI, lambda: 5.0, lambda _s: None)
    assert result.status is S.CANCELLED
    assert 1 <= gw.count("query") <= ALI.max_queries


@pytest.mark.parametrize(
    ("channel", "rules", "query", "cancel", "status", "calls"),
    [
        ("wechat", WX, [R(S.PAID)], [], S.PAID, [("query", 0)]),
        ("wechat", WX, [R(S.FAILED, "PAYERROR")], [], S.FAILED, [("query", 0)]),
        # a pay 2 s old: WeChat Pay's reverse must wait until 15 s after it
        (
            "wechat",
            WX,
            [R(S.UNKNOWN, "ORDER_NOT_EXIST")],
            [R(S.CANCELLED)],
            S.CANCELLED,
            [("query", 0), ("cancel", 13)],
        ),
        ("alipay", ALI, [UP], [R(S.CANCELLED)], S.CANCELLED, [("query", 0), ("cancel", 0)]),
        ("alipay", ALI, [DOWN], [DOWN] * 20, S.UNKNOWN, None),
    ],
)
def test_resolving_a_payment_left_open_by_a_crash(
    channel: str,
    rules: ChannelRules,
    query: list[Outcome],
    cancel: list[Outcome],
    status: ChargeStatus,
    calls: list[tuple[str, float]] | None,
) -> None:
    clock = FakeClock()
    gw = TimedGateway(FakePaymentGateway(query=query, cancel=cancel), clock)
    result = engine.resolve(gw, OTN, PayState.SUBMITTED, 2.0, rules, clock, clock.sleep)
    assert result.status is status
    assert gw.inner.count("pay") == 0  # recovery never pays again
    if calls is not None:
        assert gw.calls == calls


# --- the pure functions directly -------------------------------------------------------------------


def test_decide_starts_with_pay_and_records_submitted_first() -> None:
    a, action = decide(Attempt(), WX, 10.0)
    assert action == Call(Op.PAY) and a.state is PayState.SUBMITTED and a.started_at == 10.0


@pytest.mark.parametrize(
    ("op", "reply", "state"),
    [
        (Op.PAY, Reply(Answer.PAID, "T"), PayState.PAID),
        (Op.PAY, Reply(Answer.FAILED), PayState.FAILED),
        (Op.PAY, Reply(Answer.USER_PAYING), PayState.USER_PAYING),
        (Op.PAY, Reply(Answer.UNKNOWN), PayState.UNKNOWN),
        (Op.PAY, Reply(Answer.NO_REPLY), PayState.UNKNOWN),
        (Op.PAY, Reply(Answer.CANCELLED), PayState.CANCELLED),
        (Op.QUERY, Reply(Answer.USER_PAYING), PayState.USER_PAYING),
        (Op.QUERY, Reply(Answer.PAID, "T"), PayState.PAID),
        (Op.CANCEL, Reply(Answer.CANCELLED), PayState.CANCELLED),
        (Op.CANCEL, Reply(Answer.CANCELLED, retry=True), PayState.CANCELLING),
        (Op.CANCEL, Reply(Answer.NO_REPLY), PayState.CANCELLING),
        (Op.CANCEL, Reply(Answer.PAID), PayState.CANCELLING),
        (Op.CANCEL, Reply(Answer.UNKNOWN), PayState.UNKNOWN),
    ],
)
def test_apply_table(op: Op, reply: Reply, state: PayState) -> None:
    before = Attempt(state=PayState.CANCELLING if op is Op.CANCEL else PayState.SUBMITTED, started_at=0.0)
    assert apply(before, WX, 1.0, op, reply).state is state


def test_a_user_entering_a_password_stays_so_when_a_query_gets_no_answer() -> None:
    a = Attempt(state=PayState.USER_PAYING, started_at=0.0)
    assert apply(a, WX, 5.0, Op.QUERY, Reply(Answer.NO_REPLY)).state is PayState.USER_PAYING


def test_final_attempts_stop_and_waits_say_until_when() -> None:
    assert decide(Attempt(state=PayState.PAID), WX, 0.0)[1] == Stop()
    a = Attempt(state=PayState.USER_PAYING, started_at=0.0, next_at=5.0)
    assert decide(a, WX, 1.0)[1] == Wait(5.0)


@pytest.mark.parametrize(
    "bad",
    [
        {"query_interval_s": 0.0},
        {"give_up_after_s": float("inf")},
        {"cancel_not_before_s": -1.0},
        {"max_cancels": 0},
    ],
)
def test_rules_refuse_nonsense(bad: dict[str, float]) -> None:
    args: dict[str, object] = {"channel": "x", "query_interval_s": 1.0, "give_up_after_s": 10.0} | bad
    with pytest.raises(ValueError):
        ChannelRules(**args)  # type: ignore[arg-type]


_ANY = [
    R(S.PAID),
    R(S.FAILED, "NOTENOUGH"),
    UP,
    SYS,
    R(S.CANCELLED),
    R(S.CANCELLED, retry=True),
    R(S.UNKNOWN, "x", retry=True),
    DOWN,
]


@settings(max_examples=300, deadline=None)
@given(
    channel=st.sampled_from(["wechat", "alipay"]),
    pay=st.sampled_from(_ANY),
    queries=st.lists(st.sampled_from(_ANY), max_size=30),
    cancels=st.lists(st.sampled_from(_ANY), max_size=15),
)
def test_whatever_the_gateway_says_the_rules_hold(
    channel: str, pay: Outcome, queries: list[Outcome], cancels: list[Outcome]
) -> None:
    """Any sequence of answers: one pay call only, the channel's time limits kept, and an end."""
    rules = WX if channel == "wechat" else ALI
    result, calls, states = run(rules, [pay], queries, cancels, channel)
    assert [op for op, _ in calls].count("pay") == 1 and calls[0] == ("pay", 0)
    query_times = [t for op, t in calls if op == "query"]
    cancel_times = [t for op, t in calls if op == "cancel"]
    assert all(t <= rules.give_up_after_s for t in query_times)
    assert len(query_times) <= rules.max_queries and len(cancel_times) <= rules.max_cancels
    if channel == "wechat":
        assert all(t >= 15 for t in cancel_times) and all(t < 45 for t in query_times)
    if cancel_times:
        assert states[-1] in ("cancelling", "unknown") and "cancelling" in states
        assert result.status is not S.PAID  # a trade we started to cancel is never reported as paid
    assert result.status in (S.PAID, S.FAILED, S.CANCELLED, S.UNKNOWN)
