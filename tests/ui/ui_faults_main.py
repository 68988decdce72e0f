"""Child-process entry point of the fault screens' UI test: the real KioskApp, the FakeController, and
a customer's fingers (touch events through Kivy's input, with ``ui_maint_main.py``'s runner).

Run as ``python tests/ui/ui_faults_main.py OUT_DIR [--width W --height H]`` with ``KIVY_NO_ARGS=1``,
``KIVY_HOME`` and a ``DISPLAY`` (Xvfb). Prints one JSON line: what the script saw (``obs``) and a
failure, if any. The faults are made to happen on the fake controller as the real one reports them
(HQ unreachable, printer not ready, paper out mid-sale, the camera stopping, the kiosk out of service,
a restart that found an unfinished payment); everything the customer does is a touch.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from fake_controller import FakeController
from ui_maint_main import (
    QUIET_FRAMES,
    SCRIPT_LIMIT_S,
    Do,
    Fingers,
    Frames,
    Release,
    Shot,
    Step,
    Tap,
    Until,
    run_script,
)

from kiosk.core import checkout as co
from kiosk.core.availability import OutOfService
from kiosk.i18n import t
from kiosk.settings import KioskSection, UiSection
from kiosk.ui.kivy_config import configure_kivy

LANGS = ("zh_CN", "en")


def _root_widgets(f: Fingers) -> list[Any]:
    """The screen showing, and any dialog open over it (a ModalView sits on the window, not the screen)."""
    from kivy.core.window import Window
    from kivy.uix.modalview import ModalView

    return [f.screen, *(w for w in Window.children if isinstance(w, ModalView))]


def _labels(f: Fingers) -> list[Any]:
    """The labels a customer can see: shown, with text, not scrolled out of a list (tiles further
    down the catalog are off the window on purpose)."""
    from kivy.uix.label import Label

    from kiosk.ui.widgets import KButton

    found = []
    for root in _root_widgets(f):
        for w in root.walk(restrict=True):
            if not isinstance(w, Label) or not w.text.strip() or w.get_root_window() is None:
                continue
            if w.opacity <= 0 or w.height <= 0 or w.width <= 0 or _hidden(w) or not f.visible(w):
                continue
            if isinstance(w, KButton) and w.text in ("中文", "EN"):
                continue
            found.append(w)
    return found


def _hidden(w: Any) -> bool:
    """Not drawn (a parent faded out or folded away), or a catalog list's row: the product grid and the
    cart list are the cart screen's own (tests/ui/ui_cart_main.py), not a fault screen's."""
    parent = w.parent
    while parent is not None and parent is not parent.parent:
        if getattr(parent, "opacity", 1) <= 0 or getattr(parent, "height", 1) <= 0:
            return True
        if type(parent).__name__ == "RecycleView":
            return True
        parent = parent.parent
    return False


def _fits(label: Any) -> dict[str, Any]:
    """Whether a label shows all its text: its texture within its box, no line dropped or shortened,
    and the box on the window."""
    tw, th = label.texture_size
    lines = getattr(label._label, "_cached_lines", [])
    drawn = "".join(word.text for line in lines for word in line.words)
    wanted = "".join(label.text.split())
    x, y = label.to_window(label.x, label.y)
    win = label.get_root_window()
    return {
        "text": label.text,
        "fits": tw <= label.width + 0.5 and th <= label.height + 0.5,
        "whole": "".join(drawn.split()) == wanted,
        "on_screen": x >= -0.5
        and y >= -0.5
        and x + label.width <= win.width + 0.5
        and y + label.height <= win.height + 0.5,
    }


def _texts(f: Fingers) -> list[str]:
    return [w.text for w in _labels(f)]


def _unfit(f: Fingers) -> list[dict[str, Any]]:
    rows = [_fits(w) for w in _labels(f)]
    return [r for r in rows if not (r["fits"] and r["whole"] and r["on_screen"])]


def _button(f: Fingers, *texts: str) -> Any:
    from kiosk.ui.widgets import KButton

    for root in reversed(_root_widgets(f)):  # a dialog over the screen first
        for w in root.walk(restrict=True):
            if (
                isinstance(w, KButton)
                and w.text in texts
                and not w.disabled
                and w.opacity > 0
                and f.visible(w)
            ):
                return w
    return None


def _tile(f: Fingers) -> Any:
    from kiosk.ui.widgets import ProductTile

    return next(
        (w for w in f.screen.walk(restrict=True) if isinstance(w, ProductTile) and w.sku and f.visible(w)),
        None,
    )


def _pay_button(f: Fingers) -> Any:
    from kiosk.ui.widgets import PrimaryButton

    return next(
        (w for w in f.screen.walk(restrict=True) if isinstance(w, PrimaryButton) and not w.disabled), None
    )


def _look(f: Fingers, obs: dict[str, Any], name: str, touch: bool = True) -> Iterator[Step]:
    """In each language (switched by touching the toggle; under a modal dialog, which takes every
    touch, through the view-model): what the screen says, and what does not fit."""
    for lang in LANGS:
        name_of_lang = "EN" if lang == "en" else "中文"
        if touch:
            yield Tap(lambda text=name_of_lang: _toggle(f, text), f"{lang} toggle")
        else:
            yield Do(lambda lang=lang: f.app.vm.set_language(lang), lang)
        yield Until(lambda lang=lang: f.app.vm.language == lang, f"in {lang}")
        yield Frames(QUIET_FRAMES, "frames")
        yield Do(
            lambda lang=lang: obs.__setitem__(
                f"{name}_{lang}", {"screen": f.app.sm.current, "texts": _texts(f), "unfit": _unfit(f)}
            ),
            "note",
        )
        yield Shot(f"{name}_{lang}")


def _toggle(f: Fingers, text: str) -> Any:
    """The language toggle's button (it is a KButton on every customer screen)."""
    from kiosk.ui.widgets import KButton

    for w in f.screen.walk(restrict=True):
        if isinstance(w, KButton) and w.text == text and w.opacity > 0:
            return w
    return None


