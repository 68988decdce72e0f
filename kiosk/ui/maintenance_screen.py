"""The staff menu: who is signed in, exactly their role's actions, a lock button, and one panel that
shows the chosen action (today's sales and reprint, refund, Z-report, tasks, paper guide, ...).

Every touch on this screen restarts the maintenance lock's inactivity timer; the app returns to
the customer's screen as soon as the session is gone (locked here, or by inactivity). Anything
that moves money or closes the shift asks for a second press before it runs.

Every call that can wait (the gateway, the printer, HQ, USB) runs off the UI thread through the
controller's ``maintenance_submit``: the screen says it is working and takes no second press until
the answer is back. An action with a panel of its own (IT's settings, network, logs, backup, ...)
has it in ``kiosk.ui.panels``, built with this screen's building blocks (``button``, ``label``,
``item_list``, ``text_view``, ``call``, ``confirmed``) and registered in ``kiosk.ui.panels.PANELS``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import partial
from typing import Any

from kivy.app import App
from kivy.metrics import dp, sp
from kivy.properties import BooleanProperty, ListProperty, ObjectProperty, StringProperty
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.gridlayout import GridLayout
from kivy.uix.label import Label
from kivy.uix.screenmanager import Screen
from kivy.uix.scrollview import ScrollView

from kiosk.core.money import format_yuan
from kiosk.i18n import t
from kiosk.maintenance.roles import Action
from kiosk.ui import theme
from kiosk.ui.controller_api import ActionAnswer, ActionArg, ActionItem, MaintenanceControl
from kiosk.ui.maintenance_present import action_label, amount_fen, amount_key, amount_text, role_label
from kiosk.ui.panels import PANELS
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
    #: a call is running off the UI thread: the panel takes no presses until its answer is back
    busy = BooleanProperty(False)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._order = ""
        self._amount = ""
        self._armed = ""  # the action a first press armed; a second press runs it
        self._rows: dict[str, TagButton] = {}  # the listed rows by key, to mark the picked one
        #: bumped whenever the panel is rebuilt: an answer for an older panel is not drawn into it
        self._generation = 0

    @property
    def control(self) -> MaintenanceControl:
        control: MaintenanceControl | None = App.get_running_app().maintenance
        if control is None:
            raise RuntimeError("the maintenance screen needs a controller with maintenance mode")
        return control

    @property
    def language(self) -> str:
        return str(self.vm.language)

    @property
    def panel(self) -> BoxLayout:
        """The right-hand panel a chosen action draws into (cleared on every choice)."""
        panel: BoxLayout = self.ids.panel
        return panel

    # --- entering ---------------------------------------------------------------------------------

    def refresh(self) -> None:
        """Read the session and the role's actions again; build the menu and an empty panel."""
        session = self.control.maintenance_session()
        lang = self.language
        if session is None:
            self.staff_line, self.actions = "", []
        else:
            self.staff_line = t(
                "maint.signed_in", lang, name=session.name, role=role_label(session.role, lang)
            )
            self.actions = [a.value for a in self.control.maintenance_actions()]
        menu = self.ids.menu
        menu.clear_widgets()
        buttons = [self.button(t("maint.action.tasks", lang), "tasks", lambda: self.choose("tasks"))]
        buttons += [
            self.button(action_label(Action(v), lang), f"action:{v}", partial(self.choose, v))
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
        self._generation += 1
        self.message = ""
        lang = self.language
        self.panel.clear_widgets()
        if not value:
            self.panel_title = t("maint.choose", lang)
            return
        if value == "tasks":
            self.panel_title = t("maint.action.tasks", lang)
            self._show_tasks()
            return
        action = Action(value)
        self.panel_title = action_label(action, lang)
        builder = PANELS.get(action)
        if builder is not None:
            builder(self, action)
        elif action in READ_ACTIONS:
            self.call(action, {}, self.show_answer)
        elif action is Action.REFUND:
            self._show_refund()
        elif action in ORDER_ACTIONS:
            self._show_orders(action)
        else:
            self._show_run(action)

    def submit(self, work: Callable[[], Any], done: Callable[[Any], None]) -> bool:
        """Run ``work`` off the UI thread, then ``done(result)`` here, if this panel is still shown.

        False (and nothing run) while another call is out: one at a time, so a double tap never
        refunds twice. A call that fails shows why; the screen stays up.
        """
        if self.busy:
            return False
        self.busy = True
        generation = self._generation
        self.message = t("maint.working", self.language)

        def finished(result: Any) -> None:
            self.busy = False
            if generation != self._generation:
                return  # staff chose another action meanwhile; the answer is in the audit log
            self.message = ""
            done(result)

        def failed(exc: Exception) -> None:
            self.busy = False
            if generation == self._generation:
                self.message = t("maint.failed", self.language, reason=type(exc).__name__)

        self.control.maintenance_submit(work, finished, failed)
        return True

    def call(self, action: Action, args: dict[str, ActionArg], done: Callable[[ActionAnswer], None]) -> bool:
        """``maintenance_run(action, **args)`` off the UI thread; ``done`` gets the answer."""
        return self.submit(lambda: self.control.maintenance_run(action, **args), done)

    def show_answer(self, answer: ActionAnswer) -> None:
        """An answer's message in the message line, its text (if any) in the panel."""
        self.message = answer.message
        if answer.text:
            self.panel.add_widget(self.text_view(answer.text))

    def confirmed(self, key: str, prompt: str = "") -> bool:
        """True on the second press of the same ``key`` in a row; the first press arms it and says
        so (``prompt``, or "press again to confirm")."""
        if self._armed == key:
            self._armed = ""
            return True
        self._armed = key
        self.message = prompt or t("maint.confirm_again", self.language)
        return False

    def disarm(self) -> None:
        self._armed = ""

    # today's sales, reprint, void, check a payment: pick an order, then the action's button
    def _show_orders(self, action: Action) -> None:
        def listed(sales: ActionAnswer) -> None:
            lang = self.language
            self.message = "" if sales.ok else sales.message
            self.panel.add_widget(self.item_list(sales.items, self._pick_order, t("maint.no_orders", lang)))
            do = Action.REPRINT if action is Action.TODAYS_SALES else action
            label = t("maint.reprint", lang) if do is Action.REPRINT else action_label(do, lang)
            self.panel.add_widget(self.button(label, "confirm", lambda: self._order_action(do), primary=True))

        self.call(Action.TODAYS_SALES, {}, listed)

    def _pick_order(self, item: ActionItem) -> None:
        self._order, self._armed = item.key, ""
        for key, row in self._rows.items():
            row.bg = theme.SURFACE_DOWN if key == item.key else theme.SURFACE
        self.message = t("maint.order_picked", self.language, order=_short(item.key))

    def _order_action(self, action: Action) -> None:
        if not self._order:
            self.message = t("maint.pick_order", self.language)
            return
        if action is not Action.REPRINT and not self.confirmed(action.value):
            return
        self.call(action, {"order_id": self._order}, lambda answer: setattr(self, "message", answer.message))

    # refund: pick an order, type an amount in yuan (empty: the whole order), press twice
    def _show_refund(self) -> None:
        def listed(sales: ActionAnswer) -> None:
            lang = self.language
            row = BoxLayout(spacing=dp(16))
            row.add_widget(self.item_list(sales.items, self._pick_order, t("maint.no_orders", lang)))
            pad = BoxLayout(orientation="vertical", spacing=dp(8), size_hint_x=None, width=dp(300))
            pad.add_widget(self.label(t("maint.amount", lang), theme.FONT_SMALL, height=dp(28)))
            self._amount_label = self.label(amount_text("", lang), theme.FONT_LARGE, height=dp(40))
            pad.add_widget(self._amount_label)
            keys = GridLayout(cols=3, spacing=dp(6))
            for key in ("1", "2", "3", "4", "5", "6", "7", "8", "9", ".", "0", "clear"):
                text = t("maint.clear", lang) if key == "clear" else key
                keys.add_widget(self.button(text, f"amt:{key}", partial(self._amount_press, key), fill=True))
            pad.add_widget(keys)
            row.add_widget(pad)
            self.panel.add_widget(row)
            self.panel.add_widget(
                self.button(action_label(Action.REFUND, lang), "confirm", self._refund, primary=True)
            )

        self.call(Action.TODAYS_SALES, {}, listed)

    def _amount_press(self, key: str) -> None:
        self._amount, self._armed = amount_key(self._amount, key), ""
        self._amount_label.text = amount_text(self._amount, self.language)

    def _refund(self) -> None:
        lang = self.language
        if not self._order:
            self.message = t("maint.pick_order", lang)
            return
        try:
            fen = amount_fen(self._amount)
        except ValueError:
            self.message = t("maint.amount_invalid", lang)
            return
        amount = t("maint.amount_all", lang) if fen is None else format_yuan(fen)
        prompt = t("maint.refund_confirm", lang, amount=amount, order=_short(self._order))
        if not self.confirmed(Action.REFUND.value, prompt):
            return
        self.call(
            Action.REFUND,
            {"order_id": self._order, "amount_fen": fen},
            lambda answer: setattr(self, "message", answer.message),
        )

    # tasks: one row each, one tap runs the task's action
    def _show_tasks(self) -> None:
        def listed(tasks: list[ActionItem]) -> None:
            self.panel.add_widget(self.item_list(tasks, self._run_task, t("maint.no_tasks", self.language)))

        self.submit(self.control.maintenance_tasks, listed)

    def _run_task(self, item: ActionItem) -> None:
        if item.action is None:
            return

        def ran(answer: ActionAnswer) -> None:
            self.choose("tasks")
            self.message = answer.message

        self.call(item.action, {"task_id": item.key}, ran)

    # anything else (close shift, ...): a run button, pressed twice, then the answer
    def _show_run(self, action: Action) -> None:
        self.panel.add_widget(
            self.button(
                t("maint.run", self.language), "confirm", lambda: self._run_armed(action), primary=True
            )
        )

    def _run_armed(self, action: Action) -> None:
        if not self.confirmed(action.value):
            return

        def ran(answer: ActionAnswer) -> None:
            self.panel.clear_widgets()
            self.show_answer(answer)

        self.call(action, {}, ran)

    # --- building blocks (also for kiosk.ui.panels) -----------------------------------------------

    def button(
        self, text: str, tag: str, on_press: Callable[[], Any], *, primary: bool = False, fill: bool = False
    ) -> TagButton:
        """A panel button; presses while a call is out are ignored (the answer decides what next)."""
        button = TagButton(text=text, tag=tag)
        if fill:
            button.size_hint_y = 1
        if primary:
            button.bg, button.bg_down, button.fg = theme.PRIMARY, theme.PRIMARY_DOWN, theme.TEXT_ON_DARK
            button.bold = True
        else:
            button.bg, button.edge = theme.SURFACE, theme.BORDER
        button.bind(on_release=lambda *_a: None if self.busy else on_press())
        return button

    def label(self, text: str, size: int, *, height: float) -> Label:
        label = Label(text=text, font_size=sp(size), color=theme.TEXT, size_hint_y=None, height=height)
        label.bind(size=lambda w, s: setattr(w, "text_size", s))
        label.halign, label.valign = "left", "middle"
        return label

    def item_list(self, items: Any, on_pick: Callable[[ActionItem], Any], empty: str) -> ScrollView:
        scroll = ScrollView(do_scroll_x=False)
        column = BoxLayout(orientation="vertical", spacing=dp(6), size_hint_y=None)
        column.bind(minimum_height=column.setter("height"))
        self._rows = {}
        for item in items:
            row = self.button(item.label, f"item:{item.key}", partial(on_pick, item))
            self._rows[item.key] = row
            column.add_widget(row)
        if not items:
            column.add_widget(self.label(empty, theme.FONT_BODY, height=dp(48)))
        scroll.add_widget(column)
        return scroll

    def text_view(self, text: str) -> ScrollView:
        scroll = ScrollView(do_scroll_x=False)
        label = Label(text=text, font_size=sp(theme.FONT_SMALL), color=theme.TEXT, size_hint_y=None)
        label.bind(
            width=lambda w, width: setattr(w, "text_size", (width, None)),
            texture_size=lambda w, size: setattr(w, "height", size[1]),
        )
        label.halign, label.valign = "left", "top"
        scroll.add_widget(label)
        return scroll
