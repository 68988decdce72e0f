"""The Kivy application: six screens in a ScreenManager whose current screen follows the checkout phase.

Importing this module imports Kivy, so callers use ``kiosk.ui.run_ui`` (or call
``kiosk.ui.configure_kivy`` first): Kivy reads argv and its environment when it is first imported.
``KioskApp.__init__`` applies the kiosk's Config again, which still works for everything the
window reads, as long as no window exists yet.
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path
from typing import Any

from kivy.app import App
from kivy.clock import Clock
from kivy.core.text import DEFAULT_FONT, LabelBase
from kivy.lang import Builder
from kivy.metrics import dp
from kivy.properties import ObjectProperty
from kivy.uix.screenmanager import FadeTransition, ScreenManager

from kiosk.i18n import t
from kiosk.maintenance.roles import Action
from kiosk.settings import KioskSection, UiSection
from kiosk.ui import theme
from kiosk.ui.attract_screen import AttractScreen
from kiosk.ui.cart_screen import CartScreen
from kiosk.ui.controller_api import ActionAnswer, KioskController, MaintenanceControl, UnlockAnswer
from kiosk.ui.done_screen import DoneScreen
from kiosk.ui.enrol_screen import EnrolScreen
from kiosk.ui.fonts import FontNotFound, find_cjk_font
from kiosk.ui.help_screen import HelpScreen
from kiosk.ui.kivy_config import configure_kivy
from kiosk.ui.maintenance_screen import MaintenanceScreen
from kiosk.ui.member_screen import MemberScreen
from kiosk.ui.out_of_service_screen import OutOfServiceScreen
from kiosk.ui.pay_screen import PayScreen
from kiosk.ui.pin_screen import PinScreen
from kiosk.ui.printer_offer import PrinterOfferDialog
from kiosk.ui.recovering_screen import RecoveringScreen
from kiosk.ui.still_there import StillThereDialog
from kiosk.ui.viewmodel import KioskViewModel
from kiosk.ui.widgets import BusySpinner

log = logging.getLogger(__name__)

UI_DIR = Path(__file__).resolve().parent
KV_FILES = (
    "widgets.kv",
    "shop.kv",
    "faults.kv",
    "attract.kv",
    "cart.kv",
    "pay.kv",
    "done.kv",
    "help.kv",
    "recovering.kv",
    "pin.kv",
    "maintenance.kv",
    "still_there.kv",
    "member.kv",
    "out_of_service.kv",
    "enrol.kv",
)
#: the staff screens: while one shows, the checkout phase does not move the screen
MAINTENANCE_SCREENS = ("pin", "maint")
TICK_INTERVAL_S = 1.0


def register_cjk_font(configured: str) -> Path | None:
    """Make the CJK font Kivy's default, so every label renders Chinese; None (and a warning) if none."""
    try:
        path = find_cjk_font(configured)
    except FontNotFound as exc:
        log.warning("%s. Chinese text will show as boxes.", exc)
        return None
    LabelBase.register(DEFAULT_FONT, fn_regular=str(path))
    log.info("UI font: %s", path)
    return path


def load_kv() -> None:
    """Load the screens' kv rules; unload first so a second app in one process does not double them."""
    for name in KV_FILES:
        path = str(UI_DIR / name)
        Builder.unload_file(path)
        Builder.load_file(path)


