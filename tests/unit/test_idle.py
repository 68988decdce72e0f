"""The checkout's timers and the pay screen's gateway stages, as pure transitions on injected time.

GIVEN a quiet cart, or a pay screen with no charge in flight
WHEN the quiet time passes ``ask_after_s``
THEN the checkout asks "still there?" with a countdown; "continue" (or any touch) keeps the sale;
     no answer clears it (and cancels an unpaid order); a charge in flight is never timed out.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from kiosk.core import checkout as co
from kiosk.core.cart import Cart, Product
from kiosk.core.idle import IdleRules, timer_event

WATER = Product("w", "矿泉水", "Water", 200, "6901234567892")
IN_CART = co.Checkout(phase=co.Phase.CART, cart=Cart().add(WATER))
PAYING = replace(IN_CART, phase=co.Phase.PAYING, order_id="o1")
CHARGING = replace(PAYING, charging=True)
DONE = replace(PAYING, phase=co.Phase.DONE)
RULES = IdleRules(ask_after_s=60, answer_within_s=20, done_after_s=6)


def _tick(state: co.Checkout, quiet_s: float, in_phase_s: float = 0.0) -> co.Event | None:
    return timer_event(state, quiet_s=quiet_s, in_phase_s=in_phase_s, rules=RULES)


@pytest.mark.parametrize("state", [IN_CART, PAYING])
def test_a_quiet_cart_or_unpaid_pay_screen_asks_then_clears(state: co.Checkout) -> None:
    assert _tick(state, 59.9) is None
    assert _tick(state, 60.0) == co.IdleAsked(20)
    asking, _ = co.transition(state, co.IdleAsked(20))
    assert asking.still_there_s == 20 and asking.phase is state.phase
    assert _tick(asking, 60.5) is None  # the same whole second: no redraw
    assert _tick(asking, 61.0) == co.IdleAsked(19)
    assert _tick(asking, 79.5) == co.IdleAsked(1)
    assert _tick(asking, 80.0) == co.TimedOut()


def test_continue_keeps_the_cart_and_any_touch_answers_too() -> None:
    asking, _ = co.transition(IN_CART, co.IdleAsked(12))
    kept, effects = co.transition(asking, co.StillHereTapped())
    assert kept == IN_CART and effects == ()
    touched, _ = co.transition(asking, co.ProductTapped(WATER))
    assert touched.still_there_s == 0 and touched.cart.qty_of("w") == 2


def test_no_answer_clears_the_cart_for_the_next_customer() -> None:
    asking, _ = co.transition(IN_CART, co.IdleAsked(1))
    after, effects = co.transition(asking, co.TimedOut())
    assert after == co.Checkout() and effects == ()


def test_no_answer_on_the_pay_screen_cancels_the_unpaid_order_and_starts_clean() -> None:
    asking, _ = co.transition(PAYING, co.IdleAsked(1))
    after, effects = co.transition(asking, co.TimedOut())
    assert after == co.Checkout()
    assert effects == (co.StopCamera(), co.CancelOrder("o1"))


def test_never_while_a_charge_is_in_flight() -> None:
    assert _tick(CHARGING, 10_000) is None
    same, _ = co.transition(CHARGING, co.IdleAsked(5))
    assert same == CHARGING
    stays, effects = co.transition(CHARGING, co.TimedOut())
    assert stays.phase is co.Phase.PAYING and stays.charging and effects == ()


def test_a_code_shown_while_asking_charges_and_the_question_goes() -> None:
    from kiosk.core.codes import CodeKind

    asking, _ = co.transition(PAYING, co.IdleAsked(7))
    after, effects = co.transition(asking, co.PaymentCodeScanned(CodeKind.WECHAT, "134567890123456789"))
    assert after.charging and after.still_there_s == 0
    assert any(isinstance(e, co.ChargePayment) for e in effects)


@pytest.mark.parametrize("phase", [co.Phase.ATTRACT, co.Phase.PRINTING, co.Phase.NEEDS_HELP])
def test_other_phases_never_ask(phase: co.Phase) -> None:
    state = replace(PAYING, phase=phase)
    assert _tick(state, 10_000, 0) is None
    assert co.transition(state, co.IdleAsked(5))[0] == state


def test_the_done_screen_times_out_on_its_own_timer() -> None:
    assert _tick(DONE, 0, 5.9) is None
    assert _tick(DONE, 0, 6.0) == co.TimedOut()


def test_rules_refuse_nonsense() -> None:
    with pytest.raises(ValueError, match="answer_within_s"):
        IdleRules(answer_within_s=0)


def test_the_gateway_stage_follows_the_charge_in_flight_only() -> None:
    pw = co.PaymentProgressed("o1", co.PayStage.USER_PAYING)
    after, _ = co.transition(CHARGING, pw)
    assert after.pay_stage is co.PayStage.USER_PAYING
    checking, _ = co.transition(after, co.PaymentProgressed("o1", co.PayStage.CHECKING))
    assert checking.pay_stage is co.PayStage.CHECKING
    # another order's progress, or progress after the answer came, changes nothing
    assert co.transition(CHARGING, co.PaymentProgressed("o2", co.PayStage.USER_PAYING))[0] == CHARGING
    assert co.transition(PAYING, pw)[0] == PAYING
    # the answer ends the stage
    declined, _ = co.transition(checking, co.PaymentDeclined("o1", "NOPE"))
    assert declined.pay_stage is co.PayStage.NONE and not declined.charging
    paid, _ = co.transition(after, co.PaymentSucceeded("o1", "wechat", "T"))
    assert paid.pay_stage is co.PayStage.NONE
