"""Attract screen: the store's name and one huge "tap to start"; a touch anywhere starts a sale."""

from __future__ import annotations

from typing import Any

from kivy.properties import ObjectProperty
from kivy.uix.screenmanager import Screen


class AttractScreen(Screen):  # type: ignore[misc]
    vm = ObjectProperty(None)

    def on_touch_down(self, touch: Any) -> bool:
        # The language toggle and the button take their own touches; everything else starts a sale,
        # because a customer who touches the screen anywhere means "I want to buy".
        if super().on_touch_down(touch):
            return True
        if self.collide_point(*touch.pos) and self.manager is not None and self.manager.current == self.name:
            self.vm.start()
            return True
        return False
