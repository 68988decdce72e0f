"""Enrolment screen: a kiosk with no HQ credentials shows the installer its id, its device key's
fingerprint and a QR of both, and asks for HQ's enrolment code (``kiosk.enrolment_desk`` reads it
from the camera or a hand scanner, redeems it and says how it went).

It stands where the attract screen would (``present.customer_screen``: the reason ``not_enrolled``)
and goes away by itself once the kiosk is enrolled. A touch starts nothing; the hidden corner still
opens the staff PIN pad.
"""

from __future__ import annotations

from typing import Any

from kiosk.ui.attract_screen import StaffCornerScreen
from kiosk.ui.qr import qr_picture
from kiosk.ui.widgets import picture_texture


class EnrolScreen(StaffCornerScreen):
    def on_kv_post(self, base_widget: Any) -> None:
        self.vm.bind(enrol_qr=self._show_qr)
        self._show_qr()

    def customer_touch(self) -> None:
        """Nothing to start: the kiosk does not sell until it is enrolled."""

    def _show_qr(self, *_args: Any) -> None:
        text = self.vm.enrol_qr
        image = self.ids.installer_qr
        if not text:
            image.texture = None
            return
        image.texture = picture_texture(qr_picture(text), sharp=True)
