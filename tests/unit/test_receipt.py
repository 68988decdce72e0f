from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from kiosk.core.receipt import (
    Receipt,
    ReceiptLine,
    ReceiptTemplate,
    TemplateError,
    display_width,
    layout,
    pad_between,
    wrap,
)
from kiosk.settings import defaults_dir


def _receipt(language: str = "zh_CN", name: str = "矿泉水") -> Receipt:
    return Receipt(
        store_name="便利店",
        kiosk_id="kiosk-001",
        order_id="9f1c2d3e-0000-4000-8000-000000000000",
        time_local=datetime(2026, 11, 24, 20, 5, 7),
        lines=(ReceiptLine(name, 2, 200), ReceiptLine("Cola", 1, 350)),
        total_fen=750,
        channel="wechat",
        transaction_masked="4200********1234",
        language=language,
    )


def test_display_width_counts_cjk_as_two() -> None:
    assert display_width("abc") == 3
    assert display_width("矿泉水") == 6
    assert display_width("合计￥1") == 7  # the full-width yuan sign is two columns


def test_wrap_never_exceeds_columns_or_splits_characters() -> None:
    lines = wrap("超长的商品名称超长的商品名称超长的商品名称", 10)
    assert all(display_width(line) <= 10 for line in lines)
    assert "".join(lines) == "超长的商品名称超长的商品名称超长的商品名称"


def test_pad_between_right_aligns() -> None:
    line = pad_between("合计", "￥7.50", 32)
    assert display_width(line) == 32 and line.endswith("￥7.50")


@pytest.mark.parametrize("columns", [32, 48])
@pytest.mark.parametrize("language", ["zh_CN", "en"])
def test_layout_lines_fit_the_paper(columns: int, language: str) -> None:
    out = layout(
        _receipt(language, name="特别长的进口有机矿泉水家庭装大瓶" * 2), ReceiptTemplate.default(), columns
    )
    for line in out.text().splitlines():
        assert display_width(line) <= columns, line
    text = out.text()
    assert "￥7.50" in text and "9F1C2D3E" in text and "4200********1234" in text
    assert ("微信支付" if language == "zh_CN" else "WeChat Pay") in text
    assert out.qr_payload == "order:9f1c2d3e-0000-4000-8000-000000000000"


def test_layout_total_column_aligned() -> None:
    text = layout(_receipt(), ReceiptTemplate.default(), 32).text()
    priced = [line for line in text.splitlines() if line.rstrip().endswith(("4.00", "3.50", "￥7.50"))]
    assert len(priced) == 3 and all(display_width(line) == 32 for line in priced)


def test_shipped_template_is_valid() -> None:
    template = ReceiptTemplate.load(defaults_dir() / "receipt.toml")
    text = layout(_receipt(), template, 32).text()
    assert text.splitlines()[0] == "便利店"


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (b'header = ["${nope}"]', "unknown field(s) ['nope']"),
        (b"header = [", "not valid TOML"),
        (b'header = "x"', "must be a list of strings"),
        (b'colour = ["x"]', "unknown key(s)"),
        (b'footer = ["cost $ 5"]', "stray '$'"),
        (b"\xff\xfe", "not UTF-8"),
    ],
)
def test_corrupt_template_is_a_clear_error(tmp_path: Path, content: bytes, fragment: str) -> None:
    path = tmp_path / "receipt.toml"
    path.write_bytes(content)
    with pytest.raises(TemplateError) as err:
        ReceiptTemplate.load(path)
    assert fragment in str(err.value) and str(path) in str(err.value)


def test_missing_template(tmp_path: Path) -> None:
    with pytest.raises(TemplateError, match="cannot read it"):
        ReceiptTemplate.load(tmp_path / "absent.toml")


def test_wrap_keeps_latin_words_whole() -> None:
    assert wrap("Special imported organic mineral water", 20) == [
        "Special imported",
        "organic mineral",
        "water",
    ]
    assert wrap("自助收银小票 Self-checkout receipt", 32) == ["自助收银小票 Self-checkout", "receipt"]
    assert wrap("x" * 25, 10) == ["x" * 10, "x" * 10, "x" * 5]


