"""A manager's price override and out-of-stock mark: find a product, see where it stands, change it.

Finding: the categories first (one tap lists a category's products), or part of a barcode, item
code or English name typed on the keypad above the list. A hand scanner's barcode is not read here
(it goes to the customer's checkout); typing its digits finds the product as well.

Changing: a price typed in yuan on the price keypad (``kiosk.ui.maintenance_present`` arithmetic;
fen go to the controller), "back to HQ's price", "mark out of stock" and "back in stock". Each
change asks for a second press that names the product and the new price, then runs through
``screen.call`` (off the UI thread); the answer shows the product as it now stands.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING

from kivy.metrics import dp
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.gridlayout import GridLayout

from kiosk.core.money import format_yuan
from kiosk.i18n import t
from kiosk.maintenance.roles import Action
from kiosk.ui import theme
from kiosk.ui.controller_api import ActionAnswer, ActionArg, ActionItem
from kiosk.ui.maintenance_present import amount_key

if TYPE_CHECKING:
    from kiosk.ui.maintenance_screen import MaintenanceScreen

#: the search keypad: digits and letters (barcodes, item codes, English names)
SEARCH_KEYS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
#: the key prefix of a category row (kiosk.staff_catalog.CATEGORY_KEY)
CATEGORY_KEY = "category:"
#: the longest search the keypad takes
QUERY_MAX = 20


def price_fen(typed: str) -> int | None:
    """The typed price in fen; None when nothing usable was typed (empty, "0", "0.00")."""
    if not typed.rstrip("."):
        return None
    whole, _dot, part = typed.partition(".")
    fen = int(whole or "0") * 100 + int((part + "00")[:2])
    return fen if fen > 0 else None


def search_key(query: str, key: str) -> str:
    """The search text after one key: a character appends (up to ``QUERY_MAX``), "back" drops one."""
    if key == "back":
        return query[:-1]
    return query + key if len(query) < QUERY_MAX and len(key) == 1 else query


class CatalogPanel:
    """The panel's state: what is typed, which product is picked; drawn into ``screen.panel``."""

    def __init__(self, screen: MaintenanceScreen, action: Action) -> None:
        self.screen = screen
        self.action = action
        self.query = ""
        self.price = ""
        self.sku = ""
        self.name = ""
        lang = screen.language
        self.query_label = screen.label(t("maint.cat.search_hint", lang), theme.FONT_BODY, height=dp(40))
        self.list_box = BoxLayout(orientation="vertical")
        self.state_label = screen.label("", theme.FONT_SMALL, height=dp(120))
        self.state_label.valign = "top"
        self.price_label = screen.label(format_yuan(0), theme.FONT_LARGE, height=dp(36))

    # --- drawing ----------------------------------------------------------------------------------

    def draw(self) -> None:
        """Search row and keypad on top; the list, the product's state and the price keypad below;
        the four changes in one row at the bottom (sized for the 1024x600 panel of the kiosk)."""
        screen, lang = self.screen, self.screen.language
        top = BoxLayout(size_hint_y=None, height=dp(44), spacing=dp(8))
        top.add_widget(self.query_label)
        search = screen.button(t("maint.cat.search", lang), "cat.search", self.search, primary=True)
        search.size_hint, search.width = (None, 1), dp(110)
        top.add_widget(search)
        every = screen.button(t("maint.cat.all", lang), "cat.all", self.list_categories)
        every.size_hint, every.width = (None, 1), dp(150)
        top.add_widget(every)
        screen.panel.add_widget(top)
        keys = GridLayout(cols=13, spacing=dp(3), size_hint_y=None, height=dp(102))
        for key in (*SEARCH_KEYS, "back"):
            text = t("maint.cat.back", lang) if key == "back" else key
            keys.add_widget(screen.button(text, f"q:{key}", partial(self.type_search, key), fill=True))
        screen.panel.add_widget(keys)
        body = BoxLayout(spacing=dp(10))
        body.add_widget(self.list_box)
        self.state_label.size_hint = (None, 1)
        self.state_label.width = dp(230)
        body.add_widget(self.state_label)
        price = BoxLayout(orientation="vertical", spacing=dp(3), size_hint_x=None, width=dp(210))
        price.add_widget(self.price_label)
        pad = GridLayout(cols=3, spacing=dp(3))
        for key in ("1", "2", "3", "4", "5", "6", "7", "8", "9", ".", "0", "clear"):
            text = t("maint.clear", lang) if key == "clear" else key
            pad.add_widget(screen.button(text, f"price:{key}", partial(self.type_price, key), fill=True))
        price.add_widget(pad)
        body.add_widget(price)
        screen.panel.add_widget(body)
        changes = BoxLayout(size_hint_y=None, height=dp(52), spacing=dp(8))
        for label, tag, press in (
            ("maint.cat.set_price", "cat.set_price", self.set_price),
            ("maint.cat.clear_price", "cat.clear_price", self.clear_price),
            ("maint.cat.mark_out", "cat.mark_out", partial(self.mark, True)),
            ("maint.cat.mark_in", "cat.mark_in", partial(self.mark, False)),
        ):
            button = screen.button(t(label, lang), tag, press, primary=tag == "cat.set_price")
            button.size_hint_y = 1
            changes.add_widget(button)
        screen.panel.add_widget(changes)

    def _show_list(self, answer: ActionAnswer) -> None:
        self.screen.message = answer.message
        self.list_box.clear_widgets()
        self.list_box.add_widget(
            self.screen.item_list(answer.items, self.pick, t("maint.cat.none", self.screen.language))
        )

    def _show_product(self, answer: ActionAnswer) -> None:
        self.screen.message = answer.message
        if not answer.ok:
            return
        self.state_label.text = answer.text
        if answer.items:
            self._show_list(ActionAnswer(ok=True, message=answer.message, items=answer.items))
            self.screen.message = answer.message

    # --- finding ----------------------------------------------------------------------------------

    def _call(self, args: dict[str, ActionArg], done: Callable[[ActionAnswer], None]) -> None:
        self.screen.disarm()
        self.screen.call(self.action, args, done)

    def list_categories(self) -> None:
        self._call({}, self._show_list)

    def type_search(self, key: str) -> None:
        self.screen.disarm()
        self.query = search_key(self.query, key)
        self.query_label.text = self.query or t("maint.cat.search_hint", self.screen.language)

    def search(self) -> None:
        if self.query:
            self._call({"query": self.query}, self._show_list)

    def pick(self, item: ActionItem) -> None:
        if item.key.startswith(CATEGORY_KEY):
            self._call({"category": item.key[len(CATEGORY_KEY) :]}, self._show_list)
            return
        self.sku, self.name = item.key, item.label.split("  ")[0]
        self._call({"sku": item.key}, self._show_product)

    # --- changing ---------------------------------------------------------------------------------

    def type_price(self, key: str) -> None:
        self.screen.disarm()
        self.price = amount_key(self.price, key)
        self.price_label.text = format_yuan(price_fen(self.price) or 0)

    def _ready(self) -> bool:
        if not self.sku:
            self.screen.message = t("maint.cat.pick", self.screen.language)
            return False
        return True

    def set_price(self) -> None:
        lang = self.screen.language
        if not self._ready():
            return
        fen = price_fen(self.price)
        if fen is None:
            self.screen.message = t("maint.cat.price_invalid", lang)
            return
        prompt = t("maint.cat.confirm_price", lang, name=self.name, price=format_yuan(fen))
        if self.screen.confirmed(f"price:{self.sku}:{fen}", prompt):
            self.screen.call(Action.OVERRIDE_PRICE, {"sku": self.sku, "price_fen": fen}, self._show_product)

    def clear_price(self) -> None:
        if not self._ready():
            return
        prompt = t("maint.cat.confirm_clear", self.screen.language, name=self.name)
        if self.screen.confirmed(f"clear:{self.sku}", prompt):
            self.screen.call(Action.OVERRIDE_PRICE, {"sku": self.sku, "price_fen": None}, self._show_product)

    def mark(self, out: bool) -> None:
        if not self._ready():
            return
        key = "maint.cat.confirm_out" if out else "maint.cat.confirm_in"
        prompt = t(key, self.screen.language, name=self.name)
        if self.screen.confirmed(f"stock:{self.sku}:{out}", prompt):
            self.screen.call(Action.OUT_OF_STOCK, {"sku": self.sku, "out": out}, self._show_product)


def build(screen: MaintenanceScreen, action: Action) -> CatalogPanel:
    """The price and stock panel (for either action: both are a manager's, on the same screen)."""
    panel = CatalogPanel(screen, action)
    panel.draw()
    panel.list_categories()
    return panel
