"""Diagnostics as the staff menu runs them: one check at a time, a live camera view, the LED and
buzzer buttons and the 1-fen test charge (``maintenance_run(Action.DIAGNOSTICS, check=...)``).

The checks themselves are ``kiosk.maintenance.diagnostics.Diagnostics``; this module adds what a
screen needs around them and what must hold while staff test the kiosk:

* While the camera view (or a test charge) is open, every code the camera reads is taken here and
  never reaches the checkout: a staff member testing the camera with a payment code must not start
  a payment, and the code for the test charge is used once, for that charge only. Codes shown on
  screen and written to the log are masked.
* The camera is on while the view is open (a paused scanner is resumed, and paused again after),
  and the view closes when staff leave the panel, lock the menu, or the menu locks itself.
* The LED test leaves the light as the kiosk showed it before.

Calls come from the controller's staff worker (``maintenance_run``) and codes from the dispatching
thread (``take``); one lock keeps the view's state whole between them.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Protocol

from drivers.camera.types import Decoded
from kiosk.core.codes import classify
from kiosk.i18n import t
from kiosk.maintenance.diagnostics import Diagnostics, Result, Status
from kiosk.ports import Light
from kiosk.ui.controller_api import ActionAnswer, ActionItem
from kiosk_common.codes import mask

log = logging.getLogger(__name__)

#: the checks one row of the panel runs (and "all": every check that needs nobody at the kiosk)
SINGLE_CHECKS = ("printer", "camera", "gpio", "network", "hq", "gateway", "disk", "sd_card", "versions")
#: the buttons' actions
ACTIONS = (
    "test_page",
    "gpio_led",
    "gpio_buzzer",
    "camera_on",
    "camera_stats",
    "camera_off",
    "charge_start",
    "charge_poll",
    "charge_cancel",
    "leave",
)
#: calls a panel repeats while it is open: they do not count as staff activity, so an open camera
#: view does not keep the menu unlocked for someone who walked away
POLLS = frozenset({"camera_stats", "charge_poll"})
#: how many of the codes seen the camera view lists
SEEN_KEPT = 5


class CameraSwitch(Protocol):
    """The camera scanner's pause switch (``drivers.camera.scanner.CameraScanner``)."""

    @property
    def paused(self) -> bool: ...

    def pause(self) -> None: ...

    def resume(self) -> None: ...


