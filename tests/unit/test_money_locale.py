"""Amounts and counts as customers read them (kiosk.core.money.format_money / format_count)."""

from __future__ import annotations

import pytest

from kiosk.core.cart import Cart, Product
from kiosk.core.checkout import Checkout, Phase
from kiosk.core.money import format_count, format_money
from kiosk.ui import present


@pytest.mark.parametrize(
    ("fen", "text"),
    [
        (0, "¥0.00"),
        (5, "¥0.05"),
        (1250, "¥12.50"),
        (99_999, "¥999.99"),
        (123_400, "¥1,234.00"),
        (123_456_789, "¥1,234,567.89"),
        (-350, "-¥3.50"),
        (-123_400, "-¥1,234.00"),
    ],
)
@pytest.mark.parametrize("language", ["zh_CN", "en"])
def test_money_is_yuan_with_two_decimals_and_grouped_thousands(fen: int, text: str, language: str) -> None:
    assert format_money(fen, language) == text


def test_money_refuses_floats_and_unknown_languages() -> None:
    with pytest.raises(TypeError):
        format_money(12.5, "en")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        format_money(True, "en")
    with pytest.raises(ValueError, match="zh_CN or en"):
        format_money(100, "fr")


@pytest.mark.parametrize(
    ("count", "zh", "en"),
    [
        (0, "0 件", "0 items"),
        (1, "1 件", "1 item"),
        (3, "3 件", "3 items"),
        (1200, "1,200 件", "1,200 items"),
    ],
)
def test_counts_say_item_or_items(count: int, zh: str, en: str) -> None:
    assert format_count(count, "zh_CN") == zh
    assert format_count(count, "en") == en


def test_count_refuses_unknown_language() -> None:
    with pytest.raises(ValueError, match="zh_CN or en"):
        format_count(1, "de")


BIG = Product("TV", "电视机", "Television", 399_900, None, "home")


def test_the_screens_group_thousands_in_prices_lines_and_totals() -> None:
    """Before format_money every screen said "¥3999.00"; now the grid, the cart and the pay screen
    all read "¥3,999.00" (and "¥7,998.00" for two)."""
    cart = Cart().add(BIG).add(BIG)
    for language in ("zh_CN", "en"):
        tile = present.product_tiles([BIG], "", cart, language)[0]
        assert tile["price_text"] == "¥3,999.00"
        row = present.cart_rows(cart, language)[0]
        assert row["total_text"] == "¥7,998.00"
        assert "¥3,999.00" in row["unit_text"]
        paying = Checkout(phase=Phase.PAYING, cart=cart, order_id="o1")
        assert present.pay_shown(paying, present.SaleShown(), language).total_text == "¥7,998.00"
        done = Checkout(phase=Phase.DONE, cart=cart, order_id="o1")
        assert present.done_shown(done, present.SaleShown(), "", language).total_text == "¥7,998.00"


def test_the_cart_counts_items_in_the_customers_language() -> None:
    from kiosk.i18n import t

    assert t("cart.items", "en", count=present.count_text(1, "en")) == "1 item"
    assert t("cart.items", "zh_CN", count=present.count_text(2, "zh_CN")) == "共 2 件"
    assert t("cart.confirm_detail", "en", count=present.count_text(1, "en")) == (
        "The 1 item in your cart will be removed"
    )
    assert t("cart.confirm_detail", "zh_CN", count=present.count_text(4, "zh_CN")) == (
        "购物车里的 4 件商品将被移除"
    )
