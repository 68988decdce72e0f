"""The on-screen receipt is the paper: centred header and footer, and the QR under the footer.

Pure presentation (no Kivy): ``kiosk.ui.receipt_view`` lays the receipt out as the ESC/POS driver
prints it, and ``ReceiptPainter.paint_paper`` draws that, QR included, readable by a phone.
"""

from __future__ import annotations

from datetime import datetime

import numpy as np
import zxingcpp

from kiosk.core.receipt import Receipt, ReceiptLayout, ReceiptLine, ReceiptTemplate, display_width, layout
from kiosk.ui.fonts import ReceiptPainter, find_cjk_font
from kiosk.ui.receipt_view import PaperLine, ReceiptPanel, paper_of, receipt_panel

URL = "https://hq.example.com/r/kiosk-001/9f1c2d3e-0000-4000-8000-000000000000/" + "0" * 32


def _layout(language: str = "en") -> ReceiptLayout:
    receipt = Receipt(
        store_name="便利店 Corner Shop",
        kiosk_id="kiosk-001",
        order_id="9f1c2d3e-0000-4000-8000-000000000000",
        time_local=datetime(2026, 11, 24, 20, 5, 7),
        lines=(ReceiptLine("Nongfu Spring 550ml", 2, 200),),
        total_fen=400,
        channel="wechat",
        transaction_masked="4200****1234",
        language=language,
    )
    template = ReceiptTemplate(
        header=("${store_name}",), footer=("谢谢惠顾",), footer_en=("Thank you, come again",)
    )
    return layout(receipt, template, 32, URL)


def test_header_and_footer_are_centred_as_the_printer_centres_them() -> None:
    paper = paper_of(_layout())
    assert paper.columns == 32
    assert paper.lines[0] == PaperLine("便利店 Corner Shop", (32 - 18) // 2, bold=True)
    assert paper.lines[-1] == PaperLine("Thank you, come again", (32 - 21) // 2, bold=False)
    body = paper.lines[1:-1]
    assert all(line.indent == 0 and not line.bold for line in body)
    assert paper.qr_payload == URL


def test_a_chinese_footer_is_centred_by_its_display_width() -> None:
    footer = paper_of(_layout("zh_CN")).lines[-1]
    assert footer.text == "谢谢惠顾" and footer.indent == (32 - display_width("谢谢惠顾")) // 2 == 12


def test_the_panel_shows_the_paper_the_e_receipt_or_says_it_cannot() -> None:
    assert receipt_panel(_layout(), URL) is ReceiptPanel.PAPER
    assert receipt_panel(None, URL) is ReceiptPanel.E_RECEIPT  # nothing printed: HQ's e-receipt
    assert receipt_panel(None, "") is ReceiptPanel.NONE


def test_the_drawn_receipt_has_a_readable_qr_and_a_centred_footer() -> None:
    painter = ReceiptPainter(find_cjk_font(), font_px=20)
    paper = paper_of(_layout())
    picture = painter.paint_paper(paper)
    assert [r.text for r in zxingcpp.read_barcodes(picture.convert("RGB"))] == [URL]
    # ink on the paper's printable width (the drop shadow beside the paper is not ink)
    width = paper.columns * painter.cell
    ink = np.asarray(picture.convert("L"))[:, painter.margin : painter.margin + width] < 128
    # the footer's row band: the last text line, above the QR
    top = painter.margin + (len(paper.lines) - 1) * painter.line_h
    cols = np.nonzero(ink[top : top + painter.line_h].any(axis=0))[0]
    left_gap, right_gap = int(cols.min()), width - 1 - int(cols.max())
    assert left_gap > 4 * painter.cell  # not left-aligned
    assert abs(left_gap - right_gap) <= 2 * painter.cell  # centred (to the printer's whole column)