class KioskApp(App):  # type: ignore[misc]
    """The kiosk's touch UI. Screens call the view-model; the view-model dispatches checkout events."""

    vm = ObjectProperty(None, allownone=True)
    #: no Kivy settings panel: F1 must not open configuration in front of a customer
    use_kivy_settings = False

    def __init__(
        self,
        controller: KioskController,
        ui_settings: UiSection,
        fullscreen: bool | None = None,
        *,
        kiosk_settings: KioskSection | None = None,
        **kwargs: Any,
    ) -> None:
        self.fullscreen = ui_settings.fullscreen if fullscreen is None else fullscreen
        configure_kivy(ui_settings, self.fullscreen)
        super().__init__(**kwargs)
        self.controller = controller
        self.ui_settings = ui_settings
        self.kiosk_settings = kiosk_settings
        self.store_name = (kiosk_settings or KioskSection()).store_name
        self.title = self.store_name
        self.font_path: Path | None = None
        self.sm: ScreenManager | None = None
        self.spinner: BusySpinner | None = None
        #: every screen shown, in order, repeats collapsed: for the snapshot tour and tests
        self.screens_visited: list[str] = []
        self._tick_event: Any = None
        #: what ``kiosk run`` exits with (``stop_kiosk``)
        self.exit_code = 0
        #: maintenance mode, when the controller offers it (None: no hidden corner, no staff menu)
        self.maintenance: MaintenanceControl | None = (
            controller if isinstance(controller, MaintenanceControl) else None
        )

    # --- building ---------------------------------------------------------------------------------

    def build(self) -> ScreenManager:
        self.font_path = register_cjk_font(self.ui_settings.font)
        load_kv()
        default_language = self.kiosk_settings.language if self.kiosk_settings is not None else None
        self.vm = KioskViewModel(self.controller, self.store_name, default_language)
        sm = ScreenManager(transition=FadeTransition(duration=0.15))
        sm.add_widget(AttractScreen(name="attract", vm=self.vm))
        sm.add_widget(CartScreen(name="cart", vm=self.vm))
        sm.add_widget(PayScreen(name="pay", vm=self.vm))
        sm.add_widget(DoneScreen(name="done", vm=self.vm, font_path=self.font_path))
        sm.add_widget(HelpScreen(name="help", vm=self.vm))
        sm.add_widget(MemberScreen(name="member", vm=self.vm))
        sm.add_widget(RecoveringScreen(name="recovering", vm=self.vm))
        sm.add_widget(PinScreen(name="pin", vm=self.vm))
        sm.add_widget(MaintenanceScreen(name="maint", vm=self.vm))
        sm.add_widget(OutOfServiceScreen(name="out_of_service", vm=self.vm))
        sm.add_widget(EnrolScreen(name="enrol", vm=self.vm))
        sm.bind(current=self._record_screen)
        sm.current = self.vm.screen
        self._record_screen(sm, sm.current)
        self.vm.bind(screen=self._follow_phase)
        #: "still there?" over the cart or an unpaid pay screen (kiosk.core.idle decides when)
        self.still_there = StillThereDialog(vm=self.vm)
        #: the one "please wait" sign, over every screen (added to the window in on_start)
        self.spinner = BusySpinner()
        #: "printer not available: pay and take an e-receipt?" over the cart (kiosk.core.checkout._pay)
        self.printer_offer = PrinterOfferDialog(vm=self.vm)
        self.sm = sm
        for waits in (self.vm, *self.spinner_sources):
            waits.bind(busy=self._show_busy)
        self._show_busy()
        return sm

    def _show_busy(self, *_args: Any) -> None:
        if self.vm is None or self.spinner is None:
            return
        self.spinner.active = bool(self.vm.busy) or any(bool(s.busy) for s in self.spinner_sources)

    @property
    def spinner_sources(self) -> list[Any]:
        """The staff screens whose work can wait (a PIN's hash, a staff action)."""
        return [] if self.sm is None else [self.sm.get_screen("pin"), self.sm.get_screen("maint")]

    def _place_spinner(self, window: Any, *_args: Any) -> None:
        if self.spinner is not None:
            self.spinner.center = (window.width / 2, window.height - dp(theme.HEADER_H) / 2)

    def _follow_phase(self, _vm: Any, screen: str) -> None:
        # staff at work keep their screen; the customer's screen comes back when they leave
        if self.sm is not None and self.sm.current != screen and self.sm.current not in MAINTENANCE_SCREENS:
            self.sm.current = screen

    # --- maintenance mode -------------------------------------------------------------------------

    def open_pin(self, purpose: str = "menu") -> bool:
        """Show the PIN pad (the attract screen's hidden corner, or the help screen's "resolved").

        False, and nothing shown, when this kiosk's controller has no maintenance mode.
        """
        if self.maintenance is None or self.sm is None:
            log.info("maintenance mode asked for, but this kiosk's controller does not offer it")
            return False
        pin = self.sm.get_screen("pin")
        pin.reset(purpose)
        self.sm.current = "pin"
        return True

    def request_resolve(self) -> None:
        """The help screen's "resolved, back to service": staff sign in first, then help is resolved.

        Without maintenance mode (a controller that does not offer it) the old open button remains.
        """
        if not self.open_pin("resolve_help"):
            self.vm.resolve()

    def submit_pin(self, pin: str, screen: PinScreen) -> None:
        """One PIN attempt from the pad. Refused while a payment is in flight (the cart stays as it is).

        The PIN is checked off the UI thread (argon2 takes a few hundred ms a hash on a Pi); the
        pad says it is checking and takes no keys until the answer is back.
        """
        control = self.maintenance
        if control is None or screen.busy:
            return
        if control.payment_in_flight():
            screen.show_answer(UnlockAnswer(ok=False, refused_payment=True))
            return
        screen.busy = True

        def answered(answer: UnlockAnswer) -> None:
            screen.busy = False
            if not answer.ok:
                screen.show_answer(answer)
                return
            if screen.purpose == "resolve_help":
                control.maintenance_submit(
                    lambda: control.maintenance_run(Action.RESOLVE_HELP), resolved, failed
                )
                return
            self.show_menu()

        def resolved(result: ActionAnswer) -> None:
            if not result.ok:
                log.warning("resolving help failed: %s", result.message)
            self.leave_maintenance()

        def failed(exc: Exception) -> None:
            screen.busy = False
            screen.message = t("maint.failed", self.vm.language, reason=type(exc).__name__)

        control.maintenance_submit(lambda: control.maintenance_unlock_pin(pin), answered, failed)

    def show_menu(self) -> None:
        if self.sm is None:
            return
        self.sm.get_screen("maint").refresh()
        self.sm.current = "maint"

    def leave_maintenance(self) -> None:
        """Lock (if signed in) and give the screen back to the customer's phase."""
        if self.maintenance is not None and self.maintenance.maintenance_session() is not None:
            self.maintenance.maintenance_lock()
        if self.sm is not None and self.vm is not None:
            self.sm.current = self.vm.screen

    def follow_maintenance(self) -> None:
        """Each tick: a session that ended (auto-lock) hands the screen back; one that began without
        the PIN pad (badge, key switch) opens the menu."""
        control, sm = self.maintenance, self.sm
        if control is None or sm is None or self.vm is None:
            return
        session = control.maintenance_session()
        if session is None and sm.current == "maint":
            log.info("maintenance mode locked itself; back to the customer's screen")
            sm.current = self.vm.screen
        elif session is not None and sm.current not in MAINTENANCE_SCREENS:
            self.show_menu()

    def _record_screen(self, _sm: Any, name: str) -> None:
        if not self.screens_visited or self.screens_visited[-1] != name:
            self.screens_visited.append(name)
            log.debug("screen: %s", name)

    # --- running ----------------------------------------------------------------------------------

    def on_start(self) -> None:
        from kivy.core.window import Window

        Window.bind(on_request_close=self._on_request_close)
        if self.spinner is not None and self.spinner.parent is None:
            Window.add_widget(self.spinner)
            Window.bind(size=self._place_spinner)
            self._place_spinner(Window)
        self._tick_event = Clock.schedule_interval(self._tick, TICK_INTERVAL_S)
        self._check_touch_size(Window.size)
        log.info("kiosk ready: the screen is up")

    def _check_touch_size(self, size: tuple[int, int]) -> None:
        """Say so in the log when the theme's buttons are under 9 mm on this display (a small,
        dense screen): staff then know why customers miss buttons, and what to configure."""
        from kivy.metrics import dp

        need = theme.min_touch_px(int(size[0]), int(size[1]), self.ui_settings.screen_diagonal_in)
        have = dp(theme.BUTTON_MIN_H)
        if have < need:
            log.warning(
                "buttons are %.0f px high, under 9 mm (%d px) on this %.1f-inch %dx%d screen; "
                "check ui.screen_diagonal_in",
                have,
                need,
                self.ui_settings.screen_diagonal_in,
                size[0],
                size[1],
            )

    def on_stop(self) -> None:
        if self._tick_event is not None:
            self._tick_event.cancel()
            self._tick_event = None

    def _tick(self, _dt: float) -> None:
        try:
            self.controller.tick(time.monotonic())
        except Exception:  # a timer fault must not stop the clock that runs every later timer
            log.exception("controller tick failed")
        try:
            self.follow_maintenance()
        except Exception:
            log.exception("maintenance check failed")

    def stop_kiosk(self, exit_code: int = 0) -> None:
        """Stop the app the way SIGTERM does (``kiosk run`` then stops the kiosk cleanly) and make
        ``kiosk run`` exit with ``exit_code``: IT's "exit to desktop" (a code systemd does not
        restart) or a staged restore (0: systemd starts the kiosk again, which applies it)."""
        log.info("maintenance asked the kiosk to stop (exit code %s)", exit_code)
        self.exit_code = exit_code
        self.stop()

    def _on_request_close(self, *_args: Any, **_kwargs: Any) -> bool:
        """Fullscreen (the kiosk): refuse Alt+F4 and friends; windowed (development): allow closing."""
        return self.fullscreen

    def open_settings(self, *_args: Any) -> bool:
        """Never: the settings panel would let a customer change the kiosk's configuration."""
        return False

    # --- screenshots ------------------------------------------------------------------------------

    def screenshot(self, path: Path) -> Path:
        """Save the window as exactly ``path`` (PNG); Kivy adds a counter to the name, so rename after."""
        from kivy.core.window import Window

        path = Path(path).resolve()
        path.parent.mkdir(parents=True, exist_ok=True)
        written = Window.screenshot(name=str(path.with_name(f".{path.stem}-shot.png")))
        if not written:
            raise RuntimeError(f"the window could not be saved as {path}")
        os.replace(written, path)
        return path
