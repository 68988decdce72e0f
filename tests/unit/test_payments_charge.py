"""charge_until_final with a fake clock and a scripted gateway: every path, and that every path ends."""

from __future__ import annotations

import math

import pytest

from kiosk.payments.charge import charge_until_final, max_queries
from kiosk.ports import ChargeRequest, ChargeResult, ChargeStatus, GatewayError
from tests.fakes.payments import FakePaymentGateway, Outcome

PAID, FAILED, PAYING, UNKNOWN, CANCELLED = (
    ChargeStatus.PAID,
    ChargeStatus.FAILED,
    ChargeStatus.USER_PAYING,
    ChargeStatus.UNKNOWN,
    ChargeStatus.CANCELLED,
)
REQUEST = ChargeRequest("K1", "wechat", "134567890123451234", 1250, "test")


class FakeTime:
    """Monotonic seconds that move only when slept (or when a test moves them)."""

    def __init__(self, frozen: bool = False) -> None:
        self.now = 1000.0
        self.frozen = frozen
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds > 0
        self.sleeps.append(seconds)
        if not self.frozen:
            self.now += seconds


def run(
    gateway: FakePaymentGateway, time: FakeTime, max_wait_s: float = 10.0, poll_interval_s: float = 3.0
) -> ChargeResult:
    return charge_until_final(gateway, REQUEST, time.clock, time.sleep, max_wait_s, poll_interval_s)


def gw_error() -> GatewayError:
    return GatewayError("connection refused")


@pytest.mark.parametrize(
    ("pay", "query", "expected", "queries"),
    [
        ([PAID], [], PAID, 0),
        ([FAILED], [], FAILED, 0),
        ([CANCELLED], [], CANCELLED, 0),
        ([PAYING], [PAYING, PAYING, PAID], PAID, 3),
        ([PAYING], [FAILED], FAILED, 1),
        ([PAYING], [CANCELLED], CANCELLED, 1),
        ([gw_error()], [UNKNOWN, PAID], PAID, 2),
        ([gw_error()], [gw_error(), FAILED], FAILED, 2),
        ([UNKNOWN], [PAID], PAID, 1),
    ],
)
def test_final_answer_is_returned_without_cancelling(
    pay: list[Outcome], query: list[Outcome], expected: ChargeStatus, queries: int
) -> None:
    gateway = FakePaymentGateway(pay=pay, query=query)
    time = FakeTime()
    result = run(gateway, time)
    assert result.status is expected
    assert result.out_trade_no == "K1"
    assert gateway.count("pay") == 1
    assert gateway.count("query", "K1") == queries
    assert gateway.count("cancel") == 0
    assert time.sleeps == [3.0] * queries
    assert gateway.requests == [REQUEST]


def test_paid_result_keeps_the_transaction_id() -> None:
    gateway = FakePaymentGateway(pay=[PAYING], query=[ChargeResult(PAID, "K1", "TX-42", "")])
    result = run(gateway, FakeTime())
    assert (result.status, result.transaction_id) == (PAID, "TX-42")


def test_declined_reason_is_passed_on() -> None:
    gateway = FakePaymentGateway(pay=[ChargeResult(FAILED, "K1", "", "INSUFFICIENT_FUNDS")])
    assert run(gateway, FakeTime()).reason == "INSUFFICIENT_FUNDS"


def test_no_answer_in_time_cancels_once_and_says_so() -> None:
    """GIVEN the customer never enters the password WHEN max_wait passes THEN one cancel, CANCELLED."""
    gateway = FakePaymentGateway(pay=[PAYING], query=[PAYING] * 100)
    time = FakeTime()
    result = run(gateway, time, max_wait_s=10.0, poll_interval_s=3.0)
    assert result.status is CANCELLED
    assert "cancelled" in result.reason and "not confirmed" in result.reason
    assert gateway.count("cancel", "K1") == 1
    # Queries at t+3, t+6, t+9 and at the deadline t+10; never past it.
    assert time.sleeps == [3.0, 3.0, 3.0, 1.0]
    assert gateway.count("query") == 4
    assert time.now - 1000.0 == pytest.approx(10.0)
    assert gateway.calls[-1] == ("cancel", "K1")


def test_gateway_unreachable_throughout_ends_unknown() -> None:
    gateway = FakePaymentGateway(pay=[gw_error()], query=[gw_error()] * 100, cancel=[gw_error()])
    time = FakeTime()
    result = run(gateway, time)
    assert result.status is UNKNOWN
    assert "could not be confirmed" in result.reason and "cancel failed" in result.reason
    assert gateway.count("cancel") == 1


