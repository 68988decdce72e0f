"""The checkout with promotions and members: the order's committed total is what is charged and shown,
and a member stays for one sale only."""

from __future__ import annotations

from dataclasses import replace

from kiosk.core import checkout as co
from kiosk.core.cart import Cart, Product
from kiosk.core.codes import CodeKind
from kiosk.core.members import Member

WATER = Product("w", "矿泉水", "Water", 200, "6901234567892")
CART = Cart().add(WATER, 3)
WX = "134567890123456789"
ALICE = Member("m1", "Alice", "138****5678")


def test_the_charge_is_the_committed_order_total_not_the_cart_total() -> None:
    paying = co.Checkout(phase=co.Phase.PAYING, cart=CART)
    opened, _ = co.transition(paying, co.OrderOpened("o1", 450))  # 600 less 150 of promotions
    assert opened.order_total_fen == 450 and opened.sale_total_fen == 450
    _, effects = co.transition(opened, co.PaymentCodeScanned(CodeKind.WECHAT, WX))
    charge = next(e for e in effects if isinstance(e, co.ChargePayment))
    assert charge.amount_fen == 450


def test_an_order_opened_without_a_total_charges_the_cart() -> None:
    opened, _ = co.transition(co.Checkout(phase=co.Phase.PAYING, cart=CART), co.OrderOpened("o1"))
    assert opened.sale_total_fen == 600


def test_a_member_signs_in_on_the_cart_and_is_gone_for_the_next_sale() -> None:
    cart = co.Checkout(phase=co.Phase.CART, cart=CART)
    signed, effects = co.transition(cart, co.MemberLookedUp(ALICE))
    assert signed.member == ALICE and effects == (co.Beep(),)
    # back from the pay screen to the cart: still signed in
    paying = replace(signed, phase=co.Phase.PAYING, order_id="o1", order_total_fen=600)
    back, _ = co.transition(paying, co.CancelTapped())
    assert back.phase is co.Phase.CART and back.member == ALICE
    done = replace(paying, phase=co.Phase.DONE)
    after, _ = co.transition(done, co.StartTapped())
    assert after.member is None and after.order_total_fen is None
    cancelled, _ = co.transition(signed, co.CancelTapped())
    assert cancelled.member is None


def test_no_member_found_says_why_and_changes_nothing_else() -> None:
    cart = co.Checkout(phase=co.Phase.CART, cart=CART)
    after, effects = co.transition(cart, co.MemberLookedUp(None, co.Notice.MEMBERS_NOT_OFFERED))
    assert after.member is None and after.notice is co.Notice.MEMBERS_NOT_OFFERED and after.cart == CART
    assert effects == ()


def test_a_late_member_answer_on_the_pay_screen_is_ignored() -> None:
    paying = co.Checkout(phase=co.Phase.PAYING, cart=CART, order_id="o1", order_total_fen=600)
    assert co.transition(paying, co.MemberLookedUp(ALICE)) == (paying, ())
