"""PIN pad: staff sign in to maintenance mode (from the attract screen's hidden corner, or the help
screen's "resolved" button). Digits are masked; the lock answers wrong PIN, back-off or lockout.

The pad never keeps a PIN after an attempt, and closes by itself when nobody touches it for
``PIN_IDLE_S`` (a customer who found the corner is not left in front of a staff screen).
"""

from __future__ import annotations

import logging
from typing import Any

from kivy.app import App
from kivy.clock import Clock
from kivy.properties import BooleanProperty, ObjectProperty, StringProperty
from kivy.uix.screenmanager import Screen

from kiosk.i18n import t
from kiosk.ui.maintenance_present import PIN_MIN_LEN, pin_key, pin_mask, unlock_text
from kiosk.ui.widgets import KButton

log = logging.getLogger(__name__)

#: seconds without a touch after which the PIN pad closes itself
PIN_IDLE_S = 30.0


class TagButton(KButton):
    """A button that names itself (``tag``), so a screen's handler and the UI tests can tell the
    buttons of a keypad or a list apart without reading their (translated) text."""

    tag = StringProperty("")


class PinScreen(Screen):  # type: ignore[misc]
    vm = ObjectProperty(None)
    #: what the pad opens: "menu" (the staff menu) or "resolve_help" (clear needs-help, resume service)
    purpose = StringProperty("menu")
    masked = StringProperty("")
    message = StringProperty("")
    #: a PIN is being checked (off the UI thread): the keys wait for the answer
    busy = BooleanProperty(False)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._pin = ""
        self._idle: Any = None

    def reset(self, purpose: str) -> None:
        self.purpose = purpose
        self.busy = False
        self._pin = ""
        self.masked = ""
        self.message = ""
        self._restart_idle()

    def on_leave(self, *_args: Any) -> None:
        self._pin = ""
        self.masked = ""
        if self._idle is not None:
            self._idle.cancel()
            self._idle = None

    def on_touch_down(self, touch: Any) -> bool:
        if self.manager is not None and self.manager.current == self.name:
            self._restart_idle()
        return bool(super().on_touch_down(touch))

    def _restart_idle(self) -> None:
        if self._idle is not None:
            self._idle.cancel()
        self._idle = Clock.schedule_once(lambda _dt: self.cancel(), PIN_IDLE_S)

    def press(self, key: str) -> None:
        if self.busy:
            return
        if key == "ok":
            self.submit()
            return
        self._pin = pin_key(self._pin, key)
        self.masked = pin_mask(self._pin)
        if key == "clear":
            self.message = ""

    def submit(self) -> None:
        if len(self._pin) < PIN_MIN_LEN:
            # too short for any PIN HQ issues: said at once, and not counted as a failed attempt
            self.message = t("maint.pin_too_short", self.vm.language, digits=PIN_MIN_LEN)
            return
        pin, self._pin, self.masked = self._pin, "", ""
        self.message = t("maint.checking_pin", self.vm.language)
        App.get_running_app().submit_pin(pin, self)

    def cancel(self) -> None:
        App.get_running_app().leave_maintenance()

    def show_answer(self, answer: Any) -> None:
        self.message = unlock_text(answer, self.vm.language)
