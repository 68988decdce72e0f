"""``make screenshots``: every customer screen, in one language at one size, saved to docs/screens/.

Reuses ``kiosk.ui.snapshots.run_snapshot_tour`` (the demo's screenshot path) over the test
controller, so each picture is the real app in a known state. Run once per size and language as
``python tests/ui/ui_gallery_main.py OUT_DIR --width W --height H --language zh_CN|en`` under Xvfb
with ``KIVY_NO_ARGS=1``; files are named ``<screen>-<W>x<H>-<language>.png``.

``GALLERY`` is the one table of screens: a screen added later is one row (its name, the steps
that bring it up from the previous row's state, the phase it shows in, an optional condition, and
the screen's name when it is not the phase's own: out of service, the PIN pad, the staff menu).
Faults (HQ offline, the printer out, the camera failing, the store unwritable) are made the way the
fake controller reports them to the screens, as the fault tests make them.

Nothing is shot while it moves: the cart is shot once the "+1" toast of the last add has played to
its end (``AddedToast.finished_for``, set by the animation's completion) and the tile's flash is
over, never after a guessed wait.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from fake_controller import FakeController, enrolment_desk

from kiosk.core.availability import OutOfService
from kiosk.core.checkout import (
    CancelTapped,
    Checkout,
    IdleAsked,
    PayStage,
    PayTapped,
    Phase,
    ProductTapped,
    RecoveryFinished,
    RecoveryStarted,
    StartTapped,
)
from kiosk.settings import KioskSection, UiSection
from kiosk.ui.snapshots import Do, Shot, SnapshotTourIncomplete, Step, WaitFor, run_snapshot_tour

Prep = Callable[[FakeController, threading.Event], Iterator[Step]]


def _app() -> Any:
    from kivy.app import App

    return App.get_running_app()


def _toast_done() -> bool:
    """The last add's "+1" toast has played to its end and the tile's flash is over."""
    app = _app()
    toast = app.sm.get_screen("cart").ids.added_toast
    return bool(toast.finished_for == app.vm.added_count > 0 and toast.shown == 0 and not app.vm.flash_sku)


def _enrol(c: FakeController, gate: threading.Event) -> Iterator[Step]:
    yield Do(lambda: c.set_enrolment(enrolment_desk(c)), "first boot: not enrolled at HQ")


def _recovering(c: FakeController, gate: threading.Event) -> Iterator[Step]:
    yield Do(lambda: c.set_enrolment(None), "enrolled")
    yield Do(lambda: c.dispatch(RecoveryStarted()), "restart")


def _attract(c: FakeController, gate: threading.Event) -> Iterator[Step]:
    yield Do(lambda: c.dispatch(RecoveryFinished()), "nothing left open")


def _offline(c: FakeController, gate: threading.Event) -> Iterator[Step]:
    yield Do(lambda: c.set_hq_offline(True), "HQ cannot be reached")


def _taps(c: FakeController) -> Iterator[Step]:
    catalog = c.catalog()
    yield Do(lambda: c.dispatch(StartTapped()), "start")
    yield WaitFor(Phase.CART)
    for product in (catalog[0], catalog[0], catalog[min(4, len(catalog) - 1)]):
        yield Do(lambda p=product: c.dispatch(ProductTapped(p)), f"tap {product.sku}")


def _cart(c: FakeController, gate: threading.Event) -> Iterator[Step]:
    yield Do(lambda: c.set_hq_offline(False), "HQ is back")
    yield from _taps(c)


def _cart_settled(s: Checkout) -> bool:
    return s.cart.item_count == 3 and _toast_done()


def _note_toast(obs: dict[str, Any]) -> Callable[[], None]:
    def note() -> None:
        app = _app()
        toast = app.sm.get_screen("cart").ids.added_toast
        obs["cart_toast"] = {
            "shown": float(toast.shown),
            "finished_for": int(toast.finished_for),
            "added_count": int(app.vm.added_count),
            "flash_sku": app.vm.flash_sku,
        }

    return note


def _search(c: FakeController, gate: threading.Event) -> Iterator[Step]:
    yield Do(lambda: _app().vm.open_search(), "search")
    for key in "CO":
        yield Do(lambda k=key: _app().vm.press_key(k), f"type {key}")


def _detail(c: FakeController, gate: threading.Event) -> Iterator[Step]:
    sku = c.catalog()[min(5, len(c.catalog()) - 1)].sku
    yield Do(lambda: _app().vm.close_search(), "close the search")
    yield Do(lambda: _app().vm.open_detail(sku), f"info on {sku}")


def _still_there(c: FakeController, gate: threading.Event) -> Iterator[Step]:
    yield Do(lambda: _app().vm.close_detail(), "close the detail")
    # what the idle timer sends after a quiet minute (the timer's own run is tested in the cart tests)
    yield Do(lambda: c.dispatch(IdleAsked(20)), "nobody touched the cart")


def _member(c: FakeController, gate: threading.Event) -> Iterator[Step]:
    yield Do(lambda: _app().vm.still_here(), "still here")
    yield WaitFor(Phase.CART, until=lambda s: not s.still_there_s)
    yield Do(lambda: _app().vm.open_member(), "the cart's member button")


def _cancel_confirm(c: FakeController, gate: threading.Event) -> Iterator[Step]:
    yield Do(lambda: _app().vm.close_member(), "back to the cart")
    yield WaitFor(Phase.CART, until=lambda s: not s.member_screen)
    yield Do(lambda: _app().vm.ask_cancel(), "cancel asks first")


def _pay(c: FakeController, gate: threading.Event) -> Iterator[Step]:
    yield Do(lambda: _app().vm.keep_cart(), "keep shopping")
    yield Do(lambda: c.dispatch(PayTapped()), "pay")


def _password(c: FakeController, gate: threading.Event) -> Iterator[Step]:
    yield Do(lambda: c.hold_up_sample("wechat_password"), "a code that needs the password")


def _printing(c: FakeController, gate: threading.Event) -> Iterator[Step]:
    yield Do(gate.set, "the password is typed")


def _printed(c: FakeController, gate: threading.Event) -> Iterator[Step]:
    yield Do(_open_gate(c.print_gate), "the receipt is printed")


def _unresolved(c: FakeController, gate: threading.Event) -> Iterator[Step]:
    yield Do(_open_gate(c.unresolved_gate), "the gateway never answered")


def _open_gate(gate: threading.Event | None) -> Callable[[], None]:
    if gate is None:
        raise ValueError("the gallery's controller holds printing and unanswered payments at gates")
    return gate.set


def _printer_offer(c: FakeController, gate: threading.Event) -> Iterator[Step]:
    def printer_out() -> None:
        c.printer_ready = False  # asked before paying: out of paper
        c.print_fails = True
        c.receipt_base = "https://hq.example.cn"  # an enrolled kiosk: HQ serves the e-receipt

    yield Do(lambda: c.dispatch(CancelTapped()), "finish")
    yield WaitFor(Phase.ATTRACT)
    yield Do(printer_out, "the printer runs out of paper")
    yield from _taps(c)
    yield Do(lambda: c.dispatch(PayTapped()), "pay")


def _e_receipt(c: FakeController, gate: threading.Event) -> Iterator[Step]:
    yield Do(lambda: _app().vm.answer_printer_offer(True), "pay and take the e-receipt")
    yield WaitFor(Phase.PAYING, until=lambda s: s.order_id is not None)
    yield Do(lambda: c.hold_up_sample("wechat_ok"), "a code that pays at once")


def _help(c: FakeController, gate: threading.Event) -> Iterator[Step]:
    def printer_back() -> None:
        c.printer_ready, c.print_fails, c.receipt_base = True, False, None

    yield Do(lambda: c.dispatch(CancelTapped()), "finish")
    yield WaitFor(Phase.ATTRACT)
    yield Do(printer_back, "paper refilled")
    yield from _taps(c)
    yield Do(lambda: c.dispatch(PayTapped()), "pay")
    yield WaitFor(Phase.PAYING, until=lambda s: s.order_id is not None)
    yield Do(lambda: c.hold_up_sample("wechat_unknown"), "a code the gateway never answers")


def _camera_fault(c: FakeController, gate: threading.Event) -> Iterator[Step]:
    yield Do(lambda: _app().vm.resolve(), "staff resolved it")
    yield WaitFor(Phase.ATTRACT)
    yield from _taps(c)
    yield Do(lambda: c.dispatch(PayTapped()), "pay")
    yield WaitFor(Phase.PAYING, until=lambda s: s.order_id is not None)
    yield Do(lambda: c.fail_camera("camera: no frames for 2 s (/dev/kiosk-camera)"), "the camera stops")


def _out_of_service(c: FakeController, gate: threading.Event) -> Iterator[Step]:
    def camera_back() -> None:
        c.camera_fault = ""

    yield Do(camera_back, "camera replugged")
    yield Do(lambda: _app().vm.resolve(), "staff resolved it")
    # the cart was kept for after the camera fault: the customer leaves
    yield WaitFor(Phase.CART)
    yield Do(lambda: c.dispatch(CancelTapped()), "the customer leaves")
    yield WaitFor(Phase.ATTRACT)
    yield Do(lambda: c.set_out_of_service(OutOfService.STORE_NOT_WRITABLE), "the store cannot be written")


def _pin(c: FakeController, gate: threading.Event) -> Iterator[Step]:
    yield Do(lambda: _app().open_pin("menu"), "the hidden staff corner")


def _menu(c: FakeController, gate: threading.Event) -> Iterator[Step]:
    yield Do(lambda: c.maintenance_unlock_pin("222222"), "a manager's PIN")
    yield Do(lambda: _app().show_menu(), "the staff menu")


def _stage(stage: PayStage) -> Callable[[Checkout], bool]:
    return lambda s: s.pay_stage is stage


#: (name, steps from the previous row's state, phase it shows in, extra condition, screen if not
#: the phase's own)
GALLERY: list[tuple[str, Prep, Phase, Callable[[Checkout], bool] | None, str | None]] = [
    ("enrol", _enrol, Phase.ATTRACT, None, "enrol"),
    ("recovering", _recovering, Phase.RECOVERING, None, None),
    ("attract", _attract, Phase.ATTRACT, None, None),
    ("attract-offline", _offline, Phase.ATTRACT, None, None),
    ("cart", _cart, Phase.CART, _cart_settled, None),
    ("search", _search, Phase.CART, None, None),
    ("item-detail", _detail, Phase.CART, None, None),
    ("still-there", _still_there, Phase.CART, lambda s: bool(s.still_there_s), None),
    ("member", _member, Phase.CART, lambda s: s.member_screen, None),
    ("cancel-confirm", _cancel_confirm, Phase.CART, None, None),
    ("pay", _pay, Phase.PAYING, lambda s: s.order_id is not None, None),
    ("pay-password", _password, Phase.PAYING, _stage(PayStage.USER_PAYING), None),
    ("printing", _printing, Phase.PRINTING, None, None),
    ("done", _printed, Phase.DONE, None, None),
    ("printer-offer", _printer_offer, Phase.CART, lambda s: s.printer_offer and _toast_done(), None),
    ("done-e-receipt", _e_receipt, Phase.DONE, None, None),
    ("pay-checking", _help, Phase.PAYING, _stage(PayStage.CHECKING), None),
    ("help", _unresolved, Phase.NEEDS_HELP, None, None),
    ("help-camera", _camera_fault, Phase.NEEDS_HELP, None, None),
    ("out-of-service", _out_of_service, Phase.ATTRACT, None, "out_of_service"),
    ("pin-pad", _pin, Phase.ATTRACT, None, "pin"),
    ("maintenance-menu", _menu, Phase.ATTRACT, None, "maint"),
]


def gallery(
    c: FakeController, gate: threading.Event, language: str, suffix: str, obs: dict[str, Any]
) -> Iterator[Step]:
    yield Do(lambda: c.set_language(language), language)
    for name, prep, phase, until, screen in GALLERY:
        yield from prep(c, gate)
        yield Shot(f"{name}-{suffix}", phase, settle_s=0.4, until=until, screen=screen)
        if name == "cart":
            yield Do(_note_toast(obs), "what the toast was doing")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("out", type=Path)
    parser.add_argument("--width", type=int, default=1024)
    parser.add_argument("--height", type=int, default=600)
    parser.add_argument("--language", choices=("zh_CN", "en"), default="zh_CN")
    # the longest one screen may take to come up (run_snapshot_tour bounds each step, not the tour)
    parser.add_argument("--timeout", type=float, default=120.0)
    args = parser.parse_args()
    gate = threading.Event()
    # "the password is typed", "printed" and "no answer" wait for the script (gates), so the screens
    # before them stay up however slow the machine; the idle timers' clock never moves, so no
    # "still there?" or time-out takes a screen away (the still-there row asks for it itself)
    printed, unresolved = threading.Event(), threading.Event()
    controller = FakeController(
        answer_delay_s=1.0,
        password_gate=gate,
        print_gate=printed,
        unresolved_gate=unresolved,
        clock=lambda: 0.0,
    )
    controller.members_enabled = True  # the cart's member button, and the member screen it opens
    ui = UiSection(fullscreen=False, width=args.width, height=args.height)
    kiosk = KioskSection(store_name="便利店 Corner Shop", language=args.language)
    suffix = f"{args.width}x{args.height}-{args.language}"
    obs: dict[str, Any] = {}
    try:
        shots = run_snapshot_tour(
            controller,  # type: ignore[arg-type]
            ui,
            args.out,
            lambda c: gallery(controller, gate, args.language, suffix, obs),
            timeout_s=args.timeout,
            kiosk_settings=kiosk,
        )
    except SnapshotTourIncomplete as exc:
        print(json.dumps({"error": str(exc)}, ensure_ascii=False))
        return 3
    finally:
        gate.set()
        printed.set()
        unresolved.set()
    print(json.dumps({"shots": [p.name for p in shots], **obs}, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
