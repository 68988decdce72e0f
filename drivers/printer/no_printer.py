"""``transport = "none"``: a kiosk without a receipt printer."""

from __future__ import annotations

from drivers.printer.document import ReceiptDocument
from drivers.printer.errors import PrinterError
from drivers.printer.status import PrinterStatus, silent


class NoPrinter:
    """Never ready, so the checkout offers an e-receipt or calls staff."""

    def is_ready(self) -> bool:
        return False

    def status(self) -> PrinterStatus:
        return silent("no printer configured")

    def print_receipt(self, order_id: str, document: ReceiptDocument) -> None:
        raise PrinterError("no printer configured")

    def close(self) -> None:
        pass
