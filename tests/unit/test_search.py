"""Catalog search from the on-screen keypad (kiosk.core.search): English name, barcode digits, item code."""

from __future__ import annotations

from kiosk.core.cart import Product
from kiosk.core.search import MAX_QUERY, normalise, search

WATER = Product(
    "W550", "农夫山泉 饮用天然水 550ml", "Nongfu Spring water 550ml", 200, "6921168509256", "drinks"
)
COLA = Product("COLA330", "可口可乐 330ml", "Coca-Cola 330ml", 350, "6928804011142", "drinks")
TEA = Product("TEA500", "康师傅 冰红茶 500ml", "Iced black tea 500ml", 300, None, "drinks")
CHOC = Product("CHOC", "德芙 丝滑牛奶巧克力", "Dove milk chocolate", 1200, None, "snacks")
MILK = Product("MILK1", "纯牛奶 250ml", "Pure milk 250ml", 350, "6901234567892", "dairy", sold_out=True)
CATALOG = (WATER, COLA, TEA, CHOC, MILK)


def skus(query: str) -> list[str]:
    return [p.sku for p in search(CATALOG, query).products]


def test_an_empty_query_lists_nothing() -> None:
    assert search(CATALOG, "   ").products == ()
    assert search(CATALOG, "").total == 0


def test_a_word_start_of_the_english_name_finds_it_in_any_case() -> None:
    assert skus("coca") == ["COLA330"]
    assert skus("COLA") == ["COLA330", "CHOC"]  # a word start first, then "choCOLAte"
    assert skus("spr") == ["W550"]


def test_every_typed_word_must_match_and_word_starts_rank_before_parts_of_words() -> None:
    assert skus("milk") == ["CHOC", "MILK1"]  # catalog order among equals; sold out still listed
    assert skus("milk pure") == ["MILK1"]
    assert skus("ilk") == ["CHOC", "MILK1"]  # inside a word still matches
    assert skus("late") == ["CHOC"]
    assert skus("tea") == ["TEA500"]


def test_barcode_digits_find_by_the_start_and_by_four_or_more_inside() -> None:
    assert skus("6921168509256") == ["W550"]
    assert skus("692") == ["W550", "COLA330"]
    assert skus("69") == ["W550", "COLA330", "MILK1"]
    assert skus("8804") == ["COLA330"]
    assert skus("880") == []  # three digits only match a barcode's start: "880" is in too many


def test_an_exact_barcode_ranks_before_ones_that_start_with_it() -> None:
    other = Product("X", "x", "X", 1, "69211685092561", "")
    assert [p.sku for p in search((other, WATER), "6921168509256").products] == ["W550", "X"]


def test_chinese_in_the_query_matches_the_chinese_name() -> None:
    assert skus("牛奶") == ["CHOC", "MILK1"]
    assert skus("冰红茶") == ["TEA500"]


def test_the_query_is_normalised_and_capped() -> None:
    assert normalise("  Coca   COLA ") == "coca cola"
    assert len(normalise("a" * 100)) == MAX_QUERY


def test_results_are_capped_and_the_total_counts_all() -> None:
    many = tuple(Product(f"S{i}", "水", f"Water {i}", 100, None, "") for i in range(60))
    found = search(many, "water", limit=40)
    assert len(found.products) == 40 and found.total == 60
    assert found.products[0].sku == "S0"


def test_nothing_found_says_zero() -> None:
    assert search(CATALOG, "zzz").total == 0
