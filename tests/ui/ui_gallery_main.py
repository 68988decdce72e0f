"""``make screenshots``: every customer screen, in one language at one size, saved to docs/screens/.

Reuses ``kiosk.ui.snapshots.run_snapshot_tour`` (the demo's screenshot path) over the test
controller, so each picture is the real app in a known state. Run once per size and language as
``python tests/ui/ui_gallery_main.py OUT_DIR --width W --height H --language zh_CN|en`` under Xvfb
with ``KIVY_NO_ARGS=1``; files are named ``<screen>-<W>x<H>-<language>.png``.

``GALLERY`` is the one table of screens: a screen added later is one row (its name, the steps
that bring it up from the previous row's state, the phase it shows in, and an optional condition).
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

from fake_controller import FakeController, enrolment_desk

from kiosk.core.checkout import (
    CancelTapped,
    Checkout,
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


def _nothing(c: FakeController, gate: threading.Event) -> Iterator[Step]:
    yield from ()


def _enrol(c: FakeController, gate: threading.Event) -> Iterator[Step]:
    yield Do(lambda: c.set_enrolment(enrolment_desk(c)), "first boot: not enrolled at HQ")


def _recovering(c: FakeController, gate: threading.Event) -> Iterator[Step]:
    yield Do(lambda: c.set_enrolment(None), "enrolled")
    yield Do(lambda: c.dispatch(RecoveryStarted()), "restart")


def _attract(c: FakeController, gate: threading.Event) -> Iterator[Step]:
    yield Do(lambda: c.dispatch(RecoveryFinished()), "nothing left open")


def _cart(c: FakeController, gate: threading.Event) -> Iterator[Step]:
    catalog = c.catalog()
    yield Do(lambda: c.dispatch(StartTapped()), "start")
    yield WaitFor(Phase.CART)
    for product in (catalog[0], catalog[0], catalog[min(4, len(catalog) - 1)]):
        yield Do(lambda p=product: c.dispatch(ProductTapped(p)), f"tap {product.sku}")


def _member(c: FakeController, gate: threading.Event) -> Iterator[Step]:
    from kivy.app import App

    yield Do(lambda: App.get_running_app().vm.open_member(), "the cart's member button")


def _cancel_confirm(c: FakeController, gate: threading.Event) -> Iterator[Step]:
    from kivy.app import App

    yield Do(lambda: App.get_running_app().vm.close_member(), "back to the cart")
    yield WaitFor(Phase.CART, lambda s: not s.member_screen)
    yield Do(lambda: App.get_running_app().vm.ask_cancel(), "cancel asks first")


def _pay(c: FakeController, gate: threading.Event) -> Iterator[Step]:
    from kivy.app import App

    yield Do(lambda: App.get_running_app().vm.keep_cart(), "keep shopping")
    yield Do(lambda: c.dispatch(PayTapped()), "pay")


def _password(c: FakeController, gate: threading.Event) -> Iterator[Step]:
    yield Do(lambda: c.hold_up_sample("wechat_password"), "a code that needs the password")


def _printing(c: FakeController, gate: threading.Event) -> Iterator[Step]:
    yield Do(gate.set, "the password is typed")


def _help(c: FakeController, gate: threading.Event) -> Iterator[Step]:
    yield Do(lambda: c.dispatch(CancelTapped()), "finish")
    yield WaitFor(Phase.ATTRACT)
    yield from _cart(c, gate)
    yield Do(lambda: c.dispatch(PayTapped()), "pay")
    yield WaitFor(Phase.PAYING)
    yield Do(lambda: c.hold_up_sample("wechat_unknown"), "a code the gateway never answers")


def _stage(stage: PayStage) -> Callable[[Checkout], bool]:
    return lambda s: s.pay_stage is stage


#: (name, steps from the previous row's state, phase it shows in, extra condition)
GALLERY: list[tuple[str, Prep, Phase, Callable[[Checkout], bool] | None]] = [
    ("enrol", _enrol, Phase.ATTRACT, None),
    ("recovering", _recovering, Phase.RECOVERING, None),
    ("attract", _attract, Phase.ATTRACT, None),
    ("cart", _cart, Phase.CART, lambda s: s.cart.item_count == 3),
    ("member", _member, Phase.CART, lambda s: s.member_screen),
    ("cancel-confirm", _cancel_confirm, Phase.CART, None),
    ("pay", _pay, Phase.PAYING, lambda s: s.order_id is not None),
    ("pay-password", _password, Phase.PAYING, _stage(PayStage.USER_PAYING)),
    ("printing", _printing, Phase.PRINTING, None),
    ("done", _nothing, Phase.DONE, None),
    ("pay-checking", _help, Phase.PAYING, _stage(PayStage.CHECKING)),
    ("help", _nothing, Phase.NEEDS_HELP, None),
]


#: the rows whose screen is not their phase's own (present.customer_screen)
SCREEN_OF = {"enrol": "enrol"}


def gallery(c: FakeController, gate: threading.Event, language: str, suffix: str) -> Iterator[Step]:
    yield Do(lambda: c.set_language(language), language)
    for name, prep, phase, until in GALLERY:
        yield from prep(c, gate)
        yield Shot(f"{name}-{suffix}", phase, settle_s=0.4, until=until, screen=SCREEN_OF.get(name))


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("out", type=Path)
    parser.add_argument("--width", type=int, default=1024)
    parser.add_argument("--height", type=int, default=600)
    parser.add_argument("--language", choices=("zh_CN", "en"), default="zh_CN")
    parser.add_argument("--timeout", type=float, default=240.0)
    args = parser.parse_args()
    gate = threading.Event()
    # slow enough that "checking your payment" and "printing" stay on screen for their pictures
    controller = FakeController(print_delay_s=1.5, answer_delay_s=1.0, password_gate=gate)
    controller.members_enabled = True  # the cart's member button, and the member screen it opens
    ui = UiSection(fullscreen=False, width=args.width, height=args.height)
    kiosk = KioskSection(store_name="便利店 Corner Shop", language=args.language)
    suffix = f"{args.width}x{args.height}-{args.language}"
    try:
        shots = run_snapshot_tour(
            controller,  # type: ignore[arg-type]
            ui,
            args.out,
            lambda c: gallery(controller, gate, args.language, suffix),
            timeout_s=args.timeout,
            kiosk_settings=kiosk,
        )
    except SnapshotTourIncomplete as exc:
        print(json.dumps({"error": str(exc)}, ensure_ascii=False))
        return 3
    finally:
        gate.set()
    print(json.dumps({"shots": [p.name for p in shots]}, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
