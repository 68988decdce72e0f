"""Attract screen: the store's name and one huge "tap to start"; a touch anywhere starts a sale.

Staff open maintenance mode with a hidden gesture: a long press (``LONG_PRESS_S``) in the top-left
corner (``CORNER_DP`` square) opens the PIN pad. A short tap in that corner still starts a sale,
on release rather than on press, because until then it may become the long press. The press is
timed with Kivy's clock (``clock``, replaceable so a test can drive time without waiting).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kivy.app import App
from kivy.clock import Clock
from kivy.metrics import dp
from kivy.properties import ObjectProperty
from kivy.uix.screenmanager import Screen

#: how long staff hold the corner to open the PIN pad, seconds
LONG_PRESS_S = 2.0
#: the hidden corner's side, in dp from the top-left of the screen
CORNER_DP = 120


class StaffCornerScreen(Screen):  # type: ignore[misc]
    """A customer's screen with the hidden staff corner: a long press there opens the PIN pad; any
    other touch (a short tap in the corner included, on release) is ``customer_touch``."""

    vm = ObjectProperty(None)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        #: seconds, monotonic: Kivy's clock; a test replaces it to hold the corner without waiting
        self.clock: Callable[[], float] = Clock.get_boottime
        self._press: Any = None  # the touch holding the corner
        self._press_since = 0.0
        self._press_check: Any = None

    def in_corner(self, x: float, y: float) -> bool:
        side = dp(CORNER_DP)
        return bool(self.x <= x <= self.x + side and self.top - side <= y <= self.top)

    def _showing(self) -> bool:
        return self.manager is not None and self.manager.current == self.name

    def customer_touch(self) -> None:
        """A customer touched the screen (not a long press in the corner)."""

    def on_touch_down(self, touch: Any) -> bool:
        # The language toggle and the buttons take their own touches; everything else is the customer's
        if super().on_touch_down(touch):
            return True
        if not (self.collide_point(*touch.pos) and self._showing()):
            return False
        if self.in_corner(*touch.pos) and self._press is None:
            touch.grab(self)
            self._press, self._press_since = touch, self.clock()
            self._press_check = Clock.schedule_interval(self._check_press, 0)
            return True
        self.customer_touch()
        return True

    def on_touch_move(self, touch: Any) -> bool:
        if touch is self._press and not self.in_corner(*touch.pos):
            self._end_press()  # slid out of the corner: neither a long press nor a tap
            touch.ungrab(self)
            return True
        return bool(super().on_touch_move(touch))

    def on_touch_up(self, touch: Any) -> bool:
        if touch.grab_current is self:
            touch.ungrab(self)
            if touch is self._press:
                self._end_press()
                if self._showing():
                    self.customer_touch()  # a short tap in the corner: a customer after all
            return True
        return bool(super().on_touch_up(touch))

    def _check_press(self, _dt: float) -> None:
        if self._press is None:
            return
        if not self._showing():
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


class AttractScreen(StaffCornerScreen):
    def customer_touch(self) -> None:
        """A customer who touches the screen anywhere means "I want to buy"."""
        self.vm.start()
