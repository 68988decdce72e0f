"""What the done screen shows of the receipt: the paper as the printer prints it, or the e-receipt QR.

Pure (no Kivy), so a unit test can check the preview against the printer emulator's paper. The
ESC/POS driver (drivers/printer/commands.py) prints the header bold and centred, the body from
the left, the footer centred and then the QR code centred under it; a preview that drew the text
alone, left-aligned, would show a receipt the customer never gets. When nothing printed, the
screen shows the sale's e-receipt QR from HQ instead, so the customer still leaves with a receipt.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from kiosk.core.receipt import ReceiptLayout, display_width

#: the narrowest paper (58 mm, 32 columns): a short document is still drawn on a whole roll's width
MIN_COLUMNS = 32
#: a QR module's width in printer columns: the driver prints 6-dot modules, a column is 12 dots
#: (384 dots over 32 columns on 58 mm paper, 576 over 48 on 80 mm)
QR_MODULE_COLUMNS = 0.5


@dataclass(frozen=True, slots=True)
class PaperLine:
    """One printed line: ``indent`` blank columns before the text (a centred line), bold or not."""

    text: str
    indent: int = 0
    bold: bool = False

    def as_printed(self) -> str:
        """The line as plain text, its centring written as spaces (how the emulator records paper)."""
        return " " * self.indent + self.text


@dataclass(frozen=True, slots=True)
class Paper:
    """The receipt as it comes out of the printer: its width, its lines and the QR under them."""

    columns: int
    lines: tuple[PaperLine, ...]
    #: the QR code printed centred under the footer ("" when the receipt has none)
    qr_payload: str


def paper_of(document: ReceiptLayout) -> Paper:
    """Lay ``document`` out as the ESC/POS driver prints it (header bold and centred, footer centred).

    Centring follows the printer: the spare columns halved, rounded down (ESC a 1).
    """
    every = (*document.header, *document.body, *document.footer)
    columns = max(MIN_COLUMNS, *(display_width(line) for line in every)) if every else MIN_COLUMNS

    def centred(line: str, bold: bool) -> PaperLine:
        return PaperLine(line, max(0, columns - display_width(line)) // 2, bold)

    lines = (
        *(centred(line, True) for line in document.header),
        *(PaperLine(line) for line in document.body),
        *(centred(line, False) for line in document.footer),
    )
    return Paper(columns, tuple(lines), document.qr_payload)


class ReceiptPanel(enum.StrEnum):
    """What the done screen's receipt panel holds."""

    PAPER = "paper"  # the printed receipt, drawn as it printed
    E_RECEIPT = "e_receipt"  # nothing printed: the sale's e-receipt QR from HQ
    NONE = "none"  # nothing printed and no HQ: the panel says the receipt cannot be shown


def receipt_panel(printed: ReceiptLayout | None, e_receipt_url: str) -> ReceiptPanel:
    """The paper when a receipt printed; else the e-receipt QR when HQ can serve one."""
    if printed is not None:
        return ReceiptPanel.PAPER
    return ReceiptPanel.E_RECEIPT if e_receipt_url else ReceiptPanel.NONE
