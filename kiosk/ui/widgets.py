"""Widgets shared by the screens: a flat touch button, the language toggle, header, notice bar, and
the rows of the catalog grid and the cart list. Their look is in widgets.kv; behaviour only here.
"""

from __future__ import annotations

from kivy.app import App
from kivy.properties import (
    BooleanProperty,
    ColorProperty,
    NumericProperty,
    StringProperty,
)
from kivy.uix.behaviors import ButtonBehavior
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.label import Label
from kivy.uix.widget import Widget

from kiosk.ui import theme


class KButton(ButtonBehavior, Label):  # type: ignore[misc]
    """A flat, rounded button at least ``theme.BUTTON_MIN_H`` high; colours come from the theme."""

    bg = ColorProperty(theme.NEUTRAL)
    bg_down = ColorProperty(theme.NEUTRAL_DOWN)
    fg = ColorProperty(theme.TEXT)
    edge = ColorProperty((0, 0, 0, 0))
    radius = NumericProperty(theme.RADIUS)


class PrimaryButton(KButton):
    pass


class DangerButton(KButton):
    pass


class CategoryTab(KButton):
    code = StringProperty("")
    selected = BooleanProperty(False)

    def on_release(self) -> None:
        App.get_running_app().vm.select_category(self.code)


class SampleButton(KButton):
    """Demo only: holds one sample payment code up to the simulated camera."""

    sample = StringProperty("")

    def on_release(self) -> None:
        App.get_running_app().vm.hold_up_sample(self.sample)


class LanguageToggle(BoxLayout):  # type: ignore[misc]
    """中文 | EN on every screen; the current language is the filled half."""

    def choose(self, language: str) -> None:
        App.get_running_app().vm.set_language(language)


class HeaderBar(BoxLayout):  # type: ignore[misc]
    title = StringProperty("")
    bg = ColorProperty(theme.BRAND)


class NoticeBar(Label):  # type: ignore[misc]
    """A notice for the customer, wrapped onto as many lines as it needs (never shortened with "...");
    at least one line high even when empty, so nothing jumps when it appears."""


class ProductTile(ButtonBehavior, BoxLayout):  # type: ignore[misc]
    sku = StringProperty("")
    name = StringProperty("")
    price_text = StringProperty("")
    qty = NumericProperty(0)
    #: staff marked it out of stock: drawn dimmed with "sold out" for its price; a tap says so
    sold_out = BooleanProperty(False)

    def on_release(self) -> None:
        App.get_running_app().vm.tap_product(self.sku)


class CartRow(BoxLayout):  # type: ignore[misc]
    sku = StringProperty("")
    name = StringProperty("")
    qty = NumericProperty(0)
    unit_text = StringProperty("")
    total_text = StringProperty("")

    def change(self, delta: int) -> None:
        App.get_running_app().vm.change_qty(self.sku, delta)


class CheckMark(Widget):  # type: ignore[misc]
    """A green circle with a tick: "paid" and "done" at a glance, without relying on a font glyph."""

    #: the circle's diameter (set in widgets.kv from the widget's size)
    d = NumericProperty(0)