def test_gateway_unreachable_then_cancel_works_ends_cancelled() -> None:
    gateway = FakePaymentGateway(pay=[gw_error()], query=[gw_error()] * 100)
    result = run(gateway, FakeTime())
    assert result.status is CANCELLED
    assert gateway.count("cancel") == 1


@pytest.mark.parametrize("cancel_answer", [PAID, PAYING, UNKNOWN, FAILED])
def test_cancel_that_does_not_cancel_ends_unknown_for_staff(cancel_answer: ChargeStatus) -> None:
    gateway = FakePaymentGateway(pay=[PAYING], query=[PAYING] * 100, cancel=[cancel_answer])
    result = run(gateway, FakeTime())
    assert result.status is UNKNOWN
    assert "could not be confirmed" in result.reason
    assert cancel_answer.value in result.reason


def test_cancel_about_another_order_is_not_a_cancel() -> None:
    gateway = FakePaymentGateway(
        pay=[PAYING], query=[PAYING] * 100, cancel=[ChargeResult(CANCELLED, "OTHER")]
    )
    assert run(gateway, FakeTime()).status is UNKNOWN


def test_answer_about_another_order_is_not_believed() -> None:
    """GIVEN a pay answer 'paid' about another out_trade_no WHEN charging THEN it is not taken as paid."""
    gateway = FakePaymentGateway(pay=[ChargeResult(PAID, "OTHER", "TX1")])
    result = run(gateway, FakeTime())
    assert result.status is CANCELLED
    assert gateway.count("query", "K1") == 4


def test_clock_that_stands_still_cannot_loop_for_ever() -> None:
    gateway = FakePaymentGateway(pay=[PAYING], query=[PAYING] * 1000)
    time = FakeTime(frozen=True)
    result = run(gateway, time, max_wait_s=10.0, poll_interval_s=3.0)
    assert result.status is CANCELLED
    assert gateway.count("query") == max_queries(10.0, 3.0) == 5
    assert gateway.count("cancel") == 1


class SlowGateway(FakePaymentGateway):
    """Every call costs ``cost_s`` of the fake clock, like a slow network does."""

    def __init__(self, time: FakeTime, cost_s: float, **scripts: list[Outcome]) -> None:
        super().__init__(**scripts)
        self.time, self.cost_s = time, cost_s

    def pay(self, request: ChargeRequest) -> ChargeResult:
        self.time.now += self.cost_s
        return super().pay(request)

    def query(self, out_trade_no: str) -> ChargeResult:
        self.time.now += self.cost_s
        return super().query(out_trade_no)


def test_time_spent_waiting_for_the_gateway_counts_against_max_wait() -> None:
    time = FakeTime()
    gateway = SlowGateway(time, 4.0, pay=[gw_error()], query=[gw_error()] * 100)
    result = run(gateway, time, max_wait_s=10.0, poll_interval_s=1.0)
    # pay ends at t+4; sleep 1, query ends t+9; sleep 1, query ends t+14; the deadline has passed.
    assert gateway.count("query") == 2
    assert result.status is CANCELLED


def test_sleeps_never_exceed_max_wait() -> None:
    gateway = FakePaymentGateway(pay=[PAYING], query=[PAYING] * 100)
    time = FakeTime()
    run(gateway, time, max_wait_s=7.5, poll_interval_s=2.0)
    assert sum(time.sleeps) == pytest.approx(7.5)
    assert max(time.sleeps) <= 2.0


@pytest.mark.parametrize(
    ("max_wait_s", "poll_interval_s"),
    [(0.0, 1.0), (-1.0, 1.0), (10.0, 0.0), (10.0, -2.0), (math.nan, 1.0), (10.0, math.inf), (math.inf, 1.0)],
)
def test_bad_bounds_are_refused_before_charging(max_wait_s: float, poll_interval_s: float) -> None:
    gateway = FakePaymentGateway()
    with pytest.raises(ValueError):
        charge_until_final(gateway, REQUEST, FakeTime().clock, FakeTime().sleep, max_wait_s, poll_interval_s)
    assert gateway.calls == []


def test_max_queries_covers_the_wait() -> None:
    assert max_queries(45.0, 5.0) == 10
    assert max_queries(1.0, 5.0) == 2
