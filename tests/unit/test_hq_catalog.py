"""Catalog CSV checking (every problem, with row, column and value) and the demo products, without a database."""

from __future__ import annotations

import pytest

from hq import i18n
from hq.catalog import CatalogImportError, check_digit, demo_products, parse_catalog_csv
from kiosk_common.codes import gtin_check_ok

HEADER = "sku,name_zh,name_en,price_fen,barcode,category\n"


def problems_of(text: str) -> list[tuple[int, str, str]]:
    with pytest.raises(CatalogImportError) as caught:
        parse_catalog_csv(text)
    return [(p.row, p.column, p.value) for p in caught.value.problems]


def test_a_good_file_parses_with_row_numbers() -> None:
    text = (
        HEADER
        + 'D001,矿泉水,Mineral water,200,6901234560015,drinks\n\nF001,"三明治, 火腿",Sandwich,1200,,food\n'
    )
    items = parse_catalog_csv(text)
    assert [(i.row, i.product.sku) for i in items] == [(2, "D001"), (4, "F001")]
    assert items[0].product.price_fen == 200 and items[0].product.barcode == "6901234560015"
    assert items[1].product.name_zh == "三明治, 火腿" and items[1].product.barcode is None


def test_columns_may_come_in_any_order_and_any_case() -> None:
    items = parse_catalog_csv("Category,SKU,price_fen,name_en,name_zh,barcode\nfood,F1,100,Bun,包子,\n")
    assert items[0].product.category == "food" and items[0].product.name_zh == "包子"


def test_every_bad_cell_is_reported_not_just_the_first() -> None:
    text = HEADER + (
        "A1,苹果,Apple,3.50,6901234560016,fruit\n"  # yuan price, wrong check digit
        "A1,,Pear,100,123,fruit\n"  # duplicate sku, empty name, short barcode
        "A3,x,y,1\n"  # too few fields
        "bad sku,x,y,-5,,\n"  # bad sku, negative price, empty category
    )
    assert problems_of(text) == [
        (2, "price_fen", "3.50"),
        (2, "barcode", "6901234560016"),
        (3, "sku", "A1"),
        (3, "name_zh", ""),
        (3, "barcode", "123"),
        (4, "-", "A3,x,y,1"),
        (5, "sku", "bad sku"),
        (5, "price_fen", "-5"),
        (5, "category", ""),
    ]


def test_problem_texts_say_what_to_do_in_both_languages() -> None:
    with pytest.raises(CatalogImportError) as caught:
        parse_catalog_csv(HEADER + "A1,苹果,Apple,3.50,6901234560016,fruit\n")
    price, barcode = (p.text() for p in caught.value.problems)
    assert (
        price.en
        == "row 2, column price_fen, value '3.50': this looks like yuan; prices are whole fen, e.g. 350 for ¥3.50"
    )
    assert "第 2 行" in price.zh and "分" in price.zh
    assert "should be 5" in barcode.en and "应为 5" in barcode.zh


def test_duplicate_barcodes_name_the_first_row() -> None:
    text = HEADER + "A1,a,a,1,6901234560015,x\nA2,b,b,1,6901234560015,x\n"
    with pytest.raises(CatalogImportError) as caught:
        parse_catalog_csv(text)
    (problem,) = caught.value.problems
    assert (problem.row, problem.column) == (3, "barcode")
    assert "row 2" in problem.text().en


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", [(1, "-", "")]),
        ("sku,name_zh,name_en,price_fen,barcode\n", [(1, "category", "")]),
        (HEADER.strip() + ",colour\n", [(1, "colour", "colour")]),
        (HEADER.strip() + ",sku\n", [(1, "sku", "sku")]),
    ],
    ids=["empty", "missing column", "unknown column", "column twice"],
)
def test_header_problems(text: str, expected: list[tuple[int, str, str]]) -> None:
    assert problems_of(text) == expected


def test_control_characters_and_overlong_names_are_refused() -> None:
    text = HEADER + f"A1,{'长' * 129},x,1,,c\nA2,ok,bell\x07,1,,c\n"
    assert problems_of(text) == [(2, "name_zh", "长" * 129), (3, "name_en", "bell\x07")]


def test_demo_products_are_a_dozen_with_valid_ean13_and_both_languages() -> None:
    products = demo_products()
    assert len(products) >= 12
    assert len({p.sku for p in products}) == len(products)
    assert len({p.barcode for p in products}) == len(products)
    for p in products:
        assert p.barcode is not None and len(p.barcode) == 13 and gtin_check_ok(p.barcode), p
        assert p.name_zh and p.name_en and p.name_zh != p.name_en
        assert isinstance(p.price_fen, int) and p.price_fen > 0
    by_en = {p.name_en.split(" ")[0]: p for p in products}
    assert (
        by_en["Mineral"].price_fen == 200
        and by_en["Cola"].price_fen == 350
        and by_en["Sandwich"].price_fen == 1200
    )


def test_check_digit_matches_a_known_ean13() -> None:
    # 4006381333931 is the textbook EAN-13 example
    assert check_digit("400638133393") == 1


def test_cli_language_follows_the_locale() -> None:
    assert i18n.cli_language({"LANG": "zh_CN.UTF-8"}) == "zh_CN"
    assert i18n.cli_language({"LC_ALL": "en_US.UTF-8", "LANG": "zh_CN.UTF-8"}) == "en"
    assert i18n.cli_language({}) == "en"
