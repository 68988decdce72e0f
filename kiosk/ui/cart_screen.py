"""Cart screen: the touch catalog by category on the left, the cart with +/-, total and pay on the right.

Cancel asks "empty the cart?" first (``vm.confirming_cancel``, an overlay that takes every touch
while it shows). Each new customer (``vm.customer`` goes up) gets the screen as the first one did:
the grid, the tab bar and the cart list scrolled back to their start.
"""

from __future__ import annotations

from typing import Any

from kivy.properties import ObjectProperty
from kivy.uix.screenmanager import Screen

from kiosk.ui import shop_widgets  # noqa: F401  (the search, detail and toast classes shop.kv names)
from kiosk.ui.widgets import CategoryTab, DiscountRow, rewind


class CartScreen(Screen):  # type: ignore[misc]
    vm = ObjectProperty(None)

    def on_kv_post(self, base_widget: Any) -> None:
        self.vm.bind(category_tabs=self._build_tabs, customer=self.reset_scroll)
        self.vm.bind(discount_lines=self._build_discounts)
        self._build_tabs()
        self._build_discounts()

    def _build_discounts(self, *_args: Any) -> None:
        """One row per promotion on the cart: its name (in the customer's language) and −¥x.xx."""
        box = self.ids.discounts
        box.clear_widgets()
        for row in self.vm.discount_lines:
            box.add_widget(DiscountRow(name=row["name"], amount_text=row["amount_text"]))

    def _build_tabs(self, *_args: Any) -> None:
        # A handful of tabs: plain children are simpler than a RecycleView with variable widths.
        box = self.ids.tabs
        box.clear_widgets()
        for tab in self.vm.category_tabs:
            box.add_widget(CategoryTab(code=tab["code"], text=tab["text"], selected=tab["selected"]))

    def reset_scroll(self, *_args: Any) -> None:
        """A new customer: every list back to its start (the first tab, the grid's first row)."""
        self.ids.tab_bar.reset()
        for view in (self.ids.grid, self.ids.cart_list):
            rewind(view, y=1.0)
