"""Child-process entry point of the UI smoke test: the real KioskApp, the FakeController, one tour.

Run as ``python tests/ui/ui_tour_main.py OUT_DIR [--script full|default] [--width W --height H]``
with ``KIVY_NO_ARGS=1``, ``KIVY_HOME`` and a ``DISPLAY`` (Xvfb). Prints one JSON line with the
shots and the screens visited; exit status 0 when the tour finished, 3 when it did not.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from fake_controller import FakeController

from kiosk.core.checkout import CancelTapped, Notice, PayTapped, Phase, ProductTapped, StartTapped
from kiosk.settings import KioskSection, UiSection
from kiosk.ui.snapshots import (
    Do,
    Shot,
    SnapshotTourIncomplete,
    Step,
    WaitFor,
    recovery_screen,
    run_snapshot_tour,
)


def full_tour(c: FakeController) -> Iterator[Step]:
    """Every screen, the printing state, English, and needs-help through an unanswered payment.

    The second customer starts after the first one left the kiosk in English: the kiosk must be
    back in its own language (zh_CN) for them.
    """
    catalog = c.catalog()
    yield from recovery_screen(c)
    yield Shot("attract", Phase.ATTRACT)
    yield Do(lambda: c.dispatch(StartTapped()), "start")
    yield Do(lambda: c.dispatch(ProductTapped(catalog[0])), "tap first")
    yield Do(lambda: c.dispatch(ProductTapped(catalog[0])), "tap first again")
    yield Do(lambda: c.dispatch(ProductTapped(catalog[4])), "tap another")
    yield Shot("cart", Phase.CART)
    yield Do(lambda: c.set_language("en"), "english")
    yield Shot("cart_en", Phase.CART, settle_s=0.3)
    yield Do(lambda: c.set_language("zh_CN"), "chinese")
    yield Do(lambda: c.dispatch(PayTapped()), "pay")
    yield Shot("pay", Phase.PAYING, settle_s=0.8)
    yield Do(lambda: c.hold_up_sample("wechat_declined"), "hold up code (declined)")
    yield Shot(
        "pay_declined", Phase.PAYING, settle_s=0.3, until=lambda s: s.notice is Notice.PAYMENT_DECLINED
    )
    yield Do(lambda: c.hold_up_sample("wechat_password"), "hold up code (password)")
    yield Shot("printing", Phase.PRINTING, settle_s=0.3)
    yield Shot("done", Phase.DONE, settle_s=0.6)
    yield Do(lambda: c.set_language("en"), "english")
    yield Do(lambda: c.dispatch(CancelTapped()), "finish")
    yield WaitFor(Phase.ATTRACT)
    yield Do(lambda: c.dispatch(StartTapped()), "start")
    yield Do(lambda: c.dispatch(ProductTapped(catalog[1])), "tap")
    yield Do(lambda: c.dispatch(PayTapped()), "pay")
    yield WaitFor(Phase.PAYING)
    yield Do(lambda: c.hold_up_sample("wechat_unknown"), "hold up code (no answer)")
    yield Shot("help", Phase.NEEDS_HELP, settle_s=0.5)


def receipt_qr_tour(c: FakeController) -> Iterator[Step]:
    """A paid sale whose receipt does not print: the done screen shows the e-receipt QR (the paid
    customer is not held at the help screen for a piece of paper)."""
    yield Shot("attract", Phase.ATTRACT)
    yield Do(lambda: c.dispatch(StartTapped()), "start")
    yield Do(lambda: c.dispatch(ProductTapped(c.catalog()[0])), "tap first")
    yield Do(lambda: c.dispatch(PayTapped()), "pay")
    yield WaitFor(Phase.PAYING)
    yield Do(lambda: c.hold_up_sample("wechat_ok"), "hold up code")
    yield Shot("done_qr", Phase.DONE, settle_s=0.6)


def stuck_tour(c: FakeController) -> Iterator[Step]:
    """Waits for a done screen that can never come (nothing is bought): must hit the time limit."""
    yield Shot("attract", Phase.ATTRACT)
    yield WaitFor(Phase.DONE)
    yield Shot("done", Phase.DONE)


def slow_tour(_c: FakeController) -> Iterator[Step]:
    """Four steps of 1.5 s each under a 4 s limit: a tour that takes longer than its limit in all,
    as on a loaded machine, but never stalls, must finish."""
    for i in range(4):
        began: list[float] = []
        yield Do(lambda began=began: began.append(time.monotonic()), f"step {i}")
        yield WaitFor(None, until=lambda _state, began=began: time.monotonic() - began[0] >= 1.5)
    yield Shot("attract", Phase.ATTRACT)


#: bounds one step of a tour that cannot go on, nothing more (see ui_maint_main.SCRIPT_LIMIT_S)
SCRIPT_LIMIT_S = 120.0


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("out", type=Path)
    parser.add_argument(
        "--script", choices=("full", "default", "stuck", "slow", "receipt_qr"), default="full"
    )
    parser.add_argument("--width", type=int, default=1024)
    parser.add_argument("--height", type=int, default=600)
    parser.add_argument("--timeout", type=float, default=SCRIPT_LIMIT_S)
    args = parser.parse_args()
    # the full tour photographs the "printing" state, so the fake printer takes its time
    controller = FakeController(
        print_delay_s=1.5 if args.script == "full" else 0.0,
        receipt_base="https://hq.example.com" if args.script == "receipt_qr" else None,
        print_fails=args.script == "receipt_qr",
    )
    ui = UiSection(fullscreen=False, width=args.width, height=args.height)
    kiosk = KioskSection(store_name="便利店 Corner Shop")
    scripts = {"full": full_tour, "default": None, "stuck": stuck_tour, "slow": slow_tour}
    script = (scripts | {"receipt_qr": receipt_qr_tour})[args.script]
    timeout = {"stuck": 8.0, "slow": 4.0}.get(args.script, args.timeout)
    result: dict[str, object] = {}
    try:
        shots = run_snapshot_tour(controller, ui, args.out, script, timeout_s=timeout, kiosk_settings=kiosk)  # type: ignore[arg-type]
        status = 0
    except SnapshotTourIncomplete as exc:
        shots, status = exc.taken, 3
        result["error"] = str(exc)
    result["shots"] = [str(p) for p in shots]
    result["notify_threads"] = sorted(set(controller.notify_threads))
    result["receipt_url"] = controller.current_receipt_url()
    print(json.dumps(result, ensure_ascii=False))
    return status


if __name__ == "__main__":
    sys.exit(main())
