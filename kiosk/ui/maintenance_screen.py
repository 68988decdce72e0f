"""The staff menu: who is signed in, exactly their role's actions, a lock button, and one panel that
shows the chosen action (today's sales and reprint, refund, Z-report, tasks, paper guide, ...).

Every touch on this screen restarts the maintenance lock's inactivity timer; the app returns to
the customer's screen as soon as the session is gone (locked here, or by inactivity). Anything
that moves money or closes the shift asks for a second press before it runs.
"""

from __future__ import annotations

import logging
from typing import Any

from kivy.app import App
from kivy.metrics import dp, sp
from kivy.properties import ListProperty, ObjectProperty, StringProperty
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.gridlayout import GridLayout
from kivy.uix.label import Label
from kivy.uix.screenmanager import Screen
from kivy.uix.scrollview import ScrollView

from kiosk.core.money import format_yuan
from kiosk.i18n import t
from kiosk.maintenance.roles import Action
from kiosk.ui import theme
from kiosk.ui.controller_api import ActionAnswer, ActionItem, MaintenanceControl
from kiosk.ui.maintenance_present import action_label, amount_fen, amount_key, amount_text, role_label
from kiosk.ui.pin_screen import TagButton

log = logging.getLogger(__name__)

#: actions that work on one of today's orders (picked from the list), and need a second press
ORDER_ACTIONS = (Action.REPRINT, Action.TODAYS_SALES, Action.VOID_ORDER, Action.RESOLVE_PAYMENT)
#: actions that run at once when chosen (reading only)
READ_ACTIONS = (Action.PAPER_GUIDE,)


def _short(order_id: str) -> str:
    return order_id[:8]


