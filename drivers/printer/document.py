"""What a printer driver prints: any object with a header, a body, a footer and a QR payload.

A structural type, so the kiosk's ``ReceiptLayout`` (kiosk/core/receipt.py) is printable as it is,
and the driver needs nothing from the application above it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol


class ReceiptDocument(Protocol):
    """Lines of text in three parts (a printer centres the header and footer) and a QR payload."""

    @property
    def header(self) -> Sequence[str]: ...

    @property
    def body(self) -> Sequence[str]: ...

    @property
    def footer(self) -> Sequence[str]: ...

    @property
    def qr_payload(self) -> str:
        """The text of the QR code to print under the footer; "" for none."""


def document_text(document: ReceiptDocument) -> str:
    """The document's lines as plain text, one per line (what a text receipt holds)."""
    return "\n".join((*document.header, *document.body, *document.footer)) + "\n"
