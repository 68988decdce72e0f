"""Child-process entry point of the diagnostics panel's UI test: the real KioskApp, the
FakeController (plausible diagnostics answers, a camera frame while the view is open), and an IT
member's fingers through Kivy's input, with the maintenance scripts' Runner and Fingers.

Run as ``python tests/ui/ui_diag_main.py OUT_DIR`` with ``KIVY_NO_ARGS=1``, ``KIVY_HOME`` and a
``DISPLAY`` (Xvfb). Prints one JSON line: what the script observed (``obs``) and a failure, if any.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from fake_controller import FakeController
from ui_maint_main import SCRIPT_LIMIT_S, Do, Fingers, Shot, Step, Tap, Until, run_script, sign_in

from kiosk.settings import KioskSection, UiSection
from kiosk.ui.kivy_config import configure_kivy


def _text(f: Fingers, tag: str) -> str:
    for w in f.screen.walk(restrict=True):
        if getattr(w, "tag", None) == tag:
            return str(w.text)
    return ""


def _scroll_to(f: Fingers, tag: str) -> None:
    """Scroll the menu (a ScrollView) until the button ``tag`` is on screen, as a finger would."""
    from kivy.uix.scrollview import ScrollView

    for w in f.screen.walk(restrict=True):
        if getattr(w, "tag", None) == tag:
            parent = w.parent
            while parent is not None and not isinstance(parent, ScrollView):
                parent = parent.parent
            if parent is not None:
                parent.scroll_to(w, animate=False)
            return


def _has_picture(f: Fingers) -> bool:
    from kivy.uix.image import Image

    return any(isinstance(w, Image) and w.texture is not None for w in f.screen.walk(restrict=True))


def diag(f: Fingers, c: FakeController, obs: dict[str, Any], clock: list[float]) -> Iterator[Step]:
    yield from sign_in(f, clock, "333333")  # IT
    yield Do(lambda: _scroll_to(f, "action:diagnostics"), "scroll the menu")
    yield Tap(lambda: f.tagged("action:diagnostics"), "diagnostics")
    yield Until(lambda: _text(f, "diag:verdict:printer") == "正常", "checks shown")
    yield Do(
        lambda: obs.__setitem__(
            "verdicts", {tag.split(":")[2]: _text(f, tag) for tag in f.tags("diag:verdict:")}
        ),
        "note",
    )
    yield Do(lambda: obs.__setitem__("buttons", f.tags("diag:")), "note")
    yield Shot("diag_rows")
    # the test page and the LED and buzzer buttons
    yield Tap(lambda: f.tagged("diag:test_page"), "test page")
    yield Until(lambda: ("test_page", "TEST PAGE") in c.printed, "test page printed")
    yield Until(lambda: "测试页" in _text(f, "diag:text:printer"), "printer row says so")
    yield Tap(lambda: f.tagged("diag:gpio_led"), "LED")
    yield Until(lambda: c.diag_led_on, "LED blinking")
    yield Until(lambda: "LED blinking" in _text(f, "diag:text:gpio"), "gpio row says so")
    yield Tap(lambda: f.tagged("diag:gpio_buzzer"), "buzzer")
    yield Until(lambda: c.diag_beeps == 1, "beeped")
    # the camera view: on while open, the picture, the figures update
    yield Do(lambda: obs.__setitem__("camera_before", c.diag_camera_on), "note")
    yield Tap(lambda: f.tagged("diag:camera_on"), "camera view")
    yield Until(lambda: c.diag_camera_on and f.tagged("diag:camera_off") is not None, "view open")
    yield Until(lambda: _has_picture(f), "a picture")
    yield Until(lambda: c.diag_frames >= 15 and "read 15" in _text(f, "diag:stats"), "first figures")
    yield Do(lambda: obs.__setitem__("stats_first", _text(f, "diag:stats")), "note")
    yield Until(lambda: c.diag_frames >= 30 and "read 30" in _text(f, "diag:stats"), "figures update")
    yield Do(lambda: obs.__setitem__("stats_later", _text(f, "diag:stats")), "note")
    yield Shot("diag_camera")
    yield Tap(lambda: f.tagged("diag:camera_off"), "close view")
    yield Until(lambda: not c.diag_camera_on and f.tagged("diag:run_all") is not None, "view closed")
    # the test charge: two presses, "show a payment code" over the picture, the outcome in its row
    yield Do(lambda: _scroll_to(f, "diag:charge_start"), "scroll to the test charge")
    yield Tap(lambda: f.tagged("diag:charge_start"), "test charge (arm)")
    yield Do(lambda: obs.__setitem__("charge_waiting_after_one_press", c.diag_charge_waiting), "note")
    yield Tap(lambda: f.tagged("diag:charge_start"), "test charge (confirm)")
    yield Until(lambda: f.tagged("diag:charge_cancel") is not None, "waiting for a code")
    yield Until(lambda: _has_picture(f), "the picture while waiting")
    yield Do(lambda: obs.__setitem__("charge_prompt", _text(f, "diag:stats")), "note")
    yield Do(lambda: setattr(c, "diag_code_shown", True), "staff show their phone")
    yield Until(lambda: _text(f, "diag:verdict:charge") == "正常", "charge outcome in its row")
    yield Do(lambda: obs.__setitem__("charges", c.diag_charges), "note")
    yield Do(lambda: obs.__setitem__("camera_after_charge", c.diag_camera_on), "note")
    # open again and leave by choosing another action: the camera goes off
    yield Tap(lambda: f.tagged("diag:camera_on"), "camera view again")
    yield Until(lambda: c.diag_camera_on, "view open again")
    yield Do(lambda: _scroll_to(f, "tasks"), "scroll the menu")
    yield Tap(lambda: f.tagged("tasks"), "tasks")
    yield Until(lambda: not c.diag_camera_on, "camera off after leaving the panel")
    yield Do(lambda: obs.__setitem__("led_after_leaving", c.diag_led_on), "note")
    # run all again, then the lock with the camera view open: the camera goes off with the session
    yield Do(lambda: _scroll_to(f, "action:diagnostics"), "scroll the menu")
    yield Tap(lambda: f.tagged("action:diagnostics"), "diagnostics again")
    yield Until(lambda: _text(f, "diag:verdict:hq") == "正常", "checks shown again")
    yield Do(lambda: obs.__setitem__("runs_before", _count(c, "all")), "note")
    yield Tap(lambda: f.tagged("diag:run_all"), "run all again")
    yield Until(lambda: _count(c, "all") == obs["runs_before"] + 1, "ran again")
    yield Tap(lambda: f.tagged("diag:camera_on"), "camera view once more")
    yield Until(lambda: c.diag_camera_on, "view open once more")
    yield Tap(lambda: f.tagged("lock"), "lock")
    yield Until(lambda: f.showing("attract"), "attract")
    yield Do(lambda: obs.__setitem__("camera_after_lock", c.diag_camera_on), "note")
    yield Do(lambda: obs.__setitem__("session_after_lock", c.maintenance_session()), "note")
    yield Do(
        lambda: obs.__setitem__("checks", [a.get("check") for n, a in c.maint_calls if n == "diagnostics"]),
        "note",
    )


def _count(c: FakeController, check: str) -> int:
    return sum(1 for n, a in c.maint_calls if n == "diagnostics" and a.get("check") == check)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("out", type=Path)
    parser.add_argument("--timeout", type=float, default=SCRIPT_LIMIT_S)
    args = parser.parse_args()
    ui = UiSection(fullscreen=False, width=1024, height=600)
    configure_kivy(ui, fullscreen=False)
    from kiosk.ui.app import KioskApp

    controller = FakeController(answer_delay_s=0.05)
    controller.hold_up_sample("wechat_ok")  # what the camera sees while the view is open
    app = KioskApp(
        controller, ui, fullscreen=False, kiosk_settings=KioskSection(store_name="便利店 Corner Shop")
    )
    obs: dict[str, Any] = {}
    clock = [1000.0]
    return run_script(
        app,
        args.out,
        args.timeout,
        lambda f: diag(f, controller, obs, clock),
        clock=clock,
        report=lambda: {"obs": obs},
    )


if __name__ == "__main__":
    sys.exit(main())
