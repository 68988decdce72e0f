"""IT's diagnostics panel: one row per check with its verdict (OK / WARN / FAIL, in colour and
words) and its buttons (test page; LED and buzzer; camera view; 1-fen test charge), and "run all
again".

Every check runs off the UI thread (``screen.call`` -> ``maintenance_run(Action.DIAGNOSTICS,
check=...)``, see ``MaintenanceControl``). The camera view and the test charge show the camera's
picture (``vm.latest_frame``, as the pay screen does: a copy of the scanner's newest frame, no I/O)
and poll the controller for the decode figures, or for the charge's outcome, off the UI thread.
While the view is open the kiosk takes the codes the camera reads away from the checkout; the
panel tells the controller when staff leave it (another action, the lock, the menu locking itself)
so the camera view closes and the LED goes back, and the controller closes it on a lock as well.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from kivy.clock import Clock
from kivy.metrics import dp, sp
from kivy.properties import StringProperty
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.image import Image
from kivy.uix.label import Label
from kivy.uix.scrollview import ScrollView

from kiosk.i18n import t
from kiosk.maintenance.roles import Action
from kiosk.ui import theme
from kiosk.ui.controller_api import ActionAnswer
from kiosk.ui.present import FrameError, frame_to_rgb
from kiosk.ui.widgets import show_frame

if TYPE_CHECKING:
    from kiosk.ui.maintenance_screen import MaintenanceScreen

log = logging.getLogger(__name__)

#: the rows, top to bottom; "charge" is the 1-fen test charge (run only by its button)
ROWS = ("printer", "camera", "gpio", "network", "hq", "gateway", "charge", "disk", "sd_card", "versions")
#: each row's buttons: (text key, the check the button runs)
BUTTONS: dict[str, tuple[tuple[str, str], ...]] = {
    "printer": (("diag.panel.test_page", "test_page"),),
    "camera": (("diag.panel.camera", "camera_on"),),
    "gpio": (("diag.panel.led", "gpio_led"), ("diag.panel.buzzer", "gpio_buzzer")),
    "charge": (("diag.panel.charge", "charge_start"),),
}
#: a result's name (kiosk.maintenance.diagnostics.Result.name) -> the row it belongs in
ROW_OF = {
    "sd card": "sd_card",
    "printer test page": "printer",
    "gpio led": "gpio",
    "gpio buzzer": "gpio",
    "test charge": "charge",
}
VERDICT_COLOURS = {"ok": theme.PRIMARY, "warn": theme.HELP_ACCENT, "fail": theme.DANGER}
#: the camera picture's refresh, and the figures' (or the charge's) poll
PREVIEW_INTERVAL_S = 0.1
POLL_INTERVAL_S = 0.5


class TagLabel(Label):  # type: ignore[misc]
    """A label that names itself, so the UI tests can read a row's verdict without its wording."""

    tag = StringProperty("")


