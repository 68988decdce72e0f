"""Out of service: the kiosk cannot sell (``kiosk.core.availability``); the customer is sent to another
checkout, staff read the reason code and what to do in small print.

It shows instead of the attract screen (``present.customer_screen``) and goes away by itself when the
reason clears. A touch starts nothing (the controller refuses a sale while out of service); the
attract screen's hidden corner still opens the staff PIN pad, because maintenance mode is how staff
fix most reasons.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kivy.app import App
from kivy.clock import Clock
from kivy.metrics import dp
from kivy.properties import ObjectProperty
from kivy.uix.screenmanager import Screen

from kiosk.ui.attract_screen import CORNER_DP, LONG_PRESS_S


class OutOfServiceScreen(Screen):  # type: ignore[misc]
    vm = ObjectProperty(None)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        #: seconds, monotonic: Kivy's clock; a test may replace it to hold the corner without waiting
        self.clock: Callable[[], float] = Clock.get_boottime
        self._press: Any = None
        self._press_since = 0.0
        self._press_check: Any = None

    def in_corner(self, x: float, y: float) -> bool:
        side = dp(CORNER_DP)
        return bool(self.x <= x <= self.x + side and self.top - side <= y <= self.top)

    def on_touch_down(self, touch: Any) -> bool:
        if super().on_touch_down(touch):  # the language toggle
            return True
        if not self.collide_point(*touch.pos):
            return False
        if self.in_corner(*touch.pos) and self._press is None:
            touch.grab(self)
            self._press, self._press_since = touch, self.clock()
            self._press_check = Clock.schedule_interval(self._check_press, 0)
        return True  # anything else: nothing to start

    def on_touch_up(self, touch: Any) -> bool:
        if touch.grab_current is self:
            touch.ungrab(self)
            self._end_press()
            return True
        return bool(super().on_touch_up(touch))

    def _check_press(self, _dt: float) -> None:
        showing = self.manager is not None and self.manager.current == self.name
        if self._press is None or not showing:
            self._end_press()
            return
        if self.clock() - self._press_since >= LONG_PRESS_S:
            self._end_press()
            App.get_running_app().open_pin("menu")

    def _end_press(self) -> None:
        self._press = None
        if self._press_check is not None:
            self._press_check.cancel()
            self._press_check = None
