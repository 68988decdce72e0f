"""The printer offer: "the receipt printer is not available; you can take an e-receipt — continue to
pay / cancel", over the cart when Pay found the printer not ready on a kiosk that can give an
e-receipt (``kiosk.core.checkout._pay``).

The checkout decides when it asks (``Checkout.printer_offer``); this dialog only follows
``vm.printer_offer`` and sends the answer back. Modal, like "still there?": a touch elsewhere would
answer without the customer seeing what it did.
"""

from __future__ import annotations

from typing import Any

from kivy.properties import ObjectProperty
from kivy.uix.modalview import ModalView


class PrinterOfferDialog(ModalView):  # type: ignore[misc]
    vm = ObjectProperty(None)

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("auto_dismiss", False)
        super().__init__(**kwargs)
        self.vm.bind(printer_offer=self._follow)

    @property
    def showing(self) -> bool:
        return self._window is not None

    def _follow(self, *_args: Any) -> None:
        if self.vm.printer_offer and not self.showing:
            self.open(animation=False)
        elif not self.vm.printer_offer and self.showing:
            self.dismiss(animation=False)

    def answer(self, go: bool) -> None:
        self.vm.answer_printer_offer(go)
