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


# --- the member screen: its own screen over the same sale --------------------------------------------

COLA = Product("c", "可乐", "Cola", 350, "6901234567885")
ON_MEMBER_SCREEN = co.Checkout(phase=co.Phase.CART, cart=CART, member_screen=True)


def test_the_member_button_opens_the_member_screen_and_back_returns_to_the_same_cart() -> None:
    cart = co.Checkout(phase=co.Phase.CART, cart=CART, notice=co.Notice.UNKNOWN_PRODUCT)
    opened, effects = co.transition(cart, co.MemberTapped())
    assert opened.member_screen and opened.phase is co.Phase.CART and opened.cart == CART
    assert opened.notice is co.Notice.NONE and effects == ()
    back, effects = co.transition(opened, co.MemberBackTapped())
    assert not back.member_screen and back.cart == CART and effects == ()


def test_a_member_found_on_the_member_screen_shows_the_cart_with_the_member() -> None:
    signed, effects = co.transition(ON_MEMBER_SCREEN, co.MemberLookedUp(ALICE))
    assert signed.member == ALICE and not signed.member_screen and effects == (co.Beep(),)


def test_no_member_found_keeps_the_member_screen_and_says_why() -> None:
    after, _ = co.transition(ON_MEMBER_SCREEN, co.MemberLookedUp(None, co.Notice.MEMBER_NOT_FOUND))
    assert after.member_screen and after.notice is co.Notice.MEMBER_NOT_FOUND


def test_a_payment_code_shown_to_the_member_screen_is_refused_as_not_a_member_code() -> None:
    after, effects = co.transition(ON_MEMBER_SCREEN, co.PaymentCodeScanned(CodeKind.WECHAT, WX))
    assert after.member_screen and after.notice is co.Notice.NOT_A_MEMBER_CODE
    assert effects == (co.Beep(error=True),)
    on_cart, _ = co.transition(
        replace(ON_MEMBER_SCREEN, member_screen=False), co.PaymentCodeScanned(CodeKind.WECHAT, WX)
    )
    assert on_cart.notice is co.Notice.SCAN_ITEMS_FIRST


def test_an_item_scanned_on_the_member_screen_is_added_and_the_cart_shows_it() -> None:
    after, _ = co.transition(ON_MEMBER_SCREEN, co.ProductScanned(COLA.barcode or "", COLA))
    assert not after.member_screen and after.cart.item_count == 4


def test_the_member_screen_keeps_the_carts_idle_rules_and_ends_with_the_sale() -> None:
    asked, _ = co.transition(ON_MEMBER_SCREEN, co.IdleAsked(20))
    assert asked.still_there_s == 20 and asked.member_screen
    kept, _ = co.transition(asked, co.StillHereTapped())
    assert kept.member_screen and kept.still_there_s == 0
    gone, _ = co.transition(asked, co.TimedOut())
    assert gone == co.Checkout()  # the next customer starts on the attract screen, no member screen
    cancelled, _ = co.transition(ON_MEMBER_SCREEN, co.CancelTapped())
    assert cancelled == co.Checkout()


def test_the_member_screen_opens_only_from_the_cart() -> None:
    for phase in co.Phase:
        if phase is co.Phase.CART:
            continue
        state = co.Checkout(phase=phase, cart=CART)
        assert co.transition(state, co.MemberTapped()) == (state, ())
        assert co.transition(state, co.MemberBackTapped()) == (state, ())
