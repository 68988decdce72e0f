"""The cart's promotion lines, the member line and the keypad display, as plain values; the pay and done
screens show the committed order's total (after promotions), not the cart's."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from kiosk.core import checkout as co
from kiosk.core.cart import Cart, Product
from kiosk.core.members import Member, MemberInputError, mask_phone, normalise_phone
from kiosk.core.pricing import PricedCart, PromoKind, Promotion, price_cart
from kiosk.ui import present, promo_present

NOW = datetime(2026, 12, 1, tzinfo=UTC)
COLA = Product("c", "可乐", "Cola", 350)
CART = Cart().add(COLA, 2)
PRICED = price_cart(
    CART, [Promotion("p", PromoKind.PERCENT_OFF, "可乐九折", "10% off cola", NOW, sku="c", percent=10)], NOW
)


def test_discount_rows_follow_the_language() -> None:
    assert promo_present.discount_rows(PRICED, "zh_CN") == [{"name": "可乐九折", "amount_text": "-¥0.70"}]
    assert promo_present.discount_rows(PRICED, "en") == [{"name": "10% off cola", "amount_text": "-¥0.70"}]
    assert promo_present.saved_text(PRICED, "en") == "You save ¥0.70"
    assert promo_present.saved_text(PricedCart(CART), "en") == ""


def test_the_pay_and_done_screens_show_the_order_total_after_promotions() -> None:
    paying = co.Checkout(phase=co.Phase.PAYING, cart=CART, order_id="o1", order_total_fen=630)
    assert present.pay_shown(paying, present.SaleShown(), "zh_CN").total_text == "¥6.30"
    done = co.Checkout(phase=co.Phase.DONE, cart=CART, order_id="o1", order_total_fen=630)
    assert present.done_shown(done, present.SaleShown(), "", "zh_CN").total_text == "¥6.30"


def test_member_line_and_keypad_masking() -> None:
    signed = co.Checkout(phase=co.Phase.CART, member=Member("m", "Alice"))
    assert promo_present.member_text(signed, "zh_CN") == "会员：A***e"  # masked on a public screen
    assert promo_present.member_text(co.Checkout(), "en") == ""
    assert [promo_present.keypad_shown(d) for d in ("138", "1381", "1381234", "13812345678")] == [
        "138",
        "138*",
        "138****",
        "138****5678",
    ]


@pytest.mark.parametrize(
    "text", ["1381234567", "23812345678", "12812345678", "1381234567a", "１３８１２３４５６７８"]
)
def test_a_number_that_is_not_a_mainland_mobile_is_refused(text: str) -> None:
    with pytest.raises(MemberInputError):
        normalise_phone(text)


def test_phone_numbers_are_normalised_and_masked() -> None:
    assert normalise_phone("+86 138-1234-5678") == "13812345678"
    assert normalise_phone("8613812345678") == "13812345678"
    assert mask_phone("13812345678") == "138****5678"
    assert mask_phone("123") == "***"