def _start(f: Fingers) -> tuple[float, float]:
    screen = f.app.sm.get_screen(f.app.sm.current)
    return (screen.center_x, screen.y + screen.height * 0.4)


def faults(f: Fingers, c: FakeController, obs: dict[str, Any]) -> Iterator[Step]:
    # --- offline: the calm line on the attract and cart screens, gone when HQ answers ---------------
    yield Until(lambda: f.showing("attract"), "attract")
    yield Do(lambda: c.set_hq_offline(True), "HQ unreachable")
    yield from _look(f, obs, "attract_offline")
    yield Tap(lambda: _start(f), "start")
    yield Until(lambda: f.showing("cart"), "cart")
    yield from _look(f, obs, "cart_offline")
    yield Do(lambda: c.set_hq_offline(False), "HQ answers again")
    yield Frames(QUIET_FRAMES, "frames")
    yield Do(lambda: obs.__setitem__("cart_online_texts", _texts(f)), "note")
    # --- the printer is not ready: the e-receipt is offered; cancel keeps the cart ---------------------
    yield Tap(lambda: _tile(f), "a product")
    yield Until(lambda: c.state.cart.item_count == 1, "in the cart")
    yield Tap(lambda: _pay_button(f), "pay")
    yield Until(lambda: f.app.printer_offer.showing, "the printer offer")
    yield from _look(f, obs, "printer_offer", touch=False)
    yield Tap(lambda: _button(f, *(t("printer_offer.cancel", lang) for lang in LANGS)), "cancel")
    yield Until(lambda: not f.app.printer_offer.showing, "offer gone")
    yield Do(
        lambda: obs.__setitem__("after_offer_cancel", [c.state.phase.value, c.state.cart.item_count]), "note"
    )
    yield Tap(lambda: _pay_button(f), "pay again")
    yield Until(lambda: f.app.printer_offer.showing, "the printer offer again")
    yield Tap(lambda: _button(f, *(t("printer_offer.go", lang) for lang in LANGS)), "continue to pay")
    yield Until(lambda: f.showing("pay") and c.state.order_id is not None, "pay screen")
    # --- paid, paper out: the done screen with the e-receipt QR --------------------------------------
    yield Do(lambda: c.hold_up_sample("wechat_ok"), "hold up a code")
    yield Until(lambda: f.showing("done"), "done")
    yield Do(
        lambda: obs.__setitem__(
            "done_panel", [f.screen.panel, bool(f.app.vm.receipt_url), c.state.notice.value]
        ),
        "note",
    )
    yield from _look(f, obs, "done_e_receipt")
    yield Tap(lambda: _button(f, *(t("done.back", lang) for lang in LANGS)), "done button")
    yield Until(lambda: f.showing("attract"), "attract")
    # --- the camera stops on the pay screen: the camera fault screen, the order cancelled -------------
    yield Do(lambda: setattr(c, "printer_ready", True), "paper refilled")
    yield Tap(lambda: _start(f), "start")
    yield Until(lambda: f.showing("cart"), "cart")
    yield Tap(lambda: _tile(f), "a product")
    yield Until(lambda: c.state.cart.item_count == 1, "in the cart")
    yield Tap(lambda: _pay_button(f), "pay")
    yield Until(lambda: f.showing("pay") and c.state.order_id is not None, "pay screen")
    yield Do(lambda: obs.__setitem__("camera_order", c.state.order_id), "note")
    yield Do(lambda: c.fail_camera("camera: no frames for 2 s"), "the camera stops")
    yield Until(lambda: f.showing("help"), "the camera fault screen")
    yield Do(
        lambda: obs.__setitem__(
            "camera_effects", [type(e).__name__ for e in c.effects[-3:]] + [str(c.effects[-2])]
        ),
        "note",
    )
    yield from _look(f, obs, "camera_fault")
    yield Do(lambda: c.dispatch(co.StaffResolved()), "staff resolve it")
    yield Until(lambda: f.showing("cart"), "back in the cart")
    yield Do(lambda: obs.__setitem__("after_camera", [c.state.phase.value, c.state.cart.item_count]), "note")
    yield Do(lambda: c.dispatch(co.CancelTapped()), "the sale is given up")
    yield Until(lambda: f.showing("attract"), "attract")
    # --- out of service: another checkout, please; a touch starts nothing; back by itself -----------
    yield Do(lambda: c.set_out_of_service(OutOfService.STORE_NOT_WRITABLE), "the store refuses writes")
    yield Until(lambda: f.showing("out_of_service"), "out of service")
    yield from _look(f, obs, "out_of_service")
    yield Tap(lambda: _start(f), "a customer touches it")
    yield Frames(QUIET_FRAMES, "frames")
    yield Do(lambda: obs.__setitem__("oos_after_touch", [f.app.sm.current, c.state.phase.value]), "note")
    # staff still reach maintenance mode: the hidden corner, held 2 s on an injected clock
    clock = [1000.0]
    oos = f.app.sm.get_screen("out_of_service")
    yield Do(lambda: setattr(oos, "clock", lambda: clock[0]), "the corner's clock")
    yield Tap(lambda: (oos.x + 20, oos.top - 20), "corner", hold=True)
    yield Do(lambda: clock.__setitem__(0, clock[0] + 2.0), "2 s pass")
    yield Until(lambda: f.showing("pin"), "the PIN pad, from the out-of-service screen")
    yield Release()
    yield Do(lambda: obs.__setitem__("oos_corner", f.app.sm.current), "note")
    yield Do(lambda: f.app.leave_maintenance(), "staff go back")
    yield Until(lambda: f.showing("out_of_service"), "out of service again")
    yield Do(lambda: c.set_out_of_service(None), "the reason clears")
    yield Until(lambda: f.showing("attract"), "back in service")
    # --- a kiosk whose clock network time has not set yet: out of service until it has ---------------
    yield Do(lambda: c.set_out_of_service(OutOfService.CLOCK_NOT_SYNCED), "booted, no network time yet")
    yield Until(lambda: f.showing("out_of_service"), "out of service: the clock")
    yield from _look(f, obs, "out_of_service_clock")
    yield Tap(lambda: _start(f), "a customer touches it")
    yield Frames(QUIET_FRAMES, "frames")
    yield Do(lambda: obs.__setitem__("clock_after_touch", [f.app.sm.current, c.state.phase.value]), "note")
    yield Do(lambda: c.set_out_of_service(None), "network time sets the clock")
    yield Until(lambda: f.showing("attract"), "selling by itself")
    yield Do(lambda: obs.__setitem__("clock_synced", f.app.sm.current), "note")
    # --- a restart found an unfinished payment: "we are checking your last payment" -----------------
    yield Do(lambda: c.dispatch(co.RecoveryStarted()), "recovery starts")
    yield Until(lambda: f.showing("recovering"), "recovering")
    yield from _look(f, obs, "recovering")
    yield Tap(lambda: _start(f), "a customer touches it")
    yield Frames(QUIET_FRAMES, "frames")
    yield Do(lambda: obs.__setitem__("recovering_after_touch", c.state.phase.value), "note")
    yield Do(lambda: c.dispatch(co.RecoveryFinished()), "recovery done")
    yield Until(lambda: f.showing("attract"), "selling again")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("out", type=Path)
    parser.add_argument("--width", type=int, default=800)
    parser.add_argument("--height", type=int, default=480)
    parser.add_argument("--timeout", type=float, default=SCRIPT_LIMIT_S)
    args = parser.parse_args()
    ui = UiSection(fullscreen=False, width=args.width, height=args.height)
    configure_kivy(ui, fullscreen=False)
    from kiosk.ui.app import KioskApp

    controller = FakeController(
        answer_delay_s=0.05,
        printer_ready=False,
        print_fails=True,
        receipt_base="https://hq.example.com",
    )
    app = KioskApp(
        controller, ui, fullscreen=False, kiosk_settings=KioskSection(store_name="便利店 Corner Shop")
    )
    obs: dict[str, Any] = {}
    return run_script(
        app, args.out, args.timeout, lambda f: faults(f, controller, obs), report=lambda: {"obs": obs}
    )


if __name__ == "__main__":
    sys.exit(main())
