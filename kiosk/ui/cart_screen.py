"""Cart screen: the touch catalog by category on the left, the cart with +/-, total and pay on the right."""

from __future__ import annotations

from typing import Any

from kivy.properties import ObjectProperty
from kivy.uix.screenmanager import Screen

from kiosk.ui.widgets import CategoryTab


class CartScreen(Screen):  # type: ignore[misc]
    vm = ObjectProperty(None)

    def on_kv_post(self, base_widget: Any) -> None:
        self.vm.bind(category_tabs=self._build_tabs)
        self._build_tabs()

    def _build_tabs(self, *_args: Any) -> None:
        # A handful of tabs: plain children are simpler than a RecycleView with variable widths.
        box = self.ids.tabs
        box.clear_widgets()
        for tab in self.vm.category_tabs:
            box.add_widget(CategoryTab(code=tab["code"], text=tab["text"], selected=tab["selected"]))
