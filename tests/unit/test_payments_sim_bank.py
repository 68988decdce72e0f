"""The simulator's money rules, without HTTP: outcomes by code digits, idempotence, reuse, reversal."""

from __future__ import annotations

import hashlib
import threading

import pytest

from kiosk.ports import ChargeStatus
from paysim.bank import PayOrder, SimulatedBank, TradeConflict


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def wechat(last4: str, middle: str = "345678901234") -> str:
    return f"13{middle}{last4}"


def order(out_trade_no: str, code: str, amount_fen: int = 1234, channel: str = "wechat") -> PayOrder:
    return PayOrder(out_trade_no, channel, code, amount_fen, "test subject")


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def bank(clock: Clock) -> SimulatedBank:
    return SimulatedBank(password_delay_s=2.0, clock=clock)


@pytest.mark.parametrize(
    ("last4", "status", "reason"),
    [
        ("1234", ChargeStatus.PAID, ""),
        ("9001", ChargeStatus.USER_PAYING, "USER_PAYING"),
        ("9002", ChargeStatus.FAILED, "INSUFFICIENT_FUNDS"),
        ("9003", ChargeStatus.FAILED, "AUTH_CODE_EXPIRED"),
        ("9004", ChargeStatus.USER_PAYING, "USER_PAYING"),
        ("9005", ChargeStatus.PAID, ""),
        ("9006", ChargeStatus.PAID, ""),
        ("9007", ChargeStatus.PAID, ""),
        ("9008", ChargeStatus.PAID, ""),
    ],
)
def test_outcome_is_chosen_by_last_four_digits(
    bank: SimulatedBank, last4: str, status: ChargeStatus, reason: str
) -> None:
    view = bank.pay(order("T1", wechat(last4)))
    assert (view.status, view.reason, view.out_trade_no) == (status, reason, "T1")
    assert bool(view.transaction_id) == (status is ChargeStatus.PAID)
    charges = [e for e in bank.ledger() if e.kind == "charge"]
    assert len(charges) == (1 if status is ChargeStatus.PAID else 0)


def test_user_paying_becomes_paid_only_after_password_delay(bank: SimulatedBank, clock: Clock) -> None:
    bank.pay(order("T1", wechat("9001")))
    clock.now += 1.99
    assert bank.query("T1").status is ChargeStatus.USER_PAYING
    assert bank.ledger() == []
    clock.now += 0.01
    paid = bank.query("T1")
    assert paid.status is ChargeStatus.PAID and paid.transaction_id
    assert [(e.kind, e.out_trade_no, e.amount_fen) for e in bank.ledger()] == [("charge", "T1", 1234)]
    # Looking again changes nothing.
    assert bank.query("T1") == paid
    assert len(bank.ledger()) == 1


def test_zero_password_delay_pays_at_once(clock: Clock) -> None:
    bank = SimulatedBank(password_delay_s=0.0, clock=clock)
    assert bank.pay(order("T1", wechat("9001"))).status is ChargeStatus.PAID


def test_repeated_pay_returns_recorded_result_and_charges_once(bank: SimulatedBank) -> None:
    first = bank.pay(order("T1", wechat("1234")))
    again = bank.pay(order("T1", wechat("1234")))
    assert again == first
    assert len(bank.ledger()) == 1


def test_repeated_pay_of_a_declined_charge_stays_declined(bank: SimulatedBank) -> None:
    first = bank.pay(order("T1", wechat("9002")))
    assert bank.pay(order("T1", wechat("9002"))) == first
    assert bank.ledger() == []


@pytest.mark.parametrize(
    "changed",
    [
        order("T1", wechat("1234"), amount_fen=999),
        order("T1", wechat("5678")),
        order("T1", "2834567890129999", channel="alipay"),
    ],
)
def test_reusing_out_trade_no_for_a_different_charge_is_a_conflict(
    bank: SimulatedBank, changed: PayOrder
) -> None:
    bank.pay(order("T1", wechat("1234")))
    with pytest.raises(TradeConflict, match="new out_trade_no"):
        bank.pay(changed)
    assert len(bank.ledger()) == 1
    assert bank.query("T1").status is ChargeStatus.PAID


def test_code_used_for_a_paid_charge_cannot_pay_again(bank: SimulatedBank) -> None:
    bank.pay(order("T1", wechat("1234")))
    second = bank.pay(order("T2", wechat("1234")))
    assert (second.status, second.reason) == (ChargeStatus.FAILED, "AUTH_CODE_USED")
    assert bank.query("T2").reason == "AUTH_CODE_USED"
    assert len(bank.ledger()) == 1


def test_code_waiting_for_password_is_used_up(bank: SimulatedBank) -> None:
    bank.pay(order("T1", wechat("9001")))
    assert bank.pay(order("T2", wechat("9001"))).reason == "AUTH_CODE_USED"


def test_declined_code_is_not_used_up(bank: SimulatedBank) -> None:
    """GIVEN a code declined for lack of funds WHEN it is tried again THEN it is judged afresh."""
    bank.pay(order("T1", wechat("9002")))
    assert bank.pay(order("T2", wechat("9002"))).reason == "INSUFFICIENT_FUNDS"


