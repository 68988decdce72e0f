"""The shopping overlays on the cart screen: the search panel with its on-screen keypad, the item
detail, and the "+1" toast that says what a scan or a tap just added. Their look is in shop.kv; the
wording is ``kiosk.ui.shop_present``'s, the state the view-model's (``searching``, ``detail``,
``added_text`` / ``added_count``).

No system keyboard ever opens: the keypad is plain buttons, so a customer has no way to another
application, and the kiosk needs no input method.
"""

from __future__ import annotations

from typing import Any

from kivy.animation import Animation
from kivy.app import App
from kivy.metrics import dp
from kivy.properties import NumericProperty
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.label import Label

from kiosk.ui import shop_present, theme
from kiosk.ui.widgets import ConfirmOverlay, KeyButton

#: how the toast comes and goes (seconds): in, stay, out; the view-model's ADDED_SHOW_S is the total
TOAST_IN_S = 0.12
TOAST_STAY_S = 1.2
TOAST_OUT_S = 0.25


class SearchPanel(ConfirmOverlay):
    """The whole screen while searching (it takes every touch): the query, the matches as tiles
    (a tap adds, Info opens the detail) and the keypad."""

    def on_kv_post(self, base_widget: Any) -> None:
        vm = App.get_running_app().vm
        vm.bind(search_keys=self._build_keys)
        self.ids.keypad.bind(width=lambda *_a: self._build_keys(vm, vm.search_keys))
        self._build_keys(vm, vm.search_keys)

    def _build_keys(self, _vm: Any, rows: list[list[dict[str, str]]]) -> None:
        box = self.ids.keypad
        # as many keys a row as fit at a full touch target's width (a portrait screen has fewer)
        columns = int((box.width + box.spacing) // (dp(theme.BUTTON_MIN_H) + box.spacing))
        labels = {key["key"]: key["label"] for row in rows for key in row}
        fitted = shop_present.fit_rows([[key["key"] for key in row] for row in rows], columns)
        box.height = len(fitted) * dp(theme.BUTTON_MIN_H) + max(0, len(fitted) - 1) * box.spacing
        box.clear_widgets()
        for row in [[{"key": k, "label": labels[k]} for k in line] for line in fitted]:
            line = BoxLayout(spacing=box.spacing)
            for key in row:
                wide = len(key["key"]) > 1  # delete, clear, space, 123 / ABC: a word, not a letter
                line.add_widget(KeyButton(key=key["key"], text=key["label"], size_hint_x=1.5 if wide else 1))
            box.add_widget(line)


class DetailOverlay(ConfirmOverlay):
    """The item detail over the screen (it takes every touch): picture, both names, price, − N +,
    add to cart, close."""


class AddedToast(Label):  # type: ignore[misc]
    """ "+1 可乐" over everything, fading in and out each time something is added (a scan from any
    shopping screen, a tap, the detail's add); it takes no touch."""

    #: the animation's opacity (the label's own opacity follows it)
    shown = NumericProperty(0)
    #: the view-model's ``added_count`` whose toast last played to its end (an add while one shows
    #: cancels it and plays again): whoever must see the screen without the toast (a screenshot)
    #: waits for this to reach ``added_count``, an event rather than a guess at the duration
    finished_for = NumericProperty(0)

    def on_kv_post(self, base_widget: Any) -> None:
        App.get_running_app().vm.bind(added_count=self.play)

    def play(self, _vm: Any = None, count: float = 0) -> None:
        Animation.cancel_all(self, "shown")
        self.shown = 0  # an add while the last toast still shows: it comes in again, so it is seen
        anim = (
            Animation(shown=1, duration=TOAST_IN_S)
            + Animation(shown=1, duration=TOAST_STAY_S)
            + Animation(shown=0, duration=TOAST_OUT_S)
        )
        anim.bind(on_complete=lambda *_a: setattr(self, "finished_for", count))
        anim.start(self)

    def on_touch_down(self, touch: Any) -> bool:
        return False
