"""Receipts follow the customer's language, through the real checkout controller and store.

GIVEN a kiosk (the real CheckoutController, a SQLite store, receipts to a folder or to the ESC/POS
      printer emulator; only the gateway and the printer hardware are fakes)
WHEN a customer pays in English (or switches to English on the pay screen, or pays in Chinese)
THEN the printed receipt is in that language: English item names, labels and template lines;
     staff's reprint later, with the kiosk back in Chinese, prints it in English again; a sale
     stored before this release still prints; and the done screen's preview is the paper itself,
     footer centred and QR included, or nothing when the receipt did not print.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from drivers.gpio.indicators import NullIndicators
from drivers.printer.commands import JobFormat
from drivers.printer.errors import PrinterError
from drivers.printer.file_printer import FileReceiptPrinter
from kiosk.controller import CheckoutController, ControllerOptions
from kiosk.core.checkout import PayTapped, Phase, ProductTapped, StartTapped
from kiosk.core.receipt import ReceiptTemplate
from kiosk.ports import CatalogItem, Decoded
from kiosk.store.db import open_store
from kiosk.store.migrations import LATEST, schema_version
from kiosk.store.sales import SaleStore
from kiosk.ui.receipt_view import paper_of
from printer_emulator.emulator import PrinterEmulator
from tests.fakes.payments import FakePaymentGateway

WECHAT_CODE = "134567890123456789"
TEMPLATE = ReceiptTemplate(
    header=("${store_name}", "自助收银小票"),
    footer=("谢谢惠顾，欢迎再来",),
    header_en=("${store_name}", "Self-checkout receipt"),
    footer_en=("Thank you, come again",),
)


class FlakyPrinter(FileReceiptPrinter):
    """Receipts to a folder; ``fail`` makes the next receipts fail as a printer out of paper mid-job."""

    fail = False

    def print_receipt(self, order_id: str, document: object) -> None:  # type: ignore[override]
        if self.fail:
            raise PrinterError("paper: out")
        super().print_receipt(order_id, document)  # type: ignore[arg-type]


def build(work: Path, receipt_link: bool = False) -> CheckoutController:
    store = SaleStore(open_store(work / "kiosk.sqlite3"), "kiosk-1")
    store.replace_catalog(
        [
            CatalogItem("W550", "农夫山泉 550ml", "Nongfu Spring 550ml", 200, "6921168509256", "drinks"),
            CatalogItem("CHIPS", "乐事薯片 原味", "Lay's chips, classic", 750, None, "snacks"),
        ]
    )
    return CheckoutController(
        options=ControllerOptions(
            kiosk_id="kiosk-1",
            store_name="便利店 Corner Shop",
            receipt_link=(lambda oid: f"https://hq.example.com/r/kiosk-1/{oid}/abc")
            if receipt_link
            else None,
        ),
        store=store,
        gateway=FakePaymentGateway(),
        printer=FlakyPrinter(work / "receipts"),
        indicators=NullIndicators(),
        template=TEMPLATE,
        background=False,
    )


def buy(c: CheckoutController, language: str, switch_on_pay_screen: str = "") -> str:
    c.set_language(language)
    c.dispatch(StartTapped())
    for product in c.catalog():
        c.dispatch(ProductTapped(product))
    c.dispatch(PayTapped())
    assert c.state.phase is Phase.PAYING and c.state.order_id is not None
    if switch_on_pay_screen:
        c.set_language(switch_on_pay_screen)
    order_id = c.state.order_id
    c.handle_codes([Decoded("QRCode", WECHAT_CODE)])
    return order_id


def printed(c: CheckoutController) -> str:
    assert isinstance(c.printer, FileReceiptPrinter) and c.printer.last_text is not None
    return c.printer.last_text


def test_an_english_customer_gets_an_english_receipt(tmp_path: Path) -> None:
    c = build(tmp_path)
    buy(c, "en")
    assert c.state.phase is Phase.DONE
    text = printed(c)
    for english in (
        "Nongfu Spring 550ml",
        "Lay's chips, classic",
        "Self-checkout receipt",
        "TOTAL",
        "WeChat Pay",
    ):
        assert english in text, english
    assert "Thank you, come again" in text
    for chinese in ("农夫山泉", "乐事薯片", "自助收银小票", "谢谢惠顾", "合计", "微信支付"):
        assert chinese not in text, chinese


def test_a_chinese_customer_gets_a_chinese_receipt(tmp_path: Path) -> None:
    c = build(tmp_path)
    buy(c, "zh_CN")
    text = printed(c)
    assert "农夫山泉 550ml" in text and "合计" in text and "谢谢惠顾，欢迎再来" in text
    assert "Nongfu" not in text and "TOTAL" not in text


def test_the_receipt_follows_a_switch_to_english_on_the_pay_screen(tmp_path: Path) -> None:
    c = build(tmp_path)
    buy(c, "zh_CN", switch_on_pay_screen="en")
    assert "Nongfu Spring 550ml" in printed(c) and "农夫山泉" not in printed(c)


def test_staffs_reprint_is_in_the_language_of_the_sale(tmp_path: Path) -> None:
    """The kiosk is back in Chinese for the next customer when staff reprint an English sale."""
    c = build(tmp_path)
    order_id = buy(c, "en")
    c.set_language("zh_CN")
    again = c.receipt_layout(order_id).text()  # what kiosk.maintenance.actions reprint prints
    assert "Nongfu Spring 550ml" in again and "TOTAL" in again and "农夫山泉" not in again


def test_the_preview_is_the_paper_the_printer_prints(tmp_path: Path) -> None:
    """The done screen's preview, line for line, is what the ESC/POS printer (emulated) puts on
    paper: header and footer centred, the QR code under the footer holding the e-receipt URL."""
    c = build(tmp_path, receipt_link=True)
    order_id = buy(c, "en")
    shown = c.last_receipt_layout()
    assert shown is not None
    emulator = PrinterEmulator(columns=32)
    emulator.feed(JobFormat("gb18030").job_bytes(shown))
    (paper,) = emulator.receipts
    preview = paper_of(shown)
    paper_lines = paper.rstrip("\n").split("\n")
    assert [line.as_printed() for line in preview.lines] == paper_lines[:-1]
    assert emulator.qr_codes == [preview.qr_payload] == [f"https://hq.example.com/r/kiosk-1/{order_id}/abc"]
    footer = preview.lines[-1]
    assert footer.text == "Thank you, come again" and footer.indent == (32 - len(footer.text)) // 2 > 0
    assert "Nongfu Spring 550ml" in paper


def test_nothing_printed_no_preview_but_the_e_receipt(tmp_path: Path) -> None:
    c = build(tmp_path, receipt_link=True)
    assert isinstance(c.printer, FlakyPrinter)
    c.printer.fail = True
    order_id = buy(c, "en")
    assert c.state.order_id == order_id
    assert c.last_receipt_layout() is None
    assert c.current_receipt_url() == f"https://hq.example.com/r/kiosk-1/{order_id}/abc"


def test_a_sale_stored_by_the_release_before_still_prints(tmp_path: Path) -> None:
    """GIVEN a store of schema 7 (no language, no English names) with an English-looking sale
    WHEN this release opens it THEN migration 8 adds the columns and the receipt prints, in Chinese."""
    c = build(tmp_path)
    order_id = buy(c, "en")
    c.store.db.close()  # type: ignore[attr-defined]
    con = sqlite3.connect(tmp_path / "kiosk.sqlite3")
    con.execute('ALTER TABLE "order" DROP COLUMN language')
    con.execute("ALTER TABLE order_line DROP COLUMN name_en")
    con.execute("PRAGMA user_version = 7")
    con.commit()
    con.close()
    again = build(tmp_path)
    assert schema_version(again.store.db) == LATEST >= 8  # type: ignore[attr-defined]
    text = again.receipt_layout(order_id).text()
    assert "农夫山泉 550ml" in text and "合计" in text


@pytest.mark.parametrize("language", ["zh_CN", "en"])
def test_the_order_keeps_its_language(tmp_path: Path, language: str) -> None:
    c = build(tmp_path)
    order_id = buy(c, language)
    assert c.store.order(order_id).language == language
