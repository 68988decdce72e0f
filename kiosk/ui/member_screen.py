"""Member sign-in (the seam for the members release): over the cart, a member QR or a phone keypad.

The number typed is kept only in this panel while it is open and shown masked once it has eleven
digits (``promo_present.keypad_shown``: 138****5678); it is cleared when the panel closes and for
each new customer. "Sign in" hands it to the controller, which asks its member directory off the UI
thread; the answer (a member, or why not) comes back as checkout state: the panel closes on a member,
and shows the reason otherwise. A member QR shown to a scanner on the cart signs in the same way.
"""

from __future__ import annotations

from typing import Any

from kivy.properties import ObjectProperty, StringProperty

from kiosk.core.members import PHONE_DIGITS
from kiosk.ui.promo_present import keypad_shown
from kiosk.ui.widgets import ConfirmOverlay


class MemberPanel(ConfirmOverlay):
    vm = ObjectProperty(None)
    digits = StringProperty("")
    shown_digits = StringProperty("")
    #: why the last sign-in did not work ("" while nothing was asked, or it worked)
    answer_text = StringProperty("")

    def on_vm(self, _panel: Any, vm: Any) -> None:
        vm.bind(member_text=self._member_changed, customer=self._new_customer, notice_text=self._notice)

    def on_digits(self, _panel: Any, digits: str) -> None:
        self.shown_digits = keypad_shown(digits)

    def open(self) -> None:
        self.digits = ""
        self.answer_text = ""
        self.shown = True

    def close(self) -> None:
        self.shown = False
        self.digits = ""
        self.answer_text = ""

    def press(self, key: str) -> None:
        if len(self.digits) < PHONE_DIGITS and key.isdigit():
            self.digits += key
            self.answer_text = ""

    def back_space(self) -> None:
        self.digits = self.digits[:-1]

    def clear(self) -> None:
        self.digits = ""
        self.answer_text = ""

    def submit(self) -> None:
        if len(self.digits) == PHONE_DIGITS:
            self.vm.sign_in_member(phone=self.digits)

    def _member_changed(self, _vm: Any, text: str) -> None:
        if text and self.shown:
            self.close()

    def _notice(self, _vm: Any, text: str) -> None:
        if self.shown:
            self.answer_text = text

    def _new_customer(self, *_args: Any) -> None:
        self.close()
