"""Finding a product for a price override or stock mark, and the words the manager sees (pure)."""

from __future__ import annotations

from kiosk.core.cart import Product
from kiosk.maintenance import catalog

WATER = Product("w1", "矿泉水", "Water", 200, "6901234567892", "drinks")
TEA = Product("t1", "绿茶", "Green Tea", 350, "6920000000012", "drinks")
SOAP = Product("s1", "香皂", "Soap", 500, None, "")


def test_a_search_matches_part_of_either_name_the_code_or_the_barcode_in_any_case() -> None:
    products = [WATER, TEA, SOAP]
    assert catalog.find(products, query="green") == [TEA]
    assert catalog.find(products, query="矿泉") == [WATER]
    assert catalog.find(products, query="S1") == [SOAP]
    assert catalog.find(products, query="69") == [WATER, TEA]
    assert catalog.find(products, query="69", category="drinks") == [WATER, TEA]
    assert catalog.find(products, category="other") == [SOAP]  # no category: filed under "other"
    assert catalog.find(products, query="nothing") == []
    assert not catalog.matches(WATER, "  ")
    assert catalog.categories(products) == ["drinks", "other"]
    assert catalog.clean_query("  " + "9" * 60) == "9" * catalog.QUERY_MAX


def test_a_row_and_the_state_say_the_price_charged_hqs_price_and_the_stock_mark() -> None:
    plain = catalog.ProductState("w1", "矿泉水", "Water", 200, None, False)
    changed = catalog.ProductState("w1", "矿泉水", "Water", 200, 150, True)
    assert catalog.row_label(plain, "en") == "Water  ¥2.00"
    assert catalog.row_label(changed, "en") == "Water  ¥1.50 (was ¥2.00)  [out of stock]"
    assert catalog.row_label(changed, "zh_CN") == "矿泉水  ¥1.50（原价 ¥2.00）  [缺货]"
    assert changed.price_fen == 150 and plain.price_fen == 200
    text = catalog.state_text(changed, "en")
    assert "HQ price ¥2.00" in text and "selling at ¥1.50 (overridden here)" in text
    assert "stock: out of stock" in text
    assert "库存：有货" in catalog.state_text(plain, "zh_CN")
