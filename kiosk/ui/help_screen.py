"""Needs-help screen: tells the customer staff are coming; a staff strip clears the situation.

The "resolved" button opens the staff PIN pad (``KioskApp.request_resolve``); a right PIN runs the
``resolve_help`` staff action. Only a controller without maintenance mode keeps the old open button.
"""

from __future__ import annotations

from typing import Any

from kivy.properties import BooleanProperty, ObjectProperty
from kivy.uix.screenmanager import Screen

from kiosk.i18n import t
from kiosk.ui.qr import qr_picture
from kiosk.ui.widgets import picture_texture


class HelpScreen(Screen):  # type: ignore[misc]
    """When the receipt did not print, the sale's e-receipt URL is shown as a QR beside the notice,
    so the customer can take the receipt on the phone while staff come."""

    vm = ObjectProperty(None)
    has_qr = BooleanProperty(False)

    def on_kv_post(self, base_widget: Any) -> None:
        self.vm.bind(receipt_url=self._show_qr)
        self._show_qr()

    def _show_qr(self, *_args: Any) -> None:
        url = self.vm.receipt_url
        image = self.ids.receipt_qr
        if not url:
            image.texture = None
            self.has_qr = False
            return
        image.texture = picture_texture(qr_picture(url), sharp=True)
        self.has_qr = True

    @staticmethod
    def staff_line(language: str, order_no: str, detail: str) -> str:
        parts = [t("help.staff", language)]
        if order_no:
            parts.append(t("help.order", language, order=order_no))
        if detail:
            parts.append(t("help.detail", language, detail=detail))
        return "  ·  ".join(parts)
