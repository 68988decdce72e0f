"""The shopping screens' pure half (kiosk.ui.shop_present): keypad, item detail, "+1" toast, initials."""

from __future__ import annotations

import pytest

from kiosk.core.cart import MAX_QTY_PER_LINE, Cart, Product
from kiosk.i18n import t
from kiosk.ui import shop_present as sp

WATER = Product("W", "矿泉水", "Water", 200, None, "drinks")
COLA = Product("C", "可乐", "Cola", 350, None, "drinks")
GONE = Product("G", "薯片", "Chips", 750, None, "snacks", sold_out=True)


def test_keys_type_delete_clear_and_cap_the_query() -> None:
    q = ""
    for key in ("C", "O", sp.KEY_SPACE, sp.KEY_SPACE, "L"):
        q = sp.typed(q, key)
    assert q == "CO L"  # a second space in a row is not typed
    assert sp.typed("", sp.KEY_SPACE) == ""
    assert sp.typed(q, sp.KEY_BACK) == "CO "
    assert sp.typed(q, sp.KEY_CLEAR) == ""
    assert sp.typed(q, sp.KEY_DIGITS) == q
    assert sp.typed("A" * 32, "B") == "A" * 32


def test_keypad_rows_have_every_letter_and_digit_once_at_most_ten_a_row() -> None:
    letters = [k for row in sp.keypad_rows(False) for k in row if len(k) == 1]
    digits = [k for row in sp.keypad_rows(True) for k in row if len(k) == 1]
    assert sorted(letters) == [chr(c) for c in range(ord("A"), ord("Z") + 1)]
    assert sorted(digits) == list("0123456789")
    assert all(len(row) <= 10 for mode in (False, True) for row in sp.keypad_rows(mode))
    for lang in ("zh_CN", "en"):
        for mode in (False, True):
            assert all(sp.key_label(k, lang) for row in sp.keypad_rows(mode) for k in row)


@pytest.mark.parametrize("lang", ["zh_CN", "en"])
def test_search_summary_hint_count_more_and_none(lang: str) -> None:
    assert sp.search_summary("", 0, 0, lang) == t("shop.search_hint", lang)
    assert sp.search_summary("cola", 1, 1, lang) == t("shop.search_count", lang, count=1)
    assert "40" in sp.search_summary("w", 60, 40, lang) and "60" in sp.search_summary("w", 60, 40, lang)
    assert "ZZZ" in sp.search_summary("ZZZ ", 0, 0, lang)


def test_detail_shows_both_names_the_price_and_the_total_to_add() -> None:
    v = sp.detail_view(COLA, 3, Cart(), "zh_CN")
    assert (v.name, v.other_name, v.price_text) == ("可乐", "Cola", "¥3.50")
    assert v.add_text == "加入购物车  ¥10.50"
    assert v.can_less and v.can_more and v.can_add and v.in_cart_text == ""
    en = sp.detail_view(COLA, 1, Cart().add(COLA, 2), "en")
    assert (en.name, en.other_name) == ("Cola", "可乐")
    assert en.in_cart_text == "2 already in your cart"
    assert not en.can_less


def test_the_stepper_stays_between_one_and_what_the_cart_may_still_take() -> None:
    cart = Cart().add(WATER, MAX_QTY_PER_LINE - 2)
    assert sp.stepped(1, -1, WATER, cart) == 1
    assert sp.stepped(1, 1, WATER, cart) == 2
    assert sp.stepped(2, 1, WATER, cart) == 2
    v = sp.detail_view(WATER, 2, cart, "en")
    assert not v.can_more and v.can_add
    full = sp.detail_view(WATER, 1, Cart().add(WATER, MAX_QTY_PER_LINE), "en")
    assert not full.can_add and not full.can_more


def test_a_sold_out_product_cannot_be_added_from_its_detail() -> None:
    v = sp.detail_view(GONE, 1, Cart(), "zh_CN")
    assert v.sold_out and not v.can_add and v.price_text == t("cart.sold_out", "zh_CN")


def test_added_names_the_line_that_grew_and_nothing_else() -> None:
    one = Cart().add(WATER)
    two = one.add(COLA, 2)
    got = sp.added(one, two)
    assert got is not None and got.product == COLA and got.more == 2
    assert sp.added(two, two) is None
    assert sp.added(two, two.set_qty(COLA, 1)) is None  # lowered
    assert sp.added(two, Cart()) is None  # cancelled
    grew = sp.added(two, two.add(WATER))
    assert grew is not None and grew.product == WATER and grew.more == 1
    assert sp.added_text(grew, "zh_CN") == "+1 件 矿泉水"
    assert sp.added_text(grew, "en") == "+1 Water"


def test_the_placeholder_is_the_names_first_letter_in_the_customers_language() -> None:
    assert sp.initial(COLA, "zh_CN") == "可"
    assert sp.initial(Product("x", "", "  (new) tea", 1), "en") == "N"
    assert sp.initial(Product("x", "", "--", 1), "en") == "?"


def test_a_narrow_keypad_goes_alphabetical_and_keeps_every_key() -> None:
    rows = sp.keypad_rows(False)
    assert sp.fit_rows(rows, 10) == rows
    narrow = sp.fit_rows(rows, 6)
    assert all(len(row) <= 6 for row in narrow)
    assert sorted(k for row in narrow for k in row) == sorted(k for row in rows for k in row)
    assert narrow[0] == list("ABCDEF")
    digits = sp.fit_rows(sp.keypad_rows(True), 5)
    assert digits[:2] == [list("12345"), list("67890")]