class DiagnosticsPanel:
    """The panel's state while it is shown: the rows' widgets, and the camera view when open."""

    def __init__(self, screen: MaintenanceScreen) -> None:
        self.screen = screen
        self.control = screen.control
        self.root = BoxLayout(orientation="vertical", spacing=dp(6))
        self.verdicts: dict[str, TagLabel] = {}
        self.texts: dict[str, TagLabel] = {}
        #: the camera view or the charge's wait is open: "" / "camera" / "charge"
        self.mode = ""
        self.stats: TagLabel | None = None
        self.preview: Image | None = None
        self._texture: Any = None
        self._polling = False  # a poll is out on the staff worker
        self._used = False  # something that "leave" undoes (camera view, LED) was started
        self._events: list[Any] = []
        self._bad_frame_logged = False
        self._since_poll = 0.0

    @property
    def lang(self) -> str:
        return self.screen.language

    # --- building ---------------------------------------------------------------------------------

    def build(self) -> None:
        self.screen.panel.add_widget(self.root)
        self._draw_rows()
        self._events.append(Clock.schedule_interval(self._watch, PREVIEW_INTERVAL_S))
        self.run("all")

    def _draw_rows(self) -> None:
        """The rows (kept across the camera view, which replaces them while it is open)."""
        lang, screen = self.lang, self.screen
        self.root.clear_widgets()
        self.root.add_widget(
            screen.button(
                t("diag.panel.run_all", lang), "diag:run_all", lambda: self.run("all"), primary=True
            )
        )
        scroll = ScrollView(do_scroll_x=False)
        column = BoxLayout(orientation="vertical", spacing=dp(4), size_hint_y=None)
        column.bind(minimum_height=column.setter("height"))
        for row in ROWS:
            column.add_widget(self._row(row))
        scroll.add_widget(column)
        self.root.add_widget(scroll)

    def _row(self, row: str) -> BoxLayout:
        lang = self.lang
        box = BoxLayout(orientation="horizontal", spacing=dp(6), size_hint_y=None, height=dp(72))
        box.add_widget(self._label(t(f"diag.row.{row}", lang), f"diag:name:{row}", 0.14, bold=True))
        old_verdict, old_text = self.verdicts.get(row), self.texts.get(row)
        verdict = self._label(old_verdict.text if old_verdict else "-", f"diag:verdict:{row}", 0.1, bold=True)
        verdict.color = old_verdict.color if old_verdict else theme.TEXT_MUTED
        text = self._label(
            old_text.text if old_text else t("diag.panel.not_run", lang), f"diag:text:{row}", 0.46
        )
        text.shorten, text.max_lines = False, 3  # the whole verdict, up to three lines
        self.verdicts[row], self.texts[row] = verdict, text
        box.add_widget(verdict)
        box.add_widget(text)
        buttons = BoxLayout(orientation="horizontal", spacing=dp(4), size_hint_x=0.3)
        for key, check in BUTTONS.get(row, ()):
            button = self.screen.button(t(key, lang), f"diag:{check}", self._press(check))
            button.font_size = sp(theme.FONT_SMALL)
            buttons.add_widget(button)
        box.add_widget(buttons)
        return box

    def _label(self, text: str, tag: str, width: float, *, bold: bool = False) -> TagLabel:
        label = TagLabel(text=text, tag=tag, font_size=sp(theme.FONT_SMALL), color=theme.TEXT)
        label.size_hint_x, label.bold = width, bold
        label.bind(size=lambda w, s: setattr(w, "text_size", s))
        label.halign, label.valign = "left", "middle"
        label.shorten, label.shorten_from = True, "right"
        return label

    def _press(self, check: str) -> Callable[[], None]:
        def pressed() -> None:
            if check == "camera_on":
                self.open_view("camera")
            elif check == "charge_start":
                if self.screen.confirmed("diag:charge"):  # it moves money, if only 1 fen
                    self.open_view("charge")
            else:
                self._used = self._used or check == "gpio_led"
                self.run(check)

        return pressed

    # --- checks -----------------------------------------------------------------------------------

    def run(self, check: str) -> None:
        self.screen.call(Action.DIAGNOSTICS, {"check": check}, self.show)

    def show(self, answer: ActionAnswer) -> None:
        """Each item's verdict into its row; the answer's message in the message line."""
        for item in answer.items:
            row = ROW_OF.get(item.key, item.key)
            if row not in self.verdicts:
                continue
            verdict = self.verdicts[row]
            verdict.text = t(f"diag.{item.verdict}", self.lang) if item.verdict else "-"
            verdict.color = VERDICT_COLOURS.get(item.verdict, theme.TEXT_MUTED)
            self.texts[row].text = item.label
        if answer.message:
            self.screen.message = answer.message
        elif not answer.ok:
            self.screen.message = t("maint.console.diag_failed", self.lang, n=1)

    # --- the camera view and the test charge's wait -----------------------------------------------

    def open_view(self, mode: str) -> None:
        """Camera on (off the UI thread), then the picture and the figures (or the charge's wait)."""
        check = "camera_on" if mode == "camera" else "charge_start"

        def opened(answer: ActionAnswer) -> None:
            if not answer.items and not answer.ok:  # refused (the session ended): say why
                self.screen.message = answer.message
                return
            if mode == "charge" and answer.items:  # refused at once (no gateway): a verdict
                self.show(answer)
                return
            self._used = True
            self.mode = mode
            self._draw_view(answer)

        self.screen.call(Action.DIAGNOSTICS, {"check": check}, opened)

    def _draw_view(self, answer: ActionAnswer) -> None:
        lang, screen = self.lang, self.screen
        self.root.clear_widgets()
        self.preview = Image(fit_mode="contain")
        self.root.add_widget(self.preview)
        self.stats = self._label("", "diag:stats", 1.0)
        self.stats.size_hint_y, self.stats.height = None, dp(96)
        self.stats.shorten = False
        self.root.add_widget(self.stats)
        if self.mode == "camera":
            close = screen.button(t("diag.panel.close_camera", lang), "diag:camera_off", self.close_view)
        else:
            close = screen.button(t("diag.panel.cancel", lang), "diag:charge_cancel", self.close_view)
        self.root.add_widget(close)
        self._show_view_answer(answer)

    def _show_view_answer(self, answer: ActionAnswer) -> None:
        if self.stats is None:
            return
        if self.mode == "camera":
            self.stats.text = answer.items[0].label if answer.items else answer.message
            return
        self.stats.text = answer.message  # the charge: "show a payment code"

    def close_view(self) -> None:
        check = "camera_off" if self.mode == "camera" else "charge_cancel"
        self.mode = ""
        self.stats = self.preview = None
        self._texture = None
        self._draw_rows()
        self.run(check)

    def _poll(self) -> None:
        """The figures (camera view) or the charge's outcome, asked off the UI thread; one at a time."""
        if self._polling or not self.mode:
            return
        mode, check = self.mode, "camera_stats" if self.mode == "camera" else "charge_poll"
        self._polling = True
        control = self.control

        def answered(answer: ActionAnswer) -> None:
            self._polling = False
            if self.mode != mode or not self._shown():
                return
            if mode == "charge" and (answer.items or not answer.ok):
                self.mode = ""  # the outcome came (or the wait ended): back to the rows with it
                self.stats = self.preview = None
                self._draw_rows()
                self.show(answer)
                return
            self._show_view_answer(answer)

        def failed(exc: Exception) -> None:
            self._polling = False
            log.warning("diagnostics poll failed: %s", type(exc).__name__)

        control.maintenance_submit(
            lambda: control.maintenance_run(Action.DIAGNOSTICS, check=check), answered, failed
        )

    def _update_preview(self) -> None:
        preview = self.preview
        if preview is None:
            return
        try:
            frame = self.screen.vm.latest_frame()
            if frame is None:
                return
            pixels, width, height, fmt = frame_to_rgb(frame)
        except FrameError as exc:
            if not self._bad_frame_logged:
                log.warning("diagnostics camera view skipped a frame it cannot show: %s", exc)
                self._bad_frame_logged = True
            return
        except Exception:  # a camera fault must not freeze the staff menu
            log.exception("camera frame could not be read")
            return
        self._texture = show_frame(preview, self._texture, pixels, width, height, fmt)

    # --- leaving ----------------------------------------------------------------------------------

    def _shown(self) -> bool:
        screen = self.screen
        on_screen = screen.manager is None or screen.manager.current == screen.name
        return self.root.parent is not None and on_screen

    def _watch(self, _dt: float) -> None:
        """Each preview tick: the picture, a poll every ``POLL_INTERVAL_S``; and when staff have left
        (another action chosen, the menu locked or left), stop and tell the controller."""
        if not self._shown():
            self.leave()
            return
        if self.mode:
            self._update_preview()
            self._since_poll += _dt
            if self._since_poll >= POLL_INTERVAL_S:
                self._since_poll = 0.0
                self._poll()

    def leave(self) -> None:
        for event in self._events:
            event.cancel()
        self._events = []
        self.mode = ""
        if not self._used:
            return
        control = self.control
        # the controller closes the view itself when the session ends; this covers "another action"
        control.maintenance_submit(
            lambda: control.maintenance_run(Action.DIAGNOSTICS, check="leave"),
            lambda _answer: None,
            lambda exc: log.warning("diagnostics leave failed: %s", type(exc).__name__),
        )


def build(screen: MaintenanceScreen, action: Action) -> DiagnosticsPanel:
    panel = DiagnosticsPanel(screen)
    panel.build()
    return panel