class DiagnosticsDesk:
    """The diagnostics panel's calls, and the camera view that takes codes from the checkout."""

    def __init__(
        self,
        diagnostics: Diagnostics,
        session_open: Callable[[], bool],
        camera: CameraSwitch | None = None,
    ) -> None:
        self.diagnostics = diagnostics
        self._session_open = session_open
        self._camera = camera
        self._lock = threading.Lock()
        self._view_open = False
        self._resumed = False  # the view resumed a paused scanner: pause it again on close
        self._seen: deque[str] = deque(maxlen=SEEN_KEPT)
        self._seen_count = 0
        self._armed = False  # waiting for one payment code for the test charge
        self._charge_code: str | None = None
        self._led_before: Light | None = None  # the light before the LED test; None: no test on

    # --- the camera view (dispatching thread) -----------------------------------------------------

    @property
    def view_open(self) -> bool:
        with self._lock:
            return self._view_open

    def take(self, codes: Sequence[Decoded]) -> bool:
        """True when the camera view is open and took ``codes``: the checkout must not see them.

        A view left open by a session that has ended closes here, and the codes go to the checkout.
        """
        with self._lock:
            if not self._view_open:
                return False
        if not self._session_open():
            self.release()
            return False
        with self._lock:
            for code in codes:
                c = classify(code.text, code.symbology)
                self._seen_count += 1
                self._seen.append(f"{c.kind.value} {mask(c.text)}")
                if self._armed and c.is_payment and self._charge_code is None:
                    self._charge_code, self._armed = c.text, False
            masked = ", ".join(mask(c.text) for c in codes)
        log.info("diagnostics camera view: saw %s (not taken as a payment)", masked)
        return True

    def tick(self) -> None:
        """The controller's tick: a view left open when the menu locked itself closes."""
        with self._lock:
            idle = not self._view_open and self._led_before is None
        if not idle and not self._session_open():
            self.release()

    def release(self) -> None:
        """Staff left: camera view closed (the scanner paused again if the view resumed it), any
        test charge still waiting for a code cancelled, the LED back to what it showed."""
        with self._lock:
            resumed, self._resumed = self._resumed, False
            self._view_open, self._armed, self._charge_code = False, False, None
            before, self._led_before = self._led_before, None
        if resumed and self._camera is not None:
            self._camera.pause()
        if before is not None:
            self.diagnostics.led(False, before)

    def _open_view(self) -> None:
        with self._lock:
            if self._view_open:
                return
            self._view_open = True
            self._seen.clear()
            self._seen_count = 0
            resume = self._camera is not None and self._camera.paused
            self._resumed = resume
        if resume and self._camera is not None:
            self._camera.resume()

    def _close_view(self) -> None:
        with self._lock:
            resumed, self._resumed = self._resumed, False
            self._view_open, self._armed, self._charge_code = False, False, None
        if resumed and self._camera is not None:
            self._camera.pause()

    # --- the panel's calls (staff worker) ---------------------------------------------------------

    def is_poll(self, check: object) -> bool:
        return check in POLLS

    def run(self, check: str, actor: str, lang: str) -> ActionAnswer:
        """One check or button of the panel; ``check`` is one of ``SINGLE_CHECKS``, ``ACTIONS`` or
        "all". Raises ValueError for any other (the console words it)."""
        d = self.diagnostics
        if check in ("", "all"):
            return answer_of(d.run_all(), lang, t("maint.console.done", lang))
        if check in SINGLE_CHECKS:
            if check == "camera":
                return answer_of([self._camera_result(lang)], lang)
            method: Callable[[], Result] = d.gpio_inputs if check == "gpio" else getattr(d, check)
            return answer_of([_safe(check, method)], lang)
        match check:
            case "test_page":
                return answer_of([_safe("printer test page", d.printer_test_page)], lang)
            case "gpio_led":
                return answer_of([_safe("gpio led", self._toggle_led)], lang)
            case "gpio_buzzer":
                return answer_of([_safe("gpio buzzer", d.buzzer)], lang)
            case "camera_on":
                self._open_view()
                return answer_of([self._camera_result(lang)], lang)
            case "camera_stats":
                return answer_of([self._camera_result(lang)], lang)
            case "camera_off":
                self._close_view()
                return ActionAnswer(ok=True, message=t("diag.view.closed", lang))
            case "charge_start":
                return self._charge_start(lang)
            case "charge_poll":
                return self._charge_poll(actor, lang)
            case "charge_cancel":
                self._close_view()
                return ActionAnswer(ok=True, message=t("diag.charge.cancelled", lang))
            case "leave":
                self.release()
                return ActionAnswer(ok=True)
        raise ValueError(f"unknown diagnostics check {check[:40]!r}")

    def _toggle_led(self) -> Result:
        with self._lock:
            before, on = self._led_before, self._led_before is None
            if on:
                shown = getattr(self.diagnostics.parts.indicators, "light", None)
                self._led_before = shown if isinstance(shown, Light) else Light.OFF
            else:
                self._led_before = None
        return self.diagnostics.led(on, before or Light.OFF)

    def _camera_result(self, lang: str) -> Result:
        found = _safe("camera", self.diagnostics.camera)
        with self._lock:
            view, count, seen = self._view_open, self._seen_count, list(self._seen)
        fields = {"n": count, "last": ", ".join(seen) or "-"}
        return replace(
            found,
            zh=f"{found.zh}；{t('diag.view.seen', 'zh_CN', **fields)}",
            en=f"{found.en}; {t('diag.view.seen', 'en', **fields)}",
            data={**found.data, "view_open": view, "codes_seen": count, "last_seen": seen},
        )

    def _charge_start(self, lang: str) -> ActionAnswer:
        if self.diagnostics.parts.settings.payments.gateway == "none":
            r = Result("test charge", Status.FAIL, *_both("diag.charge.no_gateway"))
            return answer_of([r], lang)
        self._open_view()
        with self._lock:
            self._armed, self._charge_code = True, None
        return ActionAnswer(ok=True, message=t("diag.charge.show_code", lang))

    def _charge_poll(self, actor: str, lang: str) -> ActionAnswer:
        """The charge's outcome once a code came (the charge runs here, on the staff worker; items:
        its verdict), "still waiting" (ok, no items) while none has, or "cancelled" (not ok, no
        items) when the wait ended without one (cancel, lock)."""
        with self._lock:
            code, armed = self._charge_code, self._armed
            self._charge_code = None
        if code is None:
            if armed:
                return ActionAnswer(ok=True, message=t("diag.charge.show_code", lang))
            return ActionAnswer(ok=False, message=t("diag.charge.cancelled", lang))
        self._close_view()
        outcome = _safe("test charge", lambda: self.diagnostics.test_charge(code, actor))
        return answer_of([outcome], lang)


def _both(key: str, **fields: object) -> tuple[str, str]:
    return t(key, "zh_CN", **fields), t(key, "en", **fields)


def _safe(name: str, check: Callable[[], Result]) -> Result:
    """A check that raised is a FAIL row that says so, never a crash of the panel."""
    try:
        return check()
    except Exception as exc:
        log.exception("diagnostics check %s failed", name)
        return Result(name, Status.FAIL, *_both("diag.check_error", name=name, error=type(exc).__name__))


def answer_of(results: Sequence[Result], lang: str, done: str = "") -> ActionAnswer:
    """The results as the panel shows them: one item per check (``key`` its fixed English name,
    ``verdict`` ok/warn/fail, ``label`` the message in ``lang``), and the same as text lines."""
    items = tuple(ActionItem(r.name, r.text(lang), verdict=r.status.value) for r in results)
    text = "\n".join(f"[{r.label(lang)}] {r.name}: {r.text(lang)}" for r in results)
    failed = sum(1 for r in results if r.failed)
    message = done if failed == 0 else t("maint.console.diag_failed", lang, n=failed)
    return ActionAnswer(ok=failed == 0, message=message, text=text, items=items)