class MaintenanceScreen(Screen):  # type: ignore[misc]
    vm = ObjectProperty(None)
    staff_line = StringProperty("")
    #: the signed-in role's actions, as Action values, in menu order
    actions = ListProperty()
    #: the chosen action ("" = none; "tasks" = the task list), the panel's title and message
    chosen = StringProperty("")
    panel_title = StringProperty("")
    message = StringProperty("")

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._order = ""
        self._amount = ""
        self._armed = ""  # the action a first press armed; a second press runs it
        self._rows: dict[str, TagButton] = {}  # the listed rows by key, to mark the picked one

    @property
    def control(self) -> MaintenanceControl:
        control: MaintenanceControl | None = App.get_running_app().maintenance
        if control is None:
            raise RuntimeError("the maintenance screen needs a controller with maintenance mode")
        return control

    # --- entering ---------------------------------------------------------------------------------

    def refresh(self) -> None:
        """Read the session and the role's actions again; build the menu and an empty panel."""
        session = self.control.maintenance_session()
        lang = self.vm.language
        if session is None:
            self.staff_line, self.actions = "", []
        else:
            self.staff_line = t(
                "maint.signed_in", lang, name=session.name, role=role_label(session.role, lang)
            )
            self.actions = [a.value for a in self.control.maintenance_actions()]
        menu = self.ids.menu
        menu.clear_widgets()
        buttons = [self._button(t("maint.action.tasks", lang), "tasks", lambda: self.choose("tasks"))]
        buttons += [
            self._button(action_label(Action(v), lang), f"action:{v}", lambda a=v: self.choose(a))
            for v in self.actions
        ]
        for button in buttons:
            button.font_size = sp(theme.FONT_SMALL)
            menu.add_widget(button)
        self.choose("")

    def on_touch_down(self, touch: Any) -> bool:
        if self.manager is not None and self.manager.current == self.name and self.collide_point(*touch.pos):
            self.control.maintenance_touch()
        return bool(super().on_touch_down(touch))

    def lock(self) -> None:
        App.get_running_app().leave_maintenance()

    # --- the panel --------------------------------------------------------------------------------

    def choose(self, value: str) -> None:
        """Show ``value``'s panel: "" (nothing chosen), "tasks", or an Action's value."""
        self.chosen = value
        self._order, self._amount, self._armed = "", "", ""
        self.message = ""
        lang = self.vm.language
        panel = self.ids.panel
        panel.clear_widgets()
        if not value:
            self.panel_title = t("maint.choose", lang)
            return
        if value == "tasks":
            self.panel_title = t("maint.action.tasks", lang)
            self._show_tasks()
            return
        action = Action(value)
        self.panel_title = action_label(action, lang)
        if action in READ_ACTIONS:
            self._show_answer(self._run(action))
        elif action is Action.REFUND:
            self._show_refund()
        elif action in ORDER_ACTIONS:
            self._show_orders(action)
        else:
            self._show_run(action)

    def _run(self, action: Action, **args: Any) -> ActionAnswer:
        try:
            return self.control.maintenance_run(action, **args)
        except Exception as exc:  # a fault in an action must not take the staff screen down
            log.exception("maintenance action %s failed", action.value)
            return ActionAnswer(ok=False, message=t("maint.failed", self.vm.language, reason=exc))

    def _show_answer(self, answer: ActionAnswer) -> None:
        self.message = answer.message
        if answer.text:
            self.ids.panel.add_widget(self._text_view(answer.text))

    # today's sales, reprint, void, check a payment: pick an order, then the action's button
    def _show_orders(self, action: Action) -> None:
        lang = self.vm.language
        sales = self._run(Action.TODAYS_SALES)
        self.message = "" if sales.ok else sales.message
        panel = self.ids.panel
        panel.add_widget(self._item_list(sales.items, self._pick_order, t("maint.no_orders", lang)))
        do = Action.REPRINT if action is Action.TODAYS_SALES else action
        label = t("maint.reprint", lang) if do is Action.REPRINT else action_label(do, lang)
        panel.add_widget(self._button(label, "confirm", lambda: self._order_action(do), primary=True))

    def _pick_order(self, item: ActionItem) -> None:
        self._order, self._armed = item.key, ""
        for key, row in self._rows.items():
            row.bg = theme.SURFACE_DOWN if key == item.key else theme.SURFACE
        self.message = t("maint.order_picked", self.vm.language, order=_short(item.key))

    def _order_action(self, action: Action) -> None:
        lang = self.vm.language
        if not self._order:
            self.message = t("maint.pick_order", lang)
            return
        if action is not Action.REPRINT and self._armed != action.value:
            self._armed = action.value
            self.message = t("maint.confirm_again", lang)
            return
        self._armed = ""
        self.message = self._run(action, order_id=self._order).message

    # refund: pick an order, type an amount in yuan (empty: the whole order), press twice
    def _show_refund(self) -> None:
        lang = self.vm.language
        sales = self._run(Action.TODAYS_SALES)
        row = BoxLayout(spacing=dp(16))
        row.add_widget(self._item_list(sales.items, self._pick_order, t("maint.no_orders", lang)))
        pad = BoxLayout(orientation="vertical", spacing=dp(8), size_hint_x=None, width=dp(300))
        pad.add_widget(self._label(t("maint.amount", lang), theme.FONT_SMALL, height=dp(28)))
        self._amount_label = self._label(amount_text("", lang), theme.FONT_LARGE, height=dp(40))
        pad.add_widget(self._amount_label)
        keys = GridLayout(cols=3, spacing=dp(6))
        for key in ("1", "2", "3", "4", "5", "6", "7", "8", "9", ".", "0", "clear"):
            text = t("maint.clear", lang) if key == "clear" else key
            keys.add_widget(self._button(text, f"amt:{key}", lambda k=key: self._amount_press(k), fill=True))
        pad.add_widget(keys)
        row.add_widget(pad)
        self.ids.panel.add_widget(row)
        self.ids.panel.add_widget(
            self._button(action_label(Action.REFUND, lang), "confirm", self._refund, primary=True)
        )

    def _amount_press(self, key: str) -> None:
        self._amount, self._armed = amount_key(self._amount, key), ""
        self._amount_label.text = amount_text(self._amount, self.vm.language)

    def _refund(self) -> None:
        lang = self.vm.language
        if not self._order:
            self.message = t("maint.pick_order", lang)
            return
        try:
            fen = amount_fen(self._amount)
        except ValueError:
            self.message = t("maint.amount_invalid", lang)
            return
        if self._armed != Action.REFUND.value:
            self._armed = Action.REFUND.value
            amount = t("maint.amount_all", lang) if fen is None else format_yuan(fen)
            self.message = t("maint.refund_confirm", lang, amount=amount, order=_short(self._order))
            return
        self._armed = ""
        self.message = self._run(Action.REFUND, order_id=self._order, amount_fen=fen).message

    # tasks: one row each, one tap runs the task's action
    def _show_tasks(self) -> None:
        try:
            tasks = self.control.maintenance_tasks()
        except Exception:
            log.exception("maintenance tasks could not be listed")
            tasks = []
        self.ids.panel.add_widget(
            self._item_list(tasks, self._run_task, t("maint.no_tasks", self.vm.language))
        )

    def _run_task(self, item: ActionItem) -> None:
        if item.action is None:
            return
        answer = self._run(item.action, task_id=item.key)
        self.choose("tasks")
        self.message = answer.message

    # anything else (close shift, IT actions): a run button, pressed twice, then the answer
    def _show_run(self, action: Action) -> None:
        self.ids.panel.add_widget(
            self._button(
                t("maint.run", self.vm.language), "confirm", lambda: self._run_armed(action), primary=True
            )
        )

    def _run_armed(self, action: Action) -> None:
        if self._armed != action.value:
            self._armed = action.value
            self.message = t("maint.confirm_again", self.vm.language)
            return
        self._armed = ""
        panel = self.ids.panel
        panel.clear_widgets()
        self._show_answer(self._run(action))

    # --- building blocks --------------------------------------------------------------------------

    def _button(
        self, text: str, tag: str, on_press: Any, *, primary: bool = False, fill: bool = False
    ) -> TagButton:
        button = TagButton(text=text, tag=tag)
        if fill:
            button.size_hint_y = 1
        if primary:
            button.bg, button.bg_down, button.fg = theme.PRIMARY, theme.PRIMARY_DOWN, theme.TEXT_ON_DARK
            button.bold = True
        else:
            button.bg, button.edge = theme.SURFACE, theme.BORDER
        button.bind(on_release=lambda *_a: on_press())
        return button

    def _label(self, text: str, size: int, *, height: float) -> Label:
        label = Label(text=text, font_size=sp(size), color=theme.TEXT, size_hint_y=None, height=height)
        label.bind(size=lambda w, s: setattr(w, "text_size", s))
        label.halign, label.valign = "left", "middle"
        return label

    def _item_list(self, items: Any, on_pick: Any, empty: str) -> ScrollView:
        scroll = ScrollView(do_scroll_x=False)
        column = BoxLayout(orientation="vertical", spacing=dp(6), size_hint_y=None)
        column.bind(minimum_height=column.setter("height"))
        self._rows = {}
        for item in items:
            row = self._button(item.label, f"item:{item.key}", lambda i=item: on_pick(i))
            self._rows[item.key] = row
            column.add_widget(row)
        if not items:
            column.add_widget(self._label(empty, theme.FONT_BODY, height=dp(48)))
        scroll.add_widget(column)
        return scroll

    def _text_view(self, text: str) -> ScrollView:
        scroll = ScrollView(do_scroll_x=False)
        label = Label(text=text, font_size=sp(theme.FONT_SMALL), color=theme.TEXT, size_hint_y=None)
        label.bind(
            width=lambda w, width: setattr(w, "text_size", (width, None)),
            texture_size=lambda w, size: setattr(w, "height", size[1]),
        )
        label.halign, label.valign = "left", "top"
        scroll.add_widget(label)
        return scroll