def test_discounts_show_subtotal_and_each_discount_aligned() -> None:
    from dataclasses import replace

    from kiosk.core.receipt import ReceiptDiscount

    receipt = replace(_receipt(), discounts=(ReceiptDiscount("会员折扣", 50),), total_fen=700)
    lines = layout(receipt, ReceiptTemplate.default(), 32).text().splitlines()
    subtotal = next(n for n, line in enumerate(lines) if line.startswith("小计"))
    assert lines[subtotal].endswith(" 7.50")
    assert lines[subtotal + 1].startswith("会员折扣") and lines[subtotal + 1].endswith(" -0.50")
    assert lines[subtotal + 2].startswith("合计") and lines[subtotal + 2].endswith("￥7.00")
    assert all(display_width(line) == 32 for line in lines[subtotal : subtotal + 3])


def test_no_discount_lines_without_discounts() -> None:
    assert "小计" not in layout(_receipt(), ReceiptTemplate.default(), 32).text()


def _big(language: str) -> Receipt:
    """A receipt in the thousands: a television at ¥2,199.00 and a ¥12,345.67 total."""
    return Receipt(
        store_name="便利店",
        kiosk_id="kiosk-001",
        order_id="9f1c2d3e-0000-4000-8000-000000000000",
        time_local=datetime(2026, 11, 24, 20, 5, 7),
        lines=(ReceiptLine("小米电视 Xiaomi TV 55", 5, 219900), ReceiptLine("Cola", 1, 1234567 - 5 * 219900)),
        total_fen=1234567,
        channel="wechat",
        transaction_masked="4200********1234",
        language=language,
    )


@pytest.mark.parametrize("columns", [32, 48])
@pytest.mark.parametrize("language", ["zh_CN", "en"])
def test_amounts_are_grouped_in_thousands_as_on_the_screens(columns: int, language: str) -> None:
    """The screens say "¥12,345.67" (money.format_money); the paper says the same amounts the same way,
    still right-aligned to the paper's last column."""
    template = ReceiptTemplate(header=("${store_name} ${total}",), footer=())
    out = layout(_big(language), template, columns)
    lines = out.text().splitlines()
    assert all(display_width(line) <= columns for line in lines)
    qty = next(line for line in lines if line.lstrip().startswith("5 x"))
    assert qty.startswith("  5 x 2,199.00") and qty.endswith(" 10,995.00")
    assert display_width(qty) == columns
    total = next(line for line in lines if line.startswith(("合计", "TOTAL")))
    assert total.endswith(" ￥12,345.67") and display_width(total) == columns
    assert out.header == ("便利店 ￥12,345.67",)  # the template's ${total} too
    assert "12345" not in out.text() and "2199.00" not in out.text()


def test_a_small_amount_reads_as_before() -> None:
    text = layout(_receipt(), ReceiptTemplate.default(), 32).text()
    assert " 4.00" in text and "￥7.50" in text and "," not in text.replace("，", "")


def test_the_preview_mirrors_the_printed_paper_with_grouped_amounts() -> None:
    """What the done screen draws (receipt_view.paper_of) is, line for line, what the printer
    (emulated, fed the driver's ESC/POS bytes) puts on paper, thousands separators included."""
    from drivers.printer.commands import JobFormat
    from kiosk.ui.receipt_view import paper_of
    from printer_emulator.emulator import PrinterEmulator

    for columns in (32, 48):
        shown = layout(_big("en"), ReceiptTemplate.default(), columns)
        emulator = PrinterEmulator(columns=columns)
        emulator.feed(JobFormat("gb18030").job_bytes(shown))
        (paper,) = emulator.receipts
        preview = paper_of(shown)
        assert [line.as_printed() for line in preview.lines] == paper.rstrip("\n").split("\n")[:-1]
        assert "￥12,345.67" in paper and "10,995.00" in paper
