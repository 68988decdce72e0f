"""The pure half of the cart screen's fixes (issue 12): cancel's question, the tab bar's wheel,
and what the attract screen says when the catalog has no products."""

from __future__ import annotations

import pytest

from kiosk.core.cart import Cart, Product
from kiosk.ui import present

WATER = Product("W", "矿泉水", "Water", 200, None, "drinks")


def test_cancel_asks_only_when_the_cart_has_something_to_lose() -> None:
    assert present.cancel_needs_confirm(Cart().add(WATER))
    assert not present.cancel_needs_confirm(Cart())


@pytest.mark.parametrize(
    ("button", "start", "expected"),
    [
        ("scrollup", 0.0, 0.25),  # the wheel turned towards the user: further along the bar
        ("scrolldown", 0.5, 0.25),
        ("scrollleft", 0.0, 0.25),  # a tilt wheel
        ("scrollright", 0.5, 0.25),
        ("scrolldown", 0.1, 0.0),  # never past the start
        ("scrollup", 0.9, 1.0),  # nor past the end
    ],
)
def test_a_wheel_notch_moves_the_sideways_tab_bar(button: str, start: float, expected: float) -> None:
    assert present.wheel_scroll_x(button, start, 0.25) == pytest.approx(expected)


def test_a_click_is_not_a_wheel() -> None:
    assert present.wheel_scroll_x("left", 0.3, 0.25) is None


def test_no_products_no_sale_and_staff_are_told_why() -> None:
    assert not present.can_start_sale(0)
    assert present.can_start_sale(1)
    assert present.catalog_reason(3, "", "en") == ""
    assert present.catalog_reason(0, "", "zh_CN") == "工作人员：商品目录为空，请从总部同步商品目录"
    assert present.catalog_reason(0, "", "en") == "Staff: the catalog is empty; sync the catalog from HQ"
    assert (
        present.catalog_reason(0, "OperationalError", "en")
        == "Staff: the catalog cannot be read (OperationalError); see the log"
    )
