"""Member sign-in screen (会员登录): show the member QR to the camera, or type a mobile number.

Reached from the cart's 会员 / Member button (``[members] enabled``), over the same sale: its phase
is the cart's (``Checkout.member_screen``), so the cart's idle question and time-out apply here too.
The camera is the one the pay screen uses (``camera_preview``): the scanner decodes every frame for
the controller whichever screen is up, and a member code it reads signs in from here as from the
cart; this screen only draws the picture. The number typed is kept only here, shown masked once it
has eleven digits (``promo_present.keypad_shown``: 138****5678), and cleared when the screen is
left and for each new customer. "Sign in" hands it to the controller, which asks its member
directory off the UI thread; a member found brings the cart back with the member on it, and
anything else shows here as the notice (not found, not offered, not a member code).
"""

from __future__ import annotations

from typing import Any

from kivy.properties import StringProperty

from kiosk.core.members import PHONE_DIGITS
from kiosk.ui.camera_preview import CameraPreviewScreen
from kiosk.ui.promo_present import keypad_shown


class MemberScreen(CameraPreviewScreen):
    digits = StringProperty("")
    shown_digits = StringProperty("")

    def on_kv_post(self, base_widget: Any) -> None:
        self.vm.bind(customer=self.clear)

    def on_digits(self, _screen: Any, digits: str) -> None:
        self.shown_digits = keypad_shown(digits)

    def on_leave(self, *args: Any) -> None:
        super().on_leave(*args)
        self.clear()  # the number is not kept once the customer has moved on

    def press(self, key: str) -> None:
        if len(self.digits) < PHONE_DIGITS and key.isascii() and key.isdigit() and len(key) == 1:
            self.digits += key

    def back_space(self) -> None:
        self.digits = self.digits[:-1]

    def clear(self, *_args: Any) -> None:
        self.digits = ""

    def submit(self) -> None:
        if len(self.digits) == PHONE_DIGITS:
            self.vm.sign_in_member(phone=self.digits)

    def back(self) -> None:
        self.vm.close_member()
