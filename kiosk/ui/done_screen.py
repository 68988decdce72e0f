"""Done screen: thank you, and the receipt as printed, drawn on screen on a column grid.

The receipt panel shows the paper as the printer laid it out (``kiosk.ui.receipt_view``): the
header and footer centred, the QR code under the footer. When nothing printed it shows the sale's
e-receipt QR from HQ instead, so the customer still takes a receipt away (on the phone).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from kivy.properties import BooleanProperty, ObjectProperty, StringProperty
from kivy.uix.screenmanager import Screen

from kiosk.ui.fonts import ReceiptPainter
from kiosk.ui.qr import qr_picture
from kiosk.ui.receipt_view import ReceiptPanel, paper_of, receipt_panel
from kiosk.ui.widgets import picture_texture

log = logging.getLogger(__name__)


class DoneScreen(Screen):  # type: ignore[misc]
    vm = ObjectProperty(None)
    has_receipt = BooleanProperty(False)
    #: what the receipt panel holds: a ReceiptPanel value
    panel = StringProperty(ReceiptPanel.NONE.value)

    def __init__(self, font_path: Path | None = None, **kwargs: Any) -> None:
        # set before Screen.__init__, which applies the kv rule and so runs on_kv_post
        self._painter: ReceiptPainter | None = None
        self._font_path = font_path
        super().__init__(**kwargs)

    def on_kv_post(self, base_widget: Any) -> None:
        self.vm.bind(receipt_layout=self._show_receipt, receipt_url=self._show_receipt)
        self._show_receipt()

    def on_leave(self, *_args: Any) -> None:
        """Faded out: only now may the last customer's total and receipt be forgotten (forgetting
        them earlier is what flashed "Paid ¥0.00" during the fade)."""
        self.vm.forget_done()

    def _show_receipt(self, *_args: Any) -> None:
        printed = self.vm.receipt_layout
        url = self.vm.receipt_url
        panel = receipt_panel(printed if self._font_path is not None else None, url)
        paper_tex = qr_tex = None
        if panel is ReceiptPanel.PAPER and printed is not None and self._font_path is not None:
            try:
                if self._painter is None:
                    self._painter = ReceiptPainter(self._font_path)
                paper_tex = picture_texture(self._painter.paint_paper(paper_of(printed)))
            except OSError:  # an unreadable font file: say so, keep the thank-you screen
                log.exception("receipt could not be drawn with %s", self._font_path)
                panel = receipt_panel(None, url)
        if panel is ReceiptPanel.E_RECEIPT:
            qr_tex = picture_texture(qr_picture(url), sharp=True)
        self.ids.receipt.texture = paper_tex
        self.ids.e_receipt_qr.texture = qr_tex
        self.has_receipt = panel is not ReceiptPanel.NONE
        self.panel = panel.value
