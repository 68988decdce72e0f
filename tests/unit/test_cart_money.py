from __future__ import annotations

import pytest

from kiosk.core.cart import MAX_QTY_PER_LINE, Cart, CartError, Product
from kiosk.core.money import format_yuan, parse_yuan

A = Product("a", "苹果", "Apple", 350)
B = Product("b", "香蕉", "Banana", 199)


@pytest.mark.parametrize(
    ("fen", "text"),
    [
        (0, "¥0.00"),
        (1, "¥0.01"),
        (199, "¥1.99"),
        (100000, "¥1,000.00"),
        (-250, "-¥2.50"),
        (123456789, "¥1,234,567.89"),
    ],
)
def test_format_yuan(fen: int, text: str) -> None:
    assert format_yuan(fen) == text


def test_format_yuan_refuses_floats() -> None:
    with pytest.raises(TypeError):
        format_yuan(1.5)  # type: ignore[arg-type]


@pytest.mark.parametrize(("text", "fen"), [("12", 1200), ("12.5", 1250), ("12.05", 1205), ("-0.01", -1)])
def test_parse_yuan(text: str, fen: int) -> None:
    assert parse_yuan(text) == fen


@pytest.mark.parametrize("bad", ["1.234", "abc", "", "1,00", "1.x"])
def test_parse_yuan_rejects(bad: str) -> None:
    with pytest.raises(ValueError):
        parse_yuan(bad)


def test_add_merges_lines_and_totals_in_fen() -> None:
    cart = Cart().add(A).add(B, 2).add(A)
    assert [(line.product.sku, line.qty) for line in cart.lines] == [("a", 2), ("b", 2)]
    assert cart.total_fen == 2 * 350 + 2 * 199
    assert cart.item_count == 4


def test_set_qty_zero_removes_and_keeps_order() -> None:
    cart = Cart().add(A).add(B).set_qty(A, 0)
    assert [line.product.sku for line in cart.lines] == ["b"]
    assert Cart().add(A).add(B).set_qty(A, 5).lines[0].qty == 5


def test_limits() -> None:
    with pytest.raises(CartError):
        Cart().add(A, MAX_QTY_PER_LINE + 1)
    with pytest.raises(CartError):
        Cart().add(A, 0)
    with pytest.raises(CartError):
        Cart().set_qty(A, -1)


def test_cart_is_immutable() -> None:
    cart = Cart()
    cart.add(A)
    assert cart.is_empty
