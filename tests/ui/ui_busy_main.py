"""Child-process entry point: the real KioskApp over the REAL controller (with its worker thread), whose
printer and gateway stall, driven by touch events (the runner of ``ui_maint_main``).

Proves, with Kivy's own clock and no sleeps, that (1) the spinner is showing at the first poll after
the tap that starts a wait, (2) Kivy keeps drawing frames while the printer's status query or the
charge is held (``Clock.frames`` counted while the edge says it is blocked), and (3) the spinner
goes once the answer is back. Each edge is released by the script only after those frames passed.

Run as ``python tests/ui/ui_busy_main.py OUT_DIR`` with ``KIVY_NO_ARGS=1``, ``KIVY_HOME``, ``DISPLAY``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ui_maint_main import SCRIPT_LIMIT_S, Do, Fingers, Frames, Peek, Step, Tap, Until, run_script

from drivers.gpio.indicators import NullIndicators
from kiosk.controller import CheckoutController, ControllerOptions
from kiosk.core.receipt import ReceiptTemplate
from kiosk.ports import CatalogItem, Decoded
from kiosk.settings import KioskSection, UiSection
from kiosk.store.db import open_store
from kiosk.store.sales import SaleStore
from kiosk.ui.kivy_config import configure_kivy
from tests.fakes.stalls import Stall, StallingGateway, StallingPrinter

WX = "134567890123456789"
FRAMES_WHILE_HELD = 5


def build(work: Path, gateway_stall: Stall) -> tuple[CheckoutController, StallingPrinter]:
    store = SaleStore(open_store(work / "kiosk.sqlite3"), "kiosk-ui")
    store.replace_catalog([CatalogItem("W550", "农夫山泉 550ml", "Nongfu Spring 550ml", 200, None, "drinks")])
    printer = StallingPrinter(work / "receipts")
    holder: list[CheckoutController] = []

    def wake() -> None:
        from kivy.clock import Clock

        Clock.schedule_once(lambda _dt: holder[0].pump(), 0)

    holder.append(
        CheckoutController(
            options=ControllerOptions(kiosk_id="kiosk-ui", store_name="便利店 Corner Shop"),
            store=store,
            gateway=StallingGateway(gateway_stall),
            printer=printer,
            indicators=NullIndicators(),
            template=ReceiptTemplate.default(),
            wake=wake,
            background=True,
        )
    )
    return holder[0], printer


def _button(f: Fingers, id_: str) -> Any:
    w = f.screen.ids.get(id_)
    return w if w is not None and not w.disabled and f.visible(w) else None


def _start(f: Fingers) -> Any:
    for w in f.screen.walk(restrict=True):
        if type(w).__name__ == "PrimaryButton" and f.visible(w):
            return w
    return None


def script(
    f: Fingers, c: CheckoutController, printer: StallingPrinter, gateway_stall: Stall, obs: dict[str, Any]
) -> Iterator[Step]:
    from kivy.clock import Clock

    app = f.app
    counted: dict[str, int] = {}

    def seen(key: str) -> None:
        obs[key] = {"active": bool(app.spinner.active), "opacity": float(app.spinner.opacity)}

    def held(name: str, stall: Stall) -> Iterator[Step]:
        """Count Kivy frames drawn while ``stall`` holds its edge, then release it."""
        yield Until(stall.blocked.is_set, f"{name}: the edge says it is blocked")
        yield Peek(lambda: counted.__setitem__(name, Clock.frames), f"{name}: frames so far")
        yield Peek(lambda: seen(f"{name}_while_held"), f"{name}: spinner")
        yield Frames(FRAMES_WHILE_HELD, f"{name}: frames while held")
        yield Peek(
            lambda: obs.__setitem__(f"{name}_frames_while_held", Clock.frames - counted[name]),
            f"{name}: frames counted",
        )
        yield Peek(lambda: obs.__setitem__(f"{name}_released_by_script", True), f"{name}: release")
        yield Peek(stall.release.set, f"{name}: release")

    yield Until(lambda: f.showing("attract"), "attract")
    yield Peek(lambda: seen("idle"), "spinner at rest")
    yield Tap(lambda: _start(f), "tap start")
    yield Until(lambda: f.showing("cart"), "cart")
    yield Tap(lambda: next((w for w in f.screen.walk() if type(w).__name__ == "ProductTile"), None), "tile")
    yield Until(lambda: not c.state.cart.is_empty, "in the cart")
    printer_stall = Stall()
    yield Do(lambda: setattr(printer, "stall", printer_stall), "the printer stops answering")
    yield Tap(lambda: _button(f, "pay"), "tap pay")
    yield Peek(lambda: seen("first_poll_after_pay"), "spinner after the tap")
    yield from held("printer", printer_stall)
    yield Until(lambda: f.showing("pay") and c.state.order_id is not None, "pay screen")
    yield Until(lambda: not app.spinner.active, "spinner gone once the order is open")
    yield Peek(lambda: seen("waiting_for_the_customer"), "spinner on the pay screen")
    yield Peek(lambda: c.handle_codes([Decoded("QRCode", WX)]), "the camera reads a payment code")
    yield Peek(lambda: seen("first_poll_after_code"), "spinner after the code")
    yield from held("gateway", gateway_stall)
    yield Until(lambda: f.showing("done"), "done")
    yield Until(lambda: not app.spinner.active, "spinner gone when done")
    yield Peek(lambda: seen("done"), "spinner at the end")
    obs["held_to_bound"] = printer_stall.held_to_bound or gateway_stall.held_to_bound


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("out", type=Path)
    parser.add_argument("--timeout", type=float, default=SCRIPT_LIMIT_S)
    args = parser.parse_args()
    ui = UiSection(fullscreen=False, width=1024, height=600)
    configure_kivy(ui, fullscreen=False)
    from kiosk.ui.app import KioskApp

    gateway_stall = Stall()
    obs: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as work:
        controller, printer = build(Path(work), gateway_stall)
        app = KioskApp(controller, ui, fullscreen=False, kiosk_settings=KioskSection(store_name="便利店"))
        try:
            return run_script(
                app,
                args.out,
                args.timeout,
                lambda f: script(f, controller, printer, gateway_stall, obs),
                report=lambda: {"obs": obs},
            )
        finally:
            gateway_stall.release.set()
            if printer.stall is not None:
                printer.stall.release.set()
            controller.close(2.0)


if __name__ == "__main__":
    sys.exit(main())
