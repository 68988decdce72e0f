"""Receipts follow the customer's language: the item names, the fixed labels and the template's lines.

GIVEN a sale paid in English (or in Chinese)
WHEN its receipt is laid out
THEN every text on it is in that language: the English item names, the English labels and the
     template's English lines when it has them; a sale kept before English names were stored
     prints its Chinese names rather than nothing.
"""

from __future__ import annotations

from datetime import datetime

import pytest

from kiosk.core.receipt import Receipt, ReceiptLine, ReceiptTemplate, TemplateError, layout
from kiosk.core.records import OrderLineRecord

TEMPLATE = ReceiptTemplate(
    header=("${store_name}", "自助收银小票"),
    footer=("谢谢惠顾，欢迎再来",),
    header_en=("${store_name}", "Self-checkout receipt"),
    footer_en=("Thank you, come again",),
)
LINES = (
    OrderLineRecord("W550", "农夫山泉 550ml", 2, 200, 400, "Nongfu Spring 550ml"),
    OrderLineRecord("CHIPS", "乐事薯片", 1, 750, 750, ""),  # sold before English names were kept
)


def _receipt(language: str) -> Receipt:
    return Receipt(
        store_name="便利店 Corner Shop",
        kiosk_id="kiosk-001",
        order_id="9f1c2d3e-0000-4000-8000-000000000000",
        time_local=datetime(2026, 11, 24, 20, 5, 7),
        lines=tuple(ReceiptLine(li.name_in(language), li.qty, li.unit_price_fen) for li in LINES),
        total_fen=1150,
        channel="alipay",
        transaction_masked="4200****1234",
        language=language,
    )


def test_an_english_receipt_is_english_throughout() -> None:
    out = layout(_receipt("en"), TEMPLATE, 32, "https://hq.example.com/r/x")
    text = out.text()
    assert "Nongfu Spring 550ml" in text and "农夫山泉" not in text
    assert "乐事薯片" in text  # no English name was kept for it: the Chinese one, not a blank line
    for label in ("Order: 9F1C2D3E", "Time: 2026-11-24 20:05:07", "TOTAL", "Paid", "Alipay", "Txn"):
        assert label in text, label
    assert out.header == ("便利店 Corner Shop", "Self-checkout receipt")
    assert out.footer == ("Thank you, come again",)
    assert "自助收银小票" not in text and "谢谢惠顾" not in text and "合计" not in text
    assert out.qr_payload == "https://hq.example.com/r/x"


def test_a_chinese_receipt_is_chinese_throughout() -> None:
    out = layout(_receipt("zh_CN"), TEMPLATE, 32)
    text = out.text()
    assert "农夫山泉 550ml" in text and "Nongfu" not in text
    for label in ("订单: 9F1C2D3E", "合计", "支付", "支付宝", "交易号"):
        assert label in text, label
    assert out.header == ("便利店 Corner Shop", "自助收银小票")
    assert out.footer == ("谢谢惠顾，欢迎再来",)
    assert out.qr_payload == "order:9f1c2d3e-0000-4000-8000-000000000000"


def test_a_template_without_english_lines_serves_both_languages() -> None:
    both = ReceiptTemplate(header=("${store_name}",), footer=("谢谢惠顾 Thank you",))
    assert layout(_receipt("en"), both, 32).footer == ("谢谢惠顾 Thank you",)
    assert layout(_receipt("zh_CN"), both, 32).footer == ("谢谢惠顾 Thank you",)


def test_the_default_template_thanks_in_the_receipts_language() -> None:
    assert layout(_receipt("en"), ReceiptTemplate.default(), 32).footer == ("Thank you",)
    assert layout(_receipt("zh_CN"), ReceiptTemplate.default(), 32).footer == ("谢谢惠顾 Thank you",)


def test_the_template_file_takes_english_lines() -> None:
    raw = (
        'header = ["${store_name}"]\nfooter = ["谢谢"]\n'
        'header_en = ["${store_name}", "Receipt"]\nfooter_en = ["Thanks, ${channel}"]\n'
    ).encode()
    template = ReceiptTemplate.parse(raw, "t.toml")
    assert template.lines_for("en") == (("${store_name}", "Receipt"), ("Thanks, ${channel}",))
    assert template.lines_for("zh_CN") == (("${store_name}",), ("谢谢",))


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ('footer_en = "Thanks"\n', "footer_en must be a list of strings"),
        ('header_en = ["${nope}"]\n', "unknown field"),
        ('footer_fr = ["Merci"]\n', "allowed: header, footer, header_en, footer_en"),
    ],
)
def test_bad_english_lines_stop_start_up_with_a_clear_message(raw: str, message: str) -> None:
    with pytest.raises(TemplateError, match=message):
        ReceiptTemplate.parse(raw.encode(), "t.toml")


def test_the_packaged_template_has_english_lines() -> None:
    from kiosk.settings import defaults_dir

    template = ReceiptTemplate.load(defaults_dir() / "receipt.toml")
    header, footer = template.lines_for("en")
    assert all(line.isascii() for line in (*header[1:], *footer)), (header, footer)
