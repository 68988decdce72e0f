"""The refund path of the payment state machine (``decide_refund`` / ``apply_refund``) on a fake clock,
and ``engine.refund`` driving it against the scripted fake gateway (the network edge)."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from kiosk.core.payment import (
    Answer,
    Call,
    Op,
    PayState,
    Refund,
    RefundRules,
    Reply,
    Stop,
    Wait,
    apply_refund,
    decide_refund,
    resuming_refund,
)
from kiosk.payments import engine
from kiosk.ports import ChargeResult, ChargeStatus, GatewayError, RefundRequest
from tests.fakes.payments import FakePaymentGateway

RULES = RefundRules(retry_interval_s=3.0, give_up_after_s=30.0, max_tries=6)
T0 = 1000.0


@pytest.mark.parametrize(
    ("name", "before", "now", "after", "action"),
    [
        (
            "a paid payment starts refunding with the first call",
            Refund(),
            T0,
            Refund(state=PayState.REFUNDING, started_at=T0, next_at=T0, tries=1),
            Call(Op.REFUND),
        ),
        (
            "a resumed refund calls at once, its clock starting now",
            resuming_refund(),
            T0,
            Refund(state=PayState.REFUNDING, started_at=T0, next_at=T0, tries=1),
            Call(Op.REFUND),
        ),
        (
            "an unknown answer waits for the retry time",
            Refund(state=PayState.REFUNDING, started_at=T0, next_at=T0 + 3, tries=1),
            T0 + 1,
            Refund(state=PayState.REFUNDING, started_at=T0, next_at=T0 + 3, tries=1),
            Wait(T0 + 3),
        ),
        (
            "at the retry time the same refund is asked again",
            Refund(state=PayState.REFUNDING, started_at=T0, next_at=T0 + 3, tries=1),
            T0 + 3,
            Refund(state=PayState.REFUNDING, started_at=T0, next_at=T0 + 3, tries=2),
            Call(Op.REFUND),
        ),
        (
            "a wait never runs past the time limit",
            Refund(state=PayState.REFUNDING, started_at=T0, next_at=T0 + 40, tries=2),
            T0 + 10,
            Refund(state=PayState.REFUNDING, started_at=T0, next_at=T0 + 40, tries=2),
            Wait(T0 + 30),
        ),
        (
            "out of time: exhausted, still refunding",
            Refund(state=PayState.REFUNDING, started_at=T0, next_at=T0 + 30, tries=2, reason="timeout"),
            T0 + 30,
            Refund(
                state=PayState.REFUNDING,
                started_at=T0,
                next_at=T0 + 30,
                tries=2,
                reason="timeout",
                exhausted=True,
            ),
            Stop(),
        ),
        (
            "out of tries with a clock that stands still: exhausted",
            Refund(state=PayState.REFUNDING, started_at=T0, next_at=T0, tries=6),
            T0,
            Refund(
                state=PayState.REFUNDING,
                started_at=T0,
                next_at=T0,
                tries=6,
                reason="refund not confirmed",
                exhausted=True,
            ),
            Stop(),
        ),
        (
            "a refunded payment stops",
            Refund(state=PayState.REFUNDED, tries=1, refund_id="R1"),
            T0,
            Refund(state=PayState.REFUNDED, tries=1, refund_id="R1"),
            Stop(),
        ),
        (
            "a refused refund stops",
            Refund(state=PayState.PAID, tries=1, refused=True),
            T0,
            Refund(state=PayState.PAID, tries=1, refused=True),
            Stop(),
        ),
    ],
)
def test_decide_refund(name: str, before: Refund, now: float, after: Refund, action: object) -> None:
    assert decide_refund(before, RULES, now) == (after, action), name


REFUNDING = Refund(state=PayState.REFUNDING, started_at=T0, next_at=T0, tries=1)


@pytest.mark.parametrize(
    ("name", "reply", "after"),
    [
        (
            "confirmed: refunded, with the gateway's refund id",
            Reply(Answer.REFUNDED, "SIMR1"),
            Refund(state=PayState.REFUNDED, started_at=T0, next_at=T0, tries=1, refund_id="SIMR1"),
        ),
        (
            "refused for good: paid again, refused",
            Reply(Answer.FAILED, reason="TRADE_STATE_ERROR"),
            Refund(
                state=PayState.PAID,
                started_at=T0,
                next_at=T0,
                tries=1,
                refused=True,
                reason="TRADE_STATE_ERROR",
            ),
        ),
        (
            "no reply: still refunding, asked again after the interval",
            Reply(Answer.NO_REPLY, reason="timeout"),
            Refund(state=PayState.REFUNDING, started_at=T0, next_at=T0 + 5 + 3, tries=1, reason="timeout"),
        ),
        (
            "undecided answer: the same as no reply",
            Reply(Answer.UNKNOWN, reason="SYSTEMERROR"),
            Refund(
                state=PayState.REFUNDING, started_at=T0, next_at=T0 + 5 + 3, tries=1, reason="SYSTEMERROR"
            ),
        ),
    ],
)
def test_apply_refund(name: str, reply: Reply, after: Refund) -> None:
    assert apply_refund(REFUNDING, RULES, T0 + 5, reply) == after, name


def test_only_a_paid_or_refunding_payment_can_be_refunded() -> None:
    with pytest.raises(ValueError, match="not one that is cancelled"):
        decide_refund(Refund(state=PayState.CANCELLED), RULES, T0)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"retry_interval_s": 0}, "retry_interval_s"),
        ({"give_up_after_s": float("inf")}, "give_up_after_s"),
        ({"max_tries": 0}, "max_tries"),
    ],
)
def test_bad_refund_rules_are_refused(kwargs: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        RefundRules(**kwargs)  # type: ignore[arg-type]


@dataclass
class FakeClock:
    now: float = T0
    sleeps: list[float] = field(default_factory=list)

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


REQUEST = RefundRequest("K00000001", "R00000001", 1990, 1990, "refund")


def run(gateway: FakePaymentGateway, clock: FakeClock, resume: bool = False) -> tuple[Refund, list[str]]:
    calls: list[str] = []
    result = engine.refund(
        gateway,
        REQUEST,
        RULES,
        clock,
        clock.sleep,
        resume,
        lambda tries, reply: calls.append(f"{tries}:{reply.answer.value}"),
    )
    return result, calls


def test_engine_repeats_a_lost_answer_with_the_same_refund_until_confirmed() -> None:
    clock = FakeClock()
    lost = GatewayError("read timed out")
    gateway = FakePaymentGateway(refund=[lost, ChargeStatus.UNKNOWN, ChargeStatus.REFUNDED])
    result, calls = run(gateway, clock)
    assert result.state is PayState.REFUNDED and result.tries == 3
    assert calls == ["1:no_reply", "2:unknown", "3:refunded"]
    assert clock.sleeps == [3.0, 3.0]
    assert gateway.count("refund", REQUEST.out_trade_no) == 3


def test_engine_gives_up_after_max_tries_leaving_the_refund_open() -> None:
    clock = FakeClock()
    gateway = FakePaymentGateway(refund=[GatewayError("down")] * 10)
    result, calls = run(gateway, clock)
    assert result.state is PayState.REFUNDING and result.exhausted and not result.refused
    assert len(calls) == RULES.max_tries == gateway.count("refund")
    assert "down" in result.reason


def test_engine_gives_up_by_wall_clock_when_each_call_is_slow() -> None:
    """GIVEN each refund call takes 12 s to time out and 3 s between calls THEN the 30 s limit ends it
    after 2 calls (at 0 s and 15 s; the third would start at 30 s), well before max_tries."""
    clock = FakeClock()

    class Slow(FakePaymentGateway):
        def refund(self, request: RefundRequest) -> ChargeResult:
            clock.now += 12.0
            return super().refund(request)

    gateway = Slow(refund=[GatewayError("timeout")] * 10)
    result, calls = run(gateway, clock)
    assert result.exhausted and len(calls) == 2 < RULES.max_tries


def test_engine_refused_refund_is_not_repeated() -> None:
    clock = FakeClock()
    refused = ChargeResult(ChargeStatus.FAILED, REQUEST.out_trade_no, reason="NOTENOUGH")
    gateway = FakePaymentGateway(refund=[refused, ChargeStatus.REFUNDED])
    result, calls = run(gateway, clock)
    assert result.refused and result.state is PayState.PAID and result.reason == "NOTENOUGH"
    assert calls == ["1:failed"] and gateway.count("refund") == 1


def test_engine_distrusts_an_answer_about_another_order() -> None:
    clock = FakeClock()
    other = ChargeResult(ChargeStatus.REFUNDED, "K99999999", "X")
    gateway = FakePaymentGateway(refund=[other, ChargeStatus.REFUNDED])
    result, calls = run(gateway, clock, resume=True)
    assert result.state is PayState.REFUNDED and calls == ["1:no_reply", "2:refunded"]
