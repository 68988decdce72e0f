"""Child-process entry point: the real KioskApp driven by the real ``kiosk.controller.CheckoutController``.

The controller is built the way the kiosk builds it, with only the edges replaced: a SQLite
store in a temporary folder, the scripted ``FakePaymentGateway`` (network edge), receipts to a
folder (``FileReceiptPrinter``), no GPIO (``NullIndicators``), and work done on the calling
thread (``background=False``) so no pump is needed. The "camera" is the test: it hands the
controller a decoded payment code, as the scanner thread would.

Run as ``python tests/ui/ui_tour_real_main.py OUT_DIR`` with KIVY_NO_ARGS=1, KIVY_HOME, DISPLAY.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

from drivers.gpio.indicators import NullIndicators
from drivers.printer.file_printer import FileReceiptPrinter
from kiosk.controller import CheckoutController, ControllerOptions
from kiosk.core.checkout import PayTapped, Phase, ProductTapped, StartTapped
from kiosk.core.receipt import ReceiptTemplate
from kiosk.ports import CatalogItem, Decoded
from kiosk.settings import KioskSection, UiSection
from kiosk.store.db import open_store
from kiosk.store.sales import SaleStore
from kiosk.ui.snapshots import Do, Shot, SnapshotTourIncomplete, Step, WaitFor, run_snapshot_tour
from tests.fakes.payments import FakePaymentGateway

WECHAT_CODE = "134567890123456789"


def build(work: Path) -> CheckoutController:
    store = SaleStore(open_store(work / "kiosk.sqlite3"), "kiosk-ui")
    store.replace_catalog(
        [
            CatalogItem("W550", "农夫山泉 550ml", "Nongfu Spring 550ml", 200, "6921168509256", "drinks"),
            CatalogItem("CHIPS", "乐事薯片 原味", "Lay's chips, classic", 750, None, "snacks"),
        ]
    )
    return CheckoutController(
        # the tour ends on the done screen: on a busy machine its 6 s return to the attract screen
        # could come before the tour's last step is read back (a fifth screen in screens_visited)
        options=ControllerOptions(kiosk_id="kiosk-ui", store_name="便利店 Corner Shop", done_timeout_s=600.0),
        store=store,
        gateway=FakePaymentGateway(),
        printer=FileReceiptPrinter(work / "receipts"),
        indicators=NullIndicators(),
        template=ReceiptTemplate.default(),
        background=False,
    )


def tour(c: CheckoutController) -> Iterator[Step]:
    first = c.catalog()[0]
    yield Shot("attract", Phase.ATTRACT)
    yield Do(lambda: c.dispatch(StartTapped()), "start")
    yield WaitFor(Phase.CART)
    yield Do(lambda: c.dispatch(ProductTapped(first)), "tap first")
    yield Shot("cart", Phase.CART, until=lambda s: not s.cart.is_empty)
    yield Do(lambda: c.dispatch(PayTapped()), "pay")
    yield Shot("pay", Phase.PAYING, until=lambda s: s.order_id is not None)
    yield Do(lambda: c.handle_codes([Decoded("QRCode", WECHAT_CODE)]), "camera reads a WeChat code")
    yield Shot("done", Phase.DONE)


def main() -> int:
    out = Path(sys.argv[1])
    controller = build(out / "work")
    ui = UiSection(fullscreen=False, width=1024, height=600)
    result: dict[str, object] = {}
    try:
        shots = run_snapshot_tour(
            controller,
            ui,
            out,
            tour,  # type: ignore[arg-type]
            timeout_s=300.0,  # bounds a tour that cannot finish, nothing more
            kiosk_settings=KioskSection(store_name="便利店 Corner Shop"),
        )
        status = 0
    except SnapshotTourIncomplete as exc:
        shots, status = exc.taken, 3
        result["error"] = str(exc)
    finally:
        controller.close()
    result["shots"] = [str(p) for p in shots]
    result["receipts"] = sorted(p.name for p in (out / "work" / "receipts").glob("*.txt"))
    result["last_receipt_text"] = controller.last_receipt_text()
    print(json.dumps(result, ensure_ascii=False))
    return status


if __name__ == "__main__":
    sys.exit(main())