def test_query_of_unknown_order(bank: SimulatedBank) -> None:
    view = bank.query("NEVER")
    assert (view.status, view.reason, view.transaction_id) == (ChargeStatus.UNKNOWN, "ORDER_NOT_EXIST", "")


def test_cancel_of_paid_charge_reverses_it_once(bank: SimulatedBank) -> None:
    paid = bank.pay(order("T1", wechat("1234")))
    cancelled = bank.cancel("T1")
    assert (cancelled.status, cancelled.reason) == (ChargeStatus.CANCELLED, "REVERSED")
    assert cancelled.transaction_id == paid.transaction_id
    assert bank.cancel("T1") == cancelled
    kinds = [(e.kind, e.out_trade_no, e.amount_fen, e.transaction_id) for e in bank.ledger()]
    assert kinds == [
        ("charge", "T1", 1234, paid.transaction_id),
        ("reversal", "T1", 1234, paid.transaction_id),
    ]
    assert bank.query("T1").status is ChargeStatus.CANCELLED
    # The cancelled order cannot be paid again under the same number.
    assert bank.pay(order("T1", wechat("1234"))).status is ChargeStatus.CANCELLED
    assert len(bank.ledger()) == 2


def test_cancel_while_waiting_for_password_never_charges(bank: SimulatedBank, clock: Clock) -> None:
    bank.pay(order("T1", wechat("9001")))
    view = bank.cancel("T1")
    assert (view.status, view.reason) == (ChargeStatus.CANCELLED, "CLOSED")
    clock.now += 60
    assert bank.query("T1").status is ChargeStatus.CANCELLED
    assert bank.ledger() == []


def test_cancel_after_password_delay_reverses_the_charge_made_meanwhile(
    bank: SimulatedBank, clock: Clock
) -> None:
    bank.pay(order("T1", wechat("9001")))
    clock.now += 5
    assert bank.cancel("T1").reason == "REVERSED"
    assert [e.kind for e in bank.ledger()] == ["charge", "reversal"]


def test_cancel_of_unknown_order_closes_the_number_against_a_late_pay(bank: SimulatedBank) -> None:
    """GIVEN the kiosk gave up and cancelled WHEN its delayed pay arrives later THEN nothing is charged."""
    assert bank.cancel("LATE").status is ChargeStatus.CANCELLED
    assert bank.pay(order("LATE", wechat("1234"))).status is ChargeStatus.CANCELLED
    assert bank.ledger() == []


def test_ledger_masks_codes(bank: SimulatedBank) -> None:
    code = wechat("1234")
    bank.pay(order("T1", code))
    (entry,) = bank.ledger()
    assert code not in str(entry.as_json())
    assert entry.as_json()["auth_code"] == "1334**********1234"
    assert str(entry.as_json()["at"]).endswith("Z")


def test_many_threads_paying_one_order_charge_once(bank: SimulatedBank) -> None:
    barrier = threading.Barrier(8)
    results = []

    def worker() -> None:
        barrier.wait(timeout=5)
        results.append(bank.pay(order("T1", wechat("1234"))))

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=5)
    assert len(results) == 8 and len(set(results)) == 1
    assert len(bank.ledger()) == 1


@pytest.mark.parametrize("delay", [-0.1, 601.0])
def test_password_delay_out_of_range_is_refused(delay: float) -> None:
    with pytest.raises(ValueError, match="password_delay_s"):
        SimulatedBank(password_delay_s=delay)


@pytest.mark.parametrize(
    ("last4", "deliver"),
    [("1234", ""), ("9005", "system_error"), ("9006", "drop"), ("9007", "slow")],
)
def test_charged_outcomes_tell_the_protocol_how_to_deliver_the_answer(
    bank: SimulatedBank, last4: str, deliver: str
) -> None:
    assert bank.pay(order("T1", wechat(last4))).deliver == deliver


def test_a_password_that_never_comes_stays_user_paying_until_cancelled(
    bank: SimulatedBank, clock: Clock
) -> None:
    bank.pay(order("T1", wechat("9004")))
    clock.now += 600
    assert bank.query("T1").status is ChargeStatus.USER_PAYING
    assert bank.cancel("T1").status is ChargeStatus.CANCELLED
    assert bank.ledger() == []


def test_an_admin_script_overrides_the_digits_for_the_next_pay_only(bank: SimulatedBank) -> None:
    bank.script_next("insufficient_funds")
    assert bank.pay(order("T1", wechat("1234"))).reason == "INSUFFICIENT_FUNDS"
    assert bank.pay(order("T2", wechat("1235"))).status is ChargeStatus.PAID
    with pytest.raises(ValueError, match="outcome must be one of"):
        bank.script_next("free_money")


def test_refunds_are_once_per_refund_number_and_never_more_than_was_paid(bank: SimulatedBank) -> None:
    bank.pay(order("T1", wechat("1234")))
    first = bank.refund("T1", "R1", 1000)
    assert first.refunded and bank.refund("T1", "R1", 1000) == first
    assert not bank.refund("T1", "R2", 10_000_000).refunded
    assert not bank.refund("NOPE", "R3", 1).refunded
    refunds = [e for e in bank.ledger() if e.kind == "refund"]
    assert [(e.out_trade_no, e.amount_fen) for e in refunds] == [("T1", 1000)]
    assert refunds[0].code_sha256 == hashlib.sha256(wechat("1234").encode()).hexdigest()
