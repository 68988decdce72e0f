"""A receipt printer that writes text files: for the demo and for kiosks without a printer attached.

A person reads the receipts in the folder; the QR payload is written as a last line because a text
file cannot show the symbol.
"""

from __future__ import annotations

import os
import re
import threading
from pathlib import Path

from drivers.printer.document import ReceiptDocument, document_text
from drivers.printer.errors import PrinterError
from drivers.printer.status import PrinterStatus

_MAX_COPIES = 10_000  # receipt-<order>-1 .. -10000: a bound on the search for a free file name
_SAFE_NAME = re.compile(r"[^A-Za-z0-9_-]")


def order_no_of(order_id: str) -> str:
    """The short order number for the file name: the order id's first block, upper case.

    Only letters, digits, '_' and '-' are kept, so an odd id can never name a file outside the
    folder; an id with none of them gives "unknown".
    """
    head = order_id.split("-")[0].upper()
    cleaned = _SAFE_NAME.sub("", head)[:32]
    return cleaned or "unknown"


def receipt_text(document: ReceiptDocument) -> str:
    """What the file holds: the document's text and, when there is one, the QR payload."""
    text = document_text(document)
    return text + f"[QR] {document.qr_payload}\n" if document.qr_payload else text


class FileReceiptPrinter:
    """Writes each receipt to ``folder/receipt-<order_no>-<n>.txt`` (UTF-8); n counts reprints."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.last_text: str | None = None
        self.last_path: Path | None = None
        self._lock = threading.Lock()

    def is_ready(self) -> bool:
        """Ready when the folder exists and is writable, or can be created."""
        target = self.folder
        while not target.exists():
            if target.parent == target:
                return False
            target = target.parent
        return target.is_dir() and os.access(target, os.W_OK | os.X_OK)

    def status(self) -> PrinterStatus:
        """The same shape as a real printer's status, so the maintenance screen can show either."""
        if self.is_ready():
            return PrinterStatus(
                online=True, paper="ok", cover_open=False, detail=f"writing to {self.folder}"
            )
        return PrinterStatus(online=False, paper="unknown", detail=f"cannot write to {self.folder}")

    def print_receipt(self, order_id: str, document: ReceiptDocument) -> None:
        text = receipt_text(document)
        order_no = order_no_of(order_id)
        with self._lock:
            try:
                self.folder.mkdir(parents=True, exist_ok=True)
                for n in range(1, _MAX_COPIES + 1):
                    path = self.folder / f"receipt-{order_no}-{n}.txt"
                    try:
                        with path.open("x", encoding="utf-8", newline="\n") as fh:
                            fh.write(text)
                    except FileExistsError:
                        continue
                    break
                else:
                    raise PrinterError(
                        f"receipt folder {self.folder}: {_MAX_COPIES} copies of order {order_no} already; "
                        "clear out the folder"
                    )
            except OSError as exc:
                raise PrinterError(
                    f"cannot write the receipt to {self.folder}: {exc.strerror or exc}; "
                    "check the folder setting (the printer's device) and its permissions"
                ) from exc
            self.last_text = text
            self.last_path = path

    def close(self) -> None:
        pass
