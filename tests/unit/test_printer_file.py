"""FileReceiptPrinter: the demo's printer writes receipts a person can read."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from drivers.printer.errors import PrinterError
from drivers.printer.file_printer import FileReceiptPrinter, order_no_of
from kiosk.core.receipt import Receipt, ReceiptLayout, ReceiptLine, ReceiptTemplate, layout

ORDER_ID = "a1b2c3d4-0000-4000-8000-000000000001"


def zh_layout() -> ReceiptLayout:
    receipt = Receipt(
        store_name="星河便利店",
        kiosk_id="kiosk-007",
        order_id=ORDER_ID,
        time_local=datetime(2026, 3, 14, 9, 26, 53),
        lines=(ReceiptLine("矿泉水", 2, 200), ReceiptLine("Cola", 1, 350)),
        total_fen=750,
        channel="alipay",
        transaction_masked="2088********5678",
    )
    return layout(receipt, ReceiptTemplate.default(), 32)


def test_writes_utf8_text_named_by_order(tmp_path: Path) -> None:
    printer = FileReceiptPrinter(tmp_path / "receipts")
    lay = zh_layout()
    printer.print_receipt(ORDER_ID, lay)
    path = tmp_path / "receipts" / "receipt-A1B2C3D4-1.txt"
    assert printer.last_path == path
    text = path.read_text(encoding="utf-8")
    assert text == printer.last_text
    assert text.startswith("星河便利店\n")
    assert "合计                      ￥7.50\n" in text
    assert text.endswith("谢谢惠顾 Thank you\n[QR] order:a1b2c3d4-0000-4000-8000-000000000001\n")


def test_a_reprint_gets_the_next_number(tmp_path: Path) -> None:
    printer = FileReceiptPrinter(tmp_path)
    lay = zh_layout()
    printer.print_receipt(ORDER_ID, lay)
    printer.print_receipt(ORDER_ID, lay)
    FileReceiptPrinter(tmp_path).print_receipt(ORDER_ID, lay)  # after a restart too
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "receipt-A1B2C3D4-1.txt",
        "receipt-A1B2C3D4-2.txt",
        "receipt-A1B2C3D4-3.txt",
    ]


def test_the_file_is_named_by_the_order_id_given_not_by_the_qr_payload(tmp_path: Path) -> None:
    printer = FileReceiptPrinter(tmp_path)
    printer.print_receipt(
        "5e6f7a8b-0000-4000-8000-000000000000", ReceiptLayout((), ("x",), (), "https://example.com")
    )
    assert [p.name for p in tmp_path.iterdir()] == ["receipt-5E6F7A8B-1.txt"]


def test_order_number_from_an_odd_order_id_is_safe_for_a_file_name() -> None:
    assert order_no_of("../../etc/passwd-x") == "ETCPASSWD"
    assert order_no_of("") == "unknown"
    assert order_no_of("/-x") == "unknown"


def test_ready_when_the_folder_can_be_written(tmp_path: Path) -> None:
    assert FileReceiptPrinter(tmp_path / "not" / "yet").is_ready() is True
    assert FileReceiptPrinter(tmp_path).status().ready is True
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    assert FileReceiptPrinter(blocker).is_ready() is False
    status = FileReceiptPrinter(blocker).status()
    assert (status.online, status.ready, status.detail) == (False, False, f"cannot write to {blocker}")


def test_unwritable_folder_raises_printer_error(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    printer = FileReceiptPrinter(blocker / "receipts")
    with pytest.raises(PrinterError, match=r"cannot write the receipt to .*a-file/receipts"):
        printer.print_receipt(ORDER_ID, zh_layout())
    assert printer.last_text is None
